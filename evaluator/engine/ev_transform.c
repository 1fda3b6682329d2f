/*
 * ev_transform.c - value expressions: fields, constants and the field
 * transformers of spec 3.5 (tolower, toupper, b64, basename, len, join,
 * concat, getopt, val).  Owner: engine core.
 *
 * DESIGN
 * Compile checks argument counts and types once; evaluation writes results
 * into the event arena, so nothing is allocated from the heap per event.
 * A failing transformer (bad base64, a missing input) yields "missing".
 */
#include "ev_priv.h"

#include <inttypes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_xf_names[] = {
    "tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt", "val",
};

void ev_vx_free(ev_vx *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nargs; i++)
        ev_vx_free(x->args[i]);
    free(x->args);
    free((char *)x->cval.s);
    free(x->name);
    free(x);
}

static ev_vx *s_fail(ev_vx *x, int *code, int c, char *err, size_t errlen,
                     const char *msg)
{
    if (code)
        *code = c;
    if (err && errlen && msg)
        snprintf(err, errlen, "%s", msg);
    ev_vx_free(x);
    return NULL;
}

static ev_vx *s_field(const ev_ast *n, ev_fieldtab *t, int *code, char *err,
                      size_t errlen)
{
    char m[512];
    const ev_field_def *def = ev_source_find(t->src, n->str, n->len);
    if (!def) {
        snprintf(m, sizeof(m), "filter_check called with nonexistent field %s", n->str);
        return s_fail(NULL, code, EV_ERR_UNKNOWN_FIELD, err, errlen, m);
    }
    ev_field_arg arg = {.has_arg = n->has_arg, .arg = n->arg, .arg_len = n->arg_len};
    if (n->has_arg && !(def->flags & (EV_FIELD_ARG_REQ | EV_FIELD_ARG_OPT))) {
        snprintf(m, sizeof(m), "filter error: field '%s' does not allow nor require "
                 "an argument but one is provided: %s", n->str, n->arg);
        return s_fail(NULL, code, EV_ERR_COMPILE, err, errlen, m);
    }
    if (!n->has_arg && (def->flags & EV_FIELD_ARG_REQ)) {
        snprintf(m, sizeof(m), "filter error: field '%s' requires an argument but "
                 "none provided", n->str);
        return s_fail(NULL, code, EV_ERR_COMPILE, err, errlen, m);
    }
    if (n->has_arg && (def->flags & EV_FIELD_ARG_INDEX)) {
        bool ok = n->arg_len > 0 && n->arg_len <= 19 &&
                  !(n->arg[0] == '0' && n->arg_len > 1);
        for (size_t i = 0; ok && i < n->arg_len; i++)
            ok = n->arg[i] >= '0' && n->arg[i] <= '9';
        if (!ok) {
            snprintf(m, sizeof(m), "filter error: field '%s' has an invalid index "
                     "argument not composed only by digits: %s", n->str, n->arg);
            return s_fail(NULL, code, EV_ERR_COMPILE, err, errlen, m);
        }
        arg.index = strtoull(n->arg, NULL, 10);
    }
    ev_vx *x = calloc(1, sizeof(*x));
    if (!x)
        return s_fail(NULL, code, EV_ERR_NOMEM, err, errlen, "out of memory");
    x->kind = EV_VX_FIELD;
    x->slot = ev_fieldtab_intern(t, def, &arg);
    x->name = x->slot ? strdup(x->slot->name) : NULL;
    if (!x->slot || !x->name)
        return s_fail(x, code, EV_ERR_NOMEM, err, errlen, "out of memory");
    x->type = def->type;
    x->list = (def->flags & EV_FIELD_LIST) != 0;
    return x;
}

static ev_vx *s_const(const ev_ast *n, int *code, char *err, size_t errlen)
{
    ev_vx *x = calloc(1, sizeof(*x));
    char *s = x ? malloc(n->len + 1) : NULL;
    if (!s)
        return s_fail(x, code, EV_ERR_NOMEM, err, errlen, "out of memory");
    memcpy(s, n->str, n->len + 1);
    x->kind = EV_VX_CONST;
    x->type = EV_TYPE_STRING;
    x->cval.s = s;
    x->cval.len = strlen(s); /* C-string semantics */
    x->name = ev_ast_to_string(n);
    return x;
}

