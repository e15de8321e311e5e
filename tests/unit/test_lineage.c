/*
 * test_lineage.c: unit tests for src/snapshot/lineage.c: the host key
 * (created 0600 once, the same key read back, refused when group/other can
 * read it or when its size is wrong), generations handed out in order, the
 * rollback rule (older refused with both generations named and nothing
 * logged; allowed with the override and one audit line naming user, from
 * and to; equal and newer allowed, newer becoming the record), a damaged
 * record refused. Each test works in its own temporary state directory.
 * Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/lineage.h"
#include "test.h"

struct tdir {
	char path[64];
};

static void tdir_make(struct tdir *d)
{
	strcpy(d->path, "/tmp/vmon-lineage-XXXXXX");
	if (!mkdtemp(d->path))
		abort();
}

static void tdir_rm(struct tdir *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd))
		fprintf(stderr, "  could not remove %s\n", d->path);
}

static size_t file_lines(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n, lines = 0;

	buf[0] = 0;
	if (!f)
		return 0;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
	for (size_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return lines;
}

static const uint8_t lin[SNAPFILE_LINEAGE_LEN] = { 0xde, 0xad, 0xbe, 0xef };

TEST(hostkey_created_private_and_stable)
{
	uint8_t k1[SNAPFILE_KEY_LEN], k2[SNAPFILE_KEY_LEN], zero[SNAPFILE_KEY_LEN] = { 0 };
	char err[256], path[128];
	struct tdir d;
	struct stat st;

	tdir_make(&d);
	CHECK_EQ(lineage_hostkey(d.path, k1, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/snapshot/hostkey", d.path);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(st.st_size, SNAPFILE_KEY_LEN);
	CHECK(memcmp(k1, zero, sizeof(k1)) != 0);
	CHECK_EQ(lineage_hostkey(d.path, k2, err, sizeof(err)), 0);
	CHECK(!memcmp(k1, k2, sizeof(k1)));
	tdir_rm(&d);
}

TEST(hostkey_world_readable_refused)
{
	uint8_t k[SNAPFILE_KEY_LEN];
	char err[256], path[128];
	struct tdir d;

	tdir_make(&d);
	CHECK_EQ(lineage_hostkey(d.path, k, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/snapshot/hostkey", d.path);
	CHECK_EQ(chmod(path, 0644), 0);
	CHECK_EQ(lineage_hostkey(d.path, k, err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "0644") != NULL && strstr(err, "0600") != NULL);
	tdir_rm(&d);
}

TEST(hostkey_wrong_size_refused)
{
	uint8_t k[SNAPFILE_KEY_LEN];
	char err[256], path[128];
	struct tdir d;
	int fd;

	tdir_make(&d);
	CHECK_EQ(lineage_hostkey(d.path, k, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/snapshot/hostkey", d.path);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "short", 5) == 5);
	close(fd);
	CHECK_EQ(lineage_hostkey(d.path, k, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "5 bytes") != NULL);
	tdir_rm(&d);
}

TEST(generations_in_order)
{
	struct tdir d;
	uint64_t g = 0, n = 0;
	uint8_t other[SNAPFILE_LINEAGE_LEN];

	tdir_make(&d);
	CHECK_EQ(lineage_newest(d.path, lin, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(lineage_next(d.path, lin, &g), 0);
	CHECK_EQ(g, 1);
	CHECK_EQ(lineage_next(d.path, lin, &g), 0);
	CHECK_EQ(g, 2);
	CHECK_EQ(lineage_newest(d.path, lin, &n), 0);
	CHECK_EQ(n, 2);
	lineage_new(other);
	CHECK(memcmp(other, lin, sizeof(lin)) != 0);
	CHECK_EQ(lineage_next(d.path, other, &g), 0); /* lineages are apart */
	CHECK_EQ(g, 1);
	tdir_rm(&d);
}

