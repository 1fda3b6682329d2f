/*
 * nt_out_webhook.c - the `webhook` and `http` outputs.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * webhook: POST (or PUT) Falco's alert JSON unchanged, the body
 *   Falcosidekick's HTTP input expects (`http://sidekick:2801/`), one
 *   alert per request (batch: false, the default), or the whole batch as
 *   a JSON array in one request (batch: true).
 * http: a generic JSON events endpoint (Sysdig Secure-like): each alert
 *   is rendered through `template` (nt_template.h) and the batch is sent
 *   as `envelope` with {{events}} replaced by the comma-joined events.
 * Both: custom headers (headers.<Name>: value), bearer token from the
 *   config, an environment variable or a file (re-read on SIGHUP), TLS
 *   verification always on (ca_file to trust a private CA), and the
 *   status mapping of nt_http.h.  One request in flight per output;
 *   one-per-request mode sends the batch's alerts in order and stops at
 *   the first one to retry, so order is kept.
 */
#include "nt_plugin.h"

#include "aws_buf.h"
#include "nt_http.h"
#include "nt_template.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct nt_out_web {
    /* config */
    char *url;
    char *method;
    nt_strmap headers;
    char *token;
    char *token_env;
    char *token_file;
    int batch;              /* webhook: one array per batch */
    char *tmpl;             /* http */
    char *envelope;         /* http */
    char *ca_file;
    int64_t timeout_ms;
    /* state */
    int is_http;
    aws_http *http;
    char *tok;
    nt_http_headers hs;
    nt_batch *b;
    size_t next;            /* one-per-request: index being sent */
    aws_http_req *req;
} nt_out_web;

#define W(f) offsetof(nt_out_web, f)
#define S_COMMON_HTTP                                                        \
    {NT_CONF_STR, "url", NULL, W(url), "endpoint URL (required)"},           \
    {NT_CONF_STR, "method", "POST", W(method), "POST or PUT"},               \
    {NT_CONF_MAP, "headers", NULL, W(headers), "extra request headers"},     \
    {NT_CONF_STR, "token", NULL, W(token), "bearer token (prefer token_env/token_file)"}, \
    {NT_CONF_STR, "token_env", NULL, W(token_env), "environment variable holding the bearer token"}, \
    {NT_CONF_STR, "token_file", NULL, W(token_file), "file holding the bearer token"}, \
    {NT_CONF_STR, "ca_file", NULL, W(ca_file), "CA bundle to verify the server (TLS is always verified)"}, \
    {NT_CONF_MS, "timeout", "10s", W(timeout_ms), "request timeout"}

static const nt_conf_entry s_webhook_map[] = {
    S_COMMON_HTTP,
    {NT_CONF_BOOL, "batch", "false", W(batch),
     "send each batch as one JSON array instead of one alert per request"},
    {0, NULL, NULL, 0, NULL},
};

static const nt_conf_entry s_http_map[] = {
    S_COMMON_HTTP,
    {NT_CONF_STR, "template",
     "{\"id\":\"{{id}}\",\"name\":\"{{rule}}\",\"description\":\"{{output}}\","
     "\"severity\":{{severity}},\"timestamp\":{{time_ns}},"
     "\"source\":\"{{source}}\",\"originator\":\"trailguard\","
     "\"content\":{\"ruleName\":\"{{rule}}\",\"output\":\"{{output}}\","
     "\"ruleTags\":{{tags}},\"fields\":{{output_fields}}}}",
     W(tmpl), "event body template (see docs/outputs.md)"},
    {NT_CONF_STR, "envelope", "{\"events\":[{{events}}]}", W(envelope),
     "request body; {{events}} = the comma-joined events"},
    {0, NULL, NULL, 0, NULL},
};
#undef W

static int s_load_token(nt_out_web *w, char *err, size_t errlen)
{
    char *tok = NULL;
    int rc = nt_http_secret(w->token, w->token_env, w->token_file, &tok);
    if (rc < 0) {
        snprintf(err, errlen, "bearer token (%s): %s",
                 w->token_env ? w->token_env : w->token_file, strerror(-rc));
        return rc;
    }
    free(w->tok);
    w->tok = tok;
    nt_http_headers_fini(&w->hs);
    return nt_http_headers_build(&w->hs, "application/json; charset=utf-8",
                                 &w->headers, w->tok);
}

static int s_init_common(nt_out_web *w, const nt_plugin_env *env, char *err,
                         size_t errlen)
{
    if (!w->url || (strncmp(w->url, "http://", 7) != 0 &&
                    strncmp(w->url, "https://", 8) != 0)) {
        snprintf(err, errlen, "'url' must be an http:// or https:// URL");
        return -EINVAL;
    }
    if (strcmp(w->method, "POST") != 0 && strcmp(w->method, "PUT") != 0) {
        snprintf(err, errlen, "method must be POST or PUT");
        return -EINVAL;
    }
    if (s_load_token(w, err, errlen) < 0)
        return -EINVAL;
    aws_http_opts ho = {.ca_file = w->ca_file};
    w->http = aws_http_new(env->loop, &ho);
    if (!w->http) {
        snprintf(err, errlen, "cannot create HTTP client");
        return -ENOMEM;
    }
    return 0;
}

