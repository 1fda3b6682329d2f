/*
 * tgt_loop.h - helpers for the libtg tests: run a libuv loop until a
 * condition holds (with a deadline, never a fixed sleep), temporary
 * directories, and a tiny loopback HTTP client that pumps the loop while
 * it waits for the server (the server runs on the same thread).
 *
 * Owner: common (tests).
 */
#ifndef TGT_LOOP_H
#define TGT_LOOP_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static inline uint64_t tgt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void tgt_tick(uv_timer_t *t)
{
    (void)t;
}

/* Run the loop until cond(ud) is true or timeout_ms passes.  A 5 ms
 * wake-up timer makes UV_RUN_ONCE return so the condition is re-checked
 * even when nothing happens.  Returns the final cond value. */
static inline bool tgt_run_until(uv_loop_t *loop, bool (*cond)(void *),
                                 void *ud, uint64_t timeout_ms)
{
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, tgt_tick, 5, 5);
    uint64_t deadline = tgt_now_ms() + timeout_ms;
    bool ok;
    while (!(ok = cond(ud)) && tgt_now_ms() < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

/* Close every handle still open and check the loop closes cleanly. */
static void tgt_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static inline int tgt_loop_fini(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_NOWAIT);
    uv_run(loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(loop);
    if (rc == UV_EBUSY) {
        fprintf(stderr, "loop still has handles open\n");
        uv_walk(loop, tgt_walk_close, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
    }
    return rc;
}

/* mkdtemp under /tmp; returns a static-lifetime heap string. */
static inline char *tgt_tmpdir(const char *tag)
{
    char *p = malloc(256);
    snprintf(p, 256, "/tmp/tgt-%s-XXXXXX", tag);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(1);
    }
    return p;
}

static inline void tgt_rm_rf(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) { /* best effort */ }
}

/* ---- loopback HTTP client ---------------------------------------------- */

static inline int tgt_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

typedef struct tgt_resp {
    char buf[1 << 20];
    size_t len;
    bool eof;
    int status;
    int interim;            /* 1xx responses seen (and dropped from buf) */
    const char *body;       /* into buf */
    size_t body_len;
} tgt_resp;

/* True when buf holds one complete response (headers + Content-Length). */
static inline bool tgt_resp_complete(tgt_resp *r)
{
    r->buf[r->len] = '\0';
    char *end = strstr(r->buf, "\r\n\r\n");
    if (!end)
        return false;
    if (sscanf(r->buf, "HTTP/1.%*d %d", &r->status) != 1)
        r->status = -1;
    if (r->status == 100) {         /* skip an interim response */
        size_t skip = (size_t)(end + 4 - r->buf);
        memmove(r->buf, r->buf + skip, r->len - skip);
        r->len -= skip;
        r->interim++;
        return tgt_resp_complete(r);
    }
    const char *cl = strcasestr(r->buf, "\r\nContent-Length:");
    size_t want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
    r->body = end + 4;
    size_t have = r->len - (size_t)(r->body - r->buf);
    r->body_len = have < want ? have : want;
    return have >= want;
}

/* Send `len` bytes (may be 0) on fd while pumping the loop, then wait for
 * a complete response or EOF, up to timeout_ms.  Returns true when a
 * response or EOF arrived. */
static inline bool tgt_xfer(uv_loop_t *loop, int fd, const char *data,
                            size_t len, tgt_resp *r, uint64_t timeout_ms)
{
    uint64_t deadline = tgt_now_ms() + timeout_ms;
    size_t sent = 0;
    r->len = 0;
    r->eof = false;
    r->status = 0;
    r->interim = 0;
    while (tgt_now_ms() < deadline) {
        if (sent < len) {
            ssize_t w = send(fd, data + sent, len - sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN)
                sent = len;         /* peer gone: go read what it said */
        }
        uv_run(loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, r->buf + r->len, sizeof r->buf - 1 - r->len,
                         MSG_DONTWAIT);
        if (n > 0) {
            r->len += (size_t)n;
            if (sent >= len && tgt_resp_complete(r))
                return true;
            continue;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            r->eof = true;
            tgt_resp_complete(r);
            return true;
        }
        struct pollfd p = {fd, POLLIN | (sent < len ? POLLOUT : 0), 0};
        poll(&p, 1, 2);
    }
    return false;
}

/* Wait (pumping the loop) until the server closes fd; true on EOF. */
static inline bool tgt_wait_eof(uv_loop_t *loop, int fd, uint64_t timeout_ms)
{
    uint64_t deadline = tgt_now_ms() + timeout_ms;
    char b[4096];
    while (tgt_now_ms() < deadline) {
        uv_run(loop, UV_RUN_NOWAIT);
        ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            return true;
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 2);
    }
    return false;
}

#endif /* TGT_LOOP_H */
