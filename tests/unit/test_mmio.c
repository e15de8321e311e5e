/*
 * test_mmio.c: unit tests for the virtio-mmio v2 register file
 * (src/virtio/mmio.c over src/virtio/core.c), driven through the MMIO bus
 * as a guest driver would, and for virtio_devices_create
 * (src/virtio/devices.c), which puts the transports on a machine.
 *
 * The transport is built by its real constructor (virtio_mmio_create, the
 * path virtio_devices_create takes) over a fake machine
 * (fake_machine.c) around a mock device: no KVM, so the edge interrupt
 * pulses the fake's irq_set (counted per line) and the doorbells are not
 * absorbed (QueueNotify writes reach the register handler, which signals
 * the queue's eventfd; the tests read it, or run the I/O loop's handler).
 * Covered: identification registers, the feature windows, FEATURES_OK
 * refused for features never offered or without VERSION_1, driver features
 * frozen after FEATURES_OK, DRIVER_OK calling the device once, queue sizes
 * and layouts (bounded, writable only while the queue is not ready, a bad
 * layout setting DEVICE_NEEDS_RESET), interrupts and their ack, a notify
 * that reaches user space, reset, accesses that are not 32-bit, the
 * doorbells' registration and handler, stats; then virtio_devices_create's
 * order, names, windows, lines and announcements, and its failure paths
 * (a disk that does not open, announce refused, no line left, a name
 * taken, a TAP that cannot be opened), leak-free under ASan.
 * Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_machine.c"
#include "gmem.h"
#include "test.h"
#include "virtio/devices.h"
#include "virtio/mmio.h"
#include "virtio/virtio.h"
#include "vmconfig.h"

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

static unsigned mock_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct mock *d = dev;

	return virtio_stat_put(out, 0, max, "mock_notifies", d->notifies);
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
	.save = virtio_save_none,
	.load = virtio_load_none,
	.stats = mock_stats,
	.destroy = free,
};

struct fx {
	struct fake_machine fm;
	struct virtio_mmio *t; /* on fm's device list and MMIO bus */
	struct mock *dev;      /* owned by t */
	uint64_t base;
	unsigned gsi;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || fake_machine_init(&f->fm, RAM_BASE, RAM_SIZE) || !(f->dev = calloc(1, sizeof(*f->dev))))
		abort();
	/* What virtio_devices_create does for each instance, with a mock device. */
	if (f->fm.m.ops->irq_alloc(f->fm.m.ctx, &f->gsi) ||
	    f->fm.m.ops->mmio_alloc(f->fm.m.ctx, VIRTIO_MMIO_WINDOW, &f->base) ||
	    virtio_mmio_create(&f->fm.m, "virtio-mock0", f->base, f->gsi, &mock_ops, f->dev, &f->t) ||
	    machine_map(f->fm.m.mmio, f->base, VIRTIO_MMIO_WINDOW, &virtio_mmio_dev_ops, f->t,
			"virtio-mock0") ||
	    machine_add_dev(&f->fm.m, &virtio_mmio_dev_ops, f->t, "virtio-mock0"))
		abort();
	return f;
}

static void fx_free(struct fx *f)
{
	fake_machine_destroy(&f->fm); /* destroys the transport: doorbells, edge, device */
	free(f);
}

static int reg_access(struct fx *f, uint64_t off, void *v, unsigned len, int is_write)
{
	return bus_access(&f->fm.mmio, f->base + off, v, len, is_write);
}

static uint32_t rd(struct fx *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	reg_access(f, off, &v, 4, 0);
	return v;
}

static void wr(struct fx *f, uint64_t off, uint32_t v) { reg_access(f, off, &v, 4, 1); }

