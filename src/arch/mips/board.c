/*
 * arch/mips/board.c: the MIPS32 board (--arch mips32, see board.h).
 *
 * Owns: the RAM layout (one region at physical 0), the platform UART, the
 * CPU interrupt lines and MMIO windows devices get, their device-tree nodes,
 * loading the ELF kernel, the initrd and the DT, and the boot registers
 * (UHI: a0 = -2, a1 = the DT's kseg0 address). The accelerator is the
 * software vCPU (accel/mips/), whatever the host.
 *
 * Threads: the thread building the VM.
 */
#include "arch/mips/board.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/mips/accel.h"
#include "devices/uart16550.h"
#include "loadfile.h"
#include "log.h"

#define MIPS_DT_MAX (64u << 10)
/* Skips the delay-loop calibration (the CPU runs as fast as the host lets it). */
#define MIPS_DEFAULT_LPJ " lpj=100000"

static const unsigned mips_free_irqs[] = { 2, 3, 5, 6 };

struct mips_board {
	struct machine *m;
	struct uart *serial0;      /* owned by the device list */
	struct mips_dev devs[MIPS_MAX_DEVS];
	unsigned nr_devs, next_irq;
	uint32_t next_mmio;
	uint32_t entry, dt_va;
	char cmdline[VM_CMDLINE_MAX + sizeof(MIPS_DEFAULT_LPJ)];
};

static int mips_mem_init(struct gmem *m, uint64_t ram_size)
{
	if (ram_size > MIPS_MAX_RAM) {
		log_err("--arch mips32: at most %u MiB of RAM", MIPS_MAX_RAM >> 20);
		return -EINVAL;
	}
	gmem_init(m);
	return gmem_add_anon(m, 0, ram_size);
}

static int mips_accel_create(const struct vm_config *c, struct accel **a)
{
	return accel_mips_create(c->ncpus, a);
}

static void mips_destroy(void *priv)
{
	free(priv);
}

static int mips_create(struct machine *m, struct accel *a, const struct vm_config *c,
		       const struct arch_console *con, void **priv)
{
	struct mips_board *b = calloc(1, sizeof(*b));
	struct irq_line line = machine_irq_line(m, MIPS_UART_IRQ);
	int ret;

	(void)a;
	if (!b)
		return -ENOMEM;
	b->m = m;
	b->next_mmio = MIPS_MMIO_BASE;
	snprintf(b->cmdline, sizeof(b->cmdline), "%s%s", c->cmdline,
		 strstr(c->cmdline, "lpj=") ? "" : MIPS_DEFAULT_LPJ);
	ret = uart_new(&line, con->out_fd, con->rx_space_fd, &b->serial0);
	if (!ret) {
		ret = machine_map(m->mmio, MIPS_UART_BASE, UART_NR_PORTS, &uart_ops, b->serial0,
				  "serial0");
		if (ret)
			uart_ops.destroy(b->serial0);
		else
			ret = machine_add_dev(m, &uart_ops, b->serial0, "serial0");
	}
	if (ret) {
		free(b);
		return ret;
	}
	*priv = b;
	return 0;
}

static int mips_irq_alloc(void *priv, unsigned *gsi)
{
	struct mips_board *b = priv;

	if (b->next_irq >= sizeof(mips_free_irqs) / sizeof(mips_free_irqs[0])) {
		log_err("no free MIPS CPU interrupt line left for another device");
		return -ENOSPC;
	}
	*gsi = mips_free_irqs[b->next_irq++];
	return 0;
}

static int mips_mmio_alloc(void *priv, uint64_t size, uint64_t *base)
{
	struct mips_board *b = priv;
	uint64_t at = (b->next_mmio + size - 1) & ~(size - 1);

	if (!size || (size & (size - 1)) || at + size > MIPS_MMIO_END) {
		log_err("no MMIO window of %" PRIu64 " bytes left", size);
		return -ENOSPC;
	}
	*base = at;
	b->next_mmio = (uint32_t)(at + size);
	return 0;
}

static int mips_announce(void *priv, const char *kind, uint64_t base, uint64_t size, unsigned gsi)
{
	struct mips_board *b = priv;

	if (strcmp(kind, "virtio-mmio"))
		return -ENOTSUP;
	if (b->nr_devs >= MIPS_MAX_DEVS)
		return -ENOSPC;
	b->devs[b->nr_devs++] = (struct mips_dev){ .base = (uint32_t)base, .size = (uint32_t)size,
						   .irq = gsi };
	return 0;
}

