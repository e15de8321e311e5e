/*
 * snapshot/lineage.c: the host key, the lineage generation store and the
 * rollback audit log (see lineage.h for the layout and the rule).
 *
 * Threads: CLI or VMM thread; a lineage file's read-modify-write runs under
 * flock on D/snapshot/lineage/<id>.lock.
 */
#include "snapshot/lineage.h"
#include "snapshot/snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define LINEAGE_PATH_MAX 4096

/* D/snapshot[/sub] created 0700 as needed; the path into out. */
static int lineage_dir(const char *dir, const char *sub, char *out, size_t cap)
{
	const char *parts[3] = { dir, "snapshot", sub };
	size_t n = 0;

	out[0] = 0;
	for (unsigned i = 0; i < 3 && parts[i]; i++) {
		int w = snprintf(out + n, cap - n, "%s%s", i ? "/" : "", parts[i]);

		if (w < 0 || (size_t)w >= cap - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
		if (mkdir(out, 0700) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

static int lineage_read_all(int fd, void *buf, size_t cap, size_t *got)
{
	*got = 0;
	while (*got < cap) {
		ssize_t n = read(fd, (char *)buf + *got, cap - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

static int lineage_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int lineage_key_read(const char *path, uint8_t key[SNAPFILE_KEY_LEN], char *err,
			    size_t errlen)
{
	uint8_t buf[SNAPFILE_KEY_LEN + 1];
	struct stat st;
	size_t got;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		return snapfile_err(ret, err, errlen, "%s: %s", path, strerror(-ret));
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		close(fd);
		return snapfile_err(-EPERM, err, errlen,
				   "host key %s is not a private file (mode %04o; it must be 0600)",
				   path, (unsigned)(st.st_mode & 07777));
	}
	ret = lineage_read_all(fd, buf, sizeof(buf), &got);
	close(fd);
	if (ret)
		return snapfile_err(ret, err, errlen, "%s: %s", path, strerror(-ret));
	if (got != SNAPFILE_KEY_LEN)
		return snapfile_err(-EINVAL, err, errlen, "host key %s holds %zu bytes, not %u", path,
				   got, SNAPFILE_KEY_LEN);
	memcpy(key, buf, SNAPFILE_KEY_LEN);
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

int lineage_hostkey(const char *dir, uint8_t key[SNAPFILE_KEY_LEN], char *err, size_t errlen)
{
	char d[LINEAGE_PATH_MAX], path[LINEAGE_PATH_MAX + 16], tmp[LINEAGE_PATH_MAX + 48];
	uint8_t fresh[SNAPFILE_KEY_LEN];
	int fd, ret;

	if (sodium_init() < 0)
		return snapfile_err(-ENOSYS, err, errlen, "libsodium failed to initialise");
	ret = lineage_dir(dir, NULL, d, sizeof(d));
	if (ret)
		return snapfile_err(ret, err, errlen, "%s/snapshot: %s", dir, strerror(-ret));
	snprintf(path, sizeof(path), "%s/hostkey", d);
	ret = lineage_key_read(path, key, err, errlen);
	if (ret != -ENOENT)
		return ret;
	/* First use: write a new key beside it, then link it into place. */
	snprintf(tmp, sizeof(tmp), "%s/hostkey.%ld.tmp", d, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return snapfile_err(-errno, err, errlen, "%s: %s", tmp, strerror(errno));
	crypto_auth_keygen(fresh);
	ret = lineage_write_all(fd, fresh, sizeof(fresh));
	sodium_memzero(fresh, sizeof(fresh));
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (!ret && link(tmp, path) && errno != EEXIST) /* EEXIST: a racer won; use its key */
		ret = -errno;
	unlink(tmp);
	if (ret)
		return snapfile_err(ret, err, errlen, "creating host key %s: %s", path, strerror(-ret));
	return lineage_key_read(path, key, err, errlen);
}

void lineage_hex(const uint8_t id[SNAPFILE_LINEAGE_LEN], char out[2 * SNAPFILE_LINEAGE_LEN + 1])
{
	sodium_bin2hex(out, 2 * SNAPFILE_LINEAGE_LEN + 1, id, SNAPFILE_LINEAGE_LEN);
}

void lineage_new(uint8_t id[SNAPFILE_LINEAGE_LEN])
{
	/* Idempotent; on Linux it fails only without getrandom(2) and /dev/urandom,
	 * where randombytes_buf would not return either. */
	if (sodium_init() < 0)
		memset(id, 0, SNAPFILE_LINEAGE_LEN);
	randombytes_buf(id, SNAPFILE_LINEAGE_LEN);
}

/* Open (creating) the lineage's lock file and take it; the record's path in rec. */
static int lineage_lock(const char *dir, const uint8_t id[SNAPFILE_LINEAGE_LEN], char *rec,
			size_t cap)
{
	char d[LINEAGE_PATH_MAX], hex[2 * SNAPFILE_LINEAGE_LEN + 1], lock[LINEAGE_PATH_MAX + 48];
	int fd, ret;

	ret = lineage_dir(dir, "lineage", d, sizeof(d));
	if (ret)
		return ret;
	lineage_hex(id, hex);
	if (snprintf(rec, cap, "%s/%s", d, hex) >= (int)cap)
		return -ENAMETOOLONG;
	snprintf(lock, sizeof(lock), "%s/%s.lock", d, hex);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	return fd;
}

static int lineage_read_rec(const char *rec, uint64_t *gen)
{
	char buf[32];
	size_t got;
	char *end;
	int fd, ret;

	*gen = 0;
	fd = open(rec, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = lineage_read_all(fd, buf, sizeof(buf) - 1, &got);
	close(fd);
	if (ret)
		return ret;
	buf[got] = 0;
	errno = 0;
	*gen = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EBADMSG; /* a damaged record is not "no record": refuse */
	return 0;
}

static int lineage_write_rec(const char *rec, uint64_t gen)
{
	char tmp[LINEAGE_PATH_MAX + 64], buf[32];
	int fd, ret, n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", rec);
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", gen);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = lineage_write_all(fd, buf, (size_t)n);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, rec))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int lineage_newest(const char *dir, const uint8_t id[SNAPFILE_LINEAGE_LEN], uint64_t *gen)
{
	char rec[LINEAGE_PATH_MAX + 40];
	int fd, ret;

	fd = lineage_lock(dir, id, rec, sizeof(rec));
	if (fd < 0)
		return fd;
	ret = lineage_read_rec(rec, gen);
	close(fd);
	return ret;
}

int lineage_next(const char *dir, const uint8_t id[SNAPFILE_LINEAGE_LEN], uint64_t *gen)
{
	char rec[LINEAGE_PATH_MAX + 40];
	uint64_t cur;
	int fd, ret;

	fd = lineage_lock(dir, id, rec, sizeof(rec));
	if (fd < 0)
		return fd;
	ret = lineage_read_rec(rec, &cur);
	if (!ret && cur == UINT64_MAX)
		ret = -EOVERFLOW;
	if (!ret)
		ret = lineage_write_rec(rec, cur + 1);
	if (!ret)
		*gen = cur + 1;
	close(fd);
	return ret;
}

/* "2026-12-02T22:10:00Z uid=1000 user=alice pid=42 rollback lineage=... from=5 to=3 file=..." */
static int lineage_audit(const char *dir, const char *hex, uint64_t from, uint64_t to,
			 const char *what)
{
	char d[LINEAGE_PATH_MAX], path[LINEAGE_PATH_MAX + 16], when[32], line[LINEAGE_PATH_MAX + 512];
	struct tm tm;
	time_t now = time(NULL);
	/* uid is what the kernel vouches for; the names only help a reader
	 * (getpwuid would drag NSS into the static build). */
	const char *name = getenv("LOGNAME"), *sudo = getenv("SUDO_USER");
	int fd, n, ret;

	ret = lineage_dir(dir, NULL, d, sizeof(d));
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/audit.log", d);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line),
		     "%s uid=%u user=%s%s%s pid=%ld rollback-allowed lineage=%s from=%" PRIu64
		     " to=%" PRIu64 " file=%s\n",
		     when, (unsigned)getuid(), name ? name : "?", sudo ? " sudo_user=" : "",
		     sudo ? sudo : "", (long)getpid(), hex, from, to, what ? what : "-");
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = lineage_write_all(fd, line, (size_t)n); /* O_APPEND: one write, one line */
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int lineage_check_restore(const char *dir, const uint8_t id[SNAPFILE_LINEAGE_LEN], uint64_t gen,
			  int allow_rollback, const char *what, char *err, size_t errlen)
{
	char rec[LINEAGE_PATH_MAX + 40], hex[2 * SNAPFILE_LINEAGE_LEN + 1];
	uint64_t newest;
	int fd, ret;

	lineage_hex(id, hex);
	fd = lineage_lock(dir, id, rec, sizeof(rec));
	if (fd < 0)
		return snapfile_err(fd, err, errlen, "lineage store under %s: %s", dir, strerror(-fd));
	ret = lineage_read_rec(rec, &newest);
	if (ret) {
		snapfile_err(ret, err, errlen, "lineage record %s unreadable: %s", rec, strerror(-ret));
		goto out;
	}
	if (gen > newest) {
		ret = lineage_write_rec(rec, gen);
		if (ret)
			snapfile_err(ret, err, errlen, "recording generation %" PRIu64 " in %s: %s",
				    gen, rec, strerror(-ret));
	} else if (gen < newest && !allow_rollback) {
		ret = snapfile_err(-ESTALE, err, errlen,
				  "refusing to roll back: the snapshot is generation %" PRIu64
				  " of lineage %s, whose newest generation is %" PRIu64
				  " (pass --allow-rollback to restore it anyway; that is written to "
				  "the audit log)",
				  gen, hex, newest);
	} else if (gen < newest) {
		ret = lineage_audit(dir, hex, newest, gen, what);
		if (ret)
			snapfile_err(ret, err, errlen,
				    "rollback not allowed: the audit log could not be written: %s",
				    strerror(-ret));
	}
out:
	close(fd);
	return ret;
}
