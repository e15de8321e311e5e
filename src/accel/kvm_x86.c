/*
 * accel/kvm_x86.c: the x86 half of the KVM accelerator (see kvm.h): the
 * in-kernel irqchip and PIT, the real-mode support pages VMX wants, the
 * supported-CPUID table, vCPU register state, and telling hardware KVM
 * (kvm_intel, kvm_amd) from PVM (kvm_pvm) for `vmon info`.
 *
 * Threads: as kvm.c: VM-wide set-up on the building thread; vCPU state
 * get/set on the thread building the VM, before that vCPU runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "accel/kvm.h"
#include "log.h"

/* Three pages in the PCI hole that VMX needs for real mode (api.rst, KVM_SET_TSS_ADDR). */
#define KVM_X86_TSS_ADDR          0xfffbd000ULL
#define KVM_X86_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_X86_CPUID_HV_SIGNATURE 0x40000000 /* Documentation/virt/kvm/x86/cpuid.rst */
#define KVM_X86_CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define KVM_X86_CPUID_PROBE_ENTRIES 256

int kvm_arch_check_caps(struct kvm_accel *k)
{
	static const struct kvm_cap_need need[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	};

	return kvm_need_caps(k, need, sizeof(need) / sizeof(need[0]));
}

int kvm_arch_vm_init(struct kvm_accel *k)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_X86_IDENTITY_MAP_ADDR;

	/* Real-mode support pages for VMX; harmless (and sometimes refused) elsewhere. */
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_X86_TSS_ADDR) < 0)
		log_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		log_debug("KVM_SET_IDENTITY_MAP_ADDR: %s (ignored)", strerror(errno));
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	/* The speaker port 0x61 is answered in the kernel, so it never exits. */
	if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int kvm_x86_module_loaded(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

static int kvm_x86_supported_cpuid(int kvm_fd, struct kvm_cpuid2 *c)
{
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int err = errno;

		log_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(err));
		return -err;
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
				c->entries[i].ecx |= KVM_X86_CPUID_1_ECX_TSC_DEADLINE;
	return 0;
}

static void kvm_x86_signature(int kvm_fd, struct accel_info *info)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + KVM_X86_CPUID_PROBE_ENTRIES *
					     sizeof(c->entries[0]));

	if (!c)
		return;
	c->nent = KVM_X86_CPUID_PROBE_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
		for (unsigned i = 0; i < c->nent; i++) {
			const struct kvm_cpuid_entry2 *e = &c->entries[i];

			if (e->function != KVM_X86_CPUID_HV_SIGNATURE)
				continue;
			memcpy(info->signature, &e->ebx, 4);
			memcpy(info->signature + 4, &e->ecx, 4);
			memcpy(info->signature + 8, &e->edx, 4);
			info->signature[12] = '\0';
		}
	}
	free(c);
}

void kvm_arch_probe(int kvm_fd, struct accel_info *info)
{
	kvm_x86_signature(kvm_fd, info);
	/* The module is the reliable tell: PVM also loads "kvm" itself. */
	if (kvm_x86_module_loaded("kvm_pvm")) {
		info->is_pvm = 1;
		info->backend = "PVM (software virtualization, kvm_pvm: guest supervisor code is emulated)";
		info->linux_caveat =
			"this host's KVM is PVM: it emulates guest kernel code and cannot emulate "
			"XSAVE/XRSTOR or INT3, so a stock Linux kernel dies early with an emulation "
			"failure (only PVM-aware kernels boot). Run vmon on hardware KVM, or nested "
			"(tests/e2e/nested.sh) as the README shows";
	} else if (kvm_x86_module_loaded("kvm_intel")) {
		info->backend = "hardware-assisted (Intel VMX, kvm_intel)";
	} else if (kvm_x86_module_loaded("kvm_amd")) {
		info->backend = "hardware-assisted (AMD SVM, kvm_amd)";
	} else {
		info->backend = "unknown KVM backend (no kvm_intel, kvm_amd or kvm_pvm module found)";
	}
}

int kvm_arch_query(struct kvm_accel *k, enum accel_query q, void *buf, size_t len)
{
	struct kvm_cpuid2 *c = buf;

	switch (q) {
	case ACCEL_X86_SUPPORTED_CPUID:
		if (len < sizeof(*c) || c->nent > (len - sizeof(*c)) / sizeof(c->entries[0]))
			return -EINVAL;
		return kvm_x86_supported_cpuid(k->kvm_fd, c);
	default:
		return -ENOTSUP;
	}
}

