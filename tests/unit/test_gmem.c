/*
 * test_gmem.c: unit tests for src/gmem.c, guest physical memory.
 *
 * Covers gmem_init_flat (argument checks, a region at a nonzero gpa),
 * gmem_ptr at every edge of a region (inside, exact end, straddling, below
 * the base, wrapping 2^64, empty ranges), gmem_read/gmem_write refusing
 * anything that is not wholly RAM without touching memory, x86_mem_init
 * (arch/x86/boot.c, over gmem_add_anon)
 * (argument checks, sizes below, at and above the 3 GiB hole; MAP_NORESERVE
 * makes multi-GiB mappings cheap as long as nothing touches them) and
 * gmem_low_end, and that every RAM mapping (anonymous, file-backed,
 * mapped over in place) carries MADV_DONTDUMP ("dd" in /proc/self/smaps).
 * Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "gmem.h"
#include "test.h"

#define BASE  0x40000000ULL /* 1 GiB: a forgotten base shows up */
#define SIZE  0x10000ULL
#define GUARD 256

static uint8_t *guarded_alloc(void)
{
	uint8_t *p = malloc(SIZE + 2 * GUARD);

	if (!p)
		abort();
	memset(p, 0xa5, SIZE + 2 * GUARD);
	return p;
}

static int guards_intact(const uint8_t *p)
{
	for (size_t i = 0; i < GUARD; i++)
		if (p[i] != 0xa5 || p[GUARD + SIZE + i] != 0xa5)
			return 0;
	return 1;
}

TEST(init_flat)
{
	uint8_t buf[64];
	struct gmem m;

	CHECK_EQ(gmem_init_flat(&m, buf, BASE, sizeof(buf)), 0);
	CHECK_EQ(m.nr_regions, 1);
	CHECK_EQ(m.region[0].gpa, BASE);
	CHECK_EQ(m.region[0].size, sizeof(buf));
	CHECK(m.region[0].hva == buf);
	CHECK_EQ(m.ram_size, sizeof(buf));
	CHECK_EQ(m.owns_mappings, 0);
	gmem_free(&m); /* must not free or unmap caller memory */
	CHECK_EQ(m.nr_regions, 0);
	buf[0] = 1;    /* still ours (ASan would object otherwise) */

	/* A region whose last byte is the last guest physical address but one. */
	CHECK_EQ(gmem_init_flat(&m, buf, UINT64_MAX - sizeof(buf), sizeof(buf)), 0);
	CHECK(gmem_ptr(&m, UINT64_MAX - 1, 1) == buf + sizeof(buf) - 1);
	CHECK(gmem_ptr(&m, UINT64_MAX - 1, 2) == NULL);
	CHECK(gmem_ptr(&m, UINT64_MAX, 0) == NULL);

	memset(&m, 0xff, sizeof(m));
	CHECK_EQ(gmem_init_flat(&m, NULL, BASE, sizeof(buf)), -EINVAL);
	CHECK_EQ(m.nr_regions, 0); /* a refused init leaves an empty map */
	CHECK_EQ(gmem_init_flat(&m, buf, BASE, 0), -EINVAL);
	CHECK_EQ(m.nr_regions, 0);
	CHECK_EQ(gmem_init_flat(&m, buf, UINT64_MAX - 10, 64), -EINVAL); /* wraps */
	/* Ending exactly at 2^64 is refused too: gpa + size must stay representable. */
	CHECK_EQ(gmem_init_flat(&m, buf, UINT64_MAX - 63, 64), -EINVAL);
	CHECK(gmem_ptr(&m, 0, 0) == NULL);
}

