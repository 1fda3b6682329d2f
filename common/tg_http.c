/*
 * tg_http.c - HTTP/1.1 server on libuv + http_parser (see tg_http.h).
 *
 * Owner: common.
 *
 * DESIGN
 * A connection owns one uv_tcp_t, one uv_timer_t and an http_parser.
 * The request being read is built inside a tg_http_resp (which owns the
 * request's storage), so deferring a response is just handing that object
 * to the handler's owner.  on_message_complete pauses the parser; the read
 * loop (s_feed) then dispatches the request outside the parser callbacks,
 * writes a synchronous response, unpauses and goes on with pipelined
 * bytes.  For a deferred response the unparsed bytes are kept in
 * c->backlog and reading stops until tg_http_resp_send().
 *
 * The one timer does three jobs: the idle timeout between requests, the
 * whole-request deadline once a request has begun (slowloris), and
 * nothing while the handler holds the request.
 *
 * TLS: a connection of a TLS server also owns an SSL object whose two
 * memory BIOs are its only I/O.  s_on_read writes the ciphertext into the
 * read BIO, finishes the handshake, then decrypts everything available
 * (SSL_read until it wants more) into rbuf and hands the plaintext to the
 * same path plain bytes take (s_plain_in).  Writes go through SSL_write,
 * and whatever OpenSSL queued in the write BIO (records, alerts,
 * close_notify) is drained into one uv_write (s_tls_flush).  Decrypting
 * everything at once means no plaintext is ever left inside OpenSSL while
 * reading is stopped: it lands in the backlog like plain bytes would.
 *
 * Lifetime: a connection is freed when both its handles are closed; the
 * server when its listener is closed and no connection is left.  libuv
 * runs pending write callbacks (ECANCELED) before close callbacks, so
 * write callbacks may still touch their connection.
 */
#include "tg_http.h"

#include <errno.h>
#include <http_parser.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg_http_int.h"

typedef struct tg_http_conn tg_http_conn;

struct tg_http_server {
    uv_loop_t *loop;
    uv_tcp_t listen;
    tg_http_opts opts;
    tg_http_handler handler;
    void *ud;
    int port;
    bool closing;
    bool listen_open;
    size_t nconns;
    tg_http_conn *conns;        /* doubly linked */
    SSL_CTX *tls;               /* NULL = plain HTTP */
    uint64_t tls_failures;
};


struct tg_http_conn {
    tg_http_server *srv;
    tg_http_conn *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    int open_handles;
    bool closing;
    bool in_request;            /* bytes of a request seen */
    bool waiting;               /* a deferred response is outstanding */
    bool reading;
    http_parser parser;
    size_t hdr_bytes;
    int err_status;             /* limit hit inside a callback */
    tg_http_resp *cur;          /* request being read */
    tg_http_resp *pending;      /* deferred response outstanding */
    char *backlog;
    size_t backlog_len;
    char remote[64];
    SSL *ssl;                   /* TLS only; owns rbio and wbio */
    BIO *rbio, *wbio;           /* ciphertext in / out */
    bool tls_up;                /* handshake finished */
    char rbuf[16384];
};

typedef struct s_write {
    uv_write_t req;
    tg_http_conn *conn;
    bool close_after;
    char *data;
} s_write;

static void s_conn_close(tg_http_conn *c);
static void s_feed(tg_http_conn *c, const char *data, size_t len);
static void s_start_reading(tg_http_conn *c);
static void s_on_timer(uv_timer_t *t);
static void s_stop_reading(tg_http_conn *c);

/* ---- request objects ---------------------------------------------------- */

static void s_resp_free(tg_http_resp *r)
{
    if (!r)
        return;
    tg_hbuf_fini(&r->url);
    tg_hbuf_fini(&r->hdrs);
    tg_hbuf_fini(&r->body);
    tg_hbuf_fini(&r->rhdrs);
    tg_hbuf_fini(&r->rbody);
    free(r->offs);
    free(r->harr);
    free(r);
}

