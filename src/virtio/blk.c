/*
 * blk.c: virtio-blk (see blk.h for what it owns, what not, and its threads).
 * Request layout from virtio 1.2 §5.2.6: a 16-byte device-readable header
 * {le32 type, le32 reserved, le64 sector}, then data buffers, then one
 * device-writable status byte.
 */
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fs.h>

#include "../loadfile.h"
#include "../log.h"
#include "../util.h"

#define VBLK_QUEUE_SIZE 256
#define VBLK_SECTOR     512
#define VBLK_SEG_MAX    (VIRTQ_MAX_CHAIN - 2) /* header and status take two buffers */

/* Feature bits, virtio 1.2 §5.2.3. */
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

/* Request types and status values, virtio 1.2 §5.2.6. */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VBLK_HDR_SIZE 16
/* struct virtio_blk_config offsets, virtio 1.2 §5.2.4. */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX  12
#define CFG_BLK_SIZE 20
#define CFG_SIZE     24

/* Largest direct I/O alignment taken: a bounce buffer holds four such blocks. */
#define VBLK_DIO_ALIGN_MAX (VBLK_BOUNCE_SIZE / 4)

static uint64_t vblk_features(void *dev)
{
	struct vblk *b = dev;

	return (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
	       (1ULL << VIRTIO_BLK_F_FLUSH) | (b->read_only ? 1ULL << VIRTIO_BLK_F_RO : 0);
}

static int vblk_config_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct vblk *b = dev;
	uint8_t cfg[CFG_SIZE] = { 0 };

	le64_put(cfg + CFG_CAPACITY, b->sectors);
	le32_put(cfg + CFG_SEG_MAX, VBLK_SEG_MAX);
	le32_put(cfg + CFG_BLK_SIZE, b->blk_size);
	return virtio_config_copy(cfg, sizeof(cfg), off, data, len);
}

/* Full transfer or error: loop over short reads/writes. */
static int vblk_rw(struct vblk *b, int write, struct iovec *iov, int niov, uint64_t off)
{
	while (niov > 0) {
		ssize_t n = write ? pwritev(b->fd, iov, niov, (off_t)off)
				  : preadv(b->fd, iov, niov, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 && !write) {
				/* Past the end of a file that shrank: zero the rest. */
				for (int i = 0; i < niov; i++)
					memset(iov[i].iov_base, 0, iov[i].iov_len);
				return 0;
			}
			return n < 0 ? -errno : -EIO;
		}
		off += (uint64_t)n;
		while (niov > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Copy len bytes between buf and the iovecs, starting off bytes into them. */
static void vblk_iov_copy(const struct iovec *iov, int niov, uint64_t off, uint8_t *buf,
			  size_t len, int to_iov)
{
	for (int i = 0; i < niov && len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - (size_t)off;
		if (n > len)
			n = len;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, buf, n);
		else
			memcpy(buf, (uint8_t *)iov[i].iov_base + off, n);
		buf += n;
		len -= n;
		off = 0;
	}
}

/* Can O_DIRECT take these buffers as they are (each address and length aligned)? */
static bool vblk_iov_aligned(const struct vblk *b, const struct iovec *iov, int niov)
{
	for (int i = 0; i < niov; i++)
		if ((uintptr_t)iov[i].iov_base % b->mem_align || iov[i].iov_len % b->blk_size)
			return false;
	return true;
}

/*
 * cache=none with misaligned guest buffers: through the aligned bounce
 * buffer, VBLK_BOUNCE_SIZE at a time (len and off are multiples of
 * blk_size, so every chunk is too).
 */
static int vblk_bounce_rw(struct vblk *b, int write, const struct iovec *iov, int niov,
			  uint64_t off, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < VBLK_BOUNCE_SIZE ? (size_t)(len - done) : VBLK_BOUNCE_SIZE;
		struct iovec one = { .iov_base = b->bounce, .iov_len = n };
		int ret;

		if (write)
			vblk_iov_copy(iov, niov, done, b->bounce, n, 0);
		ret = vblk_rw(b, write, &one, 1, off + done);
		if (ret)
			return ret;
		if (!write)
			vblk_iov_copy(iov, niov, done, b->bounce, n, 1);
		done += n;
	}
	return 0;
}

