/*
 * test_boot.c: unit tests for src/arch/x86/boot.c, the x86 kernel loaders.
 *
 * Owns: synthetic kernel images built in memory (a bzImage with a 2.15
 * setup header and a patterned protected-mode payload; ELF64 x86-64 files
 * with PT_LOAD segments and an optional Xen PVH note) and a flat 64 MiB
 * guest RAM at gpa 0, pre-filled with 0xaa so that every byte the loader
 * writes (or must not write) shows. Image buffers are allocated at their
 * exact size so that ASan catches any read past the end of a file.
 *
 * Covers: the bzImage path (payload at 1 MiB, entry, zero page: copied
 * header, loader fields, command line, e820, initrd placement; GDT and
 * identity page tables), the ELF PVH path (segments and bss, hvm_start_info,
 * memory map, module list), the ELF64 path (synthesised zero page), hostile
 * tables for both formats and for PVH notes, junk images, and boot_e820 for
 * flat and x86 (3.5 GiB, MAP_NORESERVE) layouts. Hostile cases must fail
 * with the documented code, and those refused before loading must leave
 * guest RAM untouched. Every boot_load call runs with stderr captured: a
 * refusal must log exactly one error line, a success none (VMON_TEST_LOG=1
 * shows them). Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/pc_layout.h"
#include "gmem.h"
#include "test.h"
#include "util.h"

#define MiB       (1ULL << 20)
#define RAM_SIZE  (64 * MiB)
#define FILL      0xaa

/* Zero page (struct boot_params) offsets, Documentation/x86/zero-page.rst. */
#define ZP                 BOOT_ZERO_PAGE_ADDR
#define ZP_EXT_RAMDISK_IMG 0x0c0
#define ZP_EXT_RAMDISK_SZ  0x0c4
#define ZP_EXT_CMD_LINE    0x0c8
#define ZP_E820_ENTRIES    0x1e8
#define ZP_E820_TABLE      0x2d0
/* Setup header offsets, Documentation/x86/boot.rst. */
#define H_SETUP_SECTS      0x1f1
#define H_VID_MODE         0x1fa
#define H_BOOT_FLAG        0x1fe
#define H_JUMP             0x200
#define H_MAGIC            0x202
#define H_VERSION          0x206
#define H_TYPE_OF_LOADER   0x210
#define H_LOADFLAGS        0x211
#define H_RAMDISK_IMAGE    0x218
#define H_RAMDISK_SIZE     0x21c
#define H_HEAP_END_PTR     0x224
#define H_CMD_LINE_PTR     0x228
#define H_INITRD_ADDR_MAX  0x22c
#define H_KERNEL_ALIGN     0x230
#define H_RELOCATABLE      0x234
#define H_XLOADFLAGS       0x236
#define H_CMDLINE_SIZE     0x238
#define H_PREF_ADDRESS     0x258
#define H_INIT_SIZE        0x260
#define H_END_212          0x264
#define LOADED_HIGH        0x01
#define CAN_USE_HEAP       0x80
#define XLF_KERNEL_64      0x01
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02

/* ELF64 (System V gABI). */
#define PT_LOAD    1
#define PT_DYNAMIC 2
#define PT_NOTE    4
#define PT_GNU_STACK 0x6474e551u
#define EM_X86_64  62

/* hvm_start_info, xen/include/public/arch-x86/hvm/start_info.h. */
#define PVH_MAGIC 0x336ec578u

/* ---- guest RAM ------------------------------------------------------- */

struct ram {
	uint8_t *host;
	uint64_t size;
	struct gmem m;
};

static void ram_new(struct ram *r, uint64_t size)
{
	r->size = size;
	r->host = malloc(size);
	if (!r->host || gmem_init_flat(&r->m, r->host, 0, size))
		abort();
	memset(r->host, FILL, size);
}

/* Back to all FILL: cheaper than a new mapping for every table row. */
static void ram_reset(struct ram *r)
{
	memset(r->host, FILL, r->size);
}

static void ram_free(struct ram *r)
{
	gmem_free(&r->m);
	free(r->host);
}

/* Host view of guest memory, for checks only: a bad address is a broken test. */
static uint8_t *gp(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gmem_ptr(m, gpa, len);

	if (!p)
		abort();
	return p;
}

/* All n bytes equal v. Whole-RAM checks run per table row, so: p[0] == v and
 * every byte equals the next (one overlapping memcmp, vectorised by libc). */
static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	return n == 0 || (p[0] == v && memcmp(p, p + 1, n - 1) == 0);
}

/* Byte i of a payload or segment: position-dependent beyond 256-byte periods. */
static uint8_t pat(size_t i, uint8_t seed)
{
	return (uint8_t)((i * 7) ^ (i >> 8) ^ (i >> 16) ^ seed);
}

static uint8_t *pattern_buf(size_t n, uint8_t seed)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		abort();
	for (size_t i = 0; i < n; i++)
		p[i] = pat(i, seed);
	return p;
}

static int is_pattern(const uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(i, seed))
			return 0;
	return 1;
}

/* Copy the first n bytes of a scratch image into an exact-size allocation. */
static uint8_t *exact_copy(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		abort();
	memcpy(p, src, n);
	return p;
}

/* ---- boot_load with its log captured ---------------------------------- */

/*
 * boot.h: boot_load "logs the reason once". Each call runs with stderr
 * redirected to a temporary file so its lines can be counted (and the
 * hostile tables stay quiet); sanitizer reports still go to the real
 * stderr. VMON_TEST_LOG=1 echoes what was captured.
 */
void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static void report_fd(int fd)
{
	if (__sanitizer_set_report_fd)
		__sanitizer_set_report_fd((void *)(intptr_t)fd);
}

struct logged {
	unsigned errors, warnings, lines;
};

static int load_logged(struct test_ctx *t_, const struct gmem *m, const struct boot_images *img,
		       struct boot_info *info, struct logged *lg)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO), ret;
	char buf[4096];
	size_t n;

	if (!tmp || saved < 0)
		abort();
	fflush(stderr);
	report_fd(saved);
	if (dup2(fileno(tmp), STDERR_FILENO) < 0)
		abort();
	ret = boot_load(m, img, info);
	if (dup2(saved, STDERR_FILENO) < 0)
		abort();
	report_fd(STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
	memset(lg, 0, sizeof(*lg));
	for (const char *l = buf; *l;) {
		const char *nl = strchr(l, '\n');

		lg->lines++;
		lg->errors += strncmp(l, "vmon: error: ", 13) == 0;
		lg->warnings += strncmp(l, "vmon: warning: ", 15) == 0;
		l = nl ? nl + 1 : l + strlen(l);
	}
	if (getenv("VMON_TEST_LOG"))
		fputs(buf, stderr);
	/* A refusal logs exactly one line, an error; a success logs no error. */
	if (ret ? lg->lines != 1 || lg->errors != 1 : lg->errors != 0)
		fprintf(stderr, "  boot_load returned %d and logged:\n%s", ret, buf);
	if (ret) {
		CHECK_EQ(lg->lines, 1);
		CHECK_EQ(lg->errors, 1);
	} else {
		CHECK_EQ(lg->errors, 0);
	}
	return ret;
}

static int load(struct test_ctx *t_, const struct gmem *m, const struct boot_images *img,
		struct boot_info *info)
{
	struct logged lg;

	return load_logged(t_, m, img, info, &lg);
}

/* ---- bzImage builder ------------------------------------------------- */

struct bz_spec {
	uint8_t setup_sects;   /* as stored in the header: 0 means 4 */
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint64_t pref_address;
	uint32_t init_size;
	uint8_t jump;          /* setup header ends at 0x202 + jump */
	size_t payload_len;
	size_t file_len;       /* 0: setup + payload; else cut or pad to this */
	uint16_t boot_flag;
	uint32_t magic;
};

#define SEED_SETUP   0x11
#define SEED_PAYLOAD 0x5c
#define SEED_INITRD  0x3e

static struct bz_spec bz_default(void)
{
	return (struct bz_spec){
		.setup_sects = 4,
		.version = 0x020f,
		.loadflags = LOADED_HIGH,
		.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
		.cmdline_size = 2047,
		.initrd_addr_max = 0x7fffffff,
		.pref_address = 0x1000000, /* 16 MiB */
		.init_size = 0x400000,      /* 4 MiB: the kernel needs up to 20 MiB */
		.jump = 0x66,               /* header up to 0x268, as a 2.15 kernel */
		.payload_len = 64 * 1024 + 17,
		.boot_flag = 0xaa55,
		.magic = 0x53726448,        /* "HdrS" */
	};
}

static size_t bz_pm_off(const struct bz_spec *s)
{
	return ((size_t)(s->setup_sects ? s->setup_sects : 4) + 1) * 512;
}

