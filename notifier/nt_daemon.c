/*
 * nt_daemon.c - the notifier daemon; see nt_daemon.h for the design.
 */
#include "nt_daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "nt_dedup.h"
#include "nt_order.h"
#include "nt_output.h"
#ifdef TG_HAVE_OUTPUTS
#include "nt_sink_output.h"
#endif
#include "tg_log.h"
#include "tg_metrics.h"
#include "tg_msg.h"
#include "tg_zsock.h"

#define S_MAX_OUTPUTS 16
#define S_MAX_ACKERS 32
#define S_DRAIN_MS 5000
#define S_TICK_MS 500
#define S_MAX_HELD 256         /* frames held for per-job order */
#define S_MAX_JOBS 4096        /* jobs whose next batch index is known */
#define S_GROUP_FRAMES 64      /* frames delivered and synced together */
#define S_GROUP_BYTES (4u << 20)

const tg_conf_entry nt_config_table[] = {
    { TG_CONF_STR, "bind", "ipc:///run/trailguard/alerts", offsetof(nt_config, bind),
      "alert PULL endpoint (evaluators connect here)" },
    { TG_CONF_STRLIST, "output", "json", offsetof(nt_config, output),
      "outputs by spec: json, text (stdout), file:PATH, text-file:PATH, "
      "webhook:URL, http:URL, syslog:ADDRESS, securityhub[:REGION], "
      "cloudwatch:LOG_GROUP" },
    { TG_CONF_NODE, "outputs", NULL, offsetof(nt_config, outputs),
      "output modules (webhook, securityhub, ...): list of mappings" },
    { TG_CONF_STR, "min_priority", "debug", offsetof(nt_config, min_priority),
      "outputs given by spec (notifier.output) skip alerts less severe than this" },
    { TG_CONF_BOOL, "file_sync", "true", offsetof(nt_config, file_sync),
      "fdatasync output files before acknowledging a batch" },
    { TG_CONF_UINT, "dedup_window", "250000", offsetof(nt_config, dedup_window),
      "alert ids remembered to drop redelivered alerts" },
    { TG_CONF_STR, "dedup_journal", NULL, offsetof(nt_config, dedup_journal),
      "dedup journal path (default <state_dir>/notifier/dedup.journal)" },
    { TG_CONF_STR, "dedup_sync", "always", offsetof(nt_config, dedup_sync),
      "dedup journal durability: always, batch, never" },
    { TG_CONF_DURATION, "retry_interval", "1s", offsetof(nt_config, retry_interval),
      "retry a batch an output failed to take after this long" },
    { TG_CONF_DURATION, "order_wait", "120s", offsetof(nt_config, order_wait),
      "hold a job's batch this long for the batch before it (per-job order); "
      "0 = deliver in arrival order" },
    { TG_CONF_UINT, "group_max", "1", offsetof(nt_config, group_max),
      "alerts frames delivered, synced and acknowledged together at most "
      "(group commit, max 64; 1 = one batch at a time, so a crashed notifier "
      "repeats at most one batch; more = fewer syncs, up to a group repeated)" },
    { TG_CONF_UINT, "rcvhwm", "64", offsetof(nt_config, rcvhwm),
      "alert frames queued per evaluator connection" },
    { TG_CONF_UINT, "metrics.port", "9104", offsetof(nt_config, metrics_port),
      "Prometheus port (0 = ephemeral)" },
    TG_CONF_END,
};

/* One frame of the group: its bytes (its alerts point into them) and its
 * decoded header. */
typedef struct s_gframe {
    char *buf;
    size_t len, cap;
    tg_msg msg;
    uint64_t t0;
} s_gframe;

typedef struct s_acker {
    char *endpoint;
    tg_zsock *sock;
} s_acker;