/*
 * Move a request's data, the way the open mode needs, and make a write
 * durable when the driver has no FLUSH to ask for it (writethrough).
 */
static int vblk_io(struct vblk *b, int write, struct iovec *iov, int niov, uint64_t off,
		   uint64_t len)
{
	int ret;

	if (b->mem_align && !vblk_iov_aligned(b, iov, niov))
		ret = vblk_bounce_rw(b, write, iov, niov, off, len);
	else
		ret = vblk_rw(b, write, iov, niov, off);
	if (!ret && write && !b->flush && fdatasync(b->fd) < 0)
		ret = -errno;
	return ret;
}

/* vblk_start: the request moves data, served by vblk_data_step (not a status byte). */
#define VBLK_DATA 0x100

/*
 * Look at one popped request: answer it at once (FLUSH, GET_ID, refused
 * ones) with its status byte and the bytes written to the guest, or take
 * an IN/OUT's header into b->req and return VBLK_DATA. The header is read
 * once, so the driver cannot change it while later passes serve the data.
 */
static int vblk_start(struct vblk *b, struct virtq *q, uint32_t *written)
{
	uint8_t hdr[VBLK_HDR_SIZE];
	uint32_t type, data_len;
	uint64_t sector;
	int in;

	*written = 0;
	if (b->chain.out_len < VBLK_HDR_SIZE ||
	    virtq_chain_read(q, &b->chain, 0, hdr, sizeof(hdr)) < 0)
		return VIRTIO_BLK_S_IOERR;
	type = le32_get(hdr);
	sector = le64_get(hdr + 8);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		in = type == VIRTIO_BLK_T_IN;
		data_len = in ? b->chain.in_len - 1 : b->chain.out_len - VBLK_HDR_SIZE;
		if (data_len % VBLK_SECTOR || sector > b->sectors ||
		    data_len / VBLK_SECTOR > b->sectors - sector)
			return VIRTIO_BLK_S_IOERR;
		if (!in && b->read_only)
			return VIRTIO_BLK_S_IOERR;
		if ((sector * VBLK_SECTOR | data_len) % b->blk_size) {
			/* O_DIRECT would fail it (EINVAL): say why, rate-limited. */
			log_limited(&b->logged, LOG_WARN,
				    "virtio-blk: %s of %u bytes at sector %" PRIu64
				    " refused: cache=none needs %u-byte aligned requests",
				    in ? "read" : "write", data_len, sector, b->blk_size);
			return VIRTIO_BLK_S_IOERR;
		}
		b->req = (struct vblk_req){ .in = in, .sector = sector, .len = data_len };
		return VBLK_DATA;
	case VIRTIO_BLK_T_FLUSH:
		if (!b->flush)
			return VIRTIO_BLK_S_UNSUPP; /* not negotiated: writes are writethrough */
		virtio_stat_add(&b->flushes, 1);
		return fdatasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		uint32_t n = b->chain.in_len - 1 < VBLK_SERIAL_LEN ? b->chain.in_len - 1
								   : VBLK_SERIAL_LEN;

		if (virtq_chain_write(q, &b->chain, 0, b->serial, n) < 0)
			return VIRTIO_BLK_S_IOERR;
		*written = n;
		return VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * Move the next slice of the current IN/OUT request, at most *budget
 * bytes (spent from it). Returns -EAGAIN while data is left, else the
 * status byte, with the bytes written to the guest in *written.
 */
static int vblk_data_step(struct vblk *b, struct virtq *q, uint64_t *budget, uint32_t *written)
{
	struct vblk_req *r = &b->req;
	uint64_t n = r->len - r->done;
	int niov, ret;

	*written = 0;
	if (n > *budget)
		n = *budget; /* a multiple of blk_size: requests and the budget both are */
	if (n) {
		/* Data is what lies between the header and the status byte. */
		niov = virtq_chain_iov(q, &b->chain, r->in, (r->in ? 0 : VBLK_HDR_SIZE) + r->done,
				       n, b->iov, VIRTQ_MAX_CHAIN);
		ret = niov < 0 ? niov
			       : vblk_io(b, !r->in, b->iov, niov,
					 r->sector * VBLK_SECTOR + r->done, n);
		if (ret) {
			/* A failing disk fails every request: rate-limited. */
			log_limited(&b->logged, LOG_WARN,
				    "virtio-blk: %s of %u bytes at sector %" PRIu64 ": %s",
				    r->in ? "read" : "write", r->len, r->sector, strerror(-ret));
			return VIRTIO_BLK_S_IOERR;
		}
		virtio_stat_add(r->in ? &b->bytes_read : &b->bytes_written, n);
		r->done += (uint32_t)n;
		*budget -= n;
	}
	if (r->done < r->len)
		return -EAGAIN;
	virtio_stat_add(r->in ? &b->reads : &b->writes, 1);
	*written = r->in ? r->len : 0;
	return VIRTIO_BLK_S_OK;
}

/* Answer the current chain with status (its last writable byte) and give it back. */
static int vblk_complete(struct vblk *b, struct virtq *q, int status, uint32_t written)
{
	uint8_t st = (uint8_t)status;

	b->busy = 0;
	if (b->chain.in_len < 1) {
		/* No room for a status byte: nothing sensible to answer. */
		virtio_stat_add(&b->errors, 1);
		return virtq_push(q, b->chain.head, 0) < 0 ? -EINVAL : 0;
	}
	if (status != VIRTIO_BLK_S_OK)
		virtio_stat_add(&b->errors, 1);
	if (virtq_chain_write(q, &b->chain, b->chain.in_len - 1, &st, 1) < 0)
		return -EINVAL;
	return virtq_push(q, b->chain.head, written + 1) < 0 ? -EINVAL : 0;
}

/*
 * One pass: at most VBLK_PASS_REQS requests taken and VBLK_PASS_BYTES of
 * data moved, so the core's lock is never held for long; a bigger request
 * is sliced and its progress kept in b (busy). Work left sets q->more and
 * the core has the I/O loop come back.
 */
static int vblk_queue_notify(void *dev, struct virtq *q, unsigned qi)
{
	struct vblk *b = dev;
	uint64_t budget = VBLK_PASS_BYTES;
	unsigned taken = 0;
	int n = 0, ret = 0;

	(void)qi;
	for (;;) {
		uint32_t written = 0;
		int status;

		if (!b->busy) {
			if (taken >= VBLK_PASS_REQS || !budget) {
				q->more = true;
				break;
			}
			ret = virtq_pop(q, &b->chain);
			if (ret <= 0)
				break;
			taken++;
			status = b->chain.in_len < 1 ? VIRTIO_BLK_S_IOERR : vblk_start(b, q, &written);
			if (status == VBLK_DATA) {
				b->busy = 1;
				continue;
			}
		} else {
			if (!budget) {
				q->more = true;
				break;
			}
			status = vblk_data_step(b, q, &budget, &written);
			if (status == -EAGAIN)
				continue; /* budget spent: the check above ends the pass */
		}
		ret = vblk_complete(b, q, status, written);
		if (ret < 0)
			return ret;
		n++;
	}
	return ret < 0 ? ret : n;
}

/*
 * Saved state: none between requests; a request half served cannot be
 * saved (the slice is not in the format), so save refuses until it is done.
 */
static int vblk_save(void *dev, struct snap_out *out)
{
	struct vblk *b = dev;

	if (b->busy)
		return -EBUSY; /* the I/O thread finishes it within a few passes: retry */
	return virtio_save_none(dev, out);
}

static int vblk_load(void *dev, struct snap_in *in)
{
	struct vblk *b = dev;

	b->busy = 0;
	return virtio_load_none(dev, in);
}

/* The driver's features are final: a driver without FLUSH gets writethrough. */
static void vblk_driver_ok(void *dev, uint64_t features)
{
	struct vblk *b = dev;

	b->flush = !!(features & (1ULL << VIRTIO_BLK_F_FLUSH));
}

static void vblk_reset(void *dev)
{
	struct vblk *b = dev;

	b->flush = 0;
	b->busy = 0; /* the request in progress belonged to the old rings */
}

static unsigned vblk_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct vblk *b = dev;
	unsigned n = 0;

	n = virtio_stat_put(out, n, max, "reads", virtio_stat_get(&b->reads));
	n = virtio_stat_put(out, n, max, "writes", virtio_stat_get(&b->writes));
	n = virtio_stat_put(out, n, max, "read_bytes", virtio_stat_get(&b->bytes_read));
	n = virtio_stat_put(out, n, max, "write_bytes", virtio_stat_get(&b->bytes_written));
	n = virtio_stat_put(out, n, max, "flushes", virtio_stat_get(&b->flushes));
	n = virtio_stat_put(out, n, max, "io_errors", virtio_stat_get(&b->errors));
	return n;
}

