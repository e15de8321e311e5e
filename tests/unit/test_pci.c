/*
 * test_pci.c: unit tests for src/pci/pci.c, the PCI host bridge, on the
 * fake machine with the PC's layout (pc_layout.h): configuration reads and
 * writes of the bridge and of a test device through CF8/CFC and ECAM,
 * absent slots, functions and buses, odd widths and misaligned accesses,
 * read-only and write-1-to-clear bits, BAR sizing (32-bit, 64-bit, I/O),
 * the capability list, decode enable, relocation and dispatch through the
 * host's windows, overlap refusal, INTx with its disable bit, reset, stats,
 * save/load round trips and hostile sections. MSI-X is in test_msix.c.
 * Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "arch/x86/pc_layout.h"
#include "fake_machine.c"
#include "pci/pci.h"
#include "test.h"

#define TDEV_VENDOR 0x1af4
#define TDEV_DEVICE 0x1234
#define TDEV_CLASS  0x020000

struct tdev {
	struct pci_func f;
	unsigned reads, writes, last_bar, last_len;
	uint64_t last_off, last_val;
	struct { unsigned bar; uint64_t addr; int on; } moved[16];
	unsigned nr_moved;
	unsigned cfg_written;
};

static int tdev_read(void *dev, unsigned bar, uint64_t off, void *data, unsigned len)
{
	struct tdev *d = dev;
	uint8_t *p = data;

	d->reads++;
	d->last_bar = bar;
	d->last_off = off;
	d->last_len = len;
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(0xa0 + bar * 0x10 + off + i);
	return 0;
}

static int tdev_write(void *dev, unsigned bar, uint64_t off, const void *data, unsigned len)
{
	struct tdev *d = dev;

	d->writes++;
	d->last_bar = bar;
	d->last_off = off;
	d->last_len = len;
	d->last_val = 0;
	memcpy(&d->last_val, data, len);
	return 0;
}

static void tdev_moved(void *dev, unsigned bar, uint64_t addr, int enabled)
{
	struct tdev *d = dev;

	if (d->nr_moved < 16) {
		d->moved[d->nr_moved].bar = bar;
		d->moved[d->nr_moved].addr = addr;
		d->moved[d->nr_moved].on = enabled;
	}
	d->nr_moved++;
}

static void tdev_cfg_written(void *dev, unsigned off, unsigned len)
{
	(void)off, (void)len;
	((struct tdev *)dev)->cfg_written++;
}

static const struct pci_func_ops tdev_ops = {
	.bar_read = tdev_read, .bar_write = tdev_write, .bar_moved = tdev_moved,
	.cfg_written = tdev_cfg_written,
};

static unsigned pc_intx_gsi(unsigned slot, unsigned pin)
{
	return PC_PCI_INTX_GSI_BASE + ((slot + pin - 1) & 7);
}

static const struct pci_host_cfg pc_cfg = {
	.ecam_base = PC_PCI_ECAM_BASE, .mmio_base = PC_PCI_MMIO_BASE, .mmio_size = PC_PCI_MMIO_SIZE,
	.io_base = PC_PCI_IO_BASE, .io_size = PC_PCI_IO_SIZE, .has_cf8 = 1, .intx_gsi = pc_intx_gsi,
};

struct rig {
	struct fake_machine fm;
	struct pci_host *h;
};

static int rig_init(struct rig *r)
{
	if (fake_machine_init(&r->fm, 0, 0x100000))
		return -1;
	return pci_host_create(&r->fm.m, &pc_cfg, &r->h);
}

/* A device with BAR0 mem32 4 KiB, BAR1 I/O 32 bytes, BAR2 mem64 16 KiB, INTA. */
static int tdev_plug(struct rig *r, struct tdev *d)
{
	memset(d, 0, sizeof(*d));
	pci_func_init(&d->f, "tdev", TDEV_VENDOR, TDEV_DEVICE, TDEV_CLASS, 3, 0x1af4, 0x0042, 1,
		      &tdev_ops, d);
	if (pci_func_bar(&d->f, 0, PCI_BAR_MEM32, 0x1000) ||
	    pci_func_bar(&d->f, 1, PCI_BAR_IO, 0x20) || pci_func_bar(&d->f, 2, PCI_BAR_MEM64, 0x4000))
		return -1;
	return pci_host_add(r->h, &d->f);
}

static void cf8_set(struct rig *r, uint32_t v)
{
	bus_access(&r->fm.pio, PCI_CF8_PORT, &v, 4, 1);
}

static uint32_t cf8_get(struct rig *r)
{
	uint32_t v = 0;

	bus_access(&r->fm.pio, PCI_CF8_PORT, &v, 4, 0);
	return v;
}

/* Mechanism #1 read of len bytes at reg of (bus, slot, fn). */
static uint32_t cf8_read(struct rig *r, unsigned bus, unsigned slot, unsigned fn, unsigned reg,
			 unsigned len)
{
	uint32_t v = 0;

	cf8_set(r, 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc));
	bus_access(&r->fm.pio, 0xcfc + (reg & 3), &v, len, 0);
	return v;
}

