/*
 * mmio.h: the virtio-mmio transport, version 2 (virtio 1.2 §4.2): one
 * device on the VM's device list (struct dev_ops virtio_mmio_dev_ops, kind
 * "virtio-mmio") whose bus window is the register file of §4.2.2 over a
 * virtio core (core.h).
 *
 * Owns: the register map (offsets, 32-bit access rule, what each register
 * reads and writes in the core), one doorbell per queue (a machine doorbell
 * on QueueNotify: an ioeventfd the accelerator signals, or, where it cannot,
 * the QueueNotify handler signals the same eventfd; either way the I/O loop
 * watches it and processes the queue), the interrupt edge handed to the
 * core, and the transport's place (base, gsi). Its save is the core's
 * (status, features, queues, the device's own section); it adds nothing.
 * Does not own status, features or queue rules (core.c), the device
 * (struct virtio_dev_ops), where the window and line come from or how the
 * guest learns of them (the machine: devices.c asks it). Never writes into
 * the device's ops table.
 *
 * Threads: register accesses on vCPU threads, doorbells on the I/O thread;
 * both under the core's mutex (a leaf). Creation and destroy on the thread
 * building or tearing down the VM.
 */
#ifndef VMON_VIRTIO_MMIO_H
#define VMON_VIRTIO_MMIO_H

#include <stdint.h>

#include "../dev.h"
#include "../ioloop.h"
#include "../machine.h"
#include "core.h"
#include "virtio.h"

#define VIRTIO_MMIO_WINDOW       0x1000 /* one page per device */
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050  /* QueueNotify, virtio 1.2 §4.2.2 */

struct virtio_mmio;

/* One queue's doorbell: guest writes of its index to QueueNotify. */
struct virtio_mmio_doorbell {
	struct virtio_mmio *t;
	unsigned index;
	int fd;       /* eventfd, -1 when not open */
	int absorbed; /* 1: the accelerator signals fd; 0: the QueueNotify handler does */
	int watched;  /* fd is in the machine's I/O loop */
	struct ioloop_handler h;
};

struct virtio_mmio {
	struct virtio_core core; /* status, features, queues, the device */
	const struct machine *m; /* NULL until virtio_mmio_init */
	uint64_t base;
	unsigned gsi;
	int edge_open;           /* core.irq came from machine_irq_edge_open */
	struct virtio_mmio_doorbell db[VIRTIO_MAX_QUEUES];
};

/* read/write: the register file (offsets in the window); save/load: the core's. */
extern const struct dev_ops virtio_mmio_dev_ops;

/*
 * A transport with no device yet: its core is inert (virtio_core_init), so
 * &t->core may be handed to the device being built (a receive kick) before
 * virtio_mmio_init. NULL when out of memory.
 */
struct virtio_mmio *virtio_mmio_alloc(void);
/*
 * Attach dev (the transport owns it from here, also on failure), open the
 * interrupt edge on gsi and a doorbell per queue at base + QueueNotify,
 * watched in m->io. Does not map the window or add the device to a list
 * (the caller does, with virtio_mmio_dev_ops and t). 0 or -errno, logged.
 * On failure virtio_mmio_destroy(t) releases what was set up.
 */
int virtio_mmio_init(struct virtio_mmio *t, const struct machine *m, const char *name,
		     uint64_t base, unsigned gsi, const struct virtio_dev_ops *ops, void *dev);
/* virtio_mmio_alloc + virtio_mmio_init; *out only on success, dev destroyed on failure. */
int virtio_mmio_create(const struct machine *m, const char *name, uint64_t base, unsigned gsi,
		       const struct virtio_dev_ops *ops, void *dev, struct virtio_mmio **out);
/*
 * Close the doorbells and the edge, destroy the device, free t (which may
 * be only allocated, or half set up). The same as virtio_mmio_dev_ops.destroy.
 */
void virtio_mmio_destroy(struct virtio_mmio *t);

#endif
