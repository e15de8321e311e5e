/*
 * test_vmgenid.c: unit tests for how a restored guest learns it was
 * restored (#15): the vmgenid device in the DSDT (dsdt.asl: \_SB.VGEN with
 * _CID "VM_Gen_Counter", ADDR = PC_VMGENID_ADDR, \_GPE._E00 notifying it),
 * the page it points at (reserved in e820, clear of the ACPI tables and the
 * MP table), the FADT's GPE0 block (inside the PM block, clear of PM1 and
 * the reset register), the GPE0 registers of acpi.c's PM block (status
 * write-1-to-clear, enable, the SCI high exactly while a status bit and its
 * enable bit are both set, save/load, hostile and old sections), and
 * snapshot/genid.c (fresh IDs, the clock arithmetic). Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/pc_layout.h"
#include "snapshot/genid.h"
#include "snapshot/stream.h"
#include "test.h"
#include "util.h"

/* ---- the DSDT ------------------------------------------------------------ */

/* AML's DWordPrefix then v: how iasl writes an integer over 16 bits. */
static const uint8_t *find_dword(const uint8_t *p, size_t len, uint32_t v)
{
	uint8_t want[5] = { 0x0c };

	le32_put(want + 1, v);
	return memmem(p, len, want, sizeof(want));
}

TEST(dsdt_has_vmgenid_device)
{
	size_t len;
	const uint8_t *d = acpi_dsdt(&len);
	const uint8_t *vgen = memmem(d, len, "VGEN", 4), *addr, *pkg, *e00;

	CHECK(vgen != NULL);
	/* _CID and _DDN, as strings (AML StringPrefix 0x0d, NUL-terminated). */
	CHECK(memmem(d, len, "\x0dVM_Gen_Counter", 16) != NULL);
	CHECK(memmem(d, len, "_CID", 4) != NULL);
	CHECK(memmem(d, len, "\x0dVMON0001", 10) != NULL); /* _HID: vmon's ACPI ID */
	/* ADDR is a method (MethodOp 0x14) after VGEN, returning the page's address. */
	addr = memmem(d, len, "ADDR", 4);
	CHECK(addr != NULL && vgen != NULL && addr > vgen);
	CHECK(addr != NULL && addr - d >= 2 && memchr(addr - 3, 0x14, 3) != NULL);
	pkg = addr ? find_dword(addr, len - (size_t)(addr - d), (uint32_t)PC_VMGENID_ADDR) : NULL;
	CHECK(pkg != NULL);
	/* ReturnOp, PackageOp ... NumElements 2 ... the low DWORD, then Zero (the high half). */
	CHECK(pkg != NULL && memchr(addr, 0xa4, (size_t)(pkg - addr)) != NULL);
	CHECK(pkg != NULL && memchr(addr, 0x12, (size_t)(pkg - addr)) != NULL);
	CHECK(pkg != NULL && pkg[-1] == 2);
	CHECK(pkg != NULL && pkg + 5 < d + len && pkg[5] == 0x00);
	CHECK_EQ((uint64_t)PC_VMGENID_ADDR >> 32, 0);
	/* \_GPE._E00: Notify (NotifyOp 0x86) of VGEN with 0x80 (BytePrefix 0x0a). */
	e00 = memmem(d, len, "_E00", 4);
	CHECK(e00 != NULL);
	CHECK(memmem(d, len, "_GPE", 4) != NULL);
	CHECK(e00 != NULL && memmem(e00, len - (size_t)(e00 - d), "\x86", 1) != NULL);
	CHECK(e00 != NULL && memmem(e00, len - (size_t)(e00 - d), "VGEN\x0a\x80", 6) != NULL);
	CHECK_EQ(ACPI_GPE_VMGENID, 0); /* _E00 is GPE 0 */
}

/* ---- the page ------------------------------------------------------------ */

