/*
 * cli.c: dispatch of the management commands, their shared helpers, and
 * the commands that talk to a VM's API: pause, resume, inspect.
 * create is in cli_create.c, ls and gc in cli_ls.c, stop and rm in
 * cli_stop.c, console in cli_console.c, snapshot and restore in
 * cli_snapshot.c, export and import in cli_export.c.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_impl.h"
#include "cli/client.h"

static const char help_pause[] =
	"Usage: vmon pause NAME\n"
	"\n"
	"Pause the vCPUs of VM NAME (PATCH /vm {\"state\":\"Paused\"} on its API\n"
	"socket); `vmon resume NAME` lets them run again.\n"
	"Exit status: 0 done, 1 the VM is not live or its API refused (the reason\n"
	"is printed), 2 usage error.\n";

static const char help_resume[] =
	"Usage: vmon resume NAME\n"
	"\n"
	"Let the vCPUs of paused VM NAME run again (PATCH /vm {\"state\":\"Resumed\"}\n"
	"on its API socket).\n"
	"Exit status: 0 done, 1 the VM is not live or its API refused (the reason\n"
	"is printed), 2 usage error.\n";

static const char help_inspect[] =
	"Usage: vmon inspect NAME\n"
	"\n"
	"Print one JSON object: the entry's status as `vmon ls` shows it, its\n"
	"meta.json, its state.json and, when the VM is live, its API's answers to\n"
	"GET / and GET /stats. Exit status: 0, 1 no such VM, 2 usage error.\n";

void cli_err(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vmon: %s: %s\n", cmd, msg);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vmon: %s: %s\nTry 'vmon %s --help'.\n", cmd, msg, cmd);
	return CLI_USAGE;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

const char *cli_opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
	size_t len = strlen(opt);
	const char *a = argv[*i];

	*missing = 0;
	if (strncmp(a, opt, len))
		return NULL;
	if (a[len] == '=')
		return a + len + 1;
	if (a[len])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int cli_load(const char *cmd, const char *name, char *root, struct state_entry *e)
{
	char err[STATE_ERR_MAX];
	int ret;

	if (!state_name_valid(name)) {
		cli_err(cmd, "'%s' is not a valid VM name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63})", name);
		return CLI_FAIL;
	}
	if (state_root(root, STATE_PATH_MAX, err)) {
		cli_err(cmd, "%s", err);
		return CLI_FAIL;
	}
	ret = state_entry_load(root, name, e);
	if (ret) {
		if (ret == -ENOENT)
			cli_err(cmd, "no VM named '%s'", name);
		else
			cli_err(cmd, "%s/%s: %s", root, name, strerror(-ret));
		return CLI_FAIL;
	}
	return 0;
}

static int cli_pause_resume(int argc, char **argv, int pause)
{
	const char *cmd = argv[0];
	char root[STATE_PATH_MAX], sock[STATE_PATH_MAX + 16], err[STATE_ERR_MAX], fault[512];
	struct client_reply reply;
	struct state_entry e;
	int ret;

	if (cli_wants_help(argc, argv)) {
		fputs(pause ? help_pause : help_resume, stdout);
		return CLI_OK;
	}
	if (argc != 2)
		return argc < 2 ? cli_usage(cmd, "missing NAME") :
				  cli_usage(cmd, "unexpected argument '%s'", argv[2]);
	ret = cli_load(cmd, argv[1], root, &e);
	if (ret)
		return ret;
	if (!state_status_live(e.status)) {
		cli_err(cmd, "%s is not running (%s)", e.name, state_status_name(e.status));
		state_entry_free(&e);
		return CLI_FAIL;
	}
	snprintf(sock, sizeof(sock), "%s/api.sock", e.dir);
	ret = client_request(sock, "PATCH", "/vm",
			     pause ? "{\"state\":\"Paused\"}" : "{\"state\":\"Resumed\"}", &reply, err,
			     sizeof(err));
	if (ret) {
		cli_err(cmd, "%s: %s", e.name, err);
		state_entry_free(&e);
		return CLI_FAIL;
	}
	if (reply.status < 200 || reply.status > 299) {
		cli_err(cmd, "%s: %s", e.name, client_fault(&reply, fault, sizeof(fault)));
		ret = CLI_FAIL;
	} else {
		printf("%s: %s\n", e.name, pause ? "paused" : "resumed");
	}
	free(reply.body);
	state_entry_free(&e);
	return ret;
}

/* GET path on the entry's API: its JSON answer, or {"error": why}. */
static struct json_object *inspect_get(const char *sock, const char *path)
{
	struct client_reply reply;
	struct json_object *o;
	char err[STATE_ERR_MAX], fault[512];

	if (client_request(sock, "GET", path, NULL, &reply, err, sizeof(err))) {
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string(err));
		return o;
	}
	if (reply.status == 200 && (o = json_tokener_parse(reply.body))) {
		free(reply.body);
		return o;
	}
	o = json_object_new_object();
	json_object_object_add(o, "error",
			       json_object_new_string(client_fault(&reply, fault, sizeof(fault))));
	free(reply.body);
	return o;
}

static int cli_inspect(int argc, char **argv)
{
	char root[STATE_PATH_MAX], sock[STATE_PATH_MAX + 16];
	struct json_object *o, *api;
	struct state_entry e;
	int ret;

	if (cli_wants_help(argc, argv)) {
		fputs(help_inspect, stdout);
		return CLI_OK;
	}
	if (argc != 2)
		return argc < 2 ? cli_usage(argv[0], "missing NAME") :
				  cli_usage(argv[0], "unexpected argument '%s'", argv[2]);
	ret = cli_load(argv[0], argv[1], root, &e);
	if (ret)
		return ret;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(e.name));
	json_object_object_add(o, "dir", json_object_new_string(e.dir));
	json_object_object_add(o, "status", json_object_new_string(state_status_name(e.status)));
	json_object_object_add(o, "meta", e.has_meta ? json_object_get(e.meta.root) : NULL);
	json_object_object_add(o, "state", e.has_run ? json_object_get(e.run.root) : NULL);
	if (state_status_live(e.status)) {
		snprintf(sock, sizeof(sock), "%s/api.sock", e.dir);
		api = json_object_new_object();
		json_object_object_add(api, "/", inspect_get(sock, "/"));
		json_object_object_add(api, "/stats", inspect_get(sock, "/stats"));
		json_object_object_add(o, "api", api);
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	state_entry_free(&e);
	return CLI_OK;
}

static int cli_pause(int argc, char **argv)
{
	return cli_pause_resume(argc, argv, 1);
}

static int cli_resume(int argc, char **argv)
{
	return cli_pause_resume(argc, argv, 0);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cli_cmds[] = {
	{ "create", cli_create }, { "ls", cli_ls },	      { "pause", cli_pause },
	{ "resume", cli_resume }, { "stop", cli_stop },	      { "rm", cli_rm },
	{ "inspect", cli_inspect }, { "console", cli_console }, { "gc", cli_gc },
	{ "snapshot", cli_snapshot }, { "restore", cli_restore }, { "migrate", cli_migrate },
	{ "export", cli_export }, { "import", cli_import },
};

int cli_is_command(const char *cmd)
{
	for (size_t i = 0; cmd && i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		if (!strcmp(cmd, cli_cmds[i].name))
			return 1;
	return 0;
}

int cli_main(const char *cmd, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		if (!strcmp(cmd, cli_cmds[i].name))
			return cli_cmds[i].fn(argc, argv);
	fprintf(stderr, "vmon: unknown command '%s'\n", cmd);
	return CLI_USAGE;
}
