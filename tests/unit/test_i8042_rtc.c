/*
 * test_i8042_rtc.c: unit tests for src/devices/i8042.c (keyboard controller
 * subset) and src/devices/rtc.c (MC146818 CMOS clock subset).
 *
 * Both are mapped on a PIO bus at their PC ports, as the PC platform maps
 * them (the i8042 as one range of I8042_NR_PORTS from 0x60, so port 0x64 is
 * offset 4), and driven through bus_access. i8042: the reset pulse (0xfe)
 * calls the reset callback exactly once and with the device unlocked,
 * command byte read/write (0x20/0x60) through port 0x60, self-test (0xaa),
 * the status OBF bit, unknown commands and stray data, ports 0x61-0x63 and
 * wide accesses reading all ones without side effects, reset and stats.
 * RTC: the index port masks the NMI bit, status registers A-D, BCD 24-hour
 * time that matches the host clock, nvram store/read-back, ignored clock
 * writes and reset. Both ops tables complete. Save/load are in
 * test_devstate.c. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "bus.h"
#include "dev.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "test.h"

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04      /* self-test passed */
#define STATUS_KEYLOCK 0x10  /* keyboard not inhibited */
#define STATUS_IDLE (STATUS_SYS | STATUS_KEYLOCK)

/* ---- i8042 ----------------------------------------------------------- */

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

struct kbd_fx {
	struct i8042 *k;
	struct bus bus;
	struct irq_rec irq;
	unsigned resets;
	unsigned unlocked; /* resets seen with the device mutex free */
	void *reset_ctx_seen;
};

static void on_reset(void *ctx)
{
	struct kbd_fx *f = ctx;

	f->resets++;
	f->reset_ctx_seen = ctx;
	/* i8042.h: the callback stops vCPUs, so it must run with the lock released. */
	if (pthread_mutex_trylock(&f->k->lock) == 0) {
		f->unlocked++;
		pthread_mutex_unlock(&f->k->lock);
	}
}

/* A controller on its one range 0x60-0x64, IRQ 1 into f->irq. */
static struct kbd_fx *kbd_new(void)
{
	struct kbd_fx *f = calloc(1, sizeof(*f));
	struct irq_line line;

	if (!f)
		abort();
	line = (struct irq_line){ .set = irq_rec_set, .ctx = &f->irq, .gsi = I8042_IRQ };
	if (i8042_new(&line, on_reset, f, &f->k))
		abort();
	bus_init(&f->bus, "pio");
	if (bus_map(&f->bus, I8042_DATA_PORT, I8042_NR_PORTS, &i8042_ops, f->k, "i8042"))
		abort();
	return f;
}

static void kbd_free(struct kbd_fx *f)
{
	i8042_ops.destroy(f->k);
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
	CHECK_EQ(f->unlocked, 1);
	CHECK(f->reset_ctx_seen == f);
	/* Nothing else is a reset: not other commands, not data bytes. */
	kout(f, I8042_DATA_PORT, 0xfe);
	kout(f, I8042_COMMAND_PORT, 0xff);
	kout(f, I8042_COMMAND_PORT, 0xfd);
	kout(f, I8042_COMMAND_PORT, 0x00);
	CHECK_EQ(f->resets, 1);
	kout(f, I8042_COMMAND_PORT, 0xfe);
	CHECK_EQ(f->resets, 2);
	CHECK_EQ(f->unlocked, 2);
	kbd_free(f);

	/* Without a callback (or a line) a reset pulse is harmless. */
	{
		struct i8042 *k = NULL;
		uint8_t cmd = 0xfe;

		CHECK_EQ(i8042_new(NULL, NULL, NULL, &k), 0);
		CHECK_EQ(i8042_ops.write(k, I8042_COMMAND_PORT - I8042_DATA_PORT, &cmd, 1), 0);
		i8042_ops.destroy(k);
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

/* The keyboard ACKs, identifies and resets, raising IRQ 1 per byte made ready. */
TEST(kbd_keyboard_replies_and_irq)
{
	struct kbd_fx *f = kbd_new();

	kout(f, I8042_DATA_PORT, 0xf2); /* identify */
	CHECK_EQ(f->irq.rises, 1);
	CHECK_EQ(f->irq.level, 0); /* edge: pulsed, not held */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xfa);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xab);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x83);
	CHECK_EQ(f->irq.rises, 3); /* one more per byte still queued after a read */
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	kout(f, I8042_DATA_PORT, 0xff); /* reset: ACK, then self-test passed */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xfa);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xaa);
	kout(f, I8042_DATA_PORT, 0xee); /* echo */
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xee);
	/* With the keyboard interrupt off in the CTR, no IRQ. */
	kout(f, I8042_COMMAND_PORT, 0x60);
	kout(f, I8042_DATA_PORT, 0x44);
	f->irq.rises = 0;
	kout(f, I8042_DATA_PORT, 0xf4);
	CHECK_EQ(f->irq.rises, 0);
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
	CHECK_EQ(f->unlocked, 1);
	kbd_free(f);
}

