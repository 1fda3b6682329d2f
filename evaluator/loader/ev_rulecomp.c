/*
 * ev_rulecomp.c - from collected definitions to compiled rules (spec 5.1,
 * 5.2, 6.13 compilation, 6.14).
 *
 * DESIGN
 * Runs after every load, over all definitions gathered so far:
 *   1. lists: nested list items expanded one level (raw items);
 *   2. macros: list-expanded text, parsed (depth 1000), then identifiers
 *      resolved recursively with visibility and loop detection;
 *   3. rules of a loaded source: exceptions turned into condition text,
 *      list expansion, parse, macro substitution, filter compile, output
 *      compile (+ append_output);
 *   4. unused macro/list warnings.
 * Conditions and outputs are compiled against one ev_fieldtab per source,
 * so a field used by many rules is extracted once per event.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev_filter.h"
#include "ev_loader_int.h"
#include "ev_output.h"

#define MAX_DEPTH 1000u

/* Lists (5.2) ---------------------------------------------------------------- */

static bool s_listsep(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')' ||
           c == ',' || c == '=';
}

static bool s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Items of list l with nested lists expanded one level, joined per 5.2. */
static void s_list_repl(ev_engine *e, const ld_list *l, ev_strbuf *out)
{
    bool first = true;
    for (size_t i = 0; i < l->items.n; i++) {
        const char *it = l->items.v[i];
        const ld_list *sub = NULL;
        for (size_t j = 0; j < e->nlists; j++)
            if (&e->lists[j] != l && strcmp(e->lists[j].name, it) == 0 &&
                e->lists[j].first_seq < l->last_seq)
                sub = &e->lists[j];
        size_t n = sub ? sub->items.n : 1;
        for (size_t k = 0; k < n; k++) {
            const char *x = sub ? sub->items.v[k] : it;
            if (!first)
                ev_strbuf_puts(out, ", ");
            first = false;
            bool q = strchr(x, ' ') && x[0] != '"' && x[0] != '\'';
            if (q)
                ev_strbuf_puts(out, "\"");
            ev_strbuf_puts(out, x);
            if (q)
                ev_strbuf_puts(out, "\"");
        }
    }
}

/*
 * One pass per list, in order of first definition; each pass copies the
 * text once (linear), splicing " items " over every delimited occurrence
 * together with its surrounding blanks (and one comma when empty).
 */
char *ld_expand_lists(ev_engine *e, const char *cond)
{
    char *cur = ld_strdup(cond);
    ev_strbuf repl, nb;
    ev_strbuf_init(&repl);
    ev_strbuf_init(&nb);
    for (size_t li = 0; li < e->nlists; li++) {
        ld_list *l = &e->lists[li];
        size_t nl = strlen(l->name), len = strlen(cur), pos = 0, copied = 0;
        bool built = false, any = false;
        ev_strbuf_reset(&nb);
        for (;;) {
            char *hit = strstr(cur + pos, l->name);
            if (!hit)
                break;
            size_t start = (size_t)(hit - cur), end = start + nl;
            if ((start > 0 && !s_listsep(cur[start - 1])) || (end < len && !s_listsep(cur[end]))) {
                pos = start + 1;
                continue;
            }
            l->used = true;
            any = true;
            if (!built) {
                ev_strbuf_reset(&repl);
                s_list_repl(e, l, &repl);
                built = true;
            }
            /* text before the match, minus adjacent blanks */
            ev_strbuf_put(&nb, cur + copied, start - copied);
            while (nb.len > 0 && s_blank(nb.p[nb.len - 1]))
                nb.len--;
            while (end < len && s_blank(cur[end]))
                end++;
            if (repl.len == 0) {
                if (nb.len > 0 && nb.p[nb.len - 1] == ',')
                    nb.len--;
                else if (end < len && cur[end] == ',')
                    end++;
            }
            if (nb.p)
                nb.p[nb.len] = '\0';
            ev_strbuf_puts(&nb, " ");
            ev_strbuf_put(&nb, repl.p ? repl.p : "", repl.len);
            ev_strbuf_puts(&nb, " ");
            copied = pos = end;
        }
        if (!any)
            continue;
        ev_strbuf_puts(&nb, cur + copied);
        free(cur);
        cur = ld_strdup(nb.p);
    }
    ev_strbuf_fini(&repl);
    ev_strbuf_fini(&nb);
    return cur;
}

