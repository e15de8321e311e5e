/*
 * mptable.h: the Intel MultiProcessor Specification 1.4 table that tells a
 * guest without ACPI how many CPUs it has and how ISA interrupts reach the
 * IOAPIC.
 *
 * Owns: building the floating pointer and configuration table into a
 * buffer. The caller (vm.c) copies it to BOOT_MPTABLE_ADDR, the reserved
 * BIOS area at 0xf0000 that Linux scans (Intel MP 1.4 §4: the floating
 * pointer may sit in the EBDA's first KiB, the last KiB of base memory or
 * 0xf0000-0xfffff; only the last holds a table for hundreds of CPUs).
 * Threads: main thread, before vCPUs run.
 */
#ifndef VMON_X86_MPTABLE_H
#define VMON_X86_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_MAX_CPUS   254     /* 8-bit APIC IDs; the IOAPIC takes the next ID */
#define MPTABLE_IOAPIC_ADDR 0xfec00000u
#define MPTABLE_LAPIC_ADDR  0xfee00000u

/* Bytes mptable_build needs for ncpus. */
size_t mptable_size(unsigned ncpus);

/*
 * Build the table for ncpus CPUs (APIC IDs 0..ncpus-1, CPU 0 the BSP) to be
 * placed at guest physical address gpa. Returns the size written, or
 * -EINVAL for ncpus outside 1..MPTABLE_MAX_CPUS, -ENOSPC if buf is short.
 */
int mptable_build(uint8_t *buf, size_t buflen, uint32_t gpa, unsigned ncpus);

/* 8-bit checksum as the spec defines it: sum of all bytes is zero. */
uint8_t mptable_checksum(const uint8_t *p, size_t len);

#endif
