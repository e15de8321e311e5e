/*
 * virtio/pci.h: the virtio-pci transport, modern interface only (virtio 1.2
 * §4.1): one PCI function (pci/pci.h) per device, on the VM's device list
 * (struct dev_ops virtio_pci_dev_ops, kind "virtio-pci"), over a virtio
 * core (core.h).
 *
 * The function: vendor 0x1af4, device 0x1040 + the virtio device id,
 * revision 1 (§4.1.2.1: non-transitional), subsystem 0x1af4 / device id,
 * the class of the device kind (the ones QEMU reports), INTA. One 64-bit
 * memory BAR (VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE bytes) holds every
 * structure, each announced by a vendor capability (§4.1.4):
 *   0x0000 common configuration (§4.1.4.3)
 *   0x1000 ISR status, one byte (§4.1.4.5): a read returns and clears it
 *          and lowers INTx
 *   0x2000 device configuration (§4.1.4.6), the device's config ops
 *   0x3000 notifications (§4.1.4.4): queue i's doorbell at 0x3000 + 4 i
 *          (notify_off_multiplier 4, queue_notify_off = i)
 *   0x3800 MSI-X table, 0x3c00 its PBA (pci/msix.h), queues + 1 vectors
 * plus the PCI configuration access capability (§4.1.4.8), a window onto
 * the BAR through configuration space for firmware. A write to its
 * pci_cfg_data is done in the BAR at once; a read is done ahead, when the
 * driver writes cap.length (the host serves configuration reads from the
 * bytes, with no read hook), and pci_cfg_data keeps the result.
 *
 * Owns: the function's identity and capabilities, the register map of
 * the common configuration (field widths of §4.1.3.1: anything else is
 * ignored and reads 0), the MSI-X vector of each queue and of
 * configuration changes (§4.1.5.1.2: a vector outside the table reads back
 * VIRTIO_PCI_NO_VECTOR), how an interrupt is raised (the queue's or the
 * configuration vector with MSI-X enabled, else INTx: asserted while the
 * ISR is non-zero and MSI-X is off, PCI 3.0 §6.8.2), the doorbells, and
 * the save section holding all of it.
 * Does not own status, features or queue rules (core.c), the device
 * (struct virtio_dev_ops), configuration space mechanics or BAR decode
 * (pci.c), the MSI-X table (msix.c), or which transport a VM uses
 * (devices.c). Never writes into the device's ops table.
 *
 * Doorbells: each queue has one eventfd for the transport's life, watched
 * by the I/O loop (whose handler calls virtio_core_notify). Where the BAR
 * decodes, the eventfd is also registered with the accelerator (machine
 * ops doorbell: an ioeventfd matching 2-byte writes of the queue index,
 * §4.1.5.2) at its notify address; bar_moved drops and re-registers it
 * as the guest moves the BAR or stops its decode. A notify write that
 * reaches the BAR handler (no ioeventfd, or a write it did not match)
 * signals the same eventfd, so both paths end in the I/O loop. The
 * eventfd stays put across moves so the I/O thread never sees it closed
 * (which is why the transport does not use machine_doorbell_open, whose
 * eventfd lives only as long as one registration).
 *
 * Save section, version 1 (little-endian, snapshot/stream.h):
 *   u8 version   u8 nr_queues
 *   u32 length + bytes: pci_func_save
 *   u32 length + bytes: msix_save
 *   u16 config vector, nr_queues times u16 queue vector
 *   then virtio_core_save's bytes to the end of the section
 * load refuses (-EINVAL, logged once naming the field, the device then
 * reset): another version or queue count, a truncated or long part, a
 * vector neither below the table size nor VIRTIO_PCI_NO_VECTOR, and
 * whatever pci_func_load, msix_load or virtio_core_load refuse.
 *
 * Threads: BAR accesses on vCPU threads (under the core's mutex), doorbell
 * handlers on the I/O thread (virtio_core_notify takes the mutex),
 * bar_moved and cfg_written on vCPU threads with the PCI host mutex held
 * (bar_moved touches only the doorbells, which nothing else changes while
 * the VM runs; cfg_written takes the core's mutex under it, pci.c's lock
 * order, and the core's hook raises INTx / MSI-X under the core's mutex
 * through pci.c's intx lock and the MSI-X mutex, both below it). Creation, reset, save, load and destroy on the VM-building
 * or VMM thread with vCPUs paused.
 */
#ifndef VMON_VIRTIO_PCI_H
#define VMON_VIRTIO_PCI_H

#include <stdint.h>

#include "../dev.h"
#include "../ioloop.h"
#include "../machine.h"
#include "../pci/msix.h"
#include "../pci/pci.h"
#include "core.h"
#include "virtio.h"

