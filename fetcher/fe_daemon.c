/*
 * fe_daemon.c - the fetcher daemon; see fe_daemon.h for the design.
 */
#include "fe_daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "tg_hash.h"
#include "tg_journal.h"
#include "tg_log.h"
#include "tg_metrics.h"
#include "tg_msg.h"
#include "tg_zsock.h"
#include "fe_doneset.h"

#define S_MAX_SOURCES 16
#define S_TICK_MS 250

const tg_conf_entry fe_config_table[] = {
    { TG_CONF_STR, "bind", "ipc:///run/trailguard/jobs", offsetof(fe_config, bind),
      "job PUSH endpoint (parsers connect here)" },
    { TG_CONF_STR, "ack_bind", "ipc:///run/trailguard/acks", offsetof(fe_config, ack_bind),
      "ack PULL endpoint (the notifier connects here)" },
    { TG_CONF_STR, "ack_endpoint", NULL, offsetof(fe_config, ack_endpoint),
      "ack endpoint written into jobs (default: ack_bind)" },
    { TG_CONF_STRLIST, "sources", NULL, offsetof(fe_config, sources),
      "files, directories, '-' (stdin), s3://bucket/prefix, sqs://queue-url" },
    { TG_CONF_BOOL, "inline_data", "false", offsetof(fe_config, inline_data),
      "send file bytes in the job instead of the path" },
    { TG_CONF_BOOL, "once", "false", offsetof(fe_config, once),
      "sources process what is available now, then the fetcher exits" },
    { TG_CONF_UINT, "max_inflight", "32", offsetof(fe_config, max_inflight),
      "jobs in flight at once" },
    { TG_CONF_DURATION, "ack_timeout", "60s", offsetof(fe_config, ack_timeout),
      "redeliver a job after this long without an ack" },
    { TG_CONF_UINT, "max_attempts", "5", offsetof(fe_config, max_attempts),
      "deliveries of one job before it is given up" },
    { TG_CONF_DURATION, "drain_timeout", "10s", offsetof(fe_config, drain_timeout),
      "on SIGTERM, wait this long for in-flight jobs" },
    { TG_CONF_UINT, "sndhwm", "16", offsetof(fe_config, sndhwm),
      "job socket send high-water mark (frames)" },
    { TG_CONF_UINT, "metrics.port", "9101", offsetof(fe_config, metrics_port),
      "Prometheus port (0 = ephemeral)" },
    { TG_CONF_STR, "journal", NULL, offsetof(fe_config, journal),
      "checkpoint journal path (default <state_dir>/fetcher/checkpoint.journal)" },
    { TG_CONF_DURATION, "done_retention", "7d", offsetof(fe_config, done_retention),
      "forget finished jobs after this long (keep it above aws.lookback and "
      "the SNS/SQS redelivery windows; 0 = never)" },
    /* AWS sources (fetcher/aws; used when built with it) */
    { TG_CONF_STR, "aws.assume_role_arn", NULL, offsetof(fe_config, aws.assume_role_arn),
      "sts:AssumeRole this role on top of the credential chain" },
    { TG_CONF_STR, "aws.external_id", NULL, offsetof(fe_config, aws.external_id),
      "external id for aws.assume_role_arn" },
    { TG_CONF_STR, "aws.ca_file", NULL, offsetof(fe_config, aws.ca_file),
      "CA bundle for AWS and SNS certificate requests (default: system)" },
    { TG_CONF_BOOL, "aws.validate_digests", "false", offsetof(fe_config, aws.validate_digests),
      "S3 polling: verify CloudTrail digest files and log file hashes" },
    { TG_CONF_DURATION, "aws.poll_interval", "60s", offsetof(fe_config, aws.poll_interval),
      "S3 polling: list the bucket this often" },
    { TG_CONF_STR, "aws.start", "24h", offsetof(fe_config, aws.start),
      "S3 polling: first run reads files this far back (24h, 7d, RFC 3339)" },
    { TG_CONF_DURATION, "aws.lookback", "1h", offsetof(fe_config, aws.lookback),
      "S3 polling: re-list this far behind the newest file (late files)" },
    { TG_CONF_DURATION, "sqs.visibility", "300s", offsetof(fe_config, aws.sqs_visibility),
      "SQS: visibility timeout of received messages" },
    { TG_CONF_DURATION, "sqs.wait", "20s", offsetof(fe_config, aws.sqs_wait),
      "SQS: long-poll wait (0s..20s)" },
    { TG_CONF_UINT, "sqs.max_receives", "5", offsetof(fe_config, aws.sqs_max_receives),
      "SQS: dead-letter a message after this many receives" },
    { TG_CONF_STR, "sqs.dlq_url", NULL, offsetof(fe_config, aws.sqs_dlq_url),
      "SQS: dead-letter queue URL (optional)" },
    { TG_CONF_STRLIST, "sns.topics", NULL, offsetof(fe_config, aws.sns_topics),
      "SNS endpoint: allowed topic ARNs (the endpoint runs when set)" },
    { TG_CONF_STR, "sns.listen", "127.0.0.1", offsetof(fe_config, aws.sns_listen),
      "SNS endpoint: listen address" },
    { TG_CONF_UINT, "sns.port", "8443", offsetof(fe_config, aws.sns_port),
      "SNS endpoint: port (0 = ephemeral, logged)" },
    { TG_CONF_STR, "sns.journal", NULL, offsetof(fe_config, aws.sns_journal),
      "SNS endpoint: journal (default <state_dir>/fetcher/sns.journal)" },
    { TG_CONF_BOOL, "sns.confirm", "true", offsetof(fe_config, aws.sns_confirm),
      "SNS endpoint: confirm subscriptions of allowed topics" },
    { TG_CONF_DURATION, "sns.max_age", "1h", offsetof(fe_config, aws.sns_max_age),
      "SNS endpoint: reject messages older than this" },
    { TG_CONF_STR, "sns.host_pattern", NULL, offsetof(fe_config, aws.sns_host_pattern),
      "SNS endpoint: ERE for certificate/SubscribeURL hosts (default: AWS SNS hosts)" },
    { TG_CONF_STR, "sns.tls_cert", NULL, offsetof(fe_config, aws.sns_tls_cert),
      "SNS endpoint: serve TLS with this PEM certificate (+ chain); unset = plain HTTP" },
    { TG_CONF_STR, "sns.tls_key", NULL, offsetof(fe_config, aws.sns_tls_key),
      "SNS endpoint: PEM private key for sns.tls_cert (default: in the cert file)" },
    TG_CONF_END,
};

