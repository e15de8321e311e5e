/*
 * snapshot/lineage.h: what the host keeps outside every snapshot so that a
 * snapshot cannot vouch for itself: the host key the state files are
 * authenticated with, each VM lineage's newest generation, and the audit
 * log of rollbacks a person allowed.
 *
 * Layout, under a state directory D (the CLI's, see cli/state.h):
 *   D/snapshot/hostkey             32 random bytes, mode 0600, made on first use
 *   D/snapshot/lineage/<hex id>    "<newest generation>\n", written atomically
 *   D/snapshot/audit.log           one line per allowed rollback, append-only
 *
 * The rule: a snapshot of lineage L at generation g may be restored when
 * g >= newest(L). An older one is refused with both generations named,
 * unless the caller allows the rollback, which appends who, when, the
 * lineage and from->to to the audit log before it is allowed. Each new
 * snapshot of L takes generation newest(L) + 1.
 *
 * Owns: these files. Does not own: the state file (snapfile.h).
 * Threads: the CLI or VMM thread; updates of one lineage file are
 * serialised with flock, so two vmon processes do not hand out one
 * generation twice.
 */
#ifndef VMON_SNAPSHOT_LINEAGE_H
#define VMON_SNAPSHOT_LINEAGE_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot/snapfile.h"

/*
 * Load the host key from D/snapshot/hostkey, creating it (0600, atomically:
 * a racing creator's key wins and both read it) when absent. -EPERM when the
 * file is readable by group or others, -EINVAL when it is not 32 bytes; err
 * says which and where.
 */
int lineage_hostkey(const char *dir, uint8_t key[SNAPFILE_KEY_LEN], char *err, size_t errlen);

/* The lineage id as 32 lowercase hex digits + NUL. */
void lineage_hex(const uint8_t id[SNAPFILE_LINEAGE_LEN], char out[2 * SNAPFILE_LINEAGE_LEN + 1]);

/* A fresh random lineage id (a new VM). */
void lineage_new(uint8_t id[SNAPFILE_LINEAGE_LEN]);

/* The newest generation recorded for id (0 when none). 0 or -errno. */
int lineage_newest(const char *dir, const uint8_t id[SNAPFILE_LINEAGE_LEN], uint64_t *gen);

/* Take the next generation for a new snapshot of id (newest + 1, recorded). */
int lineage_next(const char *dir, const uint8_t id[SNAPFILE_LINEAGE_LEN], uint64_t *gen);

/*
 * Judge restoring generation gen of lineage id (what = the snapshot's path,
 * for the log). 0 when allowed (a generation newer than the record becomes
 * the record); -ESTALE when older and !allow_rollback, err naming both
 * generations and the override; with allow_rollback, 0 after the audit line
 * is written (-errno if it cannot be: no log, no rollback).
 */
int lineage_check_restore(const char *dir, const uint8_t id[SNAPFILE_LINEAGE_LEN], uint64_t gen,
			  int allow_rollback, const char *what, char *err, size_t errlen);

#endif
