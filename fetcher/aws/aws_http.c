/*
 * aws_http.c - libcurl multi on libuv (see aws_http.h for the contract).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * curl tells us which sockets to watch (s_on_socket) and when to wake it
 * (s_on_timer); we translate that into uv_poll_t / uv_timer_t and call
 * curl_multi_socket_action() from their callbacks, then harvest finished
 * transfers (s_harvest).  Each socket context and the timer are counted
 * in h->open_handles; the struct is released by the last close callback
 * after aws_http_free().  A free requested from inside a user callback is
 * deferred until s_harvest() has stopped touching the multi handle.
 */
#include "aws_http.h"

#include "aws_buf.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_MAX_RESPONSE_DEFAULT (16u << 20)
#define S_MAX_HEADERS 64

typedef struct s_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    aws_http *h;
    struct s_sock *next;
} s_sock;

struct aws_http_req {
    aws_http *h;
    CURL *easy;
    struct curl_slist *hdrs;
    aws_buf body;
    size_t max_response;
    int too_big;
    aws_buf hdr_raw;             /* "name\0value\0" pairs */
    size_t hdr_count;
    aws_http_cb cb;
    void *data;
    aws_http_req *prev, *next;
    char errbuf[CURL_ERROR_SIZE];
};

struct aws_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    char *ca_file;
    long connect_timeout_ms;
    aws_http_req *reqs;
    size_t inflight;
    s_sock *socks;
    int open_handles;
    int dispatching;
    int free_pending;
    int closing;
};

static void s_handle_closed(uv_handle_t *hd);

static void s_maybe_release(aws_http *h)
{
    if (h->closing && h->open_handles == 0) {
        free(h->ca_file);
        free(h);
    }
}

static void s_sock_closed(uv_handle_t *hd)
{
    s_sock *s = hd->data;
    aws_http *h = s->h;
    free(s);
    h->open_handles--;
    s_maybe_release(h);
}

static void s_sock_drop(aws_http *h, s_sock *s)
{
    for (s_sock **pp = &h->socks; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, s_sock_closed);
}

static void s_req_release(aws_http_req *r)
{
    aws_http *h = r->h;
    if (r->prev)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    h->inflight--;
    curl_multi_remove_handle(h->multi, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    aws_buf_fini(&r->body);
    aws_buf_fini(&r->hdr_raw);
    free(r);
}

static int s_map_error(CURLcode cc, aws_http_req *r)
{
    switch (cc) {
    case CURLE_OK:
        return 0;
    case CURLE_OPERATION_TIMEDOUT:
        return AWS_HTTP_ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return AWS_HTTP_ECONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return AWS_HTTP_ETLS;
    case CURLE_FILESIZE_EXCEEDED:
        return AWS_HTTP_ETOOBIG;
    case CURLE_WRITE_ERROR:
        return r->too_big ? AWS_HTTP_ETOOBIG : AWS_HTTP_EIO;
    default:
        return AWS_HTTP_EIO;
    }
}

static void s_do_free(aws_http *h);

static void s_finish(aws_http_req *r, CURLcode cc)
{
    int rc = s_map_error(cc, r);
    aws_http_response resp;
    aws_http_header hv[S_MAX_HEADERS];
    memset(&resp, 0, sizeof resp);
    if (rc == 0) {
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
        resp.body = aws_buf_str(&r->body);
        resp.body_len = r->body.len;
        const char *p = r->hdr_raw.data;
        size_t n = 0;
        for (size_t i = 0; p && i < r->hdr_count && n < S_MAX_HEADERS; i++) {
            hv[n].name = p;
            p += strlen(p) + 1;
            hv[n++].value = p;
            p += strlen(p) + 1;
        }
        resp.headers = hv;
        resp.n_headers = n;
    }
    aws_http_cb cb = r->cb;
    void *data = r->data;
    r->cb = NULL;
    cb(rc, rc == 0 ? &resp : NULL, data);
    s_req_release(r);
}

static void s_harvest(aws_http *h)
{
    CURLMsg *msg;
    int left;
    h->dispatching++;
    while (!h->free_pending && (msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        aws_http_req *r = (aws_http_req *)priv;
        if (r)
            s_finish(r, msg->data.result);
    }
    h->dispatching--;
    if (h->free_pending && h->dispatching == 0)
        s_do_free(h);
}

static void s_on_poll(uv_poll_t *p, int status, int events)
{
    s_sock *s = p->data;
    aws_http *h = s->h;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    s_harvest(h);
}

static void s_on_uv_timer(uv_timer_t *t)
{
    aws_http *h = t->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_harvest(h);
}

static int s_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    aws_http *h = userp;
    if (h->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, s_on_uv_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static int s_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                       void *socketp)
{
    (void)easy;
    aws_http *h = userp;
    s_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(h->multi, fd, NULL);
            s_sock_drop(h, s);
        }
        return 0;
    }
    if (h->closing)
        return 0;
    if (!s) {
        s = aws_xcalloc(1, sizeof *s);
        s->fd = fd;
        s->h = h;
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        h->open_handles++;
        s->next = h->socks;
        h->socks = s;
        curl_multi_assign(h->multi, fd, s);
    }
    int ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, s_on_poll);
    return 0;
}

