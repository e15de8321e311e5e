/*
 * test_net.c: unit tests for the pure parts of src/virtio/net.c: the
 * feature bits offered with and without offloads, the TUN_F_* offloads a TAP
 * is given for what the driver accepted, the receive-header fix-up (which
 * frames a driver may see, flags cleared, num_buffers = 1), the transmit
 * header check (what a driver may send without the offload negotiated) and the --net
 * option parser. No TAP is opened. Single-threaded.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdint.h>

#include "test.h"
#include "virtio/net.h"

/* virtio 1.2 §5.1.3 feature bits and §5.1.6 header values, spelled out here on purpose. */
#define F_CSUM       (1ULL << 0)
#define F_GUEST_CSUM (1ULL << 1)
#define F_MAC        (1ULL << 5)
#define F_GUEST_TSO4 (1ULL << 7)
#define F_GUEST_TSO6 (1ULL << 8)
#define F_GUEST_ECN  (1ULL << 9)
#define F_GUEST_UFO  (1ULL << 10)
#define F_HOST_TSO4  (1ULL << 11)
#define F_HOST_TSO6  (1ULL << 12)
#define F_MRG_RXBUF  (1ULL << 15)
#define F_STATUS     (1ULL << 16)
#define NEEDS_CSUM 1
#define DATA_VALID 2
#define RSC_INFO   4
#define GSO_NONE   0
#define GSO_TCPV4  1
#define GSO_UDP    3
#define GSO_TCPV6  4
#define GSO_ECN    0x80

#define ALL_GUEST (F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6)

static void hdr_make(uint8_t *h, uint8_t flags, uint8_t gso)
{
	memset(h, 0xee, VNET_HDR_SIZE); /* hdr_len, gso_size, csum_*: must pass through */
	h[0] = flags;
	h[1] = gso;
	h[10] = h[11] = 0; /* num_buffers: what the TAP gives (it does not fill it) */
}

TEST(offered)
{
	uint64_t plain = vnet_offered(0), all = vnet_offered(1);

	CHECK_EQ(plain, F_MAC | F_STATUS);
	CHECK_EQ(all, F_MAC | F_STATUS | F_CSUM | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6 |
			      F_HOST_TSO4 | F_HOST_TSO6);
	/* Never offered: no mergeable buffers (the RX path fills one chain per frame), no ECN/UFO. */
	CHECK(!(all & (F_MRG_RXBUF | F_GUEST_ECN | F_GUEST_UFO)));
	/* The transport's bits (VERSION_1, EVENT_IDX, INDIRECT) are not the device's. */
	CHECK(!(all >> 24));
}

