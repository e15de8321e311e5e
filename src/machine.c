/*
 * machine.c: the helpers of machine.h over its ops, each logging once with
 * the device's context where the op itself does not.
 */
#include "machine.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

struct irq_line machine_irq_line(const struct machine *m, unsigned gsi)
{
	return (struct irq_line){ .set = m->ops->irq_set, .ctx = m->ctx, .gsi = gsi };
}

struct irq_msi machine_irq_msi(const struct machine *m)
{
	return (struct irq_msi){ .send = m->ops->msi, .ctx = m->ctx };
}

int machine_msi_route(const struct machine *m, unsigned *gsi, uint64_t addr, uint32_t data)
{
	return m->ops->msi_route ? m->ops->msi_route(m->ctx, gsi, addr, data) : -ENOTSUP;
}

int machine_msi_route_free(const struct machine *m, unsigned gsi)
{
	return m->ops->msi_route_free ? m->ops->msi_route_free(m->ctx, gsi) : -ENOTSUP;
}

int machine_irq_edge_open(const struct machine *m, unsigned gsi, struct irq_edge *e)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), ret;

	e->line = machine_irq_line(m, gsi);
	e->fd = -1;
	if (fd < 0)
		return -errno;
	ret = m->ops->irqfd(m->ctx, fd, gsi, 1);
	if (ret) {
		close(fd);
		/* No in-accelerator path: firing pulses the line (irq_edge_fire). */
		return ret == -ENOTSUP ? 0 : ret;
	}
	e->fd = fd;
	return 0;
}

void machine_irq_edge_close(const struct machine *m, struct irq_edge *e)
{
	if (e->fd < 0)
		return;
	m->ops->irqfd(m->ctx, e->fd, e->line.gsi, 0);
	close(e->fd);
	e->fd = -1;
}

int machine_doorbell_open(const struct machine *m, int is_pio, uint64_t addr, unsigned len,
			  uint64_t match, int *fd, int *absorbed)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), ret;

	*fd = -1;
	*absorbed = 0;
	if (efd < 0)
		return -errno;
	ret = m->ops->doorbell(m->ctx, efd, is_pio, addr, len, match, 1);
	if (ret && ret != -ENOTSUP) {
		close(efd);
		return ret;
	}
	*fd = efd;
	*absorbed = ret == 0;
	return 0;
}

void machine_doorbell_close(const struct machine *m, int is_pio, uint64_t addr, unsigned len,
			    uint64_t match, int fd, int absorbed)
{
	if (fd < 0)
		return;
	if (absorbed)
		m->ops->doorbell(m->ctx, fd, is_pio, addr, len, match, 0);
	close(fd);
}

int machine_map(struct bus *b, uint64_t base, uint64_t len, const struct dev_ops *ops, void *dev,
		const char *name)
{
	int ret = bus_map(b, base, len, ops, dev, name);

	if (ret)
		log_err("cannot map %s at %s 0x%" PRIx64 "+%" PRIu64 ": %s", name, b->name, base, len,
			strerror(-ret));
	return ret;
}

int machine_add_dev(const struct machine *m, const struct dev_ops *ops, void *state,
		    const char *name)
{
	int ret = devlist_add(m->devs, ops, state, name);

	if (ret) {
		log_err("cannot add device %s (%s): %s", name, ops && ops->kind ? ops->kind : "?",
			ret == -EINVAL ? "incomplete ops table or bad name" : strerror(-ret));
		if (ops && ops->destroy)
			ops->destroy(state);
	}
	return ret;
}
