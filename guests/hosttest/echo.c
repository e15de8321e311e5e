/*
 * echo.c: the console input path. Reads one line from COM1 by polling LSR
 * (data ready) and prints "PASS echo <line>"; the host test pipes the line
 * into vmon's stdin. Without input it waits forever, which the host test
 * uses to check Ctrl-A x and signals.
 */
#include "rt.h"

#define LSR_DR 0x01

void guest_main(const void *bp)
{
	char line[64];
	unsigned n = 0;

	(void)bp;
	puts_("echo: ready\n");
	for (;;) {
		char c;

		while (!(inb(COM1 + 5) & LSR_DR))
			;
		c = (char)inb(COM1);
		if (c == '\n' || c == '\r' || n == sizeof(line) - 1)
			break;
		line[n++] = c;
	}
	line[n] = 0;
	puts_("PASS echo ");
	puts_(line);
	puts_("\n");
}
