/*
 * aws_sqs.c - SQS source (see aws_sqs.h for the design).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * One ReceiveMessage is outstanding at a time.  Each received message is
 * an s_msg holding its receipt handle and the number of its objects still
 * unfinished (+1 while they are being added); its objects carry it as
 * their aws_objq tag.  A one-second uv timer drives visibility extension
 * and retry back-off.
 */
#include "aws_sqs.h"

#include "aws_buf.h"
#include "aws_objq.h"
#include "aws_sns_msg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_msg {
    struct aws_sqs *s;
    char *id, *receipt, *body;
    int remaining;
    bool failed;
    unsigned receives;
    uint64_t next_extend;         /* loop time (ms) of the next extension */
    struct s_msg *prev, *next;
} s_msg;

typedef struct aws_sqs {
    fe_source base;
    aws_sqs_opts o;
    char *queue_url, *dlq_url, *endpoint, *region;
    aws_client *client;
    const aws_config *cfg;
    aws_objq *objq;
    uv_loop_t *loop;
    uv_timer_t tick;
    const fe_source_sink *sink;
    aws_call *recv;
    uint64_t retry_at;            /* loop ms; 0 = no back-off */
    s_msg *msgs;
    unsigned nmsgs;
    aws_sqs_stats st;
    bool started, stopped;
    bool drained, done_sent;      /* once mode */
} aws_sqs;

static void s_receive(aws_sqs *s);

static void s_check_done(aws_sqs *s)
{
    if (s->o.once && s->drained && !s->done_sent && !s->stopped && !s->recv &&
        aws_objq_idle(s->objq) && s->sink) {
        s->done_sent = true;
        s->sink->done(s->sink->ud, &s->base);
    }
}

static void s_obj_progress(void *ud)
{
    s_check_done(ud);
}

/* ---- requests ---------------------------------------------------------------- */

static void s_ignore_cb(int rc, const aws_http_response *resp, void *data)
{
    (void)rc;
    (void)resp;
    (void)data;
}

static int s_call(aws_sqs *s, const char *op, json_t *body, aws_http_cb cb,
                  void *data, aws_call **handle)
{
    char *txt = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!txt)
        return -ENOMEM;
    char target[64];
    snprintf(target, sizeof target, "AmazonSQS.%s", op);
    aws_http_header h[] = {{"Content-Type", "application/x-amz-json-1.0"},
                           {"X-Amz-Target", target}};
    aws_buf url;
    aws_buf_init(&url);
    aws_buf_printf(&url, "%s/", s->endpoint);
    aws_http_request rq = {.method = "POST", .url = aws_buf_str(&url),
                           .headers = h, .n_headers = 2, .body = txt,
                           .body_len = strlen(txt),
                           .timeout_ms = ((long)s->o.wait_s + 15) * 1000,
                           .max_response = 4u << 20};
    int rc = aws_client_send(s->client, &rq, s->region, "sqs", 0, NULL, cb, data,
                             handle);
    aws_buf_fini(&url);
    free(txt);
    return rc;
}

/* ---- messages ------------------------------------------------------------------ */

static void s_msg_free(aws_sqs *s, s_msg *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        s->msgs = m->next;
    if (m->next)
        m->next->prev = m->prev;
    s->nmsgs--;
    free(m->id);
    free(m->receipt);
    free(m->body);
    free(m);
}

static void s_on_delete(int rc, const aws_http_response *resp, void *data)
{
    aws_sqs *s = data;
    if (rc == 0 && resp->status == 200)
        s->st.deleted++;
    else
        s->st.delete_errors++;
}

static void s_delete(aws_sqs *s, const char *receipt)
{
    json_t *b = json_pack("{s:s,s:s}", "QueueUrl", s->queue_url,
                          "ReceiptHandle", receipt);
    if (s_call(s, "DeleteMessage", b, s_on_delete, s, NULL) != 0)
        s->st.delete_errors++;
}

