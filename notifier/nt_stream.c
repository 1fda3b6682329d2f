/*
 * nt_stream.c - the built-in stream output: Falco JSON or text lines to
 * stdout or a file.
 *
 * DESIGN
 * A batch is formatted on the loop thread into one buffer, then written by
 * a libuv threadpool worker (uv_queue_work), so a slow reader of stdout or
 * of a FIFO never blocks the notifier's loop: /metrics and /healthz keep
 * answering and the systemd watchdog keeps being fed while the write waits.
 * write() returns NT_OUTPUT_PENDING and done() follows from the loop once
 * every byte is written (and, for a file with sync on, fdatasync'd), so a
 * batch is still acknowledged only after it is written.  One write is in
 * flight per output (the daemon hands out one batch at a time), so lines
 * keep their order and the lines of one batch stay contiguous.
 *
 * The worker writes with nt_fd_write_all (notifier/outputs/nt_fdwrite.h),
 * which looks at a cancel flag at least every 100 ms: cancel() (shutdown)
 * or free() abandons a stuck write within that time instead of hanging the
 * exit.  An abandoned
 * batch is not acknowledged and comes again after a restart; the reader
 * may then see the cut line followed by the whole batch.
 *
 * Files are opened O_APPEND (several writers and logrotate's copytruncate
 * stay sane) and, with sync on, fdatasync'd before the batch counts as
 * delivered.  reopen() closes and opens the path again (rename-style
 * rotation); during a write it is done when the write finishes.  Writing to
 * stdout never syncs: a pipe or terminal has nothing durable to sync.
 */
#include "nt_fdwrite.h"
#include "nt_output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct nt_stream {
    nt_output base;
    uv_loop_t *loop;
    char *path;             /* NULL: stdout */
    int fd;
    bool regular;           /* fd is a regular file: writes never wait */
    nt_stream_format fmt;
    bool sync;
    char *buf;
    size_t len, cap;
    /* the write in flight */
    uv_work_t work;
    bool busy;              /* work queued, after_work not yet run */
    bool reopen_pending;    /* SIGHUP arrived during a write */
    bool freed;             /* free() ran during a write: after_work frees */
    atomic_int cancel;      /* worker: give up */
    int result;             /* worker's status, 0 or -errno */
    nt_output_done_fn done;
    void *ud;
} nt_stream;

static void s_put(nt_stream *s, const char *p, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + n)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            abort(); /* supervised daemon: out of memory is fatal */
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void s_work(uv_work_t *req)
{
    nt_stream *s = req->data;
    int rc = nt_fd_write_all(s->fd, s->regular, s->buf, s->len, &s->cancel);
    if (rc == 0 && s->sync && s->path && fdatasync(s->fd) != 0)
        rc = -errno;
    s->result = rc;
}

static int s_open(nt_stream *s, char *err, size_t errlen)
{
    int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "open %s: %s", s->path, strerror(e));
        return -e;
    }
    s->fd = fd;
    s->regular = nt_fd_is_regular(fd);
    return 0;
}

static int s_do_reopen(nt_stream *s, char *err, size_t errlen)
{
    int old = s->fd;
    bool old_regular = s->regular;
    int rc = s_open(s, err, errlen);
    if (rc) {
        s->fd = old; /* keep writing to the old file */
        s->regular = old_regular;
        return rc;
    }
    fdatasync(old);
    close(old);
    return 0;
}

static void s_release(nt_stream *s)
{
    if (s->path) {
        fdatasync(s->fd);
        close(s->fd);
    }
    free(s->path);
    free(s->buf);
    free(s);
}

static void s_after_work(uv_work_t *req, int status)
{
    nt_stream *s = req->data;
    s->busy = false;
    if (s->freed) {
        s_release(s);
        return;
    }
    int rc = status ? status : s->result;
    if (s->reopen_pending) {
        char err[256];
        s->reopen_pending = false;
        s_do_reopen(s, err, sizeof err); /* failure: the old file stays */
    }
    nt_output_done_fn done = s->done;
    s->done = NULL;
    if (done && !atomic_load(&s->cancel))
        done(s->ud, rc);
}

