/*
 * test_cli_state.c: unit tests for the CLI's pure parts (src/cli/state*.c,
 * src/cli/cli_console.c's escape filter): VM names, the limits file (good,
 * bad line, unknown key, bad values), limit decisions, duration and size
 * formatting, TTL left, meta/state parsing and stale detection, including
 * against this process's own /proc entry. Single-threaded.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli_impl.h"
#include "cli/state.h"
#include "test.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

TEST(name_valid)
{
	char max[65], over[66];

	memset(max, 'a', 64);
	max[64] = 0;
	memset(over, 'a', 65);
	over[65] = 0;
	CHECK(state_name_valid("web1"));
	CHECK(state_name_valid("a"));
	CHECK(state_name_valid("9lives"));
	CHECK(state_name_valid("a.b_c-d"));
	CHECK(state_name_valid(max));
	CHECK(!state_name_valid(over));
	CHECK(!state_name_valid(""));
	CHECK(!state_name_valid(NULL));
	CHECK(!state_name_valid(".hidden"));
	CHECK(!state_name_valid("-flag"));
	CHECK(!state_name_valid("_x"));
	CHECK(!state_name_valid(".."));
	CHECK(!state_name_valid("a/b"));
	CHECK(!state_name_valid("a b"));
	CHECK(!state_name_valid("caf\xc3\xa9"));
}

TEST(limits_good)
{
	char err[STATE_ERR_MAX] = "";
	struct state_limits l;
	int ret = state_limits_parse("# host limits\n"
				     "\n"
				     "max_vms = 2\n"
				     "  max_mem=8G   # all users\n"
				     "max_vms_per_user = 1\n"
				     "max_mem_per_user = 512\n",
				     "lim.conf", &l, err);

	CHECK_EQ(ret, 0);
	CHECK_EQ(l.max_vms, 2);
	CHECK_EQ(l.max_mem, 8 * GiB);
	CHECK_EQ(l.max_vms_per_user, 1);
	CHECK_EQ(l.max_mem_per_user, 512 * MiB); /* a bare number is MiB, as --mem */
	/* An empty file: no limits. */
	CHECK_EQ(state_limits_parse("", "x", &l, err), 0);
	CHECK(l.max_vms == STATE_NO_LIMIT && l.max_mem == STATE_NO_LIMIT);
	CHECK(l.max_vms_per_user == STATE_NO_LIMIT && l.max_mem_per_user == STATE_NO_LIMIT);
	/* Zero is a limit (no VM allowed), not "none". */
	CHECK_EQ(state_limits_parse("max_vms = 0", "x", &l, err), 0);
	CHECK_EQ(l.max_vms, 0);
}

TEST(limits_bad)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "max_vms = 2\nmax_vms 3\n", "lim.conf:2: want 'key = value'" },
		{ "\n\n# c\nmax_cpus = 4\n", "lim.conf:4: unknown key 'max_cpus'" },
		{ "max_vms = two\n", "lim.conf:1: max_vms: 'two' is not a number" },
		{ "max_vms = -1\n", "lim.conf:1: max_vms: '-1'" },
		{ "max_vms =\n", "lim.conf:1: max_vms: ''" },
		{ "max_mem = 8X\n", "lim.conf:1: max_mem: '8X' is not a size" },
		{ "max_mem_per_user = lots\n", "lim.conf:1: max_mem_per_user: 'lots'" },
		{ " = 3\n", "lim.conf:1: unknown key ''" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[STATE_ERR_MAX] = "";
		struct state_limits l = { 7, 7, 7, 7 };
		int ret = state_limits_parse(cases[i].text, "lim.conf", &l, err);

		if (ret != -EINVAL || !strstr(err, cases[i].want))
			fprintf(stderr, "  case %zu: ret %d err \"%s\"\n", i, ret, err);
		CHECK_EQ(ret, -EINVAL);
		CHECK(strstr(err, cases[i].want) != NULL);
		CHECK_EQ(l.max_vms, 7); /* untouched on error */
	}
}

