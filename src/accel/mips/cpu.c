/*
 * accel/mips/cpu.c: the MIPS32r2 interpreter (see cpu.h).
 *
 * Speed by design: a fetch-page pointer and per-page host-pointer caches
 * (tagged with the ASID, one set per kernel/user mode) sit before the TLB,
 * so a RAM access is one compare and one load; the loop is one switch per
 * instruction; time and interrupts are looked at between runs of `budget`
 * instructions, and a run ends early after CP0 writes that can unmask one.
 * No syscalls on the hot path.
 *
 * Threads: the vCPU thread that owns the CPU.
 */
#include "accel/mips/cpu.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

enum { ACC_LOAD, ACC_STORE, ACC_FETCH };

uint64_t mips_host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void tc_flush(struct mips_cpu *c)
{
	for (int m = 0; m < 2; m++)
		for (int w = 0; w < 2; w++)
			for (int i = 0; i < MIPS_TC_SIZE; i++)
				c->tc[m][w][i].tag = 1;
	c->fetch_page = 1;
}

/* Forget cached translations of [va, va+len) (a TLB entry being replaced). */
static void tc_flush_range(struct mips_cpu *c, uint32_t va, uint32_t len)
{
	if (len >= MIPS_TC_SIZE * 4096u) {
		tc_flush(c);
		return;
	}
	for (uint32_t off = 0; off < len; off += 4096) {
		unsigned i = ((va + off) >> 12) & (MIPS_TC_SIZE - 1);

		c->tc[0][0][i].tag = c->tc[0][1][i].tag = 1;
		c->tc[1][0][i].tag = c->tc[1][1][i].tag = 1;
	}
	c->fetch_page = 1;
}

static void mode_update(struct mips_cpu *c)
{
	int u = (c->status & ST_KSU) && !(c->status & (ST_EXL | ST_ERL));

	if (u != c->umode)
		c->fetch_page = 1;
	c->umode = u;
	c->tcr = c->tc[u][0];
	c->tcw = c->tc[u][1];
}

void mips_cpu_reset(struct mips_cpu *c, uint8_t *ram, uint32_t ram_size)
{
	memset(c, 0, sizeof(*c) - sizeof(c->tc));
	c->ram = ram;
	c->ram_size = ram_size;
	c->pc = 0xbfc00000u;
	c->npc = c->pc + 4;
	c->status = ST_BEV | ST_ERL;
	c->config0 = MIPS_CONFIG0;
	c->ebase = 0x80000000u;
	c->intctl = MIPS_INTCTL;
	c->random_ctr = MIPS_TLB_ENTRIES - 1;
	for (int i = 0; i < MIPS_TLB_ENTRIES; i++) /* distinct, unmatchable (kseg0) */
		c->tlb[i].entryhi = 0x80000000u + ((uint32_t)i << 13);
	c->umode = -1;
	tc_flush(c);
	mode_update(c);
}

/* ---- timer and interrupts --------------------------------------------- */

static uint32_t count_at(const struct mips_cpu *c, uint64_t ns)
{
	return c->count_off + (uint32_t)(ns / MIPS_NS_PER_TICK);
}

uint32_t mips_cpu_count(const struct mips_cpu *c)
{
	return count_at(c, c->now_ns);
}

void mips_cpu_set_time(struct mips_cpu *c, uint64_t now_ns)
{
	uint32_t now, last = c->last_count;

	if (c->cause & CA_DC)
		return;
	c->now_ns = now_ns;
	now = count_at(c, now_ns);
	/* Compare in (last, now]: the timer fired since the last look. */
	if ((uint32_t)(c->compare - last - 1) < (uint32_t)(now - last))
		c->cause |= CA_TI | (1u << 15);
	c->last_count = now;
}

uint64_t mips_cpu_timer_ns(const struct mips_cpu *c)
{
	uint32_t ticks = c->compare - mips_cpu_count(c);

	return (uint64_t)(ticks ? ticks : 1) * MIPS_NS_PER_TICK;
}

void mips_cpu_set_hw_ip(struct mips_cpu *c, uint32_t ip_mask)
{
	c->hw_ip = (ip_mask & 0x7c) << 8;
}

static uint32_t cause_read(const struct mips_cpu *c)
{
	return c->cause | c->hw_ip;
}

int mips_cpu_wake_pending(const struct mips_cpu *c)
{
	return (cause_read(c) & c->status & ST_IM) != 0;
}

static void exception(struct mips_cpu *c, unsigned code, int refill);

int mips_cpu_check_irq(struct mips_cpu *c)
{
	if ((c->status & (ST_IE | ST_EXL | ST_ERL)) != ST_IE || !mips_cpu_wake_pending(c))
		return 0;
	/* Between instructions: pc is the next one, npc after it. */
	c->cur_pc = c->pc;
	c->cur_ds = c->npc != c->pc + 4;
	c->between = 1;
	c->interrupts++;
	exception(c, EXC_INT, 0);
	return 1;
}

/* ---- exceptions ------------------------------------------------------- */

