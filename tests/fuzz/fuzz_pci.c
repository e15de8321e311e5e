/*
 * fuzz_pci.c: libFuzzer harness for the PCI host bridge and MSI-X
 * (src/pci/pci.c, src/pci/msix.c), driven as a hostile guest drives them:
 * configuration mechanism #1 (ports 0xCF8-0xCFF), ECAM, the BAR windows
 * (including the MSI-X table and PBA), interleaved with the device side
 * (msix_fire, pci_func_intx), resets and saved state.
 *
 * Owns: per run a machine of its own (both buses, a device list, ops that
 * record line levels, MSI messages and irqfd bindings, and optionally hand
 * out MSI routes), the host in the PC's layout, and two functions: A with a
 * 64-bit 16 KiB BAR0 holding an 8-vector MSI-X table (0x2000) and PBA
 * (0x3000), an I/O BAR2 of 32 bytes, a 32-bit 4 KiB BAR3 and INTA; B with
 * a 32-bit 4 KiB BAR0, a 256-byte I/O BAR1, a vendor capability and INTB.
 * A model of A's MSI-X table and PBA and of the messages owed.
 * Threads: libFuzzer's one.
 *
 * Input: byte 0 flags (bit 0: the machine has MSI routes and irqfd), then
 * ops, an opcode byte each (kind in bits 7-4, parameter in bits 3-0):
 *   0 CF8 latch write: u32 follows     1 CF8 data read:  port = p & 3, width p >> 2
 *   2 CF8 data write: same, u32 value  3 ECAM read: u16 reg/fn/slot (below), width p & 3
 *   4 ECAM write: same, then u32       5 BAR read:  target below, width p & 3
 *   6 BAR write: same, then u64        7 msix_fire(p & 7), p & 8: vector 8 (none)
 *   8 pci_func_intx(A or B by p & 1, level p >> 1 & 1)
 *   9 save all, load back, save again  10 save, flip a byte of A's section, load
 *   11 reset (the host's reset, or pci_func_reset(A) when p & 1)
 *   12 config walk: read every dword of A and B's legacy space
 *   other: ignored
 * ECAM address: u16 v: slot = v >> 12 & 3, fn = (v >> 11 & 1) (1: function 1),
 * reg = v & 0x7ff scaled (<< 1) into 4 KiB. Widths: 1, 2, 4, 8 (8 is refused).
 * BAR target: u8 t, u16 o: t bit 0 A/B, bits 3-1 BAR, bit 4: o is an offset from the
 * window's start instead of the BAR's address (minus 16); I/O BARs go to the PIO bus.
 *
 * Checked after every op: reads fill exactly len bytes; ids, class, header
 * type, pin, subsystem, capability pointers, BAR type bits and the MSI-X
 * size/offsets never change; the command register holds only its four
 * writable bits; absent slots and functions read all ones; decoding BARs
 * are enabled, inside their window, match their registers and never
 * overlap; bar_moved reports alternate start/stop per BAR and agree with
 * the decode state; each BAR access reaches the function iff it lies in a
 * decoding BAR (else all ones), the MSI-X table reads as the model says and
 * the PBA as the model's pending bits; no vector is pending while it could
 * be delivered; every message owed is sent once with the entry's address
 * and data (or signalled on its irqfd, whose route carries that message);
 * each line is at (level && !INTx disable); a save loads back into an
 * identical save; an altered one is either refused leaving the state
 * identical or accepted and the invariants hold; routes all freed at exit.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "dev.h"
#include "fuzz.h"
#include "machine.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "snapshot/stream.h"
#include "util.h"

#define ECAM     0xe0000000ULL
#define MMIO     0xc0000000ULL
#define MMIO_SZ  0x10000000ULL
#define IOB      0xc000
#define IO_SZ    0x4000
#define NVEC     8
#define T_OFF    0x2000
#define P_OFF    0x3000
#define NGSI     32
#define NROUTES  16
#define GSI0     64

struct fdev {
	struct pci_func f;
	struct pci_msix *x;
	int on[PCI_NR_BARS];      /* what bar_moved said last */
	uint64_t at[PCI_NR_BARS]; /* where it said it started */
	unsigned accesses;
	uint16_t vendor, device;
	uint32_t class_code;
	uint8_t pin;
};

struct mvec {
	uint32_t lo, hi, data, ctrl;
	int pending;
};

