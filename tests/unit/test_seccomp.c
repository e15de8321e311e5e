/*
 * test_seccomp.c: the sandbox's filters (sandbox/seccomp.c) without KVM.
 * Each case that installs a filter does it in a forked child, which the
 * parent watches: a forbidden call must end the child by SIGSYS with the
 * one-line report on its stderr; an allowed one must not.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/seccomp.h"
#include "test.h"

/* Run fn in a child with stderr to a pipe; its wait status, and up to cap-1 bytes of stderr. */
static int run_child(void (*fn)(void), char *err, size_t cap)
{
	int p[2], status = -1;
	size_t n = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		fn();
		_exit(0); /* no atexit work (LeakSanitizer) under a filter */
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], err + n, cap - 1 - n);

		if (r <= 0 || (n += (size_t)r) >= cap - 1)
			break;
	}
	err[n] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return status;
}

static int killed_by_sigsys(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

TEST(counts)
{
	unsigned v = seccomp_role_count(SECCOMP_ROLE_VCPU), s = seccomp_role_count(SECCOMP_ROLE_VCPU_SOFT);
	unsigned io = seccomp_role_count(SECCOMP_ROLE_IO), m = seccomp_role_count(SECCOMP_ROLE_MAIN);

	CHECK(v > 0);
	CHECK(v < 27); /* Firecracker's vCPU filter allows 27 */
	CHECK(s < v);  /* the software vCPU has no KVM ioctls, nor the kick's sigreturn */
	/* main's filter holds its threads' lists: they inherit it */
	CHECK(m >= v && m >= io);
	CHECK(!strcmp(seccomp_role_name(SECCOMP_ROLE_IO), "io"));
	CHECK(!strcmp(seccomp_role_name(SECCOMP_NR_ROLES), "?"));
}

static void child_forbidden(void)
{
	if (seccomp_role_enter_main(1))
		_exit(10);
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	_exit(11); /* not reached */
}

TEST(forbidden_call_is_reported_and_kills)
{
	char err[512];
	int st = run_child(child_forbidden, err, sizeof(err));

	CHECK(killed_by_sigsys(st));
	CHECK(strstr(err, "vmon: seccomp: thread main made forbidden syscall socket (") != NULL);
}

static void child_allowed(void)
{
	struct termios tio;

	if (seccomp_role_enter_main(1))
		_exit(10);
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
		_exit(12);
	/* an allowed ioctl request on a non-terminal: ENOTTY, not SIGSYS */
	if (ioctl(-1, TCGETS, &tio) != -1 || errno != EBADF)
		_exit(13);
	if (write(STDERR_FILENO, "still here\n", 11) != 11)
		_exit(14);
}

TEST(allowed_calls_go_through)
{
	char err[512];
	int st = run_child(child_allowed, err, sizeof(err));

	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	CHECK(strstr(err, "still here") != NULL);
}

static void *io_thread(void *arg)
{
	struct termios tio;

	(void)arg;
	if (seccomp_role_enter(SECCOMP_ROLE_IO))
		_exit(20);
	ioctl(STDIN_FILENO, TCGETS, &tio); /* main may, the I/O thread may not */
	_exit(21);
}

static void child_io_ioctl(void)
{
	pthread_t t;

	if (seccomp_role_enter_main(1))
		_exit(10);
	if (pthread_create(&t, NULL, io_thread, NULL))
		_exit(15);
	pthread_join(t, NULL);
}

TEST(io_filter_narrows_main_by_argument)
{
	char err[512];
	int st = run_child(child_io_ioctl, err, sizeof(err));

	CHECK(killed_by_sigsys(st));
	CHECK(strstr(err, "vmon: seccomp: thread io made forbidden syscall ioctl (") != NULL);
}

static void child_unfiltered_creator(void)
{
	/* No main filter: a role's thread installs nothing (--seccomp=off, test programs). */
	if (seccomp_role_enter(SECCOMP_ROLE_VCPU))
		_exit(10);
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		_exit(16);
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

TEST(no_filter_without_a_filtered_creator)
{
	char err[512];
	int st = run_child(child_unfiltered_creator, err, sizeof(err));

	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

static void child_off(void)
{
	if (seccomp_role_enter_main(0))
		_exit(10);
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		_exit(17);
}

TEST(off_installs_nothing)
{
	char err[512];
	int st = run_child(child_off, err, sizeof(err));

	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

static int spawned(void *arg)
{
	*(long *)arg = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	return 0;
}

TEST(spawn_runs_under_the_role_only_when_on)
{
	long mode = -1;

	/* off: runs here, unfiltered (safe in the test process itself) */
	CHECK_EQ(seccomp_role_spawn(SECCOMP_ROLE_API, 0, spawned, &mode), 0);
	CHECK_EQ(mode, 0);
}

static void child_spawn_on(void)
{
	long mode = -1;

	if (seccomp_role_spawn(SECCOMP_ROLE_API, 1, spawned, &mode))
		_exit(10);
	if (mode != -1) /* prctl(PR_GET_SECCOMP) is not the API's: the thread died trying */
		_exit(18);
}

TEST(spawned_thread_has_the_api_filter)
{
	char err[512];
	int st = run_child(child_spawn_on, err, sizeof(err));

	CHECK(killed_by_sigsys(st));
	CHECK(strstr(err, "vmon: seccomp: thread api made forbidden syscall prctl (") != NULL);
}

TEST_MAIN(T(counts), T(forbidden_call_is_reported_and_kills), T(allowed_calls_go_through),
	  T(io_filter_narrows_main_by_argument), T(no_filter_without_a_filtered_creator),
	  T(off_installs_nothing), T(spawn_runs_under_the_role_only_when_on),
	  T(spawned_thread_has_the_api_filter))
