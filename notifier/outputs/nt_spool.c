/*
 * nt_spool.c - segmented spool over tg_journal (design in nt_spool.h).
 *
 * Owner: notifier outputs.
 */
#include "nt_spool.h"

#include "tg_journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct s_seg {
    uint64_t id;
    uint64_t records;
    uint64_t bytes;
} s_seg;

struct nt_spool {
    char *dir;
    nt_spool_opts o;
    s_seg *segs;           /* oldest first */
    size_t nsegs;
    tg_journal *w;         /* writer: the newest segment, or NULL */
    uint64_t w_id;
    /* head: the oldest segment, loaded */
    uint64_t head_id;      /* 0 = not loaded (ids start at 1) */
    nt_spool_rec *hrec;
    size_t hn, hcap;
    uint64_t hpos;         /* records consumed in the oldest segment */
};

static void s_seg_path(const nt_spool *s, uint64_t id, char *buf, size_t n)
{
    snprintf(buf, n, "%s/seg-%016" PRIx64 ".jrnl", s->dir, id);
}

static int s_count_cb(const void *rec, size_t len, void *ud)
{
    (void)rec;
    (void)len;
    (*(uint64_t *)ud)++;
    return 0;
}

static int s_load_cb(const void *rec, size_t len, void *ud)
{
    nt_spool *s = ud;
    if (s->hn == s->hcap) {
        size_t nc = s->hcap ? s->hcap * 2 : 64;
        nt_spool_rec *nr = realloc(s->hrec, nc * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        s->hrec = nr;
        s->hcap = nc;
    }
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, rec, len);
    s->hrec[s->hn].data = copy;
    s->hrec[s->hn].len = len;
    s->hn++;
    return 0;
}

static tg_journal_opts s_jopts(const nt_spool *s)
{
    tg_journal_opts jo = {.sync = TG_JOURNAL_SYNC_NEVER,
                          .max_record = s->o.max_record};
    return jo;
}

static void s_head_free(nt_spool *s)
{
    for (size_t i = 0; i < s->hn; i++)
        free((void *)s->hrec[i].data);
    s->hn = 0;
    s->head_id = 0;
}

static int s_cursor_write(nt_spool *s)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/cursor", s->dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    uint64_t id = s->nsegs ? s->segs[0].id : 0;
    char line[64];
    int n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 "\n", id,
                     s->hpos);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (write(fd, line, (size_t)n) != n || fsync(fd) < 0)
        rc = errno ? -errno : -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc == 0) {
        int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

static int s_seg_cmp(const void *a, const void *b)
{
    uint64_t x = ((const s_seg *)a)->id, y = ((const s_seg *)b)->id;
    return x < y ? -1 : x > y;
}

static int s_scan(nt_spool *s, char *err, size_t errlen)
{
    DIR *d = opendir(s->dir);
    if (!d) {
        snprintf(err, errlen, "opendir %s: %s", s->dir, strerror(errno));
        return -errno;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t id;
        char tail[8];
        if (sscanf(de->d_name, "seg-%16" SCNx64 ".%5s", &id, tail) != 2 ||
            strcmp(tail, "jrnl") != 0 || id == 0)
            continue;
        s_seg *ns = realloc(s->segs, (s->nsegs + 1) * sizeof(*ns));
        if (!ns) {
            closedir(d);
            return -ENOMEM;
        }
        s->segs = ns;
        s->segs[s->nsegs++] = (s_seg){.id = id};
    }
    closedir(d);
    if (s->nsegs)
        qsort(s->segs, s->nsegs, sizeof(*s->segs), s_seg_cmp);
    for (size_t i = 0; i < s->nsegs; i++) {
        char path[4096];
        s_seg_path(s, s->segs[i].id, path, sizeof(path));
        tg_journal_opts jo = s_jopts(s);
        tg_journal *j = tg_journal_open(path, &jo, s_count_cb,
                                        &s->segs[i].records, err, errlen);
        if (!j)
            return -EIO;
        s->segs[i].bytes = tg_journal_bytes(j);
        tg_journal_close(j);
    }
    /* cursor: records of the oldest segment already consumed */
    char cpath[4096];
    snprintf(cpath, sizeof(cpath), "%s/cursor", s->dir);
    FILE *f = fopen(cpath, "r");
    if (f) {
        uint64_t id, pos;
        if (fscanf(f, "%" SCNu64 " %" SCNu64, &id, &pos) == 2 &&
            s->nsegs && id == s->segs[0].id && pos <= s->segs[0].records)
            s->hpos = pos;
        fclose(f);
    }
    return 0;
}

nt_spool *nt_spool_open(const char *dir, const nt_spool_opts *opts,
                        char *err, size_t errlen)
{
    nt_spool *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (opts)
        s->o = *opts;
    if (!s->o.max_bytes)
        s->o.max_bytes = 256ull << 20;
    if (!s->o.seg_bytes)
        s->o.seg_bytes = 4ull << 20;
    if (!s->o.max_record)
        s->o.max_record = 8u << 20;
    s->dir = strdup(dir);
    int rc = tg_journal_mkdirs(dir, 0700);
    if (rc < 0) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(-rc));
        goto fail;
    }
    if (s_scan(s, err, errlen) < 0)
        goto fail;
    return s;
fail:
    nt_spool_close(s);
    return NULL;
}

