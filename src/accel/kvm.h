/*
 * accel/kvm.h: what accel/kvm.c (the arch-neutral KVM accelerator) and its
 * per-arch half (accel/kvm_x86.c) share. Nothing outside src/accel/
 * includes this file.
 */
#ifndef VMON_ACCEL_KVM_H
#define VMON_ACCEL_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#include "accel/accel.h"

struct kvm_accel {
	struct accel base;
	int kvm_fd, vm_fd;
	size_t run_size;
	struct accel_info info;
};

struct kvm_vcpu {
	struct accel_vcpu base;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;     /* the thread running it, once it has run */
	atomic_int has_thread;
};

/* A capability vmon cannot run without, and its name for the message. */
struct kvm_cap_need {
	int cap;
	const char *name;
};

/* 0 when the host has every capability in need[0..n); else -ENOTSUP, naming the first missing. */
int kvm_need_caps(struct kvm_accel *k, const struct kvm_cap_need *need, size_t n);

/* Per arch (kvm_x86.c): capabilities it needs beyond the common ones (kvm_need_caps). */
int kvm_arch_check_caps(struct kvm_accel *k);
/* Per arch: VM-wide set-up right after KVM_CREATE_VM (x86: TSS, irqchip, PIT). */
int kvm_arch_vm_init(struct kvm_accel *k);
/* Per arch: fill what vmon info says (backend, signature, caveat) beside the common fields. */
void kvm_arch_probe(int kvm_fd, struct accel_info *info);
int kvm_arch_query(struct kvm_accel *k, enum accel_query q, void *buf, size_t len);
int kvm_arch_vcpu_get(struct kvm_vcpu *v, enum accel_reg r, void *buf, size_t len);
int kvm_arch_vcpu_set(struct kvm_vcpu *v, enum accel_reg r, const void *buf, size_t len);
/* Per arch: the vCPU's program counter (crash messages); 0 when it cannot be read. */
uint64_t kvm_arch_pc(struct kvm_vcpu *v);

/* Per arch (kvm_x86_state.c): snapshot state of a vCPU and of the VM (accel.h's *_save/_load). */
struct snap_out;
struct snap_in;
int kvm_arch_vcpu_save(struct kvm_vcpu *v, struct snap_out *o);
int kvm_arch_vcpu_load(struct kvm_vcpu *v, struct snap_in *in);
int kvm_arch_vm_save(struct kvm_accel *k, struct snap_out *o);
int kvm_arch_vm_load(struct kvm_accel *k, struct snap_in *in);
int kvm_arch_dirty_log(struct kvm_accel *k, unsigned slot, uint64_t *bitmap);

#endif
