/*
 * core.h: the transport-independent half of a virtio device (virtio 1.2 §2,
 * "Basic Facilities of a Virtio Device"), shared by every transport: the
 * virtio-mmio register map (mmio.c) today, virtio-pci's common configuration
 * structure later. A transport decodes its registers and calls in here; it
 * keeps only what is its own (register offsets, doorbells, where the device
 * sits).
 *
 * Owns: the device status field with its rules (§2.1: FEATURES_OK refused
 * for features never offered or without VERSION_1, §2.2.2 / §6.1;
 * DEVICE_NEEDS_RESET set by the device only and cleared by reset only,
 * §2.1.2), feature negotiation (offered = the device's bits | VERSION_1 |
 * EVENT_IDX | INDIRECT_DESC, read and written through 32-bit select
 * windows), each queue's layout as the driver writes it and its struct
 * virtq once ready (virtq_setup checks the layout), the interrupt status
 * bits and the interrupt (struct irq_edge), queue processing with its
 * counters, reset, and save/load of all of it together with the device's
 * own section.
 * Does not own: register offsets, widths or doorbells (the transport), the
 * device's behaviour (struct virtio_dev_ops), ring parsing (virtq.c), the
 * interrupt line itself (the transport opens the edge and hands it over).
 *
 * Threads and locking: one mutex per core, a leaf (nothing is locked under
 * it). Register accesses (vCPU threads) take it through the transport
 * (virtio_core_lock) and call the *_locked functions below; queue work
 * (I/O thread) takes it in virtio_core_process / virtio_core_notify; reset,
 * save and load take it themselves (vCPUs paused, I/O thread idle). Every
 * call into the device is made with it held, except stats (counters are
 * relaxed atomics) and destroy (single-threaded by then).
 *
 * Save format (little-endian, snapshot/stream.h), version 1:
 *   u8  version            u32 device_id        u8  nr_queues
 *   u32 status             u64 driver features  u32 device features select
 *   u32 driver features select                  u32 queue select
 *   u32 interrupt status
 *   nr_queues times:
 *     u16 num   u64 desc   u64 avail (driver area)   u64 used (device area)
 *     u8  flags: 1 ready, 2 broken (a bad chain was seen), 4 event-idx
 *         signalled_used valid
 *     u16 last_avail_idx   u16 used_idx   u16 signalled_used  (0 unless ready)
 *   u32 length, then that many bytes: the device's own save
 * load refuses (-EINVAL, logged once naming the field, core and device then
 * reset): a short or long section, another version, device or queue count,
 * status bits outside §2.1's, FEATURES_OK with features a driver could not
 * have had accepted, DRIVER_OK without FEATURES_OK, interrupt bits other than used-buffer / config-change,
 * a queue size that is neither 0 nor a power of two <= queue_size_max,
 * unknown queue flags, state on a queue that is not ready, a ready queue before
 * FEATURES_OK, a ready queue
 * whose layout virtq_setup refuses (misaligned, outside RAM) or whose
 * cursors are more than its size apart, and whatever the device refuses.
 */
#ifndef VMON_VIRTIO_CORE_H
#define VMON_VIRTIO_CORE_H

#include <pthread.h>
#include <stdint.h>

#include "../dev.h"
#include "../gmem.h"
#include "../irq.h"
#include "../snapshot/stream.h"
#include "virtio.h"
#include "virtq.h"

/* Interrupt status bits: virtio-mmio InterruptStatus (§4.2.2), virtio-pci ISR (§4.1.4.5). */
#define VIRTIO_ISR_QUEUE  0x1 /* used buffer notification */
#define VIRTIO_ISR_CONFIG 0x2 /* configuration change notification */

/* irq_vector's qi for a configuration change (or DEVICE_NEEDS_RESET). */
#define VIRTIO_CORE_IRQ_CONFIG (-1)

/* The rings of a queue, as the transports name their address registers. */
enum virtio_ring {
	VIRTIO_RING_DESC,   /* descriptor area */
	VIRTIO_RING_DRIVER, /* driver area: the avail ring */
	VIRTIO_RING_DEVICE, /* device area: the used ring */
};

/* A queue's layout as the driver last wrote it (checked only at ready). */
struct virtio_core_queue {
	uint16_t num;               /* 0, or a power of two <= queue_size_max */
	uint64_t desc, avail, used; /* guest physical addresses */
};

