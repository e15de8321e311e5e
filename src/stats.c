/*
 * stats.c: exit counters and the --stats report (see stats.h).
 */
#include "stats.h"

#include <inttypes.h>
#include <linux/kvm.h>

#include "util.h"

void stats_count_exit(struct vcpu_stats *s, unsigned reason)
{
	if (reason < STATS_EXIT_REASONS)
		s->exits[reason]++;
	else
		s->exits_other++;
}

const char *stats_exit_name(unsigned reason)
{
	static const struct {
		unsigned reason;
		const char *name;
	} names[] = {
		{ KVM_EXIT_UNKNOWN, "unknown" },   { KVM_EXIT_EXCEPTION, "exception" },
		{ KVM_EXIT_IO, "io" },             { KVM_EXIT_HYPERCALL, "hypercall" },
		{ KVM_EXIT_DEBUG, "debug" },       { KVM_EXIT_HLT, "hlt" },
		{ KVM_EXIT_MMIO, "mmio" },         { KVM_EXIT_IRQ_WINDOW_OPEN, "irq-window" },
		{ KVM_EXIT_SHUTDOWN, "shutdown" }, { KVM_EXIT_FAIL_ENTRY, "fail-entry" },
		{ KVM_EXIT_INTR, "intr" },         { KVM_EXIT_SET_TPR, "set-tpr" },
		{ KVM_EXIT_TPR_ACCESS, "tpr-access" },
		{ KVM_EXIT_NMI, "nmi" },           { KVM_EXIT_INTERNAL_ERROR, "internal-error" },
		{ KVM_EXIT_SYSTEM_EVENT, "system-event" },
		{ KVM_EXIT_IOAPIC_EOI, "ioapic-eoi" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].reason == reason)
			return names[i].name;
	return "other";
}

static void stats_print_bus(FILE *f, const char *what, const struct vcpu_stats *v, unsigned n,
			    const struct bus *b, int is_pio, uint64_t total_exits)
{
	for (unsigned r = 0; r <= b->nr; r++) {
		uint64_t sum = 0;

		for (unsigned i = 0; i < n; i++) {
			if (r == b->nr)
				sum += is_pio ? v[i].pio_unclaimed : v[i].mmio_unclaimed;
			else
				sum += is_pio ? v[i].pio[r] : v[i].mmio[r];
		}
		if (!sum)
			continue;
		if (r == b->nr)
			fprintf(f, "  %-4s %-16s %-18s %12" PRIu64 "  %5.1f%%\n", what, "(unclaimed)",
				"", sum, total_exits ? 100.0 * (double)sum / (double)total_exits : 0.0);
		else
			fprintf(f, "  %-4s %-16s 0x%-16" PRIx64 " %12" PRIu64 "  %5.1f%%\n", what,
				b->range[r].name, b->range[r].base, sum,
				total_exits ? 100.0 * (double)sum / (double)total_exits : 0.0);
	}
}

/*
 * The coalesced writes per device: "coalesced" in the share column, since
 * they are accesses but no exits (the rows above count only exits).
 */
static void stats_print_coalesced(FILE *f, const struct vcpu_stats *v, unsigned n,
				  const struct bus *pio, const struct bus *mmio)
{
	uint64_t unclaimed = 0;

	for (int is_pio = 1; is_pio >= 0; is_pio--) {
		const struct bus *b = is_pio ? pio : mmio;

		for (unsigned r = 0; r < b->nr; r++) {
			uint64_t sum = 0;

			for (unsigned i = 0; i < n; i++)
				sum += is_pio ? v[i].pio_coalesced[r] : v[i].mmio_coalesced[r];
			if (sum)
				fprintf(f, "  %-4s %-16s 0x%-16" PRIx64 " %12" PRIu64 "  coalesced\n",
					is_pio ? "pio" : "mmio", b->range[r].name, b->range[r].base, sum);
		}
	}
	for (unsigned i = 0; i < n; i++)
		unclaimed += v[i].coalesced_unclaimed;
	if (unclaimed)
		fprintf(f, "  %-4s %-16s %-18s %12" PRIu64 "  coalesced\n", "io", "(unclaimed)", "",
			unclaimed);
}

void stats_print(FILE *f, const struct vcpu_stats *v, unsigned n, const struct bus *pio,
		 const struct bus *mmio, double seconds)
{
	uint64_t total = 0, coalesced = 0;

	fprintf(f, "vmon: exit statistics (%.3f s)\n", seconds);
	for (unsigned i = 0; i < n; i++) {
		uint64_t vt = v[i].exits_other;

		for (unsigned r = 0; r < STATS_EXIT_REASONS; r++)
			vt += v[i].exits[r];
		total += vt;
		fprintf(f, "  vCPU %u: %" PRIu64 " exits to user space", i, vt);
		for (unsigned r = 0; r < STATS_EXIT_REASONS; r++)
			if (v[i].exits[r])
				fprintf(f, ", %s %" PRIu64, stats_exit_name(r), v[i].exits[r]);
		if (v[i].exits_other)
			fprintf(f, ", other %" PRIu64, v[i].exits_other);
		if (v[i].eintr)
			fprintf(f, " (signal kicks %" PRIu64 ")", v[i].eintr);
		if (v[i].coalesced)
			fprintf(f, " (coalesced writes drained %" PRIu64 ")", v[i].coalesced);
		coalesced += v[i].coalesced;
		fputc('\n', f);
	}
	fprintf(f, "  total: %" PRIu64 " exits, %.0f exits/s\n", total,
		seconds > 0 ? (double)total / seconds : 0.0);
	if (coalesced)
		fprintf(f, "  coalesced: %" PRIu64 " writes buffered by the accelerator without an "
			"exit, dispatched at the next exit\n", coalesced);
	fprintf(f, "  %-4s %-16s %-18s %12s  %6s\n", "bus", "device", "base", "accesses", "share");
	stats_print_bus(f, "pio", v, n, pio, 1, total);
	stats_print_bus(f, "mmio", v, n, mmio, 0, total);
	if (coalesced)
		stats_print_coalesced(f, v, n, pio, mmio);
}
