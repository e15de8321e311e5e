/*
 * vm.c: VM creation, the run/stop protocol and teardown (see vm.h).
 */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/cpu.h"
#include "arch/x86/mptable.h"
#include "console.h"
#include "log.h"

#define KVM_API_VERSION_EXPECTED 12 /* Documentation/virt/kvm/api.rst */
/* Three pages in the PCI hole that VMX needs for real mode (api.rst, KVM_SET_TSS_ADDR). */
#define VM_TSS_ADDR         0xfffbd000ULL
#define VM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define VM_PORT_POST        0x80 /* POST diagnostic port: Linux's io_delay writes it */

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vm_config_defaults(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mem_bytes = 256ULL << 20;
	c->ncpus = 1;
	c->cmdline = "console=ttyS0 reboot=k panic=1";
	c->kvm_path = "/dev/kvm";
	c->console_in_fd = STDIN_FILENO;
	c->console_out_fd = STDOUT_FILENO;
}

static uint64_t vm_host_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	return pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
}

int vm_config_validate(const struct vm_config *c)
{
	uint64_t host = vm_host_ram();

	if (!c->kernel_path || !*c->kernel_path) {
		log_err("no kernel given (--kernel PATH)");
		return -EINVAL;
	}
	if (c->mem_bytes < VM_MIN_MEM) {
		log_err("--mem %" PRIu64 " KiB is too small: a guest needs at least %llu MiB",
			c->mem_bytes >> 10, VM_MIN_MEM >> 20);
		return -EINVAL;
	}
	if (c->mem_bytes & 0xfff) {
		log_err("--mem must be a multiple of 4 KiB");
		return -EINVAL;
	}
	if (host && c->mem_bytes > host) {
		log_err("--mem %" PRIu64 " MiB is more than this host's RAM (%" PRIu64 " MiB)",
			c->mem_bytes >> 20, host >> 20);
		return -EINVAL;
	}
	if (c->ncpus < 1 || c->ncpus > VM_MAX_CPUS) {
		log_err("--cpus %u is out of range: 1 to %d", c->ncpus, VM_MAX_CPUS);
		return -EINVAL;
	}
	if (c->nr_disks + c->nr_nets > VM_MAX_VIRTIO_EXTRA) {
		log_err("%u --disk and %u --net: at most %d devices together (free IRQs)",
			c->nr_disks, c->nr_nets, VM_MAX_VIRTIO_EXTRA);
		return -EINVAL;
	}
	return 0;
}

/* Read a whole regular file; refuses directories and files over max bytes. */
static int vm_read_file(const char *what, const char *path, uint64_t max, uint8_t **buf,
			size_t *len)
{
	struct stat st;
	size_t done = 0;
	uint8_t *p;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		log_err("cannot open %s '%s': %s", what, path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_err("%s '%s' is not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max) {
		log_err("%s '%s' (%" PRIu64 " MiB) is larger than guest RAM (%" PRIu64 " MiB): "
			"raise --mem", what, path, (uint64_t)st.st_size >> 20, max >> 20);
		close(fd);
		return -EFBIG;
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, p + done, (size_t)st.st_size - done);

		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			log_err("reading %s '%s': %s", what, path, strerror(err));
			free(p);
			close(fd);
			return -err;
		}
		done += (size_t)n;
	}
	close(fd);
	*buf = p;
	*len = done;
	return 0;
}

