/*
 * vm.h: one virtual machine: its frozen configuration, accelerator, guest
 * memory, buses, device list, I/O thread and vCPUs. Everything a VM needs
 * hangs off struct vm, so two VMs can live in one process.
 *
 * Owns: putting a VM together from its parts (accelerator, arch, devices,
 * vCPUs) in the right order and taking it apart again, the run/stop/pause
 * protocol, the VMM thread's loop (console input, stop signals, TTL and the
 * API's posted actions) and the exit report. Does not own any KVM ioctl
 * (accel/), any PC detail (arch/x86/), any device (dev.h list).
 *
 * Threads:
 *   - the VMM thread (the caller of vm_run) runs the main loop: console
 *     input, stop requests, the TTL, and host->on_action for the API's
 *     posted actions (which may pause, resume, send keys, read stats);
 *   - vCPU threads run vcpu_thread (vcpu.c) and call back only through
 *     struct vcpu_host;
 *   - the I/O thread (ioloop.c) runs virtio queue work.
 * Shared state: exit_reason and stopping are atomics (the first
 * vm_request_stop wins); pause state is under pause_lock.
 * Lock order: pause_lock, then a device's lock; a device's lock is a leaf
 * (nothing is taken under it), and a device that stops the VM (the i8042
 * reset pulse) calls machine stop after unlocking.
 */
#ifndef VMON_VM_H
#define VMON_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "accel/accel.h"
#include "arch/arch.h"
#include "bus.h"
#include "conmux.h"
#include "console.h"
#include "dev.h"
#include "gmem.h"
#include "ioloop.h"
#include "machine.h"
#include "vcpu.h"
#include "vmconfig.h"
#include "snapshot/genid.h"

/*
 * What a running VM is given by its host process, beside its config:
 * live resources, never saved or migrated.
 */
struct vm_host {
	int console_in_fd;   /* the console's input (stdin), or -1 for none */
	int console_out_fd;  /* guest serial output (stdout) */
	struct conmux *mux;  /* detached console (serial log + socket), or NULL */
	uint64_t deadline_ns; /* vm_now_ns() time to stop the VM (its TTL), 0: none */
	/* The API's action queue: when action_fd is readable, the VMM thread calls on_action. */
	int action_fd;       /* -1: none */
	void (*on_action)(void *ctx);
	void *action_ctx;
	/*
	 * The memory file of a snapshot to restore (#15), or NULL: vm_create
	 * maps it as guest RAM (MAP_PRIVATE) before the accelerator sees it
	 * and loads no kernel; vm_restore(_files) then loads the state.
	 */
	const char *restore_mem;
	/* A migration's target (vm_migrate.c): vm_create loads no kernel, the stream fills RAM. */
	int incoming;
};

struct vm {
	struct vm_config cfg;  /* frozen at vm_create */
	struct vm_host host;
	struct accel *accel;
	const struct arch_ops *arch;
	void *arch_priv;
	struct gmem mem;
	struct bus pio, mmio;
	struct devlist devs;
	struct ioloop io;
	int io_inited;
	struct machine machine; /* what devices and arch code see of this VM */

	/* Guest output to console_out_fd without blocking (console.h); not with a mux. */
	struct console_out cout;
	int cout_open;

	struct vcpu *vcpus;
	unsigned nr_vcpus;
	struct vcpu_host vcpu_host; /* what the vCPU threads see of this VM */

	/* Pause: vCPUs park in the pause point until resumed or stopped. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	atomic_int pause_req;
	unsigned nr_parked;       /* under pause_lock */
	int pause_inited;

	atomic_int exit_reason;   /* enum vm_exit, first writer wins */
	atomic_int stopping;      /* vCPUs must leave the accelerator */
	char exit_msg[256];       /* written by the winner of exit_reason */
	int stop_efd;             /* eventfd: wakes the main loop to stop */
	int rx_space_efd;         /* eventfd: the UART has room for input again */
	uint64_t start_ns, end_ns;

