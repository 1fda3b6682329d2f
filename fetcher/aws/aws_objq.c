/*
 * aws_objq.c - S3 object fetch queue (see aws_objq.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * Objects move queued -> fetching -> ready (waiting for the sink) ->
 * submitted (waiting for commit).  Only submitted objects outlive
 * aws_objq_stop(); their commit still arrives through the owner.
 */
#include "aws_objq.h"

#include "aws_buf.h"
#include "aws_s3_list.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_REDIRECTS 2
#define S_GET_ATTEMPTS 3
#define S_MAX_REGIONS 64

typedef struct s_obj {
    aws_objq *q;
    char *bucket, *key, *etag;
    void *tag;
    char *data;
    size_t len;
    int attempts, redirects;
    aws_call *call;
    struct s_obj *next;
    struct s_obj *sprev, *snext;   /* submitted list */
} s_obj;

struct aws_objq {
    aws_client *client;
    const aws_config *cfg;
    fe_source *owner;
    const fe_source_sink *sink;
    aws_objq_opts o;
    char *default_region;
    char *rb[S_MAX_REGIONS], *rr[S_MAX_REGIONS];   /* bucket -> region */
    size_t nr;
    aws_objq_cbs cb;
    s_obj *q_head, *q_tail, *r_head, *r_tail, *fetching, *submitted;
    unsigned inflight;
    bool blocked, stopped;
    s_obj *in_submit;           /* the object being handed to sink->submit */
    bool committed_in_submit;   /* ...which the sink committed (freed) at once */
    aws_objq_stats st;
};

static void s_free_obj(s_obj *o)
{
    if (!o)
        return;
    free(o->bucket);
    free(o->key);
    free(o->etag);
    free(o->data);
    free(o);
}

static void s_push(s_obj **h, s_obj **t, s_obj *o)
{
    o->next = NULL;
    if (*t)
        (*t)->next = o;
    else
        *h = o;
    *t = o;
}

static s_obj *s_pop(s_obj **h, s_obj **t)
{
    s_obj *o = *h;
    if (o) {
        *h = o->next;
        if (!*h)
            *t = NULL;
        o->next = NULL;
    }
    return o;
}

char *aws_s3_bucket_url(const aws_config *cfg, const char *bucket,
                        const char *region, bool path_style, bool virtual_host)
{
    aws_buf b;
    aws_buf_init(&b);
    const char *over = cfg ? (cfg->endpoint_url_s3 ? cfg->endpoint_url_s3
                                                   : cfg->endpoint_url) : NULL;
    if (over) {
        size_t n = strlen(over);
        while (n && over[n - 1] == '/')
            n--;
        const char *sep = strstr(over, "://");
        if (virtual_host && sep) {
            aws_buf_append(&b, over, (size_t)(sep + 3 - over));
            aws_buf_printf(&b, "%s.", bucket);
            aws_buf_append(&b, sep + 3, n - (size_t)(sep + 3 - over));
        } else {
            aws_buf_append(&b, over, n);
            aws_buf_printf(&b, "/%s", bucket);
        }
    } else if (path_style || strchr(bucket, '.')) {
        aws_buf_printf(&b, "https://s3.%s.%s/%s", region, aws_dns_suffix(region),
                       bucket);
    } else {
        aws_buf_printf(&b, "https://%s.s3.%s.%s", bucket, region,
                       aws_dns_suffix(region));
    }
    return aws_buf_steal(&b);
}

aws_objq *aws_objq_new(aws_client *client, const aws_config *cfg,
                       fe_source *owner, const aws_objq_opts *o,
                       const aws_objq_cbs *cbs)
{
    aws_objq *q = aws_xcalloc(1, sizeof *q);
    q->client = client;
    q->cfg = cfg;
    q->owner = owner;
    if (o)
        q->o = *o;
    if (!q->o.concurrency)
        q->o.concurrency = 8;
    if (!q->o.max_object)
        q->o.max_object = 256u << 20;
    q->default_region = aws_strdup(o && o->region ? o->region : "us-east-1");
    q->o.region = NULL;
    if (cbs)
        q->cb = *cbs;
    return q;
}