#define VIRTIO_PCI_VENDOR      0x1af4 /* §4.1.2: PCI vendor of every virtio device */
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* §4.1.2: 0x1040 + device id (modern) */
#define VIRTIO_PCI_REVISION    1      /* §4.1.2.1: non-transitional devices have >= 1 */
#define VIRTIO_PCI_NO_VECTOR   0xffff /* §4.1.4.3: VIRTIO_MSI_NO_VECTOR */

#define VIRTIO_PCI_BAR       4         /* as QEMU places its modern BAR */
#define VIRTIO_PCI_BAR_SIZE  0x4000
#define VIRTIO_PCI_COMMON    0x0000    /* offsets in the BAR */
#define VIRTIO_PCI_COMMON_LEN 0x38     /* struct virtio_pci_common_cfg without queue_notify_data */
#define VIRTIO_PCI_ISR       0x1000
#define VIRTIO_PCI_ISR_LEN   1
#define VIRTIO_PCI_DEVCFG    0x2000
#define VIRTIO_PCI_DEVCFG_LEN 0x1000
#define VIRTIO_PCI_NOTIFY    0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4       /* notify_off_multiplier */
#define VIRTIO_PCI_NOTIFY_LEN (VIRTIO_MAX_QUEUES * VIRTIO_PCI_NOTIFY_MULT)
#define VIRTIO_PCI_DOORBELL_LEN 2      /* §4.1.5.2: the driver writes the 16-bit queue index */
#define VIRTIO_PCI_MSIX_TABLE 0x3800
#define VIRTIO_PCI_MSIX_PBA  0x3c00

/* Vendor capability cfg_type values (§4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

struct virtio_pci;

/* One queue's doorbell: the eventfd the I/O loop watches, and where the accelerator matches it. */
struct virtio_pci_doorbell {
	struct virtio_pci *t;
	unsigned index;
	int fd;       /* eventfd for the transport's life, -1 when not open */
	int watched;  /* fd is in the machine's I/O loop */
	int absorbed; /* registered with the accelerator at addr */
	uint64_t addr;
	struct ioloop_handler h;
};

struct virtio_pci {
	struct virtio_core core; /* status, features, queues, the device */
	struct pci_func func;    /* configuration space and the BAR */
	const struct machine *m; /* NULL until virtio_pci_init */
	struct pci_msix *msix;   /* NULL until virtio_pci_init */
	unsigned nvec;           /* MSI-X table size: queues + 1 */
	unsigned cfg_cap;        /* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
	/* MSI-X vectors (§4.1.4.3), under the core's mutex. */
	uint16_t config_vector;
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	struct virtio_pci_doorbell db[VIRTIO_MAX_QUEUES];
	uint64_t intx_raised;    /* counter: INTx assertions (relaxed) */
};

/* read/write: unused (the function is reached through the PCI host); reset/save/load/stats. */
extern const struct dev_ops virtio_pci_dev_ops;

/*
 * A transport with no device yet: its core is inert (virtio_core_init), so
 * &t->core may be handed to the device being built (a receive kick) before
 * virtio_pci_init. NULL when out of memory.
 */
struct virtio_pci *virtio_pci_alloc(void);
/*
 * Attach dev (the transport owns it from here, also on failure), build
 * the function (identity, BAR, capabilities, MSI-X) and open a doorbell
 * per queue watched in m->io. Does not plug the function into a host or
 * add the device to a list (virtio_pci_add does). 0 or -errno, logged.
 * On failure virtio_pci_destroy(t) releases what was set up.
 */
int virtio_pci_init(struct virtio_pci *t, const struct machine *m, const char *name,
		    const struct virtio_dev_ops *ops, void *dev);
/*
 * Put an initialised t on m->devs (machine_add_dev, which owns t from
 * there and destroys it on failure) and then plug its function into h
 * (pci_host_add: the first free slot, BAR addresses assigned). In that
 * order so that the host never holds a function whose transport was
 * freed: a failed pci_host_add leaves t on the list, torn down with the
 * VM being built. 0 or -errno, logged.
 */
int virtio_pci_add(struct virtio_pci *t, const struct machine *m, struct pci_host *h);
/*
 * virtio_pci_alloc + virtio_pci_init + virtio_pci_add; *out only on
 * success (t is then owned by m->devs), dev destroyed on failure.
 */
int virtio_pci_create(const struct machine *m, struct pci_host *h, const char *name,
		      const struct virtio_dev_ops *ops, void *dev, struct virtio_pci **out);
/*
 * Close the doorbells and MSI-X, destroy the device, free t (which may be
 * only allocated, or half set up). The same as virtio_pci_dev_ops.destroy.
 */
void virtio_pci_destroy(struct virtio_pci *t);

#endif