static int vm_irq_line(void *ctx, unsigned gsi, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

static void vm_kbd_reset(void *ctx)
{
	vm_request_stop(ctx, VM_EXIT_GUEST_RESET, "guest reset (keyboard controller)");
}

void vm_request_stop(struct vm *vm, enum vm_exit why, const char *fmt, ...)
{
	int expected = VM_EXIT_NONE;
	uint64_t one = 1;
	va_list ap;

	if (!atomic_compare_exchange_strong(&vm->exit_reason, &expected, (int)why))
		return;
	vm->end_ns = vm_now_ns();
	vm->exit_msg[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(vm->exit_msg, sizeof(vm->exit_msg), fmt, ap);
		va_end(ap);
	}
	/* Wake the main loop, which stops the other vCPUs. */
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		log_err("cannot signal VM stop: %s", strerror(errno));
}

static int vm_open_kvm(struct vm *vm)
{
	int version;

	vm->kvm_fd = open(vm->cfg.kvm_path, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = errno;

		if (err == ENOENT)
			log_err("%s does not exist: KVM is not available on this host (load kvm_intel "
				"or kvm_amd, or enable nested virtualization for this VM)",
				vm->cfg.kvm_path);
		else if (err == EACCES || err == EPERM)
			log_err("no permission to open %s: run as root or join the 'kvm' group",
				vm->cfg.kvm_path);
		else
			log_err("cannot open %s: %s", vm->cfg.kvm_path, strerror(err));
		return -err;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION_EXPECTED) {
		log_err("%s is not a KVM device (KVM_GET_API_VERSION gave %d, want %d)",
			vm->cfg.kvm_path, version, KVM_API_VERSION_EXPECTED);
		return -ENODEV;
	}
	return 0;
}

static int vm_check_caps(struct vm *vm)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	};

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			log_err("host KVM lacks %s, which vmon needs", need[i].name);
			return -ENOTSUP;
		}
	}
	if ((int)vm->cfg.ncpus > vm->host.max_vcpus) {
		log_err("--cpus %u: this host's KVM allows at most %d vCPUs", vm->cfg.ncpus,
			vm->host.max_vcpus);
		return -EINVAL;
	}
	return 0;
}

static int vm_setup_memory(struct vm *vm)
{
	int ret = gmem_init_x86(&vm->mem, vm->cfg.mem_bytes);

	if (ret)
		return ret;
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = vm->mem.region[i].gpa,
			.memory_size = vm->mem.region[i].size,
			.userspace_addr = (uintptr_t)vm->mem.region[i].hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
			ret = -errno;
			log_err("KVM_SET_USER_MEMORY_REGION slot %u: %s", i, strerror(errno));
			return ret;
		}
	}
	return 0;
}

static int vm_setup_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	/* Real mode support pages for VMX; harmless (and sometimes refused) elsewhere. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VM_TSS_ADDR) < 0)
		log_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	{
		uint64_t idmap = VM_IDENTITY_MAP_ADDR;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			log_debug("KVM_SET_IDENTITY_MAP_ADDR: %s (ignored)", strerror(errno));
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int vm_map(struct bus *b, uint64_t base, uint64_t len, const struct bus_dev_ops *ops,
		  void *dev, const char *name)
{
	int ret = bus_map(b, base, len, ops, dev, name);

	if (ret)
		log_err("cannot map %s at %s 0x%" PRIx64 "+%" PRIu64 ": %s", name, b->name, base, len,
			strerror(-ret));
	return ret;
}

static const struct bus_dev_ops vm_post_ops = {
	.kind = "post-port",
	.read = bus_nop_read,
	.write = bus_nop_write,
};

static int vm_setup_devices(struct vm *vm)
{
	struct irq_line com1 = { .set = vm_irq_line, .ctx = vm, .gsi = UART_COM1_IRQ };
	int ret;

	/* All three or none, so vm_destroy knows what to tear down. */
	ret = uart_init(&vm->serial0, &com1, vm->cfg.console_out_fd, vm->rx_space_efd);
	if (ret)
		return ret;
	ret = i8042_init(&vm->kbd, vm_kbd_reset, vm);
	if (!ret) {
		struct irq_line kbd_irq = { .set = vm_irq_line, .ctx = vm, .gsi = I8042_IRQ };

		i8042_connect_irq(&vm->kbd, &kbd_irq);
	}
	if (ret) {
		uart_destroy(&vm->serial0);
		return ret;
	}
	ret = rtc_init(&vm->rtc);
	if (ret) {
		uart_destroy(&vm->serial0);
		i8042_destroy(&vm->kbd);
		return ret;
	}
	vm->devices_inited = 1;
	ret = vm_map(&vm->pio, UART_COM1_BASE, UART_NR_PORTS, &uart_ops, &vm->serial0, "serial0");
	if (!ret)
		ret = vm_map(&vm->pio, I8042_DATA_PORT, 1, &i8042_ops, &vm->kbd, "i8042-data");
	if (!ret)
		ret = vm_map(&vm->pio, I8042_COMMAND_PORT, 1, &i8042_command_ops, &vm->kbd, "i8042-cmd");
	if (!ret)
		ret = vm_map(&vm->pio, RTC_PORT_BASE, RTC_NR_PORTS, &rtc_ops, &vm->rtc, "rtc");
	if (!ret)
		ret = vm_map(&vm->pio, VM_PORT_POST, 1, &vm_post_ops, NULL, "post");
	return ret;
}

