/*
 * fuzz_i8042.c: libFuzzer harness for the PC keyboard controller
 * (src/devices/i8042.c): a hostile guest's port I/O at 0x60-0x64 of every
 * width, the host's Ctrl-Alt-Del, VM reset, and saved state (real saves
 * and hostile bytes) loaded between accesses.
 *
 * Owns: per input, one controller (i8042_new) whose IRQ line and reset
 * callback are counters here, and a model of the one thing the guest can
 * do that matters to the VM: request a reset. Torn down after each input.
 * Threads: libFuzzer's one.
 *
 * Input: ops until the input ends, each an opcode byte (mod 8) and operands:
 *   0 write   u8 offset (mod 5), u8 width (1 << (v % 3)), u8 value
 *   1 read    u8 offset (mod 5), u8 width
 *   2 command u8 value to port 0x64 (byte access)
 *   3 data    u8 value to port 0x60 (byte access)
 *   4 Ctrl-Alt-Del from the host
 *   5 save, load it back, save again (byte for byte the same)
 *   6 load    u8 n, n hostile bytes (0 or -EINVAL; refused: power-on state)
 *   7 VM reset
 * Checked after every op: the reset callback ran exactly as often as the
 * guest wrote command 0xfe, or command 0xd1 followed by a data byte with
 * bit 0 clear (the model tracks the pending command), and reset_pulses
 * agrees; the output queue's head and count stay inside the ring; the
 * status register's OBF bit is set exactly when bytes are queued; the
 * pending command is one that takes a data byte; no IRQ pulse while the
 * command byte has keyboard interrupts off; a wide access or offsets 1-3
 * read all ones and change nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/i8042.h"
#include "fuzz.h"
#include "log.h"
#include "snapshot/stream.h"

#define NR_OPS 8

struct fz {
	struct i8042 *k;
	unsigned resets;   /* reset callbacks seen */
	unsigned expected; /* reset requests the model saw */
	uint8_t pending;   /* the model's pending command */
	unsigned pulses;   /* rising edges on IRQ 1 */
	int level;
};

static struct fz fz;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR);
	return 0;
}

static int fz_irq(void *ctx, unsigned gsi, int level)
{
	(void)ctx;
	FUZZ_CHECK_EQ(gsi, I8042_IRQ);
	if (level && !fz.level)
		fz.pulses++;
	fz.level = level;
	return 0;
}

static void fz_reset(void *ctx)
{
	FUZZ_CHECK(ctx == &fz);
	fz.resets++;
}

static int takes_data(uint8_t cmd)
{
	return cmd == 0x60 || (cmd >= 0xd1 && cmd <= 0xd4);
}

/* The model: what a byte access to port 0x60 + off means for a reset request. */
static void model_write(unsigned off, uint8_t v)
{
	if (off == 4) {
		if (v == 0xfe)
			fz.expected++;
		fz.pending = takes_data(v) ? v : 0;
	} else if (off == 0) {
		if (fz.pending == 0xd1 && !(v & 1))
			fz.expected++;
		fz.pending = 0;
	}
}

static void port_access(unsigned off, unsigned len, uint8_t val, int is_write)
{
	uint8_t buf[4], before = fz.k->s.ctr;
	unsigned out_n = fz.k->s.out_n, pulses = fz.pulses;

	memset(buf, val, sizeof(buf));
	if (is_write) {
		FUZZ_CHECK_EQ(i8042_ops.write(fz.k, off, buf, len), 0);
		if (len == 1)
			model_write(off, val);
	} else {
		FUZZ_CHECK_EQ(i8042_ops.read(fz.k, off, buf, len), 0);
	}
	if (len != 1 || (off != 0 && off != 4)) { /* unclaimed: all ones, no effect */
		if (!is_write)
			for (unsigned i = 0; i < len; i++)
				FUZZ_CHECK_EQ(buf[i], 0xff);
		FUZZ_CHECK_EQ(fz.k->s.out_n, out_n);
		FUZZ_CHECK_EQ(fz.pulses, pulses);
		return;
	}
	if (!is_write && off == 4)
		FUZZ_CHECK_EQ(buf[0] & 1, out_n ? 1 : 0); /* OBF */
	if (!(before & 1) && !(fz.k->s.ctr & 1))
		FUZZ_CHECK_EQ(fz.pulses, pulses); /* keyboard interrupt off throughout */
}

