/*
 * arch/arch.h: the arch seam. Everything that differs between a PC, an
 * arm64 virt machine and a MIPS board sits behind these ops: guest RAM
 * layout, the platform devices that are always there, where a device's
 * interrupt line and MMIO window go, how the guest learns of devices it
 * cannot probe (x86: the command line; later FDT or ACPI), kernel loading
 * and boot tables, vCPU set-up. vm.c calls them; nothing outside
 * src/arch/ includes an arch's own headers.
 *
 * Threads: all ops run on the thread building the VM, before vCPUs run,
 * except ctrl_alt_del (the VMM thread, any time).
 */
#ifndef VMON_ARCH_H
#define VMON_ARCH_H

#include <stdint.h>

#include "accel/accel.h"
#include "gmem.h"
#include "machine.h"
#include "vmconfig.h"

struct uart;

/* What the host console hands the platform UART. */
struct arch_console {
	int out_fd;      /* guest output goes here; -1 drops it */
	int rx_space_fd; /* eventfd the UART writes when it has room for input again */
};

struct arch_ops {
	const char *name; /* "x86_64" */
	/* Map guest RAM of ram_size bytes in this arch's layout. 0 or -errno. */
	int (*mem_init)(struct gmem *m, uint64_t ram_size);
	/*
	 * Build the platform on m: its fixed devices (on m->devs), its line
	 * and window allocators, the command line devices get announced on.
	 * a is the VM's accelerator (already created). *priv: the arch's state.
	 */
	int (*create)(struct machine *m, struct accel *a, const struct vm_config *c,
		      const struct arch_console *con, void **priv);
	int (*irq_alloc)(void *priv, unsigned *gsi);
	int (*mmio_alloc)(void *priv, uint64_t size, uint64_t *base);
	int (*announce)(void *priv, const char *kind, uint64_t base, uint64_t size, unsigned gsi);
	/* Load kernel and initrd from c into RAM, write boot tables. 0 or -errno (logged). */
	int (*load_kernel)(void *priv, const struct vm_config *c);
	/* Set vCPU id's initial state (all vCPUs are set before any runs). */
	int (*vcpu_init)(void *priv, struct accel_vcpu *v, unsigned id, unsigned ncpus);
	/* The UART the host console feeds. */
	struct uart *(*console)(void *priv);
	/* Press Ctrl-Alt-Del: 0, -ENOSPC (input queue full) or -ENOTSUP. */
	int (*ctrl_alt_del)(void *priv);
	/*
	 * Tell the guest its VM generation ID changed (snapshot/genid.h): a
	 * restore calls it once, vCPUs not yet running. NULL: no such device.
	 */
	int (*genid)(void *priv, const uint8_t genid[16]);
	/* Free the arch state (its devices are on the device list, destroyed there). */
	void (*destroy)(void *priv);
	/*
	 * Create the VM's accelerator (a software vCPU); NULL: KVM on
	 * c->kvm_path. 0 or -errno (logged).
	 */
	int (*accel_create)(const struct vm_config *c, struct accel **a);
};

/* The arch vmon was built for. */
const struct arch_ops *arch_native(void);
/*
 * The arch called name (vm_config.arch): "" and "native" are arch_native();
 * NULL for a name vmon does not know (vm_config_validate refuses those).
 */
const struct arch_ops *arch_by_name(const char *name);

#endif
