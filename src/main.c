/*
 * main.c: the vmon command line. Parses arguments into struct vm_config
 * and struct vm_host, validates the config (vm_config_validate, the one
 * place limits are checked), runs the VM (or hands it to the managed VM
 * process, api/vmm.c) and turns its fate into the exit status; the
 * management commands go to src/cli/. Nothing below this file exits the
 * process. Single-threaded until vm_run or vmm_run.
 *
 * Exit status (documented in `vmon --help` and the README):
 *   0  the guest shut down or reset itself (e.g. `reboot` with reboot=k)
 *   1  vmon failed (bad image, KVM error, out of memory, ...)
 *   2  usage error (unknown flag, malformed value)
 *   3  the guest crashed (triple fault, instruction KVM could not emulate)
 *   4  stopped from the host (Ctrl-A x, SIGINT, SIGTERM, SIGHUP)
 */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/accel.h"
#include "config.h"
#include "log.h"
#include "sandbox/jail.h"
#include "sandbox/seccomp.h"
#include "snapshot/migrate.h"
#include "version.h"
#include "vm.h"
#include "vmconfig.h"
#ifndef VMON_NO_API
#include "api/vmm.h"
#include "cli/cli.h"
#include "cli/state.h"
#endif


enum { EXIT_CLEAN = 0, EXIT_VMM = 1, EXIT_USAGE = 2, EXIT_CRASH = 3, EXIT_HOST = 4 };

static const char usage_main[] =
	"Usage: vmon COMMAND [OPTIONS]\n"
	"\n"
	"vmon is a small hosted virtual machine monitor for Linux/KVM (x86-64).\n"
	"\n"
	"Commands:\n"
	"  run     boot a guest kernel with its serial console on this terminal\n"
	"  info    describe this host's KVM (hardware-assisted or PVM) and limits\n"
	"  seccomp-list  the syscalls each vmon thread may make (the sandbox's filters)\n"
#ifndef VMON_NO_API
	"\n"
	"Managed VMs (each its own detached process; state under $VMON_STATE_DIR,\n"
	"$XDG_RUNTIME_DIR/vmon, or /run/vmon as root):\n"
	"  create  start a named VM in the background (run flags, --ttl, --label)\n"
	"  ls      list VMs: state, vCPUs, memory, uptime, TTL left, owner, labels\n"
	"  console attach to a VM's serial console (Ctrl-A d detaches)\n"
	"  pause, resume, stop, rm, inspect   one VM by name\n"
	"  gc      list (--yes: remove) long-stopped VMs and orphaned state\n"
	"  snapshot  snapshot a VM into a directory (NAME DIR [--diff] [--paused])\n"
	"  restore   start a new VM from a snapshot (DIR --name NAME [--allow-rollback])\n"
	"  migrate   move a running VM live to a target (NAME --to unix:PATH; the target:\n"
	"            vmon create NEW --incoming unix:PATH)\n"
	"  export    write a VM as one archive file (NAME FILE [--key K] [--force])\n"
	"  import    recreate a VM from an archive (FILE [--name N] [--dir D] [--key K])\n"
#else
	"\n"
	"This build has no management API or commands (built with VMON_NO_API).\n"
#endif
	"\n"
	"Options:\n"
	"  -h, --help     this help; `vmon COMMAND --help` for a command's options\n"
	"  -V, --version  print the version\n"
	"\n"
	"Exit status: 0 guest shut down or reset, 1 vmon error, 2 usage error,\n"
	"3 guest crashed, 4 stopped from the host (Ctrl-A x or a signal).\n";

static const char usage_run[] =
	"Usage: vmon run --kernel PATH [OPTIONS]\n"
	"\n"
	"Boot a guest. Its first serial port (ttyS0) is this terminal: stdin goes to the\n"
	"guest, guest output to stdout, diagnostics to stderr. Ctrl-A x quits, Ctrl-A h helps.\n"
#if defined(__aarch64__)
	"The guest always has a virtio-rng; virtio-mmio devices, the GICv3, timer, PSCI\n"
	"and the ns16550a (ttyS0) are described in the device tree vmon builds.\n"
	"\n"
	"Options:\n"
	"  -k, --kernel PATH    guest kernel: an uncompressed arm64 Image (gunzip an\n"
	"                       Image.gz first); at most 251 vCPUs on this board\n"