static void cf8_write(struct rig *r, unsigned slot, unsigned reg, unsigned len, uint32_t v)
{
	cf8_set(r, 0x80000000u | slot << 11 | (reg & 0xfc));
	bus_access(&r->fm.pio, 0xcfc + (reg & 3), &v, len, 1);
}

static uint64_t ecam_read(struct rig *r, unsigned slot, unsigned fn, unsigned reg, unsigned len)
{
	uint64_t v = 0;

	bus_access(&r->fm.mmio, PC_PCI_ECAM_BASE + (slot << 15 | fn << 12 | reg), &v, len, 0);
	return v;
}

static void ecam_write(struct rig *r, unsigned slot, unsigned reg, unsigned len, uint32_t v)
{
	bus_access(&r->fm.mmio, PC_PCI_ECAM_BASE + (slot << 15 | reg), &v, len, 1);
}

static uint64_t mmio_read(struct rig *r, uint64_t addr, unsigned len)
{
	uint64_t v = 0;

	bus_access(&r->fm.mmio, addr, &v, len, 0);
	return v;
}

static uint64_t stat_of(struct rig *r, const char *key)
{
	struct dev_stat st[DEV_MAX_STATS];
	unsigned n = pci_host_dev_ops.stats(r->h, st, DEV_MAX_STATS);

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(st[i].key, key))
			return st[i].value;
	return ~0ull;
}

TEST(host_bridge_header)
{
	struct rig r;

	CHECK_EQ(rig_init(&r), 0);
	CHECK(devlist_find(&r.fm.devs, "pci-host") != NULL);
	CHECK(dev_ops_complete(&pci_host_dev_ops));
	CHECK_EQ(cf8_read(&r, 0, 0, 0, PCI_VENDOR_ID, 4), PCI_HOST_DEVICE << 16 | PCI_HOST_VENDOR);
	CHECK_EQ(cf8_read(&r, 0, 0, 0, PCI_REVISION_ID, 4), 0x06000000);
	CHECK_EQ(cf8_read(&r, 0, 0, 0, PCI_HEADER_TYPE, 1), 0);
	CHECK_EQ(ecam_read(&r, 0, 0, PCI_VENDOR_ID, 2), PCI_HOST_VENDOR);
	CHECK_EQ(ecam_read(&r, 0, 0, PCI_DEVICE_ID, 2), PCI_HOST_DEVICE);
	CHECK_EQ(ecam_read(&r, 0, 0, PCI_CLASS_DEVICE + 1, 1), 0x06);
	CHECK_EQ(pci_cfg_read(r.h, 0, PCI_VENDOR_ID, 2), PCI_HOST_VENDOR);
	fake_machine_destroy(&r.fm);
}

TEST(device_ids_cf8_and_ecam)
{
	struct rig r;
	struct tdev d;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	CHECK_EQ(d.f.slot, 1);
	CHECK(d.f.host == r.h);
	CHECK_EQ(cf8_read(&r, 0, 1, 0, 0, 4), TDEV_DEVICE << 16 | TDEV_VENDOR);
	CHECK_EQ(ecam_read(&r, 1, 0, 0, 4), TDEV_DEVICE << 16 | TDEV_VENDOR);
	CHECK_EQ(cf8_read(&r, 0, 1, 0, PCI_REVISION_ID, 4), TDEV_CLASS << 8 | 3);
	CHECK_EQ(cf8_read(&r, 0, 1, 0, PCI_SUBSYS_VENDOR, 4), 0x0042u << 16 | 0x1af4);
	CHECK_EQ(cf8_read(&r, 0, 1, 0, PCI_SUBSYS_ID, 2), 0x0042);
	CHECK_EQ(cf8_read(&r, 0, 1, 0, PCI_INTERRUPT_PIN, 1), 1);
	CHECK_EQ(cf8_read(&r, 0, 1, 0, PCI_INTERRUPT_LINE, 1), pc_intx_gsi(1, 1));
	CHECK_EQ(d.f.intx.gsi, pc_intx_gsi(1, 1));
	/* Byte and word reads through each data port. */
	CHECK_EQ(cf8_read(&r, 0, 1, 0, 1, 1), TDEV_VENDOR >> 8);
	CHECK_EQ(cf8_read(&r, 0, 1, 0, 2, 2), TDEV_DEVICE);
	CHECK_EQ(cf8_read(&r, 0, 1, 0, 3, 1), TDEV_DEVICE >> 8);
	CHECK_EQ(ecam_read(&r, 1, 0, 2, 2), TDEV_DEVICE);
	/* Writable: the interrupt line and cache line size. */
	cf8_write(&r, 1, PCI_INTERRUPT_LINE, 1, 0x0b);
	CHECK_EQ(ecam_read(&r, 1, 0, PCI_INTERRUPT_LINE, 1), 0x0b);
	CHECK(d.cfg_written >= 1);
	fake_machine_destroy(&r.fm);
}

