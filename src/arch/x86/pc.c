/*
 * arch/x86/pc.c: the PC machine vmon builds on x86-64 (see pc.h, arch.h).
 *
 * Owns: the x86 RAM layout (boot.c's x86_mem_init), the platform devices a
 * PC always has (16550 COM1, the i8042 whose reset line ends the VM, the
 * CMOS RTC, the POST port Linux's io_delay writes), which interrupt lines
 * and MMIO windows devices get, announcing virtio-mmio devices on the
 * kernel command line (virtio_mmio.device=), loading the kernel with its
 * zero page or PVH start info, the MP table and the ACPI tables (acpi.c,
 * with its PM block, whose S5 and reset registers end the VM, and the
 * vmgenid page with its GPE, arch_ops.genid), and the
 * vCPUs' CPUID and boot registers (cpu.c). Does not own the in-kernel irqchip and PIT (the
 * accelerator creates them with the VM) nor the devices' behaviour.
 *
 * Threads: the thread building the VM; ctrl_alt_del from the VMM thread.
 */
#include "arch/x86/pc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/cpu.h"
#include "arch/x86/mptable.h"
#include "arch/x86/pc_layout.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/uart16550.h"
#include "pci/pci.h"
#include "snapshot/genid.h"
#include "loadfile.h"
#include "log.h"
#include "util.h"

#define PC_PORT_POST 0x80 /* POST diagnostic port: Linux's io_delay writes it */

/*
 * ISA IRQs free for devices: not the PIT (0), keyboard (1), cascade (2),
 * COM2/COM1 (3, 4), RTC (8), the ACPI SCI (9, ACPI_SCI_IRQ: level-triggered
 * in the MADT, so no edge device may share it) or the IDE pair (14, 15 kept
 * free for symmetry with PC firmware). Edge-triggered, as the MP table says.
 */
static const unsigned pc_free_irqs[] = { 5, 6, 7, 10, 11, 12 };

struct pc {
	struct machine *m;
	struct accel *a;
	struct accel_info info;
	struct kvm_cpuid2 *cpuid;  /* the accelerator's supported set, read-only */
	struct boot_info boot;
	struct uart *serial0;      /* owned by the device list */
	struct i8042 *kbd;         /* owned by the device list */
	struct acpi_pm *pm;        /* owned by the device list; its GPE 0 announces a new genid */
	unsigned next_irq;         /* index into pc_free_irqs */
	uint64_t next_mmio;
	char cmdline[VM_CMDLINE_MAX]; /* the user's, plus announcements */
};

/* The POST port: writes are ignored, reads float high; no state. */
static const struct dev_ops pc_post_ops = {
	.kind = "post-port",
	.read = dev_nop_read,
	.write = dev_nop_write,
	.reset = dev_nop_reset,
	.save = dev_nop_save,
	.load = dev_nop_load,
	.stats = dev_nop_stats,
	.destroy = dev_nop_destroy,
};

static void pc_kbd_reset(void *ctx)
{
	struct pc *pc = ctx;

	pc->m->ops->stop(pc->m->ctx, VM_EXIT_GUEST_RESET, "guest reset (keyboard controller)");
}

/* Map a device on the PIO bus and put it on the list (which then owns it). */
static int pc_add(struct pc *pc, uint64_t port, uint64_t n, const struct dev_ops *ops,
		  void *state, const char *name)
{
	int ret = machine_map(pc->m->pio, port, n, ops, state, name);

	if (ret) {
		ops->destroy(state);
		return ret;
	}
	return machine_add_dev(pc->m, ops, state, name);
}

/* PCI INTx swizzle over IOAPIC inputs 16-23 (pc_layout.h; the DSDT's _PRT says the same). */
static unsigned pc_intx_gsi(unsigned slot, unsigned pin)
{
	return PC_PCI_INTX_GSI_BASE + ((slot + pin - 1) & (PC_PCI_INTX_GSIS - 1));
}

/* The PCI host bridge: CF8/CFC, ECAM, the BAR windows of pc_layout.h. */
static int pc_pci(struct pc *pc)
{
	const struct pci_host_cfg cfg = {
		.ecam_base = PC_PCI_ECAM_BASE,
		.mmio_base = PC_PCI_MMIO_BASE, .mmio_size = PC_PCI_MMIO_SIZE,
		.io_base = PC_PCI_IO_BASE, .io_size = PC_PCI_IO_SIZE,
		.has_cf8 = 1,
		.intx_gsi = pc_intx_gsi,
	};

	return pci_host_create(pc->m, &cfg, &pc->m->pci); /* logs its own failure */
}

/*
 * Writes that need no immediate effect, coalesced by the accelerator (no
 * exit): the CF8 address latch, whose every use is a CFC access that
 * exits; the CMOS index at 0x70, whose use is a 0x71 (or 0x70 read)
 * access that exits. Bit 7 of 0x70, the NMI mask on a PC, does nothing
 * here (rtc.c keeps only the index), so deferring it changes nothing. A
 * later reset register at 0xCF9 would have to leave this zone. Where the
 * accelerator has no such path the writes exit as before.
 */
