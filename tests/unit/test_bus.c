/*
 * test_bus.c: unit tests for src/bus.c, address-range dispatch.
 *
 * Covers bus_map (overlap refused in every shape, adjacency accepted, zero
 * length, wrapping ranges, incomplete ops, a full table), the sorted table
 * whatever the map order, bus_find (exact containment, straddling, the top
 * of the address space) and bus_access (offsets handed to handlers, the
 * returned index, device errors passed up, -ENOENT when unclaimed), plus
 * the shared dev_nop_* stubs, and bus_unmap (a moving BAR). The fake device
 * records every call.
 * Single-threaded.
 */
#include <errno.h>
#include <stdint.h>

#include "bus.h"
#include "test.h"

struct rec_dev {
	int id;
	unsigned reads, writes;
	uint64_t last_off;
	unsigned last_len;
	uint8_t last_data[8];
	int fail; /* return this from handlers when nonzero */
};

static int rec_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct rec_dev *d = dev;

	d->reads++;
	d->last_off = off;
	d->last_len = len;
	if (d->fail)
		return d->fail;
	/* Fill with the device id so the caller sees who answered. */
	memset(data, d->id, len);
	return 0;
}

static int rec_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct rec_dev *d = dev;

	d->writes++;
	d->last_off = off;
	d->last_len = len;
	memcpy(d->last_data, data, len < sizeof(d->last_data) ? len : sizeof(d->last_data));
	return d->fail;
}

static const struct dev_ops rec_ops = {
	.kind = "recorder",
	.read = rec_read,
	.write = rec_write,
};

static const struct dev_ops no_read_ops = { .kind = "broken", .write = rec_write };
static const struct dev_ops no_write_ops = { .kind = "broken", .read = rec_read };

static int sorted(const struct bus *b)
{
	for (unsigned i = 1; i < b->nr; i++)
		if (b->range[i - 1].base + b->range[i - 1].len > b->range[i].base)
			return 0;
	return 1;
}

TEST(init)
{
	struct bus b;
	uint8_t v = 0;

	memset(&b, 0xff, sizeof(b));
	bus_init(&b, "pio");
	CHECK_EQ(b.nr, 0);
	CHECK(strcmp(b.name, "pio") == 0);
	CHECK_EQ(bus_find(&b, 0, 1), -1);
	CHECK_EQ(bus_access(&b, 0x3f8, &v, 1, 0), -ENOENT);
	CHECK_EQ(bus_access(&b, 0x3f8, &v, 1, 1), -ENOENT);
}

TEST(map_overlap_refused)
{
	/* Existing range [0x100, 0x110). */
	static const struct {
		const char *name;
		uint64_t base, len;
		int want;
	} cases[] = {
		{ "same", 0x100, 0x10, -EEXIST },
		{ "inside", 0x104, 0x4, -EEXIST },
		{ "first byte", 0x100, 1, -EEXIST },
		{ "last byte", 0x10f, 1, -EEXIST },
		{ "covering", 0xf0, 0x40, -EEXIST },
		{ "covering to top", 0, UINT64_MAX, -EEXIST },
		{ "left edge", 0xf8, 0x9, -EEXIST },
		{ "right edge", 0x10f, 0x10, -EEXIST },
		{ "adjacent left", 0xf0, 0x10, 0 },
		{ "adjacent right", 0x110, 0x10, 0 },
		{ "far", 0x1000, 0x10, 0 },
		{ "zero length", 0x200, 0, -EINVAL },
		{ "zero length inside", 0x104, 0, -EINVAL },
		{ "zero length at 0", 0, 0, -EINVAL }, /* len - 1 must not become 2^64 - 1 */
		{ "wraps", UINT64_MAX, 2, -EINVAL },
		{ "wraps far", 0x8000000000000000ULL, 0x8000000000000001ULL, -EINVAL },
		{ "ends at last address", UINT64_MAX - 0xf, 0x10, 0 },
		{ "last address alone", UINT64_MAX, 1, 0 },
	};
	struct rec_dev d0 = { .id = 1 }, d1 = { .id = 2 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bus b;
		int ret;

		bus_init(&b, "mmio");
		CHECK_EQ(bus_map(&b, 0x100, 0x10, &rec_ops, &d0, "d0"), 0);
		ret = bus_map(&b, cases[i].base, cases[i].len, &rec_ops, &d1, "d1");
		if (ret != cases[i].want)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, cases[i].want);
		CHECK_EQ(b.nr, ret == 0 ? 2u : 1u);
		CHECK(sorted(&b));
		/* The first range still answers, with its own device. */
		CHECK_EQ(bus_find(&b, 0x100, 0x10), ret == 0 && cases[i].base < 0x100 ? 1 : 0);
	}
}

