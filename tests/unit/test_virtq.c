/*
 * test_virtq.c: unit tests for src/virtio/virtq.c.
 *
 * Owns: a fake guest (flat RAM described by gmem_init_flat, placed at a
 * nonzero guest physical base so a forgotten base shows up) and a fake
 * driver that writes descriptors and rings the way a guest would. Does not
 * touch KVM, transports or devices. Single-threaded.
 *
 * Every hostile case checks the error code, that the queue did not advance,
 * that guest RAM is byte-for-byte what it was (nothing written), and that
 * guard bytes around the RAM allocation are intact (nothing touched outside
 * the guest's memory).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "gmem.h"
#include "log.h"
#include "test.h"
#include "virtio/virtq.h"

#define BASE  0x100000ULL     /* guest physical start of RAM */
#define RAM   (8ULL << 20)    /* 8 MiB: 512 whole-RAM buffers reach 2^32 bytes */
#define GUARD 4096            /* host bytes kept either side of RAM */
#define GUARD_BYTE 0xa5

/* Layout, as offsets from BASE; room for queues up to 4096 entries. */
#define DESC  0x00000ULL
#define AVAIL 0x10000ULL
#define USED  0x20000ULL
#define ITAB  0x30000ULL     /* indirect tables */
#define ITAB2 0x38000ULL
#define DATA  0x40000ULL     /* buffers */

struct fx {
	uint8_t *host;     /* GUARD + RAM + GUARD */
	uint8_t *ram;      /* what the guest sees at base */
	uint8_t *snap;     /* copy of ram for "nothing changed" checks */
	uint64_t base;
	struct gmem m;
	struct virtq q;
	struct virtq_chain c;
	uint16_t avail_idx; /* the fake driver's avail->idx */
};

/* ---- fake guest and driver ---------------------------------------------- */

static struct fx *fx_new(uint64_t base)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->host = aligned_alloc(4096, RAM + 2 * GUARD);
	f->snap = malloc(RAM);
	if (!f->host || !f->snap)
		abort();
	memset(f->host, GUARD_BYTE, GUARD);
	memset(f->host + GUARD + RAM, GUARD_BYTE, GUARD);
	f->ram = f->host + GUARD;
	memset(f->ram, 0, RAM);
	f->base = base;
	if (gmem_init_flat(&f->m, f->ram, base, RAM))
		abort();
	/* Hostile cases log warnings on purpose; VMON_TEST_LOG=1 shows them. */
	log_set_level(getenv("VMON_TEST_LOG") ? LOG_DEBUG : LOG_ERROR);
	return f;
}

static int fx_setup(struct fx *f, uint16_t num, bool event_idx, bool indirect)
{
	return virtq_setup(&f->q, &f->m, num, f->base + DESC, f->base + AVAIL,
			   f->base + USED, event_idx, indirect);
}

static int guards_intact(const struct fx *f)
{
	for (size_t i = 0; i < GUARD; i++)
		if (f->host[i] != GUARD_BYTE || f->host[GUARD + RAM + i] != GUARD_BYTE)
			return 0;
	return 1;
}

#define FX_FREE(f)                                                           \
	do {                                                                 \
		CHECK(guards_intact(f));                                     \
		free((f)->host);                                             \
		free((f)->snap);                                             \
		free(f);                                                     \
	} while (0)

static void snap(struct fx *f) { memcpy(f->snap, f->ram, RAM); }
static int unchanged(const struct fx *f) { return memcmp(f->snap, f->ram, RAM) == 0; }

/* Host view of a guest address, for the fake driver and for checks only. */
static uint8_t *hva(struct fx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gmem_ptr(&f->m, gpa, len);

	if (!p)
		abort(); /* a broken test, not a finding */
	return p;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }

static void set_desc(struct fx *f, uint64_t table_gpa, uint16_t i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = hva(f, table_gpa + 16ULL * i, 16);

	put64(p, addr);
	put32(p + 8, len);
	put16(p + 12, flags);
	put16(p + 14, next);
}

static void set_avail_idx(struct fx *f, uint16_t idx)
{
	f->avail_idx = idx;
	put16(hva(f, f->base + AVAIL + 2, 2), idx);
}

/* Offer head in the next avail slot and publish it. */
static void offer(struct fx *f, uint16_t head)
{
	put16(hva(f, f->base + AVAIL + 4 + 2ULL * (f->avail_idx & (f->q.num - 1)), 2), head);
	set_avail_idx(f, (uint16_t)(f->avail_idx + 1));
}

static uint16_t used_idx(struct fx *f) { return get16(hva(f, f->base + USED + 2, 2)); }

static void used_elem(struct fx *f, uint16_t slot, uint32_t *id, uint32_t *len)
{
	const uint8_t *p = hva(f, f->base + USED + 4 + 8ULL * (slot & (f->q.num - 1)), 8);

	*id = get32(p);
	*len = get32(p + 4);
}

static void set_avail_flags(struct fx *f, uint16_t v) { put16(hva(f, f->base + AVAIL, 2), v); }

static void set_used_event(struct fx *f, uint16_t v)
{
	put16(hva(f, f->base + AVAIL + 4 + 2ULL * f->q.num, 2), v);
}

static uint16_t avail_event(struct fx *f)
{
	return get16(hva(f, f->base + USED + 4 + 8ULL * f->q.num, 2));
}

static void fill(struct fx *f, uint64_t gpa, uint32_t len, uint8_t seed)
{
	uint8_t *p = hva(f, gpa, len);

	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* ---- setup -------------------------------------------------------------- */

TEST(setup_valid)
{
	static const uint16_t nums[] = { 1, 2, 16, 256, 4096 };
	struct fx *f = fx_new(BASE);

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		CHECK_EQ(fx_setup(f, nums[i], i & 1, true), 0);
		CHECK(f->q.ready);
		CHECK_EQ(f->q.num, nums[i]);
		CHECK_EQ(f->q.desc, BASE + DESC);
		CHECK_EQ(f->q.avail, BASE + AVAIL);
		CHECK_EQ(f->q.used, BASE + USED);
		CHECK_EQ(f->q.last_avail_idx, 0);
		CHECK_EQ(f->q.used_idx, 0);
	}
	/* The largest queue, rings packed end to end against the end of RAM. */
	{
		uint64_t used = BASE + RAM - VIRTQ_USED_RING_SIZE(32768);
		uint64_t avail = 0, desc = BASE;

		used &= ~3ULL;
		avail = (used - VIRTQ_AVAIL_RING_SIZE(32768)) & ~1ULL;
		CHECK_EQ(virtq_setup(&f->q, &f->m, 32768, desc, avail, used, true, true), 0);
	}
	CHECK_EQ(f->q.errors, 0);
	FX_FREE(f);
}