/* Kernel at its ELF addresses, then the DT, then the initrd (page aligned). */
static int mips_place(struct mips_board *b, const struct vm_config *c, const uint8_t *kernel,
		      size_t klen, const uint8_t *initrd, size_t ilen)
{
	const struct gmem *mem = b->m->mem;
	uint32_t ram = (uint32_t)mem->ram_size, end, dt_pa, rd_pa = 0;
	uint8_t *hva = gmem_ptr(mem, 0, ram);
	struct mips_dt_info info = { .ram_size = ram, .bootargs = b->cmdline,
				     .devs = b->devs, .nr_devs = b->nr_devs };
	char err[160];
	int n;

	if (!hva)
		return -EFAULT;
	if (mips_elf_load(kernel, klen, hva, ram, &b->entry, &end, err, sizeof(err))) {
		log_err("kernel %s: %s", c->kernel, err);
		return -EINVAL;
	}
	dt_pa = (end + 0xffffu) & ~0xffffu;
	if (ilen) {
		rd_pa = dt_pa + MIPS_DT_MAX;
		if (rd_pa > ram || ilen > ram - rd_pa) {
			log_err("initrd %s (%zu KiB) does not fit in RAM after the kernel", c->initrd,
				ilen >> 10);
			return -E2BIG;
		}
		memcpy(hva + rd_pa, initrd, ilen);
		info.initrd_start = rd_pa;
		info.initrd_end = rd_pa + (uint32_t)ilen;
	}
	if (dt_pa + MIPS_DT_MAX > ram) {
		log_err("no room for the device tree after the kernel in %u MiB", ram >> 20);
		return -E2BIG;
	}
	n = mips_dt_build(&info, hva + dt_pa, MIPS_DT_MAX);
	if (n < 0) {
		log_err("device tree does not fit in %u KiB", MIPS_DT_MAX >> 10);
		return n;
	}
	b->dt_va = 0x80000000u | dt_pa;
	log_info("kernel %s: MIPS ELF, entry 0x%08x, DT %d bytes at 0x%08x, initrd %zu KiB",
		 c->kernel, b->entry, n, dt_pa, ilen >> 10);
	return 0;
}

static int mips_load_kernel(void *priv, const struct vm_config *c)
{
	struct mips_board *b = priv;
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t klen = 0, ilen = 0;
	uint64_t ram = b->m->mem->ram_size;
	int ret;

	ret = loadfile_read("kernel", c->kernel, ram, &kernel, &klen);
	if (!ret && c->initrd[0])
		ret = loadfile_read("initrd", c->initrd, ram, &initrd, &ilen);
	if (!ret)
		ret = mips_place(b, c, kernel, klen, initrd, ilen);
	free(kernel);
	free(initrd);
	return ret;
}

static int mips_vcpu_init(void *priv, struct accel_vcpu *v, unsigned id, unsigned ncpus)
{
	struct mips_board *b = priv;
	struct mips_regs r = { .pc = b->entry };

	(void)ncpus;
	if (id)
		return -EINVAL;
	r.gpr[4] = (uint32_t)-2; /* UHI: a1 holds a device tree */
	r.gpr[5] = b->dt_va;
	return v->a->ops->vcpu_set(v, ACCEL_MIPS_REGS, &r, sizeof(r));
}

static struct uart *mips_console(void *priv)
{
	return ((struct mips_board *)priv)->serial0;
}

static int mips_ctrl_alt_del(void *priv)
{
	(void)priv;
	return -ENOTSUP;
}

const struct arch_ops mips_board_arch = {
	.name = "mips32",
	.mem_init = mips_mem_init,
	.create = mips_create,
	.irq_alloc = mips_irq_alloc,
	.mmio_alloc = mips_mmio_alloc,
	.announce = mips_announce,
	.load_kernel = mips_load_kernel,
	.vcpu_init = mips_vcpu_init,
	.console = mips_console,
	.ctrl_alt_del = mips_ctrl_alt_del,
	.destroy = mips_destroy,
	.accel_create = mips_accel_create,
};
