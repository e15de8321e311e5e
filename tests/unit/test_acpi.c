/*
 * test_acpi.c: unit tests for src/arch/x86/acpi.c, the PC's ACPI tables and
 * PM block, and boot.c's RSDP hand-over.
 *
 * Reads the tables as a guest's ACPI core would: the RSDP (signature,
 * revision, both checksums, the XSDT pointer), the XSDT's pointers to
 * FADT, MADT and MCFG, each table's signature, length and checksum, the
 * FADT's pointers to the FACS and the DSDT and its PM/reset registers, the
 * MADT's entries (one enabled LAPIC per CPU for 1, 2, 64 and the maximum,
 * one IOAPIC, the SCI override, the NMI), MCFG's ECAM, and that the DSDT is
 * iasl's output (the layout numbers dsdt.asl writes out are found in its
 * AML). Then the PM block on a recording machine: S5 stops the machine
 * with VM_EXIT_GUEST_RESET, every other write (other sleep types, SLP_TYP
 * without SLP_EN, wrong reset values, odd widths and offsets) does not,
 * and save/load rejects hostile sections.
 *
 * Disassembly: the tables this builds were written to files once and fed
 * to `iasl -d` (ACPICA 20200925): RSDP, XSDT, FACP, FACS, APIC, MCFG and
 * DSDT disassemble with no errors or warnings. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/pc_layout.h"
#include "snapshot/stream.h"
#include "test.h"
#include "util.h"

#define GPA PC_ACPI_BASE

/* The tables of one build, by guest address. */
struct tables {
	uint8_t *buf;
	int len;
};

static int build(struct tables *t, unsigned ncpus)
{
	size_t n = acpi_size(ncpus);

	t->buf = malloc(n + 64);
	memset(t->buf, 0xa5, n + 64);
	t->len = acpi_build(t->buf, n, GPA, ncpus);
	return t->len;
}

/* The table at guest address gpa, or NULL if outside the build. */
static const uint8_t *at(const struct tables *t, uint64_t gpa, size_t len)
{
	if (gpa < GPA || gpa - GPA > (uint64_t)t->len || len > (uint64_t)t->len - (gpa - GPA))
		return NULL;
	return t->buf + (gpa - GPA);
}

static int sum_ok(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s == 0;
}

/* A table with signature sig at gpa: whole, inside the build, checksum right. */
static const uint8_t *table(struct test_ctx *t_, const struct tables *t, uint64_t gpa,
			    const char *sig)
{
	const uint8_t *h = at(t, gpa, 36);

	CHECK(h != NULL);
	if (!h)
		return NULL;
	CHECK(memcmp(h, sig, 4) == 0);
	CHECK(at(t, gpa, le32_get(h + 4)) != NULL);
	if (!at(t, gpa, le32_get(h + 4)))
		return NULL;
	CHECK(sum_ok(h, le32_get(h + 4)));
	CHECK(memcmp(h + 10, "VMON  ", 6) == 0);
	return h;
}

static const uint8_t *xsdt_find(struct test_ctx *t_, const struct tables *t, const char *sig,
				uint64_t *gpa)
{
	const uint8_t *x = table(t_, t, le64_get(t->buf + 24), "XSDT");

	if (!x)
		return NULL;
	for (uint32_t off = 36; off + 8 <= le32_get(x + 4); off += 8) {
		const uint8_t *h = at(t, le64_get(x + off), 36);

		if (h && !memcmp(h, sig, 4)) {
			*gpa = le64_get(x + off);
			return table(t_, t, *gpa, sig);
		}
	}
	return NULL;
}

