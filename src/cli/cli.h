/*
 * cli.h: the management commands of vmon (create, ls, pause, resume, stop,
 * rm, inspect, console, gc, snapshot, restore, export, import). Each VM is its own detached `vmon run
 * --state-dir DIR --name NAME` process; these commands manage those
 * processes through the state directory (src/cli/state.h) and their HTTP
 * API on DIR/api.sock (src/cli/client.h).
 */
#ifndef VMON_CLI_CLI_H
#define VMON_CLI_CLI_H

/* 1 when cmd is one of the commands cli_main handles. */
int cli_is_command(const char *cmd);

/*
 * Run command cmd; argv[0] is the command itself (as main passes argv + 1).
 * Returns the process exit status: 0 ok, 1 failure, 2 usage error.
 */
int cli_main(const char *cmd, int argc, char **argv);

#endif
