/*
 * log.c: see log.h. The level is process-wide configuration, set once by
 * main.c before any thread starts and only read afterwards.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum log_level log_level_max = LOG_WARN;
/* The calling thread's last error message, for callers that report it elsewhere too. */
static _Thread_local char log_last[256];

const char *log_last_error(void) { return log_last; }
void log_clear_last_error(void) { log_last[0] = '\0'; }

void log_set_level(enum log_level lvl) { log_level_max = lvl; }
enum log_level log_get_level(void) { return log_level_max; }

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "error: ", "warning: ", "", "debug: " };
	char buf[1024];
	va_list ap;
	int n;

	if (lvl > log_level_max)
		return;
	n = snprintf(buf, sizeof(buf), "vmon: %s", names[lvl]);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (lvl == LOG_ERROR) {
		const char *msg = buf + sizeof("vmon: error: ") - 1;
		size_t len = strnlen(msg, sizeof(log_last) - 1);

		memcpy(log_last, msg, len);
		log_last[len] = '\0';
	}
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write keeps concurrent lines whole; a failed log has nowhere to go. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

void log_bug(const char *file, int line, const char *what)
{
	log_msg(LOG_ERROR, "internal bug at %s:%d: %s", file, line, what);
	abort();
}
