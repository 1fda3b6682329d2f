/*
 * test_nt_dedup.c - the notifier's durable dedup window (notifier/nt_dedup.c):
 * membership, FIFO eviction with backward-shift deletion, replay after a
 * "crash" (reopen), a torn journal tail, and compaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nt_dedup.h"
#include "tg_test.h"

static tg_test_state st;
static char dir[] = "/tmp/test_nt_dedup.XXXXXX";

static void s_id(char out[33], unsigned i)
{
    /* 32 hex chars, distinct per i, clustered low bits to stress probing */
    snprintf(out, 33, "%016x%016x", i * 2654435761u, i & 0xff);
}

static int s_commit(nt_dedup *d, unsigned from, unsigned n)
{
    char (*ids)[33] = malloc(n * 33);
    const char **p = malloc(n * sizeof(*p));
    size_t *l = malloc(n * sizeof(*l));
    for (unsigned i = 0; i < n; i++) {
        s_id(ids[i], from + i);
        p[i] = ids[i];
        l[i] = 32;
    }
    int rc = nt_dedup_commit(d, p, l, n);
    free(ids);
    free(p);
    free(l);
    return rc;
}

static bool s_seen(nt_dedup *d, unsigned i)
{
    char id[33];
    s_id(id, i);
    return nt_dedup_seen(d, id, 32);
}

static void test_window(void)
{
    char err[256];
    nt_dedup *d = nt_dedup_open(NULL, 1000, TG_JOURNAL_SYNC_NEVER, err, sizeof err);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(s_commit(d, 0, 1000), 0);
    for (unsigned i = 0; i < 1000; i++)
        ASSERT(s_seen(d, i));
    ASSERT(!s_seen(d, 1000));
    ASSERT_EQ(s_commit(d, 1000, 500), 0); /* evicts 0..499 */
    ASSERT_EQ(nt_dedup_size(d), 1000);
    for (unsigned i = 0; i < 500; i++)
        ASSERT(!s_seen(d, i));
    for (unsigned i = 500; i < 1500; i++)
        ASSERT(s_seen(d, i));
    /* non-hex ids work too */
    const char *odd = "not-a-hex-id";
    size_t len = strlen(odd);
    ASSERT(!nt_dedup_seen(d, odd, len));
    ASSERT_EQ(nt_dedup_commit(d, &odd, &len, 1), 0);
    ASSERT(nt_dedup_seen(d, odd, len));
    nt_dedup_close(d);
}

static void test_durable(void)
{
    char err[256], path[256];
    snprintf(path, sizeof path, "%s/dedup.journal", dir);
    nt_dedup *d = nt_dedup_open(path, 5000, TG_JOURNAL_SYNC_ALWAYS, err, sizeof err);
    ASSERT_NOT_NULL(d);
    for (unsigned b = 0; b < 30; b++)
        ASSERT_EQ(s_commit(d, b * 100, 100), 0); /* 3000 ids, 30 records */
    nt_dedup_close(d);
    /* restart: everything replayed */
    d = nt_dedup_open(path, 5000, TG_JOURNAL_SYNC_ALWAYS, err, sizeof err);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(nt_dedup_size(d), 3000);
    ASSERT(s_seen(d, 0) && s_seen(d, 2999) && !s_seen(d, 3000));
    nt_dedup_close(d);
    /* a torn tail (crash mid-append) loses only the last batch */
    FILE *f = fopen(path, "r+");
    ASSERT_NOT_NULL(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ASSERT_EQ(truncate(path, size - 7), 0);
    d = nt_dedup_open(path, 5000, TG_JOURNAL_SYNC_ALWAYS, err, sizeof err);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(nt_dedup_size(d), 2900);
    ASSERT(s_seen(d, 2899) && !s_seen(d, 2900));
    /* compaction keeps the window: grow the file past 3 windows */
    for (unsigned b = 0; b < 300; b++)
        ASSERT_EQ(s_commit(d, 10000 + b * 100, 100), 0);
    nt_dedup_close(d);
    d = nt_dedup_open(path, 5000, TG_JOURNAL_SYNC_ALWAYS, err, sizeof err);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(nt_dedup_size(d), 5000);
    ASSERT(s_seen(d, 10000 + 29999) && s_seen(d, 10000 + 25000) && !s_seen(d, 10000 + 24999));
    nt_dedup_close(d);
    f = fopen(path, "r");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    ASSERT(size < 5000L * 16 * 4 + (1 << 20) + 4096);
    unlink(path);
}

int main(void)
{
    if (!mkdtemp(dir))
        TG_SKIP("mkdtemp failed");
    TG_RUN(&st, test_window);
    TG_RUN(&st, test_durable);
    rmdir(dir);
    TG_DONE(&st);
}
