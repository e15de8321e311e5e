/*
 * fuzz_uart.c: libFuzzer harness for the NS16550A model
 * (src/devices/uart16550.c), driven the way a guest drives it: port I/O
 * through a PIO bus at COM1, interleaved with host input (uart_rx_push),
 * and its saved state (uart_ops.save/load), which must survive hostile
 * bytes the way dev.h demands.
 *
 * Owns: one uart per run (uart_new, freed by uart_ops.destroy) on a bus,
 * an irq_line recorder, an eventfd for rx_space_fd (created once) and a
 * reference model of the register file written from the PC16550D datasheet
 * and the simplifications uart16550.c documents (transmission is
 * instantaneous; a 64-byte receive FIFO; modem-status deltas only arrive
 * by load), with its own decoder of the saved-state format in
 * uart16550.h. Output goes to /dev/null.
 * Does not own the console thread (vm.c); uart_rx_push stands in for it.
 * Threads: libFuzzer's one; the device mutex is taken but never contended.
 *
 * Input: a sequence of ops, one opcode byte each (kind in bits 7-6):
 *   0 read   bits 5-4 width (1, 2, 4, 1 bytes), bits 3-0 port COM1-2+n
 *   1 write  same, then width value bytes
 *   2 push   uart_rx_push of (bits 5-0) + 1 bytes that follow
 *   3 misc   bits 1-0: 0 check uart_rx_room, 1 read the 8 registers in
 *            order, 2 push ((bits 5-2) + 1) * 8 filler bytes, 3 by bits 3-2:
 *            0 or 2 re-init; 1 save, load into a new port, save again;
 *            3 save, then load it back altered by 3 bytes that follow:
 *            pos, xor (state[pos % len] ^= xor), cut (bit 7 set: keep
 *            (cut & 0x7f) % (len + 2) bytes, zero-padded past the end)
 *
 * Checked after every op: each read returns what the model says (RBR gives
 * the oldest received byte, IIR the highest-priority source, LSR always has
 * THRE and TEMT, DR iff data); the FIFO never holds more than UART_RX_FIFO
 * bytes; the line is driven only on a change of level and always equals
 * "some enabled source pending and MCR.OUT2"; uart_rx_push takes what fits;
 * rx_space_fd is signalled exactly when the free room grows from below
 * UART_RX_WAKE_ROOM to at least that (uart16550.h: the console thread
 * waits for that before reading again), by a read, an FCR clear, a load or
 * the reset after a refused one. Snapshots: a save loaded into a new port
 * saves back byte-identical and drives the line the state implies; an
 * altered one is accepted exactly when the model's decoder finds every
 * field in range and the length exact, and then the port behaves as the
 * decoded state; refused, the port is at power-on (host counters kept).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus.h"
#include "dev.h"
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
#define MSR_DELTA 0x0f /* DCTS, DDSR, TERI, DDCD */
#define IER_MASK  0x0f
#define MCR_MASK  0x1f

/* uart16550.h: the saved state, all u8 fields then the ring. */
enum { ST_IER, ST_LCR, ST_MCR, ST_FCR, ST_LSR_ERR, ST_MSR_DELTA, ST_SCR, ST_DLL, ST_DLM,
       ST_THR_PENDING, ST_RX_HEAD, ST_RX_COUNT, ST_RX };
#define ST_LEN (ST_RX + UART_RX_FIFO)

#define GSI 4 /* UART_COM1_IRQ */

struct model {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, lsr_err, msr_delta;
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
	struct uart *u;
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
	FUZZ_CHECK(dev_ops_complete(&uart_ops));
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

/* The FIFO went from old to new bytes: a wakeup is owed if the room crossed up. */
static void model_room_change(struct model *md, unsigned old, unsigned now)
{
	if (UART_RX_FIFO - old < UART_RX_WAKE_ROOM && UART_RX_FIFO - now >= UART_RX_WAKE_ROOM)
		md->space_signals++;
}

static void model_fifo_drop(struct model *md, unsigned n)
{
	model_room_change(md, md->count, md->count - n);
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
	if ((md->ier & IER_MSI) && md->msr_delta)
		return IIR_MSI; /* deltas only come from a loaded state */
	return IIR_NONE;
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
		v = md->msr_delta; /* read clears the deltas */
		md->msr_delta = 0;
		if (md->mcr & MCR_LOOP)
			return v | ((md->mcr & MCR_DTR) ? MSR_DSR : 0) | ((md->mcr & MCR_RTS) ? MSR_CTS : 0) |
			       ((md->mcr & MCR_OUT1) ? MSR_RI : 0) | ((md->mcr & MCR_OUT2) ? MSR_DCD : 0);
		return v | MSR_DCD | MSR_DSR | MSR_CTS;
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
		md->ier = v & IER_MASK; /* bits 7-4 are always 0 */
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
		md->mcr = v & MCR_MASK; /* bits 7-5 are always 0 */
		break;
	case LSR:
	case MSR:
		break; /* read-only */
	default:
		md->scr = v;
		break;
	}
}

/*
 * The model's own reading of a saved state (uart16550.h): 1 and *md set
 * when load must accept st[0..len), 0 when it must refuse it.
 */
