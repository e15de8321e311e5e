/*
 * state_limits.c: host-wide limits on live VMs (the limits file, the
 * decision `vmon create` takes under the state root's lock and the one the
 * VM process takes again at its start), and the size/duration formatting
 * the CLI prints. Pure except state_limits_load, state_usage_count,
 * state_usage_host, state_limits_mark and state_limits_enforce. Runs on
 * the CLI's thread or the VM process's VMM thread; no state.
 *
 * Limits file: lines "key = value", '#' starts a comment, blank lines are
 * fine. Keys: max_vms, max_vms_per_user (counts), max_mem, max_mem_per_user
 * (sizes as --mem takes them: 8G, 512M, a bare number is MiB).
 *
 * The file is the administrator's: /etc/vmon/limits.conf, which must be a
 * regular file owned by root and not group/world-writable, in a directory
 * of the same kind (or a sticky one), else it is refused and nothing
 * starts. VMON_LIMITS replaces the path only when the caller is root
 * (tests); for anyone else it is ignored, so a user cannot swap in a file
 * of their own.
 *
 * Counting is host-wide: a state root is one user's view, and a second
 * root (VMON_STATE_DIR=/tmp/mine) or a plain `vmon run` must not escape
 * max_vms. Every VM process that passed its check names itself
 * "vmon:<MiB>M" (its main thread's comm, prctl PR_SET_NAME; threads it
 * starts later inherit the name, which is harmless: only /proc/PID, the
 * thread group leader, is read), and a check counts every such process in
 * /proc, with its owner's uid, besides the state root's
 * entries; each figure is the larger of the two. A process of another user
 * can make the count larger (a refusal), never smaller: the limits fail
 * closed. Two VM processes starting in different roots within the same
 * instant can both pass (creates in one root are serialised by its lock).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/state.h"
#include "config.h"

#define LIMITS_DEFAULT_PATH "/etc/vmon/limits.conf"
#define LIMITS_FILE_MAX     65536

void state_fmt_duration(int64_t secs, char *buf, size_t len)
{
	long long s = secs < 0 ? 0 : (long long)secs;

	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

void state_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "TGMK";

	for (int i = 0; i < 4; i++) {
		unsigned shift = (unsigned)(40 - 10 * i);

		if (bytes && bytes % (1ULL << shift) == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes >> shift, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 "B", bytes);
}

int64_t state_ttl_left(int64_t created, uint64_t ttl, int64_t now)
{
	int64_t left = created + (int64_t)ttl - now;

	return left < 0 ? 0 : left;
}

void state_limits_none(struct state_limits *l)
{
	l->max_vms = l->max_mem = l->max_vms_per_user = l->max_mem_per_user = STATE_NO_LIMIT;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* One "key = value" line, already stripped of its comment. */
static int limits_line(char *line, const char *path, unsigned lineno, struct state_limits *l,
		       char *err)
{
	char *eq = strchr(line, '='), *key, *val;
	unsigned n;

	if (!eq) {
		snprintf(err, STATE_ERR_MAX, "%s:%u: want 'key = value'", path, lineno);
		return -EINVAL;
	}
	*eq = 0;
	key = trim(line);
	val = trim(eq + 1);
	/* key[7] is NUL for max_vms/max_mem and '_' for their _per_user forms. */
	if (!strcmp(key, "max_vms") || !strcmp(key, "max_vms_per_user")) {
		if (config_parse_uint(val, 0, 1000000, &n)) {
			snprintf(err, STATE_ERR_MAX, "%s:%u: %s: '%s' is not a number of VMs", path,
				 lineno, key, val);
			return -EINVAL;
		}
		*(key[7] ? &l->max_vms_per_user : &l->max_vms) = n;
	} else if (!strcmp(key, "max_mem") || !strcmp(key, "max_mem_per_user")) {
		uint64_t bytes;

		if (config_parse_size(val, &bytes)) {
			snprintf(err, STATE_ERR_MAX, "%s:%u: %s: '%s' is not a size like 8G", path,
				 lineno, key, val);
			return -EINVAL;
		}
		*(key[7] ? &l->max_mem_per_user : &l->max_mem) = bytes;
	} else {
		snprintf(err, STATE_ERR_MAX,
			 "%s:%u: unknown key '%s' (max_vms, max_mem, max_vms_per_user, max_mem_per_user)",
			 path, lineno, key);
		return -EINVAL;
	}
	return 0;
}

