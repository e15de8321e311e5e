/*
 * accel/accel.h: the accelerator seam. An accelerator runs guest code and
 * reports why it stopped; vmon's core talks to it only through these ops,
 * so KVM (accel/kvm.c) and a software vCPU (accel/interp.c, MIPS32) plug in
 * the same way. Every KVM ioctl vmon makes lives under src/accel/.
 *
 * Owns: the ops contract and the neutral vCPU exit (struct vcpu_exit):
 * port I/O, MMIO, halt, reset, crash, debug, error. Does not own exit
 * dispatch (vcpu.c), CPU register policy (arch/<arch>/), devices.
 *
 * Threads: VM-level ops (RAM, interrupts, fds) from any thread once
 * created; a vCPU's run from its own thread only, kick from any thread.
 */
#ifndef VMON_ACCEL_H
#define VMON_ACCEL_H

#include <stddef.h>
#include <stdint.h>

enum vcpu_exit_kind {
	VCPU_EXIT_NONE,   /* nothing to do (interrupted, spurious): run again */
	VCPU_EXIT_PIO,    /* port I/O: dispatch to the PIO bus */
	VCPU_EXIT_MMIO,   /* MMIO: dispatch to the MMIO bus */
	VCPU_EXIT_HALT,   /* the vCPU waits for an interrupt (no in-kernel irqchip) */
	VCPU_EXIT_RESET,  /* the guest reset or powered off: a clean end */
	VCPU_EXIT_CRASH,  /* triple fault, emulation failure: the guest's fault */
	VCPU_EXIT_DEBUG,  /* breakpoint or single step (gdbstub) */
	VCPU_EXIT_ERROR,  /* the accelerator failed or said something unknown: vmon's fault */
};

#define VCPU_EXIT_MSG_MAX 192

struct vcpu_exit {
	enum vcpu_exit_kind kind;
	/*
	 * The reason in KVM's numbering (KVM_EXIT_*, < 64) for stats and crash
	 * traces; a software vCPU reports the KVM number of the same event, so
	 * `--stats` reads alike under every accelerator.
	 */
	unsigned raw;
	union {
		struct {
			uint8_t *data;   /* count * size bytes: read into, or written from */
			uint16_t port;
			uint8_t size;    /* 1, 2 or 4 */
			uint8_t is_write;
			uint32_t count;  /* string I/O (rep ins/outs): consecutive items */
		} pio;
		struct {
			uint8_t *data;   /* len bytes: read into, or written from */
			uint64_t addr;
			uint32_t len;    /* 1..8 */
			uint8_t is_write;
		} mmio;
		struct {
			uint64_t pc;     /* where the vCPU was, when known (0 if not) */
		} debug;
	};
	/* RESET, CRASH, ERROR: one line for the log ("triple fault (shutdown)"). */
	char msg[VCPU_EXIT_MSG_MAX];
};

/* What vmon info and vm.c want to know of a host's accelerator. */
struct accel_info {
	const char *backend;   /* "hardware-assisted (AMD SVM, kvm_amd)", "PVM ..." */
	int api_version;
	int max_vcpus;
	char signature[13];    /* hypervisor signature guests see, "" if none */
	const char *linux_caveat; /* why a stock Linux will not boot here, or NULL */
	int is_pvm;
};

/*
 * vCPU state the arch code reads or writes, in the layout of the
 * accelerator's uapi (x86: struct kvm_regs etc. from <linux/kvm.h>; the
 * software vCPU has its own kinds). len is the buffer's size; variable
 * records (MSRS, CPUID) carry their own count inside.
 */
enum accel_reg {
	ACCEL_X86_REGS,   /* struct kvm_regs */
	ACCEL_X86_SREGS,  /* struct kvm_sregs */
	ACCEL_X86_FPU,    /* struct kvm_fpu */
	ACCEL_X86_LAPIC,  /* struct kvm_lapic_state */
	ACCEL_X86_MSRS,   /* struct kvm_msrs + entries; set must take all of them */
	ACCEL_X86_CPUID,  /* struct kvm_cpuid2 + entries (set only) */
	ACCEL_MIPS_REGS,  /* struct mips_regs (accel/mips/accel.h) */
};

