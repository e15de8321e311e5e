/*
 * virtio/pci.c: the virtio-pci modern transport (see pci.h). Register
 * layouts and semantics from virtio 1.2 §4.1.4 (Virtio Structure PCI
 * Capabilities) and §4.1.5 (PCI-specific Initialization And Device
 * Operation).
 *
 * Owns: building the function (identity, BAR, capabilities), decoding
 * accesses inside the BAR (the widths of §4.1.3.1), the PCI configuration
 * access window, the MSI-X vectors of queues and configuration changes,
 * INTx with the ISR, the doorbells and the save section. Does not own
 * what a field means for the device (core.c: status, features, queues,
 * interrupt status), configuration space or BAR decode (pci.c under
 * src/pci/), the MSI-X table (msix.c), or any guest memory access.
 * Threads: BAR handlers on vCPU threads under the core's mutex, doorbell
 * handlers on the I/O thread, bar_moved / cfg_written on vCPU threads
 * with the host mutex held; create/reset/save/load/destroy with vCPUs
 * paused.
 */
#include "pci.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../log.h"

/* struct virtio_pci_common_cfg field offsets (§4.1.4.3). */
#define COMMON_DFSELECT      0x00 /* le32 device_feature_select */
#define COMMON_DF            0x04 /* le32 device_feature, read-only */
#define COMMON_GFSELECT      0x08 /* le32 driver_feature_select */
#define COMMON_GF            0x0c /* le32 driver_feature */
#define COMMON_MSIX          0x10 /* le16 config_msix_vector */
#define COMMON_NUMQ          0x12 /* le16 num_queues, read-only */
#define COMMON_STATUS        0x14 /* u8 device_status */
#define COMMON_CFGGENERATION 0x15 /* u8 config_generation, read-only */
#define COMMON_Q_SELECT      0x16 /* le16 queue_select */
#define COMMON_Q_SIZE        0x18 /* le16 queue_size */
#define COMMON_Q_MSIX        0x1a /* le16 queue_msix_vector */
#define COMMON_Q_ENABLE      0x1c /* le16 queue_enable */
#define COMMON_Q_NOFF        0x1e /* le16 queue_notify_off, read-only */
#define COMMON_Q_DESCLO      0x20 /* le64 queue_desc, as two 32-bit halves */
#define COMMON_Q_DESCHI      0x24
#define COMMON_Q_AVAILLO     0x28 /* le64 queue_driver */
#define COMMON_Q_AVAILHI     0x2c
#define COMMON_Q_USEDLO      0x30 /* le64 queue_device */
#define COMMON_Q_USEDHI      0x34

/* struct virtio_pci_cap (§4.1.4): offsets inside a vendor capability. */
#define CAP_LEN      2
#define CAP_CFG_TYPE 3
#define CAP_BAR      4
#define CAP_ID       5
#define CAP_OFFSET   8
#define CAP_LENGTH   12
#define CAP_SIZE     16
#define CAP_NOTIFY_MULT 16 /* struct virtio_pci_notify_cap: notify_off_multiplier */
#define CAP_CFG_DATA 16    /* struct virtio_pci_cfg_cap: pci_cfg_data[4] */
#define CAP_EXT_SIZE 20    /* both of those are 20 bytes */

#define VPCI_SAVE_VERSION 1

/* PCI class codes (base << 16 | sub << 8 | prog-if) QEMU reports for these kinds. */
#define VPCI_CLASS_STORAGE 0x010000 /* mass storage, SCSI */
#define VPCI_CLASS_NET     0x020000 /* network, Ethernet */
#define VPCI_CLASS_OTHER   0x00ff00 /* unclassified, other */

static uint32_t vpci_class(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK:
		return VPCI_CLASS_STORAGE;
	case VIRTIO_ID_NET:
		return VPCI_CLASS_NET;
	default:
		return VPCI_CLASS_OTHER;
	}
}

static void vpci_put_le32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t vpci_get_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- interrupts -------------------------------------------------------------- */

/*
 * INTx follows the ISR while MSI-X is off (§4.1.4.5), and is never driven
 * while it is on (PCI 3.0 §6.8.2: a function with MSI-X enabled does not
 * use INTx). Every change of either calls this. Core lock held.
 */
static void vpci_intx_sync(struct virtio_pci *t)
{
	pci_func_intx(&t->func, t->core.isr && !msix_enabled(t->msix));
}

/*
 * The core's interrupt hook (core lock held): with MSI-X enabled, the
 * queue's vector or the configuration vector (none set: no interrupt,
 * §4.1.5.1.2); without, INTx, which stays asserted until the driver reads
 * the ISR. The core has already set the ISR bits.
 */
