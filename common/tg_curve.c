/*
 * tg_curve.c - CURVE keys on the daemons' sockets and the ZAP handler
 * (see tg_curve.h).  Key files and the decision are in tg_curve_keys.c.
 *
 * Owner: common.
 *
 * DESIGN
 * tg_curve_new() loads everything once (keypair, server keys, authorized
 * set) so that a bad file stops the daemon at start, not at the first
 * connection.  The ZAP socket is a REP: libzmq sends one multi-part
 * request per handshake and waits for one reply, so each request is
 * read to its last part and answered before the next.  Requests are
 * drained until ZMQ_EVENTS has no POLLIN (ZMQ_FD is edge-triggered: it
 * only fires again after ZMQ_EVENTS has been read on an empty queue).
 *
 * Log lines about clients share one budget (S_LOG_BURST lines per
 * S_LOG_WINDOW_MS); the next line after a quiet period reports how many
 * were suppressed.  The counters are exact.
 */
#include "tg_curve.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tg_log.h"

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_ZAP_MAX_PARTS 8
#define S_LOG_BURST 5
#define S_LOG_WINDOW_MS 10000

typedef struct s_epkey {
    char *endpoint;
    char key[TG_CURVE_KEY_Z85 + 1];
} s_epkey;

struct tg_curve {
    uv_loop_t *loop;
    bool enabled;
    tg_curve_keypair kp;
    char server_key[TG_CURVE_KEY_Z85 + 1];  /* "" when not configured */
    s_epkey *eps;
    size_t neps;
    tg_curve_authset *auth;                 /* NULL: any client */
    void *zap;                              /* REP socket, NULL: none */
    uv_poll_t poll;
    bool polling;
    tg_metric *m_rejected, *m_accepted;
    uint64_t rejected, accepted;
    uint64_t log_window;                    /* start of the budget window */
    unsigned log_used;
    uint64_t log_suppressed;
};

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void s_free(tg_curve *c)
{
    for (size_t i = 0; i < c->neps; i++)
        free(c->eps[i].endpoint);
    free(c->eps);
    tg_curve_authset_free(c->auth);
    explicit_bzero(&c->kp, sizeof c->kp);
    free(c);
}

/* ---- loading ---------------------------------------------------------- */

/* "ENDPOINT=KEY": the key is the last 40 characters (Z85 has '=' in its
 * alphabet, endpoints do not end in one). */
