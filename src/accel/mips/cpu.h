/*
 * accel/mips/cpu.h: a MIPS32r2 little-endian CPU (a 24Kc without FPU) as
 * an interpreter: the integer ISA, CP0 with the Count/Compare timer, a
 * 16-entry R4K-style TLB. Guest RAM is one region at physical 0; every
 * other physical address is MMIO and stops the run (struct mips_mmio).
 *
 * Owns: the architectural state and its per-page host-pointer caches.
 * Does not own threads, waiting or devices (accel/mips/accel.c does).
 *
 * Threads: one CPU is run by one thread at a time; nothing here is atomic.
 */
#ifndef VMON_MIPS_CPU_H
#define VMON_MIPS_CPU_H

#include <stdint.h>

#define MIPS_TLB_ENTRIES 16
#define MIPS_TC_SIZE     1024 /* host-pointer cache entries per mode and access */

/* CP0 values of a 24Kc (what QEMU presents, see /work/shared/MIPS32.md). */
#define MIPS_PRID    0x00019300u
#define MIPS_CONFIG0 0x80000482u
#define MIPS_CONFIG1 0x9e190c8eu
#define MIPS_CONFIG2 0x80000000u
#define MIPS_CONFIG3 0x00000000u
#define MIPS_INTCTL  0xe0000000u /* IPTI = IPPCI = 7: the timer is IP7 */

/* Count ticks every MIPS_NS_PER_TICK ns of host time (100 MHz; CPU clock 200 MHz). */
#define MIPS_NS_PER_TICK 10u
#define MIPS_CPU_HZ      200000000u

/* Status and Cause bits. */
#define ST_IE  0x1u
#define ST_EXL 0x2u
#define ST_ERL 0x4u
#define ST_KSU 0x18u
#define ST_IM  0xff00u
#define ST_BEV 0x400000u
#define CA_BD  0x80000000u
#define CA_TI  0x40000000u
#define CA_IV  0x00800000u
#define CA_DC  0x08000000u

enum mips_exc {
	EXC_INT = 0, EXC_MOD = 1, EXC_TLBL = 2, EXC_TLBS = 3, EXC_ADEL = 4, EXC_ADES = 5,
	EXC_SYS = 8, EXC_BP = 9, EXC_RI = 10, EXC_CPU = 11, EXC_OV = 12, EXC_TR = 13,
};

/* Why mips_cpu_run returned. */
enum mips_stop {
	MIPS_STOP_BUDGET, /* ran the budget, or an event (CP0 write, eret) wants a check */
	MIPS_STOP_MMIO,   /* c->mmio describes an access to a device */
	MIPS_STOP_WAIT,   /* a `wait` instruction: idle until an interrupt */
	MIPS_STOP_ERROR,  /* c->err says why the CPU cannot go on */
};

struct mips_tlb {
	uint32_t pagemask, entryhi, lo0, lo1;
};

/* One host-pointer cache entry: host address = add + guest virtual address. */
struct mips_tc {
	uint32_t tag; /* page | asid << 1; bit 0 set: empty */
	uintptr_t add;
};

struct mips_mmio {
	uint32_t pa;
	uint8_t len, is_write, reg, sign; /* load: destination register, sign-extend */
	uint8_t data[4];
};

struct mips_cpu {
	uint32_t r[32];
	uint32_t hi, lo;
	uint32_t pc, npc;       /* this and the next instruction (delay slots) */
	uint32_t cur_pc;        /* the instruction being executed */
	int ds;                 /* unused by the loop: delay slots are npc != pc + 4 */
	int redirect;           /* pc/npc changed out of line: the loop reloads them */
	int cur_ds, between;    /* exception bookkeeping: in a delay slot; raised between insns */
	uint32_t llbit;
	/* CP0 */
	uint32_t index, random_ctr, entrylo0, entrylo1, context, pagemask, wired, hwrena;
	uint32_t badvaddr, entryhi, compare, status, cause, epc, ebase, config0, errorepc;
	uint32_t intctl, lladdr;
	uint32_t hw_ip;         /* external lines IP2..IP6 as Cause bits (IP n = bit 8+n) */
	struct mips_tlb tlb[MIPS_TLB_ENTRIES];
	/* timer: Count = count_off + now/MIPS_NS_PER_TICK */
	uint64_t now_ns;        /* last time seen (mips_cpu_set_time) */
	uint32_t count_off, last_count;
	int host_clock;         /* read the host clock on Count reads (else now_ns as given) */
	/* memory */
	uint8_t *ram;
	uint32_t ram_size;
	uint32_t asid_tag;      /* (EntryHi.ASID) << 1 */
	int umode;              /* 1: user mode (cache set 1) */
	struct mips_tc *tcr, *tcw;
	uint32_t fetch_page;    /* virtual page of fetch_host, 1: none */
	uint8_t *fetch_host;
	int budget;             /* 1 while a run goes on; 0: end it after this instruction */
	enum mips_stop stop;
	int mmio_hit;           /* the last slow access was MMIO, not an exception */
	struct mips_mmio mmio;
	uint64_t icount;        /* instructions retired */
	uint64_t exceptions, tlb_refills, interrupts;
	uint64_t erets;         /* eret count: the runner's end-of-interrupt signal */
	char err[160];
	struct mips_tc tc[2][2][MIPS_TC_SIZE]; /* [umode][0 read/1 write] */
};

/* Power-on state (Status BEV|ERL, PC at the reset vector) over ram. */
void mips_cpu_reset(struct mips_cpu *c, uint8_t *ram, uint32_t ram_size);
/* Run at most budget instructions. */
enum mips_stop mips_cpu_run(struct mips_cpu *c, int budget);
/* Finish the MMIO load c->mmio described (its data filled in). */
void mips_cpu_mmio_done(struct mips_cpu *c);
/* Set the time (ns on the CPU's clock) and raise the timer interrupt when Count passed Compare. */
void mips_cpu_set_time(struct mips_cpu *c, uint64_t now_ns);
/* Set the external lines (bit n = IP n, n in 2..6). */
void mips_cpu_set_hw_ip(struct mips_cpu *c, uint32_t ip_mask);
/* Take an interrupt if one is pending and enabled: 1 if taken. */
int mips_cpu_check_irq(struct mips_cpu *c);
/* Some enabled-by-IM interrupt is pending (what ends `wait`). */
int mips_cpu_wake_pending(const struct mips_cpu *c);
/* ns until Count reaches Compare from now_ns. */
uint64_t mips_cpu_timer_ns(const struct mips_cpu *c);
/* Current Count. */
uint32_t mips_cpu_count(const struct mips_cpu *c);
/* Host CLOCK_MONOTONIC in ns. */
uint64_t mips_host_ns(void);

#endif