static int vpci_irq(void *ctx, int qi)
{
	struct virtio_pci *t = ctx;
	uint16_t vec;
	int ret;

	if (msix_enabled(t->msix)) {
		vec = qi == VIRTIO_CORE_IRQ_CONFIG ? t->config_vector : t->queue_vector[qi];
		if (vec == VIRTIO_PCI_NO_VECTOR)
			return 0;
		ret = msix_fire(t->msix, vec);
		return ret == -ENOENT ? 0 : ret; /* a vector outside the table: none */
	}
	virtio_stat_add(&t->intx_raised, 1);
	vpci_intx_sync(t);
	return 0;
}

/* What a reset leaves of the transport's own fields (§4.1.4.3: vectors NO_VECTOR). Core lock held. */
static void vpci_reset_fields(struct virtio_pci *t)
{
	struct virtio_core *c = &t->core;

	t->config_vector = VIRTIO_PCI_NO_VECTOR;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		t->queue_vector[i] = VIRTIO_PCI_NO_VECTOR;
	/* §4.1.4.3: queue_size reads the maximum after reset until the driver writes it. */
	for (unsigned i = 0; c->ops && i < c->ops->nr_queues; i++)
		c->q[i].num = c->ops->queue_size_max;
}

/* A vector the guest wrote: kept if the table has it, else NO_VECTOR (§4.1.5.1.2). */
static uint16_t vpci_vector(const struct virtio_pci *t, uint32_t v)
{
	return v < t->nvec ? (uint16_t)v : VIRTIO_PCI_NO_VECTOR;
}

/* ---- common configuration -------------------------------------------------- */

/*
 * The width §4.1.3.1 allows at off: the field's own for 8-, 16- and 32-bit
 * fields, 32 bits for either half of a 64-bit one; 0 between fields.
 */
static unsigned vpci_common_width(uint64_t off)
{
	switch (off) {
	case COMMON_STATUS:
	case COMMON_CFGGENERATION:
		return 1;
	case COMMON_MSIX:
	case COMMON_NUMQ:
	case COMMON_Q_SELECT:
	case COMMON_Q_SIZE:
	case COMMON_Q_MSIX:
	case COMMON_Q_ENABLE:
	case COMMON_Q_NOFF:
		return 2;
	case COMMON_DFSELECT:
	case COMMON_DF:
	case COMMON_GFSELECT:
	case COMMON_GF:
	case COMMON_Q_DESCLO:
	case COMMON_Q_DESCHI:
	case COMMON_Q_AVAILLO:
	case COMMON_Q_AVAILHI:
	case COMMON_Q_USEDLO:
	case COMMON_Q_USEDHI:
		return 4;
	default:
		return 0;
	}
}

static uint32_t vpci_lo(uint64_t v)
{
	return (uint32_t)v;
}

static uint32_t vpci_hi(uint64_t v)
{
	return (uint32_t)(v >> 32);
}

/* A field of the selected queue; 0 (NO_VECTOR for its vector) when none is selected. Lock held. */
static uint32_t vpci_queue_read(struct virtio_pci *t, uint64_t off)
{
	struct virtio_core *c = &t->core;
	struct virtio_core_queue *q = virtio_core_selected(c);

	if (!q)
		return off == COMMON_Q_MSIX ? VIRTIO_PCI_NO_VECTOR : 0;
	switch (off) {
	case COMMON_Q_SIZE:
		return q->num; /* 0 after a size the device refused */
	case COMMON_Q_MSIX:
		return t->queue_vector[c->queue_sel];
	case COMMON_Q_ENABLE:
		return virtio_core_queue_ready(c);
	case COMMON_Q_NOFF:
		return c->queue_sel; /* doorbell at NOTIFY + queue_sel * multiplier */
	case COMMON_Q_DESCLO:
		return vpci_lo(q->desc);
	case COMMON_Q_DESCHI:
		return vpci_hi(q->desc);
	case COMMON_Q_AVAILLO:
		return vpci_lo(q->avail);
	case COMMON_Q_AVAILHI:
		return vpci_hi(q->avail);
	case COMMON_Q_USEDLO:
		return vpci_lo(q->used);
	case COMMON_Q_USEDHI:
		return vpci_hi(q->used);
	default:
		return 0;
	}
}

