/*
 * dev.c: the device list and its saved-state sections (see dev.h).
 *
 * Section layout, repeated for each device in list order:
 *   u16 length + name, u16 length + kind, u32 length of the state, state.
 * A device's load sees only its own section, so a device that reads too
 * much fails on its own bytes and never eats its neighbour's.
 */
#include "dev.h"

#include <errno.h>
#include <string.h>

#include "log.h"

#define DEV_SECTION_MAX (64u << 20) /* no device state comes near this */

int dev_nop_read(void *dev, uint64_t off, void *data, unsigned len)
{
	(void)dev, (void)off;
	memset(data, 0xff, len); /* an unclaimed read floats high on a PC bus */
	return 0;
}

int dev_nop_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)dev, (void)off, (void)data, (void)len;
	return 0;
}

void dev_nop_reset(void *dev)
{
	(void)dev;
}

int dev_nop_save(void *dev, struct snap_out *out)
{
	(void)dev, (void)out;
	return 0;
}

int dev_nop_load(void *dev, struct snap_in *in)
{
	(void)dev;
	return snap_in_end(in);
}

unsigned dev_nop_stats(void *dev, struct dev_stat *out, unsigned max)
{
	(void)dev, (void)out, (void)max;
	return 0;
}

void dev_nop_destroy(void *dev)
{
	(void)dev;
}

int dev_load_whole(struct snap_in *in, const char *kind)
{
	if (snap_in_error(in)) {
		log_warn("%s: saved state is truncated (%zu bytes)", kind, in->len);
		return -EINVAL;
	}
	if (snap_in_left(in)) {
		log_warn("%s: saved state has %zu trailing bytes", kind, snap_in_left(in));
		return snap_in_fail(in);
	}
	return 0;
}

int dev_ops_complete(const struct dev_ops *o)
{
	return o && o->kind && o->read && o->write && o->reset && o->save && o->load &&
	       o->stats && o->destroy;
}

void devlist_init(struct devlist *l)
{
	memset(l, 0, sizeof(*l));
}

struct dev *devlist_find(struct devlist *l, const char *name)
{
	for (unsigned i = 0; i < l->nr; i++)
		if (!strcmp(l->dev[i].name, name))
			return &l->dev[i];
	return NULL;
}

int devlist_add(struct devlist *l, const struct dev_ops *ops, void *state, const char *name)
{
	struct dev *d;

	if (!dev_ops_complete(ops) || !name || !*name || strlen(name) >= DEV_NAME_MAX)
		return -EINVAL;
	if (devlist_find(l, name))
		return -EEXIST;
	if (l->nr == DEVLIST_MAX)
		return -ENOSPC;
	d = &l->dev[l->nr++];
	d->ops = ops;
	d->state = state;
	strcpy(d->name, name);
	return 0;
}

void devlist_reset(struct devlist *l)
{
	for (unsigned i = 0; i < l->nr; i++)
		l->dev[i].ops->reset(l->dev[i].state);
}

int devlist_save(struct devlist *l, struct snap_out *out)
{
	for (unsigned i = 0; i < l->nr; i++) {
		struct dev *d = &l->dev[i];
		struct snap_out one;
		int ret;

		snap_out_init(&one);
		ret = d->ops->save(d->state, &one);
		if (!ret)
			ret = snap_out_error(&one);
		if (!ret && one.len > DEV_SECTION_MAX)
			ret = -E2BIG;
		if (ret) {
			log_err("%s: cannot save its state: %s", d->name, strerror(-ret));
			snap_out_free(&one);
			return ret;
		}
		snap_put_str(out, d->name);
		snap_put_str(out, d->ops->kind);
		snap_put_u32(out, (uint32_t)one.len);
		snap_put_bytes(out, one.buf, one.len);
		snap_out_free(&one);
	}
	return snap_out_error(out);
}

/* Check a section's header against the list; returns the device or NULL (logged). */
static struct dev *devlist_section(struct devlist *l, struct snap_in *in, const uint8_t *seen)
{
	char name[DEV_NAME_MAX], kind[64];
	struct dev *d;

	snap_get_str(in, name, sizeof(name));
	snap_get_str(in, kind, sizeof(kind));
	if (snap_in_error(in)) {
		log_err("saved device state: truncated or malformed section header");
		return NULL;
	}
	d = devlist_find(l, name);
	if (!d) {
		log_err("saved device state names '%s', which this VM does not have", name);
		return NULL;
	}
	if (strcmp(d->ops->kind, kind)) {
		log_err("saved device state: %s is a %s here, the state is for a %s", name,
			d->ops->kind, kind);
		return NULL;
	}
	if (seen[d - l->dev]) {
		log_err("saved device state: %s appears twice", name);
		return NULL;
	}
	return d;
}

int devlist_load(struct devlist *l, struct snap_in *in)
{
	uint8_t seen[DEVLIST_MAX] = { 0 };

	for (unsigned n = 0; n < l->nr; n++) {
		struct dev *d = devlist_section(l, in, seen);
		struct snap_in sub;
		uint32_t len;
		int ret;

		if (!d)
			return snap_in_fail(in);
		len = snap_get_u32(in);
		snap_get_sub(in, len, &sub);
		if (snap_in_error(in)) {
			log_err("saved device state: %s: section of %u bytes is truncated", d->name, len);
			return -EINVAL;
		}
		seen[d - l->dev] = 1;
		ret = d->ops->load(d->state, &sub);
		if (!ret)
			ret = snap_in_end(&sub);
		if (ret) {
			log_err("saved device state: %s (%s) refused its section of %u bytes", d->name,
				d->ops->kind, len);
			d->ops->reset(d->state);
			return ret;
		}
	}
	if (snap_in_left(in)) {
		log_err("saved device state: %zu bytes after the last device", snap_in_left(in));
		return snap_in_fail(in);
	}
	return 0;
}

void devlist_destroy(struct devlist *l)
{
	while (l->nr) {
		struct dev *d = &l->dev[--l->nr];

		d->ops->destroy(d->state);
		memset(d, 0, sizeof(*d));
	}
}
