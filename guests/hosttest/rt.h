/*
 * rt.h: the tiny runtime of vmon's host-test guests: port I/O, MMIO,
 * serial output, boot_params access and the local APIC. Everything here
 * runs at CPL0 where PVM emulates each instruction (~1 us), so keep loops
 * short. Each guest prints a line "PASS <name>" or "FAIL <name>: why";
 * the host test asserts on those lines and on vmon's exit status.
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdint.h>

#define COM1       0x3f8
#define LAPIC_BASE 0xfee00000UL

/* struct boot_params offsets (Linux Documentation/x86/zero-page.rst). */
#define BP_E820_ENTRIES 0x1e8
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE   0x2d0

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint8_t mmio_read8(uint64_t addr) { return *(volatile uint8_t *)addr; }
static inline void mmio_write8(uint64_t addr, uint8_t v) { *(volatile uint8_t *)addr = v; }
static inline uint16_t mmio_read16(uint64_t addr) { return *(volatile uint16_t *)addr; }
static inline void mmio_write16(uint64_t addr, uint16_t v) { *(volatile uint16_t *)addr = v; }
static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }

static inline void putc_(char c) { outb(COM1, (uint8_t)c); }
static inline void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}
static inline void puthex(uint64_t v)
{
	static const char d[] = "0123456789abcdef";
	char buf[19];
	int i = 18;

	buf[i] = 0;
	do {
		buf[--i] = d[v & 0xf];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	puts_(buf + i);
}
static inline void putdec(uint64_t v)
{
	char buf[21];
	int i = 20;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_(buf + i);
}

static inline uint8_t rd8(const void *bp, unsigned off) { return *((const volatile uint8_t *)bp + off); }
static inline uint32_t rd32(const void *bp, unsigned off) { return *(const volatile uint32_t *)((const uint8_t *)bp + off); }
static inline uint64_t rd64(const void *bp, unsigned off) { return *(const volatile uint64_t *)((const uint8_t *)bp + off); }

static inline void lapic_write(unsigned reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline uint32_t lapic_read(unsigned reg) { return mmio_read32(LAPIC_BASE + reg); }

static inline int streq_prefix(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

/* Find "key=" in the kernel command line; returns the value or 0. */
static inline const char *cmdline_get(const void *bp, const char *key)
{
	const char *s = (const char *)(uint64_t)rd32(bp, BP_CMD_LINE_PTR);

	while (s && *s) {
		if (streq_prefix(s, key)) {
			const char *k = key;

			while (*k) {
				k++;
				s++;
			}
			if (*s == '=')
				return s + 1;
		}
		while (*s && *s != ' ')
			s++;
		while (*s == ' ')
			s++;
	}
	return 0;
}

static inline uint64_t parse_dec(const char *s)
{
	uint64_t v = 0;

	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

extern volatile uint32_t timer_ticks;
void timer_isr(void);
extern const uint8_t ap_tramp_start[], ap_tramp_end[];
extern const uint32_t ap_tramp_count_off, ap_tramp_bitmap_off;

void guest_main(const void *boot_params);

#endif
