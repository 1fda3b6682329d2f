/*
 * tg_log.h - one-line structured logging for the trailguard daemons.
 *
 * Owner: common.
 *
 * DESIGN
 * Every event is one line written with a single write(2) to the log fd
 * (stderr unless told otherwise), so lines from concurrent writers do not
 * interleave:
 *
 *   2026-11-27T18:00:00.123Z trailguard-parser[4242] error pa_job.c:123: message key=value
 *
 * The timestamp is UTC with milliseconds; the daemon name is the one given
 * to tg_log_init() verbatim (pass "trailguard-parser"); the file name comes
 * from __FILE__ (meson strips the source root).  Newlines and other control
 * characters in the formatted message are replaced by spaces, so a
 * message can never forge a second line.  Lines are capped at 4 KiB
 * (truncated with "...").
 *
 * The macros check the level before formatting anything.  The log
 * configuration is the only mutable global in libtg: set it once at
 * start-up with tg_log_init() (tg_log_set_level() may change the level on
 * reload).  Library modules do not log; the daemon layer does.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <stdbool.h>

enum {
    TG_LOG_ERROR = 0,
    TG_LOG_WARN = 1,
    TG_LOG_INFO = 2,
    TG_LOG_DEBUG = 3,
};

/*
 * Configure logging.  daemon_name is copied (truncated to 63 bytes); NULL
 * means "trailguard".  level is one of TG_LOG_*; fd < 0 means stderr.
 * If the environment variable TRAILGUARD_LOG_LEVEL holds a valid level name
 * it overrides `level` (environment beats configuration, as in tg_config).
 * Before tg_log_init() is called the defaults are "trailguard", INFO, fd 2.
 */
void tg_log_init(const char *daemon_name, int level, int fd);

/* Change the level (e.g. on SIGHUP); out-of-range values are clamped. */
void tg_log_set_level(int level);

/* The current level. */
int tg_log_level(void);

/* True when events of `level` are written. */
bool tg_log_enabled(int level);

/*
 * Parse "error", "warn"/"warning", "info", "debug" (case-insensitive).
 * Returns the TG_LOG_* value, or -1 for anything else (including NULL).
 */
int tg_log_level_parse(const char *name);

/* "error", "warn", "info", "debug"; "?" when out of range. Static string. */
const char *tg_log_level_name(int level);

/*
 * Write one event unconditionally (no level check: the macros do that;
 * tg_daemon uses this directly for the "ready" line so it is always
 * written).  Never fails visibly: write errors are ignored.
 */
void tg_log_write(int level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Description of a negative errno-style return code ("-ENOENT" → "No such
 * file or directory").  Static string; never NULL. */
const char *tg_strerror(int rc);

#define tg_log(level, ...)                                                 \
    do {                                                                   \
        if (tg_log_enabled(level))                                         \
            tg_log_write((level), __FILE__, __LINE__, __VA_ARGS__);        \
    } while (0)

#define tg_log_error(...) tg_log(TG_LOG_ERROR, __VA_ARGS__)
#define tg_log_warn(...)  tg_log(TG_LOG_WARN, __VA_ARGS__)
#define tg_log_info(...)  tg_log(TG_LOG_INFO, __VA_ARGS__)
#define tg_log_debug(...) tg_log(TG_LOG_DEBUG, __VA_ARGS__)

#endif /* TG_LOG_H */
