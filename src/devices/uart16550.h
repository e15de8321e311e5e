/*
 * uart16550.h: an NS16550A-compatible serial port (the guest's ttyS0), one
 * device of the device model (dev.h).
 *
 * Owns: the register file, a receive FIFO, the interrupt line level, and its
 * saved state (uart_ops.save/load). Does not own the host side: output bytes
 * go to out_fd as they are written; input arrives through uart_rx_push from
 * the console thread; the fds stay the caller's (destroy closes neither).
 *
 * Threads: vCPU threads call the bus ops (read/write); the console (main)
 * thread calls uart_rx_push/uart_rx_room; reset/save/load run with vCPUs
 * paused; stats from any thread. A mutex per port serialises all of them;
 * it is a leaf lock (the irq_line set() and the eventfd write run under it).
 */
#ifndef VMON_UART16550_H
#define VMON_UART16550_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../dev.h"
#include "../irq.h"

/* 8 ports from the PC's COM1 base; IRQ 4 (PC/AT convention). */
#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ  4
#define UART_NR_PORTS  8
#define UART_RX_FIFO   64 /* deeper than a 16550's 16 so pasted input flows */
/*
 * The console reads stdin only while at least this much room is free, since
 * one input byte can become two (an unknown Ctrl-A escape passes both), and
 * rx_space_fd fires when the room grows back to it (also when reset or load
 * empties a nearly full FIFO).
 */
#define UART_RX_WAKE_ROOM 2

/* Guest-visible state: what reset sets to power-on and save/load carry. */
struct uart_state {
	uint8_t ier, lcr, mcr, lsr_err, msr_delta, scr, dll, dlm, fcr;
	uint8_t thr_irq_pending; /* THR-empty interrupt latched, cleared by IIR read */
	uint8_t rx[UART_RX_FIFO];
	unsigned rx_head, rx_count;
};

/*
 * In the header so unit tests and the fuzzer can check invariants
 * (rx_count <= UART_RX_FIFO, irq_level matches the line); only
 * uart16550.c writes the fields.
 */
struct uart {
	pthread_mutex_t lock;
	struct irq_line irq;
	int out_fd;          /* guest output goes here; -1 drops it */
	int rx_space_fd;     /* eventfd written when room reaches UART_RX_WAKE_ROOM, or -1 */
	struct uart_state s;
	int irq_level;       /* current level driven on the line (derived from s) */
	/* Host statistics of this instance: not saved, kept across reset and load. */
	uint64_t tx_bytes, rx_bytes;
};

/*
 * kind "uart16550". Bus handlers for UART_NR_PORTS ports (byte registers; a
 * wider access covers consecutive registers). stats: tx_bytes, rx_bytes.
 * Saved state (all u8, 76 bytes): ier, lcr, mcr, fcr, lsr_err, msr_delta,
 * scr, dll, dlm, thr_irq_pending, rx_head, rx_count, rx[UART_RX_FIFO] (the
 * whole ring). load refuses, with -EINVAL: IER bits 7-4, MCR bits 7-5, FCR
 * bits other than 0/6/7, LSR error bits other than OE, MSR delta bits 7-4,
 * thr_irq_pending > 1, rx_head >= UART_RX_FIFO, rx_count > UART_RX_FIFO, a
 * short or long section. After a load the line is driven to the level the
 * state implies; destroy frees what uart_new allocated.
 */
extern const struct dev_ops uart_ops;

/*
 * A port at power-on (LCR 8N1, divisor for 9600 baud, OUT2 low so no
 * interrupts yet) on irq (copied; NULL: no line). out_fd and rx_space_fd
 * as in struct uart. 0, -EINVAL (out NULL) or -ENOMEM/-errno; free it with
 * uart_ops.destroy.
 */
int uart_new(const struct irq_line *irq, int out_fd, int rx_space_fd, struct uart **out);

/* Queue up to len input bytes; returns how many were taken (0 when full). */
size_t uart_rx_push(struct uart *u, const uint8_t *buf, size_t len);
/* Free bytes in the receive FIFO. */
size_t uart_rx_room(struct uart *u);

#endif