TEST(ptr_edges)
{
	uint8_t *host = guarded_alloc(), *ram = host + GUARD;
	static const struct {
		const char *name;
		uint64_t gpa, len;
		int64_t off; /* expected offset into RAM, or -1 for NULL */
	} cases[] = {
		{ "first byte", BASE, 1, 0 },
		{ "whole region", BASE, SIZE, 0 },
		{ "middle", BASE + 0x1234, 0x100, 0x1234 },
		{ "last byte", BASE + SIZE - 1, 1, SIZE - 1 },
		{ "tail up to end", BASE + SIZE - 16, 16, SIZE - 16 },
		{ "empty at base", BASE, 0, 0 },
		{ "empty inside", BASE + 5, 0, 5 },
		/* gmem.h: an empty range with gpa outside RAM is NULL; the end is outside. */
		{ "empty at exact end", BASE + SIZE, 0, -1 },
		{ "one byte at exact end", BASE + SIZE, 1, -1 },
		{ "straddles end by one", BASE + SIZE - 1, 2, -1 },
		{ "whole region plus one", BASE, SIZE + 1, -1 },
		{ "below base", BASE - 1, 1, -1 },
		{ "straddles base", BASE - 1, 2, -1 },
		{ "empty below base", BASE - 1, 0, -1 },
		{ "gpa 0", 0, 1, -1 },
		{ "far above", BASE + 2 * SIZE, 1, -1 },
		{ "len wraps 2^64", BASE + 1, UINT64_MAX, -1 },
		{ "len = 2^64 - gpa", BASE, (uint64_t)0 - BASE, -1 },
		{ "gpa near top", UINT64_MAX, 1, -1 },
		{ "gpa near top, empty", UINT64_MAX, 0, -1 },
		{ "gpa near top wraps into RAM", UINT64_MAX - 1, BASE + 3, -1 },
		{ "huge len", BASE, UINT64_MAX, -1 },
	};
	struct gmem m;

	CHECK_EQ(gmem_init_flat(&m, ram, BASE, SIZE), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *p = gmem_ptr(&m, cases[i].gpa, cases[i].len);
		uint8_t *want = cases[i].off < 0 ? NULL : ram + cases[i].off;

		if (p != want)
			fprintf(stderr, "  case \"%s\": got %p, want %p\n", cases[i].name,
				(void *)p, (void *)want);
		CHECK(p == want);
	}
	gmem_free(&m);
	free(host);
}

TEST(read_write)
{
	uint8_t *host = guarded_alloc(), *ram = host + GUARD;
	uint8_t src[32], dst[32];
	static const struct {
		const char *name;
		uint64_t gpa;
		size_t len;
	} bad[] = {
		{ "below base", BASE - 32, 32 },
		{ "straddles base", BASE - 1, 32 },
		{ "straddles end", BASE + SIZE - 31, 32 },
		{ "at end", BASE + SIZE, 32 },
		{ "empty at end", BASE + SIZE, 0 },
		{ "wraps", UINT64_MAX - 15, 32 },
		{ "gpa 0", 0, 1 },
	};
	struct gmem m;

	CHECK_EQ(gmem_init_flat(&m, ram, BASE, SIZE), 0);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 13 + 1);

	CHECK_EQ(gmem_write(&m, BASE + 0x100, src, sizeof(src)), 0);
	CHECK(memcmp(ram + 0x100, src, sizeof(src)) == 0);
	memset(dst, 0, sizeof(dst));
	CHECK_EQ(gmem_read(&m, BASE + 0x100, dst, sizeof(dst)), 0);
	CHECK(memcmp(dst, src, sizeof(src)) == 0);
	/* Exactly the last bytes of RAM. */
	CHECK_EQ(gmem_write(&m, BASE + SIZE - sizeof(src), src, sizeof(src)), 0);
	CHECK(memcmp(ram + SIZE - sizeof(src), src, sizeof(src)) == 0);
	CHECK_EQ(gmem_read(&m, BASE + SIZE - 1, dst, 1), 0);
	CHECK_EQ(dst[0], src[sizeof(src) - 1]);
	/* Empty access inside RAM is fine. */
	CHECK_EQ(gmem_read(&m, BASE, dst, 0), 0);
	CHECK_EQ(gmem_write(&m, BASE, src, 0), 0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r, w;

		memset(dst, 0x77, sizeof(dst));
		r = gmem_read(&m, bad[i].gpa, dst, bad[i].len);
		w = gmem_write(&m, bad[i].gpa, src, bad[i].len);
		if (r != -EFAULT || w != -EFAULT)
			fprintf(stderr, "  case \"%s\"\n", bad[i].name);
		CHECK_EQ(r, -EFAULT);
		CHECK_EQ(w, -EFAULT);
		for (size_t j = 0; j < sizeof(dst); j++)
			CHECK_EQ(dst[j], 0x77); /* a refused read copies nothing */
	}
	/* A refused write near the end left the RAM tail alone. */
	CHECK(memcmp(ram + SIZE - sizeof(src), src, sizeof(src)) == 0);
	CHECK(guards_intact(host));
	gmem_free(&m);
	free(host);
}

