/*
 * i8042.h: the PC keyboard controller with a silent keyboard behind it, one
 * device of the device model (dev.h).
 *
 * Owns: one bus range of I8042_NR_PORTS ports from I8042_DATA_PORT (0x60):
 * offset 0 is the data port, offset 4 the status/command port (0x64);
 * offsets 1-3 (0x61-0x63, not the controller's: 0x61 is the PIT speaker
 * port KVM handles in-kernel) read all ones and ignore writes, as unclaimed
 * ports do. Two things matter:
 *  - command 0xfe (or 0xd1 with bit 0 clear) pulses the reset line, which
 *    Linux uses for reboot=k: reported through the reset callback so the VM
 *    can end cleanly;
 *  - a guest's i8042 driver probes the controller and polls for answers: a
 *    command that is never answered costs it 10,000 polls (each an exit to
 *    vmon) and half a second. So every probe gets the answer a controller
 *    with a keyboard and no mouse (AUX) port gives, and the keyboard ACKs
 *    its commands (with the reset and identify replies) on IRQ 1.
 * Also owns its saved state (i8042_ops.save/load). Does not own what a
 * reset pulse does (the callback's owner) or the interrupt controller.
 *
 * Threads: vCPU threads call the bus ops; the VMM thread calls
 * i8042_send_ctrl_alt_del; reset/save/load run with vCPUs paused; stats
 * from any thread. The state is a few bytes under a mutex, a leaf lock:
 * the reset callback (which stops vCPUs) is called after it is released.
 */
#ifndef VMON_I8042_H
#define VMON_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "../dev.h"
#include "../irq.h"

#define I8042_DATA_PORT    0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_NR_PORTS     5  /* 0x60-0x64: one range, data at offset 0, command at 4 */
#define I8042_IRQ          1  /* keyboard, PC/AT convention */
#define I8042_OUTQ         16 /* room for a whole Ctrl-Alt-Del, make and break */

/* Guest-visible state: what reset sets to power-on and save/load carry. */
struct i8042_state {
	uint8_t ctr;              /* controller command byte (commands 0x20/0x60) */
	uint8_t pending_cmd;      /* command waiting for its data byte, or 0 */
	uint8_t last;             /* what port 0x60 reads when the queue is empty */
	uint8_t outq[I8042_OUTQ]; /* bytes for the guest to read at port 0x60 */
	unsigned out_head, out_n;
};

/* In the header for tests; only i8042.c writes the fields. */
struct i8042 {
	pthread_mutex_t lock;
	void (*reset)(void *ctx); /* called on a reset pulse, lock released; may be NULL */
	void *reset_ctx;
	struct irq_line irq;      /* IRQ 1, pulsed per byte made ready */
	struct i8042_state s;
	/* Host statistics of this instance: not saved, kept across reset and load. */
	uint64_t ctrl_alt_del, reset_pulses, dropped;
};

/*
 * kind "i8042". stats: ctrl_alt_del (sequences queued), reset_pulses (reset
 * requests the guest made), dropped (bytes lost to a full output queue).
 * Only single-byte accesses reach the controller: a wider one reads all ones
 * and is ignored, as when each port was its own one-byte range.
 * Saved state (all u8, 21 bytes): ctr, pending_cmd, last, out_head, out_n,
 * outq[I8042_OUTQ] (the whole ring). load refuses, with -EINVAL: a
 * pending_cmd that takes no data byte (only 0, 0x60, 0xd1-0xd4),
 * out_head >= I8042_OUTQ, out_n > I8042_OUTQ, a short or long section.
 * IRQ 1 is an edge: load replays none (a pulse already sent is the
 * interrupt controller's state). destroy frees what i8042_new allocated.
 */
extern const struct dev_ops i8042_ops;

/*
 * A controller as firmware leaves it (command byte 0x45: translate, system
 * flag, keyboard interrupt; queue empty) on irq (copied; NULL: no line).
 * reset(ctx) is called on a reset pulse, outside the device lock (NULL:
 * ignored). 0, -EINVAL (out NULL) or -ENOMEM/-errno; free with
 * i8042_ops.destroy.
 */
int i8042_new(const struct irq_line *irq, void (*reset)(void *ctx), void *ctx,
	      struct i8042 **out);
/*
 * Press and release Ctrl-Alt-Del on the keyboard: scancode set 1 when the
 * guest left the controller translating (as Linux does), set 2 otherwise.
 * Returns 0, or -ENOSPC when the output queue cannot take the sequence.
 */
int i8042_send_ctrl_alt_del(struct i8042 *k);

#endif