void nt_spool_close(nt_spool *s)
{
    if (!s)
        return;
    if (s->w) {
        tg_journal_sync(s->w);
        tg_journal_close(s->w);
    }
    s_head_free(s);
    free(s->hrec);
    free(s->segs);
    free(s->dir);
    free(s);
}

static int s_roll(nt_spool *s)
{
    if (s->w) {
        int rc = tg_journal_sync(s->w);
        tg_journal_close(s->w);
        s->w = NULL;
        if (rc < 0)
            return rc;
    }
    uint64_t id = s->nsegs ? s->segs[s->nsegs - 1].id + 1 : 1;
    char path[4096], err[256];
    s_seg_path(s, id, path, sizeof(path));
    tg_journal_opts jo = s_jopts(s);
    s->w = tg_journal_open(path, &jo, NULL, NULL, err, sizeof(err));
    if (!s->w)
        return -EIO;
    s_seg *ns = realloc(s->segs, (s->nsegs + 1) * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    s->segs = ns;
    s->segs[s->nsegs++] = (s_seg){.id = id,
                                  .bytes = tg_journal_bytes(s->w)};
    s->w_id = id;
    return 0;
}

/* Remove the oldest segment (file and bookkeeping). */
static void s_drop_oldest(nt_spool *s)
{
    char path[4096];
    s_seg_path(s, s->segs[0].id, path, sizeof(path));
    unlink(path);
    if (s->head_id == s->segs[0].id)
        s_head_free(s);
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof(*s->segs));
    s->nsegs--;
    s->hpos = 0;
    s_cursor_write(s);
}

uint64_t nt_spool_bytes(const nt_spool *s)
{
    uint64_t b = 0;
    for (size_t i = 0; i < s->nsegs; i++)
        b += s->segs[i].bytes;
    return b;
}

uint64_t nt_spool_depth(const nt_spool *s)
{
    uint64_t r = 0;
    for (size_t i = 0; i < s->nsegs; i++)
        r += s->segs[i].records;
    return r - s->hpos;
}

int nt_spool_append(nt_spool *s, const void *rec, size_t len,
                    uint64_t *dropped)
{
    if (dropped)
        *dropped = 0;
    if (len > s->o.max_record)
        return -EMSGSIZE;
    int rc;
    if (!s->w || s->segs[s->nsegs - 1].bytes >= s->o.seg_bytes ||
        s->head_id == s->w_id) {
        if ((rc = s_roll(s)) < 0)
            return rc;
    }
    if ((rc = tg_journal_append(s->w, rec, len)) < 0)
        return rc;
    s_seg *last = &s->segs[s->nsegs - 1];
    last->records++;
    last->bytes = tg_journal_bytes(s->w);
    while (s->nsegs > 1 && nt_spool_bytes(s) > s->o.max_bytes) {
        if (dropped)
            *dropped += s->segs[0].records - s->hpos;
        s_drop_oldest(s);
    }
    return 0;
}

int nt_spool_sync(nt_spool *s)
{
    return s->w ? tg_journal_sync(s->w) : 0;
}

static int s_head_load(nt_spool *s)
{
    if (s->head_id == s->segs[0].id)
        return 0;
    s_head_free(s);
    if (s->w && s->w_id == s->segs[0].id) {
        /* the oldest is being written: seal it by starting a new one */
        int rc = s_roll(s);
        if (rc < 0)
            return rc;
    }
    char path[4096], err[256];
    s_seg_path(s, s->segs[0].id, path, sizeof(path));
    tg_journal_opts jo = s_jopts(s);
    tg_journal *j = tg_journal_open(path, &jo, s_load_cb, s, err,
                                    sizeof(err));
    if (!j)
        return -EIO;
    tg_journal_close(j);
    s->head_id = s->segs[0].id;
    s->segs[0].records = s->hn;
    if (s->hpos > s->hn)
        s->hpos = s->hn;
    return 0;
}

int nt_spool_peek(nt_spool *s, size_t max, nt_spool_rec *recs, size_t *n,
                  nt_spool_pos *end)
{
    *n = 0;
    for (;;) {
        if (s->nsegs == 0 || nt_spool_depth(s) == 0)
            return 0;
        /* a fully consumed (or empty) oldest segment: discard it */
        if (s->segs[0].records == s->hpos &&
            !(s->w && s->w_id == s->segs[0].id)) {
            s_drop_oldest(s);
            continue;
        }
        int rc = s_head_load(s);
        if (rc < 0)
            return rc;
        if (s->hpos < s->hn)
            break;
        s_drop_oldest(s);
    }
    size_t k = 0;
    while (k < max && s->hpos + k < s->hn) {
        recs[k] = s->hrec[s->hpos + k];
        k++;
    }
    *n = k;
    end->seg = s->head_id;
    end->index = s->hpos + k;
    return 0;
}

int nt_spool_consume(nt_spool *s, nt_spool_pos end)
{
    if (s->nsegs == 0 || end.seg != s->segs[0].id || end.index <= s->hpos)
        return 0;
    s->hpos = end.index > s->segs[0].records ? s->segs[0].records
                                             : end.index;
    if (s->hpos == s->segs[0].records && !(s->w && s->w_id == end.seg)) {
        s_drop_oldest(s);
        return 0;
    }
    return s_cursor_write(s);
}
