/*
 * vm_snapshot.c: a full snapshot of a paused VM into a directory, and its
 * restore into a VM that vm_create built from the same configuration but
 * has not run (see vm.h). The state file (snapshot/snapfile.h) and the
 * memory file (snapshot/snapmem.h) are two paths (the API's snapshot_path
 * and mem_file_path); the directory calls use DIR/state and DIR/memory.
 * The state file carries the VM's configuration (vmconfig's JSON), so a
 * process can build the VM from the snapshot alone (vm_snapshot_config).
 * The host key and the lineage record live under the state directory
 * (snapshot/lineage.h).
 *
 * Restore maps the memory file MAP_PRIVATE|MAP_FIXED over the RAM that
 * vm_create mapped, at the same host address, so the accelerator's slots
 * stay valid and pages are read on first touch.
 *
 * Threads: the VMM thread; the vCPUs paused (snapshot) or not yet started
 * (restore).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "snapshot/lineage.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapmem.h"
#include "vm.h"
#include "vmconfig.h"

#define VM_SNAP_PATH 4096

struct vm_snap_bufs {
	struct snap_out devs, machine, vcpu[256];
};

static void vm_snap_bufs_free(struct vm_snap_bufs *b, unsigned n)
{
	snap_out_free(&b->devs);
	snap_out_free(&b->machine);
	for (unsigned i = 0; i < n; i++)
		snap_out_free(&b->vcpu[i]);
}

static int vm_snap_collect(struct vm *vm, struct snapfile *f, struct vm_snap_bufs *b)
{
	int ret;

	snap_out_init(&b->devs);
	snap_out_init(&b->machine);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		snap_out_init(&b->vcpu[i]);
	ret = vm_save_devices(vm, &b->devs);
	if (!ret)
		ret = vm->accel->ops->vm_save(vm->accel, &b->machine);
	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = vm->accel->ops->vcpu_save(vm->vcpus[i].av, &b->vcpu[i]);
	if (!ret)
		ret = snapfile_add(f, SNAP_SEC_DEVICES, b->devs.buf, b->devs.len);
	if (!ret)
		ret = snapfile_add(f, SNAP_SEC_MACHINE, b->machine.buf, b->machine.len);
	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = snapfile_add(f, SNAP_SEC_VCPU + i, b->vcpu[i].buf, b->vcpu[i].len);
	return ret;
}

/*
 * After a snapshot: dirty logging on (first time) and its log cleared, so
 * the next diff holds exactly the pages the guest wrote since this one.
 */
static int vm_snap_track(struct vm *vm, uint64_t **bits)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < vm->mem.nr_regions; i++) {
		const struct gmem_region *r = &vm->mem.region[i];

		if (!vm->snap_dirty_on)
			ret = vm->accel->ops->dirty_track(vm->accel, i, r->gpa, r->size, r->hva, 1);
		if (!ret)
			ret = vm->accel->ops->dirty_get(vm->accel, i, bits[i]);
	}
	if (!ret)
		vm->snap_dirty_on = 1;
	return ret;
}

static int vm_snap_bits_alloc(struct vm *vm, uint64_t **bits)
{
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		bits[i] = calloc(1, snapmem_bitmap_bytes(vm->mem.region[i].size));
		if (!bits[i])
			return -ENOMEM;
	}
	return 0;
}

