/*
 * tg_config_apply.c - schema tables: defaults, file values, environment
 * and overrides into a struct; value syntax; --help text.  Part of the
 * tg_config module (see tg_config.h).
 *
 * Owner: common.
 *
 * Every source of a value goes through s_set_text() (text → typed field),
 * except TG_CONF_STRLIST / TG_CONF_NODE values taken from the tree.  The
 * "where" string of an error is the node position "file:line:col" or
 * "environment NAME" or "override KEY".
 */
#include "tg_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *s_type_name(tg_conf_type t)
{
    switch (t) {
    case TG_CONF_STR: return "string";
    case TG_CONF_INT: return "int";
    case TG_CONF_UINT: return "uint";
    case TG_CONF_BOOL: return "bool";
    case TG_CONF_DOUBLE: return "double";
    case TG_CONF_DURATION: return "duration";
    case TG_CONF_SIZE: return "size";
    case TG_CONF_STRLIST: return "list";
    case TG_CONF_NODE: return "section";
    }
    return "?";
}

/* ---- value syntax ------------------------------------------------------ */

int tg_conf_parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "yes", "on", "1"};
    static const char *const f[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, t[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, f[i])) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int s_parse_int(const char *s, int64_t *out)
{
    if (!*s || isspace((unsigned char)*s))
        return -EINVAL;
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    int base = (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 16 : 10;
    if (!isxdigit((unsigned char)p[base == 16 ? 2 : 0]))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, base);
    if (*end)
        return -EINVAL;
    if (errno == ERANGE || v > (unsigned long long)INT64_MAX + (neg ? 1 : 0))
        return -ERANGE;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int s_parse_uint(const char *s, uint64_t *out)
{
    if (*s == '-')
        return -ERANGE;
    if (!*s || isspace((unsigned char)*s))
        return -EINVAL;
    const char *p = *s == '+' ? s + 1 : s;
    int base = (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 16 : 10;
    if (!isxdigit((unsigned char)p[base == 16 ? 2 : 0]))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, base);
    if (*end)
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

static int s_parse_double(const char *s, double *out)
{
    if (!*s || isspace((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v))
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

/* number [spaces] unit; units matched case-insensitively. */
static int s_parse_scaled(const char *s, const char *const *units,
                          const double *mult, size_t nunits, double dflt,
                          uint64_t *out)
{
    if (!*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
        return -EINVAL;
    if (!isdigit((unsigned char)*s) && *s != '.')
        return -EINVAL;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -EINVAL;
    while (*end == ' ')
        end++;
    double m = -1;
    if (!*end) {
        m = dflt;
    } else {
        for (size_t i = 0; i < nunits; i++) {
            if (!strcasecmp(end, units[i])) {
                m = mult[i];
                break;
            }
        }
    }
    if (m < 0)
        return -EINVAL;
    double r = v * m;
    if (r >= 18446744073709551615.0)
        return -ERANGE;
    *out = (uint64_t)(r + 0.5);
    return 0;
}

int tg_conf_parse_duration(const char *s, uint64_t *ms)
{
    static const char *const u[] = {"ms", "s", "sec", "m", "min", "h", "d"};
    static const double m[] = {1, 1e3, 1e3, 6e4, 6e4, 3.6e6, 8.64e7};
    return s_parse_scaled(s, u, m, 7, 1e3, ms);
}

int tg_conf_parse_size(const char *s, uint64_t *bytes)
{
    static const char *const u[] = {"b", "k", "kb", "kib", "m", "mb", "mib",
                                    "g", "gb", "gib", "t", "tb", "tib"};
    static const double K = 1024.0, M = K * K, G = M * K, T = G * K;
    static const double m[] = {1, K, K, K, M, M, M, G, G, G, T, T, T};
    return s_parse_scaled(s, u, m, 13, 1, bytes);
}

void tg_strlist_fini(tg_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int s_strlist_push(tg_strlist *l, const char *s, size_t len)
{
    char **v = realloc(l->v, (l->n + 2) * sizeof *v);
    if (!v)
        return -ENOMEM;
    l->v = v;
    if (!(v[l->n] = strndup(s, len)))
        return -ENOMEM;
    v[++l->n] = NULL;
    return 0;
}

/* Comma-separated text (blanks around items trimmed; empty items skipped). */
static int s_strlist_from_text(tg_strlist *l, const char *s)
{
    tg_strlist_fini(l);
    while (s && *s) {
        const char *c = strchr(s, ',');
        const char *e = c ? c : s + strlen(s);
        const char *a = s;
        while (a < e && isspace((unsigned char)*a))
            a++;
        const char *b = e;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a && s_strlist_push(l, a, (size_t)(b - a)) != 0)
            return -ENOMEM;
        s = c ? c + 1 : NULL;
    }
    return 0;
}

/* ---- setters ------------------------------------------------------------ */

static const char *s_err_word(int rc)
{
    return rc == -ERANGE ? "out of range" : rc == -ENOMEM ? "out of memory"
                                                          : "bad";
}

/* Set field from text (NULL text: STR → NULL, list → empty, others 0). */
static int s_set_text(const tg_conf_entry *e, void *base, const char *text,
                      const char *where, char *err, size_t errlen)
{
    char *f = (char *)base + e->offset;
    int rc = 0;
    switch (e->type) {
    case TG_CONF_STR: {
        char *v = NULL;
        if (text && !(v = strdup(text)))
            rc = -ENOMEM;
        else {
            free(*(char **)f);
            *(char **)f = v;
        }
        break;
    }
    case TG_CONF_STRLIST:
        rc = s_strlist_from_text((tg_strlist *)f, text);
        break;
    case TG_CONF_INT:
        if (!text) { *(int64_t *)f = 0; break; }
        rc = s_parse_int(text, (int64_t *)f);
        break;
    case TG_CONF_UINT:
        if (!text) { *(uint64_t *)f = 0; break; }
        rc = s_parse_uint(text, (uint64_t *)f);
        break;
    case TG_CONF_BOOL:
        if (!text) { *(bool *)f = false; break; }
        rc = tg_conf_parse_bool(text, (bool *)f);
        break;
    case TG_CONF_DOUBLE:
        if (!text) { *(double *)f = 0; break; }
        rc = s_parse_double(text, (double *)f);
        break;
    case TG_CONF_DURATION:
        if (!text) { *(uint64_t *)f = 0; break; }
        rc = tg_conf_parse_duration(text, (uint64_t *)f);
        break;
    case TG_CONF_SIZE:
        if (!text) { *(uint64_t *)f = 0; break; }
        rc = tg_conf_parse_size(text, (uint64_t *)f);
        break;
    case TG_CONF_NODE:
        *(const tg_conf_node **)f = NULL;
        break;
    }
    if (rc != 0)
        s_fmt(err, errlen, "%s: %s %s '%s' for key '%s'", where,
              s_err_word(rc), s_type_name(e->type), text ? text : "",
              e->key);
    return rc;
}

static int s_set_node(const tg_conf_entry *e, void *base,
                      const tg_conf_node *n, const char *keypath,
                      char *err, size_t errlen)
{
    char where[512];
    snprintf(where, sizeof where, "%s:%d:%d", n->file, n->line, n->col);
    char *f = (char *)base + e->offset;
    if (e->type == TG_CONF_NODE) {
        *(const tg_conf_node **)f = n;
        return 0;
    }
    if (e->type == TG_CONF_STRLIST && n->kind == TG_CONF_SEQ) {
        tg_strlist *l = (tg_strlist *)f;
        tg_strlist_fini(l);
        for (size_t i = 0; i < n->nitems; i++) {
            const tg_conf_node *it = n->items[i];
            if (it->kind != TG_CONF_SCALAR || memchr(it->str, 0, it->len)) {
                s_fmt(err, errlen, "%s:%d:%d: '%s' must be a list of "
                      "strings", it->file, it->line, it->col, keypath);
                return -EINVAL;
            }
            if (s_strlist_push(l, it->str, it->len) != 0) {
                s_fmt(err, errlen, "%s: out of memory", where);
                return -ENOMEM;
            }
        }
        return 0;
    }
    if (n->kind != TG_CONF_SCALAR) {
        s_fmt(err, errlen, "%s: '%s' must be a %s, not a %s", where, keypath,
              s_type_name(e->type), tg_conf_kind_name(n->kind));
        return -EINVAL;
    }
    if (memchr(n->str, 0, n->len)) {
        s_fmt(err, errlen, "%s: NUL byte in value of '%s'", where, keypath);
        return -EINVAL;
    }
    bool null = tg_conf_node_is_null(n);
    if (null && e->type != TG_CONF_STR && e->type != TG_CONF_STRLIST) {
        s_fmt(err, errlen, "%s: '%s' needs a %s value", where, keypath,
              s_type_name(e->type));
        return -EINVAL;
    }
    if (e->type == TG_CONF_STRLIST) {
        tg_strlist *l = (tg_strlist *)f;
        tg_strlist_fini(l);
        if (!null && s_strlist_push(l, n->str, n->len) != 0)
            return -ENOMEM;
        return 0;
    }
    return s_set_text(e, base, null ? NULL : n->str, where, err, errlen);
}

/* ---- applying a table ------------------------------------------------- */

static const tg_conf_entry *s_find(const tg_conf_entry *t, const char *key)
{
    for (; t->key; t++)
        if (!strcmp(t->key, key))
            return t;
    return NULL;
}

/* True when some key of the table starts with "prefix." */
static bool s_is_prefix(const tg_conf_entry *t, const char *prefix)
{
    size_t n = strlen(prefix);
    for (; t->key; t++)
        if (!strncmp(t->key, prefix, n) && t->key[n] == '.')
            return true;
    return false;
}

static size_t s_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            size_t best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1
                                                      : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            prev = cur;
        }
    }
    return row[lb];
}

static int s_unknown(const tg_conf_entry *t, const tg_conf_node *k,
                     const char *keypath, char *err, size_t errlen)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (; t->key; t++) {
        size_t d = s_edit_distance(keypath, t->key);
        if (d < bestd) {
            bestd = d;
            best = t->key;
        }
    }
    if (best)
        s_fmt(err, errlen, "%s:%d:%d: unknown key '%s' (did you mean "
              "'%s'?)", k->file, k->line, k->col, keypath, best);
    else
        s_fmt(err, errlen, "%s:%d:%d: unknown key '%s'", k->file, k->line,
              k->col, keypath);
    return -EINVAL;
}

static bool s_skipped(const char *const *skip, const char *key)
{
    for (; skip && *skip; skip++)
        if (!strcmp(*skip, key))
            return true;
    return false;
}

static int s_walk(const tg_conf_entry *table, void *base,
                  const tg_conf_node *map, const char *prefix,
                  const tg_conf_apply_opts *o, char *err, size_t errlen)
{
    for (size_t i = 0; i < map->npairs; i++) {
        const tg_conf_node *k = map->pairs[i].key;
        const tg_conf_node *v = map->pairs[i].value;
        char path[256];
        if ((size_t)snprintf(path, sizeof path, "%s%s%s", prefix,
                             *prefix ? "." : "", k->str) >= sizeof path)
            return s_unknown(table, k, k->str, err, errlen);
        const tg_conf_entry *e = s_find(table, path);
        int rc = 0;
        if (e)
            rc = s_set_node(e, base, v, path, err, errlen);
        else if (s_is_prefix(table, path) && v->kind == TG_CONF_MAP)
            rc = s_walk(table, base, v, path, o, err, errlen);
        else if (s_is_prefix(table, path) && tg_conf_node_is_null(v))
            rc = 0;     /* "metrics:" with nothing under it */
        else if (!*prefix && s_skipped(o->skip_keys, path))
            rc = 0;
        else if (!o->allow_unknown)
            rc = s_unknown(table, k, path, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tg_conf_env_name(const char *prefix, const char *key, char *buf,
                     size_t buflen)
{
    int n = snprintf(buf, buflen, "%s%s%s", prefix ? prefix : "",
                     prefix && *prefix ? "_" : "", key);
    if (n < 0 || (size_t)n >= buflen)
        return -ENAMETOOLONG;
    for (char *p = buf; *p; p++) {
        if (*p == '.' || *p == '-')
            *p = '_';
        else
            *p = (char)toupper((unsigned char)*p);
    }
    return 0;
}

static int s_apply(const tg_conf_entry *table, void *base,
                   const tg_conf_node *map, const tg_conf_apply_opts *o,
                   char *err, size_t errlen);

int tg_conf_apply(const tg_conf_entry *table, void *base,
                  const tg_conf_node *map, const tg_conf_apply_opts *opts,
                  char *err, size_t errlen)
{
    static const tg_conf_apply_opts none = {0};
    int rc = s_apply(table, base, map, opts ? opts : &none, err, errlen);
    return rc == 0 || rc == -ENOMEM ? rc : -EINVAL;
}

static int s_apply(const tg_conf_entry *table, void *base,
                   const tg_conf_node *map, const tg_conf_apply_opts *o,
                   char *err, size_t errlen)
{
    int rc;
    for (const tg_conf_entry *e = table; e->key; e++) {
        char where[160];
        snprintf(where, sizeof where, "default of '%s'", e->key);
        if ((rc = s_set_text(e, base, e->def, where, err, errlen)) != 0)
            return rc;
    }
    if (map && !tg_conf_node_is_null(map)) {
        if (map->kind != TG_CONF_MAP) {
            s_fmt(err, errlen, "%s:%d:%d: expected a mapping, not a %s",
                  map->file, map->line, map->col, tg_conf_kind_name(map->kind));
            return -EINVAL;
        }
        if ((rc = s_walk(table, base, map, "", o, err, errlen)) != 0)
            return rc;
    }
    for (const tg_conf_entry *e = table; o->env_prefix && e->key; e++) {
        char name[256], where[300];
        if (e->type == TG_CONF_NODE ||
            tg_conf_env_name(o->env_prefix, e->key, name, sizeof name) != 0)
            continue;
        const char *v = getenv(name);
        if (!v)
            continue;
        snprintf(where, sizeof where, "environment %s", name);
        if ((rc = s_set_text(e, base, v, where, err, errlen)) != 0)
            return rc;
    }
    for (const char *const *ov = o->overrides; ov && *ov; ov++) {
        const char *eq = strchr(*ov, '=');
        char key[256], where[300];
        size_t kl = eq ? (size_t)(eq - *ov) : 0;
        if (!eq || kl == 0 || kl >= sizeof key) {
            s_fmt(err, errlen, "override '%s': expected KEY=VALUE", *ov);
            return -EINVAL;
        }
        memcpy(key, *ov, kl);
        key[kl] = '\0';
        const tg_conf_entry *e = s_find(table, key);
        if (!e || e->type == TG_CONF_NODE) {
            s_fmt(err, errlen, "override '%s': unknown key '%s'", *ov, key);
            return -EINVAL;
        }
        snprintf(where, sizeof where, "override %s", key);
        if ((rc = s_set_text(e, base, eq + 1, where, err, errlen)) != 0)
            return rc;
    }
    return 0;
}

void tg_conf_release(const tg_conf_entry *table, void *base)
{
    for (const tg_conf_entry *e = table; e && e->key; e++) {
        char *f = (char *)base + e->offset;
        if (e->type == TG_CONF_STR) {
            free(*(char **)f);
            *(char **)f = NULL;
        } else if (e->type == TG_CONF_STRLIST) {
            tg_strlist_fini((tg_strlist *)f);
        } else if (e->type == TG_CONF_NODE) {
            *(const tg_conf_node **)f = NULL;
        }
    }
}

void tg_conf_help(const tg_conf_entry *table, const char *env_prefix,
                  FILE *out)
{
    for (const tg_conf_entry *e = table; e && e->key; e++) {
        char env[256] = "";
        fprintf(out, "  %-28s %-8s", e->key, s_type_name(e->type));
        if (e->def)
            fprintf(out, " (default %s)", *e->def ? e->def : "\"\"");
        fprintf(out, "\n      %s", e->desc ? e->desc : "");
        if (env_prefix && e->type != TG_CONF_NODE &&
            tg_conf_env_name(env_prefix, e->key, env, sizeof env) == 0)
            fprintf(out, " [%s]", env);
        fputc('\n', out);
    }
}