/* Exceptions (6.13) ------------------------------------------------------------ */

static const char *const s_ops[] = {"=", "==", "!=", "<", "<=", ">", ">=", "glob", "iglob",
                                    "contains", "icontains", "bcontains", "startswith",
                                    "bstartswith", "endswith", "regex", "in", "intersects",
                                    "pmatch", NULL};
static const char *const s_strops[] = {"=", "==", "!=", "glob", "iglob", "contains",
                                       "icontains", "bcontains", "startswith", "bstartswith",
                                       "endswith", "regex", NULL};

static bool s_in(const char *const *set, const char *s, size_t n)
{
    for (size_t i = 0; set[i]; i++)
        if (strlen(set[i]) == n && strncmp(set[i], s, n) == 0)
            return true;
    return false;
}

/* "<strop> oneof|anyof|allof" */
static bool s_is_modifier_op(const char *c)
{
    const char *sp = strchr(c, ' ');
    if (!sp || !s_in(s_strops, c, (size_t)(sp - c)))
        return false;
    while (*sp == ' ')
        sp++;
    return !strcmp(sp, "oneof") || !strcmp(sp, "anyof") || !strcmp(sp, "allof");
}

static bool s_is_listop(const char *c)
{
    return !strcmp(c, "in") || !strcmp(c, "intersects") || !strcmp(c, "pmatch") ||
           s_is_modifier_op(c);
}

static void s_quote(ev_strbuf *b, const char *x)
{
    bool q = strchr(x, ' ') && x[0] != '"' && x[0] != '\'';
    if (q)
        ev_strbuf_puts(b, "\"");
    ev_strbuf_puts(b, x);
    if (q)
        ev_strbuf_puts(b, "\"");
}

static void s_value_text(ev_strbuf *b, const ld_val *v, const char *comp)
{
    if (!v->is_seq && v->s[0] == '\x01') {
        ev_strbuf_puts(b, v->s + 1);    /* pre-rendered sequence, see ev_collect_rule.c */
    } else if (v->is_seq) {
        ev_strbuf_puts(b, "(");
        for (size_t i = 0; i < v->seq.n; i++) {
            if (i)
                ev_strbuf_puts(b, ", ");
            s_quote(b, v->seq.v[i]);
        }
        ev_strbuf_puts(b, ")");
    } else if (s_is_listop(comp)) {
        bool p = v->s[0] == '(';
        if (!p)
            ev_strbuf_puts(b, "(");
        ev_strbuf_puts(b, v->s);
        if (!p)
            ev_strbuf_puts(b, ")");
    } else {
        s_quote(b, v->s);
    }
}

