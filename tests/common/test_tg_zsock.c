/*
 * test_tg_zsock.c - tg_zsock over ipc:// in /tmp: delivery and order,
 * fairness (batch cap), HWM back-pressure with on_writable, zero-copy
 * sends (ownership on success and refusal), pause/resume,
 * multi-part and oversized frames dropped and counted, close from inside
 * a callback, ephemeral tcp endpoint.  Owner: common.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tg_test.h"
#include "tg_zsock.h"
#include "tgt_loop.h"

static void *s_ctx;
static char *s_dir;
static char s_ep[256];
static int s_ep_seq;

/* A fresh ipc:// endpoint in this run's temporary directory. */
static const char *s_new_ep(void)
{
    snprintf(s_ep, sizeof s_ep, "ipc://%s/%d.sock", s_dir, s_ep_seq++);
    return s_ep;
}

typedef struct s_rx {
    int count;
    int last;
    bool in_order;
    int per_iter_max;       /* reused as the target count */
    int this_iter;
    int max_iter;           /* most deliveries seen in one loop iteration */
    int pause_at;           /* pause receiving after this many (0: never) */
    size_t bytes;
    bool close_on_first;
} s_rx;

static void s_on_recv(tg_zsock *s, const void *data, size_t len, void *ud)
{
    s_rx *rx = ud;
    int v = -1;
    if (len >= sizeof v)
        memcpy(&v, data, sizeof v);
    if (v != rx->last + 1)
        rx->in_order = false;
    rx->last = v;
    rx->count++;
    rx->this_iter++;
    rx->bytes += len;
    if (rx->close_on_first)
        tg_zsock_close(s);
    else if (rx->pause_at && rx->count == rx->pause_at)
        tg_zsock_pause_recv(s);
}

static bool s_count_at_least(void *ud)
{
    s_rx *rx = ud;
    return rx->count >= rx->per_iter_max;   /* reused as target */
}

/* check runs once at the end of every loop iteration */
static void s_check(uv_check_t *c)
{
    s_rx *rx = c->data;
    if (rx->this_iter > rx->max_iter)
        rx->max_iter = rx->this_iter;
    rx->this_iter = 0;
}

static void test_delivery_order_and_batch(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    tg_zsock_opts po = {.sndhwm = 100000};
    const char *ep = s_new_ep();
    /* the connecting side queues at once (no ZMQ_IMMEDIATE) */
    tg_zsock_opts qo = {.rcvhwm = 100000, .batch = 64};
    tg_zsock *pull = tg_zsock_new(&loop, s_ctx, ZMQ_PULL, ep, true, &qo, err,
                                  sizeof err);
    tg_zsock *push = tg_zsock_new(&loop, s_ctx, ZMQ_PUSH, ep, false, &po, err,
                                  sizeof err);
    ASSERT_NOT_NULL(push);
    ASSERT_NOT_NULL(pull);
    s_rx rx = {.last = -1, .in_order = true, .per_iter_max = 2000};
    tg_zsock_on_recv(pull, s_on_recv, &rx);
    /* count deliveries per loop iteration */
    uv_check_t chk;
    uv_check_init(&loop, &chk);
    chk.data = &rx;
    uv_check_start(&chk, s_check);
    for (int i = 0; i < 2000; i++)
        ASSERT_EQ(tg_zsock_send(push, &i, sizeof i), 0);
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    ASSERT_EQ(rx.count, 2000);
    ASSERT(rx.in_order);
    /* one wake-up delivers at most `batch`; an iteration has at most two
     * wake-ups (idle, then poll) */
    fprintf(stderr, "most deliveries in one iteration: %d\n", rx.max_iter);
    ASSERT(rx.max_iter <= 2 * 64);
    ASSERT(rx.max_iter >= 1);
    tg_zsock_stats st;
    tg_zsock_stats_get(push, &st);
    ASSERT_U64_EQ(st.sent, 2000);
    tg_zsock_stats_get(pull, &st);
    ASSERT_U64_EQ(st.recv, 2000);
    uv_close((uv_handle_t *)&chk, NULL);
    tg_zsock_close(push);
    tg_zsock_close(pull);
    tg_zsock_close(NULL);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
}

typedef struct s_bp {
    bool writable;
} s_bp;