typedef struct fe_job {
    bool used;
    bool sent;              /* accepted by zmq for the current attempt */
    uint64_t id;
    char *uri, *identity, *path;
    char *data;
    size_t len;
    fe_source *src;
    void *ref;
    uint32_t attempt;
    uint64_t start_ms, deadline_ms;
    uint64_t arrival_ns;              /* wall clock */
    uint32_t count, nacked, errors;   /* count 0: total not known yet */
    uint8_t *bits;                    /* acked batch indexes */
    uint32_t bits_len;                /* bytes */
} fe_job;

struct fe_daemon {
    uv_loop_t *loop;
    tg_msg_logbudget badlog;    /* rate limit for bad-frame lines */
    uint64_t drops_seen;        /* tg_zsock drops already counted */
    void *zctx;
    tg_curve *curve;            /* CURVE keys and ZAP handler */
    tg_zsock *jobs, *acks;
    tg_journal *journal;
    tg_metrics *reg;
    tg_metrics_server *msrv;
    uv_timer_t tick;
    fe_config cfg;          /* copies of the few strings used later */
    char *ack_ep;
    fe_source *src[S_MAX_SOURCES];
    bool src_done[S_MAX_SOURCES];
    size_t nsrc;
    fe_source_sink sink;
    fe_job *jobs_tab;
    size_t njobs;
    fe_doneset *done;           /* finished jobs (fe_doneset.h) */
    uint64_t next_prune_ms;     /* loop time of the next retention sweep */
    bool started, stopping, finished, closed, blocked;
    uint64_t stop_deadline;
    uint64_t failed_inputs;
    msgpack_sbuffer sbuf;
    msgpack_zone zone;
    tg_metric *m_frames_out, *m_frames_in, *m_jobs_done, *m_inflight,
        *m_queue, *m_latency, *m_err_bad, *m_err_input, *m_err_timeout,
        *m_err_gaveup, *m_acks_unknown, *m_skipped, *m_redeliver, *m_file_lag,
        *m_done_entries, *m_done_pruned;
};

/* ---- done set and its journal --------------------------------------- */

static uint64_t s_job_id(const char *identity)
{
    return tg_hash64(identity, strlen(identity), 0x7467666574636872ull);
}

static uint64_t s_wall_s(void)
{
    return (uint64_t)time(NULL);
}

