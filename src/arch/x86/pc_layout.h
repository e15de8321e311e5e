/*
 * arch/x86/pc_layout.h: where the PC puts things in the guest's physical
 * and I/O address spaces, shared by pc.c (which maps them), acpi.c (which
 * describes them: MCFG, the DSDT's _CRS and _PRT, FADT) and boot.c (which
 * reserves them in e820). Everything sits in the hole below 4 GiB above
 * X86_HOLE_START (boot.h), so guest RAM is never behind it.
 */
#ifndef VMON_X86_PC_LAYOUT_H
#define VMON_X86_PC_LAYOUT_H

/* MMIO hole, from 3 GiB. */
#define PC_PCI_MMIO_BASE    0xc0000000ULL /* PCI BAR window (memory BARs, 32- and 64-bit) */
#define PC_PCI_MMIO_SIZE    0x10000000ULL /* 256 MiB */
#define PC_MMIO_BASE        0xd0000000ULL /* virtio-mmio windows (one page each) */
#define PC_MMIO_END         0xe0000000ULL
#define PC_PCI_ECAM_BASE    0xe0000000ULL /* ECAM of bus 0 (MCFG, reserved in e820) */
#define PC_PCI_ECAM_SIZE    0x00100000ULL /* 1 MiB: one bus */
#define PC_IOAPIC_BASE      0xfec00000ULL /* in-kernel IOAPIC (KVM) */
#define PC_LAPIC_BASE       0xfee00000ULL /* in-kernel local APICs */

/* Port I/O. */
#define PC_PCI_IO_BASE      0xc000 /* PCI BAR window for I/O BARs */
#define PC_PCI_IO_SIZE      0x4000
#define PC_ACPI_PM_BASE     0x600  /* ACPI PM/sleep registers (acpi.c owns the block) */

/*
 * PCI INTx: slot s, pin p (1 = INTA) goes to IOAPIC input 16 + ((s + p - 1) & 7),
 * level-triggered, active low, the standard swizzle over the IOAPIC's PCI pins.
 * The DSDT's _PRT and the MP table say the same.
 */
#define PC_PCI_INTX_GSI_BASE 16
#define PC_PCI_INTX_GSIS     8

/* Low memory: ACPI tables (RSDP first, 16-byte aligned) in the BIOS area Linux scans. */
#define PC_ACPI_BASE        0xe0000
#define PC_ACPI_MAX         0xf000  /* up to the vmgenid page */
/*
 * The VM generation ID (vmgenid, acpi.h): 16 bytes at the start of the last
 * page below the MP table, inside the range boot.c reserves in e820
 * [PC_ACPI_BASE, 1 MiB), so the guest never uses it as RAM; the DSDT's
 * \_SB.VGEN.ADDR returns this address. Nothing else is placed in the page.
 */
#define PC_VMGENID_ADDR     0xef000
#define PC_VMGENID_SIZE     0x1000

#endif
