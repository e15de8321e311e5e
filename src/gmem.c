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

/* Bytes of a region's device bitmap: whole u64 words, one bit a page. */
static size_t gmem_dev_bytes(uint64_t size)
{
	return (size_t)((size / GMEM_PAGE + 63) / 64 * 8);
}

void gmem_free(struct gmem *m)
{
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		if (atomic_load(&m->dev_dirty[i]))
			munmap(atomic_load(&m->dev_dirty[i]), gmem_dev_bytes(m->region[i].size));
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

void gmem_mark_dev(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (!len || __builtin_add_overflow(gpa, len, &end))
		return;
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct gmem_region *r = &m->region[i];
		uint64_t *bits = atomic_load_explicit(&m->dev_dirty[i], memory_order_acquire);

		if (!bits || gpa >= r->gpa + r->size || end <= r->gpa)
			continue;
		for (uint64_t p = ((gpa > r->gpa ? gpa : r->gpa) - r->gpa) / GMEM_PAGE;
		     p <= ((end < r->gpa + r->size ? end : r->gpa + r->size) - 1 - r->gpa) / GMEM_PAGE; p++)
			__atomic_fetch_or(&bits[p / 64], 1ull << (p % 64), __ATOMIC_RELAXED);
	}
}

int gmem_dev_track(struct gmem *m)
{
	for (unsigned i = 0; i < m->nr_regions; i++) {
		void *bits;

		if (atomic_load(&m->dev_dirty[i]))
			continue;
		/* mmap, not malloc: the main thread's filter has no brk (sandbox/seccomp.c). */
		bits = mmap(NULL, gmem_dev_bytes(m->region[i].size), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (bits == MAP_FAILED)
			return -ENOMEM;
		atomic_store_explicit(&m->dev_dirty[i], bits, memory_order_release);
	}
	return 0;
}

void gmem_dev_take(const struct gmem *m, unsigned i, uint64_t *bits)
{
	uint64_t *d = i < m->nr_regions ? atomic_load(&m->dev_dirty[i]) : NULL;
	uint64_t words = d ? (m->region[i].size / GMEM_PAGE + 63) / 64 : 0;

	for (uint64_t w = 0; w < words; w++)
		bits[w] |= __atomic_exchange_n(&d[w], 0, __ATOMIC_RELAXED);
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
