/*
 * mmio.c: virtio-mmio version 2 transport (see mmio.h). Register offsets
 * and semantics from virtio 1.2 §4.2.2 (MMIO Device Register Layout).
 *
 * Owns: decoding accesses (offset, the 32-bit rule of §4.2.2.2), the
 * doorbells and the edge. Does not own what a register means for the
 * device (core.c: status, features, queues, interrupt status) or any
 * guest memory access (virtq.c, the devices).
 * Threads: register handlers on vCPU threads and doorbell handlers on the
 * I/O thread, each under the core's mutex; create/destroy on the thread
 * building or tearing down the VM.
 */
#include "mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../log.h"

#define REG_MAGIC               0x000
#define REG_VERSION             0x004
#define REG_DEVICE_ID           0x008
#define REG_VENDOR_ID           0x00c
#define REG_DEVICE_FEATURES     0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES     0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL           0x030
#define REG_QUEUE_NUM_MAX       0x034
#define REG_QUEUE_NUM           0x038
#define REG_QUEUE_READY         0x044
#define REG_QUEUE_NOTIFY        VIRTIO_MMIO_QUEUE_NOTIFY
#define REG_INTERRUPT_STATUS    0x060
#define REG_INTERRUPT_ACK       0x064
#define REG_STATUS              0x070
#define REG_QUEUE_DESC_LOW      0x080
#define REG_QUEUE_DESC_HIGH     0x084
#define REG_QUEUE_DRIVER_LOW    0x090
#define REG_QUEUE_DRIVER_HIGH   0x094
#define REG_QUEUE_DEVICE_LOW    0x0a0
#define REG_QUEUE_DEVICE_HIGH   0x0a4
#define REG_CONFIG_GENERATION   0x0fc
#define REG_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC   0x74726976 /* "virt", §4.2.2 MagicValue */
#define VIRTIO_MMIO_VERSION 2          /* §4.2.2 Version: non-legacy */
#define VIRTIO_MMIO_VENDOR  0x4e4f4d56 /* "VMON" */
#define VIRTIO_MMIO_NOTIFY_LEN 4       /* QueueNotify is a 32-bit register */

static uint32_t vmmio_read_reg(struct virtio_core *c, uint64_t off)
{
	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID:
		return c->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		return virtio_core_device_features(c);
	case REG_QUEUE_NUM_MAX:
		return virtio_core_queue_num_max(c); /* 0: the queue does not exist */
	case REG_QUEUE_READY:
		return virtio_core_queue_ready(c);
	case REG_INTERRUPT_STATUS:
		return c->isr;
	case REG_STATUS:
		return c->status;
	case REG_CONFIG_GENERATION:
		return 0; /* config never changes under the driver */
	default:
		return 0; /* write-only or reserved */
	}
}

/*
 * A QueueNotify write reached us: the accelerator did not absorb it (no
 * ioeventfd, or a write it does not match). Hand it to the queue's
 * doorbell eventfd, so the I/O loop processes the queue as it would have.
 */
static void vmmio_ring(struct virtio_mmio *t, uint32_t qi)
{
	uint64_t one = 1;

	if (qi >= t->core.ops->nr_queues || t->db[qi].fd < 0)
		return; /* no such queue: ignored */
	if (write(t->db[qi].fd, &one, sizeof(one)) != sizeof(one) &&
	    virtio_log_ratelimit(&t->core.logged))
		log_warn("%s: queue %u doorbell: %s", t->core.name, qi, strerror(errno));
}

/* The core's kick (core.h): work is left on queue qi, ring its doorbell again. */
static void vmmio_kick(void *ctx, unsigned qi)
{
	vmmio_ring(ctx, qi);
}

static void vmmio_write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtio_core *c = &t->core;

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		c->dev_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		virtio_core_set_driver_features(c, v);
		break;
	case REG_DRIVER_FEATURES_SEL:
		c->drv_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		c->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		virtio_core_set_queue_num(c, v);
		break;
	case REG_QUEUE_READY:
		virtio_core_set_queue_ready(c, v & 1);
		break;
	case REG_QUEUE_NOTIFY:
		vmmio_ring(t, v);
		break;
	case REG_INTERRUPT_ACK:
		virtio_core_ack(c, v);
		break;
	case REG_STATUS:
		virtio_core_set_status(c, v);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		virtio_core_set_queue_addr(c, VIRTIO_RING_DESC, off == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		virtio_core_set_queue_addr(c, VIRTIO_RING_DRIVER, off == REG_QUEUE_DRIVER_HIGH, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		virtio_core_set_queue_addr(c, VIRTIO_RING_DEVICE, off == REG_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		break; /* read-only or reserved: ignored (§4.2.2.2) */
	}
}

static int vmmio_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct virtio_mmio *t = dev;
	uint32_t v;
	int ret = 0;

	virtio_core_lock(&t->core);
	if (off >= REG_CONFIG) {
		ret = virtio_core_config_read(&t->core, off - REG_CONFIG, data, len);
	} else if (len == 4 && !(off & 3)) {
		v = vmmio_read_reg(&t->core, off);
		memcpy(data, &v, 4);
	} else {
		memset(data, 0, len); /* §4.2.2.2: registers are 32-bit only */
	}
	virtio_core_unlock(&t->core);
	return ret;
}

static int vmmio_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct virtio_mmio *t = dev;
	uint32_t v;
	int ret = 0;

	virtio_core_lock(&t->core);
	if (off >= REG_CONFIG) {
		ret = virtio_core_config_write(&t->core, off - REG_CONFIG, data, len);
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		vmmio_write_reg(t, off, v);
	}
	virtio_core_unlock(&t->core);
	return ret;
}