static bool s_is_str(const ev_vx *a) { return a->type == EV_TYPE_STRING; }

static ev_vx *s_xform(const ev_ast *n, ev_fieldtab *t, int *code, char *err,
                      size_t errlen)
{
    char m[512];
    int xf = -1;
    for (int i = 0; i <= EV_XF_VAL; i++)
        if (strcmp(n->str, s_xf_names[i]) == 0)
            xf = i;
    if (xf < 0) {
        snprintf(m, sizeof(m), "filter error: unknown transformer '%s'", n->str);
        return s_fail(NULL, code, EV_ERR_COMPILE, err, errlen, m);
    }
    if (n->has_arg && xf != EV_XF_GETOPT) {
        snprintf(m, sizeof(m), "filter error: transformer '%s' does not support "
                 "field arguments", n->str);
        return s_fail(NULL, code, EV_ERR_COMPILE, err, errlen, m);
    }
    ev_vx *x = calloc(1, sizeof(*x));
    if (!x || !(x->args = calloc(n->nkids ? n->nkids : 1, sizeof(*x->args))))
        return s_fail(x, code, EV_ERR_NOMEM, err, errlen, "out of memory");
    x->kind = EV_VX_XFORM;
    x->xf = (ev_xf)xf;
    for (size_t i = 0; i < n->nkids; i++) {
        x->args[i] = ev_vx_compile(n->kids[i], t, false, code, err, errlen);
        if (!x->args[i])
            return s_fail(x, NULL, 0, NULL, 0, NULL);
        x->nargs++;
    }
    x->name = ev_ast_to_string(n);
    ev_vx **a = x->args;
    size_t na = x->nargs;
    const char *bad = NULL;
    switch (x->xf) {
    case EV_XF_TOLOWER:
    case EV_XF_TOUPPER:
    case EV_XF_BASENAME:
    case EV_XF_B64:
        if (na != 1 || a[0]->kind == EV_VX_TLIST) {
            bad = "filter error: transformer '%s' expects exactly one argument";
            break;
        }
        if (!s_is_str(a[0]) && !(x->xf == EV_XF_B64 && a[0]->type == EV_TYPE_BYTES)) {
            snprintf(m, sizeof(m), "can't add field transformer: type '%s' is not "
                     "supported by '%s' transformer", ev_type_name(a[0]->type), n->str);
            return s_fail(x, code, EV_ERR_COMPILE, err, errlen, m);
        }
        if (x->xf == EV_XF_BASENAME && a[0]->list) {
            bad = "can't add field transformer: list values are not supported by '%s' transformer";
            break;
        }
        x->type = a[0]->type;
        x->list = a[0]->list;
        break;
    case EV_XF_LEN:
        if (na != 1 || a[0]->kind == EV_VX_TLIST) {
            bad = "filter error: transformer '%s' expects exactly one argument";
            break;
        }
        if (!a[0]->list && !s_is_str(a[0]) && a[0]->type != EV_TYPE_BYTES) {
            snprintf(m, sizeof(m), "can't add field transformer: type '%s' is not "
                     "supported by '%s' transformer", ev_type_name(a[0]->type), n->str);
            return s_fail(x, code, EV_ERR_COMPILE, err, errlen, m);
        }
        x->type = EV_TYPE_UINT64;
        break;
    case EV_XF_JOIN:
        if (na != 2 || a[0]->list || !s_is_str(a[0]) || !a[1]->list) {
            bad = "filter error: transformer '%s' expects a string separator and a list";
            break;
        }
        x->type = EV_TYPE_STRING;
        break;
    case EV_XF_CONCAT:
        if (na < 2) {
            bad = "filter error: transformer '%s' expects at least two arguments";
            break;
        }
        for (size_t i = 0; i < na; i++)
            if (a[i]->list || !s_is_str(a[i]))
                bad = "filter error: transformer '%s' expects single string arguments";
        x->type = EV_TYPE_STRING;
        break;
    case EV_XF_GETOPT:
        if (na != 2 || !a[0]->list || !s_is_str(a[0]) || a[1]->list ||
            !s_is_str(a[1])) {
            bad = "filter error: transformer '%s' expects a list of strings and an option string";
            break;
        }
        if (n->has_arg && n->arg_len != 1) {
            bad = "filter error: transformer '%s' expects a single option character argument";
            break;
        }
        x->has_arg = n->has_arg;
        x->opt = n->has_arg ? n->arg[0] : 0;
        x->type = EV_TYPE_STRING;
        x->list = !n->has_arg;
        break;
    case EV_XF_VAL:
        if (na != 1 || a[0]->kind != EV_VX_FIELD) {
            bad = "filter error: transformer '%s' expects exactly one field";
            break;
        }
        x->type = a[0]->type;
        x->list = a[0]->list;
        break;
    }
    if (bad) {
        snprintf(m, sizeof(m), bad, n->str);
        return s_fail(x, code, EV_ERR_COMPILE, err, errlen, m);
    }
    if (!x->name)
        return s_fail(x, code, EV_ERR_NOMEM, err, errlen, "out of memory");
    return x;
}

