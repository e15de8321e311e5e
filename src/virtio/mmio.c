/*
 * mmio.c: virtio-mmio version 2 transport (see mmio.h). Register offsets
 * and semantics from virtio 1.2 §4.2.2 (MMIO Device Register Layout).
 */
#include "mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../log.h"

#define REG_MAGIC             0x000
#define REG_VERSION           0x004
#define REG_DEVICE_ID         0x008
#define REG_VENDOR_ID         0x00c
#define REG_DEVICE_FEATURES   0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES   0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL         0x030
#define REG_QUEUE_NUM_MAX     0x034
#define REG_QUEUE_NUM         0x038
#define REG_QUEUE_READY       0x044
#define REG_QUEUE_NOTIFY      0x050
#define REG_INTERRUPT_STATUS  0x060
#define REG_INTERRUPT_ACK     0x064
#define REG_STATUS            0x070
#define REG_QUEUE_DESC_LOW    0x080
#define REG_QUEUE_DESC_HIGH   0x084
#define REG_QUEUE_DRIVER_LOW  0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW  0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_CONFIG_GENERATION 0x0fc
#define REG_CONFIG            0x100

#define VIRTIO_MMIO_MAGIC   0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_MMIO_VENDOR  0x4e4f4d56 /* "VMON" */

#define ISR_USED_BUFFER   0x1
#define ISR_CONFIG_CHANGE 0x2

static uint64_t vmmio_offered(const struct virtio_mmio *t)
{
	return t->ops->features(t->dev) | (1ULL << VIRTIO_F_VERSION_1) |
	       (1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_INDIRECT_DESC);
}

/* Raise the interrupt with the given ISR bits. Lock held. */
static void vmmio_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	uint64_t one = 1;

	t->isr |= bits;
	t->interrupts++;
	if (write(t->irq_fd, &one, sizeof(one)) < 0)
		log_warn("%s: cannot inject interrupt: %s", t->ops->name, strerror(errno));
}

/* Driver broke a ring: virtio 1.2 §2.1.2, tell it through the status. Lock held. */
static void vmmio_needs_reset(struct virtio_mmio *t)
{
	t->errors++;
	if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		vmmio_interrupt(t, ISR_CONFIG_CHANGE);
}

