/*
 * vmm.c: the VM process under management (see vmm.h).
 */
#include "api/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/state.h"
#include "log.h"
#include "stats.h"

#define VMM_CMDLINE_MAX 4096

struct vmm {
	pthread_mutex_t lock;
	const struct vmm_opts *o;
	enum api_state state;
	int start_efd;            /* the API asked for InstanceStart and it succeeded */
	uint64_t deadline_ns;     /* vm_now_ns() at which the TTL ends, 0: none */
	time_t started, created;  /* wall clock: VM start, process start */

	/* The configuration; strings live here, cfg points into them. */
	struct vm_config cfg;
	char kernel[API_PATH_MAX], initrd[API_PATH_MAX];
	char args[VMM_CMDLINE_MAX], cmdline[VMM_CMDLINE_MAX];
	char disk_path[VM_MAX_DISKS][API_PATH_MAX], disk_id[VM_MAX_DISKS][API_ID_MAX];
	int root_disk;            /* index of the is_root_device drive, or -1 */
	char tap[VM_MAX_NETS][API_IFNAME_MAX], net_id[VM_MAX_NETS][API_ID_MAX];

	struct vm *vm;            /* after a successful start */
	struct conmux mux;
	int mux_open;
};

static const char *const vmm_state_names[] = {
	[API_STATE_NOT_STARTED] = "Not started",
	[API_STATE_RUNNING] = "Running",
	[API_STATE_PAUSED] = "Paused",
};

/* ---- state.json ---------------------------------------------------------- */

/* Write DIR/state.json atomically (state.c). Lock held (or single-threaded). */
static void vmm_write_state(struct vmm *v, const char *state, int exit_status, const char *reason)
{
	char err[STATE_ERR_MAX];
	json_object *o;

	if (!v->o->state_dir)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "started", json_object_new_int64(v->started ? v->started : v->created));
	json_object_object_add(o, "updated", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "vcpus", json_object_new_int((int)v->cfg.ncpus));
	json_object_object_add(o, "mem_mib", json_object_new_int64((int64_t)(v->cfg.mem_bytes >> 20)));
	if (reason) {
		json_object_object_add(o, "exit_status", json_object_new_int(exit_status));
		json_object_object_add(o, "reason", json_object_new_string(reason));
	}
	if (state_write_json(v->o->state_dir, "state.json", o, err))
		log_warn("cannot record the VM's state: %s", err);
	json_object_put(o);
}

static void vmm_set_state(struct vmm *v, enum api_state s)
{
	v->state = s;
	vmm_write_state(v, vmm_state_names[s], 0, NULL);
}

/* ---- API ops: configuration before the start ----------------------------- */

static int vmm_configurable(struct vmm *v, char *err)
{
	if (v->state == API_STATE_NOT_STARTED)
		return 0;
	snprintf(err, API_ERR_MAX, "The requested operation is not supported after starting the microVM.");
	return -EBUSY;
}

/* A path the VM will open: it must exist now, as a regular file. */
static int vmm_check_file(const char *what, const char *path, char *err)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, API_ERR_MAX, "%s %s: %s", what, path, strerror(errno));
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, API_ERR_MAX, "%s %s: not a regular file", what, path);
		return -EINVAL;
	}
	return 0;
}

static enum api_state op_state(void *ctx)
{
	struct vmm *v = ctx;
	enum api_state s;

	pthread_mutex_lock(&v->lock);
	s = v->state;
	pthread_mutex_unlock(&v->lock);
	return s;
}

