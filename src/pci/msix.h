/*
 * pci/msix.h: MSI-X for a PCI function (PCI Local Bus 3.0 §6.8.2): the
 * capability (message control with Enable and Function Mask, table and PBA
 * offset/BIR), the vector table (16 bytes per entry: address low/high,
 * data, vector control with its Mask bit) and the Pending Bit Array, both
 * inside one of the function's memory BARs.
 *
 * Delivery: each vector the guest unmasks with a valid address gets a
 * route (machine_msi_route: a GSI whose route is the entry's message) and
 * an eventfd bound to it by irqfd (machine_ops.irqfd), so firing a vector
 * is one eventfd write and no exit; the route follows table writes. Where
 * the machine has no routes (-ENOTSUP: the MIPS vCPU, a unit test),
 * firing sends the message with machine_irq_msi. A vector fired while it
 * or the function is masked, or while MSI-X is disabled, sets its PBA bit
 * instead; unmasking a pending vector clears the bit and delivers it once
 * (§6.8.2.9). The PBA is read-only to the guest.
 *
 * Owns: the table, the PBA, the per-vector eventfds and routes. Does not
 * own the BAR (pci.c decodes it and hands msix_table_read/write and
 * msix_pba_read the offsets), nor which event uses which vector (the
 * device: virtio's queue_msix_vector).
 *
 * Threads: table/PBA accesses on vCPU threads, msix_fire from any thread
 * (the I/O thread, a vCPU thread inside a device handler); one mutex per
 * struct pci_msix, a leaf except for the irqfd/route ioctls made under it.
 * Save, load, reset with vCPUs paused.
 */
#ifndef VMON_PCI_MSIX_H
#define VMON_PCI_MSIX_H

#include <pthread.h>
#include <stdint.h>

#include "../machine.h"
#include "../snapshot/stream.h"
#include "pci.h"

#define MSIX_MAX_VECTORS 64   /* per function: virtio queues + config, with room */
#define MSIX_ENTRY_SIZE  16
#define MSIX_NO_VECTOR   0xffff /* virtio's VIRTIO_MSI_NO_VECTOR */

struct msix_vector {
	uint32_t addr_lo, addr_hi, data, ctrl; /* the guest's table entry */
	unsigned gsi;  /* its route, or ACCEL_MSI_ROUTE_NEW when none */
	int efd;       /* eventfd bound to gsi by irqfd, or -1 */
	int pending;   /* PBA bit */
};

struct pci_msix {
	pthread_mutex_t lock;
	const struct machine *m;
	struct pci_func *f;
	unsigned nvec;
	unsigned cap;                   /* capability offset in f->cfg */
	unsigned bar;                   /* BAR holding table and PBA */
	uint32_t table_off, pba_off;    /* inside that BAR */
	struct msix_vector v[MSIX_MAX_VECTORS];
	uint64_t fired, masked_fires;   /* counters (relaxed) */
};

/*
 * Give f an MSI-X capability of nvec vectors, its table at table_off and
 * PBA at pba_off of memory BAR bar (already declared, big enough: both
 * 8-byte aligned, not overlapping). Every vector starts masked. 0 or
 * -errno (-EINVAL for a bad layout, -ENOSPC when the capability does not
 * fit). *out is owned by f's device, freed with msix_destroy.
 */
int msix_create(const struct machine *m, struct pci_func *f, unsigned nvec, unsigned bar,
		uint32_t table_off, uint32_t pba_off, struct pci_msix **out);
void msix_destroy(struct pci_msix *x);

/* Raise vector vec (>= nvec, MSIX_NO_VECTOR: ignored, returns -ENOENT). 0 or -errno. */
int msix_fire(struct pci_msix *x, unsigned vec);
/* 1 when the guest enabled MSI-X (message control Enable set). */
int msix_enabled(struct pci_msix *x);

/* For pci.c: accesses inside the BAR's table or PBA (offsets from their starts). */
int msix_table_read(struct pci_msix *x, uint64_t off, void *data, unsigned len);
int msix_table_write(struct pci_msix *x, uint64_t off, const void *data, unsigned len);
int msix_pba_read(struct pci_msix *x, uint64_t off, void *data, unsigned len);
/* For pci.c: the message control word changed (Enable / Function Mask): re-evaluate pending. */
void msix_control_written(struct pci_msix *x);

/* Every vector masked and not pending, routes dropped (function reset). */
void msix_reset(struct pci_msix *x);
/*
 * Table and PBA for the device's section; load (hostile input) re-installs routes.
 * Load after pci_func_load: it takes Enable and Function Mask from the loaded header.
 */
int msix_save(struct pci_msix *x, struct snap_out *out);
int msix_load(struct pci_msix *x, struct snap_in *in);

#endif
