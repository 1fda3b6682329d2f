/*
 * test_nt_aws.c - the securityhub and cloudwatch outputs against the
 * loopback peer, which checks every SigV4 signature with AWS's own
 * @smithy/signature-v4 and enforces the documented limits.
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

static tg_test_state st;
static uv_loop_t loop;
static aws_test_peer peer;

static nt_sink *s_new(const char *type, const nt_kv *kv, size_t n)
{
    nt_sink_env env = {.loop = &loop};
    char err[256] = "";
    nt_sink *o = nt_sink_new(&env, type, NULL, kv, n, err, sizeof(err));
    if (!o)
        fprintf(stderr, "nt_sink_new: %s\n", err);
    return o;
}

static nt_test_alert *s_alerts(nt_alert **a, int n)
{
    nt_test_alert *t = calloc((size_t)n, sizeof(*t));
    *a = calloc((size_t)n, sizeof(nt_alert));
    for (int i = 0; i < n; i++) {
        nt_test_alert_make(&t[i], i, "Delete Bucket", NT_PRIO_CRITICAL);
        (*a)[i] = t[i].a;
    }
    return t;
}

static int s_count(json_t *reqs)
{
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r) {
        n += (int)json_integer_value(json_object_get(r, "count"));
    }
    return n;
}

/* ---- Security Hub ---------------------------------------------------- */

static void test_sh_burst_one_batch(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_sink *o = s_new("securityhub", NULL, 0);
    ASSERT_NOT_NULL(o);
    nt_alert *a;
    nt_test_alert *t = s_alerts(&a, 100);
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 100, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 20000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);
    json_t *imp = nt_peer_requests(log, "securityhub", NULL, 0);
    ASSERT_EQ(json_array_size(imp), 1);        /* exactly one batch */
    ASSERT_EQ(s_count(imp), 100);
    json_t *sts = nt_peer_requests(log, "sts", NULL, 200);
    ASSERT_EQ(json_array_size(sts), 1);        /* the caller's account */
    json_t *f0 = json_array_get(json_object_get(json_array_get(imp, 0), "findings"), 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(f0, "Id")), t[0].id);
    ASSERT_STR_EQ(json_string_value(json_object_get(f0, "AwsAccountId")), "111122223333");
    ASSERT_STR_EQ(json_string_value(json_object_get(f0, "ProductArn")),
                  "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default");
    ASSERT_STR_EQ(json_string_value(json_object_get(f0, "Label")), "CRITICAL");
    /* the event's own account goes to Resources and ProductFields */
    json_t *res = json_object_get(f0, "Resources");
    int found = 0;
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r) {
        found += !strcmp(json_string_value(r), "AwsAccount AWS::::Account:444455556666");
    }
    ASSERT_EQ(found, 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(f0, "ProductFields"),
                                                    "aws/account")), "444455556666");
    json_decref(sts);
    json_decref(imp);
    json_decref(log);
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.sent, 100);
    nt_test_close(&loop, o);
    free(t);
    free(a);
}

static void test_sh_partial_and_throttle(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_kv kv[] = {NT_KV("account_id", "111122223333"), NT_KV("retry_initial", "10ms"),
                  NT_KV("retry_max", "20ms"), NT_KV("batch_size", "10"),
                  NT_KV("flush_interval", "10ms")};
    nt_sink *o = s_new("securityhub", kv, 5);
    ASSERT_NOT_NULL(o);
    nt_alert *a;
    nt_test_alert *t = s_alerts(&a, 10);
    /* first: throttled (429); then a 200 whose FailedFindings lists two
     * findings, one transient (retried) and one invalid (rejected) */
    nt_peer_ctl(peer.port, "{\"fail\":1,\"status\":429,\"type\":\"LimitExceededException\"}");
    char ctl[256];
    snprintf(ctl, sizeof(ctl), "{\"partial\":[\"%s\"],\"code\":\"InternalException\"}", t[3].id);
    nt_peer_ctl(peer.port, ctl);
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 10, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 20000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);
    ASSERT_EQ(nt_peer_nreq(log, "sts", NULL, 0), 0);
    json_t *imp = nt_peer_requests(log, "securityhub", NULL, 0);
    ASSERT_EQ(json_array_size(imp), 3);       /* 429, 200 partial, retry */
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(imp, 0), "status")), 429);
    json_t *last = json_array_get(imp, 2);
    ASSERT_EQ(json_integer_value(json_object_get(last, "count")), 1); /* only the failed one */
    ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(last, "ids"), 0)), t[3].id);
    json_decref(imp);
    json_decref(log);
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.sent, 10);
    ASSERT_EQ(stt.retried, 11);
    /* a permanent per-finding error is rejected, not retried */
    snprintf(ctl, sizeof(ctl), "{\"partial\":[\"%s\"],\"code\":\"InvalidInput\"}", t[5].id);
    nt_peer_ctl(peer.port, ctl);
    ASSERT_EQ(nt_sink_submit(o, a, 10, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 2, 20000));
    ASSERT_EQ(d.last, NT_REJECTED);
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.failed, 1);
    ASSERT_EQ(stt.sent, 19);
    nt_test_close(&loop, o);
    free(t);
    free(a);
}

