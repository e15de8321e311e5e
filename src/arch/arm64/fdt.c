/*
 * arch/arm64/fdt.c: the arm64 board's device tree (see fdt.h), written
 * with libfdt's sequential-write API. Bindings: Documentation/devicetree/
 * bindings/ (interrupt-controller/arm,gic-v3.yaml, timer/arm,arch_timer.yaml,
 * arm/psci.yaml, serial/8250.yaml, virtio/mmio.yaml). No state; any thread.
 */
#include "arch/arm64/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>

#include "log.h"

/* dt-bindings/interrupt-controller/arm-gic.h and irq.h */
#define FDT_GIC_SPI 0
#define FDT_GIC_PPI 1
#define FDT_IRQ_EDGE_RISING 1
#define FDT_IRQ_LEVEL_HIGH  4
#define FDT_IRQ_LEVEL_LOW   8

/* The first libfdt error wins; later calls are skipped. */
struct fdtw {
	void *buf;
	int err;
};

static void fw_chk(struct fdtw *w, int ret)
{
	if (!w->err && ret < 0)
		w->err = ret;
}

static void fw_begin(struct fdtw *w, const char *name)
{
	if (!w->err)
		fw_chk(w, fdt_begin_node(w->buf, name));
}

static void fw_end(struct fdtw *w)
{
	if (!w->err)
		fw_chk(w, fdt_end_node(w->buf));
}

static void fw_str(struct fdtw *w, const char *name, const char *val)
{
	if (!w->err)
		fw_chk(w, fdt_property_string(w->buf, name, val));
}

static void fw_u32(struct fdtw *w, const char *name, uint32_t val)
{
	if (!w->err)
		fw_chk(w, fdt_property_u32(w->buf, name, val));
}

static void fw_u64(struct fdtw *w, const char *name, uint64_t val)
{
	if (!w->err)
		fw_chk(w, fdt_property_u64(w->buf, name, val));
}

static void fw_empty(struct fdtw *w, const char *name)
{
	if (!w->err)
		fw_chk(w, fdt_property(w->buf, name, NULL, 0));
}

/* A property of n big-endian cells. */
static void fw_cells(struct fdtw *w, const char *name, const uint32_t *cells, unsigned n)
{
	fdt32_t be[16];

	for (unsigned i = 0; i < n && i < 16; i++)
		be[i] = cpu_to_fdt32(cells[i]);
	if (!w->err)
		fw_chk(w, fdt_property(w->buf, name, be, (int)(n * sizeof(fdt32_t))));
}

/* reg = <base size> pairs in the root's 2+2 cells. */
static void fw_reg(struct fdtw *w, const uint64_t *pairs, unsigned npairs)
{
	uint32_t c[16];

	for (unsigned i = 0; i < npairs && i < 4; i++) {
		c[4 * i] = (uint32_t)(pairs[2 * i] >> 32);
		c[4 * i + 1] = (uint32_t)pairs[2 * i];
		c[4 * i + 2] = (uint32_t)(pairs[2 * i + 1] >> 32);
		c[4 * i + 3] = (uint32_t)pairs[2 * i + 1];
	}
	fw_cells(w, "reg", c, 4 * npairs);
}

static void fw_node_name(char *out, size_t n, const char *what, uint64_t addr)
{
	snprintf(out, n, "%s@%llx", what, (unsigned long long)addr);
}

static void arm64_fdt_cpus(struct fdtw *w, unsigned ncpus)
{
	char name[32];

	fw_begin(w, "cpus");
	fw_u32(w, "#address-cells", 1);
	fw_u32(w, "#size-cells", 0);
	for (unsigned i = 0; i < ncpus; i++) {
		uint64_t mpidr = arm64_mpidr(i);

		fw_node_name(name, sizeof(name), "cpu", mpidr);
		fw_begin(w, name);
		fw_str(w, "device_type", "cpu");
		fw_str(w, "compatible", "arm,arm-v8");
		fw_str(w, "enable-method", "psci");
		fw_u32(w, "reg", (uint32_t)mpidr);
		fw_end(w);
	}
	fw_end(w);
}