static void vblk_destroy(void *dev)
{
	vblk_close(dev);
	free(dev);
}

const struct virtio_dev_ops vblk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_size_max = VBLK_QUEUE_SIZE,
	.features = vblk_features,
	.config_read = vblk_config_read,
	.config_write = virtio_config_readonly_write,
	.queue_notify = vblk_queue_notify,
	.reset = vblk_reset,
	.driver_ok = vblk_driver_ok,
	.save = vblk_save, /* nothing beyond the queues, refused mid-request: blk.h */
	.load = vblk_load,
	.stats = vblk_stats,
	.destroy = vblk_destroy,
};

int vblk_parse_opts(char *s, struct vblk_opts *o)
{
	char *tok, *save = NULL;

	memset(o, 0, sizeof(*o));
	tok = strtok_r(s, ",", &save);
	if (!tok || !*tok)
		return -EINVAL;
	if (strlen(tok) >= sizeof(o->path))
		return -EINVAL;
	strcpy(o->path, tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strcmp(tok, "ro"))
			o->read_only = 1;
		else if (!strcmp(tok, "rw"))
			o->read_only = 0;
		else if (!strcmp(tok, "cache=none"))
			o->direct = 1;
		else if (!strcmp(tok, "cache=writeback"))
			o->direct = 0;
		else
			return -EINVAL;
	}
	return 0;
}