static tg_http_resp *s_cur(tg_http_conn *c)
{
    if (!c->cur) {
        c->cur = calloc(1, sizeof *c->cur);
        if (c->cur) {
            c->cur->conn = c;
            c->cur->status = 200;
        }
    }
    return c->cur;
}

/* Close the current header pair (a name without value gets ""). */
static int s_end_header(tg_http_resp *r)
{
    int rc = 0;
    if (r->hstate == 1) {
        rc = tg_hbuf_putc(&r->hdrs, '\0');
        r->offs[2 * r->nhdr - 1] = r->hdrs.len;
    }
    if (r->hstate)
        rc |= tg_hbuf_putc(&r->hdrs, '\0');
    r->hstate = 0;
    return rc;
}

/* Turn the header storage into the public arrays; split path/query. */
static int s_finish_request(tg_http_conn *c, tg_http_resp *r)
{
    if (s_end_header(r) != 0 || tg_hbuf_putc(&r->url, '\0') != 0 ||
        tg_hbuf_putc(&r->body, '\0') != 0)
        return -1;
    r->body.len--;
    r->harr = calloc(r->nhdr ? r->nhdr : 1, sizeof *r->harr);
    if (!r->harr)
        return -1;
    for (size_t i = 0; i < r->nhdr; i++) {
        r->harr[i].name = r->hdrs.p + r->offs[2 * i];
        char *v = r->hdrs.p + r->offs[2 * i + 1];
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        r->harr[i].value = v;
    }
    char *u = r->url.p;
    char *p = u;
    if (*p != '/' && *p != '*') {           /* absolute-form */
        char *scheme = strstr(p, "://");
        p = scheme ? strchr(scheme + 3, '/') : NULL;
        if (!p)
            p = u + strlen(u);      /* "" path */
    }
    char *hash = strchr(p, '#');
    if (hash)
        *hash = '\0';
    char *q = strchr(p, '?');
    if (q)
        *q++ = '\0';
    snprintf(r->method, sizeof r->method, "%s",
             http_method_str((enum http_method)c->parser.method));
    r->req.method = r->method;
    r->req.path = *p ? p : "/";
    r->req.query = q ? q : "";
    r->req.headers = r->harr;
    r->req.nheaders = r->nhdr;
    r->req.body = r->body.p;
    r->req.body_len = r->body.len;
    memcpy(r->remote, c->remote, sizeof r->remote);
    r->req.remote = r->remote;
    r->req.http_minor = c->parser.http_minor;
    return 0;
}

/* ---- parser callbacks --------------------------------------------------- */

static int s_fail(tg_http_conn *c, int status)
{
    if (!c->err_status)
        c->err_status = status;
    return -1;
}

static int s_on_begin(http_parser *p)
{
    tg_http_conn *c = p->data;
    c->hdr_bytes = 0;
    if (!s_cur(c))
        return s_fail(c, 500);
    if (!c->in_request) {
        c->in_request = true;
        uv_timer_start(&c->timer, s_on_timer,
                       c->srv->opts.request_timeout_ms, 0);
    }
    return 0;
}

static int s_count_hdr(tg_http_conn *c, size_t n)
{
    c->hdr_bytes += n;
    return c->hdr_bytes > c->srv->opts.max_header_bytes ? -1 : 0;
}

static int s_on_url(http_parser *p, const char *at, size_t n)
{
    tg_http_conn *c = p->data;
    if (s_count_hdr(c, n) != 0)
        return s_fail(c, 414);
    return tg_hbuf_put(&c->cur->url, at, n) ? s_fail(c, 500) : 0;
}

