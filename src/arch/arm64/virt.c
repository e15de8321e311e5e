/*
 * arch/arm64/virt.c: the arm64 virt board (see virt.h, arch.h, layout.h).
 *
 * Owns: the RAM layout, the platform UART (an ns16550a on the MMIO bus:
 * the stock arm64 kernel's 8250 driver finds it through the device tree),
 * SPI and MMIO window allocation, recording virtio-mmio devices for the
 * device tree, loading the Image (text offset, image size), the initrd and
 * the FDT, and vCPU start state (PSCI 0.2; vCPU 0 at the Image entry with
 * x0 = FDT, the others off until PSCI CPU_ON). Does not own the vGIC, the
 * timer or PSCI themselves (the accelerator's, accel/kvm_arm64.c).
 *
 * RAM placement: kernel at RAM base + text_offset; FDT in the last 2 MiB
 * (booting.rst: 8-byte aligned, within one 2 MiB block); initrd just below.
 *
 * Threads: the thread building the VM.
 */
#include "arch/arm64/virt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/fdt.h"
#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "devices/uart16550.h"
#include "loadfile.h"
#include "log.h"
#include "util.h"

#define ARM64_VIRTIO_MAX 16
#define ARM64_FDT_BLOCK  0x200000ULL /* the FDT's 2 MiB block at the top of RAM */
#define ARM64_RAM_MIN    (16ULL << 20)
/* PSTATE at entry (booting.rst): EL1h, D/A/I/F masked. */
#define ARM64_PSTATE_EL1H_DAIF 0x3c5

struct arm64_virt {
	struct machine *m;
	struct accel *a;
	struct uart *uart;         /* owned by the device list */
	struct arm64_gic_layout gic;
	unsigned next_spi;
	uint64_t next_mmio;
	struct arm64_fdt_dev virtio[ARM64_VIRTIO_MAX];
	unsigned nr_virtio;
	uint64_t entry, fdt_addr;
	char cmdline[VM_CMDLINE_MAX];
};

static int arm64_mem_init(struct gmem *m, uint64_t ram_size)
{
	int ret;

	gmem_init(m);
	if (ram_size < ARM64_RAM_MIN || (ram_size & (ARM64_FDT_BLOCK - 1)))
		return -EINVAL; /* whole 2 MiB blocks, so the FDT block is aligned */
	if (ram_size > ARM64_RAM_LIMIT - ARM64_RAM_BASE)
		return -E2BIG;
	ret = gmem_add_anon(m, ARM64_RAM_BASE, ram_size);
	if (ret)
		gmem_free(m);
	return ret;
}

static void arm64_destroy(void *priv)
{
	free(priv);
}

static int arm64_create(struct machine *m, struct accel *a, const struct vm_config *c,
			const struct arch_console *con, void **priv)
{
	struct arm64_virt *b = calloc(1, sizeof(*b));
	struct irq_line line = machine_irq_line(m, ARM64_UART_SPI);
	int ret;

	if (!b)
		return -ENOMEM;
	b->m = m;
	b->a = a;
	b->next_spi = ARM64_UART_SPI + 1;
	b->next_mmio = ARM64_MMIO_BASE;
	snprintf(b->cmdline, sizeof(b->cmdline), "%s", c->cmdline);
	ret = arm64_gic_layout(c->ncpus, &b->gic);
	if (ret) {
		log_err("--cpus %u: the arm64 board's GICv3 has redistributors for 1-%u vCPUs",
			c->ncpus, ARM64_MAX_CPUS);
		free(b);
		return ret;
	}
	ret = uart_new(&line, con->out_fd, con->rx_space_fd, &b->uart);
	if (!ret) {
		ret = machine_map(m->mmio, ARM64_UART_BASE, UART_NR_PORTS, &uart_ops, b->uart,
				  "serial0");
		if (ret)
			uart_ops.destroy(b->uart);
		else
			ret = machine_add_dev(m, &uart_ops, b->uart, "serial0");
	}
	if (ret) {
		free(b);
		return ret;
	}
	*priv = b;
	return 0;
}

static int arm64_irq_alloc(void *priv, unsigned *gsi)
{
	struct arm64_virt *b = priv;

	if (b->next_spi >= ARM64_NR_SPIS) {
		log_err("no free SPI left for another device (%u in use)", b->next_spi);
		return -ENOSPC;
	}
	*gsi = b->next_spi++;
	return 0;
}

static int arm64_mmio_alloc(void *priv, uint64_t size, uint64_t *base)
{
	struct arm64_virt *b = priv;
	uint64_t at;

	if (!size || (size & (size - 1)) || size > ARM64_MMIO_END - ARM64_MMIO_BASE) {
		log_err("no MMIO window of %" PRIu64 " bytes left", size);
		return -ENOSPC;
	}
	at = (b->next_mmio + size - 1) & ~(size - 1);
	if (at > ARM64_MMIO_END - size) {
		log_err("no MMIO window of %" PRIu64 " bytes left", size);
		return -ENOSPC;
	}
	*base = at;
	b->next_mmio = at + size;
	return 0;
}

