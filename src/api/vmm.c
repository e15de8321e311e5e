/*
 * vmm.c: the VM process under management (see vmm.h).
 *
 * Owns: the API backend (struct api_ops) as thin posters of struct
 * vm_action (action.h), the VMM thread's runner of those actions (the
 * configuration built up through the API, InstanceStart, pause, resume,
 * Ctrl-Alt-Del, the config and stats reads, snapshot create and load,
 * with the host-wide snapshot store of cli/state.h), the wait for the start
 * (actions, stop signals, TTL), DIR/state.json and the TTL's removal of
 * the state directory.
 * Does not own the VM's run loop (vm.c calls back through vm_host.on_action)
 * nor request parsing (api.c).
 *
 * Threads: the API server's thread runs the op_* functions, which only
 * fill an action, post it and wait; everything else, struct vmm included,
 * belongs to the VMM thread (the caller of vmm_run), so it needs no lock.
 * The one exception is shown_state, an atomic copy of the state that GET /
 * reports once the action queue is closed (the VM is stopping).
 */
#include "api/vmm.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/action.h"
#include "api/api.h"
#include "cli/state.h"
#include "log.h"
#include "logfile.h"
#include "sandbox/seccomp.h"
#include "snapshot/migrate.h"
#include "stats.h"
#include "vm.h"

/* boot_args leave room for the " root=/dev/vdX rw" a root drive appends. */
#define VMM_ARGS_MAX (VM_CMDLINE_MAX - 64)

_Static_assert(API_PATH_MAX <= VM_PATH_MAX, "API paths fit vm_config's");
_Static_assert(API_IFNAME_MAX <= sizeof(((struct vnet_opts *)0)->tap), "TAP names fit");

struct vmm {
	const struct vmm_opts *o;
	enum api_state state;
	atomic_int shown_state;   /* state, for GET / after the queue closed (any thread) */
	uint64_t deadline_ns;     /* vm_now_ns() at which the TTL ends, 0: none */
	time_t started, created;  /* wall clock: VM start, process start */

	/* The configuration; cmdline is the boot args (root= is added at the start). */
	struct vm_config cfg;
	struct vm_config scratch; /* a candidate change, then the config booted */
	char disk_id[VM_MAX_DISKS][API_ID_MAX];
	int root_disk;            /* index of the is_root_device drive, or -1 */
	char net_id[VM_MAX_NETS][API_ID_MAX];

	struct action_queue q;
	int q_inited;
	struct vm_host host;
	struct vm *vm;            /* after a successful start */
	char snap_store[PATH_MAX]; /* state_snapshot_store, found before any filter; "" if none */
	char snap_store_err[STATE_ERR_MAX];
	char restore_mem[API_PATH_MAX]; /* host.restore_mem of a loaded snapshot */
	struct conmux mux;
	int mux_open;
	int mig_lfd;              /* --incoming's listening socket, or -1 */
	char mig_path[MIG_PATH_MAX];
};

static const char *const vmm_state_names[] = {
	[API_STATE_NOT_STARTED] = "Not started",
	[API_STATE_RUNNING] = "Running",
	[API_STATE_PAUSED] = "Paused",
};

/* ---- state.json ---------------------------------------------------------- */

/* Write DIR/state.json atomically (state.c). */
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
	atomic_store(&v->shown_state, (int)s);
	vmm_write_state(v, vmm_state_names[s], 0, NULL);
}

/* ---- the API thread: ops post actions ------------------------------------ */

/* Post a and wait; on error its message goes to err (API_ERR_MAX bytes). */
static int vmm_post(void *ctx, struct vm_action *a, char *err)
{
	struct vmm *v = ctx;
	int ret = action_post(&v->q, a);

	if (ret && err)
		snprintf(err, API_ERR_MAX, "%s", a->err);
	return ret;
}

static enum api_state op_state(void *ctx)
{
	struct vmm *v = ctx;
	struct vm_action a = { .kind = VM_ACTION_GET_STATE };

	if (action_post(&v->q, &a))
		return (enum api_state)atomic_load(&v->shown_state);
	return a.state;
}

static int op_get_machine(void *ctx, struct api_machine *m)
{
	struct vm_action a = { .kind = VM_ACTION_GET_MACHINE, .arg.machine = m };

	return vmm_post(ctx, &a, NULL);
}

static int op_set_boot(void *ctx, const struct api_boot *b, char *err)
{
	struct vm_action a = { .kind = VM_ACTION_SET_BOOT, .arg.boot = b };

	return vmm_post(ctx, &a, err);
}

static int op_set_machine(void *ctx, const struct api_machine *m, char *err)
{
	/* The payload is const for this kind; the union's member is not. */
	struct api_machine copy = *m;
	struct vm_action a = { .kind = VM_ACTION_SET_MACHINE, .arg.machine = &copy };

	return vmm_post(ctx, &a, err);
}

static int op_set_drive(void *ctx, const struct api_drive *d, char *err)
{
	struct vm_action a = { .kind = VM_ACTION_SET_DRIVE, .arg.drive = d };

	return vmm_post(ctx, &a, err);
}

