/*
 * test_msix.c: unit tests for src/pci/msix.c, MSI-X, behind the host
 * bridge of src/pci/pci.c on the fake machine: the capability (control,
 * table and PBA offset/BIR), the table and PBA through the BAR at every
 * width, masked vectors pending in the PBA and delivered once on unmask,
 * the function mask and the enable bit, delivery by message (the fake's
 * default: no routes) and by route + irqfd eventfd (msi_routes), route
 * updates on table writes, reset, create's layout checks, save/load round
 * trips and hostile sections. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "arch/x86/pc_layout.h"
#include "fake_machine.c"
#include "pci/msix.h"
#include "pci/pci.h"
#include "test.h"
#include "util.h"

#define NVEC      4
#define TABLE_OFF 0x2000
#define PBA_OFF   0x3000
#define MSI_ADDR  0xfee00000u

struct tdev {
	struct pci_func f;
	struct pci_msix *x;
	unsigned reads;
};

static int tdev_read(void *dev, unsigned bar, uint64_t off, void *data, unsigned len)
{
	(void)bar, (void)off;
	((struct tdev *)dev)->reads++;
	memset(data, 0x5a, len);
	return 0;
}

static const struct pci_func_ops tdev_ops = { .bar_read = tdev_read };

static const struct pci_host_cfg pc_cfg = {
	.ecam_base = PC_PCI_ECAM_BASE, .mmio_base = PC_PCI_MMIO_BASE, .mmio_size = PC_PCI_MMIO_SIZE,
	.io_base = PC_PCI_IO_BASE, .io_size = PC_PCI_IO_SIZE, .has_cf8 = 1,
};

struct rig {
	struct fake_machine fm;
	struct pci_host *h;
	struct tdev d;
	uint64_t bar; /* BAR0's address, decoding */
};

