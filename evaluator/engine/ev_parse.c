/*
 * ev_parse.c - recursive-descent parser for Falco conditions (spec 1-2).
 * Owner: engine core.
 *
 * DESIGN
 * A cursor (index, line, column) walks the input; every lexing helper
 * either consumes a token and remembers its text as the "last token" (for
 * the "unexpected token after '...'" message) or leaves the cursor alone.
 * Errors are reported once, at the first failure, with the cursor position
 * at that moment; parsing then unwinds returning NULL.  Each grammar
 * production increments a depth counter checked against max_depth so that
 * pathological nesting fails cleanly instead of exhausting the stack.
 */
#include "ev_ast.h"
#include "ev_priv.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TRANSFORMERS "'val', 'tolower', 'toupper', 'b64', 'basename', 'len', " \
                       "'join', 'concat', 'getopt'"

typedef struct s_pos {
    size_t idx;
    unsigned line, col;
} s_pos;

typedef struct s_parser {
    const char *in;
    size_t len;
    s_pos pos;
    unsigned depth, max_depth;
    const char *last;       /* last token text (points into input) */
    size_t last_len;
    ev_parse_error *err;
    bool failed;
} s_parser;

static const char *const s_tnames[] = {
    "tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt", NULL
};

__attribute__((format(printf, 2, 3)))
static void s_fail(s_parser *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (!p->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
    va_end(ap);
    p->err->index = p->pos.idx;
    p->err->line = p->pos.line;
    p->err->column = p->pos.col;
}

static bool s_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\b';
}

static char s_peek(const s_parser *p, size_t off)
{
    return p->pos.idx + off < p->len ? p->in[p->pos.idx + off] : '\0';
}


static void s_advance(s_parser *p, size_t n)
{
    p->last = p->in + p->pos.idx;
    p->last_len = n;
    for (size_t i = 0; i < n && p->pos.idx < p->len; i++) {
        char c = p->in[p->pos.idx++];
        if (c == '\n' || c == '\r') {
            p->pos.line++;
            p->pos.col = 1;
        } else {
            p->pos.col++;
        }
    }
}

/* Consume blanks without touching the last token; true if any. */
static bool s_blank(s_parser *p)
{
    const char *last = p->last;
    size_t ll = p->last_len;
    size_t start = p->pos.idx;
    size_t n = 0;
    while (p->pos.idx + n < p->len && s_is_blank(p->in[p->pos.idx + n]))
        n++;
    if (n)
        s_advance(p, n);
    p->last = last;
    p->last_len = ll;
    return p->pos.idx > start;
}

static bool s_starts(const s_parser *p, const char *s)
{
    size_t n = strlen(s);
    return p->pos.idx + n <= p->len && memcmp(p->in + p->pos.idx, s, n) == 0;
}

static bool s_lex_str(s_parser *p, const char *s)
{
    if (!s_starts(p, s))
        return false;
    s_advance(p, strlen(s));
    return true;
}

static bool s_depth_push(s_parser *p)
{
    if (++p->depth > p->max_depth) {
        s_fail(p, "exceeded max depth limit of %u", p->max_depth);
        return false;
    }
    return true;
}

static bool s_is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool s_is_digit(char c) { return c >= '0' && c <= '9'; }
static bool s_is_idch(char c) { return s_is_alpha(c) || s_is_digit(c) || c == '_'; }

/* Length of an identifier at offset off from the cursor, 0 if none. */
static size_t s_ident_len(const s_parser *p, size_t off)
{
    if (!s_is_alpha(s_peek(p, off)))
        return 0;
    size_t n = 1;
    while (s_is_idch(s_peek(p, off + n)))
        n++;
    return n;
}

/* Length of a FieldName (seg(.seg)+), 0 if none. */
static size_t s_fieldname_len(const s_parser *p)
{
    size_t n = s_ident_len(p, 0);
    size_t segs = n ? 1 : 0;
    if (!n)
        return 0;
    while (s_peek(p, n) == '.') {
        size_t m = s_ident_len(p, n + 1);
        if (!m)
            break;
        n += 1 + m;
        segs++;
    }
    return segs >= 2 ? n : 0;
}

