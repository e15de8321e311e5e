/*
 * test_console.c: unit tests for src/console.c, the host console.
 *
 * Covers the Ctrl-A escape filter (console_filter): plain bytes, quit and
 * help commands and where they stop consuming, Ctrl-A Ctrl-A, Ctrl-A with
 * any other byte, and the escape state carried across buffers. Also the
 * terminal side (console_open/console_close) on a pipe (left alone) and on
 * a pseudo-terminal (raw mode on, then restored). Single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "test.h"

#define ESC CONSOLE_ESCAPE

struct filter_result {
	size_t out_len, consumed;
	enum console_cmd cmd;
	uint8_t out[64];
};

/* One console_filter call; out is pre-filled so stray writes show up. */
static struct filter_result run_filter(struct console *c, const void *in, size_t n)
{
	struct filter_result r;

	memset(&r, 0, sizeof(r));
	memset(r.out, 0xee, sizeof(r.out));
	r.consumed = 0xdead;
	r.cmd = (enum console_cmd)-1;
	r.out_len = console_filter(c, in, n, &r.consumed, r.out, &r.cmd);
	return r;
}

static struct console fresh_console(void)
{
	struct console c;

	memset(&c, 0, sizeof(c));
	c.in_fd = -1;
	return c;
}

TEST(filter_table)
{
	static const struct {
		const char *name;
		const char *in;
		size_t n;
		const char *out;
		size_t out_len, consumed;
		enum console_cmd cmd;
		int escaped_after;
	} cases[] = {
		{ "plain", "hello\r\n", 7, "hello\r\n", 7, 7, CONSOLE_CMD_NONE, 0 },
		{ "empty", "", 0, "", 0, 0, CONSOLE_CMD_NONE, 0 },
		{ "all bytes but ^A", "\x00\x02\x7f\xff", 4, "\x00\x02\x7f\xff", 4, 4,
		  CONSOLE_CMD_NONE, 0 },
		{ "^A x quits", "\x01x", 2, "", 0, 2, CONSOLE_CMD_QUIT, 0 },
		{ "^A X quits", "\x01X", 2, "", 0, 2, CONSOLE_CMD_QUIT, 0 },
		{ "quit stops right after x", "ab\x01xcd", 6, "ab", 2, 4, CONSOLE_CMD_QUIT, 0 },
		{ "^A h help", "\x01h", 2, "", 0, 2, CONSOLE_CMD_HELP, 0 },
		{ "^A H help", "\x01H", 2, "", 0, 2, CONSOLE_CMD_HELP, 0 },
		{ "^A ? help", "q\x01?rest", 7, "q", 1, 3, CONSOLE_CMD_HELP, 0 },
		{ "^A ^A sends one ^A", "\x01\x01", 2, "\x01", 1, 2, CONSOLE_CMD_NONE, 0 },
		{ "^A ^A ^A ^A", "\x01\x01\x01\x01", 4, "\x01\x01", 2, 4, CONSOLE_CMD_NONE, 0 },
		{ "^A other passes both", "\x01" "a", 2, "\x01" "a", 2, 2, CONSOLE_CMD_NONE, 0 },
		{ "^A NUL passes both", "\x01\x00z", 3, "\x01\x00z", 3, 3, CONSOLE_CMD_NONE, 0 },
		{ "^A ^A x is not quit", "\x01\x01x", 3, "\x01x", 2, 3, CONSOLE_CMD_NONE, 0 },
		{ "trailing ^A held back", "ab\x01", 3, "ab", 2, 3, CONSOLE_CMD_NONE, 1 },
		{ "x without ^A", "x", 1, "x", 1, 1, CONSOLE_CMD_NONE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct console c = fresh_console();
		struct filter_result r = run_filter(&c, cases[i].in, cases[i].n);
		int bad = r.out_len != cases[i].out_len || r.consumed != cases[i].consumed ||
			  r.cmd != cases[i].cmd || c.escaped != cases[i].escaped_after ||
			  memcmp(r.out, cases[i].out, cases[i].out_len) != 0;

		if (bad)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(r.out_len, cases[i].out_len);
		CHECK(memcmp(r.out, cases[i].out, cases[i].out_len) == 0);
		CHECK_EQ(r.out[r.out_len], 0xee); /* nothing past what it reported */
		CHECK_EQ(r.consumed, cases[i].consumed);
		CHECK_EQ(r.cmd, cases[i].cmd);
		CHECK_EQ(c.escaped, cases[i].escaped_after);
	}
}

/* The rest of a buffer after a command is filtered by the next call. */
TEST(filter_resume_after_command)
{
	static const uint8_t in[] = "ab\x01hcd\x01xef";
	struct console c = fresh_console();
	size_t n = sizeof(in) - 1, off = 0;
	struct filter_result r;

	r = run_filter(&c, in, n);
	CHECK_EQ(r.cmd, CONSOLE_CMD_HELP);
	CHECK_EQ(r.out_len, 2);
	CHECK(memcmp(r.out, "ab", 2) == 0);
	CHECK_EQ(r.consumed, 4);
	off += r.consumed;

	r = run_filter(&c, in + off, n - off);
	CHECK_EQ(r.cmd, CONSOLE_CMD_QUIT);
	CHECK_EQ(r.out_len, 2);
	CHECK(memcmp(r.out, "cd", 2) == 0);
	CHECK_EQ(r.consumed, 4);
	off += r.consumed;

	r = run_filter(&c, in + off, n - off);
	CHECK_EQ(r.cmd, CONSOLE_CMD_NONE);
	CHECK_EQ(r.out_len, 2);
	CHECK(memcmp(r.out, "ef", 2) == 0);
	CHECK_EQ(r.consumed, 2);
}

/* Ctrl-A at the end of one read and its command byte at the start of the next. */
TEST(filter_escape_across_buffers)
{
	static const struct {
		const char *name;
		char second;
		const char *out;
		size_t out_len;
		enum console_cmd cmd;
	} cases[] = {
		{ "x", 'x', "", 0, CONSOLE_CMD_QUIT },
		{ "h", 'h', "", 0, CONSOLE_CMD_HELP },
		{ "^A", ESC, "\x01", 1, CONSOLE_CMD_NONE },
		/* Worst case for the 2n output bound: one input byte, two out. */
		{ "other", 'q', "\x01q", 2, CONSOLE_CMD_NONE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct console c = fresh_console();
		struct filter_result r = run_filter(&c, "z\x01", 2);

		CHECK_EQ(r.out_len, 1);
		CHECK_EQ(r.out[0], 'z');
		CHECK_EQ(r.consumed, 2);
		CHECK_EQ(r.cmd, CONSOLE_CMD_NONE);
		CHECK_EQ(c.escaped, 1);

		r = run_filter(&c, &cases[i].second, 1);
		if (r.cmd != cases[i].cmd || r.out_len != cases[i].out_len)
			fprintf(stderr, "  case \"%s\"\n", cases[i].name);
		CHECK_EQ(r.cmd, cases[i].cmd);
		CHECK_EQ(r.consumed, 1);
		CHECK_EQ(r.out_len, cases[i].out_len);
		CHECK(memcmp(r.out, cases[i].out, cases[i].out_len) == 0);
		CHECK_EQ(c.escaped, 0);
	}

	/* An empty read in between keeps the state. */
	{
		struct console c = fresh_console();
		struct filter_result r = run_filter(&c, "\x01", 1);

		CHECK_EQ(c.escaped, 1);
		r = run_filter(&c, "", 0);
		CHECK_EQ(r.out_len, 0);
		CHECK_EQ(r.consumed, 0);
		CHECK_EQ(c.escaped, 1);
		r = run_filter(&c, "x", 1);
		CHECK_EQ(r.cmd, CONSOLE_CMD_QUIT);
	}
}

/* A long buffer of mixed input: the output is what a simple model predicts. */
TEST(filter_against_model)
{
	uint8_t in[4096], out[2 * sizeof(in)], want[2 * sizeof(in)];
	struct console c = fresh_console();
	size_t nw = 0, consumed, o;
	enum console_cmd cmd;
	unsigned seed = 12345;
	int esc = 0;

	for (size_t i = 0; i < sizeof(in); i++) {
		seed = seed * 1103515245u + 12345u;
		/* Plenty of ^A, never a command byte after one. */
		in[i] = (seed >> 16) % 4 == 0 ? ESC : (uint8_t)(seed >> 8);
		if (esc && (in[i] == 'x' || in[i] == 'X' || in[i] == 'h' || in[i] == 'H' ||
			    in[i] == '?'))
			in[i] = 'y';
		if (!esc) {
			if (in[i] == ESC)
				esc = 1;
			else
				want[nw++] = in[i];
		} else {
			esc = 0;
			want[nw++] = ESC;
			if (in[i] != ESC)
				want[nw++] = in[i];
		}
	}
	o = console_filter(&c, in, sizeof(in), &consumed, out, &cmd);
	CHECK_EQ(cmd, CONSOLE_CMD_NONE);
	CHECK_EQ(consumed, sizeof(in));
	CHECK_EQ(o, nw);
	CHECK(o <= sizeof(out));
	CHECK(memcmp(out, want, nw) == 0);
	CHECK_EQ(c.escaped, esc);
}

TEST(open_not_a_tty)
{
	struct console c;
	int p[2];

	CHECK_EQ(pipe(p), 0);
	memset(&c, 0xff, sizeof(c));
	CHECK_EQ(console_open(&c, p[0]), 0);
	CHECK_EQ(c.is_tty, 0);
	CHECK_EQ(c.escaped, 0);
	CHECK_EQ(c.in_fd, p[0]);
	console_close(&c);
	close(p[0]);
	close(p[1]);

	memset(&c, 0xff, sizeof(c));
	CHECK_EQ(console_open(&c, -1), 0);
	CHECK_EQ(c.is_tty, 0);
	console_close(&c);
}

TEST(open_pty_raw_then_restored)
{
	struct termios before, during, after;
	struct console c;
	int master, slave;
	char *name;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master) || !(name = ptsname(master))) {
		/* An environment without /dev/ptmx is not a console bug: skip, loudly. */
		fprintf(stderr, "  skipped: no pseudo-terminal here: %s\n", strerror(errno));
		if (master >= 0)
			close(master);
		return;
	}
	slave = open(name, O_RDWR | O_NOCTTY);
	CHECK(slave >= 0);
	CHECK_EQ(tcgetattr(slave, &before), 0);
	CHECK(before.c_lflag & ICANON); /* a fresh pty is cooked */

	CHECK_EQ(console_open(&c, slave), 0);
	CHECK_EQ(c.is_tty, 1);
	CHECK_EQ(tcgetattr(slave, &during), 0);
	CHECK(!(during.c_lflag & (ICANON | ECHO | ISIG | IEXTEN)));
	CHECK(!(during.c_iflag & (ICRNL | IXON)));
	CHECK_EQ(during.c_cc[VMIN], 1);
	CHECK_EQ(during.c_cc[VTIME], 0);

	console_close(&c);
	CHECK_EQ(c.is_tty, 0);
	CHECK_EQ(tcgetattr(slave, &after), 0);
	CHECK_EQ(after.c_lflag, before.c_lflag);
	CHECK_EQ(after.c_iflag, before.c_iflag);
	/* A second close must not touch the terminal again. */
	console_close(&c);
	close(slave);
	close(master);
}

TEST_MAIN(T(filter_table), T(filter_resume_after_command), T(filter_escape_across_buffers),
	  T(filter_against_model), T(open_not_a_tty), T(open_pty_raw_then_restored))
