/*
 * accel/kvm_x86_state.c: saving and loading a whole x86 KVM vCPU and the
 * VM-wide in-kernel state (PIC, IOAPIC, PIT, KVM clock) for snapshots and
 * migration, and dirty-page logging (api.rst, KVM_GET_DIRTY_LOG).
 *
 * A vCPU's state is a run of records, each u32 tag, u32 length, bytes in
 * the kernel uapi layout of this host (x86-64 Linux: fixed sizes), in the
 * order they are loaded: sregs (with the APIC base) before the LAPIC, MSRs
 * after sregs, events last. Load treats the stream as hostile: a tag out of
 * order or unknown, a length not the struct's size, an MSR count over the
 * bound or an MSR vmon does not save is refused before any ioctl sees it.
 *
 * The KVM clock record (struct kvm_clock_data) carries the wall time it
 * was read at in its realtime field, flagged KVM_CLOCK_REALTIME: KVM fills
 * both atomically where the host has a stable TSC master clock, else vmon
 * reads CLOCK_REALTIME right after KVM_GET_CLOCK. A load advances the clock
 * by the wall time since (snapshot/genid.h, snap_clock_advance) and sets it
 * with flags 0, so it works the same whether or not the host's KVM honours
 * KVM_CLOCK_REALTIME on KVM_SET_CLOCK (it ignores it without a master
 * clock). A record without the flag (older snapshots) restores as saved.
 *
 * Threads: the VMM thread with every vCPU paused (out of KVM_RUN).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel/kvm.h"
#include "log.h"
#include "snapshot/genid.h"
#include "snapshot/stream.h"

enum kvm_x86_rec {
	KVM_X86_REC_SREGS = 1,
	KVM_X86_REC_REGS,
	KVM_X86_REC_XSAVE, /* or FPU, when the host has no KVM_GET_XSAVE */
	KVM_X86_REC_FPU,
	KVM_X86_REC_XCRS,
	KVM_X86_REC_MSRS,
	KVM_X86_REC_LAPIC,
	KVM_X86_REC_MP_STATE,
	KVM_X86_REC_EVENTS,
	KVM_X86_REC_DEBUGREGS,
};

enum kvm_x86_vmrec {
	KVM_X86_VMREC_PIC_MASTER = 1,
	KVM_X86_VMREC_PIC_SLAVE,
	KVM_X86_VMREC_IOAPIC,
	KVM_X86_VMREC_PIT,
	KVM_X86_VMREC_CLOCK,
};

/*
 * MSRs a vCPU carries that sregs/LAPIC do not: SDM vol. 4 numbers, and
 * KVM's paravirtual ones (Documentation/virt/kvm/x86/msr.rst). The TSC is
 * restored as saved, so the guest's clock continues from the snapshot.
 */
static const uint32_t kvm_x86_msrs[] = {
	0x10,       /* IA32_TIME_STAMP_COUNTER */
	0x3b,       /* IA32_TSC_ADJUST */
	0x174,      /* IA32_SYSENTER_CS */
	0x175,      /* IA32_SYSENTER_ESP */
	0x176,      /* IA32_SYSENTER_EIP */
	0x1a0,      /* IA32_MISC_ENABLE */
	0x277,      /* IA32_PAT */
	0x6e0,      /* IA32_TSC_DEADLINE */
	0xc0000081, /* STAR */
	0xc0000082, /* LSTAR */
	0xc0000083, /* CSTAR */
	0xc0000084, /* FMASK */
	0xc0000102, /* KERNEL_GS_BASE */
	0xc0000103, /* TSC_AUX */
	0x4b564d00, /* MSR_KVM_WALL_CLOCK_NEW */
	0x4b564d01, /* MSR_KVM_SYSTEM_TIME_NEW (kvmclock) */
	0x4b564d02, /* MSR_KVM_ASYNC_PF_EN */
	0x4b564d03, /* MSR_KVM_STEAL_TIME */
	0x4b564d04, /* MSR_KVM_PV_EOI_EN */
};
#define KVM_X86_NR_MSRS (sizeof(kvm_x86_msrs) / sizeof(kvm_x86_msrs[0]))

struct kvm_x86_msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[KVM_X86_NR_MSRS];
};

