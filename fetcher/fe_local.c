/*
 * fe_local.c - the local source: files, directories (recursive) and stdin.
 *
 * DESIGN
 * start() expands the arguments into a sorted list of regular files (a
 * directory contributes its non-hidden regular files, recursively, in name
 * order, so runs are reproducible), then pump() submits them in order until
 * the fetcher says it is full.  A file is referenced by path: the parser
 * reads it, so file bytes are not copied through the job socket.  Whether a
 * file is gzip is decided by the parser from its magic bytes, never from
 * the name.  The identity is "<absolute path>:<size>:<mtime ns>", so a
 * rewritten file is a new job while an unchanged one is skipped after a
 * restart.  stdin ("-") is read to EOF and sent inline as one job: a
 * regular file with a plain read, a pipe or terminal through a uv_pipe so
 * that the loop (signals, metrics) keeps running while the writer is slow.
 */
#include "fe_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_DEPTH 32

typedef struct fe_local {
    fe_source base;
    char **args;
    size_t nargs;
    bool inline_data;
    char **files;           /* expanded list; "-" for stdin */
    size_t nfiles, cap;
    size_t next;
    bool done_sent;
    bool stopped;
    bool pumping;
    const fe_source_sink *sink;
    uv_loop_t *loop;
    /* stdin through a pipe: read asynchronously, then one job */
    uv_pipe_t pipe;
    bool pipe_open;         /* initialised and not yet closed */
    bool stdin_reading;     /* uv_read_start issued, EOF not seen */
    bool stdin_ready;       /* data complete, waiting for a free slot */
    bool free_pending;      /* free once the pipe is closed */
    char *sin;
    size_t sin_len, sin_cap;
    char sin_ident[128];
} fe_local;

static void s_pump(fe_local *l);
static void s_free_now(fe_local *l);

static void s_add(fe_local *l, const char *path)
{
    if (l->nfiles == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->files, cap * sizeof(*v));
        if (!v)
            abort();
        l->files = v;
        l->cap = cap;
    }
    l->files[l->nfiles] = strdup(path);
    if (!l->files[l->nfiles])
        abort();
    l->nfiles++;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void s_walk(fe_local *l, const char *dir, int depth)
{
    char msg[PATH_MAX + 64];
    if (depth > S_MAX_DEPTH) {
        l->sink->failed(l->sink->ud, &l->base, dir, "directory nesting too deep");
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(msg, sizeof msg, "cannot open directory: %s", strerror(errno));
        l->sink->failed(l->sink->ud, &l->base, dir, msg);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                abort();
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), s_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        struct stat st;
        int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        if (w < 0 || (size_t)w >= sizeof path)
            continue;
        if (stat(path, &st) != 0)
            continue; /* raced with a delete, or a dangling link */
        if (S_ISDIR(st.st_mode))
            s_walk(l, path, depth + 1);
        else if (S_ISREG(st.st_mode))
            s_add(l, path);
    }
    free(names);
}

static int s_read_fd(int fd, char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    struct stat st;
    /* a regular file: one buffer of its size (+1 to see EOF without
     * growing), instead of doubling from 64 KiB and copying each time */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size < SIZE_MAX / 2)
        cap = (size_t)st.st_size + 1;
    char *b = malloc(cap);
    if (!b)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return -ENOMEM;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = -errno;
            free(b);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* Submit one file; returns the submit code, or 1 when the file failed. */
