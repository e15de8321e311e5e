/*
 * net.c: virtio-net over a TAP (see net.h for what it owns, what not, its
 * threads and its saved state). Packet layout from virtio 1.2
 * §5.1.6: every buffer starts with struct virtio_net_hdr (12 bytes with
 * VIRTIO_F_VERSION_1, num_buffers included), then the Ethernet frame.
 * The TAP is opened with IFF_VNET_HDR and a header size of 12, so it takes
 * and gives that very header (include/uapi/linux/virtio_net.h layout).
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../config.h"
#include "../log.h"
#include "../util.h"

#define VNET_QUEUE_SIZE 256
#define VNET_TUN_PATH   "/dev/net/tun"

/* Feature bits, virtio 1.2 §5.1.3. */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_STATUS     16
#define VNET_BIT(f) (1ULL << VIRTIO_NET_F_##f)
/*
 * The offloads offered with offload=on: checksums both ways and TCP
 * segmentation both ways, which a TAP supports (TUNSETOFFLOAD for what it
 * hands us, any virtio_net_hdr for what we hand it). No ECN or UFO.
 */
#define VNET_OFFLOADS                                                                      \
	(VNET_BIT(CSUM) | VNET_BIT(GUEST_CSUM) | VNET_BIT(GUEST_TSO4) | VNET_BIT(GUEST_TSO6) | \
	 VNET_BIT(HOST_TSO4) | VNET_BIT(HOST_TSO6))

/* struct virtio_net_config, virtio 1.2 §5.1.4. */
#define CFG_MAC         0
#define CFG_STATUS      6
#define CFG_MAX_VQ_PAIRS 8
#define CFG_SIZE        10
#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr, virtio 1.2 §5.1.6 (VNET_HDR_SIZE in net.h). */
#define HDR_FLAGS            0
#define HDR_GSO_TYPE         1
#define HDR_NUM_BUFFERS      10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4

/*
 * Frames delivered per receive-queue pass. More stay in the TAP and the
 * (level-triggered) watch brings us back, so other devices get a turn.
 */
#define VNET_RX_BUDGET VNET_QUEUE_SIZE

/* Device-specific feature bits, virtio 1.2 §6: 0 to 23 (the rest are the core's). */
#define VNET_DEVICE_FEATURES 0xffffffULL

uint64_t vnet_offered(int offload)
{
	return VNET_BIT(MAC) | VNET_BIT(STATUS) | (offload ? VNET_OFFLOADS : 0);
}

static uint64_t vnet_features(void *dev)
{
	const struct vnet *n = dev;

	return vnet_offered(!n->no_offload);
}

unsigned vnet_tun_offloads(uint64_t f)
{
	unsigned tun = 0;

	/* virtio 1.2 §5.1.3.1: GUEST_TSO4/6 require GUEST_CSUM; so does TUN_F_TSO*. */
	if (!(f & VNET_BIT(GUEST_CSUM)))
		return 0;
	tun |= TUN_F_CSUM;
	if (f & VNET_BIT(GUEST_TSO4))
		tun |= TUN_F_TSO4;
	if (f & VNET_BIT(GUEST_TSO6))
		tun |= TUN_F_TSO6;
	return tun;
}

