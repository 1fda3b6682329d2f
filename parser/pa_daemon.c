/*
 * pa_daemon.c - the parser daemon; see pa_daemon.h for the design.
 */
#include "pa_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "pa_decode.h"
#include "tg_log.h"
#include "tg_metrics.h"
#include "tg_msg.h"
#include "tg_shm.h"
#include "tg_zsock.h"

#define S_DRAIN_MS 10000
/* A shm segment filled but not claimed for this long is abandoned (its
 * frame was lost with a killed evaluator's queue; the fetcher resends the
 * job).  Segments are reused as soon as an evaluator is done with them. */
#define S_SHM_LEASE_MS 10000
/* How long pa_daemon_free waits for the evaluators to finish the
 * segments still in use before removing the files. */
#define S_SHM_CLOSE_WAIT_MS 2000

const tg_conf_entry pa_config_table[] = {
    { TG_CONF_STRLIST, "connect", "ipc:///run/trailguard/jobs",
      offsetof(pa_config, connect), "fetcher job endpoints to connect to" },
    { TG_CONF_STR, "bind", "ipc:///run/trailguard/batches", offsetof(pa_config, bind),
      "batch PUSH endpoint (evaluators connect here)" },
    { TG_CONF_SIZE, "batch_bytes", "1MiB", offsetof(pa_config, batch_bytes),
      "target size of a batch frame" },
    { TG_CONF_SIZE, "max_record", "1MiB", offsetof(pa_config, max_record),
      "records larger than this are errors" },
    { TG_CONF_SIZE, "max_file", "256MiB", offsetof(pa_config, max_file),
      "decompressed size limit per file (the parser holds one job's frames, "
      "about twice this, in memory)" },
    { TG_CONF_SIZE, "max_queue", "8MiB", offsetof(pa_config, max_queue),
      "unsent batch bytes at which decoding waits for the evaluators" },
    { TG_CONF_UINT, "sndhwm", "4", offsetof(pa_config, sndhwm),
      "batch frames queued per evaluator connection (frames are batch_bytes "
      "each: 4 x 1 MiB)" },
    { TG_CONF_UINT, "rcvhwm", "2", offsetof(pa_config, rcvhwm),
      "job frames queued per fetcher connection" },
    { TG_CONF_BOOL, "shm", "true", offsetof(pa_config, shm),
      "with an ipc:// bind, hand batch frames to the evaluators through "
      "shared memory segments in shm_dir instead of the socket" },
    { TG_CONF_UINT, "shm_segments", "16", offsetof(pa_config, shm_segments),
      "shared memory segments at most, 2 or more (each holds one batch "
      "frame; when all are in use, decoding waits for the evaluators)" },
    { TG_CONF_UINT, "metrics.port", "9102", offsetof(pa_config, metrics_port),
      "Prometheus port (0 = ephemeral)" },
    TG_CONF_END,
};

typedef struct s_frame {
    char *data;
    size_t len;
    int slot;               /* >= 0: built in this shm slot; -1: malloc'd */
} s_frame;

struct pa_daemon {
    uv_loop_t *loop;
    tg_msg_logbudget badlog;    /* rate limit for bad-frame lines */
    uint64_t drops_seen;        /* tg_zsock drops already counted */
    void *zctx;
    tg_curve *curve;            /* CURVE keys and ZAP handler */
    tg_zsock *in, *out;
    char *bind;
    tg_metrics *reg;
    tg_metrics_server *msrv;
    uv_timer_t drain, stats;
    pa_decoder *dec;
    size_t batch_bytes;
    size_t max_queue;
    msgpack_zone zone;
    /* the job being built / sent: finished frames q[q_head..q_tail), each
     * its own malloc'd buffer handed to zmq without a copy
     * (tg_zsock_send_owned); the frame being built is `cur` */
    msgpack_sbuffer cur;
    s_frame *q;
    size_t q_head, q_tail, cap;
    size_t q_bytes;         /* bytes in q[q_head..q_tail) */
    uint32_t nbatches;      /* frames of this job so far (next index) */
    bool held;              /* frame q_tail-1 waits: it may be the last */
    bool decoding;
    tg_msg_batch_builder b;
    tg_msg_hdr hdr;
    tg_shm_pool *shm;       /* NULL: frames go inline through the socket */
    int cur_slot;           /* shm slot `cur` is built in, -1: malloc'd */
    msgpack_sbuffer ref;    /* the shm frame being sent */
    const char *uri;        /* borrowed from the job frame during decode */
    size_t nrecords, nerrors;
    bool busy, stopping, closed;
    uint64_t t0;
    tg_metric *m_frames_in, *m_frames_out, *m_records_in, *m_records_out,
        *m_err_bad, *m_err_send, *m_inflight, *m_queue, *m_latency, *m_bytes,
        *m_shm, *m_inline, *m_shm_segments, *m_shm_busy;
};