static int s_on_hfield(http_parser *p, const char *at, size_t n)
{
    tg_http_conn *c = p->data;
    tg_http_resp *r = c->cur;
    if (s_count_hdr(c, n + 4) != 0)
        return s_fail(c, 431);
    if (r->hstate != 1) {
        /* a new header begins */
        if (s_end_header(r) != 0)
            return s_fail(c, 500);
        if (r->nhdr >= c->srv->opts.max_headers)
            return s_fail(c, 431);
        size_t *o = realloc(r->offs, (r->nhdr + 1) * 2 * sizeof *o);
        if (!o)
            return s_fail(c, 500);
        r->offs = o;
        o[2 * r->nhdr] = r->hdrs.len;
        o[2 * r->nhdr + 1] = 0;
        r->nhdr++;
        r->hstate = 1;
    }
    return tg_hbuf_put(&r->hdrs, at, n) ? s_fail(c, 500) : 0;
}

static int s_on_hvalue(http_parser *p, const char *at, size_t n)
{
    tg_http_conn *c = p->data;
    tg_http_resp *r = c->cur;
    if (s_count_hdr(c, n) != 0)
        return s_fail(c, 431);
    if (r->hstate != 2) {
        if (r->hstate != 1 || tg_hbuf_putc(&r->hdrs, '\0') != 0)
            return s_fail(c, 400);
        r->offs[2 * r->nhdr - 1] = r->hdrs.len;
        r->hstate = 2;
    }
    return tg_hbuf_put(&r->hdrs, at, n) ? s_fail(c, 500) : 0;
}

static int s_write_raw(tg_http_conn *c, const char *text, size_t len,
                       bool close_after);

static int s_on_headers_complete(http_parser *p)
{
    tg_http_conn *c = p->data;
    tg_http_resp *r = c->cur;
    if (s_end_header(r) != 0)
        return s_fail(c, 500);
    if (p->upgrade || p->method == HTTP_CONNECT)
        return s_fail(c, 501);
    if (p->http_major != 1 || p->http_minor > 1)    /* tg_http_req promises 1.0/1.1 */
        return s_fail(c, 505);
    if ((p->flags & F_CONTENTLENGTH) &&
        p->content_length > c->srv->opts.max_body_bytes)
        return s_fail(c, 413);
    for (size_t i = 0; i < r->nhdr; i++) {
        const char *name = r->hdrs.p + r->offs[2 * i];
        if (!strcasecmp(name, "expect") && r->offs[2 * i + 1] &&
            !strcasecmp(r->hdrs.p + r->offs[2 * i + 1], "100-continue") &&
            p->http_minor >= 1) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            s_write_raw(c, cont, sizeof cont - 1, false);
        }
    }
    return 0;
}

static int s_on_body(http_parser *p, const char *at, size_t n)
{
    tg_http_conn *c = p->data;
    tg_http_resp *r = c->cur;
    if (r->body.len + n > c->srv->opts.max_body_bytes)
        return s_fail(c, 413);
    return tg_hbuf_put(&r->body, at, n) ? s_fail(c, 500) : 0;
}

static int s_on_complete(http_parser *p)
{
    tg_http_conn *c = p->data;
    if (s_finish_request(c, c->cur) != 0)
        return s_fail(c, 500);
    if (!http_should_keep_alive(p))
        c->cur->close_after = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings s_settings = {
    .on_message_begin = s_on_begin,
    .on_url = s_on_url,
    .on_header_field = s_on_hfield,
    .on_header_value = s_on_hvalue,
    .on_headers_complete = s_on_headers_complete,
    .on_body = s_on_body,
    .on_message_complete = s_on_complete,
};

/* ---- writing ------------------------------------------------------------ */

static void s_on_write(uv_write_t *req, int status)
{
    s_write *w = (s_write *)req;
    tg_http_conn *c = w->conn;
    (void)status;
    if (w->close_after || status < 0)
        s_conn_close(c);
    free(w->data);
    free(w);
}

/* Queue d (len bytes) on the socket.  Takes ownership of d (malloc'd). */
static int s_write_out(tg_http_conn *c, char *d, size_t len, bool close_after)
{
    s_write *w = calloc(1, sizeof *w);
    if (!w) {
        free(d);
        s_conn_close(c);
        return -1;
    }
    w->conn = c;
    w->close_after = close_after;
    w->data = d;
    uv_buf_t b = uv_buf_init(d, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, s_on_write) != 0) {
        free(d);
        free(w);
        s_conn_close(c);
        return -1;
    }
    return 0;
}

