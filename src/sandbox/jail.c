/*
 * sandbox/jail.c: the jailer (see jail.h for the order of the steps).
 *
 * Owns: choosing and checking the jail's mount point, opening what goes into
 * the jail, the cgroup (v2, or the v1 hierarchies where a controller is
 * still bound there), the namespaces, the bind mounts and pivot_root, the
 * parent that waits and forwards, and the privilege drop. Does not own what
 * the VM opens (vm_create) nor the seccomp filters (seccomp.c), which go on
 * after jail_drop as without a jail.
 *
 * Why this way:
 *  - Images are opened O_PATH|O_NOFOLLOW by the child, in its new mount
 *    namespace (a bind's source must be a mount of the caller's), and bound
 *    from /proc/self/fd/N: the file bound is the one checked (no race between
 *    the check and the mount), and an image that is a symlink (to
 *    /etc/shadow, or anywhere), or lies in a directory reached through one,
 *    is refused rather than followed: another user who can plant a link on
 *    the way cannot make the jail bind a file of their choice.
 *  - The parent stays in the host's mount and PID namespaces, so it can
 *    remove the cgroup and the mount point whatever the child did; the child
 *    is PID 1 of its namespace, which dies with it.
 *  - The root is a small tmpfs on the mount point, seen only in the child's
 *    mount namespace: nothing is written to the host's file system but the
 *    empty directory, and it is read-only once the binds are in.
 *  - Privileges are dropped after vm_create: /dev/kvm, the images and the TAP
 *    are opened as the invoking user (root: /dev/kvm is often 0600), the
 *    guest never runs with them. Firecracker's jailer instead chowns its
 *    copies to the jail's uid; vmon leaves the user's files as they are.
 *  - cgroups: a new cgroup under the one vmon runs in, never above it, so the
 *    VM cannot escape limits its caller is under. A controller that cannot
 *    be used is a warning naming it: the VM runs without that limit.
 *  - RLIMIT_NPROC is not set: it counts every process of the uid host-wide
 *    (nobody's included), so it is no per-VM bound; pids.max is.
 *
 * Threads: the main thread, before any other exists.
 */
#include "sandbox/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* Where a root vmon puts its jails' mount points (one per VM: <id>). */
#define JAIL_ROOT_DIR "/run/vmon-jail"
#define JAIL_HOSTNAME "vmon-jail"
/* The jailed child's comm: not "vmon:..." (see jail_child). */
#define JAIL_COMM "vmon-jailed"
/* The jail's tmpfs: a few empty files and directories as mount points. */
#define JAIL_TMPFS_OPTS "mode=0755,size=64k,nr_inodes=64"
#define JAIL_CG_ROOT "/sys/fs/cgroup"
/* CFS period for cpu.max / cpu.cfs_period_us: the kernel's default, 100 ms. */
#define JAIL_CPU_PERIOD_US 100000ULL

/* ---- small file helpers ---------------------------------------------------- */

static int jail_write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), err;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return err;
}

/* Read a small file into buf (NUL-terminated): 0 or -errno. */
static int jail_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0)
		err = -errno;
	buf[n < 0 ? 0 : n] = '\0';
	close(fd);
	return err;
}

