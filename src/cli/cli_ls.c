/*
 * cli_ls.c: `vmon ls` (a table or JSON of every entry under the state
 * root, from files and /proc only: no API calls, so it stays fast) and
 * `vmon gc` (removes stopped, stale and orphan entries past an age).
 */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_impl.h"
#include "config.h"

static const char help_ls[] =
	"Usage: vmon ls [--json]\n"
	"\n"
	"List the VMs under the state directory (VMON_STATE_DIR, else\n"
	"$XDG_RUNTIME_DIR/vmon, else /run/vmon for root): NAME STATE VCPUS MEM UPTIME\n"
	"TTL-LEFT OWNER LABELS. STATE is running, paused, not-started, starting,\n"
	"stopped, stale (state.json says live but the process is gone or is another\n"
	"process) or orphan (no readable meta.json). Reads files only.\n"
	"  --json   an array of objects instead of the table\n";

static const char help_gc[] =
	"Usage: vmon gc [--older-than DURATION] [--yes]\n"
	"\n"
	"Find entries to collect: stopped or stale VMs whose stop time (state.json\n"
	"\"updated\", else meta.json \"created\") is older than DURATION, directories\n"
	"without meta.json older than DURATION, and socket files left in a dead VM's\n"
	"directory. Live VMs are never touched.\n"
	"  --older-than DURATION  e.g. 30s, 10m, 1h, 2d; a bare number is seconds\n"
	"                         (default 1h)\n"
	"  --yes                  remove them (without it, only list them)\n"
	"Prints \"would remove NAME (reason)\" or \"removed NAME (reason)\" per item.\n";

/* A row's numbers: from state.json when present, else meta.json. */
static void entry_size(const struct state_entry *e, unsigned *vcpus, uint64_t *mem_mib)
{
	*vcpus = e->has_run && e->run.vcpus ? e->run.vcpus : e->meta.vcpus;
	*mem_mib = e->has_run && e->run.mem_mib ? e->run.mem_mib : e->meta.mem_mib;
}

static void labels_text(const struct state_entry *e, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	if (e->meta.labels) {
		json_object_object_foreach(e->meta.labels, k, v) {
			int n = snprintf(buf + off, len - off, "%s%s=%s", off ? "," : "", k,
					 json_object_get_string(v));

			if (n < 0 || (size_t)n >= len - off)
				break;
			off += (size_t)n;
		}
	}
	if (!off)
		snprintf(buf, len, "-");
}

static int64_t entry_uptime(const struct state_entry *e, int64_t now)
{
	if (!state_status_live(e->status) || !e->has_run || !e->run.started)
		return -1;
	return now - e->run.started;
}

static void ls_row(const struct state_entry *e, int64_t now, int width)
{
	char mem[32] = "-", cpus[16] = "-", up[32] = "-", ttl[32] = "-", labels[512];
	uint64_t mem_mib;
	unsigned vcpus;
	int64_t t;

	entry_size(e, &vcpus, &mem_mib);
	if (vcpus)
		snprintf(cpus, sizeof(cpus), "%u", vcpus);
	if (mem_mib)
		state_fmt_size(mem_mib << 20, mem, sizeof(mem));
	t = entry_uptime(e, now);
	if (t >= 0)
		state_fmt_duration(t, up, sizeof(up));
	if (e->has_meta && e->meta.ttl && state_status_live(e->status))
		state_fmt_duration(state_ttl_left(e->meta.created, e->meta.ttl, now), ttl,
				   sizeof(ttl));
	labels_text(e, labels, sizeof(labels));
	printf("%-*s %-11s %5s %6s %8s %8s %-10s %s\n", width, e->name,
	       state_status_name(e->status), cpus, mem, up, ttl,
	       e->has_meta ? e->meta.user : "-", labels);
}

static struct json_object *ls_json(const struct state_entry *e, int64_t now)
{
	struct json_object *o = json_object_new_object();
	uint64_t mem_mib;
	unsigned vcpus;
	int64_t t;

	entry_size(e, &vcpus, &mem_mib);
	json_object_object_add(o, "name", json_object_new_string(e->name));
	json_object_object_add(o, "state", json_object_new_string(state_status_name(e->status)));
	json_object_object_add(o, "dir", json_object_new_string(e->dir));
	json_object_object_add(o, "pid", e->has_meta ? json_object_new_int(e->meta.pid) : NULL);
	json_object_object_add(o, "vcpus", vcpus ? json_object_new_int((int)vcpus) : NULL);
	json_object_object_add(o, "mem_mib", mem_mib ? json_object_new_int64((int64_t)mem_mib) : NULL);
	t = entry_uptime(e, now);
	json_object_object_add(o, "uptime", t >= 0 ? json_object_new_int64(t) : NULL);
	json_object_object_add(o, "ttl_left",
			       e->has_meta && e->meta.ttl && state_status_live(e->status) ?
				       json_object_new_int64(state_ttl_left(e->meta.created,
									    e->meta.ttl, now)) :
				       NULL);
	json_object_object_add(o, "owner", e->has_meta ? json_object_new_string(e->meta.user) : NULL);
	json_object_object_add(o, "uid", e->has_meta ? json_object_new_int64(e->meta.uid) : NULL);
	json_object_object_add(o, "labels", e->meta.labels ? json_object_get(e->meta.labels) :
							      json_object_new_object());
	if (e->has_run && e->run.has_exit)
		json_object_object_add(o, "exit_status", json_object_new_int(e->run.exit_status));
	if (e->has_run && e->run.reason[0])
		json_object_object_add(o, "reason", json_object_new_string(e->run.reason));
	return o;
}

