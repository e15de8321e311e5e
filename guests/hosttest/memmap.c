/*
 * memmap.c: guest memory layout as vmon describes it in boot_params.
 * Prints the e820 map, checks it against expect_mib= on the command line
 * (RAM + the reserved EBDA/BIOS hole below 1 MiB = --mem), that the guest
 * was loaded where its ELF says, and that the last page of low RAM holds
 * what we write.
 */
#include "rt.h"

extern char _start[];

void guest_main(const void *bp)
{
	unsigned n = rd8(bp, BP_E820_ENTRIES);
	uint64_t ram = 0, low_top = 0, expect = parse_dec(cmdline_get(bp, "expect_mib")) << 20;
	int ok = 1;

	for (unsigned i = 0; i < n; i++) {
		uint64_t a = rd64(bp, BP_E820_TABLE + i * 20), s = rd64(bp, BP_E820_TABLE + i * 20 + 8);
		uint32_t t = rd32(bp, BP_E820_TABLE + i * 20 + 16);

		puts_("e820: ");
		puthex(a);
		puts_("-");
		puthex(a + s - 1);
		puts_(t == 1 ? " ram\n" : " reserved\n");
		if (t == 1) {
			ram += s;
			if (a + s <= 0x100000000UL && a + s > low_top)
				low_top = a + s;
		}
	}
	puts_("ram: ");
	putdec(ram >> 10);
	puts_(" KiB\n");
	/* [0x9fc00, 0xa0000) and [0xa0000, 0x100000) are not RAM in e820 but are in --mem. */
	if (!expect || ram + (0x100000 - 0x9fc00) != expect) {
		puts_("FAIL memmap: e820 RAM does not add up to expect_mib\n");
		ok = 0;
	}
	if ((uint64_t)_start != 0x200000) {
		puts_("FAIL memmap: guest not loaded at its ELF address\n");
		ok = 0;
	}
	if (low_top) {
		volatile uint64_t *p = (volatile uint64_t *)(low_top - 8);

		*p = 0x1122334455667788ULL;
		if (*p != 0x1122334455667788ULL) {
			puts_("FAIL memmap: last word of RAM did not hold a value\n");
			ok = 0;
		}
	}
	if (ok)
		puts_("PASS memmap\n");
}
