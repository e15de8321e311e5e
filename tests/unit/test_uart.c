/*
 * test_uart.c: unit tests for src/devices/uart16550.c, the NS16550A model.
 *
 * The guest side is driven through a PIO bus mapped at COM1, so handlers see
 * offsets exactly as on a vCPU. The host side is a pipe for output, an
 * eventfd for "FIFO has room again" and an irq_line whose set() records
 * every level driven. Covers LSR, THR output, the interrupt sources and
 * their priority (IIR), OUT2 gating, the receive FIFO (fill, drain, partial
 * pushes, FCR clear, the rx_space_fd wakeup at UART_RX_WAKE_ROOM), DLAB,
 * loopback and MSR, the scratch register, wide accesses and writes to
 * read-only registers; the device-model ops: a complete table, uart_new's
 * arguments, reset to power-on (lowering the line, waking the console) and
 * stats. Save/load are in test_devstate.c. Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus.h"
#include "dev.h"
#include "devices/uart16550.h"
#include "test.h"

/* PC16550D register offsets and bits used below. */
#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

struct irq_rec {
	int levels[256];
	unsigned n;
	unsigned gsi_seen;
};

static int irq_rec_set(void *ctx, unsigned gsi, int level)
{
	struct irq_rec *r = ctx;

	r->gsi_seen = gsi;
	if (r->n < sizeof(r->levels) / sizeof(r->levels[0]))
		r->levels[r->n] = level;
	r->n++;
	return 0;
}

struct fx {
	struct uart *u;
	struct bus bus;
	struct irq_rec irq;
	int out[2];  /* pipe: [0] is what the host reads */
	int efd;     /* rx_space eventfd */
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct irq_line line;

	if (!f)
		abort();
	line = (struct irq_line){ .set = irq_rec_set, .ctx = &f->irq, .gsi = UART_COM1_IRQ };
	if (pipe2(f->out, O_NONBLOCK) < 0)
		abort();
	f->efd = eventfd(0, EFD_NONBLOCK);
	if (f->efd < 0)
		abort();
	if (uart_new(&line, f->out[1], f->efd, &f->u))
		abort();
	bus_init(&f->bus, "pio");
	if (bus_map(&f->bus, UART_COM1_BASE, UART_NR_PORTS, &uart_ops, f->u, "serial0"))
		abort();
	return f;
}

static void fx_free(struct fx *f)
{
	uart_ops.destroy(f->u);
	close(f->out[0]);
	close(f->out[1]);
	close(f->efd);
	free(f);
}

static uint8_t rd(struct fx *f, unsigned reg)
{
	uint8_t v = 0x5a;

	if (bus_access(&f->bus, UART_COM1_BASE + reg, &v, 1, 0) < 0)
		abort();
	return v;
}

static void wr(struct fx *f, unsigned reg, uint8_t v)
{
	if (bus_access(&f->bus, UART_COM1_BASE + reg, &v, 1, 1) < 0)
		abort();
}

/* Current level of the line as the recorder last saw it (0 before any edge). */
static int irq_level(const struct fx *f)
{
	return f->irq.n ? f->irq.levels[f->irq.n - 1] : 0;
}

/* Bytes the host side has received so far (non-blocking). */
static size_t host_out(struct fx *f, uint8_t *buf, size_t max)
{
	ssize_t n = read(f->out[0], buf, max);

	return n < 0 ? 0 : (size_t)n;
}

