/*
 * fuzz_net.c: libFuzzer harness for the virtio-net request parser
 * (src/virtio/net.c's queue_notify over src/virtio/virtq.c): a hostile
 * driver owns the descriptor table, both rings, every transmit header
 * (gso type, csum_start/offset, flags) and chain lengths; on receive, a
 * hostile peer owns the frames and their virtio_net_hdr.
 *
 * Owns: 64 KiB of guest RAM at GPA 0x10000000 between PROT_NONE guard
 * pages, one queue, and a fake TAP: one end of an AF_UNIX SOCK_SEQPACKET
 * pair (frame boundaries kept, as a TAP keeps them) as the device's TAP fd;
 * the harness reads and writes the other end. The device is a struct vnet
 * filled in here as vnet_open would (vnet_open needs /dev/net/tun);
 * TUNSETOFFLOAD on a socket fails, which the device logs and survives.
 * Does not own the transport or the core: queue_notify is called
 * directly, as the core would. Threads: libFuzzer's one.
 *
 * Input layout (little-endian; tests/fuzz/make-seeds.py writes seeds):
 *   0  u8   queue size: 1 << (this % 9), so 1..256 (the device's maximum)
 *   1  u8   flags: bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2 receive queue
 *               (else transmit), bit3 the driver accepted no offloads,
 *               bit4 notify a second time
 *   2  u16  avail ring offset in RAM (rounded down to 2)
 *   4  u16  used ring offset in RAM (rounded down to 4)
 *   6  u8   receive: frames the peer sends first (mod 9)
 *   7  u8   reserved
 *   8       receive: that many frames, each u16 length (mod 2049) and bytes
 *   then    guest RAM from offset 0 (the descriptor table is at 0)
 *
 * Checked: queue_notify returns a chain count (at most the queue size) or
 * a virtq_pop error that leaves the queue broken; transmit: every frame
 * reaching the TAP starts with a full header whose flags hold at most
 * NEEDS_CSUM, whose NEEDS_CSUM needs CSUM accepted, whose GSO type is
 * none or TCPv4/v6 with NEEDS_CSUM and the matching HOST_TSO accepted, and
 * the TAP got exactly tx_packets frames; receive: never more frames
 * delivered than the peer sent, and the last delivered header in guest RAM
 * (when nothing could have written over it) says num_buffers 1 and uses no
 * offload the driver did not accept.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "gmem.h"
#include "ioloop.h"
#include "log.h"
#include "util.h"
#include "virtio/net.h"
#include "virtio/virtq.h"

#define RAM_GPA   0x10000000ULL
#define RAM_SIZE  (64u * 1024)
#define HDR_SIZE  8
#define QMAX_LOG2 8
#define MAX_RX    8
#define FRAME_MAX 2048

/* virtio 1.2 §5.1.3 and §5.1.6 (net.c keeps its own copies private). */
#define F_CSUM       (1ULL << 0)
#define F_GUEST_CSUM (1ULL << 1)
#define F_MAC        (1ULL << 5)
#define F_GUEST_TSO4 (1ULL << 7)
#define F_GUEST_TSO6 (1ULL << 8)
#define F_HOST_TSO4  (1ULL << 11)
#define F_HOST_TSO6  (1ULL << 12)
#define F_STATUS     (1ULL << 16)
#define NEEDS_CSUM   1
#define GSO_TCPV4    1
#define GSO_TCPV6    4

struct fz {
	struct gmem m;
	uint8_t *ram;
	struct ioloop loop;
	struct virtq q;
	struct vnet *n;
	int peer; /* the harness's end of the fake TAP */
};

static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_kick(void *ctx)
{
	(void)ctx; /* the harness notifies the receive queue itself */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR);
	fz.ram = fuzz_guarded_ram(RAM_SIZE);
	FUZZ_SETUP(gmem_init_flat(&fz.m, fz.ram, RAM_GPA, RAM_SIZE) == 0);
	FUZZ_SETUP(ioloop_init(&fz.loop) == 0);
	return 0;
}

