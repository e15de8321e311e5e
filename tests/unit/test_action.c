/*
 * test_action.c: unit tests for src/api/action.c, the API-to-VMM action
 * queue: a runner thread answering posts from several threads (each reply
 * its own, in its own action, in FIFO order per poster), a nonblocking run
 * with nothing queued, stopping after one action (the rest stay queued and
 * the fd readable), closing (queued actions refused with the close's reply,
 * later posts refused at once, the first close's reply kept). Threaded:
 * also meant for TSan.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/action.h"
#include "test.h"

#define POSTERS 4
#define PER_POSTER 200

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* The runner's side: the reply says which action it was. */
struct runner {
	struct action_queue *q;
	int stop_after;         /* run() returns 1 for this kind */
	unsigned ran;
	int quit;               /* under q->lock: the runner thread should leave */
};

static int run_one(void *ctx, struct vm_action *a)
{
	struct runner *r = ctx;

	r->ran++;
	a->ret = -(int)a->kind - 1;
	/* arg.machine carries the poster's tag in and out. */
	if (a->arg.machine)
		a->arg.machine->mem_size_mib = a->arg.machine->vcpu_count * 3u;
	snprintf(a->err, sizeof(a->err), "ran kind %d", (int)a->kind);
	return (int)a->kind == r->stop_after;
}

static void *runner_thread(void *arg)
{
	struct runner *r = arg;

	for (;;) {
		int quit;

		if (readable(action_queue_fd(r->q), 20))
			action_run_pending(r->q, run_one, r);
		pthread_mutex_lock(&r->q->lock);
		quit = r->quit;
		pthread_mutex_unlock(&r->q->lock);
		if (quit)
			return NULL;
	}
}

struct poster {
	struct action_queue *q;
	unsigned id;
	int bad;      /* replies that did not match */
	int ret;      /* the last reply */
	char err[API_ERR_MAX];
};

static void *poster_thread(void *arg)
{
	struct poster *p = arg;

	for (unsigned i = 0; i < PER_POSTER; i++) {
		struct api_machine m = { .vcpu_count = p->id * 1000 + i };
		struct vm_action a = { .kind = (enum vm_action_kind)((p->id + i) % VM_ACTION_KINDS),
				       .arg.machine = &m };
		char want[64];
		int ret = action_post(p->q, &a);

		snprintf(want, sizeof(want), "ran kind %d", (int)a.kind);
		if (ret != -(int)a.kind - 1 || ret != a.ret || strcmp(a.err, want) ||
		    m.mem_size_mib != m.vcpu_count * 3u)
			p->bad++;
	}
	return NULL;
}

TEST(post_reply_across_threads)
{
	struct action_queue q;
	struct runner r = { .q = &q, .stop_after = -1 };
	struct poster p[POSTERS];
	pthread_t rt, pt[POSTERS];

	CHECK_EQ(action_queue_init(&q), 0);
	CHECK_EQ(pthread_create(&rt, NULL, runner_thread, &r), 0);
	for (unsigned i = 0; i < POSTERS; i++) {
		p[i] = (struct poster){ .q = &q, .id = i };
		CHECK_EQ(pthread_create(&pt[i], NULL, poster_thread, &p[i]), 0);
	}
	for (unsigned i = 0; i < POSTERS; i++) {
		pthread_join(pt[i], NULL);
		CHECK_EQ(p[i].bad, 0);
	}
	pthread_mutex_lock(&q.lock);
	r.quit = 1;
	pthread_mutex_unlock(&q.lock);
	pthread_join(rt, NULL);
	CHECK_EQ(r.ran, POSTERS * PER_POSTER);
	action_queue_close(&q, -ESRCH, "the VM is stopping");
	action_queue_destroy(&q);
}