/* ---- RTC -------------------------------------------------------------- */

struct rtc_fx {
	struct rtc *r;
	struct bus bus;
};

static struct rtc_fx *rtc_fx_new(void)
{
	struct rtc_fx *f = calloc(1, sizeof(*f));

	if (!f || rtc_new(&f->r))
		abort();
	bus_init(&f->bus, "pio");
	if (bus_map(&f->bus, RTC_PORT_BASE, RTC_NR_PORTS, &rtc_ops, f->r, "rtc"))
		abort();
	return f;
}

static void rtc_free(struct rtc_fx *f)
{
	rtc_ops.destroy(f->r);
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
	struct rtc_fx *f = rtc_fx_new();
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
	struct rtc_fx *f = rtc_fx_new();
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
	struct rtc_fx *f = rtc_fx_new();
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
	struct rtc_fx *f = rtc_fx_new();

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
	struct rtc_fx *f = rtc_fx_new();

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
		struct rtc_fx *g = rtc_fx_new();

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

	CHECK_EQ(i8042_send_ctrl_alt_del(f->k), 0);
	for (size_t i = 0; i < sizeof(set1); i++) {
		CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE | STATUS_OBF);
		CHECK_EQ(kin(f, I8042_DATA_PORT), set1[i]);
	}
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);

	kout(f, I8042_COMMAND_PORT, 0x60);
	kout(f, I8042_DATA_PORT, 0x05); /* no translation */
	CHECK_EQ(i8042_send_ctrl_alt_del(f->k), 0);
	for (size_t i = 0; i < sizeof(set2); i++)
		CHECK_EQ(kin(f, I8042_DATA_PORT), set2[i]);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);

	/* Two sequences do not fit in the queue: the second is refused whole. */
	CHECK_EQ(i8042_send_ctrl_alt_del(f->k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(f->k), -ENOSPC);
	for (size_t i = 0; i < sizeof(set2); i++)
		CHECK_EQ(kin(f, I8042_DATA_PORT), set2[i]);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	CHECK_EQ(f->resets, 0);
	kbd_free(f);
}

/*
 * Ports 0x61-0x63 are inside the range but not the controller's, and each
 * of 0x60/0x64 used to be a one-byte range: those and any wider access read
 * all ones and do nothing, as unclaimed ports.
 */
TEST(kbd_unclaimed_ports)
{
	struct kbd_fx *f = kbd_new();
	uint8_t buf[4];

	kout(f, I8042_COMMAND_PORT, 0xaa); /* a byte waiting: reads must not take it */
	for (uint16_t port = I8042_DATA_PORT + 1; port < I8042_COMMAND_PORT; port++) {
		CHECK_EQ(kin(f, port), 0xff);
		kout(f, port, 0xfe); /* not a reset, not a command */
		kout(f, port, 0x60);
	}
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(bus_access(&f->bus, I8042_DATA_PORT, buf, 2, 0), 0);
	CHECK_EQ(buf[0], 0xff);
	CHECK_EQ(buf[1], 0xff);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(bus_access(&f->bus, I8042_DATA_PORT + 1, buf, 4, 0), 0);
	CHECK(buf[0] == 0xff && buf[1] == 0xff && buf[2] == 0xff && buf[3] == 0xff);
	buf[0] = 0xfe;
	buf[1] = 0xfe;
	CHECK_EQ(bus_access(&f->bus, I8042_DATA_PORT, buf, 2, 1), 0);
	CHECK_EQ(bus_access(&f->bus, I8042_COMMAND_PORT - 1, buf, 2, 1), 0);
	/* Past 0x64 is not this device's. */
	CHECK_EQ(bus_access(&f->bus, I8042_COMMAND_PORT, buf, 2, 0), -ENOENT);
	CHECK_EQ(bus_access(&f->bus, I8042_DATA_PORT + I8042_NR_PORTS, buf, 1, 0), -ENOENT);
	CHECK_EQ(f->resets, 0);
	/* The self-test answer is still there, the command byte untouched. */
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE | STATUS_OBF);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x55);
	kout(f, I8042_COMMAND_PORT, 0x20);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x45);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	kbd_free(f);
}

