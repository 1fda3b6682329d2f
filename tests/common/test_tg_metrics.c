/*
 * test_tg_metrics.c - tg_metrics: registration rules, exact Prometheus
 * text (0.0.4) for counters, gauges and histograms, label escaping, and
 * the /metrics, /healthz, /readyz endpoint with a bearer token.
 * Owner: common.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_metrics.h"
#include "tg_test.h"
#include "tgt_loop.h"

static void test_registry_and_render(void)
{
    tg_metrics *m = tg_metrics_new();
    ASSERT_NOT_NULL(m);
    const char *web[] = {"output", "webhook", NULL};
    tg_metric *c = tg_metrics_counter(m, "tg_test_total", "Test counter", web);
    ASSERT_NOT_NULL(c);
    /* same name and labels: same series */
    ASSERT(tg_metrics_counter(m, "tg_test_total", "ignored", web) == c);
    const char *sl[] = {"output", "slack", NULL};
    tg_metric *c2 = tg_metrics_counter(m, "tg_test_total", "", sl);
    ASSERT(c2 != NULL && c2 != c);
    /* same name, other type: refused */
    ASSERT(tg_metrics_gauge(m, "tg_test_total", "", web) == NULL);
    ASSERT(tg_metrics_counter(m, "9bad", "", NULL) == NULL);
    ASSERT(tg_metrics_counter(m, "bad-name", "", NULL) == NULL);
    const char *le[] = {"le", "1", NULL};
    ASSERT(tg_metrics_counter(m, "x_total", "", le) == NULL);
    const char *odd[] = {"k", NULL};
    ASSERT(tg_metrics_counter(m, "y_total", "", odd) == NULL);
    tg_metric_inc(c);
    tg_metric_add(c, 1);
    tg_metric_add(c, -5);           /* counters never go down */
    tg_metric_add(c, NAN);
    tg_metric_set(c, 100);          /* not a gauge: ignored */
    ASSERT(tg_metric_value(c) == 2);
    tg_metric_inc(NULL);            /* no-op */

    tg_metric *g = tg_metrics_gauge(m, "tg_queue", "Queue\ndepth", NULL);
    tg_metric_set(g, 4.5);
    tg_metric_dec(g);
    ASSERT(tg_metric_value(g) == 3.5);

    const double b[] = {0.1, 1};
    const double bad[] = {1, 0.1};
    ASSERT(tg_metrics_histogram(m, "h_bad", "", NULL, bad, 2) == NULL);
    const char *esc[] = {"rule", "a\"b\\c\nd", NULL};
    tg_metric *h = tg_metrics_histogram(m, "tg_lat_seconds", "Latency", esc,
                                        b, 2);
    ASSERT_NOT_NULL(h);
    ASSERT(tg_metrics_histogram(m, "tg_lat_seconds", "", esc,
                                tg_metrics_latency_buckets,
                                tg_metrics_latency_nbuckets) == NULL);
    tg_metric_observe(h, 0.0625);
    tg_metric_observe(h, 0.1);      /* le is inclusive */
    tg_metric_observe(h, 0.5);
    tg_metric_observe(h, 4);
    ASSERT_EQ(tg_metric_count(h), 4);
    ASSERT(tg_metric_value(h) == 4.6625);

    char *text;
    size_t len;
    ASSERT_EQ(tg_metrics_render(m, &text, &len), 0);
    const char *want =
        "# HELP tg_lat_seconds Latency\n"
        "# TYPE tg_lat_seconds histogram\n"
        "tg_lat_seconds_bucket{rule=\"a\\\"b\\\\c\\nd\",le=\"0.1\"} 2\n"
        "tg_lat_seconds_bucket{rule=\"a\\\"b\\\\c\\nd\",le=\"1\"} 3\n"
        "tg_lat_seconds_bucket{rule=\"a\\\"b\\\\c\\nd\",le=\"+Inf\"} 4\n"
        "tg_lat_seconds_sum{rule=\"a\\\"b\\\\c\\nd\"} 4.6625\n"
        "tg_lat_seconds_count{rule=\"a\\\"b\\\\c\\nd\"} 4\n"
        "# HELP tg_queue Queue\\ndepth\n"
        "# TYPE tg_queue gauge\n"
        "tg_queue 3.5\n"
        "# HELP tg_test_total Test counter\n"
        "# TYPE tg_test_total counter\n"
        "tg_test_total{output=\"webhook\"} 2\n"
        "tg_test_total{output=\"slack\"} 0\n";
    ASSERT_STR_EQ(text, want);
    ASSERT_EQ(len, strlen(want));
    free(text);
    tg_metrics_free(m);
    tg_metrics_free(NULL);
}