static uint8_t *bz_build(const struct bz_spec *s, size_t *len)
{
	size_t pm_off = bz_pm_off(s), full = pm_off + s->payload_len;
	size_t n = s->file_len ? s->file_len : full, scratch_len = n > full ? n : full;
	uint8_t *scratch = calloc(1, scratch_len), *k;

	if (!scratch)
		abort();
	for (size_t i = 0; i < pm_off; i++)
		scratch[i] = pat(i, SEED_SETUP);
	for (size_t i = 0; i < s->payload_len; i++)
		scratch[pm_off + i] = pat(i, SEED_PAYLOAD);
	scratch[H_SETUP_SECTS] = s->setup_sects;
	le16_put(scratch + H_BOOT_FLAG, s->boot_flag);
	scratch[H_JUMP] = 0xeb;
	scratch[H_JUMP + 1] = s->jump;
	le32_put(scratch + H_MAGIC, s->magic);
	le16_put(scratch + H_VERSION, s->version);
	scratch[H_TYPE_OF_LOADER] = 0;
	scratch[H_LOADFLAGS] = s->loadflags;
	/* Junk where the loader must write its own values. */
	le16_put(scratch + H_VID_MODE, 0x1234);
	le32_put(scratch + H_RAMDISK_IMAGE, 0xdeadbeef);
	le32_put(scratch + H_RAMDISK_SIZE, 0xdeadbeef);
	le16_put(scratch + H_HEAP_END_PTR, 0x4321);
	le32_put(scratch + H_CMD_LINE_PTR, 0xdeadbeef);
	le32_put(scratch + H_INITRD_ADDR_MAX, s->initrd_addr_max);
	le32_put(scratch + H_KERNEL_ALIGN, 0x200000);
	scratch[H_RELOCATABLE] = 1;
	le16_put(scratch + H_XLOADFLAGS, s->xloadflags);
	le32_put(scratch + H_CMDLINE_SIZE, s->cmdline_size);
	le64_put(scratch + H_PREF_ADDRESS, s->pref_address);
	le32_put(scratch + H_INIT_SIZE, s->init_size);
	k = exact_copy(scratch, n);
	free(scratch);
	*len = n;
	return k;
}

/* ---- ELF builder ----------------------------------------------------- */

struct ph_spec {
	uint32_t type;
	uint64_t off, paddr, filesz, memsz;
};

struct elf_spec {
	uint8_t class, data;
	uint16_t machine, phentsize, phnum;
	uint64_t entry, phoff;
	unsigned nph;          /* program headers written (phnum may lie) */
	struct ph_spec ph[4];
	size_t file_len;
	const uint8_t *note;   /* PT_NOTE contents appended at the end of the file */
	size_t note_len;
};

#define SEED_ELF 0x27
#define SEG_OFF  0x1000
#define SEG_ADDR 0x200000
#define SEG_FILE 0x3000
#define SEG_MEM  0x5000
#define ELF_LEN  0x4000
#define ENTRY64  0x200100

static struct elf_spec elf_default(void)
{
	return (struct elf_spec){
		.class = 2, .data = 1, .machine = EM_X86_64, .phentsize = 56, .phnum = 1,
		.entry = ENTRY64, .phoff = 64, .nph = 1,
		.ph = { { PT_LOAD, SEG_OFF, SEG_ADDR, SEG_FILE, SEG_MEM } },
		.file_len = ELF_LEN,
	};
}

/* Add a PT_NOTE for s->note, placed at the end of the file. */
static void elf_add_note(struct elf_spec *s, const uint8_t *note, size_t len)
{
	s->note = note;
	s->note_len = len;
	s->ph[s->nph++] = (struct ph_spec){ PT_NOTE, s->file_len, 0, len, len };
	s->phnum = (uint16_t)s->nph;
	s->file_len += len;
}

static uint8_t *elf_build(const struct elf_spec *s, size_t *len)
{
	size_t scratch_len = s->file_len > 4096 ? s->file_len : 4096;
	uint8_t *scratch = malloc(scratch_len), *k;

	if (!scratch)
		abort();
	for (size_t i = 0; i < scratch_len; i++)
		scratch[i] = pat(i, SEED_ELF);
	memset(scratch, 0, 64);
	memcpy(scratch, "\x7f" "ELF", 4);
	scratch[4] = s->class;
	scratch[5] = s->data;
	scratch[6] = 1; /* EV_CURRENT */
	le16_put(scratch + 16, 2); /* ET_EXEC */
	le16_put(scratch + 18, s->machine);
	le32_put(scratch + 20, 1);
	le64_put(scratch + 24, s->entry);
	le64_put(scratch + 32, s->phoff);
	le16_put(scratch + 52, 64);
	le16_put(scratch + 54, s->phentsize);
	le16_put(scratch + 56, s->phnum);
	for (unsigned i = 0; i < s->nph; i++) {
		uint64_t at = s->phoff + (uint64_t)i * 56;
		uint8_t *ph;

		if (at > scratch_len || scratch_len - at < 56)
			continue; /* hostile phoff: the header is not in the file */
		ph = scratch + at;
		memset(ph, 0, 56);
		le32_put(ph, s->ph[i].type);
		le32_put(ph + 4, 7); /* RWX, irrelevant to the loader */
		le64_put(ph + 8, s->ph[i].off);
		le64_put(ph + 16, s->ph[i].paddr);
		le64_put(ph + 24, s->ph[i].paddr);
		le64_put(ph + 32, s->ph[i].filesz);
		le64_put(ph + 40, s->ph[i].memsz);
		le64_put(ph + 48, 0x1000);
	}
	if (s->note && s->note_len)
		memcpy(scratch + s->file_len - s->note_len, s->note, s->note_len);
	k = exact_copy(scratch, s->file_len);
	free(scratch);
	*len = s->file_len;
	return k;
}

#define U32(v) (uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), (uint8_t)((v) >> 24)

/* A Xen PHYS32_ENTRY note with a 4-byte descriptor. */
#define PVH_ENTRY 0x200040
static const uint8_t pvh_note[] = { U32(4), U32(4), U32(18), 'X', 'e', 'n', 0, U32(PVH_ENTRY) };

/* ---- shared checks --------------------------------------------------- */

/*
 * e820 as boot_e820 must describe a flat RAM of size bytes at gpa 0 (size > 1 MiB):
 * the ACPI tables and BIOS area reserved from PC_ACPI_BASE, the ECAM window reserved.
 */
static void check_e820_flat(struct test_ctx *t_, const struct e820_entry *e, unsigned n,
			    uint64_t size)
{
	CHECK_EQ(n, 5);
	if (n != 5)
		return;
	CHECK_EQ(e[0].addr, 0);
	CHECK_EQ(e[0].size, BOOT_EBDA_START);
	CHECK_EQ(e[0].type, E820_RAM);
	CHECK_EQ(e[1].addr, BOOT_EBDA_START);
	CHECK_EQ(e[1].size, 0xa0000 - BOOT_EBDA_START);
	CHECK_EQ(e[1].type, E820_RESERVED);
	CHECK_EQ(e[2].addr, PC_ACPI_BASE);
	CHECK_EQ(e[2].size, BOOT_HIGH_START - PC_ACPI_BASE);
	CHECK_EQ(e[2].type, E820_RESERVED);
	CHECK_EQ(e[3].addr, BOOT_HIGH_START);
	CHECK_EQ(e[3].size, size - BOOT_HIGH_START);
	CHECK_EQ(e[3].type, E820_RAM);
	CHECK_EQ(e[4].addr, PC_PCI_ECAM_BASE);
	CHECK_EQ(e[4].size, PC_PCI_ECAM_SIZE);
	CHECK_EQ(e[4].type, E820_RESERVED);
}

/* The zero page's e820 table equals what boot_e820 reports for m. */
static void check_zp_e820(struct test_ctx *t_, const struct gmem *m, const uint8_t *zp)
{
	struct e820_entry e[E820_MAX];
	unsigned n = boot_e820(m, e, E820_MAX);

	CHECK(n > 0);
	CHECK_EQ(zp[ZP_E820_ENTRIES], n);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = zp + ZP_E820_TABLE + i * 20;

		CHECK_EQ(le64_get(p), e[i].addr);
		CHECK_EQ(le64_get(p + 8), e[i].size);
		CHECK_EQ(le32_get(p + 16), e[i].type);
	}
	/* Nothing after the last entry. */
	CHECK(all_bytes(zp + ZP_E820_TABLE + n * 20, 0x1000 - ZP_E820_TABLE - n * 20, 0));
}

/* GDT at BOOT_GDT_ADDR with the given code descriptor. */
static void check_gdt(struct test_ctx *t_, const struct gmem *m, uint64_t code)
{
	const uint8_t *g = gp(m, BOOT_GDT_ADDR, 40);

	CHECK_EQ(le64_get(g), 0);
	CHECK_EQ(le64_get(g + 8), 0);
	CHECK_EQ(le64_get(g + BOOT_CS_SEL), code);
	CHECK_EQ(le64_get(g + BOOT_DS_SEL), 0x00cf93000000ffffULL);
	CHECK_EQ(le64_get(g + BOOT_TSS_SEL), 0x00008b0000000067ULL);
}

