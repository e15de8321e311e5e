/*
 * exitcost.c: the guest of bench/exitcost (the exit-cost benchmark of `make bench`); in
 * `make test` it only has to end cleanly.
 *
 * At CPL0 (emulated instruction by instruction on PVM hosts: kept short) it builds its own
 * page tables with the user bit (the first 16 MiB and 4 MiB at 0xd0000000), a GDT with 64-bit
 * user segments and a TSS whose I/O permission bitmap allows every port (PVM drops IOPL=3,
 * so CPL3 port I/O needs the bitmap), then IRETs to CPL3. At CPL3 (native) it times with
 * RDTSC, after a warm-up, n= (kernel command line, default 20000) exits of each kind:
 *   pio    OUT to port 0x80 (vmon's POST device: a bus lookup and a no-op handler)
 *   mmio   32-bit read of 0xd0000000 (virtio-rng0's MagicValue: a bus lookup, the transport)
 *   ioevt  32-bit write to 0xd0100000, where bench/exitcost registers a KVM ioeventfd
 *          (without one it is an unclaimed MMIO exit)
 * prints `EXITCOST cpl=3 n=N pio_cycles=C mmio_cycles=C ioevt_cycles=C` and resets through
 * the i8042 (port 0x64), still at CPL3.
 */
#include "rt.h"

#define PIO_PORT   0x80
#define MMIO_ADDR  0xd0000000UL
#define IOEVT_ADDR 0xd0100000UL
#define WARMUP     200

#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_PS 0x80ULL

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23 /* 0x20 | RPL 3 */
#define SEL_TSS   0x28

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
static uint64_t pd3[512] __attribute__((aligned(4096)));
static uint64_t pt_mmio[512] __attribute__((aligned(4096)));
static uint64_t gdt[7] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[4096] __attribute__((aligned(16)));
static uint8_t ustack[16384] __attribute__((aligned(16)));
static uint64_t nexits = 20000;

static inline uint64_t rdtsc_(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t time_pio(uint64_t n)
{
	uint64_t t0 = rdtsc_();

	for (uint64_t i = 0; i < n; i++)
		outb(PIO_PORT, (uint8_t)i);
	return rdtsc_() - t0;
}

static uint64_t time_mmio(uint64_t n)
{
	uint64_t t0 = rdtsc_();

	for (uint64_t i = 0; i < n; i++)
		(void)mmio_read32(MMIO_ADDR);
	return rdtsc_() - t0;
}

static uint64_t time_ioevt(uint64_t n)
{
	uint64_t t0 = rdtsc_();

	for (uint64_t i = 0; i < n; i++)
		mmio_write32(IOEVT_ADDR, (uint32_t)i);
	return rdtsc_() - t0;
}

__attribute__((noreturn)) static void user_main(void)
{
	uint64_t pio, mmio, ioevt;

	time_pio(WARMUP);
	time_mmio(WARMUP);
	time_ioevt(WARMUP);
	pio = time_pio(nexits);
	mmio = time_mmio(nexits);
	ioevt = time_ioevt(nexits);
	puts_("EXITCOST cpl=3 n=");
	putdec(nexits);
	puts_(" pio_cycles=");
	putdec(pio);
	puts_(" mmio_cycles=");
	putdec(mmio);
	puts_(" ioevt_cycles=");
	putdec(ioevt);
	puts_("\nPASS exitcost\n");
	outb(0x64, 0xfe); /* i8042 reset pulse: the end of the VM */
	for (;;)
		__asm__ volatile("pause");
}

static void setup_paging(void)
{
	for (uint64_t i = 0; i < 8; i++) /* 16 MiB: the image, its stacks and tables */
		pd0[i] = (i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
	/* 4 KiB pages for the device addresses (both in the 2 MiB at MMIO_ADDR) */
	pt_mmio[(MMIO_ADDR >> 12) & 511] = MMIO_ADDR | PTE_P | PTE_RW | PTE_US;
	pt_mmio[(IOEVT_ADDR >> 12) & 511] = IOEVT_ADDR | PTE_P | PTE_RW | PTE_US;
	pd3[(MMIO_ADDR >> 21) & 511] = (uint64_t)pt_mmio | PTE_P | PTE_RW | PTE_US;
	pdpt[0] = (uint64_t)pd0 | PTE_P | PTE_RW | PTE_US;
	pdpt[3] = (uint64_t)pd3 | PTE_P | PTE_RW | PTE_US;
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
	const char *n = cmdline_get(bp, "n");

	if (n && parse_dec(n) > 0)
		nexits = parse_dec(n);
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
