/*
 * test_nt_http.c - the webhook and http outputs against the loopback
 * peer: Falco JSON bodies (one per request and batched), custom headers,
 * bearer token from the environment, the body template, Retry-After,
 * permanent rejections, and an outage with in-order delivery afterwards.
 *
 * Owner: notifier outputs (tests/notifier/).
 */
#include "tg_test.h"

#include "nt_sink.h"
#include "nt_test_peer.h"
#include "nt_test_util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tg_test_state st;
static uv_loop_t loop;
static aws_test_peer peer;
static char dir[256];

static nt_sink *s_new(const char *type, const char *route, const nt_kv *extra,
                      size_t n)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", peer.port, route);
    nt_kv kv[16] = {NT_KV("url", url)};
    for (size_t i = 0; i < n; i++)
        kv[1 + i] = extra[i];
    nt_sink_env env = {.loop = &loop, .state_dir = dir};
    char err[256] = "";
    nt_sink *o = nt_sink_new(&env, type, NULL, kv, 1 + n, err, sizeof(err));
    if (!o)
        fprintf(stderr, "nt_sink_new: %s\n", err);
    return o;
}

static void s_alerts(nt_test_alert *t, nt_alert *a, int n)
{
    for (int i = 0; i < n; i++) {
        nt_test_alert_make(&t[i], i, "Delete Bucket", NT_PRIO_ERROR);
        a[i] = t[i].a;
    }
}

static int s_seq(json_t *falco)
{
    return (int)json_integer_value(json_object_get(json_object_get(falco, "output_fields"), "seq"));
}

static void test_webhook_one_per_request(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_kv extra[] = {NT_KV("headers.X-Test", "yes")};
    nt_sink *o = s_new("webhook", "hook", extra, 1);
    ASSERT_NOT_NULL(o);
    nt_test_alert t[3];
    nt_alert a[3];
    s_alerts(t, a, 3);
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 3, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 10000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);
    json_t *reqs = nt_peer_requests(log, "hook", NULL, 200);
    ASSERT_EQ(json_array_size(reqs), 3);
    for (int i = 0; i < 3; i++) {
        json_t *r = json_array_get(reqs, (size_t)i);
        json_t *b = json_object_get(r, "body");
        /* Falco's alert JSON unchanged: what Falcosidekick's input takes */
        ASSERT_STR_EQ(json_string_value(json_object_get(b, "rule")), "Delete Bucket");
        ASSERT_STR_EQ(json_string_value(json_object_get(b, "priority")), "Error");
        ASSERT_EQ(s_seq(b), i);
        ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(r, "headers"), "x-test")), "yes");
    }
    json_decref(reqs);
    json_decref(log);
    nt_test_close(&loop, o);
}

static void test_webhook_batched(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_kv extra[] = {NT_KV("batch", "true"), NT_KV("batch_size", "5")};
    nt_sink *o = s_new("webhook", "hook", extra, 2);
    nt_test_alert t[5];
    nt_alert a[5];
    s_alerts(t, a, 5);
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 5, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 10000));
    json_t *log = nt_peer_log(peer.port);
    json_t *reqs = nt_peer_requests(log, "hook", NULL, 200);
    ASSERT_EQ(json_array_size(reqs), 1);
    json_t *arr = json_object_get(json_array_get(reqs, 0), "body");
    ASSERT(json_is_array(arr));
    ASSERT_EQ(json_array_size(arr), 5);
    ASSERT_EQ(s_seq(json_array_get(arr, 4)), 4);
    json_decref(reqs);
    json_decref(log);
    nt_test_close(&loop, o);
}

static void test_http_backend_template(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    setenv("NT_TEST_TOKEN", "tg-token", 1);
    nt_kv extra[] = {NT_KV("token_env", "NT_TEST_TOKEN"), NT_KV("batch_size", "2")};
    nt_sink *o = s_new("http", "events", extra, 2);
    ASSERT_NOT_NULL(o);
    nt_test_alert t[2];
    nt_alert a[2];
    s_alerts(t, a, 2);
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 2, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 10000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);
    json_t *reqs = nt_peer_requests(log, "events", NULL, 200);
    ASSERT_EQ(json_array_size(reqs), 1);
    json_t *ev = json_object_get(json_object_get(json_array_get(reqs, 0), "body"), "events");
    ASSERT_EQ(json_array_size(ev), 2);
    json_t *e1 = json_array_get(ev, 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(e1, "name")), "Delete Bucket");
    ASSERT_EQ(json_integer_value(json_object_get(e1, "severity")), NT_PRIO_ERROR);
    ASSERT_STR_EQ(json_string_value(json_object_get(e1, "id")), t[1].id);
    json_t *content = json_object_get(e1, "content");
    ASSERT_EQ(json_array_size(json_object_get(content, "ruleTags")), 3);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(content, "fields"), "seq")), 1);
    json_decref(reqs);
    json_decref(log);
    nt_test_close(&loop, o);
    /* a missing token variable is a configuration error */
    unsetenv("NT_TEST_TOKEN");
    nt_sink_env env = {.loop = &loop};
    char err[256];
    nt_kv kv[] = {NT_KV("url", "http://127.0.0.1:1/"), NT_KV("token_env", "NT_TEST_TOKEN")};
    ASSERT(nt_sink_new(&env, "http", NULL, kv, 2, err, sizeof(err)) == NULL);
    ASSERT(strstr(err, "NT_TEST_TOKEN"));
}

