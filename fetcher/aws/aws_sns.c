/*
 * aws_sns.c - SNS HTTP endpoint source (see aws_sns.h for the design).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * A request in progress is an s_req: it holds the deferred response, the
 * parsed message and the outgoing HTTP request (certificate or
 * SubscribeURL).  A notification whose objects are queued is an s_note;
 * the objects carry it as their aws_objq tag and the last result writes
 * the "done" journal record.
 */
#include "aws_sns.h"

#include "aws_buf.h"
#include "aws_objq.h"
#include "aws_seen.h"
#include "aws_sns_msg.h"
#include "tg_journal.h"

#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CERT_CACHE 16
#define S_CERT_MAX (64 * 1024)

typedef struct s_note {
    char *id;
    int remaining;
    struct s_note *prev, *next;   /* all live notes, freed with the source */
} s_note;

typedef struct s_req {
    struct aws_sns *s;
    tg_http_resp *resp;
    char *remote;
    aws_sns_msg m;
    aws_http_req *out;
    struct s_req *prev, *next;
} s_req;

typedef struct aws_sns {
    fe_source base;
    aws_sns_opts o;
    char **topics;
    char *listen_addr, *journal_path;
    char *tls_cert, *tls_key;     /* NULL = plain HTTP */
    regex_t host_re;
    aws_client *client;
    aws_http *http;
    const aws_config *cfg;
    aws_objq *objq;
    aws_seen *dedup;
    tg_journal *journal;
    tg_http_server *server;
    const fe_source_sink *sink;
    char *cert_url[S_CERT_CACHE], *cert_pem[S_CERT_CACHE];
    size_t cert_len[S_CERT_CACHE], ncert;
    s_req *reqs;
    s_note *notes;
    json_t *replay;               /* id -> objects array, during start() */
    aws_sns_stats st;
    bool started, stopped;
} aws_sns;

/* ---- responses ---------------------------------------------------------- */

static void s_req_free(s_req *r)
{
    aws_sns *s = r->s;
    if (r->prev)
        r->prev->next = r->next;
    else if (s->reqs == r)
        s->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->out)
        aws_http_cancel(r->out);
    aws_sns_msg_fini(&r->m);
    free(r->remote);
    free(r);
}

static void s_finish(s_req *r, int status, const char *text)
{
    tg_http_resp_text(r->resp, status, text);
    tg_http_resp_send(r->resp);
    s_req_free(r);
}

static void s_reject(s_req *r, int status, uint64_t *counter, const char *why)
{
    aws_sns *s = r->s;
    (*counter)++;
    if (s->o.on_reject)
        s->o.on_reject(status, why, r->remote, s->o.ud);
    s_finish(r, status, why);
}

/* ---- journal ---------------------------------------------------------------- */

static int s_journal_json(aws_sns *s, json_t *rec)
{
    char *txt = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    if (!txt)
        return -ENOMEM;
    int rc = tg_journal_append(s->journal, txt, strlen(txt));
    free(txt);
    return rc;
}

static void s_note_free(aws_sns *s, s_note *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        s->notes = n->next;
    if (n->next)
        n->next->prev = n->prev;
    free(n->id);
    free(n);
}

static int s_compact_none(tg_journal_writer *w, void *ud)
{
    (void)w;
    (void)ud;
    return 0;
}

/* Nothing is pending: every record of the journal is dead.  Rewrite it
 * empty once it is long enough to be worth it. */
static void s_compact_idle(aws_sns *s)
{
    size_t min = s->o.compact_records ? s->o.compact_records : 4096;
    if (!s->journal || s->notes || tg_journal_records(s->journal) < min)
        return;
    if (tg_journal_compact(s->journal, s_compact_none, NULL) == 0)
        s->st.compactions++;
}

static void s_note_done(aws_sns *s, s_note *n)
{
    if (--n->remaining > 0)
        return;
    if (s->journal)
        s_journal_json(s, json_pack("{s:s}", "d", n->id));
    s_note_free(s, n);
    s_compact_idle(s);
}