TEST(absent_and_other_bus_or_function)
{
	struct rig r;
	struct tdev d;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	CHECK_EQ(cf8_read(&r, 0, 7, 0, 0, 4), 0xffffffff);  /* empty slot */
	CHECK_EQ(cf8_read(&r, 0, 1, 1, 0, 4), 0xffffffff);  /* function 1 */
	CHECK_EQ(cf8_read(&r, 1, 1, 0, 0, 4), 0xffffffff);  /* bus 1 */
	CHECK_EQ(cf8_read(&r, 0, 1, 0, 0, 2), TDEV_VENDOR);
	CHECK_EQ(ecam_read(&r, 7, 0, 0, 4), 0xffffffff);
	CHECK_EQ(ecam_read(&r, 1, 3, 0, 4), 0xffffffff);
	CHECK_EQ(pci_cfg_read(r.h, 40, 0, 4), 0xffffffff);
	CHECK_EQ(pci_cfg_read(r.h, 7, 0, 2), 0xffff);
	/* Enable bit clear: the data port reads all ones. */
	{
		uint32_t v = 0;

		cf8_set(&r, 1 << 11);
		bus_access(&r.fm.pio, 0xcfc, &v, 4, 0);
		CHECK_EQ(v, 0xffffffff);
		v = PCI_COMMAND_MEMORY; /* and a write is dropped */
		bus_access(&r.fm.pio, 0xcfc + 0, &v, 2, 1);
		CHECK_EQ(pci_cfg_read(r.h, 1, PCI_COMMAND, 2), 0);
	}
	/* Writes to other functions are dropped. */
	ecam_write(&r, 1, PCI_INTERRUPT_LINE, 1, 0x33);
	bus_access(&r.fm.mmio, PC_PCI_ECAM_BASE + (1 << 15 | 2 << 12 | PCI_INTERRUPT_LINE),
		   &(uint32_t){ 0x44 }, 1, 1);
	CHECK_EQ(ecam_read(&r, 1, 0, PCI_INTERRUPT_LINE, 1), 0x33);
	fake_machine_destroy(&r.fm);
}

TEST(cf8_latch)
{
	struct rig r;
	uint32_t v = 0;

	CHECK_EQ(rig_init(&r), 0);
	cf8_set(&r, 0xffffffff);
	CHECK_EQ(cf8_get(&r), 0x80fffffc); /* reserved bits read 0 */
	cf8_set(&r, 0x80000000);
	CHECK_EQ(cf8_get(&r), 0x80000000);
	/* Byte access to the address ports: dropped, reads all ones (Linux's type-1 probe). */
	v = 0x01;
	bus_access(&r.fm.pio, PCI_CF8_PORT + 3, &v, 1, 1);
	CHECK_EQ(cf8_get(&r), 0x80000000);
	v = 0;
	bus_access(&r.fm.pio, PCI_CF8_PORT + 2, &v, 2, 0);
	CHECK_EQ(v, 0xffff);
	fake_machine_destroy(&r.fm);
}

TEST(odd_widths_and_misaligned)
{
	struct rig r;
	struct tdev d;
	uint64_t before = 0;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	before = stat_of(&r, "cfg_refused");
	CHECK_EQ(pci_cfg_read(r.h, 1, 0, 3), 0xffffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, 1, 2), 0xffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, 2, 4), 0xffffffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_CFG_SIZE - 2, 4), 0xffffffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_CFG_SIZE, 1), 0xff);
	CHECK_EQ(pci_cfg_read(r.h, 1, 0, 0), 0);
	CHECK_EQ(stat_of(&r, "cfg_refused"), before + 6);
	pci_cfg_write(r.h, 1, PCI_COMMAND + 1, 2, 0xffff); /* misaligned: dropped */
	pci_cfg_write(r.h, 1, PCI_COMMAND, 3, 0xffffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_COMMAND, 2), 0);
	/* ECAM: 8-byte, misaligned and page-crossing accesses read all ones. */
	CHECK_EQ(ecam_read(&r, 1, 0, 0, 8), 0xffffffffffffffffull);
	CHECK_EQ(ecam_read(&r, 1, 0, 0xffe, 4), 0xffffffff);
	CHECK_EQ(ecam_read(&r, 1, 0, 1, 4), 0xffffffff);
	/* Extended space is there (zeros: no extended capabilities). */
	CHECK_EQ(ecam_read(&r, 1, 0, 0x100, 4), 0);
	CHECK_EQ(ecam_read(&r, 1, 0, 0xffc, 4), 0);
	/* Data port: a word at 0xCFF straddles the window. */
	{
		uint32_t v = 0;

		cf8_set(&r, 0x80000000u | 1 << 11);
		CHECK_EQ(bus_access(&r.fm.pio, 0xcff, &v, 2, 0), -ENOENT); /* not ours */
		bus_access(&r.fm.pio, 0xcfd, &v, 2, 0);
		CHECK_EQ(v, 0xffff);
	}
	fake_machine_destroy(&r.fm);
}