TEST(setup_hostile)
{
	const uint64_t B = BASE;
	static const struct {
		const char *name;
		uint16_t num;
		uint64_t desc, avail, used;
	} cases[] = {
		{ "size 0", 0, B + DESC, B + AVAIL, B + USED },
		{ "size 3", 3, B + DESC, B + AVAIL, B + USED },
		{ "size 48", 48, B + DESC, B + AVAIL, B + USED },
		{ "size 32767", 32767, B + DESC, B + AVAIL, B + USED },
		{ "size 65535", 65535, B + DESC, B + AVAIL, B + USED },
		{ "desc aligned 8", 16, B + DESC + 8, B + AVAIL, B + USED },
		{ "desc aligned 1", 16, B + DESC + 1, B + AVAIL, B + USED },
		{ "avail odd", 16, B + DESC, B + AVAIL + 1, B + USED },
		{ "used aligned 2", 16, B + DESC, B + AVAIL, B + USED + 2 },
		{ "desc at gpa 0, below RAM", 16, 0, B + AVAIL, B + USED },
		{ "avail just below RAM", 16, B + DESC, B - 0x100, B + USED },
		{ "avail straddles RAM start", 16, B + DESC, B - 2, B + USED },
		{ "desc straddles RAM end", 16, B + RAM - 16 * 8, B + AVAIL, B + USED },
		{ "avail straddles RAM end", 16, B + DESC, B + RAM - 32, B + USED },
		{ "used straddles RAM end", 16, B + DESC, B + AVAIL, B + RAM - 128 },
		{ "used at RAM end", 16, B + DESC, B + AVAIL, B + RAM },
		{ "desc wraps 2^64", 16, 0xfffffffffffffff0ULL, B + AVAIL, B + USED },
		{ "avail wraps 2^64", 16, B + DESC, 0xfffffffffffffffeULL, B + USED },
		{ "used wraps 2^64", 16, B + DESC, B + AVAIL, 0xfffffffffffffffcULL },
		{ "32768 desc past RAM", 32768, B + RAM - 0x40000, B + AVAIL, B + USED },
	};
	struct fx *f = fx_new(BASE);

	snap(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		/* A valid queue first, so a failed setup must also un-ready it. */
		CHECK_EQ(fx_setup(f, 16, false, false), 0);
		ret = virtq_setup(&f->q, &f->m, cases[i].num, cases[i].desc,
				  cases[i].avail, cases[i].used, true, true);
		if (ret != -EINVAL)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(ret, -EINVAL);
		CHECK(!f->q.ready);
		CHECK_EQ(virtq_pop(&f->q, &f->c), 0);
		CHECK_EQ(virtq_push(&f->q, 0, 0), -EINVAL);
		CHECK(!virtq_needs_notify(&f->q));
		CHECK_EQ(f->q.errors, i + 1);
	}
	CHECK_EQ(virtq_setup(&f->q, NULL, 16, B + DESC, B + AVAIL, B + USED, false, false),
		 -EINVAL);
	CHECK(unchanged(f));
	FX_FREE(f);
}

/* ---- pop / push round trips --------------------------------------------- */

TEST(empty_ring)
{
	struct fx *f = fx_new(BASE);

	CHECK_EQ(fx_setup(f, 16, false, false), 0);
	snap(f);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 0);
	CHECK(unchanged(f)); /* without EVENT_IDX an empty pop writes nothing */

	/* With EVENT_IDX, going idle asks for a notification at the next entry. */
	CHECK_EQ(fx_setup(f, 16, true, false), 0);
	put16(hva(f, BASE + USED + 4 + 8 * 16, 2), 0xbeef);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 0);
	CHECK_EQ(avail_event(f), 0);
	set_desc(f, BASE + DESC, 0, BASE + DATA, 8, 0, 0);
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK_EQ(avail_event(f), 0); /* not rewritten while busy */
	CHECK_EQ(virtq_pop(&f->q, &f->c), 0);
	CHECK_EQ(avail_event(f), 1);
	CHECK_EQ(f->q.popped, 1);
	CHECK_EQ(f->q.errors, 0);
	FX_FREE(f);
}

/* A chain for the round-trip tables: descriptors in the queue's own table. */
struct rt_desc {
	uint16_t idx;
	uint32_t off, len; /* buffer at DATA + off */
	uint16_t flags, next;
};

struct rt_case {
	const char *name;
	uint16_t head;
	unsigned nd;
	struct rt_desc d[4];
};

/*
 * Offer the chain, pop it, read all its readable bytes, fill its writable
 * part, push, and check the guest sees exactly that and nothing more.
 */
static void round_trip(struct test_ctx *t_, struct fx *f, const struct rt_case *rc)
{
	uint8_t want_out[4096], got[4096], in[4096];
	uint32_t out_len = 0, in_len = 0, id, len;
	unsigned nbuf = 0;
	uint16_t used_before = used_idx(f);

	for (unsigned i = 0; i < rc->nd; i++) {
		const struct rt_desc *d = &rc->d[i];

		set_desc(f, f->base + DESC, d->idx, f->base + DATA + d->off, d->len,
			 d->flags, d->next);
		if (!(d->flags & VIRTQ_DESC_F_WRITE)) {
			fill(f, f->base + DATA + d->off, d->len, (uint8_t)(i * 31 + 1));
			memcpy(want_out + out_len, hva(f, f->base + DATA + d->off, d->len), d->len);
			out_len += d->len;
		} else {
			in_len += d->len;
		}
		nbuf += d->len != 0;
	}
	offer(f, rc->head);
	snap(f);

	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK(unchanged(f));
	CHECK_EQ(f->c.head, rc->head);
	CHECK_EQ(f->c.n, nbuf);
	CHECK_EQ(f->c.out_len, out_len);
	CHECK_EQ(f->c.in_len, in_len);

	memset(got, 0, sizeof(got));
	CHECK_EQ(virtq_chain_read(&f->q, &f->c, 0, got, out_len), out_len);
	CHECK(memcmp(got, want_out, out_len) == 0);

	for (uint32_t i = 0; i < in_len; i++)
		in[i] = (uint8_t)(0x80 ^ i);
	CHECK_EQ(virtq_chain_write(&f->q, &f->c, 0, in, in_len), in_len);
	/* Expected guest RAM: the snapshot with in[] scattered into the
	 * writable buffers, in order. Nothing else may differ. */
	{
		uint32_t at = 0;

		for (unsigned i = 0; i < rc->nd; i++) {
			const struct rt_desc *d = &rc->d[i];

			if (d->flags & VIRTQ_DESC_F_WRITE) {
				memcpy(f->snap + DATA + d->off, in + at, d->len);
				at += d->len;
			}
		}
	}
	CHECK(unchanged(f));

	CHECK_EQ(virtq_push(&f->q, rc->head, in_len), 0);
	CHECK_EQ(used_idx(f), (uint16_t)(used_before + 1));
	used_elem(f, used_before, &id, &len);
	CHECK_EQ(id, rc->head);
	CHECK_EQ(len, in_len);
}

