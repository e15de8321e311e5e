/*
 * accel/mips/accel.h: the MIPS32 software vCPU as a vmon accelerator
 * (struct accel_ops over the interpreter in cpu.c).
 *
 * Interrupt lines are the CPU's own Cause.IP2..IP6 (gsi 2..6); there is no
 * irqfd or ioeventfd (-ENOTSUP: devices pulse lines and see their doorbell
 * writes). One vCPU. Guest RAM: one region at physical 0.
 *
 * Threads: irq_line and kick from any thread (atomics, a futex wake); run
 * from the vCPU thread.
 */
#ifndef VMON_ACCEL_MIPS_H
#define VMON_ACCEL_MIPS_H

#include <stdint.h>

#include "accel/accel.h"

/* vcpu_set(ACCEL_MIPS_REGS): the boot registers. */
struct mips_regs {
	uint32_t gpr[32];
	uint32_t pc;
};

/* A software MIPS32 accelerator for ncpus (must be 1) vCPUs. 0 or -errno (logged). */
int accel_mips_create(unsigned ncpus, struct accel **out);

#endif