static void s_on_writable(tg_zsock *s, void *ud)
{
    (void)s;
    ((s_bp *)ud)->writable = true;
}

static bool s_is_writable(void *ud)
{
    return ((s_bp *)ud)->writable;
}

static void test_backpressure(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    const char *ep = s_new_ep();
    tg_zsock_opts po = {.sndhwm = 4};
    tg_zsock_opts qo = {.rcvhwm = 4};
    tg_zsock *pull = tg_zsock_new(&loop, s_ctx, ZMQ_PULL, ep, true, &qo, err,
                                  sizeof err);
    tg_zsock *push = tg_zsock_new(&loop, s_ctx, ZMQ_PUSH, ep, false, &po, err,
                                  sizeof err);
    ASSERT_NOT_NULL(pull);
    ASSERT_NOT_NULL(push);
    s_rx rx = {.last = -1, .in_order = true};
    tg_zsock_on_recv(pull, s_on_recv, &rx);
    tg_zsock_pause_recv(pull);
    ASSERT(tg_zsock_recv_paused(pull));
    s_bp bp = {0};
    tg_zsock_on_writable(push, s_on_writable, &bp);
    /* fill: HWMs plus kernel buffers; 64 KiB frames reach EAGAIN soon */
    static char frame[65536];
    int sent = 0, rc = 0;
    for (int i = 0; i < 10000; i++) {
        memcpy(frame, &i, sizeof i);
        rc = tg_zsock_send(push, frame, sizeof frame);
        if (rc != 0)
            break;
        sent++;
        uv_run(&loop, UV_RUN_NOWAIT);   /* let the I/O thread move data */
    }
    ASSERT_EQ(rc, -EAGAIN);
    ASSERT(sent > 0);
    ASSERT_EQ(rx.count, 0);             /* paused: nothing delivered */
    tg_zsock_stats st;
    tg_zsock_stats_get(push, &st);
    ASSERT(st.send_eagain >= 1);
    ASSERT(!bp.writable);
    /* resume downstream: the sender is told it may send again */
    tg_zsock_resume_recv(pull);
    ASSERT(tgt_run_until(&loop, s_is_writable, &bp, 10000));
    rx.per_iter_max = sent;
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    ASSERT_EQ(rx.count, sent);
    ASSERT(rx.in_order);
    tg_zsock_close(push);
    tg_zsock_close(pull);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
}

/* Zero-copy sends: a sent buffer belongs to zmq (the pointer is cleared
 * and zmq frees it), a refused one stays the caller's; every byte arrives
 * (ASan checks the frees). */
