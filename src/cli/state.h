/*
 * state.h: the CLI's view of the state directory (one DIR per VM under the
 * state root) and of host-wide limits.
 *
 * Owns: the state root's location, VM name rules, DIR/meta.json (written
 * by `vmon create`), reading DIR/state.json (written by the VM process),
 * deciding whether an entry is live, stopped, stale or an orphan, the
 * limits file, and the size/duration formatting the CLI prints.
 *
 * Files (the contract with the VM process, src/api/vmm.c):
 *   meta.json  {"name","pid","pid_start","created","uid","user","ttl",
 *               "labels":{},"argv":[],"vcpus","mem_mib"}
 *   state.json {"state":"Not started"|"Running"|"Paused"|"Stopped","pid",
 *               "started","updated","vcpus","mem_mib","exit_status"?,"reason"?}
 * Functions return 0 or a negative errno; error text goes to an err buffer
 * (STATE_ERR_MAX bytes) the caller prints. No global state.
 */
#ifndef VMON_CLI_STATE_H
#define VMON_CLI_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct stat;

#define STATE_NAME_MAX 65    /* [A-Za-z0-9][A-Za-z0-9_.-]{0,63} + NUL */
#define STATE_ERR_MAX  512
#define STATE_PATH_MAX 4096
#define STATE_USER_MAX 64

/* What ls shows. LIVE states have a process that is really ours. */
enum state_status {
	STATE_STARTING,    /* meta.json, no state.json yet, process alive */
	STATE_NOT_STARTED, /* "Not started": waiting for configuration */
	STATE_RUNNING,
	STATE_PAUSED,
	STATE_STOPPED,     /* state.json says Stopped, or the process exited early */
	STATE_STALE,       /* state.json says live but the process is gone */
	STATE_ORPHAN,      /* a directory without a readable meta.json */
};

struct state_meta {
	char name[STATE_NAME_MAX];
	pid_t pid;
	uint64_t pid_start;  /* field 22 of /proc/PID/stat */
	int64_t created;     /* unix seconds */
	uid_t uid;
	char user[STATE_USER_MAX];
	uint64_t ttl;        /* seconds, 0 = none */
	unsigned vcpus;      /* as requested (0 if unknown) */
	uint64_t mem_mib;
	struct json_object *labels; /* owned; object of strings, may be NULL */
	struct json_object *root;   /* owned; the whole document */
};

struct state_run {
	char state[16];      /* as written: "Running", ... */
	pid_t pid;
	int64_t started, updated;
	unsigned vcpus;
	uint64_t mem_mib;
	int has_exit;
	int exit_status;
	char reason[256];
	struct json_object *root; /* owned */
};

/* One directory under the root, loaded and classified. */
struct state_entry {
	char name[STATE_NAME_MAX];
	char dir[STATE_PATH_MAX];
	int has_meta, has_run;
	struct state_meta meta;
	struct state_run run;
	enum state_status status;
	int64_t mtime;       /* of the directory */
};

/* ---- pure helpers (unit-tested) */
int state_name_valid(const char *name);
const char *state_status_name(enum state_status s);
int state_status_live(enum state_status s);
/*
 * Classify from what was read: have_meta/have_run say which files parsed;
 * run_state is state.json's "state" (ignored without have_run); alive says
 * whether meta's pid still runs with meta's pid_start.
 */
enum state_status state_classify(int have_meta, int have_run, const char *run_state, int alive);
/* "45s", "3m20s", "2h05m", "3d04h"; negative is clamped to "0s". */
void state_fmt_duration(int64_t secs, char *buf, size_t len);
/* Bytes as "8G", "512M", "1536K" or a byte count: the largest exact unit. */
void state_fmt_size(uint64_t bytes, char *buf, size_t len);
/* created + ttl - now; only meaningful when ttl != 0. */
int64_t state_ttl_left(int64_t created, uint64_t ttl, int64_t now);

/* ---- the process behind an entry */
/* Field 22 of /proc/PID/stat: 0 and *start, or -ESRCH (gone or a zombie). */
int state_proc_start(pid_t pid, uint64_t *start);
/* 1 when pid is alive and started at pid_start, else 0. */
int state_pid_matches(pid_t pid, uint64_t pid_start);

/* ---- the state root and entries */
/*
 * VMON_STATE_DIR, $XDG_RUNTIME_DIR/vmon, /run/vmon for root; created 0700.
 * Refused (-EPERM, -ENOTDIR) unless state_dir_check passes.
 */