struct fz {
	struct bus pio, mmio;
	struct devlist devs;
	struct machine m;
	struct pci_host *h;
	struct fdev a, b;
	int routes;
	int level[NGSI];
	struct { int used, fd; uint64_t addr; uint32_t data; } route[NROUTES];
	struct { uint64_t addr; uint32_t data; } sent[64];
	unsigned nr_sent;
	struct mvec mv[NVEC];     /* the model of A's table and PBA */
	unsigned owed[NVEC];      /* deliveries the model expects since the last check */
	uint64_t owed_addr[NVEC];
	uint32_t owed_data[NVEC];
};

static struct fz fz;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the machine -------------------------------------------------------- */

static int m_irq_set(void *ctx, unsigned gsi, int level)
{
	(void)ctx;
	FUZZ_CHECK(gsi < NGSI);
	FUZZ_CHECK(level == 0 || level == 1);
	FUZZ_CHECK(level != fz.level[gsi]); /* only changes are driven */
	fz.level[gsi] = level;
	return 0;
}

static int m_msi(void *ctx, uint64_t addr, uint32_t data)
{
	(void)ctx;
	FUZZ_CHECK(fz.nr_sent < 64);
	fz.sent[fz.nr_sent].addr = addr;
	fz.sent[fz.nr_sent].data = data;
	fz.nr_sent++;
	return 0;
}

static int m_msi_route(void *ctx, unsigned *gsi, uint64_t addr, uint32_t data)
{
	unsigned i;

	(void)ctx;
	if (!fz.routes)
		return -ENOTSUP;
	if (*gsi == ACCEL_MSI_ROUTE_NEW) {
		for (i = 0; i < NROUTES && fz.route[i].used; i++)
			;
		if (i == NROUTES)
			return -ENOSPC;
		fz.route[i].used = 1;
		fz.route[i].fd = -1;
	} else {
		i = *gsi - GSI0;
		FUZZ_CHECK(*gsi >= GSI0 && i < NROUTES && fz.route[i].used);
	}
	fz.route[i].addr = addr;
	fz.route[i].data = data;
	*gsi = GSI0 + i;
	return 0;
}

static int m_msi_route_free(void *ctx, unsigned gsi)
{
	unsigned i = gsi - GSI0;

	(void)ctx;
	FUZZ_CHECK(fz.routes && gsi >= GSI0 && i < NROUTES && fz.route[i].used);
	FUZZ_CHECK(fz.route[i].fd < 0); /* unbound first */
	fz.route[i].used = 0;
	return 0;
}

static int m_irqfd(void *ctx, int fd, unsigned gsi, int assign)
{
	unsigned i = gsi - GSI0;

	(void)ctx;
	if (!fz.routes)
		return -ENOTSUP;
	FUZZ_CHECK(gsi >= GSI0 && i < NROUTES && fz.route[i].used);
	if (assign) {
		FUZZ_CHECK(fz.route[i].fd < 0);
		fz.route[i].fd = fd;
	} else {
		FUZZ_CHECK(fz.route[i].fd == fd);
		fz.route[i].fd = -1;
	}
	return 0;
}

static int m_doorbell(void *ctx, int fd, int is_pio, uint64_t addr, unsigned len, uint64_t match,
		      int assign)
{
	(void)ctx, (void)fd, (void)is_pio, (void)addr, (void)len, (void)match, (void)assign;
	return -ENOTSUP;
}

static int m_alloc(void *ctx, unsigned *gsi)
{
	(void)ctx, (void)gsi;
	return -ENOSPC;
}

static int m_mmio_alloc(void *ctx, uint64_t size, uint64_t *base)
{
	(void)ctx, (void)size, (void)base;
	return -ENOSPC;
}

static int m_announce(void *ctx, const char *kind, uint64_t base, uint64_t size, unsigned gsi)
{
	(void)ctx, (void)kind, (void)base, (void)size, (void)gsi;
	return 0;
}

static void m_stop(void *ctx, enum vm_exit why, const char *msg)
{
	(void)ctx, (void)why, (void)msg;
}

static const struct machine_ops m_ops = {
	.irq_set = m_irq_set, .msi = m_msi, .msi_route = m_msi_route,
	.msi_route_free = m_msi_route_free, .irqfd = m_irqfd, .doorbell = m_doorbell,
	.irq_alloc = m_alloc, .mmio_alloc = m_mmio_alloc, .announce = m_announce, .stop = m_stop,
};

static unsigned intx_gsi(unsigned slot, unsigned pin)
{
	return 16 + ((slot + pin - 1) & 7);
}

/* ---- the functions ------------------------------------------------------ */

static uint8_t pattern(unsigned bar, uint64_t off, unsigned i)
{
	return (uint8_t)(bar * 37 + off * 3 + i);
}

