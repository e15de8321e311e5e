/*
 * test_mmio.c: unit tests for the virtio-mmio v2 register file
 * (src/virtio/mmio.c), driven through its bus ops as a guest driver would.
 *
 * The transport is assembled by hand around a mock device, without KVM:
 * its irqfd and the queues' ioeventfds are plain eventfds the tests read.
 * Covered: identification registers, the feature windows, FEATURES_OK
 * refused for features never offered or without VERSION_1, driver features
 * frozen after FEATURES_OK, DRIVER_OK calling the device once, queue sizes
 * and layouts (bounded, writable only while the queue is not ready, a bad
 * layout setting DEVICE_NEEDS_RESET), interrupts and their ack, a notify
 * that reaches user space, reset, and accesses that are not 32-bit.
 * Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gmem.h"
#include "test.h"
#include "virtio/mmio.h"
#include "virtio/virtio.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (64 * 1024)
#define QMAX     16

/* virtio-mmio register offsets (virtio 1.2 §4.2.2). */
enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, VENDOR_ID = 0x00c,
	DEV_FEATURES = 0x010, DEV_FEATURES_SEL = 0x014, DRV_FEATURES = 0x020,
	DRV_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038,
	QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, ISR = 0x060, ISR_ACK = 0x064, STATUS = 0x070,
	DESC_LO = 0x080, DESC_HI = 0x084, AVAIL_LO = 0x090, USED_LO = 0x0a0, CONFIG = 0x100,
};

struct mock {
	unsigned resets, driver_oks, notifies;
	uint64_t driver_ok_features;
	int notify_ret;
};

static uint64_t mock_features(void *dev)
{
	(void)dev;
	return 1ULL << 5; /* one device feature, in the low window */
}

static int mock_config_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	memset(data, (int)(0xc0 + off), len);
	return 0;
}

static int mock_config_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)dev, (void)off, (void)data, (void)len;
	return 0;
}

static int mock_notify(void *dev, struct virtq *q, unsigned qi)
{
	struct mock *d = dev;

	(void)q, (void)qi;
	d->notifies++;
	return d->notify_ret;
}

static void mock_reset(void *dev) { ((struct mock *)dev)->resets++; }

static void mock_driver_ok(void *dev, uint64_t features)
{
	struct mock *d = dev;

	d->driver_oks++;
	d->driver_ok_features = features;
}

static const struct virtio_dev_ops mock_ops = {
	.name = "virtio-mock",
	.device_id = 42,
	.nr_queues = 2,
	.queue_size_max = QMAX,
	.features = mock_features,
	.config_read = mock_config_read,
	.config_write = mock_config_write,
	.queue_notify = mock_notify,
	.reset = mock_reset,
	.driver_ok = mock_driver_ok,
};

struct fx {
	struct virtio_mmio t;
	struct mock dev;
	struct gmem m;
	uint8_t *ram;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || !(f->ram = calloc(1, RAM_SIZE)) || gmem_init_flat(&f->m, f->ram, RAM_BASE, RAM_SIZE))
		abort();
	/* What virtio_mmio_init does, with eventfds standing in for KVM's irqfd and ioeventfds. */
	if (pthread_mutex_init(&f->t.lock, NULL))
		abort();
	f->t.ops = &mock_ops;
	f->t.dev = &f->dev;
	f->t.m = &f->m;
	f->t.vm_fd = -1;
	f->t.irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		f->t.q[i].t = &f->t;
		f->t.q[i].index = i;
		f->t.q[i].kick_fd = i < mock_ops.nr_queues ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
	}
	return f;
}

static void fx_free(struct fx *f)
{
	virtio_mmio_destroy(&f->t); /* closes the eventfds */
	free(f->ram);
	free(f);
}

static uint32_t rd(struct fx *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_bus_ops.read(&f->t, off, &v, 4);
	return v;
}

static void wr(struct fx *f, uint64_t off, uint32_t v) { virtio_mmio_bus_ops.write(&f->t, off, &v, 4); }