/* Lock held. */
static uint32_t vpci_common_read(struct virtio_pci *t, uint64_t off)
{
	struct virtio_core *c = &t->core;

	switch (off) {
	case COMMON_DFSELECT:
		return c->dev_features_sel;
	case COMMON_DF:
		return virtio_core_device_features(c);
	case COMMON_GFSELECT:
		return c->drv_features_sel;
	case COMMON_GF:
		return virtio_core_driver_features(c);
	case COMMON_MSIX:
		return t->config_vector;
	case COMMON_NUMQ:
		return c->ops->nr_queues;
	case COMMON_STATUS:
		return c->status;
	case COMMON_CFGGENERATION:
		return 0; /* config never changes under the driver */
	case COMMON_Q_SELECT:
		return c->queue_sel;
	default:
		return vpci_queue_read(t, off);
	}
}

/* The driver wrote 0 to device_status: the core reset, and so do the transport's fields. Lock held. */
static void vpci_status_write(struct virtio_pci *t, uint32_t v)
{
	virtio_core_set_status(&t->core, v);
	if (v)
		return;
	vpci_reset_fields(t);
	vpci_intx_sync(t); /* the ISR is 0 again: INTx low */
}

/* Lock held. */
static void vpci_queue_write(struct virtio_pci *t, uint64_t off, uint32_t v)
{
	struct virtio_core *c = &t->core;

	switch (off) {
	case COMMON_Q_SIZE:
		virtio_core_set_queue_num(c, v);
		break;
	case COMMON_Q_MSIX:
		if (virtio_core_selected(c))
			t->queue_vector[c->queue_sel] = vpci_vector(t, v);
		break;
	case COMMON_Q_ENABLE:
		/* §4.1.4.3.2: the driver writes only 1; once enabled a queue stays so until reset. */
		if (v == 1 && !virtio_core_queue_ready(c))
			virtio_core_set_queue_ready(c, 1);
		break;
	case COMMON_Q_DESCLO:
	case COMMON_Q_DESCHI:
		virtio_core_set_queue_addr(c, VIRTIO_RING_DESC, off == COMMON_Q_DESCHI, v);
		break;
	case COMMON_Q_AVAILLO:
	case COMMON_Q_AVAILHI:
		virtio_core_set_queue_addr(c, VIRTIO_RING_DRIVER, off == COMMON_Q_AVAILHI, v);
		break;
	case COMMON_Q_USEDLO:
	case COMMON_Q_USEDHI:
		virtio_core_set_queue_addr(c, VIRTIO_RING_DEVICE, off == COMMON_Q_USEDHI, v);
		break;
	default:
		break; /* queue_notify_off: read-only */
	}
}

/* Lock held. */
static void vpci_common_write(struct virtio_pci *t, uint64_t off, uint32_t v)
{
	struct virtio_core *c = &t->core;

	switch (off) {
	case COMMON_DFSELECT:
		c->dev_features_sel = v;
		break;
	case COMMON_GFSELECT:
		c->drv_features_sel = v;
		break;
	case COMMON_GF:
		virtio_core_set_driver_features(c, v);
		break;
	case COMMON_MSIX:
		t->config_vector = vpci_vector(t, v);
		break;
	case COMMON_STATUS:
		vpci_status_write(t, v);
		break;
	case COMMON_Q_SELECT:
		c->queue_sel = v;
		break;
	case COMMON_DF:
	case COMMON_NUMQ:
	case COMMON_CFGGENERATION:
		break; /* read-only */
	default:
		vpci_queue_write(t, off, v);
		break;
	}
}

/* ---- the BAR ------------------------------------------------------------------- */

/* The ISR (§4.1.4.5): reading returns the bits and clears them, lowering INTx. Lock held. */
static uint8_t vpci_isr_read(struct virtio_pci *t)
{
	uint8_t v = (uint8_t)t->core.isr;

	virtio_core_ack(&t->core, t->core.isr);
	vpci_intx_sync(t);
	return v;
}

/* Does [off, off + len) lie inside [base, base + size)? */
static int vpci_in(uint64_t off, unsigned len, uint64_t base, uint64_t size)
{
	return off >= base && off - base <= size && len <= size - (off - base);
}

/* Signal queue qi's doorbell eventfd, as an absorbed notify would (no such queue: ignored). */
static void vpci_ring(struct virtio_pci *t, unsigned qi)
{
	uint64_t one = 1;

	if (qi >= t->core.ops->nr_queues || t->db[qi].fd < 0)
		return;
	if (write(t->db[qi].fd, &one, sizeof(one)) != sizeof(one) &&
	    virtio_log_ratelimit(&t->core.logged))
		log_warn("%s: queue %u doorbell: %s", t->core.name, qi, strerror(errno));
}

/* The core's kick (core.h): work is left on queue qi, ring its doorbell again. */
static void vpci_kick(void *ctx, unsigned qi)
{
	vpci_ring(ctx, qi);
}