static void s_obj_result(void *tag, int status, bool committed, const char *msg,
                         void *ud)
{
    aws_sns *s = ud;
    if (committed && status >= 0)
        s->st.objects_done++;
    else
        s->st.objects_failed++;
    if (!committed && !s->stopped && status != -ENOENT && s->sink)
        s->sink->failed(s->sink->ud, &s->base, "sns:", msg);
    s_note_done(s, tag);
}

static bool s_key_wanted(const aws_sns *s, const char *key)
{
    return strstr(key, "/CloudTrail/") ||
           (s->o.include_digest && strstr(key, "/CloudTrail-Digest/")) ||
           (s->o.include_insight && strstr(key, "/CloudTrail-Insight/"));
}

/* Queue the objects of one notification (objs: [[bucket, key, etag?]...]). */
static void s_queue(aws_sns *s, const char *id, json_t *objs)
{
    s_note *n = aws_xcalloc(1, sizeof *n);
    n->id = aws_strdup(id);
    n->remaining = (int)json_array_size(objs) + 1;   /* +1 held while adding */
    n->next = s->notes;
    if (s->notes)
        s->notes->prev = n;
    s->notes = n;
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        s->st.objects++;
        aws_objq_add(s->objq, json_string_value(json_array_get(o, 0)),
                     json_string_value(json_array_get(o, 1)),
                     json_string_value(json_array_get(o, 2)), n);
    }
    s_note_done(s, n);
}

/* ---- processing a verified message ------------------------------------------ */

static void s_on_confirm(int rc, const aws_http_response *resp, void *data)
{
    s_req *r = data;
    r->out = NULL;
    if (rc == 0 && resp->status == 200) {
        r->s->st.confirmed++;
        s_finish(r, 200, "subscription confirmed");
    } else {
        s_finish(r, 502, "subscription confirmation failed");
    }
}

static void s_process(s_req *r)
{
    aws_sns *s = r->s;
    aws_sns_msg *m = &r->m;
    if (aws_seen_has(s->dedup, m->message_id)) {
        s->st.duplicates++;
        s_finish(r, 200, "duplicate");
        return;
    }
    if (m->type == AWS_SNS_UNSUBSCRIBE) {
        s->st.unsubscribed++;
        aws_seen_add(s->dedup, m->message_id);
        s_finish(r, 200, "ok");
        return;
    }
    if (m->type == AWS_SNS_SUBSCRIBE) {
        if (!s->o.confirm) {
            s->st.ignored++;
            s_finish(r, 200, "not confirming");
            return;
        }
        if (!aws_sns_https_url_ok(m->subscribe_url, &s->host_re)) {
            s_reject(r, 403, &s->st.rej_cert_url, "SubscribeURL not trusted");
            return;
        }
        aws_http_request rq = {.url = m->subscribe_url, .timeout_ms = 15000,
                               .max_response = 64 * 1024};
        if (aws_http_send(s->http, &rq, s_on_confirm, r, &r->out) != 0)
            s_finish(r, 502, "subscription confirmation failed");
        return;
    }
    aws_sns_obj *objs = NULL;
    int n = aws_sns_objects(m->message, &objs);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        if (s_key_wanted(s, objs[i].key))
            json_array_append_new(list, json_pack("[s,s,s?]", objs[i].bucket,
                                                  objs[i].key, objs[i].etag));
    aws_sns_objs_free(objs, n < 0 ? 0 : n);
    if (json_array_size(list) == 0) {
        json_decref(list);
        s->st.ignored++;
        aws_seen_add(s->dedup, m->message_id);
        s_finish(r, 200, "nothing to fetch");
        return;
    }
    /* Durable before we say 200: SNS will not send it again. */
    if (s_journal_json(s, json_pack("{s:s,s:O}", "a", m->message_id, "o", list)) != 0) {
        json_decref(list);
        s_reject(r, 500, &s->st.rej_journal, "journal write failed");
        return;
    }
    aws_seen_add(s->dedup, m->message_id);
    s->st.accepted++;
    s_queue(s, m->message_id, list);
    json_decref(list);
    s_finish(r, 200, "accepted");
}

