/*
 * vm_migrate.c: live migration of a VM between two vmon processes over a
 * connected stream socket (the format is snapshot/migrate.h).
 *
 * Source (vm_migrate_out): dirty logging on, round 1 sends every non-zero
 * page while the guest runs, later rounds the pages it dirtied meanwhile,
 * until a round finds at most VM_MIG_DIRTY_STOP pages or VM_MIG_ROUNDS_MAX
 * rounds ran; then the VM is paused, the last dirty pages and the state
 * (a state file under the host key) are sent and the target's ACK awaited.
 * On any error the VM is resumed (unless the caller had it paused): it runs
 * on as if nothing happened. KVM logs only the vCPUs' writes; what devices
 * write (virtqueue buffers and used rings, on the I/O thread) is recorded by
 * gmem_mark_dev from the first pre-copy round on, and all of it is resent in
 * the paused round. A request the I/O thread still has in flight at the
 * pause can complete after that copy, as for a snapshot (vm_pause).
 *
 * Target (vm_migrate_recv_header, vm_migrate_recv): the header gives the
 * configuration vm_create builds the VM from (no kernel loaded); page
 * records land in its RAM through gmem_ptr (region and page range checked),
 * the state loads through vm_restore_state_blob (its MAC checked), then the
 * ACK goes back.
 *
 * Owns neither socket: the callers (api/vmm.c) open and close them.
 * Threads: the VMM thread. vCPUs run during the source's pre-copy rounds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "snapshot/migrate.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapmem.h"
#include "vm.h"
#include "vmconfig.h"

#define VM_MIG_DIRTY_STOP 64     /* pages left for the paused round: 256 KiB */
#define VM_MIG_ROUNDS_MAX 10     /* pre-copy rounds before giving up on convergence */
#define VM_MIG_IO_NS (3ull * 1000000000ull) /* a peer silent this long has failed (< the CLI's 5 s) */

struct vm_mig_out {
	struct vm *vm;
	int fd;
	uint64_t bytes;
	uint64_t *bits[GMEM_MAX_REGIONS];
	uint64_t *tmp;            /* the largest region's bitmap: one dirty_get */
	size_t bits_len[GMEM_MAX_REGIONS], tmp_len;
};

/*
 * Bitmaps come from mmap, not malloc: the main thread's filter has no brk
 * (sandbox/seccomp.c), and a 1 GiB VM's 32 KiB bitmap would grow the heap.
 */
static uint64_t *vm_mig_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static uint64_t vm_mig_deadline(void)
{
	return mig_now_ns() + VM_MIG_IO_NS;
}

static void vm_mig_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t vm_mig_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int vm_mig_send(struct vm_mig_out *m, const void *buf, size_t len)
{
	int ret = mig_send(m->fd, buf, len, vm_mig_deadline());

	if (!ret)
		m->bytes += len;
	return ret;
}

/* One record: pages [first, first+n) of region r. */
static int vm_mig_send_run(struct vm_mig_out *m, unsigned r, uint64_t first, uint64_t n)
{
	const struct gmem_region *g = &m->vm->mem.region[r];
	uint8_t h[16];
	int ret;

	vm_mig_put32(h, MIG_REC_PAGES);
	vm_mig_put32(h + 4, r);
	vm_mig_put32(h + 8, (uint32_t)first);
	vm_mig_put32(h + 12, (uint32_t)n);
	ret = vm_mig_send(m, h, sizeof(h));
	if (!ret)
		ret = vm_mig_send(m, g->hva + first * SNAPMEM_PAGE, n * SNAPMEM_PAGE);
	return ret;
}

static int vm_mig_page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < SNAPMEM_PAGE / 8; i++)
		if (w[i])
			return 0;
	return 1;
}

/*
 * Send region r's pages: all non-zero ones (bits NULL), else those marked.
 * Consecutive pages go as one record of at most MIG_RUN_MAX pages.
 */
static int vm_mig_send_region(struct vm_mig_out *m, unsigned r, const uint64_t *bits)
{
	const struct gmem_region *g = &m->vm->mem.region[r];
	uint64_t pages = g->size / SNAPMEM_PAGE, start = 0, n = 0;
	int ret = 0;

	for (uint64_t p = 0; !ret && p <= pages; p++) {
		int want = p < pages && (bits ? (bits[p / 64] >> (p % 64)) & 1
					      : !vm_mig_page_zero(g->hva + p * SNAPMEM_PAGE));

		if (want && n && n < MIG_RUN_MAX) {
			n++;
			continue;
		}
		if (n)
			ret = vm_mig_send_run(m, r, start, n);
		start = p;
		n = want ? 1 : 0;
	}
	return ret;
}

