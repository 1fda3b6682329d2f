/*
 * test_aws_http.c - the libcurl-multi-on-libuv client against the loopback
 * node peer: methods, headers, bodies, status codes, response caps,
 * timeouts, connection failures, concurrency, cancellation, freeing from
 * inside a callback, and TLS verification (a CA made with openssl here).
 *
 * Owner: AWS ingestion (tests/aws/).
 */
#include "aws_http.h"
#include "aws_test_loop.h"
#include "aws_test_peer.h"
#include "tg_test.h"

#include <curl/curl.h>
#include <jansson.h>
#include <unistd.h>

static tg_test_state st;
static uv_loop_t loop;
static aws_test_peer peer;
static char url[256];

typedef struct got {
    int done;
    int rc;
    long status;
    char *body;
    size_t body_len;
    char *hdr;
} got;

static int cb_count, cb_target, cb_reached;

static void s_cb(int rc, const aws_http_response *resp, void *data)
{
    got *g = data;
    g->done++;
    if (++cb_count >= cb_target && cb_target)
        cb_reached = 1;
    g->rc = rc;
    if (resp) {
        g->status = resp->status;
        g->body = strndup(resp->body, resp->body_len);
        g->body_len = resp->body_len;
        const char *h = aws_http_response_header(resp, "X-Test-Header");
        g->hdr = h ? strdup(h) : NULL;
    }
}

static void s_got_fini(got *g)
{
    free(g->body);
    free(g->hdr);
    memset(g, 0, sizeof *g);
}

static const char *s_url(const char *path)
{
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", peer.port, path);
    return url;
}

static void test_get_post_headers(void)
{
    aws_http *h = aws_http_new(&loop, NULL);
    ASSERT_NOT_NULL(h);
    got g = {0};
    aws_http_header hd[] = {{"X-Amz-Target", "AmazonSQS.ReceiveMessage"},
                            {"Content-Type", "application/x-amz-json-1.0"}};
    aws_http_request rq = {.method = "POST", .url = s_url("/echo"),
                           .headers = hd, .n_headers = 2,
                           .body = "{\"a\":\"\\u0000\"}", .body_len = 14};
    ASSERT_EQ(aws_http_send(h, &rq, s_cb, &g, NULL), 0);
    ASSERT_EQ(g.done, 0);   /* never from inside send */
    ASSERT(aws_test_run_until(&loop, &g.done, 10000));
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.status, 200);
    json_t *j = json_loads(g.body, 0, NULL);
    ASSERT_NOT_NULL(j);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "method")), "POST");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "body")),
                  "{\"a\":\"\\u0000\"}");
    json_t *jh = json_object_get(j, "headers");
    ASSERT_STR_EQ(json_string_value(json_object_get(jh, "x-amz-target")),
                  "AmazonSQS.ReceiveMessage");
    ASSERT(json_object_get(jh, "expect") == NULL);
    json_decref(j);
    s_got_fini(&g);

    /* status and response headers */
    rq = (aws_http_request){.url = s_url("/status?code=404")};
    ASSERT_EQ(aws_http_send(h, &rq, s_cb, &g, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &g.done, 10000));
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.status, 404);
    ASSERT_STR_EQ(g.hdr, "yes");
    s_got_fini(&g);

    /* PUT with empty body (IMDS token) */
    aws_http_header ttl[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}};
    rq = (aws_http_request){.method = "PUT", .url = s_url("/latest/api/token"),
                            .headers = ttl, .n_headers = 1};
    ASSERT_EQ(aws_http_send(h, &rq, s_cb, &g, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &g.done, 10000));
    ASSERT_EQ(g.status, 200);
    ASSERT(!strncmp(g.body, "imds-", 5));
    s_got_fini(&g);

    /* bad requests fail synchronously and never call back */
    aws_http_header bad[] = {{"X-A", "b\r\nInjected: 1"}};
    rq = (aws_http_request){.url = s_url("/echo"), .headers = bad, .n_headers = 1};
    ASSERT_EQ(aws_http_send(h, &rq, s_cb, &g, NULL), AWS_HTTP_EINVAL);
    rq = (aws_http_request){.url = "file:///etc/passwd"};
    ASSERT_EQ(aws_http_send(h, &rq, s_cb, &g, NULL), AWS_HTTP_EINVAL);
    ASSERT_EQ(g.done, 0);
    aws_http_free(h);
    aws_test_drain(&loop);
}

