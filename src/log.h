/*
 * log.h: vmon's diagnostics. One line per message on stderr, prefixed "vmon: ".
 *
 * Owns: message formatting and the error/warn/info/debug levels.
 * Any thread may log; each message is one write(2), so lines do not interleave.
 */
#ifndef VMON_LOG_H
#define VMON_LOG_H

#include <stdbool.h>

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