static int d_read(void *dev, unsigned bar, uint64_t off, void *data, unsigned len)
{
	struct fdev *d = dev;
	uint8_t *p = data;

	FUZZ_CHECK(bar < PCI_NR_BARS && d->f.bar[bar].decoding);
	FUZZ_CHECK(len == 1 || len == 2 || len == 4 || len == 8);
	FUZZ_CHECK(off < d->f.bar[bar].size && len <= d->f.bar[bar].size - off);
	d->accesses++;
	for (unsigned i = 0; i < len; i++)
		p[i] = pattern(bar, off, i);
	return 0;
}

static int d_write(void *dev, unsigned bar, uint64_t off, const void *data, unsigned len)
{
	struct fdev *d = dev;

	(void)data;
	FUZZ_CHECK(bar < PCI_NR_BARS && d->f.bar[bar].decoding);
	FUZZ_CHECK(off < d->f.bar[bar].size && len <= d->f.bar[bar].size - off);
	d->accesses++;
	return 0;
}

static void d_moved(void *dev, unsigned bar, uint64_t addr, int enabled)
{
	struct fdev *d = dev;

	FUZZ_CHECK(bar < PCI_NR_BARS && d->f.bar[bar].kind != PCI_BAR_NONE);
	FUZZ_CHECK(enabled == 0 || enabled == 1);
	FUZZ_CHECK(enabled != d->on[bar]); /* strictly alternating */
	if (!enabled)
		FUZZ_CHECK_EQ(addr, d->at[bar]);
	d->on[bar] = enabled;
	d->at[bar] = addr;
}

static const struct pci_func_ops d_ops = {
	.bar_read = d_read, .bar_write = d_write, .bar_moved = d_moved,
};

static void model_reset(void)
{
	memset(fz.mv, 0, sizeof(fz.mv));
	for (unsigned i = 0; i < NVEC; i++)
		fz.mv[i].ctrl = 1;
}

static void setup(int routes)
{
	const struct pci_host_cfg cfg = {
		.ecam_base = ECAM, .mmio_base = MMIO, .mmio_size = MMIO_SZ, .io_base = IOB,
		.io_size = IO_SZ, .has_cf8 = 1, .intx_gsi = intx_gsi,
	};
	struct fdev *a = &fz.a, *b = &fz.b;
	int cap;

	memset(&fz, 0, sizeof(fz));
	fz.routes = routes;
	bus_init(&fz.pio, "pio");
	bus_init(&fz.mmio, "mmio");
	devlist_init(&fz.devs);
	fz.m = (struct machine){ .ops = &m_ops, .ctx = &fz, .pio = &fz.pio, .mmio = &fz.mmio,
				 .devs = &fz.devs };
	FUZZ_SETUP(pci_host_create(&fz.m, &cfg, &fz.h) == 0);

	*a = (struct fdev){ .vendor = 0x1af4, .device = 0x1041, .class_code = 0x020000, .pin = 1 };
	pci_func_init(&a->f, "fa", a->vendor, a->device, a->class_code, 1, 0x1af4, 1, a->pin,
		      &d_ops, a);
	FUZZ_SETUP(pci_func_bar(&a->f, 0, PCI_BAR_MEM64, 0x4000) == 0);
	FUZZ_SETUP(pci_func_bar(&a->f, 2, PCI_BAR_IO, 0x20) == 0);
	FUZZ_SETUP(pci_func_bar(&a->f, 3, PCI_BAR_MEM32, 0x1000) == 0);
	FUZZ_SETUP(msix_create(&fz.m, &a->f, NVEC, 0, T_OFF, P_OFF, &a->x) == 0);
	FUZZ_SETUP(pci_host_add(fz.h, &a->f) == 0);

	*b = (struct fdev){ .vendor = 0x1022, .device = 0x2000, .class_code = 0x020000, .pin = 2 };
	pci_func_init(&b->f, "fb", b->vendor, b->device, b->class_code, 0x10, 0, 0, b->pin, &d_ops,
		      b);
	FUZZ_SETUP(pci_func_bar(&b->f, 0, PCI_BAR_MEM32, 0x1000) == 0);
	FUZZ_SETUP(pci_func_bar(&b->f, 1, PCI_BAR_IO, 0x100) == 0);
	cap = pci_func_add_cap(&b->f, PCI_CAP_ID_VENDOR, 8);
	FUZZ_SETUP(cap == 0x40);
	b->f.wmask[cap + 4] = 0xff; /* a device-owned writable byte */
	FUZZ_SETUP(pci_host_add(fz.h, &b->f) == 0);
	model_reset();
}

