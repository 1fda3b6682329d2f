/*
 * nt_conf.c - schema-table configuration for output modules.
 *
 * Owner: notifier outputs.
 */
#include "nt_conf.h"

#include "nt_alert.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int nt_conf_parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int s_parse_scaled(const char *s, int64_t *out, const char *const *sfx,
                          const int64_t *mul, int nsfx, int64_t defmul)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return -EINVAL;
    while (isspace((unsigned char)*end))
        end++;
    int64_t m = defmul;
    if (*end) {
        int found = 0;
        for (int i = 0; i < nsfx; i++) {
            if (strcasecmp(end, sfx[i]) == 0) {
                m = mul[i];
                found = 1;
                break;
            }
        }
        if (!found)
            return -EINVAL;
    }
    if (v * (double)m > 9.0e18)
        return -ERANGE;
    *out = (int64_t)(v * (double)m);
    return 0;
}

int nt_conf_parse_ms(const char *s, int64_t *out)
{
    static const char *const sfx[] = {"ms", "s", "m", "h"};
    static const int64_t mul[] = {1, 1000, 60000, 3600000};
    return s_parse_scaled(s, out, sfx, mul, 4, 1000);
}

int nt_conf_parse_size(const char *s, int64_t *out)
{
    static const char *const sfx[] = {"b", "k", "kb", "kib", "m", "mb",
                                      "mib", "g", "gb", "gib"};
    static const int64_t mul[] = {1, 1024, 1024, 1024, 1 << 20, 1 << 20,
                                  1 << 20, 1 << 30, 1 << 30, 1 << 30};
    return s_parse_scaled(s, out, sfx, mul, 10, 1);
}

static void s_list_free(nt_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int s_list_parse(const char *s, nt_strlist *l)
{
    s_list_free(l);
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *a = p, *b = p + n;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            char **nv = realloc(l->v, (l->n + 1) * sizeof(char *));
            if (!nv)
                return -ENOMEM;
            l->v = nv;
            l->v[l->n++] = strndup(a, (size_t)(b - a));
        }
        p = e ? e + 1 : p + n;
    }
    return 0;
}

static int s_map_add(nt_strmap *m, const char *k, const char *v)
{
    char **nk = realloc(m->keys, (m->n + 1) * sizeof(char *));
    if (!nk)
        return -ENOMEM;
    m->keys = nk;
    char **nv = realloc(m->vals, (m->n + 1) * sizeof(char *));
    if (!nv)
        return -ENOMEM;
    m->vals = nv;
    m->keys[m->n] = strdup(k);
    m->vals[m->n] = strdup(v);
    m->n++;
    return 0;
}

const char *nt_strmap_get(const nt_strmap *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcasecmp(m->keys[i], key) == 0)
            return m->vals[i];
    return NULL;
}

static int s_set(const nt_conf_entry *e, void *base, const char *key,
                 const char *val)
{
    void *f = (char *)base + e->offset;
    int64_t v;
    int rc = 0;
    switch (e->type) {
    case NT_CONF_STR:
        free(*(char **)f);
        *(char **)f = strdup(val);
        return 0;
    case NT_CONF_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(val, &end, 0); /* 0600 is octal */
        if (end == val || *end || errno)
            return -EINVAL;
        *(int64_t *)f = x;
        return 0;
    }
    case NT_CONF_BOOL:
        return nt_conf_parse_bool(val, (int *)f);
    case NT_CONF_MS:
        rc = nt_conf_parse_ms(val, &v);
        if (rc == 0)
            *(int64_t *)f = v;
        return rc;
    case NT_CONF_SIZE:
        rc = nt_conf_parse_size(val, &v);
        if (rc == 0)
            *(int64_t *)f = v;
        return rc;
    case NT_CONF_PRIO: {
        int p = (*val == 0) ? NT_PRIO_DEBUG : nt_prio_parse(val);
        if (p < 0)
            return -EINVAL;
        *(int *)f = p;
        return 0;
    }
    case NT_CONF_LIST:
        return s_list_parse(val, (nt_strlist *)f);
    case NT_CONF_MAP:
        return s_map_add((nt_strmap *)f, key + strlen(e->key) + 1, val);
    }
    return -EINVAL;
}