/* eventfd counter, consumed; 0 if it was never written. */
static uint64_t efd_count(struct fx *f)
{
	uint64_t v = 0;

	if (read(f->efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

TEST(power_on)
{
	struct fx *f = fx_new();

	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT);
	CHECK_EQ(rd(f, IER), 0);
	CHECK_EQ(rd(f, IIR), IIR_NONE);
	CHECK_EQ(rd(f, LCR), 0x03);
	CHECK_EQ(rd(f, MCR), 0);
	CHECK_EQ(rd(f, RBR), 0); /* empty FIFO reads 0 */
	CHECK_EQ(f->irq.n, 0);
	CHECK_EQ(uart_rx_room(f->u), UART_RX_FIFO);
	fx_free(f);
}

TEST(lsr_thre_always)
{
	struct fx *f = fx_new();
	uint8_t out[64];

	for (int i = 0; i < 40; i++) {
		wr(f, THR, (uint8_t)('a' + i % 26));
		CHECK_EQ(rd(f, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	}
	CHECK_EQ(host_out(f, out, sizeof(out)), 40);
	fx_free(f);
}

TEST(thr_to_out_fd)
{
	static const char msg[] = "Linux version 6.x\r\n";
	struct fx *f = fx_new();
	uint8_t out[64];
	size_t n;

	for (size_t i = 0; i < sizeof(msg) - 1; i++)
		wr(f, THR, (uint8_t)msg[i]);
	n = host_out(f, out, sizeof(out));
	CHECK_EQ(n, sizeof(msg) - 1);
	CHECK(memcmp(out, msg, sizeof(msg) - 1) == 0);
	CHECK_EQ(f->u->tx_bytes, sizeof(msg) - 1);
	/* Nothing echoed into the receiver. */
	CHECK_EQ(rd(f, LSR) & LSR_DR, 0);
	fx_free(f);
}

TEST(thr_with_closed_output)
{
	struct irq_rec rec = { .n = 0 };
	struct irq_line line = { .set = irq_rec_set, .ctx = &rec, .gsi = 4 };
	struct uart *u = NULL;
	uint8_t v = 'x';

	/* out_fd -1 drops output; the guest does not notice. */
	CHECK_EQ(uart_new(&line, -1, -1, &u), 0);
	CHECK_EQ(uart_ops.write(u, THR, &v, 1), 0);
	CHECK_EQ(u->tx_bytes, 1);
	CHECK_EQ(uart_ops.read(u, LSR, &v, 1), 0);
	CHECK_EQ(v, LSR_THRE | LSR_TEMT);
	CHECK_EQ(rec.n, 0);
	uart_ops.destroy(u);
}

TEST(thri_gated_by_out2)
{
	struct fx *f = fx_new();

	/* IER.THRI without OUT2: the source is pending, but the line stays low. */
	wr(f, IER, IER_THRI);
	CHECK_EQ(f->irq.n, 0);
	CHECK_EQ(rd(f, IER), IER_THRI);
	/* OUT2 lets it out. */
	wr(f, MCR, MCR_OUT2);
	CHECK_EQ(f->irq.n, 1);
	CHECK_EQ(irq_level(f), 1);
	CHECK_EQ(f->irq.gsi_seen, UART_COM1_IRQ);
	/* Dropping OUT2 lowers it again. */
	wr(f, MCR, 0);
	CHECK_EQ(f->irq.n, 2);
	CHECK_EQ(irq_level(f), 0);
	wr(f, MCR, MCR_OUT2);
	CHECK_EQ(irq_level(f), 1);
	/* Reading IIR reports THRI and clears it; the line goes low. */
	CHECK_EQ(rd(f, IIR), IIR_THRI);
	CHECK_EQ(irq_level(f), 0);
	CHECK_EQ(rd(f, IIR), IIR_NONE);
	fx_free(f);
}

TEST(thri_enable_raises_at_once)
{
	struct fx *f = fx_new();
	unsigned edges;

	wr(f, MCR, MCR_OUT2);
	CHECK_EQ(f->irq.n, 0); /* nothing enabled yet: no edge */
	wr(f, IER, IER_THRI);
	CHECK_EQ(f->irq.n, 1);
	CHECK_EQ(irq_level(f), 1);
	CHECK_EQ(rd(f, IIR), IIR_THRI);
	CHECK_EQ(irq_level(f), 0);
	/* Writing the same IER again does not re-arm it. */
	edges = f->irq.n;
	wr(f, IER, IER_THRI);
	CHECK_EQ(f->irq.n, edges);
	CHECK_EQ(rd(f, IIR), IIR_NONE);
	/* Each byte sent re-arms THRE. */
	wr(f, THR, 'a');
	CHECK_EQ(irq_level(f), 1);
	CHECK_EQ(rd(f, IIR), IIR_THRI);
	CHECK_EQ(irq_level(f), 0);
	/* Disable, then enable: raised again (THR is empty). */
	wr(f, IER, 0);
	wr(f, IER, IER_THRI);
	CHECK_EQ(irq_level(f), 1);
	/* Disabling with the source pending lowers the line. */
	wr(f, IER, 0);
	CHECK_EQ(irq_level(f), 0);
	fx_free(f);
}

TEST(levels_only_on_change)
{
	struct fx *f = fx_new();
	uint8_t c = 'q';

	wr(f, MCR, MCR_OUT2);
	wr(f, IER, IER_RDI);
	CHECK_EQ(uart_rx_push(f->u, &c, 1), 1);
	CHECK_EQ(uart_rx_push(f->u, &c, 1), 1);
	CHECK_EQ(uart_rx_push(f->u, &c, 1), 1);
	CHECK_EQ(f->irq.n, 1); /* one rising edge, not three */
	(void)rd(f, LSR);
	(void)rd(f, RBR);
	(void)rd(f, RBR);
	CHECK_EQ(f->irq.n, 1);
	(void)rd(f, RBR);
	CHECK_EQ(f->irq.n, 2);
	CHECK_EQ(irq_level(f), 0);
	/* Edges alternate: never two equal levels in a row. */
	for (unsigned i = 1; i < f->irq.n; i++)
		CHECK(f->irq.levels[i] != f->irq.levels[i - 1]);
	fx_free(f);
}

TEST(rx_data_and_iir)
{
	static const uint8_t in[] = "root\r";
	struct fx *f = fx_new();

	wr(f, MCR, MCR_OUT2);
	wr(f, IER, IER_RDI);
	CHECK_EQ(irq_level(f), 0);
	CHECK_EQ(uart_rx_push(f->u, in, sizeof(in) - 1), sizeof(in) - 1);
	CHECK_EQ(irq_level(f), 1);
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT | LSR_DR);
	CHECK_EQ(rd(f, IIR), IIR_RDI);
	CHECK_EQ(rd(f, IIR), IIR_RDI); /* reading IIR does not clear RDI */
	CHECK_EQ(uart_rx_room(f->u), UART_RX_FIFO - (sizeof(in) - 1));
	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		CHECK_EQ(rd(f, LSR) & LSR_DR, LSR_DR);
		CHECK_EQ(rd(f, RBR), in[i]);
	}
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT);
	CHECK_EQ(rd(f, IIR), IIR_NONE);
	CHECK_EQ(irq_level(f), 0);
	CHECK_EQ(f->u->rx_bytes, sizeof(in) - 1);
	CHECK_EQ(uart_rx_room(f->u), UART_RX_FIFO);

	/* With the FIFOs enabled, IIR carries the FIFO bits: 0xc4. */
	wr(f, FCR, 0x01);
	CHECK_EQ(rd(f, IIR), IIR_NONE | IIR_FIFO);
	CHECK_EQ(uart_rx_push(f->u, in, 1), 1);
	CHECK_EQ(rd(f, IIR), IIR_RDI | IIR_FIFO);
	CHECK_EQ(rd(f, RBR), in[0]);
	wr(f, FCR, 0x00);
	CHECK_EQ(rd(f, IIR), IIR_NONE);
	fx_free(f);
}

/* Datasheet priority: line status > received data > THR empty. */
TEST(iir_priority)
{
	struct fx *f = fx_new();
	uint8_t c = 'z';

	wr(f, MCR, MCR_OUT2 | MCR_LOOP);
	wr(f, IER, IER_RDI | IER_THRI | IER_RLSI);
	CHECK_EQ(rd(f, IIR), IIR_THRI);   /* enabling THRI latched it; read clears */
	/* Overrun the FIFO in loopback: OE + data + THRE all pending. */
	for (unsigned i = 0; i < UART_RX_FIFO + 1; i++)
		wr(f, THR, c);
	CHECK_EQ(rd(f, IIR), IIR_RLSI);
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT | LSR_DR | LSR_OE);
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT | LSR_DR); /* OE clears on read */
	CHECK_EQ(rd(f, IIR), IIR_RDI);
	for (unsigned i = 0; i < UART_RX_FIFO; i++)
		CHECK_EQ(rd(f, RBR), c);
	CHECK_EQ(rd(f, IIR), IIR_THRI);
	CHECK_EQ(irq_level(f), 0);
	CHECK_EQ(rd(f, IIR), IIR_NONE);
	fx_free(f);
}

