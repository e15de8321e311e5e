/*
 * uart16550.c: NS16550A register model (see uart16550.h).
 *
 * Register offsets and bits follow the National/TI PC16550D datasheet:
 *   0 RBR/THR (DLL when LCR.DLAB)   1 IER (DLM when LCR.DLAB)
 *   2 IIR (read) / FCR (write)      3 LCR   4 MCR   5 LSR   6 MSR   7 SCR
 * Transmission is instantaneous: THR is always empty, so LSR.THRE/TEMT are
 * always set and a THR-empty interrupt is latched after each write.
 */
#include "uart16550.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define UART_IER_RDI  0x01 /* received data available */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI  0x08 /* modem status */

#define UART_IIR_NONE 0x01
#define UART_IIR_MSI  0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI  0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_FIFO 0xc0 /* both bits set when FCR.0 enabled the FIFOs */

#define UART_FCR_ENABLE   0x01
#define UART_FCR_CLEAR_RX 0x02

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* gates the interrupt line on PC boards */
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

enum { REG_RBR, REG_IER, REG_IIR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

/* Which interrupt the IIR reports now, by datasheet priority. Lock held. */
static uint8_t uart_iir_id(const struct uart *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_err)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thr_irq_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NONE;
}

/* Drive the line to match the pending state; edges only on change. Lock held. */
static void uart_update_irq(struct uart *u)
{
	int level = uart_iir_id(u) != UART_IIR_NONE && (u->mcr & UART_MCR_OUT2);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static uint8_t uart_msr(const struct uart *u)
{
	uint8_t msr = u->msr_delta;

	if (u->mcr & UART_MCR_LOOP) {
		/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
		if (u->mcr & UART_MCR_DTR)
			msr |= UART_MSR_DSR;
		if (u->mcr & UART_MCR_RTS)
			msr |= UART_MSR_CTS;
		if (u->mcr & UART_MCR_OUT1)
			msr |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			msr |= UART_MSR_DCD;
		return msr;
	}
	/* A terminal is always attached. */
	return msr | UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
}

static size_t uart_rx_push_locked(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len && u->rx_count < UART_RX_FIFO) {
		u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = buf[n++];
		u->rx_count++;
	}
	if (n < len && (u->mcr & UART_MCR_LOOP))
		u->lsr_err |= UART_LSR_OE; /* loopback overrun, as hardware would */
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
	    UART_RX_FIFO - u->rx_count < UART_RX_WAKE_ROOM)
		return;
	if (write(u->rx_space_fd, &one, sizeof(one)) < 0)
		return; /* eventfd overflow is impossible at one write per crossing */
}

static uint8_t uart_rx_pop_locked(struct uart *u)
{
	unsigned old = u->rx_count;
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
	u->rx_count--;
	uart_rx_space(u, old);
	return c;
}

static void uart_tx(struct uart *u, uint8_t c)
{
	u->tx_bytes++;
	if (u->mcr & UART_MCR_LOOP) {
		uart_rx_push_locked(u, &c, 1);
	} else if (u->out_fd >= 0) {
		/* A closed terminal must not stop the guest: the byte is dropped. */
		ssize_t r = write(u->out_fd, &c, 1);

		(void)r;
	}
	u->thr_irq_pending = 1;
}

static uint8_t uart_read_reg(struct uart *u, unsigned reg)
{
	uint8_t v = 0, id;

	switch (reg) {
	case REG_RBR:
		if (u->lcr & UART_LCR_DLAB)
			return u->dll;
		return uart_rx_pop_locked(u);
	case REG_IER:
		return (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
	case REG_IIR:
		id = uart_iir_id(u);
		if (id == UART_IIR_THRI)
			u->thr_irq_pending = 0; /* datasheet: reading IIR clears THRE source */
		return id | ((u->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT | u->lsr_err;
		if (u->rx_count)
			v |= UART_LSR_DR;
		u->lsr_err = 0; /* error bits clear on read */
		return v;
	case REG_MSR:
		v = uart_msr(u);
		u->msr_delta = 0;
		return v;
	default:
		return u->scr;
	}
}

static void uart_write_reg(struct uart *u, unsigned reg, uint8_t v)
{
	switch (reg) {
	case REG_RBR:
		if (u->lcr & UART_LCR_DLAB)
			u->dll = v;
		else
			uart_tx(u, v);
		break;
	case REG_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling THRI while THR is empty raises it at once (16550 behaviour). */
		if (!(u->ier & UART_IER_THRI) && (v & UART_IER_THRI))
			u->thr_irq_pending = 1;
		u->ier = v & 0x0f;
		break;
	case REG_IIR: /* FCR */
		u->fcr = v & (UART_FCR_ENABLE | 0xc0);
		if (v & UART_FCR_CLEAR_RX) {
			unsigned old = u->rx_count;

			u->rx_head = 0;
			u->rx_count = 0;
			uart_rx_space(u, old);
		}
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		u->mcr = v & 0x1f;
		break;
	case REG_LSR:
	case REG_MSR:
		break; /* read-only */
	default:
		u->scr = v;
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

const struct bus_dev_ops uart_ops = {
	.kind = "uart16550",
	.read = uart_bus_read,
	.write = uart_bus_write,
};

int uart_init(struct uart *u, const struct irq_line *irq, int out_fd, int rx_space_fd)
{
	int ret;

	memset(u, 0, sizeof(*u));
	ret = pthread_mutex_init(&u->lock, NULL);
	if (ret)
		return -ret;
	u->irq = *irq;
	u->out_fd = out_fd;
	u->rx_space_fd = rx_space_fd;
	/* Power-on values: 8N1 is the guest's job; OUT2 low means no interrupts yet. */
	u->lcr = 0x03;
	u->dll = 0x0c; /* 9600 baud divisor, as a BIOS would leave it */
	return 0;
}

void uart_destroy(struct uart *u)
{
	pthread_mutex_destroy(&u->lock);
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
	room = UART_RX_FIFO - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}
