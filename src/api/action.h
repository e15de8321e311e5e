/*
 * action.h: what the API thread asks of the VMM thread, as Firecracker's
 * VmmAction: every API op becomes one struct vm_action (a kind and its
 * payload), posted on a queue whose eventfd wakes the VMM thread; the VMM
 * thread runs it and writes the reply (0 or -errno, and a message) into the
 * action itself; the poster blocks until then. So the API thread only
 * parses and posts, and never touches the VM, its devices or its config.
 *
 * Owns: the queue (mutex, condition variable, eventfd) and its closing:
 * once closed, queued and later actions are answered at once with the
 * close's error, so nobody waits on a VMM thread that stopped listening.
 * Does not own what an action does (src/api/vmm.c runs them).
 *
 * Threads: any thread but the runner posts (action_post blocks: posting
 * from the runner's own thread would wait forever); one thread, the VMM
 * thread, runs (action_run_pending); close from any thread. The payload
 * points into the poster's frame: valid until the reply, because the
 * poster waits for it.
 */
#ifndef VMON_API_ACTION_H
#define VMON_API_ACTION_H

#include <pthread.h>

#include "api/api.h"

struct json_object;

enum vm_action_kind {
	VM_ACTION_GET_STATE,    /* reply: state */
	VM_ACTION_GET_MACHINE,  /* reply: *arg.machine filled */
	VM_ACTION_SET_BOOT,     /* arg.boot */
	VM_ACTION_SET_MACHINE,  /* arg.machine */
	VM_ACTION_SET_DRIVE,    /* arg.drive */
	VM_ACTION_SET_NET,      /* arg.net */
	VM_ACTION_START,        /* InstanceStart: create the VM (on the VMM thread) */
	VM_ACTION_CTRL_ALT_DEL,
	VM_ACTION_PAUSE,
	VM_ACTION_RESUME,
	VM_ACTION_GET_CONFIG,   /* reply: arg.obj (an empty object) filled */
	VM_ACTION_GET_STATS,    /* reply: arg.obj filled */
	VM_ACTION_SNAP_CREATE,  /* arg.snap_create: the VM paused */
	VM_ACTION_SNAP_LOAD,    /* arg.snap_load: build the VM from a snapshot (as START) */
	VM_ACTION_MIGRATE,      /* arg.migrate: send the VM away; reply in arg.migrate.reply */
	VM_ACTION_KINDS
};

struct vm_action_migrate {
	const struct api_migrate *m;
	struct json_object *reply;
};

struct vm_action {
	enum vm_action_kind kind;
	union {
		const struct api_boot *boot;
		struct api_machine *machine;
		const struct api_drive *drive;
		const struct api_net *net;
		struct json_object *obj;
		const struct api_snapshot_create *snap_create;
		const struct api_snapshot_load *snap_load;
		const struct vm_action_migrate *migrate;
	} arg;

	/* The reply, written by the runner (or by the queue when refused). */
	int ret;                /* 0 or -errno */
	char err[API_ERR_MAX];  /* one line when ret != 0 ("" otherwise) */
	enum api_state state;   /* VM_ACTION_GET_STATE */

	/* The queue's own. */
	struct vm_action *next;
	int done;
};

struct action_queue {
	pthread_mutex_t lock;
	pthread_cond_t answered;      /* broadcast when any action gets its reply */
	struct vm_action *head, *tail; /* under lock */
	int closed;                   /* under lock */
	int closed_ret;               /* what refused actions get */
	char closed_msg[API_ERR_MAX];
	int efd;                      /* eventfd: readable while actions may be queued */
};

/* 0 or -errno. */
int action_queue_init(struct action_queue *q);
/* Free it; closed, and no poster left inside action_post. */
void action_queue_destroy(struct action_queue *q);
/* The fd to poll (POLLIN) on the VMM thread; nonblocking. */
int action_queue_fd(const struct action_queue *q);

/*
 * Post a (kind and arg set) and wait for its reply; returns a->ret. On a
 * closed queue: at once, with the close's ret and message.
 */
int action_post(struct action_queue *q, struct vm_action *a);

/*
 * The runner, when the fd is readable: run queued actions in order, each
 * with run(ctx, a), which fills a's reply; the poster is then woken. run
 * returns nonzero to stop after that action: the rest stay queued and the
 * fd stays readable (InstanceStart, after which actions belong to the VM's
 * own loop). Returns how many ran; never blocks.
 */
unsigned action_run_pending(struct action_queue *q, int (*run)(void *ctx, struct vm_action *a),
			    void *ctx);

/*
 * Close: every queued action and every later one is answered with ret
 * (a negative errno) and msg. Idempotent (the first close's reply stays).
 */
void action_queue_close(struct action_queue *q, int ret, const char *msg);

#endif
