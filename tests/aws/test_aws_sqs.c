/*
 * test_aws_sqs.c - the SQS source against fauxqs (npm, SQS JSON protocol
 * and S3) behind the loopback SigV4 verifier: SNS-wrapped CloudTrail
 * notifications, raw S3 events, S3 test events, digest keys, delete only
 * after every job of a message is committed, visibility extension while
 * jobs run, redelivery after a job is given up, dead-lettering of a
 * poison message after max_receives, and EventBridge "Object Created"
 * events (raw and SNS-wrapped; keys verbatim, while the same key in an S3
 * event notification is URL-encoded).
 *
 * Owner: AWS ingestion (tests/aws/).
 */
#include "aws_client.h"
#include "aws_sqs.h"
#include "aws_test_loop.h"
#include "aws_test_peer.h"
#include "tg_test.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>

#define TEST_KEY_ID "AKIDTGTEST"
#define TEST_SECRET "tgTestSecretKey/0123456789+abcdefghij"
#define K(n) "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/27/111122223333_CloudTrail_us-east-1_20261127T180" #n "Z_k" #n ".json.gz"

static tg_test_state st;
static uv_loop_t loop;
static aws_test_peer peer;
static aws_http *http;
static aws_creds_chain *chain;
static aws_client *client;
static aws_config cfg;
static char qurl[256], dlqurl[256];

typedef struct hres {
    int done;
    long status;
} hres;

static void s_hcb(int rc, const aws_http_response *resp, void *data)
{
    hres *h = data;
    h->done = 1;
    h->status = rc == 0 ? resp->status : rc;
}

