/*
 * dev.h: the device model. Every device of a VM (the PC's UART, i8042,
 * RTC, each virtio transport, later PCI functions and the Lance NIC) is one
 * struct dev: a complete static const struct dev_ops and an opaque state
 * pointer, on the VM's device list. The VM walks that list, and only it, to
 * reset, save, load, report and tear down its devices; nothing enumerates
 * devices by kind anywhere else.
 *
 * Owns: the ops contract, the device list and the saved-state sections
 * (one per device: name, kind, length, the device's own bytes).
 * Does not own: where a device sits on a bus (bus.c maps the same ops
 * table, whose read/write see offsets from the range base), the devices'
 * own state (each device file), the snapshot file format (snapshot/).
 *
 * Threads: the list is built before vCPUs run and changed only with them
 * paused; reset/save/load run with vCPUs paused and the I/O thread idle
 * (the caller's job), stats from any thread (counters are read relaxed),
 * destroy once, after every thread that could call the device is gone.
 * read/write keep their bus contract: vCPU threads, under the device's lock.
 */
#ifndef VMON_DEV_H
#define VMON_DEV_H

#include <stdint.h>

#include "snapshot/stream.h"

struct dev_stat {
	const char *key;  /* static string: "tx_bytes" */
	uint64_t value;
};

#define DEV_MAX_STATS 24
#define DEV_NAME_MAX  32

struct dev_ops {
	const char *kind; /* "uart16550", "virtio-mmio"; a saved section names it */
	/* Bus handlers: off is relative to the range base. 0 or -errno. */
	int (*read)(void *dev, uint64_t off, void *data, unsigned len);
	int (*write)(void *dev, uint64_t off, const void *data, unsigned len);
	/* Back to the state the device had when created (power-on). */
	void (*reset)(void *dev);
	/* Append the device's state (snap_put_*). 0 or -errno. */
	int (*save)(void *dev, struct snap_out *out);
	/*
	 * Replace the device's state with one save wrote. The input is hostile:
	 * every value is range-checked before use; -EINVAL (logged once, with
	 * the field) on anything out of range, truncated or left over, and the
	 * device is then reset rather than left half-loaded.
	 */
	int (*load)(void *dev, struct snap_in *in);
	/* Up to max counters into out; returns how many. */
	unsigned (*stats)(void *dev, struct dev_stat *out, unsigned max);
	/* Release everything the device holds, its state block included. */
	void (*destroy)(void *dev);
};

/* Shared stubs, so that ops tables are complete and no caller meets NULL. */
int dev_nop_read(void *dev, uint64_t off, void *data, unsigned len); /* all ones */
int dev_nop_write(void *dev, uint64_t off, const void *data, unsigned len);
void dev_nop_reset(void *dev);
int dev_nop_save(void *dev, struct snap_out *out);   /* no state: writes nothing */
int dev_nop_load(void *dev, struct snap_in *in);     /* accepts only an empty section */
unsigned dev_nop_stats(void *dev, struct dev_stat *out, unsigned max);
void dev_nop_destroy(void *dev);

/*
 * For a device's load, after its gets: 0 when its section was read whole;
 * else -EINVAL (the input marked bad) with one warning naming kind: the
 * section was truncated, or had bytes left over. Field checks come after.
 */
int dev_load_whole(struct snap_in *in, const char *kind);

/* 1 when every op is set (what devlist_add demands). */
int dev_ops_complete(const struct dev_ops *ops);

struct dev {
	const struct dev_ops *ops;
	void *state;
	char name[DEV_NAME_MAX]; /* instance: "serial0", "virtio-blk1" */
};

#define DEVLIST_MAX 32

struct devlist {
	struct dev dev[DEVLIST_MAX];
	unsigned nr;
};

void devlist_init(struct devlist *l);
/*
 * Add a device; from here on the list owns state (destroy frees it).
 * -EINVAL for an incomplete ops table or a bad name, -EEXIST for a name
 * already on the list, -ENOSPC when full: then the caller still owns state.
 */
int devlist_add(struct devlist *l, const struct dev_ops *ops, void *state, const char *name);
/* The device named name, or NULL. */
struct dev *devlist_find(struct devlist *l, const char *name);
void devlist_reset(struct devlist *l);
/* Every device's section, in list order. 0 or -errno (logged with the device). */
int devlist_save(struct devlist *l, struct snap_out *out);
/*
 * Load what devlist_save wrote: every device must have exactly one section
 * of its own kind, and each section must be used up. -EINVAL (logged,
 * naming the device or the bad field) for anything else.
 */
int devlist_load(struct devlist *l, struct snap_in *in);
/* Destroy every device, last added first; the list is empty afterwards. */
void devlist_destroy(struct devlist *l);

#endif