/* VM-level facts the arch code asks for. */
enum accel_query {
	ACCEL_X86_SUPPORTED_CPUID, /* struct kvm_cpuid2 + entries, nent = capacity on entry */
};

#define ACCEL_MSI_ROUTE_NEW (~0u) /* msi_route: allocate a GSI */

struct accel;
struct accel_vcpu;
struct snap_out;
struct snap_in;

/*
 * Where vcpu_drain hands a buffered write: port (is_pio) or MMIO address,
 * len bytes (1..8) of data, in the order the guest made them.
 */
typedef void (*accel_drain_fn)(void *ctx, int is_pio, uint64_t addr, const uint8_t *data,
			       unsigned len);

struct accel_ops {
	const char *name; /* "kvm" */
	/* Guest RAM region slot at gpa backed by hva. 0 or -errno (logged). */
	int (*map_ram)(struct accel *a, unsigned slot, uint64_t gpa, uint64_t size, void *hva);
	int (*irq_line)(struct accel *a, unsigned gsi, int level);
	int (*msi)(struct accel *a, uint64_t addr, uint32_t data);
	/* Both: -ENOTSUP when the accelerator has no such path. */
	int (*irqfd)(struct accel *a, int fd, unsigned gsi, int assign);
	int (*ioeventfd)(struct accel *a, int fd, int is_pio, uint64_t addr, unsigned len,
			 uint64_t match, int assign);
	/*
	 * MSI routes, so an irqfd can deliver a message (PCI MSI-X): route
	 * *gsi to the message (addr, data); *gsi == ACCEL_MSI_ROUTE_NEW picks
	 * a free GSI past the interrupt controller's pins and returns it, any
	 * other value updates that route. free releases it. 0 or -errno;
	 * -ENOTSUP where there is no such routing (the caller then sends
	 * each message with msi). Any thread.
	 */
	int (*msi_route)(struct accel *a, unsigned *gsi, uint64_t addr, uint32_t data);
	int (*msi_route_free)(struct accel *a, unsigned gsi);
	int (*query)(struct accel *a, enum accel_query q, void *buf, size_t len);
	void (*info)(struct accel *a, struct accel_info *out);

	int (*vcpu_create)(struct accel *a, unsigned id, struct accel_vcpu **out);
	void (*vcpu_destroy)(struct accel_vcpu *v);
	/*
	 * Run until an exit worth handling: 0 with *e filled, -EINTR when
	 * kicked (check for stop or pause, then run again), other -errno when
	 * the accelerator failed. The data pointers in *e stay valid until the
	 * next run; a read's answer is written there before it.
	 */
	int (*vcpu_run)(struct accel_vcpu *v, struct vcpu_exit *e);
	/* Make a run in progress (or the next one) return -EINTR soon. Any thread. */
	void (*vcpu_kick)(struct accel_vcpu *v);
	int (*vcpu_get)(struct accel_vcpu *v, enum accel_reg r, void *buf, size_t len);
	int (*vcpu_set)(struct accel_vcpu *v, enum accel_reg r, const void *buf, size_t len);

	void (*destroy)(struct accel *a);

