/*
 * snapshot/genid.c: drawing VM generation IDs and the restore clock
 * arithmetic (see genid.h). No state; any thread.
 */
#include "snapshot/genid.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

void snap_genid_new(uint8_t genid[SNAP_GENID_LEN])
{
	static const uint8_t zero[SNAP_GENID_LEN];

	do
		randombytes_buf(genid, SNAP_GENID_LEN);
	while (!memcmp(genid, zero, SNAP_GENID_LEN)); /* all zero reads as "no ID" */
}

uint64_t snap_clock_advance(uint64_t clock_ns, uint64_t then_ns, uint64_t now_ns)
{
	uint64_t gap;

	if (!then_ns || now_ns <= then_ns)
		return clock_ns;
	gap = now_ns - then_ns;
	return clock_ns > UINT64_MAX - gap ? UINT64_MAX : clock_ns + gap;
}

uint64_t snap_wall_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