/*
 * ISA IRQs free for virtio-mmio devices: not the PIT (0), keyboard (1),
 * cascade (2), COM2/COM1 (3, 4), RTC (8) or the IDE pair (14, 15 kept free
 * for symmetry with PC firmware). Edge-triggered, as the MP table says.
 */
static const unsigned vm_virtio_gsis[] = { 5, 6, 7, 9, 10, 11, 12 };

static int vm_add_virtio(struct vm *vm, struct virtio_mmio *t, const struct virtio_dev_ops *ops,
			 void *dev, const char *name)
{
	struct virtio_mmio_env env = { .vm_fd = vm->vm_fd, .m = &vm->mem, .loop = &vm->io };
	unsigned i = vm->nr_virtio;
	uint64_t base = VM_VIRTIO_MMIO_BASE + (uint64_t)i * VIRTIO_MMIO_WINDOW;
	int ret;

	if (i >= sizeof(vm_virtio_gsis) / sizeof(vm_virtio_gsis[0]))
		return -ENOSPC;
	ret = virtio_mmio_init(t, &env, base, vm_virtio_gsis[i], ops, dev);
	if (ret)
		return ret;
	vm->virtio[vm->nr_virtio++] = t;
	ret = vm_map(&vm->mmio, base, VIRTIO_MMIO_WINDOW, &virtio_mmio_bus_ops, t, name);
	if (!ret)
		ret = virtio_mmio_cmdline(t, vm->cmdline, sizeof(vm->cmdline));
	if (ret == -E2BIG)
		log_err("kernel command line too long with %s", name);
	return ret;
}

/* I/O thread: a net device's TAP has frames; deliver them under the transport lock. */
static void vm_net_rx_kick(void *ctx)
{
	virtio_mmio_process(ctx, VNET_RXQ);
}

static int vm_setup_virtio(struct vm *vm)
{
	static const char *const disk_names[VM_MAX_DISKS] = { "virtio-blk0", "virtio-blk1",
		"virtio-blk2", "virtio-blk3", "virtio-blk4", "virtio-blk5" };
	static const char *const net_names[VM_MAX_NETS] = { "virtio-net0", "virtio-net1" };
	int ret;

	if (strlen(vm->cfg.cmdline) >= sizeof(vm->cmdline)) {
		log_err("--cmdline is longer than %zu bytes", sizeof(vm->cmdline) - 1);
		return -E2BIG;
	}
	strcpy(vm->cmdline, vm->cfg.cmdline);
	ret = ioloop_init(&vm->io);
	if (ret)
		return ret;
	vm->io_inited = 1;
	vrng_init(&vm->rng);
	ret = vm_add_virtio(vm, &vm->rng_mmio, &vrng_ops, &vm->rng, "virtio-rng0");
	for (unsigned i = 0; !ret && i < vm->cfg.nr_disks; i++) {
		ret = vblk_open(&vm->disk[i], &vm->mem, &vm->cfg.disks[i]);
		if (ret) {
			/* Keep the count of opened disks exact for vm_destroy. */
			break;
		}
		vm->nr_disks_open++;
		ret = vm_add_virtio(vm, &vm->disk_mmio[i], &vblk_ops, &vm->disk[i], disk_names[i]);
	}
	for (unsigned i = 0; !ret && i < vm->cfg.nr_nets; i++) {
		struct vnet_env env = { .m = &vm->mem, .loop = &vm->io, .rx_kick = vm_net_rx_kick,
					.rx_kick_ctx = &vm->net_mmio[i] };

		ret = vnet_open(&vm->net[i], &env, &vm->cfg.nets[i]);
		if (ret)
			break;
		vm->nr_nets_open++;
		ret = vm_add_virtio(vm, &vm->net_mmio[i], &vnet_ops, &vm->net[i], net_names[i]);
	}
	return ret;
}