/* Length of a transformer name followed by '(' (name only), or 0. */
static size_t s_tname_len(const s_parser *p)
{
    for (int i = 0; s_tnames[i]; i++) {
        size_t n = strlen(s_tnames[i]);
        if (s_starts(p, s_tnames[i]) && s_peek(p, n) == '(')
            return n;
    }
    return 0;
}

/* Quoted string: returns the token length (including quotes) or 0. */
static size_t s_quoted_len(const s_parser *p)
{
    char q = s_peek(p, 0);
    if (q != '"' && q != '\'')
        return 0;
    for (size_t i = p->pos.idx + 1; i < p->len; i++)
        if (p->in[i] == q && p->in[i - 1] != '\\')
            return i - p->pos.idx + 1;
    return 0;
}

/* Lex a quoted string into a VALUE node; NULL (maybe with error) if none. */
static ev_ast *s_lex_quoted(s_parser *p, bool *had)
{
    size_t n = s_quoted_len(p);
    *had = n > 0;
    if (!n)
        return NULL;
    size_t start = p->pos.idx;
    char q = p->in[start];
    s_advance(p, n);
    p->last = p->in + start + 1;
    p->last_len = n - 2;
    char e[256];
    size_t olen;
    char *v = ev_ast_unescape(p->in + start + 1, n - 2, q, &olen, e, sizeof(e));
    if (!v) {
        s_fail(p, "%s", e);
        return NULL;
    }
    ev_ast *node = ev_ast_new(EV_AST_VALUE, v, olen, start);
    free(v);
    return node;
}

static bool s_is_bare(char c)
{
    return c && !strchr("()\"'=,", c) && !isspace((unsigned char)c);
}

static ev_ast *s_lex_bare(s_parser *p)
{
    size_t n = 0;
    while (p->pos.idx + n < p->len && s_is_bare(p->in[p->pos.idx + n]))
        n++;
    if (!n)
        return NULL;
    size_t start = p->pos.idx;
    s_advance(p, n);
    return ev_ast_new(EV_AST_VALUE, p->in + start, n, start);
}

/* Number or hex number token length, 0 if none. */
static size_t s_number_len(const s_parser *p)
{
    size_t n = 0;
    if (s_peek(p, 0) == '0' && (s_peek(p, 1) == 'x' || s_peek(p, 1) == 'X') &&
        isxdigit((unsigned char)s_peek(p, 2))) {
        n = 2;
        while (isxdigit((unsigned char)s_peek(p, n)))
            n++;
        return n;
    }
    if (s_peek(p, 0) == '+' || s_peek(p, 0) == '-')
        n++;
    if (!s_is_digit(s_peek(p, n)))
        return 0;
    while (s_is_digit(s_peek(p, n)))
        n++;
    if (s_peek(p, n) == '.') {
        n++;
        while (s_is_digit(s_peek(p, n)))
            n++;
    }
    if ((s_peek(p, n) == 'e' || s_peek(p, n) == 'E') &&
        (s_peek(p, n + 1) == '+' || s_peek(p, n + 1) == '-') &&
        s_is_digit(s_peek(p, n + 2))) {
        n += 2;
        while (s_is_digit(s_peek(p, n)))
            n++;
    }
    return n;
}

static ev_ast *s_lex_number(s_parser *p)
{
    size_t n = s_number_len(p);
    if (!n)
        return NULL;
    size_t start = p->pos.idx;
    s_advance(p, n);
    return ev_ast_new(EV_AST_VALUE, p->in + start, n, start);
}

/* [arg] after a field or transformer; true on success or absence. */
static bool s_field_arg(s_parser *p, ev_ast *node)
{
    if (s_peek(p, 0) != '[')
        return true;
    s_advance(p, 1);
    bool had;
    ev_ast *q = s_lex_quoted(p, &had);
    if (had) {
        if (!q)
            return false;
        int rc = ev_ast_set_arg(node, q->str, q->len);
        ev_ast_free(q);
        if (rc < 0)
            return false;
    } else {
        size_t n = 0;
        char c;
        while ((c = s_peek(p, n)) && !strchr("[]\"'", c) && !isspace((unsigned char)c))
            n++;
        if (!n) {
            s_fail(p, "expected a valid field argument: a quoted string or a bare string");
            return false;
        }
        if (ev_ast_set_arg(node, p->in + p->pos.idx, n) < 0)
            return false;
        s_advance(p, n);
    }
    if (s_peek(p, 0) != ']') {
        s_fail(p, "expected a ']' token");
        return false;
    }
    s_advance(p, 1);
    return true;
}