static int op_set_net(void *ctx, const struct api_net *n, char *err)
{
	struct vm_action a = { .kind = VM_ACTION_SET_NET, .arg.net = n };

	return vmm_post(ctx, &a, err);
}

static int vmm_post_simple(void *ctx, enum vm_action_kind kind, char *err)
{
	struct vm_action a = { .kind = kind };

	return vmm_post(ctx, &a, err);
}

static int op_start(void *ctx, char *err) { return vmm_post_simple(ctx, VM_ACTION_START, err); }
static int op_ctrl_alt_del(void *ctx, char *err) { return vmm_post_simple(ctx, VM_ACTION_CTRL_ALT_DEL, err); }
static int op_pause(void *ctx, char *err) { return vmm_post_simple(ctx, VM_ACTION_PAUSE, err); }
static int op_resume(void *ctx, char *err) { return vmm_post_simple(ctx, VM_ACTION_RESUME, err); }

static int op_vm_config(void *ctx, json_object *obj, char *err)
{
	struct vm_action a = { .kind = VM_ACTION_GET_CONFIG, .arg.obj = obj };

	return vmm_post(ctx, &a, err);
}

static int op_stats(void *ctx, json_object *obj, char *err)
{
	struct vm_action a = { .kind = VM_ACTION_GET_STATS, .arg.obj = obj };

	return vmm_post(ctx, &a, err);
}

static int op_snapshot_create(void *ctx, const struct api_snapshot_create *c, char *err)
{
	struct vm_action a = { .kind = VM_ACTION_SNAP_CREATE, .arg.snap_create = c };

	return vmm_post(ctx, &a, err);
}

static int op_snapshot_load(void *ctx, const struct api_snapshot_load *l, char *err)
{
	struct vm_action a = { .kind = VM_ACTION_SNAP_LOAD, .arg.snap_load = l };

	return vmm_post(ctx, &a, err);
}

static int op_migrate(void *ctx, const struct api_migrate *m, json_object *reply, char *err)
{
	struct vm_action_migrate am = { .m = m, .reply = reply };
	struct vm_action a = { .kind = VM_ACTION_MIGRATE, .arg.migrate = &am };

	return vmm_post(ctx, &a, err);
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
	.snapshot_create = op_snapshot_create,
	.snapshot_load = op_snapshot_load,
	.migrate = op_migrate,
};

/* ---- the VMM thread: configuration before the start ---------------------- */

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

/* v->scratch is v->cfg with a change: keep it if it passes vm_config_check. */
static int vmm_commit(struct vmm *v, char *err)
{
	int ret = vm_config_check(&v->scratch, VM_CONFIG_NO_KERNEL | VM_CONFIG_NO_HOST, err,
				  API_ERR_MAX);

	if (!ret)
		v->cfg = v->scratch;
	return ret;
}

static int vmm_set_boot(struct vmm *v, const struct api_boot *b, char *err)
{
	struct vm_config *c = &v->scratch;
	int ret;

	ret = vmm_configurable(v, err);
	if (!ret)
		ret = vmm_check_file("kernel_image_path", b->kernel, err);
	if (!ret && b->initrd[0])
		ret = vmm_check_file("initrd_path", b->initrd, err);
	if (!ret && b->has_args && strlen(b->args) >= VMM_ARGS_MAX) {
		snprintf(err, API_ERR_MAX, "boot_args: longer than %d bytes", VMM_ARGS_MAX);
		ret = -EINVAL;
	}
	if (ret)
		return ret;
	*c = v->cfg;
	if (vm_config_set_str(c->kernel, sizeof(c->kernel), b->kernel) ||
	    vm_config_set_str(c->initrd, sizeof(c->initrd), b->initrd) ||
	    (b->has_args && vm_config_set_str(c->cmdline, sizeof(c->cmdline),
					      b->args[0] ? b->args : VM_DEFAULT_CMDLINE))) {
		snprintf(err, API_ERR_MAX, "boot-source: a path or boot_args is too long");
		return -EINVAL;
	}
	return vmm_commit(v, err);
}

static int vmm_set_machine(struct vmm *v, const struct api_machine *m, char *err)
{
	int ret = vmm_configurable(v, err);

	if (ret)
		return ret;
	/* Representable in bytes; the limits proper are vm_config_check's. */
	if (m->mem_size_mib > (UINT64_MAX >> 21)) {
		snprintf(err, API_ERR_MAX, "mem_size_mib %llu: too small or too large",
			 (unsigned long long)m->mem_size_mib);
		return -EINVAL;
	}
	v->scratch = v->cfg;
	v->scratch.ncpus = m->vcpu_count;
	v->scratch.mem_bytes = m->mem_size_mib << 20;
	return vmm_commit(v, err);
}

static int vmm_find_id(char (*ids)[API_ID_MAX], unsigned n, const char *id)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return (int)i;
	return -1;
}

