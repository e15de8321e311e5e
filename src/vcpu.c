/*
 * vcpu.c: vCPU lifecycle and the KVM_RUN exit loop (see vcpu.h).
 *
 * Every exit to user space is a world switch; the loop keeps the work per
 * exit to one bus lookup and one device call, and counts each exit.
 */
#include "vcpu.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id)
{
	void *run;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		int err = errno;

		log_err("KVM_CREATE_VCPU %u: %s", id, strerror(err));
		return -err;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		int err = errno;

		log_err("vCPU %u: mmap of kvm_run: %s", id, strerror(err));
		close(v->fd);
		v->fd = -1;
		return -err;
	}
	v->run = run;
	v->run_size = vm->run_size;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

void vcpu_kick(struct vcpu *v)
{
	/* Pairs with KVM_RUN's check of immediate_exit on entry. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (v->thread_started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

static void vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	int is_write = r->io.direction == KVM_EXIT_IO_OUT;
	const struct bus *b = &v->vm->pio;

	/* String I/O (rep ins/outs) arrives as count consecutive items. */
	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size) {
		int idx = bus_access(b, r->io.port, data, r->io.size, is_write);

		if (idx >= 0) {
			v->stats.pio[idx]++;
			continue;
		}
		v->stats.pio_unclaimed++;
		if (!is_write)
			memset(data, 0xff, r->io.size); /* nothing answers: bus floats high */
		if (idx != -ENOENT)
			log_warn("vCPU %u: port 0x%x: device error %d", v->id, r->io.port, idx);
	}
}

static void vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	int idx;

	if (r->mmio.len > sizeof(r->mmio.data)) {
		v->stats.mmio_unclaimed++;
		return;
	}
	idx = bus_access(&v->vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
			 r->mmio.is_write);
	if (idx >= 0) {
		v->stats.mmio[idx]++;
		return;
	}
	/* A wild access is guest misbehaviour: answer all-ones, count it, go on. */
	v->stats.mmio_unclaimed++;
	if (!r->mmio.is_write)
		memset(r->mmio.data, 0xff, r->mmio.len);
	if (v->stats.mmio_unclaimed == 1)
		log_warn("vCPU %u: %s of unclaimed MMIO at 0x%llx (further ones are only counted)",
			 v->id, r->mmio.is_write ? "write" : "read",
			 (unsigned long long)r->mmio.phys_addr);
}

/*
 * Crash diagnostics: the last VCPU_TRACE_LEN exits of this vCPU, printed
 * when the guest crashes. On AMD SVM a triple fault reaches us after KVM has
 * already reset the vCPU (rip=0xfff0), so what the guest did last is the
 * only evidence left. Thread-local: each vCPU thread writes its own ring, and
 * the crash is reported on the thread that saw it. Costs one clock read and a
 * few stores per exit, next to an exit's tens of microseconds.
 */
#define VCPU_TRACE_LEN 32

struct vcpu_trace {
	uint64_t ns;     /* CLOCK_MONOTONIC at the exit */
	uint64_t addr;   /* port or MMIO address */
	uint64_t data;   /* first bytes of the access, little-endian */
	uint32_t reason; /* KVM_EXIT_* */
	uint8_t len, write, count_gt1;
};

static _Thread_local struct vcpu_trace vcpu_ring[VCPU_TRACE_LEN];
static _Thread_local uint64_t vcpu_ring_n; /* exits recorded so far */

static void vcpu_trace_exit(const struct kvm_run *r)
{
	struct vcpu_trace *t = &vcpu_ring[vcpu_ring_n++ % VCPU_TRACE_LEN];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(t, 0, sizeof(*t));
	t->ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	t->reason = r->exit_reason;
	if (r->exit_reason == KVM_EXIT_IO) {
		t->addr = r->io.port;
		t->len = r->io.size;
		t->write = r->io.direction == KVM_EXIT_IO_OUT;
		t->count_gt1 = r->io.count > 1;
		if (t->write)
			memcpy(&t->data, (const uint8_t *)r + r->io.data_offset,
			       r->io.size < 8 ? r->io.size : 8);
	} else if (r->exit_reason == KVM_EXIT_MMIO) {
		t->addr = r->mmio.phys_addr;
		t->len = (uint8_t)r->mmio.len;
		t->write = r->mmio.is_write;
		if (t->write)
			memcpy(&t->data, r->mmio.data, r->mmio.len < 8 ? r->mmio.len : 8);
	}
}

