/*
 * pci.c: the PCI host bridge and a virtio-pci device, as a guest driver
 * finds them (run with --transport pci: virtio-rng is the only device).
 * - mechanism #1 (0xCF8/0xCFC): the host bridge at 00:00.0 (8086:29c0,
 *   class 06/00), the rng at 00:01.0 (1af4:1044), nothing at 00:1f.0,
 *   and ECAM at 0xe0000000 reading the same ids;
 * - BAR 4 sizing: all ones written, the size mask read back as a 64-bit
 *   memory BAR, the address restored;
 * - the capability list: the five virtio capabilities (common, notify,
 *   ISR, device, PCI cfg) and MSI-X with one vector per queue plus config;
 * - a real request: features (VERSION_1), queue 0 at 8 entries, DRIVER_OK,
 *   a 16-byte buffer, the notify doorbell, and the used ring polled (no
 *   interrupt: MSI-X stays disabled, INTx is masked by the command register).
 * Prints "PASS pci" or "FAIL pci: ..." and the device/bar lines the host
 * test also checks.
 */
#include "rt.h"

#define CF8 0xcf8
#define CFC 0xcfc
#define ECAM 0xe0000000UL

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_RNG_ID 0x1044

/* virtio 1.2 §4.1.4.3: the common configuration structure. */
#define CC_DFSEL   0x00
#define CC_DF      0x04
#define CC_GFSEL   0x08
#define CC_GF      0x0c
#define CC_NUMQ    0x12
#define CC_STATUS  0x14
#define CC_QSEL    0x16
#define CC_QSIZE   0x18
#define CC_QENABLE 0x1c
#define CC_QNOFF   0x1e
#define CC_QDESC   0x20
#define CC_QDRIVER 0x28
#define CC_QDEVICE 0x30

static uint32_t cfg_read(unsigned slot, unsigned off)
{
	outl(CF8, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(CFC);
}

static void cfg_write(unsigned slot, unsigned off, uint32_t v)
{
	outl(CF8, 0x80000000u | slot << 11 | (off & 0xfc));
	outl(CFC, v);
}

static int fails;

static void fail(const char *why)
{
	puts_("FAIL pci: ");
	puts_(why);
	putc_('\n');
	fails++;
}

struct vcap {
	unsigned bar;
	uint32_t off, mult;
};

/* The split virtqueue of §2.7, 8 entries, identity-mapped guest memory. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
static struct desc ring_desc[8] __attribute__((aligned(16)));
static volatile uint16_t ring_avail[2 + 8 + 1] __attribute__((aligned(2)));
static volatile uint32_t ring_used[1 + 2 * 8 + 1] __attribute__((aligned(4)));
static volatile uint8_t buf[16];

static void find_caps(unsigned slot, struct vcap *vc, unsigned *msix_n)
{
	unsigned p = cfg_read(slot, 0x34) & 0xfc, guard = 0;

	while (p && guard++ < 48) {
		uint32_t w0 = cfg_read(slot, p);
		unsigned id = w0 & 0xff, next = (w0 >> 8) & 0xfc;

		if (id == 0x09) { /* vendor: struct virtio_pci_cap, §4.1.4 */
			unsigned type = (w0 >> 24) & 0xff;

			if (type >= 1 && type <= 5) {
				vc[type].bar = cfg_read(slot, p + 4) & 0xff;
				vc[type].off = cfg_read(slot, p + 8);
				if (type == 2)
					vc[type].mult = cfg_read(slot, p + 16);
				vc[type].mult |= 0x80000000u; /* found */
			}
		} else if (id == 0x11) {
			*msix_n = ((w0 >> 16) & 0x7ff) + 1;
		}
		p = next;
	}
}

