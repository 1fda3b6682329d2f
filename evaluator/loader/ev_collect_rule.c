/*
 * ev_collect_rule.c - the collector's rule entries: full definitions,
 * legacy `append: true`, `override:` append/replace per key, standalone
 * `enabled` entries, and the decoding/merging of exceptions.
 * Spec: falco-rules-language.md 6.7, 6.12, 6.13 (validation).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev_collect_int.h"

static const char *const s_app_keys[] = {"condition", "output", "desc", "tags",
                                         "exceptions", NULL};
static const char *const s_rep_keys[] = {"condition", "output", "desc", "priority",
                                         "capture", "capture_duration", "tags",
                                         "exceptions", "enabled", "warn_evttypes",
                                         "skip-if-unknown-filter", NULL};

/* Exceptions --------------------------------------------------------------- */

void ld_exc_free(ld_exc *x)
{
    free(x->name);
    ld_strv_free(&x->fields);
    ld_strv_free(&x->comps);
    for (size_t i = 0; i < x->nvalues; i++) {
        free(x->values[i].s);
        ld_strv_free(&x->values[i].seq);
    }
    free(x->values);
    memset(x, 0, sizeof(*x));
}

static void s_vals_push(ld_exc *x, const ld_val *v)
{
    ld_val *nv = realloc(x->values, (x->nvalues + 1) * sizeof(*nv));
    if (!nv)
        abort();
    x->values = nv;
    nv[x->nvalues++] = *v;
}

/*
 * Items of a value tuple.  A tuple element that is itself a sequence is
 * stored pre-rendered as "(a, b)" behind a 0x01 marker byte (spec 6.13:
 * S(t) of a sequence), so that the compiler does not quote it again.
 */
static int s_tuple(ld_item *it, const ev_ynode *v, ld_strv *out)
{
    for (size_t i = 0; i < v->n; i++) {
        const ev_ynode *x = v->items[i];
        if (x->kind == EV_YSCALAR || x->kind == EV_YNULL) {
            ld_strv_push(out, x->str);
            continue;
        }
        if (x->kind != EV_YSEQ)
            return S_ERR(it, E_YAML, "Expected values array to contain a list of strings");
        ev_strbuf b;
        ev_strbuf_init(&b);
        ev_strbuf_puts(&b, "\x01(");
        for (size_t k = 0; k < x->n; k++) {
            const ev_ynode *y = x->items[k];
            if (y->kind != EV_YSCALAR && y->kind != EV_YNULL) {
                ev_strbuf_fini(&b);
                return S_ERR(it, E_YAML, "Expected values array to contain a list of strings");
            }
            bool q = strchr(y->str, ' ') && y->str[0] != '"' && y->str[0] != '\'';
            ev_strbuf_printf(&b, "%s%s%s%s", k ? ", " : "", q ? "\"" : "", y->str, q ? "\"" : "");
        }
        ev_strbuf_puts(&b, ")");
        ld_strv_push(out, b.p);
        ev_strbuf_fini(&b);
    }
    return 0;
}

