/*
 * ev_engine.h - the public face of the rule engine: load Falco rules files,
 * select rules, match events, render alerts.  Owner: rules loader
 * (evaluator/loader).  The evaluator daemon and the `trailguard` CLI use only
 * this header (plus ev_field.h for events and the CloudTrail source header).
 *
 * DESIGN
 * An engine is created for a fixed list of event sources (normally just
 * ev_ct_source()).  Rules content is loaded file by file (or from strings);
 * each load collects the file's lists, macros and rules into the definitions
 * gathered so far (later files may append to or override earlier ones) and
 * then recompiles every rule, exactly like Falco's rule loader (spec
 * falco-rules-language.md section 6).  Diagnostics (errors and warnings with
 * Falco's codes and messages) accumulate in the engine.  After the loads,
 * the options' selection list and minimum priority decide which rules are
 * enabled, and an index by `ct.name` value (plus, for rules without a
 * ct.name restriction, by the value of another field they require) lets
 * each event reach only the rules that can match it (ev_index.c).
 *
 * Nothing is allocated per event by ev_engine_match(), except once for each
 * new ct.name value (the index remembers up to 8,192 names per source);
 * rendering an alert writes into a caller-owned ev_strbuf that is reused.
 *
 * Not thread-safe: use one engine per thread (or serialise), since compiled
 * filters cache values per event.  The cache is keyed by the ev_event
 * object and its generation: reuse ONE ev_event per engine and
 * ev_event_reset() it for every record (a fresh ev_event at the same
 * address would start at the same generation and see stale values).
 */
#ifndef EV_ENGINE_H
#define EV_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev_field.h"
#include "ev_output.h"   /* ev_strbuf */

/* Falco engine version implemented (spec 6.3). */
#define EV_ENGINE_VERSION_MAJOR 0
#define EV_ENGINE_VERSION_MINOR 63
#define EV_ENGINE_VERSION_PATCH 0

typedef enum ev_priority {
    EV_PRIO_EMERGENCY = 0,
    EV_PRIO_ALERT,
    EV_PRIO_CRITICAL,
    EV_PRIO_ERROR,
    EV_PRIO_WARNING,
    EV_PRIO_NOTICE,
    EV_PRIO_INFORMATIONAL,
    EV_PRIO_DEBUG,
} ev_priority;

/* "Emergency" ... "Informational" ... "Debug". Never NULL. */
const char *ev_priority_name(ev_priority p);
/* Case-insensitive name (also "info") -> priority. 0 or -1 when unknown. */
int ev_priority_parse(const char *s, ev_priority *out);

typedef enum ev_rule_matching {
    EV_MATCH_ALL = 0,   /* trailguard default: every matching rule */
    EV_MATCH_FIRST,     /* Falco default: stop at the first matching rule */
} ev_rule_matching;

/* One falco.yaml `rules:` selection entry, applied in order after loading. */
typedef struct ev_selection {
    bool enable;            /* enable (true) or disable (false) */
    bool by_tag;            /* pattern is a tag (exact) instead of a rule pattern */
    const char *pattern;    /* rule name wildcard ('*' = any run) or tag */
} ev_selection;

typedef struct ev_plugin_version {
    const char *name;
    const char *version;    /* "x.y.z" */
} ev_plugin_version;

/* falco.yaml append_output entry (spec 7.4). */
typedef struct ev_append_output {
    const char *match_source;       /* NULL = any */
    const char *const *match_tags;  /* all required; NULL/0 = any */
    size_t nmatch_tags;
    const char *match_rule;         /* exact rule name; NULL = any */
    const char *extra_output;       /* appended to the message with one space; may be NULL */
    /* JSON-only output_fields.  Entry i has key extra_keys[i]; when
     * extra_formats[i] is NULL the key is a field name and its value is
     * typed, else the format is rendered as a string. */
    const char *const *extra_keys;
    const char *const *extra_formats;
    size_t nextra_fields;
} ev_append_output;

typedef struct ev_engine_opts {
    ev_priority min_priority;       /* default EV_PRIO_DEBUG (everything) */
    ev_rule_matching matching;      /* default EV_MATCH_ALL */
    const ev_selection *selection;  /* borrowed during ev_engine_new() only */
    size_t nselection;
    const char *hostname;           /* NULL: $FALCO_HOSTNAME, else gethostname() */
    bool time_iso8601;              /* text alert time as evt.time.iso8601 */
    bool json_include_output;       /* default true */
    bool json_include_message;      /* default false */
    bool json_include_output_fields;/* default true */
    bool json_include_tags;         /* default true */
    /* Plugins considered loaded for required_plugin_versions.  NULL means
     * the default set: cloudtrail 0.17.1 and json 0.7.4. */
    const ev_plugin_version *plugins;
    size_t nplugins;
    const ev_append_output *append_output;
    size_t nappend_output;
    bool index;                     /* dispatch by ct.name index (default true) */
} ev_engine_opts;

/* Fill defaults. Cannot fail. */
void ev_engine_opts_init(ev_engine_opts *o);

typedef struct ev_engine ev_engine;

/*
 * Create an engine for `nsources` sources (borrowed; they must outlive the
 * engine).  Options are copied (strings included).
 * Caller owns result; free with ev_engine_free(). NULL on OOM.
 */
ev_engine *ev_engine_new(const ev_source *const *sources, size_t nsources,
                         const ev_engine_opts *opts);
void ev_engine_free(ev_engine *e);