static int vm_load_kernel(struct vm *vm)
{
	struct boot_images img = { .cmdline = vm->cmdline, .prefer_elf64 = vm->cfg.elf64_entry };
	uint8_t *kernel = NULL, *initrd = NULL, *mpt = NULL;
	size_t mpt_len = mptable_size(vm->cfg.ncpus);
	int ret, n;

	ret = vm_read_file("kernel", vm->cfg.kernel_path, vm->mem.ram_size, &kernel, &img.kernel_len);
	if (!ret && vm->cfg.initrd_path)
		ret = vm_read_file("initrd", vm->cfg.initrd_path, vm->mem.ram_size, &initrd,
				   &img.initrd_len);
	if (ret)
		goto out;
	img.kernel = kernel;
	img.initrd = initrd;
	ret = boot_load(&vm->mem, &img, &vm->boot); /* logs its own one-line reason */
	if (ret)
		goto out;
	mpt = malloc(mpt_len);
	n = mpt ? mptable_build(mpt, mpt_len, BOOT_MPTABLE_ADDR, vm->cfg.ncpus) : -ENOMEM;
	if (n < 0 || (size_t)n > BOOT_MPTABLE_MAX) {
		log_err("cannot build an MP table for %u CPUs", vm->cfg.ncpus);
		ret = n < 0 ? n : -ENOSPC;
		goto out;
	}
	ret = gmem_write(&vm->mem, BOOT_MPTABLE_ADDR, mpt, (size_t)n);
	log_info("kernel %s: %s, entry 0x%" PRIx64 ", initrd %zu KiB", vm->cfg.kernel_path,
		 boot_format_name(vm->boot.format), vm->boot.entry, img.initrd_len >> 10);
out:
	free(mpt);
	free(kernel);
	free(initrd);
	return ret;
}

static int vm_setup_vcpus(struct vm *vm)
{
	int ret;

	vm->vcpus = calloc(vm->cfg.ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->cfg.ncpus; i++) {
		ret = vcpu_create(&vm->vcpus[i], vm, i);
		if (ret)
			return ret;
		vm->nr_vcpus++;
		/* All vCPU state is set here, before any runs, so a SIPI is never overwritten. */
		ret = cpu_init(vm->vcpus[i].fd, vm->cpuid, i, vm->cfg.ncpus);
		if (ret)
			return ret;
	}
	return cpu_set_boot_regs(vm->vcpus[0].fd, &vm->boot);
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = vm->rx_space_efd = -1;
	atomic_init(&vm->exit_reason, VM_EXIT_NONE);
	atomic_init(&vm->stopping, 0);
	atomic_init(&vm->pause_req, 0);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	if (cfg->mux) {
		/* Detached: output to the console mux, input from its client only. */
		vm->cfg.console_out_fd = cfg->mux->uart_fd;
		vm->cfg.console_in_fd = -1;
	}
	ret = pthread_mutex_init(&vm->pause_lock, NULL);
	if (ret)
		return -ret;
	ret = pthread_cond_init(&vm->pause_cond, NULL);
	if (ret) {
		pthread_mutex_destroy(&vm->pause_lock);
		return -ret;
	}
	vm->pause_inited = 1;

	ret = vm_config_validate(cfg);
	if (ret)
		return ret;
	ret = vm_open_kvm(vm);
	if (ret)
		return ret;
	vm->cpuid = cpu_supported_cpuid(vm->kvm_fd);
	if (!vm->cpuid)
		return -EIO;
	host_probe(vm->kvm_fd, vm->cpuid, &vm->host);
	ret = vm_check_caps(vm);
	if (ret)
		return ret;
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		log_err("KVM_CREATE_VM: %s", strerror(errno));
		return ret;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->rx_space_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0 || vm->rx_space_efd < 0)
		return -errno;

	ret = vm_setup_memory(vm);
	if (!ret)
		ret = vm_setup_irqchip(vm);
	if (!ret)
		ret = vm_setup_devices(vm);
	if (!ret)
		ret = vm_setup_virtio(vm);
	if (!ret)
		ret = vm_load_kernel(vm);
	if (!ret)
		ret = vm_setup_vcpus(vm);
	if (!ret && vm->boot.format != BOOT_FMT_ELF64 && host_linux_caveat(vm->host.kind))
		log_warn("%s", host_linux_caveat(vm->host.kind));
	return ret;
}

