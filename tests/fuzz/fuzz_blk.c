/*
 * fuzz_blk.c: libFuzzer harness for the virtio-blk request parser
 * (src/virtio/blk.c's queue_notify over src/virtio/virtq.c): a hostile
 * driver owns the descriptor table, both rings, every request header and
 * the data, and a disk image sits behind them.
 *
 * Owns: 64 KiB of guest RAM at GPA 0x10000000 between PROT_NONE guard
 * pages (the input's image is copied to its start; the rest is zero), one
 * queue, a 32 KiB disk image in a memfd (zeroed before each run) and two
 * devices on it, opened once through their path (/proc/self/fd/N): one
 * read-write, one read-only. Does not own the transport or the core: the
 * device's queue_notify is called directly, as the core would call it.
 * Threads: libFuzzer's one.
 *
 * Input layout (little-endian; tests/fuzz/make-seeds.py writes seeds):
 *   0  u8   queue size: 1 << (this % 9), so 1..256 (the device's maximum)
 *   1  u8   flags: bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2 read-only disk,
 *               bit3 notify a second time
 *   2  u16  avail ring offset in RAM (rounded down to 2)
 *   4  u16  used ring offset in RAM (rounded down to 4)
 *   6  u16  reserved
 *   8       image: guest RAM from offset 0 (the descriptor table is at 0)
 * Descriptors hold absolute guest addresses: RAM_GPA + offset.
 *
 * Checked: queue_notify returns a chain count (at most the queue size, and
 * exactly how far the device's used index moved) or a virtq_pop error
 * (-EINVAL, -ELOOP, -E2BIG, -EFAULT, -EOVERFLOW) that leaves the queue
 * broken, and a second notify then answers -EIO (or 0 after a clean run
 * that did not set virtq.more; after one that did, more chains or a pop error);
 * used->idx in RAM ends as the device's index once it moved (untouched
 * otherwise) and the last used element names a head inside the table;
 * every byte of guest RAM that changed lies in the
 * used ring or in a buffer some descriptor of the table (or of an indirect
 * table it points to) marks device-writable; the image keeps its size, a
 * read-only image is never written, and a read-write one changes only if
 * the device counted a write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "gmem.h"
#include "log.h"
#include "util.h"
#include "virtio/blk.h"
#include "virtio/virtq.h"

#define RAM_GPA   0x10000000ULL
#define RAM_SIZE  (64u * 1024)
#define HDR_SIZE  8
#define DISK_SIZE (64u * 512)
#define QMAX_LOG2 8 /* VBLK_QUEUE_SIZE is 256 */

struct fz {
	uint8_t *ram;
	struct gmem m;
	struct virtq q;
	int disk_fd;
	int ro_fd; /* the read-only device's own image: the read-write one locks disk_fd */
	struct vblk rw, ro;
	uint8_t before[RAM_SIZE];
	uint8_t writable[RAM_SIZE]; /* 1: some descriptor lets the device write here */
	uint8_t table[RAM_SIZE];    /* 1: a descriptor (direct or indirect table) lies here */
	uint8_t disk[DISK_SIZE];
};

/* libFuzzer harnesses keep their state here: one process, one input at a time. */
static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vblk_opts o;

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR); /* malformed chains and failed requests are warnings */
	fz.ram = fuzz_guarded_ram(RAM_SIZE);
	FUZZ_SETUP(gmem_init_flat(&fz.m, fz.ram, RAM_GPA, RAM_SIZE) == 0);
	fz.disk_fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
	FUZZ_SETUP(fz.disk_fd >= 0 && ftruncate(fz.disk_fd, DISK_SIZE) == 0);
	memset(&o, 0, sizeof(o));
	snprintf(o.path, sizeof(o.path), "/proc/self/fd/%d", fz.disk_fd);
	FUZZ_SETUP(vblk_open(&fz.rw, &fz.m, &o) == 0);
	fz.ro_fd = memfd_create("fuzz-blk-ro", MFD_CLOEXEC);
	FUZZ_SETUP(fz.ro_fd >= 0 && ftruncate(fz.ro_fd, DISK_SIZE) == 0);
	snprintf(o.path, sizeof(o.path), "/proc/self/fd/%d", fz.ro_fd);
	o.read_only = 1;
	FUZZ_SETUP(vblk_open(&fz.ro, &fz.m, &o) == 0);
	return 0;
}

