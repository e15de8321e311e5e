/*
 * mptable.c: MP table builder (see mptable.h). Layout and entry formats
 * from the Intel MultiProcessor Specification 1.4, chapter 4.
 */
#include "mptable.h"

#include <errno.h>
#include <string.h>

#include "../../util.h"

#define MPF_SIZE       16 /* floating pointer structure, §4.1 */
#define MPC_HDR_SIZE   44 /* configuration table header, §4.2 */
#define MPC_CPU_SIZE   20 /* processor entry, §4.3.1 */
#define MPC_SMALL_SIZE 8  /* bus, IOAPIC, interrupt assignment entries */

#define MP_SPEC_REV    4  /* version 1.4 */
#define MPC_CPU        0
#define MPC_BUS        1
#define MPC_IOAPIC     2
#define MPC_IOINTSRC   3
#define MPC_LINTSRC    4

#define CPU_ENABLED    0x01
#define CPU_BSP        0x02
#define LAPIC_VERSION  0x14 /* integrated xAPIC */
#define IOAPIC_VERSION 0x11 /* 82093AA */
#define MP_INT         0    /* vectored interrupt */
#define MP_NMI         1
#define MP_EXTINT      3
#define ISA_IRQS       16
#define PCI_INTX_FLAGS 0x000f /* polarity 11b active low, trigger 11b level (§4.3.4) */

static size_t mptable_nr_intsrc(void)
{
	return ISA_IRQS - 1; /* every ISA IRQ but the cascade (2) */
}

static size_t mptable_nr_pci(const struct mptable_pci *pci)
{
	/* its bus entry and one assignment per slot and pin */
	return pci ? 1 + MPTABLE_PCI_SLOTS * MPTABLE_PCI_PINS : 0;
}

size_t mptable_size(unsigned ncpus, const struct mptable_pci *pci)
{
	return MPF_SIZE + MPC_HDR_SIZE + (size_t)ncpus * MPC_CPU_SIZE +
	       (2 + mptable_nr_intsrc() + mptable_nr_pci(pci) + 2) * MPC_SMALL_SIZE;
}

uint8_t mptable_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)(0 - sum);
}

static uint8_t *mptable_small(uint8_t *p, uint8_t type, uint8_t a, uint16_t flags_or_b,
			      uint8_t c, uint8_t d, uint8_t e)
{
	p[0] = type;
	p[1] = a;
	le16_put(p + 2, flags_or_b);
	p[4] = c;
	p[5] = d;
	p[6] = e;
	p[7] = 0;
	return p + MPC_SMALL_SIZE;
}

/* Bus 0's INTx assignments; the source bus IRQ is bits 6:2 the device, 1:0 the pin (INTA# 0). */
static uint8_t *mptable_pci_intsrc(uint8_t *p, const struct mptable_pci *pci, uint8_t ioapic_id,
				   uint16_t *entries)
{
	for (unsigned slot = 0; slot < MPTABLE_PCI_SLOTS; slot++)
		for (unsigned pin = 1; pin <= MPTABLE_PCI_PINS; pin++) {
			p = mptable_small(p, MPC_IOINTSRC, MP_INT, PCI_INTX_FLAGS, 0 /* PCI bus */,
					  (uint8_t)(slot << 2 | (pin - 1)), ioapic_id);
			p[-1] = (uint8_t)pci->intx_gsi(slot, pin);
			(*entries)++;
		}
	return p;
}

static int mptable_pci_ok(const struct mptable_pci *pci)
{
	if (!pci)
		return 1;
	if (!pci->intx_gsi)
		return 0;
	for (unsigned slot = 0; slot < MPTABLE_PCI_SLOTS; slot++)
		for (unsigned pin = 1; pin <= MPTABLE_PCI_PINS; pin++) {
			unsigned gsi = pci->intx_gsi(slot, pin);

			if (gsi < ISA_IRQS || gsi >= MPTABLE_IOAPIC_PINS)
				return 0; /* past the IOAPIC, or on an ISA pin */
		}
	return 1;
}