int vm_stopped(struct vm *vm)
{
	return atomic_load(&vm->stopping) || atomic_load(&vm->exit_reason) != VM_EXIT_NONE;
}

static unsigned vm_threads_running(struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].thread_started;
	return n;
}

void vm_pause_point(struct vm *vm)
{
	if (!atomic_load(&vm->pause_req))
		return;
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req) && !vm_stopped(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_pause(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, 1);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	/* vm_run broadcasts when the VM stops, so this wait always ends. */
	while (vm->nr_parked < vm_threads_running(vm) && !vm_stopped(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	if (vm_stopped(vm))
		ret = -ESRCH;
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, 0);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_send_ctrl_alt_del(struct vm *vm)
{
	return i8042_send_ctrl_alt_del(&vm->kbd);
}

/* Wake everything that waits on pause state: the VM is stopping. */
static void vm_pause_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void vm_kick_handler(int sig)
{
	(void)sig; /* only to interrupt KVM_RUN */
}


/* Feed console input to the UART; returns 1 when the user asked to quit. */
static int vm_console_input(struct vm *vm, struct console *con, int *in_open)
{
	uint8_t in[64], out[2 * sizeof(in)];
	size_t room = uart_rx_room(&vm->serial0), consumed, off = 0;
	ssize_t n;

	/* Each byte read may become two (see UART_RX_WAKE_ROOM): read half the room. */
	room /= 2;
	if (room > sizeof(in))
		room = sizeof(in);
	if (!room)
		return 0;
	n = read(con->in_fd, in, room);
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*in_open = 0; /* EOF: the guest keeps running without input */
		return 0;
	}
	while (off < (size_t)n) {
		enum console_cmd cmd;
		size_t o = console_filter(con, in + off, (size_t)n - off, &consumed, out, &cmd);

		uart_rx_push(&vm->serial0, out, o); /* fits: at most 2 bytes per byte read */
		off += consumed;
		if (cmd == CONSOLE_CMD_QUIT) {
			vm_request_stop(vm, VM_EXIT_HOST_STOP, "stopped from the console (Ctrl-A x)");
			return 1;
		}
		if (cmd == CONSOLE_CMD_HELP) {
			static const char help[] = "\r\nvmon: Ctrl-A x quit, Ctrl-A Ctrl-A send Ctrl-A, "
						   "Ctrl-A h this help\r\n";
			if (write(STDERR_FILENO, help, sizeof(help) - 1) < 0)
				return 0;
		}
	}
	return 0;
}

/* Input from the detached console's client, straight to the UART (no Ctrl-A: the client filters). */
static void vm_mux_io(struct vm *vm, const struct pollfd *p, unsigned n)
{
	uint8_t in[UART_RX_FIFO];
	size_t room = uart_rx_room(&vm->serial0), len;

	if (room > sizeof(in))
		room = sizeof(in);
	conmux_handle(vm->cfg.mux, p, n, in, room, &len);
	if (len)
		uart_rx_push(&vm->serial0, in, len);
}

/* ppoll timeout until the VM's deadline; NULL when it has none. */
static void vm_stop_signal(int sig)
{
	(void)sig; /* handled by the signalfd-free poll below: see vm_run */
}

const struct timespec *vm_timeout_until(uint64_t deadline_ns, struct timespec *ts)
{
	uint64_t now = vm_now_ns(), left;

	if (!deadline_ns)
		return NULL;
	left = deadline_ns > now ? deadline_ns - now : 0;
	ts->tv_sec = (time_t)(left / 1000000000ULL);
	ts->tv_nsec = (long)(left % 1000000000ULL);
	return ts;
}

void vm_block_stop_signals(sigset_t *old, sigset_t *waitmask)
{
	struct sigaction stop = { .sa_handler = vm_stop_signal };
	sigset_t block;

	sigemptyset(&stop.sa_mask);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGHUP, &stop, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, old);
	*waitmask = *old;
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGHUP);
}