	/* Snapshots (vm_snapshot.c, #15): this VM's lineage and last generation. */
	uint8_t snap_lineage[16];
	int snap_has_lineage;
	uint64_t snap_generation;
	char snap_id[64];        /* the VM's name in its snapshots ("" -> "vm") */
	int snap_dirty_on;       /* dirty logging on since the last snapshot */
	uint8_t snap_genid[16];  /* VM generation ID, new at each restore (snapshot/genid.h) */
	struct snap_genid_hook genid_hook; /* the arch's vmgenid device (arch_ops.genid) */
};

/*
 * Snapshots (vm_snapshot.c). vm_snapshot: the VM paused (vm_pause), write a
 * full snapshot to dir (DIR/state, DIR/memory), its generation taken from
 * the lineage store under state_dir. vm_restore: into a VM vm_create built
 * from the snapshot's configuration and never ran, after checking the state
 * file's MAC with state_dir's host key and the rollback rule
 * (snapshot/lineage.h). Both 0 or -errno with one line in err.
 */
/*
 * allow_rollback of vm_restore/vm_restore_diff: VM_RESTORE_ALLOW_ROLLBACK
 * restores an older generation (audited); VM_RESTORE_DIFF_FOLLOWS marks the
 * base of a diff chain, whose rollback check the caller leaves to the
 * chain's last vm_restore_diff (which always checks): it must apply one.
 */
#define VM_RESTORE_ALLOW_ROLLBACK 1
#define VM_RESTORE_DIFF_FOLLOWS 2
int vm_snapshot(struct vm *vm, const char *dir, const char *state_dir, char *err, size_t errlen);
int vm_restore(struct vm *vm, const char *dir, const char *state_dir, int allow_rollback,
	       char *err, size_t errlen);
/*
 * The same with the two files named (the API's snapshot_path and
 * mem_file_path); diff as vm_snapshot_diff. The directory calls above use
 * DIR/state and DIR/memory, DIR made 0700 by a snapshot.
 */
int vm_snapshot_files(struct vm *vm, const char *state_path, const char *mem_path,
		      const char *state_dir, int diff, char *err, size_t errlen);
int vm_restore_files(struct vm *vm, const char *state_path, const char *mem_path,
		     const char *state_dir, int allow_rollback, char *err, size_t errlen);
/*
 * The configuration a full snapshot's VM was built from (its state file's
 * config section, under the file's MAC with state_dir's host key): what a
 * restoring process gives vm_create. 0, or -errno with one line in err (a
 * diff, a file without the section, a bad file).
 */
int vm_snapshot_config(const char *state_path, const char *state_dir, struct vm_config *cfg,
		       char *err, size_t errlen);
/*
 * Live migration (vm_migrate.c): the VM's state (devices, vCPUs, machine,
 * configuration, lineage and its last generation, no new one) as a state
 * file in memory, authenticated with state_dir's host key, the vCPUs
 * paused; and loading such a blob into a VM vm_create built from its
 * configuration. 0 or -errno with one line in err.
 */
int vm_snapshot_state_blob(struct vm *vm, const char *state_dir, struct snap_out *o, char *err,
			   size_t errlen);
int vm_restore_state_blob(struct vm *vm, const void *buf, size_t len, const char *state_dir,
			  char *err, size_t errlen);

/* What a migration did (vm_migrate.c). */
struct vm_migrate_stats {
	uint64_t bytes;        /* sent on the stream */
	uint64_t downtime_ns;  /* from the pause to the target's ACK */
	uint64_t total_ns;
	unsigned rounds;       /* page rounds, the paused one included */
	int precopy;           /* 0: stop-and-copy (paused VM, virtio devices, no dirty log) */
};

/* The target's view of a migration stream's header (vm_migrate_recv_header). */
struct vm_migrate_in {
	unsigned nr_regions;
	uint64_t gpa[GMEM_MAX_REGIONS], size[GMEM_MAX_REGIONS];
	uint8_t genid[16];
};