/* The last object of m is finished. */
static void s_msg_settle(aws_sqs *s, s_msg *m)
{
    if (--m->remaining > 0)
        return;
    if (!m->failed)
        s_delete(s, m->receipt);
    /* failed: leave it; it becomes visible again and is retried until
     * max_receives dead-letters it */
    s_msg_free(s, m);
    if (!s->stopped)
        s_receive(s);
}

static void s_obj_result(void *tag, int status, bool committed, const char *msg,
                         void *ud)
{
    aws_sqs *s = ud;
    s_msg *m = tag;
    if (!committed || status < 0) {
        s->st.objects_failed++;
        if (!committed && status == -ENOENT) {
            /* a deleted object will never appear: not a reason to retry */
        } else {
            m->failed = true;
            if (!committed && s->sink)
                s->sink->failed(s->sink->ud, &s->base, "sqs:", msg);
        }
    }
    s_msg_settle(s, m);
}

static bool s_key_wanted(const aws_sqs *s, const char *key)
{
    return strstr(key, "/CloudTrail/") ||
           (s->o.include_digest && strstr(key, "/CloudTrail-Digest/")) ||
           (s->o.include_insight && strstr(key, "/CloudTrail-Insight/"));
}

/* Objects named by a body: SNS envelope or raw notification. */
static int s_objects(const char *body, aws_sns_obj **objs)
{
    json_t *j = json_loads(body, 0, NULL);
    if (!j)
        return -1;
    const char *type = json_string_value(json_object_get(j, "Type"));
    const char *inner = json_string_value(json_object_get(j, "Message"));
    int n;
    if (type && inner)
        n = strcmp(type, "Notification") ? 0 : aws_sns_objects(inner, objs);
    else
        n = aws_sns_objects(body, objs);
    json_decref(j);
    return n;
}

static void s_dead_letter(aws_sqs *s, s_msg *m)
{
    s->st.dead_lettered++;
    if (s->dlq_url) {
        json_t *b = json_pack("{s:s,s:s}", "QueueUrl", s->dlq_url, "MessageBody",
                              m->body);
        s_call(s, "SendMessage", b, s_ignore_cb, NULL, NULL);
    }
    if (s->sink) {
        char uri[512];
        snprintf(uri, sizeof uri, "sqs:%s#%s", s->queue_url, m->id);
        s->sink->failed(s->sink->ud, &s->base, uri,
                        "message dead-lettered after too many receives");
    }
    s_delete(s, m->receipt);
}

static void s_handle(aws_sqs *s, json_t *jm)
{
    const char *id = json_string_value(json_object_get(jm, "MessageId"));
    const char *rh = json_string_value(json_object_get(jm, "ReceiptHandle"));
    const char *body = json_string_value(json_object_get(jm, "Body"));
    const char *cnt = json_string_value(json_object_get(
        json_object_get(jm, "Attributes"), "ApproximateReceiveCount"));
    if (!id || !rh || !body)
        return;
    s->st.messages++;
    s_msg *m = aws_xcalloc(1, sizeof *m);
    m->s = s;
    m->id = aws_strdup(id);
    m->receipt = aws_strdup(rh);
    m->body = aws_strdup(body);
    m->receives = cnt ? (unsigned)strtoul(cnt, NULL, 10) : 1;
    m->remaining = 1;
    m->next_extend = uv_now(s->loop) + s->o.visibility_s * 1000ull / 3;
    m->next = s->msgs;
    if (s->msgs)
        s->msgs->prev = m;
    s->msgs = m;
    s->nmsgs++;
    if (m->receives > s->o.max_receives) {
        s_dead_letter(s, m);
        s_msg_free(s, m);
        return;
    }
    aws_sns_obj *objs = NULL;
    int n = s_objects(body, &objs);
    if (n < 0) {
        s->st.unparseable++;
        m->failed = true;          /* retried, then dead-lettered */
    }
    int queued = 0;
    for (int i = 0; i < n; i++) {
        if (!s_key_wanted(s, objs[i].key))
            continue;
        m->remaining++;
        queued++;
        s->st.objects++;
        aws_objq_add(s->objq, objs[i].bucket, objs[i].key, objs[i].etag, m);
    }
    aws_sns_objs_free(objs, n < 0 ? 0 : n);
    if (n >= 0 && queued == 0)
        s->st.ignored++;           /* test event or nothing for us: delete */
    s_msg_settle(s, m);
}

