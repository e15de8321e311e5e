/*
 * test_arm64_fdt.c: unit tests for src/arch/arm64/fdt.c and layout.c: the
 * device tree the arm64 board hands Linux, parsed back with libfdt as the
 * kernel would (every node and property it needs: memory, cpus with PSCI
 * and MPIDR reg, GICv3 distributor + redistributors, timer PPIs, psci,
 * chosen with bootargs/stdout-path/initrd, the ns16550a, virtio,mmio), and
 * the GICv3 redistributor layout for 1..N vCPUs. Runs on any host.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/fdt.h"
#include "arch/arm64/layout.h"
#include "test.h"

static const struct arm64_fdt_dev virtio2[2] = {
	{ .base = ARM64_MMIO_BASE, .size = 0x200, .spi = 1 },
	{ .base = ARM64_MMIO_BASE + 0x200, .size = 0x200, .spi = 2 },
};

static void *build(unsigned ncpus, uint64_t rd_start, uint64_t rd_end, unsigned nvirtio)
{
	struct arm64_fdt_desc d = { .ram_base = ARM64_RAM_BASE, .ram_size = 256 << 20,
				    .bootargs = "console=ttyS0 panic=-1",
				    .initrd_start = rd_start, .initrd_end = rd_end,
				    .uart_base = ARM64_UART_BASE, .uart_spi = ARM64_UART_SPI,
				    .virtio = virtio2, .nr_virtio = nvirtio };
	void *buf = malloc(ARM64_FDT_MAX);

	if (!buf || arm64_gic_layout(ncpus, &d.gic) || arm64_fdt_build(&d, buf, ARM64_FDT_MAX)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static uint64_t be64_at(const void *p, int i)
{
	const fdt32_t *c = p;

	return ((uint64_t)fdt32_to_cpu(c[2 * i]) << 32) | fdt32_to_cpu(c[2 * i + 1]);
}

static const char *str(const void *fdt, const char *path, const char *prop)
{
	int off = fdt_path_offset(fdt, path);

	return off < 0 ? NULL : fdt_getprop(fdt, off, prop, NULL);
}

static int is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

TEST(tree_is_valid_and_root_says_2_2_cells)
{
	void *fdt = build(1, 0, 0, 0);

	CHECK(fdt != NULL);
	if (!fdt)
		return;
	CHECK_EQ(fdt_check_header(fdt), 0);
	CHECK(is(str(fdt, "/", "compatible"), "linux,dummy-virt"));
	CHECK_EQ(fdt_address_cells(fdt, 0), 2);
	CHECK_EQ(fdt_size_cells(fdt, 0), 2);
	free(fdt);
}

TEST(memory_node)
{
	void *fdt = build(1, 0, 0, 0);
	int off, len;
	const void *reg;

	if (!(fdt)) { CHECK(0); return; }
	off = fdt_path_offset(fdt, "/memory@40000000");
	CHECK(off >= 0);
	CHECK(is(fdt_getprop(fdt, off, "device_type", NULL), "memory"));
	reg = fdt_getprop(fdt, off, "reg", &len);
	CHECK_EQ(len, 16);
	if (reg && len == 16) {
		CHECK_EQ(be64_at(reg, 0), ARM64_RAM_BASE);
		CHECK_EQ(be64_at(reg, 1), 256 << 20);
	}
	free(fdt);
}

TEST(cpus_use_psci_and_kvm_mpidr)
{
	void *fdt = build(18, 0, 0, 0);
	int cpus, n = 0, off;

	if (!(fdt)) { CHECK(0); return; }
	cpus = fdt_path_offset(fdt, "/cpus");
	CHECK(cpus >= 0);
	fdt_for_each_subnode(off, fdt, cpus) {
		const fdt32_t *reg = fdt_getprop(fdt, off, "reg", NULL);

		CHECK(is(fdt_getprop(fdt, off, "device_type", NULL), "cpu"));
		CHECK(is(fdt_getprop(fdt, off, "enable-method", NULL), "psci"));
		CHECK(reg != NULL);
		if (reg)
			CHECK_EQ(fdt32_to_cpu(*reg), arm64_mpidr((unsigned)n));
		n++;
	}
	CHECK_EQ(n, 18);
	/* vCPU 16 is Aff1 = 1, Aff0 = 0 */
	CHECK(fdt_path_offset(fdt, "/cpus/cpu@100") >= 0);
	free(fdt);
}

