/*
 * arch/x86/dsdt.asl: the PC's Differentiated System Description Table, the
 * AML part of vmon's ACPI (acpi.c builds the other tables in C around it).
 *
 * Owns: the namespace a guest OS walks: the PCI host bridge \_SB.PCI0 (its
 * bus, I/O and memory windows and its INTx routing), a motherboard resource
 * device reserving what the bridge does not claim (the ECAM window MCFG
 * names, Linux insists it be reserved; the ACPI PM block), COM1, the S5
 * sleep type that powers the VM off, and the VM generation ID device
 * \_SB.VGEN with the GPE 0 handler that tells the guest it changed.
 *
 * Compiled at build time by the Makefile with ACPICA's iasl (Debian
 * acpica-tools) into build/gen/dsdt.h, which acpi.c includes; nothing
 * generated is committed. ASL cannot include pc_layout.h (C suffixes), so
 * the numbers below are written out and each names the pc_layout.h macro
 * it must equal; tests/unit/test_acpi.c finds each of them in the AML.
 * Sources: ACPI 6.4 §6.2 (_HID, _CRS), §6.4 (resource descriptors),
 * §6.2.13 (_PRT), §7.4.2 (\_Sx), §5.6.4.1 (\_GPE._Exx), PCI Firmware 3.2
 * §4.1.5 (PNP0A08); Microsoft's "Virtual Machine Generation ID" paper for
 * VGEN (what Linux's drivers/virt/vmgenid.c reads: ADDR, then Notify 0x80).
 */
