/*
 * rng.h: virtio entropy device (virtio 1.2 §5.4): one request queue whose
 * device-writable buffers vmon fills from the host's getrandom(2).
 *
 * Owns: a counter and a chain buffer; no configuration space, no feature
 * bits (§5.4.3). Does not own the queue, status or features (core.c).
 * Saved state: none (every request completes within queue_notify; the
 * byte counter is not state): save writes nothing, load takes only an
 * empty section.
 * Threads: queue_notify on the I/O thread, under the core's mutex; stats on
 * any thread (relaxed counter).
 */
#ifndef VMON_VIRTIO_RNG_H
#define VMON_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio.h"

struct vrng {
	struct virtq_chain chain; /* scratch for the chain being served */
	uint64_t bytes;           /* entropy handed to the guest (virtio_stat_add) */
	uint64_t logged;          /* getrandom failures: log_limited (log.h) */
};

extern const struct virtio_dev_ops vrng_ops;

/* Set up caller storage. */
void vrng_init(struct vrng *r);
/* A heap device for vrng_ops (whose destroy frees it). 0 or -ENOMEM, logged. */
int vrng_create(struct vrng **out);

#endif
