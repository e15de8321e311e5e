/*
 * cpu.h: x86 vCPU set-up: CPUID, MSRs, FPU, local APIC LVTs and the boot
 * register state.
 *
 * Owns: turning KVM's supported CPUID into each vCPU's (APIC IDs, topology),
 * and struct boot_info into registers. Does not own the vCPU fd or thread
 * (vcpu.c, accel/) nor guest memory contents (boot.c wrote the GDT/page
 * tables). Threads: called on the thread building the VM, before any vCPU runs.
 */
#ifndef VMON_X86_CPU_H
#define VMON_X86_CPU_H

#include <linux/kvm.h>

#include "accel/accel.h"
#include "boot.h"

/*
 * The CPUID vmon's guests get: KVM_GET_SUPPORTED_CPUID plus the bits KVM
 * emulates but leaves to user space (TSC-deadline timer). Fetched once per
 * VM and shared read-only.
 */
struct kvm_cpuid2 *cpu_supported_cpuid(struct accel *a);

/*
 * Configure vCPU id of ncpus: CPUID (from supported), MSRs, FPU, LAPIC
 * LINT0=ExtINT/LINT1=NMI. Returns 0 or -errno (logged).
 */
int cpu_init(struct accel_vcpu *v, const struct kvm_cpuid2 *supported, unsigned id,
	     unsigned ncpus);

/* Registers for the boot vCPU as the protocol in info says. 0 or -errno. */
int cpu_set_boot_regs(struct accel_vcpu *v, const struct boot_info *info);

#endif
