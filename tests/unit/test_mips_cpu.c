/*
 * test_mips_cpu.c: the MIPS32r2 interpreter (src/accel/mips/cpu.c), one
 * test per instruction class with its edge cases: ALU and overflow, shifts
 * and bit fields, multiply/divide, branches and delay slots (BD/EPC),
 * branch-likely, loads/stores incl. lwl/lwr/swl/swr and address errors,
 * ll/sc, traps, the TLB (refill, invalid, modified, user segment checks),
 * Count/Compare and interrupts, MMIO stops, wait, Reserved Instruction and
 * Coprocessor Unusable, and the clear error for an unexecutable PC.
 */
#include <stdint.h>
#include <stdlib.h>

#include "accel/mips/cpu.h"
#include "test.h"

#define RAM  (1u << 20)
#define CODE 0x80001000u

static uint32_t R_(unsigned rs, unsigned rt, unsigned rd, unsigned sa, unsigned fn)
{
	return rs << 21 | rt << 16 | rd << 11 | sa << 6 | fn;
}

static uint32_t I_(unsigned op, unsigned rs, unsigned rt, uint32_t imm)
{
	return op << 26 | rs << 21 | rt << 16 | (imm & 0xffff);
}

#define MTC0(rt, rd, sel) (0x40800000u | (rt) << 16 | (rd) << 11 | (sel))
#define MFC0(rt, rd, sel) (0x40000000u | (rt) << 16 | (rd) << 11 | (sel))
#define NOP 0u
#define ERET 0x42000018u
#define WAIT 0x42000020u
#define TLBWI 0x42000002u

struct vm {
	struct mips_cpu *c;
	uint8_t *ram;
};

static struct vm vm_new(const uint32_t *code, size_t n)
{
	struct vm v = { malloc(sizeof(struct mips_cpu)), calloc(1, RAM) };

	mips_cpu_reset(v.c, v.ram, RAM);
	memcpy(v.ram + (CODE & 0x1fffffffu), code, n * 4);
	v.c->pc = CODE;
	v.c->npc = CODE + 4;
	return v;
}

static void vm_free(struct vm *v)
{
	free(v->c);
	free(v->ram);
}

/* Run until n more instructions retired or a stop other than the budget. */
static enum mips_stop run_n(struct mips_cpu *c, uint64_t n)
{
	uint64_t end = c->icount + n;

	while (c->icount < end) {
		enum mips_stop s = mips_cpu_run(c, (int)(end - c->icount));

		if (s != MIPS_STOP_BUDGET)
			return s;
	}
	return MIPS_STOP_BUDGET;
}

static unsigned exc_code(const struct mips_cpu *c)
{
	return (c->cause >> 2) & 31;
}

/* Leave BEV/ERL: kernel mode, vectors at EBase 0x80000000. */
#define KERNEL MTC0(0, 12, 0)

TEST(alu_and_overflow)
{
	uint32_t code[] = {
		KERNEL,
		I_(0x0f, 0, 1, 0x7fff), I_(0x0d, 1, 1, 0xffff),  /* r1 = 0x7fffffff */
		I_(0x09, 1, 2, 1),                               /* addiu: wraps, no trap */
		R_(1, 1, 3, 0, 0x21),                            /* addu */
		I_(0x0a, 2, 4, 0),                               /* slti r4 = r2 < 0 */
		I_(0x0b, 0, 5, 0xffff),                          /* sltiu 0 < 0xffffffff */
		R_(0, 1, 6, 0, 0x27),                            /* nor */
		I_(0x08, 1, 7, 1),                               /* addi: overflow */
	};
	struct vm v = vm_new(code, 9);

	run_n(v.c, 9);
	CHECK_EQ(v.c->r[2], 0x80000000u);
	CHECK_EQ(v.c->r[3], 0xfffffffeu);
	CHECK_EQ(v.c->r[4], 1);
	CHECK_EQ(v.c->r[5], 1);
	CHECK_EQ(v.c->r[6], 0x80000000u);
	CHECK_EQ(v.c->r[7], 0);          /* not written */
	CHECK_EQ(exc_code(v.c), EXC_OV);
	CHECK_EQ(v.c->epc, CODE + 8 * 4);
	CHECK_EQ(v.c->pc, 0x80000180u);
	CHECK(v.c->status & ST_EXL);
	vm_free(&v);
}

