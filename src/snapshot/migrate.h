/*
 * snapshot/migrate.h: the live-migration stream between two vmon processes
 * of one user on one host (a unix socket), and its endpoints' addresses.
 *
 * The stream, all fields little-endian, source to target:
 *
 *   header   magic "VMONMIGR" (8 bytes), u32 version (MIG_VERSION),
 *            u32 length of the configuration, the configuration (vmconfig's
 *            JSON, at most MIG_CONFIG_MAX bytes), u32 region count, each
 *            u64 gpa, u64 size (the target's RAM must match)
 *   records  u32 type, then by type:
 *            MIG_REC_PAGES  u32 region, u32 first page, u32 page count
 *                           (1..MIG_RUN_MAX), the pages' bytes
 *            MIG_REC_STATE  u32 length, a state file (snapshot/snapfile.h,
 *                           authenticated with the host key); ends the stream
 *   target to source, once the state is loaded: u32 MIG_ACK.
 *
 * Round 1 of the pre-copy sends every non-zero page, later rounds the pages
 * dirtied since; the last round runs with the VM paused and is followed by
 * the state. The target applies page records in order, so a later copy of
 * a page replaces an earlier one.
 *
 * Owns: the format, address parsing, and blocking I/O with a deadline on a
 * connected socket. Does not own what the pages or state mean (vm_migrate.c).
 * Threads: none inside; the VMM thread of either process calls it.
 */
#ifndef VMON_SNAPSHOT_MIGRATE_H
#define VMON_SNAPSHOT_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#define MIG_MAGIC "VMONMIGR"
#define MIG_VERSION 1u
#define MIG_CONFIG_MAX (1u << 20)
#define MIG_RUN_MAX 256u          /* pages in one record: 1 MiB */
#define MIG_ACK 0x4b43414du       /* "MACK" */
#define MIG_PATH_MAX 108          /* sun_path */

enum mig_rec { MIG_REC_PAGES = 1, MIG_REC_STATE = 2 };

/*
 * "unix:PATH" into path (PATH absolute or relative, 1..107 bytes). "tcp:..."
 * is -EPROTONOSUPPORT (not built), anything else -EINVAL; err says why.
 */
int mig_parse_addr(const char *addr, char *path, size_t cap, char *err, size_t errlen);

/* A listening unix socket at path, mode 0600 (umask 0177 around bind). fd or -errno. */
int mig_listen(const char *path);
/* Connect to a listening path. fd or -errno. */
int mig_connect(const char *path);

/*
 * Send / receive exactly len bytes before the deadline (CLOCK_MONOTONIC ns,
 * vm_now_ns' clock). 0, -ETIMEDOUT, -EPIPE (peer gone: MSG_NOSIGNAL), or -errno.
 */
int mig_send(int fd, const void *buf, size_t len, uint64_t deadline_ns);
int mig_recv(int fd, void *buf, size_t len, uint64_t deadline_ns);

uint64_t mig_now_ns(void);

#endif
