/*
 * ticker.c: a guest that lives until it is stopped, for the management
 * tests. Every 50 ms (the local APIC timer, periodic, with HLT between) it
 * prints "tick N", so a paused VM is seen by its output standing still. At
 * each tick it also reads whatever the keyboard controller holds and prints
 * "key 0xNN" per byte, so an injected Ctrl-Alt-Del can be checked.
 * The command line's ticks=N makes it reset itself after N ticks (0 or
 * absent: never).
 */
#include "rt.h"

#define TIMER_VECTOR 0x40
#define TICK_NS      50000000u /* KVM's APIC timer counts at 1 GHz, divide by 1 */
#define I8042_STATUS 0x64
#define I8042_DATA   0x60

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
} __attribute__((packed));

static struct idt_gate idt[TIMER_VECTOR + 1] __attribute__((aligned(16)));

static void drain_keyboard(void)
{
	for (int i = 0; i < 32 && (inb(I8042_STATUS) & 1); i++) {
		puts_("key ");
		puthex(inb(I8042_DATA));
		putc_('\n');
	}
}

void guest_main(const void *bp)
{
	uint64_t h = (uint64_t)timer_isr, limit = parse_dec(cmdline_get(bp, "ticks"));
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };

	idt[TIMER_VECTOR] = (struct idt_gate){ (uint16_t)h, 0x10, 0, 0x8e /* present, int gate */,
					       (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0 };
	__asm__ volatile("lidt %0" ::"m"(idtr));
	outb(0x21, 0xff); /* mask the 8259s: the keyboard is polled, its IRQ 1 goes nowhere */
	outb(0xa1, 0xff);
	lapic_write(0xf0, 0x1ff);                      /* SVR: APIC on, spurious vector 0xff */
	lapic_write(0x3e0, 0xb);                       /* divide by 1 */
	lapic_write(0x320, TIMER_VECTOR | (1u << 17)); /* LVT timer: periodic, unmasked */
	lapic_write(0x380, TICK_NS);
	puts_("ticker: ready\n");
	for (uint64_t n = 1; !limit || n <= limit; n++) {
		uint32_t seen = timer_ticks;

		while (timer_ticks == seen)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
		puts_("tick ");
		putdec(n);
		putc_('\n');
		drain_keyboard();
	}
	puts_("PASS ticker\n");
}
