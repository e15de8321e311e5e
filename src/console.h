/*
 * console.h: the host side of the guest's serial console: the terminal
 * mode and the Ctrl-A escape, as in QEMU's -nographic.
 *
 * Owns: raw mode on a tty input (restored on close) and the input filter:
 *   Ctrl-A x      quit vmon (the VM is stopped, exit status 4)
 *   Ctrl-A Ctrl-A send one Ctrl-A to the guest
 *   Ctrl-A h      help on stderr
 * Any other byte after Ctrl-A is passed through with the Ctrl-A.
 * Also owns the output side (struct console_out): guest output reaches the
 * host fd (stdout: a terminal, a pipe, a file) through a pipe of its own, so
 * a reader that stops reading never blocks a vCPU (a full pipe drops the
 * byte) nor the VMM thread (the host fd is written without blocking).
 * Does not own the UART (devices/uart16550.c) or the poll loop (vm.c).
 * Threads: the main thread only; the UART (vCPU threads) writes uart_fd.
 */
#ifndef VMON_CONSOLE_H
#define VMON_CONSOLE_H

#include <poll.h>
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

/*
 * Guest output to a host fd that may block. The UART writes uart_fd (the
 * non-blocking write end of a 1 MiB pipe: the bounded buffer); the VMM
 * thread copies the pipe to the host fd without blocking: a terminal or
 * pipe is reopened non-blocking (its own open file description, so the
 * shell's is left alone), a socket is sent MSG_DONTWAIT, a regular file is
 * written as is. A reader that went away (EPIPE) makes the rest discarded.
 */
#define CONSOLE_OUT_BUDGET (256u << 10) /* bytes one console_out_pump copies at most */

enum console_out_mode { CONSOLE_OUT_FILE, CONSOLE_OUT_OWN, CONSOLE_OUT_SOCK, CONSOLE_OUT_SHARED };

struct console_out {
	int uart_fd;      /* the UART's end */
	int pipe_rd;
	int host_fd;      /* the fd given to console_out_open */
	int wr_fd;        /* what is written: host_fd, or its non-blocking reopening */
	enum console_out_mode mode;
	int saved_fl;     /* CONSOLE_OUT_SHARED: host_fd's flags to restore */
	int gone;         /* the reader went away: output is discarded */
	size_t pend_off, pend_len;
	uint8_t pend[4096]; /* read from the pipe, not yet written */
	uint64_t written, discarded;
};

/* Set up o for host_fd (not closed by console_out_close). 0 or -errno, logged. */
int console_out_open(struct console_out *o, int host_fd);
/* The one fd the VMM loop waits on: the pipe (POLLIN) or, with bytes pending, wr_fd (POLLOUT). */
void console_out_pollfd(const struct console_out *o, struct pollfd *p);
/* Copy what goes without blocking, at most CONSOLE_OUT_BUDGET bytes. Returns bytes written. */
size_t console_out_pump(struct console_out *o);
/*
 * Copy what is left; a reader that makes no progress for stall_ms (and
 * the whole flush after 10 * stall_ms) is given up on. For the end of a run.
 */
void console_out_flush(struct console_out *o, int stall_ms);
void console_out_close(struct console_out *o);

#endif
