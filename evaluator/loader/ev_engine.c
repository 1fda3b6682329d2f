/*
 * ev_engine.c - engine lifecycle, options, loads, diagnostics, rule
 * listing and the ruleset hash; see ev_engine.h.
 *
 * DESIGN
 * A load = collect (ev_collect*.c) + compile everything (ev_rulecomp.c) +
 * rebuild the ruleset (ev_ruleset.c).  Diagnostics are kept in one array;
 * a warning identical to one already reported (same code, item, place and
 * message) is not repeated, since every load recompiles all rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ev_filter.h"
#include "ev_loader_int.h"

/* small helpers --------------------------------------------------------------- */

char *ld_strdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

void ld_strv_push(ld_strv *v, const char *s)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->v = realloc(v->v, v->cap * sizeof(char *));
        if (!v->v)
            abort();
    }
    v->v[v->n++] = ld_strdup(s);
}

void ld_strv_free(ld_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    memset(v, 0, sizeof(*v));
}

void ld_strv_copy(ld_strv *dst, const ld_strv *src)
{
    for (size_t i = 0; i < src->n; i++)
        ld_strv_push(dst, src->v[i]);
}

static const char *s_keep(ev_engine *e, const char *s)
{
    if (!s)
        return NULL;
    ld_strv_push(&e->strs, s);
    return e->strs.v[e->strs.n - 1];
}

/* priorities --------------------------------------------------------------------- */

static const char *const s_prio_names[] = {"Emergency", "Alert", "Critical", "Error",
                                           "Warning", "Notice", "Informational", "Debug"};

const char *ev_priority_name(ev_priority p)
{
    if ((unsigned)p > EV_PRIO_DEBUG)
        return "Unknown";
    return s_prio_names[p];
}

int ev_priority_parse(const char *s, ev_priority *out)
{
    for (int i = 0; i <= EV_PRIO_DEBUG; i++)
        if (strcasecmp(s, s_prio_names[i]) == 0) {
            *out = (ev_priority)i;
            return 0;
        }
    if (strcasecmp(s, "info") == 0) {
        *out = EV_PRIO_INFORMATIONAL;
        return 0;
    }
    return -1;
}

/* diagnostics -------------------------------------------------------------------- */

static bool s_streq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

void ld_diag(ev_engine *e, bool error, const char *code, const char *item_type,
             const char *item_name, const ld_mark *m, const char *fmt, ...)
{
    char *msg;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (!error) {
        for (size_t i = 0; i < e->ndiags; i++) {
            const ev_diag *d = &e->diags[i];
            if (!d->error && s_streq(d->code, code) && s_streq(d->item_type, item_type) &&
                s_streq(d->item_name, item_name) && s_streq(d->message, msg) &&
                d->line == (m ? m->line : 0) && s_streq(d->file, m ? m->file : "")) {
                free(msg);
                return;
            }
        }
    }
    if (e->ndiags == e->capdiags) {
        e->capdiags = e->capdiags ? e->capdiags * 2 : 16;
        e->diags = realloc(e->diags, e->capdiags * sizeof(*e->diags));
        if (!e->diags)
            abort();
    }
    ev_diag *d = &e->diags[e->ndiags++];
    d->error = error;
    d->code = code;
    d->item_type = item_type ? item_type : "";
    d->item_name = ld_strdup(item_name);
    d->file = m && m->file ? m->file : "";
    d->line = m ? m->line : 0;
    d->col = m ? m->col : 0;
    d->message = msg;
    if (error) {
        e->nerrors++;
        e->load_failed = true;
    }
}

size_t ev_engine_ndiags(const ev_engine *e)
{
    return e->ndiags;
}

const ev_diag *ev_engine_diag(const ev_engine *e, size_t i)
{
    return i < e->ndiags ? &e->diags[i] : NULL;
}

size_t ev_engine_nerrors(const ev_engine *e)
{
    return e->nerrors;
}

void ev_diag_format(const ev_diag *d, ev_strbuf *out)
{
    ev_strbuf_printf(out, "%s:%d:%d: %s %s", d->file, d->line, d->col,
                     d->error ? "error" : "warning", d->code);
    if (d->item_type && *d->item_type) {
        ev_strbuf_printf(out, " (%s", d->item_type);
        if (d->item_name && *d->item_name)
            ev_strbuf_printf(out, " '%s'", d->item_name);
        ev_strbuf_puts(out, ")");
    }
    ev_strbuf_printf(out, ": %s", d->message);
}

static void s_update_hash(ev_engine *e);

/* options and lifecycle ---------------------------------------------------------- */

void ev_engine_opts_init(ev_engine_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->min_priority = EV_PRIO_DEBUG;
    o->matching = EV_MATCH_ALL;
    o->json_include_output = true;
    o->json_include_output_fields = true;
    o->json_include_tags = true;
    o->index = true;
}

static const ev_plugin_version s_default_plugins[] = {
    {"cloudtrail", "0.17.1"},
    {"json", "0.7.4"},
};