static int vm_snapshot_kind(struct vm *vm, const char *state_path, const char *mem_path,
			    const char *state_dir, int diff, char *err, size_t errlen)
{
	char *config = NULL;
	uint64_t *bits[GMEM_MAX_REGIONS] = { 0 };
	struct snap_out dirty;
	char path[VM_SNAP_PATH];
	uint8_t key[SNAPFILE_KEY_LEN];
	struct snapfile *f = calloc(1, sizeof(*f));
	struct vm_snap_bufs *b = calloc(1, sizeof(*b));
	struct snap_out o;
	int fd, ret;

	snap_out_init(&o);
	snap_out_init(&dirty);
	if (diff && !vm->snap_dirty_on) {
		snprintf(err, errlen, "a diff snapshot needs an earlier snapshot of this run to diff from");
		ret = -EINVAL;
		goto out;
	}
	if (!f || !b || vm->nr_vcpus > 256 || vm_snap_bits_alloc(vm, bits)) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = lineage_hostkey(state_dir, key, err, errlen);
	if (ret)
		goto out;
	if (!vm->snap_has_lineage) {
		lineage_new(vm->snap_lineage);
		vm->snap_has_lineage = 1;
	}
	memcpy(f->lineage, vm->snap_lineage, sizeof(f->lineage));
	f->arch = SNAP_ARCH_X86_64;
	f->kind = diff ? SNAP_KIND_DIFF : SNAP_KIND_FULL;
	f->parent_generation = diff ? vm->snap_generation : 0;
	f->nr_vcpus = vm->nr_vcpus;
	snprintf(f->vm_id, sizeof(f->vm_id), "%s", vm->snap_id[0] ? vm->snap_id : "vm");
	snprintf(path, sizeof(path), "%s", mem_path);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (diff) {
		/* The pages the guest wrote since the last snapshot (and the log cleared). */
		for (unsigned i = 0; !ret && i < vm->mem.nr_regions; i++)
			ret = vm->accel->ops->dirty_get(vm->accel, i, bits[i]);
		if (!ret)
			ret = snapmem_write_diff(&vm->mem, (const uint64_t *const *)bits, fd, f,
						 &dirty);
		if (!ret)
			ret = snapfile_add(f, SNAP_SEC_DIRTY, dirty.buf, dirty.len);
	} else {
		ret = snapmem_write_full(&vm->mem, fd, f);
	}
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (ret) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = vm_snap_collect(vm, f, b);
	if (ret) {
		snprintf(err, errlen, "saving device and vCPU state: %s", strerror(-ret));
		goto out;
	}
	/* The configuration the VM was built from: a restore builds the same VM from it. */
	config = vm_config_to_json(&vm->cfg);
	ret = config ? snapfile_add(f, SNAP_SEC_CONFIG, config, strlen(config)) : -ENOMEM;
	if (ret) {
		snprintf(err, errlen, "saving the configuration: %s", strerror(-ret));
		goto out;
	}
	/* The generation is taken last, so a failed snapshot uses none. */
	ret = lineage_next(state_dir, f->lineage, &f->generation);
	if (!ret)
		ret = snapfile_write(f, key, &o);
	snprintf(path, sizeof(path), "%s", state_path);
	if (!ret)
		ret = snapfile_write_path(path, o.buf, o.len);
	if (ret)
		snprintf(err, errlen, "writing %s: %s", path, strerror(-ret));
	else
		vm->snap_generation = f->generation;
	if (!ret && !diff) {
		ret = vm_snap_track(vm, bits);
		if (ret)
			snprintf(err, errlen, "turning dirty-page logging on: %s", strerror(-ret));
	}
out:
	free(config);
	sodium_memzero(key, sizeof(key));
	snap_out_free(&o);
	snap_out_free(&dirty);
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		free(bits[i]);
	if (b)
		vm_snap_bufs_free(b, vm->nr_vcpus <= 256 ? vm->nr_vcpus : 0);
	free(b);
	free(f);
	return ret;
}

/* Map fd's regions (laid out back to back, as snapmem writes them) over vm's RAM. */
static int vm_snap_map_fd(struct vm *vm, int fd)
{
	uint64_t off = 0;
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < 0 || (uint64_t)end < vm->mem.ram_size)
		return -EINVAL; /* shorter than RAM: the guest would SIGBUS on a touch */
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct gmem_region *r = &vm->mem.region[i];

		int ret = gmem_map_over(r, fd, off); /* kept out of core dumps, as all RAM */

		if (ret)
			return ret;
		off += r->size;
	}
	return 0;
}