TEST(limits_load_env)
{
	char path[] = "/tmp/vmon-limits-XXXXXX", err[STATE_ERR_MAX] = "";
	struct state_limits l;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, "max_vms = 3\nbogus\n", 18) == 18);
	close(fd);
	if (geteuid() != 0) { /* VMON_LIMITS is root's only */
		unlink(path);
		return;
	}
	setenv("VMON_LIMITS", path, 1);
	CHECK_EQ(state_limits_load(&l, err), -EINVAL);
	CHECK(strstr(err, ":2: want 'key = value'") != NULL);
	CHECK(strstr(err, path) != NULL);
	unlink(path);
	/* Absent file: no limits, no error. */
	CHECK_EQ(state_limits_load(&l, err), 0);
	CHECK(l.max_vms == STATE_NO_LIMIT);
	unsetenv("VMON_LIMITS");
}

/* The limits file must be root's and only root's to change (issue #12). */
TEST(limits_trusted)
{
	struct stat f = { .st_mode = S_IFREG | 0644, .st_uid = 0 };
	struct stat d = { .st_mode = S_IFDIR | 0755, .st_uid = 0 };
	struct stat x;

	CHECK(state_limits_trusted(&f, &d));
	x = f, x.st_uid = 1000;
	CHECK(!state_limits_trusted(&x, &d));
	x = f, x.st_mode = S_IFREG | 0664;
	CHECK(!state_limits_trusted(&x, &d));
	x = f, x.st_mode = S_IFREG | 0646;
	CHECK(!state_limits_trusted(&x, &d));
	x = f, x.st_mode = S_IFIFO | 0644;
	CHECK(!state_limits_trusted(&x, &d));
	x = d, x.st_uid = 1000;
	CHECK(!state_limits_trusted(&f, &x));
	x = d, x.st_mode = S_IFDIR | 0777;
	CHECK(!state_limits_trusted(&f, &x));
	x = d, x.st_mode = S_IFDIR | 01777; /* /tmp: others cannot rename root's file */
	CHECK(state_limits_trusted(&f, &x));
}

/* In an empty host: max_mem = 8M from VMON_LIMITS, no VM live. */
static void enforce_8m(struct test_ctx *t_)
{
	char err[STATE_ERR_MAX] = "";

	CHECK_EQ(state_limits_enforce(8 * MiB, NULL, err), 0);
	CHECK_EQ(state_limits_enforce(16 * MiB, NULL, err), -EPERM);
	CHECK(strstr(err, "limit max_mem = 8M exceeded") != NULL);
}

/*
 * Run fn in a child that is PID 1 of a new PID namespace with /proc mounted
 * for it alone (root only), so no process of the host is in sight. The
 * child's CHECKs come back as its exit status: 0 when fn passed.
 */