static void s_drop(aws_objq *q, s_obj *o)
{
    if (q->cb.free_tag)
        q->cb.free_tag(o->tag, q->cb.ud);
    s_free_obj(o);
}

void aws_objq_stop(aws_objq *q)
{
    q->stopped = true;
    while (q->fetching) {
        s_obj *o = q->fetching;
        q->fetching = o->next;
        aws_call_cancel(o->call);
        s_drop(q, o);
    }
    q->inflight = 0;
    s_obj *o;
    while ((o = s_pop(&q->q_head, &q->q_tail)))
        s_drop(q, o);
    while ((o = s_pop(&q->r_head, &q->r_tail)))
        s_drop(q, o);
}

static void s_sub_unlink(aws_objq *q, s_obj *o)
{
    if (o->sprev)
        o->sprev->snext = o->snext;
    else if (q->submitted == o)
        q->submitted = o->snext;
    if (o->snext)
        o->snext->sprev = o->sprev;
    o->sprev = o->snext = NULL;
}

void aws_objq_free(aws_objq *q)
{
    if (!q)
        return;
    aws_objq_stop(q);
    while (q->submitted) {
        s_obj *o = q->submitted;
        s_sub_unlink(q, o);
        s_drop(q, o);
    }
    for (size_t i = 0; i < q->nr; i++) {
        free(q->rb[i]);
        free(q->rr[i]);
    }
    free(q->default_region);
    free(q);
}

void aws_objq_set_sink(aws_objq *q, const fe_source_sink *sink)
{
    q->sink = sink;
}

const char *aws_objq_region(aws_objq *q, const char *bucket)
{
    for (size_t i = 0; i < q->nr; i++)
        if (!strcmp(q->rb[i], bucket))
            return q->rr[i];
    return q->default_region;
}

void aws_objq_set_region(aws_objq *q, const char *bucket, const char *region)
{
    for (size_t i = 0; i < q->nr; i++)
        if (!strcmp(q->rb[i], bucket)) {
            free(q->rr[i]);
            q->rr[i] = aws_strdup(region);
            return;
        }
    if (q->nr == S_MAX_REGIONS) {   /* forget the oldest */
        free(q->rb[0]);
        free(q->rr[0]);
        memmove(q->rb, q->rb + 1, (S_MAX_REGIONS - 1) * sizeof q->rb[0]);
        memmove(q->rr, q->rr + 1, (S_MAX_REGIONS - 1) * sizeof q->rr[0]);
        q->nr--;
    }
    q->rb[q->nr] = aws_strdup(bucket);
    q->rr[q->nr++] = aws_strdup(region);
}

bool aws_objq_redirect(aws_objq *q, const char *bucket,
                       const aws_http_response *resp)
{
    if (resp->status != 301 && resp->status != 307 && resp->status != 400)
        return false;
    const char *hr = aws_http_response_header(resp, "x-amz-bucket-region");
    char *xr = NULL;
    if (!hr)
        aws_s3_error_parse(resp->body, resp->body_len, NULL, &xr);
    const char *r = hr ? hr : xr;
    bool ok = r && *r && strlen(r) < 32 && strcmp(r, aws_objq_region(q, bucket));
    for (const char *c = r; ok && *c; c++)
        ok = islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-';
    if (ok) {
        aws_objq_set_region(q, bucket, r);
        q->st.region_redirects++;
    }
    free(xr);
    return ok;
}

static void s_result(aws_objq *q, s_obj *o, int status, bool committed,
                     const char *msg)
{
    void *tag = o->tag;
    s_free_obj(o);
    if (q->cb.result)
        q->cb.result(tag, status, committed, msg, q->cb.ud);
}