struct nt_daemon {
    uv_loop_t *loop;
    tg_msg_logbudget badlog;    /* rate limit for bad-frame lines */
    uint64_t drops_seen;        /* tg_zsock drops already counted */
    void *zctx;
    tg_curve *curve;            /* CURVE keys and ZAP handler */
    tg_zsock *in;
    char *bind;
    tg_metrics *reg;
    tg_metrics_server *msrv;
    uv_timer_t retry, tick, drain;
    nt_output *out[S_MAX_OUTPUTS];
    size_t nout;
    nt_dedup *dedup;
    nt_order *order;            /* NULL: arrival order */
    s_acker ackers[S_MAX_ACKERS];
    size_t nackers;
    uint64_t retry_ms;
    size_t group_max;               /* frames per group, 1..S_GROUP_FRAMES */
    /* the group: the frames gathered in one loop turn, delivered, synced
     * and acknowledged together */
    bool busy, stopping, closed;    /* busy: the group is being delivered */
    uv_idle_t gather;               /* delivers after the receive burst */
    s_gframe group[S_GROUP_FRAMES];
    size_t ngroup, group_bytes;
    msgpack_zone zone;              /* the group's decoded frames */
    nt_alert *alerts, *subset;      /* every alert of the group, in order */
    const char **ids;
    size_t *idlens;
    nt_str *tags;
    size_t nalerts, cap, tags_cap;
    uint32_t *idset;                /* hash set over ids[] (index + 1) */
    size_t idset_cap;
    size_t next_out;
    msgpack_sbuffer sbuf;
    tg_metric *m_frames_in, *m_frames_out, *m_records_in, *m_records_out,
        *m_dups, *m_err_bad, *m_err_output, *m_err_ack, *m_err_journal,
        *m_inflight, *m_queue, *m_latency, *m_window, *m_decode_errors,
        *m_held, *m_late;
};

static int s_prio(tg_str p)
{
    static const char *const names[] = { "emergency", "alert", "critical",
        "error", "warning", "notice", "informational", "debug" };
    for (int i = 0; i < 8; i++)
        if (strlen(names[i]) == p.n && strncasecmp(names[i], p.p, p.n) == 0)
            return i;
    if (p.n == 4 && strncasecmp(p.p, "info", 4) == 0)
        return NT_PRIO_INFORMATIONAL;
    return NT_PRIO_DEBUG;
}

static nt_str s_nt(tg_str s)
{
    nt_str r = { s.n ? s.p : NULL, s.n };
    return r;
}

/* ---- acks ------------------------------------------------------------ */

static tg_zsock *s_acker_get(nt_daemon *d, tg_str ep)
{
    for (size_t i = 0; i < d->nackers; i++)
        if (strlen(d->ackers[i].endpoint) == ep.n &&
            memcmp(d->ackers[i].endpoint, ep.p, ep.n) == 0)
            return d->ackers[i].sock;
    if (ep.n == 0 || ep.n > 1024)
        return NULL;
    if (d->nackers == S_MAX_ACKERS) { /* recycle the oldest */
        tg_zsock_close(d->ackers[0].sock);
        free(d->ackers[0].endpoint);
        memmove(&d->ackers[0], &d->ackers[1], (S_MAX_ACKERS - 1) * sizeof(s_acker));
        d->nackers--;
    }
    char *e = strndup(ep.p, ep.n);
    char err[256];
    tg_zsock_opts o = { .sndhwm = 100000, .linger_ms = 2000, .linger_set = true };
    tg_zsock *s = NULL;
    if (tg_curve_client_opts(d->curve, &o, e, err, sizeof err) == 0)
        s = tg_zsock_new(d->loop, d->zctx, ZMQ_PUSH, e, false, &o, err, sizeof err);
    if (!s) {
        tg_log_error("ack socket endpoint=%s error=%s", e, err);
        free(e);
        return NULL;
    }
    d->ackers[d->nackers++] = (s_acker){ e, s };
    return s;
}

static void s_send_ack(nt_daemon *d, const tg_msg_alerts *a)
{
    tg_msg_ack ack = { .job = a->hdr.job, .index = a->hdr.index,
                       .count = a->hdr.count, .errors = a->nerrors };
    d->sbuf.size = 0;
    tg_msg_encode_ack(&d->sbuf, &ack);
    tg_zsock *s = s_acker_get(d, a->hdr.ack);
    int rc = s ? tg_zsock_send(s, d->sbuf.data, d->sbuf.size) : -EINVAL;
    if (rc) {
        tg_metric_inc(d->m_err_ack);
        tg_log_warn("ack not sent endpoint=%.*s job=%016" PRIx64 " index=%u error=%s",
                    (int)a->hdr.ack.n, a->hdr.ack.p, a->hdr.job, a->hdr.index,
                    tg_strerror(rc));
        return;
    }
    tg_metric_inc(d->m_frames_out);
}

/* ---- group processing ------------------------------------------------ */

/* Frames tg_zsock dropped below the receive callback (multi-part,
 * oversized) count as bad frames too. */
static void s_close_all(nt_daemon *d);
static bool s_take_held(nt_daemon *d);
static void s_on_gather(uv_idle_t *c);

