/*
 * kvm_state.c: host test of the accelerator's snapshot state ops on the
 * real /dev/kvm (src/accel/kvm_x86_state.c), without a guest: a vCPU whose
 * registers, segment state and an MSR were set is saved, loaded into a vCPU
 * of a second VM, and read back equal; the VM-wide state (PIC, IOAPIC, PIT,
 * clock) round-trips; hostile streams (truncated, records out of order, an
 * MSR vmon does not save, a wrong record length, no registers) are refused
 * with -EINVAL; dirty logging turns on and off on a RAM slot (KVM logs guest
 * writes only, so a slot no vCPU ran on reports no page; with logging off
 * the log is refused). Usage: kvm_state [/dev/kvm].
 * Ends "N passed, N failed"; exit 1 on a failure. Single-threaded.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "accel/accel.h"
#include "snapshot/stream.h"

static int passed, failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	if (ok)
		passed++;
	else
		failed++;
}

static int vcpu_pair(const char *dev, struct accel **a, struct accel_vcpu **v)
{
	if (accel_kvm_create(dev, 1, a))
		return -1;
	if ((*a)->ops->vcpu_create(*a, 0, v)) {
		(*a)->ops->destroy(*a);
		return -1;
	}
	return 0;
}

static void put_rec(struct snap_out *o, uint32_t tag, uint32_t len, const void *p)
{
	snap_put_u32(o, tag);
	snap_put_u32(o, len);
	snap_put_bytes(o, p, len);
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	struct accel *a1, *a2;
	struct accel_vcpu *v1, *v2;
	struct kvm_regs regs = { 0 }, back;
	struct kvm_sregs sregs;
	struct snap_out o, bad;
	struct snap_in in;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msr = { .hdr.nmsrs = 1, .e.index = 0xc0000082 /* LSTAR */, .e.data = 0xffffffff81234560 };
	uint64_t bitmap[1] = { ~0ULL };
	void *ram;
	int ret;

	if (vcpu_pair(dev, &a1, &v1) || vcpu_pair(dev, &a2, &v2)) {
		fprintf(stderr, "kvm_state: cannot create two VMs on %s\n", dev);
		return 1;
	}
	regs.rax = 0x1122334455667788ULL;
	regs.rip = 0x100042;
	regs.rflags = 0x2;
	v1->a->ops->vcpu_set(v1, ACCEL_X86_REGS, &regs, sizeof(regs));
	v1->a->ops->vcpu_get(v1, ACCEL_X86_SREGS, &sregs, sizeof(sregs));
	sregs.cs.base = 0x10000;
	sregs.cs.selector = 0x1000;
	v1->a->ops->vcpu_set(v1, ACCEL_X86_SREGS, &sregs, sizeof(sregs));
	v1->a->ops->vcpu_set(v1, ACCEL_X86_MSRS, &msr, sizeof(msr));

	snap_out_init(&o);
	ret = a1->ops->vcpu_save(v1, &o);
	check(ret == 0 && o.len > sizeof(regs), "vcpu_save");
	snap_in_init(&in, o.buf, o.len);
	ret = a2->ops->vcpu_load(v2, &in);
	check(ret == 0, "vcpu_load into another VM's vCPU");
	memset(&back, 0, sizeof(back));
	v2->a->ops->vcpu_get(v2, ACCEL_X86_REGS, &back, sizeof(back));
	check(back.rax == regs.rax && back.rip == regs.rip, "registers equal after load");
	v2->a->ops->vcpu_get(v2, ACCEL_X86_SREGS, &sregs, sizeof(sregs));
	check(sregs.cs.base == 0x10000 && sregs.cs.selector == 0x1000, "segments equal after load");
	msr.e.data = 0;
	v2->a->ops->vcpu_get(v2, ACCEL_X86_MSRS, &msr, sizeof(msr));
	check(msr.e.data == 0xffffffff81234560ULL, "LSTAR equal after load");

	/* Hostile vCPU streams. */
	for (size_t cut = 1; cut < 64; cut += 7) {
		snap_in_init(&in, o.buf, o.len - cut);
		if (a2->ops->vcpu_load(v2, &in) != -EINVAL) {
			check(0, "truncated vCPU stream refused");
			break;
		}
		if (cut + 7 >= 64)
			check(1, "truncated vCPU streams refused");
	}
	snap_out_init(&bad);
	put_rec(&bad, 2 /* REGS */, sizeof(regs), &regs);
	put_rec(&bad, 1 /* SREGS, after REGS: out of order */, sizeof(sregs), &sregs);
	snap_in_init(&in, bad.buf, bad.len);
	check(a2->ops->vcpu_load(v2, &in) == -EINVAL, "records out of order refused");
	snap_out_free(&bad);
	snap_out_init(&bad);
	put_rec(&bad, 2, sizeof(regs) - 8, &regs);
	snap_in_init(&in, bad.buf, bad.len);
	check(a2->ops->vcpu_load(v2, &in) == -EINVAL, "wrong record length refused");
	snap_out_free(&bad);
	snap_out_init(&bad);
	put_rec(&bad, 2, sizeof(regs), &regs);
	snap_put_u32(&bad, 6 /* MSRS */);
	snap_put_u32(&bad, 4 + 16);
	snap_put_u32(&bad, 1);
	snap_put_u32(&bad, 0x1b /* APIC_BASE: not one vmon saves here */);
	snap_put_u32(&bad, 0);
	snap_put_u64(&bad, 0);
	snap_in_init(&in, bad.buf, bad.len);
	check(a2->ops->vcpu_load(v2, &in) == -EINVAL, "unlisted MSR refused");
	snap_out_free(&bad);
	snap_out_init(&bad);
	put_rec(&bad, 1, sizeof(sregs), &sregs);
	snap_in_init(&in, bad.buf, bad.len);
	check(a2->ops->vcpu_load(v2, &in) == -EINVAL, "vCPU state without registers refused");
	snap_out_free(&bad);
	snap_out_free(&o);

	/* VM-wide state. */
	snap_out_init(&o);
	ret = a1->ops->vm_save(a1, &o);
	check(ret == 0, "vm_save (PIC, IOAPIC, PIT, clock)");
	snap_in_init(&in, o.buf, o.len);
	check(a2->ops->vm_load(a2, &in) == 0, "vm_load into another VM");
	snap_in_init(&in, o.buf, o.len / 2);
	check(a2->ops->vm_load(a2, &in) == -EINVAL, "truncated VM state refused");
	snap_out_free(&o);

	/* Dirty logging on a slot. */
	ram = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(ram != MAP_FAILED && a1->ops->map_ram(a1, 0, 0, 0x10000, ram) == 0 &&
		      a1->ops->dirty_track(a1, 0, 0, 0x10000, ram, 1) == 0 &&
		      a1->ops->dirty_get(a1, 0, bitmap) == 0 && bitmap[0] == 0,
	      "dirty log on: an idle slot reports no page");
	check(a1->ops->dirty_track(a1, 0, 0, 0x10000, ram, 0) == 0 &&
		      a1->ops->dirty_get(a1, 0, bitmap) == -ENOENT,
	      "dirty log off: KVM_GET_DIRTY_LOG refused");

	a1->ops->vcpu_destroy(v1);
	a2->ops->vcpu_destroy(v2);
	a1->ops->destroy(a1);
	a2->ops->destroy(a2);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
