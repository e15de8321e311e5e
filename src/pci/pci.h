/*
 * pci/pci.h: a PCI host bridge with one bus (bus 0) of up to 32 single-
 * function devices, the way a guest sees it: configuration mechanism #1
 * (ports 0xCF8/0xCFC, PCI Local Bus 3.0 §3.2.2.3.2) and ECAM (PCI Express
 * Base §7.2.2, one 4 KiB page per function, announced in ACPI MCFG on x86,
 * in the FDT on arm64), type-0 configuration headers, BARs the guest sizes
 * (write all ones, read back the mask) and moves, capability lists, INTx
 * and MSI-X (msix.h).
 *
 * Owns: every function's configuration space (the bytes, which bits the
 * guest may write, which are write-1-to-clear), BAR decode (command
 * register I/O and memory enables, 32/64-bit, I/O and memory BARs), the
 * dispatch of guest accesses inside BARs to the function's device, the
 * INTx pin and its line, and the save/load of all of it.
 * Does not own the devices behind the functions (virtio-pci, the Lance NIC:
 * they embed a struct pci_func and fill its header), where the host's
 * windows sit (the arch passes them in struct pci_host_cfg), ACPI/FDT text.
 *
 * Address decode: the host maps three fixed ranges on the machine's buses
 * when created: the CF8/CFC ports (8 ports at 0xCF8 on PIO, where the
 * platform has port I/O), the ECAM window (MMIO), and the two BAR
 * windows (an MMIO window, an I/O window) through which every BAR access
 * reaches pci_host's own dispatch. BARs therefore move without touching
 * the bus tables (bus.h: ranges change only with vCPUs paused; a guest
 * moves BARs with vCPUs running). A BAR decodes only while its enable bit
 * is set in the command register and it lies wholly inside its window;
 * otherwise accesses to it read all ones and writes are dropped, as on
 * real hardware. A BAR placed over another enabled BAR of any function is
 * refused: it stops decoding (logged once, rate-limited) until moved again.
 * Guest RAM is never behind a window (the arch keeps windows in its hole),
 * so a BAR cannot shadow RAM.
 *
 * Threads: configuration accesses and BAR dispatch run on vCPU threads;
 * the host's mutex (a leaf for config space, released before a device's
 * bar_read/bar_write is called) serialises config space and the BAR table.
 * bar_moved is called with the host mutex held: the device may register or
 * drop doorbells (machine_doorbell_open/close) but must not call back into
 * pci_*. Creation, reset, save, load and destroy on the VM-building or VMM
 * thread with vCPUs paused.
 */
#ifndef VMON_PCI_H
#define VMON_PCI_H

#include <pthread.h>
#include <stdint.h>

#include "../dev.h"
#include "../irq.h"
#include "../machine.h"
#include "../snapshot/stream.h"

#define PCI_CFG_SIZE      4096 /* ECAM: the extended space; mechanism #1 sees the first 256 */
#define PCI_CFG_LEGACY    256
#define PCI_MAX_SLOTS     32
#define PCI_NR_BARS       6
#define PCI_CF8_PORT      0xcf8
#define PCI_CF8_NR_PORTS  8   /* 0xCF8-0xCFB address, 0xCFC-0xCFF data */
#define PCI_ECAM_BUS_SIZE (1u << 20) /* 32 devices x 8 functions x 4 KiB */

/* Type-0 header offsets (PCI Local Bus 3.0 §6.1). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09
#define PCI_CLASS_DEVICE   0x0a /* sub-class, then base class at 0x0b */
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2c
#define PCI_SUBSYS_ID      0x2e
#define PCI_CAP_PTR        0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d

#define PCI_COMMAND_IO       0x0001
#define PCI_COMMAND_MEMORY   0x0002
#define PCI_COMMAND_MASTER   0x0004
#define PCI_COMMAND_INTX_OFF 0x0400
#define PCI_STATUS_INTX      0x0008 /* read-only: the function asserts INTx */
#define PCI_STATUS_CAP_LIST  0x0010

#define PCI_CAP_ID_MSIX   0x11
#define PCI_CAP_ID_VENDOR 0x09

enum pci_bar_kind {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,    /* I/O space, size 4..256 bytes */
	PCI_BAR_MEM32, /* 32-bit memory */
	PCI_BAR_MEM64, /* 64-bit memory: uses this BAR and the next */
};

/* What the device behind a function does with accesses and BAR moves. */
struct pci_func_ops {
	/* An access of len (1, 2, 4 or 8) bytes at off inside BAR bar. 0 or -errno. */
	int (*bar_read)(void *dev, unsigned bar, uint64_t off, void *data, unsigned len);
	int (*bar_write)(void *dev, unsigned bar, uint64_t off, const void *data, unsigned len);
	/*
	 * BAR bar now decodes at addr (enabled=1), or stopped decoding
	 * (enabled=0, addr its last address). For doorbells (ioeventfds) that
	 * must follow the BAR. Host mutex held (see Threads). May be NULL.
	 */
	void (*bar_moved)(void *dev, unsigned bar, uint64_t addr, int enabled);
	/*
	 * A guest write landed in configuration space at [off, off+len) (after
	 * the write masks were applied), for device-owned registers such as
	 * virtio's VIRTIO_PCI_CAP_PCI_CFG window. Host mutex held. May be NULL.
	 */
	void (*cfg_written)(void *dev, unsigned off, unsigned len);
};

struct pci_bar {
	enum pci_bar_kind kind;
	uint64_t size;   /* power of two; I/O >= 4, memory >= 16 (we use >= 4 KiB) */
	uint64_t addr;   /* where the guest put it (the BAR register, flags masked) */
	int decoding;    /* last state reported to bar_moved */
};

