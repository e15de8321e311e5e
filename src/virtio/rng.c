/*
 * rng.c: virtio-rng (see rng.h for what it owns and its threads).
 */
#include "rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../log.h"

#define VRNG_QUEUE_SIZE 64
#define VRNG_MAX_REQUEST 65536 /* bytes served per chain; the driver asks again for more */

static uint64_t vrng_features(void *dev)
{
	(void)dev;
	return 0; /* virtio 1.2 §5.4.3: no feature bits */
}

static int vrng_fill(struct vrng *r, struct virtq *q)
{
	uint8_t buf[256];
	uint32_t want = r->chain.in_len < VRNG_MAX_REQUEST ? r->chain.in_len : VRNG_MAX_REQUEST;
	uint32_t done = 0;

	while (done < want) {
		size_t n = want - done < sizeof(buf) ? want - done : sizeof(buf);
		ssize_t got = getrandom(buf, n, 0);

		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			log_limited(&r->logged, LOG_WARN,
				    "virtio-rng: getrandom: %s", strerror(errno));
			break;
		}
		if (virtq_chain_write(q, &r->chain, done, buf, (size_t)got) < 0)
			break;
		done += (uint32_t)got;
	}
	virtio_stat_add(&r->bytes, done);
	return (int)done;
}

static int vrng_queue_notify(void *dev, struct virtq *q, unsigned qi)
{
	struct vrng *r = dev;
	int n = 0, ret;

	(void)qi;
	while ((ret = virtq_pop(q, &r->chain)) > 0) {
		int written = vrng_fill(r, q);

		if (virtq_push(q, r->chain.head, (uint32_t)written) < 0)
			return -EINVAL;
		n++;
	}
	return ret < 0 ? ret : n;
}

static unsigned vrng_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct vrng *r = dev;

	return virtio_stat_put(out, 0, max, "bytes", virtio_stat_get(&r->bytes));
}

const struct virtio_dev_ops vrng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_size_max = VRNG_QUEUE_SIZE,
	.features = vrng_features,
	.config_read = virtio_config_none_read,
	.config_write = virtio_config_readonly_write,
	.queue_notify = vrng_queue_notify,
	.reset = virtio_reset_none,
	.driver_ok = virtio_driver_ok_none,
	.save = virtio_save_none, /* nothing beyond the queue: rng.h */
	.load = virtio_load_none,
	.stats = vrng_stats,
	.destroy = free,
};

void vrng_init(struct vrng *r)
{
	memset(r, 0, sizeof(*r));
}

int vrng_create(struct vrng **out)
{
	struct vrng *r = malloc(sizeof(*r));

	if (!r) {
		log_err("virtio-rng: out of memory");
		return -ENOMEM;
	}
	vrng_init(r);
	*out = r;
	return 0;
}