TEST(map_bad_ops)
{
	struct rec_dev d = { .id = 1 };
	struct bus b;

	bus_init(&b, "pio");
	CHECK_EQ(bus_map(&b, 0x10, 1, NULL, &d, "x"), -EINVAL);
	CHECK_EQ(bus_map(&b, 0x10, 1, &no_read_ops, &d, "x"), -EINVAL);
	CHECK_EQ(bus_map(&b, 0x10, 1, &no_write_ops, &d, "x"), -EINVAL);
	CHECK_EQ(b.nr, 0);
	/* A NULL dev is allowed: stateless stubs need none. */
	CHECK_EQ(bus_map(&b, 0x10, 1, &rec_ops, NULL, "x"), 0);
}

TEST(map_full)
{
	struct rec_dev d = { .id = 1 };
	struct bus b;

	bus_init(&b, "pio");
	/* Fill in reverse order so every insert shifts the whole table. */
	for (unsigned i = BUS_MAX_RANGES; i > 0; i--)
		CHECK_EQ(bus_map(&b, 0x1000 + (uint64_t)(i - 1) * 0x10, 0x10, &rec_ops, &d, "r"), 0);
	CHECK_EQ(b.nr, BUS_MAX_RANGES);
	CHECK(sorted(&b));
	CHECK_EQ(bus_map(&b, 0x10, 0x10, &rec_ops, &d, "one too many"), -ENOSPC);
	CHECK_EQ(bus_map(&b, 0xffff0000, 1, &rec_ops, &d, "one too many"), -ENOSPC);
	CHECK_EQ(b.nr, BUS_MAX_RANGES);
	for (unsigned i = 0; i < BUS_MAX_RANGES; i++) {
		CHECK_EQ(b.range[i].base, 0x1000 + (uint64_t)i * 0x10);
		CHECK_EQ(bus_find(&b, 0x1000 + (uint64_t)i * 0x10 + 0xf, 1), (int)i);
	}
}

/* Whatever the map order, the table ends up sorted and lookups agree. */
TEST(sorted_any_order)
{
	static const uint64_t bases[] = { 0x70, 0x3f8, 0x60, 0x64, 0x2f8, 0x80, 0x0, 0xcf8 };
	static const uint64_t lens[] = { 2, 8, 1, 1, 8, 1, 0x20, 8 };
	static const unsigned orders[][8] = {
		{ 0, 1, 2, 3, 4, 5, 6, 7 },
		{ 7, 6, 5, 4, 3, 2, 1, 0 },
		{ 3, 0, 6, 1, 7, 2, 5, 4 },
		{ 6, 2, 3, 0, 5, 4, 1, 7 }, /* ascending base */
	};
	struct rec_dev d[8];

	for (unsigned i = 0; i < 8; i++)
		d[i] = (struct rec_dev){ .id = (int)i + 1 };
	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		struct bus b;

		bus_init(&b, "pio");
		for (unsigned k = 0; k < 8; k++) {
			unsigned j = orders[o][k];

			CHECK_EQ(bus_map(&b, bases[j], lens[j], &rec_ops, &d[j], "r"), 0);
		}
		CHECK_EQ(b.nr, 8);
		CHECK(sorted(&b));
		for (unsigned j = 0; j < 8; j++) {
			int idx = bus_find(&b, bases[j], 1);

			CHECK(idx >= 0);
			if (idx < 0)
				continue;
			CHECK_EQ(b.range[idx].base, bases[j]);
			CHECK(b.range[idx].dev == &d[j]);
			/* Every byte of the range finds the same index; the next byte does not. */
			CHECK_EQ(bus_find(&b, bases[j] + lens[j] - 1, 1), idx);
			CHECK_EQ(bus_find(&b, bases[j], (unsigned)lens[j]), idx);
			CHECK(bus_find(&b, bases[j] + lens[j], 1) != idx);
		}
	}
}

