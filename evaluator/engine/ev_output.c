/*
 * ev_output.c - output format strings (spec 7.1, 7.3), value rendering and
 * Falco-style JSON string escaping.  Owner: engine core.
 *
 * DESIGN
 * ev_format_compile() splits the format into text pieces and tokens.  A
 * token is either a transformer expression (parsed with the condition
 * parser in partial mode) or the longest catalogue field name that is a
 * prefix of the text after '%' (so "%ct.usera" is ct.user then "a"),
 * followed by an optional [arg].  Tokens compile to value expressions
 * against the caller's field table, sharing its per-event cache.
 */
#include "ev_output.h"
#include "ev_priv.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- strbuf -------------------------------------------------------------- */

void ev_strbuf_init(ev_strbuf *b) { memset(b, 0, sizeof(*b)); }

void ev_strbuf_fini(ev_strbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void ev_strbuf_reset(ev_strbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static void s_grow(ev_strbuf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "ev_strbuf: out of memory\n");
        abort();
    }
    b->p = p;
    b->cap = cap;
}

void ev_strbuf_put_slow(ev_strbuf *b, const char *s, size_t n)
{
    s_grow(b, n);
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void ev_strbuf_put_u64_pad(ev_strbuf *b, unsigned long long v, int width)
{
    char tmp[24];
    char *e = tmp + sizeof(tmp), *q = e;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (e - q < width && q > tmp)
        *--q = '0';
    ev_strbuf_put(b, q, (size_t)(e - q));
}

void ev_strbuf_put_u64(ev_strbuf *b, unsigned long long v)
{
    ev_strbuf_put_u64_pad(b, v, 1);
}

void ev_strbuf_put_i64(ev_strbuf *b, long long v)
{
    if (v < 0) {
        ev_strbuf_putc(b, '-');
        ev_strbuf_put_u64(b, 0ull - (unsigned long long)v);
        return;
    }
    ev_strbuf_put_u64(b, (unsigned long long)v);
}

void ev_strbuf_printf(ev_strbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        ev_strbuf_put(b, tmp, (size_t)n);
        return;
    }
    s_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t ev_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t l;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        l = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        l = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        l = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (l > n)
        return 0;
    for (size_t i = 1; i < l; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((l == 2 && cp < 0x80) || (l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return l;
}

/* Bytes that go out as they are: printable ASCII but '"' and '\\'. */
static inline bool s_json_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void ev_json_put_escaped(ev_strbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t run = i;
        while (run < n && s_json_plain(u[run]))
            run++;
        if (run > i) {
            ev_strbuf_put(b, s + i, run - i);
            i = run;
            if (i == n)
                break;
        }
        unsigned char c = u[i];
        switch (c) {
        case '"': ev_strbuf_put(b, "\\\"", 2); i++; continue;
        case '\\': ev_strbuf_put(b, "\\\\", 2); i++; continue;
        case '\b': ev_strbuf_put(b, "\\b", 2); i++; continue;
        case '\f': ev_strbuf_put(b, "\\f", 2); i++; continue;
        case '\n': ev_strbuf_put(b, "\\n", 2); i++; continue;
        case '\r': ev_strbuf_put(b, "\\r", 2); i++; continue;
        case '\t': ev_strbuf_put(b, "\\t", 2); i++; continue;
        default: break;
        }
        if (c < 0x20) {
            static const char hex[] = "0123456789abcdef";
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            ev_strbuf_put(b, esc, 6);
            i++;
            continue;
        }
        size_t l = ev_utf8_len(u + i, n - i);
        if (!l) {
            ev_strbuf_put(b, "\xef\xbf\xbd", 3);
            i++;
            continue;
        }
        ev_strbuf_put(b, s + i, l);
        i += l;
    }
}

void ev_json_put_str(ev_strbuf *b, const char *s, size_t n)
{
    ev_strbuf_putc(b, '"');
    ev_json_put_escaped(b, s, n);
    ev_strbuf_putc(b, '"');
}

/* --- value rendering ----------------------------------------------------- */

void ev_val_render(ev_strbuf *b, ev_type t, const ev_val *v)
{
    char ip[INET6_ADDRSTRLEN + 8];
    switch (t) {
    case EV_TYPE_STRING:
        ev_strbuf_put(b, v->s, ev_cstrlen(v));
        break;
    case EV_TYPE_BYTES:
        ev_strbuf_put(b, v->s, v->len);
        break;
    case EV_TYPE_INT64:
        ev_strbuf_put_i64(b, (long long)(int64_t)v->u);
        break;
    case EV_TYPE_BOOL:
        ev_strbuf_puts(b, v->u ? "true" : "false");
        break;
    case EV_TYPE_DOUBLE:
        ev_strbuf_printf(b, "%g", v->d);
        break;
    case EV_TYPE_IPADDR:
    case EV_TYPE_IPNET:
        if ((v->len == 4 || v->len == 16) &&
            inet_ntop(v->len == 4 ? AF_INET : AF_INET6, v->s, ip, sizeof(ip))) {
            ev_strbuf_puts(b, ip);
            if (t == EV_TYPE_IPNET)
                ev_strbuf_printf(b, "/%" PRIu64, v->u);
        }
        break;
    default:
        ev_strbuf_put_u64(b, (unsigned long long)v->u);
        break;
    }
}

static void s_render_vals(ev_strbuf *b, const ev_vx *x, const ev_val *v, int n)
{
    if (!x->list) {
        ev_val_render(b, x->type, &v[0]);
        return;
    }
    ev_strbuf_put(b, "(", 1);
    for (int i = 0; i < n; i++) {
        if (i)
            ev_strbuf_put(b, ",", 1);
        ev_val_render(b, x->type, &v[i]);
    }
    ev_strbuf_put(b, ")", 1);
}

static void s_json_val(ev_strbuf *b, ev_type t, const ev_val *v)
{
    switch (t) {
    case EV_TYPE_STRING:
        ev_json_put_str(b, v->s, ev_cstrlen(v));
        break;
    case EV_TYPE_BYTES:
        ev_json_put_str(b, v->s, v->len);
        break;
    case EV_TYPE_IPADDR:
    case EV_TYPE_IPNET: {
        ev_strbuf tmp;
        ev_strbuf_init(&tmp);
        ev_val_render(&tmp, t, v);
        ev_json_put_str(b, tmp.p ? tmp.p : "", tmp.len);
        ev_strbuf_fini(&tmp);
        break;
    }
    default:
        ev_val_render(b, t, v);
        break;
    }
}

/* --- formats ------------------------------------------------------------- */

typedef struct s_piece {
    const char *text;   /* literal text (points into f->fmt) or NULL */
    size_t len;
    ev_vx *vx;          /* token */
    size_t width;       /* 0 = none */
} s_piece;

struct ev_format {
    char *fmt;
    bool print_all;
    s_piece *pieces;
    size_t n;
    size_t ntokens;
    const ev_vx **fields;   /* output fields (borrowed from pieces) */
    size_t nfields;
};

void ev_format_free(ev_format *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        ev_vx_free(f->pieces[i].vx);
    free(f->pieces);
    free(f->fields);
    free(f->fmt);
    free(f);
}

static bool s_add_piece(ev_format *f, s_piece p)
{
    s_piece *v = realloc(f->pieces, (f->n + 1) * sizeof(*v));
    if (!v)
        return false;
    f->pieces = v;
    f->pieces[f->n++] = p;
    return true;
}

static void s_add_field(const ev_vx *x, void *ud)
{
    ev_format *f = ud;
    for (size_t i = 0; i < f->nfields; i++)
        if (!strcmp(f->fields[i]->name, x->name))
            return;
    const ev_vx **v = realloc(f->fields, (f->nfields + 1) * sizeof(*v));
    if (!v)
        return;
    f->fields = v;
    f->fields[f->nfields++] = x;
}

/* Longest catalogue name that prefixes s. */
static const ev_field_def *s_longest_field(const ev_source *src, const char *s, size_t *nl)
{
    const ev_field_def *best = NULL;
    size_t bl = 0;
    for (size_t i = 0; i < src->nfields; i++) {
        size_t l = strlen(src->fields[i].name);
        if (l > bl && strncmp(s, src->fields[i].name, l) == 0) {
            best = &src->fields[i];
            bl = l;
        }
    }
    *nl = bl;
    return best;
}

/* Compile one token at s; returns its length or 0 on error (err set). */
static size_t s_token(ev_format *f, ev_fieldtab *t, const char *s, ev_vx **out,
                      int *code, char *err, size_t errlen)
{
    size_t used = 0, tl = strcspn(s, " \t\r\n");
    ev_parse_error pe;
    ev_ast *ast = ev_parse_transformer_prefix(s, strlen(s), &used, &pe);
    if (!ast) {
        size_t nl;
        const ev_field_def *d = s_longest_field(t->src, s, &nl);
        if (!d)
            goto unknown;
        ast = ev_ast_new(EV_AST_FIELD, s, nl, 0);
        if (!ast)
            goto nomem;
        used = nl;
        if (s[nl] == '[') {
            const char *close = strchr(s + nl + 1, ']');
            if (!close)
                goto unknown_free;
            if (ev_ast_set_arg(ast, s + nl + 1, (size_t)(close - s - nl - 1)) < 0)
                goto nomem;
            used = (size_t)(close - s) + 1;
        }
    }
    *out = ev_vx_compile(ast, t, true, code, err, errlen);
    ev_ast_free(ast);
    if (!*out)
        return 0;
    (void)f;
    return used;
unknown_free:
    ev_ast_free(ast);
unknown:
    if (code)
        *code = EV_ERR_UNKNOWN_FIELD;
    snprintf(err, errlen, "unknown filter: %.*s", (int)tl, s);
    return 0;
nomem:
    ev_ast_free(ast);
    if (code)
        *code = EV_ERR_NOMEM;
    snprintf(err, errlen, "out of memory");
    return 0;
}

ev_format *ev_format_compile(const char *fmt, ev_fieldtab *tab, int *errcode,
                             char *err, size_t errlen)
{
    int dummy;
    if (!errcode)
        errcode = &dummy;
    *errcode = 0;
    ev_format *f = calloc(1, sizeof(*f));
    if (!f || !(f->fmt = strdup(fmt))) {
        free(f);
        *errcode = EV_ERR_NOMEM;
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *p = f->fmt;
    if (*p == '*') {
        f->print_all = true;
        p++;
    }
    while (*p) {
        const char *pct = strchr(p, '%');
        size_t tl = pct ? (size_t)(pct - p) : strlen(p);
        if (tl && !s_add_piece(f, (s_piece){.text = p, .len = tl}))
            goto nomem;
        if (!pct)
            break;
        p = pct + 1;
        if (!*p) {
            *errcode = EV_ERR_COMPILE;
            snprintf(err, errlen, "invalid formatting syntax: formatting cannot end with a %%");
            goto fail;
        }
        size_t width = 0;
        while (*p >= '0' && *p <= '9' && width < 100000)
            width = width * 10 + (size_t)(*p++ - '0');
        ev_vx *vx = NULL;
        size_t used = s_token(f, tab, p, &vx, errcode, err, errlen);
        if (!used)
            goto fail;
        if (!s_add_piece(f, (s_piece){.vx = vx, .width = width})) {
            ev_vx_free(vx);
            goto nomem;
        }
        f->ntokens++;
        p += used;
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->pieces[i].vx)
            ev_vx_each_field(f->pieces[i].vx, s_add_field, f);
    return f;
nomem:
    *errcode = EV_ERR_NOMEM;
    snprintf(err, errlen, "out of memory");
fail:
    ev_format_free(f);
    return NULL;
}

bool ev_format_print_all(const ev_format *f) { return f->print_all; }
size_t ev_format_ntokens(const ev_format *f) { return f->ntokens; }
size_t ev_format_nfields(const ev_format *f) { return f->nfields; }

const char *ev_format_field_name(const ev_format *f, size_t i)
{
    return i < f->nfields ? f->fields[i]->name : NULL;
}

bool ev_format_render(const ev_format *f, ev_event *evt, ev_strbuf *out,
                      unsigned flags)
{
    bool all = true;
    bool strict = (flags & EV_FMT_STRICT) && !f->print_all;
    ev_strbuf_put(out, "", 0);
    for (size_t i = 0; i < f->n; i++) {
        const s_piece *pc = &f->pieces[i];
        if (!pc->vx) {
            ev_strbuf_put(out, pc->text, pc->len);
            continue;
        }
        const ev_val *v;
        int n = ev_vx_eval(pc->vx, evt, &v);
        size_t start = out->len;
        if (n <= 0) {
            all = false;
            if (strict)
                return false;
            ev_strbuf_put(out, "<NA>", 4);
        } else {
            s_render_vals(out, pc->vx, v, n);
        }
        if (pc->width) {
            size_t got = out->len - start;
            if (got > pc->width) {
                out->len = start + pc->width;
                out->p[out->len] = '\0';
            } else {
                while (got++ < pc->width)
                    ev_strbuf_put(out, " ", 1);
            }
        }
    }
    return all || f->print_all;
}

static const ev_vx *s_token_vx(const ev_format *f, size_t i)
{
    for (size_t k = 0; k < f->n; k++)
        if (f->pieces[k].vx && i-- == 0)
            return f->pieces[k].vx;
    return NULL;
}

const char *ev_format_token_name(const ev_format *f, size_t i)
{
    const ev_vx *x = s_token_vx(f, i);
    return x ? x->name : NULL;
}

bool ev_format_token_is_transformer(const ev_format *f, size_t i)
{
    const ev_vx *x = s_token_vx(f, i);
    return x && x->kind != EV_VX_FIELD;
}

static bool s_vx_json(const ev_vx *x, ev_event *evt, ev_strbuf *out);

bool ev_format_token_json(const ev_format *f, size_t i, ev_event *evt,
                          ev_strbuf *out)
{
    const ev_vx *x = s_token_vx(f, i);
    if (!x) {
        ev_strbuf_put(out, "null", 4);
        return false;
    }
    return s_vx_json(x, evt, out);
}

bool ev_format_field_json(const ev_format *f, size_t i, ev_event *evt,
                          ev_strbuf *out)
{
    return s_vx_json(f->fields[i], evt, out);
}

static bool s_vx_json(const ev_vx *x, ev_event *evt, ev_strbuf *out)
{
    const ev_val *v;
    int n = ev_vx_eval(x, evt, &v);
    if (n <= 0) {
        ev_strbuf_put(out, "null", 4);
        return false;
    }
    if (!x->list) {
        s_json_val(out, x->type, &v[0]);
        return true;
    }
    ev_strbuf_put(out, "[", 1);
    for (int k = 0; k < n; k++) {
        if (k)
            ev_strbuf_put(out, ",", 1);
        s_json_val(out, x->type, &v[k]);
    }
    ev_strbuf_put(out, "]", 1);
    return true;
}

bool ev_format_field_text(const ev_format *f, size_t i, ev_event *evt,
                          ev_strbuf *out)
{
    const ev_vx *x = f->fields[i];
    const ev_val *v;
    int n = ev_vx_eval(x, evt, &v);
    if (n <= 0) {
        ev_strbuf_put(out, "<NA>", 4);
        return false;
    }
    s_render_vals(out, x, v, n);
    return true;
}