static void pc_coalesce(struct pc *pc)
{
	const struct accel_ops *o = pc->a->ops;

	if (!o->coalesce_pio)
		return;
	if (o->coalesce_pio(pc->a, PCI_CF8_PORT, 4))
		return; /* -ENOTSUP said once by the accelerator */
	o->coalesce_pio(pc->a, RTC_PORT_BASE, 1);
}

static int pc_platform(struct pc *pc, const struct arch_console *con)
{
	struct irq_line com1 = machine_irq_line(pc->m, UART_COM1_IRQ);
	struct irq_line kbd = machine_irq_line(pc->m, I8042_IRQ);
	struct rtc *rtc;
	int ret;

	ret = uart_new(&com1, con->out_fd, con->rx_space_fd, &pc->serial0);
	if (!ret)
		ret = pc_add(pc, UART_COM1_BASE, UART_NR_PORTS, &uart_ops, pc->serial0, "serial0");
	if (ret)
		return ret;
	ret = i8042_new(&kbd, pc_kbd_reset, pc, &pc->kbd);
	if (!ret)
		ret = pc_add(pc, I8042_DATA_PORT, I8042_NR_PORTS, &i8042_ops, pc->kbd, "i8042");
	if (ret)
		return ret;
	ret = rtc_new(&rtc);
	if (!ret)
		ret = pc_add(pc, RTC_PORT_BASE, RTC_NR_PORTS, &rtc_ops, rtc, "rtc");
	if (!ret)
		ret = pc_add(pc, PC_PORT_POST, 1, &pc_post_ops, NULL, "post");
	if (!ret)
		ret = acpi_pm_new(pc->m, &pc->pm);
	if (!ret)
		ret = pc_add(pc, PC_ACPI_PM_BASE, ACPI_PM_NR_PORTS, &acpi_pm_ops, pc->pm, "acpi-pm");
	if (!ret)
		ret = pc_pci(pc);
	if (!ret)
		pc_coalesce(pc); /* the ports' devices exist: their writes have somewhere to go */
	return ret;
}

static void pc_destroy(void *priv)
{
	struct pc *pc = priv;

	if (!pc)
		return;
	free(pc->cpuid);
	free(pc);
}

static int pc_create(struct machine *m, struct accel *a, const struct vm_config *c,
		     const struct arch_console *con, void **priv)
{
	struct pc *pc = calloc(1, sizeof(*pc));
	int ret;

	if (!pc)
		return -ENOMEM;
	pc->m = m;
	pc->a = a;
	pc->next_mmio = PC_MMIO_BASE;
	a->ops->info(a, &pc->info);
	snprintf(pc->cmdline, sizeof(pc->cmdline), "%s", c->cmdline);
	pc->cpuid = cpu_supported_cpuid(a);
	ret = pc->cpuid ? pc_platform(pc, con) : -EIO;
	if (ret) {
		pc_destroy(pc);
		return ret;
	}
	*priv = pc;
	return 0;
}

static int pc_irq_alloc(void *priv, unsigned *gsi)
{
	struct pc *pc = priv;

	if (pc->next_irq >= ARRAY_SIZE(pc_free_irqs)) {
		log_err("no free interrupt line left for another device (%zu in use)",
			ARRAY_SIZE(pc_free_irqs));
		return -ENOSPC;
	}
	*gsi = pc_free_irqs[pc->next_irq++];
	return 0;
}

static int pc_mmio_alloc(void *priv, uint64_t size, uint64_t *base)
{
	struct pc *pc = priv;
	uint64_t b = (pc->next_mmio + size - 1) & ~(size - 1); /* naturally aligned */

	if (!size || (size & (size - 1)) || b + size > PC_MMIO_END) {
		log_err("no MMIO window of %" PRIu64 " bytes left", size);
		return -ENOSPC;
	}
	*base = b;
	pc->next_mmio = b + size;
	return 0;
}

/* Linux's virtio-mmio command-line form (drivers/virtio/virtio_mmio.c): SIZE@BASE:IRQ. */
static int pc_announce(void *priv, const char *kind, uint64_t base, uint64_t size, unsigned gsi)
{
	struct pc *pc = priv;
	size_t used = strlen(pc->cmdline);
	int n;

	if (strcmp(kind, "virtio-mmio"))
		return -ENOTSUP;
	n = snprintf(pc->cmdline + used, sizeof(pc->cmdline) - used,
		     " virtio_mmio.device=%" PRIu64 "K@0x%" PRIx64 ":%u", size >> 10, base, gsi);
	if (n < 0 || (size_t)n >= sizeof(pc->cmdline) - used) {
		pc->cmdline[used] = '\0';
		log_err("kernel command line too long with the %s device at 0x%" PRIx64, kind, base);
		return -E2BIG;
	}
	return 0;
}

