/*
 * test_mptable.c: unit tests for src/arch/x86/mptable.c, the Intel
 * MultiProcessor Specification 1.4 table builder.
 *
 * Checks the table as a guest's parser would read it: the floating pointer
 * (signature, physical pointer, length, revision, checksum), the
 * configuration table header (signature, base length, entry count, LAPIC
 * address, checksum), then a walk over the entries by their type lengths
 * that must land exactly on the end of the base table, collecting what it
 * finds: processors (APIC IDs 0..n-1, BSP only on CPU 0), one ISA bus, one
 * IOAPIC (ID n at 0xfec00000) and identity-mapped ISA interrupts without
 * IRQ 2; with a PCI host also PCI bus 0 (ISA then bus 1, as Linux matches
 * MP bus IDs to PCI bus numbers) and INTA#-INTD# of all 32 slots routed,
 * active low and level triggered, as the host's swizzle says. Also argument
 * errors (a swizzle past the IOAPIC or onto an ISA pin among them) and that
 * nothing is written past the table or into a short buffer. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "arch/x86/boot.h"
#include "arch/x86/mptable.h"
#include "test.h"
#include "util.h"

#define EBDA BOOT_MPTABLE_ADDR /* where vm.c puts it (the BIOS area) */
#define EBDA_SIZE BOOT_MPTABLE_MAX /* the room it has there */

/* What a spec-following parser extracts from a table. */
struct parsed {
	int ok;                  /* walk ended exactly at the base table end */
	unsigned entries;        /* entries walked */
	unsigned cpus, bsp_count, bsp_apic;
	uint8_t apic_id[256];
	uint8_t cpu_flags[256];
	unsigned buses;
	int isa_bus_id, pci_bus_id; /* -1 if absent */
	unsigned ioapics, ioapic_id, ioapic_flags;
	uint32_t ioapic_addr;
	unsigned intsrc;
	int irq_pin[16];         /* -1 if the ISA IRQ has no entry */
	int pci_pin[32][4];      /* IOAPIC pin of slot, INTA#..INTD#; -1 if no entry */
	unsigned pci_flags_bad;  /* PCI entries not active low, level triggered */
	unsigned pci_dup;        /* a slot/pin assigned twice */
	unsigned intsrc_dst_bad; /* entries not aimed at the IOAPIC or from no known bus */
	unsigned lintsrc, lint_extint, lint_nmi;
	unsigned unknown;
};

static void parse(const uint8_t *mpc, struct parsed *p)
{
	uint16_t base_len = le16_get(mpc + 4);
	const uint8_t *e = mpc + 44, *end = mpc + base_len;

	memset(p, 0, sizeof(*p));
	p->isa_bus_id = p->pci_bus_id = -1;
	for (int i = 0; i < 16; i++)
		p->irq_pin[i] = -1;
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 4; j++)
			p->pci_pin[i][j] = -1;
	while (e < end) {
		switch (e[0]) {
		case 0: /* processor, 20 bytes */
			p->apic_id[p->cpus] = e[1];
			p->cpu_flags[p->cpus] = e[3];
			if (e[3] & 0x02) {
				p->bsp_count++;
				p->bsp_apic = e[1];
			}
			p->cpus++;
			e += 20;
			break;
		case 1: /* bus */
			p->buses++;
			if (memcmp(e + 2, "ISA   ", 6) == 0)
				p->isa_bus_id = e[1];
			if (memcmp(e + 2, "PCI   ", 6) == 0)
				p->pci_bus_id = e[1];
			e += 8;
			break;
		case 2: /* IOAPIC */
			p->ioapics++;
			p->ioapic_id = e[1];
			p->ioapic_flags = e[3];
			p->ioapic_addr = le32_get(e + 4);
			e += 8;
			break;
		case 3: /* I/O interrupt assignment */
			p->intsrc++;
			if (e[1] == 0 && e[4] == p->isa_bus_id && e[5] < 16)
				p->irq_pin[e[5]] = e[7];
			if (e[1] == 0 && e[4] == p->pci_bus_id && e[5] < 128) {
				if (p->pci_pin[e[5] >> 2][e[5] & 3] >= 0)
					p->pci_dup++;
				p->pci_pin[e[5] >> 2][e[5] & 3] = e[7];
				if (le16_get(e + 2) != 0x000f)
					p->pci_flags_bad++;
			}
			if (e[6] != p->ioapic_id ||
			    (e[4] != p->isa_bus_id && e[4] != p->pci_bus_id))
				p->intsrc_dst_bad++;
			e += 8;
			break;
		case 4: /* local interrupt assignment */
			p->lintsrc++;
			if (e[1] == 3 && e[7] == 0)
				p->lint_extint++;
			if (e[1] == 1 && e[7] == 1)
				p->lint_nmi++;
			e += 8;
			break;
		default:
			p->unknown++;
			return; /* cannot know the length: stop, not ok */
		}
		p->entries++;
	}
	p->ok = e == end;
}

