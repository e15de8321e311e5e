/*
 * ioloop.h: a VM's I/O thread: an epoll loop that runs device work when a
 * file descriptor (a KVM ioeventfd, a TAP fd, ...) becomes readable, so
 * queue processing never runs on a vCPU thread.
 *
 * Owns: the epoll set, the thread and its stop eventfd. Does not own the
 * handlers: each is embedded in its device and must outlive the loop's run.
 * Threads: handlers are added before ioloop_start (or from the loop thread
 * itself); the callbacks run on the loop thread only.
 */
#ifndef VMON_IOLOOP_H
#define VMON_IOLOOP_H

#include <pthread.h>
#include <stdatomic.h>

struct ioloop_handler {
	int fd;
	void (*fn)(void *ctx); /* called when fd is readable; must drain it */
	void *ctx;
};

struct ioloop {
	int epfd;
	int stop_efd;
	pthread_t thread;
	int started;
	atomic_int stopping;  /* set by ioloop_stop: checked between handlers */
	unsigned nr_handlers;
};

int ioloop_init(struct ioloop *l);
/* Watch h->fd; h must stay valid until ioloop_destroy. 0 or -errno. */
int ioloop_add(struct ioloop *l, struct ioloop_handler *h);
/*
 * Stop watching h->fd (the handler may be added again later). Any thread;
 * a device pauses its fd this way while it cannot take more input.
 */
int ioloop_remove(struct ioloop *l, struct ioloop_handler *h);
int ioloop_start(struct ioloop *l);
/* Stop and join the thread (idempotent). */
void ioloop_stop(struct ioloop *l);
void ioloop_destroy(struct ioloop *l);

#endif
