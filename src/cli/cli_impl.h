/*
 * cli_impl.h: what the cli_*.c files share: one function per command and
 * the helpers for messages, option values and loading a named entry.
 * Internal to src/cli/cli*.c.
 */
#ifndef VMON_CLI_CLI_IMPL_H
#define VMON_CLI_CLI_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "cli/state.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#define CLI_STOP_TIMEOUT 10 /* seconds, stop and rm --force */

int cli_create(int argc, char **argv);
int cli_ls(int argc, char **argv);
int cli_gc(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_rm(int argc, char **argv);
int cli_console(int argc, char **argv);
int cli_snapshot(int argc, char **argv);
int cli_restore(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_migrate(int argc, char **argv);

/* "vmon: CMD: message" on stderr. */
__attribute__((format(printf, 2, 3))) void cli_err(const char *cmd, const char *fmt, ...);
/* The same plus "Try 'vmon CMD --help'."; returns CLI_USAGE. */
__attribute__((format(printf, 2, 3))) int cli_usage(const char *cmd, const char *fmt, ...);
/* 1 when argv[i] is -h or --help for some i >= 1. */
int cli_wants_help(int argc, char **argv);
/* --opt VALUE or --opt=VALUE at argv[*i]; advances *i. NULL when argv[*i] is not opt. */
const char *cli_opt_value(int argc, char **argv, int *i, const char *opt, int *missing);
/*
 * Validate name, find the state root and load the entry into e (free with
 * state_entry_free). root gets the state root (STATE_PATH_MAX bytes).
 * 0, or an exit status after printing why.
 */
int cli_load(const char *cmd, const char *name, char *root, struct state_entry *e);
/*
 * Stop a live entry: SIGTERM, wait up to timeout seconds, then SIGKILL.
 * Verifies pid and start time first. 0 when the process is gone.
 */
int cli_stop_entry(const char *cmd, struct state_entry *e, unsigned timeout);

/*
 * Snapshot helpers (cli_snapshot.c), shared with export/import (cli_export.c).
 * cli_snap_api: one API request on sock; 0 on a 2xx (*reply_body, when
 * asked, is the malloc'd answer), else CLI_FAIL after printing why.
 * cli_snap_vm_state: the VM's state as GET / reports it ("Running",
 * "Paused", "Not started") into st.
 */
int cli_snap_api(const char *cmd, const char *name, const char *sock, const char *method,
		 const char *path, const char *body, char **reply_body);
int cli_snap_vm_state(const char *cmd, const char *name, const char *sock, char *st, size_t len);
/*
 * `vmon restore`'s path: start a kernel-less managed VM NAME (cli_create),
 * call prepare(its DIR, arg) when given (nonzero: give up), then load the
 * full snapshot state/mem into it (PUT /snapshot/load: host key, rollback
 * rule). On any failure the new VM is stopped and its DIR removed.
 * 0, or CLI_FAIL after printing why.
 */
int cli_restore_files(const char *cmd, const char *name, const char *state, const char *mem,
		      int paused, int allow_rollback, int (*prepare)(const char *dir, void *arg),
		      void *arg);

/* Ctrl-A escapes of `vmon console` (pure, unit-tested). */
struct cli_escape {
	int pending; /* the previous byte was Ctrl-A */
};
/*
 * Filter n bytes typed by the user into out (room for n + 1 bytes: a
 * pending Ctrl-A followed by another key sends both). Ctrl-A Ctrl-A sends
 * one Ctrl-A, Ctrl-A d detaches. Returns 1 on detach (out holds the bytes
 * before it), else 0.
 */
int cli_escape_filter(struct cli_escape *e, const char *in, size_t n, char *out, size_t *outn);

#endif