/* pc.c's swizzle: GSI 16 + (slot + pin - 1) mod 8 */
static unsigned swizzle(unsigned slot, unsigned pin)
{
	return 16 + ((slot + pin - 1) & 7);
}

static unsigned past_ioapic(unsigned slot, unsigned pin)
{
	return slot == 31 && pin == 4 ? 24 : swizzle(slot, pin);
}

static unsigned onto_isa(unsigned slot, unsigned pin)
{
	return slot == 3 && pin == 2 ? 11 : swizzle(slot, pin);
}

static const struct mptable_pci host_pci = { .intx_gsi = swizzle };

static uint8_t sum(const uint8_t *b, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *b++);
	return s;
}

TEST(checksum_helper)
{
	static const uint8_t zero[4] = { 0 };
	uint8_t b[5] = { 1, 2, 3, 0xff, 0 };

	CHECK_EQ(mptable_checksum(zero, sizeof(zero)), 0);
	CHECK_EQ(mptable_checksum(b, 0), 0);
	b[4] = mptable_checksum(b, 4);
	CHECK_EQ(b[4], (uint8_t)(0 - (1 + 2 + 3 + 0xff)));
	CHECK_EQ(sum(b, 5), 0);
	CHECK_EQ(mptable_checksum(b, 5), 0);
}

TEST(size_matches_build)
{
	static const unsigned counts[] = { 1, 2, 3, 4, 8, 64, 253, MPTABLE_MAX_CPUS };

	for (size_t k = 0; k < 2 * sizeof(counts) / sizeof(counts[0]); k++) {
		size_t i = k / 2;
		const struct mptable_pci *pci = k & 1 ? &host_pci : NULL;
		size_t sz = mptable_size(counts[i], pci);
		uint8_t *buf = malloc(sz + 64);
		int ret;

		if (!buf)
			abort();
		memset(buf, 0xcc, sz + 64);
		ret = mptable_build(buf, sz + 64, EBDA, counts[i], pci);
		if (ret != (int)sz)
			fprintf(stderr, "  ncpus %u pci %d\n", counts[i], pci != NULL);
		CHECK_EQ(ret, sz);
		/* 16 + 44 + 20 per CPU + bus, IOAPIC, 15 IRQs, 2 LINTs at 8 bytes; with PCI
		 * its bus and 32 x 4 INTx entries too. */
		CHECK_EQ(sz, 16 + 44 + 20 * counts[i] + 19 * 8 + (pci ? 129 * 8 : 0));
		/* Nothing past what it reported. */
		for (size_t j = sz; j < sz + 64; j++)
			CHECK_EQ(buf[j], 0xcc);
		free(buf);
	}
}

