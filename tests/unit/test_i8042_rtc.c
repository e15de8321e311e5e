/*
 * test_i8042_rtc.c: unit tests for src/devices/i8042.c (keyboard controller
 * subset) and src/devices/rtc.c (MC146818 CMOS clock subset).
 *
 * Both are mapped on a PIO bus at their PC ports, as vm.c maps them, and
 * driven through bus_access. i8042: the reset pulse (0xfe) calls the reset
 * callback exactly once, command byte read/write (0x20/0x60) through port
 * 0x60, self-test (0xaa), the status OBF bit, unknown commands and stray
 * data. RTC: the index port masks the NMI bit, status registers A-D,
 * BCD 24-hour time that matches the host clock, nvram store/read-back and
 * ignored clock writes. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "bus.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "test.h"

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04      /* self-test passed */
#define STATUS_KEYLOCK 0x10  /* keyboard not inhibited */
#define STATUS_IDLE (STATUS_SYS | STATUS_KEYLOCK)

/* ---- i8042 ----------------------------------------------------------- */

struct kbd_fx {
	struct i8042 k;
	struct bus bus;
	unsigned resets;
	void *reset_ctx_seen;
};

static void on_reset(void *ctx)
{
	struct kbd_fx *f = ctx;

	f->resets++;
	f->reset_ctx_seen = ctx;
}

static struct kbd_fx *kbd_new(void)
{
	struct kbd_fx *f = calloc(1, sizeof(*f));

	if (!f || i8042_init(&f->k, on_reset, f))
		abort();
	bus_init(&f->bus, "pio");
	if (bus_map(&f->bus, I8042_DATA_PORT, 1, &i8042_ops, &f->k, "i8042-data") ||
	    bus_map(&f->bus, I8042_COMMAND_PORT, 1, &i8042_command_ops, &f->k, "i8042-cmd"))
		abort();
	return f;
}

static void kbd_free(struct kbd_fx *f)
{
	i8042_destroy(&f->k);
	free(f);
}

static uint8_t kin(struct kbd_fx *f, uint16_t port)
{
	uint8_t v = 0;

	if (bus_access(&f->bus, port, &v, 1, 0) < 0)
		abort();
	return v;
}

static void kout(struct kbd_fx *f, uint16_t port, uint8_t v)
{
	if (bus_access(&f->bus, port, &v, 1, 1) < 0)
		abort();
}

TEST(kbd_status_idle)
{
	struct kbd_fx *f = kbd_new();

	/* No data, input buffer empty, self-test passed, not inhibited. */
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	CHECK_EQ(f->resets, 0);
	kbd_free(f);
}

TEST(kbd_reset_pulse)
{
	struct kbd_fx *f = kbd_new();

	kout(f, I8042_COMMAND_PORT, 0xfe);
	CHECK_EQ(f->resets, 1);
	CHECK(f->reset_ctx_seen == f);
	/* Nothing else is a reset: not other commands, not data bytes. */
	kout(f, I8042_DATA_PORT, 0xfe);
	kout(f, I8042_COMMAND_PORT, 0xff);
	kout(f, I8042_COMMAND_PORT, 0xfd);
	kout(f, I8042_COMMAND_PORT, 0x00);
	CHECK_EQ(f->resets, 1);
	kout(f, I8042_COMMAND_PORT, 0xfe);
	CHECK_EQ(f->resets, 2);
	kbd_free(f);

	/* Without a callback a reset pulse is harmless. */
	{
		struct i8042 k;
		uint8_t cmd = 0xfe;

		CHECK_EQ(i8042_init(&k, NULL, NULL), 0);
		CHECK_EQ(i8042_command_ops.write(&k, 0, &cmd, 1), 0);
		i8042_destroy(&k);
	}
}

TEST(kbd_command_byte)
{
	struct kbd_fx *f = kbd_new();

	/* 0x20: the command byte appears in the output buffer. */
	kout(f, I8042_COMMAND_PORT, 0x20);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE | STATUS_OBF);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x45);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE); /* read empties it */

	/* 0x60 then a data byte sets it. */
	kout(f, I8042_COMMAND_PORT, 0x60);
	kout(f, I8042_DATA_PORT, 0x65);
	kout(f, I8042_COMMAND_PORT, 0x20);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x65);

	/* Only the byte right after 0x60 counts: the next goes to the keyboard, which ACKs. */
	kout(f, I8042_DATA_PORT, 0x11);
	kout(f, I8042_COMMAND_PORT, 0x20);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xfa);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x65);

	/* Stale output is not re-flagged: a second data read keeps OBF clear. */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x65);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	CHECK_EQ(f->resets, 0);
	kbd_free(f);
}