TEST(gic_v3_distributor_and_redistributors)
{
	void *fdt = build(4, 0, 0, 0);
	int off, len;
	const void *reg;

	if (!(fdt)) { CHECK(0); return; }
	off = fdt_path_offset(fdt, "/intc@8000000");
	CHECK(off >= 0);
	CHECK_EQ(fdt_node_check_compatible(fdt, off, "arm,gic-v3"), 0);
	CHECK(fdt_getprop(fdt, off, "interrupt-controller", NULL) != NULL);
	CHECK_EQ(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(fdt, off, "#interrupt-cells", NULL)), 3);
	CHECK_EQ(fdt_get_phandle(fdt, off), ARM64_FDT_GIC_PHANDLE);
	reg = fdt_getprop(fdt, off, "reg", &len);
	CHECK_EQ(len, 32);
	if (reg && len == 32) {
		CHECK_EQ(be64_at(reg, 0), ARM64_GIC_DIST_BASE);
		CHECK_EQ(be64_at(reg, 1), 0x10000);
		CHECK_EQ(be64_at(reg, 2), ARM64_GIC_REDIST_BASE);
		CHECK_EQ(be64_at(reg, 3), 4 * 0x20000);
	}
	CHECK_EQ(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(fdt, 0, "interrupt-parent", NULL)),
		 ARM64_FDT_GIC_PHANDLE);
	free(fdt);
}

TEST(timer_has_four_ppis_and_psci_uses_hvc)
{
	void *fdt = build(1, 0, 0, 0);
	const fdt32_t *irq;
	int len;

	if (!(fdt)) { CHECK(0); return; }
	CHECK(is(str(fdt, "/timer", "compatible"), "arm,armv8-timer"));
	irq = fdt_getprop(fdt, fdt_path_offset(fdt, "/timer"), "interrupts", &len);
	CHECK_EQ(len, 48);
	if (irq && len == 48) {
		CHECK_EQ(fdt32_to_cpu(irq[0]), 1); /* PPI */
		CHECK_EQ(fdt32_to_cpu(irq[1]), 13);
		CHECK_EQ(fdt32_to_cpu(irq[4]), 14);
		CHECK_EQ(fdt32_to_cpu(irq[7]), 11); /* the virtual timer KVM gives the guest */
		CHECK_EQ(fdt32_to_cpu(irq[10]), 10);
	}
	CHECK(is(str(fdt, "/psci", "compatible"), "arm,psci-0.2"));
	CHECK(is(str(fdt, "/psci", "method"), "hvc"));
	free(fdt);
}

TEST(chosen_bootargs_stdout_and_initrd)
{
	void *fdt = build(1, 0x4f000000, 0x4f123456, 0);
	int off, len;
	const fdt64_t *v;

	if (!(fdt)) { CHECK(0); return; }
	CHECK(is(str(fdt, "/chosen", "bootargs"), "console=ttyS0 panic=-1"));
	CHECK(is(str(fdt, "/chosen", "stdout-path"), "/uart@1000000"));
	off = fdt_path_offset(fdt, "/chosen");
	v = fdt_getprop(fdt, off, "linux,initrd-start", &len);
	CHECK(v && len == 8 && fdt64_ld(v) == 0x4f000000);
	v = fdt_getprop(fdt, off, "linux,initrd-end", &len);
	CHECK(v && len == 8 && fdt64_ld(v) == 0x4f123456);
	/* stdout-path names a node that exists */
	CHECK(fdt_path_offset(fdt, str(fdt, "/chosen", "stdout-path")) >= 0);
	free(fdt);
}

TEST(no_initrd_no_initrd_properties)
{
	void *fdt = build(1, 0, 0, 0);

	if (!(fdt)) { CHECK(0); return; }
	CHECK(str(fdt, "/chosen", "linux,initrd-start") == NULL);
	free(fdt);
}

