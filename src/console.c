/*
 * console.c: terminal mode and the Ctrl-A escape filter (see console.h).
 */
#include "console.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int console_open(struct console *c, int in_fd)
{
	struct termios raw;

	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	if (in_fd < 0 || !isatty(in_fd))
		return 0;
	if (tcgetattr(in_fd, &c->saved) < 0)
		return -errno;
	raw = c->saved;
	/* Keys go to the guest as typed: no echo, no line editing, no ^C signal. */
	raw.c_iflag &= ~(unsigned)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_lflag &= ~(unsigned)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(in_fd, TCSANOW, &raw) < 0)
		return -errno;
	c->is_tty = 1;
	return 0;
}

void console_close(struct console *c)
{
	if (c->is_tty)
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
	c->is_tty = 0;
}

size_t console_filter(struct console *c, const uint8_t *in, size_t n, size_t *consumed,
		      uint8_t *out, enum console_cmd *cmd)
{
	size_t o = 0, i;

	*cmd = CONSOLE_CMD_NONE;
	for (i = 0; i < n && *cmd == CONSOLE_CMD_NONE; i++) {
		uint8_t b = in[i];

		if (!c->escaped) {
			if (b == CONSOLE_ESCAPE)
				c->escaped = 1;
			else
				out[o++] = b;
			continue;
		}
		c->escaped = 0;
		switch (b) {
		case 'x':
		case 'X':
			*cmd = CONSOLE_CMD_QUIT;
			break;
		case 'h':
		case 'H':
		case '?':
			*cmd = CONSOLE_CMD_HELP;
			break;
		case CONSOLE_ESCAPE:
			out[o++] = CONSOLE_ESCAPE;
			break;
		default:
			out[o++] = CONSOLE_ESCAPE;
			out[o++] = b;
			break;
		}
	}
	*consumed = i;
	return o;
}
