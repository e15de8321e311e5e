/*
 * fuzz_virtq.c: libFuzzer harness for the split virtqueue core
 * (src/virtio/virtq.c): a hostile driver owns the ring layout, every
 * descriptor, both rings and the bytes between device calls.
 *
 * Owns: guest RAM in two regions, as on x86 (below the hole, above 4 GiB):
 * 1 MiB that receives the input's image, a 1 MiB hole, then 8 MiB of zeros
 * (big enough that 1024 aliased buffers pass 4 GiB), each between PROT_NONE
 * guard pages. The layout sits at one of a few guest physical bases (0,
 * 1 MiB, 16 MiB under 2^64, 2 GiB - 64 KiB) so a forgotten base or a sum that
 * wraps shows up. Also one queue and one chain. RAM is zeroed with
 * MADV_DONTNEED before each run (only touched pages cost anything).
 * Does not own transports or devices. Threads: libFuzzer's one; the driver
 * is simulated between calls (POKE), not concurrently.
 *
 * Input layout (little-endian; tests/fuzz/make-seeds.py writes seeds):
 *   0      u16  queue size, passed to virtq_setup as is
 *   2      u8   flags: bit0 EVENT_IDX, bit1 INDIRECT_DESC, bits 2-3 base
 *   3      u8   final drain: process up to (this & 15) + 1 chains at the end
 *   4      u32  desc  (offset from the base)
 *   8      u32  avail (offset from the base)
 *   12     u32  used  (offset from the base)
 *   16     u32  where the image goes (offset in the 1 MiB region, modulo 1 MiB)
 *   20     u16  length of the op script that follows the header
 *   22     u16  reserved
 *   24          op script, then the image (the rest of the input)
 * Ops (one opcode byte, then its arguments; at most MAX_OPS):
 *   0 POP                            4 NOTIFY
 *   1 READ  u16 off, u16 len, u8 m   5 POKE  u32 off, u16 value (driver writes, 1 MiB region)
 *   2 WRITE u16 off, u16 len, u8 pat 6 SETUP u8 flags (reset, set up again)
 *   3 PUSH  u8 m, u16 head, u32 len  7 PROCESS (pop, read, write, push, notify)
 * (opcode & 7; READ/WRITE with m bit0 count off back from the end.)
 *
 * Checked: virtq_setup accepts exactly the layouts virtio 1.2 §2.7 allows;
 * a popped chain's buffers are nonzero, lie in RAM (gmem_ptr and our own
 * arithmetic), readable before writable, with out_len/in_len their sums
 * under 2^32 and head the avail entry; pop moves the cursor by one or not at
 * all, and after an error returns -EIO until set up again; pop and
 * needs_notify write nothing in the image but avail_event, push nothing but
 * its element and used->idx; chain_read/write copy exactly the bytes the
 * buffers hold or return -EINVAL; needs_notify follows §2.7.7.2. The image
 * is where the input puts its rings, so the "writes nothing" checks cover
 * it; zero-filled RAM outside it is guarded only by the sanitizers.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "gmem.h"
#include "log.h"
#include "util.h"
#include "virtio/virtq.h"

#define RAM_SIZE  (1ULL << 20) /* region 0 at the base: the image goes here */
#define HOLE_SIZE (1ULL << 20)
#define HIGH_SIZE (8ULL << 20) /* region 1 at base + RAM_SIZE + HOLE_SIZE */
#define HIGH_OFF  (RAM_SIZE + HOLE_SIZE)
#define HDR_SIZE  24
#define MAX_OPS   512
#define COPY_MAX  0xffffu /* READ/WRITE lengths are u16 */
#define PROCESS_CAP 0x4000u /* bytes PROCESS copies each way; aliasing makes chains huge */

enum { OP_POP, OP_READ, OP_WRITE, OP_PUSH, OP_NOTIFY, OP_POKE, OP_SETUP, OP_PROCESS };