TEST(uart_is_ns16550a_on_spi_0)
{
	void *fdt = build(1, 0, 0, 0);
	int off, len;
	const fdt32_t *irq;

	if (!(fdt)) { CHECK(0); return; }
	off = fdt_path_offset(fdt, "/uart@1000000");
	CHECK(off >= 0);
	CHECK_EQ(fdt_node_check_compatible(fdt, off, "ns16550a"), 0);
	CHECK(fdt_getprop(fdt, off, "clock-frequency", NULL) != NULL);
	irq = fdt_getprop(fdt, off, "interrupts", &len);
	CHECK(irq && len == 12 && fdt32_to_cpu(irq[0]) == 0 && fdt32_to_cpu(irq[1]) == 0 &&
	      fdt32_to_cpu(irq[2]) == 4);
	free(fdt);
}

TEST(virtio_mmio_nodes_one_per_device)
{
	void *fdt = build(1, 0, 0, 2);
	int off, n = 0;

	if (!(fdt)) { CHECK(0); return; }
	fdt_for_each_subnode(off, fdt, 0) {
		const void *reg;
		const fdt32_t *irq;

		if (fdt_node_check_compatible(fdt, off, "virtio,mmio"))
			continue;
		reg = fdt_getprop(fdt, off, "reg", NULL);
		irq = fdt_getprop(fdt, off, "interrupts", NULL);
		CHECK(reg && be64_at(reg, 0) == virtio2[n].base && be64_at(reg, 1) == 0x200);
		CHECK(irq && fdt32_to_cpu(irq[1]) == virtio2[n].spi);
		n++;
	}
	CHECK_EQ(n, 2);
	free(fdt);
}

TEST(too_small_buffer_is_e2big)
{
	struct arm64_fdt_desc d = { .ram_base = ARM64_RAM_BASE, .ram_size = 1 << 28,
				    .uart_base = ARM64_UART_BASE };
	char buf[256];

	CHECK_EQ(arm64_gic_layout(1, &d.gic), 0);
	CHECK_EQ(arm64_fdt_build(&d, buf, sizeof(buf)), -E2BIG);
}

TEST(largest_machine_fits)
{
	void *fdt = build(ARM64_MAX_CPUS, 0x40000000, 0x40001000, 2);

	CHECK(fdt != NULL);
	free(fdt);
}

TEST(gic_layout_1_to_max)
{
	struct arm64_gic_layout g;

	for (unsigned n = 1; n <= ARM64_MAX_CPUS; n++) {
		CHECK_EQ(arm64_gic_layout(n, &g), 0);
		CHECK_EQ(g.ncpus, n);
		CHECK_EQ(g.dist_base + g.dist_size <= g.redist_base, 1);
		CHECK_EQ(g.redist_size, (uint64_t)n * 0x20000);
		/* 64 KiB aligned (arm-vgic-v3.rst), below the virtio windows */
		CHECK_EQ(g.redist_base % 0x10000, 0);
		CHECK_EQ(g.redist_base + g.redist_size <= ARM64_MMIO_BASE, 1);
	}
	CHECK_EQ(arm64_gic_layout(0, &g), -EINVAL);
	CHECK_EQ(arm64_gic_layout(ARM64_MAX_CPUS + 1, &g), -EINVAL);
	CHECK_EQ(ARM64_MAX_CPUS, 251);
}

TEST(mpidr_affinity_fields)
{
	CHECK_EQ(arm64_mpidr(0), 0);
	CHECK_EQ(arm64_mpidr(15), 15);
	CHECK_EQ(arm64_mpidr(16), 0x100);
	CHECK_EQ(arm64_mpidr(122), 0x70a);
}

TEST_MAIN(T(tree_is_valid_and_root_says_2_2_cells), T(memory_node), T(cpus_use_psci_and_kvm_mpidr),
	  T(gic_v3_distributor_and_redistributors), T(timer_has_four_ppis_and_psci_uses_hvc),
	  T(chosen_bootargs_stdout_and_initrd), T(no_initrd_no_initrd_properties),
	  T(uart_is_ns16550a_on_spi_0), T(virtio_mmio_nodes_one_per_device),
	  T(too_small_buffer_is_e2big), T(largest_machine_fits), T(gic_layout_1_to_max),
	  T(mpidr_affinity_fields))
