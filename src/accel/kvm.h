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

#if defined(__aarch64__)
#define KVM_ARM64_SPIS_MAX 128 /* SPI lines vmon's arm64 board may use (GSI = SPI index) */
#endif

struct kvm_accel {
	struct accel base;
	int kvm_fd, vm_fd;
	size_t run_size;
	struct accel_info info;
	struct kvm_msi_routes *msi_routes; /* kvm_x86_msi.c: NULL until the first route */
	/*
	 * Coalesced port writes (kvm.c, kvm_coalesce.c): the ring's page in
	 * every vCPU's mmap (0: the host has none), its entries, whether
	 * KVM_CAP_COALESCED_PIO is there, whether a zone is registered (set
	 * before any vCPU runs), and the lock that orders the drains. bad and
	 * logged are under the lock.
	 */
	unsigned ring_page, ring_max;
	size_t page_size;
	int coalesce_pio_cap, coalescing;
	pthread_mutex_t drain_lock;
	unsigned drain_bad;
	uint64_t drain_logged;
#if defined(__aarch64__)
	/* kvm_arm64.c: the vGIC device, and SPI levels driven before it was initialised. */
	int gic_fd;
	atomic_int gic_ready;
	uint64_t gic_levels[KVM_ARM64_SPIS_MAX / 64];
	/* irqfds asked for before the vGIC was initialised (KVM refuses them: EAGAIN). */
	struct { int fd; unsigned gsi; } gic_irqfds[KVM_ARM64_SPIS_MAX];
	unsigned nr_gic_irqfds;
#endif
};

struct kvm_vcpu {
	struct accel_vcpu base;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	struct kvm_coalesced_mmio_ring *ring; /* in this vCPU's mmap; NULL without one */
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
/*
 * Per arch (kvm_x86_msi.c; kvm_arm64.c: -ENOTSUP): accel.h's msi_route and
 * msi_route_free, and freeing the route table with the VM.
 */
struct kvm_msi_routes;
int kvm_arch_msi_route(struct kvm_accel *k, unsigned *gsi, uint64_t addr, uint32_t data);
int kvm_arch_msi_route_free(struct kvm_accel *k, unsigned gsi);
void kvm_arch_msi_destroy(struct kvm_accel *k);
/* Per arch: the vCPU's program counter (crash messages); 0 when it cannot be read. */
uint64_t kvm_arch_pc(struct kvm_vcpu *v);
#if defined(__aarch64__)
/* kvm_arm64.c: drive SPI gsi (KVM_IRQ_LINE's arm64 encoding; kept until the vGIC is ready). */
int kvm_arm64_irq_line(struct kvm_accel *k, unsigned gsi, int level);
/* kvm_arm64.c: irqfd on SPI gsi; queued until the vGIC is ready, then wired by kvm_irqfd_set. */
int kvm_arm64_irqfd(struct kvm_accel *k, int fd, unsigned gsi, int assign);
int kvm_irqfd_set(struct kvm_accel *k, int fd, unsigned gsi, int assign);
#endif

/* Per arch (kvm_x86_state.c; kvm_arm64.c: -ENOTSUP so far): snapshot state of a vCPU and of the VM (accel.h's *_save/_load). */
struct snap_out;
struct snap_in;
int kvm_arch_vcpu_save(struct kvm_vcpu *v, struct snap_out *o);
int kvm_arch_vcpu_load(struct kvm_vcpu *v, struct snap_in *in);
int kvm_arch_vm_save(struct kvm_accel *k, struct snap_out *o);
int kvm_arch_vm_load(struct kvm_accel *k, struct snap_in *in);

#endif