/* Decode one exception mapping. `need_fields`: definitions and replaces. */
static int s_exc_decode(ld_item *rit, const ev_ynode *m, ld_exc *x, bool *has_values)
{
    ld_item it = *rit;
    it.type = "exception";
    it.name = "";
    it.mark.line = m->line;
    it.mark.col = m->col;
    memset(x, 0, sizeof(*x));
    *has_values = false;
    if (m->kind != EV_YMAP)
        return S_ERR(&it, E_YAML, "Rule exception must be a mapping");
    const char *name;
    if (ld_req_str(&it, m, "name", &name) < 0)
        return -1;
    it.name = name;
    x->name = ld_strdup(name);
    x->mark = it.mark;
    static const char *const known[] = {"name", "fields", "comps", "values", NULL};
    ld_warn_unknown_keys(&it, m, known);
    const ev_ynode *f = ev_ynode_get(m, "fields");
    if (f && f->kind != EV_YNULL) {
        x->has_fields = true;
        if (f->kind == EV_YSCALAR) {
            x->fields_scalar = true;
            ld_strv_push(&x->fields, f->str);
        } else if (ld_seq(&it, f, &x->fields) < 0) {
            return -1;
        }
    }
    const ev_ynode *c = ev_ynode_get(m, "comps");
    if (c && c->kind != EV_YNULL) {
        x->has_comps = true;
        if (c->kind == EV_YSCALAR) {
            x->comps_scalar = true;
            ld_strv_push(&x->comps, c->str);
        } else if (ld_seq(&it, c, &x->comps) < 0) {
            return -1;
        }
    }
    const ev_ynode *v = ev_ynode_get(m, "values");
    if (v && v->kind != EV_YNULL) {
        if (v->kind != EV_YSEQ)
            return S_ERR(&it, E_YAML, "Rule exception values must be a sequence");
        *has_values = true;
        for (size_t i = 0; i < v->n; i++) {
            const ev_ynode *vi = v->items[i];
            ld_val val = {0};
            if (vi->kind == EV_YSEQ) {
                val.is_seq = true;
                if (s_tuple(&it, vi, &val.seq) < 0) {
                    ld_strv_free(&val.seq);
                    return -1;
                }
            } else if (vi->kind == EV_YSCALAR || vi->kind == EV_YNULL) {
                val.s = ld_strdup(vi->str);
            } else {
                return S_ERR(&it, E_YAML, "Expected values array to contain a list of strings");
            }
            s_vals_push(x, &val);
        }
    }
    return 0;
}

/*
 * Decode the `exceptions` key of an entry.  mode 0: definition/replace
 * (fields required); mode 1: append onto rule r.
 */
static int s_excs(ld_item *it, const ev_ynode *entry, ld_rule *r, int mode,
                  ld_exc **out, size_t *nout)
{
    const ev_ynode *ex = ev_ynode_get(entry, "exceptions");
    *out = NULL;
    *nout = 0;
    if (!ex || ex->kind == EV_YNULL)
        return 0;
    if (ex->kind != EV_YSEQ)
        return S_ERR(it, E_YAML, "Rule exceptions must be a sequence");
    ld_exc *v = calloc(ex->n ? ex->n : 1, sizeof(*v));
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < ex->n && rc == 0; i++) {
        bool has_values;
        ld_exc x;
        rc = s_exc_decode(it, ex->items[i], &x, &has_values);
        if (rc < 0) {
            ld_exc_free(&x);
            break;
        }
        ld_item eit = *it;
        eit.type = "exception";
        eit.name = x.name;
        eit.mark = x.mark;
        for (size_t j = 0; j < n; j++)
            if (strcmp(v[j].name, x.name) == 0)
                S_WARN(&eit, "LOAD_EXCEPTION_NAME_NOT_UNIQUE",
                       "Multiple definitions of exception '%s' in the same rule", x.name);
        if (mode == 0) {
            if (!x.has_fields)
                rc = S_ERR(&eit, E_YAML, "Item has no mapping for key 'fields'");
            else if (!x.fields_scalar && x.fields.n == 0)
                rc = S_ERR(&eit, E_VAL, "Rule exception item must have fields property with a list of fields");
        } else {
            ld_exc *old = NULL;
            for (size_t j = 0; j < r->nexcs; j++)
                if (strcmp(r->excs[j].name, x.name) == 0)
                    old = &r->excs[j];
            if (old) {
                if (x.has_fields)
                    rc = S_ERR(&eit, E_VAL, "Can not append exception fields to existing exception, only values");
                else if (x.has_comps)
                    rc = S_ERR(&eit, E_VAL, "Can not append exception comps to existing exception, only values");
                else if (!has_values)
                    S_WARN(&eit, "LOAD_APPEND_NO_VALUES", "Overriding/appending exception with no values");
                /* values are merged by the caller once all decoded */
            } else {
                if (!x.has_fields)
                    rc = S_ERR(&eit, E_VAL, "Rule exception must have fields property with a list of fields");
                else if (!has_values)
                    rc = S_ERR(&eit, E_VAL, "Rule exception must have values property with a list of values");
            }
        }
        v[n++] = x;
    }
    if (rc < 0) {
        for (size_t j = 0; j < n; j++)
            ld_exc_free(&v[j]);
        free(v);
        return -1;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* Merge appended exceptions into r (values onto existing ones). Takes v. */
static void s_excs_merge(ld_rule *r, ld_exc *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ld_exc *old = NULL;
        for (size_t j = 0; j < r->nexcs; j++)
            if (strcmp(r->excs[j].name, v[i].name) == 0)
                old = &r->excs[j];
        if (old) {
            for (size_t k = 0; k < v[i].nvalues; k++)
                s_vals_push(old, &v[i].values[k]);
            free(v[i].values);
            v[i].values = NULL;
            v[i].nvalues = 0;
            ld_exc_free(&v[i]);
            continue;
        }
        ld_exc *ne = realloc(r->excs, (r->nexcs + 1) * sizeof(*ne));
        if (!ne)
            abort();
        r->excs = ne;
        ne[r->nexcs++] = v[i];
    }
    free(v);
}