TEST(rx_fifo_full)
{
	uint8_t in[UART_RX_FIFO + 36], c;
	struct fx *f = fx_new();
	unsigned next = 0;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 3 + 7);
	CHECK_EQ(uart_rx_push(f->u, in, 10), 10);
	/* Partial: only what fits is taken. */
	CHECK_EQ(uart_rx_push(f->u, in + 10, sizeof(in) - 10), UART_RX_FIFO - 10);
	CHECK_EQ(uart_rx_room(f->u), 0);
	CHECK_EQ(uart_rx_push(f->u, in, 1), 0);
	CHECK_EQ(f->u->rx_bytes, UART_RX_FIFO);
	/* Not in loopback: a full FIFO from the host side is flow control, not overrun. */
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT | LSR_DR);
	CHECK_EQ(efd_count(f), 0);

	/*
	 * uart16550.h: rx_space_fd fires when the room grows back to
	 * UART_RX_WAKE_ROOM, once per crossing; not before, not after.
	 */
	while (uart_rx_room(f->u) < UART_RX_WAKE_ROOM - 1) {
		CHECK_EQ(rd(f, RBR), in[next++]);
		CHECK_EQ(efd_count(f), 0);
	}
	CHECK_EQ(rd(f, RBR), in[next++]);
	CHECK_EQ(uart_rx_room(f->u), UART_RX_WAKE_ROOM);
	CHECK_EQ(efd_count(f), 1);
	CHECK_EQ(rd(f, RBR), in[next++]);
	CHECK_EQ(efd_count(f), 0);

	/* Refill across the ring's wrap point, then drain in order: one wakeup. */
	CHECK_EQ(uart_rx_push(f->u, in + UART_RX_FIFO, sizeof(in) - UART_RX_FIFO),
		 UART_RX_WAKE_ROOM + 1);
	CHECK_EQ(uart_rx_room(f->u), 0);
	for (unsigned i = next; i < next + UART_RX_FIFO; i++) {
		c = rd(f, RBR);
		if (c != in[i])
			fprintf(stderr, "  byte %u\n", i);
		CHECK_EQ(c, in[i]);
	}
	CHECK_EQ(efd_count(f), 1);
	CHECK_EQ(rd(f, LSR) & LSR_DR, 0);
	CHECK_EQ(uart_rx_room(f->u), UART_RX_FIFO);
	CHECK_EQ(uart_rx_push(f->u, in, 0), 0);
	/* Draining a FIFO that was never short of room wakes nobody. */
	CHECK_EQ(uart_rx_push(f->u, in, UART_RX_FIFO - UART_RX_WAKE_ROOM),
		 UART_RX_FIFO - UART_RX_WAKE_ROOM);
	while (rd(f, LSR) & LSR_DR)
		(void)rd(f, RBR);
	CHECK_EQ(efd_count(f), 0);
	fx_free(f);
}

