/*
 * vcpu.h: one virtual CPU: its accelerator handle, its thread and its exit
 * counters.
 *
 * Owns: the run loop and exit dispatch (port I/O and MMIO to the buses,
 * reset/crash/error to the host's stop). Does not own register policy
 * (arch/), the accelerator (accel/), devices, or the VM: a vCPU reaches its
 * VM only through struct vcpu_host, so vcpu.c never includes vm.h.
 * Threads: vcpu_thread runs on the vCPU's own thread; vcpu_kick from any.
 */
#ifndef VMON_VCPU_H
#define VMON_VCPU_H

#include <pthread.h>
#include <stdint.h>

#include "accel/accel.h"
#include "bus.h"
#include "machine.h"
#include "stats.h"

/* What a vCPU thread needs of its VM, as callbacks (vm.c fills it). */
struct vcpu_host {
	const struct bus *pio, *mmio;
	void *ctx;
	int (*stopped)(void *ctx);      /* 1: leave the loop */
	void (*pause_point)(void *ctx); /* parks the thread while a pause is asked */
	void (*stop)(void *ctx, enum vm_exit why, const char *msg);
};

/* One exit in the crash trace (vcpu.c). */
struct vcpu_trace {
	uint64_t ns;    /* CLOCK_MONOTONIC at the exit */
	uint64_t addr;  /* port or MMIO address */
	uint64_t data;  /* first bytes of a write, little-endian */
	uint16_t raw;   /* the exit's KVM_EXIT_* number */
	uint8_t kind;   /* enum vcpu_exit_kind */
	uint8_t len, write, count_gt1;
};

#define VCPU_TRACE_LEN 32

struct vcpu {
	struct accel_vcpu *av;
	const struct vcpu_host *host;
	unsigned id;
	pthread_t thread;
	int thread_started;
	struct vcpu_stats stats; /* written only by this vCPU's thread */
	struct vcpu_trace ring[VCPU_TRACE_LEN]; /* last exits, for crash reports (own thread) */
	uint64_t ring_n;
};

/* Create vCPU id on accelerator a. 0 or -errno (logged). */
int vcpu_create(struct vcpu *v, struct accel *a, unsigned id, const struct vcpu_host *host);
void vcpu_destroy(struct vcpu *v);

/* Thread body: run until the VM stops. arg is the struct vcpu. */
void *vcpu_thread(void *arg);

/* Make a running vCPU return to the loop promptly. Any thread. */
void vcpu_kick(struct vcpu *v);

#endif
