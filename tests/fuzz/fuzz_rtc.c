/*
 * fuzz_rtc.c: libFuzzer harness for the CMOS real-time clock
 * (src/devices/rtc.c): a hostile guest's port I/O at 0x70-0x71 of every
 * width, VM reset, and saved state (real saves and hostile bytes) loaded
 * between accesses.
 *
 * Owns: per input, one clock (rtc_new) and a shadow of the CMOS RAM the
 * guest may write. Torn down after each input. Threads: libFuzzer's one.
 *
 * Input: ops until the input ends, each an opcode byte (mod 6) and operands:
 *   0 write  u8 port (mod 2), u8 width (1 << (v % 3)), u8 value
 *   1 read   u8 port (mod 2), u8 width
 *   2 select u8 index, then write u8 value to the data port (byte accesses)
 *   3 save, load it back, save again (byte for byte the same)
 *   4 load   u8 odd: a real save with one byte replaced (u8 where, u8 value);
 *            even: u8 n (mod 131), n hostile bytes (0 or -EINVAL; refused: power-on)
 *   5 VM reset
 * Checked after every op: the index stays within the CMOS (bit 7, the NMI
 * mask, is never stored) and port 0x70 reads it back; the clock, status
 * and century slots of the CMOS stay 0 (the guest cannot move host time);
 * a read of any other slot returns what the guest last wrote there (the
 * shadow), in every byte of a wide read; status B reads 24-hour mode and
 * A never shows an update in progress.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/rtc.h"
#include "fuzz.h"
#include "log.h"
#include "snapshot/stream.h"

#define NR_OPS   6
#define REG_A    0x0a
#define REG_B    0x0b
#define REG_D    0x0d
#define CENTURY  0x32

struct fz {
	struct rtc *r;
	uint8_t shadow[RTC_NVRAM];
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

static int writable(unsigned reg)
{
	return reg > REG_D && reg != CENTURY;
}

static void port_write(unsigned off, unsigned len, uint8_t v)
{
	uint8_t buf[4];

	memset(buf, v, sizeof(buf));
	FUZZ_CHECK_EQ(rtc_ops.write(fz.r, off, buf, len), 0);
	if (off == 1 && writable(fz.r->s.index))
		fz.shadow[fz.r->s.index] = v;
}

static void port_read(unsigned off, unsigned len)
{
	uint8_t buf[4], idx = fz.r->s.index;

	FUZZ_CHECK_EQ(rtc_ops.read(fz.r, off, buf, len), 0);
	for (unsigned i = 1; i < len; i++)
		FUZZ_CHECK_EQ(buf[i], buf[0]);
	if (off == 0)
		FUZZ_CHECK_EQ(buf[0], idx);
	else if (writable(idx))
		FUZZ_CHECK_EQ(buf[0], fz.shadow[idx]);
	else if (idx == REG_A)
		FUZZ_CHECK_EQ(buf[0] & 0x80, 0); /* UIP never set */
	else if (idx == REG_B)
		FUZZ_CHECK(buf[0] & 0x02); /* 24-hour mode */
}

static void round_trip(void)
{
	struct snap_out a, b;
	struct snap_in in;

	snap_out_init(&a);
	snap_out_init(&b);
	FUZZ_CHECK_EQ(rtc_ops.save(fz.r, &a), 0);
	FUZZ_CHECK_EQ(a.len, 1 + RTC_NVRAM);
	snap_in_init(&in, a.buf, a.len);
	FUZZ_CHECK_EQ(rtc_ops.load(fz.r, &in), 0);
	FUZZ_CHECK_EQ(rtc_ops.save(fz.r, &b), 0);
	FUZZ_CHECK_EQ(a.len, b.len);
	FUZZ_CHECK(memcmp(a.buf, b.buf, a.len) == 0);
	snap_out_free(&a);
	snap_out_free(&b);
}

/* Hostile bytes, or a real save with one byte replaced (reaching the field checks). */
static void hostile_load(struct fuzz_in *in)
{
	uint8_t n = fuzz_u8(in), buf[1 + RTC_NVRAM + 1];
	unsigned len;
	struct snap_in si;
	int ret;

	if (n & 1) {
		buf[0] = fz.r->s.index;
		memcpy(buf + 1, fz.r->s.nvram, RTC_NVRAM);
		buf[fuzz_u8(in) % (1 + RTC_NVRAM)] = fuzz_u8(in);
		len = 1 + RTC_NVRAM;
	} else {
		len = fuzz_u8(in) % (sizeof(buf) + 1);
		for (unsigned i = 0; i < len; i++)
			buf[i] = fuzz_u8(in);
	}
	snap_in_init(&si, buf, len);
	ret = rtc_ops.load(fz.r, &si);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret) {
		FUZZ_CHECK_EQ(fz.r->s.index, 0); /* refused whole: power-on */
		memset(fz.shadow, 0, sizeof(fz.shadow));
	} else {
		FUZZ_CHECK_EQ(len, 1 + RTC_NVRAM);
		memcpy(fz.shadow, buf + 1, RTC_NVRAM);
	}
	for (unsigned i = 0; i < RTC_NVRAM; i++)
		FUZZ_CHECK_EQ(fz.r->s.nvram[i], fz.shadow[i]);
}

static void invariants(void)
{
	FUZZ_CHECK(fz.r->s.index < RTC_NVRAM);
	for (unsigned i = 0; i < RTC_NVRAM; i++)
		FUZZ_CHECK_EQ(fz.r->s.nvram[i], writable(i) ? fz.shadow[i] : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { .p = data, .left = size };
	unsigned off, len;

	memset(&fz, 0, sizeof(fz));
	FUZZ_SETUP(rtc_new(&fz.r) == 0);
	invariants();
	while (in.left) {
		switch (fuzz_u8(&in) % NR_OPS) {
		case 0:
			off = fuzz_u8(&in) % RTC_NR_PORTS;
			len = 1u << (fuzz_u8(&in) % 3);
			port_write(off, len, fuzz_u8(&in));
			break;
		case 1:
			off = fuzz_u8(&in) % RTC_NR_PORTS;
			len = 1u << (fuzz_u8(&in) % 3);
			port_read(off, len);
			break;
		case 2:
			port_write(0, 1, fuzz_u8(&in));
			port_write(1, 1, fuzz_u8(&in));
			break;
		case 3:
			round_trip();
			break;
		case 4:
			hostile_load(&in);
			break;
		default:
			rtc_ops.reset(fz.r);
			memset(fz.shadow, 0, sizeof(fz.shadow));
			break;
		}
		invariants();
	}
	rtc_ops.destroy(fz.r);
	return 0;
}