struct virtio_core {
	pthread_mutex_t lock;
	int lock_inited;
	unsigned waiters; /* threads in virtio_core_lock (relaxed atomics) */
	const char *name;                 /* instance, for logs: "virtio-blk1" (static storage) */
	const struct virtio_dev_ops *ops; /* NULL until attached */
	void *dev;
	const struct gmem *mem;
	struct irq_edge irq; /* filled by the transport; fd -1 and no line: silent */
	/*
	 * Optional, set by the transport before the device runs: raise the
	 * interrupt of queue qi (or VIRTIO_CORE_IRQ_CONFIG) its own way
	 * instead of irq (virtio-pci picks the queue's MSI-X vector). Called
	 * with the core's lock held, so it must not take it; 0 or -errno.
	 */
	int (*irq_vector)(void *ctx, int qi);
	void *irq_ctx;
	/*
	 * Set by the transport: queue qi has work left after a bounded pass
	 * (virtq.more) or after a load; have the I/O loop process it again
	 * later (the transports signal the queue's doorbell eventfd, so the
	 * loop sees a stop between passes). Called with the lock held, so it
	 * must not take it. NULL: the work waits for the driver's next notify.
	 */
	void (*kick)(void *ctx, unsigned qi);
	void *kick_ctx;

	/* Driver-visible state (saved). The selectors are plain registers a
	 * transport may write directly under the lock; nothing depends on them. */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint32_t isr;
	uint64_t drv_features;
	struct virtio_core_queue q[VIRTIO_MAX_QUEUES];
	struct virtq vq[VIRTIO_MAX_QUEUES];

	/* Counters (relaxed atomics, virtio_stat_add): chains completed,
	 * notifications taken, interrupts raised, resets, DEVICE_NEEDS_RESET
	 * events (broken rings, rejected layouts). Not state: never saved. */
	uint64_t requests, notifies, interrupts, resets, errors;
	uint64_t logged; /* guest-triggered log events, for log_limited (log.h) */
};

/*
 * Make c inert but safe: the mutex exists, no device is attached, so
 * virtio_core_process already does nothing. A transport does this when it
 * allocates, before the device exists, so a device may be handed the core
 * (net's receive kick) while being built. 0 or -errno.
 */
int virtio_core_init(struct virtio_core *c);
/*
 * Attach device dev (ops must be complete, virtio_dev_ops_complete: an
 * incomplete table is our bug and aborts) over guest memory mem; name (for
 * logs) must outlive the core. From here the core owns dev:
 * virtio_core_destroy destroys it.
 */
void virtio_core_attach(struct virtio_core *c, const char *name, const struct virtio_dev_ops *ops,
			void *dev, const struct gmem *mem);
/* Destroy the device (if attached) and the mutex. The interrupt edge is the transport's. */
void virtio_core_destroy(struct virtio_core *c);

/*
 * Takes c->lock, counting the caller in c->waiters meanwhile: queue work on
 * the I/O thread, which re-takes the lock pass after pass, first lets those
 * waiting (a vCPU's register access) go ahead (virtio_core_process).
 */
static inline void virtio_core_lock(struct virtio_core *c)
{
	__atomic_add_fetch(&c->waiters, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&c->lock);
	__atomic_sub_fetch(&c->waiters, 1, __ATOMIC_RELAXED);
}

static inline void virtio_core_unlock(struct virtio_core *c)
{
	pthread_mutex_unlock(&c->lock);
}

/* ---- register semantics: the caller holds c->lock and has an attached device. */

/* Everything offered: the device's features and the core's (VERSION_1, EVENT_IDX, INDIRECT_DESC). */
uint64_t virtio_core_offered(const struct virtio_core *c);
/* DeviceFeatures: the 32-bit window dev_features_sel picks (0 beyond bit 63). */
uint32_t virtio_core_device_features(const struct virtio_core *c);
/* DriverFeatures read back (virtio-pci has it readable): the window drv_features_sel picks. */
uint32_t virtio_core_driver_features(const struct virtio_core *c);
/* DriverFeatures write into that window; ignored once FEATURES_OK is set (§2.2.2 step 5). */
void virtio_core_set_driver_features(struct virtio_core *c, uint32_t v);
/*
 * Status write. 0 resets the device (§2.1, §4.2.2.1). Otherwise the
 * driver's bits are taken as written (ACKNOWLEDGE, DRIVER, FEATURES_OK,
 * DRIVER_OK, FAILED; others are not the driver's to set and are dropped),
 * FEATURES_OK is refused (left clear) for a feature set never offered or
 * without VERSION_1 (§2.2.2, §6.1), DRIVER_OK without FEATURES_OK is
 * ignored (left clear: §3.1.1, nothing was negotiated), the first DRIVER_OK
 * calls the device's driver_ok with the negotiated features (unless a
 * reset is already due), FEATURES_OK and DRIVER_OK once set stay until a
 * reset (§2.1.1: the driver never clears a bit), and DEVICE_NEEDS_RESET
 * stays as the device set it.
 */