ev_engine *ev_engine_new(const ev_source *const *sources, size_t nsources,
                         const ev_engine_opts *opts)
{
    ev_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    ev_engine_opts def;
    if (!opts) {
        ev_engine_opts_init(&def);
        opts = &def;
    }
    e->opts = *opts;
    e->nsources = nsources;
    e->sources = calloc(nsources ? nsources : 1, sizeof(*e->sources));
    e->tabs = calloc(nsources ? nsources : 1, sizeof(*e->tabs));
    if (!e->sources || !e->tabs)
        abort();
    for (size_t i = 0; i < nsources; i++) {
        e->sources[i] = sources[i];
        e->tabs[i] = ev_fieldtab_new(sources[i]);
        if (!e->tabs[i])
            abort();
    }
    const ev_plugin_version *pl = opts->plugins ? opts->plugins : s_default_plugins;
    e->nplugins = opts->plugins ? opts->nplugins : 2;
    e->plugins = calloc(e->nplugins ? e->nplugins : 1, sizeof(*e->plugins));
    for (size_t i = 0; i < e->nplugins; i++) {
        e->plugins[i].name = s_keep(e, pl[i].name);
        e->plugins[i].version = s_keep(e, pl[i].version);
    }
    e->nselection = opts->nselection;
    e->selection = calloc(e->nselection ? e->nselection : 1, sizeof(*e->selection));
    for (size_t i = 0; i < e->nselection; i++) {
        e->selection[i] = opts->selection[i];
        e->selection[i].pattern = s_keep(e, opts->selection[i].pattern);
    }
    e->nappend = opts->nappend_output;
    e->append = calloc(e->nappend ? e->nappend : 1, sizeof(*e->append));
    for (size_t i = 0; i < e->nappend; i++) {
        const ev_append_output *a = &opts->append_output[i];
        ev_append_output *d = &e->append[i];
        d->match_source = s_keep(e, a->match_source);
        d->match_rule = s_keep(e, a->match_rule);
        d->extra_output = s_keep(e, a->extra_output);
        d->nmatch_tags = a->nmatch_tags;
        d->nextra_fields = a->nextra_fields;
        const char **ek = calloc(a->nextra_fields ? a->nextra_fields : 1, sizeof(char *));
        const char **ef = calloc(a->nextra_fields ? a->nextra_fields : 1, sizeof(char *));
        if (!ek || !ef)
            abort();
        for (size_t k = 0; k < a->nextra_fields; k++) {
            ek[k] = s_keep(e, a->extra_keys[k]);
            ef[k] = a->extra_formats ? s_keep(e, a->extra_formats[k]) : NULL;
        }
        d->extra_keys = ek;
        d->extra_formats = ef;
        const char **t = calloc(a->nmatch_tags ? a->nmatch_tags : 1, sizeof(char *));
        for (size_t k = 0; k < a->nmatch_tags; k++)
            t[k] = s_keep(e, a->match_tags[k]);
        d->match_tags = t;
    }
    if (opts->hostname) {
        e->hostname = ld_strdup(opts->hostname);
    } else if (getenv("FALCO_HOSTNAME")) {
        e->hostname = ld_strdup(getenv("FALCO_HOSTNAME"));
    } else {
        char h[256] = "";
        if (gethostname(h, sizeof(h) - 1) < 0)
            strcpy(h, "localhost");
        e->hostname = ld_strdup(h);
    }
    e->opts.plugins = NULL;
    e->opts.selection = NULL;
    e->opts.append_output = NULL;
    e->opts.hostname = e->hostname;
    e->hash_ctx = EVP_MD_CTX_new();
    if (!e->hash_ctx || !EVP_DigestInit_ex(e->hash_ctx, EVP_sha256(), NULL))
        abort();
    ev_strbuf_init(&e->scratch);
    ev_strbuf_init(&e->scratch2);
    e->rs = ld_ruleset_build(e);
    s_update_hash(e);
    return e;
}

void ev_engine_free(ev_engine *e)
{
    if (!e)
        return;
    ld_ruleset_free(e->rs);
    ld_crules_free(e);
    ld_defs_free(e);
    for (size_t i = 0; i < e->nsources; i++)
        ev_fieldtab_free(e->tabs[i]);
    free(e->tabs);
    free(e->sources);
    for (size_t i = 0; i < e->ndiags; i++) {
        free((char *)e->diags[i].item_name);
        free((char *)e->diags[i].message);
    }
    free(e->diags);
    for (size_t i = 0; i < e->nappend; i++) {
        free((void *)e->append[i].match_tags);
        free((void *)e->append[i].extra_keys);
        free((void *)e->append[i].extra_formats);
    }
    free(e->append);
    free(e->selection);
    free(e->plugins);
    free(e->hostname);
    ld_strv_free(&e->strs);
    ld_strv_free(&e->files);
    EVP_MD_CTX_free(e->hash_ctx);
    ev_strbuf_fini(&e->scratch);
    ev_strbuf_fini(&e->scratch2);
    free(e);
}