/* Guest physical bases, chosen by flags bits 2-3; the third ends 6 MiB below 2^64. */
static const uint64_t bases[4] = { 0, 0x100000, 0xffffffffff000000ULL, 0x7fff0000 };

struct fz {
	uint8_t *ram, *high;
	struct gmem m;
	uint64_t base;
	struct virtq q;
	struct virtq_chain c; /* valid while have_chain */
	bool have_chain;
	/* The layout, kept for SETUP. */
	uint16_t num;
	uint64_t desc, avail, used;
	/* The image: its place in RAM and a snapshot for "wrote nothing" checks. */
	uint64_t img_off, img_len;
	uint8_t snap[1 << 16];
	uint8_t buf[COPY_MAX + 1];
};

/* libFuzzer harnesses keep their state here: one process, one input at a time. */
static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR); /* malformed chains are warnings */
	fz.ram = fuzz_guarded_ram(RAM_SIZE);
	fz.high = fuzz_guarded_ram(HIGH_SIZE);
	return 0;
}

/* [gpa, gpa+len) wholly inside [start, start+size), without overflow. */
static bool in_range(uint64_t gpa, uint64_t len, uint64_t start, uint64_t size)
{
	return gpa >= start && gpa - start <= size && len <= size - (gpa - start);
}

/* [gpa, gpa+len) wholly in one region, by our own arithmetic (not gmem's). */
static bool in_ram(uint64_t gpa, uint64_t len)
{
	return in_range(gpa, len, fz.base, RAM_SIZE) ||
	       in_range(gpa, len, fz.base + HIGH_OFF, HIGH_SIZE);
}

static uint8_t *host(uint64_t gpa, uint64_t len)
{
	FUZZ_CHECK(in_ram(gpa, len));
	if (in_range(gpa, len, fz.base, RAM_SIZE))
		return fz.ram + (gpa - fz.base);
	return fz.high + (gpa - fz.base - HIGH_OFF);
}

static uint16_t guest16(uint64_t gpa)
{
	return le16_get(host(gpa, 2));
}

/* Snapshot the image before a call that must not write it. */
static void snap_take(void)
{
	memcpy(fz.snap, fz.ram + fz.img_off, fz.img_len);
}

/* Allow [gpa, gpa+len) to differ from the snapshot (a legitimate write). */
static void snap_allow(uint64_t gpa, uint64_t len)
{
	uint64_t lo = fz.base + fz.img_off, hi = lo + fz.img_len, a = gpa, b = gpa + len;

	if (a < lo)
		a = lo;
	if (b > hi)
		b = hi;
	if (a < b)
		memcpy(fz.snap + (a - lo), fz.ram + (a - fz.base), b - a);
}

static void snap_check(void)
{
	FUZZ_CHECK(memcmp(fz.snap, fz.ram + fz.img_off, fz.img_len) == 0);
}

/* Address of avail_event (used ring, after the elements) and used_event. */
static uint64_t avail_event_gpa(void)
{
	return fz.used + 4 + 8ULL * fz.num;
}

static uint64_t used_event_gpa(void)
{
	return fz.avail + 4 + 2ULL * fz.num;
}

/* What virtq_setup must decide for this layout (virtio 1.2 §2.7, §2.7.1). */
static bool layout_ok(uint16_t num)
{
	return num != 0 && num <= VIRTQ_MAX_SIZE && !(num & (num - 1)) &&
	       fz.desc % 16 == 0 && fz.avail % 2 == 0 && fz.used % 4 == 0 &&
	       in_ram(fz.desc, 16ULL * num) && in_ram(fz.avail, 6 + 2ULL * num) &&
	       in_ram(fz.used, 6 + 8ULL * num);
}

