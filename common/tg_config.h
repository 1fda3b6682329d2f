/*
 * tg_config.h - the YAML configuration file and schema tables.
 *
 * Owner: common.  Implemented in tg_config.c (document tree) and
 * tg_config_apply.c (schema tables, value syntax, --help).
 *
 * DESIGN
 * One YAML file describes the whole stack.  It is parsed once (libyaml)
 * into a small node tree (mapping / sequence / scalar, each with
 * file:line:column) held by a tg_conf_doc.  Top level:
 *
 *   state_dir: /var/lib/trailguard      # shared keys (tg_daemon_common)
 *   log_level: info
 *   metrics: {bind: 127.0.0.1, token: ...}
 *   fetcher:   {...}                     # one section per daemon
 *   parser:    {...}
 *   evaluator: {...}
 *   notifier:  {...outputs: [ {type: webhook, url: ...}, ... ]}
 *   run:       {...}
 *
 * The schema is data: a table of tg_conf_entry {type, key, default,
 * offset, description} ending with TG_CONF_END.  tg_conf_apply() writes
 * defaults, then the values found in a mapping, then environment
 * overrides, then "-e" overrides into a caller struct, and rejects unknown
 * keys and bad values with "file:line:col: message".  Keys may be dotted
 * ("metrics.port") to address nested mappings.  A TG_CONF_NODE entry
 * hands back the raw sub-tree (e.g. the list of outputs) so a module can
 * apply its own table to each element.
 *
 * Environment: TRAILGUARD_<SECTION>_<KEY>, upper case, '.' and '-' become
 * '_'; e.g. notifier.metrics.port → TRAILGUARD_NOTIFIER_METRICS_PORT, and
 * root key state_dir → TRAILGUARD_STATE_DIR.  The prefix is given by the
 * caller (tg_conf_apply_opts.env_prefix).
 *
 * Value syntax:
 *   bool      true/false/yes/no/on/off/1/0 (case-insensitive)
 *   int/uint  decimal, or 0x hex; range checked (int64 / uint64)
 *   double    strtod syntax, finite
 *   duration  "250ms", "30s", "5m", "2h", "1d"; bare number = seconds;
 *             stored as uint64_t milliseconds
 *   size      "512", "64KiB"/"64K"/"64KB" (all 1024-based), "1MiB", "2GiB";
 *             stored as uint64_t bytes
 *   strlist   a YAML sequence of scalars, or a single scalar; in the
 *             environment a comma-separated list
 *   string    any scalar; the YAML null (~, null, empty) gives NULL
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- parsed document ---------------------------------------------- */

typedef enum tg_conf_kind {
    TG_CONF_SCALAR = 1,
    TG_CONF_MAP,
    TG_CONF_SEQ,
} tg_conf_kind;

typedef struct tg_conf_node tg_conf_node;

typedef struct tg_conf_pair {
    const tg_conf_node *key;    /* always a scalar */
    const tg_conf_node *value;
} tg_conf_pair;

/*
 * A node of the parsed tree.  Read-only for users; every pointer is
 * borrowed from the tg_conf_doc and valid until tg_conf_doc_free().
 */
struct tg_conf_node {
    tg_conf_kind kind;
    const char *file;           /* file name given at load */
    int line;                   /* 1-based */
    int col;                    /* 1-based */
    /* TG_CONF_SCALAR: NUL-terminated text; `plain` is true when unquoted
     * (a plain "~", "null" or "" is the YAML null). */
    const char *str;
    size_t len;
    bool plain;
    /* TG_CONF_MAP: pairs in file order (duplicate keys are a load error) */
    const tg_conf_pair *pairs;
    size_t npairs;
    /* TG_CONF_SEQ */
    const tg_conf_node *const *items;
    size_t nitems;
};

typedef struct tg_conf_doc tg_conf_doc;

/*
 * Load and parse a YAML file (one document; anchors/aliases are rejected).
 * Caller owns result; free with tg_conf_doc_free().  NULL on error with
 * "file:line:col: message" in err.
 */
tg_conf_doc *tg_conf_doc_load(const char *path, char *err, size_t errlen);

/* Same from memory; `name` is used in positions.  Caller owns result. */
tg_conf_doc *tg_conf_doc_parse(const char *buf, size_t len, const char *name,
                               char *err, size_t errlen);

/* An empty document (root is an empty mapping), for "no config file". */
tg_conf_doc *tg_conf_doc_empty(void);

/* NULL is a no-op.  Invalidates every node of the document. */
void tg_conf_doc_free(tg_conf_doc *doc);

/* The root node (a mapping; an empty file gives an empty mapping).
 * Borrowed; valid until tg_conf_doc_free(). */
