/*
 * vmm.h: the VM process under management: `vmon run` with --api-sock or
 * --state-dir. It serves the API (api.h) for one VM, which is either
 * configured through it and started with InstanceStart, or started at once
 * from the command line; it records its state for `vmon ls` and ends the
 * VM when its time to live is up.
 *
 * Owns: the VM's lifecycle state (Not started, Running, Paused, Stopped),
 * the configuration built up through the API, DIR/state.json, and the
 * state directory's removal when the TTL ends the VM.
 * Threads: the calling (main) thread is the VMM thread: it creates and runs
 * the VM and runs every action the API posts (api/action.h), before the
 * start in its own wait loop, after it from vm_run's loop (vm_host.on_action).
 * The API server's thread only parses requests and posts actions.
 *
 * State directory (--state-dir DIR), shared with `vmon create/ls`:
 *   DIR/api.sock       the API
 *   DIR/console.sock   the serial console (conmux.h)
 *   DIR/serial.log     everything the guest printed
 *   DIR/state.json     {"state","pid","started","updated","vcpus","mem_mib"
 *                       [,"exit_status","reason"]}, rewritten atomically
 */
#ifndef VMON_API_VMM_H
#define VMON_API_VMM_H

#include <stdint.h>

#include "machine.h"
#include "vmconfig.h"

struct vmm_opts {
	const char *api_sock;   /* NULL: DIR/api.sock with a state dir, else no API */
	const char *state_dir;  /* NULL: not detached (console on this terminal) */
	const char *name;       /* the id GET / reports; default "vmon" */
	uint64_t ttl_secs;      /* 0: no time limit */
	uint64_t log_max;       /* cap of DIR/serial.log and DIR/vmon.log each; 0: the default */
	const char *incoming;   /* "unix:PATH": a migration's target (vm_migrate.c), or NULL */
};

/*
 * Serve the API and run the VM described by cfg (validated by the caller,
 * the kernel aside). An empty cfg->kernel means wait for the API's
 * InstanceStart. Returns why the VM ended
 * (VM_EXIT_VMM_ERROR when it could not be set up).
 */
enum vm_exit vmm_run(const struct vm_config *cfg, const struct vmm_opts *o);

#endif
