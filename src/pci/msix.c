/*
 * pci/msix.c: MSI-X of msix.h: the capability in the function's
 * configuration space, the vector table and PBA behind pci.c's BAR
 * dispatch, per-vector routes and irqfd eventfds, and their save/load.
 *
 * Rules beyond msix.h: a vector gets its route the first time it is
 * unmasked with a non-zero address and keeps it (following the entry's
 * message on unmask and on table writes while unmasked) until reset,
 * load or destroy. Firing an unmasked vector with a zero address drops
 * the message (a real device would write to address 0). Vector control
 * bits 31:1 read as 0. Table accesses must be naturally aligned
 * (1/2/4/8 bytes); others read all ones and are dropped.
 *
 * Threads as in msix.h: every entry point takes x->lock.
 */
#include "msix.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../log.h"
#include "../util.h"

#define MSIX_CTRL_FMASK  0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_VEC_MASKED  0x1
#define MSIX_CAP_LEN     12

/* What msix.h's struct leaves out: the cached control bits and the routes' messages. */
struct msix_priv {
	struct pci_msix x;
	int enabled, fmask;
	int noroute;                       /* the machine said -ENOTSUP: send each message */
	uint64_t raddr[MSIX_MAX_VECTORS];  /* message of v[i].gsi's route */
	uint32_t rdata[MSIX_MAX_VECTORS];
	uint64_t logged;
};

static struct msix_priv *priv(struct pci_msix *x)
{
	return (struct msix_priv *)((char *)x - offsetof(struct msix_priv, x));
}

static bool msix_ratelimit(struct msix_priv *p)
{
	uint64_t v = __atomic_add_fetch(&p->logged, 1, __ATOMIC_RELAXED);

	return (v & (v - 1)) == 0;
}

static uint64_t vec_addr(const struct msix_vector *v)
{
	return (uint64_t)v->addr_hi << 32 | v->addr_lo;
}

static unsigned pba_len(unsigned nvec)
{
	return (nvec + 63) / 64 * 8;
}

static bool deliverable(const struct msix_priv *p, const struct msix_vector *v)
{
	return p->enabled && !p->fmask && !(v->ctrl & MSIX_VEC_MASKED);
}

/* Drop vector i's irqfd and route. Lock held. */
static void vec_unroute(struct msix_priv *p, unsigned i)
{
	const struct machine *m = p->x.m;
	struct msix_vector *v = &p->x.v[i];

	if (v->efd >= 0) {
		if (m->ops->irqfd)
			m->ops->irqfd(m->ctx, v->efd, v->gsi, 0);
		close(v->efd);
		v->efd = -1;
	}
	if (v->gsi != ACCEL_MSI_ROUTE_NEW) {
		machine_msi_route_free(m, v->gsi);
		v->gsi = ACCEL_MSI_ROUTE_NEW;
	}
}

/*
 * Vector i is unmasked: make its route carry the entry's message and bind
 * an eventfd to it. Where that fails the vector falls back to sending each
 * message (vec_send without an eventfd). Lock held.
 */
static void vec_route(struct msix_priv *p, unsigned i)
{
	const struct machine *m = p->x.m;
	struct msix_vector *v = &p->x.v[i];
	uint64_t addr = vec_addr(v);
	unsigned gsi = v->gsi;
	int ret, efd;

	if ((v->ctrl & MSIX_VEC_MASKED) || p->noroute)
		return;
	if (!addr) {
		vec_unroute(p, i); /* the old message must not fire: vec_send drops it */
		return;
	}
	if (gsi != ACCEL_MSI_ROUTE_NEW && p->raddr[i] == addr && p->rdata[i] == v->data)
		return;
	ret = machine_msi_route(m, &gsi, addr, v->data);
	if (ret == -ENOTSUP) {
		p->noroute = 1;
		vec_unroute(p, i);
		return;
	}
	if (ret) {
		if (msix_ratelimit(p))
			log_warn("msix: %s vector %u: no MSI route (%s): sending each message",
				 p->x.f->name, i, strerror(-ret));
		vec_unroute(p, i);
		return;
	}
	v->gsi = gsi;
	p->raddr[i] = addr;
	p->rdata[i] = v->data;
	if (v->efd >= 0)
		return;
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ret = efd < 0 ? -errno : m->ops->irqfd ? m->ops->irqfd(m->ctx, efd, gsi, 1) : -ENOTSUP;
	if (ret) {
		if (efd >= 0)
			close(efd);
		vec_unroute(p, i);
		return;
	}
	v->efd = efd;
}

