/*
 * nt_dedup.c - durable dedup window; see nt_dedup.h.
 */
#include "nt_dedup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_hash.h"

#define S_COMPACT_CHUNK 4096

typedef struct s_key {
    uint64_t hi, lo;
} s_key;

struct nt_dedup {
    tg_journal *j;
    s_key *ring;
    size_t window, head, count;
    s_key *tab;
    uint8_t *used;
    size_t mask;
};

static int s_hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static s_key s_key_of(const char *id, size_t len)
{
    s_key k = { 0, 0 };
    bool hex = len == 32;
    for (size_t i = 0; hex && i < 32; i++) {
        int v = s_hex((unsigned char)id[i]);
        if (v < 0) {
            hex = false;
            break;
        }
        if (i < 16)
            k.hi = (k.hi << 4) | (uint64_t)v;
        else
            k.lo = (k.lo << 4) | (uint64_t)v;
    }
    if (!hex) {
        k.hi = tg_hash64(id, len, 0x6e74646564757031ull);
        k.lo = tg_hash64(id, len, 0x6e74646564757032ull);
    }
    return k;
}

static size_t s_home(const nt_dedup *d, s_key k)
{
    return (size_t)(k.lo ^ (k.hi >> 7)) & d->mask;
}

static bool s_find(const nt_dedup *d, s_key k, size_t *pos)
{
    size_t i = s_home(d, k);
    while (d->used[i]) {
        if (d->tab[i].hi == k.hi && d->tab[i].lo == k.lo) {
            *pos = i;
            return true;
        }
        i = (i + 1) & d->mask;
    }
    *pos = i;
    return false;
}

static void s_del(nt_dedup *d, s_key k)
{
    size_t i;
    if (!s_find(d, k, &i))
        return;
    size_t j = i;
    for (;;) {
        j = (j + 1) & d->mask;
        if (!d->used[j])
            break;
        size_t h = s_home(d, d->tab[j]);
        /* move j into the hole at i unless its home lies in (i, j] */
        bool in_range = (i <= j) ? (h > i && h <= j) : (h > i || h <= j);
        if (!in_range) {
            d->tab[i] = d->tab[j];
            i = j;
        }
    }
    d->used[i] = 0;
}

static void s_insert(nt_dedup *d, s_key k)
{
    size_t pos;
    if (s_find(d, k, &pos))
        return;
    if (d->count == d->window) {
        s_del(d, d->ring[d->head]);
        d->count--;
        d->head = (d->head + 1) % d->window;
        s_find(d, k, &pos); /* the hole may have moved */
    }
    d->used[pos] = 1;
    d->tab[pos] = k;
    d->ring[(d->head + d->count) % d->window] = k;
    d->count++;
}

static int s_replay(const void *rec, size_t len, void *ud)
{
    nt_dedup *d = ud;
    const unsigned char *p = rec;
    for (size_t off = 0; off + 16 <= len; off += 16) {
        s_key k;
        memcpy(&k.hi, p + off, 8);
        memcpy(&k.lo, p + off + 8, 8);
        s_insert(d, k);
    }
    return 0;
}

nt_dedup *nt_dedup_open(const char *path, size_t window,
                        tg_journal_sync_mode sync, char *err, size_t errlen)
{
    nt_dedup *d = calloc(1, sizeof(*d));
    if (!d)
        goto oom;
    d->window = window ? window : 1;
    size_t cap = 16;
    while (cap < d->window * 2)
        cap *= 2;
    d->mask = cap - 1;
    d->ring = malloc(d->window * sizeof(s_key));
    d->tab = malloc(cap * sizeof(s_key));
    d->used = calloc(cap, 1);
    if (!d->ring || !d->tab || !d->used)
        goto oom;
    if (path) {
        tg_journal_opts o = { .sync = sync, .max_record = 16u * 65536u };
        d->j = tg_journal_open(path, &o, s_replay, d, err, errlen);
        if (!d->j) {
            nt_dedup_close(d);
            return NULL;
        }
    }
    return d;
oom:
    snprintf(err, errlen, "out of memory");
    nt_dedup_close(d);
    return NULL;
}

bool nt_dedup_seen(const nt_dedup *d, const char *id, size_t len)
{
    size_t pos;
    return s_find(d, s_key_of(id, len), &pos);
}

static int s_compact_cb(tg_journal_writer *w, void *ud)
{
    nt_dedup *d = ud;
    unsigned char buf[S_COMPACT_CHUNK * 16];
    size_t n = 0;
    for (size_t i = 0; i < d->count; i++) {
        s_key k = d->ring[(d->head + i) % d->window];
        memcpy(buf + n * 16, &k.hi, 8);
        memcpy(buf + n * 16 + 8, &k.lo, 8);
        if (++n == S_COMPACT_CHUNK) {
            int rc = tg_journal_writer_put(w, buf, n * 16);
            if (rc)
                return rc;
            n = 0;
        }
    }
    return n ? tg_journal_writer_put(w, buf, n * 16) : 0;
}

int nt_dedup_commit(nt_dedup *d, const char *const *ids, const size_t *lens,
                    size_t n)
{
    int rc = 0;
    size_t off = 0;
    while (off < n) {
        size_t chunk = n - off < 65536 ? n - off : 65536;
        unsigned char *buf = malloc(chunk * 16);
        if (!buf)
            abort();
        for (size_t i = 0; i < chunk; i++) {
            s_key k = s_key_of(ids[off + i], lens[off + i]);
            memcpy(buf + i * 16, &k.hi, 8);
            memcpy(buf + i * 16 + 8, &k.lo, 8);
            s_insert(d, k);
        }
        if (d->j && rc == 0)
            rc = tg_journal_append(d->j, buf, chunk * 16);
        free(buf);
        off += chunk;
    }
    if (d->j && rc == 0 &&
        tg_journal_bytes(d->j) > (uint64_t)d->window * 16 * 3 + (1u << 20))
        rc = tg_journal_compact(d->j, s_compact_cb, d);
    return rc;
}

size_t nt_dedup_size(const nt_dedup *d)
{
    return d->count;
}

void nt_dedup_tick(nt_dedup *d)
{
    if (d->j)
        tg_journal_tick(d->j);
}

void nt_dedup_close(nt_dedup *d)
{
    if (!d)
        return;
    tg_journal_close(d->j);
    free(d->ring);
    free(d->tab);
    free(d->used);
    free(d);
}
