/*
 * tg_http_buf.h - private growable byte buffer for tg_http / tg_metrics.
 *
 * Owner: common.  Not part of the public API (no module outside common/
 * should include it).  Every function returns 0 or -ENOMEM; on failure
 * the buffer is unchanged.  The buffer is always NUL-terminated when
 * non-empty (p[len] == '\0'), which the text renderers rely on.
 */
#ifndef TG_HTTP_BUF_H
#define TG_HTTP_BUF_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tg_hbuf {
    char *p;
    size_t len, cap;
} tg_hbuf;

static inline int tg_hbuf_reserve(tg_hbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int tg_hbuf_put(tg_hbuf *b, const void *data, size_t n)
{
    if (tg_hbuf_reserve(b, n) != 0)
        return -ENOMEM;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static inline int tg_hbuf_putc(tg_hbuf *b, char c)
{
    return tg_hbuf_put(b, &c, 1);
}

static inline int tg_hbuf_puts(tg_hbuf *b, const char *s)
{
    return tg_hbuf_put(b, s, strlen(s));
}

static inline int tg_hbuf_vprintf(tg_hbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || tg_hbuf_reserve(b, (size_t)n) != 0)
        return -ENOMEM;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

static inline int tg_hbuf_printf(tg_hbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int tg_hbuf_printf(tg_hbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tg_hbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

static inline void tg_hbuf_fini(tg_hbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

#endif /* TG_HTTP_BUF_H */