TEST(read_only_and_w1c_bits)
{
	struct rig r;
	struct tdev d;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	pci_cfg_write(r.h, 1, PCI_VENDOR_ID, 4, 0);
	pci_cfg_write(r.h, 1, PCI_REVISION_ID, 4, 0);
	pci_cfg_write(r.h, 1, PCI_INTERRUPT_LINE, 4, 0xffffffff); /* line, pin, min_gnt, max_lat */
	pci_cfg_write(r.h, 1, PCI_CAP_PTR, 1, 0x80);
	pci_cfg_write(r.h, 1, PCI_HEADER_TYPE, 1, 0x80);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_VENDOR_ID, 4), TDEV_DEVICE << 16 | TDEV_VENDOR);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_REVISION_ID, 4), TDEV_CLASS << 8 | 3);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_INTERRUPT_LINE, 4), 0x01ff);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_CAP_PTR, 1), 0);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_HEADER_TYPE, 1), 0);
	/* Command: only I/O, memory, bus master, INTx disable. */
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, 0xffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_COMMAND, 2), 0x0407);
	/* Status: nothing writable; w1c bits clear when written with 1. */
	d.f.cfg[PCI_STATUS + 1] = 0x20 | 0x80; /* as if the device saw an abort and a parity error */
	pci_cfg_write(r.h, 1, PCI_STATUS, 2, 0x2000 | PCI_STATUS_CAP_LIST | PCI_STATUS_INTX);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_STATUS, 2), 0x8000);
	pci_cfg_write(r.h, 1, PCI_COMMAND, 4, 0x80000000);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_STATUS, 2), 0);
	fake_machine_destroy(&r.fm);
}

TEST(bar_sizing)
{
	struct rig r;
	struct tdev d;
	uint32_t lo, hi;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	/* Firmware placement: inside the windows, naturally aligned, type bits. */
	lo = pci_cfg_read(r.h, 1, PCI_BAR0, 4);
	CHECK_EQ(lo & 0xf, 0);
	CHECK(lo >= PC_PCI_MMIO_BASE && lo < PC_PCI_MMIO_BASE + PC_PCI_MMIO_SIZE);
	CHECK_EQ(lo & 0xfff, 0);
	CHECK_EQ(d.f.bar[0].addr, lo);
	lo = pci_cfg_read(r.h, 1, PCI_BAR0 + 4, 4);
	CHECK_EQ(lo & 3, 1);
	CHECK(lo >= PC_PCI_IO_BASE && lo < PC_PCI_IO_BASE + PC_PCI_IO_SIZE);
	CHECK_EQ(lo & 0x1f, 1);
	lo = pci_cfg_read(r.h, 1, PCI_BAR0 + 8, 4);
	CHECK_EQ(lo & 0x3fff, 4);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_BAR0 + 12, 4), 0);
	/* Sizing: all ones back reads the size mask with the type bits. */
	pci_cfg_write(r.h, 1, PCI_BAR0, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_BAR0, 4), 0xfffff000);
	pci_cfg_write(r.h, 1, PCI_BAR0 + 4, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_BAR0 + 4, 4), 0xffffffe1);
	pci_cfg_write(r.h, 1, PCI_BAR0 + 8, 4, 0xffffffff);
	pci_cfg_write(r.h, 1, PCI_BAR0 + 12, 4, 0xffffffff);
	lo = pci_cfg_read(r.h, 1, PCI_BAR0 + 8, 4);
	hi = pci_cfg_read(r.h, 1, PCI_BAR0 + 12, 4);
	CHECK_EQ(lo, 0xffffc004);
	CHECK_EQ(hi, 0xffffffff);
	CHECK_EQ(~(((uint64_t)hi << 32 | (lo & ~0xfu))) + 1, 0x4000);
	/* Unused BARs and the ROM read 0 and stay 0. */
	pci_cfg_write(r.h, 1, PCI_BAR0 + 16, 4, 0xffffffff);
	pci_cfg_write(r.h, 1, PCI_BAR0 + 20, 4, 0xffffffff);
	pci_cfg_write(r.h, 1, 0x30, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_BAR0 + 16, 4), 0);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_BAR0 + 20, 4), 0);
	CHECK_EQ(pci_cfg_read(r.h, 1, 0x30, 4), 0);
	/* The sized BAR sits outside the window: no decode, even enabled. */
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	CHECK_EQ(d.f.bar[0].decoding, 0);
	CHECK_EQ(d.f.bar[2].decoding, 0);
	fake_machine_destroy(&r.fm);
}

TEST(bar_declare_errors)
{
	struct pci_func f;

	pci_func_init(&f, "x", 1, 2, 0, 0, 0, 0, 0, NULL, NULL);
	CHECK_EQ(pci_func_bar(&f, 0, PCI_BAR_MEM32, 0x1800), -EINVAL);
	CHECK_EQ(pci_func_bar(&f, 0, PCI_BAR_MEM32, 0), -EINVAL);
	CHECK_EQ(pci_func_bar(&f, 6, PCI_BAR_MEM32, 0x1000), -EINVAL);
	CHECK_EQ(pci_func_bar(&f, 5, PCI_BAR_MEM64, 0x1000), -EINVAL);
	CHECK_EQ(pci_func_bar(&f, 0, PCI_BAR_IO, 0x1000), -EINVAL);
	CHECK_EQ(pci_func_bar(&f, 0, PCI_BAR_NONE, 0x1000), -EINVAL);
	CHECK_EQ(pci_func_bar(&f, 1, PCI_BAR_MEM64, 0x1000), 0);
	CHECK_EQ(pci_func_bar(&f, 2, PCI_BAR_MEM32, 0x1000), -EINVAL); /* BAR1's upper half */
	CHECK_EQ(pci_func_bar(&f, 1, PCI_BAR_MEM32, 0x1000), -EINVAL);
	CHECK_EQ(pci_func_bar(&f, 0, PCI_BAR_MEM64, 0x1000), -EINVAL); /* would take BAR1 */
	CHECK_EQ(pci_func_bar(&f, 3, PCI_BAR_IO, 4), 0);
}

