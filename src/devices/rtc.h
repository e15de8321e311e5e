/*
 * rtc.h: a minimal MC146818 CMOS real-time clock at ports 0x70 (index)
 * and 0x71 (data), enough for a guest to read the wall-clock time at boot;
 * one device of the device model (dev.h).
 *
 * Owns: the index register, the CMOS RAM, and the clock registers, which
 * report the host's UTC time in BCD, 24-hour mode; the update-in-progress
 * bit is never set, so a guest never waits on it. Writes to the clock and
 * status registers are ignored (the guest cannot move host time). Also owns
 * its saved state (rtc_ops.save/load). Does not own a periodic or alarm
 * interrupt: there is none, so the RTC has no IRQ line.
 *
 * Threads: vCPU threads call the bus ops; reset/save/load run with vCPUs
 * paused. All under the device mutex.
 */
#ifndef VMON_RTC_H
#define VMON_RTC_H

#include <pthread.h>
#include <stdint.h>

#include "../dev.h"

#define RTC_PORT_BASE 0x70
#define RTC_NR_PORTS  2
#define RTC_NVRAM     128 /* CMOS bytes addressed by the 7-bit index */

/* Guest-visible state: what reset sets to power-on and save/load carry. */
struct rtc_state {
	uint8_t index;
	/* CMOS bytes: stored, read back; clock/status slots stay 0 (never written). */
	uint8_t nvram[RTC_NVRAM];
};

/* In the header for tests; only rtc.c writes the fields. */
struct rtc {
	pthread_mutex_t lock;
	struct rtc_state s;
};

/*
 * kind "mc146818-rtc". stats: none (dev_nop_stats).
 * Saved state (129 bytes): u8 index, nvram[RTC_NVRAM]. The clock is not
 * state: it reads the host clock. load refuses, with -EINVAL: an index
 * above 0x7f (bit 7 of port 0x70 is the NMI mask, never stored), a nonzero
 * byte in a slot the guest cannot write (clock and alarm registers 0x00-0x09,
 * status A-D 0x0a-0x0d, century 0x32), a short or long section.
 * destroy frees what rtc_new allocated.
 */
extern const struct dev_ops rtc_ops;

/* A clock with index 0 and zeroed CMOS RAM. 0, -EINVAL (out NULL) or -ENOMEM/-errno. */
int rtc_new(struct rtc **out);

#endif
