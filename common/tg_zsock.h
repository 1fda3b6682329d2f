/*
 * tg_zsock.h - ZeroMQ PUSH/PULL sockets driven by a libuv loop.
 *
 * Owner: common.
 *
 * DESIGN
 * A tg_zsock wraps one zmq socket and watches its ZMQ_FD with a uv_poll.
 * ZMQ_FD is edge-triggered and also signals when nothing is readable, so
 * the only truth is ZMQ_EVENTS: it is re-checked after every poll wake-up,
 * after every send and after every receive.  When messages remain after a
 * batch (opts.batch, default 64 per loop iteration, so one busy socket
 * cannot starve the loop) or after a send consumed the edge, a uv_idle
 * handle runs the check again on the next iteration.
 *
 * Messages are single-part (each frame is one msgpack buffer).  Multi-part
 * messages are read to the end, dropped and counted (dropped_multipart).
 * Messages larger than opts.max_msg_size are refused by libzmq itself
 * (ZMQ_MAXMSGSIZE: the sending peer is disconnected and the frame never
 * reaches us, so it is not counted; the peer reconnects by itself); a
 * second check of ours drops and counts (dropped_oversize) anything that
 * slips through.
 *
 * Sending never blocks: tg_zsock_send() (copies) and tg_zsock_send_owned()
 * (zero-copy: zmq frees the buffer once sent) return -EAGAIN when the high
 * water mark is reached (or no peer is connected for PUSH with
 * opts.immediate); register tg_zsock_on_writable() to be told once when a
 * send would succeed again.  Pause receiving to push back upstream: while
 * paused, messages stay queued in zmq and the sender's HWM fills up.
 *
 * Single-threaded: every call from the loop thread.
 */
#ifndef TG_ZSOCK_H
#define TG_ZSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct tg_zsock tg_zsock;

typedef struct tg_zsock_opts {
    int sndhwm;             /* ZMQ_SNDHWM; 0 = zmq default (1000) */
    int rcvhwm;             /* ZMQ_RCVHWM; 0 = zmq default (1000) */
    int linger_ms;          /* ZMQ_LINGER; 0 = drop at close (default 0
                               unless set; -1 = wait forever) */
    bool linger_set;        /* use linger_ms (otherwise linger is 0) */
    int64_t max_msg_size;   /* ZMQ_MAXMSGSIZE; <= 0 = no limit */
    unsigned batch;         /* max messages per wake-up (the rest wait
                               for the next loop iteration); 0 = 64 */
    bool immediate;         /* ZMQ_IMMEDIATE: queue only on completed
                               connections (PUSH: -EAGAIN with no peer) */
    int sockbuf;            /* ZMQ_SNDBUF and ZMQ_RCVBUF (kernel socket
                               buffers, capped by net.core.[wr]mem_max);
                               0 = the OS default */
    /* CURVE (Z85 text keys, 40 chars; NULL = plain).  A server sets
     * curve_secret (its own) and curve_server = true; a client sets
     * curve_public, curve_secret (its own) and curve_serverkey. */
    bool curve_server;
    const char *curve_public;
    const char *curve_secret;
    const char *curve_serverkey;
} tg_zsock_opts;

typedef struct tg_zsock_stats {
    uint64_t recv;              /* messages delivered to on_recv */
    uint64_t sent;              /* messages accepted by tg_zsock_send */
    uint64_t send_eagain;       /* sends refused with -EAGAIN */
    uint64_t dropped_multipart; /* multi-part messages dropped */
    uint64_t dropped_oversize;  /* messages > max_msg_size dropped */
    uint64_t errors;            /* other zmq errors seen */
} tg_zsock_stats;

/* `data` is borrowed: valid only during the callback. */
typedef void (*tg_zsock_recv_cb)(tg_zsock *s, const void *data, size_t len,
                                 void *ud);
typedef void (*tg_zsock_writable_cb)(tg_zsock *s, void *ud);

/*
 * Create a socket of `type` (ZMQ_PUSH or ZMQ_PULL; other single-part types
 * work too) on zmq_ctx (borrowed; must outlive the socket), then bind or
 * connect it to `endpoint` (may be NULL: add endpoints later).
 * opts may be NULL (defaults).  Caller owns result; release with
 * tg_zsock_close().  NULL on error with detail in err.
 */
tg_zsock *tg_zsock_new(uv_loop_t *loop, void *zmq_ctx, int type,
                       const char *endpoint, bool bind,
                       const tg_zsock_opts *opts, char *err, size_t errlen);

/* Add endpoints.  0 or -errno (zmq's errno). */
int tg_zsock_connect(tg_zsock *s, const char *endpoint);
int tg_zsock_bind(tg_zsock *s, const char *endpoint);
int tg_zsock_disconnect(tg_zsock *s, const char *endpoint);

/* The last endpoint bound (ZMQ_LAST_ENDPOINT: resolves "tcp://127.0.0.1:*"
 * to the real port).  0, or -ENOBUFS if buf is too small. */
int tg_zsock_last_endpoint(tg_zsock *s, char *buf, size_t buflen);

/* Set (or clear with cb NULL) the receive callback; starts receiving
 * unless paused. */
void tg_zsock_on_recv(tg_zsock *s, tg_zsock_recv_cb cb, void *ud);

/*
 * Queue one message (copied).  Returns 0, -EAGAIN when the HWM is full
 * (nothing queued; wait for on_writable), or another -errno.  Never
 * blocks.  Safe to call from inside callbacks.
 */
int tg_zsock_send(tg_zsock *s, const void *data, size_t len);

/*
 * Queue one message without copying it: *buf (from malloc(), len bytes) is
 * handed to zmq, which frees it with free() once sent (from its I/O
 * thread).  On success takes ownership of *buf and sets it to NULL.  On
 * failure (-EAGAIN as for tg_zsock_send(), or another -errno) nothing is
 * queued and the caller still owns *buf.
 */
int tg_zsock_send_owned(tg_zsock *s, void **buf, size_t len);

/* Called once, from the loop, after a send returned -EAGAIN and the
 * socket can take a message again.  Re-armed by the next -EAGAIN. */
void tg_zsock_on_writable(tg_zsock *s, tg_zsock_writable_cb cb, void *ud);

/* Stop / restart delivering messages.  Idempotent.  A callback may call
 * pause: no further message is delivered by the current batch. */
void tg_zsock_pause_recv(tg_zsock *s);
void tg_zsock_resume_recv(tg_zsock *s);
bool tg_zsock_recv_paused(const tg_zsock *s);

/* Counters since creation. */
void tg_zsock_stats_get(const tg_zsock *s, tg_zsock_stats *out);

/* Frames dropped by the socket (multi-part or oversized) since *seen, which
 * is updated; 0 for a NULL socket.  Lets a daemon feed a counter metric. */
uint64_t tg_zsock_dropped_new(const tg_zsock *s, uint64_t *seen);

/* The underlying zmq socket, borrowed (for setsockopt in tests). */
void *tg_zsock_raw(tg_zsock *s);

/*
 * Close the zmq socket now (pending outgoing messages are kept for
 * linger_ms), stop all callbacks, and close the uv handles.  Memory is
 * freed by the handles' close callbacks, so the loop must run once more
 * (uv_run) before uv_loop_close().  `s` is invalid after the call.
 * Safe from inside this socket's callbacks.  NULL is a no-op.
 * Close every socket before zmq_ctx_term() (which blocks on open sockets).
 */
void tg_zsock_close(tg_zsock *s);

#endif /* TG_ZSOCK_H */