TEST(rsdp_and_xsdt)
{
	struct tables t;
	const uint8_t *r, *x;

	CHECK(build(&t, 1) > 0);
	CHECK(t.len <= (int)PC_ACPI_MAX);
	r = t.buf;
	CHECK(memcmp(r, "RSD PTR ", 8) == 0);
	CHECK(sum_ok(r, 20));             /* ACPI 1.0 checksum */
	CHECK(sum_ok(r, 36));             /* extended checksum */
	CHECK_EQ(r[15], 2);               /* revision */
	CHECK_EQ(le32_get(r + 20), 36);   /* length */
	CHECK_EQ(le32_get(r + 16), 0);    /* no RSDT */
	CHECK_EQ(le64_get(r + 24) & 7, 0);
	x = table(t_, &t, le64_get(r + 24), "XSDT");
	CHECK(x != NULL);
	if (x) {
		static const char *const want[] = { "FACP", "APIC", "MCFG" };

		CHECK_EQ(le32_get(x + 4), 36 + 8 * 3);
		for (unsigned i = 0; i < 3; i++)
			CHECK(table(t_, &t, le64_get(x + 36 + 8 * i), want[i]) != NULL);
	}
	/* Nothing written past the tables. */
	CHECK_EQ(t.buf[t.len], 0xa5);
	free(t.buf);
}

TEST(fadt)
{
	struct tables t;
	const uint8_t *f, *facs, *dsdt, *aml;
	uint64_t gpa;
	size_t dlen;

	build(&t, 2);
	f = xsdt_find(t_, &t, "FACP", &gpa);
	CHECK(f != NULL);
	if (!f)
		goto out;
	CHECK_EQ(le32_get(f + 4), 276);
	CHECK_EQ(f[8], 6);
	/* FACS: 64-byte aligned, no checksum. */
	CHECK_EQ(le32_get(f + 36) & 63, 0);
	facs = at(&t, le32_get(f + 36), 64);
	CHECK(facs && !memcmp(facs, "FACS", 4) && le32_get(facs + 4) == 64);
	/* DSDT, by both pointers, is iasl's. */
	CHECK_EQ(le64_get(f + 140), le32_get(f + 40));
	dsdt = table(t_, &t, le32_get(f + 40), "DSDT");
	CHECK(dsdt != NULL);
	aml = acpi_dsdt(&dlen);
	CHECK(dsdt && le32_get(dsdt + 4) == dlen && !memcmp(dsdt, aml, dlen));
	/* SCI on IRQ 9, ACPI mode always on (SMI_CMD 0), the PM block. */
	CHECK_EQ(le16_get(f + 46), ACPI_SCI_IRQ);
	CHECK_EQ(le32_get(f + 48), 0);
	CHECK_EQ(le32_get(f + 56), PC_ACPI_PM_BASE + ACPI_PM1_STS);
	CHECK_EQ(le32_get(f + 64), PC_ACPI_PM_BASE + ACPI_PM1_CNT);
	CHECK_EQ(f[88], 4);
	CHECK_EQ(f[89], 2);
	CHECK_EQ(le32_get(f + 76), 0); /* no PM timer */
	/* The 8042 is there (Linux resets through it); the reset register is supported. */
	CHECK(le16_get(f + 109) & 0x2);
	CHECK(le32_get(f + 112) & (1u << 10));
	CHECK(!(le32_get(f + 112) & (1u << 20))); /* not hardware-reduced */
	CHECK_EQ(f[116], 1);                      /* system I/O */
	CHECK_EQ(f[117], 8);
	CHECK_EQ(le64_get(f + 120), PC_ACPI_PM_BASE + ACPI_PM_RESET);
	CHECK_EQ(f[128], ACPI_RESET_VALUE);
out:
	free(t.buf);
}

/* What the MADT says, as Linux's parser collects it. */
struct madt {
	unsigned lapics, enabled, ioapics, isos, nmis, bad;
	uint8_t apic_id[256];
	uint8_t ioapic_id;
	uint32_t ioapic_addr, gsi_base, lapic_addr;
	uint8_t iso_src;
	uint32_t iso_gsi;
	uint16_t iso_flags;
	int ends_exactly;
};

