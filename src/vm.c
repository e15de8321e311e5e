/*
 * vm.c: putting a VM together, running it, taking it apart (see vm.h).
 *
 * The order of vm_create is the one dependency chain of a VM: config,
 * accelerator (and its VM), guest RAM and its slots, the I/O loop, the
 * arch's platform devices, the virtio devices (which ask the arch for lines
 * and windows and announce themselves), the kernel (whose command line now
 * carries the announcements), the vCPUs. vm_destroy undoes what was done,
 * whatever step failed: the device list knows every device there is.
 */
#include "vm.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "devices/uart16550.h"
#include "log.h"
#include "virtio/devices.h"

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vm_host_defaults(struct vm_host *h)
{
	memset(h, 0, sizeof(*h));
	h->console_in_fd = STDIN_FILENO;
	h->console_out_fd = STDOUT_FILENO;
	h->action_fd = -1;
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

/* ---- struct machine over this VM's accelerator and arch ------------------ */

static int vm_m_irq_set(void *ctx, unsigned gsi, int level)
{
	struct vm *vm = ctx;

	return vm->accel->ops->irq_line(vm->accel, gsi, level);
}

static int vm_m_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;

	return vm->accel->ops->msi(vm->accel, addr, data);
}

static int vm_m_msi_route(void *ctx, unsigned *gsi, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;

	return vm->accel->ops->msi_route(vm->accel, gsi, addr, data);
}

static int vm_m_msi_route_free(void *ctx, unsigned gsi)
{
	struct vm *vm = ctx;

	return vm->accel->ops->msi_route_free(vm->accel, gsi);
}

static int vm_m_irqfd(void *ctx, int fd, unsigned gsi, int assign)
{
	struct vm *vm = ctx;

	return vm->accel->ops->irqfd(vm->accel, fd, gsi, assign);
}

static int vm_m_doorbell(void *ctx, int fd, int is_pio, uint64_t addr, unsigned len,
			 uint64_t match, int assign)
{
	struct vm *vm = ctx;

	return vm->accel->ops->ioeventfd(vm->accel, fd, is_pio, addr, len, match, assign);
}

static int vm_m_irq_alloc(void *ctx, unsigned *gsi)
{
	struct vm *vm = ctx;

	return vm->arch->irq_alloc(vm->arch_priv, gsi);
}

static int vm_m_mmio_alloc(void *ctx, uint64_t size, uint64_t *base)
{
	struct vm *vm = ctx;

	return vm->arch->mmio_alloc(vm->arch_priv, size, base);
}

static int vm_m_announce(void *ctx, const char *kind, uint64_t base, uint64_t size, unsigned gsi)
{
	struct vm *vm = ctx;

	return vm->arch->announce(vm->arch_priv, kind, base, size, gsi);
}

static void vm_m_stop(void *ctx, enum vm_exit why, const char *msg)
{
	vm_request_stop(ctx, why, "%s", msg);
}

static const struct machine_ops vm_machine_ops = {
	.irq_set = vm_m_irq_set,
	.msi = vm_m_msi,
	.msi_route = vm_m_msi_route,
	.msi_route_free = vm_m_msi_route_free,
	.irqfd = vm_m_irqfd,
	.doorbell = vm_m_doorbell,
	.irq_alloc = vm_m_irq_alloc,
	.mmio_alloc = vm_m_mmio_alloc,
	.announce = vm_m_announce,
	.stop = vm_m_stop,
};

/* ---- struct vcpu_host: what a vCPU thread sees of this VM ------------------ */

int vm_stopped(struct vm *vm)
{
	return atomic_load(&vm->stopping) || atomic_load(&vm->exit_reason) != VM_EXIT_NONE;
}

static int vm_h_stopped(void *ctx)
{
	return vm_stopped(ctx);
}