static void s_progress(aws_objq *q)
{
    if (q->cb.progress && !q->stopped)
        q->cb.progress(q->cb.ud);
}

static void s_sub_link(aws_objq *q, s_obj *o)
{
    o->sprev = NULL;
    o->snext = q->submitted;
    if (q->submitted)
        q->submitted->sprev = o;
    q->submitted = o;
}

/*
 * Hand the ready objects to the fetcher.  The sink may commit an object
 * from inside submit() (a job it has already done: the commit frees the
 * object), so each object is on the submitted list before the call and is
 * not touched afterwards when aws_objq_commit() saw it during the call.
 */
static void s_submit_ready(aws_objq *q)
{
    while (q->r_head && !q->stopped && q->sink) {
        s_obj *o = s_pop(&q->r_head, &q->r_tail);
        aws_buf uri, id;
        aws_buf_init(&uri);
        aws_buf_init(&id);
        aws_buf_printf(&uri, "s3://%s/%s", o->bucket, o->key);
        aws_buf_printf(&id, "%s/%s/%s", o->bucket, o->key, o->etag ? o->etag : "");
        fe_job_desc job = {.uri = aws_buf_str(&uri), .identity = aws_buf_str(&id),
                           .data = o->data, .len = o->len, .ref = o};
        s_sub_link(q, o);
        q->in_submit = o;
        q->committed_in_submit = false;
        int rc = q->sink->submit(q->sink->ud, q->owner, &job);
        q->in_submit = NULL;
        aws_buf_fini(&uri);
        aws_buf_fini(&id);
        if (q->committed_in_submit) {   /* done already: o is gone */
            q->st.submitted++;
            continue;
        }
        if (rc == -EAGAIN) {
            s_sub_unlink(q, o);
            o->next = q->r_head;        /* back to the front, in order */
            q->r_head = o;
            if (!q->r_tail)
                q->r_tail = o;
            q->blocked = true;
            return;
        }
        free(o->data);
        o->data = NULL;
        if (rc == 0) {
            q->st.submitted++;   /* lives until aws_objq_commit() */
        } else {
            s_sub_unlink(q, o);
            q->st.rejected++;
            s_result(q, o, rc, false, "job rejected by the fetcher");
        }
    }
    q->blocked = false;
}

static void s_pump(aws_objq *q);
static void s_send(aws_objq *q, s_obj *o);

static void s_unlink_fetching(aws_objq *q, s_obj *o)
{
    for (s_obj **pp = &q->fetching; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            o->next = NULL;
            break;
        }
    q->inflight--;
}

static void s_on_get(int rc, const aws_http_response *resp, void *data)
{
    s_obj *o = data;
    aws_objq *q = o->q;
    o->call = NULL;
    if (rc == 0 && resp->status != 200 && o->redirects < S_MAX_REDIRECTS &&
        aws_objq_redirect(q, o->bucket, resp)) {
        o->redirects++;
        s_send(q, o);
        return;
    }
    s_unlink_fetching(q, o);
    if (rc == 0 && resp->status == 200) {
        q->st.fetched++;
        q->st.bytes += resp->body_len;
        o->data = aws_xmalloc(resp->body_len + 1);
        memcpy(o->data, resp->body, resp->body_len);
        o->len = resp->body_len;
        if (q->cb.fetched)
            q->cb.fetched(o->tag, o->bucket, o->key, o->data, o->len, q->cb.ud);
        s_push(&q->r_head, &q->r_tail, o);
        if (!q->blocked)
            s_submit_ready(q);
    } else {
        bool transient = rc == AWS_HTTP_ETIMEDOUT || rc == AWS_HTTP_ECONNECT ||
                         rc == AWS_HTTP_EIO ||
                         (rc == 0 && (resp->status >= 500 || resp->status == 429));
        if (transient && ++o->attempts < S_GET_ATTEMPTS) {
            s_push(&q->q_head, &q->q_tail, o);
        } else {
            q->st.fetch_errors++;
            char msg[160];
            if (rc < 0) {
                snprintf(msg, sizeof msg, "GetObject: %s", aws_http_strerror(rc));
            } else {
                char *code = NULL;
                aws_s3_error_parse(resp->body, resp->body_len, &code, NULL);
                snprintf(msg, sizeof msg, "GetObject: HTTP %ld%s%s", resp->status,
                         code ? " " : "", code ? code : "");
                free(code);
            }
            s_result(q, o, rc < 0 ? rc : (resp->status == 404 ? -ENOENT : -EIO),
                     false, msg);
        }
    }
    s_pump(q);
    s_progress(q);
}