/* A function with a 64-bit 16 KiB BAR0: NVEC vectors, table at 0x2000, PBA at 0x3000. */
static int rig_init(struct rig *r, int routes)
{
	if (fake_machine_init(&r->fm, 0, 0x100000))
		return -1;
	r->fm.msi_routes = routes;
	r->fm.msi_ret = 0;
	if (pci_host_create(&r->fm.m, &pc_cfg, &r->h))
		return -1;
	pci_func_init(&r->d.f, "tdev", 0x1af4, 0x1041, 0x020000, 1, 0, 0, 0, &tdev_ops, &r->d);
	if (pci_func_bar(&r->d.f, 0, PCI_BAR_MEM64, 0x4000) ||
	    msix_create(&r->fm.m, &r->d.f, NVEC, 0, TABLE_OFF, PBA_OFF, &r->d.x) ||
	    pci_host_add(r->h, &r->d.f))
		return -1;
	pci_cfg_write(r->h, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	r->bar = r->d.f.bar[0].addr;
	return r->d.f.bar[0].decoding ? 0 : -1;
}

static void rig_destroy(struct rig *r)
{
	msix_destroy(r->d.x);
	fake_machine_destroy(&r->fm);
}

static uint64_t rd(struct rig *r, uint64_t off, unsigned len)
{
	uint64_t v = 0;

	bus_access(&r->fm.mmio, r->bar + off, &v, len, 0);
	return v;
}

static void wr(struct rig *r, uint64_t off, unsigned len, uint64_t v)
{
	bus_access(&r->fm.mmio, r->bar + off, &v, len, 1);
}

static unsigned cap_of(struct rig *r)
{
	return r->d.x->cap;
}

static void ctrl_write(struct rig *r, uint16_t v)
{
	pci_cfg_write(r->h, 1, cap_of(r) + 2, 2, v);
}

/* Program vector i's message (address MSI_ADDR | i << 12, data 0x40 + i), leaving it masked. */
static void program(struct rig *r, unsigned i)
{
	uint64_t e = TABLE_OFF + 16 * i;

	wr(r, e, 4, MSI_ADDR | i << 12);
	wr(r, e + 4, 4, 0);
	wr(r, e + 8, 4, 0x40 + i);
}

static void unmask(struct rig *r, unsigned i)
{
	wr(r, TABLE_OFF + 16 * i + 12, 4, 0);
}

static uint64_t efd_count(int fd)
{
	uint64_t n = 0;

	if (fd < 0 || read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

TEST(capability)
{
	struct rig r;
	unsigned cap;

	CHECK_EQ(rig_init(&r, 0), 0);
	cap = cap_of(&r);
	CHECK_EQ(pci_cfg_read(r.h, 1, PCI_CAP_PTR, 1), cap);
	CHECK_EQ(pci_cfg_read(r.h, 1, cap, 1), PCI_CAP_ID_MSIX);
	CHECK_EQ(pci_cfg_read(r.h, 1, cap + 2, 2), NVEC - 1);
	CHECK_EQ(pci_cfg_read(r.h, 1, cap + 4, 4), TABLE_OFF | 0);
	CHECK_EQ(pci_cfg_read(r.h, 1, cap + 8, 4), PBA_OFF | 0);
	/* Enable and Function Mask writable; table size, reserved bits, offsets read-only. */
	pci_cfg_write(r.h, 1, cap + 2, 2, 0xffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, cap + 2, 2), 0xc000 | (NVEC - 1));
	CHECK_EQ(msix_enabled(r.d.x), 1);
	pci_cfg_write(r.h, 1, cap + 4, 4, 0);
	pci_cfg_write(r.h, 1, cap + 8, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(r.h, 1, cap + 4, 4), TABLE_OFF);
	CHECK_EQ(pci_cfg_read(r.h, 1, cap + 8, 4), PBA_OFF);
	ctrl_write(&r, 0);
	CHECK_EQ(msix_enabled(r.d.x), 0);
	rig_destroy(&r);
}

TEST(table_widths)
{
	struct rig r;

	CHECK_EQ(rig_init(&r, 0), 0);
	/* Power-on: zeros, every vector masked. */
	CHECK_EQ(rd(&r, TABLE_OFF, 8), 0);
	CHECK_EQ(rd(&r, TABLE_OFF + 12, 4), 1);
	CHECK_EQ(rd(&r, TABLE_OFF + 16 * 3 + 12, 4), 1);
	wr(&r, TABLE_OFF + 16, 8, 0x11223344fee01000ull); /* 8 bytes = address low + high */
	CHECK_EQ(rd(&r, TABLE_OFF + 16, 4), 0xfee01000);
	CHECK_EQ(rd(&r, TABLE_OFF + 20, 4), 0x11223344);
	CHECK_EQ(rd(&r, TABLE_OFF + 16, 8), 0x11223344fee01000ull);
	CHECK_EQ(rd(&r, TABLE_OFF + 17, 1), 0x10);
	CHECK_EQ(rd(&r, TABLE_OFF + 18, 2), 0xfee0);
	wr(&r, TABLE_OFF + 24, 2, 0xbeef); /* data, low half */
	wr(&r, TABLE_OFF + 27, 1, 0x12);
	CHECK_EQ(rd(&r, TABLE_OFF + 24, 4), 0x1200beef);
	/* Vector control: only the mask bit. */
	wr(&r, TABLE_OFF + 28, 4, 0xfffffffe);
	CHECK_EQ(rd(&r, TABLE_OFF + 28, 4), 0);
	wr(&r, TABLE_OFF + 24, 8, 0x00000001cafef00dull); /* data + control as one qword */
	CHECK_EQ(rd(&r, TABLE_OFF + 24, 8), 0x00000001cafef00dull);
	/* Misaligned: all ones, and the write dropped. */
	CHECK_EQ(rd(&r, TABLE_OFF + 2, 4), 0xffffffff);
	CHECK_EQ(rd(&r, TABLE_OFF + 4, 8), 0xffffffffffffffffull);
	wr(&r, TABLE_OFF + 1, 2, 0xffff);
	CHECK_EQ(rd(&r, TABLE_OFF, 4), 0);
	/* Past the last entry: not the table's, not the device's either. */
	r.d.reads = 0;
	CHECK_EQ(rd(&r, TABLE_OFF + 16 * NVEC, 4), 0x5a5a5a5a);
	CHECK_EQ(r.d.reads, 1);
	/* Elsewhere in the BAR: the device. */
	CHECK_EQ(rd(&r, 0x10, 2), 0x5a5a);
	/* Straddling the table's end: nobody's. */
	CHECK_EQ(rd(&r, TABLE_OFF - 4, 8), 0xffffffffffffffffull);
	/* Direct calls check bounds too. */
	{
		uint32_t v = 0;

		CHECK_EQ(msix_table_read(r.d.x, 16 * NVEC, &v, 4), 0);
		CHECK_EQ(v, 0xffffffff);
		CHECK_EQ(msix_table_write(r.d.x, 16 * NVEC - 2, &v, 4), 0);
	}
	rig_destroy(&r);
}

TEST(pba_and_pending_delivery)
{
	struct rig r;

	CHECK_EQ(rig_init(&r, 0), 0);
	ctrl_write(&r, 0x8000); /* enabled */
	program(&r, 2);
	/* Masked: pending in the PBA, nothing sent. */
	CHECK_EQ(msix_fire(r.d.x, 2), 0);
	CHECK_EQ(r.fm.nr_msi, 0);
	CHECK_EQ(rd(&r, PBA_OFF, 8), 1 << 2);
	CHECK_EQ(rd(&r, PBA_OFF, 1), 1 << 2);
	CHECK_EQ(rd(&r, PBA_OFF, 4), 1 << 2);
	CHECK_EQ(rd(&r, PBA_OFF + 4, 4), 0);
	CHECK_EQ(rd(&r, PBA_OFF + 2, 2), 0);
	CHECK_EQ(r.d.x->masked_fires, 1);
	/* The PBA is read-only. */
	wr(&r, PBA_OFF, 8, 0);
	CHECK_EQ(rd(&r, PBA_OFF, 8), 1 << 2);
	/* Unmask: delivered once (by message: the fake has no routes), PBA cleared. */
	unmask(&r, 2);
	CHECK_EQ(r.fm.nr_msi, 1);
	CHECK_EQ(r.fm.msi_sent[0].addr, MSI_ADDR | 2 << 12);
	CHECK_EQ(r.fm.msi_sent[0].data, 0x42);
	CHECK_EQ(rd(&r, PBA_OFF, 8), 0);
	unmask(&r, 2);
	CHECK_EQ(r.fm.nr_msi, 1);
	/* Unmasked: straight through. */
	CHECK_EQ(msix_fire(r.d.x, 2), 0);
	CHECK_EQ(r.fm.nr_msi, 2);
	CHECK_EQ(r.d.x->fired, 2);
	/* Out of range and "no vector". */
	CHECK_EQ(msix_fire(r.d.x, NVEC), -ENOENT);
	CHECK_EQ(msix_fire(r.d.x, MSIX_NO_VECTOR), -ENOENT);
	/* Past the PBA's qword: not the PBA's. */
	r.d.reads = 0;
	rd(&r, PBA_OFF + 8, 4);
	CHECK_EQ(r.d.reads, 1);
	/* Re-masking and firing pends again; a send error is reported. */
	wr(&r, TABLE_OFF + 16 * 2 + 12, 4, 1);
	msix_fire(r.d.x, 2);
	CHECK_EQ(rd(&r, PBA_OFF, 1), 1 << 2);
	r.fm.msi_ret = -ENOTSUP;
	unmask(&r, 2);
	CHECK_EQ(msix_fire(r.d.x, 2), -ENOTSUP);
	rig_destroy(&r);
}

TEST(function_mask_and_enable)
{
	struct rig r;

	CHECK_EQ(rig_init(&r, 0), 0);
	program(&r, 0);
	program(&r, 1);
	unmask(&r, 0);
	unmask(&r, 1);
	/* Disabled: pending. */
	msix_fire(r.d.x, 0);
	CHECK_EQ(r.fm.nr_msi, 0);
	CHECK_EQ(rd(&r, PBA_OFF, 1), 1);
	/* Enabled with the function masked: still pending, vector 1 joins. */
	ctrl_write(&r, 0xc000);
	msix_fire(r.d.x, 1);
	CHECK_EQ(r.fm.nr_msi, 0);
	CHECK_EQ(rd(&r, PBA_OFF, 1), 3);
	/* Function mask cleared: both delivered once, in vector order. */
	ctrl_write(&r, 0x8000);
	CHECK_EQ(r.fm.nr_msi, 2);
	CHECK_EQ(r.fm.msi_sent[0].data, 0x40);
	CHECK_EQ(r.fm.msi_sent[1].data, 0x41);
	CHECK_EQ(rd(&r, PBA_OFF, 1), 0);
	ctrl_write(&r, 0x8000);
	CHECK_EQ(r.fm.nr_msi, 2);
	/* An unmasked vector with no address: dropped, not pending. */
	unmask(&r, 3);
	CHECK_EQ(msix_fire(r.d.x, 3), 0);
	CHECK_EQ(r.fm.nr_msi, 2);
	CHECK_EQ(rd(&r, PBA_OFF, 1), 0);
	rig_destroy(&r);
}

TEST(routes_and_irqfd)
{
	struct rig r;
	struct msix_vector *v;
	unsigned slot;

	CHECK_EQ(rig_init(&r, 1), 0);
	v = &r.d.x->v[1];
	ctrl_write(&r, 0x8000);
	program(&r, 1);
	CHECK_EQ(v->gsi, ACCEL_MSI_ROUTE_NEW);
	CHECK_EQ(v->efd, -1);
	unmask(&r, 1);
	CHECK(v->gsi >= FAKE_MSI_GSI_FIRST && v->gsi < FAKE_MSI_GSI_FIRST + FAKE_MAX_ROUTES);
	slot = v->gsi - FAKE_MSI_GSI_FIRST;
	CHECK(v->efd >= 0);
	CHECK_EQ(r.fm.route[slot].used, 1);
	CHECK_EQ(r.fm.route[slot].fd, v->efd);
	CHECK_EQ(r.fm.route[slot].addr, MSI_ADDR | 1 << 12);
	CHECK_EQ(r.fm.route[slot].data, 0x41);
	/* Firing is an eventfd write, no message. */
	CHECK_EQ(msix_fire(r.d.x, 1), 0);
	CHECK_EQ(msix_fire(r.d.x, 1), 0);
	CHECK_EQ(efd_count(v->efd), 2);
	CHECK_EQ(r.fm.nr_msi, 0);
	/* A table write to the unmasked entry moves the route. */
	wr(&r, TABLE_OFF + 16 + 8, 4, 0x77);
	CHECK_EQ(r.fm.route[slot].data, 0x77);
	CHECK_EQ(r.fm.route_updates, 1);
	wr(&r, TABLE_OFF + 16 + 8, 4, 0x77); /* unchanged: no update */
	CHECK_EQ(r.fm.route_updates, 1);
	/* Masked, then pending, then unmasked: one eventfd signal. */
	wr(&r, TABLE_OFF + 16 + 12, 4, 1);
	msix_fire(r.d.x, 1);
	CHECK_EQ(efd_count(v->efd), 0);
	unmask(&r, 1);
	CHECK_EQ(efd_count(v->efd), 1);
	/* Reset drops the route and eventfd; every vector masked again. */
	msix_reset(r.d.x);
	CHECK_EQ(r.fm.route[slot].used, 0);
	CHECK_EQ(v->efd, -1);
	CHECK_EQ(v->gsi, ACCEL_MSI_ROUTE_NEW);
	CHECK_EQ(rd(&r, TABLE_OFF + 16 + 12, 4), 1);
	CHECK_EQ(msix_enabled(r.d.x), 0);
	CHECK_EQ(pci_cfg_read(r.h, 1, cap_of(&r) + 2, 2), NVEC - 1);
	/* Destroy frees what is held. */
	program(&r, 0);
	unmask(&r, 0);
	slot = r.d.x->v[0].gsi - FAKE_MSI_GSI_FIRST;
	CHECK_EQ(r.fm.route[slot].used, 1);
	msix_destroy(r.d.x);
	r.d.x = NULL;
	CHECK_EQ(r.fm.route[slot].used, 0);
	rig_destroy(&r);
}

TEST(route_dropped_when_address_cleared)
{
	struct rig r;
	unsigned slot;

	CHECK_EQ(rig_init(&r, 1), 0);
	ctrl_write(&r, 0x8000);
	program(&r, 2);
	unmask(&r, 2);
	slot = r.d.x->v[2].gsi - FAKE_MSI_GSI_FIRST;
	CHECK_EQ(r.fm.route[slot].used, 1);
	/* The guest clears the address of the unmasked entry: the old route must not fire. */
	wr(&r, TABLE_OFF + 16 * 2, 8, 0);
	CHECK_EQ(r.fm.route[slot].used, 0);
	CHECK_EQ(r.d.x->v[2].efd, -1);
	CHECK_EQ(msix_fire(r.d.x, 2), 0);
	CHECK_EQ(r.fm.nr_msi, 0);
	/* A new address routes again. */
	wr(&r, TABLE_OFF + 16 * 2, 4, MSI_ADDR);
	CHECK(r.d.x->v[2].efd >= 0);
	CHECK_EQ(msix_fire(r.d.x, 2), 0);
	CHECK_EQ(efd_count(r.d.x->v[2].efd), 1);
	rig_destroy(&r);
}

TEST(route_failure_falls_back)
{
	struct rig r;

	CHECK_EQ(rig_init(&r, 1), 0);
	ctrl_write(&r, 0x8000);
	for (unsigned i = 0; i < FAKE_MAX_ROUTES; i++)
		r.fm.route[i].used = 1; /* the accelerator's table is full */
	program(&r, 0);
	unmask(&r, 0);
	CHECK_EQ(r.d.x->v[0].gsi, ACCEL_MSI_ROUTE_NEW);
	CHECK_EQ(msix_fire(r.d.x, 0), 0);
	CHECK_EQ(r.fm.nr_msi, 1);
	for (unsigned i = 0; i < FAKE_MAX_ROUTES; i++)
		r.fm.route[i].used = 0;
	rig_destroy(&r);
}

TEST(create_errors)
{
	struct fake_machine fm;
	struct pci_func f;
	struct pci_msix *x = NULL;

	CHECK_EQ(fake_machine_init(&fm, 0, 0x100000), 0);
	pci_func_init(&f, "t", 1, 2, 0, 0, 0, 0, 0, NULL, NULL);
	CHECK_EQ(pci_func_bar(&f, 0, PCI_BAR_MEM32, 0x1000), 0);
	CHECK_EQ(pci_func_bar(&f, 1, PCI_BAR_IO, 0x20), 0);
	CHECK_EQ(msix_create(&fm.m, &f, 0, 0, 0, 0x800, &x), -EINVAL);
	CHECK_EQ(msix_create(&fm.m, &f, MSIX_MAX_VECTORS + 1, 0, 0, 0x800, &x), -EINVAL);
	CHECK_EQ(msix_create(&fm.m, &f, 4, 1, 0, 0x10, &x), -EINVAL);    /* I/O BAR */
	CHECK_EQ(msix_create(&fm.m, &f, 4, 2, 0, 0x800, &x), -EINVAL);   /* no BAR */
	CHECK_EQ(msix_create(&fm.m, &f, 4, 6, 0, 0x800, &x), -EINVAL);
	CHECK_EQ(msix_create(&fm.m, &f, 4, 0, 4, 0x800, &x), -EINVAL);   /* misaligned table */
	CHECK_EQ(msix_create(&fm.m, &f, 4, 0, 0, 0x804, &x), -EINVAL);   /* misaligned PBA */
	CHECK_EQ(msix_create(&fm.m, &f, 4, 0, 0, 0x38, &x), -EINVAL);    /* PBA inside the table */
	CHECK_EQ(msix_create(&fm.m, &f, 4, 0, 0xfc8, 0, &x), -EINVAL);   /* table past the BAR */
	CHECK_EQ(msix_create(&fm.m, &f, 4, 0, 0, 0xffc, &x), -EINVAL);
	CHECK_EQ(f.cfg[PCI_CAP_PTR], 0);
	CHECK_EQ(msix_create(&fm.m, &f, 64, 0, 0, 0x400, &x), 0);
	CHECK_EQ(f.cfg[PCI_CAP_PTR], x->cap);
	CHECK_EQ(le16_get(&f.cfg[x->cap + 2]), 63);
	CHECK_EQ(msix_create(&fm.m, &f, 4, 0, 0, 0x800, &x), -EINVAL); /* already has one */
	msix_destroy(x);
	fake_machine_destroy(&fm);
}

static void save_all(struct rig *r, struct snap_out *o)
{
	snap_out_init(o);
	pci_func_save(&r->d.f, o);
	msix_save(r->d.x, o);
}

static int load_all(struct rig *r, const uint8_t *p, size_t n)
{
	struct snap_in in;
	int ret;

	snap_in_init(&in, p, n);
	ret = pci_func_load(&r->d.f, &in);
	if (!ret)
		ret = msix_load(r->d.x, &in);
	if (!ret)
		ret = snap_in_end(&in);
	return ret;
}

TEST(save_load)
{
	struct rig r, r2;
	struct snap_out o, o2;
	struct msix_vector *v;

	CHECK_EQ(rig_init(&r, 1), 0);
	ctrl_write(&r, 0xc000);
	program(&r, 0);
	program(&r, 3);
	unmask(&r, 3);
	msix_fire(r.d.x, 0);
	msix_fire(r.d.x, 3);
	save_all(&r, &o);
	CHECK_EQ(snap_out_error(&o), 0);

	CHECK_EQ(rig_init(&r2, 1), 0);
	CHECK_EQ(load_all(&r2, o.buf, o.len), 0);
	v = &r2.d.x->v[3];
	CHECK(v->gsi != ACCEL_MSI_ROUTE_NEW && v->efd >= 0); /* route re-installed */
	CHECK_EQ(r2.fm.route[v->gsi - FAKE_MSI_GSI_FIRST].data, 0x43);
	CHECK_EQ(rd(&r2, PBA_OFF, 1), 0x9);
	CHECK_EQ(rd(&r2, TABLE_OFF + 16 * 3 + 8, 4), 0x43);
	CHECK_EQ(msix_enabled(r2.d.x), 1);
	save_all(&r2, &o2);
	CHECK(o.len == o2.len && !memcmp(o.buf, o2.buf, o.len));
	/* Clearing the function mask delivers vector 3 (unmasked), not 0 (masked). */
	ctrl_write(&r2, 0x8000);
	CHECK_EQ(efd_count(v->efd), 1);
	CHECK_EQ(rd(&r2, PBA_OFF, 1), 0x1);
	snap_out_free(&o2);
	snap_out_free(&o);
	rig_destroy(&r);
	rig_destroy(&r2);
}

TEST(hostile_msix_loads)
{
	struct rig r;
	struct snap_out o;
	struct snap_in in;
	uint8_t buf[1024];
	size_t fn, n;
	int refused = 1;

	CHECK_EQ(rig_init(&r, 0), 0);
	program(&r, 1);
	snap_out_init(&o);
	pci_func_save(&r.d.f, &o);
	fn = o.len;
	msix_save(r.d.x, &o);
	n = o.len;
	CHECK_EQ(n - fn, 2 + NVEC * 17);
	CHECK(n < sizeof(buf));
	/* Vector count. */
	memcpy(buf, o.buf, n);
	buf[fn] = NVEC + 1;
	CHECK_EQ(load_all(&r, buf, n), -EINVAL);
	/* Vector 1's control with a reserved bit. */
	memcpy(buf, o.buf, n);
	buf[fn + 2 + 17 + 12] |= 2;
	CHECK_EQ(load_all(&r, buf, n), -EINVAL);
	/* Pending 2. */
	memcpy(buf, o.buf, n);
	buf[fn + 2 + 17 + 16] = 2;
	CHECK_EQ(load_all(&r, buf, n), -EINVAL);
	/* Truncations of the MSI-X part, without the table changing. */
	for (size_t cut = fn; cut < n; cut++) {
		snap_in_init(&in, o.buf, cut);
		refused &= pci_func_load(&r.d.f, &in) == 0 && msix_load(r.d.x, &in) == -EINVAL;
	}
	CHECK(refused);
	CHECK_EQ(rd(&r, TABLE_OFF + 16, 4), MSI_ADDR | 1 << 12);
	CHECK_EQ(load_all(&r, o.buf, n), 0);
	snap_out_free(&o);
	rig_destroy(&r);
}

TEST_MAIN(T(capability), T(table_widths), T(pba_and_pending_delivery),
	  T(function_mask_and_enable), T(routes_and_irqfd), T(route_dropped_when_address_cleared),
	  T(route_failure_falls_back),
	  T(create_errors), T(save_load), T(hostile_msix_loads))
