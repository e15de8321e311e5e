/*
 * snapshot/migrate.c: the migration stream's addresses and socket I/O
 * (see migrate.h). Uses socket/connect/ppoll/sendto/recvfrom only, which the
 * main thread's seccomp role allows (sandbox/seccomp.c).
 * Threads: the caller's (the VMM thread).
 */
#include "snapshot/migrate.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

uint64_t mig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int mig_parse_addr(const char *addr, char *path, size_t cap, char *err, size_t errlen)
{
	size_t n;

	if (!strncmp(addr, "tcp:", 4)) {
		snprintf(err, errlen, "'%s': tcp migration is not supported (use unix:PATH)", addr);
		return -EPROTONOSUPPORT;
	}
	if (strncmp(addr, "unix:", 5)) {
		snprintf(err, errlen, "'%s': the address must be unix:PATH", addr);
		return -EINVAL;
	}
	n = strlen(addr + 5);
	if (!n || n >= MIG_PATH_MAX || n >= cap) {
		snprintf(err, errlen, "'%s': the socket path must be 1..%d bytes", addr,
			 MIG_PATH_MAX - 1);
		return -EINVAL;
	}
	memcpy(path, addr + 5, n + 1);
	return 0;
}

static int mig_sockaddr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int mig_listen(const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, ret = mig_sockaddr(path, &sa);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177); /* 0600: only this user may connect and feed us a VM */
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret || listen(fd, 1)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int mig_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, ret = mig_sockaddr(path, &sa);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Wait for events on fd until the deadline: 0, -ETIMEDOUT, -EPIPE on hangup/error. */
static int mig_wait(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = mig_now_ns();
		struct pollfd p = { .fd = fd, .events = events };
		struct timespec ts;
		int r;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000ull);
		ts.tv_nsec = (long)((deadline_ns - now) % 1000000000ull);
		r = ppoll(&p, 1, &ts, NULL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		if (p.revents & events)
			return 0;
		return -EPIPE; /* POLLHUP / POLLERR without the wanted event */
	}
}

int mig_send(int fd, const void *buf, size_t len, uint64_t deadline_ns)
{
	const uint8_t *p = buf;

	while (len) {
		int ret = mig_wait(fd, POLLOUT, deadline_ns);
		ssize_t n;

		if (ret)
			return ret;
		n = sendto(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mig_recv(int fd, void *buf, size_t len, uint64_t deadline_ns)
{
	uint8_t *p = buf;

	while (len) {
		int ret = mig_wait(fd, POLLIN, deadline_ns);
		ssize_t n;

		if (ret == -EPIPE)
			ret = 0; /* a hangup may still leave bytes to read */
		if (ret)
			return ret;
		n = recvfrom(fd, p, len, MSG_DONTWAIT, NULL, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE; /* the peer closed mid-stream */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
