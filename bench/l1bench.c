/*
 * l1bench.c: the stopwatch of `make bench`, run inside the nested L1 (static, no shell between
 * it and the VMM). It starts COUNT copies of a command (a VMM booting L2, or a workload),
 * reads their stdout+stderr line by line and timestamps, with CLOCK_MONOTONIC:
 *   launch            fork of the child
 *   marker            the line holding --marker (default "VMON-L2-INIT-OK", the L2 init
 *                     marker; its uptime= and cpus= fields are kept)
 *   reset             the line holding "Restarting system" (L2's kernel, just before its reset)
 *   exit              the child's exit (wait4: status and ru_maxrss)
 *   span              between a line holding --span BEGIN and one holding END (a workload)
 * Once every child has printed the marker, it waits --idle-ms, samples each child's VmHWM and
 * VmRSS (/proc/PID/status) and, from /proc/PID/smaps, the RSS of the mappings smaller than
 * --guest-mib (the VMM's own memory apart from guest RAM), then writes --send and a newline to
 * each child's stdin (the L2 side waits for it on its console).
 *
 * usage: l1bench [-n COUNT] [--tag TEXT] [--idle-ms MS] [--send STR] [--guest-mib MIB]
 *                [--span BEGIN END] [--timeout S] [--log FILE] [--marker TEXT]
 *                [--note TEXT] [--kvm-exits] -- CMD [ARG...]
 * Prints one line per child:
 *   BENCH-RAW <tag> i=<k> rc=<status|timeout|signal-N> marker_ms=<launch->marker|-> ...
 * and, with -n > 1, one aggregate line (all=1) with the time until the last marker and the
 * summed RSS. A field that could not be measured is "-": the report shows it as a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 16
#define LINE_MAX_LEN 1024
#define KVM_DEBUGFS "/sys/kernel/debug/kvm"
#define NOTE_MAX_LEN 256

/* L1 KVM's exit counters of one child's VMs: exits, io_exits, mmio_exits (-1: not read) */
struct kvm_exits {
	long long total, io, mmio;
};

