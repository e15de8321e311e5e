/*
 * genid.c: a guest that shows what a restore tells it, for
 * tests/host/genid.sh. It turns kvmclock on (MSR_KVM_SYSTEM_TIME_NEW) and
 * every 100 ms of kvmclock time prints
 *     genid <32 hex digits> gpe <GPE0 status byte> ms <kvmclock ms>
 * reading the 16-byte VM generation ID at PC_VMGENID_ADDR (the page the
 * DSDT's \_SB.VGEN.ADDR names) and the GPE0 status register of the ACPI PM
 * block (PC_ACPI_PM_BASE + ACPI_GPE0_STS), whose bit 0 a restore sets. It
 * never enables the GPE (no ACPI OS here), so no SCI is taken; the unit
 * tests cover the SCI. Single vCPU, forever.
 */
#include "rt.h"

#define VMGENID_ADDR     0xef000UL /* pc_layout.h PC_VMGENID_ADDR */
#define GPE0_STS_PORT    0x60c     /* PC_ACPI_PM_BASE + ACPI_GPE0_STS */
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

/* struct pvclock_vcpu_time_info (Documentation/virt/kvm/x86/msr.rst). */
struct pvti {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

static volatile struct pvti pv __attribute__((section(".data"), aligned(64))) = { .pad0 = 0 };

static inline void wrmsr_(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdtsc_(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* kvmclock now, in ns: system_time + the scaled TSC delta, read under the version. */
static uint64_t kvmclock_ns(void)
{
	uint32_t v;
	uint64_t t, d;

	do {
		v = pv.version;
		__asm__ volatile("" ::: "memory");
		d = rdtsc_() - pv.tsc_timestamp;
		if (pv.tsc_shift >= 0)
			d <<= pv.tsc_shift;
		else
			d >>= -pv.tsc_shift;
		t = pv.system_time + (uint64_t)(((unsigned __int128)d * pv.tsc_to_system_mul) >> 32);
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != pv.version);
	return t;
}

static void put2hex(uint8_t b)
{
	static const char d[] = "0123456789abcdef";

	putc_(d[b >> 4]);
	putc_(d[b & 0xf]);
}

void guest_main(const void *bp)
{
	(void)bp;
	wrmsr_(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&pv | 1);
	puts_("genid: start\n");
	for (;;) {
		uint64_t t = kvmclock_ns();

		puts_("genid ");
		for (unsigned i = 0; i < 16; i++)
			put2hex(mmio_read8(VMGENID_ADDR + i));
		puts_(" gpe ");
		putdec(inb(GPE0_STS_PORT));
		puts_(" ms ");
		putdec(t / 1000000);
		putc_('\n');
		while (kvmclock_ns() - t < 100000000ULL)
			__asm__ volatile("pause");
	}
}
