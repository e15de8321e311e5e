/*
 * triple.c: a negative guest. With no usable IDT, UD2 raises #UD, then #DF,
 * then a triple fault: vmon must report a guest crash (exit status 3).
 */
#include "rt.h"

void guest_main(const void *bp)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { 0, 0 };

	(void)bp;
	puts_("triple: faulting now\n");
	__asm__ volatile("lidt %0; ud2" ::"m"(idtr));
	puts_("FAIL triple: still running\n");
}
