/*
 * fuzz_virtio_pci.c: libFuzzer harness for the virtio-pci transport
 * (src/virtio/pci.c over src/virtio/core.c, src/pci/pci.c and msix.c): a
 * hostile driver owns configuration space, every byte of the BAR (common
 * configuration, ISR, device configuration, notify slots, MSI-X table),
 * guest RAM behind the rings, and when the doorbells are processed.
 *
 * Owns: per input, a fake machine (tests/unit/fake_machine.c: 64 KiB of
 * RAM at GPA 0x100000, no KVM, so doorbells are not absorbed unless the
 * input says so and MSI-X messages go to machine_ops.msi), a PCI host and
 * one transport with a real device behind it: virtio-rng, or virtio-blk on
 * a 32 KiB memfd disk (zeroed per input). Everything is torn down after
 * each input, so inputs are independent. Threads: libFuzzer's one.
 *
 * Input layout (little-endian; tests/fuzz/make-seeds.py writes seeds):
 *   0  u8  flags: bit0 virtio-blk (else rng), bit1 prelude: the driver's
 *          handshake (memory decode on, VERSION_1 plus bit2's EVENT_IDX,
 *          queue 0 of 16 entries at desc 0x100000 / avail 0x101000 / used
 *          0x102000, DRIVER_OK), bit3 MSI-X on in the prelude (vector i at
 *          0xfee00000 data 0x40 + i, unmasked; config vector 0, queue 0's
 *          vector 1), bit4 the accelerator absorbs doorbells
 *   1  ops until the input ends, each an opcode byte (mod 11) and operands:
 *      0 BAR read     u16 offset (mod BAR size), u8 width (1 << (v % 4))
 *      1 BAR write    u16 offset, u8 width, u64 value
 *      2 common write u8 field (mod the field table), u32 value, at the
 *                     field's own width
 *      3 common read  u8 field
 *      4 config read  u16 offset (mod 4096, as ECAM would), u8 width (1 << (v % 3))
 *      5 config write u16 offset, u8 width, u32 value
 *      6 doorbell     u8 queue: run that queue's I/O loop handler
 *      7 RAM write    u16 offset (mod RAM), u8 n (mod 33), n bytes
 *      8 save, load the bytes back, save again
 *      9 VM reset of the transport (its dev_ops reset)
 *     10 notify       u8 queue: the driver's 2-byte write to its slot, then
 *                     the handler
 * BAR accesses go through the MMIO bus at the BAR's decoding address and
 * are dropped while it does not decode, as the guest would see.
 *
 * Checked after every op: the MSI-X vectors are inside the table or
 * NO_VECTOR, the status holds only §2.1's bits, each queue size is 0 or a
 * power of two up to the maximum, num_queues reads the device's count;
 * a save loads back (0) and saves again byte for byte the same.
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
#include "pci/msix.h"
#include "pci/pci.h"
#include "snapshot/stream.h"
#include "virtio/blk.h"
#include "virtio/pci.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#define RAM_GPA   0x100000ULL
#define RAM_SIZE  (64u * 1024)
#define DISK_SIZE (64u * 512)
#define QSIZE     16
#define NR_OPS    11

#define F_BLK     0x01
#define F_PRELUDE 0x02
#define F_EVENT   0x04
#define F_MSIX    0x08
#define F_ABSORB  0x10

/* Every defined status bit (§2.1). */
#define STATUS_ALL                                                                    \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |     \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)

/* The common configuration's fields (§4.1.4.3) as (offset, width). */
static const struct { uint8_t off, width; } fields[] = {
	{ 0x00, 4 }, { 0x04, 4 }, { 0x08, 4 }, { 0x0c, 4 }, { 0x10, 2 }, { 0x12, 2 },
	{ 0x14, 1 }, { 0x15, 1 }, { 0x16, 2 }, { 0x18, 2 }, { 0x1a, 2 }, { 0x1c, 2 },
	{ 0x1e, 2 }, { 0x20, 4 }, { 0x24, 4 }, { 0x28, 4 }, { 0x2c, 4 }, { 0x30, 4 },
	{ 0x34, 4 },
};

struct fz {
	struct fake_machine fm; /* first: the machine ops' ctx */
	struct machine_ops ops;
	struct pci_host *h;
	struct virtio_pci *t;
	int absorb;
	int disk_fd;
};

static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_msi(void *ctx, uint64_t addr, uint32_t data)
{
	(void)ctx, (void)addr, (void)data;
	return 0; /* delivered */
}

static int fz_doorbell(void *ctx, int fd, int is_pio, uint64_t addr, unsigned len, uint64_t match,
		       int assign)
{
	int ret = fake_doorbell(ctx, fd, is_pio, addr, len, match, assign);

	return fz.absorb ? 0 : ret;
}

