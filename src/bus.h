/*
 * bus.h: address-range dispatch for trapped guest accesses (port I/O and MMIO).
 *
 * Owns: the sorted table of ranges on one bus and the lookup. A VM has two
 * buses (PIO, MMIO), each in struct vm. Does not own the devices: a range
 * holds a const ops table and an opaque device pointer.
 *
 * Threads: ranges are added and removed only before vCPUs run or with
 * them paused (a PCI BAR moves that way); otherwise vCPU threads look up
 * concurrently without a lock. Devices serialise their own state
 * (per-device mutex).
 */
#ifndef VMON_BUS_H
#define VMON_BUS_H

#include <stdint.h>

#include "dev.h"

#define BUS_MAX_RANGES 64

/*
 * A range dispatches to a device's struct dev_ops (dev.h): its read and
 * write see the offset from the range base and return 0 or -errno. Only
 * read and write are needed here; the device list wants the whole table.
 */

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct dev_ops *ops;
	void *dev;
	const char *name; /* instance name for logs and stats, e.g. "serial0" */
};

struct bus {
	const char *name; /* "pio" or "mmio" */
	struct bus_range range[BUS_MAX_RANGES];
	unsigned nr;
};

void bus_init(struct bus *b, const char *name);

/*
 * Add [base, base+len). Returns 0, -EINVAL for a zero length or a range that
 * wraps, -EEXIST if it overlaps an existing range, -ENOSPC when full.
 */
int bus_map(struct bus *b, uint64_t base, uint64_t len,
	    const struct dev_ops *ops, void *dev, const char *name);

/*
 * Remove the range that starts at base: 0, or -ENOENT. Later ranges move
 * down one index (per-range stats counters are the caller's to move).
 */
int bus_unmap(struct bus *b, uint64_t base);

/*
 * Index of the range wholly containing [addr, addr+len), or -1. The index is
 * stable once vCPUs run, so stats can count per range.
 */
int bus_find(const struct bus *b, uint64_t addr, unsigned len);

/*
 * Dispatch one access. Returns the range index handled, or -ENOENT when no
 * range covers it (the caller decides what an unclaimed access means), or
 * the device's -errno.
 */
int bus_access(const struct bus *b, uint64_t addr, void *data, unsigned len, int is_write);

#endif