static void s_excs_clear(ld_rule *r)
{
    for (size_t i = 0; i < r->nexcs; i++)
        ld_exc_free(&r->excs[i]);
    free(r->excs);
    r->excs = NULL;
    r->nexcs = 0;
}

/* Rules ---------------------------------------------------------------------- */

void ld_rule_fini(ld_rule *r)
{
    free(r->name);
    free(r->cond);
    free(r->output);
    free(r->desc);
    free(r->source);
    ld_strv_free(&r->tags);
    s_excs_clear(r);
}

static int s_cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and deduplicate a tag set. */
static void s_tags_norm(ld_strv *t)
{
    if (t->n < 2)
        return;
    qsort(t->v, t->n, sizeof(char *), s_cmpstr);
    size_t w = 1;
    for (size_t i = 1; i < t->n; i++) {
        if (strcmp(t->v[i], t->v[w - 1]) == 0)
            free(t->v[i]);
        else
            t->v[w++] = t->v[i];
    }
    t->n = w;
}

static ld_rule *s_find_rule(ev_engine *e, const char *name)
{
    for (size_t i = 0; i < e->nrules; i++)
        if (strcmp(e->rules[i].name, name) == 0)
            return &e->rules[i];
    return NULL;
}

static char *s_trim(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static void s_cat(char **dst, const char *add)
{
    if (!add || !*add)
        return;
    char *nc;
    if (asprintf(&nc, "%s %s", *dst ? *dst : "", add) < 0)
        abort();
    free(*dst);
    *dst = nc;
}

static int s_priority(ld_item *it, const ev_ynode *entry, ev_priority *out)
{
    const char *p;
    if (ld_req_str(it, entry, "priority", &p) < 0)
        return -1;
    if (ev_priority_parse(p, out) < 0)
        return S_ERR(it, E_YAML, "Invalid priority");
    return 0;
}

static int s_source_check(ld_item *it, const ld_rule *old, const char *src)
{
    if (src && *src && strcmp(src, old->source) != 0)
        return S_ERR(it, E_VAL, "Rule has been re-defined with a different source");
    return 0;
}

/* `override:` entry (spec 6.12). */
static int s_rule_override(ld_item *it, const ld_ovr *o)
{
    ev_engine *e = it->e;
    const ev_ynode *n = it->n;
    ld_rule *r = s_find_rule(e, it->name);
    if (!r) {
        if (o->any_append)
            return S_ERR(it, E_VAL, "Rule uses 'append' or 'override.<key>: append' but no "
                         "rule by that name already exists");
        return S_ERR(it, E_VAL, "An 'override.<key>: replace' to a rule was requested but "
                     "no rule by that name already exists");
    }
    const char *src = NULL;
    if (ld_opt_str(it, n, "source", &src) < 0 || s_source_check(it, r, src) < 0)
        return -1;
    /* decode everything first so that an error leaves the rule untouched */
    const char *cond = NULL, *out = NULL, *desc = NULL;
    ld_strv tags = {0};
    ld_exc *xs = NULL;
    size_t nxs = 0;
    ev_priority prio = r->priority;
    bool enabled = r->enabled, capture = r->capture, warn = r->warn_evttypes,
         skip = r->skip_unknown;
    uint64_t capdur = r->capture_duration;
    const char *op;
    if (ld_opt_str(it, n, "condition", &cond) < 0 || ld_opt_str(it, n, "output", &out) < 0 ||
        ld_opt_str(it, n, "desc", &desc) < 0 || ld_seq(it, ev_ynode_get(n, "tags"), &tags) < 0)
        goto fail;
    if ((op = ld_ovr_op(o, "priority")) && s_priority(it, n, &prio) < 0)
        goto fail;
    if (ld_opt_bool(it, n, "enabled", &enabled) < 0 || ld_opt_bool(it, n, "capture", &capture) < 0 ||
        ld_opt_bool(it, n, "warn_evttypes", &warn) < 0 ||
        ld_opt_bool(it, n, "skip-if-unknown-filter", &skip) < 0 ||
        ld_opt_u64(it, n, "capture_duration", &capdur) < 0)
        goto fail;
    op = ld_ovr_op(o, "exceptions");
    if (op && s_excs(it, n, r, strcmp(op, "append") == 0 ? 1 : 0, &xs, &nxs) < 0)
        goto fail;
    /* appends first */
    if ((op = ld_ovr_op(o, "condition")) && !strcmp(op, "append"))
        s_cat(&r->cond, cond);
    if ((op = ld_ovr_op(o, "output")) && !strcmp(op, "append"))
        s_cat(&r->output, out);
    if ((op = ld_ovr_op(o, "desc")) && !strcmp(op, "append"))
        s_cat(&r->desc, desc);
    if ((op = ld_ovr_op(o, "tags")) && !strcmp(op, "append")) {
        for (size_t i = 0; i < tags.n; i++)
            ld_strv_push(&r->tags, tags.v[i]);
        s_tags_norm(&r->tags);
    }
    if ((op = ld_ovr_op(o, "exceptions")) && !strcmp(op, "append")) {
        s_excs_merge(r, xs, nxs);
        xs = NULL;
    }
    /* then replaces */
    if ((op = ld_ovr_op(o, "condition")) && !strcmp(op, "replace")) {
        free(r->cond);
        r->cond = ld_strdup(cond ? cond : "");
    }
    if ((op = ld_ovr_op(o, "output")) && !strcmp(op, "replace")) {
        free(r->output);
        r->output = ld_strdup(out ? out : "");
    }
    if ((op = ld_ovr_op(o, "desc")) && !strcmp(op, "replace")) {
        free(r->desc);
        r->desc = ld_strdup(desc ? desc : "");
    }
    if ((op = ld_ovr_op(o, "tags")) && !strcmp(op, "replace")) {
        ld_strv_free(&r->tags);
        r->tags = tags;
        memset(&tags, 0, sizeof(tags));
        s_tags_norm(&r->tags);
    }
    if ((op = ld_ovr_op(o, "exceptions")) && !strcmp(op, "replace")) {
        s_excs_clear(r);
        r->excs = xs;
        r->nexcs = nxs;
        xs = NULL;
    }
    if (ld_ovr_op(o, "priority"))
        r->priority = prio;
    if (ld_ovr_op(o, "enabled"))
        r->enabled = enabled;
    if (ld_ovr_op(o, "capture"))
        r->capture = capture;
    if (ld_ovr_op(o, "capture_duration"))
        r->capture_duration = capdur;
    if (ld_ovr_op(o, "warn_evttypes"))
        r->warn_evttypes = warn;
    if (ld_ovr_op(o, "skip-if-unknown-filter"))
        r->skip_unknown = skip;
    ld_strv_free(&tags);
    return 0;
fail:
    ld_strv_free(&tags);
    return -1;
}

/* Legacy `append: true` (spec 6.7 step 2). */
static int s_rule_append(ld_item *it)
{
    const ev_ynode *n = it->n;
    ld_rule *r = s_find_rule(it->e, it->name);
    const ev_ynode *cn = ev_ynode_get(n, "condition");
    const ev_ynode *en = ev_ynode_get(n, "exceptions");
    if (!cn && !en)
        return S_ERR(it, E_VAL, "Appended rule must have exceptions or condition property");
    if (!r)
        return S_ERR(it, E_VAL, "Rule uses 'append' or 'override.<key>: append' but no rule "
                     "by that name already exists");
    const char *src = NULL, *cond = NULL;
    if (ld_opt_str(it, n, "source", &src) < 0 || s_source_check(it, r, src) < 0)
        return -1;
    if (ld_opt_str(it, n, "condition", &cond) < 0)
        return -1;
    ld_exc *xs;
    size_t nxs;
    if (s_excs(it, n, r, 1, &xs, &nxs) < 0)
        return -1;
    s_cat(&r->cond, cond);
    s_excs_merge(r, xs, nxs);
    return 0;
}

/* Full definition (spec 6.7 step 4). */
static int s_rule_define(ld_item *it)
{
    ev_engine *e = it->e;
    const ev_ynode *n = it->n;
    const char *cond, *out, *desc, *src = "syscall";
    ld_rule nr = {0};
    if (ld_req_str(it, n, "condition", &cond) < 0 || ld_req_str(it, n, "output", &out) < 0 ||
        ld_req_str(it, n, "desc", &desc) < 0 || s_priority(it, n, &nr.priority) < 0)
        return -1;
    if (ld_opt_str(it, n, "source", &src) < 0)
        return -1;
    ld_rule *old = s_find_rule(e, it->name);
    if (old && strcmp(old->source, src) != 0)
        return S_ERR(it, E_VAL, "Rule has been re-defined with a different source");
    nr.enabled = true;
    nr.warn_evttypes = true;
    if (ld_opt_bool(it, n, "enabled", &nr.enabled) < 0 ||
        ld_opt_bool(it, n, "capture", &nr.capture) < 0 ||
        ld_opt_bool(it, n, "warn_evttypes", &nr.warn_evttypes) < 0 ||
        ld_opt_bool(it, n, "skip-if-unknown-filter", &nr.skip_unknown) < 0 ||
        ld_opt_u64(it, n, "capture_duration", &nr.capture_duration) < 0 ||
        ld_seq(it, ev_ynode_get(n, "tags"), &nr.tags) < 0 ||
        s_excs(it, n, &nr, 0, &nr.excs, &nr.nexcs) < 0) {
        ld_rule_fini(&nr);
        return -1;
    }
    s_tags_norm(&nr.tags);
    nr.name = ld_strdup(it->name);
    nr.cond = ld_strdup(cond);
    nr.output = s_trim(out);
    nr.desc = ld_strdup(desc);
    nr.source = ld_strdup(src);
    nr.mark = it->mark;
    if (old) {
        ld_rule_fini(old);
        *old = nr;
        return 0;
    }
    if (e->nrules == e->caprules) {
        e->caprules = e->caprules ? e->caprules * 2 : 32;
        e->rules = realloc(e->rules, e->caprules * sizeof(*e->rules));
        if (!e->rules)
            abort();
    }
    e->rules[e->nrules++] = nr;
    return 0;
}

int ld_collect_rule(ld_item *it)
{
    const char *name;
    const ev_ynode *n = it->n;
    it->type = "rule";
    if (ld_req_str(it, n, "rule", &name) < 0)
        return -1;
    it->name = name;
    static const char *const known[] = {"rule", "condition", "output", "desc", "priority",
                                        "source", "enabled", "tags", "exceptions", "capture",
                                        "capture_duration", "warn_evttypes",
                                        "skip-if-unknown-filter", "append", "override", NULL};
    ld_warn_unknown_keys(it, n, known);
    bool append;
    if (ld_append_flag(it, n, &append) < 0)
        return -1;
    if (ev_ynode_get(n, "override")) {
        ld_ovr o;
        if (ld_ovr_check(it, n, &o, s_app_keys, s_rep_keys) < 0)
            return -1;
        return s_rule_override(it, &o);
    }
    if (append)
        return s_rule_append(it);
    if (!ev_ynode_get(n, "condition") && !ev_ynode_get(n, "output") &&
        !ev_ynode_get(n, "desc") && !ev_ynode_get(n, "priority")) {
        bool en = true;
        if (!ev_ynode_get(n, "enabled"))
            return S_ERR(it, E_YAML, "Item has no mapping for key 'enabled'");
        if (ld_opt_bool(it, n, "enabled", &en) < 0)
            return -1;
        ld_rule *r = s_find_rule(it->e, name);
        if (!r)
            return S_ERR(it, E_VAL, "Rule has 'enabled' key but no rule by that name already exists");
        S_WARN(it, "LOAD_DEPRECATED_ITEM", "The standalone 'enabled' key usage is deprecated. "
               "The correct approach requires also a 'replace' entry under the 'override' key "
               "(i.e. 'enabled: replace').");
        r->enabled = en;
        return 0;
    }
    return s_rule_define(it);
}