/*
 * A notify write that reached user space (no ioeventfd, or one it did not
 * match): the queue is the slot's, whatever the value (§4.1.4.4); signal
 * its doorbell so the I/O loop processes it. Any other slot: ignored.
 */
static void vpci_notify_write(struct virtio_pci *t, uint64_t off, unsigned len)
{
	uint64_t slot = off - VIRTIO_PCI_NOTIFY;
	unsigned qi;

	if (slot % VIRTIO_PCI_NOTIFY_MULT || (len != 2 && len != 4))
		return;
	qi = (unsigned)(slot / VIRTIO_PCI_NOTIFY_MULT);
	vpci_ring(t, qi);
}

static int vpci_bar_read(void *dev, unsigned bar, uint64_t off, void *data, unsigned len)
{
	struct virtio_pci *t = dev;
	uint32_t v = 0;
	int ret = 0;

	memset(data, 0, len);
	if (bar != VIRTIO_PCI_BAR)
		return 0;
	virtio_core_lock(&t->core);
	if (vpci_in(off, len, VIRTIO_PCI_COMMON, VIRTIO_PCI_COMMON_LEN)) {
		if (vpci_common_width(off - VIRTIO_PCI_COMMON) == len) {
			v = vpci_common_read(t, off - VIRTIO_PCI_COMMON);
			memcpy(data, &v, len); /* little-endian host (vmon's targets) */
		}
	} else if (off == VIRTIO_PCI_ISR && len == 1) {
		*(uint8_t *)data = vpci_isr_read(t);
	} else if (vpci_in(off, len, VIRTIO_PCI_DEVCFG, VIRTIO_PCI_DEVCFG_LEN)) {
		ret = virtio_core_config_read(&t->core, off - VIRTIO_PCI_DEVCFG, data, len);
	}
	/* Notify slots and the gaps read 0 (the host hands the MSI-X table and PBA to msix.c). */
	virtio_core_unlock(&t->core);
	return ret;
}

static int vpci_bar_write(void *dev, unsigned bar, uint64_t off, const void *data, unsigned len)
{
	struct virtio_pci *t = dev;
	uint32_t v = 0;
	int ret = 0;

	if (bar != VIRTIO_PCI_BAR)
		return 0;
	if (vpci_in(off, len, VIRTIO_PCI_NOTIFY, VIRTIO_PCI_NOTIFY_LEN)) {
		vpci_notify_write(t, off, len); /* the fds are fixed: no lock needed */
		return 0;
	}
	virtio_core_lock(&t->core);
	if (vpci_in(off, len, VIRTIO_PCI_COMMON, VIRTIO_PCI_COMMON_LEN)) {
		if (vpci_common_width(off - VIRTIO_PCI_COMMON) == len) {
			memcpy(&v, data, len);
			vpci_common_write(t, off - VIRTIO_PCI_COMMON, v);
		}
	} else if (vpci_in(off, len, VIRTIO_PCI_DEVCFG, VIRTIO_PCI_DEVCFG_LEN)) {
		ret = virtio_core_config_write(&t->core, off - VIRTIO_PCI_DEVCFG, data, len);
	}
	/* The ISR and the gaps are read-only: ignored. */
	virtio_core_unlock(&t->core);
	return ret;
}

/* ---- the PCI configuration access window (§4.1.4.8) ---------------------------- */

/*
 * The window's access as the driver set it up, when §4.1.4.8 allows it:
 * our BAR, length 1, 2 or 4, offset aligned to it and inside the BAR.
 */
static int vpci_window(const struct virtio_pci *t, uint32_t *off, uint32_t *len)
{
	const uint8_t *cap = &t->func.cfg[t->cfg_cap];

	*off = vpci_get_le32(cap + CAP_OFFSET);
	*len = vpci_get_le32(cap + CAP_LENGTH);
	return cap[CAP_BAR] == VIRTIO_PCI_BAR && (*len == 1 || *len == 2 || *len == 4) &&
	       !(*off % *len) && *off <= VIRTIO_PCI_BAR_SIZE - *len;
}

/*
 * One access through the window: what the host's BAR dispatch would do
 * with it, the MSI-X table and PBA included (the window bypasses that
 * dispatch). Host mutex held, then the core's or the MSI-X mutex (pci.c's
 * lock order).
 */