static int in_empty_pid_ns(struct test_ctx *t_, void (*fn)(struct test_ctx *))
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct test_ctx c = { 0 };
		pid_t inner;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(2);
		inner = fork(); /* PID 1 of the new namespace */
		if (inner < 0)
			_exit(2);
		if (inner == 0) {
			if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
				_exit(2);
			fn(&c);
			_exit(c.failed);
		}
		_exit(waitpid(inner, &status, 0) == inner && WIFEXITED(status) ?
			      WEXITSTATUS(status) : 2);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(limits_file_refusals)
{
	char dir[] = "/tmp/vmon-limdir-XXXXXX", path[64], link[64], err[STATE_ERR_MAX] = "";
	struct state_limits l;
	FILE *f;

	if (geteuid() != 0) {
		fprintf(stderr, "  SKIP limits_file_refusals: needs root (VMON_LIMITS is root's only)\n");
		return;
	}
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/limits.conf", dir);
	snprintf(link, sizeof(link), "%s/link.conf", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("max_mem = 8M\n", f);
	fclose(f);
	CHECK_EQ(chmod(path, 0644), 0);
	setenv("VMON_LIMITS", path, 1);
	CHECK_EQ(state_limits_load(&l, err), 0);
	CHECK_EQ(l.max_mem, 8 * MiB);
	CHECK_EQ(chmod(path, 0666), 0);
	CHECK_EQ(state_limits_load(&l, err), -EPERM);
	CHECK(strstr(err, "refused") != NULL);
	CHECK_EQ(chmod(path, 0644), 0);
	CHECK_EQ(chown(path, 65534, 65534), 0);
	CHECK_EQ(state_limits_load(&l, err), -EPERM);
	CHECK_EQ(chown(path, 0, 0), 0);
	CHECK_EQ(chmod(dir, 0777), 0);
	CHECK_EQ(state_limits_load(&l, err), -EPERM);
	CHECK_EQ(chmod(dir, 0700), 0);
	CHECK_EQ(symlink(path, link), 0);
	setenv("VMON_LIMITS", link, 1);
	CHECK_EQ(state_limits_load(&l, err), -EPERM);
	CHECK(strstr(err, "symlink") != NULL);
	/*
	 * The VM process's check: 8M alone is over a max_mem of 8M? No; 16M is.
	 * It counts the host's VM processes too (state_usage_host), so it runs
	 * in a PID namespace of its own with its own /proc: no VM is live there,
	 * whatever runs on the host.
	 */
	setenv("VMON_LIMITS", path, 1);
	setenv("VMON_STATE_DIR", dir, 1); /* no live VMs there */
	CHECK_EQ(in_empty_pid_ns(t_, enforce_8m), 0);
	unsetenv("VMON_STATE_DIR");
	unsetenv("VMON_LIMITS");
	unlink(link);
	unlink(path);
	rmdir(dir);
}

/* A non-root caller's VMON_LIMITS is ignored: the path stays the system file. */
TEST(limits_env_root_only)
{
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		setenv("VMON_LIMITS", "/tmp/mine.conf", 1);
		CHECK(strcmp(state_limits_path(), "/etc/vmon/limits.conf") == 0);
		unsetenv("VMON_LIMITS");
		return;
	}
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		setenv("VMON_LIMITS", "/tmp/mine.conf", 1);
		_exit(strcmp(state_limits_path(), "/etc/vmon/limits.conf") ? 1 : 0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	setenv("VMON_LIMITS", "/tmp/mine.conf", 1);
	CHECK(strcmp(state_limits_path(), "/tmp/mine.conf") == 0);
	unsetenv("VMON_LIMITS");
}

TEST(limits_check)
{
	struct state_limits l;
	struct state_usage u = { 0 };
	char err[STATE_ERR_MAX] = "";

	state_limits_none(&l);
	u.vms = 1000;
	u.mem = 1ULL << 50;
	CHECK_EQ(state_limits_check(&l, &u, 256 * MiB, err), 0);

	state_limits_none(&l);
	l.max_vms = 2;
	u = (struct state_usage){ .vms = 1 };
	CHECK_EQ(state_limits_check(&l, &u, 256 * MiB, err), 0);
	u.vms = 2;
	CHECK_EQ(state_limits_check(&l, &u, 256 * MiB, err), -EDQUOT);
	CHECK(!strcmp(err, "limit max_vms = 2 reached (2 VMs live)"));

	state_limits_none(&l);
	l.max_mem = 8 * GiB;
	u = (struct state_usage){ .vms = 3, .mem = 6 * GiB };
	CHECK_EQ(state_limits_check(&l, &u, 2 * GiB, err), 0); /* exactly full is fine */
	CHECK_EQ(state_limits_check(&l, &u, 4 * GiB, err), -EDQUOT);
	CHECK(!strcmp(err, "limit max_mem = 8G exceeded (6G live + 4G requested)"));
	u.mem = 0;
	CHECK_EQ(state_limits_check(&l, &u, 9 * GiB, err), -EDQUOT); /* alone too big */

	state_limits_none(&l);
	l.max_vms_per_user = 1;
	l.max_mem_per_user = 1 * GiB;
	u = (struct state_usage){ .vms = 5, .mem = 5 * GiB, .user_vms = 0, .user_mem = 0 };
	CHECK_EQ(state_limits_check(&l, &u, 512 * MiB, err), 0);
	u.user_vms = 1;
	CHECK_EQ(state_limits_check(&l, &u, 512 * MiB, err), -EDQUOT);
	CHECK(strstr(err, "limit max_vms_per_user = 1 reached") != NULL);
	l.max_vms_per_user = STATE_NO_LIMIT;
	u.user_mem = 768 * MiB;
	CHECK_EQ(state_limits_check(&l, &u, 512 * MiB, err), -EDQUOT);
	CHECK(strstr(err, "limit max_mem_per_user = 1G exceeded") != NULL);
}

TEST(fmt_duration)
{
	static const struct {
		int64_t s;
		const char *want;
	} cases[] = {
		{ 0, "0s" }, { 59, "59s" }, { 60, "1m00s" }, { 200, "3m20s" },
		{ 3599, "59m59s" }, { 3600, "1h00m" }, { 7500, "2h05m" }, { 86399, "23h59m" },
		{ 86400, "1d00h" }, { 273600, "3d04h" }, { -5, "0s" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		state_fmt_duration(cases[i].s, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want))
			fprintf(stderr, "  %lld -> \"%s\", want \"%s\"\n", (long long)cases[i].s, buf,
				cases[i].want);
		CHECK(!strcmp(buf, cases[i].want));
	}
}

TEST(fmt_size_and_ttl)
{
	char buf[32];

	state_fmt_size(8 * GiB, buf, sizeof(buf));
	CHECK(!strcmp(buf, "8G"));
	state_fmt_size(1536 * MiB, buf, sizeof(buf));
	CHECK(!strcmp(buf, "1536M"));
	state_fmt_size(4 * MiB, buf, sizeof(buf));
	CHECK(!strcmp(buf, "4M"));
	state_fmt_size(2ULL << 40, buf, sizeof(buf));
	CHECK(!strcmp(buf, "2T"));
	state_fmt_size(1000, buf, sizeof(buf));
	CHECK(!strcmp(buf, "1000B"));
	state_fmt_size(0, buf, sizeof(buf));
	CHECK(!strcmp(buf, "0B"));

	CHECK_EQ(state_ttl_left(1000, 60, 1000), 60);
	CHECK_EQ(state_ttl_left(1000, 60, 1045), 15);
	CHECK_EQ(state_ttl_left(1000, 60, 1060), 0);
	CHECK_EQ(state_ttl_left(1000, 60, 5000), 0); /* overdue: never negative */
}

TEST(classify)
{
	/* state.json says live: the process decides. */
	CHECK_EQ(state_classify(1, 1, "Running", 1), STATE_RUNNING);
	CHECK_EQ(state_classify(1, 1, "Running", 0), STATE_STALE);
	CHECK_EQ(state_classify(1, 1, "Paused", 1), STATE_PAUSED);
	CHECK_EQ(state_classify(1, 1, "Paused", 0), STATE_STALE);
	CHECK_EQ(state_classify(1, 1, "Not started", 1), STATE_NOT_STARTED);
	CHECK_EQ(state_classify(1, 1, "Not started", 0), STATE_STALE);
	/* Stopped stays stopped whatever the pid is now (it may be reused). */
	CHECK_EQ(state_classify(1, 1, "Stopped", 0), STATE_STOPPED);
	CHECK_EQ(state_classify(1, 1, "Stopped", 1), STATE_STOPPED);
	/* Before the VM process wrote state.json. */
	CHECK_EQ(state_classify(1, 0, NULL, 1), STATE_STARTING);
	CHECK_EQ(state_classify(1, 0, NULL, 0), STATE_STOPPED);
	/* No meta.json: an orphan, whatever state.json says. */
	CHECK_EQ(state_classify(0, 1, "Running", 1), STATE_ORPHAN);
	CHECK_EQ(state_classify(0, 0, NULL, 0), STATE_ORPHAN);
	CHECK(!state_status_live(STATE_STALE));
	CHECK(!state_status_live(STATE_STOPPED));
	CHECK(!state_status_live(STATE_ORPHAN));
	CHECK(state_status_live(STATE_RUNNING));
	CHECK(!strcmp(state_status_name(STATE_STALE), "stale"));
}

TEST(pid_matches)
{
	uint64_t start = 0;
	pid_t child;

	CHECK_EQ(state_proc_start(getpid(), &start), 0);
	CHECK(start > 0);
	CHECK(state_pid_matches(getpid(), start));
	/* Same pid, another start time: a reused pid is not our VM. */
	CHECK(!state_pid_matches(getpid(), start + 1));
	CHECK(!state_pid_matches(0, start));
	CHECK(!state_pid_matches(-1, start));
	/* A zombie is dead: an exited child not yet reaped. */
	child = fork();
	if (child == 0)
		_exit(0);
	CHECK(child > 0);
	if (child > 0) {
		uint64_t cs = 0;

		usleep(100 * 1000);
		CHECK_EQ(state_proc_start(child, &cs), -ESRCH);
		waitpid(child, NULL, 0);
		CHECK(!state_pid_matches(child, 1));
	}
}

TEST(meta_state_parse)
{
	char err[STATE_ERR_MAX] = "";
	struct state_meta m;
	struct state_run r;

	CHECK_EQ(state_meta_parse("{\"name\":\"web1\",\"pid\":1234,\"pid_start\":987654,"
				  "\"created\":1700000000,\"uid\":1000,\"user\":\"ann\",\"ttl\":60,"
				  "\"labels\":{\"env\":\"test\"},\"argv\":[\"vmon\",\"run\"]}",
				  &m, err),
		 0);
	CHECK(!strcmp(m.name, "web1"));
	CHECK_EQ(m.pid, 1234);
	CHECK_EQ(m.pid_start, 987654);
	CHECK_EQ(m.created, 1700000000);
	CHECK_EQ(m.uid, 1000);
	CHECK(!strcmp(m.user, "ann"));
	CHECK_EQ(m.ttl, 60);
	CHECK(m.labels != NULL);
	json_object_put(m.root);

	CHECK_EQ(state_meta_parse("{\"name\":\"../x\",\"pid\":1}", &m, err), -EINVAL);
	CHECK_EQ(state_meta_parse("{\"name\":\"x\"}", &m, err), -EINVAL);
	CHECK_EQ(state_meta_parse("[1,2]", &m, err), -EINVAL);
	CHECK_EQ(state_meta_parse("{\"name\":", &m, err), -EINVAL);
	CHECK_EQ(state_meta_parse("", &m, err), -EINVAL);

	CHECK_EQ(state_run_parse("{\"state\":\"Stopped\",\"pid\":99,\"started\":10,\"updated\":20,"
				 "\"vcpus\":2,\"mem_mib\":64,\"exit_status\":4,\"reason\":\"SIGTERM\"}",
				 &r, err),
		 0);
	CHECK(!strcmp(r.state, "Stopped"));
	CHECK_EQ(r.updated, 20);
	CHECK_EQ(r.vcpus, 2);
	CHECK_EQ(r.mem_mib, 64);
	CHECK(r.has_exit);
	CHECK_EQ(r.exit_status, 4);
	CHECK(!strcmp(r.reason, "SIGTERM"));
	json_object_put(r.root);
	CHECK_EQ(state_run_parse("{\"pid\":1}", &r, err), -EINVAL);
}

/* A hand-made entry: meta.json with our own pid, state.json "Running". */
static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

TEST(entry_stale_detection)
{
	char root[] = "/tmp/vmon-state-XXXXXX", dir[256], meta[512];
	struct state_entry e;
	uint64_t start = 0;

	CHECK(mkdtemp(root) != NULL);
	snprintf(dir, sizeof(dir), "%s/vm1", root);
	CHECK_EQ(mkdir(dir, 0700), 0);
	CHECK_EQ(state_proc_start(getpid(), &start), 0);
	CHECK_EQ(write_file(dir, "state.json", "{\"state\":\"Running\",\"pid\":1,\"started\":1}"), 0);

	/* Our own pid and start time: running. */
	snprintf(meta, sizeof(meta), "{\"name\":\"vm1\",\"pid\":%d,\"pid_start\":%llu}", (int)getpid(),
		 (unsigned long long)start);
	CHECK_EQ(write_file(dir, "meta.json", meta), 0);
	CHECK_EQ(state_entry_load(root, "vm1", &e), 0);
	CHECK_EQ(e.status, STATE_RUNNING);
	state_entry_free(&e);

	/* Our pid, another start time (pid reuse): stale, never running. */
	snprintf(meta, sizeof(meta), "{\"name\":\"vm1\",\"pid\":%d,\"pid_start\":%llu}", (int)getpid(),
		 (unsigned long long)start + 7);
	CHECK_EQ(write_file(dir, "meta.json", meta), 0);
	CHECK_EQ(state_entry_load(root, "vm1", &e), 0);
	CHECK_EQ(e.status, STATE_STALE);
	state_entry_free(&e);

	/* meta.json naming another VM is not this entry's: orphan. */
	CHECK_EQ(write_file(dir, "meta.json", "{\"name\":\"other\",\"pid\":1,\"pid_start\":1}"), 0);
	CHECK_EQ(state_entry_load(root, "vm1", &e), 0);
	CHECK_EQ(e.status, STATE_ORPHAN);
	state_entry_free(&e);

	CHECK_EQ(state_entry_load(root, "nope", &e), -ENOENT);
	CHECK_EQ(state_rmtree(root), 0);
	CHECK(access(root, F_OK) < 0);
}

/* ---- another user must not redirect our writes (issue #12) */

static void mkroot(char *root, size_t len)
{
	snprintf(root, len, "/tmp/vmon-test-root.XXXXXX");
	if (!mkdtemp(root))
		root[0] = 0;
}

static int slurp_is(const char *path, const char *want)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return !strcmp(buf, want);
}