static void vmmio_reset(void *dev)
{
	struct virtio_mmio *t = dev;

	virtio_core_reset(&t->core);
}

static int vmmio_save(void *dev, struct snap_out *out)
{
	struct virtio_mmio *t = dev;

	return virtio_core_save(&t->core, out);
}

static int vmmio_load(void *dev, struct snap_in *in)
{
	struct virtio_mmio *t = dev;

	return virtio_core_load(&t->core, in);
}

/* The core's counters, the line, then the device's own. Any thread. */
static unsigned vmmio_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct virtio_mmio *t = dev;
	unsigned n = virtio_core_stats(&t->core, out, max);

	n = virtio_stat_put(out, n, max, "irq", t->gsi);
	return n + virtio_core_dev_stats(&t->core, out + n, max - n);
}

static void vmmio_destroy(void *dev)
{
	virtio_mmio_destroy(dev);
}

const struct dev_ops virtio_mmio_dev_ops = {
	.kind = "virtio-mmio",
	.read = vmmio_read,
	.write = vmmio_write,
	.reset = vmmio_reset,
	.save = vmmio_save,
	.load = vmmio_load,
	.stats = vmmio_stats,
	.destroy = vmmio_destroy,
};

/* I/O thread: a queue's doorbell eventfd is readable. */
static void vmmio_doorbell(void *ctx)
{
	struct virtio_mmio_doorbell *db = ctx;
	uint64_t cnt;

	if (read(db->fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return; /* spurious wake: nothing pending */
	virtio_core_notify(&db->t->core, db->index);
}

static int vmmio_doorbell_open(struct virtio_mmio *t, unsigned qi)
{
	struct virtio_mmio_doorbell *db = &t->db[qi];
	int ret;

	ret = machine_doorbell_open(t->m, 0, t->base + REG_QUEUE_NOTIFY, VIRTIO_MMIO_NOTIFY_LEN, qi,
				    &db->fd, &db->absorbed);
	if (ret) {
		log_err("%s: no doorbell for queue %u at 0x%" PRIx64 ": %s", t->core.name, qi,
			t->base + REG_QUEUE_NOTIFY, strerror(-ret));
		db->fd = -1;
		return ret;
	}
	/* Watched in both cases: an unabsorbed write is signalled by vmmio_ring. */
	db->h = (struct ioloop_handler){ .fd = db->fd, .fn = vmmio_doorbell, .ctx = db };
	ret = ioloop_add(t->m->io, &db->h);
	if (ret)
		return ret; /* logged by the loop */
	db->watched = 1;
	return 0;
}

static void vmmio_doorbell_close(struct virtio_mmio *t, unsigned qi)
{
	struct virtio_mmio_doorbell *db = &t->db[qi];

	/* An I/O loop already destroyed (epfd -1) forgot the fd with its epoll set. */
	if (db->watched && t->m->io->epfd >= 0)
		ioloop_remove(t->m->io, &db->h);
	db->watched = 0;
	if (db->fd >= 0)
		machine_doorbell_close(t->m, 0, t->base + REG_QUEUE_NOTIFY, VIRTIO_MMIO_NOTIFY_LEN, qi,
				       db->fd, db->absorbed);
	db->fd = -1;
}

struct virtio_mmio *virtio_mmio_alloc(void)
{
	struct virtio_mmio *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		t->db[i].t = t;
		t->db[i].index = i;
		t->db[i].fd = -1;
	}
	if (virtio_core_init(&t->core)) {
		free(t);
		return NULL;
	}
	return t;
}

int virtio_mmio_init(struct virtio_mmio *t, const struct machine *m, const char *name,
		     uint64_t base, unsigned gsi, const struct virtio_dev_ops *ops, void *dev)
{
	int ret;

	virtio_core_attach(&t->core, name, ops, dev, m->mem);
	t->core.kick = vmmio_kick;
	t->core.kick_ctx = t;
	t->m = m;
	t->base = base;
	t->gsi = gsi;
	ret = machine_irq_edge_open(m, gsi, &t->core.irq);
	if (ret) {
		log_err("%s: cannot wire its interrupt to line %u: %s", name, gsi, strerror(-ret));
		return ret;
	}
	t->edge_open = 1;
	for (unsigned i = 0; i < ops->nr_queues; i++) {
		ret = vmmio_doorbell_open(t, i);
		if (ret)
			return ret;
	}
	return 0;
}

int virtio_mmio_create(const struct machine *m, const char *name, uint64_t base, unsigned gsi,
		       const struct virtio_dev_ops *ops, void *dev, struct virtio_mmio **out)
{
	struct virtio_mmio *t = virtio_mmio_alloc();
	int ret;

	if (!t) {
		log_err("%s: out of memory for its transport", name);
		ops->destroy(dev);
		return -ENOMEM;
	}
	ret = virtio_mmio_init(t, m, name, base, gsi, ops, dev);
	if (ret) {
		virtio_mmio_destroy(t);
		return ret;
	}
	*out = t;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t)
		return;
	if (t->m) {
		for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
			vmmio_doorbell_close(t, i);
	}
	virtio_core_destroy(&t->core); /* the device first: it may still hold its own fds */
	if (t->edge_open)
		machine_irq_edge_close(t->m, &t->core.irq);
	t->edge_open = 0;
	free(t);
}
