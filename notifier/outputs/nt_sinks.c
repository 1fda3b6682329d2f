/*
 * nt_sinks.c - building outputs from configuration, and the set of
 * outputs the notifier fans out to.
 *
 * Owner: notifier outputs.
 *
 * The settings every output has are one config table (s_common_map);
 * each module adds its own (nt_plugin.config_map).  Both are applied to
 * the same flat property list, so an unknown key in either is an error.
 */
#include "nt_sink_int.h"

#include "tg_metrics.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define C(f) offsetof(nt_common_conf, f)
static const nt_conf_entry s_common_map[] = {
    {NT_CONF_STR, "type", NULL, C(type), "output type"},
    {NT_CONF_STR, "name", NULL, C(name), "output name (default: the type)"},
    {NT_CONF_PRIO, "min_priority", "debug", C(route.min_priority),
     "least severe priority sent (emergency ... debug)"},
    {NT_CONF_LIST, "rules", NULL, C(route.rules),
     "only these rules (exact, or prefix ending in '*')"},
    {NT_CONF_LIST, "rules_exclude", NULL, C(route.rules_exclude),
     "never these rules"},
    {NT_CONF_LIST, "tags", NULL, C(route.tags),
     "only alerts with one of these tags (exact or 'PREFIX*')"},
    {NT_CONF_LIST, "tags_exclude", NULL, C(route.tags_exclude),
     "never alerts with one of these tags"},
    {NT_CONF_INT, "batch_size", "0", C(batch_size),
     "alerts per batch (0: the type's default)"},
    {NT_CONF_MS, "flush_interval", "0", C(flush_ms),
     "send a partial batch after this long (0: the type's default)"},
    {NT_CONF_MS, "retry_initial", "500ms", C(retry_initial),
     "first retry delay (doubles, with jitter)"},
    {NT_CONF_MS, "retry_max", "30s", C(retry_max), "longest retry delay"},
    {NT_CONF_INT, "retry_attempts", "5", C(retry_attempts),
     "failed tries before the output counts as down and spools"},
    {NT_CONF_BOOL, "spool", "true", C(spool_on),
     "spool to disk while down (needs spool_dir or state_dir)"},
    {NT_CONF_STR, "spool_dir", NULL, C(spool_dir),
     "spool directory (default <state_dir>/spool/<name>)"},
    {NT_CONF_SIZE, "spool_max_size", "256M", C(spool_max),
     "spool bound; oldest alerts are dropped (and counted) past it"},
    {NT_CONF_SIZE, "spool_segment_size", "4M", C(spool_seg),
     "spool segment file size"},
    {NT_CONF_INT, "rate_limit", "0", C(rate_limit),
     "requests per second (0: the type's default, -1: unlimited)"},
    {NT_CONF_INT, "rate_burst", "0", C(rate_burst),
     "rate limit burst (0: the type's default)"},
    {NT_CONF_MS, "suppress_window", "0", C(suppress_ms),
     "drop repeats of rule+principal within this window (0: off)"},
    {NT_CONF_INT, "queue_max", "100000", C(queue_max),
     "alerts held in memory; beyond it submit() answers -EAGAIN"},
    {0, NULL, NULL, 0, NULL},
};
#undef C

static const nt_plugin *const s_plugins[] = {
    &nt_plugin_stdout, &nt_plugin_file, &nt_plugin_webhook, &nt_plugin_http,
    &nt_plugin_syslog, &nt_plugin_securityhub, &nt_plugin_cloudwatch,
};
#define S_NPLUGINS (sizeof(s_plugins) / sizeof(s_plugins[0]))

static const nt_plugin *s_find_plugin(const char *type)
{
    for (size_t i = 0; type && i < S_NPLUGINS; i++)
        if (strcmp(s_plugins[i]->name, type) == 0)
            return s_plugins[i];
    return NULL;
}

