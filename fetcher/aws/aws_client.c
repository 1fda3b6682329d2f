/*
 * aws_client.c - signed requests (see aws_client.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_client.h"

#include "aws_buf.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_HEADERS 32

int aws_http_send_signed(aws_http *h, const aws_http_request *req,
                         const aws_creds *creds, const char *region,
                         const char *service, unsigned sigv4_flags,
                         const char *payload_hash, time_t now, aws_http_cb cb,
                         void *data, aws_http_req **handle)
{
    if (!req || !req->url || !creds || req->n_headers > S_MAX_HEADERS)
        return AWS_HTTP_EINVAL;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL, *scheme = NULL;
    int rc = AWS_HTTP_EINVAL;
    if (curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        goto out;
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    aws_buf hostport;
    aws_buf_init(&hostport);
    aws_buf_puts(&hostport, host);
    if (port && !((!strcmp(scheme, "https") && !strcmp(port, "443")) ||
                  (!strcmp(scheme, "http") && !strcmp(port, "80"))))
        aws_buf_printf(&hostport, ":%s", port);

    aws_sigv4_header sh[S_MAX_HEADERS];
    for (size_t i = 0; i < req->n_headers; i++) {
        sh[i].name = req->headers[i].name;
        sh[i].value = req->headers[i].value;
    }
    const char *method = req->method ? req->method : (req->body ? "POST" : "GET");
    aws_sigv4_params p = {
        .method = method, .host = aws_buf_str(&hostport), .path = path,
        .query = query, .headers = sh, .n_headers = req->n_headers,
        .body = req->body, .body_len = req->body_len,
        .payload_hash = payload_hash, .region = region, .service = service,
        .now = now, .flags = sigv4_flags,
    };
    aws_sigv4_key key = {creds->access_key_id, creds->secret_access_key,
                         creds->session_token};
    aws_sigv4_result res;
    if (aws_sigv4_sign(&p, &key, &res, NULL, 0) != 0) {
        aws_buf_fini(&hostport);
        goto out;
    }
    aws_http_header all[S_MAX_HEADERS + AWS_SIGV4_MAX_OUT + 1];
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++)
        all[n++] = req->headers[i];
    all[n].name = "Host";
    all[n++].value = aws_buf_str(&hostport);
    for (size_t i = 0; i < res.n_out; i++) {
        all[n].name = res.out[i].name;
        all[n++].value = res.out[i].value;
    }
    aws_http_request r2 = *req;
    r2.method = method;
    r2.headers = all;
    r2.n_headers = n;
    rc = aws_http_send(h, &r2, cb, data, handle);
    aws_sigv4_result_fini(&res);
    aws_buf_fini(&hostport);
out:
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* ---- client with a credential chain ------------------------------------- */

struct aws_call {
    aws_client *c;
    aws_call *prev, *next;
    /* deep copy of the request */
    char *method, *url;
    aws_http_header *headers;
    size_t n_headers;
    char *body;
    size_t body_len;
    long timeout_ms;
    size_t max_response;
    char *region, *service, *payload_hash;
    unsigned flags;
    aws_http_cb cb;
    void *data;
    aws_http_req *http_req;
    int waiting_creds;
};

struct aws_client {
    aws_http *http;
    aws_creds_chain *chain;
    aws_call *calls;
};

aws_client *aws_client_new(aws_http *http, aws_creds_chain *chain)
{
    aws_client *c = aws_xcalloc(1, sizeof *c);
    c->http = http;
    c->chain = chain;
    return c;
}

aws_http *aws_client_http(aws_client *c)
{
    return c->http;
}

static void s_call_free(aws_call *k)
{
    aws_client *c = k->c;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    free(k->method);
    free(k->url);
    for (size_t i = 0; i < k->n_headers; i++) {
        free((char *)k->headers[i].name);
        free((char *)k->headers[i].value);
    }
    free(k->headers);
    free(k->body);
    free(k->region);
    free(k->service);
    free(k->payload_hash);
    free(k);
}

static void s_on_creds(int rc, const aws_creds *cr, void *data);

void aws_call_cancel(aws_call *k)
{
    if (!k)
        return;
    if (k->http_req)
        aws_http_cancel(k->http_req);
    if (k->waiting_creds)
        aws_creds_chain_cancel(k->c->chain, s_on_creds, k);
    s_call_free(k);
}

void aws_client_free(aws_client *c)
{
    if (!c)
        return;
    while (c->calls)
        aws_call_cancel(c->calls);
    free(c);
}

static void s_on_http(int rc, const aws_http_response *resp, void *data)
{
    aws_call *k = data;
    k->http_req = NULL;
    aws_http_cb cb = k->cb;
    void *ud = k->data;
    s_call_free(k);
    cb(rc, resp, ud);
}

static int s_dispatch(aws_call *k, const aws_creds *cr)
{
    aws_http_request r = {
        .method = k->method, .url = k->url, .headers = k->headers,
        .n_headers = k->n_headers, .body = k->body, .body_len = k->body_len,
        .timeout_ms = k->timeout_ms, .max_response = k->max_response,
    };
    return aws_http_send_signed(k->c->http, &r, cr, k->region, k->service,
                                k->flags, k->payload_hash, time(NULL), s_on_http,
                                k, &k->http_req);
}

static void s_on_creds(int rc, const aws_creds *cr, void *data)
{
    aws_call *k = data;
    k->waiting_creds = 0;
    if (rc == 0)
        rc = s_dispatch(k, cr);
    if (rc != 0) {
        aws_http_cb cb = k->cb;
        void *ud = k->data;
        s_call_free(k);
        cb(rc, NULL, ud);
    }
}

int aws_client_send(aws_client *c, const aws_http_request *req,
                    const char *region, const char *service,
                    unsigned sigv4_flags, const char *payload_hash,
                    aws_http_cb cb, void *data, aws_call **handle)
{
    if (!c || !req || !req->url || !cb || !region || !service)
        return AWS_HTTP_EINVAL;
    aws_call *k = aws_xcalloc(1, sizeof *k);
    k->c = c;
    k->method = aws_strdup(req->method);
    k->url = aws_strdup(req->url);
    k->headers = aws_xcalloc(req->n_headers ? req->n_headers : 1,
                             sizeof *k->headers);
    for (size_t i = 0; i < req->n_headers; i++) {
        k->headers[i].name = aws_strdup(req->headers[i].name);
        k->headers[i].value = aws_strdup(req->headers[i].value);
    }
    k->n_headers = req->n_headers;
    if (req->body) {
        k->body = aws_xmalloc(req->body_len + 1);
        memcpy(k->body, req->body, req->body_len);
        k->body[req->body_len] = '\0';
        k->body_len = req->body_len;
    }
    k->timeout_ms = req->timeout_ms;
    k->max_response = req->max_response;
    k->region = aws_strdup(region);
    k->service = aws_strdup(service);
    k->payload_hash = aws_strdup(payload_hash);
    k->flags = sigv4_flags;
    k->cb = cb;
    k->data = data;
    k->next = c->calls;
    if (c->calls)
        c->calls->prev = k;
    c->calls = k;
    const aws_creds *cr = aws_creds_chain_current(c->chain);
    int rc;
    if (cr) {
        rc = s_dispatch(k, cr);
    } else {
        k->waiting_creds = 1;
        rc = aws_creds_chain_get(c->chain, s_on_creds, k);
    }
    if (rc != 0) {
        s_call_free(k);
        return rc;
    }
    if (handle)
        *handle = k;
    return 0;
}
