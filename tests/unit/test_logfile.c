/*
 * test_logfile.c: unit tests for src/logfile.c, the capped, rotating log.
 *
 * Covers: a flood of writes never takes PATH or PATH.1 past the cap and
 * keeps the newest bytes; a write longer than the cap is split; a file
 * already over the cap rotates on the first write; the smallest cap is
 * raised to LOGFILE_MAX_MIN; a failed rotation drops output instead of
 * growing the file; the stderr capture caps what any thread writes to fd 2
 * and gives fd 2 back. Single-threaded but for the capture's own thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"
#include "test.h"

static char dir[64];

static void mkpath(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static long long fsize(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : (long long)st.st_size;
}

static void fresh_dir(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return;
	}
	snprintf(dir, sizeof(dir), "/tmp/vmon-logfile-XXXXXX");
	if (!mkdtemp(dir))
		dir[0] = '\0';
}

TEST(flood_stays_under_cap)
{
	char path[128], old[128], line[100];
	struct logfile f;
	size_t total = 0;

	fresh_dir();
	mkpath(path, sizeof(path), "serial.log");
	mkpath(old, sizeof(old), "serial.log.1");
	CHECK_EQ(logfile_open(&f, path, 8192), 0);
	for (unsigned i = 0; i < 10000; i++) {
		int n = snprintf(line, sizeof(line), "line %u of a guest that never stops\n", i);

		CHECK_EQ(logfile_write(&f, line, (size_t)n), 0);
		total += (size_t)n;
	}
	CHECK(fsize(path) <= 8192);
	CHECK(fsize(old) > 0 && fsize(old) <= 8192);
	CHECK(f.rotations > 10);
	CHECK(total > 40 * 8192);
	logfile_close(&f);
	/* The newest line is the last one in PATH: lines are kept whole. */
	{
		char buf[8193];
		FILE *fp = fopen(path, "r");
		size_t n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;

		if (fp)
			fclose(fp);
		buf[n] = '\0';
		CHECK(n > 0 && strstr(buf, "line 9999 of a guest that never stops\n") != NULL);
		CHECK(!strncmp(buf, "line ", 5));
	}
}

TEST(long_write_is_split)
{
	char path[128], old[128];
	static uint8_t big[20000];
	struct logfile f;

	fresh_dir();
	mkpath(path, sizeof(path), "big.log");
	mkpath(old, sizeof(old), "big.log.1");
	memset(big, 'x', sizeof(big));
	CHECK_EQ(logfile_open(&f, path, 4096), 0);
	CHECK_EQ(logfile_write(&f, big, sizeof(big)), 0);
	CHECK(fsize(path) <= 4096);
	CHECK_EQ(fsize(old), 4096);
	CHECK_EQ(f.rotations, 4); /* 20000 = 4 full files + 3616 */
	CHECK_EQ(fsize(path), 20000 - 4 * 4096);
	logfile_close(&f);
}

TEST(existing_file_over_cap_rotates)
{
	char path[128], old[128];
	static uint8_t big[10000];
	struct logfile f;
	int fd;

	fresh_dir();
	mkpath(path, sizeof(path), "old.log");
	mkpath(old, sizeof(old), "old.log.1");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, big, sizeof(big)), (long long)sizeof(big));
	close(fd);
	CHECK_EQ(logfile_open(&f, path, 4096), 0);
	CHECK_EQ(logfile_write(&f, "new\n", 4), 0);
	CHECK_EQ(fsize(path), 4);
	CHECK_EQ(fsize(old), 10000); /* what was there is kept once, not grown */
	logfile_close(&f);
}

TEST(tiny_cap_is_raised)
{
	char path[128];
	struct logfile f;

	fresh_dir();
	mkpath(path, sizeof(path), "t.log");
	CHECK_EQ(logfile_open(&f, path, 10), 0);
	CHECK_EQ(f.max, LOGFILE_MAX_MIN);
	logfile_close(&f);
	CHECK_EQ(logfile_open(&f, path, 0), 0);
	CHECK_EQ(f.max, LOGFILE_MAX_DEFAULT);
	logfile_close(&f);
}

TEST(failed_rotation_drops_instead_of_growing)
{
	char path[128], old[128];
	static uint8_t chunk[3000];
	struct logfile f;

	fresh_dir();
	mkpath(path, sizeof(path), "r.log");
	mkpath(old, sizeof(old), "r.log.1");
	CHECK_EQ(logfile_open(&f, path, 4096), 0);
	/* PATH.1 is a non-empty directory: rename(PATH, PATH.1) fails. */
	CHECK_EQ(mkdir(old, 0700), 0);
	{
		char inner[160];
		int fd;

		snprintf(inner, sizeof(inner), "%s/keep", old);
		fd = open(inner, O_WRONLY | O_CREAT, 0600);
		CHECK(fd >= 0);
		close(fd);
	}
	CHECK_EQ(logfile_write(&f, chunk, sizeof(chunk)), 0);
	CHECK(logfile_write(&f, chunk, sizeof(chunk)) < 0);
	CHECK(logfile_write(&f, chunk, sizeof(chunk)) < 0); /* and stays quiet */
	CHECK_EQ(fsize(path), 3000);
	logfile_close(&f);
}

TEST(capture_caps_stderr)
{
	char path[128], old[128], line[64];
	struct logfile_capture c;
	int saved = dup(STDERR_FILENO), fd;

	fresh_dir();
	mkpath(path, sizeof(path), "vmon.log");
	mkpath(old, sizeof(old), "vmon.log.1");
	/* Not the log file on fd 2: nothing is captured. */
	CHECK_EQ(logfile_capture(&c, path, 4096), 0);
	CHECK_EQ(c.active, 0);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	CHECK(fd >= 0);
	CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	close(fd);
	CHECK_EQ(logfile_capture(&c, path, 4096), 0);
	CHECK_EQ(c.active, 1);
	for (unsigned i = 0; i < 2000; i++) {
		int n = snprintf(line, sizeof(line), "vmon: warning: message %u\n", i);

		CHECK_EQ(write(STDERR_FILENO, line, (size_t)n), n); /* never blocks */
	}
	logfile_uncapture(&c);
	CHECK_EQ(c.active, 0);
	CHECK(fsize(path) <= 4096);
	CHECK(fsize(old) > 0 && fsize(old) <= 4096);
	/* fd 2 is the (current) file again. */
	{
		long long before = fsize(path);

		CHECK_EQ(write(STDERR_FILENO, "after\n", 6), 6);
		CHECK_EQ(fsize(path), before + 6);
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	fresh_dir();
	rmdir(dir);
}

TEST_MAIN(T(flood_stays_under_cap), T(long_write_is_split), T(existing_file_over_cap_rotates),
	  T(tiny_cap_is_raised), T(failed_rotation_drops_instead_of_growing),
	  T(capture_caps_stderr))