/* A device as vnet_open leaves it, on a fresh socket pair. */
static void fz_device(uint64_t features)
{
	int sv[2], sz = 1 << 20;

	FUZZ_SETUP(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	FUZZ_SETUP(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
	FUZZ_SETUP(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == 0);
	fz.n = calloc(1, sizeof(*fz.n));
	FUZZ_SETUP(fz.n);
	fz.n->m = &fz.m;
	fz.n->loop = &fz.loop;
	fz.n->rx_kick = fz_kick;
	fz.n->tap_fd = sv[0];
	snprintf(fz.n->ifname, sizeof(fz.n->ifname), "fuzz0");
	fz.n->rx_h = (struct ioloop_handler){ .fd = sv[0], .fn = NULL, .ctx = fz.n };
	fz.peer = sv[1];
	vnet_ops.driver_ok(fz.n, features);
}

static uint64_t stat(const char *key)
{
	struct dev_stat st[8];
	unsigned k = vnet_ops.stats(fz.n, st, 8);

	for (unsigned i = 0; i < k; i++)
		if (!strcmp(st[i].key, key))
			return st[i].value;
	FUZZ_CHECK(!"stat missing");
	return 0;
}

/* What the TAP got: each frame's header obeys vnet_tx_hdr_check's contract. */
static void check_tx(uint64_t f)
{
	static uint8_t buf[RAM_SIZE + 64];
	uint64_t frames = 0;
	ssize_t got;

	while ((got = recv(fz.peer, buf, sizeof(buf), 0)) >= 0) {
		uint8_t flags = buf[0], gso = buf[1];

		frames++;
		FUZZ_CHECK(got >= VNET_HDR_SIZE);
		FUZZ_CHECK_EQ(flags & ~NEEDS_CSUM, 0);
		FUZZ_CHECK(!(flags & NEEDS_CSUM) || (f & F_CSUM));
		FUZZ_CHECK(gso == 0 || gso == GSO_TCPV4 || gso == GSO_TCPV6);
		if (gso)
			FUZZ_CHECK(flags & NEEDS_CSUM);
		FUZZ_CHECK(gso != GSO_TCPV4 || (f & F_HOST_TSO4));
		FUZZ_CHECK(gso != GSO_TCPV6 || (f & F_HOST_TSO6));
	}
	FUZZ_CHECK_EQ(frames, stat("tx_packets"));
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * The last frame delivered: its header as the driver reads it. Only a
 * header that nothing wrote over afterwards can be judged: it sits in the
 * chain's direct, writable head descriptor, clear of the descriptor table
 * and both rings (the driver may point buffers anywhere, the rings too).
 */
static void check_rx(uint64_t f, uint32_t avail, uint32_t used, uint16_t from, uint16_t to,
		     uint16_t num)
{
	const uint8_t *e, *d, *h;
	uint32_t head, len;
	uint64_t gpa;

	if (from == to)
		return;
	e = fz.ram + used + 4 + 8 * ((uint16_t)(to - 1) % num);
	head = le32_get(e);
	len = le32_get(e + 4);
	if (len < VNET_HDR_SIZE || head >= num)
		return; /* a dropped frame (len 0) */
	d = fz.ram + 16 * head;
	if ((le16_get(d + 12) & 6) != 2 || le32_get(d + 8) < VNET_HDR_SIZE ||
	    le64_get(d) < RAM_GPA || le64_get(d) - RAM_GPA + VNET_HDR_SIZE > RAM_SIZE)
		return; /* indirect, read-only, or a header split over descriptors */
	gpa = le64_get(d) - RAM_GPA;
	if (overlaps(gpa, VNET_HDR_SIZE, 0, 16u * num) ||
	    overlaps(gpa, VNET_HDR_SIZE, avail, 6 + 2u * num) ||
	    overlaps(gpa, VNET_HDR_SIZE, used, 6 + 8u * num))
		return;
	h = fz.ram + gpa;
	FUZZ_CHECK_EQ(le16_get(h + 10), 1); /* num_buffers */
	FUZZ_CHECK(!(h[0] & NEEDS_CSUM) || (f & F_GUEST_CSUM));
	FUZZ_CHECK(h[1] != GSO_TCPV4 || (f & F_GUEST_TSO4));
	FUZZ_CHECK(h[1] != GSO_TCPV6 || (f & F_GUEST_TSO6));
	FUZZ_CHECK(h[1] == 0 || h[1] == GSO_TCPV4 || h[1] == GSO_TCPV6);
}

static void check_ret(int ret, uint16_t num)
{
	if (ret < 0)
		FUZZ_CHECK(fz.q.broken);
	else
		FUZZ_CHECK((unsigned)ret <= num);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[FRAME_MAX];
	struct fuzz_in in = { .p = data, .left = size };
	uint16_t num, avail, used, idx0, idx1;
	uint64_t f;
	unsigned nframes, sent = 0;
	uint8_t flags;
	bool rx;
	int ret;

	if (size < HDR_SIZE)
		return 0;
	num = (uint16_t)(1u << (fuzz_u8(&in) % (QMAX_LOG2 + 1)));
	flags = fuzz_u8(&in);
	avail = fuzz_u16(&in) & ~1u;
	used = fuzz_u16(&in) & ~3u;
	nframes = fuzz_u8(&in) % (MAX_RX + 1);
	(void)fuzz_u8(&in);
	rx = flags & 4;
	f = (1ULL << 32) | F_MAC | F_STATUS; /* VERSION_1 */
	if (!(flags & 8))
		f |= vnet_offered(1);
	fz_device(f);
	for (unsigned i = 0; rx && i < nframes && in.left; i++) {
		unsigned len = fuzz_u16(&in) % (FRAME_MAX + 1);

		for (unsigned k = 0; k < len; k++)
			frame[k] = fuzz_u8(&in);
		if (send(fz.peer, frame, len, 0) == (ssize_t)len)
			sent++;
	}
	memset(fz.ram, 0, RAM_SIZE);
	memcpy(fz.ram, in.p, in.left < RAM_SIZE ? in.left : RAM_SIZE);
	if (virtq_setup(&fz.q, &fz.m, num, RAM_GPA, RAM_GPA + avail, RAM_GPA + used, flags & 1,
			flags & 2))
		goto out; /* a layout the transport would refuse */
	idx0 = fz.q.used_idx;
	ret = vnet_ops.queue_notify(fz.n, &fz.q, rx ? VNET_RXQ : VNET_TXQ);
	check_ret(ret, num);
	if (flags & 16 && ret >= 0) {
		ret = vnet_ops.queue_notify(fz.n, &fz.q, rx ? VNET_RXQ : VNET_TXQ);
		check_ret(ret, num);
	}
	idx1 = fz.q.used_idx;
	if (rx) {
		FUZZ_CHECK(stat("rx_packets") <= sent);
		check_rx(f, avail, used, idx0, idx1, num);
	} else {
		check_tx(f);
	}
out:
	vnet_ops.destroy(fz.n); /* unwatches and closes the TAP end */
	close(fz.peer);
	return 0;
}
