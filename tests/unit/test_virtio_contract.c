/*
 * test_virtio_contract.c: what a guest driver must not be able to do to a
 * virtio device (issue #12), each case with its expected outcome:
 *  - break the contract of virtio 1.2 §2 / §3.1: DRIVER_OK without
 *    FEATURES_OK is ignored (no driver_ok call, no queue work); FEATURES_OK
 *    and DRIVER_OK stay until a reset; a queue made ready before
 *    FEATURES_OK, a bad layout, a notified queue that is not ready and a
 *    broken (looping) chain set DEVICE_NEEDS_RESET, and the device then
 *    does no work until reset;
 *  - turn on what was not negotiated: net's offload=off cannot be undone
 *    (nothing reaches the TAP's offloads, a transmit header asking for an
 *    offload drops the frame, DATA_VALID is cleared), blk stays read-only
 *    whatever the driver accepted, FLUSH works only when negotiated (and
 *    without it writes are writethrough);
 *  - reach host files: a disk image locked by one user cannot be opened
 *    read-write by another (two read-only users are fine); cache=none
 *    follows the host's alignment (blk_size says it, misaligned offsets
 *    are refused with a log line, misaligned buffers are bounced);
 *  - flood the log: 10000 bad requests give a handful of lines, one of them
 *    saying how many messages were dropped.
 *
 * Devices sit on virtio-mmio transports over a fake machine
 * (fake_machine.c); a small driver (drv_*) works the register file and puts
 * rings and buffers in the fake guest RAM, and runs the doorbell handler by
 * hand, as the I/O thread would. Log lines are captured with log_set_sink.
 * The net device has a socketpair in place of its TAP. Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_machine.c"
#include "log.h"
#include "test.h"
#include "util.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

#define RAM_BASE 0x200000ULL
#define RAM_SIZE (1024 * 1024)
#define QNUM     8
#define AREA     0x10000 /* guest RAM per device: two queues of 0x8000 */

/* virtio-mmio registers (virtio 1.2 §4.2.2), spelled out here on purpose. */
enum {
	DEV_FEATURES = 0x010, DEV_FEATURES_SEL = 0x014, DRV_FEATURES = 0x020,
	DRV_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM = 0x038, QUEUE_READY = 0x044,
	QUEUE_NOTIFY = 0x050, ISR = 0x060, STATUS = 0x070, DESC_LO = 0x080, DESC_HI = 0x084,
	AVAIL_LO = 0x090, AVAIL_HI = 0x094, USED_LO = 0x0a0, USED_HI = 0x0a4, CONFIG = 0x100,
};
#define ST_ACK    VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRV    VIRTIO_STATUS_DRIVER
#define ST_FOK    VIRTIO_STATUS_FEATURES_OK
#define ST_DOK    VIRTIO_STATUS_DRIVER_OK
#define ST_NR     VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define ST_UP     (ST_ACK | ST_DRV | ST_FOK)
#define F_VERSION_1 (1ULL << VIRTIO_F_VERSION_1)

/* virtio-blk (virtio 1.2 §5.2.3, §5.2.6) and virtio-net (§5.1.3, §5.1.6), spelled out. */
#define BLK_F_RO    (1ULL << 5)
#define BLK_F_FLUSH (1ULL << 9)
#define BLK_T_IN    0
#define BLK_T_OUT   1
#define BLK_T_FLUSH 4
#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2
#define NF_CSUM       (1ULL << 0)
#define NF_GUEST_CSUM (1ULL << 1)
#define NF_MAC        (1ULL << 5)
#define NF_GUEST_TSO4 (1ULL << 7)
#define NF_HOST_TSO4  (1ULL << 11)
#define NF_OFFLOADS   (NF_CSUM | NF_GUEST_CSUM | NF_GUEST_TSO4 | NF_HOST_TSO4)
#define HDR_NEEDS_CSUM 1
#define HDR_DATA_VALID 2
#define HDR_GSO_TCPV4  1

/* ---- log capture --------------------------------------------------------------------- */

static struct {
	unsigned lines;
	char text[32768];
	size_t len;
} cap;

static void cap_sink(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	cap.lines++;
	if (len < sizeof(cap.text) - cap.len) {
		memcpy(cap.text + cap.len, line, len);
		cap.len += len;
		cap.text[cap.len] = '\0';
	}
}

static void cap_start(void)
{
	memset(&cap, 0, sizeof(cap));
	log_set_sink(cap_sink, NULL);
}

static void cap_stop(void)
{
	log_set_sink(NULL, NULL);
}

static int cap_has(const char *s)
{
	return strstr(cap.text, s) != NULL;
}

/* ---- a minimal driver ------------------------------------------------------------------ */