#else
	"The guest always has a virtio-rng; virtio-mmio devices are announced by appending\n"
	"virtio_mmio.device=4K@ADDR:IRQ to the kernel command line.\n"
	"\n"
	"Options:\n"
	"  -k, --kernel PATH    guest kernel: a bzImage (64-bit boot protocol), an ELF\n"
	"                       vmlinux with a PVH note (32-bit PVH entry), or any x86-64\n"
	"                       ELF (started in 64-bit mode with boot_params in rsi)\n"
#endif
	"  -i, --initrd PATH    initial ramdisk, loaded high in guest RAM\n"
	"  -c, --cmdline STR    kernel command line\n"
	"                       (default: \"console=ttyS0 reboot=k panic=1\")\n"
	"  -m, --mem SIZE       guest RAM, e.g. 256M, 1G; a bare number is MiB\n"
	"                       (default 256M, at least 2M, at most the host's RAM)\n"
	"  -p, --cpus N         number of vCPUs, 1-254 (default 1)\n"
	"      --disk PATH[,ro][,cache=none|writeback]\n"
	"                       raw disk image as a virtio-blk device (/dev/vda, vdb, ...);\n"
	"                       repeatable, up to 6; ro rejects writes; cache=none is O_DIRECT\n"
	"      --net tap=NAME[,mac=xx:xx:xx:xx:xx:xx][,offload=on|off] | --net none\n"
	"                       virtio-net on host TAP NAME (created if absent, which needs\n"
	"                       root or CAP_NET_ADMIN); repeatable, up to 2; disks and NICs\n"
	"                       together at most 6. Default MAC: 52:54:00 + a hash of NAME;\n"
	"                       offload=on (default) offers checksum and TSO offloads\n"
	"      --stats          print KVM exit counts per vCPU and per device at exit\n"
	"      --dump-config    check the configuration, print it as JSON (boot-source,\n"
	"                       machine-config, drives, network-interfaces, vmon) on stdout\n"
	"                       and exit 0 without creating a VM (1 if it is not valid)\n"
#ifndef VMON_NO_API
	"      --api-sock PATH  serve the management API (Firecracker's common subset plus\n"
	"                       GET /stats) on a Unix socket; without --kernel, wait for\n"
	"                       PUT /boot-source ... and PUT /actions InstanceStart\n"
	"      --state-dir DIR  run detached, as `vmon create` does: API on DIR/api.sock,\n"
	"                       serial console on DIR/console.sock and DIR/serial.log,\n"
	"                       state in DIR/state.json\n"
	"      --name NAME      the id the API reports (default \"vmon\")\n"
	"      --incoming unix:PATH  be a live migration's target (`vmon migrate`): listen\n"
	"                       on PATH (mode 0600), build the VM from the stream, run it;\n"
	"                       needs --api-sock or --state-dir and no --kernel\n"
	"      --ttl DURATION   stop the VM after this long (90, 90s, 10m, 2h, 1d); with\n"
	"                       --state-dir its directory is removed too\n"
	"      --log-max SIZE   with --state-dir: cap DIR/serial.log and DIR/vmon.log at\n"
	"                       SIZE each (default 16M, at least 4K); a full one is moved\n"
	"                       to .1 (replacing the last) and started afresh\n"