int mptable_build(uint8_t *buf, size_t buflen, uint32_t gpa, unsigned ncpus,
		  const struct mptable_pci *pci)
{
	uint8_t *mpf = buf, *mpc = buf + MPF_SIZE, *p;
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint8_t isa_bus = pci ? 1 : 0;
	uint16_t entries = 0;
	size_t size;

	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS || !mptable_pci_ok(pci))
		return -EINVAL;
	size = mptable_size(ncpus, pci);
	if (buflen < size)
		return -ENOSPC;
	memset(buf, 0, size);

	p = mpc + MPC_HDR_SIZE;
	for (unsigned i = 0; i < ncpus; i++, entries++) {
		p[0] = MPC_CPU;
		p[1] = (uint8_t)i;
		p[2] = LAPIC_VERSION;
		p[3] = CPU_ENABLED | (i == 0 ? CPU_BSP : 0);
		le32_put(p + 4, 0x600);    /* family 6 signature; Linux does not rely on it */
		le32_put(p + 8, 0x201);    /* CPUID features: FPU, APIC */
		p += MPC_CPU_SIZE;
	}
	/* The buses; the type field is 6 bytes, space padded. */
	if (pci) {
		p[0] = MPC_BUS;
		p[1] = 0;
		memcpy(p + 2, "PCI   ", 6);
		p += MPC_SMALL_SIZE;
		entries++;
	}
	p[0] = MPC_BUS;
	p[1] = isa_bus;
	memcpy(p + 2, "ISA   ", 6);
	p += MPC_SMALL_SIZE;
	entries++;
	p = mptable_small(p, MPC_IOAPIC, ioapic_id, IOAPIC_VERSION | (1 << 8) /* enabled */,
			  0, 0, 0);
	le32_put(p - 4, MPTABLE_IOAPIC_ADDR);
	entries++;
	/* ISA IRQ n arrives at IOAPIC pin n: KVM's default GSI routing. */
	for (uint8_t irq = 0; irq < ISA_IRQS; irq++) {
		if (irq == 2)
			continue;
		p = mptable_small(p, MPC_IOINTSRC, MP_INT, 0 /* bus-default polarity/trigger */,
				  isa_bus, irq, ioapic_id);
		p[-1] = irq; /* destination INTIN# */
		entries++;
	}
	if (pci)
		p = mptable_pci_intsrc(p, pci, ioapic_id, &entries);
	/* LINT0 is the 8259's ExtINT, LINT1 the NMI, on every CPU (0xff). */
	p = mptable_small(p, MPC_LINTSRC, MP_EXTINT, 0, 0, 0, 0xff);
	p[-1] = 0;
	p = mptable_small(p, MPC_LINTSRC, MP_NMI, 0, 0, 0, 0xff);
	p[-1] = 1;
	entries += 2;

	memcpy(mpc, "PCMP", 4);
	le16_put(mpc + 4, (uint16_t)(p - mpc)); /* base table length */
	mpc[6] = MP_SPEC_REV;
	memcpy(mpc + 8, "VMON    ", 8);         /* OEM ID */
	memcpy(mpc + 16, "VMON-KVM    ", 12);   /* product ID */
	le16_put(mpc + 34, entries);
	le32_put(mpc + 36, MPTABLE_LAPIC_ADDR);
	mpc[7] = mptable_checksum(mpc, (size_t)(p - mpc));

	memcpy(mpf, "_MP_", 4);
	le32_put(mpf + 4, gpa + MPF_SIZE);       /* physical address of the config table */
	mpf[8] = 1;                              /* length in 16-byte units */
	mpf[9] = MP_SPEC_REV;
	mpf[10] = mptable_checksum(mpf, MPF_SIZE);
	return (int)size;
}
