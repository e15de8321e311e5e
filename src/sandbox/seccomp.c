/*
 * sandbox/seccomp.c: the per-thread-role seccomp filters (see seccomp.h for
 * the order they go in and the contract).
 *
 * Owns: the allow table (one row per syscall, or per ioctl request, with the
 * roles that may make it and who calls it), building and loading a role's
 * filter with libseccomp, the SIGSYS reporter, the API thread launcher and
 * the listing. Does not own where the hooks sit (main.c, api/vmm.c,
 * api/http.c, vcpu.c, ioloop.c) nor what those threads do.
 *
 * Every filter is default-deny: SECCOMP_RET_TRAP, so a forbidden call raises
 * SIGSYS on the thread that made it, and seccomp_sigsys names the call and
 * the role. clone3 answers ENOSYS instead, so that glibc's pthread_create
 * falls back to clone, whose flags a filter can see (clone3 passes them in
 * memory). Argument filters: ioctl by request, clone only for threads
 * (CLONE_THREAD), mmap and mprotect never executable, prctl and tgkill to
 * what vmon asks of them. No role may create a socket but the main thread,
 * and that only AF_UNIX, for PUT /migrate's stream to its target: every other
 * socket vmon uses exists before its thread is filtered.
 *
 * The sanitizer build (build/vmon.san, which the host tests run) adds rows
 * marked SAN: ASan's allocator and thread bookkeeping, and LeakSanitizer's
 * check at exit, which clones a tracer task that ptraces the main thread.
 * Those rows are compiled only when __SANITIZE_ADDRESS__ is defined, so the
 * filters the tests exercise are the release ones plus that list.
 *
 * Threads: seccomp_role_enter* on the thread being filtered; the table is
 * constant; the thread's role is in a _Thread_local for the SIGSYS handler,
 * which has no other way to learn it (libmicrohttpd's thread never runs our
 * code before its first syscall: a filtered thread with no role set is it).
 */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox/seccomp_names.h"

#ifndef SECCOMP_DEFAULT_ACTION
#define SECCOMP_DEFAULT_ACTION SCMP_ACT_TRAP
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SECCOMP_SAN 1
#else
#define SECCOMP_SAN 0
#endif

/* Roles as bits of a row's mask. */
#define R_API  (1u << SECCOMP_ROLE_API)
#define R_MAIN (1u << SECCOMP_ROLE_MAIN)
#define R_VK   (1u << SECCOMP_ROLE_VCPU)
#define R_VS   (1u << SECCOMP_ROLE_VCPU_SOFT)
#define R_IO   (1u << SECCOMP_ROLE_IO)
#define R_VCPU (R_VK | R_VS)
#define R_ALL  (R_API | R_MAIN | R_VCPU | R_IO)

/* The kick signal of accel/kvm.c (ACCEL_KVM_KICK_SIGNAL). */
#define SECCOMP_KICK_SIGNAL SIGUSR1
/* glibc's SIGCANCEL, __SIGRTMIN + 1 (nptl/pthreadP.h); SIGRTMIN itself is past glibc's reserved ones. */
#define SECCOMP_SIGCANCEL 33

enum seccomp_cmp {
	SC_ANY,    /* any arguments */
	SC_EQ,     /* args[arg] == val */
	SC_CLEAR,  /* (args[arg] & val) == 0 */
	SC_SET,    /* (args[arg] & val) == val */
};

struct seccomp_row {
	int nr;                /* SCMP_SYS() */
	const char *name;
	unsigned roles;
	enum seccomp_cmp cmp;
	unsigned arg;
	uint64_t val;
	const char *val_name;  /* how the listing shows the condition */
	const char *why;       /* the caller */
	int san;               /* only in the sanitizer build */
};

