/*
 * vm.h: one virtual machine: its configuration, KVM handles, guest memory,
 * buses, devices and vCPUs. Everything a VM needs hangs off struct vm, so
 * two VMs can live in one process.
 *
 * Owns: VM creation (KVM VM, memory slots, in-kernel irqchip and PIT,
 * devices, kernel loading, MP table), the run/stop protocol and teardown.
 *
 * Threads: the caller of vm_run (the main thread) runs the console loop
 * and joins vCPU threads; vCPU threads run vcpu_thread. Shared state:
 *   - exit_reason/stopping: atomics; the first vm_request_stop wins.
 *   - devices: each has its own mutex.
 * Lock order: a device mutex is a leaf; nothing is taken while holding one,
 * and device callbacks that stop the VM (i8042 reset) run after unlocking.
 */
#ifndef VMON_VM_H
#define VMON_VM_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "arch/x86/boot.h"
#include "arch/x86/host.h"
#include "bus.h"
#include "conmux.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/uart16550.h"
#include "gmem.h"
#include "ioloop.h"
#include "vcpu.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/rng.h"

#define VM_MIN_MEM   (2ULL << 20)    /* room for boot structures and a tiny guest */
#define VM_MAX_CPUS  254             /* MP table: 8-bit APIC IDs, IOAPIC takes one */
#define VM_MAX_DISKS 6               /* with the rng, fits the free ISA IRQs (vm.c) */
#define VM_MAX_NETS  2
/* Disks and NICs share the free ISA IRQs left after the rng (vm_virtio_gsis in vm.c). */
#define VM_MAX_VIRTIO_EXTRA 6
#define VM_VIRTIO_MMIO_BASE 0xd0000000ULL /* in the PCI hole, below the IOAPIC */
#define VM_CMDLINE_MAX 4096

struct vm_config {
	const char *kernel_path;
	const char *initrd_path;  /* NULL: none */
	const char *cmdline;      /* never NULL after vm_config_defaults */
	uint64_t mem_bytes;
	unsigned ncpus;
	int stats;                /* print exit statistics at exit */
	int elf64_entry;          /* ignore a PVH note, use the ELF 64-bit entry */
	const char *kvm_path;     /* "/dev/kvm" unless overridden */
	int console_in_fd;        /* stdin, or -1 for no input */
	int console_out_fd;       /* stdout */
	struct vblk_opts disks[VM_MAX_DISKS];
	unsigned nr_disks;
	struct vnet_opts nets[VM_MAX_NETS];
	unsigned nr_nets;
	struct conmux *mux;       /* detached console (serial log + socket), or NULL:
				     then console_in_fd/console_out_fd serve */
	uint64_t deadline_ns;     /* vm_now_ns() time to stop the VM (its TTL), 0: none */
};

/* Why the VM stopped; maps to vmon's exit status in main.c. */
enum vm_exit {
	VM_EXIT_NONE = 0,
	VM_EXIT_GUEST_RESET,   /* guest reset/reboot: a clean end (reboot=k) */
	VM_EXIT_GUEST_CRASH,   /* triple fault, KVM internal/emulation error */
	VM_EXIT_HOST_STOP,     /* Ctrl-A x, SIGINT/SIGTERM */
	VM_EXIT_VMM_ERROR,     /* vmon itself failed while running */
};

struct vm {
	struct vm_config cfg;
	int kvm_fd, vm_fd;
	size_t run_size;
	struct host_info host;
	struct kvm_cpuid2 *cpuid;
	struct gmem mem;
	struct bus pio, mmio;
	struct boot_info boot;

	struct uart serial0;
	struct i8042 kbd;
	struct rtc rtc;
	int devices_inited;