#endif
	"      --elf64-entry    for an ELF with a PVH note, use its 64-bit entry instead\n"
	"      --kvm-device PATH  KVM device to open (default /dev/kvm)\n"
	"      --seccomp on|off seccomp filters per thread (default on; off to debug):\n"
	"                       a forbidden syscall kills vmon and is named on stderr\n"
	"      --jail[=DIR]     run the VM jailed: new mount, PID, IPC, UTS (and without\n"
	"                       --net, network) namespaces, a root holding only its images\n"
	"                       (mounted on DIR, default /run/vmon-jail/vmon-PID), cgroup\n"
	"                       limits (memory, pids, cpu), no new privileges, and the\n"
	"                       unprivileged ids below; not root: a user namespace\n"
	"      --jail-uid N, --jail-gid N  the ids the jailed VM runs as (root only;\n"
	"                       default 65534; not root: one's own)\n"
	"      --arch NAME      native (default), x86_64, or mips32: a MIPS32r2 board run by\n"
	"                       vmon's software vCPU (1 vCPU, --mem up to 256M, ELF vmlinux)\n"
	"      --transport mmio|pci  how virtio devices sit: virtio-pci functions on the PCI\n"
	"                       host bridge with MSI-X (x86 only; the default there: a stock\n"
	"                       distribution kernel probes PCI and ignores mmio windows), or\n"
	"                       virtio-mmio windows announced on the command line (default\n"
	"                       on arm64 and mips32; for kernels without PCI, e.g. vmon's own\n"
	"                       and microVM kernels)\n"
	"  -v, --verbose        more diagnostics (repeat for debug)\n"
	"  -q, --quiet          errors only\n"
	"  -h, --help           this help\n"
	"\n"
	"Guest reset (e.g. Linux `reboot` with reboot=k on its command line) ends vmon with\n"
	"status 0. A Linux guest without ACPI cannot power itself off: use reboot.\n"
	"Exit status: 0 guest shut down or reset, 1 vmon error, 2 usage error,\n"
	"3 guest crashed, 4 stopped from the host (Ctrl-A x or a signal).\n";

static int usage_error(const char *usage_hint, const char *fmt, const char *arg)
{
	fprintf(stderr, "vmon: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help'.\n", usage_hint);
	return EXIT_USAGE;
}

/* `vmon run` options beyond struct vm_config: the managed (API) mode, --dump-config. */
struct run_opts {
	const char *api_sock, *state_dir, *name;
	const char *incoming;     /* --incoming unix:PATH */
	uint64_t ttl_secs, log_max;
	int dump_config;
	int jail;                 /* --jail[=DIR] */
	struct jail_opts jail_o;
};

/* Copy an option's value into a config string field: a usage error when it does not fit. */
static int set_opt_str(char *field, size_t cap, const char *opt, const char *val)
{
	char msg[96];

	if (!vm_config_set_str(field, cap, val))
		return 0;
	snprintf(msg, sizeof(msg), "%s: the value is longer than %zu bytes", opt, cap - 1);
	return usage_error("vmon run", "%s", msg);
}

static int parse_run_args(int argc, char **argv, struct vm_config *cfg, struct run_opts *ro)
{
	enum { OPT_STATS = 256, OPT_ELF64, OPT_KVMDEV, OPT_DISK, OPT_NET, OPT_API, OPT_STATEDIR,
	       OPT_NAME, OPT_TTL, OPT_DUMP, OPT_ARCH, OPT_TRANSPORT, OPT_LOGMAX, OPT_SECCOMP,
	       OPT_JAIL, OPT_JAIL_UID, OPT_JAIL_GID, OPT_INCOMING };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'p' },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "dump-config", no_argument, NULL, OPT_DUMP },
		{ "elf64-entry", no_argument, NULL, OPT_ELF64 },
		{ "kvm-device", required_argument, NULL, OPT_KVMDEV },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "net", required_argument, NULL, OPT_NET },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "transport", required_argument, NULL, OPT_TRANSPORT },
		{ "seccomp", required_argument, NULL, OPT_SECCOMP },
		{ "jail", optional_argument, NULL, OPT_JAIL },
		{ "jail-uid", required_argument, NULL, OPT_JAIL_UID },
		{ "jail-gid", required_argument, NULL, OPT_JAIL_GID },
#ifndef VMON_NO_API
		{ "api-sock", required_argument, NULL, OPT_API },
		{ "state-dir", required_argument, NULL, OPT_STATEDIR },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "log-max", required_argument, NULL, OPT_LOGMAX },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
