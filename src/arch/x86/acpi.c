/*
 * arch/x86/acpi.c: the PC's ACPI tables and PM block (see acpi.h). Table
 * layouts from ACPI 6.4 chapter 5 (RSDP §5.2.5, XSDT §5.2.8, FADT §5.2.9,
 * FACS §5.2.10, MADT §5.2.12) and the PCI Firmware Specification 3.2
 * §4.1.2 (MCFG); the DSDT is dsdt.asl, compiled by iasl.
 *
 * Why a classic FADT (PM1a_EVT/PM1a_CNT at PC_ACPI_PM_BASE, an SCI) and
 * not a hardware-reduced one (sleep control/status registers, as
 * Firecracker and Cloud Hypervisor use): Linux on a hardware-reduced
 * platform drops the legacy PIC and skips the PIT's timer setup
 * (arch/x86/kernel/acpi/boot.c, acpi_reduced_hw_init). vmon's PC has both,
 * its guests (stock kernels among them) calibrate against the PIT under
 * nested virtualization, and the MP-table path for acpi=off keeps using
 * them; a classic FADT leaves that boot path as it is and only adds the
 * tables. The cost is the SCI: ISA IRQ 9 (ACPI_SCI_IRQ), level-triggered,
 * active high as the MADT override says (KVM's IOAPIC ignores polarity),
 * kept off pc.c's free lines. vmon raises it for one general-purpose event
 * only, GPE 0 of the GPE0 block (ACPI_GPE0_STS/EN, in the PM block), which
 * a restore sets so that dsdt.asl's \_GPE._E00 notifies the vmgenid
 * device (src/snapshot/genid.h); no fixed events are ever set. SMI_CMD is 0, so the guest finds ACPI mode already on. No PM
 * timer (Linux then uses the TSC, kvmclock or HPET-less PIT). The FADT's
 * reset register (in the same block) lets a guest's ACPI reboot end the VM.
 *
 * The MADT mirrors the MP table (mptable.c): LAPIC IDs 0..n-1, the IOAPIC
 * with ID n at 0xfec00000 and GSI base 0, ISA IRQ n at IOAPIC pin n with
 * bus-default trigger: vmon keeps KVM's identity GSI routing, so the PIT
 * interrupts at pin 0 and there is no IRQ0->GSI2 override (that override
 * describes QEMU's rewiring). Its only override is the SCI's.
 *
 * iasl -d disassembles each table (written to files from a unit-test
 * build) without errors or warnings; checked by hand when this was written
 * (see tests/unit/test_acpi.c).
 *
 * Threads: as in acpi.h.
 */
#include "acpi.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../log.h"
#include "../../util.h"
#include "../../virtio/virtio.h" /* virtio_log_ratelimit */
#include "pc_layout.h"

/* build/gen/dsdt.h, from dsdt.asl (Makefile): static const unsigned char acpi_dsdt_aml[]. */
#include "dsdt.h"

#define ACPI_OEM_ID       "VMON  "   /* 6 bytes */
#define ACPI_OEM_TABLE_ID "VMON-PC "  /* 8 bytes */
#define ACPI_OEM_REV      1
#define ACPI_CREATOR_ID   "VMON"
#define ACPI_CREATOR_REV  1

#define ACPI_HDR_SIZE  36 /* system description table header, §5.2.6 */
#define RSDP_SIZE      36 /* §5.2.5.3, revision 2 */
#define FACS_SIZE      64
#define FADT_SIZE      276 /* revision 6 */
#define MCFG_SIZE      (ACPI_HDR_SIZE + 8 + 16)
#define XSDT_ENTRIES   3   /* FADT, MADT, MCFG */
#define XSDT_SIZE      (ACPI_HDR_SIZE + 8 * XSDT_ENTRIES)

/* MADT entry types and sizes, §5.2.12. */
#define MADT_LAPIC        0
#define MADT_IOAPIC       1
#define MADT_ISO          2
#define MADT_LAPIC_NMI    4
#define MADT_LAPIC_SIZE   8
#define MADT_IOAPIC_SIZE  12
#define MADT_ISO_SIZE     10
#define MADT_NMI_SIZE     6
#define MADT_PCAT_COMPAT  0x1   /* the 8259s are there */
#define MADT_LAPIC_ENABLED 0x1
#define MPS_INTI_ACTIVE_HIGH 0x1 /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
#define MPS_INTI_LEVEL       0xc