/* Send what OpenSSL queued in the write BIO (nothing queued: a
 * close_after still closes). */
static int s_tls_flush(tg_http_conn *c, bool close_after)
{
    size_t n = (size_t)BIO_ctrl_pending(c->wbio);
    if (n == 0) {
        if (close_after)
            s_conn_close(c);
        return 0;
    }
    char *d = malloc(n);
    if (!d || BIO_read(c->wbio, d, (int)n) != (int)n) {
        free(d);
        s_conn_close(c);
        return -1;
    }
    return s_write_out(c, d, n, close_after);
}

/* Takes ownership of nothing: text is copied (or encrypted). */
static int s_write_raw(tg_http_conn *c, const char *text, size_t len,
                       bool close_after)
{
    if (c->closing)
        return -1;
    if (c->ssl) {
        if (!c->tls_up || (len && SSL_write(c->ssl, text, (int)len) != (int)len)) {
            s_conn_close(c);
            return -1;
        }
        if (close_after)
            SSL_shutdown(c->ssl);           /* queue close_notify */
        return s_tls_flush(c, close_after);
    }
    char *d = malloc(len ? len : 1);
    if (!d) {
        s_conn_close(c);
        return -1;
    }
    memcpy(d, text, len);
    return s_write_out(c, d, len, close_after);
}

static void s_write_resp(tg_http_conn *c, tg_http_resp *r)
{
    tg_hbuf out = {0};
    int st = r->status >= 100 && r->status <= 999 ? r->status : 500;
    int rc = tg_hbuf_printf(&out, "HTTP/1.1 %d %s\r\n", st,
                            tg_http_status_text(st));
    rc |= tg_hbuf_put(&out, r->rhdrs.p, r->rhdrs.len);
    rc |= tg_hbuf_printf(&out, "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                         r->rbody.len, r->close_after ? "close" : "keep-alive");
    if (!r->req.method || strcmp(r->req.method, "HEAD") != 0)
        rc |= tg_hbuf_put(&out, r->rbody.p, r->rbody.len);
    if (rc == 0)
        s_write_raw(c, out.p, out.len, r->close_after);
    else
        s_conn_close(c);
    tg_hbuf_fini(&out);
}

static void s_error_resp(tg_http_conn *c, int status)
{
    char buf[256];
    const char *t = tg_http_status_text(status);
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                     status, t, strlen(t) + 1, t);
    s_stop_reading(c);
    uv_timer_stop(&c->timer);
    s_write_raw(c, buf, (size_t)n, true);
}

/* ---- connection --------------------------------------------------------- */

static void s_tls_count(tg_http_conn *c, const char *why)
{
    tg_http_server *s = c->srv;
    s->tls_failures++;
    if (s->opts.on_tls_failure)
        s->opts.on_tls_failure(c->remote, why, s->ud);
}

static void s_on_timer(uv_timer_t *t)
{
    tg_http_conn *c = t->data;
    if (c->ssl && !c->tls_up) {             /* handshake too slow */
        s_tls_count(c, "handshake timeout");
        s_conn_close(c);
    } else if (c->in_request && !c->waiting)
        s_error_resp(c, 408);
    else if (!c->waiting)
        s_conn_close(c);
}

static void s_arm_idle(tg_http_conn *c)
{
    uv_timer_start(&c->timer, s_on_timer, c->srv->opts.idle_timeout_ms, 0);
}

/* Run the handler on the completed request c->cur. */
/* Run the handler for the complete request.  Returns true when the
 * connection closes after this (synchronous) response: the request asked
 * for it, or the handler called tg_http_resp_close_after(). */
