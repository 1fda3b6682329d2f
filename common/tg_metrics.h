/*
 * tg_metrics.h - counters, gauges and histograms in Prometheus text form.
 *
 * Owner: common.
 *
 * DESIGN
 * A tg_metrics registry holds metric families (name, help, type); each
 * family holds series with a fixed label set given at registration, e.g.
 *
 *   tg_metric *sent = tg_metrics_counter(reg, "trailguard_alerts_sent_total",
 *       "Alerts delivered", (const char *[]){"output", "webhook", NULL});
 *   tg_metric_inc(sent);
 *
 * Registering the same name and labels again returns the same series, so
 * modules need not share pointers.  Rendering follows the Prometheus text
 * exposition format 0.0.4: one HELP and TYPE line per family, label values
 * escaped (\\, \", \n), histograms as cumulative _bucket{le=...} lines plus
 * _sum and _count.  Families are rendered sorted by name, series in
 * registration order.
 *
 * tg_metrics_serve() exposes a registry on tg_http: GET /metrics (bearer
 * token required when one is configured), /healthz (200 "ok") and /readyz
 * (200 "ready" once tg_metrics_set_ready(reg, true), else 503).
 *
 * Single-threaded: every call from the loop thread.  Values are doubles.
 */
#ifndef TG_METRICS_H
#define TG_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "tg_http.h"

typedef struct tg_metrics tg_metrics;
typedef struct tg_metric tg_metric;
typedef struct tg_metrics_server tg_metrics_server;

/* Caller owns result; free with tg_metrics_free(). */
tg_metrics *tg_metrics_new(void);

/* Frees the registry and every series.  Close servers using it first.
 * NULL is a no-op. */
void tg_metrics_free(tg_metrics *m);

/*
 * Register (or find) a series.  name must match [a-zA-Z_:][a-zA-Z0-9_:]*;
 * labels is a NULL-terminated array of key, value, key, value ... (NULL or
 * {NULL} = no labels); keys match [a-zA-Z_][a-zA-Z0-9_]* and must not be
 * "le" (reserved); values are copied.  Returns NULL on a bad name or
 * label, or when the name is already registered with another type (or,
 * for histograms, other buckets).  The series is borrowed: valid until
 * tg_metrics_free().
 */
tg_metric *tg_metrics_counter(tg_metrics *m, const char *name,
                              const char *help, const char *const *labels);
tg_metric *tg_metrics_gauge(tg_metrics *m, const char *name,
                            const char *help, const char *const *labels);
/* buckets: strictly increasing finite upper bounds (the +Inf bucket is
 * implicit); NULL/0 = tg_metrics_latency_buckets. */
tg_metric *tg_metrics_histogram(tg_metrics *m, const char *name,
                                const char *help, const char *const *labels,
                                const double *buckets, size_t nbuckets);

/* Default latency buckets in seconds: 0.001 .. 10 (14 bounds). */
extern const double tg_metrics_latency_buckets[];
extern const size_t tg_metrics_latency_nbuckets;

/* Counter: add v >= 0 (negative or NaN ignored).  Gauge: any v.
 * NULL metric is a no-op, so callers may ignore registration failures. */
void tg_metric_inc(tg_metric *c);
void tg_metric_add(tg_metric *c, double v);
/* Gauge only (ignored on others). */
void tg_metric_set(tg_metric *g, double v);
void tg_metric_dec(tg_metric *g);
/* Histogram only (ignored on others). */
void tg_metric_observe(tg_metric *h, double v);

/* Counter/gauge value, or histogram sum; 0 for NULL. */
double tg_metric_value(const tg_metric *m);
/* Histogram count; 0 for others. */
unsigned long long tg_metric_count(const tg_metric *m);

/* Readiness flag served by /readyz (default false). */
void tg_metrics_set_ready(tg_metrics *m, bool ready);
bool tg_metrics_ready(const tg_metrics *m);

/* Render the text exposition.  *out is NUL-terminated; caller owns it;
 * free with free().  0 or -ENOMEM. */
int tg_metrics_render(const tg_metrics *m, char **out, size_t *len);

/*
 * Serve the registry (borrowed; must outlive the server) on
 * bind_addr:port (NULL = "127.0.0.1"; port 0 = ephemeral).
 * bearer_token NULL/"" = no auth on /metrics.  Caller owns result; release
 * with tg_metrics_server_close().  NULL on error with detail in err.
 */
tg_metrics_server *tg_metrics_serve(uv_loop_t *loop, tg_metrics *reg,
                                    const char *bind_addr, int port,
                                    const char *bearer_token,
                                    char *err, size_t errlen);

/* The bound port. */
int tg_metrics_server_port(const tg_metrics_server *s);

/*
 * Answer GET/HEAD /metrics, /healthz or /readyz on a tg_http server of
 * your own (e.g. the SNS endpoint, to serve everything on one port), with
 * the same rules as tg_metrics_serve().  Returns false, touching nothing,
 * for any other path; call it first in your handler.  m and token are
 * borrowed for the call.
 */
bool tg_metrics_http_handle(tg_metrics *m, const char *bearer_token,
                            const tg_http_req *req, tg_http_resp *resp);

/* Close (like tg_http_server_close: run the loop once more before
 * uv_loop_close()).  NULL is a no-op. */
void tg_metrics_server_close(tg_metrics_server *s);

#endif /* TG_METRICS_H */
