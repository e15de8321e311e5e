/*
 * snap_vm.c: drives vm_snapshot/vm_restore (src/vm_snapshot.c) on the host
 * KVM for tests/host/snapshot.sh, until `vmon snapshot`/`vmon restore` exist.
 *   snap_vm save KERNEL SNAPDIR STATEDIR OUT
 *       boot KERNEL (4 MiB, 1 vCPU, serial to OUT), let it run 1 s, pause,
 *       snapshot to SNAPDIR, stop.
 *   snap_vm restore KERNEL SNAPDIR STATEDIR OUT [--allow-rollback] [--then-snapshot DIR2]
 * Either takes --mem MIB (default 4). save --diff DIR2: after the snapshot,
 * run 1 s more and take a diff snapshot to DIR2; restore --diff DIR2: apply
 * it on top of SNAPDIR.
 *       build the same VM, restore SNAPDIR into it, run 1 s (serial to OUT),
 *       optionally pause and snapshot again to DIR2, stop.
 * Prints "restore-us N": vm_create + vm_restore wall time, i.e. up to the
 * first KVM_RUN. Exit 0 on success, 1 with
 * the error on stderr. Each run is its own process: restore is in a new one.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

static void *runner(void *arg)
{
	vm_run(arg);
	return NULL;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int snap(struct vm *vm, const char *dir, const char *state)
{
	char err[512];

	if (vm_pause(vm)) {
		fprintf(stderr, "snap_vm: pause failed\n");
		return 1;
	}
	if (vm_snapshot(vm, dir, state, err, sizeof(err))) {
		fprintf(stderr, "snap_vm: snapshot: %s\n", err);
		return 1;
	}
	printf("snapshot generation %llu\n", (unsigned long long)vm->snap_generation);
	return 0;
}

int main(int argc, char **argv)
{
	struct vm_config *cfg = calloc(1, sizeof(*cfg));
	struct vm *vm = calloc(1, sizeof(*vm));
	const char *then = NULL, *diff = NULL;
	char mem_path[4096];
	struct vm_host host;
	pthread_t t;
	unsigned long long mem_mib = 4;
	uint64_t t0;
	int allow = 0, rc = 0, fd;

	if (argc < 6 || (strcmp(argv[1], "save") && strcmp(argv[1], "restore"))) {
		fprintf(stderr, "usage: %s save|restore KERNEL SNAPDIR STATEDIR OUT [...]\n", argv[0]);
		return 2;
	}
	for (int i = 6; i < argc; i++) {
		if (!strcmp(argv[i], "--allow-rollback"))
			allow = 1;
		else if (!strcmp(argv[i], "--then-snapshot") && i + 1 < argc)
			then = argv[++i];
		else if (!strcmp(argv[i], "--diff") && i + 1 < argc)
			diff = argv[++i];
		else if (!strcmp(argv[i], "--mem") && i + 1 < argc)
			mem_mib = strtoull(argv[++i], NULL, 10);
	}
	log_set_level(LOG_ERROR);
	fd = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	vm_host_defaults(&host);
	host.console_in_fd = -1;
	host.console_out_fd = fd;
	snprintf(mem_path, sizeof(mem_path), "%s/memory", argv[3]);
	if (!strcmp(argv[1], "restore"))
		host.restore_mem = mem_path; /* RAM from the memory file, no kernel load */
	vm_config_defaults(cfg);
	vm_config_set_str(cfg->kernel, sizeof(cfg->kernel), argv[2]);
	cfg->mem_bytes = mem_mib << 20;
	cfg->ncpus = 1;
	t0 = now_us(); /* restore time: vm_create + vm_restore, up to the first KVM_RUN */
	if (fd < 0 || vm_create(vm, cfg, &host)) {
		fprintf(stderr, "snap_vm: cannot create the VM\n");
		rc = 1;
		goto out;
	}
	snprintf(vm->snap_id, sizeof(vm->snap_id), "counter");
	if (!strcmp(argv[1], "restore")) {
		char err[512];

		if (vm_restore(vm, argv[3], argv[4], allow | (diff ? VM_RESTORE_DIFF_FOLLOWS : 0), err,
			       sizeof(err))) {
			fprintf(stderr, "snap_vm: restore: %s\n", err);
			rc = 1;
			goto out;
		}
		printf("restore-us %llu\n", (unsigned long long)(now_us() - t0));
		printf("genid ");
		for (unsigned i = 0; i < sizeof(vm->snap_genid); i++)
			printf("%02x", vm->snap_genid[i]);
		printf("\n");
		if (diff && vm_restore_diff(vm, diff, argv[4], allow, err, sizeof(err))) {
			fprintf(stderr, "snap_vm: restore diff: %s\n", err);
			rc = 1;
			goto out;
		}
	}
	pthread_create(&t, NULL, runner, vm);
	usleep(1000000);
	if (!strcmp(argv[1], "save"))
		rc = snap(vm, argv[3], argv[4]);
	if (!rc && diff && !strcmp(argv[1], "save")) {
		char err[512];

		vm_resume(vm);
		usleep(1000000);
		if (vm_pause(vm) || vm_snapshot_diff(vm, diff, argv[4], err, sizeof(err))) {
			fprintf(stderr, "snap_vm: diff snapshot: %s\n", err);
			rc = 1;
		} else {
			printf("diff generation %llu\n", (unsigned long long)vm->snap_generation);
		}
	}
	else if (then)
		rc = snap(vm, then, argv[4]);
	vm_request_stop(vm, VM_EXIT_HOST_STOP, "test done");
	vm_resume(vm);
	pthread_join(t, NULL);
out:
	vm_destroy(vm);
	if (fd >= 0)
		close(fd);
	free(vm);
	free(cfg);
	return rc;
}