static void madt_parse(const uint8_t *m, struct madt *p)
{
	uint32_t len = le32_get(m + 4), off = 44;

	memset(p, 0, sizeof(*p));
	p->lapic_addr = le32_get(m + 36);
	while (off + 2 <= len && m[off + 1] >= 2 && off + m[off + 1] <= len) {
		const uint8_t *e = m + off;

		switch (e[0]) {
		case 0:
			p->bad += e[1] != 8;
			p->apic_id[p->lapics++ & 255] = e[3];
			p->enabled += le32_get(e + 4) & 1;
			break;
		case 1:
			p->bad += e[1] != 12;
			p->ioapics++;
			p->ioapic_id = e[2];
			p->ioapic_addr = le32_get(e + 4);
			p->gsi_base = le32_get(e + 8);
			break;
		case 2:
			p->bad += e[1] != 10 || e[2] != 0;
			p->isos++;
			p->iso_src = e[3];
			p->iso_gsi = le32_get(e + 4);
			p->iso_flags = le16_get(e + 8);
			break;
		case 4:
			p->bad += e[1] != 6 || e[2] != 0xff || e[5] != 1;
			p->nmis++;
			break;
		default:
			p->bad++;
		}
		off += e[1];
	}
	p->ends_exactly = off == len;
}

TEST(madt_cpus)
{
	static const unsigned counts[] = { 1, 2, 64, ACPI_MAX_CPUS };

	for (unsigned c = 0; c < ARRAY_SIZE(counts); c++) {
		unsigned n = counts[c];
		struct tables t;
		const uint8_t *m;
		struct madt p;
		uint64_t gpa;

		CHECK(build(&t, n) > 0);
		CHECK(t.len <= (int)PC_ACPI_MAX);
		m = xsdt_find(t_, &t, "APIC", &gpa);
		CHECK(m != NULL);
		if (!m) {
			free(t.buf);
			continue;
		}
		madt_parse(m, &p);
		CHECK(p.ends_exactly);
		CHECK_EQ(p.bad, 0);
		CHECK_EQ(p.lapic_addr, PC_LAPIC_BASE);
		CHECK(le32_get(m + 40) & 1); /* PCAT_COMPAT: the 8259s exist */
		CHECK_EQ(p.lapics, n);
		CHECK_EQ(p.enabled, n);
		for (unsigned i = 0; i < n; i++)
			CHECK_EQ(p.apic_id[i], i);
		/* The IOAPIC as the MP table has it: ID n, GSI base 0. */
		CHECK_EQ(p.ioapics, 1);
		CHECK_EQ(p.ioapic_id, n);
		CHECK_EQ(p.ioapic_addr, PC_IOAPIC_BASE);
		CHECK_EQ(p.gsi_base, 0);
		/* Identity ISA routing: the only override is the SCI's, level, active high. */
		CHECK_EQ(p.isos, 1);
		CHECK_EQ(p.iso_src, ACPI_SCI_IRQ);
		CHECK_EQ(p.iso_gsi, ACPI_SCI_IRQ);
		CHECK_EQ(p.iso_flags, 0xd);
		CHECK_EQ(p.nmis, 1);
		free(t.buf);
	}
}

TEST(mcfg)
{
	struct tables t;
	const uint8_t *m;
	uint64_t gpa;

	build(&t, 1);
	m = xsdt_find(t_, &t, "MCFG", &gpa);
	CHECK(m != NULL);
	if (m) {
		CHECK_EQ(le32_get(m + 4), 60);
		CHECK_EQ(le64_get(m + 44), PC_PCI_ECAM_BASE);
		CHECK_EQ(le16_get(m + 52), 0); /* segment */
		CHECK_EQ(m[54], 0);            /* buses 0-0 */
		CHECK_EQ(m[55], 0);
	}
	free(t.buf);
}

/* 1 if the n bytes of v (little-endian) appear in p. */
static int has_le(const uint8_t *p, size_t len, uint64_t v, unsigned n)
{
	uint8_t want[8];

	for (unsigned i = 0; i < n; i++)
		want[i] = (uint8_t)(v >> (8 * i));
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(p + i, want, n))
			return 1;
	return 0;
}

