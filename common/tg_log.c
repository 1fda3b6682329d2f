/*
 * tg_log.c - one-line structured logging (see tg_log.h).
 *
 * Owner: common.
 *
 * The configuration below is the one mutable global of libtg: it is set
 * at start-up by tg_log_init() and read by every log call.  Each event is
 * formatted into a stack buffer and written with one write(2).
 */
#include "tg_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TG_LOG_LINE_MAX 4096

static struct {
    char name[64];
    int level;
    int fd;
} s_log = {"trailguard", TG_LOG_INFO, 2};

static int s_clamp(int level)
{
    if (level < TG_LOG_ERROR)
        return TG_LOG_ERROR;
    if (level > TG_LOG_DEBUG)
        return TG_LOG_DEBUG;
    return level;
}

void tg_log_init(const char *daemon_name, int level, int fd)
{
    snprintf(s_log.name, sizeof s_log.name, "%s",
             daemon_name ? daemon_name : "trailguard");
    s_log.level = s_clamp(level);
    s_log.fd = fd < 0 ? 2 : fd;
    int env = tg_log_level_parse(getenv("TRAILGUARD_LOG_LEVEL"));
    if (env >= 0)
        s_log.level = env;
}

void tg_log_set_level(int level)
{
    s_log.level = s_clamp(level);
}

int tg_log_level(void)
{
    return s_log.level;
}

bool tg_log_enabled(int level)
{
    return level <= s_log.level;
}

int tg_log_level_parse(const char *name)
{
    if (!name)
        return -1;
    if (!strcasecmp(name, "error"))
        return TG_LOG_ERROR;
    if (!strcasecmp(name, "warn") || !strcasecmp(name, "warning"))
        return TG_LOG_WARN;
    if (!strcasecmp(name, "info"))
        return TG_LOG_INFO;
    if (!strcasecmp(name, "debug"))
        return TG_LOG_DEBUG;
    return -1;
}

const char *tg_log_level_name(int level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level < TG_LOG_ERROR || level > TG_LOG_DEBUG)
        return "?";
    return names[level];
}

/* Replace control characters (newlines included) by spaces. */
static void s_sanitize(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f)
            p[i] = ' ';
    }
}

void tg_log_write(int level, const char *file, int line, const char *fmt, ...)
{
    int saved_errno = errno;
    char buf[TG_LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    const char *base = file ? file : "?";
    int n = snprintf(buf, sizeof buf,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s %s:%d: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, s_log.name,
                     (long)getpid(), tg_log_level_name(level), base, line);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    size_t prefix = (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + prefix, sizeof buf - prefix, fmt, ap);
    va_end(ap);
    size_t len;
    if (m < 0) {
        len = prefix;
    } else if ((size_t)m >= sizeof buf - prefix) {
        len = sizeof buf - 1;
        memcpy(buf + len - 3, "...", 3);
    } else {
        len = prefix + (size_t)m;
    }
    s_sanitize(buf + prefix, len - prefix);
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    buf[len++] = '\n';
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(s_log.fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    errno = saved_errno;
}

const char *tg_strerror(int rc)
{
    if (rc == 0)
        return "Success";
    int e = rc < 0 ? -rc : rc;
    const char *d = strerrordesc_np(e);
    return d ? d : "Unknown error";
}