static ev_vx *s_tlist(const ev_ast *n, ev_fieldtab *t, int *code, char *err,
                      size_t errlen)
{
    ev_vx *x = calloc(1, sizeof(*x));
    if (!x || !(x->args = calloc(n->nkids ? n->nkids : 1, sizeof(*x->args))))
        return s_fail(x, code, EV_ERR_NOMEM, err, errlen, "out of memory");
    x->kind = EV_VX_TLIST;
    x->type = EV_TYPE_STRING;
    x->list = true;
    for (size_t i = 0; i < n->nkids; i++) {
        ev_vx *e = ev_vx_compile(n->kids[i], t, false, code, err, errlen);
        if (!e)
            return s_fail(x, NULL, 0, NULL, 0, NULL);
        x->args[x->nargs++] = e;
        if (e->list) {
            return s_fail(x, code, EV_ERR_COMPILE, err, errlen,
                          "filter error: transformer list elements must be single values");
        }
    }
    x->name = ev_ast_to_string(n);
    return x;
}

ev_vx *ev_vx_compile(const ev_ast *n, ev_fieldtab *t, bool top, int *code,
                     char *err, size_t errlen)
{
    (void)top;
    switch (n->kind) {
    case EV_AST_FIELD: return s_field(n, t, code, err, errlen);
    case EV_AST_VALUE: return s_const(n, code, err, errlen);
    case EV_AST_TRANSFORMER: return s_xform(n, t, code, err, errlen);
    case EV_AST_TLIST: return s_tlist(n, t, code, err, errlen);
    default:
        return s_fail(NULL, code, EV_ERR_COMPILE, err, errlen,
                      "filter error: unexpected expression");
    }
}

void ev_vx_each_field(const ev_vx *x, ev_vx_field_fn fn, void *ud)
{
    if (x->kind == EV_VX_FIELD) {
        fn(x, ud);
        return;
    }
    for (size_t i = 0; i < x->nargs; i++)
        ev_vx_each_field(x->args[i], fn, ud);
}

/* --- evaluation ---------------------------------------------------------- */

