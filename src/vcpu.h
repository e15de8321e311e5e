/*
 * vcpu.h: one virtual CPU: its KVM fd, its shared kvm_run page, its thread
 * and its exit counters.
 *
 * Owns: the KVM_RUN loop and exit dispatch (PIO/MMIO to the VM's buses,
 * shutdown and errors to vm_request_stop). Does not own CPU register
 * policy (arch/x86/cpu.c) nor devices.
 * Threads: vcpu_thread runs on the vCPU's own thread; vcpu_kick may be
 * called from any thread.
 */
#ifndef VMON_VCPU_H
#define VMON_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stddef.h>

#include "stats.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	int thread_started;
	struct vcpu_stats stats; /* written only by this vCPU's thread */
};

/* Create vCPU id in vm (fd + kvm_run mapping). 0 or -errno. */
int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id);
void vcpu_destroy(struct vcpu *v);

/* Thread body: KVM_RUN until the VM stops. arg is the struct vcpu. */
void *vcpu_thread(void *arg);

/* Make a running KVM_RUN return promptly (immediate_exit + signal). */
void vcpu_kick(struct vcpu *v);

/* The signal used for kicks; vm.c installs a no-op handler for it. */
#define VCPU_KICK_SIGNAL SIGUSR1

#endif
