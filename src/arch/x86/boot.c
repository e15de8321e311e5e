/*
 * boot.c: kernel and initrd loading for x86-64 guests (see boot.h).
 */
#include "boot.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "pc_layout.h"
#include "util.h"

int x86_mem_init(struct gmem *m, uint64_t ram_size)
{
	uint64_t low = ram_size < X86_HOLE_START ? ram_size : X86_HOLE_START;
	int ret;

	gmem_init(m);
	if (ram_size == 0 || (ram_size & 0xfff))
		return -EINVAL;
	ret = gmem_add_anon(m, 0, low);
	if (ret == 0 && ram_size > low)
		ret = gmem_add_anon(m, GMEM_4G, ram_size - low);
	if (ret)
		gmem_free(m);
	return ret;
}

/* struct boot_params offsets, Documentation/x86/zero-page.rst. */
#define ZP_ACPI_RSDP_ADDR    0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES      0x1e8
#define ZP_HDR               0x1f1 /* struct setup_header starts here */
#define ZP_HDR_LIMIT         0x290 /* edd_mbr_sig_buffer follows the header */
#define ZP_E820_TABLE        0x2d0
#define ZP_E820_SLOTS        128
#define ZP_SIZE              0x1000

/* struct setup_header fields by absolute offset, Documentation/x86/boot.rst. */
#define HDR_SETUP_SECTS      0x1f1
#define HDR_VID_MODE         0x1fa
#define HDR_BOOT_FLAG        0x1fe /* 0xaa55 */
#define HDR_JUMP             0x200
#define HDR_MAGIC            0x202 /* "HdrS" */
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define HDR_END_212          0x264 /* bytes a 2.12 header occupies */

#define HDR_MAGIC_VALUE      0x53726448 /* "HdrS" little-endian */
#define BOOT_FLAG_VALUE      0xaa55
#define LOADFLAG_LOADED_HIGH 0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64        0x01 /* has the 64-bit entry at load + 0x200 */
#define ENTRY64_OFFSET       0x200
#define LOADER_UNDEFINED     0xff /* type_of_loader: "undefined" boot loader */

/* ELF64, System V gABI and the x86-64 psABI. */
#define ELF_EHDR_SIZE 64
#define ELF_PHDR_SIZE 56
#define EM_X86_64     62
#define PT_LOAD       1
#define PT_NOTE       4
/* Xen ELF note carrying the 32-bit PVH entry (xen/include/public/elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
/* struct hvm_start_info, xen/include/public/arch-x86/hvm/start_info.h. */
#define HVM_START_MAGIC     0x336ec578
#define HVM_START_INFO_SIZE 56
#define HVM_RSDP_PADDR      32 /* offset of rsdp_paddr */
#define HVM_MODLIST_SIZE    32
#define HVM_MEMMAP_SIZE     24

/* GDT descriptors: flat 4 GiB segments (Intel SDM vol. 3 §3.4.5). */
#define GDT_CODE64 0x00af9b000000ffffULL /* L=1, present, exec/read */
#define GDT_CODE32 0x00cf9b000000ffffULL /* D=1, G=1 */
#define GDT_DATA   0x00cf93000000ffffULL /* read/write, G=1 */
#define GDT_TSS32  0x00008b0000000067ULL /* busy 32-bit TSS, limit 0x67 */

/* Paging entries (Intel SDM vol. 3 §4.5): present, writable, 2 MiB page. */
#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL
#define PAGE_2M 0x200000ULL

const char *boot_format_name(enum boot_format f)
{
	switch (f) {
	case BOOT_FMT_BZIMAGE:
		return "bzImage (64-bit entry)";
	case BOOT_FMT_ELF_PVH:
		return "ELF (PVH entry)";
	default:
		return "ELF64 (64-bit entry)";
	}
}