static void exception(struct mips_cpu *c, unsigned code, int refill)
{
	uint32_t base, off = 0x180;

	c->exceptions++;
	/*
	 * In a delay slot: between instructions when npc is not pc + 4; while
	 * executing one, when pc (already the next) is not cur_pc + 4. (A branch
	 * to its own fall-through looks like none: the same outcome either way.)
	 */
	if (!c->between)
		c->cur_ds = c->pc != c->cur_pc + 4;
	c->between = 0;
	if (!(c->status & ST_EXL)) {
		c->epc = c->cur_ds ? c->cur_pc - 4 : c->cur_pc;
		c->cause = c->cur_ds ? c->cause | CA_BD : c->cause & ~CA_BD;
		if (refill)
			off = 0;
		else if (code == EXC_INT && (c->cause & CA_IV))
			off = 0x200;
	}
	c->cause = (c->cause & ~0x3000007cu) | (code << 2);
	c->status |= ST_EXL;
	base = (c->status & ST_BEV) ? 0xbfc00200u : (c->ebase & 0xfffff000u);
	c->pc = base + off;
	c->npc = c->pc + 4;
	c->redirect = 1;
	c->ds = 0;
	c->llbit = 0;
	mode_update(c);
}

static void exc_cpu(struct mips_cpu *c, unsigned unit)
{
	exception(c, EXC_CPU, 0);
	c->cause |= unit << 28;
}

static void exc_addr(struct mips_cpu *c, uint32_t va, int acc)
{
	c->badvaddr = va;
	exception(c, acc == ACC_STORE ? EXC_ADES : EXC_ADEL, 0);
}

static void exc_tlb(struct mips_cpu *c, uint32_t va, unsigned code, int refill)
{
	c->badvaddr = va;
	c->context = (c->context & 0xff800000u) | ((va >> 9) & 0x007ffff0u);
	c->entryhi = (va & 0xffffe000u) | (c->entryhi & 0xff);
	if (refill)
		c->tlb_refills++;
	exception(c, code, refill);
}

/* ---- address translation ---------------------------------------------- */

/* TLB lookup: 0 and *pa, or raise the exception and return -1. */
static int tlb_xlat(struct mips_cpu *c, uint32_t va, int acc, uint32_t *pa, int *writable)
{
	uint32_t asid = c->entryhi & 0xff;

	for (int i = 0; i < MIPS_TLB_ENTRIES; i++) {
		const struct mips_tlb *t = &c->tlb[i];
		uint32_t mask = t->pagemask | 0x1fffu, half = (mask + 1) >> 1, lo;

		if ((va & ~mask) != (t->entryhi & ~mask))
			continue;
		if (!((t->lo0 & t->lo1) & 1) && (t->entryhi & 0xff) != asid)
			continue;
		lo = (va & half) ? t->lo1 : t->lo0;
		if (!(lo & 2)) {
			exc_tlb(c, va, acc == ACC_STORE ? EXC_TLBS : EXC_TLBL, 0);
			return -1;
		}
		if (acc == ACC_STORE && !(lo & 4)) {
			exc_tlb(c, va, EXC_MOD, 0);
			return -1;
		}
		*writable = (lo & 4) != 0;
		*pa = (((lo >> 6) << 12) & ~(half - 1)) | (va & (half - 1));
		return 0;
	}
	exc_tlb(c, va, acc == ACC_STORE ? EXC_TLBS : EXC_TLBL, !(c->status & ST_EXL));
	return -1;
}

/* Guest physical address of va for acc: 0, or -1 with the exception raised. */
static int xlat(struct mips_cpu *c, uint32_t va, int acc, uint32_t *pa, int *writable)
{
	*writable = 1;
	if (va < 0x80000000u) {
		if (c->status & ST_ERL) {
			*pa = va;
			return 0;
		}
		return tlb_xlat(c, va, acc, pa, writable);
	}
	if (c->umode) {
		exc_addr(c, va, acc);
		return -1;
	}
	if (va < 0xc0000000u) {
		*pa = va & 0x1fffffffu;
		return 0;
	}
	return tlb_xlat(c, va, acc, pa, writable);
}

/*
 * The slow path of every access: check alignment, translate, fill the
 * caches. Host pointer for RAM; NULL with c->mmio_hit set and c->mmio.pa
 * for a device; NULL with an exception raised otherwise.
 */
static uint8_t *mem_slow(struct mips_cpu *c, uint32_t va, int acc, unsigned size)
{
	uint32_t pa, page = va & ~0xfffu;
	int writable;

	c->mmio_hit = 0;
	if (va & (size - 1)) {
		exc_addr(c, va, acc);
		return NULL;
	}
	if (xlat(c, va, acc, &pa, &writable))
		return NULL;
	if (pa >= c->ram_size || pa + size > c->ram_size) {
		c->mmio_hit = 1;
		c->mmio.pa = pa;
		c->mmio.len = (uint8_t)size;
		return NULL;
	}
	{
		uintptr_t add = (uintptr_t)(c->ram + (pa & ~0xfffu)) - page;
		unsigned i = (va >> 12) & (MIPS_TC_SIZE - 1);
		uint32_t tag = page | c->asid_tag;

		c->tcr[i].tag = tag;
		c->tcr[i].add = add;
		if (writable) {
			c->tcw[i].tag = tag;
			c->tcw[i].add = add;
		}
	}
	return c->ram + pa;
}

static inline uint8_t *mem_r(struct mips_cpu *c, uint32_t va, unsigned size)
{
	const struct mips_tc *e = &c->tcr[(va >> 12) & (MIPS_TC_SIZE - 1)];

	if (likely(e->tag == ((va & ~0xfffu) | c->asid_tag) && !(va & (size - 1))))
		return (uint8_t *)(e->add + va);
	return mem_slow(c, va, ACC_LOAD, size);
}