TEST(kbd_self_test)
{
	struct kbd_fx *f = kbd_new();

	kout(f, I8042_COMMAND_PORT, 0xaa);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT) & STATUS_OBF, STATUS_OBF);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x55);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT) & STATUS_OBF, 0);
	/* Commands without a reply produce no output (0xd4: send to the absent mouse). */
	kout(f, I8042_COMMAND_PORT, 0xd4);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	kbd_free(f);
}

/*
 * Linux's i8042 probe: every command it polls for is answered at once (an
 * unanswered one costs the guest 10,000 polls, each an exit), and the
 * answers say "keyboard port fine, no mouse port".
 */
TEST(kbd_probe_answers)
{
	struct kbd_fx *f = kbd_new();

	kout(f, I8042_COMMAND_PORT, 0xab); /* keyboard port test */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x00);
	kout(f, I8042_COMMAND_PORT, 0xa9); /* mouse port test: fails, so no AUX */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x01);
	kout(f, I8042_COMMAND_PORT, 0xd3); /* AUX loop: echoed, but not as AUX data */
	kout(f, I8042_DATA_PORT, 0x5a);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE | STATUS_OBF);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x5a);
	kout(f, I8042_COMMAND_PORT, 0xa7); /* disable AUX: CTR bit 5 */
	kout(f, I8042_COMMAND_PORT, 0x20);
	CHECK_EQ(kin(f, I8042_DATA_PORT) & 0x20, 0x20);
	kout(f, I8042_COMMAND_PORT, 0xa8);
	kout(f, I8042_COMMAND_PORT, 0x20);
	CHECK_EQ(kin(f, I8042_DATA_PORT) & 0x20, 0);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	CHECK_EQ(f->resets, 0);
	kbd_free(f);
}

struct irq_rec {
	unsigned rises;
	int level;
};

static int irq_rec_set(void *ctx, unsigned gsi, int level)
{
	struct irq_rec *r = ctx;

	if (gsi == I8042_IRQ && level && !r->level)
		r->rises++;
	r->level = level;
	return 0;
}

/* The keyboard ACKs, identifies and resets, raising IRQ 1 per byte made ready. */
TEST(kbd_keyboard_replies_and_irq)
{
	struct kbd_fx *f = kbd_new();
	struct irq_rec rec = { 0 };
	struct irq_line line = { .set = irq_rec_set, .ctx = &rec, .gsi = I8042_IRQ };

	i8042_connect_irq(&f->k, &line);
	kout(f, I8042_DATA_PORT, 0xf2); /* identify */
	CHECK_EQ(rec.rises, 1);
	CHECK_EQ(rec.level, 0); /* edge: pulsed, not held */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xfa);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xab);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x83);
	CHECK_EQ(rec.rises, 3); /* one more per byte still queued after a read */
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	kout(f, I8042_DATA_PORT, 0xff); /* reset: ACK, then self-test passed */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xfa);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xaa);
	kout(f, I8042_DATA_PORT, 0xee); /* echo */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xee);
	/* With the keyboard interrupt off in the CTR, no IRQ. */
	kout(f, I8042_COMMAND_PORT, 0x60);
	kout(f, I8042_DATA_PORT, 0x44);
	rec.rises = 0;
	kout(f, I8042_DATA_PORT, 0xf4);
	CHECK_EQ(rec.rises, 0);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xfa);
	CHECK_EQ(f->resets, 0);
	kbd_free(f);
}

/* Output port write with bit 0 clear holds the CPU in reset. */
TEST(kbd_output_port_reset)
{
	struct kbd_fx *f = kbd_new();

	kout(f, I8042_COMMAND_PORT, 0xd1);
	kout(f, I8042_DATA_PORT, 0x03);
	CHECK_EQ(f->resets, 0);
	kout(f, I8042_COMMAND_PORT, 0xd1);
	kout(f, I8042_DATA_PORT, 0x02);
	CHECK_EQ(f->resets, 1);
	kbd_free(f);
}

/* ---- RTC -------------------------------------------------------------- */

struct rtc_fx {
	struct rtc r;
	struct bus bus;
};

static struct rtc_fx *rtc_new(void)
{
	struct rtc_fx *f = calloc(1, sizeof(*f));

	if (!f || rtc_init(&f->r))
		abort();
	bus_init(&f->bus, "pio");
	if (bus_map(&f->bus, RTC_PORT_BASE, RTC_NR_PORTS, &rtc_ops, &f->r, "rtc"))
		abort();
	return f;
}

