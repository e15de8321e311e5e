/*
 * cli_create.c: `vmon create NAME [run flags] [--ttl DUR] [--label k=v]`.
 * Under the state root's lock: name checks, host limits, DIR, the detached
 * `vmon run --state-dir DIR --name NAME` process and DIR/meta.json. Then,
 * without the lock, waits for the VM process to report "Running".
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_impl.h"
#include "config.h"

#define CREATE_WAIT_MS 10000
#define CREATE_POLL_MS 20
#define CREATE_MAX_LABELS 32

static const char help_create[] =
	"Usage: vmon create NAME [--ttl DURATION] [--label KEY=VALUE]... [RUN OPTIONS]\n"
	"\n"
	"Start VM NAME as a detached `vmon run --state-dir DIR --name NAME` process,\n"
	"DIR being NAME's directory under the state directory (VMON_STATE_DIR, else\n"
	"$XDG_RUNTIME_DIR/vmon, else /run/vmon for root). RUN OPTIONS are passed to\n"
	"`vmon run` unchanged (see `vmon run --help`); its output goes to DIR/vmon.log.\n"
	"Waits up to 10 s for the VM to run and prints \"NAME: started (pid N)\".\n"
	"\n"
	"  NAME                  [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, not already in use\n"
	"  --ttl DURATION        destroy the VM (and its directory) after DURATION:\n"
	"                        30s, 10m, 2h, 1d; a bare number is seconds\n"
	"  --label KEY=VALUE     a label shown by `vmon ls`; repeatable\n"
	"\n"
	"Host limits come from /etc/vmon/limits.conf (absent: none; it must be root's\n"
	"and writable by root only; VMON_LIMITS replaces the path for root only):\n"
	"lines `key = value` with keys max_vms, max_mem, max_vms_per_user,\n"
	"max_mem_per_user; live VMs count, with their --cpus/--mem (default 1, 256M).\n"
	"The VM process checks them again when it starts.\n"
	"Exit status: 0 started, 1 failure (name in use, limit reached, the VM\n"
	"process failed: its log is printed), 2 usage error.\n";

struct create_req {
	const char *name;
	uint64_t ttl;
	unsigned vcpus;
	uint64_t mem;             /* bytes */
	int has_kernel;
	const char *labels[CREATE_MAX_LABELS];
	int nlabels;
	char **run_argv;          /* the flags for `vmon run`, untouched */
	int run_argc;
};

/* The value of a run flag we must read (-m/--mem, -p/--cpus), or NULL. */
static const char *run_flag(int argc, char **argv, int *i, char s, const char *l, int *missing)
{
	const char *a = argv[*i];

	if (a[0] == '-' && a[1] == s && a[2]) /* -m4M */
		return a + 2;
	if (a[0] == '-' && a[1] == s && !a[2]) {
		*missing = *i + 1 >= argc;
		return *missing ? NULL : argv[++*i];
	}
	return cli_opt_value(argc, argv, i, l, missing);
}

/* Run flags with a separate value we do not read but must skip over. */
static int run_flag_takes_value(const char *a)
{
	static const char *const with_value[] = { "-k", "-i", "-c", "--kernel", "--initrd",
						  "--cmdline", "--disk", "--net", "--kvm-device",
						  "--incoming" };

	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (!strcmp(a, with_value[i]))
			return 1;
	return 0;
}

static int label_valid(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return 0;
	for (const char *p = kv; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == ',' || (p < eq && *p == ' '))
			return 0;
	return 1;
}

static int parse_create(int argc, char **argv, struct create_req *r)
{
	const char *val;
	int missing = 0, first;

	memset(r, 0, sizeof(*r));
	r->vcpus = 1;
	r->mem = 256ULL << 20;
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage("create", "missing NAME (it comes first)");
	r->name = argv[1];
	r->run_argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!r->run_argv)
		return CLI_FAIL;
	for (int i = 2; i < argc; i++) {
		if ((val = cli_opt_value(argc, argv, &i, "--ttl", &missing))) {
			if (config_parse_duration(val, &r->ttl))
				return cli_usage("create", "--ttl: '%s' is not a duration like 30s, 10m or 2h",
						 val);
			continue;
		}
		if (!missing && (val = cli_opt_value(argc, argv, &i, "--label", &missing))) {
			if (!label_valid(val))
				return cli_usage("create", "--label: '%s' is not KEY=VALUE", val);
			if (r->nlabels == CREATE_MAX_LABELS)
				return cli_usage("create", "too many --label (at most %d)",
						 CREATE_MAX_LABELS);
			r->labels[r->nlabels++] = val;
			continue;
		}
		if (missing)
			return cli_usage("create", "option '%s' needs a value", argv[i]);
		/* The VM process would print its config and exit: nothing to create. */
		if (!strcmp(argv[i], "--dump-config"))
			return cli_usage("create", "--dump-config is for `vmon run`: it creates no VM");
		first = i;
		if (!strcmp(argv[i], "--kernel") || !strncmp(argv[i], "--kernel=", 9) ||
		    !strncmp(argv[i], "-k", 2))
			r->has_kernel = 1;
		if ((val = run_flag(argc, argv, &i, 'm', "--mem", &missing))) {
			if (config_parse_size(val, &r->mem))
				return cli_usage("create", "--mem: '%s' is not a size like 256M or 1G",
						 val);
		} else if (!missing && (val = run_flag(argc, argv, &i, 'p', "--cpus", &missing))) {
			if (config_parse_uint(val, 1, 254, &r->vcpus))
				return cli_usage("create", "--cpus: '%s' is not a number of vCPUs (1-254)",
						 val);
		} else if (!missing && run_flag_takes_value(argv[i]) && i + 1 < argc) {
			i++;
		}
		if (missing)
			return cli_usage("create", "option '%s' needs a value", argv[i]);
		/* The flag and any separate value, untouched, in order. */
		for (int j = first; j <= i; j++)
			r->run_argv[r->run_argc++] = argv[j];
	}
	return 0;
}

