/*
 * exitcost.c: what one exit costs through vmon, beside a raw KVM_RUN loop, on this host's KVM.
 *
 * The guest (guests/hosttest/exitcost.c) runs at CPL3 and times with RDTSC n exits of each
 * kind: OUT to port 0x80, a read of virtio-rng0's MMIO register, and a write to an address
 * this program registers as a KVM ioeventfd (handled in the kernel: no user-space exit).
 * Each repetition boots the guest twice, in alternating order:
 *   vmon  vm_create + vm_run: vmon's own vCPU thread, exit loop, stats and bus dispatch
 *   raw   the same vm_create (same memory, devices, registers), then a bare KVM_RUN loop on
 *         this thread that only looks at exit_reason (serial bytes and the reset port aside)
 * and prints one line per boot:
 *   EXITCOST mode=vmon|raw rep=R n=N pio_ns=X mmio_ns=Y ioevt_ns=Z tsc_khz=K rc=ok|why
 * Cycles become ns through KVM_GET_TSC_KHZ (the guest's TSC rate), or a calibration of the
 * host TSC against CLOCK_MONOTONIC when KVM does not say.
 *
 * usage: exitcost GUEST.elf [--exits N] [--reps R]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "accel/kvm.h"
#include "log.h"
#include "vm.h"

#define IOEVT_ADDR 0xd0100000ULL
#define COM1       0x3f8
#define I8042_CMD  0x64

struct result {
	char rc[96];
	unsigned long long n, pio, mmio, ioevt;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double host_tsc_khz(void)
{
	uint64_t t0 = mono_ns(), c0 = __rdtsc(), t1, c1;

	do
		t1 = mono_ns();
	while (t1 - t0 < 100000000ULL);
	c1 = __rdtsc();
	return (double)(c1 - c0) / ((double)(t1 - t0) / 1e6);
}

static void parse_output(const char *text, struct result *r)
{
	const char *s = strstr(text, "EXITCOST ");

	if (!s || sscanf(s, "EXITCOST cpl=3 n=%llu pio_cycles=%llu mmio_cycles=%llu ioevt_cycles=%llu",
			 &r->n, &r->pio, &r->mmio, &r->ioevt) != 4)
		snprintf(r->rc, sizeof(r->rc), "no-EXITCOST-line");
}

/* The raw loop: no stats, no bus; returns 0 when the guest pulsed the reset line. */
static int raw_loop(struct kvm_vcpu *v, char *out, size_t outsz, char *why, size_t whysz)
{
	struct kvm_run *r = v->run;
	size_t len = 0;

	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(why, whysz, "KVM_RUN:%s", strerror(errno));
			return -1;
		}
		switch (r->exit_reason) {
		case KVM_EXIT_IO:
			if (r->io.direction == KVM_EXIT_IO_OUT) {
				uint8_t b = *((uint8_t *)r + r->io.data_offset);

				if (r->io.port == COM1 && len + 1 < outsz)
					out[len++] = (char)b;
				else if (r->io.port == I8042_CMD && b == 0xfe) {
					out[len] = '\0';
					return 0;
				}
			} else {
				memset((uint8_t *)r + r->io.data_offset, 0xff, r->io.size * r->io.count);
			}
			break;
		case KVM_EXIT_MMIO:
			if (!r->mmio.is_write)
				memset(r->mmio.data, 0xff, sizeof(r->mmio.data));
			break;
		case KVM_EXIT_INTR:
		case KVM_EXIT_HLT:
			break;
		default:
			snprintf(why, whysz, "exit-reason-%u", r->exit_reason);
			return -1;
		}
	}
}