static ev_ast *s_field_ref(s_parser *p)
{
    size_t n = s_fieldname_len(p);
    if (!n)
        return NULL;
    ev_ast *f = ev_ast_new(EV_AST_FIELD, p->in + p->pos.idx, n, p->pos.idx);
    if (!f)
        return NULL;
    s_advance(p, n);
    if (!s_field_arg(p, f)) {
        ev_ast_free(f);
        return NULL;
    }
    return f;
}

static ev_ast *s_transformer(s_parser *p);

static ev_ast *s_tlist(s_parser *p)
{
    ev_ast *l = ev_ast_new(EV_AST_TLIST, NULL, 0, p->pos.idx);
    if (!l)
        return NULL;
    s_advance(p, 1); /* '(' */
    s_blank(p);
    if (s_peek(p, 0) != ')') {
        for (;;) {
            ev_ast *it = NULL;
            bool had = false;
            if (s_tname_len(p))
                it = s_transformer(p);
            else if (s_fieldname_len(p))
                it = s_field_ref(p);
            else if ((it = s_lex_quoted(p, &had)) || had)
                ;
            else
                it = s_lex_number(p);
            if (!it) {
                s_fail(p, "expected transformer list argument: field, transformer, "
                          "quoted string, or number");
                goto fail;
            }
            if (ev_ast_add_kid(l, it) < 0)
                goto fail;
            s_blank(p);
            if (s_peek(p, 0) != ',')
                break;
            s_advance(p, 1);
            s_blank(p);
        }
    }
    if (s_peek(p, 0) != ')') {
        s_fail(p, "expected a ')' token");
        goto fail;
    }
    s_advance(p, 1);
    return l;
fail:
    ev_ast_free(l);
    return NULL;
}

static ev_ast *s_targ(s_parser *p)
{
    bool had = false;
    ev_ast *a;
    if (s_tname_len(p))
        return s_transformer(p);
    if (s_fieldname_len(p))
        return s_field_ref(p);
    if ((a = s_lex_quoted(p, &had)) || had)
        return a;
    if ((a = s_lex_number(p)))
        return a;
    if (s_peek(p, 0) == '(')
        return s_tlist(p);
    s_fail(p, "expected field transformer argument: field, transformer, quoted "
              "string, number, or transformer list");
    return NULL;
}

/* TNAME "(" targs ")" [arg]; cursor at the name. */
static ev_ast *s_transformer(s_parser *p)
{
    if (!s_depth_push(p))
        return NULL;
    size_t n = s_tname_len(p);
    ev_ast *t = ev_ast_new(EV_AST_TRANSFORMER, p->in + p->pos.idx, n, p->pos.idx);
    if (!t)
        return NULL;
    s_advance(p, n + 1);
    s_blank(p);
    for (;;) {
        ev_ast *a = s_targ(p);
        if (!a || ev_ast_add_kid(t, a) < 0)
            goto fail;
        s_blank(p);
        if (s_peek(p, 0) != ',')
            break;
        s_advance(p, 1);
        s_blank(p);
    }
    if (s_peek(p, 0) != ')') {
        s_fail(p, "expected a ')' token closing the transformer");
        goto fail;
    }
    s_advance(p, 1);
    if (!s_field_arg(p, t))
        goto fail;
    p->depth--;
    return t;
fail:
    ev_ast_free(t);
    return NULL;
}