static int pc_write_mptable(struct pc *pc, unsigned ncpus)
{
	/* the PCI host's INTx routing, for guests without ACPI (acpi=off) */
	const struct mptable_pci pci = { .intx_gsi = pc_intx_gsi };
	size_t len = mptable_size(ncpus, &pci);
	uint8_t *mpt = malloc(len);
	int n = mpt ? mptable_build(mpt, len, BOOT_MPTABLE_ADDR, ncpus, &pci) : -ENOMEM;
	int ret;

	if (n < 0 || (size_t)n > BOOT_MPTABLE_MAX) {
		log_err("cannot build an MP table for %u CPUs", ncpus);
		free(mpt);
		return n < 0 ? n : -ENOSPC;
	}
	ret = gmem_write(pc->m->mem, BOOT_MPTABLE_ADDR, mpt, (size_t)n);
	free(mpt);
	return ret;
}

/* The ACPI tables at PC_ACPI_BASE, the RSDP first (boot.c hands its address to the kernel). */
static int pc_write_acpi(struct pc *pc, unsigned ncpus)
{
	size_t len = acpi_size(ncpus);
	uint8_t *t = malloc(len);
	int n = t ? acpi_build(t, len, PC_ACPI_BASE, ncpus) : -ENOMEM;
	int ret;

	if (n < 0 || (size_t)n > PC_ACPI_MAX) {
		log_err("cannot build the ACPI tables for %u CPUs", ncpus);
		free(t);
		return n < 0 ? n : -ENOSPC;
	}
	ret = gmem_write(pc->m->mem, PC_ACPI_BASE, t, (size_t)n);
	free(t);
	return ret;
}

/* The first boot's VM generation ID: random, so two VMs never share one. */
static int pc_write_genid(struct pc *pc)
{
	uint8_t id[SNAP_GENID_LEN];

	snap_genid_new(id);
	return gmem_write(pc->m->mem, PC_VMGENID_ADDR, id, sizeof(id));
}

/*
 * A restore's new generation ID (arch_ops.genid): into the vmgenid page,
 * then GPE 0, whose _E00 notifies \_SB.VGEN when the guest takes the SCI.
 */
static int pc_genid(void *priv, const uint8_t genid[SNAP_GENID_LEN])
{
	struct pc *pc = priv;
	int ret = gmem_write(pc->m->mem, PC_VMGENID_ADDR, genid, SNAP_GENID_LEN);

	if (ret) {
		log_err("writing the VM generation ID at 0x%llx: %s",
			(unsigned long long)PC_VMGENID_ADDR, strerror(-ret));
		return ret;
	}
	return acpi_pm_raise_gpe(pc->pm, ACPI_GPE_VMGENID); /* logs its own failure */
}

static int pc_load_kernel(void *priv, const struct vm_config *c)
{
	struct pc *pc = priv;
	struct boot_images img = { .cmdline = pc->cmdline, .prefer_elf64 = c->elf64_entry };
	uint8_t *kernel = NULL, *initrd = NULL;
	uint64_t ram = pc->m->mem->ram_size;
	int ret;

	ret = loadfile_read("kernel", c->kernel, ram, &kernel, &img.kernel_len);
	if (!ret && c->initrd[0])
		ret = loadfile_read("initrd", c->initrd, ram, &initrd, &img.initrd_len);
	if (!ret) {
		img.kernel = kernel;
		img.initrd = initrd;
		ret = boot_load(pc->m->mem, &img, &pc->boot); /* logs its own one-line reason */
	}
	if (!ret)
		ret = pc_write_mptable(pc, c->ncpus);
	if (!ret)
		ret = pc_write_acpi(pc, c->ncpus);
	if (!ret)
		ret = pc_write_genid(pc);
	if (!ret)
		ret = boot_set_rsdp(pc->m->mem, &pc->boot, PC_ACPI_BASE);
	if (!ret) {
		log_info("kernel %s: %s, entry 0x%" PRIx64 ", initrd %zu KiB", c->kernel,
			 boot_format_name(pc->boot.format), pc->boot.entry, img.initrd_len >> 10);
		if (pc->boot.format != BOOT_FMT_ELF64 && pc->info.linux_caveat)
			log_warn("%s", pc->info.linux_caveat);
	}
	free(kernel);
	free(initrd);
	return ret;
}

static int pc_vcpu_init(void *priv, struct accel_vcpu *v, unsigned id, unsigned ncpus)
{
	struct pc *pc = priv;
	int ret = cpu_init(v, pc->cpuid, id, ncpus);

	/* Every vCPU is set before any runs, so a SIPI is never overwritten. */
	if (!ret && id == 0)
		ret = cpu_set_boot_regs(v, &pc->boot);
	return ret;
}

static struct uart *pc_console(void *priv)
{
	return ((struct pc *)priv)->serial0;
}

static int pc_ctrl_alt_del(void *priv)
{
	return i8042_send_ctrl_alt_del(((struct pc *)priv)->kbd);
}

const struct arch_ops x86_pc_arch = {
	.name = "x86_64",
	.mem_init = x86_mem_init,
	.create = pc_create,
	.irq_alloc = pc_irq_alloc,
	.mmio_alloc = pc_mmio_alloc,
	.announce = pc_announce,
	.load_kernel = pc_load_kernel,
	.vcpu_init = pc_vcpu_init,
	.console = pc_console,
	.ctrl_alt_del = pc_ctrl_alt_del,
	.genid = pc_genid,
	.destroy = pc_destroy,
};