/* Print the ring, oldest first, times relative to the crash exit. */
static void vcpu_trace_dump(struct vcpu *v)
{
	uint64_t n = vcpu_ring_n, first = n > VCPU_TRACE_LEN ? n - VCPU_TRACE_LEN : 0;
	uint64_t last_ns = n ? vcpu_ring[(n - 1) % VCPU_TRACE_LEN].ns : 0;

	log_err("vCPU %u: last %" PRIu64 " of %" PRIu64 " exits (t = us before the last one):",
		v->id, n - first, n);
	for (uint64_t i = first; i < n; i++) {
		const struct vcpu_trace *t = &vcpu_ring[i % VCPU_TRACE_LEN];
		uint64_t us = (last_ns - t->ns) / 1000;

		if (t->reason == KVM_EXIT_IO || t->reason == KVM_EXIT_MMIO)
			log_err("  t-%8" PRIu64 " %-4s %-5s 0x%08" PRIx64 " len %u%s data 0x%" PRIx64,
				us, t->reason == KVM_EXIT_IO ? "io" : "mmio",
				t->write ? "write" : "read", t->addr, t->len,
				t->count_gt1 ? " rep" : "", t->data);
		else
			log_err("  t-%8" PRIu64 " %s (%u)", us, stats_exit_name(t->reason), t->reason);
	}
}

/* Describe where the vCPU is, for crash messages. */
static uint64_t vcpu_rip(struct vcpu *v)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

static void vcpu_internal_error(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	const char *why;

	switch (r->internal.suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		why = "KVM could not emulate a guest instruction";
		break;
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		why = "exception while delivering an exception";
		break;
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		why = "exception during event delivery";
		break;
	default:
		why = "KVM internal error";
		break;
	}
	vm_request_stop(v->vm, VM_EXIT_GUEST_CRASH, "guest crashed: %s (suberror %u) on vCPU %u at rip=0x%" PRIx64 "%s",
			why, r->internal.suberror, v->id, vcpu_rip(v),
			v->vm->host.kind == HOST_KVM_PVM ? " [host KVM is PVM, see `vmon info`]" : "");
}

static void vcpu_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, VM_EXIT_GUEST_RESET, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_EXIT_GUEST_RESET, "guest reset");
		break;
	default:
		vm_request_stop(v->vm, VM_EXIT_GUEST_CRASH, "guest crashed (system event %u) on vCPU %u",
				v->run->system_event.type, v->id);
		break;
	}
}

/* Handle one exit; returns 0 to keep running. */
static int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	stats_count_exit(&v->stats, r->exit_reason);
	vcpu_trace_exit(r);
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(v);
		return 0;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(v);
		return 0;
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; vmon always has one. Treat as a wait. */
		return 0;
	case KVM_EXIT_SHUTDOWN:
		vcpu_trace_dump(v);
		vm_request_stop(v->vm, VM_EXIT_GUEST_CRASH,
				"guest crashed: triple fault (shutdown) on vCPU %u at rip=0x%" PRIx64,
				v->id, vcpu_rip(v));
		return -1;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_system_event(v);
		return -1;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_trace_dump(v);
		vcpu_internal_error(v);
		return -1;
	case KVM_EXIT_FAIL_ENTRY:
		vm_request_stop(v->vm, VM_EXIT_GUEST_CRASH,
				"guest crashed: VM entry failed on vCPU %u (hardware reason 0x%llx)", v->id,
				(unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		return -1;
	default:
		vm_request_stop(v->vm, VM_EXIT_VMM_ERROR, "vCPU %u: unexpected KVM exit %u (%s)",
				v->id, r->exit_reason, stats_exit_name(r->exit_reason));
		return -1;
	}
}

void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	/*
	 * Stop as soon as the VM's fate is known, not only when kicked: the vCPU
	 * that reported a reset would otherwise keep running the guest's reboot
	 * loop (thousands of exits) until the main thread's kick lands.
	 */
	while (!vm_stopped(vm)) {
		vm_pause_point(vm);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/*
				 * A kick (stop or pause) landed. Clear it before the loop
				 * re-reads the flags: a kick stores immediate_exit after
				 * setting its flag, so none is missed.
				 */
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				v->stats.eintr++;
				continue;
			}
			vm_request_stop(vm, VM_EXIT_VMM_ERROR, "vCPU %u: KVM_RUN: %s", v->id,
					strerror(errno));
			break;
		}
		if (vcpu_handle_exit(v))
			break;
	}
	return NULL;
}
