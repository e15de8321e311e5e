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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fs.h>

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
	le32_put(cfg + CFG_BLK_SIZE, VBLK_SECTOR);
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

/* Serve one popped request; returns the status byte and bytes written to the guest. */
static uint8_t vblk_request(struct vblk *b, struct virtq *q, uint32_t *written)
{
	uint8_t hdr[VBLK_HDR_SIZE];
	uint32_t type, data_len;
	uint64_t sector;
	int niov, ret, in;

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
		/* Data is what lies between the header and the status byte. */
		niov = virtq_chain_iov(q, &b->chain, in, in ? 0 : VBLK_HDR_SIZE, data_len, b->iov,
				       VIRTQ_MAX_CHAIN);
		ret = niov < 0 ? niov : vblk_rw(b, !in, b->iov, niov, sector * VBLK_SECTOR);
		if (ret) {
			/* A failing disk fails every request: rate-limited. */
			if (virtio_log_ratelimit(&b->logged))
				log_warn("virtio-blk: %s of %u bytes at sector %" PRIu64 ": %s",
					 in ? "read" : "write", data_len, sector, strerror(-ret));
			return VIRTIO_BLK_S_IOERR;
		}
		if (in) {
			virtio_stat_add(&b->reads, 1);
			virtio_stat_add(&b->bytes_read, data_len);
			*written = data_len;
		} else {
			virtio_stat_add(&b->writes, 1);
			virtio_stat_add(&b->bytes_written, data_len);
		}
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
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

static int vblk_queue_notify(void *dev, struct virtq *q, unsigned qi)
{
	struct vblk *b = dev;
	int n = 0, ret;

	(void)qi;
	while ((ret = virtq_pop(q, &b->chain)) > 0) {
		uint32_t written = 0;
		uint8_t status;

		if (b->chain.in_len < 1) {
			/* No room for a status byte: nothing sensible to answer. */
			virtio_stat_add(&b->errors, 1);
		} else {
			status = vblk_request(b, q, &written);
			if (status != VIRTIO_BLK_S_OK)
				virtio_stat_add(&b->errors, 1);
			/* The status byte is the chain's last writable byte. */
			if (virtq_chain_write(q, &b->chain, b->chain.in_len - 1, &status, 1) < 0)
				return -EINVAL;
			written++;
		}
		if (virtq_push(q, b->chain.head, written) < 0)
			return -EINVAL;
		n++;
	}
	return ret < 0 ? ret : n;
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
	.reset = virtio_reset_none, /* no per-driver state beyond the queue */
	.driver_ok = virtio_driver_ok_none,
	.save = virtio_save_none, /* nothing beyond the queues: blk.h */
	.load = virtio_load_none,
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

int vblk_open(struct vblk *b, const struct gmem *m, const struct vblk_opts *o)
{
	struct stat st;
	uint64_t size;
	int flags = (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->direct ? O_DIRECT : 0);

	memset(b, 0, sizeof(*b));
	b->m = m;
	b->read_only = o->read_only;
	b->fd = open(o->path, flags);
	if (b->fd < 0) {
		int err = errno;

		log_err("--disk '%s': %s", o->path, strerror(err));
		return -err;
	}
	if (fstat(b->fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		log_err("--disk '%s': not a regular file or block device", o->path);
		vblk_close(b);
		return -EINVAL;
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
		close(b->fd);
	b->fd = -1;
}