static void round_trip(void)
{
	struct snap_out a, b;
	struct snap_in in;

	snap_out_init(&a);
	snap_out_init(&b);
	FUZZ_CHECK_EQ(i8042_ops.save(fz.k, &a), 0);
	snap_in_init(&in, a.buf, a.len);
	FUZZ_CHECK_EQ(i8042_ops.load(fz.k, &in), 0);
	FUZZ_CHECK_EQ(i8042_ops.save(fz.k, &b), 0);
	FUZZ_CHECK_EQ(a.len, b.len);
	FUZZ_CHECK(memcmp(a.buf, b.buf, a.len) == 0);
	snap_out_free(&a);
	snap_out_free(&b);
}

static void hostile_load(struct fuzz_in *in)
{
	uint8_t buf[32];
	unsigned n = fuzz_u8(in) % (sizeof(buf) + 1);
	struct snap_in si;
	int ret;

	for (unsigned i = 0; i < n; i++)
		buf[i] = fuzz_u8(in);
	snap_in_init(&si, buf, n);
	ret = i8042_ops.load(fz.k, &si);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret) {
		FUZZ_CHECK_EQ(fz.k->s.ctr, 0x45); /* power-on, never half-loaded */
		FUZZ_CHECK_EQ(fz.k->s.out_n, 0);
	} else {
		round_trip();
	}
	fz.pending = fz.k->s.pending_cmd; /* the model follows what was loaded */
}

static void invariants(void)
{
	const struct i8042_state *s = &fz.k->s;
	struct dev_stat st[4];
	unsigned n = i8042_ops.stats(fz.k, st, 4);
	uint64_t pulses = ~0ULL;

	FUZZ_CHECK(s->out_head < I8042_OUTQ);
	FUZZ_CHECK(s->out_n <= I8042_OUTQ);
	FUZZ_CHECK(!s->pending_cmd || takes_data(s->pending_cmd));
	FUZZ_CHECK_EQ(s->pending_cmd, fz.pending);
	FUZZ_CHECK_EQ(fz.resets, fz.expected);
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(st[i].key, "reset_pulses"))
			pulses = st[i].value;
	FUZZ_CHECK_EQ(pulses, fz.expected);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { .p = data, .left = size };
	struct irq_line irq = { .set = fz_irq, .ctx = &fz, .gsi = I8042_IRQ };
	unsigned off, len;

	memset(&fz, 0, sizeof(fz));
	FUZZ_SETUP(i8042_new(&irq, fz_reset, &fz, &fz.k) == 0);
	invariants();
	while (in.left) {
		switch (fuzz_u8(&in) % NR_OPS) {
		case 0:
			off = fuzz_u8(&in) % I8042_NR_PORTS;
			len = 1u << (fuzz_u8(&in) % 3);
			port_access(off, len, fuzz_u8(&in), 1);
			break;
		case 1:
			off = fuzz_u8(&in) % I8042_NR_PORTS;
			len = 1u << (fuzz_u8(&in) % 3);
			port_access(off, len, 0, 0);
			break;
		case 2:
			port_access(4, 1, fuzz_u8(&in), 1);
			break;
		case 3:
			port_access(0, 1, fuzz_u8(&in), 1);
			break;
		case 4: {
			int ret = i8042_send_ctrl_alt_del(fz.k);

			FUZZ_CHECK(ret == 0 || ret == -ENOSPC);
			break;
		}
		case 5:
			round_trip();
			break;
		case 6:
			hostile_load(&in);
			break;
		default:
			i8042_ops.reset(fz.k);
			fz.pending = 0;
			FUZZ_CHECK_EQ(fz.k->s.ctr, 0x45);
			break;
		}
		invariants();
	}
	i8042_ops.destroy(fz.k);
	return 0;
}
