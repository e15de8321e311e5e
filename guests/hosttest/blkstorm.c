/*
 * blkstorm.c: a hostile guest for tests/host/hostile-io.sh: it floods
 * virtio-blk (virtio-mmio, found on the kernel command line) with 256 reads
 * of 4 GiB less 4 MiB each, and keeps the queue full: every request the
 * device completes is made available again at once and notified. With
 * mode=flood on the command line it also notifies in a tight loop, whether
 * or not anything completed. It never ends by itself.
 *
 * Every request shares one indirect table: a 16-byte header (IN at sector
 * 0), 1022 device-writable buffers that are all the same 4 MiB of guest
 * RAM, and one status byte (also shared). The data length is what costs the
 * host, not the guest's memory. Runs at CPL0 on vCPU 0 only (the queueing
 * from CPL3 and a refilling second vCPU of the issue are not done here).
 */
#include "rt.h"

#define QN        256
#define SEGS      1022
#define SEG_LEN   (4u << 20)
#define F_INDIRECT (1ULL << 28)
#define F_VERSION1 (1ULL << 32)

/* virtio-mmio registers, virtio 1.2 §4.2.2. */
#define R_MAGIC   0x000
#define R_DEVID   0x008
#define R_DFSEL   0x014
#define R_DF      0x010
#define R_GF      0x020
#define R_GFSEL   0x024
#define R_QSEL    0x030
#define R_QMAX    0x034
#define R_QNUM    0x038
#define R_QREADY  0x044
#define R_NOTIFY  0x050
#define R_ISR     0x060
#define R_ACK     0x064
#define R_STATUS  0x070
#define R_QDESC   0x080
#define R_QDRV    0x090
#define R_QDEV    0x0a0

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct desc table[QN] __attribute__((aligned(4096)));
static struct desc ind[SEGS + 2] __attribute__((aligned(16)));
static volatile uint16_t avail[2 + QN + 1] __attribute__((aligned(4096)));
static volatile uint32_t used[1 + 2 * QN + 1] __attribute__((aligned(4096)));
static uint8_t hdr[16] __attribute__((aligned(16)));
static volatile uint8_t status;
static uint8_t data[SEG_LEN] __attribute__((aligned(4096)));

static uint64_t parse_hex(const char *s)
{
	uint64_t v = 0;

	for (;; s++) {
		char c = *s;

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (uint64_t)(c - 'A' + 10);
		else
			return v;
	}
}

/* Each "virtio_mmio.device=SIZE@0xBASE:IRQ" in turn: the first that is a block device. */
static uint64_t find_blk(const void *bp)
{
	const char *s = (const char *)(uint64_t)rd32(bp, BP_CMD_LINE_PTR);

	while (s && *s) {
		if (streq_prefix(s, "virtio_mmio.device=")) {
			const char *p = s;

			while (*p && *p != '@' && *p != ' ')
				p++;
			if (p[0] == '@' && p[1] == '0' && p[2] == 'x') {
				uint64_t base = parse_hex(p + 3);

				if (mmio_read32(base + R_MAGIC) == 0x74726976 &&
				    mmio_read32(base + R_DEVID) == 2)
					return base;
			}
		}
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
	}
	return 0;
}

static int setup(uint64_t b)
{
	uint64_t f;

	mmio_write32(b + R_STATUS, 0);
	mmio_write32(b + R_STATUS, 1 | 2);
	mmio_write32(b + R_DFSEL, 1);
	f = (uint64_t)mmio_read32(b + R_DF) << 32;
	mmio_write32(b + R_DFSEL, 0);
	f |= mmio_read32(b + R_DF);
	if (!(f & F_VERSION1) || !(f & F_INDIRECT))
		return -1;
	mmio_write32(b + R_GFSEL, 1);
	mmio_write32(b + R_GF, 1);
	mmio_write32(b + R_GFSEL, 0);
	mmio_write32(b + R_GF, (uint32_t)F_INDIRECT);
	mmio_write32(b + R_STATUS, 1 | 2 | 8);
	if (!(mmio_read32(b + R_STATUS) & 8))
		return -2;
	mmio_write32(b + R_QSEL, 0);
	if (mmio_read32(b + R_QMAX) < QN)
		return -3;
	mmio_write32(b + R_QNUM, QN);
	mmio_write32(b + R_QDESC, (uint32_t)(uint64_t)table);
	mmio_write32(b + R_QDESC + 4, 0);
	mmio_write32(b + R_QDRV, (uint32_t)(uint64_t)avail);
	mmio_write32(b + R_QDRV + 4, 0);
	mmio_write32(b + R_QDEV, (uint32_t)(uint64_t)used);
	mmio_write32(b + R_QDEV + 4, 0);
	mmio_write32(b + R_QREADY, 1);
	mmio_write32(b + R_STATUS, 1 | 2 | 4 | 8);
	return 0;
}

static void build(void)
{
	hdr[0] = 0; /* VIRTIO_BLK_T_IN, sector 0 */
	ind[0] = (struct desc){ (uint64_t)hdr, 16, 1, 1 };
	for (unsigned i = 1; i <= SEGS; i++)
		ind[i] = (struct desc){ (uint64_t)data, SEG_LEN, 1 | 2, (uint16_t)(i + 1) };
	ind[SEGS + 1] = (struct desc){ (uint64_t)&status, 1, 2, 0 };
	for (unsigned i = 0; i < QN; i++) {
		table[i] = (struct desc){ (uint64_t)ind, sizeof(ind), 4, 0 };
		avail[2 + i] = (uint16_t)i;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail[1] = QN;
}

void guest_main(const void *bp)
{
	const char *mode = cmdline_get(bp, "mode");
	int flood = mode && streq_prefix(mode, "flood");
	uint64_t b = find_blk(bp);
	uint16_t seen = 0, idx = QN;
	int ret;

	if (!b) {
		puts_("FAIL blkstorm: no virtio-blk on the command line\n");
		return;
	}
	ret = setup(b);
	if (ret) {
		puts_("FAIL blkstorm: device setup ");
		putdec((uint64_t)-ret);
		puts_("\n");
		return;
	}
	build();
	mmio_write32(b + R_NOTIFY, 0);
	puts_("blkstorm: ready, 256 requests of 4088 MiB queued\n");
	for (;;) {
		uint16_t u = (uint16_t)__atomic_load_n((volatile uint16_t *)used + 1, __ATOMIC_ACQUIRE);

		while (seen != u) { /* refill: what completed goes straight back */
			uint32_t id = used[1 + 2 * (seen % QN)];

			avail[2 + idx % QN] = (uint16_t)(id % QN);
			idx++;
			seen++;
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (avail[1] != idx || flood) {
			avail[1] = idx;
			mmio_write32(b + R_NOTIFY, 0);
		}
		if (mmio_read32(b + R_ISR))
			mmio_write32(b + R_ACK, 3);
		__asm__ volatile("pause");
	}
}