/* Mark [gpa, gpa+len) ∩ RAM as device-writable. */
static void mark(uint64_t gpa, uint64_t len)
{
	uint64_t lo, hi;

	if (gpa >= RAM_GPA + RAM_SIZE || len == 0 || gpa + len < gpa)
		return;
	lo = gpa < RAM_GPA ? 0 : gpa - RAM_GPA;
	hi = gpa + len - RAM_GPA;
	if (gpa + len <= RAM_GPA)
		return;
	if (hi > RAM_SIZE)
		hi = RAM_SIZE;
	memset(fz.writable + lo, 1, hi - lo);
}

#define CMP_BLOCK 256 /* RAM is compared in blocks: memcmp first, bytes only where it differs */

/* Walk a descriptor table of n entries at RAM offset off (from the snapshot): mark WRITE buffers. */
static void mark_table(uint64_t off, uint64_t n, bool follow_indirect)
{
	for (uint64_t i = 0; i < n && off + 16 * (i + 1) <= RAM_SIZE; i++) {
		const uint8_t *d = fz.before + off + 16 * i;
		uint64_t addr = le64_get(d);
		uint32_t len = le32_get(d + 8);
		uint16_t flags = le16_get(d + 12);

		memset(fz.table + off + 16 * i, 1, 16);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			if (follow_indirect && addr >= RAM_GPA && addr - RAM_GPA < RAM_SIZE)
				mark_table(addr - RAM_GPA, len / 16, false);
		} else if (flags & VIRTQ_DESC_F_WRITE) {
			mark(addr, len);
		}
	}
}

/*
 * Can the device rewrite a descriptor? Only if some byte it may write (a
 * WRITE buffer, the used ring) lies on the descriptor table or an indirect
 * table. Then a later chain may rightly use a buffer the snapshot never
 * showed (each chain is read when it is popped), even one rewritten and
 * rewritten back before the run ends, and the writes check cannot judge
 * the input from the snapshot. Otherwise no table can change, by
 * induction, and the snapshot's writable set is exact.
 */
static bool tables_writable(void)
{
	for (unsigned i = 0; i < RAM_SIZE; i += CMP_BLOCK) {
		const uint8_t *t = memchr(fz.table + i, 1, CMP_BLOCK);

		if (!t)
			continue;
		for (unsigned j = (unsigned)(t - fz.table); j < i + CMP_BLOCK; j++)
			if (fz.table[j] && fz.writable[j])
				return true;
	}
	return false;
}

/*
 * The checks below compare with memcmp first: a byte loop here would be
 * instrumented for coverage like the code under test and cost most of
 * each run.
 */
static const uint8_t zeros[DISK_SIZE];

static bool disk_zero(int fd)
{
	FUZZ_SETUP(pread(fd, fz.disk, DISK_SIZE, 0) == DISK_SIZE);
	return !memcmp(fz.disk, zeros, DISK_SIZE);
}


/* Every byte of RAM that changed since the snapshot is marked writable. */
static void check_ram_writes(void)
{
	for (unsigned blk = 0; blk < RAM_SIZE; blk += CMP_BLOCK) {
		if (!memcmp(fz.ram + blk, fz.before + blk, CMP_BLOCK))
			continue;
		for (unsigned i = blk; i < blk + CMP_BLOCK; i++)
			if (fz.ram[i] != fz.before[i] && !fz.writable[i])
				fuzz_fail(__FILE__, __LINE__,
					  "device wrote RAM offset %#x, which no descriptor makes writable", i);
	}
}