static int s_b64v(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Base64 decode (padding optional); false on malformed input. */
static bool s_b64_decode(const char *s, size_t n, char *out, size_t *olen)
{
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return false;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = s_b64v((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    *olen = o;
    return true;
}

static int s_map(const ev_vx *x, ev_event *evt, const ev_val *in, int n,
                 const ev_val **out)
{
    ev_val *r = ev_arena_alloc(&evt->arena, (size_t)n * sizeof(*r));
    for (int i = 0; i < n; i++) {
        const ev_val *v = &in[i];
        memset(&r[i], 0, sizeof(r[i]));
        size_t len = x->xf == EV_XF_B64 && x->type == EV_TYPE_BYTES ? v->len : ev_cstrlen(v);
        char *p = ev_arena_alloc(&evt->arena, len + 1);
        size_t olen = len;
        if (x->xf == EV_XF_TOLOWER || x->xf == EV_XF_TOUPPER) {
            for (size_t k = 0; k < len; k++) {
                char c = v->s[k];
                if (x->xf == EV_XF_TOLOWER && c >= 'A' && c <= 'Z')
                    c = (char)(c + 32);
                else if (x->xf == EV_XF_TOUPPER && c >= 'a' && c <= 'z')
                    c = (char)(c - 32);
                p[k] = c;
            }
        } else if (x->xf == EV_XF_B64) {
            if (!s_b64_decode(v->s, len, p, &olen))
                return 0;
            if (x->type == EV_TYPE_STRING) {
                const char *z = memchr(p, '\0', olen);
                if (z)
                    olen = (size_t)(z - p);
            }
        } else { /* basename */
            const char *sl = len ? memrchr(v->s, '/', len) : NULL;
            size_t off = sl ? (size_t)(sl - v->s) + 1 : 0;
            olen = len - off;
            memcpy(p, v->s + off, olen);
        }
        p[olen] = '\0';
        r[i].s = p;
        r[i].len = olen;
    }
    *out = r;
    return n;
}

static const ev_val *s_one(ev_event *evt, const char *s, size_t len, uint64_t u)
{
    ev_val *r = ev_arena_alloc(&evt->arena, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->s = s;
    r->len = len;
    r->u = u;
    return r;
}

static int s_concat(const ev_vx *x, ev_event *evt, const ev_val **out)
{
    size_t total = 0;
    const ev_val *v[x->nargs ? x->nargs : 1];
    for (size_t i = 0; i < x->nargs; i++) {
        if (ev_vx_eval(x->args[i], evt, &v[i]) <= 0)
            return 0;
        total += ev_cstrlen(v[i]);
    }
    char *p = ev_arena_alloc(&evt->arena, total + 1);
    size_t o = 0;
    for (size_t i = 0; i < x->nargs; i++) {
        size_t l = ev_cstrlen(v[i]);
        memcpy(p + o, v[i]->s, l);
        o += l;
    }
    p[o] = '\0';
    *out = s_one(evt, p, o, 0);
    return 1;
}

static int s_join(const ev_vx *x, ev_event *evt, const ev_val **out)
{
    const ev_val *sep, *items;
    if (ev_vx_eval(x->args[0], evt, &sep) <= 0)
        return 0;
    int n = ev_vx_eval(x->args[1], evt, &items);
    if (n < 0 || (n == 0 && x->args[1]->kind != EV_VX_TLIST))
        return 0;
    size_t sl = ev_cstrlen(sep), total = 0;
    for (int i = 0; i < n; i++)
        total += ev_cstrlen(&items[i]) + sl;
    char *p = ev_arena_alloc(&evt->arena, total + 1);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i) {
            memcpy(p + o, sep->s, sl);
            o += sl;
        }
        size_t l = ev_cstrlen(&items[i]);
        memcpy(p + o, items[i].s, l);
        o += l;
    }
    p[o] = '\0';
    *out = s_one(evt, p, o, 0);
    return 1;
}

/* POSIX-style getopt over args (no argv[0]); see spec 3.5. */
static int s_getopt(const ev_vx *x, ev_event *evt, const ev_val **out)
{
    const ev_val *args, *os;
    int n = ev_vx_eval(x->args[0], evt, &args);
    if (n < 0 || (n == 0 && x->args[0]->kind != EV_VX_TLIST))
        return 0;
    if (ev_vx_eval(x->args[1], evt, &os) <= 0)
        return 0;
    const char *opts = os->s;
    size_t olen = ev_cstrlen(os);
    size_t cap = 1;
    for (int i = 0; i < n; i++)
        cap += ev_cstrlen(&args[i]) + 1;
    ev_val *r = ev_arena_alloc(&evt->arena, cap * sizeof(*r));
    int nr = 0;
    const ev_val *found = NULL;
    static const char letters[] = "?";
    for (int i = 0; i < n; i++) {
        const char *a = args[i].s;
        size_t al = ev_cstrlen(&args[i]);
        if (al < 2 || a[0] != '-')
            break;
        if (a[1] == '-') {
            if (al == 2)
                break;
            continue; /* long option: ignored */
        }
        for (size_t k = 1; k < al; k++) {
            char c = a[k];
            const char *d = c != ':' ? memchr(opts, c, olen) : NULL;
            if (!d) {
                r[nr] = (ev_val){.s = letters, .len = 1};
                nr++;
                continue;
            }
            bool needs = (size_t)(d - opts) + 1 < olen && d[1] == ':';
            if (!needs) {
                r[nr] = (ev_val){.s = a + k, .len = 1};
                if (x->has_arg && c == x->opt)
                    found = &r[nr];
                nr++;
                continue;
            }
            if (k + 1 < al) {
                r[nr++] = (ev_val){.s = a + k, .len = 1};
                r[nr] = (ev_val){.s = a + k + 1, .len = al - k - 1};
            } else if (i + 1 < n) {
                r[nr++] = (ev_val){.s = a + k, .len = 1};
                i++;
                r[nr] = (ev_val){.s = args[i].s, .len = ev_cstrlen(&args[i])};
            } else {
                r[nr] = (ev_val){.s = "", .len = 0};
            }
            if (x->has_arg && c == x->opt)
                found = &r[nr];
            nr++;
            break;
        }
    }
    if (x->has_arg) {
        if (!found)
            return 0;
        *out = found;
        return 1;
    }
    *out = r;
    return nr;
}

/* Replace a non-string value by its text rendering (in the arena). */
static void s_to_text(ev_event *evt, ev_type t, ev_val *v)
{
    char tmp[64];
    int n;
    if (t == EV_TYPE_INT64)
        n = snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)v->u);
    else if (t == EV_TYPE_BOOL)
        n = snprintf(tmp, sizeof(tmp), "%s", v->u ? "true" : "false");
    else if (t == EV_TYPE_DOUBLE)
        n = snprintf(tmp, sizeof(tmp), "%g", v->d);
    else if (t == EV_TYPE_IPADDR || t == EV_TYPE_IPNET || t == EV_TYPE_BYTES)
        return; /* kept as bytes */
    else
        n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v->u);
    memset(v, 0, sizeof(*v));
    v->s = ev_arena_strndup(&evt->arena, tmp, (size_t)n);
    v->len = (size_t)n;
}

