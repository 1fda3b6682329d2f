/*
 * test_tg_journal.c - tg_journal: append/replay, torn and corrupt tails,
 * random garbage (fuzz-ish), compaction, permissions, refusal of foreign
 * files.  Owner: common.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_journal.h"
#include "tg_test.h"
#include "tgt_loop.h"

typedef struct s_recs {
    char v[512][64];
    size_t len[512];
    size_t n;
    int fail_at;        /* replay callback fails on this record (or -1) */
} s_recs;

static int s_collect(const void *rec, size_t len, void *ud)
{
    s_recs *r = ud;
    if ((int)r->n == r->fail_at)
        return -1;
    if (r->n < 512 && len < 64) {
        memcpy(r->v[r->n], rec, len);
        r->v[r->n][len] = '\0';
        r->len[r->n] = len;
    }
    r->n++;
    return 0;
}

static char *s_dir;

static void s_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", s_dir, name);
}

static tg_journal *s_open(const char *path, s_recs *r,
                          tg_journal_sync_mode mode)
{
    char err[256] = "";
    memset(r, 0, sizeof *r);
    r->fail_at = -1;
    tg_journal_opts o = {.sync = mode, .max_record = 1024};
    tg_journal *j = tg_journal_open(path, &o, s_collect, r, err, sizeof err);
    if (!j)
        fprintf(stderr, "open: %s\n", err);
    return j;
}

static void s_fill(tg_journal *j, int n)
{
    for (int i = 0; i < n; i++) {
        char rec[32];
        int len = snprintf(rec, sizeof rec, "record-%d", i);
        ASSERT_EQ(tg_journal_append(j, rec, (size_t)len), 0);
    }
}

static off_t s_size(const char *path)
{
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    return st.st_size;
}

