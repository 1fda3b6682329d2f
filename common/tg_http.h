/*
 * tg_http.h - a small HTTP/1.1 server on libuv and http_parser.
 *
 * Owner: common.
 *
 * DESIGN
 * One tg_http_server listens on a TCP address; each connection parses
 * requests with http_parser into a tg_http_req (method, path, query,
 * headers, body, all NUL-terminated copies) and calls the handler once per
 * complete request.  The handler fills a tg_http_resp:
 *   - synchronously: return, and the response is sent;
 *   - asynchronously: call tg_http_resp_defer(resp) before returning; the
 *     request and response then stay valid until tg_http_resp_send(resp)
 *     (e.g. after an fsync).  The connection reads nothing more until then
 *     (requests are answered in order).  If the client goes away meanwhile
 *     the send is a no-op that just frees them.
 *
 * Limits: header bytes (431), body bytes (413), a deadline for a whole
 * request to arrive once its first byte is read (slowloris; 408), an idle
 * timeout for kept-alive connections, and a connection cap (new
 * connections beyond it are closed at once).  Garbage gets a 400 and the
 * connection is closed.  Keep-alive follows HTTP/1.1 rules
 * (Connection: close, HTTP/1.0 without keep-alive).  The response always
 * carries Content-Length; chunked request bodies are accepted.
 *
 * TLS (optional, OpenSSL): with tls_cert_file set, every connection is
 * TLS 1.2 or newer.  OpenSSL never touches the socket: two memory BIOs
 * sit between it and libuv (ciphertext read by uv_read goes into one,
 * what OpenSSL wants sent is drained from the other into uv_write), so
 * nothing blocks and no thread is used.  The handshake must finish within
 * request_timeout_ms; a failed or timed-out handshake closes the
 * connection and is counted (tg_http_server_tls_failures()).  Every limit
 * above applies to the decrypted bytes exactly as over plain TCP.  A
 * response that closes the connection is followed by a close_notify.
 *
 * Single-threaded: every call from the loop thread.
 */
#ifndef TG_HTTP_H
#define TG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct tg_http_server tg_http_server;
typedef struct tg_http_resp tg_http_resp;

typedef struct tg_http_header {
    const char *name;       /* as received */
    const char *value;      /* leading/trailing blanks trimmed */
} tg_http_header;

/* A complete request.  Every pointer is borrowed: valid until the handler
 * returns, or, after tg_http_resp_defer(), until tg_http_resp_send(). */
typedef struct tg_http_req {
    const char *method;     /* "GET", "POST", ... */
    const char *path;       /* raw path before '?' (not %-decoded) */
    const char *query;      /* after '?', "" when none */
    const tg_http_header *headers;
    size_t nheaders;
    const char *body;       /* NUL-terminated copy; "" when none */
    size_t body_len;
    const char *remote;     /* "127.0.0.1:54321" */
    int http_minor;         /* 0 or 1 */
} tg_http_req;

typedef void (*tg_http_handler)(const tg_http_req *req, tg_http_resp *resp,
                                void *ud);

typedef struct tg_http_opts {
    size_t max_header_bytes;    /* request line + headers; 0 = 16 KiB */
    size_t max_headers;         /* header count; 0 = 64 */
    size_t max_body_bytes;      /* 0 = 1 MiB */
    uint64_t request_timeout_ms;/* whole request after its first byte;
                                   0 = 10000 */
    uint64_t idle_timeout_ms;   /* keep-alive idle; 0 = 30000 */
    unsigned max_connections;   /* 0 = 256 */
    /* TLS: PEM certificate file (the leaf first, then any intermediate
     * certificates) and PEM private key file (NULL = the key is in
     * tls_cert_file).  NULL cert = plain HTTP.  Borrowed: read by
     * tg_http_server_new() only. */
    const char *tls_cert_file;
    const char *tls_key_file;
    /* Optional: called (with the handler's ud) for every counted TLS
     * failure; reason is static text ("handshake failed", "handshake
     * timeout").  Must not close the server. */
    void (*on_tls_failure)(const char *remote, const char *reason, void *ud);
} tg_http_opts;

/*
 * Listen on addr:port (IPv4 or IPv6 literal; NULL = "127.0.0.1"; port 0 =
 * ephemeral, see tg_http_server_port()).  opts may be NULL.
 * Caller owns result; release with tg_http_server_close().  NULL on error
 * with detail in err (bad address, listen error, unreadable or
 * mismatched TLS certificate/key: the file name and OpenSSL's reason).
 */
tg_http_server *tg_http_server_new(uv_loop_t *loop, const char *addr,
                                   int port, const tg_http_opts *opts,
                                   tg_http_handler handler, void *ud,
                                   char *err, size_t errlen);

/* The bound port. */
int tg_http_server_port(const tg_http_server *s);

/* Number of open connections (for tests). */
size_t tg_http_server_connections(const tg_http_server *s);

/* TLS connections closed because the handshake failed (not TLS, bad
 * version or cipher, bad record) or did not finish in time.  0 without
 * TLS. */
uint64_t tg_http_server_tls_failures(const tg_http_server *s);

/* True when the server speaks TLS. */
bool tg_http_server_tls(const tg_http_server *s);

/*
 * Stop listening and close every connection.  Memory is freed by the
 * handles' close callbacks, so run the loop once more before
 * uv_loop_close().  Deferred responses stay valid and must still be sent
 * (their send is then a no-op that frees them).  NULL is a no-op.
 */
void tg_http_server_close(tg_http_server *s);

/* Case-insensitive header lookup; first match or NULL.  Borrowed. */
const char *tg_http_req_header(const tg_http_req *req, const char *name);

/* ---- response ------------------------------------------------------ */

/* Status (default 200). */
void tg_http_resp_status(tg_http_resp *resp, int status);

/* Add a header (copied).  Content-Length and Connection are set by the
 * server (use tg_http_resp_close_after()).  0, -EINVAL (CR/LF or ':' in
 * the name, CR/LF in the value, or one of those two names) or -ENOMEM. */
int tg_http_resp_header(tg_http_resp *resp, const char *name,
                        const char *value);

/* Append to the body (copied).  0 or -ENOMEM. */
int tg_http_resp_body(tg_http_resp *resp, const void *data, size_t len);
int tg_http_resp_printf(tg_http_resp *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Shortcut: status, "Content-Type: text/plain; charset=utf-8", body. */
void tg_http_resp_text(tg_http_resp *resp, int status, const char *text);

/* Close the connection after this response. */
void tg_http_resp_close_after(tg_http_resp *resp);

/* Keep req and resp after the handler returns; answer later with
 * tg_http_resp_send().  Only from inside the handler. */
void tg_http_resp_defer(tg_http_resp *resp);

/* Send a deferred response and free it and its request.  Exactly once per
 * deferred response, even if the client went away. */
void tg_http_resp_send(tg_http_resp *resp);

/* True when the client of a deferred response has disconnected. */
bool tg_http_resp_orphaned(const tg_http_resp *resp);

/*
 * True when the request carries "Authorization: Bearer <token>" equal to
 * token (constant-time compare).  token NULL or "" means no check: true.
 */
bool tg_http_check_bearer(const tg_http_req *req, const char *token);

/* Reason phrase for a status ("Not Found"); "Unknown" otherwise. */
const char *tg_http_status_text(int status);

#endif /* TG_HTTP_H */