static inline uint8_t *mem_w(struct mips_cpu *c, uint32_t va, unsigned size)
{
	const struct mips_tc *e = &c->tcw[(va >> 12) & (MIPS_TC_SIZE - 1)];

	if (likely(e->tag == ((va & ~0xfffu) | c->asid_tag) && !(va & (size - 1))))
		return (uint8_t *)(e->add + va);
	return mem_slow(c, va, ACC_STORE, size);
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* A load that went to a device: stop, the runner finishes it (mips_cpu_mmio_done). */
static void mmio_load(struct mips_cpu *c, unsigned rt, int sign)
{
	c->mmio.is_write = 0;
	c->mmio.reg = (uint8_t)rt;
	c->mmio.sign = (uint8_t)sign;
	c->stop = MIPS_STOP_MMIO;
	c->budget = 0;
}

static void mmio_store(struct mips_cpu *c, uint32_t v)
{
	c->mmio.is_write = 1;
	memcpy(c->mmio.data, &v, 4);
	c->stop = MIPS_STOP_MMIO;
	c->budget = 0;
}

void mips_cpu_mmio_done(struct mips_cpu *c)
{
	uint32_t v = 0;

	if (c->mmio.is_write || !c->mmio.reg)
		return;
	memcpy(&v, c->mmio.data, c->mmio.len);
	if (c->mmio.sign && c->mmio.len == 1)
		v = (uint32_t)(int32_t)(int8_t)v;
	else if (c->mmio.sign && c->mmio.len == 2)
		v = (uint32_t)(int32_t)(int16_t)v;
	c->r[c->mmio.reg] = v;
}

static void cpu_error(struct mips_cpu *c, const char *what, uint32_t insn)
{
	snprintf(c->err, sizeof(c->err), "MIPS vCPU cannot go on: %s (PC 0x%08x, instruction 0x%08x)",
		 what, c->cur_pc, insn);
	c->stop = MIPS_STOP_ERROR;
	c->budget = 0;
}

/* ---- CP0 -------------------------------------------------------------- */

/* After a write that can unmask one: end the run when an interrupt is deliverable now. */
static void irq_window(struct mips_cpu *c)
{
	if ((c->status & (ST_IE | ST_EXL | ST_ERL)) == ST_IE && (cause_read(c) & c->status & ST_IM))
		c->budget = 0;
}

static uint32_t cp0_read(struct mips_cpu *c, unsigned reg, unsigned sel)
{
	switch (reg << 3 | sel) {
	case 0 << 3: return c->index;
	case 1 << 3: return c->wired + c->random_ctr % (MIPS_TLB_ENTRIES - c->wired);
	case 2 << 3: return c->entrylo0;
	case 3 << 3: return c->entrylo1;
	case 4 << 3: return c->context;
	case 5 << 3: return c->pagemask;
	case 6 << 3: return c->wired;
	case 7 << 3: return c->hwrena;
	case 8 << 3: return c->badvaddr;
	case 9 << 3:
		if (c->host_clock && !(c->cause & CA_DC))
			c->now_ns = mips_host_ns();
		return mips_cpu_count(c);
	case 10 << 3: return c->entryhi;
	case 11 << 3: return c->compare;
	case 12 << 3: return c->status;
	case 12 << 3 | 1: return c->intctl;
	case 13 << 3: return cause_read(c);
	case 14 << 3: return c->epc;
	case 15 << 3: return MIPS_PRID;
	case 15 << 3 | 1: return c->ebase;
	case 16 << 3: return c->config0;
	case 16 << 3 | 1: return MIPS_CONFIG1;
	case 16 << 3 | 2: return MIPS_CONFIG2;
	case 16 << 3 | 3: return MIPS_CONFIG3;
	case 17 << 3: return c->lladdr;
	case 30 << 3: return c->errorepc;
	default: return 0; /* watch, perf, cache tags, config7...: none */
	}
}

static void cp0_write(struct mips_cpu *c, unsigned reg, unsigned sel, uint32_t v)
{
	switch (reg << 3 | sel) {
	case 0 << 3: c->index = (c->index & 0x80000000u) | (v & 0xf); break;
	case 2 << 3: c->entrylo0 = v & 0x3fffffffu; break;
	case 3 << 3: c->entrylo1 = v & 0x3fffffffu; break;
	case 4 << 3: c->context = (c->context & 0x007ffff0u) | (v & 0xff800000u); break;
	case 5 << 3: c->pagemask = v & 0x1fffe000u; break;
	case 6 << 3:
		c->wired = v & 0xf;
		c->random_ctr = MIPS_TLB_ENTRIES - 1;
		break;
	case 7 << 3: c->hwrena = v & 0x2000000fu; break;
	case 9 << 3:
		c->count_off = v - (uint32_t)(c->now_ns / MIPS_NS_PER_TICK);
		c->last_count = v;
		break;
	case 10 << 3:
		c->entryhi = v & 0xffffe0ffu;
		c->asid_tag = (v & 0xff) << 1;
		c->fetch_page = 1;
		break;
	case 11 << 3:
		c->compare = v;
		c->cause &= ~(CA_TI | (1u << 15));
		break;
	case 12 << 3: {
		uint32_t old = c->status;

		c->status = (old & ~0xf840ff1fu) | (v & 0xf840ff1fu);
		if ((old ^ c->status) & ST_ERL)
			tc_flush(c);
		mode_update(c);
		irq_window(c);
		break;
	}
	case 12 << 3 | 1: c->intctl = (c->intctl & ~0x3e0u) | (v & 0x3e0u); break;
	case 13 << 3:
		c->cause = (c->cause & ~0x08800300u) | (v & 0x08800300u);
		irq_window(c);
		break;
	case 14 << 3: c->epc = v; break;
	case 15 << 3 | 1: c->ebase = 0x80000000u | (v & 0x3ffff000u); break;
	case 16 << 3: c->config0 = (c->config0 & ~7u) | (v & 7u); break;
	case 30 << 3: c->errorepc = v; break;
	default: break; /* read-only or absent: ignored */
	}
}

static void tlb_write(struct mips_cpu *c, unsigned i)
{
	struct mips_tlb *t = &c->tlb[i];
	uint32_t mask = t->pagemask | 0x1fffu;

	tc_flush_range(c, t->entryhi & ~mask, mask + 1);
	t->pagemask = c->pagemask;
	t->entryhi = c->entryhi;
	/* G is the AND of both halves' G bits; keep both as written. */
	t->lo0 = c->entrylo0;
	t->lo1 = c->entrylo1;
	if (!((c->entrylo0 & c->entrylo1) & 1)) {
		t->lo0 &= ~1u;
		t->lo1 &= ~1u;
	}
	mask = t->pagemask | 0x1fffu;
	tc_flush_range(c, t->entryhi & ~mask, mask + 1);
}

static void tlb_probe(struct mips_cpu *c)
{
	uint32_t asid = c->entryhi & 0xff;

	c->index = 0x80000000u;
	for (unsigned i = 0; i < MIPS_TLB_ENTRIES; i++) {
		const struct mips_tlb *t = &c->tlb[i];
		uint32_t mask = t->pagemask | 0x1fffu;

		if ((c->entryhi & ~mask) == (t->entryhi & ~mask) &&
		    (((t->lo0 & t->lo1) & 1) || (t->entryhi & 0xff) == asid)) {
			c->index = i;
			return;
		}
	}
}

static void tlb_read(struct mips_cpu *c)
{
	const struct mips_tlb *t = &c->tlb[c->index & 0xf];

	c->pagemask = t->pagemask;
	c->entryhi = t->entryhi;
	c->asid_tag = (c->entryhi & 0xff) << 1;
	c->fetch_page = 1;
	c->entrylo0 = t->lo0;
	c->entrylo1 = t->lo1;
}

static void eret(struct mips_cpu *c)
{
	if (c->status & ST_ERL) {
		c->pc = c->errorepc;
		c->status &= ~ST_ERL;
		tc_flush(c);
	} else {
		c->pc = c->epc;
		c->status &= ~ST_EXL;
	}
	c->npc = c->pc + 4;
	c->redirect = 1;
	c->ds = 0;
	c->llbit = 0;
	c->erets++;
	mode_update(c);
	irq_window(c);
}

static void exec_cop0(struct mips_cpu *c, uint32_t insn)
{
	unsigned rs = (insn >> 21) & 31, rt = (insn >> 16) & 31, rd = (insn >> 11) & 31;

	if (c->umode && !(c->status & 0x10000000u)) {
		exc_cpu(c, 0);
		return;
	}
	switch (rs) {
	case 0: /* mfc0 */
		c->r[rt] = cp0_read(c, rd, insn & 7);
		return;
	case 4: /* mtc0 */
		cp0_write(c, rd, insn & 7, c->r[rt]);
		return;
	case 10: /* rdpgpr, wrpgpr: one shadow set, so a plain move */
	case 14:
		c->r[rd] = c->r[rt];
		return;
	case 11: /* mfmc0: di / ei */
		if (rd != 12 || (insn & 0x7ff) != ((insn & 0x20) | 0)) {
			exception(c, EXC_RI, 0);
			return;
		}
		c->r[rt] = c->status;
		if (insn & 0x20)
			c->status |= ST_IE;
		else
			c->status &= ~ST_IE;
		irq_window(c);
		return;
	}
	if (!(rs & 0x10)) {
		exception(c, EXC_RI, 0);
		return;
	}
	switch (insn & 0x3f) {
	case 1: tlb_read(c); return;
	case 2: tlb_write(c, c->index & 0xf); return;
	case 6:
		tlb_write(c, c->wired + c->random_ctr % (MIPS_TLB_ENTRIES - c->wired));
		c->random_ctr = c->random_ctr ? c->random_ctr - 1 : MIPS_TLB_ENTRIES - 1;
		return;
	case 8: tlb_probe(c); return;
	case 24: eret(c); return;
	case 32: /* wait: the runner idles until an interrupt */
		c->stop = MIPS_STOP_WAIT;
		c->budget = 0;
		return;
	default: exception(c, EXC_RI, 0); return;
	}
}

/* ---- the interpreter -------------------------------------------------- */

#define RS  c->r[(insn >> 21) & 31]
#define RT  c->r[(insn >> 16) & 31]
#define RTN ((insn >> 16) & 31)
#define RDN ((insn >> 11) & 31)
#define SA  ((insn >> 6) & 31)
#define SIMM ((uint32_t)(int32_t)(int16_t)insn)
#define UIMM (insn & 0xffffu)
#define JUMP(to) do { c->npc = (to); c->redirect = 1; } while (0)
#define BRANCH(cond) do { if (cond) JUMP(c->cur_pc + 4 + (SIMM << 2)); } while (0)
#define BRANCH_L(cond) do { if (cond) { JUMP(c->cur_pc + 4 + (SIMM << 2)); } \
			    else { c->pc = c->npc; c->npc += 4; c->redirect = 1; } } while (0)
