/*
 * virtq.c: split virtqueue, device side (see virtq.h for the contract).
 *
 * Owns: reading the avail ring and descriptor tables, validating chains,
 * writing the used ring and avail_event. Does not own: the buffers' bytes
 * beyond the copy helpers, the transport, interrupts, device status.
 *
 * Threads: whichever thread holds the owning device's mutex (virtq.h); the
 * driver runs concurrently on guest CPUs, hence the barriers below. Each
 * barrier names the driver-side barrier it pairs with (virtio 1.2 §2.7.13,
 * and in Linux drivers/virtio/virtio_ring.c).
 *
 * Layout (virtio 1.2 §2.7.5, §2.7.6, §2.7.8), all fields little-endian:
 *   desc[i]  at desc + 16 i:  le64 addr, le32 len, le16 flags, le16 next
 *   avail:   le16 flags @0, le16 idx @2, le16 ring[num] @4, le16 used_event
 *   used:    le16 flags @0, le16 idx @2, {le32 id, le32 len} ring[num] @4,
 *            le16 avail_event
 */
#include "virtio/virtq.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/uio.h>

#include "gmem.h"
#include "log.h"

/* Byte offsets inside the rings, virtio 1.2 §2.7.6 and §2.7.8. */
#define VIRTQ_AVAIL_FLAGS     0
#define VIRTQ_AVAIL_IDX       2
#define VIRTQ_AVAIL_RING      4
#define VIRTQ_AVAIL_ELEM_SIZE 2 /* le16 head index; le16 used_event follows */
#define VIRTQ_USED_IDX        2
#define VIRTQ_USED_RING       4
#define VIRTQ_USED_ELEM_SIZE  8 /* le32 id, le32 len; le16 avail_event follows */

/* One descriptor, decoded from the single copy taken of it. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/*
 * Little-endian helpers. Going through bytes keeps them correct on any host
 * without an #if, and the compiler turns them into plain moves on x86/arm64.
 */
static uint16_t virtq_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t virtq_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t virtq_get64(const uint8_t *p)
{
	return (uint64_t)virtq_get32(p) | (uint64_t)virtq_get32(p + 4) << 32;
}

static void virtq_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A 16-bit ring field as loaded in host order -> its value, and back. */
static uint16_t virtq_from_le16(uint16_t raw)
{
	uint8_t b[2];

	memcpy(b, &raw, sizeof(b));
	return virtq_get16(b);
}

static uint16_t virtq_to_le16(uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	uint16_t raw;

	memcpy(&raw, b, sizeof(raw));
	return raw;
}

/*
 * Host address of a 16-bit ring field. virtq_setup checked that every ring
 * lies in RAM and is aligned (guest and host side), so failure is our bug.
 */
static uint16_t *virtq_field16(const struct virtq *q, uint64_t gpa)
{
	uint16_t *p = gmem_ptr(q->m, gpa, sizeof(uint16_t));

	VMON_BUG_ON(!p || ((uintptr_t)p & 1));
	return p;
}


void virtq_reset(struct virtq *q)
{
	uint64_t popped = q->popped, pushed = q->pushed, errors = q->errors;

	memset(q, 0, sizeof(*q));
	q->popped = popped;
	q->pushed = pushed;
	q->errors = errors;
}

int virtq_setup(struct virtq *q, const struct gmem *m, uint16_t num,
		uint64_t desc, uint64_t avail, uint64_t used,
		bool event_idx, bool indirect)
{
	const char *why = NULL;
	void *pavail = NULL, *pused = NULL;

	virtq_reset(q);
	if (!m)
		return -EINVAL; /* our caller's bug, not the guest's */
	/* virtio 1.2 §2.7: "Queue Size value is always a power of 2", <= 32768. */
	if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		why = "size is not a power of two in [1, 32768]";
	else if (desc % VIRTQ_DESC_ALIGN || avail % VIRTQ_AVAIL_ALIGN ||
		 used % VIRTQ_USED_ALIGN)
		why = "ring misaligned (virtio 1.2 §2.7.1)";
	else if (!gmem_ptr(m, desc, VIRTQ_DESC_TABLE_SIZE(num)) ||
		 !(pavail = gmem_ptr(m, avail, VIRTQ_AVAIL_RING_SIZE(num))) ||
		 !(pused = gmem_ptr(m, used, VIRTQ_USED_RING_SIZE(num))))
		why = "ring not wholly inside guest RAM";
	else if (((uintptr_t)pavail & 1) || ((uintptr_t)pused & 3))
		/* Regions are page-aligned on both sides; only a bad test setup gets here. */
		why = "host mapping misaligned";
	if (why) {
		/*
		 * Counted, and logged rate-limited with what was dropped
		 * (log_limited_at), so a driver that keeps resetting and
		 * breaking the queue cannot flood the log (STYLE.md).
		 */
		q->errors++;
		log_limited_at(q->errors, LOG_WARN,
			       "virtq: refusing queue size %u desc 0x%" PRIx64 " avail 0x%" PRIx64
			       " used 0x%" PRIx64 ": %s (error %" PRIu64 ")",
			       (unsigned)num, desc, avail, used, why, q->errors);
		return -EINVAL;
	}
	q->m = m;
	q->num = num;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->ready = true;
	return 0;
}