static void do_setup(uint8_t flags)
{
	bool ok = layout_ok(fz.num);
	int ret = virtq_setup(&fz.q, &fz.m, fz.num, fz.desc, fz.avail, fz.used,
			      flags & 1, flags & 2);

	FUZZ_CHECK_EQ(ret, ok ? 0 : -EINVAL);
	FUZZ_CHECK(fz.q.ready == ok);
	FUZZ_CHECK(!fz.q.broken && fz.q.last_avail_idx == 0 && fz.q.used_idx == 0);
	fz.have_chain = false;
}

/* Everything virtq.h promises about a chain virtq_pop returned. */
static void check_chain(uint16_t first_avail)
{
	const struct virtq_chain *c = &fz.c;
	uint64_t out = 0, in = 0;
	bool seen_write = false;
	uint16_t slot = first_avail & (fz.num - 1);
	const uint8_t *d;

	FUZZ_CHECK(c->head < fz.num);
	FUZZ_CHECK_EQ(c->head, guest16(fz.avail + 4 + 2ULL * slot));
	FUZZ_CHECK(c->n <= VIRTQ_MAX_CHAIN);
	for (unsigned i = 0; i < c->n; i++) {
		const struct virtq_buf *b = &c->buf[i];

		FUZZ_CHECK(b->len != 0);
		FUZZ_CHECK(gmem_ptr(&fz.m, b->gpa, b->len) != NULL);
		FUZZ_CHECK(in_ram(b->gpa, b->len));
		FUZZ_CHECK(!(seen_write && !b->write));
		seen_write |= b->write;
		if (b->write)
			in += b->len;
		else
			out += b->len;
	}
	FUZZ_CHECK_EQ(c->out_len, out);
	FUZZ_CHECK_EQ(c->in_len, in);
	FUZZ_CHECK(out + in <= UINT32_MAX);
	/* A plain head descriptor with data is the first buffer, as written. */
	d = host(fz.desc + 16ULL * c->head, 16);
	if (!(le16_get(d + 12) & VIRTQ_DESC_F_INDIRECT) && le32_get(d + 8) != 0) {
		FUZZ_CHECK(c->n >= 1);
		FUZZ_CHECK_EQ(c->buf[0].gpa, le64_get(d));
		FUZZ_CHECK_EQ(c->buf[0].len, le32_get(d + 8));
		FUZZ_CHECK(c->buf[0].write == !!(le16_get(d + 12) & VIRTQ_DESC_F_WRITE));
	}
}

static int do_pop(void)
{
	uint16_t last = fz.q.last_avail_idx;
	uint64_t popped = fz.q.popped;
	bool ready = fz.q.ready, broken = fz.q.broken;
	int ret;

	snap_take();
	ret = virtq_pop(&fz.q, &fz.c);
	if (ready && fz.q.event_idx)
		snap_allow(avail_event_gpa(), 2);
	snap_check();

	if (!ready)
		FUZZ_CHECK_EQ(ret, 0);
	else if (broken)
		FUZZ_CHECK_EQ(ret, -EIO);
	FUZZ_CHECK(ret == 1 || ret == 0 || ret == -EINVAL || ret == -ELOOP || ret == -E2BIG ||
		   ret == -EFAULT || ret == -EOVERFLOW || ret == -EIO);
	fz.have_chain = ret == 1;
	if (ret == 1) {
		FUZZ_CHECK_EQ(fz.q.last_avail_idx, (uint16_t)(last + 1));
		FUZZ_CHECK_EQ(fz.q.popped, popped + 1);
		check_chain(last);
		return ret;
	}
	FUZZ_CHECK_EQ(fz.q.last_avail_idx, last);
	FUZZ_CHECK_EQ(fz.q.popped, popped);
	if (ret < 0)
		FUZZ_CHECK(fz.q.broken);
	/* Empty with EVENT_IDX: the driver was asked to notify at the next entry. */
	if (ret == 0 && ready && fz.q.event_idx)
		FUZZ_CHECK_EQ(guest16(avail_event_gpa()), last);
	return ret;
}

/*
 * Walk the chain's buffers of one direction as virtq.h defines the data:
 * taken end to end, starting `offset` bytes in. For a read, compare len
 * bytes with want; for a write, check every byte is pat.
 */