static const struct rt_case rt_cases[] = {
	{ "1 desc, writable (rng-like)", 5, 1,
	  { { 5, 0x100, 64, VIRTQ_DESC_F_WRITE, 0 } } },
	{ "1 desc, readable (tx-like)", 0, 1,
	  { { 0, 0x200, 100, 0, 7 /* next ignored without NEXT */ } } },
	{ "2 desc, header + status", 9, 2,
	  { { 9, 0x300, 16, VIRTQ_DESC_F_NEXT, 2 },
	    { 2, 0x400, 1, VIRTQ_DESC_F_WRITE, 0 } } },
	{ "3 desc, blk write: hdr, data, status (scattered indices)", 15, 3,
	  { { 15, 0x1000, 16, VIRTQ_DESC_F_NEXT, 0 },
	    { 0, 0x2000, 512, VIRTQ_DESC_F_NEXT, 7 },
	    { 7, 0x3000, 1, VIRTQ_DESC_F_WRITE, 0 } } },
	{ "3 desc, blk read: hdr, data, status", 3, 3,
	  { { 3, 0x4000, 16, VIRTQ_DESC_F_NEXT, 4 },
	    { 4, 0x5000, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1 },
	    { 1, 0x6000, 1, VIRTQ_DESC_F_WRITE, 0 } } },
	{ "4 desc, adjacent buffers", 12, 4,
	  { { 12, 0x7000, 3, VIRTQ_DESC_F_NEXT, 13 },
	    { 13, 0x7003, 5, VIRTQ_DESC_F_NEXT, 14 },
	    { 14, 0x7008, 7, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 11 },
	    { 11, 0x700f, 9, VIRTQ_DESC_F_WRITE, 0 } } },
};

TEST(round_trip_chains)
{
	static const uint64_t bases[] = { 0, BASE, 0x100000000ULL };

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (int ev = 0; ev < 2; ev++) {
			struct fx *f = fx_new(bases[b]);

			CHECK_EQ(fx_setup(f, 16, ev, false), 0);
			for (size_t i = 0; i < sizeof(rt_cases) / sizeof(rt_cases[0]); i++) {
				int failed = t_->failed;

				round_trip(t_, f, &rt_cases[i]);
				if (t_->failed && !failed)
					fprintf(stderr, "  case \"%s\" base 0x%llx\n",
						rt_cases[i].name, (unsigned long long)bases[b]);
			}
			CHECK_EQ(virtq_pop(&f->q, &f->c), 0);
			CHECK_EQ(f->q.popped, sizeof(rt_cases) / sizeof(rt_cases[0]));
			CHECK_EQ(f->q.pushed, sizeof(rt_cases) / sizeof(rt_cases[0]));
			CHECK_EQ(f->q.errors, 0);
			FX_FREE(f);
		}
	}
}

TEST(index_wraparound)
{
	struct fx *f = fx_new(BASE);

	CHECK_EQ(fx_setup(f, 4, false, false), 0);
	/* Start both cursors just below 2^16, as after a long uptime. */
	f->q.last_avail_idx = 0xfffe;
	f->q.used_idx = 0xfffe;
	put16(hva(f, BASE + USED + 2, 2), 0xfffe);
	set_avail_idx(f, 0xfffe);
	for (unsigned round = 0; round < 3; round++) {
		/* Fill the ring completely (num chains), then drain it. */
		for (uint16_t h = 0; h < 4; h++) {
			set_desc(f, BASE + DESC, h, BASE + DATA + 0x100 * h, 8,
				 VIRTQ_DESC_F_WRITE, 0);
			offer(f, (uint16_t)(3 - h));
		}
		for (uint16_t h = 0; h < 4; h++) {
			uint16_t slot = f->q.used_idx;
			uint32_t id, len;

			CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
			CHECK_EQ(f->c.head, 3 - h);
			CHECK_EQ(virtq_push(&f->q, f->c.head, h), 0);
			used_elem(f, slot, &id, &len);
			CHECK_EQ(id, 3 - h);
			CHECK_EQ(len, h);
		}
		CHECK_EQ(virtq_pop(&f->q, &f->c), 0);
		CHECK_EQ(used_idx(f), f->q.used_idx);
	}
	CHECK_EQ(f->q.used_idx, (uint16_t)(0xfffe + 12));
	CHECK_EQ(f->q.last_avail_idx, (uint16_t)(0xfffe + 12));
	FX_FREE(f);
}

/* ---- the hostile table ---------------------------------------------------- */

/* One descriptor written by the fake driver. */
struct tdesc {
	uint64_t table;  /* 0: the queue's table; else offset of an indirect table */
	uint16_t idx;
	uint64_t addr;   /* offset from the RAM base, or absolute if abs */
	bool abs;
	uint32_t len;
	uint16_t flags, next;
};

struct tcase {
	const char *name;
	int want;       /* pop's return */
	/* For want == 1: what the chain must look like. */
	unsigned n;
	uint32_t out_len, in_len;
	bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint16_t num;   /* queue size, 0 meaning 16 */
	uint16_t head;
	uint16_t bump;  /* how far avail->idx moves, 0 meaning 1 */
	unsigned nd;
	struct tdesc d[5];
};

/* The first fields of a case: refused with err, or popped as described. */
#define FAILS(err)        (err), 0, 0, 0
#define GIVES(n, out, in) 1, (n), (out), (in)

#define N  VIRTQ_DESC_F_NEXT
#define W  VIRTQ_DESC_F_WRITE
#define IN VIRTQ_DESC_F_INDIRECT
/* Descriptor i of the queue's table: buffer at RAM offset a. */
#define D(i, a, l, fl, nx) { 0, (i), (a), false, (l), (fl), (nx) }
/* ... at absolute guest address a. */
#define DA(i, a, l, fl, nx) { 0, (i), (a), true, (l), (fl), (nx) }
/* Descriptor i of the indirect table at RAM offset t. */
#define I(t, i, a, l, fl, nx) { (t), (i), (a), false, (l), (fl), (nx) }
#define IA(t, i, a, l, fl, nx) { (t), (i), (a), true, (l), (fl), (nx) }