/* val(field) or a transformer on the right; *had says one was started. */
static ev_ast *s_rhs_transformer(s_parser *p, bool *had)
{
    *had = false;
    if (s_starts(p, "val(")) {
        *had = true;
        ev_ast *t = ev_ast_new(EV_AST_TRANSFORMER, "val", 3, p->pos.idx);
        if (!t)
            return NULL;
        s_advance(p, 4);
        s_blank(p);
        ev_ast *f = s_fieldname_len(p) ? s_field_ref(p) : NULL;
        if (!f) {
            s_fail(p, "expected a field within 'val' transformer");
            goto fail;
        }
        if (ev_ast_add_kid(t, f) < 0)
            goto fail;
        s_blank(p);
        if (s_peek(p, 0) != ')') {
            s_fail(p, "expected a ')' token closing the transformer");
            goto fail;
        }
        s_advance(p, 1);
        if (!s_field_arg(p, t))
            goto fail;
        return t;
fail:
        ev_ast_free(t);
        return NULL;
    }
    if (s_tname_len(p)) {
        *had = true;
        return s_transformer(p);
    }
    return NULL;
}

/* "(" items ")" list of quoted/bare strings; cursor at '('. */
static ev_ast *s_list(s_parser *p)
{
    ev_ast *l = ev_ast_new(EV_AST_LIST, NULL, 0, p->pos.idx);
    if (!l)
        return NULL;
    s_advance(p, 1);
    s_blank(p);
    for (bool first = true;; first = false) {
        bool had;
        ev_ast *it = s_lex_quoted(p, &had);
        if (!it && !had)
            it = s_lex_bare(p);
        if (!it) {
            if (first && !had)
                break; /* empty list: the ')' check reports */
            s_fail(p, "expected a string value");
            goto fail;
        }
        if (ev_ast_add_kid(l, it) < 0)
            goto fail;
        s_blank(p);
        if (s_peek(p, 0) != ',')
            break;
        s_advance(p, 1);
        s_blank(p);
    }
    if (s_peek(p, 0) != ')') {
        s_fail(p, "expected a ')' token");
        goto fail;
    }
    s_advance(p, 1);
    return l;
fail:
    ev_ast_free(l);
    return NULL;
}

/* Identifier used as a one-element list value (list name). */
static ev_ast *s_ident_value(s_parser *p)
{
    size_t n = s_ident_len(p, 0);
    if (!n)
        return NULL;
    ev_ast *v = ev_ast_new(EV_AST_VALUE, p->in + p->pos.idx, n, p->pos.idx);
    s_advance(p, n);
    return v;
}

static const char *const s_numops[] = {"<=", "<", ">=", ">", NULL};
static const char *const s_strops[] = {
    "==", "=", "!=", "glob", "iglob", "contains", "icontains", "bcontains",
    "startswith", "bstartswith", "endswith", "regex", NULL
};
static const char *const s_listops[] = {"intersects", "in", "pmatch", NULL};

/* Modifier at the cursor (after a blank): returns its length, or 0. */
static size_t s_modifier(const s_parser *p)
{
    static const char *const mods[] = {"oneof", "anyof", "allof", NULL};
    for (int i = 0; mods[i]; i++) {
        if (!s_starts(p, mods[i]))
            continue;
        size_t n = 5, b = 0;
        while (s_is_blank(s_peek(p, n + b)))
            b++;
        if (!b)
            return 0;
        if (s_peek(p, n + b) == '(')
            return n;
        size_t il = s_ident_len(p, n + b);
        if (!il)
            return 0;
        const char *w = p->in + p->pos.idx + n + b;
        if ((il == 3 && (!memcmp(w, "and", 3) || !memcmp(w, "not", 3))) ||
            (il == 2 && !memcmp(w, "or", 2)))
            return 0;
        return n;
    }
    return 0;
}

static ev_ast *s_binary(s_parser *p, ev_ast *left, const char *op, size_t oplen,
                        ev_ast *right)
{
    ev_ast *b = ev_ast_new(EV_AST_BINARY, op, oplen, left->pos);
    if (!b || !right) {
        ev_ast_free(b);
        ev_ast_free(left);
        ev_ast_free(right);
        return NULL;
    }
    (void)p;
    b->kids = malloc(2 * sizeof(*b->kids));
    if (!b->kids) {
        ev_ast_free(b);
        ev_ast_free(left);
        ev_ast_free(right);
        return NULL;
    }
    b->kids[0] = left;
    b->kids[1] = right;
    b->nkids = 2;
    return b;
}

