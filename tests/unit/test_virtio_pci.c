/*
 * test_virtio_pci.c: unit tests for the virtio-pci modern transport
 * (src/virtio/pci.c over src/virtio/core.c, src/pci/pci.c and
 * src/pci/msix.c), driven as a guest driver would: configuration space
 * through mechanism #1 (ports 0xCF8/0xCFC on the PIO bus), the BAR through
 * the MMIO bus once the driver enabled memory decode.
 *
 * The transport is built by its real constructor (virtio_pci_create) on a
 * real PCI host over a fake machine (fake_machine.c) with a real virtio-rng
 * behind it. The fake's ops are copied into a table of this file's own
 * that also records MSI messages (the fake answers -ENOTSUP, so msix.c
 * sends each message with machine_ops.msi) and, when a test asks, absorbs
 * doorbells as an accelerator with ioeventfd would.
 * Covered: the function's identity (rng, and blk as a second function
 * with its device configuration read through the BAR), the capability list (the five virtio
 * capabilities, MSI-X, where they point), feature negotiation, queue setup,
 * a request through the notify doorbell completing with an MSI-X message,
 * the INTx + ISR path with MSI-X off, doorbell registration following the
 * BAR, the PCI configuration access window, reset, stats, save/load round
 * trip; and hostile accesses: widths §4.1.3.1 forbids, queue_select out of
 * range, MSI-X vectors outside the table, writes to read-only fields,
 * notifies to other slots, window accesses out of range, and hostile
 * saved sections. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_machine.c"
#include "pci/msix.h"
#include "pci/pci.h"
#include "test.h"
#include "virtio/blk.h"
#include "virtio/pci.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#define RAM_BASE  0x100000ULL
#define RAM_SIZE  (64 * 1024)
#define ECAM_BASE 0xe0000000ULL
#define WIN_BASE  0xc0000000ULL
#define WIN_SIZE  0x10000000ULL
#define IO_BASE   0xc000ULL
#define IO_SIZE   0x1000ULL
#define INTX_GSI  11
#define QSIZE     8

/* Common configuration offsets (virtio 1.2 §4.1.4.3), inside the BAR. */
enum {
	DFSELECT = 0x00, DF = 0x04, GFSELECT = 0x08, GF = 0x0c, MSIX_CONFIG = 0x10, NUMQ = 0x12,
	STATUS = 0x14, CFGGEN = 0x15, Q_SELECT = 0x16, Q_SIZE = 0x18, Q_MSIX = 0x1a,
	Q_ENABLE = 0x1c, Q_NOFF = 0x1e, Q_DESCLO = 0x20, Q_DESCHI = 0x24, Q_AVAILLO = 0x28,
	Q_AVAILHI = 0x2c, Q_USEDLO = 0x30, Q_USEDHI = 0x34,
};

#define DESC_GPA  RAM_BASE
#define AVAIL_GPA (RAM_BASE + 0x1000)
#define USED_GPA  (RAM_BASE + 0x2000)
#define BUF_GPA   (RAM_BASE + 0x3000)
#define MSI_ADDR  0xfee00000u

#define VERSION_1 (1ULL << VIRTIO_F_VERSION_1)
#define ST_FEAT (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

struct msi_rec {
	uint64_t addr;
	uint32_t data;
};

struct fx {
	struct fake_machine fm; /* first: the ops' ctx is the fake machine */
	struct machine_ops ops; /* the fake's, with msi and doorbell recording */
	struct pci_host *h;     /* on fm's device list */
	struct virtio_pci *t;   /* on fm's device list, plugged into h */
	unsigned slot;
	uint64_t bar;           /* where the BAR decodes once enabled */
	int absorb;             /* doorbell answers 0 (an ioeventfd took it) */
	struct msi_rec msi[FAKE_MAX_RECORDS];
	unsigned nr_msi;
};

static int fx_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct fx *f = ctx;

	if (f->nr_msi < FAKE_MAX_RECORDS)
		f->msi[f->nr_msi++] = (struct msi_rec){ .addr = addr, .data = data };
	return 0;
}

static int fx_doorbell(void *ctx, int fd, int is_pio, uint64_t addr, unsigned len, uint64_t match,
		       int assign)
{
	struct fx *f = ctx;
	int ret = fake_doorbell(ctx, fd, is_pio, addr, len, match, assign);

	return f->absorb ? 0 : ret;
}

static unsigned fx_intx_gsi(unsigned slot, unsigned pin)
{
	(void)slot, (void)pin;
	return INTX_GSI;
}

static struct fx *fx_new_with(int absorb)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pci_host_cfg cfg = { .ecam_base = ECAM_BASE, .mmio_base = WIN_BASE,
				    .mmio_size = WIN_SIZE, .io_base = IO_BASE, .io_size = IO_SIZE,
				    .has_cf8 = 1, .intx_gsi = fx_intx_gsi };
	struct vrng *r;

	if (!f || fake_machine_init(&f->fm, RAM_BASE, RAM_SIZE))
		abort();
	f->ops = fake_machine_ops;
	f->ops.msi = fx_msi;
	f->ops.doorbell = fx_doorbell;
	f->fm.m.ops = &f->ops;
	f->absorb = absorb;
	if (pci_host_create(&f->fm.m, &cfg, &f->h) || vrng_create(&r) ||
	    virtio_pci_create(&f->fm.m, f->h, "virtio-rng0", &vrng_ops, r, &f->t))
		abort();
	f->slot = f->t->func.slot;
	return f;
}

static struct fx *fx_new(void)
{
	return fx_new_with(0);
}

static void fx_free(struct fx *f)
{
	fake_machine_destroy(&f->fm); /* the transport (doorbells, MSI-X, device), then the host */
	free(f);
}

/* ---- configuration space through mechanism #1 ----------------------------------- */

static void cf8_select(struct fx *f, unsigned off)
{
	uint32_t a = 0x80000000u | f->slot << 11 | (off & 0xfc);

	bus_access(&f->fm.pio, PCI_CF8_PORT, &a, 4, 1);
}

