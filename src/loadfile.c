/*
 * loadfile.c: opening and whole-file reads for image loaders (see loadfile.h).
 */
#include "loadfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static const char *loadfile_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISDIR(mode))
		return "a directory";
	return "not a regular file";
}

int loadfile_open(const char *what, const char *path, int flags, int accept)
{
	struct stat st;
	int fd, fl, err;

	if (flags & (O_CREAT | O_TRUNC)) {
		log_err("%s '%s': loadfile_open does not create files", what, path);
		return -EINVAL;
	}
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
	fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = errno;
		log_err("cannot open %s '%s': %s", what, path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		log_err("%s '%s': fstat: %s", what, path, strerror(err));
		close(fd);
		return -err;
	}
	if (!S_ISREG(st.st_mode) && !(accept == LOADFILE_BLK && S_ISBLK(st.st_mode))) {
		log_err("%s '%s' is %s, not a regular file%s: refused", what, path,
			loadfile_kind(st.st_mode), accept == LOADFILE_BLK ? " or block device" : "");
		close(fd);
		return -EINVAL;
	}
	/* Reads of regular files and block devices never return EAGAIN, but keep the fd plain. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		err = errno;
		log_err("%s '%s': fcntl: %s", what, path, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

/* Read a whole regular file; refuses anything else and files over max bytes. */
int loadfile_read(const char *what, const char *path, uint64_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t done = 0;
	uint8_t *p;
	int fd, err;

	fd = loadfile_open(what, path, O_RDONLY, LOADFILE_REG);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	if ((uint64_t)st.st_size > max) {
		log_err("%s '%s' (%" PRIu64 " MiB) is larger than guest RAM (%" PRIu64 " MiB): "
			"raise --mem", what, path, (uint64_t)st.st_size >> 20, max >> 20);
		close(fd);
		return -EFBIG;
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, p + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			log_err("reading %s '%s': %s", what, path, strerror(err));
			free(p);
			close(fd);
			return -err;
		}
		done += (size_t)n;
	}
	close(fd);
	*buf = p;
	*len = done;
	return 0;
}