static void model_check(bool write, uint64_t offset, const uint8_t *want, uint8_t pat,
			size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < fz.c.n && done < len; i++) {
		const struct virtq_buf *b = &fz.c.buf[i];
		const uint8_t *p;
		size_t chunk;

		if (b->write != write)
			continue;
		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		chunk = b->len - offset;
		if (chunk > len - done)
			chunk = len - done;
		p = host(b->gpa + offset, chunk);
		if (write) {
			for (size_t j = 0; j < chunk; j++)
				FUZZ_CHECK(p[j] == pat);
		} else {
			FUZZ_CHECK(memcmp(p, want + done, chunk) == 0);
		}
		done += chunk;
		offset = 0;
	}
	FUZZ_CHECK_EQ(done, len);
}

static void do_copy(bool write, uint64_t off, size_t len, uint8_t pat, bool from_end)
{
	uint64_t total, offset;
	bool ok;
	int64_t ret;

	if (!fz.have_chain)
		return;
	total = write ? fz.c.in_len : fz.c.out_len;
	offset = from_end ? total - off : off; /* may wrap: must be refused */
	ok = fz.q.m && offset <= total && len <= total - offset;
	if (write) {
		memset(fz.buf, pat, len);
		ret = virtq_chain_write(&fz.q, &fz.c, offset, fz.buf, len);
	} else {
		ret = virtq_chain_read(&fz.q, &fz.c, offset, fz.buf, len);
	}
	FUZZ_CHECK_EQ(ret, ok ? (int64_t)len : -EINVAL);
	if (ok)
		model_check(write, offset, fz.buf, pat, len);
}

static void do_push(uint16_t head, uint32_t written)
{
	bool ok = fz.q.ready && head < fz.q.num;
	uint16_t used_idx = fz.q.used_idx;
	uint64_t elem;
	int ret;

	snap_take();
	ret = virtq_push(&fz.q, head, written);
	FUZZ_CHECK_EQ(ret, ok ? 0 : -EINVAL);
	if (!ok) {
		snap_check();
		FUZZ_CHECK_EQ(fz.q.used_idx, used_idx);
		return;
	}
	/* used ring: le16 flags, le16 idx, {le32 id, le32 len}[num] (§2.7.8). */
	elem = fz.used + 4 + 8ULL * (used_idx & (fz.num - 1));

	snap_allow(fz.used + 2, 2);
	snap_allow(elem, 8);
	snap_check();
	FUZZ_CHECK_EQ(fz.q.used_idx, (uint16_t)(used_idx + 1));
	FUZZ_CHECK_EQ(guest16(fz.used + 2), fz.q.used_idx);
	FUZZ_CHECK_EQ(le32_get(host(elem, 8)), head);
	FUZZ_CHECK_EQ(le32_get(host(elem, 8) + 4), written);
}

