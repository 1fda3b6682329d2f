/*
 * ev_loader_int.h - private structures shared by the loader's modules
 * (collector, compiler, ruleset, alerts).  Owner: rules loader.  Nothing
 * here is part of the public API (ev_engine.h).
 *
 * DESIGN
 * The engine keeps the *definitions* collected from every loaded content
 * (lists, macros, rules: raw texts and YAML-derived values, ev_collect.c),
 * and the *compiled* form rebuilt after each load (ev_rulecomp.c): one
 * ev_rule per rule of a loaded source with its filter and output format,
 * plus the dispatch index (ev_ruleset.c).
 */
#ifndef EV_LOADER_INT_H
#define EV_LOADER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev_ast.h"
#include "ev_engine.h"
#include "ev_yaml.h"

typedef struct ld_mark {
    const char *file;   /* borrowed from ev_engine.files */
    int line, col;
} ld_mark;

typedef struct ld_strv {
    char **v;
    size_t n, cap;
} ld_strv;

typedef struct ld_list {
    char *name;
    ld_strv items;
    ld_mark mark;
    size_t first_seq, last_seq;
    bool used;
} ld_list;

typedef struct ld_macro {
    char *name;
    char *cond;
    ld_mark mark;
    size_t first_seq, last_seq;
    bool used;
    ev_ast *ast;        /* compile-time: parsed, macros resolved */
    int state;          /* compile-time: 0 new, 1 resolving, 2 done, 3 failed */
} ld_macro;

/* An exception value: scalar or sequence of scalars. */
typedef struct ld_val {
    bool is_seq;
    char *s;            /* scalar */
    ld_strv seq;
} ld_val;

typedef struct ld_exc {
    char *name;
    bool has_fields, fields_scalar;
    ld_strv fields;     /* scalar form: one entry */
    bool has_comps, comps_scalar;
    ld_strv comps;
    ld_val *values;
    size_t nvalues;
    ld_mark mark;
} ld_exc;

typedef struct ld_rule {
    char *name, *cond, *output, *desc, *source;
    ev_priority priority;
    bool enabled;
    ld_strv tags;       /* sorted, unique */
    ld_exc *excs;
    size_t nexcs;
    bool capture;
    uint64_t capture_duration;
    bool warn_evttypes, skip_unknown;
    ld_mark mark;
} ld_rule;

typedef struct ld_req_alt {
    char *name, *version;
} ld_req_alt;

typedef struct ld_req {
    ld_req_alt *alts;   /* alts[0] is the entry itself */
    size_t nalts;
    ld_mark mark;
} ld_req;

/* append_output extra field compiled for one rule. */
typedef struct ld_extra {
    const char *key;                /* borrowed from the engine options */
    struct ev_format *fmt;
    bool raw;                       /* typed value of field 0, else rendered string */
} ld_extra;

/* Compiled rule (ev_rule.impl). */
typedef struct ld_crule {
    ev_ast *ast;                    /* final AST */
    struct ev_filter *filter;       /* engine core compiled filter */
    struct ev_format *format;       /* engine core compiled output */
    char *output_full;              /* output + append_output */
    ld_extra *extras;               /* append_output extra_fields */
    size_t nextras;
    size_t src;                     /* source index */
    bool loaded_enabled;            /* enabled flag from the rules */
    bool prio_ok;                   /* within minimum priority */
} ld_crule;

struct ev_ruleset;

struct ev_engine {
    const ev_source **sources;
    size_t nsources;
    ev_engine_opts opts;            /* strings owned via `strs` */
    ld_strv strs;                   /* owned copies of option strings */
    ev_plugin_version *plugins;
    size_t nplugins;
    ev_selection *selection;
    size_t nselection;
    ev_append_output *append;
    size_t nappend;
    char *hostname;

    ld_strv files;                  /* names of loaded contents (marks borrow) */
    ld_list *lists;   size_t nlists, caplists;
    ld_macro *macros; size_t nmacros, capmacros;
    ld_rule *rules;   size_t nrules, caprules;
    ld_req *reqs;     size_t nreqs, capreqs;
    size_t seq;

    ev_diag *diags;   size_t ndiags, capdiags;
    size_t nerrors;
    bool load_failed;               /* current load */

    ev_rule *crules;  size_t ncrules; /* compiled, first-definition order */
    struct ev_ruleset *rs;
    struct ev_fieldtab **tabs;      /* one per source */
    void *hash_ctx;                 /* EVP_MD_CTX */
    char hash_hex[65];
    ev_strbuf scratch;
    ev_strbuf scratch2;             /* extra fields while scratch holds the line */
};

/* ev_engine.c helpers */
void ld_strv_push(ld_strv *v, const char *s);
void ld_strv_free(ld_strv *v);
void ld_strv_copy(ld_strv *dst, const ld_strv *src);
char *ld_strdup(const char *s);
void ld_diag(ev_engine *e, bool error, const char *code, const char *item_type,
             const char *item_name, const ld_mark *m, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* ev_collect.c: YAML documents of one content -> definitions.
 * Returns 0, or -1 after reporting the first error. */
int ld_collect(ev_engine *e, const char *file, const char *buf, size_t len);
void ld_defs_free(ev_engine *e);
void ld_exc_free(ld_exc *x);
void ld_rule_fini(ld_rule *r);
int ld_semver_parse(const char *s, unsigned v[3]);

/* ev_rulecomp.c: definitions -> e->crules. Returns 0 or -1 (error reported). */
int ld_compile(ev_engine *e, const char *file);
void ld_crules_free(ev_engine *e);
/* Exported for tests: build the exception-augmented condition text. */
char *ld_build_exceptions(const ld_rule *r);
/* Exported for tests: list expansion (spec 5.2). Caller frees. */
char *ld_expand_lists(ev_engine *e, const char *cond);

/* ev_ruleset.c */
/* True when ast does not restrict `field` to a set of values (6.14/index). */
bool ld_ast_any_value(const ev_ast *ast, const char *field);
/* Same; when it does restrict (false), the distinct values it requires go
 * to *out (caller frees with ld_strv_free(); may be empty: never matches). */
bool ld_ast_field_values(const ev_ast *ast, const char *field, ld_strv *out);
void ld_apply_selection(ev_engine *e);

/* ev_index.c: the enabled rules and their dispatch index.  Rebuilt after
 * every load or selection; matching goes through it. */
struct ev_ruleset *ld_ruleset_build(ev_engine *e);
void ld_ruleset_free(struct ev_ruleset *rs);

#endif /* EV_LOADER_INT_H */