#define SYS(n, r, w)              { SCMP_SYS(n), #n, r, SC_ANY, 0, 0, NULL, w, 0 }
#define SYS_EQ(n, r, a, v, w)     { SCMP_SYS(n), #n, r, SC_EQ, a, (uint64_t)(v), #v, w, 0 }
#define SYS_CLEAR(n, r, a, v, w)  { SCMP_SYS(n), #n, r, SC_CLEAR, a, (uint64_t)(v), "no " #v, w, 0 }
#define SYS_SET(n, r, a, v, w)    { SCMP_SYS(n), #n, r, SC_SET, a, (uint64_t)(v), #v, w, 0 }
#define IOCTL(v, r, w)            { SCMP_SYS(ioctl), "ioctl", r, SC_EQ, 1, (uint64_t)(v), #v, w, 0 }
#define SAN(n, r, w)              { SCMP_SYS(n), #n, r, SC_ANY, 0, 0, NULL, w, 1 }

/*
 * The allow table. A row's roles are the threads that make the call; the
 * main thread's filter takes the rows of the I/O and vCPU threads too,
 * since those threads inherit it (seccomp.h).
 */
static const struct seccomp_row seccomp_rows[] = {
	/* ---- every thread */
	SYS(futex, R_ALL, "pthread mutexes and condition variables (pause, virtio cores, the action "
	    "queue), thread joins; the MIPS vCPU's wait and kick (accel/mips/accel.c)"),
	SYS(write, R_ALL, "log lines on stderr (log.c), the UART's output (devices/uart16550.c), "
	    "eventfd wakes (vm stop, UART room, doorbells, irqfds, actions, libmicrohttpd's ITC)"),
	SYS(madvise, R_ALL, "glibc: releasing a finished thread's stack, trimming malloc arenas"),
	SYS_CLEAR(openat, R_API, 2, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND,
		  "read-only only: glibc's malloc reads /sys/devices/system/cpu/online for a "
		  "connection thread's new arena and /proc/sys/vm/overcommit_memory when it "
		  "trims one"),
	SYS(clock_gettime, R_ALL, "vcpu_trace_exit, vm_now_ns, libmicrohttpd's timeouts, "
	    "virtio_core_lock_io (a syscall only when the clock source has no vDSO)"),
	SYS(exit, R_API | R_VCPU | R_IO, "the end of a thread (glibc start_thread)"),
	SYS(restart_syscall, R_ALL, "the kernel resuming a call a signal interrupted (poll, futex)"),

	/* ---- vCPU threads */
	IOCTL(KVM_RUN, R_VK, "vcpu_thread: kvm_vcpu_run (accel/kvm.c)"),
#if defined(__x86_64__)
	IOCTL(KVM_GET_REGS, R_VK, "the rip of a crash message (accel/kvm_x86.c)"),
#endif
#if defined(__aarch64__)
	IOCTL(KVM_GET_ONE_REG, R_VK, "the pc of a crash message (accel/kvm_arm64.c)"),
#endif
	IOCTL(KVM_IRQ_LINE, R_VK | R_IO | R_MAIN, "irq_line: UART, i8042, RTC and virtio lines "
	      "(accel/kvm.c); Ctrl-Alt-Del from the API (main)"),
	IOCTL(KVM_SIGNAL_MSI, R_VK | R_IO, "msi: an MSI without a route (accel/kvm.c)"),
	IOCTL(KVM_SET_GSI_ROUTING, R_VK | R_MAIN, "MSI routes (accel/kvm_x86_msi.c)"),
	IOCTL(KVM_IRQFD, R_VK | R_MAIN, "irqfd assign/deassign: virtio reset, teardown (accel/kvm.c)"),
	IOCTL(KVM_IOEVENTFD, R_VK | R_MAIN, "doorbell assign/deassign: virtio reset, teardown "
	      "(accel/kvm.c)"),
	IOCTL(TUNSETOFFLOAD, R_VCPU, "virtio-net's driver_ok tells the TAP its offloads (virtio/net.c)"),
	SYS(rt_sigreturn, R_VK | R_MAIN, "return from the kick handler (accel/kvm.c) and from "
	    "vm.c's stop-signal handler"),

	/* ---- the I/O thread */
	SYS(epoll_wait, R_IO, "ioloop_thread (ioloop.c)"),
	SYS(epoll_pwait, R_IO, "ioloop_thread (ioloop.c; glibc's epoll_wait on arm64)"),
	SYS(epoll_ctl, R_IO | R_MAIN, "virtio-net arming the TAP (virtio/net.c); ioloop_remove at "
	    "teardown (main)"),
	SYS(read, R_IO | R_MAIN | R_API, "doorbell eventfds (virtio/mmio.c); console input and "
	    "eventfd drains (vm.c); libmicrohttpd's ITC"),
	SYS(readv, R_IO, "frames from the TAP (virtio/net.c)"),
	SYS(writev, R_IO, "frames to the TAP (virtio/net.c)"),
	SYS(preadv, R_IO, "disk reads (virtio/blk.c)"),
	SYS(pwritev, R_IO, "disk writes (virtio/blk.c)"),
	SYS(fdatasync, R_IO, "virtio-blk FLUSH (virtio/blk.c)"),
	SYS(getrandom, R_IO, "virtio-rng (virtio/rng.c)"),
	SYS(poll, R_IO | R_API, "virtio-net's TAP readiness check (virtio/net.c); libmicrohttpd's loop"),

	/* ---- the main (VMM) thread */
	SYS(ppoll, R_MAIN | R_IO | R_API, "vm_main_loop (vm.c), vmm_wait_start (api/vmm.c); "
	    "glibc's poll on arm64"),
	SYS_EQ(tgkill, R_MAIN, 2, SECCOMP_KICK_SIGNAL, "vcpu_kick: pthread_kill (accel/kvm.c)"),
	SYS(getpid, R_MAIN, "pthread_kill (glibc); state.json (api/vmm.c)"),
	SYS(rt_sigpending, R_MAIN, "vm_pause gives up on a pending stop signal (vm.c)"),
	SYS(geteuid, R_MAIN | R_API, "state files: the owner check of a VM directory (cli/state.c)"),
	SYS(getuid, R_MAIN | R_API, "limits: whether VMON_LIMITS may apply (cli/state_limits.c)"),
	SYS(rt_sigprocmask, R_MAIN | R_API, "pthread_create, pthread_kill (glibc), vm_run's "
	    "signal mask (vm.c)"),
	SYS_EQ(rt_sigprocmask, R_VCPU | R_IO, 0, SIG_BLOCK, "a thread's end blocks signals (glibc)"),
	SYS_EQ(rt_sigaction, R_MAIN, 0, SIGINT, "vm_block_stop_signals (vm.c)"),
	SYS_EQ(rt_sigaction, R_MAIN, 0, SIGTERM, "vm_block_stop_signals (vm.c)"),
	SYS_EQ(rt_sigaction, R_MAIN, 0, SIGHUP, "vm_block_stop_signals (vm.c)"),
	SYS_EQ(rt_sigaction, R_MAIN | R_API, 0, SECCOMP_SIGCANCEL, "glibc's first pthread_create "
	       "installs its SIGCANCEL handler"),
	SYS_SET(clone, R_MAIN | R_API, 0, CLONE_THREAD, "pthread_create: the I/O and vCPU threads "
		"(ioloop.c, vm.c), libmicrohttpd's thread"),
	SYS_CLEAR(mmap, R_MAIN | R_API, 2, PROT_EXEC, "malloc, thread stacks (glibc)"),
	SYS_CLEAR(mprotect, R_MAIN | R_API, 2, PROT_EXEC, "thread stack guards, malloc arenas (glibc)"),
	SYS(brk, R_MAIN | R_API, "malloc growing the main arena (glibc): the snapshot and migration "
	    "bitmaps of a large VM"),
	SYS(munmap, R_MAIN | R_API, "free, thread stacks; guest RAM and kvm_run at teardown "
	    "(gmem.c, accel/kvm.c)"),
	SYS(set_robust_list, R_MAIN | R_API, "a new thread's start (glibc), under its creator's filter"),
	SYS(rseq, R_MAIN | R_API, "a new thread's start (glibc), under its creator's filter"),
	SYS_EQ(prctl, R_MAIN, 0, PR_GET_SECCOMP, "seccomp_role_enter: is the creator filtered (here)"),
	SYS_EQ(prctl, R_MAIN, 0, PR_SET_NO_NEW_PRIVS, "libseccomp, loading a thread's filter"),
	SYS(seccomp, R_MAIN, "libseccomp, loading an I/O or vCPU filter (a filter only narrows)"),
	IOCTL(TCGETS, R_MAIN, "console_close: tcgetattr (console.c)"),
	IOCTL(TCSETS, R_MAIN, "console_close: tcsetattr restores the terminal (console.c)"),
	SYS(close, R_MAIN | R_API, "teardown (vm_destroy), conmux clients (conmux.c), "
	    "libmicrohttpd's connections"),
	SYS(shutdown, R_MAIN | R_API, "libmicrohttpd closing connections and, at stop, its socket"),
	SYS_EQ(fcntl, R_MAIN | R_API, 1, F_GETFL, "fdopendir in state_rmtree (cli/state.c); "
	       "libmicrohttpd checking its listening socket"),
	SYS_EQ(fcntl, R_MAIN, 1, F_SETFD, "fdopendir in state_rmtree (cli/state.c)"),
	SYS_EQ(fcntl, R_MAIN, 1, F_SETFL, "console_out_close gives a shared terminal or pipe its flags "
	       "back (console.c; without /proc, as in the jail)"),
	SYS(accept4, R_MAIN | R_API, "the console client (conmux.c); API clients (libmicrohttpd)"),
	SYS_EQ(socket, R_MAIN, 0, AF_UNIX, "PUT /migrate: the stream to the target (snapshot/migrate.c)"),
	SYS(connect, R_MAIN, "PUT /migrate: the target's unix socket (snapshot/migrate.c)"),
	SYS(recvfrom, R_MAIN | R_API, "console client input (conmux.c: recv); API requests"),
	SYS(sendto, R_MAIN | R_API, "console output (conmux.c: send); API answers"),
	SYS(exit_group, R_MAIN, "the end of the process"),

	/* ---- the main thread after the VM: state.json, GET /stats, TTL removal */
	SYS(openat, R_MAIN, "state.json (cli/state.c), /proc/self/status (api/vmm.c), rmtree"),
	SYS(newfstatat, R_MAIN, "stdio, fdopendir (cli/state.c)"),
	SYS(fstat, R_MAIN, "stdio (glibc)"),
	SYS(lseek, R_MAIN, "stdio (glibc)"),
	SYS(rename, R_MAIN, "state.json, written atomically (cli/state.c)"),
	SYS(renameat, R_MAIN, "state.json, written atomically (cli/state.c)"),
	SYS(renameat2, R_MAIN, "state.json, written atomically (cli/state.c; glibc's rename on arm64)"),
	SYS(unlink, R_MAIN, "console.sock and api.sock at stop (conmux.c, api/http.c)"),
	SYS(unlinkat, R_MAIN, "state_rmtree (cli/state.c); glibc's unlink on arm64"),
	SYS(getdents64, R_MAIN, "state_rmtree (cli/state.c)"),
	SYS(dup2, R_MAIN, "vmon.log takes fds 1 and 2 back from its capture pipe (logfile.c)"),
	SYS(dup3, R_MAIN, "the same, as glibc's dup2 on arm64 (logfile.c)"),

	/* ---- the main thread: PUT /snapshot/create on a running VM (vm_snapshot.c, api/vmm.c) */
	SYS(mkdir, R_MAIN, "the snapshot store's directories, made on first use (snapshot/lineage.c)"),
	SYS(mkdirat, R_MAIN, "the same, as glibc's mkdir on arm64 (snapshot/lineage.c)"),
	SYS(link, R_MAIN, "the host key put in place once, a racer's kept (snapshot/lineage.c)"),
	SYS(linkat, R_MAIN, "the same, as glibc's link on arm64 (snapshot/lineage.c)"),
	SYS(flock, R_MAIN, "a lineage's record, one generation at a time (snapshot/lineage.c)"),
	SYS(fsync, R_MAIN, "the memory file, state file, host key and lineage record reach the disk "
	    "(vm_snapshot.c, snapshot/)"),
	SYS(ftruncate, R_MAIN, "the memory file sized to RAM, zero pages left as holes (snapshot/snapmem.c)"),
	SYS(pwrite64, R_MAIN, "the memory file's non-zero pages (snapshot/snapmem.c)"),
	SYS(getrandom, R_MAIN, "a new lineage id and host key (libsodium, snapshot/lineage.c)"),
	IOCTL(KVM_GET_DIRTY_LOG, R_MAIN, "dirty_get: the pages a diff snapshot holds (accel/kvm.c)"),
	IOCTL(KVM_SET_USER_MEMORY_REGION, R_MAIN, "dirty_track: dirty logging on after the first "
	      "snapshot (accel/kvm.c)"),
#if defined(__x86_64__)
	IOCTL(KVM_GET_REGS, R_MAIN, "vcpu_save, the vCPUs paused (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_SREGS, R_MAIN, "vcpu_save (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_XSAVE, R_MAIN, "vcpu_save (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_FPU, R_MAIN, "vcpu_save without XSAVE (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_XCRS, R_MAIN, "vcpu_save (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_MSRS, R_MAIN, "vcpu_save: TSC, kvmclock, TSC deadline and the rest "
	      "(accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_LAPIC, R_MAIN, "vcpu_save (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_MP_STATE, R_MAIN, "vcpu_save (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_VCPU_EVENTS, R_MAIN, "vcpu_save: pending events (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_DEBUGREGS, R_MAIN, "vcpu_save (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_IRQCHIP, R_MAIN, "vm_save: PIC and IOAPIC (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_PIT2, R_MAIN, "vm_save: the PIT (accel/kvm_x86_state.c)"),
	IOCTL(KVM_GET_CLOCK, R_MAIN, "vm_save: the KVM clock (accel/kvm_x86_state.c)"),
#endif

	/* ---- the API thread */
	SYS(eventfd2, R_API, "libmicrohttpd's ITC, created as it starts"),
	SYS(eventfd2, R_VK, "an MSI-X vector the guest unmasks gets its irqfd (pci/msix.c)"),
	SYS(close, R_VK, "an MSI-X vector's irqfd dropped when the guest moves or resets it "
	    "(pci/msix.c)"),
	SYS(sendmsg, R_API, "libmicrohttpd sending an answer's header and body together"),
	SYS(getsockname, R_API, "libmicrohttpd checking its listening socket as it starts"),
	SYS_EQ(getsockopt, R_API, 2, SO_DOMAIN, "libmicrohttpd checking its listening socket"),
	SYS_EQ(prctl, R_API, 0, PR_SET_NAME, "libmicrohttpd naming its thread \"MHD-single\""),
	SYS(getrandom, R_API, "json-c's hash seed, at the first JSON object of the process"),

	/* ---- the sanitizer build only */
	SAN(mmap, R_ALL, "ASan's allocator"),
	SAN(munmap, R_ALL, "ASan's allocator"),
	SAN(mprotect, R_ALL, "ASan's allocator"),
	SAN(sigaltstack, R_ALL, "ASan's per-thread alternate signal stack"),
	SAN(rt_sigprocmask, R_ALL, "ASan's thread bookkeeping"),
	SAN(sched_yield, R_ALL, "sanitizer spin locks"),
	SAN(getpid, R_ALL, "sanitizer reports"),
	SAN(gettid, R_ALL, "sanitizer thread registry"),
	SAN(sched_getaffinity, R_ALL, "ASan's thread start, under its creator's filter"),
	SAN(clone, R_MAIN, "LeakSanitizer's tracer task at exit"),
	SAN(ptrace, R_MAIN, "LeakSanitizer's tracer stops the main thread"),
	SAN(wait4, R_MAIN, "LeakSanitizer waits for its tracer"),
	SAN(prctl, R_MAIN, "LeakSanitizer's tracer (PR_SET_PTRACER, PR_SET_PDEATHSIG)"),
	SAN(rt_sigaction, R_MAIN, "LeakSanitizer's tracer"),
	SAN(getppid, R_MAIN, "LeakSanitizer's tracer"),
	SAN(open, R_MAIN, "LeakSanitizer's tracer: /proc/self/task"),
	SAN(getdents, R_MAIN, "LeakSanitizer's tracer: the threads to stop"),
	SAN(getdents64, R_MAIN, "LeakSanitizer's tracer: the threads to stop"),
	SAN(openat, R_ALL, "sanitizer reports: /proc/self/maps"),
	SAN(read, R_ALL, "sanitizer reports: /proc/self/maps"),
	SAN(close, R_ALL, "sanitizer reports"),
	SAN(exit_group, R_ALL, "a sanitizer ending the process after its report"),
};

#define SECCOMP_NR_ROWS (sizeof(seccomp_rows) / sizeof(seccomp_rows[0]))

static const char *const seccomp_role_names[SECCOMP_NR_ROLES] = {
	[SECCOMP_ROLE_API] = "api",
	[SECCOMP_ROLE_MAIN] = "main",
	[SECCOMP_ROLE_VCPU] = "vcpu",
	[SECCOMP_ROLE_VCPU_SOFT] = "vcpu-soft",
	[SECCOMP_ROLE_IO] = "io",
};

/*
 * This thread's role for the SIGSYS report; SECCOMP_ROLE_API (0) in a
 * filtered thread that never entered one: libmicrohttpd's (see the top).
 */
static _Thread_local int seccomp_my_role;

const char *seccomp_role_name(enum seccomp_role role)
{
	return (unsigned)role < SECCOMP_NR_ROLES ? seccomp_role_names[role] : "?";
}

/* The rows role's filter holds: its own, and for main those of the threads it creates. */
static unsigned seccomp_role_mask(enum seccomp_role role)
{
	if (role == SECCOMP_ROLE_MAIN)
		return R_MAIN | R_VCPU | R_IO;
	return 1u << role;
}

/* A row of role's filter; a syscall this arch lacks (a negative pseudo number) is in none. */
static int seccomp_row_in(const struct seccomp_row *r, unsigned mask)
{
	return (r->roles & mask) && (!r->san || SECCOMP_SAN) && r->nr >= 0;
}

unsigned seccomp_role_count(enum seccomp_role role)
{
	unsigned mask = seccomp_role_mask(role), n = 0;

	for (size_t i = 0; i < SECCOMP_NR_ROWS; i++) {
		size_t j;

		if (!seccomp_row_in(&seccomp_rows[i], mask))
			continue;
		for (j = 0; j < i; j++)
			if (seccomp_rows[j].nr == seccomp_rows[i].nr && seccomp_row_in(&seccomp_rows[j], mask))
				break;
		n += j == i;
	}
	return n;
}

/* ---- the SIGSYS reporter (async-signal-safe: write(2) only) --------------- */

static size_t seccomp_put(char *buf, size_t off, size_t cap, const char *s)
{
	while (*s && off < cap)
		buf[off++] = *s++;
	return off;
}

static size_t seccomp_put_uint(char *buf, size_t off, size_t cap, unsigned long v)
{
	char digits[24];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(digits));
	while (n && off < cap)
		buf[off++] = digits[--n];
	return off;
}

/*
 * A filtered thread made a forbidden call: say which and die. SIGSYS is
 * blocked in here, so the forbidden call below makes the kernel reset
 * SIGSYS to its default and kill the process with it, as
 * SECCOMP_RET_KILL_PROCESS would have (no role may make an AF_PACKET socket).
 */
static void seccomp_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[160];
	size_t n = 0, cap = sizeof(msg) - 1;
	int nr = si->si_syscall;
	int role = seccomp_my_role;

	(void)sig;
	(void)uc;
	n = seccomp_put(msg, n, cap, "vmon: seccomp: thread ");
	n = seccomp_put(msg, n, cap, (unsigned)role < SECCOMP_NR_ROLES ? seccomp_role_names[role] : "?");
	n = seccomp_put(msg, n, cap, " made forbidden syscall ");
	if (nr >= 0 && (size_t)nr < sizeof(seccomp_sys_names) / sizeof(seccomp_sys_names[0]) &&
	    seccomp_sys_names[nr]) {
		n = seccomp_put(msg, n, cap, seccomp_sys_names[nr]);
		n = seccomp_put(msg, n, cap, " (");
		n = seccomp_put_uint(msg, n, cap, (unsigned long)nr);
		n = seccomp_put(msg, n, cap, ")");
	} else {
		n = seccomp_put_uint(msg, n, cap, (unsigned long)(unsigned)nr);
	}
	msg[n++] = '\n';
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* nowhere left to say it */
	}
	syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0);
	syscall(SYS_exit_group, 128 + SIGSYS); /* not reached */
}

static int seccomp_arm_reporter(void)
{
	struct sigaction sa = { .sa_sigaction = seccomp_sigsys, .sa_flags = SA_SIGINFO };

	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		log_err("seccomp: cannot install the SIGSYS handler: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- building and loading a filter ---------------------------------------- */

static int seccomp_add_row(scmp_filter_ctx ctx, const struct seccomp_row *r)
{
	switch (r->cmp) {
	case SC_EQ:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_EQ, r->val, 0));
	case SC_CLEAR:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->val, 0));
	case SC_SET:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->val, r->val));
	case SC_ANY:
	default:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
	}
}