/* FADT fields by offset (§5.2.9, Table 5.9). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT          40
#define FADT_SCI_INT       46
#define FADT_PM1A_EVT_BLK  56
#define FADT_PM1A_CNT_BLK  64
#define FADT_GPE0_BLK      80
#define FADT_PM1_EVT_LEN   88
#define FADT_PM1_CNT_LEN   89
#define FADT_GPE0_BLK_LEN  92
#define FADT_P_LVL2_LAT    96
#define FADT_P_LVL3_LAT    98
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS         112
#define FADT_RESET_REG     116
#define FADT_RESET_VALUE   128
#define FADT_X_DSDT        140
#define FADT_REVISION      6
/* IAPC_BOOT_ARCH: ISA devices, an 8042 (the i8042 Linux resets through), no VGA. */
#define BOOT_ARCH_LEGACY_DEVICES 0x0001
#define BOOT_ARCH_8042           0x0002
#define BOOT_ARCH_VGA_NOT_PRESENT 0x0004
/* Flags: WBINVD works, C1 on all CPUs, power/sleep buttons are not fixed features, reset register. */
#define FADT_F_WBINVD       (1u << 0)
#define FADT_F_PROC_C1      (1u << 2)
#define FADT_F_PWR_BUTTON   (1u << 4)
#define FADT_F_SLP_BUTTON   (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define C2_NOT_SUPPORTED    101  /* P_LVL2_LAT > 100 */
#define C3_NOT_SUPPORTED    1001 /* P_LVL3_LAT > 1000 */
#define GAS_SYSTEM_IO       1    /* generic address structure space ID, §5.2.3.2 */
#define GAS_ACCESS_BYTE     1

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)(0 - sum);
}

const uint8_t *acpi_dsdt(size_t *len)
{
	*len = sizeof(acpi_dsdt_aml);
	return acpi_dsdt_aml;
}

static size_t acpi_align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static size_t acpi_madt_size(unsigned ncpus)
{
	return ACPI_HDR_SIZE + 8 + (size_t)ncpus * MADT_LAPIC_SIZE + MADT_IOAPIC_SIZE +
	       MADT_ISO_SIZE + MADT_NMI_SIZE;
}

/* Where each table goes, as offsets from the RSDP (the buffer's start). */
struct acpi_layout {
	size_t facs, xsdt, fadt, mcfg, madt, dsdt, end;
};

static void acpi_plan(unsigned ncpus, struct acpi_layout *l)
{
	l->facs = 64; /* FACS must be 64-byte aligned (§5.2.10) */
	l->xsdt = l->facs + FACS_SIZE;
	l->fadt = acpi_align16(l->xsdt + XSDT_SIZE);
	l->mcfg = acpi_align16(l->fadt + FADT_SIZE);
	l->madt = acpi_align16(l->mcfg + MCFG_SIZE);
	l->dsdt = acpi_align16(l->madt + acpi_madt_size(ncpus));
	l->end = l->dsdt + sizeof(acpi_dsdt_aml);
}

size_t acpi_size(unsigned ncpus)
{
	struct acpi_layout l;

	acpi_plan(ncpus, &l);
	return l.end;
}

/* Header of a table of len bytes; the checksum is set once its body is written. */
static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	le32_put(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	le32_put(t + 24, ACPI_OEM_REV);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	le32_put(t + 32, ACPI_CREATOR_REV);
}

static void acpi_seal(uint8_t *t)
{
	t[9] = 0;
	t[9] = acpi_checksum(t, le32_get(t + 4));
}

/* Generic address structure (§5.2.3.2) for a byte-wide I/O port. */
static void acpi_gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8; /* bit width */
	p[2] = 0; /* bit offset */
	p[3] = GAS_ACCESS_BYTE;
	le64_put(p + 4, port);
}

