/*
 * cli_snapshot.c: `vmon snapshot NAME DIR [--diff] [--paused]` and
 * `vmon restore DIR --name NAME [--allow-rollback] [--paused]`.
 *
 * Owns: the commands' argument checks, the pause/resume around a snapshot,
 * the snapshot directory's two file names (DIR/state, DIR/memory, as
 * vm_snapshot's directory form writes them), and, for a restore, starting
 * a managed VM process without a kernel (cli_create) and loading the
 * snapshot into it, or removing it again when the load is refused.
 * Does not own the snapshot itself: the VM process writes and reads the
 * files (PUT /snapshot/create, PUT /snapshot/load, src/api/vmm.c), with the
 * host key and the rollback rule of the host-wide store
 * (state_snapshot_store, cli/state.h).
 * Threads: the CLI's one.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_impl.h"
#include "cli/client.h"

static const char help_snapshot[] =
	"Usage: vmon snapshot NAME DIR [--diff] [--paused]\n"
	"\n"
	"Snapshot the managed VM NAME into directory DIR (created 0700 if absent):\n"
	"DIR/state, the state file (devices, vCPUs, the VM's configuration, its\n"
	"lineage and generation, authenticated with the host key) and DIR/memory,\n"
	"the guest's RAM. A running VM is paused for the snapshot and resumed after\n"
	"it; a VM that was paused stays paused. Files already in DIR are replaced.\n"
	"\n"
	"  --diff     only the pages the guest wrote since this VM process's last\n"
	"             snapshot (the VM must have taken one); restoring a diff is not\n"
	"             a command yet\n"
	"  --paused   leave the VM paused afterwards (`vmon resume NAME` runs it)\n"
	"\n"
	"Each snapshot takes the next generation of the VM's lineage, recorded in\n"
	"the host-wide store STATE_ROOT/.host/snapshot/ (see `vmon restore --help`).\n"
	"Exit status: 0 done, 1 the VM is not live or the snapshot failed (the\n"
	"reason is printed; a VM this command paused is resumed), 2 usage error.\n";

static const char help_restore[] =
	"Usage: vmon restore DIR --name NAME [--allow-rollback] [--paused]\n"
	"\n"
	"Start a new managed VM NAME from the full snapshot in DIR (DIR/state and\n"
	"DIR/memory, as `vmon snapshot` writes them): a `vmon create NAME` process\n"
	"without a kernel, into which the snapshot is loaded (PUT /snapshot/load).\n"
	"The VM is built from the configuration in the state file, its RAM mapped\n"
	"from DIR/memory (pages read on first touch), and goes on where it stopped.\n"
	"\n"
	"  --name NAME       the new VM's name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63},\n"
	"                    not in use)\n"
	"  --allow-rollback  restore a generation older than the newest one this host\n"
	"                    has seen of the VM's lineage; written to the audit log\n"
	"                    STATE_ROOT/.host/snapshot/audit.log first\n"
	"  --paused          leave the restored VM paused (`vmon resume NAME`)\n"
	"\n"
	"Refused, with the reason, and NAME removed again: a state file that is\n"
	"damaged or was written with another host key (another state root), a diff\n"
	"snapshot, and without --allow-rollback an older generation (the message\n"
	"names both). STATE_ROOT is VMON_STATE_DIR, else $XDG_RUNTIME_DIR/vmon,\n"
	"else /run/vmon for root; a tmpfs one loses the store at reboot, after which\n"
	"older snapshots are refused as foreign.\n"
	"Exit status: 0 restored, 1 failure, 2 usage error.\n";

int cli_snap_api(const char *cmd, const char *name, const char *sock, const char *method,
		    const char *path, const char *body, char **reply_body)
{
	char err[STATE_ERR_MAX], fault[512];
	struct client_reply reply;
	int ret;

	if (client_request(sock, method, path, body, &reply, err, sizeof(err))) {
		cli_err(cmd, "%s: %s", name, err);
		return CLI_FAIL;
	}
	ret = reply.status >= 200 && reply.status <= 299 ? 0 : CLI_FAIL;
	if (ret)
		cli_err(cmd, "%s: %s %s: %s", name, method, path,
			client_fault(&reply, fault, sizeof(fault)));
	if (reply_body && !ret)
		*reply_body = reply.body;
	else
		free(reply.body);
	return ret;
}

int cli_snap_vm_state(const char *cmd, const char *name, const char *sock, char *st, size_t len)
{
	struct json_object *o, *v;
	char *body = NULL;
	int ret = cli_snap_api(cmd, name, sock, "GET", "/", NULL, &body);

	if (ret)
		return ret;
	o = json_tokener_parse(body);
	free(body);
	if (!o || !json_object_object_get_ex(o, "state", &v)) {
		json_object_put(o);
		cli_err(cmd, "%s: GET / did not say the VM's state", name);
		return CLI_FAIL;
	}
	snprintf(st, len, "%s", json_object_get_string(v));
	json_object_put(o);
	return 0;
}

/* The two file paths of snapshot directory dir (made absolute: the VM process has its own cwd). */
static int snap_paths(const char *cmd, const char *dir, int make, char *state, char *mem)
{
	char abs[PATH_MAX];
	struct stat st;

	if (make && mkdir(dir, 0700) && errno != EEXIST) {
		cli_err(cmd, "cannot create %s: %s", dir, strerror(errno));
		return CLI_FAIL;
	}
	if (!realpath(dir, abs) || stat(abs, &st)) {
		cli_err(cmd, "%s: %s", dir, strerror(errno));
		return CLI_FAIL;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_err(cmd, "%s: not a directory", dir);
		return CLI_FAIL;
	}
	if ((size_t)snprintf(state, PATH_MAX, "%s/state", abs) >= PATH_MAX ||
	    (size_t)snprintf(mem, PATH_MAX, "%s/memory", abs) >= PATH_MAX) {
		cli_err(cmd, "%s: path too long", dir);
		return CLI_FAIL;
	}
	return 0;
}