/*
 * Lock the whole image for this open file description (F_OFD_SETLK: held
 * by the open file, not the process, so a second open here conflicts too,
 * and no other close drops it): a write lock read-write, a read lock
 * read-only. A filesystem without locks gets a warning and no lock.
 */
static int vblk_lock(struct vblk *b, const struct vblk_opts *o)
{
	struct flock fl = { .l_type = o->read_only ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	int err;

	if (fcntl(b->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	err = errno;
	if (err == EAGAIN || err == EACCES) {
		log_err("--disk '%s': the image is in use by another process (it holds a lock"
			" that %s access conflicts with)", o->path,
			o->read_only ? "read-only" : "read-write");
		return -EBUSY;
	}
	log_warn("--disk '%s': cannot lock the image (%s): other processes may open it too",
		 o->path, strerror(err));
	return 0;
}

/* The direct I/O alignment of the image: block size and buffer alignment. */
static void vblk_dio_align(const struct vblk *b, const struct stat *st, uint32_t *blk,
			   uint32_t *mem)
{
	*blk = *mem = 0;
	if (S_ISBLK(st->st_mode)) {
		int lbs = 0;

		if (ioctl(b->fd, BLKSSZGET, &lbs) == 0 && lbs > 0)
			*blk = *mem = (uint32_t)lbs; /* the device's logical block size */
	} else {
#ifdef STATX_DIOALIGN
		struct statx stx;

		if (statx(b->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
		    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
			*blk = stx.stx_dio_offset_align;
			*mem = stx.stx_dio_mem_align;
		}
#endif
	}
	/* Unknown: the filesystem block size, a multiple of the device's. */
	if (!*blk)
		*blk = *mem = (uint32_t)st->st_blksize;
	if (*blk < VBLK_SECTOR)
		*blk = VBLK_SECTOR;
	if (!*mem)
		*mem = *blk;
}

/* cache=none: take the host's alignment and allocate the bounce buffer. 0 or -errno, logged. */
static int vblk_setup_direct(struct vblk *b, const struct vblk_opts *o, const struct stat *st)
{
	uint32_t blk, mem;
	void *p;

	vblk_dio_align(b, st, &blk, &mem);
	if (blk > VBLK_DIO_ALIGN_MAX || (blk & (blk - 1)) || mem > VBLK_DIO_ALIGN_MAX ||
	    (mem & (mem - 1))) {
		log_err("--disk '%s': cache=none needs %u-byte blocks in %u-byte aligned memory;"
			" vmon takes powers of two up to %u",
			o->path, blk, mem, VBLK_DIO_ALIGN_MAX);
		return -EINVAL;
	}
	if (posix_memalign(&p, mem < 4096 ? 4096 : mem, VBLK_BOUNCE_SIZE)) {
		log_err("--disk '%s': out of memory for its bounce buffer", o->path);
		return -ENOMEM;
	}
	b->bounce = p;
	b->blk_size = blk;
	b->mem_align = mem;
	return 0;
}

int vblk_open(struct vblk *b, const struct gmem *m, const struct vblk_opts *o)
{
	struct stat st;
	uint64_t size;
	int flags = (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->direct ? O_DIRECT : 0);

	int ret;

	memset(b, 0, sizeof(*b));
	b->m = m;
	b->read_only = o->read_only;
	b->blk_size = VBLK_SECTOR;
	/* Regular files and block devices only: a FIFO swapped in would block the open. */
	b->fd = loadfile_open("--disk", o->path, flags, LOADFILE_BLK);
	if (b->fd < 0) {
		if (b->fd == -EINVAL && o->direct)
			log_err("--disk '%s': with cache=none, EINVAL means the filesystem refuses "
				"O_DIRECT", o->path);
		return b->fd;
	}
	if (fstat(b->fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		log_err("--disk '%s': not a regular file or block device", o->path);
		vblk_close(b);
		return -EINVAL;
	}
	ret = vblk_lock(b, o);
	if (!ret && o->direct)
		ret = vblk_setup_direct(b, o, &st);
	if (ret) {
		vblk_close(b);
		return ret;
	}
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(b->fd, BLKGETSIZE64, &size) < 0)
		size = 0;
	if (size == 0 || size % VBLK_SECTOR) {
		log_err("--disk '%s': size %" PRIu64 " bytes is not a non-zero multiple of %d",
			o->path, size, VBLK_SECTOR);
		vblk_close(b);
		return -EINVAL;
	}
	b->sectors = size / VBLK_SECTOR;
	/* A stable serial: the image's device and inode, as the guest sees in /sys/block/vdX/serial. */
	snprintf(b->serial, sizeof(b->serial), "vmon-%" PRIx64 "-%" PRIx64, (uint64_t)st.st_dev,
		 (uint64_t)st.st_ino);
	return 0;
}

int vblk_create(const struct gmem *m, const struct vblk_opts *o, struct vblk **out)
{
	struct vblk *b = malloc(sizeof(*b));
	int ret;

	if (!b) {
		log_err("--disk '%s': out of memory", o->path);
		return -ENOMEM;
	}
	ret = vblk_open(b, m, o);
	if (ret) {
		free(b);
		return ret;
	}
	*out = b;
	return 0;
}

void vblk_close(struct vblk *b)
{
	if (b->fd >= 0)
		close(b->fd); /* drops the OFD lock with the last reference */
	b->fd = -1;
	free(b->bounce);
	b->bounce = NULL;
}