TEST(shifts_and_bitfields)
{
	uint32_t code[] = {
		KERNEL,
		I_(0x0f, 0, 1, 0x1234), I_(0x0d, 1, 1, 0x5678),   /* r1 = 0x12345678 */
		R_(1, 1, 2, 8, 0x02),                              /* rotr r2, r1, 8 */
		R_(0, 1, 3, 4, 0x03),                              /* sra */
		0x7c000000u | 1u << 21 | 4u << 16 | 31u << 11 | 0u << 6,   /* ext r4, r1, 0, 32 */
		0x7c000000u | 1u << 21 | 5u << 16 | 3u << 11 | 4u << 6,    /* ext r5, r1, 4, 4 */
		0x7c000004u | 0u << 21 | 1u << 16 | 15u << 11 | 8u << 6,   /* ins r1, zero, 8, 8 */
		0x7c000020u | 1u << 16 | 6u << 11 | 0x02u << 6,            /* wsbh r6, r1 */
		0x7c000020u | 1u << 16 | 7u << 11 | 0x10u << 6,            /* seb r7, r1 */
		0x7c000020u | 1u << 16 | 8u << 11 | 0x18u << 6,            /* seh r8, r1 */
		0x70000020u | 0u << 21 | 9u << 11,                         /* clz r9, zero */
		0x70000021u | 0u << 21 | 10u << 11,                        /* clo r10, zero */
		I_(0x09, 0, 11, 3), R_(11, 1, 12, 0, 0x06) | 1u << 6,      /* rotrv by 3 */
	};
	struct vm v = vm_new(code, sizeof(code) / 4);

	run_n(v.c, sizeof(code) / 4);
	CHECK_EQ(v.c->r[2], 0x78123456u);
	CHECK_EQ(v.c->r[3], 0x01234567u);
	CHECK_EQ(v.c->r[4], 0x12345678u);
	CHECK_EQ(v.c->r[5], 0x7u);
	CHECK_EQ(v.c->r[1], 0x12340078u);
	CHECK_EQ(v.c->r[6], 0x34127800u);
	CHECK_EQ(v.c->r[7], 0x78u);
	CHECK_EQ(v.c->r[8], 0x78u);
	CHECK_EQ(v.c->r[9], 32);
	CHECK_EQ(v.c->r[10], 0);
	CHECK_EQ(v.c->r[12], (0x12340078u >> 3) | (0x12340078u << 29));
	vm_free(&v);
}

TEST(multiply_divide)
{
	uint32_t code[] = {
		KERNEL,
		I_(0x0f, 0, 1, 0x8000),                 /* r1 = INT_MIN */
		I_(0x09, 0, 2, 0xffff),                 /* r2 = -1 */
		R_(1, 2, 0, 0, 0x1a),                   /* div INT_MIN / -1: no trap */
		R_(0, 0, 3, 0, 0x12),                   /* mflo */
		R_(1, 0, 0, 0, 0x1b),                   /* divu by 0: no crash */
		R_(2, 2, 0, 0, 0x18),                   /* mult -1 * -1 */
		0x70000000u | 2u << 21 | 2u << 16,      /* madd += 1 */
		R_(0, 0, 4, 0, 0x12), R_(0, 0, 5, 0, 0x10),
		0x70000004u | 1u << 21 | 2u << 16,      /* msub -= INT_MIN * -1 */
		R_(0, 0, 6, 0, 0x10),
		0x70000002u | 2u << 21 | 1u << 16 | 7u << 11, /* mul */
	};
	struct vm v = vm_new(code, sizeof(code) / 4);

	run_n(v.c, sizeof(code) / 4);
	CHECK_EQ(v.c->r[3], 0x80000000u);
	CHECK_EQ(v.c->r[4], 2);
	CHECK_EQ(v.c->r[5], 0);
	CHECK_EQ(v.c->r[6], 0xffffffffu); /* 2 - 2^31 */
	CHECK_EQ(v.c->r[7], 0x80000000u);
	vm_free(&v);
}

