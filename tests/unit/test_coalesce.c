/*
 * test_coalesce.c: unit tests for accel/kvm_coalesce.c, the drain of KVM's
 * coalesced I/O ring, over a ring page this test writes as KVM would
 * (entries at last, then last advanced): entries handed out oldest first
 * with their port, length and bytes; the wrap at the ring's end; first
 * advanced only after each entry was dispatched (what keeps a second
 * vCPU waiting on the lock); malformed lengths skipped and counted;
 * indexes outside the ring (not KVM's doing) emptying it without a read
 * past the page. Single-threaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accel/kvm_coalesce.h"
#include "test.h"

#define PAGE 4096

struct got {
	unsigned n;
	int is_pio[16];
	uint64_t addr[16];
	unsigned len[16];
	uint8_t data[16][8];
	uint32_t first_seen[16]; /* the ring's first while this entry was dispatched */
	struct kvm_coalesced_mmio_ring *ring;
};

static void sink(void *ctx, int is_pio, uint64_t addr, const uint8_t *data, unsigned len)
{
	struct got *g = ctx;
	unsigned i = g->n++ % 16;

	g->is_pio[i] = is_pio;
	g->addr[i] = addr;
	g->len[i] = len;
	memcpy(g->data[i], data, len);
	g->first_seen[i] = g->ring->first;
}

/* What KVM does for a guest write in a zone: fill the entry at last, then publish. */
static void kvm_put(struct kvm_coalesced_mmio_ring *r, unsigned max, int pio, uint64_t addr,
		    uint32_t len, uint32_t v)
{
	struct kvm_coalesced_mmio *e = &r->coalesced_mmio[r->last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = addr;
	e->len = len;
	e->pio = (uint32_t)pio;
	memcpy(e->data, &v, 4);
	r->last = (r->last + 1) % max;
}

static struct kvm_coalesced_mmio_ring *ring_new(void)
{
	return calloc(1, PAGE);
}

TEST(max)
{
	/* The uapi's formula for a 4 KiB page: 8 bytes of indexes, 24-byte entries. */
	CHECK_EQ(kvm_coalesce_ring_max(PAGE), (PAGE - 8) / 24);
	CHECK_EQ(sizeof(struct kvm_coalesced_mmio), 24);
}

TEST(in_order)
{
	struct kvm_coalesced_mmio_ring *r = ring_new();
	unsigned max = kvm_coalesce_ring_max(PAGE), bad = 0;
	struct got g = { .ring = r };

	CHECK(!kvm_coalesce_pending(r));
	CHECK_EQ(kvm_coalesce_drain(r, max, sink, &g, &bad), 0);
	kvm_put(r, max, 1, 0xcf8, 4, 0x80000800u);
	kvm_put(r, max, 1, 0x70, 1, 0x8f);
	kvm_put(r, max, 1, 0xcf8, 4, 0x80001000u);
	CHECK(kvm_coalesce_pending(r));
	CHECK_EQ(kvm_coalesce_drain(r, max, sink, &g, &bad), 3);
	CHECK(!kvm_coalesce_pending(r));
	CHECK_EQ(g.n, 3);
	CHECK_EQ(bad, 0);
	CHECK_EQ(g.addr[0], 0xcf8);
	CHECK_EQ(g.len[0], 4);
	CHECK_EQ(g.is_pio[0], 1);
	CHECK_EQ(g.data[0][1], 0x08);
	CHECK_EQ(g.data[0][3], 0x80);
	CHECK_EQ(g.addr[1], 0x70);
	CHECK_EQ(g.len[1], 1);
	CHECK_EQ(g.data[1][0], 0x8f);
	CHECK_EQ(g.data[2][1], 0x10);
	/* first still pointed at each entry while it was dispatched. */
	CHECK_EQ(g.first_seen[0], 0);
	CHECK_EQ(g.first_seen[1], 1);
	CHECK_EQ(g.first_seen[2], 2);
	CHECK_EQ(r->first, 3);
	free(r);
}

TEST(wraps)
{
	struct kvm_coalesced_mmio_ring *r = ring_new();
	unsigned max = kvm_coalesce_ring_max(PAGE), bad = 0;
	struct got g = { .ring = r };

	r->first = r->last = max - 2; /* two slots before the end */
	for (uint32_t i = 0; i < 5; i++)
		kvm_put(r, max, 1, 0xcf8, 4, i);
	CHECK_EQ(r->last, 3);
	CHECK_EQ(kvm_coalesce_drain(r, max, sink, &g, &bad), 5);
	for (unsigned i = 0; i < 5; i++)
		CHECK_EQ(g.data[i][0], i);
	CHECK_EQ(g.first_seen[2], 0);
	CHECK_EQ(r->first, 3);
	free(r);
}

TEST(bad_len_skipped)
{
	struct kvm_coalesced_mmio_ring *r = ring_new();
	unsigned max = kvm_coalesce_ring_max(PAGE), bad = 0;
	struct got g = { .ring = r };

	kvm_put(r, max, 1, 0xcf8, 0, 1);
	kvm_put(r, max, 1, 0xcf8, 9, 2);
	kvm_put(r, max, 0, 0xfed00000, 8, 3);
	CHECK_EQ(kvm_coalesce_drain(r, max, sink, &g, &bad), 1);
	CHECK_EQ(bad, 2);
	CHECK_EQ(g.is_pio[0], 0);
	CHECK_EQ(g.len[0], 8);
	CHECK_EQ(g.data[0][0], 3);
	CHECK(!kvm_coalesce_pending(r));
	free(r);
}

TEST(indexes_outside)
{
	struct kvm_coalesced_mmio_ring *r = ring_new();
	unsigned max = kvm_coalesce_ring_max(PAGE), bad = 0;
	struct got g = { .ring = r };

	r->first = 0;
	r->last = max + 100; /* past the page */
	CHECK_EQ(kvm_coalesce_drain(r, max, sink, &g, &bad), 0);
	CHECK_EQ(g.n, 0);
	CHECK_EQ(bad, 1);
	r->first = 0xffffffffu;
	r->last = 5;
	CHECK_EQ(kvm_coalesce_drain(r, max, sink, &g, &bad), 0);
	CHECK_EQ(g.n, 0);
	CHECK_EQ(bad, 2);
	CHECK_EQ(r->first, 5); /* emptied */
	CHECK(!kvm_coalesce_pending(r));
	free(r);
}

TEST_MAIN(T(max), T(in_order), T(wraps), T(bad_len_skipped), T(indexes_outside))
