/*
 * vcpu.c: vCPU lifecycle and the exit loop (see vcpu.h).
 *
 * Every exit to user space is a world switch; the loop keeps the work per
 * exit to one bus lookup and one device call, and counts each exit. The
 * accelerator has already turned its own exit record into a struct
 * vcpu_exit, so this loop is the same under KVM and a software vCPU.
 */
#include "vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sandbox/seccomp.h"

int vcpu_create(struct vcpu *v, struct accel *a, unsigned id, const struct vcpu_host *host)
{
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->host = host;
	return a->ops->vcpu_create(a, id, &v->av); /* logs its own failure */
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->av)
		v->av->a->ops->vcpu_destroy(v->av);
	v->av = NULL;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->av)
		v->av->a->ops->vcpu_kick(v->av);
}

static void vcpu_handle_pio(struct vcpu *v, const struct vcpu_exit *e)
{
	uint8_t *data = e->pio.data;

	/* String I/O (rep ins/outs) arrives as count consecutive items. */
	for (uint32_t i = 0; i < e->pio.count; i++, data += e->pio.size) {
		int idx = bus_access(v->host->pio, e->pio.port, data, e->pio.size, e->pio.is_write);

		if (idx >= 0) {
			v->stats.pio[idx]++;
			continue;
		}
		v->stats.pio_unclaimed++;
		if (!e->pio.is_write)
			memset(data, 0xff, e->pio.size); /* nothing answers: bus floats high */
		if (idx != -ENOENT && v->stats.pio_errors++ == 0)
			log_warn("vCPU %u: port 0x%x: device error %d (further ones are only counted)",
				 v->id, e->pio.port, idx);
	}
}

/*
 * A write the accelerator buffered instead of exiting (accel.h's
 * coalesce_pio), handed back by vcpu_drain before the exit that followed
 * it: dispatched like a trapped write, counted apart from the exits.
 */
static void vcpu_coalesced_write(void *ctx, int is_pio, uint64_t addr, const uint8_t *data,
				 unsigned len)
{
	struct vcpu *v = ctx;
	uint8_t buf[8];
	int idx;

	memcpy(buf, data, len); /* a device's write sees its own copy, as with an exit */
	v->stats.coalesced++;
	idx = bus_access(is_pio ? v->host->pio : v->host->mmio, addr, buf, len, 1);
	if (idx >= 0) {
		(is_pio ? v->stats.pio_coalesced : v->stats.mmio_coalesced)[idx]++;
		return;
	}
	v->stats.coalesced_unclaimed++;
	if (idx != -ENOENT && v->stats.pio_errors++ == 0)
		log_warn("vCPU %u: %s 0x%" PRIx64 ": device error %d on a coalesced write (further "
			 "ones are only counted)", v->id, is_pio ? "port" : "address", addr, idx);
}

static void vcpu_handle_mmio(struct vcpu *v, const struct vcpu_exit *e)
{
	int idx;

	if (e->mmio.len == 0 || e->mmio.len > 8) {
		v->stats.mmio_unclaimed++;
		return;
	}
	idx = bus_access(v->host->mmio, e->mmio.addr, e->mmio.data, e->mmio.len, e->mmio.is_write);
	if (idx >= 0) {
		v->stats.mmio[idx]++;
		return;
	}
	/* A wild access is guest misbehaviour: answer all-ones, count it, go on. */
	v->stats.mmio_unclaimed++;
	if (!e->mmio.is_write)
		memset(e->mmio.data, 0xff, e->mmio.len);
	if (v->stats.mmio_unclaimed == 1)
		log_warn("vCPU %u: %s of unclaimed MMIO at 0x%" PRIx64 " (further ones are only counted)",
			 v->id, e->mmio.is_write ? "write" : "read", e->mmio.addr);
}

/*
 * Crash diagnostics: the last VCPU_TRACE_LEN exits of this vCPU, printed
 * when the guest crashes. On AMD SVM a triple fault reaches us after KVM has
 * already reset the vCPU (rip=0xfff0), so what the guest did last is the
 * only evidence left. Per vCPU: each thread writes its own ring, and the
 * crash is reported on the thread that saw it. Costs one clock read and a
 * few stores per exit, next to an exit's tens of microseconds.
 */
static void vcpu_trace_exit(struct vcpu *v, const struct vcpu_exit *e)
{
	struct vcpu_trace *t = &v->ring[v->ring_n++ % VCPU_TRACE_LEN];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(t, 0, sizeof(*t));
	t->ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	t->kind = (uint8_t)e->kind;
	t->raw = e->raw;
	if (e->kind == VCPU_EXIT_PIO) {
		t->addr = e->pio.port;
		t->len = e->pio.size;
		t->write = e->pio.is_write;
		t->count_gt1 = e->pio.count > 1;
		if (t->write)
			memcpy(&t->data, e->pio.data, e->pio.size < 8 ? e->pio.size : 8);
	} else if (e->kind == VCPU_EXIT_MMIO) {
		t->addr = e->mmio.addr;
		t->len = (uint8_t)e->mmio.len;
		t->write = e->mmio.is_write;
		if (t->write)
			memcpy(&t->data, e->mmio.data, e->mmio.len < 8 ? e->mmio.len : 8);
	}
}

