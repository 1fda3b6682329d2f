/*
 * test_tg_http.c - tg_http server: requests and keep-alive, pipelining,
 * bodies (length and chunked), limits (413/414/431), garbage (fuzz-ish),
 * slowloris and idle timeouts, deferred responses (and clients that leave
 * meanwhile), connection cap, bearer tokens, HEAD.  The client is a raw
 * loopback socket; the loop is pumped while it waits.  TLS: a self-signed
 * certificate made with the OpenSSL API, an OpenSSL client on a
 * non-blocking socket (verifying the certificate against it), keep-alive,
 * pipelining, limits, deferred responses, a client that sends garbage
 * instead of a ClientHello, and a TLS 1.1-only client.  Owner: common.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tg_http.h"
#include "tg_test.h"
#include "tgt_loop.h"

typedef struct s_ctx {
    int calls;
    char method[16];
    char path[256];
    char query[256];
    char body[4096];
    size_t body_len;
    char ua[128];
    size_t nheaders;
    bool defer;
    tg_http_resp *pending;
    bool auth_ok;
    int tls_cb;             /* on_tls_failure calls */
    char tls_why[32];
} s_ctx;

static void s_handler(const tg_http_req *req, tg_http_resp *resp, void *ud)
{
    s_ctx *c = ud;
    c->calls++;
    snprintf(c->method, sizeof c->method, "%s", req->method);
    snprintf(c->path, sizeof c->path, "%s", req->path);
    snprintf(c->query, sizeof c->query, "%s", req->query);
    c->body_len = req->body_len < sizeof c->body ? req->body_len : 0;
    memcpy(c->body, req->body, c->body_len);
    const char *ua = tg_http_req_header(req, "user-agent");
    snprintf(c->ua, sizeof c->ua, "%s", ua ? ua : "");
    c->nheaders = req->nheaders;
    c->auth_ok = tg_http_check_bearer(req, "s3cret");
    if (c->defer) {
        tg_http_resp_defer(resp);
        c->pending = resp;
        return;
    }
    tg_http_resp_status(resp, 200);
    ASSERT_EQ(tg_http_resp_header(resp, "X-Test", "yes"), 0);
    ASSERT_EQ(tg_http_resp_header(resp, "Bad\r\nName", "x"), -EINVAL);
    ASSERT_EQ(tg_http_resp_header(resp, "content-length", "1"), -EINVAL);
    tg_http_resp_printf(resp, "%s %s n=%d", req->method, req->path, c->calls);
}

static uv_loop_t s_loop;
static tgt_resp *s_r;

static tg_http_server *s_server(s_ctx *c, const tg_http_opts *o)
{
    char err[256];
    tg_http_server *s = tg_http_server_new(&s_loop, "127.0.0.1", 0, o,
                                           s_handler, c, err, sizeof err);
    if (!s)
        TG_FAIL_("server: %s", err);
    ASSERT(tg_http_server_port(s) > 0);
    return s;
}

static void s_xfer(int fd, const char *req)
{
    if (!tgt_xfer(&s_loop, fd, req, strlen(req), s_r, 5000))
        TG_FAIL_("no response to %.40s", req);
}

