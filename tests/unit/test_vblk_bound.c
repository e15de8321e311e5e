/*
 * test_vblk_bound.c: a guest cannot hold a virtio device for long (#12).
 * virtio-blk's queue_notify takes at most VBLK_PASS_REQS requests and moves
 * at most VBLK_PASS_BYTES per pass, slicing a bigger request across passes
 * with the right data and refusing a save while one is half served;
 * virtio-net sends at most VNET_TX_BUDGET frames per pass; a pass with
 * work left makes the core call the transport's kick.
 * Owns: a flat guest RAM, a disk image in $TMPDIR, a socketpair as the TAP.
 * Threads: the test's only; queue_notify is called as the I/O thread would.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "snapshot/stream.h"
#include "test.h"
#include "util.h"
#include "virtio/blk.h"
#include "virtio/core.h"
#include "virtio/net.h"
#include "virtio/virtq.h"

#define QNUM     256
#define DESC     0x0
#define AVAIL    0x1000
#define USED     0x2000
#define HDRS     0x10000
#define STATUS   0x20000
#define DATA     0x100000ULL
#define BIG      (40ULL << 20) /* a request of 2.5 passes */
#define RAM_SIZE (DATA + BIG + (1 << 20))
#define DISK     (64ULL << 20)

/* A driver's side of one queue in flat RAM at GPA 0. */
struct drv {
	uint8_t *ram;
	struct gmem m;
	struct virtq q;
	uint16_t avail_idx, next_desc;
};

static void drv_init(struct drv *d)
{
	d->ram = calloc(1, RAM_SIZE);
	if (!d->ram || gmem_init_flat(&d->m, d->ram, 0, RAM_SIZE) ||
	    virtq_setup(&d->q, &d->m, QNUM, DESC, AVAIL, USED, false, false))
		abort();
	d->avail_idx = d->next_desc = 0;
}

static uint16_t desc(struct drv *d, uint64_t gpa, uint32_t len, uint16_t flags, int chained)
{
	uint16_t i = d->next_desc++ % QNUM;
	uint8_t *p = d->ram + DESC + 16 * i;

	le64_put(p, gpa);
	le32_put(p + 8, len);
	le16_put(p + 12, (uint16_t)(flags | (chained ? VIRTQ_DESC_F_NEXT : 0)));
	le16_put(p + 14, (uint16_t)((i + 1) % QNUM));
	return i;
}

/* Make request r available: header, one data buffer (len may be 0), status byte. */
static void drv_req(struct drv *d, unsigned r, uint32_t type, uint64_t sector, uint64_t data,
		    uint32_t len)
{
	uint8_t *h = d->ram + HDRS + 16 * r;
	uint16_t head;

	le32_put(h, type);
	le32_put(h + 4, 0);
	le64_put(h + 8, sector);
	d->ram[STATUS + r] = 0xff;
	head = desc(d, HDRS + 16 * r, 16, 0, 1);
	if (len)
		desc(d, data, len, type == 0 ? VIRTQ_DESC_F_WRITE : 0, 1);
	desc(d, STATUS + r, 1, VIRTQ_DESC_F_WRITE, 0);
	le16_put(d->ram + AVAIL + 4 + 2 * (d->avail_idx % QNUM), head);
	d->avail_idx++;
	le16_put(d->ram + AVAIL + 2, d->avail_idx);
}

static uint32_t used_len(struct drv *d, uint16_t i)
{
	return le32_get(d->ram + USED + 4 + 8 * (i % QNUM) + 4);
}

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off / 512) * 7 + off % 251);
}

/* A disk whose first BIG + 1 MiB bytes hold pattern(); path removed at once. */
static struct vblk *disk_new(void)
{
	char path[] = "/tmp/vblk_boundXXXXXX";
	int fd = mkstemp(path);
	static uint8_t chunk[1 << 20];
	struct vblk_opts o = { 0 };
	struct vblk *b;

	if (fd < 0 || ftruncate(fd, (off_t)DISK))
		abort();
	for (uint64_t off = 0; off < BIG + sizeof(chunk); off += sizeof(chunk)) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern(off + i);
		if (pwrite(fd, chunk, sizeof(chunk), (off_t)off) != (ssize_t)sizeof(chunk))
			abort();
	}
	close(fd);
	strcpy(o.path, path);
	if (vblk_create(NULL, &o, &b))
		abort();
	unlink(path);
	return b;
}

