/*
 * mmio.h: the virtio-mmio transport, version 2 (virtio 1.2 §4.2).
 *
 * Owns: the register file a driver sees at one MMIO window (feature
 * negotiation, device status, queue layout registers, interrupt status),
 * the KVM ioeventfd per queue (QueueNotify writes are absorbed by KVM and
 * wake the I/O thread without a user-space exit), the KVM irqfd that
 * injects the device's interrupt, and per-device counters.
 * Does not own the device behaviour (struct virtio_dev_ops) or the queues'
 * parsing (virtq.c). Never writes into the device's ops table.
 *
 * Threads: register accesses come from vCPU threads (bus ops); queue work
 * runs on the I/O thread. One mutex per transport covers both and every
 * call into the device. Lock order: transport mutex is a leaf (nothing else
 * is locked under it).
 */
#ifndef VMON_VIRTIO_MMIO_H
#define VMON_VIRTIO_MMIO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../bus.h"
#include "../gmem.h"
#include "../ioloop.h"
#include "virtio.h"

#define VIRTIO_MMIO_WINDOW 0x1000 /* one page per device */

/* What a transport is handed at creation: KVM VM fd, guest RAM, I/O loop. */
struct virtio_mmio_env {
	int vm_fd;
	const struct gmem *m;
	struct ioloop *loop;
};

struct virtio_mmio;

struct virtio_mmio_queue {
	struct virtio_mmio *t;
	unsigned index;
	uint16_t num;
	uint64_t desc, avail, used;
	int kick_fd;                 /* KVM ioeventfd on QueueNotify == index */
	struct ioloop_handler kick;
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct gmem *m;
	int vm_fd;
	uint64_t base;
	unsigned gsi;
	int irq_fd; /* KVM irqfd for gsi */

	uint32_t status, dev_features_sel, drv_features_sel, queue_sel, isr;
	uint64_t drv_features;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	struct virtio_mmio_queue q[VIRTIO_MAX_QUEUES];

	/* Counters for --stats: each notification, interrupt and chain. */
	uint64_t notifies, interrupts, chains, resets, errors;
};

extern const struct bus_dev_ops virtio_mmio_bus_ops;

/* Set up registers, ioeventfds and irqfd; 0 or -errno (logged). */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_env *env, uint64_t base,
		     unsigned gsi, const struct virtio_dev_ops *ops, void *dev);
void virtio_mmio_destroy(struct virtio_mmio *t);

/*
 * I/O thread: run the device's queue_notify for queue qi as if the driver
 * had notified it, for device-side events (a TAP became readable). Takes
 * the transport mutex; does nothing unless the driver set the queue up.
 */
void virtio_mmio_process(struct virtio_mmio *t, unsigned qi);

/* Append " virtio_mmio.device=4K@0x...:gsi" for the guest's command line. */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t len);

#endif
