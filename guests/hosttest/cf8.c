/*
 * cf8.c: configuration mechanism #1 and the CMOS index stay in order when
 * the accelerator buffers their address writes (accel.h's coalesce_pio):
 * every CF8 write is followed by a CFC access whose answer depends on it.
 * - ROUNDS config reads cycling through three addresses whose answers
 *   differ (the host bridge's ids at 00:00.0, the rng's at its slot, all
 *   ones at the empty 00:1f.0), dword and word-wide (CFC+2: the device id);
 * - byte writes to 0xCF8/0xCF9 between the dword write and the read, which
 *   the latch ignores (dword only): the read still sees the dword's address;
 * - a config write (the rng's command register) read back;
 * - CMOS: two NVRAM bytes written through 0x70/0x71, read back crossed,
 *   with and without bit 7 (the NMI mask) in the index, and 0x70 read back.
 * Run with --transport pci. Prints what it did ("cf8 writes N data N cmos
 * index N") for the host test to compare with --stats, then PASS or FAIL.
 */
#include "rt.h"

#define CF8 0xcf8
#define CFC 0xcfc
#define ROUNDS 600

#define VIRTIO_RNG_IDS 0x10441af4u
#define HOST_IDS 0x29c08086u

static uint64_t cf8_writes, data_accesses, cmos_index;
static int fails;

static inline uint16_t inw_(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void fail(const char *why, uint64_t at)
{
	if (fails++ < 5) {
		puts_("FAIL cf8: ");
		puts_(why);
		puts_(" at ");
		putdec(at);
		putc_('\n');
	}
}

static void latch(unsigned slot, unsigned reg)
{
	outl(CF8, 0x80000000u | slot << 11 | (reg & 0xfc));
	cf8_writes++;
}

static uint32_t cfg_read(unsigned slot, unsigned reg)
{
	latch(slot, reg);
	data_accesses++;
	return inl(CFC);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	outb(0x70, idx);
	outb(0x71, v);
	cmos_index++;
}

static uint8_t cmos_read(uint8_t idx)
{
	outb(0x70, idx);
	cmos_index++;
	return inb(0x71);
}

void guest_main(const void *bp)
{
	static const unsigned empty = 31;
	unsigned rng = 0;

	(void)bp;
	for (unsigned s = 1; s < 31 && !rng; s++)
		if (cfg_read(s, 0) == VIRTIO_RNG_IDS)
			rng = s;
	if (!rng) {
		puts_("FAIL cf8: no virtio-rng function (run with --transport pci)\n");
		return;
	}
	for (unsigned i = 0; i < ROUNDS; i++) {
		unsigned slot = i % 3 == 0 ? 0 : i % 3 == 1 ? rng : empty;
		uint32_t want = slot == 0 ? HOST_IDS : slot == rng ? VIRTIO_RNG_IDS : 0xffffffffu;
		uint32_t got;

		if (i % 4 == 3) { /* the device id alone, through the data window's upper half */
			latch(slot, 0);
			data_accesses++;
			got = inw_(CFC + 2);
			want >>= 16;
		} else if (i % 4 == 2) { /* byte writes the latch ignores, between write and read */
			latch(slot, 0);
			outb(CF8, 0x12);
			outb(CF8 + 1, 0x06); /* 0xCF9: a PC's reset control, not a register here */
			cf8_writes += 2;
			data_accesses++;
			got = inl(CFC);
		} else {
			got = cfg_read(slot, 0);
		}
		if (got != want)
			fail("config read answered for another address", i);
	}
	/* A config write, then reads of two other addresses, then it read back. */
	latch(rng, 0x04);
	data_accesses++;
	outl(CFC, 0x0002 | 0x0400);
	if (cfg_read(0, 0) != HOST_IDS || cfg_read(empty, 0) != 0xffffffffu ||
	    (cfg_read(rng, 0x04) & 0xffff) != (0x0002 | 0x0400))
		fail("command register write lost or misplaced", 0);

	cmos_write(0x40, 0xa5);
	cmos_write(0x80 | 0x41, 0x5a); /* NMI mask bit set: the same register */
	if (cmos_read(0x40) != 0xa5 || cmos_read(0x41) != 0x5a || cmos_read(0x80 | 0x40) != 0xa5)
		fail("CMOS byte read through the wrong index", 0);
	outb(0x70, 0x41);
	cmos_index++;
	if (inb(0x70) != 0x41)
		fail("port 0x70 does not read back the index", 0);

	puts_("cf8 writes ");
	putdec(cf8_writes);
	puts_(" data ");
	putdec(data_accesses);
	puts_(" cmos index ");
	putdec(cmos_index);
	putc_('\n');
	if (!fails)
		puts_("PASS cf8\n");
}
