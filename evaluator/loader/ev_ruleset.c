/*
 * ev_ruleset.c - which rules are enabled, and the event dispatch index
 * (spec 6.14, 6.15).
 *
 * DESIGN
 * Enabled = (enabled in the rules, or enabled by selection) and within the
 * minimum priority.  Selection entries are applied in order after loading.
 *
 * Index: each compiled rule's AST is analysed for the set of `ct.name`
 * values it requires: `ct.name = X`, `ct.name in (...)`/`intersects`/
 * `== anyof`, `evt.num = 0` (the empty set), an `and` needs one indexable operand (sets intersect), an
 * `or` needs all operands indexable (sets unite); anything else means "any
 * event".  For every such value a bucket holds the merged, ordered list of
 * the rules indexed under it plus the "any" rules, so an event needs one
 * hash lookup (O(1)) and no allocation: extract ct.name once through the
 * source, find the bucket (or use the "any" list) and evaluate that list
 * in rule order.
 */
#include <stdlib.h>
#include <string.h>

#include "ev_filter.h"
#include "ev_loader_int.h"

typedef struct s_bucket {
    char *key;          /* NULL = empty slot */
    size_t klen;
    size_t *rules;      /* rule indexes in order (indexed ∪ any) */
    size_t n;
} s_bucket;

typedef struct s_srcidx {
    const ev_field_def *ctname;     /* NULL: no index for this source */
    s_bucket *tab;
    size_t cap;                     /* power of two, or 0 */
    size_t *any, nany;              /* rules that always run */
    size_t *all, nall;              /* every enabled rule (unindexed) */
} s_srcidx;

struct ev_ruleset {
    s_srcidx *src;
    size_t nsrc;
};

/* string set as a small vector (compile-time only) */
typedef struct s_set {
    bool any;
    ld_strv v;
} s_set;

static uint64_t s_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bool s_set_has(const s_set *s, const char *x)
{
    for (size_t i = 0; i < s->v.n; i++)
        if (strcmp(s->v.v[i], x) == 0)
            return true;
    return false;
}

static bool s_is_field(const ev_ast *a, const char *field)
{
    return a->kind == EV_AST_FIELD && !a->has_arg && strcmp(a->str, field) == 0;
}

/* Requirements of a subtree. */
static s_set s_analyse(const ev_ast *a, const char *field)
{
    s_set r = {.any = true};
    switch (a->kind) {
    case EV_AST_BINARY: {
        const ev_ast *l = a->kids[0], *rt = a->kids[1];
        /* evt.num is 1-based: `evt.num = 0` never matches any event */
        if (s_is_field(l, "evt.num") && (!strcmp(a->str, "=") || !strcmp(a->str, "==")) &&
            rt->kind == EV_AST_VALUE && !strcmp(rt->str, "0")) {
            r.any = false;
            return r;
        }
        if (!s_is_field(l, field))
            return r;
        bool eq = !strcmp(a->str, "=") || !strcmp(a->str, "==");
        bool in = !strcmp(a->str, "in") || !strcmp(a->str, "intersects") ||
                  !strcmp(a->str, "== anyof") || !strcmp(a->str, "= anyof");
        if (eq && rt->kind == EV_AST_VALUE && strlen(rt->str) == rt->len) {
            r.any = false;
            ld_strv_push(&r.v, rt->str);
        } else if (in && rt->kind == EV_AST_LIST) {
            r.any = false;
            for (size_t i = 0; i < rt->nkids; i++)
                if (strlen(rt->kids[i]->str) == rt->kids[i]->len &&
                    !s_set_has(&r, rt->kids[i]->str))
                    ld_strv_push(&r.v, rt->kids[i]->str);
        }
        return r;
    }
    case EV_AST_AND:
        for (size_t i = 0; i < a->nkids; i++) {
            s_set k = s_analyse(a->kids[i], field);
            if (k.any)
                continue;
            if (r.any) {
                r = k;
                continue;
            }
            s_set x = {.any = false};
            for (size_t j = 0; j < r.v.n; j++)
                if (s_set_has(&k, r.v.v[j]))
                    ld_strv_push(&x.v, r.v.v[j]);
            ld_strv_free(&r.v);
            ld_strv_free(&k.v);
            r = x;
        }
        return r;
    case EV_AST_OR:
        r.any = false;
        for (size_t i = 0; i < a->nkids; i++) {
            s_set k = s_analyse(a->kids[i], field);
            if (k.any) {
                ld_strv_free(&r.v);
                r.any = true;
                return r;
            }
            for (size_t j = 0; j < k.v.n; j++)
                if (!s_set_has(&r, k.v.v[j]))
                    ld_strv_push(&r.v, k.v.v[j]);
            ld_strv_free(&k.v);
        }
        return r;
    default:
        return r;
    }
}