/* ioctl number and fixed size for a register kind; variable kinds have size 0. */
static int kvm_x86_reg_ioctl(enum accel_reg r, int set, unsigned long *nr, size_t *size,
			     const char **name)
{
	switch (r) {
	case ACCEL_X86_REGS:
		*nr = set ? KVM_SET_REGS : KVM_GET_REGS;
		*size = sizeof(struct kvm_regs);
		*name = set ? "KVM_SET_REGS" : "KVM_GET_REGS";
		return 0;
	case ACCEL_X86_SREGS:
		*nr = set ? KVM_SET_SREGS : KVM_GET_SREGS;
		*size = sizeof(struct kvm_sregs);
		*name = set ? "KVM_SET_SREGS" : "KVM_GET_SREGS";
		return 0;
	case ACCEL_X86_FPU:
		*nr = set ? KVM_SET_FPU : KVM_GET_FPU;
		*size = sizeof(struct kvm_fpu);
		*name = set ? "KVM_SET_FPU" : "KVM_GET_FPU";
		return 0;
	case ACCEL_X86_LAPIC:
		*nr = set ? KVM_SET_LAPIC : KVM_GET_LAPIC;
		*size = sizeof(struct kvm_lapic_state);
		*name = set ? "KVM_SET_LAPIC" : "KVM_GET_LAPIC";
		return 0;
	case ACCEL_X86_MSRS:
		*nr = set ? KVM_SET_MSRS : KVM_GET_MSRS;
		*size = 0;
		*name = set ? "KVM_SET_MSRS" : "KVM_GET_MSRS";
		return 0;
	case ACCEL_X86_CPUID:
		if (!set)
			return -ENOTSUP;
		*nr = KVM_SET_CPUID2;
		*size = 0;
		*name = "KVM_SET_CPUID2";
		return 0;
	default:
		return -ENOTSUP;
	}
}

/* A variable record's length must cover the count it carries. */
static int kvm_x86_var_ok(enum accel_reg r, const void *buf, size_t len)
{
	if (r == ACCEL_X86_MSRS) {
		const struct kvm_msrs *m = buf;

		return len >= sizeof(*m) &&
		       m->nmsrs <= (len - sizeof(*m)) / sizeof(struct kvm_msr_entry);
	}
	{
		const struct kvm_cpuid2 *c = buf;

		return len >= sizeof(*c) && c->nent <= (len - sizeof(*c)) / sizeof(c->entries[0]);
	}
}

static int kvm_x86_reg(struct kvm_vcpu *v, enum accel_reg r, int set, void *buf, size_t len)
{
	unsigned long nr;
	const char *name;
	size_t size;
	int ret = kvm_x86_reg_ioctl(r, set, &nr, &size, &name);

	if (ret)
		return ret;
	if (size ? len != size : !kvm_x86_var_ok(r, buf, len))
		return -EINVAL;
	ret = ioctl(v->fd, nr, buf);
	if (ret < 0) {
		int err = errno;

		log_err("vCPU %u: %s: %s", v->base.id, name, strerror(err));
		return -err;
	}
	/* KVM_{GET,SET}_MSRS return how many entries they handled: all or it failed. */
	if (r == ACCEL_X86_MSRS && (unsigned)ret != ((const struct kvm_msrs *)buf)->nmsrs) {
		log_err("vCPU %u: %s handled %d of %u MSRs", v->base.id, name, ret,
			((const struct kvm_msrs *)buf)->nmsrs);
		return -EIO;
	}
	return 0;
}

int kvm_arch_vcpu_get(struct kvm_vcpu *v, enum accel_reg r, void *buf, size_t len)
{
	return kvm_x86_reg(v, r, 0, buf, len);
}

int kvm_arch_vcpu_set(struct kvm_vcpu *v, enum accel_reg r, const void *buf, size_t len)
{
	/* The SET ioctls do not write through their argument. */
	return kvm_x86_reg(v, r, 1, (void *)buf, len);
}

uint64_t kvm_arch_pc(struct kvm_vcpu *v)
{
	struct kvm_regs regs;

	return ioctl(v->fd, KVM_GET_REGS, &regs) < 0 ? 0 : regs.rip;
}
