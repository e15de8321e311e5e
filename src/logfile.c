/*
 * logfile.c: capped, rotating log files and the stderr capture (see logfile.h).
 */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define LOGFILE_PIPE_SIZE (1 << 20)

static void logfile_fail(struct logfile *f, const char *what, int err)
{
	if (!f->failed)
		log_warn("%s %s: %s (further log output to it is dropped)", what, f->path,
			 strerror(err));
	f->failed = 1;
}

int logfile_open(struct logfile *f, const char *path, uint64_t max)
{
	struct stat st;
	int ret;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->max = max ? max : LOGFILE_MAX_DEFAULT;
	if (f->max < LOGFILE_MAX_MIN)
		f->max = LOGFILE_MAX_MIN;
	if (strlen(path) + 2 >= sizeof(f->path)) {
		log_err("log file path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(f->path, path);
	f->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		ret = -errno;
		log_err("log file %s: %s", path, strerror(errno));
		logfile_close(f);
		return ret;
	}
	f->size = (uint64_t)st.st_size; /* more than max already: the first write rotates */
	return 0;
}

/* PATH -> PATH.1 (the previous PATH.1 goes), then a fresh PATH. 0 or -errno. */
static int logfile_rotate(struct logfile *f)
{
	char old[sizeof(f->path) + 2];
	int fd;

	snprintf(old, sizeof(old), "%s.1", f->path);
	if (rename(f->path, old) < 0)
		return -errno;
	fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(f->fd);
	f->fd = fd;
	f->size = 0;
	f->rotations++;
	return 0;
}

/* All of buf to the file: a short write to a regular file is retried. */
static int logfile_put(struct logfile *f, const uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t w = write(f->fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf += w;
		n -= (size_t)w;
		f->size += (uint64_t)w;
	}
	return 0;
}

int logfile_write(struct logfile *f, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	int ret;

	if (f->fd < 0 || f->failed)
		return -EBADF;
	while (n) {
		size_t chunk;

		/* Rotate before a write that does not fit, so lines stay whole where they can. */
		if (f->size && f->size + n > f->max) {
			ret = logfile_rotate(f);
			if (ret) {
				logfile_fail(f, "cannot rotate", -ret);
				return ret;
			}
		}
		chunk = n < f->max - f->size ? n : (size_t)(f->max - f->size);
		ret = logfile_put(f, p, chunk);
		if (ret) {
			logfile_fail(f, "cannot write", -ret);
			return ret;
		}
		p += chunk;
		n -= chunk;
	}
	return 0;
}

void logfile_close(struct logfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* ---- the VM process's stderr ----------------------------------------------- */

/* Copy the pipe to the file until told to stop (then what is left, and end). */
static void *logfile_thread(void *arg)
{
	struct logfile_capture *c = arg;
	uint8_t buf[8192];

	for (;;) {
		struct pollfd p[2] = { { .fd = c->pipe_rd, .events = POLLIN },
				       { .fd = c->stop_efd, .events = POLLIN } };
		ssize_t r;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		while ((r = read(c->pipe_rd, buf, sizeof(buf))) > 0)
			(void)logfile_write(&c->f, buf, (size_t)r); /* a failure is logged once */
		if (p[1].revents || r == 0)
			break; /* stopping (the pipe is empty now), or every writer is gone */
	}
	return NULL;
}

/* Is fd the file at path? */
static int logfile_same(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && S_ISREG(a.st_mode) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void logfile_capture_undo(struct logfile_capture *c, int wr)
{
	if (wr >= 0)
		close(wr);
	if (c->pipe_rd >= 0)
		close(c->pipe_rd);
	if (c->stop_efd >= 0)
		close(c->stop_efd);
	logfile_close(&c->f);
	c->pipe_rd = c->stop_efd = -1;
}

int logfile_capture(struct logfile_capture *c, const char *path, uint64_t max)
{
	sigset_t all, old;
	int p[2], ret;

	memset(c, 0, sizeof(*c));
	c->pipe_rd = c->stop_efd = -1;
	if (!logfile_same(STDERR_FILENO, path))
		return 0; /* stderr is a terminal or another file: not ours to cap */
	c->had_stdout = logfile_same(STDOUT_FILENO, path);
	ret = logfile_open(&c->f, path, max);
	if (ret)
		return ret;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		log_err("log pipe: %s", strerror(errno));
		logfile_capture_undo(c, -1);
		return ret;
	}
	c->pipe_rd = p[0];
	(void)fcntl(p[1], F_SETPIPE_SZ, LOGFILE_PIPE_SIZE);
	c->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_efd < 0) {
		ret = -errno;
		logfile_capture_undo(c, p[1]);
		return ret;
	}
	/* Signals are the main thread's: this thread must never take a SIGTERM. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&c->thread, NULL, logfile_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		log_err("cannot start the log thread: %s", strerror(-ret));
		logfile_capture_undo(c, p[1]);
		return ret;
	}
	/* From here every write to fd 2 (and 1) goes through the cap; none blocks. */
	if (dup2(p[1], STDERR_FILENO) < 0 || (c->had_stdout && dup2(p[1], STDOUT_FILENO) < 0))
		log_warn("log capture: %s", strerror(errno));
	close(p[1]);
	c->active = 1;
	return 0;
}

void logfile_uncapture(struct logfile_capture *c)
{
	uint8_t buf[8192];
	uint64_t one = 1;
	ssize_t r;

	if (!c->active)
		return;
	if (write(c->stop_efd, &one, sizeof(one)) < 0)
		log_warn("log capture: cannot stop its thread: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	/* The file (the current one: the thread may have rotated it) takes fds 1 and 2 back. */
	if (c->had_stdout)
		(void)dup2(c->f.fd, STDOUT_FILENO);
	(void)dup2(c->f.fd, STDERR_FILENO);
	/* What was written between the thread's last read and the dup2. */
	while ((r = read(c->pipe_rd, buf, sizeof(buf))) > 0)
		(void)logfile_write(&c->f, buf, (size_t)r);
	c->active = 0;
	logfile_capture_undo(c, -1);
}
