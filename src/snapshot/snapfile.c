/*
 * snapshot/snapfile.c: the snapshot state file (format in snapfile.h).
 * Checksums are BLAKE2b-128 and the MAC HMAC-SHA512-256, both libsodium's,
 * rather than hand-written code. The parser bounds every count and length
 * before it uses it and names the first thing it found wrong.
 *
 * Threads: none inside; the VMM or CLI thread calls it.
 */
#include "snapshot/snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define SNAPFILE_FIXED 16     /* magic, version, header length */
#define SNAPFILE_REGION_LEN 24
#define SNAPFILE_SECTION_LEN (4 + 4 + 8 + 8 + SNAPFILE_SUM_LEN)

static int snapfile_sodium(void)
{
	/* sodium_init is idempotent and thread-safe: 0 first time, 1 after. */
	return sodium_init() < 0 ? -ENOSYS : 0;
}

static void snapfile_sum(uint8_t out[SNAPFILE_SUM_LEN], const uint8_t *p, size_t n)
{
	crypto_generichash(out, SNAPFILE_SUM_LEN, p, n, NULL, 0);
}

static int snapfile_header_ok(const struct snapfile *f)
{
	if (f->nr_regions > SNAPFILE_MAX_REGIONS || f->nr_sections > SNAPFILE_MAX_SECTIONS ||
	    strnlen(f->vm_id, SNAPFILE_ID_MAX) >= SNAPFILE_ID_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < f->nr_sections; i++)
		for (uint32_t j = 0; j < i; j++)
			if (f->sections[i].tag == f->sections[j].tag)
				return -EINVAL;
	return 0;
}

int snapfile_write(const struct snapfile *f, const uint8_t *key, struct snap_out *o)
{
	uint8_t sum[SNAPFILE_SUM_LEN], mac[SNAPFILE_MAC_LEN];
	size_t hlen, start = o->len;
	uint64_t off;
	int ret;

	ret = snapfile_sodium();
	if (ret)
		return ret;
	ret = snapfile_header_ok(f);
	if (ret)
		return ret;
	hlen = SNAPFILE_FIXED + 2 + 2 + 4 + SNAPFILE_LINEAGE_LEN + 8 + 8 + 2 + strlen(f->vm_id) +
	       4 + (size_t)f->nr_regions * SNAPFILE_REGION_LEN + 4 +
	       (size_t)f->nr_sections * SNAPFILE_SECTION_LEN + SNAPFILE_SUM_LEN;
	snap_put_bytes(o, SNAPFILE_MAGIC, 8);
	snap_put_u32(o, SNAPFILE_VERSION);
	snap_put_u32(o, (uint32_t)hlen);
	snap_put_u16(o, f->arch);
	snap_put_u16(o, f->kind);
	snap_put_u32(o, f->nr_vcpus);
	snap_put_bytes(o, f->lineage, SNAPFILE_LINEAGE_LEN);
	snap_put_u64(o, f->generation);
	snap_put_u64(o, f->parent_generation);
	snap_put_str(o, f->vm_id);
	snap_put_u32(o, f->nr_regions);
	for (uint32_t i = 0; i < f->nr_regions; i++) {
		snap_put_u64(o, f->regions[i].gpa);
		snap_put_u64(o, f->regions[i].size);
		snap_put_u64(o, f->regions[i].file_off);
	}
	snap_put_u32(o, f->nr_sections);
	off = hlen;
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		const struct snapfile_section *s = &f->sections[i];

		snapfile_sum(sum, s->data, s->len);
		snap_put_u32(o, s->tag);
		snap_put_u32(o, 0);
		snap_put_u64(o, off);
		snap_put_u64(o, s->len);
		snap_put_bytes(o, sum, sizeof(sum));
		off += s->len;
	}
	if (snap_out_error(o))
		return snap_out_error(o);
	if (o->len - start != hlen - SNAPFILE_SUM_LEN)
		return -EINVAL; /* our own size sum is wrong: cannot happen */
	snapfile_sum(sum, o->buf + start, o->len - start);
	snap_put_bytes(o, sum, sizeof(sum));
	for (uint32_t i = 0; i < f->nr_sections; i++)
		snap_put_bytes(o, f->sections[i].data, f->sections[i].len);
	if (snap_out_error(o))
		return snap_out_error(o);
	crypto_auth(mac, o->buf + start, o->len - start, key);
	snap_put_bytes(o, mac, sizeof(mac));
	return snap_out_error(o);
}

