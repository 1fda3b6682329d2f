/*
 * ev_index.c - dispatch of an event to the rules that can match it: the
 * ct.name index and its companions (spec 6.14).  Owner: rules loader.
 *
 * DESIGN
 * Every enabled rule gets a key from its condition (ld_ast_field_values):
 *   - the set of ct.name values it requires (most rules);
 *   - else the set of values it requires of the field of its first check,
 *     a plain string field (`ct.src = X and ...`, `ct.error in (...) and
 *     ...`): a "side key" (the first check's field, so that the lookup
 *     extracts nothing that running the rule would not have extracted);
 *   - else nothing: an unkeyed rule.
 * Per event, ct.name is read once through the engine's field table (the
 * rules then reuse the same cached value) and looked up in a hash table of
 * names.  A name's entry lists, in rule order, the rules keyed on that name
 * and the unkeyed rules whose condition is not already false for that name
 * (ev_filter_eval_given, which decides e.g. `ct.name startswith X`).  Names
 * that no rule lists get their entry on first sight, kept up to S_MAX_DYN
 * names (beyond, the unkeyed list is used unfiltered: same results, slower).
 * Each side-keyed field is looked up the same way; the lists are merged in
 * rule order, so callbacks and EV_MATCH_FIRST see rules exactly in the
 * order of evaluating every rule.
 *
 * Nothing is allocated per event, except the entry of a name seen for the
 * first time.
 */
#include <stdlib.h>
#include <string.h>

#include "ev_filter.h"
#include "ev_loader_int.h"

#define S_MAX_DYN 8192u  /* names remembered at run time, per source */
#define S_MAX_SIDE 8u    /* side-keyed fields, per source */

typedef struct s_list {
    uint32_t *v;        /* rule indexes, increasing */
    size_t n;
    bool owned;         /* else borrowed from the index (the unkeyed list) */
} s_list;

typedef struct s_ent {
    char *key;          /* NULL = free slot */
    size_t klen;
    uint64_t h;
    s_list l;
} s_ent;

typedef struct s_tab {
    s_ent *v;
    size_t cap, n;      /* cap: power of two or 0 */
} s_tab;

typedef struct s_side {
    ev_fieldref *ref;
    s_tab tab;
} s_side;

typedef struct s_srcidx {
    ev_fieldref *name;          /* ct.name; NULL = no index */
    s_tab names;
    size_t ndyn;
    s_list unkeyed;             /* unkeyed rules, unfiltered */
    s_list miss;                /* rules to run when ct.name is missing */
    s_side side[S_MAX_SIDE];
    size_t nside;
    s_list all;                 /* every enabled rule */
    const ev_filter **filt;     /* by rule index */
    ev_event scratch;           /* build-time scratch for ev_filter_eval_given */
} s_srcidx;

struct ev_ruleset {
    s_srcidx *src;
    size_t nsrc;
};

static uint64_t s_hash(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)(unsigned char)s[i] << (8 * i);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

static void s_list_push(s_list *l, size_t ri)
{
    /* grow at powers of two */
    if ((l->n & (l->n - 1)) == 0) {
        size_t cap = l->n ? l->n * 2 : 4;
        uint32_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            abort();
        l->v = v;
    }
    l->v[l->n++] = (uint32_t)ri;
    l->owned = true;
}

static void s_list_free(s_list *l)
{
    if (l->owned)
        free(l->v);
    memset(l, 0, sizeof(*l));
}

/* --- hash table of values -------------------------------------------------- */

static s_ent *s_tab_find(const s_tab *t, const char *k, size_t n, uint64_t h)
{
    if (!t->cap)
        return NULL;
    size_t m = t->cap - 1;
    for (size_t i = (size_t)h & m;; i = (i + 1) & m) {
        s_ent *b = &t->v[i];
        if (!b->key)
            return NULL;
        if (b->h == h && b->klen == n && memcmp(b->key, k, n) == 0)
            return b;
    }
}