/*
 * Every output took the whole group: commit its ids to the dedup journal
 * (one append, synced per dedup_sync) and only then ack each batch of the
 * group, in the order received.
 */
static void s_group_done(nt_daemon *d)
{
    int rc = nt_dedup_commit(d->dedup, d->ids, d->idlens, d->nalerts);
    if (rc) {
        tg_metric_inc(d->m_err_journal);
        tg_log_error("dedup journal write failed error=%s", tg_strerror(rc));
    }
    tg_metric_set(d->m_window, (double)nt_dedup_size(d->dedup));
    tg_metric_add(d->m_records_out, (double)d->nalerts);
    uint64_t now = uv_hrtime();
    for (size_t i = 0; i < d->ngroup; i++) {
        s_send_ack(d, &d->group[i].msg.u.alerts);
        tg_metric_observe(d->m_latency, (double)(now - d->group[i].t0) / 1e9);
    }
    d->ngroup = 0;
    d->group_bytes = 0;
    d->nalerts = 0;
    d->busy = false;
    tg_metric_set(d->m_inflight, 0);
    tg_metric_set(d->m_queue, 0);
    if (d->stopping) {
        s_close_all(d);
        return;
    }
    tg_zsock_resume_recv(d->in);
    s_take_held(d);
}

static void s_run_outputs(nt_daemon *d);
static void s_on_retry(uv_timer_t *t);

static void s_on_output_done(void *ud, int status)
{
    nt_daemon *d = ud;
    if (d->closed)
        return; /* cancelled while shutting down: not acked, redelivered */
    if (status) {
        tg_metric_inc(d->m_err_output);
        tg_log_error("output failed output=%s error=%s; retrying",
                     d->out[d->next_out]->name, tg_strerror(status));
        uv_timer_start(&d->retry, s_on_retry, d->retry_ms, 0);
        return;
    }
    d->next_out++;
    s_run_outputs(d);
}

static void s_run_outputs(nt_daemon *d)
{
    if (d->closed)
        return;
    while (d->next_out < d->nout) {
        nt_output *o = d->out[d->next_out];
        size_t n = 0;
        for (size_t i = 0; i < d->nalerts; i++)
            if (d->alerts[i].priority <= o->min_priority)
                d->subset[n++] = d->alerts[i];
        if (n == 0) {
            d->next_out++;
            continue;
        }
        char err[256] = "";
        int rc = o->ops->write(o, d->subset, n, s_on_output_done, d, err, sizeof err);
        if (rc == NT_OUTPUT_PENDING)
            return;
        if (rc < 0) {
            tg_metric_inc(d->m_err_output);
            tg_log_error("output failed output=%s error=%s; retrying in %" PRIu64 "ms",
                         o->name, err[0] ? err : tg_strerror(rc), d->retry_ms);
            uv_timer_start(&d->retry, s_on_retry, d->retry_ms, 0);
            return;
        }
        d->next_out++;
    }
    s_group_done(d);
}

static void s_grow(nt_daemon *d, size_t n)
{
    if (n > d->cap) {
        size_t cap = d->cap ? d->cap : 64;
        while (cap < n)
            cap *= 2;
        d->alerts = realloc(d->alerts, cap * sizeof(*d->alerts));
        d->subset = realloc(d->subset, cap * sizeof(*d->subset));
        d->ids = realloc(d->ids, cap * sizeof(*d->ids));
        d->idlens = realloc(d->idlens, cap * sizeof(*d->idlens));
        if (!d->alerts || !d->subset || !d->ids || !d->idlens)
            abort();
        d->cap = cap;
    }
    size_t hc = 64;
    while (hc < 2 * n)
        hc *= 2;
    if (hc > d->idset_cap) {
        free(d->idset);
        d->idset = malloc(hc * sizeof(*d->idset));
        if (!d->idset)
            abort();
        d->idset_cap = hc;
    }
    memset(d->idset, 0, d->idset_cap * sizeof(*d->idset));
}

/* True when id is already among the group's alerts; else remembers it as
 * alert number `idx`. */
static bool s_group_dup(nt_daemon *d, tg_str id, size_t idx)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < id.n; i++)
        h = (h ^ (unsigned char)id.p[i]) * 1099511628211ull;
    size_t mask = d->idset_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t v = d->idset[i];
        if (v == 0) {
            d->idset[i] = (uint32_t)idx + 1;
            return false;
        }
        if (d->idlens[v - 1] == id.n && memcmp(d->ids[v - 1], id.p, id.n) == 0)
            return true;
    }
}

