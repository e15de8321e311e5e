/*
 * arch/arm64/layout.h: the guest physical map of vmon's arm64 virt board
 * and the GICv3 layout for N vCPUs. Pure data and arithmetic, so the unit
 * tests check it on any host.
 *
 *   0x0100_0000  ns16550a UART (8 byte registers, reg-shift 0, as kvmtool)
 *   0x0800_0000  GICv3 distributor (64 KiB)
 *   0x080a_0000  GICv3 redistributors, 128 KiB per vCPU (RD + SGI frames)
 *   0x0a00_0000  virtio-mmio windows, allocated upwards
 *   0x4000_0000  RAM (2 MiB aligned, as the Image protocol wants its base)
 */
#ifndef VMON_ARM64_LAYOUT_H
#define VMON_ARM64_LAYOUT_H

#include <stdint.h>

#define ARM64_UART_BASE        0x01000000ULL
#define ARM64_UART_SPI         0  /* SPI 0 = INTID 32 */
#define ARM64_UART_CLOCK       1843200 /* Hz: the classic 16550 crystal */
#define ARM64_GIC_DIST_BASE    0x08000000ULL
#define ARM64_GIC_DIST_SIZE    0x10000ULL   /* GICv3 arch. spec: GICD is 64 KiB */
#define ARM64_GIC_REDIST_BASE  0x080a0000ULL
#define ARM64_GIC_REDIST_STRIDE 0x20000ULL  /* RD_base + SGI_base frames, 64 KiB each */
#define ARM64_GIC_REDIST_END   0x0a000000ULL
#define ARM64_MMIO_BASE        0x0a000000ULL
#define ARM64_MMIO_END         0x10000000ULL
#define ARM64_RAM_BASE         0x40000000ULL
#define ARM64_RAM_LIMIT        (1ULL << 40) /* KVM's default 40-bit IPA space */
#define ARM64_GIC_NR_IRQS      128 /* 16 SGIs + 16 PPIs + 96 SPIs */
#define ARM64_NR_SPIS          (ARM64_GIC_NR_IRQS - 32)
#define ARM64_MAX_CPUS \
	((unsigned)((ARM64_GIC_REDIST_END - ARM64_GIC_REDIST_BASE) / ARM64_GIC_REDIST_STRIDE))

/* Architected timer PPIs as the device tree numbers them (INTID - 16): KVM's defaults. */
#define ARM64_PPI_TIMER_SEC  13 /* INTID 29 */
#define ARM64_PPI_TIMER_PHYS 14 /* INTID 30 */
#define ARM64_PPI_TIMER_VIRT 11 /* INTID 27 */
#define ARM64_PPI_TIMER_HYP  10 /* INTID 26 */

struct arm64_gic_layout {
	uint64_t dist_base, dist_size;
	uint64_t redist_base, redist_size; /* one region: ncpus * ARM64_GIC_REDIST_STRIDE */
	unsigned ncpus;
};

/* The GIC of an ncpus machine. 0, or -EINVAL for 0 or more than ARM64_MAX_CPUS vCPUs. */
int arm64_gic_layout(unsigned ncpus, struct arm64_gic_layout *out);

/* MPIDR_EL1 affinity KVM gives vCPU id (Aff0 = id[3:0], Aff1 = id[11:4], Aff2 = id[19:12]). */
uint64_t arm64_mpidr(unsigned id);

#endif