static void request(uint64_t common, uint64_t notify, uint32_t mult)
{
	uint16_t qsize, noff;

	mmio_write8(common + CC_STATUS, 0);
	mmio_write8(common + CC_STATUS, 1 | 2); /* ACKNOWLEDGE | DRIVER */
	mmio_write32(common + CC_DFSEL, 1);
	if (!(mmio_read32(common + CC_DF) & 1))
		fail("VERSION_1 not offered");
	mmio_write32(common + CC_GFSEL, 1);
	mmio_write32(common + CC_GF, 1); /* VERSION_1 only */
	mmio_write32(common + CC_GFSEL, 0);
	mmio_write32(common + CC_GF, 0);
	mmio_write8(common + CC_STATUS, 1 | 2 | 8);
	if (!(mmio_read8(common + CC_STATUS) & 8))
		fail("FEATURES_OK refused");
	if (mmio_read16(common + CC_NUMQ) != 1)
		fail("rng has not exactly one queue");
	mmio_write16(common + CC_QSEL, 0);
	qsize = mmio_read16(common + CC_QSIZE);
	if (qsize < 8)
		fail("queue 0 smaller than 8");
	mmio_write16(common + CC_QSIZE, 8);
	mmio_write32(common + CC_QDESC, (uint32_t)(uint64_t)ring_desc);
	mmio_write32(common + CC_QDESC + 4, 0);
	mmio_write32(common + CC_QDRIVER, (uint32_t)(uint64_t)ring_avail);
	mmio_write32(common + CC_QDRIVER + 4, 0);
	mmio_write32(common + CC_QDEVICE, (uint32_t)(uint64_t)ring_used);
	mmio_write32(common + CC_QDEVICE + 4, 0);
	noff = mmio_read16(common + CC_QNOFF);
	mmio_write16(common + CC_QENABLE, 1);
	mmio_write8(common + CC_STATUS, 1 | 2 | 8 | 4); /* DRIVER_OK */

	ring_desc[0].addr = (uint64_t)buf;
	ring_desc[0].len = sizeof(buf);
	ring_desc[0].flags = 2; /* VIRTQ_DESC_F_WRITE */
	ring_avail[2] = 0;      /* ring[0] = descriptor 0 */
	__asm__ volatile("mfence" ::: "memory");
	ring_avail[1] = 1;      /* idx */
	__asm__ volatile("mfence" ::: "memory");
	mmio_write16(notify + (uint64_t)noff * mult, 0);
	for (int i = 0; i < 200000 && ((volatile uint16_t *)ring_used)[1] == 0; i++)
		__asm__ volatile("pause");
	if (((volatile uint16_t *)ring_used)[1] != 1) {
		fail("the used ring did not advance after the notify");
		return;
	}
	if (ring_used[1] != 0 || ring_used[2] != sizeof(buf))
		fail("used element is not (0, 16)");
	puts_("rng bytes ");
	for (unsigned i = 0; i < 4; i++)
		puthex(buf[i]);
	putc_('\n');
}

void guest_main(const void *bp)
{
	struct vcap vc[6] = { 0 };
	unsigned rng = 0, msix_n = 0;
	uint32_t lo, hi, size_lo, size_hi;
	uint64_t bar4;

	(void)bp;
	if (cfg_read(0, 0) != 0x29c08086u || (cfg_read(0, 8) >> 16) != 0x0600)
		fail("no host bridge at 00:00.0");
	for (unsigned s = 1; s < 32; s++)
		if (cfg_read(s, 0) == ((uint32_t)VIRTIO_RNG_ID << 16 | VIRTIO_VENDOR))
			rng = s;
	if (!rng) {
		fail("no virtio-rng function");
		return;
	}
	if (cfg_read(31, 0) != 0xffffffffu)
		fail("an empty slot does not read all ones");
	if (mmio_read32(ECAM + ((uint64_t)rng << 15)) != cfg_read(rng, 0))
		fail("ECAM and mechanism #1 disagree");
	puts_("device slot ");
	putdec(rng);
	putc_('\n');

	/* BAR 4/5: a 64-bit memory BAR; size it the way Linux does (decode off). */
	lo = cfg_read(rng, 0x20);
	hi = cfg_read(rng, 0x24);
	if ((lo & 0x7) != 0x4)
		fail("BAR 4 is not a 64-bit memory BAR");
	cfg_write(rng, 0x20, 0xffffffffu);
	cfg_write(rng, 0x24, 0xffffffffu);
	size_lo = cfg_read(rng, 0x20) & ~0xfu;
	size_hi = cfg_read(rng, 0x24);
	cfg_write(rng, 0x20, lo);
	cfg_write(rng, 0x24, hi);
	if (size_hi != 0xffffffffu || !size_lo || (size_lo & (~size_lo + 1)) != (~size_lo + 1))
		fail("BAR 4 size mask is not a power of two");
	bar4 = (uint64_t)hi << 32 | (lo & ~0xfu);
	puts_("bar4 ");
	puthex(bar4);
	puts_(" size ");
	puthex(~size_lo + 1);
	putc_('\n');

	find_caps(rng, vc, &msix_n);
	for (unsigned t = 1; t <= 5; t++)
		if (!(vc[t].mult & 0x80000000u))
			fail("a virtio capability is missing");
	if (msix_n != 2)
		fail("MSI-X does not have queues + 1 = 2 vectors");
	if (vc[1].bar != 4 || vc[2].bar != 4)
		fail("common/notify not in BAR 4");

	cfg_write(rng, 0x04, 0x0002 | 0x0004 | 0x0400); /* memory, master, INTx off */
	request(bar4 + vc[1].off, bar4 + vc[2].off, vc[2].mult & 0x7fffffffu);
	if (!fails)
		puts_("PASS pci\n");
}