static void test_sh_big_finding_truncated(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_kv kv[] = {NT_KV("account_id", "111122223333")};
    nt_sink *o = s_new("securityhub", kv, 1);
    size_t big = 300 * 1000;
    char *out = malloc(big + 1), *fields = malloc(big + 64);
    memset(out, 'y', big);
    out[big] = 0;
    snprintf(fields, big + 64, "{\"ct.request\":\"%s\"}", out);
    nt_test_alert t;
    nt_test_alert_make(&t, 1, "Huge", NT_PRIO_WARNING);
    t.a.output = nt_str_c(out);
    t.a.fields_json = nt_str_c(fields);
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, &t.a, 1, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 20000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);
    json_t *imp = nt_peer_requests(log, "securityhub", NULL, 200);
    json_t *f = json_array_get(json_object_get(json_array_get(imp, 0), "findings"), 0);
    ASSERT(json_integer_value(json_object_get(f, "size")) <= 240 * 1000);
    ASSERT(strstr(json_string_value(json_object_get(f, "Description")), "[truncated "));
    ASSERT_NOT_NULL(json_object_get(json_object_get(f, "ProductFields"), "trailguard/truncated"));
    json_decref(imp);
    json_decref(log);
    nt_test_close(&loop, o);
    free(out);
    free(fields);
}

static void test_sh_6mb_split(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_kv kv[] = {NT_KV("account_id", "111122223333")};
    nt_sink *o = s_new("securityhub", kv, 1);
    /* 100 findings of ~90 KB each (45 output fields of 2000 bytes) */
    size_t flen = 45 * 2020 + 16;
    char *fields = malloc(flen), *p = fields;
    p += sprintf(p, "{");
    for (int k = 0; k < 45; k++) {
        p += sprintf(p, "%s\"f%02d\":\"", k ? "," : "", k);
        memset(p, 'a' + k % 26, 2000);
        p += 2000;
        *p++ = '"';
    }
    sprintf(p, "}");
    nt_alert *a;
    nt_test_alert *t = s_alerts(&a, 100);
    for (int i = 0; i < 100; i++)
        a[i].fields_json = nt_str_c(fields);
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 100, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 30000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);
    json_t *imp = nt_peer_requests(log, "securityhub", NULL, 200);
    ASSERT_EQ(json_array_size(imp), 2);         /* over 6 MB: split */
    ASSERT_EQ(s_count(imp), 100);
    size_t i;
    json_t *r;
    json_array_foreach(imp, i, r) {
        ASSERT(json_integer_value(json_object_get(r, "bytes")) <= 6 * 1000 * 1000);
    }
    json_decref(imp);
    json_decref(log);
    nt_test_close(&loop, o);
    free(fields);
    free(t);
    free(a);
}

/* ---- CloudWatch Logs ------------------------------------------------- */

static const nt_kv s_cw[] = {
    NT_KV("log_group", "/trailguard/test"), NT_KV("log_stream", "alerts"),
    NT_KV("create_log_group", "true"), NT_KV("retry_initial", "10ms"),
    NT_KV("retry_max", "20ms"), NT_KV("flush_interval", "20ms"),
};

static void test_cw_10001_two_calls(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_sink *o = s_new("cloudwatch", s_cw, 6);
    ASSERT_NOT_NULL(o);
    enum { N = 10001 };
    nt_alert *a;
    nt_test_alert *t = s_alerts(&a, N);
    for (int i = 0; i < N; i++) { /* small events */
        a[i].json = nt_str_c("{\"rule\":\"x\"}");
    }
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, N, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 30000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);
    json_t *puts = nt_peer_requests(log, "logs", "PutLogEvents", 0);
    ASSERT_EQ(json_array_size(puts), 2);
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(puts, 0), "count")), 10000);
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(puts, 1), "count")), 1);
    ASSERT_EQ(nt_peer_nreq(log, "logs", "CreateLogGroup", 200), 1);
    ASSERT_EQ(nt_peer_nreq(log, "logs", "CreateLogStream", 200), 1);
    json_decref(puts);
    json_decref(log);
    nt_test_close(&loop, o);
    free(t);
    free(a);
}