static void teardown(void)
{
	msix_destroy(fz.a.x);
	devlist_destroy(&fz.devs);
	for (unsigned i = 0; i < NROUTES; i++)
		FUZZ_CHECK(!fz.route[i].used);
}

/* ---- the MSI-X model ---------------------------------------------------- */

static bool m_enabled(void)
{
	return pci_cfg_read(fz.h, fz.a.f.slot, fz.a.x->cap + 2, 2) & 0x8000;
}

static bool m_fmask(void)
{
	return pci_cfg_read(fz.h, fz.a.f.slot, fz.a.x->cap + 2, 2) & 0x4000;
}

static bool m_deliverable(unsigned i)
{
	return m_enabled() && !m_fmask() && !(fz.mv[i].ctrl & 1);
}

/* The model delivers vector i now: owed once, with the entry's message (or dropped: no address). */
static void m_deliver(unsigned i)
{
	const struct mvec *v = &fz.mv[i];

	if (!v->lo && !v->hi)
		return;
	fz.owed[i]++;
	fz.owed_addr[i] = (uint64_t)v->hi << 32 | v->lo;
	fz.owed_data[i] = v->data;
}

static void m_deliver_pending(void)
{
	for (unsigned i = 0; i < NVEC; i++)
		if (fz.mv[i].pending && m_deliverable(i)) {
			fz.mv[i].pending = 0;
			m_deliver(i);
		}
}

static void m_fire(unsigned i)
{
	if (m_deliverable(i))
		m_deliver(i);
	else
		fz.mv[i].pending = 1;
}

static void m_entry_bytes(unsigned i, uint8_t *b)
{
	le32_put(b, fz.mv[i].lo);
	le32_put(b + 4, fz.mv[i].hi);
	le32_put(b + 8, fz.mv[i].data);
	le32_put(b + 12, fz.mv[i].ctrl);
}

static void m_table_write(uint64_t off, const uint8_t *val, unsigned len)
{
	unsigned i = (unsigned)(off / 16);
	uint8_t b[16];
	int was_masked = fz.mv[i].ctrl & 1;

	if (off & (len - 1))
		return;
	m_entry_bytes(i, b);
	memcpy(b + off % 16, val, len);
	fz.mv[i].lo = le32_get(b);
	fz.mv[i].hi = le32_get(b + 4);
	fz.mv[i].data = le32_get(b + 8);
	fz.mv[i].ctrl = le32_get(b + 12) & 1;
	if (was_masked && !(fz.mv[i].ctrl & 1) && fz.mv[i].pending && m_deliverable(i)) {
		fz.mv[i].pending = 0;
		m_deliver(i);
	}
}

/* Messages sent and irqfd signals since the last check are exactly what the model owes. */
static void check_deliveries(void)
{
	unsigned got[NVEC] = { 0 };

	for (unsigned i = 0; i < NVEC; i++) {
		const struct msix_vector *v = &fz.a.x->v[i];
		uint64_t n = 0;

		if (v->efd >= 0 && read(v->efd, &n, sizeof(n)) == sizeof(n))
			got[i] += (unsigned)n;
		if (v->efd >= 0) {
			unsigned r = v->gsi - GSI0;

			FUZZ_CHECK(fz.routes && r < NROUTES && fz.route[r].used);
			FUZZ_CHECK_EQ(fz.route[r].fd, v->efd);
			if (!(fz.mv[i].ctrl & 1)) {
				FUZZ_CHECK_EQ(fz.route[r].addr,
					      (uint64_t)fz.mv[i].hi << 32 | fz.mv[i].lo);
				FUZZ_CHECK_EQ(fz.route[r].data, fz.mv[i].data);
			}
		}
	}
	for (unsigned s = 0; s < fz.nr_sent; s++) {
		bool found = false;

		for (unsigned i = 0; i < NVEC && !found; i++)
			if (fz.owed[i] > got[i] && fz.owed_addr[i] == fz.sent[s].addr &&
			    fz.owed_data[i] == fz.sent[s].data) {
				got[i]++;
				found = true;
			}
		if (!found)
			fuzz_fail(__FILE__, __LINE__, "MSI %#llx/%#x sent but not owed",
				  (unsigned long long)fz.sent[s].addr, fz.sent[s].data);
	}
	for (unsigned i = 0; i < NVEC; i++)
		if (got[i] != fz.owed[i])
			fuzz_fail(__FILE__, __LINE__, "vector %u: %u deliveries, model owes %u", i,
				  got[i], fz.owed[i]);
	memset(fz.owed, 0, sizeof(fz.owed));
	fz.nr_sent = 0;
}

