/*
 * state.c: the state directory as the CLI sees it: the root's location,
 * VM names, DIR/meta.json and DIR/state.json, whether an entry's process
 * is really alive, listing, atomic writes, removal and the root's lock.
 * Limits and formatting live in state_limits.c. See state.h.
 *
 * Another local user must not redirect our writes: the root and every VM
 * directory must be ours and not group/world-writable (state_dir_open), and
 * every file below them is reached through the directory's fd with
 * O_NOFOLLOW (openat, renameat, mkdirat, unlinkat), new files O_EXCL, so a
 * symlink swapped in is replaced or refused, never followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/state.h"

#define STATE_FILE_MAX (1 << 20)

int state_name_valid(const char *name)
{
	size_t i;

	if (!name || !((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') ||
		       (name[0] >= '0' && name[0] <= '9')))
		return 0;
	for (i = 1; name[i]; i++) {
		char c = name[i];

		if (i >= STATE_NAME_MAX - 1)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

const char *state_status_name(enum state_status s)
{
	switch (s) {
	case STATE_STARTING:
		return "starting";
	case STATE_NOT_STARTED:
		return "not-started";
	case STATE_RUNNING:
		return "running";
	case STATE_PAUSED:
		return "paused";
	case STATE_STOPPED:
		return "stopped";
	case STATE_STALE:
		return "stale";
	case STATE_ORPHAN:
		return "orphan";
	}
	return "unknown";
}

int state_status_live(enum state_status s)
{
	return s == STATE_STARTING || s == STATE_NOT_STARTED || s == STATE_RUNNING ||
	       s == STATE_PAUSED;
}

enum state_status state_classify(int have_meta, int have_run, const char *run_state, int alive)
{
	if (!have_meta)
		return STATE_ORPHAN;
	if (!have_run)
		return alive ? STATE_STARTING : STATE_STOPPED;
	if (run_state && !strcmp(run_state, "Stopped"))
		return STATE_STOPPED;
	if (!alive)
		return STATE_STALE;
	if (run_state && !strcmp(run_state, "Running"))
		return STATE_RUNNING;
	if (run_state && !strcmp(run_state, "Paused"))
		return STATE_PAUSED;
	if (run_state && !strcmp(run_state, "Not started"))
		return STATE_NOT_STARTED;
	return STATE_STARTING;
}

int state_proc_start(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024], *p, *save = NULL, *tok;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -ESRCH;
	for (field = 3, tok = strtok_r(p + 1, " ", &save); tok;
	     field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 3 && (tok[0] == 'Z' || tok[0] == 'X'))
			return -ESRCH; /* exited, not yet reaped */
		if (field == 22) {
			*start = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -ESRCH;
}

int state_pid_matches(pid_t pid, uint64_t pid_start)
{
	uint64_t now;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	if (state_proc_start(pid, &now))
		return 0;
	return now == pid_start;
}

static int mkdir_p(char *path, mode_t mode)
{
	char *s;

	for (s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*s = '/';
			return -errno;
		}
		*s = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int state_dir_open(const char *dir, char *err)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = errno == ELOOP ? -ENOTDIR : -errno;
		snprintf(err, STATE_ERR_MAX, "state directory %.400s: %s", dir,
			 ret == -ENOTDIR ? "not a directory (a symlink is refused)" : strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, STATE_ERR_MAX, "state directory %.400s: %s", dir, strerror(-ret));
		close(fd);
		return ret;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, STATE_ERR_MAX,
			 "state directory %.400s is owned by uid %u, not by you (uid %u): refused",
			 dir, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, STATE_ERR_MAX,
			 "state directory %.400s is group- or world-writable (mode %03o): refused; "
			 "chmod go-w it", dir, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	return fd;
}

int state_dir_check(const char *dir, char *err)
{
	int fd = state_dir_open(dir, err);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int state_root_path(char *buf, size_t len, char *err)
{
	const char *env = getenv("VMON_STATE_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/vmon", xdg);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/vmon");
	else {
		snprintf(err, STATE_ERR_MAX,
			 "no state directory: set VMON_STATE_DIR or XDG_RUNTIME_DIR");
		return -ENOENT;
	}
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, STATE_ERR_MAX, "state directory path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

int state_root(char *buf, size_t len, char *err)
{
	struct stat st;
	int ret = state_root_path(buf, len, err);

	if (ret)
		return ret;
	ret = mkdir_p(buf, 0700);
	if (ret) {
		snprintf(err, STATE_ERR_MAX, "cannot create state directory %s: %s", buf,
			 strerror(-ret));
		return ret;
	}
	if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, STATE_ERR_MAX, "state directory %s is not a directory", buf);
		return -ENOTDIR;
	}
	return state_dir_check(buf, err);
}

