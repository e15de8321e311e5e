/*
 * core.c: virtio device core, transport-independent (see core.h for the
 * contract, the locking and the save format).
 *
 * Owns: status, features, queue layouts and their struct virtq, interrupt
 * status, counters, reset and save/load. Does not own any register offset
 * or width (mmio.c, later pci.c) or what a queue carries (the devices).
 * Threads: see core.h; every function here that does not take the mutex
 * says "lock held" and is called by a transport that took it.
 */
#include "core.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "../log.h"

#define VIRTIO_CORE_SAVE_VERSION 1

/* What a driver may write into the status field (§2.1); DEVICE_NEEDS_RESET is the device's. */
#define VIRTIO_STATUS_DRIVER_BITS                                                  \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK | \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)
#define VIRTIO_STATUS_ALL (VIRTIO_STATUS_DRIVER_BITS | VIRTIO_STATUS_DEVICE_NEEDS_RESET)
/* Driver bits a status write cannot take back (§2.1.1); only a reset clears them. */
#define VIRTIO_STATUS_STICKY (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)

/* The core's own features (§6): every queue supports these whatever the device. */
#define VIRTIO_CORE_FEATURES                                                  \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_EVENT_IDX) |        \
	 (1ULL << VIRTIO_F_INDIRECT_DESC))

/* Saved queue flags (core.h). */
#define VIRTIO_CORE_Q_READY     1
#define VIRTIO_CORE_Q_BROKEN    2
#define VIRTIO_CORE_Q_SIGNALLED 4
#define VIRTIO_CORE_Q_FLAGS     7

int virtio_core_init(struct virtio_core *c)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->irq.fd = -1; /* and no line: firing does nothing until the transport sets one */
	c->name = "virtio";
	ret = pthread_mutex_init(&c->lock, NULL);
	if (ret)
		return -ret;
	c->lock_inited = 1;
	return 0;
}

void virtio_core_attach(struct virtio_core *c, const char *name, const struct virtio_dev_ops *ops,
			void *dev, const struct gmem *mem)
{
	VMON_BUG_ON(!virtio_dev_ops_complete(ops)); /* our static tables, not input */
	VMON_BUG_ON(!c->lock_inited || c->ops);
	virtio_core_lock(c);
	c->name = name;
	c->ops = ops;
	c->dev = dev;
	c->mem = mem;
	virtio_core_unlock(c);
}

void virtio_core_destroy(struct virtio_core *c)
{
	if (c->ops)
		c->ops->destroy(c->dev);
	c->ops = NULL;
	c->dev = NULL;
	if (c->lock_inited)
		pthread_mutex_destroy(&c->lock);
	c->lock_inited = 0;
}

/*
 * Raise the interrupt with these status bits, for queue qi or for a
 * configuration change (VIRTIO_CORE_IRQ_CONFIG): through the transport's
 * vector hook when it set one (virtio-pci MSI-X, §4.1.5.1.2), else the
 * single edge. Lock held.
 */
static void virtio_core_interrupt(struct virtio_core *c, uint32_t bits, int qi)
{
	int ret;

	c->isr |= bits;
	virtio_stat_add(&c->interrupts, 1);
	ret = c->irq_vector ? c->irq_vector(c->irq_ctx, qi) : irq_edge_fire(&c->irq);
	/* Guest-triggered warnings share the device's counter (log_limited, log.h). */
	if (ret)
		log_limited(&c->logged, LOG_WARN, "%s: cannot raise its interrupt: %s", c->name,
			    strerror(-ret));
}

/*
 * The driver broke a ring or a layout: virtio 1.2 §2.1.2, say so in the
 * status and, once the driver is running, with a configuration-change
 * notification. Lock held.
 */