/* Build the group's alert list: every alert of every frame, in order,
 * less those delivered before (dedup window) or earlier in the group. */
static void s_prepare(nt_daemon *d)
{
    size_t nal = 0, ntags = 0;
    for (size_t g = 0; g < d->ngroup; g++) {
        const tg_msg_alerts *a = &d->group[g].msg.u.alerts;
        nal += a->nalerts;
        for (uint32_t i = 0; i < a->nalerts; i++) {
            tg_msg_alert al;
            tg_msg_alert_get(a, i, &al);
            ntags += al.ntags;
        }
    }
    if (ntags > d->tags_cap) {
        d->tags = realloc(d->tags, ntags * sizeof(*d->tags));
        if (!d->tags)
            abort();
        d->tags_cap = ntags;
    }
    s_grow(d, nal);
    d->nalerts = 0;
    size_t t = 0;
    for (size_t g = 0; g < d->ngroup; g++) {
        const tg_msg_alerts *a = &d->group[g].msg.u.alerts;
        for (uint32_t i = 0; i < a->nalerts; i++) {
            tg_msg_alert al;
            tg_msg_alert_get(a, i, &al);
            if (nt_dedup_seen(d->dedup, al.id.p, al.id.n)) {
                tg_metric_inc(d->m_dups);
                continue;
            }
            d->ids[d->nalerts] = al.id.p;
            d->idlens[d->nalerts] = al.id.n;
            if (s_group_dup(d, al.id, d->nalerts)) {
                tg_metric_inc(d->m_dups);
                continue;
            }
            nt_alert *na = &d->alerts[d->nalerts];
            memset(na, 0, sizeof(*na));
            na->id = s_nt(al.id);
            na->rule = s_nt(al.rule);
            na->priority = s_prio(al.priority);
            na->time_ns = al.time_ns;
            na->source = s_nt(al.source);
            na->tags = &d->tags[t];
            for (size_t k = 0; k < al.ntags; k++) {
                const msgpack_object *o = &al.tags->via.array.ptr[k];
                d->tags[t++] = (nt_str){ o->via.str.ptr, o->via.str.size };
            }
            na->ntags = al.ntags;
            na->output = s_nt(al.output);
            na->json = s_nt(al.json);
            na->record = s_nt(al.raw);
            d->nalerts++;
        }
    }
}

/* Deliver the gathered group: receiving pauses until it is acked. */
static void s_deliver(nt_daemon *d)
{
    uv_idle_stop(&d->gather);
    if (d->busy || d->closed || d->ngroup == 0)
        return;
    d->busy = true;
    d->next_out = 0;
    tg_metric_set(d->m_inflight, (double)d->ngroup);
    tg_zsock_pause_recv(d->in);
    s_prepare(d);
    s_run_outputs(d);
}

static bool s_group_full(const nt_daemon *d)
{
    return d->ngroup >= d->group_max || d->group_bytes >= S_GROUP_BYTES;
}

/* Decode a frame and add it to the group.  Unless `now`, a batch whose
 * predecessor in its job is not in a group yet is held (nt_order.h). */
static void s_accept(nt_daemon *d, const void *data, size_t len, bool now)
{
    char err[160];
    if (d->busy || s_group_full(d))
        return; /* not reached: receiving is paused (redelivered if it were) */
    if (d->ngroup == 0) {
        msgpack_zone_clear(&d->zone);
        d->group_bytes = 0;
    }
    s_gframe *g = &d->group[d->ngroup];
    if (len > g->cap) {
        free(g->buf);
        g->buf = malloc(len);
        if (!g->buf)
            abort();
        g->cap = len;
    }
    memcpy(g->buf, data, len);
    g->len = len;
    int rc = tg_msg_decode(g->buf, len, 64u << 20, &d->zone, &g->msg, err, sizeof err);
    if (rc == 0 && g->msg.kind != TG_MSG_ALERTS) {
        rc = TG_MSG_E_UNEXPECTED;
        snprintf(err, sizeof err, "expected alerts, got %s", tg_msg_kind_name(g->msg.kind));
    }
    if (rc) {
        tg_metric_inc(d->m_err_bad);
        if (tg_msg_log_ok(&d->badlog, uv_now(d->loop), 10)) {
            tg_log_warn("bad frame dropped socket=%s bytes=%zu error=%s", d->bind, len, err);
            if (d->badlog.suppressed) {
                tg_log_warn("bad frames not logged (rate limit) count=%u", d->badlog.suppressed);
                d->badlog.suppressed = 0;
            }
        }
        return;
    }
    const tg_msg_alerts *a = &g->msg.u.alerts;
    if (!now && d->order &&
        !nt_order_ready(d->order, a->hdr.job, a->hdr.index, a->hdr.count) &&
        nt_order_hold(d->order, a->hdr.job, a->hdr.index, data, len, uv_now(d->loop)) == 0) {
        tg_log_debug("batch held for order job=%016" PRIx64 " index=%u",
                     a->hdr.job, a->hdr.index);
        tg_metric_set(d->m_held, (double)nt_order_held(d->order));
        s_take_held(d); /* over the bound: the oldest goes now */
        return;
    }
    /* In the group, the batch counts as done for ordering: the group is
     * delivered in its order, whole, and retried whole until it is. */
    if (d->order)
        nt_order_done(d->order, a->hdr.job, a->hdr.index, a->hdr.count);
    tg_metric_add(d->m_records_in, a->nalerts);
    tg_metric_add(d->m_decode_errors, a->nerrors);
    g->t0 = uv_hrtime();
    d->ngroup++;
    d->group_bytes += len;
    tg_metric_set(d->m_queue, (double)d->ngroup);
    if (s_group_full(d))
        tg_zsock_pause_recv(d->in);
    uv_idle_start(&d->gather, s_on_gather);
}

