/*
 * cli_migrate.c: `vmon migrate NAME --to unix:PATH`.
 *
 * Owns: the command's argument checks (the address, made absolute: the VM
 * process has its own working directory), the PUT /migrate request to
 * NAME's VM process and the report of its answer (downtime, bytes).
 * Does not own the migration (src/vm_migrate.c in the VM process) nor the
 * target (`vmon create NEW --incoming unix:PATH`, src/api/vmm.c).
 * Threads: the CLI's one.
 */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_impl.h"
#include "cli/client.h"
#include "snapshot/migrate.h"

static const char help_migrate[] =
	"Usage: vmon migrate NAME --to unix:PATH\n"
	"\n"
	"Move the running managed VM NAME, live, into the VM process listening on the\n"
	"unix socket PATH: one started with `vmon create NEW --incoming unix:PATH`\n"
	"(or `vmon run --incoming unix:PATH --api-sock ...`) by the same user on this\n"
	"host. The guest runs on while its RAM is copied (pre-copy: all pages, then\n"
	"the pages it dirtied, round after round until few are left), is paused for\n"
	"the last pages and the device and vCPU state, and goes on in the target.\n"
	"A VM with virtio devices (whose writes to guest RAM KVM does not log) is\n"
	"paused for the whole copy instead. NAME's process ends (status 0, state\n"
	"Stopped, \"migrated to ...\") only after the target confirmed it took the VM;\n"
	"if the target fails or goes silent for 3 s, NAME runs on unchanged.\n"
	"Prints the downtime (pause to the target's confirmation) and the bytes sent.\n"
	"\n"
	"  --to unix:PATH   the target's socket (tcp is not supported)\n"
	"\n"
	"The stream is not encrypted; the socket's 0600 mode keeps other users out,\n"
	"and the state in it carries the host key's MAC, checked by the target.\n"
	"Exit status: 0 migrated, 1 failure (NAME still runs; the reason is printed),\n"
	"2 usage error (a bad --to).\n";

/* --to's value, checked and made absolute into to (cap bytes). */
static int migrate_addr(const char *val, char *to, size_t cap)
{
	char path[MIG_PATH_MAX], cwd[PATH_MAX], why[256];

	if (mig_parse_addr(val, path, sizeof(path), why, sizeof(why)))
		return cli_usage("migrate", "--to %s", why);
	if (path[0] == '/') {
		snprintf(to, cap, "unix:%s", path);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)) ||
	    (size_t)snprintf(to, cap, "unix:%s/%s", cwd, path) >= cap ||
	    strlen(to) - 5 >= MIG_PATH_MAX)
		return cli_usage("migrate", "--to %s: the absolute path is too long", val);
	return 0;
}

static void migrate_report(const char *name, const char *body)
{
	struct json_object *o = json_tokener_parse(body ? body : ""), *d, *b, *r, *p;

	if (o && json_object_object_get_ex(o, "downtime_ms", &d) &&
	    json_object_object_get_ex(o, "bytes", &b) && json_object_object_get_ex(o, "rounds", &r) &&
	    json_object_object_get_ex(o, "precopy", &p))
		printf("%s: migrated: downtime %.1f ms, %lld bytes sent in %d rounds (%s)\n", name,
		       json_object_get_double(d), (long long)json_object_get_int64(b),
		       json_object_get_int(r), json_object_get_boolean(p) ? "pre-copy" : "stop-and-copy");
	else
		printf("%s: migrated\n", name);
	json_object_put(o);
}

int cli_migrate(int argc, char **argv)
{
	char root[STATE_PATH_MAX], sock[STATE_PATH_MAX + 16], to[MIG_PATH_MAX + 8], fault[512];
	char err[STATE_ERR_MAX];
	const char *name = NULL, *val = NULL;
	struct client_reply reply;
	struct state_entry e;
	struct json_object *body;
	int ret, missing = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(help_migrate, stdout);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		const char *v = cli_opt_value(argc, argv, &i, "--to", &missing);

		if (missing)
			return cli_usage("migrate", "option '--to' needs a value");
		if (v)
			val = v;
		else if (argv[i][0] == '-')
			return cli_usage("migrate", "unknown option '%s'", argv[i]);
		else if (!name)
			name = argv[i];
		else
			return cli_usage("migrate", "unexpected argument '%s'", argv[i]);
	}
	if (!name || !val)
		return cli_usage("migrate", "NAME and --to unix:PATH are required");
	ret = migrate_addr(val, to, sizeof(to));
	if (ret)
		return ret;
	ret = cli_load("migrate", name, root, &e);
	if (ret)
		return ret;
	if (!state_status_live(e.status)) {
		cli_err("migrate", "%s is not running (%s)", e.name, state_status_name(e.status));
		state_entry_free(&e);
		return CLI_FAIL;
	}
	snprintf(sock, sizeof(sock), "%s/api.sock", e.dir);
	body = json_object_new_object();
	json_object_object_add(body, "to", json_object_new_string(to));
	ret = client_request(sock, "PUT", "/migrate", json_object_to_json_string(body), &reply, err,
			     sizeof(err));
	json_object_put(body);
	if (ret) {
		cli_err("migrate", "%s: %s", e.name, err);
		ret = CLI_FAIL;
	} else if (reply.status < 200 || reply.status > 299) {
		cli_err("migrate", "%s: %s; it runs on", e.name,
			client_fault(&reply, fault, sizeof(fault)));
		ret = CLI_FAIL;
	} else {
		migrate_report(e.name, reply.body);
	}
	free(reply.body); /* NULL when there was no answer */
	state_entry_free(&e);
	return ret;
}