/* Fetch (and clear) the dirty log into m->bits; OR into what is there when accumulate. */
static int vm_mig_dirty(struct vm_mig_out *m, int accumulate, uint64_t *count)
{
	struct vm *vm = m->vm;
	uint64_t *tmp = m->tmp;
	int ret = 0;

	*count = 0;
	for (unsigned i = 0; !ret && i < vm->mem.nr_regions; i++) {
		uint64_t words = snapmem_bitmap_bytes(vm->mem.region[i].size) / 8;

		ret = vm->accel->ops->dirty_get(vm->accel, i, accumulate ? tmp : m->bits[i]);
		for (uint64_t w = 0; !ret && w < words; w++) {
			if (accumulate)
				m->bits[i][w] |= tmp[w];
			*count += (uint64_t)__builtin_popcountll(m->bits[i][w]);
		}
	}
	return ret;
}

static int vm_mig_send_header(struct vm_mig_out *m)
{
	struct vm *vm = m->vm;
	char *config = vm_config_to_json(&vm->cfg);
	struct snap_out o;
	int ret;

	if (!config)
		return -ENOMEM;
	snap_out_init(&o);
	snap_put_bytes(&o, MIG_MAGIC, 8);
	snap_put_u32(&o, MIG_VERSION);
	snap_put_u32(&o, (uint32_t)strlen(config));
	snap_put_bytes(&o, config, strlen(config));
	snap_put_u32(&o, vm->mem.nr_regions);
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		snap_put_u64(&o, vm->mem.region[i].gpa);
		snap_put_u64(&o, vm->mem.region[i].size);
	}
	/* Migration is no clone: the guest keeps its generation ID (snapshot/genid.h). */
	snap_put_bytes(&o, vm->snap_genid, sizeof(vm->snap_genid));
	ret = snap_out_error(&o);
	if (!ret)
		ret = vm_mig_send(m, o.buf, o.len);
	snap_out_free(&o);
	free(config);
	return ret;
}

static int vm_mig_track(struct vm *vm)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < vm->mem.nr_regions; i++) {
		const struct gmem_region *r = &vm->mem.region[i];

		ret = vm->accel->ops->dirty_track(vm->accel, i, r->gpa, r->size, r->hva, 1);
	}
	return ret;
}

/* The pre-copy rounds, the guest running. On return m->bits hold what is left. */
static int vm_mig_precopy(struct vm_mig_out *m, struct vm_migrate_stats *st, char *err,
			  size_t errlen)
{
	uint64_t n;
	int ret = vm_mig_dirty(m, 0, &n); /* clears the log: from here on every write counts */

	for (unsigned r = 0; !ret && r < m->vm->mem.nr_regions; r++)
		ret = vm_mig_send_region(m, r, NULL);
	st->rounds = 1;
	while (!ret) {
		ret = vm_mig_dirty(m, 0, &n);
		if (ret || n <= VM_MIG_DIRTY_STOP || st->rounds >= VM_MIG_ROUNDS_MAX)
			break;
		for (unsigned r = 0; !ret && r < m->vm->mem.nr_regions; r++)
			ret = vm_mig_send_region(m, r, m->bits[r]);
		st->rounds++;
	}
	if (ret)
		snprintf(err, errlen, "pre-copy round %u: %s", st->rounds, strerror(-ret));
	return ret;
}

static int vm_mig_final(struct vm_mig_out *m, const char *state_dir, int precopy,
			struct vm_migrate_stats *st, char *err, size_t errlen)
{
	struct snap_out o;
	uint8_t h[8], ack[4];
	uint64_t n;
	int ret = 0;

	if (precopy)
		ret = vm_mig_dirty(m, 1, &n);
	/* Every page a device may have written since the pre-copy began (gmem.h). */
	for (unsigned r = 0; !ret && precopy && r < m->vm->mem.nr_regions; r++)
		gmem_dev_take(&m->vm->mem, r, m->bits[r]);
	for (unsigned r = 0; !ret && r < m->vm->mem.nr_regions; r++)
		ret = vm_mig_send_region(m, r, precopy ? m->bits[r] : NULL);
	st->rounds++;
	if (ret) {
		snprintf(err, errlen, "sending the last pages: %s", strerror(-ret));
		return ret;
	}
	snap_out_init(&o);
	ret = vm_snapshot_state_blob(m->vm, state_dir, &o, err, errlen);
	if (ret) {
		snap_out_free(&o);
		return ret;
	}
	vm_mig_put32(h, MIG_REC_STATE);
	vm_mig_put32(h + 4, (uint32_t)o.len);
	ret = vm_mig_send(m, h, sizeof(h));
	if (!ret)
		ret = vm_mig_send(m, o.buf, o.len);
	snap_out_free(&o);
	if (ret) {
		snprintf(err, errlen, "sending the state: %s", strerror(-ret));
		return ret;
	}
	ret = mig_recv(m->fd, ack, sizeof(ack), vm_mig_deadline());
	if (!ret && vm_mig_get32(ack) != MIG_ACK)
		ret = -EPROTO;
	if (ret)
		snprintf(err, errlen, "no acknowledgement from the target: %s",
			 ret == -EPIPE ? "it closed the connection" : strerror(-ret));
	return ret;
}