TEST(capability_list)
{
	struct rig r;
	struct tdev d;
	unsigned ids[8], n = 0, p;
	int off;

	CHECK_EQ(rig_init(&r), 0);
	memset(&d, 0, sizeof(d));
	pci_func_init(&d.f, "tdev", TDEV_VENDOR, TDEV_DEVICE, TDEV_CLASS, 0, 0, 0, 0, &tdev_ops, &d);
	CHECK_EQ(pci_func_add_cap(&d.f, PCI_CAP_ID_VENDOR, 6), 0x40);
	CHECK_EQ(pci_func_add_cap(&d.f, PCI_CAP_ID_MSIX, 12), 0x48);
	CHECK_EQ(pci_func_add_cap(&d.f, PCI_CAP_ID_VENDOR, 1), -ENOSPC);
	off = pci_func_add_cap(&d.f, PCI_CAP_ID_VENDOR, 16);
	CHECK_EQ(off, 0x54);
	CHECK_EQ(pci_host_add(r.h, &d.f), 0);
	CHECK(pci_cfg_read(r.h, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (p = pci_cfg_read(r.h, 1, PCI_CAP_PTR, 1); p && n < 8; n++) {
		ids[n] = pci_cfg_read(r.h, 1, p, 1);
		p = pci_cfg_read(r.h, 1, p + 1, 1);
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(ids[0], PCI_CAP_ID_VENDOR);
	CHECK_EQ(ids[1], PCI_CAP_ID_MSIX);
	CHECK_EQ(ids[2], PCI_CAP_ID_VENDOR);
	/* Fill to the end of the legacy space, then no more. */
	CHECK_EQ(pci_func_add_cap(&d.f, PCI_CAP_ID_VENDOR, 0x100 - 0x64), 0x64);
	CHECK_EQ(pci_func_add_cap(&d.f, PCI_CAP_ID_VENDOR, 4), -ENOSPC);
	/* No capabilities: status bit clear, pointer 0. */
	CHECK_EQ(pci_cfg_read(r.h, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	fake_machine_destroy(&r.fm);
}

TEST(decode_relocate_dispatch)
{
	struct rig r;
	struct tdev d;
	uint64_t a0, a2, v, na = PC_PCI_MMIO_BASE + 0x100000;
	uint32_t io;
	uint8_t b = 0;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	a0 = d.f.bar[0].addr;
	a2 = d.f.bar[2].addr;
	io = (uint32_t)d.f.bar[1].addr;
	/* Not enabled: all ones, device not called. */
	CHECK_EQ(mmio_read(&r, a0, 4), 0xffffffff);
	CHECK_EQ(d.reads, 0);
	CHECK_EQ(d.nr_moved, 0);
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK_EQ(d.nr_moved, 2);
	CHECK(d.moved[0].bar == 0 && d.moved[0].addr == a0 && d.moved[0].on == 1);
	CHECK(d.moved[1].bar == 2 && d.moved[1].addr == a2 && d.moved[1].on == 1);
	v = mmio_read(&r, a0 + 0x10, 4);
	CHECK_EQ(v, 0xb3b2b1b0);
	CHECK(d.reads == 1 && d.last_bar == 0 && d.last_off == 0x10 && d.last_len == 4);
	CHECK_EQ(mmio_read(&r, a2 + 8, 8), 0xcfcecdcccbcac9c8ull);
	CHECK(d.last_bar == 2 && d.last_off == 8 && d.last_len == 8);
	/* I/O space still off. */
	bus_access(&r.fm.pio, io, &b, 1, 0);
	CHECK_EQ(b, 0xff);
	/* Straddling the BAR's end claims nothing. */
	CHECK_EQ(mmio_read(&r, a0 + 0xffe, 4), 0xffffffff);
	/* Write dispatch. */
	bus_access(&r.fm.mmio, a0 + 0x20, &(uint32_t){ 0xcafe }, 2, 1);
	CHECK(d.writes == 1 && d.last_off == 0x20 && d.last_val == 0xcafe && d.last_len == 2);
	/* Move BAR0 while decoding: stopped at the old address, started at the new one. */
	pci_cfg_write(r.h, 1, PCI_BAR0, 4, (uint32_t)na);
	CHECK_EQ(d.nr_moved, 4);
	CHECK(d.moved[2].bar == 0 && d.moved[2].addr == a0 && d.moved[2].on == 0);
	CHECK(d.moved[3].bar == 0 && d.moved[3].addr == na && d.moved[3].on == 1);
	CHECK_EQ(mmio_read(&r, a0, 4), 0xffffffff);
	CHECK_EQ(mmio_read(&r, na + 4, 1), 0xa4);
	CHECK_EQ(d.last_off, 4);
	/* I/O BAR: enable and access through the PIO window. */
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	bus_access(&r.fm.pio, io + 3, &b, 1, 0);
	CHECK_EQ(b, 0xb3);
	CHECK(d.last_bar == 1 && d.last_off == 3);
	/* Disable memory: both memory BARs stop. */
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_IO);
	CHECK(!d.f.bar[0].decoding && !d.f.bar[2].decoding && d.f.bar[1].decoding);
	CHECK_EQ(mmio_read(&r, na, 4), 0xffffffff);
	/* Outside the window: never decodes. */
	pci_cfg_write(r.h, 1, PCI_BAR0, 4, 0x10000000);
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_EQ(d.f.bar[0].decoding, 0);
	CHECK_EQ(d.f.bar[2].decoding, 1);
	/* A 64-bit BAR moved above 4 GiB leaves the (32-bit) window. */
	pci_cfg_write(r.h, 1, PCI_BAR0 + 12, 4, 1);
	CHECK_EQ(d.f.bar[2].decoding, 0);
	CHECK_EQ(d.f.bar[2].addr, (1ull << 32) | a2);
	CHECK(stat_of(&r, "bar_reads") >= 4);
	CHECK(stat_of(&r, "bar_unclaimed") >= 4);
	CHECK(stat_of(&r, "cfg_writes") >= 6);
	fake_machine_destroy(&r.fm);
}

TEST(bar_overlap_refused)
{
	struct rig r;
	struct tdev d1, d2;
	uint64_t a1;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d1), 0);
	CHECK_EQ(tdev_plug(&r, &d2), 0);
	CHECK_EQ(d2.f.slot, 2);
	CHECK(d1.f.bar[0].addr != d2.f.bar[0].addr);
	a1 = d1.f.bar[0].addr;
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_cfg_write(r.h, 2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	CHECK(d2.f.bar[0].decoding);
	/* d2's BAR0 onto d1's BAR0 (half-overlapping): refused. */
	pci_cfg_write(r.h, 2, PCI_BAR0, 4, (uint32_t)a1);
	CHECK_EQ(d2.f.bar[0].decoding, 0);
	CHECK_EQ(d1.f.bar[0].decoding, 1);
	CHECK_EQ(stat_of(&r, "bar_overlaps"), 1);
	d1.reads = d2.reads = 0;
	CHECK_EQ(mmio_read(&r, a1, 4), 0xb3b2b1b0 - 0x10101010);
	CHECK(d1.reads == 1 && d2.reads == 0);
	/* Onto d1's own 64-bit BAR, from inside d1: refused too. */
	pci_cfg_write(r.h, 1, PCI_BAR0, 4, (uint32_t)d1.f.bar[2].addr + 0x1000);
	CHECK_EQ(d1.f.bar[0].decoding, 0);
	CHECK_EQ(d1.f.bar[2].decoding, 1);
	/* Now free: d2 decodes once moved (written) again. */
	pci_cfg_write(r.h, 2, PCI_BAR0, 4, (uint32_t)a1);
	CHECK_EQ(d2.f.bar[0].decoding, 1);
	CHECK_EQ(mmio_read(&r, a1, 1), 0xa0);
	CHECK_EQ(d2.reads, 1);
	/* I/O and memory are separate spaces: no conflict across them. */
	pci_cfg_write(r.h, 2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	CHECK_EQ(d2.f.bar[1].decoding, 1);
	fake_machine_destroy(&r.fm);
}

TEST(intx)
{
	struct rig r;
	struct tdev d;
	unsigned gsi;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	gsi = pc_intx_gsi(1, 1);
	pci_func_intx(&d.f, 1);
	CHECK_EQ(r.fm.level[gsi], 1);
	CHECK_EQ(fake_machine_edges(&r.fm, gsi), 1);
	CHECK(pci_cfg_read(r.h, 1, PCI_STATUS, 2) & PCI_STATUS_INTX);
	pci_func_intx(&d.f, 1);
	CHECK_EQ(fake_machine_edges(&r.fm, gsi), 0);
	/* INTx disable: the line drops, the status bit still shows the device's state. */
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_INTX_OFF);
	CHECK_EQ(r.fm.level[gsi], 0);
	CHECK(pci_cfg_read(r.h, 1, PCI_STATUS, 2) & PCI_STATUS_INTX);
	pci_func_intx(&d.f, 0);
	pci_func_intx(&d.f, 1);
	CHECK_EQ(r.fm.level[gsi], 0);
	CHECK_EQ(fake_machine_edges(&r.fm, gsi), 0);
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, 0);
	CHECK_EQ(r.fm.level[gsi], 1);
	pci_func_intx(&d.f, 0);
	CHECK_EQ(r.fm.level[gsi], 0);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_STATUS, 2) & PCI_STATUS_INTX, 0);
	fake_machine_destroy(&r.fm);
}