/* Insert (key not present); takes ownership of l. */
static s_ent *s_tab_add(s_tab *t, const char *k, size_t n, uint64_t h, s_list l)
{
    if (2 * (t->n + 1) > t->cap) {
        s_tab g = {.cap = t->cap ? t->cap * 2 : 16};
        g.v = calloc(g.cap, sizeof(*g.v));
        if (!g.v)
            abort();
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->v[i].key)
                continue;
            size_t j = (size_t)t->v[i].h & (g.cap - 1);
            while (g.v[j].key)
                j = (j + 1) & (g.cap - 1);
            g.v[j] = t->v[i];
        }
        g.n = t->n;
        free(t->v);
        *t = g;
    }
    size_t m = t->cap - 1, i = (size_t)h & m;
    while (t->v[i].key)
        i = (i + 1) & m;
    s_ent *b = &t->v[i];
    b->key = malloc(n + 1);
    if (!b->key)
        abort();
    memcpy(b->key, k, n);
    b->key[n] = '\0';
    b->klen = n;
    b->h = h;
    b->l = l;
    t->n++;
    return b;
}

static void s_tab_free(s_tab *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        free(t->v[i].key);
        s_list_free(&t->v[i].l);
    }
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* --- building --------------------------------------------------------------- */

/* The field of the check evaluated first (the leftmost leaf) when it is a
 * plain string field other than ct.name, else NULL: the candidate side key.
 * Keying a rule on it never costs an extraction that running the rule on
 * every event would not have made anyway. */
static const char *s_first_field(const ev_ast *a, const ev_source *src)
{
    while (a->kind == EV_AST_AND || a->kind == EV_AST_OR || a->kind == EV_AST_NOT) {
        if (a->nkids == 0)
            return NULL;
        a = a->kids[0];
    }
    if (a->kind != EV_AST_BINARY)
        return NULL;
    const ev_ast *l = a->kids[0];
    if (l->kind != EV_AST_FIELD || l->has_arg || strcmp(l->str, "ct.name") == 0)
        return NULL;
    const ev_field_def *d = ev_source_find(src, l->str, strlen(l->str));
    if (!d || d->type != EV_TYPE_STRING || (d->flags & EV_FIELD_LIST))
        return NULL;
    return l->str;
}

/* The list of rules for ct.name value(s) v (n of them; 0 = missing):
 * rules keyed on it (in `keyed`, a sorted list or NULL) merged with the
 * unkeyed rules that the name does not already rule out. */
static s_list s_name_list(s_srcidx *x, const s_list *keyed, const ev_val *v, int n,
                          ev_event *evt)
{
    s_list l = {0};
    size_t i = 0, j = 0, nk = keyed ? keyed->n : 0, drop = 0;
    while (i < nk || j < x->unkeyed.n) {
        if (j >= x->unkeyed.n || (i < nk && keyed->v[i] < x->unkeyed.v[j])) {
            s_list_push(&l, keyed->v[i++]);
            continue;
        }
        uint32_t ri = x->unkeyed.v[j++];
        if (ev_filter_eval_given(x->filt[ri], x->name, v, n, evt) == EV_TRI_FALSE)
            drop++;
        else
            s_list_push(&l, ri);
    }
    if (nk == 0 && drop == 0) {
        /* same as the unkeyed list: share it */
        s_list_free(&l);
        l = x->unkeyed;
        l.owned = false;
    }
    return l;
}

