/*
 * arch/arm64/virt.h: vmon's arm64 virt board behind the arch seam
 * (arch/arch.h): RAM at 1 GiB, in-kernel GICv3, architected timer, PSCI,
 * an ns16550a on MMIO, virtio-mmio devices, all described by a device tree.
 */
#ifndef VMON_ARM64_VIRT_H
#define VMON_ARM64_VIRT_H

#include "arch/arch.h"

extern const struct arch_ops arm64_virt_arch;

#endif