/*
 * Load one rules file / one string of rules content (`name` is used as the
 * file name in diagnostics).  Returns 0 when the content loaded without
 * errors, -1 otherwise (details in the diagnostics; loading stops at the
 * first error of that content).  After any load the selection and the index
 * are rebuilt.  After a failed load the engine has no rules (like Falco,
 * which refuses to start): report the diagnostics and discard it; to reload
 * rules, build a new engine and swap it in once it loaded cleanly.
 * Rule pointers (ev_engine_rule) are invalidated by every load.
 */
int ev_engine_load_file(ev_engine *e, const char *path);
int ev_engine_load_string(ev_engine *e, const char *name, const char *content, size_t len);

/* True when no load so far reported an error. */
bool ev_engine_ok(const ev_engine *e);

/* Diagnostics ---------------------------------------------------------- */

typedef struct ev_diag {
    bool error;             /* error (load fails) or warning */
    const char *code;       /* "LOAD_ERR_VALIDATE", "LOAD_UNUSED_MACRO", ... */
    const char *item_type;  /* "rule", "macro", "list", "exception", "rules content", ... */
    const char *item_name;  /* "" when none */
    const char *file;       /* file name given to the load */
    int line, col;          /* 1-based; 0 when unknown */
    const char *message;
} ev_diag;

/* Borrowed; valid until the next load or ev_engine_free(). */
size_t ev_engine_ndiags(const ev_engine *e);
const ev_diag *ev_engine_diag(const ev_engine *e, size_t i);
/* Print diagnostics like Falco does:
 *   FILE:LINE:COL: error|warning CODE (ITEM_TYPE 'NAME'): MESSAGE */
void ev_diag_format(const ev_diag *d, ev_strbuf *out);
/* Number of errors among the diagnostics. */
size_t ev_engine_nerrors(const ev_engine *e);

/* Rules ---------------------------------------------------------------- */

/* A loaded rule, read-only for callers. Borrowed; valid until the next load
 * or ev_engine_free(). */
typedef struct ev_rule {
    size_t index;           /* position in first-definition order */
    const char *name;
    const char *desc;
    const char *condition;  /* as written (after appends), before expansion */
    const char *output;
    const char *source;
    ev_priority priority;
    const char *const *tags;/* sorted, unique */
    size_t ntags;
    bool enabled;           /* currently in the ruleset (after selection/min priority) */
    bool capture;
    uint64_t capture_duration;
    void *impl;             /* private */
} ev_rule;

/* Rules of every loaded source in first-definition order, including the
 * disabled ones; rules skipped for an unknown source are not listed. */
size_t ev_engine_nrules(const ev_engine *e);
const ev_rule *ev_engine_rule(const ev_engine *e, size_t i);
const ev_rule *ev_engine_find_rule(const ev_engine *e, const char *name);

/* Canonical print of a rule's compiled condition (spec 2.5), after lists,
 * exceptions and macros.  Caller owns result; free(). NULL if unavailable. */
char *ev_engine_rule_condition_ast(const ev_engine *e, const ev_rule *r);

/* Selection after loading (spec 6.15); applied to the current ruleset. */
void ev_engine_select(ev_engine *e, const ev_selection *sel);
/* Number of rules enabled in the ruleset. */
size_t ev_engine_nenabled(const ev_engine *e);

/* Falco's wildcard match of a rule name against a pattern (spec 6.15). */
bool ev_wildcard_match(const char *pattern, const char *name);

/*
 * Hex sha256 over every loaded content (in order) and the options that
 * change results.  Borrowed; valid until the next load.
 */
const char *ev_engine_ruleset_hash(const ev_engine *e);

/* Matching ------------------------------------------------------------- */

/* Called for each matching rule in rule order; return non-zero to stop. */
typedef int (*ev_match_fn)(const ev_rule *rule, ev_event *evt, void *ud);

/*
 * Evaluate the enabled rules of source 0 on evt (prepared with
 * ev_event_reset()).  Returns the number of matching rules reported.
 * ev_engine_match_source() picks the source by its index in ev_engine_new().
 */
int ev_engine_match(ev_engine *e, ev_event *evt, ev_match_fn cb, void *ud);
int ev_engine_match_source(ev_engine *e, size_t src, ev_event *evt,
                           ev_match_fn cb, void *ud);
/* Same without the index (every enabled rule runs); for tests. */
int ev_engine_match_unindexed(ev_engine *e, size_t src, ev_event *evt,
                              ev_match_fn cb, void *ud);

/* Alerts (spec 7.2, 7.3) ------------------------------------------------ */

/* Render the rule output (plus append_output) for evt: the "message".
 * Appends to out. Returns 0 or a negative code. */
int ev_alert_message(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out);
/* Falco's text line "<time>: <Priority> <message>", JSON-string-escaped,
 * without a trailing newline.  Appends to out. */
int ev_alert_text(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out);
/* Falco's JSON alert object (sorted keys, no trailing newline). Appends. */
int ev_alert_json(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out);
/* ev_alert_json() given what ev_alert_text() wrote for the same rule and
 * event (text, borrowed for the call): its "output" member is that text in
 * quotes, so the line is not rendered twice.  Same bytes as ev_alert_json(). */
int ev_alert_json_text(ev_engine *e, const ev_rule *r, ev_event *evt,
                       const char *text, size_t textlen, ev_strbuf *out);

#endif /* EV_ENGINE_H */
