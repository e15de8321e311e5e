/*
 * test_dev.c: unit tests for src/dev.c, the device list and its saved
 * sections, over mock devices whose state is one counter byte.
 * Covers: incomplete ops tables, bad names, duplicates and a full list
 * refused by devlist_add; reset and destroy reaching every device (destroy
 * last-added first); save -> load -> save identical; and hostile streams:
 * a device the VM lacks, a kind mismatch, a section given twice, a section
 * a device leaves unread or over-reads, trailing bytes, every truncation.
 * After a refused section the device is reset. Single-threaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "dev.h"
#include "test.h"

struct mock {
	uint8_t val;
	int resets;
	int *destroy_log; /* appends id here on destroy */
	int *destroy_n;
	int id;
	int read_extra;   /* load reads one byte more than save wrote */
};

static void mock_reset(void *d)
{
	struct mock *m = d;

	m->val = 0;
	m->resets++;
}

static int mock_save(void *d, struct snap_out *o)
{
	snap_put_u8(o, ((struct mock *)d)->val);
	return 0;
}

static int mock_load(void *d, struct snap_in *in)
{
	struct mock *m = d;
	uint8_t v = snap_get_u8(in);

	if (m->read_extra)
		snap_get_u8(in);
	if (snap_in_error(in))
		return -EINVAL;
	if (v > 200) /* a value out of this device's range */
		return snap_in_fail(in);
	m->val = v;
	return 0;
}

static unsigned mock_stats(void *d, struct dev_stat *out, unsigned max)
{
	if (max < 1)
		return 0;
	out[0] = (struct dev_stat){ "val", ((struct mock *)d)->val };
	return 1;
}

static void mock_destroy(void *d)
{
	struct mock *m = d;

	if (m->destroy_log)
		m->destroy_log[(*m->destroy_n)++] = m->id;
}

static const struct dev_ops mock_ops = {
	.kind = "mock", .read = dev_nop_read, .write = dev_nop_write, .reset = mock_reset,
	.save = mock_save, .load = mock_load, .stats = mock_stats, .destroy = mock_destroy,
};
static const struct dev_ops other_ops = {
	.kind = "other", .read = dev_nop_read, .write = dev_nop_write, .reset = mock_reset,
	.save = mock_save, .load = mock_load, .stats = mock_stats, .destroy = mock_destroy,
};
static const struct dev_ops no_load_ops = {
	.kind = "mock", .read = dev_nop_read, .write = dev_nop_write, .reset = mock_reset,
	.save = mock_save, .stats = mock_stats, .destroy = mock_destroy,
};

TEST(add_refusals)
{
	static struct devlist l; /* big: keep it off the stack */
	struct mock m = { 0 };
	char name[DEV_NAME_MAX + 1];

	devlist_init(&l);
	CHECK_EQ(devlist_add(&l, NULL, &m, "a"), -EINVAL);
	CHECK_EQ(devlist_add(&l, &no_load_ops, &m, "a"), -EINVAL);
	CHECK_EQ(devlist_add(&l, &mock_ops, &m, ""), -EINVAL);
	CHECK_EQ(devlist_add(&l, &mock_ops, &m, NULL), -EINVAL);
	memset(name, 'n', DEV_NAME_MAX);
	name[DEV_NAME_MAX] = '\0';
	CHECK_EQ(devlist_add(&l, &mock_ops, &m, name), -EINVAL); /* no room for the NUL */
	CHECK_EQ(devlist_add(&l, &mock_ops, &m, "a"), 0);
	CHECK_EQ(devlist_add(&l, &mock_ops, &m, "a"), -EEXIST);
	for (unsigned i = 1; i < DEVLIST_MAX; i++) {
		snprintf(name, sizeof(name), "d%u", i);
		CHECK_EQ(devlist_add(&l, &mock_ops, &m, name), 0);
	}
	CHECK_EQ(devlist_add(&l, &mock_ops, &m, "one-too-many"), -ENOSPC);
	CHECK_EQ(l.nr, DEVLIST_MAX);
	CHECK(devlist_find(&l, "d7") == &l.dev[7]);
	CHECK(devlist_find(&l, "nope") == NULL);
	CHECK(dev_ops_complete(&mock_ops));
	CHECK(!dev_ops_complete(&no_load_ops));
}