/*
 * Rows are added unconditional ones first: libseccomp refuses a condition
 * on a syscall already allowed outright (-EEXIST), which is the same filter.
 */
static int seccomp_build(scmp_filter_ctx ctx, unsigned mask)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < SECCOMP_NR_ROWS; i++) {
			const struct seccomp_row *r = &seccomp_rows[i];
			int ret;

			if (!seccomp_row_in(r, mask) || (r->cmp == SC_ANY) != (pass == 0))
				continue;
			ret = seccomp_add_row(ctx, r);
			if (ret && ret != -EEXIST) {
				log_err("seccomp: cannot add %s to a filter: %s", r->name, strerror(-ret));
				return ret;
			}
		}
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

static int seccomp_install(enum seccomp_role role)
{
	const char *st = getenv("VMON_SECCOMP_SELFTEST"); /* read before the filter */
	size_t rl = strlen(seccomp_role_names[role]);
	int selftest = st && !strncmp(st, seccomp_role_names[role], rl) ? 1 + !strcmp(st + rl, ":ioctl") : 0;
	scmp_filter_ctx ctx = seccomp_init(SECCOMP_DEFAULT_ACTION);
	sigset_t sys;
	int ret;

	if (!ctx) {
		log_err("seccomp: cannot create the %s filter (--seccomp=off runs without)",
			seccomp_role_names[role]);
		return -ENOMEM;
	}
	ret = seccomp_build(ctx, seccomp_role_mask(role));
	seccomp_my_role = (int)role;
	/* The I/O thread starts with every signal blocked: a blocked SIGSYS would kill unreported. */
	/*
	 * glibc reads /etc/localtime at the first time conversion of the
	 * process, gmtime_r included (libmicrohttpd's Date header): now, so
	 * that no filter needs open.
	 */
	tzset();
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret) {
		log_err("seccomp: cannot install the %s thread's filter: %s (--seccomp=off runs without)",
			seccomp_role_names[role], strerror(-ret));
		return ret;
	}
	/* VMON_SECCOMP_SELFTEST=<role>: try what no role may do; <role>:ioctl, a terminal ioctl. */
	if (selftest == 2)
		ioctl(STDIN_FILENO, TCGETS, &(struct termios){ 0 });
	else if (selftest == 1 && !st[rl])
		syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0);
	return 0;
}

