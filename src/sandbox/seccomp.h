/*
 * sandbox/seccomp.h: the sandbox's syscall filters, one per thread role
 * (libseccomp, default deny). Each thread installs its role's filter itself,
 * before it runs the guest or reads untrusted input; a thread inherits the
 * filters of the thread that created it, so the order is:
 *
 *   API   (managed VMs)  seccomp_role_spawn: a short-lived thread takes the
 *                        API filter and starts libmicrohttpd, whose thread
 *                        inherits it. The main thread is not filtered yet.
 *   main  (the VMM)      seccomp_role_enter_main, after vm_create and before
 *                        vm_run: its filter also allows what the I/O and vCPU
 *                        threads vm_run creates need, as they inherit it.
 *   I/O, vCPU            seccomp_role_enter, first thing in the thread: its
 *                        own, narrower filter on top of the inherited one.
 *
 * A forbidden syscall raises SIGSYS; the handler writes
 * "vmon: seccomp: thread <role> made forbidden syscall <name> (<nr>)" to
 * stderr and the process dies by SIGSYS. `--seccomp=off` (vm_config.seccomp
 * 0) installs nothing. VMON_SECCOMP_SELFTEST=<role> makes a thread of that
 * role issue a forbidden socket(AF_PACKET) right after its filter is in
 * (tests/host/seccomp.sh).
 *
 * The lists, each syscall with its caller, are the table in seccomp.c;
 * `vmon seccomp-list` prints them. Threads: each function runs on the thread
 * it names; the table is constant.
 */
#ifndef VMON_SANDBOX_SECCOMP_H
#define VMON_SANDBOX_SECCOMP_H

#include <stdio.h>

enum seccomp_role {
	SECCOMP_ROLE_API,       /* libmicrohttpd's thread (and the thread that starts it) */
	SECCOMP_ROLE_MAIN,      /* the VMM thread: console, API actions, teardown */
	SECCOMP_ROLE_VCPU,      /* a KVM vCPU: KVM_RUN and register handlers */
	SECCOMP_ROLE_VCPU_SOFT, /* a software vCPU (accel/mips/): no KVM ioctls */
	SECCOMP_ROLE_IO,        /* the I/O thread: virtqueues, TAP, disk */
	SECCOMP_NR_ROLES,
};

/*
 * The main thread, before vm_run: when on, install the SIGSYS reporter and
 * the main filter. 0, or -errno (logged, with the way out: --seccomp=off).
 */
int seccomp_role_enter_main(int on);

/*
 * First thing in an I/O or vCPU thread: install role's filter if the thread
 * that created this one was filtered (seccomp_role_enter_main ran), nothing
 * otherwise (--seccomp=off, or a test program that never sandboxes). 0 or
 * -errno (logged).
 */
int seccomp_role_enter(enum seccomp_role role);

/*
 * Run fn(arg) on a new thread that first installs role's filter (when on;
 * when off, fn runs here). Threads fn creates inherit the filter. Returns
 * fn's result, or -errno when the thread or the filter failed (logged).
 */
int seccomp_role_spawn(enum seccomp_role role, int on, int (*fn)(void *), void *arg);

/* `vmon seccomp-list`: each role's syscalls with their callers and argument filters. */
void seccomp_role_print(FILE *f);

/* The number of distinct syscalls role's filter allows (tests, the listing). */
unsigned seccomp_role_count(enum seccomp_role role);

/* "main", "vcpu", ... */
const char *seccomp_role_name(enum seccomp_role role);

#endif