	/*
	 * Snapshot and migration state (#15). Called on the VMM thread with
	 * every vCPU paused. vcpu_save/vm_save append the complete vCPU state
	 * (x86: regs, sregs, XSAVE or FPU, XCRs, MSRs incl. TSC and kvmclock,
	 * LAPIC, MP state, events, debug registers) / the VM-wide in-kernel
	 * state (x86: PIC, IOAPIC, PIT, KVM clock) to out; the loads treat in
	 * as hostile and return -EINVAL for anything malformed.
	 */
	int (*vcpu_save)(struct accel_vcpu *v, struct snap_out *out);
	int (*vcpu_load)(struct accel_vcpu *v, struct snap_in *in);
	int (*vm_save)(struct accel *a, struct snap_out *out);
	int (*vm_load)(struct accel *a, struct snap_in *in);
	/*
	 * Dirty-page logging of a RAM slot mapped by map_ram: track re-maps
	 * the slot with logging on or off; dirty_get fills bitmap (one bit per
	 * 4 KiB page of the slot, u64 words) with the pages written since the
	 * last call and clears the log. -ENOTSUP when there is no such log.
	 */
	int (*dirty_track)(struct accel *a, unsigned slot, uint64_t gpa, uint64_t size, void *hva,
			   int on);
	int (*dirty_get)(struct accel *a, unsigned slot, uint64_t *bitmap);

	/*
	 * Coalesced port writes (KVM_CAP_COALESCED_PIO): the guest's writes to
	 * [port, port+len) no longer exit; the accelerator buffers them and
	 * vcpu_drain hands them back. Only for ports whose writes need no
	 * immediate effect and whose reads, or a neighbour's access, exit
	 * anyway (the CF8 latch before a CFC access). Reads still exit. 0, or
	 * -ENOTSUP when the accelerator cannot (writes then exit as before).
	 * VMM thread, before any vCPU runs. NULL: not offered.
	 */
	int (*coalesce_pio)(struct accel *a, uint16_t port, unsigned len);
	/*
	 * Hand every buffered write, oldest first, to fn and return how many.
	 * The core calls it after each vcpu_run returns (an exit, a kick or a
	 * failure) and before it handles that exit, on the vCPU's own thread;
	 * the buffer is VM-wide and the drain holds a VM-wide lock while it
	 * dispatches, so writes from any vCPU reach the buses in the guest's
	 * order and before the exit that follows them. NULL: nothing is ever
	 * buffered.
	 */
	unsigned (*vcpu_drain)(struct accel_vcpu *v, accel_drain_fn fn, void *ctx);
};

struct accel {
	const struct accel_ops *ops;
};

struct accel_vcpu {
	struct accel *a;
	unsigned id;
};

/*
 * Open the KVM device at path and create a VM on it, for up to ncpus vCPUs
 * (refused, with the host's limit, when above it). 0 or -errno, logged in
 * words a user can act on (no /dev/kvm, no permission, missing capability).
 */
int accel_kvm_create(const char *path, unsigned ncpus, struct accel **out);
/* Describe the host's KVM without creating a VM (vmon info). 0 or -errno, logged. */
int accel_kvm_probe(const char *path, struct accel_info *out);

/*
 * arm64 (accel/kvm_arm64.c, arch/arm64/): vCPU state kinds beside enum
 * accel_reg, passed to vcpu_set/vcpu_get cast to enum accel_reg. Plain
 * structs, so the arm64 board builds (and is unit-tested) on any host.
 */
enum accel_arm64_reg {
	/*
	 * set: KVM_ARM_PREFERRED_TARGET + KVM_ARM_VCPU_INIT with PSCI 0.2 (and
	 * POWER_OFF for secondaries); on the vCPU with id ncpus - 1 the vGIC's
	 * addresses are set and it is initialised (every vCPU exists by then).
	 */
	ACCEL_ARM64_INIT = 0x100,  /* struct accel_arm64_init */
	ACCEL_ARM64_CORE,          /* struct accel_arm64_core: set x0-x3, pc, pstate; get pc */
};

struct accel_arm64_init {
	uint32_t power_off;   /* 1: starts off, waits for PSCI CPU_ON */
	uint32_t ncpus;
	uint64_t gic_dist;    /* GICv3 distributor base (64 KiB) */
	uint64_t gic_redist;  /* first redistributor (128 KiB per vCPU) */
	uint32_t gic_nr_irqs; /* SGIs + PPIs + SPIs, a multiple of 32 */
};

struct accel_arm64_core {
	uint64_t x[4];
	uint64_t pc;
	uint64_t pstate;
};

#endif
