/*
 * fuzz_virtio_mmio.c: libFuzzer harness for the virtio-mmio transport
 * (src/virtio/mmio.c over src/virtio/core.c): a hostile driver owns every
 * byte of the 4 KiB register window (any width, any offset), guest RAM
 * behind the rings, when doorbells run, and the device's saved state.
 *
 * Owns: per input, a fake machine (tests/unit/fake_machine.c: 64 KiB of
 * RAM at GPA 0x100000, no KVM: doorbells are signalled by the QueueNotify
 * handler and run here by hand) and one transport on its MMIO bus with a
 * real device behind it: virtio-rng, or virtio-blk on a 32 KiB memfd disk
 * (zeroed per input). Everything is torn down after each input, so inputs
 * are independent. Threads: libFuzzer's one.
 *
 * Input layout (little-endian; tests/fuzz/make-seeds.py writes seeds):
 *   0  u8  flags: bit0 virtio-blk (else rng), bit1 prelude: the driver's
 *          handshake (VERSION_1 plus bit2's EVENT_IDX, queue 0 of 16
 *          entries at desc 0x100000 / avail 0x101000 / used 0x102000,
 *          DRIVER_OK)
 *   1  ops until the input ends, each an opcode byte (mod 10) and operands:
 *      0 read         u16 offset (mod the window), u8 width (1 << (v % 4))
 *      1 write        u16 offset, u8 width, u64 value
 *      2 register     u8 register (mod the table below), u32 value: a 32-bit write
 *      3 status write u8 value
 *      4 notify       u8 queue: QueueNotify, then that queue's doorbell handler
 *      5 RAM write    u16 offset (mod RAM), u8 n (mod 33), n bytes
 *      6 save, load the bytes back, save again
 *      7 load         u8 n, n bytes of hostile state (0 or -EINVAL, never half-loaded)
 *      8 VM reset of the transport (its dev_ops reset)
 *      9 doorbell     u8 queue: run its handler with no write (a spurious wake)
 *
 * Checked after every op (virtio 1.2 §2.1, §3.1.1, §4.2.2): the status
 * holds only §2.1's bits; DRIVER_OK never stands without FEATURES_OK;
 * FEATURES_OK, DRIVER_OK and DEVICE_NEEDS_RESET once set stay set until a
 * reset (status 0, the VM reset, or a load); no queue is ready before
 * FEATURES_OK; each queue size is 0 or a power of two up to the maximum;
 * the interrupt status holds only used-buffer and config-change bits;
 * MagicValue, Version and QueueNumMax of a missing queue read what §4.2.2
 * says. Per access: a register access that is not 32-bit and aligned reads
 * 0 and changes nothing; a config read past the device's structure reads 0;
 * a failed load leaves status 0; a save loads back and saves again byte for
 * byte the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../unit/fake_machine.c"
#include "fuzz.h"
#include "log.h"
#include "snapshot/stream.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#define RAM_GPA   0x100000ULL
#define RAM_SIZE  (64u * 1024)
#define DISK_SIZE (64u * 512)
#define QSIZE     16
#define NR_OPS    10
#define BASE      0xd0000000ULL
#define GSI       5
#define CONFIG    0x100
#define BLK_CFG_SIZE 24 /* struct virtio_blk_config as blk.c fills it */

#define F_BLK     0x01
#define F_PRELUDE 0x02
#define F_EVENT   0x04

#define STATUS_ALL                                                                    \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |     \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)
#define STATUS_STICKY                                                                 \
	(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)

/* The writable registers of §4.2.2. */
static const uint16_t regs[] = {
	0x014, 0x020, 0x024, 0x030, 0x038, 0x044, 0x050, 0x064, 0x070,
	0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4,
};

struct fz {
	struct fake_machine fm; /* first: the machine ops' ctx */
	struct virtio_mmio *t;
	int disk_fd;
	uint32_t sticky; /* STATUS_STICKY bits seen since the last reset */
	bool blk;
};

static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR); /* what a hostile driver triggers is logged as warnings */
	fz.disk_fd = memfd_create("fuzz-virtio-mmio", MFD_CLOEXEC);
	FUZZ_SETUP(fz.disk_fd >= 0 && ftruncate(fz.disk_fd, DISK_SIZE) == 0);
	return 0;
}