static void vpci_window_access(struct virtio_pci *t, uint32_t off, uint8_t *data, uint32_t len,
			       int write)
{
	uint64_t tlen = (uint64_t)t->nvec * MSIX_ENTRY_SIZE;

	if (vpci_in(off, len, VIRTIO_PCI_MSIX_TABLE, tlen)) {
		if (write)
			msix_table_write(t->msix, off - VIRTIO_PCI_MSIX_TABLE, data, len);
		else
			msix_table_read(t->msix, off - VIRTIO_PCI_MSIX_TABLE, data, len);
	} else if (vpci_in(off, len, VIRTIO_PCI_MSIX_PBA, 8)) {
		if (!write)
			msix_pba_read(t->msix, off - VIRTIO_PCI_MSIX_PBA, data, len);
	} else if (write) {
		vpci_bar_write(t, VIRTIO_PCI_BAR, off, data, len);
	} else {
		vpci_bar_read(t, VIRTIO_PCI_BAR, off, data, len);
	}
}

/*
 * Host mutex held. A write to pci_cfg_data is done in the BAR at once.
 * Reads: the host serves configuration reads from the bytes themselves
 * (pci.h has no read hook), so the access is done ahead, when the driver
 * writes cap.length, the last field it sets before reading (the order of
 * the structure; SeaBIOS's too), and pci_cfg_data holds the result until
 * the next such write. Doing it then, not on each field, keeps an ISR
 * read through the window to one read (it clears the ISR).
 */
static void vpci_cfg_written(void *dev, unsigned off, unsigned len)
{
	struct virtio_pci *t = dev;
	uint8_t *data = &t->func.cfg[t->cfg_cap + CAP_CFG_DATA];
	unsigned base = t->cfg_cap;
	uint32_t woff, wlen;

	if (t->msix && off < t->msix->cap + 4 && t->msix->cap + 2 < off + len) {
		/* MSI-X Enable may have changed (msix.c has seen it already). */
		virtio_core_lock(&t->core);
		vpci_intx_sync(t);
		virtio_core_unlock(&t->core);
	}
	if (off + len <= base || off >= base + CAP_EXT_SIZE || !vpci_window(t, &woff, &wlen))
		return;
	if (off + len > base + CAP_CFG_DATA) {
		vpci_window_access(t, woff, data, wlen, 1);
	} else if (off + len > base + CAP_LENGTH) {
		memset(data, 0, 4);
		vpci_window_access(t, woff, data, wlen, 0);
	}
}

/* ---- doorbells -------------------------------------------------------------------- */