TEST(dsdt_is_iasl_output)
{
	size_t len;
	const uint8_t *d = acpi_dsdt(&len);
	FILE *f;

	CHECK(len > 36);
	CHECK(memcmp(d, "DSDT", 4) == 0);
	CHECK_EQ(le32_get(d + 4), len);
	CHECK(sum_ok(d, len));
	CHECK(memcmp(d + 28, "INTL", 4) == 0); /* compiler ID: ACPICA's iasl */
	/* The same bytes as the .aml iasl wrote beside the hex (when run from the tree). */
	f = fopen("build/gen/dsdt.aml", "rb");
	if (f) {
		uint8_t *b = malloc(len + 1);

		CHECK_EQ(fread(b, 1, len + 1, f), len);
		CHECK(memcmp(b, d, len) == 0);
		free(b);
		fclose(f);
	}
	/* The layout numbers dsdt.asl writes out equal pc_layout.h's. */
	CHECK(has_le(d, len, PC_PCI_MMIO_BASE, 4));
	CHECK(has_le(d, len, PC_PCI_MMIO_BASE + PC_PCI_MMIO_SIZE - 1, 4));
	CHECK(has_le(d, len, PC_PCI_MMIO_SIZE, 4));
	CHECK(has_le(d, len, PC_PCI_ECAM_BASE, 4));
	CHECK(has_le(d, len, PC_PCI_ECAM_SIZE, 4));
	CHECK(has_le(d, len, PC_ACPI_PM_BASE, 2));
	CHECK(memmem(d, len, "_S5_", 4) != NULL);
	CHECK(memmem(d, len, "_PRT", 4) != NULL);
	CHECK(memmem(d, len, "PCI0", 4) != NULL);
	CHECK(memmem(d, len, "COM1", 4) != NULL);
}

TEST(build_errors)
{
	uint8_t small[64];
	uint8_t *b = malloc(acpi_size(2));

	CHECK_EQ(acpi_build(b, acpi_size(2), GPA, 0), -EINVAL);
	CHECK_EQ(acpi_build(b, acpi_size(2), GPA, ACPI_MAX_CPUS + 1), -EINVAL);
	CHECK_EQ(acpi_build(b, acpi_size(2), GPA + 8, 2), -EINVAL);     /* RSDP unaligned */
	CHECK_EQ(acpi_build(b, acpi_size(2), 0x100000, 2), -EINVAL);    /* above 1 MiB */
	CHECK_EQ(acpi_build(b, acpi_size(2) - 1, GPA, 2), -ENOSPC);
	memset(small, 0x5a, sizeof(small));
	CHECK_EQ(acpi_build(small, sizeof(small), GPA, 1), -ENOSPC);
	CHECK_EQ(small[0], 0x5a);
	CHECK(acpi_size(ACPI_MAX_CPUS) <= PC_ACPI_MAX);
	free(b);
}

/* ---- the PM block ------------------------------------------------------ */

struct rec {
	struct machine m;
	unsigned stops;
	enum vm_exit why;
	char msg[64];
};