struct drv {
	struct fake_machine *fm;
	struct virtio_mmio *t;
	uint64_t base, area;
	uint16_t avail_idx[2];
};

static uint64_t ring_gpa(const struct drv *d, unsigned qi, unsigned part)
{
	return d->area + qi * 0x8000 + part * 0x800; /* desc, avail, used, then data */
}

static uint32_t rd(const struct drv *d, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	bus_access(&d->fm->mmio, d->base + off, &v, 4, 0);
	return v;
}

static void wr(const struct drv *d, uint64_t off, uint32_t v)
{
	bus_access(&d->fm->mmio, d->base + off, &v, 4, 1);
}

static uint8_t *ram(const struct drv *d, uint64_t gpa)
{
	return fake_machine_ram(d->fm, gpa);
}

static uint8_t *drv_data(const struct drv *d, unsigned qi, uint64_t off)
{
	return ram(d, ring_gpa(d, qi, 3) + off);
}

/* Put dev on a transport of its own on fm, with d driving it from guest RAM at area. */
static void drv_attach(struct drv *d, struct fake_machine *fm, const char *name,
		       const struct virtio_dev_ops *ops, void *dev, uint64_t area)
{
	struct virtio_mmio *t;
	uint64_t base;
	unsigned gsi;

	if (fm->m.ops->irq_alloc(fm->m.ctx, &gsi) ||
	    fm->m.ops->mmio_alloc(fm->m.ctx, VIRTIO_MMIO_WINDOW, &base) ||
	    virtio_mmio_create(&fm->m, name, base, gsi, ops, dev, &t) ||
	    machine_map(&fm->mmio, base, VIRTIO_MMIO_WINDOW, &virtio_mmio_dev_ops, t, name) ||
	    machine_add_dev(&fm->m, &virtio_mmio_dev_ops, t, name))
		abort();
	memset(d, 0, sizeof(*d));
	d->fm = fm;
	d->t = t;
	d->base = base;
	d->area = area;
}

/* Reset, ACKNOWLEDGE, DRIVER, write the features; the status then. */
static void drv_features(struct drv *d, uint64_t features)
{
	wr(d, STATUS, 0);
	wr(d, STATUS, ST_ACK);
	wr(d, STATUS, ST_ACK | ST_DRV);
	wr(d, DRV_FEATURES_SEL, 0);
	wr(d, DRV_FEATURES, (uint32_t)features);
	wr(d, DRV_FEATURES_SEL, 1);
	wr(d, DRV_FEATURES, (uint32_t)(features >> 32));
}

/* Lay out queue qi at zeroed rings (desc at desc_gpa if nonzero) and make it ready. */
static void drv_queue_at(struct drv *d, unsigned qi, uint64_t desc_gpa)
{
	memset(ram(d, ring_gpa(d, qi, 0)), 0, 0x8000);
	d->avail_idx[qi] = 0;
	wr(d, QUEUE_SEL, qi);
	wr(d, QUEUE_NUM, QNUM);
	wr(d, DESC_LO, (uint32_t)(desc_gpa ? desc_gpa : ring_gpa(d, qi, 0)));
	wr(d, DESC_HI, 0);
	wr(d, AVAIL_LO, (uint32_t)ring_gpa(d, qi, 1));
	wr(d, AVAIL_HI, 0);
	wr(d, USED_LO, (uint32_t)ring_gpa(d, qi, 2));
	wr(d, USED_HI, 0);
	wr(d, QUEUE_READY, 1);
}

/* The whole §3.1.1 sequence with nq queues. 1 if the device runs. */
static int drv_start(struct drv *d, uint64_t features, unsigned nq)
{
	drv_features(d, features);
	wr(d, STATUS, ST_UP);
	if (rd(d, STATUS) != ST_UP)
		return 0;
	for (unsigned qi = 0; qi < nq; qi++)
		drv_queue_at(d, qi, 0);
	wr(d, STATUS, ST_UP | ST_DOK);
	return rd(d, STATUS) == (ST_UP | ST_DOK);
}

/* Ring queue qi's doorbell and run its handler, as the I/O thread does. */
static void drv_kick(struct drv *d, unsigned qi)
{
	wr(d, QUEUE_NOTIFY, qi);
	d->t->db[qi].h.fn(d->t->db[qi].h.ctx);
}

struct buf {
	uint64_t off; /* in the queue's data area */
	uint32_t len;
	int write;
};

