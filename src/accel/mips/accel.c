/*
 * accel/mips/accel.c: the MIPS32 interpreter behind the accelerator seam
 * (see accel.h). vcpu_run runs the CPU in slices of MIPS_SLICE
 * instructions; between slices it looks at the clock (Count/Compare), the
 * interrupt lines and kicks, all without syscalls (vDSO clock, atomics).
 * `wait` sleeps on a futex until the next timer deadline, a line change or
 * a kick. A device access becomes an MMIO exit, so vcpu.c dispatches it as
 * it does under KVM.
 *
 * The CPU's lines are level-sensitive but vmon's virtio devices pulse an
 * edge (no irqfd here): a rising edge is latched per line and stays pending
 * until the first eret after an interrupt was delivered with it pending,
 * i.e. until Linux's handler has run. A line still high stays pending.
 *
 * Threads: irq_line/kick from any thread, run from the vCPU's thread.
 */
#include "accel/mips/accel.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "accel/mips/cpu.h"
#include "log.h"

#define MIPS_SLICE 4096

struct mips_vcpu {
	struct accel_vcpu base;
	struct mips_cpu cpu;
	int mmio_pending;   /* the last exit was an MMIO load to finish */
	uint32_t acked[8];  /* edges the guest has handled */
	uint32_t snap[8];   /* edges pending at the last delivery */
	int armed;          /* an interrupt was delivered: the next eret acks snap */
	uint64_t erets_at;  /* c->erets at that delivery */
	uint8_t mmio_data[8];
};

struct mips_accel {
	struct accel base;
	uint8_t *ram;
	uint64_t ram_size;
	_Atomic uint32_t ip;     /* external lines: bit n = IP n */
	_Atomic uint32_t edges[8]; /* rising edges seen per line */
	_Atomic uint32_t seq;    /* futex word: bumped by every line change and kick */
	_Atomic int kick;
	_Atomic int waiting;
	struct mips_vcpu *vcpu;
};

static struct mips_accel *mips_of(struct accel *a)
{
	return (struct mips_accel *)a;
}