int state_snapshot_store(char *buf, size_t len, char *err)
{
	int ret = state_root(buf, len, err);
	size_t n = strlen(buf);

	if (ret)
		return ret;
	if ((size_t)snprintf(buf + n, len - n, "/.host") >= len - n) {
		snprintf(err, STATE_ERR_MAX, "state directory path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * Read a whole small regular file DFD/NAME, NUL-terminated, malloc'ed. A
 * symlink, FIFO or device there is refused (O_NONBLOCK: a FIFO cannot block).
 */
static int read_text_at(int dfd, const char *name, char **out)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc(STATE_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < STATE_FILE_MAX && (n = read(fd, buf + len, STATE_FILE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	*out = buf;
	return 0;
}

static int64_t jint(struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *parse_object(const char *text, const char *what, char *err)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, STATE_ERR_MAX, "%s is not a JSON object", what);
		return NULL;
	}
	return o;
}

int state_meta_parse(const char *text, struct state_meta *m, char *err)
{
	struct json_object *o, *labels;
	const char *name, *user;
	int64_t pid;

	memset(m, 0, sizeof(*m));
	o = parse_object(text, "meta.json", err);
	if (!o)
		return -EINVAL;
	name = jstr(o, "name");
	pid = jint(o, "pid", -1);
	if (!name || !state_name_valid(name) || pid <= 0 || pid > INT32_MAX) {
		snprintf(err, STATE_ERR_MAX, "meta.json lacks a valid name or pid");
		json_object_put(o);
		return -EINVAL;
	}
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->pid = (pid_t)pid;
	m->pid_start = (uint64_t)jint(o, "pid_start", 0);
	m->created = jint(o, "created", 0);
	m->uid = (uid_t)jint(o, "uid", -1);
	user = jstr(o, "user");
	snprintf(m->user, sizeof(m->user), "%s", user ? user : "?");
	m->ttl = (uint64_t)jint(o, "ttl", 0);
	m->vcpus = (unsigned)jint(o, "vcpus", 0);
	m->mem_mib = (uint64_t)jint(o, "mem_mib", 0);
	if (json_object_object_get_ex(o, "labels", &labels) &&
	    json_object_is_type(labels, json_type_object))
		m->labels = labels;
	m->root = o;
	return 0;
}

int state_run_parse(const char *text, struct state_run *r, char *err)
{
	struct json_object *o, *v;
	const char *s, *reason;

	memset(r, 0, sizeof(*r));
	o = parse_object(text, "state.json", err);
	if (!o)
		return -EINVAL;
	s = jstr(o, "state");
	if (!s) {
		snprintf(err, STATE_ERR_MAX, "state.json lacks \"state\"");
		json_object_put(o);
		return -EINVAL;
	}
	snprintf(r->state, sizeof(r->state), "%s", s);
	r->pid = (pid_t)jint(o, "pid", 0);
	r->started = jint(o, "started", 0);
	r->updated = jint(o, "updated", 0);
	r->vcpus = (unsigned)jint(o, "vcpus", 0);
	r->mem_mib = (uint64_t)jint(o, "mem_mib", 0);
	if (json_object_object_get_ex(o, "exit_status", &v) && json_object_is_type(v, json_type_int)) {
		r->has_exit = 1;
		r->exit_status = json_object_get_int(v);
	}
	reason = jstr(o, "reason");
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
	r->root = o;
	return 0;
}

int state_entry_load(const char *root, const char *name, struct state_entry *e)
{
	char err[STATE_ERR_MAX], *text;
	struct stat st;
	int alive = 0, dfd;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	if ((size_t)snprintf(e->dir, sizeof(e->dir), "%s/%s", root, name) >= sizeof(e->dir))
		return -ENAMETOOLONG;
	dfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if (fstat(dfd, &st) < 0) {
		close(dfd);
		return -ENOTDIR;
	}
	e->mtime = st.st_mtime;
	if (!read_text_at(dfd, "meta.json", &text)) {
		e->has_meta = !state_meta_parse(text, &e->meta, err) &&
			      !strcmp(e->meta.name, name);
		free(text);
	}
	if (!read_text_at(dfd, "state.json", &text)) {
		e->has_run = !state_run_parse(text, &e->run, err);
		free(text);
	}
	close(dfd);
	if (e->has_meta)
		alive = state_pid_matches(e->meta.pid, e->meta.pid_start);
	e->status = state_classify(e->has_meta, e->has_run, e->run.state, alive);
	return 0;
}

void state_entry_free(struct state_entry *e)
{
	json_object_put(e->meta.root);
	json_object_put(e->run.root);
	e->meta.root = e->run.root = NULL;
	e->meta.labels = NULL;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct state_entry *)a)->name, ((const struct state_entry *)b)->name);
}