static int s_webhook_init(void *ctx, const nt_plugin_env *env, char *err,
                          size_t errlen)
{
    return s_init_common(ctx, env, err, errlen);
}

static int s_http_init(void *ctx, const nt_plugin_env *env, char *err,
                       size_t errlen)
{
    nt_out_web *w = ctx;
    w->is_http = 1;
    w->batch = 1;
    if (nt_template_check(w->tmpl, err, errlen) < 0)
        return -EINVAL;
    if (!strstr(w->envelope, "{{events}}")) {
        snprintf(err, errlen, "envelope must contain {{events}}");
        return -EINVAL;
    }
    return s_init_common(w, env, err, errlen);
}

static void s_send_next(nt_out_web *w);

static void s_on_resp(int rc, const aws_http_response *resp, void *data)
{
    nt_out_web *w = data;
    nt_batch *b = w->b;
    w->req = NULL;
    int r = nt_http_classify(rc, resp);
    if (r != NT_ITEM_OK) {
        if (rc < 0)
            snprintf(b->err, sizeof(b->err), "%s: %s", w->url,
                     aws_http_strerror(rc));
        else
            snprintf(b->err, sizeof(b->err), "%s: HTTP %ld %.120s", w->url,
                     resp->status, resp->body ? resp->body : "");
        int64_t ra = nt_http_retry_after(resp, (int64_t)time(NULL));
        if (ra > b->retry_after_ms)
            b->retry_after_ms = ra;
    }
    if (w->batch) {
        for (size_t i = 0; i < b->n; i++)
            b->result[i] = (uint8_t)r;
    } else {
        b->result[w->next] = (uint8_t)r;
        if (r != NT_ITEM_RETRY && ++w->next < b->n) {
            s_send_next(w);
            return;
        }
    }
    w->b = NULL;
    nt_batch_done(b);
}

static void s_body(nt_out_web *w, aws_buf *body)
{
    nt_batch *b = w->b;
    if (w->is_http) {
        const char *ev = strstr(w->envelope, "{{events}}");
        aws_buf_append(body, w->envelope, (size_t)(ev - w->envelope));
        for (size_t i = 0; i < b->n; i++) {
            if (i)
                aws_buf_putc(body, ',');
            nt_template_render(w->tmpl, b->alerts[i], body);
        }
        aws_buf_puts(body, ev + strlen("{{events}}"));
    } else if (w->batch) {
        aws_buf_putc(body, '[');
        for (size_t i = 0; i < b->n; i++) {
            if (i)
                aws_buf_putc(body, ',');
            aws_buf_append(body, b->alerts[i]->json.p, b->alerts[i]->json.n);
        }
        aws_buf_putc(body, ']');
    } else {
        const nt_alert *a = b->alerts[w->next];
        aws_buf_append(body, a->json.p, a->json.n);
    }
}

static void s_send_next(nt_out_web *w)
{
    aws_buf body;
    aws_buf_init(&body);
    s_body(w, &body);
    aws_http_request rq = {
        .method = w->method,
        .url = w->url,
        .headers = w->hs.h,
        .n_headers = w->hs.n,
        .body = body.data ? body.data : "",
        .body_len = body.len,
        .timeout_ms = (long)w->timeout_ms,
        .max_response = 64 * 1024,
    };
    int rc = aws_http_send(w->http, &rq, s_on_resp, w, &w->req);
    aws_buf_fini(&body);
    if (rc < 0) /* deliver the failure from the same path as a response */
        s_on_resp(rc, NULL, w);
}

static int s_flush(void *ctx, nt_batch *b)
{
    nt_out_web *w = ctx;
    w->b = b;
    w->next = 0;
    s_send_next(w);
    return 0;
}

static int s_reopen(void *ctx)
{
    nt_out_web *w = ctx;
    char err[256];
    return s_load_token(w, err, sizeof(err));
}

static void s_exit(void *ctx, void (*done)(void *), void *arg)
{
    nt_out_web *w = ctx;
    w->b = NULL;
    aws_http_free(w->http); /* drops the request in flight */
    w->http = NULL;
    nt_http_headers_fini(&w->hs);
    free(w->tok);
    w->tok = NULL;
    done(arg);
}

const nt_plugin nt_plugin_webhook = {
    .name = "webhook",
    .desc = "POST Falco's alert JSON (Falcosidekick-compatible)",
    .config_map = s_webhook_map,
    .ctx_size = sizeof(nt_out_web),
    .default_batch_size = 1,
    .default_flush_ms = 100,
    .init = s_webhook_init,
    .flush = s_flush,
    .reopen = s_reopen,
    .exit = s_exit,
};

const nt_plugin nt_plugin_http = {
    .name = "http",
    .desc = "generic JSON events endpoint with a body template",
    .config_map = s_http_map,
    .ctx_size = sizeof(nt_out_web),
    .default_batch_size = 50,
    .default_flush_ms = 1000,
    .init = s_http_init,
    .flush = s_flush,
    .reopen = s_reopen,
    .exit = s_exit,
};
