/*
 * ev_ops.c - comparison operators and check evaluation (spec section 4).
 * Owner: engine core.
 *
 * DESIGN
 * ev_op_apply() compares one left value with one right value using the
 * left-hand type.  ev_check_eval() implements the missing-field rule (any
 * comparison on a missing value is false), list-field semantics (in =
 * subset, intersects = overlap), sets (binary search over literals sorted
 * at compile time; string sets by length filter and hash, ev_strset_has)
 * and the oneof/anyof/allof modifiers.  ev_check_prepare() picks the check
 * shapes that ev_check_eval_inl() (ev_priv.h) evaluates inline.  Temporary copies
 * (NUL-terminated strings for fnmatch) go to the event arena.
 */
#include "ev_priv.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_op_names[EV_OP__COUNT] = {
    "=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "bcontains",
    "startswith", "bstartswith", "endswith", "glob", "iglob", "regex", "in",
    "intersects", "pmatch", "exists",
};

int ev_op_from_str(const char *s, size_t len)
{
    if (len == 2 && memcmp(s, "==", 2) == 0)
        return EV_OP_EQ;
    for (int i = 0; i < EV_OP__COUNT; i++)
        if (strlen(s_op_names[i]) == len && memcmp(s, s_op_names[i], len) == 0)
            return i;
    return -1;
}

const char *ev_op_name(ev_op op)
{
    return (unsigned)op < EV_OP__COUNT ? s_op_names[op] : "?";
}