struct child {
	pid_t pid;
	int out_fd, in_fd;
	char line[LINE_MAX_LEN];
	size_t len;
	int64_t t_launch, t_marker, t_reset, t_exit, t_span_b, t_span_e;
	char uptime[32];
	int cpus;
	long hwm_kb, rss_kb, own_kb, maxrss_kb;
	int status_known, status, timed_out;
	struct kvm_exits ex_init, ex_last;
	char note[NOTE_MAX_LEN];
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fmt_ms(char *buf, size_t n, int64_t from, int64_t to)
{
	if (from < 0 || to < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f", (double)(to - from) / 1000.0);
}

static void fmt_long(char *buf, size_t n, long v)
{
	if (v < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%ld", v);
}

static long status_field(pid_t pid, const char *key)
{
	char path[64], buf[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, key, klen) && buf[klen] == ':') {
			v = strtol(buf + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* RSS (kB) of the mappings whose size is below limit_kb: the VMM apart from guest RAM. */
static long own_rss_kb(pid_t pid, long limit_kb)
{
	char path[64], buf[512];
	long size = 0, total = 0, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f)) {
		if (sscanf(buf, "Size: %ld kB", &v) == 1)
			size = v;
		else if (sscanf(buf, "Rss: %ld kB", &v) == 1 && size < limit_kb)
			total += v;
	}
	fclose(f);
	return total;
}

static long long read_ll(const char *dir, const char *name)
{
	char path[512];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", KVM_DEBUGFS, dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Sum the counters of every VM directory "<pid>-<fd>" of pid; 0 when one was read. */
static int kvm_exits_read(pid_t pid, struct kvm_exits *out)
{
	struct kvm_exits sum = { 0, 0, 0 };
	char prefix[32];
	size_t plen;
	struct dirent *e;
	int found = 0;
	DIR *d = opendir(KVM_DEBUGFS);

	if (!d)
		return -ENOENT;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%d-", (int)pid);
	while ((e = readdir(d))) {
		long long t, io, mm;

		if (strncmp(e->d_name, prefix, plen))
			continue;
		t = read_ll(e->d_name, "exits");
		io = read_ll(e->d_name, "io_exits");
		mm = read_ll(e->d_name, "mmio_exits");
		if (t < 0 || io < 0 || mm < 0)
			continue;
		sum.total += t;
		sum.io += io;
		sum.mmio += mm;
		found = 1;
	}
	closedir(d);
	if (!found)
		return -ENOENT;
	*out = sum;
	return 0;
}

static void fmt_ll(char *buf, size_t n, long long v)
{
	if (v < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%lld", v);
}

/* note="..." with the text's double quotes and backslashes made harmless for the report */
static void note_keep(char *dst, const char *src)
{
	size_t k = 0;

	while (*src == ' ')
		src++;
	for (; *src && k < NOTE_MAX_LEN - 1; src++)
		dst[k++] = (*src == '"' || *src == '\\') ? '\'' : *src;
	dst[k] = '\0';
}

static void usage(void)
{
	fprintf(stderr, "usage: l1bench [-n COUNT] [--tag TEXT] [--idle-ms MS] [--send STR] "
			"[--guest-mib MIB] [--span BEGIN END] [--timeout S] [--log FILE] "
			"[--marker TEXT] [--note TEXT] [--kvm-exits] -- CMD [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct child c[MAX_CHILDREN];
	const char *tag = "", *send = NULL, *span_b = NULL, *span_e = NULL, *logpath = NULL;
	const char *marker = "VMON-L2-INIT-OK", *note = NULL;
	int want_exits = 0;
	long idle_ms = 1000, guest_mib = 256, timeout_s = 300;
	int n = 1, i, argi = 1, sampled = 0, alive;
	int64_t t_deadline;
	FILE *logf = NULL;

	while (argi < argc && strcmp(argv[argi], "--")) {
		const char *a = argv[argi];

		if (!strcmp(a, "-n") && argi + 1 < argc)
			n = atoi(argv[++argi]);
		else if (!strcmp(a, "--tag") && argi + 1 < argc)
			tag = argv[++argi];
		else if (!strcmp(a, "--idle-ms") && argi + 1 < argc)
			idle_ms = atol(argv[++argi]);
		else if (!strcmp(a, "--send") && argi + 1 < argc)
			send = argv[++argi];
		else if (!strcmp(a, "--guest-mib") && argi + 1 < argc)
			guest_mib = atol(argv[++argi]);
		else if (!strcmp(a, "--timeout") && argi + 1 < argc)
			timeout_s = atol(argv[++argi]);
		else if (!strcmp(a, "--log") && argi + 1 < argc)
			logpath = argv[++argi];
		else if (!strcmp(a, "--marker") && argi + 1 < argc && argv[argi + 1][0])
			marker = argv[++argi];
		else if (!strcmp(a, "--note") && argi + 1 < argc && argv[argi + 1][0])
			note = argv[++argi];
		else if (!strcmp(a, "--kvm-exits"))
			want_exits = 1;
		else if (!strcmp(a, "--span") && argi + 2 < argc) {
			span_b = argv[++argi];
			span_e = argv[++argi];
		} else
			usage();
		argi++;
	}
	if (argi >= argc - 1 || n < 1 || n > MAX_CHILDREN)
		usage();
	argi++;
	if (logpath)
		logf = fopen(logpath, "a");
	signal(SIGPIPE, SIG_IGN);

	memset(c, 0, sizeof(c));
	for (i = 0; i < n; i++) {
		int in[2], out[2];

		c[i].t_marker = c[i].t_reset = c[i].t_exit = c[i].t_span_b = c[i].t_span_e = -1;
		c[i].hwm_kb = c[i].rss_kb = c[i].own_kb = c[i].maxrss_kb = -1;
		c[i].cpus = -1;
		c[i].ex_init.total = c[i].ex_init.io = c[i].ex_init.mmio = -1;
		c[i].ex_last = c[i].ex_init;
		strcpy(c[i].uptime, "-");
		if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
			perror("l1bench: pipe");
			return 1;
		}
		c[i].t_launch = now_us();
		c[i].pid = fork();
		if (c[i].pid < 0) {
			perror("l1bench: fork");
			return 1;
		}
		if (c[i].pid == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			dup2(out[1], 2);
			execvp(argv[argi], argv + argi);
			fprintf(stderr, "l1bench: exec %s: %s\n", argv[argi], strerror(errno));
			_exit(127);
		}
		close(in[0]);
		close(out[1]);
		c[i].in_fd = in[1];
		c[i].out_fd = out[0];
	}
	t_deadline = now_us() + (int64_t)timeout_s * 1000000;

	for (;;) {
		struct pollfd p[MAX_CHILDREN];
		int64_t t, wait_us = 100000;
		int with_marker = 0;

		alive = 0;
		for (i = 0; i < n; i++) {
			p[i].fd = c[i].out_fd;
			p[i].events = POLLIN;
			p[i].revents = 0;
			if (c[i].out_fd >= 0)
				alive++;
			if (c[i].t_marker >= 0)
				with_marker++;
		}
		if (!alive)
			break;
		t = now_us();
		if (!sampled && with_marker == n) {
			int64_t last = 0;

			for (i = 0; i < n; i++)
				last = c[i].t_marker > last ? c[i].t_marker : last;
			if (t >= last + idle_ms * 1000) {
				for (i = 0; i < n; i++) {
					c[i].hwm_kb = status_field(c[i].pid, "VmHWM");
					c[i].rss_kb = status_field(c[i].pid, "VmRSS");
					c[i].own_kb = own_rss_kb(c[i].pid, guest_mib * 1024);
				}
				for (i = 0; i < n; i++) {
					if (send) {
						char msg[256];
						int len = snprintf(msg, sizeof(msg), "%s\n", send);

						if (write(c[i].in_fd, msg, (size_t)len) < 0)
							fprintf(stderr, "l1bench: write to child %d: %s\n", i,
								strerror(errno));
					}
				}
				sampled = 1;
			} else if (last + idle_ms * 1000 - t < wait_us)
				wait_us = last + idle_ms * 1000 - t;
		}
		if (t >= t_deadline) {
			for (i = 0; i < n; i++)
				if (c[i].out_fd >= 0) {
					kill(c[i].pid, SIGKILL);
					c[i].timed_out = 1;
				}
			t_deadline = INT64_MAX;
		}
		if (want_exits)
			for (i = 0; i < n; i++)
				if (c[i].out_fd >= 0)
					kvm_exits_read(c[i].pid, &c[i].ex_last);
		if (poll(p, (nfds_t)n, (int)(wait_us / 1000) + 1) < 0 && errno != EINTR) {
			perror("l1bench: poll");
			return 1;
		}
		for (i = 0; i < n; i++) {
			char buf[4096];
			ssize_t got;

			if (c[i].out_fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(c[i].out_fd, buf, sizeof(buf));
			t = now_us();
			if (got <= 0) {
				struct rusage ru;

				if (want_exits) /* the output ended: the VM may still be there */
					kvm_exits_read(c[i].pid, &c[i].ex_last);
				close(c[i].out_fd);
				c[i].out_fd = -1;
				if (wait4(c[i].pid, &c[i].status, 0, &ru) == c[i].pid) {
					c[i].status_known = 1;
					c[i].maxrss_kb = ru.ru_maxrss;
				}
				c[i].t_exit = now_us();
				close(c[i].in_fd);
				c[i].in_fd = -1;
				continue;
			}
			for (ssize_t k = 0; k < got; k++) {
				char ch = buf[k];
				const char *s;

				if (ch != '\n' && c[i].len < LINE_MAX_LEN - 1) {
					if (ch != '\r')
						c[i].line[c[i].len++] = ch;
					continue;
				}
				if (ch != '\n')
					continue; /* overlong line: keep its head */
				c[i].line[c[i].len] = '\0';
				if (logf)
					fprintf(logf, "[%d %.3f] %s\n", i, (double)(t - c[i].t_launch) / 1e6,
						c[i].line);
				if (c[i].t_marker < 0 && (s = strstr(c[i].line, marker))) {
					const char *u = strstr(s, "uptime="), *cp = strstr(s, "cpus=");

					c[i].t_marker = t;
					if (want_exits)
						kvm_exits_read(c[i].pid, &c[i].ex_init);
					if (u)
						sscanf(u + 7, "%31[0-9.]", c[i].uptime);
					if (cp)
						c[i].cpus = atoi(cp + 5);
				}
				if (c[i].t_reset < 0 && strstr(c[i].line, "Restarting system")) {
					c[i].t_reset = t;
					if (want_exits)
						kvm_exits_read(c[i].pid, &c[i].ex_last);
				}
				if (note && !c[i].note[0] && (s = strstr(c[i].line, note)))
					note_keep(c[i].note, s + strlen(note));
				if (span_b && c[i].t_span_b < 0 && strstr(c[i].line, span_b))
					c[i].t_span_b = t;
				else if (span_e && c[i].t_span_b >= 0 && c[i].t_span_e < 0 &&
					 strstr(c[i].line, span_e))
					c[i].t_span_e = t;
				c[i].len = 0;
			}
		}
	}

	{
		long rss_total = 0, maxrss_total = 0;
		int ok = 0, all_rss = 1, all_maxrss = 1;
		int64_t last_marker = -1;
		char lm[32], rt[32], mt[32];

		for (i = 0; i < n; i++) {
			char rc[32], mk[32], re[32], sp[32], ex[32], cp[16], hw[24], rs[24], ow[24], mr[24];

			if (c[i].timed_out)
				snprintf(rc, sizeof(rc), "timeout");
			else if (!c[i].status_known)
				snprintf(rc, sizeof(rc), "unknown");
			else if (WIFEXITED(c[i].status))
				snprintf(rc, sizeof(rc), "%d", WEXITSTATUS(c[i].status));
			else
				snprintf(rc, sizeof(rc), "signal-%d", WTERMSIG(c[i].status));
			fmt_ms(mk, sizeof(mk), c[i].t_marker >= 0 ? c[i].t_launch : -1, c[i].t_marker);
			fmt_ms(re, sizeof(re), c[i].t_reset, c[i].t_reset >= 0 ? c[i].t_exit : -1);
			fmt_ms(sp, sizeof(sp), c[i].t_span_b, c[i].t_span_e);
			fmt_ms(ex, sizeof(ex), c[i].t_launch, c[i].t_exit);
			fmt_long(cp, sizeof(cp), c[i].cpus);
			fmt_long(hw, sizeof(hw), c[i].hwm_kb);
			fmt_long(rs, sizeof(rs), c[i].rss_kb);
			fmt_long(ow, sizeof(ow), c[i].own_kb);
			fmt_long(mr, sizeof(mr), c[i].maxrss_kb);
			printf("BENCH-RAW %s i=%d rc=%s marker_ms=%s l2_uptime_s=%s cpus=%s hwm_kb=%s "
			       "rss_kb=%s own_kb=%s reset_exit_ms=%s span_ms=%s exit_ms=%s maxrss_kb=%s",
			       tag, i, rc, mk, c[i].uptime, cp, hw, rs, ow, re, sp, ex, mr);
			if (want_exits) {
				char e0[24], e1[24], e2[24], e3[24], e4[24], e5[24];

				fmt_ll(e0, sizeof(e0), c[i].ex_init.total);
				fmt_ll(e1, sizeof(e1), c[i].ex_init.io);
				fmt_ll(e2, sizeof(e2), c[i].ex_init.mmio);
				fmt_ll(e3, sizeof(e3), c[i].ex_last.total);
				fmt_ll(e4, sizeof(e4), c[i].ex_last.io);
				fmt_ll(e5, sizeof(e5), c[i].ex_last.mmio);
				printf(" kvm_exits_init=%s kvm_io_init=%s kvm_mmio_init=%s kvm_exits=%s "
				       "kvm_io=%s kvm_mmio=%s", e0, e1, e2, e3, e4, e5);
			}
			if (note)
				printf(" note=\"%s\"", c[i].note[0] ? c[i].note : "-");
			printf("\n");
			if (!strcmp(rc, "0") && c[i].t_marker >= 0)
				ok++;
			if (c[i].t_marker > last_marker)
				last_marker = c[i].t_marker;
			if (c[i].rss_kb < 0)
				all_rss = 0;
			rss_total += c[i].rss_kb;
			if (c[i].maxrss_kb < 0)
				all_maxrss = 0;
			maxrss_total += c[i].maxrss_kb;
		}
		if (n > 1) {
			/* all children reached the marker and exited 0, or the aggregate is a failure */
			fmt_ms(lm, sizeof(lm), ok == n ? c[0].t_launch : -1, ok == n ? last_marker : -1);
			fmt_long(rt, sizeof(rt), all_rss ? rss_total : -1);
			fmt_long(mt, sizeof(mt), all_maxrss ? maxrss_total : -1);
			printf("BENCH-RAW %s all=1 n=%d ok=%d all_marker_ms=%s rss_total_kb=%s "
			       "maxrss_total_kb=%s\n", tag, n, ok, lm, rt, mt);
		}
	}
	if (logf)
		fclose(logf);
	return 0;
}