int seccomp_role_enter_main(int on)
{
	int ret;

	if (!on)
		return 0;
	ret = seccomp_arm_reporter();
	return ret ? ret : seccomp_install(SECCOMP_ROLE_MAIN);
}

int seccomp_role_enter(enum seccomp_role role)
{
	/* Filtered by its creator (main), or not at all (--seccomp=off, test programs). */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
		return 0;
	return seccomp_install(role);
}

/* ---- the API launcher ----------------------------------------------------- */

struct seccomp_spawn {
	enum seccomp_role role;
	int (*fn)(void *);
	void *arg;
	int ret;
};

static void *seccomp_spawn_thread(void *p)
{
	struct seccomp_spawn *s = p;

	s->ret = seccomp_install(s->role);
	if (!s->ret)
		s->ret = s->fn(s->arg);
	return NULL;
}

int seccomp_role_spawn(enum seccomp_role role, int on, int (*fn)(void *), void *arg)
{
	struct seccomp_spawn s = { .role = role, .fn = fn, .arg = arg };
	pthread_t t;
	int ret;

	if (!on)
		return fn(arg);
	ret = seccomp_arm_reporter();
	if (ret)
		return ret;
	ret = pthread_create(&t, NULL, seccomp_spawn_thread, &s);
	if (ret) {
		log_err("seccomp: cannot start the %s thread: %s", seccomp_role_names[role], strerror(ret));
		return -ret;
	}
	pthread_join(t, NULL);
	return s.ret;
}

