/*
 * fuzz_acpi_pm.c: libFuzzer harness for the x86 ACPI PM block at port
 * 0x600 (acpi_pm_ops in src/arch/x86/acpi.c): a hostile guest's port I/O
 * of every width and offset over PM1_STS, PM1_EN, PM1_CNT and the reset
 * register, VM reset, and saved state (real saves and hostile bytes).
 *
 * Owns: per input, a fake machine (tests/unit/fake_machine.c) whose stop
 * op counts the clean ends the block asks for, and one PM block. Torn
 * down after each input. Threads: libFuzzer's one.
 *
 * Input: ops until the input ends, each an opcode byte (mod 6) and operands:
 *   0 write  u8 offset (mod 0x12: also past the block), u8 width (1 << (v % 3)), u32 value
 *   1 read   u8 offset, u8 width
 *   2 sleep  u8 SLP_TYP (mod 8): a 16-bit write of SLP_EN | SLP_TYP to PM1_CNT
 *   3 save, load it back, save again (byte for byte the same; 8 bytes, a 6-byte
 *     state of a vmon before the GPE0 block loads too)
 *   4 load   u8 n, n hostile bytes (0 or -EINVAL)
 *   5 VM reset
 * Checked per access: the VM is stopped exactly when the access writes
 * SLP_EN with SLP_TYP S5 into PM1_CNT's high byte, or ACPI_RESET_VALUE
 * into the reset register, at most once per access, never on a read;
 * stops equal poweroffs + resets in the stats; PM1_CNT reads SCI_EN set
 * and SLP_EN clear; bytes past the block read all ones; PM1_STS bits
 * only ever clear (write 1 to clear, nothing sets them).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../unit/fake_machine.c"
#include "arch/x86/acpi.h"
#include "fuzz.h"
#include "log.h"
#include "snapshot/stream.h"

#define NR_OPS 6

struct fz {
	struct fake_machine fm;
	struct acpi_pm *pm;
	uint16_t cnt_hi; /* the model of PM1_CNT's high byte (SLP_TYP), without SLP_EN */
};

static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR);
	return 0;
}

static uint8_t rd8(unsigned off)
{
	uint8_t v = 0;

	FUZZ_CHECK_EQ(acpi_pm_ops.read(fz.pm, off, &v, 1), 0);
	return v;
}

static uint64_t stat(const char *key)
{
	struct dev_stat st[4];
	unsigned n = acpi_pm_ops.stats(fz.pm, st, 4);

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(st[i].key, key))
			return st[i].value;
	FUZZ_CHECK(!"stat missing");
	return 0;
}