static void acpi_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
	acpi_header(t, "FACP", FADT_SIZE, FADT_REVISION);
	le32_put(t + FADT_FIRMWARE_CTRL, (uint32_t)facs);
	le32_put(t + FADT_DSDT, (uint32_t)dsdt);
	le64_put(t + FADT_X_DSDT, dsdt); /* the same: ACPICA warns when they differ */
	le16_put(t + FADT_SCI_INT, ACPI_SCI_IRQ);
	/* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE stay 0: ACPI mode is always on. */
	le32_put(t + FADT_PM1A_EVT_BLK, PC_ACPI_PM_BASE + ACPI_PM1_STS);
	le32_put(t + FADT_PM1A_CNT_BLK, PC_ACPI_PM_BASE + ACPI_PM1_CNT);
	t[FADT_PM1_EVT_LEN] = ACPI_PM1_EVT_LEN;
	t[FADT_PM1_CNT_LEN] = ACPI_PM1_CNT_LEN;
	/* GPE0: one status and one enable byte in the same block (GPE1 stays absent). */
	le32_put(t + FADT_GPE0_BLK, PC_ACPI_PM_BASE + ACPI_GPE0_STS);
	t[FADT_GPE0_BLK_LEN] = ACPI_GPE0_BLK_LEN;
	le16_put(t + FADT_P_LVL2_LAT, C2_NOT_SUPPORTED);
	le16_put(t + FADT_P_LVL3_LAT, C3_NOT_SUPPORTED);
	le16_put(t + FADT_IAPC_BOOT_ARCH,
		 BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042 | BOOT_ARCH_VGA_NOT_PRESENT);
	le32_put(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
				 FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP);
	acpi_gas_io8(t + FADT_RESET_REG, PC_ACPI_PM_BASE + ACPI_PM_RESET);
	t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	acpi_seal(t);
}

static void acpi_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	le32_put(t + 4, FACS_SIZE);
	t[32] = 2; /* version; the FACS has no checksum */
}

static void acpi_madt(uint8_t *t, unsigned ncpus)
{
	uint8_t *p = t + ACPI_HDR_SIZE + 8;

	acpi_header(t, "APIC", (uint32_t)acpi_madt_size(ncpus), 5);
	le32_put(t + ACPI_HDR_SIZE, (uint32_t)PC_LAPIC_BASE);
	le32_put(t + ACPI_HDR_SIZE + 4, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < ncpus; i++, p += MADT_LAPIC_SIZE) {
		p[0] = MADT_LAPIC;
		p[1] = MADT_LAPIC_SIZE;
		p[2] = (uint8_t)i; /* ACPI processor UID */
		p[3] = (uint8_t)i; /* APIC ID, as cpu.c sets it */
		le32_put(p + 4, MADT_LAPIC_ENABLED);
	}
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_SIZE;
	p[2] = (uint8_t)ncpus; /* the MP table's IOAPIC ID */
	le32_put(p + 4, (uint32_t)PC_IOAPIC_BASE);
	le32_put(p + 8, 0); /* GSI base */
	p += MADT_IOAPIC_SIZE;
	p[0] = MADT_ISO;
	p[1] = MADT_ISO_SIZE;
	p[2] = 0; /* ISA */
	p[3] = ACPI_SCI_IRQ;
	le32_put(p + 4, ACPI_SCI_IRQ);
	le16_put(p + 8, MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL);
	p += MADT_ISO_SIZE;
	/* LINT1 is the NMI on every CPU, as in the MP table (LINT0's ExtINT is implied). */
	p[0] = MADT_LAPIC_NMI;
	p[1] = MADT_NMI_SIZE;
	p[2] = 0xff; /* all processors */
	le16_put(p + 3, 0); /* bus-default flags */
	p[5] = 1;
	acpi_seal(t);
}

static void acpi_mcfg(uint8_t *t)
{
	uint8_t *e = t + ACPI_HDR_SIZE + 8;

	acpi_header(t, "MCFG", MCFG_SIZE, 1);
	le64_put(e, PC_PCI_ECAM_BASE);
	le16_put(e + 8, 0); /* segment */
	e[10] = 0;          /* start bus */
	e[11] = (uint8_t)(PC_PCI_ECAM_SIZE / (1u << 20) - 1); /* end bus: 1 MiB per bus */
	acpi_seal(t);
}