/*
 * Copy one descriptor out of guest memory, exactly once. The driver may
 * rewrite it while we look; every check and every use below reads the local
 * copy. The compiler barrier forbids re-reading guest memory in place of
 * the copy (a double fetch the compiler could otherwise introduce).
 */
static int virtq_fetch_desc(const struct virtq *q, uint64_t table, uint32_t i,
			    struct virtq_desc *d)
{
	uint8_t raw[VIRTQ_DESC_SIZE];

	if (gmem_read(q->m, table + (uint64_t)i * VIRTQ_DESC_SIZE, raw, sizeof(raw)))
		return -EFAULT;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = virtq_get64(raw);
	d->len = virtq_get32(raw + 8);
	d->flags = virtq_get16(raw + 12);
	d->next = virtq_get16(raw + 14);
	return 0;
}

/* Why a pop failed, for the one log line. */
struct virtq_walk_err {
	const char *why;
	uint64_t at;      /* table (or ring) being read */
	const char *what; /* what value is: "index" unless said otherwise */
	uint32_t value;   /* descriptor index in it, or the offending value */
};

/*
 * Follow the chain at `head` (already < num) into c. Bounded: each table is
 * read at most as many times as it has entries (a longer walk is a cycle,
 * virtio 1.2 §2.7.5.2 forbids loops), and at most VIRTQ_MAX_CHAIN buffers
 * plus one indirect descriptor are read in all.
 */
static int virtq_walk(const struct virtq *q, uint16_t head,
		      struct virtq_chain *c, struct virtq_walk_err *e)
{
	uint64_t table = q->desc;  /* where descriptors are read from now */
	uint32_t entries = q->num; /* ... how many it holds */
	uint32_t visited = 0;      /* ... and how many we read from it */
	uint32_t i = head;
	unsigned nbuf = 0;         /* buffer descriptors, zero-length included */
	bool in_indirect = false, seen_write = false;
	uint64_t total = 0;

	c->head = head;
	c->n = 0;
	c->out_len = 0;
	c->in_len = 0;
	for (;;) {
		struct virtq_desc d;
		bool write;
		int ret;

		e->at = table;
		e->value = i;
		if (visited++ == entries) {
			e->why = "chain longer than its table (a loop)";
			return -ELOOP;
		}
		ret = virtq_fetch_desc(q, table, i, &d);
		if (ret) {
			/* Both tables were range-checked whole; this is our bug. */
			e->why = "descriptor table unreadable";
			return ret;
		}

		/* Flag bits other than NEXT, WRITE and INDIRECT mean nothing in a
		 * split ring (§2.7.5 defines no others) and are ignored. */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* virtio 1.2 §2.7.5.3.1: only when negotiated, never inside
			 * an indirect table, never together with NEXT. A chain may
			 * however end in one after direct descriptors (§2.7.5.3.2).
			 * Its WRITE flag is ignored, as §2.7.5.3.2 requires. */
			if (!q->indirect) {
				e->why = "INDIRECT flag without VIRTIO_F_INDIRECT_DESC";
				return -EINVAL;
			}
			if (in_indirect) {
				e->why = "INDIRECT flag inside an indirect table";
				return -EINVAL;
			}
			if (d.flags & VIRTQ_DESC_F_NEXT) {
				e->why = "INDIRECT together with NEXT";
				return -EINVAL;
			}
			/* The table holds len / 16 descriptors (§2.7.5.3): a
			 * length that is 0 or leaves a partial one is malformed. */
			if (d.len == 0 || d.len % VIRTQ_DESC_SIZE) {
				e->why = "indirect table length not a nonzero multiple of 16";
				return -EINVAL;
			}
			if (!gmem_ptr(q->m, d.addr, d.len)) {
				e->why = "indirect table outside guest RAM";
				return -EFAULT;
			}
			/* No alignment is required of an indirect table (§2.7.5.3
			 * names none); we only ever copy from it bytewise. */
			table = d.addr;
			entries = d.len / VIRTQ_DESC_SIZE;
			visited = 0;
			i = 0; /* the table's chain starts at entry 0 (§2.7.5.3) */
			in_indirect = true;
			continue;
		}

