/*
 * flood.c: a hostile guest for tests/host/hostile-guest.sh: it prints to
 * COM1 as fast as it can, from CPL3, so that vmon's console, serial log and
 * stop paths are tried under a guest that never lets up.
 *
 * At CPL0 (emulated instruction by instruction on PVM hosts: kept short) it
 * optionally starts the other vCPUs (ap=1 on the kernel command line) into a
 * real-mode loop that does port output forever (to apport=, default 0x80,
 * vmon's POST port; 1016 is COM1), builds page tables with the user bit for
 * its first 16 MiB, a GDT with 64-bit user segments and a TSS whose I/O
 * permission bitmap allows every port (PVM drops IOPL=3), then IRETs to
 * CPL3. There it prints "flood N <text>" lines in a tight loop: forever, or
 * lines=N of them followed by "PASS flood" and a reset (port 0x64).
 */
#include "rt.h"

#define TRAMP  0x10000UL
#define ICR_LO 0x300
#define ICR_HI 0x310

#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_PS 0x80ULL

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23 /* 0x20 | RPL 3 */
#define SEL_TSS   0x28

/* The APs' loop, copied to TRAMP: real mode, CS = TRAMP >> 4. The port is patched in. */
__asm__(".section .rodata\n"
	".code16\n"
	".globl flood_ap_start, flood_ap_end, flood_ap_port_off\n"
	"flood_ap_start:\n"
	"	cli\n"
	"	mov %cs, %ax\n"
	"	mov %ax, %ds\n"
	"	mov (flood_ap_port - flood_ap_start), %dx\n"
	"	mov $0x2e, %al\n"
	"1:	out %al, %dx\n"
	"	jmp 1b\n"
	"	.balign 2\n"
	"flood_ap_port: .word 0x80\n"
	"flood_ap_end:\n"
	".code64\n"
	"	.balign 4\n"
	"flood_ap_port_off: .long flood_ap_port - flood_ap_start\n"
	".text\n");
extern const uint8_t flood_ap_start[], flood_ap_end[];
extern const uint32_t flood_ap_port_off;

struct tss64 {
	uint32_t rsv0;
	uint64_t rsp[3];
	uint64_t rsv1;
	uint64_t ist[7];
	uint64_t rsv2;
	uint16_t rsv3;
	uint16_t iomap_base;
	uint8_t iomap[8192]; /* one bit per port; 0 = allowed */
	uint8_t iomap_end;   /* the CPU reads one byte past the map: must be all ones */
} __attribute__((packed));

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd0[512] __attribute__((aligned(4096)));
static uint64_t gdt[7] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[4096] __attribute__((aligned(16)));
static uint8_t ustack[16384] __attribute__((aligned(16)));
static uint64_t nlines; /* 0: forever */

/* One line, "flood N <text>\n", with a single REP OUTSB (one exit per line, not per byte). */
static void put_line(uint64_t n)
{
	static const char text[] = " the quick brown fox jumps over the lazy dog\n";
	char buf[96], digits[21];
	unsigned len = 0, d = 0;

	for (const char *s = "flood "; *s; s++)
		buf[len++] = *s;
	do {
		digits[d++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	while (d)
		buf[len++] = digits[--d];
	for (unsigned i = 0; i < sizeof(text) - 1; i++)
		buf[len++] = text[i];
	const char *p = buf;
	uint64_t cnt = len;

	__asm__ volatile("rep outsb" : "+S"(p), "+c"(cnt) : "d"((uint16_t)COM1) : "memory");
}

__attribute__((noreturn)) static void user_main(void)
{
	for (uint64_t n = 1; !nlines || n <= nlines; n++)
		put_line(n);
	puts_("PASS flood\n");
	outb(0x64, 0xfe); /* i8042 reset pulse: the end of the VM */
	for (;;)
		__asm__ volatile("pause");
}

/* INIT-SIPI-SIPI to every other CPU, into the port loop. Uses the boot page tables. */
static void start_aps(uint16_t port)
{
	unsigned len = (unsigned)(flood_ap_end - flood_ap_start);

	for (unsigned i = 0; i < len; i++)
		((volatile uint8_t *)TRAMP)[i] = flood_ap_start[i];
	*(volatile uint16_t *)(TRAMP + flood_ap_port_off) = port;
	lapic_write(0xf0, 0x1ff);
	lapic_write(ICR_HI, 0);
	lapic_write(ICR_LO, 0x000c4500);                  /* INIT, all but self */
	lapic_write(ICR_LO, 0x000c4600 | (TRAMP >> 12));  /* SIPI, vector = page */
	lapic_write(ICR_LO, 0x000c4600 | (TRAMP >> 12));
}

static void setup_paging(void)
{
	for (uint64_t i = 0; i < 8; i++) /* 16 MiB: the image, its stacks and tables */
		pd0[i] = (i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
	pdpt[0] = (uint64_t)pd0 | PTE_P | PTE_RW | PTE_US;
	pml4[0] = (uint64_t)pdpt | PTE_P | PTE_RW | PTE_US;
	__asm__ volatile("mov %0, %%cr3" ::"r"((uint64_t)pml4) : "memory");
}

static void setup_segments(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof(gdt) - 1, (uint64_t)gdt };

	gdt[1] = 0x00af9a000000ffffULL; /* kernel code, 64-bit */
	gdt[2] = 0x00cf92000000ffffULL; /* kernel data */
	gdt[3] = 0x00cff2000000ffffULL; /* user data, DPL 3 */
	gdt[4] = 0x00affa000000ffffULL; /* user code, 64-bit, DPL 3 */
	gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[6] = base >> 32;
	tss.rsp[0] = (uint64_t)(kstack + sizeof(kstack));
	tss.iomap_base = (uint16_t)__builtin_offsetof(struct tss64, iomap);
	tss.iomap_end = 0xff;
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(SEL_KCODE), "r"(SEL_KDATA), "r"(SEL_TSS)
			 : "rax", "memory");
}

void guest_main(const void *bp)
{
	const char *ap = cmdline_get(bp, "ap"), *port = cmdline_get(bp, "apport");

	nlines = parse_dec(cmdline_get(bp, "lines"));
	puts_("flood: ready\n");
	if (ap && *ap == '1')
		start_aps(port ? (uint16_t)parse_dec(port) : 0x80);
	setup_paging();
	setup_segments();
	__asm__ volatile("pushq %0\n\t" /* SS */
			 "pushq %1\n\t" /* RSP */
			 "pushq $0x2\n\t" /* RFLAGS: IF=0, IOPL=0 */
			 "pushq %2\n\t" /* CS */
			 "pushq %3\n\t" /* RIP */
			 "iretq"
			 :
			 : "i"(SEL_UDATA), "r"((uint64_t)(ustack + sizeof(ustack))), "i"(SEL_UCODE),
			   "r"((uint64_t)user_main)
			 : "memory");
	__builtin_unreachable();
}