/* Offer a chain of n buffers on queue qi (descriptors from 0), then kick. */
static void drv_request(struct drv *d, unsigned qi, const struct buf *b, unsigned n)
{
	uint8_t *avail = ram(d, ring_gpa(d, qi, 1));

	for (unsigned i = 0; i < n; i++) {
		uint8_t *desc = ram(d, ring_gpa(d, qi, 0) + 16 * i);

		le64_put(desc, ring_gpa(d, qi, 3) + b[i].off);
		le32_put(desc + 8, b[i].len);
		le16_put(desc + 12, (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
					       (b[i].write ? VIRTQ_DESC_F_WRITE : 0)));
		le16_put(desc + 14, (uint16_t)(i + 1));
	}
	le16_put(avail + 4 + 2 * (d->avail_idx[qi] % QNUM), 0);
	d->avail_idx[qi]++;
	le16_put(avail + 2, d->avail_idx[qi]);
	drv_kick(d, qi);
}

static uint16_t drv_used_idx(const struct drv *d, unsigned qi)
{
	return le16_get(ram(d, ring_gpa(d, qi, 2) + 2));
}

/* ---- a mock device that counts what the core asks of it ---------------------------- */

struct mock {
	struct virtq_chain chain;
	unsigned driver_oks, notifies;
	uint64_t features; /* what driver_ok was given */
};

static uint64_t mock_features(void *dev)
{
	(void)dev;
	return 1ULL << 3;
}

static int mock_notify(void *dev, struct virtq *q, unsigned qi)
{
	struct mock *m = dev;
	int n = 0, ret;

	(void)qi;
	m->notifies++;
	while ((ret = virtq_pop(q, &m->chain)) > 0) {
		if (virtq_push(q, m->chain.head, 0))
			return -EINVAL;
		n++;
	}
	return ret < 0 ? ret : n;
}

static void mock_driver_ok(void *dev, uint64_t features)
{
	struct mock *m = dev;

	m->driver_oks++;
	m->features = features;
}

static const struct virtio_dev_ops mock_ops = {
	.name = "virtio-mock", .device_id = 42, .nr_queues = 2, .queue_size_max = 16,
	.features = mock_features, .config_read = virtio_config_none_read,
	.config_write = virtio_config_readonly_write, .queue_notify = mock_notify,
	.reset = virtio_reset_none, .driver_ok = mock_driver_ok, .save = virtio_save_none,
	.load = virtio_load_none, .stats = virtio_stats_none, .destroy = free,
};

struct mvm {
	struct fake_machine fm;
	struct mock *dev;
	struct drv d;
};

static struct mvm *mvm_new(void)
{
	struct mvm *v = calloc(1, sizeof(*v));

	if (!v || fake_machine_init(&v->fm, RAM_BASE, RAM_SIZE) ||
	    !(v->dev = calloc(1, sizeof(*v->dev))))
		abort();
	drv_attach(&v->d, &v->fm, "virtio-mock0", &mock_ops, v->dev, RAM_BASE);
	return v;
}

static void mvm_free(struct mvm *v)
{
	fake_machine_destroy(&v->fm);
	free(v);
}

static const struct buf one = { 0, 8, 0 };

/* ---- class 1: the status and feature contract ---------------------------------------- */

TEST(driver_ok_without_features_ok_is_ignored)
{
	struct mvm *v = mvm_new();
	struct drv *d = &v->d;

	cap_start();
	/* Features written, FEATURES_OK skipped, DRIVER_OK set. */
	drv_features(d, F_VERSION_1 | (1ULL << 3));
	wr(d, STATUS, ST_ACK | ST_DRV | ST_DOK);
	CHECK_EQ(rd(d, STATUS), ST_ACK | ST_DRV); /* DRIVER_OK did not stick */
	CHECK_EQ(v->dev->driver_oks, 0);
	CHECK(cap_has("DRIVER_OK without FEATURES_OK"));
	/* A queue made ready now (before FEATURES_OK) is misuse. */
	drv_queue_at(d, 0, 0);
	CHECK_EQ(rd(d, QUEUE_READY), 0);
	CHECK(rd(d, STATUS) & ST_NR);
	drv_request(d, 0, &one, 1);
	CHECK_EQ(v->dev->notifies, 0);
	CHECK_EQ(drv_used_idx(d, 0), 0);

	/* FEATURES_OK refused (a feature never offered), then DRIVER_OK: ignored too. */
	drv_features(d, F_VERSION_1 | (1ULL << 40));
	wr(d, STATUS, ST_UP);
	CHECK_EQ(rd(d, STATUS), ST_ACK | ST_DRV);
	wr(d, STATUS, ST_UP | ST_DOK);
	CHECK_EQ(rd(d, STATUS), ST_ACK | ST_DRV);
	CHECK_EQ(v->dev->driver_oks, 0);

	/* The proper sequence works, and driver_ok sees only what was negotiated. */
	CHECK(drv_start(d, F_VERSION_1 | (1ULL << 3), 2));
	CHECK_EQ(v->dev->driver_oks, 1);
	CHECK_EQ(v->dev->features, F_VERSION_1 | (1ULL << 3));
	drv_request(d, 1, &one, 1);
	CHECK_EQ(drv_used_idx(d, 1), 1);
	cap_stop();
	mvm_free(v);
}