/* Drain an eventfd: how many times it was written since the last drain. */
static uint64_t events(int fd)
{
	uint64_t n = 0;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

/* Interrupts raised since the last call: rising edges on the transport's line. */
static unsigned irqs(struct fx *f)
{
	return fake_machine_edges(&f->fm, f->gsi);
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
	CHECK_EQ(f->dev->driver_oks, 1);
	CHECK_EQ(f->dev->driver_ok_features, VERSION_1 | (1ULL << 5));
	fx_free(f);
}

TEST(status_bits_are_the_drivers_only)
{
	struct fx *f = fx_new();

	/* Bits §2.1 does not define, and DEVICE_NEEDS_RESET, are not the driver's to set. */
	wr(f, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | 0x30 | VIRTIO_STATUS_DEVICE_NEEDS_RESET | 0x100);
	CHECK_EQ(rd(f, STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
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
	/* Not a power of two (§2.7): stored as 0 too. */
	wr(f, QUEUE_NUM, 6);
	CHECK_EQ(f->t->core.q[0].num, 0);
	wr(f, QUEUE_NUM, 4);
	CHECK_EQ(f->t->core.q[0].num, 4);
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
	CHECK_EQ(f->t->core.q[0].desc, RAM_BASE);
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
	CHECK_EQ(f->t->core.errors, 1);
	fx_free(f);
}

TEST(interrupt_and_ack)
{
	struct fx *f = fx_new();

	negotiate(f, VERSION_1);
	queue0_ready(f);
	wr(f, STATUS, rd(f, STATUS) | VIRTIO_STATUS_DRIVER_OK);
	f->dev->notify_ret = 1; /* one chain completed */
	virtio_core_process(&f->t->core, 0);
	CHECK_EQ(f->dev->notifies, 1);
	CHECK_EQ(irqs(f), 1);
	CHECK_EQ(f->fm.level[f->gsi], 0); /* an edge: pulsed, not left high */
	CHECK_EQ(rd(f, ISR), 1);
	wr(f, ISR_ACK, 1);
	CHECK_EQ(rd(f, ISR), 0);

	/* Nothing completed: no interrupt. */
	f->dev->notify_ret = 0;
	virtio_core_process(&f->t->core, 0);
	CHECK_EQ(irqs(f), 0);

	/* A broken ring: DEVICE_NEEDS_RESET and a config-change interrupt, then silence. */
	f->dev->notify_ret = -EINVAL;
	virtio_core_process(&f->t->core, 0);
	CHECK(rd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(rd(f, ISR), 2);
	CHECK_EQ(irqs(f), 1);
	virtio_core_process(&f->t->core, 0);
	CHECK_EQ(f->dev->notifies, 3); /* not asked again until reset */
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
	/* No ioeventfd here: the notify reaches the handler, which signals the queue's doorbell. */
	CHECK_EQ(f->t->db[1].absorbed, 0);
	wr(f, QUEUE_NOTIFY, 1);
	CHECK_EQ(events(f->t->db[1].fd), 1);
	CHECK_EQ(events(f->t->db[0].fd), 0);
	wr(f, QUEUE_NOTIFY, 7); /* no such queue */
	CHECK_EQ(events(f->t->db[0].fd) + events(f->t->db[1].fd), 0);

	wr(f, STATUS, 0);
	CHECK_EQ(f->dev->resets, 1);
	CHECK_EQ(rd(f, STATUS), 0);
	wr(f, QUEUE_SEL, 0);
	CHECK_EQ(rd(f, QUEUE_READY), 0);
	CHECK_EQ(f->t->core.q[0].desc, 0);
	CHECK_EQ(f->t->core.drv_features, 0);
	fx_free(f);
}

TEST(narrow_access)
{
	struct fx *f = fx_new();
	uint16_t half = 0xffff;
	uint8_t byte = 0xff;

	reg_access(f, MAGIC, &half, 2, 0);
	CHECK_EQ(half, 0);
	reg_access(f, MAGIC + 1, &byte, 1, 0);
	CHECK_EQ(byte, 0);
	half = VIRTIO_STATUS_ACKNOWLEDGE;
	reg_access(f, STATUS, &half, 2, 1); /* ignored */
	CHECK_EQ(rd(f, STATUS), 0);
	CHECK_EQ(rd(f, MAGIC + 2), 0); /* misaligned 32-bit: zero */
	fx_free(f);
}

TEST(doorbells_registered_and_handled)
{
	struct fx *f = fx_new();
	unsigned before;

	/* One machine doorbell per queue: QueueNotify, 4 bytes, data = queue index. */
	CHECK_EQ(f->fm.nr_db, 2);
	for (unsigned i = 0; i < 2 && i < f->fm.nr_db; i++) {
		CHECK_EQ(f->fm.db[i].addr, f->base + QUEUE_NOTIFY);
		CHECK_EQ(f->fm.db[i].len, 4);
		CHECK_EQ(f->fm.db[i].match, i);
		CHECK_EQ(f->fm.db[i].is_pio, 0);
		CHECK_EQ(f->fm.db[i].fd, f->t->db[i].fd);
		CHECK_EQ(f->t->db[i].watched, 1); /* watched although not absorbed */
	}
	CHECK_EQ(f->fm.io.nr_handlers, 2);

	/* What the I/O thread does when the doorbell fires. */
	negotiate(f, VERSION_1);
	queue0_ready(f);
	wr(f, STATUS, rd(f, STATUS) | VIRTIO_STATUS_DRIVER_OK);
	f->dev->notify_ret = 2;
	before = f->dev->notifies;
	wr(f, QUEUE_NOTIFY, 0);
	f->t->db[0].h.fn(f->t->db[0].h.ctx);
	CHECK_EQ(f->dev->notifies, before + 1);
	CHECK_EQ(f->t->core.notifies, 1);
	CHECK_EQ(f->t->core.requests, 2);
	CHECK_EQ(irqs(f), 1);
	f->t->db[0].h.fn(f->t->db[0].h.ctx); /* nothing pending: a spurious wake does nothing */
	CHECK_EQ(f->dev->notifies, before + 1);
	fx_free(f);
}

/* The value of key in a stats answer, or -1. */
static long long stat_of(const struct dev_stat *s, unsigned n, const char *key)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(s[i].key, key))
			return (long long)s[i].value;
	return -1;
}

TEST(stats)
{
	struct fx *f = fx_new();
	struct dev_stat s[DEV_MAX_STATS];
	unsigned n;

	negotiate(f, VERSION_1);
	queue0_ready(f);
	wr(f, STATUS, rd(f, STATUS) | VIRTIO_STATUS_DRIVER_OK);
	f->dev->notify_ret = 3;
	virtio_core_notify(&f->t->core, 0);
	n = virtio_mmio_dev_ops.stats(f->t, s, DEV_MAX_STATS);
	CHECK_EQ(n, 7);
	CHECK_EQ(stat_of(s, n, "requests"), 3);
	CHECK_EQ(stat_of(s, n, "notifies"), 1);
	CHECK_EQ(stat_of(s, n, "interrupts"), 1);
	CHECK_EQ(stat_of(s, n, "resets"), 0);
	CHECK_EQ(stat_of(s, n, "ring_errors"), 0);
	CHECK_EQ(stat_of(s, n, "irq"), f->gsi);
	CHECK_EQ(stat_of(s, n, "mock_notifies"), 1); /* the device's own, after the transport's */
	CHECK_EQ(virtio_mmio_dev_ops.stats(f->t, s, 3), 3); /* bounded by max */
	fx_free(f);
}

/* ---- virtio_devices_create ---------------------------------------------------------- */

struct dfx {
	struct fake_machine fm;
	struct vm_config cfg;
	char img[VM_MAX_DISKS][64];
};

static struct dfx *dfx_new(unsigned disks)
{
	struct dfx *d = calloc(1, sizeof(*d));

	if (!d || fake_machine_init(&d->fm, RAM_BASE, RAM_SIZE))
		abort();
	/* calloc'd: no disks, no NICs (vm_config_defaults is vmconfig.c's, not needed here) */
	strcpy(d->cfg.transport, "mmio"); /* the fake machine has no PCI; x86's default is pci */
	for (unsigned i = 0; i < disks; i++) {
		int fd;

		snprintf(d->img[i], sizeof(d->img[i]), "/tmp/vmon-test-mmio-XXXXXX");
		fd = mkstemp(d->img[i]);
		if (fd < 0 || ftruncate(fd, 4096 * (i + 1)) < 0)
			abort();
		close(fd);
		snprintf(d->cfg.disks[i].path, sizeof(d->cfg.disks[i].path), "%s", d->img[i]);
	}
	d->cfg.nr_disks = disks;
	return d;
}

static void dfx_free(struct dfx *d)
{
	fake_machine_destroy(&d->fm);
	for (unsigned i = 0; i < VM_MAX_DISKS; i++)
		if (d->img[i][0])
			unlink(d->img[i]);
	free(d);
}

static uint32_t drd(struct dfx *d, uint64_t addr)
{
	uint32_t v = 0xdeadbeef;

	bus_access(&d->fm.mmio, addr, &v, 4, 0);
	return v;
}

TEST(devices_create_order_names_and_windows)
{
	static const char *const names[] = { "virtio-rng0", "virtio-blk0", "virtio-blk1" };
	static const uint32_t ids[] = { VIRTIO_ID_RNG, VIRTIO_ID_BLOCK, VIRTIO_ID_BLOCK };
	struct dfx *d = dfx_new(2);

	CHECK_EQ(virtio_devices_create(&d->fm.m, &d->cfg), 0);
	CHECK_EQ(d->fm.devs.nr, 3);
	CHECK_EQ(d->fm.mmio.nr, 3);
	CHECK_EQ(d->fm.nr_ann, 3);
	for (unsigned i = 0; i < 3 && i < d->fm.devs.nr && i < d->fm.nr_ann; i++) {
		uint64_t base = FAKE_MMIO_FIRST + i * VIRTIO_MMIO_WINDOW;

		CHECK(!strcmp(d->fm.devs.dev[i].name, names[i]));
		CHECK(d->fm.devs.dev[i].ops == &virtio_mmio_dev_ops);
		CHECK(!strcmp(d->fm.mmio.range[i].name, names[i]));
		CHECK_EQ(d->fm.mmio.range[i].base, base);
		CHECK_EQ(d->fm.mmio.range[i].len, VIRTIO_MMIO_WINDOW);
		CHECK(!strcmp(d->fm.ann[i].kind, "virtio-mmio"));
		CHECK_EQ(d->fm.ann[i].base, base);
		CHECK_EQ(d->fm.ann[i].size, VIRTIO_MMIO_WINDOW);
		CHECK_EQ(d->fm.ann[i].gsi, FAKE_GSI_FIRST + i);
		CHECK_EQ(drd(d, base + MAGIC), 0x74726976);
		CHECK_EQ(drd(d, base + DEVICE_ID), ids[i]);
	}
	/* blk1's image is 8 KiB: capacity 16 sectors, in its config space. */
	CHECK_EQ(drd(d, FAKE_MMIO_FIRST + 2 * VIRTIO_MMIO_WINDOW + CONFIG), 16);
	CHECK_EQ(d->fm.nr_db, 3); /* one queue each */
	dfx_free(d);
}

static const struct dev_ops placeholder_ops = {
	.kind = "placeholder", .read = dev_nop_read, .write = dev_nop_write, .reset = dev_nop_reset,
	.save = dev_nop_save, .load = dev_nop_load, .stats = dev_nop_stats, .destroy = dev_nop_destroy,
};

TEST(devices_create_failures_leave_no_leak)
{
	struct dfx *d;

	/* The second disk does not open: rng0 and blk0 stay on the list, nothing else. */
	d = dfx_new(2);
	unlink(d->img[1]);
	CHECK_EQ(virtio_devices_create(&d->fm.m, &d->cfg), -ENOENT);
	CHECK_EQ(d->fm.devs.nr, 2);
	CHECK_EQ(d->fm.mmio.nr, 2);
	CHECK_EQ(d->fm.io.nr_handlers, 2);
	dfx_free(d);

	/* The command line is full: the window is unmapped again, no device added. */
	d = dfx_new(0);
	d->fm.announce_ret = -E2BIG;
	CHECK_EQ(virtio_devices_create(&d->fm.m, &d->cfg), -E2BIG);
	CHECK_EQ(d->fm.devs.nr, 0);
	CHECK_EQ(d->fm.mmio.nr, 0);
	CHECK_EQ(d->fm.io.nr_handlers, 0);
	dfx_free(d);

	/* No line left for the disk. */
	d = dfx_new(1);
	d->fm.gsi_limit = FAKE_GSI_FIRST + 1;
	CHECK_EQ(virtio_devices_create(&d->fm.m, &d->cfg), -ENOSPC);
	CHECK_EQ(d->fm.devs.nr, 1);
	dfx_free(d);

	/* The name is taken on the list: machine_add_dev destroys it, we unmap it. */
	d = dfx_new(1);
	CHECK_EQ(devlist_add(&d->fm.devs, &placeholder_ops, NULL, "virtio-blk0"), 0);
	CHECK_EQ(virtio_devices_create(&d->fm.m, &d->cfg), -EEXIST);
	CHECK_EQ(d->fm.devs.nr, 2); /* the placeholder and rng0 */
	CHECK_EQ(d->fm.mmio.nr, 1);
	dfx_free(d);

	/* A TAP that cannot be opened (no such name is valid). */
	d = dfx_new(0);
	snprintf(d->cfg.nets[0].tap, sizeof(d->cfg.nets[0].tap), "no/such");
	d->cfg.nr_nets = 1;
	CHECK(virtio_devices_create(&d->fm.m, &d->cfg) < 0);
	CHECK_EQ(d->fm.devs.nr, 1);
	CHECK_EQ(d->fm.mmio.nr, 1);
	dfx_free(d);

	/* More disks than names: refused before anything of theirs is made. */
	d = dfx_new(0);
	d->cfg.nr_disks = VM_MAX_DISKS + 1;
	CHECK_EQ(virtio_devices_create(&d->fm.m, &d->cfg), -EINVAL);
	dfx_free(d);
}

TEST_MAIN(T(identification), T(feature_windows), T(features_ok_refused),
	  T(features_frozen_and_driver_ok_once), T(status_bits_are_the_drivers_only),
	  T(queue_size_and_existence), T(queue_layout), T(interrupt_and_ack),
	  T(notify_in_user_space_and_reset), T(narrow_access), T(doorbells_registered_and_handled),
	  T(stats), T(devices_create_order_names_and_windows),
	  T(devices_create_failures_leave_no_leak))