TEST(state_dir_refusals)
{
	char root[64], link[96], err[STATE_ERR_MAX];

	mkroot(root, sizeof(root));
	CHECK(root[0]);
	CHECK_EQ(state_dir_check(root, err), 0);
	CHECK_EQ(chmod(root, 0777), 0);
	CHECK_EQ(state_dir_check(root, err), -EPERM);
	CHECK(strstr(err, "world-writable") != NULL);
	CHECK_EQ(chmod(root, 0720), 0);
	CHECK_EQ(state_dir_check(root, err), -EPERM);
	CHECK_EQ(chmod(root, 0755), 0);
	CHECK_EQ(state_dir_check(root, err), 0);
	/* A symlink to our own directory is refused all the same: it could be re-pointed. */
	snprintf(link, sizeof(link), "%s.lnk", root);
	CHECK_EQ(symlink(root, link), 0);
	CHECK_EQ(state_dir_check(link, err), -ENOTDIR);
	CHECK(strstr(err, "symlink") != NULL);
	unlink(link);
	if (geteuid() == 0) {
		CHECK_EQ(chown(root, 65534, 65534), 0);
		CHECK_EQ(state_dir_check(root, err), -EPERM);
		CHECK(strstr(err, "owned by uid 65534") != NULL);
		CHECK_EQ(chown(root, 0, 0), 0);
	}
	setenv("VMON_STATE_DIR", root, 1);
	CHECK_EQ(chmod(root, 0703), 0);
	{
		char buf[STATE_PATH_MAX];

		CHECK_EQ(state_root(buf, sizeof(buf), err), -EPERM);
		CHECK_EQ(chmod(root, 0700), 0);
		CHECK_EQ(state_root(buf, sizeof(buf), err), 0);
	}
	unsetenv("VMON_STATE_DIR");
	rmdir(root);
}

