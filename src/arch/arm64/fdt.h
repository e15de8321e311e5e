/*
 * arch/arm64/fdt.h: the device tree vmon's arm64 board hands the kernel
 * (x0 at entry), built with libfdt from a plain description, so unit tests
 * build it on any host and parse it back.
 *
 * Nodes: / (linux,dummy-virt), memory, cpus (PSCI enable-method, MPIDR
 * reg), intc (arm,gic-v3: distributor + one redistributor region), timer
 * (arm,armv8-timer PPIs), psci (arm,psci-0.2 over hvc), chosen (bootargs,
 * stdout-path, linux,initrd-start/end), the ns16550a UART and one
 * virtio,mmio node per device.
 */
#ifndef VMON_ARM64_FDT_H
#define VMON_ARM64_FDT_H

#include <stddef.h>
#include <stdint.h>

#include "arch/arm64/layout.h"

#define ARM64_FDT_MAX     0x10000 /* 64 KiB: far above what 251 CPUs and 16 devices take */
#define ARM64_FDT_GIC_PHANDLE 1

struct arm64_fdt_dev {
	uint64_t base, size;
	unsigned spi; /* SPI index: INTID 32 + spi */
};

struct arm64_fdt_desc {
	uint64_t ram_base, ram_size;
	const char *bootargs;
	uint64_t initrd_start, initrd_end; /* both 0: no initrd */
	struct arm64_gic_layout gic;       /* gic.ncpus is the CPU count */
	uint64_t uart_base;
	unsigned uart_spi;
	const struct arm64_fdt_dev *virtio;
	unsigned nr_virtio;
};

/* Build the tree into buf[0..size). 0, or -E2BIG (too small) / -EINVAL (libfdt refused). */
int arm64_fdt_build(const struct arm64_fdt_desc *d, void *buf, size_t size);

#endif