TEST(features_ok_and_driver_ok_stay_until_reset)
{
	struct mvm *v = mvm_new();
	struct drv *d = &v->d;

	CHECK(drv_start(d, F_VERSION_1, 2));
	/* §2.1.1: the driver cannot take bits back; it would reopen the features. */
	wr(d, STATUS, ST_ACK | ST_DRV);
	CHECK_EQ(rd(d, STATUS), ST_UP | ST_DOK);
	wr(d, DRV_FEATURES_SEL, 0);
	wr(d, DRV_FEATURES, (uint32_t)(1ULL << 3));
	CHECK_EQ(d->t->core.drv_features, F_VERSION_1);
	wr(d, STATUS, ST_UP | ST_DOK);
	CHECK_EQ(v->dev->driver_oks, 1); /* once per start */
	wr(d, STATUS, 0);
	CHECK_EQ(rd(d, STATUS), 0);
	mvm_free(v);
}

TEST(bad_layout_needs_reset_and_no_work)
{
	struct mvm *v = mvm_new();
	struct drv *d = &v->d;

	cap_start();
	drv_features(d, F_VERSION_1);
	wr(d, STATUS, ST_UP);
	drv_queue_at(d, 0, RAM_BASE + RAM_SIZE - 16); /* the descriptor table runs out of RAM */
	CHECK_EQ(rd(d, QUEUE_READY), 0);
	CHECK(rd(d, STATUS) & ST_NR);
	drv_queue_at(d, 1, 0); /* a good queue beside it */
	wr(d, STATUS, ST_UP | ST_DOK | ST_NR);
	CHECK_EQ(v->dev->driver_oks, 0); /* a device due for reset does not start */
	drv_request(d, 1, &one, 1);
	CHECK_EQ(v->dev->notifies, 0);
	CHECK_EQ(drv_used_idx(d, 1), 0);
	cap_stop();
	mvm_free(v);
}

TEST(notifying_a_queue_not_ready_needs_reset)
{
	struct mvm *v = mvm_new();
	struct drv *d = &v->d;

	/* Before DRIVER_OK a stray doorbell (one left from before a reset) is ignored. */
	drv_features(d, F_VERSION_1);
	wr(d, STATUS, ST_UP);
	drv_kick(d, 1);
	CHECK(!(rd(d, STATUS) & ST_NR));

	cap_start();
	CHECK(drv_start(d, F_VERSION_1, 1)); /* queue 1 left unused */
	fake_machine_edges(&v->fm, d->t->gsi);
	drv_kick(d, 1);
	CHECK(rd(d, STATUS) & ST_NR);
	CHECK(rd(d, ISR) & 2); /* configuration change: the driver is told (§2.1.2) */
	CHECK(fake_machine_edges(&v->fm, d->t->gsi) >= 1);
	CHECK(cap_has("notified but not ready"));
	/* No more work until reset. */
	drv_request(d, 0, &one, 1);
	CHECK_EQ(v->dev->notifies, 0);
	CHECK_EQ(drv_used_idx(d, 0), 0);
	CHECK(drv_start(d, F_VERSION_1, 1));
	drv_request(d, 0, &one, 1);
	CHECK_EQ(drv_used_idx(d, 0), 1);
	cap_stop();
	mvm_free(v);
}

TEST(looping_chain_needs_reset_at_once)
{
	struct mvm *v = mvm_new();
	struct drv *d = &v->d;
	uint8_t *desc;

	cap_start();
	CHECK(drv_start(d, F_VERSION_1, 2));
	/* Descriptor 0 chains to itself: a loop the walk must cut short. */
	drv_request(d, 0, &one, 1);
	CHECK_EQ(drv_used_idx(d, 0), 1);
	desc = ram(d, ring_gpa(d, 0, 0));
	le16_put(desc + 12, VIRTQ_DESC_F_NEXT);
	le16_put(desc + 14, 0);
	drv_request(d, 0, NULL, 0);
	CHECK(rd(d, STATUS) & ST_NR);
	CHECK_EQ(drv_used_idx(d, 0), 1);
	CHECK_EQ(d->t->core.vq[0].broken, 1);
	/* The other queue does no work either, until reset. */
	drv_request(d, 1, &one, 1);
	CHECK_EQ(drv_used_idx(d, 1), 0);
	CHECK(drv_start(d, F_VERSION_1, 2));
	drv_request(d, 1, &one, 1);
	CHECK_EQ(drv_used_idx(d, 1), 1);
	cap_stop();
	mvm_free(v);
}