static void s_build_src(ev_engine *e, size_t src, s_srcidx *x)
{
    const ev_source *so = e->sources[src];
    ev_event_init(&x->scratch);
    ev_event_reset(&x->scratch, NULL, 0, 0);
    x->filt = calloc(e->ncrules ? e->ncrules : 1, sizeof(*x->filt));
    if (!x->filt)
        abort();
    const ev_field_def *nd = e->opts.index ? ev_source_find(so, "ct.name", 7) : NULL;
    if (nd && nd->type == EV_TYPE_STRING && !(nd->flags & EV_FIELD_LIST))
        x->name = ev_fieldtab_ref(e->tabs[src], nd);
    /* name sets of the rules keyed on ct.name, by rule index */
    ld_strv *sets = calloc(e->ncrules ? e->ncrules : 1, sizeof(*sets));
    bool *keyed = calloc(e->ncrules ? e->ncrules : 1, sizeof(*keyed));
    ld_strv sidenames = {0};
    if (!sets || !keyed)
        abort();
    for (size_t i = 0; i < e->ncrules; i++) {
        const ev_rule *r = &e->crules[i];
        const ld_crule *c = r->impl;
        if (c->src != src || !r->enabled)
            continue;
        x->filt[i] = c->filter;
        s_list_push(&x->all, i);
        if (!x->name)
            continue;
        if (!ld_ast_field_values(c->ast, "ct.name", &sets[i])) {
            keyed[i] = true;
            continue;
        }
        /* side key: the field of the rule's first check, when the rule
         * requires a set of its values */
        const char *fk = s_first_field(c->ast, so);
        ld_strv vals = {0};
        if (fk && !ld_ast_field_values(c->ast, fk, &vals)) {
            size_t f = 0;
            while (f < sidenames.n && strcmp(sidenames.v[f], fk) != 0)
                f++;
            if (f == sidenames.n && x->nside < S_MAX_SIDE) {
                ev_fieldref *ref = ev_fieldtab_ref(e->tabs[src], ev_source_find(so, fk, strlen(fk)));
                if (!ref)
                    abort();
                ld_strv_push(&sidenames, fk);
                x->side[x->nside++].ref = ref;
            }
            if (f < x->nside) {
                s_tab *t = &x->side[f].tab;
                for (size_t v = 0; v < vals.n; v++) {
                    size_t n = strlen(vals.v[v]);
                    uint64_t h = s_hash(vals.v[v], n);
                    s_ent *b = s_tab_find(t, vals.v[v], n, h);
                    if (!b)
                        b = s_tab_add(t, vals.v[v], n, h, (s_list){0});
                    s_list_push(&b->l, i);
                }
                keyed[i] = true;
            }
        }
        ld_strv_free(&vals);
        if (!keyed[i])
            s_list_push(&x->unkeyed, i);
    }
    if (x->name) {
        /* rules keyed on each name, then the name's merged list */
        s_tab byname = {0};
        for (size_t i = 0; i < e->ncrules; i++) {
            for (size_t k = 0; k < sets[i].n; k++) {
                size_t n = strlen(sets[i].v[k]);
                uint64_t h = s_hash(sets[i].v[k], n);
                s_ent *b = s_tab_find(&byname, sets[i].v[k], n, h);
                if (!b)
                    b = s_tab_add(&byname, sets[i].v[k], n, h, (s_list){0});
                s_list_push(&b->l, i);
            }
        }
        for (size_t i = 0; i < byname.cap; i++) {
            s_ent *b = &byname.v[i];
            if (!b->key)
                continue;
            ev_val v = {.s = b->key, .len = b->klen};
            s_list l = s_name_list(x, &b->l, &v, 1, &x->scratch);
            s_tab_add(&x->names, b->key, b->klen, b->h, l);
        }
        s_tab_free(&byname);
        x->miss = s_name_list(x, NULL, NULL, 0, &x->scratch);
    }
    for (size_t i = 0; i < e->ncrules; i++)
        ld_strv_free(&sets[i]);
    free(sets);
    free(keyed);
    ld_strv_free(&sidenames);
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
        s_tab_free(&x->names);
        for (size_t k = 0; k < x->nside; k++)
            s_tab_free(&x->side[k].tab);
        s_list_free(&x->miss);
        s_list_free(&x->unkeyed);
        s_list_free(&x->all);
        free(x->filt);
        ev_event_fini(&x->scratch);
    }
    free(rs->src);
    free(rs);
}

/* --- matching --------------------------------------------------------------- */