/* loads -------------------------------------------------------------------------- */

static void s_update_hash(ev_engine *e)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned mdlen = 0;
    char opt[128];
    if (!c || !EVP_MD_CTX_copy_ex(c, e->hash_ctx))
        abort();
    int n = snprintf(opt, sizeof(opt), "opts:%d:%d", (int)e->opts.min_priority,
                     (int)e->opts.matching);
    EVP_DigestUpdate(c, opt, (size_t)n);
    for (size_t i = 0; i < e->nselection; i++) {
        n = snprintf(opt, sizeof(opt), "sel:%d:%d:", e->selection[i].enable, e->selection[i].by_tag);
        EVP_DigestUpdate(c, opt, (size_t)n);
        EVP_DigestUpdate(c, e->selection[i].pattern, strlen(e->selection[i].pattern) + 1);
    }
    for (size_t i = 0; i < e->nappend; i++) {
        const ev_append_output *a = &e->append[i];
        const char *parts[] = {a->match_source, a->match_rule, a->extra_output};
        for (size_t k = 0; k < 3; k++)
            EVP_DigestUpdate(c, parts[k] ? parts[k] : "", parts[k] ? strlen(parts[k]) + 1 : 1);
        for (size_t k = 0; k < a->nmatch_tags; k++)
            EVP_DigestUpdate(c, a->match_tags[k], strlen(a->match_tags[k]) + 1);
        for (size_t k = 0; k < a->nextra_fields; k++) {
            EVP_DigestUpdate(c, a->extra_keys[k], strlen(a->extra_keys[k]) + 1);
            if (a->extra_formats[k])
                EVP_DigestUpdate(c, a->extra_formats[k], strlen(a->extra_formats[k]) + 1);
        }
    }
    EVP_DigestFinal_ex(c, md, &mdlen);
    EVP_MD_CTX_free(c);
    for (unsigned i = 0; i < 32; i++)
        sprintf(e->hash_hex + 2 * i, "%02x", md[i]);
}

int ev_engine_load_string(ev_engine *e, const char *name, const char *content, size_t len)
{
    ld_strv_push(&e->files, name ? name : "<string>");
    const char *file = e->files.v[e->files.n - 1];
    char hdr[64];
    int n = snprintf(hdr, sizeof(hdr), "content:%zu:", len);
    EVP_DigestUpdate(e->hash_ctx, hdr, (size_t)n);
    EVP_DigestUpdate(e->hash_ctx, content, len);
    e->load_failed = false;
    int rc = ld_collect(e, file, content, len);
    if (rc == 0)
        rc = ld_compile(e, file);
    else
        ld_crules_free(e);
    ld_ruleset_free(e->rs);
    e->rs = ld_ruleset_build(e);
    s_update_hash(e);
    return rc < 0 || e->load_failed ? -1 : 0;
}

int ev_engine_load_file(ev_engine *e, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (f) {
        for (;;) {
            if (cap - len < 65536) {
                cap = cap ? cap * 2 : 65536;
                buf = realloc(buf, cap);
                if (!buf)
                    abort();
            }
            size_t r = fread(buf + len, 1, cap - len, f);
            len += r;
            if (r == 0)
                break;
        }
        bool bad = ferror(f);
        fclose(f);
        if (bad) {
            free(buf);
            f = NULL;
        }
    }
    if (!f) {
        int err = errno;
        ld_strv_push(&e->files, path);
        ld_mark m = {e->files.v[e->files.n - 1], 0, 0};
        ld_diag(e, true, "LOAD_ERR_FILE_READ", "rules content", "", &m,
                "Could not read rules file %s: %s", path, strerror(err ? err : EIO));
        return -1;
    }
    int rc = ev_engine_load_string(e, path, buf ? buf : "", len);
    free(buf);
    return rc;
}

bool ev_engine_ok(const ev_engine *e)
{
    return e->nerrors == 0;
}

const char *ev_engine_ruleset_hash(const ev_engine *e)
{
    return e->hash_hex;
}

/* rules -------------------------------------------------------------------------- */

size_t ev_engine_nrules(const ev_engine *e)
{
    return e->ncrules;
}

const ev_rule *ev_engine_rule(const ev_engine *e, size_t i)
{
    return i < e->ncrules ? &e->crules[i] : NULL;
}

const ev_rule *ev_engine_find_rule(const ev_engine *e, const char *name)
{
    for (size_t i = 0; i < e->ncrules; i++)
        if (strcmp(e->crules[i].name, name) == 0)
            return &e->crules[i];
    return NULL;
}

char *ev_engine_rule_condition_ast(const ev_engine *e, const ev_rule *r)
{
    (void)e;
    const ld_crule *c = r ? r->impl : NULL;
    return c && c->ast ? ev_ast_to_string(c->ast) : NULL;
}
