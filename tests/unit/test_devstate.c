/*
 * test_devstate.c: unit tests for the saved state of the PC devices
 * (src/devices/uart16550.c, i8042.c, rtc.c) through their struct dev_ops,
 * alone and on a struct devlist (src/dev.c).
 *
 * Each device is driven into a non-trivial state through its bus handlers
 * (offsets, as the bus hands them), saved, loaded into a fresh instance and
 * saved again: the two saves must be byte-identical and both instances must
 * then answer the same reads. Then hostile input, as dev.h demands of load:
 * every truncation of a valid state, trailing bytes, each field pushed out
 * of range (and the largest in-range values still accepted); each refusal is
 * -EINVAL, logged once naming the field, and leaves the device at power-on
 * and usable. The log is captured by pointing fd 2 at a pipe around the
 * load. Single-threaded; ASan checks that nothing reads past the input and
 * that ops->destroy frees what *_new allocated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dev.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/uart16550.h"
#include "snapshot/stream.h"
#include "test.h"

/* PC16550D registers (offsets from COM1) and bits used below. */
enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define THR      RBR
#define DLL      RBR
#define DLM      IER
#define FCR      IIR
#define IER_THRI 0x02
#define IER_MSI  0x08
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

/* i8042: offsets in its one range, status bits, commands. */
#define KBD_DATA   0
#define KBD_CMD    (I8042_COMMAND_PORT - I8042_DATA_PORT)
#define STATUS_OBF  0x01
#define STATUS_IDLE 0x14 /* system flag, keylock: no data */

/* Byte offsets of fields in each saved state (formats in the headers). */
#define UART_STATE_LEN  (12 + UART_RX_FIFO)
#define I8042_STATE_LEN (5 + I8042_OUTQ)
#define RTC_STATE_LEN   (1 + RTC_NVRAM)

/* ---- helpers ------------------------------------------------------------ */

struct irq_rec {
	int level;
	unsigned edges;
	unsigned repeats; /* a level driven twice in a row: never for these devices */
};

static int irq_rec_set(void *ctx, unsigned gsi, int level)
{
	struct irq_rec *r = ctx;

	(void)gsi;
	if (level == r->level)
		r->repeats++;
	r->level = level;
	r->edges++;
	return 0;
}

static struct irq_line irq_rec_line(struct irq_rec *r, unsigned gsi)
{
	return (struct irq_line){ .set = irq_rec_set, .ctx = r, .gsi = gsi };
}

/* What the code under test logged to stderr between cap_begin and cap_end. */
struct cap {
	int saved, pipe[2];
	char text[4096];
};

static void cap_begin(struct cap *c)
{
	if (pipe2(c->pipe, O_NONBLOCK) < 0)
		abort();
	c->saved = dup(STDERR_FILENO);
	if (c->saved < 0 || dup2(c->pipe[1], STDERR_FILENO) < 0)
		abort();
}

static void cap_end(struct cap *c)
{
	ssize_t n;

	if (dup2(c->saved, STDERR_FILENO) < 0)
		abort();
	close(c->saved);
	close(c->pipe[1]);
	n = read(c->pipe[0], c->text, sizeof(c->text) - 1);
	c->text[n > 0 ? n : 0] = '\0';
	close(c->pipe[0]);
}

static unsigned cap_lines(const struct cap *c)
{
	unsigned n = 0;

	for (const char *p = c->text; *p; p++)
		n += *p == '\n';
	return n;
}

static uint8_t rd(const struct dev_ops *ops, void *dev, uint64_t off)
{
	uint8_t v = 0x5a;

	if (ops->read(dev, off, &v, 1))
		abort();
	return v;
}

static void wr(const struct dev_ops *ops, void *dev, uint64_t off, uint8_t v)
{
	if (ops->write(dev, off, &v, 1))
		abort();
}

/* The device's state as bytes; aborts on a failed save (not what is tested). */
static void save(const struct dev_ops *ops, void *dev, struct snap_out *o)
{
	snap_out_init(o);
	if (ops->save(dev, o) || snap_out_error(o))
		abort();
}

static int same(const struct snap_out *a, const struct snap_out *b)
{
	return a->len == b->len && !memcmp(a->buf, b->buf, a->len);
}

/* ops->load of [p, p+n), the log captured into c. */
static int load(const struct dev_ops *ops, void *dev, const void *p, size_t n, struct cap *c)
{
	struct snap_in in;
	int ret;

	snap_in_init(&in, p, n);
	cap_begin(c);
	ret = ops->load(dev, &in);
	cap_end(c);
	return ret;
}

/* One field of a saved state set to a value load must refuse (or accept). */
struct field_case {
	size_t off;
	uint8_t value;
	const char *field; /* what the warning names */
};