static void s_done_put(fe_daemon *d, uint64_t id, uint8_t status, uint64_t when)
{
    if (fe_doneset_put(d->done, id, status, when) != 0)
        abort(); /* supervised: out of memory is fatal */
}

/*
 * Journal records, one per finished job:
 *   "@" 16 hex digits (Unix seconds) status identity   (written now)
 *   status identity                                     (before retention;
 *                                                        read as done now)
 *   "H" status 16 hex (id) 16 hex (seconds)             (compaction output)
 * status is '0' (ok), 'E' (input errors) or 'F' (given up).
 */
static uint8_t s_status_of(char c)
{
    return c == '0' ? FE_DONE_OK : FE_DONE_FAILED;
}

static bool s_hex64(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = p[i];
        unsigned x = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16u;
        if (x > 15)
            return false;
        v = v << 4 | x;
    }
    *out = v;
    return true;
}

static int s_replay(const void *rec, size_t len, void *ud)
{
    fe_daemon *d = ud;
    const char *r = rec;
    uint64_t when = s_wall_s(), id;
    if (len == 34 && r[0] == 'H') {
        if (s_hex64(r + 2, &id) && s_hex64(r + 18, &when))
            s_done_put(d, id, s_status_of(r[1]), when);
        return 0;
    }
    if (len >= 19 && r[0] == '@' && s_hex64(r + 1, &when)) {
        r += 17;
        len -= 17;
    }
    if (len < 2)
        return 0;
    char ident[4096];
    size_t n = len - 1 < sizeof ident - 1 ? len - 1 : sizeof ident - 1;
    memcpy(ident, r + 1, n);
    ident[n] = '\0';
    s_done_put(d, s_job_id(ident), s_status_of(r[0]), when);
    return 0;
}

static int s_compact_one(uint64_t id, uint8_t status, uint64_t when, void *ud)
{
    char rec[40];
    int n = snprintf(rec, sizeof rec, "H%c%016" PRIx64 "%016" PRIx64,
                     status == FE_DONE_OK ? '0' : 'E', id, when);
    return tg_journal_writer_put(ud, rec, (size_t)n);
}

static int s_compact_cb(tg_journal_writer *w, void *ud)
{
    fe_daemon *d = ud;
    return fe_doneset_each(d->done, s_compact_one, w);
}

/* Forget jobs finished longer than done_retention ago, and rewrite the
 * journal without them.  Runs at start (before the sources list anything)
 * and then every done_retention / 24, between 1 s and 1 h. */
static void s_prune(fe_daemon *d, uint64_t now_ms)
{
    uint64_t keep_s = d->cfg.done_retention / 1000;
    if (!keep_s || now_ms < d->next_prune_ms)
        return;
    uint64_t every = d->cfg.done_retention / 24;
    d->next_prune_ms = now_ms + (every < 1000 ? 1000 : every > 3600000 ? 3600000 : every);
    uint64_t wall = s_wall_s();
    long gone = fe_doneset_prune(d->done, wall > keep_s ? wall - keep_s : 0);
    if (gone > 0) {
        tg_metric_add(d->m_done_pruned, (double)gone);
        tg_log_info("done set pruned entries=%ld kept=%zu", gone, fe_doneset_size(d->done));
    }
    tg_metric_set(d->m_done_entries, (double)fe_doneset_size(d->done));
    if (gone > 0 && d->journal) {
        int rc = tg_journal_compact(d->journal, s_compact_cb, d);
        if (rc < 0)
            tg_log_warn("checkpoint journal compaction failed error=%s", tg_strerror(rc));
    }
}

/* ---- jobs ------------------------------------------------------------ */

static uint64_t s_now_ms(fe_daemon *d)
{
    return uv_now(d->loop);
}

static uint64_t s_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void s_job_clear(fe_job *j)
{
    free(j->uri);
    free(j->identity);
    free(j->path);
    free(j->data);
    free(j->bits);
    memset(j, 0, sizeof(*j));
}

static fe_job *s_job_find(fe_daemon *d, uint64_t id)
{
    for (size_t i = 0; i < d->cfg.max_inflight; i++)
        if (d->jobs_tab[i].used && d->jobs_tab[i].id == id)
            return &d->jobs_tab[i];
    return NULL;
}

static void s_update_gauges(fe_daemon *d)
{
    size_t unsent = 0;
    for (size_t i = 0; i < d->cfg.max_inflight; i++)
        if (d->jobs_tab[i].used && !d->jobs_tab[i].sent)
            unsent++;
    tg_metric_set(d->m_inflight, (double)d->njobs);
    tg_metric_set(d->m_queue, (double)unsent);
}