/* ---- receive loop ---------------------------------------------------------------- */

static void s_on_receive(int rc, const aws_http_response *resp, void *data)
{
    aws_sqs *s = data;
    s->recv = NULL;
    json_t *j = NULL;
    if (rc != 0 || resp->status != 200 ||
        !(j = json_loadb(resp->body, resp->body_len, 0, NULL))) {
        s->st.receive_errors++;
        if (s->sink && !s->stopped) {
            char msg[128];
            snprintf(msg, sizeof msg, "ReceiveMessage: %s%ld",
                     rc ? aws_http_strerror(rc) : "HTTP ", rc ? 0L : resp->status);
            s->sink->failed(s->sink->ud, &s->base, s->queue_url, msg);
        }
        s->retry_at = uv_now(s->loop) + 5000;   /* back off */
        return;
    }
    size_t i;
    json_t *m;
    json_t *msgs = json_object_get(j, "Messages");
    if (s->o.once && json_array_size(msgs) == 0)
        s->drained = true;
    json_array_foreach(msgs, i, m)
        s_handle(s, m);
    json_decref(j);
    s_receive(s);
    s_check_done(s);
}

static void s_receive(aws_sqs *s)
{
    if (s->stopped || !s->started || s->recv || s->drained ||
        s->nmsgs >= s->o.max_inflight ||
        (s->retry_at && uv_now(s->loop) < s->retry_at))
        return;
    s->retry_at = 0;
    /* AttributeNames is the deprecated spelling older emulators know. */
    json_t *b = json_pack("{s:s,s:i,s:i,s:i,s:[s],s:[s]}", "QueueUrl", s->queue_url,
                          "MaxNumberOfMessages", (int)s->o.max_messages,
                          "WaitTimeSeconds", (int)s->o.wait_s,
                          "VisibilityTimeout", (int)s->o.visibility_s,
                          "MessageSystemAttributeNames", "ApproximateReceiveCount",
                          "AttributeNames", "ApproximateReceiveCount");
    s->st.receives++;
    if (s_call(s, "ReceiveMessage", b, s_on_receive, s, &s->recv) != 0) {
        s->recv = NULL;
        s->st.receive_errors++;
        s->retry_at = uv_now(s->loop) + 5000;
    }
}

static void s_on_tick(uv_timer_t *t)
{
    aws_sqs *s = t->data;
    uint64_t now = uv_now(s->loop);
    for (s_msg *m = s->msgs; m; m = m->next) {
        if (now < m->next_extend)
            continue;
        m->next_extend = now + s->o.visibility_s * 1000ull / 3;
        json_t *b = json_pack("{s:s,s:s,s:i}", "QueueUrl", s->queue_url,
                              "ReceiptHandle", m->receipt, "VisibilityTimeout",
                              (int)s->o.visibility_s);
        if (s_call(s, "ChangeMessageVisibility", b, s_ignore_cb, NULL, NULL) == 0)
            s->st.extended++;
    }
    s_receive(s);
}

/* ---- fe_source ops ------------------------------------------------------------------ */

static int s_start(fe_source *src, uv_loop_t *loop, const fe_source_sink *sink,
                   char *err, size_t errlen)
{
    aws_sqs *s = (aws_sqs *)src;
    (void)err;
    (void)errlen;
    s->loop = loop;
    s->sink = sink;
    if (sink->once)
        s->o.once = true;
    if (s->o.once && s->o.wait_s > 2)
        s->o.wait_s = 2;            /* an empty answer ends the drain */
    aws_objq_set_sink(s->objq, sink);
    uv_timer_init(loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, s_on_tick, 1000, 1000);
    s->started = true;
    s_receive(s);
    return 0;
}

static bool s_is_finite(const fe_source *src)
{
    return ((const aws_sqs *)src)->o.once;
}

static void s_resume(fe_source *src)
{
    aws_objq_resume(((aws_sqs *)src)->objq);
}