/* ---- class 1: net's offloads follow what was offered and negotiated ----------------- */

static void noop_kick(void *ctx)
{
	(void)ctx;
}

static void noop_handler(void *ctx)
{
	(void)ctx;
}

struct nvm {
	struct fake_machine fm;
	struct vnet *n;
	int peer; /* the "TAP"'s other end: what the device sent */
	struct drv d;
};

/* A net device whose TAP is one end of a datagram socketpair. */
static struct nvm *nvm_new(int no_offload)
{
	struct nvm *v = calloc(1, sizeof(*v));
	int sv[2];

	if (!v || fake_machine_init(&v->fm, RAM_BASE, RAM_SIZE) ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) || !(v->n = calloc(1, sizeof(*v->n))))
		abort();
	v->n->m = &v->fm.mem;
	v->n->loop = &v->fm.io;
	v->n->rx_kick = noop_kick;
	v->n->tap_fd = sv[0];
	v->n->no_offload = no_offload;
	snprintf(v->n->ifname, sizeof(v->n->ifname), "fake0");
	v->n->rx_h = (struct ioloop_handler){ .fd = sv[0], .fn = noop_handler, .ctx = v->n };
	v->peer = sv[1];
	drv_attach(&v->d, &v->fm, "virtio-net0", &vnet_ops, v->n, RAM_BASE);
	return v;
}

static void nvm_free(struct nvm *v)
{
	log_set_sink(cap_sink, NULL); /* the reset's TUNSETOFFLOAD fails on a socket */
	fake_machine_destroy(&v->fm); /* closes the device's end */
	log_set_sink(NULL, NULL);
	close(v->peer);
	free(v);
}

/* Transmit one 72-byte frame (12-byte header + 60 bytes) with these header bytes. */
static void net_send(struct nvm *v, uint8_t flags, uint8_t gso)
{
	const struct buf b = { 0, VNET_HDR_SIZE + 60, 0 };
	uint8_t *p = drv_data(&v->d, VNET_TXQ, 0);

	memset(p, 0x5a, b.len);
	memset(p, 0, VNET_HDR_SIZE);
	p[0] = flags;
	p[1] = gso;
	drv_request(&v->d, VNET_TXQ, &b, 1);
}

/* What reached the TAP: the frame's length (0: nothing), its header's flags into *flags. */
static ssize_t net_got(struct nvm *v, uint8_t *flags)
{
	uint8_t frame[256];
	ssize_t n = recv(v->peer, frame, sizeof(frame), MSG_DONTWAIT);

	if (n <= 0)
		return 0;
	*flags = frame[0];
	return n;
}

TEST(net_offload_off_cannot_be_undone)
{
	struct nvm *v = nvm_new(1);
	struct drv *d = &v->d;
	uint8_t flags = 0xff;

	cap_start(); /* TUNSETOFFLOAD on a socket fails, logged */
	wr(d, DEV_FEATURES_SEL, 0);
	CHECK_EQ(rd(d, DEV_FEATURES) & NF_OFFLOADS, 0);
	/* Take the offloads anyway and skip FEATURES_OK: the device does not start. */
	drv_features(d, F_VERSION_1 | NF_MAC | NF_OFFLOADS);
	wr(d, STATUS, ST_ACK | ST_DRV | ST_DOK);
	CHECK_EQ(v->n->features, 0);
	/* Ask for them with FEATURES_OK: refused. */
	drv_features(d, F_VERSION_1 | NF_MAC | NF_OFFLOADS);
	wr(d, STATUS, ST_UP);
	CHECK(!(rd(d, STATUS) & ST_FOK));
	/* Started properly, without them. */
	CHECK(drv_start(d, F_VERSION_1 | NF_MAC, 2));
	CHECK_EQ(v->n->features & NF_OFFLOADS, 0);

	/* A TSO frame is dropped (not handed to the TAP to segment), and returned. */
	net_send(v, HDR_NEEDS_CSUM, HDR_GSO_TCPV4);
	CHECK_EQ(net_got(v, &flags), 0);
	CHECK_EQ(drv_used_idx(d, VNET_TXQ), 1);
	CHECK_EQ(v->n->tx_errors, 1);
	/* So is a partial checksum without CSUM. */
	net_send(v, HDR_NEEDS_CSUM, 0);
	CHECK_EQ(net_got(v, &flags), 0);
	/* DATA_VALID never reaches the host ("checksum verified"): cleared. */
	net_send(v, HDR_DATA_VALID, 0);
	CHECK_EQ(net_got(v, &flags), VNET_HDR_SIZE + 60);
	CHECK_EQ(flags, 0);
	/* A plain frame goes through as the driver wrote it. */
	net_send(v, 0, 0);
	CHECK_EQ(net_got(v, &flags), VNET_HDR_SIZE + 60);
	CHECK_EQ(v->n->tx_packets, 2);
	cap_stop();
	nvm_free(v);
}