static bool pop_error(int ret)
{
	return ret == -EINVAL || ret == -ELOOP || ret == -E2BIG || ret == -EFAULT ||
	       ret == -EOVERFLOW;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint16_t num, used_before, shadow, moved;
	uint64_t avail, used, writes_before;
	uint8_t flags;
	struct vblk *b;
	struct stat st;
	int ret, again;
	bool self_modifying, more;
	int fd;

	num = (uint16_t)(1u << (fuzz_u8(&in) % (QMAX_LOG2 + 1)));
	flags = fuzz_u8(&in);
	avail = fuzz_u16(&in) & ~1u;
	used = fuzz_u16(&in) & ~3u;
	(void)fuzz_u16(&in);
	b = flags & 4 ? &fz.ro : &fz.rw;
	fd = b == &fz.ro ? fz.ro_fd : fz.disk_fd;

	/* Fresh RAM and disk for every input. */
	memset(fz.ram, 0, RAM_SIZE);
	memcpy(fz.ram, in.p, in.left < RAM_SIZE ? in.left : RAM_SIZE);
	FUZZ_SETUP(ftruncate(fd, 0) == 0 && ftruncate(fd, DISK_SIZE) == 0);
	if (virtq_setup(&fz.q, &fz.m, num, RAM_GPA, RAM_GPA + avail, RAM_GPA + used, flags & 1,
			flags & 2))
		return 0; /* a ring past the end of RAM: the virtq fuzzer's business */

	memcpy(fz.before, fz.ram, RAM_SIZE);
	memset(fz.writable, 0, RAM_SIZE);
	memset(fz.table, 0, RAM_SIZE);
	mark_table(0, num, flags & 2);
	mark(RAM_GPA + used, VIRTQ_USED_RING_SIZE(num));
	self_modifying = tables_writable();
	used_before = le16_get(fz.ram + used + 2); /* the driver's; the device never reads it */
	shadow = fz.q.used_idx;
	writes_before = b->bytes_written;

	vblk_ops.reset(b); /* no request half served from the last input (none fits 32 KiB anyway) */
	ret = vblk_ops.queue_notify(b, &fz.q, 0);
	more = fz.q.more;

	moved = (uint16_t)(fz.q.used_idx - shadow);
	if (ret >= 0) {
		FUZZ_CHECK(ret <= num && ret <= VBLK_PASS_REQS);
		FUZZ_CHECK_EQ(moved, ret);
		FUZZ_CHECK(!fz.q.broken);
	} else {
		FUZZ_CHECK(pop_error(ret));
		FUZZ_CHECK(fz.q.broken);
		FUZZ_CHECK(moved <= num); /* the chains completed before the bad one */
	}
	/* Each chain ends with its push, whose last store is used->idx: it must be the shadow. */
	FUZZ_CHECK_EQ(le16_get(fz.ram + used + 2), moved ? fz.q.used_idx : used_before);
	if (moved) /* the last element; earlier ones may lie under a later chain's buffers */
		FUZZ_CHECK(le32_get(fz.ram + used + 4 + 8 * ((uint16_t)(fz.q.used_idx - 1) % num)) <
			   num);
	if (!self_modifying)
		check_ram_writes();

	FUZZ_SETUP(fstat(fd, &st) == 0);
	FUZZ_CHECK_EQ(st.st_size, DISK_SIZE);
	if (b == &fz.ro)
		FUZZ_CHECK(disk_zero(fd));
	else if (!disk_zero(fd))
		FUZZ_CHECK(b->bytes_written > writes_before);

	if (flags & 8) {
		/*
		 * The driver changed nothing: a second notify finds the broken queue,
		 * nothing, or, when the first pass said more work was left (its
		 * per-pass budget spent), more chains or a bad one among them.
		 */
		fz.q.more = false;
		again = vblk_ops.queue_notify(b, &fz.q, 0);
		if (ret < 0)
			FUZZ_CHECK_EQ(again, -EIO);
		else if (more)
			FUZZ_CHECK(again >= 0 ? again <= num : pop_error(again));
		else
			FUZZ_CHECK_EQ(again, 0);
	}
	return 0;
}