static void kvm_x86_rec(struct snap_out *o, uint32_t tag, const void *p, uint32_t len)
{
	snap_put_u32(o, tag);
	snap_put_u32(o, len);
	snap_put_bytes(o, p, len);
}

/* One GET ioctl into a record; -errno (logged) when the kernel refuses. */
static int kvm_x86_get_rec(int fd, unsigned long req, const char *name, struct snap_out *o,
			   uint32_t tag, void *buf, uint32_t len)
{
	if (ioctl(fd, req, buf) < 0) {
		int err = errno;

		log_err("%s: %s", name, strerror(err));
		return -err;
	}
	kvm_x86_rec(o, tag, buf, len);
	return 0;
}

/* The MSRs this host lets us read, one at a time (KVM_GET_MSRS stops at the first it lacks). */
static void kvm_x86_save_msrs(int fd, struct snap_out *o)
{
	struct kvm_x86_msr_buf all = { 0 };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} one;

	for (unsigned i = 0; i < KVM_X86_NR_MSRS; i++) {
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.e.index = kvm_x86_msrs[i];
		if (ioctl(fd, KVM_GET_MSRS, &one) == 1)
			all.e[all.hdr.nmsrs++] = one.e;
	}
	snap_put_u32(o, KVM_X86_REC_MSRS);
	snap_put_u32(o, 4 + all.hdr.nmsrs * 16);
	snap_put_u32(o, all.hdr.nmsrs);
	for (unsigned i = 0; i < all.hdr.nmsrs; i++) {
		snap_put_u32(o, all.e[i].index);
		snap_put_u32(o, 0);
		snap_put_u64(o, all.e[i].data);
	}
}

int kvm_arch_vcpu_save(struct kvm_vcpu *v, struct snap_out *o)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dr;
	int ret;

	if (!xs)
		return -ENOMEM;
	ret = kvm_x86_get_rec(v->fd, KVM_GET_SREGS, "KVM_GET_SREGS", o, KVM_X86_REC_SREGS, &sregs,
			      sizeof(sregs));
	if (!ret)
		ret = kvm_x86_get_rec(v->fd, KVM_GET_REGS, "KVM_GET_REGS", o, KVM_X86_REC_REGS,
				      &regs, sizeof(regs));
	if (!ret) {
		if (ioctl(v->fd, KVM_GET_XSAVE, xs) == 0)
			kvm_x86_rec(o, KVM_X86_REC_XSAVE, xs, sizeof(*xs));
		else
			ret = kvm_x86_get_rec(v->fd, KVM_GET_FPU, "KVM_GET_FPU", o,
					      KVM_X86_REC_FPU, &fpu, sizeof(fpu));
	}
	free(xs);
	if (!ret && ioctl(v->fd, KVM_GET_XCRS, &xcrs) == 0) /* absent without XSAVE: skip */
		kvm_x86_rec(o, KVM_X86_REC_XCRS, &xcrs, sizeof(xcrs));
	if (!ret)
		kvm_x86_save_msrs(v->fd, o);
	if (!ret)
		ret = kvm_x86_get_rec(v->fd, KVM_GET_LAPIC, "KVM_GET_LAPIC", o, KVM_X86_REC_LAPIC,
				      &lapic, sizeof(lapic));
	if (!ret)
		ret = kvm_x86_get_rec(v->fd, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", o,
				      KVM_X86_REC_MP_STATE, &mp, sizeof(mp));
	if (!ret)
		ret = kvm_x86_get_rec(v->fd, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", o,
				      KVM_X86_REC_EVENTS, &ev, sizeof(ev));
	if (!ret && ioctl(v->fd, KVM_GET_DEBUGREGS, &dr) == 0)
		kvm_x86_rec(o, KVM_X86_REC_DEBUGREGS, &dr, sizeof(dr));
	return ret ? ret : snap_out_error(o);
}