static void test_roundtrip_and_modes(void)
{
    char path[512];
    s_path(path, sizeof path, "sub/dir/a.journal");
    s_recs r;
    tg_journal *j = s_open(path, &r, TG_JOURNAL_SYNC_ALWAYS);
    ASSERT_NOT_NULL(j);
    ASSERT_EQ(r.n, 0);
    s_fill(j, 10);
    ASSERT_EQ(tg_journal_append(j, "", 0), 0);       /* empty record */
    char big[2000] = {0};
    ASSERT_EQ(tg_journal_append(j, big, sizeof big), -EMSGSIZE);
    ASSERT_U64_EQ(tg_journal_records(j), 11);
    ASSERT_U64_EQ(tg_journal_bytes(j), (uint64_t)s_size(path));
    ASSERT_EQ(tg_journal_close(j), 0);
    ASSERT_EQ(tg_journal_close(NULL), 0);

    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    char dir[512];
    s_path(dir, sizeof dir, "sub/dir");
    ASSERT_EQ(stat(dir, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0700);

    j = s_open(path, &r, TG_JOURNAL_SYNC_BATCH);
    ASSERT_NOT_NULL(j);
    ASSERT_EQ(r.n, 11);
    ASSERT_STR_EQ(r.v[0], "record-0");
    ASSERT_STR_EQ(r.v[9], "record-9");
    ASSERT_EQ(r.len[10], 0);
    ASSERT_U64_EQ(tg_journal_truncated(j), 0);
    s_fill(j, 3);                    /* batch: below batch_records */
    ASSERT_EQ(tg_journal_tick(j), 0);
    ASSERT_EQ(tg_journal_sync(j), 0);
    ASSERT_EQ(tg_journal_close(j), 0);

    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    ASSERT_EQ(r.n, 14);
    tg_journal_close(j);
}

static void test_torn_tail(void)
{
    char path[512];
    s_path(path, sizeof path, "torn.journal");
    s_recs r;
    tg_journal *j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    s_fill(j, 5);
    tg_journal_close(j);
    off_t full = s_size(path);
    /* cut the last record in half: record-4 is 8 header + 8 payload */
    ASSERT_EQ(truncate(path, full - 4), 0);
    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    ASSERT_NOT_NULL(j);
    ASSERT_EQ(r.n, 4);
    ASSERT_U64_EQ(tg_journal_truncated(j), 12);
    ASSERT_EQ(s_size(path), full - 16);
    /* appends continue after the last good record */
    ASSERT_EQ(tg_journal_append(j, "after", 5), 0);
    tg_journal_close(j);
    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    ASSERT_EQ(r.n, 5);
    ASSERT_STR_EQ(r.v[4], "after");
    tg_journal_close(j);

    /* a record header alone (torn inside the header) */
    int fd = open(path, O_WRONLY | O_APPEND);
    ASSERT_EQ(write(fd, "\x05\x00", 2), 2);
    close(fd);
    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    ASSERT_EQ(r.n, 5);
    ASSERT_U64_EQ(tg_journal_truncated(j), 2);
    tg_journal_close(j);
}

static void test_corrupt_middle(void)
{
    char path[512];
    s_path(path, sizeof path, "corrupt.journal");
    s_recs r;
    tg_journal *j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    s_fill(j, 5);
    tg_journal_close(j);
    /* flip a payload byte of record 2: header 8 + 2 * 16 + 8 + 1 */
    int fd = open(path, O_RDWR);
    ASSERT_EQ(pwrite(fd, "X", 1, 8 + 2 * 16 + 8 + 1), 1);
    close(fd);
    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    ASSERT_NOT_NULL(j);
    ASSERT_EQ(r.n, 2);
    ASSERT_U64_EQ(tg_journal_truncated(j), 3 * 16);
    tg_journal_close(j);

    /* a huge length field is not trusted */
    fd = open(path, O_WRONLY | O_APPEND);
    ASSERT_EQ(write(fd, "\xff\xff\xff\x7f\0\0\0\0abc", 11), 11);
    close(fd);
    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    ASSERT_EQ(r.n, 2);
    tg_journal_close(j);
}

static void test_fuzz_garbage(void)
{
    char path[512];
    s_path(path, sizeof path, "fuzz.journal");
    unsigned seed = 12345;
    for (int iter = 0; iter < 200; iter++) {
        unlink(path);
        s_recs r;
        tg_journal *j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
        int good = iter % 7;
        s_fill(j, good);
        tg_journal_close(j);
        /* random bytes after the good records */
        int fd = open(path, O_WRONLY | O_APPEND);
        size_t n = (size_t)(rand_r(&seed) % 300);
        unsigned char junk[300];
        for (size_t i = 0; i < n; i++)
            junk[i] = (unsigned char)rand_r(&seed);
        if (n >= 4 && iter % 3 == 0)
            memset(junk, 0, 4);     /* zero length: CRC must still fail */
        ASSERT_EQ(write(fd, junk, n), (ssize_t)n);
        close(fd);
        j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
        ASSERT_NOT_NULL(j);
        ASSERT_EQ(r.n, good);       /* random junk never passes CRC32C */
        ASSERT_U64_EQ(tg_journal_truncated(j), n);
        ASSERT_EQ(tg_journal_append(j, "ok", 2), 0);
        tg_journal_close(j);
        j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
        ASSERT_EQ(r.n, good + 1);
        ASSERT_STR_EQ(r.v[good], "ok");
        tg_journal_close(j);
    }
}

static int s_keep_odd(tg_journal_writer *w, void *ud)
{
    s_recs *r = ud;
    for (size_t i = 1; i < r->n; i += 2)
        if (tg_journal_writer_put(w, r->v[i], r->len[i]) != 0)
            return -1;
    return 0;
}

static int s_abort(tg_journal_writer *w, void *ud)
{
    (void)ud;
    tg_journal_writer_put(w, "x", 1);
    return -ECANCELED;
}

static void test_compaction(void)
{
    char path[512], tmp[600];
    s_path(path, sizeof path, "compact.journal");
    snprintf(tmp, sizeof tmp, "%s.compact", path);
    s_recs r, live;
    tg_journal *j = s_open(path, &r, TG_JOURNAL_SYNC_BATCH);
    s_fill(j, 10);
    tg_journal_close(j);
    j = s_open(path, &live, TG_JOURNAL_SYNC_BATCH);
    ASSERT_EQ(live.n, 10);
    /* a failed compaction leaves everything as it was */
    ASSERT_EQ(tg_journal_compact(j, s_abort, NULL), -ECANCELED);
    ASSERT(access(tmp, F_OK) != 0);
    ASSERT_U64_EQ(tg_journal_records(j), 10);
    ASSERT_EQ(tg_journal_compact(j, s_keep_odd, &live), 0);
    ASSERT_U64_EQ(tg_journal_records(j), 5);
    ASSERT_EQ(tg_journal_append(j, "new", 3), 0);
    ASSERT_U64_EQ(tg_journal_bytes(j), (uint64_t)s_size(path));
    tg_journal_close(j);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    j = s_open(path, &r, TG_JOURNAL_SYNC_BATCH);
    ASSERT_EQ(r.n, 6);
    ASSERT_STR_EQ(r.v[0], "record-1");
    ASSERT_STR_EQ(r.v[4], "record-9");
    ASSERT_STR_EQ(r.v[5], "new");
    tg_journal_close(j);
    /* a stale .compact from a crash is removed on open */
    int fd = open(tmp, O_CREAT | O_WRONLY, 0600);
    close(fd);
    j = s_open(path, &r, TG_JOURNAL_SYNC_BATCH);
    ASSERT_EQ(r.n, 6);
    ASSERT(access(tmp, F_OK) != 0);
    tg_journal_close(j);
}

static void test_refusals(void)
{
    char path[512], err[256];
    s_path(path, sizeof path, "foreign.txt");
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    ASSERT_EQ(write(fd, "hello world\n", 12), 12);
    close(fd);
    tg_journal *j = tg_journal_open(path, NULL, NULL, NULL, err, sizeof err);
    ASSERT(j == NULL);
    ASSERT(strstr(err, "not a trailguard journal") != NULL);
    ASSERT_EQ(s_size(path), 12);     /* untouched */

    /* a torn header (crash during creation) is repaired */
    s_path(path, sizeof path, "tornhdr.journal");
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ASSERT_EQ(write(fd, "TGJR", 4), 4);
    close(fd);
    s_recs r;
    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    ASSERT_NOT_NULL(j);
    ASSERT_EQ(r.n, 0);
    tg_journal_close(j);

    /* a failing replay callback fails the open */
    s_path(path, sizeof path, "cbfail.journal");
    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    s_fill(j, 3);
    tg_journal_close(j);
    memset(&r, 0, sizeof r);
    r.fail_at = 1;
    j = tg_journal_open(path, NULL, s_collect, &r, err, sizeof err);
    ASSERT(j == NULL);
    ASSERT(strstr(err, "replay callback failed") != NULL);
    j = s_open(path, &r, TG_JOURNAL_SYNC_NEVER);
    ASSERT_EQ(r.n, 3);               /* nothing was lost */
    tg_journal_close(j);

    ASSERT_EQ(tg_journal_mkdirs(path, 0700), -ENOTDIR);
}

int main(void)
{
    tg_test_state st = {0};
    s_dir = tgt_tmpdir("journal");
    TG_RUN(&st, test_roundtrip_and_modes);
    TG_RUN(&st, test_torn_tail);
    TG_RUN(&st, test_corrupt_middle);
    TG_RUN(&st, test_fuzz_garbage);
    TG_RUN(&st, test_compaction);
    TG_RUN(&st, test_refusals);
    tgt_rm_rf(s_dir);
    free(s_dir);
    TG_DONE(&st);
}