static void vmmio_process(struct virtio_mmio *t, unsigned qi)
{
	struct virtq *q = &t->vq[qi];
	int n;

	if (!(t->status & VIRTIO_STATUS_DRIVER_OK) || !q->ready ||
	    (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return;
	n = t->ops->queue_notify(t->dev, q, qi);
	if (n < 0) {
		vmmio_needs_reset(t);
		return;
	}
	t->chains += (uint64_t)n;
	if (n > 0 && virtq_needs_notify(q))
		vmmio_interrupt(t, ISR_USED_BUFFER);
}

/* I/O thread: a queue's ioeventfd fired. */
static void vmmio_kick(void *ctx)
{
	struct virtio_mmio_queue *mq = ctx;
	struct virtio_mmio *t = mq->t;
	uint64_t cnt;

	if (read(mq->kick_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return; /* spurious wake: nothing pending */
	pthread_mutex_lock(&t->lock);
	t->notifies++;
	vmmio_process(t, mq->index);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_process(struct virtio_mmio *t, unsigned qi)
{
	pthread_mutex_lock(&t->lock);
	if (qi < t->ops->nr_queues)
		vmmio_process(t, qi);
	pthread_mutex_unlock(&t->lock);
}

static void vmmio_reset(struct virtio_mmio *t)
{
	t->ops->reset(t->dev);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		virtq_reset(&t->vq[i]);
		t->q[i].num = 0;
		t->q[i].desc = t->q[i].avail = t->q[i].used = 0;
	}
	t->status = 0;
	t->isr = 0;
	t->drv_features = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->resets++;
}

static struct virtio_mmio_queue *vmmio_sel(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->nr_queues ? &t->q[t->queue_sel] : NULL;
}

static uint32_t vmmio_read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_mmio_queue *q = vmmio_sel(t);
	uint64_t f;

	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return VIRTIO_MMIO_VERSION;
	case REG_DEVICE_ID:
		return t->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		f = vmmio_offered(t);
		return t->dev_features_sel == 0 ? (uint32_t)f
		       : t->dev_features_sel == 1 ? (uint32_t)(f >> 32) : 0;
	case REG_QUEUE_NUM_MAX:
		return q ? t->ops->queue_size_max : 0; /* 0: queue does not exist */
	case REG_QUEUE_READY:
		return q ? t->vq[t->queue_sel].ready : 0;
	case REG_INTERRUPT_STATUS:
		return t->isr;
	case REG_STATUS:
		return t->status;
	case REG_CONFIG_GENERATION:
		return 0; /* config never changes under the driver */
	default:
		return 0;
	}
}

static void vmmio_set_status(struct virtio_mmio *t, uint32_t v)
{
	if (v == 0) {
		vmmio_reset(t);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(t->status & VIRTIO_STATUS_FEATURES_OK)) {
		/* virtio 1.2 §2.2.2: refuse a subset we did not offer, or a legacy driver. */
		if ((t->drv_features & ~vmmio_offered(t)) ||
		    !(t->drv_features & (1ULL << VIRTIO_F_VERSION_1))) {
			log_warn("%s: driver accepted features 0x%" PRIx64 " outside 0x%" PRIx64
				 " or without VERSION_1", t->ops->name, t->drv_features, vmmio_offered(t));
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_DRIVER_OK) &&
	    t->ops->driver_ok)
		t->ops->driver_ok(t->dev, t->drv_features);
	/* Keep DEVICE_NEEDS_RESET: only a reset clears it. */
	t->status = v | (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void vmmio_queue_ready(struct virtio_mmio *t, struct virtio_mmio_queue *q, uint32_t v)
{
	struct virtq *vq = &t->vq[q->index];
	int ret;

	if (!v) {
		virtq_reset(vq);
		return;
	}
	ret = virtq_setup(vq, t->m, q->num, q->desc, q->avail, q->used,
			  t->drv_features & (1ULL << VIRTIO_F_EVENT_IDX),
			  t->drv_features & (1ULL << VIRTIO_F_INDIRECT_DESC));
	if (ret) {
		log_warn("%s: queue %u layout rejected (num %u desc 0x%" PRIx64 " avail 0x%" PRIx64
			 " used 0x%" PRIx64 ")", t->ops->name, q->index, q->num, q->desc, q->avail,
			 q->used);
		vmmio_needs_reset(t);
	}
}

static void vmmio_set_addr(uint64_t *addr, int high, uint32_t v)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void vmmio_write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtio_mmio_queue *q = vmmio_sel(t);
	/* Layout registers may change only while the queue is not ready (§4.2.2.2). */
	int q_writable = q && !t->vq[q->index].ready;
	uint64_t one = 1;

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		t->dev_features_sel = v;
		break;
	case REG_DRIVER_FEATURES:
		if (t->status & VIRTIO_STATUS_FEATURES_OK)
			break; /* frozen once FEATURES_OK is set */
		if (t->drv_features_sel == 0)
			t->drv_features = (t->drv_features & ~0xffffffffULL) | v;
		else if (t->drv_features_sel == 1)
			t->drv_features = (t->drv_features & 0xffffffffULL) | ((uint64_t)v << 32);
		break;
	case REG_DRIVER_FEATURES_SEL:
		t->drv_features_sel = v;
		break;
	case REG_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case REG_QUEUE_NUM:
		if (q_writable)
			q->num = v > t->ops->queue_size_max ? 0 : (uint16_t)v;
		break;
	case REG_QUEUE_READY:
		if (q)
			vmmio_queue_ready(t, q, v & 1);
		break;
	case REG_QUEUE_NOTIFY:
		/* Normally absorbed by the ioeventfd; if it reaches us, hand it over. */
		if (v < t->ops->nr_queues && write(t->q[v].kick_fd, &one, sizeof(one)) < 0)
			log_warn("%s: notify: %s", t->ops->name, strerror(errno));
		break;
	case REG_INTERRUPT_ACK:
		t->isr &= ~v;
		break;
	case REG_STATUS:
		vmmio_set_status(t, v);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		if (q_writable)
			vmmio_set_addr(&q->desc, off == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		if (q_writable)
			vmmio_set_addr(&q->avail, off == REG_QUEUE_DRIVER_HIGH, v);
		break;
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		if (q_writable)
			vmmio_set_addr(&q->used, off == REG_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		break; /* read-only or reserved: ignored */
	}
}

static int vmmio_bus_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct virtio_mmio *t = dev;
	uint32_t v;
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	if (off >= REG_CONFIG) {
		ret = t->ops->config_read(t->dev, off - REG_CONFIG, data, len);
	} else if (len == 4 && !(off & 3)) {
		v = vmmio_read_reg(t, off);
		memcpy(data, &v, 4);
	} else {
		memset(data, 0, len); /* §4.2.2.2: registers are 32-bit only */
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static int vmmio_bus_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct virtio_mmio *t = dev;
	uint32_t v;
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	if (off >= REG_CONFIG) {
		ret = t->ops->config_write(t->dev, off - REG_CONFIG, data, len);
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		vmmio_write_reg(t, off, v);
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

const struct bus_dev_ops virtio_mmio_bus_ops = {
	.kind = "virtio-mmio",
	.read = vmmio_bus_read,
	.write = vmmio_bus_write,
};

static int vmmio_kvm_fds(struct virtio_mmio *t, struct ioloop *loop)
{
	struct kvm_irqfd irqfd = { 0 };

	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return -errno;
	irqfd.fd = (uint32_t)t->irq_fd;
	irqfd.gsi = t->gsi;
	if (ioctl(t->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		log_err("%s: KVM_IRQFD on GSI %u: %s", t->ops->name, t->gsi, strerror(errno));
		return -errno;
	}
	for (unsigned i = 0; i < t->ops->nr_queues; i++) {
		struct virtio_mmio_queue *q = &t->q[i];
		struct kvm_ioeventfd ioev = {
			.datamatch = i,
			.addr = t->base + REG_QUEUE_NOTIFY,
			.len = 4,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		int ret;

		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0)
			return -errno;
		ioev.fd = q->kick_fd;
		if (ioctl(t->vm_fd, KVM_IOEVENTFD, &ioev) < 0) {
			log_err("%s: KVM_IOEVENTFD at 0x%" PRIx64 ": %s", t->ops->name,
				(uint64_t)ioev.addr, strerror(errno));
			return -errno;
		}
		q->kick = (struct ioloop_handler){ .fd = q->kick_fd, .fn = vmmio_kick, .ctx = q };
		ret = ioloop_add(loop, &q->kick);
		if (ret)
			return ret;
	}
	return 0;
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_env *env, uint64_t base,
		     unsigned gsi, const struct virtio_dev_ops *ops, void *dev)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->irq_fd = -1;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		t->q[i].kick_fd = -1;
		t->q[i].t = t;
		t->q[i].index = i;
	}
	if (ops->nr_queues == 0 || ops->nr_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	ret = pthread_mutex_init(&t->lock, NULL);
	if (ret)
		return -ret;
	t->ops = ops;
	t->dev = dev;
	t->m = env->m;
	t->vm_fd = env->vm_fd;
	t->base = base;
	t->gsi = gsi;
	ret = vmmio_kvm_fds(t, env->loop);
	if (ret)
		virtio_mmio_destroy(t);
	return ret;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t->ops)
		return;
	/* Closing the eventfds drops KVM's ioeventfd/irqfd with the VM. */
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (t->q[i].kick_fd >= 0)
			close(t->q[i].kick_fd);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	pthread_mutex_destroy(&t->lock);
	t->ops = NULL;
}

int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t len)
{
	size_t used = strlen(buf);
	int n = snprintf(buf + used, len - used, " virtio_mmio.device=4K@0x%" PRIx64 ":%u",
			 t->base, t->gsi);

	return n < 0 || (size_t)n >= len - used ? -E2BIG : 0;
}
