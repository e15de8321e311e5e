/*
 * arch/x86/acpi.h: the PC's ACPI: the tables a guest OS reads to find its
 * CPUs, the IOAPIC, the PCI host bridge (ECAM through MCFG), COM1 and how
 * to power off; and the small PM block (PM1 event/control, reset register)
 * at PC_ACPI_PM_BASE through which it does so.
 *
 * Owns: building RSDP, XSDT, FADT, FACS, MADT, MCFG and the DSDT (compiled
 * from dsdt.asl by iasl at build time) into a buffer for a given guest
 * address; the PM device's registers (PM1, reset, GPE0), state and save/load.
 * Does not own where the tables go in guest memory (pc.c copies them to
 * PC_ACPI_BASE, boot.c passes the RSDP address to the kernel and reserves
 * the area in e820), the PCI host itself (pci/), nor the MP table, which
 * stays for guests booted with acpi=off (mptable.c); both say the same.
 *
 * Threads: acpi_build on the thread building the VM; the PM device's bus
 * handlers on vCPU threads (its mutex is a leaf; the machine stop is
 * called unlocked, as the i8042's reset), reset/save/load with vCPUs paused.
 */
#ifndef VMON_X86_ACPI_H
#define VMON_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "../../dev.h"
#include "../../machine.h"

#define ACPI_MAX_CPUS     254 /* xAPIC IDs; the IOAPIC takes ID ncpus, as in the MP table */
#define ACPI_SCI_IRQ      9   /* ISA IRQ of the SCI (FADT SCI_INT): pc.c keeps it off devices */

/* The PM block at PC_ACPI_PM_BASE: offsets of its registers. */
#define ACPI_PM_NR_PORTS  0x10
#define ACPI_PM1_STS      0x00 /* PM1a_EVT_BLK: status (16 bits), write 1 to clear */
#define ACPI_PM1_EN       0x02 /*               enable (16 bits) */
#define ACPI_PM1_CNT      0x04 /* PM1a_CNT_BLK (16 bits) */
#define ACPI_PM_RESET     0x08 /* FADT RESET_REG (8 bits) */
#define ACPI_GPE0_STS     0x0c /* GPE0_BLK: status byte (GPEs 0-7), write 1 to clear */
#define ACPI_GPE0_EN      0x0d /*           enable byte */
#define ACPI_GPE0_BLK_LEN 2    /* FADT GPE0_BLK_LEN: status half, enable half */
#define ACPI_GPE_VMGENID  0    /* GPE 0: dsdt.asl's \_GPE._E00 notifies \_SB.VGEN */
#define ACPI_PM1_EVT_LEN  4
#define ACPI_PM1_CNT_LEN  2

/* PM1 control bits (ACPI 6.4 §4.8.3.2.1) and what dsdt.asl's \_S5 says. */
#define ACPI_PM1_SCI_EN       0x0001
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK 0x1c00
#define ACPI_PM1_SLP_EN       0x2000
#define ACPI_SLP_TYP_S5       5
#define ACPI_RESET_VALUE      0x01 /* FADT RESET_VALUE */

/* Bytes acpi_build needs for ncpus (the most it can write). */
size_t acpi_size(unsigned ncpus);

/*
 * Build every table for ncpus CPUs into buf, to be placed at guest physical
 * address gpa (16-byte aligned, below 1 MiB so the 32-bit pointers hold and
 * Linux's BIOS-area scan finds the RSDP at gpa). Returns the bytes written,
 * or -EINVAL (ncpus outside 1..ACPI_MAX_CPUS, gpa unaligned or too high),
 * -ENOSPC (buf shorter than acpi_size(ncpus)).
 */
int acpi_build(uint8_t *buf, size_t buflen, uint64_t gpa, unsigned ncpus);

/* The DSDT as iasl compiled it (a complete table, header included). */
const uint8_t *acpi_dsdt(size_t *len);

/* ACPI table checksum: the byte that makes the sum of len bytes zero. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

/*
 * The PM block. It drives the SCI (ACPI_SCI_IRQ, level) high while a
 * GPE0 status bit and its enable bit are both set (or a PM1 status bit and
 * its enable bit); the guest clears a status bit by writing 1 to it. A write of SLP_EN with SLP_TYP S5 to PM1_CNT powers the VM
 * off, a write of ACPI_RESET_VALUE to the reset register resets it: both
 * stop m with VM_EXIT_GUEST_RESET, a clean end, like the i8042's reset.
 * Other sleep types are ignored (logged, rate-limited). 0 or -errno.
 */
struct acpi_pm;
extern const struct dev_ops acpi_pm_ops;
int acpi_pm_new(const struct machine *m, struct acpi_pm **out);
/* Set GPE0 status bit gpe (0..7) as hardware would: the SCI rises if it is enabled. */
int acpi_pm_raise_gpe(struct acpi_pm *pm, unsigned gpe);

#endif