int snapfile_err(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int snapfile_parse_sections(struct snap_in *in, const uint8_t *buf, size_t len,
				   size_t hlen, struct snapfile *f, char *err, size_t errlen)
{
	uint64_t expect = hlen, body_end = len - SNAPFILE_MAC_LEN;

	f->nr_sections = snap_get_u32(in);
	if (snap_in_error(in))
		return snapfile_err(-EINVAL, err, errlen, "header truncated before the section table");
	if (f->nr_sections > SNAPFILE_MAX_SECTIONS)
		return snapfile_err(-EINVAL, err, errlen, "%u sections (at most %u)",
				    f->nr_sections, SNAPFILE_MAX_SECTIONS);
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		struct snapfile_section *s = &f->sections[i];
		uint8_t want[SNAPFILE_SUM_LEN], got[SNAPFILE_SUM_LEN];
		uint64_t off;

		s->tag = snap_get_u32(in);
		if (snap_get_u32(in) != 0 && !snap_in_error(in))
			return snapfile_err(-EINVAL, err, errlen, "section %u: reserved field not zero", i);
		off = snap_get_u64(in);
		s->len = snap_get_u64(in);
		snap_get_bytes(in, want, sizeof(want));
		if (snap_in_error(in))
			return snapfile_err(-EINVAL, err, errlen, "header truncated in section %u", i);
		for (uint32_t j = 0; j < i; j++)
			if (f->sections[j].tag == s->tag)
				return snapfile_err(-EINVAL, err, errlen,
						    "section tag %#x appears twice", s->tag);
		if (off != expect || s->len > body_end - off)
			return snapfile_err(-EINVAL, err, errlen,
					    "section %u (tag %#x): offset %llu length %llu outside "
					    "the file's %llu data bytes",
					    i, s->tag, (unsigned long long)off,
					    (unsigned long long)s->len, (unsigned long long)body_end);
		s->data = buf + off;
		snapfile_sum(got, s->data, s->len);
		if (sodium_memcmp(got, want, sizeof(got)))
			return snapfile_err(-EBADMSG, err, errlen,
					    "section %u (tag %#x): checksum mismatch (damaged file)",
					    i, s->tag);
		expect = off + s->len;
	}
	if (expect != body_end)
		return snapfile_err(-EINVAL, err, errlen,
				    "%llu bytes after the last section are not accounted for",
				    (unsigned long long)(body_end - expect));
	return 0;
}

static int snapfile_parse_header(struct snap_in *in, struct snapfile *f, char *err, size_t errlen)
{
	f->arch = snap_get_u16(in);
	f->kind = snap_get_u16(in);
	f->nr_vcpus = snap_get_u32(in);
	snap_get_bytes(in, f->lineage, SNAPFILE_LINEAGE_LEN);
	f->generation = snap_get_u64(in);
	f->parent_generation = snap_get_u64(in);
	snap_get_str(in, f->vm_id, sizeof(f->vm_id));
	if (snap_in_error(in))
		return snapfile_err(-EINVAL, err, errlen, "header truncated or VM id too long");
	if (f->arch < SNAP_ARCH_X86_64 || f->arch > SNAP_ARCH_ARM64)
		return snapfile_err(-EINVAL, err, errlen, "unknown architecture %u", f->arch);
	if (f->kind != SNAP_KIND_FULL && f->kind != SNAP_KIND_DIFF)
		return snapfile_err(-EINVAL, err, errlen, "unknown snapshot kind %u", f->kind);
	if (f->nr_vcpus == 0 || f->nr_vcpus > 256)
		return snapfile_err(-EINVAL, err, errlen, "%u vCPUs (1 to 256)", f->nr_vcpus);
	if (f->kind == SNAP_KIND_DIFF && f->parent_generation >= f->generation)
		return snapfile_err(-EINVAL, err, errlen,
				    "diff of generation %llu on parent %llu (parent must be older)",
				    (unsigned long long)f->generation,
				    (unsigned long long)f->parent_generation);
	f->nr_regions = snap_get_u32(in);
	if (snap_in_error(in) || f->nr_regions > SNAPFILE_MAX_REGIONS)
		return snapfile_err(-EINVAL, err, errlen, "%u memory regions (at most %u)",
				    f->nr_regions, SNAPFILE_MAX_REGIONS);
	for (uint32_t i = 0; i < f->nr_regions; i++) {
		struct snapfile_region *r = &f->regions[i];
		uint64_t end;

		r->gpa = snap_get_u64(in);
		r->size = snap_get_u64(in);
		r->file_off = snap_get_u64(in);
		if (snap_in_error(in))
			return snapfile_err(-EINVAL, err, errlen, "header truncated in region %u", i);
		if (!r->size || (r->size | r->gpa | r->file_off) & 4095 ||
		    __builtin_add_overflow(r->gpa, r->size, &end) ||
		    __builtin_add_overflow(r->file_off, r->size, &end))
			return snapfile_err(-EINVAL, err, errlen,
					    "memory region %u (gpa %#llx size %#llx file offset %#llx) "
					    "not page-aligned or overflowing",
					    i, (unsigned long long)r->gpa, (unsigned long long)r->size,
					    (unsigned long long)r->file_off);
	}
	return 0;
}

