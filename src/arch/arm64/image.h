/*
 * arch/arm64/image.h: the arm64 Linux Image header
 * (Documentation/arm64/booting.rst) parsed as hostile input, and where the
 * image goes in RAM. Pure: no guest memory, testable on any host.
 */
#ifndef VMON_ARM64_IMAGE_H
#define VMON_ARM64_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define ARM64_IMAGE_HDR_SIZE   64
#define ARM64_IMAGE_MAGIC      0x644d5241u /* "ARM\x64", little-endian at offset 56 */
#define ARM64_IMAGE_ALIGN      0x200000ULL /* booting.rst: base 2 MiB aligned */
#define ARM64_IMAGE_LEGACY_TEXT_OFFSET 0x80000ULL /* image_size 0: pre-3.17 kernels */
#define ARM64_IMAGE_SIZE_MAX   (1ULL << 30) /* refuse claims above 1 GiB */

struct arm64_image {
	uint64_t text_offset; /* load at a 2 MiB aligned base + this */
	uint64_t image_size;  /* bytes from the load address the kernel uses (bss included) */
	uint64_t flags;
};

/*
 * Parse the header of the len-byte file at buf. 0, or -ENOEXEC with a
 * one-line reason in why (short file, gzip, no magic, big-endian, sizes
 * that do not add up).
 */
int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image *out, char *why,
		      size_t why_len);

/*
 * Where the kernel is loaded in RAM [ram_base, ram_base + ram_size):
 * ram_base (2 MiB aligned) + text_offset, with image_size bytes free
 * below limit. 0 or -ENOSPC.
 */
int arm64_image_place(const struct arm64_image *img, uint64_t ram_base, uint64_t limit,
		      uint64_t *load);

#endif