int vnet_rx_hdr_fix(uint8_t *hdr, uint64_t f)
{
	uint8_t flags = hdr[HDR_FLAGS], gso = hdr[HDR_GSO_TYPE];

	if (f & VNET_BIT(GUEST_CSUM)) {
		flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	} else {
		/* §5.1.6.3.1: without GUEST_CSUM the device sets flags to zero. */
		if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return -EINVAL; /* a partial checksum the driver could not finish */
		flags = 0;
	}
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!(f & VNET_BIT(GUEST_TSO4)) || !(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!(f & VNET_BIT(GUEST_TSO6)) || !(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return -EINVAL;
		break;
	default:
		return -EINVAL; /* UDP, ECN, UDP_L4: never negotiated */
	}
	hdr[HDR_FLAGS] = flags;
	/* num_buffers is 1 without MRG_RXBUF (§5.1.6.3.2; the TAP leaves it 0). */
	le16_put(hdr + HDR_NUM_BUFFERS, 1);
	return 0;
}

int vnet_tx_hdr_check(uint8_t *hdr, uint64_t f)
{
	uint8_t flags = hdr[HDR_FLAGS], gso = hdr[HDR_GSO_TYPE];

	/*
	 * §5.1.6.2.1: without CSUM the driver sets flags to zero; it never
	 * sets DATA_VALID or RSC_INFO on a frame it sends. A TAP would take
	 * NEEDS_CSUM as a request to checksum and DATA_VALID as "already
	 * verified" (CHECKSUM_UNNECESSARY on the host), so an offload the
	 * driver did not negotiate is refused, and DATA_VALID is cleared.
	 */
	if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(f & VNET_BIT(CSUM)))
		return -EINVAL;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!(f & VNET_BIT(HOST_TSO4)) || !(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!(f & VNET_BIT(HOST_TSO6)) || !(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return -EINVAL;
		break;
	default:
		return -EINVAL; /* UDP, ECN, UDP_L4: HOST_UFO / HOST_ECN never offered */
	}
	hdr[HDR_FLAGS] = flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	return 0;
}

/* Tell the TAP which offloads the frames it hands us may use. */
static int vnet_tap_offload(struct vnet *n, unsigned tun)
{
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, (unsigned long)tun) < 0) {
		int err = errno;

		/* Every driver reset asks again: rate-limited. */
		log_limited(&n->logged, LOG_WARN,
			    "virtio-net %s: TUNSETOFFLOAD 0x%x: %s", n->ifname, tun,
			    strerror(err));
		return -err;
	}
	return 0;
}

/*
 * vCPU thread, transport mutex held: the driver's features are final. The
 * TAP may now segment and skip checksums only as far as the driver accepted
 * (frames queued before this call were made under the old setting; any the
 * driver cannot take are dropped by vnet_rx_hdr_fix).
 */
static void vnet_driver_ok(void *dev, uint64_t features)
{
	struct vnet *n = dev;

	/* Device bits only as offered and accepted: offload=off stays off. */
	n->features = features & (vnet_offered(!n->no_offload) | ~VNET_DEVICE_FEATURES);
	vnet_tap_offload(n, vnet_tun_offloads(n->features));
}

static void vnet_reset(void *dev)
{
	struct vnet *n = dev;

	n->features = 0;
	vnet_tap_offload(n, 0);
}

static int vnet_config_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct vnet *n = dev;
	uint8_t cfg[CFG_SIZE] = { 0 };

	memcpy(cfg + CFG_MAC, n->mac, VNET_MAC_LEN);
	le16_put(cfg + CFG_STATUS, VIRTIO_NET_S_LINK_UP);
	le16_put(cfg + CFG_MAX_VQ_PAIRS, 1); /* only meaningful with MQ; 1 is the truth */
	return virtio_config_copy(cfg, sizeof(cfg), off, data, len);
}

/*
 * Arm or disarm the TAP fd in the I/O thread's epoll set. Disarming uses
 * EPOLL_CTL_DEL rather than MOD with no events: epoll reports EPOLLERR and
 * EPOLLHUP whatever the mask, and a TAP whose interface was deleted would
 * then spin the loop. I/O thread only (or with it idle: load).
 */
static void vnet_watch(struct vnet *n, int on)
{
	if (n->rx_watched == on)
		return;
	if ((on ? ioloop_add(n->loop, &n->rx_h) : ioloop_remove(n->loop, &n->rx_h)) < 0)
		return; /* logged by the ioloop */
	n->rx_watched = on;
}

/* I/O thread: the TAP has frames. Delivery re-arms the watch once the TAP is drained. */
static void vnet_tap_readable(void *ctx)
{
	struct vnet *n = ctx;

	vnet_watch(n, 0);
	n->rx_kick(n->rx_kick_ctx);
}

/*
 * Read one frame from the TAP into the popped receive chain. Returns the
 * bytes written to the chain (0: nothing usable, the driver drops it), or
 * -EINVAL if the chain could not be written (the ring is broken).
 */
