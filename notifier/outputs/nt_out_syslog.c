/*
 * nt_out_syslog.c - the `syslog` output: RFC 5424 messages over TCP, a
 * unix stream socket or UDP.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * Message: "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG" with
 * PRI = facility * 8 + severity, severity = the Falco priority (same 0..7
 * scale), TIMESTAMP = the event time (RFC 3339, microseconds), MSGID =
 * "alert", no structured data, MSG = Falco's JSON (format: json) or the
 * rendered output (format: text).
 *
 * tcp:// and unix:// are streams framed by octet counting (RFC 6587
 * 3.4.1: "LEN SP MSG").  A batch is one uv_write; it counts as delivered
 * when the write completed (the bytes are in the kernel, which is all
 * syslog over TCP can promise; there is no application ack).  A failed
 * connect or write closes the connection and retries the batch; the
 * next flush reconnects.  udp:// sends one datagram per message (cut to
 * udp_max_size) and reports success once sent: best effort, loss is not
 * detected.
 */
#include "nt_plugin.h"

#include "aws_buf.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { S_TCP, S_UNIX, S_UDP };

typedef struct nt_out_syslog {
    char *address;
    char *format;
    char *facility_name;
    char *app_name;
    char *hostname;
    int64_t udp_max;
    /* state */
    uv_loop_t *loop;
    int kind;
    int facility;
    char host[256];
    char path[108];
    struct sockaddr_storage sa;
    uv_stream_t *conn;        /* uv_tcp_t or uv_pipe_t, heap */
    int connected;
    uv_udp_t *udp;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_udp_send_t ureq;
    aws_buf out;
    nt_batch *b;
    size_t unext;             /* udp: next message index */
    size_t *uoff;             /* udp: message offsets in out */
    int closing_handles;
    char rdbuf[256];
    void (*exit_done)(void *);
    void *exit_arg;
} nt_out_syslog;

#define Y(f) offsetof(nt_out_syslog, f)
static const nt_conf_entry s_map[] = {
    {NT_CONF_STR, "address", NULL, Y(address),
     "tcp://host:port, udp://host:port or unix:///path (required)"},
    {NT_CONF_STR, "format", "json", Y(format), "json or text message body"},
    {NT_CONF_STR, "facility", "local0", Y(facility_name),
     "syslog facility (kern, user, auth, daemon, authpriv, local0..local7)"},
    {NT_CONF_STR, "app_name", "trailguard", Y(app_name), "APP-NAME field"},
    {NT_CONF_STR, "hostname", NULL, Y(hostname), "HOSTNAME field (default: gethostname)"},
    {NT_CONF_SIZE, "udp_max_size", "8K", Y(udp_max),
     "udp:// messages are cut to this many bytes (one datagram each)"},
    {0, NULL, NULL, 0, NULL},
};
#undef Y

static int s_facility(const char *n)
{
    static const char *const f[] = {"kern", "user", "mail", "daemon", "auth",
                                    "syslog", "lpr", "news", "uucp", "cron",
                                    "authpriv"};
    for (int i = 0; i < 11; i++)
        if (strcmp(n, f[i]) == 0)
            return i;
    if (strncmp(n, "local", 5) == 0 && n[5] >= '0' && n[5] <= '7' && !n[6])
        return 16 + (n[5] - '0');
    return -1;
}

static int s_parse_addr(nt_out_syslog *s, char *err, size_t errlen)
{
    const char *a = s->address ? s->address : "";
    if (strncmp(a, "unix://", 7) == 0) {
        s->kind = S_UNIX;
        if (strlen(a + 7) >= sizeof(s->path) || !a[7])
            goto bad;
        snprintf(s->path, sizeof(s->path), "%s", a + 7);
        return 0;
    }
    if (strncmp(a, "tcp://", 6) == 0)
        s->kind = S_TCP;
    else if (strncmp(a, "udp://", 6) == 0)
        s->kind = S_UDP;
    else
        goto bad;
    char host[256];
    const char *hp = a + 6, *colon = strrchr(hp, ':');
    if (!colon || (size_t)(colon - hp) >= sizeof(host))
        goto bad;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
    if (host[0] == '[') { /* [v6] */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = 0;
    }
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535)
        goto bad;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&s->sa) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&s->sa) != 0) {
        snprintf(err, errlen, "syslog address needs a numeric IP: %s", a);
        return -EINVAL;
    }
    return 0;
bad:
    snprintf(err, errlen, "bad syslog address '%s' (tcp://ip:port, "
             "udp://ip:port or unix:///path)", a);
    return -EINVAL;
}

