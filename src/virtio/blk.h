/*
 * blk.h: virtio block device (virtio 1.2 §5.2) backed by a raw image file.
 *
 * Owns: the image fd, the configuration space (capacity, seg_max, blk_size)
 * and request processing: IN/OUT with preadv/pwritev straight between the
 * file and guest buffers (no bounce copy), FLUSH with fdatasync, GET_ID
 * with a serial derived from the image. A read-only disk fails writes with
 * VIRTIO_BLK_S_IOERR and advertises VIRTIO_BLK_F_RO, whatever the driver
 * accepted. A driver that did not accept VIRTIO_BLK_F_FLUSH believes the
 * disk has no write cache (Linux's virtblk_get_cache_mode): its writes are
 * made durable before they complete (writethrough) and a FLUSH request it
 * sends anyway is VIRTIO_BLK_S_UNSUPP.
 * The image is locked against other users with an OFD lock over the whole
 * file (a write lock read-write, a read lock read-only, as QEMU does), so a
 * second vmon, or a second --disk in this one, cannot open it read-write
 * while it is in use, and two read-only users share it.
 * cache=none (O_DIRECT) follows the host's direct I/O alignment (BLKSSZGET
 * for a block device, statx STATX_DIOALIGN or else st_blksize for a file):
 * blk_size tells the guest the block size, a request whose offset or length
 * breaks it fails with VIRTIO_BLK_S_IOERR (logged, rate-limited), and
 * guest buffers that are misaligned go through an aligned bounce buffer.
 * Does not own: the queue, status or features (core.c), the transport.
 *
 * Bounded passes: one queue_notify takes at most VBLK_PASS_REQS requests
 * and moves at most VBLK_PASS_BYTES of data; a request larger than what is
 * left of that budget (a 4 GiB read) is sliced across passes, its progress
 * kept in vblk.req, and virtq.more asks the core for another pass. FLUSH
 * (fdatasync) is not sliced: it runs whole in one pass.
 *
 * Saved state: none. save refuses (-EBUSY) while a sliced request is half
 * served; otherwise nothing is in flight between notifies; capacity, read-only
 * and serial come from the disk's configuration (struct vblk_opts, part of
 * the saved vm_config), not from the device's history; whether FLUSH was
 * negotiated comes back through driver_ok, which the core calls again
 * after loading a running device; counters are not state. So save writes
 * nothing and load accepts only an empty section.
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

/* Per-pass budget of vblk's queue_notify (see above). */
#define VBLK_PASS_REQS  64
#define VBLK_PASS_BYTES (16ULL << 20)

/* The IN/OUT request being served, from its header (read once). */
struct vblk_req {
	int in;          /* IN (guest reads) or OUT */
	uint64_t sector;
	uint32_t len;    /* data bytes */
	uint32_t done;   /* of them moved so far */
};

struct vblk {
	const struct gmem *m;
	int fd;
	int read_only;
	int flush;          /* the driver accepted VIRTIO_BLK_F_FLUSH (else writethrough) */
	uint32_t blk_size;  /* logical block size told to the guest: 512, or cache=none's alignment */
	uint32_t mem_align; /* cache=none: buffer address alignment; 0 without O_DIRECT */
	uint8_t *bounce;    /* cache=none: VBLK_BOUNCE_SIZE bytes aligned to mem_align */
	uint64_t sectors;
	char serial[VBLK_SERIAL_LEN];
	struct virtq_chain chain;        /* the request being served */
	int busy;                        /* chain is an IN/OUT with req.done < req.len */
	struct vblk_req req;
	struct iovec iov[VIRTQ_MAX_CHAIN]; /* its data buffers, for preadv/pwritev */
	/* Counters: virtio_stat_add / virtio_stat_get (virtio.h). */
	uint64_t reads, writes, flushes, errors, bytes_read, bytes_written;
	uint64_t logged; /* guest-triggered log events, for log_limited (log.h) */
};

/* The bounce buffer for misaligned cache=none requests (a multiple of any block size). */
#define VBLK_BOUNCE_SIZE (256 * 1024)

extern const struct virtio_dev_ops vblk_ops;

/*
 * Open, lock and check the image (regular file or block device, size % 512
 * == 0) into caller storage b (fuzzers, tests). 0 or -errno, logged:
 * -EBUSY when another open file holds a conflicting lock ("in use by
 * another process"). vblk_close
 * closes it; b is the caller's to free.
 */
int vblk_open(struct vblk *b, const struct gmem *m, const struct vblk_opts *o);
void vblk_close(struct vblk *b);
/* A heap device as vblk_open makes it, for vblk_ops (whose destroy closes and frees it). */
int vblk_create(const struct gmem *m, const struct vblk_opts *o, struct vblk **out);

/* Parse "PATH[,ro][,cache=none|writeback]" into o (the path copied); 0 or -EINVAL. s is modified in place. */
int vblk_parse_opts(char *s, struct vblk_opts *o);

#endif