static uint32_t cfg_rd(struct fx *f, unsigned off, unsigned len)
{
	uint32_t v = 0;

	cf8_select(f, off);
	bus_access(&f->fm.pio, PCI_CF8_PORT + 4 + (off & 3), &v, len, 0);
	return v;
}

static void cfg_wr(struct fx *f, unsigned off, unsigned len, uint32_t v)
{
	cf8_select(f, off);
	bus_access(&f->fm.pio, PCI_CF8_PORT + 4 + (off & 3), &v, len, 1);
}

/* What firmware assigned to BAR 4/5 (a 64-bit memory BAR). */
static uint64_t bar_addr(struct fx *f)
{
	uint64_t lo = cfg_rd(f, PCI_BAR0 + 4 * VIRTIO_PCI_BAR, 4) & ~0xfu;

	return lo | (uint64_t)cfg_rd(f, PCI_BAR0 + 4 * VIRTIO_PCI_BAR + 4, 4) << 32;
}

/* The driver turns memory decode and bus mastering on. */
static void enable(struct fx *f)
{
	f->bar = bar_addr(f);
	cfg_wr(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* ---- the BAR ---------------------------------------------------------------------- */

static void bar_access(struct fx *f, uint64_t off, void *v, unsigned len, int is_write)
{
	bus_access(&f->fm.mmio, f->bar + off, v, len, is_write);
}

static uint32_t rd(struct fx *f, uint64_t off, unsigned len)
{
	uint32_t v = 0;

	bar_access(f, off, &v, len, 0);
	return v;
}

static void wr(struct fx *f, uint64_t off, unsigned len, uint32_t v)
{
	bar_access(f, off, &v, len, 1);
}

/* The common configuration's fields at their widths. */
static uint32_t crd(struct fx *f, unsigned off)
{
	unsigned len = off == STATUS || off == CFGGEN ? 1 : off >= 0x10 && off < 0x20 ? 2 : 4;

	return rd(f, VIRTIO_PCI_COMMON + off, len);
}

static void cwr(struct fx *f, unsigned off, uint32_t v)
{
	unsigned len = off == STATUS || off == CFGGEN ? 1 : off >= 0x10 && off < 0x20 ? 2 : 4;

	wr(f, VIRTIO_PCI_COMMON + off, len, v);
}

static void negotiate(struct fx *f, uint64_t features)
{
	cwr(f, STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cwr(f, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	cwr(f, GFSELECT, 0);
	cwr(f, GF, (uint32_t)features);
	cwr(f, GFSELECT, 1);
	cwr(f, GF, (uint32_t)(features >> 32));
	cwr(f, STATUS, ST_FEAT);
}

/* Queue 0 laid out in RAM with QSIZE entries, enabled. */
static void queue0(struct fx *f)
{
	cwr(f, Q_SELECT, 0);
	cwr(f, Q_SIZE, QSIZE);
	cwr(f, Q_DESCLO, (uint32_t)DESC_GPA);
	cwr(f, Q_DESCHI, 0);
	cwr(f, Q_AVAILLO, (uint32_t)AVAIL_GPA);
	cwr(f, Q_USEDLO, (uint32_t)USED_GPA);
	cwr(f, Q_ENABLE, 1);
}

static void driver_ok(struct fx *f)
{
	negotiate(f, VERSION_1);
	queue0(f);
	cwr(f, STATUS, ST_FEAT | VIRTIO_STATUS_DRIVER_OK);
}

static uint16_t *ram16(struct fx *f, uint64_t gpa)
{
	return fake_machine_ram(&f->fm, gpa);
}

/* Post one device-writable buffer of len bytes as request number n (0-based). */
static void post(struct fx *f, unsigned n, uint32_t len)
{
	uint8_t *d = fake_machine_ram(&f->fm, DESC_GPA + 16 * (n % QSIZE));
	uint64_t addr = BUF_GPA + 64 * (n % QSIZE);
	uint16_t flags = VIRTQ_DESC_F_WRITE;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memset(d + 14, 0, 2);
	ram16(f, AVAIL_GPA)[2 + n % QSIZE] = (uint16_t)(n % QSIZE);
	ram16(f, AVAIL_GPA)[1] = (uint16_t)(n + 1);
}

static uint16_t used_idx(struct fx *f)
{
	return ram16(f, USED_GPA)[1];
}

/* Ring queue 0's doorbell as Linux does (iowrite16 of the index), then run the I/O loop's handler. */
static void kick(struct fx *f)
{
	wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	f->t->db[0].h.fn(f->t->db[0].h.ctx);
}

/* Drain an eventfd: how many times it was written since the last drain. */
static uint64_t events(int fd)
{
	uint64_t n = 0;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

/* The offset of the capability with this id (and virtio cfg_type, for vendor ones), or 0. */
static unsigned find_cap(struct fx *f, uint8_t id, uint8_t type)
{
	unsigned p = cfg_rd(f, PCI_CAP_PTR, 1) & 0xfc;

	for (unsigned n = 0; p && n < 48; n++) {
		if (cfg_rd(f, p, 1) == id && (id != PCI_CAP_ID_VENDOR || cfg_rd(f, p + 3, 1) == type))
			return p;
		p = cfg_rd(f, p + 1, 1) & 0xfc;
	}
	return 0;
}

/* Turn MSI-X on and program vector vec to (MSI_ADDR, data), unmasked. */
static void msix_on(struct fx *f, unsigned vec, uint32_t data)
{
	unsigned cap = find_cap(f, PCI_CAP_ID_MSIX, 0);
	uint64_t e = VIRTIO_PCI_MSIX_TABLE + 16 * vec;

	wr(f, e, 4, MSI_ADDR);
	wr(f, e + 4, 4, 0);
	wr(f, e + 8, 4, data);
	wr(f, e + 12, 4, 0); /* vector control: unmasked */
	cfg_wr(f, cap + 2, 2, cfg_rd(f, cap + 2, 2) | 0x8000); /* message control: Enable */
}

/* ---- tests -------------------------------------------------------------------------- */

TEST(identity)
{
	struct fx *f = fx_new();

	CHECK_EQ(cfg_rd(f, PCI_VENDOR_ID, 2), 0x1af4);
	CHECK_EQ(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	CHECK_EQ(cfg_rd(f, PCI_REVISION_ID, 1), 1);
	CHECK_EQ(cfg_rd(f, PCI_CLASS_PROG, 1), 0x00);
	CHECK_EQ(cfg_rd(f, PCI_CLASS_DEVICE, 2), 0x00ff);
	CHECK_EQ(cfg_rd(f, PCI_SUBSYS_VENDOR, 2), 0x1af4);
	CHECK_EQ(cfg_rd(f, PCI_SUBSYS_ID, 2), VIRTIO_ID_RNG);
	CHECK_EQ(cfg_rd(f, PCI_INTERRUPT_PIN, 1), 1);
	CHECK_EQ(cfg_rd(f, PCI_INTERRUPT_LINE, 1), INTX_GSI);
	CHECK(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	/* BAR 4: 64-bit memory, 16 KiB (the driver sizes it). */
	CHECK_EQ(cfg_rd(f, PCI_BAR0 + 16, 4) & 0x7, 0x4);
	cfg_wr(f, PCI_BAR0 + 16, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(f, PCI_BAR0 + 16, 4) & ~0xfu, (uint32_t)-VIRTIO_PCI_BAR_SIZE);
	fx_free(f);
}

TEST(second_function_blk)
{
	struct fx *f = fx_new();
	int fd = memfd_create("test-virtio-pci", MFD_CLOEXEC);
	struct vblk_opts o = { 0 };
	struct virtio_pci *blk;
	struct vblk *b;
	unsigned rng_slot = f->slot;

	CHECK(fd >= 0 && ftruncate(fd, 64 * 512) == 0);
	snprintf(o.path, sizeof(o.path), "/proc/self/fd/%d", fd);
	CHECK(vblk_create(&f->fm.mem, &o, &b) == 0);
	CHECK(virtio_pci_create(&f->fm.m, f->h, "virtio-blk0", &vblk_ops, b, &blk) == 0);
	f->t = blk; /* the helpers now drive the blk function */
	f->slot = blk->func.slot;
	CHECK(f->slot != rng_slot);
	CHECK_EQ(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_BLOCK);
	CHECK_EQ(cfg_rd(f, PCI_CLASS_DEVICE, 2), 0x0100); /* mass storage, SCSI */
	CHECK_EQ(cfg_rd(f, PCI_SUBSYS_ID, 2), VIRTIO_ID_BLOCK);
	enable(f);
	/* Device configuration through the BAR: capacity in sectors (§5.2.4). */
	CHECK_EQ(rd(f, VIRTIO_PCI_DEVCFG, 4), 64);
	CHECK_EQ(rd(f, VIRTIO_PCI_DEVCFG + 4, 4), 0);
	wr(f, VIRTIO_PCI_DEVCFG, 4, 1); /* read-only: ignored */
	CHECK_EQ(rd(f, VIRTIO_PCI_DEVCFG, 4), 64);
	close(fd);
	fx_free(f);
}

TEST(capabilities)
{
	struct fx *f = fx_new();
	static const struct { uint8_t type; uint32_t off, len; } want[] = {
		{ VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON, VIRTIO_PCI_COMMON_LEN },
		{ VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY, 1 * VIRTIO_PCI_NOTIFY_MULT },
		{ VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR, 1 },
		{ VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVCFG, VIRTIO_PCI_DEVCFG_LEN },
	};
	unsigned p, x;

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		p = find_cap(f, PCI_CAP_ID_VENDOR, want[i].type);
		CHECK(p >= 0x40);
		CHECK_EQ(cfg_rd(f, p + 2, 1), want[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16);
		CHECK_EQ(cfg_rd(f, p + 4, 1), VIRTIO_PCI_BAR);
		CHECK_EQ(cfg_rd(f, p + 8, 4), want[i].off);
		CHECK_EQ(cfg_rd(f, p + 12, 4), want[i].len);
		if (want[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			CHECK_EQ(cfg_rd(f, p + 16, 4), VIRTIO_PCI_NOTIFY_MULT);
	}
	p = find_cap(f, PCI_CAP_ID_VENDOR, VIRTIO_PCI_CAP_PCI_CFG);
	CHECK(p >= 0x40);
	CHECK_EQ(cfg_rd(f, p + 2, 1), 20);
	/* The vendor capabilities' own fields are read-only; the window's are the driver's. */
	x = find_cap(f, PCI_CAP_ID_VENDOR, VIRTIO_PCI_CAP_COMMON_CFG);
	cfg_wr(f, x + 8, 4, 0x1234);
	CHECK_EQ(cfg_rd(f, x + 8, 4), VIRTIO_PCI_COMMON);
	cfg_wr(f, p + 12, 4, 2);
	CHECK_EQ(cfg_rd(f, p + 12, 4), 2);
	/* MSI-X: queues + 1 vectors, table and PBA in BAR 4. */
	p = find_cap(f, PCI_CAP_ID_MSIX, 0);
	CHECK(p >= 0x40);
	CHECK_EQ((cfg_rd(f, p + 2, 2) & 0x7ff) + 1, 2);
	CHECK_EQ(cfg_rd(f, p + 4, 4), VIRTIO_PCI_MSIX_TABLE | VIRTIO_PCI_BAR);
	CHECK_EQ(cfg_rd(f, p + 8, 4), VIRTIO_PCI_MSIX_PBA | VIRTIO_PCI_BAR);
	fx_free(f);
}

TEST(bar_decodes_only_when_enabled)
{
	struct fx *f = fx_new();

	f->bar = bar_addr(f);
	CHECK(f->bar >= WIN_BASE && f->bar + VIRTIO_PCI_BAR_SIZE <= WIN_BASE + WIN_SIZE);
	CHECK_EQ(f->bar % VIRTIO_PCI_BAR_SIZE, 0);
	CHECK_EQ(crd(f, NUMQ), 0xffff); /* memory decode off: all ones */
	enable(f);
	CHECK_EQ(crd(f, NUMQ), 1);
	fx_free(f);
}

TEST(feature_negotiation)
{
	struct fx *f = fx_new();

	enable(f);
	cwr(f, DFSELECT, 0);
	CHECK_EQ(crd(f, DF), (1u << VIRTIO_F_INDIRECT_DESC) | (1u << VIRTIO_F_EVENT_IDX));
	cwr(f, DFSELECT, 1);
	CHECK_EQ(crd(f, DF), 1); /* VERSION_1 */
	CHECK_EQ(crd(f, DFSELECT), 1);
	cwr(f, DFSELECT, 2);
	CHECK_EQ(crd(f, DF), 0);

	negotiate(f, 1ULL << VIRTIO_F_EVENT_IDX); /* no VERSION_1: refused */
	CHECK_EQ(crd(f, STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	cwr(f, STATUS, 0);
	negotiate(f, VERSION_1 | (1ULL << VIRTIO_F_EVENT_IDX));
	CHECK_EQ(crd(f, STATUS), ST_FEAT);
	cwr(f, GFSELECT, 1);
	CHECK_EQ(crd(f, GF), 1);
	cwr(f, GFSELECT, 0);
	CHECK_EQ(crd(f, GF), 1u << VIRTIO_F_EVENT_IDX);
	cwr(f, GF, 0); /* frozen after FEATURES_OK */
	CHECK_EQ(crd(f, GF), 1u << VIRTIO_F_EVENT_IDX);
	CHECK_EQ(crd(f, CFGGEN), 0);
	fx_free(f);
}

TEST(queue_setup)
{
	struct fx *f = fx_new();

	enable(f);
	CHECK_EQ(crd(f, NUMQ), 1);
	cwr(f, Q_SELECT, 0);
	CHECK_EQ(crd(f, Q_SIZE), 64); /* the maximum until the driver writes it */
	CHECK_EQ(crd(f, Q_NOFF), 0);
	CHECK_EQ(crd(f, Q_MSIX), VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(crd(f, Q_ENABLE), 0);
	negotiate(f, VERSION_1);
	cwr(f, Q_SIZE, QSIZE);
	cwr(f, Q_DESCLO, (uint32_t)DESC_GPA);
	cwr(f, Q_DESCHI, 0);
	cwr(f, Q_AVAILLO, (uint32_t)AVAIL_GPA);
	cwr(f, Q_AVAILHI, 0);
	cwr(f, Q_USEDLO, (uint32_t)USED_GPA);
	cwr(f, Q_USEDHI, 0);
	CHECK_EQ(crd(f, Q_SIZE), QSIZE);
	CHECK_EQ(crd(f, Q_DESCLO), DESC_GPA);
	CHECK_EQ(crd(f, Q_AVAILLO), AVAIL_GPA);
	CHECK_EQ(crd(f, Q_USEDLO), USED_GPA);
	CHECK_EQ(crd(f, Q_USEDHI), 0);
	cwr(f, Q_ENABLE, 1);
	CHECK_EQ(crd(f, Q_ENABLE), 1);
	/* Enabled: the layout is frozen, a second enable does not restart the queue. */
	cwr(f, Q_DESCHI, 1);
	CHECK_EQ(crd(f, Q_DESCHI), 0);
	f->t->core.vq[0].last_avail_idx = 3;
	cwr(f, Q_ENABLE, 1);
	CHECK_EQ(f->t->core.vq[0].last_avail_idx, 3);
	cwr(f, Q_ENABLE, 0); /* §4.1.4.3.2: the driver never writes 0; ignored */
	CHECK_EQ(crd(f, Q_ENABLE), 1);
	fx_free(f);
}

TEST(request_with_msix)
{
	struct fx *f = fx_new();
	uint8_t *buf;

	enable(f);
	msix_on(f, 1, 0x41);
	cwr(f, MSIX_CONFIG, 0);
	CHECK_EQ(crd(f, MSIX_CONFIG), 0);
	driver_ok(f);
	cwr(f, Q_SELECT, 0);
	cwr(f, Q_MSIX, 1);
	CHECK_EQ(crd(f, Q_MSIX), 1);
	buf = fake_machine_ram(&f->fm, BUF_GPA);
	post(f, 0, 32);
	kick(f);
	CHECK_EQ(used_idx(f), 1);
	CHECK_EQ(*(uint32_t *)fake_machine_ram(&f->fm, USED_GPA + 8), 32); /* used len */
	CHECK(memcmp(buf, (uint8_t[32]){ 0 }, 32) != 0);
	CHECK_EQ(f->nr_msi, 1);
	CHECK_EQ(f->msi[0].addr, MSI_ADDR);
	CHECK_EQ(f->msi[0].data, 0x41);
	CHECK_EQ(f->fm.level[INTX_GSI], 0); /* MSI-X on: no INTx */

	/* No vector for the queue: the request completes, no interrupt at all. */
	cwr(f, Q_MSIX, VIRTIO_PCI_NO_VECTOR);
	post(f, 1, 16);
	kick(f);
	CHECK_EQ(used_idx(f), 2);
	CHECK_EQ(f->nr_msi, 1);
	CHECK_EQ(f->fm.level[INTX_GSI], 0);
	fx_free(f);
}

TEST(intx_and_isr)
{
	struct fx *f = fx_new();

	enable(f);
	driver_ok(f);
	cwr(f, Q_MSIX, 1); /* ignored while MSI-X is off */
	post(f, 0, 16);
	kick(f);
	CHECK_EQ(used_idx(f), 1);
	CHECK_EQ(f->nr_msi, 0);
	CHECK_EQ(f->fm.level[INTX_GSI], 1); /* level: high until the ISR is read */
	CHECK(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTX);
	CHECK_EQ(rd(f, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
	CHECK_EQ(f->fm.level[INTX_GSI], 0);
	CHECK_EQ(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTX, 0);
	CHECK_EQ(rd(f, VIRTIO_PCI_ISR, 1), 0); /* read clears */

	/* A broken ring: DEVICE_NEEDS_RESET, a configuration interrupt (ISR bit 1). */
	post(f, 1, 16);
	*(uint64_t *)fake_machine_ram(&f->fm, DESC_GPA + 16) = 0xfff00000ull; /* outside RAM */
	kick(f);
	CHECK(crd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(f->fm.level[INTX_GSI], 1);
	CHECK_EQ(rd(f, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_CONFIG);
	CHECK_EQ(f->fm.level[INTX_GSI], 0);
	fx_free(f);
}

TEST(intx_follows_msix_enable)
{
	struct fx *f = fx_new();
	unsigned cap;

	enable(f);
	driver_ok(f);
	post(f, 0, 16);
	kick(f);
	CHECK_EQ(f->fm.level[INTX_GSI], 1);
	/* MSI-X on: the function stops driving INTx, the ISR keeps its bits. */
	msix_on(f, 1, 0x41);
	CHECK_EQ(f->fm.level[INTX_GSI], 0);
	CHECK_EQ(f->t->core.isr, VIRTIO_ISR_QUEUE);
	/* Off again with the ISR still set: INTx is back. */
	cap = find_cap(f, PCI_CAP_ID_MSIX, 0);
	cfg_wr(f, cap + 2, 2, cfg_rd(f, cap + 2, 2) & ~0x8000u);
	CHECK_EQ(f->fm.level[INTX_GSI], 1);
	CHECK_EQ(rd(f, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
	CHECK_EQ(f->fm.level[INTX_GSI], 0);
	fx_free(f);
}

TEST(config_vector_on_needs_reset)
{
	struct fx *f = fx_new();

	enable(f);
	msix_on(f, 0, 0x30);
	driver_ok(f);
	cwr(f, MSIX_CONFIG, 0);
	post(f, 0, 16);
	*(uint64_t *)fake_machine_ram(&f->fm, DESC_GPA) = 0xfff00000ull;
	kick(f);
	CHECK(crd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(f->nr_msi, 1);
	CHECK_EQ(f->msi[0].data, 0x30);
	fx_free(f);
}

TEST(hostile_widths)
{
	struct fx *f = fx_new();
	uint64_t q = ~0ull;

	enable(f);
	/* A 32-bit field read 16 or 8 bits wide, or misaligned: 0, and writes ignored. */
	CHECK_EQ(rd(f, VIRTIO_PCI_COMMON + NUMQ, 4), 0);
	CHECK_EQ(rd(f, VIRTIO_PCI_COMMON + DF + 1, 1), 0);
	cwr(f, DFSELECT, 1);
	CHECK_EQ(rd(f, VIRTIO_PCI_COMMON + DF, 2), 0);
	wr(f, VIRTIO_PCI_COMMON + DFSELECT, 2, 0);
	CHECK_EQ(crd(f, DFSELECT), 1);
	wr(f, VIRTIO_PCI_COMMON + STATUS, 2, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, VIRTIO_PCI_COMMON + STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(crd(f, STATUS), 0);
	wr(f, VIRTIO_PCI_COMMON + Q_SIZE, 1, 4);
	CHECK_EQ(crd(f, Q_SIZE), 64);
	/* 64-bit fields only as 32-bit halves (§4.1.3.1). */
	bar_access(f, VIRTIO_PCI_COMMON + Q_DESCLO, &q, 8, 1);
	CHECK_EQ(crd(f, Q_DESCLO), 0);
	bar_access(f, VIRTIO_PCI_COMMON + Q_DESCLO, &q, 8, 0);
	CHECK_EQ(q, 0);
	wr(f, VIRTIO_PCI_COMMON + Q_DESCLO + 2, 2, 0x1234);
	CHECK_EQ(crd(f, Q_DESCLO), 0);
	/* The ISR is one byte: wider reads return 0 and do not clear it. */
	f->t->core.isr = VIRTIO_ISR_QUEUE;
	CHECK_EQ(rd(f, VIRTIO_PCI_ISR, 4), 0);
	CHECK_EQ(rd(f, VIRTIO_PCI_ISR + 1, 1), 0);
	CHECK_EQ(rd(f, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
	/* Past the common configuration, between structures: 0, writes dropped. */
	CHECK_EQ(rd(f, VIRTIO_PCI_COMMON + VIRTIO_PCI_COMMON_LEN, 4), 0);
	CHECK_EQ(rd(f, 0x0ffc, 4), 0);
	wr(f, 0x0ffc, 4, 1);
	CHECK_EQ(rd(f, VIRTIO_PCI_BAR_SIZE - 4, 4), 0);
	/* rng has no device configuration: reads 0 wherever they land. */
	CHECK_EQ(rd(f, VIRTIO_PCI_DEVCFG, 4), 0);
	CHECK_EQ(rd(f, VIRTIO_PCI_DEVCFG + VIRTIO_PCI_DEVCFG_LEN - 2, 4), 0);
	fx_free(f);
}

TEST(hostile_queue_select)
{
	struct fx *f = fx_new();

	enable(f);
	negotiate(f, VERSION_1);
	cwr(f, Q_SELECT, 1); /* rng has one queue */
	CHECK_EQ(crd(f, Q_SELECT), 1);
	CHECK_EQ(crd(f, Q_SIZE), 0); /* §4.1.4.3: 0 means the queue is unavailable */
	CHECK_EQ(crd(f, Q_MSIX), VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(crd(f, Q_NOFF), 0);
	cwr(f, Q_SIZE, 4);
	cwr(f, Q_DESCLO, (uint32_t)DESC_GPA);
	cwr(f, Q_MSIX, 0);
	cwr(f, Q_ENABLE, 1);
	CHECK_EQ(crd(f, Q_SIZE), 0);
	CHECK_EQ(crd(f, Q_DESCLO), 0);
	CHECK_EQ(crd(f, Q_ENABLE), 0);
	CHECK_EQ(crd(f, Q_MSIX), VIRTIO_PCI_NO_VECTOR);
	cwr(f, Q_SELECT, 0xffff);
	cwr(f, Q_ENABLE, 1);
	CHECK_EQ(crd(f, Q_ENABLE), 0);
	CHECK_EQ(crd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
	/* A size the device refuses reads back 0, and the queue cannot be enabled. */
	cwr(f, Q_SELECT, 0);
	cwr(f, Q_SIZE, 6);
	CHECK_EQ(crd(f, Q_SIZE), 0);
	cwr(f, Q_SIZE, 128);
	CHECK_EQ(crd(f, Q_SIZE), 0);
	cwr(f, Q_ENABLE, 1);
	CHECK_EQ(crd(f, Q_ENABLE), 0);
	CHECK(crd(f, STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	fx_free(f);
}

TEST(hostile_vectors)
{
	struct fx *f = fx_new();

	enable(f);
	cwr(f, MSIX_CONFIG, 1);
	CHECK_EQ(crd(f, MSIX_CONFIG), 1);
	cwr(f, MSIX_CONFIG, 2); /* the table has 2 vectors: 0 and 1 */
	CHECK_EQ(crd(f, MSIX_CONFIG), VIRTIO_PCI_NO_VECTOR);
	cwr(f, MSIX_CONFIG, 0x7fff);
	CHECK_EQ(crd(f, MSIX_CONFIG), VIRTIO_PCI_NO_VECTOR);
	cwr(f, Q_SELECT, 0);
	cwr(f, Q_MSIX, 5);
	CHECK_EQ(crd(f, Q_MSIX), VIRTIO_PCI_NO_VECTOR);
	cwr(f, Q_MSIX, 0);
	CHECK_EQ(crd(f, Q_MSIX), 0);
	cwr(f, Q_MSIX, VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(crd(f, Q_MSIX), VIRTIO_PCI_NO_VECTOR);
	fx_free(f);
}

TEST(hostile_read_only_fields)
{
	struct fx *f = fx_new();

	enable(f);
	cwr(f, DFSELECT, 0);
	cwr(f, DF, 0);
	CHECK(crd(f, DF) != 0);
	cwr(f, NUMQ, 7);
	CHECK_EQ(crd(f, NUMQ), 1);
	cwr(f, CFGGEN, 9);
	CHECK_EQ(crd(f, CFGGEN), 0);
	cwr(f, Q_NOFF, 3);
	CHECK_EQ(crd(f, Q_NOFF), 0);
	f->t->core.isr = VIRTIO_ISR_QUEUE;
	wr(f, VIRTIO_PCI_ISR, 1, 0); /* the ISR is read-only: a write does not clear it */
	CHECK_EQ(f->t->core.isr, VIRTIO_ISR_QUEUE);
	/* The driver cannot set DEVICE_NEEDS_RESET or undefined status bits. */
	cwr(f, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DEVICE_NEEDS_RESET | 0x30);
	CHECK_EQ(crd(f, STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	/* The PBA is the device's. */
	wr(f, VIRTIO_PCI_MSIX_PBA, 4, 3);
	CHECK_EQ(rd(f, VIRTIO_PCI_MSIX_PBA, 4), 0);
	fx_free(f);
}

TEST(hostile_notifies)
{
	struct fx *f = fx_new();
	int fd = f->t->db[0].fd;

	enable(f);
	wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	CHECK_EQ(events(fd), 1);
	wr(f, VIRTIO_PCI_NOTIFY, 4, 0x1234); /* the slot names the queue, not the value */
	CHECK_EQ(events(fd), 1);
	wr(f, VIRTIO_PCI_NOTIFY + 1, 1, 0);       /* not the slot's start */
	wr(f, VIRTIO_PCI_NOTIFY + 2, 2, 0);
	wr(f, VIRTIO_PCI_NOTIFY, 1, 0);           /* too narrow */
	wr(f, VIRTIO_PCI_NOTIFY + 4, 2, 1);       /* queue 1 does not exist */
	wr(f, VIRTIO_PCI_NOTIFY + 12, 2, 3);
	CHECK_EQ(events(fd), 0);
	CHECK_EQ(rd(f, VIRTIO_PCI_NOTIFY, 2), 0); /* write-only */
	/* Before DRIVER_OK a doorbell does nothing (§3.1.1). */
	post(f, 0, 16);
	kick(f);
	CHECK_EQ(used_idx(f), 0);
	fx_free(f);
}

TEST(doorbells_follow_the_bar)
{
	struct fx *f = fx_new_with(1); /* an accelerator that absorbs the notify writes */
	uint64_t moved;

	CHECK_EQ(f->fm.nr_db, 0); /* nothing decodes yet */
	CHECK_EQ(f->fm.io.nr_handlers, 1); /* but the eventfd is watched already */
	enable(f);
	CHECK_EQ(f->fm.nr_db, 1);
	CHECK_EQ(f->fm.db[0].assign, 1);
	CHECK_EQ(f->fm.db[0].addr, f->bar + VIRTIO_PCI_NOTIFY);
	CHECK_EQ(f->fm.db[0].len, VIRTIO_PCI_DOORBELL_LEN);
	CHECK_EQ(f->fm.db[0].match, 0);
	CHECK_EQ(f->fm.db[0].is_pio, 0);
	CHECK_EQ(f->fm.db[0].fd, f->t->db[0].fd);
	CHECK_EQ(f->t->db[0].absorbed, 1);

	/* Memory decode off: dropped. Moved and on again: placed at the new address. */
	cfg_wr(f, PCI_COMMAND, 2, 0);
	CHECK_EQ(f->fm.nr_db, 2);
	CHECK_EQ(f->fm.db[1].assign, 0);
	CHECK_EQ(f->fm.db[1].addr, f->bar + VIRTIO_PCI_NOTIFY);
	CHECK_EQ(f->t->db[0].absorbed, 0);
	moved = f->bar + 4 * VIRTIO_PCI_BAR_SIZE;
	cfg_wr(f, PCI_BAR0 + 16, 4, (uint32_t)moved);
	cfg_wr(f, PCI_BAR0 + 20, 4, (uint32_t)(moved >> 32));
	CHECK_EQ(f->fm.nr_db, 2);
	enable(f);
	CHECK_EQ(f->bar, moved);
	CHECK_EQ(f->fm.nr_db, 3);
	CHECK_EQ(f->fm.db[2].assign, 1);
	CHECK_EQ(f->fm.db[2].addr, moved + VIRTIO_PCI_NOTIFY);
	CHECK_EQ(f->fm.db[2].fd, f->t->db[0].fd); /* the same eventfd throughout */

	/* A write the accelerator did not take still reaches the queue. */
	wr(f, VIRTIO_PCI_NOTIFY, 2, 0);
	CHECK_EQ(events(f->t->db[0].fd), 1);
	fx_free(f);
	/* Teardown dropped the registration (fx_free: nothing to check after). */
}

TEST(reset)
{
	struct fx *f = fx_new();

	enable(f);
	msix_on(f, 1, 0x41);
	driver_ok(f);
	cwr(f, MSIX_CONFIG, 0);
	cwr(f, Q_MSIX, 1);
	cwr(f, DFSELECT, 1);
	cwr(f, STATUS, 0);
	CHECK_EQ(crd(f, STATUS), 0);
	CHECK_EQ(crd(f, MSIX_CONFIG), VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(crd(f, Q_SELECT), 0);
	CHECK_EQ(crd(f, Q_MSIX), VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(crd(f, Q_ENABLE), 0);
	CHECK_EQ(crd(f, Q_SIZE), 64);
	CHECK_EQ(crd(f, Q_DESCLO), 0);
	CHECK_EQ(crd(f, DFSELECT), 0);

	/* A VM reset does the same, and lowers INTx. */
	driver_ok(f);
	cwr(f, Q_MSIX, 1);
	f->t->core.isr = 1;
	pci_func_intx(&f->t->func, 1);
	virtio_pci_dev_ops.reset(f->t);
	CHECK_EQ(f->t->core.status, 0);
	CHECK_EQ(f->t->queue_vector[0], VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(f->t->core.q[0].num, 64);
	CHECK_EQ(f->fm.level[INTX_GSI], 0);
	fx_free(f);
}

TEST(pci_cfg_window)
{
	struct fx *f = fx_new();
	unsigned p = find_cap(f, PCI_CAP_ID_VENDOR, VIRTIO_PCI_CAP_PCI_CFG);

	enable(f);
	/* Read num_queues through configuration space: bar, offset, then length. */
	cfg_wr(f, p + 4, 1, VIRTIO_PCI_BAR);
	cfg_wr(f, p + 8, 4, VIRTIO_PCI_COMMON + NUMQ);
	cfg_wr(f, p + 12, 4, 2);
	CHECK_EQ(cfg_rd(f, p + 16, 2), 1);
	/* Write device_status through it. */
	cfg_wr(f, p + 8, 4, VIRTIO_PCI_COMMON + STATUS);
	cfg_wr(f, p + 12, 4, 1);
	cfg_wr(f, p + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(crd(f, STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	/* A notify through the window rings the doorbell. */
	cfg_wr(f, p + 8, 4, VIRTIO_PCI_NOTIFY);
	cfg_wr(f, p + 12, 4, 2);
	cfg_wr(f, p + 16, 2, 0);
	CHECK_EQ(events(f->t->db[0].fd), 1);
	/* The ISR through it: read once, cleared. */
	f->t->core.isr = VIRTIO_ISR_CONFIG;
	cfg_wr(f, p + 8, 4, VIRTIO_PCI_ISR);
	cfg_wr(f, p + 12, 4, 1);
	CHECK_EQ(cfg_rd(f, p + 16, 1), VIRTIO_ISR_CONFIG);
	CHECK_EQ(f->t->core.isr, 0);

	/* Hostile windows: another BAR, a bad length, misaligned, beyond the BAR. Nothing happens. */
	cfg_wr(f, p + 4, 1, 0);
	cfg_wr(f, p + 8, 4, VIRTIO_PCI_COMMON + STATUS);
	cfg_wr(f, p + 12, 4, 1);
	cfg_wr(f, p + 16, 1, 0);
	CHECK_EQ(crd(f, STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	cfg_wr(f, p + 4, 1, VIRTIO_PCI_BAR);
	cfg_wr(f, p + 12, 4, 3);
	cfg_wr(f, p + 16, 1, 0);
	CHECK_EQ(crd(f, STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	cfg_wr(f, p + 8, 4, VIRTIO_PCI_COMMON + NUMQ + 1);
	cfg_wr(f, p + 12, 4, 2);
	CHECK_EQ(cfg_rd(f, p + 16, 4), 0);
	cfg_wr(f, p + 8, 4, 0xfffffffc);
	cfg_wr(f, p + 12, 4, 4);
	cfg_wr(f, p + 16, 4, 0);
	CHECK_EQ(cfg_rd(f, p + 16, 4), 0);
	cfg_wr(f, p + 8, 4, VIRTIO_PCI_BAR_SIZE - 2);
	cfg_wr(f, p + 12, 4, 4);
	CHECK_EQ(crd(f, STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
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

	enable(f);
	driver_ok(f);
	post(f, 0, 16);
	kick(f);
	n = virtio_pci_dev_ops.stats(f->t, s, DEV_MAX_STATS);
	CHECK_EQ(stat_of(s, n, "requests"), 1);
	CHECK_EQ(stat_of(s, n, "notifies"), 1);
	CHECK_EQ(stat_of(s, n, "interrupts"), 1);
	CHECK_EQ(stat_of(s, n, "intx"), 1);
	CHECK_EQ(stat_of(s, n, "msix"), 0);
	CHECK_EQ(virtio_pci_dev_ops.stats(f->t, s, 2), 2);
	fx_free(f);
}

/* ---- save / load ------------------------------------------------------------------- */

static void save(struct fx *f, struct snap_out *out)
{
	snap_out_init(out);
	if (virtio_pci_dev_ops.save(f->t, out) || snap_out_error(out))
		abort();
}

static int load(struct fx *f, const void *p, size_t len)
{
	struct snap_in in;

	snap_in_init(&in, p, len);
	return virtio_pci_dev_ops.load(f->t, &in);
}

TEST(save_load_round_trip)
{
	struct fx *a = fx_new(), *b = fx_new();
	struct snap_out out;

	enable(a);
	msix_on(a, 1, 0x41);
	driver_ok(a);
	cwr(a, MSIX_CONFIG, 0);
	cwr(a, Q_MSIX, 1);
	post(a, 0, 16);
	kick(a);
	save(a, &out);
	memcpy(b->fm.ram, a->fm.ram, RAM_SIZE);
	CHECK_EQ(load(b, out.buf, out.len), 0);
	b->bar = bar_addr(b);
	CHECK_EQ(b->bar, a->bar);
	CHECK_EQ(crd(b, STATUS), ST_FEAT | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(crd(b, MSIX_CONFIG), 0);
	CHECK_EQ(crd(b, Q_MSIX), 1);
	CHECK_EQ(crd(b, Q_ENABLE), 1);
	CHECK_EQ(crd(b, Q_SIZE), QSIZE);
	CHECK_EQ(b->t->core.vq[0].last_avail_idx, 1);
	/* The doorbell followed the loaded BAR, and the restored device goes on. */
	post(b, 1, 16);
	kick(b);
	CHECK_EQ(used_idx(b), 2);
	CHECK_EQ(b->nr_msi, 1);
	CHECK_EQ(b->msi[0].data, 0x41);
	snap_out_free(&out);
	fx_free(a);
	fx_free(b);
}

TEST(save_load_intx_level)
{
	struct fx *a = fx_new(), *b = fx_new();
	struct snap_out out;

	enable(a);
	driver_ok(a);
	post(a, 0, 16);
	kick(a);
	CHECK_EQ(a->fm.level[INTX_GSI], 1);
	save(a, &out);
	memcpy(b->fm.ram, a->fm.ram, RAM_SIZE);
	CHECK_EQ(load(b, out.buf, out.len), 0);
	CHECK_EQ(b->fm.level[INTX_GSI], 1); /* ISR pending, MSI-X off: the line is up again */
	b->bar = bar_addr(b);
	CHECK_EQ(rd(b, VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
	CHECK_EQ(b->fm.level[INTX_GSI], 0);
	snap_out_free(&out);
	fx_free(a);
	fx_free(b);
}

/* Offsets in the section: version, queue count, the function's length. */
#define SAVE_VERSION_AT 0
#define SAVE_NRQ_AT     1
#define SAVE_FUNC_AT    2

/* The offset of the config vector in a section (after both parts). */
static size_t vectors_at(const uint8_t *p)
{
	uint32_t flen, xlen;
	size_t at = SAVE_FUNC_AT;

	memcpy(&flen, p + at, 4);
	at += 4 + flen;
	memcpy(&xlen, p + at, 4);
	return at + 4 + xlen;
}

TEST(load_hostile)
{
	struct fx *a = fx_new(), *b = fx_new();
	struct snap_out out;
	uint8_t *bad;
	size_t v;

	enable(a);
	driver_ok(a);
	cwr(a, Q_MSIX, 1);
	save(a, &out);
	bad = malloc(out.len + 1);
	v = vectors_at(out.buf);

	/* Truncations are refused: every one in the header, then a spread, and one byte short. */
	for (size_t n = 0; n < out.len; n += n < 16 ? 1 : 61)
		CHECK_EQ(load(b, out.buf, n), -EINVAL);
	CHECK_EQ(load(b, out.buf, out.len - 1), -EINVAL);
	/* A byte too many. */
	memcpy(bad, out.buf, out.len);
	bad[out.len] = 0;
	CHECK_EQ(load(b, bad, out.len + 1), -EINVAL);
	/* Another version, another queue count. */
	memcpy(bad, out.buf, out.len);
	bad[SAVE_VERSION_AT] = 2;
	CHECK_EQ(load(b, bad, out.len), -EINVAL);
	memcpy(bad, out.buf, out.len);
	bad[SAVE_NRQ_AT] = 2;
	CHECK_EQ(load(b, bad, out.len), -EINVAL);
	/* A function part claiming more bytes than the section has. */
	memcpy(bad, out.buf, out.len);
	memset(bad + SAVE_FUNC_AT, 0xff, 4);
	CHECK_EQ(load(b, bad, out.len), -EINVAL);
	/* Vectors outside the table (2 vectors) and not NO_VECTOR. */
	memcpy(bad, out.buf, out.len);
	bad[v] = 2;
	bad[v + 1] = 0;
	CHECK_EQ(load(b, bad, out.len), -EINVAL);
	memcpy(bad, out.buf, out.len);
	bad[v + 2] = 0xfe;
	bad[v + 3] = 0xff;
	CHECK_EQ(load(b, bad, out.len), -EINVAL);
	/* The core's bytes: a status with bits §2.1 does not define. */
	memcpy(bad, out.buf, out.len);
	bad[v + 4 + 1 + 4 + 1] = 0x30;
	CHECK_EQ(load(b, bad, out.len), -EINVAL);
	/* Refused loads leave the device reset, not half-loaded. */
	CHECK_EQ(b->t->core.status, 0);
	CHECK_EQ(b->t->queue_vector[0], VIRTIO_PCI_NO_VECTOR);
	CHECK_EQ(b->t->core.q[0].num, 64);
	/* And the good section still loads. */
	CHECK_EQ(load(b, out.buf, out.len), 0);
	CHECK_EQ(b->t->queue_vector[0], 1);
	free(bad);
	snap_out_free(&out);
	fx_free(a);
	fx_free(b);
}

TEST(create_fails_cleanly)
{
	struct fx *f = fx_new();
	struct virtio_pci *t2;
	struct vrng *r;

	/* A name already on the list: refused, the device destroyed (ASan checks the leak). */
	CHECK(vrng_create(&r) == 0);
	CHECK(virtio_pci_create(&f->fm.m, f->h, "virtio-rng0", &vrng_ops, r, &t2) < 0);
	fx_free(f);
}

TEST_MAIN(T(identity), T(second_function_blk), T(capabilities), T(bar_decodes_only_when_enabled), T(feature_negotiation),
	  T(queue_setup), T(request_with_msix), T(intx_and_isr), T(intx_follows_msix_enable),
	  T(config_vector_on_needs_reset),
	  T(hostile_widths), T(hostile_queue_select), T(hostile_vectors),
	  T(hostile_read_only_fields), T(hostile_notifies), T(doorbells_follow_the_bar), T(reset),
	  T(pci_cfg_window), T(stats), T(save_load_round_trip), T(save_load_intx_level),
	  T(load_hostile), T(create_fails_cleanly))