/* Main-thread loop: console input until the VM stops, a signal arrives or its time is up. */
static void vm_main_loop(struct vm *vm, struct console *con, const sigset_t *waitmask)
{
	int in_open = con->in_fd >= 0;
	uint64_t drain;

	while (atomic_load(&vm->exit_reason) == VM_EXIT_NONE) {
		struct pollfd p[3 + CONMUX_NFDS] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			{ .fd = vm->rx_space_efd, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
		};
		int room = uart_rx_room(&vm->serial0) >= UART_RX_WAKE_ROOM;
		unsigned nmux = 0;
		struct timespec ts;
		int r;

		if (in_open && room)
			p[2].fd = con->in_fd;
		if (vm->cfg.mux)
			nmux = conmux_pollfds(vm->cfg.mux, p + 3, room);
		r = ppoll(p, 3 + nmux, vm_timeout_until(vm->cfg.deadline_ns, &ts), waitmask);
		if (r < 0) {
			if (errno == EINTR) {
				/* SIGINT/SIGTERM/SIGHUP are only unblocked inside ppoll. */
				vm_request_stop(vm, VM_EXIT_HOST_STOP, "stopped by a signal");
				break;
			}
			vm_request_stop(vm, VM_EXIT_VMM_ERROR, "poll: %s", strerror(errno));
			break;
		}
		if (r == 0 && vm->cfg.deadline_ns && vm_now_ns() >= vm->cfg.deadline_ns) {
			vm_request_stop(vm, VM_EXIT_HOST_STOP, "stopped: its time to live is up");
			break;
		}
		if (p[1].revents && read(vm->rx_space_efd, &drain, sizeof(drain)) < 0)
			continue;
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			vm_console_input(vm, con, &in_open);
		if (nmux)
			vm_mux_io(vm, p + 3, nmux);
	}
}

/* Join the vCPU threads; meanwhile keep the console pipe drained so none blocks on it. */
static void vm_join_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		while (v->thread_started) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 10 * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (!pthread_timedjoin_np(v->thread, NULL, &until))
				v->thread_started = 0;
			else if (vm->cfg.mux)
				conmux_drain(vm->cfg.mux);
		}
	}
}

enum vm_exit vm_run(struct vm *vm)
{
	struct sigaction kick = { .sa_handler = vm_kick_handler };
	sigset_t old, waitmask;
	struct console con;
	int ret;

	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. */
	sigemptyset(&kick.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &kick, NULL);
	/* vCPU threads inherit this mask: stop signals go to the main thread only. */
	vm_block_stop_signals(&old, &waitmask);

	ret = console_open(&con, vm->cfg.console_in_fd);
	if (ret)
		log_warn("console: cannot set raw mode: %s", strerror(-ret));
	vm->start_ns = vm_now_ns();
	ret = ioloop_start(&vm->io);
	if (ret)
		vm_request_stop(vm, VM_EXIT_VMM_ERROR, "cannot start the I/O thread");
	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++) {
		ret = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (ret) {
			vm_request_stop(vm, VM_EXIT_VMM_ERROR, "cannot start vCPU thread %u: %s", i,
					strerror(ret));
			break;
		}
		vm->vcpus[i].thread_started = 1;
	}
	vm_main_loop(vm, &con, &waitmask);
	atomic_store(&vm->stopping, 1);
	vm_pause_release(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	vm_join_vcpus(vm);
	if (vm->cfg.mux)
		conmux_drain(vm->cfg.mux);
	ioloop_stop(&vm->io);
	console_close(&con);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!vm->end_ns)
		vm->end_ns = vm_now_ns();
	return (enum vm_exit)atomic_load(&vm->exit_reason);
}