		if (++nbuf > VIRTQ_MAX_CHAIN) {
			e->why = "more buffers than VIRTQ_MAX_CHAIN";
			return -E2BIG;
		}
		/* virtio 1.2 §2.7.4.2: device-writable descriptors come after
		 * all device-readable ones. Checked on flags alone, so it holds
		 * for zero-length descriptors too. */
		write = d.flags & VIRTQ_DESC_F_WRITE;
		if (seen_write && !write) {
			e->why = "device-readable descriptor after a device-writable one";
			return -EINVAL;
		}
		if (write)
			seen_write = true;

		/*
		 * Zero-length descriptors: virtio 1.2 has no rule against them
		 * (§2.7.5 gives none, and §2.7.4.1 says the device MUST NOT
		 * assume a particular arrangement), though QEMU rejects them.
		 * We accept and drop them: no byte of one is ever accessed, so
		 * its address is not checked, but it still counts towards
		 * VIRTQ_MAX_CHAIN and the loop bound above, so it cannot make
		 * a walk longer.
		 */
		if (d.len != 0) {
			struct virtq_buf *b;

			if (!gmem_ptr(q->m, d.addr, d.len)) {
				e->why = "buffer not wholly inside guest RAM";
				return -EFAULT;
			}
			/* virtio 1.2 §2.7.5.2 caps a chain at 2^32 bytes; we stop one
			 * byte short so that in_len, out_len and used.len fit 32 bits. */
			total += d.len;
			if (total > UINT32_MAX) {
				e->why = "buffers add up to 4 GiB or more";
				return -EOVERFLOW;
			}
			VMON_BUG_ON(c->n >= VIRTQ_MAX_CHAIN); /* nbuf >= n bounds it */
			b = &c->buf[c->n++];
			b->gpa = d.addr;
			b->len = d.len;
			b->write = write;
			if (write)
				c->in_len += d.len;
			else
				c->out_len += d.len;
		}

		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= entries) {
			e->value = d.next;
			e->why = "next index outside its table";
			return -EINVAL;
		}
		i = d.next;
	}
}

/* avail->idx. The acquire pairs with the driver's write barrier before it
 * bumps avail->idx (virtio 1.2 §2.7.13.3.1; virtio_wmb in Linux's
 * virtqueue_add_split): ring entries and descriptors read after this load
 * are at least as new as the index. */
