/*
 * ev_daemon.c - the evaluator daemon; see ev_daemon.h for the design.
 */
#include "ev_daemon.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

#include "ev_batch.h"
#include "ev_ct.h"
#include "ev_engine.h"
#include "tg_log.h"
#include "tg_metrics.h"
#include "tg_msg.h"
#include "tg_shm.h"
#include "tg_zsock.h"

#define S_DRAIN_MS 5000

#ifndef TG_DATADIR
#define TG_DATADIR "/usr/local/share/trailguard"
#endif

const tg_conf_entry ev_config_table[] = {
    { TG_CONF_STRLIST, "connect", "ipc:///run/trailguard/batches",
      offsetof(ev_config, connect), "parser batch endpoints to connect to" },
    { TG_CONF_STR, "notifier", "ipc:///run/trailguard/alerts",
      offsetof(ev_config, notifier), "notifier alert endpoint" },
    { TG_CONF_STRLIST, "rules", TG_DATADIR "/rules",
      offsetof(ev_config, rules), "Falco rules files or directories (*.yaml, *.yml)" },
    { TG_CONF_STR, "rule_matching", "all", offsetof(ev_config, rule_matching),
      "all: every matching rule alerts; first: only the first (Falco's default)" },
    { TG_CONF_STR, "min_priority", "debug", offsetof(ev_config, min_priority),
      "rules below this priority are disabled" },
    { TG_CONF_STR, "hostname", NULL, offsetof(ev_config, hostname),
      "evt.hostname (default: the host name)" },
    { TG_CONF_UINT, "rcvhwm", "4", offsetof(ev_config, rcvhwm),
      "batch frames queued per parser connection (about 1 MiB each)" },
    { TG_CONF_UINT, "sndhwm", "64", offsetof(ev_config, sndhwm),
      "alert frames queued towards the notifier" },
    { TG_CONF_UINT, "metrics.port", "9103", offsetof(ev_config, metrics_port),
      "Prometheus port (0 = ephemeral)" },
    TG_CONF_END,
};

struct ev_daemon {
    uv_loop_t *loop;
    tg_msg_logbudget badlog;    /* rate limit for bad-frame lines */
    tg_msg_logbudget shmlog;    /* and for unreadable shm segments */
    uint64_t drops_seen;        /* tg_zsock drops already counted */
    void *zctx;
    tg_curve *curve;            /* CURVE keys and ZAP handler */
    tg_zsock *in, *out;
    tg_metrics *reg;
    tg_metrics_server *msrv;
    uv_timer_t drain, stats;
    ev_config cfg;              /* owned copies: rules, rule_matching, ... */
    char *hostname;
    ev_ct_ctx ct_ctx;
    ev_source ct_src;
    ev_engine *engine;
    char *ruleset;
    ev_batch *batch;            /* per-batch evaluation state */
    msgpack_zone zone;
    msgpack_sbuffer sbuf;       /* the outgoing frame */
    tg_shm_reader *shm;         /* batches a parser on this host shared */
    bool pending, stopping, closed;
    tg_metric *m_lag;
    tg_metric *m_frames_in, *m_frames_out, *m_records_in, *m_alerts,
        *m_err_bad, *m_err_send, *m_inflight, *m_queue, *m_latency,
        *m_rules, *m_reload_ok, *m_reload_fail, *m_decode_errors, *m_shm,
        *m_err_shm;
};

