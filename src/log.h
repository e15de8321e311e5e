/*
 * log.h: vmon's diagnostics. One line per message on stderr, prefixed "vmon: ".
 *
 * Owns: message formatting, the error/warn/info/debug levels and the rate
 * limit for messages others can trigger (log_limited).
 * Any thread may log; each message is one write(2), so lines do not interleave.
 */
#ifndef VMON_LOG_H
#define VMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped. Set once by main before threads start. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

__attribute__((format(printf, 2, 3)))
void log_msg(enum log_level lvl, const char *fmt, ...);

/*
 * The calling thread's last error message ("" if none since the last clear),
 * without the "vmon: error: " prefix: lets the API answer with the reason.
 */
const char *log_last_error(void);
void log_clear_last_error(void);

/*
 * Messages someone else can trigger at will (a guest, through a device):
 * *count is that site's (or device's) event counter, shared by the
 * messages it limits. Each call counts one event and logs only the 1st,
 * 2nd, 4th, 8th... (N events cost about log2 N lines), and a line logged
 * after some were dropped ends with "(K messages dropped since the last)",
 * so the log still says how much happened. Any thread (the counter is
 * atomic).
 */
__attribute__((format(printf, 3, 4)))
void log_limited(uint64_t *count, enum log_level lvl, const char *fmt, ...);
/*
 * The same for a caller that counts events itself (statistics): count is
 * the number of events so far, this one included.
 */
__attribute__((format(printf, 3, 4)))
void log_limited_at(uint64_t count, enum log_level lvl, const char *fmt, ...);

/*
 * Send every line (with its "vmon: " prefix and newline) to sink instead
 * of stderr; NULL restores stderr. For tests that count lines. Set before
 * other threads log.
 */
void log_set_sink(void (*sink)(void *ctx, const char *line, size_t len), void *ctx);

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Our own broken invariant: log and abort. Never for guest or user input. */
#define VMON_BUG_ON(cond)                                                    \
	do {                                                                 \
		if (cond)                                                    \
			log_bug(__FILE__, __LINE__, #cond);                  \
	} while (0)
__attribute__((noreturn)) void log_bug(const char *file, int line, const char *what);

#endif
