/*
 * tg_shm.c - batch frames in shared memory segments; see tg_shm.h.
 */
#include "tg_shm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_PREFIX "trailguard-"
#define S_PREFIX_LEN (sizeof(S_PREFIX) - 1)
#define S_MAGIC "TGSHM\0\0\1"
/* Largest segment file a reader maps. */
#define S_MAX_FILE (1ull << 30)
/* A segment claimed this long is checked for a dead reader. */
#define S_CHECK_READER_MS 1000
/* A reader unmaps a segment it has not used for this long. */
#define S_IDLE_MS 10000

enum { S_FREE = 0, S_FILLED = 1, S_CLAIMED = 2 };

typedef struct s_hdr {
    char magic[8];
    uint32_t writer;
    uint32_t state;     /* atomic */
    uint32_t reader;    /* atomic; 0 while nobody has claimed */
    uint32_t pad0;
    uint64_t gen;
    uint64_t len;
    uint64_t cap;
    char pad1[16];
} s_hdr;

_Static_assert(sizeof(s_hdr) == TG_SHM_HDR, "segment header size");

static uint32_t s_load(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void s_store(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static bool s_pid_gone(uint32_t pid)
{
    return pid != 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* "trailguard-<digits>-<digits>", nothing else; *pid gets the first. */
static bool s_name_ok(const char *s, size_t n, uint32_t *pid)
{
    if (n <= S_PREFIX_LEN || n >= TG_SHM_NAME_MAX || memcmp(s, S_PREFIX, S_PREFIX_LEN) != 0)
        return false;
    size_t i = S_PREFIX_LEN, d1 = 0, d2 = 0;
    uint64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, d1++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (d1 == 0 || d1 > 10 || i >= n || s[i] != '-' || v > UINT32_MAX)
        return false;
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        d2++;
    if (d2 == 0 || i != n)
        return false;
    if (pid)
        *pid = (uint32_t)v;
    return true;
}

/* ---- writer ------------------------------------------------------------ */

typedef struct s_seg {
    char name[TG_SHM_NAME_MAX];
    int fd;                 /* kept open to notice an outside unlink */
    s_hdr *h;               /* NULL: empty slot */
    size_t map_len;
    uint64_t filled_ms;
    bool reserved;          /* being written by this process */
} s_seg;

struct tg_shm_pool {
    int dirfd;
    uint32_t pid;
    unsigned max;
    size_t seg_bytes;
    uint64_t lease_ms;
    uint64_t seq, gen;
    s_seg *segs;            /* max slots; a slot keeps its index for life */
    uint64_t created, reclaimed, abandoned;
};

/* Remove segment files whose writer is gone. */
static void s_sweep(int dirfd)
{
    int fd = dup(dirfd);
    if (fd < 0)
        return;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return;
    }
    rewinddir(dir);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        uint32_t pid;
        if (s_name_ok(e->d_name, strlen(e->d_name), &pid) && s_pid_gone(pid))
            unlinkat(dirfd, e->d_name, 0);
    }
    closedir(dir);
}

tg_shm_pool *tg_shm_pool_new(const tg_shm_pool_opts *o, char *err, size_t errlen)
{
    const char *dir = o->dir && o->dir[0] ? o->dir : TG_SHM_DIR_DEFAULT;
    tg_shm_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->max = o->segments ? o->segments : 1;
    p->segs = calloc(p->max, sizeof(*p->segs));
    p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!p->segs || p->dirfd < 0) {
        snprintf(err, errlen, "shared memory directory %s: %s", dir,
                 p->segs ? strerror(errno) : "out of memory");
        if (p->dirfd >= 0)
            close(p->dirfd);
        free(p->segs);
        free(p);
        return NULL;
    }
    for (unsigned i = 0; i < p->max; i++)
        p->segs[i].fd = -1;
    p->pid = (uint32_t)getpid();
    p->seg_bytes = o->seg_bytes;
    p->lease_ms = o->lease_ms;
    s_sweep(p->dirfd);
    return p;
}

static void s_seg_drop(tg_shm_pool *p, s_seg *s)
{
    if (!s->h)
        return;
    munmap(s->h, s->map_len);
    unlinkat(p->dirfd, s->name, 0);
    close(s->fd);
    s->h = NULL;
    s->fd = -1;
    s->reserved = false;
}

void tg_shm_pool_free(tg_shm_pool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->max; i++)
        s_seg_drop(p, &p->segs[i]);
    close(p->dirfd);
    free(p->segs);
    free(p);
}

