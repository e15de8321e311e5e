/*
 * counter.c: a guest whose progress is visible on the serial port, for the
 * snapshot tests. It counts in guest memory and prints "count N" every
 * 2^14 iterations, forever; a restored snapshot must go on from the N it
 * had reached (the counter lives in RAM and registers, nowhere else).
 */
#include "rt.h"

void guest_main(const void *bp)
{
	volatile uint64_t n = 0;

	(void)bp;
	puts_("counter: start\n");
	for (;;) {
		n++;
		if (!(n & 0x3fff)) {
			puts_("count ");
			putdec(n >> 14);
			putc_('\n');
		}
	}
}
