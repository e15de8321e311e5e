/*
 * blk.h: virtio block device (virtio 1.2 §5.2) backed by a raw image file.
 *
 * Owns: the image fd, the configuration space (capacity, seg_max, blk_size)
 * and request processing: IN/OUT with preadv/pwritev straight between the
 * file and guest buffers (no bounce copy), FLUSH with fdatasync, GET_ID
 * with a serial derived from the image. A read-only disk fails writes with
 * VIRTIO_BLK_S_IOERR and advertises VIRTIO_BLK_F_RO.
 * Threads: queue_notify on the VM's I/O thread under the transport mutex;
 * I/O is synchronous there (one request at a time per disk).
 */
#ifndef VMON_VIRTIO_BLK_H
#define VMON_VIRTIO_BLK_H

#include <stdint.h>
#include <sys/uio.h>

#include "../gmem.h"
#include "virtio.h"

#define VBLK_SERIAL_LEN 20 /* VIRTIO_BLK_ID_BYTES, virtio 1.2 §5.2.6 */

struct vblk_opts {
	const char *path;
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
	uint64_t reads, writes, flushes, errors, bytes_read, bytes_written;
};

extern const struct virtio_dev_ops vblk_ops;

/* Open and check the image (regular file or block device, size % 512 == 0). 0 or -errno, logged. */
int vblk_open(struct vblk *b, const struct gmem *m, const struct vblk_opts *o);
void vblk_close(struct vblk *b);

/* Parse "PATH[,ro][,cache=none|writeback]"; 0 or -EINVAL. s is modified in place. */
int vblk_parse_opts(char *s, struct vblk_opts *o);

#endif