static int vnet_rx_one(struct vnet *n, struct virtq *q)
{
	uint8_t hdr[VNET_HDR_SIZE];
	ssize_t got;
	int k;

	if (n->chain.in_len < VNET_HDR_SIZE) {
		virtio_stat_add(&n->rx_errors, 1);
		return 0;
	}
	/* The header lands in a bounce buffer so it can be fixed up below. */
	n->iov[0] = (struct iovec){ .iov_base = hdr, .iov_len = sizeof(hdr) };
	k = virtq_chain_iov(q, &n->chain, true, VNET_HDR_SIZE, n->chain.in_len - VNET_HDR_SIZE,
			    n->iov + 1, VIRTQ_MAX_CHAIN);
	if (k < 0)
		return -EINVAL;
	do
		got = readv(n->tap_fd, n->iov, k + 1);
	while (got < 0 && errno == EINTR);
	/* Too short a buffer makes the TAP drop the frame (EFAULT/EINVAL). */
	if (got < VNET_HDR_SIZE || (uint64_t)got > n->chain.in_len) {
		virtio_stat_add(&n->rx_errors, 1);
		return 0;
	}
	/*
	 * The TAP was told (TUNSETOFFLOAD) what the driver accepted, but a
	 * frame queued before that may still carry an offload it cannot take.
	 */
	if (vnet_rx_hdr_fix(hdr, n->features) < 0) {
		virtio_stat_add(&n->rx_errors, 1);
		return 0;
	}
	if (virtq_chain_write(q, &n->chain, 0, hdr, sizeof(hdr)) < 0)
		return -EINVAL;
	virtio_stat_add(&n->rx_packets, 1);
	virtio_stat_add(&n->rx_bytes, (uint64_t)got - VNET_HDR_SIZE);
	return (int)got;
}

/* Is a frame waiting in the TAP? 0 no, 1 yes, -EIO the TAP is gone. */
static int vnet_tap_pending(struct vnet *n)
{
	struct pollfd p = { .fd = n->tap_fd, .events = POLLIN };

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & POLLIN)
		return 1;
	return p.revents & (POLLERR | POLLHUP | POLLNVAL) ? -EIO : 0;
}

/*
 * Deliver frames while both the TAP and the ring have some. Peeking with
 * poll before popping means a chain is never taken without a frame for it
 * (the virtqueue has no way to give one back).
 */
static int vnet_rx(struct vnet *n, struct virtq *q)
{
	int pushed = 0, ret;

	while (pushed < VNET_RX_BUDGET) {
		int written;

		ret = vnet_tap_pending(n);
		if (ret < 0) {
			/* Each RX notify finds it again: rate-limited. */
			log_limited(&n->logged, LOG_WARN,
				    "virtio-net %s: the TAP reports an error; receive stops",
				    n->ifname);
			return pushed; /* stays unwatched */
		}
		if (ret == 0) {
			vnet_watch(n, 1); /* drained: wait for the next frame */
			return pushed;
		}
		ret = virtq_pop(q, &n->chain);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			/* Ring empty: frames wait in the TAP until the driver's next RX notify. */
			vnet_watch(n, 0);
			return pushed;
		}
		written = vnet_rx_one(n, q);
		if (written < 0 || virtq_push(q, n->chain.head, (uint32_t)written) < 0)
			return -EINVAL;
		pushed++;
	}
	vnet_watch(n, 1); /* budget spent: the level-triggered watch fires again */
	return pushed;
}

/*
 * Describe one transmit chain for writev: a checked copy of its header in
 * hdr (n->iov[0]), then the frame straight from guest memory. The header
 * is read once and the copy is what the TAP gets, so the driver cannot
 * change it after the check. Returns the iovec count, 0 for a chain to
 * drop (too short, or an offload not negotiated), -EFAULT if guest RAM
 * went away.
 */
static int vnet_tx_iov(struct vnet *n, struct virtq *q, uint8_t *hdr)
{
	int k;

	if (n->chain.out_len < VNET_HDR_SIZE ||
	    virtq_chain_read(q, &n->chain, 0, hdr, VNET_HDR_SIZE) < 0)
		return 0;
	if (vnet_tx_hdr_check(hdr, n->features) < 0) {
		log_limited(&n->logged, LOG_WARN,
			    "virtio-net %s: dropped a frame whose header (flags 0x%x, gso 0x%x)"
			    " needs an offload not negotiated (features 0x%" PRIx64 ")",
			    n->ifname, hdr[HDR_FLAGS], hdr[HDR_GSO_TYPE], n->features);
		return 0;
	}
	n->iov[0] = (struct iovec){ .iov_base = hdr, .iov_len = VNET_HDR_SIZE };
	k = virtq_chain_iov(q, &n->chain, false, VNET_HDR_SIZE, n->chain.out_len - VNET_HDR_SIZE,
			    n->iov + 1, VIRTQ_MAX_CHAIN);
	return k < 0 ? (k == -EFAULT ? k : 0) : k + 1;
}

