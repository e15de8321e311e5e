/*
 * action.c: the API-to-VMM action queue (see action.h).
 *
 * A singly linked FIFO of the posters' own struct vm_action (no
 * allocation), one mutex for the list and the done flags, one condition
 * variable all posters wait on (few posters: the HTTP server has one
 * thread), and an eventfd the VMM thread polls. The eventfd is a hint,
 * not a count: the runner clears it, then drains the list, so a post that
 * races with the drain is either taken by it or leaves the fd readable
 * for the next round; it never gets lost.
 */
#include "api/action.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

int action_queue_init(struct action_queue *q)
{
	int ret;

	memset(q, 0, sizeof(*q));
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0)
		return -errno;
	ret = pthread_mutex_init(&q->lock, NULL);
	if (ret) {
		close(q->efd);
		return -ret;
	}
	ret = pthread_cond_init(&q->answered, NULL);
	if (ret) {
		pthread_mutex_destroy(&q->lock);
		close(q->efd);
		return -ret;
	}
	return 0;
}

void action_queue_destroy(struct action_queue *q)
{
	pthread_cond_destroy(&q->answered);
	pthread_mutex_destroy(&q->lock);
	close(q->efd);
	q->efd = -1;
}

int action_queue_fd(const struct action_queue *q)
{
	return q->efd;
}

static void action_kick(struct action_queue *q)
{
	uint64_t one = 1;

	/* Fails only when the counter is at its maximum: then it is readable anyway. */
	if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("cannot wake the VMM thread: %s", strerror(errno));
}

/* Lock held: the reply is in a; wake its poster. */
static void action_answer_locked(struct action_queue *q, struct vm_action *a)
{
	a->err[sizeof(a->err) - 1] = '\0';
	a->done = 1;
	pthread_cond_broadcast(&q->answered);
}

int action_post(struct action_queue *q, struct vm_action *a)
{
	a->next = NULL;
	a->done = 0;
	a->ret = 0;
	a->err[0] = '\0';
	pthread_mutex_lock(&q->lock);
	if (q->closed) {
		a->ret = q->closed_ret;
		snprintf(a->err, sizeof(a->err), "%s", q->closed_msg);
		pthread_mutex_unlock(&q->lock);
		return a->ret;
	}
	if (q->tail)
		q->tail->next = a;
	else
		q->head = a;
	q->tail = a;
	pthread_mutex_unlock(&q->lock);
	action_kick(q);

	pthread_mutex_lock(&q->lock);
	while (!a->done)
		pthread_cond_wait(&q->answered, &q->lock);
	pthread_mutex_unlock(&q->lock);
	return a->ret;
}

static struct vm_action *action_take(struct action_queue *q)
{
	struct vm_action *a;

	pthread_mutex_lock(&q->lock);
	a = q->head;
	if (a) {
		q->head = a->next;
		if (!q->head)
			q->tail = NULL;
		a->next = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	return a;
}

unsigned action_run_pending(struct action_queue *q, int (*run)(void *ctx, struct vm_action *a),
			    void *ctx)
{
	unsigned n = 0;
	uint64_t cnt;

	/* Clear the hint first (EAGAIN: it was clear); what is queued now gets drained below. */
	if (read(q->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_err("action queue: %s", strerror(errno));
	for (;;) {
		struct vm_action *a = action_take(q);
		int stop, more;

		if (!a)
			break;
		a->ret = 0;
		a->err[0] = '\0';
		stop = run(ctx, a);
		pthread_mutex_lock(&q->lock);
		action_answer_locked(q, a); /* a belongs to its poster from here */
		more = q->head != NULL;
		pthread_mutex_unlock(&q->lock);
		n++;
		if (stop) {
			if (more)
				action_kick(q);
			break;
		}
	}
	return n;
}

void action_queue_close(struct action_queue *q, int ret, const char *msg)
{
	struct vm_action *a;

	pthread_mutex_lock(&q->lock);
	if (!q->closed) {
		q->closed = 1;
		q->closed_ret = ret;
		snprintf(q->closed_msg, sizeof(q->closed_msg), "%s", msg ? msg : "");
	}
	while ((a = q->head)) {
		q->head = a->next;
		a->next = NULL;
		a->ret = q->closed_ret;
		snprintf(a->err, sizeof(a->err), "%s", q->closed_msg);
		action_answer_locked(q, a);
	}
	q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
}