int vm_exit_status(enum vm_exit why)
{
	switch (why) {
	case VM_EXIT_GUEST_RESET:
		return 0;
	case VM_EXIT_GUEST_CRASH:
		return 3;
	case VM_EXIT_HOST_STOP:
		return 4;
	default:
		return 1;
	}
}

void vm_log_exit(const struct vm *vm, enum vm_exit why)
{
	if (why == VM_EXIT_GUEST_RESET)
		log_info("%s", vm->exit_msg);
	else if (why == VM_EXIT_HOST_STOP)
		log_warn("%s", vm->exit_msg);
	else
		log_err("%s", vm->exit_msg[0] ? vm->exit_msg : "VM stopped for an unknown reason");
}

void vm_destroy(struct vm *vm)
{
	if (vm->pause_inited) {
		pthread_cond_destroy(&vm->pause_cond);
		pthread_mutex_destroy(&vm->pause_lock);
		vm->pause_inited = 0;
	}
	if (vm->io_inited)
		ioloop_destroy(&vm->io); /* first: no queue work may run past here */
	vm->io_inited = 0;
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		virtio_mmio_destroy(vm->virtio[i]);
	vm->nr_virtio = 0;
	for (unsigned i = 0; i < vm->nr_disks_open; i++)
		vblk_close(&vm->disk[i]);
	vm->nr_disks_open = 0;
	for (unsigned i = 0; i < vm->nr_nets_open; i++)
		vnet_close(&vm->net[i]);
	vm->nr_nets_open = 0;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	if (vm->devices_inited) {
		uart_destroy(&vm->serial0);
		i8042_destroy(&vm->kbd);
		rtc_destroy(&vm->rtc);
		vm->devices_inited = 0;
	}
	gmem_free(&vm->mem);
	free(vm->cpuid);
	vm->cpuid = NULL;
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->rx_space_efd >= 0)
		close(vm->rx_space_efd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->stop_efd = vm->rx_space_efd = vm->vm_fd = vm->kvm_fd = -1;
}

void vm_print_stats(struct vm *vm, FILE *f)
{
	struct vcpu_stats *s = calloc(vm->nr_vcpus, sizeof(*s));

	if (!s)
		return;
	/* vCPU threads are joined: their counters are final. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		s[i] = vm->vcpus[i].stats;
	stats_print(f, s, vm->nr_vcpus, &vm->pio, &vm->mmio, (double)(vm->end_ns - vm->start_ns) / 1e9);
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		const struct virtio_mmio *t = vm->virtio[i];
		int idx = bus_find(&vm->mmio, t->base, 4);
		uint64_t exits = 0;

		for (unsigned c = 0; idx >= 0 && c < vm->nr_vcpus; c++)
			exits += s[c].mmio[idx];
		fprintf(f, "  %s @0x%" PRIx64 " irq %u: %" PRIu64 " requests, %" PRIu64
			" notifies (ioeventfd), %" PRIu64 " interrupts (irqfd), %" PRIu64
			" register exits, %.2f exits/request\n",
			t->ops->name, t->base, t->gsi, t->chains, t->notifies, t->interrupts, exits,
			t->chains ? (double)exits / (double)t->chains : 0.0);
	}
	for (unsigned i = 0; i < vm->nr_nets_open; i++) {
		const struct vnet *n = &vm->net[i];

		fprintf(f, "  virtio-net%u %s %02x:%02x:%02x:%02x:%02x:%02x: rx %" PRIu64
			" packets %" PRIu64 " bytes %" PRIu64 " errors, tx %" PRIu64 " packets %" PRIu64
			" bytes %" PRIu64 " errors\n", i, n->ifname, n->mac[0], n->mac[1], n->mac[2],
			n->mac[3], n->mac[4], n->mac[5], n->rx_packets, n->rx_bytes, n->rx_errors,
			n->tx_packets, n->tx_bytes, n->tx_errors);
	}
	free(s);
}
