/*
 * snapshot/snapmem.c: the snapshot memory file (see snapmem.h): writing
 * guest RAM out, full or dirty pages only, and mapping or applying it back.
 *
 * Threads: the VMM thread with the vCPUs paused.
 */
#include "snapshot/snapmem.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

uint64_t snapmem_bitmap_bytes(uint64_t region_size)
{
	uint64_t pages = region_size / SNAPMEM_PAGE;

	return (pages + 63) / 64 * 8;
}

static int snapmem_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int snapmem_pread_all(int fd, uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* EOF: the file is shorter than its layout */
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int snapmem_page_zero(const uint8_t *p)
{
	static const uint8_t zero[64];

	for (unsigned i = 0; i < SNAPMEM_PAGE; i += sizeof(zero))
		if (memcmp(p + i, zero, sizeof(zero)))
			return 0;
	return 1;
}

/* Lay the regions out back to back and size the file; the layout into f. */
static int snapmem_layout(const struct gmem *m, int fd, struct snapfile *f)
{
	uint64_t off = 0;

	if (m->nr_regions > SNAPFILE_MAX_REGIONS)
		return -EINVAL;
	f->nr_regions = m->nr_regions;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		f->regions[i] = (struct snapfile_region){ m->region[i].gpa, m->region[i].size, off };
		off += m->region[i].size;
	}
	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)off))
		return -errno;
	return 0;
}

/* Write page runs of region i for which want(page) holds, skipping zero pages. */
static int snapmem_write_region(const struct gmem *m, unsigned i, const uint64_t *dirty, int fd,
				const struct snapfile *f)
{
	const struct gmem_region *r = &m->region[i];
	uint64_t pages = r->size / SNAPMEM_PAGE;

	for (uint64_t p = 0; p < pages;) {
		uint64_t run = 0;

		while (p + run < pages && run < 256 &&
		       (!dirty || (dirty[(p + run) / 64] >> ((p + run) % 64) & 1)) &&
		       !snapmem_page_zero(r->hva + (p + run) * SNAPMEM_PAGE))
			run++;
		if (!run) {
			p++;
			continue;
		}
		int ret = snapmem_pwrite_all(fd, r->hva + p * SNAPMEM_PAGE, run * SNAPMEM_PAGE,
					     f->regions[i].file_off + p * SNAPMEM_PAGE);
		if (ret)
			return ret;
		p += run;
	}
	return 0;
}

int snapmem_write_full(const struct gmem *m, int fd, struct snapfile *f)
{
	int ret = snapmem_layout(m, fd, f);

	for (unsigned i = 0; !ret && i < m->nr_regions; i++)
		ret = snapmem_write_region(m, i, NULL, fd, f);
	if (ret)
		log_err("writing the memory file: %s", strerror(-ret));
	return ret;
}

int snapmem_write_diff(const struct gmem *m, const uint64_t *const dirty[], int fd,
		       struct snapfile *f, struct snap_out *bits)
{
	int ret = snapmem_layout(m, fd, f);

	/*
	 * A dirty page that is now all zeros must still be applied on restore
	 * (it overwrites older data): the bitmap keeps it, the file has a hole
	 * there, which reads back as zeros.
	 */
	for (unsigned i = 0; !ret && i < m->nr_regions; i++) {
		uint64_t words = snapmem_bitmap_bytes(m->region[i].size) / 8;

		ret = snapmem_write_region(m, i, dirty[i], fd, f);
		for (uint64_t w = 0; w < words; w++)
			snap_put_u64(bits, dirty[i][w]);
		if (!ret)
			ret = snap_out_error(bits);
	}
	if (ret)
		log_err("writing the diff memory file: %s", strerror(-ret));
	return ret;
}

int snapmem_map_full(struct gmem *m, int fd, const struct snapfile *f)
{
	if (f->nr_regions > GMEM_MAX_REGIONS)
		return -EINVAL;
	for (uint32_t i = 0; i < f->nr_regions; i++) {
		int ret = gmem_add_file(m, f->regions[i].gpa, f->regions[i].size, fd,
					f->regions[i].file_off);

		if (ret)
			return ret;
	}
	return 0;
}

int64_t snapmem_apply_diff(const struct gmem *m, int fd, const struct snapfile *f)
{
	const struct snapfile_section *s = snapfile_find(f, SNAP_SEC_DIRTY);
	uint64_t want = 0, copied = 0;
	struct snap_in in;

	if (!s || f->nr_regions != m->nr_regions)
		return -EINVAL;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		if (f->regions[i].gpa != m->region[i].gpa || f->regions[i].size != m->region[i].size)
			return -EINVAL;
		want += snapmem_bitmap_bytes(m->region[i].size);
	}
	if (s->len != want)
		return -EINVAL;
	snap_in_init(&in, s->data, s->len);
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct gmem_region *r = &m->region[i];
		uint64_t pages = r->size / SNAPMEM_PAGE;
		uint64_t words = snapmem_bitmap_bytes(r->size) / 8;

		for (uint64_t w = 0; w < words; w++) {
			uint64_t bitsw = snap_get_u64(&in);

			for (unsigned b = 0; bitsw && b < 64; b++) {
				uint64_t p = w * 64 + b;
				int ret;

				if (!(bitsw >> b & 1))
					continue;
				if (p >= pages)
					return -EINVAL; /* a bit past the region's end */
				ret = snapmem_pread_all(fd, r->hva + p * SNAPMEM_PAGE, SNAPMEM_PAGE,
							f->regions[i].file_off + p * SNAPMEM_PAGE);
				if (ret)
					return ret;
				copied++;
			}
		}
	}
	return snap_in_end(&in) ? -EINVAL : (int64_t)copied;
}