static int s_submit_one(fe_local *l, const char *path)
{
    char uri[PATH_MAX + 16], ident[PATH_MAX + 64], abs[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    fe_job_desc job = { 0 };
    int rc;
    if (strcmp(path, "-") == 0) {
        /* l->sin holds stdin (s_stdin_begin() read it, or the pipe did) */
        job.uri = "stdin:";
        job.data = l->sin ? l->sin : "";
        job.len = l->sin_len;
        snprintf(ident, sizeof ident, "%s", l->sin_ident);
    } else {
        struct stat st;
        if (!realpath(path, abs) || stat(abs, &st) != 0) {
            l->sink->failed(l->sink->ud, &l->base, path, strerror(errno));
            return 1;
        }
        snprintf(uri, sizeof uri, "file://%s", abs);
        snprintf(ident, sizeof ident, "%s:%lld:%lld%09ld", abs,
                 (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                 st.st_mtim.tv_nsec);
        job.uri = uri;
        job.arrival_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
                         (uint64_t)st.st_mtim.tv_nsec;
        if (l->inline_data) {
            int fd = open(abs, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || (rc = s_read_fd(fd, &data, &len)) != 0) {
                l->sink->failed(l->sink->ud, &l->base, path, strerror(errno));
                if (fd >= 0)
                    close(fd);
                return 1;
            }
            close(fd);
            job.data = data;
            job.len = len;
        } else {
            job.path = abs;
        }
    }
    job.identity = ident;
    rc = l->sink->submit(l->sink->ud, &l->base, &job);
    free(data);
    if (strcmp(path, "-") == 0 && rc != -EAGAIN) {
        free(l->sin);
        l->sin = NULL;
        l->sin_len = l->sin_cap = 0;
        l->stdin_ready = false;
    }
    return rc;
}

/* ---- stdin ------------------------------------------------------------ */

static void s_stdin_ident(fe_local *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(l->sin_ident, sizeof l->sin_ident, "stdin:%d:%lld.%09ld", (int)getpid(),
             (long long)ts.tv_sec, ts.tv_nsec);
}

static void s_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    fe_local *l = h->data;
    (void)hint;
    if (l->sin_cap - l->sin_len < 65536) {
        size_t cap = l->sin_cap ? l->sin_cap * 2 : 1 << 20;
        char *b = realloc(l->sin, cap);
        if (!b)
            abort(); /* supervised: out of memory is fatal */
        l->sin = b;
        l->sin_cap = cap;
    }
    *buf = uv_buf_init(l->sin + l->sin_len, (unsigned)(l->sin_cap - l->sin_len));
}

static void s_on_pipe_closed(uv_handle_t *h)
{
    fe_local *l = h->data;
    l->pipe_open = false;
    if (l->free_pending)
        s_free_now(l);
}

static void s_pipe_close(fe_local *l)
{
    if (l->pipe_open && !uv_is_closing((uv_handle_t *)&l->pipe))
        uv_close((uv_handle_t *)&l->pipe, s_on_pipe_closed);
}

static void s_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    fe_local *l = st->data;
    (void)buf;
    if (n > 0) {
        l->sin_len += (size_t)n;
        return;
    }
    if (n == 0)
        return;
    l->stdin_reading = false;
    uv_read_stop(st);
    s_pipe_close(l);
    if (n != UV_EOF) {
        l->sink->failed(l->sink->ud, &l->base, "stdin:", uv_strerror((int)n));
        free(l->sin);
        l->sin = NULL;
        l->sin_len = l->sin_cap = 0;
        l->next++; /* skip it */
    } else {
        l->stdin_ready = true;
    }
    s_pump(l);
}

/* Get stdin's bytes.  Returns 1 when they are in l->sin now, 0 when an
 * asynchronous read started (s_on_read continues), -1 on failure
 * (reported). */