static void s_send(aws_objq *q, s_obj *o)
{
    char *base = aws_s3_bucket_url(q->cfg, o->bucket, aws_objq_region(q, o->bucket),
                                   q->o.path_style, q->o.virtual_host);
    char *ek = aws_uri_encode(o->key, strlen(o->key), 1);
    aws_buf u;
    aws_buf_init(&u);
    aws_buf_printf(&u, "%s/%s", base, ek);
    free(base);
    free(ek);
    aws_http_request rq = {.method = "GET", .url = aws_buf_str(&u),
                           .timeout_ms = 300000, .max_response = q->o.max_object};
    int rc = aws_client_send(q->client, &rq, aws_objq_region(q, o->bucket), "s3",
                             AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256,
                             AWS_SIGV4_UNSIGNED_PAYLOAD, s_on_get, o, &o->call);
    aws_buf_fini(&u);
    if (rc != 0) {
        o->call = NULL;
        s_unlink_fetching(q, o);
        q->st.fetch_errors++;
        s_result(q, o, -EIO, false, "GetObject: cannot send request");
    }
}

static void s_pump(aws_objq *q)
{
    while (!q->stopped && !q->blocked && !q->r_head &&
           q->inflight < q->o.concurrency && q->q_head) {
        s_obj *o = s_pop(&q->q_head, &q->q_tail);
        o->next = q->fetching;
        q->fetching = o;
        q->inflight++;
        s_send(q, o);
    }
}

void aws_objq_add(aws_objq *q, const char *bucket, const char *key,
                  const char *etag, void *tag)
{
    if (q->stopped)
        return;
    s_obj *o = aws_xcalloc(1, sizeof *o);
    o->q = q;
    o->bucket = aws_strdup(bucket);
    o->key = aws_strdup(key);
    o->etag = aws_strdup(etag);
    o->tag = tag;
    int done_status = 0;
    if (q->o.skip_done && etag && *etag && q->sink && q->sink->is_done) {
        aws_buf id;
        aws_buf_init(&id);
        aws_buf_printf(&id, "%s/%s/%s", bucket, key, etag);
        bool done = q->sink->is_done(q->sink->ud, aws_buf_str(&id), &done_status);
        aws_buf_fini(&id);
        if (done) {
            q->st.skipped_done++;
            s_result(q, o, done_status, true, NULL);
            return;
        }
    }
    s_push(&q->q_head, &q->q_tail, o);
    s_pump(q);
}

void aws_objq_resume(aws_objq *q)
{
    q->blocked = false;
    s_submit_ready(q);
    s_pump(q);
    s_progress(q);
}

void aws_objq_commit(aws_objq *q, void *ref, int status)
{
    s_obj *o = ref;
    if (o == q->in_submit)
        q->committed_in_submit = true;
    s_sub_unlink(q, o);
    if (status < 0)
        q->st.failed_jobs++;
    else
        q->st.committed++;
    s_result(q, o, status, true, NULL);
}

bool aws_objq_idle(const aws_objq *q)
{
    return !q->q_head && !q->r_head && q->inflight == 0;
}

const aws_objq_stats *aws_objq_stats_get(const aws_objq *q)
{
    return &q->st;
}
