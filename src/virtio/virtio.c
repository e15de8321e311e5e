/*
 * virtio.c: stubs and helpers shared by virtio devices (see virtio.h).
 * Owns no state. Threads: whatever thread calls the op it stands in for.
 */
#include "virtio.h"

#include <errno.h>
#include <string.h>

int virtio_dev_ops_complete(const struct virtio_dev_ops *o)
{
	return o && o->name && o->features && o->config_read && o->config_write &&
	       o->queue_notify && o->reset && o->driver_ok && o->save && o->load && o->stats &&
	       o->destroy && o->nr_queues >= 1 && o->nr_queues <= VIRTIO_MAX_QUEUES &&
	       o->queue_size_max >= 1 && o->queue_size_max <= VIRTQ_MAX_SIZE &&
	       !(o->queue_size_max & (o->queue_size_max - 1));
}

int virtio_config_none_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
	return 0;
}

int virtio_config_readonly_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)dev;
	(void)off;
	(void)data;
	(void)len;
	return 0; /* virtio 1.2 §4.2.2.2: writes to read-only fields are ignored */
}

void virtio_reset_none(void *dev)
{
	(void)dev;
}

void virtio_driver_ok_none(void *dev, uint64_t features)
{
	(void)dev;
	(void)features;
}

int virtio_save_none(void *dev, struct snap_out *out)
{
	(void)dev;
	(void)out;
	return 0;
}

int virtio_load_none(void *dev, struct snap_in *in)
{
	(void)dev;
	return snap_in_end(in);
}

unsigned virtio_stats_none(void *dev, struct dev_stat *out, unsigned max)
{
	(void)dev;
	(void)out;
	(void)max;
	return 0;
}

unsigned virtio_stat_put(struct dev_stat *out, unsigned n, unsigned max, const char *key,
			 uint64_t value)
{
	if (n >= max)
		return n;
	out[n].key = key;
	out[n].value = value;
	return n + 1;
}

int virtio_config_copy(const void *cfg, size_t cfg_len, uint64_t off, void *data, unsigned len)
{
	memset(data, 0, len);
	if (off >= cfg_len)
		return 0; /* beyond the structure: reads as zero */
	if (len > cfg_len - off)
		len = (unsigned)(cfg_len - off);
	memcpy(data, (const uint8_t *)cfg + off, len);
	return 0;
}
