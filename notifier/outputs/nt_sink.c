/*
 * nt_sink.c - the delivery engine shared by every output module.
 *
 * Owner: notifier outputs.
 *
 * DESIGN (contract in nt_sink.h, module side in nt_plugin.h)
 * State per output:
 *   queue    FIFO of packed alerts with their submit ticket (memory);
 *   batch    the items of the one batch being delivered, with a per-item
 *            "done" flag so a retry resends only what failed;
 *   mode     UP: the batch comes from the queue;
 *            DOWN: the output failed retry_attempts times in a row; the
 *            queue was moved to the spool, new alerts go to the spool, and
 *            batches are peeked from the spool and consumed on success.
 *            When the spool is empty again the output is UP.
 * Timers: `flush` (flush_interval after the first queued alert), `retry`
 * (backoff, rate limit) and `defer` (0 ms: completions and follow-up
 * pumps run from the loop, never inside submit()).
 * Backoff: min(retry_max, retry_initial * 2^(attempt-1)), "equal jitter"
 * (half fixed, half random), never less than the peer's Retry-After.
 * Rate limit: token bucket of rate_limit requests/s, burst rate_burst.
 */
#include "nt_sink_int.h"

#include "tg_metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

const char *nt_status_name(int status)
{
    switch (status) {
    case NT_OK: return "ok";
    case NT_SPOOLED: return "spooled";
    case NT_REJECTED: return "rejected";
    case NT_CANCELLED: return "cancelled";
    }
    return "?";
}

