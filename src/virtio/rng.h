/*
 * rng.h: virtio entropy device (virtio 1.2 §5.4): one request queue whose
 * device-writable buffers vmon fills from the host's getrandom(2).
 *
 * Owns: nothing but a counter and a chain buffer; no configuration space.
 * Threads: queue_notify on the I/O thread, under the transport's mutex.
 */
#ifndef VMON_VIRTIO_RNG_H
#define VMON_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio.h"

struct vrng {
	struct virtq_chain chain; /* scratch for the chain being served */
	uint64_t bytes;           /* entropy handed to the guest */
};

extern const struct virtio_dev_ops vrng_ops;

void vrng_init(struct vrng *r);

#endif