static bool s_dispatch(tg_http_conn *c)
{
    tg_http_resp *r = c->cur;
    c->cur = NULL;
    c->in_request = false;
    uv_timer_stop(&c->timer);
    r->in_handler = true;
    c->srv->handler(&r->req, r, c->srv->ud);
    r->in_handler = false;
    if (r->deferred) {
        c->waiting = true;
        c->pending = r;
        return false;
    }
    bool close_after = r->close_after;
    s_write_resp(c, r);
    s_resp_free(r);
    return close_after;
}

static void s_stop_reading(tg_http_conn *c)
{
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

/* Append to the backlog; stop reading once it holds a full request's
 * worth (the client must wait for its answer). */
static void s_keep_backlog(tg_http_conn *c, const char *data, size_t len)
{
    if (!len)
        return;
    char *b = realloc(c->backlog, c->backlog_len + len);
    if (!b) {
        s_conn_close(c);
        return;
    }
    memcpy(b + c->backlog_len, data, len);
    c->backlog = b;
    c->backlog_len += len;
    const tg_http_opts *o = &c->srv->opts;
    if (c->backlog_len > o->max_header_bytes + o->max_body_bytes)
        s_stop_reading(c);
}

static void s_feed(tg_http_conn *c, const char *data, size_t len)
{
    size_t off = 0;
    while (!c->closing && !c->waiting && off < len) {
        size_t n = http_parser_execute(&c->parser, &s_settings, data + off,
                                       len - off);
        off += n;
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            /* read after the handler: it may ask to close */
            bool close_after = s_dispatch(c);
            if (close_after) {
                s_stop_reading(c);
                return;
            }
            continue;
        }
        if (e != HPE_OK) {
            int st = c->err_status ? c->err_status
                     : e == HPE_HEADER_OVERFLOW ? 431 : 400;
            s_error_resp(c, st);
            return;
        }
        if (n == 0)
            break;
    }
    if (c->waiting) {
        /* keep reading (to notice a disconnect) into the backlog */
        s_keep_backlog(c, data + off, len - off);
    } else if (!c->closing && !c->in_request) {
        s_arm_idle(c);
    }
}

static void s_on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
    tg_http_conn *c = h->data;
    (void)sz;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

/* Plaintext from the client (decrypted when TLS). */
static void s_plain_in(tg_http_conn *c, const char *data, size_t n)
{
    if (c->waiting)
        s_keep_backlog(c, data, n);
    else
        s_feed(c, data, n);
}

/* A fatal TLS error: alert (if OpenSSL queued one), close, count it when
 * it happened during the handshake. */
static void s_tls_fail(tg_http_conn *c)
{
    if (!c->tls_up)
        s_tls_count(c, "handshake failed");
    ERR_clear_error();
    s_stop_reading(c);
    uv_timer_stop(&c->timer);
    s_tls_flush(c, true);
}

/* Ciphertext in: finish the handshake, then decrypt all there is. */
static void s_tls_in(tg_http_conn *c, const char *data, size_t n)
{
    ERR_clear_error();
    if (BIO_write(c->rbio, data, (int)n) != (int)n) {
        s_conn_close(c);
        return;
    }
    if (!c->tls_up) {
        int rc = SSL_do_handshake(c->ssl);
        if (rc != 1) {
            if (SSL_get_error(c->ssl, rc) == SSL_ERROR_WANT_READ)
                s_tls_flush(c, false);
            else
                s_tls_fail(c);
            return;
        }
        c->tls_up = true;
        s_arm_idle(c);              /* the handshake deadline ends */
    }
    /* stop where plain reading would stop: after a response that closes
     * or an error response (a deferred response keeps the backlog) */
    while (!c->closing && (c->reading || c->waiting)) {
        int r = SSL_read(c->ssl, c->rbuf, (int)sizeof c->rbuf);
        if (r > 0) {
            s_plain_in(c, c->rbuf, (size_t)r);
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {   /* close_notify: like EOF */
            s_conn_close(c);
            return;
        }
        s_tls_fail(c);
        return;
    }
    if (!c->closing)
        s_tls_flush(c, false);      /* tickets, key updates */
}

static void s_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    tg_http_conn *c = st->data;
    if (n < 0) {
        /* EOF or error: a request in flight is abandoned; a deferred one
         * becomes orphaned */
        s_conn_close(c);
        return;
    }
    if (n > 0 && c->ssl)
        s_tls_in(c, buf->base, (size_t)n);
    else if (n > 0)
        s_plain_in(c, buf->base, (size_t)n);
}