TEST(kbd_ops_reset_stats)
{
	struct kbd_fx *f = kbd_new();
	struct dev_stat st[4];
	struct i8042 *k = NULL;

	CHECK(dev_ops_complete(&i8042_ops));
	CHECK(strcmp(i8042_ops.kind, "i8042") == 0);
	CHECK_EQ(i8042_new(NULL, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(i8042_new(NULL, on_reset, f, &k), 0);
	i8042_ops.destroy(k);
	i8042_ops.destroy(NULL);

	/* A changed command byte, a pending command and queued bytes ... */
	kout(f, I8042_COMMAND_PORT, 0x60);
	kout(f, I8042_DATA_PORT, 0x05);
	CHECK_EQ(i8042_send_ctrl_alt_del(f->k), 0);
	kout(f, I8042_COMMAND_PORT, 0xfe);
	kout(f, I8042_COMMAND_PORT, 0xd1);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x14);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE | STATUS_OBF);
	/* ... are gone after reset: power-on state, no interrupt. */
	f->irq.rises = 0;
	i8042_ops.reset(f->k);
	CHECK_EQ(f->irq.rises, 0);
	CHECK_EQ(kin(f, I8042_COMMAND_PORT), STATUS_IDLE);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0); /* nothing read since power-on */
	kout(f, I8042_DATA_PORT, 0x02); /* no 0xd1 pending any more: a keyboard byte */
	CHECK_EQ(f->resets, 1);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0xfa);
	kout(f, I8042_COMMAND_PORT, 0x20);
	CHECK_EQ(kin(f, I8042_DATA_PORT), 0x45);

	/* Counters survive reset; a refused Ctrl-Alt-Del and overruns count apart. */
	CHECK_EQ(i8042_send_ctrl_alt_del(f->k), 0); /* set 1 again: 8 bytes each */
	CHECK_EQ(i8042_send_ctrl_alt_del(f->k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(f->k), -ENOSPC); /* refused whole: not counted */
	kout(f, I8042_COMMAND_PORT, 0xaa); /* the queue is full: both answers dropped */
	kout(f, I8042_COMMAND_PORT, 0xab);
	memset(st, 0, sizeof(st));
	CHECK_EQ(i8042_ops.stats(f->k, st, 4), 3);
	CHECK(st[0].key && strcmp(st[0].key, "ctrl_alt_del") == 0);
	CHECK_EQ(st[0].value, 3);
	CHECK(st[1].key && strcmp(st[1].key, "reset_pulses") == 0);
	CHECK_EQ(st[1].value, 1);
	CHECK(st[2].key && strcmp(st[2].key, "dropped") == 0);
	CHECK_EQ(st[2].value, 2);
	CHECK(st[3].key == NULL);
	CHECK_EQ(i8042_ops.stats(f->k, st, 2), 2);
	kbd_free(f);
}

TEST(rtc_ops_reset)
{
	struct rtc_fx *f = rtc_fx_new();
	struct dev_stat st[1];
	uint8_t v = 0;

	CHECK(dev_ops_complete(&rtc_ops));
	CHECK(strcmp(rtc_ops.kind, "mc146818-rtc") == 0);
	CHECK_EQ(rtc_new(NULL), -EINVAL);
	CHECK_EQ(rtc_ops.stats(f->r, st, 1), 0);
	cmos_write(f, 0x10, 0x77);
	cmos_write(f, 0x7f, 0x88);
	cmos_write(f, 0x3f, 0x00); /* leaves the index at 0x3f */
	rtc_ops.reset(f->r);
	CHECK(bus_access(&f->bus, RTC_PORT_BASE, &v, 1, 0) >= 0);
	CHECK_EQ(v, 0); /* index back to 0 */
	CHECK_EQ(cmos_read(f, 0x10), 0);
	CHECK_EQ(cmos_read(f, 0x7f), 0);
	CHECK_EQ(cmos_read(f, 0x0d), 0x80);
	cmos_write(f, 0x10, 0x99);
	CHECK_EQ(cmos_read(f, 0x10), 0x99);
	rtc_free(f);
	rtc_ops.destroy(NULL);
}

TEST_MAIN(T(kbd_ctrl_alt_del), T(kbd_probe_answers), T(kbd_keyboard_replies_and_irq),
	  T(kbd_output_port_reset), T(kbd_status_idle), T(kbd_reset_pulse), T(kbd_command_byte),
	  T(kbd_self_test), T(kbd_unclaimed_ports), T(kbd_ops_reset_stats), T(rtc_index_port), T(rtc_status_registers), T(rtc_time_matches_host),
	  T(rtc_clock_writes_ignored), T(rtc_nvram), T(rtc_ops_reset))
