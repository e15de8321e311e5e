/*
 * two_vms.c: two VMs in one vmon process, run at the same time on two
 * threads. Proves that a VM's state hangs off its struct vm and nothing a
 * second VM would trample lives elsewhere (STYLE.md: "a unit test runs two
 * VMs in one process"). Each VM boots a different host-test guest with its
 * console into its own file; both must end with a clean reset and print
 * their own PASS line, and neither output may contain the other's.
 *
 * Usage: two_vms GUEST_A.elf GUEST_B.elf  (prints "N passed, N failed")
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

struct run {
	const char *kernel;
	unsigned cpus;
	char out_path[64];
	enum vm_exit why;
	int create_ret;
};

static void *run_vm(void *arg)
{
	struct run *r = arg;
	struct vm_config cfg;
	struct vm *vm = calloc(1, sizeof(*vm));
	int fd = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	vm_config_defaults(&cfg);
	cfg.kernel_path = r->kernel;
	cfg.mem_bytes = 16ULL << 20;
	cfg.ncpus = r->cpus;
	cfg.console_in_fd = -1;
	cfg.console_out_fd = fd;
	r->why = VM_EXIT_NONE;
	r->create_ret = vm && fd >= 0 ? vm_create(vm, &cfg) : -1;
	if (r->create_ret == 0)
		r->why = vm_run(vm);
	if (vm)
		vm_destroy(vm);
	free(vm);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int file_has(const char *path, const char *needle)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

int main(int argc, char **argv)
{
	struct run r[2] = { { .cpus = 1 }, { .cpus = 2 } };
	const char *want[2] = { "PASS hello", "PASS smp cpus=2" };
	pthread_t t[2];
	int pass = 0, fail = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s HELLO.elf SMP.elf\n", argv[0]);
		return 2;
	}
	log_set_level(LOG_ERROR);
	for (int i = 0; i < 2; i++) {
		r[i].kernel = argv[1 + i];
		snprintf(r[i].out_path, sizeof(r[i].out_path), "/tmp/vmon-two-vms-%d-%d.out",
			 (int)getpid(), i);
		pthread_create(&t[i], NULL, run_vm, &r[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		int ok = r[i].create_ret == 0 && r[i].why == VM_EXIT_GUEST_RESET &&
			 file_has(r[i].out_path, want[i]) && !file_has(r[i].out_path, want[1 - i]);

		printf("%s vm%d (%s): create %d, exit %d, wants \"%s\" in its own console only\n",
		       ok ? "ok  " : "FAIL", i, r[i].kernel, r[i].create_ret, (int)r[i].why, want[i]);
		ok ? pass++ : fail++;
		unlink(r[i].out_path);
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}