#define LINK(n) (c->r[n] = c->cur_pc + 8)
/* The same inside the loop, on its registers (pc: the delay slot, npc: after it). */
#define JUMP_I(to) do { npc = (to); c->npc = npc; } while (0)
#define BRANCH_I(cond) do { if (cond) JUMP_I(c->cur_pc + 4 + (SIMM << 2)); } while (0)
#define BRANCH_LI(cond) do { if (cond) { JUMP_I(c->cur_pc + 4 + (SIMM << 2)); } \
			     else { pc = npc; npc += 4; c->pc = pc; c->npc = npc; } } while (0)

static void exec_regimm(struct mips_cpu *c, uint32_t insn)
{
	int32_t s = (int32_t)RS;
	uint32_t imm = SIMM;

	switch (RTN) {
	case 0x00: BRANCH(s < 0); break;
	case 0x01: BRANCH(s >= 0); break;
	case 0x02: BRANCH_L(s < 0); break;
	case 0x03: BRANCH_L(s >= 0); break;
	case 0x08: if (s >= (int32_t)imm) exception(c, EXC_TR, 0); break;
	case 0x09: if ((uint32_t)s >= imm) exception(c, EXC_TR, 0); break;
	case 0x0a: if (s < (int32_t)imm) exception(c, EXC_TR, 0); break;
	case 0x0b: if ((uint32_t)s < imm) exception(c, EXC_TR, 0); break;
	case 0x0c: if ((uint32_t)s == imm) exception(c, EXC_TR, 0); break;
	case 0x0e: if ((uint32_t)s != imm) exception(c, EXC_TR, 0); break;
	case 0x10: LINK(31); BRANCH(s < 0); break;
	case 0x11: LINK(31); BRANCH(s >= 0); break;
	case 0x12: LINK(31); BRANCH_L(s < 0); break;
	case 0x13: LINK(31); BRANCH_L(s >= 0); break;
	case 0x1f: break; /* synci: no caches to sync */
	default: exception(c, EXC_RI, 0); break;
	}
}