/*
 * How a device looks after a refused load, checked through its handlers:
 * power-on and answering. Returns nothing; CHECKs inside.
 */
typedef void (*power_on_fn)(struct test_ctx *t_, void *dev, const struct irq_rec *irq);

/*
 * The hostile loads every device must survive. good is a valid state that
 * is loaded back before each attempt (so each refusal starts from a loaded,
 * non-power-on device); after each refusal the device must be at power-on.
 */
static void hostile(struct test_ctx *t_, const struct dev_ops *ops, void *dev,
		    const struct irq_rec *irq, const struct snap_out *good, power_on_fn power_on,
		    const struct field_case *bad, size_t nbad, const struct field_case *ok, size_t nok)
{
	uint8_t buf[512];
	struct cap c;

	if (good->len + 8 > sizeof(buf))
		abort();
	for (size_t len = 0; len < good->len; len++) {
		CHECK_EQ(load(ops, dev, good->buf, good->len, &c), 0);
		CHECK_EQ(load(ops, dev, good->buf, len, &c), -EINVAL);
		if (cap_lines(&c) != 1 || !strstr(c.text, "truncated"))
			fprintf(stderr, "  truncated to %zu: logged '%s'\n", len, c.text);
		CHECK_EQ(cap_lines(&c), 1);
		CHECK(strstr(c.text, "truncated") != NULL);
		power_on(t_, dev, irq);
	}
	/* One byte too many, and a lot too many. */
	for (size_t extra = 1; extra <= 8; extra += 7) {
		memcpy(buf, good->buf, good->len);
		memset(buf + good->len, 0, extra);
		CHECK_EQ(load(ops, dev, good->buf, good->len, &c), 0);
		CHECK_EQ(load(ops, dev, buf, good->len + extra, &c), -EINVAL);
		CHECK_EQ(cap_lines(&c), 1);
		CHECK(strstr(c.text, "trailing") != NULL);
		power_on(t_, dev, irq);
	}
	for (size_t i = 0; i < nbad; i++) {
		memcpy(buf, good->buf, good->len);
		buf[bad[i].off] = bad[i].value;
		CHECK_EQ(load(ops, dev, good->buf, good->len, &c), 0);
		if (load(ops, dev, buf, good->len, &c) != -EINVAL || cap_lines(&c) != 1 ||
		    !strstr(c.text, bad[i].field))
			fprintf(stderr, "  %s = %#x at %zu: not refused as expected (log '%s')\n",
				bad[i].field, bad[i].value, bad[i].off, c.text);
		CHECK_EQ(load(ops, dev, buf, good->len, &c), -EINVAL);
		CHECK_EQ(cap_lines(&c), 1);
		CHECK(strstr(c.text, bad[i].field) != NULL);
		power_on(t_, dev, irq);
	}
	/* The edges of each range are state a device can be in: accepted, stored verbatim. */
	for (size_t i = 0; i < nok; i++) {
		struct snap_out again;

		memcpy(buf, good->buf, good->len);
		buf[ok[i].off] = ok[i].value;
		if (load(ops, dev, buf, good->len, &c))
			fprintf(stderr, "  %s = %#x refused: '%s'\n", ok[i].field, ok[i].value, c.text);
		CHECK_EQ(load(ops, dev, buf, good->len, &c), 0);
		CHECK_EQ(cap_lines(&c), 0);
		save(ops, dev, &again);
		CHECK_EQ(again.len, good->len);
		CHECK(again.len == good->len && !memcmp(again.buf, buf, good->len));
		snap_out_free(&again);
	}
	/* A stream already in error is refused too, and nothing is read from it. */
	{
		struct snap_in in;

		snap_in_init(&in, good->buf, good->len);
		snap_in_fail(&in);
		cap_begin(&c);
		CHECK_EQ(ops->load(dev, &in), -EINVAL);
		cap_end(&c);
		power_on(t_, dev, irq);
	}
}

/* ---- UART --------------------------------------------------------------- */

static struct uart *uart_make(struct irq_rec *irq, int rx_space_fd)
{
	struct irq_line line = irq_rec_line(irq, UART_COM1_IRQ);
	struct uart *u;

	if (uart_new(&line, -1, rx_space_fd, &u))
		abort();
	return u;
}

/*
 * Divisor 0x0201, LCR 7E2, FIFOs on with a trigger level, scratch set, an
 * overrun from loopback still unread in LSR, the receive ring wrapped
 * (head 40, 54 bytes), IER THRI|MSI with THR-empty pending: the line high.
 */