int vm_migrate_out(struct vm *vm, int fd, const char *state_dir, int was_paused,
		   struct vm_migrate_stats *st, char *err, size_t errlen)
{
	struct vm_mig_out m = { .vm = vm, .fd = fd };
	uint64_t t0 = mig_now_ns(), tp = 0;
	int precopy = !was_paused, paused = 0, ret = 0;

	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; !ret && i < vm->mem.nr_regions; i++) {
		m.bits_len[i] = snapmem_bitmap_bytes(vm->mem.region[i].size);
		m.bits[i] = vm_mig_map(m.bits_len[i]);
		if (!m.bits[i])
			ret = -ENOMEM;
		if (m.bits_len[i] > m.tmp_len)
			m.tmp_len = m.bits_len[i];
	}
	if (!ret && !(m.tmp = vm_mig_map(m.tmp_len)))
		ret = -ENOMEM;
	if (ret) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (precopy && (gmem_dev_track(&vm->mem) || vm_mig_track(vm)))
		precopy = 0; /* no dirty log (software vCPU): stop-and-copy */
	/* The dirty log is ours from here: a diff snapshot must start from a new full one. */
	vm->snap_dirty_on = 0;
	st->precopy = precopy;
	ret = vm_mig_send_header(&m);
	if (ret)
		snprintf(err, errlen, "sending the header: %s", strerror(-ret));
	if (!ret && precopy)
		ret = vm_mig_precopy(&m, st, err, errlen);
	if (!ret) {
		tp = mig_now_ns();
		ret = vm_pause(vm);
		paused = !ret;
		if (ret)
			snprintf(err, errlen, "pausing the VM: %s", strerror(-ret));
	}
	if (!ret)
		ret = vm_mig_final(&m, state_dir, precopy, st, err, errlen);
	if (ret && paused && !was_paused)
		vm_resume(vm);
	st->downtime_ns = tp ? mig_now_ns() - tp : 0;
	st->total_ns = mig_now_ns() - t0;
out:
	st->bytes = m.bytes;
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		if (m.bits[i])
			munmap(m.bits[i], m.bits_len[i]);
	if (m.tmp)
		munmap(m.tmp, m.tmp_len);
	return ret;
}

/* ---- the target ---------------------------------------------------------- */

int vm_migrate_recv_header(int fd, struct vm_config *cfg, struct vm_migrate_in *in, char *err,
			   size_t errlen)
{
	uint64_t dl = vm_mig_deadline();
	uint8_t h[16];
	char *config;
	int ret;

	ret = mig_recv(fd, h, sizeof(h), dl);
	if (ret) {
		snprintf(err, errlen, "reading the header: %s", strerror(-ret));
		return ret;
	}
	if (memcmp(h, MIG_MAGIC, 8) || vm_mig_get32(h + 8) != MIG_VERSION ||
	    vm_mig_get32(h + 12) == 0 || vm_mig_get32(h + 12) > MIG_CONFIG_MAX) {
		snprintf(err, errlen, "not a vmon migration stream of version %u", MIG_VERSION);
		return -EPROTO;
	}
	config = malloc(vm_mig_get32(h + 12));
	if (!config)
		return -ENOMEM;
	ret = mig_recv(fd, config, vm_mig_get32(h + 12), dl);
	if (!ret)
		ret = vm_config_from_json(config, vm_mig_get32(h + 12), cfg, err, errlen);
	else
		snprintf(err, errlen, "reading the configuration: %s", strerror(-ret));
	free(config);
	if (ret)
		return ret;
	ret = mig_recv(fd, h, 4, dl);
	in->nr_regions = vm_mig_get32(h);
	if (!ret && (in->nr_regions == 0 || in->nr_regions > GMEM_MAX_REGIONS))
		ret = -EPROTO;
	for (unsigned i = 0; !ret && i < in->nr_regions; i++) {
		ret = mig_recv(fd, h, 16, dl);
		in->gpa[i] = (uint64_t)vm_mig_get32(h) | (uint64_t)vm_mig_get32(h + 4) << 32;
		in->size[i] = (uint64_t)vm_mig_get32(h + 8) | (uint64_t)vm_mig_get32(h + 12) << 32;
	}
	if (!ret)
		ret = mig_recv(fd, in->genid, sizeof(in->genid), dl);
	if (ret)
		snprintf(err, errlen, "reading the memory layout: %s", strerror(-ret));
	return ret;
}