	struct ioloop io;               /* the I/O thread: virtio queue work */
	int io_inited;
	struct vrng rng;
	struct virtio_mmio rng_mmio;
	struct vblk disk[VM_MAX_DISKS];
	struct virtio_mmio disk_mmio[VM_MAX_DISKS];
	unsigned nr_disks_open;
	struct vnet net[VM_MAX_NETS];
	struct virtio_mmio net_mmio[VM_MAX_NETS];
	unsigned nr_nets_open;
	unsigned nr_virtio;             /* transports set up, in creation order */
	struct virtio_mmio *virtio[1 + VM_MAX_DISKS + VM_MAX_NETS];
	char cmdline[VM_CMDLINE_MAX];   /* user's command line + virtio_mmio.device= */

	struct vcpu *vcpus;
	unsigned nr_vcpus;

	/* Pause: vCPUs park in vm_pause_point until resumed or stopped. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	atomic_int pause_req;
	unsigned nr_parked;       /* under pause_lock */
	int pause_inited;

	atomic_int exit_reason;   /* enum vm_exit, first writer wins */
	atomic_int stopping;      /* vCPUs must leave KVM_RUN */
	char exit_msg[256];       /* written by the winner of exit_reason */
	int stop_efd;             /* eventfd: wakes the main loop to stop */
	int rx_space_efd;         /* eventfd: the UART has room for input again */
	uint64_t start_ns, end_ns;
};

/* Fill defaults (kvm_path, cmdline, fds). */
void vm_config_defaults(struct vm_config *c);

/*
 * Check a configuration before anything is created; logs one line naming
 * the problem. Returns 0 or -EINVAL.
 */
int vm_config_validate(const struct vm_config *c);

/* Build the VM (nothing runs yet). 0 or -errno, logged. vm_destroy after either. */
int vm_create(struct vm *vm, const struct vm_config *cfg);

/* Run until the guest or the host stops it; returns why. */
enum vm_exit vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

/*
 * vmon's exit status for why the VM ended: 0 guest reset, 1 vmon error,
 * 3 guest crash, 4 stopped from the host (2, usage, is main.c's own).
 */
int vm_exit_status(enum vm_exit why);
/* Log why the VM ended, at the level it deserves. */
void vm_log_exit(const struct vm *vm, enum vm_exit why);

/*
 * Ask the VM to stop (any thread). The first caller's reason and message
 * are kept; later calls are ignored. fmt may be NULL.
 */
__attribute__((format(printf, 3, 4)))
void vm_request_stop(struct vm *vm, enum vm_exit why, const char *fmt, ...);

/*
 * Pause: every vCPU leaves KVM_RUN and waits; returns once all have
 * (0), or -ESRCH when the VM is stopping. Device work on the I/O thread
 * goes on (a request in flight completes). Idempotent. Any thread.
 */
int vm_pause(struct vm *vm);
/* Let paused vCPUs run again. Idempotent. Any thread. */
void vm_resume(struct vm *vm);
/* 1 once the VM is stopping or its fate is known: vCPUs must not re-enter KVM_RUN. */
int vm_stopped(struct vm *vm);
/* Called by each vCPU thread before KVM_RUN: parks it while a pause is asked. */
void vm_pause_point(struct vm *vm);
/* Press Ctrl-Alt-Del on the guest's keyboard. 0 or -ENOSPC (keyboard queue full). */
int vm_send_ctrl_alt_del(struct vm *vm);

/* Print --stats: exits per vCPU and device, virtio counters. After vm_run. */
void vm_print_stats(struct vm *vm, FILE *f);

/* A ppoll timeout until deadline_ns (vm_now_ns time); NULL when deadline_ns is 0. */
const struct timespec *vm_timeout_until(uint64_t deadline_ns, struct timespec *ts);
/*
 * Block SIGINT, SIGTERM and SIGHUP (threads created after inherit it) with
 * a no-op handler; *waitmask is *old without them, for the one ppoll that
 * may be interrupted by them.
 */
void vm_block_stop_signals(sigset_t *old, sigset_t *waitmask);

/* Monotonic nanoseconds. */
uint64_t vm_now_ns(void);

#endif