/* Devices are described in the device tree built at load_kernel. */
static int arm64_announce(void *priv, const char *kind, uint64_t base, uint64_t size,
			  unsigned gsi)
{
	struct arm64_virt *b = priv;

	if (strcmp(kind, "virtio-mmio"))
		return -ENOTSUP;
	if (b->nr_virtio >= ARM64_VIRTIO_MAX) {
		log_err("the arm64 board describes at most %d virtio-mmio devices", ARM64_VIRTIO_MAX);
		return -ENOSPC;
	}
	b->virtio[b->nr_virtio++] = (struct arm64_fdt_dev){ .base = base, .size = size, .spi = gsi };
	return 0;
}

static int arm64_load_image(struct arm64_virt *b, const uint8_t *k, size_t klen, uint64_t limit)
{
	struct arm64_image img;
	char why[160];
	int ret = arm64_image_parse(k, klen, &img, why, sizeof(why));

	if (ret) {
		log_err("kernel: %s", why);
		return ret;
	}
	ret = arm64_image_place(&img, ARM64_RAM_BASE, limit, &b->entry);
	if (ret) {
		log_err("kernel: %" PRIu64 " MiB image does not fit below the initrd/FDT in %" PRIu64
			" MiB of RAM", img.image_size >> 20, b->m->mem->ram_size >> 20);
		return ret;
	}
	return gmem_write(b->m->mem, b->entry, k, klen);
}

static int arm64_load_kernel(void *priv, const struct vm_config *c)
{
	struct arm64_virt *b = priv;
	uint64_t ram = b->m->mem->ram_size, top = ARM64_RAM_BASE + ram;
	struct arm64_fdt_desc d = { .ram_base = ARM64_RAM_BASE, .ram_size = ram,
				    .bootargs = b->cmdline, .gic = b->gic,
				    .uart_base = ARM64_UART_BASE, .uart_spi = ARM64_UART_SPI,
				    .virtio = b->virtio, .nr_virtio = b->nr_virtio };
	uint8_t *kernel = NULL, *initrd = NULL, *fdt = NULL;
	size_t klen = 0, ilen = 0;
	uint64_t limit;
	int ret;

	b->fdt_addr = top - ARM64_FDT_BLOCK;
	limit = b->fdt_addr;
	ret = loadfile_read("kernel", c->kernel, ram, &kernel, &klen);
	if (!ret && c->initrd[0])
		ret = loadfile_read("initrd", c->initrd, ram, &initrd, &ilen);
	if (!ret && ilen) {
		d.initrd_start = (b->fdt_addr - ilen) & ~0xfffULL;
		d.initrd_end = d.initrd_start + ilen;
		if (ilen > b->fdt_addr - ARM64_RAM_BASE) {
			log_err("initrd: %zu MiB does not fit in RAM", ilen >> 20);
			ret = -ENOSPC;
		} else {
			limit = d.initrd_start;
			ret = gmem_write(b->m->mem, d.initrd_start, initrd, ilen);
		}
	}
	if (!ret)
		ret = arm64_load_image(b, kernel, klen, limit);
	if (!ret)
		ret = (fdt = malloc(ARM64_FDT_MAX)) ? 0 : -ENOMEM;
	if (!ret)
		ret = arm64_fdt_build(&d, fdt, ARM64_FDT_MAX);
	if (!ret)
		ret = gmem_write(b->m->mem, b->fdt_addr, fdt, ARM64_FDT_MAX);
	if (!ret)
		log_info("kernel %s: arm64 Image at 0x%" PRIx64 ", FDT at 0x%" PRIx64
			 ", initrd %zu KiB, %u virtio-mmio", c->kernel, b->entry, b->fdt_addr,
			 ilen >> 10, b->nr_virtio);
	free(kernel);
	free(initrd);
	free(fdt);
	return ret;
}

static int arm64_vcpu_init(void *priv, struct accel_vcpu *v, unsigned id, unsigned ncpus)
{
	struct arm64_virt *b = priv;
	const struct accel_ops *ops = v->a->ops;
	struct accel_arm64_init init = { .power_off = id != 0, .ncpus = ncpus,
					 .gic_dist = b->gic.dist_base,
					 .gic_redist = b->gic.redist_base,
					 .gic_nr_irqs = ARM64_GIC_NR_IRQS };
	struct accel_arm64_core core = { .x = { b->fdt_addr }, .pc = b->entry,
					 .pstate = ARM64_PSTATE_EL1H_DAIF };
	int ret = ops->vcpu_set(v, (enum accel_reg)ACCEL_ARM64_INIT, &init, sizeof(init));

	/* booting.rst: x0 = FDT address, x1-x3 = 0, MMU off, EL1 (or EL2). */
	if (!ret && id == 0)
		ret = ops->vcpu_set(v, (enum accel_reg)ACCEL_ARM64_CORE, &core, sizeof(core));
	return ret;
}

static struct uart *arm64_console(void *priv)
{
	return ((struct arm64_virt *)priv)->uart;
}

static int arm64_ctrl_alt_del(void *priv)
{
	(void)priv;
	return -ENOTSUP; /* no keyboard controller on this board */
}

const struct arch_ops arm64_virt_arch = {
	.name = "arm64",
	.mem_init = arm64_mem_init,
	.create = arm64_create,
	.irq_alloc = arm64_irq_alloc,
	.mmio_alloc = arm64_mmio_alloc,
	.announce = arm64_announce,
	.load_kernel = arm64_load_kernel,
	.vcpu_init = arm64_vcpu_init,
	.console = arm64_console,
	.ctrl_alt_del = arm64_ctrl_alt_del,
	.destroy = arm64_destroy,
};