aws_http *aws_http_new(uv_loop_t *loop, const aws_http_opts *opts)
{
    aws_http *h = aws_xcalloc(1, sizeof *h);
    h->loop = loop;
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h);
        return NULL;
    }
    if (opts && opts->ca_file)
        h->ca_file = aws_strdup(opts->ca_file);
    h->connect_timeout_ms = opts && opts->connect_timeout_ms
                                ? opts->connect_timeout_ms : 10000;
    long maxconn = opts && opts->max_host_connections
                       ? opts->max_host_connections : 8;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    h->open_handles = 1;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, s_on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxconn);
    return h;
}

static void s_handle_closed(uv_handle_t *hd)
{
    aws_http *h = hd->data;
    h->open_handles--;
    s_maybe_release(h);
}

static void s_do_free(aws_http *h)
{
    h->free_pending = 0;
    while (h->reqs)
        s_req_release(h->reqs);
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    while (h->socks) {
        s_sock *s = h->socks;
        h->socks = s->next;
        uv_poll_stop(&s->poll);
        uv_close((uv_handle_t *)&s->poll, s_sock_closed);
    }
    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *)&h->timer, s_handle_closed);
}

void aws_http_free(aws_http *h)
{
    if (!h || h->closing)
        return;
    h->closing = 1;
    if (h->dispatching) {
        h->free_pending = 1;
        return;
    }
    s_do_free(h);
}

static size_t s_on_body(char *p, size_t sz, size_t n, void *data)
{
    aws_http_req *r = data;
    size_t len = sz * n;
    if (r->body.len + len > r->max_response) {
        r->too_big = 1;
        return 0;
    }
    aws_buf_append(&r->body, p, len);
    return len;
}

static size_t s_on_header(char *p, size_t sz, size_t n, void *data)
{
    aws_http_req *r = data;
    size_t len = sz * n;
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
        /* a new response (e.g. after 100 Continue): forget old headers */
        aws_buf_reset(&r->hdr_raw);
        r->hdr_count = 0;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon || r->hdr_count >= S_MAX_HEADERS || r->hdr_raw.len > 65536)
        return len;
    for (const char *c = p; c < colon; c++) {
        char lc = (*c >= 'A' && *c <= 'Z') ? (char)(*c + 32) : *c;
        aws_buf_putc(&r->hdr_raw, lc);
    }
    aws_buf_putc(&r->hdr_raw, '\0');
    const char *v = colon + 1, *e = p + len;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
        e--;
    aws_buf_append(&r->hdr_raw, v, (size_t)(e - v));
    aws_buf_putc(&r->hdr_raw, '\0');
    r->hdr_count++;
    return len;
}