size_t nt_sink_types(const char *const **names)
{
    static const char *const n[] = {"stdout", "file", "webhook", "http",
                                    "syslog", "securityhub", "cloudwatch"};
    *names = n;
    return S_NPLUGINS;
}

size_t nt_sink_describe(const char *type, char *buf, size_t len)
{
    const nt_plugin *p = s_find_plugin(type);
    if (!p)
        return 0;
    size_t used = nt_conf_describe(p->config_map, buf, len);
    used += nt_conf_describe(s_common_map, used < len ? buf + used : NULL,
                             used < len ? len - used : 0);
    return used;
}

static void s_metrics(nt_sink *o)
{
    tg_metrics *r = o->env.metrics;
    if (!r)
        return;
    const char *l[] = {"output", o->name, "type", o->plugin->name, NULL};
#define S_CTR(f, n, h) o->m.f = tg_metrics_counter(r, "trailguard_output_" n, h, l)
    S_CTR(sent, "sent_total", "Alerts delivered");
    S_CTR(failed, "failed_total", "Alerts rejected by the destination");
    S_CTR(retried, "retried_total", "Alert delivery retries");
    S_CTR(spooled, "spooled_total", "Alerts written to the spool");
    S_CTR(dropped, "dropped_total", "Spooled alerts dropped over the limit");
    S_CTR(suppressed, "suppressed_total", "Repeats suppressed");
    S_CTR(filtered, "filtered_total", "Alerts not routed to the output");
    S_CTR(requests, "requests_total", "Batches sent (each try)");
#undef S_CTR
    o->m.spool_depth = tg_metrics_gauge(r, "trailguard_output_spool_depth",
                                        "Alerts waiting in the spool", l);
    o->m.latency = tg_metrics_histogram(r, "trailguard_output_latency_seconds",
                                        "Submit to delivery", l, NULL, 0);
}

static int s_open_spool(nt_sink *o, char *err, size_t errlen)
{
    if (!o->c.spool_on)
        return 0;
    char dir[4096];
    if (o->c.spool_dir)
        snprintf(dir, sizeof(dir), "%s", o->c.spool_dir);
    else if (o->env.state_dir)
        snprintf(dir, sizeof(dir), "%s/spool/%s", o->env.state_dir, o->name);
    else
        return 0;
    if (!o->c.spool_dir) { /* the name is one path component */
        size_t off = strlen(o->env.state_dir) + strlen("/spool/");
        for (char *q = dir + (off < strlen(dir) ? off : strlen(dir)); *q; q++)
            if (*q == '/' || (q[0] == '.' && q[1] == '.'))
                *q = '_';
    }
    nt_spool_opts so = {.max_bytes = (uint64_t)o->c.spool_max,
                        .seg_bytes = (uint64_t)o->c.spool_seg};
    o->spool = nt_spool_open(dir, &so, err, errlen);
    if (!o->spool)
        return -EIO;
    if (nt_spool_depth(o->spool) > 0)
        o->down = 1; /* replay what a previous run left */
    return 0;
}

void nt_out_free(nt_sink *o)
{
    if (!o)
        return;
    const nt_conf_entry *tabs[] = {s_common_map,
                                   o->plugin ? o->plugin->config_map : NULL,
                                   NULL};
    const nt_conf_entry *ctab[] = {s_common_map, NULL};
    if (o->ctx && o->plugin)
        nt_conf_free(tabs + 1, o->ctx);
    nt_conf_free(ctab, &o->c);
    nt_spool_close(o->spool);
    nt_suppress_free(o->supp);
    free(o->ctx);
    free(o->batch);
    free(o->views);
    free(o->bidx);
    free(o->results);
    free(o->peek);
    free(o->name);
    free(o);
}