static int s_memcmp_len(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

int ev_val_cmp(ev_type t, const ev_val *a, const ev_val *b)
{
    switch (t) {
    case EV_TYPE_STRING:
        return s_memcmp_len(a->s, ev_cstrlen(a), b->s, ev_cstrlen(b));
    case EV_TYPE_INT64: {
        int64_t x = (int64_t)a->u, y = (int64_t)b->u;
        return x < y ? -1 : x > y;
    }
    case EV_TYPE_DOUBLE:
        return a->d < b->d ? -1 : a->d > b->d;
    case EV_TYPE_UINT64:
    case EV_TYPE_BOOL:
    case EV_TYPE_RELTIME:
    case EV_TYPE_ABSTIME:
        return a->u < b->u ? -1 : a->u > b->u;
    case EV_TYPE_IPNET:
        if (a->u != b->u)
            return a->u < b->u ? -1 : 1;
        return s_memcmp_len(a->s, a->len, b->s, b->len);
    default:
        return s_memcmp_len(a->s, a->len, b->s, b->len);
    }
}

static inline bool s_same(const char *a, size_t al, const char *b, size_t bl)
{
    return al == bl && (al == 0 || (a[0] == b[0] && memcmp(a, b, al) == 0));
}

static bool s_icontains(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return true;
    for (size_t i = 0; i + nl <= hl; i++) {
        size_t k = 0;
        while (k < nl) {
            unsigned char a = (unsigned char)h[i + k], b = (unsigned char)n[k];
            if (a >= 'A' && a <= 'Z')
                a = (unsigned char)(a + 32);
            if (b >= 'A' && b <= 'Z')
                b = (unsigned char)(b + 32);
            if (a != b)
                break;
            k++;
        }
        if (k == nl)
            return true;
    }
    return false;
}

static char *s_cstr(ev_event *evt, const char *s, size_t n)
{
    return ev_arena_strndup(&evt->arena, s ? s : "", s ? n : 0);
}

/* s as valid UTF-8: invalid bytes become U+FFFD (copy in the arena, made
 * only when needed). */
static const char *s_valid_utf8(ev_event *evt, const char *s, size_t *len)
{
    size_t n = *len, i = 0;
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    size_t bad = 0;
    for (size_t k = i; k < n;) {
        size_t l = ev_utf8_len((const unsigned char *)s + k, n - k);
        bad += l == 0;
        k += l ? l : 1;
    }
    if (!bad)
        return s;
    char *o = ev_arena_alloc(&evt->arena, n + 2 * bad + 1);
    size_t w = 0;
    for (size_t k = 0; k < n;) {
        size_t l = ev_utf8_len((const unsigned char *)s + k, n - k);
        if (l) {
            memcpy(o + w, s + k, l);
            w += l;
            k += l;
        } else {
            memcpy(o + w, "\xef\xbf\xbd", 3);
            w += 3;
            k++;
        }
    }
    o[w] = '\0';
    *len = w;
    return o;
}

/* Does address a (len bytes) fall in net/prefix? */
static bool s_in_net(const ev_val *a, const char *net, size_t nlen, uint64_t prefix)
{
    if (a->len != nlen || prefix > nlen * 8)
        return false;
    size_t full = prefix / 8, rem = prefix % 8;
    if (memcmp(a->s, net, full) != 0)
        return false;
    if (rem) {
        unsigned char m = (unsigned char)(0xff << (8 - rem));
        if (((unsigned char)a->s[full] & m) != ((unsigned char)net[full] & m))
            return false;
    }
    return true;
}

static bool s_ip_eq(ev_type t, const ev_val *v, const ev_val *r, const ev_lit *lit)
{
    bool rnet = lit ? lit->net : false;
    if (t == EV_TYPE_IPADDR) {
        if (rnet)
            return s_in_net(v, r->s, r->len, r->u);
        return v->len == r->len && memcmp(v->s, r->s, v->len) == 0;
    }
    /* ipnet field */
    if (rnet)
        return v->u == r->u && v->len == r->len && memcmp(v->s, r->s, v->len) == 0;
    return s_in_net(r, v->s, v->len, v->u);
}

static bool s_pmatch(const ev_lit *lit, const ev_val *v, ev_event *evt)
{
    size_t vl = ev_cstrlen(v);
    char *copy = s_cstr(evt, v->s, vl);
    size_t ci = 0, i = 0;
    while (ci < lit->ncomps) {
        while (i < vl && copy[i] == '/')
            i++;
        if (i >= vl)
            return false;
        size_t start = i;
        while (i < vl && copy[i] != '/')
            i++;
        copy[i] = '\0';
        const char *pc = lit->comps[ci];
        if (strpbrk(pc, "*?[")) {
            if (fnmatch(pc, copy + start, 0) != 0)
                return false;
        } else if (lit->comp_lens[ci] != i - start ||
                   memcmp(pc, copy + start, i - start) != 0) {
            return false;
        }
        ci++;
        i++;
    }
    return true;
}

bool ev_op_apply(ev_op op, ev_type t, const ev_val *v, const ev_val *r,
                 const ev_lit *lit, ev_event *evt)
{
    if (t == EV_TYPE_STRING || t == EV_TYPE_BYTES) {
        bool bytes = t == EV_TYPE_BYTES;
        size_t vl = bytes ? v->len : ev_cstrlen(v);
        size_t rl = bytes ? r->len : ev_cstrlen(r);
        const char *vs = v->s ? v->s : "", *rs = r->s ? r->s : "";
        switch (op) {
        case EV_OP_EQ:
        case EV_OP_IN:
        case EV_OP_INTERSECTS:
            return s_same(vs, vl, rs, rl);
        case EV_OP_NE:
            return !s_same(vs, vl, rs, rl);
        case EV_OP_LT: return s_memcmp_len(vs, vl, rs, rl) < 0;
        case EV_OP_LE: return s_memcmp_len(vs, vl, rs, rl) <= 0;
        case EV_OP_GT: return s_memcmp_len(vs, vl, rs, rl) > 0;
        case EV_OP_GE: return s_memcmp_len(vs, vl, rs, rl) >= 0;
        case EV_OP_CONTAINS:
        case EV_OP_BCONTAINS:
            return rl == 0 || ev_str_contains(vs, vl, rs, rl);
        case EV_OP_ICONTAINS:
            return s_icontains(vs, vl, rs, rl);
        case EV_OP_STARTSWITH:
        case EV_OP_BSTARTSWITH:
            return vl >= rl && memcmp(vs, rs, rl) == 0;
        case EV_OP_ENDSWITH:
            return vl >= rl && memcmp(vs + vl - rl, rs, rl) == 0;
        case EV_OP_GLOB:
        case EV_OP_IGLOB: {
            const char *pat = lit ? lit->v.s : s_cstr(evt, rs, rl);
            return fnmatch(pat, s_cstr(evt, vs, vl),
                           op == EV_OP_IGLOB ? FNM_CASEFOLD : 0) == 0;
        }
        case EV_OP_REGEX: {
            if (!lit || !lit->re)
                return false;
            vs = s_valid_utf8(evt, vs, &vl);
            regmatch_t m[1] = {{.rm_so = 0, .rm_eo = (regoff_t)vl}};
            return regexec(lit->re, vs, 1, m, REG_STARTEND) == 0;
        }
        case EV_OP_PMATCH:
            return lit && s_pmatch(lit, v, evt);
        default:
            return false;
        }
    }
    if (t == EV_TYPE_IPADDR || t == EV_TYPE_IPNET) {
        bool eq = s_ip_eq(t, v, r, lit);
        return op == EV_OP_NE ? !eq : eq;
    }
    int c = ev_val_cmp(t, v, r);
    switch (op) {
    case EV_OP_EQ:
    case EV_OP_IN:
    case EV_OP_INTERSECTS:
        return c == 0;
    case EV_OP_NE: return c != 0;
    case EV_OP_LT: return c < 0;
    case EV_OP_LE: return c <= 0;
    case EV_OP_GT: return c > 0;
    case EV_OP_GE: return c >= 0;
    default: return false;
    }
}

/* Is v one of the check's literals (set semantics)? */
static bool s_in_set(const ev_check *c, ev_type t, const ev_val *v, ev_event *evt)
{
    if (c->lenmask)
        return ev_strset_has(c, v->s ? v->s : "", ev_cstrlen(v));
    if (c->sorted) {
        size_t lo = 0, hi = c->nlits;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int k = ev_val_cmp(t, v, &c->lits[mid].v);
            if (k == 0)
                return true;
            if (k < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        return false;
    }
    for (size_t i = 0; i < c->nlits; i++)
        if (ev_op_apply(EV_OP_EQ, t, v, &c->lits[i].v, &c->lits[i], evt))
            return true;
    return false;
}

static bool s_in_vals(ev_type t, const ev_val *v, const ev_val *r, int rn,
                      ev_event *evt)
{
    for (int i = 0; i < rn; i++)
        if (ev_op_apply(EV_OP_EQ, t, v, &r[i], NULL, evt))
            return true;
    return false;
}

bool ev_check_eval(const ev_check *c, ev_event *evt)
{
    const ev_val *v, *r;
    int n = c->lhs->kind == EV_VX_FIELD ? ev_slot_get(c->lhs->slot, evt, &v)
                                        : ev_vx_eval(c->lhs, evt, &v);
    if (n <= 0)
        return false;
    if (c->op == EV_OP_EXISTS)
        return true;
    if (c->rhs) {
        ev_type t = c->lhs->type;
        bool set_op = c->op == EV_OP_IN || c->op == EV_OP_INTERSECTS;
        int rn = ev_vx_eval(c->rhs, evt, &r);
        if (rn <= 0)
            return false;
        if (set_op && (c->lhs->list || c->rhs->list)) {
            for (int i = 0; i < n; i++) {
                bool in = s_in_vals(t, &v[i], r, rn, evt);
                if (c->op == EV_OP_IN && !in)
                    return false;
                if (c->op == EV_OP_INTERSECTS && in)
                    return true;
            }
            return c->op == EV_OP_IN;
        }
        return ev_op_apply(c->op, t, &v[0], &r[0], NULL, evt);
    }
    return ev_check_eval_vals(c, v, n, evt);
}

bool ev_check_eval_vals(const ev_check *c, const ev_val *v, int n, ev_event *evt)
{
    if (c->op == EV_OP_EXISTS)
        return n > 0;
    ev_type t = c->lhs->type;
    bool set_op = c->op == EV_OP_IN || c->op == EV_OP_INTERSECTS;
    if (c->mod != EV_MOD_NONE) {
        size_t hits = 0;
        for (size_t i = 0; i < c->nlits; i++)
            hits += ev_op_apply(c->op, t, &v[0], &c->lits[i].v, &c->lits[i], evt);
        switch (c->mod) {
        case EV_MOD_ONEOF: return hits == 1;
        case EV_MOD_ANYOF: return hits >= 1;
        default: return c->nlits > 0 && hits == c->nlits;
        }
    }
    if (set_op) {
        for (int i = 0; i < n; i++) {
            bool in = s_in_set(c, t, &v[i], evt);
            if (c->op == EV_OP_IN && !in)
                return false;
            if (c->op == EV_OP_INTERSECTS && in)
                return true;
        }
        return c->op == EV_OP_IN;
    }
    if (c->op == EV_OP_PMATCH) {
        for (size_t i = 0; i < c->nlits; i++)
            if (s_pmatch(&c->lits[i], &v[0], evt))
                return true;
        return false;
    }
    if (c->nlits == 0)
        return false;
    return ev_op_apply(c->op, t, &v[0], &c->lits[0].v, &c->lits[0], evt);
}

bool ev_check_prepare(ev_check *c)
{
    const ev_vx *l = c->lhs;
    bool field = l->kind == EV_VX_FIELD && !l->list;
    bool str = l->type == EV_TYPE_STRING;
    c->fast = EV_FAST_NONE;
    if (l->kind == EV_VX_FIELD && c->op == EV_OP_EXISTS) {
        c->fast = EV_FAST_EXISTS;
        return true;
    }
    if (c->rhs || c->mod != EV_MOD_NONE || !str)
        return true;
    if (c->sorted) {
        for (size_t i = 0; i < c->nlits; i++)
            c->lenmask |= 1ull << (c->lits[i].v.len & 63);
        if (!c->lenmask)
            c->lenmask = 1; /* empty set: never matches, still a string set */
        if (c->nlits > 8) {
            size_t cap = 16;
            while (cap < 2 * c->nlits)
                cap *= 2;
            c->hset = calloc(cap, sizeof(*c->hset));
            if (!c->hset)
                return false;
            c->hmask = cap - 1;
            for (size_t i = 0; i < c->nlits; i++) {
                const ev_val *lv = &c->lits[i].v;
                size_t k = (size_t)ev_hash_bytes(lv->s, lv->len) & c->hmask;
                while (c->hset[k])
                    k = (k + 1) & c->hmask;
                c->hset[k] = (uint32_t)(i + 1);
            }
        }
        if (field)
            c->fast = EV_FAST_STR_IN;
        return true;
    }
    if (!field || c->nlits != 1)
        return true;
    switch (c->op) {
    case EV_OP_EQ: c->fast = EV_FAST_STR_EQ; break;
    case EV_OP_NE: c->fast = EV_FAST_STR_NE; break;
    case EV_OP_STARTSWITH: c->fast = EV_FAST_STR_PREFIX; break;
    case EV_OP_ENDSWITH: c->fast = EV_FAST_STR_SUFFIX; break;
    case EV_OP_CONTAINS: c->fast = EV_FAST_STR_CONTAINS; break;
    default: break;
    }
    return true;
}
