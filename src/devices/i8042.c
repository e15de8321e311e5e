/*
 * i8042.c: keyboard controller and its saved state (see i8042.h). Command
 * numbers and bits from the IBM PC/AT Technical Reference (8042 and
 * keyboard commands), as Linux's include/linux/i8042.h names them.
 *
 * Owns the controller's state; threads as in i8042.h. Lock order: the
 * device mutex is a leaf; the reset callback stops vCPUs (it waits for
 * them, and a vCPU may be blocked on this mutex), so it runs unlocked.
 */
#include "i8042.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../log.h"

/* Status register. */
#define STR_OBF     0x01 /* output buffer full: data for the guest */
#define STR_SYS     0x04 /* system flag: self-test passed */
#define STR_KEYLOCK 0x10 /* set: keyboard not inhibited by the keylock */

/* Command byte (CTR). */
#define CTR_KBDINT  0x01
#define CTR_SYSFLAG 0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40 /* translate the keyboard's set 2 scancodes to set 1 */
/* Power-on command byte, as firmware leaves it: translate, system flag, keyboard interrupt. */
#define CTR_POWER_ON (CTR_XLATE | CTR_SYSFLAG | CTR_KBDINT) /* 0x45 */

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

/* Offsets in the range from I8042_DATA_PORT. */
#define OFF_DATA    0
#define OFF_COMMAND (I8042_COMMAND_PORT - I8042_DATA_PORT)

/* A byte is ready at port 0x60: pulse IRQ 1 if the guest enabled it. Lock held. */
static void i8042_raise(struct i8042 *k)
{
	if (!(k->s.ctr & CTR_KBDINT))
		return;
	irq_line_set(&k->irq, 1); /* ISA IRQs are edge-triggered: pulse */
	irq_line_set(&k->irq, 0);
}

/* Queue a byte for the guest; interrupt when the queue was empty. Lock held. */
static void i8042_push(struct i8042 *k, uint8_t v)
{
	if (k->s.out_n == I8042_OUTQ) {
		k->dropped++; /* a real controller would overrun too */
		return;
	}
	k->s.outq[(k->s.out_head + k->s.out_n) % I8042_OUTQ] = v;
	if (k->s.out_n++ == 0)
		i8042_raise(k);
}

/* A read of port 0x60: the oldest queued byte. Lock held. */
static uint8_t i8042_data_in(struct i8042 *k)
{
	struct i8042_state *s = &k->s;

	if (!s->out_n)
		return s->last; /* an empty buffer still reads its last byte, as on hardware */
	s->last = s->outq[s->out_head];
	s->out_head = (s->out_head + 1) % I8042_OUTQ;
	if (--s->out_n)
		i8042_raise(k); /* the next byte is ready */
	return s->last;
}

/* A read of port 0x64: the status register. Lock held. */
static uint8_t i8042_status(const struct i8042 *k)
{
	return STR_SYS | STR_KEYLOCK | (k->s.out_n ? STR_OBF : 0);
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
	uint8_t cmd = k->s.pending_cmd;

	k->s.pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->s.ctr = v;
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

/* A write of port 0x64: returns 1 if the command asks for a CPU reset. Lock held. */
static int i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->s.pending_cmd = 0;
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_push(k, k->s.ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		k->s.pending_cmd = cmd; /* the data byte follows on port 0x60 */
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
		k->s.ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_EN:
		k->s.ctr &= (uint8_t)~CTR_AUXDIS;
		break;
	case CMD_KBD_DIS:
		k->s.ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_EN:
		k->s.ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		i8042_push(k, OUTP_RESET_BIT);
		break;
	case CMD_RESET:
		return 1;
	default:
		break;
	}
	return 0;
}

/*
 * Only byte accesses at offsets 0 and 4 reach the controller. Each port was
 * once its own one-byte range, so a wider access or offsets 1-3 were never
 * claimed: they still read all ones and are ignored, as unclaimed ports.
 */
static int i8042_claims(uint64_t off, unsigned len)
{
	return len == 1 && (off == OFF_DATA || off == OFF_COMMAND);
}

static int i8042_bus_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct i8042 *k = dev;
	uint8_t v;

	if (!i8042_claims(off, len))
		return dev_nop_read(dev, off, data, len);
	pthread_mutex_lock(&k->lock);
	v = off == OFF_DATA ? i8042_data_in(k) : i8042_status(k);
	pthread_mutex_unlock(&k->lock);
	*(uint8_t *)data = v;
	return 0;
}

static int i8042_bus_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct i8042 *k = dev;
	uint8_t v = *(const uint8_t *)data;
	int reset;

	if (!i8042_claims(off, len))
		return dev_nop_write(dev, off, data, len);
	pthread_mutex_lock(&k->lock);
	reset = off == OFF_DATA ? i8042_data_byte(k, v) : i8042_command(k, v);
	k->reset_pulses += (unsigned)reset;
	pthread_mutex_unlock(&k->lock);
	/* Outside the lock: the callback stops vCPUs (see the lock order above). */
	if (reset && k->reset)
		k->reset(k->reset_ctx);
	return 0;
}

