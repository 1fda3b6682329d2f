/*
 * tg_zsock.c - ZeroMQ sockets on a libuv loop (see tg_zsock.h).
 *
 * Owner: common.
 *
 * DESIGN
 * ZMQ_FD only says "ZMQ_EVENTS may have changed", and only on a change:
 * if we stop reading with messages still queued, or a send swallows the
 * edge, the fd stays quiet although messages wait.  So:
 *   - s_process() reads ZMQ_EVENTS, receives at most `batch` messages,
 *     then fires on_writable if it was armed and POLLOUT is set;
 *   - if anything remains to do (POLLIN with a receiver not paused, or an
 *     armed writable with POLLOUT), the idle handle is started so
 *     s_process() runs again next iteration without blocking; otherwise
 *     the idle handle is stopped and we wait for the fd;
 *   - every send, resume and callback registration "kicks" the idle
 *     handle, which re-reads ZMQ_EVENTS (and so re-arms the edge).
 * Callbacks may close the socket: `closing` is checked after each one;
 * the struct is freed only by the last handle close callback.
 */
#include "tg_zsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct tg_zsock {
    uv_loop_t *loop;
    void *sock;
    uv_poll_t poll;
    uv_idle_t idle;
    int open_handles;
    bool closing;
    bool paused;
    bool want_write;
    unsigned batch;
    int64_t max_msg;
    tg_zsock_recv_cb on_recv;
    void *recv_ud;
    tg_zsock_writable_cb on_writable;
    void *writable_ud;
    tg_zsock_stats stats;
};

static void s_process(tg_zsock *s);

static int s_events(tg_zsock *s)
{
    int ev = 0;
    size_t len = sizeof ev;
    if (zmq_getsockopt(s->sock, ZMQ_EVENTS, &ev, &len) != 0) {
        s->stats.errors++;
        return 0;
    }
    return ev;
}

static void s_on_idle(uv_idle_t *h)
{
    s_process(h->data);
}

static void s_kick(tg_zsock *s)
{
    if (!s->closing)
        uv_idle_start(&s->idle, s_on_idle);
}

static void s_on_poll(uv_poll_t *h, int status, int events)
{
    (void)events;
    tg_zsock *s = h->data;
    if (status < 0)
        s->stats.errors++;
    /* a pending batch is the idle handle's job (keeps the per-wake-up cap) */
    if (!uv_is_active((uv_handle_t *)&s->idle))
        s_process(s);
}

/* Receive one message; returns 1 delivered/dropped, 0 nothing, -1 error. */
static int s_recv_one(tg_zsock *s)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int n;
    while ((n = zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT)) < 0 &&
           errno == EINTR) {
    }
    if (n < 0) {
        int e = errno;
        zmq_msg_close(&msg);
        if (e == EAGAIN)
            return 0;
        s->stats.errors++;
        return -1;
    }
    if (zmq_msg_more(&msg)) {
        /* drain the remaining parts; they arrive atomically */
        zmq_msg_t part;
        zmq_msg_init(&part);
        while (zmq_msg_recv(&part, s->sock, ZMQ_DONTWAIT) >= 0 &&
               zmq_msg_more(&part)) {
        }
        zmq_msg_close(&part);
        zmq_msg_close(&msg);
        s->stats.dropped_multipart++;
        return 1;
    }
    size_t len = zmq_msg_size(&msg);
    if (s->max_msg > 0 && len > (uint64_t)s->max_msg) {
        zmq_msg_close(&msg);
        s->stats.dropped_oversize++;
        return 1;
    }
    s->stats.recv++;
    if (s->on_recv)
        s->on_recv(s, zmq_msg_data(&msg), len, s->recv_ud);
    zmq_msg_close(&msg);
    return 1;
}

static void s_process(tg_zsock *s)
{
    if (s->closing)
        return;
    int ev = s_events(s);
    unsigned n = 0;
    while (s->on_recv && !s->paused && (ev & ZMQ_POLLIN) && n < s->batch) {
        int r = s_recv_one(s);
        if (s->closing)
            return;
        ev = s_events(s);
        if (r <= 0)
            break;
        n++;
    }
    if (s->want_write && (ev & ZMQ_POLLOUT)) {
        s->want_write = false;
        if (s->on_writable)
            s->on_writable(s, s->writable_ud);
        if (s->closing)
            return;
        ev = s_events(s);
    }
    bool more = (s->on_recv && !s->paused && (ev & ZMQ_POLLIN)) ||
                (s->want_write && (ev & ZMQ_POLLOUT));
    if (more)
        uv_idle_start(&s->idle, s_on_idle);
    else
        uv_idle_stop(&s->idle);
}

static int s_setopt_int(void *sock, int opt, int v)
{
    return zmq_setsockopt(sock, opt, &v, sizeof v);
}