/* ---- the invariants ----------------------------------------------------- */

static void check_func(struct fdev *d)
{
	unsigned s = d->f.slot;
	uint16_t cmd = (uint16_t)pci_cfg_read(fz.h, s, PCI_COMMAND, 2);

	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, PCI_VENDOR_ID, 2), d->vendor);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, PCI_DEVICE_ID, 2), d->device);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, PCI_REVISION_ID, 4) >> 8, d->class_code);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, PCI_HEADER_TYPE, 1), 0);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, PCI_INTERRUPT_PIN, 1), d->pin);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, PCI_CAP_PTR, 1), 0x40);
	FUZZ_CHECK_EQ(cmd & ~0x0407, 0);
	/* INTx: the line follows the level unless disabled; status bit 3 shows the level. */
	FUZZ_CHECK_EQ(fz.level[intx_gsi(s, d->pin)], d->f.intx_level && !(cmd & PCI_COMMAND_INTX_OFF));
	FUZZ_CHECK_EQ(!!(pci_cfg_read(fz.h, s, PCI_STATUS, 2) & PCI_STATUS_INTX), d->f.intx_level);
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &d->f.bar[i];
		uint32_t reg = pci_cfg_read(fz.h, s, PCI_BAR0 + 4 * i, 4);
		bool io = b->kind == PCI_BAR_IO;
		uint64_t base = io ? IOB : MMIO, wsz = io ? IO_SZ : MMIO_SZ;

		FUZZ_CHECK_EQ(d->on[i], b->decoding);
		if (b->kind == PCI_BAR_NONE)
			continue;
		FUZZ_CHECK_EQ(reg & (io ? 3u : 0xfu), io ? 1u : b->kind == PCI_BAR_MEM64 ? 4u : 0u);
		FUZZ_CHECK_EQ(reg & (uint32_t)(b->size - 1) & ~(io ? 3u : 0xfu), 0);
		if (!b->decoding)
			continue;
		FUZZ_CHECK_EQ(d->at[i], b->addr);
		FUZZ_CHECK(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY));
		FUZZ_CHECK(b->addr >= base && b->addr + b->size <= base + wsz);
		FUZZ_CHECK_EQ(b->addr & 0xffffffffu & ~(io ? 3u : 0xfu), reg & ~(io ? 3u : 0xfu));
	}
}

static bool bar_space_io(const struct pci_bar *b)
{
	return b->kind == PCI_BAR_IO;
}

static void check_no_overlap(void)
{
	struct fdev *ds[2] = { &fz.a, &fz.b };

	for (unsigned p = 0; p < 2; p++)
		for (unsigned i = 0; i < PCI_NR_BARS; i++)
			for (unsigned q = 0; q < 2; q++)
				for (unsigned j = 0; j < PCI_NR_BARS; j++) {
					const struct pci_bar *x = &ds[p]->f.bar[i], *y = &ds[q]->f.bar[j];

					if ((p == q && i == j) || !x->decoding || !y->decoding ||
					    bar_space_io(x) != bar_space_io(y))
						continue;
					FUZZ_CHECK(x->addr + x->size <= y->addr ||
						   y->addr + y->size <= x->addr);
				}
}

static void check_msix(void)
{
	unsigned cap = fz.a.x->cap, s = fz.a.f.slot;
	uint64_t pba = 0;

	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, cap, 1), PCI_CAP_ID_MSIX);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, cap + 1, 1), 0);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, cap + 2, 2) & 0x3fff, NVEC - 1);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, cap + 4, 4), T_OFF);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, s, cap + 8, 4), P_OFF);
	FUZZ_CHECK_EQ(msix_enabled(fz.a.x), m_enabled());
	FUZZ_CHECK_EQ(msix_pba_read(fz.a.x, 0, &pba, 8), 0);
	for (unsigned i = 0; i < NVEC; i++) {
		uint8_t want[16], got[16];

		FUZZ_CHECK_EQ((pba >> i) & 1, fz.mv[i].pending);
		FUZZ_CHECK(!(fz.mv[i].pending && m_deliverable(i)));
		m_entry_bytes(i, want);
		for (unsigned k = 0; k < 16; k += 4)
			FUZZ_CHECK_EQ(msix_table_read(fz.a.x, 16 * i + k, got + k, 4), 0);
		FUZZ_CHECK(!memcmp(want, got, 16));
	}
	FUZZ_CHECK_EQ(pba >> NVEC, 0);
}