static int vmm_set_drive(struct vmm *v, const struct api_drive *d, char *err)
{
	struct vm_config *c = &v->scratch;
	int ret, i;

	ret = vmm_configurable(v, err);
	if (!ret)
		ret = vmm_check_file("path_on_host", d->path, err);
	if (!ret && d->is_root && v->root_disk >= 0 && strcmp(v->disk_id[v->root_disk], d->id)) {
		snprintf(err, API_ERR_MAX, "drive %s is already the root device", v->disk_id[v->root_disk]);
		ret = -EINVAL;
	}
	if (ret)
		return ret;
	i = vmm_find_id(v->disk_id, v->cfg.nr_disks, d->id);
	/* The array's bound; the limits on counts are vm_config_check's. */
	if (i < 0 && v->cfg.nr_disks == VM_MAX_DISKS) {
		snprintf(err, API_ERR_MAX, "too many devices: at most %d drives, %d with interfaces",
			 VM_MAX_DISKS, VM_MAX_VIRTIO_EXTRA);
		return -ENOSPC;
	}
	*c = v->cfg;
	if (i < 0)
		i = (int)c->nr_disks++;
	memset(&c->disks[i], 0, sizeof(c->disks[i]));
	c->disks[i].read_only = d->read_only;
	/* cache_type Unsafe and Writeback both use the page cache; FLUSH is honoured either way. */
	if (vm_config_set_str(c->disks[i].path, sizeof(c->disks[i].path), d->path)) {
		snprintf(err, API_ERR_MAX, "path_on_host: too long");
		return -EINVAL;
	}
	ret = vmm_commit(v, err);
	if (ret)
		return ret;
	snprintf(v->disk_id[i], API_ID_MAX, "%s", d->id);
	if (d->is_root)
		v->root_disk = i;
	else if (v->root_disk == i)
		v->root_disk = -1;
	return 0;
}

static int vmm_set_net(struct vmm *v, const struct api_net *n, char *err)
{
	struct vm_config *c = &v->scratch;
	int ret, i;

	ret = vmm_configurable(v, err);
	if (ret)
		return ret;
	i = vmm_find_id(v->net_id, v->cfg.nr_nets, n->id);
	if (i < 0 && v->cfg.nr_nets == VM_MAX_NETS) {
		snprintf(err, API_ERR_MAX, "too many devices: at most %d interfaces, %d with drives",
			 VM_MAX_NETS, VM_MAX_VIRTIO_EXTRA);
		return -ENOSPC;
	}
	*c = v->cfg;
	if (i < 0)
		i = (int)c->nr_nets++;
	memset(&c->nets[i], 0, sizeof(c->nets[i]));
	if (vm_config_set_str(c->nets[i].tap, sizeof(c->nets[i].tap), n->host_dev)) {
		snprintf(err, API_ERR_MAX, "host_dev_name: too long");
		return -EINVAL;
	}
	c->nets[i].has_mac = n->has_mac;
	memcpy(c->nets[i].mac, n->mac, sizeof(c->nets[i].mac));
	ret = vmm_commit(v, err);
	if (!ret)
		snprintf(v->net_id[i], API_ID_MAX, "%s", n->id);
	return ret;
}

/* ---- the VMM thread: start, pause, resume, Ctrl-Alt-Del ------------------ */

/*
 * Create the VM from the configuration, here on the VMM thread. 0, or
 * -errno with the reason in err (vm_create logs it; the log's last error is
 * this thread's, so it is the reason).
 */