static int op_get_machine(void *ctx, struct api_machine *m)
{
	struct vmm *v = ctx;

	pthread_mutex_lock(&v->lock);
	m->vcpu_count = v->cfg.ncpus;
	m->mem_size_mib = v->cfg.mem_bytes >> 20;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static int op_set_boot(void *ctx, const struct api_boot *b, char *err)
{
	struct vmm *v = ctx;
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = vmm_configurable(v, err);
	if (!ret)
		ret = vmm_check_file("kernel_image_path", b->kernel, err);
	if (!ret && b->initrd[0])
		ret = vmm_check_file("initrd_path", b->initrd, err);
	if (!ret && b->has_args && strlen(b->args) >= VMM_CMDLINE_MAX - 64) {
		snprintf(err, API_ERR_MAX, "boot_args: longer than %d bytes", VMM_CMDLINE_MAX - 64);
		ret = -EINVAL;
	}
	if (!ret) {
		snprintf(v->kernel, sizeof(v->kernel), "%s", b->kernel);
		snprintf(v->initrd, sizeof(v->initrd), "%s", b->initrd);
		if (b->has_args)
			snprintf(v->args, sizeof(v->args), "%s", b->args);
		v->cfg.kernel_path = v->kernel;
		v->cfg.initrd_path = v->initrd[0] ? v->initrd : NULL;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int op_set_machine(void *ctx, const struct api_machine *m, char *err)
{
	struct vmm *v = ctx;
	struct vm_config c;
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = vmm_configurable(v, err);
	if (!ret) {
		c = v->cfg;
		c.ncpus = m->vcpu_count;
		c.mem_bytes = m->mem_size_mib << 20;
		if (c.ncpus < 1 || c.ncpus > VM_MAX_CPUS) {
			snprintf(err, API_ERR_MAX, "vcpu_count %u: out of range 1-%d", c.ncpus, VM_MAX_CPUS);
			ret = -EINVAL;
		} else if (m->mem_size_mib < (VM_MIN_MEM >> 20) || m->mem_size_mib > (UINT64_MAX >> 21)) {
			snprintf(err, API_ERR_MAX, "mem_size_mib %llu: too small or too large",
				 (unsigned long long)m->mem_size_mib);
			ret = -EINVAL;
		} else {
			v->cfg.ncpus = c.ncpus;
			v->cfg.mem_bytes = c.mem_bytes;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int vmm_find_id(char (*ids)[API_ID_MAX], unsigned n, const char *id)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return (int)i;
	return -1;
}

static int op_set_drive(void *ctx, const struct api_drive *d, char *err)
{
	struct vmm *v = ctx;
	int ret, i;

	pthread_mutex_lock(&v->lock);
	ret = vmm_configurable(v, err);
	if (!ret)
		ret = vmm_check_file("path_on_host", d->path, err);
	if (!ret && d->is_root && v->root_disk >= 0 && strcmp(v->disk_id[v->root_disk], d->id)) {
		snprintf(err, API_ERR_MAX, "drive %s is already the root device", v->disk_id[v->root_disk]);
		ret = -EINVAL;
	}
	i = vmm_find_id(v->disk_id, v->cfg.nr_disks, d->id);
	if (!ret && i < 0 && (v->cfg.nr_disks == VM_MAX_DISKS ||
			      v->cfg.nr_disks + v->cfg.nr_nets == VM_MAX_VIRTIO_EXTRA)) {
		snprintf(err, API_ERR_MAX, "too many devices: at most %d drives, %d with interfaces",
			 VM_MAX_DISKS, VM_MAX_VIRTIO_EXTRA);
		ret = -ENOSPC;
	}
	if (!ret) {
		if (i < 0)
			i = (int)v->cfg.nr_disks++;
		snprintf(v->disk_id[i], API_ID_MAX, "%s", d->id);
		snprintf(v->disk_path[i], API_PATH_MAX, "%s", d->path);
		v->cfg.disks[i] = (struct vblk_opts){ .path = v->disk_path[i], .read_only = d->read_only };
		if (d->is_root)
			v->root_disk = i;
		else if (v->root_disk == i)
			v->root_disk = -1;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int op_set_net(void *ctx, const struct api_net *n, char *err)
{
	struct vmm *v = ctx;
	int ret, i;

	pthread_mutex_lock(&v->lock);
	ret = vmm_configurable(v, err);
	i = vmm_find_id(v->net_id, v->cfg.nr_nets, n->id);
	if (!ret && i < 0 && (v->cfg.nr_nets == VM_MAX_NETS ||
			      v->cfg.nr_disks + v->cfg.nr_nets == VM_MAX_VIRTIO_EXTRA)) {
		snprintf(err, API_ERR_MAX, "too many devices: at most %d interfaces, %d with drives",
			 VM_MAX_NETS, VM_MAX_VIRTIO_EXTRA);
		ret = -ENOSPC;
	}
	if (!ret) {
		if (i < 0)
			i = (int)v->cfg.nr_nets++;
		snprintf(v->net_id[i], API_ID_MAX, "%s", n->id);
		snprintf(v->tap[i], API_IFNAME_MAX, "%s", n->host_dev);
		v->cfg.nets[i] = (struct vnet_opts){ .tap = v->tap[i], .has_mac = n->has_mac };
		memcpy(v->cfg.nets[i].mac, n->mac, sizeof(n->mac));
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* ---- start, pause, resume, Ctrl-Alt-Del ---------------------------------- */

/* The command line: the given one (or the default), plus root= for a root drive. */
static void vmm_build_cmdline(struct vmm *v)
{
	struct vm_config defaults;

	vm_config_defaults(&defaults);
	snprintf(v->cmdline, sizeof(v->cmdline), "%s", v->args[0] ? v->args : defaults.cmdline);
	if (v->root_disk >= 0) {
		size_t len = strlen(v->cmdline);

		snprintf(v->cmdline + len, sizeof(v->cmdline) - len, " root=/dev/vd%c %s",
			 'a' + v->root_disk, v->cfg.disks[v->root_disk].read_only ? "ro" : "rw");
	}
	v->cfg.cmdline = v->cmdline;
}

/* Create the VM. Lock held. 0, or -errno with the reason in err. */
static int vmm_start_locked(struct vmm *v, char *err)
{
	struct vm *vm;
	int ret;

	if (v->state != API_STATE_NOT_STARTED) {
		snprintf(err, API_ERR_MAX, "the VM has already been started");
		return -EBUSY;
	}
	if (!v->cfg.kernel_path) {
		snprintf(err, API_ERR_MAX, "no boot source: PUT /boot-source first");
		return -EINVAL;
	}
	vmm_build_cmdline(v);
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		snprintf(err, API_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	log_clear_last_error();
	ret = vm_create(vm, &v->cfg);
	if (ret) {
		snprintf(err, API_ERR_MAX, "cannot start the VM: %s",
			 log_last_error()[0] ? log_last_error() : strerror(-ret));
		vm_destroy(vm);
		free(vm);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	v->vm = vm;
	v->started = time(NULL);
	vmm_set_state(v, API_STATE_RUNNING);
	return 0;
}

static int op_start(void *ctx, char *err)
{
	struct vmm *v = ctx;
	uint64_t one = 1;
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = vmm_start_locked(v, err);
	pthread_mutex_unlock(&v->lock);
	if (!ret && write(v->start_efd, &one, sizeof(one)) < 0)
		log_err("cannot wake the main thread: %s", strerror(errno));
	return ret;
}

static int vmm_running(struct vmm *v, char *err)
{
	if (v->state != API_STATE_NOT_STARTED && v->vm)
		return 0;
	snprintf(err, API_ERR_MAX, "the VM has not been started");
	return -EBUSY;
}

static int op_ctrl_alt_del(void *ctx, char *err)
{
	struct vmm *v = ctx;
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = vmm_running(v, err);
	if (!ret && vm_send_ctrl_alt_del(v->vm)) {
		snprintf(err, API_ERR_MAX, "the guest's keyboard buffer is full");
		ret = -EBUSY;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int op_pause(void *ctx, char *err)
{
	struct vmm *v = ctx;
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = vmm_running(v, err);
	if (!ret && v->state == API_STATE_RUNNING) {
		ret = vm_pause(v->vm);
		if (ret)
			snprintf(err, API_ERR_MAX, "the VM is stopping");
		else
			vmm_set_state(v, API_STATE_PAUSED);
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int op_resume(void *ctx, char *err)
{
	struct vmm *v = ctx;
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = vmm_running(v, err);
	if (!ret && v->state == API_STATE_PAUSED) {
		vm_resume(v->vm);
		vmm_set_state(v, API_STATE_RUNNING);
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* ---- GET /vm/config and GET /stats --------------------------------------- */

static int op_vm_config(void *ctx, json_object *obj, char *err)
{
	struct vmm *v = ctx;
	json_object *boot = json_object_new_object(), *mc = json_object_new_object();
	json_object *drives = json_object_new_array(), *nets = json_object_new_array();

	(void)err;
	pthread_mutex_lock(&v->lock);
	if (v->cfg.kernel_path)
		json_object_object_add(boot, "kernel_image_path", json_object_new_string(v->cfg.kernel_path));
	if (v->cfg.initrd_path)
		json_object_object_add(boot, "initrd_path", json_object_new_string(v->cfg.initrd_path));
	json_object_object_add(boot, "boot_args", json_object_new_string(v->args[0] ? v->args : v->cfg.cmdline));
	json_object_object_add(mc, "vcpu_count", json_object_new_int((int)v->cfg.ncpus));
	json_object_object_add(mc, "mem_size_mib", json_object_new_int64((int64_t)(v->cfg.mem_bytes >> 20)));
	json_object_object_add(mc, "smt", json_object_new_boolean(0));
	json_object_object_add(mc, "track_dirty_pages", json_object_new_boolean(0));
	for (unsigned i = 0; i < v->cfg.nr_disks; i++) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "drive_id", json_object_new_string(v->disk_id[i][0] ? v->disk_id[i] : "cli"));
		json_object_object_add(d, "path_on_host", json_object_new_string(v->cfg.disks[i].path));
		json_object_object_add(d, "is_root_device", json_object_new_boolean(v->root_disk == (int)i));
		json_object_object_add(d, "is_read_only", json_object_new_boolean(v->cfg.disks[i].read_only));
		json_object_array_add(drives, d);
	}
	for (unsigned i = 0; i < v->cfg.nr_nets; i++) {
		json_object *n = json_object_new_object();

		json_object_object_add(n, "iface_id", json_object_new_string(v->net_id[i][0] ? v->net_id[i] : "cli"));
		json_object_object_add(n, "host_dev_name", json_object_new_string(v->cfg.nets[i].tap));
		json_object_array_add(nets, n);
	}
	pthread_mutex_unlock(&v->lock);
	json_object_object_add(obj, "boot-source", boot);
	json_object_object_add(obj, "machine-config", mc);
	json_object_object_add(obj, "drives", drives);
	json_object_object_add(obj, "network-interfaces", nets);
	return 0;
}

/* VmRSS and VmHWM of this process, in KiB. */
static void vmm_rss(int64_t *rss, int64_t *hwm)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	long long val;

	*rss = *hwm = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %lld", &val) == 1)
			*rss = val;
		else if (sscanf(line, "VmHWM: %lld", &val) == 1)
			*hwm = val;
	}
	fclose(f);
}

/* A counter another thread increments: read it whole (an approximate snapshot). */
static int64_t vmm_load(const uint64_t *p)
{
	return (int64_t)__atomic_load_n(p, __ATOMIC_RELAXED);
}

static json_object *vmm_vcpu_stats(const struct vcpu *c)
{
	json_object *o = json_object_new_object(), *ex = json_object_new_object();
	int64_t total = 0;

	for (unsigned r = 0; r < STATS_EXIT_REASONS; r++) {
		int64_t n = vmm_load(&c->stats.exits[r]);

		if (n) {
			json_object_object_add(ex, stats_exit_name(r), json_object_new_int64(n));
			total += n;
		}
	}
	json_object_object_add(o, "id", json_object_new_int((int)c->id));
	json_object_object_add(o, "exits", json_object_new_int64(total));
	json_object_object_add(o, "exits_by_reason", ex);
	json_object_object_add(o, "signals", json_object_new_int64(vmm_load(&c->stats.eintr)));
	return o;
}

static void vmm_bus_stats(const struct vm *vm, const struct bus *b, int is_pio, json_object *arr)
{
	for (unsigned i = 0; i < b->nr; i++) {
		json_object *o = json_object_new_object();
		int64_t n = 0;

		for (unsigned c = 0; c < vm->nr_vcpus; c++)
			n += vmm_load(is_pio ? &vm->vcpus[c].stats.pio[i] : &vm->vcpus[c].stats.mmio[i]);
		json_object_object_add(o, "bus", json_object_new_string(b->name));
		json_object_object_add(o, "name", json_object_new_string(b->range[i].name));
		json_object_object_add(o, "base", json_object_new_int64((int64_t)b->range[i].base));
		json_object_object_add(o, "exits", json_object_new_int64(n));
		json_object_array_add(arr, o);
	}
}

static json_object *vmm_virtio_stats(const struct virtio_mmio *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(t->ops->name));
	json_object_object_add(o, "irq", json_object_new_int((int)t->gsi));
	json_object_object_add(o, "requests", json_object_new_int64(vmm_load(&t->chains)));
	json_object_object_add(o, "notifies", json_object_new_int64(vmm_load(&t->notifies)));
	json_object_object_add(o, "interrupts", json_object_new_int64(vmm_load(&t->interrupts)));
	return o;
}

static int op_stats(void *ctx, json_object *obj, char *err)
{
	struct vmm *v = ctx;
	json_object *vcpus = json_object_new_array(), *devs = json_object_new_array();
	json_object *virtio = json_object_new_array();
	int64_t rss, hwm;

	(void)err;
	vmm_rss(&rss, &hwm);
	pthread_mutex_lock(&v->lock);
	json_object_object_add(obj, "state", json_object_new_string(vmm_state_names[v->state]));
	json_object_object_add(obj, "uptime_s", json_object_new_double(
		v->vm ? (double)(vm_now_ns() - v->vm->start_ns) / 1e9 : 0.0));
	json_object_object_add(obj, "vmm_rss_kib", json_object_new_int64(rss));
	json_object_object_add(obj, "vmm_hwm_kib", json_object_new_int64(hwm));
	json_object_object_add(obj, "mem_size_mib", json_object_new_int64((int64_t)(v->cfg.mem_bytes >> 20)));
	if (v->vm) {
		struct vm *vm = v->vm;

		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			json_object_array_add(vcpus, vmm_vcpu_stats(&vm->vcpus[i]));
		vmm_bus_stats(vm, &vm->pio, 1, devs);
		vmm_bus_stats(vm, &vm->mmio, 0, devs);
		for (unsigned i = 0; i < vm->nr_virtio; i++)
			json_object_array_add(virtio, vmm_virtio_stats(vm->virtio[i]));
	}
	pthread_mutex_unlock(&v->lock);
	json_object_object_add(obj, "vcpus", vcpus);
	json_object_object_add(obj, "devices", devs);
	json_object_object_add(obj, "virtio", virtio);
	return 0;
}

static const struct api_ops vmm_api_ops = {
	.state = op_state,
	.get_machine = op_get_machine,
	.set_boot = op_set_boot,
	.set_machine = op_set_machine,
	.set_drive = op_set_drive,
	.set_net = op_set_net,
	.start = op_start,
	.ctrl_alt_del = op_ctrl_alt_del,
	.pause = op_pause,
	.resume = op_resume,
	.vm_config = op_vm_config,
	.stats = op_stats,
};

/* ---- the process --------------------------------------------------------- */

/*
 * Before the start: wait for InstanceStart, a stop signal or the TTL.
 * Returns 1 when the VM was started, 0 when the process should end (*why set).
 */
static int vmm_wait_start(struct vmm *v, enum vm_exit *why)
{
	sigset_t old, waitmask;
	int started = 0;

	vm_block_stop_signals(&old, &waitmask);
	for (;;) {
		struct pollfd p = { .fd = v->start_efd, .events = POLLIN };
		struct timespec ts;
		int r = ppoll(&p, 1, vm_timeout_until(v->deadline_ns, &ts), &waitmask);

		if (r > 0) {
			started = 1;
			break;
		}
		if (r == 0 && v->deadline_ns && vm_now_ns() >= v->deadline_ns) {
			log_warn("stopped before it started: its time to live is up");
			*why = VM_EXIT_HOST_STOP;
			break;
		}
		if (r < 0 && errno == EINTR) {
			log_warn("stopped by a signal before the VM started");
			*why = VM_EXIT_HOST_STOP;
			break;
		}
		if (r < 0) {
			log_err("poll: %s", strerror(errno));
			*why = VM_EXIT_VMM_ERROR;
			break;
		}
	}
	/* Signals stay blocked while a start races with them: vm_run unblocks them in its poll. */
	if (!started)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return started;
}

static int vmm_init(struct vmm *v, const struct vm_config *cfg, const struct vmm_opts *o)
{
	int ret;

	memset(v, 0, sizeof(*v));
	v->o = o;
	v->cfg = *cfg;
	v->root_disk = -1;
	v->start_efd = -1;
	v->created = time(NULL);
	if (o->ttl_secs)
		v->deadline_ns = vm_now_ns() + o->ttl_secs * 1000000000ULL;
	ret = pthread_mutex_init(&v->lock, NULL);
	if (ret)
		return -ret;
	v->start_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->start_efd < 0)
		return -errno;
	{
		struct vm_config defaults;

		/* A command line given on ours is the boot_args; the default is not. */
		vm_config_defaults(&defaults);
		if (cfg->cmdline && strcmp(cfg->cmdline, defaults.cmdline))
			snprintf(v->args, sizeof(v->args), "%s", cfg->cmdline);
	}
	if (o->state_dir) {
		char sock[PATH_MAX], log[PATH_MAX];

		snprintf(sock, sizeof(sock), "%s/console.sock", o->state_dir);
		snprintf(log, sizeof(log), "%s/serial.log", o->state_dir);
		ret = conmux_open(&v->mux, sock, log);
		if (ret)
			return ret;
		v->mux_open = 1;
		v->cfg.mux = &v->mux;
	}
	v->cfg.deadline_ns = v->deadline_ns;
	return 0;
}

static void vmm_fini(struct vmm *v)
{
	if (v->vm) {
		vm_destroy(v->vm);
		free(v->vm);
		v->vm = NULL;
	}
	if (v->mux_open)
		conmux_close(&v->mux);
	if (v->start_efd >= 0)
		close(v->start_efd);
	pthread_mutex_destroy(&v->lock);
}

enum vm_exit vmm_run(const struct vm_config *cfg, const struct vmm_opts *o)
{
	char sock[PATH_MAX], err[API_ERR_MAX] = "";
	struct api_server *srv = NULL;
	enum vm_exit why = VM_EXIT_VMM_ERROR;
	struct api api;
	struct vmm *v;
	int ret, ttl_up;

	v = malloc(sizeof(*v));
	if (!v) {
		log_err("out of memory");
		return VM_EXIT_VMM_ERROR;
	}
	ret = vmm_init(v, cfg, o);
	if (!ret) {
		vmm_set_state(v, API_STATE_NOT_STARTED);
		api = (struct api){ .ops = &vmm_api_ops, .ctx = v, .id = o->name ? o->name : "vmon" };
		if (o->api_sock)
			snprintf(sock, sizeof(sock), "%s", o->api_sock);
		else
			snprintf(sock, sizeof(sock), "%s/api.sock", o->state_dir);
		ret = api_server_start(&srv, sock, &api);
	}
	if (!ret && cfg->kernel_path) {
		pthread_mutex_lock(&v->lock);
		ret = vmm_start_locked(v, err);
		pthread_mutex_unlock(&v->lock);
		if (ret)
			log_err("%s", err);
	} else if (!ret && !vmm_wait_start(v, &why)) {
		ret = -ECANCELED;
	}
	if (!ret) {
		why = vm_run(v->vm);
		vm_log_exit(v->vm, why);
	}
	api_server_stop(srv); /* no op runs past here */
	ttl_up = v->deadline_ns && vm_now_ns() >= v->deadline_ns && why == VM_EXIT_HOST_STOP;
	if (v->vm && v->cfg.stats)
		vm_print_stats(v->vm, stderr);
	vmm_write_state(v, "Stopped", vm_exit_status(why),
			ttl_up ? "its time to live is up" :
			v->vm && v->vm->exit_msg[0] ? v->vm->exit_msg :
			err[0] ? err : "it did not start");
	vmm_fini(v);
	/* The VM's time is up: it is destroyed, state directory and all. */
	if (ttl_up && o->state_dir) {
		ret = state_rmtree(o->state_dir);
		if (ret)
			log_warn("TTL: cannot remove %s: %s", o->state_dir, strerror(-ret));
	}
	free(v);
	return why;
}