/* Would the model stop the VM for this byte at off? */
static int stops_for(unsigned off, uint8_t b)
{
	if (off == ACPI_PM_RESET)
		return b == ACPI_RESET_VALUE;
	if (off == ACPI_PM1_CNT + 1 && (b & (ACPI_PM1_SLP_EN >> 8)))
		return ((b << 8) & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT == ACPI_SLP_TYP_S5;
	return 0;
}

static void port_write(unsigned off, unsigned len, uint32_t v)
{
	unsigned before = fz.fm.stops, want = 0;
	uint8_t sts[2] = { rd8(ACPI_PM1_STS), rd8(ACPI_PM1_STS + 1) }, b[4];

	memcpy(b, &v, sizeof(b));
	/* The first request of an access wins: a sleep type we lack before it means no stop. */
	for (unsigned i = 0; i < len && off + i < ACPI_PM_NR_PORTS; i++) {
		unsigned o = off + i;

		if (o == ACPI_PM1_CNT + 1 && (b[i] & (ACPI_PM1_SLP_EN >> 8))) {
			want = stops_for(o, b[i]);
			break;
		}
		if (stops_for(o, b[i])) {
			want = 1;
			break;
		}
	}
	FUZZ_CHECK_EQ(acpi_pm_ops.write(fz.pm, off, &v, len), 0);
	FUZZ_CHECK_EQ(fz.fm.stops - before, want);
	FUZZ_CHECK_EQ(rd8(ACPI_PM1_STS) & ~sts[0], 0);
	FUZZ_CHECK_EQ(rd8(ACPI_PM1_STS + 1) & ~sts[1], 0);
}

static void port_read(unsigned off, unsigned len)
{
	unsigned before = fz.fm.stops;
	uint8_t b[4];

	FUZZ_CHECK_EQ(acpi_pm_ops.read(fz.pm, off, b, len), 0);
	FUZZ_CHECK_EQ(fz.fm.stops, before);
	for (unsigned i = 0; i < len; i++) {
		if (off + i >= ACPI_PM_NR_PORTS)
			FUZZ_CHECK_EQ(b[i], 0xff);
		else if (off + i == ACPI_PM1_CNT)
			FUZZ_CHECK(b[i] & ACPI_PM1_SCI_EN);
		else if (off + i == ACPI_PM1_CNT + 1)
			FUZZ_CHECK_EQ(b[i] & (ACPI_PM1_SLP_EN >> 8), 0);
	}
}

static void round_trip(void)
{
	struct snap_out a, b;
	struct snap_in in;

	snap_out_init(&a);
	snap_out_init(&b);
	FUZZ_CHECK_EQ(acpi_pm_ops.save(fz.pm, &a), 0);
	FUZZ_CHECK_EQ(a.len, 8); /* PM1 STS, EN, CNT (u16 each), GPE0 STS, EN (u8 each) */
	snap_in_init(&in, a.buf, a.len);
	FUZZ_CHECK_EQ(acpi_pm_ops.load(fz.pm, &in), 0);
	FUZZ_CHECK_EQ(acpi_pm_ops.save(fz.pm, &b), 0);
	FUZZ_CHECK_EQ(a.len, b.len);
	FUZZ_CHECK(memcmp(a.buf, b.buf, a.len) == 0);
	snap_out_free(&a);
	snap_out_free(&b);
}

static void hostile_load(struct fuzz_in *in)
{
	uint8_t buf[8];
	unsigned n = fuzz_u8(in) % (sizeof(buf) + 1);
	struct snap_in si;
	int ret;

	for (unsigned i = 0; i < n; i++)
		buf[i] = fuzz_u8(in);
	snap_in_init(&si, buf, n);
	ret = acpi_pm_ops.load(fz.pm, &si);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret)
		for (unsigned i = 0; i < 6; i++) /* refused whole: all registers 0 */
			FUZZ_CHECK_EQ(rd8(i) & (i == ACPI_PM1_CNT ? ~ACPI_PM1_SCI_EN : 0xff), 0);
	else
		round_trip();
}

static void invariants(void)
{
	FUZZ_CHECK_EQ(fz.fm.stops, stat("poweroffs") + stat("resets"));
	FUZZ_CHECK(rd8(ACPI_PM1_CNT) & ACPI_PM1_SCI_EN);
	FUZZ_CHECK_EQ(rd8(ACPI_PM1_CNT + 1) & (ACPI_PM1_SLP_EN >> 8), 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { .p = data, .left = size };
	unsigned off, len;

	FUZZ_SETUP(fake_machine_init(&fz.fm, 0x100000, 4096) == 0);
	FUZZ_SETUP(acpi_pm_new(&fz.fm.m, &fz.pm) == 0);
	invariants();
	while (in.left) {
		switch (fuzz_u8(&in) % NR_OPS) {
		case 0:
			off = fuzz_u8(&in) % (ACPI_PM_NR_PORTS + 2);
			len = 1u << (fuzz_u8(&in) % 3);
			port_write(off, len, fuzz_u32(&in));
			break;
		case 1:
			off = fuzz_u8(&in) % (ACPI_PM_NR_PORTS + 2);
			len = 1u << (fuzz_u8(&in) % 3);
			port_read(off, len);
			break;
		case 2:
			port_write(ACPI_PM1_CNT, 2,
				   ACPI_PM1_SLP_EN | (fuzz_u8(&in) % 8u) << ACPI_PM1_SLP_TYP_SHIFT);
			break;
		case 3:
			round_trip();
			break;
		case 4:
			hostile_load(&in);
			break;
		default:
			acpi_pm_ops.reset(fz.pm);
			break;
		}
		invariants();
	}
	acpi_pm_ops.destroy(fz.pm);
	fake_machine_destroy(&fz.fm);
	return 0;
}
