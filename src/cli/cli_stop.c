/*
 * cli_stop.c: `vmon stop` (SIGTERM, a grace period, SIGKILL; the entry
 * stays, stopped) and `vmon rm` (removes a dead entry's directory; with
 * --force stops a live one first).
 */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_impl.h"
#include "config.h"

#define CLI_POLL_NS      (20 * 1000 * 1000L)
#define CLI_KILL_WAIT_MS 5000

static const char help_stop[] =
	"Usage: vmon stop NAME [--timeout SECS]\n"
	"\n"
	"Stop VM NAME: SIGTERM to its process (after checking its pid and start time\n"
	"are still the ones `vmon create` recorded), then SIGKILL if it has not exited\n"
	"after SECS seconds (default 10; 10s, 1m also work). The entry stays, shown\n"
	"as stopped with the exit status the VM process recorded, until `vmon rm`.\n"
	"Stopping a VM that is not live does nothing and succeeds.\n"
	"Exit status: 0 stopped, 1 failure, 2 usage error.\n";

static const char help_rm[] =
	"Usage: vmon rm NAME [--force]\n"
	"\n"
	"Remove VM NAME's directory (meta, state, logs, serial.log). Refuses a live\n"
	"VM unless --force, which stops it first as `vmon stop` does.\n"
	"Exit status: 0 removed, 1 failure (no such VM, live VM), 2 usage error.\n";

/* Wait up to ms for the entry's process to be gone; 1 when it is. */
static int wait_gone(const struct state_entry *e, long ms)
{
	const struct timespec ts = { 0, CLI_POLL_NS };

	for (long waited = 0;; waited += CLI_POLL_NS / 1000000) {
		if (!state_pid_matches(e->meta.pid, e->meta.pid_start))
			return 1;
		if (waited >= ms)
			return 0;
		nanosleep(&ts, NULL);
	}
}

/* The process died from SIGKILL: record that in state.json, as it could not. */
static void record_killed(const char *cmd, struct state_entry *e, unsigned timeout)
{
	struct json_object *o = e->has_run ? json_object_get(e->run.root) : json_object_new_object();
	char reason[128], err[STATE_ERR_MAX];

	snprintf(reason, sizeof(reason), "killed by vmon stop (SIGKILL after %u s)", timeout);
	json_object_object_add(o, "state", json_object_new_string("Stopped"));
	json_object_object_add(o, "pid", json_object_new_int(e->meta.pid));
	json_object_object_add(o, "updated", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "exit_status", json_object_new_int(128 + SIGKILL));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	if (state_write_json(e->dir, "state.json", o, err))
		cli_err(cmd, "%s", err);
	json_object_put(o);
}

int cli_stop_entry(const char *cmd, struct state_entry *e, unsigned timeout)
{
	if (!state_status_live(e->status))
		return 0;
	if (!state_pid_matches(e->meta.pid, e->meta.pid_start))
		return 0; /* died since it was loaded */
	if (kill(e->meta.pid, SIGTERM) < 0 && errno != ESRCH) {
		int ret = -errno;

		cli_err(cmd, "%s: cannot signal pid %d: %s", e->name, (int)e->meta.pid, strerror(-ret));
		return ret;
	}
	if (wait_gone(e, (long)timeout * 1000))
		return 0;
	cli_err(cmd, "%s: still running %u s after SIGTERM: sending SIGKILL", e->name, timeout);
	/* Re-check right before the kill: the pid must still be our VM. */
	if (state_pid_matches(e->meta.pid, e->meta.pid_start) &&
	    kill(e->meta.pid, SIGKILL) < 0 && errno != ESRCH) {
		int ret = -errno;

		cli_err(cmd, "%s: cannot kill pid %d: %s", e->name, (int)e->meta.pid, strerror(-ret));
		return ret;
	}
	if (!wait_gone(e, CLI_KILL_WAIT_MS)) {
		cli_err(cmd, "%s: pid %d survived SIGKILL", e->name, (int)e->meta.pid);
		return -ETIMEDOUT;
	}
	record_killed(cmd, e, timeout);
	return 0;
}

/* "NAME: stopped (exit status N: reason)" from the state.json now on disk. */
static void print_stopped(const char *root, const char *name)
{
	struct state_entry e;

	if (state_entry_load(root, name, &e)) {
		printf("%s: stopped\n", name);
		return;
	}
	if (e.has_run && e.run.has_exit)
		printf("%s: %s (exit status %d%s%s)\n", name, state_status_name(e.status),
		       e.run.exit_status, e.run.reason[0] ? ": " : "", e.run.reason);
	else
		printf("%s: %s\n", name, state_status_name(e.status));
	state_entry_free(&e);
}

int cli_stop(int argc, char **argv)
{
	char root[STATE_PATH_MAX];
	const char *name = NULL, *val;
	struct state_entry e;
	unsigned timeout = CLI_STOP_TIMEOUT;
	int ret, missing;

	if (cli_wants_help(argc, argv)) {
		fputs(help_stop, stdout);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if ((val = cli_opt_value(argc, argv, &i, "--timeout", &missing))) {
			uint64_t secs;

			if (config_parse_duration(val, &secs) || secs > 86400)
				return cli_usage("stop", "--timeout: '%s' is not a number of seconds (1-86400)",
						 val);
			timeout = (unsigned)secs;
		} else if (missing) {
			return cli_usage("stop", "option '%s' needs a value", argv[i]);
		} else if (argv[i][0] == '-' || name) {
			return cli_usage("stop", "unexpected argument '%s'", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (!name)
		return cli_usage("stop", "missing NAME");
	ret = cli_load("stop", name, root, &e);
	if (ret)
		return ret;
	if (!state_status_live(e.status)) {
		printf("%s: not running (%s)\n", e.name, state_status_name(e.status));
		state_entry_free(&e);
		return CLI_OK;
	}
	ret = cli_stop_entry("stop", &e, timeout);
	state_entry_free(&e);
	if (ret)
		return CLI_FAIL;
	print_stopped(root, name);
	return CLI_OK;
}

int cli_rm(int argc, char **argv)
{
	char root[STATE_PATH_MAX];
	const char *name = NULL;
	struct state_entry e;
	int force = 0, ret;

	if (cli_wants_help(argc, argv)) {
		fputs(help_rm, stdout);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))
			force = 1;
		else if (argv[i][0] == '-' || name)
			return cli_usage("rm", "unexpected argument '%s'", argv[i]);
		else
			name = argv[i];
	}
	if (!name)
		return cli_usage("rm", "missing NAME");
	ret = cli_load("rm", name, root, &e);
	if (ret)
		return ret;
	if (state_status_live(e.status)) {
		if (!force) {
			cli_err("rm", "%s is live (%s); vmon stop %s first, or vmon rm --force %s",
				e.name, state_status_name(e.status), e.name, e.name);
			state_entry_free(&e);
			return CLI_FAIL;
		}
		if (cli_stop_entry("rm", &e, CLI_STOP_TIMEOUT)) {
			state_entry_free(&e);
			return CLI_FAIL;
		}
	}
	ret = state_rmtree(e.dir);
	if (ret)
		cli_err("rm", "cannot remove %s: %s", e.dir, strerror(-ret));
	else
		printf("%s: removed\n", e.name);
	state_entry_free(&e);
	return ret ? CLI_FAIL : CLI_OK;
}
