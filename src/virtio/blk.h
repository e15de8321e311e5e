/*
 * blk.h: virtio block device (virtio 1.2 §5.2) backed by a raw image file.
 *
 * Owns: the image fd, the configuration space (capacity, seg_max, blk_size)
 * and request processing: IN/OUT with preadv/pwritev straight between the
 * file and guest buffers (no bounce copy), FLUSH with fdatasync, GET_ID
 * with a serial derived from the image. A read-only disk fails writes with
 * VIRTIO_BLK_S_IOERR and advertises VIRTIO_BLK_F_RO.
 * Does not own: the queue, status or features (core.c), the transport.
 *
 * Saved state: none. Every request is completed before queue_notify
 * returns, so nothing is in flight between notifies; capacity, read-only
 * and serial come from the disk's configuration (struct vblk_opts, part of
 * the saved vm_config), not from the device's history; counters are not
 * state. So save writes nothing and load accepts only an empty section.
 *
 * Threads: queue_notify on the VM's I/O thread under the core's mutex;
 * I/O is synchronous there (one request at a time per disk). stats on any
 * thread (relaxed counters).
 */
#ifndef VMON_VIRTIO_BLK_H
#define VMON_VIRTIO_BLK_H

#include <stdint.h>
#include <sys/uio.h>

#include "../gmem.h"
#include "virtio.h"

#define VBLK_SERIAL_LEN 20 /* VIRTIO_BLK_ID_BYTES, virtio 1.2 §5.2.6 */

struct vblk_opts {
	char path[4096];  /* VM_PATH_MAX */
	int read_only;
	int direct; /* cache=none: O_DIRECT */
};

struct vblk {
	const struct gmem *m;
	int fd;
	int read_only;
	uint64_t sectors;
	char serial[VBLK_SERIAL_LEN];
	struct virtq_chain chain;        /* the request being served */
	struct iovec iov[VIRTQ_MAX_CHAIN]; /* its data buffers, for preadv/pwritev */
	/* Counters: virtio_stat_add / virtio_stat_get (virtio.h). */
	uint64_t reads, writes, flushes, errors, bytes_read, bytes_written;
	uint64_t logged; /* I/O errors logged, for virtio_log_ratelimit */
};

extern const struct virtio_dev_ops vblk_ops;

/*
 * Open and check the image (regular file or block device, size % 512 == 0)
 * into caller storage b (fuzzers, tests). 0 or -errno, logged. vblk_close
 * closes it; b is the caller's to free.
 */
int vblk_open(struct vblk *b, const struct gmem *m, const struct vblk_opts *o);
void vblk_close(struct vblk *b);
/* A heap device as vblk_open makes it, for vblk_ops (whose destroy closes and frees it). */
int vblk_create(const struct gmem *m, const struct vblk_opts *o, struct vblk **out);

/* Parse "PATH[,ro][,cache=none|writeback]" into o (the path copied); 0 or -EINVAL. s is modified in place. */
int vblk_parse_opts(char *s, struct vblk_opts *o);

#endif
