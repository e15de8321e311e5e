/*
 * virtq.h: the device side of a split virtqueue (virtio 1.2 §2.7), shared by
 * every virtio device and independent of the transport.
 *
 * Owns: the device's view of one queue (its layout, the avail and used
 * cursors, notification state) and the parser that turns a driver's
 * descriptor chain into a bounded, validated list of guest buffers.
 * Does not own: feature negotiation or the device status register (the
 * transport does), interrupts and doorbells (the caller acts on
 * virtq_needs_notify), the bytes inside the buffers (devices move them with
 * virtq_chain_read / virtq_chain_write), packed queues (not supported).
 *
 * Threads: no locking inside. A queue belongs to one device, and every call
 * on it is made with that device's mutex held: setup and reset from the
 * thread that handles the transport's register write (a vCPU), pop, push
 * and needs_notify from the device's I/O thread. The driver, on other CPUs,
 * writes the avail ring and descriptors concurrently; this code copies what
 * it reads once and orders its accesses with the barriers named in virtq.c.
 *
 * Trust: everything in guest memory is hostile. A malformed chain makes
 * virtq_pop return -errno and leaves guest memory untouched; the caller then
 * sets DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2). No call allocates.
 */
#ifndef VMON_VIRTQ_H
#define VMON_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gmem;

/* Descriptor flags, virtio 1.2 §2.7.5 (struct virtq_desc). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

/* avail->flags, virtio 1.2 §2.7.6; used->flags, virtio 1.2 §2.7.8. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

/* Largest queue size (a power of two that fits 16 bits), virtio 1.2 §2.7. */
#define VIRTQ_MAX_SIZE 32768

/*
 * Ring part sizes and alignments, from the table in virtio 1.2 §2.7 (made
 * mandatory for the driver by §2.7.1). The sizes include used_event and
 * avail_event, which exist whether or not VIRTIO_F_EVENT_IDX is negotiated.
 */
#define VIRTQ_DESC_SIZE        16
#define VIRTQ_DESC_ALIGN       16
#define VIRTQ_AVAIL_ALIGN      2
#define VIRTQ_USED_ALIGN       4
#define VIRTQ_DESC_TABLE_SIZE(num) ((uint64_t)VIRTQ_DESC_SIZE * (num))
#define VIRTQ_AVAIL_RING_SIZE(num) (6 + 2 * (uint64_t)(num))
#define VIRTQ_USED_RING_SIZE(num)  (6 + 8 * (uint64_t)(num))

/*
 * Most buffers one chain may carry, counting every non-indirect descriptor
 * (zero-length ones too), whether in the descriptor table or an indirect
 * table. virtio 1.2 §2.7.4.1 lets a device set "a reasonable limit"; 1024
 * matches Linux's UIO_MAXIOV and QEMU's per-request cap, so devices should
 * advertise seg_max and friends below it. It also bounds the walk, so a
 * hostile chain costs at most VIRTQ_MAX_CHAIN + 1 descriptor reads.
 */
#define VIRTQ_MAX_CHAIN 1024

struct virtq {
	const struct gmem *m;
	uint64_t desc;  /* guest physical address of the descriptor table */
	uint64_t avail; /* ... of the available (driver) ring */
	uint64_t used;  /* ... of the used (device) ring */
	uint16_t num;   /* queue size, a power of two */
	bool ready;     /* set by a successful virtq_setup */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
	bool broken;    /* a malformed chain was seen; pop refuses until reset */
	/*
	 * Set by a device's queue_notify that stopped at its per-pass budget
	 * with work left (the core clears it before each pass and, when set
	 * after one, kicks the queue again through the transport). Not state.
	 */
	bool more;

	uint16_t last_avail_idx; /* next avail ring entry the device consumes */
	uint16_t used_idx;       /* shadow of used->idx, which only we write */
	uint16_t signalled_used; /* used_idx at the last virtq_needs_notify */
	bool signalled_valid;    /* false until the first virtq_needs_notify */

	/* Statistics; they survive virtq_reset so a reset loop stays visible. */
	uint64_t popped; /* chains handed to the device */
	uint64_t pushed; /* chains returned to the driver */
	uint64_t errors; /* malformed chains and rejected layouts */
};

/* One guest buffer of a chain, already checked to lie wholly in guest RAM. */
struct virtq_buf {
	uint64_t gpa;
	uint32_t len;  /* never 0: zero-length descriptors are dropped */
	bool write;    /* device-writable (VIRTQ_DESC_F_WRITE) */
};

/*
 * A popped chain: device-readable buffers first, then device-writable ones
 * (virtio 1.2 §2.7.4.2; virtq_pop rejects any other order). out_len and
 * in_len are the byte totals of each kind; out_len + in_len < 2^32.
 * About 16 KiB: keep it in the device, not on a small stack.
 */