static const struct tcase hostile[] = {
	/* Loops and indices. */
	{ "cycle a->b->a", FAILS(-ELOOP), false, 0, 0, 0, 2,
	  { D(0, DATA, 64, N, 1), D(1, DATA + 64, 64, N, 0) } },
	{ "self loop", FAILS(-ELOOP), false, 0, 3, 0, 1, { D(3, DATA, 64, N, 3) } },
	{ "loop after a prefix", FAILS(-ELOOP), false, 0, 0, 0, 3,
	  { D(0, DATA, 1, N, 1), D(1, DATA, 1, N, 2), D(2, DATA, 1, N, 1) } },
	{ "zero-length self loop", FAILS(-ELOOP), false, 0, 2, 0, 1, { D(2, 0, 0, N, 2) } },
	{ "next == num", FAILS(-EINVAL), false, 0, 0, 0, 1, { D(0, DATA, 64, N, 16) } },
	{ "next == 0xffff", FAILS(-EINVAL), false, 0, 0, 0, 1, { D(0, DATA, 64, N, 0xffff) } },
	{ "head == num", FAILS(-EINVAL), false, 0, 16, 0, 1, { D(0, DATA, 64, 0, 0) } },
	{ "head == 0xffff", FAILS(-EINVAL), false, 0, 0xffff, 0, 0, { D(0, DATA, 64, 0, 0) } },
	{ "avail idx ran num+1 ahead", FAILS(-EINVAL), false, 0, 0, 17, 1, { D(0, DATA, 64, 0, 0) } },
	{ "avail idx ran 0x8000 ahead", FAILS(-EINVAL), false, 0, 0, 0x8000, 1, { D(0, DATA, 64, 0, 0) } },
	{ "avail idx moved back by one", FAILS(-EINVAL), false, 0, 0, 0xffff, 1, { D(0, DATA, 64, 0, 0) } },

	/* Buffers outside RAM. */
	{ "buffer at gpa 0, below RAM", FAILS(-EFAULT), false, 0, 0, 0, 1, { DA(0, 0, 1, 0, 0) } },
	{ "buffer ends at RAM start", FAILS(-EFAULT), false, 0, 0, 0, 1, { DA(0, BASE - 16, 16, 0, 0) } },
	{ "buffer straddles RAM start", FAILS(-EFAULT), false, 0, 0, 0, 1, { DA(0, BASE - 8, 16, 0, 0) } },
	{ "buffer straddles RAM end", FAILS(-EFAULT), false, 0, 0, 0, 1, { D(0, RAM - 8, 16, W, 0) } },
	{ "buffer starts at RAM end", FAILS(-EFAULT), false, 0, 0, 0, 1, { D(0, RAM, 1, W, 0) } },
	{ "addr+len wraps 2^64", FAILS(-EFAULT), false, 0, 0, 0, 1,
	  { DA(0, 0xfffffffffffff000ULL, 0x2000, 0, 0) } },
	{ "addr 2^64-1, len 1", FAILS(-EFAULT), false, 0, 0, 0, 1, { DA(0, UINT64_MAX, 1, 0, 0) } },
	{ "base + RAM-sized wrap", FAILS(-EFAULT), false, 0, 0, 0, 1,
	  { DA(0, 0 - (BASE + 0x1000), 0xffffffffu, W, 0) } },
	{ "third buffer outside RAM", FAILS(-EFAULT), false, 0, 0, 0, 3,
	  { D(0, DATA, 64, N, 1), D(1, DATA, 64, N | W, 2), DA(2, 0x1000, 64, W, 0) } },

	/* Framing: readable after writable (virtio 1.2 §2.7.4.2). */
	{ "W then R", FAILS(-EINVAL), false, 0, 0, 0, 2,
	  { D(0, DATA, 64, W | N, 1), D(1, DATA + 64, 64, 0, 0) } },
	{ "R W R", FAILS(-EINVAL), false, 0, 0, 0, 3,
	  { D(0, DATA, 8, N, 1), D(1, DATA + 8, 8, W | N, 2), D(2, DATA + 16, 8, 0, 0) } },
	{ "W then zero-length R", FAILS(-EINVAL), false, 0, 0, 0, 2,
	  { D(0, DATA, 64, W | N, 1), DA(1, 0, 0, 0, 0) } },

	/* Indirect tables (virtio 1.2 §2.7.5.3). */
	{ "INDIRECT not negotiated", FAILS(-EINVAL), false, 0, 0, 0, 2,
	  { D(0, ITAB, 16, IN, 0), I(ITAB, 0, DATA, 16, 0, 0) } },
	{ "indirect table at gpa 0x1000", FAILS(-EFAULT), true, 0, 0, 0, 1, { DA(0, 0x1000, 32, IN, 0) } },
	{ "indirect table straddles RAM end", FAILS(-EFAULT), true, 0, 0, 0, 1, { D(0, RAM - 16, 32, IN, 0) } },
	{ "indirect table wraps 2^64", FAILS(-EFAULT), true, 0, 0, 0, 1,
	  { DA(0, 0xfffffffffffffff0ULL, 32, IN, 0) } },
	{ "indirect len 0", FAILS(-EINVAL), true, 0, 0, 0, 2,
	  { D(0, ITAB, 0, IN, 0), I(ITAB, 0, DATA, 16, 0, 0) } },
	{ "indirect len 8", FAILS(-EINVAL), true, 0, 0, 0, 2,
	  { D(0, ITAB, 8, IN, 0), I(ITAB, 0, DATA, 16, 0, 0) } },
	{ "indirect len 24", FAILS(-EINVAL), true, 0, 0, 0, 2,
	  { D(0, ITAB, 24, IN, 0), I(ITAB, 0, DATA, 16, 0, 0) } },
	{ "nested indirect", FAILS(-EINVAL), true, 0, 0, 0, 3,
	  { D(0, ITAB, 32, IN, 0), I(ITAB, 0, ITAB2, 16, IN, 0), I(ITAB2, 0, DATA, 16, 0, 0) } },
	{ "indirect with NEXT", FAILS(-EINVAL), true, 0, 0, 0, 3,
	  { D(0, ITAB, 16, IN | N, 1), D(1, DATA, 16, 0, 0), I(ITAB, 0, DATA, 16, 0, 0) } },
	{ "indirect cycle", FAILS(-ELOOP), true, 0, 0, 0, 3,
	  { D(0, ITAB, 32, IN, 0), I(ITAB, 0, DATA, 16, N, 1), I(ITAB, 1, DATA, 16, N, 0) } },
	{ "indirect self loop", FAILS(-ELOOP), true, 0, 0, 0, 2,
	  { D(0, ITAB, 16, IN, 0), I(ITAB, 0, DATA, 16, N, 0) } },
	{ "indirect next beyond table", FAILS(-EINVAL), true, 0, 0, 0, 4,
	  /* entry 2 exists in memory but not in the 2-entry table */
	  { D(0, ITAB, 32, IN, 0), I(ITAB, 0, DATA, 16, N, 1), I(ITAB, 1, DATA, 16, N, 2),
	    I(ITAB, 2, DATA, 16, 0, 0) } },
	{ "indirect buffer outside RAM", FAILS(-EFAULT), true, 0, 0, 0, 2,
	  { D(0, ITAB, 16, IN, 0), IA(ITAB, 0, 0x10, 16, 0, 0) } },
	{ "R in indirect table after direct W", FAILS(-EINVAL), true, 0, 0, 0, 3,
	  { D(0, DATA, 16, W | N, 1), D(1, ITAB, 16, IN, 0), I(ITAB, 0, DATA + 64, 16, 0, 0) } },
	{ "W then R inside the indirect table", FAILS(-EINVAL), true, 0, 0, 0, 3,
	  { D(0, ITAB, 32, IN, 0), I(ITAB, 0, DATA, 16, W | N, 1), I(ITAB, 1, DATA, 16, 0, 0) } },
};