TEST(fcr_clear_rx)
{
	uint8_t in[8] = "abcdefg";
	struct fx *f = fx_new();

	CHECK_EQ(uart_rx_push(f->u, in, 7), 7);
	wr(f, FCR, 0x07); /* enable, clear RX, clear TX */
	CHECK_EQ(rd(f, LSR) & LSR_DR, 0);
	CHECK_EQ(uart_rx_room(f->u), UART_RX_FIFO);
	CHECK_EQ(rd(f, IIR), IIR_NONE | IIR_FIFO);
	CHECK_EQ(efd_count(f), 0); /* there was room all along */
	/* The clear bits are self-clearing; the FIFO works afterwards. */
	CHECK_EQ(uart_rx_push(f->u, in, 2), 2);
	CHECK_EQ(rd(f, RBR), 'a');
	CHECK_EQ(rd(f, RBR), 'b');
	fx_free(f);
}

/*
 * Clearing a full FIFO through FCR must wake the console thread too: it
 * stops reading stdin while room < UART_RX_WAKE_ROOM, and Linux's 8250
 * driver clears the FIFOs at port startup (regression for a stalled console).
 */
TEST(fcr_clear_full_fifo_signals_room)
{
	uint8_t in[UART_RX_FIFO];
	struct fx *f = fx_new();

	memset(in, 'k', sizeof(in));
	for (unsigned room = 0; room < UART_RX_WAKE_ROOM; room++) {
		CHECK_EQ(uart_rx_push(f->u, in, UART_RX_FIFO - room), UART_RX_FIFO - room);
		CHECK_EQ(uart_rx_room(f->u), room);
		CHECK_EQ(efd_count(f), 0);
		wr(f, FCR, 0x03);
		CHECK_EQ(uart_rx_room(f->u), UART_RX_FIFO);
		CHECK_EQ(efd_count(f), 1);
	}
	/* Clearing an empty FIFO is no crossing. */
	wr(f, FCR, 0x03);
	CHECK_EQ(efd_count(f), 0);
	fx_free(f);
}