/* Try to hand one job to zmq. Returns 0, -EAGAIN, or another error. */
static int s_job_send(fe_daemon *d, fe_job *j)
{
    tg_msg_job m = {
        .id = j->id, .ack = tg_str_c(d->ack_ep), .uri = tg_str_c(j->uri),
        .identity = tg_str_c(j->identity), .attempt = j->attempt,
        .arrival_ns = j->arrival_ns,
        .has_data = j->path == NULL,
    };
    if (j->path)
        m.path = tg_str_c(j->path);
    else
        m.data = (tg_str){ j->data ? j->data : "", j->len };
    d->sbuf.size = 0;
    tg_msg_encode_job(&d->sbuf, &m);
    int rc = tg_zsock_send(d->jobs, d->sbuf.data, d->sbuf.size);
    if (rc == 0) {
        j->sent = true;
        j->deadline_ms = s_now_ms(d) + d->cfg.ack_timeout;
        tg_metric_inc(d->m_frames_out);
        tg_log_debug("job sent id=%016" PRIx64 " uri=%s attempt=%u", j->id,
                     j->uri, j->attempt);
    }
    return rc;
}

static void s_flush_unsent(fe_daemon *d)
{
    for (size_t i = 0; i < d->cfg.max_inflight; i++) {
        fe_job *j = &d->jobs_tab[i];
        if (j->used && !j->sent) {
            int rc = s_job_send(d, j);
            if (rc == -EAGAIN) {
                d->blocked = true;
                break;
            }
            if (rc < 0)
                tg_log_error("job send failed uri=%s error=%s", j->uri,
                             tg_strerror(rc));
        }
    }
    s_update_gauges(d);
}

static void s_on_writable(tg_zsock *s, void *ud)
{
    fe_daemon *d = ud;
    (void)s;
    d->blocked = false;
    s_flush_unsent(d);
}

static void s_check_finished(fe_daemon *d);
/* Frames tg_zsock dropped below the receive callback (multi-part,
 * oversized) count as bad frames too. */
static void s_close_all(fe_daemon *d);

static void s_resume_sources(fe_daemon *d)
{
    for (size_t i = 0; i < d->nsrc && !d->stopping; i++)
        if (!d->src_done[i] && d->src[i]->ops->resume)
            d->src[i]->ops->resume(d->src[i]);
}

/* A job is finished: journal, commit, free the slot. status: 0 ok,
 * 1 input errors, -1 given up. */
static void s_job_finish(fe_daemon *d, fe_job *j, int status)
{
    char rec[4200];
    int n = snprintf(rec, sizeof rec, "@%016" PRIx64 "%c%s", s_wall_s(),
                     status == 0 ? '0' : status > 0 ? 'E' : 'F', j->identity);
    if (n > 0 && (size_t)n < sizeof rec && d->journal) {
        /* synced in batches (tick): a checkpoint lost in a crash only
         * means the job is redone, and the notifier drops its alerts */
        int rc = tg_journal_append(d->journal, rec, (size_t)n);
        if (rc < 0)
            tg_log_error("checkpoint journal write failed error=%s",
                         tg_strerror(rc));
    }
    s_done_put(d, j->id, status == 0 ? FE_DONE_OK : FE_DONE_FAILED, s_wall_s());
    if (status != 0)
        d->failed_inputs++;
    double secs = (double)(s_now_ms(d) - j->start_ms) / 1000.0;
    tg_metric_observe(d->m_latency, secs);
    if (status >= 0)
        tg_metric_observe(d->m_file_lag, ((double)s_wall_ns() - (double)j->arrival_ns) / 1e9);
    tg_metric_inc(d->m_jobs_done);
    if (status == 0)
        tg_log_debug("job done uri=%s batches=%u", j->uri, j->count);
    else if (status > 0)
        tg_log_warn("job done with input errors uri=%s batches=%u errors=%u",
                    j->uri, j->count, j->errors);
    if (j->src && j->src->ops->commit)
        j->src->ops->commit(j->src, j->ref, status);
    s_job_clear(j);
    d->njobs--;
    s_update_gauges(d);
    s_resume_sources(d);
    s_check_finished(d);
}

