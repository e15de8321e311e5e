/*
 * fuzz_uart.c: libFuzzer harness for the NS16550A model
 * (src/devices/uart16550.c), driven the way a guest drives it: port I/O
 * through a PIO bus at COM1, interleaved with host input (uart_rx_push).
 *
 * Owns: one uart per run on a bus, an irq_line recorder, an eventfd for
 * rx_space_fd (created once) and a reference model of the register file
 * written from the PC16550D datasheet and the simplifications uart16550.c
 * documents (transmission is instantaneous; a 64-byte receive FIFO; no
 * modem-status sources outside loopback). Output goes to /dev/null.
 * Does not own the console thread (vm.c); uart_rx_push stands in for it.
 * Threads: libFuzzer's one; the device mutex is taken but never contended.
 *
 * Input: a sequence of ops, one opcode byte each (kind in bits 7-6):
 *   0 read   bits 5-4 width (1, 2, 4, 1 bytes), bits 3-0 port COM1-2+n
 *   1 write  same, then width value bytes
 *   2 push   uart_rx_push of (bits 5-0) + 1 bytes that follow
 *   3 misc   bits 1-0: 0 check uart_rx_room, 1 read the 8 registers in
 *            order, 2 push ((bits 5-2) + 1) * 8 filler bytes, 3 re-init
 *
 * Checked after every op: each read returns what the model says (RBR gives
 * the oldest received byte, IIR the highest-priority source, LSR always has
 * THRE and TEMT, DR iff data); the FIFO never holds more than UART_RX_FIFO
 * bytes; the line is driven only on a change of level and always equals
 * "some enabled source pending and MCR.OUT2"; uart_rx_push takes what fits;
 * rx_space_fd is signalled exactly when the free room grows from below
 * UART_RX_WAKE_ROOM to at least that (uart16550.h: the console thread
 * waits for that before reading again).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus.h"
#include "devices/uart16550.h"
#include "fuzz.h"
#include "irq.h"

/* PC16550D registers (offsets) and bits. */
enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define IER_RDI   0x01
#define IER_THRI  0x02
#define IER_RLSI  0x04
#define IER_MSI   0x08
#define IIR_NONE  0x01
#define IIR_MSI   0x00
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_RLSI  0x06
#define IIR_FIFO  0xc0
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_TRIGGER  0xc0
#define LCR_DLAB  0x80
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

#define GSI 4 /* UART_COM1_IRQ */

struct model {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, lsr_err;
	bool thr_pending;
	uint8_t fifo[UART_RX_FIFO];
	unsigned head, count;
	uint64_t tx;
	unsigned space_signals; /* rx_space_fd writes owed since the last check */
};

struct irq_rec {
	int level;
	uint64_t edges;
};

struct fz {
	struct uart u;
	struct bus bus;
	struct irq_rec irq;
	struct model md;
	int null_fd, space_fd;
};

/* libFuzzer harnesses keep their state here: one process, one input at a time. */
static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int irq_rec_set(void *ctx, unsigned gsi, int level)
{
	struct irq_rec *r = ctx;

	FUZZ_CHECK_EQ(gsi, GSI);
	FUZZ_CHECK(level == 0 || level == 1);
	FUZZ_CHECK(level != r->level); /* edges only: a level is never driven twice */
	r->level = level;
	r->edges++;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz.null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fz.space_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	FUZZ_SETUP(fz.null_fd >= 0 && fz.space_fd >= 0);
	return 0;
}

/* ---- the reference model ------------------------------------------------ */

static void model_reset(struct model *md)
{
	memset(md, 0, sizeof(*md));
	md->lcr = 0x03; /* uart_init: 8N1 */
	md->dll = 0x0c; /* uart_init: 9600 baud */
}

/* Bytes into the receive FIFO; how many fit. Overrun in loopback sets OE. */
static size_t model_push(struct model *md, const uint8_t *b, size_t len)
{
	size_t n = 0;

	while (n < len && md->count < UART_RX_FIFO) {
		md->fifo[(md->head + md->count) % UART_RX_FIFO] = b[n++];
		md->count++;
	}
	if (n < len && (md->mcr & MCR_LOOP))
		md->lsr_err |= LSR_OE;
	return n;
}