TEST(init_x86_refused)
{
	static const uint64_t sizes[] = { 0, 1, 0xfff, 0x1001, (64ULL << 20) + 512 };
	struct gmem m;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&m, 0xff, sizeof(m));
		CHECK_EQ(x86_mem_init(&m, sizes[i]), -EINVAL);
		CHECK_EQ(m.nr_regions, 0);
		CHECK_EQ(m.ram_size, 0);
	}
}

TEST(init_x86_small)
{
	static const uint64_t sizes[] = { 0x1000, 1ULL << 20, 64ULL << 20, (64ULL << 20) + 0x1000 };
	struct gmem m;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p;

		CHECK_EQ(x86_mem_init(&m, sizes[i]), 0);
		CHECK_EQ(m.nr_regions, 1);
		CHECK_EQ(m.region[0].gpa, 0);
		CHECK_EQ(m.region[0].size, sizes[i]);
		CHECK_EQ(m.ram_size, sizes[i]);
		CHECK_EQ(m.owns_mappings, 1);
		CHECK_EQ(gmem_low_end(&m), sizes[i]);
		/* Fresh anonymous memory is zero and writable at both ends. */
		p = gmem_ptr(&m, 0, 1);
		CHECK(p != NULL);
		if (p) {
			CHECK_EQ(p[0], 0);
			p[0] = 0x42;
		}
		p = gmem_ptr(&m, sizes[i] - 1, 1);
		CHECK(p != NULL);
		if (p) {
			CHECK_EQ(p[0], 0);
			p[0] = 0x43;
		}
		CHECK(gmem_ptr(&m, sizes[i], 1) == NULL);
		gmem_free(&m);
		CHECK_EQ(m.nr_regions, 0);
		CHECK_EQ(m.ram_size, 0);
	}
}

