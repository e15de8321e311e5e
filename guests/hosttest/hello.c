/* hello.c: serial output through OUT to COM1, then a clean reset. */
#include "rt.h"

void guest_main(const void *bp)
{
	(void)bp;
	puts_("hello from a vmon guest\n");
	puts_("PASS hello\n");
}
