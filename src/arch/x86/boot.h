/*
 * boot.h: the x86 Linux boot protocols: load a kernel and initrd into guest
 * RAM and describe how the boot vCPU must start.
 *
 * Owns: guest memory layout below 1 MiB (GDT, page tables, zero page, PVH
 * start info, command line), kernel image parsing (bzImage setup header,
 * ELF program headers and the Xen PVH note), initrd placement and the e820
 * map (which reserves the ACPI tables' area and the ECAM window), and
 * telling the kernel where the RSDP is. Does not own vCPU registers (cpu.c
 * turns struct boot_info into them) nor the MP table (mptable.c) or the
 * ACPI tables (acpi.c), nor file I/O: images arrive as buffers so the
 * parsers can be unit-tested and fuzzed.
 *
 * Sources: Linux Documentation/x86/boot.rst (setup header, 64-bit boot
 * protocol), Documentation/x86/zero-page.rst (struct boot_params offsets),
 * xen/include/public/arch-x86/hvm/start_info.h and elfnote.h (PVH).
 * Threads: main thread, before vCPUs exist.
 */
#ifndef VMON_X86_BOOT_H
#define VMON_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "../../gmem.h"

/* Guest physical layout below 1 MiB. Everything here is inside e820 RAM
 * below the EBDA, except the MP table, in the reserved BIOS area. */
#define BOOT_GDT_ADDR        0x500
#define BOOT_PVH_INFO_ADDR   0x6000 /* struct hvm_start_info */
#define BOOT_PVH_MODLIST     0x6100 /* one hvm_modlist_entry: the initrd */
#define BOOT_PVH_MEMMAP      0x6200 /* hvm_memmap_table_entry[] */
#define BOOT_ZERO_PAGE_ADDR  0x7000 /* struct boot_params */
#define BOOT_PML4_ADDR       0x9000 /* then PDPT at +0x1000, 4 PDs after */
#define BOOT_CMDLINE_ADDR    0x20000
#define BOOT_CMDLINE_MAX     0x10000 /* up to the 64 KiB we reserve */
#define BOOT_EBDA_START      0x9fc00 /* 639 KiB: reserved, as on a PC */
#define BOOT_BIOS_START      0xf0000 /* reserved BIOS area, which Linux scans for an MP table */
#define BOOT_MPTABLE_ADDR    BOOT_BIOS_START
#define BOOT_MPTABLE_MAX     0x10000 /* the whole 64 KiB BIOS area: room for 254 CPUs */
#define BOOT_HIGH_START      0x100000 /* 1 MiB: kernels load at or above */
/* Reserved in e820 besides: the ACPI tables below the BIOS area (PC_ACPI_BASE, pc_layout.h),
 * so the reserved range is [PC_ACPI_BASE, BOOT_HIGH_START), and the PCI ECAM window. */

/* GDT selectors as the Linux 64-bit boot protocol wants them (__BOOT_CS/DS). */
#define BOOT_CS_SEL  0x10
#define BOOT_DS_SEL  0x18
#define BOOT_TSS_SEL 0x20

/*
 * x86 RAM layout: RAM below 4 GiB stops at X86_HOLE_START so that the
 * range up to 4 GiB is free for the IOAPIC (0xfec00000), the local APIC
 * (0xfee00000) and MMIO devices; the rest continues at 4 GiB.
 */
#define X86_HOLE_START 0xc0000000ULL

/*
 * Map ram_size bytes of guest RAM in that layout. 0 or -errno (-EINVAL
 * for a zero or unaligned size, -ENOMEM if the host refuses the mapping).
 */
int x86_mem_init(struct gmem *m, uint64_t ram_size);

#define E820_MAX     32
#define E820_RAM      1
#define E820_RESERVED 2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

enum boot_mode {
	BOOT_MODE_LONG64, /* 64-bit long mode, paging on, rsi = zero page */
	BOOT_MODE_PROT32, /* 32-bit protected mode, paging off, ebx = start info (PVH) */
};

enum boot_format { BOOT_FMT_BZIMAGE, BOOT_FMT_ELF_PVH, BOOT_FMT_ELF64 };

struct boot_images {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* NULL if none */
	size_t initrd_len;
	const char *cmdline;   /* never NULL */
	int prefer_elf64;      /* ELF with a PVH note: take the 64-bit entry anyway */
};

struct boot_info {
	enum boot_format format;
	enum boot_mode mode;
	uint64_t entry;      /* guest physical address of the first instruction */
	uint64_t boot_arg;   /* rsi (LONG64) or ebx (PROT32) */
	uint64_t kernel_end; /* first byte past what the kernel may use */
	uint64_t initrd_addr;
};

/*
 * Load images into m and fill info. Returns 0, or -ENOEXEC (not a kernel we
 * can boot), -EFBIG (kernel or initrd does not fit in guest RAM), -E2BIG
 * (command line longer than the kernel accepts), -EINVAL (malformed image).
 * Logs the reason once with the detail.
 */
int boot_load(const struct gmem *m, const struct boot_images *img, struct boot_info *info);

/*
 * After boot_load: tell the kernel that the ACPI RSDP is at rsdp (struct
 * boot_params.acpi_rsdp_addr, or hvm_start_info.rsdp_paddr for a PVH
 * entry), so it need not scan for it. 0 or -EFAULT.
 */
int boot_set_rsdp(const struct gmem *m, const struct boot_info *info, uint64_t rsdp);

/* Fill an e820 map for m; returns the number of entries. */
unsigned boot_e820(const struct gmem *m, struct e820_entry *e, unsigned max);

/* Human name of a format, for logs. */
const char *boot_format_name(enum boot_format f);

#endif