/* Identity map of the first 4 GiB with 2 MiB pages from BOOT_PML4_ADDR. */
static void check_page_tables(struct test_ctx *t_, const struct gmem *m)
{
	const uint8_t *pml4 = gp(m, BOOT_PML4_ADDR, 0x1000);
	const uint8_t *pdpt = gp(m, BOOT_PML4_ADDR + 0x1000, 0x1000);
	const uint8_t *pd = gp(m, BOOT_PML4_ADDR + 0x2000, 4 * 0x1000);
	unsigned bad = 0;

	CHECK_EQ(le64_get(pml4), 0xa000 | 0x3);
	CHECK(all_bytes(pml4 + 8, 0x1000 - 8, 0));
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(le64_get(pdpt + 8 * i), (0xb000 + 0x1000ULL * i) | 0x3);
	CHECK(all_bytes(pdpt + 32, 0x1000 - 32, 0));
	for (uint64_t i = 0; i < 4 * 512; i++) {
		uint64_t e = le64_get(pd + 8 * i);

		if (e != ((i << 21) | 0x80 | 0x3))
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* The last PD entry maps the 2 MiB page just below 4 GiB. */
	CHECK_EQ(le64_get(pd + 8 * 2047) & ~0xfffULL, 0xffe00000ULL);
	CHECK(le64_get(pd + 8 * 2047) & 0x80); /* PS */
}

/* Initrd bytes present, page aligned, between kernel_end and top, as high as allowed. */
static void check_initrd(struct test_ctx *t_, const struct gmem *m, const struct boot_info *info,
			 size_t len, uint64_t top)
{
	CHECK(info->initrd_addr != 0);
	CHECK_EQ(info->initrd_addr & 0xfff, 0);
	CHECK(info->initrd_addr >= info->kernel_end);
	CHECK(info->initrd_addr + len <= top);
	CHECK_EQ(info->initrd_addr, (top - len) & ~0xfffULL);
	CHECK(is_pattern(gp(m, info->initrd_addr, len), len, SEED_INITRD));
}

static void check_cmdline(struct test_ctx *t_, const struct gmem *m, const char *cmdline)
{
	size_t n = strlen(cmdline) + 1;

	CHECK(memcmp(gp(m, BOOT_CMDLINE_ADDR, n), cmdline, n) == 0);
}

/* ---- bzImage --------------------------------------------------------- */

/* Setup header bytes the loader overwrites in the zero page. */
static int bz_loader_field(size_t off)
{
	return (off >= H_VID_MODE && off < H_VID_MODE + 2) || off == H_TYPE_OF_LOADER ||
	       off == H_LOADFLAGS || (off >= H_RAMDISK_IMAGE && off < H_RAMDISK_SIZE + 4) ||
	       (off >= H_HEAP_END_PTR && off < H_HEAP_END_PTR + 2) ||
	       (off >= H_CMD_LINE_PTR && off < H_CMD_LINE_PTR + 4);
}

TEST(bzimage_load)
{
	static const char cmdline[] = "console=ttyS0 root=/dev/ram0 quiet";
	struct bz_spec s = bz_default();
	size_t klen, ilen = 300 * 1024 + 123, hdr_end = 0x202 + s.jump, pm_off = bz_pm_off(&s);
	uint8_t *k = bz_build(&s, &klen), *initrd = pattern_buf(ilen, SEED_INITRD);
	struct boot_images img = { k, klen, initrd, ilen, cmdline, 0 };
	struct boot_info info;
	const uint8_t *zp;
	struct ram r;
	unsigned hdr_bad = 0;

	ram_new(&r, RAM_SIZE);
	CHECK_EQ(load(t_, &r.m, &img, &info), 0);
	CHECK_EQ(info.format, BOOT_FMT_BZIMAGE);
	CHECK_EQ(info.mode, BOOT_MODE_LONG64);
	CHECK_EQ(info.entry, 0x100200);
	CHECK_EQ(info.boot_arg, 0x7000);
	CHECK_EQ(info.kernel_end, s.pref_address + s.init_size);

	/* The protected-mode payload at 1 MiB, exactly. */
	CHECK(is_pattern(gp(&r.m, 0x100000, s.payload_len), s.payload_len, SEED_PAYLOAD));
	CHECK(memcmp(gp(&r.m, 0x100000, s.payload_len), k + pm_off, s.payload_len) == 0);
	CHECK_EQ(*gp(&r.m, 0x100000 + s.payload_len, 1), FILL);
	CHECK_EQ(*gp(&r.m, 0xfffff, 1), FILL);

	/* Zero page: the setup header copied up to its end, loader fields set. */
	zp = gp(&r.m, ZP, 0x1000);
	for (size_t off = H_SETUP_SECTS; off < hdr_end; off++)
		if (!bz_loader_field(off) && zp[off] != k[off])
			hdr_bad++;
	CHECK_EQ(hdr_bad, 0);
	CHECK_EQ(le16_get(zp + H_BOOT_FLAG), 0xaa55);
	CHECK_EQ(le32_get(zp + H_MAGIC), 0x53726448);
	CHECK_EQ(le16_get(zp + H_VERSION), 0x020f);
	CHECK_EQ(le32_get(zp + H_INIT_SIZE), s.init_size);
	CHECK_EQ(le64_get(zp + H_PREF_ADDRESS), s.pref_address);
	CHECK_EQ(le32_get(zp + H_CMDLINE_SIZE), s.cmdline_size);
	CHECK_EQ(zp[H_TYPE_OF_LOADER], 0xff);
	CHECK_EQ(zp[H_LOADFLAGS], LOADED_HIGH | CAN_USE_HEAP);
	CHECK_EQ(le16_get(zp + H_VID_MODE), 0xffff);
	CHECK_EQ(le16_get(zp + H_HEAP_END_PTR), 0xfe00);
	CHECK_EQ(le32_get(zp + H_CMD_LINE_PTR), BOOT_CMDLINE_ADDR);
	CHECK_EQ(le32_get(zp + ZP_EXT_CMD_LINE), 0);
	CHECK_EQ(le32_get(zp + H_RAMDISK_IMAGE), info.initrd_addr);
	CHECK_EQ(le32_get(zp + H_RAMDISK_SIZE), ilen);
	CHECK_EQ(le32_get(zp + ZP_EXT_RAMDISK_IMG), 0);
	CHECK_EQ(le32_get(zp + ZP_EXT_RAMDISK_SZ), 0);
	/* Past the header's end nothing is copied from the image (it holds pattern). */
	CHECK(all_bytes(zp + hdr_end, ZP_E820_TABLE - hdr_end, 0));
	/* Before the header only the e820 count is set. */
	CHECK(all_bytes(zp, ZP_E820_ENTRIES, 0));
	CHECK(all_bytes(zp + ZP_E820_ENTRIES + 1, H_SETUP_SECTS - ZP_E820_ENTRIES - 1, 0));
	check_zp_e820(t_, &r.m, zp);
	{
		struct e820_entry e[E820_MAX];

		check_e820_flat(t_, e, boot_e820(&r.m, e, E820_MAX), RAM_SIZE);
	}

	check_cmdline(t_, &r.m, cmdline);
	check_initrd(t_, &r.m, &info, ilen, RAM_SIZE);
	CHECK_EQ(*gp(&r.m, info.initrd_addr + ilen, 1), FILL);
	check_gdt(t_, &r.m, 0x00af9b000000ffffULL);
	check_page_tables(t_, &r.m);

	free(k);
	free(initrd);
	ram_free(&r);
}

TEST(bzimage_variants)
{
	struct ram r;
	static const struct {
		const char *name;
		uint8_t setup_sects;
		uint8_t jump;
		uint64_t pref_address;
		uint32_t init_size;
		size_t payload_len;
		uint64_t kernel_end;
	} cases[] = {
		{ "setup_sects 0 means 4", 0, 0x66, 0x1000000, 0x400000, 4096, 0x1400000 },
		{ "setup_sects 1", 1, 0x66, 0x1000000, 0x400000, 4096, 0x1400000 },
		{ "setup_sects 63", 63, 0x66, 0x1000000, 0x400000, 4096, 0x1400000 },
		{ "payload bigger than init_size", 4, 0x66, 0, 0x1000, 3 * MiB, 4 * MiB },
		{ "one-byte payload", 4, 0x66, 0x1000000, 0x400000, 1, 0x1400000 },
		{ "short header (jump 0x62)", 4, 0x62, 0x1000000, 0x400000, 4096, 0x1400000 },
		{ "header jump past the limit", 4, 0xff, 0x1000000, 0x400000, 4096, 0x1400000 },
		{ "needs all of RAM", 4, 0x66, 0x1000000, (uint32_t)(RAM_SIZE - 0x1000000), 4096,
		  RAM_SIZE },
	};

	ram_new(&r, RAM_SIZE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bz_spec s = bz_default();
		struct boot_info info;
		struct boot_images img;
		size_t klen, hdr_end;
		uint8_t *k;
		int ret;

		s.setup_sects = cases[i].setup_sects;
		s.jump = cases[i].jump;
		s.pref_address = cases[i].pref_address;
		s.init_size = cases[i].init_size;
		s.payload_len = cases[i].payload_len;
		k = bz_build(&s, &klen);
		img = (struct boot_images){ k, klen, NULL, 0, "", 0 };
		ram_reset(&r);
		ret = load(t_, &r.m, &img, &info);
		if (ret != 0 || info.kernel_end != cases[i].kernel_end)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, 0);
		CHECK_EQ(info.kernel_end, cases[i].kernel_end);
		CHECK_EQ(info.initrd_addr, 0);
		CHECK(is_pattern(gp(&r.m, 0x100000, s.payload_len), s.payload_len, SEED_PAYLOAD));
		CHECK_EQ(*gp(&r.m, 0x100000 + s.payload_len, 1), FILL);
		/* The header copy stops at 0x202 + jump, capped at 0x290. */
		hdr_end = 0x202 + (size_t)s.jump;
		if (hdr_end > 0x290)
			hdr_end = 0x290;
		CHECK_EQ(*gp(&r.m, ZP + hdr_end - 1, 1), k[hdr_end - 1]);
		CHECK(all_bytes(gp(&r.m, ZP + hdr_end, ZP_E820_TABLE - hdr_end),
				ZP_E820_TABLE - hdr_end, 0));
		/* No initrd: ramdisk fields zero; empty command line stored. */
		CHECK_EQ(le32_get(gp(&r.m, ZP + H_RAMDISK_IMAGE, 4)), 0);
		CHECK_EQ(le32_get(gp(&r.m, ZP + H_RAMDISK_SIZE, 4)), 0);
		CHECK_EQ(*gp(&r.m, BOOT_CMDLINE_ADDR, 1), 0);
		free(k);
	}
	ram_free(&r);
}