static int save_rc(struct vblk *b)
{
	struct snap_out out;
	int ret;

	snap_out_init(&out);
	ret = vblk_ops.save(b, &out);
	snap_out_free(&out);
	return ret;
}

static int pass(struct vblk *b, struct drv *d)
{
	d->q.more = false;
	return vblk_ops.queue_notify(b, &d->q, 0);
}

/* 80 small reads: 64 in the first pass (work left), the other 16 in the next. */
TEST(blk_request_bound)
{
	struct vblk *b = disk_new();
	struct drv d;

	drv_init(&d);
	for (unsigned r = 0; r < 80; r++)
		drv_req(&d, r, 0, r, DATA + 512 * r, 512);
	CHECK_EQ(pass(b, &d), VBLK_PASS_REQS);
	CHECK(d.q.more);
	CHECK_EQ(d.ram[STATUS + 63], 0);
	CHECK_EQ(d.ram[STATUS + 64], 0xff); /* not taken yet */
	CHECK_EQ(pass(b, &d), 80 - VBLK_PASS_REQS);
	CHECK(!d.q.more);
	CHECK_EQ(d.ram[STATUS + 79], 0);
	CHECK_EQ(d.ram[DATA + 512 * 5 + 3], pattern(5 * 512 + 3));
	CHECK_EQ(pass(b, &d), 0);
	CHECK(!d.q.more);
	vblk_ops.destroy(b);
	free(d.ram);
}

/* Three 8 MiB reads: the byte budget ends the first pass after two. */
TEST(blk_byte_bound)
{
	struct vblk *b = disk_new();
	struct drv d;
	uint32_t len = 8 << 20;

	drv_init(&d);
	for (unsigned r = 0; r < 3; r++)
		drv_req(&d, r, 0, 0, DATA + (uint64_t)len * r, len);
	CHECK_EQ(pass(b, &d), 2);
	CHECK(d.q.more);
	CHECK_EQ(d.ram[STATUS + 2], 0xff);
	CHECK_EQ(pass(b, &d), 1);
	CHECK_EQ(d.ram[STATUS + 2], 0);
	CHECK_EQ(used_len(&d, 2), len + 1);
	vblk_ops.destroy(b);
	free(d.ram);
}

/* A 40 MiB read takes three passes, refuses a save in between, and reads right. */
TEST(blk_big_read_sliced)
{
	struct vblk *b = disk_new();
	struct drv d;
	uint64_t bad = 0;

	drv_init(&d);
	CHECK_EQ(save_rc(b), 0);
	drv_req(&d, 0, 0, 0, DATA, (uint32_t)BIG);
	CHECK_EQ(pass(b, &d), 0);
	CHECK(d.q.more);
	CHECK_EQ(save_rc(b), -EBUSY);
	CHECK_EQ(d.ram[DATA + VBLK_PASS_BYTES - 1], pattern(VBLK_PASS_BYTES - 1));
	CHECK_EQ(d.ram[DATA + VBLK_PASS_BYTES], 0); /* the next slice is not read yet */
	CHECK_EQ(pass(b, &d), 0);
	CHECK(d.q.more);
	CHECK_EQ(pass(b, &d), 1);
	CHECK(!d.q.more);
	CHECK_EQ(d.ram[STATUS], 0);
	CHECK_EQ(used_len(&d, 0), BIG + 1);
	for (uint64_t i = 0; i < BIG; i++)
		bad += d.ram[DATA + i] != pattern(i);
	CHECK_EQ(bad, 0);
	CHECK_EQ(d.ram[DATA + BIG], 0); /* nothing past the buffer */
	CHECK_EQ(save_rc(b), 0);
	vblk_ops.destroy(b);
	free(d.ram);
}