static bool do_notify(void)
{
	bool ready = fz.q.ready, valid = fz.q.signalled_valid, want, got;
	uint16_t old = fz.q.signalled_used, now = fz.q.used_idx;

	snap_take();
	got = virtq_needs_notify(&fz.q);
	snap_check();
	if (!ready) {
		want = false;
	} else if (!fz.q.event_idx) {
		/* §2.7.7.2: VIRTQ_AVAIL_F_NO_INTERRUPT set means do not. */
		want = !(guest16(fz.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	} else {
		/* §2.7.7.2: notify when used->idx moved past used_event, i.e.
		 * used_event is one of the entries old .. now-1 (mod 2^16). */
		uint16_t ev = guest16(used_event_gpa());

		want = !valid || (uint16_t)(ev - old) < (uint16_t)(now - old);
		FUZZ_CHECK(fz.q.signalled_valid && fz.q.signalled_used == now);
	}
	FUZZ_CHECK_EQ(got, want);
	return got;
}

/* What a device does with one chain: consume, produce, return, notify. */
static void do_process(uint8_t pat)
{
	uint32_t out, in;

	if (do_pop() != 1)
		return;
	out = fz.c.out_len < PROCESS_CAP ? fz.c.out_len : PROCESS_CAP;
	in = fz.c.in_len < PROCESS_CAP ? fz.c.in_len : PROCESS_CAP;
	do_copy(false, 0, out, 0, false);
	do_copy(true, 0, in, pat, false);
	do_push(fz.c.head, in);
	do_notify();
}

static void run_ops(struct fuzz_in *ops)
{
	for (unsigned n = 0; n < MAX_OPS && ops->left; n++) {
		uint8_t op = fuzz_u8(ops);

		switch (op & 7) {
		case OP_POP:
			do_pop();
			break;
		case OP_READ:
		case OP_WRITE: {
			uint16_t off = fuzz_u16(ops), len = fuzz_u16(ops);
			uint8_t m = fuzz_u8(ops);

			do_copy((op & 7) == OP_WRITE, off, len, m, m & 1);
			break;
		}
		case OP_PUSH: {
			uint8_t m = fuzz_u8(ops);
			uint16_t head = fuzz_u16(ops);
			uint32_t written = fuzz_u32(ops);

			do_push((m & 1) && fz.have_chain ? fz.c.head : head, written);
			break;
		}
		case OP_NOTIFY:
			do_notify();
			break;
		case OP_POKE: {
			uint32_t off = fuzz_u32(ops);
			uint16_t v = fuzz_u16(ops);

			if (off < RAM_SIZE - 1)
				le16_put(fz.ram + off, v);
			break;
		}
		case OP_SETUP:
			do_setup(fuzz_u8(ops));
			break;
		default:
			do_process(op);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size }, ops;
	uint8_t flags, drain;
	uint16_t ops_len;

	if (size < HDR_SIZE)
		return -1;
	fz.num = fuzz_u16(&in);
	flags = fuzz_u8(&in);
	drain = fuzz_u8(&in);
	fz.base = bases[(flags >> 2) & 3];
	fz.desc = fz.base + fuzz_u32(&in);
	fz.avail = fz.base + fuzz_u32(&in);
	fz.used = fz.base + fuzz_u32(&in);
	fz.img_off = fuzz_u32(&in) % RAM_SIZE;
	ops_len = fuzz_u16(&in);
	(void)fuzz_u16(&in);
	if (ops_len > in.left)
		ops_len = (uint16_t)in.left;
	ops = (struct fuzz_in){ in.p, ops_len };
	in.p += ops_len;
	in.left -= ops_len;

	/* Fresh RAM: zero pages on next touch, then the image. */
	FUZZ_SETUP(madvise(fz.ram, RAM_SIZE, MADV_DONTNEED) == 0);
	FUZZ_SETUP(madvise(fz.high, HIGH_SIZE, MADV_DONTNEED) == 0);
	fz.img_len = in.left;
	if (fz.img_len > RAM_SIZE - fz.img_off)
		fz.img_len = RAM_SIZE - fz.img_off;
	if (fz.img_len > sizeof(fz.snap))
		fz.img_len = sizeof(fz.snap);
	memcpy(fz.ram + fz.img_off, in.p, fz.img_len);

	/* Two regions, as x86_mem_init lays them out, but over our memory. */
	FUZZ_SETUP(gmem_init_flat(&fz.m, fz.ram, fz.base, RAM_SIZE) == 0);
	fz.m.region[1] = (struct gmem_region){ fz.base + HIGH_OFF, HIGH_SIZE, fz.high };
	fz.m.nr_regions = 2;
	fz.m.ram_size += HIGH_SIZE;
	memset(&fz.q, 0, sizeof(fz.q));
	do_setup(flags);
	run_ops(&ops);
	for (unsigned i = 0; i <= (drain & 15u) && fz.q.ready && !fz.q.broken; i++)
		do_process((uint8_t)i);
	return 0;
}