/* initrd_addr_max caps the placement; initrd sizes at the edge of fitting. */
TEST(bzimage_initrd_placement)
{
	struct ram r;
	static const struct {
		const char *name;
		uint32_t initrd_addr_max;
		uint32_t init_size;  /* kernel_end = 16 MiB + init_size */
		size_t ilen;
		int want;
		uint64_t top;        /* expected limit when want == 0 */
	} cases[] = {
		{ "below initrd_addr_max", 0x2ffffff, 0x400000, 1 * MiB + 5, 0, 0x3000000 },
		{ "initrd_addr_max above RAM", 0xffffffff, 0x400000, 4096, 0, RAM_SIZE },
		{ "unaligned initrd_addr_max", 0x2fff7ff, 0x400000, 100, 0, 0x2fff800 },
		{ "exactly fills the room", 0x7fffffff, 0x2c00000, 4 * MiB, 0, RAM_SIZE },
		{ "one byte too many", 0x7fffffff, 0x2c00000, 4 * MiB + 1, -EFBIG, 0 },
		{ "bigger than RAM", 0x7fffffff, 0x400000, RAM_SIZE + 1, -EFBIG, 0 },
		{ "bigger than initrd_addr_max", 0x1ffffff, 0x400000, 33 * MiB, -EFBIG, 0 },
		{ "cap below the kernel", 0x00ffffff, 0x400000, 4096, -EFBIG, 0 },
		{ "cap of zero", 0, 0x400000, 4096, -EFBIG, 0 },
	};

	ram_new(&r, RAM_SIZE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bz_spec s = bz_default();
		uint8_t *k, *initrd = pattern_buf(cases[i].ilen, SEED_INITRD);
		struct boot_images img;
		struct boot_info info;
		size_t klen;
		int ret;

		s.initrd_addr_max = cases[i].initrd_addr_max;
		s.init_size = cases[i].init_size;
		k = bz_build(&s, &klen);
		img = (struct boot_images){ k, klen, initrd, cases[i].ilen, "", 0 };
		ram_reset(&r);
		ret = load(t_, &r.m, &img, &info);
		if (ret != cases[i].want)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, cases[i].want);
		if (ret == 0 && cases[i].want == 0) {
			check_initrd(t_, &r.m, &info, cases[i].ilen, cases[i].top);
			CHECK(info.initrd_addr + cases[i].ilen - 1 <= cases[i].initrd_addr_max);
			CHECK_EQ(le32_get(gp(&r.m, ZP + H_RAMDISK_IMAGE, 4)), info.initrd_addr);
			CHECK_EQ(le32_get(gp(&r.m, ZP + H_RAMDISK_SIZE, 4)), cases[i].ilen);
		}
		free(k);
		free(initrd);
	}
	ram_free(&r);
}

TEST(bzimage_cmdline_limits)
{
	struct ram r;
	static const struct {
		const char *name;
		uint32_t cmdline_size;
		size_t len;
		int want;
	} cases[] = {
		{ "empty", 2047, 0, 0 },
		{ "exactly cmdline_size", 16, 16, 0 },
		{ "one past cmdline_size", 16, 17, -E2BIG },
		{ "cmdline_size 0, empty", 0, 0, 0 },
		{ "cmdline_size 0, one byte", 0, 1, -E2BIG },
		{ "2047 of 2047", 2047, 2047, 0 },
		{ "2048 of 2047", 2047, 2048, -E2BIG },
		{ "vmon's 64 KiB limit", 0xffffffff, BOOT_CMDLINE_MAX - 1, 0 },
		{ "past vmon's limit", 0xffffffff, BOOT_CMDLINE_MAX, -E2BIG },
	};

	ram_new(&r, RAM_SIZE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bz_spec s = bz_default();
		char *cmdline = malloc(cases[i].len + 1);
		struct boot_images img;
		struct boot_info info;
		size_t klen;
		uint8_t *k;
		int ret;

		if (!cmdline)
			abort();
		for (size_t j = 0; j < cases[i].len; j++)
			cmdline[j] = (char)('a' + j % 26);
		cmdline[cases[i].len] = 0;
		s.cmdline_size = cases[i].cmdline_size;
		k = bz_build(&s, &klen);
		img = (struct boot_images){ k, klen, NULL, 0, cmdline, 0 };
		ram_reset(&r);
		ret = load(t_, &r.m, &img, &info);
		if (ret != cases[i].want)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, cases[i].want);
		if (cases[i].want == 0)
			check_cmdline(t_, &r.m, cmdline);
		else /* nothing of the refused command line reaches the guest */
			CHECK_EQ(*gp(&r.m, BOOT_CMDLINE_ADDR, 1), FILL);
		free(cmdline);
		free(k);
	}
	ram_free(&r);
}

enum bz_field {
	BZ_NONE, BZ_VERSION, BZ_XLOADFLAGS, BZ_LOADFLAGS, BZ_SETUP_SECTS, BZ_FILE_LEN,
	BZ_INIT_SIZE, BZ_PREF_ADDRESS, BZ_PAYLOAD_LEN, BZ_BOOT_FLAG, BZ_MAGIC,
};

static void bz_set(struct bz_spec *s, enum bz_field f, uint64_t v)
{
	switch (f) {
	case BZ_NONE: break;
	case BZ_VERSION: s->version = (uint16_t)v; break;
	case BZ_XLOADFLAGS: s->xloadflags = (uint16_t)v; break;
	case BZ_LOADFLAGS: s->loadflags = (uint8_t)v; break;
	case BZ_SETUP_SECTS: s->setup_sects = (uint8_t)v; break;
	case BZ_FILE_LEN: s->file_len = (size_t)v; break;
	case BZ_INIT_SIZE: s->init_size = (uint32_t)v; break;
	case BZ_PREF_ADDRESS: s->pref_address = v; break;
	case BZ_PAYLOAD_LEN: s->payload_len = (size_t)v; break;
	case BZ_BOOT_FLAG: s->boot_flag = (uint16_t)v; break;
	case BZ_MAGIC: s->magic = (uint32_t)v; break;
	}
}

TEST(bzimage_hostile)
{
	struct ram r;
	static const struct {
		const char *name;
		struct { enum bz_field f; uint64_t v; } set[2];
		int want;
	} cases[] = {
		{ "protocol 2.11", { { BZ_VERSION, 0x020b } }, -ENOEXEC },
		{ "protocol 2.00", { { BZ_VERSION, 0x0200 } }, -ENOEXEC },
		{ "protocol 0", { { BZ_VERSION, 0 } }, -ENOEXEC },
		{ "no XLF_KERNEL_64", { { BZ_XLOADFLAGS, XLF_CAN_BE_LOADED_ABOVE_4G } }, -ENOEXEC },
		{ "xloadflags 0", { { BZ_XLOADFLAGS, 0 } }, -ENOEXEC },
		{ "zImage (not LOADED_HIGH)", { { BZ_LOADFLAGS, CAN_USE_HEAP } }, -ENOEXEC },
		{ "no boot flag", { { BZ_BOOT_FLAG, 0x55aa } }, -ENOEXEC },
		{ "no HdrS", { { BZ_MAGIC, 0x53726449 } }, -ENOEXEC },
		{ "file ends inside the 2.12 header", { { BZ_FILE_LEN, H_END_212 - 1 } }, -ENOEXEC },
		{ "file ends right after the header", { { BZ_FILE_LEN, H_END_212 } }, -EINVAL },
		{ "setup_sects beyond the file",
		  { { BZ_SETUP_SECTS, 0xff }, { BZ_FILE_LEN, 0x4000 } }, -EINVAL },
		{ "file ends exactly at the payload", { { BZ_FILE_LEN, 5 * 512 } }, -EINVAL },
		{ "setup_sects 0 (4) and only setup in the file",
		  { { BZ_SETUP_SECTS, 0 }, { BZ_FILE_LEN, 5 * 512 } }, -EINVAL },
		{ "init_size past RAM", { { BZ_INIT_SIZE, RAM_SIZE - 0x1000000 + 1 } }, -EFBIG },
		{ "init_size 4 GiB - 1", { { BZ_INIT_SIZE, 0xffffffff } }, -EFBIG },
		{ "pref_address past RAM", { { BZ_PREF_ADDRESS, RAM_SIZE } }, -EFBIG },
		{ "pref_address huge", { { BZ_PREF_ADDRESS, 1ULL << 62 } }, -EFBIG },
		/* Would wrap need to 1 MiB and pass the RAM check (fuzz regression). */
		{ "pref_address + init_size wraps 2^64",
		  { { BZ_PREF_ADDRESS, 0xfffffffffff00000ULL }, { BZ_INIT_SIZE, 0x200000 } }, -EFBIG },
		{ "pref_address + init_size is 2^64",
		  { { BZ_PREF_ADDRESS, 0xffffffffffc00000ULL }, { BZ_INIT_SIZE, 0x400000 } }, -EFBIG },
		{ "payload bigger than RAM above 1 MiB",
		  { { BZ_PAYLOAD_LEN, RAM_SIZE - 0x100000 + 1 }, { BZ_PREF_ADDRESS, 0 } }, -EFBIG },
	};

	ram_new(&r, RAM_SIZE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bz_spec s = bz_default();
		struct boot_images img;
		struct boot_info info;
		size_t klen;
		uint8_t *k;
		int ret;

		for (size_t j = 0; j < 2; j++)
			bz_set(&s, cases[i].set[j].f, cases[i].set[j].v);
		k = bz_build(&s, &klen);
		img = (struct boot_images){ k, klen, NULL, 0, "console=ttyS0", 0 };
		ram_reset(&r);
		ret = load(t_, &r.m, &img, &info);
		if (ret != cases[i].want || !all_bytes(r.host, RAM_SIZE, FILL))
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, cases[i].want);
		/* Every one of these is refused before anything is written. */
		CHECK(all_bytes(r.host, RAM_SIZE, FILL));
		free(k);
	}
	ram_free(&r);
}