static void uart_drive(struct uart *u)
{
	uint8_t host[30];

	wr(&uart_ops, u, LCR, LCR_DLAB | 0x1a);
	wr(&uart_ops, u, DLL, 0x01);
	wr(&uart_ops, u, DLM, 0x02);
	wr(&uart_ops, u, LCR, 0x1a);
	wr(&uart_ops, u, FCR, 0xc1);
	wr(&uart_ops, u, SCR, 0x5a);
	wr(&uart_ops, u, MCR, MCR_LOOP);
	for (unsigned i = 0; i < UART_RX_FIFO + 6; i++)
		wr(&uart_ops, u, THR, (uint8_t)(i * 7 + 1));
	wr(&uart_ops, u, MCR, MCR_OUT2 | MCR_DTR | MCR_RTS);
	for (unsigned i = 0; i < 40; i++)
		(void)rd(&uart_ops, u, RBR);
	for (unsigned i = 0; i < sizeof(host); i++)
		host[i] = (uint8_t)(0x80 + i);
	if (uart_rx_push(u, host, sizeof(host)) != sizeof(host))
		abort();
	wr(&uart_ops, u, IER, IER_THRI | IER_MSI);
}

/* Power-on as uart_new leaves it, line low; then the port still transmits. */
static void uart_power_on(struct test_ctx *t_, void *dev, const struct irq_rec *irq)
{
	struct uart *u = dev;

	CHECK_EQ(irq->level, 0);
	CHECK_EQ(irq->repeats, 0);
	CHECK_EQ(rd(&uart_ops, u, LSR), LSR_THRE | LSR_TEMT);
	CHECK_EQ(rd(&uart_ops, u, IIR), IIR_NONE);
	CHECK_EQ(rd(&uart_ops, u, IER), 0);
	CHECK_EQ(rd(&uart_ops, u, LCR), 0x03);
	CHECK_EQ(rd(&uart_ops, u, MCR), 0);
	CHECK_EQ(rd(&uart_ops, u, SCR), 0);
	CHECK_EQ(uart_rx_room(u), UART_RX_FIFO);
	wr(&uart_ops, u, LCR, LCR_DLAB | 0x03);
	CHECK_EQ(rd(&uart_ops, u, DLL), 0x0c);
	CHECK_EQ(rd(&uart_ops, u, DLM), 0);
	wr(&uart_ops, u, LCR, 0x03);
	wr(&uart_ops, u, THR, 'k');
	CHECK_EQ(rd(&uart_ops, u, LSR), LSR_THRE | LSR_TEMT);
}

TEST(uart_round_trip)
{
	struct irq_rec ia = { 0 }, ib = { 0 };
	struct uart *a = uart_make(&ia, -1), *b = uart_make(&ib, -1);
	struct snap_out s1, s2;
	struct cap c;

	uart_drive(a);
	CHECK_EQ(ia.level, 1);
	save(&uart_ops, a, &s1);
	CHECK_EQ(s1.len, UART_STATE_LEN);
	CHECK_EQ(load(&uart_ops, b, s1.buf, s1.len, &c), 0);
	CHECK_EQ(cap_lines(&c), 0);
	/* The loaded port drives the line the state implies: one edge, up. */
	CHECK_EQ(ib.edges, 1);
	CHECK_EQ(ib.level, 1);
	save(&uart_ops, b, &s2);
	CHECK(same(&s1, &s2));
	/* Loading its own state again changes nothing, not even the line. */
	CHECK_EQ(load(&uart_ops, b, s1.buf, s1.len, &c), 0);
	CHECK_EQ(ib.edges, 1);

	/* Both answer the same, register by register, then byte by byte. */
	CHECK_EQ(rd(&uart_ops, b, LSR), LSR_THRE | LSR_TEMT | LSR_DR | LSR_OE);
	CHECK_EQ(rd(&uart_ops, a, LSR), LSR_THRE | LSR_TEMT | LSR_DR | LSR_OE);
	CHECK_EQ(rd(&uart_ops, b, IIR), IIR_THRI | IIR_FIFO);
	CHECK_EQ(rd(&uart_ops, a, IIR), IIR_THRI | IIR_FIFO);
	CHECK_EQ(ia.level, 0);
	CHECK_EQ(ib.level, 0);
	for (unsigned reg = 0; reg < UART_NR_PORTS; reg++) {
		if (reg == RBR)
			continue;
		CHECK_EQ(rd(&uart_ops, b, reg), rd(&uart_ops, a, reg));
	}
	CHECK_EQ(rd(&uart_ops, b, IER), IER_THRI | IER_MSI);
	CHECK_EQ(rd(&uart_ops, b, SCR), 0x5a);
	CHECK_EQ(rd(&uart_ops, b, LCR), 0x1a);
	wr(&uart_ops, a, LCR, LCR_DLAB | 0x1a);
	wr(&uart_ops, b, LCR, LCR_DLAB | 0x1a);
	CHECK_EQ(rd(&uart_ops, b, DLL), 0x01);
	CHECK_EQ(rd(&uart_ops, b, DLM), 0x02);
	CHECK_EQ(rd(&uart_ops, a, DLM), 0x02);
	wr(&uart_ops, a, LCR, 0x1a);
	wr(&uart_ops, b, LCR, 0x1a);
	CHECK_EQ(uart_rx_room(b), UART_RX_FIFO - 54);
	CHECK_EQ(uart_rx_room(a), uart_rx_room(b));
	for (unsigned i = 0; i < 54; i++) {
		uint8_t want = i < 24 ? (uint8_t)((40 + i) * 7 + 1) : (uint8_t)(0x80 + i - 24);

		CHECK_EQ(rd(&uart_ops, a, RBR), want);
		CHECK_EQ(rd(&uart_ops, b, RBR), want);
	}
	CHECK_EQ(rd(&uart_ops, b, LSR), LSR_THRE | LSR_TEMT);
	CHECK_EQ(ia.repeats + ib.repeats, 0);
	/* Counters are not state: b sent and received nothing itself. */
	CHECK_EQ(b->tx_bytes, 0);
	CHECK_EQ(b->rx_bytes, 0);
	snap_out_free(&s1);
	snap_out_free(&s2);
	uart_ops.destroy(a);
	uart_ops.destroy(b);
}

