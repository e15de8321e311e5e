/*
 * accel/kvm.c: the KVM accelerator, arch-neutral half (see accel.h). The
 * only file, with its per-arch half (kvm_x86.c), that issues KVM ioctls:
 * opening /dev/kvm, the VM, RAM slots, interrupt lines, MSI, irqfd,
 * ioeventfd, coalesced port writes, vCPU creation, KVM_RUN, and turning
 * struct kvm_run into the neutral struct vcpu_exit.
 *
 * Threads: VM-level ops from any thread (KVM serialises them); a vCPU's
 * run from its own thread only; kick from any thread. The kick is the
 * kvm_run immediate_exit flag plus a signal (ACCEL_KVM_KICK_SIGNAL, a no-op
 * handler installed without SA_RESTART) so a KVM_RUN in progress returns
 * EINTR. The coalesced ring is drained by whichever vCPU thread returns
 * from KVM_RUN, under the VM's drain lock.
 */
#include "accel/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/kvm_coalesce.h"
#include "log.h"

#define KVM_API_VERSION_EXPECTED 12 /* Documentation/virt/kvm/api.rst */
#define ACCEL_KVM_KICK_SIGNAL SIGUSR1

static struct kvm_accel *kvm_of(struct accel *a)
{
	return (struct kvm_accel *)a;
}

static struct kvm_vcpu *kvcpu_of(struct accel_vcpu *v)
{
	return (struct kvm_vcpu *)v;
}

static int kvm_open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), version, err;

	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			log_err("%s does not exist: KVM is not available on this host (load kvm_intel "
				"or kvm_amd, or enable nested virtualization for this VM)", path);
		else if (err == EACCES || err == EPERM)
			log_err("no permission to open %s: run as root or join the 'kvm' group", path);
		else
			log_err("cannot open %s: %s", path, strerror(err));
		return -err;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION_EXPECTED) {
		log_err("%s is not a KVM device (KVM_GET_API_VERSION gave %d, want %d)", path, version,
			KVM_API_VERSION_EXPECTED);
		close(fd);
		return -ENODEV;
	}
	return fd;
}

static void kvm_probe_fd(int fd, struct accel_info *info)
{
	memset(info, 0, sizeof(*info));
	info->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	info->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (info->max_vcpus <= 0)
		info->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (info->max_vcpus <= 0)
		info->max_vcpus = 4; /* api.rst: assume 4 when neither capability answers */
	kvm_arch_probe(fd, info);
}

int accel_kvm_probe(const char *path, struct accel_info *out)
{
	int fd = kvm_open_dev(path);

	if (fd < 0)
		return fd;
	kvm_probe_fd(fd, out);
	close(fd);
	return 0;
}