static void s_start_reading(tg_http_conn *c)
{
    if (c->closing || c->reading)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, s_on_alloc, s_on_read) != 0)
        s_conn_close(c);
    else
        c->reading = true;
}

static void s_server_maybe_free(tg_http_server *s)
{
    if (s->closing && !s->listen_open && s->nconns == 0) {
        SSL_CTX_free(s->tls);
        free(s);
    }
}

static void s_conn_on_close(uv_handle_t *h)
{
    tg_http_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    tg_http_server *s = c->srv;
    SSL_free(c->ssl);
    free(c->backlog);
    free(c);
    s->nconns--;
    s_server_maybe_free(s);
}

static void s_conn_close(tg_http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    tg_http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s_resp_free(c->cur);
    c->cur = NULL;
    if (c->pending)
        c->pending->conn = NULL;    /* orphaned: its send just frees it */
    c->pending = NULL;
    uv_close((uv_handle_t *)&c->tcp, s_conn_on_close);
    uv_close((uv_handle_t *)&c->timer, s_conn_on_close);
}

static void s_on_connection(uv_stream_t *ls, int status)
{
    tg_http_server *s = ls->data;
    if (status < 0 || s->closing)
        return;
    tg_http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;     /* the connection waits in the backlog */
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    s->nconns++;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 ||
        s->nconns > s->opts.max_connections) {
        s_conn_close(c);
        return;
    }
    struct sockaddr_storage sa;
    int salen = sizeof sa;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &salen) == 0) {
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
            uv_ip6_name(a, ip, sizeof ip);
            port = ntohs(a->sin6_port);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&sa;
            uv_ip4_name(a, ip, sizeof ip);
            port = ntohs(a->sin_port);
        }
        snprintf(c->remote, sizeof c->remote, "%s:%d", ip, port);
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (s->tls) {
        c->ssl = SSL_new(s->tls);
        c->rbio = BIO_new(BIO_s_mem());
        c->wbio = BIO_new(BIO_s_mem());
        if (!c->ssl || !c->rbio || !c->wbio) {
            BIO_free(c->rbio);
            BIO_free(c->wbio);
            c->rbio = c->wbio = NULL;
            s_conn_close(c);
            return;
        }
        SSL_set_bio(c->ssl, c->rbio, c->wbio);   /* ssl owns both */
        SSL_set_accept_state(c->ssl);
        /* the handshake gets the whole-request deadline */
        uv_timer_start(&c->timer, s_on_timer, s->opts.request_timeout_ms, 0);
    } else {
        s_arm_idle(c);
    }
    s_start_reading(c);
}

/* ---- TLS context -------------------------------------------------------- */

static void s_ssl_err(char *err, size_t errlen, const char *what,
                      const char *file)
{
    char why[256] = "unknown error";
    unsigned long e = ERR_peek_error();     /* the root cause */
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    snprintf(err, errlen, "tls: %s %s: %s", what, file ? file : "", why);
}

