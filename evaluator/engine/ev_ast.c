/*
 * ev_ast.c - AST nodes: construction, cloning, freeing, the canonical
 * printer of spec 2.5, value escaping/unescaping (spec 1.3) and the
 * identifier walker used by the loader for macro substitution.
 * Owner: engine core.
 */
#include "ev_ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *s_dup(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

ev_ast *ev_ast_new(ev_ast_kind kind, const char *str, size_t len, size_t pos)
{
    ev_ast *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->kind = kind;
    n->pos = pos;
    if (str) {
        n->str = s_dup(str, len);
        if (!n->str) {
            free(n);
            return NULL;
        }
        n->len = len;
    }
    return n;
}

int ev_ast_add_kid(ev_ast *parent, ev_ast *kid)
{
    if (!kid)
        return -1;
    ev_ast **k = realloc(parent->kids, (parent->nkids + 1) * sizeof(*k));
    if (!k) {
        ev_ast_free(kid);
        return -1;
    }
    parent->kids = k;
    parent->kids[parent->nkids++] = kid;
    return 0;
}

int ev_ast_set_arg(ev_ast *node, const char *arg, size_t len)
{
    char *a = s_dup(arg ? arg : "", arg ? len : 0);
    if (!a)
        return -1;
    free(node->arg);
    node->arg = a;
    node->arg_len = arg ? len : 0;
    node->has_arg = true;
    return 0;
}

void ev_ast_free(ev_ast *ast)
{
    if (!ast)
        return;
    for (size_t i = 0; i < ast->nkids; i++)
        ev_ast_free(ast->kids[i]);
    free(ast->kids);
    free(ast->str);
    free(ast->arg);
    free(ast);
}

ev_ast *ev_ast_clone(const ev_ast *ast)
{
    if (!ast)
        return NULL;
    ev_ast *n = ev_ast_new(ast->kind, ast->str, ast->len, ast->pos);
    if (!n)
        return NULL;
    if (ast->has_arg && ev_ast_set_arg(n, ast->arg, ast->arg_len) < 0)
        goto fail;
    if (ast->nkids) {
        n->kids = calloc(ast->nkids, sizeof(*n->kids));
        if (!n->kids)
            goto fail;
        for (size_t i = 0; i < ast->nkids; i++) {
            n->kids[i] = ev_ast_clone(ast->kids[i]);
            if (!n->kids[i])
                goto fail;
            n->nkids = i + 1;
        }
    }
    return n;
fail:
    ev_ast_free(n);
    return NULL;
}

static int s_walk(ev_ast **slot, ev_ast_ident_fn fn, void *ud)
{
    ev_ast *n = *slot;
    if (!n)
        return 0;
    if (n->kind == EV_AST_IDENT)
        return fn(slot, ud);
    for (size_t i = 0; i < n->nkids; i++) {
        int rc = s_walk(&n->kids[i], fn, ud);
        if (rc)
            return rc;
    }
    return 0;
}

int ev_ast_walk_idents(ev_ast **root, ev_ast_ident_fn fn, void *ud)
{
    return s_walk(root, fn, ud);
}

/* --- growable string ---------------------------------------------------- */

typedef struct s_buf {
    char *p;
    size_t len, cap;
    int oom;
} s_buf;

static void s_put(s_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void s_puts(s_buf *b, const char *s) { s_put(b, s, strlen(s)); }

static void s_put_escaped(s_buf *b, const char *s, size_t len)
{
    bool quote = false;
    for (size_t i = 0; i < len && !quote; i++)
        quote = strchr("\b\f\n\r\t =\\\"'", s[i]) != NULL || s[i] == '\0';
    if (!quote) {
        s_put(b, s, len);
        return;
    }
    s_put(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '\b': s_put(b, "\\b", 2); break;
        case '\f': s_put(b, "\\f", 2); break;
        case '\n': s_put(b, "\\n", 2); break;
        case '\r': s_put(b, "\\r", 2); break;
        case '\t': s_put(b, "\\t", 2); break;
        case '\\': s_put(b, "\\\\", 2); break;
        case '"': s_put(b, "\\\"", 2); break;
        default: s_put(b, s + i, 1); break;
        }
    }
    s_put(b, "\"", 1);
}

