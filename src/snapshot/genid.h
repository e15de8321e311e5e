/*
 * snapshot/genid.h: how a restored guest learns it was restored. Each
 * restore draws a fresh 128-bit VM generation ID; whoever exposes it to the
 * guest (the ACPI vmgenid device, built with the ACPI tables in the PCI
 * issue #11; not here) registers a hook that vm_restore calls after the
 * state is loaded and before the first KVM_RUN, with the new ID. The same
 * hook is where a clock fix-up belongs (the guest's kvmclock resumes from
 * the saved KVM clock, so wall time stands still across the gap until the
 * guest resyncs): TODO(#15).
 *
 * Owns: the hook's contract. Threads: the VMM thread, vCPUs not running.
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

#endif
