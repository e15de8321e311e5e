/*
 * i8042.h: the PC keyboard controller, only as far as a VMM needs it.
 *
 * Owns: ports 0x60 (data) and 0x64 (status/command). The one command that
 * matters is 0xfe, "pulse the reset line", which Linux issues for reboot=k:
 * it is reported through the reset callback so the VM can end cleanly.
 * There is no keyboard: status reads say "no data, input buffer empty".
 *
 * Threads: vCPU threads; the state is two bytes under a mutex.
 */
#ifndef VMON_I8042_H
#define VMON_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "../bus.h"

#define I8042_DATA_PORT    0x60
#define I8042_COMMAND_PORT 0x64

struct i8042 {
	pthread_mutex_t lock;
	void (*reset)(void *ctx); /* called on a reset pulse */
	void *reset_ctx;
	uint8_t cmd_byte;    /* controller command byte (command 0x20/0x60) */
	uint8_t pending_cmd; /* command waiting for its data byte, or 0 */
	uint8_t out;         /* byte the next data read returns */
	int out_full;
};

extern const struct bus_dev_ops i8042_ops;         /* port 0x60 */
extern const struct bus_dev_ops i8042_command_ops; /* port 0x64 */

int i8042_init(struct i8042 *k, void (*reset)(void *ctx), void *ctx);
void i8042_destroy(struct i8042 *k);

#endif
