/*
 * hlt.c: HLT with the in-kernel irqchip. The guest arms the local APIC
 * timer (one-shot, vector 0x40), executes STI; HLT and must be woken by the
 * timer interrupt. KVM handles the HLT itself (no exit to vmon), which the
 * host test checks in --stats.
 */
#include "rt.h"

#define TIMER_VECTOR 0x40

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
} __attribute__((packed));

static struct idt_gate idt[TIMER_VECTOR + 1] __attribute__((aligned(16)));

void guest_main(const void *bp)
{
	uint64_t h = (uint64_t)timer_isr;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };

	(void)bp;
	idt[TIMER_VECTOR] = (struct idt_gate){ (uint16_t)h, 0x10, 0, 0x8e /* present, int gate */,
					       (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0 };
	__asm__ volatile("lidt %0" ::"m"(idtr));
	lapic_write(0xf0, 0x1ff);          /* SVR: APIC on, spurious vector 0xff */
	lapic_write(0x3e0, 0xb);           /* divide by 1 */
	lapic_write(0x320, TIMER_VECTOR);  /* LVT timer: one-shot, unmasked */
	lapic_write(0x380, 100000);        /* initial count */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	if (timer_ticks == 1)
		puts_("PASS hlt\n");
	else
		puts_("FAIL hlt: not woken by exactly one timer interrupt\n");
}