static void fz_setup(uint8_t flags)
{
	const struct virtio_dev_ops *ops;
	struct vblk_opts o;
	struct vblk *b;
	struct vrng *r;
	void *dev;

	FUZZ_SETUP(fake_machine_init(&fz.fm, RAM_GPA, RAM_SIZE) == 0);
	fz.blk = flags & F_BLK;
	fz.sticky = 0;
	if (fz.blk) {
		FUZZ_SETUP(ftruncate(fz.disk_fd, 0) == 0 && ftruncate(fz.disk_fd, DISK_SIZE) == 0);
		memset(&o, 0, sizeof(o));
		snprintf(o.path, sizeof(o.path), "/proc/self/fd/%d", fz.disk_fd);
		FUZZ_SETUP(vblk_create(fz.fm.m.mem, &o, &b) == 0);
		ops = &vblk_ops;
		dev = b;
	} else {
		FUZZ_SETUP(vrng_create(&r) == 0);
		ops = &vrng_ops;
		dev = r;
	}
	FUZZ_SETUP(virtio_mmio_create(&fz.fm.m, "virtio-fuzz0", BASE, GSI, ops, dev, &fz.t) == 0);
	FUZZ_SETUP(machine_map(fz.fm.m.mmio, BASE, VIRTIO_MMIO_WINDOW, &virtio_mmio_dev_ops, fz.t,
			       "virtio-fuzz0") == 0);
	FUZZ_SETUP(machine_add_dev(&fz.fm.m, &virtio_mmio_dev_ops, fz.t, "virtio-fuzz0") == 0);
}

static void rw(uint64_t off, void *v, unsigned len, int is_write)
{
	bus_access(&fz.fm.mmio, BASE + off, v, len, is_write);
}

static uint32_t rd32(uint64_t off)
{
	uint32_t v = 0;

	rw(off, &v, 4, 0);
	return v;
}

static void wr32(uint64_t off, uint32_t v)
{
	rw(off, &v, 4, 1);
}

static void run_doorbell(unsigned q)
{
	struct virtio_mmio_doorbell *db = &fz.t->db[q % VIRTIO_MAX_QUEUES];

	if (db->fd >= 0 && db->h.fn)
		db->h.fn(db->h.ctx);
}