/* Add the held frames that may go now to the group; true if any group is
 * gathered or in delivery. */
static bool s_take_held(nt_daemon *d)
{
    void *frame;
    size_t len;
    bool stale, late;
    while (d->order && !d->busy && !s_group_full(d) && !d->closed && !d->stopping &&
           nt_order_take(d->order, uv_now(d->loop), &frame, &len, &stale, &late)) {
        tg_metric_set(d->m_held, (double)nt_order_held(d->order));
        if (!stale) {
            if (late) {
                tg_metric_inc(d->m_late);
                tg_log_warn("batch delivered out of job order after waiting "
                            "order_wait for the batch before it");
            }
            s_accept(d, frame, len, true);
        }
        free(frame);
    }
    return d->busy || d->ngroup > 0;
}

/* After the loop turn's receive burst: pull in held frames that became
 * ready, then deliver the group. */
static void s_on_gather(uv_idle_t *c)
{
    nt_daemon *d = c->data;
    s_take_held(d);
    s_deliver(d);
}

static void s_on_recv(tg_zsock *s, const void *data, size_t len, void *ud)
{
    nt_daemon *d = ud;
    (void)s;
    if (d->busy || d->closed)
        return;
    tg_metric_inc(d->m_frames_in);
    s_accept(d, data, len, false);
}

/* ---- timers, lifecycle ----------------------------------------------- */

static void s_on_retry(uv_timer_t *t)
{
    s_run_outputs(t->data);
}

static void s_on_tick(uv_timer_t *t)
{
    nt_daemon *d = t->data;
    tg_metric_add(d->m_err_bad, (double)tg_zsock_dropped_new(d->in, &d->drops_seen));
    nt_dedup_tick(d->dedup);
    if (s_take_held(d))
        return;
}

static void s_on_drain(uv_timer_t *t)
{
    nt_daemon *d = t->data;
    tg_log_warn("drain timeout: the batch in progress was not acknowledged");
    s_close_all(d);
}

static void s_close_all(nt_daemon *d)
{
    if (d->closed)
        return;
    d->closed = true;
    uv_timer_stop(&d->retry);
    uv_timer_stop(&d->tick);
    uv_timer_stop(&d->drain);
    uv_idle_stop(&d->gather);
    uv_close((uv_handle_t *)&d->gather, NULL);
    uv_close((uv_handle_t *)&d->retry, NULL);
    uv_close((uv_handle_t *)&d->tick, NULL);
    uv_close((uv_handle_t *)&d->drain, NULL);
    for (size_t i = 0; i < d->nout; i++) {
        if (d->out[i]->ops->cancel)
            d->out[i]->ops->cancel(d->out[i]);
        if (d->out[i]->ops->flush)
            d->out[i]->ops->flush(d->out[i]);
    }
    tg_zsock_close(d->in);
    d->in = NULL;
    for (size_t i = 0; i < d->nackers; i++)
        tg_zsock_close(d->ackers[i].sock);
    for (size_t i = 0; i < d->nackers; i++)
        free(d->ackers[i].endpoint);
    d->nackers = 0;
    tg_metrics_server_close(d->msrv);
    d->msrv = NULL;
}