/* Operator and right side after a field/transformer `left`. */
static ev_ast *s_condition_op(s_parser *p, ev_ast *left)
{
    bool had;
    ev_ast *r;
    if (s_lex_str(p, "exists")) {
        ev_ast *u = ev_ast_new(EV_AST_UNARY, "exists", 6, left->pos);
        if (!u || ev_ast_add_kid(u, left) < 0) {
            ev_ast_free(u);
            return NULL;
        }
        return u;
    }
    for (int i = 0; s_numops[i]; i++) {
        if (!s_lex_str(p, s_numops[i]))
            continue;
        s_blank(p);
        r = s_rhs_transformer(p, &had);
        if (!r && !had && !(r = s_lex_number(p)))
            s_fail(p, "expected a number value or a field with a valid transformer: "
                      S_TRANSFORMERS);
        return s_binary(p, left, s_numops[i], strlen(s_numops[i]), r);
    }
    for (int i = 0; s_strops[i]; i++) {
        const char *op = s_strops[i];
        size_t ol = strlen(op);
        if (!s_starts(p, op))
            continue;
        if (s_is_alpha(op[0]) && !s_is_blank(s_peek(p, ol)))
            continue;
        s_advance(p, ol);
        bool blank = s_blank(p);
        size_t ml = blank ? s_modifier(p) : 0;
        if (ml) {
            char full[32];
            int fl = snprintf(full, sizeof(full), "%s %.*s", op, (int)ml,
                              p->in + p->pos.idx);
            s_advance(p, ml);
            s_blank(p);
            r = s_peek(p, 0) == '(' ? s_list(p) : s_ident_value(p);
            return s_binary(p, left, full, (size_t)fl, r);
        }
        r = s_rhs_transformer(p, &had);
        if (!r && !had) {
            r = s_lex_quoted(p, &had);
            if (!r && !had)
                r = s_lex_bare(p);
            if (!r && !had)
                s_fail(p, "expected a string value or a field with a valid "
                          "transformer: " S_TRANSFORMERS);
        }
        return s_binary(p, left, op, ol, r);
    }
    for (int i = 0; s_listops[i]; i++) {
        if (!s_lex_str(p, s_listops[i]))
            continue;
        s_blank(p);
        r = NULL;
        if (s_peek(p, 0) == '(')
            r = s_list(p);
        else if (!(r = s_rhs_transformer(p, &had)) && !had &&
                 !(r = s_ident_value(p)))
            s_fail(p, "expected a list, an identifier, or a field with a valid "
                      "transformer: " S_TRANSFORMERS);
        return s_binary(p, left, s_listops[i], strlen(s_listops[i]), r);
    }
    s_fail(p, "expected a valid check operator: one of 'exists', '<=', '<', '>=', "
              "'>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', "
              "'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', "
              "'intersects', 'in', 'pmatch'");
    ev_ast_free(left);
    return NULL;
}

static ev_ast *s_or(s_parser *p);

/* After a consumed '(': blanks? or_expr blanks? ")" */
static ev_ast *s_group_rest(s_parser *p)
{
    ev_ast *e = s_or(p);
    if (!e)
        return NULL;
    s_blank(p);
    if (s_peek(p, 0) != ')') {
        s_fail(p, "expected a ')' token");
        ev_ast_free(e);
        return NULL;
    }
    s_advance(p, 1);
    return e;
}

static ev_ast *s_check(s_parser *p)
{
    if (s_peek(p, 0) == '(') {
        s_advance(p, 1);
        return s_group_rest(p);
    }
    ev_ast *left = NULL;
    if (s_tname_len(p))
        left = s_transformer(p);
    else if (s_fieldname_len(p))
        left = s_field_ref(p);
    else if (s_ident_len(p, 0)) {
        size_t n = s_ident_len(p, 0);
        ev_ast *id = ev_ast_new(EV_AST_IDENT, p->in + p->pos.idx, n, p->pos.idx);
        s_advance(p, n);
        return id;
    } else {
        s_fail(p, "expected a '(' token, a field check, or an identifier");
        return NULL;
    }
    if (!left)
        return NULL;
    s_blank(p);
    return s_condition_op(p, left);
}

static bool s_not_kw(const s_parser *p, size_t *n)
{
    if (!s_starts(p, "not"))
        return false;
    if (s_peek(p, 3) == '(') {
        *n = 3;
        return true;
    }
    size_t k = 3;
    while (s_peek(p, k) && isspace((unsigned char)s_peek(p, k)))
        k++;
    if (k == 3)
        return false;
    *n = k;
    return true;
}