int cli_ls(int argc, char **argv)
{
	char root[STATE_PATH_MAX], err[STATE_ERR_MAX];
	struct state_entry *v;
	int64_t now = time(NULL);
	int json = 0, width = 4;
	size_t n;

	if (cli_wants_help(argc, argv)) {
		fputs(help_ls, stdout);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else
			return cli_usage("ls", "unexpected argument '%s'", argv[i]);
	}
	if (state_root(root, sizeof(root), err) || state_list(root, &v, &n, err)) {
		cli_err("ls", "%s", err);
		return CLI_FAIL;
	}
	if (json) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, ls_json(&v[i], now));
		puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(a);
	} else {
		for (size_t i = 0; i < n; i++)
			if ((int)strlen(v[i].name) > width)
				width = (int)strlen(v[i].name);
		printf("%-*s %-11s %5s %6s %8s %8s %-10s %s\n", width, "NAME", "STATE", "VCPUS",
		       "MEM", "UPTIME", "TTL-LEFT", "OWNER", "LABELS");
		for (size_t i = 0; i < n; i++)
			ls_row(&v[i], now, width);
	}
	state_list_free(v, n);
	return CLI_OK;
}

/* ---- gc */

struct gc_opts {
	uint64_t older;
	int yes;
	int64_t now;
	int failed;
};

static void gc_report(struct gc_opts *o, const char *what, const char *reason, int ret)
{
	if (!o->yes)
		printf("would remove %s (%s)\n", what, reason);
	else if (!ret)
		printf("removed %s (%s)\n", what, reason);
	else {
		cli_err("gc", "cannot remove %s: %s", what, strerror(-ret));
		o->failed = 1;
	}
}

/* Socket files a dead VM left behind in its directory. */
static int gc_sockets(struct gc_opts *o, const struct state_entry *e)
{
	char path[STATE_PATH_MAX + 300], what[STATE_NAME_MAX + 300];
	struct dirent *d;
	int found = 0;
	DIR *dir = opendir(e->dir);

	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		size_t len = strlen(d->d_name);
		int ret = 0;

		if (len < 6 || strcmp(d->d_name + len - 5, ".sock"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", e->dir, d->d_name);
		snprintf(what, sizeof(what), "%s/%s", e->name, d->d_name);
		if (o->yes && unlink(path) < 0)
			ret = -errno;
		gc_report(o, what, "socket of a dead VM", ret);
		found++;
	}
	closedir(dir);
	return found;
}

/* 1 when e was (or would be) collected or had sockets to collect. */
static int gc_entry(struct gc_opts *o, const struct state_entry *e)
{
	char reason[128], age[32];
	int64_t t;

	if (state_status_live(e->status))
		return 0;
	if (e->status == STATE_ORPHAN) {
		t = e->mtime;
		snprintf(reason, sizeof(reason), "orphan: no meta.json");
	} else {
		t = e->has_run && e->run.updated ? e->run.updated : e->meta.created;
		state_fmt_duration(o->now - t, age, sizeof(age));
		snprintf(reason, sizeof(reason), "%s %s ago", state_status_name(e->status), age);
	}
	if (o->now - t < (int64_t)o->older)
		return e->status == STATE_ORPHAN ? 0 : gc_sockets(o, e);
	gc_report(o, e->name, reason, o->yes ? state_rmtree(e->dir) : 0);
	return 1;
}

int cli_gc(int argc, char **argv)
{
	struct gc_opts o = { .older = 3600, .now = time(NULL) };
	char root[STATE_PATH_MAX], err[STATE_ERR_MAX];
	struct state_entry *v;
	int lock, found = 0, missing;
	const char *val;
	size_t n;

	if (cli_wants_help(argc, argv)) {
		fputs(help_gc, stdout);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--yes") || !strcmp(argv[i], "-y")) {
			o.yes = 1;
		} else if ((val = cli_opt_value(argc, argv, &i, "--older-than", &missing))) {
			if (config_parse_duration(val, &o.older))
				return cli_usage("gc", "--older-than: '%s' is not a duration like 30m or 2h",
						 val);
		} else if (missing) {
			return cli_usage("gc", "option '%s' needs a value", argv[i]);
		} else {
			return cli_usage("gc", "unexpected argument '%s'", argv[i]);
		}
	}
	if (state_root(root, sizeof(root), err) || (lock = state_lock(root, err)) < 0) {
		cli_err("gc", "%s", err);
		return CLI_FAIL;
	}
	if (state_list(root, &v, &n, err)) {
		cli_err("gc", "%s", err);
		close(lock);
		return CLI_FAIL;
	}
	for (size_t i = 0; i < n; i++)
		found += gc_entry(&o, &v[i]);
	if (!found)
		printf("nothing to remove\n");
	state_list_free(v, n);
	close(lock);
	return o.failed ? CLI_FAIL : CLI_OK;
}
