/*
 * console.h: the host side of the guest's serial console: the terminal
 * mode and the Ctrl-A escape, as in QEMU's -nographic.
 *
 * Owns: raw mode on a tty input (restored on close) and the input filter:
 *   Ctrl-A x      quit vmon (the VM is stopped, exit status 4)
 *   Ctrl-A Ctrl-A send one Ctrl-A to the guest
 *   Ctrl-A h      help on stderr
 * Any other byte after Ctrl-A is passed through with the Ctrl-A.
 * Does not own the UART (devices/uart16550.c) or the poll loop (vm.c).
 * Threads: the main thread only.
 */
#ifndef VMON_CONSOLE_H
#define VMON_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

enum console_cmd { CONSOLE_CMD_NONE, CONSOLE_CMD_QUIT, CONSOLE_CMD_HELP };

struct console {
	int in_fd;
	int is_tty;
	int escaped;          /* the previous byte was Ctrl-A */
	struct termios saved; /* terminal mode to restore */
};

/* Put in_fd in raw mode if it is a terminal. 0 or -errno. */
int console_open(struct console *c, int in_fd);
void console_close(struct console *c);

/*
 * Filter n input bytes into out (capacity >= 2 * n). Stops at the first
 * command and reports it in *cmd (bytes after it stay in in[*consumed..]).
 * Returns the number of bytes written to out.
 */
size_t console_filter(struct console *c, const uint8_t *in, size_t n, size_t *consumed,
		      uint8_t *out, enum console_cmd *cmd);

#endif
