/*
 * fuzz_http_request.c - fuzz target for the HTTP server (common/tg_http.c):
 * the input is the byte stream a client sends on one connection.
 *
 * DESIGN
 * tg_http's parser state lives in its connections and is only reachable
 * through a socket, so the target runs a real tg_http server on an
 * ephemeral 127.0.0.1 port inside the fuzzer process, created once.  Per
 * input a libuv client on the same loop connects, writes the whole input,
 * half-closes (shutdown) once the server is quiet and reads until the
 * server closes; the loop runs
 * until the client is closed, the server has no connection left and no
 * deferred response is outstanding, or a deadline passes.  Small limits
 * (8 KiB of headers, 16 headers, 32 KiB of body) let inputs of fuzzing
 * size reach every limit.
 *
 * The handler exercises the request accessors and the response builder,
 * and answers in three ways chosen by the path: synchronously, with
 * Connection: close ("/c..."), or deferred to the next loop iteration
 * ("/d...", through a uv_idle flusher).
 *
 * Invariants checked with abort(): request fields are non-NULL and
 * NUL-terminated where documented; whatever the server sends back starts
 * with "HTTP/1.1 "; every input finishes before the deadline; no request
 * is handed to the handler after one whose response the handler marked
 * close-after, and req->http_minor is 0 or 1 as tg_http.h says (the last
 * two were findings of this target, fixed; their inputs are now seeds).
 * Owner: fuzzing (tests/fuzz/http/).  Linked with libFuzzer (-Dfuzz=true)
 * or with tests/fuzz/fuzz_replay.c.  Loopback only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "tg_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_DEFER_MAX 64
#define FZ_DEADLINE_MS 3000

typedef struct fz_http {
    uv_loop_t loop;
    tg_http_server *srv;
    struct sockaddr_in addr;
    uv_idle_t flusher;              /* sends deferred responses */
    tg_http_resp *deferred[FZ_DEFER_MAX];
    size_t ndeferred;
    size_t requests;                /* handler calls (statistics) */
    bool strict;                    /* check the two fixed findings (always) */
    bool closed;                    /* this input's connection was told to close */
} fz_http;

typedef struct fz_client {
    fz_http *h;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_shutdown_t shutdown;
    uv_timer_t deadline;
    uv_idle_t settle;               /* delays the half-close, see s_on_settle */
    unsigned quiet;                 /* iterations without deferred responses */
    uv_buf_t out;
    int open_handles;
    bool closing;
    bool timed_out;
    char head[9];                   /* first bytes received */
    size_t received;
    char rbuf[65536];
} fz_client;

/* ---- server side ---------------------------------------------------- */

static void s_flush(uv_idle_t *idle);

static void s_check_req(const tg_http_req *req, bool strict)
{
    if (!req->method || !req->path || !req->query || !req->body || !req->remote)
        abort();
    if (req->body[req->body_len] != '\0')
        abort();
    if (req->nheaders && !req->headers)
        abort();
    for (size_t i = 0; i < req->nheaders; i++)
        if (!req->headers[i].name || !req->headers[i].value)
            abort();
    if (strict && req->http_minor != 0 && req->http_minor != 1) {
        /* tg_http.h: "0 or 1"; see crashers/README.md */
        fprintf(stderr, "http_minor %d\n", req->http_minor);
        abort();
    }
}

static void s_fill_resp(const tg_http_req *req, tg_http_resp *resp)
{
    const char *ct = tg_http_req_header(req, "content-type");
    bool auth = tg_http_check_bearer(req, "fuzz-token");
    tg_http_resp_status(resp, auth ? 200 : (int)(req->body_len % 600));
    for (size_t i = 0; i < req->nheaders && i < 4; i++)
        (void)tg_http_resp_header(resp, req->headers[i].name, req->headers[i].value);
    (void)tg_http_resp_header(resp, "X-Query", req->query);
    (void)tg_http_resp_printf(resp, "%s %s %s\n", req->method, req->path,
                              ct ? ct : "-");
    (void)tg_http_resp_body(resp, req->body, req->body_len);
    if (req->path[1] == 't')
        tg_http_resp_text(resp, 404, req->path);
}

static void s_handler(const tg_http_req *req, tg_http_resp *resp, void *ud)
{
    fz_http *h = ud;
    h->requests++;
    s_check_req(req, h->strict);
    if (h->strict && h->closed) {
        /* RFC 9112 9.6; see tests/fuzz/http/crashers/README.md */
        fprintf(stderr, "handler ran for %s %s after a close-after response\n",
                req->method, req->path);
        abort();
    }
    s_fill_resp(req, resp);
    if (req->path[0] == '/' && req->path[1] == 'c') {
        tg_http_resp_close_after(resp);
        h->closed = true;
    }
    if (req->path[0] == '/' && req->path[1] == 'd' && h->ndeferred < FZ_DEFER_MAX) {
        tg_http_resp_defer(resp);
        h->deferred[h->ndeferred++] = resp;
        uv_idle_start(&h->flusher, s_flush);
    }
}

static void s_flush(uv_idle_t *idle)
{
    fz_http *h = idle->data;
    size_t n = h->ndeferred;
    h->ndeferred = 0;
    uv_idle_stop(idle);
    /* A send may dispatch a pipelined request that defers again. */
    tg_http_resp *batch[FZ_DEFER_MAX];
    memcpy(batch, h->deferred, n * sizeof *batch);
    for (size_t i = 0; i < n; i++) {
        (void)tg_http_resp_orphaned(batch[i]);
        tg_http_resp_send(batch[i]);
    }
}