/* Called by each vCPU thread before it runs the guest: parks it while a pause is asked. */
static void vm_h_pause_point(void *ctx)
{
	struct vm *vm = ctx;

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

static void vm_h_stop(void *ctx, enum vm_exit why, const char *msg)
{
	vm_request_stop(ctx, why, "%s", msg);
}

/* ---- creation -------------------------------------------------------------- */

static int vm_setup_memory(struct vm *vm)
{
	int ret = vm->arch->mem_init(&vm->mem, vm->cfg.mem_bytes);

	if (ret) {
		log_err("cannot lay out %" PRIu64 " MiB of guest RAM: %s", vm->cfg.mem_bytes >> 20,
			strerror(-ret));
		return ret;
	}
	if (vm->host.restore_mem)
		ret = vm_snapshot_map_memory(vm, vm->host.restore_mem);
	for (unsigned i = 0; !ret && i < vm->mem.nr_regions; i++)
		ret = vm->accel->ops->map_ram(vm->accel, i, vm->mem.region[i].gpa,
					      vm->mem.region[i].size, vm->mem.region[i].hva);
	return ret;
}

static int vm_setup_vcpus(struct vm *vm, const struct vcpu_host *h)
{
	int ret;

	vm->vcpus = calloc(vm->cfg.ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->cfg.ncpus; i++) {
		ret = vcpu_create(&vm->vcpus[i], vm->accel, i, h);
		if (ret)
			return ret;
		vm->nr_vcpus++;
		ret = vm->arch->vcpu_init(vm->arch_priv, vm->vcpus[i].av, i, vm->cfg.ncpus);
		if (ret)
			return ret;
	}
	return 0;
}

/* One per VM: the vCPUs keep a pointer to it. */
static const struct vcpu_host *vm_vcpu_host(struct vm *vm, struct vcpu_host *h)
{
	*h = (struct vcpu_host){ .pio = &vm->pio, .mmio = &vm->mmio, .ctx = vm,
				 .stopped = vm_h_stopped, .pause_point = vm_h_pause_point,
				 .stop = vm_h_stop };
	return h;
}

static int vm_init_sync(struct vm *vm)
{
	int ret = pthread_mutex_init(&vm->pause_lock, NULL);

	if (ret)
		return -ret;
	ret = pthread_cond_init(&vm->pause_cond, NULL);
	if (ret) {
		pthread_mutex_destroy(&vm->pause_lock);
		return -ret;
	}
	vm->pause_inited = 1;
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->rx_space_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return vm->stop_efd < 0 || vm->rx_space_efd < 0 ? -errno : 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_host *host)
{
	char err[VM_ERR_MAX];
	struct arch_console con;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->host = *host;
	vm->stop_efd = vm->rx_space_efd = -1;
	vm->arch = arch_by_name(cfg->arch);
	atomic_init(&vm->exit_reason, VM_EXIT_NONE);
	atomic_init(&vm->stopping, 0);
	atomic_init(&vm->pause_req, 0);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	devlist_init(&vm->devs);
	if (host->mux) {
		/* Detached: output to the console mux, input from its client only. */
		vm->host.console_out_fd = host->mux->uart_fd;
		vm->host.console_in_fd = -1;
	}
	ret = vm_init_sync(vm);
	if (ret)
		return ret;
	if (!host->mux && host->console_out_fd >= 0) {
		/* A reader that stops reading must block neither a vCPU nor this thread. */
		ret = console_out_open(&vm->cout, host->console_out_fd);
		if (ret)
			return ret;
		vm->cout_open = 1;
		vm->host.console_out_fd = vm->cout.uart_fd;
	}
	ret = vm_config_validate(cfg, err, sizeof(err));
	if (ret) {
		log_err("%s", err);
		return ret;
	}
	if (!vm->arch) {
		log_err("--arch %s: unknown", cfg->arch);
		return -EINVAL;
	}
	if (vm->arch->accel_create)
		ret = vm->arch->accel_create(cfg, &vm->accel);
	else
		ret = accel_kvm_create(cfg->kvm_path, cfg->ncpus, &vm->accel);
	if (ret)
		return ret;
	ret = vm_setup_memory(vm);
	if (!ret)
		ret = ioloop_init(&vm->io);
	if (ret)
		return ret;
	vm->io_inited = 1;
	vm->machine = (struct machine){ .ops = &vm_machine_ops, .ctx = vm, .mem = &vm->mem,
					.pio = &vm->pio, .mmio = &vm->mmio, .devs = &vm->devs,
					.io = &vm->io };
	con = (struct arch_console){ .out_fd = vm->host.console_out_fd,
				     .rx_space_fd = vm->rx_space_efd };
	ret = vm->arch->create(&vm->machine, vm->accel, &vm->cfg, &con, &vm->arch_priv);
	if (!ret && vm->arch->genid) /* the arch's vmgenid device, told at each restore */
		vm->genid_hook = (struct snap_genid_hook){ vm->arch->genid, vm->arch_priv };
	if (!ret)
		ret = virtio_devices_create(&vm->machine, &vm->cfg);
	if (!ret && !vm->host.restore_mem && !vm->host.incoming) /* a restore's RAM holds the guest */
		ret = vm->arch->load_kernel(vm->arch_priv, &vm->cfg);
	if (!ret)
		ret = vm_setup_vcpus(vm, vm_vcpu_host(vm, &vm->vcpu_host));
	return ret;
}

/* ---- pause and resume ------------------------------------------------------ */

/* CLOCK_REALTIME 10 ms from now: how often waits wake to kick vCPUs and look at signals. */
static void vm_realtime_in_10ms(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += 10 * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static unsigned vm_threads_running(struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].thread_started;
	return n;
}

static void vm_kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

/* A stop signal waits for the VMM thread's ppoll (they are blocked everywhere else). */
static int vm_stop_signal_pending(void)
{
	sigset_t pend;

	if (sigpending(&pend) < 0)
		return 0;
	return sigismember(&pend, SIGINT) == 1 || sigismember(&pend, SIGTERM) == 1 ||
	       sigismember(&pend, SIGHUP) == 1;
}

/* Wait up to 10 ms for every vCPU to park: 1 when they have (or the VM is stopping). */
static int vm_pause_wait_10ms(struct vm *vm)
{
	struct timespec until;
	int done;

	vm_realtime_in_10ms(&until);
	pthread_mutex_lock(&vm->pause_lock);
	done = vm->nr_parked >= vm_threads_running(vm) || vm_stopped(vm);
	if (!done) {
		/* Releases pause_lock while it waits: a vCPU can park, a resume can run. */
		pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &until);
		done = vm->nr_parked >= vm_threads_running(vm) || vm_stopped(vm);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return done;
}

int vm_pause(struct vm *vm)
{
	uint64_t end = vm_now_ns() + VM_PAUSE_TIMEOUT_MS * 1000000ULL;
	int ret = 0;

	atomic_store(&vm->pause_req, 1);
	/*
	 * The UART and the consoles never block a vCPU, so each one parks as
	 * soon as its kick lands; the kick is repeated every 10 ms in case one
	 * landed between a vCPU's check and its next entry to the guest.
	 * Whatever the guest does, this returns within VM_PAUSE_TIMEOUT_MS, and
	 * at once on a stop or a stop signal: a guest cannot hold the VMM
	 * thread (and with it the API and the signals) here.
	 */
	for (;;) {
		vm_kick_all(vm);
		if (vm_pause_wait_10ms(vm))
			break;
		if (vm_stop_signal_pending()) {
			ret = -EINTR;
			break;
		}
		if (vm_now_ns() >= end) {
			log_warn("pause: a vCPU did not stop within %d ms; the VM runs on",
				 VM_PAUSE_TIMEOUT_MS);
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (vm_stopped(vm))
		ret = -ESRCH;
	if (ret)
		vm_resume(vm);
	return ret;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, 0);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_start_paused(struct vm *vm)
{
	atomic_store(&vm->pause_req, 1);
}

int vm_send_ctrl_alt_del(struct vm *vm)
{
	return vm->arch->ctrl_alt_del(vm->arch_priv);
}

/* Wake everything that waits on pause state: the VM is stopping. */
static void vm_pause_release(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_save_devices(struct vm *vm, struct snap_out *out)
{
	return devlist_save(&vm->devs, out);
}

int vm_load_devices(struct vm *vm, struct snap_in *in)
{
	return devlist_load(&vm->devs, in);
}

/* ---- the VMM thread's loop -------------------------------------------------- */
static struct uart *vm_console(struct vm *vm)
{
	return vm->arch->console(vm->arch_priv);
}

/* Feed console input to the UART; returns 1 when the user asked to quit. */
static int vm_console_input(struct vm *vm, struct console *con, int *in_open)
{
	uint8_t in[64], out[2 * sizeof(in)];
	size_t room = uart_rx_room(vm_console(vm)), consumed, off = 0;
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

		uart_rx_push(vm_console(vm), out, o); /* fits: at most 2 bytes per byte read */
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
	size_t room = uart_rx_room(vm_console(vm)), len;

	if (room > sizeof(in))
		room = sizeof(in);
	conmux_handle(vm->host.mux, p, n, in, room, &len);
	if (len)
		uart_rx_push(vm_console(vm), in, len);
}

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

/* The main loop's fixed descriptors: stop, UART room, console input, API actions, output. */
#define VM_POLL_FIXED 5

/* Main-thread loop: console input until the VM stops, a signal arrives or its time is up. */
static void vm_main_loop(struct vm *vm, struct console *con, const sigset_t *waitmask)
{
	int in_open = con->in_fd >= 0;
	uint64_t drain;

	while (atomic_load(&vm->exit_reason) == VM_EXIT_NONE) {
		struct pollfd p[VM_POLL_FIXED + CONMUX_NFDS] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			{ .fd = vm->rx_space_efd, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
			{ .fd = vm->host.on_action ? vm->host.action_fd : -1, .events = POLLIN },
			{ .fd = -1 },
		};
		int room = uart_rx_room(vm_console(vm)) >= UART_RX_WAKE_ROOM;
		unsigned nmux = 0;
		struct timespec ts;
		int r;

		if (in_open && room)
			p[2].fd = con->in_fd;
		if (vm->cout_open)
			console_out_pollfd(&vm->cout, &p[4]);
		if (vm->host.mux)
			nmux = conmux_pollfds(vm->host.mux, p + VM_POLL_FIXED, room);
		r = ppoll(p, VM_POLL_FIXED + nmux, vm_timeout_until(vm->host.deadline_ns, &ts), waitmask);
		if (r < 0) {
			if (errno == EINTR) {
				/* SIGINT/SIGTERM/SIGHUP are only unblocked inside ppoll. */
				vm_request_stop(vm, VM_EXIT_HOST_STOP, "stopped by a signal");
				break;
			}
			vm_request_stop(vm, VM_EXIT_VMM_ERROR, "poll: %s", strerror(errno));
			break;
		}
		if (r == 0 && vm->host.deadline_ns && vm_now_ns() >= vm->host.deadline_ns) {
			vm_request_stop(vm, VM_EXIT_HOST_STOP, "stopped: its time to live is up");
			break;
		}
		if (p[1].revents && read(vm->rx_space_efd, &drain, sizeof(drain)) < 0)
			continue;
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			vm_console_input(vm, con, &in_open);
		if (nmux)
			vm_mux_io(vm, p + VM_POLL_FIXED, nmux);
		if (p[3].revents & POLLIN)
			vm->host.on_action(vm->host.action_ctx); /* the API's posted actions */
		if (p[4].revents)
			console_out_pump(&vm->cout); /* bounded: back to ppoll (and signals) soon */
	}
}

/* How long the end of a run waits for a console reader that does not read. */
#define VM_OUT_STALL_MS 100

/*
 * Join the vCPU threads; meanwhile keep the console output moving, and kick
 * again every 10 ms: a kick that landed just before a vCPU entered the
 * guest again must not leave it running.
 */
static void vm_join_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		while (v->thread_started) {
			struct timespec until;

			vm_realtime_in_10ms(&until);
			if (!pthread_timedjoin_np(v->thread, NULL, &until)) {
				v->thread_started = 0;
				continue;
			}
			vcpu_kick(v);
			if (vm->host.mux)
				conmux_drain(vm->host.mux);
			if (vm->cout_open)
				console_out_pump(&vm->cout);
		}
	}
}

enum vm_exit vm_run(struct vm *vm)
{
	sigset_t old, waitmask;
	struct console con;
	int ret;

	/* vCPU threads inherit this mask: stop signals go to the main thread only. */
	vm_block_stop_signals(&old, &waitmask);

	ret = console_open(&con, vm->host.console_in_fd);
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
	vm_kick_all(vm);
	vm_join_vcpus(vm);
	if (vm->host.mux)
		conmux_drain(vm->host.mux);
	if (vm->cout_open)
		console_out_flush(&vm->cout, VM_OUT_STALL_MS);
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
	case VM_EXIT_MIGRATED:
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
	if (why == VM_EXIT_GUEST_RESET || why == VM_EXIT_MIGRATED)
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
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	/* Devices close their irqfds and doorbells while the accelerator's VM still exists. */
	devlist_destroy(&vm->devs);
	if (vm->arch_priv)
		vm->arch->destroy(vm->arch_priv);
	vm->arch_priv = NULL;
	if (vm->accel)
		vm->accel->ops->destroy(vm->accel);
	vm->accel = NULL;
	gmem_free(&vm->mem);
	if (vm->cout_open)
		console_out_close(&vm->cout); /* after the devices: the UART writes its pipe */
	vm->cout_open = 0;
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->rx_space_efd >= 0)
		close(vm->rx_space_efd);
	vm->stop_efd = vm->rx_space_efd = -1;
}

/* Exits the vCPUs took on the bus ranges of one device (their range name is its name). */
static uint64_t vm_dev_exits(const struct vcpu_stats *s, unsigned n, const struct bus *b,
			     int is_pio, const char *name, uint64_t *base, int *found)
{
	uint64_t exits = 0;

	for (unsigned r = 0; r < b->nr; r++) {
		if (strcmp(b->range[r].name, name))
			continue;
		if (!*found)
			*base = b->range[r].base;
		*found = 1;
		for (unsigned c = 0; c < n; c++)
			exits += is_pio ? s[c].pio[r] : s[c].mmio[r];
	}
	return exits;
}

/* One line per device with counters: "  NAME @BASE: key value, ..., exits N". */
static void vm_print_dev(FILE *f, const struct dev *d, const struct vcpu_stats *s, unsigned n,
			 const struct bus *pio, const struct bus *mmio)
{
	struct dev_stat st[DEV_MAX_STATS];
	unsigned k = d->ops->stats(d->state, st, DEV_MAX_STATS);
	uint64_t base = 0, exits, requests = 0;
	int found = 0;

	if (!k)
		return;
	exits = vm_dev_exits(s, n, mmio, 0, d->name, &base, &found) +
		vm_dev_exits(s, n, pio, 1, d->name, &base, &found);
	fprintf(f, "  %s", d->name);
	if (found)
		fprintf(f, " @0x%" PRIx64, base);
	for (unsigned i = 0; i < k && i < DEV_MAX_STATS; i++) {
		fprintf(f, "%s %s %" PRIu64, i ? "," : ":", st[i].key, st[i].value);
		if (!strcmp(st[i].key, "requests"))
			requests = st[i].value;
	}
	fprintf(f, ", register exits %" PRIu64, exits);
	if (requests)
		fprintf(f, ", %.2f exits/request", (double)exits / (double)requests);
	fputc('\n', f);
}

void vm_print_stats(struct vm *vm, FILE *f)
{
	struct vcpu_stats *s = calloc(vm->nr_vcpus ? vm->nr_vcpus : 1, sizeof(*s));

	if (!s)
		return;
	/* vCPU threads are joined: their counters are final. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		s[i] = vm->vcpus[i].stats;
	stats_print(f, s, vm->nr_vcpus, &vm->pio, &vm->mmio, (double)(vm->end_ns - vm->start_ns) / 1e9);
	for (unsigned i = 0; i < vm->devs.nr; i++)
		vm_print_dev(f, &vm->devs.dev[i], s, vm->nr_vcpus, &vm->pio, &vm->mmio);
	free(s);
}