/* Legal but unusual chains the walker must accept. */
static const struct tcase odd_but_legal[] = {
	{ "zero-length only, bogus address", GIVES(0, 0, 0), false, 0, 4, 0, 1,
	  { DA(4, 0xdead00000000ULL, 0, 0, 0) } },
	{ "zero-length in the middle at 2^64-1", GIVES(2, 4, 8), false, 0, 0, 0, 3,
	  { D(0, DATA, 4, N, 1), DA(1, UINT64_MAX, 0, W | N, 2), D(2, DATA + 8, 8, W, 0) } },
	{ "buffer ends exactly at RAM end", GIVES(1, 0, 16), false, 0, 0, 0, 1,
	  { D(0, RAM - 16, 16, W, 0) } },
	{ "buffer is all of RAM", GIVES(1, RAM, 0), false, 0, 0, 0, 1, { D(0, 0, RAM, 0, 0) } },
	{ "buffer overlaps the rings", GIVES(1, 0x30000, 0), false, 0, 0, 0, 1,
	  { D(0, DESC, 0x30000, 0, 0) } },
	{ "unknown flag bits ignored", GIVES(1, 4, 0), false, 0, 0, 0, 1,
	  { D(0, DATA, 4, 0x8000 | 0x8, 0) } },
	/* The WRITE flag on the descriptor naming the table is ignored
	 * (virtio 1.2 §2.7.5.3.2), so a readable entry may follow it. */
	{ "direct R then indirect table marked WRITE", GIVES(3, 32, 4), true, 0, 0, 0, 4,
	  { D(0, DATA, 16, N, 1), D(1, ITAB, 32, IN | W, 0),
	    I(ITAB, 0, DATA + 16, 16, N, 1), I(ITAB, 1, DATA + 32, 4, W, 0) } },
	{ "indirect table unaligned, chain out of order", GIVES(3, 10, 50), true, 0, 7, 0, 4,
	  { D(7, ITAB + 3, 48, IN, 0), I(ITAB + 3, 0, DATA, 10, N, 2),
	    I(ITAB + 3, 2, DATA + 10, 20, N | W, 1), I(ITAB + 3, 1, DATA + 30, 30, W, 0) } },
	{ "indirect table longer than its chain", GIVES(1, 16, 0), true, 0, 0, 0, 2,
	  { D(0, ITAB, 16 * 64, IN, 0), I(ITAB, 0, DATA, 16, 0, 5) } },
	{ "avail idx exactly num ahead", GIVES(1, 8, 0), false, 0, 0, 16, 1,
	  { D(0, DATA, 8, 0, 0) } },
	{ "chain of exactly num descriptors", GIVES(4, 4, 0), false, 4, 3, 0, 4,
	  { D(3, DATA, 1, N, 2), D(2, DATA, 1, N, 1), D(1, DATA, 1, N, 0), D(0, DATA, 1, 0, 0) } },
};

/* Write a case's descriptors and offer its head (bump times). */
static void stage(struct fx *f, const struct tcase *tc)
{
	uint16_t bump = tc->bump ? tc->bump : 1;

	for (unsigned i = 0; i < tc->nd; i++) {
		const struct tdesc *d = &tc->d[i];
		uint64_t table = d->table ? f->base + d->table : f->base + DESC;

		set_desc(f, table, d->idx, d->abs ? d->addr : f->base + d->addr, d->len,
			 d->flags, d->next);
	}
	/* Every slot the driver claims to fill holds the same head. */
	for (uint16_t i = 0; i < (bump < f->q.num ? bump : f->q.num); i++)
		put16(hva(f, f->base + AVAIL + 4 + 2ULL * i, 2), tc->head);
	set_avail_idx(f, bump);
}

static void run_case(struct test_ctx *t_, const struct tcase *tc, bool event_idx)
{
	struct fx *f = fx_new(BASE);
	int failed = t_->failed, ret;

	CHECK_EQ(fx_setup(f, tc->num ? tc->num : 16, event_idx, tc->indirect), 0);
	stage(f, tc);
	snap(f);
	ret = virtq_pop(&f->q, &f->c);
	CHECK_EQ(ret, tc->want);
	if (tc->want < 0) {
		/* Refused, counted, cursor unmoved, and guest RAM untouched. */
		CHECK_EQ(f->q.errors, 1);
		CHECK_EQ(f->q.popped, 0);
		CHECK_EQ(f->q.last_avail_idx, 0);
		CHECK(f->q.broken);
		CHECK(unchanged(f));
		/* The queue stays refused until it is set up again. */
		CHECK_EQ(virtq_pop(&f->q, &f->c), -EIO);
		CHECK_EQ(f->q.errors, 1);
		CHECK(unchanged(f));
	} else {
		CHECK_EQ(f->q.errors, 0);
		CHECK_EQ(f->c.head, tc->head);
		CHECK_EQ(f->c.n, tc->n);
		CHECK_EQ(f->c.out_len, tc->out_len);
		CHECK_EQ(f->c.in_len, tc->in_len);
		CHECK(unchanged(f));
		for (unsigned i = 0; i < f->c.n; i++) {
			/* Readable first, and every buffer inside RAM. */
			CHECK(!i || f->c.buf[i].write >= f->c.buf[i - 1].write);
			CHECK(f->c.buf[i].len != 0);
			CHECK(gmem_ptr(&f->m, f->c.buf[i].gpa, f->c.buf[i].len) != NULL);
		}
	}
	if (t_->failed && !failed)
		fprintf(stderr, "  case \"%s\" (event_idx %d)\n", tc->name, event_idx);
	FX_FREE(f);
}

