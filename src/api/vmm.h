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
 * Threads: the main thread waits for the start and then runs the VM; the
 * API server's thread calls the ops. One mutex guards the state.
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

#include "vm.h"

struct vmm_opts {
	const char *api_sock;   /* NULL: DIR/api.sock with a state dir, else no API */
	const char *state_dir;  /* NULL: not detached (console on this terminal) */
	const char *name;       /* the id GET / reports; default "vmon" */
	uint64_t ttl_secs;      /* 0: no time limit */
};

/*
 * Serve the API and run the VM described by cfg. cfg->kernel_path NULL
 * means wait for the API's InstanceStart. Returns why the VM ended
 * (VM_EXIT_VMM_ERROR when it could not be set up).
 */
enum vm_exit vmm_run(const struct vm_config *cfg, const struct vmm_opts *o);

#endif