/* A JSON body from key/value pairs: strings, or booleans when the value is NULL (flag in b). */
static char *snap_body(const char *const *keys, const char *const *vals, const int *bools, int n)
{
	struct json_object *o = json_object_new_object();
	char *s;

	for (int i = 0; i < n; i++)
		json_object_object_add(o, keys[i], vals[i] ? json_object_new_string(vals[i]) :
					       json_object_new_boolean(bools[i]));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

struct snap_args {
	const char *pos[2];
	int npos;
	const char *name;
	int diff, paused, allow_rollback;
};

/* Positionals and the flags cmd accepts (--diff only for snapshot; --name, --allow-rollback for restore). */
static int snap_parse(const char *cmd, int argc, char **argv, int restore, struct snap_args *a)
{
	const char *val;
	int missing;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		if (restore && (val = cli_opt_value(argc, argv, &i, "--name", &missing))) {
			a->name = val;
			continue;
		}
		if (restore && missing)
			return cli_usage(cmd, "option '--name' needs a value");
		if (!strcmp(argv[i], "--paused"))
			a->paused = 1;
		else if (!restore && !strcmp(argv[i], "--diff"))
			a->diff = 1;
		else if (restore && !strcmp(argv[i], "--allow-rollback"))
			a->allow_rollback = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage(cmd, "unknown option '%s'", argv[i]);
		else if (a->npos == (restore ? 1 : 2))
			return cli_usage(cmd, "unexpected argument '%s'", argv[i]);
		else
			a->pos[a->npos++] = argv[i];
	}
	if (!restore && a->npos < 2)
		return cli_usage(cmd, a->npos ? "missing DIR" : "missing NAME and DIR");
	if (restore && !a->npos)
		return cli_usage(cmd, "missing DIR");
	if (restore && !a->name)
		return cli_usage(cmd, "missing --name NAME (the restored VM's name)");
	return 0;
}

