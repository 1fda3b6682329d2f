/*
 * nt_out_file.c - the `stdout` and `file` outputs.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * One line per alert: Falco's JSON line (format: json, the default) or
 * the rendered output text (format: text).  A batch is written with one
 * loop of write(2) calls on a buffer, then (file, fsync: true, the
 * default) fdatasync'd before the batch counts as delivered, so "sent"
 * means "on disk".  The file is opened O_APPEND and reopened on SIGHUP
 * (nt_sink_reopen) so logrotate's rename-then-HUP works.  A write
 * error leaves the batch for retry (and eventually the spool).
 * The write (and fdatasync) runs on a libuv threadpool worker
 * (nt_fdwrite.h), so a slow reader of stdout or a slow disk never blocks
 * the notifier's loop; the batch is reported when the worker is done.
 * exit() during a write cancels it (within 100 ms) and finishes when the
 * worker has returned; a reopen() during a write happens after it.
 */
#include "nt_plugin.h"

#include "nt_fdwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct nt_out_file {
    char *path;
    char *format;
    int do_fsync;
    int64_t mode;
    int fd;
    int is_stdout;
    /* the write in flight */
    uv_loop_t *loop;
    uv_work_t work;
    int busy, reopen_pending, regular;
    atomic_int cancel;
    char *buf;
    size_t len;
    int result;
    nt_batch *b;
    void (*exit_done)(void *);
    void *exit_arg;
} nt_out_file;

#define F(f) offsetof(nt_out_file, f)
static const nt_conf_entry s_file_map[] = {
    {NT_CONF_STR, "path", NULL, F(path), "file to append to (required)"},
    {NT_CONF_STR, "format", "json", F(format), "json (Falco JSON lines) or text"},
    {NT_CONF_BOOL, "fsync", "true", F(do_fsync),
     "fdatasync after each batch before reporting it delivered"},
    {NT_CONF_INT, "mode", "0600", F(mode), "file mode when created (octal)"},
    {0, NULL, NULL, 0, NULL},
};
static const nt_conf_entry s_stdout_map[] = {
    {NT_CONF_STR, "format", "json", F(format), "json (Falco JSON lines) or text"},
    {0, NULL, NULL, 0, NULL},
};
#undef F

static int s_open(nt_out_file *f)
{
    int fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                  (mode_t)f->mode);
    if (fd < 0)
        return -errno;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = fd;
    f->regular = nt_fd_is_regular(fd);
    return 0;
}

static int s_check_format(nt_out_file *f, char *err, size_t errlen)
{
    if (strcmp(f->format, "json") != 0 && strcmp(f->format, "text") != 0) {
        snprintf(err, errlen, "format must be json or text, not '%s'",
                 f->format);
        return -EINVAL;
    }
    return 0;
}

static int s_file_init(void *ctx, const nt_plugin_env *env, char *err,
                       size_t errlen)
{
    nt_out_file *f = ctx;
    f->loop = env->loop;
    f->fd = -1;
    if (s_check_format(f, err, errlen) < 0)
        return -EINVAL;
    if (!f->path || !*f->path) {
        snprintf(err, errlen, "file output needs 'path'");
        return -EINVAL;
    }
    int rc = s_open(f);
    if (rc < 0) {
        snprintf(err, errlen, "open %s: %s", f->path, strerror(-rc));
        return rc;
    }
    return 0;
}

static int s_stdout_init(void *ctx, const nt_plugin_env *env, char *err,
                         size_t errlen)
{
    nt_out_file *f = ctx;
    f->loop = env->loop;
    f->fd = STDOUT_FILENO;
    f->is_stdout = 1;
    f->regular = nt_fd_is_regular(f->fd);
    return s_check_format(f, err, errlen);
}