/*
 * Send at most VNET_TX_BUDGET frames per pass, so a driver that refills
 * as fast as we send cannot hold the core's lock; frames left set q->more
 * and the core has the I/O loop come back.
 */
static int vnet_tx(struct vnet *n, struct virtq *q)
{
	int pushed = 0, ret = 0;

	for (;;) {
		if (pushed >= VNET_TX_BUDGET) {
			q->more = true;
			break;
		}
		ret = virtq_pop(q, &n->chain);
		if (ret <= 0)
			break;

		uint8_t hdr[VNET_HDR_SIZE];
		int k = vnet_tx_iov(n, q, hdr);
		ssize_t w = -1;

		if (k == -EFAULT)
			return -EINVAL;
		if (k > 0) {
			do
				w = writev(n->tap_fd, n->iov, k);
			while (w < 0 && errno == EINTR);
			if (w < 0)
				log_limited(&n->logged, LOG_WARN, "virtio-net %s: TAP write: %s",
					    n->ifname, strerror(errno));
		}
		if (w < 0) {
			virtio_stat_add(&n->tx_errors, 1);
		} else {
			virtio_stat_add(&n->tx_packets, 1);
			virtio_stat_add(&n->tx_bytes, n->chain.out_len - VNET_HDR_SIZE);
		}
		if (virtq_push(q, n->chain.head, 0) < 0)
			return -EINVAL;
		pushed++;
	}
	return ret < 0 ? ret : pushed;
}

static int vnet_queue_notify(void *dev, struct virtq *q, unsigned qi)
{
	struct vnet *n = dev;

	return qi == VNET_RXQ ? vnet_rx(n, q) : vnet_tx(n, q);
}


static int vnet_save(void *dev, struct snap_out *out)
{
	struct vnet *n = dev;

	snap_put_u64(out, n->features);
	snap_put_u8(out, (uint8_t)n->rx_watched);
	return 0;
}

static int vnet_load(void *dev, struct snap_in *in)
{
	struct vnet *n = dev;
	uint64_t features = snap_get_u64(in);
	uint8_t watched = snap_get_u8(in);

	if (snap_in_error(in)) {
		log_err("virtio-net %s: saved state truncated", n->ifname);
		return -EINVAL;
	}
	if (features & VNET_DEVICE_FEATURES & ~vnet_offered(!n->no_offload)) {
		log_err("virtio-net %s: saved state refused: features 0x%" PRIx64
			" were never offered (offload=%s here)", n->ifname, features,
			n->no_offload ? "off" : "on");
		return snap_in_fail(in);
	}
	if (watched > 1) {
		log_err("virtio-net %s: saved state refused: TAP watch flag %u", n->ifname, watched);
		return snap_in_fail(in);
	}
	n->features = features;
	vnet_tap_offload(n, vnet_tun_offloads(features));
	vnet_watch(n, watched);
	return 0;
}

static unsigned vnet_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct vnet *n = dev;
	unsigned k = 0;

	k = virtio_stat_put(out, k, max, "rx_packets", virtio_stat_get(&n->rx_packets));
	k = virtio_stat_put(out, k, max, "rx_bytes", virtio_stat_get(&n->rx_bytes));
	k = virtio_stat_put(out, k, max, "rx_errors", virtio_stat_get(&n->rx_errors));
	k = virtio_stat_put(out, k, max, "tx_packets", virtio_stat_get(&n->tx_packets));
	k = virtio_stat_put(out, k, max, "tx_bytes", virtio_stat_get(&n->tx_bytes));
	k = virtio_stat_put(out, k, max, "tx_errors", virtio_stat_get(&n->tx_errors));
	return k;
}

static void vnet_destroy(void *dev)
{
	vnet_close(dev);
	free(dev);
}

const struct virtio_dev_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_size_max = VNET_QUEUE_SIZE,
	.features = vnet_features,
	.config_read = vnet_config_read,
	.config_write = virtio_config_readonly_write, /* mac is read-only under VERSION_1 */
	.queue_notify = vnet_queue_notify,
	.reset = vnet_reset,
	.driver_ok = vnet_driver_ok,
	.save = vnet_save,
	.load = vnet_load,
	.stats = vnet_stats,
	.destroy = vnet_destroy,
};

