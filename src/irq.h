/*
 * irq.h: how a device raises an interrupt without knowing its VM.
 *
 * Three kinds, all handed to a device at create time by the machine
 * (machine.c), filled by unit tests with recorders:
 *   - struct irq_line: a level line (a GSI on the in-kernel irqchip, a CPU
 *     interrupt pin on MIPS); set() drives it.
 *   - struct irq_msi: message-signalled (PCI MSI/MSI-X): an address/data
 *     write the interrupt controller decodes.
 *   - struct irq_edge: an edge on a line delivered through an eventfd the
 *     accelerator injects from without a user-space exit (KVM irqfd); where
 *     the accelerator has no such path (a software vCPU) fd is -1 and firing
 *     pulses the line instead. Either way the caller just fires.
 */
#ifndef VMON_IRQ_H
#define VMON_IRQ_H

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

struct irq_line {
	/* Drive the line to level (0 or 1). Returns 0 or -errno. */
	int (*set)(void *ctx, unsigned gsi, int level);
	void *ctx;
	unsigned gsi;
};

static inline int irq_line_set(const struct irq_line *l, int level)
{
	return l->set ? l->set(l->ctx, l->gsi, level) : 0;
}

struct irq_msi {
	/* Deliver one message. 0, or -ENOTSUP where the platform has no MSI. */
	int (*send)(void *ctx, uint64_t addr, uint32_t data);
	void *ctx;
};

static inline int irq_msi_send(const struct irq_msi *m, uint64_t addr, uint32_t data)
{
	return m->send ? m->send(m->ctx, addr, data) : -ENOTSUP;
}

struct irq_edge {
	int fd;               /* eventfd wired to the line by the accelerator, or -1 */
	struct irq_line line; /* pulsed when fd is -1 */
};

/* Raise one edge. 0 or -errno. Any thread. */
static inline int irq_edge_fire(const struct irq_edge *e)
{
	uint64_t one = 1;
	int ret;

	if (e->fd >= 0)
		return write(e->fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
	ret = irq_line_set(&e->line, 1);
	return ret ? ret : irq_line_set(&e->line, 0);
}

#endif