static void exec_special2(struct mips_cpu *c, uint32_t insn)
{
	uint32_t s = RS, t = RT;
	uint64_t acc = ((uint64_t)c->hi << 32) | c->lo;

	switch (insn & 0x3f) {
	case 0x00: acc += (uint64_t)((int64_t)(int32_t)s * (int32_t)t); break;
	case 0x01: acc += (uint64_t)s * t; break;
	case 0x02: c->r[RDN] = (uint32_t)((int32_t)s * (int64_t)(int32_t)t); return;
	case 0x04: acc -= (uint64_t)((int64_t)(int32_t)s * (int32_t)t); break;
	case 0x05: acc -= (uint64_t)s * t; break;
	case 0x20: c->r[RDN] = s ? (uint32_t)__builtin_clz(s) : 32; return;
	case 0x21: c->r[RDN] = ~s ? (uint32_t)__builtin_clz(~s) : 32; return;
	default: exception(c, EXC_RI, 0); return;
	}
	c->lo = (uint32_t)acc;
	c->hi = (uint32_t)(acc >> 32);
}

/* rdhwr rt, rd: 1 when done; 0 for Reserved Instruction. */
static int exec_rdhwr(struct mips_cpu *c, unsigned rt, unsigned rd)
{
	uint32_t v;

	if (rd > 3 || (c->umode && !(c->hwrena & (1u << rd))))
		return 0;
	switch (rd) {
	case 0: v = 0; break;          /* CPUNum */
	case 1: v = 16; break;         /* SYNCI_Step: the cache line */
	case 2: v = cp0_read(c, 9, 0); break; /* CC: Count */
	default: v = 2; break;         /* CCRes: Count ticks every other cycle */
	}
	c->r[rt] = v;
	return 1;
}

static void exec_special3(struct mips_cpu *c, uint32_t insn)
{
	uint32_t s = RS, t = RT, msb = RDN, lsb = SA, mask;

	switch (insn & 0x3f) {
	case 0x00: /* ext: size = msbd + 1 */
		if (lsb + msb > 31) {
			exception(c, EXC_RI, 0); /* unpredictable: refuse */
			return;
		}
		mask = msb == 31 ? 0xffffffffu : (1u << (msb + 1)) - 1;
		c->r[RTN] = (s >> lsb) & mask;
		return;
	case 0x04: /* ins: msb is the field's last bit */
		if (msb < lsb) {
			exception(c, EXC_RI, 0);
			return;
		}
		mask = (msb - lsb == 31 ? 0xffffffffu : (1u << (msb - lsb + 1)) - 1) << lsb;
		c->r[RTN] = (t & ~mask) | ((s << lsb) & mask);
		return;
	case 0x20:
		switch (lsb) {
		case 0x02: c->r[msb] = ((t & 0x00ff00ffu) << 8) | ((t >> 8) & 0x00ff00ffu); return;
		case 0x10: c->r[msb] = (uint32_t)(int32_t)(int8_t)t; return;
		case 0x18: c->r[msb] = (uint32_t)(int32_t)(int16_t)t; return;
		}
		break;
	}
	if ((insn & 0x3f) == 0x3b && exec_rdhwr(c, RTN, msb))
		return;
	exception(c, EXC_RI, 0); /* rdhwr $29 (no UserLocal) and the rest: the kernel emulates */
}