void virtio_core_set_status(struct virtio_core *c, uint32_t v);
/* The queue queue_sel picks, or NULL when the device has no such queue. */
struct virtio_core_queue *virtio_core_selected(struct virtio_core *c);
/* QueueNumMax of the selected queue: 0 when it does not exist (§4.2.2). */
uint32_t virtio_core_queue_num_max(struct virtio_core *c);
/*
 * Layout writes for the selected queue, ignored while it is ready (§4.2.2.2
 * and §4.1.4.3.2 forbid the driver to change a live queue). A size above
 * queue_size_max or not a power of two (§2.7) is stored as 0, so the queue
 * cannot go ready with it.
 */
void virtio_core_set_queue_num(struct virtio_core *c, uint32_t v);
void virtio_core_set_queue_addr(struct virtio_core *c, enum virtio_ring which, int high,
				uint32_t v);
/* QueueReady of the selected queue (0 when it does not exist). */
uint32_t virtio_core_queue_ready(struct virtio_core *c);
/*
 * QueueReady write: 1 validates the layout (virtq_setup; a bad one, or any
 * before FEATURES_OK, sets DEVICE_NEEDS_RESET and leaves the queue not
 * ready), 0 stops the queue and
 * forgets its cursors. No queue selected: ignored.
 */
void virtio_core_set_queue_ready(struct virtio_core *c, uint32_t v);
/* InterruptACK: clear these interrupt status bits. */
void virtio_core_ack(struct virtio_core *c, uint32_t bits);
/* Device configuration space, passed to the device. 0 or -errno. */
int virtio_core_config_read(struct virtio_core *c, uint64_t off, void *data, unsigned len);
int virtio_core_config_write(struct virtio_core *c, uint64_t off, const void *data, unsigned len);

/* ---- queue work: take the lock themselves. Do nothing until a device is attached. */

/*
 * Run the device's queue_notify for queue qi when the driver has set
 * DRIVER_OK and made the queue ready and no reset is pending: count the
 * chains, and interrupt (VIRTIO_ISR_QUEUE) when virtq_needs_notify says
 * the driver wants one. A broken ring sets DEVICE_NEEDS_RESET (with a
 * configuration-change interrupt once DRIVER_OK is set, §2.1.2). qi beyond
 * the device's queues: ignored. I/O thread (doorbells, device-side events
 * such as a TAP becoming readable).
 */
void virtio_core_process(struct virtio_core *c, unsigned qi);
/*
 * A doorbell for queue qi rang: count the notification, then process. A
 * queue that is not ready, notified once DRIVER_OK is set, is the driver's
 * misuse: DEVICE_NEEDS_RESET (§2.1.2). Before DRIVER_OK: ignored.
 */
void virtio_core_notify(struct virtio_core *c, unsigned qi);

/* ---- whole-device operations: take the lock themselves. */

/* Virtio reset (§2.1): the device's reset, every queue stopped, all registers 0. */
void virtio_core_reset(struct virtio_core *c);
/* Append the state (format above), the device's section included. 0 or -errno. */
int virtio_core_save(struct virtio_core *c, struct snap_out *out);
/*
 * Replace the state with what virtio_core_save wrote; in must hold exactly
 * that. Hostile input: 0, or -EINVAL (logged once) with core and device
 * reset, never half-loaded. A loaded state with DRIVER_OK calls the
 * device's driver_ok with the negotiated features, as the driver's write did,
 * and kicks every ready queue whose avail ring holds work not yet taken.
 */
int virtio_core_load(struct virtio_core *c, struct snap_in *in);
/* The core's counters: requests, notifies, interrupts, resets, errors. Any thread. */
unsigned virtio_core_stats(struct virtio_core *c, struct dev_stat *out, unsigned max);
/* The device's own counters (its stats op). Any thread. */
unsigned virtio_core_dev_stats(struct virtio_core *c, struct dev_stat *out, unsigned max);

#endif
