/*
 * tg_journal.c - durable append-only journal (see tg_journal.h).
 *
 * Owner: common.
 *
 * DESIGN
 * The journal keeps its write offset itself and writes each record with a
 * single pwritev at that offset: a failed or short write is rolled back
 * with ftruncate, so the file only ever grows by whole records (a crash
 * can still leave a torn tail, which the next open cuts off).  Replay maps
 * the file read-only and walks it; every length is checked against the
 * bytes that remain before it is used.
 */
#include "tg_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tg_hash.h"

#define TG_JOURNAL_MAGIC "TGJRNL1\n"
#define TG_JOURNAL_HDR 8u   /* file header length */
#define TG_JOURNAL_REC 8u   /* record header length */

struct tg_journal {
    int fd;
    char *path;
    tg_journal_opts opts;
    uint64_t off;           /* end of the last good record */
    uint64_t records;
    uint64_t truncated;
    unsigned unsynced;      /* appends since the last sync */
    uint64_t first_unsynced_ms;
};

struct tg_journal_writer {
    int fd;
    uint64_t off;
    uint64_t records;
    size_t max_record;
    int err;
};

static void s_err(char *err, size_t errlen, const char *fmt, const char *a,
                  int e)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, strerror(e));
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void s_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t s_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t s_crc(const unsigned char *lenbytes, const void *rec,
                      size_t len)
{
    uint32_t c = tg_crc32c(0, lenbytes, 4);
    return tg_crc32c(c, rec, len);
}