static void s_work(uv_work_t *req)
{
    nt_out_file *f = req->data;
    int rc = f->fd >= 0 ? nt_fd_write_all(f->fd, f->regular, f->buf, f->len, &f->cancel)
                        : -EBADF;
    if (rc == 0 && !f->is_stdout && f->do_fsync && fdatasync(f->fd) < 0)
        rc = -errno;
    f->result = rc;
}

static void s_after_work(uv_work_t *req, int status)
{
    nt_out_file *f = req->data;
    nt_batch *b = f->b;
    int rc = status ? status : f->result;
    f->busy = 0;
    f->b = NULL;
    free(f->buf);
    f->buf = NULL;
    if (f->exit_done) { /* exit() came during the write */
        if (!f->is_stdout && f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        f->exit_done(f->exit_arg);
        return;
    }
    for (size_t i = 0; i < b->n; i++)
        b->result[i] = rc == 0 ? NT_ITEM_OK : NT_ITEM_RETRY;
    if (rc < 0) {
        snprintf(b->err, sizeof(b->err), "write %s: %s",
                 f->is_stdout ? "stdout" : f->path, strerror(-rc));
        /* try a fresh descriptor next time (deleted dir, NFS, ...) */
        if (!f->is_stdout)
            f->reopen_pending = 1;
    }
    if (f->reopen_pending) {
        f->reopen_pending = 0;
        s_open(f);
    }
    nt_batch_done(b);
}

static int s_flush(void *ctx, nt_batch *b)
{
    nt_out_file *f = ctx;
    if (f->busy)
        return -EBUSY;
    int text = strcmp(f->format, "text") == 0;
    size_t total = 0;
    for (size_t i = 0; i < b->n; i++) {
        const nt_alert *a = b->alerts[i];
        const nt_str *s = text ? &a->output : &a->json;
        total += (s->p ? s->n : 0) + 1;
    }
    char *buf = malloc(total ? total : 1), *p = buf;
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < b->n; i++) {
        const nt_alert *a = b->alerts[i];
        const nt_str *s = text ? &a->output : &a->json;
        if (s->p) {
            memcpy(p, s->p, s->n);
            p += s->n;
        }
        *p++ = '\n';
    }
    f->buf = buf;
    f->len = total;
    f->b = b;
    f->result = 0;
    atomic_store(&f->cancel, 0);
    f->work.data = f;
    int rc = uv_queue_work(f->loop, &f->work, s_work, s_after_work);
    if (rc < 0) {
        free(buf);
        f->buf = NULL;
        f->b = NULL;
        return rc;
    }
    f->busy = 1;
    return 0;
}

static int s_reopen(void *ctx)
{
    nt_out_file *f = ctx;
    if (f->is_stdout)
        return 0;
    if (f->busy) { /* the worker uses fd: reopen when it is done */
        f->reopen_pending = 1;
        return 0;
    }
    return s_open(f);
}

static void s_exit(void *ctx, void (*done)(void *), void *arg)
{
    nt_out_file *f = ctx;
    if (f->busy) { /* finish in s_after_work, without nt_batch_done */
        atomic_store(&f->cancel, 1);
        f->exit_done = done;
        f->exit_arg = arg;
        return;
    }
    if (!f->is_stdout && f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    done(arg);
}

const nt_plugin nt_plugin_file = {
    .name = "file",
    .desc = "append Falco JSON lines or text to a file; reopened on SIGHUP",
    .config_map = s_file_map,
    .ctx_size = sizeof(nt_out_file),
    .default_batch_size = 256,
    .default_flush_ms = 200,
    .init = s_file_init,
    .flush = s_flush,
    .reopen = s_reopen,
    .exit = s_exit,
};

const nt_plugin nt_plugin_stdout = {
    .name = "stdout",
    .desc = "Falco JSON lines or text on standard output",
    .config_map = s_stdout_map,
    .ctx_size = sizeof(nt_out_file),
    .default_batch_size = 256,
    .default_flush_ms = 100,
    .init = s_stdout_init,
    .flush = s_flush,
    .reopen = s_reopen,
    .exit = s_exit,
};
