/*
 * fuzz_boot.c: libFuzzer harness for boot_load (src/arch/x86/boot.c), the
 * parser of kernel images a user hands vmon: bzImage setup headers, ELF64
 * program headers and the Xen PVH note, plus initrd and command line
 * placement.
 *
 * Owns: 64 MiB of guest RAM at gpa 0 between two PROT_NONE guard pages,
 * allocated once. Nothing in it is reset between runs: boot_load never
 * reads guest RAM to decide anything, and every check below looks only at
 * bytes this run wrote, so a run does not depend on the ones before.
 * Does not own the MP table or vCPU registers (cpu.c). Threads: libFuzzer's one.
 *
 * Input layout (little-endian; tests/fuzz/make-seeds.py writes seeds):
 *   0      u8   flags: bit0 an initrd is given, bit1 prefer_elf64,
 *                      bit2 pad the command line with 'a' to
 *                      0xfff8 + (byte 7 & 15) bytes (around BOOT_CMDLINE_MAX)
 *   1..2   u16  command line bytes that follow the header
 *   3..6   u32  initrd bytes that follow the command line (clamped)
 *   7      u8   padding selector for bit2
 *   8..         command line, initrd, then the kernel image (the rest)
 * The kernel comes last so that it ends where libFuzzer's buffer ends and
 * ASan sees any read past it; the initrd gets its own exact-size copy.
 *
 * On success the harness checks what boot.h promises the vCPU setup code:
 * the entry and boot argument lie in RAM, the kernel fits below the initrd,
 * the initrd is page aligned, inside RAM and under the kernel's limit, and
 * the command line, zero page or PVH start info say what was loaded.
 * On failure only the documented error codes may come back.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "fuzz.h"
#include "gmem.h"
#include "log.h"
#include "util.h"

/* boot.c treats an empty initrd as none (it warns and boots without one). */
#define HAS_INITRD(img) ((img)->initrd && (img)->initrd_len)

#define RAM_SIZE   (64ULL << 20)
#define HDR_SIZE   8
#define FLAG_INITRD     0x01
#define FLAG_PREFER64   0x02
#define FLAG_LONG_CMDLN 0x04
#define LONG_CMDLINE_BASE 0xfff8 /* + 0..15: straddles BOOT_CMDLINE_MAX - 1 */

/* Linux Documentation/x86/boot.rst and zero-page.rst: fields checked below. */
#define HDR_SETUP_SECTS     0x1f1
#define HDR_MAGIC           0x202
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE       0x260
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_E820_ENTRIES      0x1e8
#define ZP_E820_TABLE        0x2d0
#define ZP_SIZE              0x1000
#define LOADFLAG_LOADED_HIGH  0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define HDR_MAGIC_VALUE      0x53726448 /* "HdrS" */
/* ELF64 (System V gABI). */
#define PT_LOAD       1
#define ELF_PHDR_SIZE 56
/* struct hvm_start_info, xen/include/public/arch-x86/hvm/start_info.h. */
#define HVM_START_MAGIC 0x336ec578
/* Intel SDM vol. 3 §4.5: PML4[0] -> PDPT, present and writable. */
#define PML4E_FIRST (BOOT_PML4_ADDR + 0x1000 + 0x3)

struct fz {
	uint8_t *ram;
	struct gmem m;
	char cmdline[LONG_CMDLINE_BASE + 16 + 1];
};

/* libFuzzer harnesses keep their state here: one process, one input at a time. */
static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Each rejected image logs one error; run.sh closes stderr anyway. */
	log_set_level(LOG_ERROR);
	fz.ram = fuzz_guarded_ram(RAM_SIZE);
	FUZZ_SETUP(gmem_init_flat(&fz.m, fz.ram, 0, RAM_SIZE) == 0);
	return 0;
}

/* Host pointer to guest bytes the checks below know are in RAM. */
static const uint8_t *ram_at(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = gmem_ptr(&fz.m, gpa, len);

	FUZZ_CHECK(p != NULL);
	return p;
}

/* Every PT_LOAD segment ends at or before kernel_end, starts at or above 1 MiB. */
static void check_elf_segments(const uint8_t *k, size_t len, const struct boot_info *info)
{
	uint64_t phoff = le64_get(k + 32);
	unsigned phnum = le16_get(k + 56);

	/* boot_load accepted the image, so the table must lie inside the file. */
	FUZZ_CHECK(le16_get(k + 54) == ELF_PHDR_SIZE);
	FUZZ_CHECK(phoff <= len && (uint64_t)phnum * ELF_PHDR_SIZE <= len - phoff);
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = k + phoff + (uint64_t)i * ELF_PHDR_SIZE;
		uint64_t paddr = le64_get(ph + 24), memsz = le64_get(ph + 40);

		if (le32_get(ph) != PT_LOAD)
			continue;
		FUZZ_CHECK(paddr >= BOOT_HIGH_START);
		FUZZ_CHECK(memsz <= RAM_SIZE && paddr <= RAM_SIZE - memsz);
		FUZZ_CHECK(paddr + memsz <= info->kernel_end);
	}
}