static int s_submit(void *ud, fe_source *src, const fe_job_desc *desc)
{
    fe_daemon *d = ud;
    if (d->stopping)
        return -ECANCELED;
    uint64_t id = s_job_id(desc->identity);
    uint8_t prior = fe_doneset_get(d->done, id);
    if (prior || s_job_find(d, id)) {
        /* done before a restart (or listed twice): skip, keep the status */
        tg_metric_inc(d->m_skipped);
        if (prior == 2 && !s_job_find(d, id))
            d->failed_inputs++;
        tg_log_debug("job skipped (already done) uri=%s", desc->uri);
        if (src->ops->commit)
            src->ops->commit(src, desc->ref, prior == 2 ? 1 : 0);
        return 0;
    }
    if (d->njobs >= d->cfg.max_inflight)
        return -EAGAIN;
    fe_job *j = NULL;
    for (size_t i = 0; i < d->cfg.max_inflight && !j; i++)
        if (!d->jobs_tab[i].used)
            j = &d->jobs_tab[i];
    if (!j)
        return -EAGAIN;
    j->used = true;
    j->id = id;
    j->uri = strdup(desc->uri);
    j->identity = strdup(desc->identity);
    j->path = desc->path ? strdup(desc->path) : NULL;
    if (!desc->path) {
        j->data = malloc(desc->len ? desc->len : 1);
        if (j->data)
            memcpy(j->data, desc->data, desc->len);
        j->len = desc->len;
    }
    if (!j->uri || !j->identity || (desc->path && !j->path) ||
        (!desc->path && !j->data))
        abort(); /* supervised: out of memory is fatal */
    j->src = src;
    j->ref = desc->ref;
    j->attempt = 1;
    j->start_ms = s_now_ms(d);
    j->arrival_ns = desc->arrival_ns ? desc->arrival_ns : s_wall_ns();
    d->njobs++;
    if (!d->blocked) {
        int rc = s_job_send(d, j);
        if (rc == -EAGAIN)
            d->blocked = true;
    }
    s_update_gauges(d);
    return 0;
}

static bool s_is_done(void *ud, const char *identity, int *status)
{
    fe_daemon *d = ud;
    uint64_t id = s_job_id(identity);
    uint8_t prior = fe_doneset_get(d->done, id);
    if (!prior || s_job_find(d, id))
        return false;
    tg_metric_inc(d->m_skipped);
    if (prior == 2)
        d->failed_inputs++;
    *status = prior == 2 ? 1 : 0;
    return true;
}

static void s_failed(void *ud, fe_source *src, const char *uri, const char *msg)
{
    fe_daemon *d = ud;
    (void)src;
    d->failed_inputs++;
    tg_metric_inc(d->m_err_input);
    tg_log_error("input failed uri=%s error=%s", uri, msg);
}

static void s_src_done(void *ud, fe_source *src)
{
    fe_daemon *d = ud;
    for (size_t i = 0; i < d->nsrc; i++)
        if (d->src[i] == src)
            d->src_done[i] = true;
    s_check_finished(d);
}

/* ---- acks ------------------------------------------------------------ */

#define S_MAX_BATCHES (1u << 22) /* 256 GiB of 64 KB frames: beyond = bogus */

static void s_on_ack(fe_daemon *d, const tg_msg_ack *a)
{
    fe_job *j = s_job_find(d, a->job);
    if (!j) {
        tg_metric_inc(d->m_acks_unknown);
        return;
    }
    if (a->index >= S_MAX_BATCHES || (a->count && j->count && a->count != j->count)) {
        tg_metric_inc(d->m_err_bad);
        tg_log_warn("inconsistent ack dropped uri=%s index=%u count=%u known_count=%u",
                    j->uri, a->index, a->count, j->count);
        return;
    }
    if (a->count)
        j->count = a->count; /* the last batch tells the total */
    uint32_t need = a->index / 8 + 1;
    if (need > j->bits_len) {
        uint32_t len = j->bits_len ? j->bits_len : 8;
        while (len < need)
            len *= 2;
        uint8_t *b = realloc(j->bits, len);
        if (!b)
            abort();
        memset(b + j->bits_len, 0, len - j->bits_len);
        j->bits = b;
        j->bits_len = len;
    }
    uint8_t bit = (uint8_t)(1u << (a->index & 7));
    if (!(j->bits[a->index / 8] & bit)) {
        j->bits[a->index / 8] |= bit;
        j->nacked++;
        j->errors += a->errors;
        if (a->status)
            j->errors++;
    }
    j->deadline_ms = s_now_ms(d) + d->cfg.ack_timeout; /* progress */
    if (j->count && j->nacked == j->count)
        s_job_finish(d, j, j->errors ? 1 : 0);
}