TEST(pop_hostile)
{
	for (int ev = 0; ev < 2; ev++)
		for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
			run_case(t_, &hostile[i], ev);
}

TEST(pop_odd_but_legal)
{
	for (int ev = 0; ev < 2; ev++)
		for (size_t i = 0; i < sizeof(odd_but_legal) / sizeof(odd_but_legal[0]); i++)
			run_case(t_, &odd_but_legal[i], ev);
}

TEST(broken_until_setup)
{
	struct fx *f = fx_new(BASE);

	CHECK_EQ(fx_setup(f, 16, false, false), 0);
	set_desc(f, BASE + DESC, 0, BASE + DATA, 8, N, 0); /* self loop */
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), -ELOOP);
	/* The driver repairs the descriptor, but only a new setup (after the
	 * device reset the driver must do) makes the queue usable again. */
	set_desc(f, BASE + DESC, 0, BASE + DATA, 8, 0, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), -EIO);
	virtq_reset(&f->q);
	CHECK(!f->q.ready);
	CHECK_EQ(f->q.errors, 1); /* statistics survive the reset */
	CHECK_EQ(virtq_pop(&f->q, &f->c), 0);
	CHECK_EQ(fx_setup(f, 16, false, false), 0);
	set_avail_idx(f, 0);
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK_EQ(f->c.out_len, 8);
	FX_FREE(f);
}

/* ---- caps ---------------------------------------------------------------- */

/* A chain of len descriptors 0 -> 1 -> ... -> len-1, each `each` bytes at DATA. */
static void long_chain(struct fx *f, uint64_t table, unsigned len, uint32_t each,
		       uint64_t addr)
{
	for (unsigned i = 0; i < len; i++)
		set_desc(f, table, (uint16_t)i, addr, each,
			 i + 1 < len ? N : 0, (uint16_t)(i + 1));
}

TEST(chain_cap)
{
	struct fx *f = fx_new(BASE);

	/* Exactly VIRTQ_MAX_CHAIN buffers: accepted. */
	CHECK_EQ(fx_setup(f, 2048, false, false), 0);
	long_chain(f, BASE + DESC, VIRTQ_MAX_CHAIN, 4, BASE + DATA);
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK_EQ(f->c.n, VIRTQ_MAX_CHAIN);
	CHECK_EQ(f->c.out_len, 4 * VIRTQ_MAX_CHAIN);

	/* One more: refused, though the queue is big enough to hold it. */
	CHECK_EQ(fx_setup(f, 2048, false, false), 0);
	set_avail_idx(f, 0);
	long_chain(f, BASE + DESC, VIRTQ_MAX_CHAIN + 1, 4, BASE + DATA);
	offer(f, 0);
	snap(f);
	CHECK_EQ(virtq_pop(&f->q, &f->c), -E2BIG);
	CHECK(unchanged(f));

	/* Zero-length descriptors count too: they cannot stretch a walk. */
	CHECK_EQ(fx_setup(f, 2048, false, false), 0);
	set_avail_idx(f, 0);
	long_chain(f, BASE + DESC, VIRTQ_MAX_CHAIN + 1, 0, 0);
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), -E2BIG);

	/* Same through an indirect table of 1025 entries. */
	CHECK_EQ(fx_setup(f, 16, false, true), 0);
	set_avail_idx(f, 0);
	set_desc(f, BASE + DESC, 0, BASE + ITAB, 16 * (VIRTQ_MAX_CHAIN + 1), IN, 0);
	long_chain(f, BASE + ITAB, VIRTQ_MAX_CHAIN + 1, 4, BASE + DATA);
	offer(f, 0);
	snap(f);
	CHECK_EQ(virtq_pop(&f->q, &f->c), -E2BIG);
	CHECK(unchanged(f));
	CHECK_EQ(f->q.errors, 3);
	FX_FREE(f);
}

TEST(total_length_cap)
{
	struct fx *f = fx_new(BASE);

	/* 511 whole-RAM buffers plus one a byte short: 2^32 - 1, accepted. */
	CHECK_EQ(fx_setup(f, 1024, false, false), 0);
	long_chain(f, BASE + DESC, 512, RAM, BASE);
	set_desc(f, BASE + DESC, 511, BASE, RAM - 1, 0, 0);
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK_EQ(f->c.out_len, 0xffffffffu);
	CHECK_EQ(f->c.n, 512);

	/* 512 whole-RAM buffers: exactly 2^32, refused (virtq.c says why). */
	CHECK_EQ(fx_setup(f, 1024, false, false), 0);
	set_avail_idx(f, 0);
	long_chain(f, BASE + DESC, 512, RAM, BASE);
	offer(f, 0);
	snap(f);
	CHECK_EQ(virtq_pop(&f->q, &f->c), -EOVERFLOW);
	CHECK(unchanged(f));

	/* Mixed directions count together. */
	CHECK_EQ(fx_setup(f, 1024, false, false), 0);
	set_avail_idx(f, 0);
	long_chain(f, BASE + DESC, 513, RAM, BASE);
	for (uint16_t i = 256; i < 513; i++)
		set_desc(f, BASE + DESC, i, BASE, RAM, (uint16_t)(W | (i < 512 ? N : 0)),
			 (uint16_t)(i + 1));
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), -EOVERFLOW);
	FX_FREE(f);
}

/* ---- notification -------------------------------------------------------- */