TEST(find_edges)
{
	struct rec_dev d = { .id = 1 };
	static const struct {
		const char *name;
		uint64_t addr;
		unsigned len;
		int want;
	} cases[] = {
		{ "first byte", 0x3f8, 1, 1 },
		{ "last byte", 0x3ff, 1, 1 },
		{ "whole range", 0x3f8, 8, 1 },
		{ "wide inside", 0x3fc, 4, 1 },
		{ "straddles end", 0x3fe, 4, -1 },
		{ "straddles start", 0x3f6, 4, -1 },
		{ "just past the adjacent range", 0x404, 1, -1 },
		{ "just before", 0x3f7, 1, -1 },
		{ "gap between ranges", 0x100, 1, -1 },
		{ "below every range", 0, 1, -1 },
		{ "zero length", 0x3f8, 0, -1 },
		{ "spans two adjacent ranges", 0x3ff, 2, -1 },
		{ "adjacent range", 0x400, 4, 2 },
		{ "top range, last byte", UINT64_MAX, 1, 3 },
		{ "top range, wide", UINT64_MAX - 3, 4, 3 },
		{ "wraps past top", UINT64_MAX, 2, -1 },
		{ "wraps past top, wide", UINT64_MAX - 1, 4, -1 },
	};
	struct bus b;

	bus_init(&b, "pio");
	CHECK_EQ(bus_map(&b, 0x3f8, 8, &rec_ops, &d, "serial"), 0);
	CHECK_EQ(bus_map(&b, 0x400, 4, &rec_ops, &d, "next"), 0);
	CHECK_EQ(bus_map(&b, UINT64_MAX - 0xf, 0x10, &rec_ops, &d, "top"), 0);
	CHECK_EQ(bus_map(&b, 0x60, 1, &rec_ops, &d, "kbd"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = bus_find(&b, cases[i].addr, cases[i].len);

		if (got != cases[i].want)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(got, cases[i].want);
	}
}

TEST(access_dispatch)
{
	struct rec_dev a = { .id = 0x11 }, c = { .id = 0x33 };
	uint8_t buf[8];
	uint32_t w = 0x12345678;
	struct bus b;
	int idx_a, idx_c;

	bus_init(&b, "mmio");
	CHECK_EQ(bus_map(&b, 0xd0000000, 0x1000, &rec_ops, &c, "c"), 0);
	CHECK_EQ(bus_map(&b, 0xc0000000, 0x1000, &rec_ops, &a, "a"), 0);
	idx_a = bus_find(&b, 0xc0000000, 1);
	idx_c = bus_find(&b, 0xd0000000, 1);
	CHECK_EQ(idx_a, 0);
	CHECK_EQ(idx_c, 1);
	CHECK(strcmp(b.range[idx_a].name, "a") == 0);

	/* Reads: the handler sees the offset, the caller gets the index. */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(bus_access(&b, 0xc0000010, buf, 4, 0), idx_a);
	CHECK_EQ(a.reads, 1);
	CHECK_EQ(a.last_off, 0x10);
	CHECK_EQ(a.last_len, 4);
	CHECK_EQ(buf[0], 0x11);
	CHECK_EQ(buf[3], 0x11);
	CHECK_EQ(buf[4], 0);

	CHECK_EQ(bus_access(&b, 0xd0000ff8, buf, 8, 0), idx_c);
	CHECK_EQ(c.last_off, 0xff8);
	CHECK_EQ(c.last_len, 8);
	CHECK_EQ(buf[7], 0x33);

	/* Writes carry the data through. */
	CHECK_EQ(bus_access(&b, 0xc0000ffc, &w, 4, 1), idx_a);
	CHECK_EQ(a.writes, 1);
	CHECK_EQ(a.last_off, 0xffc);
	CHECK(memcmp(a.last_data, &w, 4) == 0);
	CHECK_EQ(a.reads, 1);

	/* Unclaimed or straddling: nobody is called. */
	CHECK_EQ(bus_access(&b, 0xc0000ffe, buf, 4, 0), -ENOENT);
	CHECK_EQ(bus_access(&b, 0xc0001000, buf, 1, 1), -ENOENT);
	CHECK_EQ(bus_access(&b, 0xbfffffff, buf, 2, 0), -ENOENT);
	CHECK_EQ(bus_access(&b, 0xc0000000, buf, 0, 0), -ENOENT);
	CHECK_EQ(a.reads + a.writes + c.reads + c.writes, 3);

	/* A device error is passed up as is. */
	c.fail = -EIO;
	CHECK_EQ(bus_access(&b, 0xd0000000, buf, 1, 0), -EIO);
	CHECK_EQ(bus_access(&b, 0xd0000000, buf, 1, 1), -EIO);
	c.fail = 0;

	/* Mapping a new range below shifts indexes (allowed before vCPUs run). */
	CHECK_EQ(bus_map(&b, 0x1000, 0x10, &rec_ops, &a, "low"), 0);
	CHECK_EQ(bus_access(&b, 0xd0000000, buf, 1, 0), 2);
	CHECK_EQ(bus_access(&b, 0x100f, buf, 1, 0), 0);
	CHECK_EQ(a.last_off, 0xf);
}

TEST(nop_stubs)
{
	uint8_t buf[8];
	struct bus b;

	memset(buf, 0x12, sizeof(buf));
	CHECK_EQ(dev_nop_read(NULL, 0, buf, 4), 0);
	CHECK_EQ(buf[0], 0xff);
	CHECK_EQ(buf[3], 0xff);
	CHECK_EQ(buf[4], 0x12); /* only len bytes */
	CHECK_EQ(dev_nop_write(NULL, 0, buf, 4), 0);

	{
		static const struct dev_ops nop_ops = {
			.kind = "nop", .read = dev_nop_read, .write = dev_nop_write,
		};

		bus_init(&b, "pio");
		CHECK_EQ(bus_map(&b, 0x80, 1, &nop_ops, NULL, "post"), 0);
		memset(buf, 0, sizeof(buf));
		CHECK_EQ(bus_access(&b, 0x80, buf, 1, 0), 0);
		CHECK_EQ(buf[0], 0xff);
		CHECK_EQ(buf[1], 0);
		CHECK_EQ(bus_access(&b, 0x80, buf, 1, 1), 0);
	}
}

/* bus_unmap: a range goes (a PCI BAR moving, with vCPUs paused) and its space is free again. */
TEST(unmap)
{
	static struct bus b; /* big: keep it off the stack */
	struct rec_dev d[3] = { { 0 } };
	uint8_t v = 0;

	bus_init(&b, "mmio");
	CHECK_EQ(bus_map(&b, 0x1000, 0x100, &rec_ops, &d[0], "a"), 0);
	CHECK_EQ(bus_map(&b, 0x2000, 0x100, &rec_ops, &d[1], "bar"), 0);
	CHECK_EQ(bus_map(&b, 0x3000, 0x100, &rec_ops, &d[2], "c"), 0);
	CHECK_EQ(bus_unmap(&b, 0x2001), -ENOENT); /* only a range's base names it */
	CHECK_EQ(bus_unmap(&b, 0x9000), -ENOENT);
	CHECK_EQ(bus_unmap(&b, 0x2000), 0);
	CHECK_EQ(b.nr, 2);
	CHECK(sorted(&b));
	CHECK_EQ(bus_access(&b, 0x2000, &v, 1, 0), -ENOENT); /* gone */
	CHECK_EQ(d[1].reads, 0);
	CHECK_EQ(bus_find(&b, 0x3000, 1), 1); /* later ranges moved down one index */
	CHECK_EQ(bus_unmap(&b, 0x2000), -ENOENT); /* twice: nothing left to remove */
	/* The BAR comes back elsewhere, bigger, overlapping where it was. */
	CHECK_EQ(bus_map(&b, 0x1f00, 0x200, &rec_ops, &d[1], "bar"), 0);
	CHECK_EQ(bus_access(&b, 0x2000, &v, 1, 0), 1);
	CHECK_EQ(d[1].reads, 1);
	CHECK_EQ(d[1].last_off, 0x100);
	/* A full table has room again after an unmap. */
	for (unsigned i = b.nr; i < BUS_MAX_RANGES; i++)
		CHECK_EQ(bus_map(&b, 0x100000 + 0x10 * (uint64_t)i, 0x10, &rec_ops, &d[0], "r"), 0);
	CHECK_EQ(bus_map(&b, 0x900000, 0x10, &rec_ops, &d[0], "x"), -ENOSPC);
	CHECK_EQ(bus_unmap(&b, 0x1000), 0);
	CHECK_EQ(bus_map(&b, 0x900000, 0x10, &rec_ops, &d[0], "x"), 0);
	CHECK(sorted(&b));
}

TEST_MAIN(T(unmap), T(init), T(map_overlap_refused), T(map_bad_ops), T(map_full), T(sorted_any_order),
	  T(find_edges), T(access_dispatch), T(nop_stubs))