/* On the x86 layout: e820 includes RAM above 4 GiB; initrd_addr_max still caps. */
TEST(bzimage_x86_layout)
{
	struct bz_spec s = bz_default();
	size_t klen, ilen = 8192 + 5;
	uint8_t *k = bz_build(&s, &klen), *initrd = pattern_buf(ilen, SEED_INITRD);
	struct boot_images img = { k, klen, initrd, ilen, "x", 0 };
	struct boot_info info;
	struct gmem m;
	const uint8_t *zp;

	CHECK_EQ(x86_mem_init(&m, 3584 * MiB), 0);
	if (m.nr_regions != 2)
		goto out;
	CHECK_EQ(load(t_, &m, &img, &info), 0);
	zp = gp(&m, ZP, 0x1000);
	CHECK_EQ(zp[ZP_E820_ENTRIES], 6);
	CHECK_EQ(le64_get(zp + ZP_E820_TABLE + 3 * 20 + 8), X86_HOLE_START - BOOT_HIGH_START);
	CHECK_EQ(le64_get(zp + ZP_E820_TABLE + 5 * 20), GMEM_4G);
	CHECK_EQ(le64_get(zp + ZP_E820_TABLE + 5 * 20 + 8), 512 * MiB);
	CHECK_EQ(le32_get(zp + ZP_E820_TABLE + 5 * 20 + 16), E820_RAM);
	check_zp_e820(t_, &m, zp);
	/* Below 3 GiB RAM ends and initrd_addr_max is 2 GiB - 1: the lower wins. */
	check_initrd(t_, &m, &info, ilen, 0x80000000ULL);
	check_page_tables(t_, &m);
out:
	gmem_free(&m);
	free(k);
	free(initrd);
}

/* ---- ELF: PVH and ELF64 ---------------------------------------------- */

static void check_segment(struct test_ctx *t_, const struct gmem *m, const uint8_t *k,
			  uint64_t off, uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
	CHECK(memcmp(gp(m, paddr, filesz), k + off, filesz) == 0);
	CHECK(all_bytes(gp(m, paddr + filesz, memsz - filesz), memsz - filesz, 0)); /* bss */
	CHECK_EQ(*gp(m, paddr + memsz, 1), FILL);
	CHECK_EQ(*gp(m, paddr - 1, 1), FILL);
}

TEST(elf_pvh)
{
	static const char cmdline[] = "console=ttyS0 earlyprintk=serial";
	struct elf_spec s = elf_default();
	size_t klen, ilen = 4 * 4096 + 1;
	uint8_t *k, *initrd = pattern_buf(ilen, SEED_INITRD);
	struct boot_images img;
	struct boot_info info;
	struct e820_entry e[E820_MAX];
	const uint8_t *si, *mod;
	unsigned n;
	struct ram r;

	elf_add_note(&s, pvh_note, sizeof(pvh_note));
	k = elf_build(&s, &klen);
	img = (struct boot_images){ k, klen, initrd, ilen, cmdline, 0 };
	ram_new(&r, RAM_SIZE);
	CHECK_EQ(load(t_, &r.m, &img, &info), 0);
	CHECK_EQ(info.format, BOOT_FMT_ELF_PVH);
	CHECK_EQ(info.mode, BOOT_MODE_PROT32);
	CHECK_EQ(info.entry, PVH_ENTRY);
	CHECK_EQ(info.boot_arg, 0x6000);
	CHECK_EQ(info.kernel_end, SEG_ADDR + SEG_MEM);
	check_segment(t_, &r.m, k, SEG_OFF, SEG_ADDR, SEG_FILE, SEG_MEM);
	check_cmdline(t_, &r.m, cmdline);
	check_initrd(t_, &r.m, &info, ilen, RAM_SIZE);

	/* struct hvm_start_info. */
	si = gp(&r.m, BOOT_PVH_INFO_ADDR, 56);
	CHECK_EQ(le32_get(si), PVH_MAGIC);
	CHECK_EQ(le32_get(si + 4), 1);              /* version */
	CHECK_EQ(le32_get(si + 8), 0);              /* flags */
	CHECK_EQ(le32_get(si + 12), 1);             /* nr_modules */
	CHECK_EQ(le64_get(si + 16), BOOT_PVH_MODLIST);
	CHECK_EQ(le64_get(si + 24), BOOT_CMDLINE_ADDR);
	CHECK_EQ(le64_get(si + 32), 0);             /* rsdp_paddr: no ACPI */
	CHECK_EQ(le64_get(si + 40), BOOT_PVH_MEMMAP);
	n = boot_e820(&r.m, e, E820_MAX);
	check_e820_flat(t_, e, n, RAM_SIZE);
	CHECK_EQ(le32_get(si + 48), n);
	CHECK_EQ(le32_get(si + 52), 0);
	/* Memory map entries: addr, size, type, reserved. */
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = gp(&r.m, BOOT_PVH_MEMMAP + i * 24, 24);

		CHECK_EQ(le64_get(p), e[i].addr);
		CHECK_EQ(le64_get(p + 8), e[i].size);
		CHECK_EQ(le32_get(p + 16), e[i].type);
		CHECK_EQ(le32_get(p + 20), 0);
	}
	/* The module list: the initrd. */
	mod = gp(&r.m, BOOT_PVH_MODLIST, 32);
	CHECK_EQ(le64_get(mod), info.initrd_addr);
	CHECK_EQ(le64_get(mod + 8), ilen);
	CHECK_EQ(le64_get(mod + 16), 0);
	check_gdt(t_, &r.m, 0x00cf9b000000ffffULL);
	free(k);
	free(initrd);
	ram_free(&r);
}

TEST(elf_pvh_without_initrd)
{
	struct elf_spec s = elf_default();
	static const uint8_t note8[] = { U32(4), U32(8), U32(18), 'X', 'e', 'n', 0,
					 U32(0x200080), U32(0) };
	struct boot_images img;
	struct boot_info info;
	const uint8_t *si;
	struct ram r;
	size_t klen;
	uint8_t *k;

	elf_add_note(&s, note8, sizeof(note8)); /* 8-byte descriptor */
	k = elf_build(&s, &klen);
	img = (struct boot_images){ k, klen, NULL, 0, "", 0 };
	ram_new(&r, RAM_SIZE);
	CHECK_EQ(load(t_, &r.m, &img, &info), 0);
	CHECK_EQ(info.format, BOOT_FMT_ELF_PVH);
	CHECK_EQ(info.entry, 0x200080);
	CHECK_EQ(info.initrd_addr, 0);
	si = gp(&r.m, BOOT_PVH_INFO_ADDR, 56);
	CHECK_EQ(le32_get(si), PVH_MAGIC);
	CHECK_EQ(le32_get(si + 12), 0);
	CHECK_EQ(le64_get(si + 16), 0);
	/* The module list slot is not written without a module. */
	CHECK(all_bytes(gp(&r.m, BOOT_PVH_MODLIST, 32), 32, FILL));
	free(k);
	ram_free(&r);
}

static void check_elf64(struct test_ctx *t_, const struct gmem *m, const struct boot_info *info,
			size_t ilen, const char *cmdline)
{
	const uint8_t *zp = gp(m, ZP, 0x1000);

	CHECK_EQ(info->format, BOOT_FMT_ELF64);
	CHECK_EQ(info->mode, BOOT_MODE_LONG64);
	CHECK_EQ(info->entry, ENTRY64);
	CHECK_EQ(info->boot_arg, 0x7000);
	CHECK_EQ(le16_get(zp + H_BOOT_FLAG), 0xaa55);
	CHECK_EQ(le32_get(zp + H_MAGIC), 0x53726448);
	CHECK_EQ(le16_get(zp + H_VERSION), 0x020c);
	CHECK_EQ(le32_get(zp + H_KERNEL_ALIGN), 0x200000);
	CHECK_EQ(zp[H_TYPE_OF_LOADER], 0xff);
	CHECK_EQ(zp[H_LOADFLAGS], LOADED_HIGH | CAN_USE_HEAP);
	CHECK_EQ(le32_get(zp + H_CMD_LINE_PTR), BOOT_CMDLINE_ADDR);
	CHECK_EQ(le32_get(zp + H_RAMDISK_IMAGE), info->initrd_addr);
	CHECK_EQ(le32_get(zp + H_RAMDISK_SIZE), ilen);
	check_zp_e820(t_, m, zp);
	check_cmdline(t_, m, cmdline);
	check_gdt(t_, m, 0x00af9b000000ffffULL);
	check_page_tables(t_, m);
}