static void s_send_frames(pa_daemon *d);

/* Kernel buffer of the batch socket: room for a whole 1 MiB frame and more,
 * so a frame goes out in one or two writes instead of six (the default is
 * about 208 KiB).  The evaluator asks the same for its end. */
#define S_SOCKBUF (2 << 20)

static uint64_t s_now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/*
 * Build the next frame in a shm segment: it then goes to the evaluators
 * without a copy.  When every segment is in use, wait for one, sending the
 * queued frames meanwhile (some of them hold segments): that is the
 * back-pressure of the shared memory path, as s_wait_room() is the
 * socket's.  The segments stuck with a dead evaluator come back after the
 * lease.  Any other failure builds the frame on the heap.
 */
static void s_cur_reserve(pa_daemon *d)
{
    uint64_t t0 = s_now_ms();
    bool warned = false;
    for (;;) {
        char *data;
        size_t cap;
        int slot = tg_shm_pool_reserve(d->shm, s_now_ms(), &data, &cap);
        if (slot >= 0) {
            d->cur.data = data;
            d->cur.alloc = cap;
            d->cur_slot = slot;
            return;
        }
        if (slot != -EAGAIN)
            return; /* a malloc'd frame, copied into a segment or sent inline */
        s_send_frames(d);
        nanosleep(&(struct timespec){ 0, 200000 }, NULL);
        if (!warned && s_now_ms() - t0 > 5000) {
            tg_log_warn("every shm segment is in use for 5 s; decoding waits uri=%s", d->uri);
            warned = true;
        }
    }
}

/* The frame being built needs `need` more bytes than its segment has: move
 * it to the heap (rare: a huge record or error list). */
static void s_cur_to_heap(pa_daemon *d, size_t need)
{
    size_t cap = d->cur.size + need + (64u << 10);
    char *p = malloc(cap);
    if (!p)
        abort();
    memcpy(p, d->cur.data, d->cur.size);
    tg_shm_pool_cancel(d->shm, d->cur_slot);
    d->cur.data = p;
    d->cur.alloc = cap;
    d->cur_slot = -1;
}

/* Make sure `need` more bytes fit without the sbuffer reallocating: a
 * segment-backed frame cannot grow. */
static void s_cur_room(pa_daemon *d, size_t need)
{
    if (d->cur_slot >= 0 && d->cur.alloc - d->cur.size < need)
        s_cur_to_heap(d, need);
}

static void s_batch_open(pa_daemon *d, uint64_t first)
{
    if (!d->cur.data && d->shm)
        s_cur_reserve(d);
    if (!d->cur.data) {
        /* a frame closes once it reaches batch_bytes: room for that and
         * a typical record more, so it is rarely reallocated */
        d->cur.alloc = d->batch_bytes + d->batch_bytes / 4 + 4096;
        d->cur.data = malloc(d->cur.alloc);
        if (!d->cur.data)
            abort();
    }
    d->cur.size = 0;
    d->hdr.index = d->nbatches;
    d->hdr.first = first;
    d->hdr.count = 0; /* "more follow"; the last frame gets the total */
    /* the header repeats the job's strings, which a job frame may make
     * long */
    s_cur_room(d, d->hdr.ack.n + d->hdr.uri.n + d->hdr.identity.n + 256);
    tg_msg_batch_begin(&d->b, &d->hdr);
}