DefinitionBlock ("", "DSDT", 2, "VMON  ", "VMONDSDT", 1)
{
    /* Soft off: acpi.c's PM block stops the VM on SLP_EN with this SLP_TYP (ACPI_SLP_TYP_S5). */
    Name (\_S5, Package () { 5, 5, Zero, Zero })

    Scope (\_SB)
    {
        /* The PCI host bridge: bus 0 only, ECAM through MCFG (PCI Firmware 3.2 §4.1.2). */
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A08")) /* PCI Express root bridge */
            Name (_CID, EisaId ("PNP0A03")) /* PCI bus, for older OSes */
            Name (_UID, Zero)
            Name (_SEG, Zero)
            Name (_BBN, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x0000, 0x0000, 0x0001)
                /* Configuration mechanism #1 (pci.h: PCI_CF8_PORT, PCI_CF8_NR_PORTS). */
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                /* All port I/O but the CF8 block goes downstream (PC_PCI_IO_BASE is inside). */
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
                /* PC_PCI_MMIO_BASE, PC_PCI_MMIO_SIZE: the BAR window. */
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
                    ReadWrite, 0x00000000, 0xC0000000, 0xCFFFFFFF, 0x00000000, 0x10000000)
            })
            /*
             * INTx: slot s, pin p (0 = INTA) to GSI 16 + ((s + p) & 7), the swizzle
             * pc_layout.h states (PC_PCI_INTX_GSI_BASE, PC_PCI_INTX_GSIS); the
             * source field is Zero, so the last field is a GSI (ACPI 6.4 §6.2.13).
             */
            Name (_PRT, Package ()
            {
            Package () { 0x0000FFFF, 0, Zero, 16 }, Package () { 0x0000FFFF, 1, Zero, 17 },
            Package () { 0x0000FFFF, 2, Zero, 18 }, Package () { 0x0000FFFF, 3, Zero, 19 },
            Package () { 0x0001FFFF, 0, Zero, 17 }, Package () { 0x0001FFFF, 1, Zero, 18 },
            Package () { 0x0001FFFF, 2, Zero, 19 }, Package () { 0x0001FFFF, 3, Zero, 20 },
            Package () { 0x0002FFFF, 0, Zero, 18 }, Package () { 0x0002FFFF, 1, Zero, 19 },
            Package () { 0x0002FFFF, 2, Zero, 20 }, Package () { 0x0002FFFF, 3, Zero, 21 },
            Package () { 0x0003FFFF, 0, Zero, 19 }, Package () { 0x0003FFFF, 1, Zero, 20 },
            Package () { 0x0003FFFF, 2, Zero, 21 }, Package () { 0x0003FFFF, 3, Zero, 22 },
            Package () { 0x0004FFFF, 0, Zero, 20 }, Package () { 0x0004FFFF, 1, Zero, 21 },
            Package () { 0x0004FFFF, 2, Zero, 22 }, Package () { 0x0004FFFF, 3, Zero, 23 },
            Package () { 0x0005FFFF, 0, Zero, 21 }, Package () { 0x0005FFFF, 1, Zero, 22 },
            Package () { 0x0005FFFF, 2, Zero, 23 }, Package () { 0x0005FFFF, 3, Zero, 16 },
            Package () { 0x0006FFFF, 0, Zero, 22 }, Package () { 0x0006FFFF, 1, Zero, 23 },
            Package () { 0x0006FFFF, 2, Zero, 16 }, Package () { 0x0006FFFF, 3, Zero, 17 },
            Package () { 0x0007FFFF, 0, Zero, 23 }, Package () { 0x0007FFFF, 1, Zero, 16 },
            Package () { 0x0007FFFF, 2, Zero, 17 }, Package () { 0x0007FFFF, 3, Zero, 18 },
            Package () { 0x0008FFFF, 0, Zero, 16 }, Package () { 0x0008FFFF, 1, Zero, 17 },
            Package () { 0x0008FFFF, 2, Zero, 18 }, Package () { 0x0008FFFF, 3, Zero, 19 },
            Package () { 0x0009FFFF, 0, Zero, 17 }, Package () { 0x0009FFFF, 1, Zero, 18 },
            Package () { 0x0009FFFF, 2, Zero, 19 }, Package () { 0x0009FFFF, 3, Zero, 20 },
            Package () { 0x000AFFFF, 0, Zero, 18 }, Package () { 0x000AFFFF, 1, Zero, 19 },
            Package () { 0x000AFFFF, 2, Zero, 20 }, Package () { 0x000AFFFF, 3, Zero, 21 },
            Package () { 0x000BFFFF, 0, Zero, 19 }, Package () { 0x000BFFFF, 1, Zero, 20 },
            Package () { 0x000BFFFF, 2, Zero, 21 }, Package () { 0x000BFFFF, 3, Zero, 22 },
            Package () { 0x000CFFFF, 0, Zero, 20 }, Package () { 0x000CFFFF, 1, Zero, 21 },
            Package () { 0x000CFFFF, 2, Zero, 22 }, Package () { 0x000CFFFF, 3, Zero, 23 },
            Package () { 0x000DFFFF, 0, Zero, 21 }, Package () { 0x000DFFFF, 1, Zero, 22 },
            Package () { 0x000DFFFF, 2, Zero, 23 }, Package () { 0x000DFFFF, 3, Zero, 16 },
            Package () { 0x000EFFFF, 0, Zero, 22 }, Package () { 0x000EFFFF, 1, Zero, 23 },
            Package () { 0x000EFFFF, 2, Zero, 16 }, Package () { 0x000EFFFF, 3, Zero, 17 },
            Package () { 0x000FFFFF, 0, Zero, 23 }, Package () { 0x000FFFFF, 1, Zero, 16 },
            Package () { 0x000FFFFF, 2, Zero, 17 }, Package () { 0x000FFFFF, 3, Zero, 18 },
            Package () { 0x0010FFFF, 0, Zero, 16 }, Package () { 0x0010FFFF, 1, Zero, 17 },
            Package () { 0x0010FFFF, 2, Zero, 18 }, Package () { 0x0010FFFF, 3, Zero, 19 },
            Package () { 0x0011FFFF, 0, Zero, 17 }, Package () { 0x0011FFFF, 1, Zero, 18 },
            Package () { 0x0011FFFF, 2, Zero, 19 }, Package () { 0x0011FFFF, 3, Zero, 20 },
            Package () { 0x0012FFFF, 0, Zero, 18 }, Package () { 0x0012FFFF, 1, Zero, 19 },
            Package () { 0x0012FFFF, 2, Zero, 20 }, Package () { 0x0012FFFF, 3, Zero, 21 },
            Package () { 0x0013FFFF, 0, Zero, 19 }, Package () { 0x0013FFFF, 1, Zero, 20 },
            Package () { 0x0013FFFF, 2, Zero, 21 }, Package () { 0x0013FFFF, 3, Zero, 22 },
            Package () { 0x0014FFFF, 0, Zero, 20 }, Package () { 0x0014FFFF, 1, Zero, 21 },
            Package () { 0x0014FFFF, 2, Zero, 22 }, Package () { 0x0014FFFF, 3, Zero, 23 },
            Package () { 0x0015FFFF, 0, Zero, 21 }, Package () { 0x0015FFFF, 1, Zero, 22 },
            Package () { 0x0015FFFF, 2, Zero, 23 }, Package () { 0x0015FFFF, 3, Zero, 16 },
            Package () { 0x0016FFFF, 0, Zero, 22 }, Package () { 0x0016FFFF, 1, Zero, 23 },
            Package () { 0x0016FFFF, 2, Zero, 16 }, Package () { 0x0016FFFF, 3, Zero, 17 },
            Package () { 0x0017FFFF, 0, Zero, 23 }, Package () { 0x0017FFFF, 1, Zero, 16 },
            Package () { 0x0017FFFF, 2, Zero, 17 }, Package () { 0x0017FFFF, 3, Zero, 18 },
            Package () { 0x0018FFFF, 0, Zero, 16 }, Package () { 0x0018FFFF, 1, Zero, 17 },
            Package () { 0x0018FFFF, 2, Zero, 18 }, Package () { 0x0018FFFF, 3, Zero, 19 },
            Package () { 0x0019FFFF, 0, Zero, 17 }, Package () { 0x0019FFFF, 1, Zero, 18 },
            Package () { 0x0019FFFF, 2, Zero, 19 }, Package () { 0x0019FFFF, 3, Zero, 20 },
            Package () { 0x001AFFFF, 0, Zero, 18 }, Package () { 0x001AFFFF, 1, Zero, 19 },
            Package () { 0x001AFFFF, 2, Zero, 20 }, Package () { 0x001AFFFF, 3, Zero, 21 },
            Package () { 0x001BFFFF, 0, Zero, 19 }, Package () { 0x001BFFFF, 1, Zero, 20 },
            Package () { 0x001BFFFF, 2, Zero, 21 }, Package () { 0x001BFFFF, 3, Zero, 22 },
            Package () { 0x001CFFFF, 0, Zero, 20 }, Package () { 0x001CFFFF, 1, Zero, 21 },
            Package () { 0x001CFFFF, 2, Zero, 22 }, Package () { 0x001CFFFF, 3, Zero, 23 },
            Package () { 0x001DFFFF, 0, Zero, 21 }, Package () { 0x001DFFFF, 1, Zero, 22 },
            Package () { 0x001DFFFF, 2, Zero, 23 }, Package () { 0x001DFFFF, 3, Zero, 16 },
            Package () { 0x001EFFFF, 0, Zero, 22 }, Package () { 0x001EFFFF, 1, Zero, 23 },
            Package () { 0x001EFFFF, 2, Zero, 16 }, Package () { 0x001EFFFF, 3, Zero, 17 },
            Package () { 0x001FFFFF, 0, Zero, 23 }, Package () { 0x001FFFFF, 1, Zero, 16 },
            Package () { 0x001FFFFF, 2, Zero, 17 }, Package () { 0x001FFFFF, 3, Zero, 18 }
            })
        }

        /* Motherboard resources the OS must leave alone (PNP0C02). */
        Device (MRES)
        {
            Name (_HID, EisaId ("PNP0C02"))
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                /* PC_PCI_ECAM_BASE, PC_PCI_ECAM_SIZE: bus 0's ECAM, as MCFG says. */
                Memory32Fixed (ReadWrite, 0xE0000000, 0x00100000)
                /* PC_ACPI_PM_BASE, ACPI_PM_NR_PORTS: the PM1, reset and GPE0 registers. */
                IO (Decode16, 0x0600, 0x0600, 0x01, 0x10)
            })
        }

        /* COM1: the 16550 at 0x3F8, IRQ 4 (devices/uart16550.h). */
        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_UID, One)
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08)
                IRQNoFlags () { 4 }
            })
        }

        /*
         * The VM generation ID: 16 bytes at PC_VMGENID_ADDR (pc_layout.h,
         * reserved in e820), rewritten by vmon at each restore. Linux
         * matches "VM_GEN_COUNTER", which ACPICA makes of this _CID by
         * upper-casing it (the spelling Hyper-V and QEMU use); _HID is
         * vmon's own ACPI ID. ADDR: the address as two 32-bit halves.
         */
        Device (VGEN)
        {
            Name (_HID, "VMON0001")
            Name (_CID, "VM_Gen_Counter")
            Name (_DDN, "VM_Gen_Counter")
            Name (_UID, Zero)
            Method (ADDR, 0, NotSerialized)
            {
                Return (Package () { 0x000EF000, Zero })
            }
        }
    }

    /* GPE 0 (ACPI_GPE_VMGENID): a restore set it; tell VGEN its ID changed. */
    Scope (\_GPE)
    {
        Method (_E00, 0, NotSerialized)
        {
            Notify (\_SB.VGEN, 0x80)
        }
    }
}