TEST(run_with_nothing_queued)
{
	struct action_queue q;
	struct runner r = { .q = &q, .stop_after = -1 };

	CHECK_EQ(action_queue_init(&q), 0);
	CHECK(!readable(action_queue_fd(&q), 0));
	CHECK_EQ(action_run_pending(&q, run_one, &r), 0); /* never blocks */
	CHECK_EQ(r.ran, 0);
	action_queue_close(&q, -ESRCH, "x");
	action_queue_destroy(&q);
}

static void *post_once(void *arg)
{
	struct poster *p = arg;
	struct vm_action a = { .kind = (enum vm_action_kind)p->id };

	p->ret = action_post(p->q, &a);
	snprintf(p->err, sizeof(p->err), "%s", a.err);
	return NULL;
}

/* Wait until n actions sit in q (the posters are inside action_post). */
static int wait_queued(struct action_queue *q, unsigned n)
{
	for (int tries = 0; tries < 2000; tries++) {
		unsigned k = 0;

		pthread_mutex_lock(&q->lock);
		for (struct vm_action *a = q->head; a; a = a->next)
			k++;
		pthread_mutex_unlock(&q->lock);
		if (k == n)
			return 1;
		usleep(1000);
	}
	return 0;
}

TEST(stop_after_one)
{
	struct action_queue q;
	struct runner r = { .q = &q, .stop_after = VM_ACTION_START };
	struct poster a = { .q = &q, .id = VM_ACTION_START }, b = { .q = &q, .id = VM_ACTION_PAUSE };
	pthread_t ta, tb;

	CHECK_EQ(action_queue_init(&q), 0);
	CHECK_EQ(pthread_create(&ta, NULL, post_once, &a), 0);
	CHECK(wait_queued(&q, 1));
	CHECK_EQ(pthread_create(&tb, NULL, post_once, &b), 0);
	CHECK(wait_queued(&q, 2));
	CHECK(readable(action_queue_fd(&q), 1000));
	/* START first (FIFO), then stop: PAUSE waits, and the fd says so. */
	CHECK_EQ(action_run_pending(&q, run_one, &r), 1);
	pthread_join(ta, NULL);
	CHECK_EQ(a.ret, -VM_ACTION_START - 1);
	CHECK(readable(action_queue_fd(&q), 0));
	CHECK(wait_queued(&q, 1));
	CHECK_EQ(action_run_pending(&q, run_one, &r), 1);
	pthread_join(tb, NULL);
	CHECK_EQ(b.ret, -VM_ACTION_PAUSE - 1);
	CHECK(!strcmp(b.err, "ran kind 8") && VM_ACTION_PAUSE == 8);
	CHECK(!readable(action_queue_fd(&q), 0));
	action_queue_close(&q, -ESRCH, "x");
	action_queue_destroy(&q);
}

TEST(close_refuses_queued_and_later)
{
	struct action_queue q;
	struct poster p[3];
	pthread_t t[3];
	struct vm_action late = { .kind = VM_ACTION_GET_STATS };

	CHECK_EQ(action_queue_init(&q), 0);
	for (unsigned i = 0; i < 3; i++) {
		p[i] = (struct poster){ .q = &q, .id = VM_ACTION_PAUSE };
		CHECK_EQ(pthread_create(&t[i], NULL, post_once, &p[i]), 0);
	}
	CHECK(wait_queued(&q, 3));
	/* Nobody runs them: closing must answer them, or the posters hang here. */
	action_queue_close(&q, -ESRCH, "the VM is stopping");
	for (unsigned i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(p[i].ret, -ESRCH);
		CHECK(!strcmp(p[i].err, "the VM is stopping"));
	}
	CHECK_EQ(action_post(&q, &late), -ESRCH);
	CHECK(!strcmp(late.err, "the VM is stopping"));
	/* A second close keeps the first reply. */
	action_queue_close(&q, -EIO, "other");
	CHECK_EQ(action_post(&q, &late), -ESRCH);
	CHECK(!strcmp(late.err, "the VM is stopping"));
	action_queue_destroy(&q);
}

TEST_MAIN(T(post_reply_across_threads), T(run_with_nothing_queued), T(stop_after_one),
	  T(close_refuses_queued_and_later))