/* lwl/lwr/swl/swr: the aligned word, RAM only. */
static void exec_unaligned(struct mips_cpu *c, uint32_t insn, unsigned op)
{
	uint32_t va = RS + SIMM, b = (va & 3) * 8, w, t = RT;
	int store = op >= 0x28;
	uint8_t *p = store ? mem_w(c, va & ~3u, 4) : mem_r(c, va & ~3u, 4);

	if (!p) {
		if (c->mmio_hit)
			cpu_error(c, "lwl/lwr/swl/swr on a device", insn);
		return;
	}
	w = rd32(p);
	switch (op) {
	case 0x22: /* lwl */
		c->r[RTN] = b == 24 ? w : (t & ((1u << (24 - b)) - 1)) | (w << (24 - b));
		break;
	case 0x26: /* lwr */
		c->r[RTN] = b == 0 ? w : (t & ~(0xffffffffu >> b)) | (w >> b);
		break;
	case 0x2a: /* swl */
		wr32(p, b == 24 ? t : (w & ~(0xffffffffu >> (24 - b))) | (t >> (24 - b)));
		break;
	case 0x2e: /* swr */
		wr32(p, b == 0 ? t : (w & ((1u << b) - 1)) | (t << b));
		break;
	}
}

/* Fetch the word at pc through the TLB; 0, or -1 with an exception (or error) set. */
static int fetch_slow(struct mips_cpu *c, uint32_t pc, uint32_t *insn)
{
	uint8_t *p;

	c->cur_pc = pc;
	c->cur_ds = c->npc != pc + 4;
	c->between = 1;
	p = mem_slow(c, pc, ACC_FETCH, 4);
	c->between = 0;
	if (!p) {
		if (c->mmio_hit && !(pc >= 0xbfc00000u && (c->status & ST_BEV) && c->exceptions)) {
			snprintf(c->err, sizeof(c->err),
				 "MIPS vCPU cannot go on: PC 0x%08x is not in RAM (physical 0x%08x)",
				 pc, c->mmio.pa);
			c->stop = MIPS_STOP_ERROR;
			c->budget = 0;
		} else if (c->pc >= 0xbfc00000u && (c->status & ST_BEV)) {
			snprintf(c->err, sizeof(c->err),
				 "MIPS vCPU cannot go on: exception %u at PC 0x%08x with Status.BEV set "
				 "(no boot ROM); BadVAddr 0x%08x", (c->cause >> 2) & 31, c->epc,
				 c->badvaddr);
			c->stop = MIPS_STOP_ERROR;
			c->budget = 0;
		}
		return -1;
	}
	c->fetch_page = pc & ~0xfffu;
	c->fetch_host = p - (pc & 0xfffu);
	*insn = rd32(p);
	return 0;
}

/*
 * The loop: fetch through the fetch-page pointer, then one computed jump
 * per instruction (SPECIAL's functions are entries 64 + funct), which GCC
 * duplicates into every handler so each has its own predicted jump.
 */
/*
 * Keep the copies of NEXT apart (no cross-jumping) and the handlers simple (no GCSE).
 * GCC only: clang (the fuzz build) has no per-function optimize attribute.
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-crossjumping", "no-gcse")))
#endif
enum mips_stop mips_cpu_run(struct mips_cpu *c, int budget)
{
	static const void *const tbl[128] = {
		&&L_def, &&L_1, &&L_2, &&L_3, &&L_4, &&L_5, &&L_6, &&L_7,
		&&L_8, &&L_9, &&L_10, &&L_11, &&L_12, &&L_13, &&L_14, &&L_15,
		&&L_16, &&L_17, &&L_18, &&L_19, &&L_20, &&L_21, &&L_22, &&L_23,
		&&L_def, &&L_def, &&L_def, &&L_def, &&L_28, &&L_def, &&L_def, &&L_31,
		&&L_32, &&L_33, &&L_34, &&L_35, &&L_36, &&L_37, &&L_38, &&L_def,
		&&L_40, &&L_41, &&L_42, &&L_43, &&L_def, &&L_def, &&L_46, &&L_47,
		&&L_48, &&L_49, &&L_50, &&L_51, &&L_def, &&L_53, &&L_54, &&L_def,
		&&L_56, &&L_57, &&L_58, &&L_def, &&L_def, &&L_61, &&L_62, &&L_def,
		&&L_64, &&L_65, &&L_66, &&L_67, &&L_68, &&L_def, &&L_70, &&L_71,
		&&L_72, &&L_73, &&L_74, &&L_75, &&L_76, &&L_77, &&L_def, &&L_79,
		&&L_80, &&L_81, &&L_82, &&L_83, &&L_def, &&L_def, &&L_def, &&L_def,
		&&L_88, &&L_89, &&L_90, &&L_91, &&L_def, &&L_def, &&L_def, &&L_def,
		&&L_96, &&L_97, &&L_98, &&L_99, &&L_100, &&L_101, &&L_102, &&L_103,
		&&L_def, &&L_def, &&L_106, &&L_107, &&L_def, &&L_def, &&L_def, &&L_def,
		&&L_112, &&L_113, &&L_114, &&L_115, &&L_116, &&L_def, &&L_118, &&L_def,
		&&L_def, &&L_def, &&L_def, &&L_def, &&L_def, &&L_def, &&L_def, &&L_def,
	};
	uint64_t n = 0;
	uint32_t insn, pc = c->pc, npc = c->npc, va, s, t, v;
	unsigned op, rd, idx;
	uint8_t *p;
	uint64_t p64;

	c->stop = MIPS_STOP_BUDGET;
	c->budget = 1; /* cleared by whatever wants the run to end */