TEST(net_offloads_on_only_as_negotiated)
{
	struct nvm *v = nvm_new(0);
	struct drv *d = &v->d;
	uint8_t flags = 0;

	cap_start();
	/* Offered, but the driver took only CSUM: TSO stays off. */
	CHECK(drv_start(d, F_VERSION_1 | NF_MAC | NF_CSUM, 2));
	CHECK_EQ(v->n->features & NF_OFFLOADS, NF_CSUM);
	net_send(v, HDR_NEEDS_CSUM, HDR_GSO_TCPV4);
	CHECK_EQ(net_got(v, &flags), 0);
	net_send(v, HDR_NEEDS_CSUM, 0);
	CHECK_EQ(net_got(v, &flags), VNET_HDR_SIZE + 60);
	CHECK_EQ(flags, HDR_NEEDS_CSUM);
	/* With HOST_TSO4 negotiated the same TSO frame goes through. */
	CHECK(drv_start(d, F_VERSION_1 | NF_MAC | NF_CSUM | NF_HOST_TSO4, 2));
	net_send(v, HDR_NEEDS_CSUM, HDR_GSO_TCPV4);
	CHECK_EQ(net_got(v, &flags), VNET_HDR_SIZE + 60);
	cap_stop();
	nvm_free(v);
}

/* ---- class 1: blk's read-only and flush --------------------------------------------- */

static char *img_new(unsigned sectors, uint8_t fill)
{
	static char paths[8][64];
	static unsigned next;
	char *path = paths[next++ % 8];
	uint8_t sec[512];
	int fd;

	snprintf(path, 64, "/tmp/vmon-test-contract-XXXXXX");
	fd = mkstemp(path);
	memset(sec, fill, sizeof(sec));
	for (unsigned i = 0; fd >= 0 && i < sectors; i++)
		if (write(fd, sec, sizeof(sec)) != (ssize_t)sizeof(sec))
			abort();
	if (fd < 0)
		abort();
	close(fd);
	return path;
}

struct bvm {
	struct fake_machine fm;
	struct vblk *b;
	struct drv d;
};

/* A blk device on path, or NULL (logged) if vblk_create refuses. */
static struct bvm *bvm_new(const char *path, int ro, int direct)
{
	struct bvm *v = calloc(1, sizeof(*v));
	struct vblk_opts o;

	if (!v || fake_machine_init(&v->fm, RAM_BASE, RAM_SIZE))
		abort();
	memset(&o, 0, sizeof(o));
	snprintf(o.path, sizeof(o.path), "%s", path);
	o.read_only = ro;
	o.direct = direct;
	if (vblk_create(&v->fm.mem, &o, &v->b)) {
		fake_machine_destroy(&v->fm);
		free(v);
		return NULL;
	}
	drv_attach(&v->d, &v->fm, "virtio-blk0", &vblk_ops, v->b, RAM_BASE);
	return v;
}

static void bvm_free(struct bvm *v)
{
	if (!v)
		return;
	fake_machine_destroy(&v->fm);
	free(v);
}

/*
 * One blk request: header, then data of len bytes at data offset doff
 * (split in two descriptors at split if nonzero), then the status byte.
 * Returns the status byte.
 */
static int blk_req(struct drv *d, uint32_t type, uint64_t sector, uint64_t doff, uint32_t len,
		   uint32_t split)
{
	struct buf b[4] = { { 0, 16, 0 } };
	unsigned n = 1;
	int in = type == BLK_T_IN;
	uint8_t *hdr = drv_data(d, 0, 0);

	le32_put(hdr, type);
	le32_put(hdr + 4, 0);
	le64_put(hdr + 8, sector);
	if (len && split) {
		b[n++] = (struct buf){ doff, split, in };
		b[n++] = (struct buf){ doff + split, len - split, in };
	} else if (len) {
		b[n++] = (struct buf){ doff, len, in };
	}
	b[n++] = (struct buf){ 0x6000, 1, 1 };
	*drv_data(d, 0, 0x6000) = 0xff;
	drv_request(d, 0, b, n);
	return *drv_data(d, 0, 0x6000);
}

static int file_byte(const char *path, uint64_t off)
{
	uint8_t c = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, &c, 1, (off_t)off) != 1)
		c = 0xee;
	if (fd >= 0)
		close(fd);
	return c;
}