/* Forget sent frames at the front of the queue. */
static void s_compact(pa_daemon *d)
{
    if (d->q_head == d->q_tail) {
        d->q_head = d->q_tail = 0;
    } else if (d->q_head >= 64 && d->q_head * 2 >= d->q_tail) {
        memmove(d->q, d->q + d->q_head, (d->q_tail - d->q_head) * sizeof(*d->q));
        d->q_tail -= d->q_head;
        d->q_head = 0;
    }
}

/* Free unsent frames (job abandoned at shutdown). */
static void s_drop_queue(pa_daemon *d)
{
    for (size_t i = d->q_head; i < d->q_tail; i++) {
        if (d->q[i].slot >= 0)
            tg_shm_pool_cancel(d->shm, d->q[i].slot);
        else
            free(d->q[i].data);
    }
    d->q_head = d->q_tail = 0;
    d->q_bytes = 0;
}

/* Back-pressure while decoding: the decoder cannot be suspended, so when
 * more than max_queue bytes of frames wait, block here (zmq_poll on the
 * batch socket) until the evaluators take some.  Memory stays bounded by
 * max_queue plus one decompressed file, whatever the file size. */
static void s_wait_room(pa_daemon *d)
{
    bool warned = false;
    while (d->q_bytes > d->max_queue && d->q_head + 1 < d->q_tail) {
        zmq_pollitem_t it = { tg_zsock_raw(d->out), 0, ZMQ_POLLOUT, 0 };
        int n = zmq_poll(&it, 1, 1000);
        if (n < 0 && zmq_errno() != EINTR) {
            tg_log_error("batch socket poll failed: %s", zmq_strerror(zmq_errno()));
            return;
        }
        if (n == 0 && !warned) {
            tg_log_warn("evaluators are not taking batches; decoding waits uri=%s",
                        d->uri);
            warned = true;
        }
        s_send_frames(d);
    }
}

/* Close the frame being built.  It is held back (it may be the job's last,
 * whose count field is patched at the end); the previously held one can
 * now go. */
static void s_batch_close(pa_daemon *d)
{
    if (!d->b.open)
        return;
    /* the errors list is appended now */
    if (d->cur_slot >= 0 && tg_msg_batch_size(&d->b) + 64 > d->cur.alloc)
        s_cur_to_heap(d, tg_msg_batch_size(&d->b) - d->cur.size + 64);
    tg_msg_batch_end(&d->b);
    if (d->q_tail == d->cap) {
        s_compact(d);
        if (d->q_tail == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 64;
            d->q = realloc(d->q, d->cap * sizeof(*d->q));
            if (!d->q)
                abort();
        }
    }
    d->q[d->q_tail++] = (s_frame){ d->cur.data, d->cur.size, d->cur_slot };
    d->q_bytes += d->cur.size;
    d->cur.data = NULL; /* the queue owns it now */
    d->cur_slot = -1;
    d->cur.size = d->cur.alloc = 0;
    d->nbatches++;
    d->held = true;
    s_send_frames(d);
    s_wait_room(d);
}

static const char *s_err_kind(int code)
{
    switch (code) {
    case PA_EEMPTY: return "empty";
    case PA_ENOTCT: return "not_cloudtrail";
    case PA_EJSON: return "invalid_json";
    case PA_EGZIP: return "gzip";
    case PA_ETOOBIG: return "record_too_big";
    case PA_ERECORD: return "invalid_record";
    default: return "io";
    }
}

static void s_count_error(pa_daemon *d, int code)
{
    tg_metric_inc(tg_metrics_counter(d->reg, "trailguard_errors_total",
        "Errors by kind", (const char *[]){ "kind", s_err_kind(code), NULL }));
}

