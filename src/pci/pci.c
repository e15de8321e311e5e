/*
 * pci/pci.c: the PCI host bridge of pci.h: configuration mechanism #1 and
 * ECAM decode, type-0 headers with their write and write-1-to-clear masks,
 * BAR sizing, placement and decode, the dispatch of BAR-window accesses to
 * the function (or its MSI-X table and PBA, msix.h), INTx, the host's
 * dev_ops and the save/load of a function's header.
 *
 * Decode rules beyond pci.h: a function's BARs are re-evaluated after each
 * guest write to its command register or BAR registers (and on load and
 * reset). A BAR that moves while decoding is reported to bar_moved as
 * stopped at its old address, then decoding at the new one. A BAR refused
 * for overlapping another decoding BAR stays off until its function's
 * command or BARs are written again.
 *
 * Threads as in pci.h. Lock order: host mutex, then a function's MSI-X
 * mutex or the device's own (bar_moved, cfg_written), then intx_lock, a
 * true leaf taken alone by pci_func_intx (so a device may raise INTx with
 * its own lock held).
 */
#include "pci.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../log.h"
#include "../util.h"
#include "msix.h"

#define PCI_CF8_ENABLE   0x80000000u
#define PCI_CF8_MASK     0x80fffffcu /* reserved bits 30:24 and 1:0 read 0 */
#define PCI_CACHE_LINE   0x0c
#define PCI_STATUS_W1C   0xf900 /* parity, SERR, master/target aborts */
#define PCI_HDR_END      0x40
#define PCI_BAR_END      (PCI_BAR0 + 4 * PCI_NR_BARS)
#define PCI_HOST_CLASS   0x060000 /* bridge, host bridge */
#define PCI_SAVE_VERSION 1

struct pci_host {
	pthread_mutex_t lock;      /* config space, BAR table, CF8 latch */
	pthread_mutex_t intx_lock; /* leaf: intx_level, intx_off, intx_out */
	struct machine m;
	struct pci_host_cfg cfg;
	uint32_t cf8;
	struct pci_func self;      /* the bridge at slot 0 */
	struct pci_func *slot[PCI_MAX_SLOTS];
	uint8_t reset_cfg[PCI_MAX_SLOTS][PCI_CFG_SIZE]; /* each function's header as plugged */
	int intx_off[PCI_MAX_SLOTS], intx_out[PCI_MAX_SLOTS];
	uint64_t mmio_next, io_next; /* firmware allocation cursors (absolute) */
	/* Counters (relaxed atomics). */
	uint64_t cfg_reads, cfg_writes, bar_reads, bar_writes, refused, unclaimed, overlaps;
	uint64_t logged; /* guest-triggered log lines, rate-limited */
};