static void test_send_owned(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    const char *ep = s_new_ep();
    tg_zsock_opts po = {.sndhwm = 4};
    tg_zsock_opts qo = {.rcvhwm = 4};
    tg_zsock *pull = tg_zsock_new(&loop, s_ctx, ZMQ_PULL, ep, true, &qo, err,
                                  sizeof err);
    tg_zsock *push = tg_zsock_new(&loop, s_ctx, ZMQ_PUSH, ep, false, &po, err,
                                  sizeof err);
    ASSERT_NOT_NULL(pull);
    ASSERT_NOT_NULL(push);
    s_rx rx = {.last = -1, .in_order = true};
    tg_zsock_on_recv(pull, s_on_recv, &rx);
    tg_zsock_pause_recv(pull);
    s_bp bp = {0};
    tg_zsock_on_writable(push, s_on_writable, &bp);
    const size_t flen = 65536;
    int sent = 0, rc = 0;
    for (int i = 0; i < 10000; i++) {
        char *f = malloc(flen);
        ASSERT_NOT_NULL(f);
        memset(f, 'a' + i % 26, flen);
        memcpy(f, &i, sizeof i);
        void *buf = f;
        rc = tg_zsock_send_owned(push, &buf, flen);
        if (rc != 0) {
            ASSERT(buf == f);       /* refused: still ours */
            free(buf);
            break;
        }
        ASSERT(buf == NULL);        /* taken */
        sent++;
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    ASSERT_EQ(rc, -EAGAIN);
    ASSERT(sent > 0);
    tg_zsock_resume_recv(pull);
    ASSERT(tgt_run_until(&loop, s_is_writable, &bp, 10000));
    rx.per_iter_max = sent;
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    ASSERT_EQ(rx.count, sent);
    ASSERT(rx.in_order);
    ASSERT_U64_EQ(rx.bytes, (uint64_t)sent * flen);
    tg_zsock_stats st;
    tg_zsock_stats_get(push, &st);
    ASSERT_U64_EQ(st.sent, (uint64_t)sent);
    ASSERT(st.send_eagain >= 1);
    tg_zsock_close(push);
    tg_zsock_close(pull);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
}

static void test_multipart_and_oversize(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    const char *ep = s_new_ep();
    tg_zsock_opts qo = {.max_msg_size = 1000};
    tg_zsock *pull = tg_zsock_new(&loop, s_ctx, ZMQ_PULL, ep, true, &qo, err,
                                  sizeof err);
    ASSERT_NOT_NULL(pull);
    s_rx rx = {.last = -1, .in_order = true};
    tg_zsock_on_recv(pull, s_on_recv, &rx);

    void *raw = zmq_socket(s_ctx, ZMQ_PUSH);
    int zero = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof zero);
    ASSERT_EQ(zmq_connect(raw, ep), 0);
    int v0 = 0, v1 = 1;
    ASSERT(zmq_send(raw, &v0, sizeof v0, ZMQ_SNDMORE) >= 0);
    ASSERT(zmq_send(raw, "tail", 4, 0) >= 0);
    ASSERT(zmq_send(raw, &v0, sizeof v0, 0) >= 0);
    rx.per_iter_max = 1;
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    tg_zsock_stats st;
    tg_zsock_stats_get(pull, &st);
    ASSERT_U64_EQ(st.dropped_multipart, 1);
    ASSERT_EQ(rx.count, 1);
    ASSERT_EQ(rx.last, 0);

    /* an oversized frame: libzmq drops the peer; nothing is delivered,
     * and a new peer is served normally afterwards */
    static char big[5000];
    ASSERT(zmq_send(raw, big, sizeof big, 0) >= 0);
    zmq_close(raw);
    raw = zmq_socket(s_ctx, ZMQ_PUSH);
    zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof zero);
    ASSERT_EQ(zmq_connect(raw, ep), 0);
    ASSERT(zmq_send(raw, &v1, sizeof v1, 0) >= 0);
    rx.per_iter_max = 2;
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    ASSERT_EQ(rx.last, 1);
    ASSERT(rx.bytes < 1000);
    zmq_close(raw);
    tg_zsock_close(pull);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
}

static void test_close_in_callback_and_tcp(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256], ep[256];
    tg_zsock *pull = tg_zsock_new(&loop, s_ctx, ZMQ_PULL, "tcp://127.0.0.1:*",
                                  true, NULL, err, sizeof err);
    ASSERT_NOT_NULL(pull);
    ASSERT_EQ(tg_zsock_last_endpoint(pull, ep, sizeof ep), 0);
    ASSERT(strncmp(ep, "tcp://127.0.0.1:", 16) == 0);
    ASSERT(strcmp(ep, "tcp://127.0.0.1:*") != 0);
    char tiny[4];
    ASSERT_EQ(tg_zsock_last_endpoint(pull, tiny, sizeof tiny), -ENOBUFS);
    tg_zsock *push = tg_zsock_new(&loop, s_ctx, ZMQ_PUSH, NULL, false, NULL,
                                  err, sizeof err);
    ASSERT_NOT_NULL(push);
    ASSERT_EQ(tg_zsock_connect(push, ep), 0);
    ASSERT(tg_zsock_connect(push, "bogus://x") < 0);
    s_rx rx = {.last = -1, .in_order = true, .close_on_first = true,
               .per_iter_max = 1};
    tg_zsock_on_recv(pull, s_on_recv, &rx);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(tg_zsock_send(push, &i, sizeof i), 0);
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_EQ(rx.count, 1);          /* closed: no second delivery */
    tg_zsock_close(push);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);

    /* constructor errors */
    uv_loop_init(&loop);
    ASSERT(tg_zsock_new(&loop, s_ctx, ZMQ_PULL, "nonsense", true, NULL, err,
                        sizeof err) == NULL);
    ASSERT(strstr(err, "bind nonsense") != NULL);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
}