static void acpi_rsdp(uint8_t *r, uint64_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	r[15] = 2;              /* revision: ACPI 2.0+, XSDT */
	le32_put(r + 16, 0);    /* no RSDT: every OS that reads revision 2 takes the XSDT */
	le32_put(r + 20, RSDP_SIZE);
	le64_put(r + 24, xsdt);
	r[8] = acpi_checksum(r, 20);
	r[32] = acpi_checksum(r, RSDP_SIZE);
}

int acpi_build(uint8_t *buf, size_t buflen, uint64_t gpa, unsigned ncpus)
{
	struct acpi_layout l;
	uint8_t *x;

	if (ncpus == 0 || ncpus > ACPI_MAX_CPUS || (gpa & 15) || gpa >= 0x100000)
		return -EINVAL;
	acpi_plan(ncpus, &l);
	if (buflen < l.end)
		return -ENOSPC;
	memset(buf, 0, l.end);
	acpi_facs(buf + l.facs);
	acpi_fadt(buf + l.fadt, gpa + l.facs, gpa + l.dsdt);
	acpi_madt(buf + l.madt, ncpus);
	acpi_mcfg(buf + l.mcfg);
	memcpy(buf + l.dsdt, acpi_dsdt_aml, sizeof(acpi_dsdt_aml));
	x = buf + l.xsdt;
	acpi_header(x, "XSDT", XSDT_SIZE, 1);
	le64_put(x + ACPI_HDR_SIZE, gpa + l.fadt);
	le64_put(x + ACPI_HDR_SIZE + 8, gpa + l.madt);
	le64_put(x + ACPI_HDR_SIZE + 16, gpa + l.mcfg);
	acpi_seal(x);
	acpi_rsdp(buf, gpa + l.xsdt);
	return (int)l.end;
}

/* ---- the PM block ------------------------------------------------------ */

struct acpi_pm_state {
	uint16_t sts, en, cnt; /* cnt: SLP_TYP and the bits the guest set; SLP_EN reads 0 */
	uint8_t gpe_sts, gpe_en; /* GPE0 block: events 0-7 */
};

struct acpi_pm {
	pthread_mutex_t lock;
	const struct machine *m;
	struct irq_line sci;  /* ACPI_SCI_IRQ, level */
	int sci_level;        /* what sci was last driven to, -1: not yet */
	struct acpi_pm_state s;
	uint64_t poweroffs, resets, ignored; /* stats */
	uint64_t logged;                     /* guest-triggered logs, virtio_log_ratelimit */
	uint64_t sci_logged;                 /* SCI failures after guest writes, log_limited */
};

enum acpi_pm_action { PM_NONE, PM_POWEROFF, PM_RESET, PM_OTHER_SLEEP };

static uint8_t acpi_pm_byte(const struct acpi_pm_state *s, uint64_t off)
{
	uint16_t v;

	switch (off & ~1ULL) {
	case ACPI_PM1_STS:
		v = s->sts;
		break;
	case ACPI_PM1_EN:
		v = s->en;
		break;
	case ACPI_PM1_CNT:
		v = s->cnt | ACPI_PM1_SCI_EN;
		break;
	case ACPI_GPE0_STS:
		return off == ACPI_GPE0_STS ? s->gpe_sts : s->gpe_en;
	default:
		return 0; /* the reset register and the rest read 0 */
	}
	return (uint8_t)(off & 1 ? v >> 8 : v);
}

/*
 * One byte of a write at off; returns what the guest asked for. A 16-bit
 * register written bytewise acts on the byte that holds the bits: SLP_TYP
 * and SLP_EN are both in PM1_CNT's high byte.
 */
