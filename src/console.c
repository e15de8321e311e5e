/*
 * console.c: terminal mode, the Ctrl-A escape filter and the guest output's
 * non-blocking path to the host fd (see console.h).
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define CONSOLE_OUT_PIPE_SIZE (1 << 20) /* the bounded buffer between the UART and the host */

int console_open(struct console *c, int in_fd)
{
	struct termios raw;

	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	if (in_fd < 0 || !isatty(in_fd))
		return 0;
	if (tcgetattr(in_fd, &c->saved) < 0)
		return -errno;
	raw = c->saved;
	/* Keys go to the guest as typed: no echo, no line editing, no ^C signal. */
	raw.c_iflag &= ~(unsigned)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_lflag &= ~(unsigned)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(in_fd, TCSANOW, &raw) < 0)
		return -errno;
	c->is_tty = 1;
	return 0;
}

void console_close(struct console *c)
{
	if (c->is_tty)
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
	c->is_tty = 0;
}

size_t console_filter(struct console *c, const uint8_t *in, size_t n, size_t *consumed,
		      uint8_t *out, enum console_cmd *cmd)
{
	size_t o = 0, i;

	*cmd = CONSOLE_CMD_NONE;
	for (i = 0; i < n && *cmd == CONSOLE_CMD_NONE; i++) {
		uint8_t b = in[i];

		if (!c->escaped) {
			if (b == CONSOLE_ESCAPE)
				c->escaped = 1;
			else
				out[o++] = b;
			continue;
		}
		c->escaped = 0;
		switch (b) {
		case 'x':
		case 'X':
			*cmd = CONSOLE_CMD_QUIT;
			break;
		case 'h':
		case 'H':
		case '?':
			*cmd = CONSOLE_CMD_HELP;
			break;
		case CONSOLE_ESCAPE:
			out[o++] = CONSOLE_ESCAPE;
			break;
		default:
			out[o++] = CONSOLE_ESCAPE;
			out[o++] = b;
			break;
		}
	}
	*consumed = i;
	return o;
}

/* ---- guest output ---------------------------------------------------------- */

/* How to write host_fd without ever blocking. */
static int console_out_pick(struct console_out *o)
{
	char path[64];
	struct stat st;
	int fd, fl;

	o->wr_fd = o->host_fd;
	if (fstat(o->host_fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		o->mode = CONSOLE_OUT_FILE; /* never waits on a reader */
		return 0;
	}
	if (S_ISSOCK(st.st_mode)) {
		o->mode = CONSOLE_OUT_SOCK;
		return 0;
	}
	/* A terminal or pipe: a description of our own, so O_NONBLOCK is ours alone. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", o->host_fd);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		o->wr_fd = fd;
		o->mode = CONSOLE_OUT_OWN;
		return 0;
	}
	/* No /proc, or a pipe without a reader: share the fd's description, restored at close. */
	fl = fcntl(o->host_fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(o->host_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	o->saved_fl = fl;
	o->mode = CONSOLE_OUT_SHARED;
	return 0;
}

int console_out_open(struct console_out *o, int host_fd)
{
	int p[2], ret;

	memset(o, 0, sizeof(*o));
	o->uart_fd = o->pipe_rd = o->wr_fd = -1;
	o->host_fd = host_fd;
	o->saved_fl = -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		log_err("console output pipe: %s", strerror(errno));
		return ret;
	}
	o->pipe_rd = p[0];
	o->uart_fd = p[1];
	/* Best effort: the default 64 KiB also works, it only drops sooner. */
	(void)fcntl(o->uart_fd, F_SETPIPE_SZ, CONSOLE_OUT_PIPE_SIZE);
	ret = console_out_pick(o);
	if (ret) {
		log_err("console output on fd %d: %s", host_fd, strerror(-ret));
		console_out_close(o);
	}
	return ret;
}

void console_out_pollfd(const struct console_out *o, struct pollfd *p)
{
	if (o->pend_len && !o->gone)
		*p = (struct pollfd){ .fd = o->wr_fd, .events = POLLOUT };
	else
		*p = (struct pollfd){ .fd = o->pipe_rd, .events = POLLIN };
}

/* Write the pending bytes once: bytes written, 0 when the host fd is full. */
static size_t console_out_write(struct console_out *o)
{
	const uint8_t *buf = o->pend + o->pend_off;
	ssize_t w;

	if (o->mode == CONSOLE_OUT_SOCK)
		w = send(o->wr_fd, buf, o->pend_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		w = write(o->wr_fd, buf, o->pend_len);
	if (w > 0) {
		o->pend_off += (size_t)w;
		o->pend_len -= (size_t)w;
		o->written += (uint64_t)w;
		return (size_t)w;
	}
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	/* EPIPE (SIGPIPE is ignored by `vmon run`), EIO of a hung-up terminal, ...: gone. */
	log_warn("console output: %s; the guest's further output is discarded",
		 w < 0 ? strerror(errno) : "nothing written");
	o->gone = 1;
	return 0;
}

/* Refill pend from the pipe: 0 when the pipe is empty. */
static size_t console_out_fill(struct console_out *o)
{
	ssize_t r = read(o->pipe_rd, o->pend, sizeof(o->pend));

	o->pend_off = 0;
	o->pend_len = r > 0 ? (size_t)r : 0;
	return o->pend_len;
}

size_t console_out_pump(struct console_out *o)
{
	size_t total = 0, w;

	while (total < CONSOLE_OUT_BUDGET) {
		if (!o->pend_len && !console_out_fill(o))
			break;
		if (o->gone) {
			o->discarded += o->pend_len;
			total += o->pend_len;
			o->pend_len = 0;
			continue;
		}
		w = console_out_write(o);
		if (!w)
			break; /* the host fd is full (wait for POLLOUT) or just went away */
		total += w;
	}
	return total;
}

static uint64_t console_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void console_out_flush(struct console_out *o, int stall_ms)
{
	uint64_t end = console_now_ms() + 10u * (uint64_t)stall_ms;

	if (o->pipe_rd < 0)
		return;
	for (;;) {
		struct pollfd p;

		console_out_pump(o);
		if (o->gone || (!o->pend_len && !console_out_fill(o)))
			break;
		if (!o->pend_len)
			continue;
		p = (struct pollfd){ .fd = o->wr_fd, .events = POLLOUT };
		if (console_now_ms() >= end || poll(&p, 1, stall_ms) == 0) {
			log_warn("console output: the reader is not reading; the guest's last output is dropped");
			break;
		}
	}
}

void console_out_close(struct console_out *o)
{
	if (o->mode == CONSOLE_OUT_OWN && o->wr_fd >= 0)
		close(o->wr_fd);
	if (o->mode == CONSOLE_OUT_SHARED && o->saved_fl >= 0)
		(void)fcntl(o->host_fd, F_SETFL, o->saved_fl);
	if (o->uart_fd >= 0)
		close(o->uart_fd);
	if (o->pipe_rd >= 0)
		close(o->pipe_rd);
	o->uart_fd = o->pipe_rd = o->wr_fd = -1;
	o->mode = CONSOLE_OUT_FILE;
	o->saved_fl = -1;
}