static unsigned fz_intx_gsi(unsigned slot, unsigned pin)
{
	return 16 + (slot + pin) % 4;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR); /* what a hostile driver triggers is logged as warnings */
	fz.disk_fd = memfd_create("fuzz-virtio-pci", MFD_CLOEXEC);
	FUZZ_SETUP(fz.disk_fd >= 0 && ftruncate(fz.disk_fd, DISK_SIZE) == 0);
	return 0;
}

/* The transport's device, as devices.c would build it. */
static void fz_device(bool blk, const struct virtio_dev_ops **ops, void **dev)
{
	struct vblk_opts o;
	struct vblk *b;
	struct vrng *r;

	if (blk) {
		FUZZ_SETUP(ftruncate(fz.disk_fd, 0) == 0 && ftruncate(fz.disk_fd, DISK_SIZE) == 0);
		memset(&o, 0, sizeof(o));
		snprintf(o.path, sizeof(o.path), "/proc/self/fd/%d", fz.disk_fd);
		FUZZ_SETUP(vblk_create(fz.fm.m.mem, &o, &b) == 0);
		*ops = &vblk_ops;
		*dev = b;
	} else {
		FUZZ_SETUP(vrng_create(&r) == 0);
		*ops = &vrng_ops;
		*dev = r;
	}
}

static void fz_setup(uint8_t flags)
{
	struct pci_host_cfg cfg = { .ecam_base = 0xe0000000ULL, .mmio_base = 0xc0000000ULL,
				    .mmio_size = 0x10000000ULL, .io_base = 0xc000, .io_size = 0x1000,
				    .has_cf8 = 1, .intx_gsi = fz_intx_gsi };
	const struct virtio_dev_ops *ops;
	void *dev;

	FUZZ_SETUP(fake_machine_init(&fz.fm, RAM_GPA, RAM_SIZE) == 0);
	fz.ops = fake_machine_ops;
	fz.ops.msi = fz_msi;
	fz.ops.doorbell = fz_doorbell;
	fz.fm.m.ops = &fz.ops;
	fz.absorb = !!(flags & F_ABSORB);
	FUZZ_SETUP(pci_host_create(&fz.fm.m, &cfg, &fz.h) == 0);
	fz_device(flags & F_BLK, &ops, &dev);
	FUZZ_SETUP(virtio_pci_create(&fz.fm.m, fz.h, "virtio-fuzz0", ops, dev, &fz.t) == 0);
}

static unsigned fz_slot(void)
{
	return fz.t->func.slot;
}

/* ---- the driver's accesses ------------------------------------------------------- */

static void bar_access(uint64_t off, void *v, unsigned len, int is_write)
{
	const struct pci_bar *b = &fz.t->func.bar[VIRTIO_PCI_BAR];

	if (!b->decoding)
		return; /* the guest's access would reach nothing of ours */
	bus_access(&fz.fm.mmio, b->addr + off, v, len, is_write);
}

static void bar_wr(uint64_t off, unsigned len, uint64_t v)
{
	bar_access(off, &v, len, 1);
}

static void cfg_wr(unsigned off, unsigned len, uint32_t v)
{
	pci_cfg_write(fz.h, fz_slot(), off, len, v);
}

static void run_doorbell(unsigned q)
{
	struct virtio_pci_doorbell *db = &fz.t->db[q % VIRTIO_MAX_QUEUES];

	if (db->fd >= 0)
		db->h.fn(db->h.ctx);
}