static const nt_conf_entry *s_find(const nt_conf_entry *const *tables,
                                   const char *key)
{
    for (size_t t = 0; tables[t]; t++) {
        for (const nt_conf_entry *e = tables[t]; e->key; e++) {
            size_t kl = strlen(e->key);
            if (e->type == NT_CONF_MAP) {
                if (strncasecmp(key, e->key, kl) == 0 && key[kl] == '.' &&
                    key[kl + 1])
                    return e;
            } else if (strcasecmp(key, e->key) == 0) {
                return e;
            }
        }
    }
    return NULL;
}

const nt_conf_entry *nt_conf_lookup(const nt_conf_entry *table,
                                    const char *key)
{
    const nt_conf_entry *tabs[] = {table, NULL};
    return key ? s_find(tabs, key) : NULL;
}

int nt_conf_set(const nt_conf_entry *e, void *base, const nt_kv *p,
                char *err, size_t errlen)
{
    if (s_set(e, base, p->key, p->value ? p->value : "") < 0) {
        snprintf(err, errlen, "%s%sinvalid value '%s' for '%s'",
                 p->where ? p->where : "", p->where ? ": " : "",
                 p->value ? p->value : "", p->key);
        return -EINVAL;
    }
    return 0;
}

int nt_conf_apply(const nt_conf_entry *const *tables, void *base,
                  const nt_kv *props, size_t nprops, char *err, size_t errlen)
{
    for (size_t t = 0; tables[t]; t++)
        for (const nt_conf_entry *e = tables[t]; e->key; e++)
            if (e->def && s_set(e, base, e->key, e->def) < 0) {
                snprintf(err, errlen, "bad default for '%s'", e->key);
                return -EINVAL;
            }
    for (size_t i = 0; i < nprops; i++) {
        const nt_kv *p = &props[i];
        const nt_conf_entry *e = p->key ? s_find(tables, p->key) : NULL;
        if (!e) {
            snprintf(err, errlen, "%s%sunknown configuration property '%s'",
                     p->where ? p->where : "", p->where ? ": " : "",
                     p->key ? p->key : "(null)");
            return -EINVAL;
        }
        if (nt_conf_set(e, base, p, err, errlen) < 0)
            return -EINVAL;
    }
    return 0;
}

void nt_conf_free(const nt_conf_entry *const *tables, void *base)
{
    for (size_t t = 0; tables[t]; t++) {
        for (const nt_conf_entry *e = tables[t]; e->key; e++) {
            void *f = (char *)base + e->offset;
            if (e->type == NT_CONF_STR) {
                free(*(char **)f);
                *(char **)f = NULL;
            } else if (e->type == NT_CONF_LIST) {
                s_list_free((nt_strlist *)f);
            } else if (e->type == NT_CONF_MAP) {
                nt_strmap *m = f;
                for (size_t i = 0; i < m->n; i++) {
                    free(m->keys[i]);
                    free(m->vals[i]);
                }
                free(m->keys);
                free(m->vals);
                memset(m, 0, sizeof(*m));
            }
        }
    }
}

size_t nt_conf_describe(const nt_conf_entry *table, char *buf, size_t len)
{
    static const char *tn[] = {"string", "int", "bool", "duration", "size",
                               "priority", "list", "map"};
    size_t used = 0;
    for (const nt_conf_entry *e = table; e->key; e++) {
        int n = snprintf(used < len ? buf + used : NULL,
                         used < len ? len - used : 0, "  %s%s (%s%s%s): %s\n",
                         e->key, e->type == NT_CONF_MAP ? ".<name>" : "",
                         tn[e->type], e->def ? ", default " : "",
                         e->def ? e->def : "", e->desc);
        if (n > 0)
            used += (size_t)n;
    }
    return used;
}