static uv_loop_t s_loop;

static void s_get(int port, const char *req, tgt_resp *r)
{
    int fd = tgt_connect(port);
    ASSERT(tgt_xfer(&s_loop, fd, req, strlen(req), r, 5000));
    close(fd);
}

static void test_serve(void)
{
    tg_metrics *m = tg_metrics_new();
    tg_metric *c = tg_metrics_counter(m, "tg_alerts_total", "Alerts", NULL);
    tg_metric_add(c, 7);
    char err[256];
    tg_metrics_server *s = tg_metrics_serve(&s_loop, m, NULL, 0, "tok", err,
                                            sizeof err);
    ASSERT_NOT_NULL(s);
    int port = tg_metrics_server_port(s);
    ASSERT(port > 0);
    tgt_resp *r = malloc(sizeof *r);
    s_get(port, "GET /healthz HTTP/1.1\r\n\r\n", r);
    ASSERT_EQ(r->status, 200);
    ASSERT_MEM_EQ(r->body, r->body_len, "ok\n", 3);
    s_get(port, "GET /readyz HTTP/1.1\r\n\r\n", r);
    ASSERT_EQ(r->status, 503);
    tg_metrics_set_ready(m, true);
    ASSERT(tg_metrics_ready(m));
    s_get(port, "GET /readyz HTTP/1.1\r\n\r\n", r);
    ASSERT_EQ(r->status, 200);
    s_get(port, "GET /metrics HTTP/1.1\r\n\r\n", r);
    ASSERT_EQ(r->status, 401);
    ASSERT(strstr(r->buf, "WWW-Authenticate: Bearer\r\n") != NULL);
    s_get(port, "GET /metrics HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\n",
          r);
    ASSERT_EQ(r->status, 200);
    ASSERT(strstr(r->buf, "Content-Type: text/plain; version=0.0.4") != NULL);
    ASSERT(strstr(r->body, "\ntg_alerts_total 7\n") != NULL);
    s_get(port, "POST /metrics HTTP/1.1\r\n\r\n", r);
    ASSERT_EQ(r->status, 405);
    s_get(port, "GET /nope HTTP/1.1\r\n\r\n", r);
    ASSERT_EQ(r->status, 404);
    free(r);
    tg_metrics_server_close(s);
    tg_metrics_server_close(NULL);
    uv_run(&s_loop, UV_RUN_NOWAIT);
    tg_metrics_free(m);
}

static void s_own_handler(const tg_http_req *req, tg_http_resp *resp,
                          void *ud)
{
    if (tg_metrics_http_handle(ud, NULL, req, resp))
        return;
    tg_http_resp_text(resp, 200, "sns\n");
}

static void test_shared_port(void)
{
    tg_metrics *m = tg_metrics_new();
    tg_metric_inc(tg_metrics_counter(m, "tg_sns_total", "SNS", NULL));
    char err[256];
    tg_http_server *h = tg_http_server_new(&s_loop, NULL, 0, NULL,
                                           s_own_handler, m, err, sizeof err);
    ASSERT_NOT_NULL(h);
    tgt_resp *r = malloc(sizeof *r);
    s_get(tg_http_server_port(h), "GET /metrics HTTP/1.1\r\n\r\n", r);
    ASSERT_EQ(r->status, 200);
    ASSERT(strstr(r->body, "tg_sns_total 1\n") != NULL);
    s_get(tg_http_server_port(h), "POST /sns HTTP/1.1\r\n\r\n", r);
    ASSERT_MEM_EQ(r->body, r->body_len, "sns\n", 4);
    free(r);
    tg_http_server_close(h);
    uv_run(&s_loop, UV_RUN_NOWAIT);
    tg_metrics_free(m);
}

int main(void)
{
    tg_test_state st = {0};
    uv_loop_init(&s_loop);
    TG_RUN(&st, test_registry_and_render);
    TG_RUN(&st, test_serve);
    TG_RUN(&st, test_shared_port);
    ASSERT_EQ(tgt_loop_fini(&s_loop), 0);
    TG_DONE(&st);
}