static int s_bad_header(const char *s)
{
    return !s || strpbrk(s, "\r\n") != NULL;
}

int aws_http_send(aws_http *h, const aws_http_request *req, aws_http_cb cb,
                  void *data, aws_http_req **handle)
{
    if (!h || h->closing || !req || !req->url || !cb ||
        (strncmp(req->url, "http://", 7) && strncmp(req->url, "https://", 8)))
        return AWS_HTTP_EINVAL;
    aws_http_req *r = aws_xcalloc(1, sizeof *r);
    r->h = h;
    r->cb = cb;
    r->data = data;
    r->max_response = req->max_response ? req->max_response
                                        : S_MAX_RESPONSE_DEFAULT;
    aws_buf_init(&r->body);
    aws_buf_init(&r->hdr_raw);
    r->easy = curl_easy_init();
    if (!r->easy)
        goto fail;
    for (size_t i = 0; i < req->n_headers; i++) {
        const aws_http_header *hd = &req->headers[i];
        if (s_bad_header(hd->name) || s_bad_header(hd->value) ||
            !*hd->name || strchr(hd->name, ':'))
            goto fail;
        aws_buf line;
        aws_buf_init(&line);
        if (*hd->value)
            aws_buf_printf(&line, "%s: %s", hd->name, hd->value);
        else
            aws_buf_printf(&line, "%s;", hd->name);
        struct curl_slist *nl = curl_slist_append(r->hdrs, aws_buf_str(&line));
        aws_buf_fini(&line);
        if (!nl)
            goto fail;
        r->hdrs = nl;
    }
    r->hdrs = curl_slist_append(r->hdrs, "Expect:");
    /* curl would invent a form Content-Type for bodies; a signed request
     * must carry only what it signed. */
    int has_ct = 0;
    for (size_t i = 0; i < req->n_headers; i++)
        has_ct |= !strcasecmp(req->headers[i].name, "content-type");
    if (!has_ct)
        r->hdrs = curl_slist_append(r->hdrs, "Content-Type:");
    CURL *e = r->easy;
    const char *method = req->method ? req->method
                                     : (req->body ? "POST" : "GET");
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms ? req->timeout_ms : 30000L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    if (req->max_response)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                         (curl_off_t)req->max_response);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (req->body || !strcmp(method, "POST") || !strcmp(method, "PUT")) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS,
                         req->body ? (const char *)req->body : "");
        if (strcmp(method, "POST"))
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK)
        goto fail;
    r->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = r;
    h->reqs = r;
    h->inflight++;
    if (handle)
        *handle = r;
    return 0;
fail:
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    aws_buf_fini(&r->body);
    aws_buf_fini(&r->hdr_raw);
    free(r);
    return AWS_HTTP_EINVAL;
}

void aws_http_cancel(aws_http_req *r)
{
    if (r && r->cb)
        s_req_release(r);
}

size_t aws_http_inflight(const aws_http *h)
{
    return h ? h->inflight : 0;
}

const char *aws_http_response_header(const aws_http_response *r,
                                     const char *name)
{
    for (size_t i = 0; r && i < r->n_headers; i++)
        if (!strcasecmp(r->headers[i].name, name))
            return r->headers[i].value;
    return NULL;
}

const char *aws_http_strerror(int rc)
{
    switch (rc) {
    case 0: return "ok";
    case AWS_HTTP_EINVAL: return "invalid request";
    case AWS_HTTP_ECANCELED: return "cancelled";
    case AWS_HTTP_ETIMEDOUT: return "timed out";
    case AWS_HTTP_ECONNECT: return "cannot connect";
    case AWS_HTTP_ETLS: return "TLS failure";
    case AWS_HTTP_ETOOBIG: return "response too large";
    default: return "transfer failed";
    }
}
