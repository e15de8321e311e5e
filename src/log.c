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

/* Where lines go instead of stderr (tests); set before threads start. */
static void (*log_sink)(void *ctx, const char *line, size_t len);
static void *log_sink_ctx;

void log_set_sink(void (*sink)(void *ctx, const char *line, size_t len), void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

/* Format one line, with dropped > 0 noted at its end, and write it. */
static void log_vline(enum log_level lvl, uint64_t dropped, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error: ", "warning: ", "", "debug: " };
	char buf[1024];
	int n;

	if (lvl > log_level_max)
		return;
	n = snprintf(buf, sizeof(buf), "vmon: %s", names[lvl]);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (dropped && n < (int)sizeof(buf) - 1)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n - 1,
			      " (%llu messages dropped since the last)",
			      (unsigned long long)dropped);
	if (lvl == LOG_ERROR) {
		const char *msg = buf + sizeof("vmon: error: ") - 1;
		size_t len = strnlen(msg, sizeof(log_last) - 1);

		memcpy(log_last, msg, len);
		log_last[len] = '\0';
	}
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (log_sink) {
		log_sink(log_sink_ctx, buf, (size_t)n);
		return;
	}
	/* One write keeps concurrent lines whole; a failed log has nowhere to go. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(lvl, 0, fmt, ap);
	va_end(ap);
}

/*
 * Event count is a power of two: log, noting the events since the last
 * power of two that were not (count - count / 2 - 1; none for 1 and 2).
 */
static void log_vlimited(uint64_t count, enum log_level lvl, const char *fmt, va_list ap)
{
	if (count == 0 || (count & (count - 1)))
		return;
	log_vline(lvl, count > 2 ? count - count / 2 - 1 : 0, fmt, ap);
}

void log_limited(uint64_t *count, enum log_level lvl, const char *fmt, ...)
{
	uint64_t v = __atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
	va_list ap;

	va_start(ap, fmt);
	log_vlimited(v, lvl, fmt, ap);
	va_end(ap);
}

void log_limited_at(uint64_t count, enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlimited(count, lvl, fmt, ap);
	va_end(ap);
}

void log_bug(const char *file, int line, const char *what)
{
	log_msg(LOG_ERROR, "internal bug at %s:%d: %s", file, line, what);
	abort();
}
