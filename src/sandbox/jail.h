/*
 * sandbox/jail.h: the jailer (`vmon run --jail[=DIR]`, issue #12). It puts the
 * VM process into a root of its own that holds only what the VM opens, in new
 * namespaces and cgroup limits, and drops its privileges before the guest runs.
 *
 * The shape, in order (jail.c has the details and the reasons):
 *
 *   vmon (parent)   makes the jail's mount point (0700), the cgroup (memory,
 *                   pids, cpu), and as a non-root user a user namespace
 *                   mapping its ids to themselves; unshares the PID namespace
 *                   and forks. It then only waits: SIGINT/SIGTERM/SIGHUP go
 *                   on to the child, the child's status comes back as its
 *                   own, and at the end the cgroup and the mount point are
 *                   removed.
 *   jailed child    PID 1 of the new PID namespace, in new mount, IPC, UTS
 *                   (and, without --net, network) namespaces: opens each
 *                   image and device O_PATH|O_NOFOLLOW (a symlink or a file
 *                   of the wrong kind is refused), a tmpfs on the mount
 *                   point, each image bind-mounted from its fd (read-only
 *                   unless a disk is read-write; nosuid, nodev but for the
 *                   devices, noexec), pivot_root into it, the old root
 *                   detached, the root made read-only. The config's paths
 *                   become the names inside (/kernel, /initrd, /disk0..,
 *                   /dev/kvm).
 *   jail_drop       after vm_create has opened everything and before the
 *                   seccomp filters and the guest: rlimits, no core dumps,
 *                   no new privileges, the unprivileged uid/gid, no
 *                   capabilities.
 *
 * The API socket and --state-dir are not jailed yet (refused with --jail).
 *
 * Threads: everything runs on the main thread while vmon is single-threaded
 * (before vm_run starts the I/O and vCPU threads). No global state.
 */
#ifndef VMON_SANDBOX_JAIL_H
#define VMON_SANDBOX_JAIL_H

#include <limits.h>
#include <sys/types.h>

#include "vmconfig.h"

/* Files the jail can hold: kernel, initrd, the disks, /dev/kvm, /dev/net/tun. */
#define JAIL_MAX_FILES (4 + VM_MAX_DISKS)
/* cgroup directories made for one VM: one (v2) or one per v1 hierarchy. */
#define JAIL_MAX_CGROUPS 3
/* The jail's default uid and gid when vmon runs as root: nobody/nogroup. */
#define JAIL_DEFAULT_ID 65534
/* RLIMIT_NOFILE inside the jail: vCPU fds, doorbells and irqfds of 6 devices fit. */
#define JAIL_NOFILE 2048
/* memory limit = guest RAM + this: vmon's own heap, thread stacks, the sanitizer build's. */
#define JAIL_MEM_OVERHEAD (128ULL << 20)

struct jail_opts {
	const char *dir;  /* the mount point to use; NULL: JAIL_ROOT_DIR/<id> (or the user's) */
	long uid, gid;    /* -1: JAIL_DEFAULT_ID as root, one's own otherwise */
};

struct jail_file {
	int fd;             /* O_PATH on the host file, until the bind */
	char name[16];      /* its name in the jail: "kernel", "disk0", "dev/kvm" */
	int read_only;
	int is_dev;
};

struct jail {
	char dir[PATH_MAX];  /* the host path of the jail's root (a mount point) */
	int made_dir;        /* remove it at the end */
	char cgroups[JAIL_MAX_CGROUPS][PATH_MAX];
	unsigned nr_cgroups;
	struct jail_file files[JAIL_MAX_FILES];
	unsigned nr_files;
	uid_t uid;           /* the ids the VM runs as */
	gid_t gid;
	int userns;          /* not root: a user namespace maps uid and gid to themselves */
	int netns;           /* no --net: a network namespace of its own */
};

/*
 * Enter the jail for cfg (its paths are rewritten in the child). Returns 0
 * in the jailed child, which goes on to create and run the VM; in the
 * parent it returns 1 once the child has ended, with *status the exit
 * status to end with (the child's, or 128 + its signal). -errno when the
 * jail cannot be built (logged): before the fork in the parent, after it
 * in the child (which then exits with a vmon error).
 */
int jail_enter(struct jail *j, const struct jail_opts *o, struct vm_config *cfg, int *status);

/* The cgroup limits of a VM, as the strings written to the cgroup files. */
struct jail_limits {
	char mem[24];        /* memory.max, memory.limit_in_bytes: RAM + JAIL_MEM_OVERHEAD */
	char pids[24];       /* pids.max: vCPUs + 16 */
	char cpu_quota[24];  /* cpu.cfs_quota_us: (vCPUs + 1) periods */
	char cpu_max[48];    /* cpu.max: "QUOTA PERIOD" */
};

void jail_limits_of(const struct vm_config *cfg, struct jail_limits *l);

/*
 * The cgroup path in text, a /proc/PID/cgroup listing: of the v1 hierarchy
 * that has controller ctrl (one of a comma list), or the v2 one ("0::")
 * when ctrl is NULL. 0 and out, -ENOENT (no such line), -EINVAL (a path
 * that is not absolute or has a ".." component), -ENAMETOOLONG, -E2BIG.
 */
int jail_cgroup_find(const char *text, const char *ctrl, char *out, size_t cap);

/* Does a cgroup.controllers / subtree_control list (space-separated) name word? */
int jail_list_has(const char *list, const char *word);

/*
 * In the jailed child after vm_create, before seccomp_role_enter_main:
 * rlimits, no core dumps, no new privileges, j->uid/j->gid with no
 * supplementary groups and no capabilities. 0 or -errno (logged).
 */
int jail_drop(const struct jail *j);

#endif
