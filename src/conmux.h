/*
 * conmux.h: the serial console of a detached VM. Guest output arrives on a
 * pipe (the UART writes its end) and is copied to a log file and to the one
 * client attached to a Unix socket; what the client sends goes to the guest.
 *
 * Owns: the pipe, the log file (capped and rotated: logfile.h), the
 * listening socket and the client connection. A second client is told the
 * console is busy and closed. Output to a client that does not keep up is
 * dropped for that client only (the log file has everything); a vCPU never
 * waits for a client nor for this thread: the pipe is non-blocking, and
 * when it is full (1 MiB behind) the UART's byte is dropped.
 * Threads: the UART (vCPU threads) writes uart_fd; everything else runs on
 * the VM's main thread.
 */
#ifndef VMON_CONMUX_H
#define VMON_CONMUX_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "logfile.h"

#define CONMUX_NFDS 3 /* pollfds conmux_pollfds may fill */

struct conmux {
	int uart_fd;    /* the UART's output: write end of the pipe */
	int pipe_rd;
	struct logfile log; /* DIR/serial.log: capped, one .1 generation */
	int listen_fd;
	int client_fd;  /* -1: nobody attached */
	char sock_path[108];
	uint64_t dropped; /* bytes a slow client missed */
};

/*
 * Create the pipe, open (append) log_path capped at log_max bytes (0: the
 * default, see logfile.h) and listen on sock_path (0600). 0 or -errno, logged.
 */
int conmux_open(struct conmux *m, const char *sock_path, const char *log_path, uint64_t log_max);
/* Copy what is left in the pipe to the log, close everything, unlink the socket. */
void conmux_close(struct conmux *m);

/*
 * Fill p with the fds to wait on; the client is polled for input only when
 * want_input (the UART has room). Returns how many (at most CONMUX_NFDS).
 */
unsigned conmux_pollfds(const struct conmux *m, struct pollfd *p, int want_input);

/*
 * Act on what poll reported for the fds conmux_pollfds filled: copy output,
 * accept or refuse clients, and read at most in_room bytes of client input
 * into in (returned through *in_len).
 */
void conmux_handle(struct conmux *m, const struct pollfd *p, unsigned n, uint8_t *in,
		   size_t in_room, size_t *in_len);

/* Copy what the pipe holds now (at most 256 KiB) to the log and client (non-blocking). */
void conmux_drain(struct conmux *m);

#endif