TEST(genid_page_reserved)
{
	struct gmem m;
	struct e820_entry e[E820_MAX];
	unsigned n, reserved = 0, ram = 0;

	CHECK_EQ(x86_mem_init(&m, 256 << 20), 0);
	n = boot_e820(&m, e, E820_MAX);
	CHECK(n > 0);
	for (unsigned i = 0; i < n; i++) {
		int inside = PC_VMGENID_ADDR >= e[i].addr &&
			     PC_VMGENID_ADDR + PC_VMGENID_SIZE <= e[i].addr + e[i].size;
		int overlaps = PC_VMGENID_ADDR < e[i].addr + e[i].size &&
			       e[i].addr < PC_VMGENID_ADDR + PC_VMGENID_SIZE;

		if (inside && e[i].type == E820_RESERVED)
			reserved++;
		if (overlaps && e[i].type == E820_RAM)
			ram++;
	}
	CHECK_EQ(reserved, 1);
	CHECK_EQ(ram, 0);
	/* Page-aligned, clear of the ACPI tables (their most) and of the MP table. */
	CHECK_EQ(PC_VMGENID_ADDR & 0xfff, 0);
	CHECK(PC_ACPI_BASE + PC_ACPI_MAX <= PC_VMGENID_ADDR);
	CHECK(acpi_size(ACPI_MAX_CPUS) <= PC_ACPI_MAX);
	CHECK(PC_VMGENID_ADDR + PC_VMGENID_SIZE <= BOOT_MPTABLE_ADDR);
	CHECK(SNAP_GENID_LEN <= PC_VMGENID_SIZE);
	/* Backed by guest RAM, so vmon can write it and the memory file keeps it. */
	{
		uint8_t id[SNAP_GENID_LEN] = { 1, 2, 3 }, back[SNAP_GENID_LEN];

		CHECK_EQ(gmem_write(&m, PC_VMGENID_ADDR, id, sizeof(id)), 0);
		CHECK_EQ(gmem_read(&m, PC_VMGENID_ADDR, back, sizeof(back)), 0);
		CHECK(memcmp(id, back, sizeof(id)) == 0);
	}
	gmem_free(&m);
}

/* ---- the FADT's GPE0 block ----------------------------------------------- */

TEST(fadt_gpe0)
{
	size_t n = acpi_size(2);
	uint8_t *b = malloc(n);
	const uint8_t *x, *f = NULL;
	uint8_t sum = 0;

	CHECK(acpi_build(b, n, PC_ACPI_BASE, 2) > 0);
	x = b + (le64_get(b + 24) - PC_ACPI_BASE); /* RSDP -> XSDT */
	for (uint32_t off = 36; off + 8 <= le32_get(x + 4); off += 8) {
		const uint8_t *h = b + (le64_get(x + off) - PC_ACPI_BASE);

		if (!memcmp(h, "FACP", 4))
			f = h;
	}
	CHECK(f != NULL);
	if (!f) {
		free(b);
		return;
	}
	for (uint32_t i = 0; i < le32_get(f + 4); i++)
		sum = (uint8_t)(sum + f[i]);
	CHECK_EQ(sum, 0);
	CHECK_EQ(le32_get(f + 80), PC_ACPI_PM_BASE + ACPI_GPE0_STS); /* GPE0_BLK */
	CHECK_EQ(f[92], ACPI_GPE0_BLK_LEN);                           /* GPE0_BLK_LEN */
	CHECK_EQ(f[92] % 2, 0);                                       /* must be even */
	CHECK_EQ(le32_get(f + 84), 0);                                /* no GPE1 */
	CHECK_EQ(f[93], 0);
	/* Inside the PM block, after PM1 (4 + 2 bytes) and the reset register. */
	CHECK(ACPI_GPE0_STS + ACPI_GPE0_BLK_LEN <= ACPI_PM_NR_PORTS);
	CHECK(ACPI_GPE0_STS > ACPI_PM_RESET);
	CHECK(ACPI_GPE0_STS >= ACPI_PM1_CNT + ACPI_PM1_CNT_LEN);
	CHECK_EQ(ACPI_GPE0_EN, ACPI_GPE0_STS + ACPI_GPE0_BLK_LEN / 2);
	CHECK_EQ(le16_get(f + 46), ACPI_SCI_IRQ);
	free(b);
}

/* ---- the GPE0 registers and the SCI ------------------------------------- */

struct rec {
	struct machine m;
	int level[32];
	unsigned sets, stops;
};

static int rec_irq_set(void *ctx, unsigned gsi, int level)
{
	struct rec *r = ctx;

	if (gsi < 32)
		r->level[gsi] = level;
	r->sets++;
	return 0;
}

static void rec_stop(void *ctx, enum vm_exit why, const char *msg)
{
	(void)why;
	(void)msg;
	((struct rec *)ctx)->stops++;
}

static const struct machine_ops rec_ops = { .irq_set = rec_irq_set, .stop = rec_stop };

static struct acpi_pm *pm_new(struct test_ctx *t_, struct rec *r)
{
	struct acpi_pm *pm = NULL;

	memset(r, 0, sizeof(*r));
	r->m.ops = &rec_ops;
	r->m.ctx = r;
	CHECK_EQ(acpi_pm_new(&r->m, &pm), 0);
	return pm;
}