nt_sink *nt_sink_new(const nt_sink_env *env, const char *type,
                     const char *name, const nt_kv *props, size_t nprops,
                     char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    const nt_plugin *p = s_find_plugin(type);
    if (!p) {
        snprintf(err, errlen, "unknown output type '%s'", type ? type : "");
        return NULL;
    }
    nt_sink *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->env = *env;
    o->plugin = p;
    o->ctx = calloc(1, p->ctx_size);
    const nt_conf_entry *tabs[] = {s_common_map, p->config_map, NULL};
    if (!o->ctx)
        goto fail;
    const nt_conf_entry *ctab[] = {s_common_map, NULL};
    if (nt_conf_apply(ctab, &o->c, NULL, 0, err, errlen) < 0 ||
        nt_conf_apply(tabs + 1, o->ctx, NULL, 0, err, errlen) < 0)
        goto fail;
    /* each property goes to the table that names it */
    for (size_t i = 0; i < nprops; i++) {
        const nt_kv *kv = &props[i];
        const nt_conf_entry *e = nt_conf_lookup(p->config_map, kv->key);
        void *base = o->ctx;
        if (!e) {
            e = nt_conf_lookup(s_common_map, kv->key);
            base = &o->c;
        }
        if (!e) {
            snprintf(err, errlen, "%s%sunknown configuration property '%s' "
                     "for output type %s", kv->where ? kv->where : "",
                     kv->where ? ": " : "", kv->key ? kv->key : "", type);
            goto fail;
        }
        if (nt_conf_set(e, base, kv, err, errlen) < 0)
            goto fail;
    }
    o->name = strdup(name ? name : o->c.name ? o->c.name : type);
    if (o->c.batch_size <= 0)
        o->c.batch_size = p->default_batch_size > 0 ? p->default_batch_size : 1;
    if (o->c.batch_size > 100000)
        o->c.batch_size = 100000;
    if (o->c.queue_max < o->c.batch_size)
        o->c.queue_max = o->c.batch_size;
    if (o->c.flush_ms <= 0)
        o->c.flush_ms = p->default_flush_ms > 0 ? p->default_flush_ms : 1000;
    if (o->c.rate_limit == 0)
        o->c.rate_limit = p->default_rate_limit;
    if (o->c.rate_burst <= 0)
        o->c.rate_burst = p->default_rate_burst > 0 ? p->default_rate_burst : 1;
    if (o->c.retry_initial <= 0)
        o->c.retry_initial = 1;
    if (o->c.retry_max < o->c.retry_initial)
        o->c.retry_max = o->c.retry_initial;
    if (o->c.retry_attempts < 1)
        o->c.retry_attempts = 1;
    size_t bs = (size_t)o->c.batch_size;
    o->batch = calloc(bs, sizeof(*o->batch));
    o->views = calloc(bs, sizeof(*o->views));
    o->bidx = calloc(bs, sizeof(*o->bidx));
    o->results = calloc(bs, 1);
    o->peek = calloc(bs, sizeof(*o->peek));
    if (!o->name || !o->batch || !o->views || !o->bidx || !o->results ||
        !o->peek)
        goto fail;
    if (o->c.suppress_ms > 0 &&
        !(o->supp = nt_suppress_new((uint64_t)o->c.suppress_ms, 65536)))
        goto fail;
    if (s_open_spool(o, err, errlen) < 0)
        goto fail;
    o->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)o ^ 0x9e3779b97f4a7c15ull;
    o->tokens = o->c.rate_burst > 0 ? (double)o->c.rate_burst : 1.0;
    o->penv.loop = env->loop;
    o->penv.name = o->name;
    o->penv.env = &o->env;
    if (p->init(o->ctx, &o->penv, err, errlen) < 0)
        goto fail;
    o->plugin_ready = 1;
    uv_timer_init(env->loop, &o->t_flush);
    uv_timer_init(env->loop, &o->t_retry);
    uv_timer_init(env->loop, &o->t_defer);
    o->t_flush.data = o->t_retry.data = o->t_defer.data = o;
    o->tok_ms = uv_now(env->loop);
    s_metrics(o);
    o->st.spool_depth = o->spool ? nt_spool_depth(o->spool) : 0;
    tg_metric_set(o->m.spool_depth, (double)o->st.spool_depth);
    if (o->down)
        uv_timer_start(&o->t_defer, nt_out_on_defer, 0, 0);
    return o;
