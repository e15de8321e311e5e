/*
 * uart16550.c: NS16550A register model and its saved state (see uart16550.h).
 *
 * Register offsets and bits follow the National/TI PC16550D datasheet:
 *   0 RBR/THR (DLL when LCR.DLAB)   1 IER (DLM when LCR.DLAB)
 *   2 IIR (read) / FCR (write)      3 LCR   4 MCR   5 LSR   6 MSR   7 SCR
 * Transmission is instantaneous: THR is always empty, so LSR.THRE/TEMT are
 * always set and a THR-empty interrupt is latched after each write.
 *
 * Owns the port's state and its line; threads as in uart16550.h (every
 * entry point takes the port's mutex, a leaf lock).
 */
#include "uart16550.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../log.h"

#define UART_IER_RDI  0x01 /* received data available */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI  0x08 /* modem status */
#define UART_IER_MASK 0x0f /* bits 7-4 always read 0 */

#define UART_IIR_NONE 0x01
#define UART_IIR_MSI  0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI  0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_FIFO 0xc0 /* both bits set when FCR.0 enabled the FIFOs */

#define UART_FCR_ENABLE   0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_TRIGGER  0xc0 /* RCVR trigger level (bits 7-6): stored, not acted on */

#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1  0x03 /* 8 data bits, no parity, 1 stop bit */
#define UART_DLL_9600 0x0c /* 1.8432 MHz / 16 / 12 = 9600 baud */

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* gates the interrupt line on PC boards */
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f /* bits 7-5 always read 0 */

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MSR_DELTA 0x0f /* DCTS, DDSR, TERI, DDCD */
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