static int vmm_start(struct vmm *v, char *err)
{
	struct vm_config *c = &v->scratch;
	struct vm *vm;
	int ret;

	if (v->state != API_STATE_NOT_STARTED) {
		snprintf(err, API_ERR_MAX, "the VM has already been started");
		return -EBUSY;
	}
	if (!v->cfg.kernel[0]) {
		snprintf(err, API_ERR_MAX, "no boot source: PUT /boot-source first");
		return -EINVAL;
	}
	*c = v->cfg;
	if (v->root_disk >= 0) {
		size_t len = strlen(c->cmdline);
		int n = snprintf(c->cmdline + len, sizeof(c->cmdline) - len, " root=/dev/vd%c %s",
				 'a' + v->root_disk, c->disks[v->root_disk].read_only ? "ro" : "rw");

		if (n < 0 || (size_t)n >= sizeof(c->cmdline) - len) {
			snprintf(err, API_ERR_MAX, "boot_args: no room left for root=/dev/vd%c",
				 'a' + v->root_disk);
			return -EINVAL;
		}
	}
	{
		/* The host's limits, at the start: the API may have set any mem_size_mib. */
		char why[STATE_ERR_MAX];

		ret = state_limits_enforce(c->mem_bytes, v->o->state_dir, why);
		if (ret) {
			snprintf(err, API_ERR_MAX, "cannot start the VM: %.200s", why);
			return ret;
		}
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		snprintf(err, API_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	log_clear_last_error();
	ret = vm_create(vm, c, &v->host);
	if (ret) {
		snprintf(err, API_ERR_MAX, "cannot start the VM: %s",
			 log_last_error()[0] ? log_last_error() : strerror(-ret));
		vm_destroy(vm);
		free(vm);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	if (v->o->name) /* the VM id its snapshots carry */
		snprintf(vm->snap_id, sizeof(vm->snap_id), "%s", v->o->name);
	v->vm = vm;
	v->started = time(NULL);
	vmm_set_state(v, API_STATE_RUNNING);
	return 0;
}

static int vmm_running(struct vmm *v, char *err)
{
	if (v->state != API_STATE_NOT_STARTED && v->vm)
		return 0;
	snprintf(err, API_ERR_MAX, "the VM has not been started");
	return -EBUSY;
}

static int vmm_ctrl_alt_del(struct vmm *v, char *err)
{
	int ret = vmm_running(v, err);

	if (ret)
		return ret;
	ret = vm_send_ctrl_alt_del(v->vm);
	if (ret == -ENOSPC) {
		snprintf(err, API_ERR_MAX, "the guest's keyboard buffer is full");
		return -EBUSY;
	}
	if (ret)
		snprintf(err, API_ERR_MAX, "SendCtrlAltDel: %s", strerror(-ret));
	return ret;
}

static int vmm_pause(struct vmm *v, char *err)
{
	int ret = vmm_running(v, err);

	if (ret || v->state != API_STATE_RUNNING)
		return ret;
	ret = vm_pause(v->vm);
	if (ret == -ETIMEDOUT)
		snprintf(err, API_ERR_MAX, "a vCPU did not stop within %d ms: the VM is still running",
			 VM_PAUSE_TIMEOUT_MS);
	else if (ret)
		snprintf(err, API_ERR_MAX, "the VM is stopping");
	if (ret)
		return ret;
	vmm_set_state(v, API_STATE_PAUSED);
	return 0;
}

static int vmm_resume(struct vmm *v, char *err)
{
	int ret = vmm_running(v, err);

	if (ret || v->state != API_STATE_PAUSED)
		return ret;
	vm_resume(v->vm);
	vmm_set_state(v, API_STATE_RUNNING);
	return 0;
}

/* ---- the VMM thread: snapshots ------------------------------------------- */

static int vmm_snap_store(struct vmm *v, char *err)
{
	if (v->snap_store[0])
		return 0;
	snprintf(err, API_ERR_MAX, "no snapshot store: %.200s", v->snap_store_err);
	return -ENOENT;
}

/* PUT /snapshot/create: the VM paused (api.c checked, the state may have moved since). */
static int vmm_snapshot_create(struct vmm *v, const struct api_snapshot_create *c, char *err)
{
	int ret = vmm_running(v, err);

	if (!ret && v->state != API_STATE_PAUSED) {
		snprintf(err, API_ERR_MAX, "cannot create a snapshot: the VM must be Paused first");
		ret = -EBUSY;
	}
	if (!ret)
		ret = vmm_snap_store(v, err);
	if (ret)
		return ret;
	log_clear_last_error();
	ret = vm_snapshot_files(v->vm, c->snapshot_path, c->mem_file_path, v->snap_store, c->diff,
				err, API_ERR_MAX);
	if (ret)
		log_warn("snapshot to %s: %s", c->snapshot_path, err);
	else
		log_info("%s snapshot, generation %llu: %s, %s", c->diff ? "diff" : "full",
			 (unsigned long long)v->vm->snap_generation, c->snapshot_path,
			 c->mem_file_path);
	return ret;
}

/*
 * PUT /snapshot/load, before the start: the VM built from the
 * configuration the state file carries (the sandbox setting stays this
 * process's), its RAM mapped from the memory file, its state loaded.
 */
static int vmm_snapshot_load(struct vmm *v, const struct api_snapshot_load *l, char *err)
{
	struct vm_config *c = &v->scratch;
	char why[STATE_ERR_MAX];
	struct vm *vm;
	int ret;

	if (v->state != API_STATE_NOT_STARTED || v->vm) {
		snprintf(err, API_ERR_MAX, "the VM has already been started");
		return -EBUSY;
	}
	ret = vmm_snap_store(v, err);
	if (!ret)
		ret = vm_snapshot_config(l->snapshot_path, v->snap_store, c, err, API_ERR_MAX);
	if (ret)
		return ret == -ENOMEM ? ret : -EINVAL;
	c->seccomp = v->cfg.seccomp;
	ret = state_limits_enforce(c->mem_bytes, v->o->state_dir, why);
	if (ret) {
		snprintf(err, API_ERR_MAX, "cannot load the snapshot: %.200s", why);
		return ret;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		snprintf(err, API_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	snprintf(v->restore_mem, sizeof(v->restore_mem), "%s", l->mem_file_path);
	v->host.restore_mem = v->restore_mem;
	log_clear_last_error();
	ret = vm_create(vm, c, &v->host);
	if (ret)
		snprintf(err, API_ERR_MAX, "cannot build the VM of the snapshot: %s",
			 log_last_error()[0] ? log_last_error() : strerror(-ret));
	else
		ret = vm_restore_files(vm, l->snapshot_path, v->restore_mem, v->snap_store,
				       l->allow_rollback ? VM_RESTORE_ALLOW_ROLLBACK : 0, err,
				       API_ERR_MAX);
	v->host.restore_mem = NULL;
	if (ret) {
		log_warn("snapshot load from %s: %s", l->snapshot_path, err);
		vm_destroy(vm);
		free(vm);
		/* A refused rollback (-ESTALE) or a bad file is the client's to fix: 400. */
		return ret == -ENOMEM ? ret : ret == -ESTALE || ret == -EPERM ? -EPERM : -EINVAL;
	}
	if (v->o->name)
		snprintf(vm->snap_id, sizeof(vm->snap_id), "%s", v->o->name);
	if (!l->resume_vm)
		vm_start_paused(vm);
	v->cfg = *c;
	v->vm = vm;
	v->started = time(NULL);
	log_info("loaded %s (generation %llu)%s", l->snapshot_path,
		 (unsigned long long)vm->snap_generation, l->resume_vm ? "" : ", paused");
	vmm_set_state(v, l->resume_vm ? API_STATE_RUNNING : API_STATE_PAUSED);
	return 0;
}

/* ---- the VMM thread: live migration (vm_migrate.c) ----------------------- */

/*
 * PUT /migrate: send the VM to the target at m->to. The VMM thread does the
 * whole migration (console and API wait; the vCPUs run through the pre-copy).
 * On the target's ACK the VM stops with VM_EXIT_MIGRATED (exit status 0);
 * on any failure it runs on, paused only if it was.
 */
static int vmm_migrate(struct vmm *v, const struct api_migrate *m, json_object *reply, char *err)
{
	char path[MIG_PATH_MAX];
	struct vm_migrate_stats st;
	int fd, ret = vmm_running(v, err);

	if (!ret)
		ret = vmm_snap_store(v, err);
	if (!ret)
		ret = mig_parse_addr(m->to, path, sizeof(path), err, API_ERR_MAX);
	if (ret)
		return ret == -EPROTONOSUPPORT ? -EINVAL : ret;
	fd = mig_connect(path);
	if (fd < 0) {
		snprintf(err, API_ERR_MAX, "cannot connect to %.200s: %s", m->to, strerror(-fd));
		return -EIO;
	}
	log_clear_last_error();
	ret = vm_migrate_out(v->vm, fd, v->snap_store, v->state == API_STATE_PAUSED, &st, err,
			     API_ERR_MAX);
	close(fd);
	if (ret) {
		log_warn("migration to %s failed after %llu bytes: %s; the VM runs on", m->to,
			 (unsigned long long)st.bytes, err);
		return -EIO;
	}
	json_object_object_add(reply, "to", json_object_new_string(m->to));
	json_object_object_add(reply, "downtime_ms", json_object_new_double(st.downtime_ns / 1e6));
	json_object_object_add(reply, "total_ms", json_object_new_double(st.total_ns / 1e6));
	json_object_object_add(reply, "bytes", json_object_new_int64((int64_t)st.bytes));
	json_object_object_add(reply, "rounds", json_object_new_int((int)st.rounds));
	json_object_object_add(reply, "precopy", json_object_new_boolean(st.precopy));
	vm_request_stop(v->vm, VM_EXIT_MIGRATED, "migrated to %s: downtime %.1f ms, %llu bytes in %u rounds",
			m->to, st.downtime_ns / 1e6, (unsigned long long)st.bytes, st.rounds);
	return 0;
}

/*
 * --incoming: take the one connection, build the VM from the stream's
 * configuration (without a kernel), fill it, load its state, ACK. The
 * socket path is removed once a source connected.
 */
static int vmm_incoming(struct vmm *v, char *err)
{
	struct vm_config *c = &v->scratch;
	struct vm_migrate_in in;
	char why[STATE_ERR_MAX];
	struct vm *vm = NULL;
	int fd, ret;

	fd = accept4(v->mig_lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		snprintf(err, API_ERR_MAX, "accepting the migration: %s", strerror(errno));
		return -errno;
	}
	close(v->mig_lfd);
	v->mig_lfd = -1;
	unlink(v->mig_path);
	ret = vmm_snap_store(v, err);
	if (!ret)
		ret = vm_migrate_recv_header(fd, c, &in, err, API_ERR_MAX);
	if (!ret) {
		c->seccomp = v->cfg.seccomp;
		ret = state_limits_enforce(c->mem_bytes, v->o->state_dir, why);
		if (ret)
			snprintf(err, API_ERR_MAX, "cannot take the VM: %.200s", why);
	}
	if (!ret) {
		vm = calloc(1, sizeof(*vm));
		ret = vm ? 0 : -ENOMEM;
	}
	if (!ret) {
		v->host.incoming = 1;
		log_clear_last_error();
		ret = vm_create(vm, c, &v->host);
		v->host.incoming = 0;
		if (ret)
			snprintf(err, API_ERR_MAX, "cannot build the migrated VM: %s",
				 log_last_error()[0] ? log_last_error() : strerror(-ret));
	}
	if (!ret)
		ret = vm_migrate_recv(vm, fd, &in, v->snap_store, err, API_ERR_MAX);
	close(fd);
	if (ret) {
		if (vm) {
			vm_destroy(vm);
			free(vm);
		}
		return ret;
	}
	if (v->o->name)
		snprintf(vm->snap_id, sizeof(vm->snap_id), "%s", v->o->name);
	v->cfg = *c;
	v->vm = vm;
	v->started = time(NULL);
	log_info("migrated in on %s (generation %llu of its lineage)", v->mig_path,
		 (unsigned long long)vm->snap_generation);
	vmm_set_state(v, API_STATE_RUNNING);
	return 0;
}

/* ---- the VMM thread: GET /vm/config and GET /stats ----------------------- */

static json_object *vmm_member(json_object *o, const char *k)
{
	json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/*
 * The configuration's JSON form (vmconfig.h) plus what only the API
 * has: drive and interface ids, the root drive, and Firecracker's fixed
 * machine-config fields.
 */
static int vmm_vm_config(struct vmm *v, json_object *obj, char *err)
{
	json_object *c = vm_config_to_jobj(&v->cfg), *mc, *drives, *nets;

	if (!c) {
		snprintf(err, API_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	mc = vmm_member(c, "machine-config");
	if (mc && !vmm_member(mc, "mem_size_mib"))
		json_object_object_add(mc, "mem_size_mib",
				       json_object_new_int64((int64_t)(v->cfg.mem_bytes >> 20)));
	if (mc) {
		json_object_object_add(mc, "smt", json_object_new_boolean(0));
		json_object_object_add(mc, "track_dirty_pages", json_object_new_boolean(0));
	}
	drives = vmm_member(c, "drives");
	for (unsigned i = 0; drives && i < v->cfg.nr_disks; i++) {
		json_object *d = json_object_array_get_idx(drives, i);

		json_object_object_add(d, "drive_id",
				       json_object_new_string(v->disk_id[i][0] ? v->disk_id[i] : "cli"));
		json_object_object_add(d, "is_root_device", json_object_new_boolean(v->root_disk == (int)i));
	}
	nets = vmm_member(c, "network-interfaces");
	for (unsigned i = 0; nets && i < v->cfg.nr_nets; i++)
		json_object_object_add(json_object_array_get_idx(nets, i), "iface_id",
				       json_object_new_string(v->net_id[i][0] ? v->net_id[i] : "cli"));
	json_object_object_foreach(c, key, val)
		json_object_object_add(obj, key, json_object_get(val));
	json_object_put(c);
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
	/* Writes the accelerator buffered without an exit (not in "exits"). */
	json_object_object_add(o, "coalesced", json_object_new_int64(vmm_load(&c->stats.coalesced)));
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

/*
 * Every device's counters ("device_stats"), and the old "virtio" array:
 * one entry per virtio-mmio transport with the counters it reports under
 * the old names (irq, requests, notifies, interrupts).
 */
static void vmm_dev_stats(struct vm *vm, json_object *all, json_object *virtio)
{
	static const char *const virtio_keys[] = { "irq", "requests", "notifies", "interrupts" };

	for (unsigned i = 0; i < vm->devs.nr && i < DEVLIST_MAX; i++) {
		struct dev *d = &vm->devs.dev[i];
		struct dev_stat st[DEV_MAX_STATS];
		unsigned n = d->ops->stats(d->state, st, DEV_MAX_STATS);
		json_object *o = json_object_new_object(), *counters = json_object_new_object();
		int is_virtio = !strcmp(d->ops->kind, "virtio-mmio");
		json_object *vo = is_virtio ? json_object_new_object() : NULL;

		if (n > DEV_MAX_STATS)
			n = DEV_MAX_STATS;
		json_object_object_add(o, "name", json_object_new_string(d->name));
		json_object_object_add(o, "kind", json_object_new_string(d->ops->kind));
		if (vo)
			json_object_object_add(vo, "name", json_object_new_string(d->name));
		for (unsigned k = 0; k < n; k++) {
			if (!st[k].key)
				continue;
			json_object_object_add(counters, st[k].key, json_object_new_uint64(st[k].value));
			for (size_t j = 0; vo && j < sizeof(virtio_keys) / sizeof(virtio_keys[0]); j++)
				if (!strcmp(st[k].key, virtio_keys[j]))
					json_object_object_add(vo, st[k].key,
							       json_object_new_uint64(st[k].value));
		}
		json_object_object_add(o, "counters", counters);
		json_object_array_add(all, o);
		if (vo)
			json_object_array_add(virtio, vo);
	}
}

static int vmm_stats(struct vmm *v, json_object *obj)
{
	json_object *vcpus = json_object_new_array(), *devs = json_object_new_array();
	json_object *dstats = json_object_new_array(), *virtio = json_object_new_array();
	int64_t rss, hwm;

	vmm_rss(&rss, &hwm);
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
		vmm_dev_stats(vm, dstats, virtio);
	}
	json_object_object_add(obj, "vcpus", vcpus);
	json_object_object_add(obj, "devices", devs);
	json_object_object_add(obj, "device_stats", dstats);
	json_object_object_add(obj, "virtio", virtio);
	return 0;
}

/* ---- the VMM thread: running actions ------------------------------------- */

/* Run one action (action_run_pending's callback). 1 after a start: stop taking actions. */
static int vmm_exec(void *ctx, struct vm_action *a)
{
	struct vmm *v = ctx;

	switch (a->kind) {
	case VM_ACTION_GET_STATE:
		a->state = v->state;
		break;
	case VM_ACTION_GET_MACHINE:
		a->arg.machine->vcpu_count = v->cfg.ncpus;
		a->arg.machine->mem_size_mib = v->cfg.mem_bytes >> 20;
		break;
	case VM_ACTION_SET_BOOT:
		a->ret = vmm_set_boot(v, a->arg.boot, a->err);
		break;
	case VM_ACTION_SET_MACHINE:
		a->ret = vmm_set_machine(v, a->arg.machine, a->err);
		break;
	case VM_ACTION_SET_DRIVE:
		a->ret = vmm_set_drive(v, a->arg.drive, a->err);
		break;
	case VM_ACTION_SET_NET:
		a->ret = vmm_set_net(v, a->arg.net, a->err);
		break;
	case VM_ACTION_START:
		a->ret = vmm_start(v, a->err);
		/* The VM's own loop (vm_run) takes the next actions. */
		return a->ret == 0;
	case VM_ACTION_CTRL_ALT_DEL:
		a->ret = vmm_ctrl_alt_del(v, a->err);
		break;
	case VM_ACTION_PAUSE:
		a->ret = vmm_pause(v, a->err);
		break;
	case VM_ACTION_RESUME:
		a->ret = vmm_resume(v, a->err);
		break;
	case VM_ACTION_GET_CONFIG:
		a->ret = vmm_vm_config(v, a->arg.obj, a->err);
		break;
	case VM_ACTION_GET_STATS:
		a->ret = vmm_stats(v, a->arg.obj);
		break;
	case VM_ACTION_SNAP_CREATE:
		a->ret = vmm_snapshot_create(v, a->arg.snap_create, a->err);
		break;
	case VM_ACTION_SNAP_LOAD:
		a->ret = vmm_snapshot_load(v, a->arg.snap_load, a->err);
		/* As a start: the VM's own loop takes the next actions. */
		return a->ret == 0;
	case VM_ACTION_MIGRATE:
		a->ret = vmm_migrate(v, a->arg.migrate->m, a->arg.migrate->reply, a->err);
		break;
	default:
		snprintf(a->err, sizeof(a->err), "unknown action %d", (int)a->kind);
		a->ret = -ENOTSUP;
		break;
	}
	return 0;
}

/* vm_host.on_action: vm_run's loop found the action fd readable. */
static void vmm_on_action(void *ctx)
{
	struct vmm *v = ctx;

	action_run_pending(&v->q, vmm_exec, v);
}

/*
 * Before the start: run actions until one starts the VM, or a stop signal
 * or the TTL ends the process. Stop signals are blocked (vmm_run) and taken
 * only in this ppoll. 1 when the VM was created, 0 to end (*why set).
 */
static int vmm_wait_start(struct vmm *v, const sigset_t *waitmask, enum vm_exit *why)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = action_queue_fd(&v->q), .events = POLLIN },
				       { .fd = v->mig_lfd, .events = POLLIN } };
		struct timespec ts;
		int r = ppoll(p, v->mig_lfd >= 0 ? 2 : 1, vm_timeout_until(v->deadline_ns, &ts),
			      waitmask);

		if (r > 0 && v->mig_lfd >= 0 && (p[1].revents & POLLIN)) {
			char err[API_ERR_MAX] = "";

			if (!vmm_incoming(v, err))
				return 1;
			log_err("incoming migration failed: %s", err);
			*why = VM_EXIT_VMM_ERROR;
			return 0;
		}
		if (r > 0) {
			action_run_pending(&v->q, vmm_exec, v);
			if (v->vm)
				return 1;
			continue;
		}
		if (r == 0 && v->deadline_ns && vm_now_ns() >= v->deadline_ns) {
			log_warn("stopped before it started: its time to live is up");
			*why = VM_EXIT_HOST_STOP;
			return 0;
		}
		if (r < 0 && errno == EINTR) {
			log_warn("stopped by a signal before the VM started");
			*why = VM_EXIT_HOST_STOP;
			return 0;
		}
		if (r < 0) {
			log_err("poll: %s", strerror(errno));
			*why = VM_EXIT_VMM_ERROR;
			return 0;
		}
	}
}

/* ---- the process --------------------------------------------------------- */

static int vmm_init(struct vmm *v, const struct vm_config *cfg, const struct vmm_opts *o)
{
	int ret;

	v->o = o;
	v->cfg = *cfg;
	v->root_disk = -1;
	v->mig_lfd = -1;
	v->state = API_STATE_NOT_STARTED;
	atomic_init(&v->shown_state, API_STATE_NOT_STARTED);
	v->created = time(NULL);
	if (o->ttl_secs)
		v->deadline_ns = vm_now_ns() + o->ttl_secs * 1000000000ULL;
	ret = action_queue_init(&v->q);
	if (ret)
		return ret;
	v->q_inited = 1;
	vm_host_defaults(&v->host);
	v->host.deadline_ns = v->deadline_ns;
	v->host.action_fd = action_queue_fd(&v->q);
	v->host.on_action = vmm_on_action;
	v->host.action_ctx = v;
	/* Found (and ROOT created) now, before the main thread's filter forbids mkdir of ROOT. */
	if (state_snapshot_store(v->snap_store, sizeof(v->snap_store), v->snap_store_err))
		v->snap_store[0] = '\0';
	if (o->incoming) {
		char why[API_ERR_MAX];

		ret = mig_parse_addr(o->incoming, v->mig_path, sizeof(v->mig_path), why, sizeof(why));
		if (!ret)
			ret = v->mig_lfd = mig_listen(v->mig_path);
		if (ret < 0) {
			log_err("--incoming %s: %s", o->incoming, ret == -EPROTONOSUPPORT || ret == -EINVAL
				? why : strerror(-ret));
			return ret;
		}
		ret = 0;
		log_info("waiting for a migration on %s", v->mig_path);
	}
	if (o->state_dir) {
		char sock[PATH_MAX], log[PATH_MAX], why[STATE_ERR_MAX];

		/* Ours and not writable by others, or another user could redirect our writes. */
		ret = state_dir_check(o->state_dir, why);
		if (ret) {
			log_err("%s", why);
			return ret;
		}
		snprintf(sock, sizeof(sock), "%s/console.sock", o->state_dir);
		snprintf(log, sizeof(log), "%s/serial.log", o->state_dir);
		ret = conmux_open(&v->mux, sock, log, o->log_max);
		if (ret)
			return ret;
		v->mux_open = 1;
		v->host.mux = &v->mux;
	}
	return 0;
}

static void vmm_fini(struct vmm *v)
{
	if (v->vm) {
		vm_destroy(v->vm);
		free(v->vm);
		v->vm = NULL;
	}
	if (v->mig_lfd >= 0) {
		close(v->mig_lfd);
		unlink(v->mig_path);
	}
	if (v->mux_open)
		conmux_close(&v->mux);
	if (v->q_inited)
		action_queue_destroy(&v->q);
}

enum vm_exit vmm_run(const struct vm_config *cfg, const struct vmm_opts *o)
{
	char sock[PATH_MAX], err[API_ERR_MAX] = "";
	struct api_server *srv = NULL;
	enum vm_exit why = VM_EXIT_VMM_ERROR;
	sigset_t old, waitmask;
	struct api api;
	struct logfile_capture cap = { .active = 0 };
	struct vmm *v;
	int ret, ttl_up;

	/* Two configs of ~40 KiB each: on the heap. */
	v = calloc(1, sizeof(*v));
	if (!v) {
		log_err("out of memory");
		return VM_EXIT_VMM_ERROR;
	}
	/*
	 * Stop signals are blocked before any thread exists (the API server's
	 * inherits the mask), so that only this thread's ppoll (then vm_run's)
	 * takes them; they stay blocked across the start.
	 */
	vm_block_stop_signals(&old, &waitmask);
	/*
	 * `vmon create` points our stderr at DIR/vmon.log: from here on it is
	 * capped and rotated like serial.log, so no log flood fills the disk.
	 */
	if (o->state_dir) {
		char log[PATH_MAX];

		snprintf(log, sizeof(log), "%s/vmon.log", o->state_dir);
		if (logfile_capture(&cap, log, o->log_max))
			log_warn("%s stays uncapped", log);
	}
	ret = vmm_init(v, cfg, o);
	if (!ret) {
		vmm_set_state(v, API_STATE_NOT_STARTED);
		api = (struct api){ .ops = &vmm_api_ops, .ctx = v, .id = o->name ? o->name : "vmon",
				     .seccomp = cfg->seccomp };
		if (o->api_sock)
			snprintf(sock, sizeof(sock), "%s", o->api_sock);
		else
			snprintf(sock, sizeof(sock), "%s/api.sock", o->state_dir);
		ret = api_server_start(&srv, sock, &api);
	}
	if (!ret && cfg->kernel[0]) {
		/* Started from the command line; actions posted meanwhile wait for vm_run's loop. */
		ret = vmm_start(v, err);
		if (ret)
			log_err("%s", err);
	} else if (!ret && !vmm_wait_start(v, &waitmask, &why)) {
		ret = -ECANCELED;
	}
	if (!ret) /* the main thread's filter, which the I/O and vCPU threads inherit */
		ret = seccomp_role_enter_main(v->cfg.seccomp);
	if (!ret) {
		why = vm_run(v->vm);
		vm_log_exit(v->vm, why);
	}
	/* Answer what is queued and refuse what comes: the server's thread must not wait on us. */
	if (v->q_inited)
		action_queue_close(&v->q, -ESRCH, "the VM is stopping");
	api_server_stop(srv); /* no op runs past here */
	ttl_up = v->deadline_ns && vm_now_ns() >= v->deadline_ns && why == VM_EXIT_HOST_STOP;
	if (v->vm && v->cfg.stats)
		vm_print_stats(v->vm, stderr);
	vmm_write_state(v, "Stopped", vm_exit_status(why),
			ttl_up ? "its time to live is up" :
			v->vm && v->vm->exit_msg[0] ? v->vm->exit_msg :
			err[0] ? err : "it did not start");
	vmm_fini(v);
	logfile_uncapture(&cap);
	/* The VM's time is up: it is destroyed, state directory and all. */
	if (ttl_up && o->state_dir) {
		ret = state_rmtree(o->state_dir);
		if (ret)
			log_warn("TTL: cannot remove %s: %s", o->state_dir, strerror(-ret));
	}
	free(v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return why;
}