fail:
    if (!err[0])
        snprintf(err, errlen, "out of memory");
    nt_out_free(o);
    return NULL;
}

/* ---- the set ------------------------------------------------------- */

struct nt_sinks {
    nt_sink **v;
    size_t n;
    size_t closing;
    void (*closed)(void *);
    void *closed_data;
};

typedef struct s_fan {
    nt_done_cb cb;
    void *data;
    size_t remaining;
    int status;
} s_fan;

static void s_fan_done(int status, void *data)
{
    s_fan *f = data;
    if (status > f->status)
        f->status = status;
    if (--f->remaining == 0) {
        f->cb(f->status, f->data);
        free(f);
    }
}

nt_sinks *nt_sinks_new(const nt_sink_env *env,
                       const nt_sink_conf *confs, size_t n,
                       char *err, size_t errlen)
{
    nt_sinks *s = calloc(1, sizeof(*s));
    if (!s || !(s->v = calloc(n ? n : 1, sizeof(*s->v)))) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char name[128];
        const char *base = confs[i].name ? confs[i].name : confs[i].type;
        snprintf(name, sizeof(name), "%s", base ? base : "");
        for (int k = 2;; k++) {
            size_t j = 0;
            while (j < s->n && strcmp(nt_sink_name(s->v[j]), name) != 0)
                j++;
            if (j == s->n)
                break;
            snprintf(name, sizeof(name), "%s-%d", base, k);
        }
        char e[512] = "";
        s->v[s->n] = nt_sink_new(env, confs[i].type, name, confs[i].props,
                                   confs[i].nprops, e, sizeof(e));
        if (!s->v[s->n]) {
            snprintf(err, errlen, "output %zu (%s): %s", i,
                     confs[i].type ? confs[i].type : "?", e);
            nt_sinks_close(s, NULL, NULL);
            return NULL;
        }
        s->n++;
    }
    return s;
}

int nt_sinks_submit(nt_sinks *s, const nt_alert *alerts, size_t n,
                    nt_done_cb cb, void *data)
{
    s_fan *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->cb = cb;
    f->data = data;
    f->remaining = 1;
    for (size_t i = 0; i < s->n; i++) {
        f->remaining++;
        if (nt_sink_submit(s->v[i], alerts, n, s_fan_done, f) < 0) {
            f->remaining--;
            f->status = NT_CANCELLED;
        }
    }
    if (f->remaining == 1) {
        /* no output took it: nothing will call back */
        free(f);
        return s->n ? -ESHUTDOWN : -ENOENT;
    }
    f->remaining--;
    return 0;
}

void nt_sinks_flush(nt_sinks *s)
{
    for (size_t i = 0; i < s->n; i++)
        nt_sink_flush(s->v[i]);
}

int nt_sinks_reopen(nt_sinks *s)
{
    int first = 0;
    for (size_t i = 0; i < s->n; i++) {
        int rc = nt_sink_reopen(s->v[i]);
        if (rc < 0 && first == 0)
            first = rc;
    }
    return first;
}

size_t nt_sinks_count(const nt_sinks *s)
{
    return s->n;
}

nt_sink *nt_sinks_get(nt_sinks *s, size_t i)
{
    return i < s->n ? s->v[i] : NULL;
}

static void s_one_closed(void *data)
{
    nt_sinks *s = data;
    if (--s->closing > 0)
        return;
    void (*cb)(void *) = s->closed;
    void *cd = s->closed_data;
    free(s->v);
    free(s);
    if (cb)
        cb(cd);
}

void nt_sinks_close(nt_sinks *s, void (*closed)(void *data), void *data)
{
    if (!s)
        return;
    s->closed = closed;
    s->closed_data = data;
    s->closing = s->n + 1;
    for (size_t i = 0; i < s->n; i++)
        nt_sink_close(s->v[i], s_one_closed, s);
    s_one_closed(s);
}