static void check_bzimage(const uint8_t *k, size_t len, const struct boot_images *img,
			  const struct boot_info *info)
{
	unsigned setup_sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
	uint64_t pm_off = (uint64_t)(setup_sects + 1) * 512, pm_len, want_end;
	uint64_t max_initrd = (uint64_t)le32_get(k + HDR_INITRD_ADDR_MAX) + 1;

	FUZZ_CHECK(info->mode == BOOT_MODE_LONG64);
	FUZZ_CHECK(pm_off < len);
	pm_len = len - pm_off;
	/* The protected-mode code went to 1 MiB and nothing overwrote it. */
	FUZZ_CHECK(memcmp(ram_at(BOOT_HIGH_START, pm_len), k + pm_off, pm_len) == 0);
	FUZZ_CHECK(info->kernel_end >= BOOT_HIGH_START + pm_len);
	/* boot.rst: the kernel needs init_size bytes from pref_address. A sum
	 * that does not fit 64 bits cannot fit in RAM either. */
	FUZZ_CHECK(!__builtin_add_overflow(le64_get(k + HDR_PREF_ADDRESS),
					   (uint64_t)le32_get(k + HDR_INIT_SIZE), &want_end));
	FUZZ_CHECK(info->kernel_end >= want_end);
	/* cmdline_size is the longest command line, without its NUL. */
	FUZZ_CHECK(strlen(img->cmdline) <= le32_get(k + HDR_CMDLINE_SIZE));
	if (HAS_INITRD(img))
		FUZZ_CHECK(info->initrd_addr + img->initrd_len <= max_initrd);
}

static void check_zero_page(const struct boot_images *img, const struct boot_info *info)
{
	const uint8_t *zp = ram_at(BOOT_ZERO_PAGE_ADDR, ZP_SIZE);
	const uint8_t *pml4 = ram_at(BOOT_PML4_ADDR, 8);
	uint64_t rd_image = le32_get(zp + HDR_RAMDISK_IMAGE) |
			    (uint64_t)le32_get(zp + ZP_EXT_RAMDISK_IMAGE) << 32;
	uint64_t rd_size = le32_get(zp + HDR_RAMDISK_SIZE) |
			   (uint64_t)le32_get(zp + ZP_EXT_RAMDISK_SIZE) << 32;
	unsigned e820 = zp[ZP_E820_ENTRIES];

	FUZZ_CHECK_EQ(info->boot_arg, BOOT_ZERO_PAGE_ADDR);
	/* A bzImage's header is copied only up to the end its jump byte
	 * declares (boot.rst), which may fall before the magic; vmon writes
	 * a whole header for ELF64 kernels. */
	if (info->format == BOOT_FMT_ELF64)
		FUZZ_CHECK_EQ(le32_get(zp + HDR_MAGIC), HDR_MAGIC_VALUE);
	FUZZ_CHECK_EQ(le32_get(zp + HDR_CMD_LINE_PTR), BOOT_CMDLINE_ADDR);
	FUZZ_CHECK_EQ(zp[HDR_TYPE_OF_LOADER], 0xff);
	FUZZ_CHECK((zp[HDR_LOADFLAGS] & (LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP)) ==
		   (LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP));
	FUZZ_CHECK_EQ(rd_image, info->initrd_addr);
	FUZZ_CHECK_EQ(rd_size, HAS_INITRD(img) ? img->initrd_len : 0);
	/* e820: at least the conventional-memory entry, starting at 0. */
	FUZZ_CHECK(e820 >= 1 && e820 <= E820_MAX);
	FUZZ_CHECK_EQ(le64_get(zp + ZP_E820_TABLE), 0);
	FUZZ_CHECK_EQ(le64_get(pml4), PML4E_FIRST);
}