static void check_all(void)
{
	uint32_t host_id = pci_cfg_read(fz.h, 0, PCI_VENDOR_ID, 4);

	FUZZ_CHECK_EQ(host_id, (uint32_t)PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, 0, PCI_REVISION_ID, 4) >> 8, 0x060000);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, 9, PCI_VENDOR_ID, 4), 0xffffffff);
	check_func(&fz.a);
	check_func(&fz.b);
	FUZZ_CHECK_EQ(pci_cfg_read(fz.h, fz.b.f.slot, 0x40, 1), PCI_CAP_ID_VENDOR);
	check_no_overlap();
	check_msix();
	check_deliveries();
}

/* ---- driving ------------------------------------------------------------ */

static unsigned width_of(unsigned w)
{
	return 1u << (w & 3);
}

static uint32_t get_le_n(const uint8_t *p, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/* A read through bus b fills len bytes and no more. The bus's answer (-ENOENT: nobody's). */
static int bus_read(struct bus *b, uint64_t addr, uint8_t *out, unsigned len)
{
	uint8_t buf[16];
	int ret;

	memset(buf, 0xa5, sizeof(buf));
	ret = bus_access(b, addr, buf + 4, len, 0);
	for (unsigned i = 0; i < 4; i++)
		FUZZ_CHECK(buf[i] == 0xa5 && buf[4 + len + i] == 0xa5);
	memcpy(out, buf + 4, len);
	return ret;
}

static void cfg_after_write(void)
{
	m_deliver_pending(); /* Enable or Function Mask may have changed */
}

static void op_cf8_data(uint8_t p, bool write, struct fuzz_in *in)
{
	unsigned port = p & 3, len = width_of(p >> 2);
	uint32_t v = write ? fuzz_u32(in) : 0, latch;
	uint8_t out[8];

	if (len == 8)
		len = 4;
	if (write) {
		bus_access(&fz.pio, 0xcfc + port, &v, len, 1);
		cfg_after_write();
		return;
	}
	if (port + len > 4) {
		FUZZ_CHECK_EQ(bus_access(&fz.pio, 0xcfc + port, out, len, 0), -ENOENT);
		return;
	}
	FUZZ_CHECK_EQ(bus_read(&fz.pio, PCI_CF8_PORT, out, 4), 0);
	latch = le32_get(out);
	FUZZ_CHECK_EQ(bus_read(&fz.pio, 0xcfc + port, out, len), 0);
	/* Enabled, bus 0, function 0, aligned: the register; else all ones. */
	if ((latch & 0x80000000u) && !(latch & 0x00ff0700u) && !(port & (len - 1)))
		FUZZ_CHECK_EQ(get_le_n(out, len),
			      pci_cfg_read(fz.h, latch >> 11 & 31, (latch & 0xfc) + port, len));
	else
		FUZZ_CHECK_EQ(get_le_n(out, len), len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1);
}

static void op_ecam(uint8_t p, bool write, struct fuzz_in *in)
{
	uint16_t a = fuzz_u16(in);
	unsigned slot = (a >> 12) & 3, fn = (a >> 11) & 1, reg = (a & 0x7ff) << 1;
	unsigned len = width_of(p);
	uint64_t addr = ECAM + ((uint64_t)slot << 15 | fn << 12 | reg);
	uint32_t v = write ? fuzz_u32(in) : 0;
	uint8_t out[8];

	if (write) {
		uint64_t v64 = v;

		bus_access(&fz.mmio, addr, &v64, len, 1);
		cfg_after_write();
		return;
	}
	if (reg + len > 4096)
		return; /* may cross into the next function's page: fine, not checked */
	bus_read(&fz.mmio, addr, out, len);
	if (fn || slot == 3 || len == 8 || (reg & (len - 1)))
		for (unsigned i = 0; i < len; i++)
			FUZZ_CHECK_EQ(out[i], 0xff);
	else
		FUZZ_CHECK_EQ(get_le_n(out, len), pci_cfg_read(fz.h, slot, reg, len));
}

/* What the model says an access at addr..+len in a space reaches. */
enum tgt { T_NONE, T_DEV, T_TABLE, T_PBA };

static enum tgt target(bool io, uint64_t addr, unsigned len, struct fdev **dp, unsigned *barp,
		       uint64_t *offp)
{
	struct fdev *ds[2] = { &fz.a, &fz.b };

	for (unsigned k = 0; k < 2; k++)
		for (unsigned i = 0; i < PCI_NR_BARS; i++) {
			const struct pci_bar *b = &ds[k]->f.bar[i];
			uint64_t off = addr - b->addr;

			if (!b->decoding || bar_space_io(b) != io || addr < b->addr || off >= b->size)
				continue;
			if (len > b->size - off)
				return T_NONE;
			*dp = ds[k];
			*barp = i;
			*offp = off;
			if (ds[k] == &fz.a && i == 0) {
				if (off + len > T_OFF && off < T_OFF + 16 * NVEC) {
					*offp = off - T_OFF;
					return off >= T_OFF && off + len <= T_OFF + 16 * NVEC ? T_TABLE
											      : T_NONE;
				}
				if (off + len > P_OFF && off < P_OFF + 8) {
					*offp = off - P_OFF;
					return off >= P_OFF && off + len <= P_OFF + 8 ? T_PBA : T_NONE;
				}
			}
			return T_DEV;
		}
	return T_NONE;
}

static void op_bar(uint8_t p, bool write, struct fuzz_in *in)
{
	uint8_t t = fuzz_u8(in);
	uint16_t o = fuzz_u16(in);
	struct fdev *d = (t & 1) ? &fz.b : &fz.a, *hit = NULL;
	unsigned bar = (t >> 1) % PCI_NR_BARS, len = width_of(p), hbar = 0;
	const struct pci_bar *b = &d->f.bar[bar];
	bool io = b->kind == PCI_BAR_IO;
	uint64_t addr = (t & 0x10) ? (io ? IOB : MMIO) + o : b->addr + o - 16, off = 0, val;
	unsigned before_a = fz.a.accesses, before_b = fz.b.accesses;
	uint8_t out[8], valb[8];
	enum tgt tg;

	if (io && len == 8)
		len = 4;
	val = write ? (uint64_t)fuzz_u32(in) | (uint64_t)fuzz_u32(in) << 32 : 0;
	memcpy(valb, &val, 8);
	tg = target(io, addr, len, &hit, &hbar, &off);
	if (write) {
		bus_access(io ? &fz.pio : &fz.mmio, addr, valb, len, 1);
		if (tg == T_TABLE && (len == 1 || len == 2 || len == 4 || len == 8))
			m_table_write(off, valb, len);
	} else if (bus_read(io ? &fz.pio : &fz.mmio, addr, out, len) == -ENOENT) {
		FUZZ_CHECK(tg == T_NONE); /* outside both windows */
	} else {
		if (tg == T_NONE)
			for (unsigned i = 0; i < len; i++)
				FUZZ_CHECK_EQ(out[i], 0xff);
		if (tg == T_DEV)
			for (unsigned i = 0; i < len; i++)
				FUZZ_CHECK_EQ(out[i], pattern(hbar, off, i));
		if (tg == T_TABLE && !(off & (len - 1))) {
			uint8_t e[16];

			m_entry_bytes((unsigned)(off / 16), e);
			FUZZ_CHECK(!memcmp(out, e + off % 16, len));
		}
		if (tg == T_PBA && !(off & (len - 1))) {
			uint64_t pend = 0;

			for (unsigned i = 0; i < NVEC; i++)
				pend |= (uint64_t)fz.mv[i].pending << i;
			for (unsigned i = 0; i < len; i++)
				FUZZ_CHECK_EQ(out[i], (uint8_t)(pend >> (8 * (off + i))));
		}
	}
	/* The device saw the access iff it was the device's. */
	FUZZ_CHECK_EQ(fz.a.accesses - before_a, tg == T_DEV && hit == &fz.a);
	FUZZ_CHECK_EQ(fz.b.accesses - before_b, tg == T_DEV && hit == &fz.b);
}

static int save_all(struct snap_out *o, size_t *a_start, size_t *a_end)
{
	int ret;

	snap_out_init(o);
	ret = pci_host_dev_ops.save(fz.h, o);
	*a_start = o->len;
	ret = ret ? ret : pci_func_save(&fz.a.f, o);
	ret = ret ? ret : msix_save(fz.a.x, o);
	*a_end = o->len;
	ret = ret ? ret : pci_func_save(&fz.b.f, o);
	return ret ? ret : snap_out_error(o);
}

static int load_all(const uint8_t *p, size_t len, size_t a_start, size_t a_end)
{
	struct snap_in host, a, b;
	int ret;

	snap_in_init(&host, p, a_start);
	snap_in_init(&a, p + a_start, a_end - a_start);
	snap_in_init(&b, p + a_end, len - a_end);
	ret = pci_host_dev_ops.load(fz.h, &host);
	FUZZ_CHECK_EQ(ret, 0); /* the host section is never altered */
	ret = pci_func_load(&fz.a.f, &a);
	ret = ret ? ret : msix_load(fz.a.x, &a);
	ret = ret ? ret : snap_in_end(&a);
	FUZZ_CHECK_EQ(pci_func_load(&fz.b.f, &b), 0);
	FUZZ_CHECK_EQ(snap_in_end(&b), 0);
	return ret;
}

static void op_round_trip(void)
{
	struct snap_out s1, s2;
	size_t as, ae, as2, ae2;

	FUZZ_CHECK_EQ(save_all(&s1, &as, &ae), 0);
	FUZZ_CHECK_EQ(load_all(s1.buf, s1.len, as, ae), 0);
	FUZZ_CHECK_EQ(save_all(&s2, &as2, &ae2), 0);
	FUZZ_CHECK(s1.len == s2.len && !memcmp(s1.buf, s2.buf, s1.len));
	snap_out_free(&s1);
	snap_out_free(&s2);
}

/* The model's table and PBA from A's MSI-X part of a section the device accepted. */
static void m_from_section(const uint8_t *p)
{
	for (unsigned i = 0; i < NVEC; i++, p += 17)
		fz.mv[i] = (struct mvec){ le32_get(p), le32_get(p + 4), le32_get(p + 8),
					  le32_get(p + 12), p[16] };
}

/* A's section with one byte flipped, loaded into A alone: refused untouched, or taken whole. */
static void op_altered(struct fuzz_in *in)
{
	uint16_t pos = fuzz_u16(in);
	uint8_t x = fuzz_u8(in);
	struct snap_out s1, s2;
	struct snap_in ain;
	size_t as, ae, as2, ae2, at;
	int ret;

	FUZZ_CHECK_EQ(save_all(&s1, &as, &ae), 0);
	at = as + pos % (ae - as);
	s1.buf[at] ^= x ? x : 1;
	snap_in_init(&ain, s1.buf + as, ae - as);
	ret = pci_func_load(&fz.a.f, &ain);
	ret = ret ? ret : msix_load(fz.a.x, &ain);
	ret = ret ? ret : snap_in_end(&ain);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (!ret) {
		m_from_section(s1.buf + ae - NVEC * 17);
		m_deliver_pending();
	}
	s1.buf[at] ^= x ? x : 1;
	FUZZ_CHECK_EQ(save_all(&s2, &as2, &ae2), 0);
	if (ret)
		FUZZ_CHECK(s1.len == s2.len && !memcmp(s1.buf, s2.buf, s1.len)); /* untouched */
	snap_out_free(&s1);
	snap_out_free(&s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t out[8];

	setup(fuzz_u8(&in) & 1);
	check_all();
	while (in.left) {
		uint8_t op = fuzz_u8(&in), p = op & 15;
		uint32_t v;

		switch (op >> 4) {
		case 0:
			v = fuzz_u32(&in);
			bus_access(&fz.pio, PCI_CF8_PORT, &v, 4, 1);
			bus_read(&fz.pio, PCI_CF8_PORT, out, 4);
			FUZZ_CHECK_EQ(le32_get(out), v & 0x80fffffc);
			break;
		case 1:
		case 2:
			op_cf8_data(p, op >> 4 == 2, &in);
			break;
		case 3:
		case 4:
			op_ecam(p, op >> 4 == 4, &in);
			break;
		case 5:
		case 6:
			op_bar(p, op >> 4 == 6, &in);
			break;
		case 7:
			if (p & 8) {
				FUZZ_CHECK_EQ(msix_fire(fz.a.x, (p & 1) ? NVEC : MSIX_NO_VECTOR), -ENOENT);
			} else {
				FUZZ_CHECK_EQ(msix_fire(fz.a.x, p & 7), 0);
				m_fire(p & 7);
			}
			break;
		case 8:
			pci_func_intx((p & 1) ? &fz.b.f : &fz.a.f, (p >> 1) & 1);
			break;
		case 9:
			op_round_trip();
			break;
		case 10:
			op_altered(&in);
			break;
		case 11:
			if (p & 1)
				pci_func_reset(&fz.a.f);
			else
				pci_host_dev_ops.reset(fz.h);
			model_reset();
			break;
		case 12:
			for (unsigned r = 0; r < PCI_CFG_LEGACY; r += 4) {
				pci_cfg_read(fz.h, fz.a.f.slot, r, 4);
				pci_cfg_read(fz.h, fz.b.f.slot, r, 4);
			}
			break;
		default:
			break;
		}
		check_all();
	}
	teardown();
	return 0;
}
