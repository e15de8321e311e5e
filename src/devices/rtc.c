/*
 * rtc.c: CMOS clock subset (see rtc.h). Register numbers from the Motorola
 * MC146818A datasheet: 0 seconds, 2 minutes, 4 hours, 6 day of week,
 * 7 day of month, 8 month, 9 year, 0x0a..0x0d status registers A-D;
 * 0x32 is the century byte by PC convention.
 */
#include "rtc.h"

#include <string.h>
#include <time.h>

#define RTC_REG_A       0x0a
#define RTC_REG_B       0x0b
#define RTC_REG_C       0x0c
#define RTC_REG_D       0x0d
#define RTC_CENTURY     0x32
#define RTC_A_DEFAULT   0x26 /* 32.768 kHz time base, 1024 Hz rate, UIP clear */
#define RTC_B_24H       0x02 /* 24-hour mode, BCD (DM=0) */
#define RTC_D_VRT       0x80 /* valid RAM and time: battery good */
#define RTC_INDEX_MASK  0x7f /* bit 7 of port 0x70 is the NMI mask */

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
	default: return r->nvram[reg];
	}
}

static int rtc_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct rtc *r = dev;
	uint8_t v;

	pthread_mutex_lock(&r->lock);
	v = off == 0 ? r->index : rtc_read_reg(r, r->index);
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
		r->index = v & RTC_INDEX_MASK;
	else if (r->index > RTC_REG_D && r->index != RTC_CENTURY)
		r->nvram[r->index] = v; /* clock and status writes are ignored */
	pthread_mutex_unlock(&r->lock);
	return 0;
}

const struct bus_dev_ops rtc_ops = {
	.kind = "mc146818-rtc",
	.read = rtc_read,
	.write = rtc_write,
};

int rtc_init(struct rtc *r)
{
	memset(r, 0, sizeof(*r));
	return -pthread_mutex_init(&r->lock, NULL);
}

void rtc_destroy(struct rtc *r)
{
	pthread_mutex_destroy(&r->lock);
}