static void rtc_free(struct rtc_fx *f)
{
	rtc_destroy(&f->r);
	free(f);
}

static uint8_t cmos_read(struct rtc_fx *f, uint8_t index)
{
	uint8_t v = 0;

	if (bus_access(&f->bus, RTC_PORT_BASE, &index, 1, 1) < 0 ||
	    bus_access(&f->bus, RTC_PORT_BASE + 1, &v, 1, 0) < 0)
		abort();
	return v;
}

static void cmos_write(struct rtc_fx *f, uint8_t index, uint8_t v)
{
	if (bus_access(&f->bus, RTC_PORT_BASE, &index, 1, 1) < 0 ||
	    bus_access(&f->bus, RTC_PORT_BASE + 1, &v, 1, 1) < 0)
		abort();
}

static int is_bcd(uint8_t v) { return (v & 0x0f) <= 9 && (v >> 4) <= 9; }
static int from_bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0x0f); }

TEST(rtc_index_port)
{
	struct rtc_fx *f = rtc_new();
	uint8_t v;

	/* Bit 7 of port 0x70 is the NMI mask, not part of the index. */
	v = 0x8a;
	CHECK(bus_access(&f->bus, RTC_PORT_BASE, &v, 1, 1) >= 0);
	v = 0;
	CHECK(bus_access(&f->bus, RTC_PORT_BASE, &v, 1, 0) >= 0);
	CHECK_EQ(v, 0x0a);
	CHECK_EQ(cmos_read(f, 0x8a), cmos_read(f, 0x0a));
	CHECK_EQ(cmos_read(f, 0x8d), 0x80);
	/* Masked high index reaches nvram 0x7f, not past the array. */
	cmos_write(f, 0xff, 0x3c);
	CHECK_EQ(cmos_read(f, 0x7f), 0x3c);
	rtc_free(f);
}

TEST(rtc_status_registers)
{
	struct rtc_fx *f = rtc_new();
	uint8_t a = cmos_read(f, 0x0a), b = cmos_read(f, 0x0b);

	CHECK_EQ(a & 0x80, 0);     /* UIP clear: a guest never waits */
	CHECK_EQ(a, 0x26);         /* 32.768 kHz base, 1024 Hz rate */
	CHECK_EQ(b & 0x02, 0x02);  /* 24-hour */
	CHECK_EQ(b & 0x04, 0);     /* DM = 0: BCD */
	CHECK_EQ(cmos_read(f, 0x0c), 0);
	CHECK_EQ(cmos_read(f, 0x0d), 0x80); /* VRT: battery good */
	/* Status writes are ignored: the guest cannot switch to binary or 12h. */
	cmos_write(f, 0x0b, 0x04);
	cmos_write(f, 0x0a, 0x80);
	cmos_write(f, 0x0d, 0x00);
	CHECK_EQ(cmos_read(f, 0x0b), b);
	CHECK_EQ(cmos_read(f, 0x0a), a);
	CHECK_EQ(cmos_read(f, 0x0d), 0x80);
	rtc_free(f);
}

TEST(rtc_time_matches_host)
{
	struct rtc_fx *f = rtc_new();
	int ok = 0;

	/* Retry if a second ticks between the reads (seconds read twice). */
	for (int tries = 0; tries < 5 && !ok; tries++) {
		time_t before = time(NULL), after;
		uint8_t s = cmos_read(f, 0x00), mi = cmos_read(f, 0x02), h = cmos_read(f, 0x04);
		uint8_t wd = cmos_read(f, 0x06), md = cmos_read(f, 0x07), mo = cmos_read(f, 0x08);
		uint8_t y = cmos_read(f, 0x09), c = cmos_read(f, 0x32), s2 = cmos_read(f, 0x00);
		struct tm tb, ta;
		long got, lo, hi;

		after = time(NULL);
		if (s != s2 || before != after)
			continue;
		ok = 1;
		gmtime_r(&before, &tb);
		gmtime_r(&after, &ta);
		CHECK(is_bcd(s) && is_bcd(mi) && is_bcd(h) && is_bcd(wd) && is_bcd(md) &&
		      is_bcd(mo) && is_bcd(y) && is_bcd(c));
		CHECK(from_bcd(s) <= 60);
		CHECK(from_bcd(mi) <= 59);
		CHECK(from_bcd(h) <= 23);
		CHECK(from_bcd(wd) >= 1 && from_bcd(wd) <= 7);
		CHECK(from_bcd(md) >= 1 && from_bcd(md) <= 31);
		CHECK(from_bcd(mo) >= 1 && from_bcd(mo) <= 12);
		got = from_bcd(h) * 3600L + from_bcd(mi) * 60L + from_bcd(s);
		lo = tb.tm_hour * 3600L + tb.tm_min * 60L + tb.tm_sec;
		hi = ta.tm_hour * 3600L + ta.tm_min * 60L + ta.tm_sec;
		CHECK(got == lo || got == hi);
		CHECK_EQ(from_bcd(md), tb.tm_mday);
		CHECK_EQ(from_bcd(mo), tb.tm_mon + 1);
		CHECK_EQ(from_bcd(wd), tb.tm_wday + 1);
		CHECK_EQ(from_bcd(c) * 100 + from_bcd(y), tb.tm_year + 1900);
	}
	CHECK(ok);
	rtc_free(f);
}

