/*
 * arch/arm64/image.c: the arm64 Image header (see image.h). No state; any
 * thread.
 */
#include "arch/arm64/image.h"

#include <errno.h>
#include <stdio.h>

static uint64_t arm64_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t arm64_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int arm64_image_bad(char *why, size_t why_len, const char *reason)
{
	snprintf(why, why_len, "%s", reason);
	return -ENOEXEC;
}

/* Header fields by offset, booting.rst "3. Decompress the kernel image". */
int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image *out, char *why,
		      size_t why_len)
{
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
		return arm64_image_bad(why, why_len,
				       "gzip-compressed (Image.gz, a distribution's vmlinuz): "
				       "decompress it first (gunzip)");
	if (len < ARM64_IMAGE_HDR_SIZE)
		return arm64_image_bad(why, why_len, "too short for an arm64 Image header");
	if (arm64_le32(buf + 56) != ARM64_IMAGE_MAGIC)
		return arm64_image_bad(why, why_len, "not an arm64 Image (no ARM\\x64 magic)");
	out->text_offset = arm64_le64(buf + 8);
	out->image_size = arm64_le64(buf + 16);
	out->flags = arm64_le64(buf + 24);
	if (out->image_size == 0) {
		/* booting.rst: image_size 0 means an old kernel with text_offset 0x80000. */
		out->text_offset = ARM64_IMAGE_LEGACY_TEXT_OFFSET;
		out->image_size = len;
	}
	if (out->flags & 1) /* bit 0: kernel endianness, 1 = big-endian */
		return arm64_image_bad(why, why_len, "big-endian kernel (vmon runs little-endian)");
	if (out->text_offset >= ARM64_IMAGE_ALIGN || (out->text_offset & 0xfff))
		return arm64_image_bad(why, why_len, "text_offset not a page multiple below 2 MiB");
	if (out->image_size > ARM64_IMAGE_SIZE_MAX)
		return arm64_image_bad(why, why_len, "image_size above 1 GiB");
	if (out->image_size < len)
		return arm64_image_bad(why, why_len, "image_size smaller than the file");
	return 0;
}

int arm64_image_place(const struct arm64_image *img, uint64_t ram_base, uint64_t limit,
		      uint64_t *load)
{
	uint64_t base = (ram_base + ARM64_IMAGE_ALIGN - 1) & ~(ARM64_IMAGE_ALIGN - 1);
	uint64_t at = base + img->text_offset;

	if (base < ram_base || at < base || img->image_size > limit || at > limit - img->image_size)
		return -ENOSPC;
	*load = at;
	return 0;
}