static void run_one(const char *guest, int raw, unsigned long long n, struct result *res,
		    double *tsc_khz)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct vm_config cfg;
	struct vm_host host;
	struct kvm_vcpu *kv;
	char cmdline[64], out[4096] = "";
	int ofd = memfd_create("exitcost-console", MFD_CLOEXEC), efd = -1, ret;

	memset(res, 0, sizeof(*res));
	snprintf(res->rc, sizeof(res->rc), "ok");
	snprintf(cmdline, sizeof(cmdline), "n=%llu", n);
	vm_config_defaults(&cfg);
	vm_host_defaults(&host);
	cfg.mem_bytes = 32ULL << 20;
	/* The guest reads virtio-rng0's MagicValue at 0xd0000000: a virtio-mmio window. */
	strcpy(cfg.transport, "mmio");
	host.console_in_fd = -1;
	host.console_out_fd = ofd;
	if (!vm || ofd < 0 || vm_config_set_str(cfg.kernel, sizeof(cfg.kernel), guest) ||
	    vm_config_set_str(cfg.cmdline, sizeof(cfg.cmdline), cmdline)) {
		snprintf(res->rc, sizeof(res->rc), "setup-failed");
		goto out;
	}
	ret = vm_create(vm, &cfg, &host);
	if (ret) {
		snprintf(res->rc, sizeof(res->rc), "vm_create:%d", ret);
		goto out;
	}
	{
		int khz;

		/* The raw loop drives KVM itself: the accelerator's own handles (accel/kvm.h). */
		kv = (struct kvm_vcpu *)vm->vcpus[0].av;
		khz = ioctl(kv->fd, KVM_GET_TSC_KHZ, 0);
		struct kvm_ioeventfd io = { .addr = IOEVT_ADDR, .len = 4 };

		if (khz > 0)
			*tsc_khz = khz;
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		io.fd = efd;
		if (efd < 0 || ioctl(((struct kvm_accel *)vm->accel)->vm_fd, KVM_IOEVENTFD, &io) < 0) {
			snprintf(res->rc, sizeof(res->rc), "KVM_IOEVENTFD:%s", strerror(errno));
			goto out;
		}
	}
	if (raw) {
		if (raw_loop(kv, out, sizeof(out), res->rc, sizeof(res->rc)))
			goto out;
	} else {
		enum vm_exit why = vm_run(vm);
		ssize_t got;

		if (why != VM_EXIT_GUEST_RESET) {
			snprintf(res->rc, sizeof(res->rc), "vm_exit-%d", (int)why);
			goto out;
		}
		got = pread(ofd, out, sizeof(out) - 1, 0);
		out[got > 0 ? got : 0] = '\0';
	}
	parse_output(out, res);
out:
	if (vm) {
		vm_destroy(vm);
		free(vm);
	}
	if (efd >= 0)
		close(efd);
	if (ofd >= 0)
		close(ofd);
}

static const char *ns(char *buf, size_t sz, unsigned long long cycles, unsigned long long n,
		      double khz, int ok)
{
	if (!ok || !n)
		snprintf(buf, sz, "-");
	else
		snprintf(buf, sz, "%.0f", (double)cycles / (double)n / khz * 1e6);
	return buf;
}

int main(int argc, char **argv)
{
	unsigned long long n = 20000;
	int reps = 5;
	const char *guest = NULL;
	double host_khz, khz = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--exits") && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (argv[i][0] != '-' && !guest)
			guest = argv[i];
		else {
			fprintf(stderr, "usage: %s GUEST.elf [--exits N] [--reps R]\n", argv[0]);
			return 2;
		}
	}
	if (!guest || !n || reps < 1) {
		fprintf(stderr, "usage: %s GUEST.elf [--exits N] [--reps R]\n", argv[0]);
		return 2;
	}
	log_set_level(LOG_ERROR);
	host_khz = host_tsc_khz();
	for (int rep = 1; rep <= reps; rep++) {
		for (int k = 0; k < 2; k++) {
			int raw = (rep + k) % 2; /* raw first in odd repetitions */
			struct result r;
			char a[32], b[32], c[32];
			double use;

			run_one(guest, raw, n, &r, &khz);
			use = khz > 0 ? khz : host_khz;
			int ok = !strcmp(r.rc, "ok");

			printf("EXITCOST mode=%s rep=%d n=%llu pio_ns=%s mmio_ns=%s ioevt_ns=%s tsc_khz=%.0f rc=%s\n",
			       raw ? "raw" : "vmon", rep, n, ns(a, sizeof(a), r.pio, r.n, use, ok),
			       ns(b, sizeof(b), r.mmio, r.n, use, ok), ns(c, sizeof(c), r.ioevt, r.n, use, ok),
			       use, r.rc);
			fflush(stdout);
		}
	}
	return 0;
}