static int model_decode(struct model *md, const uint8_t *st, size_t len)
{
	if (len != ST_LEN)
		return 0;
	if ((st[ST_IER] & ~IER_MASK) || (st[ST_MCR] & ~MCR_MASK) ||
	    (st[ST_FCR] & ~(FCR_ENABLE | FCR_TRIGGER)) || (st[ST_LSR_ERR] & ~LSR_OE) ||
	    (st[ST_MSR_DELTA] & ~MSR_DELTA) || st[ST_THR_PENDING] > 1 ||
	    st[ST_RX_HEAD] >= UART_RX_FIFO || st[ST_RX_COUNT] > UART_RX_FIFO)
		return 0;
	md->ier = st[ST_IER];
	md->lcr = st[ST_LCR];
	md->mcr = st[ST_MCR];
	md->fcr = st[ST_FCR];
	md->lsr_err = st[ST_LSR_ERR];
	md->msr_delta = st[ST_MSR_DELTA];
	md->scr = st[ST_SCR];
	md->dll = st[ST_DLL];
	md->dlm = st[ST_DLM];
	md->thr_pending = st[ST_THR_PENDING];
	md->head = st[ST_RX_HEAD];
	md->count = st[ST_RX_COUNT];
	memcpy(md->fifo, st + ST_RX, UART_RX_FIFO);
	return 1;
}

/* ---- driving the device ------------------------------------------------- */

static void dev_init(void)
{
	struct irq_line line = { irq_rec_set, &fz.irq, GSI };

	fz.irq = (struct irq_rec){ 0, 0 };
	FUZZ_SETUP(uart_new(&line, fz.null_fd, fz.space_fd, &fz.u) == 0);
	bus_init(&fz.bus, "pio");
	FUZZ_SETUP(bus_map(&fz.bus, UART_COM1_BASE, UART_NR_PORTS, &uart_ops, fz.u, "serial0") == 0);
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

	FUZZ_CHECK_EQ(uart_rx_push(fz.u, b, len), want);
}

/* The port's state; a save of a live port never fails. */
static void dev_save(struct snap_out *o)
{
	snap_out_init(o);
	FUZZ_CHECK_EQ(uart_ops.save(fz.u, o), 0);
	FUZZ_CHECK_EQ(snap_out_error(o), 0);
	FUZZ_CHECK_EQ(o->len, ST_LEN);
}

/* Save, load into a new port on a new line, save again: the same bytes. */
static void dev_round_trip(void)
{
	struct snap_out a, b;
	struct snap_in in;
	struct model md = fz.md;

	dev_save(&a);
	uart_ops.destroy(fz.u);
	dev_init(); /* model and line back to power-on ... */
	snap_in_init(&in, a.buf, a.len);
	FUZZ_CHECK_EQ(uart_ops.load(fz.u, &in), 0);
	FUZZ_CHECK_EQ(snap_in_end(&in), 0);
	md.tx = 0; /* ... counters are the new instance's own */
	md.space_signals = fz.md.space_signals; /* an empty port filling wakes nobody */
	fz.md = md;
	dev_save(&b);
	FUZZ_CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
	snap_out_free(&a);
	snap_out_free(&b);
}

/* Load the port's own state altered by the input; accepted iff the model decodes it. */
static void dev_load_altered(struct fuzz_in *fin)
{
	uint8_t pos = fuzz_u8(fin), x = fuzz_u8(fin), cut = fuzz_u8(fin);
	uint8_t st[ST_LEN + 1] = { 0 };
	struct model md = fz.md;
	struct snap_out o;
	struct snap_in in;
	size_t len = ST_LEN;
	int ok, ret;

	dev_save(&o);
	memcpy(st, o.buf, ST_LEN);
	snap_out_free(&o);
	st[pos % ST_LEN] ^= x;
	if (cut & 0x80)
		len = (cut & 0x7fu) % (ST_LEN + 2);
	ok = model_decode(&md, st, len);
	snap_in_init(&in, st, len);
	ret = uart_ops.load(fz.u, &in);
	FUZZ_CHECK_EQ(ret, ok ? 0 : -EINVAL);
	if (!ok) {
		md = fz.md;
		model_reset(&md); /* refused: power-on, but the host counters stay */
		md.tx = fz.md.tx;
		md.space_signals = fz.md.space_signals;
	}
	model_room_change(&md, fz.md.count, md.count);
	fz.md = md;
}

/* Device and model agree; the line is where the pending state puts it. */
static void check_state(void)
{
	const struct uart *u = fz.u;
	uint64_t signals = 0;

	FUZZ_CHECK(u->s.rx_count <= UART_RX_FIFO && u->s.rx_head < UART_RX_FIFO);
	FUZZ_CHECK_EQ(u->s.rx_count, fz.md.count);
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
				FUZZ_CHECK_EQ(uart_rx_room(fz.u), UART_RX_FIFO - fz.md.count);
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
				if ((op & 0x0c) == 0x04) {
					dev_round_trip();
				} else if ((op & 0x0c) == 0x0c) {
					dev_load_altered(&in);
				} else {
					/* A new device on a new line. */
					uart_ops.destroy(fz.u);
					dev_init();
				}
				break;
			}
		}
		check_state();
	}
	if (read(fz.space_fd, &stray, sizeof(stray)) != sizeof(stray))
		stray = 0;
	FUZZ_CHECK_EQ(stray, fz.md.space_signals);
	uart_ops.destroy(fz.u);
	return 0;
}