TEST(elf64_entry)
{
	struct ram r;
	size_t ilen = 12345;
	uint8_t *initrd = pattern_buf(ilen, SEED_INITRD);

	/* No PVH note, or a note but --elf64-entry: the 64-bit e_entry. */
	ram_new(&r, RAM_SIZE);
	for (int with_note = 0; with_note < 2; with_note++) {
		struct elf_spec s = elf_default();
		struct boot_images img;
		struct boot_info info;
		size_t klen;
		uint8_t *k;

		if (with_note)
			elf_add_note(&s, pvh_note, sizeof(pvh_note));
		k = elf_build(&s, &klen);
		img = (struct boot_images){ k, klen, initrd, ilen, "root=/dev/vda", with_note };
		ram_reset(&r);
		CHECK_EQ(load(t_, &r.m, &img, &info), 0);
		check_elf64(t_, &r.m, &info, ilen, "root=/dev/vda");
		check_segment(t_, &r.m, k, SEG_OFF, SEG_ADDR, SEG_FILE, SEG_MEM);
		check_initrd(t_, &r.m, &info, ilen, RAM_SIZE);
		free(k);
	}
	free(initrd);
	ram_free(&r);
}

/* Several segments in any order; non-load headers with junk are skipped. */
TEST(elf_segments)
{
	struct elf_spec s = elf_default();
	struct boot_images img;
	struct boot_info info;
	struct ram r;
	size_t klen;
	uint8_t *k;

	s.file_len = 0x8000;
	s.nph = s.phnum = 4;
	s.ph[0] = (struct ph_spec){ PT_LOAD, 0x5000, 0x800000, 0x2000, 0x2000 };
	s.ph[1] = (struct ph_spec){ PT_GNU_STACK, UINT64_MAX, UINT64_MAX, UINT64_MAX, 0 };
	s.ph[2] = (struct ph_spec){ PT_LOAD, 0x1000, 0x200000, 0x3000, 0x10000 };
	s.ph[3] = (struct ph_spec){ PT_DYNAMIC, 0x7fff0000, 0, 0x100000, 0x100000 };
	k = elf_build(&s, &klen);
	img = (struct boot_images){ k, klen, NULL, 0, "", 0 };
	ram_new(&r, RAM_SIZE);
	CHECK_EQ(load(t_, &r.m, &img, &info), 0);
	CHECK_EQ(info.format, BOOT_FMT_ELF64);
	CHECK_EQ(info.kernel_end, 0x802000); /* the highest end, not the last one */
	check_segment(t_, &r.m, k, 0x5000, 0x800000, 0x2000, 0x2000);
	check_segment(t_, &r.m, k, 0x1000, 0x200000, 0x3000, 0x10000);
	free(k);
	ram_free(&r);

	/* An empty segment (filesz = memsz = 0) at the last byte of RAM is fine. */
	s = elf_default();
	s.nph = s.phnum = 2;
	s.ph[1] = (struct ph_spec){ PT_LOAD, 0, RAM_SIZE - 1, 0, 0 };
	k = elf_build(&s, &klen);
	img = (struct boot_images){ k, klen, NULL, 0, "", 0 };
	ram_new(&r, RAM_SIZE);
	CHECK_EQ(load(t_, &r.m, &img, &info), 0);
	CHECK_EQ(info.kernel_end, RAM_SIZE - 1);
	free(k);
	ram_free(&r);
}

enum elf_field {
	EF_NONE, EF_TYPE, EF_OFF, EF_PADDR, EF_FILESZ, EF_MEMSZ, EF_PHOFF, EF_PHNUM,
	EF_PHENTSIZE, EF_CLASS, EF_DATA, EF_MACHINE, EF_ENTRY, EF_FILE_LEN,
};

static void elf_set(struct elf_spec *s, enum elf_field f, uint64_t v)
{
	switch (f) {
	case EF_NONE: break;
	case EF_TYPE: s->ph[0].type = (uint32_t)v; break;
	case EF_OFF: s->ph[0].off = v; break;
	case EF_PADDR: s->ph[0].paddr = v; break;
	case EF_FILESZ: s->ph[0].filesz = v; break;
	case EF_MEMSZ: s->ph[0].memsz = v; break;
	case EF_PHOFF: s->phoff = v; break;
	case EF_PHNUM: s->phnum = (uint16_t)v; break;
	case EF_PHENTSIZE: s->phentsize = (uint16_t)v; break;
	case EF_CLASS: s->class = (uint8_t)v; break;
	case EF_DATA: s->data = (uint8_t)v; break;
	case EF_MACHINE: s->machine = (uint16_t)v; break;
	case EF_ENTRY: s->entry = v; break;
	case EF_FILE_LEN: s->file_len = (size_t)v; break;
	}
}

TEST(elf_hostile)
{
	struct ram r;
	static const struct {
		const char *name;
		struct { enum elf_field f; uint64_t v; } set[2];
		int want;
		int untouched; /* refused before anything was written */
	} cases[] = {
		{ "segment below 1 MiB", { { EF_PADDR, 0x80000 } }, -EINVAL, 1 },
		{ "segment ends at 1 MiB", { { EF_PADDR, 0x100000 - SEG_MEM } }, -EINVAL, 1 },
		{ "segment at gpa 0", { { EF_PADDR, 0 } }, -EINVAL, 1 },
		{ "segment straddles end of RAM", { { EF_PADDR, RAM_SIZE - 0x1000 } }, -EFBIG, 1 },
		{ "segment at end of RAM", { { EF_PADDR, RAM_SIZE } }, -EFBIG, 1 },
		{ "segment in the IOAPIC page", { { EF_PADDR, 0xfec00000 } }, -EFBIG, 1 },
		{ "memsz past RAM", { { EF_MEMSZ, RAM_SIZE } }, -EFBIG, 1 },
		{ "p_offset beyond file", { { EF_OFF, ELF_LEN + 1 } }, -EINVAL, 1 },
		{ "p_offset+filesz beyond file by 1", { { EF_OFF, SEG_OFF + 1 } }, -EINVAL, 1 },
		{ "p_offset huge", { { EF_OFF, UINT64_MAX } }, -EINVAL, 1 },
		{ "p_offset+filesz wraps",
		  { { EF_FILESZ, UINT64_MAX - SEG_OFF + 1 }, { EF_MEMSZ, UINT64_MAX } }, -EINVAL, 1 },
		{ "filesz > memsz", { { EF_MEMSZ, SEG_FILE - 1 } }, -EINVAL, 1 },
		{ "paddr+memsz overflows",
		  { { EF_PADDR, 0xfffffffffffff000ULL } }, -EINVAL, 1 },
		{ "memsz huge", { { EF_MEMSZ, UINT64_MAX } }, -EINVAL, 1 },
		{ "phoff beyond file", { { EF_PHOFF, ELF_LEN + 1 } }, -EINVAL, 1 },
		{ "phoff at end of file", { { EF_PHOFF, ELF_LEN } }, -EINVAL, 1 },
		{ "phdr straddles end of file", { { EF_PHOFF, ELF_LEN - 55 } }, -EINVAL, 1 },
		{ "phoff huge", { { EF_PHOFF, UINT64_MAX } }, -EINVAL, 1 },
		{ "phoff wraps with phnum", { { EF_PHOFF, UINT64_MAX - 55 } }, -EINVAL, 1 },
		{ "phnum huge", { { EF_PHNUM, 0xffff } }, -EINVAL, 1 },
		{ "phentsize 32", { { EF_PHENTSIZE, 32 } }, -EINVAL, 1 },
		{ "phentsize 0", { { EF_PHENTSIZE, 0 } }, -EINVAL, 1 },
		{ "phentsize 64", { { EF_PHENTSIZE, 64 } }, -EINVAL, 1 },
		{ "file ends in the phdr table", { { EF_FILE_LEN, 64 + 55 } }, -EINVAL, 1 },
		{ "ELFCLASS32", { { EF_CLASS, 1 } }, -ENOEXEC, 1 },
		{ "ELFCLASSNONE", { { EF_CLASS, 0 } }, -ENOEXEC, 1 },
		{ "big-endian", { { EF_DATA, 2 } }, -ENOEXEC, 1 },
		{ "i386", { { EF_MACHINE, 3 } }, -ENOEXEC, 1 },
		{ "aarch64", { { EF_MACHINE, 183 } }, -ENOEXEC, 1 },
		{ "header truncated", { { EF_FILE_LEN, 63 } }, -ENOEXEC, 1 },
		{ "no program headers", { { EF_PHNUM, 0 } }, -ENOEXEC, 1 },
		{ "only a PT_DYNAMIC", { { EF_TYPE, PT_DYNAMIC } }, -ENOEXEC, 1 },
		{ "only an empty PT_NOTE", { { EF_TYPE, PT_NOTE }, { EF_FILESZ, 0 } }, -ENOEXEC, 1 },
		{ "entry outside RAM", { { EF_ENTRY, 0x10000000 } }, -EINVAL, 0 },
		{ "entry at end of RAM", { { EF_ENTRY, RAM_SIZE } }, -EINVAL, 0 },
		{ "entry 2^64 - 1", { { EF_ENTRY, UINT64_MAX } }, -EINVAL, 0 },
	};

	ram_new(&r, RAM_SIZE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct elf_spec s = elf_default();
		struct boot_images img;
		struct boot_info info;
		size_t klen;
		uint8_t *k;
		int ret, clean;

		for (size_t j = 0; j < 2; j++)
			elf_set(&s, cases[i].set[j].f, cases[i].set[j].v);
		k = elf_build(&s, &klen);
		img = (struct boot_images){ k, klen, NULL, 0, "console=ttyS0", 0 };
		ram_reset(&r);
		ret = load(t_, &r.m, &img, &info);
		clean = all_bytes(r.host, RAM_SIZE, FILL);
		if (ret != cases[i].want || (cases[i].untouched && !clean))
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, cases[i].want);
		if (cases[i].untouched)
			CHECK(clean);
		free(k);
	}
	ram_free(&r);
}