static void test_basic_keepalive(void)
{
    s_ctx c = {0};
    tg_http_server *s = s_server(&c, NULL);
    int fd = tgt_connect(tg_http_server_port(s));
    s_xfer(fd, "GET /metrics?x=1&y=2 HTTP/1.1\r\nHost: a\r\n"
               "User-Agent:  curl/8  \r\nEmpty:\r\n\r\n");
    ASSERT_EQ(s_r->status, 200);
    ASSERT(!s_r->eof);
    ASSERT_MEM_EQ(s_r->body, s_r->body_len, "GET /metrics n=1", 16);
    ASSERT(strstr(s_r->buf, "X-Test: yes\r\n") != NULL);
    ASSERT(strstr(s_r->buf, "Connection: keep-alive\r\n") != NULL);
    ASSERT_STR_EQ(c.path, "/metrics");
    ASSERT_STR_EQ(c.query, "x=1&y=2");
    ASSERT_STR_EQ(c.ua, "curl/8");
    ASSERT_EQ(c.nheaders, 3);
    /* same connection again, with a body */
    s_xfer(fd, "POST /sns HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    ASSERT_EQ(s_r->status, 200);
    ASSERT_MEM_EQ(c.body, c.body_len, "hello", 5);
    ASSERT_STR_EQ(c.method, "POST");
    /* chunked body */
    s_xfer(fd, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    ASSERT_MEM_EQ(c.body, c.body_len, "abcde", 5);
    /* Expect: 100-continue gets the interim response first */
    const char *exp = "POST /e HTTP/1.1\r\nExpect: 100-continue\r\n"
                      "Content-Length: 3\r\n\r\n";
    ASSERT(tgt_xfer(&s_loop, fd, exp, strlen(exp), s_r, 200) == false);
    ASSERT_EQ(s_r->interim, 1);
    ASSERT_EQ(s_r->len, 0);
    s_xfer(fd, "xyz");
    ASSERT_EQ(s_r->status, 200);
    ASSERT_MEM_EQ(c.body, c.body_len, "xyz", 3);
    /* two pipelined requests in one write: both answered, in order */
    const char *two = "GET /one HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n"
                      "Connection: close\r\n\r\n";
    ASSERT(tgt_xfer(&s_loop, fd, two, strlen(two), s_r, 5000));
    ASSERT(tgt_wait_eof(&s_loop, fd, 5000) || s_r->eof);
    ASSERT_EQ(c.calls, 6);
    ASSERT_STR_EQ(c.path, "/two");
    close(fd);
    /* HTTP/1.0 closes by default; HEAD has no body */
    fd = tgt_connect(tg_http_server_port(s));
    s_xfer(fd, "HEAD /h HTTP/1.0\r\n\r\n");
    ASSERT_EQ(s_r->status, 200);
    ASSERT(strstr(s_r->buf, "Connection: close") != NULL);
    ASSERT(tgt_wait_eof(&s_loop, fd, 5000));
    ASSERT_EQ(s_r->len - (size_t)(s_r->body - s_r->buf), 0);
    close(fd);
    tg_http_server_close(s);
    tg_http_server_close(NULL);
}

static void s_expect_status(tg_http_server *s, const char *req, size_t len,
                            int status)
{
    int fd = tgt_connect(tg_http_server_port(s));
    ASSERT(tgt_xfer(&s_loop, fd, req, len, s_r, 5000));
    if (s_r->status != status)
        TG_FAIL_("status %d, want %d for %.60s", s_r->status, status, req);
    ASSERT(tgt_wait_eof(&s_loop, fd, 5000));
    close(fd);
}

static void test_limits(void)
{
    s_ctx c = {0};
    tg_http_opts o = {.max_header_bytes = 2048, .max_body_bytes = 100,
                      .max_headers = 8};
    tg_http_server *s = s_server(&c, &o);
    const char *r413 = "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
    s_expect_status(s, r413, strlen(r413), 413);
    const char *r413c = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "80\r\n0123456789012345678901234567890123456789"
                        "0123456789012345678901234567890123456789"
                        "0123456789012345678901234567890123456789"
                        "01234567\r\n0\r\n\r\n";
    s_expect_status(s, r413c, strlen(r413c), 413);
    char *big = malloc(200000);
    int n = snprintf(big, 200000, "GET / HTTP/1.1\r\nX-Big: ");
    memset(big + n, 'a', 100000);
    n += 100000;
    n += snprintf(big + n, 200000 - (size_t)n, "\r\n\r\n");
    s_expect_status(s, big, (size_t)n, 431);
    n = snprintf(big, 200000, "GET /");
    memset(big + n, 'u', 5000);
    n += 5000;
    n += snprintf(big + n, 200000 - (size_t)n, " HTTP/1.1\r\n\r\n");
    s_expect_status(s, big, (size_t)n, 414);
    n = snprintf(big, 200000, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 9; i++)
        n += snprintf(big + n, 200000 - (size_t)n, "H%d: v\r\n", i);
    n += snprintf(big + n, 200000 - (size_t)n, "\r\n");
    s_expect_status(s, big, (size_t)n, 431);
    free(big);
    s_expect_status(s, "NOT HTTP AT ALL\r\n\r\n", 19, 400);
    s_expect_status(s, "CONNECT a:1 HTTP/1.1\r\n\r\n", 24, 501);
    ASSERT_EQ(c.calls, 0);
    tg_http_server_close(s);
}

static void test_fuzz_garbage(void)
{
    s_ctx c = {0};
    tg_http_opts o = {.request_timeout_ms = 300, .idle_timeout_ms = 300};
    tg_http_server *s = s_server(&c, &o);
    unsigned seed = 4242;
    static const char *const seeds[] = {
        "GET / HTTP/1.1\r\n", "Content-Length: ", "Transfer-Encoding: chunked\r\n",
        "\r\n", "POST /x HTTP/1.1\r\n", "ffffffffffff\r\n", ": :\r\n", "\0",
        "HTTP/1.1 200 OK\r\n", "Content-Length: -1\r\n", "GET  HTTP/9.9\r\n",
    };
    char buf[2048];
    for (int iter = 0; iter < 300; iter++) {
        size_t len = 0;
        int parts = 1 + rand_r(&seed) % 8;
        for (int p = 0; p < parts && len < sizeof buf - 64; p++) {
            if (rand_r(&seed) % 2) {
                const char *sd = seeds[rand_r(&seed) % 11];
                size_t l = strlen(sd) ? strlen(sd) : 1;
                memcpy(buf + len, sd, l);
                len += l;
            } else {
                int k = rand_r(&seed) % 40;
                for (int i = 0; i < k; i++)
                    buf[len++] = (char)rand_r(&seed);
            }
        }
        int fd = tgt_connect(tg_http_server_port(s));
        /* any outcome is fine except a hang or a crash: a response, a
         * close, or (for an incomplete request) the 300 ms timeout */
        ASSERT(tgt_xfer(&s_loop, fd, buf, len, s_r, 3000));
        close(fd);
    }
    /* still serving */
    int fd = tgt_connect(tg_http_server_port(s));
    int before = c.calls;
    s_xfer(fd, "GET /alive HTTP/1.1\r\n\r\n");
    ASSERT_EQ(s_r->status, 200);
    ASSERT_EQ(c.calls, before + 1);
    close(fd);
    tg_http_server_close(s);
    uv_run(&s_loop, UV_RUN_NOWAIT);
}

static bool s_no_conns(void *ud)
{
    return tg_http_server_connections(ud) == 0;
}

static void test_timeouts(void)
{
    s_ctx c = {0};
    tg_http_opts o = {.request_timeout_ms = 200, .idle_timeout_ms = 300};
    tg_http_server *s = s_server(&c, &o);
    /* slowloris: a request that never finishes gets 408 and a close */
    int fd = tgt_connect(tg_http_server_port(s));
    uint64_t t0 = tgt_now_ms();
    const char *part = "GET / HTTP/1.1\r\nX-Slow: 1";
    ASSERT(tgt_xfer(&s_loop, fd, part, strlen(part), s_r, 5000));
    ASSERT_EQ(s_r->status, 408);
    ASSERT(tgt_wait_eof(&s_loop, fd, 5000));
    ASSERT(tgt_now_ms() - t0 >= 190);
    close(fd);
    /* idle keep-alive connection is closed without a response */
    fd = tgt_connect(tg_http_server_port(s));
    s_xfer(fd, "GET / HTTP/1.1\r\n\r\n");
    ASSERT_EQ(s_r->status, 200);
    ASSERT_EQ(tg_http_server_connections(s), 1);
    ASSERT(tgt_wait_eof(&s_loop, fd, 5000));
    close(fd);
    uv_run(&s_loop, UV_RUN_NOWAIT);
    ASSERT_EQ(tg_http_server_connections(s), 0);
    /* a client that leaves mid-request: no handler call, no leak */
    fd = tgt_connect(tg_http_server_port(s));
    const char *half = "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nab";
    ASSERT(!tgt_xfer(&s_loop, fd, half, strlen(half), s_r, 50));
    ASSERT_EQ(tg_http_server_connections(s), 1);
    close(fd);
    ASSERT(tgt_run_until(&s_loop, s_no_conns, s, 5000));
    ASSERT_EQ(c.calls, 1);
    tg_http_server_close(s);
}

static bool s_has_pending(void *ud)
{
    return ((s_ctx *)ud)->pending != NULL;
}

static bool s_orphaned(void *ud)
{
    return tg_http_resp_orphaned(((s_ctx *)ud)->pending);
}

static void test_deferred(void)
{
    s_ctx c = {.defer = true};
    tg_http_server *s = s_server(&c, NULL);
    int fd = tgt_connect(tg_http_server_port(s));
    /* two pipelined requests; the second waits for the first's answer */
    const char *two = "POST /sns HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
                      "GET /next HTTP/1.1\r\n\r\n";
    ASSERT_EQ(send(fd, two, strlen(two), 0), (ssize_t)strlen(two));
    ASSERT(tgt_run_until(&s_loop, s_has_pending, &c, 5000));
    ASSERT_EQ(c.calls, 1);
    ASSERT(!tg_http_resp_orphaned(c.pending));
    /* nothing is answered yet */
    ASSERT(!tgt_xfer(&s_loop, fd, "", 0, s_r, 100));
    ASSERT_EQ(c.calls, 1);
    tg_http_resp *r = c.pending;
    c.pending = NULL;
    c.defer = false;
    tg_http_resp_text(r, 202, "stored\n");
    tg_http_resp_send(r);
    ASSERT(tgt_xfer(&s_loop, fd, "", 0, s_r, 5000));
    ASSERT_EQ(s_r->status, 202);
    ASSERT_MEM_EQ(s_r->body, s_r->body_len, "stored\n", 7);
    /* the pipelined request is served after it */
    const char *rest = s_r->body + s_r->body_len;
    if (!strstr(rest, "HTTP/1.1 200"))
        ASSERT(tgt_xfer(&s_loop, fd, "", 0, s_r, 5000));
    ASSERT_EQ(c.calls, 2);
    ASSERT_STR_EQ(c.path, "/next");

    /* the client leaves while the response is deferred */
    c.defer = true;
    const char *one = "GET /gone HTTP/1.1\r\n\r\n";
    ASSERT_EQ(send(fd, one, strlen(one), 0), (ssize_t)strlen(one));
    ASSERT(tgt_run_until(&s_loop, s_has_pending, &c, 5000));
    close(fd);
    ASSERT(tgt_run_until(&s_loop, s_orphaned, &c, 5000));
    tg_http_resp_send(c.pending);        /* frees; no crash */
    c.pending = NULL;

    /* server closed while a response is deferred */
    fd = tgt_connect(tg_http_server_port(s));
    ASSERT_EQ(send(fd, one, strlen(one), 0), (ssize_t)strlen(one));
    ASSERT(tgt_run_until(&s_loop, s_has_pending, &c, 5000));
    tg_http_server_close(s);
    uv_run(&s_loop, UV_RUN_NOWAIT);
    ASSERT(tg_http_resp_orphaned(c.pending));
    tg_http_resp_send(c.pending);
    ASSERT(tgt_wait_eof(&s_loop, fd, 5000));
    close(fd);
}

static void test_conn_cap_and_bearer(void)
{
    s_ctx c = {0};
    tg_http_opts o = {.max_connections = 2};
    tg_http_server *s = s_server(&c, &o);
    int a = tgt_connect(tg_http_server_port(s));
    int b = tgt_connect(tg_http_server_port(s));
    s_xfer(a, "GET / HTTP/1.1\r\n\r\n");
    s_xfer(b, "GET / HTTP/1.1\r\n\r\n");
    int x = tgt_connect(tg_http_server_port(s));
    ASSERT(tgt_wait_eof(&s_loop, x, 5000));
    close(x);
    s_xfer(a, "GET / HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n");
    ASSERT(c.auth_ok);
    s_xfer(a, "GET / HTTP/1.1\r\nAuthorization: Bearer s3cre\r\n\r\n");
    ASSERT(!c.auth_ok);
    s_xfer(a, "GET / HTTP/1.1\r\nAuthorization: Basic s3cret\r\n\r\n");
    ASSERT(!c.auth_ok);
    s_xfer(a, "GET / HTTP/1.1\r\n\r\n");
    ASSERT(!c.auth_ok);
    close(a);
    close(b);
    tg_http_server_close(s);
    char err[256];
    ASSERT(tg_http_server_new(&s_loop, "not-an-ip", 0, NULL, s_handler, &c,
                              err, sizeof err) == NULL);
    ASSERT_STR_EQ(tg_http_status_text(431), "Request Header Fields Too Large");
}


/* ---- TLS ----------------------------------------------------------------- */

static char s_cert[300], s_key[300];

/* A self-signed P-256 certificate for 127.0.0.1 / localhost. */
static void s_make_cert(const char *dir)
{
    snprintf(s_cert, sizeof s_cert, "%s/cert.pem", dir);
    snprintf(s_key, sizeof s_key, "%s/key.pem", dir);
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASSERT(pk && x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
                                              "IP:127.0.0.1,DNS:localhost");
    ASSERT(ext != NULL);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASSERT(X509_sign(x, pk, EVP_sha256()) > 0);
    FILE *f = fopen(s_cert, "w");
    ASSERT(f && PEM_write_X509(f, x) == 1);
    fclose(f);
    f = fopen(s_key, "w");
    ASSERT(f && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

typedef struct s_tls {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} s_tls;

/* Wait for fd (pumping the server's loop) after an SSL call wants it. */
static void s_tls_wait(int fd, int sslerr)
{
    uv_run(&s_loop, UV_RUN_NOWAIT);
    struct pollfd p = {fd, sslerr == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0};
    poll(&p, 1, 2);
}

/* Connect and handshake, verifying the server against s_cert.  max_ver 0
 * = any.  Returns true when the handshake finished. */
static bool s_tls_open(s_tls *t, tg_http_server *s, int max_ver)
{
    t->fd = tgt_connect(tg_http_server_port(s));
    t->ctx = SSL_CTX_new(TLS_client_method());
    ASSERT(t->ctx != NULL);
    if (max_ver) {
        SSL_CTX_set_security_level(t->ctx, 0);
        SSL_CTX_set_cipher_list(t->ctx, "DEFAULT:@SECLEVEL=0");
        SSL_CTX_set_min_proto_version(t->ctx, 0);
        SSL_CTX_set_max_proto_version(t->ctx, max_ver);
    }
    ASSERT_EQ(SSL_CTX_load_verify_locations(t->ctx, s_cert, NULL), 1);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    t->ssl = SSL_new(t->ctx);
    SSL_set_fd(t->ssl, t->fd);
    SSL_set1_host(t->ssl, "localhost");
    uint64_t deadline = tgt_now_ms() + 5000;
    while (tgt_now_ms() < deadline) {
        int rc = SSL_connect(t->ssl);
        if (rc == 1)
            return true;
        int e = SSL_get_error(t->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
        s_tls_wait(t->fd, e);
    }
    ERR_clear_error();
    return false;
}

static void s_tls_close(s_tls *t)
{
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    close(t->fd);
}

/* Like tgt_xfer over TLS: send, then read until one complete response,
 * or EOF (close_notify or TCP), or the timeout. */
static bool s_tls_xfer(s_tls *t, const char *req, size_t len, tgt_resp *r,
                       uint64_t timeout_ms)
{
    uint64_t deadline = tgt_now_ms() + timeout_ms;
    r->len = 0;
    r->eof = false;
    r->status = 0;
    r->interim = 0;
    size_t sent = 0;
    while (sent < len && tgt_now_ms() < deadline) {
        int w = SSL_write(t->ssl, req + sent, (int)(len - sent));
        if (w > 0) {
            sent += (size_t)w;
            continue;
        }
        int e = SSL_get_error(t->ssl, w);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return false;
        s_tls_wait(t->fd, e);
    }
    while (tgt_now_ms() < deadline) {
        int n = SSL_read(t->ssl, r->buf + r->len,
                         (int)(sizeof r->buf - 1 - r->len));
        if (n > 0) {
            r->len += (size_t)n;
            if (tgt_resp_complete(r))
                return true;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            s_tls_wait(t->fd, e);
            continue;
        }
        ERR_clear_error();
        r->eof = true;
        tgt_resp_complete(r);
        return true;
    }
    return false;
}

static tg_http_server *s_tls_server(s_ctx *c, tg_http_opts *o)
{
    o->tls_cert_file = s_cert;
    o->tls_key_file = s_key;
    tg_http_server *s = s_server(c, o);
    ASSERT(tg_http_server_tls(s));
    return s;
}

static void test_tls_requests(void)
{
    s_ctx c = {0};
    tg_http_opts o = {.max_body_bytes = 100};
    tg_http_server *s = s_tls_server(&c, &o);
    s_tls t;
    ASSERT(s_tls_open(&t, s, 0));
    ASSERT(SSL_version(t.ssl) >= TLS1_2_VERSION);
    const char *get = "GET /tls?q=1 HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT(s_tls_xfer(&t, get, strlen(get), s_r, 5000));
    ASSERT_EQ(s_r->status, 200);
    ASSERT_MEM_EQ(s_r->body, s_r->body_len, "GET /tls n=1", 12);
    ASSERT_STR_EQ(c.query, "q=1");
    /* keep-alive: a body on the same connection */
    const char *post = "POST /sns HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    ASSERT(s_tls_xfer(&t, post, strlen(post), s_r, 5000));
    ASSERT_EQ(s_r->status, 200);
    ASSERT_MEM_EQ(c.body, c.body_len, "hello", 5);
    /* three pipelined requests in one record; the last closes */
    const char *three = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"
                        "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n";
    ASSERT(s_tls_xfer(&t, three, strlen(three), s_r, 5000));
    /* read the rest until the server's close */
    size_t have = s_r->len;
    char all[8192];
    memcpy(all, s_r->buf, have);
    while (s_tls_xfer(&t, "", 0, s_r, 5000) && !s_r->eof) {
        ASSERT(have + s_r->len < sizeof all);
        memcpy(all + have, s_r->buf, s_r->len);
        have += s_r->len;
    }
    memcpy(all + have, s_r->buf, s_r->len);
    have += s_r->len;
    all[have] = '\0';
    ASSERT(strstr(all, "GET /a n=3") && strstr(all, "GET /b n=4") &&
           strstr(all, "GET /c n=5"));
    ASSERT(strstr(all, "GET /a n=3") < strstr(all, "GET /c n=5"));
    ASSERT(strstr(all, "Connection: close") != NULL);
    ASSERT_EQ(c.calls, 5);
    /* the server sent close_notify before closing */
    ASSERT(SSL_get_shutdown(t.ssl) & SSL_RECEIVED_SHUTDOWN);
    s_tls_close(&t);
    /* limits hold over TLS: 413 then close */
    ASSERT(s_tls_open(&t, s, 0));
    const char *big = "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
    ASSERT(s_tls_xfer(&t, big, strlen(big), s_r, 5000));
    ASSERT_EQ(s_r->status, 413);
    s_tls_close(&t);
    ASSERT_U64_EQ(tg_http_server_tls_failures(s), 0);
    tg_http_server_close(s);
}

static void s_on_tls_failure(const char *remote, const char *why, void *ud)
{
    s_ctx *c = ud;
    c->tls_cb++;
    snprintf(c->tls_why, sizeof c->tls_why, "%s", why);
    ASSERT(strncmp(remote, "127.0.0.1:", 10) == 0);
}

static void test_tls_bad_clients(void)
{
    s_ctx c = {0};
    tg_http_opts o = {.request_timeout_ms = 300,
                      .on_tls_failure = s_on_tls_failure};
    tg_http_server *s = s_tls_server(&c, &o);
    /* plain HTTP to the TLS port: an alert (never an HTTP answer), close */
    int fd = tgt_connect(tg_http_server_port(s));
    const char *plain = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT(tgt_xfer(&s_loop, fd, plain, strlen(plain), s_r, 5000));
    if (!s_r->eof)
        ASSERT(tgt_wait_eof(&s_loop, fd, 5000));
    ASSERT(s_r->len == 0 || (unsigned char)s_r->buf[0] == 0x15);   /* alert */
    close(fd);
    ASSERT_U64_EQ(tg_http_server_tls_failures(s), 1);
    ASSERT_EQ(c.tls_cb, 1);
    ASSERT_STR_EQ(c.tls_why, "handshake failed");
    /* random bytes */
    fd = tgt_connect(tg_http_server_port(s));
    char junk[512];
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)rand_r(&seed);
    junk[0] = 0x16;                         /* looks like a handshake */
    ASSERT(tgt_xfer(&s_loop, fd, junk, sizeof junk, s_r, 5000));
    ASSERT(s_r->eof || tgt_wait_eof(&s_loop, fd, 5000));
    close(fd);
    ASSERT_U64_EQ(tg_http_server_tls_failures(s), 2);
    /* half a ClientHello, then silence: closed at the handshake deadline */
    fd = tgt_connect(tg_http_server_port(s));
    uint64_t t0 = tgt_now_ms();
    ASSERT(tgt_xfer(&s_loop, fd, "\x16\x03\x01\x02\x00\x01", 6, s_r, 5000));
    ASSERT(s_r->eof || tgt_wait_eof(&s_loop, fd, 5000));
    ASSERT(tgt_now_ms() - t0 >= 290);
    close(fd);
    ASSERT_U64_EQ(tg_http_server_tls_failures(s), 3);
    ASSERT_EQ(c.tls_cb, 3);
    ASSERT_STR_EQ(c.tls_why, "handshake timeout");
    /* a TLS 1.1-only client is refused */
    s_tls t;
    ASSERT(!s_tls_open(&t, s, TLS1_1_VERSION));
    s_tls_close(&t);
    ASSERT(tgt_run_until(&s_loop, s_no_conns, s, 5000));
    ASSERT_U64_EQ(tg_http_server_tls_failures(s), 4);
    /* a good handshake, then bytes that are not TLS records: closed,
     * not counted as a handshake failure, no handler call */
    ASSERT(s_tls_open(&t, s, 0));
    ASSERT(tgt_xfer(&s_loop, t.fd, "GET / HTTP/1.1\r\n\r\n", 18, s_r, 5000));
    ASSERT(s_r->eof || tgt_wait_eof(&s_loop, t.fd, 5000));
    s_tls_close(&t);
    ASSERT_U64_EQ(tg_http_server_tls_failures(s), 4);
    /* slowloris after the handshake: 408 as over plain TCP */
    ASSERT(s_tls_open(&t, s, 0));
    const char *part = "GET / HTTP/1.1\r\nX-Slow: 1";
    ASSERT(s_tls_xfer(&t, part, strlen(part), s_r, 5000));
    ASSERT_EQ(s_r->status, 408);
    s_tls_close(&t);
    /* still serving */
    ASSERT(s_tls_open(&t, s, 0));
    ASSERT(s_tls_xfer(&t, "GET /ok HTTP/1.1\r\n\r\n", 20, s_r, 5000));
    ASSERT_EQ(s_r->status, 200);
    s_tls_close(&t);
    ASSERT_EQ(c.calls, 1);
    tg_http_server_close(s);
}

static void test_tls_deferred(void)
{
    s_ctx c = {.defer = true};
    tg_http_opts o = {0};
    tg_http_server *s = s_tls_server(&c, &o);
    s_tls t;
    ASSERT(s_tls_open(&t, s, 0));
    const char *two = "POST /sns HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
                      "GET /next HTTP/1.1\r\n\r\n";
    /* nothing is answered while the first response is deferred */
    ASSERT(!s_tls_xfer(&t, two, strlen(two), s_r, 200));
    ASSERT(c.pending != NULL);
    ASSERT_EQ(c.calls, 1);
    tg_http_resp *r = c.pending;
    c.pending = NULL;
    c.defer = false;
    tg_http_resp_text(r, 202, "stored\n");
    tg_http_resp_send(r);
    ASSERT(s_tls_xfer(&t, "", 0, s_r, 5000));
    ASSERT_EQ(s_r->status, 202);
    ASSERT_MEM_EQ(s_r->body, s_r->body_len, "stored\n", 7);
    const char *rest = s_r->body + s_r->body_len;
    if (!strstr(rest, "HTTP/1.1 200"))
        ASSERT(s_tls_xfer(&t, "", 0, s_r, 5000));
    ASSERT_EQ(c.calls, 2);
    ASSERT_STR_EQ(c.path, "/next");
    /* the client leaves while a response is deferred */
    c.defer = true;
    const char *one = "GET /gone HTTP/1.1\r\n\r\n";
    ASSERT(!s_tls_xfer(&t, one, strlen(one), s_r, 100));
    ASSERT(c.pending != NULL);
    s_tls_close(&t);
    ASSERT(tgt_run_until(&s_loop, s_orphaned, &c, 5000));
    tg_http_resp_send(c.pending);
    c.pending = NULL;
    ASSERT_U64_EQ(tg_http_server_tls_failures(s), 0);
    tg_http_server_close(s);
}

static void test_tls_config(void)
{
    s_ctx c = {0};
    char err[512];
    tg_http_opts o = {.tls_cert_file = "/nonexistent/cert.pem"};
    ASSERT(tg_http_server_new(&s_loop, "127.0.0.1", 0, &o, s_handler, &c, err,
                              sizeof err) == NULL);
    ASSERT(strstr(err, "/nonexistent/cert.pem") != NULL);
    /* a key that is not the certificate's */
    o.tls_cert_file = s_cert;
    o.tls_key_file = s_cert;
    ASSERT(tg_http_server_new(&s_loop, "127.0.0.1", 0, &o, s_handler, &c, err,
                              sizeof err) == NULL);
    o.tls_cert_file = NULL;
    o.tls_key_file = s_key;
    ASSERT(tg_http_server_new(&s_loop, "127.0.0.1", 0, &o, s_handler, &c, err,
                              sizeof err) == NULL);
    /* plain server: no TLS */
    tg_http_server *s = s_server(&c, NULL);
    ASSERT(!tg_http_server_tls(s));
    ASSERT_U64_EQ(tg_http_server_tls_failures(s), 0);
    tg_http_server_close(s);
}

int main(void)
{
    tg_test_state st = {0};
    s_r = malloc(sizeof *s_r);
    uv_loop_init(&s_loop);
    TG_RUN(&st, test_basic_keepalive);
    TG_RUN(&st, test_limits);
    TG_RUN(&st, test_fuzz_garbage);
    TG_RUN(&st, test_timeouts);
    TG_RUN(&st, test_deferred);
    TG_RUN(&st, test_conn_cap_and_bearer);
    char *dir = tgt_tmpdir("http-tls");
    s_make_cert(dir);
    TG_RUN(&st, test_tls_requests);
    TG_RUN(&st, test_tls_bad_clients);
    TG_RUN(&st, test_tls_deferred);
    TG_RUN(&st, test_tls_config);
    tgt_rm_rf(dir);
    free(dir);
    ASSERT_EQ(tgt_loop_fini(&s_loop), 0);
    free(s_r);
    TG_DONE(&st);
}