TEST(dlab)
{
	struct fx *f = fx_new();
	uint8_t out[8];

	wr(f, IER, 0x05);
	wr(f, LCR, LCR_DLAB | 0x03);
	CHECK_EQ(rd(f, DLL), 0x0c); /* 9600 baud left by the "BIOS" */
	CHECK_EQ(rd(f, DLM), 0x00);
	wr(f, DLL, 0x01);           /* 115200 */
	wr(f, DLM, 0x00);
	CHECK_EQ(rd(f, DLL), 0x01);
	CHECK_EQ(rd(f, DLM), 0x00);
	wr(f, DLM, 0x7e);
	CHECK_EQ(rd(f, DLM), 0x7e);
	/* Divisor writes are not data and not IER. */
	CHECK_EQ(host_out(f, out, sizeof(out)), 0);
	CHECK_EQ(f->u->tx_bytes, 0);
	CHECK_EQ(f->u->s.ier, 0x05);
	/* Other registers are unaffected by DLAB. */
	CHECK_EQ(rd(f, LCR), LCR_DLAB | 0x03);
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT);
	/* With DLAB set, data waiting is not consumed by reading offset 0. */
	CHECK_EQ(uart_rx_push(f->u, (const uint8_t *)"Q", 1), 1);
	CHECK_EQ(rd(f, DLL), 0x01);
	wr(f, LCR, 0x03);
	CHECK_EQ(rd(f, IER), 0x05);
	CHECK_EQ(rd(f, RBR), 'Q');
	wr(f, THR, 'T');
	CHECK_EQ(host_out(f, out, sizeof(out)), 1);
	CHECK_EQ(out[0], 'T');
	wr(f, LCR, LCR_DLAB);
	CHECK_EQ(rd(f, DLL), 0x01);
	CHECK_EQ(rd(f, DLM), 0x7e);
	fx_free(f);
}