TEST(bad_arguments)
{
	static const unsigned bad[] = { 0, MPTABLE_MAX_CPUS + 1, 255, 256, 4096, 0xffffffffu };
	uint8_t buf[8192];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0xcc, sizeof(buf));
		CHECK_EQ(mptable_build(buf, sizeof(buf), EBDA, bad[i], NULL), -EINVAL);
		CHECK_EQ(mptable_build(buf, sizeof(buf), EBDA, bad[i], &host_pci), -EINVAL);
		CHECK_EQ(buf[0], 0xcc);
	}
	/* A buffer one byte short, or empty: -ENOSPC and untouched. */
	for (unsigned n = 1; n <= 4; n++) {
		size_t sz = mptable_size(n, NULL);

		memset(buf, 0xcc, sizeof(buf));
		CHECK_EQ(mptable_build(buf, sz - 1, EBDA, n, NULL), -ENOSPC);
		CHECK_EQ(mptable_build(buf, 0, EBDA, n, NULL), -ENOSPC);
		CHECK_EQ(mptable_build(buf, mptable_size(n, &host_pci) - 1, EBDA, n, &host_pci), -ENOSPC);
		for (size_t j = 0; j < sz; j++)
			if (buf[j] != 0xcc) {
				CHECK_EQ(buf[j], 0xcc);
				break;
			}
		/* Exactly the size is enough. */
		CHECK_EQ(mptable_build(buf, sz, EBDA, n, NULL), sz);
	}
}

/* A host whose swizzle leaves the IOAPIC, lands on an ISA pin or is missing: refused whole. */
TEST(bad_pci_routing)
{
	static const struct mptable_pci past = { .intx_gsi = past_ioapic };
	static const struct mptable_pci isa = { .intx_gsi = onto_isa };
	static const struct mptable_pci none = { .intx_gsi = NULL };
	const struct mptable_pci *bad[] = { &past, &isa, &none };
	uint8_t buf[8192];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0xcc, sizeof(buf));
		CHECK_EQ(mptable_build(buf, sizeof(buf), EBDA, 2, bad[i]), -EINVAL);
		CHECK_EQ(buf[0], 0xcc);
	}
}

static void check_table(struct test_ctx *t_, unsigned ncpus, uint32_t gpa,
			const struct mptable_pci *pci)
{
	size_t sz = mptable_size(ncpus, pci);
	uint8_t *buf = malloc(sz), *mpf, *mpc;
	struct parsed p;
	uint16_t base_len;

	if (!buf)
		abort();
	CHECK_EQ(mptable_build(buf, sz, gpa, ncpus, pci), sz);
	mpf = buf;
	mpc = buf + 16;

	/* Floating pointer, MP spec §4.1. */
	CHECK(memcmp(mpf, "_MP_", 4) == 0);
	CHECK_EQ(le32_get(mpf + 4), gpa + 16);
	CHECK_EQ(mpf[8], 1);       /* length in paragraphs */
	CHECK_EQ(mpf[9], 4);       /* spec 1.4 */
	CHECK_EQ(sum(mpf, 16), 0);
	CHECK_EQ(mptable_checksum(mpf, 16), 0);
	CHECK_EQ(mpf[11], 0);      /* a configuration table follows, no default config */

	/* Configuration table header, §4.2. */
	base_len = le16_get(mpc + 4);
	CHECK(memcmp(mpc, "PCMP", 4) == 0);
	CHECK_EQ(base_len, sz - 16);
	CHECK_EQ(mpc[6], 4);
	CHECK_EQ(sum(mpc, base_len), 0);
	CHECK_EQ(mptable_checksum(mpc, base_len), 0);
	CHECK_EQ(le32_get(mpc + 36), 0xfee00000u);
	CHECK_EQ(le16_get(mpc + 40), 0); /* no extended table */
	CHECK_EQ(le32_get(mpc + 28), 0); /* no OEM table */

	/* The entries, walked by type. */
	parse(mpc, &p);
	CHECK(p.ok);
	CHECK_EQ(p.unknown, 0);
	CHECK_EQ(p.entries, le16_get(mpc + 34));
	CHECK_EQ(p.cpus, ncpus);
	CHECK_EQ(p.bsp_count, 1);
	CHECK_EQ(p.bsp_apic, 0);
	for (unsigned i = 0; i < p.cpus && i < ncpus; i++) {
		CHECK_EQ(p.apic_id[i], i);
		CHECK_EQ(p.cpu_flags[i] & 0x01, 0x01); /* enabled */
		CHECK_EQ(p.cpu_flags[i] & 0x02, i == 0 ? 0x02 : 0);
	}
	CHECK_EQ(p.buses, pci ? 2 : 1);
	CHECK_EQ(p.isa_bus_id, pci ? 1 : 0);
	CHECK_EQ(p.pci_bus_id, pci ? 0 : -1);
	CHECK_EQ(p.ioapics, 1);
	CHECK_EQ(p.ioapic_id, ncpus);
	CHECK_EQ(p.ioapic_flags & 1, 1);
	CHECK_EQ(p.ioapic_addr, 0xfec00000u);
	CHECK_EQ(p.intsrc, 15 + (pci ? 128 : 0));
	CHECK_EQ(p.intsrc_dst_bad, 0);
	CHECK_EQ(p.pci_flags_bad, 0);
	CHECK_EQ(p.pci_dup, 0);
	for (unsigned slot = 0; slot < 32; slot++)
		for (unsigned pin = 1; pin <= 4; pin++) {
			int want = pci ? (int)swizzle(slot, pin) : -1;

			if (p.pci_pin[slot][pin - 1] != want)
				fprintf(stderr, "  ncpus %u slot %u pin %u\n", ncpus, slot, pin);
			CHECK_EQ(p.pci_pin[slot][pin - 1], want);
		}
	for (int irq = 0; irq < 16; irq++) {
		int want = irq == 2 ? -1 : irq;

		if (p.irq_pin[irq] != want)
			fprintf(stderr, "  ncpus %u irq %d\n", ncpus, irq);
		CHECK_EQ(p.irq_pin[irq], want);
	}
	CHECK_EQ(p.lintsrc, 2);
	CHECK_EQ(p.lint_extint, 1);
	CHECK_EQ(p.lint_nmi, 1);
	free(buf);
}

