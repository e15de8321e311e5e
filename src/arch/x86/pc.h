/*
 * arch/x86/pc.h: the x86-64 PC machine behind the arch seam (arch/arch.h).
 */
#ifndef VMON_X86_PC_H
#define VMON_X86_PC_H

#include "arch/arch.h"

extern const struct arch_ops x86_pc_arch;

#endif