void nt_daemon_stop(nt_daemon *d)
{
    if (d->stopping || d->closed)
        return;
    d->stopping = true;
    tg_zsock_pause_recv(d->in);
    s_deliver(d); /* a group gathered but not started goes now */
    if (d->closed)
        return;
    if (!d->busy) {
        s_close_all(d);
        return;
    }
    uv_timer_start(&d->drain, s_on_drain, S_DRAIN_MS, 0);
}

void nt_daemon_reopen(nt_daemon *d)
{
    char err[256];
    for (size_t i = 0; i < d->nout; i++) {
        nt_output *o = d->out[i];
        if (o->ops->reopen && o->ops->reopen(o, err, sizeof err) != 0)
            tg_log_error("reopen failed output=%s error=%s", o->name, err);
    }
    tg_log_info("outputs reopened count=%zu", d->nout);
}

static void s_metrics_init(nt_daemon *d)
{
    tg_metrics *r = d->reg;
    d->m_frames_in = tg_metrics_counter(r, "trailguard_frames_in_total",
        "Frames received", (const char *[]){ "kind", "alerts", NULL });
    d->m_frames_out = tg_metrics_counter(r, "trailguard_frames_out_total",
        "Frames sent", (const char *[]){ "kind", "ack", NULL });
    d->m_records_in = tg_metrics_counter(r, "trailguard_records_in_total",
        "Alerts received", NULL);
    d->m_records_out = tg_metrics_counter(r, "trailguard_records_out_total",
        "Alerts delivered", NULL);
    d->m_dups = tg_metrics_counter(r, "trailguard_alerts_duplicate_total",
        "Alerts dropped as already delivered", NULL);
    d->m_decode_errors = tg_metrics_counter(r, "trailguard_decode_errors_seen_total",
        "Parser decode errors carried by acknowledged batches", NULL);
#define S_ERR(kind) tg_metrics_counter(r, "trailguard_errors_total", \
        "Errors by kind", (const char *[]){ "kind", kind, NULL })
    d->m_err_bad = S_ERR("bad_frame");
    d->m_err_output = S_ERR("output");
    d->m_err_ack = S_ERR("ack");
    d->m_err_journal = S_ERR("journal");
#undef S_ERR
    d->m_inflight = tg_metrics_gauge(r, "trailguard_inflight_jobs",
        "Batches being delivered", NULL);
    d->m_queue = tg_metrics_gauge(r, "trailguard_queue_length",
        "Batches waiting for outputs", NULL);
    d->m_latency = tg_metrics_histogram(r, "trailguard_processing_seconds",
        "Time from receiving a batch to acknowledging it", NULL, NULL, 0);
    d->m_window = tg_metrics_gauge(r, "trailguard_dedup_window_ids",
        "Alert ids in the dedup window", NULL);
    d->m_held = tg_metrics_gauge(r, "trailguard_order_held_batches",
        "Batches held until the batch before them in their job is delivered", NULL);
    d->m_late = tg_metrics_counter(r, "trailguard_order_late_total",
        "Batches delivered out of job order after order_wait", NULL);
}

#ifdef TG_HAVE_OUTPUTS
static void s_sink_log(void *data, int level, const char *output, const char *msg)
{
    (void)data;
    tg_log(level, "output=%s %s", output, msg);
}
#endif

/* Integration point for notifier/outputs: create the modules listed under
 * notifier.outputs (webhook, securityhub, cloudwatch, syslog, ...). */
static int s_external_outputs(nt_daemon *d, const tg_conf_node *list,
                              const char *state_dir, char *err, size_t errlen)
{
    if (!list || tg_conf_node_is_null(list))
        return 0;
#ifdef TG_HAVE_OUTPUTS
    nt_sink_env env = { .loop = d->loop, .metrics = d->reg, .state_dir = state_dir,
                        .log = s_sink_log, .log_data = d };
    return nt_sink_outputs_from_conf(&env, list, d->out, S_MAX_OUTPUTS, &d->nout,
                                     err, errlen);
#else
    (void)d;
    (void)state_dir;
    snprintf(err, errlen, "%s:%d:%d: notifier.outputs: output modules are not "
             "built into this notifier", list->file, list->line, list->col);
    return -ENOTSUP;
#endif
}

/*
 * An output module named on the command line (`-o TYPE:ARG`, through
 * notifier.output): webhook:URL, http:URL, syslog:ADDRESS,
 * securityhub[:REGION], cloudwatch:LOG_GROUP.  The name is the spec's
 * position ("webhook-o1"), so a restarted notifier finds its spool again.
 * Returns 1 when created, 0 when spec is not a module spec, <0 on error.
 */
