/*
 * stats.h: exit accounting. Every KVM exit is counted by reason on the vCPU
 * that took it, and every trapped access by the bus range (device) it hit,
 * so --stats shows what each I/O cost in world switches.
 *
 * Writes buffered by the accelerator instead of exiting (coalesced I/O)
 * are counted apart, as "coalesced", so the exit counts stay exits.
 *
 * Owns: the counter layout and the report. Each vCPU writes only its own
 * struct vcpu_stats (no atomics on the hot path); the report is printed
 * after all vCPU threads have been joined.
 */
#ifndef VMON_STATS_H
#define VMON_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "bus.h"

#define STATS_EXIT_REASONS 64 /* exit reasons in KVM's numbering (accel.h) are below this */

struct vcpu_stats {
	uint64_t exits[STATS_EXIT_REASONS];
	uint64_t exits_other;                  /* reasons >= STATS_EXIT_REASONS */
	uint64_t pio[BUS_MAX_RANGES];          /* per PIO bus range index */
	uint64_t mmio[BUS_MAX_RANGES];         /* per MMIO bus range index */
	uint64_t pio_unclaimed, mmio_unclaimed;
	uint64_t pio_errors;                   /* a device handler returned -errno */
	uint64_t eintr;                        /* KVM_RUN interrupted by a signal */
	/*
	 * Writes the accelerator buffered without an exit (coalesced I/O) and
	 * this vCPU's drain dispatched, whichever vCPU made them: in total,
	 * per bus range, and those no range claimed. Not in exits[].
	 */
	uint64_t coalesced;
	uint64_t pio_coalesced[BUS_MAX_RANGES];
	uint64_t mmio_coalesced[BUS_MAX_RANGES];
	uint64_t coalesced_unclaimed;
};

void stats_count_exit(struct vcpu_stats *s, unsigned reason);

/* Name of a KVM exit reason ("io", "mmio", "shutdown", ...). */
const char *stats_exit_name(unsigned reason);

/* Print the per-vCPU and per-device tables. */
void stats_print(FILE *f, const struct vcpu_stats *per_vcpu, unsigned nr_vcpus,
		 const struct bus *pio, const struct bus *mmio, double seconds);

#endif