struct virtq_chain {
	uint16_t head;    /* what virtq_push must return to the driver */
	unsigned n;       /* buffers used in buf[] */
	uint32_t out_len; /* sum of device-readable lengths */
	uint32_t in_len;  /* sum of device-writable lengths */
	struct virtq_buf buf[VIRTQ_MAX_CHAIN];
};

/*
 * Validate the layout the driver wrote and make the queue ready (call when
 * the driver sets the transport's queue-ready / queue-enable bit). num must
 * be a nonzero power of two <= VIRTQ_MAX_SIZE; desc, avail and used must
 * have the spec's alignment and lie wholly inside one region of guest RAM.
 * The rings may overlap each other or other buffers: that can only hurt the
 * guest, since everything is copied before it is checked. Guest memory is
 * not touched. Statistics are kept, everything else starts afresh.
 * Returns 0, or -EINVAL and leaves the queue not ready.
 */
int virtq_setup(struct virtq *q, const struct gmem *m, uint16_t num,
		uint64_t desc, uint64_t avail, uint64_t used,
		bool event_idx, bool indirect);

/* Forget the layout and cursors (device reset); keeps the statistics. */
void virtq_reset(struct virtq *q);

/*
 * Take the next available chain into c. Returns 1 with c filled, 0 if the
 * ring is empty or the queue is not ready, or a negative errno (c then
 * undefined) when the driver broke the rules:
 *   -EINVAL  avail->idx ran more than num ahead, a head or next index out of
 *            its table, a readable buffer after a writable one, or a misused
 *            VIRTQ_DESC_F_INDIRECT (not negotiated, nested, with NEXT, or a
 *            table length that is 0 or not a multiple of 16);
 *   -ELOOP   more descriptors followed than the table holds (a cycle);
 *   -E2BIG   more than VIRTQ_MAX_CHAIN buffers;
 *   -EFAULT  a buffer or indirect table not wholly inside guest RAM;
 *   -EOVERFLOW  the buffers add up to 2^32 bytes or more.
 *   -EIO     the queue broke earlier and has not been set up again since.
 * After an error the avail cursor does not move and the queue stays broken
 * until virtq_setup: the caller must set DEVICE_NEEDS_RESET (virtio 1.2
 * §2.1.2). Never writes guest memory, except avail_event (below).
 *
 * With VIRTIO_F_EVENT_IDX, finding the ring empty asks the driver to notify
 * at the next entry (writes avail_event, then looks again so a chain added
 * meanwhile is not missed). So devices drain with
 * `while ((r = virtq_pop(q, &c)) > 0)` and wait for a notification only
 * after a 0.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/*
 * Return chain `head` to the driver: write a used element saying `written`
 * bytes were stored in its writable buffers, then publish used->idx. The
 * device must have written those bytes (virtio 1.2 §2.7.8.2) and must not
 * pass more than the chain's in_len: the driver trusts this length.
 * Returns 0, or -EINVAL if the queue is not ready or head >= num.
 */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/*
 * After one or more virtq_push: must the driver be interrupted? Honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with VIRTIO_F_EVENT_IDX
 * (virtio 1.2 §2.7.7.2). Call once per batch; it remembers the used index
 * it was asked about. False if the queue is not ready.
 */
bool virtq_needs_notify(struct virtq *q);

/*
 * The EVENT_IDX rule (virtio 1.2 §2.7.7.2 and vring_need_event in Appendix
 * A): true if moving used->idx from old_idx to new_idx passed event, i.e.
 * event lies in [old_idx, new_idx) modulo 2^16. Pure; exported for tests.
 */
bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx);

/*
 * Copy len bytes starting `offset` bytes into the chain's device-readable
 * data (its readable buffers taken end to end) into dst, or copy src into
 * the device-writable data. All or nothing: if [offset, offset + len) does
 * not fit inside out_len (read) or in_len (write), returns -EINVAL having
 * copied nothing. Returns len on success; -EFAULT only if guest RAM went
 * away under a validated chain (not expected: regions never change).
 */
int64_t virtq_chain_read(const struct virtq *q, const struct virtq_chain *c,
			 uint64_t offset, void *dst, size_t len);
int64_t virtq_chain_write(const struct virtq *q, const struct virtq_chain *c,
			  uint64_t offset, const void *src, size_t len);

/*
 * Describe [offset, offset + len) of the chain's device-readable
 * (writable == false) or device-writable bytes as host iovecs, for
 * preadv/pwritev/readv/writev straight into guest buffers. Returns the
 * entries used, -EINVAL if the range does not fit, -ENOSPC if max entries
 * are too few, -EFAULT only if guest RAM went away (not expected).
 */
struct iovec;
int virtq_chain_iov(const struct virtq *q, const struct virtq_chain *c, bool writable,
		    uint64_t offset, uint64_t len, struct iovec *iov, unsigned max);

#endif