/* I/O thread: a queue's doorbell eventfd is readable. */
static void vpci_doorbell(void *ctx)
{
	struct virtio_pci_doorbell *db = ctx;
	uint64_t cnt;

	if (read(db->fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return; /* spurious wake: nothing pending */
	virtio_core_notify(&db->t->core, db->index);
}

/* Stop the accelerator matching queue qi's doorbell (writes then reach vpci_notify_write). */
static void vpci_doorbell_unplace(struct virtio_pci *t, unsigned qi)
{
	struct virtio_pci_doorbell *db = &t->db[qi];

	if (db->absorbed)
		t->m->ops->doorbell(t->m->ctx, db->fd, 0, db->addr, VIRTIO_PCI_DOORBELL_LEN, qi, 0);
	db->absorbed = 0;
}

/*
 * Have the accelerator match 2-byte writes of qi at addr (the slot of a
 * decoding BAR). -ENOTSUP (no ioeventfd): the BAR handler signals instead.
 * Another failure is logged (rate-limited: the guest moves BARs) and
 * takes the same slow path, which stays correct.
 */
static void vpci_doorbell_place(struct virtio_pci *t, unsigned qi, uint64_t addr)
{
	struct virtio_pci_doorbell *db = &t->db[qi];
	int ret;

	ret = t->m->ops->doorbell(t->m->ctx, db->fd, 0, addr, VIRTIO_PCI_DOORBELL_LEN, qi, 1);
	if (ret && ret != -ENOTSUP && virtio_log_ratelimit(&t->core.logged))
		log_warn("%s: queue %u doorbell not accelerated at 0x%" PRIx64 ": %s", t->core.name,
			 qi, addr, strerror(-ret));
	db->absorbed = ret == 0;
	db->addr = addr;
}

/* The BAR decodes at addr now, or stopped decoding: the doorbells follow. Host mutex held. */
static void vpci_bar_moved(void *dev, unsigned bar, uint64_t addr, int enabled)
{
	struct virtio_pci *t = dev;

	if (bar != VIRTIO_PCI_BAR || !t->m)
		return;
	for (unsigned i = 0; i < t->core.ops->nr_queues; i++) {
		vpci_doorbell_unplace(t, i);
		if (enabled)
			vpci_doorbell_place(t, i, addr + VIRTIO_PCI_NOTIFY + i * VIRTIO_PCI_NOTIFY_MULT);
	}
}

static int vpci_doorbell_open(struct virtio_pci *t, unsigned qi)
{
	struct virtio_pci_doorbell *db = &t->db[qi];
	int ret;

	db->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (db->fd < 0) {
		ret = -errno;
		log_err("%s: no doorbell eventfd for queue %u: %s", t->core.name, qi, strerror(-ret));
		return ret;
	}
	db->h = (struct ioloop_handler){ .fd = db->fd, .fn = vpci_doorbell, .ctx = db };
	ret = ioloop_add(t->m->io, &db->h);
	if (ret)
		return ret; /* logged by the loop */
	db->watched = 1;
	return 0;
}

static void vpci_doorbell_close(struct virtio_pci *t, unsigned qi)
{
	struct virtio_pci_doorbell *db = &t->db[qi];

	if (db->fd < 0)
		return;
	vpci_doorbell_unplace(t, qi);
	/* An I/O loop already destroyed (epfd -1) forgot the fd with its epoll set. */
	if (db->watched && t->m->io->epfd >= 0)
		ioloop_remove(t->m->io, &db->h);
	db->watched = 0;
	close(db->fd);
	db->fd = -1;
}

/* ---- device ops --------------------------------------------------------------- */

static const struct pci_func_ops vpci_func_ops = {
	.bar_read = vpci_bar_read,
	.bar_write = vpci_bar_write,
	.bar_moved = vpci_bar_moved,
	.cfg_written = vpci_cfg_written,
};

/*
 * Power-on: the core, the vectors, the function's header and MSI-X table
 * (pci_func_reset: decode off, so the doorbells leave the accelerator),
 * INTx low. vCPUs paused.
 */
static void vpci_reset(void *dev)
{
	struct virtio_pci *t = dev;

	virtio_core_reset(&t->core);
	pci_func_reset(&t->func);
	virtio_core_lock(&t->core);
	vpci_reset_fields(t);
	vpci_intx_sync(t);
	virtio_core_unlock(&t->core);
}

/* A part saved by another module, as u32 length + bytes. */
static int vpci_save_part(struct snap_out *out, int (*save)(void *, struct snap_out *), void *p)
{
	struct snap_out part;
	int ret;

	snap_out_init(&part);
	ret = save(p, &part);
	if (!ret)
		ret = snap_out_error(&part);
	if (!ret && part.len > UINT32_MAX)
		ret = -E2BIG;
	if (!ret) {
		snap_put_u32(out, (uint32_t)part.len);
		snap_put_bytes(out, part.buf, part.len);
	}
	snap_out_free(&part);
	return ret;
}

static int vpci_func_save(void *p, struct snap_out *out)
{
	return pci_func_save(p, out);
}

static int vpci_msix_save(void *p, struct snap_out *out)
{
	return msix_save(p, out);
}

static int vpci_save(void *dev, struct snap_out *out)
{
	struct virtio_pci *t = dev;
	int ret;

	snap_put_u8(out, VPCI_SAVE_VERSION);
	snap_put_u8(out, (uint8_t)t->core.ops->nr_queues);
	ret = vpci_save_part(out, vpci_func_save, &t->func);
	if (!ret)
		ret = vpci_save_part(out, vpci_msix_save, t->msix);
	if (ret)
		return ret;
	virtio_core_lock(&t->core);
	snap_put_u16(out, t->config_vector);
	for (unsigned i = 0; i < t->core.ops->nr_queues; i++)
		snap_put_u16(out, t->queue_vector[i]);
	virtio_core_unlock(&t->core);
	ret = virtio_core_save(&t->core, out);
	return ret ? ret : snap_out_error(out);
}

static int vpci_refuse(const struct virtio_pci *t, struct snap_in *in, const char *what,
		       uint64_t value)
{
	log_err("%s: saved state refused: %s (0x%" PRIx64 ")", t->core.name, what, value);
	return snap_in_fail(in);
}

/* A vector as saved: inside the table or NO_VECTOR. */
static int vpci_vector_ok(const struct virtio_pci *t, uint16_t v)
{
	return v < t->nvec || v == VIRTIO_PCI_NO_VECTOR;
}

/*
 * Parse the header, both parts and the vectors (nothing applied yet);
 * the core's bytes are what is left of in.
 */
static int vpci_load_parse(struct virtio_pci *t, struct snap_in *in, struct snap_in *func,
			   struct snap_in *msix, uint16_t *vec)
{
	unsigned nrq = t->core.ops->nr_queues;
	uint8_t version = snap_get_u8(in), n = snap_get_u8(in);

	if (snap_in_error(in))
		return vpci_refuse(t, in, "truncated header", 0);
	if (version != VPCI_SAVE_VERSION)
		return vpci_refuse(t, in, "unknown version", version);
	if (n != nrq)
		return vpci_refuse(t, in, "queue count", n);
	snap_get_sub(in, snap_get_u32(in), func);
	snap_get_sub(in, snap_get_u32(in), msix);
	for (unsigned i = 0; i <= nrq; i++)
		vec[i] = snap_get_u16(in);
	if (snap_in_error(in))
		return vpci_refuse(t, in, "truncated function, MSI-X or vectors", 0);
	for (unsigned i = 0; i <= nrq; i++)
		if (!vpci_vector_ok(t, vec[i]))
			return vpci_refuse(t, in, "MSI-X vector outside the table", vec[i]);
	return 0;
}

/* A part's load, which must use its bytes up. */
static int vpci_load_part(struct virtio_pci *t, struct snap_in *in, struct snap_in *part,
			  int ret, const char *what)
{
	if (!ret && snap_in_left(part))
		return vpci_refuse(t, in, what, snap_in_left(part));
	if (!ret)
		ret = snap_in_end(part);
	return ret ? snap_in_fail(in) : 0;
}

static int vpci_load(void *dev, struct snap_in *in)
{
	struct virtio_pci *t = dev;
	struct snap_in func, msix;
	uint16_t vec[VIRTIO_MAX_QUEUES + 1];
	unsigned nrq = t->core.ops->nr_queues;
	int ret;

	ret = vpci_load_parse(t, in, &func, &msix, vec);
	if (!ret)
		ret = vpci_load_part(t, in, &func, pci_func_load(&t->func, &func),
				     "bytes left in the function's part");
	if (!ret)
		ret = vpci_load_part(t, in, &msix, msix_load(t->msix, &msix),
				     "bytes left in the MSI-X part");
	if (!ret)
		ret = virtio_core_load(&t->core, in); /* logs its own refusal */
	if (ret) {
		vpci_reset(t); /* never half-loaded (dev.h) */
		return -EINVAL;
	}
	virtio_core_lock(&t->core);
	t->config_vector = vec[0];
	for (unsigned i = 0; i < nrq; i++)
		t->queue_vector[i] = vec[i + 1];
	vpci_intx_sync(t); /* as it was saved, unless the section disagreed with itself */
	virtio_core_unlock(&t->core);
	return 0;
}

/* The core's counters, the interrupt paths, then the device's own. Any thread. */
static unsigned vpci_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct virtio_pci *t = dev;
	unsigned n = virtio_core_stats(&t->core, out, max);

	n = virtio_stat_put(out, n, max, "intx", virtio_stat_get(&t->intx_raised));
	if (t->msix)
		n = virtio_stat_put(out, n, max, "msix", virtio_stat_get(&t->msix->fired));
	return n + virtio_core_dev_stats(&t->core, out + n, max - n);
}

static void vpci_destroy(void *dev)
{
	virtio_pci_destroy(dev);
}

const struct dev_ops virtio_pci_dev_ops = {
	.kind = "virtio-pci",
	.read = dev_nop_read, /* not on a bus: reached through the PCI host */
	.write = dev_nop_write,
	.reset = vpci_reset,
	.save = vpci_save,
	.load = vpci_load,
	.stats = vpci_stats,
	.destroy = vpci_destroy,
};

/* ---- building the function ------------------------------------------------------- */

/* A vendor capability of size bytes (§4.1.4) pointing at [off, off + len) of the BAR. */
static int vpci_add_cap(struct virtio_pci *t, uint8_t type, unsigned size, uint32_t off,
			uint32_t len)
{
	int at = pci_func_add_cap(&t->func, PCI_CAP_ID_VENDOR, size);
	uint8_t *cap;

	if (at < 0) {
		log_err("%s: no room for virtio capability %u: %s", t->core.name, type,
			strerror(-at));
		return at;
	}
	cap = &t->func.cfg[at];
	cap[CAP_LEN] = (uint8_t)size;
	cap[CAP_CFG_TYPE] = type;
	cap[CAP_BAR] = type == VIRTIO_PCI_CAP_PCI_CFG ? 0 : VIRTIO_PCI_BAR;
	cap[CAP_ID] = 0;
	vpci_put_le32(cap + CAP_OFFSET, off);
	vpci_put_le32(cap + CAP_LENGTH, len);
	return at;
}

static int vpci_build_caps(struct virtio_pci *t)
{
	int at;

	if ((at = vpci_add_cap(t, VIRTIO_PCI_CAP_COMMON_CFG, CAP_SIZE, VIRTIO_PCI_COMMON,
			       VIRTIO_PCI_COMMON_LEN)) < 0 ||
	    (at = vpci_add_cap(t, VIRTIO_PCI_CAP_ISR_CFG, CAP_SIZE, VIRTIO_PCI_ISR,
			       VIRTIO_PCI_ISR_LEN)) < 0 ||
	    (at = vpci_add_cap(t, VIRTIO_PCI_CAP_DEVICE_CFG, CAP_SIZE, VIRTIO_PCI_DEVCFG,
			       VIRTIO_PCI_DEVCFG_LEN)) < 0)
		return at;
	at = vpci_add_cap(t, VIRTIO_PCI_CAP_NOTIFY_CFG, CAP_EXT_SIZE, VIRTIO_PCI_NOTIFY,
			  t->core.ops->nr_queues * VIRTIO_PCI_NOTIFY_MULT);
	if (at < 0)
		return at;
	vpci_put_le32(&t->func.cfg[at + CAP_NOTIFY_MULT], VIRTIO_PCI_NOTIFY_MULT);
	/* §4.1.4.8: the driver sets bar, offset and length, then accesses pci_cfg_data. */
	at = vpci_add_cap(t, VIRTIO_PCI_CAP_PCI_CFG, CAP_EXT_SIZE, 0, 0);
	if (at < 0)
		return at;
	t->cfg_cap = (unsigned)at;
	t->func.wmask[at + CAP_BAR] = 0xff;
	memset(&t->func.wmask[at + CAP_OFFSET], 0xff, 4 + 4 + 4); /* offset, length, data */
	return 0;
}

struct virtio_pci *virtio_pci_alloc(void)
{
	struct virtio_pci *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		t->db[i].t = t;
		t->db[i].index = i;
		t->db[i].fd = -1;
	}
	if (virtio_core_init(&t->core)) {
		free(t);
		return NULL;
	}
	return t;
}