static uint32_t kvm_x86_rec_size(uint32_t tag)
{
	switch (tag) {
	case KVM_X86_REC_SREGS: return sizeof(struct kvm_sregs);
	case KVM_X86_REC_REGS: return sizeof(struct kvm_regs);
	case KVM_X86_REC_XSAVE: return sizeof(struct kvm_xsave);
	case KVM_X86_REC_FPU: return sizeof(struct kvm_fpu);
	case KVM_X86_REC_XCRS: return sizeof(struct kvm_xcrs);
	case KVM_X86_REC_LAPIC: return sizeof(struct kvm_lapic_state);
	case KVM_X86_REC_MP_STATE: return sizeof(struct kvm_mp_state);
	case KVM_X86_REC_EVENTS: return sizeof(struct kvm_vcpu_events);
	case KVM_X86_REC_DEBUGREGS: return sizeof(struct kvm_debugregs);
	default: return 0;
	}
}

static unsigned long kvm_x86_rec_set(uint32_t tag)
{
	switch (tag) {
	case KVM_X86_REC_SREGS: return KVM_SET_SREGS;
	case KVM_X86_REC_REGS: return KVM_SET_REGS;
	case KVM_X86_REC_XSAVE: return KVM_SET_XSAVE;
	case KVM_X86_REC_FPU: return KVM_SET_FPU;
	case KVM_X86_REC_XCRS: return KVM_SET_XCRS;
	case KVM_X86_REC_LAPIC: return KVM_SET_LAPIC;
	case KVM_X86_REC_MP_STATE: return KVM_SET_MP_STATE;
	case KVM_X86_REC_EVENTS: return KVM_SET_VCPU_EVENTS;
	default: return KVM_SET_DEBUGREGS;
	}
}

static int kvm_x86_msr_known(uint32_t index)
{
	for (unsigned i = 0; i < KVM_X86_NR_MSRS; i++)
		if (kvm_x86_msrs[i] == index)
			return 1;
	return 0;
}

static int kvm_x86_load_msrs(int fd, struct snap_in *in, uint32_t len)
{
	struct kvm_x86_msr_buf b = { 0 };
	uint32_t n = snap_get_u32(in);
	int got;

	if (snap_in_error(in) || n > KVM_X86_NR_MSRS || len != 4 + n * 16)
		return snap_in_fail(in);
	for (uint32_t i = 0; i < n; i++) {
		b.e[i].index = snap_get_u32(in);
		if (snap_get_u32(in) != 0 || !kvm_x86_msr_known(b.e[i].index))
			return snap_in_fail(in);
		b.e[i].data = snap_get_u64(in);
	}
	if (snap_in_error(in))
		return -EINVAL;
	b.hdr.nmsrs = n;
	got = ioctl(fd, KVM_SET_MSRS, &b);
	if (got != (int)n) {
		log_err("KVM_SET_MSRS: set %d of %u (MSR %#x refused)", got, n,
			got >= 0 && (uint32_t)got < n ? b.e[got].index : 0);
		return got < 0 ? -errno : -EINVAL;
	}
	return 0;
}

int kvm_arch_vcpu_load(struct kvm_vcpu *v, struct snap_in *in)
{
	uint8_t *buf = malloc(sizeof(struct kvm_xsave)); /* the largest record */
	uint32_t last = 0;
	int ret = 0, have_regs = 0;

	if (!buf)
		return -ENOMEM;
	while (!ret && snap_in_left(in)) {
		uint32_t tag = snap_get_u32(in), len = snap_get_u32(in);

		if (snap_in_error(in) || tag <= last) {
			ret = snap_in_fail(in); /* out of order or repeated */
			break;
		}
		last = tag;
		if (tag == KVM_X86_REC_MSRS) {
			ret = kvm_x86_load_msrs(v->fd, in, len);
			continue;
		}
		if (!kvm_x86_rec_size(tag) || len != kvm_x86_rec_size(tag)) {
			ret = snap_in_fail(in);
			break;
		}
		snap_get_bytes(in, buf, len);
		if (snap_in_error(in)) {
			ret = -EINVAL;
			break;
		}
		have_regs |= tag == KVM_X86_REC_REGS;
		if (ioctl(v->fd, kvm_x86_rec_set(tag), buf) < 0) {
			ret = -errno;
			log_err("vCPU %u: restoring state record %u: %s", v->base.id, tag,
				strerror(-ret));
		}
	}
	free(buf);
	if (!ret && !have_regs)
		ret = snap_in_fail(in); /* a vCPU without registers is no vCPU */
	return ret ? ret : snap_in_error(in);
}