unsigned boot_e820(const struct gmem *m, struct e820_entry *e, unsigned max)
{
	uint64_t low_end = gmem_low_end(m);
	unsigned n = 0;

	if (max < 5 + GMEM_MAX_REGIONS)
		return 0;
	/* Conventional memory up to the EBDA, reserved as on a PC. */
	e[n++] = (struct e820_entry){ 0, BOOT_EBDA_START, E820_RAM };
	e[n++] = (struct e820_entry){ BOOT_EBDA_START, 0xa0000 - BOOT_EBDA_START, E820_RESERVED };
	/* The ACPI tables (PC_ACPI_BASE) and the BIOS area above, where the MP table lives. */
	e[n++] = (struct e820_entry){ PC_ACPI_BASE, BOOT_HIGH_START - PC_ACPI_BASE, E820_RESERVED };
	if (low_end > BOOT_HIGH_START)
		e[n++] = (struct e820_entry){ BOOT_HIGH_START, low_end - BOOT_HIGH_START, E820_RAM };
	/* The ECAM window: Linux uses MCFG's ECAM only if it is reserved (e820 or ACPI). */
	e[n++] = (struct e820_entry){ PC_PCI_ECAM_BASE, PC_PCI_ECAM_SIZE, E820_RESERVED };
	for (unsigned i = 0; i < m->nr_regions; i++)
		if (m->region[i].gpa >= GMEM_4G)
			e[n++] = (struct e820_entry){ m->region[i].gpa, m->region[i].size, E820_RAM };
	return n;
}

/* GDT and identity page tables for the first 4 GiB (2 MiB pages). */
static int boot_write_cpu_tables(const struct gmem *m, enum boot_mode mode)
{
	uint8_t gdt[5 * 8] = { 0 };
	uint8_t *pt;

	le64_put(gdt + BOOT_CS_SEL, mode == BOOT_MODE_LONG64 ? GDT_CODE64 : GDT_CODE32);
	le64_put(gdt + BOOT_DS_SEL, GDT_DATA);
	le64_put(gdt + BOOT_TSS_SEL, GDT_TSS32);
	if (gmem_write(m, BOOT_GDT_ADDR, gdt, sizeof(gdt)))
		return -EFAULT;
	if (mode != BOOT_MODE_LONG64)
		return 0;
	/* PML4, PDPT, then four page directories: 6 pages from BOOT_PML4_ADDR. */
	pt = gmem_ptr(m, BOOT_PML4_ADDR, 6 * 0x1000);
	if (!pt)
		return -EFAULT;
	memset(pt, 0, 6 * 0x1000);
	le64_put(pt, (BOOT_PML4_ADDR + 0x1000) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4; i++)
		le64_put(pt + 0x1000 + i * 8, (BOOT_PML4_ADDR + 0x2000 + i * 0x1000) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4 * 512; i++)
		le64_put(pt + 0x2000 + i * 8, (i * PAGE_2M) | PTE_P | PTE_RW | PTE_PS);
	return 0;
}

static int boot_write_cmdline(const struct gmem *m, const char *cmdline, size_t max_with_nul)
{
	size_t len = strlen(cmdline);

	if (len + 1 > max_with_nul || len + 1 > BOOT_CMDLINE_MAX) {
		log_err("kernel command line is %zu bytes; this kernel accepts at most %zu",
			len, (max_with_nul < BOOT_CMDLINE_MAX ? max_with_nul : BOOT_CMDLINE_MAX) - 1);
		return -E2BIG;
	}
	return gmem_write(m, BOOT_CMDLINE_ADDR, cmdline, len + 1);
}

/* Put the initrd as high as allowed (page aligned), above the kernel. */
static int boot_place_initrd(const struct gmem *m, const struct boot_images *img,
			     uint64_t kernel_end, uint64_t max_addr, struct boot_info *info)
{
	uint64_t top = gmem_low_end(m), addr;

	info->initrd_addr = 0;
	if (!img->initrd)
		return 0;
	if (img->initrd_len == 0) {
		log_warn("initrd is empty: booting without one");
		return 0;
	}
	if (max_addr < top)
		top = max_addr;
	if (img->initrd_len > top || ((top - img->initrd_len) & ~0xfffULL) < kernel_end) {
		log_err("initrd (%zu KiB) does not fit in guest RAM between the kernel (ends at "
			"0x%" PRIx64 ") and 0x%" PRIx64 "; give the guest more --mem",
			img->initrd_len >> 10, kernel_end, top);
		return -EFBIG;
	}
	addr = (top - img->initrd_len) & ~0xfffULL;
	if (gmem_write(m, addr, img->initrd, img->initrd_len))
		return -EFAULT;
	info->initrd_addr = addr;
	return 0;
}

static void boot_zero_page_e820(const struct gmem *m, uint8_t *zp)
{
	struct e820_entry e[E820_MAX];
	unsigned n = boot_e820(m, e, E820_MAX);

	for (unsigned i = 0; i < n && i < ZP_E820_SLOTS; i++) {
		uint8_t *p = zp + ZP_E820_TABLE + i * 20;

		le64_put(p, e[i].addr);
		le64_put(p + 8, e[i].size);
		le32_put(p + 16, e[i].type);
	}
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
}