TEST(need_event_table)
{
	static const struct {
		uint16_t event, new_idx, old_idx;
		bool want;
	} cases[] = {
		{ 0, 1, 0, true },            /* first entry, as §2.7.7.2's example */
		{ 0, 0, 0, false },           /* nothing used */
		{ 1, 1, 0, false },           /* event not reached yet */
		{ 1, 2, 0, true },            /* batch passes it */
		{ 0, 2, 1, false },           /* passed in an earlier batch */
		{ 5, 10, 3, true },
		{ 3, 10, 3, true },           /* first of the batch */
		{ 9, 10, 3, true },           /* last of the batch */
		{ 10, 10, 3, false },         /* next one */
		{ 2, 10, 3, false },          /* before the batch */
		{ 0xffff, 0, 0xfffe, true },  /* wraps */
		{ 0xfffe, 1, 0xfffd, true },
		{ 0, 1, 0xffff, true },
		{ 1, 1, 0xffff, false },
		{ 0x8000, 0x8001, 0, true },  /* a very large batch */
		{ 0x7fff, 0x8000, 0x8000, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = virtq_need_event(cases[i].event, cases[i].new_idx, cases[i].old_idx);

		if (got != cases[i].want)
			fprintf(stderr, "  need_event(%u, %u, %u) = %d\n",
				cases[i].event, cases[i].new_idx, cases[i].old_idx, got);
		CHECK_EQ(got, cases[i].want);
	}
}

static void push_one(struct test_ctx *t_, struct fx *f)
{
	set_desc(f, BASE + DESC, 0, BASE + DATA, 8, W, 0);
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK_EQ(virtq_push(&f->q, 0, 0), 0);
}

TEST(needs_notify)
{
	struct fx *f = fx_new(BASE);

	/* Without EVENT_IDX: avail->flags decides (virtio 1.2 §2.7.7.2). */
	CHECK_EQ(fx_setup(f, 16, false, false), 0);
	push_one(t_, f);
	CHECK(virtq_needs_notify(&f->q));
	set_avail_flags(f, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_one(t_, f);
	CHECK(!virtq_needs_notify(&f->q));
	set_used_event(f, 0x1234); /* ignored without EVENT_IDX */
	set_avail_flags(f, 0);
	push_one(t_, f);
	CHECK(virtq_needs_notify(&f->q));

	/* With EVENT_IDX: used_event decides, the flags' low bit is ignored. */
	memset(f->ram, 0, RAM);
	f->avail_idx = 0;
	CHECK_EQ(fx_setup(f, 16, true, false), 0);
	set_avail_flags(f, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set_used_event(f, 0);
	push_one(t_, f);                       /* used 0 -> 1 */
	CHECK(virtq_needs_notify(&f->q));      /* first check: always */
	set_used_event(f, 2);
	push_one(t_, f);                       /* 1 -> 2: entry 1 */
	CHECK(!virtq_needs_notify(&f->q));
	push_one(t_, f);                       /* 2 -> 3: entry 2 == used_event */
	CHECK(virtq_needs_notify(&f->q));
	set_used_event(f, 4);
	push_one(t_, f);
	push_one(t_, f);                       /* batch 3 -> 5 covers entry 4 */
	CHECK(virtq_needs_notify(&f->q));
	CHECK(!virtq_needs_notify(&f->q));     /* nothing new since */
	set_used_event(f, 100);
	push_one(t_, f);
	CHECK(!virtq_needs_notify(&f->q));

	virtq_reset(&f->q);
	CHECK(!virtq_needs_notify(&f->q));
	FX_FREE(f);
}

/* ---- push ---------------------------------------------------------------- */

TEST(push_hostile)
{
	struct fx *f = fx_new(BASE);

	snap(f);
	CHECK_EQ(virtq_push(&f->q, 0, 0), -EINVAL); /* never set up */
	CHECK_EQ(fx_setup(f, 16, false, false), 0);
	CHECK_EQ(virtq_push(&f->q, 16, 0), -EINVAL);
	CHECK_EQ(virtq_push(&f->q, 0xffff, 0), -EINVAL);
	CHECK(unchanged(f));
	CHECK_EQ(f->q.used_idx, 0);
	/* Little-endian element in the right slot. */
	CHECK_EQ(virtq_push(&f->q, 0x0f, 0x11223344), 0);
	{
		static const uint8_t want[] = { 0, 0, 1, 0, 0x0f, 0, 0, 0, 0x44, 0x33, 0x22, 0x11 };

		CHECK(memcmp(hva(f, BASE + USED, sizeof(want)), want, sizeof(want)) == 0);
	}
	FX_FREE(f);
}

/* ---- chain copy helpers -------------------------------------------------- */

/* virtq_chain_iov: the same byte ranges as chain_read/write, as host iovecs. */
TEST(chain_iov)
{
	struct fx *f = fx_new(BASE);
	struct iovec iov[4];

	/* R 10, R 6, W 8, W 4. */
	CHECK_EQ(fx_setup(f, 16, false, false), 0);
	set_desc(f, BASE + DESC, 0, BASE + DATA + 0x10, 10, N, 1);
	set_desc(f, BASE + DESC, 1, BASE + DATA + 0x30, 6, N, 2);
	set_desc(f, BASE + DESC, 2, BASE + DATA + 0x50, 8, W | N, 3);
	set_desc(f, BASE + DESC, 3, BASE + DATA + 0x70, 4, W, 0);
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);

	/* Readable bytes 8..13 span both readable buffers. */
	CHECK_EQ(virtq_chain_iov(&f->q, &f->c, false, 8, 5, iov, 4), 2);
	CHECK(iov[0].iov_base == hva(f, BASE + DATA + 0x18, 2) && iov[0].iov_len == 2);
	CHECK(iov[1].iov_base == hva(f, BASE + DATA + 0x30, 3) && iov[1].iov_len == 3);
	/* Writable bytes but the last: what virtio-blk reads into, before the status byte. */
	CHECK_EQ(virtq_chain_iov(&f->q, &f->c, true, 0, 11, iov, 4), 2);
	CHECK(iov[0].iov_base == hva(f, BASE + DATA + 0x50, 8) && iov[0].iov_len == 8);
	CHECK(iov[1].iov_base == hva(f, BASE + DATA + 0x70, 3) && iov[1].iov_len == 3);
	/* Out of range, too few entries. */
	CHECK_EQ(virtq_chain_iov(&f->q, &f->c, true, 0, 13, iov, 4), -EINVAL);
	CHECK_EQ(virtq_chain_iov(&f->q, &f->c, false, UINT64_MAX, 2, iov, 4), -EINVAL);
	CHECK_EQ(virtq_chain_iov(&f->q, &f->c, false, 0, 16, iov, 1), -ENOSPC);
	CHECK_EQ(virtq_chain_iov(&f->q, &f->c, false, 16, 0, iov, 4), 0);
	FX_FREE(f);
}

TEST(chain_read_write_bounds)
{
	struct fx *f = fx_new(BASE);
	uint8_t buf[64], want[64];

	/* R 10, R 6, W 8, W 4, with guard bytes around every buffer. */
	CHECK_EQ(fx_setup(f, 16, false, false), 0);
	set_desc(f, BASE + DESC, 0, BASE + DATA + 0x10, 10, N, 1);
	set_desc(f, BASE + DESC, 1, BASE + DATA + 0x30, 6, N, 2);
	set_desc(f, BASE + DESC, 2, BASE + DATA + 0x50, 8, W | N, 3);
	set_desc(f, BASE + DESC, 3, BASE + DATA + 0x70, 4, W, 0);
	memset(hva(f, BASE + DATA, 0x100), 0xee, 0x100);
	fill(f, BASE + DATA + 0x10, 10, 1);
	fill(f, BASE + DATA + 0x30, 6, 100);
	offer(f, 0);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK_EQ(f->c.out_len, 16);
	CHECK_EQ(f->c.in_len, 12);
	snap(f);

	/* Reads: across the buffer boundary, exact end, and past it. */
	memcpy(want, hva(f, BASE + DATA + 0x10, 10), 10);
	memcpy(want + 10, hva(f, BASE + DATA + 0x30, 6), 6);
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(virtq_chain_read(&f->q, &f->c, 8, buf, 4), 4);
	CHECK(memcmp(buf, want + 8, 4) == 0);
	CHECK_EQ(buf[4], 0x5a);
	CHECK_EQ(virtq_chain_read(&f->q, &f->c, 0, buf, 16), 16);
	CHECK(memcmp(buf, want, 16) == 0);
	CHECK_EQ(virtq_chain_read(&f->q, &f->c, 16, buf, 0), 0);
	{
		static const struct { uint64_t off; size_t len; } bad[] = {
			{ 0, 17 }, { 10, 7 }, { 15, 2 }, { 16, 1 }, { 17, 0 },
			{ UINT64_MAX, 2 }, { UINT64_MAX - 7, 8 }, { 1ULL << 63, 1 },
			{ 0, SIZE_MAX }, { 8, SIZE_MAX - 7 },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(buf, 0x5a, sizeof(buf));
			CHECK_EQ(virtq_chain_read(&f->q, &f->c, bad[i].off, buf, bad[i].len), -EINVAL);
			CHECK_EQ(buf[0], 0x5a); /* nothing copied */
			CHECK_EQ(virtq_chain_write(&f->q, &f->c, bad[i].off, buf, bad[i].len),
				 -EINVAL);
		}
	}
	CHECK(unchanged(f));

	/* Writes: only into writable buffers, never past them. */
	CHECK_EQ(virtq_chain_write(&f->q, &f->c, 0, "abcdefghijkl", 13), -EINVAL);
	CHECK(unchanged(f));
	CHECK_EQ(virtq_chain_write(&f->q, &f->c, 6, "WXYZ", 4), 4);
	memcpy(f->snap + DATA + 0x56, "WX", 2);
	memcpy(f->snap + DATA + 0x70, "YZ", 2);
	CHECK(unchanged(f));
	CHECK_EQ(virtq_chain_write(&f->q, &f->c, 0, "abcdefghijkl", 12), 12);
	memcpy(f->snap + DATA + 0x50, "abcdefgh", 8);
	memcpy(f->snap + DATA + 0x70, "ijkl", 4);
	CHECK(unchanged(f)); /* includes the 0xee guards after each buffer */

	/* A chain with no writable part accepts no write, and vice versa. */
	set_desc(f, BASE + DESC, 4, BASE + DATA, 8, W, 0);
	offer(f, 4);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK_EQ(virtq_chain_read(&f->q, &f->c, 0, buf, 1), -EINVAL);
	CHECK_EQ(virtq_chain_read(&f->q, &f->c, 0, buf, 0), 0);
	set_desc(f, BASE + DESC, 5, BASE + DATA, 8, 0, 0);
	offer(f, 5);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	snap(f);
	CHECK_EQ(virtq_chain_write(&f->q, &f->c, 0, "x", 1), -EINVAL);
	CHECK(unchanged(f));
	FX_FREE(f);
}

/* ---- indirect round trip -------------------------------------------------- */

TEST(indirect_round_trip)
{
	struct fx *f = fx_new(BASE);
	uint8_t hdr[16], status = 0x42;
	uint32_t id, len;

	CHECK_EQ(fx_setup(f, 8, true, true), 0);
	/* Head 6 -> indirect table of 3: entry 0 (R 16) -> 2 (W 512) -> 1 (W 1). */
	set_desc(f, BASE + DESC, 6, BASE + ITAB, 48, IN, 0);
	set_desc(f, BASE + ITAB, 0, BASE + DATA, 16, N, 2);
	set_desc(f, BASE + ITAB, 2, BASE + DATA + 0x1000, 512, W | N, 1);
	set_desc(f, BASE + ITAB, 1, BASE + DATA + 0x2000, 1, W, 0);
	fill(f, BASE + DATA, 16, 9);
	offer(f, 6);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 1);
	CHECK_EQ(f->c.head, 6);
	CHECK_EQ(f->c.n, 3);
	CHECK_EQ(f->c.out_len, 16);
	CHECK_EQ(f->c.in_len, 513);
	CHECK_EQ(virtq_chain_read(&f->q, &f->c, 0, hdr, 16), 16);
	CHECK(memcmp(hdr, hva(f, BASE + DATA, 16), 16) == 0);
	CHECK_EQ(virtq_chain_write(&f->q, &f->c, 512, &status, 1), 1);
	CHECK_EQ(*hva(f, BASE + DATA + 0x2000, 1), 0x42);
	CHECK_EQ(virtq_push(&f->q, 6, 1), 0);
	CHECK_EQ(used_idx(f), 1);
	used_elem(f, 0, &id, &len);
	CHECK_EQ(id, 6);
	CHECK_EQ(len, 1);
	CHECK_EQ(virtq_pop(&f->q, &f->c), 0);
	FX_FREE(f);
}

TEST_MAIN(T(setup_valid), T(setup_hostile), T(empty_ring), T(round_trip_chains),
	  T(index_wraparound), T(pop_hostile), T(pop_odd_but_legal),
	  T(broken_until_setup), T(chain_cap), T(total_length_cap),
	  T(need_event_table), T(needs_notify), T(push_hostile),
	  T(chain_iov), T(chain_read_write_bounds), T(indirect_round_trip))