TEST(tun_offloads)
{
	CHECK_EQ(vnet_tun_offloads(0), 0);
	CHECK_EQ(vnet_tun_offloads(F_MAC | F_STATUS | F_CSUM | F_HOST_TSO4), 0); /* host side only */
	CHECK_EQ(vnet_tun_offloads(F_GUEST_CSUM), TUN_F_CSUM);
	CHECK_EQ(vnet_tun_offloads(ALL_GUEST), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	CHECK_EQ(vnet_tun_offloads(F_GUEST_CSUM | F_GUEST_TSO6), TUN_F_CSUM | TUN_F_TSO6);
	/* TSO without GUEST_CSUM is invalid (§5.1.3.1) and TUN refuses it: nothing. */
	CHECK_EQ(vnet_tun_offloads(F_GUEST_TSO4 | F_GUEST_TSO6), 0);
}

TEST(rx_hdr_plain)
{
	uint8_t h[VNET_HDR_SIZE];

	/* No offloads accepted: a plain frame passes, flags zeroed, num_buffers 1. */
	hdr_make(h, 0, GSO_NONE);
	CHECK_EQ(vnet_rx_hdr_fix(h, F_MAC), 0);
	CHECK_EQ(h[0], 0);
	CHECK_EQ(h[10], 1);
	CHECK_EQ(h[11], 0);
	CHECK_EQ(h[2], 0xee); /* hdr_len untouched */
	CHECK_EQ(h[9], 0xee); /* csum_offset untouched */
	/* DATA_VALID without GUEST_CSUM: cleared, not dropped (§5.1.6.3.1). */
	hdr_make(h, DATA_VALID | RSC_INFO, GSO_NONE);
	CHECK_EQ(vnet_rx_hdr_fix(h, 0), 0);
	CHECK_EQ(h[0], 0);
	/* A partial checksum or GSO the driver did not accept: dropped. */
	hdr_make(h, NEEDS_CSUM, GSO_NONE);
	CHECK_EQ(vnet_rx_hdr_fix(h, 0), -EINVAL);
	hdr_make(h, NEEDS_CSUM, GSO_TCPV4);
	CHECK_EQ(vnet_rx_hdr_fix(h, 0), -EINVAL);
	hdr_make(h, 0, GSO_TCPV4);
	CHECK_EQ(vnet_rx_hdr_fix(h, 0), -EINVAL);
}

TEST(rx_hdr_offloads)
{
	uint8_t h[VNET_HDR_SIZE];

	hdr_make(h, NEEDS_CSUM, GSO_NONE);
	CHECK_EQ(vnet_rx_hdr_fix(h, F_GUEST_CSUM), 0);
	CHECK_EQ(h[0], NEEDS_CSUM);
	CHECK_EQ(h[10], 1);
	hdr_make(h, DATA_VALID | RSC_INFO, GSO_NONE); /* RSC_INFO needs RSC_EXT: cleared */
	CHECK_EQ(vnet_rx_hdr_fix(h, F_GUEST_CSUM), 0);
	CHECK_EQ(h[0], DATA_VALID);
	hdr_make(h, NEEDS_CSUM, GSO_TCPV4);
	CHECK_EQ(vnet_rx_hdr_fix(h, ALL_GUEST), 0);
	CHECK_EQ(h[1], GSO_TCPV4);
	CHECK_EQ(h[4], 0xee); /* gso_size untouched */
	hdr_make(h, NEEDS_CSUM, GSO_TCPV6);
	CHECK_EQ(vnet_rx_hdr_fix(h, ALL_GUEST), 0);
	/* Each GSO type needs its own feature. */
	hdr_make(h, NEEDS_CSUM, GSO_TCPV6);
	CHECK_EQ(vnet_rx_hdr_fix(h, F_GUEST_CSUM | F_GUEST_TSO4), -EINVAL);
	hdr_make(h, NEEDS_CSUM, GSO_TCPV4);
	CHECK_EQ(vnet_rx_hdr_fix(h, F_GUEST_CSUM | F_GUEST_TSO6), -EINVAL);
	/* GSO without a partial checksum is malformed; UDP and ECN are never negotiated. */
	hdr_make(h, 0, GSO_TCPV4);
	CHECK_EQ(vnet_rx_hdr_fix(h, ALL_GUEST), -EINVAL);
	hdr_make(h, NEEDS_CSUM, GSO_UDP);
	CHECK_EQ(vnet_rx_hdr_fix(h, ALL_GUEST), -EINVAL);
	hdr_make(h, NEEDS_CSUM, GSO_TCPV4 | GSO_ECN);
	CHECK_EQ(vnet_rx_hdr_fix(h, ALL_GUEST), -EINVAL);
}

TEST(parse_opts)
{
	struct vnet_opts o;
	char s1[] = "tap=tap0", s2[] = "tap=tap1,mac=52:54:00:12:34:56,offload=off";
	char s3[] = "offload=on,tap=t", s4[] = "tap=t,offload=maybe", s5[] = "tap=t,offload=";
	char s6[] = "mac=52:54:00:12:34:56";

	CHECK_EQ(vnet_parse_opts(s1, &o), 0);
	CHECK(!strcmp(o.tap, "tap0"));
	CHECK_EQ(o.no_offload, 0);
	CHECK_EQ(o.has_mac, 0);
	CHECK_EQ(vnet_parse_opts(s2, &o), 0);
	CHECK(!strcmp(o.tap, "tap1"));
	CHECK_EQ(o.no_offload, 1);
	CHECK_EQ(o.has_mac, 1);
	CHECK_EQ(o.mac[5], 0x56);
	CHECK_EQ(vnet_parse_opts(s3, &o), 0);
	CHECK_EQ(o.no_offload, 0);
	CHECK_EQ(vnet_parse_opts(s4, &o), -EINVAL);
	CHECK_EQ(vnet_parse_opts(s5, &o), -EINVAL);
	CHECK_EQ(vnet_parse_opts(s6, &o), -EINVAL); /* no tap= */
}

/* Transmit headers: an offload the driver did not negotiate drops the frame (one case each). */
TEST(tx_hdr_check)
{
	static const struct {
		uint8_t flags, gso;
		uint64_t f;
		int ret;
		uint8_t flags_out;
	} cases[] = {
		{ 0, GSO_NONE, 0, 0, 0 },                                 /* plain frame */
		{ DATA_VALID, GSO_NONE, 0, 0, 0 },                        /* never sent: cleared */
		{ RSC_INFO | 0x80, GSO_NONE, F_CSUM, 0, 0 },              /* unknown bits: cleared */
		{ NEEDS_CSUM, GSO_NONE, 0, -EINVAL, 0 },                  /* no CSUM */
		{ NEEDS_CSUM, GSO_NONE, F_CSUM, 0, NEEDS_CSUM },
		{ NEEDS_CSUM | DATA_VALID, GSO_NONE, F_CSUM, 0, NEEDS_CSUM },
		{ NEEDS_CSUM, GSO_TCPV4, F_CSUM, -EINVAL, 0 },            /* no HOST_TSO4 */
		{ NEEDS_CSUM, GSO_TCPV4, F_CSUM | F_HOST_TSO6, -EINVAL, 0 },
		{ NEEDS_CSUM, GSO_TCPV4, F_CSUM | F_HOST_TSO4, 0, NEEDS_CSUM },
		{ 0, GSO_TCPV4, F_CSUM | F_HOST_TSO4, -EINVAL, 0 },       /* TSO without NEEDS_CSUM */
		{ NEEDS_CSUM, GSO_TCPV6, F_CSUM | F_HOST_TSO4, -EINVAL, 0 }, /* no HOST_TSO6 */
		{ NEEDS_CSUM, GSO_TCPV6, F_CSUM | F_HOST_TSO6, 0, NEEDS_CSUM },
		{ NEEDS_CSUM, GSO_UDP, ~0ULL, -EINVAL, 0 },               /* UFO never offered */
		{ NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, ~0ULL, -EINVAL, 0 },   /* ECN never offered */
		{ NEEDS_CSUM, 5, ~0ULL, -EINVAL, 0 },                     /* UDP_L4 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t h[VNET_HDR_SIZE];
		int ret;

		hdr_make(h, cases[i].flags, cases[i].gso);
		ret = vnet_tx_hdr_check(h, cases[i].f);
		if (ret != cases[i].ret)
			fprintf(stderr, "  case %zu: %d, want %d\n", i, ret, cases[i].ret);
		CHECK_EQ(ret, cases[i].ret);
		if (!ret) {
			CHECK_EQ(h[0], cases[i].flags_out);
			CHECK_EQ(h[1], cases[i].gso);
			CHECK_EQ(h[4], 0xee); /* gso_size and the rest untouched */
		}
	}
}

TEST_MAIN(T(offered), T(tun_offloads), T(rx_hdr_plain), T(rx_hdr_offloads), T(tx_hdr_check),
	  T(parse_opts))