int virtio_pci_init(struct virtio_pci *t, const struct machine *m, const char *name,
		    const struct virtio_dev_ops *ops, void *dev)
{
	uint32_t id = ops->device_id;
	int ret;

	virtio_core_attach(&t->core, name, ops, dev, m->mem);
	t->m = m;
	t->nvec = ops->nr_queues + 1;
	pci_func_init(&t->func, name, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + id),
		      vpci_class(id), VIRTIO_PCI_REVISION, VIRTIO_PCI_VENDOR, (uint16_t)id, 1,
		      &vpci_func_ops, t);
	ret = pci_func_bar(&t->func, VIRTIO_PCI_BAR, PCI_BAR_MEM64, VIRTIO_PCI_BAR_SIZE);
	if (ret) {
		log_err("%s: cannot declare its BAR: %s", name, strerror(-ret));
		return ret;
	}
	ret = vpci_build_caps(t);
	if (ret)
		return ret;
	ret = msix_create(m, &t->func, t->nvec, VIRTIO_PCI_BAR, VIRTIO_PCI_MSIX_TABLE,
			  VIRTIO_PCI_MSIX_PBA, &t->msix);
	if (ret) {
		log_err("%s: no MSI-X: %s", name, strerror(-ret));
		return ret;
	}
	virtio_core_lock(&t->core);
	vpci_reset_fields(t);
	t->core.irq_ctx = t;
	t->core.irq_vector = vpci_irq;
	t->core.kick = vpci_kick;
	t->core.kick_ctx = t;
	virtio_core_unlock(&t->core);
	for (unsigned i = 0; i < ops->nr_queues; i++) {
		ret = vpci_doorbell_open(t, i);
		if (ret)
			return ret;
	}
	return 0;
}

int virtio_pci_add(struct virtio_pci *t, const struct machine *m, struct pci_host *h)
{
	int ret = machine_add_dev(m, &virtio_pci_dev_ops, t, t->core.name); /* destroys t on failure */

	if (ret)
		return ret;
	return pci_host_add(h, &t->func); /* logs its own refusal */
}

int virtio_pci_create(const struct machine *m, struct pci_host *h, const char *name,
		      const struct virtio_dev_ops *ops, void *dev, struct virtio_pci **out)
{
	struct virtio_pci *t = virtio_pci_alloc();
	int ret;

	if (!t) {
		log_err("%s: out of memory for its transport", name);
		ops->destroy(dev);
		return -ENOMEM;
	}
	ret = virtio_pci_init(t, m, name, ops, dev);
	if (ret) {
		virtio_pci_destroy(t);
		return ret;
	}
	ret = virtio_pci_add(t, m, h);
	if (!ret)
		*out = t;
	return ret;
}

void virtio_pci_destroy(struct virtio_pci *t)
{
	if (!t)
		return;
	if (t->m) {
		for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
			vpci_doorbell_close(t, i);
	}
	virtio_core_destroy(&t->core); /* the device first: it may still hold its own fds */
	msix_destroy(t->msix);
	free(t);
}
