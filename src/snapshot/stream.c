/*
 * snapshot/stream.c: the save/load byte stream (see stream.h). Fields are
 * little-endian whatever the host, so a state saved here loads anywhere.
 */
#include "snapshot/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void snap_out_init(struct snap_out *o)
{
	memset(o, 0, sizeof(*o));
}

void snap_out_free(struct snap_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

static uint8_t *snap_out_room(struct snap_out *o, size_t n)
{
	size_t want;

	if (o->err)
		return NULL;
	if (__builtin_add_overflow(o->len, n, &want)) {
		o->err = -ENOMEM;
		return NULL;
	}
	if (want > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		uint8_t *p;

		while (cap < want)
			cap *= 2;
		p = realloc(o->buf, cap);
		if (!p) {
			o->err = -ENOMEM;
			return NULL;
		}
		o->buf = p;
		o->cap = cap;
	}
	o->len = want;
	return o->buf + want - n;
}

static void snap_put_le(struct snap_out *o, uint64_t v, unsigned n)
{
	uint8_t *p = snap_out_room(o, n);

	for (unsigned i = 0; p && i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void snap_put_u8(struct snap_out *o, uint8_t v) { snap_put_le(o, v, 1); }
void snap_put_u16(struct snap_out *o, uint16_t v) { snap_put_le(o, v, 2); }
void snap_put_u32(struct snap_out *o, uint32_t v) { snap_put_le(o, v, 4); }
void snap_put_u64(struct snap_out *o, uint64_t v) { snap_put_le(o, v, 8); }

void snap_put_bytes(struct snap_out *o, const void *p, size_t n)
{
	uint8_t *d = n ? snap_out_room(o, n) : NULL;

	if (d)
		memcpy(d, p, n);
}

void snap_put_str(struct snap_out *o, const char *s)
{
	size_t n = strlen(s);

	if (n > UINT16_MAX) {
		if (!o->err)
			o->err = -E2BIG;
		return;
	}
	snap_put_u16(o, (uint16_t)n);
	snap_put_bytes(o, s, n);
}

int snap_out_error(const struct snap_out *o)
{
	return o->err;
}

void snap_in_init(struct snap_in *in, const void *p, size_t len)
{
	in->buf = p;
	in->len = p ? len : 0;
	in->pos = 0;
	in->err = 0;
}

/* The next n bytes, or NULL (error set) when fewer are left. */
static const uint8_t *snap_in_take(struct snap_in *in, size_t n)
{
	const uint8_t *p;

	if (in->err || n > in->len - in->pos) {
		in->err = -EINVAL;
		return NULL;
	}
	p = in->buf + in->pos;
	in->pos += n;
	return p;
}

static uint64_t snap_get_le(struct snap_in *in, unsigned n)
{
	const uint8_t *p = snap_in_take(in, n);
	uint64_t v = 0;

	for (unsigned i = 0; p && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t snap_get_u8(struct snap_in *in) { return (uint8_t)snap_get_le(in, 1); }
uint16_t snap_get_u16(struct snap_in *in) { return (uint16_t)snap_get_le(in, 2); }
uint32_t snap_get_u32(struct snap_in *in) { return (uint32_t)snap_get_le(in, 4); }
uint64_t snap_get_u64(struct snap_in *in) { return snap_get_le(in, 8); }

void snap_get_bytes(struct snap_in *in, void *dst, size_t n)
{
	const uint8_t *p = snap_in_take(in, n);

	if (p)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

void snap_get_str(struct snap_in *in, char *dst, size_t cap)
{
	uint16_t n = snap_get_u16(in);

	if (!cap)
		return;
	dst[0] = '\0';
	if (in->err)
		return;
	if ((size_t)n >= cap) {
		in->err = -EINVAL;
		return;
	}
	snap_get_bytes(in, dst, n);
	dst[in->err ? 0 : n] = '\0';
}

void snap_get_sub(struct snap_in *in, size_t n, struct snap_in *sub)
{
	const uint8_t *p = snap_in_take(in, n);

	snap_in_init(sub, p, p ? n : 0);
	if (!p)
		sub->err = -EINVAL;
}

int snap_in_fail(struct snap_in *in)
{
	in->err = -EINVAL;
	return -EINVAL;
}

size_t snap_in_left(const struct snap_in *in)
{
	return in->len - in->pos;
}

int snap_in_end(const struct snap_in *in)
{
	return in->err || in->pos != in->len ? -EINVAL : 0;
}

int snap_in_error(const struct snap_in *in)
{
	return in->err;
}