/* Child side of the spawn: never returns. */
static void spawn_child(char **argv, int nullfd, int logfd)
{
	setsid();
	if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(127);
	closefrom(3);
	signal(SIGPIPE, SIG_DFL);
	execv("/proc/self/exe", argv);
	dprintf(2, "vmon: create: cannot exec /proc/self/exe: %s\n", strerror(errno));
	_exit(127);
}

static char **child_argv(const struct create_req *r, const char *dir, char *ttl, size_t ttl_len)
{
	char **a = calloc((size_t)r->run_argc + 10, sizeof(char *));
	int n = 0;

	if (!a)
		return NULL;
	a[n++] = "vmon";
	a[n++] = "run";
	a[n++] = "--state-dir";
	a[n++] = (char *)dir;
	a[n++] = "--name";
	a[n++] = (char *)r->name;
	if (r->ttl) {
		snprintf(ttl, ttl_len, "%llus", (unsigned long long)r->ttl);
		a[n++] = "--ttl";
		a[n++] = ttl;
	}
	for (int i = 0; i < r->run_argc; i++)
		a[n++] = r->run_argv[i];
	return a;
}

static int write_meta(const struct create_req *r, const char *dir, pid_t pid, uint64_t start,
		      char **argv, char *err)
{
	struct json_object *o = json_object_new_object(), *labels = json_object_new_object();
	struct json_object *args = json_object_new_array();
	struct passwd *pw = getpwuid(getuid());
	char uidbuf[32];
	int ret;

	snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)getuid());
	for (int i = 0; i < r->nlabels; i++) {
		const char *eq = strchr(r->labels[i], '=');
		char key[256];

		snprintf(key, sizeof(key), "%.*s", (int)(eq - r->labels[i]), r->labels[i]);
		json_object_object_add(labels, key, json_object_new_string(eq + 1));
	}
	for (int i = 0; argv[i]; i++)
		json_object_array_add(args, json_object_new_string(argv[i]));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "pid_start", json_object_new_int64((int64_t)start));
	json_object_object_add(o, "created", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "uid", json_object_new_int64(getuid()));
	json_object_object_add(o, "user", json_object_new_string(pw ? pw->pw_name : uidbuf));
	json_object_object_add(o, "ttl", json_object_new_int64((int64_t)r->ttl));
	json_object_object_add(o, "labels", labels);
	json_object_object_add(o, "argv", args);
	json_object_object_add(o, "vcpus", json_object_new_int((int)r->vcpus));
	json_object_object_add(o, "mem_mib", json_object_new_int64((int64_t)(r->mem >> 20)));
	ret = state_write_json(dir, "meta.json", o, err);
	json_object_put(o);
	return ret;
}

/* Fork the detached VM process and record it; *pid on success. */
static int spawn(const struct create_req *r, const char *dir, pid_t *pid)
{
	char ttl[32], err[STATE_ERR_MAX];
	char **argv = child_argv(r, dir, ttl, sizeof(ttl));
	uint64_t start = 0;
	int nullfd, logfd = -1, dfd, ret;

	if (!argv)
		return -ENOMEM;
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dfd = state_dir_open(dir, err);
	if (nullfd < 0 || dfd < 0) {
		ret = nullfd < 0 ? -errno : dfd;
		cli_err("create", "%s: %s", r->name, dfd < 0 ? err : "cannot open /dev/null");
		goto out;
	}
	/* DIR is new: the log must be too, never a file planted there. */
	logfd = openat(dfd, "vmon.log", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
		       0600);
	ret = logfd < 0 ? -errno : 0;
	close(dfd);
	if (ret) {
		cli_err("create", "%s: cannot create %s/vmon.log: %s", r->name, dir, strerror(-ret));
		goto out;
	}
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		ret = -errno;
		cli_err("create", "%s: fork: %s", r->name, strerror(-ret));
		goto out;
	}
	if (*pid == 0)
		spawn_child(argv, nullfd, logfd);
	/* Our unreaped child: its pid cannot be reused while we read this. */
	state_proc_start(*pid, &start);
	ret = write_meta(r, dir, *pid, start, argv, err);
	if (ret) {
		cli_err("create", "%s", err);
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
out:
	if (nullfd >= 0)
		close(nullfd);
	if (logfd >= 0)
		close(logfd);
	free(argv);
	return ret;
}