TEST(init_x86_hole)
{
	const uint64_t hole = X86_HOLE_START;
	struct gmem m;
	uint8_t *p;

	/* Exactly up to the hole: still one region. */
	CHECK_EQ(x86_mem_init(&m, hole), 0);
	CHECK_EQ(m.nr_regions, 1);
	CHECK_EQ(m.region[0].size, hole);
	CHECK_EQ(gmem_low_end(&m), hole);
	CHECK(gmem_ptr(&m, hole - 1, 1) != NULL);
	CHECK(gmem_ptr(&m, hole, 1) == NULL);
	gmem_free(&m);

	/* One page past the hole: that page moves to 4 GiB. */
	CHECK_EQ(x86_mem_init(&m, hole + 0x1000), 0);
	CHECK_EQ(m.nr_regions, 2);
	CHECK_EQ(m.region[1].gpa, GMEM_4G);
	CHECK_EQ(m.region[1].size, 0x1000);
	CHECK_EQ(m.ram_size, hole + 0x1000);
	CHECK_EQ(gmem_low_end(&m), hole);
	gmem_free(&m);

	/* 3.5 GiB: 3 GiB low, 512 MiB from 4 GiB. */
	CHECK_EQ(x86_mem_init(&m, 3584ULL << 20), 0);
	CHECK_EQ(m.nr_regions, 2);
	CHECK_EQ(m.region[0].gpa, 0);
	CHECK_EQ(m.region[0].size, hole);
	CHECK_EQ(m.region[1].gpa, GMEM_4G);
	CHECK_EQ(m.region[1].size, 512ULL << 20);
	CHECK_EQ(m.ram_size, 3584ULL << 20);
	CHECK_EQ(gmem_low_end(&m), hole);
	/* The hole itself is not RAM, and no range may span it. */
	CHECK(gmem_ptr(&m, hole, 1) == NULL);
	CHECK(gmem_ptr(&m, 0xfec00000, 4) == NULL);
	CHECK(gmem_ptr(&m, GMEM_4G - 1, 1) == NULL);
	CHECK(gmem_ptr(&m, hole - 1, 2) == NULL);
	CHECK(gmem_ptr(&m, hole - 1, GMEM_4G - hole + 2) == NULL);
	CHECK(gmem_ptr(&m, GMEM_4G - 1, 2) == NULL);
	/* Both sides of the hole are RAM, with separate mappings. */
	p = gmem_ptr(&m, GMEM_4G, 8);
	CHECK(p != NULL);
	CHECK(p == m.region[1].hva);
	CHECK(gmem_ptr(&m, GMEM_4G + (512ULL << 20) - 1, 1) != NULL);
	CHECK(gmem_ptr(&m, GMEM_4G + (512ULL << 20), 1) == NULL);
	{
		static const uint8_t hi[] = "above 4 GiB", lo[] = "below the hole";
		uint8_t back[sizeof(hi)];

		CHECK_EQ(gmem_write(&m, GMEM_4G + 0x1000, hi, sizeof(hi)), 0);
		CHECK_EQ(gmem_write(&m, hole - sizeof(lo), lo, sizeof(lo)), 0);
		CHECK_EQ(gmem_read(&m, GMEM_4G + 0x1000, back, sizeof(back)), 0);
		CHECK(memcmp(back, hi, sizeof(hi)) == 0);
		CHECK(memcmp(m.region[0].hva + hole - sizeof(lo), lo, sizeof(lo)) == 0);
	}
	gmem_free(&m);
	CHECK_EQ(m.nr_regions, 0);
}

/*
 * A mapping the host must refuse: the error is -ENOMEM and the region table
 * is left empty (the 3 GiB below the hole is mapped first, then undone).
 * gmem logs one error line here on purpose.
 */
TEST(init_x86_host_refuses)
{
	struct gmem m;
	int ret;

	ret = x86_mem_init(&m, 1ULL << 62); /* far beyond any user address space */
	CHECK_EQ(ret, -ENOMEM);
	CHECK_EQ(m.nr_regions, 0);
	CHECK_EQ(m.ram_size, 0);
}

TEST(low_end)
{
	uint8_t buf[16];
	struct gmem m;

	CHECK_EQ(gmem_init_flat(&m, buf, 0, sizeof(buf)), 0);
	CHECK_EQ(gmem_low_end(&m), sizeof(buf));
	CHECK_EQ(gmem_init_flat(&m, buf, 0x100000, sizeof(buf)), 0);
	CHECK_EQ(gmem_low_end(&m), 0x100000 + sizeof(buf));
	/* RAM only above 4 GiB: none below. */
	CHECK_EQ(gmem_init_flat(&m, buf, GMEM_4G, sizeof(buf)), 0);
	CHECK_EQ(gmem_low_end(&m), 0);
	memset(&m, 0, sizeof(m));
	CHECK_EQ(gmem_low_end(&m), 0);
}