enum { REG_RBR, REG_IER, REG_IIR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

/* Which interrupt the IIR reports now, by datasheet priority. Lock held. */
static uint8_t uart_iir_id(const struct uart *u)
{
	if ((u->s.ier & UART_IER_RLSI) && u->s.lsr_err)
		return UART_IIR_RLSI;
	if ((u->s.ier & UART_IER_RDI) && u->s.rx_count)
		return UART_IIR_RDI;
	if ((u->s.ier & UART_IER_THRI) && u->s.thr_irq_pending)
		return UART_IIR_THRI;
	if ((u->s.ier & UART_IER_MSI) && u->s.msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NONE;
}

/* Drive the line to match the pending state; edges only on change. Lock held. */
static void uart_update_irq(struct uart *u)
{
	int level = uart_iir_id(u) != UART_IIR_NONE && (u->s.mcr & UART_MCR_OUT2);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static uint8_t uart_msr(const struct uart *u)
{
	uint8_t msr = u->s.msr_delta;

	if (u->s.mcr & UART_MCR_LOOP) {
		/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
		if (u->s.mcr & UART_MCR_DTR)
			msr |= UART_MSR_DSR;
		if (u->s.mcr & UART_MCR_RTS)
			msr |= UART_MSR_CTS;
		if (u->s.mcr & UART_MCR_OUT1)
			msr |= UART_MSR_RI;
		if (u->s.mcr & UART_MCR_OUT2)
			msr |= UART_MSR_DCD;
		return msr;
	}
	/* A terminal is always attached. */
	return msr | UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
}

static size_t uart_rx_push_locked(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len && u->s.rx_count < UART_RX_FIFO) {
		u->s.rx[(u->s.rx_head + u->s.rx_count) % UART_RX_FIFO] = buf[n++];
		u->s.rx_count++;
	}
	if (n < len && (u->s.mcr & UART_MCR_LOOP))
		u->s.lsr_err |= UART_LSR_OE; /* loopback overrun, as hardware would */
	u->rx_bytes += n;
	return n;
}

/*
 * Room in the FIFO grew from old_count: wake the console thread if it just
 * crossed UART_RX_WAKE_ROOM, the least room it reads stdin with. Lock held.
 */
static void uart_rx_space(struct uart *u, unsigned old_count)
{
	uint64_t one = 1;

	if (u->rx_space_fd < 0 || UART_RX_FIFO - old_count >= UART_RX_WAKE_ROOM ||
	    UART_RX_FIFO - u->s.rx_count < UART_RX_WAKE_ROOM)
		return;
	if (write(u->rx_space_fd, &one, sizeof(one)) < 0)
		return; /* eventfd overflow is impossible at one write per crossing */
}

static uint8_t uart_rx_pop_locked(struct uart *u)
{
	unsigned old = u->s.rx_count;
	uint8_t c;

	if (!u->s.rx_count)
		return 0;
	c = u->s.rx[u->s.rx_head];
	u->s.rx_head = (u->s.rx_head + 1) % UART_RX_FIFO;
	u->s.rx_count--;
	uart_rx_space(u, old);
	return c;
}

static void uart_tx(struct uart *u, uint8_t c)
{
	u->tx_bytes++;
	if (u->s.mcr & UART_MCR_LOOP) {
		uart_rx_push_locked(u, &c, 1);
	} else if (u->out_fd >= 0) {
		/* A closed terminal must not stop the guest: the byte is dropped. */
		ssize_t r = write(u->out_fd, &c, 1);

		(void)r;
	}
	u->s.thr_irq_pending = 1;
}

static uint8_t uart_read_reg(struct uart *u, unsigned reg)
{
	uint8_t v = 0, id;

	switch (reg) {
	case REG_RBR:
		if (u->s.lcr & UART_LCR_DLAB)
			return u->s.dll;
		return uart_rx_pop_locked(u);
	case REG_IER:
		return (u->s.lcr & UART_LCR_DLAB) ? u->s.dlm : u->s.ier;
	case REG_IIR:
		id = uart_iir_id(u);
		if (id == UART_IIR_THRI)
			u->s.thr_irq_pending = 0; /* datasheet: reading IIR clears THRE source */
		return id | ((u->s.fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
	case REG_LCR:
		return u->s.lcr;
	case REG_MCR:
		return u->s.mcr;
	case REG_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT | u->s.lsr_err;
		if (u->s.rx_count)
			v |= UART_LSR_DR;
		u->s.lsr_err = 0; /* error bits clear on read */
		return v;
	case REG_MSR:
		v = uart_msr(u);
		u->s.msr_delta = 0;
		return v;
	default:
		return u->s.scr;
	}
}

static void uart_write_reg(struct uart *u, unsigned reg, uint8_t v)
{
	switch (reg) {
	case REG_RBR:
		if (u->s.lcr & UART_LCR_DLAB)
			u->s.dll = v;
		else
			uart_tx(u, v);
		break;
	case REG_IER:
		if (u->s.lcr & UART_LCR_DLAB) {
			u->s.dlm = v;
			break;
		}
		/* Enabling THRI while THR is empty raises it at once (16550 behaviour). */
		if (!(u->s.ier & UART_IER_THRI) && (v & UART_IER_THRI))
			u->s.thr_irq_pending = 1;
		u->s.ier = v & UART_IER_MASK;
		break;
	case REG_IIR: /* FCR */
		u->s.fcr = v & (UART_FCR_ENABLE | UART_FCR_TRIGGER);
		if (v & UART_FCR_CLEAR_RX) {
			unsigned old = u->s.rx_count;

			u->s.rx_head = 0;
			u->s.rx_count = 0;
			uart_rx_space(u, old);
		}
		break;
	case REG_LCR:
		u->s.lcr = v;
		break;
	case REG_MCR:
		u->s.mcr = v & UART_MCR_MASK;
		break;
	case REG_LSR:
	case REG_MSR:
		break; /* read-only */
	default:
		u->s.scr = v;
		break;
	}
}

static int uart_bus_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct uart *u = dev;
	uint8_t *out = data;

	pthread_mutex_lock(&u->lock);
	/* Byte registers; a wider access reads consecutive registers. */
	for (unsigned i = 0; i < len; i++)
		out[i] = off + i < UART_NR_PORTS ? uart_read_reg(u, (unsigned)(off + i)) : 0xff;
	/* (bytes past the eight ports float high, as an unclaimed port does) */
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int uart_bus_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct uart *u = dev;
	const uint8_t *in = data;

	pthread_mutex_lock(&u->lock);
	for (unsigned i = 0; i < len && off + i < UART_NR_PORTS; i++)
		uart_write_reg(u, (unsigned)(off + i), in[i]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* Power-on state of the registers and FIFO (what uart_new leaves). */
static void uart_state_power_on(struct uart_state *s)
{
	memset(s, 0, sizeof(*s));
	/* 8N1 is the guest's job; OUT2 low means no interrupts yet. */
	s->lcr = UART_LCR_8N1;
	s->dll = UART_DLL_9600; /* as a BIOS would leave it */
}

/*
 * Replace the state, then bring the line and the console's wakeup in line
 * with it: the level the new state implies (edge only on change), and
 * rx_space_fd if the room crossed UART_RX_WAKE_ROOM. Lock held.
 */
static void uart_set_state(struct uart *u, const struct uart_state *s)
{
	unsigned old = u->s.rx_count;

	u->s = *s;
	uart_update_irq(u);
	uart_rx_space(u, old);
}

static void uart_reset(void *dev)
{
	struct uart *u = dev;
	struct uart_state s;

	uart_state_power_on(&s);
	pthread_mutex_lock(&u->lock);
	uart_set_state(u, &s);
	pthread_mutex_unlock(&u->lock);
}

_Static_assert(UART_RX_FIFO <= UINT8_MAX, "rx_head and rx_count are saved as u8");

/* Format in uart16550.h; load reads the fields back in this order. */
static int uart_save(void *dev, struct snap_out *out)
{
	struct uart *u = dev;
	const struct uart_state *s = &u->s;

	pthread_mutex_lock(&u->lock);
	snap_put_u8(out, s->ier);
	snap_put_u8(out, s->lcr);
	snap_put_u8(out, s->mcr);
	snap_put_u8(out, s->fcr);
	snap_put_u8(out, s->lsr_err);
	snap_put_u8(out, s->msr_delta);
	snap_put_u8(out, s->scr);
	snap_put_u8(out, s->dll);
	snap_put_u8(out, s->dlm);
	snap_put_u8(out, s->thr_irq_pending);
	snap_put_u8(out, (uint8_t)s->rx_head);
	snap_put_u8(out, (uint8_t)s->rx_count);
	snap_put_bytes(out, s->rx, sizeof(s->rx));
	pthread_mutex_unlock(&u->lock);
	return snap_out_error(out);
}

/* One refused field: log it (once per load) and mark the input bad. */
static int uart_bad(struct snap_in *in, const char *field, unsigned v)
{
	log_warn("uart16550: saved state: %s = %#x is out of range", field, v);
	return snap_in_fail(in);
}

/* Every value a port can reach, nothing else. 0 or -EINVAL (logged). */
static int uart_state_check(const struct uart_state *s, struct snap_in *in)
{
	if (s->ier & ~UART_IER_MASK)
		return uart_bad(in, "ier", s->ier);
	if (s->mcr & ~UART_MCR_MASK)
		return uart_bad(in, "mcr", s->mcr);
	if (s->fcr & ~(UART_FCR_ENABLE | UART_FCR_TRIGGER))
		return uart_bad(in, "fcr", s->fcr);
	if (s->lsr_err & ~UART_LSR_OE) /* the only error this model raises */
		return uart_bad(in, "lsr_err", s->lsr_err);
	if (s->msr_delta & ~UART_MSR_DELTA)
		return uart_bad(in, "msr_delta", s->msr_delta);
	if (s->thr_irq_pending > 1)
		return uart_bad(in, "thr_irq_pending", s->thr_irq_pending);
	if (s->rx_head >= UART_RX_FIFO)
		return uart_bad(in, "rx_head", s->rx_head);
	if (s->rx_count > UART_RX_FIFO)
		return uart_bad(in, "rx_count", s->rx_count);
	return 0;
}

/* Decode and check a section into s. 0 or -EINVAL (logged). */
static int uart_state_get(struct uart_state *s, struct snap_in *in)
{
	s->ier = snap_get_u8(in);
	s->lcr = snap_get_u8(in);
	s->mcr = snap_get_u8(in);
	s->fcr = snap_get_u8(in);
	s->lsr_err = snap_get_u8(in);
	s->msr_delta = snap_get_u8(in);
	s->scr = snap_get_u8(in);
	s->dll = snap_get_u8(in);
	s->dlm = snap_get_u8(in);
	s->thr_irq_pending = snap_get_u8(in);
	s->rx_head = snap_get_u8(in);
	s->rx_count = snap_get_u8(in);
	snap_get_bytes(in, s->rx, sizeof(s->rx));
	if (dev_load_whole(in, "uart16550"))
		return -EINVAL;
	return uart_state_check(s, in) ? -EINVAL : 0;
}

/* All or nothing: a refused section leaves the port reset. */
static int uart_load(void *dev, struct snap_in *in)
{
	struct uart *u = dev;
	struct uart_state s;

	if (uart_state_get(&s, in)) {
		uart_reset(u);
		return -EINVAL;
	}
	pthread_mutex_lock(&u->lock);
	uart_set_state(u, &s);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static unsigned uart_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct uart *u = dev;
	struct dev_stat st[2];
	unsigned n = max < 2 ? max : 2;

	pthread_mutex_lock(&u->lock);
	st[0] = (struct dev_stat){ "tx_bytes", u->tx_bytes };
	st[1] = (struct dev_stat){ "rx_bytes", u->rx_bytes };
	pthread_mutex_unlock(&u->lock);
	memcpy(out, st, n * sizeof(st[0]));
	return n;
}

static void uart_destroy(void *dev)
{
	struct uart *u = dev;

	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}

const struct dev_ops uart_ops = {
	.kind = "uart16550",
	.read = uart_bus_read,
	.write = uart_bus_write,
	.reset = uart_reset,
	.save = uart_save,
	.load = uart_load,
	.stats = uart_stats,
	.destroy = uart_destroy,
};

int uart_new(const struct irq_line *irq, int out_fd, int rx_space_fd, struct uart **out)
{
	struct uart *u;
	int ret;

	if (!out)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	ret = pthread_mutex_init(&u->lock, NULL);
	if (ret) {
		free(u);
		return -ret;
	}
	if (irq)
		u->irq = *irq;
	u->out_fd = out_fd;
	u->rx_space_fd = rx_space_fd;
	uart_state_power_on(&u->s);
	*out = u;
	return 0;
}

size_t uart_rx_push(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = uart_rx_push_locked(u, buf, len);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart_rx_room(struct uart *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = UART_RX_FIFO - u->s.rx_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}
