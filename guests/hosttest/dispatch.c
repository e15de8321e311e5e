/*
 * dispatch.c: port I/O and MMIO exits reach the right handler.
 * - 1000 writes to port 0x80 (vmon's POST port device): the host test checks
 *   --stats counts exactly these against the "post" device;
 * - UART scratch register (COM1+7) write/read-back: offsets reach the device;
 * - an unclaimed port reads 0xff and an unclaimed MMIO address reads all
 *   ones (100 reads at 0xf0000000, between the PCI ECAM window and the
 *   IOAPIC: counted as unclaimed MMIO).
 */
#include "rt.h"

#define POST_WRITES 1000
#define WILD_MMIO   0xf0000000UL
#define WILD_READS  100

void guest_main(const void *bp)
{
	int ok = 1;

	(void)bp;
	for (int i = 0; i < POST_WRITES; i++)
		outb(0x80, (uint8_t)i);
	outb(COM1 + 7, 0x5a);
	if (inb(COM1 + 7) != 0x5a) {
		puts_("FAIL dispatch: UART scratch register did not read back\n");
		ok = 0;
	}
	if (inb(0x1234) != 0xff) {
		puts_("FAIL dispatch: unclaimed port did not read 0xff\n");
		ok = 0;
	}
	for (int i = 0; i < WILD_READS; i++) {
		if (mmio_read32(WILD_MMIO + 4 * (uint64_t)i) != 0xffffffffu) {
			puts_("FAIL dispatch: unclaimed MMIO did not read all ones\n");
			ok = 0;
			break;
		}
	}
	if (ok)
		puts_("PASS dispatch\n");
}
