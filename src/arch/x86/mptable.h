/*
 * mptable.h: the Intel MultiProcessor Specification 1.4 table that tells a
 * guest without ACPI how many CPUs it has and how ISA interrupts (and, with
 * a PCI host, the INTx pins of every slot on bus 0) reach the IOAPIC.
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

#define MPTABLE_PCI_SLOTS   32      /* devices on PCI bus 0 */
#define MPTABLE_PCI_PINS    4       /* INTA#..INTD# */
#define MPTABLE_IOAPIC_PINS 24      /* KVM's IOAPIC */

/*
 * The PCI host the table describes: bus 0, every slot's INTA#-INTD# (pin
 * 1-4) wired to IOAPIC pin intx_gsi(slot, pin), active low, level
 * triggered (the machine's own swizzle, the one its ACPI _PRT states).
 * With a PCI host the PCI bus takes MP bus ID 0 (Linux matches MP bus IDs
 * to PCI bus numbers) and ISA ID 1; without one ISA is bus 0.
 */
struct mptable_pci {
	unsigned (*intx_gsi)(unsigned slot, unsigned pin);
};

/* Bytes mptable_build needs for ncpus (pci: NULL for a machine without PCI). */
size_t mptable_size(unsigned ncpus, const struct mptable_pci *pci);

/*
 * Build the table for ncpus CPUs (APIC IDs 0..ncpus-1, CPU 0 the BSP) to be
 * placed at guest physical address gpa. Returns the size written, or
 * -EINVAL for ncpus outside 1..MPTABLE_MAX_CPUS or a PCI pin routed past the
 * IOAPIC's pins, -ENOSPC if buf is short.
 */
int mptable_build(uint8_t *buf, size_t buflen, uint32_t gpa, unsigned ncpus,
		  const struct mptable_pci *pci);

/* 8-bit checksum as the spec defines it: sum of all bytes is zero. */
uint8_t mptable_checksum(const uint8_t *p, size_t len);

#endif
