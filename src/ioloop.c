/*
 * ioloop.c: the I/O thread's epoll loop (see ioloop.h).
 */
#include "ioloop.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "sandbox/seccomp.h"

#define IOLOOP_BATCH 16

int ioloop_init(struct ioloop *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stop_efd < 0) {
		int err = errno;

		ioloop_destroy(l);
		return -err;
	}
	/* data.ptr == NULL marks the stop eventfd. */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_efd, &ev) < 0) {
		int err = errno;

		ioloop_destroy(l);
		return -err;
	}
	return 0;
}

int ioloop_add(struct ioloop *l, struct ioloop_handler *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0) {
		log_err("ioloop: cannot watch fd %d: %s", h->fd, strerror(errno));
		return -errno;
	}
	l->nr_handlers++;
	return 0;
}

int ioloop_remove(struct ioloop *l, struct ioloop_handler *h)
{
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL) < 0) {
		log_err("ioloop: cannot unwatch fd %d: %s", h->fd, strerror(errno));
		return -errno;
	}
	l->nr_handlers--;
	return 0;
}

static void *ioloop_thread(void *arg)
{
	struct ioloop *l = arg;
	struct epoll_event ev[IOLOOP_BATCH];

	if (seccomp_role_enter(SECCOMP_ROLE_IO)) /* before any queue work; logged */
		return NULL;
	for (;;) {
		int n = epoll_wait(l->epfd, ev, IOLOOP_BATCH, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("ioloop: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		/*
		 * At most IOLOOP_BATCH handlers per wakeup, and a stop is seen
		 * between any two of them: one that takes long (a guest's full
		 * queue) delays the stop by itself only, never by the batch.
		 */
		for (int i = 0; i < n; i++) {
			struct ioloop_handler *h = ev[i].data.ptr;

			if (!h || atomic_load(&l->stopping))
				return NULL; /* stop requested */
			h->fn(h->ctx);
		}
	}
}

int ioloop_start(struct ioloop *l)
{
	sigset_t all, old;
	int ret;

	atomic_store(&l->stopping, 0);
	/* Signals belong to the main thread (and kicks to vCPUs): block them here. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&l->thread, NULL, ioloop_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		log_err("ioloop: cannot start the I/O thread: %s", strerror(ret));
		return -ret;
	}
	l->started = 1;
	return 0;
}

void ioloop_stop(struct ioloop *l)
{
	uint64_t one = 1;

	if (!l->started)
		return;
	atomic_store(&l->stopping, 1);
	if (write(l->stop_efd, &one, sizeof(one)) < 0)
		log_err("ioloop: cannot signal stop: %s", strerror(errno));
	pthread_join(l->thread, NULL);
	l->started = 0;
}

void ioloop_destroy(struct ioloop *l)
{
	ioloop_stop(l);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stop_efd >= 0)
		close(l->stop_efd);
	l->epfd = l->stop_efd = -1;
}
