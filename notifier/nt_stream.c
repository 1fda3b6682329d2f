/*
 * nt_stream.c - the built-in stream output: Falco JSON or text lines to
 * stdout or a file.
 *
 * DESIGN
 * A batch is formatted into one reused buffer and written with a write(2)
 * loop, so lines of one batch are contiguous and a batch costs one or a
 * few system calls.  Files are opened O_APPEND (several writers and
 * logrotate's copytruncate stay sane) and, with sync on, fdatasync'd before
 * write() reports the batch delivered.  reopen() closes and opens the path
 * again (rename-style rotation).  Writing to stdout never syncs: a pipe or
 * terminal has nothing durable to sync.
 */
#include "nt_output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct nt_stream {
    nt_output base;
    char *path;             /* NULL: stdout */
    int fd;
    nt_stream_format fmt;
    bool sync;
    char *buf;
    size_t len, cap;
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

static int s_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int s_write(nt_output *o, const nt_alert *alerts, size_t n,
                   nt_output_done_fn done, void *ud, char *err, size_t errlen)
{
    nt_stream *s = (nt_stream *)o;
    (void)done;
    (void)ud;
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
    int rc = s_write_all(s->fd, s->buf, s->len);
    if (rc == 0 && s->sync && s->path && fdatasync(s->fd) != 0)
        rc = -errno;
    if (rc)
        snprintf(err, errlen, "%s: %s", s->path ? s->path : "stdout", strerror(-rc));
    return rc;
}

static int s_flush(nt_output *o)
{
    nt_stream *s = (nt_stream *)o;
    if (s->path && fdatasync(s->fd) != 0)
        return -errno;
    return 0;
}

static int s_open(nt_stream *s, char *err, size_t errlen)
{
    int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", s->path, strerror(errno));
        return -errno;
    }
    s->fd = fd;
    return 0;
}

static int s_reopen(nt_output *o, char *err, size_t errlen)
{
    nt_stream *s = (nt_stream *)o;
    if (!s->path)
        return 0;
    int old = s->fd;
    int rc = s_open(s, err, errlen);
    if (rc) {
        s->fd = old; /* keep writing to the old file */
        return rc;
    }
    fdatasync(old);
    close(old);
    return 0;
}

static void s_free(nt_output *o)
{
    nt_stream *s = (nt_stream *)o;
    if (!s)
        return;
    if (s->path) {
        fdatasync(s->fd);
        close(s->fd);
    }
    free(s->path);
    free(s->buf);
    free(s);
}

static const nt_output_ops s_ops = {
    .kind = "stream",
    .write = s_write,
    .flush = s_flush,
    .reopen = s_reopen,
    .free = s_free,
};

nt_output *nt_stream_new(const char *path, nt_stream_format fmt, bool sync,
                         char *err, size_t errlen)
{
    nt_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base.ops = &s_ops;
    s->base.min_priority = NT_PRIO_DEBUG;
    s->fmt = fmt;
    s->sync = sync;
    s->fd = 1;
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

nt_output *nt_output_from_spec(const char *spec, bool sync, char *err,
                               size_t errlen)
{
    if (!spec || !*spec || strcmp(spec, "json") == 0 || strcmp(spec, "stdout") == 0)
        return nt_stream_new(NULL, NT_FORMAT_JSON, sync, err, errlen);
    if (strcmp(spec, "text") == 0)
        return nt_stream_new(NULL, NT_FORMAT_TEXT, sync, err, errlen);
    if (strncmp(spec, "file:", 5) == 0 && spec[5])
        return nt_stream_new(spec + 5, NT_FORMAT_JSON, sync, err, errlen);
    if (strncmp(spec, "text-file:", 10) == 0 && spec[10])
        return nt_stream_new(spec + 10, NT_FORMAT_TEXT, sync, err, errlen);
    snprintf(err, errlen,
             "unknown output '%s' (json, text, file:PATH, text-file:PATH)", spec);
    return NULL;
}
