/*
 * bus.h: address-range dispatch for trapped guest accesses (port I/O and MMIO).
 *
 * Owns: the sorted table of ranges on one bus and the lookup. A VM has two
 * buses (PIO, MMIO), each in struct vm. Does not own the devices: a range
 * holds a const ops table and an opaque device pointer.
 *
 * Threads: ranges are added only before vCPUs run (or with them paused);
 * afterwards vCPU threads look up concurrently without a lock. Devices
 * serialise their own state (per-device mutex).
 */
#ifndef VMON_BUS_H
#define VMON_BUS_H

#include <stdint.h>

#define BUS_MAX_RANGES 64

/* Handlers see the offset from the range base. Return 0 or -errno. */
struct bus_dev_ops {
	const char *kind;
	int (*read)(void *dev, uint64_t off, void *data, unsigned len);
	int (*write)(void *dev, uint64_t off, const void *data, unsigned len);
};

/* Shared stubs so that ops tables are complete and dispatch never meets NULL. */
int bus_nop_read(void *dev, uint64_t off, void *data, unsigned len);   /* all ones */
int bus_nop_write(void *dev, uint64_t off, const void *data, unsigned len);

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_dev_ops *ops;
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
	    const struct bus_dev_ops *ops, void *dev, const char *name);

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