int snapfile_parse(const void *vbuf, size_t len, const uint8_t *key, struct snapfile *f,
		   char *err, size_t errlen)
{
	const uint8_t *buf = vbuf;
	uint8_t sum[SNAPFILE_SUM_LEN];
	struct snap_in in;
	uint32_t hlen;
	int ret;

	memset(f, 0, sizeof(*f));
	if (snapfile_sodium())
		return snapfile_err(-ENOSYS, err, errlen, "libsodium failed to initialise");
	if (len < SNAPFILE_FIXED || memcmp(buf, SNAPFILE_MAGIC, 8))
		return snapfile_err(-EINVAL, err, errlen, "not a vmon state file (bad magic)");
	snap_in_init(&in, buf + 8, len - 8);
	f->version = snap_get_u32(&in);
	hlen = snap_get_u32(&in);
	if (f->version != SNAPFILE_VERSION)
		return snapfile_err(-EPROTONOSUPPORT, err, errlen,
				    "state file format version %u; this vmon reads version %u",
				    f->version, SNAPFILE_VERSION);
	if (len > SNAPFILE_MAX_SIZE)
		return snapfile_err(-EINVAL, err, errlen, "%zu bytes: larger than a state file can be",
				    len);
	if (hlen < SNAPFILE_FIXED + SNAPFILE_SUM_LEN ||
	    (uint64_t)hlen + SNAPFILE_MAC_LEN > len)
		return snapfile_err(-EINVAL, err, errlen,
				    "header length %u does not fit the file's %zu bytes (truncated?)",
				    hlen, len);
	snapfile_sum(sum, buf, hlen - SNAPFILE_SUM_LEN);
	if (sodium_memcmp(sum, buf + hlen - SNAPFILE_SUM_LEN, sizeof(sum)))
		return snapfile_err(-EBADMSG, err, errlen, "header checksum mismatch (damaged file)");
	/* The header proper, bounded by its own length. */
	snap_in_init(&in, buf + SNAPFILE_FIXED, hlen - SNAPFILE_FIXED - SNAPFILE_SUM_LEN);
	ret = snapfile_parse_header(&in, f, err, errlen);
	if (!ret)
		ret = snapfile_parse_sections(&in, buf, len, hlen, f, err, errlen);
	if (!ret && snap_in_left(&in))
		ret = snapfile_err(-EINVAL, err, errlen, "%zu stray bytes at the end of the header",
				   snap_in_left(&in));
	if (ret)
		return ret;
	if (key) {
		if (crypto_auth_verify(buf + len - SNAPFILE_MAC_LEN, buf, len - SNAPFILE_MAC_LEN, key))
			return snapfile_err(-EPERM, err, errlen,
					    "authentication failed: the file was altered or was "
					    "not written with this host's key");
		f->mac_checked = 1;
	}
	return 0;
}

const struct snapfile_section *snapfile_find(const struct snapfile *f, uint32_t tag)
{
	for (uint32_t i = 0; i < f->nr_sections && i < SNAPFILE_MAX_SECTIONS; i++)
		if (f->sections[i].tag == tag)
			return &f->sections[i];
	return NULL;
}

int snapfile_add(struct snapfile *f, uint32_t tag, const void *data, uint64_t len)
{
	if (f->nr_sections >= SNAPFILE_MAX_SECTIONS)
		return -ENOSPC;
	if (snapfile_find(f, tag))
		return -EEXIST;
	f->sections[f->nr_sections++] = (struct snapfile_section){ tag, data, len };
	return 0;
}

static int snapfile_write_all(int fd, const uint8_t *p, size_t len)
{
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

int snapfile_write_path(const char *path, const void *buf, size_t len)
{
	char tmp[4096];
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = snapfile_write_all(fd, buf, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int snapfile_read_path(const char *path, uint8_t **bufp, size_t *lenp)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)SNAPFILE_MAX_SIZE) {
		ret = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO; /* shrank under us */
			free(buf);
			goto out;
		}
		got += (size_t)n;
	}
	*bufp = buf;
	*lenp = got;
out:
	close(fd);
	return ret;
}
