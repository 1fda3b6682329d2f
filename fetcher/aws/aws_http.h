/*
 * aws_http.h - asynchronous HTTP(S) client: libcurl multi driven by libuv.
 *
 * Owner: AWS ingestion (fetcher/aws/).  Also used by notifier/outputs/.
 *
 * DESIGN
 * One aws_http per uv loop; it owns a CURLM and the uv handles curl asks
 * for (curl's multi-uv pattern: a uv_poll_t per socket, one uv_timer_t for
 * curl's timeout), with no global state.  Call curl_global_init() once at
 * start-up before the first aws_http_new() (the daemon does it).
 *
 * Each aws_http_send() copies everything it needs (URL, headers, body)
 * and later calls the callback exactly once from the loop, unless the
 * request is cancelled or the send itself fails (then the callback never
 * runs, as in libuv).  rc 0 means an HTTP response arrived (any status;
 * look at resp->status); a negative rc is a transport failure, and resp is
 * NULL.  TLS peer and host verification are always on; only the CA bundle
 * can be changed (tests use a loopback CA).  Redirects are not followed
 * (S3 region redirects are handled by the caller).  Response bodies are
 * capped (AWS_HTTP_ETOOBIG).
 *
 * Single-threaded: every call from the loop thread.
 */
#ifndef AWS_HTTP_H
#define AWS_HTTP_H

#include <stddef.h>
#include <uv.h>

typedef struct aws_http aws_http;
typedef struct aws_http_req aws_http_req;

/* Transport errors (negative, distinct from -errno values used below). */
enum {
    AWS_HTTP_EINVAL = -22,      /* bad request description */
    AWS_HTTP_ECANCELED = -125,  /* aws_http_free() while in flight (never
                                   passed to a callback) */
    AWS_HTTP_ETIMEDOUT = -110,  /* timeout_ms elapsed */
    AWS_HTTP_ECONNECT = -111,   /* resolve/connect failed */
    AWS_HTTP_ETLS = -1001,      /* TLS handshake/verification failed */
    AWS_HTTP_ETOOBIG = -1002,   /* response larger than max_response */
    AWS_HTTP_EIO = -5,          /* any other transfer failure */
};

typedef struct aws_http_header {
    const char *name;
    const char *value;
} aws_http_header;

typedef struct aws_http_opts {
    const char *ca_file;        /* CA bundle; NULL = system default */
    long connect_timeout_ms;    /* 0 = 10000 */
    long max_host_connections;  /* 0 = 8 */
} aws_http_opts;

typedef struct aws_http_request {
    const char *method;         /* NULL = "GET" ("POST" if body) */
    const char *url;            /* http:// or https:// only */
    const aws_http_header *headers;
    size_t n_headers;
    const void *body;           /* copied */
    size_t body_len;
    long timeout_ms;            /* whole transfer; 0 = 30000 */
    size_t max_response;        /* body cap; 0 = 16 MiB */
} aws_http_request;

typedef struct aws_http_response {
    long status;
    const char *body;           /* NUL-terminated; may contain NULs */
    size_t body_len;
    const aws_http_header *headers; /* names lower-cased */
    size_t n_headers;
} aws_http_response;

/* resp and everything in it are borrowed until the callback returns. */
typedef void (*aws_http_cb)(int rc, const aws_http_response *resp,
                            void *data);

/* Caller owns result; release with aws_http_free().  NULL on failure. */
aws_http *aws_http_new(uv_loop_t *loop, const aws_http_opts *opts);

/*
 * Drop every request in flight (their callbacks never run) and close the
 * uv handles.  Memory is released by close callbacks: run the loop once
 * more before uv_loop_close().  May be called from inside a callback.
 * NULL is a no-op.
 */
void aws_http_free(aws_http *h);

/*
 * Start a request.  0 on success (cb will run once, later, never from
 * inside this call); negative on failure (cb never runs).  If handle is
 * not NULL it receives a borrowed handle valid until the callback runs or
 * aws_http_cancel().
 */
int aws_http_send(aws_http *h, const aws_http_request *req, aws_http_cb cb,
                  void *data, aws_http_req **handle);

/* Abandon a request in flight; its callback never runs. */
void aws_http_cancel(aws_http_req *r);

/* Number of requests in flight (for tests and shutdown). */
size_t aws_http_inflight(const aws_http *h);

/* Case-insensitive response header lookup; borrowed or NULL. */
const char *aws_http_response_header(const aws_http_response *r,
                                     const char *name);

const char *aws_http_strerror(int rc);

#endif /* AWS_HTTP_H */
