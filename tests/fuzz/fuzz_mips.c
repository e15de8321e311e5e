/*
 * fuzz_mips.c: libFuzzer harness for the MIPS32 interpreter
 * (src/accel/mips/cpu.c): arbitrary instruction words run in kernel and
 * (after eret) user mode over 64 KiB of RAM, with device accesses answered,
 * the clock advanced and interrupt lines toggled between runs, the way
 * accel/mips/accel.c drives the CPU.
 *
 * Input: bytes 0-3 pick the line and time pattern; the rest is copied to
 * physical 0x1000 (the code, also the refill/general vectors' page is
 * left zero = nop slides to the code's start) and reached at 0x80001000.
 * Checked after every run: r0 is 0, the stop reason is one of the four,
 * an ERROR carries a message naming the PC, an MMIO stop lies outside RAM
 * with a length of 1, 2 or 4, and retired instructions never exceed the
 * budgets given.
 * Threads: libFuzzer's one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accel/mips/cpu.h"

#define FZ_RAM (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mips_cpu c;
	static uint8_t ram[FZ_RAM];
	uint64_t given = 0, now = 0;
	uint32_t pattern = 0;

	if (size < 4)
		return 0;
	memcpy(&pattern, data, 4);
	data += 4;
	size -= 4;
	if (size > FZ_RAM - 0x1000)
		size = FZ_RAM - 0x1000;
	memset(ram, 0, sizeof(ram));
	memcpy(ram + 0x1000, data, size);
	mips_cpu_reset(&c, ram, FZ_RAM);
	c.status = 0; /* BEV and ERL off: vectors in RAM at 0x80000000 */
	c.pc = 0x80001000u;
	c.npc = c.pc + 4;
	/* A jump back to the code from the general and refill vectors. */
	for (uint32_t v = 0; v <= 0x200; v += 0x180) {
		uint32_t j = 0x08000000u | ((0x80001000u >> 2) & 0x3ffffff), eret = 0x42000018u;

		memcpy(ram + v, (v == 0x180) ? &eret : &j, 4);
	}
	for (int run = 0; run < 64; run++) {
		enum mips_stop s;

		now += (pattern & 0xff) * 37u;
		mips_cpu_set_time(&c, now);
		mips_cpu_set_hw_ip(&c, (pattern >> (run % 24)) & 0x7c);
		mips_cpu_check_irq(&c);
		s = mips_cpu_run(&c, 256);
		given += 256;
		if (c.r[0] != 0 || c.icount > given)
			abort();
		switch (s) {
		case MIPS_STOP_BUDGET:
		case MIPS_STOP_WAIT:
			break;
		case MIPS_STOP_MMIO:
			if (c.mmio.pa < FZ_RAM - 3 && c.mmio.pa + c.mmio.len <= FZ_RAM)
				abort();
			if (c.mmio.len != 1 && c.mmio.len != 2 && c.mmio.len != 4)
				abort();
			memset(c.mmio.data, (int)(pattern >> 8), sizeof(c.mmio.data));
			mips_cpu_mmio_done(&c);
			break;
		case MIPS_STOP_ERROR:
			if (!strstr(c.err, "PC") && !strstr(c.err, "EPC"))
				abort();
			return 0;
		default:
			abort();
		}
	}
	return 0;
}
