/*
 * tg_metrics.c - metric registry, Prometheus text rendering and the
 * /metrics, /healthz, /readyz endpoint (see tg_metrics.h).
 *
 * Owner: common.
 *
 * DESIGN
 * Families live in an array; each family owns its series.  A series
 * keeps its label set pre-rendered and escaped ('k="v",k2="v2"'), which is
 * also its identity for "register again returns the same series".
 * Histograms keep per-bucket (non-cumulative) counts and make them
 * cumulative while rendering.
 */
#include "tg_metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_http.h"
#include "tg_http_buf.h"

enum { S_COUNTER = 1, S_GAUGE, S_HISTOGRAM };

typedef struct s_family {
    char *name;
    char *help;
    int type;
    double *bounds;
    size_t nbounds;
    tg_metric **series;
    size_t nseries;
} s_family;

struct tg_metric {
    s_family *fam;
    char *labels;               /* rendered, escaped; "" for none */
    double value;               /* counter / gauge / histogram sum */
    unsigned long long count;   /* histogram */
    unsigned long long *buckets;/* nbounds + 1 (last = +Inf) */
};

struct tg_metrics {
    s_family **fams;
    size_t nfams;
    bool ready;
};

struct tg_metrics_server {
    tg_http_server *http;
    tg_metrics *reg;
    char *token;
};

const double tg_metrics_latency_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1, 2.5, 5, 7.5, 10,
};
const size_t tg_metrics_latency_nbuckets =
    sizeof tg_metrics_latency_buckets / sizeof tg_metrics_latency_buckets[0];

tg_metrics *tg_metrics_new(void)
{
    return calloc(1, sizeof(tg_metrics));
}

static void s_family_free(s_family *f)
{
    for (size_t i = 0; i < f->nseries; i++) {
        free(f->series[i]->labels);
        free(f->series[i]->buckets);
        free(f->series[i]);
    }
    free(f->series);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void tg_metrics_free(tg_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfams; i++)
        s_family_free(m->fams[i]);
    free(m->fams);
    free(m);
}