static int s_module_spec(nt_daemon *d, const char *spec, size_t idx,
                         const char *min_priority, const char *state_dir,
                         char *err, size_t errlen)
{
    static const struct { const char *type, *key; bool arg_optional; } map[] = {
        { "webhook", "url", false },        { "http", "url", false },
        { "syslog", "address", false },     { "securityhub", "region", true },
        { "cloudwatch", "log_group", false },
    };
    size_t k = 0, tl = 0;
    for (; k < sizeof map / sizeof map[0]; k++) {
        tl = strlen(map[k].type);
        if (strncmp(spec, map[k].type, tl) == 0 &&
            (spec[tl] == ':' || (spec[tl] == 0 && map[k].arg_optional)))
            break;
    }
    if (k == sizeof map / sizeof map[0])
        return 0;
    const char *arg = spec[tl] == ':' ? spec + tl + 1 : "";
    if (!*arg && !map[k].arg_optional) {
        snprintf(err, errlen, "output '%s': expected %s:%s", spec, map[k].type,
                 strcmp(map[k].key, "url") == 0 ? "URL" :
                 strcmp(map[k].key, "address") == 0 ? "ADDRESS" : "LOG_GROUP");
        return -EINVAL;
    }
    if (d->nout >= S_MAX_OUTPUTS) {
        snprintf(err, errlen, "too many outputs (max %d)", S_MAX_OUTPUTS);
        return -EINVAL;
    }
#ifdef TG_HAVE_OUTPUTS
    char name[64];
    snprintf(name, sizeof name, "%s-o%zu", map[k].type, idx + 1);
    nt_kv props[2] = { { .key = map[k].key, .value = arg, .where = NULL } };
    size_t np = *arg ? 1 : 0;
    if (min_priority && strcmp(min_priority, "debug") != 0)
        props[np++] = (nt_kv){ .key = "min_priority", .value = min_priority };
    nt_sink_env env = { .loop = d->loop, .metrics = d->reg, .state_dir = state_dir,
                        .log = s_sink_log, .log_data = d };
    char e[400];
    nt_output *o = nt_sink_output_new(&env, map[k].type, name, props, np, e, sizeof e);
    if (!o) {
        snprintf(err, errlen, "output '%s': %s", spec, e);
        return -EINVAL;
    }
    d->out[d->nout++] = o;
    return 1;
#else
    (void)idx;
    (void)min_priority;
    (void)state_dir;
    snprintf(err, errlen, "output '%s': output modules are not built into this "
             "notifier", spec);
    return -ENOTSUP;
#endif
}

