/*
 * virtio.h: what a virtio device implements, independent of the transport
 * (virtio-mmio today, virtio-pci later), and the spec's common constants.
 *
 * A device fills a static const struct virtio_dev_ops; a transport holds a
 * const pointer to it plus the device's opaque state, and never writes into
 * either. Threads: config ops run on vCPU threads, queue_notify on the VM's
 * I/O thread; the transport calls every op with its own mutex held, so a
 * device needs no lock of its own for state only these ops touch.
 */
#ifndef VMON_VIRTIO_H
#define VMON_VIRTIO_H

#include <stdint.h>

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
	unsigned nr_queues;     /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_size_max;

	/* Device-specific feature bits (the transport adds VERSION_1 etc.). */
	uint64_t (*features)(void *dev);
	/* Device configuration space; off is relative to its start. 0 or -errno. */
	int (*config_read)(void *dev, uint64_t off, void *data, unsigned len);
	int (*config_write)(void *dev, uint64_t off, const void *data, unsigned len);
	/*
	 * The driver notified queue qi: pop and complete what is available.
	 * Returns how many chains were pushed, or -errno if the driver broke
	 * the ring (the transport then sets DEVICE_NEEDS_RESET).
	 */
	int (*queue_notify)(void *dev, struct virtq *q, unsigned qi);
	/* The driver reset the device (status 0). */
	void (*reset)(void *dev);
	/*
	 * Optional (NULL: nothing to do): the driver set DRIVER_OK, having
	 * accepted `features` (the transport's bits included). Called before
	 * any queue_notify that follows, under the transport's mutex.
	 */
	void (*driver_ok)(void *dev, uint64_t features);
};

/* Shared stubs so that ops tables stay complete. */
int virtio_config_none_read(void *dev, uint64_t off, void *data, unsigned len);
int virtio_config_readonly_write(void *dev, uint64_t off, const void *data, unsigned len);
void virtio_reset_none(void *dev);

/* Copy from a little-endian config image, tolerating any in-range access. */
int virtio_config_copy(const void *cfg, size_t cfg_len, uint64_t off, void *data, unsigned len);

#endif