TEST(uart_hostile)
{
	static const struct field_case bad[] = {
		{ 0, 0x10, "ier" },          { 0, 0xff, "ier" },
		{ 2, 0x20, "mcr" },          { 2, 0xff, "mcr" },
		{ 3, 0x02, "fcr" },          { 3, 0x08, "fcr" },
		{ 4, LSR_DR, "lsr_err" },    { 4, 0x1e, "lsr_err" }, { 4, 0x80, "lsr_err" },
		{ 5, 0x10, "msr_delta" },    { 5, 0xf0, "msr_delta" },
		{ 9, 2, "thr_irq_pending" }, { 9, 0xff, "thr_irq_pending" },
		{ 10, UART_RX_FIFO, "rx_head" }, { 10, 0xff, "rx_head" },
		{ 11, UART_RX_FIFO + 1, "rx_count" }, { 11, 0xff, "rx_count" },
	};
	static const struct field_case ok[] = {
		{ 0, 0x0f, "ier" }, { 1, 0xff, "lcr" }, { 2, 0x1f, "mcr" }, { 3, 0xc1, "fcr" },
		{ 4, 0, "lsr_err" }, { 5, 0x0f, "msr_delta" }, { 9, 0, "thr_irq_pending" },
		{ 10, UART_RX_FIFO - 1, "rx_head" }, { 11, UART_RX_FIFO, "rx_count" },
		{ 11, 0, "rx_count" },
	};
	struct irq_rec ia = { 0 }, ib = { 0 };
	struct uart *a = uart_make(&ia, -1), *b = uart_make(&ib, -1);
	struct snap_out good;

	uart_drive(a);
	save(&uart_ops, a, &good);
	hostile(t_, &uart_ops, b, &ib, &good, uart_power_on, bad, sizeof(bad) / sizeof(bad[0]),
		ok, sizeof(ok) / sizeof(ok[0]));
	/* A full ring that wraps at its last slot reads back in order. */
	{
		uint8_t buf[UART_STATE_LEN];
		struct cap c;

		memcpy(buf, good.buf, sizeof(buf));
		buf[0] = 0;                    /* no interrupts: only the data matters */
		buf[10] = UART_RX_FIFO - 1;    /* head */
		buf[11] = UART_RX_FIFO;        /* count */
		for (unsigned i = 0; i < UART_RX_FIFO; i++)
			buf[12 + i] = (uint8_t)i;
		CHECK_EQ(load(&uart_ops, b, buf, sizeof(buf), &c), 0);
		CHECK_EQ(uart_rx_room(b), 0);
		wr(&uart_ops, b, LCR, 0x03);
		CHECK_EQ(rd(&uart_ops, b, RBR), UART_RX_FIFO - 1);
		for (unsigned i = 0; i < UART_RX_FIFO - 1; i++)
			CHECK_EQ(rd(&uart_ops, b, RBR), i);
		CHECK_EQ(rd(&uart_ops, b, LSR) & LSR_DR, 0);
	}
	snap_out_free(&good);
	uart_ops.destroy(a);
	uart_ops.destroy(b);
}

/*
 * uart16550.h: the console stops reading while room < UART_RX_WAKE_ROOM and
 * waits on rx_space_fd; a load (or the reset of a refused one) that empties
 * a full FIFO must wake it, one that fills it must not.
 */
