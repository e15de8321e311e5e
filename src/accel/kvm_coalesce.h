/*
 * accel/kvm_coalesce.h: KVM's coalesced I/O ring, as accel/kvm.c drains it
 * (and tests/unit/test_coalesce.c drives it over a fake page). Plain
 * memory: no ioctl here.
 */
#ifndef VMON_ACCEL_KVM_COALESCE_H
#define VMON_ACCEL_KVM_COALESCE_H

#include <linux/kvm.h>

#include "accel/accel.h"

/*
 * Entries in a ring of page_size bytes (KVM_COALESCED_MMIO_MAX with the
 * host's page size: the uapi macro assumes the kernel's PAGE_SIZE).
 */
unsigned kvm_coalesce_ring_max(size_t page_size);

/*
 * Dispatch the ring's entries from first up to last, in order, to fn;
 * first advances past each entry only after fn returned, so another
 * thread that sees the ring non-empty waits (the caller's lock) until
 * what it saw was dispatched. Entries with a length outside 1..8 are
 * skipped and counted in *bad. An index out of the ring (not KVM's
 * doing) empties it. The caller holds the VM's drain lock. Returns the
 * entries dispatched.
 */
unsigned kvm_coalesce_drain(struct kvm_coalesced_mmio_ring *ring, unsigned max,
			    accel_drain_fn fn, void *ctx, unsigned *bad);

/* 1 when the ring holds an entry: a lock-free peek before taking the drain lock. */
static inline int kvm_coalesce_pending(struct kvm_coalesced_mmio_ring *ring)
{
	return __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
}

#endif