TEST(blk_read_only_whatever_the_driver_accepted)
{
	char *path = img_new(64, 0x11);
	struct bvm *v = bvm_new(path, 1, 0);

	CHECK(v != NULL);
	if (!v)
		return;
	wr(&v->d, DEV_FEATURES_SEL, 0);
	CHECK(rd(&v->d, DEV_FEATURES) & BLK_F_RO);
	CHECK(drv_start(&v->d, F_VERSION_1, 1)); /* RO not accepted */
	memset(drv_data(&v->d, 0, 0x1000), 0x22, 512);
	CHECK_EQ(blk_req(&v->d, BLK_T_OUT, 2, 0x1000, 512, 0), BLK_S_IOERR);
	CHECK_EQ(file_byte(path, 2 * 512), 0x11);
	CHECK_EQ(blk_req(&v->d, BLK_T_IN, 2, 0x1000, 512, 0), BLK_S_OK);
	bvm_free(v);
	unlink(path);
}

TEST(blk_flush_only_when_negotiated)
{
	char *path = img_new(64, 0);
	struct bvm *v = bvm_new(path, 0, 0);

	CHECK(v != NULL);
	if (!v)
		return;
	CHECK(drv_start(&v->d, F_VERSION_1, 1));
	CHECK_EQ(v->b->flush, 0); /* writethrough: each write is synced before it completes */
	CHECK_EQ(blk_req(&v->d, BLK_T_FLUSH, 0, 0, 0, 0), BLK_S_UNSUPP);
	memset(drv_data(&v->d, 0, 0x1000), 0x33, 512);
	CHECK_EQ(blk_req(&v->d, BLK_T_OUT, 1, 0x1000, 512, 0), BLK_S_OK);
	CHECK_EQ(file_byte(path, 512), 0x33);
	CHECK(drv_start(&v->d, F_VERSION_1 | BLK_F_FLUSH, 1));
	CHECK_EQ(v->b->flush, 1);
	CHECK_EQ(blk_req(&v->d, BLK_T_FLUSH, 0, 0, 0, 0), BLK_S_OK);
	wr(&v->d, STATUS, 0);
	CHECK_EQ(v->b->flush, 0); /* a reset forgets it */
	bvm_free(v);
	unlink(path);
}

/* ---- class 2: host files -------------------------------------------------------------- */

static int open_img(struct vblk *b, struct gmem *m, const char *path, int ro)
{
	struct vblk_opts o;

	memset(&o, 0, sizeof(o));
	snprintf(o.path, sizeof(o.path), "%s", path);
	o.read_only = ro;
	return vblk_open(b, m, &o);
}

TEST(image_locked_against_a_second_writer)
{
	char *path = img_new(8, 0);
	struct vblk a, b, c;
	struct gmem m;
	uint8_t mem[4096];

	CHECK_EQ(gmem_init_flat(&m, mem, 0, sizeof(mem)), 0);
	cap_start();
	CHECK_EQ(open_img(&a, &m, path, 0), 0);
	CHECK_EQ(open_img(&b, &m, path, 0), -EBUSY); /* a second writer */
	CHECK(cap_has(path));
	CHECK(cap_has("in use by another process"));
	CHECK_EQ(open_img(&b, &m, path, 1), -EBUSY); /* a reader beside a writer */
	vblk_close(&a);
	/* Two readers share it; a writer cannot join them. */
	CHECK_EQ(open_img(&a, &m, path, 1), 0);
	CHECK_EQ(open_img(&b, &m, path, 1), 0);
	CHECK_EQ(open_img(&c, &m, path, 0), -EBUSY);
	vblk_close(&a);
	vblk_close(&b);
	/* Closed: the lock went with it. */
	CHECK_EQ(open_img(&c, &m, path, 0), 0);
	vblk_close(&c);
	cap_stop();
	unlink(path);
}