TEST(uart_load_wakes_console)
{
	uint8_t fill[UART_RX_FIFO], v = 0;
	struct irq_rec irq = { 0 }, other = { 0 };
	int efd = eventfd(0, EFD_NONBLOCK);
	struct uart *u = uart_make(&irq, efd), *fresh = uart_make(&other, -1);
	struct snap_out empty, full;
	uint64_t n = 0;
	struct cap c;

	CHECK(efd >= 0);
	memset(fill, 'f', sizeof(fill));
	save(&uart_ops, fresh, &empty);
	CHECK_EQ(uart_rx_push(fresh, fill, sizeof(fill)), sizeof(fill));
	save(&uart_ops, fresh, &full);

	CHECK_EQ(load(&uart_ops, u, full.buf, full.len, &c), 0);
	CHECK_EQ(uart_rx_room(u), 0);
	CHECK(read(efd, &n, sizeof(n)) < 0); /* filling wakes nobody */
	CHECK_EQ(load(&uart_ops, u, empty.buf, empty.len, &c), 0);
	CHECK_EQ(read(efd, &n, sizeof(n)), sizeof(n));
	CHECK_EQ(n, 1);
	CHECK_EQ(load(&uart_ops, u, full.buf, full.len, &c), 0);
	CHECK_EQ(load(&uart_ops, u, full.buf, full.len - 1, &c), -EINVAL);
	CHECK_EQ(uart_rx_room(u), UART_RX_FIFO);
	CHECK_EQ(read(efd, &n, sizeof(n)), sizeof(n));
	CHECK_EQ(n, 1);
	CHECK_EQ(uart_ops.read(u, LSR, &v, 1), 0);
	CHECK_EQ(v, LSR_THRE | LSR_TEMT);
	snap_out_free(&empty);
	snap_out_free(&full);
	uart_ops.destroy(u);
	uart_ops.destroy(fresh);
	close(efd);
}

/* ---- i8042 -------------------------------------------------------------- */

struct kbd_resets {
	unsigned n;
};

static void kbd_on_reset(void *ctx)
{
	((struct kbd_resets *)ctx)->n++;
}

static struct i8042 *kbd_make(struct irq_rec *irq, struct kbd_resets *resets)
{
	struct irq_line line = irq_rec_line(irq, I8042_IRQ);
	struct i8042 *k;

	if (i8042_new(&line, kbd_on_reset, resets, &k))
		abort();
	return k;
}

/*
 * Command byte 0x05 (no translation), a set-2 Ctrl-Alt-Del partly read
 * (last byte 0x71), then replies that wrap the queue (head 7, 11 bytes), and
 * 0xd1 (write output port) waiting for its data byte.
 */
static void kbd_drive(struct i8042 *k)
{
	wr(&i8042_ops, k, KBD_CMD, 0x60);
	wr(&i8042_ops, k, KBD_DATA, 0x05);
	if (i8042_send_ctrl_alt_del(k))
		abort();
	for (int i = 0; i < 7; i++)
		(void)rd(&i8042_ops, k, KBD_DATA);
	wr(&i8042_ops, k, KBD_CMD, 0xaa);  /* self-test: 0x55 */
	wr(&i8042_ops, k, KBD_CMD, 0x20);  /* read CTR: 0x05 */
	wr(&i8042_ops, k, KBD_DATA, 0xf2); /* identify: fa ab 83 */
	wr(&i8042_ops, k, KBD_DATA, 0xff); /* reset: fa aa */
	wr(&i8042_ops, k, KBD_CMD, 0xd1);
}

static void kbd_power_on(struct test_ctx *t_, void *dev, const struct irq_rec *irq)
{
	struct i8042 *k = dev;

	CHECK_EQ(irq->level, 0);
	CHECK_EQ(rd(&i8042_ops, k, KBD_CMD), STATUS_IDLE);
	CHECK_EQ(rd(&i8042_ops, k, KBD_DATA), 0);
	wr(&i8042_ops, k, KBD_CMD, 0x20);
	CHECK_EQ(rd(&i8042_ops, k, KBD_CMD), STATUS_IDLE | STATUS_OBF);
	CHECK_EQ(rd(&i8042_ops, k, KBD_DATA), 0x45);
	CHECK_EQ(rd(&i8042_ops, k, KBD_CMD), STATUS_IDLE);
}