static int s_add_epkey(tg_curve *c, const char *spec, char *err,
                       size_t errlen)
{
    size_t n = strlen(spec);
    if (n < TG_CURVE_KEY_Z85 + 2 || spec[n - TG_CURVE_KEY_Z85 - 1] != '=' ||
        tg_curve_key_decode(spec + n - TG_CURVE_KEY_Z85, NULL) != 0) {
        s_fmt(err, errlen, "curve.server_keys: '%s' is not "
              "ENDPOINT=<40-character Z85 key>", spec);
        return -EINVAL;
    }
    s_epkey *v = realloc(c->eps, (c->neps + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    c->eps = v;
    s_epkey *e = &v[c->neps];
    if (!(e->endpoint = strndup(spec, n - TG_CURVE_KEY_Z85 - 1)))
        return -ENOMEM;
    memcpy(e->key, spec + n - TG_CURVE_KEY_Z85, TG_CURVE_KEY_Z85 + 1);
    c->neps++;
    return 0;
}

static int s_load_server_key(tg_curve *c, const tg_curve_config *cfg,
                             char *err, size_t errlen)
{
    const char *inl = cfg->server_public_key;
    const char *file = cfg->server_public_key_file;
    if (inl && *inl && file && *file) {
        s_fmt(err, errlen, "curve: set server_public_key or "
              "server_public_key_file, not both");
        return -EINVAL;
    }
    if (inl && *inl) {
        if (tg_curve_key_decode(inl, NULL) != 0) {
            s_fmt(err, errlen, "curve.server_public_key: not a "
                  "40-character Z85 key");
            return -EINVAL;
        }
        memcpy(c->server_key, inl, TG_CURVE_KEY_Z85 + 1);
    } else if (file && *file) {
        char e2[400];
        int rc = tg_curve_public_load(file, c->server_key, e2, sizeof e2);
        if (rc != 0) {
            s_fmt(err, errlen, "curve.server_public_key_file: %s", e2);
            return rc;
        }
    }
    for (size_t i = 0; i < cfg->server_keys.n; i++) {
        int rc = s_add_epkey(c, cfg->server_keys.v[i], err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int s_load(tg_curve *c, const tg_curve_config *cfg, char *err,
                  size_t errlen)
{
    char e2[400];
    if (!cfg->secret_key_file || !*cfg->secret_key_file) {
        s_fmt(err, errlen, "curve.enabled is true but curve.secret_key_file "
              "is not set (make one with `trailguard keygen --out FILE`)");
        return -EINVAL;
    }
    if (!zmq_has("curve")) {
        s_fmt(err, errlen, "curve.enabled is true but libzmq was built "
              "without CURVE");
        return -ENOTSUP;
    }
    int rc = tg_curve_keypair_load(cfg->secret_key_file, &c->kp, e2,
                                   sizeof e2);
    if (rc != 0) {
        s_fmt(err, errlen, "curve.secret_key_file: %s", e2);
        return rc;
    }
    if ((rc = s_load_server_key(c, cfg, err, errlen)) != 0)
        return rc;
    if (cfg->authorized_keys && *cfg->authorized_keys) {
        c->auth = tg_curve_authset_load(cfg->authorized_keys, e2, sizeof e2);
        if (!c->auth) {
            s_fmt(err, errlen, "curve.authorized_keys: %s", e2);
            return -EINVAL;
        }
    }
    return 0;
}

int tg_curve_config_check(const tg_curve_config *cfg, char *err,
                          size_t errlen)
{
    if (!cfg->enabled)
        return 0;
    tg_curve *c = calloc(1, sizeof *c);
    if (!c) {
        s_fmt(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = s_load(c, cfg, err, errlen);
    s_free(c);
    return rc;
}

/* ---- the ZAP handler --------------------------------------------------- */

/* True when a client line may be logged now; counts suppressed ones. */
static bool s_log_budget(tg_curve *c)
{
    uint64_t now = uv_now(c->loop);
    if (now - c->log_window >= S_LOG_WINDOW_MS) {
        c->log_window = now;
        c->log_used = 0;
    }
    if (c->log_used >= S_LOG_BURST) {
        c->log_suppressed++;
        return false;
    }
    c->log_used++;
    return true;
}

static void s_log_decision(tg_curve *c, int status, const zmq_msg_t *parts,
                           size_t nparts)
{
    char peer[64] = "-", key[TG_CURVE_KEY_Z85 + 1] = "-";
    if (nparts > 3) {
        size_t n = zmq_msg_size(&parts[3]);
        snprintf(peer, sizeof peer, "%.*s", (int)(n < 63 ? n : 63),
                 (const char *)zmq_msg_data((zmq_msg_t *)&parts[3]));
        if (!peer[0])
            snprintf(peer, sizeof peer, "local");
    }
    if (nparts > 6 && zmq_msg_size(&parts[6]) == TG_CURVE_KEY_BIN)
        zmq_z85_encode(key, zmq_msg_data((zmq_msg_t *)&parts[6]),
                       TG_CURVE_KEY_BIN);
    if (!s_log_budget(c))
        return;
    uint64_t supp = c->log_suppressed;
    c->log_suppressed = 0;
    if (status == 200)
        tg_log_info("curve client accepted peer=%s key=%s suppressed=%llu",
                    peer, key, (unsigned long long)supp);
    else
        tg_log_warn("curve client rejected peer=%s key=%s status=%d reason=%s "
                    "rejected_total=%llu suppressed=%llu", peer, key, status,
                    status == 400 ? "key-not-in-authorized_keys"
                                  : "malformed-zap-request",
                    (unsigned long long)c->rejected,
                    (unsigned long long)supp);
}

static int s_decide(tg_curve *c, zmq_msg_t *parts, size_t nparts)
{
    if (nparts < 7 || zmq_msg_size(&parts[0]) != 3 ||
        memcmp(zmq_msg_data(&parts[0]), "1.0", 3) != 0)
        return 500;
    return tg_curve_zap_decide(c->auth, zmq_msg_data(&parts[5]),
                               zmq_msg_size(&parts[5]),
                               zmq_msg_data(&parts[6]),
                               zmq_msg_size(&parts[6]));
}

/* Reply: version, request id, status code, status text, user id,
 * metadata. */
static void s_reply(tg_curve *c, zmq_msg_t *parts, size_t nparts, int status)
{
    char code[4];
    snprintf(code, sizeof code, "%d", status);
    const char *text = status == 200 ? "OK" : status == 400
                       ? "client key not authorized" : "bad ZAP request";
    const void *id = nparts > 1 ? zmq_msg_data(&parts[1]) : "";
    size_t idlen = nparts > 1 ? zmq_msg_size(&parts[1]) : 0;
    const int more = ZMQ_SNDMORE | ZMQ_DONTWAIT;
    if (zmq_send(c->zap, "1.0", 3, more) < 0 ||
        zmq_send(c->zap, id, idlen, more) < 0 ||
        zmq_send(c->zap, code, 3, more) < 0 ||
        zmq_send(c->zap, text, strlen(text), more) < 0 ||
        zmq_send(c->zap, "", 0, more) < 0 ||
        zmq_send(c->zap, "", 0, ZMQ_DONTWAIT) < 0)
        tg_log_error("curve ZAP reply failed: %s", zmq_strerror(errno));
}

/* Read one request to its last part, decide, count, log, reply. */
static void s_zap_one(tg_curve *c)
{
    zmq_msg_t parts[S_ZAP_MAX_PARTS];
    size_t n = 0;
    bool more = true;
    zmq_msg_t extra;            /* parts past S_ZAP_MAX_PARTS: dropped */
    while (more) {
        zmq_msg_t *m = n < S_ZAP_MAX_PARTS ? &parts[n] : &extra;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, c->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            break;
        }
        more = zmq_msg_more(m);
        if (m == &extra)
            zmq_msg_close(m);
        else
            n++;
    }
    if (n == 0)
        return;
    int status = s_decide(c, parts, n);
    if (status == 200) {
        c->accepted++;
        tg_metric_inc(c->m_accepted);
    } else {
        c->rejected++;
        tg_metric_inc(c->m_rejected);
    }
    s_log_decision(c, status, parts, n);
    s_reply(c, parts, n, status);
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

static void s_zap_drain(tg_curve *c)
{
    for (;;) {
        int ev = 0;
        size_t len = sizeof ev;
        if (!c->zap || zmq_getsockopt(c->zap, ZMQ_EVENTS, &ev, &len) != 0 ||
            !(ev & ZMQ_POLLIN))
            return;
        s_zap_one(c);
    }
}

static void s_on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    s_zap_drain(h->data);
}

static int s_zap_start(tg_curve *c, void *zctx, char *err, size_t errlen)
{
    int zero = 0, fd = -1;
    size_t fdlen = sizeof fd;
    c->zap = zmq_socket(zctx, ZMQ_REP);
    if (!c->zap || zmq_setsockopt(c->zap, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(c->zap, S_ZAP_ENDPOINT) != 0 ||
        zmq_getsockopt(c->zap, ZMQ_FD, &fd, &fdlen) != 0) {
        s_fmt(err, errlen, "ZAP handler %s: %s", S_ZAP_ENDPOINT,
              zmq_strerror(errno));
        return -EINVAL;
    }
    int rc = uv_poll_init(c->loop, &c->poll, fd);
    if (rc != 0) {
        s_fmt(err, errlen, "ZAP handler: uv_poll_init: %s", uv_strerror(rc));
        return rc;
    }
    c->poll.data = c;
    c->polling = true;
    uv_poll_start(&c->poll, UV_READABLE, s_on_poll);
    uv_unref((uv_handle_t *)&c->poll);
    return 0;
}

/* ---- public ---------------------------------------------------------- */

tg_curve *tg_curve_new(uv_loop_t *loop, void *zmq_ctx,
                       const tg_curve_config *cfg, tg_metrics *reg,
                       char *err, size_t errlen)
{
    tg_curve *c = calloc(1, sizeof *c);
    if (!c) {
        s_fmt(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    if (!cfg || !cfg->enabled)
        return c;
    c->enabled = true;
    if (s_load(c, cfg, err, errlen) != 0 ||
        s_zap_start(c, zmq_ctx, err, errlen) != 0) {
        tg_curve_close(c);
        return NULL;
    }
    if (reg) {
        c->m_rejected = tg_metrics_counter(reg,
            "trailguard_curve_rejected_total",
            "CURVE clients refused by the ZAP handler (key not in "
            "curve.authorized_keys)", NULL);
        c->m_accepted = tg_metrics_counter(reg,
            "trailguard_curve_accepted_total",
            "CURVE clients accepted by the ZAP handler", NULL);
    }
    c->log_window = uv_now(loop);
    return c;
}

bool tg_curve_enabled(const tg_curve *c)
{
    return c && c->enabled;
}

const char *tg_curve_public_key(const tg_curve *c)
{
    return tg_curve_enabled(c) ? c->kp.public_key : NULL;
}

void tg_curve_server_opts(const tg_curve *c, tg_zsock_opts *o)
{
    if (!tg_curve_enabled(c))
        return;
    o->curve_server = true;
    o->curve_secret = c->kp.secret_key;
    o->curve_public = NULL;
    o->curve_serverkey = NULL;
}

/* The server key for endpoint (NULL: the default); NULL when none. */
static const char *s_server_key(const tg_curve *c, const char *endpoint)
{
    for (size_t i = 0; endpoint && i < c->neps; i++)
        if (!strcmp(c->eps[i].endpoint, endpoint))
            return c->eps[i].key;
    return c->server_key[0] ? c->server_key : NULL;
}

int tg_curve_client_opts(const tg_curve *c, tg_zsock_opts *o,
                         const char *endpoint, char *err, size_t errlen)
{
    if (!tg_curve_enabled(c))
        return 0;
    const char *sk = s_server_key(c, endpoint);
    if (!sk) {
        s_fmt(err, errlen, "curve: no server key for %s (set "
              "curve.server_public_key or curve.server_keys)",
              endpoint ? endpoint : "the default endpoint");
        return -ENOKEY;
    }
    o->curve_server = false;
    o->curve_public = c->kp.public_key;
    o->curve_secret = c->kp.secret_key;
    o->curve_serverkey = sk;
    return 0;
}

int tg_curve_connect(const tg_curve *c, tg_zsock *s, const char *endpoint)
{
    if (!tg_curve_enabled(c))
        return tg_zsock_connect(s, endpoint);
    const char *sk = s_server_key(c, endpoint);
    if (!sk)
        return -ENOKEY;
    void *raw = tg_zsock_raw(s);
    if (zmq_setsockopt(raw, ZMQ_CURVE_PUBLICKEY, c->kp.public_key,
                       TG_CURVE_KEY_Z85) != 0 ||
        zmq_setsockopt(raw, ZMQ_CURVE_SECRETKEY, c->kp.secret_key,
                       TG_CURVE_KEY_Z85) != 0 ||
        zmq_setsockopt(raw, ZMQ_CURVE_SERVERKEY, sk, TG_CURVE_KEY_Z85) != 0)
        return -errno;
    return tg_zsock_connect(s, endpoint);
}

uint64_t tg_curve_rejected(const tg_curve *c)
{
    return c ? c->rejected : 0;
}

uint64_t tg_curve_accepted(const tg_curve *c)
{
    return c ? c->accepted : 0;
}

static void s_on_close(uv_handle_t *h)
{
    s_free(h->data);
}

void tg_curve_close(tg_curve *c)
{
    if (!c)
        return;
    if (c->zap)
        zmq_close(c->zap);
    c->zap = NULL;
    explicit_bzero(&c->kp, sizeof c->kp);
    if (!c->polling) {
        s_free(c);
        return;
    }
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, s_on_close);
}