static void test_retry_after_and_reject(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_peer_ctl(peer.port, "{\"fail\":1,\"status\":429,\"retry_after\":\"1\"}");
    nt_kv extra[] = {NT_KV("retry_initial", "10ms"), NT_KV("retry_max", "20ms")};
    nt_sink *o = s_new("webhook", "hook", extra, 2);
    nt_test_alert t[1];
    nt_alert a[1];
    s_alerts(t, a, 1);
    nt_test_done d = {0};
    uint64_t t0 = uv_hrtime();
    ASSERT_EQ(nt_sink_submit(o, a, 1, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 10000));
    ASSERT_EQ(d.last, NT_OK);
    /* the backoff alone would be ~20 ms: Retry-After: 1 won */
    ASSERT((uv_hrtime() - t0) / 1000000 >= 950);
    /* a 400 is permanent: rejected, counted, not retried */
    nt_peer_ctl(peer.port, "{\"fail\":1,\"status\":400}");
    ASSERT_EQ(nt_sink_submit(o, a, 1, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 2, 10000));
    ASSERT_EQ(d.last, NT_REJECTED);
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.failed, 1);
    ASSERT_EQ(stt.sent, 1);
    nt_test_close(&loop, o);
}

static int s_all_sent(void *arg)
{
    nt_sink_stats s;
    nt_sink_stats_get(arg, &s);
    return s.sent == 20 && !s.down;
}

static void test_outage_in_order(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    /* the endpoint answers 503 for its next 12 requests */
    nt_peer_ctl(peer.port, "{\"fail\":12,\"status\":503}");
    /* the spool goes to <state_dir>/spool/<name> */
    nt_kv extra[] = {NT_KV("retry_initial", "10ms"), NT_KV("retry_max", "40ms"),
                     NT_KV("retry_attempts", "3")};
    nt_sink *o = s_new("webhook", "hook", extra, 3);
    enum { N = 20 };
    static nt_test_alert t[N];
    nt_alert a[N];
    s_alerts(t, a, N);
    nt_test_done d = {0};
    for (int i = 0; i < N; i += 4)
        ASSERT_EQ(nt_sink_submit(o, a + i, 4, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, N / 4, 20000));
    ASSERT(d.by_status[NT_SPOOLED] > 0);
    char spool[300];
    snprintf(spool, sizeof(spool), "%s/spool/webhook", dir);
    ASSERT_EQ(access(spool, F_OK), 0);
    ASSERT_EQ(d.by_status[NT_REJECTED] + d.by_status[NT_CANCELLED], 0);
    /* wait until everything went out */
    ASSERT(nt_test_run_until(&loop, s_all_sent, o, 20000));
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.sent, N);
    ASSERT_EQ(stt.spool_depth, 0);
    json_t *log = nt_peer_log(peer.port);
    json_t *ok = nt_peer_requests(log, "hook", NULL, 200);
    ASSERT_EQ(json_array_size(ok), N);
    for (int i = 0; i < N; i++)
        ASSERT_EQ(s_seq(json_object_get(json_array_get(ok, (size_t)i), "body")), i);
    json_decref(ok);
    json_decref(log);
    nt_test_close(&loop, o);
}

int main(void)
{
    int rc = nt_peer_start(&peer);
    if (rc == 77)
        TG_SKIP("node or tests/peers/node_modules missing (npm ci --prefix tests/peers)");
    if (rc != 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(dir, sizeof(dir), "%s/nt_http_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    uv_loop_init(&loop);
    TG_RUN(&st, test_webhook_one_per_request);
    TG_RUN(&st, test_webhook_batched);
    TG_RUN(&st, test_http_backend_template);
    TG_RUN(&st, test_retry_after_and_reject);
    TG_RUN(&st, test_outage_in_order);
    for (int i = 0; i < 100 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    aws_test_peer_stop(&peer);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    curl_global_cleanup();
    TG_DONE(&st);
}