TEST(i8042_round_trip)
{
	static const uint8_t rest[] = { 0xf0, 0x11, 0xf0, 0x14, /* the rest of Ctrl-Alt-Del */
					0x55, 0x05, 0xfa, 0xab, 0x83, 0xfa, 0xaa };
	struct irq_rec ia = { 0 }, ib = { 0 };
	struct kbd_resets ra = { 0 }, rb = { 0 };
	struct i8042 *a = kbd_make(&ia, &ra), *b = kbd_make(&ib, &rb);
	struct snap_out s1, s2;
	struct cap c;

	kbd_drive(a);
	save(&i8042_ops, a, &s1);
	CHECK_EQ(s1.len, I8042_STATE_LEN);
	CHECK_EQ(load(&i8042_ops, b, s1.buf, s1.len, &c), 0);
	CHECK_EQ(cap_lines(&c), 0);
	CHECK_EQ(ib.edges, 0); /* an edge already sent is not replayed */
	save(&i8042_ops, b, &s2);
	CHECK(same(&s1, &s2));

	/* The pending 0xd1 survived: bit 0 clear in its data byte is a reset pulse. */
	CHECK_EQ(rd(&i8042_ops, b, KBD_CMD), STATUS_IDLE | STATUS_OBF);
	wr(&i8042_ops, a, KBD_DATA, 0x02);
	wr(&i8042_ops, b, KBD_DATA, 0x02);
	CHECK_EQ(ra.n, 1);
	CHECK_EQ(rb.n, 1);
	/* The queue, in order, across the wrap; then both read the last byte again. */
	for (size_t i = 0; i < sizeof(rest); i++) {
		CHECK_EQ(rd(&i8042_ops, a, KBD_DATA), rest[i]);
		CHECK_EQ(rd(&i8042_ops, b, KBD_DATA), rest[i]);
	}
	CHECK_EQ(rd(&i8042_ops, b, KBD_CMD), STATUS_IDLE);
	CHECK_EQ(rd(&i8042_ops, b, KBD_DATA), 0xaa);
	/* The command byte: no translation, so Ctrl-Alt-Del comes in set 2. */
	wr(&i8042_ops, b, KBD_CMD, 0x20);
	CHECK_EQ(rd(&i8042_ops, b, KBD_DATA), 0x05);
	CHECK_EQ(i8042_send_ctrl_alt_del(b), 0);
	CHECK_EQ(rd(&i8042_ops, b, KBD_DATA), 0x14);
	CHECK_EQ(ia.repeats + ib.repeats, 0);
	snap_out_free(&s1);
	snap_out_free(&s2);
	i8042_ops.destroy(a);
	i8042_ops.destroy(b);
}

TEST(i8042_hostile)
{
	static const struct field_case bad[] = {
		{ 1, 0x20, "pending_cmd" }, { 1, 0x01, "pending_cmd" }, { 1, 0xfe, "pending_cmd" },
		{ 1, 0xd0, "pending_cmd" }, { 1, 0xd5, "pending_cmd" }, { 1, 0x61, "pending_cmd" },
		{ 3, I8042_OUTQ, "out_head" }, { 3, 0xff, "out_head" },
		{ 4, I8042_OUTQ + 1, "out_n" }, { 4, 0xff, "out_n" },
	};
	static const struct field_case ok[] = {
		{ 0, 0xff, "ctr" }, { 1, 0, "pending_cmd" }, { 1, 0x60, "pending_cmd" },
		{ 1, 0xd2, "pending_cmd" }, { 1, 0xd3, "pending_cmd" }, { 1, 0xd4, "pending_cmd" },
		{ 2, 0xff, "last" }, { 3, I8042_OUTQ - 1, "out_head" }, { 4, I8042_OUTQ, "out_n" },
		{ 4, 0, "out_n" },
	};
	struct irq_rec ia = { 0 }, ib = { 0 };
	struct kbd_resets ra = { 0 }, rb = { 0 };
	struct i8042 *a = kbd_make(&ia, &ra), *b = kbd_make(&ib, &rb);
	struct snap_out good;

	kbd_drive(a);
	save(&i8042_ops, a, &good);
	hostile(t_, &i8042_ops, b, &ib, &good, kbd_power_on, bad, sizeof(bad) / sizeof(bad[0]),
		ok, sizeof(ok) / sizeof(ok[0]));
	CHECK_EQ(rb.n, 0);
	snap_out_free(&good);
	i8042_ops.destroy(a);
	i8042_ops.destroy(b);
}

/* ---- RTC ---------------------------------------------------------------- */

static void cmos_write(struct rtc *r, uint8_t index, uint8_t v)
{
	wr(&rtc_ops, r, 0, index);
	wr(&rtc_ops, r, 1, v);
}

static uint8_t cmos_read(struct rtc *r, uint8_t index)
{
	wr(&rtc_ops, r, 0, index);
	return rd(&rtc_ops, r, 1);
}

/* CMOS bytes in every writable stretch, then the index left at 0x2c. */
static void rtc_drive(struct rtc *r)
{
	for (unsigned i = 0x0e; i < RTC_NVRAM; i += 3)
		if (i != 0x32)
			cmos_write(r, (uint8_t)i, (uint8_t)(i ^ 0xa5));
	cmos_write(r, 0x31, 0x31);
	cmos_write(r, 0x33, 0x33);
	wr(&rtc_ops, r, 0, 0x80 | 0x2c); /* NMI mask bit: not stored */
}

