/*
 * virtio.h: what a virtio device implements, independent of the transport
 * (virtio-mmio today, virtio-pci later), and the spec's common constants.
 *
 * Owns: the device contract (struct virtio_dev_ops), its shared stubs and
 * small helpers every device uses (config-space copy, counters, log rate
 * limit). Does not own status, features, queues or interrupts (core.c) nor
 * any register map (mmio.c).
 *
 * A device fills a static const, complete struct virtio_dev_ops (shared
 * stubs below, so no op is ever NULL); the core holds a const pointer to it
 * plus the device's opaque state, and never writes into either.
 *
 * Threads: config ops and driver_ok run on vCPU threads, queue_notify on the
 * VM's I/O thread, save/load/reset with vCPUs paused and the I/O thread
 * idle; the core calls each of these with its mutex held, so a device needs
 * no lock of its own for state only these ops touch. stats may run on any
 * thread without that mutex: counters are bumped and read with the relaxed
 * helpers below. destroy runs once, after every other thread is done.
 */
#ifndef VMON_VIRTIO_H
#define VMON_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../dev.h"
#include "../snapshot/stream.h"
#include "virtq.h"

/* Device IDs, virtio 1.2 §5 (Device Types). */
#define VIRTIO_ID_NET   1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG   4

/* Reserved feature bits, virtio 1.2 §6. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* Device status field, virtio 1.2 §2.1. */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

#define VIRTIO_MAX_QUEUES 4

struct virtio_dev_ops {
	const char *name;       /* "virtio-blk" */
	uint32_t device_id;     /* VIRTIO_ID_* */
	unsigned nr_queues;     /* 1 ..VIRTIO_MAX_QUEUES */
	uint16_t queue_size_max; /* a power of two <= VIRTQ_MAX_SIZE */

	/* Device-specific feature bits (the core adds VERSION_1 etc.). */
	uint64_t (*features)(void *dev);
	/* Device configuration space; off is relative to its start. 0 or -errno. */
	int (*config_read)(void *dev, uint64_t off, void *data, unsigned len);
	int (*config_write)(void *dev, uint64_t off, const void *data, unsigned len);
	/*
	 * The driver notified queue qi (or the device asked, virtio_core_process):
	 * pop and complete what is available. Returns how many chains were
	 * pushed, or -errno if the driver broke the ring (the core then sets
	 * DEVICE_NEEDS_RESET).
	 */
	int (*queue_notify)(void *dev, struct virtq *q, unsigned qi);
	/* Back to power-on: the driver wrote status 0, or the VM was reset. */
	void (*reset)(void *dev);
	/*
	 * The driver set DRIVER_OK, having accepted `features` (the core's bits
	 * included). Called before any queue_notify that follows.
	 * virtio_driver_ok_none when there is nothing to do.
	 */
	void (*driver_ok)(void *dev, uint64_t features);
	/*
	 * The device's own state a guest could observe beyond the core's
	 * (status, features, queues are saved by core.c). 0 or -errno.
	 */
	int (*save)(void *dev, struct snap_out *out);
	/*
	 * Replace it with what save wrote. Hostile input: -EINVAL (logged, with
	 * the field) for anything out of range; the section must be used up
	 * (the core checks). On failure the core resets the device.
	 */
	int (*load)(void *dev, struct snap_in *in);
	/* The device's counters (dev.h contract): up to max into out, returns how many. */
	unsigned (*stats)(void *dev, struct dev_stat *out, unsigned max);
	/* Close the device's fds and free it (it was made by its *_create). */
	void (*destroy)(void *dev);
};

/* 1 when every op is set and nr_queues / queue_size_max are in range. */
int virtio_dev_ops_complete(const struct virtio_dev_ops *ops);

/* Shared stubs so that ops tables stay complete. */
int virtio_config_none_read(void *dev, uint64_t off, void *data, unsigned len);
int virtio_config_readonly_write(void *dev, uint64_t off, const void *data, unsigned len);
void virtio_reset_none(void *dev);
void virtio_driver_ok_none(void *dev, uint64_t features);
int virtio_save_none(void *dev, struct snap_out *out);   /* writes nothing */
int virtio_load_none(void *dev, struct snap_in *in);     /* accepts only an empty section */
unsigned virtio_stats_none(void *dev, struct dev_stat *out, unsigned max);

/* Copy from a little-endian config image, tolerating any in-range access. */
int virtio_config_copy(const void *cfg, size_t cfg_len, uint64_t off, void *data, unsigned len);

/*
 * Counters: bumped on the device's thread, read by stats on any other
 * (dev.h: "counters are read relaxed"). Relaxed atomics, so a reader sees
 * a torn-free value and TSan sees no race; no ordering is implied.
 */
static inline void virtio_stat_add(uint64_t *ctr, uint64_t n)
{
	__atomic_fetch_add(ctr, n, __ATOMIC_RELAXED);
}

static inline uint64_t virtio_stat_get(const uint64_t *ctr)
{
	return __atomic_load_n(ctr, __ATOMIC_RELAXED);
}

/*
 * Rate limit for what a guest can trigger over and over (STYLE.md: no
 * per-access logging): counts one event in *n and says whether to log it,
 * on the 1st, 2nd, 4th, 8th... as virtq.c does for malformed chains.
 */
static inline bool virtio_log_ratelimit(uint64_t *n)
{
	uint64_t v = __atomic_add_fetch(n, 1, __ATOMIC_RELAXED);

	return (v & (v - 1)) == 0;
}

/* Append {key, value} to out if there is room (stats ops); returns the new count. */
unsigned virtio_stat_put(struct dev_stat *out, unsigned n, unsigned max, const char *key,
			 uint64_t value);

#endif