int cli_snapshot(int argc, char **argv)
{
	static const char *const keys[] = { "snapshot_type", "snapshot_path", "mem_file_path" };
	char root[STATE_PATH_MAX], sock[STATE_PATH_MAX + 16], st[32];
	char state[PATH_MAX], mem[PATH_MAX];
	struct snap_args a;
	struct state_entry e;
	int ret, paused_here = 0;
	char *body;

	if (cli_wants_help(argc, argv)) {
		fputs(help_snapshot, stdout);
		return CLI_OK;
	}
	ret = snap_parse("snapshot", argc, argv, 0, &a);
	if (ret)
		return ret;
	ret = cli_load("snapshot", a.pos[0], root, &e);
	if (ret)
		return ret;
	if (!state_status_live(e.status)) {
		cli_err("snapshot", "%s is not running (%s)", e.name, state_status_name(e.status));
		state_entry_free(&e);
		return CLI_FAIL;
	}
	snprintf(sock, sizeof(sock), "%s/api.sock", e.dir);
	ret = snap_paths("snapshot", a.pos[1], 1, state, mem);
	if (!ret)
		ret = cli_snap_vm_state("snapshot", e.name, sock, st, sizeof(st));
	if (!ret && strcmp(st, "Running") && strcmp(st, "Paused")) {
		cli_err("snapshot", "%s has no VM to snapshot yet (%s)", e.name, st);
		ret = CLI_FAIL;
	}
	if (!ret && !strcmp(st, "Running")) {
		ret = cli_snap_api("snapshot", e.name, sock, "PATCH", "/vm", "{\"state\":\"Paused\"}", NULL);
		paused_here = !ret;
	}
	if (!ret) {
		const char *vals[] = { a.diff ? "Diff" : "Full", state, mem };

		body = snap_body(keys, vals, NULL, 3);
		ret = body ? cli_snap_api("snapshot", e.name, sock, "PUT", "/snapshot/create", body, NULL)
			   : CLI_FAIL;
		free(body);
	}
	/* A VM this command paused runs on, unless --paused asked otherwise (and it worked). */
	if (paused_here && (ret || !a.paused) &&
	    cli_snap_api("snapshot", e.name, sock, "PATCH", "/vm", "{\"state\":\"Resumed\"}", NULL)) {
		cli_err("snapshot", "%s stays paused", e.name);
		ret = CLI_FAIL;
	}
	if (!ret)
		printf("%s: %s snapshot in %s and %s; the VM %s\n", e.name, a.diff ? "diff" : "full",
		       state, mem, paused_here && !a.paused ? "was resumed" : "is paused");
	state_entry_free(&e);
	return ret;
}

/* A refused load leaves a VM process that never ran: stop it and free the name. */
static void restore_undo(const char *cmd, struct state_entry *e)
{
	if (cli_stop_entry(cmd, e, CLI_STOP_TIMEOUT) == 0 && state_rmtree(e->dir) == 0)
		cli_err(cmd, "%s: nothing restored; its VM process is stopped and removed", e->name);
	else
		cli_err(cmd, "%s: could not stop the VM process; `vmon rm --force %s`", e->name,
			e->name);
}

int cli_restore_files(const char *cmd, const char *name, const char *state, const char *mem,
		      int paused, int allow_rollback, int (*prepare)(const char *dir, void *arg),
		      void *arg)
{
	static const char *const keys[] = { "snapshot_path", "mem_file_path", "resume_vm",
					    "allow_rollback" };
	const int bools[] = { 0, 0, !paused, allow_rollback };
	const char *vals[] = { state, mem, NULL, NULL };
	char root[STATE_PATH_MAX], sock[STATE_PATH_MAX + 16];
	char *create_argv[3];
	struct state_entry e;
	char *body;
	int ret;

	/* A managed VM process that waits for its configuration: `vmon create NAME` without a kernel. */
	create_argv[0] = "create";
	create_argv[1] = (char *)name;
	create_argv[2] = NULL;
	ret = cli_create(2, create_argv);
	if (ret)
		return ret;
	ret = cli_load(cmd, name, root, &e);
	if (ret)
		return ret;
	snprintf(sock, sizeof(sock), "%s/api.sock", e.dir);
	ret = prepare ? prepare(e.dir, arg) : 0;
	if (!ret) {
		body = snap_body(keys, vals, bools, 4);
		ret = body ? cli_snap_api(cmd, name, sock, "PUT", "/snapshot/load", body, NULL)
			   : CLI_FAIL;
		free(body);
	}
	if (ret) {
		restore_undo(cmd, &e);
		state_entry_free(&e);
		return CLI_FAIL;
	}
	state_entry_free(&e);
	return CLI_OK;
}

int cli_restore(int argc, char **argv)
{
	char state[PATH_MAX], mem[PATH_MAX];
	struct snap_args a;
	struct stat sb;
	int ret;

	if (cli_wants_help(argc, argv)) {
		fputs(help_restore, stdout);
		return CLI_OK;
	}
	ret = snap_parse("restore", argc, argv, 1, &a);
	if (ret)
		return ret;
	if (!state_name_valid(a.name))
		return cli_usage("restore", "'%s' is not a valid VM name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63})",
				 a.name);
	ret = snap_paths("restore", a.pos[0], 0, state, mem);
	if (ret)
		return ret;
	if (stat(state, &sb) || !S_ISREG(sb.st_mode) || stat(mem, &sb) || !S_ISREG(sb.st_mode)) {
		cli_err("restore", "%s: no snapshot here (want the files state and memory)", a.pos[0]);
		return CLI_FAIL;
	}
	ret = cli_restore_files("restore", a.name, state, mem, a.paused, a.allow_rollback, NULL, NULL);
	if (ret)
		return ret;
	printf("%s: restored from %s; %s\n", a.name, a.pos[0], a.paused ? "paused" : "running");
	return CLI_OK;
}