static void s_verify_with(s_req *r, const char *pem, size_t len)
{
    if (aws_sns_verify(&r->m, pem, len) != 0) {
        s_reject(r, 403, &r->s->st.rej_signature, "bad signature");
        return;
    }
    s_process(r);
}

static void s_cache_cert(aws_sns *s, const char *url, const char *pem, size_t len)
{
    if (s->ncert == S_CERT_CACHE) {
        free(s->cert_url[0]);
        free(s->cert_pem[0]);
        memmove(s->cert_url, s->cert_url + 1, (S_CERT_CACHE - 1) * sizeof(char *));
        memmove(s->cert_pem, s->cert_pem + 1, (S_CERT_CACHE - 1) * sizeof(char *));
        memmove(s->cert_len, s->cert_len + 1, (S_CERT_CACHE - 1) * sizeof(size_t));
        s->ncert--;
    }
    s->cert_url[s->ncert] = aws_strdup(url);
    s->cert_pem[s->ncert] = aws_strndup(pem, len);
    s->cert_len[s->ncert++] = len;
}

static void s_on_cert(int rc, const aws_http_response *resp, void *data)
{
    s_req *r = data;
    aws_sns *s = r->s;
    r->out = NULL;
    if (rc != 0 || resp->status != 200 || !resp->body_len) {
        s_reject(r, 403, &s->st.rej_cert, "signing certificate unavailable");
        return;
    }
    s_cache_cert(s, r->m.signing_cert_url, resp->body, resp->body_len);
    s_verify_with(r, resp->body, resp->body_len);
}

static bool s_topic_allowed(const aws_sns *s, const char *arn)
{
    for (size_t i = 0; i < s->o.ntopics; i++)
        if (!strcmp(s->topics[i], arn))
            return true;
    return false;
}

void aws_sns_handle(fe_source *src, const tg_http_req *req, tg_http_resp *resp)
{
    aws_sns *s = (aws_sns *)src;
    s_req *r = aws_xcalloc(1, sizeof *r);
    r->s = s;
    r->resp = resp;
    r->remote = aws_strdup(req->remote);
    r->next = s->reqs;
    if (s->reqs)
        s->reqs->prev = r;
    s->reqs = r;
    tg_http_resp_defer(resp);
    s->st.requests++;
    if (s->stopped) {
        s_finish(r, 503, "shutting down");
        return;
    }
    if (strcmp(req->method, "POST")) {
        s_reject(r, 405, &s->st.rej_method, "POST only");
        return;
    }
    if (req->body_len > s->o.max_body) {
        s_reject(r, 413, &s->st.rej_size, "message too large");
        return;
    }
    char err[96];
    if (aws_sns_msg_parse(req->body, req->body_len, &r->m, err, sizeof err) != 0) {
        s_reject(r, 400, &s->st.rej_malformed, "malformed SNS message");
        return;
    }
    const char *hdr_type = tg_http_req_header(req, "x-amz-sns-message-type");
    if (hdr_type && strcmp(hdr_type, r->m.type_str)) {
        s_reject(r, 400, &s->st.rej_malformed, "message type header mismatch");
        return;
    }
    if (!s_topic_allowed(s, r->m.topic_arn)) {
        s_reject(r, 403, &s->st.rej_topic, "topic not allowed");
        return;
    }
    time_t now = time(NULL);
    if (r->m.ts < now - (time_t)s->o.max_age_s || r->m.ts > now + 300) {
        s_reject(r, 400, &s->st.rej_stale, "stale or future Timestamp");
        return;
    }
    if (!aws_sns_cert_url_ok(r->m.signing_cert_url, &s->host_re)) {
        s_reject(r, 403, &s->st.rej_cert_url, "SigningCertURL not trusted");
        return;
    }
    for (size_t i = 0; i < s->ncert; i++)
        if (!strcmp(s->cert_url[i], r->m.signing_cert_url)) {
            s_verify_with(r, s->cert_pem[i], s->cert_len[i]);
            return;
        }
    s->st.cert_fetches++;
    aws_http_request rq = {.url = r->m.signing_cert_url, .timeout_ms = 10000,
                           .max_response = S_CERT_MAX};
    if (aws_http_send(s->http, &rq, s_on_cert, r, &r->out) != 0)
        s_reject(r, 403, &s->st.rej_cert, "signing certificate unavailable");
}