static void s_add_error(pa_daemon *d, int64_t index, int code, const char *msg)
{
    /* records of a frame are contiguous (index = first + i): an error in
     * the middle of a frame ends it, and the error rides in a frame whose
     * first index is the record after it */
    if (d->b.open && d->b.nrecords > 0 && index >= 0)
        s_batch_close(d);
    if (!d->b.open)
        s_batch_open(d, index >= 0 ? (uint64_t)index + 1 : 0);
    tg_msg_batch_add_error(&d->b, tg_str_c(d->uri), index, tg_str_c(msg));
    d->nerrors++;
    s_count_error(d, code);
    if (index >= 0)
        tg_log_warn("decode error uri=%s record=%" PRId64 " kind=%s: %s",
                    d->uri, index, s_err_kind(code), msg);
    else
        tg_log_warn("decode error uri=%s kind=%s: %s", d->uri, s_err_kind(code), msg);
}

static int s_on_record(void *ud, const pa_record *rec)
{
    pa_daemon *d = ud;
    if (d->b.open && (tg_msg_batch_size(&d->b) >= d->batch_bytes ||
                      d->hdr.first + d->b.nrecords != rec->index))
        s_batch_close(d);
    if (!d->b.open)
        s_batch_open(d, rec->index);
    if (d->cur_slot >= 0) {
        /* what this record can add: its raw bytes and its map, which is at
         * most 3 bytes per byte of JSON (a 9-byte double for "-0," is the
         * worst), with headers; a segment-backed frame must not grow */
        size_t need = rec->len + 16 + (rec->packed ? rec->packed_len : 4 * rec->len + 64);
        if (d->cur.alloc - d->cur.size < need && d->b.nrecords > 0) {
            s_batch_close(d);
            s_batch_open(d, rec->index);
        }
        s_cur_room(d, need);
    }
    msgpack_packer *pk = tg_msg_batch_record_begin(&d->b, rec->raw, rec->len);
    (void)pk; /* the map goes straight into the frame's buffer */
    if (pa_record_pack_sbuffer(rec, d->b.sbuf) != 0) {
        tg_msg_batch_record_abort(&d->b);
        s_add_error(d, (int64_t)rec->index, PA_ERECORD, "record could not be packed");
        return 0;
    }
    tg_msg_batch_record_end(&d->b);
    d->nrecords++;
    return 0;
}

static void s_on_error(void *ud, size_t index, int code, const char *msg)
{
    s_add_error(ud, (int64_t)index, code, msg);
}

/* Decode one job's bytes into batch frames (queued in d->q). */
static void s_build(pa_daemon *d, const void *data, size_t len)
{
    char err[512] = "";
    pa_decode_cb cb = { s_on_record, s_on_error, d };
    pa_decode_stats st;
    memset(&st, 0, sizeof st);
    /* messages read "file <name>: ...": name local files by their path */
    const char *name = strncmp(d->uri, "file://", 7) == 0 ? d->uri + 7 : d->uri;
    int rc = pa_decoder_run(d->dec, data, len, name, &cb, &st, err, sizeof err);
    tg_metric_add(d->m_bytes, (double)len);
    if (rc < 0)
        s_add_error(d, -1, rc, err[0] ? err : pa_strerror(rc));
    else if (rc == PA_DIGEST)
        tg_log_debug("digest file skipped uri=%s", d->uri);
    if (!d->b.open && d->nbatches == 0)
        s_batch_open(d, 0); /* every job yields at least one frame */
    s_batch_close(d);
}

