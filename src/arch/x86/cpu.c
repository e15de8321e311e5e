/*
 * cpu.c: x86 vCPU configuration (see cpu.h). Register and MSR values cite
 * the Intel SDM (vol. 3) and Linux Documentation/x86/boot.rst. State goes
 * to the vCPU through the accelerator's vcpu_get/vcpu_set in the layout of
 * <linux/kvm.h>; no ioctl here.
 */
#include "cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define CPUID_MAX_ENTRIES 256

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define MSR_IA32_MISC_ENABLE   0x000001a0
#define MISC_ENABLE_FAST_STRING 0x1
#define MSR_IA32_TSC           0x00000010

#define APIC_LVT0  0x350 /* LAPIC register offsets, SDM vol. 3 table 11-1 */
#define APIC_LVT1  0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

#define X86_CR0_PE 0x1
#define X86_CR0_ET 0x10
#define X86_CR0_PG 0x80000000
#define X86_CR4_PAE 0x20
#define EFER_LME 0x100
#define EFER_LMA 0x400

struct kvm_cpuid2 *cpu_supported_cpuid(struct accel *a)
{
	size_t len = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, len);

	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (a->ops->query(a, ACCEL_X86_SUPPORTED_CPUID, c, len)) {
		free(c);
		return NULL;
	}
	return c;
}

/* Give this vCPU its APIC ID and a topology of ncpus single-thread cores. */
static void cpu_fix_entry(struct kvm_cpuid_entry2 *e, unsigned id, unsigned ncpus)
{
	switch (e->function) {
	case 1:
		/* EBX[31:24] initial APIC ID, [23:16] logical processors per package. */
		e->ebx = (e->ebx & 0x0000ffff) | (id << 24) | ((ncpus & 0xff) << 16);
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (ncpus > 1)
			e->edx |= 1u << 28; /* HTT: the [23:16] field is valid */
		break;
	case 0xb:
	case 0x1f:
		/* Extended topology: EDX is the x2APIC ID on every subleaf. */
		e->edx = id;
		break;
	default:
		break;
	}
}

static int cpu_set(struct accel_vcpu *v, enum accel_reg r, const void *buf, size_t len)
{
	return v->a->ops->vcpu_set(v, r, buf, len); /* logs its own failure */
}

static int cpu_set_cpuid(struct accel_vcpu *v, const struct kvm_cpuid2 *sup, unsigned id,
			 unsigned ncpus)
{
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, sup, sz);
	for (unsigned i = 0; i < c->nent; i++)
		cpu_fix_entry(&c->entries[i], id, ncpus);
	ret = cpu_set(v, ACCEL_X86_CPUID, c, sz);
	free(c);
	return ret;
}

static int cpu_set_msrs(struct accel_vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} m;

	memset(&m, 0, sizeof(m));
	m.e[0].index = MSR_IA32_MISC_ENABLE;
	m.e[0].data = MISC_ENABLE_FAST_STRING; /* as firmware leaves it */
	m.e[1].index = MSR_IA32_TSC;
	m.e[1].data = 0;
	m.hdr.nmsrs = 2;
	return cpu_set(v, ACCEL_X86_MSRS, &m, sizeof(m));
}

static int cpu_set_fpu(struct accel_vcpu *v)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;     /* FNINIT default control word, SDM vol. 1 §8.1.5 */
	fpu.mxcsr = 0x1f80;  /* power-on MXCSR, SDM vol. 1 §10.2.3 */
	return cpu_set(v, ACCEL_X86_FPU, &fpu, sizeof(fpu));
}

static void cpu_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u & ~0x10000u) | (mode << 8); /* delivery mode, unmasked */
	memcpy(&l->regs[reg], &v, 4);
}

/* Virtual-wire mode: the PIC reaches the CPU through LINT0, NMIs through LINT1. */
static int cpu_set_lapic(struct accel_vcpu *v)
{
	struct kvm_lapic_state l;
	int ret = v->a->ops->vcpu_get(v, ACCEL_X86_LAPIC, &l, sizeof(l));

	if (ret)
		return ret;
	cpu_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	cpu_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	return cpu_set(v, ACCEL_X86_LAPIC, &l, sizeof(l));
}

int cpu_init(struct accel_vcpu *v, const struct kvm_cpuid2 *supported, unsigned id,
	     unsigned ncpus)
{
	int ret;

	ret = cpu_set_cpuid(v, supported, id, ncpus);
	if (!ret)
		ret = cpu_set_msrs(v);
	if (!ret)
		ret = cpu_set_fpu(v);
	if (!ret)
		ret = cpu_set_lapic(v);
	return ret;
}

static void cpu_flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64 ? 1 : 0;
	s->db = code64 ? 0 : 1;
}

int cpu_set_boot_regs(struct accel_vcpu *v, const struct boot_info *info)
{
	int long64 = info->mode == BOOT_MODE_LONG64;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	int ret = v->a->ops->vcpu_get(v, ACCEL_X86_SREGS, &sregs, sizeof(sregs));

	if (ret)
		return ret;
	cpu_flat_seg(&sregs.cs, BOOT_CS_SEL, 0xb /* exec/read, accessed */, long64);
	cpu_flat_seg(&sregs.ds, BOOT_DS_SEL, 0x3 /* read/write, accessed */, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = BOOT_TSS_SEL;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xb; /* busy 32-bit TSS: VM entry checks want one */
	sregs.tr.present = 1;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (long64) {
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 |= X86_CR4_PAE;
		sregs.cr0 |= X86_CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
	}
	ret = cpu_set(v, ACCEL_X86_SREGS, &sregs, sizeof(sregs));
	if (ret)
		return ret;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* bit 1 is reserved and reads as one */
	regs.rip = info->entry;
	if (long64)
		regs.rsi = info->boot_arg; /* 64-bit boot protocol: rsi = boot_params */
	else
		regs.rbx = info->boot_arg; /* PVH: ebx = hvm_start_info */
	return cpu_set(v, ACCEL_X86_REGS, &regs, sizeof(regs));
}