int vnet_parse_opts(char *s, struct vnet_opts *o)
{
	char *tok, *save = NULL;

	memset(o, 0, sizeof(*o));
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "tap=", 4) && !o->tap[0]) {
			const char *name = tok + 4;

			if (!*name || strlen(name) >= IFNAMSIZ || strchr(name, '/'))
				return -EINVAL;
			strcpy(o->tap, name);
		} else if (!strncmp(tok, "mac=", 4) && !o->has_mac) {
			if (config_parse_mac(tok + 4, o->mac))
				return -EINVAL;
			o->has_mac = 1;
		} else if (!strcmp(tok, "offload=off") || !strcmp(tok, "offload=on")) {
			o->no_offload = tok[9] == 'f';
		} else {
			return -EINVAL;
		}
	}
	return o->tap[0] ? 0 : -EINVAL;
}

/* 52:54:00 (the prefix QEMU uses; 0x52 is locally administered, unicast) + FNV-1a of the name. */
static void vnet_default_mac(const char *name, uint8_t *mac)
{
	uint32_t h = 2166136261u; /* FNV-1a 32-bit offset basis */

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u; /* FNV prime */
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

static int vnet_tap_open(struct vnet *n, const char *name)
{
	struct ifreq ifr;
	int hdr_sz = VNET_HDR_SIZE, le = 1, err;

	n->tap_fd = open(VNET_TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (n->tap_fd < 0) {
		err = errno;
		log_err("--net tap=%s: cannot open " VNET_TUN_PATH ": %s", name, strerror(err));
		return -err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(n->tap_fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		if (err == EPERM)
			log_err("--net tap=%s: need root or CAP_NET_ADMIN to create TAP %s", name, name);
		else if (err == EBUSY)
			log_err("--net tap=%s: TAP %s is in use by another process", name, name);
		else if (err == EINVAL)
			log_err("--net tap=%s: %s exists and is not a TAP (or the name is invalid)",
				name, name);
		else
			log_err("--net tap=%s: TUNSETIFF: %s", name, strerror(err));
		return -err;
	}
	snprintf(n->ifname, sizeof(n->ifname), "%.*s", (int)sizeof(ifr.ifr_name) - 1, ifr.ifr_name);
	/*
	 * The header is the 12-byte VERSION_1 one, little-endian whatever the
	 * host; no offloads until the driver accepts some (vnet_driver_ok; a
	 * persistent TAP may keep a previous user's).
	 */
	if (ioctl(n->tap_fd, TUNSETVNETHDRSZ, &hdr_sz) < 0 ||
	    ioctl(n->tap_fd, TUNSETVNETLE, &le) < 0 || ioctl(n->tap_fd, TUNSETOFFLOAD, 0) < 0) {
		err = errno;
		log_err("--net tap=%s: cannot set up virtio headers: %s", name, strerror(err));
		return -err;
	}
	return 0;
}

int vnet_open(struct vnet *n, const struct vnet_env *env, const struct vnet_opts *o)
{
	int ret;

	memset(n, 0, sizeof(*n));
	n->m = env->m;
	n->loop = env->loop;
	n->rx_kick = env->rx_kick;
	n->rx_kick_ctx = env->rx_kick_ctx;
	n->no_offload = o->no_offload;
	ret = vnet_tap_open(n, o->tap);
	if (ret) {
		vnet_close(n);
		return ret;
	}
	if (o->has_mac)
		memcpy(n->mac, o->mac, VNET_MAC_LEN);
	else
		vnet_default_mac(n->ifname, n->mac);
	n->rx_h = (struct ioloop_handler){ .fd = n->tap_fd, .fn = vnet_tap_readable, .ctx = n };
	ret = ioloop_add(n->loop, &n->rx_h);
	if (ret) {
		vnet_close(n);
		return ret;
	}
	n->rx_watched = 1;
	return 0;
}

void vnet_close(struct vnet *n)
{
	/* An I/O loop already destroyed (epfd -1) forgot the fd with its epoll set. */
	if (n->rx_watched && n->loop && n->loop->epfd >= 0)
		ioloop_remove(n->loop, &n->rx_h);
	n->rx_watched = 0;
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	n->tap_fd = -1;
}

int vnet_create(const struct vnet_env *env, const struct vnet_opts *o, struct vnet **out)
{
	struct vnet *n = malloc(sizeof(*n));
	int ret;

	if (!n) {
		log_err("--net tap=%s: out of memory", o->tap);
		return -ENOMEM;
	}
	ret = vnet_open(n, env, o);
	if (ret) {
		free(n);
		return ret;
	}
	*out = n;
	return 0;
}