bool ld_ast_any_value(const ev_ast *ast, const char *field)
{
    s_set s = s_analyse(ast, field);
    ld_strv_free(&s.v);
    return s.any;
}

static s_bucket *s_find(const s_srcidx *x, const char *k, size_t n)
{
    if (!x->cap)
        return NULL;
    size_t m = x->cap - 1;
    for (size_t i = (size_t)s_hash(k, n) & m;; i = (i + 1) & m) {
        s_bucket *b = &x->tab[i];
        if (!b->key)
            return NULL;
        if (b->klen == n && memcmp(b->key, k, n) == 0)
            return b;
    }
}

static void s_push(size_t **v, size_t *n, size_t x)
{
    size_t *p = realloc(*v, (*n + 1) * sizeof(size_t));
    if (!p)
        abort();
    p[(*n)++] = x;
    *v = p;
}

static void s_build_src(ev_engine *e, size_t src, s_srcidx *x)
{
    x->ctname = e->opts.index ? ev_source_find(e->sources[src], "ct.name", 7) : NULL;
    /* pass 1: sets and distinct keys */
    s_set *sets = calloc(e->ncrules ? e->ncrules : 1, sizeof(*sets));
    ld_strv keys = {0};
    for (size_t i = 0; i < e->ncrules; i++) {
        const ev_rule *r = &e->crules[i];
        const ld_crule *c = r->impl;
        sets[i].any = true;
        if (c->src != src || !r->enabled)
            continue;
        s_push(&x->all, &x->nall, i);
        if (x->ctname)
            sets[i] = s_analyse(c->ast, "ct.name");
        if (sets[i].any) {
            s_push(&x->any, &x->nany, i);
            continue;
        }
        for (size_t k = 0; k < sets[i].v.n; k++) {
            bool seen = false;
            for (size_t j = 0; j < keys.n && !seen; j++)
                seen = strcmp(keys.v[j], sets[i].v.v[k]) == 0;
            if (!seen)
                ld_strv_push(&keys, sets[i].v.v[k]);
        }
    }
    if (keys.n) {
        x->cap = 16;
        while (x->cap < keys.n * 2)
            x->cap *= 2;
        x->tab = calloc(x->cap, sizeof(s_bucket));
        for (size_t k = 0; k < keys.n; k++) {
            size_t n = strlen(keys.v[k]), m = x->cap - 1, i = (size_t)s_hash(keys.v[k], n) & m;
            while (x->tab[i].key)
                i = (i + 1) & m;
            s_bucket *b = &x->tab[i];
            b->key = ld_strdup(keys.v[k]);
            b->klen = n;
            for (size_t r = 0; r < x->nall; r++) {
                size_t ri = x->all[r];
                if (sets[ri].any || s_set_has(&sets[ri], keys.v[k]))
                    s_push(&b->rules, &b->n, ri);
            }
        }
    }
    for (size_t i = 0; i < e->ncrules; i++)
        ld_strv_free(&sets[i].v);
    free(sets);
    ld_strv_free(&keys);
}

static bool s_selected(const ev_selection *s, const ev_rule *r)
{
    if (s->by_tag) {
        for (size_t i = 0; i < r->ntags; i++)
            if (strcmp(r->tags[i], s->pattern) == 0)
                return true;
        return false;
    }
    return ev_wildcard_match(s->pattern, r->name);
}

void ld_apply_selection(ev_engine *e)
{
    for (size_t i = 0; i < e->ncrules; i++) {
        ev_rule *r = &e->crules[i];
        const ld_crule *c = r->impl;
        r->enabled = c->loaded_enabled && c->prio_ok;
        for (size_t s = 0; s < e->nselection; s++)
            if (s_selected(&e->selection[s], r))
                r->enabled = e->selection[s].enable && c->prio_ok;
    }
}

