/*
 * fake_machine.h: a struct machine for unit tests, without KVM or an arch.
 *
 * Owns: guest RAM (one flat region at a chosen gpa, page-aligned), both
 * buses, a device list, an I/O loop (created, never started: tests run
 * its handlers by hand), and fake machine ops that record what devices ask
 * of them: irqfd and doorbell answer -ENOTSUP (so the fallback paths run:
 * edges pulse irq_set, doorbells are signalled by the device's register
 * handler), irq_set counts rising edges per line, irq_alloc and mmio_alloc
 * hand out lines and windows from counters, announce records each entry.
 * Does not own machine_* helpers: those are src/machine.c's (the test links
 * the real ones), built on these ops exactly as on a real VM.
 *
 * Use: #include "fake_machine.c" in the test (the unit-test rule links
 * only the test's own file and vmon's sources). Single-threaded.
 */
#ifndef VMON_FAKE_MACHINE_H
#define VMON_FAKE_MACHINE_H

#include <stdint.h>

#include "bus.h"
#include "dev.h"
#include "gmem.h"
#include "ioloop.h"
#include "machine.h"

#define FAKE_MAX_GSI     32
#define FAKE_MAX_RECORDS 32
#define FAKE_GSI_FIRST   5            /* the first line irq_alloc hands out */
#define FAKE_MMIO_FIRST  0xd0000000ULL /* the first window mmio_alloc hands out */
#define FAKE_MAX_ROUTES  16
#define FAKE_MSI_GSI_FIRST 64          /* the first GSI msi_route hands out */

struct fake_announce {
	char kind[16];
	uint64_t base, size;
	unsigned gsi;
};

struct fake_doorbell {
	int fd, is_pio, assign;
	uint64_t addr, match;
	unsigned len;
};

struct fake_machine {
	struct machine m;
	struct gmem mem;
	struct bus pio, mmio;
	struct devlist devs;
	struct ioloop io;
	uint8_t *ram;

	/* Allocators: counters up to a limit (tests lower them to make allocation fail). */
	unsigned next_gsi, gsi_limit;
	uint64_t next_mmio, mmio_limit;

	/* Recorders. */
	unsigned edges[FAKE_MAX_GSI]; /* rising edges per line since the last fake_machine_edges */
	int level[FAKE_MAX_GSI];
	struct fake_announce ann[FAKE_MAX_RECORDS];
	unsigned nr_ann;
	int announce_ret;             /* what announce returns (inject -E2BIG) */
	struct fake_doorbell db[FAKE_MAX_RECORDS];
	unsigned nr_db;
	unsigned stops;

	/* MSI: every message sent with msi (answered with msi_ret, default -ENOTSUP). */
	struct { uint64_t addr; uint32_t data; } msi_sent[FAKE_MAX_RECORDS];
	unsigned nr_msi;
	int msi_ret;
	/*
	 * msi_routes set: msi_route hands out GSIs from FAKE_MSI_GSI_FIRST and
	 * irqfd binds eventfds to them (recorded in route[]); unset, both answer
	 * -ENOTSUP as before.
	 */
	int msi_routes;
	struct { int used; uint64_t addr; uint32_t data; int fd; } route[FAKE_MAX_ROUTES];
	unsigned route_updates;
};

/* RAM of ram_size bytes (a multiple of 4096) at ram_gpa, zeroed. 0 or -errno. */
int fake_machine_init(struct fake_machine *f, uint64_t ram_gpa, uint64_t ram_size);
/* Destroy every device on the list, the loop, the RAM. */
void fake_machine_destroy(struct fake_machine *f);
/* Rising edges on gsi since the last call (then zeroed). */
unsigned fake_machine_edges(struct fake_machine *f, unsigned gsi);
/* Host pointer to guest RAM at gpa (the test's own driver side). */
void *fake_machine_ram(struct fake_machine *f, uint64_t gpa);

#endif