/* gmem_add_anon: the generic region mapper arch layouts build on. */
TEST(add_anon)
{
	struct gmem m;

	gmem_init(&m);
	CHECK_EQ(gmem_add_anon(&m, 0, 0), -EINVAL);          /* empty */
	CHECK_EQ(gmem_add_anon(&m, 0, 0x1800), -EINVAL);     /* not page-sized */
	CHECK_EQ(gmem_add_anon(&m, 0x800, 0x1000), -EINVAL); /* not page-aligned */
	CHECK_EQ(gmem_add_anon(&m, UINT64_MAX & ~0xfffULL, 0x2000), -EINVAL); /* wraps */
	CHECK_EQ(gmem_add_anon(&m, 0x10000, 0x4000), 0);
	CHECK_EQ(gmem_add_anon(&m, 0x12000, 0x4000), -EINVAL); /* overlaps the first */
	CHECK_EQ(gmem_add_anon(&m, 0xf000, 0x2000), -EINVAL);  /* overlaps its start */
	CHECK_EQ(gmem_add_anon(&m, 0x14000, 0x1000), 0);       /* adjacent is fine */
	CHECK_EQ(m.nr_regions, 2);
	CHECK_EQ(m.ram_size, 0x5000);
	CHECK(gmem_ptr(&m, 0x13fff, 2) == NULL); /* two regions, not one range */
	CHECK(gmem_ptr(&m, 0x14000, 0x1000) != NULL);
	for (unsigned i = m.nr_regions; i < GMEM_MAX_REGIONS; i++)
		CHECK_EQ(gmem_add_anon(&m, 0x100000 * (i + 1), 0x1000), 0);
	CHECK_EQ(gmem_add_anon(&m, 0x10000000, 0x1000), -EINVAL); /* table full */
	gmem_free(&m);
	CHECK_EQ(m.nr_regions, 0);

	/* Caller-owned memory (gmem_init_flat) is not gmem's to extend. */
	{
		uint8_t buf[64];

		CHECK_EQ(gmem_init_flat(&m, buf, 0, sizeof(buf)), 0);
		CHECK_EQ(gmem_add_anon(&m, 0x1000, 0x1000), -EINVAL);
	}
}

/*
 * The VmFlags line of the mapping holding addr in /proc/self/smaps, copied
 * into flags (with a leading and trailing space, so " dd " can be
 * searched). 0, or -1 if no mapping holds addr.
 */
static int vm_flags(const void *addr, char *flags, size_t size)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(flags, size, "%s ", line + 8);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static int dontdump(const void *addr)
{
	char flags[520];

	return vm_flags(addr, flags, sizeof(flags)) == 0 && strstr(flags, " dd ") != NULL;
}

/* Guest RAM never lands in a core dump: every mapping gmem makes carries MADV_DONTDUMP. */
TEST(ram_not_in_core_dumps)
{
	char path[] = "/tmp/vmon-test-gmem-XXXXXX";
	void *plain = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct gmem m;
	int fd = mkstemp(path);

	CHECK(fd >= 0 && ftruncate(fd, 0x8000) == 0);
	unlink(path);
	/* The check itself: a mapping nobody advised is dumped. */
	CHECK(plain != MAP_FAILED);
	CHECK(!dontdump(plain));
	munmap(plain, 0x4000);

	gmem_init(&m);
	CHECK_EQ(gmem_add_anon(&m, 0x10000, 0x4000), 0);
	CHECK_EQ(gmem_add_file(&m, 0x100000, 0x4000, fd, 0x1000), 0); /* a snapshot's memory file */
	CHECK_EQ(m.nr_regions, 2);
	CHECK(dontdump(gmem_ptr(&m, 0x10000, 1)));
	CHECK(dontdump(gmem_ptr(&m, 0x13fff, 1)));
	CHECK(dontdump(gmem_ptr(&m, 0x100000, 1)));
	/* Restore maps a file over a region in place: the new mapping is kept out too. */
	CHECK_EQ(gmem_map_over(&m.region[0], fd, 0x4000), 0);
	CHECK(dontdump(gmem_ptr(&m, 0x10000, 1)));
	CHECK(dontdump(gmem_ptr(&m, 0x13fff, 1)));
	CHECK_EQ(gmem_map_over(&m.region[0], fd, 0x800), -EINVAL); /* unaligned offset */
	CHECK_EQ(gmem_map_over(&m.region[0], -1, 0), -EINVAL);
	gmem_free(&m);
	close(fd);
}

TEST_MAIN(T(ram_not_in_core_dumps), T(add_anon), T(init_flat), T(ptr_edges), T(read_write), T(init_x86_refused), T(init_x86_small),
	  T(init_x86_hole), T(init_x86_host_refuses), T(low_end))
