/*
 * net.h: virtio network device (virtio 1.2 §5.1) backed by a host TAP
 * interface opened with IFF_VNET_HDR, so the 12-byte virtio_net_hdr_v1 the
 * driver puts in front of each frame goes to the TAP once checked against
 * the negotiated features (vnet_tx_hdr_check).
 *
 * Owns: the TAP fd and its ioloop handler (RX: the TAP became readable),
 * the configuration space (mac, status = link up) and packet counters.
 * Queues: 0 = receiveq, 1 = transmitq (one pair, no VIRTIO_NET_F_MQ).
 * Features: MAC, STATUS and (unless offload=off) checksum and TCP
 * segmentation offloads both ways: CSUM, HOST_TSO4/6 (the driver hands us
 * frames of up to 64 KiB with a GSO header, passed to the TAP once
 * checked: a header using an offload not negotiated drops the frame),
 * GUEST_CSUM, GUEST_TSO4/6 (the TAP is told with TUNSETOFFLOAD what the
 * driver accepted, at DRIVER_OK, and hands us such frames). No MRG_RXBUF:
 * the driver posts buffers big enough for a whole frame (with GUEST_TSO,
 * ~64 KiB chains of pages). Fewer, bigger frames mean fewer notifies and
 * interrupts, which matters most where exits are dear (nested).
 * Does not own the transport: frames arriving from the TAP are delivered by
 * asking the transport to process the receive queue (env->rx_kick), which
 * takes the transport's lock and calls queue_notify(receiveq).
 *
 * Threads: everything runs on the VM's I/O thread (queue_notify under the
 * core's mutex; the TAP handler only toggles its epoll watch and calls
 * rx_kick); config reads and driver_ok on vCPU threads under that mutex;
 * save/load with both idle; stats on any thread (relaxed counters).
 *
 * Saved state (save/load): u64 the features the driver accepted (what the
 * TAP's offloads follow), u8 whether the TAP is watched (0: the receive
 * ring was found empty and frames wait for the driver's next RX notify).
 * load refuses device feature bits never offered and a watch flag other
 * than 0/1, and re-applies both to the TAP it has now. The MAC and the
 * TAP name are configuration (struct vnet_opts), not state.
 *
 * Frames are never dropped for want of receive buffers: when the ring is
 * empty they stay queued in the TAP and the TAP fd is taken out of the
 * epoll set until the driver notifies the receive queue (it posted
 * buffers), so an empty ring costs no busy loop.
 */
#ifndef VMON_VIRTIO_NET_H
#define VMON_VIRTIO_NET_H

#include <net/if.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../gmem.h"
#include "../ioloop.h"
#include "virtio.h"

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_MAC_LEN 6
/* struct virtio_net_hdr with num_buffers: 12 bytes under VIRTIO_F_VERSION_1 (§5.1.6). */
#define VNET_HDR_SIZE 12
/* Frames sent per transmit-queue pass; more set virtq.more for another pass. */
#define VNET_TX_BUDGET 64

struct vnet_opts {
	char tap[IFNAMSIZ];          /* interface name */
	uint8_t mac[VNET_MAC_LEN];
	int has_mac;                 /* 0: derived from the TAP name (vnet_open) */
	int no_offload;              /* offload=off: offer MAC and STATUS only */
};

/* What a net device is handed at creation. */
struct vnet_env {
	const struct gmem *m;
	struct ioloop *loop;
	/* Ask the transport to run queue_notify(VNET_RXQ) under its lock. */
	void (*rx_kick)(void *ctx);
	void *rx_kick_ctx;
};

struct vnet {
	const struct gmem *m;
	struct ioloop *loop;
	void (*rx_kick)(void *ctx);
	void *rx_kick_ctx;
	int tap_fd;
	char ifname[IFNAMSIZ];
	uint8_t mac[VNET_MAC_LEN];
	struct ioloop_handler rx_h;
	int rx_watched;                  /* TAP fd armed in epoll (I/O thread only) */
	int no_offload;                  /* offload=off */
	uint64_t features;               /* accepted by the driver (0 until DRIVER_OK) */
	struct virtq_chain chain;        /* the chain being served */
	struct iovec iov[VIRTQ_MAX_CHAIN + 1]; /* + the RX header bounce */
	/* Counters: virtio_stat_add / virtio_stat_get (virtio.h). */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_errors, tx_errors;
	uint64_t logged;                 /* TAP trouble, dropped frames: log_limited (log.h) */
};

extern const struct virtio_dev_ops vnet_ops;

/* Device feature bits offered, with or without the offloads. Pure. */
uint64_t vnet_offered(int offload);

/* The TUN_F_* offloads a TAP may use towards a driver that accepted features f. Pure. */
unsigned vnet_tun_offloads(uint64_t f);

/*
 * Make a receive header from the TAP fit a driver that accepted features f:
 * flags the driver may not see are cleared, num_buffers is set to 1.
 * -EINVAL if the frame needs an offload the driver did not accept (a partial
 * checksum without GUEST_CSUM, GSO it did not accept, UDP/ECN GSO): drop it.
 * hdr holds VNET_HDR_SIZE bytes. Pure.
 */
int vnet_rx_hdr_fix(uint8_t *hdr, uint64_t f);

/*
 * Check a transmit header from a driver that accepted features f before it
 * goes to the TAP: -EINVAL (drop the frame) if it asks for an offload not
 * negotiated (NEEDS_CSUM without CSUM, TCP GSO without HOST_TSO4/6 or
 * without NEEDS_CSUM, any UDP or ECN GSO); else 0 with DATA_VALID and
 * other flags a driver must not send cleared. hdr holds VNET_HDR_SIZE
 * bytes. Pure.
 */
int vnet_tx_hdr_check(uint8_t *hdr, uint64_t f);

/*
 * Parse "tap=NAME[,mac=xx:xx:xx:xx:xx:xx][,offload=on|off]"; 0 or -EINVAL. s is modified in
 * place; the name is copied into o->tap. The MAC must be unicast and nonzero.
 */
int vnet_parse_opts(char *s, struct vnet_opts *o);

/*
 * Open (or create, with CAP_NET_ADMIN) the TAP, set it up for virtio
 * headers and watch it in env->loop. Without a mac= option the MAC is
 * 52:54:00 followed by three bytes of a hash of the TAP name: stable across
 * runs, locally administered, unicast. 0 or -errno, logged.
 */
int vnet_open(struct vnet *n, const struct vnet_env *env, const struct vnet_opts *o);
/* Stop watching the TAP (while the loop still exists) and close it. */
void vnet_close(struct vnet *n);
/* A heap device as vnet_open makes it, for vnet_ops (whose destroy closes and frees it). */
int vnet_create(const struct vnet_env *env, const struct vnet_opts *o, struct vnet **out);

#endif