TEST(branches_delay_slots)
{
	uint32_t code[] = {
		KERNEL,
		I_(0x04, 0, 0, 3),          /* beq taken -> +4 insns from slot */
		I_(0x09, 0, 1, 1),          /* slot: runs */
		I_(0x09, 0, 2, 2),          /* skipped */
		I_(0x09, 0, 2, 3),          /* skipped */
		I_(0x15, 0, 0, 5),          /* bnel not taken: slot skipped */
		I_(0x09, 0, 3, 7),          /* skipped */
		0x0c000000u | ((CODE + 10 * 4) >> 2 & 0x3ffffff), /* jal */
		I_(0x09, 0, 4, 4),          /* slot */
		NOP,
		I_(0x05, 0, 1, 2),          /* bne taken; slot faults */
		R_(0, 0, 0, 0, 0x34),       /* teq zero, zero: trap in the slot */
	};
	struct vm v = vm_new(code, sizeof(code) / 4);

	run_n(v.c, 9);
	CHECK_EQ(v.c->r[1], 1);
	CHECK_EQ(v.c->r[2], 0);
	CHECK_EQ(v.c->r[3], 0);
	CHECK_EQ(v.c->r[4], 4);
	CHECK_EQ(v.c->r[31], CODE + 9 * 4);
	CHECK_EQ(exc_code(v.c), EXC_TR);
	CHECK(v.c->cause & CA_BD);
	CHECK_EQ(v.c->epc, CODE + 10 * 4); /* the branch */
	vm_free(&v);
}

TEST(loads_stores_unaligned)
{
	uint32_t code[] = {
		KERNEL,
		I_(0x0f, 0, 8, 0x8000), I_(0x0d, 8, 8, 0x8000),   /* r8 = 0x80008000 */
		I_(0x0f, 0, 1, 0x1122), I_(0x0d, 1, 1, 0x3380),   /* r1 = 0x11223380 */
		I_(0x2b, 8, 1, 0), I_(0x2b, 8, 0, 4),             /* sw r1,0; sw 0,4 */
		I_(0x20, 8, 2, 0),                                /* lb: 0x80 -> -128 */
		I_(0x25, 8, 3, 2),                                /* lhu 0x1122 */
		I_(0x22, 8, 4, 4), I_(0x26, 8, 4, 1),             /* lwl 4; lwr 1: word at 1 */
		I_(0x2a, 8, 1, 6), I_(0x2e, 8, 1, 3),             /* swl 6; swr 3: word at 3 */
		I_(0x23, 8, 5, 4),                                /* lw 4 */
		I_(0x23, 8, 6, 2),                                /* lw misaligned: AdEL */
	};
	struct vm v = vm_new(code, sizeof(code) / 4);

	run_n(v.c, sizeof(code) / 4);
	CHECK_EQ(v.c->r[2], 0xffffff80u);
	CHECK_EQ(v.c->r[3], 0x1122);
	CHECK_EQ(v.c->r[4], 0x00112233u);
	CHECK_EQ(v.c->r[5], 0x00112233u);
	CHECK_EQ(v.ram[0x8003], 0x80);
	CHECK_EQ(exc_code(v.c), EXC_ADEL);
	CHECK_EQ(v.c->badvaddr, 0x80008002u);
	vm_free(&v);
}