int state_limits_parse(const char *text, const char *path, struct state_limits *l, char *err)
{
	struct state_limits tmp;
	unsigned lineno = 0;
	char *copy = strdup(text), *line, *hash, *p;
	int ret = 0;

	if (!copy) {
		snprintf(err, STATE_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	state_limits_none(&tmp);
	/* strtok_r would skip empty lines and miscount: split by hand. */
	for (line = copy; line && !ret; line = p) {
		p = strchr(line, '\n');
		if (p)
			*p++ = 0;
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		line = trim(line);
		if (*line)
			ret = limits_line(line, path, lineno, &tmp, err);
	}
	free(copy);
	if (!ret)
		*l = tmp;
	return ret;
}

const char *state_limits_path(void)
{
	const char *env = getenv("VMON_LIMITS");

	if (env && *env && getuid() == 0 && geteuid() == 0)
		return env;
	return LIMITS_DEFAULT_PATH;
}

int state_limits_trusted(const struct stat *file, const struct stat *dir)
{
	if (!S_ISREG(file->st_mode) || file->st_uid != 0 || (file->st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	/* Whoever may rename entries of the directory may swap the file. */
	if (!S_ISDIR(dir->st_mode) || dir->st_uid != 0)
		return 0;
	return !(dir->st_mode & (S_IWGRP | S_IWOTH)) || (dir->st_mode & S_ISVTX);
}

/* Open path for reading if it is a trusted limits file; -ENOENT when absent. */
static int limits_open(const char *path, char *err)
{
	struct stat st, dst;
	char dir[STATE_PATH_MAX];
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ELOOP ? -EPERM : -errno;
		if (ret != -ENOENT)
			snprintf(err, STATE_ERR_MAX, "cannot read limits file %.400s: %s", path,
				 ret == -EPERM ? "a symlink is refused" : strerror(-ret));
		return ret;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if (fstat(fd, &st) < 0 || stat(dirname(dir), &dst) < 0 || !state_limits_trusted(&st, &dst)) {
		snprintf(err, STATE_ERR_MAX,
			 "limits file %.400s: refused: it (and its directory) must be root's and "
			 "not writable by group or others", path);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int state_limits_load(struct state_limits *l, char *err)
{
	const char *path = state_limits_path();
	size_t len = 0;
	char *text;
	ssize_t n;
	int fd, ret;

	state_limits_none(l);
	fd = limits_open(path, err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	text = malloc(LIMITS_FILE_MAX + 1);
	if (!text) {
		close(fd);
		snprintf(err, STATE_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	while (len < LIMITS_FILE_MAX && (n = read(fd, text + len, LIMITS_FILE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	text[len] = 0;
	ret = state_limits_parse(text, path, l, err);
	free(text);
	return ret;
}

int state_usage_count(const char *root, const char *skip, struct state_usage *u, char *err)
{
	struct state_entry *v;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (state_list(root, &v, &n, err))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		uint64_t mib = v[i].has_run && v[i].run.mem_mib ? v[i].run.mem_mib : v[i].meta.mem_mib;

		if (!state_status_live(v[i].status) || (skip && !strcmp(v[i].name, skip)))
			continue;
		u->vms++;
		u->mem += mib << 20;
		if (v[i].meta.uid == getuid()) {
			u->user_vms++;
			u->user_mem += mib << 20;
		}
	}
	state_list_free(v, n);
	return 0;
}

#define HOST_COMM_PREFIX "vmon:"
#define HOST_MIB_MAX     999999999ULL /* 9 digits: "vmon:<MiB>M" fits comm's 15 bytes */

/* "vmon:<MiB>M" → MiB, or -1 when comm is not a VM process's name. */
static int64_t host_comm_mib(const char *comm, size_t len)
{
	size_t p = strlen(HOST_COMM_PREFIX);
	uint64_t mib = 0;

	if (len <= p + 1 || memcmp(comm, HOST_COMM_PREFIX, p) || comm[len - 1] != 'M')
		return -1;
	for (; p < len - 1; p++) {
		if (!isdigit((unsigned char)comm[p]))
			return -1;
		mib = mib * 10 + (uint64_t)(comm[p] - '0');
		if (mib > HOST_MIB_MAX) /* more than state_limits_mark writes */
			return -1;
	}
	return (int64_t)mib;
}

/*
 * /proc/PID/stat is "PID (COMM) STATE ...": the MiB a live VM process
 * named itself with, or -1 (not one, or a zombie that has not been reaped).
 */
int64_t state_host_stat_mib(char *stat, size_t n)
{
	char *open, *close;

	stat[n] = '\0';
	open = strchr(stat, '(');
	close = strrchr(stat, ')');
	if (!open || !close || close < open || close[1] != ' ' || close[2] == 'Z' || close[2] == 'X')
		return -1;
	return host_comm_mib(open + 1, (size_t)(close - open - 1));
}

int state_usage_host(pid_t self, struct state_usage *u)
{
	uid_t me = getuid();
	struct dirent *d;
	DIR *proc;

	memset(u, 0, sizeof(*u));
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((d = readdir(proc))) {
		char path[64], stat[128];
		struct stat st;
		int64_t mib;
		ssize_t n;
		char *end;
		long pid;
		int fd;

		pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone meanwhile */
		n = read(fd, stat, sizeof(stat) - 1);
		if (n > 0 && fstat(fd, &st) == 0 && (mib = state_host_stat_mib(stat, (size_t)n)) >= 0) {
			u->vms++;
			u->mem += (uint64_t)mib << 20;
			if (st.st_uid == me) {
				u->user_vms++;
				u->user_mem += (uint64_t)mib << 20;
			}
		}
		close(fd);
	}
	closedir(proc);
	return 0;
}

void state_usage_merge(struct state_usage *u, const struct state_usage *host)
{
	if (host->vms > u->vms)
		u->vms = host->vms;
	if (host->mem > u->mem)
		u->mem = host->mem;
	if (host->user_vms > u->user_vms)
		u->user_vms = host->user_vms;
	if (host->user_mem > u->user_mem)
		u->user_mem = host->user_mem;
}

void state_limits_mark(uint64_t mem)
{
	unsigned long long mib = mem >> 20;
	char name[32];

	if (mib > HOST_MIB_MAX)
		mib = HOST_MIB_MAX;
	snprintf(name, sizeof(name), HOST_COMM_PREFIX "%lluM", mib);
	(void)prctl(PR_SET_NAME, name, 0, 0, 0);
}

static int limits_any(const struct state_limits *l)
{
	return l->max_vms != STATE_NO_LIMIT || l->max_mem != STATE_NO_LIMIT ||
	       l->max_vms_per_user != STATE_NO_LIMIT || l->max_mem_per_user != STATE_NO_LIMIT;
}

static int limits_enforce(uint64_t mem, const char *state_dir, char *err)
{
	char root[STATE_PATH_MAX], name[STATE_PATH_MAX], tmp[STATE_PATH_MAX];
	struct state_usage u, host;
	struct state_limits l;
	struct stat st;
	int ret;

	ret = state_limits_load(&l, err);
	if (ret || !limits_any(&l))
		return ret;
	memset(&u, 0, sizeof(u));
	if (state_dir) {
		/* DIR/.. is the root `vmon create` counted under; this VM is one of its entries. */
		snprintf(tmp, sizeof(tmp), "%s", state_dir);
		snprintf(name, sizeof(name), "%s", basename(tmp));
		snprintf(tmp, sizeof(tmp), "%s", state_dir);
		snprintf(root, sizeof(root), "%s", dirname(tmp));
		ret = state_dir_check(root, err) ? 0 : state_usage_count(root, name, &u, err);
	} else if (!state_root_path(root, sizeof(root), err) && lstat(root, &st) == 0 &&
		   !state_dir_check(root, err)) {
		ret = state_usage_count(root, NULL, &u, err);
	}
	if (ret)
		return ret;
	if (!state_usage_host(getpid(), &host))
		state_usage_merge(&u, &host);
	ret = state_limits_check(&l, &u, mem, err);
	return ret ? -EPERM : 0;
}

int state_limits_enforce(uint64_t mem, const char *state_dir, char *err)
{
	int ret = limits_enforce(mem, state_dir, err);

	if (!ret)
		state_limits_mark(mem);
	return ret;
}

int state_limits_check(const struct state_limits *l, const struct state_usage *u, uint64_t mem,
		       char *err)
{
	char lim[32], used[32], req[32];

	if (l->max_vms != STATE_NO_LIMIT && u->vms + 1 > l->max_vms) {
		snprintf(err, STATE_ERR_MAX, "limit max_vms = %" PRIu64 " reached (%" PRIu64 " VMs live)",
			 l->max_vms, u->vms);
		return -EDQUOT;
	}
	if (l->max_vms_per_user != STATE_NO_LIMIT && u->user_vms + 1 > l->max_vms_per_user) {
		snprintf(err, STATE_ERR_MAX,
			 "limit max_vms_per_user = %" PRIu64 " reached (%" PRIu64 " VMs of this user live)",
			 l->max_vms_per_user, u->user_vms);
		return -EDQUOT;
	}
	if (l->max_mem != STATE_NO_LIMIT && (mem > l->max_mem || u->mem > l->max_mem - mem)) {
		state_fmt_size(l->max_mem, lim, sizeof(lim));
		state_fmt_size(u->mem, used, sizeof(used));
		state_fmt_size(mem, req, sizeof(req));
		snprintf(err, STATE_ERR_MAX, "limit max_mem = %s exceeded (%s live + %s requested)",
			 lim, u->mem ? used : "0", req);
		return -EDQUOT;
	}
	if (l->max_mem_per_user != STATE_NO_LIMIT &&
	    (mem > l->max_mem_per_user || u->user_mem > l->max_mem_per_user - mem)) {
		state_fmt_size(l->max_mem_per_user, lim, sizeof(lim));
		state_fmt_size(u->user_mem, used, sizeof(used));
		state_fmt_size(mem, req, sizeof(req));
		snprintf(err, STATE_ERR_MAX,
			 "limit max_mem_per_user = %s exceeded (%s live for this user + %s requested)",
			 lim, u->user_mem ? used : "0", req);
		return -EDQUOT;
	}
	return 0;
}