static char *s_trimdup(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

/*
 * Validate exception x and append its clause to b.  tab may be NULL (no
 * field validation).  Returns 0 or -1 with a message in err.
 */
static int s_exc_clause(const ld_exc *x, ev_fieldtab *tab, ev_strbuf *b, char *err, size_t errlen)
{
    char *comps[64];
    size_t nf = x->fields.n, nc = 0;
    int rc = 0;
    if (x->fields_scalar) {
        if (x->has_comps && !x->comps_scalar) {
            snprintf(err, errlen, "Fields and comps must both be strings");
            return -1;
        }
        comps[0] = s_trimdup(x->has_comps ? x->comps.v[0] : "in");
        nc = 1;
        if (!s_is_listop(comps[0])) {
            snprintf(err, errlen, "When fields is a single value, comps must be one of (in, "
                     "pmatch, intersects) or a modifier operator (e.g. startswith oneof)");
            rc = -1;
        }
    } else {
        if (x->has_comps && x->comps_scalar) {
            snprintf(err, errlen, "Fields and comps must both be lists");
            return -1;
        }
        if (x->has_comps && x->comps.n != nf) {
            snprintf(err, errlen, "Fields and comps lists must have equal length");
            return -1;
        }
        if (nf > 64) {
            snprintf(err, errlen, "Too many exception fields");
            return -1;
        }
        for (size_t i = 0; i < nf; i++)
            comps[nc++] = s_trimdup(x->has_comps ? x->comps.v[i] : "=");
        for (size_t i = 0; rc == 0 && i < nc; i++)
            if (!s_in(s_ops, comps[i], strlen(comps[i])) && !s_is_modifier_op(comps[i])) {
                snprintf(err, errlen, "'%s' is not a supported comparison operator", comps[i]);
                rc = -1;
            }
    }
    for (size_t i = 0; rc == 0 && tab && i < nf; i++) {
        char e2[256];
        if (ev_lhs_check(x->fields.v[i], tab, e2, sizeof(e2)) < 0) {
            snprintf(err, errlen, "'%s' is not a supported filter field", x->fields.v[i]);
            rc = -1;
        }
    }
    if (rc == 0 && x->nvalues > 0) {
        ev_strbuf_puts(b, " and not (");
        if (x->fields_scalar) {
            ev_strbuf_printf(b, "%s %s (", x->fields.v[0], comps[0]);
            for (size_t i = 0; rc == 0 && i < x->nvalues; i++) {
                if (x->values[i].is_seq) {
                    snprintf(err, errlen, "Expected values array to contain a list of strings");
                    rc = -1;
                    break;
                }
                if (i)
                    ev_strbuf_puts(b, ", ");
                s_quote(b, x->values[i].s);
            }
            ev_strbuf_puts(b, "))");
        } else {
            for (size_t i = 0; rc == 0 && i < x->nvalues; i++) {
                const ld_val *t = &x->values[i];
                if (!t->is_seq || t->seq.n != nf) {
                    snprintf(err, errlen, "Fields and values lists must have equal length");
                    rc = -1;
                    break;
                }
                if (i)
                    ev_strbuf_puts(b, " or ");
                ev_strbuf_puts(b, "(");
                for (size_t k = 0; k < nf; k++) {
                    ld_val tk = {.is_seq = false, .s = t->seq.v[k]};
                    if (k)
                        ev_strbuf_puts(b, " and ");
                    ev_strbuf_printf(b, " %s %s ", x->fields.v[k], comps[k]);
                    s_value_text(b, &tk, comps[k]);
                }
                ev_strbuf_puts(b, ")");
            }
            ev_strbuf_puts(b, ")");
        }
    }
    for (size_t i = 0; i < nc; i++)
        free(comps[i]);
    return rc;
}

char *ld_build_exceptions(const ld_rule *r)
{
    ev_strbuf b;
    char err[256];
    ev_strbuf_init(&b);
    ev_strbuf_printf(&b, r->nexcs ? "(%s)" : "%s", r->cond);
    for (size_t i = 0; i < r->nexcs; i++)
        if (s_exc_clause(&r->excs[i], NULL, &b, err, sizeof(err)) < 0) {
            ev_strbuf_fini(&b);
            return NULL;
        }
    char *s = ld_strdup(b.p);
    ev_strbuf_fini(&b);
    return s;
}

/* Macros (5.1) ------------------------------------------------------------------ */

typedef struct s_resolve {
    ev_engine *e;
    const char *file;
    const char *item_type, *item_name;
    const ld_mark *mark;
    size_t visible_before;      /* macros with first_seq < this are visible */
    int failed;
} s_resolve;

static int s_macro_compile(ev_engine *e, ld_macro *m, const char *file);

static int s_ident_cb(ev_ast **slot, void *ud)
{
    s_resolve *r = ud;
    ev_engine *e = r->e;
    const char *name = (*slot)->str;
    ld_macro *m = NULL;
    for (size_t i = 0; i < e->nmacros; i++)
        if (strcmp(e->macros[i].name, name) == 0 && e->macros[i].first_seq < r->visible_before)
            m = &e->macros[i];
    if (!m) {
        ld_diag(e, true, "LOAD_ERR_VALIDATE", r->item_type, r->item_name, r->mark,
                "Undefined macro '%s' used in filter.", name);
        return -1;
    }
    m->used = true;
    if (s_macro_compile(e, m, r->file) < 0)
        return -1;
    ev_ast *c = ev_ast_clone(m->ast);
    if (!c)
        abort();
    ev_ast_free(*slot);
    *slot = c;
    return 0;
}

static ev_ast *s_parse(ev_engine *e, const char *text, const char *type, const char *name,
                       const ld_mark *mark)
{
    char *exp = ld_expand_lists(e, text);
    ev_parse_error perr;
    memset(&perr, 0, sizeof(perr));
    ev_ast *ast = ev_parse(exp, strlen(exp), MAX_DEPTH, &perr);
    free(exp);
    if (!ast)
        ld_diag(e, true, "LOAD_ERR_COMPILE_CONDITION", type, name, mark, "%s", perr.msg);
    return ast;
}

static int s_macro_compile(ev_engine *e, ld_macro *m, const char *file)
{
    if (m->state == 2)
        return 0;
    if (m->state == 3)
        return -1;
    if (m->state == 1) {
        ld_diag(e, true, "LOAD_ERR_VALIDATE", "macro", m->name, &m->mark,
                "reference loop in macro '%s'", m->name);
        return -1;
    }
    m->state = 1;
    ev_ast *ast = s_parse(e, m->cond, "macro", m->name, &m->mark);
    s_resolve r = {e, file, "macro", m->name, &m->mark, m->last_seq, 0};
    if (!ast || ev_ast_walk_idents(&ast, s_ident_cb, &r) != 0) {
        ev_ast_free(ast);
        m->state = 3;
        return -1;
    }
    m->ast = ast;
    m->state = 2;
    return 0;
}

/* Rules ------------------------------------------------------------------------- */

static bool s_ast_has_field(const ev_ast *a, const char *name)
{
    if (a->kind == EV_AST_FIELD && a->str && strcmp(a->str, name) == 0)
        return true;
    for (size_t i = 0; i < a->nkids; i++)
        if (s_ast_has_field(a->kids[i], name))
            return true;
    return false;
}

/* `ka.*`/`jevt.*` field compared with the literal <NA> (spec 6.10). */
static bool s_unsafe_na(const ev_ast *a)
{
    if (a->kind == EV_AST_BINARY && a->kids[0]->kind == EV_AST_FIELD &&
        (!strncmp(a->kids[0]->str, "ka.", 3) || !strncmp(a->kids[0]->str, "jevt.", 5))) {
        static const char *const ops[] = {"=", "==", "!=", "in", "intersects", "pmatch"};
        bool op = false;
        for (size_t i = 0; i < 6; i++)
            op = op || !strcmp(a->str, ops[i]);
        const ev_ast *rt = a->kids[1];
        if (op && rt->kind == EV_AST_VALUE && !strcmp(rt->str, "<NA>"))
            return true;
        if (op && rt->kind == EV_AST_LIST)
            for (size_t i = 0; i < rt->nkids; i++)
                if (!strcmp(rt->kids[i]->str, "<NA>"))
                    return true;
    }
    for (size_t i = 0; i < a->nkids; i++)
        if (s_unsafe_na(a->kids[i]))
            return true;
    return false;
}

static bool s_tags_has_all(const ld_rule *r, const ev_append_output *a)
{
    for (size_t i = 0; i < a->nmatch_tags; i++) {
        bool found = false;
        for (size_t j = 0; j < r->tags.n; j++)
            if (strcmp(r->tags.v[j], a->match_tags[i]) == 0)
                found = true;
        if (!found)
            return false;
    }
    return true;
}

static bool s_append_matches(const ev_append_output *a, const ld_rule *r)
{
    return !(a->match_source && strcmp(a->match_source, r->source) != 0) &&
           !(a->match_rule && strcmp(a->match_rule, r->name) != 0) && s_tags_has_all(r, a);
}

/* Compile the matching append_output extra_fields of r into c. */
static int s_extras(ev_engine *e, const ld_rule *r, ev_fieldtab *tab, ld_crule *c,
                    char *err, size_t errlen)
{
    for (size_t i = 0; i < e->nappend; i++) {
        const ev_append_output *a = &e->append[i];
        if (!s_append_matches(a, r))
            continue;
        for (size_t k = 0; k < a->nextra_fields; k++) {
            char *txt;
            bool raw = a->extra_formats[k] == NULL;
            if (asprintf(&txt, raw ? "%%%s" : "%s", raw ? a->extra_keys[k] : a->extra_formats[k]) < 0)
                abort();
            int code;
            ev_format *f = ev_format_compile(txt, tab, &code, err, errlen);
            free(txt);
            if (!f)
                return -1;
            ld_extra *x = realloc(c->extras, (c->nextras + 1) * sizeof(*x));
            if (!x)
                abort();
            c->extras = x;
            x[c->nextras++] = (ld_extra){a->extra_keys[k], f, raw};
        }
    }
    return 0;
}

static char *s_full_output(ev_engine *e, const ld_rule *r)
{
    ev_strbuf b;
    ev_strbuf_init(&b);
    ev_strbuf_puts(&b, r->output);
    for (size_t i = 0; i < e->nappend; i++) {
        const ev_append_output *a = &e->append[i];
        if (!s_append_matches(a, r) || !a->extra_output || !*a->extra_output)
            continue;
        ev_strbuf_puts(&b, " ");
        ev_strbuf_puts(&b, a->extra_output);
    }
    char *s = ld_strdup(b.p ? b.p : "");
    ev_strbuf_fini(&b);
    return s;
}

static void s_crule_free(ev_rule *cr)
{
    ld_crule *c = cr->impl;
    if (!c)
        return;
    ev_ast_free(c->ast);
    ev_filter_free(c->filter);
    ev_format_free(c->format);
    free(c->output_full);
    for (size_t i = 0; i < c->nextras; i++)
        ev_format_free(c->extras[i].fmt);
    free(c->extras);
    free(c);
    cr->impl = NULL;
}

void ld_crules_free(ev_engine *e)
{
    for (size_t i = 0; i < e->ncrules; i++)
        s_crule_free(&e->crules[i]);
    free(e->crules);
    e->crules = NULL;
    e->ncrules = 0;
}

/* Compile one rule; 1 = compiled (cr filled), 0 = skipped, -1 = error. */
static int s_rule_compile(ev_engine *e, ld_rule *r, const char *file, ev_rule *cr)
{
    size_t src;
    for (src = 0; src < e->nsources; src++)
        if (strcmp(e->sources[src]->name, r->source) == 0)
            break;
    if (src == e->nsources) {
        ld_diag(e, false, "LOAD_UNKNOWN_SOURCE", "rule", r->name, &r->mark,
                "Unknown source %s, skipping", r->source);
        return 0;
    }
    ev_fieldtab *tab = e->tabs[src];
    char err[1024];
    ev_strbuf b;
    ev_strbuf_init(&b);
    /* the condition is parenthesised only when exceptions follow (6.13) */
    ev_strbuf_printf(&b, r->nexcs ? "(%s)" : "%s", r->cond);
    for (size_t i = 0; i < r->nexcs; i++) {
        if (s_exc_clause(&r->excs[i], tab, &b, err, sizeof(err)) < 0) {
            ld_diag(e, true, "LOAD_ERR_VALIDATE", "exception", r->excs[i].name, &r->excs[i].mark,
                    "%s", err);
            ev_strbuf_fini(&b);
            return -1;
        }
    }
    ev_ast *ast = s_parse(e, b.p, "rule", r->name, &r->mark);
    ev_strbuf_fini(&b);
    s_resolve rs = {e, file, "rule", r->name, &r->mark, (size_t)-1, 0};
    if (!ast || ev_ast_walk_idents(&ast, s_ident_cb, &rs) != 0) {
        ev_ast_free(ast);
        return -1;
    }
    ev_warnings w;
    ev_warnings_init(&w);
    int code = 0;
    ev_filter *f = ev_filter_compile(ast, tab, &w, &code, err, sizeof(err));
    for (size_t i = 0; i < w.n; i++)
        ld_diag(e, false, "LOAD_COMPILE_CONDITION", "rule", r->name, &r->mark, "%s", w.v[i]);
    ev_warnings_fini(&w);
    if (!f) {
        ev_ast_free(ast);
        if (code == EV_ERR_UNKNOWN_FIELD && r->skip_unknown) {
            ld_diag(e, false, "LOAD_UNKNOWN_FILTER", "rule", r->name, &r->mark, "%s", err);
            return 0;
        }
        ld_diag(e, true, code == EV_ERR_UNDEFINED_MACRO ? "LOAD_ERR_VALIDATE"
                                                          : "LOAD_ERR_COMPILE_CONDITION",
                "rule", r->name, &r->mark, "%s", err);
        return -1;
    }
    if (r->warn_evttypes && !strcmp(r->source, "syscall") && ld_ast_any_value(ast, "evt.type"))
        ld_diag(e, false, "LOAD_NO_EVTTYPE", "rule", r->name, &r->mark,
                "Rule matches too many evt.type values. This has a significant performance penalty.");
    if (s_unsafe_na(ast))
        ld_diag(e, false, "LOAD_UNSAFE_NA_CHECK", "rule", r->name, &r->mark, "%s", "");
    if (s_ast_has_field(ast, "evt.dir"))
        ld_diag(e, false, "LOAD_DEPRECATED_ITEM", "rule", r->name, &r->mark,
                "usage of deprecated field 'evt.dir' has been detected in the rule condition");
    char *out = s_full_output(e, r);
    char *ci;
    while ((ci = strstr(out, "%container.info"))) {
        memmove(ci, ci + 15, strlen(ci + 15) + 1);
        ld_diag(e, false, "LOAD_DEPRECATED_ITEM", "rule", r->name, &r->mark,
                "%%container.info is deprecated and has been removed from the rule output");
    }
    if (strstr(out, "%evt.dir"))
        ld_diag(e, false, "LOAD_DEPRECATED_ITEM", "rule", r->name, &r->mark,
                "usage of deprecated field 'evt.dir' has been detected in the rule output");
    ev_format *fmt = ev_format_compile(out, tab, &code, err, sizeof(err));
    if (!fmt) {
        ev_filter_free(f);
        ev_ast_free(ast);
        free(out);
        if (code == EV_ERR_UNKNOWN_FIELD && r->skip_unknown) {
            ld_diag(e, false, "LOAD_UNKNOWN_FILTER", "rule", r->name, &r->mark, "%s", err);
            return 0;
        }
        ld_diag(e, true, "LOAD_ERR_COMPILE_OUTPUT", "rule", r->name, &r->mark, "%s", err);
        return -1;
    }
    ld_crule *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->ast = ast;
    c->filter = f;
    c->format = fmt;
    c->output_full = out;
    c->src = src;
    if (s_extras(e, r, tab, c, err, sizeof(err)) < 0) {
        cr->impl = c;
        s_crule_free(cr);
        ld_diag(e, true, "LOAD_ERR_COMPILE_OUTPUT", "rule", r->name, &r->mark,
                "append_output extra field: %s", err);
        return -1;
    }
    c->loaded_enabled = r->enabled;
    c->prio_ok = r->priority <= e->opts.min_priority;
    memset(cr, 0, sizeof(*cr));
    cr->name = r->name;
    cr->desc = r->desc;
    cr->condition = r->cond;
    cr->output = r->output;
    cr->source = r->source;
    cr->priority = r->priority;
    cr->tags = (const char *const *)r->tags.v;
    cr->ntags = r->tags.n;
    cr->enabled = r->enabled && c->prio_ok;
    cr->capture = r->capture;
    cr->capture_duration = r->capture_duration;
    cr->impl = c;
    return 1;
}

int ld_compile(ev_engine *e, const char *file)
{
    int rc = 0;
    ld_crules_free(e);
    for (size_t i = 0; i < e->nmacros; i++) {
        ev_ast_free(e->macros[i].ast);
        e->macros[i].ast = NULL;
        e->macros[i].state = 0;
        e->macros[i].used = false;
    }
    for (size_t i = 0; i < e->nlists; i++)
        e->lists[i].used = false;
    /* a list used by another list counts as used */
    for (size_t i = 0; i < e->nlists; i++)
        for (size_t k = 0; k < e->lists[i].items.n; k++)
            for (size_t j = 0; j < e->nlists; j++)
                if (j != i && strcmp(e->lists[j].name, e->lists[i].items.v[k]) == 0 &&
                    e->lists[j].first_seq < e->lists[i].last_seq)
                    e->lists[j].used = true;
    for (size_t i = 0; rc == 0 && i < e->nmacros; i++)
        rc = s_macro_compile(e, &e->macros[i], file);
    e->crules = calloc(e->nrules ? e->nrules : 1, sizeof(ev_rule));
    if (!e->crules)
        abort();
    for (size_t i = 0; rc == 0 && i < e->nrules; i++) {
        ev_rule *cr = &e->crules[e->ncrules];
        int r = s_rule_compile(e, &e->rules[i], file, cr);
        if (r < 0)
            rc = -1;
        else if (r > 0)
            cr->index = e->ncrules++;
    }
    for (size_t i = 0; i < e->nmacros; i++)
        if (!e->macros[i].used)
            ld_diag(e, false, "LOAD_UNUSED_MACRO", "macro", e->macros[i].name, &e->macros[i].mark,
                    "Macro not referred to by any other rule/macro");
    for (size_t i = 0; i < e->nlists; i++)
        if (!e->lists[i].used)
            ld_diag(e, false, "LOAD_UNUSED_LIST", "list", e->lists[i].name, &e->lists[i].mark,
                    "List not referred to by any other rule/macro");
    if (rc < 0)
        ld_crules_free(e);
    return rc;
}
