/*
 * i8042.c: keyboard controller (see i8042.h). Command numbers and bits
 * from the IBM PC/AT Technical Reference (8042 and keyboard commands), as
 * Linux's include/linux/i8042.h names them.
 */
#include "i8042.h"

#include <errno.h>
#include <string.h>

/* Status register. */
#define STR_OBF     0x01 /* output buffer full: data for the guest */
#define STR_SYS     0x04 /* system flag: self-test passed */
#define STR_KEYLOCK 0x10 /* set: keyboard not inhibited by the keylock */

/* Command byte (CTR). */
#define CTR_KBDINT  0x01
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40 /* translate the keyboard's set 2 scancodes to set 1 */

/* Controller commands (port 0x64). */
#define CMD_READ_CTR   0x20
#define CMD_WRITE_CTR  0x60
#define CMD_AUX_DIS    0xa7
#define CMD_AUX_EN     0xa8
#define CMD_AUX_TEST   0xa9
#define CMD_SELFTEST   0xaa
#define CMD_KBD_TEST   0xab
#define CMD_KBD_DIS    0xad
#define CMD_KBD_EN     0xae
#define CMD_READ_OUTP  0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_KBD_LOOP   0xd2
#define CMD_AUX_LOOP   0xd3
#define CMD_AUX_SEND   0xd4
#define CMD_RESET      0xfe

/* Keyboard commands (port 0x60) and replies. */
#define KBD_ECHO     0xee
#define KBD_GET_ID   0xf2
#define KBD_RESET    0xff
#define KBD_ACK      0xfa
#define KBD_BAT_OK   0xaa /* basic assurance test passed */

#define SELFTEST_OK      0x55
#define PORT_TEST_OK     0x00
#define PORT_TEST_NO_AUX 0x01 /* "clock line stuck low": Linux then has no mouse port */
#define OUTP_RESET_BIT   0x01 /* output port bit 0 low holds the CPU in reset */

/* A byte is ready at port 0x60: pulse IRQ 1 if the guest enabled it. Lock held. */
static void i8042_raise(struct i8042 *k)
{
	if (!(k->ctr & CTR_KBDINT))
		return;
	irq_line_set(&k->irq, 1); /* ISA IRQs are edge-triggered: pulse */
	irq_line_set(&k->irq, 0);
}

/* Queue a byte for the guest; interrupt when the queue was empty. Lock held. */
static void i8042_push(struct i8042 *k, uint8_t v)
{
	if (k->out_n == I8042_OUTQ)
		return; /* a real controller would overrun too */
	k->outq[(k->out_head + k->out_n) % I8042_OUTQ] = v;
	if (k->out_n++ == 0)
		i8042_raise(k);
}

static int i8042_data_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct i8042 *k = dev;
	uint8_t v;

	(void)off;
	pthread_mutex_lock(&k->lock);
	v = k->last; /* an empty buffer still reads its last byte, as on hardware */
	if (k->out_n) {
		v = k->last = k->outq[k->out_head];
		k->out_head = (k->out_head + 1) % I8042_OUTQ;
		if (--k->out_n)
			i8042_raise(k); /* the next byte is ready */
	}
	pthread_mutex_unlock(&k->lock);
	memset(data, v, len);
	return 0;
}

static int i8042_status_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct i8042 *k = dev;
	uint8_t v;

	(void)off;
	pthread_mutex_lock(&k->lock);
	v = STR_SYS | STR_KEYLOCK | (k->out_n ? STR_OBF : 0);
	pthread_mutex_unlock(&k->lock);
	memset(data, v, len);
	return 0;
}

/* A byte for the keyboard itself: ACK it, with the replies probes wait for. Lock held. */
static void i8042_keyboard(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case KBD_ECHO:
		i8042_push(k, KBD_ECHO);
		break;
	case KBD_GET_ID:
		i8042_push(k, KBD_ACK);
		i8042_push(k, 0xab); /* MF2 keyboard ID, two bytes */
		i8042_push(k, 0x83);
		break;
	case KBD_RESET:
		i8042_push(k, KBD_ACK);
		i8042_push(k, KBD_BAT_OK);
		break;
	default:
		i8042_push(k, KBD_ACK); /* LEDs, scancode set, rate, enable: all accepted */
		break;
	}
}

/* Returns 1 if the byte asks for a CPU reset. Lock held. */
static int i8042_data_byte(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		return 0;
	case CMD_WRITE_OUTP:
		return !(v & OUTP_RESET_BIT);
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
		/* Echoed as keyboard data: an AUX loop test then fails, as with no mouse port. */
		i8042_push(k, v);
		return 0;
	case CMD_AUX_SEND:
		return 0; /* no mouse to send to */
	default:
		i8042_keyboard(k, v);
		return 0;
	}
}

static int i8042_data_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct i8042 *k = dev;
	int reset;

	(void)off;
	(void)len;
	pthread_mutex_lock(&k->lock);
	reset = i8042_data_byte(k, *(const uint8_t *)data);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->reset_ctx);
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
	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_push(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		k->pending_cmd = cmd; /* the data byte follows on port 0x60 */
		break;
	case CMD_SELFTEST:
		i8042_push(k, SELFTEST_OK);
		break;
	case CMD_KBD_TEST:
		i8042_push(k, PORT_TEST_OK);
		break;
	case CMD_AUX_TEST:
		i8042_push(k, PORT_TEST_NO_AUX);
		break;
	case CMD_AUX_DIS:
		k->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_EN:
		k->ctr &= (uint8_t)~CTR_AUXDIS;
		break;
	case CMD_KBD_DIS:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_EN:
		k->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		i8042_push(k, OUTP_RESET_BIT);
		break;
	case CMD_RESET:
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
	k->ctr = 0x45; /* translate, system flag, keyboard interrupt, as firmware leaves it */
	return 0;
}

void i8042_connect_irq(struct i8042 *k, const struct irq_line *irq)
{
	pthread_mutex_lock(&k->lock);
	k->irq = *irq;
	pthread_mutex_unlock(&k->lock);
}

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	/* Left Ctrl, left Alt, Delete (an E0-prefixed key) down, then up in reverse. */
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71,
					0xf0, 0x11, 0xf0, 0x14 };
	const uint8_t *seq;
	size_t n;
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	seq = (k->ctr & CTR_XLATE) ? set1 : set2;
	n = (k->ctr & CTR_XLATE) ? sizeof(set1) : sizeof(set2);
	if (k->out_n + n > I8042_OUTQ) {
		ret = -ENOSPC;
	} else {
		for (size_t i = 0; i < n; i++)
			i8042_push(k, seq[i]);
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}