struct pci_host;

struct pci_func {
	struct pci_host *host;    /* NULL until pci_host_add */
	unsigned slot;            /* device number on bus 0 */
	const char *name;         /* instance, for logs: static storage */
	const struct pci_func_ops *ops;
	void *dev;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may change */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* bits the guest clears by writing 1 */
	uint8_t cap_end;               /* where the next capability goes (0x40 at first) */
	uint8_t last_cap;              /* offset of the last capability, 0 if none */
	struct pci_bar bar[PCI_NR_BARS];
	struct irq_line intx;          /* the pin's line (pci_host_add fills it) */
	int intx_level;                /* what the device drives */
	struct pci_msix *msix;         /* msix.h, NULL without MSI-X */
};

/* Where the arch puts the host's windows, and how INTx pins become lines. */
struct pci_host_cfg {
	uint64_t ecam_base;          /* PCI_ECAM_BUS_SIZE bytes on the MMIO bus */
	uint64_t mmio_base, mmio_size; /* BAR window for memory BARs (32- and 64-bit) */
	uint64_t io_base, io_size;   /* BAR window for I/O BARs; io_size 0: no port I/O */
	int has_cf8;                 /* map configuration mechanism #1 at 0xCF8 */
	/* The line of (slot, pin) (pin 1 = INTA..4 = INTD): the arch's swizzle, also in its ACPI _PRT. */
	unsigned (*intx_gsi)(unsigned slot, unsigned pin);
};

/*
 * The host bridge (slot 0: a host bridge header, class 06/00, vendor/device
 * PCI_HOST_VENDOR/PCI_HOST_DEVICE) on machine m: maps its ranges, adds
 * itself to m->devs as "pci-host" (dev_ops kind "pci-host": its save/load
 * carry the CF8 latch and the bridge's own header; each device saves its
 * function with pci_func_save in its own section). The device list owns
 * the host from here. 0 or -errno, logged; *out on success.
 */
#define PCI_HOST_VENDOR 0x8086 /* as QEMU's i440FX/Q35 and kvmtool do: guests expect it */
#define PCI_HOST_DEVICE 0x29c0
int pci_host_create(const struct machine *m, const struct pci_host_cfg *cfg,
		    struct pci_host **out);

/*
 * Set up f for a device: vendor, device, class (base << 16 | sub << 8 |
 * prog-if), revision, subsystem ids, the interrupt pin (0: none, 1: INTA).
 * The header's writable bits (command, BARs, interrupt line, the
 * capability pointer read-only) are set here. f is the device's, embedded
 * in its state; it outlives nothing of the host.
 */
void pci_func_init(struct pci_func *f, const char *name, uint16_t vendor, uint16_t device,
		   uint32_t class_code, uint8_t rev, uint16_t subsys_vendor, uint16_t subsys_id,
		   uint8_t intx_pin, const struct pci_func_ops *ops, void *dev);
/*
 * Declare BAR bar (a 64-bit BAR takes bar and bar + 1). Before pci_host_add.
 * -EINVAL: size not a power of two, bar out of range or taken.
 */
int pci_func_bar(struct pci_func *f, unsigned bar, enum pci_bar_kind kind, uint64_t size);
/*
 * Append a capability of len bytes (id, next pointer, then len - 2 bytes
 * the caller fills in f->cfg at the returned offset, with wmask for the
 * guest-writable ones). Links it into the list and sets the status bit.
 * Returns its offset, or -ENOSPC when it does not fit below 0x100.
 */
int pci_func_add_cap(struct pci_func *f, uint8_t id, unsigned len);
/*
 * Plug f into the first free slot (or fails with -ENOSPC): assigns its
 * BARs addresses inside the windows, naturally aligned, as firmware would
 * (the command register stays 0: the guest enables decode), its INTx line
 * via cfg->intx_gsi (written to the interrupt line register). 0 or -errno.
 */
int pci_host_add(struct pci_host *h, struct pci_func *f);
/*
 * Function reset (the device's reset op calls it; the host's reset does it
 * for every function): the guest-writable header back to what
 * pci_host_add left (command 0, so BARs stop decoding; BARs at their
 * firmware addresses), MSI-X reset (msix_reset). vCPUs paused.
 */
void pci_func_reset(struct pci_func *f);
/* Drive f's INTx (level 0/1); delivered unless the command register disables it. Any thread. */
void pci_func_intx(struct pci_func *f, int level);

/* The host's own dev_ops (on the device list as "pci-host"). */
extern const struct dev_ops pci_host_dev_ops;

/*
 * A function's header and BAR state for its device's save section (the
 * device calls these from its own save/load so one section holds the
 * whole function). load is hostile-input safe: BAR sizes and kinds must
 * match what the device declared; -EINVAL otherwise. load re-reports BAR
 * decode through bar_moved.
 */
int pci_func_save(struct pci_func *f, struct snap_out *out);
int pci_func_load(struct pci_func *f, struct snap_in *in);

/*
 * Configuration accesses as the two mechanisms deliver them, for tests and
 * fuzzing: (slot, off) on bus 0, function 0; len 1, 2 or 4, naturally
 * aligned (others read all ones / are dropped). Take the host mutex.
 */
uint32_t pci_cfg_read(struct pci_host *h, unsigned slot, unsigned off, unsigned len);
void pci_cfg_write(struct pci_host *h, unsigned slot, unsigned off, unsigned len, uint32_t v);

#endif