static int vm_mig_recv_pages(struct vm *vm, int fd, const uint8_t *h, char *err, size_t errlen)
{
	uint32_t r = vm_mig_get32(h), first = vm_mig_get32(h + 4), n = vm_mig_get32(h + 8);
	uint8_t *dst;

	if (r >= vm->mem.nr_regions || n == 0 || n > MIG_RUN_MAX) {
		snprintf(err, errlen, "a page record out of bounds (region %u, %u pages)", r, n);
		return -EPROTO;
	}
	dst = gmem_ptr(&vm->mem, vm->mem.region[r].gpa + (uint64_t)first * SNAPMEM_PAGE,
		       (uint64_t)n * SNAPMEM_PAGE);
	if (!dst || (uint64_t)first + n > vm->mem.region[r].size / SNAPMEM_PAGE) {
		snprintf(err, errlen, "pages %u..%u lie outside region %u", first, first + n - 1, r);
		return -EPROTO;
	}
	return mig_recv(fd, dst, (size_t)n * SNAPMEM_PAGE, vm_mig_deadline());
}

int vm_migrate_recv(struct vm *vm, int fd, const struct vm_migrate_in *in, const char *state_dir,
		    char *err, size_t errlen)
{
	uint8_t h[12], *state;
	uint32_t len;
	int ret;

	if (in->nr_regions != vm->mem.nr_regions) {
		snprintf(err, errlen, "the source has %u memory regions, this VM %u",
			 in->nr_regions, vm->mem.nr_regions);
		return -EPROTO;
	}
	for (unsigned i = 0; i < in->nr_regions; i++)
		if (in->gpa[i] != vm->mem.region[i].gpa || in->size[i] != vm->mem.region[i].size) {
			snprintf(err, errlen, "memory region %u differs from this VM's", i);
			return -EPROTO;
		}
	for (;;) {
		ret = mig_recv(fd, h, 4, vm_mig_deadline());
		if (ret)
			break;
		if (vm_mig_get32(h) == MIG_REC_STATE)
			break;
		if (vm_mig_get32(h) != MIG_REC_PAGES) {
			snprintf(err, errlen, "unknown record type %u", vm_mig_get32(h));
			return -EPROTO;
		}
		ret = mig_recv(fd, h, 12, vm_mig_deadline());
		if (!ret)
			ret = vm_mig_recv_pages(vm, fd, h, err, errlen);
		if (ret == -EPROTO)
			return ret;
		if (ret)
			break;
	}
	if (!ret)
		ret = mig_recv(fd, h, 4, vm_mig_deadline());
	if (ret) {
		snprintf(err, errlen, "the stream broke off: %s",
			 ret == -EPIPE ? "the source closed it" : strerror(-ret));
		return ret;
	}
	len = vm_mig_get32(h);
	if (len == 0 || len > SNAPFILE_MAX_SIZE) {
		snprintf(err, errlen, "a state of %u bytes", len);
		return -EPROTO;
	}
	state = malloc(len);
	if (!state)
		return -ENOMEM;
	ret = mig_recv(fd, state, len, vm_mig_deadline());
	if (ret)
		snprintf(err, errlen, "reading the state: %s", strerror(-ret));
	else
		ret = vm_restore_state_blob(vm, state, len, state_dir, err, errlen);
	free(state);
	if (ret)
		return ret;
	memcpy(vm->snap_genid, in->genid, sizeof(vm->snap_genid));
	if (vm->genid_hook.fn) {
		ret = vm->genid_hook.fn(vm->genid_hook.ctx, vm->snap_genid);
		if (ret) {
			snprintf(err, errlen, "the guest's generation ID: %s", strerror(-ret));
			return ret;
		}
	}
	vm_mig_put32(h, MIG_ACK);
	ret = mig_send(fd, h, 4, vm_mig_deadline());
	if (ret)
		snprintf(err, errlen, "sending the acknowledgement: %s", strerror(-ret));
	return ret;
}