/* Decode insn (at pc) and jump to its handler. */
#define DECODE_JUMP_I() do {                                                     \
		c->cur_pc = pc;                                                \
		c->pc = npc;                                                   \
		c->npc = npc + 4;                                              \
		pc = npc;                                                      \
		npc += 4;                                                      \
		c->r[0] = 0;                                                   \
		n++;                                                           \
		op = insn >> 26;                                               \
		rd = RDN;                                                      \
		idx = op ? op : 64 + (insn & 0x3f);                            \
		s = RS;                                                        \
		t = RT;                                                        \
		goto *tbl[idx];                                                \
	} while (0)
/* Every handler ends in its own copy of fetch and dispatch (own predicted jump). */
#define NEXT do {                                                              \
		if (unlikely(!c->budget || budget <= 0))                       \
			goto out;                                              \
		budget--;                                                      \
		if (unlikely(c->redirect)) {                                   \
			c->redirect = 0;                                       \
			pc = c->pc;                                            \
			npc = c->npc;                                          \
		}                                                              \
		if (unlikely((pc & ~0xffcu) != c->fetch_page))                 \
			goto slow;                                             \
		insn = rd32(c->fetch_host + (pc & 0xfffu));                    \
		DECODE_JUMP_I();                                                 \
	} while (0)
next:
	NEXT;