/* ---- the listing ---------------------------------------------------------- */

static void seccomp_print_role(FILE *f, enum seccomp_role role)
{
	unsigned mask = seccomp_role_mask(role);

	fprintf(f, "\n%s: %u syscalls%s\n", seccomp_role_names[role], seccomp_role_count(role),
		role == SECCOMP_ROLE_MAIN ? " (with those of the I/O and vCPU threads, which inherit "
		"its filter; * marks main's own)" : "");
	for (size_t i = 0; i < SECCOMP_NR_ROWS; i++) {
		const struct seccomp_row *r = &seccomp_rows[i];

		if (!seccomp_row_in(r, mask))
			continue;
		fprintf(f, "  %c %-16s %-22s %s%s\n",
			role == SECCOMP_ROLE_MAIN && (r->roles & R_MAIN) ? '*' : ' ', r->name,
			r->val_name ? r->val_name : "", r->san ? "[sanitizer build] " : "", r->why);
	}
}

void seccomp_role_print(FILE *f)
{
	static const enum seccomp_role order[] = { SECCOMP_ROLE_VCPU, SECCOMP_ROLE_VCPU_SOFT,
						   SECCOMP_ROLE_IO, SECCOMP_ROLE_API,
						   SECCOMP_ROLE_MAIN };

	fprintf(f, "vmon's seccomp filters: default deny (SIGSYS, reported by name), one per thread "
		"role%s.\n", SECCOMP_SAN ? "; this is the sanitizer build, with its extra rows" : "");
	fprintf(f, "%-10s %s\n", "role", "syscalls");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		fprintf(f, "%-10s %u\n", seccomp_role_names[order[i]], seccomp_role_count(order[i]));
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		seccomp_print_role(f, order[i]);
}
