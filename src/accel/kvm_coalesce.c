/*
 * accel/kvm_coalesce.c: reading KVM's coalesced I/O ring (see
 * kvm_coalesce.h). KVM appends at last under its own lock and publishes
 * last after the entry; vmon consumes from first. Runs on whichever vCPU
 * thread drains, under the VM's drain lock (accel/kvm.c).
 */
#include "accel/kvm_coalesce.h"

#include <string.h>

unsigned kvm_coalesce_ring_max(size_t page_size)
{
	return (unsigned)((page_size - sizeof(struct kvm_coalesced_mmio_ring)) /
			  sizeof(struct kvm_coalesced_mmio));
}

unsigned kvm_coalesce_drain(struct kvm_coalesced_mmio_ring *ring, unsigned max,
			    accel_drain_fn fn, void *ctx, unsigned *bad)
{
	uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED), last;
	unsigned n = 0;

	for (;;) {
		struct kvm_coalesced_mmio e;

		last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
		if (first == last)
			break;
		if (first >= max || last >= max) {
			/* Not a ring KVM wrote: drop it rather than read past the page. */
			(*bad)++;
			__atomic_store_n(&ring->first, last < max ? last : 0, __ATOMIC_RELEASE);
			break;
		}
		memcpy(&e, &ring->coalesced_mmio[first], sizeof(e));
		if (e.len >= 1 && e.len <= sizeof(e.data)) {
			fn(ctx, e.pio != 0, e.phys_addr, e.data, e.len);
			n++;
		} else {
			(*bad)++;
		}
		first = (first + 1) % max;
		__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
	}
	return n;
}