slow:
	if (fetch_slow(c, pc, &insn))
		goto next;
	DECODE_JUMP_I();
	L_64: c->r[rd] = t << SA; NEXT;
	L_65: exc_cpu(c, 1); NEXT; /* movf/movt: FPU */
	L_66: c->r[rd] = (insn & (1u << 21)) ? (t >> SA) | (t << ((32 - SA) & 31)) : t >> SA;
		NEXT;
	L_67: c->r[rd] = (uint32_t)((int32_t)t >> SA); NEXT;
	L_68: c->r[rd] = t << (s & 31); NEXT;
	L_70: v = s & 31;
		c->r[rd] = (insn & (1u << 6)) ? (t >> v) | (t << ((32 - v) & 31)) : t >> v;
		NEXT;
	L_71: c->r[rd] = (uint32_t)((int32_t)t >> (s & 31)); NEXT;
	L_72: JUMP_I(s); NEXT;
	L_73: JUMP_I(s); c->r[rd] = c->cur_pc + 8; NEXT;
	L_74: if (!t) c->r[rd] = s; NEXT;
	L_75: if (t) c->r[rd] = s; NEXT;
	L_76: exception(c, EXC_SYS, 0); NEXT;
	L_77: exception(c, EXC_BP, 0); NEXT;
	L_79: NEXT; /* sync */
	L_80: c->r[rd] = c->hi; NEXT;
	L_81: c->hi = s; NEXT;
	L_82: c->r[rd] = c->lo; NEXT;
	L_83: c->lo = s; NEXT;
	L_88: p64 = (uint64_t)((int64_t)(int32_t)s * (int32_t)t);
		c->lo = (uint32_t)p64; c->hi = (uint32_t)(p64 >> 32); NEXT;
	L_89: p64 = (uint64_t)s * t; c->lo = (uint32_t)p64; c->hi = (uint32_t)(p64 >> 32); NEXT;
	L_90:
		if (t == 0) {
			c->lo = 0; c->hi = s; /* unpredictable: anything but a crash */
		} else if (s == 0x80000000u && t == 0xffffffffu) {
			c->lo = s; c->hi = 0;
		} else {
			c->lo = (uint32_t)((int32_t)s / (int32_t)t);
			c->hi = (uint32_t)((int32_t)s % (int32_t)t);
		}
		NEXT;
	L_91:
		if (t == 0) {
			c->lo = 0; c->hi = s;
		} else {
			c->lo = s / t; c->hi = s % t;
		}
		NEXT;
	L_96: v = s + t;
		if ((~(s ^ t) & (s ^ v)) >> 31) exception(c, EXC_OV, 0); else c->r[rd] = v;
		NEXT;
	L_97: c->r[rd] = s + t; NEXT;
	L_98: v = s - t;
		if (((s ^ t) & (s ^ v)) >> 31) exception(c, EXC_OV, 0); else c->r[rd] = v;
		NEXT;
	L_99: c->r[rd] = s - t; NEXT;
	L_100: c->r[rd] = s & t; NEXT;
	L_101: c->r[rd] = s | t; NEXT;
	L_102: c->r[rd] = s ^ t; NEXT;
	L_103: c->r[rd] = ~(s | t); NEXT;
	L_106: c->r[rd] = (int32_t)s < (int32_t)t; NEXT;
	L_107: c->r[rd] = s < t; NEXT;
	L_112: if ((int32_t)s >= (int32_t)t) exception(c, EXC_TR, 0); NEXT;
	L_113: if (s >= t) exception(c, EXC_TR, 0); NEXT;
	L_114: if ((int32_t)s < (int32_t)t) exception(c, EXC_TR, 0); NEXT;
	L_115: if (s < t) exception(c, EXC_TR, 0); NEXT;
	L_116: if (s == t) exception(c, EXC_TR, 0); NEXT;
	L_118: if (s != t) exception(c, EXC_TR, 0); NEXT;
	L_1: exec_regimm(c, insn); NEXT;
	L_2: JUMP_I((c->cur_pc & 0xf0000000u) | ((insn & 0x03ffffffu) << 2)); NEXT;
	L_3: LINK(31);
		JUMP_I((c->cur_pc & 0xf0000000u) | ((insn & 0x03ffffffu) << 2)); NEXT;
	L_4: BRANCH_I(RS == RT); NEXT;
	L_5: BRANCH_I(RS != RT); NEXT;
	L_6: BRANCH_I((int32_t)RS <= 0); NEXT;
	L_7: BRANCH_I((int32_t)RS > 0); NEXT;
	L_8:
		v = s + SIMM;
		if ((~(s ^ SIMM) & (s ^ v)) >> 31)
			exception(c, EXC_OV, 0);
		else
			c->r[RTN] = v;
		NEXT;
	L_9: c->r[RTN] = RS + SIMM; NEXT;
	L_10: c->r[RTN] = (int32_t)RS < (int32_t)SIMM; NEXT;
	L_11: c->r[RTN] = RS < SIMM; NEXT;
	L_12: c->r[RTN] = RS & UIMM; NEXT;
	L_13: c->r[RTN] = RS | UIMM; NEXT;
	L_14: c->r[RTN] = RS ^ UIMM; NEXT;
	L_15: c->r[RTN] = insn << 16; NEXT;
	L_16: exec_cop0(c, insn); NEXT;
	L_17: L_19: L_49: L_53: L_57: L_61:
		exc_cpu(c, 1); /* no FPU: the kernel emulates it */
		NEXT;
	L_18: L_50: L_54: L_58: L_62:
		exc_cpu(c, 2);
		NEXT;
	L_20: BRANCH_LI(RS == RT); NEXT;
	L_21: BRANCH_LI(RS != RT); NEXT;
	L_22: BRANCH_LI((int32_t)RS <= 0); NEXT;
	L_23: BRANCH_LI((int32_t)RS > 0); NEXT;
	L_28: exec_special2(c, insn); NEXT;
	L_31: exec_special3(c, insn); NEXT;
	L_32: L_36:
		va = RS + SIMM;
		p = mem_r(c, va, 1);
		if (likely(p != NULL))
			c->r[RTN] = op == 0x20 ? (uint32_t)(int32_t)(int8_t)*p : *p;
		else if (c->mmio_hit)
			mmio_load(c, RTN, op == 0x20);
		NEXT;
	L_33: L_37:
		va = RS + SIMM;
		p = mem_r(c, va, 2);
		if (likely(p != NULL))
			c->r[RTN] = op == 0x21 ? (uint32_t)(int32_t)(int16_t)rd16(p) : rd16(p);
		else if (c->mmio_hit)
			mmio_load(c, RTN, op == 0x21);
		NEXT;
	L_35: L_48:
		va = RS + SIMM;
		p = mem_r(c, va, 4);
		if (likely(p != NULL)) {
			c->r[RTN] = rd32(p);
			if (op == 0x30) {
				c->llbit = 1;
				c->lladdr = va;
			}
		} else if (c->mmio_hit) {
			mmio_load(c, RTN, 0);
		}
		NEXT;
	L_34: L_38: L_42: L_46:
		exec_unaligned(c, insn, op);
		NEXT;
	L_40:
		va = RS + SIMM;
		p = mem_w(c, va, 1);
		if (likely(p != NULL))
			*p = (uint8_t)RT;
		else if (c->mmio_hit)
			mmio_store(c, RT & 0xff);
		NEXT;
	L_41:
		va = RS + SIMM;
		p = mem_w(c, va, 2);
		if (likely(p != NULL))
			wr16(p, (uint16_t)RT);
		else if (c->mmio_hit)
			mmio_store(c, RT & 0xffff);
		NEXT;
	L_43:
		va = RS + SIMM;
		p = mem_w(c, va, 4);
		if (likely(p != NULL))
			wr32(p, RT);
		else if (c->mmio_hit)
			mmio_store(c, RT);
		NEXT;
	L_56: /* sc */
		va = RS + SIMM;
		if (!c->llbit) {
			if (va & 3)
				exc_addr(c, va, ACC_STORE);
			else
				c->r[RTN] = 0;
			NEXT;
		}
		p = mem_w(c, va, 4);
		if (likely(p != NULL)) {
			wr32(p, RT);
			c->r[RTN] = 1;
			c->llbit = 0;
		} else if (c->mmio_hit) {
			cpu_error(c, "sc on a device", insn);
		}
		NEXT;
	L_47: /* cache */
		if (c->umode && !(c->status & 0x10000000u))
			exc_cpu(c, 0);
		NEXT;
	L_51: NEXT; /* pref */
	L_def: exception(c, EXC_RI, 0); NEXT;

#undef NEXT
#undef DECODE_JUMP
out:
	c->icount += n;
	c->r[0] = 0;
	if (c->stop == MIPS_STOP_BUDGET && c->pc >= 0xbfc00000u && c->pc < 0xc0000000u &&
	    (c->status & ST_BEV) && c->exceptions) {
		/* An exception with BEV set and nothing at the boot vectors. */
		uint32_t pa = c->pc & 0x1fffffffu;

		if (pa >= c->ram_size) {
			snprintf(c->err, sizeof(c->err),
				 "MIPS vCPU cannot go on: exception %u (EPC 0x%08x, BadVAddr 0x%08x) "
				 "with Status.BEV set and no boot ROM at 0x%08x",
				 (c->cause >> 2) & 31, c->epc, c->badvaddr, c->pc);
			c->stop = MIPS_STOP_ERROR;
		}
	}
	return c->stop;
}