TEST(rollback_refused_names_both)
{
	char err[512], log[128], buf[1024];
	struct tdir d;
	uint64_t g;

	tdir_make(&d);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(lineage_next(d.path, lin, &g), 0);
	CHECK_EQ(lineage_check_restore(d.path, lin, 3, 0, "snapdir", err, sizeof(err)), -ESTALE);
	CHECK(strstr(err, "generation 3") != NULL && strstr(err, "generation is 5") != NULL);
	CHECK(strstr(err, "--allow-rollback") != NULL);
	snprintf(log, sizeof(log), "%s/snapshot/audit.log", d.path);
	CHECK_EQ(file_lines(log, buf, sizeof(buf)), 0); /* nothing logged for a refusal */
	tdir_rm(&d);
}

TEST(rollback_allowed_is_audited)
{
	char err[512], log[128], buf[1024], user[64];
	struct tdir d;
	uint64_t g, n;

	tdir_make(&d);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(lineage_next(d.path, lin, &g), 0);
	CHECK_EQ(lineage_check_restore(d.path, lin, 3, 1, "/snaps/a", err, sizeof(err)), 0);
	snprintf(log, sizeof(log), "%s/snapshot/audit.log", d.path);
	CHECK_EQ(file_lines(log, buf, sizeof(buf)), 1);
	snprintf(user, sizeof(user), " uid=%u ", (unsigned)getuid());
	CHECK(strstr(buf, "from=5 to=3") != NULL);
	CHECK(strstr(buf, "lineage=deadbeef") != NULL);
	CHECK(strstr(buf, user) != NULL);
	CHECK(strstr(buf, "file=/snaps/a") != NULL);
	CHECK(buf[4] == '-' && strchr(buf, 'Z') != NULL); /* an ISO 8601 UTC time first */
	/* The rollback does not lower the record: the next snapshot is still newer than all. */
	CHECK_EQ(lineage_newest(d.path, lin, &n), 0);
	CHECK_EQ(n, 5);
	CHECK_EQ(lineage_next(d.path, lin, &g), 0);
	CHECK_EQ(g, 6);
	tdir_rm(&d);
}

TEST(equal_and_newer_allowed)
{
	char err[512], log[128], buf[256];
	struct tdir d;
	uint64_t g, n;

	tdir_make(&d);
	CHECK_EQ(lineage_next(d.path, lin, &g), 0);
	CHECK_EQ(lineage_check_restore(d.path, lin, 1, 0, "x", err, sizeof(err)), 0);
	CHECK_EQ(lineage_check_restore(d.path, lin, 9, 0, "x", err, sizeof(err)), 0);
	CHECK_EQ(lineage_newest(d.path, lin, &n), 0);
	CHECK_EQ(n, 9);
	CHECK_EQ(lineage_check_restore(d.path, lin, 8, 0, "x", err, sizeof(err)), -ESTALE);
	snprintf(log, sizeof(log), "%s/snapshot/audit.log", d.path);
	CHECK_EQ(file_lines(log, buf, sizeof(buf)), 0);
	tdir_rm(&d);
}

TEST(damaged_record_refused)
{
	char err[512], hex[2 * SNAPFILE_LINEAGE_LEN + 1], rec[160];
	struct tdir d;
	uint64_t g;
	FILE *f;

	tdir_make(&d);
	CHECK_EQ(lineage_next(d.path, lin, &g), 0);
	lineage_hex(lin, hex);
	snprintf(rec, sizeof(rec), "%s/snapshot/lineage/%s", d.path, hex);
	f = fopen(rec, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("garbage", f);
		fclose(f);
	}
	CHECK_EQ(lineage_check_restore(d.path, lin, 1, 0, "x", err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "unreadable") != NULL);
	CHECK_EQ(lineage_next(d.path, lin, &g), -EBADMSG);
	tdir_rm(&d);
}

TEST_MAIN(T(hostkey_created_private_and_stable), T(hostkey_world_readable_refused),
	  T(hostkey_wrong_size_refused), T(generations_in_order), T(rollback_refused_names_both),
	  T(rollback_allowed_is_audited), T(equal_and_newer_allowed), T(damaged_record_refused))