static void rtc_power_on(struct test_ctx *t_, void *dev, const struct irq_rec *irq)
{
	struct rtc *r = dev;

	(void)irq;
	CHECK_EQ(rd(&rtc_ops, r, 0), 0);
	CHECK_EQ(cmos_read(r, 0x0e), 0);
	CHECK_EQ(cmos_read(r, 0x2a), 0);
	CHECK_EQ(cmos_read(r, 0x7f), 0);
	CHECK_EQ(cmos_read(r, 0x01), 0); /* alarm seconds */
	CHECK_EQ(cmos_read(r, 0x0d), 0x80);
	cmos_write(r, 0x40, 0x12);
	CHECK_EQ(cmos_read(r, 0x40), 0x12);
}

TEST(rtc_round_trip)
{
	struct rtc *a, *b;
	struct snap_out s1, s2;
	struct cap c;

	if (rtc_new(&a) || rtc_new(&b))
		abort();
	rtc_drive(a);
	save(&rtc_ops, a, &s1);
	CHECK_EQ(s1.len, RTC_STATE_LEN);
	CHECK_EQ(load(&rtc_ops, b, s1.buf, s1.len, &c), 0);
	CHECK_EQ(cap_lines(&c), 0);
	save(&rtc_ops, b, &s2);
	CHECK(same(&s1, &s2));
	/* The index first (reading port 0x71 reads the byte it selects), then the bytes. */
	CHECK_EQ(rd(&rtc_ops, b, 0), 0x2c);
	CHECK_EQ(rd(&rtc_ops, b, 1), 0x2c ^ 0xa5);
	CHECK_EQ(rd(&rtc_ops, a, 1), 0x2c ^ 0xa5);
	for (unsigned i = 0x0e; i < RTC_NVRAM; i++)
		CHECK_EQ(cmos_read(b, (uint8_t)i), cmos_read(a, (uint8_t)i));
	CHECK_EQ(cmos_read(b, 0x31), 0x31);
	CHECK_EQ(cmos_read(b, 0x33), 0x33);
	CHECK_EQ(cmos_read(b, 0x7d), 0x7d ^ 0xa5);
	CHECK_EQ(cmos_read(b, 0x0f), 0);
	CHECK_EQ(cmos_read(b, 0x0d), 0x80);
	snap_out_free(&s1);
	snap_out_free(&s2);
	rtc_ops.destroy(a);
	rtc_ops.destroy(b);
}

TEST(rtc_hostile)
{
	static const struct field_case bad[] = {
		{ 0, 0x80, "index" },       { 0, 0xff, "index" },
		{ 1 + 0x00, 1, "nvram" },   { 1 + 0x01, 0x12, "nvram" }, /* seconds, alarm */
		{ 1 + 0x09, 0x99, "nvram" }, { 1 + 0x0a, 0x26, "nvram" }, /* year, status A */
		{ 1 + 0x0d, 0x80, "nvram" }, { 1 + 0x32, 0x20, "nvram" }, /* status D, century */
	};
	static const struct field_case ok[] = {
		{ 0, 0x7f, "index" }, { 0, 0x0d, "index" },
		{ 1 + 0x0e, 0xff, "nvram" }, { 1 + 0x31, 0xff, "nvram" },
		{ 1 + 0x33, 0xff, "nvram" }, { 1 + 0x7f, 0xff, "nvram" },
	};
	struct irq_rec none = { 0 };
	struct rtc *a, *b;
	struct snap_out good;

	if (rtc_new(&a) || rtc_new(&b))
		abort();
	rtc_drive(a);
	save(&rtc_ops, a, &good);
	hostile(t_, &rtc_ops, b, &none, &good, rtc_power_on, bad, sizeof(bad) / sizeof(bad[0]),
		ok, sizeof(ok) / sizeof(ok[0]));
	snap_out_free(&good);
	rtc_ops.destroy(a);
	rtc_ops.destroy(b);
}

/* ---- the device list ---------------------------------------------------- */

struct pc {
	struct devlist list;
	struct irq_rec com1, kbd_irq;
	struct kbd_resets resets;
	struct uart *uart;
	struct i8042 *kbd;
	struct rtc *rtc;
};

/* The three on a list, as the PC platform adds them; the list then owns them. */
static void pc_init(struct pc *p)
{
	memset(p, 0, sizeof(*p));
	devlist_init(&p->list);
	p->uart = uart_make(&p->com1, -1);
	p->kbd = kbd_make(&p->kbd_irq, &p->resets);
	if (rtc_new(&p->rtc) || devlist_add(&p->list, &uart_ops, p->uart, "serial0") ||
	    devlist_add(&p->list, &i8042_ops, p->kbd, "i8042") ||
	    devlist_add(&p->list, &rtc_ops, p->rtc, "rtc"))
		abort();
}