TEST(loopback)
{
	static const struct {
		uint8_t mcr, msr;
	} wires[] = {
		{ MCR_LOOP, 0 },
		{ MCR_LOOP | MCR_DTR, MSR_DSR },
		{ MCR_LOOP | MCR_RTS, MSR_CTS },
		{ MCR_LOOP | MCR_OUT1, MSR_RI },
		{ MCR_LOOP | MCR_OUT2, MSR_DCD },
		{ MCR_LOOP | 0x0f, MSR_DSR | MSR_CTS | MSR_RI | MSR_DCD },
		/* Out of loopback a terminal is always there. */
		{ 0, MSR_DCD | MSR_DSR | MSR_CTS },
		{ MCR_DTR | MCR_RTS | MCR_OUT2, MSR_DCD | MSR_DSR | MSR_CTS },
	};
	struct fx *f = fx_new();
	uint8_t out[8];

	for (size_t i = 0; i < sizeof(wires) / sizeof(wires[0]); i++) {
		uint8_t msr;

		wr(f, MCR, wires[i].mcr);
		msr = rd(f, MSR);
		if (msr != wires[i].msr)
			fprintf(stderr, "  MCR 0x%02x\n", wires[i].mcr);
		CHECK_EQ(msr, wires[i].msr);
	}

	/* THR goes to the receiver, not to the host. */
	wr(f, MCR, MCR_LOOP);
	wr(f, THR, 0xa5);
	wr(f, THR, 0x00);
	CHECK_EQ(host_out(f, out, sizeof(out)), 0);
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT | LSR_DR);
	CHECK_EQ(rd(f, RBR), 0xa5);
	CHECK_EQ(rd(f, RBR), 0x00);
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT);
	CHECK_EQ(f->u->tx_bytes, 2);
	/* Leaving loopback sends to the host again. */
	wr(f, MCR, 0);
	wr(f, THR, 'o');
	CHECK_EQ(host_out(f, out, sizeof(out)), 1);
	CHECK_EQ(rd(f, LSR) & LSR_DR, 0);
	fx_free(f);
}

TEST(scratch_and_masks)
{
	struct fx *f = fx_new();

	for (unsigned v = 0; v < 256; v += 51) {
		wr(f, SCR, (uint8_t)v);
		CHECK_EQ(rd(f, SCR), v);
	}
	/* IER has four bits, MCR five; LCR takes all eight. */
	wr(f, IER, 0xff);
	CHECK_EQ(rd(f, IER), 0x0f);
	wr(f, IER, 0);
	wr(f, MCR, 0xff);
	CHECK_EQ(rd(f, MCR), 0x1f);
	wr(f, MCR, 0);
	wr(f, LCR, 0x7f);
	CHECK_EQ(rd(f, LCR), 0x7f);
	fx_free(f);
}

