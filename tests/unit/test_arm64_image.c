/*
 * test_arm64_image.c: unit tests for src/arch/arm64/image.c, the arm64
 * Image header (Documentation/arm64/booting.rst) parsed as hostile input,
 * and the load placement. Each hostile image is its own test with its
 * expected outcome. Runs on any host. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "arch/arm64/image.h"
#include "test.h"

#define RAM 0x40000000ULL

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A minimal good header: text_offset, image_size, flags (LE, 4K pages, anywhere). */
static void mk(uint8_t *img, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	memset(img, 0, 4096);
	put64(img + 8, text_offset);
	put64(img + 16, image_size);
	put64(img + 24, flags);
	memcpy(img + 56, "ARM\x64", 4);
}

static int parse(const uint8_t *img, size_t len, struct arm64_image *out, char *why)
{
	return arm64_image_parse(img, len, out, why, 128);
}

TEST(good_header)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";
	uint64_t at = 0;

	mk(img, 0, 0x200000, 0xa);
	CHECK_EQ(parse(img, sizeof(img), &h, why), 0);
	CHECK_EQ(h.text_offset, 0);
	CHECK_EQ(h.image_size, 0x200000);
	CHECK_EQ(arm64_image_place(&h, RAM, RAM + (64 << 20), &at), 0);
	CHECK_EQ(at, RAM);
}

TEST(text_offset_is_added_to_the_2m_base)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128];
	uint64_t at = 0;

	mk(img, 0x80000, 0x100000, 0);
	CHECK_EQ(parse(img, sizeof(img), &h, why), 0);
	CHECK_EQ(arm64_image_place(&h, RAM, RAM + (64 << 20), &at), 0);
	CHECK_EQ(at, RAM + 0x80000);
	/* an unaligned RAM base rounds up to the next 2 MiB */
	CHECK_EQ(arm64_image_place(&h, RAM + 0x1000, RAM + (64 << 20), &at), 0);
	CHECK_EQ(at, RAM + 0x200000 + 0x80000);
}

TEST(legacy_zero_image_size_means_text_offset_0x80000)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128];

	mk(img, 0x1234000, 0, 0); /* text_offset is ignored for such kernels */
	CHECK_EQ(parse(img, sizeof(img), &h, why), 0);
	CHECK_EQ(h.text_offset, 0x80000);
	CHECK_EQ(h.image_size, sizeof(img));
}

TEST(hostile_empty_file)
{
	uint8_t img[1] = { 0 };
	struct arm64_image h;
	char why[128] = "";

	CHECK_EQ(parse(img, 0, &h, why), -ENOEXEC);
	CHECK(strstr(why, "too short") != NULL);
}

TEST(hostile_truncated_header)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";

	mk(img, 0, 0x200000, 0);
	CHECK_EQ(parse(img, 63, &h, why), -ENOEXEC);
	CHECK(strstr(why, "too short") != NULL);
}

TEST(hostile_no_magic)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";

	mk(img, 0, 0x200000, 0);
	img[59] = 0x65;
	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
	CHECK(strstr(why, "magic") != NULL);
}

TEST(hostile_x86_bzimage)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";

	memset(img, 0, sizeof(img));
	memcpy(img + 0x202, "HdrS", 4);
	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
}

TEST(hostile_gzip_names_the_fix)
{
	uint8_t img[4096] = { 0x1f, 0x8b, 0x08 };
	struct arm64_image h;
	char why[128] = "";

	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
	CHECK(strstr(why, "gunzip") != NULL);
}

TEST(hostile_big_endian)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";

	mk(img, 0, 0x200000, 1);
	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
	CHECK(strstr(why, "big-endian") != NULL);
}

TEST(hostile_text_offset_unaligned)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";

	mk(img, 0x80001, 0x200000, 0);
	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
}

TEST(hostile_text_offset_beyond_2m)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";

	mk(img, 0x200000, 0x200000, 0);
	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
	mk(img, UINT64_MAX & ~0xfffULL, 0x200000, 0);
	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
}

TEST(hostile_image_size_huge)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";

	mk(img, 0, UINT64_MAX, 0);
	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
	CHECK(strstr(why, "1 GiB") != NULL);
}

TEST(hostile_image_size_below_file)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128] = "";

	mk(img, 0, 1024, 0);
	CHECK_EQ(parse(img, sizeof(img), &h, why), -ENOEXEC);
}

TEST(image_that_does_not_fit_is_refused)
{
	uint8_t img[4096];
	struct arm64_image h;
	char why[128];
	uint64_t at = 0;

	mk(img, 0x80000, 64 << 20, 0);
	CHECK_EQ(parse(img, sizeof(img), &h, why), 0);
	CHECK_EQ(arm64_image_place(&h, RAM, RAM + (64 << 20), &at), -ENOSPC);
	CHECK_EQ(arm64_image_place(&h, RAM, RAM + (64 << 20) + 0x80000, &at), 0);
	CHECK_EQ(arm64_image_place(&h, UINT64_MAX - 0x1000, UINT64_MAX, &at), -ENOSPC);
}

TEST_MAIN(T(good_header), T(text_offset_is_added_to_the_2m_base),
	  T(legacy_zero_image_size_means_text_offset_0x80000), T(hostile_empty_file),
	  T(hostile_truncated_header), T(hostile_no_magic), T(hostile_x86_bzimage),
	  T(hostile_gzip_names_the_fix), T(hostile_big_endian), T(hostile_text_offset_unaligned),
	  T(hostile_text_offset_beyond_2m), T(hostile_image_size_huge),
	  T(hostile_image_size_below_file), T(image_that_does_not_fit_is_refused))