TEST(reset)
{
	struct rig r;
	struct tdev d;
	uint32_t bar0;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	bar0 = pci_cfg_read(r.h, 1, PCI_BAR0, 4);
	pci_cfg_write(r.h, 1, PCI_BAR0, 4, bar0 + 0x10000);
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_cfg_write(r.h, 1, PCI_INTERRUPT_LINE, 1, 3);
	cf8_set(&r, 0x80000800);
	CHECK(d.f.bar[0].decoding);
	pci_host_dev_ops.reset(r.h);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_COMMAND, 2), 0);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_BAR0, 4), bar0);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_INTERRUPT_LINE, 1), pc_intx_gsi(1, 1));
	CHECK_EQ(d.f.bar[0].decoding, 0);
	CHECK_EQ(cf8_get(&r), 0);
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_func_reset(&d.f);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_COMMAND, 2), 0);
	CHECK_EQ(d.f.bar[0].decoding, 0);
	fake_machine_destroy(&r.fm);
}

static void save_func(struct tdev *d, struct snap_out *o)
{
	snap_out_init(o);
	pci_func_save(&d->f, o);
}

static int load_func(struct tdev *d, const void *p, size_t n)
{
	struct snap_in in;

	snap_in_init(&in, p, n);
	return pci_func_load(&d->f, &in);
}