/* The KVM clock with the wall time it was read at (see the top of this file). */
static int kvm_x86_save_clock(int vm_fd, struct snap_out *o, struct kvm_clock_data *clock)
{
	memset(clock, 0, sizeof(*clock));
	if (ioctl(vm_fd, KVM_GET_CLOCK, clock) < 0) {
		int err = errno;

		log_err("KVM_GET_CLOCK: %s", strerror(err));
		return -err;
	}
	if (!(clock->flags & KVM_CLOCK_REALTIME)) {
		clock->realtime = snap_wall_ns();
		if (clock->realtime)
			clock->flags |= KVM_CLOCK_REALTIME;
	}
	kvm_x86_rec(o, KVM_X86_VMREC_CLOCK, clock, sizeof(*clock));
	return 0;
}

/* What KVM_SET_CLOCK gets: the saved clock advanced by the wall time since it was read. */
static void kvm_x86_clock_fixup(struct kvm_clock_data *c)
{
	uint64_t then = c->flags & KVM_CLOCK_REALTIME ? c->realtime : 0;
	uint64_t saved = c->clock;

	c->clock = snap_clock_advance(saved, then, snap_wall_ns());
	log_info("kvm clock: advanced by %llu ms of wall time since the snapshot",
		 (unsigned long long)((c->clock - saved) / 1000000));
	c->flags = 0; /* only the clock value is ours to set */
	c->realtime = 0;
	c->host_tsc = 0;
}

int kvm_arch_vm_save(struct kvm_accel *k, struct snap_out *o)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	int ret = 0;

	for (uint32_t id = 0; !ret && id < 3; id++) { /* KVM_IRQCHIP_PIC_MASTER .. IOAPIC */
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = id;
		ret = kvm_x86_get_rec(k->vm_fd, KVM_GET_IRQCHIP, "KVM_GET_IRQCHIP", o,
				      KVM_X86_VMREC_PIC_MASTER + id, &chip, sizeof(chip));
	}
	if (!ret)
		ret = kvm_x86_get_rec(k->vm_fd, KVM_GET_PIT2, "KVM_GET_PIT2", o, KVM_X86_VMREC_PIT,
				      &pit, sizeof(pit));
	if (!ret)
		ret = kvm_x86_save_clock(k->vm_fd, o, &clock);
	return ret ? ret : snap_out_error(o);
}

int kvm_arch_vm_load(struct kvm_accel *k, struct snap_in *in)
{
	static const uint32_t size[] = { 0, sizeof(struct kvm_irqchip), sizeof(struct kvm_irqchip),
					 sizeof(struct kvm_irqchip), sizeof(struct kvm_pit_state2),
					 sizeof(struct kvm_clock_data) };
	static const unsigned long req[] = { 0, KVM_SET_IRQCHIP, KVM_SET_IRQCHIP, KVM_SET_IRQCHIP,
					     KVM_SET_PIT2, KVM_SET_CLOCK };
	union {
		struct kvm_irqchip chip;
		struct kvm_pit_state2 pit;
		struct kvm_clock_data clock;
	} u;
	uint32_t last = 0;

	while (snap_in_left(in)) {
		uint32_t tag = snap_get_u32(in), len = snap_get_u32(in);

		if (snap_in_error(in) || tag <= last || tag > KVM_X86_VMREC_CLOCK || len != size[tag])
			return snap_in_fail(in);
		last = tag;
		snap_get_bytes(in, &u, len);
		if (snap_in_error(in))
			return -EINVAL;
		if (tag <= KVM_X86_VMREC_IOAPIC && u.chip.chip_id != tag - 1)
			return snap_in_fail(in);
		if (tag == KVM_X86_VMREC_CLOCK)
			kvm_x86_clock_fixup(&u.clock);
		if (ioctl(k->vm_fd, req[tag], &u) < 0) {
			int err = errno;

			log_err("restoring VM state record %u: %s", tag, strerror(err));
			return -err;
		}
	}
	return last == KVM_X86_VMREC_CLOCK ? 0 : snap_in_fail(in);
}
