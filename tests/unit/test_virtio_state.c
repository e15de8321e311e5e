/*
 * test_virtio_state.c: save/load of virtio devices (src/virtio/core.c's
 * format, through virtio_mmio_dev_ops and the device list) and what load
 * refuses.
 *
 * Each case builds transports with their real constructors over fake
 * machines (fake_machine.c): virtio-rng and virtio-blk (on a temp image)
 * through virtio_devices_create, a two-queue mock device through
 * virtio_mmio_create, virtio-net through virtio_devices_create when a TAP
 * can be opened (root) and through its own save/load ops on a hand-built
 * struct vnet otherwise. A small driver (drv_*) takes each transport to
 * DRIVER_OK through the register file, with rings in the fake guest RAM,
 * and has requests processed (the I/O thread's doorbell handler, run by
 * hand) so the cursors move. Then: save, load into a fresh machine, save
 * again, byte for byte the same, and the loaded device goes on from where
 * it was. Hostile loads: every truncation, trailing bytes, and each field
 * corrupted in turn fail with -EINVAL, and the device is then reset and
 * usable. Load errors are logged by design; the loops silence stderr.
 * Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_machine.c"
#include "test.h"
#include "util.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "vmconfig.h"

#define RAM_BASE 0x200000ULL
#define RAM_SIZE (256 * 1024)
#define QNUM     8

/* virtio-mmio registers (virtio 1.2 §4.2.2), spelled out here on purpose. */
enum {
	DRV_FEATURES = 0x020, DRV_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM = 0x038,
	QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, ISR = 0x060, STATUS = 0x070, DESC_LO = 0x080,
	DESC_HI = 0x084, AVAIL_LO = 0x090, AVAIL_HI = 0x094, USED_LO = 0x0a0, USED_HI = 0x0a4,
};
#define ST_DRIVER_UP (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)
#define F_VERSION_1  (1ULL << VIRTIO_F_VERSION_1)
#define F_EVENT_IDX  (1ULL << VIRTIO_F_EVENT_IDX)
#define F_INDIRECT   (1ULL << VIRTIO_F_INDIRECT_DESC)

/* The core's save layout (core.h), offsets spelled out here on purpose. */
enum {
	S_VERSION = 0, S_DEVICE_ID = 1, S_NR_QUEUES = 5, S_STATUS = 6, S_FEATURES = 10,
	S_DSEL = 18, S_DRSEL = 22, S_QSEL = 26, S_ISR = 30, S_QUEUES = 34,
	/* per queue, from its start */
	SQ_NUM = 0, SQ_DESC = 2, SQ_AVAIL = 10, SQ_USED = 18, SQ_FLAGS = 26, SQ_LAST_AVAIL = 27,
	SQ_USED_IDX = 29, SQ_SIGNALLED = 31, SQ_SIZE = 33,
};

/* virtio-blk request types and status, virtio 1.2 §5.2.6. */
#define BLK_T_IN  0
#define BLK_T_OUT 1
#define BLK_S_OK  0

/* ---- stderr off for loops of loads that are meant to fail (each logs once) ---------- */

static int quiet_saved = -1;

static void quiet(int on)
{
	if (on) {
		int nul = open("/dev/null", O_WRONLY);

		fflush(stderr);
		quiet_saved = dup(2);
		if (nul >= 0) {
			dup2(nul, 2);
			close(nul);
		}
	} else if (quiet_saved >= 0) {
		dup2(quiet_saved, 2);
		close(quiet_saved);
		quiet_saved = -1;
	}
}

/* ---- a minimal driver over the register file and the fake guest RAM -------------- */

struct drv {
	struct fake_machine *fm;
	struct virtio_mmio *t;
	uint64_t base;  /* the transport's window */
	uint64_t area;  /* guest RAM for this device's rings and buffers: 0x8000 per device */
	uint16_t avail_idx[2];
};

static uint64_t ring_gpa(const struct drv *d, unsigned qi, unsigned part)
{
	return d->area + qi * 0x4000 + part * 0x800; /* desc, avail, used, data */
}

static uint32_t rd(const struct drv *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	bus_access(&d->fm->mmio, d->base + off, &v, 4, 0);
	return v;
}

static void wr(const struct drv *d, uint64_t off, uint32_t v)
{
	bus_access(&d->fm->mmio, d->base + off, &v, 4, 1);
}

static uint8_t *ram(const struct drv *d, uint64_t gpa)
{
	return fake_machine_ram(d->fm, gpa);
}