static enum acpi_pm_action acpi_pm_put(struct acpi_pm_state *s, uint64_t off, uint8_t b,
				       unsigned *slp_typ)
{
	unsigned shift = off & 1 ? 8 : 0;
	uint16_t v = (uint16_t)(b << shift), keep = (uint16_t)(0xff00u >> shift);

	switch (off & ~1ULL) {
	case ACPI_PM1_STS:
		s->sts &= (uint16_t)~v; /* write 1 to clear */
		return PM_NONE;
	case ACPI_PM1_EN:
		s->en = (uint16_t)((s->en & keep) | v);
		return PM_NONE;
	case ACPI_PM1_CNT:
		s->cnt = (uint16_t)((s->cnt & keep) | (v & ~(ACPI_PM1_SLP_EN | ACPI_PM1_SCI_EN)));
		if (!(v & ACPI_PM1_SLP_EN))
			return PM_NONE;
		*slp_typ = (s->cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
		return *slp_typ == ACPI_SLP_TYP_S5 ? PM_POWEROFF : PM_OTHER_SLEEP;
	case ACPI_PM_RESET:
		return off == ACPI_PM_RESET && b == ACPI_RESET_VALUE ? PM_RESET : PM_NONE;
	case ACPI_GPE0_STS: /* and ACPI_GPE0_EN, the next byte */
		if (off == ACPI_GPE0_STS)
			s->gpe_sts &= (uint8_t)~b; /* write 1 to clear */
		else
			s->gpe_en = b;
		return PM_NONE;
	default:
		return PM_NONE;
	}
}

/* The SCI's level from the state: some event whose status and enable bits are both set. */
static int acpi_pm_sci_wanted(const struct acpi_pm_state *s)
{
	return (s->gpe_sts & s->gpe_en) || (s->sts & s->en);
}

/*
 * Drive the SCI to what the state says, if that changed. Called with the
 * lock held: the line is the in-kernel irqchip's, which never calls back.
 */
static int acpi_pm_update_sci(struct acpi_pm *pm)
{
	int want = acpi_pm_sci_wanted(&pm->s), ret;

	if (want == pm->sci_level)
		return 0;
	ret = irq_line_set(&pm->sci, want);
	if (ret) {
		pm->sci_level = -1; /* unknown: drive it again next time */
		return ret;
	}
	pm->sci_level = want;
	return 0;
}

int acpi_pm_raise_gpe(struct acpi_pm *pm, unsigned gpe)
{
	int ret;

	if (!pm || gpe >= 8 * (ACPI_GPE0_BLK_LEN / 2))
		return -EINVAL;
	pthread_mutex_lock(&pm->lock);
	pm->s.gpe_sts |= (uint8_t)(1u << gpe);
	ret = acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (ret)
		log_err("acpi-pm: raising the SCI for GPE %u: %s", gpe, strerror(-ret));
	return ret;
}

static int acpi_pm_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct acpi_pm *pm = dev;
	uint8_t *d = data;

	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < len; i++)
		d[i] = off + i < ACPI_PM_NR_PORTS ? acpi_pm_byte(&pm->s, off + i) : 0xff;
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static int acpi_pm_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct acpi_pm *pm = dev;
	const uint8_t *d = data;
	enum acpi_pm_action act = PM_NONE;
	unsigned slp_typ = 0;
	uint64_t ignored = 0;
	int log = 0, sci_ret;

	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < len && off + i < ACPI_PM_NR_PORTS; i++) {
		enum acpi_pm_action a = acpi_pm_put(&pm->s, off + i, d[i], &slp_typ);

		if (act == PM_NONE) /* the first request in an access wins */
			act = a;
	}
	sci_ret = acpi_pm_update_sci(pm);
	if (act == PM_POWEROFF) {
		pm->poweroffs++;
	} else if (act == PM_RESET) {
		pm->resets++;
	} else if (act == PM_OTHER_SLEEP) {
		ignored = ++pm->ignored;
		log = virtio_log_ratelimit(&pm->logged); /* 1st, 2nd, 4th, 8th... */
	}
	pthread_mutex_unlock(&pm->lock);
	/* Outside the lock: stop waits for vCPUs, which may be blocked on it. */
	if (act == PM_POWEROFF)
		pm->m->ops->stop(pm->m->ctx, VM_EXIT_GUEST_RESET, "guest powered off (ACPI S5)");
	else if (act == PM_RESET)
		pm->m->ops->stop(pm->m->ctx, VM_EXIT_GUEST_RESET, "guest reset (ACPI)");
	else if (log)
		log_warn("acpi-pm: guest asked for sleep type %u, which vmon does not have: "
			 "ignored (%llu so far)", slp_typ, (unsigned long long)ignored);
	if (sci_ret)
		log_limited(&pm->sci_logged, LOG_ERROR, "acpi-pm: driving the SCI: %s", strerror(-sci_ret));
	return 0;
}