/* PVH notes that are cut short or malformed: no crash, no PVH entry. */
TEST(elf_notes_hostile)
{
	struct ram r;
	static const struct {
		const char *name;
		size_t len;
		uint8_t bytes[64];
		uint64_t pvh; /* expected PVH entry, 0 for none */
	} cases[] = {
		{ "valid", 20, { U32(4), U32(4), U32(18), 'X', 'e', 'n', 0, U32(0x200044) }, 0x200044 },
		{ "empty segment", 0, { 0 }, 0 },
		{ "11 bytes", 11, { U32(4), U32(4), U32(18) }, 0 },
		{ "header only", 12, { U32(4), U32(4), U32(18) }, 0 },
		{ "name cut", 14, { U32(4), U32(4), U32(18), 'X', 'e' }, 0 },
		{ "desc cut", 18, { U32(4), U32(4), U32(18), 'X', 'e', 'n', 0, 0x44, 0 }, 0 },
		{ "namesz 2^32 - 1", 20, { U32(0xffffffffu), U32(4), U32(18), 'X', 'e', 'n', 0,
					    U32(0x200044) }, 0 },
		{ "descsz 2^32 - 4", 20, { U32(4), U32(0xfffffffcu), U32(18), 'X', 'e', 'n', 0,
					    U32(0x200044) }, 0 },
		{ "both sizes huge", 12, { U32(0xfffffffdu), U32(0xfffffffdu), U32(18) }, 0 },
		{ "name Xem", 20, { U32(4), U32(4), U32(18), 'X', 'e', 'm', 0, U32(0x200044) }, 0 },
		{ "namesz 3", 20, { U32(3), U32(4), U32(18), 'X', 'e', 'n', 0, U32(0x200044) }, 0 },
		{ "namesz 5", 24, { U32(5), U32(4), U32(18), 'X', 'e', 'n', 0, 0, 0, 0, 0,
				    U32(0x200044) }, 0 },
		{ "type 17", 20, { U32(4), U32(4), U32(17), 'X', 'e', 'n', 0, U32(0x200044) }, 0 },
		{ "descsz 2", 20, { U32(4), U32(2), U32(18), 'X', 'e', 'n', 0, 0x44, 0, 0x20, 0 }, 0 },
		{ "descsz 0", 16, { U32(4), U32(0), U32(18), 'X', 'e', 'n', 0 }, 0 },
		{ "descsz 16", 32, { U32(4), U32(16), U32(18), 'X', 'e', 'n', 0, U32(0x200044) }, 0 },
		{ "after a GNU note", 40,
		  { U32(4), U32(4), U32(3), 'G', 'N', 'U', 0, U32(0x12345678),
		    U32(4), U32(4), U32(18), 'X', 'e', 'n', 0, U32(0x200048) }, 0x200048 },
		{ "after empty notes", 44,
		  { U32(0), U32(0), U32(0), U32(0), U32(0), U32(0),
		    U32(4), U32(4), U32(18), 'X', 'e', 'n', 0, U32(0x20004c) }, 0x20004c },
		{ "valid, then a short tail", 25,
		  { U32(4), U32(4), U32(18), 'X', 'e', 'n', 0, U32(0x200050), 1, 2, 3, 4, 5 },
		  0x200050 },
		{ "valid, then a note past the end", 40,
		  { U32(4), U32(4), U32(18), 'X', 'e', 'n', 0, U32(0x200054),
		    U32(4), U32(64), U32(18), 'X', 'e', 'n', 0 }, 0x200054 },
		{ "PVH entry outside RAM is refused", 20,
		  { U32(4), U32(4), U32(18), 'X', 'e', 'n', 0, U32(0x10000000) }, UINT64_MAX },
	};

	ram_new(&r, RAM_SIZE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct elf_spec s = elf_default();
		struct boot_images img;
		struct boot_info info;
		size_t klen;
		uint8_t *k;
		int ret, want = cases[i].pvh == UINT64_MAX ? -EINVAL : 0;

		/* The note is the last thing in the file: an over-read trips ASan. */
		elf_add_note(&s, cases[i].bytes, cases[i].len);
		k = elf_build(&s, &klen);
		img = (struct boot_images){ k, klen, NULL, 0, "", 0 };
		ram_reset(&r);
		ret = load(t_, &r.m, &img, &info);
		if (ret != want || (want == 0 && info.entry != (cases[i].pvh ? cases[i].pvh : ENTRY64)))
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, want);
		if (want == 0 && cases[i].pvh) {
			CHECK_EQ(info.format, BOOT_FMT_ELF_PVH);
			CHECK_EQ(info.mode, BOOT_MODE_PROT32);
			CHECK_EQ(info.entry, cases[i].pvh);
		} else if (want == 0) {
			CHECK_EQ(info.format, BOOT_FMT_ELF64);
			CHECK_EQ(info.mode, BOOT_MODE_LONG64);
			CHECK_EQ(info.entry, ENTRY64);
		}
		free(k);
	}
	ram_free(&r);
}

TEST(elf_limits)
{
	struct ram r;
	static const struct {
		const char *name;
		size_t cmdline_len, ilen;
		int want;
	} cases[] = {
		{ "longest command line", BOOT_CMDLINE_MAX - 1, 0, 0 },
		{ "command line too long", BOOT_CMDLINE_MAX, 0, -E2BIG },
		{ "initrd fills RAM above the kernel", 0, RAM_SIZE - (SEG_ADDR + SEG_MEM), 0 },
		{ "initrd one byte too big", 0, RAM_SIZE - (SEG_ADDR + SEG_MEM) + 1, -EFBIG },
		{ "initrd bigger than RAM", 0, RAM_SIZE + 4096, -EFBIG },
	};

	ram_new(&r, RAM_SIZE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct elf_spec s = elf_default();
		char *cmdline = malloc(cases[i].cmdline_len + 1);
		uint8_t *initrd = cases[i].ilen ? pattern_buf(cases[i].ilen, SEED_INITRD) : NULL;
		struct boot_images img;
		struct boot_info info;
		size_t klen;
		uint8_t *k;
		int ret;

		if (!cmdline)
			abort();
		memset(cmdline, 'c', cases[i].cmdline_len);
		cmdline[cases[i].cmdline_len] = 0;
		elf_add_note(&s, pvh_note, sizeof(pvh_note));
		k = elf_build(&s, &klen);
		img = (struct boot_images){ k, klen, initrd, cases[i].ilen, cmdline, 0 };
		ram_reset(&r);
		ret = load(t_, &r.m, &img, &info);
		if (ret != cases[i].want)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, cases[i].want);
		if (ret == 0 && cases[i].want == 0) {
			check_cmdline(t_, &r.m, cmdline);
			if (initrd)
				check_initrd(t_, &r.m, &info, cases[i].ilen, RAM_SIZE);
		}
		free(k);
		free(initrd);
		free(cmdline);
	}
	ram_free(&r);
}

/*
 * An initrd that is present but empty (vm.c hands over malloc(1) and length
 * 0 for an empty --initrd file) boots as if there were none, with a warning
 * (fuzz regression: it used to fail with an unlogged -EFAULT).
 */
