/*
 * aws_buf.h - growable byte buffer used by the AWS ingestion library.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * A tiny append-only buffer that always keeps a NUL after the data, so the
 * contents can be used as a C string.  Allocation failure aborts (the
 * daemons are supervised; see STYLE.md "Out of memory"); every size that
 * comes from the network is capped by the caller before appending.
 */
#ifndef AWS_BUF_H
#define AWS_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct aws_buf {
    char *data;   /* owned; NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} aws_buf;

void aws_buf_init(aws_buf *b);
void aws_buf_fini(aws_buf *b);
void aws_buf_reset(aws_buf *b);
void aws_buf_append(aws_buf *b, const void *p, size_t n);
void aws_buf_puts(aws_buf *b, const char *s);
void aws_buf_putc(aws_buf *b, char c);
void aws_buf_printf(aws_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Returns the contents as a C string ("" when empty).  Borrowed; valid
 * until the next append or aws_buf_fini(). */
const char *aws_buf_str(const aws_buf *b);
/* Caller owns result (free()); the buffer is left empty. */
char *aws_buf_steal(aws_buf *b);

/* Duplicate helpers that abort on OOM; aws_strdup(NULL) returns NULL. */
char *aws_strdup(const char *s);
char *aws_strndup(const char *s, size_t n);
void *aws_xmalloc(size_t n);
void *aws_xcalloc(size_t n, size_t sz);

/* Overwrite then free a secret string; NULL is a no-op. */
void aws_secret_free(char *s);

#endif /* AWS_BUF_H */