TEST(save_load_round_trip)
{
	struct rig r, r2;
	struct tdev d, d2;
	struct snap_out o, o2, ho;
	struct snap_in in;
	uint64_t na = PC_PCI_MMIO_BASE + 0x200000;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	pci_cfg_write(r.h, 1, PCI_BAR0, 4, (uint32_t)na);
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_cfg_write(r.h, 1, PCI_INTERRUPT_LINE, 1, 9);
	pci_func_intx(&d.f, 1);
	cf8_set(&r, 0x80000810);
	save_func(&d, &o);
	CHECK_EQ(snap_out_error(&o), 0);
	snap_out_init(&ho);
	CHECK_EQ(pci_host_dev_ops.save(r.h, &ho), 0);

	CHECK_EQ(rig_init(&r2), 0);
	CHECK_EQ(tdev_plug(&r2, &d2), 0);
	snap_in_init(&in, ho.buf, ho.len);
	CHECK_EQ(pci_host_dev_ops.load(r2.h, &in), 0);
	CHECK_EQ(cf8_get(&r2), 0x80000810);
	CHECK_EQ(load_func(&d2, o.buf, o.len), 0);
	CHECK_EQ(pci_cfg_read(r2.h, 1, PCI_BAR0, 4), (uint32_t)na);
	CHECK_EQ(pci_cfg_read(r2.h, 1, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK_EQ(pci_cfg_read(r2.h, 1, PCI_INTERRUPT_LINE, 1), 9);
	CHECK(d2.f.bar[0].decoding && d2.f.bar[2].decoding && !d2.f.bar[1].decoding);
	CHECK_EQ(d2.nr_moved, 2);
	CHECK(d2.moved[0].addr == na && d2.moved[0].on);
	CHECK_EQ(r2.fm.level[pc_intx_gsi(1, 1)], 1);
	CHECK_EQ(mmio_read(&r2, na + 1, 1), 0xa1);
	save_func(&d2, &o2);
	CHECK(o.len == o2.len && !memcmp(o.buf, o2.buf, o.len));
	/* Loading into a VM whose BARs decode elsewhere moves them. */
	CHECK_EQ(load_func(&d, o.buf, o.len), 0);
	snap_out_free(&o);
	snap_out_free(&o2);
	snap_out_free(&ho);
	fake_machine_destroy(&r.fm);
	fake_machine_destroy(&r2.fm);
}

/* The saved function with byte i xor x (or cut to len): what load returns. */
static int load_altered(struct tdev *d, const struct snap_out *o, size_t i, uint8_t x, size_t len)
{
	uint8_t buf[8192];

	memcpy(buf, o->buf, o->len);
	if (i < o->len)
		buf[i] ^= x;
	return load_func(d, buf, len);
}

TEST(hostile_loads)
{
	struct rig r;
	struct tdev d;
	struct snap_out o, ho;
	struct snap_in in;
	size_t n, last;
	uint8_t hb[64];
	int refused = 1;
	static struct tdev d2;

	CHECK_EQ(rig_init(&r), 0);
	CHECK_EQ(tdev_plug(&r, &d), 0);
	pci_cfg_write(r.h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	save_func(&d, &o);
	n = o.len;
	last = n - 1;
	CHECK(n > 16 && n < 8192);
	CHECK_EQ(load_altered(&d, &o, 0, 0x01, n), -EINVAL);       /* version */
	CHECK_EQ(load_altered(&d, &o, 1, 0x03, n), -EINVAL);       /* slot */
	CHECK_EQ(load_altered(&d, &o, 2, 0x01, n), -EINVAL);       /* byte count */
	/* First writable byte is the command's low byte (0x04): bit 3 is read-only. */
	CHECK_EQ(load_altered(&d, &o, 4, 0x08, n), -EINVAL);
	CHECK_EQ(load_altered(&d, &o, last, 0x02, n), -EINVAL);    /* intx level 2 */
	CHECK_EQ(load_altered(&d, &o, last, 0x01, n), 0);          /* level 1: pin A exists */
	CHECK_EQ(load_altered(&d, &o, last - 6, 0x02, n), -EINVAL); /* BAR0 decoding 3 */
	CHECK_EQ(load_altered(&d, &o, last - 5, 0x01, n), -EINVAL); /* BAR1 decoding, I/O off */
	CHECK_EQ(load_altered(&d, &o, last - 3, 0x01, n), -EINVAL); /* BAR3: upper half */
	/* Every truncation is refused and leaves the function as it was. */
	for (size_t cut = 0; cut < n; cut++)
		refused &= load_altered(&d, &o, n, 0, cut) == -EINVAL;
	CHECK(refused);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	CHECK(d.f.bar[0].decoding);
	/* A BAR flagged decoding on top of another function's decoding BAR. */
	{
		CHECK_EQ(tdev_plug(&r, &d2), 0);
		pci_cfg_write(r.h, 2, PCI_BAR0, 4, (uint32_t)d.f.bar[0].addr);
		CHECK_EQ(d2.f.bar[0].decoding, 0);
		snap_out_free(&o);
		save_func(&d2, &o);
		o.buf[o.len - 7] = 1; /* BAR0 decoding */
		o.buf[4] |= PCI_COMMAND_MEMORY;
		CHECK_EQ(load_func(&d2, o.buf, o.len), -EINVAL);
	}
	/* Host: reserved CF8 bits, leftover bytes, truncation. */
	snap_out_init(&ho);
	CHECK_EQ(pci_host_dev_ops.save(r.h, &ho), 0);
	CHECK(ho.len < sizeof(hb));
	memcpy(hb, ho.buf, ho.len);
	hb[0] = 1;
	snap_in_init(&in, hb, ho.len);
	CHECK_EQ(pci_host_dev_ops.load(r.h, &in), -EINVAL);
	memcpy(hb, ho.buf, ho.len);
	hb[ho.len] = 0;
	snap_in_init(&in, hb, ho.len + 1);
	CHECK_EQ(pci_host_dev_ops.load(r.h, &in), -EINVAL);
	snap_in_init(&in, hb, ho.len - 1);
	CHECK_EQ(pci_host_dev_ops.load(r.h, &in), -EINVAL);
	snap_in_init(&in, hb, ho.len);
	CHECK_EQ(pci_host_dev_ops.load(r.h, &in), 0);
	snap_out_free(&o);
	snap_out_free(&ho);
	fake_machine_destroy(&r.fm);
}

TEST(create_and_add_errors)
{
	struct fake_machine fm;
	struct pci_host *h = NULL;
	struct pci_host_cfg c = pc_cfg;
	struct tdev d[PCI_MAX_SLOTS];
	unsigned added = 0;
	int ret = 0;

	CHECK_EQ(fake_machine_init(&fm, 0, 0x100000), 0);
	c.ecam_base += 0x1000;
	CHECK_EQ(pci_host_create(&fm.m, &c, &h), -EINVAL);
	c = pc_cfg;
	c.mmio_size = 0;
	CHECK_EQ(pci_host_create(&fm.m, &c, &h), -EINVAL);
	/* A clash on the bus undoes every range mapped so far. */
	CHECK_EQ(bus_map(&fm.mmio, PC_PCI_MMIO_BASE, 0x1000, &pci_host_dev_ops, NULL, "x"), 0);
	CHECK(pci_host_create(&fm.m, &pc_cfg, &h) < 0);
	CHECK_EQ(fm.pio.nr, 0);
	CHECK_EQ(fm.mmio.nr, 1);
	CHECK_EQ(bus_unmap(&fm.mmio, PC_PCI_MMIO_BASE), 0);
	/* A 64 KiB memory window holds four 16 KiB BARs. */
	c = pc_cfg;
	c.mmio_size = 0x10000;
	CHECK_EQ(pci_host_create(&fm.m, &c, &h), 0);
	CHECK_EQ(fm.pio.nr, 2);
	CHECK_EQ(fm.mmio.nr, 2);
	for (unsigned i = 0; i < PCI_MAX_SLOTS && !ret; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		pci_func_init(&d[i].f, "t", 1, 2, 0, 0, 0, 0, 0, &tdev_ops, &d[i]);
		pci_func_bar(&d[i].f, 0, PCI_BAR_MEM32, 0x4000);
		ret = pci_host_add(h, &d[i].f);
		added += !ret;
	}
	CHECK_EQ(ret, -ENOSPC);
	CHECK_EQ(added, 4);
	CHECK_EQ(pci_host_add(h, &d[0].f), -EBUSY);
	CHECK_EQ(pci_func_bar(&d[0].f, 1, PCI_BAR_MEM32, 0x1000), -EBUSY);
	/* Slots run out at 31 devices. */
	added = 0;
	ret = 0;
	for (unsigned i = 4; i < PCI_MAX_SLOTS && !ret; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		pci_func_init(&d[i].f, "t", 1, 2, 0, 0, 0, 0, 0, &tdev_ops, &d[i]);
		ret = pci_host_add(h, &d[i].f);
		added += !ret;
	}
	CHECK_EQ(ret, -ENOSPC);
	CHECK_EQ(added, PCI_MAX_SLOTS - 1 - 4);
	fake_machine_destroy(&fm);
}

TEST_MAIN(T(host_bridge_header), T(device_ids_cf8_and_ecam), T(absent_and_other_bus_or_function),
	  T(cf8_latch), T(odd_widths_and_misaligned), T(read_only_and_w1c_bits), T(bar_sizing),
	  T(bar_declare_errors), T(capability_list), T(decode_relocate_dispatch),
	  T(bar_overlap_refused), T(intx), T(reset), T(save_load_round_trip), T(hostile_loads),
	  T(create_and_add_errors))
