/*
 * test_console_out.c: unit tests for the guest output path of src/console.c
 * (struct console_out), the part that keeps a console reader that stops
 * reading from freezing the guest or vmon.
 *
 * Covers: with a reader, every byte arrives in order; with a pipe nobody
 * reads, the UART's writes never block (a full buffer refuses them), a pump
 * returns at once and the final flush gives up after its stall time; the
 * host pipe is written through a description of its own (the shell's keeps
 * its blocking mode); a reader that goes away (EPIPE) makes the output
 * discarded; a regular file is written as is. Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "test.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What the UART does: one byte per write, a refused byte is dropped. */
static size_t uart_write(struct console_out *o, const char *s, size_t n)
{
	size_t ok = 0;

	for (size_t i = 0; i < n; i++)
		ok += write(o->uart_fd, s + i, 1) == 1;
	return ok;
}

TEST(reader_gets_everything_in_order)
{
	struct console_out o;
	char buf[8192];
	int p[2];
	size_t got = 0;

	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(console_out_open(&o, p[1]), 0);
	CHECK_EQ(o.mode, CONSOLE_OUT_OWN);
	for (unsigned i = 0; i < 1000; i++) {
		char line[16];
		int n = snprintf(line, sizeof(line), "%u\n", i);

		CHECK_EQ(uart_write(&o, line, (size_t)n), n);
	}
	console_out_flush(&o, 100);
	console_out_close(&o);
	close(p[1]);
	for (ssize_t r; (r = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0;)
		got += (size_t)r;
	buf[got] = '\0';
	close(p[0]);
	CHECK(!strncmp(buf, "0\n1\n2\n", 6));
	CHECK(strstr(buf, "\n998\n999\n") != NULL);
	CHECK_EQ(o.written, got);
}

TEST(nobody_reads_nothing_blocks)
{
	static char junk[4096];
	struct console_out o;
	size_t accepted = 0, tried = 0;
	uint64_t t0;
	int p[2], fl;

	CHECK_EQ(pipe(p), 0);
	(void)fcntl(p[1], F_SETPIPE_SZ, 4096);
	CHECK_EQ(console_out_open(&o, p[1]), 0);
	memset(junk, 'g', sizeof(junk));
	/* Far more than both pipes hold: the UART's writes are refused, never blocked. */
	t0 = now_ms();
	for (unsigned round = 0; round < 400; round++) {
		accepted += (size_t)(write(o.uart_fd, junk, sizeof(junk)) > 0 ? 1 : 0);
		tried++;
		console_out_pump(&o);
	}
	CHECK(now_ms() - t0 < 2000);
	CHECK(accepted < tried); /* the buffer filled and said so */
	CHECK(o.written <= 8192);
	CHECK_EQ(o.gone, 0);
	/* The shell's description of the pipe keeps its blocking mode. */
	fl = fcntl(p[1], F_GETFL);
	CHECK(fl >= 0 && !(fl & O_NONBLOCK));
	t0 = now_ms();
	console_out_flush(&o, 50); /* gives up: at most about 10 * 50 ms */
	CHECK(now_ms() - t0 < 1000);
	console_out_close(&o);
	close(p[0]);
	close(p[1]);
}

TEST(reader_gone_output_discarded)
{
	struct console_out o;
	int p[2];

	signal(SIGPIPE, SIG_IGN); /* as `vmon run` does */
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(console_out_open(&o, p[1]), 0);
	close(p[0]);
	CHECK_EQ(uart_write(&o, "hello\n", 6), 6);
	console_out_pump(&o);
	CHECK_EQ(o.gone, 1);
	CHECK_EQ(uart_write(&o, "more\n", 5), 5);
	console_out_pump(&o);
	CHECK(o.discarded >= 5);
	console_out_flush(&o, 50);
	console_out_close(&o);
	close(p[1]);
}

TEST(regular_file_written_as_is)
{
	char path[] = "/tmp/vmon-cout-XXXXXX", buf[32];
	struct console_out o;
	int fd = mkstemp(path);
	ssize_t n;

	CHECK(fd >= 0);
	CHECK_EQ(console_out_open(&o, fd), 0);
	CHECK_EQ(o.mode, CONSOLE_OUT_FILE);
	CHECK_EQ(uart_write(&o, "PASS file\n", 10), 10);
	console_out_flush(&o, 50);
	console_out_close(&o);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	CHECK_EQ(n, 10);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(!strcmp(buf, "PASS file\n"));
	close(fd);
	unlink(path);
}

TEST_MAIN(T(reader_gets_everything_in_order), T(nobody_reads_nothing_blocks),
	  T(reader_gone_output_discarded), T(regular_file_written_as_is))
