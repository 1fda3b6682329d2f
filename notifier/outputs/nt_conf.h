/*
 * nt_conf.h - per-output settings as data: a schema table applied to a flat
 * list of key/value properties.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * Like fluent-bit's config_map, every output kind declares a table of
 * entries (type, key, default, offset into its context struct,
 * description).  nt_conf_apply() fills the struct from defaults, then from
 * the properties, and rejects any property no table names ("unknown
 * configuration property 'x' at file:line").  The same tables print
 * `--help`-style documentation (nt_conf_describe()).
 *
 * Properties are flat strings so that any configuration front end can feed
 * them: nested YAML mappings become dotted keys (`headers.X-Api-Key`),
 * sequences become comma-separated values.  NT_CONF_MAP entries match every
 * key under their prefix ("headers." ...).  `where` (file:line) is optional
 * and only used in error messages.
 */
#ifndef NT_CONF_H
#define NT_CONF_H

#include <stddef.h>
#include <stdint.h>

typedef enum nt_conf_type {
    NT_CONF_STR,      /* char * (heap copy; NULL when unset and no default) */
    NT_CONF_INT,      /* int64_t; decimal, 0x hex or 0 octal ("0600") */
    NT_CONF_BOOL,     /* int: true/false/yes/no/on/off/1/0 */
    NT_CONF_MS,       /* int64_t milliseconds: "250ms", "5s", "2m", "1h", "3" (s) */
    NT_CONF_SIZE,     /* int64_t bytes: "512", "64k", "6M", "1G" */
    NT_CONF_PRIO,     /* int NT_PRIO_* */
    NT_CONF_LIST,     /* nt_strlist: comma-separated, whitespace trimmed */
    NT_CONF_MAP,      /* nt_strmap: every "<key>.<name>" property */
} nt_conf_type;

typedef struct nt_strlist {
    char **v;
    size_t n;
} nt_strlist;

typedef struct nt_strmap {
    char **keys;
    char **vals;
    size_t n;
} nt_strmap;

typedef struct nt_conf_entry {
    nt_conf_type type;
    const char *key;
    const char *def;      /* default as text, or NULL */
    size_t offset;        /* offsetof(ctx struct, field) */
    const char *desc;
} nt_conf_entry;

typedef struct nt_kv {
    const char *key;
    const char *value;
    const char *where;    /* "file:line" or NULL */
} nt_kv;

/*
 * Apply defaults then props to `base` for every table (NULL-terminated
 * array of tables, each ending with an entry whose key is NULL).
 * A property is consumed by the first table that names it.  Returns 0, or
 * -EINVAL with a message in err.  On failure what was set stays set:
 * call nt_conf_free() on the same tables/base either way.
 */
int nt_conf_apply(const nt_conf_entry *const *tables, void *base,
                  const nt_kv *props, size_t nprops, char *err, size_t errlen);

/* The entry of `table` that takes property `key`, or NULL.  Borrowed. */
const nt_conf_entry *nt_conf_lookup(const nt_conf_entry *table,
                                    const char *key);

/* Set one property through its entry (no defaults).  0 or -EINVAL with
 * "where: invalid value 'v' for 'k'" in err. */
int nt_conf_set(const nt_conf_entry *e, void *base, const nt_kv *p,
                char *err, size_t errlen);

/* Free STR, LIST and MAP fields the tables point at in base. */
void nt_conf_free(const nt_conf_entry *const *tables, void *base);

/* Write one line per entry ("  key (type, default X): desc") to buf.
 * Returns the length it needed (like snprintf). */
size_t nt_conf_describe(const nt_conf_entry *table, char *buf, size_t len);

/* Parsers used by the table (exposed for tests and other front ends). */
int nt_conf_parse_ms(const char *s, int64_t *out);
int nt_conf_parse_size(const char *s, int64_t *out);
int nt_conf_parse_bool(const char *s, int *out);

/* Value for `key` in m (exact, case-insensitive), or NULL.  Borrowed. */
const char *nt_strmap_get(const nt_strmap *m, const char *key);

#endif /* NT_CONF_H */