TEST(reset_and_destroy_order)
{
	static struct devlist l;
	int log[3], n = 0;
	struct mock m[3] = { { .val = 1, .destroy_log = log, .destroy_n = &n, .id = 0 },
			     { .val = 2, .destroy_log = log, .destroy_n = &n, .id = 1 },
			     { .val = 3, .destroy_log = log, .destroy_n = &n, .id = 2 } };

	devlist_init(&l);
	CHECK_EQ(devlist_add(&l, &mock_ops, &m[0], "a"), 0);
	CHECK_EQ(devlist_add(&l, &mock_ops, &m[1], "b"), 0);
	CHECK_EQ(devlist_add(&l, &other_ops, &m[2], "c"), 0);
	devlist_reset(&l);
	CHECK(m[0].val == 0 && m[1].val == 0 && m[2].val == 0);
	CHECK(m[0].resets == 1 && m[1].resets == 1 && m[2].resets == 1);
	devlist_destroy(&l);
	CHECK_EQ(n, 3);
	CHECK(log[0] == 2 && log[1] == 1 && log[2] == 0);
	CHECK_EQ(l.nr, 0);
}

/* Two lists of the same shape; the first's devices hold 10, 20, 30. */
static void two_lists(struct devlist *a, struct devlist *b, struct mock *ma, struct mock *mb)
{
	static const char *const names[3] = { "serial0", "virtio-blk0", "rtc" };

	devlist_init(a);
	devlist_init(b);
	for (int i = 0; i < 3; i++) {
		ma[i] = (struct mock){ .val = (uint8_t)(10 * (i + 1)) };
		mb[i] = (struct mock){ 0 };
		devlist_add(a, i == 2 ? &other_ops : &mock_ops, &ma[i], names[i]);
		devlist_add(b, i == 2 ? &other_ops : &mock_ops, &mb[i], names[i]);
	}
}

TEST(round_trip)
{
	static struct devlist a, b;
	struct mock ma[3], mb[3];
	struct snap_out o1, o2;
	struct snap_in in;

	two_lists(&a, &b, ma, mb);
	snap_out_init(&o1);
	snap_out_init(&o2);
	CHECK_EQ(devlist_save(&a, &o1), 0);
	snap_in_init(&in, o1.buf, o1.len);
	CHECK_EQ(devlist_load(&b, &in), 0);
	CHECK(mb[0].val == 10 && mb[1].val == 20 && mb[2].val == 30);
	CHECK_EQ(devlist_save(&b, &o2), 0);
	CHECK(o1.len == o2.len && !memcmp(o1.buf, o2.buf, o1.len));

	/* Every truncation is refused, never read past (exact-size copies for ASan). */
	for (size_t len = 0; len < o1.len; len++) {
		uint8_t *cut = malloc(len ? len : 1);

		memcpy(cut, o1.buf, len);
		snap_in_init(&in, cut, len);
		CHECK_EQ(devlist_load(&b, &in), -EINVAL);
		free(cut);
	}
	snap_out_free(&o1);
	snap_out_free(&o2);
}

/* Build a stream of (name, kind, payload byte) sections by hand. */
static void section(struct snap_out *o, const char *name, const char *kind, uint32_t len,
		    uint8_t val)
{
	snap_put_str(o, name);
	snap_put_str(o, kind);
	snap_put_u32(o, len);
	for (uint32_t i = 0; i < len; i++)
		snap_put_u8(o, val);
}

static int load_stream(struct devlist *l, const struct snap_out *o)
{
	struct snap_in in;

	snap_in_init(&in, o->buf, o->len);
	return devlist_load(l, &in);
}