static void model_fifo_drop(struct model *md, unsigned n)
{
	if (UART_RX_FIFO - md->count < UART_RX_WAKE_ROOM &&
	    UART_RX_FIFO - (md->count - n) >= UART_RX_WAKE_ROOM)
		md->space_signals++;
	md->head = (md->head + n) % UART_RX_FIFO;
	md->count -= n;
}

/* Datasheet IIR priority: line status, data, THR empty, modem status. */
static uint8_t model_iir_id(const struct model *md)
{
	if ((md->ier & IER_RLSI) && md->lsr_err)
		return IIR_RLSI;
	if ((md->ier & IER_RDI) && md->count)
		return IIR_RDI;
	if ((md->ier & IER_THRI) && md->thr_pending)
		return IIR_THRI;
	return IIR_NONE; /* no modem-status source: MSR deltas never happen here */
}

static int model_level(const struct model *md)
{
	return model_iir_id(md) != IIR_NONE && (md->mcr & MCR_OUT2);
}

static uint8_t model_read(struct model *md, unsigned reg)
{
	uint8_t v, id;

	switch (reg) {
	case RBR:
		if (md->lcr & LCR_DLAB)
			return md->dll;
		if (!md->count)
			return 0;
		v = md->fifo[md->head];
		model_fifo_drop(md, 1);
		return v;
	case IER:
		return (md->lcr & LCR_DLAB) ? md->dlm : md->ier;
	case IIR:
		id = model_iir_id(md);
		if (id == IIR_THRI)
			md->thr_pending = false;
		return id | ((md->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case LCR:
		return md->lcr;
	case MCR:
		return md->mcr;
	case LSR:
		v = LSR_THRE | LSR_TEMT | md->lsr_err | (md->count ? LSR_DR : 0);
		md->lsr_err = 0;
		return v;
	case MSR:
		if (md->mcr & MCR_LOOP)
			return ((md->mcr & MCR_DTR) ? MSR_DSR : 0) | ((md->mcr & MCR_RTS) ? MSR_CTS : 0) |
			       ((md->mcr & MCR_OUT1) ? MSR_RI : 0) | ((md->mcr & MCR_OUT2) ? MSR_DCD : 0);
		return MSR_DCD | MSR_DSR | MSR_CTS;
	default:
		return md->scr;
	}
}

static void model_write(struct model *md, unsigned reg, uint8_t v)
{
	switch (reg) {
	case RBR:
		if (md->lcr & LCR_DLAB) {
			md->dll = v;
			break;
		}
		md->tx++;
		if (md->mcr & MCR_LOOP)
			model_push(md, &v, 1);
		md->thr_pending = true; /* sent at once: THR empty again */
		break;
	case IER:
		if (md->lcr & LCR_DLAB) {
			md->dlm = v;
			break;
		}
		if (!(md->ier & IER_THRI) && (v & IER_THRI))
			md->thr_pending = true;
		md->ier = v & 0x0f; /* bits 7-4 are always 0 */
		break;
	case IIR: /* FCR */
		md->fcr = v & (FCR_ENABLE | FCR_TRIGGER);
		if (v & FCR_CLEAR_RX)
			model_fifo_drop(md, md->count);
		break;
	case LCR:
		md->lcr = v;
		break;
	case MCR:
		md->mcr = v & 0x1f; /* bits 7-5 are always 0 */
		break;
	case LSR:
	case MSR:
		break; /* read-only */
	default:
		md->scr = v;
		break;
	}
}

/* ---- driving the device ------------------------------------------------- */

static void dev_init(void)
{
	struct irq_line line = { irq_rec_set, &fz.irq, GSI };

	fz.irq = (struct irq_rec){ 0, 0 };
	FUZZ_SETUP(uart_init(&fz.u, &line, fz.null_fd, fz.space_fd) == 0);
	bus_init(&fz.bus, "pio");
	FUZZ_SETUP(bus_map(&fz.bus, UART_COM1_BASE, UART_NR_PORTS, &uart_ops, &fz.u, "serial0") == 0);
	model_reset(&fz.md);
}

/* One port access of width bytes at addr; the bus decides if COM1 sees it. */
static void dev_access(uint64_t addr, unsigned width, bool write, const uint8_t *val)
{
	uint8_t data[4], want[4];
	bool hit = addr >= UART_COM1_BASE && addr + width <= UART_COM1_BASE + UART_NR_PORTS;
	int ret;

	memset(data, 0x5a, sizeof(data));
	if (write)
		memcpy(data, val, width);
	ret = bus_access(&fz.bus, addr, data, width, write);
	FUZZ_CHECK_EQ(ret, hit ? 0 : -ENOENT);
	if (!hit)
		return;
	/* A wide access touches consecutive registers, lowest first. */
	for (unsigned i = 0; i < width; i++) {
		unsigned reg = (unsigned)(addr - UART_COM1_BASE) + i;

		if (write)
			model_write(&fz.md, reg, val[i]);
		else
			want[i] = model_read(&fz.md, reg);
	}
	if (write)
		return;
	for (unsigned i = 0; i < width; i++) {
		unsigned reg = (unsigned)(addr - UART_COM1_BASE) + i;

		if (reg == LSR)
			FUZZ_CHECK((data[i] & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT));
		if (data[i] != want[i])
			fuzz_fail(__FILE__, __LINE__, "read of port %#x gave %#x, model says %#x",
				  (unsigned)(addr + i), data[i], want[i]);
	}
}

static void dev_push(const uint8_t *b, size_t len)
{
	size_t want = model_push(&fz.md, b, len);

	FUZZ_CHECK_EQ(uart_rx_push(&fz.u, b, len), want);
}

/* Device and model agree; the line is where the pending state puts it. */
static void check_state(void)
{
	const struct uart *u = &fz.u;
	uint64_t signals = 0;

	FUZZ_CHECK(u->rx_count <= UART_RX_FIFO && u->rx_head < UART_RX_FIFO);
	FUZZ_CHECK_EQ(u->rx_count, fz.md.count);
	FUZZ_CHECK_EQ(u->tx_bytes, fz.md.tx);
	FUZZ_CHECK_EQ(u->irq_level, fz.irq.level);
	FUZZ_CHECK_EQ(fz.irq.level, model_level(&fz.md));
	/* One read per op is a syscall; only look when a signal was owed or
	 * the room is short (a stray one then shows at the end of the run). */
	if (fz.md.space_signals || UART_RX_FIFO - fz.md.count < UART_RX_WAKE_ROOM) {
		if (read(fz.space_fd, &signals, sizeof(signals)) != sizeof(signals))
			signals = 0;
		FUZZ_CHECK_EQ(signals, fz.md.space_signals);
		fz.md.space_signals = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t filler[UART_RX_FIFO * 2];
	uint64_t stray = 0;

	dev_init();
	while (in.left) {
		uint8_t op = fuzz_u8(&in), val[4];
		unsigned width = 1u << ((op >> 4) & 3);
		uint64_t addr = UART_COM1_BASE - 2 + (op & 15);
		size_t n;

		if (width == 8)
			width = 1;
		switch (op >> 6) {
		case 0:
			dev_access(addr, width, false, NULL);
			break;
		case 1:
			for (unsigned i = 0; i < width; i++)
				val[i] = fuzz_u8(&in);
			dev_access(addr, width, true, val);
			break;
		case 2:
			n = (op & 0x3f) + 1u;
			if (n > in.left)
				n = in.left;
			dev_push(in.p, n);
			in.p += n;
			in.left -= n;
			break;
		default:
			switch (op & 3) {
			case 0:
				FUZZ_CHECK_EQ(uart_rx_room(&fz.u), UART_RX_FIFO - fz.md.count);
				break;
			case 1:
				for (unsigned r = 0; r < UART_NR_PORTS; r++)
					dev_access(UART_COM1_BASE + r, 1, false, NULL);
				break;
			case 2:
				n = (((op >> 2) & 15) + 1u) * 8;
				for (size_t i = 0; i < n; i++)
					filler[i] = (uint8_t)('A' + i % 26);
				dev_push(filler, n);
				break;
			default:
				/* A new device on a new line. */
				uart_destroy(&fz.u);
				dev_init();
				break;
			}
		}
		check_state();
	}
	if (read(fz.space_fd, &stray, sizeof(stray)) != sizeof(stray))
		stray = 0;
	FUZZ_CHECK_EQ(stray, fz.md.space_signals);
	uart_destroy(&fz.u);
	return 0;
}