static void s_commit(fe_source *src, void *ref, int status)
{
    aws_objq_commit(((aws_sqs *)src)->objq, ref, status);
}

static void s_stop(fe_source *src)
{
    aws_sqs *s = (aws_sqs *)src;
    if (s->stopped)
        return;
    s->stopped = true;
    if (s->started)
        uv_timer_stop(&s->tick);
    aws_call_cancel(s->recv);
    s->recv = NULL;
    aws_objq_stop(s->objq);
}

static void s_closed(uv_handle_t *h)
{
    free(h->data);
}

static void s_free(fe_source *src)
{
    aws_sqs *s = (aws_sqs *)src;
    s_stop(src);
    aws_objq_free(s->objq);        /* unfinished messages are redelivered */
    while (s->msgs)
        s_msg_free(s, s->msgs);
    free(s->queue_url);
    free(s->dlq_url);
    free(s->endpoint);
    free(s->region);
    if (s->started)
        uv_close((uv_handle_t *)&s->tick, s_closed);
    else
        free(s);
}

static const fe_source_ops s_ops = {
    .kind = "sqs", .start = s_start, .is_finite = s_is_finite,
    .resume = s_resume, .commit = s_commit, .stop = s_stop, .free = s_free,
};

/* "https://sqs.<region>.amazonaws.com/..." -> region */
static char *s_region_from_url(const char *u)
{
    const char *p = strstr(u, "://sqs.");
    if (!p)
        return NULL;
    p += 7;
    size_t n = strcspn(p, ".");
    if (n == 0 || n > 31 || strncmp(p + n, ".amazonaws.com", 14))
        return NULL;
    return aws_strndup(p, n);
}

fe_source *aws_sqs_source_new(const aws_sqs_opts *o, aws_client *client,
                              const aws_config *cfg, char *err, size_t errlen)
{
    if (!o || !o->queue_url || (strncmp(o->queue_url, "https://", 8) &&
                                strncmp(o->queue_url, "http://", 7)) ||
        !client || !cfg) {
        snprintf(err, errlen, "sqs source: queue_url (http[s]://...) required");
        return NULL;
    }
    aws_sqs *s = aws_xcalloc(1, sizeof *s);
    s->base.ops = &s_ops;
    s->o = *o;
    if (!s->o.max_messages || s->o.max_messages > 10)
        s->o.max_messages = 10;
    if (!s->o.wait_s || s->o.wait_s > 20)
        s->o.wait_s = 20;
    if (!s->o.visibility_s)
        s->o.visibility_s = 300;
    if (!s->o.max_receives)
        s->o.max_receives = 5;
    if (!s->o.max_inflight)
        s->o.max_inflight = 20;
    s->queue_url = aws_strdup(o->queue_url);
    s->dlq_url = aws_strdup(o->dlq_url);
    s->region = o->region ? aws_strdup(o->region) : s_region_from_url(o->queue_url);
    if (!s->region)
        s->region = aws_strdup(cfg->region ? cfg->region : "us-east-1");
    s->endpoint = aws_endpoint(cfg, "sqs", s->region);
    if (!s->endpoint) {
        snprintf(err, errlen, "sqs source: cannot build the SQS endpoint");
        free(s->queue_url);
        free(s->dlq_url);
        free(s->region);
        free(s);
        return NULL;
    }
    s->o.queue_url = s->o.dlq_url = s->o.region = NULL;
    s->client = client;
    s->cfg = cfg;
    aws_objq_opts qo = {.concurrency = o->concurrency, .max_object = o->max_object,
                        .path_style = o->path_style,
                        .region = o->bucket_region ? o->bucket_region : s->region};
    aws_objq_cbs cbs = {s_obj_result, NULL, s_obj_progress, NULL, s};
    s->objq = aws_objq_new(client, cfg, &s->base, &qo, &cbs);
    s->o.bucket_region = NULL;
    return &s->base;
}

const aws_sqs_stats *aws_sqs_source_stats(const fe_source *s)
{
    return &((const aws_sqs *)s)->st;
}