static void rec_stop(void *ctx, enum vm_exit why, const char *msg)
{
	struct rec *r = ctx;

	r->stops++;
	r->why = why;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

static const struct machine_ops rec_ops = { .stop = rec_stop };

static struct acpi_pm *pm_new(struct test_ctx *t_, struct rec *r)
{
	struct acpi_pm *pm = NULL;

	memset(r, 0, sizeof(*r));
	r->m.ops = &rec_ops;
	r->m.ctx = r;
	CHECK_EQ(acpi_pm_new(&r->m, &pm), 0);
	return pm;
}

static void w16(struct acpi_pm *pm, uint64_t off, uint16_t v)
{
	uint8_t b[2];

	le16_put(b, v);
	acpi_pm_ops.write(pm, off, b, 2);
}

static uint16_t r16(struct acpi_pm *pm, uint64_t off)
{
	uint8_t b[2];

	acpi_pm_ops.read(pm, off, b, 2);
	return le16_get(b);
}

static uint16_t slp(unsigned typ)
{
	return (uint16_t)(typ << ACPI_PM1_SLP_TYP_SHIFT);
}

TEST(pm_s5_powers_off)
{
	struct rec r;
	struct acpi_pm *pm = pm_new(t_, &r);

	/* ACPICA's order: SLP_TYP first, then SLP_TYP | SLP_EN. */
	w16(pm, ACPI_PM1_CNT, slp(ACPI_SLP_TYP_S5) | ACPI_PM1_SCI_EN);
	CHECK_EQ(r.stops, 0);
	w16(pm, ACPI_PM1_CNT, slp(ACPI_SLP_TYP_S5) | ACPI_PM1_SLP_EN | ACPI_PM1_SCI_EN);
	CHECK_EQ(r.stops, 1);
	CHECK_EQ(r.why, VM_EXIT_GUEST_RESET);
	CHECK(strstr(r.msg, "S5") != NULL);
	acpi_pm_ops.destroy(pm);

	/* The high byte alone carries both fields: a byte write does it too. */
	pm = pm_new(t_, &r);
	{
		uint8_t b = (uint8_t)((slp(ACPI_SLP_TYP_S5) | ACPI_PM1_SLP_EN) >> 8);

		acpi_pm_ops.write(pm, ACPI_PM1_CNT + 1, &b, 1);
	}
	CHECK_EQ(r.stops, 1);
	CHECK_EQ(r.why, VM_EXIT_GUEST_RESET);
	acpi_pm_ops.destroy(pm);
}

TEST(pm_reset_register)
{
	struct rec r;
	struct acpi_pm *pm = pm_new(t_, &r);
	uint8_t v = ACPI_RESET_VALUE, other = 0x06, wide[4] = { ACPI_RESET_VALUE, 0, 0, 0 };

	acpi_pm_ops.write(pm, ACPI_PM_RESET, &other, 1);
	acpi_pm_ops.write(pm, ACPI_PM_RESET + 1, &v, 1); /* beside the register */
	CHECK_EQ(r.stops, 0);
	acpi_pm_ops.write(pm, ACPI_PM_RESET, &v, 1);
	CHECK_EQ(r.stops, 1);
	CHECK_EQ(r.why, VM_EXIT_GUEST_RESET);
	CHECK(strstr(r.msg, "reset") != NULL);
	acpi_pm_ops.write(pm, ACPI_PM_RESET, wide, 4); /* a wider write holding the value */
	CHECK_EQ(r.stops, 2);
	acpi_pm_ops.destroy(pm);
}

TEST(pm_other_writes_do_not_stop)
{
	struct rec r;
	struct acpi_pm *pm = pm_new(t_, &r);
	uint8_t junk[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xdf, 0xff, 0xff }; /* no SLP_EN */

	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == ACPI_SLP_TYP_S5)
			continue;
		w16(pm, ACPI_PM1_CNT, slp(typ) | ACPI_PM1_SLP_EN); /* S1-S4 and junk: ignored */
	}
	w16(pm, ACPI_PM1_CNT, slp(ACPI_SLP_TYP_S5));             /* no SLP_EN */
	w16(pm, ACPI_PM1_STS, 0xffff);
	w16(pm, ACPI_PM1_EN, 0xffff);
	acpi_pm_ops.write(pm, 0, junk, 8);                      /* 8 bytes over STS, EN, CNT */
	acpi_pm_ops.write(pm, ACPI_PM_NR_PORTS - 1, junk, 1);
	acpi_pm_ops.write(pm, ACPI_PM_NR_PORTS - 1, junk, 8);   /* runs off the block */
	acpi_pm_ops.write(pm, 3, junk, 3);                      /* odd width, odd offset */
	acpi_pm_ops.write(pm, 0, junk, 0);
	CHECK_EQ(r.stops, 0);
	acpi_pm_ops.destroy(pm);
}

TEST(pm_registers_read_back)
{
	struct rec r;
	struct acpi_pm *pm = pm_new(t_, &r);
	uint8_t b[8];

	CHECK_EQ(r16(pm, ACPI_PM1_CNT), ACPI_PM1_SCI_EN); /* ACPI mode: SCI_EN reads 1 */
	w16(pm, ACPI_PM1_EN, 0x0121);
	CHECK_EQ(r16(pm, ACPI_PM1_EN), 0x0121);
	w16(pm, ACPI_PM1_CNT, slp(3));
	CHECK_EQ(r16(pm, ACPI_PM1_CNT), slp(3) | ACPI_PM1_SCI_EN);
	w16(pm, ACPI_PM1_CNT, slp(2) | ACPI_PM1_SLP_EN);     /* SLP_EN is write-only */
	CHECK_EQ(r16(pm, ACPI_PM1_CNT), slp(2) | ACPI_PM1_SCI_EN);
	CHECK_EQ(r16(pm, ACPI_PM1_STS), 0);
	/* Odd widths and offsets: bytes of the registers; past the block all ones. */
	acpi_pm_ops.read(pm, ACPI_PM1_EN + 1, b, 1);
	CHECK_EQ(b[0], 0x01);
	acpi_pm_ops.read(pm, ACPI_PM_NR_PORTS - 2, b, 4);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(b[2], 0xff);
	CHECK_EQ(b[3], 0xff);
	acpi_pm_ops.reset(pm);
	CHECK_EQ(r16(pm, ACPI_PM1_EN), 0);
	CHECK_EQ(r16(pm, ACPI_PM1_CNT), ACPI_PM1_SCI_EN);
	CHECK_EQ(r.stops, 0);
	acpi_pm_ops.destroy(pm);
}