static void virtio_core_needs_reset(struct virtio_core *c)
{
	virtio_stat_add(&c->errors, 1);
	if (c->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	c->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (c->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_core_interrupt(c, VIRTIO_ISR_CONFIG, VIRTIO_CORE_IRQ_CONFIG);
}

/* Lock held. */
static void virtio_core_reset_locked(struct virtio_core *c)
{
	if (c->ops)
		c->ops->reset(c->dev);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		virtq_reset(&c->vq[i]);
		memset(&c->q[i], 0, sizeof(c->q[i]));
	}
	c->status = 0;
	c->isr = 0;
	c->drv_features = 0;
	c->dev_features_sel = c->drv_features_sel = c->queue_sel = 0;
	virtio_stat_add(&c->resets, 1);
}

void virtio_core_reset(struct virtio_core *c)
{
	virtio_core_lock(c);
	virtio_core_reset_locked(c);
	virtio_core_unlock(c);
}

uint64_t virtio_core_offered(const struct virtio_core *c)
{
	return c->ops->features(c->dev) | VIRTIO_CORE_FEATURES;
}

/* 32-bit window sel of a 64-bit feature word (§4.2.2 DeviceFeaturesSel): 0 beyond bit 63. */
static uint32_t virtio_core_window(uint64_t f, uint32_t sel)
{
	return sel == 0 ? (uint32_t)f : sel == 1 ? (uint32_t)(f >> 32) : 0;
}

uint32_t virtio_core_device_features(const struct virtio_core *c)
{
	return virtio_core_window(virtio_core_offered(c), c->dev_features_sel);
}

uint32_t virtio_core_driver_features(const struct virtio_core *c)
{
	return virtio_core_window(c->drv_features, c->drv_features_sel);
}

void virtio_core_set_driver_features(struct virtio_core *c, uint32_t v)
{
	if (c->status & VIRTIO_STATUS_FEATURES_OK)
		return; /* frozen once FEATURES_OK is set (§2.2.2) */
	if (c->drv_features_sel == 0)
		c->drv_features = (c->drv_features & ~0xffffffffULL) | v;
	else if (c->drv_features_sel == 1)
		c->drv_features = (c->drv_features & 0xffffffffULL) | ((uint64_t)v << 32);
}

/*
 * Could FEATURES_OK stand with features f? §2.2.2: only a subset of what
 * was offered; §6.1: a device that offers VERSION_1 refuses a driver that
 * does not accept it (we have no legacy interface).
 */
static bool virtio_core_features_ok(const struct virtio_core *c, uint64_t f)
{
	return !(f & ~virtio_core_offered(c)) && (f & (1ULL << VIRTIO_F_VERSION_1));
}

void virtio_core_set_status(struct virtio_core *c, uint32_t v)
{
	uint32_t old = c->status;

	if (v == 0) {
		virtio_core_reset_locked(c);
		return;
	}
	/*
	 * §2.1.1: the driver MUST NOT clear a status bit; only a reset does.
	 * FEATURES_OK and DRIVER_OK stay once set, so the features cannot be
	 * reopened under a running device.
	 */
	v = (v & VIRTIO_STATUS_DRIVER_BITS) | (old & VIRTIO_STATUS_STICKY);
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !virtio_core_features_ok(c, c->drv_features)) {
		log_limited(&c->logged, LOG_WARN,
			    "%s: driver accepted features 0x%" PRIx64 " outside 0x%" PRIx64
			    " or without VERSION_1: FEATURES_OK refused",
			    c->name, c->drv_features, virtio_core_offered(c));
		v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK)) {
		/*
		 * §3.1.1: DRIVER_OK comes after FEATURES_OK stood. Without it
		 * nothing was negotiated, so the device does not start: the
		 * bit is ignored (queues stay idle, driver_ok is not called).
		 */
		log_limited(&c->logged, LOG_WARN,
			    "%s: DRIVER_OK without FEATURES_OK (features 0x%" PRIx64
			    " never negotiated): ignored", c->name, c->drv_features);
		v &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
	}
	/* A device that needs a reset does no work until it gets one (§2.1.2). */
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    !(old & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		c->ops->driver_ok(c->dev, c->drv_features & virtio_core_offered(c));
	/* Keep DEVICE_NEEDS_RESET: only a reset clears it (§2.1.2). */
	c->status = v | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

struct virtio_core_queue *virtio_core_selected(struct virtio_core *c)
{
	return c->ops && c->queue_sel < c->ops->nr_queues ? &c->q[c->queue_sel] : NULL;
}

uint32_t virtio_core_queue_num_max(struct virtio_core *c)
{
	return virtio_core_selected(c) ? c->ops->queue_size_max : 0;
}

uint32_t virtio_core_queue_ready(struct virtio_core *c)
{
	return virtio_core_selected(c) ? c->vq[c->queue_sel].ready : 0;
}

/* The selected queue if its layout may be written (it exists and is not ready). */
static struct virtio_core_queue *virtio_core_layout_writable(struct virtio_core *c)
{
	struct virtio_core_queue *q = virtio_core_selected(c);

	return q && !c->vq[c->queue_sel].ready ? q : NULL;
}

/* A queue size the device can take: 0 or a power of two up to its maximum (§2.7). */
static bool virtio_core_num_ok(const struct virtio_core *c, uint32_t v)
{
	return v <= c->ops->queue_size_max && !(v & (v - 1));
}

void virtio_core_set_queue_num(struct virtio_core *c, uint32_t v)
{
	struct virtio_core_queue *q = virtio_core_layout_writable(c);

	if (q)
		q->num = virtio_core_num_ok(c, v) ? (uint16_t)v : 0;
}

void virtio_core_set_queue_addr(struct virtio_core *c, enum virtio_ring which, int high,
				uint32_t v)
{
	struct virtio_core_queue *q = virtio_core_layout_writable(c);
	uint64_t *addr;

	if (!q)
		return;
	addr = which == VIRTIO_RING_DESC ? &q->desc : which == VIRTIO_RING_DRIVER ? &q->avail
										   : &q->used;
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

/* virtq_setup with the negotiated ring features. */
static int virtio_core_setup(const struct virtio_core *c, struct virtq *vq,
			     const struct virtio_core_queue *q, uint64_t drv_features)
{
	return virtq_setup(vq, c->mem, q->num, q->desc, q->avail, q->used,
			   drv_features & (1ULL << VIRTIO_F_EVENT_IDX),
			   drv_features & (1ULL << VIRTIO_F_INDIRECT_DESC));
}

void virtio_core_set_queue_ready(struct virtio_core *c, uint32_t v)
{
	struct virtio_core_queue *q = virtio_core_selected(c);
	unsigned qi = c->queue_sel;

	if (!q)
		return;
	if (!v) {
		virtq_reset(&c->vq[qi]);
		return;
	}
	if (!(c->status & VIRTIO_STATUS_FEATURES_OK)) {
		/*
		 * §3.1.1 step 7 comes after FEATURES_OK: before it the ring
		 * features (EVENT_IDX, INDIRECT_DESC) are not yet fixed, so a
		 * queue made ready now could run with features never agreed.
		 */
		log_limited(&c->logged, LOG_WARN,
			    "%s: queue %u made ready before FEATURES_OK: device needs reset",
			    c->name, qi);
		virtio_core_needs_reset(c);
		return;
	}
	if (virtio_core_setup(c, &c->vq[qi], q, c->drv_features)) {
		log_limited(&c->logged, LOG_WARN,
			    "%s: queue %u layout rejected (num %u desc 0x%" PRIx64
			    " avail 0x%" PRIx64 " used 0x%" PRIx64 "): device needs reset",
			    c->name, qi, q->num, q->desc, q->avail, q->used);
		virtio_core_needs_reset(c);
	}
}

void virtio_core_ack(struct virtio_core *c, uint32_t bits)
{
	c->isr &= ~bits;
}

int virtio_core_config_read(struct virtio_core *c, uint64_t off, void *data, unsigned len)
{
	return c->ops->config_read(c->dev, off, data, len);
}

int virtio_core_config_write(struct virtio_core *c, uint64_t off, const void *data, unsigned len)
{
	return c->ops->config_write(c->dev, off, data, len);
}

/* Lock held. */
static void virtio_core_process_locked(struct virtio_core *c, unsigned qi)
{
	struct virtq *q;
	int n;

	if (!c->ops || qi >= c->ops->nr_queues)
		return;
	q = &c->vq[qi];
	/* §2.1.2 / §3.1.1: no buffers are used before DRIVER_OK, none after a reset is due. */
	if (!(c->status & VIRTIO_STATUS_DRIVER_OK) || !q->ready ||
	    (c->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return;
	q->more = false;
	n = c->ops->queue_notify(c->dev, q, qi);
	if (q->more && n >= 0 && c->kick)
		c->kick(c->kick_ctx, qi); /* budget spent: another pass, after the loop looks for stop */
	if (n < 0) {
		virtio_core_needs_reset(c); /* virtq.c logged the chain, rate-limited */
		return;
	}
	virtio_stat_add(&c->requests, (uint64_t)n);
	if (n > 0 && virtq_needs_notify(q))
		virtio_core_interrupt(c, VIRTIO_ISR_QUEUE, (int)qi);
}

/*
 * The I/O thread's way in: a mutex is not fair, and a thread that unlocks
 * and locks again pass after pass would keep a vCPU blocked in a register
 * access (and so out of pause and stop) for as long as the guest keeps the
 * queue full. So wait, up to VIRTIO_CORE_YIELD_NS, while anyone waits for
 * the lock. No syscall: the clock is the vDSO's.
 */
#define VIRTIO_CORE_YIELD_NS 2000000
static void virtio_core_lock_io(struct virtio_core *c)
{
	struct timespec t0, t;

	if (__atomic_load_n(&c->waiters, __ATOMIC_RELAXED)) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while (__atomic_load_n(&c->waiters, __ATOMIC_RELAXED) &&
		       (t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec) <
			       VIRTIO_CORE_YIELD_NS);
	}
	virtio_core_lock(c);
}

void virtio_core_process(struct virtio_core *c, unsigned qi)
{
	virtio_core_lock_io(c);
	virtio_core_process_locked(c, qi);
	virtio_core_unlock(c);
}

void virtio_core_notify(struct virtio_core *c, unsigned qi)
{
	virtio_core_lock_io(c);
	if (c->ops && qi < c->ops->nr_queues) {
		virtio_stat_add(&c->notifies, 1);
		/*
		 * A running driver notified a queue it never made ready: it
		 * lost track of the device (§2.1.2). Before DRIVER_OK the
		 * doorbell is ignored instead: a notification still in flight
		 * from before a reset lands there.
		 */
		if ((c->status & VIRTIO_STATUS_DRIVER_OK) && !c->vq[qi].ready &&
		    !(c->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
			log_limited(&c->logged, LOG_WARN,
				    "%s: queue %u notified but not ready: device needs reset",
				    c->name, qi);
			virtio_core_needs_reset(c);
		}
	}
	virtio_core_process_locked(c, qi);
	virtio_core_unlock(c);
}

unsigned virtio_core_stats(struct virtio_core *c, struct dev_stat *out, unsigned max)
{
	unsigned n = 0;

	n = virtio_stat_put(out, n, max, "requests", virtio_stat_get(&c->requests));
	n = virtio_stat_put(out, n, max, "notifies", virtio_stat_get(&c->notifies));
	n = virtio_stat_put(out, n, max, "interrupts", virtio_stat_get(&c->interrupts));
	n = virtio_stat_put(out, n, max, "resets", virtio_stat_get(&c->resets));
	n = virtio_stat_put(out, n, max, "ring_errors", virtio_stat_get(&c->errors));
	return n;
}

unsigned virtio_core_dev_stats(struct virtio_core *c, struct dev_stat *out, unsigned max)
{
	return c->ops ? c->ops->stats(c->dev, out, max) : 0;
}

/* ---- save / load ---------------------------------------------------------------- */

int virtio_core_save(struct virtio_core *c, struct snap_out *out)
{
	struct snap_out dev;
	int ret;

	virtio_core_lock(c);
	if (!c->ops) {
		virtio_core_unlock(c);
		return -EINVAL; /* never on a device list */
	}
	snap_put_u8(out, VIRTIO_CORE_SAVE_VERSION);
	snap_put_u32(out, c->ops->device_id);
	snap_put_u8(out, (uint8_t)c->ops->nr_queues);
	snap_put_u32(out, c->status);
	snap_put_u64(out, c->drv_features);
	snap_put_u32(out, c->dev_features_sel);
	snap_put_u32(out, c->drv_features_sel);
	snap_put_u32(out, c->queue_sel);
	snap_put_u32(out, c->isr);
	for (unsigned i = 0; i < c->ops->nr_queues; i++) {
		const struct virtq *vq = &c->vq[i];
		uint8_t flags = 0;

		snap_put_u16(out, c->q[i].num);
		snap_put_u64(out, c->q[i].desc);
		snap_put_u64(out, c->q[i].avail);
		snap_put_u64(out, c->q[i].used);
		if (vq->ready)
			flags = VIRTIO_CORE_Q_READY | (vq->broken ? VIRTIO_CORE_Q_BROKEN : 0) |
				(vq->signalled_valid ? VIRTIO_CORE_Q_SIGNALLED : 0);
		snap_put_u8(out, flags);
		snap_put_u16(out, vq->ready ? vq->last_avail_idx : 0);
		snap_put_u16(out, vq->ready ? vq->used_idx : 0);
		snap_put_u16(out, vq->ready ? vq->signalled_used : 0);
	}
	snap_out_init(&dev);
	ret = c->ops->save(c->dev, &dev);
	if (!ret)
		ret = snap_out_error(&dev);
	if (!ret && dev.len > UINT32_MAX)
		ret = -E2BIG;
	if (!ret) {
		snap_put_u32(out, (uint32_t)dev.len);
		snap_put_bytes(out, dev.buf, dev.len);
	}
	snap_out_free(&dev);
	virtio_core_unlock(c);
	return ret ? ret : snap_out_error(out);
}

/* What a load parsed and checked, applied only once everything passed. */
struct virtio_core_image {
	uint32_t status, dev_features_sel, drv_features_sel, queue_sel, isr;
	uint64_t drv_features;
	struct virtio_core_queue q[VIRTIO_MAX_QUEUES];
	uint8_t flags[VIRTIO_MAX_QUEUES];
	uint16_t last_avail_idx[VIRTIO_MAX_QUEUES], used_idx[VIRTIO_MAX_QUEUES];
	uint16_t signalled_used[VIRTIO_MAX_QUEUES];
};

/* Refuse a load: one log line naming the field, the input marked bad. */
static int virtio_core_refuse(const struct virtio_core *c, struct snap_in *in, const char *what,
			      uint64_t value)
{
	log_err("%s: saved state refused: %s (0x%" PRIx64 ")", c->name, what, value);
	return snap_in_fail(in);
}

static int virtio_core_truncated(const struct virtio_core *c, struct snap_in *in, const char *where)
{
	log_err("%s: saved state refused: truncated in %s", c->name, where);
	return snap_in_fail(in);
}

/* Read and check queue i into img. Lock held. */
static int virtio_core_load_queue(struct virtio_core *c, struct snap_in *in,
				  struct virtio_core_image *img, unsigned i)
{
	struct virtio_core_queue *q = &img->q[i];
	struct virtq probe = { 0 };
	uint16_t apart;

	q->num = snap_get_u16(in);
	q->desc = snap_get_u64(in);
	q->avail = snap_get_u64(in);
	q->used = snap_get_u64(in);
	img->flags[i] = snap_get_u8(in);
	img->last_avail_idx[i] = snap_get_u16(in);
	img->used_idx[i] = snap_get_u16(in);
	img->signalled_used[i] = snap_get_u16(in);
	if (snap_in_error(in))
		return virtio_core_truncated(c, in, "a queue");
	if (!virtio_core_num_ok(c, q->num))
		return virtio_core_refuse(c, in, "queue size not 0 or a power of two up to the maximum",
					  q->num);
	if (img->flags[i] & ~VIRTIO_CORE_Q_FLAGS)
		return virtio_core_refuse(c, in, "unknown queue flags", img->flags[i]);
	if (!(img->flags[i] & VIRTIO_CORE_Q_READY)) {
		if (img->flags[i] || img->last_avail_idx[i] || img->used_idx[i] ||
		    img->signalled_used[i])
			return virtio_core_refuse(c, in, "cursors on a queue that is not ready", i);
		return 0;
	}
	/* QueueReady before FEATURES_OK never makes a queue ready (set_queue_ready): nor may a load. */
	if (!(img->status & VIRTIO_STATUS_FEATURES_OK))
		return virtio_core_refuse(c, in, "ready queue without FEATURES_OK", i);
	/* The layout must pass what QueueReady checks, against this VM's RAM. */
	if (virtio_core_setup(c, &probe, q, img->drv_features))
		return virtio_core_refuse(c, in, "ready queue with a layout virtq_setup refuses", i);
	/* Our devices push every chain they pop before returning: at most num apart. */
	apart = (uint16_t)(img->last_avail_idx[i] - img->used_idx[i]);
	if (apart > q->num)
		return virtio_core_refuse(c, in, "queue cursors further apart than its size", apart);
	return 0;
}

/* Parse and check everything up to the device's section. Lock held. */
static int virtio_core_load_image(struct virtio_core *c, struct snap_in *in,
				  struct virtio_core_image *img)
{
	uint8_t version, nr_queues;
	uint32_t device_id;
	int ret;

	version = snap_get_u8(in);
	device_id = snap_get_u32(in);
	nr_queues = snap_get_u8(in);
	if (snap_in_error(in))
		return virtio_core_truncated(c, in, "the header");
	if (version != VIRTIO_CORE_SAVE_VERSION)
		return virtio_core_refuse(c, in, "unknown version", version);
	if (device_id != c->ops->device_id)
		return virtio_core_refuse(c, in, "state of another device type", device_id);
	if (nr_queues != c->ops->nr_queues)
		return virtio_core_refuse(c, in, "queue count differs", nr_queues);

	img->status = snap_get_u32(in);
	img->drv_features = snap_get_u64(in);
	img->dev_features_sel = snap_get_u32(in);
	img->drv_features_sel = snap_get_u32(in);
	img->queue_sel = snap_get_u32(in);
	img->isr = snap_get_u32(in);
	if (snap_in_error(in))
		return virtio_core_truncated(c, in, "the registers");
	if (img->status & ~(uint32_t)VIRTIO_STATUS_ALL)
		return virtio_core_refuse(c, in, "status bits virtio 1.2 §2.1 does not define",
					  img->status);
	if ((img->status & VIRTIO_STATUS_FEATURES_OK) && !virtio_core_features_ok(c, img->drv_features))
		return virtio_core_refuse(c, in, "FEATURES_OK with features never offered",
					  img->drv_features);
	if ((img->status & VIRTIO_STATUS_DRIVER_OK) && !(img->status & VIRTIO_STATUS_FEATURES_OK))
		return virtio_core_refuse(c, in, "DRIVER_OK without FEATURES_OK", img->status);
	if (img->isr & ~(uint32_t)(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG))
		return virtio_core_refuse(c, in, "unknown interrupt status bits", img->isr);
	for (unsigned i = 0; i < nr_queues; i++) {
		ret = virtio_core_load_queue(c, in, img, i);
		if (ret)
			return ret;
	}
	return 0;
}

/* Make img the state. Everything was checked; a setup failing now is our bug. Lock held. */
static void virtio_core_apply(struct virtio_core *c, const struct virtio_core_image *img)
{
	c->status = img->status;
	c->drv_features = img->drv_features;
	c->dev_features_sel = img->dev_features_sel;
	c->drv_features_sel = img->drv_features_sel;
	c->queue_sel = img->queue_sel;
	c->isr = img->isr;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct virtq *vq = &c->vq[i];

		if (i >= c->ops->nr_queues) {
			virtq_reset(vq);
			memset(&c->q[i], 0, sizeof(c->q[i]));
			continue;
		}
		c->q[i] = img->q[i];
		if (!(img->flags[i] & VIRTIO_CORE_Q_READY)) {
			virtq_reset(vq);
			continue;
		}
		VMON_BUG_ON(virtio_core_setup(c, vq, &c->q[i], c->drv_features));
		vq->last_avail_idx = img->last_avail_idx[i];
		vq->used_idx = img->used_idx[i];
		vq->signalled_used = img->signalled_used[i];
		vq->signalled_valid = img->flags[i] & VIRTIO_CORE_Q_SIGNALLED;
		vq->broken = img->flags[i] & VIRTIO_CORE_Q_BROKEN;
	}
}

/*
 * After a load: a driver that made requests and notified before the save
 * will not notify again, so kick each ready queue whose avail index is ahead
 * of the device's cursor (read from guest memory; a wrong value from a
 * hostile guest costs only a spurious pass). Lock held.
 */
static void virtio_core_kick_pending(struct virtio_core *c)
{
	for (unsigned i = 0; c->kick && i < c->ops->nr_queues; i++) {
		struct virtq *q = &c->vq[i];
		uint8_t idx[2];

		if (!q->ready || gmem_read(c->mem, q->avail + 2, idx, sizeof(idx)) < 0)
			continue;
		if ((uint16_t)(idx[0] | idx[1] << 8) != q->last_avail_idx)
			c->kick(c->kick_ctx, i);
	}
}

int virtio_core_load(struct virtio_core *c, struct snap_in *in)
{
	struct virtio_core_image img;
	struct snap_in sub;
	uint32_t len;
	int ret;

	virtio_core_lock(c);
	if (!c->ops) {
		virtio_core_unlock(c);
		return snap_in_fail(in);
	}
	memset(&img, 0, sizeof(img));
	ret = virtio_core_load_image(c, in, &img);
	if (!ret) {
		len = snap_get_u32(in);
		snap_get_sub(in, len, &sub);
		if (snap_in_error(in))
			ret = virtio_core_truncated(c, in, "the device's section");
	}
	if (!ret) {
		ret = c->ops->load(c->dev, &sub);
		if (!ret && snap_in_left(&sub))
			ret = virtio_core_refuse(c, in, "bytes left in the device's section",
						 snap_in_left(&sub));
		else if (!ret)
			ret = snap_in_end(&sub);
	}
	if (!ret && snap_in_left(in))
		ret = virtio_core_refuse(c, in, "bytes after the device's section", snap_in_left(in));
	if (ret) {
		virtio_core_reset_locked(c); /* never half-loaded (dev.h) */
		virtio_core_unlock(c);
		return -EINVAL;
	}
	virtio_core_apply(c, &img);
	/* A running device learns its negotiated features again, as at DRIVER_OK. */
	if (c->status & VIRTIO_STATUS_DRIVER_OK) {
		c->ops->driver_ok(c->dev, c->drv_features & virtio_core_offered(c));
		virtio_core_kick_pending(c);
	}
	virtio_core_unlock(c);
	return 0;
}
