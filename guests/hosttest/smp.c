/*
 * smp.c: multiple vCPUs start. The boot CPU finds vmon's MP table (Intel MP
 * spec 1.4: floating pointer in the BIOS area 0xf0000-0xfffff), checks both
 * checksums, counts enabled processors, then starts the others with
 * INIT-SIPI-SIPI into a real-mode trampoline at 0x10000. Each AP records
 * its APIC ID; all must check in.
 */
#include "rt.h"

#define TRAMP 0x10000UL
#define ICR_LO 0x300
#define ICR_HI 0x310

static uint8_t sum8(const uint8_t *p, unsigned n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static int mp_count_cpus(void)
{
	for (uint64_t a = 0xf0000; a < 0x100000; a += 16) {
		const uint8_t *f = (const uint8_t *)a, *c, *e;
		unsigned n, cpus = 0;

		if (f[0] != '_' || f[1] != 'M' || f[2] != 'P' || f[3] != '_')
			continue;
		if (sum8(f, 16) != 0)
			return -1;
		c = (const uint8_t *)(uint64_t)rd32(f, 4);
		if (c[0] != 'P' || c[1] != 'C' || c[2] != 'M' || c[3] != 'P')
			return -2;
		if (sum8(c, (unsigned)(c[4] | c[5] << 8)) != 0)
			return -3;
		n = (unsigned)(c[34] | c[35] << 8);
		e = c + 44;
		for (unsigned i = 0; i < n; i++) {
			if (e[0] == 0) {
				cpus += e[3] & 1;
				e += 20;
			} else {
				e += 8;
			}
		}
		return (int)cpus;
	}
	return -4;
}

void guest_main(const void *bp)
{
	int cpus = mp_count_cpus();
	volatile uint32_t *count, *bitmap;
	unsigned len = (unsigned)(ap_tramp_end - ap_tramp_start), spins = 0;

	(void)bp;
	if (cpus < 1) {
		puts_("FAIL smp: MP table missing or bad checksum\n");
		return;
	}
	for (unsigned i = 0; i < len; i++)
		((volatile uint8_t *)TRAMP)[i] = ap_tramp_start[i];
	count = (volatile uint32_t *)(TRAMP + ap_tramp_count_off);
	bitmap = (volatile uint32_t *)(TRAMP + ap_tramp_bitmap_off);

	lapic_write(0xf0, 0x1ff);
	lapic_write(ICR_HI, 0);
	lapic_write(ICR_LO, 0x000c4500);                  /* INIT, all but self */
	lapic_write(ICR_LO, 0x000c4600 | (TRAMP >> 12));  /* SIPI, vector = page */
	lapic_write(ICR_LO, 0x000c4600 | (TRAMP >> 12));
	while (*count < (uint32_t)(cpus - 1) && spins < 2000000)
		spins++;
	puts_("smp: mp table cpus=");
	putdec((uint64_t)cpus);
	puts_(" aps started=");
	putdec(*count);
	puts_("\n");
	for (int i = 1; i < cpus; i++) {
		if (!(bitmap[i / 32] & (1u << (i % 32)))) {
			puts_("FAIL smp: an AP did not check in\n");
			return;
		}
	}
	if (*count != (uint32_t)(cpus - 1) || (bitmap[0] & 1)) {
		puts_("FAIL smp: wrong number of APs\n");
		return;
	}
	puts_("PASS smp cpus=");
	putdec((uint64_t)cpus);
	puts_("\n");
}