#endif
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:c:m:p:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			ret = set_opt_str(cfg->kernel, sizeof(cfg->kernel), "--kernel", optarg);
			if (ret)
				return ret;
			break;
		case 'i':
			ret = set_opt_str(cfg->initrd, sizeof(cfg->initrd), "--initrd", optarg);
			if (ret)
				return ret;
			break;
		case 'c':
			ret = set_opt_str(cfg->cmdline, sizeof(cfg->cmdline), "--cmdline", optarg);
			if (ret)
				return ret;
			break;
		case 'm':
			ret = config_parse_size(optarg, &cfg->mem_bytes);
			if (ret)
				return usage_error("vmon run", "--mem: '%s' is not a size like 256M or 1G",
						   optarg);
			break;
		case 'p':
			/* Range is checked with the rest of the config, for one message. */
			ret = config_parse_uint(optarg, 0, 1u << 20, &cfg->ncpus);
			if (ret)
				return usage_error("vmon run", "--cpus: '%s' is not a number of vCPUs",
						   optarg);
			break;
		case OPT_STATS:
			cfg->stats = 1;
			break;
		case OPT_DUMP:
			ro->dump_config = 1;
			break;
		case OPT_ELF64:
			cfg->elf64_entry = 1;
			break;
		case OPT_ARCH:
			ret = set_opt_str(cfg->arch, sizeof(cfg->arch), "--arch", optarg);
			if (ret)
				return ret;
			break;
		case OPT_TRANSPORT:
			ret = set_opt_str(cfg->transport, sizeof(cfg->transport), "--transport",
					  optarg);
			if (ret)
				return ret;
			break;
		case OPT_SECCOMP:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				return usage_error("vmon run", "--seccomp: '%s' is not on or off", optarg);
			cfg->seccomp = !strcmp(optarg, "on");
			break;
		case OPT_JAIL:
			ro->jail = 1;
			ro->jail_o.dir = optarg; /* NULL: the default */
			if (optarg && !*optarg)
				return usage_error("vmon run", "%s", "--jail=: the directory is empty");
			break;
		case OPT_JAIL_UID:
		case OPT_JAIL_GID: {
			unsigned id;

			if (config_parse_uint(optarg, 0, 0xfffffffeu, &id))
				return usage_error("vmon run", c == OPT_JAIL_UID ?
						   "--jail-uid: '%s' is not a numeric uid" :
						   "--jail-gid: '%s' is not a numeric gid", optarg);
			*(c == OPT_JAIL_UID ? &ro->jail_o.uid : &ro->jail_o.gid) = id;
			break;
		}
		case OPT_KVMDEV:
			ret = set_opt_str(cfg->kvm_path, sizeof(cfg->kvm_path), "--kvm-device", optarg);
			if (ret)
				return ret;
			break;
		case OPT_DISK:
			if (cfg->nr_disks == VM_MAX_DISKS)
				return usage_error("vmon run", "%s", "too many --disk (at most 6)");
			if (vblk_parse_opts(optarg, &cfg->disks[cfg->nr_disks]))
				return usage_error("vmon run", "--disk '%s': want PATH[,ro][,cache=none|writeback]",
						   optarg);
			cfg->nr_disks++;
			break;
		case OPT_NET: {
			char orig[128]; /* parsing splits optarg: keep it whole for the message */

			if (!strcmp(optarg, "none"))
				break;
			if (cfg->nr_nets == VM_MAX_NETS)
				return usage_error("vmon run", "%s", "too many --net (at most 2)");
			snprintf(orig, sizeof(orig), "%s", optarg);
			if (vnet_parse_opts(optarg, &cfg->nets[cfg->nr_nets]))
				return usage_error("vmon run",
						   "--net '%s': want tap=NAME[,mac=xx:xx:xx:xx:xx:xx (unicast)][,offload=on|off]",
						   orig);
			cfg->nr_nets++;
			break;
		}
		case OPT_API:
			ro->api_sock = optarg;
			break;
		case OPT_STATEDIR:
			ro->state_dir = optarg;
			break;
		case OPT_NAME:
			ro->name = optarg;
			break;
		case OPT_TTL:
			if (config_parse_duration(optarg, &ro->ttl_secs))
				return usage_error("vmon run", "--ttl: '%s' is not a duration like 90s, 10m or 2h",
						   optarg);
			break;
		case OPT_LOGMAX:
			if (config_parse_size(optarg, &ro->log_max) || ro->log_max < (4u << 10))
				return usage_error("vmon run", "--log-max: '%s' is not a size of at least 4K",
						   optarg);
			break;
		case OPT_INCOMING:
			ro->incoming = optarg;
			break;
		case 'v':
			log_set_level(log_get_level() == LOG_INFO ? LOG_DEBUG : LOG_INFO);
			break;
		case 'q':
			log_set_level(LOG_ERROR);
			break;
		case 'h':
			fputs(usage_run, stdout);
			return -1;
		case ':':
			return usage_error("vmon run", "option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("vmon run", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("vmon run", "unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel[0] && !ro->api_sock && !ro->state_dir)
		return usage_error("vmon run", "%s",
				   "no kernel given: --kernel PATH is required (or --api-sock to configure it later)");
	if ((ro->name || ro->ttl_secs) && !ro->api_sock && !ro->state_dir)
		return usage_error("vmon run", "%s", "--name and --ttl need --api-sock or --state-dir");
	if (ro->incoming && ((!ro->api_sock && !ro->state_dir) || cfg->kernel[0]))
		return usage_error("vmon run", "%s",
				   "--incoming needs --api-sock or --state-dir, and no --kernel");
	if (ro->incoming) {
		char path[MIG_PATH_MAX], why[200];

		if (mig_parse_addr(ro->incoming, path, sizeof(path), why, sizeof(why)))
			return usage_error("vmon run", "--incoming: %s", why);
	}
	if (ro->log_max && !ro->state_dir)
		return usage_error("vmon run", "%s", "--log-max needs --state-dir");
	if ((ro->jail_o.uid >= 0 || ro->jail_o.gid >= 0) && !ro->jail)
		return usage_error("vmon run", "%s", "--jail-uid and --jail-gid need --jail");
	/* TODO(#12): bind the state directory (API socket, console, logs) into the jail. */
	if (ro->jail && (ro->api_sock || ro->state_dir))
		return usage_error("vmon run", "%s",
				   "--jail does not go with --api-sock or --state-dir yet");
	return 0;
}