static int s_stdin_begin(fe_local *l)
{
    struct stat st;
    s_stdin_ident(l);
    if (fstat(0, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        int rc = s_read_fd(0, &l->sin, &l->sin_len);
        if (rc) {
            l->sink->failed(l->sink->ud, &l->base, "stdin:", strerror(-rc));
            return -1;
        }
        l->stdin_ready = true;
        return 1;
    }
    int rc = uv_pipe_init(l->loop, &l->pipe, 0);
    if (rc == 0) {
        l->pipe.data = l;
        l->pipe_open = true;
        rc = uv_pipe_open(&l->pipe, 0);
        if (rc == 0)
            rc = uv_read_start((uv_stream_t *)&l->pipe, s_on_alloc, s_on_read);
    }
    if (rc) {
        s_pipe_close(l);
        /* not a pipe libuv can watch: fall back to a plain read */
        rc = s_read_fd(0, &l->sin, &l->sin_len);
        if (rc) {
            l->sink->failed(l->sink->ud, &l->base, "stdin:", strerror(-rc));
            return -1;
        }
        l->stdin_ready = true;
        return 1;
    }
    l->stdin_reading = true;
    return 0;
}

static void s_pump(fe_local *l)
{
    if (l->pumping || l->stopped)
        return;
    l->pumping = true;
    while (l->next < l->nfiles && !l->stopped) {
        if (strcmp(l->files[l->next], "-") == 0 && !l->stdin_ready) {
            if (l->stdin_reading)
                break; /* s_on_read pumps again at EOF */
            int b = s_stdin_begin(l);
            if (b < 0) {
                l->next++;
                continue;
            }
            if (b == 0)
                break;
        }
        int rc = s_submit_one(l, l->files[l->next]);
        if (rc == -EAGAIN)
            break;
        l->next++;
    }
    l->pumping = false;
    if (l->next >= l->nfiles && !l->done_sent && !l->stopped) {
        l->done_sent = true;
        l->sink->done(l->sink->ud, &l->base);
    }
}

static int s_start(fe_source *s, uv_loop_t *loop, const fe_source_sink *sink,
                   char *err, size_t errlen)
{
    fe_local *l = (fe_local *)s;
    (void)err;
    (void)errlen;
    l->sink = sink;
    l->loop = loop;
    for (size_t i = 0; i < l->nargs; i++) {
        struct stat st;
        const char *p = l->args[i];
        if (strcmp(p, "-") == 0) {
            s_add(l, p);
        } else if (stat(p, &st) != 0) {
            sink->failed(sink->ud, s, p, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            s_walk(l, p, 0);
        } else {
            s_add(l, p);
        }
    }
    s_pump(l);
    return 0;
}

static bool s_is_finite(const fe_source *s)
{
    (void)s;
    return true;
}

static void s_resume(fe_source *s)
{
    s_pump((fe_local *)s);
}

static void s_commit(fe_source *s, void *ref, int status)
{
    (void)s;
    (void)ref;
    (void)status;
}

static void s_stop(fe_source *s)
{
    fe_local *l = (fe_local *)s;
    l->stopped = true;
    s_pipe_close(l);
}

static void s_free(fe_source *s)
{
    fe_local *l = (fe_local *)s;
    if (!l)
        return;
    if (l->pipe_open) { /* memory goes in the close callback */
        l->free_pending = true;
        s_pipe_close(l);
        return;
    }
    s_free_now(l);
}

static void s_free_now(fe_local *l)
{
    free(l->sin);
    for (size_t i = 0; i < l->nargs; i++)
        free(l->args[i]);
    for (size_t i = 0; i < l->nfiles; i++)
        free(l->files[i]);
    free(l->args);
    free(l->files);
    free(l);
}

static const fe_source_ops s_ops = {
    .kind = "file",
    .start = s_start,
    .is_finite = s_is_finite,
    .resume = s_resume,
    .commit = s_commit,
    .stop = s_stop,
    .free = s_free,
};

fe_source *fe_local_new(const char *const *paths, size_t npaths,
                        bool inline_data)
{
    fe_local *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->base.ops = &s_ops;
    l->inline_data = inline_data;
    l->args = calloc(npaths ? npaths : 1, sizeof(char *));
    if (!l->args) {
        free(l);
        return NULL;
    }
    for (size_t i = 0; i < npaths; i++) {
        l->args[i] = strdup(paths[i]);
        if (!l->args[i]) {
            l->nargs = i;
            s_free(&l->base);
            return NULL;
        }
    }
    l->nargs = npaths;
    return &l->base;
}