/* A symlink planted as state.json, its tmp file or .lock points at a victim: never followed. */
TEST(state_writes_follow_no_symlink)
{
	char root[64], victim[96], p[160], tmpname[64], err[STATE_ERR_MAX];
	struct json_object *o = json_object_new_object();
	struct state_entry e;
	FILE *f;
	int fd;

	mkroot(root, sizeof(root));
	snprintf(victim, sizeof(victim), "%s.victim", root);
	f = fopen(victim, "w");
	CHECK(f != NULL);
	fputs("precious", f);
	fclose(f);
	json_object_object_add(o, "state", json_object_new_string("Running"));

	snprintf(p, sizeof(p), "%s/state.json", root);
	CHECK_EQ(symlink(victim, p), 0);
	snprintf(tmpname, sizeof(tmpname), "state.json.%d.tmp", (int)getpid());
	snprintf(p, sizeof(p), "%s/%s", root, tmpname);
	CHECK_EQ(symlink(victim, p), 0);
	CHECK_EQ(state_write_json(root, "state.json", o, err), 0);
	CHECK(slurp_is(victim, "precious"));
	snprintf(p, sizeof(p), "%s/state.json", root);
	{
		struct stat st;

		CHECK_EQ(lstat(p, &st), 0);
		CHECK(S_ISREG(st.st_mode));
		CHECK_EQ(st.st_mode & 0777, 0600);
	}
	unlink(p);

	/* .lock as a symlink: refused, the victim untouched. */
	snprintf(p, sizeof(p), "%s/.lock", root);
	CHECK_EQ(symlink(victim, p), 0);
	CHECK(state_lock(root, err) < 0);
	CHECK(slurp_is(victim, "precious"));
	unlink(p);
	fd = state_lock(root, err);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);

	/* An entry whose meta.json is a FIFO or a symlink: loaded as an orphan, without blocking. */
	snprintf(p, sizeof(p), "%s/vm1", root);
	CHECK_EQ(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/vm1/meta.json", root);
	CHECK_EQ(mkfifo(p, 0600), 0);
	alarm(5);
	CHECK_EQ(state_entry_load(root, "vm1", &e), 0);
	alarm(0);
	CHECK_EQ(e.status, STATE_ORPHAN);
	state_entry_free(&e);
	/* A VM directory that is a symlink is no entry. */
	snprintf(p, sizeof(p), "%s/vm2", root);
	CHECK_EQ(symlink(root, p), 0);
	CHECK_EQ(state_entry_load(root, "vm2", &e), -ENOTDIR);
	state_entry_free(&e);
	/* Writing into a symlinked VM directory is refused. */
	CHECK(state_write_json(p, "state.json", o, err) < 0);
	snprintf(p, sizeof(p), "%s/vm2/state.json", root);
	CHECK(access(p, F_OK) < 0);
	/* A file name with a slash is refused. */
	CHECK_EQ(state_write_json(root, "../x", o, err), -EINVAL);

	json_object_put(o);
	CHECK_EQ(state_rmtree(root), 0);
	unlink(victim);
}