TEST(table_contents)
{
	static const unsigned counts[] = { 1, 2, 4, 7, 64, 200, MPTABLE_MAX_CPUS };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		check_table(t_, counts[i], EBDA, NULL);
		check_table(t_, counts[i], EBDA, &host_pci);
	}
	/* The pointer follows the placement address. */
	check_table(t_, 2, 0xf0000, &host_pci);
	check_table(t_, 2, 0, NULL);
}

/*
 * Regression: the table used to live in the 1 KiB EBDA, which holds it for
 * at most 40 CPUs while --cpus accepted 254. It now lives in the 64 KiB
 * BIOS area; every count mptable_build accepts must fit there.
 */
TEST(fits_in_bios_area_for_every_accepted_count)
{
	unsigned first_bad = 0;

	for (unsigned n = 1; n <= MPTABLE_MAX_CPUS && !first_bad; n++)
		if (mptable_size(n, &host_pci) > EBDA_SIZE)
			first_bad = n;
	if (first_bad)
		fprintf(stderr, "  %u CPUs need %zu bytes; the BIOS area has %u\n", first_bad,
			mptable_size(first_bad, &host_pci), EBDA_SIZE);
	CHECK_EQ(first_bad, 0);
	CHECK(mptable_size(MPTABLE_MAX_CPUS, &host_pci) <= EBDA_SIZE);
}

/* Building twice into the same dirty buffer gives identical bytes. */
TEST(deterministic)
{
	uint8_t a[2048], b[2048];
	int n;

	memset(a, 0x00, sizeof(a));
	memset(b, 0xff, sizeof(b));
	n = mptable_build(a, sizeof(a), EBDA, 3, &host_pci);
	CHECK(n > 0);
	CHECK_EQ(mptable_build(b, sizeof(b), EBDA, 3, &host_pci), n);
	CHECK(n > 0 && memcmp(a, b, (size_t)n) == 0);
}

TEST_MAIN(T(checksum_helper), T(size_matches_build), T(bad_arguments), T(bad_pci_routing),
	  T(table_contents),
	  T(fits_in_bios_area_for_every_accepted_count), T(deterministic))