/* Drain an eventfd: how many times it was written since the last drain. */
static uint64_t events(int fd)
{
	uint64_t n = 0;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

/* The driver's handshake up to FEATURES_OK with the given accepted features. */
static void negotiate(struct fx *f, uint64_t features)
{
	wr(f, STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(f, DRV_FEATURES_SEL, 0);
	wr(f, DRV_FEATURES, (uint32_t)features);
	wr(f, DRV_FEATURES_SEL, 1);
	wr(f, DRV_FEATURES, (uint32_t)(features >> 32));
	wr(f, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

/* Queue 0 with a valid layout inside guest RAM, then ready. */
static void queue0_ready(struct fx *f)
{
	wr(f, QUEUE_SEL, 0);
	wr(f, QUEUE_NUM, 8);
	wr(f, DESC_LO, RAM_BASE);
	wr(f, AVAIL_LO, RAM_BASE + 0x1000);
	wr(f, USED_LO, RAM_BASE + 0x2000);
	wr(f, QUEUE_READY, 1);
}

#define VERSION_1 (1ULL << VIRTIO_F_VERSION_1)

TEST(identification)
{
	struct fx *f = fx_new();

	CHECK_EQ(rd(f, MAGIC), 0x74726976);
	CHECK_EQ(rd(f, VERSION), 2);
	CHECK_EQ(rd(f, DEVICE_ID), 42);
	CHECK_EQ(rd(f, VENDOR_ID), 0x4e4f4d56);
	CHECK_EQ(rd(f, CONFIG + 3), 0xc3c3c3c3); /* config space goes to the device */
	fx_free(f);
}

TEST(feature_windows)
{
	struct fx *f = fx_new();

	wr(f, DEV_FEATURES_SEL, 0);
	CHECK_EQ(rd(f, DEV_FEATURES), (1u << 5) | (1u << VIRTIO_F_INDIRECT_DESC) | (1u << VIRTIO_F_EVENT_IDX));
	wr(f, DEV_FEATURES_SEL, 1);
	CHECK_EQ(rd(f, DEV_FEATURES), 1); /* VERSION_1 is bit 32 */
	wr(f, DEV_FEATURES_SEL, 2);
	CHECK_EQ(rd(f, DEV_FEATURES), 0);
	fx_free(f);
}

TEST(features_ok_refused)
{
	struct fx *f = fx_new();

	negotiate(f, 1ULL << 5); /* legacy: no VERSION_1 */
	CHECK_EQ(rd(f, STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	wr(f, STATUS, 0);
	negotiate(f, VERSION_1 | (1ULL << 7)); /* bit 7 was never offered */
	CHECK_EQ(rd(f, STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	wr(f, STATUS, 0);
	negotiate(f, VERSION_1 | (1ULL << 5));
	CHECK_EQ(rd(f, STATUS) & VIRTIO_STATUS_FEATURES_OK, VIRTIO_STATUS_FEATURES_OK);
	fx_free(f);
}

TEST(features_frozen_and_driver_ok_once)
{
	struct fx *f = fx_new();
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

	negotiate(f, VERSION_1 | (1ULL << 5));
	wr(f, DRV_FEATURES_SEL, 0);
	wr(f, DRV_FEATURES, 0); /* after FEATURES_OK: ignored */
	wr(f, STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	wr(f, STATUS, st | VIRTIO_STATUS_DRIVER_OK); /* again: no second call */
	CHECK_EQ(f->dev.driver_oks, 1);
	CHECK_EQ(f->dev.driver_ok_features, VERSION_1 | (1ULL << 5));
	fx_free(f);
}

TEST(queue_size_and_existence)
{
	struct fx *f = fx_new();

	wr(f, QUEUE_SEL, 1);
	CHECK_EQ(rd(f, QUEUE_NUM_MAX), QMAX);
	wr(f, QUEUE_SEL, 2); /* the mock has two queues */
	CHECK_EQ(rd(f, QUEUE_NUM_MAX), 0);
	CHECK_EQ(rd(f, QUEUE_READY), 0);
	wr(f, QUEUE_READY, 1); /* no such queue: ignored, no crash */
	CHECK_EQ(rd(f, QUEUE_READY), 0);
	wr(f, QUEUE_SEL, 0);
	wr(f, QUEUE_NUM, QMAX + 1); /* too big: becomes 0, and the queue cannot go ready */
	wr(f, DESC_LO, RAM_BASE);
	wr(f, AVAIL_LO, RAM_BASE + 0x1000);
	wr(f, USED_LO, RAM_BASE + 0x2000);
	wr(f, QUEUE_READY, 1);
	CHECK_EQ(rd(f, QUEUE_READY), 0);
	CHECK(rd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	fx_free(f);
}

TEST(queue_layout)
{
	struct fx *f = fx_new();

	negotiate(f, VERSION_1);
	queue0_ready(f);
	CHECK_EQ(rd(f, QUEUE_READY), 1);
	/* While ready the layout is frozen: a moved descriptor table is ignored. */
	wr(f, DESC_HI, 0x1);
	CHECK_EQ(f->t.q[0].desc, RAM_BASE);
	CHECK_EQ(rd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);

	/* A table outside guest RAM: the device asks for a reset, it does not touch it. */
	wr(f, QUEUE_SEL, 1);
	wr(f, QUEUE_NUM, 8);
	wr(f, DESC_LO, 0xfff00000);
	wr(f, DESC_HI, 0x7);
	wr(f, AVAIL_LO, RAM_BASE + 0x3000);
	wr(f, USED_LO, RAM_BASE + 0x4000);
	wr(f, QUEUE_READY, 1);
	CHECK_EQ(rd(f, QUEUE_READY), 0);
	CHECK(rd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(f->t.errors, 1);
	fx_free(f);
}

TEST(interrupt_and_ack)
{
	struct fx *f = fx_new();

	negotiate(f, VERSION_1);
	queue0_ready(f);
	wr(f, STATUS, rd(f, STATUS) | VIRTIO_STATUS_DRIVER_OK);
	f->dev.notify_ret = 1; /* one chain completed */
	virtio_mmio_process(&f->t, 0);
	CHECK_EQ(f->dev.notifies, 1);
	CHECK_EQ(events(f->t.irq_fd), 1);
	CHECK_EQ(rd(f, ISR), 1);
	wr(f, ISR_ACK, 1);
	CHECK_EQ(rd(f, ISR), 0);

	/* Nothing completed: no interrupt. */
	f->dev.notify_ret = 0;
	virtio_mmio_process(&f->t, 0);
	CHECK_EQ(events(f->t.irq_fd), 0);

	/* A broken ring: DEVICE_NEEDS_RESET and a config-change interrupt, then silence. */
	f->dev.notify_ret = -EINVAL;
	virtio_mmio_process(&f->t, 0);
	CHECK(rd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(rd(f, ISR), 2);
	CHECK_EQ(events(f->t.irq_fd), 1);
	virtio_mmio_process(&f->t, 0);
	CHECK_EQ(f->dev.notifies, 3); /* not asked again until reset */
	/* A driver writing its status without the bit does not clear it: only a reset does. */
	wr(f, STATUS, (rd(f, STATUS) & ~(uint32_t)VIRTIO_STATUS_DEVICE_NEEDS_RESET) | VIRTIO_STATUS_FAILED);
	CHECK(rd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	fx_free(f);
}

TEST(notify_in_user_space_and_reset)
{
	struct fx *f = fx_new();

	negotiate(f, VERSION_1);
	queue0_ready(f);
	wr(f, QUEUE_NOTIFY, 1); /* a notify KVM did not absorb goes to the queue's eventfd */
	CHECK_EQ(events(f->t.q[1].kick_fd), 1);
	CHECK_EQ(events(f->t.q[0].kick_fd), 0);
	wr(f, QUEUE_NOTIFY, 7); /* no such queue */
	CHECK_EQ(events(f->t.q[0].kick_fd) + events(f->t.q[1].kick_fd), 0);

	wr(f, STATUS, 0);
	CHECK_EQ(f->dev.resets, 1);
	CHECK_EQ(rd(f, STATUS), 0);
	wr(f, QUEUE_SEL, 0);
	CHECK_EQ(rd(f, QUEUE_READY), 0);
	CHECK_EQ(f->t.q[0].desc, 0);
	CHECK_EQ(f->t.drv_features, 0);
	fx_free(f);
}

TEST(narrow_access)
{
	struct fx *f = fx_new();
	uint16_t half = 0xffff;
	uint8_t byte = 0xff;

	virtio_mmio_bus_ops.read(&f->t, MAGIC, &half, 2);
	CHECK_EQ(half, 0);
	virtio_mmio_bus_ops.read(&f->t, MAGIC + 1, &byte, 1);
	CHECK_EQ(byte, 0);
	half = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_bus_ops.write(&f->t, STATUS, &half, 2); /* ignored */
	CHECK_EQ(rd(f, STATUS), 0);
	CHECK_EQ(rd(f, MAGIC + 2), 0); /* misaligned 32-bit: zero */
	fx_free(f);
}

TEST_MAIN(T(identification), T(feature_windows), T(features_ok_refused),
	  T(features_frozen_and_driver_ok_once), T(queue_size_and_existence), T(queue_layout),
	  T(interrupt_and_ack), T(notify_in_user_space_and_reset), T(narrow_access))
