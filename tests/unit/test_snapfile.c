/*
 * test_snapfile.c: unit tests for src/snapshot/snapfile.c, the snapshot
 * state file. A written file parses back to the same header and sections;
 * each hostile variant is refused with its own error code and text, never
 * read past its end (every parse runs on an exact-size heap copy, so ASan
 * sees an overread): truncation at every length, bad magic, a newer format
 * version, a header or section checksum mismatch, oversized counts and
 * lengths, sections not tiling the file, another host's key, a tampered
 * byte with its checksum repaired. Also the atomic write/read of a path.
 * Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "snapshot/snapfile.h"
#include "test.h"

static const uint8_t key_a[SNAPFILE_KEY_LEN] = { 1, 2, 3, 4, 5 };
static const uint8_t key_b[SNAPFILE_KEY_LEN] = { 9, 9, 9 };
static const char devs[] = "device state bytes";
static const char vcpu0[] = "vcpu zero registers";

static void sample(struct snapfile *f)
{
	memset(f, 0, sizeof(*f));
	f->arch = SNAP_ARCH_X86_64;
	f->kind = SNAP_KIND_FULL;
	f->nr_vcpus = 1;
	memset(f->lineage, 0xab, sizeof(f->lineage));
	f->generation = 7;
	strcpy(f->vm_id, "counter");
	f->nr_regions = 2;
	f->regions[0] = (struct snapfile_region){ 0, 0x100000, 0 };
	f->regions[1] = (struct snapfile_region){ 0x100000000ULL, 0x200000, 0x100000 };
	snapfile_add(f, SNAP_SEC_DEVICES, devs, sizeof(devs));
	snapfile_add(f, SNAP_SEC_VCPU + 0, vcpu0, sizeof(vcpu0));
	snapfile_add(f, SNAP_SEC_MACHINE, "", 0); /* an empty section is legal */
}

static void write_sample(struct snap_out *o, const uint8_t *key)
{
	struct snapfile f;

	sample(&f);
	snap_out_init(o);
	if (snapfile_write(&f, key, o))
		abort();
}

/* Parse an exact-size copy (ASan catches any read beyond len). */
static int parse_copy(const uint8_t *buf, size_t len, const uint8_t *key, char *err, size_t errlen)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct snapfile *f = malloc(sizeof(*f));
	int ret;

	memcpy(copy, buf, len);
	ret = snapfile_parse(copy, len, key, f, err, errlen);
	free(copy);
	free(f);
	return ret;
}

/* Recompute the header checksum after editing a header byte (an attacker can). */
static void fix_header_sum(uint8_t *buf)
{
	uint32_t hlen = buf[12] | buf[13] << 8 | buf[14] << 16 | (uint32_t)buf[15] << 24;

	crypto_generichash(buf + hlen - SNAPFILE_SUM_LEN, SNAPFILE_SUM_LEN, buf,
			   hlen - SNAPFILE_SUM_LEN, NULL, 0);
}

TEST(round_trip)
{
	struct snapfile *f = calloc(1, sizeof(*f));
	const struct snapfile_section *s;
	struct snap_out o;
	char err[256] = "";

	write_sample(&o, key_a);
	CHECK_EQ(snapfile_parse(o.buf, o.len, key_a, f, err, sizeof(err)), 0);
	CHECK_EQ(f->version, SNAPFILE_VERSION);
	CHECK_EQ(f->arch, SNAP_ARCH_X86_64);
	CHECK_EQ(f->kind, SNAP_KIND_FULL);
	CHECK_EQ(f->nr_vcpus, 1);
	CHECK_EQ(f->generation, 7);
	CHECK_EQ(f->lineage[15], 0xab);
	CHECK(!strcmp(f->vm_id, "counter"));
	CHECK_EQ(f->nr_regions, 2);
	CHECK(f->regions[1].gpa == 0x100000000ULL && f->regions[1].size == 0x200000 &&
	      f->regions[1].file_off == 0x100000);
	CHECK_EQ(f->nr_sections, 3);
	CHECK_EQ(f->mac_checked, 1);
	s = snapfile_find(f, SNAP_SEC_VCPU);
	CHECK(s && s->len == sizeof(vcpu0) && !memcmp(s->data, vcpu0, sizeof(vcpu0)));
	s = snapfile_find(f, SNAP_SEC_DEVICES);
	CHECK(s && s->len == sizeof(devs) && !memcmp(s->data, devs, sizeof(devs)));
	CHECK(snapfile_find(f, SNAP_SEC_MACHINE) && snapfile_find(f, SNAP_SEC_MACHINE)->len == 0);
	CHECK(!snapfile_find(f, SNAP_SEC_DIRTY));
	/* Without a key the file still parses, but is not marked authenticated. */
	CHECK_EQ(snapfile_parse(o.buf, o.len, NULL, f, err, sizeof(err)), 0);
	CHECK_EQ(f->mac_checked, 0);
	snap_out_free(&o);
	free(f);
}

TEST(every_truncation_refused)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	for (size_t len = 0; len < o.len; len++) {
		int ret = parse_copy(o.buf, len, key_a, err, sizeof(err));

		CHECK(ret == -EINVAL || ret == -EBADMSG);
		if (ret == 0)
			fprintf(stderr, "  truncated to %zu accepted\n", len);
	}
	snap_out_free(&o);
}

TEST(bad_magic)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	o.buf[0] ^= 1;
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "magic") != NULL);
	snap_out_free(&o);
}