TEST(hostile_streams)
{
	static struct devlist a, b;
	struct mock ma[3], mb[3];
	struct snap_out o;

	two_lists(&a, &b, ma, mb);
	/* A device this VM lacks. */
	snap_out_init(&o);
	section(&o, "serial0", "mock", 1, 1);
	section(&o, "virtio-net9", "mock", 1, 1);
	CHECK_EQ(load_stream(&b, &o), -EINVAL);
	snap_out_free(&o);
	/* A kind mismatch: rtc is an "other" here. */
	snap_out_init(&o);
	section(&o, "serial0", "mock", 1, 1);
	section(&o, "virtio-blk0", "mock", 1, 1);
	section(&o, "rtc", "mock", 1, 1);
	CHECK_EQ(load_stream(&b, &o), -EINVAL);
	snap_out_free(&o);
	/* The same device twice (and so one missing). */
	snap_out_init(&o);
	section(&o, "serial0", "mock", 1, 1);
	section(&o, "serial0", "mock", 1, 1);
	section(&o, "rtc", "other", 1, 1);
	CHECK_EQ(load_stream(&b, &o), -EINVAL);
	snap_out_free(&o);
	/* A section the device leaves half unread: refused, and the device reset. */
	mb[0].val = 99;
	snap_out_init(&o);
	section(&o, "serial0", "mock", 2, 5);
	CHECK_EQ(load_stream(&b, &o), -EINVAL);
	CHECK_EQ(mb[0].val, 0);
	CHECK(mb[0].resets >= 1);
	snap_out_free(&o);
	/* A device that reads past its section fails on its own bytes. */
	mb[0].read_extra = 1;
	snap_out_init(&o);
	section(&o, "serial0", "mock", 1, 5);
	section(&o, "virtio-blk0", "mock", 1, 6);
	section(&o, "rtc", "other", 1, 7);
	CHECK_EQ(load_stream(&b, &o), -EINVAL);
	mb[0].read_extra = 0;
	snap_out_free(&o);
	/* A value the device refuses. */
	snap_out_init(&o);
	section(&o, "serial0", "mock", 1, 250);
	CHECK_EQ(load_stream(&b, &o), -EINVAL);
	snap_out_free(&o);
	/* Bytes after the last device. */
	snap_out_init(&o);
	section(&o, "serial0", "mock", 1, 1);
	section(&o, "virtio-blk0", "mock", 1, 2);
	section(&o, "rtc", "other", 1, 3);
	CHECK_EQ(load_stream(&b, &o), 0);
	snap_put_u8(&o, 0);
	CHECK_EQ(load_stream(&b, &o), -EINVAL);
	snap_out_free(&o);
	/* A section length far past the end. */
	snap_out_init(&o);
	snap_put_str(&o, "serial0");
	snap_put_str(&o, "mock");
	snap_put_u32(&o, UINT32_MAX);
	CHECK_EQ(load_stream(&b, &o), -EINVAL);
	snap_out_free(&o);
	/* Names longer than any device's. */
	{
		char longname[200];

		memset(longname, 'x', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		snap_out_init(&o);
		section(&o, longname, "mock", 1, 1);
		CHECK_EQ(load_stream(&b, &o), -EINVAL);
		snap_out_free(&o);
	}
}

TEST(nop_stubs)
{
	uint8_t buf[4];
	struct dev_stat st[1];
	struct snap_out o;
	struct snap_in in;

	CHECK_EQ(dev_nop_read(NULL, 0, buf, sizeof(buf)), 0);
	CHECK(buf[0] == 0xff && buf[3] == 0xff);
	CHECK_EQ(dev_nop_write(NULL, 0, buf, sizeof(buf)), 0);
	snap_out_init(&o);
	CHECK_EQ(dev_nop_save(NULL, &o), 0);
	CHECK_EQ(o.len, 0);
	snap_in_init(&in, buf, 0);
	CHECK_EQ(dev_nop_load(NULL, &in), 0);
	snap_in_init(&in, buf, 1); /* a stateless device refuses state */
	CHECK_EQ(dev_nop_load(NULL, &in), -EINVAL);
	CHECK_EQ(dev_nop_stats(NULL, st, 1), 0);
}

TEST_MAIN(T(add_refusals), T(reset_and_destroy_order), T(round_trip), T(hostile_streams),
	  T(nop_stubs))