static int jail_path(char *buf, size_t cap, const char *fmt, const char *a, const char *b)
{
	int n = snprintf(buf, cap, fmt, a, b);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ---- the mount point --------------------------------------------------------- */

/* dir must be a real directory of ours that no one else may write into. */
static int jail_check_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		log_err("jail: '%s' is not a directory owned by uid %u and writable only by it: refused",
			dir, (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

/* mkdir 0700 unless it exists, then the check above. */
static int jail_make_dir(const char *dir, int *made)
{
	int ret;

	*made = 0;
	if (mkdir(dir, 0700) == 0)
		*made = 1;
	else if (errno != EEXIST) {
		ret = -errno;
		log_err("jail: cannot make '%s': %s", dir, strerror(-ret));
		return ret;
	}
	ret = jail_check_dir(dir);
	if (ret == -ENOENT || (ret < 0 && ret != -EPERM))
		log_err("jail: '%s': %s", dir, strerror(-ret));
	return ret;
}

static int jail_pick_dir(struct jail *j, const struct jail_opts *o, const char *id)
{
	char base[PATH_MAX], uidstr[16];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int made, ret;

	if (o->dir) {
		if (jail_path(j->dir, sizeof(j->dir), "%s%s", o->dir, "")) {
			log_err("jail: the directory's path is too long");
			return -ENAMETOOLONG;
		}
		return jail_make_dir(j->dir, &j->made_dir);
	}
	snprintf(uidstr, sizeof(uidstr), "%u", (unsigned)geteuid());
	if (geteuid() == 0)
		ret = jail_path(base, sizeof(base), "%s%s", JAIL_ROOT_DIR, "");
	else if (xdg && *xdg)
		ret = jail_path(base, sizeof(base), "%s/vmon-jail%s", xdg, "");
	else
		ret = jail_path(base, sizeof(base), "/tmp/vmon-jail-%s%s", uidstr, "");
	if (!ret)
		ret = jail_path(j->dir, sizeof(j->dir), "%s/%s", base, id);
	if (ret) {
		log_err("jail: the directory's path is too long");
		return ret;
	}
	ret = jail_make_dir(base, &made);
	if (!ret)
		ret = jail_make_dir(j->dir, &made);
	/* The name is this process's: one a killed run left behind goes too. */
	j->made_dir = !ret;
	return ret;
}

/* ---- what goes in ------------------------------------------------------------ */

static const char *jail_kind(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISDIR(m) ? "a directory" :
	       S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" :
	       S_ISREG(m) ? "a regular file" : "a FIFO or socket";
}

/*
 * O_PATH on path without following any symbolic link on the way
 * (openat2 RESOLVE_NO_SYMLINKS: a directory that is a link is ELOOP); a
 * trailing link is opened as itself, for the caller to refuse. A kernel
 * before 5.6 has no openat2: then only the trailing link is caught.
 */
static int jail_open_path(const char *path)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return (int)fd;
}

/*
 * Open path (what names it in messages) for a bind into the jail as name.
 * A regular file (a disk may be a block device), or for a device a
 * character device; a symlink is never followed.
 */
static int jail_add(struct jail *j, const char *what, const char *path, const char *name,
		    int read_only, int is_dev)
{
	struct jail_file *f = &j->files[j->nr_files];
	struct stat st;
	int fd, ok;

	VMON_BUG_ON(j->nr_files >= JAIL_MAX_FILES);
	fd = jail_open_path(path);
	if (fd < 0) {
		int err = errno;

		if (err == ELOOP)
			log_err("jail: %s '%s': a directory on its path is a symbolic link: refused "
				"(the jail takes real paths only: see realpath)", what, path);
		else
			log_err("jail: cannot open %s '%s': %s", what, path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0) {
		int err = errno;

		close(fd);
		log_err("jail: %s '%s': fstat: %s", what, path, strerror(err));
		return -err;
	}
	ok = is_dev ? S_ISCHR(st.st_mode) :
	     S_ISREG(st.st_mode) || (!strncmp(name, "disk", 4) && S_ISBLK(st.st_mode));
	if (!ok) {
		close(fd);
		log_err("jail: %s '%s' is %s: refused (the jail binds only %s, never through a link)",
			what, path, jail_kind(st.st_mode), is_dev ? "a character device" : "a file");
		return -EINVAL;
	}
	f->fd = fd;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->read_only = read_only;
	f->is_dev = is_dev;
	j->nr_files++;
	return 0;
}

static int jail_add_all(struct jail *j, const struct vm_config *cfg)
{
	int ret = jail_add(j, "kernel", cfg->kernel, "kernel", 1, 0);

	if (!ret && cfg->initrd[0])
		ret = jail_add(j, "initrd", cfg->initrd, "initrd", 1, 0);
	for (unsigned i = 0; !ret && i < cfg->nr_disks; i++) {
		char name[16];

		snprintf(name, sizeof(name), "disk%u", i);
		ret = jail_add(j, "--disk", cfg->disks[i].path, name, cfg->disks[i].read_only, 0);
	}
	if (!ret && strcmp(cfg->arch, "mips32"))
		ret = jail_add(j, "KVM device", cfg->kvm_path, "dev/kvm", 0, 1);
	if (!ret && cfg->nr_nets)
		ret = jail_add(j, "TUN device", "/dev/net/tun", "dev/net/tun", 0, 1);
	return ret;
}

static void jail_close_files(struct jail *j)
{
	for (unsigned i = 0; i < j->nr_files; i++)
		if (j->files[i].fd >= 0)
			close(j->files[i].fd);
	j->nr_files = 0;
}

/* The config's paths as the jailed VM sees them. */
static void jail_rewrite(struct vm_config *cfg)
{
	snprintf(cfg->kernel, sizeof(cfg->kernel), "/kernel");
	if (cfg->initrd[0])
		snprintf(cfg->initrd, sizeof(cfg->initrd), "/initrd");
	for (unsigned i = 0; i < cfg->nr_disks; i++)
		snprintf(cfg->disks[i].path, sizeof(cfg->disks[i].path), "/disk%u", i);
	snprintf(cfg->kvm_path, sizeof(cfg->kvm_path), "/dev/kvm");
}

/* ---- cgroups ----------------------------------------------------------------- */

void jail_limits_of(const struct vm_config *cfg, struct jail_limits *l)
{
	/* vCPUs plus the I/O thread may each take a CPU; threads: vCPUs, main, I/O, API's. */
	snprintf(l->mem, sizeof(l->mem), "%llu",
		 (unsigned long long)(cfg->mem_bytes + JAIL_MEM_OVERHEAD));
	snprintf(l->pids, sizeof(l->pids), "%u", cfg->ncpus + 16);
	snprintf(l->cpu_quota, sizeof(l->cpu_quota), "%llu",
		 (unsigned long long)(cfg->ncpus + 1) * JAIL_CPU_PERIOD_US);
	snprintf(l->cpu_max, sizeof(l->cpu_max), "%s %llu", l->cpu_quota, JAIL_CPU_PERIOD_US);
}

int jail_cgroup_find(const char *text, const char *ctrl, char *out, size_t cap)
{
	char buf[4096], *save = NULL;
	size_t len = strlen(text);

	if (len >= sizeof(buf))
		return -E2BIG;
	memcpy(buf, text, len + 1);
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* "ID:CONTROLLERS:PATH"; v2's is "0::PATH" */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *save2 = NULL;
		const char *path;
		int found = 0;

		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		path = c2 + 1;
		if (!ctrl)
			found = !strcmp(line, "0") && !c1[1];
		for (char *c = ctrl ? strtok_r(c1 + 1, ",", &save2) : NULL; c && !found;
		     c = strtok_r(NULL, ",", &save2))
			found = !strcmp(c, ctrl);
		if (!found)
			continue;
		/* It is joined under /sys/fs/cgroup: absolute, and never out of it. */
		if (path[0] != '/' || strstr(path, "/../") ||
		    (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
			return -EINVAL;
		if (strlen(path) >= cap)
			return -ENAMETOOLONG;
		memcpy(out, path, strlen(path) + 1);
		return 0;
	}
	return -ENOENT;
}

/* This process's cgroup for ctrl (v1), or its v2 cgroup when ctrl is NULL. */
static int jail_own_cgroup(const char *ctrl, char *out, size_t cap)
{
	char buf[4096];
	int ret = jail_read_file("/proc/self/cgroup", buf, sizeof(buf));

	return ret ? ret : jail_cgroup_find(buf, ctrl, out, cap);
}

static int jail_is_fs(const char *path, long magic)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (long)sf.f_type == magic;
}

int jail_list_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '+') && (!p[n] || p[n] == ' ' || p[n] == '\n'))
			return 1;
	return 0;
}