/* Evaluate one rule; returns 1 when matching should stop. */
static inline int s_one(ev_engine *e, const s_srcidx *x, uint32_t ri, ev_event *evt,
                        ev_match_fn cb, void *ud, int *matched)
{
    if (!ev_filter_eval(x->filt[ri], evt))
        return 0;
    (*matched)++;
    if (cb && cb(&e->crules[ri], evt, ud) != 0)
        return 1;
    return e->opts.matching == EV_MATCH_FIRST;
}

static int s_run(ev_engine *e, const s_srcidx *x, const s_list *l, ev_event *evt,
                 ev_match_fn cb, void *ud)
{
    int matched = 0;
    for (size_t i = 0; i < l->n; i++)
        if (s_one(e, x, l->v[i], evt, cb, ud, &matched))
            break;
    return matched;
}

/* Evaluate the union of k sorted lists in rule order. */
static int s_run_merged(ev_engine *e, const s_srcidx *x, const s_list *const *ls,
                        size_t k, ev_event *evt, ev_match_fn cb, void *ud)
{
    size_t pos[S_MAX_SIDE + 1] = {0};
    int matched = 0;
    for (;;) {
        size_t best = k;
        uint32_t bv = 0;
        for (size_t j = 0; j < k; j++) {
            if (pos[j] < ls[j]->n && (best == k || ls[j]->v[pos[j]] < bv)) {
                best = j;
                bv = ls[j]->v[pos[j]];
            }
        }
        if (best == k)
            return matched;
        for (size_t j = 0; j < k; j++)  /* a rule is in at most one list; be safe */
            if (pos[j] < ls[j]->n && ls[j]->v[pos[j]] == bv)
                pos[j]++;
        if (s_one(e, x, bv, evt, cb, ud, &matched))
            return matched;
    }
}

/* The name list for evt's ct.name value(s). */
static const s_list *s_name_lookup(s_srcidx *x, ev_event *evt)
{
    const ev_val *v;
    int n = ev_fieldref_get(x->name, evt, &v);
    if (n <= 0)
        return &x->miss;
    if (n != 1)
        return &x->all;     /* not for a single-valued field; be safe */
    const char *s = v->s ? v->s : "";
    size_t len = v->s ? v->len : 0;
    uint64_t h = s_hash(s, len);
    s_ent *b = s_tab_find(&x->names, s, len, h);
    if (b)
        return &b->l;
    if (x->ndyn >= S_MAX_DYN)
        return &x->unkeyed;
    /* first sight of a name no rule lists */
    s_list l = s_name_list(x, NULL, v, 1, evt);
    x->ndyn++;
    return &s_tab_add(&x->names, s, len, h, l)->l;
}

int ev_engine_match_source(ev_engine *e, size_t src, ev_event *evt, ev_match_fn cb, void *ud)
{
    if (!e->rs || src >= e->rs->nsrc)
        return 0;
    s_srcidx *x = &e->rs->src[src];
    if (!x->name)
        return s_run(e, x, &x->all, evt, cb, ud);
    const s_list *ls[S_MAX_SIDE + 1];
    size_t k = 0;
    const s_list *nl = s_name_lookup(x, evt);
    if (nl->n)
        ls[k++] = nl;
    for (size_t i = 0; i < x->nside; i++) {
        const ev_val *v;
        int n = ev_fieldref_get(x->side[i].ref, evt, &v);
        if (n <= 0)
            continue;   /* missing: every check on it is false */
        if (n != 1)
            return s_run(e, x, &x->all, evt, cb, ud);   /* not single-valued */
        const char *s = v->s ? v->s : "";
        size_t len = v->s ? v->len : 0;
        s_ent *b = s_tab_find(&x->side[i].tab, s, len, s_hash(s, len));
        if (b)
            ls[k++] = &b->l;
    }
    if (k == 0)
        return 0;
    if (k == 1)
        return s_run(e, x, ls[0], evt, cb, ud);
    return s_run_merged(e, x, ls, k, evt, cb, ud);
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
    return s_run(e, x, &x->all, evt, cb, ud);
}
