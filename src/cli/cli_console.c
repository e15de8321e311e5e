/*
 * cli_console.c: `vmon console NAME`: attach this terminal to a VM's serial
 * port through DIR/console.sock (a SOCK_STREAM Unix socket the VM process
 * serves). Raw mode when stdin is a terminal, restored on every way out;
 * Ctrl-A d detaches, Ctrl-A Ctrl-A sends one Ctrl-A. Signals arrive through
 * a signalfd so that leaving is always through the same path.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_impl.h"

#define CTRL_A 0x01
/* With stdin not a terminal: how long output is still relayed after its end. */
#define CONSOLE_LINGER_MS 2000

static const char help_console[] =
	"Usage: vmon console NAME\n"
	"\n"
	"Attach to VM NAME's serial console (DIR/console.sock): what you type goes to\n"
	"the guest's ttyS0, its output comes here. The terminal is in raw mode while\n"
	"attached. Ctrl-A d detaches, Ctrl-A Ctrl-A sends a Ctrl-A. When stdin is not\n"
	"a terminal, its bytes are sent and output is relayed until 2 s after stdin\n"
	"ends. Everything the guest printed is also in DIR/serial.log.\n"
	"Exit status: 0 detached or the VM stopped (the console closed), 1 the VM is\n"
	"not live or its console cannot be reached, 2 usage error.\n";

int cli_escape_filter(struct cli_escape *e, const char *in, size_t n, char *out, size_t *outn)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (!e->pending) {
			if (c == CTRL_A)
				e->pending = 1;
			else
				out[o++] = c;
			continue;
		}
		e->pending = 0;
		if (c == 'd') {
			*outn = o;
			return 1;
		}
		if (c == CTRL_A) {
			out[o++] = CTRL_A;
		} else { /* not an escape: send both */
			out[o++] = CTRL_A;
			out[o++] = c;
		}
	}
	*outn = o;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int console_connect(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console.sock", dir) >=
	    sizeof(sa.sun_path)) {
		cli_err("console", "%s: %s/console.sock: path too long for a socket", name, dir);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		cli_err("console", "%s: cannot connect to %s: %s", name, sa.sun_path, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	return fd;
}

struct relay {
	const char *name;
	int sock, sig, in_open, tty;
	int64_t linger_end_ms; /* once stdin ended: when to leave */
	struct cli_escape esc;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One round of poll; 1 to go on, 0 to leave (a message was printed), <0 error. */
static int relay_once(struct relay *r)
{
	struct pollfd p[3] = { { r->sock, POLLIN, 0 }, { r->sig, POLLIN, 0 }, { 0, POLLIN, 0 } };
	char buf[4096], out[4096 + 1];
	size_t outn;
	int64_t left = r->in_open ? -1 : r->linger_end_ms - now_ms();
	ssize_t n;
	int ret;

	if (!r->in_open && left <= 0)
		return 0;
	ret = poll(p, r->in_open ? 3 : 2, (int)left);
	if (ret < 0)
		return errno == EINTR ? 1 : -errno;
	if (ret == 0)
		return 0; /* stdin ended and the linger time passed */
	if (p[1].revents) {
		struct signalfd_siginfo si;

		if (read(r->sig, &si, sizeof(si)) > 0)
			fprintf(stderr, "\r\nvmon: detached from %s (signal %u)\r\n", r->name, si.ssi_signo);
		return 0;
	}
	if (p[0].revents) {
		n = read(r->sock, buf, sizeof(buf));
		if (n <= 0) {
			fprintf(stderr, "\r\nvmon: %s: console closed (the VM stopped)\r\n", r->name);
			return 0;
		}
		if (write_all(1, buf, (size_t)n))
			return -EPIPE;
	}
	if (r->in_open && p[2].revents) {
		n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			return 1;
		if (n <= 0) {
			r->in_open = 0;
			r->linger_end_ms = now_ms() + CONSOLE_LINGER_MS;
			return 1;
		}
		if (cli_escape_filter(&r->esc, buf, (size_t)n, out, &outn)) {
			if (outn)
				write_all(r->sock, out, outn);
			fprintf(stderr, "\r\nvmon: detached from %s\r\n", r->name);
			return 0;
		}
		if (outn && write_all(r->sock, out, outn)) {
			fprintf(stderr, "\r\nvmon: %s: console closed (the VM stopped)\r\n", r->name);
			return 0;
		}
	}
	return 1;
}

static int console_run(struct relay *r)
{
	struct termios saved, raw;
	sigset_t mask, old;
	int ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGPIPE); /* a closed stdout: leave through the same path */
	sigprocmask(SIG_BLOCK, &mask, &old);
	r->sig = signalfd(-1, &mask, SFD_CLOEXEC);
	if (r->sig < 0) {
		ret = -errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		cli_err("console", "signalfd: %s", strerror(-ret));
		return CLI_FAIL;
	}
	r->tty = isatty(0) && tcgetattr(0, &saved) == 0;
	if (r->tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	fprintf(stderr, "vmon: attached to %s; Ctrl-A d detaches%s", r->name, r->tty ? "\r\n" : "\n");
	while ((ret = relay_once(r)) > 0)
		;
	if (r->tty)
		tcsetattr(0, TCSANOW, &saved);
	close(r->sig);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (ret < 0) {
		cli_err("console", "%s: %s", r->name, strerror(-ret));
		return CLI_FAIL;
	}
	return CLI_OK;
}

int cli_console(int argc, char **argv)
{
	char root[STATE_PATH_MAX];
	struct relay r = { .in_open = 1 };
	struct state_entry e;
	int ret;

	if (cli_wants_help(argc, argv)) {
		fputs(help_console, stdout);
		return CLI_OK;
	}
	if (argc != 2)
		return argc < 2 ? cli_usage("console", "missing NAME") :
				  cli_usage("console", "unexpected argument '%s'", argv[2]);
	ret = cli_load("console", argv[1], root, &e);
	if (ret)
		return ret;
	if (!state_status_live(e.status)) {
		cli_err("console", "%s is not running (%s)", e.name, state_status_name(e.status));
		state_entry_free(&e);
		return CLI_FAIL;
	}
	r.name = argv[1];
	r.sock = console_connect(e.dir, e.name);
	state_entry_free(&e);
	if (r.sock < 0)
		return CLI_FAIL;
	ret = console_run(&r);
	close(r.sock);
	return ret;
}