static int s_write(nt_output *o, const nt_alert *alerts, size_t n,
                   nt_output_done_fn done, void *ud, char *err, size_t errlen)
{
    nt_stream *s = (nt_stream *)o;
    if (s->busy) {
        snprintf(err, errlen, "%s: a write is in progress",
                 s->path ? s->path : "stdout");
        return -EBUSY;
    }
    s->len = 0;
    for (size_t i = 0; i < n; i++) {
        const nt_str *line = s->fmt == NT_FORMAT_TEXT ? &alerts[i].output
                                                      : &alerts[i].json;
        if (!line->p)
            continue;
        s_put(s, line->p, line->n);
        s_put(s, "\n", 1);
    }
    if (s->len == 0)
        return 0;
    atomic_store(&s->cancel, 0);
    s->result = 0;
    s->done = done;
    s->ud = ud;
    s->work.data = s;
    int rc = uv_queue_work(s->loop, &s->work, s_work, s_after_work);
    if (rc) {
        snprintf(err, errlen, "%s: %s", s->path ? s->path : "stdout", uv_strerror(rc));
        return rc;
    }
    s->busy = true;
    return NT_OUTPUT_PENDING;
}

static int s_flush(nt_output *o)
{
    nt_stream *s = (nt_stream *)o;
    if (s->path && fdatasync(s->fd) != 0)
        return -errno;
    return 0;
}

static void s_cancel(nt_output *o)
{
    nt_stream *s = (nt_stream *)o;
    if (s->busy)
        atomic_store(&s->cancel, 1);
}

static int s_reopen(nt_output *o, char *err, size_t errlen)
{
    nt_stream *s = (nt_stream *)o;
    if (!s->path)
        return 0;
    if (s->busy) { /* the worker uses fd: swap it when the write is done */
        s->reopen_pending = true;
        return 0;
    }
    return s_do_reopen(s, err, errlen);
}

static void s_free(nt_output *o)
{
    nt_stream *s = (nt_stream *)o;
    if (!s)
        return;
    if (s->busy) { /* the worker still uses buf and fd */
        atomic_store(&s->cancel, 1);
        s->freed = true;
        return;
    }
    s_release(s);
}

static const nt_output_ops s_ops = {
    .kind = "stream",
    .write = s_write,
    .flush = s_flush,
    .reopen = s_reopen,
    .cancel = s_cancel,
    .free = s_free,
};

nt_output *nt_stream_new(uv_loop_t *loop, const char *path,
                         nt_stream_format fmt, bool sync, char *err,
                         size_t errlen)
{
    nt_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &s_ops;
    s->base.min_priority = NT_PRIO_DEBUG;
    s->loop = loop;
    s->fmt = fmt;
    s->sync = sync;
    s->fd = STDOUT_FILENO;
    s->regular = nt_fd_is_regular(s->fd);
    atomic_init(&s->cancel, 0);
    snprintf(s->base.name, sizeof s->base.name, "%s%s",
             path ? "file" : "stdout", fmt == NT_FORMAT_TEXT ? "_text" : "_json");
    if (path) {
        s->path = strdup(path);
        if (!s->path || s_open(s, err, errlen) != 0) {
            free(s->path);
            free(s);
            return NULL;
        }
    }
    return &s->base;
}

nt_output *nt_output_from_spec(uv_loop_t *loop, const char *spec, bool sync,
                               char *err, size_t errlen)
{
    if (!spec || !*spec || strcmp(spec, "json") == 0 || strcmp(spec, "stdout") == 0)
        return nt_stream_new(loop, NULL, NT_FORMAT_JSON, sync, err, errlen);
    if (strcmp(spec, "text") == 0)
        return nt_stream_new(loop, NULL, NT_FORMAT_TEXT, sync, err, errlen);
    if (strncmp(spec, "file:", 5) == 0 && spec[5])
        return nt_stream_new(loop, spec + 5, NT_FORMAT_JSON, sync, err, errlen);
    if (strncmp(spec, "text-file:", 10) == 0 && spec[10])
        return nt_stream_new(loop, spec + 10, NT_FORMAT_TEXT, sync, err, errlen);
    snprintf(err, errlen,
             "unknown output '%s' (json, text, file:PATH, text-file:PATH, "
             "webhook:URL, http:URL, syslog:ADDRESS, securityhub[:REGION], "
             "cloudwatch:LOG_GROUP)", spec);
    return NULL;
}
