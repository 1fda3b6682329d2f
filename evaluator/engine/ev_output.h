/*
 * ev_output.h - rule output formats (spec 7.1, 7.3): compile "%field"
 * format strings, render them as text with <NA> for missing values,
 * enumerate their output fields as typed JSON values, and the JSON string
 * writer used to build Falco's alert JSON.  Owner: engine core.
 *
 * DESIGN
 * A compiled format is a list of pieces: literal text, or a token (a field
 * or transformer expression compiled against an ev_fieldtab, plus an
 * optional width).  Rendering appends to a growable ev_strbuf that the
 * caller keeps across events, so that steady-state rendering does not
 * allocate.  The fields for JSON output_fields are the format's field
 * tokens plus the plain fields inside transformer tokens (spec 7.3); the
 * loader merges them with its own keys, sorts and writes the alert object.
 */
#ifndef EV_OUTPUT_H
#define EV_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "ev_field.h"
#include "ev_filter.h"

/* Growable byte buffer, always NUL-terminated once anything was written. */
typedef struct ev_strbuf {
    char *p;
    size_t len, cap;
} ev_strbuf;

void ev_strbuf_init(ev_strbuf *b);
void ev_strbuf_fini(ev_strbuf *b);
/* Forget the contents, keep the memory. */
void ev_strbuf_reset(ev_strbuf *b);
/* ev_strbuf_put() when the bytes do not fit: grows, then appends. */
void ev_strbuf_put_slow(ev_strbuf *b, const char *s, size_t n);

/* Append; abort on out of memory like ev_arena (supervised daemons).
 * Inline: rendering appends many short pieces, and when they fit (the
 * steady state, buffers are reused) this is a copy and a store. */
static inline void ev_strbuf_put(ev_strbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len > n) {      /* room for n bytes and the NUL */
        if (n)                      /* s may be NULL when n is 0 */
            __builtin_memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
        return;
    }
    ev_strbuf_put_slow(b, s, n);
}

/* Append one byte. */
static inline void ev_strbuf_putc(ev_strbuf *b, char c)
{
    ev_strbuf_put(b, &c, 1);
}

static inline void ev_strbuf_puts(ev_strbuf *b, const char *s)
{
    ev_strbuf_put(b, s, __builtin_strlen(s));
}

/* Append v in decimal (what printf's %llu gives). */
void ev_strbuf_put_u64(ev_strbuf *b, unsigned long long v);
/* Append v in decimal with at least `width` digits, zero-padded (%0*llu). */
void ev_strbuf_put_u64_pad(ev_strbuf *b, unsigned long long v, int width);
/* Append v in decimal (%lld). */
void ev_strbuf_put_i64(ev_strbuf *b, long long v);
void ev_strbuf_printf(ev_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Append s as a JSON string literal (with the quotes) the way Falco's JSON
 * encoder does: `"` and `\` backslash-escaped, \b \f \n \r \t, other
 * control characters as \u00XX, valid UTF-8 kept, invalid bytes as U+FFFD.
 */
void ev_json_put_str(ev_strbuf *b, const char *s, size_t n);

/* Same escaping without the surrounding quotes (for 7.2 text lines). */
void ev_json_put_escaped(ev_strbuf *b, const char *s, size_t n);

/* Formats ---------------------------------------------------------------- */

typedef struct ev_format ev_format;

/*
 * Compile a format.  A leading '*' is removed (and makes strict rendering
 * print <NA> anyway).  Errors: "unknown filter: <rest>" (code
 * EV_ERR_UNKNOWN_FIELD) and "invalid formatting syntax: formatting cannot
 * end with a %" (EV_ERR_COMPILE).  errcode may be NULL.
 * Caller owns result; free with ev_format_free().
 */
ev_format *ev_format_compile(const char *fmt, ev_fieldtab *tab, int *errcode,
                             char *err, size_t errlen);
void ev_format_free(ev_format *f);

#define EV_FMT_STRICT 0x1u  /* stop at the first missing value (libs without '*') */

/*
 * Append the rendered text to out.  Default (flags 0): Falco behaviour, a
 * missing value prints <NA>.  With EV_FMT_STRICT (and no leading '*')
 * rendering stops before the first missing value.  Returns true when every
 * value was present, or when the format began with '*' (libs semantics).
 * Widths truncate or right-pad each value (<NA> included) to N bytes.
 */
bool ev_format_render(const ev_format *f, ev_event *evt, ev_strbuf *out,
                      unsigned flags);

/* Output fields (spec 7.3): canonical names, untransformed inner fields of
 * transformer tokens, transformer tokens themselves excluded, duplicates
 * removed, in first-appearance order. */
size_t ev_format_nfields(const ev_format *f);
/* Borrowed; valid until ev_format_free(). */
const char *ev_format_field_name(const ev_format *f, size_t i);
/* Append field i's value for evt as a JSON value: string, number, true/false,
 * array for lists, null when missing. Returns true when present. */
bool ev_format_field_json(const ev_format *f, size_t i, ev_event *evt,
                          ev_strbuf *out);
/* Append field i's value as text (<NA> when missing). */
bool ev_format_field_text(const ev_format *f, size_t i, ev_event *evt,
                          ev_strbuf *out);

/* True when the format began with '*' (always print <NA> / null). */
bool ev_format_print_all(const ev_format *f);

/* Number of % tokens (fields or transformer expressions). */
size_t ev_format_ntokens(const ev_format *f);
/* Canonical text of token i ("ct.user", "toupper(ct.user)"); borrowed. */
const char *ev_format_token_name(const ev_format *f, size_t i);
/* Is token i a transformer expression (excluded from output_fields)? */
bool ev_format_token_is_transformer(const ev_format *f, size_t i);
/* Append token i's (transformed) value as JSON; true when present. */
bool ev_format_token_json(const ev_format *f, size_t i, ev_event *evt,
                          ev_strbuf *out);

#endif /* EV_OUTPUT_H */