static void check_pvh(const struct boot_images *img, const struct boot_info *info)
{
	const uint8_t *si = ram_at(BOOT_PVH_INFO_ADDR, 56);

	FUZZ_CHECK(info->mode == BOOT_MODE_PROT32);
	FUZZ_CHECK_EQ(info->boot_arg, BOOT_PVH_INFO_ADDR);
	/* A 32-bit protected-mode entry must be reachable without paging. */
	FUZZ_CHECK(info->entry < (1ULL << 32));
	FUZZ_CHECK_EQ(le32_get(si), HVM_START_MAGIC);
	FUZZ_CHECK_EQ(le64_get(si + 24), BOOT_CMDLINE_ADDR);
	FUZZ_CHECK_EQ(le32_get(si + 12), HAS_INITRD(img) ? 1 : 0);
	if (HAS_INITRD(img)) {
		const uint8_t *mod = ram_at(le64_get(si + 16), 16);

		FUZZ_CHECK_EQ(le64_get(mod), info->initrd_addr);
		FUZZ_CHECK_EQ(le64_get(mod + 8), img->initrd_len);
	}
}

static void check_success(const struct boot_images *img, const struct boot_info *info)
{
	size_t cl = strlen(img->cmdline);

	FUZZ_CHECK(gmem_ptr(&fz.m, info->entry, 1) != NULL);
	FUZZ_CHECK(gmem_ptr(&fz.m, info->boot_arg, 1) != NULL);
	FUZZ_CHECK(info->kernel_end >= BOOT_HIGH_START && info->kernel_end <= RAM_SIZE);
	/* The command line, NUL included, is where the zero page points. */
	FUZZ_CHECK(cl < BOOT_CMDLINE_MAX);
	FUZZ_CHECK(memcmp(ram_at(BOOT_CMDLINE_ADDR, cl + 1), img->cmdline, cl + 1) == 0);

	if (HAS_INITRD(img)) {
		uint64_t a = info->initrd_addr;

		FUZZ_CHECK(a % FUZZ_PAGE == 0);
		FUZZ_CHECK(a >= info->kernel_end);
		FUZZ_CHECK(img->initrd_len <= RAM_SIZE && a <= RAM_SIZE - img->initrd_len);
		FUZZ_CHECK(a + img->initrd_len <= gmem_low_end(&fz.m));
		FUZZ_CHECK(memcmp(ram_at(a, img->initrd_len), img->initrd, img->initrd_len) == 0);
	} else {
		FUZZ_CHECK_EQ(info->initrd_addr, 0);
	}

	switch (info->format) {
	case BOOT_FMT_BZIMAGE:
		check_bzimage(img->kernel, img->kernel_len, img, info);
		check_zero_page(img, info);
		break;
	case BOOT_FMT_ELF64:
		FUZZ_CHECK(info->mode == BOOT_MODE_LONG64);
		check_elf_segments(img->kernel, img->kernel_len, info);
		check_zero_page(img, info);
		break;
	case BOOT_FMT_ELF_PVH:
		FUZZ_CHECK(!img->prefer_elf64);
		check_elf_segments(img->kernel, img->kernel_len, info);
		check_pvh(img, info);
		break;
	default:
		FUZZ_CHECK(!"unknown boot format");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct boot_images img = { 0 };
	struct boot_info info;
	uint8_t flags, pad;
	size_t cl, rd;
	uint8_t *initrd = NULL;
	int ret;

	if (size < HDR_SIZE)
		return -1; /* not added to the corpus */
	flags = fuzz_u8(&in);
	cl = fuzz_u16(&in);
	rd = fuzz_u32(&in);
	pad = fuzz_u8(&in);

	if (cl > in.left)
		cl = in.left;
	if (flags & FLAG_LONG_CMDLN) {
		size_t n = LONG_CMDLINE_BASE + (pad & 15);

		memset(fz.cmdline, 'a', n);
		fz.cmdline[n] = '\0';
		memcpy(fz.cmdline, in.p, cl < n ? cl : n);
	} else {
		memcpy(fz.cmdline, in.p, cl);
		fz.cmdline[cl] = '\0';
	}
	in.p += cl;
	in.left -= cl;

	if (rd > in.left)
		rd = in.left;
	if (flags & FLAG_INITRD) {
		initrd = malloc(rd ? rd : 1); /* never NULL for "no initrd" by accident */
		FUZZ_SETUP(initrd != NULL);
		memcpy(initrd, in.p, rd);
		img.initrd = initrd;
		img.initrd_len = rd;
		in.p += rd;
		in.left -= rd;
	}

	img.kernel = in.p;
	img.kernel_len = in.left;
	img.cmdline = fz.cmdline;
	img.prefer_elf64 = !!(flags & FLAG_PREFER64);

	ret = boot_load(&fz.m, &img, &info);
	if (ret == 0)
		check_success(&img, &info);
	else
		FUZZ_CHECK(ret == -ENOEXEC || ret == -EFBIG || ret == -E2BIG || ret == -EINVAL);
	free(initrd);
	return 0;
}
