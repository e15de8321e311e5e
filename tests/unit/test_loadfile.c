/*
 * test_loadfile.c: loadfile_open/loadfile_read refuse what is not an image:
 * a FIFO (without blocking on it), a character device, a directory, a
 * socket; accept regular files, and block devices only for disks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "loadfile.h"
#include "test.h"

static char dir[64];

static const char *tmpdir(void)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/vmon-loadfile.XXXXXX");
		if (!mkdtemp(dir))
			dir[0] = 0;
	}
	return dir;
}

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir(), name);
}

TEST(regular_file_reads)
{
	char p[128];
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd;

	path_in(p, sizeof(p), "kernel");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "hello", 5), 5);
	close(fd);
	CHECK_EQ(loadfile_read("kernel", p, 1 << 20, &buf, &len), 0);
	CHECK_EQ(len, 5);
	CHECK(buf && !memcmp(buf, "hello", 5));
	free(buf);
	CHECK_EQ(loadfile_read("kernel", p, 4, &buf, &len), -EFBIG);
	fd = loadfile_open("--disk", p, O_RDWR, LOADFILE_BLK);
	CHECK(fd >= 0);
	/* O_NONBLOCK was only for the open. */
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	unlink(p);
}

/* Without O_NONBLOCK this open would wait forever for a writer. */
TEST(fifo_refused_without_blocking)
{
	char p[128];
	uint8_t *buf = NULL;
	size_t len;

	path_in(p, sizeof(p), "fifo");
	CHECK_EQ(mkfifo(p, 0600), 0);
	alarm(5); /* a hang fails the run instead of stalling it */
	CHECK_EQ(loadfile_read("kernel", p, 1 << 20, &buf, &len), -EINVAL);
	CHECK_EQ(loadfile_open("--disk", p, O_RDONLY, LOADFILE_BLK), -EINVAL);
	CHECK_EQ(loadfile_open("--disk", p, O_RDWR, LOADFILE_BLK), -EINVAL);
	alarm(0);
	CHECK(buf == NULL);
	unlink(p);
}

TEST(char_device_refused)
{
	CHECK_EQ(loadfile_open("kernel", "/dev/null", O_RDONLY, LOADFILE_REG), -EINVAL);
	CHECK_EQ(loadfile_open("--disk", "/dev/zero", O_RDONLY, LOADFILE_BLK), -EINVAL);
}

TEST(directory_refused)
{
	uint8_t *buf;
	size_t len;

	CHECK_EQ(loadfile_read("initrd", tmpdir(), 1 << 20, &buf, &len), -EINVAL);
}

TEST(socket_refused)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	path_in(sa.sun_path, sizeof(sa.sun_path), "sock");
	CHECK(s >= 0);
	CHECK_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* open() of a socket is ENXIO before fstat can say what it is. */
	CHECK(loadfile_open("kernel", sa.sun_path, O_RDONLY, LOADFILE_REG) < 0);
	close(s);
	unlink(sa.sun_path);
}

TEST(missing_and_create_refused)
{
	char p[128];

	path_in(p, sizeof(p), "absent");
	CHECK_EQ(loadfile_open("kernel", p, O_RDONLY, LOADFILE_REG), -ENOENT);
	CHECK_EQ(loadfile_open("kernel", p, O_RDWR | O_CREAT, LOADFILE_REG), -EINVAL);
	CHECK_EQ(access(p, F_OK), -1);
	rmdir(tmpdir());
}

TEST_MAIN(T(regular_file_reads), T(fifo_refused_without_blocking), T(char_device_refused),
	  T(directory_refused), T(socket_refused), T(missing_and_create_refused))