int state_root(char *buf, size_t len, char *err);
/*
 * The host-wide snapshot store, the state directory D of snapshot/lineage.h
 * (D/snapshot/hostkey, lineage/, audit.log): ROOT/.host, ROOT created and
 * checked as by state_root. Hidden from `vmon ls`: no VM name starts with '.'.
 * One store for every managed VM, so a snapshot taken by one VM process
 * restores in another and the rollback rule sees every generation.
 */
int state_snapshot_store(char *buf, size_t len, char *err);
/* The path state_root would use, without creating or checking it. */
int state_root_path(char *buf, size_t len, char *err);
/*
 * Open dir (the root or a VM's DIR) as a directory fd: not a symlink, owned
 * by the effective user, not group- or world-writable. The fd, or -errno
 * (-EPERM for a wrong owner or mode) with the reason in err.
 */
int state_dir_open(const char *dir, char *err);
/* state_dir_open, closing the fd: 0 or -errno with the reason in err. */
int state_dir_check(const char *dir, char *err);
int state_meta_parse(const char *text, struct state_meta *m, char *err);
int state_run_parse(const char *text, struct state_run *r, char *err);
/* Read DIR/meta.json, DIR/state.json, check the pid and classify. */
int state_entry_load(const char *root, const char *name, struct state_entry *e);
void state_entry_free(struct state_entry *e);
/* All entries (directories not starting with '.'), sorted by name. */
int state_list(const char *root, struct state_entry **out, size_t *n, char *err);
void state_list_free(struct state_entry *v, size_t n);
/*
 * Write json to DIR/FILE atomically (DIR/FILE.PID.tmp, O_EXCL, renamed over
 * FILE), mode 0600, all through DIR's fd (state_dir_open checks DIR).
 */
int state_write_json(const char *dir, const char *file, struct json_object *obj, char *err);
/* Remove DIR and everything below it (no symlinks followed). */
int state_rmtree(const char *dir);
/* Take an exclusive flock on ROOT/.lock; returns the fd (close to release). */
int state_lock(const char *root, char *err);

/* ---- host-wide limits */
#define STATE_NO_LIMIT UINT64_MAX
struct state_limits {
	uint64_t max_vms, max_mem, max_vms_per_user, max_mem_per_user; /* mem in bytes */
};
struct state_usage {
	uint64_t vms, mem;           /* live VMs of everyone, their RAM in bytes */
	uint64_t user_vms, user_mem; /* those of the creating user */
};
void state_limits_none(struct state_limits *l);
/* Parse a limits file's text; errors name path:line. */
int state_limits_parse(const char *text, const char *path, struct state_limits *l, char *err);
/*
 * VMON_LIMITS when the caller is root (for tests), else /etc/vmon/limits.conf:
 * a non-root user's VMON_LIMITS is ignored.
 */
const char *state_limits_path(void);
/* 1 when file (fstat) in dir (stat) is root's and only root can change or swap it. */
int state_limits_trusted(const struct stat *file, const struct stat *dir);
/*
 * Load state_limits_path(): an absent file means no limits; one that is
 * not state_limits_trusted (or a symlink) is -EPERM, so nothing starts.
 */
int state_limits_load(struct state_limits *l, char *err);
/* Live entries under root (not the one named skip, may be NULL) and their RAM. */
int state_usage_count(const char *root, const char *skip, struct state_usage *u, char *err);
/*
 * Every VM process on the host (any user, any state root) by its name
 * "vmon:<MiB>M" in /proc, pid self left out; owner from /proc/PID. 0 or -errno.
 */
int state_usage_host(pid_t self, struct state_usage *u);
/* One /proc/PID/stat text (n bytes, buffer n + 1): a live VM's MiB, else -1. */
int64_t state_host_stat_mib(char *stat, size_t n);
/* u takes the larger of its own and host's figures, one by one. */
void state_usage_merge(struct state_usage *u, const struct state_usage *host);
/*
 * Name the calling thread "vmon:<MiB>M" so other VMs' checks count this
 * process: call it on the main thread, whose name /proc/PID shows.
 */
void state_limits_mark(uint64_t mem);
/*
 * The VM process's own check at its start, for mem bytes of guest RAM:
 * limits loaded as above, usage counted under state_dir's parent (the root
 * `vmon create` used; this VM excluded) or, without a state_dir, under the
 * caller's state root if it exists, and host-wide (state_usage_host).
 * 0 (and the process is marked: state_limits_mark), or -EPERM (limit
 * reached, the reason in err) or another -errno (a bad limits file).
 */
int state_limits_enforce(uint64_t mem, const char *state_dir, char *err);
/* 0 when one more VM with mem bytes fits, else -EDQUOT with the reason in err. */
int state_limits_check(const struct state_limits *l, const struct state_usage *u,
		       uint64_t mem, char *err);

#endif