int ev_vx_eval(const ev_vx *x, ev_event *evt, const ev_val **out)
{
    const ev_val *in;
    int n;
    switch (x->kind) {
    case EV_VX_FIELD:
        return ev_slot_get(x->slot, evt, out);
    case EV_VX_CONST:
        *out = &x->cval;
        return 1;
    case EV_VX_TLIST: {
        ev_val *r = ev_arena_alloc(&evt->arena, (x->nargs + 1) * sizeof(*r));
        for (size_t i = 0; i < x->nargs; i++) {
            if (ev_vx_eval(x->args[i], evt, &in) <= 0)
                return -1; /* missing element: the whole list is missing */
            r[i] = in[0];
            if (x->args[i]->type != EV_TYPE_STRING)
                s_to_text(evt, x->args[i]->type, &r[i]);
        }
        *out = r;
        return (int)x->nargs;
    }
    case EV_VX_XFORM:
        break;
    }
    switch (x->xf) {
    case EV_XF_VAL:
        return ev_vx_eval(x->args[0], evt, out);
    case EV_XF_LEN:
        n = ev_vx_eval(x->args[0], evt, &in);
        if (n <= 0)
            return 0;
        if (x->args[0]->list)
            *out = s_one(evt, NULL, 0, (uint64_t)n);
        else if (x->args[0]->type == EV_TYPE_BYTES)
            *out = s_one(evt, NULL, 0, in[0].len);
        else
            *out = s_one(evt, NULL, 0, ev_cstrlen(&in[0]));
        return 1;
    case EV_XF_JOIN:
        return s_join(x, evt, out);
    case EV_XF_CONCAT:
        return s_concat(x, evt, out);
    case EV_XF_GETOPT:
        return s_getopt(x, evt, out);
    default:
        n = ev_vx_eval(x->args[0], evt, &in);
        if (n <= 0)
            return 0;
        return s_map(x, evt, in, n, out);
    }
}