struct ev_ruleset *ld_ruleset_build(ev_engine *e)
{
    ld_apply_selection(e);
    struct ev_ruleset *rs = calloc(1, sizeof(*rs));
    if (!rs)
        abort();
    rs->nsrc = e->nsources;
    rs->src = calloc(e->nsources ? e->nsources : 1, sizeof(s_srcidx));
    if (!rs->src)
        abort();
    for (size_t s = 0; s < e->nsources; s++)
        s_build_src(e, s, &rs->src[s]);
    return rs;
}

void ld_ruleset_free(struct ev_ruleset *rs)
{
    if (!rs)
        return;
    for (size_t s = 0; s < rs->nsrc; s++) {
        s_srcidx *x = &rs->src[s];
        for (size_t i = 0; i < x->cap; i++) {
            free(x->tab[i].key);
            free(x->tab[i].rules);
        }
        free(x->tab);
        free(x->any);
        free(x->all);
    }
    free(rs->src);
    free(rs);
}

void ev_engine_select(ev_engine *e, const ev_selection *sel)
{
    ev_selection *ns = realloc(e->selection, (e->nselection + 1) * sizeof(*ns));
    if (!ns)
        abort();
    e->selection = ns;
    ld_strv_push(&e->strs, sel->pattern ? sel->pattern : "");
    ns[e->nselection] = *sel;
    ns[e->nselection].pattern = e->strs.v[e->strs.n - 1];
    e->nselection++;
    ld_ruleset_free(e->rs);
    e->rs = ld_ruleset_build(e);
}

size_t ev_engine_nenabled(const ev_engine *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->ncrules; i++)
        n += e->crules[i].enabled;
    return n;
}

bool ev_wildcard_match(const char *p, const char *s)
{
    const char *star = strchr(p, '*');
    if (!star)
        return strcmp(p, s) == 0;
    size_t first = (size_t)(star - p);
    if (strncmp(p, s, first) != 0)
        return false;
    const char *pos = s + first;
    p = star;
    bool trailing = true;
    while (*p) {
        while (*p == '*')
            p++;
        if (!*p) {
            trailing = true;
            break;
        }
        const char *next = strchr(p, '*');
        size_t n = next ? (size_t)(next - p) : strlen(p);
        char seg[1024];
        if (n >= sizeof(seg))
            return false;
        memcpy(seg, p, n);
        seg[n] = '\0';
        const char *hit = strstr(pos, seg);
        if (!hit)
            return false;
        pos = hit + n;
        p += n;
        trailing = next != NULL;
    }
    return trailing || *pos == '\0';
}

/* matching --------------------------------------------------------------- */

static int s_run(ev_engine *e, const size_t *rules, size_t n, ev_event *evt,
                 ev_match_fn cb, void *ud)
{
    int matched = 0;
    for (size_t i = 0; i < n; i++) {
        const ev_rule *r = &e->crules[rules[i]];
        const ld_crule *c = r->impl;
        if (!ev_filter_eval(c->filter, evt))
            continue;
        matched++;
        if (cb && cb(r, evt, ud) != 0)
            break;
        if (e->opts.matching == EV_MATCH_FIRST)
            break;
    }
    return matched;
}

int ev_engine_match_source(ev_engine *e, size_t src, ev_event *evt, ev_match_fn cb, void *ud)
{
    if (!e->rs || src >= e->rs->nsrc)
        return 0;
    s_srcidx *x = &e->rs->src[src];
    if (!x->ctname || !x->cap)
        return s_run(e, x->all, x->nall, evt, cb, ud);
    const ev_source *s = e->sources[src];
    ev_vals out;
    ev_field_arg arg = {0};
    out.vals = out.inline_vals;
    out.n = 0;
    int n = s->extract(s->ud, evt, x->ctname, &arg, &out);
    if (n == 1) {
        const ev_val *v = &out.vals[0];
        size_t len = strnlen(v->s, v->len);
        s_bucket *b = s_find(x, v->s, len);
        if (b)
            return s_run(e, b->rules, b->n, evt, cb, ud);
    }
    return s_run(e, x->any, x->nany, evt, cb, ud);
}

int ev_engine_match(ev_engine *e, ev_event *evt, ev_match_fn cb, void *ud)
{
    return ev_engine_match_source(e, 0, evt, cb, ud);
}

int ev_engine_match_unindexed(ev_engine *e, size_t src, ev_event *evt, ev_match_fn cb, void *ud)
{
    if (!e->rs || src >= e->rs->nsrc)
        return 0;
    s_srcidx *x = &e->rs->src[src];
    return s_run(e, x->all, x->nall, evt, cb, ud);
}