TEST(read_only_registers)
{
	struct fx *f = fx_new();

	wr(f, LSR, 0x00);
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT);
	wr(f, LSR, 0x9f); /* DR and every error bit: none may stick */
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT);
	wr(f, MSR, 0x00);
	CHECK_EQ(rd(f, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
	wr(f, MSR, 0x0f);
	CHECK_EQ(rd(f, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
	/* IIR's write side is FCR: writing it never changes the interrupt id. */
	wr(f, IIR, 0x00);
	CHECK_EQ(rd(f, IIR), IIR_NONE);
	CHECK_EQ(f->irq.n, 0);
	CHECK_EQ(f->u->tx_bytes, 0);
	fx_free(f);
}

TEST(wide_access)
{
	struct fx *f = fx_new();
	uint8_t buf[4], out[4];

	/* A 2-byte read at 0 reads RBR then IER. */
	wr(f, IER, 0x05);
	CHECK_EQ(uart_rx_push(f->u, (const uint8_t *)"AB", 2), 2);
	CHECK_EQ(bus_access(&f->bus, UART_COM1_BASE, buf, 2, 0), 0);
	CHECK_EQ(buf[0], 'A');
	CHECK_EQ(buf[1], 0x05);
	CHECK_EQ(uart_rx_room(f->u), UART_RX_FIFO - 1);

	/* A 2-byte write at 3 writes LCR then MCR. */
	buf[0] = 0x1b;
	buf[1] = MCR_DTR | MCR_RTS;
	CHECK_EQ(bus_access(&f->bus, UART_COM1_BASE + LCR, buf, 2, 1), 0);
	CHECK_EQ(rd(f, LCR), 0x1b);
	CHECK_EQ(rd(f, MCR), MCR_DTR | MCR_RTS);

	/* A 2-byte write at 0 sends a byte and sets IER. */
	buf[0] = 'W';
	buf[1] = 0;
	CHECK_EQ(bus_access(&f->bus, UART_COM1_BASE, buf, 2, 1), 0);
	CHECK_EQ(host_out(f, out, sizeof(out)), 1);
	CHECK_EQ(out[0], 'W');
	CHECK_EQ(rd(f, IER), 0);

	/* A 2-byte read at 6: MSR and SCR. */
	wr(f, SCR, 0x99);
	CHECK_EQ(bus_access(&f->bus, UART_COM1_BASE + MSR, buf, 2, 0), 0);
	CHECK_EQ(buf[0], MSR_DCD | MSR_DSR | MSR_CTS);
	CHECK_EQ(buf[1], 0x99);

	/* Past the eight ports the bus refuses; the handler itself reads 0xff there. */
	CHECK_EQ(bus_access(&f->bus, UART_COM1_BASE + SCR, buf, 2, 0), -ENOENT);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(uart_ops.read(f->u, SCR, buf, 4), 0);
	CHECK_EQ(buf[0], 0x99);
	CHECK_EQ(buf[1], 0xff);
	CHECK_EQ(buf[3], 0xff);
	buf[0] = 0x11;
	buf[1] = 0x22;
	CHECK_EQ(uart_ops.write(f->u, SCR, buf, 4), 0); /* extra bytes dropped */
	CHECK_EQ(rd(f, SCR), 0x11);
	fx_free(f);
}

/* Two ports in one process do not share state. */
TEST(two_ports)
{
	struct fx *a = fx_new(), *b = fx_new();
	uint8_t out[4];

	wr(a, SCR, 1);
	wr(b, SCR, 2);
	CHECK_EQ(rd(a, SCR), 1);
	CHECK_EQ(rd(b, SCR), 2);
	CHECK_EQ(uart_rx_push(a->u, (const uint8_t *)"a", 1), 1);
	CHECK_EQ(rd(b, LSR) & LSR_DR, 0);
	wr(b, THR, 'b');
	CHECK_EQ(host_out(a, out, sizeof(out)), 0);
	CHECK_EQ(host_out(b, out, sizeof(out)), 1);
	fx_free(a);
	fx_free(b);
}

TEST(ops_and_new)
{
	struct irq_line line = { 0 };
	struct uart *u = NULL;
	uint8_t v = 0;

	CHECK(dev_ops_complete(&uart_ops));
	CHECK(strcmp(uart_ops.kind, "uart16550") == 0);
	CHECK_EQ(uart_new(&line, -1, -1, NULL), -EINVAL);
	/* No line at all (NULL irq): interrupts go nowhere, registers still work. */
	CHECK_EQ(uart_new(NULL, -1, -1, &u), 0);
	CHECK(u != NULL);
	v = MCR_OUT2;
	CHECK_EQ(uart_ops.write(u, MCR, &v, 1), 0);
	v = IER_THRI;
	CHECK_EQ(uart_ops.write(u, IER, &v, 1), 0);
	CHECK_EQ(u->irq_level, 1);
	CHECK_EQ(uart_ops.read(u, IIR, &v, 1), 0);
	CHECK_EQ(v, IIR_THRI);
	uart_ops.destroy(u);
	uart_ops.destroy(NULL); /* harmless, like free(NULL) */
}

TEST(reset_to_power_on)
{
	uint8_t in[UART_RX_FIFO], out[8];
	struct fx *f = fx_new();
	unsigned edges;

	memset(in, 'r', sizeof(in));
	wr(f, MCR, MCR_OUT2 | MCR_DTR);
	wr(f, IER, IER_RDI | IER_THRI);
	wr(f, FCR, 0x01);
	wr(f, SCR, 0x42);
	wr(f, THR, 'x');
	CHECK_EQ(host_out(f, out, sizeof(out)), 1);
	wr(f, LCR, LCR_DLAB | 0x1b);
	wr(f, DLL, 0x01);
	wr(f, DLM, 0x02);
	CHECK_EQ(uart_rx_push(f->u, in, sizeof(in)), sizeof(in));
	CHECK_EQ(irq_level(f), 1);
	edges = f->irq.n;
	CHECK_EQ(efd_count(f), 0);

	uart_ops.reset(f->u);
	/* The line drops with one edge; the emptied FIFO wakes the console once. */
	CHECK_EQ(f->irq.n, edges + 1);
	CHECK_EQ(irq_level(f), 0);
	CHECK_EQ(efd_count(f), 1);
	/* Exactly what uart_new leaves (see power_on). */
	CHECK_EQ(rd(f, LSR), LSR_THRE | LSR_TEMT);
	CHECK_EQ(rd(f, IER), 0);
	CHECK_EQ(rd(f, IIR), IIR_NONE);
	CHECK_EQ(rd(f, LCR), 0x03);
	CHECK_EQ(rd(f, MCR), 0);
	CHECK_EQ(rd(f, SCR), 0);
	CHECK_EQ(rd(f, RBR), 0);
	CHECK_EQ(uart_rx_room(f->u), UART_RX_FIFO);
	wr(f, LCR, LCR_DLAB);
	CHECK_EQ(rd(f, DLL), 0x0c);
	CHECK_EQ(rd(f, DLM), 0);
	wr(f, LCR, 0x03);
	/* Host counters are statistics, not state: reset keeps them. */
	CHECK_EQ(f->u->tx_bytes, 1);
	CHECK_EQ(f->u->rx_bytes, UART_RX_FIFO);
	/* A second reset changes nothing: no edge, no wakeup. */
	edges = f->irq.n;
	uart_ops.reset(f->u);
	CHECK_EQ(f->irq.n, edges);
	CHECK_EQ(efd_count(f), 0);
	/* And the port works afterwards. */
	wr(f, THR, 'y');
	CHECK_EQ(host_out(f, out, sizeof(out)), 1);
	CHECK_EQ(out[0], 'y');
	fx_free(f);
}

TEST(stats)
{
	struct dev_stat st[4];
	struct fx *f = fx_new();

	wr(f, THR, 'a');
	wr(f, THR, 'b');
	CHECK_EQ(uart_rx_push(f->u, (const uint8_t *)"xyz", 3), 3);
	memset(st, 0, sizeof(st));
	CHECK_EQ(uart_ops.stats(f->u, st, 4), 2);
	CHECK(st[0].key && strcmp(st[0].key, "tx_bytes") == 0);
	CHECK_EQ(st[0].value, 2);
	CHECK(st[1].key && strcmp(st[1].key, "rx_bytes") == 0);
	CHECK_EQ(st[1].value, 3);
	CHECK(st[2].key == NULL);
	/* Room for one: only the first. */
	memset(st, 0, sizeof(st));
	CHECK_EQ(uart_ops.stats(f->u, st, 1), 1);
	CHECK_EQ(st[0].value, 2);
	CHECK(st[1].key == NULL);
	CHECK_EQ(uart_ops.stats(f->u, st, 0), 0);
	fx_free(f);
}

TEST_MAIN(T(power_on), T(lsr_thre_always), T(thr_to_out_fd), T(thr_with_closed_output),
	  T(thri_gated_by_out2), T(thri_enable_raises_at_once), T(levels_only_on_change),
	  T(rx_data_and_iir), T(iir_priority), T(rx_fifo_full), T(fcr_clear_rx),
	  T(fcr_clear_full_fifo_signals_room), T(dlab), T(loopback), T(scratch_and_masks),
	  T(read_only_registers), T(wide_access), T(two_ports), T(ops_and_new),
	  T(reset_to_power_on), T(stats))
