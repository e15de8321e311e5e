/*
 * loadfile.c: whole-file reads for image loaders (see loadfile.h).
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

/* Read a whole regular file; refuses directories and files over max bytes. */
int loadfile_read(const char *what, const char *path, uint64_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	size_t done = 0;
	uint8_t *p;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		log_err("cannot open %s '%s': %s", what, path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_err("%s '%s' is not a regular file", what, path);
		close(fd);
		return -EINVAL;
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
