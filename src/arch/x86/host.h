/*
 * host.h: what kind of KVM this host has, and whether a guest can run on it.
 *
 * Owns: detection of hardware-assisted KVM (kvm_intel/VMX, kvm_amd/SVM)
 * versus PVM (kvm_pvm: software virtualization, guest supervisor code is
 * emulated instruction by instruction, XSAVE/XRSTOR and INT3 are not).
 * Detection reads /sys/module and the hypervisor CPUID signature KVM reports.
 * Threads: main thread.
 */
#ifndef VMON_X86_HOST_H
#define VMON_X86_HOST_H

#include <linux/kvm.h>

enum host_kvm_kind { HOST_KVM_UNKNOWN, HOST_KVM_VMX, HOST_KVM_SVM, HOST_KVM_PVM };

struct host_info {
	enum host_kvm_kind kind;
	char cpuid_sig[13]; /* CPUID 0x40000000 signature KVM offers guests */
	int max_vcpus;      /* KVM_CAP_MAX_VCPUS */
	int api_version;
};

/* Fill hi from an open /dev/kvm fd and an optional supported-CPUID table. */
void host_probe(int kvm_fd, const struct kvm_cpuid2 *cpuid, struct host_info *hi);

/* One line: e.g. "hardware-assisted (AMD SVM, kvm_amd)". */
const char *host_kind_describe(enum host_kvm_kind k);

/* Why a stock Linux guest will not boot here, or NULL when it should. */
const char *host_linux_caveat(enum host_kvm_kind k);

#endif