static int s_init(void *ctx, const nt_plugin_env *env, char *err,
                  size_t errlen)
{
    nt_out_syslog *s = ctx;
    s->loop = env->loop;
    aws_buf_init(&s->out);
    if (s_parse_addr(s, err, errlen) < 0)
        return -EINVAL;
    if ((s->facility = s_facility(s->facility_name)) < 0) {
        snprintf(err, errlen, "unknown syslog facility '%s'", s->facility_name);
        return -EINVAL;
    }
    if (strcmp(s->format, "json") && strcmp(s->format, "text")) {
        snprintf(err, errlen, "format must be json or text");
        return -EINVAL;
    }
    if (s->hostname)
        snprintf(s->host, sizeof(s->host), "%s", s->hostname);
    else if (gethostname(s->host, sizeof(s->host) - 1) != 0 || !s->host[0])
        snprintf(s->host, sizeof(s->host), "-");
    for (char *p = s->host; *p; p++) /* PRINTUSASCII, no spaces */
        if (*p <= 32 || *p > 126)
            *p = '_';
    return 0;
}

/* Append one framed (stream) or bare (udp) RFC 5424 message. */
static void s_format(nt_out_syslog *s, const nt_alert *a, int framed)
{
    char ts[40], tsbase[32];
    time_t sec = (time_t)(a->time_ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(tsbase, sizeof(tsbase), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, sizeof(ts), "%s.%06lluZ", tsbase,
             (unsigned long long)(a->time_ns % 1000000000ull / 1000ull));
    int sev = a->priority >= 0 && a->priority <= 7 ? a->priority : 5;
    const nt_str *m = strcmp(s->format, "text") == 0 ? &a->output : &a->json;
    aws_buf msg;
    aws_buf_init(&msg);
    aws_buf_printf(&msg, "<%d>1 %s %s %.48s %d alert - ", s->facility * 8 + sev,
                   ts, s->host, s->app_name, (int)getpid());
    if (m->p) /* one line: a newline would split it for many receivers */
        for (size_t i = 0; i < m->n; i++)
            aws_buf_putc(&msg, m->p[i] == '\n' ? ' ' : m->p[i]);
    size_t len = msg.len;
    if (!framed && s->udp_max > 0 && len > (size_t)s->udp_max)
        len = (size_t)s->udp_max; /* a datagram cannot carry more */
    if (framed)
        aws_buf_printf(&s->out, "%zu ", len);
    aws_buf_append(&s->out, msg.data, len);
    aws_buf_fini(&msg);
}

static void s_finish(nt_out_syslog *s, int ok, const char *why)
{
    nt_batch *b = s->b;
    s->b = NULL;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        b->result[i] = ok ? NT_ITEM_OK : NT_ITEM_RETRY;
    if (!ok)
        snprintf(b->err, sizeof(b->err), "%s: %s", s->address, why);
    nt_batch_done(b);
}

static void s_free_handle(uv_handle_t *h)
{
    nt_out_syslog *s = h->data;
    free(h);
    if (s && --s->closing_handles == 0 && s->exit_done)
        s->exit_done(s->exit_arg);
}

static void s_disconnect(nt_out_syslog *s)
{
    if (s->conn) {
        s->closing_handles++;
        uv_close((uv_handle_t *)s->conn, s_free_handle);
        s->conn = NULL;
    }
    s->connected = 0;
}

static void s_on_write(uv_write_t *req, int status)
{
    nt_out_syslog *s = req->data;
    if (status < 0)
        s_disconnect(s);
    if (status != UV_ECANCELED || s->b)
        s_finish(s, status == 0, status < 0 ? uv_strerror(status) : NULL);
}

static void s_write(nt_out_syslog *s)
{
    uv_buf_t buf = uv_buf_init(s->out.data, (unsigned)s->out.len);
    s->wreq.data = s;
    int rc = uv_write(&s->wreq, s->conn, &buf, 1, s_on_write);
    if (rc < 0) {
        s_disconnect(s);
        s_finish(s, 0, uv_strerror(rc));
    }
}

static void s_rd_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;
    nt_out_syslog *s = h->data; /* receivers send nothing we keep */
    b->base = s->rdbuf;
    b->len = sizeof(s->rdbuf);
}

/* Notice a receiver that closed the connection before the next write:
 * a write into a connection the peer already closed can "succeed". */
static void s_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    nt_out_syslog *s = st->data;
    if (n < 0 && (uv_stream_t *)s->conn == st && !s->b)
        s_disconnect(s);
}

