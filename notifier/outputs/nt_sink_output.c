/*
 * nt_sink_output.c - sinks behind the daemon's nt_output interface, and
 * the notifier.outputs configuration list (see nt_sink_output.h).
 *
 * Owner: notifier outputs.
 */
#include "nt_sink_output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_wrap {
    nt_output base;           /* first: the daemon casts */
    nt_sink *sink;
} s_wrap;

typedef struct s_write {
    nt_output_done_fn done;
    void *ud;
} s_write;

static void s_on_done(int status, void *data)
{
    s_write *w = data;
    w->done(w->ud, status == NT_CANCELLED ? -ECANCELED : 0);
    free(w);
}

static int s_write_fn(nt_output *o, const nt_alert *alerts, size_t n,
                      nt_output_done_fn done, void *ud, char *err,
                      size_t errlen)
{
    s_wrap *x = (s_wrap *)o;
    s_write *w = malloc(sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    w->done = done;
    w->ud = ud;
    int rc = nt_sink_submit(x->sink, alerts, n, s_on_done, w);
    if (rc < 0) {
        free(w);
        snprintf(err, errlen, "output %s: %s", x->base.name, strerror(-rc));
        return rc;
    }
    /* the daemon hands over the next batch only after this one is done:
     * waiting flush_interval for more alerts would only add latency */
    nt_sink_flush(x->sink);
    return NT_OUTPUT_PENDING;
}

static int s_flush_fn(nt_output *o)
{
    nt_sink_flush(((s_wrap *)o)->sink);
    return 0;
}

static int s_reopen_fn(nt_output *o, char *err, size_t errlen)
{
    s_wrap *x = (s_wrap *)o;
    int rc = nt_sink_reopen(x->sink);
    if (rc < 0)
        snprintf(err, errlen, "output %s: reopen: %s", x->base.name,
                 strerror(-rc));
    return rc;
}

static void s_closed(void *data)
{
    free(data);
}

static void s_free_fn(nt_output *o)
{
    if (!o)
        return;
    s_wrap *x = (s_wrap *)o;
    nt_sink_close(x->sink, s_closed, x);
}

static const nt_output_ops s_ops = {
    .kind = "sink",
    .write = s_write_fn,
    .flush = s_flush_fn,
    .reopen = s_reopen_fn,
    .free = s_free_fn,
};

nt_output *nt_sink_output_new(const nt_sink_env *env, const char *type,
                              const char *name, const nt_kv *props,
                              size_t nprops, char *err, size_t errlen)
{
    s_wrap *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->sink = nt_sink_new(env, type, name, props, nprops, err, errlen);
    if (!x->sink) {
        free(x);
        return NULL;
    }
    x->base.ops = &s_ops;
    x->base.min_priority = NT_PRIO_DEBUG;
    snprintf(x->base.name, sizeof(x->base.name), "%s", nt_sink_name(x->sink));
    return &x->base;
}

nt_sink *nt_sink_output_sink(nt_output *o)
{
    return o && o->ops == &s_ops ? ((s_wrap *)o)->sink : NULL;
}

/* ---- configuration --------------------------------------------------- */

typedef struct s_props {
    nt_kv *kv;
    size_t n;
    char **owned;             /* strings to free */
    size_t nowned;
} s_props;

static const char *s_keep(s_props *p, char *s)
{
    char **no = realloc(p->owned, (p->nowned + 1) * sizeof(char *));
    if (!no || !s) {
        free(s);
        return NULL;
    }
    p->owned = no;
    p->owned[p->nowned++] = s;
    return s;
}

static int s_add(s_props *p, const char *key, const char *val,
                 const tg_conf_node *at)
{
    char where[512];
    snprintf(where, sizeof(where), "%s:%d:%d", at->file, at->line, at->col);
    nt_kv *nk = realloc(p->kv, (p->n + 1) * sizeof(nt_kv));
    if (!nk)
        return -ENOMEM;
    p->kv = nk;
    p->kv[p->n].key = s_keep(p, strdup(key));
    p->kv[p->n].value = s_keep(p, strdup(val));
    p->kv[p->n].where = s_keep(p, strdup(where));
    p->n++;
    return 0;
}

static int s_flatten(s_props *p, const tg_conf_node *map, const char *prefix,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < map->npairs; i++) {
        const tg_conf_node *k = map->pairs[i].key, *v = map->pairs[i].value;
        char key[256];
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k->str);
        int rc = 0;
        if (v->kind == TG_CONF_SCALAR) {
            rc = s_add(p, key, tg_conf_node_is_null(v) ? "" : v->str, v);
        } else if (v->kind == TG_CONF_MAP) {
            rc = s_flatten(p, v, key, err, errlen);
        } else {
            char list[4096] = "";
            size_t used = 0;
            for (size_t j = 0; j < v->nitems; j++) {
                const tg_conf_node *it = v->items[j];
                if (it->kind != TG_CONF_SCALAR || strchr(it->str, ',')) {
                    snprintf(err, errlen, "%s:%d:%d: '%s' must be a list of "
                             "names without commas", it->file, it->line,
                             it->col, key);
                    return -EINVAL;
                }
                int w = snprintf(list + used, sizeof(list) - used, "%s%s",
                                 j ? "," : "", it->str);
                if (w < 0 || (size_t)w >= sizeof(list) - used) {
                    snprintf(err, errlen, "%s:%d:%d: list '%s' too long",
                             v->file, v->line, v->col, key);
                    return -EINVAL;
                }
                used += (size_t)w;
            }
            rc = s_add(p, key, list, v);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void s_props_fini(s_props *p)
{
    for (size_t i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->kv);
}

int nt_sink_outputs_from_conf(const nt_sink_env *env, const tg_conf_node *list,
                              nt_output **out, size_t max, size_t *n,
                              char *err, size_t errlen)
{
    if (!list || tg_conf_node_is_null(list))
        return 0;
    if (list->kind != TG_CONF_SEQ) {
        snprintf(err, errlen, "%s:%d:%d: notifier.outputs must be a list",
                 list->file, list->line, list->col);
        return -EINVAL;
    }
    for (size_t i = 0; i < list->nitems; i++) {
        const tg_conf_node *m = list->items[i];
        if (m->kind != TG_CONF_MAP) {
            snprintf(err, errlen, "%s:%d:%d: an output must be a mapping "
                     "with a 'type'", m->file, m->line, m->col);
            return -EINVAL;
        }
        const tg_conf_node *type = tg_conf_map_get(m, "type");
        const tg_conf_node *name = tg_conf_map_get(m, "name");
        if (!type || type->kind != TG_CONF_SCALAR) {
            snprintf(err, errlen, "%s:%d:%d: output without 'type'", m->file,
                     m->line, m->col);
            return -EINVAL;
        }
        if (*n >= max) {
            snprintf(err, errlen, "%s:%d:%d: too many outputs (max %zu)",
                     m->file, m->line, m->col, max);
            return -EINVAL;
        }
        s_props p = {0};
        int rc = s_flatten(&p, m, "", err, errlen);
        char e[400] = "";
        nt_output *o = NULL;
        if (rc == 0) {
            char uname[64];
            snprintf(uname, sizeof(uname), "%s-%zu", type->str, i + 1);
            o = nt_sink_output_new(env, type->str,
                                   name && name->kind == TG_CONF_SCALAR
                                       ? name->str : uname,
                                   p.kv, p.n, e, sizeof(e));
            if (!o) {
                snprintf(err, errlen, "%s:%d:%d: output %s: %s", m->file,
                         m->line, m->col, type->str, e);
                rc = -EINVAL;
            }
        }
        s_props_fini(&p);
        if (rc < 0)
            return rc;
        out[(*n)++] = o;
    }
    return 0;
}