static int jail_cg_mkdir(struct jail *j, const char *parent, const char *id, char *dir, size_t cap)
{
	if (jail_path(dir, cap, "%s/%s", parent, id))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(j->cgroups[j->nr_cgroups++], sizeof(j->cgroups[0]), "%s", dir);
	return 0;
}

static int jail_cg_set(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	int ret = jail_path(path, sizeof(path), "%s/%s", dir, file);

	if (!ret)
		ret = jail_write_file(path, val);
	if (ret)
		log_warn("jail: cgroup: cannot write %s to %s: %s", val, path, strerror(-ret));
	return ret;
}

/* The v2 cgroup: the controllers of ours it has, under the cgroup vmon is in. */
static void jail_cgroup_v2(struct jail *j, const struct jail_limits *l, const char *id,
			   int *done)
{
	static const char *const ctrls[] = { "memory", "pids", "cpu" };
	char mnt[64], own[PATH_MAX], parent[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
	char avail[512], enabled[512];
	int want = 0;

	snprintf(mnt, sizeof(mnt), "%s", JAIL_CG_ROOT);
	if (!jail_is_fs(mnt, CGROUP2_SUPER_MAGIC)) {
		snprintf(mnt, sizeof(mnt), "%s/unified", JAIL_CG_ROOT);
		if (!jail_is_fs(mnt, CGROUP2_SUPER_MAGIC))
			return;
	}
	if (jail_own_cgroup(NULL, own, sizeof(own)) || jail_path(parent, sizeof(parent), "%s%s", mnt, own))
		return;
	if (jail_path(path, sizeof(path), "%s/%s", parent, "cgroup.controllers") ||
	    jail_read_file(path, avail, sizeof(avail)))
		return;
	for (unsigned i = 0; i < 3; i++)
		want |= jail_list_has(avail, ctrls[i]) << i;
	if (!want)
		return;
	/* Enable them for our children (refused when our cgroup holds processes and is not the root). */
	if (jail_path(path, sizeof(path), "%s/%s", parent, "cgroup.subtree_control") ||
	    jail_read_file(path, enabled, sizeof(enabled)))
		enabled[0] = '\0';
	for (unsigned i = 0; i < 3; i++) {
		char plus[16];
		int ret;

		if (!(want & (1 << i)) || jail_list_has(enabled, ctrls[i]))
			continue;
		snprintf(plus, sizeof(plus), "+%s", ctrls[i]);
		ret = jail_write_file(path, plus);
		if (ret) {
			log_warn("jail: cgroup v2: cannot enable %s under %s: %s; no %s limit",
				 ctrls[i], parent, strerror(-ret), ctrls[i]);
			want &= ~(1 << i);
		}
	}
	if (!want)
		return;
	if (jail_cg_mkdir(j, parent, id, dir, sizeof(dir))) {
		log_warn("jail: cgroup v2: cannot make %s/%s: %s; no memory, pids or cpu limit",
			 parent, id, strerror(errno));
		return;
	}
	if ((want & 1) && !jail_cg_set(dir, "memory.max", l->mem)) {
		*done |= 1;
		/* Without it the VM could go on in swap: absent when the host has none. */
		if (jail_path(path, sizeof(path), "%s/%s", dir, "memory.swap.max") == 0 &&
		    access(path, F_OK) == 0)
			jail_cg_set(dir, "memory.swap.max", "0");
	}
	if ((want & 2) && !jail_cg_set(dir, "pids.max", l->pids))
		*done |= 2;
	if ((want & 4) && !jail_cg_set(dir, "cpu.max", l->cpu_max))
		*done |= 4;
}

/* A controller still bound to a v1 hierarchy (hybrid hosts): its own cgroup there. */
static void jail_cgroup_v1(struct jail *j, const struct jail_limits *l, const char *id,
			   unsigned bit, int *done)
{
	static const char *const ctrls[] = { "memory", "pids", "cpu" };
	const char *ctrl = ctrls[bit];
	char mnt[64], own[PATH_MAX], parent[PATH_MAX], dir[PATH_MAX];
	int ok;

	snprintf(mnt, sizeof(mnt), "%s/%s", JAIL_CG_ROOT, ctrl);
	if (!jail_is_fs(mnt, CGROUP_SUPER_MAGIC) || jail_own_cgroup(ctrl, own, sizeof(own)) ||
	    jail_path(parent, sizeof(parent), "%s%s", mnt, own))
		return;
	if (j->nr_cgroups >= JAIL_MAX_CGROUPS || jail_cg_mkdir(j, parent, id, dir, sizeof(dir))) {
		log_warn("jail: cgroup v1: cannot make %s/%s: %s", parent, id, strerror(errno));
		return;
	}
	if (bit == 0)
		ok = !jail_cg_set(dir, "memory.limit_in_bytes", l->mem);
	else if (bit == 1)
		ok = !jail_cg_set(dir, "pids.max", l->pids);
	else
		ok = !jail_cg_set(dir, "cpu.cfs_period_us", "100000") &&
		     !jail_cg_set(dir, "cpu.cfs_quota_us", l->cpu_quota);
	if (ok)
		*done |= 1 << bit;
}

/* Make the VM's cgroup(s) with its limits; what cannot be done is a warning. */
static void jail_cgroup_make(struct jail *j, const struct vm_config *cfg, const char *id)
{
	static const char *const what[] = { "memory", "pids", "cpu" };
	struct jail_limits l;
	int done = 0;

	jail_limits_of(cfg, &l);
	jail_cgroup_v2(j, &l, id, &done);
	for (unsigned bit = 0; bit < 3; bit++)
		if (!(done & (1 << bit)))
			jail_cgroup_v1(j, &l, id, bit, &done);
	for (unsigned bit = 0; bit < 3; bit++)
		if (!(done & (1 << bit)))
			log_warn("jail: no writable cgroup with the %s controller: the VM runs without "
				 "a %s limit", what[bit], what[bit]);
}

/* Put pid into every cgroup made for it. */
static int jail_cgroup_join(const struct jail *j, pid_t pid)
{
	char s[24];

	snprintf(s, sizeof(s), "%d", (int)pid);
	for (unsigned i = 0; i < j->nr_cgroups; i++) {
		int ret = jail_cg_set(j->cgroups[i], "cgroup.procs", s);

		if (ret)
			return ret;
	}
	return 0;
}

static void jail_cgroup_remove(struct jail *j)
{
	for (unsigned i = 0; i < j->nr_cgroups; i++)
		if (rmdir(j->cgroups[i]) < 0 && errno != ENOENT)
			log_warn("jail: cannot remove cgroup %s: %s", j->cgroups[i], strerror(errno));
	j->nr_cgroups = 0;
}

/* ---- the user namespace (not root) ------------------------------------------- */

static int jail_userns(uid_t uid, gid_t gid)
{
	char map[64];
	int ret;

	if (unshare(CLONE_NEWUSER) < 0) {
		ret = -errno;
		log_err("jail: cannot create a user namespace: %s (unprivileged user namespaces may be "
			"disabled: kernel.unprivileged_userns_clone, user.max_user_namespaces; or run as root)",
			strerror(-ret));
		return ret;
	}
	/* An unprivileged map needs setgroups denied first (user_namespaces(7)). */
	ret = jail_write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (!ret)
		ret = jail_write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (!ret)
		ret = jail_write_file("/proc/self/gid_map", map);
	if (ret)
		log_err("jail: cannot map ids in the user namespace: %s", strerror(-ret));
	return ret;
}

/* ---- the jailed child: mounts and pivot_root ---------------------------------- */

/* Mount flags the bind must keep (a user namespace may not clear them: mount(2), EPERM). */
static unsigned long jail_locked_flags(int fd)
{
	struct statvfs sv;
	unsigned long fl = 0;

	if (fstatvfs(fd, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOATIME)
		fl |= MS_NOATIME;
	else if (sv.f_flag & ST_RELATIME)
		fl |= MS_RELATIME;
	else
		fl |= MS_STRICTATIME;
	if (sv.f_flag & ST_NODIRATIME)
		fl |= MS_NODIRATIME;
	if (sv.f_flag & ST_NODEV)
		fl |= MS_NODEV;
	if (sv.f_flag & ST_RDONLY)
		fl |= MS_RDONLY;
	return fl;
}

static int jail_bind(const struct jail_file *f)
{
	char src[64], dst[32], dir[32];
	unsigned long fl;
	char *slash;
	int fd;

	snprintf(dst, sizeof(dst), "./%s", f->name);
	snprintf(dir, sizeof(dir), "%s", dst);
	slash = strrchr(dir, '/');
	*slash = '\0';
	/* dev/net/tun: dev, then dev/net */
	for (char *p = dir + 2; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (strcmp(dir, ".") && mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", f->fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return -errno;
	fl = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC | jail_locked_flags(f->fd);
	if (!f->is_dev)
		fl |= MS_NODEV;
	if (f->read_only)
		fl |= MS_RDONLY;
	if (mount(NULL, dst, NULL, fl, NULL) < 0)
		return -errno;
	return 0;
}

/* VMON_JAIL_PROBE=PATH: try to open PATH from inside (the tests show the host is out of reach). */
static void jail_probe(void)
{
	const char *p = getenv("VMON_JAIL_PROBE");
	int fd;

	if (!p || !*p)
		return;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		log_warn("jail: probe %s: opened (the host is reachable)", p);
		close(fd);
	} else {
		log_warn("jail: probe %s: %s (errno %d)", p, strerror(errno), errno);
	}
}

/* In the child: the namespaces are new; build the root and move into it. */
static int jail_build_root(struct jail *j)
{
	const char *step;
	int ret = 0;

	step = "making mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		goto fail;
	step = "setting the host name";
	if (sethostname(JAIL_HOSTNAME, strlen(JAIL_HOSTNAME)) < 0)
		goto fail;
	step = "mounting the jail's tmpfs";
	if (mount("vmon-jail", j->dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, JAIL_TMPFS_OPTS) < 0)
		goto fail;
	step = "entering the jail's directory";
	if (chdir(j->dir) < 0)
		goto fail;
	for (unsigned i = 0; i < j->nr_files; i++) {
		ret = jail_bind(&j->files[i]);
		if (ret) {
			log_err("jail: cannot bind %s into the jail: %s", j->files[i].name, strerror(-ret));
			return ret;
		}
	}
	jail_close_files(j);
	/* pivot_root(".", "."): the old root ends up on top of the new one; detach it. */
	step = "pivot_root";
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		goto fail;
	step = "detaching the host's root";
	if (umount2(".", MNT_DETACH) < 0)
		goto fail;
	step = "entering the new root";
	if (chdir("/") < 0)
		goto fail;
	step = "making the root read-only";
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		goto fail;
	jail_probe();
	return 0;
fail:
	ret = -errno;
	log_err("jail: %s: %s", step, strerror(-ret));
	return ret;
}

static int jail_child(struct jail *j, const struct vm_config *cfg, int go_fd, const sigset_t *old)
{
	int ret;

	char go;
	ssize_t n;

	/* The parent going away (killed) takes the VM with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/*
	 * The parent keeps the "vmon:<MiB>M" name the host-wide VM count looks
	 * for (cli/state_limits.c): this VM is counted once, as its caller's.
	 */
	prctl(PR_SET_NAME, JAIL_COMM, 0, 0, 0);
	sigprocmask(SIG_SETMASK, old, NULL);
	do
		n = read(go_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	close(go_fd);
	if (n != 1)
		return -ECANCELED; /* the parent said why */
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (j->netns ? CLONE_NEWNET : 0)) < 0) {
		int err = errno;

		log_err("jail: cannot create the mount, IPC, UTS%s namespaces: %s",
			j->netns ? " and network" : "", strerror(err));
		return -err;
	}
	/* Opened in the new mount namespace: a bind's source must be a mount of the caller's. */
	ret = jail_add_all(j, cfg);
	return ret ? ret : jail_build_root(j);
}

/* ---- the parent: wait, forward, clean up --------------------------------------- */

static int jail_wait(pid_t child, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int st, sig = sigwaitinfo(set, &si);
		pid_t w;

		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		w = waitpid(child, &st, WNOHANG);
		if (w != child)
			continue;
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		if (WIFSIGNALED(st)) {
			log_warn("jail: the VM process died by signal %d", WTERMSIG(st));
			return 128 + WTERMSIG(st);
		}
	}
}

static void jail_cleanup(struct jail *j)
{
	jail_close_files(j);
	jail_cgroup_remove(j);
	if (j->made_dir && rmdir(j->dir) < 0)
		log_warn("jail: cannot remove %s: %s", j->dir, strerror(errno));
	j->made_dir = 0;
}

static int jail_ids(struct jail *j, const struct jail_opts *o)
{
	uid_t me = geteuid();

	j->userns = me != 0;
	if (!j->userns) {
		j->uid = o->uid >= 0 ? (uid_t)o->uid : JAIL_DEFAULT_ID;
		j->gid = o->gid >= 0 ? (gid_t)o->gid : JAIL_DEFAULT_ID;
		return 0;
	}
	/* A user namespace can map only one's own ids. */
	if ((o->uid >= 0 && (uid_t)o->uid != me) || (o->gid >= 0 && (gid_t)o->gid != getegid())) {
		log_err("jail: --jail-uid/--jail-gid other than one's own need root");
		return -EPERM;
	}
	j->uid = me;
	j->gid = getegid();
	return 0;
}

int jail_enter(struct jail *j, const struct jail_opts *o, struct vm_config *cfg, int *status)
{
	char id[32];
	int go[2], ret;
	sigset_t set, old;
	pid_t pid;

	memset(j, 0, sizeof(*j));
	snprintf(id, sizeof(id), "vmon-%d", (int)getpid());
	j->netns = cfg->nr_nets == 0;
	ret = jail_ids(j, o);
	if (!ret)
		ret = jail_pick_dir(j, o, id);
	if (ret) {
		jail_cleanup(j);
		return ret;
	}
	if (!j->userns)
		jail_cgroup_make(j, cfg, id);
	else
		log_info("jail: not root: no cgroup limits (a delegated cgroup is not looked for)");
	ret = j->userns ? jail_userns(j->uid, j->gid) : 0;
	if (!ret && unshare(CLONE_NEWPID) < 0) {
		ret = -errno;
		log_err("jail: cannot create a PID namespace: %s", strerror(-ret));
	}
	if (!ret && pipe2(go, O_CLOEXEC) < 0)
		ret = -errno;
	if (ret) {
		jail_cleanup(j);
		return ret;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		ret = jail_child(j, cfg, go[0], &old);
		if (!ret)
			jail_rewrite(cfg);
		return ret;
	}
	close(go[0]);
	if (pid < 0) {
		ret = -errno;
		log_err("jail: cannot fork the jailed process: %s", strerror(-ret));
	} else {
		ret = jail_cgroup_join(j, pid);
		if (ret)
			log_err("jail: cannot move the VM into its cgroup: %s", strerror(-ret));
		else if (write(go[1], "g", 1) != 1)
			ret = -errno;
	}
	close(go[1]);
	/* On failure the child reads EOF and ends; it is reaped below either way. */
	*status = pid > 0 ? jail_wait(pid, &set) : 1;
	if (ret)
		*status = 1;
	sigprocmask(SIG_SETMASK, &old, NULL);
	jail_cleanup(j);
	return 1;
}

/* ---- after vm_create ----------------------------------------------------------- */

static int jail_no_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int jail_drop(const struct jail *j)
{
	struct rlimit core = { 0, 0 }, nofile;
	const char *step;

	step = "RLIMIT_CORE";
	if (setrlimit(RLIMIT_CORE, &core) < 0)
		goto fail;
	step = "RLIMIT_NOFILE";
	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
		goto fail;
	if (nofile.rlim_max > JAIL_NOFILE)
		nofile.rlim_max = JAIL_NOFILE;
	nofile.rlim_cur = nofile.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		goto fail;
	step = "setgroups";
	if (!j->userns && setgroups(0, NULL) < 0)
		goto fail;
	step = "setresgid";
	if (setresgid(j->gid, j->gid, j->gid) < 0)
		goto fail;
	step = "setresuid";
	if (setresuid(j->uid, j->uid, j->uid) < 0)
		goto fail;
	step = "dropping capabilities";
	errno = -jail_no_caps();
	if (errno)
		goto fail;
	step = "PR_SET_DUMPABLE";
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		goto fail;
	step = "PR_SET_NO_NEW_PRIVS";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		goto fail;
	if (getuid() != j->uid || geteuid() != j->uid || getgid() != j->gid) {
		errno = EPERM;
		step = "checking the ids";
		goto fail;
	}
	log_info("jail: running as uid %u gid %u", (unsigned)j->uid, (unsigned)j->gid);
	return 0;
fail:
	log_err("jail: %s: %s", step, strerror(errno));
	return -errno;
}