static void test_curve(void)
{
    if (!zmq_has("curve")) {
        fprintf(stderr, "libzmq without CURVE: skipped\n");
        return;
    }
    char spub[41], ssec[41], cpub[41], csec[41], opub[41], osec[41];
    ASSERT_EQ(zmq_curve_keypair(spub, ssec), 0);
    ASSERT_EQ(zmq_curve_keypair(cpub, csec), 0);
    ASSERT_EQ(zmq_curve_keypair(opub, osec), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    const char *ep = s_new_ep();
    tg_zsock_opts so = {.curve_server = true, .curve_secret = ssec};
    tg_zsock *pull = tg_zsock_new(&loop, s_ctx, ZMQ_PULL, ep, true, &so, err,
                                  sizeof err);
    ASSERT_NOT_NULL(pull);
    s_rx rx = {.last = -1, .in_order = true, .per_iter_max = 1};
    tg_zsock_on_recv(pull, s_on_recv, &rx);
    /* a client that trusts the wrong server key gets nothing through */
    tg_zsock_opts bad = {.curve_public = cpub, .curve_secret = csec,
                         .curve_serverkey = opub};
    tg_zsock *evil = tg_zsock_new(&loop, s_ctx, ZMQ_PUSH, ep, false, &bad,
                                  err, sizeof err);
    ASSERT_NOT_NULL(evil);
    int v = 0;
    ASSERT_EQ(tg_zsock_send(evil, &v, sizeof v), 0);
    tg_zsock_opts co = {.curve_public = cpub, .curve_secret = csec,
                        .curve_serverkey = spub};
    tg_zsock *push = tg_zsock_new(&loop, s_ctx, ZMQ_PUSH, ep, false, &co,
                                  err, sizeof err);
    ASSERT_NOT_NULL(push);
    ASSERT_EQ(tg_zsock_send(push, &v, sizeof v), 0);
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    ASSERT_EQ(rx.count, 1);
    /* give the bad handshake time to fail; still only one message */
    rx.per_iter_max = 2;
    ASSERT(!tgt_run_until(&loop, s_count_at_least, &rx, 300));
    tg_zsock_close(evil);
    tg_zsock_close(push);
    tg_zsock_close(pull);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
}

static void test_pause_in_callback(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    const char *ep = s_new_ep();
    tg_zsock *pull = tg_zsock_new(&loop, s_ctx, ZMQ_PULL, ep, true, NULL, err,
                                  sizeof err);
    tg_zsock *push = tg_zsock_new(&loop, s_ctx, ZMQ_PUSH, ep, false, NULL,
                                  err, sizeof err);
    ASSERT(pull && push);
    s_rx rx = {.last = -1, .in_order = true, .pause_at = 3,
               .per_iter_max = 3};
    tg_zsock_on_recv(pull, s_on_recv, &rx);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(tg_zsock_send(push, &i, sizeof i), 0);
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    /* paused from inside the callback: nothing more arrives */
    rx.per_iter_max = 4;
    ASSERT(!tgt_run_until(&loop, s_count_at_least, &rx, 100));
    ASSERT_EQ(rx.count, 3);
    rx.pause_at = 0;
    rx.per_iter_max = 10;
    tg_zsock_resume_recv(pull);
    ASSERT(tgt_run_until(&loop, s_count_at_least, &rx, 10000));
    ASSERT_EQ(rx.count, 10);
    ASSERT(rx.in_order);
    tg_zsock_close(push);
    tg_zsock_close(pull);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
}

int main(void)
{
    tg_test_state st = {0};
    s_ctx = zmq_ctx_new();
    s_dir = tgt_tmpdir("zsock");
    TG_RUN(&st, test_delivery_order_and_batch);
    TG_RUN(&st, test_backpressure);
    TG_RUN(&st, test_send_owned);
    TG_RUN(&st, test_pause_in_callback);
    TG_RUN(&st, test_multipart_and_oversize);
    TG_RUN(&st, test_close_in_callback_and_tcp);
    TG_RUN(&st, test_curve);
    zmq_ctx_term(s_ctx);
    tgt_rm_rf(s_dir);
    free(s_dir);
    TG_DONE(&st);
}