static void w8(struct acpi_pm *pm, uint64_t off, uint8_t v)
{
	acpi_pm_ops.write(pm, off, &v, 1);
}

static uint8_t r8(struct acpi_pm *pm, uint64_t off)
{
	uint8_t v = 0xee;

	acpi_pm_ops.read(pm, off, &v, 1);
	return v;
}

#define SCI(r) ((r).level[ACPI_SCI_IRQ])

TEST(gpe_status_enable_sci)
{
	struct rec r;
	struct acpi_pm *pm = pm_new(t_, &r);
	uint8_t both[2];

	CHECK_EQ(r8(pm, ACPI_GPE0_STS), 0);
	CHECK_EQ(r8(pm, ACPI_GPE0_EN), 0);
	/* Status without enable: visible, no SCI. */
	CHECK_EQ(acpi_pm_raise_gpe(pm, ACPI_GPE_VMGENID), 0);
	CHECK_EQ(r8(pm, ACPI_GPE0_STS), 1);
	CHECK_EQ(SCI(r), 0);
	CHECK_EQ(r.sets, 0);
	/* Enable it: the SCI rises. */
	w8(pm, ACPI_GPE0_EN, 0x01);
	CHECK_EQ(r8(pm, ACPI_GPE0_EN), 0x01);
	CHECK_EQ(SCI(r), 1);
	/* Writing 0 to status clears nothing; writing 1 to another bit neither. */
	w8(pm, ACPI_GPE0_STS, 0x00);
	w8(pm, ACPI_GPE0_STS, 0x02);
	CHECK_EQ(r8(pm, ACPI_GPE0_STS), 1);
	CHECK_EQ(SCI(r), 1);
	/* Guest writes 1: cleared, SCI falls. */
	w8(pm, ACPI_GPE0_STS, 0x01);
	CHECK_EQ(r8(pm, ACPI_GPE0_STS), 0);
	CHECK_EQ(SCI(r), 0);
	/* Enabled then raised: rises at once; disabling lowers it, status stays. */
	CHECK_EQ(acpi_pm_raise_gpe(pm, 0), 0);
	CHECK_EQ(SCI(r), 1);
	w8(pm, ACPI_GPE0_EN, 0x00);
	CHECK_EQ(SCI(r), 0);
	CHECK_EQ(r8(pm, ACPI_GPE0_STS), 1);
	/* An enable for a different GPE does not raise it. */
	w8(pm, ACPI_GPE0_EN, 0x80);
	CHECK_EQ(SCI(r), 0);
	/* A 2-byte access over status and enable, as ACPICA never does but a guest may. */
	both[0] = 0x01;
	both[1] = 0x01;
	acpi_pm_ops.write(pm, ACPI_GPE0_STS, both, 2); /* clears status, enables GPE 0 */
	CHECK_EQ(r8(pm, ACPI_GPE0_STS), 0);
	CHECK_EQ(r8(pm, ACPI_GPE0_EN), 1);
	CHECK_EQ(SCI(r), 0);
	acpi_pm_ops.read(pm, ACPI_GPE0_STS, both, 2);
	CHECK(both[0] == 0 && both[1] == 1);
	/* Reset: all clear, SCI low. */
	CHECK_EQ(acpi_pm_raise_gpe(pm, 0), 0);
	CHECK_EQ(SCI(r), 1);
	acpi_pm_ops.reset(pm);
	CHECK_EQ(SCI(r), 0);
	CHECK_EQ(r8(pm, ACPI_GPE0_EN), 0);
	/* Out of range. */
	CHECK_EQ(acpi_pm_raise_gpe(pm, 8), -EINVAL);
	CHECK_EQ(acpi_pm_raise_gpe(NULL, 0), -EINVAL);
	CHECK_EQ(r.stops, 0);
	acpi_pm_ops.destroy(pm);
}

/* The SCI is one line for PM1 and GPE0 events: high while either wants it. */
TEST(gpe_and_pm1_share_sci)
{
	struct rec r;
	struct acpi_pm *pm = pm_new(t_, &r);

	w8(pm, ACPI_GPE0_EN, 0x01);
	CHECK_EQ(acpi_pm_raise_gpe(pm, 0), 0);
	CHECK_EQ(SCI(r), 1);
	w8(pm, ACPI_PM1_STS, 0xff); /* clearing PM1 status keeps the GPE's SCI */
	w8(pm, ACPI_PM1_EN, 0xff);
	CHECK_EQ(SCI(r), 1);
	w8(pm, ACPI_GPE0_STS, 0x01);
	CHECK_EQ(SCI(r), 0);
	acpi_pm_ops.destroy(pm);
}