/* Fields every zero page gets, whatever the kernel format. */
static void boot_zero_page_common(const struct gmem *m, uint8_t *zp, const struct boot_info *info,
				  size_t initrd_len)
{
	le16_put(zp + HDR_VID_MODE, 0xffff); /* "normal" text mode */
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] |= LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP;
	le16_put(zp + HDR_HEAP_END_PTR, 0xfe00);
	le32_put(zp + HDR_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);
	le32_put(zp + ZP_EXT_CMD_LINE_PTR, 0);
	le32_put(zp + HDR_RAMDISK_IMAGE, (uint32_t)info->initrd_addr);
	le32_put(zp + HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
	le32_put(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(info->initrd_addr >> 32));
	le32_put(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)initrd_len >> 32));
	boot_zero_page_e820(m, zp);
}

static int boot_bzimage(const struct gmem *m, const struct boot_images *img, struct boot_info *info)
{
	const uint8_t *k = img->kernel;
	uint8_t *zp;
	unsigned setup_sects, hdr_end;
	uint64_t pm_off, pm_len, need, max_initrd;
	uint32_t cmdline_size;
	uint16_t version;
	int ret;

	if (img->kernel_len < HDR_END_212)
		return -ENOEXEC;
	version = le16_get(k + HDR_VERSION);
	if (version < 0x020c || !(le16_get(k + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		log_err("bzImage boot protocol %u.%02u has no 64-bit entry point "
			"(need 2.12 with XLF_KERNEL_64: a 64-bit Linux 3.8 or later)",
			version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (!(k[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH)) {
		log_err("bzImage wants to be loaded low (zImage): not supported");
		return -ENOEXEC;
	}
	setup_sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4; /* 0 means 4 */
	pm_off = (uint64_t)(setup_sects + 1) * 512;
	if (pm_off >= img->kernel_len) {
		log_err("bzImage is truncated: setup claims %u sectors, file has %zu bytes",
			setup_sects, img->kernel_len);
		return -EINVAL;
	}
	pm_len = img->kernel_len - pm_off;
	/* The decompressor needs init_size bytes from where it ends up running. */
	if (__builtin_add_overflow(le64_get(k + HDR_PREF_ADDRESS), le32_get(k + HDR_INIT_SIZE),
				   &need))
		need = UINT64_MAX; /* a wrapped claim cannot fit anywhere */
	if (need < BOOT_HIGH_START + pm_len)
		need = BOOT_HIGH_START + pm_len;
	if (need > gmem_low_end(m)) {
		log_err("kernel needs %" PRIu64 " MiB of guest RAM below 3 GiB to decompress; "
			"the guest has %" PRIu64 " MiB there: raise --mem",
			need == UINT64_MAX ? need >> 20 : (need + (1 << 20) - 1) >> 20,
			gmem_low_end(m) >> 20);
		return -EFBIG;
	}
	if (gmem_write(m, BOOT_HIGH_START, k + pm_off, pm_len))
		return -EFAULT;

	info->format = BOOT_FMT_BZIMAGE;
	info->mode = BOOT_MODE_LONG64;
	info->entry = BOOT_HIGH_START + ENTRY64_OFFSET;
	info->boot_arg = BOOT_ZERO_PAGE_ADDR;
	info->kernel_end = need;

	cmdline_size = le32_get(k + HDR_CMDLINE_SIZE);
	ret = boot_write_cmdline(m, img->cmdline, (size_t)cmdline_size + 1);
	if (ret)
		return ret;
	max_initrd = (uint64_t)le32_get(k + HDR_INITRD_ADDR_MAX) + 1;
	ret = boot_place_initrd(m, img, info->kernel_end, max_initrd, info);
	if (ret)
		return ret;

	zp = gmem_ptr(m, BOOT_ZERO_PAGE_ADDR, ZP_SIZE);
	if (!zp)
		return -EFAULT;
	memset(zp, 0, ZP_SIZE);
	/* Copy the setup header as the kernel wrote it; it ends at 0x202 + jump offset. */
	hdr_end = 0x202 + k[HDR_JUMP + 1];
	if (hdr_end > ZP_HDR_LIMIT)
		hdr_end = ZP_HDR_LIMIT;
	memcpy(zp + ZP_HDR, k + ZP_HDR, hdr_end - ZP_HDR);
	boot_zero_page_common(m, zp, info, img->initrd_len);
	return boot_write_cpu_tables(m, info->mode);
}

struct elf_image {
	uint64_t entry;
	uint64_t pvh_entry; /* 0 if no PVH note */
	uint64_t end;       /* highest paddr + memsz */
};

/* Walk the notes in one PT_NOTE segment looking for the PVH entry. */
static void boot_elf_notes(const uint8_t *p, uint64_t len, struct elf_image *e)
{
	uint64_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz = le32_get(p + off), descsz = le32_get(p + off + 4);
		uint32_t type = le32_get(p + off + 8);
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
		uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);

		if (next > len || next <= off)
			return; /* malformed notes: ignore the rest */
		if (namesz == 4 && memcmp(p + name_off, "Xen", 4) == 0 &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY && (descsz == 4 || descsz == 8))
			e->pvh_entry = descsz == 4 ? le32_get(p + desc_off) : le64_get(p + desc_off);
		off = next;
	}
}

static int boot_elf_segments(const struct gmem *m, const struct boot_images *img,
			     struct elf_image *e)
{
	const uint8_t *k = img->kernel;
	uint64_t phoff = le64_get(k + 32);
	unsigned phentsize = le16_get(k + 54), phnum = le16_get(k + 56), loaded = 0;

	if (phentsize != ELF_PHDR_SIZE || phoff > img->kernel_len ||
	    (uint64_t)phnum * ELF_PHDR_SIZE > img->kernel_len - phoff) {
		log_err("ELF program header table lies outside the file");
		return -EINVAL;
	}
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = k + phoff + (uint64_t)i * ELF_PHDR_SIZE;
		uint32_t type = le32_get(ph);
		uint64_t off = le64_get(ph + 8), paddr = le64_get(ph + 24);
		uint64_t filesz = le64_get(ph + 32), memsz = le64_get(ph + 40), end;
		uint8_t *dst;

		if (type != PT_LOAD && type != PT_NOTE)
			continue;
		if (off > img->kernel_len || filesz > img->kernel_len - off) {
			log_err("ELF segment %u lies outside the file", i);
			return -EINVAL;
		}
		if (type == PT_NOTE) {
			boot_elf_notes(k + off, filesz, e);
			continue;
		}
		if (filesz > memsz || __builtin_add_overflow(paddr, memsz, &end)) {
			log_err("ELF segment %u is malformed (filesz > memsz or address overflow)", i);
			return -EINVAL;
		}
		if (paddr < BOOT_HIGH_START) {
			log_err("ELF segment %u at 0x%" PRIx64 " overlaps vmon's boot area below 1 MiB",
				i, paddr);
			return -EINVAL;
		}
		dst = gmem_ptr(m, paddr, memsz);
		if (!dst) {
			log_err("ELF segment %u [0x%" PRIx64 "-0x%" PRIx64 ") is outside guest RAM "
				"(%" PRIu64 " MiB): raise --mem", i, paddr, end, m->ram_size >> 20);
			return -EFBIG;
		}
		memcpy(dst, k + off, filesz);
		memset(dst + filesz, 0, memsz - filesz);
		if (end > e->end)
			e->end = end;
		loaded++;
	}
	if (!loaded) {
		log_err("ELF file has no loadable segment");
		return -ENOEXEC;
	}
	return 0;
}

static int boot_pvh_start_info(const struct gmem *m, const struct boot_images *img,
			       const struct boot_info *info)
{
	uint8_t si[HVM_START_INFO_SIZE] = { 0 }, mod[HVM_MODLIST_SIZE] = { 0 };
	struct e820_entry e[E820_MAX];
	unsigned n = boot_e820(m, e, E820_MAX);

	for (unsigned i = 0; i < n; i++) {
		uint8_t ent[HVM_MEMMAP_SIZE] = { 0 };

		le64_put(ent, e[i].addr);
		le64_put(ent + 8, e[i].size);
		le32_put(ent + 16, e[i].type);
		if (gmem_write(m, BOOT_PVH_MEMMAP + i * HVM_MEMMAP_SIZE, ent, sizeof(ent)))
			return -EFAULT;
	}
	le32_put(si, HVM_START_MAGIC);
	le32_put(si + 4, 1); /* version 1: has the memory map fields */
	if (img->initrd && img->initrd_len) {
		le64_put(mod, info->initrd_addr);
		le64_put(mod + 8, img->initrd_len);
		if (gmem_write(m, BOOT_PVH_MODLIST, mod, sizeof(mod)))
			return -EFAULT;
		le32_put(si + 12, 1);
		le64_put(si + 16, BOOT_PVH_MODLIST);
	}
	le64_put(si + 24, BOOT_CMDLINE_ADDR);
	le64_put(si + 40, BOOT_PVH_MEMMAP);
	le32_put(si + 48, n);
	return gmem_write(m, BOOT_PVH_INFO_ADDR, si, sizeof(si));
}

static int boot_elf(const struct gmem *m, const struct boot_images *img, struct boot_info *info)
{
	const uint8_t *k = img->kernel;
	struct elf_image e = { 0 };
	uint8_t *zp;
	int ret;

	if (img->kernel_len < ELF_EHDR_SIZE || k[4] != 2 /* ELFCLASS64 */ ||
	    k[5] != 1 /* ELFDATA2LSB */ || le16_get(k + 18) != EM_X86_64) {
		log_err("ELF kernel is not a 64-bit little-endian x86-64 image");
		return -ENOEXEC;
	}
	ret = boot_elf_segments(m, img, &e);
	if (ret)
		return ret;
	e.entry = le64_get(k + 24);
	if (e.pvh_entry && !img->prefer_elf64) {
		info->format = BOOT_FMT_ELF_PVH;
		info->mode = BOOT_MODE_PROT32;
		info->entry = e.pvh_entry;
		info->boot_arg = BOOT_PVH_INFO_ADDR;
	} else {
		info->format = BOOT_FMT_ELF64;
		info->mode = BOOT_MODE_LONG64;
		info->entry = e.entry;
		info->boot_arg = BOOT_ZERO_PAGE_ADDR;
	}
	/* A PVH entry is a 32-bit EIP; the 64-bit entry runs on our 4 GiB identity map. */
	if (info->entry >= GMEM_4G || !gmem_ptr(m, info->entry, 1)) {
		log_err("ELF entry point 0x%" PRIx64 " is outside guest RAM below 4 GiB", info->entry);
		return -EINVAL;
	}
	info->kernel_end = e.end;
	ret = boot_write_cmdline(m, img->cmdline, BOOT_CMDLINE_MAX);
	if (!ret)
		ret = boot_place_initrd(m, img, e.end, GMEM_4G, info);
	if (ret)
		return ret;
	if (info->mode == BOOT_MODE_PROT32) {
		ret = boot_pvh_start_info(m, img, info);
		return ret ? ret : boot_write_cpu_tables(m, info->mode);
	}
	/* 64-bit entry: a zero page with a synthesised setup header. */
	zp = gmem_ptr(m, BOOT_ZERO_PAGE_ADDR, ZP_SIZE);
	if (!zp)
		return -EFAULT;
	memset(zp, 0, ZP_SIZE);
	le16_put(zp + HDR_BOOT_FLAG, BOOT_FLAG_VALUE);
	le32_put(zp + HDR_MAGIC, HDR_MAGIC_VALUE);
	le16_put(zp + HDR_VERSION, 0x020c);
	le32_put(zp + HDR_KERNEL_ALIGNMENT, PAGE_2M);
	boot_zero_page_common(m, zp, info, img->initrd_len);
	return boot_write_cpu_tables(m, info->mode);
}

int boot_set_rsdp(const struct gmem *m, const struct boot_info *info, uint64_t rsdp)
{
	uint8_t a[8];

	le64_put(a, rsdp);
	if (info->mode == BOOT_MODE_PROT32) /* PVH: hvm_start_info.rsdp_paddr */
		return gmem_write(m, BOOT_PVH_INFO_ADDR + HVM_RSDP_PADDR, a, sizeof(a)) ? -EFAULT : 0;
	return gmem_write(m, BOOT_ZERO_PAGE_ADDR + ZP_ACPI_RSDP_ADDR, a, sizeof(a)) ? -EFAULT : 0;
}

int boot_load(const struct gmem *m, const struct boot_images *img, struct boot_info *info)
{
	const uint8_t *k = img->kernel;

	memset(info, 0, sizeof(*info));
	if (!k || img->kernel_len < 4) {
		log_err("kernel image is empty");
		return -ENOEXEC;
	}
	if (memcmp(k, "\x7f" "ELF", 4) == 0)
		return boot_elf(m, img, info);
	if (img->kernel_len >= HDR_END_212 && le16_get(k + HDR_BOOT_FLAG) == BOOT_FLAG_VALUE &&
	    le32_get(k + HDR_MAGIC) == HDR_MAGIC_VALUE)
		return boot_bzimage(m, img, info);
	log_err("kernel image is neither a bzImage (no \"HdrS\" setup header) nor an ELF file");
	return -ENOEXEC;
}