TEST(rtc_clock_writes_ignored)
{
	static const uint8_t clock_regs[] = { 0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32 };
	struct rtc_fx *f = rtc_new();

	for (size_t i = 0; i < sizeof(clock_regs); i++) {
		uint8_t v;

		cmos_write(f, clock_regs[i], 0x99); /* invalid in every clock field but year */
		v = cmos_read(f, clock_regs[i]);
		CHECK(is_bcd(v));
		if (clock_regs[i] != 0x09)
			CHECK(v != 0x99);
	}
	/* The century byte keeps its computed value. */
	CHECK(cmos_read(f, 0x32) == 0x20 || cmos_read(f, 0x32) == 0x21);
	rtc_free(f);
}

TEST(rtc_nvram)
{
	struct rtc_fx *f = rtc_new();

	/* Every byte past the status registers, except the century, is plain RAM. */
	for (unsigned i = 0x0e; i < 0x80; i++)
		if (i != 0x32)
			cmos_write(f, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i == 0x32)
			continue;
		if (cmos_read(f, (uint8_t)i) != (uint8_t)(i ^ 0x5a))
			fprintf(stderr, "  nvram 0x%02x\n", i);
		CHECK_EQ(cmos_read(f, (uint8_t)i), (uint8_t)(i ^ 0x5a));
	}
	/* Fresh nvram reads zero; a second device does not share it. */
	{
		struct rtc_fx *g = rtc_new();

		CHECK_EQ(cmos_read(g, 0x0e), 0);
		CHECK_EQ(cmos_read(g, 0x7f), 0);
		rtc_free(g);
	}
	/* The alarm registers (1, 3, 5) are clock registers: writes ignored. */
	cmos_write(f, 0x01, 0x12);
	CHECK_EQ(cmos_read(f, 0x01), 0);
	rtc_free(f);
}

/* Ctrl-Alt-Del: set 1 while translating (the default), set 2 when not; a full queue refuses. */
TEST(kbd_ctrl_alt_del)
{
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };
	struct kbd_fx *f = kbd_new();

	CHECK_EQ(i8042_send_ctrl_alt_del(&f->k), 0);
	for (size_t i = 0; i < sizeof(set1); i++) {
		CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE | STATUS_OBF);
		CHECK_EQ(kin(f, I8042_DATA_PORT), set1[i]);
	}
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);

	kout(f, I8042_COMMAND_PORT, 0x60);
	kout(f, I8042_DATA_PORT, 0x05); /* no translation */
	CHECK_EQ(i8042_send_ctrl_alt_del(&f->k), 0);
	for (size_t i = 0; i < sizeof(set2); i++)
		CHECK_EQ(kin(f, I8042_DATA_PORT), set2[i]);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);

	/* Two sequences do not fit in the queue: the second is refused whole. */
	CHECK_EQ(i8042_send_ctrl_alt_del(&f->k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&f->k), -ENOSPC);
	for (size_t i = 0; i < sizeof(set2); i++)
		CHECK_EQ(kin(f, I8042_DATA_PORT), set2[i]);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	CHECK_EQ(f->resets, 0);
	kbd_free(f);
}

TEST_MAIN(T(kbd_ctrl_alt_del), T(kbd_probe_answers), T(kbd_keyboard_replies_and_irq), T(kbd_output_port_reset), T(kbd_status_idle), T(kbd_reset_pulse), T(kbd_command_byte), T(kbd_self_test),
	  T(rtc_index_port), T(rtc_status_registers), T(rtc_time_matches_host),
	  T(rtc_clock_writes_ignored), T(rtc_nvram))