TEST(escape_filter)
{
	struct cli_escape e = { 0 };
	char out[64];
	size_t n = 99;

	CHECK_EQ(cli_escape_filter(&e, "abc\n", 4, out, &n), 0);
	CHECK_EQ(n, 4);
	CHECK(!memcmp(out, "abc\n", 4));
	/* Ctrl-A Ctrl-A: one Ctrl-A. */
	CHECK_EQ(cli_escape_filter(&e, "x\x01\x01y", 4, out, &n), 0);
	CHECK_EQ(n, 3);
	CHECK(!memcmp(out, "x\x01y", 3));
	/* Ctrl-A d detaches; what came before is still sent. */
	CHECK_EQ(cli_escape_filter(&e, "ls\x01" "dmore", 8, out, &n), 1);
	CHECK_EQ(n, 2);
	CHECK(!memcmp(out, "ls", 2));
	/* An escape split across reads. */
	e.pending = 0;
	CHECK_EQ(cli_escape_filter(&e, "\x01", 1, out, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(cli_escape_filter(&e, "d", 1, out, &n), 1);
	/* Ctrl-A then another key: both go through. */
	e.pending = 0;
	CHECK_EQ(cli_escape_filter(&e, "\x01q", 2, out, &n), 0);
	CHECK_EQ(n, 2);
	CHECK(!memcmp(out, "\x01q", 2));
}

/* The host-wide count reads /proc/PID/stat: live VM processes only, hostile names refused. */
static int64_t stat_mib(const char *text)
{
	char buf[160];
	size_t n = strlen(text);

	memcpy(buf, text, n + 1);
	return state_host_stat_mib(buf, n);
}

TEST(host_stat_mib)
{
	CHECK_EQ(stat_mib("4242 (vmon:128M) S 1 4242 4242 0 -1"), 128);
	CHECK_EQ(stat_mib("7 (vmon:999999999M) R 1"), 999999999);
	/* A zombie (not reaped yet) and a dead task are not live VMs. */
	CHECK_EQ(stat_mib("4242 (vmon:128M) Z 1 4242"), -1);
	CHECK_EQ(stat_mib("4242 (vmon:128M) X 1 4242"), -1);
	/* Other names: the CLI, a bare prefix, no digits, no unit, junk after the unit. */
	CHECK_EQ(stat_mib("1 (vmon) S 1"), -1);
	CHECK_EQ(stat_mib("1 (vmon:) S 1"), -1);
	CHECK_EQ(stat_mib("1 (vmon:M) S 1"), -1);
	CHECK_EQ(stat_mib("1 (vmon:12) S 1"), -1);
	CHECK_EQ(stat_mib("1 (vmon:12Mx) S 1"), -1);
	CHECK_EQ(stat_mib("1 (vmon:-1M) S 1"), -1);
	CHECK_EQ(stat_mib("1 (vmon:1000000000M) S 1"), -1);
	/* A name holding ") S (": the last ')' ends the name, which then is not ours. */
	CHECK_EQ(stat_mib("1 (a) S (vmon:4M) S 1"), -1);
	/* Truncated or malformed lines. */
	CHECK_EQ(stat_mib("1 (vmon:4M"), -1);
	CHECK_EQ(stat_mib("1 vmon:4M) S"), -1);
	CHECK_EQ(stat_mib(""), -1);
}

TEST_MAIN(T(name_valid), T(state_dir_refusals), T(state_writes_follow_no_symlink), T(limits_good), T(limits_bad), T(limits_load_env), T(limits_trusted),
	  T(limits_file_refusals), T(limits_env_root_only), T(limits_check),
	  T(fmt_duration), T(fmt_size_and_ttl), T(classify), T(pid_matches), T(meta_state_parse),
	  T(entry_stale_detection), T(escape_filter), T(host_stat_mib))