TEST(newer_version)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	o.buf[8] = 2;
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EPROTONOSUPPORT);
	CHECK(strstr(err, "version 2") != NULL);
	snap_out_free(&o);
}

TEST(header_checksum)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	o.buf[16 + 8] ^= 0x40; /* inside the lineage id */
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "header checksum") != NULL);
	snap_out_free(&o);
}

TEST(section_checksum)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	o.buf[o.len - SNAPFILE_MAC_LEN - 3] ^= 1; /* last byte of vcpu0's section */
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "section 1") != NULL && strstr(err, "checksum") != NULL);
	snap_out_free(&o);
}

TEST(header_length_oversized)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	o.buf[15] = 0x7f; /* header length ~2 GiB */
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "header length") != NULL);
	snap_out_free(&o);
}

/* Offsets of the region and section counts in the sample's header. */
#define SAMPLE_NREG (16 + 2 + 2 + 4 + 16 + 8 + 8 + 2 + 7)
#define SAMPLE_NSEC (SAMPLE_NREG + 4 + 2 * 24)

TEST(region_count_oversized)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	o.buf[SAMPLE_NREG + 3] = 0xff;
	fix_header_sum(o.buf);
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "memory regions") != NULL);
	snap_out_free(&o);
}

TEST(region_overflow)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	/* region 1's size: 0xfff...f000 overflows gpa + size */
	memset(o.buf + SAMPLE_NREG + 4 + 24 + 8, 0xff, 8);
	o.buf[SAMPLE_NREG + 4 + 24 + 8] = 0;
	o.buf[SAMPLE_NREG + 4 + 24 + 9] = 0xf0;
	fix_header_sum(o.buf);
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "region 1") != NULL);
	snap_out_free(&o);
}

TEST(section_count_oversized)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	o.buf[SAMPLE_NSEC + 2] = 0x10;
	fix_header_sum(o.buf);
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "sections") != NULL);
	snap_out_free(&o);
}

TEST(section_length_oversized)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	/* section 0's length: 2^63 */
	o.buf[SAMPLE_NSEC + 4 + 16 + 7] = 0x80;
	fix_header_sum(o.buf);
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "outside") != NULL);
	snap_out_free(&o);
}

TEST(trailing_bytes)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	snap_put_u32(&o, 0); /* 4 bytes more: the MAC now sits elsewhere */
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not accounted") != NULL);
	snap_out_free(&o);
}

TEST(foreign_key)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_b);
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "authentication failed") != NULL);
	snap_out_free(&o);
}

/* A generation edited down with the header checksum repaired: only the MAC sees it. */
TEST(tampered_generation)
{
	struct snap_out o;
	char err[256];

	write_sample(&o, key_a);
	o.buf[16 + 2 + 2 + 4 + 16] = 9;
	fix_header_sum(o.buf);
	CHECK_EQ(parse_copy(o.buf, o.len, NULL, err, sizeof(err)), 0);
	CHECK_EQ(parse_copy(o.buf, o.len, key_a, err, sizeof(err)), -EPERM);
	snap_out_free(&o);
}

TEST(writer_bounds)
{
	struct snapfile *f = calloc(1, sizeof(*f));
	struct snap_out o;

	sample(f);
	CHECK_EQ(snapfile_add(f, SNAP_SEC_DEVICES, devs, 1), -EEXIST);
	f->nr_regions = SNAPFILE_MAX_REGIONS + 1;
	snap_out_init(&o);
	CHECK_EQ(snapfile_write(f, key_a, &o), -EINVAL);
	sample(f);
	memset(f->vm_id, 'x', sizeof(f->vm_id)); /* no NUL inside */
	CHECK_EQ(snapfile_write(f, key_a, &o), -EINVAL);
	sample(f);
	f->nr_sections = SNAPFILE_MAX_SECTIONS;
	f->nr_sections = 0;
	for (uint32_t i = 0; i < SNAPFILE_MAX_SECTIONS; i++)
		CHECK_EQ(snapfile_add(f, i + 1, "", 0), 0);
	CHECK_EQ(snapfile_add(f, 0xffff, "", 0), -ENOSPC);
	snap_out_free(&o);
	free(f);
}

TEST(path_round_trip)
{
	char dir[] = "/tmp/vmon-snapfile-XXXXXX", path[64], tmp[80];
	struct snap_out o;
	uint8_t *buf = NULL;
	size_t len = 0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/state", dir);
	write_sample(&o, key_a);
	CHECK_EQ(snapfile_write_path(path, o.buf, o.len), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(access(tmp, F_OK) != 0); /* renamed into place */
	CHECK_EQ(snapfile_read_path(path, &buf, &len), 0);
	CHECK(len == o.len && buf && !memcmp(buf, o.buf, len));
	CHECK_EQ(snapfile_read_path(dir, &buf, &len) < 0, 1); /* a directory */
	free(buf);
	unlink(path);
	rmdir(dir);
	snap_out_free(&o);
}

TEST_MAIN(T(round_trip), T(every_truncation_refused), T(bad_magic), T(newer_version),
	  T(header_checksum), T(section_checksum), T(header_length_oversized),
	  T(region_count_oversized), T(region_overflow), T(section_count_oversized),
	  T(section_length_oversized), T(trailing_bytes), T(foreign_key), T(tampered_generation),
	  T(writer_bounds), T(path_round_trip))