static void s_on_recv(tg_zsock *s, const void *data, size_t len, void *ud)
{
    fe_daemon *d = ud;
    char err[160];
    tg_msg m;
    (void)s;
    tg_metric_inc(d->m_frames_in);
    msgpack_zone_clear(&d->zone);
    int rc = tg_msg_decode(data, len, 1u << 20, &d->zone, &m, err, sizeof err);
    if (rc == 0 && m.kind != TG_MSG_ACK) {
        rc = TG_MSG_E_UNEXPECTED;
        snprintf(err, sizeof err, "expected ack, got %s", tg_msg_kind_name(m.kind));
    }
    if (rc) {
        tg_metric_inc(d->m_err_bad);
        if (tg_msg_log_ok(&d->badlog, uv_now(d->loop), 10)) {
            tg_log_warn("bad frame dropped socket=%s bytes=%zu error=%s",
                        d->cfg.ack_bind, len, err);
            if (d->badlog.suppressed) {
                tg_log_warn("bad frames not logged (rate limit) count=%u", d->badlog.suppressed);
                d->badlog.suppressed = 0;
            }
        }
        return;
    }
    s_on_ack(d, &m.u.ack);
}

/* ---- timer, finish, stop --------------------------------------------- */

static void s_check_finished(fe_daemon *d)
{
    if (d->finished || !d->started || d->nsrc == 0)
        return;
    for (size_t i = 0; i < d->nsrc; i++)
        if (!d->src_done[i])
            return;
    if (d->njobs)
        return;
    d->finished = true;
    tg_log_info("all inputs processed failed_inputs=%" PRIu64, d->failed_inputs);
    s_close_all(d);
}

static void s_on_tick(uv_timer_t *t)
{
    fe_daemon *d = t->data;
    tg_metric_add(d->m_err_bad, (double)tg_zsock_dropped_new(d->acks, &d->drops_seen));
    uint64_t now = s_now_ms(d);
    if (d->journal)
        tg_journal_tick(d->journal);
    s_prune(d, now);
    if (d->stopping && now >= d->stop_deadline) {
        if (d->njobs)
            tg_log_warn("drain timeout: %zu jobs still in flight (redone next start)",
                        d->njobs);
        s_close_all(d);
        return;
    }
    for (size_t i = 0; i < d->cfg.max_inflight; i++) {
        fe_job *j = &d->jobs_tab[i];
        if (!j->used || !j->sent || now < j->deadline_ms)
            continue;
        if (j->attempt >= d->cfg.max_attempts) {
            tg_metric_inc(d->m_err_gaveup);
            tg_log_error("job given up uri=%s attempts=%u acked=%u/%u",
                         j->uri, j->attempt, j->nacked, j->count);
            s_job_finish(d, j, -1);
            if (d->closed)
                return;
            continue;
        }
        tg_metric_inc(d->m_err_timeout);
        tg_metric_inc(d->m_redeliver);
        j->attempt++;
        j->sent = false;
        tg_log_warn("ack timeout, redelivering uri=%s attempt=%u acked=%u/%u",
                    j->uri, j->attempt, j->nacked, j->count);
    }
    if (!d->blocked)
        s_flush_unsent(d);
}

static void s_close_all(fe_daemon *d)
{
    if (d->closed)
        return;
    d->closed = true;
    for (size_t i = 0; i < d->nsrc; i++)
        if (d->src[i]->ops->stop)
            d->src[i]->ops->stop(d->src[i]);
    uv_timer_stop(&d->tick);
    uv_close((uv_handle_t *)&d->tick, NULL);
    tg_zsock_close(d->jobs);
    tg_zsock_close(d->acks);
    d->jobs = d->acks = NULL;
    tg_metrics_server_close(d->msrv);
    d->msrv = NULL;
}

void fe_daemon_stop(fe_daemon *d)
{
    if (d->stopping || d->closed)
        return;
    d->stopping = true;
    for (size_t i = 0; i < d->nsrc; i++)
        if (d->src[i]->ops->stop)
            d->src[i]->ops->stop(d->src[i]);
    d->stop_deadline = s_now_ms(d) + d->cfg.drain_timeout;
    tg_log_info("stopping inflight=%zu", d->njobs);
    if (d->njobs == 0)
        s_close_all(d);
}

/* ---- lifecycle ------------------------------------------------------- */