static void test_cw_bytes_order_throttle(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_sink *o = s_new("cloudwatch", s_cw, 6);
    ASSERT_NOT_NULL(o);
    /* 300 events of ~5 KB (1.5 MB) in reverse time order */
    enum { N = 300 };
    static char msgs[N][5001];
    nt_alert *a;
    nt_test_alert *t = s_alerts(&a, N);
    uint64_t base = nt_test_now_ns();
    for (int i = 0; i < N; i++) {
        memset(msgs[i], 'm', 5000);
        snprintf(msgs[i], 16, "%05d", i);
        msgs[i][5] = 'm';
        msgs[i][5000] = 0;
        a[i].json = nt_str_c(msgs[i]);
        a[i].time_ns = base - (uint64_t)i * 1000000ull; /* newest first */
    }
    nt_peer_ctl(peer.port, "{\"fail\":1,\"status\":400,\"type\":\"ThrottlingException\"}");
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, N, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 30000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);  /* sorted, ≤ 1 MiB each */
    json_t *ok = nt_peer_requests(log, "logs", "PutLogEvents", 200);
    ASSERT_EQ(json_array_size(ok), 2);
    ASSERT_EQ(s_count(ok), N);
    ASSERT(json_integer_value(json_object_get(json_array_get(ok, 0), "bytes")) <= 1048576);
    json_t *thr = nt_peer_requests(log, "logs", "PutLogEvents", 400);
    ASSERT_EQ(json_array_size(thr), 1);
    json_decref(thr);
    json_decref(ok);
    json_decref(log);
    nt_test_close(&loop, o);
    free(t);
    free(a);
}

static void test_cw_24h_span(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_sink *o = s_new("cloudwatch", s_cw, 6);
    nt_alert *a;
    nt_test_alert *t = s_alerts(&a, 4);
    uint64_t h = 3600ull * 1000000000ull;
    a[0].time_ns -= 30 * h; /* 30 h, 29 h, 1 h ago and now */
    a[1].time_ns -= 29 * h;
    a[2].time_ns -= 1 * h;
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 4, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 20000));
    ASSERT_EQ(d.last, NT_OK);
    json_t *log = nt_peer_log(peer.port);
    ASSERT_EQ(nt_peer_violations(log), 0);
    json_t *puts = nt_peer_requests(log, "logs", "PutLogEvents", 200);
    ASSERT_EQ(json_array_size(puts), 2);
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(puts, 0), "count")), 2);
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(puts, 1), "count")), 2);
    json_decref(puts);
    json_decref(log);
    nt_test_close(&loop, o);
    free(t);
    free(a);
}

static void test_cw_rejected_old_event(void)
{
    nt_peer_ctl(peer.port, "{\"reset\":true}");
    nt_sink *o = s_new("cloudwatch", s_cw, 6);
    nt_alert *a;
    nt_test_alert *t = s_alerts(&a, 3);
    a[0].time_ns -= 20ull * 24 * 3600 * 1000000000ull; /* 20 days old */
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 3, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 20000));
    ASSERT_EQ(d.last, NT_REJECTED);
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.failed, 1);
    ASSERT_EQ(stt.sent, 2);
    nt_test_close(&loop, o);
    free(t);
    free(a);
}

int main(void)
{
    int rc = nt_peer_start(&peer);
    if (rc == 77)
        TG_SKIP("node or tests/peers/node_modules missing (npm ci --prefix tests/peers)");
    if (rc != 0)
        return 1;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", peer.port);
    static const char *const unset[] = {
        "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL_STS", NULL};
    for (int i = 0; unset[i]; i++)
        unsetenv(unset[i]);
    setenv("AWS_ACCESS_KEY_ID", "AKIDNTTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "ntTestSecret/0123456789abcdefghijklmnop", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ENDPOINT_URL", url, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_loop_init(&loop);
    TG_RUN(&st, test_sh_burst_one_batch);
    TG_RUN(&st, test_sh_partial_and_throttle);
    TG_RUN(&st, test_sh_big_finding_truncated);
    TG_RUN(&st, test_sh_6mb_split);
    TG_RUN(&st, test_cw_10001_two_calls);
    TG_RUN(&st, test_cw_24h_span);
    TG_RUN(&st, test_cw_bytes_order_throttle);
    TG_RUN(&st, test_cw_rejected_old_event);
    for (int i = 0; i < 100 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    aws_test_peer_stop(&peer);
    curl_global_cleanup();
    TG_DONE(&st);
}