static void ctr_inc(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static uint64_t ctr_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* What a guest can repeat: log the 1st, 2nd, 4th, 8th... */
static bool pci_log_ratelimit(struct pci_host *h)
{
	uint64_t v = __atomic_add_fetch(&h->logged, 1, __ATOMIC_RELAXED);

	return (v & (v - 1)) == 0;
}

static bool len_ok(uint64_t off, unsigned len)
{
	return (len == 1 || len == 2 || len == 4) && !(off & (len - 1));
}

/* ---- BAR state ---------------------------------------------------------- */

static bool bar_is_io(const struct pci_bar *b)
{
	return b->kind == PCI_BAR_IO;
}

/* Where the registers put BAR i (flags masked). */
static uint64_t bar_reg_addr(const struct pci_func *f, unsigned i)
{
	uint32_t lo = le32_get(&f->cfg[PCI_BAR0 + 4 * i]);

	switch (f->bar[i].kind) {
	case PCI_BAR_IO:
		return lo & ~3u;
	case PCI_BAR_MEM32:
		return lo & ~0xfu;
	case PCI_BAR_MEM64:
		return (lo & ~0xfu) | (uint64_t)le32_get(&f->cfg[PCI_BAR0 + 4 * (i + 1)]) << 32;
	default:
		return 0;
	}
}

/* BAR i of f would decode: enabled by the command register, wholly inside its window. */
static bool bar_wants(const struct pci_host *h, const struct pci_func *f, unsigned i)
{
	const struct pci_bar *b = &f->bar[i];
	uint16_t cmd = le16_get(&f->cfg[PCI_COMMAND]);
	uint64_t base = bar_is_io(b) ? h->cfg.io_base : h->cfg.mmio_base;
	uint64_t size = bar_is_io(b) ? h->cfg.io_size : h->cfg.mmio_size;

	if (b->kind == PCI_BAR_NONE)
		return false;
	if (!(cmd & (bar_is_io(b) ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return false;
	return b->size <= size && b->addr >= base && b->addr - base <= size - b->size;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* A decoding BAR other than (f, i) in the same space overlapping (f, i), or NULL. */
static const struct pci_func *bar_overlapping(const struct pci_host *h, const struct pci_func *f,
					      unsigned i, unsigned *obar)
{
	const struct pci_bar *b = &f->bar[i];

	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		const struct pci_func *g = h->slot[s];

		if (!g)
			continue;
		for (unsigned j = 0; j < PCI_NR_BARS; j++) {
			const struct pci_bar *c = &g->bar[j];

			if ((g == f && j == i) || !c->decoding || bar_is_io(c) != bar_is_io(b))
				continue;
			if (ranges_overlap(b->addr, b->size, c->addr, c->size)) {
				*obar = j;
				return g;
			}
		}
	}
	return NULL;
}

static void bar_stop(struct pci_func *f, unsigned i)
{
	struct pci_bar *b = &f->bar[i];

	if (!b->decoding)
		return;
	b->decoding = 0;
	if (f->ops && f->ops->bar_moved)
		f->ops->bar_moved(f->dev, i, b->addr, 0);
}

static void bar_start(struct pci_func *f, unsigned i)
{
	struct pci_bar *b = &f->bar[i];

	b->decoding = 1;
	if (f->ops && f->ops->bar_moved)
		f->ops->bar_moved(f->dev, i, b->addr, 1);
}

/*
 * Bring f's BAR decode in line with its registers: first stop every BAR
 * that moved or lost its enable, then start those that may decode and do
 * not overlap a decoding BAR (refused ones are counted and logged).
 * Host lock held.
 */
static void pci_update_bars(struct pci_host *h, struct pci_func *f)
{
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &f->bar[i];
		uint64_t addr;

		if (b->kind == PCI_BAR_NONE)
			continue;
		addr = bar_reg_addr(f, i);
		if (b->decoding && (addr != b->addr || !bar_wants(h, f, i)))
			bar_stop(f, i);
		b->addr = addr;
	}
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_func *g;
		unsigned j = 0;

		if (f->bar[i].decoding || !bar_wants(h, f, i))
			continue;
		g = bar_overlapping(h, f, i, &j);
		if (g) {
			ctr_inc(&h->overlaps);
			if (pci_log_ratelimit(h))
				log_warn("pci: %s BAR%u at %#" PRIx64 " overlaps %s BAR%u: not decoded",
					 f->name, i, f->bar[i].addr, g->name, j);
			continue;
		}
		bar_start(f, i);
	}
}

/* ---- INTx --------------------------------------------------------------- */

/* Drive slot's line to what the device asks unless INTx is disabled. intx_lock held. */
static void intx_sync(struct pci_host *h, struct pci_func *f)
{
	int out = f->intx_level && !h->intx_off[f->slot];

	if (out != h->intx_out[f->slot]) {
		h->intx_out[f->slot] = out;
		irq_line_set(&f->intx, out);
	}
}

void pci_func_intx(struct pci_func *f, int level)
{
	struct pci_host *h = f->host;

	level = !!level;
	if (!h) {
		__atomic_store_n(&f->intx_level, level, __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_lock(&h->intx_lock);
	__atomic_store_n(&f->intx_level, level, __ATOMIC_RELAXED);
	intx_sync(h, f);
	pthread_mutex_unlock(&h->intx_lock);
}

/* The command register's INTx disable bit may have changed. Host lock held. */
static void intx_command(struct pci_host *h, struct pci_func *f)
{
	pthread_mutex_lock(&h->intx_lock);
	h->intx_off[f->slot] = !!(le16_get(&f->cfg[PCI_COMMAND]) & PCI_COMMAND_INTX_OFF);
	intx_sync(h, f);
	pthread_mutex_unlock(&h->intx_lock);
}

/* ---- configuration space ------------------------------------------------ */

static struct pci_func *pci_func_at(struct pci_host *h, unsigned slot)
{
	return slot < PCI_MAX_SLOTS ? h->slot[slot] : NULL;
}

static uint32_t cfg_read_locked(struct pci_host *h, unsigned slot, unsigned off, unsigned len)
{
	struct pci_func *f = pci_func_at(h, slot);
	uint32_t v = 0;

	if (!f || !len_ok(off, len) || off + len > PCI_CFG_SIZE) {
		ctr_inc(&h->refused);
		return len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
	}
	ctr_inc(&h->cfg_reads);
	for (unsigned i = 0; i < len; i++) {
		uint8_t b = f->cfg[off + i];

		if (off + i == PCI_STATUS && __atomic_load_n(&f->intx_level, __ATOMIC_RELAXED))
			b |= PCI_STATUS_INTX;
		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

static bool touches(unsigned off, unsigned len, unsigned start, unsigned end)
{
	return off < end && start < off + len;
}

static void cfg_write_locked(struct pci_host *h, unsigned slot, unsigned off, unsigned len,
			     uint32_t v)
{
	struct pci_func *f = pci_func_at(h, slot);

	if (!f || !len_ok(off, len) || off + len > PCI_CFG_SIZE) {
		ctr_inc(&h->refused);
		return;
	}
	ctr_inc(&h->cfg_writes);
	for (unsigned i = 0; i < len; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(v >> (8 * i));

		f->cfg[o] = (uint8_t)((f->cfg[o] & ~f->wmask[o]) | (b & f->wmask[o]));
		f->cfg[o] &= (uint8_t)~(b & f->w1cmask[o]);
	}
	if (touches(off, len, PCI_COMMAND, PCI_COMMAND + 2))
		intx_command(h, f);
	if (touches(off, len, PCI_COMMAND, PCI_COMMAND + 2) ||
	    touches(off, len, PCI_BAR0, PCI_BAR_END))
		pci_update_bars(h, f);
	if (f->msix && touches(off, len, f->msix->cap + 2, f->msix->cap + 4))
		msix_control_written(f->msix);
	if (f->ops && f->ops->cfg_written)
		f->ops->cfg_written(f->dev, off, len);
}

uint32_t pci_cfg_read(struct pci_host *h, unsigned slot, unsigned off, unsigned len)
{
	uint32_t v;

	pthread_mutex_lock(&h->lock);
	v = cfg_read_locked(h, slot, off, len);
	pthread_mutex_unlock(&h->lock);
	return v;
}

void pci_cfg_write(struct pci_host *h, unsigned slot, unsigned off, unsigned len, uint32_t v)
{
	pthread_mutex_lock(&h->lock);
	cfg_write_locked(h, slot, off, len, v);
	pthread_mutex_unlock(&h->lock);
}

static void put_le(void *data, unsigned len, uint64_t v)
{
	uint8_t *p = data;

	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le(const void *data, unsigned len)
{
	const uint8_t *p = data;
	uint32_t v = 0;

	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/*
 * The config address in the CF8 latch for a data-port access at byte
 * port (0-3) of len bytes: 0 and *slot, *reg set, or -1 (reads all ones).
 * Host lock held.
 */
static int cf8_target(struct pci_host *h, unsigned port, unsigned len, unsigned *slot,
		      unsigned *reg)
{
	uint32_t a = h->cf8;

	if (!len_ok(port, len) || port + len > 4 || !(a & PCI_CF8_ENABLE) ||
	    ((a >> 16) & 0xff) != 0 || ((a >> 8) & 7) != 0) {
		ctr_inc(&h->refused);
		return -1;
	}
	*slot = (a >> 11) & 31;
	*reg = (a & 0xfc) + port;
	return 0;
}

/* Ports 0xCF8-0xCFF: the address latch (dword only), then the data window. */
static int cf8_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct pci_host *h = dev;
	unsigned slot, reg;

	memset(data, 0xff, len);
	pthread_mutex_lock(&h->lock);
	if (off == 0 && len == 4)
		put_le(data, 4, h->cf8);
	else if (off >= 4 && off < 8 && len <= 4 && !cf8_target(h, (unsigned)off - 4, len, &slot, &reg))
		put_le(data, len, cfg_read_locked(h, slot, reg, len));
	else if (off < 4)
		ctr_inc(&h->refused);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int cf8_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct pci_host *h = dev;
	unsigned slot, reg;

	pthread_mutex_lock(&h->lock);
	if (off == 0 && len == 4)
		h->cf8 = get_le(data, 4) & PCI_CF8_MASK;
	else if (off >= 4 && off < 8 && len <= 4 && !cf8_target(h, (unsigned)off - 4, len, &slot, &reg))
		cfg_write_locked(h, slot, reg, len, get_le(data, len));
	else if (off < 4)
		ctr_inc(&h->refused);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* ECAM: off = dev << 15 | fn << 12 | reg on bus 0; other functions read all ones. */
static int ecam_access(struct pci_host *h, uint64_t off, void *data, unsigned len, bool write)
{
	unsigned slot = (unsigned)(off >> 15) & 31, reg = (unsigned)off & 0xfff;

	if (!write)
		memset(data, 0xff, len);
	if (off >= PCI_ECAM_BUS_SIZE || ((off >> 12) & 7) || len > 4) {
		ctr_inc(&h->refused);
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	if (write)
		cfg_write_locked(h, slot, reg, len, get_le(data, len));
	else
		put_le(data, len, cfg_read_locked(h, slot, reg, len));
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static int ecam_read(void *dev, uint64_t off, void *data, unsigned len)
{
	return ecam_access(dev, off, data, len, false);
}

static int ecam_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	return ecam_access(dev, off, (void *)data, len, true);
}

/* ---- BAR windows -------------------------------------------------------- */

enum bar_target { TGT_NONE, TGT_DEV, TGT_TABLE, TGT_PBA };

/*
 * Which decoding BAR holds [addr, addr+len) in I/O or memory space, and
 * whether the access is the device's or its MSI-X table's or PBA's.
 * Straddling a BAR's end or the table/PBA edge claims nothing. Host lock held.
 */
static enum bar_target bar_lookup(struct pci_host *h, bool io, uint64_t addr, unsigned len,
				  struct pci_func **fp, unsigned *barp, uint64_t *offp)
{
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_func *f = h->slot[s];

		if (!f)
			continue;
		for (unsigned i = 0; i < PCI_NR_BARS; i++) {
			const struct pci_bar *b = &f->bar[i];
			uint64_t off = addr - b->addr;

			if (!b->decoding || bar_is_io(b) != io || addr < b->addr || off >= b->size)
				continue;
			if (len > b->size - off)
				return TGT_NONE;
			*fp = f;
			*barp = i;
			if (f->msix && f->msix->bar == i) {
				const struct pci_msix *x = f->msix;
				uint64_t tlen = (uint64_t)x->nvec * MSIX_ENTRY_SIZE;
				uint64_t plen = (x->nvec + 63) / 64 * 8;

				if (ranges_overlap(off, len, x->table_off, tlen)) {
					*offp = off - x->table_off;
					return off >= x->table_off && off + len <= x->table_off + tlen ?
						       TGT_TABLE : TGT_NONE;
				}
				if (ranges_overlap(off, len, x->pba_off, plen)) {
					*offp = off - x->pba_off;
					return off >= x->pba_off && off + len <= x->pba_off + plen ?
						       TGT_PBA : TGT_NONE;
				}
			}
			*offp = off;
			return TGT_DEV;
		}
	}
	return TGT_NONE;
}

static int window_access(struct pci_host *h, bool io, uint64_t off, void *data, unsigned len,
			 bool write)
{
	uint64_t base = io ? h->cfg.io_base : h->cfg.mmio_base, boff = 0;
	struct pci_func *f = NULL;
	enum bar_target t;
	unsigned bar = 0;
	int ret = 0;

	if (!write)
		memset(data, 0xff, len);
	if (len != 1 && len != 2 && len != 4 && len != 8) {
		ctr_inc(&h->unclaimed);
		return 0;
	}
	pthread_mutex_lock(&h->lock);
	t = bar_lookup(h, io, base + off, len, &f, &bar, &boff);
	pthread_mutex_unlock(&h->lock);
	/* Functions are never unplugged: f outlives the lock. */
	switch (t) {
	case TGT_DEV:
		ctr_inc(write ? &h->bar_writes : &h->bar_reads);
		if (write && f->ops && f->ops->bar_write)
			ret = f->ops->bar_write(f->dev, bar, boff, data, len);
		else if (!write && f->ops && f->ops->bar_read)
			ret = f->ops->bar_read(f->dev, bar, boff, data, len);
		break;
	case TGT_TABLE:
		ctr_inc(write ? &h->bar_writes : &h->bar_reads);
		ret = write ? msix_table_write(f->msix, boff, data, len)
			    : msix_table_read(f->msix, boff, data, len);
		break;
	case TGT_PBA:
		ctr_inc(write ? &h->bar_writes : &h->bar_reads);
		if (!write)
			ret = msix_pba_read(f->msix, boff, data, len);
		break; /* the PBA is read-only */
	default:
		ctr_inc(&h->unclaimed);
		break;
	}
	return ret;
}

static int mmio_win_read(void *dev, uint64_t off, void *data, unsigned len)
{
	return window_access(dev, false, off, data, len, false);
}

static int mmio_win_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	return window_access(dev, false, off, (void *)data, len, true);
}

static int io_win_read(void *dev, uint64_t off, void *data, unsigned len)
{
	return window_access(dev, true, off, data, len, false);
}

static int io_win_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	return window_access(dev, true, off, (void *)data, len, true);
}

/* The other ranges' tables: only read/write matter to a bus; the rest are stubs. */
static const struct dev_ops pci_ecam_ops = {
	.kind = "pci-ecam", .read = ecam_read, .write = ecam_write, .reset = dev_nop_reset,
	.save = dev_nop_save, .load = dev_nop_load, .stats = dev_nop_stats,
	.destroy = dev_nop_destroy,
};
static const struct dev_ops pci_mmio_win_ops = {
	.kind = "pci-mmio", .read = mmio_win_read, .write = mmio_win_write, .reset = dev_nop_reset,
	.save = dev_nop_save, .load = dev_nop_load, .stats = dev_nop_stats,
	.destroy = dev_nop_destroy,
};
static const struct dev_ops pci_io_win_ops = {
	.kind = "pci-io", .read = io_win_read, .write = io_win_write, .reset = dev_nop_reset,
	.save = dev_nop_save, .load = dev_nop_load, .stats = dev_nop_stats,
	.destroy = dev_nop_destroy,
};

/* ---- functions ---------------------------------------------------------- */

void pci_func_init(struct pci_func *f, const char *name, uint16_t vendor, uint16_t device,
		   uint32_t class_code, uint8_t rev, uint16_t subsys_vendor, uint16_t subsys_id,
		   uint8_t intx_pin, const struct pci_func_ops *ops, void *dev)
{
	memset(f, 0, sizeof(*f));
	f->name = name ? name : "pci";
	f->ops = ops;
	f->dev = dev;
	f->cap_end = PCI_HDR_END;
	le16_put(&f->cfg[PCI_VENDOR_ID], vendor);
	le16_put(&f->cfg[PCI_DEVICE_ID], device);
	f->cfg[PCI_REVISION_ID] = rev;
	f->cfg[PCI_CLASS_PROG] = (uint8_t)class_code;
	f->cfg[PCI_CLASS_DEVICE] = (uint8_t)(class_code >> 8);
	f->cfg[PCI_CLASS_DEVICE + 1] = (uint8_t)(class_code >> 16);
	f->cfg[PCI_HEADER_TYPE] = 0;
	le16_put(&f->cfg[PCI_SUBSYS_VENDOR], subsys_vendor);
	le16_put(&f->cfg[PCI_SUBSYS_ID], subsys_id);
	f->cfg[PCI_INTERRUPT_PIN] = intx_pin <= 4 ? intx_pin : 0;
	le16_put(&f->wmask[PCI_COMMAND], PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
						 PCI_COMMAND_INTX_OFF);
	le16_put(&f->w1cmask[PCI_STATUS], PCI_STATUS_W1C);
	f->wmask[PCI_CACHE_LINE] = 0xff;
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

static bool bar_taken(const struct pci_func *f, unsigned bar)
{
	return f->bar[bar].kind != PCI_BAR_NONE ||
	       (bar > 0 && f->bar[bar - 1].kind == PCI_BAR_MEM64);
}

int pci_func_bar(struct pci_func *f, unsigned bar, enum pci_bar_kind kind, uint64_t size)
{
	uint64_t mask = ~(size - 1);
	uint8_t *r = &f->cfg[PCI_BAR0 + 4 * bar], *w = &f->wmask[PCI_BAR0 + 4 * bar];

	if (f->host)
		return -EBUSY;
	if (bar >= PCI_NR_BARS || !size || (size & (size - 1)) || bar_taken(f, bar))
		return -EINVAL;
	switch (kind) {
	case PCI_BAR_IO:
		if (size < 4 || size > 256)
			return -EINVAL;
		le32_put(r, 0x1);
		le32_put(w, (uint32_t)mask & ~3u);
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > 0x80000000ULL)
			return -EINVAL;
		le32_put(r, 0);
		le32_put(w, (uint32_t)mask & ~0xfu);
		break;
	case PCI_BAR_MEM64:
		if (size < 16 || size > (1ULL << 62) || bar + 1 >= PCI_NR_BARS ||
		    bar_taken(f, bar + 1))
			return -EINVAL;
		le32_put(r, 0x4);
		le32_put(w, (uint32_t)mask & ~0xfu);
		le32_put(r + 4, 0);
		le32_put(w + 4, (uint32_t)(mask >> 32));
		break;
	default:
		return -EINVAL;
	}
	f->bar[bar] = (struct pci_bar){ .kind = kind, .size = size };
	return 0;
}

int pci_func_add_cap(struct pci_func *f, uint8_t id, unsigned len)
{
	unsigned off = f->cap_end, end = off + len;

	/* cap_end 0: the list reached 0x100 (it does not fit a u8). */
	if (!off || len < 2 || end > PCI_CFG_LEGACY)
		return -ENOSPC;
	f->cfg[off] = id;
	f->cfg[off + 1] = 0;
	if (f->last_cap)
		f->cfg[f->last_cap + 1] = (uint8_t)off;
	else
		f->cfg[PCI_CAP_PTR] = (uint8_t)off;
	f->last_cap = (uint8_t)off;
	end = (end + 3) & ~3u;
	f->cap_end = end >= PCI_CFG_LEGACY ? 0 : (uint8_t)end;
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	return (int)off;
}

/* Firmware placement of BAR i: the next naturally aligned address in its window. */
static int pci_place_bar(struct pci_host *h, struct pci_func *f, unsigned i)
{
	struct pci_bar *b = &f->bar[i];
	bool io = bar_is_io(b);
	uint64_t base = io ? h->cfg.io_base : h->cfg.mmio_base;
	uint64_t wsize = io ? h->cfg.io_size : h->cfg.mmio_size;
	uint64_t *next = io ? &h->io_next : &h->mmio_next;
	uint64_t a = (*next + b->size - 1) & ~(b->size - 1);
	uint8_t *r = &f->cfg[PCI_BAR0 + 4 * i];

	if (io && !wsize) {
		log_info("pci: %s BAR%u: no I/O window on this machine, left unassigned", f->name, i);
		return 0;
	}
	if (a < *next || a < base || b->size > wsize || a - base > wsize - b->size) {
		log_err("pci: %s BAR%u of %" PRIu64 " bytes does not fit the %s window", f->name, i,
			b->size, io ? "I/O" : "memory");
		return -ENOSPC;
	}
	*next = a + b->size;
	le32_put(r, (uint32_t)a | (le32_get(r) & (io ? 3u : 0xfu)));
	if (b->kind == PCI_BAR_MEM64)
		le32_put(r + 4, (uint32_t)(a >> 32));
	b->addr = a;
	return 0;
}

int pci_host_add(struct pci_host *h, struct pci_func *f)
{
	uint64_t mmio_next, io_next;
	unsigned slot;
	uint8_t pin = f->cfg[PCI_INTERRUPT_PIN];
	int ret = 0;

	if (f->host)
		return -EBUSY;
	pthread_mutex_lock(&h->lock);
	for (slot = 1; slot < PCI_MAX_SLOTS && h->slot[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		pthread_mutex_unlock(&h->lock);
		log_err("pci: no free slot for %s", f->name);
		return -ENOSPC;
	}
	mmio_next = h->mmio_next;
	io_next = h->io_next;
	for (unsigned i = 0; i < PCI_NR_BARS && !ret; i++)
		if (f->bar[i].kind != PCI_BAR_NONE)
			ret = pci_place_bar(h, f, i);
	if (ret) {
		h->mmio_next = mmio_next;
		h->io_next = io_next;
		pthread_mutex_unlock(&h->lock);
		return ret;
	}
	f->host = h;
	f->slot = slot;
	if (pin && h->cfg.intx_gsi) {
		unsigned gsi = h->cfg.intx_gsi(slot, pin);

		f->intx = machine_irq_line(&h->m, gsi);
		f->cfg[PCI_INTERRUPT_LINE] = gsi < 0xff ? (uint8_t)gsi : 0xff;
	}
	memcpy(h->reset_cfg[slot], f->cfg, PCI_CFG_SIZE);
	h->intx_off[slot] = 0;
	h->intx_out[slot] = 0;
	h->slot[slot] = f;
	pthread_mutex_lock(&h->intx_lock);
	intx_sync(h, f); /* a level driven before plugging */
	pthread_mutex_unlock(&h->intx_lock);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

/* The first offset >= i with a guest-writable bit, or PCI_CFG_SIZE (skips empty qwords). */
static unsigned next_writable(const struct pci_func *f, unsigned i)
{
	while (i < PCI_CFG_SIZE) {
		uint64_t w, c;

		if (!(i & 7)) {
			memcpy(&w, &f->wmask[i], sizeof(w));
			memcpy(&c, &f->w1cmask[i], sizeof(c));
			if (!(w | c)) {
				i += 8;
				continue;
			}
		}
		if (f->wmask[i] | f->w1cmask[i])
			return i;
		i++;
	}
	return PCI_CFG_SIZE;
}

/* Host lock held. */
static void func_reset_locked(struct pci_host *h, struct pci_func *f)
{
	const uint8_t *p = h->reset_cfg[f->slot];

	for (unsigned i = next_writable(f, 0); i < PCI_CFG_SIZE; i = next_writable(f, i + 1)) {
		uint8_t m = f->wmask[i] | f->w1cmask[i];

		f->cfg[i] = (uint8_t)((f->cfg[i] & ~m) | (p[i] & m));
	}
	intx_command(h, f);
	pci_update_bars(h, f);
	if (f->msix)
		msix_reset(f->msix);
}

void pci_func_reset(struct pci_func *f)
{
	struct pci_host *h = f->host;

	if (!h) {
		if (f->msix)
			msix_reset(f->msix);
		return;
	}
	pthread_mutex_lock(&h->lock);
	func_reset_locked(h, f);
	pthread_mutex_unlock(&h->lock);
}

/* ---- save / load of a function ------------------------------------------ */

/*
 * Section layout (all little-endian): u8 version, u8 slot, u16 n, then the
 * n guest-writable configuration bytes (wmask | w1cmask non-zero) in
 * offset order, u8 per BAR its decode state, u8 INTx level.
 */
static unsigned func_nr_writable(const struct pci_func *f)
{
	unsigned n = 0;

	for (unsigned i = next_writable(f, 0); i < PCI_CFG_SIZE; i = next_writable(f, i + 1))
		n++;
	return n;
}

static int func_save_locked(struct pci_func *f, struct snap_out *out)
{
	snap_put_u8(out, PCI_SAVE_VERSION);
	snap_put_u8(out, (uint8_t)f->slot);
	snap_put_u16(out, (uint16_t)func_nr_writable(f));
	for (unsigned i = next_writable(f, 0); i < PCI_CFG_SIZE; i = next_writable(f, i + 1))
		snap_put_u8(out, f->cfg[i]);
	for (unsigned i = 0; i < PCI_NR_BARS; i++)
		snap_put_u8(out, (uint8_t)f->bar[i].decoding);
	snap_put_u8(out, (uint8_t)__atomic_load_n(&f->intx_level, __ATOMIC_RELAXED));
	return snap_out_error(out);
}

int pci_func_save(struct pci_func *f, struct snap_out *out)
{
	int ret;

	if (!f->host)
		return func_save_locked(f, out);
	pthread_mutex_lock(&f->host->lock);
	ret = func_save_locked(f, out);
	pthread_mutex_unlock(&f->host->lock);
	return ret;
}

static int func_bad(struct snap_in *in, const struct pci_func *f, const char *field, unsigned v)
{
	log_warn("pci: %s: saved state: %s = %#x is out of range", f->name, field, v);
	return snap_in_fail(in);
}

/*
 * Decode and check a function section into cfg/dec/level without touching
 * f. BARs flagged decoding must be enabled, inside their window and clear
 * of f's other flagged BARs and of every other function's decoding BAR.
 * Host lock held (when plugged). 0 or -EINVAL (logged).
 */
static int func_load_check(struct pci_host *h, struct pci_func *f, struct snap_in *in,
			   uint8_t *cfg, uint8_t *dec, int *level)
{
	struct pci_func tmp;
	unsigned n, ver, slot;

	ver = snap_get_u8(in);
	slot = snap_get_u8(in);
	n = snap_get_u16(in);
	if (snap_in_error(in))
		return -EINVAL;
	if (ver != PCI_SAVE_VERSION)
		return func_bad(in, f, "version", ver);
	if (slot != f->slot)
		return func_bad(in, f, "slot", slot);
	if (n != func_nr_writable(f))
		return func_bad(in, f, "writable bytes", n);
	memcpy(cfg, f->cfg, PCI_CFG_SIZE);
	for (unsigned i = next_writable(f, 0); i < PCI_CFG_SIZE; i = next_writable(f, i + 1)) {
		uint8_t m = f->wmask[i] | f->w1cmask[i], b;

		b = snap_get_u8(in);
		if ((b ^ cfg[i]) & ~m)
			return snap_in_error(in) ? -EINVAL : func_bad(in, f, "config byte", i);
		cfg[i] = b;
	}
	for (unsigned i = 0; i < PCI_NR_BARS; i++)
		dec[i] = snap_get_u8(in);
	*level = snap_get_u8(in);
	if (snap_in_error(in)) {
		log_warn("pci: %s: saved state is truncated", f->name);
		return -EINVAL;
	}
	if (*level > 1 || (*level && !f->cfg[PCI_INTERRUPT_PIN]))
		return func_bad(in, f, "intx level", (unsigned)*level);
	/* Judge decode on a scratch copy carrying the loaded registers. */
	memcpy(&tmp, f, sizeof(tmp));
	memcpy(tmp.cfg, cfg, PCI_CFG_SIZE);
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		tmp.bar[i].addr = bar_reg_addr(&tmp, i);
		tmp.bar[i].decoding = 0;
	}
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		unsigned j;

		if (dec[i] > 1 || (dec[i] && !bar_wants(h, &tmp, i)))
			return func_bad(in, f, "bar decoding", i);
		if (!dec[i])
			continue;
		for (j = 0; j < i; j++)
			if (tmp.bar[j].decoding && bar_is_io(&tmp.bar[j]) == bar_is_io(&tmp.bar[i]) &&
			    ranges_overlap(tmp.bar[i].addr, tmp.bar[i].size, tmp.bar[j].addr,
					   tmp.bar[j].size))
				return func_bad(in, f, "bar overlap", i);
		for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
			const struct pci_func *g = h->slot[s];

			if (!g || g == f)
				continue;
			for (j = 0; j < PCI_NR_BARS; j++)
				if (g->bar[j].decoding &&
				    bar_is_io(&g->bar[j]) == bar_is_io(&tmp.bar[i]) &&
				    ranges_overlap(tmp.bar[i].addr, tmp.bar[i].size, g->bar[j].addr,
						   g->bar[j].size))
					return func_bad(in, f, "bar overlaps another function", i);
		}
		tmp.bar[i].decoding = 1;
	}
	return 0;
}

/* Install a checked state. Host lock held. */
static void func_load_apply(struct pci_host *h, struct pci_func *f, const uint8_t *cfg,
			    const uint8_t *dec, int level)
{
	for (unsigned i = 0; i < PCI_NR_BARS; i++)
		bar_stop(f, i);
	memcpy(f->cfg, cfg, PCI_CFG_SIZE);
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		f->bar[i].addr = bar_reg_addr(f, i);
		if (dec[i])
			bar_start(f, i);
	}
	pthread_mutex_lock(&h->intx_lock);
	__atomic_store_n(&f->intx_level, level, __ATOMIC_RELAXED);
	h->intx_off[f->slot] = !!(le16_get(&f->cfg[PCI_COMMAND]) & PCI_COMMAND_INTX_OFF);
	intx_sync(h, f);
	pthread_mutex_unlock(&h->intx_lock);
	if (f->msix)
		msix_control_written(f->msix);
}

int pci_func_load(struct pci_func *f, struct snap_in *in)
{
	struct pci_host *h = f->host;
	uint8_t *cfg = malloc(PCI_CFG_SIZE), dec[PCI_NR_BARS];
	int level = 0, ret;

	if (!cfg)
		return -ENOMEM;
	if (!h) {
		log_warn("pci: %s: saved state for a function not plugged", f->name);
		free(cfg);
		return snap_in_fail(in);
	}
	pthread_mutex_lock(&h->lock);
	ret = func_load_check(h, f, in, cfg, dec, &level);
	if (!ret)
		func_load_apply(h, f, cfg, dec, level);
	pthread_mutex_unlock(&h->lock);
	free(cfg);
	return ret ? -EINVAL : 0;
}

/* ---- the host's dev_ops ------------------------------------------------- */

static void host_reset(void *dev)
{
	struct pci_host *h = dev;

	pthread_mutex_lock(&h->lock);
	h->cf8 = 0;
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++)
		if (h->slot[s])
			func_reset_locked(h, h->slot[s]);
	pthread_mutex_unlock(&h->lock);
}

/* The CF8 latch, then the bridge's own function. */
static int host_save(void *dev, struct snap_out *out)
{
	struct pci_host *h = dev;
	int ret;

	pthread_mutex_lock(&h->lock);
	snap_put_u32(out, h->cf8);
	ret = func_save_locked(&h->self, out);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/*
 * Also stops every function's BAR decode: the devices' sections, loaded
 * after the host's, re-establish their own, so BARs of the running VM
 * never collide with the loaded ones.
 */
static int host_load(void *dev, struct snap_in *in)
{
	struct pci_host *h = dev;
	uint8_t *cfg = malloc(PCI_CFG_SIZE), dec[PCI_NR_BARS];
	uint32_t cf8;
	int level = 0, ret;

	if (!cfg)
		return -ENOMEM;
	cf8 = snap_get_u32(in);
	pthread_mutex_lock(&h->lock);
	if (snap_in_error(in)) {
		ret = -EINVAL;
	} else if (cf8 & ~PCI_CF8_MASK) {
		log_warn("pci-host: saved state: cf8 = %#x is out of range", cf8);
		ret = snap_in_fail(in);
	} else {
		ret = func_load_check(h, &h->self, in, cfg, dec, &level);
		if (!ret && dev_load_whole(in, "pci-host"))
			ret = -EINVAL;
	}
	if (!ret) {
		h->cf8 = cf8;
		for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
			for (unsigned i = 0; h->slot[s] && i < PCI_NR_BARS; i++)
				bar_stop(h->slot[s], i);
		func_load_apply(h, &h->self, cfg, dec, level);
	}
	pthread_mutex_unlock(&h->lock);
	free(cfg);
	if (ret)
		host_reset(h);
	return ret ? -EINVAL : 0;
}

static unsigned host_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct pci_host *h = dev;
	struct dev_stat st[] = {
		{ "cfg_reads", ctr_get(&h->cfg_reads) },
		{ "cfg_writes", ctr_get(&h->cfg_writes) },
		{ "cfg_refused", ctr_get(&h->refused) },
		{ "bar_reads", ctr_get(&h->bar_reads) },
		{ "bar_writes", ctr_get(&h->bar_writes) },
		{ "bar_unclaimed", ctr_get(&h->unclaimed) },
		{ "bar_overlaps", ctr_get(&h->overlaps) },
	};
	unsigned n = max < ARRAY_SIZE(st) ? max : (unsigned)ARRAY_SIZE(st);

	memcpy(out, st, n * sizeof(st[0]));
	return n;
}

static void host_destroy(void *dev)
{
	struct pci_host *h = dev;

	if (!h)
		return;
	pthread_mutex_destroy(&h->intx_lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

const struct dev_ops pci_host_dev_ops = {
	.kind = "pci-host",
	.read = cf8_read,
	.write = cf8_write,
	.reset = host_reset,
	.save = host_save,
	.load = host_load,
	.stats = host_stats,
	.destroy = host_destroy,
};

/* ---- creation ----------------------------------------------------------- */

static int host_cfg_check(const struct machine *m, const struct pci_host_cfg *c)
{
	if (!m || !m->mmio || !m->devs || !c)
		return -EINVAL;
	if ((c->ecam_base & (PCI_ECAM_BUS_SIZE - 1)) || !c->mmio_size ||
	    c->mmio_base + c->mmio_size < c->mmio_base || c->ecam_base + PCI_ECAM_BUS_SIZE < c->ecam_base)
		return -EINVAL;
	if (c->io_size && (!m->pio || c->io_base + c->io_size < c->io_base))
		return -EINVAL;
	if (c->has_cf8 && !m->pio)
		return -EINVAL;
	return 0;
}

struct host_range {
	struct bus *bus;
	uint64_t base, len;
	const struct dev_ops *ops;
	const char *name;
};

int pci_host_create(const struct machine *m, const struct pci_host_cfg *cfg,
		    struct pci_host **out)
{
	struct host_range r[4];
	struct pci_host *h;
	unsigned nr = 0, i;
	int ret = host_cfg_check(m, cfg);

	if (ret) {
		log_err("pci: bad host bridge layout");
		return ret;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (pthread_mutex_init(&h->lock, NULL) || pthread_mutex_init(&h->intx_lock, NULL)) {
		free(h);
		return -ENOMEM;
	}
	h->m = *m;
	h->cfg = *cfg;
	h->mmio_next = cfg->mmio_base;
	h->io_next = cfg->io_base;
	pci_func_init(&h->self, "pci-host", PCI_HOST_VENDOR, PCI_HOST_DEVICE, PCI_HOST_CLASS, 0, 0,
		      0, 0, NULL, h);
	h->self.host = h;
	h->self.slot = 0;
	h->slot[0] = &h->self;
	memcpy(h->reset_cfg[0], h->self.cfg, PCI_CFG_SIZE);

	if (cfg->has_cf8)
		r[nr++] = (struct host_range){ m->pio, PCI_CF8_PORT, PCI_CF8_NR_PORTS,
					       &pci_host_dev_ops, "pci-cf8" };
	r[nr++] = (struct host_range){ m->mmio, cfg->ecam_base, PCI_ECAM_BUS_SIZE, &pci_ecam_ops,
				       "pci-ecam" };
	r[nr++] = (struct host_range){ m->mmio, cfg->mmio_base, cfg->mmio_size, &pci_mmio_win_ops,
				       "pci-mmio" };
	if (cfg->io_size)
		r[nr++] = (struct host_range){ m->pio, cfg->io_base, cfg->io_size, &pci_io_win_ops,
					       "pci-io" };
	for (i = 0; i < nr; i++) {
		ret = machine_map(r[i].bus, r[i].base, r[i].len, r[i].ops, h, r[i].name);
		if (ret)
			break;
	}
	if (!ret) {
		ret = machine_add_dev(m, &pci_host_dev_ops, h, "pci-host");
		if (ret)
			h = NULL; /* destroyed by machine_add_dev */
	} else {
		host_destroy(h);
	}
	if (ret) {
		while (i--)
			bus_unmap(r[i].bus, r[i].base);
		return ret;
	}
	*out = h;
	return 0;
}