static ev_ast *s_not(s_parser *p)
{
    if (!s_depth_push(p))
        return NULL;
    size_t pos0 = p->pos.idx;
    bool neg = false;
    size_t n;
    while (s_not_kw(p, &n)) {
        neg = !neg;
        s_advance(p, 3);
        if (n == 3)
            break; /* "not(" : the group follows */
        const char *l = p->last;
        size_t ll = p->last_len;
        s_advance(p, n - 3);
        p->last = l;
        p->last_len = ll;
    }
    ev_ast *c = s_check(p);
    if (!c)
        return NULL;
    p->depth--;
    if (!neg)
        return c;
    ev_ast *nn = ev_ast_new(EV_AST_NOT, NULL, 0, pos0);
    if (!nn || ev_ast_add_kid(nn, c) < 0) {
        ev_ast_free(nn);
        return NULL;
    }
    return nn;
}

/* Shared loop of the n-ary and/or productions. */
static ev_ast *s_nary(s_parser *p, ev_ast_kind kind)
{
    const char *kw = kind == EV_AST_AND ? "and" : "or";
    if (!s_depth_push(p))
        return NULL;
    size_t pos0 = p->pos.idx;
    ev_ast *first = kind == EV_AST_AND ? s_not(p) : s_nary(p, EV_AST_AND);
    if (!first)
        return NULL;
    ev_ast *node = NULL;
    s_blank(p);
    while (s_lex_str(p, kw)) {
        if (!s_blank(p) && s_peek(p, 0) != '(') {
            s_fail(p, "expected blank or '(' after '%s'", kw);
            goto fail;
        }
        ev_ast *k = kind == EV_AST_AND ? s_not(p) : s_nary(p, EV_AST_AND);
        if (!k)
            goto fail;
        if (!node) {
            node = ev_ast_new(kind, NULL, 0, pos0);
            if (!node || ev_ast_add_kid(node, first) < 0) {
                first = NULL;
                ev_ast_free(k);
                goto fail;
            }
            first = NULL;
        }
        if (ev_ast_add_kid(node, k) < 0)
            goto fail;
        s_blank(p);
    }
    p->depth--;
    return node ? node : first;
fail:
    ev_ast_free(first);
    ev_ast_free(node);
    return NULL;
}

static ev_ast *s_or(s_parser *p)
{
    s_blank(p);
    return s_nary(p, EV_AST_OR);
}

ev_ast *ev_parse(const char *text, size_t len, unsigned max_depth,
                 ev_parse_error *err)
{
    s_parser p = {
        .in = text ? text : "", .len = text ? len : 0,
        .pos = {0, 1, 1}, .max_depth = max_depth ? max_depth : EV_PARSE_DEFAULT_DEPTH,
        .last = "", .last_len = 0, .err = err,
    };
    if (err)
        memset(err, 0, sizeof(*err));
    if (p.len == 0) {
        s_fail(&p, "filter input string is empty");
        return NULL;
    }
    ev_ast *res = s_or(&p);
    if (!res) {
        if (!p.failed)
            s_fail(&p, "out of memory");
        return NULL;
    }
    s_blank(&p);
    if (p.pos.idx != p.len) {
        s_fail(&p, "unexpected token after '%.*s', expecting 'or', 'and'",
               (int)(p.last_len > 200 ? 200 : p.last_len), p.last);
        ev_ast_free(res);
        return NULL;
    }
    return res;
}

ev_ast *ev_parse_transformer_prefix(const char *text, size_t len,
                                    size_t *consumed, ev_parse_error *err)
{
    s_parser p = {
        .in = text, .len = len, .pos = {0, 1, 1},
        .max_depth = EV_PARSE_DEFAULT_DEPTH, .last = "", .err = err,
    };
    if (err)
        memset(err, 0, sizeof(*err));
    if (!s_tname_len(&p)) {
        s_fail(&p, "expected a transformer");
        return NULL;
    }
    ev_ast *t = s_transformer(&p);
    if (t && consumed)
        *consumed = p.pos.idx;
    return t;
}