static void arm64_fdt_gic_timer_psci(struct fdtw *w, const struct arm64_gic_layout *g)
{
	const uint64_t reg[4] = { g->dist_base, g->dist_size, g->redist_base, g->redist_size };
	const uint32_t timer[12] = {
		FDT_GIC_PPI, ARM64_PPI_TIMER_SEC, FDT_IRQ_LEVEL_LOW,
		FDT_GIC_PPI, ARM64_PPI_TIMER_PHYS, FDT_IRQ_LEVEL_LOW,
		FDT_GIC_PPI, ARM64_PPI_TIMER_VIRT, FDT_IRQ_LEVEL_LOW,
		FDT_GIC_PPI, ARM64_PPI_TIMER_HYP, FDT_IRQ_LEVEL_LOW,
	};
	char name[40];

	fw_node_name(name, sizeof(name), "intc", g->dist_base);
	fw_begin(w, name);
	fw_str(w, "compatible", "arm,gic-v3");
	fw_u32(w, "#interrupt-cells", 3);
	fw_empty(w, "interrupt-controller");
	fw_u32(w, "#redistributor-regions", 1);
	fw_reg(w, reg, 2);
	fw_u32(w, "phandle", ARM64_FDT_GIC_PHANDLE);
	fw_end(w);

	fw_begin(w, "timer");
	fw_str(w, "compatible", "arm,armv8-timer");
	fw_cells(w, "interrupts", timer, 12);
	fw_empty(w, "always-on");
	fw_end(w);

	fw_begin(w, "psci");
	fw_str(w, "compatible", "arm,psci-0.2");
	fw_str(w, "method", "hvc");
	fw_end(w);
}

static void arm64_fdt_devices(struct fdtw *w, const struct arm64_fdt_desc *d)
{
	char name[40];
	uint64_t reg[2] = { d->uart_base, 0x1000 };
	uint32_t irq[3] = { FDT_GIC_SPI, d->uart_spi, FDT_IRQ_LEVEL_HIGH };

	fw_node_name(name, sizeof(name), "uart", d->uart_base);
	fw_begin(w, name);
	fw_str(w, "compatible", "ns16550a");
	fw_reg(w, reg, 1);
	fw_cells(w, "interrupts", irq, 3);
	fw_u32(w, "clock-frequency", ARM64_UART_CLOCK);
	fw_end(w);

	for (unsigned i = 0; i < d->nr_virtio; i++) {
		const struct arm64_fdt_dev *v = &d->virtio[i];

		reg[0] = v->base;
		reg[1] = v->size;
		/* Rising edge: vmon's virtio devices signal through irqfd pulses. */
		irq[1] = v->spi;
		irq[2] = FDT_IRQ_EDGE_RISING;
		fw_node_name(name, sizeof(name), "virtio_mmio", v->base);
		fw_begin(w, name);
		fw_str(w, "compatible", "virtio,mmio");
		fw_reg(w, reg, 1);
		fw_cells(w, "interrupts", irq, 3);
		fw_empty(w, "dma-coherent");
		fw_end(w);
	}
}

static void arm64_fdt_chosen(struct fdtw *w, const struct arm64_fdt_desc *d)
{
	char stdout_path[40];

	fw_node_name(stdout_path, sizeof(stdout_path), "/uart", d->uart_base);
	fw_begin(w, "chosen");
	fw_str(w, "bootargs", d->bootargs ? d->bootargs : "");
	fw_str(w, "stdout-path", stdout_path);
	if (d->initrd_end > d->initrd_start) {
		fw_u64(w, "linux,initrd-start", d->initrd_start);
		fw_u64(w, "linux,initrd-end", d->initrd_end);
	}
	fw_end(w);
}

int arm64_fdt_build(const struct arm64_fdt_desc *d, void *buf, size_t size)
{
	struct fdtw w = { .buf = buf };
	const uint64_t mem[2] = { d->ram_base, d->ram_size };
	char name[40];

	if (size > ARM64_FDT_MAX || d->gic.ncpus == 0)
		return -EINVAL;
	fw_chk(&w, fdt_create(buf, (int)size));
	fw_chk(&w, w.err ? 0 : fdt_finish_reservemap(buf));
	fw_begin(&w, "");
	fw_str(&w, "compatible", "linux,dummy-virt");
	fw_u32(&w, "#address-cells", 2);
	fw_u32(&w, "#size-cells", 2);
	fw_u32(&w, "interrupt-parent", ARM64_FDT_GIC_PHANDLE);

	fw_node_name(name, sizeof(name), "memory", d->ram_base);
	fw_begin(&w, name);
	fw_str(&w, "device_type", "memory");
	fw_reg(&w, mem, 1);
	fw_end(&w);

	arm64_fdt_cpus(&w, d->gic.ncpus);
	arm64_fdt_gic_timer_psci(&w, &d->gic);
	arm64_fdt_devices(&w, d);
	arm64_fdt_chosen(&w, d);
	fw_end(&w);
	if (!w.err)
		fw_chk(&w, fdt_finish(buf));
	if (w.err) {
		log_err("device tree: %s", fdt_strerror(w.err));
		return w.err == -FDT_ERR_NOSPACE ? -E2BIG : -EINVAL;
	}
	return 0;
}