/*
 * Source: move vm over the connected fd (snapshot/migrate.h). 0 once the
 * target acknowledged: the VM is left paused, for the caller to stop. Else
 * -errno with one line in err, the VM running again (paused if was_paused).
 */
int vm_migrate_out(struct vm *vm, int fd, const char *state_dir, int was_paused,
		   struct vm_migrate_stats *st, char *err, size_t errlen);
/* Target: the configuration to build the VM from, and the layout to check. */
int vm_migrate_recv_header(int fd, struct vm_config *cfg, struct vm_migrate_in *in, char *err,
			   size_t errlen);
/*
 * Target: into vm (vm_create with host.incoming, never run) the pages and
 * the state, then the ACK. 0 or -errno with one line in err.
 */
int vm_migrate_recv(struct vm *vm, int fd, const struct vm_migrate_in *in, const char *state_dir,
		    char *err, size_t errlen);
/*
 * A diff snapshot (paused, after a vm_snapshot of this run): only the pages
 * the guest wrote since the last snapshot (the accelerator's dirty log),
 * plus all device and vCPU state. TODO(#15): pages vmon's own devices write
 * (virtio rings and buffers) are not in KVM's log; a diff of a VM whose
 * virtio devices moved data can miss them.
 * vm_restore_diff: apply one on top of what vm_restore (or a previous
 * diff) restored; it must be that snapshot's child in the lineage.
 */
int vm_snapshot_diff(struct vm *vm, const char *dir, const char *state_dir, char *err,
		     size_t errlen);
int vm_restore_diff(struct vm *vm, const char *dir, const char *state_dir, int allow_rollback,
		    char *err, size_t errlen);
/* vm_create's half of a restore: map the memory file over the laid-out RAM. 0 or -errno, logged. */
int vm_snapshot_map_memory(struct vm *vm, const char *mem_path);

/* Console on stdin/stdout, no mux, no deadline, no actions. */
void vm_host_defaults(struct vm_host *h);

/*
 * Build the VM (nothing runs yet): validate cfg, create the accelerator,
 * guest RAM, the platform and virtio devices, load the kernel, set up the
 * vCPUs. 0 or -errno, logged once with its reason. vm_destroy after either.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_host *host);

/* Run until the guest or the host stops it; returns why. The calling thread is the VMM thread. */
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
 * Pause: every vCPU leaves the accelerator and waits; returns once all
 * have (0), or -ESRCH when the VM is stopping, -EINTR when a stop signal
 * (SIGINT, SIGTERM, SIGHUP) is pending, -ETIMEDOUT when a vCPU did not
 * park within VM_PAUSE_TIMEOUT_MS: then the pause is undone and the VM runs
 * on. The pause lock is not held while it waits. Device work on the I/O
 * thread goes on (a request in flight completes). Idempotent. Any thread.
 */
#define VM_PAUSE_TIMEOUT_MS 2000
int vm_pause(struct vm *vm);
/* Let paused vCPUs run again. Idempotent. */
void vm_resume(struct vm *vm);
/*
 * Before vm_run: its vCPUs park at their first pause point, before any
 * guest instruction, until vm_resume (a snapshot loaded without resume_vm).
 */
void vm_start_paused(struct vm *vm);
/* 1 once the VM is stopping or its fate is known: vCPUs must not run again. */
int vm_stopped(struct vm *vm);
/* Press Ctrl-Alt-Del on the guest: 0, -ENOSPC (its input queue is full), -ENOTSUP. */
int vm_send_ctrl_alt_del(struct vm *vm);

/* Print --stats: exits per vCPU and per bus range, every device's counters. */
void vm_print_stats(struct vm *vm, FILE *f);

/* Save every device's state (vCPUs must be paused). 0 or -errno, logged. */
int vm_save_devices(struct vm *vm, struct snap_out *out);
/* Load it back (vCPUs paused). Hostile input: -EINVAL, logged. */
int vm_load_devices(struct vm *vm, struct snap_in *in);

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
