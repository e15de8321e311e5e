/*
 * test_snapmem.c: unit tests for src/snapshot/snapmem.c and gmem_add_file:
 * a full memory file maps back (MAP_PRIVATE) to the same RAM, writes to the
 * restored RAM never reach the file, zero pages are holes; a diff carries
 * only the dirty pages (including one that became zero) and applying it on
 * the base restores the final state; a diff whose bitmap or layout does not
 * match, and a memory file shorter than its layout, are refused. Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/snapmem.h"
#include "test.h"

#define RAM (64 * SNAPMEM_PAGE)

static int tmpfile_fd(void)
{
	char path[] = "/tmp/vmon-snapmem-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

static void fill(struct gmem *m)
{
	uint8_t *p = gmem_ptr(m, 0, RAM);

	memset(p, 0, RAM);
	for (unsigned pg = 0; pg < 64; pg += 3)
		memset(p + pg * SNAPMEM_PAGE, (int)(pg + 1), SNAPMEM_PAGE);
}

TEST(full_round_trip_private)
{
	struct gmem src, dst;
	struct snapfile *f = calloc(1, sizeof(*f));
	struct stat st;
	uint8_t byte;
	int fd = tmpfile_fd();

	gmem_init(&src);
	CHECK_EQ(gmem_add_anon(&src, 0, RAM), 0);
	fill(&src);
	CHECK_EQ(snapmem_write_full(&src, fd, f), 0);
	CHECK_EQ(f->nr_regions, 1);
	CHECK_EQ(f->regions[0].size, RAM);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, RAM);
	CHECK((uint64_t)st.st_blocks * 512 < RAM); /* zero pages are holes */
	gmem_init(&dst);
	CHECK_EQ(snapmem_map_full(&dst, fd, f), 0);
	CHECK(!memcmp(gmem_ptr(&dst, 0, RAM), gmem_ptr(&src, 0, RAM), RAM));
	/* The restored guest writes: the file keeps the snapshot. */
	memset(gmem_ptr(&dst, 0, SNAPMEM_PAGE), 0xee, SNAPMEM_PAGE);
	CHECK_EQ(pread(fd, &byte, 1, 0), 1);
	CHECK_EQ(byte, 1);
	gmem_free(&dst);
	gmem_free(&src);
	close(fd);
	free(f);
}

TEST(diff_restores_final_state)
{
	uint64_t bits[1] = { 0 };
	const uint64_t *dirty[1] = { bits };
	struct gmem vm, base, restored;
	struct snapfile *f = calloc(1, sizeof(*f)), *d = calloc(1, sizeof(*d));
	struct snap_out o;
	uint8_t *p;
	int fbase = tmpfile_fd(), fdiff = tmpfile_fd();

	gmem_init(&vm);
	CHECK_EQ(gmem_add_anon(&vm, 0, RAM), 0);
	fill(&vm);
	CHECK_EQ(snapmem_write_full(&vm, fbase, f), 0);
	/* The guest runs on: page 5 written, page 3 (was 4s) zeroed, page 63 written. */
	p = gmem_ptr(&vm, 0, RAM);
	memset(p + 5 * SNAPMEM_PAGE, 0x55, SNAPMEM_PAGE);
	memset(p + 3 * SNAPMEM_PAGE, 0, SNAPMEM_PAGE);
	memset(p + 63 * SNAPMEM_PAGE, 0x63, SNAPMEM_PAGE);
	bits[0] = 1ULL << 5 | 1ULL << 3 | 1ULL << 63;
	snap_out_init(&o);
	CHECK_EQ(snapmem_write_diff(&vm, dirty, fdiff, d, &o), 0);
	CHECK_EQ(o.len, 8);
	CHECK_EQ(snapfile_add(d, SNAP_SEC_DIRTY, o.buf, o.len), 0);
	/* Restore: base mapped privately, the diff applied on top. */
	gmem_init(&restored);
	CHECK_EQ(snapmem_map_full(&restored, fbase, f), 0);
	CHECK_EQ(snapmem_apply_diff(&restored, fdiff, d), 3);
	CHECK(!memcmp(gmem_ptr(&restored, 0, RAM), p, RAM));
	/* The base without the diff is the older state. */
	gmem_init(&base);
	CHECK_EQ(snapmem_map_full(&base, fbase, f), 0);
	CHECK(memcmp(gmem_ptr(&base, 0, RAM), p, RAM) != 0);
	gmem_free(&base);
	gmem_free(&restored);
	gmem_free(&vm);
	snap_out_free(&o);
	close(fbase);
	close(fdiff);
	free(f);
	free(d);
}

TEST(diff_hostile_refused)
{
	uint8_t bitmap[16] = { 0 };
	struct gmem m;
	struct snapfile *d = calloc(1, sizeof(*d));
	int fd = tmpfile_fd();

	CHECK_EQ(ftruncate(fd, RAM), 0);
	gmem_init(&m);
	CHECK_EQ(gmem_add_anon(&m, 0, RAM), 0);
	d->nr_regions = 1;
	d->regions[0] = (struct snapfile_region){ 0, RAM, 0 };
	CHECK_EQ(snapmem_apply_diff(&m, fd, d), -EINVAL); /* no bitmap */
	CHECK_EQ(snapfile_add(d, SNAP_SEC_DIRTY, bitmap, 16), 0);
	CHECK_EQ(snapmem_apply_diff(&m, fd, d), -EINVAL); /* bitmap of the wrong size */
	d->sections[0].len = 8;
	d->regions[0].size = 2 * RAM;
	CHECK_EQ(snapmem_apply_diff(&m, fd, d), -EINVAL); /* layout differs from RAM */
	d->regions[0].size = RAM;
	d->regions[0].file_off = RAM; /* pages lie past the file's end */
	bitmap[0] = 1;
	CHECK_EQ(snapmem_apply_diff(&m, fd, d), -EIO);
	gmem_free(&m);
	close(fd);
	free(d);
}

TEST(short_memory_file_refused)
{
	struct gmem m;
	struct snapfile f = { 0 };
	int fd = tmpfile_fd();

	CHECK_EQ(ftruncate(fd, RAM - SNAPMEM_PAGE), 0);
	f.nr_regions = 1;
	f.regions[0] = (struct snapfile_region){ 0, RAM, 0 };
	gmem_init(&m);
	CHECK_EQ(snapmem_map_full(&m, fd, &f), -EINVAL); /* would SIGBUS on first touch */
	CHECK_EQ(gmem_add_file(&m, 0, RAM, fd, 100), -EINVAL); /* unaligned offset */
	CHECK_EQ(m.nr_regions, 0);
	gmem_free(&m);
	close(fd);
}

TEST_MAIN(T(full_round_trip_private), T(diff_restores_final_state), T(diff_hostile_refused),
	  T(short_memory_file_refused))