static void i8042_state_power_on(struct i8042_state *s)
{
	memset(s, 0, sizeof(*s));
	s->ctr = CTR_POWER_ON;
}

/* The IRQ is an edge (pulsed per byte): nothing to lower on reset. */
static void i8042_reset(void *dev)
{
	struct i8042 *k = dev;

	pthread_mutex_lock(&k->lock);
	i8042_state_power_on(&k->s);
	pthread_mutex_unlock(&k->lock);
}

_Static_assert(I8042_OUTQ <= UINT8_MAX, "out_head and out_n are saved as u8");

/* Format in i8042.h; load reads the fields back in this order. */
static int i8042_save(void *dev, struct snap_out *out)
{
	struct i8042 *k = dev;
	const struct i8042_state *s = &k->s;

	pthread_mutex_lock(&k->lock);
	snap_put_u8(out, s->ctr);
	snap_put_u8(out, s->pending_cmd);
	snap_put_u8(out, s->last);
	snap_put_u8(out, (uint8_t)s->out_head);
	snap_put_u8(out, (uint8_t)s->out_n);
	snap_put_bytes(out, s->outq, sizeof(s->outq));
	pthread_mutex_unlock(&k->lock);
	return snap_out_error(out);
}

/* One refused field: log it (once per load) and mark the input bad. */
static int i8042_bad(struct snap_in *in, const char *field, unsigned v)
{
	log_warn("i8042: saved state: %s = %#x is out of range", field, v);
	return snap_in_fail(in);
}

/* The commands that wait for a data byte (i8042_command). */
static int i8042_takes_data(uint8_t cmd)
{
	return cmd == CMD_WRITE_CTR || cmd == CMD_WRITE_OUTP || cmd == CMD_KBD_LOOP ||
	       cmd == CMD_AUX_LOOP || cmd == CMD_AUX_SEND;
}

static int i8042_state_check(const struct i8042_state *s, struct snap_in *in)
{
	if (s->pending_cmd && !i8042_takes_data(s->pending_cmd))
		return i8042_bad(in, "pending_cmd", s->pending_cmd);
	if (s->out_head >= I8042_OUTQ)
		return i8042_bad(in, "out_head", s->out_head);
	if (s->out_n > I8042_OUTQ)
		return i8042_bad(in, "out_n", s->out_n);
	return 0;
}

/* Decode and check a section into s. 0 or -EINVAL (logged). */
static int i8042_state_get(struct i8042_state *s, struct snap_in *in)
{
	s->ctr = snap_get_u8(in);
	s->pending_cmd = snap_get_u8(in);
	s->last = snap_get_u8(in);
	s->out_head = snap_get_u8(in);
	s->out_n = snap_get_u8(in);
	snap_get_bytes(in, s->outq, sizeof(s->outq));
	if (dev_load_whole(in, "i8042"))
		return -EINVAL;
	return i8042_state_check(s, in) ? -EINVAL : 0;
}

/* All or nothing: a refused section leaves the controller reset. */
static int i8042_load(void *dev, struct snap_in *in)
{
	struct i8042 *k = dev;
	struct i8042_state s;

	if (i8042_state_get(&s, in)) {
		i8042_reset(k);
		return -EINVAL;
	}
	pthread_mutex_lock(&k->lock);
	k->s = s;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static unsigned i8042_stats(void *dev, struct dev_stat *out, unsigned max)
{
	struct i8042 *k = dev;
	struct dev_stat st[3];
	unsigned n = max < 3 ? max : 3;

	pthread_mutex_lock(&k->lock);
	st[0] = (struct dev_stat){ "ctrl_alt_del", k->ctrl_alt_del };
	st[1] = (struct dev_stat){ "reset_pulses", k->reset_pulses };
	st[2] = (struct dev_stat){ "dropped", k->dropped };
	pthread_mutex_unlock(&k->lock);
	memcpy(out, st, n * sizeof(st[0]));
	return n;
}

static void i8042_destroy(void *dev)
{
	struct i8042 *k = dev;

	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

const struct dev_ops i8042_ops = {
	.kind = "i8042",
	.read = i8042_bus_read,
	.write = i8042_bus_write,
	.reset = i8042_reset,
	.save = i8042_save,
	.load = i8042_load,
	.stats = i8042_stats,
	.destroy = i8042_destroy,
};

int i8042_new(const struct irq_line *irq, void (*reset)(void *ctx), void *ctx,
	      struct i8042 **out)
{
	struct i8042 *k;
	int ret;

	if (!out)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	ret = pthread_mutex_init(&k->lock, NULL);
	if (ret) {
		free(k);
		return -ret;
	}
	if (irq)
		k->irq = *irq;
	k->reset = reset;
	k->reset_ctx = ctx;
	i8042_state_power_on(&k->s);
	*out = k;
	return 0;
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
	seq = (k->s.ctr & CTR_XLATE) ? set1 : set2;
	n = (k->s.ctr & CTR_XLATE) ? sizeof(set1) : sizeof(set2);
	if (k->s.out_n + n > I8042_OUTQ) {
		ret = -ENOSPC;
	} else {
		for (size_t i = 0; i < n; i++)
			i8042_push(k, seq[i]);
		k->ctrl_alt_del++;
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}
