/*
 * bus.c: range table and dispatch (see bus.h). The table is kept sorted by
 * base so a lookup is a binary search; it is small (tens of ranges), and
 * written only while no vCPU runs.
 */
#include "bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

int bus_map(struct bus *b, uint64_t base, uint64_t len,
	    const struct dev_ops *ops, void *dev, const char *name)
{
	uint64_t end;
	unsigned i;

	if (len == 0 || __builtin_add_overflow(base, len - 1, &end) || !ops ||
	    !ops->read || !ops->write)
		return -EINVAL;
	if (b->nr == BUS_MAX_RANGES)
		return -ENOSPC;
	for (i = 0; i < b->nr; i++) {
		const struct bus_range *r = &b->range[i];

		if (base <= r->base + (r->len - 1) && r->base <= end)
			return -EEXIST;
	}
	for (i = b->nr; i > 0 && b->range[i - 1].base > base; i--)
		b->range[i] = b->range[i - 1];
	b->range[i] = (struct bus_range){ base, len, ops, dev, name };
	b->nr++;
	return 0;
}

int bus_unmap(struct bus *b, uint64_t base)
{
	for (unsigned i = 0; i < b->nr; i++) {
		if (b->range[i].base != base)
			continue;
		memmove(&b->range[i], &b->range[i + 1], (b->nr - i - 1) * sizeof(b->range[0]));
		b->nr--;
		memset(&b->range[b->nr], 0, sizeof(b->range[0]));
		return 0;
	}
	return -ENOENT;
}

int bus_find(const struct bus *b, uint64_t addr, unsigned len)
{
	unsigned lo = 0, hi = b->nr;
	const struct bus_range *r;
	uint64_t last;

	if (len == 0 || __builtin_add_overflow(addr, (uint64_t)len - 1, &last))
		return -1;
	/* Find the last range whose base is <= addr. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (b->range[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	r = &b->range[lo - 1];
	if (last > r->base + (r->len - 1))
		return -1;
	return (int)(lo - 1);
}

int bus_access(const struct bus *b, uint64_t addr, void *data, unsigned len, int is_write)
{
	int idx = bus_find(b, addr, len);
	const struct bus_range *r;
	int ret;

	if (idx < 0)
		return -ENOENT;
	r = &b->range[idx];
	if (is_write)
		ret = r->ops->write(r->dev, addr - r->base, data, len);
	else
		ret = r->ops->read(r->dev, addr - r->base, data, len);
	return ret < 0 ? ret : idx;
}