TEST(ll_sc)
{
	uint32_t code[] = {
		KERNEL,
		I_(0x0f, 0, 8, 0x8000),
		I_(0x30, 8, 1, 0x100),     /* ll */
		I_(0x09, 0, 2, 5),
		I_(0x38, 8, 2, 0x100),     /* sc succeeds: r2 = 1 */
		I_(0x09, 0, 3, 6),
		I_(0x38, 8, 3, 0x100),     /* sc without ll: r3 = 0, no store */
		I_(0x23, 8, 4, 0x100),
	};
	struct vm v = vm_new(code, sizeof(code) / 4);

	run_n(v.c, sizeof(code) / 4);
	CHECK_EQ(v.c->r[2], 1);
	CHECK_EQ(v.c->r[3], 0);
	CHECK_EQ(v.c->r[4], 5);
	vm_free(&v);
}

/* Map useg page 0x00400000 (even) to physical 0x10000, valid; the odd page invalid. */
static void map_page(struct vm *v, int dirty)
{
	uint32_t code[] = {
		I_(0x0f, 0, 1, 0x0040), MTC0(1, 10, 0),                 /* EntryHi VPN2, ASID 0 */
		I_(0x09, 0, 1, (0x10 << 6) | 2 | (dirty ? 4 : 0)), MTC0(1, 2, 0), /* Lo0 */
		MTC0(0, 3, 0), MTC0(0, 0, 0), MTC0(0, 5, 0), TLBWI,     /* Lo1 = 0; index 0 */
	};

	memcpy(v->ram + 0x1004, code, sizeof(code));
}

TEST(tlb_refill_invalid_modified)
{
	struct vm v = vm_new((uint32_t[]){ KERNEL }, 1);
	uint32_t tail[] = {
		I_(0x0f, 0, 8, 0x0040),
		I_(0x09, 0, 9, 0x77), I_(0x28, 8, 9, 0x10),      /* sb: D=0 -> Mod */
	};

	map_page(&v, 0);
	memcpy(v.ram + 0x1024, tail, sizeof(tail));
	run_n(v.c, 12);
	CHECK_EQ(exc_code(v.c), EXC_MOD);
	CHECK_EQ(v.c->pc, 0x80000180u);
	CHECK_EQ(v.c->badvaddr, 0x00400010u);
	vm_free(&v);

	v = vm_new((uint32_t[]){ KERNEL }, 1);
	map_page(&v, 1);
	tail[2] = I_(0x28, 8, 9, 0x10);
	memcpy(v.ram + 0x1024, tail, sizeof(tail));
	((uint32_t *)v.ram)[0x1030 / 4] = I_(0x23, 8, 10, 0x1000);   /* odd page: invalid */
	run_n(v.c, 13);
	CHECK_EQ(v.ram[0x10010], 0x77);
	CHECK_EQ(exc_code(v.c), EXC_TLBL);
	CHECK_EQ(v.c->pc, 0x80000180u); /* invalid, not refill */
	vm_free(&v);

	v = vm_new((uint32_t[]){ KERNEL, I_(0x0f, 0, 8, 0x0100), I_(0x23, 8, 1, 0) }, 3);
	run_n(v.c, 3);
	CHECK_EQ(exc_code(v.c), EXC_TLBL);
	CHECK_EQ(v.c->pc, 0x80000000u); /* refill vector */
	CHECK_EQ(v.c->entryhi & 0xffffe000u, 0x01000000u);
	CHECK_EQ(v.c->tlb_refills, 1);
	vm_free(&v);
}