static void s_on_http(const tg_http_req *req, tg_http_resp *resp, void *ud)
{
    aws_sns_handle(ud, req, resp);
}

/* ---- journal replay ------------------------------------------------------------ */

static int s_replay(const void *rec, size_t len, void *ud)
{
    aws_sns *s = ud;
    json_t *j = json_loadb(rec, len, 0, NULL);
    if (!j)
        return 0;   /* skip unreadable records */
    const char *a = json_string_value(json_object_get(j, "a"));
    const char *d = json_string_value(json_object_get(j, "d"));
    if (a && json_is_array(json_object_get(j, "o")))
        json_object_set(s->replay, a, json_object_get(j, "o"));
    else if (d)
        json_object_del(s->replay, d);
    json_decref(j);
    return 0;
}

static int s_compact_cb(tg_journal_writer *w, void *ud)
{
    aws_sns *s = ud;
    const char *id;
    json_t *objs;
    json_object_foreach(s->replay, id, objs) {
        json_t *rec = json_pack("{s:s,s:O}", "a", id, "o", objs);
        char *txt = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
        json_decref(rec);
        int rc = txt ? tg_journal_writer_put(w, txt, strlen(txt)) : -ENOMEM;
        free(txt);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- fe_source ops ---------------------------------------------------------------- */

static void s_on_tls_failure(const char *remote, const char *reason, void *ud)
{
    aws_sns *s = ud;
    s->st.tls_failures++;
    if (s->o.on_tls_failure)
        s->o.on_tls_failure(remote, reason, s->o.ud);
}

static int s_start(fe_source *src, uv_loop_t *loop, const fe_source_sink *sink,
                   char *err, size_t errlen)
{
    aws_sns *s = (aws_sns *)src;
    s->sink = sink;
    aws_objq_set_sink(s->objq, sink);
    s->replay = json_object();
    tg_journal_opts jo = {.sync = TG_JOURNAL_SYNC_ALWAYS};
    s->journal = tg_journal_open(s->journal_path, &jo, s_replay, s, err, errlen);
    if (!s->journal) {
        json_decref(s->replay);
        s->replay = NULL;
        return -EIO;
    }
    tg_journal_compact(s->journal, s_compact_cb, s);
    if (s->o.port >= 0) {
        /* The listener reads up to twice max_body so that the handler can
         * answer a clean 413 to moderately oversized messages. */
        tg_http_opts ho = {.max_body_bytes = 2 * s->o.max_body,
                           .tls_cert_file = s->tls_cert,
                           .tls_key_file = s->tls_key,
                           .on_tls_failure = s_on_tls_failure};
        s->server = tg_http_server_new(loop, s->listen_addr, s->o.port, &ho,
                                       s_on_http, s, err, errlen);
        if (!s->server) {
            json_decref(s->replay);
            s->replay = NULL;
            return -EADDRINUSE;
        }
    }
    s->started = true;
    const char *id;
    json_t *objs;
    json_object_foreach(s->replay, id, objs) {
        s->st.replayed++;
        aws_seen_add(s->dedup, id);
        s_queue(s, id, objs);
    }
    json_decref(s->replay);
    s->replay = NULL;
    return 0;
}

static bool s_is_finite(const fe_source *src)
{
    (void)src;
    return false;
}

static void s_resume(fe_source *src)
{
    aws_objq_resume(((aws_sns *)src)->objq);
}

static void s_commit(fe_source *src, void *ref, int status)
{
    aws_objq_commit(((aws_sns *)src)->objq, ref, status);
}

static void s_stop(fe_source *src)
{
    aws_sns *s = (aws_sns *)src;
    if (s->stopped)
        return;
    s->stopped = true;
    tg_http_server_close(s->server);
    s->server = NULL;
    while (s->reqs)
        s_finish(s->reqs, 503, "shutting down");
    aws_objq_stop(s->objq);
}

static void s_free(fe_source *src)
{
    aws_sns *s = (aws_sns *)src;
    s_stop(src);
    aws_objq_free(s->objq);   /* unfinished notes stay in the journal */
    while (s->notes)
        s_note_free(s, s->notes);
    tg_journal_close(s->journal);
    aws_seen_free(s->dedup);
    for (size_t i = 0; i < s->ncert; i++) {
        free(s->cert_url[i]);
        free(s->cert_pem[i]);
    }
    for (size_t i = 0; i < s->o.ntopics; i++)
        free(s->topics[i]);
    free(s->topics);
    free(s->listen_addr);
    free(s->journal_path);
    free(s->tls_cert);
    free(s->tls_key);
    regfree(&s->host_re);
    free(s);
}

static const fe_source_ops s_ops = {
    .kind = "sns", .start = s_start, .is_finite = s_is_finite,
    .resume = s_resume, .commit = s_commit, .stop = s_stop, .free = s_free,
};

fe_source *aws_sns_source_new(const aws_sns_opts *o, aws_client *client,
                              aws_http *http, const aws_config *cfg,
                              char *err, size_t errlen)
{
    if (!o || !o->ntopics || !o->topics || !o->journal_path || !client || !http) {
        snprintf(err, errlen, "sns source: topics and journal_path are required");
        return NULL;
    }
    aws_sns *s = aws_xcalloc(1, sizeof *s);
    if (regcomp(&s->host_re, o->host_pattern ? o->host_pattern : AWS_SNS_HOST_PATTERN,
                REG_EXTENDED | REG_NOSUB) != 0) {
        snprintf(err, errlen, "sns source: bad host pattern");
        free(s);
        return NULL;
    }
    s->base.ops = &s_ops;
    s->o = *o;
    if (!s->o.max_age_s)
        s->o.max_age_s = 3600;
    if (!s->o.max_body)
        s->o.max_body = 256 * 1024;
    s->topics = aws_xcalloc(o->ntopics, sizeof *s->topics);
    for (size_t i = 0; i < o->ntopics; i++)
        s->topics[i] = aws_strdup(o->topics[i]);
    s->listen_addr = aws_strdup(o->listen_addr ? o->listen_addr : "127.0.0.1");
    s->journal_path = aws_strdup(o->journal_path);
    s->tls_cert = o->tls_cert_file ? aws_strdup(o->tls_cert_file) : NULL;
    s->tls_key = o->tls_key_file ? aws_strdup(o->tls_key_file) : NULL;
    s->o.topics = NULL;
    s->o.listen_addr = s->o.journal_path = s->o.host_pattern = s->o.region = NULL;
    s->o.tls_cert_file = s->o.tls_key_file = NULL;
    s->client = client;
    s->http = http;
    s->cfg = cfg;
    s->dedup = aws_seen_new(o->dedup_max ? o->dedup_max : 100000);
    aws_objq_opts qo = {.concurrency = o->concurrency, .max_object = o->max_object,
                        .path_style = o->path_style,
                        .region = o->region ? o->region
                                  : cfg && cfg->region ? cfg->region : NULL};
    aws_objq_cbs cbs = {s_obj_result, NULL, NULL, NULL, s};
    s->objq = aws_objq_new(client, cfg, &s->base, &qo, &cbs);
    return &s->base;
}

int aws_sns_source_port(const fe_source *src)
{
    const aws_sns *s = (const aws_sns *)src;
    return s->server ? tg_http_server_port(s->server) : -1;
}

const aws_sns_stats *aws_sns_source_stats(const fe_source *src)
{
    return &((const aws_sns *)src)->st;
}