/* --dump-config: the validated configuration as JSON on stdout. */
static int dump_config(const struct vm_config *cfg)
{
	char *s = vm_config_to_json(cfg);

	if (!s) {
		log_err("out of memory");
		return EXIT_VMM;
	}
	printf("%s\n", s);
	free(s);
	return fflush(stdout) ? EXIT_VMM : EXIT_CLEAN;
}

/*
 * Run one VM on this terminal: create it, run it, report its fate. With
 * --jail (jo non-NULL) this process only waits while a jailed child does
 * that (sandbox/jail.h), and cfg's paths become the jail's.
 */
static int run_vm(struct vm_config *cfg, const struct jail_opts *jo)
{
	struct jail *jail = NULL;
	struct vm_host host;
	enum vm_exit why;
	struct vm *vm;
	int ret;

	vm_host_defaults(&host);
#ifndef VMON_NO_API
	{
		/* The host's limits bind a plain `vmon run` too (state_limits.c). */
		char lerr[STATE_ERR_MAX];

		if (state_limits_enforce(cfg->mem_bytes, NULL, lerr)) {
			log_err("%s", lerr);
			return EXIT_VMM;
		}
	}
#endif
	if (jo) {
		int status;

		jail = malloc(sizeof(*jail));
		if (!jail) {
			log_err("out of memory");
			return EXIT_VMM;
		}
		ret = jail_enter(jail, jo, cfg, &status);
		if (ret) { /* the parent, done (1), or no jail (< 0) */
			free(jail);
			return ret > 0 ? status : EXIT_VMM;
		}
	}
	/* struct vm is large (virtqueue scratch per device): keep it off the stack. */
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		log_err("out of memory");
		free(jail);
		return EXIT_VMM;
	}
	ret = vm_create(vm, cfg, &host);
	if (!ret && jail) /* everything is open: drop privileges before the guest runs */
		ret = jail_drop(jail);
	free(jail);
	if (!ret) /* the main thread's filter, which the I/O and vCPU threads inherit */
		ret = seccomp_role_enter_main(cfg->seccomp);
	if (ret) {
		vm_destroy(vm);
		free(vm);
		return EXIT_VMM;
	}
	why = vm_run(vm);
	vm_log_exit(vm, why);
	if (cfg->stats)
		vm_print_stats(vm, stderr);
	vm_destroy(vm);
	free(vm);
	return vm_exit_status(why);
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts ro = { .jail_o = { .uid = -1, .gid = -1 } };
	char err[VM_ERR_MAX];
	struct vm_config *cfg;
	unsigned flags = 0;
	int ret;

	/*
	 * A console reader that goes away (`vmon run | head`) is an EPIPE the
	 * console output handles (the guest runs on), not the end of vmon.
	 */
	signal(SIGPIPE, SIG_IGN);
	/* ~40 KiB of paths and command line: on the heap like struct vm. */
	cfg = malloc(sizeof(*cfg));
	if (!cfg) {
		log_err("out of memory");
		return EXIT_VMM;
	}
	vm_config_defaults(cfg);
	ret = parse_run_args(argc, argv, cfg, &ro);
	if (ret) {
		free(cfg);
		return ret < 0 ? EXIT_CLEAN : ret;
	}
	/* A managed VM may get its kernel through the API later; everything else is checked now. */
	if (!ro.dump_config && !cfg->kernel[0])
		flags |= VM_CONFIG_NO_KERNEL;
	if (vm_config_check(cfg, flags, err, sizeof(err))) {
		log_err("%s", err);
		free(cfg);
		return EXIT_VMM;
	}
	if (ro.dump_config) {
		ret = dump_config(cfg);
#ifndef VMON_NO_API
	} else if (ro.api_sock || ro.state_dir) {
		struct vmm_opts o = { .api_sock = ro.api_sock, .state_dir = ro.state_dir,
				      .name = ro.name, .ttl_secs = ro.ttl_secs,
				      .log_max = ro.log_max, .incoming = ro.incoming };

		ret = vm_exit_status(vmm_run(cfg, &o));
#endif
	} else {
		ret = run_vm(cfg, ro.jail ? &ro.jail_o : NULL);
	}
	free(cfg);
	return ret;
}