TEST(user_mode_segments)
{
	/* eret to user mode at 0x00400000 (mapped), which then loads from kseg0. */
	struct vm v = vm_new((uint32_t[]){ KERNEL }, 1);
	uint32_t tail[] = {
		I_(0x0f, 0, 1, 0x0040), MTC0(1, 14, 0),           /* EPC */
		I_(0x09, 0, 1, 0x12), MTC0(1, 12, 0),              /* KSU=user, EXL */
		ERET,
	};

	map_page(&v, 1);
	memcpy(v.ram + 0x1024, tail, sizeof(tail));
	((uint32_t *)v.ram)[0x10000 / 4] = I_(0x0f, 0, 2, 0x8000);
	((uint32_t *)v.ram)[0x10004 / 4] = I_(0x23, 2, 3, 0);   /* lw from kseg0: AdEL */
	run_n(v.c, 16);
	CHECK_EQ(exc_code(v.c), EXC_ADEL);
	CHECK_EQ(v.c->epc, 0x00400004u);
	CHECK_EQ(v.c->badvaddr, 0x80000000u);
	CHECK_EQ(v.c->umode, 0);
	vm_free(&v);
}

TEST(timer_interrupt)
{
	uint32_t code[] = {
		KERNEL,
		I_(0x09, 0, 1, 100), MTC0(1, 11, 0),            /* Compare = 100 */
		I_(0x0d, 0, 1, 0x8001), MTC0(1, 12, 0),         /* ori: IM7 | IE */
		NOP, NOP, NOP,
	};
	struct vm v = vm_new(code, sizeof(code) / 4);

	mips_cpu_set_time(v.c, 0);
	run_n(v.c, 5);
	CHECK(!(v.c->cause & CA_TI));
	CHECK_EQ(mips_cpu_timer_ns(v.c), 100 * MIPS_NS_PER_TICK);
	mips_cpu_set_time(v.c, 100 * MIPS_NS_PER_TICK);
	CHECK(v.c->cause & CA_TI);
	CHECK(mips_cpu_wake_pending(v.c));
	CHECK_EQ(mips_cpu_check_irq(v.c), 1);
	CHECK_EQ(exc_code(v.c), EXC_INT);
	CHECK_EQ(v.c->epc, CODE + 5 * 4);
	CHECK_EQ(v.c->pc, 0x80000180u);
	CHECK_EQ(mips_cpu_check_irq(v.c), 0); /* EXL masks it now */
	vm_free(&v);
}

TEST(external_line_and_wait)
{
	uint32_t code[] = { KERNEL, I_(0x09, 0, 1, 0x1001), MTC0(1, 12, 0), WAIT, NOP };
	struct vm v = vm_new(code, 5);

	CHECK_EQ(run_n(v.c, 10), MIPS_STOP_WAIT);
	CHECK_EQ(v.c->pc, CODE + 4 * 4);
	CHECK(!mips_cpu_wake_pending(v.c));
	mips_cpu_set_hw_ip(v.c, 1u << 4);
	CHECK(mips_cpu_wake_pending(v.c));
	CHECK_EQ(mips_cpu_check_irq(v.c), 1);
	CHECK_EQ(v.c->epc, CODE + 4 * 4);
	mips_cpu_set_hw_ip(v.c, 1u << 3); /* IM3 clear: not pending */
	CHECK(!mips_cpu_wake_pending(v.c));
	vm_free(&v);
}

TEST(mmio_load_store)
{
	uint32_t code[] = {
		KERNEL,
		I_(0x0f, 0, 8, 0xbfd0), I_(0x0d, 8, 8, 0x03f8),  /* kseg1 UART */
		I_(0x09, 0, 1, 0x41), I_(0x28, 8, 1, 0),          /* sb */
		I_(0x20, 8, 2, 5),                                /* lb, sign-extended */
		I_(0x09, 2, 3, 1),
	};
	struct vm v = vm_new(code, sizeof(code) / 4);

	CHECK_EQ(run_n(v.c, 20), MIPS_STOP_MMIO);
	CHECK_EQ(v.c->mmio.pa, 0x1fd003f8u);
	CHECK_EQ(v.c->mmio.is_write, 1);
	CHECK_EQ(v.c->mmio.len, 1);
	CHECK_EQ(v.c->mmio.data[0], 0x41);
	CHECK_EQ(run_n(v.c, 20), MIPS_STOP_MMIO);
	CHECK_EQ(v.c->mmio.pa, 0x1fd003fdu);
	CHECK_EQ(v.c->mmio.is_write, 0);
	v.c->mmio.data[0] = 0xe0;
	mips_cpu_mmio_done(v.c);
	run_n(v.c, 1);
	CHECK_EQ(v.c->r[2], 0xffffffe0u);
	CHECK_EQ(v.c->r[3], 0xffffffe1u);
	vm_free(&v);
}