/* Name, limits, directory, process: all under the root's lock. */
static int create_locked(const struct create_req *r, const char *root, char *dir, pid_t *pid)
{
	struct state_limits lim;
	struct state_usage use, host;
	struct state_entry e;
	char err[STATE_ERR_MAX];
	int rootfd, ret;

	if (state_entry_load(root, r->name, &e) == 0) {
		if (state_status_live(e.status))
			cli_err("create", "%s: exists (%s)", r->name, state_status_name(e.status));
		else
			cli_err("create", "%s: exists (%s); vmon rm %s first", r->name,
				state_status_name(e.status), r->name);
		state_entry_free(&e);
		return CLI_FAIL;
	}
	if (state_limits_load(&lim, err) || state_usage_count(root, NULL, &use, err)) {
		cli_err("create", "%s", err);
		return CLI_FAIL;
	}
	if (!state_usage_host(getpid(), &host))
		state_usage_merge(&use, &host); /* VMs of other roots and plain `vmon run`s */
	if (state_limits_check(&lim, &use, r->mem, err)) {
		cli_err("create", "%s: %s", r->name, err);
		return CLI_FAIL;
	}
	rootfd = state_dir_open(root, err);
	if (rootfd < 0) {
		cli_err("create", "%s", err);
		return CLI_FAIL;
	}
	/* mkdirat creates or fails (EEXIST, a planted symlink included): it follows nothing. */
	ret = mkdirat(rootfd, r->name, 0700) < 0 ? -errno : 0;
	close(rootfd);
	if (ret) {
		cli_err("create", "cannot create %s: %s", dir, strerror(-ret));
		return CLI_FAIL;
	}
	if (spawn(r, dir, pid)) {
		state_rmtree(dir);
		return CLI_FAIL;
	}
	return CLI_OK;
}

static void print_log(const char *dir)
{
	char line[1024], err[STATE_ERR_MAX];
	int dfd = state_dir_open(dir, err), fd;
	FILE *f;

	if (dfd < 0)
		return;
	fd = openat(dfd, "vmon.log", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  | %s%s", line, strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

/* Wait for "Running" (or "Not started" without --kernel) or the child's exit. */
static int wait_running(const struct create_req *r, const char *root, const char *dir, pid_t pid)
{
	const struct timespec ts = { 0, CREATE_POLL_MS * 1000000L };
	struct state_entry e;
	int status, ret;

	for (int waited = 0; waited <= CREATE_WAIT_MS; waited += CREATE_POLL_MS) {
		int exited = waitpid(pid, &status, WNOHANG) == pid;

		ret = state_entry_load(root, r->name, &e);
		if (!ret) {
			int up = e.has_run && (!strcmp(e.run.state, "Running") ||
					       !strcmp(e.run.state, "Paused") ||
					       (!r->has_kernel && !strcmp(e.run.state, "Not started")));
			int done_ok = exited && e.has_run && !strcmp(e.run.state, "Stopped") &&
				      e.run.has_exit && e.run.exit_status == 0;

			state_entry_free(&e);
			if (up && !exited) {
				printf("%s: started (pid %d)\n", r->name, (int)pid);
				return CLI_OK;
			}
			if (done_ok) {
				printf("%s: started (pid %d) and already stopped (exit status 0)\n",
				       r->name, (int)pid);
				return CLI_OK;
			}
		}
		if (exited) {
			cli_err("create", "%s: the VM process exited (%s %d); its log:", r->name,
				WIFEXITED(status) ? "status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			print_log(dir);
			return CLI_FAIL;
		}
		nanosleep(&ts, NULL);
	}
	cli_err("create", "%s: not running after %d s (pid %d still up); see %s/%s/vmon.log",
		r->name, CREATE_WAIT_MS / 1000, (int)pid, root, r->name);
	return CLI_FAIL;
}

int cli_create(int argc, char **argv)
{
	char root[STATE_PATH_MAX], dir[STATE_PATH_MAX], err[STATE_ERR_MAX];
	struct create_req r;
	pid_t pid = 0;
	int ret, lock;

	if (cli_wants_help(argc, argv)) {
		fputs(help_create, stdout);
		return CLI_OK;
	}
	ret = parse_create(argc, argv, &r);
	if (ret)
		goto out;
	if (!state_name_valid(r.name)) {
		ret = cli_usage("create", "'%s' is not a valid VM name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63})",
				r.name);
		goto out;
	}
	if (state_root(root, sizeof(root), err) || (lock = state_lock(root, err)) < 0) {
		cli_err("create", "%s", err);
		ret = CLI_FAIL;
		goto out;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", root, r.name) >= sizeof(dir) - 32) {
		cli_err("create", "%s/%s: path too long", root, r.name);
		close(lock);
		ret = CLI_FAIL;
		goto out;
	}
	ret = create_locked(&r, root, dir, &pid);
	close(lock);
	if (!ret)
		ret = wait_running(&r, root, dir, pid);
out:
	free(r.run_argv);
	return ret;
}
