/*
 * cpu.c: x86 vCPU configuration (see cpu.h). Register and MSR values cite
 * the Intel SDM (vol. 3) and Linux Documentation/x86/boot.rst.
 */
#include "cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../log.h"

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

struct kvm_cpuid2 *cpu_supported_cpuid(int kvm_fd)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		log_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return NULL;
	}
	/*
	 * KVM emulates the LAPIC's TSC-deadline mode but leaves its CPUID bit
	 * out of the supported set (api.rst: check KVM_CAP_TSC_DEADLINE_TIMER).
	 * Without it Linux calibrates the LAPIC timer against the PIT, which
	 * under nested virtualization often fails verification; Linux then
	 * disables the LAPIC timer and runs every tick off the PIT broadcast.
	 */
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		for (unsigned i = 0; i < c->nent; i++)
			if (c->entries[i].function == 1)
				c->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
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

static int cpu_set_cpuid(int fd, const struct kvm_cpuid2 *sup, unsigned id, unsigned ncpus)
{
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, sup, sz);
	for (unsigned i = 0; i < c->nent; i++)
		cpu_fix_entry(&c->entries[i], id, ncpus);
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		log_err("vCPU %u: KVM_SET_CPUID2: %s", id, strerror(errno));
	}
	free(c);
	return ret;
}

static int cpu_set_msrs(int fd, unsigned id)
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
	if (ioctl(fd, KVM_SET_MSRS, &m) != 2) {
		log_err("vCPU %u: KVM_SET_MSRS failed", id);
		return -EIO;
	}
	return 0;
}

static int cpu_set_fpu(int fd, unsigned id)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;     /* FNINIT default control word, SDM vol. 1 §8.1.5 */
	fpu.mxcsr = 0x1f80;  /* power-on MXCSR, SDM vol. 1 §10.2.3 */
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0) {
		log_err("vCPU %u: KVM_SET_FPU: %s", id, strerror(errno));
		return -errno;
	}
	return 0;
}

static void cpu_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u & ~0x10000u) | (mode << 8); /* delivery mode, unmasked */
	memcpy(&l->regs[reg], &v, 4);
}

/* Virtual-wire mode: the PIC reaches the CPU through LINT0, NMIs through LINT1. */
static int cpu_set_lapic(int fd, unsigned id)
{
	struct kvm_lapic_state l;

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0) {
		log_err("vCPU %u: KVM_GET_LAPIC: %s", id, strerror(errno));
		return -errno;
	}
	cpu_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	cpu_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(fd, KVM_SET_LAPIC, &l) < 0) {
		log_err("vCPU %u: KVM_SET_LAPIC: %s", id, strerror(errno));
		return -errno;
	}
	return 0;
}

int cpu_init(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id, unsigned ncpus)
{
	int ret;

	ret = cpu_set_cpuid(vcpu_fd, supported, id, ncpus);
	if (!ret)
		ret = cpu_set_msrs(vcpu_fd, id);
	if (!ret)
		ret = cpu_set_fpu(vcpu_fd, id);
	if (!ret)
		ret = cpu_set_lapic(vcpu_fd, id);
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

int cpu_set_boot_regs(int vcpu_fd, const struct boot_info *info)
{
	int long64 = info->mode == BOOT_MODE_LONG64;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		log_err("KVM_GET_SREGS: %s", strerror(errno));
		return -errno;
	}
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
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0) {
		log_err("KVM_SET_SREGS: %s", strerror(errno));
		return -errno;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* bit 1 is reserved and reads as one */
	regs.rip = info->entry;
	if (long64)
		regs.rsi = info->boot_arg; /* 64-bit boot protocol: rsi = boot_params */
	else
		regs.rbx = info->boot_arg; /* PVH: ebx = hvm_start_info */
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		log_err("KVM_SET_REGS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