TEST(reserved_and_unusable)
{
	struct vm v = vm_new((uint32_t[]){ KERNEL, 0x7c03e83bu /* rdhwr $3, $29 */ }, 2);

	run_n(v.c, 2);
	CHECK_EQ(exc_code(v.c), EXC_RI);
	CHECK_EQ(v.c->epc, CODE + 4);
	vm_free(&v);
	v = vm_new((uint32_t[]){ KERNEL, 0x46000000u /* add.s */ }, 2);
	run_n(v.c, 2);
	CHECK_EQ(exc_code(v.c), EXC_CPU);
	CHECK_EQ((v.c->cause >> 28) & 3, 1);
	vm_free(&v);
	v = vm_new((uint32_t[]){ KERNEL, 0xfc000000u /* sdc3: nothing */ }, 2);
	run_n(v.c, 2);
	CHECK_EQ(exc_code(v.c), EXC_RI);
	vm_free(&v);
	v = vm_new((uint32_t[]){ KERNEL, 0x7c02103bu /* rdhwr $2, $2: Count */, 0x0000000cu }, 3);
	run_n(v.c, 3);
	CHECK_EQ(exc_code(v.c), EXC_SYS);
	vm_free(&v);
}

TEST(cp0_identity)
{
	uint32_t code[] = { KERNEL, MFC0(1, 15, 0), MFC0(2, 16, 0), MFC0(3, 16, 1),
			    MFC0(4, 16, 2), MFC0(5, 16, 3), MFC0(6, 12, 1) };
	struct vm v = vm_new(code, 7);

	run_n(v.c, 7);
	CHECK_EQ(v.c->r[1], MIPS_PRID);
	CHECK_EQ(v.c->r[2], MIPS_CONFIG0);
	CHECK_EQ(v.c->r[3], MIPS_CONFIG1);
	CHECK_EQ(v.c->r[4], MIPS_CONFIG2);
	CHECK_EQ(v.c->r[5], MIPS_CONFIG3);
	CHECK_EQ(v.c->r[6] >> 29, 7); /* timer on IP7 */
	vm_free(&v);
}

TEST(unexecutable_pc_is_a_clear_error)
{
	struct vm v = vm_new((uint32_t[]){ KERNEL }, 1);

	v.c->pc = 0xbfd00000u; /* kseg1, not RAM */
	v.c->npc = v.c->pc + 4;
	CHECK_EQ(mips_cpu_run(v.c, 10), MIPS_STOP_ERROR);
	CHECK(strstr(v.c->err, "0xbfd00000") != NULL);
	vm_free(&v);
	/* An exception with BEV set: the boot vectors are not RAM. */
	v = vm_new((uint32_t[]){ 0x0000000du /* break */ }, 1);
	CHECK_EQ(run_n(v.c, 5), MIPS_STOP_ERROR);
	CHECK(strstr(v.c->err, "BEV") != NULL);
	vm_free(&v);
}

TEST_MAIN(T(alu_and_overflow), T(shifts_and_bitfields), T(multiply_divide),
	  T(branches_delay_slots), T(loads_stores_unaligned), T(ll_sc),
	  T(tlb_refill_invalid_modified), T(user_mode_segments), T(timer_interrupt),
	  T(external_line_and_wait), T(mmio_load_store), T(reserved_and_unusable),
	  T(cp0_identity), T(unexecutable_pc_is_a_clear_error))