/* Make a new segment file in the empty slot s. Returns 0 or -errno. */
static int s_seg_create(tg_shm_pool *p, s_seg *s)
{
    snprintf(s->name, sizeof s->name, S_PREFIX "%u-%llu", (unsigned)p->pid,
             (unsigned long long)++p->seq);
    int fd = openat(p->dirfd, s->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600);
    if (fd < 0)
        return -errno;
    size_t len = TG_SHM_HDR + p->seg_bytes;
    void *m = MAP_FAILED;
    int rc;
    /* reserve the pages now: a full tmpfs must fail here, not raise
     * SIGBUS on a later write through the mapping */
    if ((rc = posix_fallocate(fd, 0, (off_t)len)) != 0)
        rc = -rc;
    else if ((m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
        rc = -errno;
    if (rc) {
        close(fd);
        unlinkat(p->dirfd, s->name, 0);
        return rc;
    }
    s->fd = fd;
    s->h = m;
    s->map_len = len;
    memcpy(s->h->magic, S_MAGIC, 8);
    s->h->writer = p->pid;
    s->h->cap = p->seg_bytes;
    s_store(&s->h->state, S_FREE);
    p->created++;
    return 0;
}

/* Someone removed the file (a tmpfs clean-up): readers could not open it. */
static bool s_unlinked(const s_seg *s)
{
    struct stat st;
    return fstat(s->fd, &st) != 0 || st.st_nlink == 0;
}

/* Can slot s be written now?  Frees it from a dead reader, and replaces
 * its file when it must not be rewritten (lease over, file removed). */
static bool s_usable(tg_shm_pool *p, s_seg *s, uint64_t now_ms)
{
    uint32_t st = s_load(&s->h->state);
    bool usable = st == S_FREE;
    /* a reader normally hands a segment back within milliseconds: ask
     * whether it is still alive (a syscall) only after a second */
    if (st == S_CLAIMED && now_ms - s->filled_ms > S_CHECK_READER_MS &&
        s_pid_gone(s_load(&s->h->reader))) {
        p->reclaimed++;
        usable = true;
    }
    if (usable && !s_unlinked(s))
        return true;
    if (usable || (p->lease_ms && now_ms - s->filled_ms > p->lease_ms)) {
        /* never rewritten in place: a late reader keeps its mapping */
        s_seg_drop(p, s);
        p->abandoned++;
        return s_seg_create(p, s) == 0;
    }
    return false;
}

int tg_shm_pool_reserve(tg_shm_pool *p, uint64_t now_ms, char **data, size_t *cap)
{
    int empty = -1, rc = -EAGAIN;
    for (unsigned i = 0; i < p->max; i++) {
        s_seg *s = &p->segs[i];
        if (!s->h) {
            if (empty < 0)
                empty = (int)i;
            continue;
        }
        if (!s->reserved && s_usable(p, s, now_ms)) {
            empty = (int)i;
            rc = 0;
            break;
        }
    }
    if (rc != 0 && empty >= 0 && !p->segs[empty].h)
        rc = s_seg_create(p, &p->segs[empty]);
    if (rc != 0)
        return rc;
    s_seg *s = &p->segs[empty];
    s->reserved = true;
    *data = (char *)s->h + TG_SHM_HDR;
    *cap = p->seg_bytes;
    return empty;
}

int tg_shm_pool_publish(tg_shm_pool *p, int slot, size_t len, uint64_t now_ms,
                        tg_msg_shm *ref)
{
    s_seg *s = &p->segs[slot];
    if (len > s->h->cap)
        return -E2BIG;
    s->h->gen = ++p->gen;
    s->h->len = len;
    s_store(&s->h->reader, 0);
    s_store(&s->h->state, S_FILLED);
    s->filled_ms = now_ms;
    s->reserved = false;
    ref->seg = tg_str_c(s->name);
    ref->gen = s->h->gen;
    ref->len = len;
    return 0;
}

void tg_shm_pool_unpublish(tg_shm_pool *p, int slot)
{
    s_seg *s = &p->segs[slot];
    uint32_t st = S_FILLED;
    if (s->h && __atomic_compare_exchange_n(&s->h->state, &st, S_FREE, false,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        s->reserved = true;
}

void tg_shm_pool_cancel(tg_shm_pool *p, int slot)
{
    p->segs[slot].reserved = false;
}

void tg_shm_pool_stats_get(tg_shm_pool *p, tg_shm_pool_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < p->max; i++) {
        s_seg *s = &p->segs[i];
        if (!s->h)
            continue;
        out->segments++;
        if (s->reserved || s_load(&s->h->state) != S_FREE)
            out->busy++;
    }
    out->created = p->created;
    out->reclaimed = p->reclaimed;
    out->abandoned = p->abandoned;
}

/* ---- reader ------------------------------------------------------------ */

typedef struct s_map {
    char name[TG_SHM_NAME_MAX];
    s_hdr *h;
    size_t len;
    uint64_t used;          /* reader clock at last claim */
    uint64_t used_ms;
} s_map;

struct tg_shm_reader {
    int dirfd;
    char *dir;
    uint32_t pid;
    unsigned max, n;
    uint64_t clock;
    s_map *maps;
    s_map *claimed;
};

tg_shm_reader *tg_shm_reader_new(const char *dir, unsigned max_maps)
{
    tg_shm_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->dir = strdup(dir && dir[0] ? dir : TG_SHM_DIR_DEFAULT);
    r->max = max_maps ? max_maps : 1;
    r->maps = calloc(r->max, sizeof(*r->maps));
    r->dirfd = -1;
    r->pid = (uint32_t)getpid();
    if (!r->dir || !r->maps) {
        tg_shm_reader_free(r);
        return NULL;
    }
    return r;
}

static void s_unmap(tg_shm_reader *r, unsigned i)
{
    munmap(r->maps[i].h, r->maps[i].len);
    r->maps[i] = r->maps[--r->n];
}

void tg_shm_reader_free(tg_shm_reader *r)
{
    if (!r)
        return;
    tg_shm_reader_release(r);
    while (r->n)
        s_unmap(r, r->n - 1);
    if (r->dirfd >= 0)
        close(r->dirfd);
    free(r->maps);
    free(r->dir);
    free(r);
}

void tg_shm_reader_trim(tg_shm_reader *r, uint64_t now_ms)
{
    for (unsigned i = 0; i < r->n;) {
        if (&r->maps[i] != r->claimed && now_ms - r->maps[i].used_ms > S_IDLE_MS)
            s_unmap(r, i);
        else
            i++;
    }
}

/* Map a segment file into a free slot. */
static int s_map_new(tg_shm_reader *r, const char *name, s_map **out, char *err,
                     size_t errlen)
{
    if (r->dirfd < 0 &&
        (r->dirfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        int e = errno;
        snprintf(err, errlen, "shared memory directory %s: %s", r->dir, strerror(e));
        return -e;
    }
    int fd = openat(r->dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "shm segment %s/%s: cannot open: %s", r->dir, name, strerror(e));
        return -e;
    }
    struct stat st;
    int e = 0;
    if (fstat(fd, &st) != 0)
        e = errno;
    else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
             (uint64_t)st.st_size < TG_SHM_HDR || (uint64_t)st.st_size > S_MAX_FILE)
        e = EPERM;
    void *m = MAP_FAILED;
    if (!e && (m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
                  MAP_FAILED)
        e = errno;
    close(fd);
    if (e) {
        snprintf(err, errlen, "shm segment %s/%s: %s", r->dir, name,
                 e == EPERM ? "not a segment file of this user" : strerror(e));
        return -e;
    }
    s_hdr *h = m;
    if (memcmp(h->magic, S_MAGIC, 8) != 0 || h->cap > (uint64_t)st.st_size - TG_SHM_HDR) {
        munmap(m, (size_t)st.st_size);
        snprintf(err, errlen, "shm segment %s/%s: bad header", r->dir, name);
        return -EINVAL;
    }
    if (r->n == r->max) { /* evict the least recently used */
        unsigned lru = 0;
        for (unsigned i = 1; i < r->n; i++)
            if (r->maps[i].used < r->maps[lru].used)
                lru = i;
        s_unmap(r, lru);
    }
    s_map *mp = &r->maps[r->n++];
    snprintf(mp->name, sizeof mp->name, "%s", name);
    mp->h = h;
    mp->len = (size_t)st.st_size;
    *out = mp;
    return 0;
}

int tg_shm_reader_claim(tg_shm_reader *r, const tg_msg_shm *ref, const char **frame,
                        char *err, size_t errlen)
{
    char name[TG_SHM_NAME_MAX];
    tg_shm_reader_release(r);
    if (!s_name_ok(ref->seg.p, ref->seg.n, NULL)) {
        snprintf(err, errlen, "shm segment name refused: %.*s",
                 (int)(ref->seg.n > 64 ? 64 : ref->seg.n), ref->seg.p);
        return -EINVAL;
    }
    memcpy(name, ref->seg.p, ref->seg.n);
    name[ref->seg.n] = '\0';
    s_map *m = NULL;
    for (unsigned i = 0; i < r->n && !m; i++)
        if (strcmp(r->maps[i].name, name) == 0)
            m = &r->maps[i];
    if (!m) {
        int rc = s_map_new(r, name, &m, err, errlen);
        if (rc)
            return rc;
    }
    s_hdr *h = m->h;
    if (ref->len > h->cap || __atomic_load_n(&h->gen, __ATOMIC_RELAXED) != ref->gen) {
        snprintf(err, errlen, "shm segment %s: holds fill %llu, not %llu of %llu bytes", name,
                 (unsigned long long)h->gen, (unsigned long long)ref->gen,
                 (unsigned long long)ref->len);
        return -ESTALE;
    }
    uint32_t st = S_FILLED;
    if (!__atomic_compare_exchange_n(&h->state, &st, S_CLAIMED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        snprintf(err, errlen, "shm segment %s: not waiting to be read (state %u)", name, st);
        return -EBUSY;
    }
    s_store(&h->reader, r->pid);
    if (h->gen != ref->gen || h->len != ref->len || h->len > h->cap) {
        s_store(&h->reader, 0);
        s_store(&h->state, S_FILLED);
        snprintf(err, errlen, "shm segment %s: fill %llu is gone", name,
                 (unsigned long long)ref->gen);
        return -ESTALE;
    }
    m->used = ++r->clock;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    m->used_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    r->claimed = m;
    *frame = (const char *)h + TG_SHM_HDR;
    return 0;
}

void tg_shm_reader_release(tg_shm_reader *r)
{
    if (!r->claimed)
        return;
    s_hdr *h = r->claimed->h;
    s_store(&h->reader, 0);
    s_store(&h->state, S_FREE);
    r->claimed = NULL;
}