static void s_on_connect(uv_connect_t *req, int status)
{
    nt_out_syslog *s = req->data;
    if (status < 0) {
        s_disconnect(s);
        if (s->b)
            s_finish(s, 0, uv_strerror(status));
        return;
    }
    s->connected = 1;
    uv_read_start(s->conn, s_rd_alloc, s_on_read);
    if (s->b)
        s_write(s);
}

static int s_connect(nt_out_syslog *s)
{
    int rc;
    s->creq.data = s;
    if (s->kind == S_TCP) {
        uv_tcp_t *t = calloc(1, sizeof(*t));
        if (!t)
            return -ENOMEM;
        uv_tcp_init(s->loop, t);
        t->data = s;
        s->conn = (uv_stream_t *)t;
        rc = uv_tcp_connect(&s->creq, t, (struct sockaddr *)&s->sa,
                            s_on_connect);
    } else {
        uv_pipe_t *p = calloc(1, sizeof(*p));
        if (!p)
            return -ENOMEM;
        uv_pipe_init(s->loop, p, 0);
        p->data = s;
        s->conn = (uv_stream_t *)p;
        uv_pipe_connect(&s->creq, p, s->path, s_on_connect);
        rc = 0;
    }
    if (rc < 0)
        s_disconnect(s);
    return rc;
}

static void s_udp_next(nt_out_syslog *s);

static void s_on_udp(uv_udp_send_t *req, int status)
{
    nt_out_syslog *s = req->data;
    if (!s->b)
        return;
    if (status < 0) {
        s_finish(s, 0, uv_strerror(status));
        return;
    }
    s->b->result[s->unext++] = NT_ITEM_OK;
    s_udp_next(s);
}

static void s_udp_next(nt_out_syslog *s)
{
    if (s->unext == s->b->n) {
        s_finish(s, 1, NULL);
        return;
    }
    size_t off = s->uoff[s->unext];
    size_t end = s->uoff[s->unext + 1];
    uv_buf_t buf = uv_buf_init(s->out.data + off, (unsigned)(end - off));
    s->ureq.data = s;
    int rc = uv_udp_send(&s->ureq, s->udp, &buf, 1,
                         (struct sockaddr *)&s->sa, s_on_udp);
    if (rc < 0)
        s_finish(s, 0, uv_strerror(rc));
}

static int s_flush(void *ctx, nt_batch *b)
{
    nt_out_syslog *s = ctx;
    aws_buf_reset(&s->out);
    s->b = b;
    if (s->kind == S_UDP) {
        if (!s->udp) {
            s->udp = calloc(1, sizeof(*s->udp));
            if (!s->udp)
                return -ENOMEM;
            uv_udp_init(s->loop, s->udp);
            s->udp->data = s;
        }
        free(s->uoff);
        s->uoff = calloc(b->n + 1, sizeof(size_t));
        if (!s->uoff)
            return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
            s->uoff[i] = s->out.len;
            s_format(s, b->alerts[i], 0);
        }
        s->uoff[b->n] = s->out.len;
        s->unext = 0;
        s_udp_next(s);
        return 0;
    }
    for (size_t i = 0; i < b->n; i++)
        s_format(s, b->alerts[i], 1);
    if (s->connected) {
        s_write(s);
        return 0;
    }
    if (!s->conn) {
        int rc = s_connect(s);
        if (rc < 0) {
            s_finish(s, 0, uv_strerror(rc));
            return 0;
        }
    }
    return 0; /* s_on_connect writes */
}

static int s_reopen(void *ctx)
{
    nt_out_syslog *s = ctx;
    if (!s->b)
        s_disconnect(s); /* reconnect on the next batch */
    return 0;
}

static void s_exit(void *ctx, void (*done)(void *), void *arg)
{
    nt_out_syslog *s = ctx;
    s->b = NULL;
    s->exit_done = done;
    s->exit_arg = arg;
    s->closing_handles++; /* held while starting the closes */
    s_disconnect(s);
    if (s->udp) {
        s->closing_handles++;
        uv_close((uv_handle_t *)s->udp, s_free_handle);
        s->udp = NULL;
    }
    aws_buf_fini(&s->out);
    free(s->uoff);
    s->uoff = NULL;
    if (--s->closing_handles == 0)
        done(arg);
}

const nt_plugin nt_plugin_syslog = {
    .name = "syslog",
    .desc = "RFC 5424 over TCP, unix stream socket or UDP (best effort)",
    .config_map = s_map,
    .ctx_size = sizeof(nt_out_syslog),
    .default_batch_size = 100,
    .default_flush_ms = 200,
    .init = s_init,
    .flush = s_flush,
    .reopen = s_reopen,
    .exit = s_exit,
};