static void mips_wake(struct mips_accel *m)
{
	atomic_fetch_add(&m->seq, 1);
	if (atomic_load(&m->waiting))
		syscall(SYS_futex, &m->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static int mips_map_ram(struct accel *a, unsigned slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct mips_accel *m = mips_of(a);

	if (slot != 0 || gpa != 0 || size > 0x1fc00000u) {
		log_err("MIPS vCPU: guest RAM must be one region at physical 0 below 508 MiB "
			"(slot %u at 0x%llx, %llu bytes)", slot, (unsigned long long)gpa,
			(unsigned long long)size);
		return -EINVAL;
	}
	m->ram = hva;
	m->ram_size = size;
	return 0;
}

static int mips_irq_line(struct accel *a, unsigned gsi, int level)
{
	struct mips_accel *m = mips_of(a);
	uint32_t bit;

	if (gsi < 2 || gsi > 6)
		return -EINVAL;
	bit = 1u << gsi;
	if (level) {
		if (!(atomic_fetch_or(&m->ip, bit) & bit))
			atomic_fetch_add(&m->edges[gsi], 1);
	} else
		atomic_fetch_and(&m->ip, ~bit);
	mips_wake(m);
	return 0;
}

static int mips_msi(struct accel *a, uint64_t addr, uint32_t data)
{
	(void)a, (void)addr, (void)data;
	return -ENOTSUP;
}

static int mips_msi_route(struct accel *a, unsigned *gsi, uint64_t addr, uint32_t data)
{
	(void)a, (void)gsi, (void)addr, (void)data;
	return -ENOTSUP;
}

static int mips_msi_route_free(struct accel *a, unsigned gsi)
{
	(void)a, (void)gsi;
	return -ENOTSUP;
}

static int mips_irqfd(struct accel *a, int fd, unsigned gsi, int assign)
{
	(void)a, (void)fd, (void)gsi, (void)assign;
	return -ENOTSUP;
}

static int mips_ioeventfd(struct accel *a, int fd, int is_pio, uint64_t addr, unsigned len,
			  uint64_t match, int assign)
{
	(void)a, (void)fd, (void)is_pio, (void)addr, (void)len, (void)match, (void)assign;
	return -ENOTSUP;
}

static int mips_query(struct accel *a, enum accel_query q, void *buf, size_t len)
{
	(void)a, (void)q, (void)buf, (void)len;
	return -ENOTSUP;
}

static void mips_info(struct accel *a, struct accel_info *out)
{
	(void)a;
	memset(out, 0, sizeof(*out));
	out->backend = "software MIPS32r2 interpreter (24Kc, no FPU)";
	out->max_vcpus = 1;
}

static int mips_vcpu_create(struct accel *a, unsigned id, struct accel_vcpu **out)
{
	struct mips_accel *m = mips_of(a);
	struct mips_vcpu *v;

	if (id != 0 || m->vcpu) {
		log_err("MIPS vCPU: only one vCPU is supported");
		return -EINVAL;
	}
	if (!m->ram) {
		log_err("MIPS vCPU: no guest RAM mapped");
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->base.a = a;
	v->base.id = id;
	mips_cpu_reset(&v->cpu, m->ram, (uint32_t)m->ram_size);
	v->cpu.host_clock = 1;
	v->cpu.now_ns = mips_host_ns();
	m->vcpu = v;
	*out = &v->base;
	return 0;
}

static void mips_vcpu_destroy(struct accel_vcpu *av)
{
	struct mips_accel *m = mips_of(av->a);

	if (m->vcpu == (struct mips_vcpu *)av)
		m->vcpu = NULL;
	free(av);
}

/* Sleep until the timer deadline, a line change or a kick (whichever is first). */
static void mips_idle(struct mips_accel *m, struct mips_vcpu *v, uint32_t seq)
{
	uint64_t ns = mips_cpu_timer_ns(&v->cpu);
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	atomic_store(&m->waiting, 1);
	if (atomic_load(&m->seq) == seq && !atomic_load(&m->kick))
		syscall(SYS_futex, &m->seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
	atomic_store(&m->waiting, 0);
}

/* The lines as the CPU sees them: high ones and unhandled edges. */
static uint32_t mips_lines(struct mips_accel *m, struct mips_vcpu *v)
{
	uint32_t ip = atomic_load_explicit(&m->ip, memory_order_relaxed);

	for (unsigned n = 2; n <= 6; n++)
		if (atomic_load_explicit(&m->edges[n], memory_order_relaxed) != v->acked[n])
			ip |= 1u << n;
	return ip;
}

static void mips_deliver(struct mips_accel *m, struct mips_vcpu *v)
{
	struct mips_cpu *c = &v->cpu;

	if (v->armed && c->erets != v->erets_at) {
		memcpy(v->acked, v->snap, sizeof(v->acked));
		v->armed = 0;
	}
	mips_cpu_set_hw_ip(c, mips_lines(m, v));
	if (mips_cpu_check_irq(c)) {
		for (unsigned n = 0; n < 8; n++)
			v->snap[n] = atomic_load(&m->edges[n]);
		v->armed = 1;
		v->erets_at = c->erets;
	}
}

static int mips_exit_mmio(struct mips_vcpu *v, struct vcpu_exit *e)
{
	const struct mips_mmio *io = &v->cpu.mmio;

	e->kind = VCPU_EXIT_MMIO;
	e->raw = KVM_EXIT_MMIO;
	e->mmio.addr = io->pa;
	e->mmio.len = io->len;
	e->mmio.is_write = io->is_write;
	e->mmio.data = v->mmio_data;
	memset(v->mmio_data, 0, sizeof(v->mmio_data));
	if (io->is_write)
		memcpy(v->mmio_data, io->data, io->len);
	v->mmio_pending = !io->is_write;
	return 0;
}

static int mips_vcpu_run(struct accel_vcpu *av, struct vcpu_exit *e)
{
	struct mips_accel *m = mips_of(av->a);
	struct mips_vcpu *v = (struct mips_vcpu *)av;
	struct mips_cpu *c = &v->cpu;

	memset(e, 0, sizeof(*e));
	if (v->mmio_pending) {
		memcpy(c->mmio.data, v->mmio_data, sizeof(c->mmio.data));
		mips_cpu_mmio_done(c);
		v->mmio_pending = 0;
	}
	for (;;) {
		uint32_t seq = atomic_load(&m->seq);
		enum mips_stop why;

		if (atomic_exchange(&m->kick, 0))
			return -EINTR;
		mips_cpu_set_time(c, mips_host_ns());
		mips_deliver(m, v);
		why = mips_cpu_run(c, MIPS_SLICE);
		switch (why) {
		case MIPS_STOP_BUDGET:
			continue;
		case MIPS_STOP_MMIO:
			return mips_exit_mmio(v, e);
		case MIPS_STOP_WAIT:
			if (!(c->status & ST_IM)) {
				/* Linux's machine_hang (halt, reboot, power-off): nothing can wake it. */
				e->kind = VCPU_EXIT_RESET;
				e->raw = KVM_EXIT_SYSTEM_EVENT;
				snprintf(e->msg, sizeof(e->msg),
					 "guest stopped the CPU (wait with every interrupt masked) "
					 "after %llu instructions", (unsigned long long)c->icount);
				return 0;
			}
			mips_cpu_set_hw_ip(c, mips_lines(m, v));
			mips_cpu_set_time(c, mips_host_ns());
			if (!mips_cpu_wake_pending(c))
				mips_idle(m, v, seq);
			continue;
		case MIPS_STOP_ERROR:
		default:
			e->kind = VCPU_EXIT_ERROR;
			e->raw = KVM_EXIT_INTERNAL_ERROR;
			snprintf(e->msg, sizeof(e->msg), "%s", c->err);
			return 0;
		}
	}
}

static void mips_vcpu_kick(struct accel_vcpu *av)
{
	struct mips_accel *m = mips_of(av->a);

	atomic_store(&m->kick, 1);
	mips_wake(m);
}

static int mips_vcpu_get(struct accel_vcpu *av, enum accel_reg r, void *buf, size_t len)
{
	struct mips_vcpu *v = (struct mips_vcpu *)av;
	struct mips_regs *regs = buf;

	if (r != ACCEL_MIPS_REGS || len != sizeof(*regs))
		return -EINVAL;
	memcpy(regs->gpr, v->cpu.r, sizeof(regs->gpr));
	regs->pc = v->cpu.pc;
	return 0;
}

static int mips_vcpu_set(struct accel_vcpu *av, enum accel_reg r, const void *buf, size_t len)
{
	struct mips_vcpu *v = (struct mips_vcpu *)av;
	const struct mips_regs *regs = buf;

	if (r != ACCEL_MIPS_REGS || len != sizeof(*regs))
		return -EINVAL;
	memcpy(v->cpu.r, regs->gpr, sizeof(regs->gpr));
	v->cpu.r[0] = 0;
	v->cpu.pc = regs->pc;
	v->cpu.npc = regs->pc + 4;
	v->cpu.ds = 0;
	return 0;
}

static void mips_destroy(struct accel *a)
{
	free(a);
}

/*
 * Snapshots of a MIPS guest: the CPU's state records are not written yet, so
 * vmon refuses to snapshot one rather than take half of it. TODO(#15).
 */
static int mips_vcpu_save(struct accel_vcpu *v, struct snap_out *out)
{
	(void)v;
	(void)out;
	return -ENOTSUP;
}

static int mips_vcpu_load(struct accel_vcpu *v, struct snap_in *in)
{
	(void)v;
	(void)in;
	return -ENOTSUP;
}

static int mips_vm_save(struct accel *a, struct snap_out *out)
{
	(void)a;
	(void)out;
	return -ENOTSUP;
}

static int mips_vm_load(struct accel *a, struct snap_in *in)
{
	(void)a;
	(void)in;
	return -ENOTSUP;
}

static int mips_dirty_track(struct accel *a, unsigned slot, uint64_t gpa, uint64_t size,
			    void *hva, int on)
{
	(void)a;
	(void)slot;
	(void)gpa;
	(void)size;
	(void)hva;
	(void)on;
	return -ENOTSUP;
}

static int mips_dirty_get(struct accel *a, unsigned slot, uint64_t *bitmap)
{
	(void)a;
	(void)slot;
	(void)bitmap;
	return -ENOTSUP;
}

static const struct accel_ops mips_accel_ops = {
	.name = "mips32-interp",
	.map_ram = mips_map_ram,
	.irq_line = mips_irq_line,
	.msi = mips_msi,
	.msi_route = mips_msi_route,
	.msi_route_free = mips_msi_route_free,
	.irqfd = mips_irqfd,
	.ioeventfd = mips_ioeventfd,
	.query = mips_query,
	.info = mips_info,
	.vcpu_create = mips_vcpu_create,
	.vcpu_destroy = mips_vcpu_destroy,
	.vcpu_run = mips_vcpu_run,
	.vcpu_kick = mips_vcpu_kick,
	.vcpu_get = mips_vcpu_get,
	.vcpu_set = mips_vcpu_set,
	.destroy = mips_destroy,
	.vcpu_save = mips_vcpu_save,
	.vcpu_load = mips_vcpu_load,
	.vm_save = mips_vm_save,
	.vm_load = mips_vm_load,
	.dirty_track = mips_dirty_track,
	.dirty_get = mips_dirty_get,
};

int accel_mips_create(unsigned ncpus, struct accel **out)
{
	struct mips_accel *m;

	if (ncpus != 1) {
		log_err("--arch mips32 runs one vCPU (asked for %u)", ncpus);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base.ops = &mips_accel_ops;
	atomic_init(&m->ip, 0);
	atomic_init(&m->seq, 0);
	atomic_init(&m->kick, 0);
	atomic_init(&m->waiting, 0);
	for (unsigned n = 0; n < 8; n++)
		atomic_init(&m->edges[n], 0);
	*out = &m->base;
	return 0;
}