int vm_snapshot_map_memory(struct vm *vm, const char *path)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: %s", path, strerror(errno));
		return ret;
	}
	ret = vm_snap_map_fd(vm, fd);
	close(fd);
	if (ret)
		log_err("mapping %s as guest RAM: %s", path,
			ret == -EINVAL ? "shorter than the VM's RAM" : strerror(-ret));
	return ret;
}

/* DIR/state and DIR/memory into st and mem (VM_SNAP_PATH bytes each); DIR created 0700 if mk. */
static int vm_snap_dir_paths(const char *dir, int mk, char *st, char *mem, char *err, size_t errlen)
{
	if (mk && mkdir(dir, 0700) && errno != EEXIST) {
		int ret = -errno;

		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return ret;
	}
	if ((size_t)snprintf(st, VM_SNAP_PATH, "%s/state", dir) >= VM_SNAP_PATH ||
	    (size_t)snprintf(mem, VM_SNAP_PATH, "%s/memory", dir) >= VM_SNAP_PATH) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

int vm_snapshot_files(struct vm *vm, const char *state_path, const char *mem_path,
		      const char *state_dir, int diff, char *err, size_t errlen)
{
	return vm_snapshot_kind(vm, state_path, mem_path, state_dir, diff, err, errlen);
}

int vm_snapshot(struct vm *vm, const char *dir, const char *state_dir, char *err, size_t errlen)
{
	char st[VM_SNAP_PATH], mem[VM_SNAP_PATH];
	int ret = vm_snap_dir_paths(dir, 1, st, mem, err, errlen);

	return ret ? ret : vm_snapshot_kind(vm, st, mem, state_dir, 0, err, errlen);
}

int vm_snapshot_diff(struct vm *vm, const char *dir, const char *state_dir, char *err,
		     size_t errlen)
{
	char st[VM_SNAP_PATH], mem[VM_SNAP_PATH];
	int ret = vm_snap_dir_paths(dir, 1, st, mem, err, errlen);

	return ret ? ret : vm_snapshot_kind(vm, st, mem, state_dir, 1, err, errlen);
}

static int vm_restore_memory(struct vm *vm, const char *path, const struct snapfile *f, char *err,
			     size_t errlen)
{
	uint64_t off = 0;
	int fd, ret = 0;

	if (f->nr_regions != vm->mem.nr_regions) {
		snprintf(err, errlen, "the snapshot has %u memory regions, this VM %u (another --mem?)",
			 f->nr_regions, vm->mem.nr_regions);
		return -EINVAL;
	}
	for (unsigned i = 0; i < f->nr_regions; i++)
		if (f->regions[i].gpa != vm->mem.region[i].gpa ||
		    f->regions[i].size != vm->mem.region[i].size) {
			snprintf(err, errlen, "memory region %u differs from this VM's", i);
			return -EINVAL;
		}
	for (unsigned i = 0; i < f->nr_regions; i++, off += f->regions[i - 1].size)
		if (f->regions[i].file_off != off) {
			snprintf(err, errlen, "memory region %u is not where the memory file has it", i);
			return -EINVAL;
		}
	if (vm->host.restore_mem && !strcmp(vm->host.restore_mem, path))
		return 0; /* vm_create mapped it before the accelerator saw the RAM */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	/* Not mapped at creation: replace the RAM under the live slots (slower, grows with RAM). */
	ret = vm_snap_map_fd(vm, fd);
	if (ret)
		snprintf(err, errlen, "mapping %s: %s", path,
			 ret == -EINVAL ? "shorter than its layout" : strerror(-ret));
	close(fd);
	return ret;
}

static int vm_restore_state(struct vm *vm, const struct snapfile *f, char *err, size_t errlen)
{
	const struct snapfile_section *s;
	struct snap_in in;
	int ret;

	s = snapfile_find(f, SNAP_SEC_MACHINE);
	if (!s) {
		snprintf(err, errlen, "the snapshot has no machine state");
		return -EINVAL;
	}
	snap_in_init(&in, s->data, s->len);
	ret = vm->accel->ops->vm_load(vm->accel, &in);
	if (ret) {
		snprintf(err, errlen, "restoring the interrupt controllers and clock: %s",
			 strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		s = snapfile_find(f, SNAP_SEC_VCPU + i);
		if (!s) {
			snprintf(err, errlen, "the snapshot has no state for vCPU %u", i);
			return -EINVAL;
		}
		snap_in_init(&in, s->data, s->len);
		ret = vm->accel->ops->vcpu_load(vm->vcpus[i].av, &in);
		if (ret) {
			snprintf(err, errlen, "restoring vCPU %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	s = snapfile_find(f, SNAP_SEC_DEVICES);
	if (!s) {
		snprintf(err, errlen, "the snapshot has no device state");
		return -EINVAL;
	}
	snap_in_init(&in, s->data, s->len);
	ret = vm_load_devices(vm, &in);
	if (ret)
		snprintf(err, errlen, "restoring the devices: %s", strerror(-ret));
	return ret;
}

/*
 * Read the state file at path and check it with the host key of state_dir
 * into *f (whose sections point into *buf, freed by the caller). 0 or
 * -errno with err set.
 */
static int vm_snap_open(const char *path, const char *state_dir, struct snapfile *f,
			uint8_t **buf, char *err, size_t errlen)
{
	uint8_t key[SNAPFILE_KEY_LEN];
	size_t len = 0;
	int ret;

	ret = lineage_hostkey(state_dir, key, err, errlen);
	if (ret)
		return ret;
	ret = snapfile_read_path(path, buf, &len);
	if (ret)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	else
		ret = snapfile_parse(*buf, len, key, f, err, errlen);
	sodium_memzero(key, sizeof(key));
	return ret;
}

int vm_snapshot_config(const char *state_path, const char *state_dir, struct vm_config *cfg,
		       char *err, size_t errlen)
{
	struct snapfile *f = calloc(1, sizeof(*f));
	const struct snapfile_section *s;
	uint8_t *buf = NULL;
	int ret;

	if (!f)
		return -ENOMEM;
	ret = vm_snap_open(state_path, state_dir, f, &buf, err, errlen);
	if (ret)
		goto out;
	if (f->kind != SNAP_KIND_FULL) {
		snprintf(err, errlen, "%s is a diff snapshot: only a full one can be loaded", state_path);
		ret = -EINVAL;
		goto out;
	}
	s = snapfile_find(f, SNAP_SEC_CONFIG);
	if (!s) {
		snprintf(err, errlen, "%s holds no VM configuration", state_path);
		ret = -EINVAL;
		goto out;
	}
	ret = vm_config_from_json((const char *)s->data, (size_t)s->len, cfg, err, errlen);
	/*
	 * Before the x86 default became virtio-pci, a configuration named its transport only
	 * when one was asked for, and none meant mmio: such a snapshot's devices are mmio ones.
	 */
	if (!ret && !cfg->transport[0])
		snprintf(cfg->transport, sizeof(cfg->transport), "mmio");
	if (!ret && cfg->ncpus != f->nr_vcpus) {
		snprintf(err, errlen, "%s: its configuration and its header disagree on the vCPUs",
			 state_path);
		ret = -EINVAL;
	}
out:
	free(buf);
	free(f);
	return ret;
}

/*
 * Two restores of one snapshot must not look alike to the guest: a new
 * generation ID, told through the arch's device (snapshot/genid.h).
 */
static int vm_restore_genid(struct vm *vm, char *err, size_t errlen)
{
	int ret = 0;

	snap_genid_new(vm->snap_genid);
	if (vm->genid_hook.fn)
		ret = vm->genid_hook.fn(vm->genid_hook.ctx, vm->snap_genid);
	if (ret)
		snprintf(err, errlen, "telling the guest its new generation ID: %s", strerror(-ret));
	return ret;
}

int vm_restore(struct vm *vm, const char *dir, const char *state_dir, int allow_rollback,
	       char *err, size_t errlen)
{
	char st[VM_SNAP_PATH], mem[VM_SNAP_PATH];
	int ret = vm_snap_dir_paths(dir, 0, st, mem, err, errlen);

	return ret ? ret : vm_restore_files(vm, st, mem, state_dir, allow_rollback, err, errlen);
}

int vm_restore_files(struct vm *vm, const char *state_path, const char *mem_path,
		     const char *state_dir, int allow_rollback, char *err, size_t errlen)
{
	struct snapfile *f = calloc(1, sizeof(*f));
	uint8_t *buf = NULL;
	int ret;

	if (!f)
		return -ENOMEM;
	ret = vm_snap_open(state_path, state_dir, f, &buf, err, errlen);
	if (ret)
		goto out;
	if (f->kind != SNAP_KIND_FULL || f->arch != SNAP_ARCH_X86_64 ||
	    f->nr_vcpus != vm->nr_vcpus) {
		snprintf(err, errlen, "the snapshot (%u vCPUs, kind %u) does not fit this VM (%u vCPUs)",
			 f->nr_vcpus, f->kind, vm->nr_vcpus);
		ret = -EINVAL;
		goto out;
	}
	/* The base of a diff chain is judged by the chain's last diff (vm_restore_diff). */
	if (!(allow_rollback & VM_RESTORE_DIFF_FOLLOWS))
		ret = lineage_check_restore(state_dir, f->lineage, f->generation,
					    allow_rollback & VM_RESTORE_ALLOW_ROLLBACK, state_path,
					    err, errlen);
	if (!ret)
		ret = vm_restore_memory(vm, mem_path, f, err, errlen);
	if (!ret)
		ret = vm_restore_state(vm, f, err, errlen);
	if (!ret) {
		memcpy(vm->snap_lineage, f->lineage, sizeof(vm->snap_lineage));
		vm->snap_has_lineage = 1;
		vm->snap_generation = f->generation;
		ret = vm_restore_genid(vm, err, errlen);
	}
out:
	free(buf);
	free(f);
	return ret;
}

int vm_restore_diff(struct vm *vm, const char *dir, const char *state_dir, int allow_rollback,
		    char *err, size_t errlen)
{
	char st[VM_SNAP_PATH], path[VM_SNAP_PATH];
	struct snapfile *f = calloc(1, sizeof(*f));
	uint8_t *buf = NULL;
	int64_t pages;
	int fd, ret;

	if (!f)
		return -ENOMEM;
	ret = vm_snap_dir_paths(dir, 0, st, path, err, errlen);
	if (!ret)
		ret = vm_snap_open(st, state_dir, f, &buf, err, errlen);
	if (ret)
		goto out;
	if (f->kind != SNAP_KIND_DIFF || !vm->snap_has_lineage ||
	    memcmp(f->lineage, vm->snap_lineage, sizeof(f->lineage)) ||
	    f->parent_generation != vm->snap_generation || f->nr_vcpus != vm->nr_vcpus) {
		snprintf(err, errlen,
			 "%s is not a diff on what was restored (generation %llu of this lineage)", dir,
			 (unsigned long long)vm->snap_generation);
		ret = -EINVAL;
		goto out;
	}
	ret = lineage_check_restore(state_dir, f->lineage, f->generation,
				    allow_rollback & VM_RESTORE_ALLOW_ROLLBACK, dir, err, errlen);
	if (ret)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	pages = snapmem_apply_diff(&vm->mem, fd, f);
	close(fd);
	if (pages < 0) {
		ret = (int)pages;
		snprintf(err, errlen, "applying %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = vm_restore_state(vm, f, err, errlen);
	if (!ret)
		vm->snap_generation = f->generation;
	/* The diff's device state replaced what the base's restore told the guest: again. */
	if (!ret)
		ret = vm_restore_genid(vm, err, errlen);
out:
	free(buf);
	free(f);
	return ret;
}

/* ---- live migration's state (vm_migrate.c): a state file in memory ---- */

int vm_snapshot_state_blob(struct vm *vm, const char *state_dir, struct snap_out *o, char *err,
			   size_t errlen)
{
	struct snapfile *f = calloc(1, sizeof(*f));
	struct vm_snap_bufs *b = calloc(1, sizeof(*b));
	uint8_t key[SNAPFILE_KEY_LEN];
	char *config = NULL;
	uint64_t off = 0;
	int ret;

	if (!f || !b || vm->nr_vcpus > 256) {
		free(f);
		free(b);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = lineage_hostkey(state_dir, key, err, errlen);
	if (ret)
		goto out;
	if (!vm->snap_has_lineage) {
		lineage_new(vm->snap_lineage);
		vm->snap_has_lineage = 1;
	}
	/* No generation is taken: the VM moves, it is not copied (README, Migration). */
	memcpy(f->lineage, vm->snap_lineage, sizeof(f->lineage));
	f->arch = SNAP_ARCH_X86_64;
	f->kind = SNAP_KIND_FULL;
	f->generation = vm->snap_generation;
	f->nr_vcpus = vm->nr_vcpus;
	snprintf(f->vm_id, sizeof(f->vm_id), "%s", vm->snap_id[0] ? vm->snap_id : "vm");
	f->nr_regions = vm->mem.nr_regions;
	for (unsigned i = 0; i < vm->mem.nr_regions && i < SNAPFILE_MAX_REGIONS; i++) {
		f->regions[i] = (struct snapfile_region){ .gpa = vm->mem.region[i].gpa,
							  .size = vm->mem.region[i].size,
							  .file_off = off };
		off += vm->mem.region[i].size;
	}
	ret = vm_snap_collect(vm, f, b);
	if (ret) {
		snprintf(err, errlen, "saving device and vCPU state: %s", strerror(-ret));
		goto out;
	}
	config = vm_config_to_json(&vm->cfg);
	ret = config ? snapfile_add(f, SNAP_SEC_CONFIG, config, strlen(config)) : -ENOMEM;
	if (!ret)
		ret = snapfile_write(f, key, o);
	if (ret)
		snprintf(err, errlen, "writing the state: %s", strerror(-ret));
out:
	free(config);
	sodium_memzero(key, sizeof(key));
	vm_snap_bufs_free(b, vm->nr_vcpus);
	free(b);
	free(f);
	return ret;
}

int vm_restore_state_blob(struct vm *vm, const void *buf, size_t len, const char *state_dir,
			  char *err, size_t errlen)
{
	struct snapfile *f = calloc(1, sizeof(*f));
	uint8_t key[SNAPFILE_KEY_LEN];
	int ret;

	if (!f)
		return -ENOMEM;
	ret = lineage_hostkey(state_dir, key, err, errlen);
	if (!ret)
		ret = snapfile_parse(buf, len, key, f, err, errlen);
	sodium_memzero(key, sizeof(key));
	if (ret)
		goto out;
	if (f->kind != SNAP_KIND_FULL || f->arch != SNAP_ARCH_X86_64 ||
	    f->nr_vcpus != vm->nr_vcpus || f->nr_regions != vm->mem.nr_regions) {
		snprintf(err, errlen, "the migrated state (%u vCPUs) does not fit this VM (%u vCPUs)",
			 f->nr_vcpus, vm->nr_vcpus);
		ret = -EINVAL;
		goto out;
	}
	ret = vm_restore_state(vm, f, err, errlen);
	if (!ret) {
		memcpy(vm->snap_lineage, f->lineage, sizeof(vm->snap_lineage));
		vm->snap_has_lineage = 1;
		vm->snap_generation = f->generation;
	}
out:
	free(f);
	return ret;
}