static uint16_t virtq_avail_idx(const struct virtq *q)
{
	return virtq_from_le16(__atomic_load_n(virtq_field16(q, q->avail + VIRTQ_AVAIL_IDX),
					       __ATOMIC_ACQUIRE));
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	struct virtq_walk_err e = { NULL, 0, "index", 0 };
	uint16_t avail_idx, pending, head;
	uint16_t *slot;
	int ret;

	if (!q->ready)
		return 0;
	if (q->broken)
		return -EIO;

	avail_idx = virtq_avail_idx(q);
	if (avail_idx == q->last_avail_idx && q->event_idx) {
		/*
		 * Going idle: ask the driver to notify when it fills the entry
		 * at last_avail_idx (virtio 1.2 §2.7.10), then look again. The
		 * full fence orders our avail_event store before that second
		 * load of avail->idx; it pairs with the driver's full barrier
		 * between bumping avail->idx and reading avail_event (§2.7.13.4.1;
		 * virtio_mb in Linux's virtqueue_kick_prepare_split). Without it
		 * both sides could miss the other's store and the queue stall.
		 */
		__atomic_store_n(virtq_field16(q, q->used + VIRTQ_USED_RING +
						  (uint64_t)VIRTQ_USED_ELEM_SIZE * q->num),
				 virtq_to_le16(q->last_avail_idx), __ATOMIC_RELAXED);
		gmem_mark_dev(q->m, q->used, VIRTQ_USED_RING_SIZE(q->num));
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = virtq_avail_idx(q);
	}
	if (avail_idx == q->last_avail_idx)
		return 0;

	/* The driver can expose at most num chains at once (§2.7.13: the
	 * ring cannot wrap). More means it is confused or hostile. */
	pending = (uint16_t)(avail_idx - q->last_avail_idx);
	if (pending > q->num) {
		ret = -EINVAL;
		e.why = "avail idx ran more than the queue size ahead (driver confused)";
		e.at = q->avail;
		e.what = "avail idx";
		e.value = avail_idx;
		goto bad;
	}

	/* One relaxed atomic load: head is fetched once and never re-read. */
	slot = virtq_field16(q, q->avail + VIRTQ_AVAIL_RING +
				    (uint64_t)VIRTQ_AVAIL_ELEM_SIZE * (q->last_avail_idx & (q->num - 1)));
	head = virtq_from_le16(__atomic_load_n(slot, __ATOMIC_RELAXED));
	if (head >= q->num) {
		ret = -EINVAL;
		e.why = "head index outside the descriptor table";
		e.at = q->desc;
		e.value = head;
		goto bad;
	}

	ret = virtq_walk(q, head, c, &e);
	if (ret)
		goto bad;
	/* A live migration resends what the device may write from now on (gmem.h). */
	for (unsigned i = 0; i < c->n; i++)
		if (c->buf[i].write)
			gmem_mark_dev(q->m, c->buf[i].gpa, c->buf[i].len);
	gmem_mark_dev(q->m, q->used, VIRTQ_USED_RING_SIZE(q->num));
	q->last_avail_idx++;
	q->popped++;
	return 1;

bad:
	q->broken = true;
	q->errors++;
	log_limited_at(q->errors, LOG_WARN,
		       "virtq desc 0x%" PRIx64 ": avail entry %u: %s (at 0x%" PRIx64 ", %s %" PRIu32
		       "); queue needs reset (error %" PRIu64 ")",
		       q->desc, (unsigned)q->last_avail_idx, e.why, e.at, e.what, e.value,
		       q->errors);
	return ret;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	uint8_t elem[VIRTQ_USED_ELEM_SIZE];
	uint64_t gpa;

	if (!q->ready || head >= q->num)
		return -EINVAL;
	virtq_put32(elem, head);        /* le32 id */
	virtq_put32(elem + 4, written); /* le32 len */
	gpa = q->used + VIRTQ_USED_RING +
	      (uint64_t)VIRTQ_USED_ELEM_SIZE * (q->used_idx & (q->num - 1));
	if (gmem_write(q->m, gpa, elem, sizeof(elem)))
		return -EFAULT; /* unreachable: the ring was range-checked */
	gmem_mark_dev(q->m, q->used, VIRTQ_USED_RING_SIZE(q->num));
	q->used_idx++;
	/*
	 * Publish. The release orders the element above, and the device's
	 * earlier reads and writes of the chain's buffers, before the new
	 * index (virtio 1.2 §2.7.8.2: len is set before idx). It pairs with the
	 * driver's read barrier between loading used->idx and reading the
	 * element (virtio_rmb in Linux's virtqueue_get_buf_ctx_split).
	 */
	__atomic_store_n(virtq_field16(q, q->used + VIRTQ_USED_IDX),
			 virtq_to_le16(q->used_idx), __ATOMIC_RELEASE);
	q->pushed++;
	return 0;
}

bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	/* Entries old_idx .. new_idx-1 were just used; notify if event is one
	 * of them. Distances are taken mod 2^16 so wrap-around is free. */
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_needs_notify(struct virtq *q)
{
	uint16_t old, event, flags;
	bool valid;

	if (!q->ready)
		return false;
	/*
	 * Order our used->idx store (virtq_push) before reading the driver's
	 * suppression state. Pairs with the driver's full barrier between
	 * writing flags / used_event and re-reading used->idx (virtio 1.2
	 * §2.7.14 note; virtio_mb in Linux's virtqueue_enable_cb_prepare_split
	 * and virtqueue_poll). Without it the driver could sleep on an index
	 * it read before our push while we read its stale "no interrupt".
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!q->event_idx) {
		/* virtio 1.2 §2.7.7.2: flags 1 means SHOULD NOT notify. */
		flags = virtq_from_le16(__atomic_load_n(
			virtq_field16(q, q->avail + VIRTQ_AVAIL_FLAGS), __ATOMIC_RELAXED));
		return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}

	old = q->signalled_used;
	valid = q->signalled_valid;
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	/* First call since setup: we know no previous index, so notify. */
	if (!valid)
		return true;
	event = virtq_from_le16(__atomic_load_n(
		virtq_field16(q, q->avail + VIRTQ_AVAIL_RING +
				 (uint64_t)VIRTQ_AVAIL_ELEM_SIZE * q->num),
		__ATOMIC_RELAXED));
	return virtq_need_event(event, q->used_idx, old);
}

/*
 * The one walk over a chain's bytes: visit [offset, offset + len) of its
 * device-readable (writable == false) or device-writable bytes, taken end
 * to end, one guest segment at a time. fn returns 0 or -errno to stop.
 * -EINVAL if the range does not fit inside out_len / in_len.
 */
static int virtq_chain_walk(const struct virtq *q, const struct virtq_chain *c, bool writable,
			    uint64_t offset, uint64_t len,
			    int (*fn)(void *ctx, uint64_t gpa, size_t len), void *ctx)
{
	uint64_t avail = writable ? c->in_len : c->out_len, done = 0;

	if (!q->m || offset > avail || len > avail - offset)
		return -EINVAL;
	VMON_BUG_ON(c->n > VIRTQ_MAX_CHAIN);
	for (unsigned i = 0; i < c->n && done < len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		uint64_t chunk;
		int ret;

		if (b->write != writable)
			continue;
		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		chunk = b->len - offset;
		if (chunk > len - done)
			chunk = len - done;
		ret = fn(ctx, b->gpa + offset, (size_t)chunk);
		if (ret)
			return ret;
		done += chunk;
		offset = 0;
	}
	VMON_BUG_ON(done != len); /* in_len / out_len were summed from buf[] */
	return 0;
}

struct virtq_copy {
	const struct gmem *m;
	uint8_t *to_host;         /* chain_read: fill this */
	const uint8_t *from_host; /* chain_write: store this */
	size_t done;
};

static int virtq_copy_seg(void *ctx, uint64_t gpa, size_t len)
{
	struct virtq_copy *cp = ctx;
	int ret = cp->to_host ? gmem_read(cp->m, gpa, cp->to_host + cp->done, len)
			      : gmem_write(cp->m, gpa, cp->from_host + cp->done, len);

	cp->done += len;
	return ret;
}

struct virtq_iov {
	const struct gmem *m;
	struct iovec *iov;
	unsigned n, max;
};

static int virtq_iov_seg(void *ctx, uint64_t gpa, size_t len)
{
	struct virtq_iov *v = ctx;
	void *p;

	if (v->n == v->max)
		return -ENOSPC;
	p = gmem_ptr(v->m, gpa, len);
	if (!p)
		return -EFAULT;
	v->iov[v->n].iov_base = p;
	v->iov[v->n].iov_len = len;
	v->n++;
	return 0;
}

int virtq_chain_iov(const struct virtq *q, const struct virtq_chain *c, bool writable,
		    uint64_t offset, uint64_t len, struct iovec *iov, unsigned max)
{
	struct virtq_iov v = { .m = q->m, .iov = iov, .max = max };
	int ret = virtq_chain_walk(q, c, writable, offset, len, virtq_iov_seg, &v);

	return ret ? ret : (int)v.n;
}

int64_t virtq_chain_read(const struct virtq *q, const struct virtq_chain *c,
			 uint64_t offset, void *dst, size_t len)
{
	struct virtq_copy cp = { .m = q->m, .to_host = dst };
	int ret = virtq_chain_walk(q, c, false, offset, len, virtq_copy_seg, &cp);

	return ret ? ret : (int64_t)len;
}

int64_t virtq_chain_write(const struct virtq *q, const struct virtq_chain *c,
			  uint64_t offset, const void *src, size_t len)
{
	struct virtq_copy cp = { .m = q->m, .from_host = src };
	int ret = virtq_chain_walk(q, c, true, offset, len, virtq_copy_seg, &cp);

	return ret ? ret : (int64_t)len;
}
