/*
 * host.c: host KVM detection (see host.h).
 */
#include "host.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CPUID_HV_SIGNATURE 0x40000000 /* hypervisor leaf, Linux Documentation/virt/kvm/x86/cpuid.rst */

static int host_module_loaded(const char *name)
{
	char path[64];

	strcpy(path, "/sys/module/");
	strncat(path, name, sizeof(path) - strlen(path) - 1);
	return access(path, F_OK) == 0;
}

void host_probe(int kvm_fd, const struct kvm_cpuid2 *cpuid, struct host_info *hi)
{
	memset(hi, 0, sizeof(*hi));
	hi->api_version = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	hi->max_vcpus = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (hi->max_vcpus <= 0)
		hi->max_vcpus = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (hi->max_vcpus <= 0)
		hi->max_vcpus = 4; /* KVM API docs: assume 4 when neither cap answers */

	for (unsigned i = 0; cpuid && i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == CPUID_HV_SIGNATURE) {
			memcpy(hi->cpuid_sig, &e->ebx, 4);
			memcpy(hi->cpuid_sig + 4, &e->ecx, 4);
			memcpy(hi->cpuid_sig + 8, &e->edx, 4);
			hi->cpuid_sig[12] = '\0';
		}
	}
	/* The module is the reliable tell: PVM also loads "kvm" itself. */
	if (host_module_loaded("kvm_pvm"))
		hi->kind = HOST_KVM_PVM;
	else if (host_module_loaded("kvm_intel"))
		hi->kind = HOST_KVM_VMX;
	else if (host_module_loaded("kvm_amd"))
		hi->kind = HOST_KVM_SVM;
}

const char *host_kind_describe(enum host_kvm_kind k)
{
	switch (k) {
	case HOST_KVM_VMX:
		return "hardware-assisted (Intel VMX, kvm_intel)";
	case HOST_KVM_SVM:
		return "hardware-assisted (AMD SVM, kvm_amd)";
	case HOST_KVM_PVM:
		return "PVM (software virtualization, kvm_pvm: guest supervisor code is emulated)";
	default:
		return "unknown KVM backend (no kvm_intel, kvm_amd or kvm_pvm module found)";
	}
}

const char *host_linux_caveat(enum host_kvm_kind k)
{
	if (k != HOST_KVM_PVM)
		return NULL;
	return "this host's KVM is PVM: it emulates guest kernel code and cannot emulate "
	       "XSAVE/XRSTOR or INT3, so a stock Linux kernel dies early with an emulation "
	       "failure (only PVM-aware kernels boot). Run vmon on hardware KVM, or nested "
	       "(tests/e2e/nested.sh) as the README shows";
}