static void s_put(const char *key, const char *body)
{
    char url[1024];
    char *ek = aws_uri_encode(key, strlen(key), 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/trail/%s", peer.port, ek);
    free(ek);
    char hash[65];
    aws_sha256_hex(body, strlen(body), hash);
    aws_http_request rq = {.method = "PUT", .url = url, .body = body,
                           .body_len = strlen(body)};
    aws_creds c = {TEST_KEY_ID, TEST_SECRET, NULL, 0, "test"};
    hres h = {0, 0};
    ASSERT_EQ(aws_http_send_signed(http, &rq, &c, "us-east-1", "s3",
                                   AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256, hash,
                                   time(NULL), s_hcb, &h, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &h.done, 10000));
    ASSERT_EQ(h.status, 200);
}

static void s_send(const char *body)
{
    json_t *j = json_pack("{s:s,s:s}", "QueueUrl", qurl, "MessageBody", body);
    char *txt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", peer.port);
    aws_http_header h[] = {{"Content-Type", "application/x-amz-json-1.0"},
                           {"X-Amz-Target", "AmazonSQS.SendMessage"}};
    aws_http_request rq = {.method = "POST", .url = url, .headers = h,
                           .n_headers = 2, .body = txt, .body_len = strlen(txt)};
    hres r = {0, 0};
    ASSERT_EQ(aws_client_send(client, &rq, "us-east-1", "sqs", 0, NULL, s_hcb, &r,
                              NULL), 0);
    ASSERT(aws_test_run_until(&loop, &r.done, 10000));
    ASSERT_EQ(r.status, 200);
    free(txt);
}

/* Messages in a queue: ready + in flight + delayed. */
static int s_count(const char *name, int *inflight)
{
    char path[64], *body = NULL;
    snprintf(path, sizeof path, "/__queue/%s", name);
    ASSERT_EQ(aws_test_http_get(peer.port, path, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    ASSERT_NOT_NULL(j);
    json_t *m = json_object_get(j, "messages");
    int fl = (int)json_array_size(json_object_get(m, "inflight"));
    int n = (int)json_array_size(json_object_get(m, "ready")) + fl +
            (int)json_array_size(json_object_get(m, "delayed"));
    if (inflight)
        *inflight = fl;
    json_decref(j);
    return n;
}

static char *s_sns_wrap(const char *inner)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Type", "Notification",
                          "MessageId", "11111111-2222-3333-4444-555555555555",
                          "TopicArn", "arn:aws:sns:us-east-1:111122223333:ct",
                          "Message", inner, "Timestamp", "2026-11-27T18:00:00.000Z");
    char *t = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return t;
}

/* ---- sink ---------------------------------------------------------------------- */

typedef struct sink_state {
    char *uri[64];
    char *id[64];
    char *data[64];
    void *ref[64];
    int n, failed, dead;
} sink_state;

static int s_submit(void *ud, fe_source *src, const fe_job_desc *j)
{
    (void)src;
    sink_state *s = ud;
    ASSERT(s->n < 64);
    s->uri[s->n] = strdup(j->uri);
    s->id[s->n] = strdup(j->identity ? j->identity : "");
    s->data[s->n] = j->data ? strndup(j->data, j->len) : strdup("");
    s->ref[s->n++] = j->ref;
    return 0;
}

static void s_failed(void *ud, fe_source *src, const char *uri, const char *msg)
{
    (void)src;
    sink_state *s = ud;
    s->failed++;
    if (strstr(msg, "dead-lettered"))
        s->dead++;
    (void)uri;
}

static int done_calls;
static void s_done(void *ud, fe_source *src)
{
    (void)ud;
    (void)src;
    done_calls++;
}

static int s_find(sink_state *s, const char *needle, int from)
{
    for (int i = from; i < s->n; i++)
        if (strstr(s->uri[i], needle))
            return i;
    return -1;
}

static void s_spin(unsigned ms)
{
    int never = 0;
    aws_test_run_until(&loop, &never, ms);
}

static int s_wait_jobs(sink_state *s, int n, unsigned ms)
{
    for (unsigned t = 0; t < ms && s->n < n; t += 50)
        s_spin(50);
    return s->n >= n;
}

static void test_sqs(void)
{
    s_put(K(1), "one");
    s_put(K(2), "two");
    s_put(K(3), "three");
    s_put(K(4), "four");
    char inner[1024];
    snprintf(inner, sizeof inner, "{\"s3Bucket\":\"trail\",\"s3ObjectKey\":[\"%s\",\"%s\"]}",
             K(1), K(2));
    char *m1 = s_sns_wrap(inner);
    s_send(m1);
    free(m1);
    char ev[1024];
    snprintf(ev, sizeof ev, "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":"
             "\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":"
             "{\"name\":\"trail\"},\"object\":{\"key\":\"%s\",\"size\":5}}}]}", K(3));
    s_send(ev);
    s_send("{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Bucket\":\"trail\"}");
    s_send("this is not json");
    snprintf(inner, sizeof inner, "{\"s3Bucket\":\"trail\",\"s3ObjectKey\":[\"%s\"]}",
             "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/27/d.json.gz");
    char *m5 = s_sns_wrap(inner);
    s_send(m5);
    free(m5);
    ASSERT_EQ(s_count("q", NULL), 5);

    aws_sqs_opts o = {.queue_url = qurl, .wait_s = 1, .visibility_s = 3,
                      .max_receives = 2, .dlq_url = dlqurl};
    char err[256] = "";
    fe_source *src = aws_sqs_source_new(&o, client, &cfg, err, sizeof err);
    if (!src)
        TG_FAIL_("aws_sqs_source_new: %s", err);
    sink_state s = {0};
    fe_source_sink k = {.submit = s_submit, .failed = s_failed, .done = s_done, .ud = &s};
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    ASSERT(s_wait_jobs(&s, 3, 15000));
    ASSERT(s_find(&s, "_k1.json.gz", 0) >= 0);
    ASSERT(s_find(&s, "_k2.json.gz", 0) >= 0);
    ASSERT(s_find(&s, "_k3.json.gz", 0) >= 0);
    /* jobs held past several visibility timeouts: extended, not redelivered */
    for (int i = 0; i < 200 && aws_sqs_source_stats(src)->dead_lettered == 0; i++)
        s_spin(50);
    s_spin(1000);
    ASSERT_EQ(s.n, 3);
    const aws_sqs_stats *t = aws_sqs_source_stats(src);
    ASSERT(t->extended >= 2);
    ASSERT_EQ(t->ignored, 2);              /* test event, digest key */
    ASSERT_EQ(t->dead_lettered, 1);        /* the garbage, after 2 receives */
    ASSERT_EQ(s.dead, 1);
    ASSERT_EQ(s_count("dlq", NULL), 1);
    int inflight = 0;
    ASSERT_EQ(s_count("q", &inflight), 2); /* m1 and m2, both in flight */
    ASSERT_EQ(inflight, 2);
    /* m1 needs both of its jobs */
    src->ops->commit(src, s.ref[s_find(&s, "_k1", 0)], 0);
    s_spin(500);
    ASSERT_EQ(s_count("q", NULL), 2);
    src->ops->commit(src, s.ref[s_find(&s, "_k2", 0)], 0);
    src->ops->commit(src, s.ref[s_find(&s, "_k3", 0)], 0);
    for (int i = 0; i < 100 && s_count("q", NULL) != 0; i++)
        s_spin(50);
    ASSERT_EQ(s_count("q", NULL), 0);

    /* a job given up: the message comes back and is fetched again */
    snprintf(inner, sizeof inner, "{\"s3Bucket\":\"trail\",\"s3ObjectKey\":[\"%s\"]}", K(4));
    char *m6 = s_sns_wrap(inner);
    s_send(m6);
    free(m6);
    ASSERT(s_wait_jobs(&s, 4, 15000));
    int first = s_find(&s, "_k4", 0);
    ASSERT(first >= 0);
    src->ops->commit(src, s.ref[first], -1);
    ASSERT(s_wait_jobs(&s, 5, 15000));
    int again = s_find(&s, "_k4", first + 1);
    ASSERT(again > first);
    src->ops->commit(src, s.ref[again], 0);
    for (int i = 0; i < 100 && s_count("q", NULL) != 0; i++)
        s_spin(50);
    ASSERT_EQ(s_count("q", NULL), 0);
    ASSERT(t->deleted >= 5);
    ASSERT_EQ(t->delete_errors, 0);

    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
    for (int i = 0; i < s.n; i++) {
        free(s.uri[i]);
        free(s.id[i]);
        free(s.data[i]);
    }
    char *stats = NULL;
    ASSERT_EQ(aws_test_http_get(peer.port, "/__stats", &stats), 200);
    ASSERT(strstr(stats, "\"rejected\":0,"));
    free(stats);
}


/* S3 -> EventBridge -> SQS bodies (and EventBridge -> SNS -> SQS). */
#define KE_DIR "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/27/"
#define KE KE_DIR "111122223333_CloudTrail_us-east-1_20261127T1900Z_a+b c%41.json.gz"
/* the same key as an S3 event notification spells it */
#define KE_S3 KE_DIR "111122223333_CloudTrail_us-east-1_20261127T1900Z_a%2Bb+c%2541.json.gz"

static char *s_eventbridge(const char *type, const char *source, const char *key,
                           const char *etag)
{
    json_t *j = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:{s:s,s:{s:s},s:{s:s,s:i,s:s,s:s},"
        "s:s,s:s}}",
        "version", "0", "id", "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type", type, "source", source, "account", "111122223333",
        "time", "2026-11-27T19:00:00Z", "region", "us-east-1",
        "resources", "arn:aws:s3:::trail",
        "detail", "version", "0", "bucket", "name", "trail",
        "object", "key", key, "size", 5, "etag", etag, "sequencer", "0064D39",
        "reason", "PutObject", "requester", "111122223333");
    ASSERT_NOT_NULL(j);
    char *t = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return t;
}

static void test_sqs_eventbridge(void)
{
    s_spin(1500);           /* let the previous source's long poll expire */
    s_put(KE, "plus space percent");
    s_put(K(5), "five");
    char *m = s_eventbridge("Object Created", "aws.s3", KE, "etag-eb-1");
    s_send(m);              /* raw: an EventBridge rule targets the queue */
    free(m);
    char *inner = s_eventbridge("Object Created", "aws.s3", K(5), "etag-eb-2");
    m = s_sns_wrap(inner);  /* EventBridge -> SNS -> SQS */
    s_send(m);
    free(m);
    free(inner);
    char ev[1024];
    snprintf(ev, sizeof ev, "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":"
             "\"aws:s3\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":"
             "{\"name\":\"trail\"},\"object\":{\"key\":\"%s\",\"size\":18,"
             "\"eTag\":\"etag-s3\"}}}]}", KE_S3);
    s_send(ev);
    m = s_eventbridge("Object Deleted", "aws.s3", K(5), "etag-eb-3");
    s_send(m);
    free(m);
    m = s_eventbridge("Object Created", "aws.other", K(5), "etag-eb-4");
    s_send(m);
    free(m);

    aws_sqs_opts o = {.queue_url = qurl, .wait_s = 1};
    char err[256] = "";
    fe_source *src = aws_sqs_source_new(&o, client, &cfg, err, sizeof err);
    ASSERT_NOT_NULL(src);
    sink_state s = {0};
    fe_source_sink k = {.submit = s_submit, .failed = s_failed, .done = s_done, .ud = &s};
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    ASSERT(s_wait_jobs(&s, 3, 15000));
    const aws_sqs_stats *t = aws_sqs_source_stats(src);
    for (int i = 0; i < 100 && t->ignored < 2; i++)
        s_spin(50);
    s_spin(300);
    ASSERT_EQ(s.n, 3);
    ASSERT_EQ(t->ignored, 2);               /* Object Deleted, other source */
    ASSERT_EQ(t->unparseable, 0);
    ASSERT_EQ(s.failed, 0);
    /* the EventBridge key was used as given (the object exists only under
     * it), and the S3 event's encoded key names the same object once
     * decoded: two jobs for it, one per message (identity = its ETag) */
    int a = s_find(&s, "/trail/" KE, 0);
    ASSERT(a >= 0);
    int b = s_find(&s, "/trail/" KE, a + 1);
    ASSERT(b > a);
    ASSERT_STR_EQ(s.uri[a], "s3://trail/" KE);
    ASSERT_STR_EQ(s.uri[b], "s3://trail/" KE);
    ASSERT_STR_EQ(s.data[a], "plus space percent");
    ASSERT_STR_EQ(s.data[b], "plus space percent");
    bool eb_first = strcmp(s.id[a], "trail/" KE "/etag-eb-1") == 0;
    ASSERT_STR_EQ(s.id[eb_first ? a : b], "trail/" KE "/etag-eb-1");
    ASSERT_STR_EQ(s.id[eb_first ? b : a], "trail/" KE "/etag-s3");
    int c = s_find(&s, "_k5.json.gz", 0);
    ASSERT(c >= 0);
    ASSERT_STR_EQ(s.id[c], "trail/" K(5) "/etag-eb-2");
    ASSERT_STR_EQ(s.data[c], "five");
    for (int i = 0; i < s.n; i++)
        src->ops->commit(src, s.ref[i], 0);
    for (int i = 0; i < 100 && s_count("q", NULL) != 0; i++)
        s_spin(50);
    ASSERT_EQ(s_count("q", NULL), 0);
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
    for (int i = 0; i < s.n; i++) {
        free(s.uri[i]);
        free(s.id[i]);
        free(s.data[i]);
    }
}

/* --once (sink->once): drain what is queued now, then done(). */
static void test_sqs_once(void)
{
    /* The previous source's cancelled long poll (1 s) may still be open on
     * the server and would take a message: let it expire first. */
    s_spin(1500);
    char inner[1024];
    snprintf(inner, sizeof inner, "{\"s3Bucket\":\"trail\",\"s3ObjectKey\":[\"%s\",\"%s\"]}",
             K(1), K(2));
    char *m = s_sns_wrap(inner);
    s_send(m);
    free(m);
    snprintf(inner, sizeof inner, "{\"s3Bucket\":\"trail\",\"s3ObjectKey\":[\"%s\"]}", K(3));
    m = s_sns_wrap(inner);
    s_send(m);
    free(m);
    aws_sqs_opts o = {.queue_url = qurl, .wait_s = 20};
    char err[256] = "";
    fe_source *src = aws_sqs_source_new(&o, client, &cfg, err, sizeof err);
    ASSERT_NOT_NULL(src);
    sink_state s = {0};
    fe_source_sink k = {.submit = s_submit, .failed = s_failed, .done = s_done,
                        .ud = &s, .once = true};
    done_calls = 0;
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    for (int i = 0; i < 300 && !done_calls; i++)
        s_spin(50);
    ASSERT_EQ(done_calls, 1);
    ASSERT_EQ(s.n, 3);
    ASSERT(src->ops->is_finite(src));
    for (int i = 0; i < s.n; i++)
        src->ops->commit(src, s.ref[i], 0);
    for (int i = 0; i < 100 && s_count("q", NULL) != 0; i++)
        s_spin(50);
    ASSERT_EQ(s_count("q", NULL), 0);
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
    for (int i = 0; i < s.n; i++) {
        free(s.uri[i]);
        free(s.id[i]);
        free(s.data[i]);
    }
}

static void s_queue_url(const char *name, char *out, size_t n)
{
    char path[64], *body = NULL;
    snprintf(path, sizeof path, "/__queue/%s", name);
    ASSERT_EQ(aws_test_http_get(peer.port, path, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    ASSERT_NOT_NULL(j);
    snprintf(out, n, "%s", json_string_value(json_object_get(j, "url")));
    json_decref(j);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *argv[] = {"aws_peer.js", "--fauxqs", "--verify-all", NULL};
    const char *penv[] = {"TG_PEER_QUEUES=q,dlq", "TG_PEER_BUCKETS=trail", NULL};
    int rc = aws_test_peer_start(&peer, argv, penv, 20000);
    if (rc == 77)
        TG_SKIP("node or tests/peers/node_modules absent (npm ci --prefix tests/peers)");
    ASSERT_EQ(rc, 0);
    s_queue_url("q", qurl, sizeof qurl);
    s_queue_url("dlq", dlqurl, sizeof dlqurl);
    uv_loop_init(&loop);
    http = aws_http_new(&loop, NULL);
    memset(&cfg, 0, sizeof cfg);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", peer.port);
    aws_config_set(&cfg.endpoint_url, url);
    aws_config_set(&cfg.region, "us-east-1");
    aws_creds_provider *p = aws_creds_static_new(TEST_KEY_ID, TEST_SECRET, NULL);
    chain = aws_creds_chain_new(&loop, &p, 1);
    client = aws_client_new(http, chain);
    TG_RUN(&st, test_sqs);
    TG_RUN(&st, test_sqs_eventbridge);
    TG_RUN(&st, test_sqs_once);
    aws_client_free(client);
    aws_creds_chain_free(chain);
    aws_http_free(http);
    aws_test_drain(&loop);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    aws_config_fini(&cfg);
    aws_test_peer_stop(&peer);
    curl_global_cleanup();
    TG_DONE(&st);
}