int kvm_need_caps(struct kvm_accel *k, const struct kvm_cap_need *need, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			log_err("host KVM lacks %s, which vmon needs", need[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int kvm_check_caps(struct kvm_accel *k, unsigned ncpus)
{
	static const struct kvm_cap_need need[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	};
	int ret = kvm_need_caps(k, need, sizeof(need) / sizeof(need[0]));

	if (ret)
		return ret;
	if ((int)ncpus > k->info.max_vcpus) {
		log_err("--cpus %u: this host's KVM allows at most %d vCPUs", ncpus, k->info.max_vcpus);
		return -EINVAL;
	}
	return kvm_arch_check_caps(k);
}

static int kvm_map_ram(struct accel *a, unsigned slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(kvm_of(a)->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int err = errno;

		log_err("KVM_SET_USER_MEMORY_REGION slot %u at 0x%" PRIx64 ": %s", slot, gpa,
			strerror(err));
		return -err;
	}
	return 0;
}

static int kvm_irq_line(struct accel *a, unsigned gsi, int level)
{
#if defined(__aarch64__)
	return kvm_arm64_irq_line(kvm_of(a), gsi, level);
#else
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	return ioctl(kvm_of(a)->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
#endif
}

static int kvm_msi(struct accel *a, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
			       .data = data };

	/* KVM_SIGNAL_MSI: > 0 delivered, 0 blocked by the guest, < 0 error. */
	return ioctl(kvm_of(a)->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

static int kvm_msi_route(struct accel *a, unsigned *gsi, uint64_t addr, uint32_t data)
{
	return kvm_arch_msi_route(kvm_of(a), gsi, addr, data);
}

static int kvm_msi_route_free(struct accel *a, unsigned gsi)
{
	return kvm_arch_msi_route_free(kvm_of(a), gsi);
}

#if defined(__aarch64__)
static int kvm_irqfd(struct accel *a, int fd, unsigned gsi, int assign)
{
	return kvm_arm64_irqfd(kvm_of(a), fd, gsi, assign);
}

int kvm_irqfd_set(struct kvm_accel *k, int fd, unsigned gsi, int assign)
{
	struct accel *a = &k->base;
#else
static int kvm_irqfd(struct accel *a, int fd, unsigned gsi, int assign)
{
#endif
	struct kvm_irqfd r = { .fd = (uint32_t)fd, .gsi = gsi,
			       .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	if (ioctl(kvm_of(a)->vm_fd, KVM_IRQFD, &r) < 0) {
		int err = errno;

		log_err("KVM_IRQFD on GSI %u: %s", gsi, strerror(err));
		return -err;
	}
	return 0;
}

static int kvm_ioeventfd(struct accel *a, int fd, int is_pio, uint64_t addr, unsigned len,
			 uint64_t match, int assign)
{
	struct kvm_ioeventfd r = {
		.datamatch = match, .addr = addr, .len = len, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (is_pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (ioctl(kvm_of(a)->vm_fd, KVM_IOEVENTFD, &r) < 0) {
		int err = errno;

		log_err("KVM_IOEVENTFD at %s 0x%" PRIx64 ": %s", is_pio ? "port" : "address", addr,
			strerror(err));
		return -err;
	}
	return 0;
}

/*
 * A coalesced zone on the PIO bus: KVM stores the guest's writes there in
 * the ring instead of exiting (reads still exit). VMM thread, before the
 * vCPUs run (and before the main thread's seccomp filter).
 */
static int kvm_coalesce_pio(struct accel *a, uint16_t port, unsigned len)
{
	struct kvm_accel *k = kvm_of(a);
	struct kvm_coalesced_mmio_zone z = { .addr = port, .size = len, .pio = 1 };

	if (!k->coalesce_pio_cap)
		return -ENOTSUP; /* said once at creation */
	if (ioctl(k->vm_fd, KVM_REGISTER_COALESCED_MMIO, &z) < 0) {
		int err = errno;

		log_debug("KVM_REGISTER_COALESCED_MMIO (pio) at port 0x%x: %s; its writes exit",
			  port, strerror(err));
		return -err;
	}
	k->coalescing = 1;
	return 0;
}

static unsigned kvm_vcpu_drain(struct accel_vcpu *av, accel_drain_fn fn, void *ctx)
{
	struct kvm_vcpu *v = kvcpu_of(av);
	struct kvm_accel *k = kvm_of(av->a);
	unsigned n, bad;

	if (!k->coalescing || !v->ring || !kvm_coalesce_pending(v->ring))
		return 0;
	pthread_mutex_lock(&k->drain_lock);
	bad = k->drain_bad;
	n = kvm_coalesce_drain(v->ring, k->ring_max, fn, ctx, &k->drain_bad);
	if (k->drain_bad != bad)
		log_limited(&k->drain_logged, LOG_WARN,
			    "vCPU %u: %u malformed entries in KVM's coalesced ring, dropped",
			    av->id, k->drain_bad - bad);
	pthread_mutex_unlock(&k->drain_lock);
	return n;
}

static int kvm_query(struct accel *a, enum accel_query q, void *buf, size_t len)
{
	return kvm_arch_query(kvm_of(a), q, buf, len);
}

static void kvm_info(struct accel *a, struct accel_info *out)
{
	*out = kvm_of(a)->info;
}

static int kvm_vcpu_create(struct accel *a, unsigned id, struct accel_vcpu **out)
{
	struct kvm_accel *k = kvm_of(a);
	struct kvm_vcpu *v = calloc(1, sizeof(*v));
	void *run;
	int err;

	if (!v)
		return -ENOMEM;
	v->base.a = a;
	v->base.id = id;
	v->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		err = errno;
		log_err("KVM_CREATE_VCPU %u: %s", id, strerror(err));
		free(v);
		return -err;
	}
	run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		err = errno;
		log_err("vCPU %u: mmap of kvm_run: %s", id, strerror(err));
		close(v->fd);
		free(v);
		return -err;
	}
	v->run = run;
	v->run_size = k->run_size;
	if (k->ring_page)
		v->ring = (struct kvm_coalesced_mmio_ring *)((char *)run +
							     (size_t)k->ring_page * k->page_size);
	atomic_init(&v->has_thread, 0);
	*out = &v->base;
	return 0;
}

static void kvm_vcpu_destroy(struct accel_vcpu *av)
{
	struct kvm_vcpu *v = kvcpu_of(av);

	if (!v)
		return;
	munmap(v->run, v->run_size);
	close(v->fd);
	free(v);
}

static const char *kvm_internal_why(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "KVM could not emulate a guest instruction";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exception during event delivery";
	default:
		return "KVM internal error";
	}
}

static void kvm_system_event(struct kvm_vcpu *v, struct vcpu_exit *e)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		e->kind = VCPU_EXIT_RESET;
		snprintf(e->msg, sizeof(e->msg), "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		e->kind = VCPU_EXIT_RESET;
		snprintf(e->msg, sizeof(e->msg), "guest reset");
		break;
	default:
		e->kind = VCPU_EXIT_CRASH;
		snprintf(e->msg, sizeof(e->msg), "guest crashed (system event %u) on vCPU %u",
			 v->run->system_event.type, v->base.id);
		break;
	}
}

/* kvm_run -> vcpu_exit; every field the core reads is set. */
static void kvm_translate(struct kvm_vcpu *v, struct vcpu_exit *e)
{
	struct kvm_run *r = v->run;
	unsigned id = v->base.id;

	e->raw = r->exit_reason;
	e->msg[0] = '\0';
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		e->kind = VCPU_EXIT_PIO;
		e->pio.data = (uint8_t *)r + r->io.data_offset;
		e->pio.port = r->io.port;
		e->pio.size = r->io.size;
		e->pio.is_write = r->io.direction == KVM_EXIT_IO_OUT;
		e->pio.count = r->io.count;
		return;
	case KVM_EXIT_MMIO:
		e->kind = VCPU_EXIT_MMIO;
		e->mmio.data = r->mmio.data;
		e->mmio.addr = r->mmio.phys_addr;
		e->mmio.len = r->mmio.len;
		e->mmio.is_write = r->mmio.is_write;
		return;
	case KVM_EXIT_INTR:
		e->kind = VCPU_EXIT_NONE;
		return;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; vmon always has one. */
		e->kind = VCPU_EXIT_HALT;
		return;
	case KVM_EXIT_DEBUG:
		e->kind = VCPU_EXIT_DEBUG;
		e->debug.pc = kvm_arch_pc(v);
		return;
	case KVM_EXIT_SHUTDOWN:
		e->kind = VCPU_EXIT_CRASH;
		snprintf(e->msg, sizeof(e->msg),
			 "guest crashed: triple fault (shutdown) on vCPU %u at rip=0x%" PRIx64, id,
			 kvm_arch_pc(v));
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		kvm_system_event(v, e);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		e->kind = VCPU_EXIT_CRASH;
		snprintf(e->msg, sizeof(e->msg),
			 "guest crashed: %s (suberror %u) on vCPU %u at rip=0x%" PRIx64 "%s",
			 kvm_internal_why(r->internal.suberror), r->internal.suberror, id,
			 kvm_arch_pc(v),
			 kvm_of(v->base.a)->info.is_pvm ? " [host KVM is PVM, see `vmon info`]" : "");
		return;
	case KVM_EXIT_FAIL_ENTRY:
		e->kind = VCPU_EXIT_CRASH;
		snprintf(e->msg, sizeof(e->msg),
			 "guest crashed: VM entry failed on vCPU %u (hardware reason 0x%llx)", id,
			 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		return;
	default:
		e->kind = VCPU_EXIT_ERROR;
		snprintf(e->msg, sizeof(e->msg), "vCPU %u: unexpected KVM exit %u", id,
			 r->exit_reason);
		return;
	}
}

static int kvm_vcpu_run(struct accel_vcpu *av, struct vcpu_exit *e)
{
	struct kvm_vcpu *v = kvcpu_of(av);

	if (!atomic_load(&v->has_thread)) {
		v->thread = pthread_self();
		atomic_store(&v->has_thread, 1);
	}
	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		int err = errno;

		if (err == EINTR || err == EAGAIN) {
			/*
			 * A kick landed. Clear it before the caller re-reads its
			 * flags: a kick stores immediate_exit after setting its
			 * flag, so none is missed.
			 */
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			return -EINTR;
		}
		snprintf(e->msg, sizeof(e->msg), "vCPU %u: KVM_RUN: %s", av->id, strerror(err));
		return -err;
	}
	kvm_translate(v, e);
	return 0;
}

static void kvm_vcpu_kick(struct accel_vcpu *av)
{
	struct kvm_vcpu *v = kvcpu_of(av);

	/* Pairs with KVM_RUN's check of immediate_exit on entry. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (atomic_load(&v->has_thread))
		pthread_kill(v->thread, ACCEL_KVM_KICK_SIGNAL);
}

static int kvm_vcpu_get(struct accel_vcpu *v, enum accel_reg r, void *buf, size_t len)
{
	return kvm_arch_vcpu_get(kvcpu_of(v), r, buf, len);
}

static int kvm_vcpu_set(struct accel_vcpu *v, enum accel_reg r, const void *buf, size_t len)
{
	return kvm_arch_vcpu_set(kvcpu_of(v), r, buf, len);
}

static void kvm_destroy(struct accel *a)
{
	struct kvm_accel *k = kvm_of(a);

	if (!k)
		return;
#if defined(__aarch64__)
	if (k->gic_fd > 0)
		close(k->gic_fd);
#endif
	kvm_arch_msi_destroy(k);
	pthread_mutex_destroy(&k->drain_lock);
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	free(k);
}

static int kvm_vcpu_save(struct accel_vcpu *v, struct snap_out *out)
{
	return kvm_arch_vcpu_save(kvcpu_of(v), out);
}

static int kvm_vcpu_load(struct accel_vcpu *v, struct snap_in *in)
{
	return kvm_arch_vcpu_load(kvcpu_of(v), in);
}

static int kvm_vm_save(struct accel *a, struct snap_out *out)
{
	return kvm_arch_vm_save(kvm_of(a), out);
}

static int kvm_vm_load(struct accel *a, struct snap_in *in)
{
	return kvm_arch_vm_load(kvm_of(a), in);
}

static int kvm_dirty_track(struct accel *a, unsigned slot, uint64_t gpa, uint64_t size, void *hva,
			   int on)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = gpa, .memory_size = size, .userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(kvm_of(a)->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int err = errno;

		log_err("dirty logging %s on slot %u: %s", on ? "on" : "off", slot, strerror(err));
		return -err;
	}
	return 0;
}

/* KVM_GET_DIRTY_LOG is the same on every arch: read and clear one slot's bitmap. */
static int kvm_dirty_get(struct accel *a, unsigned slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	if (ioctl(kvm_of(a)->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		int err = errno;

		log_err("KVM_GET_DIRTY_LOG slot %u: %s", slot, strerror(err));
		return -err;
	}
	return 0;
}

/*
 * Where the coalesced ring lives (KVM_CAP_COALESCED_MMIO answers its page
 * in the vCPU mmap) and whether port zones may go there. Without either,
 * every write exits as before: said once, at debug level.
 */
static void kvm_coalesce_probe(struct kvm_accel *k)
{
	int page = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	long ps = sysconf(_SC_PAGESIZE);

	k->page_size = ps > 0 ? (size_t)ps : 4096;
	if (page > 0 && ((size_t)page + 1) * k->page_size <= k->run_size) {
		k->ring_page = (unsigned)page;
		k->ring_max = kvm_coalesce_ring_max(k->page_size);
		k->coalesce_pio_cap = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) > 0;
	}
	if (!k->coalesce_pio_cap)
		log_debug("KVM has no coalesced port I/O (KVM_CAP_COALESCED_%s): every port write "
			  "exits to vmon", k->ring_page ? "PIO" : "MMIO");
}

static const struct accel_ops kvm_accel_ops = {
	.name = "kvm",
	.map_ram = kvm_map_ram,
	.irq_line = kvm_irq_line,
	.msi = kvm_msi,
	.msi_route = kvm_msi_route,
	.msi_route_free = kvm_msi_route_free,
	.irqfd = kvm_irqfd,
	.ioeventfd = kvm_ioeventfd,
	.query = kvm_query,
	.info = kvm_info,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.vcpu_get = kvm_vcpu_get,
	.vcpu_set = kvm_vcpu_set,
	.destroy = kvm_destroy,
	.vcpu_save = kvm_vcpu_save,
	.vcpu_load = kvm_vcpu_load,
	.vm_save = kvm_vm_save,
	.vm_load = kvm_vm_load,
	.dirty_track = kvm_dirty_track,
	.dirty_get = kvm_dirty_get,
	.coalesce_pio = kvm_coalesce_pio,
	.vcpu_drain = kvm_vcpu_drain,
};

static void kvm_kick_handler(int sig)
{
	(void)sig; /* only to interrupt KVM_RUN */
}

int accel_kvm_create(const char *path, unsigned ncpus, struct accel **out)
{
	struct sigaction kick = { .sa_handler = kvm_kick_handler };
	struct kvm_accel *k = calloc(1, sizeof(*k));
	long run_size;
	int ret;

	if (!k)
		return -ENOMEM;
	k->base.ops = &kvm_accel_ops;
	k->vm_fd = -1;
	pthread_mutex_init(&k->drain_lock, NULL);
	k->kvm_fd = kvm_open_dev(path);
	if (k->kvm_fd < 0) {
		ret = k->kvm_fd;
		free(k);
		return ret;
	}
	kvm_probe_fd(k->kvm_fd, &k->info);
	ret = kvm_check_caps(k, ncpus);
	if (ret)
		goto fail;
	run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(struct kvm_run)) {
		log_err("KVM_GET_VCPU_MMAP_SIZE: %s", run_size < 0 ? strerror(errno) : "too small");
		ret = -EIO;
		goto fail;
	}
	k->run_size = (size_t)run_size;
	kvm_coalesce_probe(k);
	k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		ret = -errno;
		log_err("KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	ret = kvm_arch_vm_init(k);
	if (ret)
		goto fail;
	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. Process-wide, idempotent. */
	sigemptyset(&kick.sa_mask);
	sigaction(ACCEL_KVM_KICK_SIGNAL, &kick, NULL);
	*out = &k->base;
	return 0;
fail:
	kvm_destroy(&k->base);
	return ret;
}
