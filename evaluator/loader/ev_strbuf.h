/*
 * ev_strbuf.h - growable byte buffer used to render diagnostics and alerts.
 * Owner: rules loader.  Embedded object: ev_strbuf_init()/ev_strbuf_fini();
 * ev_strbuf_clear() keeps the memory so a reused buffer stops allocating.
 * Appending aborts on out of memory (the daemons are supervised).
 */
#ifndef EV_STRBUF_H
#define EV_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct ev_strbuf {
    char *s;        /* always NUL-terminated after init; owned */
    size_t len;
    size_t cap;
} ev_strbuf;

void ev_strbuf_init(ev_strbuf *b);
void ev_strbuf_fini(ev_strbuf *b);
void ev_strbuf_clear(ev_strbuf *b);
void ev_strbuf_add(ev_strbuf *b, const char *s, size_t n);
void ev_strbuf_adds(ev_strbuf *b, const char *s);
void ev_strbuf_addc(ev_strbuf *b, char c);
void ev_strbuf_addf(ev_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (with quotes); invalid UTF-8 -> U+FFFD. */
void ev_strbuf_add_json_str(ev_strbuf *b, const char *s, size_t n);
/* Take the contents (caller frees); the buffer is left empty. */
char *ev_strbuf_take(ev_strbuf *b);

#endif /* EV_STRBUF_H */