static bool s_valid_name(const char *n, bool colon)
{
    if (!n || !*n)
        return false;
    for (const char *p = n; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     c == '_' || (colon && c == ':');
        if (!alpha && !(p > n && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* Render the label set; NULL on a bad label or no memory. */
static char *s_labels(const char *const *labels)
{
    tg_hbuf b = {0};
    if (tg_hbuf_reserve(&b, 0) != 0)
        return NULL;
    b.p[0] = '\0';
    for (size_t i = 0; labels && labels[i]; i += 2) {
        const char *k = labels[i], *v = labels[i + 1];
        if (!v || !s_valid_name(k, false) || !strcmp(k, "le"))
            goto fail;
        if ((i && tg_hbuf_putc(&b, ',') != 0) ||
            tg_hbuf_printf(&b, "%s=\"", k) != 0)
            goto fail;
        for (const char *p = v; *p; p++) {
            const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\""
                              : *p == '\n' ? "\\n" : NULL;
            if (esc ? tg_hbuf_puts(&b, esc) : tg_hbuf_putc(&b, *p))
                goto fail;
        }
        if (tg_hbuf_putc(&b, '"') != 0)
            goto fail;
    }
    return b.p;
fail:
    tg_hbuf_fini(&b);
    return NULL;
}

static s_family *s_family_get(tg_metrics *m, const char *name,
                              const char *help, int type,
                              const double *bounds, size_t nb)
{
    for (size_t i = 0; i < m->nfams; i++) {
        s_family *f = m->fams[i];
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->type != type || f->nbounds != nb ||
            (nb && memcmp(f->bounds, bounds, nb * sizeof *bounds) != 0))
            return NULL;
        return f;
    }
    s_family **a = realloc(m->fams, (m->nfams + 1) * sizeof *a);
    if (!a)
        return NULL;
    m->fams = a;
    s_family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->type = type;
    f->nbounds = nb;
    f->bounds = nb ? malloc(nb * sizeof *bounds) : NULL;
    if (!f->name || !f->help || (nb && !f->bounds)) {
        s_family_free(f);
        return NULL;
    }
    if (nb)
        memcpy(f->bounds, bounds, nb * sizeof *bounds);
    m->fams[m->nfams++] = f;
    return f;
}

static tg_metric *s_register(tg_metrics *m, const char *name,
                             const char *help, const char *const *labels,
                             int type, const double *bounds, size_t nb)
{
    if (!m || !s_valid_name(name, true))
        return NULL;
    for (size_t i = 0; i < nb; i++)
        if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
            return NULL;
    char *lab = s_labels(labels);
    if (!lab)
        return NULL;
    s_family *f = s_family_get(m, name, help, type, bounds, nb);
    if (!f) {
        free(lab);
        return NULL;
    }
    for (size_t i = 0; i < f->nseries; i++) {
        if (!strcmp(f->series[i]->labels, lab)) {
            free(lab);
            return f->series[i];
        }
    }
    tg_metric **a = realloc(f->series, (f->nseries + 1) * sizeof *a);
    tg_metric *s = a ? calloc(1, sizeof *s) : NULL;
    if (a)
        f->series = a;
    if (s && type == S_HISTOGRAM &&
        !(s->buckets = calloc(nb + 1, sizeof *s->buckets))) {
        free(s);
        s = NULL;
    }
    if (!s) {
        free(lab);
        return NULL;
    }
    s->fam = f;
    s->labels = lab;
    f->series[f->nseries++] = s;
    return s;
}

tg_metric *tg_metrics_counter(tg_metrics *m, const char *name,
                              const char *help, const char *const *labels)
{
    return s_register(m, name, help, labels, S_COUNTER, NULL, 0);
}

tg_metric *tg_metrics_gauge(tg_metrics *m, const char *name,
                            const char *help, const char *const *labels)
{
    return s_register(m, name, help, labels, S_GAUGE, NULL, 0);
}

tg_metric *tg_metrics_histogram(tg_metrics *m, const char *name,
                                const char *help, const char *const *labels,
                                const double *buckets, size_t nbuckets)
{
    if (!buckets || !nbuckets) {
        buckets = tg_metrics_latency_buckets;
        nbuckets = tg_metrics_latency_nbuckets;
    }
    return s_register(m, name, help, labels, S_HISTOGRAM, buckets, nbuckets);
}

void tg_metric_inc(tg_metric *c)
{
    tg_metric_add(c, 1);
}

void tg_metric_add(tg_metric *c, double v)
{
    if (!c || c->fam->type == S_HISTOGRAM || isnan(v))
        return;
    if (c->fam->type == S_COUNTER && v < 0)
        return;
    c->value += v;
}

void tg_metric_set(tg_metric *g, double v)
{
    if (g && g->fam->type == S_GAUGE)
        g->value = v;
}

void tg_metric_dec(tg_metric *g)
{
    if (g && g->fam->type == S_GAUGE)
        g->value -= 1;
}

void tg_metric_observe(tg_metric *h, double v)
{
    if (!h || h->fam->type != S_HISTOGRAM || isnan(v))
        return;
    size_t i = 0;
    while (i < h->fam->nbounds && v > h->fam->bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->value += v;
}

double tg_metric_value(const tg_metric *m)
{
    return m ? m->value : 0;
}

unsigned long long tg_metric_count(const tg_metric *m)
{
    return m && m->fam->type == S_HISTOGRAM ? m->count : 0;
}

void tg_metrics_set_ready(tg_metrics *m, bool ready)
{
    m->ready = ready;
}

bool tg_metrics_ready(const tg_metrics *m)
{
    return m->ready;
}

/* ---- rendering ---------------------------------------------------------- */

/* Shortest text that reads back as the same double. */
static void s_num(char *buf, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int s_help_text(tg_hbuf *b, const char *help)
{
    int rc = 0;
    for (const char *p = help; *p; p++)
        rc |= *p == '\\' ? tg_hbuf_puts(b, "\\\\")
              : *p == '\n' ? tg_hbuf_puts(b, "\\n") : tg_hbuf_putc(b, *p);
    return rc;
}

static int s_render_series(tg_hbuf *b, const s_family *f, const tg_metric *s)
{
    char num[64];
    const char *sep = *s->labels ? "," : "";
    int rc = 0;
    if (f->type != S_HISTOGRAM) {
        s_num(num, sizeof num, s->value);
        if (*s->labels)
            return tg_hbuf_printf(b, "%s{%s} %s\n", f->name, s->labels, num);
        return tg_hbuf_printf(b, "%s %s\n", f->name, num);
    }
    unsigned long long cum = 0;
    for (size_t i = 0; i <= f->nbounds; i++) {
        cum += s->buckets[i];
        if (i < f->nbounds)
            s_num(num, sizeof num, f->bounds[i]);
        else
            snprintf(num, sizeof num, "+Inf");
        rc |= tg_hbuf_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", f->name,
                             s->labels, sep, num, cum);
    }
    s_num(num, sizeof num, s->value);
    if (*s->labels) {
        rc |= tg_hbuf_printf(b, "%s_sum{%s} %s\n", f->name, s->labels, num);
        rc |= tg_hbuf_printf(b, "%s_count{%s} %llu\n", f->name, s->labels,
                             s->count);
    } else {
        rc |= tg_hbuf_printf(b, "%s_sum %s\n", f->name, num);
        rc |= tg_hbuf_printf(b, "%s_count %llu\n", f->name, s->count);
    }
    return rc;
}

static int s_cmp_family(const void *a, const void *b)
{
    const s_family *fa = *(const s_family *const *)a;
    const s_family *fb = *(const s_family *const *)b;
    return strcmp(fa->name, fb->name);
}

int tg_metrics_render(const tg_metrics *m, char **out, size_t *len)
{
    static const char *const types[] = {"", "counter", "gauge", "histogram"};
    tg_hbuf b = {0};
    s_family **sorted = malloc((m->nfams ? m->nfams : 1) * sizeof *sorted);
    if (!sorted || tg_hbuf_reserve(&b, 0) != 0)
        goto fail;
    b.p[0] = '\0';
    memcpy(sorted, m->fams, m->nfams * sizeof *sorted);
    qsort(sorted, m->nfams, sizeof *sorted, s_cmp_family);
    for (size_t i = 0; i < m->nfams; i++) {
        const s_family *f = sorted[i];
        int rc = tg_hbuf_printf(&b, "# HELP %s ", f->name);
        rc |= s_help_text(&b, f->help);
        rc |= tg_hbuf_printf(&b, "\n# TYPE %s %s\n", f->name, types[f->type]);
        for (size_t j = 0; j < f->nseries; j++)
            rc |= s_render_series(&b, f, f->series[j]);
        if (rc)
            goto fail;
    }
    free(sorted);
    *out = b.p;
    if (len)
        *len = b.len;
    return 0;
fail:
    free(sorted);
    tg_hbuf_fini(&b);
    return -ENOMEM;
}

/* ---- endpoint ----------------------------------------------------------- */

/* Status and text for everything but a successful /metrics; 0 for a
 * /metrics request that passed the checks. */
static int s_route(tg_metrics *m, const char *token, const tg_http_req *req,
                   tg_http_resp *resp, const char **text)
{
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    *text = NULL;
    if (!get) {
        *text = "method not allowed\n";
        return 405;
    }
    if (!strcmp(req->path, "/healthz")) {
        *text = "ok\n";
        return 200;
    }
    if (!strcmp(req->path, "/readyz")) {
        *text = m->ready ? "ready\n" : "not ready\n";
        return m->ready ? 200 : 503;
    }
    if (!tg_http_check_bearer(req, token)) {
        tg_http_resp_header(resp, "WWW-Authenticate", "Bearer");
        *text = "unauthorized\n";
        return 401;
    }
    return 0;
}

bool tg_metrics_http_handle(tg_metrics *m, const char *bearer_token,
                            const tg_http_req *req, tg_http_resp *resp)
{
    if (strcmp(req->path, "/metrics") != 0 &&
        strcmp(req->path, "/healthz") != 0 && strcmp(req->path, "/readyz") != 0)
        return false;
    const char *text;
    int status = s_route(m, bearer_token, req, resp, &text);
    char *body;
    size_t len;
    if (status == 0 && tg_metrics_render(m, &body, &len) != 0) {
        status = 500;
        text = "out of memory\n";
    }
    if (status != 0) {
        tg_http_resp_text(resp, status, text);
        return true;
    }
    tg_http_resp_status(resp, 200);
    tg_http_resp_header(resp, "Content-Type",
                        "text/plain; version=0.0.4; charset=utf-8");
    tg_http_resp_body(resp, body, len);
    free(body);
    return true;
}

static void s_handle(const tg_http_req *req, tg_http_resp *resp, void *ud)
{
    tg_metrics_server *s = ud;
    if (!tg_metrics_http_handle(s->reg, s->token, req, resp))
        tg_http_resp_text(resp, 404, "not found\n");
}

tg_metrics_server *tg_metrics_serve(uv_loop_t *loop, tg_metrics *reg,
                                    const char *bind_addr, int port,
                                    const char *bearer_token,
                                    char *err, size_t errlen)
{
    tg_metrics_server *s = calloc(1, sizeof *s);
    if (!s || (bearer_token && *bearer_token &&
               !(s->token = strdup(bearer_token)))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->reg = reg;
    tg_http_opts o = {.max_body_bytes = 4096, .max_connections = 32};
    s->http = tg_http_server_new(loop, bind_addr, port, &o, s_handle, s, err,
                                 errlen);
    if (!s->http) {
        free(s->token);
        free(s);
        return NULL;
    }
    return s;
}

int tg_metrics_server_port(const tg_metrics_server *s)
{
    return tg_http_server_port(s->http);
}

void tg_metrics_server_close(tg_metrics_server *s)
{
    if (!s)
        return;
    tg_http_server_close(s->http);
    free(s->token);
    free(s);
}
