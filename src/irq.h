/*
 * irq.h: how a device raises an interrupt without knowing its VM.
 *
 * A device is handed a struct irq_line at create time. vm.c fills it so that
 * set() drives the in-kernel irqchip (KVM_IRQ_LINE on the line's GSI); unit
 * tests fill it with a recorder.
 */
#ifndef VMON_IRQ_H
#define VMON_IRQ_H

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

#endif