void nt_out_log(nt_sink *o, int level, const char *fmt, ...)
{
    if (!o->env.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->env.log(o->env.log_data, level, o->name, msg);
}

/* ---- tickets ------------------------------------------------------- */

static void s_ticket_settle(nt_sink *o, nt_ticket *t, int status)
{
    if (status > t->status)
        t->status = status;
    if (--t->remaining == 0) {
        t->next = o->done_list;
        o->done_list = t;
        uv_timer_start(&o->t_defer, nt_out_on_defer, 0, 0);
    }
}

static void s_run_completions(nt_sink *o)
{
    while (o->done_list) {
        /* reverse to complete in submit order */
        nt_ticket *l = o->done_list, *r = NULL;
        o->done_list = NULL;
        while (l) {
            nt_ticket *n = l->next;
            l->next = r;
            r = l;
            l = n;
        }
        while (r) {
            nt_ticket *n = r->next;
            r->cb(r->status, r->data);
            free(r);
            r = n;
        }
    }
}

static void s_item_free(nt_item *it)
{
    if (!it)
        return;
    nt_alert_unpacked_fini(&it->u);
    free(it->buf);
    free(it);
}

static nt_item *s_item_new(uint8_t *buf, size_t len, nt_ticket *t,
                           uint64_t now)
{
    nt_item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->buf = buf;
    it->len = len;
    it->t = t;
    it->enq_ms = now;
    if (nt_alert_unpack(buf, len, &it->u) < 0) {
        it->buf = NULL;
        free(it);
        return NULL;
    }
    return it;
}

/* ---- spool --------------------------------------------------------- */

static void s_gauges(nt_sink *o)
{
    o->st.spool_depth = o->spool ? nt_spool_depth(o->spool) : 0;
    tg_metric_set(o->m.spool_depth, (double)o->st.spool_depth);
}

static int s_spool_put(nt_sink *o, const uint8_t *buf, size_t len)
{
    uint64_t dropped = 0;
    int rc = nt_spool_append(o->spool, buf, len, &dropped);
    if (dropped) {
        o->st.dropped += dropped;
        tg_metric_add(o->m.dropped, (double)dropped);
        nt_out_log(o, NT_LOG_ERROR,
                   "spool over %llu bytes: dropped %llu oldest alerts",
                   (unsigned long long)o->c.spool_max, (unsigned long long)dropped);
    }
    if (rc == 0) {
        o->st.spooled++;
        tg_metric_inc(o->m.spooled);
    }
    return rc;
}

/* UP → DOWN: move the unfinished batch items and the queue to the spool
 * (in UP mode the batch is the first bn items of the queue). */
static void s_go_down(nt_sink *o)
{
    int rc = 0;
    for (nt_item *it = o->qhead; it && rc == 0; it = it->next)
        if (!it->done)
            rc = s_spool_put(o, it->buf, it->len);
    if (rc == 0)
        rc = nt_spool_sync(o->spool);
    if (rc < 0) {
        nt_out_log(o, NT_LOG_ERROR, "cannot spool (%s): keeping alerts in "
                   "memory", strerror(-rc));
        return;
    }
    nt_out_log(o, NT_LOG_WARN, "output down after %d attempts (%s); "
               "spooling", o->attempts, o->last_err);
    o->bn = 0;
    while (o->qhead) {
        nt_item *it = o->qhead;
        o->qhead = it->next;
        if (!it->done)
            s_ticket_settle(o, it->t, NT_SPOOLED);
        s_item_free(it);
    }
    o->qtail = NULL;
    o->qlen = 0;
    o->st.queued = 0;
    o->down = 1;
    o->attempts = 0;
    s_gauges(o);
}

/* ---- pumping ------------------------------------------------------- */

static uint64_t s_rand(nt_sink *o)
{
    uint64_t x = o->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    o->rng = x;
    return x;
}

static uint64_t s_backoff(nt_sink *o)
{
    uint64_t d = (uint64_t)o->c.retry_initial;
    for (int i = 1; i < o->attempts && d < (uint64_t)o->c.retry_max; i++)
        d *= 2;
    if (d > (uint64_t)o->c.retry_max)
        d = (uint64_t)o->c.retry_max;
    d = d / 2 + (d > 1 ? s_rand(o) % (d / 2 + 1) : 0);
    if (o->retry_after_ms > 0 && (uint64_t)o->retry_after_ms > d)
        d = (uint64_t)o->retry_after_ms;
    return d;
}

/* Token bucket: 0 if a request may go now, else ms to wait. */
static uint64_t s_take_token(nt_sink *o)
{
    if (o->c.rate_limit <= 0)
        return 0;
    uint64_t now = uv_now(o->env.loop);
    double burst = o->c.rate_burst > 0 ? (double)o->c.rate_burst : 1.0;
    o->tokens += (double)(now - o->tok_ms) * (double)o->c.rate_limit / 1000.0;
    if (o->tokens > burst)
        o->tokens = burst;
    o->tok_ms = now;
    if (o->tokens >= 1.0) {
        o->tokens -= 1.0;
        return 0;
    }
    return (uint64_t)((1.0 - o->tokens) * 1000.0 / (double)o->c.rate_limit) + 1;
}

/* Fill o->batch with the next items to send; 0 when there is nothing,
 * -1 when the spool cannot be read. */
static ssize_t s_fill_batch(nt_sink *o)
{
    if (o->bn)
        return o->bn;  /* a retry of the same batch */
    size_t max = (size_t)o->c.batch_size;
    if (!o->down) {
        size_t k = 0;
        for (nt_item *it = o->qhead; it && k < max; it = it->next)
            o->batch[k++] = it;
        o->bn = k;
        return (ssize_t)k;
    }
    size_t n = 0;
    int rc = nt_spool_peek(o->spool, max, o->peek, &n, &o->spool_end);
    if (rc < 0) {
        nt_out_log(o, NT_LOG_ERROR, "spool read: %s", strerror(-rc));
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *copy = malloc(o->peek[i].len ? o->peek[i].len : 1);
        nt_item *it = NULL;
        if (copy) {
            memcpy(copy, o->peek[i].data, o->peek[i].len);
            it = s_item_new(copy, o->peek[i].len, NULL, 0);
            if (!it)
                free(copy);
        }
        if (!it) {
            /* corrupt or unreadable record: count and skip it */
            o->st.failed++;
            tg_metric_inc(o->m.failed);
            continue;
        }
        o->batch[k++] = it;
    }
    o->bn = k;
    if (k == 0 && n > 0) /* everything skipped: consume and go on */
        nt_spool_consume(o->spool, o->spool_end);
    return (ssize_t)k;
}

static void s_send(nt_sink *o)
{
    size_t k = 0;
    for (size_t i = 0; i < o->bn; i++) {
        if (o->batch[i]->done)
            continue;
        o->views[k] = &o->batch[i]->u.a;
        o->bidx[k] = i;
        o->results[k] = NT_ITEM_RETRY;
        k++;
    }
    memset(&o->nb, 0, sizeof(o->nb));
    o->nb.alerts = o->views;
    o->nb.n = k;
    o->nb.result = o->results;
    o->nb.retry_after_ms = -1;
    o->nb.priv = o;
    o->inflight = 1;
    o->sent_ms = uv_now(o->env.loop);
    o->st.requests++;
    tg_metric_inc(o->m.requests);
    int rc = o->plugin->flush(o->ctx, &o->nb);
    if (rc < 0) {
        snprintf(o->nb.err, sizeof(o->nb.err), "flush: %s", strerror(-rc));
        nt_batch_done(&o->nb);
    }
}

void nt_out_pump(nt_sink *o, int force)
{
    if (o->closing || o->inflight || uv_is_active((uv_handle_t *)&o->t_retry))
        return;
    if (!o->down) {
        if (o->qlen == 0 && o->bn == 0)
            return;
        if (o->bn == 0 && !force && o->qlen < (size_t)o->c.batch_size) {
            if (!uv_is_active((uv_handle_t *)&o->t_flush))
                uv_timer_start(&o->t_flush, nt_out_on_flush,
                               (uint64_t)o->c.flush_ms, 0);
            return;
        }
    }
    uint64_t wait = s_take_token(o);
    if (wait) {
        uv_timer_start(&o->t_retry, nt_out_on_retry, wait, 0);
        return;
    }
    uv_timer_stop(&o->t_flush);
    ssize_t k = s_fill_batch(o);
    if (k < 0) { /* unreadable spool: try again later, do not spin */
        o->attempts++;
        uv_timer_start(&o->t_retry, nt_out_on_retry, s_backoff(o), 0);
        return;
    }
    if (k == 0) {
        if (o->down && nt_spool_depth(o->spool) == 0) {
            o->down = 0;
            nt_out_log(o, NT_LOG_INFO, "output recovered; spool drained");
            nt_out_pump(o, 0);
        } else if (o->down) {
            uv_timer_start(&o->t_defer, nt_out_on_defer, 0, 0);
        }
        return;
    }
    s_send(o);
}

static void s_batch_finished(nt_sink *o)
{
    uint64_t now = uv_now(o->env.loop);
    if (o->down) {
        for (size_t i = 0; i < o->bn; i++)
            s_item_free(o->batch[i]);
        nt_spool_consume(o->spool, o->spool_end);
        s_gauges(o);
    } else {
        for (size_t i = 0; i < o->bn; i++) {
            nt_item *it = o->qhead;
            o->qhead = it->next;
            if (!o->qhead)
                o->qtail = NULL;
            o->qlen--;
            tg_metric_observe(o->m.latency, (double)(now - it->enq_ms) / 1000.0);
            s_item_free(it);
        }
        o->st.queued = o->qlen;
    }
    o->bn = 0;
    o->attempts = 0;
    o->retry_after_ms = 0;
}

void nt_batch_done(nt_batch *b)
{
    nt_sink *o = b->priv;
    o->inflight = 0;
    size_t pending = 0, rejected = 0;
    for (size_t k = 0; k < b->n; k++) {
        nt_item *it = o->batch[o->bidx[k]];
        if (b->result[k] == NT_ITEM_RETRY) {
            pending++;
            continue;
        }
        it->done = 1;
        int ok = b->result[k] == NT_ITEM_OK;
        if (ok) {
            o->st.sent++;
            tg_metric_inc(o->m.sent);
        } else {
            rejected++;
            o->st.failed++;
            tg_metric_inc(o->m.failed);
        }
        if (it->t)
            s_ticket_settle(o, it->t, ok ? NT_OK : NT_REJECTED);
    }
    if (rejected)
        nt_out_log(o, NT_LOG_WARN, "%zu alerts rejected: %s", rejected,
                   b->err[0] ? b->err : "invalid");
    if (pending == 0) {
        s_batch_finished(o);
        if (!o->closing)
            uv_timer_start(&o->t_defer, nt_out_on_defer, 0, 0);
        return;
    }
    o->attempts++;
    o->retry_after_ms = b->retry_after_ms;
    snprintf(o->last_err, sizeof(o->last_err), "%s", b->err[0] ? b->err : "error");
    o->st.retried += pending;
    tg_metric_add(o->m.retried, (double)pending);
    if (o->closing)
        return;
    if (!o->down && o->spool && o->attempts >= o->c.retry_attempts)
        s_go_down(o);
    uv_timer_start(&o->t_retry, nt_out_on_retry, s_backoff(o), 0);
}

/* ---- timers -------------------------------------------------------- */

void nt_out_on_defer(uv_timer_t *t)
{
    nt_sink *o = t->data;
    s_run_completions(o);
    nt_out_pump(o, o->down);
}

void nt_out_on_flush(uv_timer_t *t)
{
    nt_out_pump(t->data, 1);
}

void nt_out_on_retry(uv_timer_t *t)
{
    nt_out_pump(t->data, 1);
}

/* ---- submit -------------------------------------------------------- */

int nt_sink_submit(nt_sink *o, const nt_alert *alerts, size_t n,
                   nt_done_cb cb, void *data)
{
    if (o->closing)
        return -ESHUTDOWN;
    /* backpressure: the caller retries the batch later */
    if (!o->down && o->qlen + n > (size_t)o->c.queue_max && o->qlen > 0)
        return -EAGAIN;
    nt_ticket *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->cb = cb;
    t->data = data;
    t->remaining = 1; /* held until the loop below is done */
    uint64_t now = uv_now(o->env.loop);
    int spooled = 0, spool_err = 0;
    for (size_t i = 0; i < n; i++) {
        const nt_alert *a = &alerts[i];
        if (!nt_route_pass(&o->c.route, a)) {
            o->st.filtered++;
            tg_metric_inc(o->m.filtered);
            continue;
        }
        if (o->supp && nt_suppress_check(o->supp, a, now)) {
            o->st.suppressed++;
            tg_metric_inc(o->m.suppressed);
            continue;
        }
        uint8_t *buf;
        size_t len;
        if (nt_alert_pack(a, &buf, &len) < 0) {
            t->status = NT_REJECTED;
            continue;
        }
        if (o->down) {
            int rc = s_spool_put(o, buf, len);
            free(buf);
            if (rc < 0)
                spool_err = rc;
            else
                spooled = 1;
            continue;
        }
        nt_item *it = s_item_new(buf, len, t, now);
        if (!it) {
            free(buf);
            t->status = NT_REJECTED;
            continue;
        }
        t->remaining++;
        if (o->qtail)
            o->qtail->next = it;
        else
            o->qhead = it;
        o->qtail = it;
        o->qlen++;
    }
    o->st.queued = o->qlen;
    if (spooled && nt_spool_sync(o->spool) < 0)
        spool_err = -EIO;
    if (spool_err) {
        nt_out_log(o, NT_LOG_ERROR, "spool write failed: %s",
                   strerror(-spool_err));
        t->status = NT_CANCELLED;
    } else if (spooled && t->status < NT_SPOOLED) {
        t->status = NT_SPOOLED;
    }
    s_gauges(o);
    s_ticket_settle(o, t, t->status);
    if (o->qlen >= (size_t)o->c.batch_size || o->down)
        uv_timer_start(&o->t_defer, nt_out_on_defer, 0, 0);
    else
        nt_out_pump(o, 0);
    return 0;
}

void nt_sink_flush(nt_sink *o)
{
    nt_out_pump(o, 1);
}

int nt_sink_reopen(nt_sink *o)
{
    return o->plugin->reopen ? o->plugin->reopen(o->ctx) : 0;
}

void nt_sink_stats_get(const nt_sink *o, nt_sink_stats *st)
{
    *st = o->st;
    st->down = o->down;
    st->spool_depth = o->spool ? nt_spool_depth(o->spool) : 0;
}

const char *nt_sink_name(const nt_sink *o)
{
    return o->name;
}

const char *nt_sink_type(const nt_sink *o)
{
    return o->plugin->name;
}

/* ---- close --------------------------------------------------------- */

static void s_handle_closed(uv_handle_t *h)
{
    nt_sink *o = h->data;
    if (--o->open_handles > 0)
        return;
    void (*cb)(void *) = o->closed_cb;
    void *data = o->closed_data;
    nt_out_free(o);
    if (cb)
        cb(data);
}

static void s_plugin_exited(void *arg)
{
    nt_sink *o = arg;
    for (size_t i = 0; i < o->bn; i++)
        if (o->down)
            s_item_free(o->batch[i]);
    o->bn = 0;
    while (o->qhead) {
        nt_item *it = o->qhead;
        o->qhead = it->next;
        if (!it->done)
            s_ticket_settle(o, it->t, NT_CANCELLED);
        s_item_free(it);
    }
    o->qtail = NULL;
    o->qlen = 0;
    s_run_completions(o);
    nt_spool_close(o->spool);
    o->spool = NULL;
    o->open_handles = 3;
    uv_close((uv_handle_t *)&o->t_flush, s_handle_closed);
    uv_close((uv_handle_t *)&o->t_retry, s_handle_closed);
    uv_close((uv_handle_t *)&o->t_defer, s_handle_closed);
}

void nt_sink_close(nt_sink *o, void (*closed)(void *data), void *data)
{
    if (!o)
        return;
    o->closing = 1;
    o->closed_cb = closed;
    o->closed_data = data;
    uv_timer_stop(&o->t_flush);
    uv_timer_stop(&o->t_retry);
    uv_timer_stop(&o->t_defer);
    /* settle what was delivered before the close */
    s_run_completions(o);
    if (o->plugin_ready && o->plugin->exit)
        o->plugin->exit(o->ctx, s_plugin_exited, o);
    else
        s_plugin_exited(o);
}