static void s_metrics_init(fe_daemon *d)
{
    tg_metrics *r = d->reg;
    d->m_frames_out = tg_metrics_counter(r, "trailguard_frames_out_total",
        "Frames sent downstream", (const char *[]){ "kind", "job", NULL });
    d->m_frames_in = tg_metrics_counter(r, "trailguard_frames_in_total",
        "Frames received", (const char *[]){ "kind", "ack", NULL });
    d->m_jobs_done = tg_metrics_counter(r, "trailguard_jobs_done_total",
        "Jobs fully acknowledged or given up", NULL);
    d->m_inflight = tg_metrics_gauge(r, "trailguard_inflight_jobs",
        "Jobs sent and not yet fully acknowledged", NULL);
    d->m_queue = tg_metrics_gauge(r, "trailguard_queue_length",
        "Jobs waiting for the job socket", NULL);
    d->m_latency = tg_metrics_histogram(r, "trailguard_processing_seconds",
        "Time from job submission to its last ack", NULL, NULL, 0);
    static const double lag_buckets[] = { 60, 300, 600, 900, 1800, 3600, 7200,
                                          21600, 86400, 604800 };
    d->m_file_lag = tg_metrics_histogram(r, "trailguard_file_lag_seconds",
        "Time from a file's arrival (mtime, S3 LastModified) to its last ack",
        NULL, lag_buckets, sizeof lag_buckets / sizeof lag_buckets[0]);
#define S_ERR(kind) tg_metrics_counter(r, "trailguard_errors_total", \
        "Errors by kind", (const char *[]){ "kind", kind, NULL })
    d->m_err_bad = S_ERR("bad_frame");
    d->m_err_input = S_ERR("input");
    d->m_err_timeout = S_ERR("ack_timeout");
    d->m_err_gaveup = S_ERR("gave_up");
#undef S_ERR
    d->m_acks_unknown = tg_metrics_counter(r, "trailguard_acks_unknown_total",
        "Acks for jobs not in flight (late or duplicate)", NULL);
    d->m_skipped = tg_metrics_counter(r, "trailguard_jobs_skipped_total",
        "Jobs skipped because the checkpoint says they were done", NULL);
    d->m_redeliver = tg_metrics_counter(r, "trailguard_jobs_redelivered_total",
        "Jobs sent again after an ack timeout", NULL);
    d->m_done_entries = tg_metrics_gauge(r, "trailguard_done_jobs",
        "Finished jobs remembered so that re-listed inputs are skipped "
        "(fetcher.done_retention)", NULL);
    d->m_done_pruned = tg_metrics_counter(r, "trailguard_done_jobs_pruned_total",
        "Finished jobs forgotten after fetcher.done_retention", NULL);
}

