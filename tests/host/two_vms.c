/*
 * two_vms.c: two VMs in one vmon process, run at the same time on two
 * threads. Proves that a VM's state hangs off its struct vm and nothing a
 * second VM would trample lives elsewhere (STYLE.md: "a unit test runs two
 * VMs in one process"). Each VM boots a different host-test guest with its
 * console into its own file; both must end with a clean reset and print
 * their own PASS line, and neither output may contain the other's.
 * Before running, each VM's whole device list (as vm_create built it: the
 * PC devices and the virtio transports) goes through save -> load -> save,
 * and the two saves must be byte-identical. A takes the default transport
 * (virtio-pci on x86), B virtio-mmio, so both kinds of device list go through.
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
#include "snapshot/stream.h"
#include "vm.h"

struct run {
	const char *kernel;
	unsigned cpus;
	const char *transport; /* "": the arch's default */
	char out_path[64];
	enum vm_exit why;
	int create_ret;
	int state_ret;   /* 0: save/load/save round trip identical */
	size_t state_len;
};

/* save -> load -> save on a created (not yet running) VM: 0 when both saves match. */
static int state_round_trip(struct vm *vm, size_t *len)
{
	struct snap_out a, b;
	struct snap_in in;
	int ret;

	snap_out_init(&a);
	snap_out_init(&b);
	ret = vm_save_devices(vm, &a);
	snap_in_init(&in, a.buf, a.len);
	if (!ret)
		ret = vm_load_devices(vm, &in);
	if (!ret)
		ret = vm_save_devices(vm, &b);
	if (!ret && (a.len != b.len || memcmp(a.buf, b.buf, a.len)))
		ret = -1;
	*len = a.len;
	snap_out_free(&a);
	snap_out_free(&b);
	return ret;
}

static void *run_vm(void *arg)
{
	struct run *r = arg;
	struct vm_config *cfg = calloc(1, sizeof(*cfg));
	struct vm *vm = calloc(1, sizeof(*vm));
	int fd = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct vm_host host;

	r->why = VM_EXIT_NONE;
	r->state_ret = -1;
	r->create_ret = -1;
	vm_host_defaults(&host);
	host.console_in_fd = -1;
	host.console_out_fd = fd;
	if (cfg) {
		vm_config_defaults(cfg);
		vm_config_set_str(cfg->kernel, sizeof(cfg->kernel), r->kernel);
		cfg->mem_bytes = 16ULL << 20;
		cfg->ncpus = r->cpus;
		vm_config_set_str(cfg->transport, sizeof(cfg->transport), r->transport);
	}
	if (vm && cfg && fd >= 0)
		r->create_ret = vm_create(vm, cfg, &host);
	if (r->create_ret == 0)
		r->state_ret = state_round_trip(vm, &r->state_len);
	if (r->create_ret == 0)
		r->why = vm_run(vm);
	if (vm)
		vm_destroy(vm);
	free(vm);
	free(cfg);
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
	struct run r[2] = { { .cpus = 1, .transport = "" }, { .cpus = 2, .transport = "mmio" } };
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
		ok = r[i].create_ret == 0 && r[i].state_ret == 0 && r[i].state_len > 0;
		printf("%s vm%d device state: save -> load -> save identical (%d, %zu bytes)\n",
		       ok ? "ok  " : "FAIL", i, r[i].state_ret, r[i].state_len);
		ok ? pass++ : fail++;
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}