/* What a Linux driver does up to DRIVER_OK (virtio_pci_modern), in a few writes. */
static void prelude(uint8_t flags)
{
	uint64_t feat = (1ULL << VIRTIO_F_VERSION_1) |
			(flags & F_EVENT ? 1ULL << VIRTIO_F_EVENT_IDX : 0);
	unsigned msix = fz.t->msix->cap;

	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (flags & F_MSIX) {
		for (unsigned i = 0; i < fz.t->nvec; i++) {
			uint64_t e = VIRTIO_PCI_MSIX_TABLE + MSIX_ENTRY_SIZE * i;

			bar_wr(e, 4, 0xfee00000u);
			bar_wr(e + 4, 4, 0);
			bar_wr(e + 8, 4, 0x40 + i);
			bar_wr(e + 12, 4, 0);
		}
		cfg_wr(msix + 2, 2, 0x8000);
	}
	bar_wr(0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_wr(0x08, 4, 0);
	bar_wr(0x0c, 4, (uint32_t)feat);
	bar_wr(0x08, 4, 1);
	bar_wr(0x0c, 4, (uint32_t)(feat >> 32));
	bar_wr(0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	bar_wr(0x10, 2, 0);
	bar_wr(0x16, 2, 0);
	bar_wr(0x18, 2, QSIZE);
	bar_wr(0x1a, 2, 1);
	bar_wr(0x20, 4, (uint32_t)RAM_GPA);
	bar_wr(0x28, 4, (uint32_t)RAM_GPA + 0x1000);
	bar_wr(0x30, 4, (uint32_t)RAM_GPA + 0x2000);
	bar_wr(0x1c, 2, 1);
	bar_wr(0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Save, load that back, save again: the two saves must match. */
static void round_trip(void)
{
	struct snap_out a, b;
	struct snap_in in;

	snap_out_init(&a);
	snap_out_init(&b);
	FUZZ_CHECK_EQ(virtio_pci_dev_ops.save(fz.t, &a), 0);
	snap_in_init(&in, a.buf, a.len);
	FUZZ_CHECK_EQ(virtio_pci_dev_ops.load(fz.t, &in), 0);
	FUZZ_CHECK_EQ(virtio_pci_dev_ops.save(fz.t, &b), 0);
	FUZZ_CHECK_EQ(a.len, b.len);
	FUZZ_CHECK(memcmp(a.buf, b.buf, a.len) == 0);
	snap_out_free(&a);
	snap_out_free(&b);
}

static void invariants(void)
{
	const struct virtio_pci *t = fz.t;
	const struct virtio_core *c = &t->core;
	unsigned nrq = c->ops->nr_queues;
	uint16_t numq = 0;

	FUZZ_CHECK(t->config_vector < t->nvec || t->config_vector == VIRTIO_PCI_NO_VECTOR);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		uint16_t n = c->q[i].num;

		FUZZ_CHECK(t->queue_vector[i] < t->nvec || t->queue_vector[i] == VIRTIO_PCI_NO_VECTOR);
		FUZZ_CHECK(n <= c->ops->queue_size_max && !(n & (n - 1)));
		FUZZ_CHECK(i < nrq || (!n && !c->vq[i].ready));
	}
	FUZZ_CHECK_EQ(c->status & ~(uint32_t)STATUS_ALL, 0);
	/* num_queues through the function's own handler: no side effects, decoding or not. */
	FUZZ_CHECK_EQ(t->func.ops->bar_read(t->func.dev, VIRTIO_PCI_BAR, 0x12, &numq, 2), 0);
	FUZZ_CHECK_EQ(numq, nrq);
}

static void one_op(struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in) % NR_OPS, buf[32];
	uint64_t v = 0;
	unsigned off, len, n;

	switch (op) {
	case 0:
		off = fuzz_u16(in) % VIRTIO_PCI_BAR_SIZE;
		len = 1u << (fuzz_u8(in) % 4);
		bar_access(off, &v, len, 0);
		break;
	case 1:
		off = fuzz_u16(in) % VIRTIO_PCI_BAR_SIZE;
		len = 1u << (fuzz_u8(in) % 4);
		v = fuzz_u32(in) | (uint64_t)fuzz_u32(in) << 32;
		bar_access(off, &v, len, 1);
		break;
	case 2:
		n = fuzz_u8(in) % (sizeof(fields) / sizeof(fields[0]));
		bar_wr(VIRTIO_PCI_COMMON + fields[n].off, fields[n].width, fuzz_u32(in));
		break;
	case 3:
		n = fuzz_u8(in) % (sizeof(fields) / sizeof(fields[0]));
		bar_access(VIRTIO_PCI_COMMON + fields[n].off, &v, fields[n].width, 0);
		break;
	case 4:
		off = fuzz_u16(in) % PCI_CFG_SIZE;
		len = 1u << (fuzz_u8(in) % 3);
		(void)pci_cfg_read(fz.h, fz_slot(), off, len);
		break;
	case 5:
		off = fuzz_u16(in) % PCI_CFG_SIZE;
		len = 1u << (fuzz_u8(in) % 3);
		cfg_wr(off, len, fuzz_u32(in));
		break;
	case 6:
		run_doorbell(fuzz_u8(in));
		break;
	case 7:
		off = fuzz_u16(in) % RAM_SIZE;
		n = fuzz_u8(in) % (sizeof(buf) + 1);
		for (unsigned i = 0; i < n; i++)
			buf[i] = fuzz_u8(in);
		if (n > RAM_SIZE - off)
			n = RAM_SIZE - off;
		memcpy(fz.fm.ram + off, buf, n);
		break;
	case 8:
		round_trip();
		break;
	case 9:
		virtio_pci_dev_ops.reset(fz.t);
		break;
	default:
		n = fuzz_u8(in) % VIRTIO_MAX_QUEUES;
		bar_wr(VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * n, 2, n);
		run_doorbell(n);
		break;
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
		one_op(&in);
		invariants();
	}
	fake_machine_destroy(&fz.fm); /* the transport, its device, the host */
	return 0;
}