fe_daemon *fe_daemon_new(uv_loop_t *loop, const fe_config *cfg,
                         const tg_daemon_common *common, char *err,
                         size_t errlen)
{
    fe_daemon *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->loop = loop;
    d->cfg = *cfg;
    d->cfg.bind = strdup(cfg->bind ? cfg->bind : "");
    d->cfg.ack_bind = strdup(cfg->ack_bind ? cfg->ack_bind : "");
    d->cfg.sources.v = NULL;
    d->cfg.sources.n = 0;
    d->cfg.ack_endpoint = NULL;
    d->cfg.journal = NULL;
    memset(&d->cfg.aws, 0, sizeof d->cfg.aws); /* fe_aws.c reads cfg itself */
    d->ack_ep = strdup(cfg->ack_endpoint ? cfg->ack_endpoint : cfg->ack_bind);
    if (d->cfg.max_inflight == 0)
        d->cfg.max_inflight = 1;
    if (d->cfg.max_inflight > 4096)
        d->cfg.max_inflight = 4096;
    if (d->cfg.max_attempts == 0)
        d->cfg.max_attempts = 1;
    d->jobs_tab = calloc(d->cfg.max_inflight, sizeof(fe_job));
    d->done = fe_doneset_new();
    msgpack_sbuffer_init(&d->sbuf);
    msgpack_zone_init(&d->zone, 4096);
    d->sink = (fe_source_sink){ s_submit, s_failed, s_src_done, d, cfg->once,
                               s_is_done };
    uv_timer_init(loop, &d->tick);
    d->tick.data = d;
    d->reg = tg_metrics_new();
    if (!d->cfg.bind || !d->cfg.ack_bind || !d->ack_ep || !d->jobs_tab || !d->reg ||
        !d->done) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s_metrics_init(d);

    char path[4096];
    if (cfg->journal)
        snprintf(path, sizeof path, "%s", cfg->journal);
    else
        snprintf(path, sizeof path, "%s/fetcher/checkpoint.journal",
                 common->state_dir ? common->state_dir : ".");
    tg_journal_opts jo = { .sync = TG_JOURNAL_SYNC_BATCH, .batch_ms = 500 };
    char jerr[256];
    d->journal = tg_journal_open(path, &jo, s_replay, d, jerr, sizeof jerr);
    if (!d->journal) {
        snprintf(err, errlen, "checkpoint journal %s: %s", path, jerr);
        goto fail;
    }

    d->zctx = zmq_ctx_new();
    d->curve = tg_curve_new(loop, d->zctx, &common->curve, d->reg, err, errlen);
    if (!d->curve)
        goto fail;
    tg_zsock_opts po = { .sndhwm = (int)cfg->sndhwm, .immediate = true };
    tg_curve_server_opts(d->curve, &po);
    d->jobs = tg_zsock_new(loop, d->zctx, ZMQ_PUSH, d->cfg.bind, true, &po,
                           err, errlen);
    if (!d->jobs)
        goto fail;
    tg_zsock_on_writable(d->jobs, s_on_writable, d);
    tg_zsock_opts ao = { .rcvhwm = 10000, .max_msg_size = 1 << 20 };
    tg_curve_server_opts(d->curve, &ao);
    d->acks = tg_zsock_new(loop, d->zctx, ZMQ_PULL, d->cfg.ack_bind, true, &ao,
                           err, errlen);
    if (!d->acks)
        goto fail;
    tg_zsock_on_recv(d->acks, s_on_recv, d);
    d->msrv = tg_metrics_serve(loop, d->reg, common->metrics_bind,
                               (int)cfg->metrics_port, common->metrics_token,
                               err, errlen);
    if (!d->msrv)
        goto fail;
    return d;
fail:
    s_close_all(d);
    d->closed = true;
    fe_daemon_free(d);
    return NULL;
}

int fe_daemon_add_source(fe_daemon *d, fe_source **src)
{
    if (d->started || d->nsrc >= S_MAX_SOURCES)
        return -EBUSY;
    d->src[d->nsrc++] = *src;
    *src = NULL;
    return 0;
}

int fe_daemon_start(fe_daemon *d, char *err, size_t errlen)
{
    d->started = true;
    uv_timer_start(&d->tick, s_on_tick, S_TICK_MS, S_TICK_MS);
    tg_metrics_set_ready(d->reg, true);
    tg_log_info("checkpoint replayed done_jobs=%zu", fe_doneset_size(d->done));
    tg_metric_set(d->m_done_entries, (double)fe_doneset_size(d->done));
    s_prune(d, s_now_ms(d));
    for (size_t i = 0; i < d->nsrc; i++) {
        int rc = d->src[i]->ops->start(d->src[i], d->loop, &d->sink, err, errlen);
        if (rc)
            return rc;
    }
    s_check_finished(d);
    return 0;
}

bool fe_daemon_finished(const fe_daemon *d)
{
    return d->finished;
}

int fe_daemon_exit_code(const fe_daemon *d)
{
    return d->failed_inputs ? 1 : 0;
}

const char *fe_daemon_endpoint(const fe_daemon *d)
{
    return d->cfg.bind;
}

tg_metrics *fe_daemon_metrics(fe_daemon *d)
{
    return d->reg;
}

int fe_daemon_metrics_port(const fe_daemon *d)
{
    return d->msrv ? tg_metrics_server_port(d->msrv) : -1;
}

void fe_daemon_free(fe_daemon *d)
{
    if (!d)
        return;
    if (!d->closed) {
        s_close_all(d);
    }
    for (size_t i = 0; i < d->nsrc; i++)
        d->src[i]->ops->free(d->src[i]);
    for (size_t i = 0; d->jobs_tab && i < d->cfg.max_inflight; i++)
        s_job_clear(&d->jobs_tab[i]);
    free(d->jobs_tab);
    tg_journal_close(d->journal);
    tg_curve_close(d->curve);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    tg_metrics_free(d->reg);
    msgpack_sbuffer_destroy(&d->sbuf);
    msgpack_zone_destroy(&d->zone);
    fe_doneset_free(d->done);
    free(d->cfg.bind);
    free(d->cfg.ack_bind);
    free(d->ack_ep);
    free(d);
}
