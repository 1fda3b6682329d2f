/*
 * aws_buf.c - growable byte buffer (see aws_buf.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_buf.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_oom(void)
{
    static const char msg[] = "aws: out of memory\n";
    fwrite(msg, 1, sizeof msg - 1, stderr);
    abort();
}

void *aws_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        s_oom();
    return p;
}

void *aws_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        s_oom();
    return p;
}

char *aws_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = aws_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *aws_strdup(const char *s)
{
    return s ? aws_strndup(s, strlen(s)) : NULL;
}

void aws_secret_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void aws_buf_init(aws_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void aws_buf_fini(aws_buf *b)
{
    free(b->data);
    aws_buf_init(b);
}

void aws_buf_reset(aws_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static void s_reserve(aws_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        s_oom();
    b->data = p;
    b->cap = cap;
}

void aws_buf_append(aws_buf *b, const void *p, size_t n)
{
    s_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void aws_buf_puts(aws_buf *b, const char *s)
{
    aws_buf_append(b, s, strlen(s));
}

void aws_buf_putc(aws_buf *b, char c)
{
    aws_buf_append(b, &c, 1);
}

void aws_buf_printf(aws_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        aws_buf_append(b, tmp, (size_t)n);
        return;
    }
    s_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *aws_buf_str(const aws_buf *b)
{
    return b->data ? b->data : "";
}

char *aws_buf_steal(aws_buf *b)
{
    char *p = b->data ? b->data : aws_strdup("");
    aws_buf_init(b);
    return p;
}