TEST(pm_save_load)
{
	struct rec r;
	struct acpi_pm *pm = pm_new(t_, &r), *pm2;
	struct rec r2;
	struct snap_out o;
	struct snap_in in;
	uint8_t hostile[6] = { 0, 0, 0, 0, 0, 0x20 }; /* cnt with SLP_EN kept */
	struct dev_stat st[4];

	pm2 = pm_new(t_, &r2);
	w16(pm, ACPI_PM1_EN, 0x0100);
	w16(pm, ACPI_PM1_CNT, slp(3));
	snap_out_init(&o);
	CHECK_EQ(acpi_pm_ops.save(pm, &o), 0);
	snap_in_init(&in, o.buf, o.len);
	CHECK_EQ(acpi_pm_ops.load(pm2, &in), 0);
	CHECK_EQ(r16(pm2, ACPI_PM1_EN), 0x0100);
	CHECK_EQ(r16(pm2, ACPI_PM1_CNT), slp(3) | ACPI_PM1_SCI_EN);
	/* Truncated and over-long sections: refused, device reset. */
	snap_in_init(&in, o.buf, o.len - 1);
	CHECK_EQ(acpi_pm_ops.load(pm2, &in), -EINVAL);
	CHECK_EQ(r16(pm2, ACPI_PM1_EN), 0);
	{
		uint8_t longer[7] = { 0 };

		snap_in_init(&in, longer, sizeof(longer));
		CHECK_EQ(acpi_pm_ops.load(pm2, &in), -EINVAL);
	}
	snap_in_init(&in, hostile, sizeof(hostile));
	CHECK_EQ(acpi_pm_ops.load(pm2, &in), -EINVAL);
	CHECK_EQ(r16(pm2, ACPI_PM1_CNT), ACPI_PM1_SCI_EN);
	CHECK_EQ(r2.stops, 0);
	CHECK_EQ(acpi_pm_ops.stats(pm, st, 4), 3);
	CHECK(dev_ops_complete(&acpi_pm_ops));
	snap_out_free(&o);
	acpi_pm_ops.destroy(pm);
	acpi_pm_ops.destroy(pm2);
}

/* ---- boot.c: where the kernel learns the RSDP --------------------------- */

TEST(boot_rsdp)
{
	struct gmem m;
	struct boot_info bz = { .mode = BOOT_MODE_LONG64 }, pvh = { .mode = BOOT_MODE_PROT32 };
	uint8_t b[8];

	CHECK_EQ(x86_mem_init(&m, 64 << 20), 0);
	CHECK_EQ(boot_set_rsdp(&m, &bz, PC_ACPI_BASE), 0);
	CHECK_EQ(gmem_read(&m, BOOT_ZERO_PAGE_ADDR + 0x070, b, 8), 0); /* acpi_rsdp_addr */
	CHECK_EQ(le64_get(b), PC_ACPI_BASE);
	CHECK_EQ(boot_set_rsdp(&m, &pvh, PC_ACPI_BASE), 0);
	CHECK_EQ(gmem_read(&m, BOOT_PVH_INFO_ADDR + 32, b, 8), 0); /* rsdp_paddr */
	CHECK_EQ(le64_get(b), PC_ACPI_BASE);
	gmem_free(&m);
}

TEST_MAIN(T(rsdp_and_xsdt), T(fadt), T(madt_cpus), T(mcfg), T(dsdt_is_iasl_output),
	  T(build_errors), T(pm_s5_powers_off), T(pm_reset_register),
	  T(pm_other_writes_do_not_stop), T(pm_registers_read_back), T(pm_save_load),
	  T(boot_rsdp))
