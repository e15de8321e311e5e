/*
 * i8042.h: the PC keyboard controller with a silent keyboard behind it.
 *
 * Owns: ports 0x60 (data) and 0x64 (status/command). Two things matter:
 *  - command 0xfe (or 0xd1 with bit 0 clear) pulses the reset line, which
 *    Linux uses for reboot=k: reported through the reset callback so the VM
 *    can end cleanly;
 *  - a guest's i8042 driver probes the controller and polls for answers: a
 *    command that is never answered costs it 10,000 polls (each an exit to
 *    vmon) and half a second. So every probe gets the answer a controller
 *    with a keyboard and no mouse (AUX) port gives, and the keyboard ACKs
 *    its commands (with the reset and identify replies) on IRQ 1.
 * Threads: vCPU threads; the state is a few bytes under a mutex.
 */
#ifndef VMON_I8042_H
#define VMON_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "../bus.h"
#include "../irq.h"

#define I8042_DATA_PORT    0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_IRQ          1 /* keyboard, PC/AT convention */
#define I8042_OUTQ         16 /* room for a whole Ctrl-Alt-Del, make and break */

struct i8042 {
	pthread_mutex_t lock;
	void (*reset)(void *ctx); /* called on a reset pulse */
	void *reset_ctx;
	struct irq_line irq;      /* IRQ 1; set() NULL until connected */
	uint8_t ctr;              /* controller command byte (commands 0x20/0x60) */
	uint8_t pending_cmd;      /* command waiting for its data byte, or 0 */
	uint8_t outq[I8042_OUTQ]; /* bytes for the guest to read at port 0x60 */
	unsigned out_head, out_n;
	uint8_t last;             /* what port 0x60 reads when the queue is empty */
};

extern const struct bus_dev_ops i8042_ops;         /* port 0x60 */
extern const struct bus_dev_ops i8042_command_ops; /* port 0x64 */

int i8042_init(struct i8042 *k, void (*reset)(void *ctx), void *ctx);
/* Give the controller its keyboard interrupt line. */
void i8042_connect_irq(struct i8042 *k, const struct irq_line *irq);
void i8042_destroy(struct i8042 *k);
/*
 * Press and release Ctrl-Alt-Del on the keyboard: scancode set 1 when the
 * guest left the controller translating (as Linux does), set 2 otherwise.
 * Returns 0, or -ENOSPC when the output queue cannot take the sequence.
 */
int i8042_send_ctrl_alt_del(struct i8042 *k);

#endif