int state_list(const char *root, struct state_entry **out, size_t *n, char *err)
{
	struct state_entry *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *d;
	DIR *dir = opendir(root);

	if (!dir) {
		int ret = -errno;

		snprintf(err, STATE_ERR_MAX, "cannot read %s: %s", root, strerror(-ret));
		return ret;
	}
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) >= STATE_NAME_MAX)
			continue;
		if (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				closedir(dir);
				state_list_free(v, cnt);
				snprintf(err, STATE_ERR_MAX, "out of memory");
				return -ENOMEM;
			}
			v = nv;
		}
		if (state_entry_load(root, d->d_name, &v[cnt]) == 0)
			cnt++;
		else
			state_entry_free(&v[cnt]);
	}
	closedir(dir);
	if (cnt)
		qsort(v, cnt, sizeof(*v), entry_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

void state_list_free(struct state_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		state_entry_free(&v[i]);
	free(v);
}

int state_write_json(const char *dir, const char *file, struct json_object *obj, char *err)
{
	char tmp[STATE_NAME_MAX + 64];
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text), off = 0;
	int dfd, fd, ret = 0;

	if (strchr(file, '/') || strlen(file) >= STATE_NAME_MAX) {
		snprintf(err, STATE_ERR_MAX, "cannot write %.400s/%.64s: not a plain file name", dir,
			 file);
		return -EINVAL;
	}
	dfd = state_dir_open(dir, err);
	if (dfd < 0)
		return dfd;
	/* Per writer (the VM process, vmon stop): one's leftover never blocks another. */
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", file, (int)getpid());
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, STATE_ERR_MAX, "cannot write %.300s/%.64s: %s", dir, tmp, strerror(-ret));
		close(dfd);
		return ret;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, STATE_ERR_MAX, "cannot write %.300s/%.64s: %s", dir, tmp, strerror(-ret));
		close(dfd);
		return ret;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (!ret && write(fd, "\n", 1) != 1)
		ret = -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	/* rename replaces whatever is at file, a symlink included, and follows nothing. */
	if (!ret && renameat(dfd, tmp, dfd, file) < 0)
		ret = -errno;
	if (ret) {
		unlinkat(dfd, tmp, 0);
		snprintf(err, STATE_ERR_MAX, "cannot write %.300s/%.64s: %s", dir, file, strerror(-ret));
	}
	close(dfd);
	return ret;
}

static int rmtree_at(int parent, const char *name)
{
	struct dirent *d;
	DIR *dir;
	int fd, ret = 0;

	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		ret = -errno;
		close(fd);
		return ret;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (unlinkat(fd, d->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno == EISDIR || errno == EPERM) {
			int r = rmtree_at(fd, d->d_name);

			if (r && !ret)
				ret = r;
		} else if (!ret) {
			ret = -errno;
		}
	}
	closedir(dir);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !ret)
		ret = -errno;
	return ret;
}

int state_rmtree(const char *dir)
{
	return rmtree_at(AT_FDCWD, dir);
}

int state_lock(const char *root, char *err)
{
	struct stat st;
	int dfd, fd, ret;

	dfd = state_dir_open(root, err);
	if (dfd < 0)
		return dfd;
	/* It stays between runs, so no O_EXCL; O_NOFOLLOW and the checks below refuse a plant. */
	fd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	ret = fd < 0 ? -errno : 0;
	close(dfd);
	if (!ret && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()))
		ret = -EPERM;
	if (ret) {
		snprintf(err, STATE_ERR_MAX, "cannot open %.400s/.lock: %s", root,
			 ret == -EPERM ? "not a regular file of yours" : strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		ret = -errno;
		snprintf(err, STATE_ERR_MAX, "cannot lock %.400s/.lock: %s", root, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}