/* TLS 1.2+ server context from PEM files; NULL with detail in err. */
static SSL_CTX *s_tls_ctx(const char *cert, const char *key, char *err,
                          size_t errlen)
{
    if (!key)
        key = cert;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        s_ssl_err(err, errlen, "context", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        s_ssl_err(err, errlen, "certificate", cert);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        s_ssl_err(err, errlen, "private key", key);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        s_ssl_err(err, errlen, "key does not match certificate", key);
    } else {
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}


/* ---- server ------------------------------------------------------------- */

tg_http_server *tg_http_server_new(uv_loop_t *loop, const char *addr,
                                   int port, const tg_http_opts *opts,
                                   tg_http_handler handler, void *ud,
                                   char *err, size_t errlen)
{
    if (!addr)
        addr = "127.0.0.1";
    struct sockaddr_storage sa;
    if (port < 0 || port > 65535 ||
        (uv_ip4_addr(addr, port, (struct sockaddr_in *)&sa) != 0 &&
         uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&sa) != 0)) {
        snprintf(err, errlen, "bad listen address %s port %d", addr, port);
        return NULL;
    }
    tg_http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (opts)
        s->opts = *opts;
    if (!s->opts.max_header_bytes)
        s->opts.max_header_bytes = 16 * 1024;
    if (!s->opts.max_headers)
        s->opts.max_headers = 64;
    if (!s->opts.max_body_bytes)
        s->opts.max_body_bytes = 1024 * 1024;
    if (!s->opts.request_timeout_ms)
        s->opts.request_timeout_ms = 10000;
    if (!s->opts.idle_timeout_ms)
        s->opts.idle_timeout_ms = 30000;
    if (!s->opts.max_connections)
        s->opts.max_connections = 256;
    if (s->opts.tls_cert_file) {
        s->tls = s_tls_ctx(s->opts.tls_cert_file, s->opts.tls_key_file, err,
                           errlen);
        if (!s->tls) {
            free(s);
            return NULL;
        }
    } else if (s->opts.tls_key_file) {
        snprintf(err, errlen, "tls: a key file needs a certificate file");
        free(s);
        return NULL;
    }
    s->opts.tls_cert_file = s->opts.tls_key_file = NULL;   /* borrowed */
    s->loop = loop;
    s->handler = handler;
    s->ud = ud;
    uv_tcp_init(loop, &s->listen);
    s->listen.data = s;
    s->listen_open = true;
    int rc = uv_tcp_bind(&s->listen, (struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listen, 128, s_on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "listen %s:%d: %s", addr, port, uv_strerror(rc));
        tg_http_server_close(s);
        return NULL;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->listen, (struct sockaddr *)&bound, &blen);
    s->port = bound.ss_family == AF_INET6
                  ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                  : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    return s;
}

int tg_http_server_port(const tg_http_server *s)
{
    return s->port;
}

size_t tg_http_server_connections(const tg_http_server *s)
{
    return s->nconns;
}

uint64_t tg_http_server_tls_failures(const tg_http_server *s)
{
    return s->tls_failures;
}

bool tg_http_server_tls(const tg_http_server *s)
{
    return s->tls != NULL;
}

static void s_listen_on_close(uv_handle_t *h)
{
    tg_http_server *s = h->data;
    s->listen_open = false;
    s_server_maybe_free(s);
}

void tg_http_server_close(tg_http_server *s)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    while (s->conns)
        s_conn_close(s->conns);
    uv_close((uv_handle_t *)&s->listen, s_listen_on_close);
}

/* ---- response ----------------------------------------------------------- */

void tg_http_resp_defer(tg_http_resp *resp)
{
    if (resp->in_handler)
        resp->deferred = true;
}

bool tg_http_resp_orphaned(const tg_http_resp *resp)
{
    return resp->conn == NULL;
}

void tg_http_resp_send(tg_http_resp *resp)
{
    if (resp->in_handler) {         /* answered before the handler returned */
        resp->deferred = false;
        return;
    }
    tg_http_conn *c = resp->conn;
    if (!c) {
        s_resp_free(resp);
        return;
    }
    c->waiting = false;
    c->pending = NULL;
    s_write_resp(c, resp);
    bool close_after = resp->close_after;
    s_resp_free(resp);
    if (close_after || c->closing)
        return;
    char *bl = c->backlog;
    size_t bl_len = c->backlog_len;
    c->backlog = NULL;
    c->backlog_len = 0;
    s_feed(c, bl ? bl : "", bl_len);
    free(bl);
    if (!c->waiting && !c->closing)
        s_start_reading(c);
}