const tg_conf_node *tg_conf_doc_root(const tg_conf_doc *doc);

/* Value of `key` in a mapping, or NULL (also when map is NULL or not a
 * mapping).  Dotted keys walk nested mappings.  Borrowed. */
const tg_conf_node *tg_conf_map_get(const tg_conf_node *map, const char *key);

/* True for a plain scalar "~", "null", "Null", "NULL" or "". */
bool tg_conf_node_is_null(const tg_conf_node *n);

/* "mapping", "sequence", "scalar". Static. */
const char *tg_conf_kind_name(tg_conf_kind k);

/* ---- schema tables ------------------------------------------------ */

typedef enum tg_conf_type {
    TG_CONF_STR = 1,    /* char *  (heap; freed by tg_conf_release) */
    TG_CONF_INT,        /* int64_t */
    TG_CONF_UINT,       /* uint64_t */
    TG_CONF_BOOL,       /* bool */
    TG_CONF_DOUBLE,     /* double */
    TG_CONF_DURATION,   /* uint64_t milliseconds */
    TG_CONF_SIZE,       /* uint64_t bytes */
    TG_CONF_STRLIST,    /* tg_strlist */
    TG_CONF_NODE,       /* const tg_conf_node * (borrowed from the doc;
                           NULL when absent; no default, no env) */
} tg_conf_type;

typedef struct tg_strlist {
    char **v;           /* n strings, heap; v[n] == NULL */
    size_t n;
} tg_strlist;

typedef struct tg_conf_entry {
    tg_conf_type type;
    const char *key;    /* "port" or dotted "metrics.port" */
    const char *def;    /* default as text (NULL: zero/NULL/empty list;
                           strlist default is comma-separated) */
    size_t offset;      /* offsetof(struct, field) */
    const char *desc;   /* one line for --help */
} tg_conf_entry;

#define TG_CONF_END {0, NULL, NULL, 0, NULL}

typedef struct tg_conf_apply_opts {
    /* e.g. "TRAILGUARD_NOTIFIER"; NULL: no environment overrides */
    const char *env_prefix;
    /* NULL-terminated list of keys present in the mapping that this table
     * does not own (at the root: the section names); NULL: none */
    const char *const *skip_keys;
    /* NULL-terminated "key=value" strings applied last, keys relative to
     * this mapping (tg_daemon strips "<section>." from -e arguments);
     * keys not in the table are an error.  NULL: none. */
    const char *const *overrides;
    /* true: unknown keys in the mapping are ignored instead of an error */
    bool allow_unknown;
} tg_conf_apply_opts;

/*
 * Fill *base from `table`: defaults, then `map` (may be NULL: defaults
 * and environment only), then environment, then overrides.  `map` must be
 * a mapping or null.  Returns 0, or -EINVAL with the first problem in err
 * ("cfg.yaml:12:5: unknown key 'prot' in notifier (did you mean 'port'?)",
 * "environment TRAILGUARD_NOTIFIER_METRICS_PORT: bad uint 'x'").
 * On failure *base may be partly filled: call tg_conf_release() anyway.
 * opts may be NULL.  Strings written to *base are owned by *base; release
 * them with tg_conf_release().
 */
int tg_conf_apply(const tg_conf_entry *table, void *base,
                  const tg_conf_node *map, const tg_conf_apply_opts *opts,
                  char *err, size_t errlen);

/* Free every TG_CONF_STR / TG_CONF_STRLIST field of *base named by the
 * table and zero it.  Safe on a zeroed or partly filled struct. */
void tg_conf_release(const tg_conf_entry *table, void *base);

/*
 * Print one line per entry: key, type, default, description and the
 * environment variable (when env_prefix is not NULL), e.g.
 *   "  metrics.port (uint, default 9102)  Prometheus port  [TRAILGUARD_NOTIFIER_METRICS_PORT]"
 */
void tg_conf_help(const tg_conf_entry *table, const char *env_prefix,
                  FILE *out);

/* Environment variable name for prefix + key into buf ("TRAILGUARD_X_Y").
 * Returns 0 or -ENAMETOOLONG. */
int tg_conf_env_name(const char *prefix, const char *key, char *buf,
                     size_t buflen);

/* Parsers for the value syntaxes above (also used by modules with
 * hand-made schemas).  Return 0 or -EINVAL / -ERANGE. */
int tg_conf_parse_bool(const char *s, bool *out);
int tg_conf_parse_duration(const char *s, uint64_t *ms);
int tg_conf_parse_size(const char *s, uint64_t *bytes);

/* Free the strings of a list and zero it; NULL-safe. */
void tg_strlist_fini(tg_strlist *l);

#endif /* TG_CONFIG_H */
