/*
 * rtc.h: a minimal MC146818 CMOS real-time clock at ports 0x70 (index)
 * and 0x71 (data), enough for a guest to read the wall-clock time at boot.
 *
 * Owns: the index register and the clock registers, which report the host's
 * UTC time in BCD, 24-hour mode; the update-in-progress bit is never set,
 * so a guest never waits on it. Writes to the clock are ignored (the guest
 * cannot move host time). Threads: vCPU threads, under the device mutex.
 */
#ifndef VMON_RTC_H
#define VMON_RTC_H

#include <pthread.h>
#include <stdint.h>

#include "../bus.h"

#define RTC_PORT_BASE 0x70
#define RTC_NR_PORTS  2

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t nvram[128]; /* other CMOS bytes: stored, read back */
};

extern const struct bus_dev_ops rtc_ops;

int rtc_init(struct rtc *r);
void rtc_destroy(struct rtc *r);

#endif