nt_daemon *nt_daemon_new(uv_loop_t *loop, const nt_config *cfg,
                         const tg_daemon_common *common, char *err,
                         size_t errlen)
{
    nt_daemon *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->loop = loop;
    d->bind = strdup(cfg->bind ? cfg->bind : "");
    d->retry_ms = cfg->retry_interval ? cfg->retry_interval : 1000;
    d->group_max = cfg->group_max == 0 ? 1 :
                   cfg->group_max > S_GROUP_FRAMES ? S_GROUP_FRAMES : (size_t)cfg->group_max;
    msgpack_zone_init(&d->zone, 1 << 14);
    msgpack_sbuffer_init(&d->sbuf);
    uv_timer_init(loop, &d->retry);
    uv_timer_init(loop, &d->tick);
    uv_timer_init(loop, &d->drain);
    uv_idle_init(loop, &d->gather);
    d->retry.data = d->tick.data = d->drain.data = d;
    d->gather.data = d;
    d->reg = tg_metrics_new();
    if (!d->reg || !d->bind) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s_metrics_init(d);

    int minp = NT_PRIO_DEBUG;
    if (cfg->min_priority) {
        minp = s_prio(tg_str_c(cfg->min_priority));
    }
    /* built-in outputs; with only notifier.outputs configured, the default
     * "json" (stdout) is not added */
    bool builtin_default = cfg->output.n == 1 && strcmp(cfg->output.v[0], "json") == 0 &&
                           cfg->outputs && !tg_conf_node_is_null(cfg->outputs);
    for (size_t i = 0; i < cfg->output.n && !builtin_default; i++) {
        int mrc = s_module_spec(d, cfg->output.v[i], i, cfg->min_priority,
                                common->state_dir, err, errlen);
        if (mrc < 0)
            goto fail;
        if (mrc > 0)
            continue;
        if (d->nout >= S_MAX_OUTPUTS) {
            snprintf(err, errlen, "too many outputs (max %d)", S_MAX_OUTPUTS);
            goto fail;
        }
        nt_output *o = nt_output_from_spec(loop, cfg->output.v[i], cfg->file_sync,
                                           err, errlen);
        if (!o)
            goto fail;
        o->min_priority = minp;
        d->out[d->nout++] = o;
    }
    if (s_external_outputs(d, cfg->outputs, common->state_dir, err, errlen))
        goto fail;
    if (d->nout == 0) {
        snprintf(err, errlen, "no outputs configured");
        goto fail;
    }

    tg_journal_sync_mode sm = TG_JOURNAL_SYNC_ALWAYS;
    if (cfg->dedup_sync && strcmp(cfg->dedup_sync, "batch") == 0)
        sm = TG_JOURNAL_SYNC_BATCH;
    else if (cfg->dedup_sync && strcmp(cfg->dedup_sync, "never") == 0)
        sm = TG_JOURNAL_SYNC_NEVER;
    else if (cfg->dedup_sync && strcmp(cfg->dedup_sync, "always") != 0) {
        snprintf(err, errlen, "dedup_sync must be always, batch or never");
        goto fail;
    }
    char path[4096];
    if (cfg->dedup_journal)
        snprintf(path, sizeof path, "%s", cfg->dedup_journal);
    else
        snprintf(path, sizeof path, "%s/notifier/dedup.journal",
                 common->state_dir ? common->state_dir : ".");
    char jerr[256];
    d->dedup = nt_dedup_open(path, cfg->dedup_window ? cfg->dedup_window : 250000,
                             sm, jerr, sizeof jerr);
    if (!d->dedup) {
        snprintf(err, errlen, "dedup journal %s: %s", path, jerr);
        goto fail;
    }
    tg_metric_set(d->m_window, (double)nt_dedup_size(d->dedup));
    tg_log_info("dedup window replayed ids=%zu", nt_dedup_size(d->dedup));

    if (cfg->order_wait) {
        d->order = nt_order_new(S_MAX_JOBS, S_MAX_HELD, cfg->order_wait);
        if (!d->order) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }

    d->zctx = zmq_ctx_new();
    d->curve = tg_curve_new(loop, d->zctx, &common->curve, d->reg, err, errlen);
    if (!d->curve)
        goto fail;
    tg_zsock_opts io = { .rcvhwm = (int)cfg->rcvhwm, .max_msg_size = 64 << 20 };
    tg_curve_server_opts(d->curve, &io);
    d->in = tg_zsock_new(loop, d->zctx, ZMQ_PULL, d->bind, true, &io, err, errlen);
    if (!d->in)
        goto fail;
    tg_zsock_on_recv(d->in, s_on_recv, d);
    uv_timer_start(&d->tick, s_on_tick, S_TICK_MS, S_TICK_MS);
    d->msrv = tg_metrics_serve(loop, d->reg, common->metrics_bind,
                               (int)cfg->metrics_port, common->metrics_token,
                               err, errlen);
    if (!d->msrv)
        goto fail;
    tg_metrics_set_ready(d->reg, true);
    return d;
fail:
    nt_daemon_free(d);
    return NULL;
}

int nt_daemon_metrics_port(const nt_daemon *d)
{
    return d->msrv ? tg_metrics_server_port(d->msrv) : -1;
}

const char *nt_daemon_endpoint(const nt_daemon *d)
{
    return d->bind;
}

void nt_daemon_free(nt_daemon *d)
{
    if (!d)
        return;
    s_close_all(d);
    tg_curve_close(d->curve);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    for (size_t i = 0; i < d->nout; i++)
        d->out[i]->ops->free(d->out[i]);
    /* output modules finish closing (and may touch the registry) in close
     * callbacks: let them run before the registry goes */
    uv_run(d->loop, UV_RUN_DEFAULT);
    nt_dedup_close(d->dedup);
    nt_order_free(d->order);
    tg_metrics_free(d->reg);
    msgpack_zone_destroy(&d->zone);
    msgpack_sbuffer_destroy(&d->sbuf);
    for (size_t i = 0; i < S_GROUP_FRAMES; i++)
        free(d->group[i].buf);
    free(d->idset);
    free(d->alerts);
    free(d->subset);
    free(d->ids);
    free(d->idlens);
    free(d->tags);
    free(d->bind);
    free(d);
}