TEST(direct_io_alignment)
{
	char *path = img_new(256, 0);
	struct bvm *v;
	uint32_t bs, cfg;
	uint8_t *p;

	cap_start();
	v = bvm_new(path, 0, 1);
	cap_stop();
	if (!v) {
		printf("  (no O_DIRECT on /tmp here: %s)\n", cap.text);
		unlink(path);
		return;
	}
	bs = v->b->blk_size;
	CHECK(bs >= 512 && !(bs & (bs - 1)));
	CHECK(v->b->mem_align >= 1 && v->b->bounce != NULL);
	cfg = rd(&v->d, CONFIG + 20); /* blk_size, virtio 1.2 §5.2.4 */
	CHECK_EQ(cfg, bs);
	CHECK(drv_start(&v->d, F_VERSION_1 | BLK_F_FLUSH, 1));

	/* A buffer at an odd guest address, split unevenly: bounced, and right. */
	p = drv_data(&v->d, 0, 0x1001);
	for (uint32_t i = 0; i < bs; i++)
		p[i] = (uint8_t)(i * 13 + 7);
	CHECK_EQ(blk_req(&v->d, BLK_T_OUT, 2 * bs / 512, 0x1001, bs, 100), BLK_S_OK);
	CHECK_EQ(file_byte(path, 2 * bs + 1), (uint8_t)(1 * 13 + 7));
	CHECK_EQ(file_byte(path, 3 * bs - 1), (uint8_t)((bs - 1) * 13 + 7));
	memset(drv_data(&v->d, 0, 0x3003), 0, bs);
	CHECK_EQ(blk_req(&v->d, BLK_T_IN, 2 * bs / 512, 0x3003, bs, 300), BLK_S_OK);
	CHECK(!memcmp(drv_data(&v->d, 0, 0x3003), p, bs));
	CHECK_EQ(v->b->errors, 0);

	/* A host with bigger blocks than the request's: refused, and said so. */
	v->b->blk_size = bs * 8;
	cap_start();
	CHECK_EQ(blk_req(&v->d, BLK_T_IN, bs / 512, 0x1000, bs, 0), BLK_S_IOERR);
	cap_stop();
	CHECK(strstr(cap.text, "aligned requests") != NULL);
	v->b->blk_size = bs;
	bvm_free(v);
	unlink(path);
}

/* ---- class 3: the log --------------------------------------------------------------- */

TEST(ten_thousand_bad_frames_log_a_few_lines)
{
	struct nvm *v = nvm_new(1);
	uint8_t flags;

	CHECK(drv_start(&v->d, F_VERSION_1 | NF_MAC, 2));
	cap_start();
	for (unsigned i = 0; i < 10000; i++)
		net_send(v, HDR_NEEDS_CSUM, HDR_GSO_TCPV4);
	cap_stop();
	CHECK_EQ(v->n->tx_errors, 10000);
	CHECK_EQ(net_got(v, &flags), 0);
	CHECK(cap.lines >= 10 && cap.lines <= 16); /* 1, 2, 4 ... 8192: 14 */
	CHECK(cap_has("needs an offload not negotiated"));
	CHECK(cap_has(" messages dropped since the last"));
	CHECK(cap_has("(4095 messages dropped since the last)")); /* at the 8192nd */
	nvm_free(v);
}

TEST(ten_thousand_broken_rings_log_a_few_lines)
{
	struct mvm *v = mvm_new();
	struct drv *d = &v->d;

	cap_start();
	for (unsigned i = 0; i < 10000; i++) {
		/* Start, then break the ring: a head outside the table. */
		drv_start(d, F_VERSION_1, 1);
		le16_put(ram(d, ring_gpa(d, 0, 1) + 4), QNUM + 1);
		le16_put(ram(d, ring_gpa(d, 0, 1) + 2), 1);
		drv_kick(d, 0);
	}
	cap_stop();
	CHECK(rd(d, STATUS) & ST_NR);
	CHECK_EQ(d->t->core.vq[0].errors, 10000);
	CHECK(cap.lines <= 16);
	CHECK(cap_has("head index outside the descriptor table"));
	CHECK(cap_has("messages dropped since the last"));
	mvm_free(v);
}

TEST(ten_thousand_misaligned_requests_log_a_few_lines)
{
	char *path = img_new(64, 0);
	struct bvm *v = bvm_new(path, 0, 0);

	CHECK(v != NULL);
	if (!v)
		return;
	CHECK(drv_start(&v->d, F_VERSION_1 | BLK_F_FLUSH, 1));
	v->b->blk_size = 4096; /* as cache=none on a 4 KiB-sector host */
	cap_start();
	for (unsigned i = 0; i < 10000; i++)
		blk_req(&v->d, BLK_T_IN, 1, 0x1000, 512, 0);
	cap_stop();
	CHECK_EQ(v->b->errors, 10000);
	CHECK(cap.lines <= 16);
	CHECK(cap_has("messages dropped since the last"));
	bvm_free(v);
	unlink(path);
}

TEST_MAIN(T(driver_ok_without_features_ok_is_ignored), T(features_ok_and_driver_ok_stay_until_reset),
	  T(bad_layout_needs_reset_and_no_work), T(notifying_a_queue_not_ready_needs_reset),
	  T(looping_chain_needs_reset_at_once), T(net_offload_off_cannot_be_undone),
	  T(net_offloads_on_only_as_negotiated), T(blk_read_only_whatever_the_driver_accepted),
	  T(blk_flush_only_when_negotiated), T(image_locked_against_a_second_writer),
	  T(direct_io_alignment), T(ten_thousand_bad_frames_log_a_few_lines),
	  T(ten_thousand_broken_rings_log_a_few_lines),
	  T(ten_thousand_misaligned_requests_log_a_few_lines))