static int s_apply_opts(tg_zsock *s, const tg_zsock_opts *o, char *err,
                        size_t errlen)
{
    const char *what = NULL;
    int linger = o->linger_set ? o->linger_ms : 0;
    if (s_setopt_int(s->sock, ZMQ_LINGER, linger) != 0)
        what = "ZMQ_LINGER";
    /* Peers start in any order: a connect that finds no listener yet is
     * retried after 10 ms, doubling up to 1 s (zmq's default is a flat
     * 100 ms, which delayed every pipeline start by about 100 ms). */
    else if (s_setopt_int(s->sock, ZMQ_RECONNECT_IVL, 10) ||
             s_setopt_int(s->sock, ZMQ_RECONNECT_IVL_MAX, 1000))
        what = "ZMQ_RECONNECT_IVL";
    else if (o->sndhwm > 0 && s_setopt_int(s->sock, ZMQ_SNDHWM, o->sndhwm))
        what = "ZMQ_SNDHWM";
    else if (o->rcvhwm > 0 && s_setopt_int(s->sock, ZMQ_RCVHWM, o->rcvhwm))
        what = "ZMQ_RCVHWM";
    else if (o->immediate && s_setopt_int(s->sock, ZMQ_IMMEDIATE, 1))
        what = "ZMQ_IMMEDIATE";
    else if (o->sockbuf > 0 && (s_setopt_int(s->sock, ZMQ_SNDBUF, o->sockbuf) ||
                                s_setopt_int(s->sock, ZMQ_RCVBUF, o->sockbuf)))
        what = "ZMQ_SNDBUF/ZMQ_RCVBUF";
    else if (o->max_msg_size > 0 &&
             zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &o->max_msg_size,
                            sizeof o->max_msg_size) != 0)
        what = "ZMQ_MAXMSGSIZE";
    if (!what && (o->curve_server || o->curve_serverkey)) {
        if (!zmq_has("curve"))
            what = "CURVE (libzmq built without it)";
        else if (o->curve_server &&
                 s_setopt_int(s->sock, ZMQ_CURVE_SERVER, 1) != 0)
            what = "ZMQ_CURVE_SERVER";
        else if (o->curve_secret &&
                 zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, o->curve_secret,
                                strlen(o->curve_secret)) != 0)
            what = "ZMQ_CURVE_SECRETKEY";
        else if (o->curve_public &&
                 zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, o->curve_public,
                                strlen(o->curve_public)) != 0)
            what = "ZMQ_CURVE_PUBLICKEY";
        else if (o->curve_serverkey &&
                 zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY,
                                o->curve_serverkey,
                                strlen(o->curve_serverkey)) != 0)
            what = "ZMQ_CURVE_SERVERKEY";
    }
    if (what) {
        snprintf(err, errlen, "zmq_setsockopt %s: %s", what,
                 zmq_strerror(errno));
        return -1;
    }
    return 0;
}

tg_zsock *tg_zsock_new(uv_loop_t *loop, void *zmq_ctx, int type,
                       const char *endpoint, bool bind,
                       const tg_zsock_opts *opts, char *err, size_t errlen)
{
    static const tg_zsock_opts defaults = {0};
    const tg_zsock_opts *o = opts ? opts : &defaults;
    tg_zsock *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->batch = o->batch ? o->batch : 64;
    s->max_msg = o->max_msg_size;
    s->sock = zmq_socket(zmq_ctx, type);
    if (!s->sock) {
        snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
        free(s);
        return NULL;
    }
    if (s_apply_opts(s, o, err, errlen) != 0)
        goto fail;
    if (endpoint) {
        int rc = bind ? zmq_bind(s->sock, endpoint)
                      : zmq_connect(s->sock, endpoint);
        if (rc != 0) {
            snprintf(err, errlen, "%s %s: %s", bind ? "bind" : "connect",
                     endpoint, zmq_strerror(errno));
            goto fail;
        }
    }
    int fd;
    size_t fdlen = sizeof fd;
    if (zmq_getsockopt(s->sock, ZMQ_FD, &fd, &fdlen) != 0) {
        snprintf(err, errlen, "ZMQ_FD: %s", zmq_strerror(errno));
        goto fail;
    }
    int rc = uv_poll_init(loop, &s->poll, fd);
    if (rc != 0) {
        snprintf(err, errlen, "uv_poll_init: %s", uv_strerror(rc));
        goto fail;
    }
    uv_idle_init(loop, &s->idle);
    s->poll.data = s;
    s->idle.data = s;
    s->open_handles = 2;
    uv_poll_start(&s->poll, UV_READABLE, s_on_poll);
    return s;
fail:
    zmq_close(s->sock);
    free(s);
    return NULL;
}

static int s_zrc(int rc)
{
    return rc == 0 ? 0 : -errno;
}

