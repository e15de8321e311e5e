/*
 * logfile.h: a capped, rotating log file, so that nothing a guest does (nor
 * a chatty vmon) can fill the disk that holds a VM's state directory.
 *
 * Owns: one append-only file PATH that never grows past max bytes. A write
 * that would take it past max first renames PATH to PATH.1 (replacing the
 * previous generation) and starts PATH afresh; a write longer than max is
 * split. So PATH and PATH.1 together hold at most 2 * max bytes.
 * Used for DIR/serial.log (conmux.c) and, through logfile_capture, for the
 * VM process's own stderr, DIR/vmon.log (api/vmm.c).
 *
 * Threads: a struct logfile belongs to one thread at a time (its caller's).
 * logfile_capture starts one thread of its own, which alone writes the file;
 * any thread may write fd 2 meanwhile.
 */
#ifndef VMON_LOGFILE_H
#define VMON_LOGFILE_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LOGFILE_MAX_DEFAULT (16ULL << 20) /* per file: 16 MiB (and 16 MiB more in PATH.1) */
#define LOGFILE_MAX_MIN     4096ULL       /* smaller caps are raised to this */

struct logfile {
	char path[PATH_MAX];
	int fd;
	uint64_t size;      /* bytes in PATH now */
	uint64_t max;
	uint64_t rotations; /* times PATH went to PATH.1 */
	int failed;         /* a write or rotation failed: logged once, then silent */
};

/* Open (append, 0600) path capped at max bytes (0: the default). 0 or -errno, logged. */
int logfile_open(struct logfile *f, const char *path, uint64_t max);
/* Append n bytes, rotating as needed. 0 or -errno (logged once per file). */
int logfile_write(struct logfile *f, const void *buf, size_t n);
void logfile_close(struct logfile *f);

/*
 * The VM process's stderr (and stdout, when it is the same file) through a
 * logfile: when fd 2 is the regular file path, fds 1 and 2 become a pipe a
 * thread copies into a logfile capped at max. Writers never block: when the
 * pipe (1 MiB) is full a message is lost. Nothing to do (0, not active) when
 * fd 2 is anything else (a terminal, another file).
 */
struct logfile_capture {
	struct logfile f;
	int active;
	int pipe_rd;
	int stop_efd;      /* tells the thread to copy what is left and end */
	int had_stdout;    /* fd 1 was the same file */
	pthread_t thread;
};

int logfile_capture(struct logfile_capture *c, const char *path, uint64_t max);
/* Stop the thread, put the (current) file back on fds 1 and 2, copy what the pipe still holds. */
void logfile_uncapture(struct logfile_capture *c);

#endif