static void test_limits_and_failures(void)
{
    aws_http *h = aws_http_new(&loop, NULL);
    got big = {0}, ok = {0}, slow = {0}, refused = {0};
    aws_http_request rq = {.url = s_url("/big?n=100000"), .max_response = 1000};
    ASSERT_EQ(aws_http_send(h, &rq, s_cb, &big, NULL), 0);
    aws_http_request rq2 = {.url = s_url("/big?n=1000"), .max_response = 1000};
    ASSERT_EQ(aws_http_send(h, &rq2, s_cb, &ok, NULL), 0);
    aws_http_request rq3 = {.url = s_url("/slow?ms=5000"), .timeout_ms = 200};
    ASSERT_EQ(aws_http_send(h, &rq3, s_cb, &slow, NULL), 0);
    /* a port nobody listens on: bind one, read its number, close it */
    uv_tcp_t t;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(&loop, &t);
    uv_tcp_bind(&t, (struct sockaddr *)&sa, 0);
    int len = sizeof sa;
    uv_tcp_getsockname(&t, (struct sockaddr *)&sa, &len);
    uv_close((uv_handle_t *)&t, NULL);
    aws_test_drain(&loop);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    aws_http_request rq4 = {.url = u};
    ASSERT_EQ(aws_http_send(h, &rq4, s_cb, &refused, NULL), 0);
    cb_count = 0;
    cb_target = 4;
    aws_test_run_until(&loop, &cb_reached, 10000);
    cb_target = 0;
    int all = big.done && ok.done && slow.done && refused.done;
    if (!all)
        fprintf(stderr, "big=%d ok=%d slow=%d refused=%d\n", big.done, ok.done, slow.done, refused.done);
    ASSERT(all);
    ASSERT_EQ(big.rc, AWS_HTTP_ETOOBIG);
    ASSERT_EQ(ok.rc, 0);
    ASSERT_EQ(ok.body_len, 1000);
    ASSERT_EQ(slow.rc, AWS_HTTP_ETIMEDOUT);
    ASSERT_EQ(refused.rc, AWS_HTTP_ECONNECT);
    ASSERT_EQ(aws_http_inflight(h), 0);
    s_got_fini(&big);
    s_got_fini(&ok);
    s_got_fini(&slow);
    s_got_fini(&refused);
    aws_http_free(h);
    aws_test_drain(&loop);
}

static int many_done;
static void s_count_cb(int rc, const aws_http_response *resp, void *data)
{
    (void)data;
    if (rc == 0 && resp->status == 200)
        many_done++;
}

static void test_concurrency_cancel(void)
{
    aws_http *h = aws_http_new(&loop, NULL);
    aws_http_req *handles[40];
    for (int i = 0; i < 40; i++) {
        aws_http_request rq = {.url = s_url("/slow?ms=50")};
        ASSERT_EQ(aws_http_send(h, &rq, s_count_cb, NULL, &handles[i]), 0);
    }
    ASSERT_EQ(aws_http_inflight(h), 40);
    for (int i = 0; i < 40; i += 4)
        aws_http_cancel(handles[i]);
    ASSERT_EQ(aws_http_inflight(h), 30);
    int want = 30;
    for (int i = 0; i < 400 && many_done < want; i++)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(many_done, 30);
    aws_http_free(h);
    aws_test_drain(&loop);
}

static aws_http *free_me;
static int freed_in_cb;
static void s_free_cb(int rc, const aws_http_response *resp, void *data)
{
    (void)rc;
    (void)resp;
    (void)data;
    freed_in_cb++;
    aws_http_free(free_me);   /* also drops the slow request in flight */
}

static void test_free_inside_callback(void)
{
    free_me = aws_http_new(&loop, NULL);
    int never = 0;
    aws_http_request fast = {.url = s_url("/echo")};
    aws_http_request slow = {.url = s_url("/slow?ms=3000")};
    ASSERT_EQ(aws_http_send(free_me, &slow, s_count_cb, &never, NULL), 0);
    ASSERT_EQ(aws_http_send(free_me, &fast, s_free_cb, NULL, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &freed_in_cb, 10000));
    aws_test_drain(&loop);
    ASSERT(!uv_loop_alive(&loop));
    ASSERT_EQ(freed_in_cb, 1);
}

static void test_tls(void)
{
    char dir[] = "/tmp/tg-aws-tls-XXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/key.pem "
             "-out %s/cert.pem -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1", dir, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "note: openssl CLI unavailable; TLS part skipped\n");
        return;
    }
    char cert[256], key[256];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    aws_test_peer tp;
    const char *argv[] = {"aws_peer.js", "--tls-cert", cert, "--tls-key", key, NULL};
    ASSERT_EQ(aws_test_peer_start(&tp, argv, NULL, 15000), 0);
    char u[128];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/echo", tp.port);
    /* system CAs: the loopback certificate must be refused */
    aws_http *h = aws_http_new(&loop, NULL);
    got g = {0};
    aws_http_request rq = {.url = u};
    ASSERT_EQ(aws_http_send(h, &rq, s_cb, &g, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &g.done, 10000));
    ASSERT_EQ(g.rc, AWS_HTTP_ETLS);
    s_got_fini(&g);
    aws_http_free(h);
    /* with the test CA it is accepted */
    aws_http_opts o = {.ca_file = cert};
    h = aws_http_new(&loop, &o);
    ASSERT_EQ(aws_http_send(h, &rq, s_cb, &g, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &g.done, 10000));
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.status, 200);
    s_got_fini(&g);
    aws_http_free(h);
    aws_test_drain(&loop);
    aws_test_peer_stop(&tp);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ASSERT_EQ(system(cmd), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *argv[] = {"aws_peer.js", NULL};
    int rc = aws_test_peer_start(&peer, argv, NULL, 15000);
    if (rc == 77)
        TG_SKIP("node or tests/peers/node_modules absent (npm ci --prefix tests/peers)");
    ASSERT_EQ(rc, 0);
    uv_loop_init(&loop);
    TG_RUN(&st, test_get_post_headers);
    TG_RUN(&st, test_limits_and_failures);
    TG_RUN(&st, test_concurrency_cancel);
    TG_RUN(&st, test_free_inside_callback);
    TG_RUN(&st, test_tls);
    aws_test_peer_stop(&peer);
    aws_test_drain(&loop);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    curl_global_cleanup();
    TG_DONE(&st);
}
