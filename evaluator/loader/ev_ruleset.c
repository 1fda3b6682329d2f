/*
 * ev_ruleset.c - which rules are enabled, and the condition analysis behind
 * the event dispatch index (spec 6.14, 6.15).
 *
 * DESIGN
 * Enabled = (enabled in the rules, or enabled by selection) and within the
 * minimum priority.  Selection entries are applied in order after loading.
 *
 * Analysis: a rule's AST is examined for the set of values of a field
 * (normally `ct.name`) that it requires: `F = X`, `F in (...)`/`intersects`/
 * `== anyof`, `evt.num = 0` (the empty set), an `and` needs one
 * restricting operand (sets intersect), an `or` needs all operands
 * restricting (sets unite); anything else means "any value".  The index
 * built from it lives in ev_index.c.
 */
#include <stdlib.h>
#include <string.h>

#include "ev_filter.h"
#include "ev_loader_int.h"

/* string set as a small vector (compile-time only) */
typedef struct s_set {
    bool any;
    ld_strv v;
} s_set;

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

bool ld_ast_field_values(const ev_ast *ast, const char *field, ld_strv *out)
{
    s_set s = s_analyse(ast, field);
    if (s.any) {
        ld_strv_free(&s.v);
        return true;
    }
    *out = s.v;
    return false;
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
