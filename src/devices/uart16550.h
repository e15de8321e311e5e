/*
 * uart16550.h: an NS16550A-compatible serial port (the guest's ttyS0).
 *
 * Owns: the register file, a receive FIFO, and the interrupt line level.
 * Does not own the host side: output bytes go to out_fd as they are
 * written; input arrives through uart_rx_push from the console thread.
 *
 * Threads: vCPU threads call the bus ops; the console (main) thread calls
 * uart_rx_push/uart_rx_room. A mutex per port serialises both.
 */
#ifndef VMON_UART16550_H
#define VMON_UART16550_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../bus.h"
#include "../irq.h"

/* 8 ports from the PC's COM1 base; IRQ 4 (PC/AT convention). */
#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ  4
#define UART_NR_PORTS  8
#define UART_RX_FIFO   64 /* deeper than a 16550's 16 so pasted input flows */
/*
 * The console reads stdin only while at least this much room is free, since
 * one input byte can become two (an unknown Ctrl-A escape passes both), and
 * rx_space_fd fires when the room grows back to it.
 */
#define UART_RX_WAKE_ROOM 2

struct uart {
	pthread_mutex_t lock;
	struct irq_line irq;
	int out_fd;          /* guest output goes here; -1 drops it */
	int rx_space_fd;     /* eventfd written when room reaches UART_RX_WAKE_ROOM, or -1 */

	uint8_t ier, lcr, mcr, lsr_err, msr_delta, scr, dll, dlm, fcr;
	int thr_irq_pending; /* THR-empty interrupt latched, cleared by IIR read */
	int irq_level;       /* current level driven on the line */

	uint8_t rx[UART_RX_FIFO];
	unsigned rx_head, rx_count;

	uint64_t tx_bytes, rx_bytes;
};

extern const struct bus_dev_ops uart_ops;

int uart_init(struct uart *u, const struct irq_line *irq, int out_fd, int rx_space_fd);
void uart_destroy(struct uart *u);

/* Queue up to len input bytes; returns how many were taken (0 when full). */
size_t uart_rx_push(struct uart *u, const uint8_t *buf, size_t len);
/* Free bytes in the receive FIFO. */
size_t uart_rx_room(struct uart *u);

#endif