/* Bind d to the device named name on fm (rings at area). */
static void drv_bind(struct drv *d, struct fake_machine *fm, const char *name, uint64_t area)
{
	struct dev *dev = devlist_find(&fm->devs, name);

	memset(d, 0, sizeof(*d));
	d->fm = fm;
	d->area = area;
	if (!dev)
		abort();
	d->t = dev->state;
	d->base = d->t->base;
}

/* Reset, negotiate features, set up queues 0..nq-1 at zeroed rings, DRIVER_OK. 1 on success. */
static int drv_start(struct drv *d, uint64_t features, unsigned nq)
{
	wr(d, STATUS, 0);
	wr(d, STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(d, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, DRV_FEATURES_SEL, 0);
	wr(d, DRV_FEATURES, (uint32_t)features);
	wr(d, DRV_FEATURES_SEL, 1);
	wr(d, DRV_FEATURES, (uint32_t)(features >> 32));
	wr(d, STATUS, ST_DRIVER_UP);
	if (rd(d, STATUS) != ST_DRIVER_UP)
		return 0;
	for (unsigned qi = 0; qi < nq; qi++) {
		memset(ram(d, ring_gpa(d, qi, 0)), 0, 0x4000);
		d->avail_idx[qi] = 0;
		wr(d, QUEUE_SEL, qi);
		wr(d, QUEUE_NUM, QNUM);
		wr(d, DESC_LO, (uint32_t)ring_gpa(d, qi, 0));
		wr(d, DESC_HI, 0);
		wr(d, AVAIL_LO, (uint32_t)ring_gpa(d, qi, 1));
		wr(d, AVAIL_HI, 0);
		wr(d, USED_LO, (uint32_t)ring_gpa(d, qi, 2));
		wr(d, USED_HI, 0);
		wr(d, QUEUE_READY, 1);
		if (rd(d, QUEUE_READY) != 1)
			return 0;
	}
	wr(d, STATUS, ST_DRIVER_UP | VIRTIO_STATUS_DRIVER_OK);
	return rd(d, STATUS) == (ST_DRIVER_UP | VIRTIO_STATUS_DRIVER_OK);
}

struct buf {
	uint64_t off; /* in the queue's data area */
	uint32_t len;
	int write;
};

/* Offer a chain of n buffers on queue qi, notify, and let the I/O thread's handler run. */
static void drv_request(struct drv *d, unsigned qi, const struct buf *b, unsigned n)
{
	uint16_t head = (uint16_t)((d->avail_idx[qi] * 3) % QNUM);
	uint64_t data = ring_gpa(d, qi, 3);
	uint8_t *avail = ram(d, ring_gpa(d, qi, 1));

	for (unsigned i = 0; i < n; i++) {
		uint16_t at = (uint16_t)((head + i) % QNUM);
		uint8_t *desc = ram(d, ring_gpa(d, qi, 0) + 16 * at);

		le64_put(desc, data + b[i].off);
		le32_put(desc + 8, b[i].len);
		le16_put(desc + 12, (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
					       (b[i].write ? VIRTQ_DESC_F_WRITE : 0)));
		le16_put(desc + 14, (uint16_t)((at + 1) % QNUM));
	}
	le16_put(avail + 4 + 2 * (d->avail_idx[qi] % QNUM), head);
	d->avail_idx[qi]++;
	le16_put(avail + 2, d->avail_idx[qi]);
	wr(d, QUEUE_NOTIFY, qi);
	d->t->db[qi].h.fn(d->t->db[qi].h.ctx);
}

static uint16_t drv_used_idx(const struct drv *d, unsigned qi)
{
	return le16_get(ram(d, ring_gpa(d, qi, 2) + 2));
}

/* The length the device reported for used entry k of queue qi. */
static uint32_t drv_used_len(const struct drv *d, unsigned qi, uint16_t k)
{
	return le32_get(ram(d, ring_gpa(d, qi, 2) + 4 + 8 * (k % QNUM) + 4));
}

static uint8_t *drv_data(const struct drv *d, unsigned qi, uint64_t off)
{
	return ram(d, ring_gpa(d, qi, 3) + off);
}

/* One rng request of 32 bytes; 1 if it completed. */
static int rng_request(struct drv *d)
{
	const struct buf b = { 0x100, 32, 1 };
	uint16_t before = drv_used_idx(d, 0);

	drv_request(d, 0, &b, 1);
	return drv_used_idx(d, 0) == (uint16_t)(before + 1) &&
	       drv_used_len(d, 0, before) == 32;
}

/* A blk request of type at sector, 512 data bytes at data offset 0x200; 1 if status OK. */
static int blk_request(struct drv *d, uint32_t type, uint64_t sector)
{
	const struct buf b[3] = { { 0x000, 16, 0 }, { 0x200, 512, type == BLK_T_IN },
				  { 0x400, 1, 1 } };
	uint16_t before = drv_used_idx(d, 0);
	uint8_t *hdr = drv_data(d, 0, 0);

	le32_put(hdr, type);
	le32_put(hdr + 4, 0);
	le64_put(hdr + 8, sector);
	*drv_data(d, 0, 0x400) = 0xff;
	drv_request(d, 0, b, 3);
	return drv_used_idx(d, 0) == (uint16_t)(before + 1) && *drv_data(d, 0, 0x400) == BLK_S_OK;
}

/* ---- machines with rng0 + blk0 (+ net0) from virtio_devices_create ----------------- */

struct vm {
	struct fake_machine fm;
	struct vm_config cfg;
	char img[64]; /* its own copy of img_path: images are locked, one user each */
};

static char img_path[64];

static void img_make(void)
{
	int fd;

	snprintf(img_path, sizeof(img_path), "/tmp/vmon-test-state-XXXXXX");
	fd = mkstemp(img_path);
	if (fd < 0 || ftruncate(fd, 64 * 512) < 0)
		abort();
	close(fd);
}

/* Copy the image src as it is now into a fresh temp file named into path. */
static void img_copy(const char *src, char *path, size_t size)
{
	uint8_t buf[64 * 512];
	int in = open(src, O_RDONLY), out;

	snprintf(path, size, "/tmp/vmon-test-state-XXXXXX");
	out = mkstemp(path);
	if (in < 0 || out < 0 || read(in, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    write(out, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		abort();
	close(in);
	close(out);
}

/* A machine with virtio-rng0 and virtio-blk0 on a copy of src, plus net0 on tap if given. */
static struct vm *vm_new_from(const char *tap, const char *src)
{
	struct vm *v = calloc(1, sizeof(*v));

	if (!v || fake_machine_init(&v->fm, RAM_BASE, RAM_SIZE))
		abort();
	img_copy(src, v->img, sizeof(v->img));
	snprintf(v->cfg.disks[0].path, sizeof(v->cfg.disks[0].path), "%s", v->img);
	v->cfg.nr_disks = 1;
	strcpy(v->cfg.transport, "mmio"); /* the fake machine has no PCI; x86's default is pci */
	if (tap) {
		snprintf(v->cfg.nets[0].tap, sizeof(v->cfg.nets[0].tap), "%s", tap);
		v->cfg.nr_nets = 1;
	}
	if (virtio_devices_create(&v->fm.m, &v->cfg)) {
		fake_machine_destroy(&v->fm);
		unlink(v->img);
		free(v);
		return NULL;
	}
	return v;
}

static struct vm *vm_new(const char *tap)
{
	return vm_new_from(tap, img_path);
}

static void vm_free(struct vm *v)
{
	if (!v)
		return;
	fake_machine_destroy(&v->fm);
	unlink(v->img);
	free(v);
}

/* Save one transport's state into out (freshly initialised). */
static int save_dev(struct virtio_mmio *t, struct snap_out *out)
{
	snap_out_init(out);
	return virtio_mmio_dev_ops.save(t, out);
}

static int load_dev(struct virtio_mmio *t, const void *p, size_t len)
{
	struct snap_in in;

	snap_in_init(&in, p, len);
	return virtio_mmio_dev_ops.load(t, &in);
}

static int same(const struct snap_out *a, const struct snap_out *b)
{
	return a->len == b->len && !memcmp(a->buf, b->buf, a->len);
}

TEST(rng_blk_round_trip)
{
	struct vm *a, *b;
	struct drv ra, ba, rb, bb;
	struct snap_out sa, sb;
	struct snap_in in;
	uint8_t pattern[512];

	img_make();
	a = vm_new(NULL);
	b = NULL;
	CHECK(a);
	if (!a)
		goto out;
	drv_bind(&ra, &a->fm, "virtio-rng0", RAM_BASE);
	drv_bind(&ba, &a->fm, "virtio-blk0", RAM_BASE + 0x8000);
	CHECK(drv_start(&ra, F_VERSION_1 | F_EVENT_IDX, 1));
	CHECK(drv_start(&ba, F_VERSION_1 | F_INDIRECT, 1));
	CHECK(rng_request(&ra));
	CHECK(rng_request(&ra));
	CHECK(rng_request(&ra));
	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 1);
	memcpy(drv_data(&ba, 0, 0x200), pattern, sizeof(pattern));
	CHECK(blk_request(&ba, BLK_T_OUT, 3));
	memset(drv_data(&ba, 0, 0x200), 0, 512);
	CHECK(blk_request(&ba, BLK_T_IN, 3));
	CHECK(!memcmp(drv_data(&ba, 0, 0x200), pattern, sizeof(pattern)));
	CHECK_EQ(ra.t->core.vq[0].last_avail_idx, 3);
	CHECK_EQ(ba.t->core.vq[0].used_idx, 2);

	/* The destination gets a copy of the disk as it is now (a's image is locked). */
	b = vm_new_from(NULL, a->img);
	CHECK(b);
	if (!b)
		goto out;

	/* The whole device list, as a snapshot takes it: save, load elsewhere, save again. */
	snap_out_init(&sa);
	snap_out_init(&sb);
	CHECK_EQ(devlist_save(&a->fm.devs, &sa), 0);
	memcpy(b->fm.ram, a->fm.ram, RAM_SIZE); /* guest RAM travels with it (not ours to save) */
	snap_in_init(&in, sa.buf, sa.len);
	CHECK_EQ(devlist_load(&b->fm.devs, &in), 0);
	CHECK_EQ(devlist_save(&b->fm.devs, &sb), 0);
	CHECK(same(&sa, &sb));

	/* The loaded devices go on where the saved ones were. */
	drv_bind(&rb, &b->fm, "virtio-rng0", RAM_BASE);
	drv_bind(&bb, &b->fm, "virtio-blk0", RAM_BASE + 0x8000);
	rb.avail_idx[0] = ra.avail_idx[0];
	bb.avail_idx[0] = ba.avail_idx[0];
	CHECK_EQ(rd(&rb, STATUS), ST_DRIVER_UP | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rb.t->core.drv_features, F_VERSION_1 | F_EVENT_IDX);
	CHECK_EQ(rb.t->core.vq[0].event_idx, 1);
	CHECK_EQ(bb.t->core.vq[0].indirect, 1);
	CHECK(rng_request(&rb));
	CHECK_EQ(drv_used_idx(&rb, 0), 4);
	memset(drv_data(&bb, 0, 0x200), 0, 512);
	CHECK(blk_request(&bb, BLK_T_IN, 3));
	CHECK(!memcmp(drv_data(&bb, 0, 0x200), pattern, sizeof(pattern)));
	CHECK_EQ(drv_used_idx(&bb, 0), 3);
	snap_out_free(&sa);
	snap_out_free(&sb);
out:
	vm_free(a);
	vm_free(b);
	unlink(img_path);
}

/* Patch a little-endian field of n bytes at off in a copy of s. */
static void patch(uint8_t *p, size_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

struct corruption {
	const char *what;
	size_t off;
	uint64_t value;
	unsigned width;
};

/* A load that is meant to fail logs its reason once: keep that off the test's output. */
static int load_quietly(struct virtio_mmio *t, const void *p, size_t len)
{
	int ret;

	quiet(1);
	ret = load_dev(t, p, len);
	quiet(0);
	return ret;
}

/*
 * Every truncation and trailing bytes, then each corruption, into target:
 * all -EINVAL, the device reset (status 0) and then usable (usable()).
 */
static void hostile(struct test_ctx *t_, struct drv *target, const struct snap_out *good,
		    const struct corruption *c, unsigned nc, int (*usable)(struct drv *))
{
	uint8_t *p = malloc(good->len + 1);

	if (!p)
		abort();
	for (size_t len = 0; len < good->len; len++) {
		int ret = load_quietly(target->t, good->buf, len);

		if (ret != -EINVAL || rd(target, STATUS) != 0) {
			fprintf(stderr, "  truncation to %zu of %zu bytes: %d\n", len, good->len, ret);
			CHECK_EQ(ret, -EINVAL);
			CHECK_EQ(rd(target, STATUS), 0);
		}
	}
	CHECK(usable(target));
	memcpy(p, good->buf, good->len);
	p[good->len] = 0;
	CHECK_EQ(load_quietly(target->t, p, good->len + 1), -EINVAL); /* a trailing byte */
	CHECK(usable(target));
	for (unsigned i = 0; i < nc; i++) {
		int ret;

		memcpy(p, good->buf, good->len);
		patch(p, c[i].off, c[i].value, c[i].width);
		ret = load_quietly(target->t, p, good->len);
		if (ret != -EINVAL)
			fprintf(stderr, "  corruption '%s' was accepted (%d)\n", c[i].what, ret);
		CHECK_EQ(ret, -EINVAL);
		CHECK_EQ(rd(target, STATUS), 0);
		CHECK(usable(target));
	}
	/* Still takes the good state afterwards. */
	CHECK_EQ(load_dev(target->t, good->buf, good->len), 0);
	free(p);
}

static int rng_usable(struct drv *d)
{
	return drv_start(d, F_VERSION_1, 1) && rng_request(d);
}

static int blk_usable(struct drv *d)
{
	return drv_start(d, F_VERSION_1, 1) && blk_request(d, BLK_T_IN, 0);
}

#define Q0(field) (S_QUEUES + (field))

/* Corruptions that apply to any single-queue device saved by a VERSION_1 | EVENT_IDX driver. */
static const struct corruption one_queue_cases[] = {
	{ "version", S_VERSION, 2, 1 },
	{ "device id", S_DEVICE_ID, 99, 4 },
	{ "more queues than the device has", S_NR_QUEUES, 2, 1 },
	{ "no queues", S_NR_QUEUES, 0, 1 },
	{ "status bit 0x10", S_STATUS, ST_DRIVER_UP | VIRTIO_STATUS_DRIVER_OK | 0x10, 4 },
	{ "status above 8 bits", S_STATUS, 0x100 | ST_DRIVER_UP, 4 },
	/* A live driver cannot make a queue ready before FEATURES_OK (set_queue_ready): nor can a load. */
	{ "ready queue without FEATURES_OK", S_STATUS,
	  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 4 },
	{ "FEATURES_OK with a feature never offered", S_FEATURES, F_VERSION_1 | (1ULL << 20), 8 },
	{ "FEATURES_OK without VERSION_1", S_FEATURES, F_EVENT_IDX, 8 },
	{ "interrupt status bit 4", S_ISR, 4, 4 },
	{ "queue size not a power of two", Q0(SQ_NUM), 6, 2 },
	{ "queue size above the maximum", Q0(SQ_NUM), 512, 2 },
	{ "ready queue of size 0", Q0(SQ_NUM), 0, 2 },
	{ "descriptor table outside RAM", Q0(SQ_DESC), 0x7ff00000, 8 },
	{ "descriptor table misaligned", Q0(SQ_DESC), RAM_BASE + 8, 8 },
	{ "avail ring misaligned", Q0(SQ_AVAIL), RAM_BASE + 0x801, 8 },
	{ "used ring past the end of RAM", Q0(SQ_USED), RAM_BASE + RAM_SIZE - 16, 8 },
	{ "unknown queue flag", Q0(SQ_FLAGS), 0x09, 1 },
	{ "cursors on a queue not ready", Q0(SQ_FLAGS), 0x00, 1 },
	{ "cursors further apart than the size", Q0(SQ_LAST_AVAIL), 3 + QNUM + 1, 2 },
	{ "device section longer than the input", Q0(SQ_SIZE), 1, 4 },
};

TEST(rng_blk_hostile_loads)
{
	struct vm *a, *b;
	struct drv ra, ba, rb, bb;
	struct snap_out rs, bs;
	struct corruption blk_cases[ARRAY_SIZE(one_queue_cases) + 1];

	img_make();
	a = vm_new(NULL);
	b = vm_new(NULL);
	CHECK(a && b);
	if (!a || !b)
		goto out;
	drv_bind(&ra, &a->fm, "virtio-rng0", RAM_BASE);
	drv_bind(&ba, &a->fm, "virtio-blk0", RAM_BASE + 0x8000);
	drv_bind(&rb, &b->fm, "virtio-rng0", RAM_BASE);
	drv_bind(&bb, &b->fm, "virtio-blk0", RAM_BASE + 0x8000);
	CHECK(drv_start(&ra, F_VERSION_1 | F_EVENT_IDX, 1));
	CHECK(drv_start(&ba, F_VERSION_1 | F_EVENT_IDX, 1));
	CHECK(rng_request(&ra) && rng_request(&ra) && rng_request(&ra));
	CHECK(blk_request(&ba, BLK_T_IN, 0) && blk_request(&ba, BLK_T_IN, 1) &&
	      blk_request(&ba, BLK_T_IN, 2));
	CHECK_EQ(save_dev(ra.t, &rs), 0);
	CHECK_EQ(save_dev(ba.t, &bs), 0);
	CHECK_EQ(rs.len, S_QUEUES + SQ_SIZE + 4); /* rng and blk add nothing of their own */
	CHECK_EQ(bs.len, S_QUEUES + SQ_SIZE + 4);

	hostile(t_, &rb, &rs, one_queue_cases, ARRAY_SIZE(one_queue_cases), rng_usable);
	/* blk: the same, plus a device section where none belongs (length 1, one byte too many). */
	memcpy(blk_cases, one_queue_cases, sizeof(one_queue_cases));
	blk_cases[ARRAY_SIZE(one_queue_cases)] = (struct corruption){ "a device section for blk",
		Q0(SQ_SIZE), 1, 4 };
	hostile(t_, &bb, &bs, blk_cases, ARRAY_SIZE(blk_cases), blk_usable);
	/* Another kind's state: rng's section into blk. */
	CHECK_EQ(load_quietly(bb.t, rs.buf, rs.len), -EINVAL);
	snap_out_free(&rs);
	snap_out_free(&bs);
out:
	vm_free(a);
	vm_free(b);
	unlink(img_path);
}

/* ---- a two-queue mock device with a section of its own ------------------------------ */

struct mock {
	struct virtq_chain chain;
	uint32_t value; /* its "state": saved, loaded if <= 1000 */
	unsigned resets;
};

static uint64_t mock_features(void *dev)
{
	(void)dev;
	return 1ULL << 3;
}

static int mock_notify(void *dev, struct virtq *q, unsigned qi)
{
	struct mock *m = dev;
	int n = 0, ret;

	(void)qi;
	while ((ret = virtq_pop(q, &m->chain)) > 0) {
		if (virtq_push(q, m->chain.head, 0))
			return -EINVAL;
		n++;
	}
	return ret < 0 ? ret : n;
}

static void mock_reset(void *dev)
{
	struct mock *m = dev;

	m->value = 0;
	m->resets++;
}

static int mock_save(void *dev, struct snap_out *out)
{
	snap_put_u32(out, ((struct mock *)dev)->value);
	return 0;
}

static int mock_load(void *dev, struct snap_in *in)
{
	uint32_t v = snap_get_u32(in);

	if (snap_in_error(in) || v > 1000)
		return snap_in_fail(in);
	((struct mock *)dev)->value = v;
	return 0;
}

static const struct virtio_dev_ops mock_ops = {
	.name = "virtio-mock", .device_id = 42, .nr_queues = 2, .queue_size_max = 16,
	.features = mock_features, .config_read = virtio_config_none_read,
	.config_write = virtio_config_readonly_write, .queue_notify = mock_notify,
	.reset = mock_reset, .driver_ok = virtio_driver_ok_none, .save = mock_save,
	.load = mock_load, .stats = virtio_stats_none, .destroy = free,
};

struct mvm {
	struct fake_machine fm;
	struct mock *dev;
	struct drv d;
};

static struct mvm *mvm_new(void)
{
	struct mvm *v = calloc(1, sizeof(*v));
	struct virtio_mmio *t;
	uint64_t base;
	unsigned gsi;

	if (!v || fake_machine_init(&v->fm, RAM_BASE, RAM_SIZE) || !(v->dev = calloc(1, sizeof(*v->dev))))
		abort();
	if (v->fm.m.ops->irq_alloc(v->fm.m.ctx, &gsi) ||
	    v->fm.m.ops->mmio_alloc(v->fm.m.ctx, VIRTIO_MMIO_WINDOW, &base) ||
	    virtio_mmio_create(&v->fm.m, "virtio-mock0", base, gsi, &mock_ops, v->dev, &t) ||
	    machine_map(&v->fm.mmio, base, VIRTIO_MMIO_WINDOW, &virtio_mmio_dev_ops, t, "virtio-mock0") ||
	    machine_add_dev(&v->fm.m, &virtio_mmio_dev_ops, t, "virtio-mock0"))
		abort();
	drv_bind(&v->d, &v->fm, "virtio-mock0", RAM_BASE);
	return v;
}

static void mvm_free(struct mvm *v)
{
	fake_machine_destroy(&v->fm);
	free(v);
}

static int mock_usable(struct drv *d)
{
	const struct buf b = { 0, 8, 0 };

	if (!drv_start(d, F_VERSION_1, 2))
		return 0;
	drv_request(d, 1, &b, 1);
	return drv_used_idx(d, 1) == 1;
}

TEST(mock_two_queues_round_trip_and_hostile)
{
	struct mvm *a = mvm_new(), *b = mvm_new();
	const struct buf one = { 0, 8, 0 };
	struct snap_out sa, sb;
	size_t q1 = S_QUEUES + SQ_SIZE, dev_len = S_QUEUES + 2 * SQ_SIZE;
	const struct corruption cases[] = {
		{ "queue 1 size not a power of two", q1 + SQ_NUM, 12, 2 },
		{ "queue 1 ring outside RAM", q1 + SQ_USED, RAM_BASE + RAM_SIZE, 8 },
		{ "three queues for a two-queue device", S_NR_QUEUES, 3, 1 },
		{ "device state out of its range", dev_len + 4, 1001, 4 },
		{ "device section one byte short", dev_len, 3, 4 },
		{ "device section claims more than there is", dev_len, 5, 4 },
	};

	CHECK(drv_start(&a->d, F_VERSION_1 | F_EVENT_IDX | (1ULL << 3), 2));
	drv_request(&a->d, 0, &one, 1);
	drv_request(&a->d, 1, &one, 1);
	drv_request(&a->d, 1, &one, 1);
	CHECK_EQ(drv_used_idx(&a->d, 1), 2);
	a->dev->value = 777;
	wr(&a->d, QUEUE_SEL, 7); /* a selector beyond the queues is a register value like any */
	CHECK_EQ(save_dev(a->d.t, &sa), 0);
	CHECK_EQ(sa.len, dev_len + 4 + 4);
	CHECK_EQ(load_dev(b->d.t, sa.buf, sa.len), 0);
	CHECK_EQ(b->dev->value, 777);
	CHECK_EQ(b->d.t->core.queue_sel, 7);
	CHECK_EQ(save_dev(b->d.t, &sb), 0);
	CHECK(same(&sa, &sb));
	snap_out_free(&sb);

	hostile(t_, &b->d, &sa, cases, ARRAY_SIZE(cases), mock_usable);
	CHECK(b->dev->resets > 0); /* failed loads reset the device too */

	/* A device reset from the list (VM reset) clears everything a load brought. */
	CHECK_EQ(load_dev(b->d.t, sa.buf, sa.len), 0);
	devlist_reset(&b->fm.devs);
	CHECK_EQ(rd(&b->d, STATUS), 0);
	CHECK_EQ(b->d.t->core.vq[1].ready, 0);
	snap_out_free(&sa);
	mvm_free(a);
	mvm_free(b);
}

TEST(pending_interrupt_and_needs_reset_survive)
{
	struct mvm *a = mvm_new(), *b = mvm_new();
	const struct buf one = { 0, 8, 0 };
	struct snap_out sa, sb;

	CHECK(drv_start(&a->d, F_VERSION_1, 2));
	drv_request(&a->d, 0, &one, 1);
	CHECK_EQ(rd(&a->d, ISR), 1); /* not acknowledged */
	/* Break queue 1: a head index outside its table. */
	le16_put(ram(&a->d, ring_gpa(&a->d, 1, 1) + 4), QNUM + 1);
	le16_put(ram(&a->d, ring_gpa(&a->d, 1, 1) + 2), 1);
	quiet(1);
	wr(&a->d, QUEUE_NOTIFY, 1);
	a->d.t->db[1].h.fn(a->d.t->db[1].h.ctx);
	quiet(0);
	CHECK(rd(&a->d, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(a->d.t->core.vq[1].broken, 1);
	CHECK_EQ(save_dev(a->d.t, &sa), 0);
	CHECK_EQ(load_dev(b->d.t, sa.buf, sa.len), 0);
	CHECK_EQ(rd(&b->d, ISR), 3);
	CHECK(rd(&b->d, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(b->d.t->core.vq[1].broken, 1);
	CHECK_EQ(save_dev(b->d.t, &sb), 0);
	CHECK(same(&sa, &sb));
	snap_out_free(&sa);
	snap_out_free(&sb);
	mvm_free(a);
	mvm_free(b);
}

/* ---- virtio-net: its own section, and the whole device when a TAP can be had ---------- */

/* virtio 1.2 §5.1.3 bits, spelled out. */
#define NF_CSUM       (1ULL << 0)
#define NF_GUEST_CSUM (1ULL << 1)
#define NF_MAC        (1ULL << 5)
#define NF_STATUS     (1ULL << 16)

/* A struct vnet without a TAP: what its save/load touch (features, the watch). */
static struct vnet *fake_vnet(struct ioloop *loop, int efd, int no_offload)
{
	struct vnet *n = calloc(1, sizeof(*n));

	if (!n)
		abort();
	n->tap_fd = -1; /* TUNSETOFFLOAD fails (logged) and is otherwise harmless */
	n->loop = loop;
	n->no_offload = no_offload;
	snprintf(n->ifname, sizeof(n->ifname), "fake0");
	n->rx_h = (struct ioloop_handler){ .fd = efd, .fn = NULL, .ctx = n };
	return n;
}

static int net_load(struct vnet *n, const void *p, size_t len)
{
	struct snap_in in;
	int ret;

	snap_in_init(&in, p, len);
	ret = vnet_ops.load(n, &in);
	return ret ? ret : snap_in_end(&in);
}

TEST(net_section)
{
	struct fake_machine fm;
	struct vnet *a, *b, *plain;
	struct snap_out sa, sb;
	uint8_t p[16];
	int efd_a, efd_b;

	CHECK_EQ(fake_machine_init(&fm, RAM_BASE, RAM_SIZE), 0);
	efd_a = eventfd(0, EFD_CLOEXEC);
	efd_b = eventfd(0, EFD_CLOEXEC);
	a = fake_vnet(&fm.io, efd_a, 0);
	b = fake_vnet(&fm.io, efd_b, 0);
	plain = fake_vnet(&fm.io, efd_b, 1);
	quiet(1); /* TUNSETOFFLOAD on no TAP warns */
	vnet_ops.driver_ok(a, F_VERSION_1 | NF_MAC | NF_STATUS | NF_GUEST_CSUM | NF_CSUM);
	a->rx_watched = 0; /* the ring ran dry: frames wait for the driver's RX notify */
	snap_out_init(&sa);
	snap_out_init(&sb);
	CHECK_EQ(vnet_ops.save(a, &sa), 0);
	CHECK_EQ(sa.len, 9);
	b->rx_watched = 0;
	CHECK_EQ(net_load(b, sa.buf, sa.len), 0);
	CHECK_EQ(b->features, a->features);
	CHECK_EQ(b->rx_watched, 0);
	CHECK_EQ(vnet_ops.save(b, &sb), 0);
	CHECK(same(&sa, &sb));

	/* The watch comes back on when it was on. */
	memcpy(p, sa.buf, sa.len);
	p[8] = 1;
	CHECK_EQ(net_load(b, p, sa.len), 0);
	CHECK_EQ(b->rx_watched, 1);
	CHECK_EQ(fm.io.nr_handlers, 1);

	/* Hostile: truncations, a trailing byte, a device bit never offered, offloads on an
	 * offload=off NIC, a watch flag that is not 0/1. */
	for (size_t len = 0; len < sa.len; len++)
		CHECK_EQ(net_load(b, sa.buf, len), -EINVAL);
	memcpy(p, sa.buf, sa.len);
	p[sa.len] = 0;
	CHECK_EQ(net_load(b, p, sa.len + 1), -EINVAL);
	memcpy(p, sa.buf, sa.len);
	p[0] |= 1u << 2; /* bit 2, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS: never offered */
	CHECK_EQ(net_load(b, p, sa.len), -EINVAL);
	CHECK_EQ(net_load(plain, sa.buf, sa.len), -EINVAL); /* GUEST_CSUM and CSUM with offload=off */
	memcpy(p, sa.buf, sa.len);
	p[8] = 2;
	CHECK_EQ(net_load(b, p, sa.len), -EINVAL);
	quiet(0);

	vnet_close(b); /* stops watching */
	CHECK_EQ(fm.io.nr_handlers, 0);
	snap_out_free(&sa);
	snap_out_free(&sb);
	free(a);
	free(b);
	free(plain);
	close(efd_a);
	close(efd_b);
	fake_machine_destroy(&fm);
}

TEST(net_device_with_a_tap_when_allowed)
{
	struct vm *a, *b;
	struct drv na, nb;
	struct snap_out sa, sb;
	uint64_t f = F_VERSION_1 | F_EVENT_IDX | NF_MAC | NF_STATUS | NF_CSUM | NF_GUEST_CSUM;

	img_make();
	quiet(1);
	a = vm_new("vmonst0");
	b = a ? vm_new("vmonst1") : NULL;
	quiet(0);
	if (!a || !b) {
		printf("  (no TAP here, root needed: virtio-net covered by net_section only)\n");
		vm_free(a);
		unlink(img_path);
		return;
	}
	drv_bind(&na, &a->fm, "virtio-net0", RAM_BASE + 0x10000);
	drv_bind(&nb, &b->fm, "virtio-net0", RAM_BASE + 0x10000);
	CHECK(drv_start(&na, f, 2));
	CHECK_EQ(save_dev(na.t, &sa), 0);
	CHECK_EQ(load_dev(nb.t, sa.buf, sa.len), 0);
	CHECK_EQ(save_dev(nb.t, &sb), 0);
	CHECK(same(&sa, &sb));
	CHECK_EQ(((struct vnet *)nb.t->core.dev)->features, f);
	for (size_t len = 0; len < sa.len; len++)
		CHECK_EQ(load_quietly(nb.t, sa.buf, len), -EINVAL);
	CHECK_EQ(rd(&nb, STATUS), 0);
	snap_out_free(&sa);
	snap_out_free(&sb);
	vm_free(a);
	vm_free(b);
	unlink(img_path);
}

TEST_MAIN(T(rng_blk_round_trip), T(rng_blk_hostile_loads), T(mock_two_queues_round_trip_and_hostile),
	  T(pending_interrupt_and_needs_reset_survive), T(net_section),
	  T(net_device_with_a_tap_when_allowed))
