/*
 * fake_machine.c: see fake_machine.h. Included by the tests that use it.
 */
#include "fake_machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fake_irq_set(void *ctx, unsigned gsi, int level)
{
	struct fake_machine *f = ctx;

	if (gsi >= FAKE_MAX_GSI)
		return -EINVAL;
	if (level && !f->level[gsi])
		f->edges[gsi]++;
	f->level[gsi] = level;
	return 0;
}

static int fake_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct fake_machine *f = ctx;

	if (f->nr_msi < FAKE_MAX_RECORDS) {
		f->msi_sent[f->nr_msi].addr = addr;
		f->msi_sent[f->nr_msi].data = data;
		f->nr_msi++;
	}
	return f->msi_ret;
}

static int fake_msi_route(void *ctx, unsigned *gsi, uint64_t addr, uint32_t data)
{
	struct fake_machine *f = ctx;
	unsigned i;

	if (!f->msi_routes)
		return -ENOTSUP; /* no accelerator: MSI-X sends each message with msi */
	if (*gsi == ACCEL_MSI_ROUTE_NEW) {
		for (i = 0; i < FAKE_MAX_ROUTES && f->route[i].used; i++)
			;
		if (i == FAKE_MAX_ROUTES)
			return -ENOSPC;
		f->route[i].used = 1;
		f->route[i].fd = -1;
	} else {
		i = *gsi - FAKE_MSI_GSI_FIRST;
		if (*gsi < FAKE_MSI_GSI_FIRST || i >= FAKE_MAX_ROUTES || !f->route[i].used)
			return -ENOENT;
		f->route_updates++;
	}
	f->route[i].addr = addr;
	f->route[i].data = data;
	*gsi = FAKE_MSI_GSI_FIRST + i;
	return 0;
}

static int fake_msi_route_free(void *ctx, unsigned gsi)
{
	struct fake_machine *f = ctx;
	unsigned i = gsi - FAKE_MSI_GSI_FIRST;

	if (!f->msi_routes)
		return -ENOTSUP;
	if (gsi < FAKE_MSI_GSI_FIRST || i >= FAKE_MAX_ROUTES || !f->route[i].used)
		return -ENOENT;
	f->route[i].used = 0;
	return 0;
}

static int fake_irqfd(void *ctx, int fd, unsigned gsi, int assign)
{
	struct fake_machine *f = ctx;
	unsigned i = gsi - FAKE_MSI_GSI_FIRST;

	/* With msi_routes, eventfds bind to MSI routes only; else no accelerator: edges pulse irq_set. */
	if (!f->msi_routes || gsi < FAKE_MSI_GSI_FIRST || i >= FAKE_MAX_ROUTES || !f->route[i].used)
		return -ENOTSUP;
	f->route[i].fd = assign ? fd : -1;
	return 0;
}

static int fake_doorbell(void *ctx, int fd, int is_pio, uint64_t addr, unsigned len,
			 uint64_t match, int assign)
{
	struct fake_machine *f = ctx;

	if (f->nr_db < FAKE_MAX_RECORDS)
		f->db[f->nr_db++] = (struct fake_doorbell){ .fd = fd, .is_pio = is_pio,
							    .assign = assign, .addr = addr,
							    .match = match, .len = len };
	return -ENOTSUP; /* no ioeventfd: the register write must signal fd */
}

static int fake_irq_alloc(void *ctx, unsigned *gsi)
{
	struct fake_machine *f = ctx;

	if (f->next_gsi >= f->gsi_limit)
		return -ENOSPC;
	*gsi = f->next_gsi++;
	return 0;
}

static int fake_mmio_alloc(void *ctx, uint64_t size, uint64_t *base)
{
	struct fake_machine *f = ctx;
	uint64_t b = (f->next_mmio + size - 1) & ~(size - 1);

	if (!size || (size & (size - 1)) || b + size > f->mmio_limit)
		return -ENOSPC;
	*base = b;
	f->next_mmio = b + size;
	return 0;
}

static int fake_announce(void *ctx, const char *kind, uint64_t base, uint64_t size, unsigned gsi)
{
	struct fake_machine *f = ctx;
	struct fake_announce *a;

	if (f->announce_ret)
		return f->announce_ret;
	if (f->nr_ann == FAKE_MAX_RECORDS)
		return -E2BIG;
	a = &f->ann[f->nr_ann++];
	snprintf(a->kind, sizeof(a->kind), "%s", kind);
	a->base = base;
	a->size = size;
	a->gsi = gsi;
	return 0;
}

static void fake_stop(void *ctx, enum vm_exit why, const char *msg)
{
	struct fake_machine *f = ctx;

	(void)why, (void)msg;
	f->stops++;
}

static const struct machine_ops fake_machine_ops = {
	.irq_set = fake_irq_set,
	.msi = fake_msi,
	.msi_route = fake_msi_route,
	.msi_route_free = fake_msi_route_free,
	.irqfd = fake_irqfd,
	.doorbell = fake_doorbell,
	.irq_alloc = fake_irq_alloc,
	.mmio_alloc = fake_mmio_alloc,
	.announce = fake_announce,
	.stop = fake_stop,
};

int fake_machine_init(struct fake_machine *f, uint64_t ram_gpa, uint64_t ram_size)
{
	int ret;

	memset(f, 0, sizeof(*f));
	f->ram = aligned_alloc(4096, ram_size);
	if (!f->ram)
		return -ENOMEM;
	memset(f->ram, 0, ram_size);
	ret = gmem_init_flat(&f->mem, f->ram, ram_gpa, ram_size);
	if (!ret)
		ret = ioloop_init(&f->io);
	if (ret) {
		free(f->ram);
		return ret;
	}
	bus_init(&f->pio, "pio");
	bus_init(&f->mmio, "mmio");
	devlist_init(&f->devs);
	f->next_gsi = FAKE_GSI_FIRST;
	f->gsi_limit = FAKE_MAX_GSI;
	f->next_mmio = FAKE_MMIO_FIRST;
	f->mmio_limit = FAKE_MMIO_FIRST + 0x100000;
	f->msi_ret = -ENOTSUP;
	f->m = (struct machine){ .ops = &fake_machine_ops, .ctx = f, .mem = &f->mem,
				 .pio = &f->pio, .mmio = &f->mmio, .devs = &f->devs, .io = &f->io };
	return 0;
}

void fake_machine_destroy(struct fake_machine *f)
{
	devlist_destroy(&f->devs);
	ioloop_destroy(&f->io);
	gmem_free(&f->mem);
	free(f->ram);
	f->ram = NULL;
}

unsigned fake_machine_edges(struct fake_machine *f, unsigned gsi)
{
	unsigned n = gsi < FAKE_MAX_GSI ? f->edges[gsi] : 0;

	if (gsi < FAKE_MAX_GSI)
		f->edges[gsi] = 0;
	return n;
}

void *fake_machine_ram(struct fake_machine *f, uint64_t gpa)
{
	return gmem_ptr(&f->mem, gpa, 1);
}