int tg_zsock_connect(tg_zsock *s, const char *endpoint)
{
    return s_zrc(zmq_connect(s->sock, endpoint));
}

int tg_zsock_bind(tg_zsock *s, const char *endpoint)
{
    return s_zrc(zmq_bind(s->sock, endpoint));
}

int tg_zsock_disconnect(tg_zsock *s, const char *endpoint)
{
    return s_zrc(zmq_disconnect(s->sock, endpoint));
}

int tg_zsock_last_endpoint(tg_zsock *s, char *buf, size_t buflen)
{
    char tmp[1024];
    size_t len = sizeof tmp;
    if (zmq_getsockopt(s->sock, ZMQ_LAST_ENDPOINT, tmp, &len) != 0)
        return -errno;
    if (len > buflen)
        return -ENOBUFS;
    memcpy(buf, tmp, len);
    return 0;
}

void tg_zsock_on_recv(tg_zsock *s, tg_zsock_recv_cb cb, void *ud)
{
    s->on_recv = cb;
    s->recv_ud = ud;
    s_kick(s);
}

int tg_zsock_send(tg_zsock *s, const void *data, size_t len)
{
    if (s->closing)
        return -EBADF;
    int rc;
    while ((rc = zmq_send(s->sock, data, len, ZMQ_DONTWAIT)) < 0 &&
           errno == EINTR) {
    }
    int e = rc < 0 ? errno : 0;
    if (rc >= 0) {
        s->stats.sent++;
    } else if (e == EAGAIN) {
        s->stats.send_eagain++;
        s->want_write = true;
    } else {
        s->stats.errors++;
    }
    /* a send may consume the fd's edge: look again next iteration */
    s_kick(s);
    return rc >= 0 ? 0 : -e;
}

/* The hint of a zero-copy message: keep = the send failed and the caller
 * keeps the buffer (zmq_msg_close() still calls the free function). */
typedef struct s_owned {
    bool keep;
} s_owned;

static void s_owned_free(void *data, void *hint)
{
    s_owned *o = hint;
    if (!o->keep)
        free(data);
    free(o);
}

int tg_zsock_send_owned(tg_zsock *s, void **buf, size_t len)
{
    if (s->closing)
        return -EBADF;
    s_owned *o = malloc(sizeof *o);
    if (!o)
        return -ENOMEM;
    o->keep = false;
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, *buf, len, s_owned_free, o) != 0) {
        int e = errno;
        free(o);
        s->stats.errors++;
        return -e;
    }
    int rc;
    while ((rc = zmq_msg_send(&msg, s->sock, ZMQ_DONTWAIT)) < 0 && errno == EINTR) {
    }
    int e = rc < 0 ? errno : 0;
    if (rc >= 0) {
        s->stats.sent++;
        *buf = NULL; /* zmq frees it, from its I/O thread */
    } else {
        o->keep = true;
        zmq_msg_close(&msg); /* frees o only */
        if (e == EAGAIN) {
            s->stats.send_eagain++;
            s->want_write = true;
        } else {
            s->stats.errors++;
        }
    }
    s_kick(s);
    return rc >= 0 ? 0 : -e;
}

void tg_zsock_on_writable(tg_zsock *s, tg_zsock_writable_cb cb, void *ud)
{
    s->on_writable = cb;
    s->writable_ud = ud;
    s_kick(s);
}

void tg_zsock_pause_recv(tg_zsock *s)
{
    s->paused = true;
}

void tg_zsock_resume_recv(tg_zsock *s)
{
    if (!s->paused)
        return;
    s->paused = false;
    s_kick(s);
}

bool tg_zsock_recv_paused(const tg_zsock *s)
{
    return s->paused;
}

void tg_zsock_stats_get(const tg_zsock *s, tg_zsock_stats *out)
{
    *out = s->stats;
}

uint64_t tg_zsock_dropped_new(const tg_zsock *s, uint64_t *seen)
{
    if (!s)
        return 0;
    uint64_t n = s->stats.dropped_multipart + s->stats.dropped_oversize;
    if (n <= *seen)
        return 0;
    uint64_t d = n - *seen;
    *seen = n;
    return d;
}

void *tg_zsock_raw(tg_zsock *s)
{
    return s->sock;
}

static void s_on_close(uv_handle_t *h)
{
    tg_zsock *s = h->data;
    if (--s->open_handles == 0)
        free(s);
}

void tg_zsock_close(tg_zsock *s)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    s->on_recv = NULL;
    s->on_writable = NULL;
    uv_poll_stop(&s->poll);
    uv_idle_stop(&s->idle);
    uv_close((uv_handle_t *)&s->poll, s_on_close);
    uv_close((uv_handle_t *)&s->idle, s_on_close);
    zmq_close(s->sock);
    s->sock = NULL;
}