static int cmd_info(int argc, char **argv)
{
	const char *path = "/dev/kvm";
	struct accel_info ai;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		puts("Usage: vmon info [--kvm-device PATH]\n\n"
		     "Describe the host's KVM: backend (hardware VMX/SVM or PVM), API version,\n"
		     "vCPU limit, the hypervisor signature guests see, and whether a stock\n"
		     "Linux guest can boot here. Exit status 1 if KVM cannot be opened.");
		return EXIT_CLEAN;
	}
	if (argc > 2 && !strcmp(argv[1], "--kvm-device"))
		path = argv[2];
	else if (argc > 1)
		return usage_error("vmon info", "unexpected argument '%s'", argv[1]);
	memset(&ai, 0, sizeof(ai));
	if (accel_kvm_probe(path, &ai))
		return EXIT_VMM; /* logged, with what to do about it */
	ai.signature[sizeof(ai.signature) - 1] = '\0';
	printf("kvm device:      %s\n", path);
	printf("backend:         %s\n", ai.backend ? ai.backend : "unknown");
	printf("api version:     %d\n", ai.api_version);
	printf("max vCPUs:       %d\n", ai.max_vcpus);
	printf("guest signature: %s\n", ai.signature[0] ? ai.signature : "(none)");
	printf("linux guests:    %s\n", ai.linux_caveat ? ai.linux_caveat : "supported");
	return EXIT_CLEAN;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("vmon", "%s", "missing command");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage_main, stdout);
		return EXIT_CLEAN;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		puts("vmon " VMON_VERSION);
		return EXIT_CLEAN;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "seccomp-list")) {
		seccomp_role_print(stdout);
		return fflush(stdout) ? EXIT_VMM : EXIT_CLEAN;
	}
#ifndef VMON_NO_API
	if (cli_is_command(argv[1]))
		return cli_main(argv[1], argc - 1, argv + 1);
#endif
	return usage_error("vmon", "unknown command '%s'", argv[1]);
}