static void acpi_pm_reset(void *dev)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	memset(&pm->s, 0, sizeof(pm->s));
	(void)acpi_pm_update_sci(pm); /* low; a failure is retried on the next change */
	pthread_mutex_unlock(&pm->lock);
}

/*
 * Section: sts, en, cnt (u16 each), then gpe_sts, gpe_en (u8 each). A
 * 6-byte section (written before the GPE0 block existed) loads with both
 * GPE registers 0.
 */
static int acpi_pm_save(void *dev, struct snap_out *out)
{
	struct acpi_pm *pm = dev;

	pthread_mutex_lock(&pm->lock);
	snap_put_u16(out, pm->s.sts);
	snap_put_u16(out, pm->s.en);
	snap_put_u16(out, pm->s.cnt);
	snap_put_u8(out, pm->s.gpe_sts);
	snap_put_u8(out, pm->s.gpe_en);
	pthread_mutex_unlock(&pm->lock);
	return snap_out_error(out);
}

static int acpi_pm_load(void *dev, struct snap_in *in)
{
	struct acpi_pm *pm = dev;
	struct acpi_pm_state s = { 0 };
	int ret;

	s.sts = snap_get_u16(in);
	s.en = snap_get_u16(in);
	s.cnt = snap_get_u16(in);
	if (!snap_in_error(in) && snap_in_left(in)) {
		s.gpe_sts = snap_get_u8(in);
		s.gpe_en = snap_get_u8(in);
	}
	if (dev_load_whole(in, "acpi-pm")) {
		acpi_pm_reset(pm);
		return -EINVAL;
	}
	if (s.cnt & (ACPI_PM1_SLP_EN | ACPI_PM1_SCI_EN)) { /* never stored: see acpi_pm_put */
		log_warn("acpi-pm: saved state: cnt = %#x has bits that are never kept", s.cnt);
		snap_in_fail(in);
		acpi_pm_reset(pm);
		return -EINVAL;
	}
	pthread_mutex_lock(&pm->lock);
	pm->s = s;
	pm->sci_level = -1; /* the line's level is not in this section: drive it */
	ret = acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (ret)
		log_err("acpi-pm: restoring the SCI level: %s", strerror(-ret));
	return ret;
}

static unsigned acpi_pm_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct acpi_pm *pm = dev;
	struct dev_stat st[3];
	unsigned n = max < 3 ? max : 3;

	pthread_mutex_lock(&pm->lock);
	st[0] = (struct dev_stat){ "poweroffs", pm->poweroffs };
	st[1] = (struct dev_stat){ "resets", pm->resets };
	st[2] = (struct dev_stat){ "ignored_sleeps", pm->ignored };
	pthread_mutex_unlock(&pm->lock);
	memcpy(out, st, n * sizeof(st[0]));
	return n;
}

static void acpi_pm_destroy(void *dev)
{
	struct acpi_pm *pm = dev;

	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

const struct dev_ops acpi_pm_ops = {
	.kind = "acpi-pm",
	.read = acpi_pm_read,
	.write = acpi_pm_write,
	.reset = acpi_pm_reset,
	.save = acpi_pm_save,
	.load = acpi_pm_load,
	.stats = acpi_pm_stats,
	.destroy = acpi_pm_destroy,
};

int acpi_pm_new(const struct machine *m, struct acpi_pm **out)
{
	struct acpi_pm *pm;
	int ret;

	if (!m || !out)
		return -EINVAL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	ret = pthread_mutex_init(&pm->lock, NULL);
	if (ret) {
		free(pm);
		return -ret;
	}
	pm->m = m;
	pm->sci = machine_irq_line(m, ACPI_SCI_IRQ);
	*out = pm;
	return 0;
}