/* Print the ring, oldest first, times relative to the crash exit. */
static void vcpu_trace_dump(struct vcpu *v)
{
	uint64_t n = v->ring_n, first = n > VCPU_TRACE_LEN ? n - VCPU_TRACE_LEN : 0;
	uint64_t last_ns = n ? v->ring[(n - 1) % VCPU_TRACE_LEN].ns : 0;

	log_err("vCPU %u: last %" PRIu64 " of %" PRIu64 " exits (t = us before the last one):",
		v->id, n - first, n);
	for (uint64_t i = first; i < n; i++) {
		const struct vcpu_trace *t = &v->ring[i % VCPU_TRACE_LEN];
		uint64_t us = (last_ns - t->ns) / 1000;

		if (t->kind == VCPU_EXIT_PIO || t->kind == VCPU_EXIT_MMIO)
			log_err("  t-%8" PRIu64 " %-4s %-5s 0x%08" PRIx64 " len %u%s data 0x%" PRIx64,
				us, t->kind == VCPU_EXIT_PIO ? "io" : "mmio",
				t->write ? "write" : "read", t->addr, t->len,
				t->count_gt1 ? " rep" : "", t->data);
		else
			log_err("  t-%8" PRIu64 " %s (%u)", us, stats_exit_name(t->raw), t->raw);
	}
}

/* Handle one exit; returns 0 to keep running. */
static int vcpu_handle_exit(struct vcpu *v, const struct vcpu_exit *e)
{
	char msg[VCPU_EXIT_MSG_MAX + 64];

	stats_count_exit(&v->stats, e->raw);
	vcpu_trace_exit(v, e);
	switch (e->kind) {
	case VCPU_EXIT_PIO:
		vcpu_handle_pio(v, e);
		return 0;
	case VCPU_EXIT_MMIO:
		vcpu_handle_mmio(v, e);
		return 0;
	case VCPU_EXIT_NONE:
	case VCPU_EXIT_HALT: /* only without an in-kernel LAPIC: treat as a wait */
		return 0;
	case VCPU_EXIT_RESET:
		v->host->stop(v->host->ctx, VM_EXIT_GUEST_RESET, e->msg);
		return -1;
	case VCPU_EXIT_CRASH:
		vcpu_trace_dump(v);
		v->host->stop(v->host->ctx, VM_EXIT_GUEST_CRASH, e->msg);
		return -1;
	case VCPU_EXIT_DEBUG:
		/* No debugger is attached yet (TODO(#18): gdbstub); a stray trap is the guest's. */
		snprintf(msg, sizeof(msg), "guest crashed: debug trap on vCPU %u at 0x%" PRIx64
			 " with no debugger attached", v->id, e->debug.pc);
		v->host->stop(v->host->ctx, VM_EXIT_GUEST_CRASH, msg);
		return -1;
	case VCPU_EXIT_ERROR:
	default:
		snprintf(msg, sizeof(msg), "%s (%s)", e->msg, stats_exit_name(e->raw));
		v->host->stop(v->host->ctx, VM_EXIT_VMM_ERROR, msg);
		return -1;
	}
}

void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	const struct vcpu_host *h = v->host;
	struct accel_vcpu *av = v->av;
	struct vcpu_exit e;

	/* The vCPU's own filter, before its first KVM_RUN (sandbox/seccomp.h). */
	if (seccomp_role_enter(strcmp(av->a->ops->name, "kvm") ? SECCOMP_ROLE_VCPU_SOFT : SECCOMP_ROLE_VCPU)) {
		h->stop(h->ctx, VM_EXIT_VMM_ERROR, "a vCPU thread cannot install its seccomp filter");
		return NULL;
	}
	/*
	 * Stop as soon as the VM's fate is known, not only when kicked: the vCPU
	 * that reported a reset would otherwise keep running the guest's reboot
	 * loop (thousands of exits) until the main thread's kick lands.
	 */
	while (!h->stopped(h->ctx)) {
		int ret;

		h->pause_point(h->ctx);
		ret = av->a->ops->vcpu_run(av, &e);
		/*
		 * Buffered writes first, on every return: they came before this
		 * exit, and a pause or stop must find none left behind.
		 */
		if (av->a->ops->vcpu_drain)
			av->a->ops->vcpu_drain(av, vcpu_coalesced_write, v);
		if (ret == -EINTR) {
			v->stats.eintr++; /* a kick (stop or pause) landed */
			continue;
		}
		if (ret) {
			h->stop(h->ctx, VM_EXIT_VMM_ERROR, e.msg);
			break;
		}
		if (vcpu_handle_exit(v, &e))
			break;
	}
	return NULL;
}