/* What Linux's virtio_mmio driver does up to DRIVER_OK. */
static void prelude(uint8_t flags)
{
	uint64_t feat = (1ULL << VIRTIO_F_VERSION_1) |
			(flags & F_EVENT ? 1ULL << VIRTIO_F_EVENT_IDX : 0);

	wr32(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr32(0x024, 0);
	wr32(0x020, (uint32_t)feat);
	wr32(0x024, 1);
	wr32(0x020, (uint32_t)(feat >> 32));
	wr32(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	wr32(0x030, 0);
	wr32(0x038, QSIZE);
	wr32(0x080, (uint32_t)RAM_GPA);
	wr32(0x090, (uint32_t)RAM_GPA + 0x1000);
	wr32(0x0a0, (uint32_t)RAM_GPA + 0x2000);
	wr32(0x044, 1);
	wr32(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void round_trip(void)
{
	struct snap_out a, b;
	struct snap_in in;

	snap_out_init(&a);
	snap_out_init(&b);
	FUZZ_CHECK_EQ(virtio_mmio_dev_ops.save(fz.t, &a), 0);
	snap_in_init(&in, a.buf, a.len);
	FUZZ_CHECK_EQ(virtio_mmio_dev_ops.load(fz.t, &in), 0);
	FUZZ_CHECK_EQ(virtio_mmio_dev_ops.save(fz.t, &b), 0);
	FUZZ_CHECK_EQ(a.len, b.len);
	FUZZ_CHECK(memcmp(a.buf, b.buf, a.len) == 0);
	snap_out_free(&a);
	snap_out_free(&b);
}

/* A hostile state, or a saved one with a byte flipped: taken whole or refused whole. */
static void hostile_load(struct fuzz_in *in)
{
	struct snap_out a;
	struct snap_in si;
	uint8_t n = fuzz_u8(in), pos = fuzz_u8(in), x = fuzz_u8(in);
	int ret;

	snap_out_init(&a);
	FUZZ_CHECK_EQ(virtio_mmio_dev_ops.save(fz.t, &a), 0);
	if (n & 1) { /* a flipped byte in a real save */
		if (a.len)
			a.buf[pos % a.len] ^= x;
	} else { /* n / 2 raw input bytes */
		a.len = 0;
		for (unsigned i = 0; i < n / 2u; i++)
			snap_put_u8(&a, fuzz_u8(in));
	}
	snap_in_init(&si, a.buf, a.len);
	ret = virtio_mmio_dev_ops.load(fz.t, &si);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret)
		FUZZ_CHECK_EQ(fz.t->core.status, 0); /* never half-loaded: reset */
	else
		round_trip(); /* what was taken is a state we can save and take again */
	snap_out_free(&a);
}

static void invariants(void)
{
	const struct virtio_core *c = &fz.t->core;
	unsigned nrq = c->ops->nr_queues;
	uint32_t st = c->status;

	FUZZ_CHECK_EQ(st & ~(uint32_t)STATUS_ALL, 0);
	FUZZ_CHECK(!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_FEATURES_OK));
	FUZZ_CHECK_EQ(st & fz.sticky, fz.sticky); /* §2.1.1, §2.1.2 */
	fz.sticky |= st & STATUS_STICKY;
	FUZZ_CHECK_EQ(c->isr & ~(uint32_t)(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG), 0);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		uint16_t n = c->q[i].num;

		FUZZ_CHECK(n <= c->ops->queue_size_max && !(n & (n - 1)));
		FUZZ_CHECK(i < nrq || (!n && !c->vq[i].ready));
		FUZZ_CHECK(!c->vq[i].ready || (st & VIRTIO_STATUS_FEATURES_OK));
	}
	/* Side-effect-free registers, through the bus as the guest sees them. */
	FUZZ_CHECK_EQ(rd32(0x000), 0x74726976);
	FUZZ_CHECK_EQ(rd32(0x004), 2);
	FUZZ_CHECK_EQ(rd32(0x070), c->status);
	if (c->queue_sel >= nrq) {
		FUZZ_CHECK_EQ(rd32(0x034), 0);
		FUZZ_CHECK_EQ(rd32(0x044), 0);
	}
}

/* A guest read of len bytes at off: check what §4.2.2 says it returns. */
static void checked_read(unsigned off, unsigned len)
{
	uint64_t v = 0;
	unsigned cfg_size = fz.blk ? BLK_CFG_SIZE : 0;

	rw(off, &v, len, 0);
	if (off < CONFIG && (len != 4 || (off & 3)))
		FUZZ_CHECK_EQ(v, 0); /* registers are 32-bit only (§4.2.2.2) */
	if (off >= CONFIG && off - CONFIG >= cfg_size)
		FUZZ_CHECK_EQ(v, 0); /* past the device's configuration */
}

/* A write the transport must ignore (not 32-bit, or misaligned) leaves the core as it was. */
static void checked_write(unsigned off, unsigned len, uint64_t v)
{
	uint32_t status = fz.t->core.status, sel = fz.t->core.queue_sel;
	uint64_t feat = fz.t->core.drv_features;

	rw(off, &v, len, 1);
	if (off < CONFIG && (len != 4 || (off & 3))) {
		FUZZ_CHECK_EQ(fz.t->core.status, status);
		FUZZ_CHECK_EQ(fz.t->core.queue_sel, sel);
		FUZZ_CHECK_EQ(fz.t->core.drv_features, feat);
	}
}

/* Returns true when the op resets the device (the sticky bits start over). */
static bool one_op(struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in) % NR_OPS, buf[32];
	uint64_t v;
	unsigned off, len, n;

	switch (op) {
	case 0:
		off = fuzz_u16(in) % VIRTIO_MMIO_WINDOW;
		len = 1u << (fuzz_u8(in) % 4);
		if (off + len > VIRTIO_MMIO_WINDOW)
			off = VIRTIO_MMIO_WINDOW - len;
		checked_read(off, len);
		return false;
	case 1:
		off = fuzz_u16(in) % VIRTIO_MMIO_WINDOW;
		len = 1u << (fuzz_u8(in) % 4);
		if (off + len > VIRTIO_MMIO_WINDOW)
			off = VIRTIO_MMIO_WINDOW - len;
		v = fuzz_u32(in) | (uint64_t)fuzz_u32(in) << 32;
		checked_write(off, len, v);
		return off == 0x070 && len == 4 && !(uint32_t)v;
	case 2:
		n = fuzz_u8(in) % (sizeof(regs) / sizeof(regs[0]));
		v = fuzz_u32(in);
		wr32(regs[n], (uint32_t)v);
		if (regs[n] == 0x050)
			run_doorbell((unsigned)v);
		return regs[n] == 0x070 && !v;
	case 3:
		v = fuzz_u8(in);
		wr32(0x070, (uint32_t)v);
		return !v;
	case 4:
		n = fuzz_u8(in) % VIRTIO_MAX_QUEUES;
		wr32(0x050, n);
		run_doorbell(n);
		return false;
	case 5:
		off = fuzz_u16(in) % RAM_SIZE;
		n = fuzz_u8(in) % (sizeof(buf) + 1);
		for (unsigned i = 0; i < n; i++)
			buf[i] = fuzz_u8(in);
		if (n > RAM_SIZE - off)
			n = RAM_SIZE - off;
		memcpy(fz.fm.ram + off, buf, n);
		return false;
	case 6:
		round_trip();
		return false;
	case 7:
		hostile_load(in);
		return true;
	case 8:
		virtio_mmio_dev_ops.reset(fz.t);
		FUZZ_CHECK_EQ(fz.t->core.status, 0);
		return true;
	default:
		run_doorbell(fuzz_u8(in));
		return false;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { .p = data, .left = size };
	uint8_t flags;

	if (!size)
		return 0;
	flags = fuzz_u8(&in);
	fz_setup(flags);
	if (flags & F_PRELUDE)
		prelude(flags);
	invariants();
	while (in.left) {
		if (one_op(&in))
			fz.sticky = 0;
		invariants();
	}
	fake_machine_destroy(&fz.fm); /* the transport, its doorbells, its device */
	return 0;
}
