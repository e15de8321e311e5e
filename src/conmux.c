/*
 * conmux.c: the serial console of a detached VM (see conmux.h).
 */
#include "conmux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define CONMUX_PIPE_SIZE (1 << 20) /* a burst of guest output is not dropped */
#define CONMUX_DRAIN_BUDGET (256u << 10) /* bytes one conmux_drain copies at most */

static void conmux_reset(struct conmux *m)
{
	memset(m, 0, sizeof(*m));
	m->uart_fd = m->pipe_rd = m->listen_fd = m->client_fd = -1;
	m->log.fd = -1;
}

static int conmux_listen(struct conmux *m, const char *sock_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, ret = 0;

	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		log_err("console socket path too long: %s", sock_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(sock_path); /* ours: the state directory belongs to this VM */
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		ret = -errno;
	umask(old);
	if (ret) {
		log_err("console socket %s: %s", sock_path, strerror(-ret));
		close(fd);
		return ret;
	}
	m->listen_fd = fd;
	strcpy(m->sock_path, sock_path);
	return 0;
}

int conmux_open(struct conmux *m, const char *sock_path, const char *log_path, uint64_t log_max)
{
	int p[2], ret;

	conmux_reset(m);
	/* Non-blocking both ways: a full pipe drops the UART's byte, it never stops a vCPU. */
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		log_err("console pipe: %s", strerror(errno));
		return ret;
	}
	m->pipe_rd = p[0];
	m->uart_fd = p[1];
	/* Best effort: the default 64 KiB also works, it only drops sooner. */
	(void)fcntl(m->uart_fd, F_SETPIPE_SZ, CONMUX_PIPE_SIZE);
	ret = logfile_open(&m->log, log_path, log_max); /* logs its failure */
	if (ret) {
		conmux_close(m);
		return ret;
	}
	ret = conmux_listen(m, sock_path);
	if (ret)
		conmux_close(m);
	return ret;
}

static void conmux_drop_client(struct conmux *m)
{
	if (m->client_fd >= 0)
		close(m->client_fd);
	m->client_fd = -1;
}

/* All of buf to the log, capped and rotated; a failure is logged once (logfile.c). */
static void conmux_log(struct conmux *m, const uint8_t *buf, size_t n)
{
	(void)logfile_write(&m->log, buf, n);
}

static void conmux_to_client(struct conmux *m, const uint8_t *buf, size_t n)
{
	ssize_t w;

	if (m->client_fd < 0)
		return;
	w = send(m->client_fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		conmux_drop_client(m); /* gone */
		return;
	}
	if (w < (ssize_t)n)
		m->dropped += n - (size_t)(w < 0 ? 0 : w);
}

/* Copy at most budget bytes (rounded up to a read) from the pipe to the log and client. */
static void conmux_copy(struct conmux *m, size_t budget)
{
	uint8_t buf[4096];
	size_t total = 0;
	ssize_t r;

	if (m->pipe_rd < 0)
		return;
	while (total < budget && (r = read(m->pipe_rd, buf, sizeof(buf))) > 0) {
		conmux_log(m, buf, (size_t)r);
		conmux_to_client(m, buf, (size_t)r);
		total += (size_t)r;
	}
}

void conmux_drain(struct conmux *m)
{
	/* Bounded: a guest that prints without end gets the VMM thread back to its poll. */
	conmux_copy(m, CONMUX_DRAIN_BUDGET);
}

static void conmux_accept(struct conmux *m)
{
	static const char busy[] = "vmon: console busy: another client is attached\r\n";
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (m->client_fd >= 0) {
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("console: %s", strerror(errno));
		close(fd);
		return;
	}
	m->client_fd = fd;
	log_info("console client attached");
}

unsigned conmux_pollfds(const struct conmux *m, struct pollfd *p, int want_input)
{
	unsigned n = 0;

	p[n++] = (struct pollfd){ .fd = m->pipe_rd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	/*
	 * Not polled at all while the UART is full: its input (and a hang-up
	 * behind it) waits in the socket until there is room, so nothing a
	 * client sent before leaving is lost.
	 */
	if (m->client_fd >= 0 && want_input)
		p[n++] = (struct pollfd){ .fd = m->client_fd, .events = POLLIN };
	return n;
}

/* Read client input; a hang-up (after its last bytes) detaches it. */
static size_t conmux_client_input(struct conmux *m, uint8_t *in, size_t in_room)
{
	ssize_t r;

	if (!in_room)
		return 0;
	r = recv(m->client_fd, in, in_room, MSG_DONTWAIT);
	if (r > 0)
		return (size_t)r;
	if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		log_info("console client detached");
		conmux_drop_client(m);
	}
	return 0;
}

void conmux_handle(struct conmux *m, const struct pollfd *p, unsigned n, uint8_t *in,
		   size_t in_room, size_t *in_len)
{
	*in_len = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (p[i].fd == m->pipe_rd)
			conmux_drain(m);
		else if (p[i].fd == m->listen_fd)
			conmux_accept(m);
		else if (p[i].fd == m->client_fd)
			*in_len = conmux_client_input(m, in, in_room);
	}
}

void conmux_close(struct conmux *m)
{
	if (m->log.fd >= 0)
		conmux_copy(m, SIZE_MAX); /* the vCPUs are gone: the pipe holds its last bytes */
	conmux_drop_client(m);
	if (m->listen_fd >= 0) {
		close(m->listen_fd);
		unlink(m->sock_path);
	}
	if (m->uart_fd >= 0)
		close(m->uart_fd);
	if (m->pipe_rd >= 0)
		close(m->pipe_rd);
	logfile_close(&m->log);
	conmux_reset(m);
}