TEST(empty_initrd)
{
	static const uint8_t empty[1] = { 0 };
	struct bz_spec bs = bz_default();
	struct elf_spec es = elf_default();
	struct boot_images img;
	struct boot_info info;
	struct logged lg;
	const uint8_t *si;
	struct ram r;
	size_t klen;
	uint8_t *k;

	ram_new(&r, RAM_SIZE);
	k = bz_build(&bs, &klen);
	img = (struct boot_images){ k, klen, empty, 0, "", 0 };
	CHECK_EQ(load_logged(t_, &r.m, &img, &info, &lg), 0);
	CHECK_EQ(lg.warnings, 1);
	CHECK_EQ(info.initrd_addr, 0);
	CHECK_EQ(le32_get(gp(&r.m, ZP + H_RAMDISK_IMAGE, 4)), 0);
	CHECK_EQ(le32_get(gp(&r.m, ZP + H_RAMDISK_SIZE, 4)), 0);
	free(k);

	/* PVH: no module, and the module list slot is not written. */
	ram_reset(&r);
	elf_add_note(&es, pvh_note, sizeof(pvh_note));
	k = elf_build(&es, &klen);
	img = (struct boot_images){ k, klen, empty, 0, "", 0 };
	CHECK_EQ(load_logged(t_, &r.m, &img, &info, &lg), 0);
	CHECK_EQ(lg.warnings, 1);
	CHECK_EQ(info.format, BOOT_FMT_ELF_PVH);
	CHECK_EQ(info.initrd_addr, 0);
	si = gp(&r.m, BOOT_PVH_INFO_ADDR, 56);
	CHECK_EQ(le32_get(si + 12), 0);
	CHECK_EQ(le64_get(si + 16), 0);
	CHECK(all_bytes(gp(&r.m, BOOT_PVH_MODLIST, 32), 32, FILL));
	free(k);

	/* A real initrd logs nothing at all. */
	ram_reset(&r);
	img.initrd_len = 1;
	k = elf_build(&es, &klen);
	img.kernel = k;
	CHECK_EQ(load_logged(t_, &r.m, &img, &info, &lg), 0);
	CHECK_EQ(lg.lines, 0);
	CHECK(info.initrd_addr != 0);
	free(k);
	ram_free(&r);
}

/*
 * Regression: an ELF entry at or above 4 GiB (possible once --mem exceeds
 * 3 GiB and a segment sits at 4 GiB) used to be accepted although a PVH
 * entry is a 32-bit EIP and the 64-bit entry runs on page tables mapping
 * only the first 4 GiB. boot_load must refuse it with -EINVAL.
 */
TEST(elf_entry_above_4g)
{
	static const uint8_t note8[] = { U32(4), U32(8), U32(18), 'X', 'e', 'n', 0,
					 U32(0x00000040), U32(1) }; /* 0x100000040 */
	struct gmem m;

	CHECK_EQ(x86_mem_init(&m, 3584 * MiB), 0);
	if (m.nr_regions != 2)
		goto out;
	for (int pvh = 0; pvh < 2; pvh++) {
		struct elf_spec s = elf_default();
		struct boot_images img;
		struct boot_info info;
		size_t klen;
		uint8_t *k;
		int ret;

		s.ph[0].paddr = GMEM_4G;
		s.entry = GMEM_4G + 0x100;
		if (pvh)
			elf_add_note(&s, note8, sizeof(note8));
		k = elf_build(&s, &klen);
		img = (struct boot_images){ k, klen, NULL, 0, "", 0 };
		ret = load(t_, &m, &img, &info);
		if (ret != -EINVAL)
			fprintf(stderr, "  %s entry 0x%llx accepted (mode %d)\n",
				pvh ? "PVH" : "ELF64", (unsigned long long)info.entry, info.mode);
		CHECK_EQ(ret, -EINVAL);
		free(k);
	}
out:
	gmem_free(&m);
}

/* ---- junk ------------------------------------------------------------ */

TEST(junk_images)
{
	enum { JUNK_LEN = 4096 };
	static const struct {
		const char *name;
		size_t len;
		int kind; /* 0 zeros, 1 ones, 2 pseudo-random, 3 literal */
		const char *lit;
	} cases[] = {
		{ "empty", 0, 3, "" },
		{ "3 bytes of ELF magic", 3, 3, "\x7f" "EL" },
		{ "ELF magic only", 4, 3, "\x7f" "ELF" },
		{ "ELF magic, 63 bytes", 63, 0, NULL },
		{ "zeros", JUNK_LEN, 0, NULL },
		{ "all ones", JUNK_LEN, 1, NULL },
		{ "noise", JUNK_LEN, 2, NULL },
		{ "a PE/COFF stub", JUNK_LEN, 3, "MZ" },
		{ "a shell script", JUNK_LEN, 3, "#!/bin/sh\n" },
	};
	struct boot_images img;
	struct boot_info info;
	struct ram r;

	ram_new(&r, RAM_SIZE);
	/* No kernel at all. */
	img = (struct boot_images){ NULL, 0, NULL, 0, "", 0 };
	CHECK_EQ(load(t_, &r.m, &img, &info), -ENOEXEC);
	img = (struct boot_images){ NULL, 4096, NULL, 0, "", 0 };
	CHECK_EQ(load(t_, &r.m, &img, &info), -ENOEXEC);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *k = calloc(1, cases[i].len ? cases[i].len : 1);
		unsigned seed = 7;
		int ret;

		if (!k)
			abort();
		if (cases[i].kind == 1)
			memset(k, 0xff, cases[i].len);
		for (size_t j = 0; cases[i].kind == 2 && j < cases[i].len; j++) {
			seed = seed * 1103515245u + 12345u;
			k[j] = (uint8_t)(seed >> 16);
		}
		if (cases[i].kind == 3)
			memcpy(k, cases[i].lit, strlen(cases[i].lit) < cases[i].len ?
			       strlen(cases[i].lit) : cases[i].len);
		if (cases[i].len == 63)
			memcpy(k, "\x7f" "ELF", 4);
		img = (struct boot_images){ k, cases[i].len, NULL, 0, "", 0 };
		ret = load(t_, &r.m, &img, &info);
		if (ret != -ENOEXEC)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, -ENOEXEC);
		free(k);
	}
	CHECK(all_bytes(r.host, RAM_SIZE, FILL));
	ram_free(&r);
}

/* ---- e820 ------------------------------------------------------------ */

TEST(e820_layouts)
{
	struct e820_entry e[E820_MAX];
	struct gmem m;
	struct ram r;
	unsigned n;

	ram_new(&r, RAM_SIZE);
	check_e820_flat(t_, e, boot_e820(&r.m, e, E820_MAX), RAM_SIZE);
	/* Too small a table: nothing, rather than a partial map. */
	memset(e, 0x5a, sizeof(e));
	CHECK_EQ(boot_e820(&r.m, e, 5 + GMEM_MAX_REGIONS - 1), 0);
	CHECK_EQ(e[0].addr, 0x5a5a5a5a5a5a5a5aULL);
	CHECK_EQ(boot_e820(&r.m, e, 0), 0);
	ram_free(&r);

	/* Exactly 1 MiB of RAM: no RAM entry above 1 MiB. */
	ram_new(&r, MiB);
	n = boot_e820(&r.m, e, E820_MAX);
	CHECK_EQ(n, 4);
	CHECK_EQ(e[2].addr + e[2].size, BOOT_HIGH_START);
	ram_free(&r);

	/* x86 layout, 3.5 GiB: RAM up to the hole, then 512 MiB from 4 GiB. */
	CHECK_EQ(x86_mem_init(&m, 3584 * MiB), 0);
	n = boot_e820(&m, e, E820_MAX);
	CHECK_EQ(n, 6);
	if (n == 6) {
		CHECK_EQ(e[3].addr, BOOT_HIGH_START);
		CHECK_EQ(e[3].size, X86_HOLE_START - BOOT_HIGH_START);
		CHECK_EQ(e[3].type, E820_RAM);
		CHECK_EQ(e[4].addr, PC_PCI_ECAM_BASE); /* in the hole, between the RAM ranges */
		CHECK_EQ(e[4].type, E820_RESERVED);
		CHECK_EQ(e[5].addr, GMEM_4G);
		CHECK_EQ(e[5].size, 512 * MiB);
		CHECK_EQ(e[5].type, E820_RAM);
	}
	/* Sorted, non-overlapping, and RAM totals the guest's RAM minus the reserved holes. */
	{
		uint64_t ram = 0;

		for (unsigned i = 0; i < n; i++) {
			if (i)
				CHECK(e[i - 1].addr + e[i - 1].size <= e[i].addr);
			if (e[i].type == E820_RAM)
				ram += e[i].size;
		}
		CHECK_EQ(ram, m.ram_size - (BOOT_HIGH_START - BOOT_EBDA_START));
	}
	gmem_free(&m);

	/* Exactly 3 GiB: nothing above 4 GiB. */
	CHECK_EQ(x86_mem_init(&m, X86_HOLE_START), 0);
	CHECK_EQ(boot_e820(&m, e, E820_MAX), 5);
	gmem_free(&m);
}

TEST(format_names)
{
	const char *a = boot_format_name(BOOT_FMT_BZIMAGE);
	const char *b = boot_format_name(BOOT_FMT_ELF_PVH);
	const char *c = boot_format_name(BOOT_FMT_ELF64);

	CHECK(a && b && c);
	CHECK(strcmp(a, b) != 0 && strcmp(b, c) != 0 && strcmp(a, c) != 0);
	CHECK(strstr(a, "bzImage") != NULL);
	CHECK(strstr(b, "PVH") != NULL);
}

TEST_MAIN(T(bzimage_load), T(bzimage_variants), T(bzimage_initrd_placement),
	  T(bzimage_cmdline_limits), T(bzimage_hostile),
	  T(bzimage_x86_layout), T(elf_pvh), T(elf_pvh_without_initrd), T(elf64_entry),
	  T(elf_segments), T(elf_hostile), T(elf_notes_hostile), T(elf_limits), T(empty_initrd),
	  T(elf_entry_above_4g), T(junk_images), T(e820_layouts), T(format_names))