/* A 40 MiB write sliced the same way lands whole; then read back through a second request. */
TEST(blk_big_write_sliced)
{
	struct vblk *b = disk_new();
	struct drv d;
	uint64_t bad = 0;
	int passes = 0;

	drv_init(&d);
	for (uint64_t i = 0; i < BIG; i++)
		d.ram[DATA + i] = (uint8_t)(i * 13 + 1);
	drv_req(&d, 0, 1, 2048, DATA, (uint32_t)BIG);
	while (pass(b, &d) == 0 && d.q.more && passes < 10)
		passes++;
	CHECK_EQ(passes, 2); /* two passes left work, the third completed it */
	CHECK_EQ(d.ram[STATUS], 0);
	memset(d.ram + DATA, 0, BIG);
	drv_req(&d, 1, 0, 2048, DATA, (uint32_t)BIG);
	for (passes = 0; passes < 10 && d.ram[STATUS + 1] == 0xff; passes++)
		pass(b, &d);
	CHECK_EQ(d.ram[STATUS + 1], 0);
	for (uint64_t i = 0; i < BIG; i++)
		bad += d.ram[DATA + i] != (uint8_t)(i * 13 + 1);
	CHECK_EQ(bad, 0);
	vblk_ops.destroy(b);
	free(d.ram);
}

/* A reset drops a half-served request: the next ring starts clean. */
TEST(blk_reset_drops_slice)
{
	struct vblk *b = disk_new();
	struct drv d;

	drv_init(&d);
	drv_req(&d, 0, 0, 0, DATA, (uint32_t)BIG);
	CHECK_EQ(pass(b, &d), 0);
	CHECK_EQ(save_rc(b), -EBUSY);
	vblk_ops.reset(b);
	CHECK_EQ(save_rc(b), 0);
	free(d.ram);
	drv_init(&d);
	CHECK_EQ(pass(b, &d), 0);
	CHECK(!d.q.more);
	vblk_ops.destroy(b);
	free(d.ram);
}

static unsigned kicks;

static void count_kick(void *ctx, unsigned qi)
{
	(void)ctx;
	if (qi == 0)
		kicks++;
}

/* Through the core: a pass with work left kicks the transport, the last one does not. */
TEST(core_kicks_when_more)
{
	struct virtio_core c;
	struct drv d;

	drv_init(&d);
	CHECK_EQ(virtio_core_init(&c), 0);
	virtio_core_attach(&c, "virtio-blk-t", &vblk_ops, disk_new(), &d.m);
	c.kick = count_kick;
	c.kick_ctx = NULL;
	c.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK;
	if (virtq_setup(&c.vq[0], &d.m, QNUM, DESC, AVAIL, USED, false, false))
		abort();
	for (unsigned r = 0; r < 70; r++)
		drv_req(&d, r, 0, r, DATA + 512 * r, 512);
	kicks = 0;
	virtio_core_process(&c, 0);
	CHECK_EQ(kicks, 1);
	virtio_core_process(&c, 0);
	CHECK_EQ(kicks, 1);
	CHECK_EQ(d.ram[STATUS + 69], 0);
	virtio_core_destroy(&c);
	free(d.ram);
}

/* 100 frames queued: 64 sent in the first pass (work left), 36 in the next. */
TEST(net_tx_bound)
{
	struct vnet *n = calloc(1, sizeof(*n));
	struct drv d;
	int sv[2];

	drv_init(&d);
	if (!n || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv))
		abort();
	n->m = &d.m;
	n->tap_fd = sv[0];
	for (unsigned r = 0; r < 100; r++) {
		uint16_t head = desc(&d, DATA + 64 * r, 64, 0, 0); /* header and a short frame */

		le16_put(d.ram + AVAIL + 4 + 2 * (d.avail_idx % QNUM), head);
		d.avail_idx++;
	}
	le16_put(d.ram + AVAIL + 2, d.avail_idx);
	d.q.more = false;
	CHECK_EQ(vnet_ops.queue_notify(n, &d.q, VNET_TXQ), VNET_TX_BUDGET);
	CHECK(d.q.more);
	CHECK_EQ(n->tx_packets + n->tx_errors, VNET_TX_BUDGET);
	d.q.more = false;
	CHECK_EQ(vnet_ops.queue_notify(n, &d.q, VNET_TXQ), 100 - VNET_TX_BUDGET);
	CHECK(!d.q.more);
	close(sv[0]);
	close(sv[1]);
	free(n);
	free(d.ram);
}

TEST_MAIN(T(blk_request_bound), T(blk_byte_bound), T(blk_big_read_sliced),
	  T(blk_big_write_sliced), T(blk_reset_drops_slice), T(core_kicks_when_more),
	  T(net_tx_bound))
