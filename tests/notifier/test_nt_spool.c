/*
 * test_nt_spool.c - the on-disk spool: order, survival across a reopen,
 * partial consumption, the size bound and torn tails.
 *
 * Owner: notifier outputs (tests/notifier/).
 */
#include "tg_test.h"

#include "nt_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tg_test_state st;

static void s_tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "%s/nt_spool_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ASSERT_NOT_NULL(mkdtemp(buf));
}

static void s_rmrf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4200];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void s_put(nt_spool *s, int i, uint64_t *dropped)
{
    char rec[64];
    int n = snprintf(rec, sizeof(rec), "record-%06d", i);
    ASSERT_EQ(nt_spool_append(s, rec, (size_t)n, dropped), 0);
}

/* Peek and consume up to max records, checking they are first, first+1... */
static int s_take(nt_spool *s, size_t max, int first)
{
    nt_spool_rec recs[64];
    size_t n;
    nt_spool_pos end;
    ASSERT_EQ(nt_spool_peek(s, max, recs, &n, &end), 0);
    for (size_t i = 0; i < n; i++) {
        char want[64];
        int wl = snprintf(want, sizeof(want), "record-%06d", first + (int)i);
        ASSERT_MEM_EQ(recs[i].data, recs[i].len, want, (size_t)wl);
    }
    ASSERT_EQ(nt_spool_consume(s, end), 0);
    return (int)n;
}

static void test_order_and_reopen(void)
{
    char dir[256], err[256];
    s_tmpdir(dir, sizeof(dir));
    nt_spool_opts o = {.seg_bytes = 512};
    nt_spool *s = nt_spool_open(dir, &o, err, sizeof(err));
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 100; i++)
        s_put(s, i, NULL);
    ASSERT_EQ(nt_spool_sync(s), 0);
    ASSERT_EQ(nt_spool_depth(s), 100);
    int got = 0;
    got += s_take(s, 10, 0);
    ASSERT_EQ(got, 10);
    nt_spool_close(s);

    /* a restart: the 90 unconsumed records come back, in order */
    s = nt_spool_open(dir, &o, err, sizeof(err));
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(nt_spool_depth(s), 90);
    for (int i = 100; i < 110; i++)
        s_put(s, i, NULL);
    while (got < 110) {
        int n = s_take(s, 16, got);
        ASSERT(n > 0);
        got += n;
    }
    ASSERT_EQ(nt_spool_depth(s), 0);
    nt_spool_rec r[4];
    size_t n;
    nt_spool_pos end;
    ASSERT_EQ(nt_spool_peek(s, 4, r, &n, &end), 0);
    ASSERT_EQ(n, 0);
    nt_spool_close(s);
    s_rmrf(dir);
}

static void test_bound_drops_oldest(void)
{
    char dir[256], err[256];
    s_tmpdir(dir, sizeof(dir));
    /* records are 13 bytes + 8 framing; segments roll at 210 bytes */
    nt_spool_opts o = {.seg_bytes = 210, .max_bytes = 1000};
    nt_spool *s = nt_spool_open(dir, &o, err, sizeof(err));
    ASSERT_NOT_NULL(s);
    uint64_t dropped_total = 0, d;
    for (int i = 0; i < 200; i++) {
        s_put(s, i, &d);
        dropped_total += d;
    }
    ASSERT(nt_spool_bytes(s) <= 1000 + 210);
    ASSERT(dropped_total > 0);
    /* nothing lost silently: what remains plus what was dropped is all */
    ASSERT_U64_EQ(nt_spool_depth(s) + dropped_total, 200);
    /* the newest record survived and the oldest remaining follows the drops */
    int first = (int)dropped_total, got = 0;
    while (nt_spool_depth(s)) {
        int n = s_take(s, 64, first + got);
        ASSERT(n > 0);
        got += n;
    }
    ASSERT_EQ(first + got, 200);
    nt_spool_close(s);
    s_rmrf(dir);
}

static void test_torn_tail(void)
{
    char dir[256], err[256], path[512];
    s_tmpdir(dir, sizeof(dir));
    nt_spool *s = nt_spool_open(dir, NULL, err, sizeof(err));
    for (int i = 0; i < 5; i++)
        s_put(s, i, NULL);
    nt_spool_close(s);
    /* a crash in the middle of a record: garbage after the last good one */
    snprintf(path, sizeof(path), "%s/seg-%016x.jrnl", dir, 1);
    int fd = open(path, O_WRONLY | O_APPEND);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, "\x30\x00\x00\x00garb", 8), 8);
    close(fd);
    s = nt_spool_open(dir, NULL, err, sizeof(err));
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(nt_spool_depth(s), 5);
    ASSERT_EQ(s_take(s, 64, 0), 5);
    nt_spool_close(s);
    s_rmrf(dir);
}

int main(void)
{
    TG_RUN(&st, test_order_and_reopen);
    TG_RUN(&st, test_bound_drops_oldest);
    TG_RUN(&st, test_torn_tail);
    TG_DONE(&st);
}