/* Deliver vector i's message once. Lock held. */
static int vec_send(struct msix_priv *p, unsigned i)
{
	struct msix_vector *v = &p->x.v[i];
	struct irq_msi msi;
	uint64_t one = 1;
	int ret;

	__atomic_add_fetch(&p->x.fired, 1, __ATOMIC_RELAXED);
	if (v->efd >= 0)
		return write(v->efd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
	if (!vec_addr(v)) {
		if (msix_ratelimit(p))
			log_warn("msix: %s vector %u fired with no address: dropped", p->x.f->name, i);
		return 0;
	}
	msi = machine_irq_msi(p->x.m);
	ret = irq_msi_send(&msi, vec_addr(v), v->data);
	if (ret && msix_ratelimit(p))
		log_warn("msix: %s vector %u: MSI not delivered: %s", p->x.f->name, i,
			 strerror(-ret));
	return ret;
}

/* Deliver and clear every pending vector that may now be delivered. Lock held. */
static void deliver_pending(struct msix_priv *p)
{
	for (unsigned i = 0; i < p->x.nvec; i++) {
		struct msix_vector *v = &p->x.v[i];

		if (v->pending && deliverable(p, v)) {
			v->pending = 0;
			vec_send(p, i);
		}
	}
}

int msix_create(const struct machine *m, struct pci_func *f, unsigned nvec, unsigned bar,
		uint32_t table_off, uint32_t pba_off, struct pci_msix **out)
{
	uint64_t tlen = (uint64_t)nvec * MSIX_ENTRY_SIZE, plen = pba_len(nvec), size;
	struct msix_priv *p;
	int cap;

	if (!m || !f || !out || f->msix || !nvec || nvec > MSIX_MAX_VECTORS || bar >= PCI_NR_BARS ||
	    (f->bar[bar].kind != PCI_BAR_MEM32 && f->bar[bar].kind != PCI_BAR_MEM64) ||
	    (table_off & 7) || (pba_off & 7))
		return -EINVAL;
	size = f->bar[bar].size;
	if (table_off + tlen > size || pba_off + plen > size ||
	    (table_off < pba_off + plen && pba_off < table_off + tlen))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (pthread_mutex_init(&p->x.lock, NULL)) {
		free(p);
		return -ENOMEM;
	}
	cap = pci_func_add_cap(f, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
	if (cap < 0) {
		pthread_mutex_destroy(&p->x.lock);
		free(p);
		return cap;
	}
	p->x.m = m;
	p->x.f = f;
	p->x.nvec = nvec;
	p->x.cap = (unsigned)cap;
	p->x.bar = bar;
	p->x.table_off = table_off;
	p->x.pba_off = pba_off;
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
		p->x.v[i] = (struct msix_vector){ .ctrl = MSIX_VEC_MASKED,
						  .gsi = ACCEL_MSI_ROUTE_NEW, .efd = -1 };
	le16_put(&f->cfg[cap + 2], (uint16_t)(nvec - 1));
	f->wmask[cap + 3] = (MSIX_CTRL_FMASK | MSIX_CTRL_ENABLE) >> 8;
	le32_put(&f->cfg[cap + 4], table_off | bar);
	le32_put(&f->cfg[cap + 8], pba_off | bar);
	f->msix = &p->x;
	*out = &p->x;
	return 0;
}

void msix_destroy(struct pci_msix *x)
{
	struct msix_priv *p;

	if (!x)
		return;
	p = priv(x);
	pthread_mutex_lock(&x->lock);
	for (unsigned i = 0; i < x->nvec; i++)
		vec_unroute(p, i);
	pthread_mutex_unlock(&x->lock);
	pthread_mutex_destroy(&x->lock);
	free(p);
}

int msix_fire(struct pci_msix *x, unsigned vec)
{
	struct msix_priv *p;
	int ret = 0;

	if (!x || vec >= x->nvec)
		return -ENOENT;
	p = priv(x);
	pthread_mutex_lock(&x->lock);
	if (deliverable(p, &x->v[vec])) {
		ret = vec_send(p, vec);
	} else {
		x->v[vec].pending = 1;
		__atomic_add_fetch(&x->masked_fires, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&x->lock);
	return ret;
}

int msix_enabled(struct pci_msix *x)
{
	int on;

	if (!x)
		return 0;
	pthread_mutex_lock(&x->lock);
	on = priv(x)->enabled;
	pthread_mutex_unlock(&x->lock);
	return on;
}

static bool access_ok(uint64_t off, unsigned len, uint64_t size)
{
	return (len == 1 || len == 2 || len == 4 || len == 8) && !(off & (len - 1)) && off < size &&
	       len <= size - off;
}

/* Entry e as the guest sees its 16 bytes. */
static void entry_bytes(const struct msix_vector *v, uint8_t *b)
{
	le32_put(b, v->addr_lo);
	le32_put(b + 4, v->addr_hi);
	le32_put(b + 8, v->data);
	le32_put(b + 12, v->ctrl);
}

int msix_table_read(struct pci_msix *x, uint64_t off, void *data, unsigned len)
{
	uint8_t *out = data, b[MSIX_ENTRY_SIZE];

	memset(data, 0xff, len);
	if (!access_ok(off, len, (uint64_t)x->nvec * MSIX_ENTRY_SIZE))
		return 0;
	pthread_mutex_lock(&x->lock);
	/* Aligned accesses of at most 8 bytes stay inside one 16-byte entry. */
	entry_bytes(&x->v[off / MSIX_ENTRY_SIZE], b);
	memcpy(out, b + off % MSIX_ENTRY_SIZE, len);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

int msix_table_write(struct pci_msix *x, uint64_t off, const void *data, unsigned len)
{
	struct msix_priv *p = priv(x);
	unsigned i = (unsigned)(off / MSIX_ENTRY_SIZE);
	uint8_t b[MSIX_ENTRY_SIZE];
	struct msix_vector *v;
	int was_masked;

	if (!access_ok(off, len, (uint64_t)x->nvec * MSIX_ENTRY_SIZE))
		return 0;
	pthread_mutex_lock(&x->lock);
	v = &x->v[i];
	was_masked = v->ctrl & MSIX_VEC_MASKED;
	entry_bytes(v, b);
	memcpy(b + off % MSIX_ENTRY_SIZE, data, len);
	v->addr_lo = le32_get(b);
	v->addr_hi = le32_get(b + 4);
	v->data = le32_get(b + 8);
	v->ctrl = le32_get(b + 12) & MSIX_VEC_MASKED;
	if (!(v->ctrl & MSIX_VEC_MASKED)) {
		vec_route(p, i);
		if (was_masked && v->pending && deliverable(p, v)) {
			v->pending = 0;
			vec_send(p, i);
		}
	}
	pthread_mutex_unlock(&x->lock);
	return 0;
}

int msix_pba_read(struct pci_msix *x, uint64_t off, void *data, unsigned len)
{
	uint8_t *out = data;

	memset(data, 0xff, len);
	if (!access_ok(off, len, pba_len(x->nvec)))
		return 0;
	memset(data, 0, len);
	pthread_mutex_lock(&x->lock);
	for (unsigned i = 0; i < len * 8; i++) {
		uint64_t vec = off * 8 + i;

		if (vec < x->nvec && x->v[vec].pending)
			out[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* Cache Enable and Function Mask from the capability. Lock held. */
static void control_read(struct msix_priv *p)
{
	uint16_t ctrl = le16_get(&p->x.f->cfg[p->x.cap + 2]);

	p->enabled = !!(ctrl & MSIX_CTRL_ENABLE);
	p->fmask = !!(ctrl & MSIX_CTRL_FMASK);
}

void msix_control_written(struct pci_msix *x)
{
	struct msix_priv *p = priv(x);

	pthread_mutex_lock(&x->lock);
	control_read(p);
	deliver_pending(p);
	pthread_mutex_unlock(&x->lock);
}

void msix_reset(struct pci_msix *x)
{
	struct msix_priv *p = priv(x);

	pthread_mutex_lock(&x->lock);
	for (unsigned i = 0; i < x->nvec; i++) {
		vec_unroute(p, i);
		x->v[i] = (struct msix_vector){ .ctrl = MSIX_VEC_MASKED, .gsi = ACCEL_MSI_ROUTE_NEW,
						.efd = -1 };
	}
	x->f->cfg[x->cap + 3] &= (uint8_t)~((MSIX_CTRL_FMASK | MSIX_CTRL_ENABLE) >> 8);
	p->enabled = 0;
	p->fmask = 0;
	pthread_mutex_unlock(&x->lock);
}

/* Layout: u16 nvec, then per vector u32 addr_lo, addr_hi, data, ctrl, u8 pending. */
int msix_save(struct pci_msix *x, struct snap_out *out)
{
	pthread_mutex_lock(&x->lock);
	snap_put_u16(out, (uint16_t)x->nvec);
	for (unsigned i = 0; i < x->nvec; i++) {
		const struct msix_vector *v = &x->v[i];

		snap_put_u32(out, v->addr_lo);
		snap_put_u32(out, v->addr_hi);
		snap_put_u32(out, v->data);
		snap_put_u32(out, v->ctrl);
		snap_put_u8(out, (uint8_t)v->pending);
	}
	pthread_mutex_unlock(&x->lock);
	return snap_out_error(out);
}

static int msix_bad(struct snap_in *in, const struct pci_msix *x, const char *field, unsigned v)
{
	log_warn("msix: %s: saved state: %s = %#x is out of range", x->f->name, field, v);
	return snap_in_fail(in);
}

/*
 * After pci_func_load (the capability's Enable and Function Mask are read
 * from the loaded header). All or nothing: refused, the table is untouched.
 */
int msix_load(struct pci_msix *x, struct snap_in *in)
{
	struct msix_priv *p = priv(x);
	struct msix_vector t[MSIX_MAX_VECTORS];
	unsigned n = snap_get_u16(in);

	if (!snap_in_error(in) && n != x->nvec)
		return msix_bad(in, x, "vectors", n);
	for (unsigned i = 0; i < x->nvec; i++) {
		t[i].addr_lo = snap_get_u32(in);
		t[i].addr_hi = snap_get_u32(in);
		t[i].data = snap_get_u32(in);
		t[i].ctrl = snap_get_u32(in);
		t[i].pending = snap_get_u8(in);
		if (snap_in_error(in)) {
			log_warn("msix: %s: saved state is truncated", x->f->name);
			return -EINVAL;
		}
		if (t[i].ctrl & ~MSIX_VEC_MASKED)
			return msix_bad(in, x, "vector control", t[i].ctrl);
		if ((unsigned)t[i].pending > 1)
			return msix_bad(in, x, "pending", (unsigned)t[i].pending);
	}
	pthread_mutex_lock(&x->lock);
	for (unsigned i = 0; i < x->nvec; i++) {
		vec_unroute(p, i);
		t[i].gsi = ACCEL_MSI_ROUTE_NEW;
		t[i].efd = -1;
		x->v[i] = t[i];
	}
	control_read(p);
	for (unsigned i = 0; i < x->nvec; i++)
		vec_route(p, i);
	deliver_pending(p); /* a state save never holds: delivered on resume */
	pthread_mutex_unlock(&x->lock);
	return 0;
}