static int s_read_path(pa_daemon *d, tg_str path)
{
    char p[4096];
    if (path.n >= sizeof p)
        return -ENAMETOOLONG;
    memcpy(p, path.p, path.n);
    p[path.n] = '\0';
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (st.st_size == 0) {
        close(fd);
        s_build(d, "", 0);
        return 0;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return -e;
    madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
    s_build(d, m, (size_t)st.st_size);
    munmap(m, (size_t)st.st_size);
    return 0;
}

/* Frames tg_zsock dropped below the receive callback (multi-part,
 * oversized) count as bad frames too. */
static void s_close_all(pa_daemon *d);

static void s_job_sent(pa_daemon *d)
{
    tg_metric_observe(d->m_latency, (double)(uv_hrtime() - d->t0) / 1e9);
    tg_metric_add(d->m_records_out, (double)d->nrecords);
    d->busy = false;
    s_drop_queue(d);
    tg_metric_set(d->m_inflight, 0);
    tg_metric_set(d->m_queue, 0);
    if (d->stopping)
        s_close_all(d);
    else
        tg_zsock_resume_recv(d->in);
}

/*
 * Frame f was built on the heap (no segment was free then, or it outgrew
 * its segment): move it into a free segment if there is one and it fits,
 * making it a slot-backed frame.  Never waits for a segment: the segments
 * in use may be held by frames queued behind this one.  Returns true if f
 * now lives in a segment.
 */
static bool s_frame_to_slot(pa_daemon *d, s_frame *f)
{
    char *data;
    size_t cap;
    int slot = tg_shm_pool_reserve(d->shm, s_now_ms(), &data, &cap);
    if (slot < 0) {
        if (slot != -EAGAIN)
            tg_log_warn("shm segment unavailable, frame sent inline error=%s",
                        tg_strerror(slot));
        return false;
    }
    if (f->len > cap) {
        tg_shm_pool_cancel(d->shm, slot);
        return false;
    }
    memcpy(data, f->data, f->len);
    free(f->data);
    f->data = data;
    f->slot = slot;
    return true;
}

/* Send frame f, built in its shm slot: publish the slot, send its
 * reference.  Returns 0, -EAGAIN (the socket is full) or -errno. */
static int s_send_slot(pa_daemon *d, s_frame *f)
{
    tg_msg_shm ref;
    tg_shm_pool_publish(d->shm, f->slot, f->len, s_now_ms(), &ref);
    d->ref.size = 0;
    tg_msg_encode_shm(&d->ref, &ref);
    int rc = tg_zsock_send(d->out, d->ref.data, d->ref.size);
    if (rc < 0) {
        tg_shm_pool_unpublish(d->shm, f->slot);
        if (rc == -EAGAIN)
            return rc;
        tg_shm_pool_cancel(d->shm, f->slot);
    }
    f->slot = -1;
    f->data = NULL; /* the readers' now (or dropped on error) */
    if (rc == 0)
        tg_metric_inc(d->m_shm);
    return rc;
}

static int s_send_inline(pa_daemon *d, s_frame *f)
{
    void *buf = f->data;
    int rc = tg_zsock_send_owned(d->out, &buf, f->len);
    f->data = buf; /* NULL once zmq owns it */
    if (rc == 0 && d->shm)
        tg_metric_inc(d->m_inline);
    return rc;
}

/* Send every frame that may go: all queued ones but a held one. */
static void s_send_frames(pa_daemon *d)
{
    while (d->q_head + (d->held ? 1 : 0) < d->q_tail) {
        s_frame *f = &d->q[d->q_head];
        size_t flen = f->len;
        if (f->slot < 0 && d->shm)
            s_frame_to_slot(d, f);
        int rc = f->slot >= 0 ? s_send_slot(d, f) : s_send_inline(d, f);
        if (rc == -EAGAIN)
            break; /* on_writable resumes */
        if (rc < 0) {
            tg_metric_inc(d->m_err_send);
            tg_log_error("batch send failed error=%s", tg_strerror(rc));
            free(f->data);
            f->data = NULL;
        } else {
            tg_metric_inc(d->m_frames_out);
        }
        d->q_bytes -= flen;
        d->q_head++;
    }
    s_compact(d);
    tg_metric_set(d->m_queue, (double)(d->q_tail - d->q_head));
    if (!d->decoding && d->q_head == d->q_tail && d->busy)
        s_job_sent(d);
}

static void s_on_writable(tg_zsock *s, void *ud)
{
    pa_daemon *d = ud;
    (void)s;
    if (d->busy && !d->closed && !d->decoding)
        s_send_frames(d);
}

static void s_on_recv(tg_zsock *s, const void *data, size_t len, void *ud)
{
    pa_daemon *d = ud;
    char err[160];
    tg_msg m;
    (void)s;
    if (d->busy || d->closed)
        return;
    tg_metric_inc(d->m_frames_in);
    msgpack_zone_clear(&d->zone);
    int rc = tg_msg_decode(data, len, 0, &d->zone, &m, err, sizeof err);
    if (rc == 0 && m.kind != TG_MSG_JOB) {
        rc = TG_MSG_E_UNEXPECTED;
        snprintf(err, sizeof err, "expected job, got %s", tg_msg_kind_name(m.kind));
    }
    if (rc) {
        tg_metric_inc(d->m_err_bad);
        if (tg_msg_log_ok(&d->badlog, uv_now(d->loop), 10)) {
            tg_log_warn("bad frame dropped socket=jobs bytes=%zu error=%s", len, err);
            if (d->badlog.suppressed) {
                tg_log_warn("bad frames not logged (rate limit) count=%u", d->badlog.suppressed);
                d->badlog.suppressed = 0;
            }
        }
        return;
    }
    const tg_msg_job *j = &m.u.job;
    char uri[4096];
    snprintf(uri, sizeof uri, "%.*s", (int)j->uri.n, j->uri.p);
    d->t0 = uv_hrtime();
    d->busy = true;
    d->decoding = true;
    d->uri = uri;
    d->nrecords = d->nerrors = 0;
    s_drop_queue(d);
    d->nbatches = 0;
    d->held = false;
    d->hdr = (tg_msg_hdr){ .job = j->id, .ack = j->ack, .uri = j->uri,
                           .identity = j->identity };
    tg_metric_set(d->m_inflight, 1);
    tg_zsock_pause_recv(d->in);
    if (j->has_data) {
        s_build(d, j->data.p, j->data.n);
    } else {
        rc = s_read_path(d, j->path);
        if (rc) {
            char msg[4400];
            snprintf(msg, sizeof msg, "file %s: cannot read: %s",
                     strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri, strerror(-rc));
            s_add_error(d, -1, 0, msg);
            s_batch_close(d);
        }
    }
    /* the held frame is the last: it carries the job's frame count */
    s_frame *last = &d->q[d->q_tail - 1];
    tg_msg_batch_patch_count(last->data, last->len, d->nbatches);
    d->held = false;
    d->decoding = false;
    tg_metric_add(d->m_records_in, (double)d->nrecords);
    tg_log_debug("job decoded uri=%s records=%zu errors=%zu batches=%u attempt=%u",
                 uri, d->nrecords, d->nerrors, d->nbatches, j->attempt);
    d->uri = NULL;
    s_send_frames(d);
}

/* ---- lifecycle ------------------------------------------------------- */

static void s_on_stats(uv_timer_t *t)
{
    pa_daemon *d = t->data;
    tg_metric_add(d->m_err_bad, (double)tg_zsock_dropped_new(d->in, &d->drops_seen));
    if (d->shm) {
        tg_shm_pool_stats st;
        tg_shm_pool_stats_get(d->shm, &st);
        tg_metric_set(d->m_shm_segments, st.segments);
        tg_metric_set(d->m_shm_busy, st.busy);
    }
}

static void s_on_drain(uv_timer_t *t)
{
    pa_daemon *d = t->data;
    tg_log_warn("drain timeout: %zu batch frames not sent", d->q_tail - d->q_head);
    s_close_all(d);
}

static void s_close_all(pa_daemon *d)
{
    if (d->closed)
        return;
    d->closed = true;
    uv_timer_stop(&d->drain);
    uv_close((uv_handle_t *)&d->drain, NULL);
    uv_timer_stop(&d->stats);
    uv_close((uv_handle_t *)&d->stats, NULL);
    tg_zsock_close(d->in);
    tg_zsock_close(d->out);
    d->in = d->out = NULL;
    tg_metrics_server_close(d->msrv);
    d->msrv = NULL;
}

void pa_daemon_stop(pa_daemon *d)
{
    if (d->stopping || d->closed)
        return;
    d->stopping = true;
    tg_zsock_pause_recv(d->in);
    if (!d->busy) {
        s_close_all(d);
        return;
    }
    uv_timer_start(&d->drain, s_on_drain, S_DRAIN_MS, 0);
}

static void s_metrics_init(pa_daemon *d)
{
    tg_metrics *r = d->reg;
    d->m_frames_in = tg_metrics_counter(r, "trailguard_frames_in_total",
        "Frames received", (const char *[]){ "kind", "job", NULL });
    d->m_frames_out = tg_metrics_counter(r, "trailguard_frames_out_total",
        "Frames sent downstream", (const char *[]){ "kind", "batch", NULL });
    d->m_records_in = tg_metrics_counter(r, "trailguard_records_in_total",
        "Records decoded", NULL);
    d->m_records_out = tg_metrics_counter(r, "trailguard_records_out_total",
        "Records sent in batch frames", NULL);
    d->m_bytes = tg_metrics_counter(r, "trailguard_bytes_in_total",
        "File bytes decoded", NULL);
    d->m_err_bad = tg_metrics_counter(r, "trailguard_errors_total",
        "Errors by kind", (const char *[]){ "kind", "bad_frame", NULL });
    d->m_err_send = tg_metrics_counter(r, "trailguard_errors_total",
        "Errors by kind", (const char *[]){ "kind", "send", NULL });
    d->m_inflight = tg_metrics_gauge(r, "trailguard_inflight_jobs",
        "Jobs being decoded or sent", NULL);
    d->m_queue = tg_metrics_gauge(r, "trailguard_queue_length",
        "Batch frames waiting for the evaluators", NULL);
    d->m_latency = tg_metrics_histogram(r, "trailguard_processing_seconds",
        "Time from receiving a job to sending its last batch", NULL, NULL, 0);
    d->m_shm = tg_metrics_counter(r, "trailguard_batch_frames_total",
        "Batch frames sent, by how", (const char *[]){ "how", "shm", NULL });
    d->m_inline = tg_metrics_counter(r, "trailguard_batch_frames_total",
        "Batch frames sent, by how", (const char *[]){ "how", "inline", NULL });
    d->m_shm_segments = tg_metrics_gauge(r, "trailguard_shm_segments",
        "Shared memory segments for batch frames", NULL);
    d->m_shm_busy = tg_metrics_gauge(r, "trailguard_shm_segments_busy",
        "Shared memory segments being filled, or not yet finished by an evaluator", NULL);
}

/* Shared memory for batches when the evaluators are on this host (an
 * ipc:// bind).  Failing to set it up is not fatal: frames go inline. */
static void s_shm_init(pa_daemon *d, const pa_config *cfg, const tg_daemon_common *common)
{
    if (!cfg->shm || strncmp(d->bind, "ipc://", 6) != 0)
        return;
    char err[256];
    tg_shm_pool_opts so = { .dir = common->shm_dir,
                            /* at least 2: the frame held back until its
                             * job ends keeps one */
                            .segments = cfg->shm_segments >= 2 ? (unsigned)cfg->shm_segments : 2,
                            .seg_bytes = d->batch_bytes + d->batch_bytes / 2 + (64u << 10),
                            .lease_ms = S_SHM_LEASE_MS };
    d->shm = tg_shm_pool_new(&so, err, sizeof err);
    if (!d->shm)
        tg_log_warn("batch frames go inline through the socket: %s", err);
}

/* Give the evaluators a moment to finish the segments in use, so that
 * removing the files does not cost them batches. */
static void s_shm_close(pa_daemon *d)
{
    if (!d->shm)
        return;
    for (int i = 0; i < S_SHM_CLOSE_WAIT_MS; i++) {
        tg_shm_pool_stats st;
        tg_shm_pool_stats_get(d->shm, &st);
        if (st.busy == 0)
            break;
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    tg_shm_pool_free(d->shm);
    d->shm = NULL;
}

pa_daemon *pa_daemon_new(uv_loop_t *loop, const pa_config *cfg,
                         const tg_daemon_common *common, char *err,
                         size_t errlen)
{
    pa_daemon *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->loop = loop;
    d->cur_slot = -1;
    d->bind = strdup(cfg->bind ? cfg->bind : "");
    d->batch_bytes = cfg->batch_bytes ? cfg->batch_bytes : TG_MSG_BATCH_TARGET;
    d->max_queue = cfg->max_queue ? cfg->max_queue : (8u << 20);
    msgpack_zone_init(&d->zone, 4096);
    msgpack_sbuffer_init(&d->cur);
    tg_msg_batch_builder_init(&d->b, &d->cur);
    uv_timer_init(loop, &d->drain);
    d->drain.data = d;
    uv_timer_init(loop, &d->stats);
    d->stats.data = d;
    msgpack_sbuffer_init(&d->ref);
    uv_timer_start(&d->stats, s_on_stats, 1000, 1000);
    uv_unref((uv_handle_t *)&d->stats);
    pa_decode_opts o = { .max_record = cfg->max_record, .max_file = cfg->max_file };
    d->dec = pa_decoder_new(&o);
    d->reg = tg_metrics_new();
    if (!d->bind || !d->dec || !d->reg) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s_metrics_init(d);
    s_shm_init(d, cfg, common);
    d->zctx = zmq_ctx_new();
    d->curve = tg_curve_new(loop, d->zctx, &common->curve, d->reg, err, errlen);
    if (!d->curve)
        goto fail;
    tg_zsock_opts oo = { .sndhwm = (int)cfg->sndhwm, .linger_ms = S_DRAIN_MS,
                         .linger_set = true, .sockbuf = S_SOCKBUF };
    tg_curve_server_opts(d->curve, &oo);
    d->out = tg_zsock_new(loop, d->zctx, ZMQ_PUSH, d->bind, true, &oo, err, errlen);
    if (!d->out)
        goto fail;
    tg_zsock_on_writable(d->out, s_on_writable, d);
    tg_zsock_opts io = { .rcvhwm = (int)cfg->rcvhwm,
                         .max_msg_size = (int64_t)(cfg->max_file ? cfg->max_file : (1u << 30)) };
    d->in = tg_zsock_new(loop, d->zctx, ZMQ_PULL, NULL, false, &io, err, errlen);
    if (!d->in)
        goto fail;
    for (size_t i = 0; i < cfg->connect.n; i++) {
        int rc = tg_curve_connect(d->curve, d->in, cfg->connect.v[i]);
        if (rc) {
            snprintf(err, errlen, "connect %s: %s", cfg->connect.v[i], tg_strerror(rc));
            goto fail;
        }
    }
    tg_zsock_on_recv(d->in, s_on_recv, d);
    d->msrv = tg_metrics_serve(loop, d->reg, common->metrics_bind,
                               (int)cfg->metrics_port, common->metrics_token,
                               err, errlen);
    if (!d->msrv)
        goto fail;
    tg_metrics_set_ready(d->reg, true);
    return d;
fail:
    pa_daemon_free(d);
    return NULL;
}

int pa_daemon_metrics_port(const pa_daemon *d)
{
    return d->msrv ? tg_metrics_server_port(d->msrv) : -1;
}

const char *pa_daemon_endpoint(const pa_daemon *d)
{
    return d->bind;
}

void pa_daemon_free(pa_daemon *d)
{
    if (!d)
        return;
    s_close_all(d);
    tg_curve_close(d->curve);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    s_drop_queue(d);
    if (d->cur_slot >= 0) { /* not ours to free */
        tg_shm_pool_cancel(d->shm, d->cur_slot);
        d->cur.data = NULL;
        d->cur_slot = -1;
    }
    s_shm_close(d);
    msgpack_sbuffer_destroy(&d->ref);
    pa_decoder_free(d->dec);
    tg_metrics_free(d->reg);
    tg_msg_batch_builder_fini(&d->b);
    s_drop_queue(d);
    msgpack_sbuffer_destroy(&d->cur);
    msgpack_zone_destroy(&d->zone);
    free(d->q);
    free(d->bind);
    free(d);
}