static int pc_load(struct pc *p, const void *buf, size_t len, struct cap *c)
{
	struct snap_in in;
	int ret;

	snap_in_init(&in, buf, len);
	cap_begin(c);
	ret = devlist_load(&p->list, &in);
	cap_end(c);
	return ret;
}

TEST(devlist_round_trip)
{
	struct pc *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct snap_out s1, s2, one;
	struct cap c;

	if (!a || !b)
		abort();
	pc_init(a);
	pc_init(b);
	uart_drive(a->uart);
	kbd_drive(a->kbd);
	rtc_drive(a->rtc);
	snap_out_init(&s1);
	CHECK_EQ(devlist_save(&a->list, &s1), 0);
	CHECK_EQ(pc_load(b, s1.buf, s1.len, &c), 0);
	CHECK_EQ(cap_lines(&c), 0);
	snap_out_init(&s2);
	CHECK_EQ(devlist_save(&b->list, &s2), 0);
	CHECK(same(&s1, &s2));
	/* Each section carries exactly the device's own save. */
	save(&uart_ops, b->uart, &one);
	CHECK_EQ(one.len, UART_STATE_LEN);
	CHECK(s1.len > one.len && memmem(s1.buf, s1.len, one.buf, one.len) != NULL);
	snap_out_free(&one);
	CHECK_EQ(b->com1.level, 1);
	CHECK_EQ(rd(&uart_ops, b->uart, SCR), 0x5a);
	CHECK_EQ(rd(&i8042_ops, b->kbd, KBD_DATA), 0xf0);
	CHECK_EQ(rd(&rtc_ops, b->rtc, 0), 0x2c);

	/* Every truncation of the stream is refused, and so is a byte after it. */
	for (size_t len = 0; len < s1.len; len++)
		CHECK_EQ(pc_load(b, s1.buf, len, &c), -EINVAL);
	{
		uint8_t *longer = calloc(1, s1.len + 1);

		if (!longer)
			abort();
		memcpy(longer, s1.buf, s1.len);
		CHECK_EQ(pc_load(b, longer, s1.len + 1, &c), -EINVAL);
		CHECK(strstr(c.text, "after the last device") != NULL);
		free(longer);
	}
	/* After all that the list still loads a good stream. */
	CHECK_EQ(pc_load(b, s1.buf, s1.len, &c), 0);
	snap_out_free(&s2);
	snap_out_init(&s2);
	CHECK_EQ(devlist_save(&b->list, &s2), 0);
	CHECK(same(&s1, &s2));

	snap_out_free(&s1);
	snap_out_free(&s2);
	devlist_destroy(&a->list);
	devlist_destroy(&b->list);
	CHECK_EQ(a->list.nr, 0);
	free(a);
	free(b);
}

/* A section whose kind differs from the device of that name is refused. */
TEST(devlist_kind_mismatch)
{
	struct pc *a = malloc(sizeof(*a));
	struct devlist wrong;
	struct irq_rec irq = { 0 };
	struct kbd_resets resets = { 0 };
	struct i8042 *kbd2 = kbd_make(&irq, &resets);
	struct uart *u;
	struct rtc *r;
	struct snap_out s1;
	struct snap_in in;
	struct cap c;

	if (!a)
		abort();
	pc_init(a);
	rtc_drive(a->rtc);
	snap_out_init(&s1);
	CHECK_EQ(devlist_save(&a->list, &s1), 0);

	/* Same names, but "rtc" is an i8042 here. */
	devlist_init(&wrong);
	u = uart_make(&irq, -1);
	if (rtc_new(&r))
		abort();
	CHECK_EQ(devlist_add(&wrong, &uart_ops, u, "serial0"), 0);
	CHECK_EQ(devlist_add(&wrong, &rtc_ops, r, "i8042"), 0);
	CHECK_EQ(devlist_add(&wrong, &i8042_ops, kbd2, "rtc"), 0);
	snap_in_init(&in, s1.buf, s1.len);
	cap_begin(&c);
	CHECK_EQ(devlist_load(&wrong, &in), -EINVAL);
	cap_end(&c);
	CHECK(strstr(c.text, "i8042") != NULL);
	CHECK(strstr(c.text, "mc146818-rtc") != NULL || strstr(c.text, "uart16550") != NULL);
	/* The refused devices still work. */
	CHECK_EQ(rd(&i8042_ops, kbd2, KBD_CMD), STATUS_IDLE);
	CHECK_EQ(rd(&rtc_ops, r, 0), 0);

	snap_out_free(&s1);
	devlist_destroy(&wrong);
	devlist_destroy(&a->list);
	free(a);
}

TEST_MAIN(T(uart_round_trip), T(uart_hostile), T(uart_load_wakes_console), T(i8042_round_trip),
	  T(i8042_hostile), T(rtc_round_trip), T(rtc_hostile), T(devlist_round_trip),
	  T(devlist_kind_mismatch))
