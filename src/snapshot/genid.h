/*
 * snapshot/genid.h: how a restored guest learns it was restored.
 *
 * The generation ID: each restore draws a fresh 128-bit VM generation ID
 * (snap_genid_new); the platform that exposes it to the guest registers a
 * hook (vm.c copies arch_ops.genid into vm->genid_hook) that vm_restore
 * calls after the state is loaded and before the first KVM_RUN, with the
 * new ID. On the PC that is the ACPI vmgenid device (arch/x86/acpi.h,
 * dsdt.asl's \_SB.VGEN): the ID goes to the reserved page PC_VMGENID_ADDR
 * and GPE 0 raises the SCI, whose handler notifies the device; Linux's
 * vmgenid driver then re-reads the ID and reseeds its RNG. At first boot
 * the PC writes a random ID there as well.
 *
 * The clock: the KVM clock (what kvmclock reads) is saved with the wall
 * time it was read at (struct kvm_clock_data's realtime, filled by KVM
 * where it can, by vmon otherwise) and restored advanced by the wall time
 * that has passed since (snap_clock_advance), so a restored guest's clock
 * does not stand still across the gap. The TSC is restored as saved (it
 * stays continuous; kvmclock's readings are based on the KVM clock, not
 * on the TSC's value).
 *
 * Owns: the hook's contract, drawing IDs, the clock arithmetic.
 * Threads: the VMM thread, vCPUs not running; the helpers have no state.
 */
#ifndef VMON_SNAPSHOT_GENID_H
#define VMON_SNAPSHOT_GENID_H

#include <stdint.h>

#define SNAP_GENID_LEN 16 /* Microsoft "Virtual Machine Generation ID" spec: 128 bits */

struct snap_genid_hook {
	/*
	 * Called once per successful restore with the new generation ID.
	 * 0 or -errno (a failure fails the restore). NULL fn: no device.
	 */
	int (*fn)(void *ctx, const uint8_t genid[SNAP_GENID_LEN]);
	void *ctx;
};

/* A fresh random generation ID (libsodium's CSPRNG; never all zero). */
void snap_genid_new(uint8_t genid[SNAP_GENID_LEN]);

/*
 * The KVM clock to restore: clock_ns, read at wall time then_ns, advanced
 * by the wall time until now_ns. then_ns 0 (not known: an older snapshot)
 * or a wall clock that went backwards leave clock_ns as it is; the sum
 * saturates rather than wraps.
 */
uint64_t snap_clock_advance(uint64_t clock_ns, uint64_t then_ns, uint64_t now_ns);

/* CLOCK_REALTIME in ns (0 if it cannot be read). */
uint64_t snap_wall_ns(void);

#endif
