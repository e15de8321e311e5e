/*
 * gmem.c: guest RAM mappings and checked guest-physical access (see gmem.h).
 */
#include "gmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "log.h"

/*
 * Keep guest RAM out of core dumps (MADV_DONTDUMP): a crash of vmon must
 * not write the guest's memory (keys, user data) into a file the host's
 * core pattern picks. The flag belongs to the mapping, so every mapping of
 * guest RAM gets it, including one mapped over an old one (MAP_FIXED).
 */
static int gmem_dontdump(void *p, uint64_t size)
{
	if (madvise(p, size, MADV_DONTDUMP) < 0) {
		int err = errno;

		log_err("cannot keep %llu MiB of guest RAM out of core dumps: %s",
			(unsigned long long)(size >> 20), strerror(err));
		return -err;
	}
	return 0;
}

/* fd < 0: anonymous; else a private (copy-on-write) mapping of fd at off. */
static int gmem_map(struct gmem *m, uint64_t gpa, uint64_t size, int fd, uint64_t off)
{
	void *p;
	int ret;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_NORESERVE | (fd < 0 ? MAP_ANONYMOUS : 0), fd, (off_t)off);
	if (p == MAP_FAILED) {
		int err = errno;

		log_err("cannot map %llu MiB of guest RAM: %s",
			(unsigned long long)(size >> 20), strerror(err));
		return -err;
	}
	ret = gmem_dontdump(p, size);
	if (ret) {
		munmap(p, size);
		return ret;
	}
	/* Guest RAM is big and mostly idle: let THP back it where it can. */
	if (fd < 0)
		madvise(p, size, MADV_HUGEPAGE);
	m->region[m->nr_regions].gpa = gpa;
	m->region[m->nr_regions].size = size;
	m->region[m->nr_regions].hva = p;
	m->nr_regions++;
	m->ram_size += size;
	return 0;
}

void gmem_init(struct gmem *m)
{
	memset(m, 0, sizeof(*m));
	m->owns_mappings = 1;
}

static int gmem_check_new(const struct gmem *m, uint64_t gpa, uint64_t size)
{
	uint64_t end;

	/* 4 KiB granularity: accelerator memory slots are page-sized. */
	if (!m->owns_mappings || size == 0 || ((gpa | size) & 0xfff) ||
	    __builtin_add_overflow(gpa, size, &end) || m->nr_regions == GMEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned i = 0; i < m->nr_regions; i++)
		if (gpa < m->region[i].gpa + m->region[i].size && m->region[i].gpa < end)
			return -EINVAL;
	return 0;
}

int gmem_add_anon(struct gmem *m, uint64_t gpa, uint64_t size)
{
	int ret = gmem_check_new(m, gpa, size);

	return ret ? ret : gmem_map(m, gpa, size, -1, 0);
}

int gmem_add_file(struct gmem *m, uint64_t gpa, uint64_t size, int fd, uint64_t off)
{
	struct stat st;
	uint64_t end;
	int ret = gmem_check_new(m, gpa, size);

	if (ret)
		return ret;
	if (fd < 0 || (off & 0xfff) || __builtin_add_overflow(off, size, &end))
		return -EINVAL;
	if (fstat(fd, &st))
		return -errno;
	/* A mapping past the file's end would SIGBUS on the guest's first touch. */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < end) {
		log_err("memory file holds %llu bytes; the region at gpa %#llx needs %llu",
			(unsigned long long)st.st_size, (unsigned long long)gpa,
			(unsigned long long)end);
		return -EINVAL;
	}
	return gmem_map(m, gpa, size, fd, off);
}

int gmem_map_over(const struct gmem_region *r, int fd, uint64_t off)
{
	if (fd < 0 || (off & 0xfff))
		return -EINVAL;
	if (mmap(r->hva, r->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
		 fd, (off_t)off) == MAP_FAILED)
		return -errno;
	return gmem_dontdump(r->hva, r->size);
}

int gmem_init_flat(struct gmem *m, void *hva, uint64_t gpa, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	if (!hva || size == 0 || gpa + size < gpa)
		return -EINVAL;
	m->region[0].gpa = gpa;
	m->region[0].size = size;
	m->region[0].hva = hva;
	m->nr_regions = 1;
	m->ram_size = size;
	return 0;
}

void gmem_free(struct gmem *m)
{
	for (unsigned i = 0; i < m->nr_regions; i++)
		if (m->owns_mappings)
			munmap(m->region[i].hva, m->region[i].size);
	memset(m, 0, sizeof(*m));
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct gmem_region *r = &m->region[i];

		if (gpa >= r->gpa && end <= r->gpa + r->size && gpa < r->gpa + r->size)
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t gmem_low_end(const struct gmem *m)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < m->nr_regions; i++)
		if (m->region[i].gpa < GMEM_4G)
			end = m->region[i].gpa + m->region[i].size;
	return end;
}
