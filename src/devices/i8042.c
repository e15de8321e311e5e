/*
 * i8042.c: keyboard-controller subset (see i8042.h). Command numbers from
 * the IBM PC/AT Technical Reference (8042 commands 0x20, 0x60, 0xfe).
 */
#include "i8042.h"

#include <errno.h>
#include <string.h>

#define I8042_STATUS_OBF 0x01 /* output buffer full: data for the host */
#define I8042_STATUS_SYS 0x04 /* system flag: self-test passed */

#define I8042_CMD_READ_CB  0x20
#define I8042_CMD_WRITE_CB 0x60
#define I8042_CMD_SELFTEST 0xaa
#define I8042_CMD_RESET    0xfe

/* One-byte registers: the range is one port each, so off is always 0. */
static int i8042_read(void *dev, uint64_t off, void *data, unsigned len, int status)
{
	struct i8042 *k = dev;
	uint8_t v;

	(void)off;
	pthread_mutex_lock(&k->lock);
	if (status) {
		v = I8042_STATUS_SYS | (k->out_full ? I8042_STATUS_OBF : 0);
	} else {
		v = k->out;
		k->out_full = 0;
	}
	pthread_mutex_unlock(&k->lock);
	memset(data, v, len);
	return 0;
}

static int i8042_data_read(void *dev, uint64_t off, void *data, unsigned len)
{
	return i8042_read(dev, off, data, len, 0);
}

static int i8042_status_read(void *dev, uint64_t off, void *data, unsigned len)
{
	return i8042_read(dev, off, data, len, 1);
}

static int i8042_data_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct i8042 *k = dev;

	(void)off;
	(void)len;
	pthread_mutex_lock(&k->lock);
	if (k->pending_cmd == I8042_CMD_WRITE_CB)
		k->cmd_byte = *(const uint8_t *)data;
	k->pending_cmd = 0;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static int i8042_command_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct i8042 *k = dev;
	uint8_t cmd = *(const uint8_t *)data;
	int reset = 0;

	(void)off;
	(void)len;
	pthread_mutex_lock(&k->lock);
	switch (cmd) {
	case I8042_CMD_READ_CB:
		k->out = k->cmd_byte;
		k->out_full = 1;
		break;
	case I8042_CMD_WRITE_CB:
		k->pending_cmd = cmd;
		break;
	case I8042_CMD_SELFTEST:
		k->out = 0x55; /* "test passed" */
		k->out_full = 1;
		break;
	case I8042_CMD_RESET:
		reset = 1;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&k->lock);
	/* Outside the lock: the callback stops vCPUs. */
	if (reset && k->reset)
		k->reset(k->reset_ctx);
	return 0;
}

/* Two ranges share one device: ops per port keep handlers offset-based. */
const struct bus_dev_ops i8042_ops = {
	.kind = "i8042-data",
	.read = i8042_data_read,
	.write = i8042_data_write,
};

const struct bus_dev_ops i8042_command_ops = {
	.kind = "i8042-command",
	.read = i8042_status_read,
	.write = i8042_command_write,
};

int i8042_init(struct i8042 *k, void (*reset)(void *ctx), void *ctx)
{
	int ret;

	memset(k, 0, sizeof(*k));
	ret = pthread_mutex_init(&k->lock, NULL);
	if (ret)
		return -ret;
	k->reset = reset;
	k->reset_ctx = ctx;
	k->cmd_byte = 0x45; /* translate, system flag, keyboard interrupt */
	return 0;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}