TEST(gpe_save_load)
{
	struct rec r, r2;
	struct acpi_pm *pm = pm_new(t_, &r), *pm2 = pm_new(t_, &r2);
	struct snap_out o;
	struct snap_in in;
	uint8_t old[6] = { 0, 0, 0, 0, 0, 0 }; /* a section from before GPE0 */

	w8(pm, ACPI_GPE0_EN, 0x01);
	CHECK_EQ(acpi_pm_raise_gpe(pm, 0), 0);
	snap_out_init(&o);
	CHECK_EQ(acpi_pm_ops.save(pm, &o), 0);
	CHECK_EQ(o.len, 8);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(acpi_pm_ops.load(pm2, &in), 0);
	CHECK_EQ(r8(pm2, ACPI_GPE0_STS), 1);
	CHECK_EQ(r8(pm2, ACPI_GPE0_EN), 1);
	CHECK_EQ(SCI(r2), 1); /* load drives the line to what the state says */
	/* The older 6-byte form: loads, GPE registers 0, SCI low. */
	snap_in_init(&in, old, sizeof(old));
	CHECK_EQ(acpi_pm_ops.load(pm2, &in), 0);
	CHECK_EQ(r8(pm2, ACPI_GPE0_STS), 0);
	CHECK_EQ(r8(pm2, ACPI_GPE0_EN), 0);
	CHECK_EQ(SCI(r2), 0);
	/* Hostile: 7 bytes (half a GPE block) and 9 (trailing): refused, device reset. */
	{
		uint8_t seven[7] = { 0 }, nine[9] = { 0, 0, 0, 0, 0, 0, 1, 1, 0 };

		snap_in_init(&in, o.buf, o.len);
		CHECK_EQ(acpi_pm_ops.load(pm2, &in), 0);
		snap_in_init(&in, seven, sizeof(seven));
		CHECK_EQ(acpi_pm_ops.load(pm2, &in), -EINVAL);
		CHECK_EQ(r8(pm2, ACPI_GPE0_EN), 0);
		CHECK_EQ(SCI(r2), 0);
		snap_in_init(&in, nine, sizeof(nine));
		CHECK_EQ(acpi_pm_ops.load(pm2, &in), -EINVAL);
		CHECK_EQ(r8(pm2, ACPI_GPE0_STS), 0);
		CHECK_EQ(SCI(r2), 0);
	}
	snap_out_free(&o);
	acpi_pm_ops.destroy(pm);
	acpi_pm_ops.destroy(pm2);
}

/* ---- snapshot/genid.c ---------------------------------------------------- */

TEST(genid_new_is_fresh)
{
	uint8_t a[SNAP_GENID_LEN], b[SNAP_GENID_LEN], zero[SNAP_GENID_LEN] = { 0 };

	snap_genid_new(a);
	snap_genid_new(b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(memcmp(a, zero, sizeof(a)) != 0);
}

TEST(clock_advance)
{
	const uint64_t s = 1000000000ull;

	/* 5 s of wall time since the snapshot: the clock moves on by 5 s. */
	CHECK_EQ(snap_clock_advance(7 * s, 100 * s, 105 * s), 12 * s);
	/* No wall time recorded (older snapshot): as saved. */
	CHECK_EQ(snap_clock_advance(7 * s, 0, 105 * s), 7 * s);
	/* The host's wall clock went back: never backwards, as saved. */
	CHECK_EQ(snap_clock_advance(7 * s, 105 * s, 100 * s), 7 * s);
	CHECK_EQ(snap_clock_advance(7 * s, 105 * s, 105 * s), 7 * s);
	/* Saturates instead of wrapping. */
	CHECK(snap_clock_advance(UINT64_MAX - 5, 1, UINT64_MAX) == UINT64_MAX);
	/* The wall clock is readable and moves forward. */
	{
		uint64_t t0 = snap_wall_ns(), t1 = snap_wall_ns();

		CHECK(t0 > 1600000000ull * s);
		CHECK(t1 >= t0);
	}
}

TEST_MAIN(T(dsdt_has_vmgenid_device), T(genid_page_reserved), T(fadt_gpe0),
	  T(gpe_status_enable_sci), T(gpe_and_pm1_share_sci), T(gpe_save_load),
	  T(genid_new_is_fresh), T(clock_advance))