/* Write all of iov at off; on failure roll the file back to off. */
static int s_pwrite_rec(int fd, uint64_t off, const void *rec, size_t len)
{
    unsigned char hdr[TG_JOURNAL_REC];
    s_put32(hdr, (uint32_t)len);
    s_put32(hdr + 4, s_crc(hdr, rec, len));
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)rec, len}};
    size_t total = sizeof hdr + len, done = 0;
    int iovcnt = 2;
    struct iovec *v = iov;
    while (done < total) {
        ssize_t w = pwritev(fd, v, iovcnt, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            if (ftruncate(fd, (off_t)off) != 0) { /* best effort */ }
            return -e;
        }
        done += (size_t)w;
        while (iovcnt > 0 && (size_t)w >= v->iov_len) {
            w -= (ssize_t)v->iov_len;
            v++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int tg_journal_mkdirs(const char *dir, unsigned mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0)
        return 0;
    if (n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
            return -errno;
        buf[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int s_fsync_dir(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    int dfd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    int rc = fsync(dfd) == 0 ? 0 : -errno;
    close(dfd);
    return rc;
}

/* Walk the records of the mapped file; returns the offset of the end of
 * the last good record, or -1 if the callback failed. */
static int64_t s_replay(tg_journal *j, const unsigned char *map,
                        uint64_t size, tg_journal_replay_cb cb, void *ud)
{
    uint64_t off = TG_JOURNAL_HDR;
    while (size - off >= TG_JOURNAL_REC) {
        uint32_t len = s_get32(map + off);
        uint32_t crc = s_get32(map + off + 4);
        if (len > j->opts.max_record ||
            len > size - off - TG_JOURNAL_REC)
            break;
        const unsigned char *rec = map + off + TG_JOURNAL_REC;
        if (s_crc(map + off, rec, len) != crc)
            break;
        if (cb && cb(rec, len, ud) != 0)
            return -1;
        j->records++;
        off += TG_JOURNAL_REC + len;
    }
    return (int64_t)off;
}

/* Check / write the header and replay; fills j->off. */
static int s_load(tg_journal *j, tg_journal_replay_cb cb, void *ud,
                  char *err, size_t errlen)
{
    struct stat st;
    if (fstat(j->fd, &st) != 0) {
        s_err(err, errlen, "%s: fstat: %s", j->path, errno);
        return -errno;
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char hdr[TG_JOURNAL_HDR];
    ssize_t r = size ? pread(j->fd, hdr, sizeof hdr, 0) : 0;
    if (r < 0) {
        s_err(err, errlen, "%s: read: %s", j->path, errno);
        return -errno;
    }
    if (memcmp(hdr, TG_JOURNAL_MAGIC, (size_t)r) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: not a trailguard journal", j->path);
        return -EINVAL;
    }
    if (size < TG_JOURNAL_HDR) {
        /* new file, or a header torn at creation */
        if (ftruncate(j->fd, 0) != 0 ||
            pwrite(j->fd, TG_JOURNAL_MAGIC, TG_JOURNAL_HDR, 0) !=
                (ssize_t)TG_JOURNAL_HDR ||
            fsync(j->fd) != 0) {
            s_err(err, errlen, "%s: write header: %s", j->path, errno);
            return -errno;
        }
        j->off = TG_JOURNAL_HDR;
        return s_fsync_dir(j->path);
    }
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, j->fd, 0);
    if (map == MAP_FAILED) {
        s_err(err, errlen, "%s: mmap: %s", j->path, errno);
        return -errno;
    }
    int64_t end = s_replay(j, map, size, cb, ud);
    munmap(map, (size_t)size);
    if (end < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: replay callback failed", j->path);
        return -ECANCELED;
    }
    j->off = (uint64_t)end;
    if (j->off < size) {
        j->truncated = size - j->off;
        if (ftruncate(j->fd, (off_t)j->off) != 0 || fsync(j->fd) != 0) {
            s_err(err, errlen, "%s: truncate torn tail: %s", j->path, errno);
            return -errno;
        }
    }
    return 0;
}

tg_journal *tg_journal_open(const char *path, const tg_journal_opts *opts,
                            tg_journal_replay_cb replay, void *ud,
                            char *err, size_t errlen)
{
    tg_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        s_err(err, errlen, "%s: %s", path, ENOMEM);
        return NULL;
    }
    j->fd = -1;
    if (opts)
        j->opts = *opts;
    if (!j->opts.batch_records)
        j->opts.batch_records = 64;
    if (!j->opts.batch_ms)
        j->opts.batch_ms = 1000;
    if (!j->opts.max_record)
        j->opts.max_record = 1u << 20;
    if (j->opts.max_record > UINT32_MAX - TG_JOURNAL_REC)
        j->opts.max_record = UINT32_MAX - TG_JOURNAL_REC;

    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int rc = tg_journal_mkdirs(dirname(dir), 0700);
    if (rc < 0) {
        s_err(err, errlen, "%s: create directory: %s", path, -rc);
        goto fail;
    }
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.compact", path) < sizeof tmp)
        unlink(tmp);
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        s_err(err, errlen, "%s: open: %s", path, errno);
        goto fail;
    }
    if (s_load(j, replay, ud, err, errlen) != 0)
        goto fail;
    return j;
fail:
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j);
    return NULL;
}

static int s_sync(tg_journal *j)
{
    if (!j->unsynced)
        return 0;
    if (fdatasync(j->fd) != 0)
        return -errno;
    j->unsynced = 0;
    return 0;
}

int tg_journal_append(tg_journal *j, const void *rec, size_t len)
{
    if (len > j->opts.max_record)
        return -EMSGSIZE;
    if (j->fd < 0)
        return -EBADF;
    int rc = s_pwrite_rec(j->fd, j->off, rec, len);
    if (rc < 0)
        return rc;
    j->off += TG_JOURNAL_REC + len;
    j->records++;
    if (j->unsynced++ == 0)
        j->first_unsynced_ms = s_now_ms();
    switch (j->opts.sync) {
    case TG_JOURNAL_SYNC_ALWAYS:
        return s_sync(j);
    case TG_JOURNAL_SYNC_BATCH:
        if (j->unsynced >= j->opts.batch_records)
            return s_sync(j);
        return tg_journal_tick(j);
    case TG_JOURNAL_SYNC_NEVER:
        break;
    }
    return 0;
}

int tg_journal_sync(tg_journal *j)
{
    return s_sync(j);
}

int tg_journal_tick(tg_journal *j)
{
    if (!j->unsynced || j->opts.sync == TG_JOURNAL_SYNC_NEVER)
        return 0;
    if (s_now_ms() - j->first_unsynced_ms >= j->opts.batch_ms)
        return s_sync(j);
    return 0;
}

int tg_journal_writer_put(tg_journal_writer *w, const void *rec, size_t len)
{
    if (w->err)
        return w->err;
    if (len > w->max_record)
        return w->err = -EMSGSIZE;
    int rc = s_pwrite_rec(w->fd, w->off, rec, len);
    if (rc < 0)
        return w->err = rc;
    w->off += TG_JOURNAL_REC + len;
    w->records++;
    return 0;
}

int tg_journal_compact(tg_journal *j, tg_journal_compact_cb cb, void *ud)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.compact", j->path) >=
        sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    tg_journal_writer w = {fd, TG_JOURNAL_HDR, 0, j->opts.max_record, 0};
    int rc = 0;
    if (pwrite(fd, TG_JOURNAL_MAGIC, TG_JOURNAL_HDR, 0) !=
        (ssize_t)TG_JOURNAL_HDR) {
        rc = -errno;
        goto fail;
    }
    rc = cb(&w, ud);
    if (rc == 0)
        rc = w.err;
    if (rc != 0)
        goto fail;
    if (fsync(fd) != 0 || rename(tmp, j->path) != 0) {
        rc = -errno;
        goto fail;
    }
    /* the rename is done: from here on the new file is the journal */
    close(j->fd);
    j->fd = fd;
    j->off = w.off;
    j->records = w.records;
    j->unsynced = 0;
    return s_fsync_dir(j->path);
fail:
    close(fd);
    unlink(tmp);
    return rc ? rc : -EIO;
}

uint64_t tg_journal_records(const tg_journal *j)
{
    return j->records;
}

uint64_t tg_journal_bytes(const tg_journal *j)
{
    return j->off;
}

uint64_t tg_journal_truncated(const tg_journal *j)
{
    return j->truncated;
}

const char *tg_journal_path(const tg_journal *j)
{
    return j->path;
}

int tg_journal_close(tg_journal *j)
{
    if (!j)
        return 0;
    int rc = 0;
    if (j->opts.sync != TG_JOURNAL_SYNC_NEVER)
        rc = s_sync(j);
    if (j->fd >= 0 && close(j->fd) != 0 && rc == 0)
        rc = -errno;
    free(j->path);
    free(j);
    return rc;
}