char *ev_ast_escape_strn(const char *s, size_t len, size_t *outlen)
{
    s_buf b = {0};
    s_put(&b, "", 0);
    s_put_escaped(&b, s, len);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (outlen)
        *outlen = b.len;
    return b.p;
}

char *ev_ast_escape_str(const char *s, size_t len)
{
    return ev_ast_escape_strn(s, len, NULL);
}

static void s_print_arg(s_buf *b, const ev_ast *n)
{
    if (!n->has_arg)
        return;
    s_put(b, "[", 1);
    if (n->arg_len == 0)
        s_put(b, "\"\"", 2);
    else
        s_put_escaped(b, n->arg, n->arg_len);
    s_put(b, "]", 1);
}

static void s_print(s_buf *b, const ev_ast *n)
{
    switch (n->kind) {
    case EV_AST_AND:
    case EV_AST_OR:
        s_put(b, "(", 1);
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                s_puts(b, n->kind == EV_AST_AND ? " and " : " or ");
            s_print(b, n->kids[i]);
        }
        s_put(b, ")", 1);
        break;
    case EV_AST_NOT:
        s_puts(b, "not ");
        s_print(b, n->kids[0]);
        break;
    case EV_AST_IDENT:
        s_put(b, n->str, n->len);
        break;
    case EV_AST_UNARY:
        s_print(b, n->kids[0]);
        s_put(b, " ", 1);
        s_put(b, n->str, n->len);
        break;
    case EV_AST_BINARY:
        s_print(b, n->kids[0]);
        s_put(b, " ", 1);
        s_put(b, n->str, n->len);
        s_put(b, " ", 1);
        s_print(b, n->kids[1]);
        break;
    case EV_AST_VALUE:
        s_put_escaped(b, n->str, n->len);
        break;
    case EV_AST_LIST:
        s_put(b, "(", 1);
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                s_put(b, ", ", 2);
            s_print(b, n->kids[i]);
        }
        s_put(b, ")", 1);
        break;
    case EV_AST_FIELD:
        s_put(b, n->str, n->len);
        s_print_arg(b, n);
        break;
    case EV_AST_TRANSFORMER:
    case EV_AST_TLIST:
        if (n->kind == EV_AST_TRANSFORMER)
            s_put(b, n->str, n->len);
        s_put(b, "(", 1);
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                s_put(b, ",", 1);
            s_print(b, n->kids[i]);
        }
        s_put(b, ")", 1);
        s_print_arg(b, n);
        break;
    }
}

char *ev_ast_to_string(const ev_ast *ast)
{
    s_buf b = {0};
    s_put(&b, "", 0);
    if (ast)
        s_print(&b, ast);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *ev_ast_unescape(const char *body, size_t len, char quote,
                      size_t *outlen, char *err, size_t errlen)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (i + 1 >= len) {
            snprintf(err, errlen, "unsupported string escape sequence: \\");
            goto fail;
        }
        char e = body[++i];
        switch (e) {
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case ' ': out[o++] = '\\'; break;
        case '"':
            if (quote != '"') {
                snprintf(err, errlen, "invalid \\\" escape in '-quoted string");
                goto fail;
            }
            out[o++] = '"';
            break;
        case '\'':
            if (quote != '\'') {
                snprintf(err, errlen, "invalid \\' escape in \"-quoted string");
                goto fail;
            }
            out[o++] = '\'';
            break;
        case 'x': {
            if (len - (i + 1) < 2) {
                snprintf(err, errlen, "truncated hex char escape sequence");
                goto fail;
            }
            int h = s_hex(body[i + 1]), l = s_hex(body[i + 2]);
            if (h < 0 || l < 0) {
                snprintf(err, errlen, "invalid hex char escape sequence: %c%c",
                         body[i + 1], body[i + 2]);
                goto fail;
            }
            out[o++] = (char)(h * 16 + l);
            i += 2;
            break;
        }
        default:
            snprintf(err, errlen, "unsupported string escape sequence: \\%c", e);
            goto fail;
        }
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return out;
fail:
    free(out);
    return NULL;
}
