/*
 * rtc.c: CMOS clock subset and its saved state (see rtc.h). Register
 * numbers from the Motorola MC146818A datasheet: 0 seconds, 2 minutes,
 * 4 hours, 6 day of week, 7 day of month, 8 month, 9 year (1, 3, 5 the
 * alarms), 0x0a..0x0d status registers A-D; 0x32 is the century byte by
 * PC convention. Threads as in rtc.h.
 */
#include "rtc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../log.h"

#define RTC_REG_A       0x0a
#define RTC_REG_B       0x0b
#define RTC_REG_C       0x0c
#define RTC_REG_D       0x0d
#define RTC_CENTURY     0x32
#define RTC_A_DEFAULT   0x26 /* 32.768 kHz time base, 1024 Hz rate, UIP clear */
#define RTC_B_24H       0x02 /* 24-hour mode, BCD (DM=0) */
#define RTC_D_VRT       0x80 /* valid RAM and time: battery good */
#define RTC_INDEX_MASK  0x7f /* bit 7 of port 0x70 is the NMI mask */

_Static_assert(RTC_NVRAM == RTC_INDEX_MASK + 1, "every index has its CMOS byte");

/* A slot the guest can write (rtc_write): past the status registers, not the century. */
static int rtc_writable(unsigned reg)
{
	return reg > RTC_REG_D && reg != RTC_CENTURY;
}

static uint8_t rtc_bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_read_reg(struct rtc *r, uint8_t reg)
{
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	switch (reg) {
	case 0x00: return rtc_bcd(tm.tm_sec);
	case 0x02: return rtc_bcd(tm.tm_min);
	case 0x04: return rtc_bcd(tm.tm_hour);
	case 0x06: return rtc_bcd(tm.tm_wday + 1);
	case 0x07: return rtc_bcd(tm.tm_mday);
	case 0x08: return rtc_bcd(tm.tm_mon + 1);
	case 0x09: return rtc_bcd(tm.tm_year % 100);
	case RTC_CENTURY: return rtc_bcd(19 + tm.tm_year / 100);
	case RTC_REG_A: return RTC_A_DEFAULT;
	case RTC_REG_B: return RTC_B_24H;
	case RTC_REG_C: return 0;
	case RTC_REG_D: return RTC_D_VRT;
	default: return r->s.nvram[reg];
	}
}

static int rtc_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct rtc *r = dev;
	uint8_t v;

	pthread_mutex_lock(&r->lock);
	v = off == 0 ? r->s.index : rtc_read_reg(r, r->s.index);
	pthread_mutex_unlock(&r->lock);
	memset(data, v, len);
	return 0;
}

static int rtc_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct rtc *r = dev;
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	pthread_mutex_lock(&r->lock);
	if (off == 0)
		r->s.index = v & RTC_INDEX_MASK;
	else if (rtc_writable(r->s.index))
		r->s.nvram[r->s.index] = v; /* clock and status writes are ignored */
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void rtc_reset(void *dev)
{
	struct rtc *r = dev;

	pthread_mutex_lock(&r->lock);
	memset(&r->s, 0, sizeof(r->s));
	pthread_mutex_unlock(&r->lock);
}

/* Format in rtc.h; load reads the fields back in this order. */
static int rtc_save(void *dev, struct snap_out *out)
{
	struct rtc *r = dev;

	pthread_mutex_lock(&r->lock);
	snap_put_u8(out, r->s.index);
	snap_put_bytes(out, r->s.nvram, sizeof(r->s.nvram));
	pthread_mutex_unlock(&r->lock);
	return snap_out_error(out);
}

/* One refused field: log it (once per load) and mark the input bad. */
static int rtc_bad(struct snap_in *in, const char *field, unsigned v)
{
	log_warn("mc146818-rtc: saved state: %s = %#x is out of range", field, v);
	return snap_in_fail(in);
}

static int rtc_state_check(const struct rtc_state *s, struct snap_in *in)
{
	if (s->index & ~RTC_INDEX_MASK)
		return rtc_bad(in, "index", s->index);
	for (unsigned i = 0; i < RTC_NVRAM; i++) {
		if (!rtc_writable(i) && s->nvram[i]) {
			log_warn("mc146818-rtc: saved state: nvram[%#x] = %#x in a read-only slot", i,
				 s->nvram[i]);
			return snap_in_fail(in);
		}
	}
	return 0;
}

/* Decode and check a section into s. 0 or -EINVAL (logged). */
static int rtc_state_get(struct rtc_state *s, struct snap_in *in)
{
	s->index = snap_get_u8(in);
	snap_get_bytes(in, s->nvram, sizeof(s->nvram));
	if (dev_load_whole(in, "mc146818-rtc"))
		return -EINVAL;
	return rtc_state_check(s, in) ? -EINVAL : 0;
}

/* All or nothing: a refused section leaves the clock reset. */
static int rtc_load(void *dev, struct snap_in *in)
{
	struct rtc *r = dev;
	struct rtc_state s;

	if (rtc_state_get(&s, in)) {
		rtc_reset(r);
		return -EINVAL;
	}
	pthread_mutex_lock(&r->lock);
	r->s = s;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void rtc_destroy(void *dev)
{
	struct rtc *r = dev;

	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

const struct dev_ops rtc_ops = {
	.kind = "mc146818-rtc",
	.read = rtc_read,
	.write = rtc_write,
	.reset = rtc_reset,
	.save = rtc_save,
	.load = rtc_load,
	.stats = dev_nop_stats,
	.destroy = rtc_destroy,
};

int rtc_new(struct rtc **out)
{
	struct rtc *r;
	int ret;

	if (!out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	ret = pthread_mutex_init(&r->lock, NULL);
	if (ret) {
		free(r);
		return -ret;
	}
	*out = r;
	return 0;
}