/* ---- rules ----------------------------------------------------------- */

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool s_is_rules_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' &&
           ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
            (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

/* Load one file, or the .yaml/.yml files of a directory in name order.
 * Returns the number of files loaded, or -1 with the reason logged. */
static int s_load_path(ev_engine *e, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        tg_log_error("rules path %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        ev_engine_load_file(e, path);
        return 1;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        tg_log_error("rules directory %s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!s_is_rules_file(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                abort();
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(dir);
    qsort(names, n, sizeof(*names), s_cmp);
    int loaded = 0;
    for (size_t i = 0; i < n; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, names[i]);
        free(names[i]);
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            ev_engine_load_file(e, file);
            loaded++;
        }
    }
    free(names);
    return loaded;
}

static ev_engine *s_engine_build(ev_daemon *d)
{
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.matching = (d->cfg.rule_matching && strcmp(d->cfg.rule_matching, "first") == 0)
                     ? EV_MATCH_FIRST : EV_MATCH_ALL;
    ev_priority p;
    if (d->cfg.min_priority && ev_priority_parse(d->cfg.min_priority, &p) == 0)
        o.min_priority = p;
    o.hostname = d->hostname;
    const ev_source *srcs[1] = { &d->ct_src };
    ev_engine *e = ev_engine_new(srcs, 1, &o);
    if (!e)
        return NULL;
    int files = 0, bad = 0;
    for (size_t i = 0; i < d->cfg.rules.n; i++) {
        int rc = s_load_path(e, d->cfg.rules.v[i]);
        if (rc < 0)
            bad++;
        else
            files += rc;
    }
    ev_strbuf sb;
    ev_strbuf_init(&sb);
    for (size_t i = 0; i < ev_engine_ndiags(e); i++) {
        const ev_diag *dg = ev_engine_diag(e, i);
        ev_strbuf_reset(&sb);
        ev_diag_format(dg, &sb);
        if (dg->error)
            tg_log_error("rules: %s", sb.p);
        else
            tg_log_debug("rules: %s", sb.p);
    }
    ev_strbuf_fini(&sb);
    if (bad || !ev_engine_ok(e) || files == 0) {
        if (files == 0 && !bad)
            tg_log_error("no rules files found");
        ev_engine_free(e);
        return NULL;
    }
    tg_log_info("rules loaded files=%d rules=%zu enabled=%zu ruleset=%s",
                files, ev_engine_nrules(e), ev_engine_nenabled(e),
                ev_engine_ruleset_hash(e));
    return e;
}

static void s_engine_install(ev_daemon *d, ev_engine *e)
{
    ev_engine_free(d->engine);
    d->engine = e;
    free(d->ruleset);
    d->ruleset = strdup(ev_engine_ruleset_hash(e));
    tg_metric_set(d->m_rules, (double)ev_engine_nenabled(e));
}

int ev_daemon_reload(ev_daemon *d)
{
    ev_engine *e = s_engine_build(d);
    if (!e) {
        tg_metric_inc(d->m_reload_fail);
        tg_log_error("rules reload rejected; the previous rule set keeps running ruleset=%s",
                     d->ruleset);
        return -EINVAL;
    }
    s_engine_install(d, e);
    tg_metric_inc(d->m_reload_ok);
    tg_log_info("rules reloaded ruleset=%s", d->ruleset);
    return 0;
}

/* ---- evaluation ------------------------------------------------------ */

static void s_send_pending(ev_daemon *d)
{
    int rc = tg_zsock_send(d->out, d->sbuf.data, d->sbuf.size);
    if (rc == 0) {
        d->pending = false;
        tg_metric_inc(d->m_frames_out);
        tg_metric_set(d->m_queue, 0);
        if (!d->stopping)
            tg_zsock_resume_recv(d->in);
        return;
    }
    if (rc == -EAGAIN) {
        d->pending = true;
        tg_metric_set(d->m_queue, 1);
        tg_zsock_pause_recv(d->in);
        return;
    }
    d->pending = false;
    tg_metric_inc(d->m_err_send);
    tg_log_error("alerts frame send failed error=%s", tg_strerror(rc));
}

/* Frames tg_zsock dropped below the receive callback (multi-part,
 * oversized) count as bad frames too. */
static void s_close_all(ev_daemon *d);

static void s_on_writable(tg_zsock *s, void *ud)
{
    ev_daemon *d = ud;
    (void)s;
    if (d->pending)
        s_send_pending(d);
    if (d->stopping && !d->pending)
        s_close_all(d);
}

static void s_evaluate(ev_daemon *d, const tg_msg_batch *b)
{
    uint64_t t0 = uv_hrtime();
    ev_batch_result res;
    d->sbuf.size = 0;
    ev_batch_run(d->batch, d->engine, d->ruleset, b, &d->sbuf, &res);
    tg_metric_add(d->m_records_in, res.nrecords);
    tg_metric_add(d->m_alerts, (double)res.nalerts);
    tg_metric_add(d->m_decode_errors, b->nerrors);
    tg_metric_observe(d->m_latency, (double)(uv_hrtime() - t0) / 1e9);
    s_send_pending(d);
}

static void s_bad_frame(ev_daemon *d, size_t len, const char *err)
{
    tg_metric_inc(d->m_err_bad);
    if (tg_msg_log_ok(&d->badlog, uv_now(d->loop), 10)) {
        tg_log_warn("bad frame dropped socket=batches bytes=%zu error=%s", len, err);
        if (d->badlog.suppressed) {
            tg_log_warn("bad frames not logged (rate limit) count=%u", d->badlog.suppressed);
            d->badlog.suppressed = 0;
        }
    }
}

/*
 * A shm frame: claim the segment it names and decode the batch frame
 * there.  A segment that cannot be read costs this batch only: its job is
 * not acknowledged, so the fetcher delivers it again.
 */
static int s_claim_shm(ev_daemon *d, tg_msg *m, char *err, size_t errlen)
{
    const char *frame;
    tg_msg_shm ref = m->u.shm;
    int rc = tg_shm_reader_claim(d->shm, &ref, &frame, err, errlen);
    if (rc) {
        tg_metric_inc(d->m_err_shm);
        /* forged references must not flood the log either */
        if (tg_msg_log_ok(&d->shmlog, uv_now(d->loop), 10))
            tg_log_error("batch not evaluated: %s", err);
        return rc;
    }
    tg_metric_inc(d->m_shm);
    msgpack_zone_clear(&d->zone);
    rc = tg_msg_decode(frame, (size_t)ref.len, 64u << 20, &d->zone, m, err, errlen);
    if (rc == 0 && m->kind != TG_MSG_BATCH) {
        rc = TG_MSG_E_UNEXPECTED;
        snprintf(err, errlen, "shm segment: expected batch, got %s",
                 tg_msg_kind_name(m->kind));
    }
    if (rc) {
        tg_shm_reader_release(d->shm);
        s_bad_frame(d, (size_t)ref.len, err);
    }
    return rc;
}

static void s_on_recv(tg_zsock *s, const void *data, size_t len, void *ud)
{
    ev_daemon *d = ud;
    char err[320];
    tg_msg m;
    (void)s;
    if (d->pending || d->closed)
        return; /* cannot happen while paused; be safe */
    tg_metric_inc(d->m_frames_in);
    msgpack_zone_clear(&d->zone);
    int rc = tg_msg_decode(data, len, 64u << 20, &d->zone, &m, err, sizeof err);
    if (rc == 0 && m.kind == TG_MSG_SHM) {
        if (s_claim_shm(d, &m, err, sizeof err) != 0)
            return;
    } else if (rc == 0 && m.kind != TG_MSG_BATCH) {
        rc = TG_MSG_E_UNEXPECTED;
        snprintf(err, sizeof err, "expected batch, got %s", tg_msg_kind_name(m.kind));
    }
    if (rc) {
        s_bad_frame(d, len, err);
        return;
    }
    s_evaluate(d, &m.u.batch);
    tg_shm_reader_release(d->shm); /* the alerts frame holds copies */
}

/* ---- lifecycle ------------------------------------------------------- */

static void s_on_stats(uv_timer_t *t)
{
    ev_daemon *d = t->data;
    tg_metric_add(d->m_err_bad, (double)tg_zsock_dropped_new(d->in, &d->drops_seen));
    tg_shm_reader_trim(d->shm, uv_now(d->loop));
}

static void s_on_drain(uv_timer_t *t)
{
    ev_daemon *d = t->data;
    if (d->pending)
        tg_log_warn("drain timeout: one alerts frame not delivered");
    s_close_all(d);
}

static void s_close_all(ev_daemon *d)
{
    if (d->closed)
        return;
    d->closed = true;
    uv_timer_stop(&d->drain);
    uv_close((uv_handle_t *)&d->drain, NULL);
    uv_timer_stop(&d->stats);
    uv_close((uv_handle_t *)&d->stats, NULL);
    tg_zsock_close(d->in);
    tg_zsock_close(d->out);
    d->in = d->out = NULL;
    tg_metrics_server_close(d->msrv);
    d->msrv = NULL;
}

void ev_daemon_stop(ev_daemon *d)
{
    if (d->stopping || d->closed)
        return;
    d->stopping = true;
    tg_zsock_pause_recv(d->in);
    if (!d->pending) {
        s_close_all(d);
        return;
    }
    uv_timer_start(&d->drain, s_on_drain, S_DRAIN_MS, 0);
}

static void s_metrics_init(ev_daemon *d)
{
    tg_metrics *r = d->reg;
    d->m_frames_in = tg_metrics_counter(r, "trailguard_frames_in_total",
        "Frames received", (const char *[]){ "kind", "batch", NULL });
    d->m_frames_out = tg_metrics_counter(r, "trailguard_frames_out_total",
        "Frames sent downstream", (const char *[]){ "kind", "alerts", NULL });
    d->m_records_in = tg_metrics_counter(r, "trailguard_records_in_total",
        "Records evaluated", NULL);
    d->m_shm = tg_metrics_counter(r, "trailguard_shm_batches_total",
        "Batch frames read from a parser's shared memory segment", NULL);
    d->m_err_shm = tg_metrics_counter(r, "trailguard_errors_total",
        "Errors by kind", (const char *[]){ "kind", "shm", NULL });
    d->m_alerts = tg_metrics_counter(r, "trailguard_records_out_total",
        "Alerts produced", NULL);
    d->m_decode_errors = tg_metrics_counter(r, "trailguard_decode_errors_seen_total",
        "Parser decode errors forwarded", NULL);
    d->m_err_bad = tg_metrics_counter(r, "trailguard_errors_total",
        "Errors by kind", (const char *[]){ "kind", "bad_frame", NULL });
    d->m_err_send = tg_metrics_counter(r, "trailguard_errors_total",
        "Errors by kind", (const char *[]){ "kind", "send", NULL });
    d->m_inflight = tg_metrics_gauge(r, "trailguard_inflight_jobs",
        "Jobs in flight (not tracked by the evaluator)", NULL);
    d->m_queue = tg_metrics_gauge(r, "trailguard_queue_length",
        "Alert frames waiting for the notifier socket", NULL);
    d->m_latency = tg_metrics_histogram(r, "trailguard_processing_seconds",
        "Time to evaluate one batch", NULL, NULL, 0);
    static const double lag_buckets[] = { 60, 300, 600, 900, 1800, 3600, 7200,
                                          21600, 86400, 604800 };
    d->m_lag = tg_metrics_histogram(r, "trailguard_event_lag_seconds",
        "Evaluation time minus the record's eventTime", NULL, lag_buckets,
        sizeof lag_buckets / sizeof lag_buckets[0]);
    d->m_rules = tg_metrics_gauge(r, "trailguard_rules_enabled",
        "Rules enabled in the running rule set", NULL);
    d->m_reload_ok = tg_metrics_counter(r, "trailguard_rules_reloads_total",
        "Rule reloads", (const char *[]){ "result", "ok", NULL });
    d->m_reload_fail = tg_metrics_counter(r, "trailguard_rules_reloads_total",
        "Rule reloads", (const char *[]){ "result", "rejected", NULL });
}

static char *s_dupv(const char *s)
{
    return s ? strdup(s) : NULL;
}

ev_daemon *ev_daemon_new(uv_loop_t *loop, const ev_config *cfg,
                         const tg_daemon_common *common, char *err,
                         size_t errlen)
{
    ev_daemon *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->loop = loop;
    d->cfg.rule_matching = s_dupv(cfg->rule_matching);
    d->cfg.min_priority = s_dupv(cfg->min_priority);
    d->hostname = s_dupv(cfg->hostname);
    d->cfg.rules.v = calloc(cfg->rules.n + 1, sizeof(char *));
    for (size_t i = 0; i < cfg->rules.n; i++)
        d->cfg.rules.v[i] = strdup(cfg->rules.v[i]);
    d->cfg.rules.n = cfg->rules.n;
    /* one chunk holds a whole batch (~64 KB of msgpack unpacks to ~150 KB
     * of objects): msgpack_zone_clear() keeps it, so no malloc per batch */
    msgpack_zone_init(&d->zone, 1 << 20);
    msgpack_sbuffer_init(&d->sbuf);
    ev_ct_source_init(&d->ct_src, &d->ct_ctx);
    uv_timer_init(loop, &d->drain);
    d->drain.data = d;
    uv_timer_init(loop, &d->stats);
    d->stats.data = d;
    uv_timer_start(&d->stats, s_on_stats, 1000, 1000);
    uv_unref((uv_handle_t *)&d->stats);
    d->reg = tg_metrics_new();
    if (!d->reg) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s_metrics_init(d);
    d->shm = tg_shm_reader_new(common->shm_dir, 64);
    if (!d->shm) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    d->batch = ev_batch_new(&(ev_batch_opts){ .hostname = d->hostname,
                                              .reg = d->reg, .lag = d->m_lag });
    if (cfg->rule_matching && strcmp(cfg->rule_matching, "all") != 0 &&
        strcmp(cfg->rule_matching, "first") != 0) {
        snprintf(err, errlen, "rule_matching must be 'all' or 'first', not '%s'",
                 cfg->rule_matching);
        goto fail;
    }
    ev_engine *e = s_engine_build(d);
    if (!e) {
        snprintf(err, errlen, "the rules did not load (errors above)");
        goto fail;
    }
    s_engine_install(d, e);

    d->zctx = zmq_ctx_new();
    d->curve = tg_curve_new(loop, d->zctx, &common->curve, d->reg, err, errlen);
    if (!d->curve)
        goto fail;
    /* sockbuf: the parser's batch frames are ~1 MiB (see pa_daemon.c) */
    tg_zsock_opts io = { .rcvhwm = (int)cfg->rcvhwm, .max_msg_size = 64 << 20,
                         .sockbuf = 2 << 20 };
    d->in = tg_zsock_new(loop, d->zctx, ZMQ_PULL, NULL, false, &io, err, errlen);
    if (!d->in)
        goto fail;
    for (size_t i = 0; i < cfg->connect.n; i++) {
        int rc = tg_curve_connect(d->curve, d->in, cfg->connect.v[i]);
        if (rc) {
            snprintf(err, errlen, "connect %s: %s", cfg->connect.v[i], tg_strerror(rc));
            goto fail;
        }
    }
    tg_zsock_opts oo = { .sndhwm = (int)cfg->sndhwm, .linger_ms = S_DRAIN_MS,
                         .linger_set = true };
    if (tg_curve_client_opts(d->curve, &oo, cfg->notifier, err, errlen))
        goto fail;
    d->out = tg_zsock_new(loop, d->zctx, ZMQ_PUSH, cfg->notifier, false, &oo,
                          err, errlen);
    if (!d->out)
        goto fail;
    tg_zsock_on_writable(d->out, s_on_writable, d);
    tg_zsock_on_recv(d->in, s_on_recv, d);
    d->msrv = tg_metrics_serve(loop, d->reg, common->metrics_bind,
                               (int)cfg->metrics_port, common->metrics_token,
                               err, errlen);
    if (!d->msrv)
        goto fail;
    tg_metrics_set_ready(d->reg, true);
    return d;
fail:
    ev_daemon_free(d);
    return NULL;
}

int ev_daemon_metrics_port(const ev_daemon *d)
{
    return d->msrv ? tg_metrics_server_port(d->msrv) : -1;
}

const char *ev_daemon_ruleset(const ev_daemon *d)
{
    return d->ruleset ? d->ruleset : "";
}

void ev_daemon_free(ev_daemon *d)
{
    if (!d)
        return;
    s_close_all(d);
    tg_curve_close(d->curve);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    ev_engine_free(d->engine);
    ev_batch_free(d->batch);
    tg_shm_reader_free(d->shm);
    msgpack_zone_destroy(&d->zone);
    msgpack_sbuffer_destroy(&d->sbuf);
    tg_metrics_free(d->reg);
    for (size_t i = 0; i < d->cfg.rules.n; i++)
        free(d->cfg.rules.v[i]);
    free(d->cfg.rules.v);
    free(d->cfg.rule_matching);
    free(d->cfg.min_priority);
    free(d->hostname);
    free(d->ruleset);
    free(d);
}
