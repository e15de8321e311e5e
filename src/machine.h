/*
 * machine.h: what devices and arch code see of a VM: guest memory, the two
 * buses, the device list, the I/O loop, interrupts and doorbells. Never
 * struct vm: a device is handed a struct machine (or less) when created and
 * reaches nothing else, so it works the same under KVM, under a software
 * vCPU and in a unit test with a fake machine (tests/unit/fake_machine.h).
 *
 * Owns: the interface (struct machine_ops) and helpers that wrap it with
 * logging: interrupt lines, irqfd-or-pulse edges, doorbells (ioeventfd or
 * the device's own register write), bus mapping, device registration.
 * vm.c fills the ops from the accelerator and the arch; arch/<arch>/ says
 * where devices go (IRQ and MMIO window allocation, announcement to the
 * guest by command line, FDT or ACPI).
 *
 * Threads: machine setup (map, add, allocate, announce, open) runs on the
 * thread building the VM, before vCPUs run or with them paused. Interrupt
 * ops and edge/doorbell fds are used from any thread.
 */
#ifndef VMON_MACHINE_H
#define VMON_MACHINE_H

#ifndef ACCEL_MSI_ROUTE_NEW
#define ACCEL_MSI_ROUTE_NEW (~0u) /* also in accel/accel.h */
#endif

#include <stdint.h>

#include "bus.h"
#include "dev.h"
#include "gmem.h"
#include "ioloop.h"
#include "irq.h"

/* Why the VM stopped; maps to vmon's exit status (vm_exit_status). */
enum vm_exit {
	VM_EXIT_NONE = 0,
	VM_EXIT_GUEST_RESET, /* guest reset/reboot/poweroff: a clean end (reboot=k) */
	VM_EXIT_GUEST_CRASH, /* triple fault, accelerator internal/emulation error */
	VM_EXIT_HOST_STOP,   /* Ctrl-A x, SIGINT/SIGTERM, TTL */
	VM_EXIT_VMM_ERROR,   /* vmon itself failed while running */
	VM_EXIT_MIGRATED,    /* moved to another process, which acknowledged it: status 0 */
};

struct machine_ops {
	/* Drive level interrupt line gsi. 0 or -errno. */
	int (*irq_set)(void *ctx, unsigned gsi, int level);
	/* Deliver an MSI. -ENOTSUP where the platform has none. */
	int (*msi)(void *ctx, uint64_t addr, uint32_t data);
	/*
	 * MSI routes (accel.h's msi_route / msi_route_free): *gsi ==
	 * ACCEL_MSI_ROUTE_NEW allocates. -ENOTSUP: no routing; send with msi.
	 */
	int (*msi_route)(void *ctx, unsigned *gsi, uint64_t addr, uint32_t data);
	int (*msi_route_free)(void *ctx, unsigned gsi);
	/*
	 * Wire (assign=1) or unwire eventfd fd to line gsi in the accelerator
	 * (irqfd). -ENOTSUP: no such path; the caller pulses irq_set instead.
	 */
	int (*irqfd)(void *ctx, int fd, unsigned gsi, int assign);
	/*
	 * Make guest writes of len bytes equal to match at addr (on the PIO bus
	 * when is_pio) signal eventfd fd without an exit (ioeventfd). -ENOTSUP:
	 * no such path; the write reaches the device's own handler instead,
	 * which must then signal fd itself.
	 */
	int (*doorbell)(void *ctx, int fd, int is_pio, uint64_t addr, unsigned len, uint64_t match,
			int assign);
	/* A free interrupt line for a device (arch policy). 0 or -ENOSPC. */
	int (*irq_alloc)(void *ctx, unsigned *gsi);
	/* A free, aligned MMIO window of size bytes (arch policy). 0 or -ENOSPC. */
	int (*mmio_alloc)(void *ctx, uint64_t size, uint64_t *base);
	/*
	 * Tell the guest about a device it cannot discover (x86: a virtio_mmio
	 * command-line entry; arm64/MIPS: an FDT node). kind is e.g.
	 * "virtio-mmio". 0 or -errno (-E2BIG: the command line is full).
	 */
	int (*announce)(void *ctx, const char *kind, uint64_t base, uint64_t size, unsigned gsi);
	/* A device ends the VM (the i8042 reset pulse): first caller wins. */
	void (*stop)(void *ctx, enum vm_exit why, const char *msg);
};

struct pci_host;

struct machine {
	const struct machine_ops *ops;
	void *ctx;
	const struct gmem *mem;
	struct bus *pio, *mmio;
	struct devlist *devs;
	struct ioloop *io;
	struct pci_host *pci; /* the PCI host bridge (pci/pci.h), NULL where there is none */
};

/* The level line gsi of m, for a device to keep. */
struct irq_line machine_irq_line(const struct machine *m, unsigned gsi);
/* m's MSI sender. */
struct irq_msi machine_irq_msi(const struct machine *m);
/* m's MSI routes (machine_ops.msi_route); -ENOTSUP when m has none. Any thread. */
int machine_msi_route(const struct machine *m, unsigned *gsi, uint64_t addr, uint32_t data);
int machine_msi_route_free(const struct machine *m, unsigned gsi);
/* An edge source on gsi: an eventfd with irqfd where the accelerator has it. 0 or -errno. */
int machine_irq_edge_open(const struct machine *m, unsigned gsi, struct irq_edge *e);
void machine_irq_edge_close(const struct machine *m, struct irq_edge *e);
/*
 * A doorbell eventfd for writes of match at addr: *fd is a new eventfd
 * (nonblocking), and *absorbed says whether the accelerator delivers those
 * writes to it itself (1) or the device's handler must (0). 0 or -errno.
 */
int machine_doorbell_open(const struct machine *m, int is_pio, uint64_t addr, unsigned len,
			  uint64_t match, int *fd, int *absorbed);
void machine_doorbell_close(const struct machine *m, int is_pio, uint64_t addr, unsigned len,
			    uint64_t match, int fd, int absorbed);
/* bus_map with a logged reason. */
int machine_map(struct bus *b, uint64_t base, uint64_t len, const struct dev_ops *ops, void *dev,
		const char *name);
/*
 * devlist_add with a logged reason. On success the list owns state; on
 * failure state is destroyed here (ops->destroy), so callers never leak it.
 */
int machine_add_dev(const struct machine *m, const struct dev_ops *ops, void *state,
		    const char *name);

#endif