static fz_http *s_state(void)
{
    static fz_http *h;      /* process-wide server, built once */
    if (h)
        return h;
    h = calloc(1, sizeof *h);
    if (!h || uv_loop_init(&h->loop) != 0)
        abort();
    uv_idle_init(&h->loop, &h->flusher);
    h->flusher.data = h;
    h->strict = true;
    tg_http_opts o = {
        .max_header_bytes = 8192,
        .max_headers = 16,
        .max_body_bytes = 32768,
        .request_timeout_ms = 1000,
        .idle_timeout_ms = 1000,
        .max_connections = 4,
    };
    char err[256];
    h->srv = tg_http_server_new(&h->loop, "127.0.0.1", 0, &o, s_handler, h,
                                err, sizeof err);
    if (!h->srv) {
        fprintf(stderr, "fuzz_http_request: %s\n", err);
        abort();
    }
    uv_ip4_addr("127.0.0.1", tg_http_server_port(h->srv), &h->addr);
    return h;
}

/* ---- client side ---------------------------------------------------- */

static void s_client_on_close(uv_handle_t *hd)
{
    fz_client *c = hd->data;
    c->open_handles--;
}

static void s_client_close(fz_client *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, s_client_on_close);
    uv_close((uv_handle_t *)&c->deadline, s_client_on_close);
    uv_close((uv_handle_t *)&c->settle, s_client_on_close);
}

static void s_on_alloc(uv_handle_t *hd, size_t sz, uv_buf_t *buf)
{
    fz_client *c = hd->data;
    (void)sz;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void s_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    fz_client *c = st->data;
    if (n < 0) {
        s_client_close(c);
        return;
    }
    for (ssize_t i = 0; i < n && c->received + (size_t)i < sizeof c->head; i++)
        c->head[c->received + (size_t)i] = buf->base[i];
    c->received += (size_t)n;
}

static void s_on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

/*
 * The server drops whatever is still queued behind a deferred response
 * when the client half-closes, so the half-close waits until the server
 * has gone FZ_QUIET loop iterations without a deferred response: the input
 * (all of it is in the server's receive buffer once the write completed)
 * has then been read and, unless it stopped the connection, answered.
 */
#define FZ_QUIET 3
static void s_on_settle(uv_idle_t *idle)
{
    fz_client *c = idle->data;
    c->quiet = c->h->ndeferred ? 0 : c->quiet + 1;
    if (c->quiet < FZ_QUIET)
        return;
    uv_idle_stop(idle);
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, s_on_shutdown) != 0)
        s_client_close(c);
}

static void s_on_write(uv_write_t *req, int status)
{
    fz_client *c = req->data;
    if (status < 0 || c->closing)
        return;
    uv_idle_start(&c->settle, s_on_settle);
}

static void s_on_connect(uv_connect_t *req, int status)
{
    fz_client *c = req->data;
    if (status < 0) {
        fprintf(stderr, "fuzz_http_request: connect: %s\n", uv_strerror(status));
        abort();    /* our own loopback server must accept */
    }
    c->write.data = c;
    if (uv_read_start((uv_stream_t *)&c->tcp, s_on_alloc, s_on_read) != 0 ||
        uv_write(&c->write, (uv_stream_t *)&c->tcp, &c->out, 1, s_on_write) != 0)
        s_client_close(c);
}

static void s_on_deadline(uv_timer_t *t)
{
    fz_client *c = t->data;
    c->timed_out = true;
    s_client_close(c);
}

static void s_client_start(fz_http *h, fz_client *c, const uint8_t *data, size_t size)
{
    c->h = h;
    uv_tcp_init(&h->loop, &c->tcp);
    uv_timer_init(&h->loop, &c->deadline);
    uv_idle_init(&h->loop, &c->settle);
    c->tcp.data = c;
    c->deadline.data = c;
    c->settle.data = c;
    c->connect.data = c;
    c->open_handles = 3;
    c->out = uv_buf_init((char *)data, (unsigned)size);
    uv_timer_start(&c->deadline, s_on_deadline, FZ_DEADLINE_MS, 0);
    if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&h->addr,
                       s_on_connect) != 0)
        abort();
}

static bool s_busy(const fz_http *h, const fz_client *c)
{
    return c->open_handles > 0 || h->ndeferred > 0 ||
           tg_http_server_connections(h->srv) > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_http *h = s_state();
    h->closed = false;
    fz_client *c = calloc(1, sizeof *c);
    if (!c)
        return 0;
    s_client_start(h, c, data, size);
    uint64_t stop = uv_now(&h->loop) + 2 * FZ_DEADLINE_MS;
    while (s_busy(h, c) && uv_now(&h->loop) < stop)
        uv_run(&h->loop, UV_RUN_ONCE);
    if (s_busy(h, c) || c->timed_out) {
        fprintf(stderr, "fuzz_http_request: input not finished in %d ms "
                "(server connections %zu, deferred %zu)\n", FZ_DEADLINE_MS,
                tg_http_server_connections(h->srv), h->ndeferred);
        abort();
    }
    if (c->received && memcmp(c->head, "HTTP/1.1 ",
                              c->received < 9 ? c->received : 9) != 0)
        abort();    /* the server sent something that is not a response */
    free(c);
    return 0;
}
