/*
 * test_tg_shm.c - shared memory batch segments: the writer's pool, the
 * reader's claims, reuse, reclaim from a dead reader, leases, refusals of
 * forged references, and clean-up of files left by a dead writer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tg_shm.h"
#include "tg_test.h"

static char s_dir[64];

static void s_mkdir(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/tg-shm-test-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(s_dir));
}

/* Remove the test directory and everything in it. */
static void s_rmdir(void)
{
    DIR *d = opendir(s_dir);
    ASSERT_NOT_NULL(d);
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", s_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    ASSERT_EQ(rmdir(s_dir), 0);
}

static int s_count_files(void)
{
    DIR *d = opendir(s_dir);
    ASSERT_NOT_NULL(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static tg_shm_pool *s_pool(unsigned segs, size_t bytes, uint64_t lease)
{
    char err[256] = "";
    tg_shm_pool_opts o = { .dir = s_dir, .segments = segs, .seg_bytes = bytes,
                           .lease_ms = lease };
    tg_shm_pool *p = tg_shm_pool_new(&o, err, sizeof err);
    if (!p)
        TG_FAIL_("pool: %s", err);
    return p;
}

/* The ref's name outlives the next put: copy it. */
typedef struct s_ref {
    char name[TG_SHM_NAME_MAX];
    tg_msg_shm m;
} s_ref;

static void s_keep(s_ref *k, const tg_msg_shm *m)
{
    snprintf(k->name, sizeof k->name, "%.*s", (int)m->seg.n, m->seg.p);
    k->m = *m;
    k->m.seg = tg_str_c(k->name);
}

/* What the parser does with a frame: reserve a segment, write, publish.
 * Returns 0 or the reserve error; out->slot gets the slot. */
static int s_put_slot(tg_shm_pool *p, const char *text, uint64_t now, s_ref *out, int *slot)
{
    char *data;
    size_t cap;
    int sl = tg_shm_pool_reserve(p, now, &data, &cap);
    if (sl < 0)
        return sl;
    size_t n = strlen(text);
    ASSERT(n <= cap);
    memcpy(data, text, n);
    tg_msg_shm m;
    ASSERT_EQ(tg_shm_pool_publish(p, sl, n, now, &m), 0);
    s_keep(out, &m);
    if (slot)
        *slot = sl;
    return 0;
}

static int s_put(tg_shm_pool *p, const char *text, uint64_t now, s_ref *out)
{
    return s_put_slot(p, text, now, out, NULL);
}

static void test_roundtrip_and_reuse(void)
{
    s_mkdir();
    tg_shm_pool *p = s_pool(4, 4096, 0);
    tg_shm_reader *r = tg_shm_reader_new(s_dir, 8);
    ASSERT_NOT_NULL(r);
    s_ref a, b;
    char err[256];
    const char *f;
    ASSERT_EQ(s_put(p, "frame one", 1, &a), 0);
    ASSERT_EQ(s_put(p, "frame two", 1, &b), 0);
    ASSERT(strcmp(a.name, b.name) != 0); /* the first is still FILLED */
    ASSERT_EQ(s_count_files(), 2);
    ASSERT_EQ(tg_shm_reader_claim(r, &b.m, &f, err, sizeof err), 0);
    ASSERT_MEM_EQ(f, b.m.len, "frame two", 9);
    tg_shm_reader_release(r);
    ASSERT_EQ(tg_shm_reader_claim(r, &a.m, &f, err, sizeof err), 0);
    ASSERT_MEM_EQ(f, a.m.len, "frame one", 9);
    tg_shm_reader_release(r);
    /* both free again: no new file for the next two puts */
    s_ref c, d;
    ASSERT_EQ(s_put(p, "three", 2, &c), 0);
    ASSERT_EQ(s_put(p, "four", 2, &d), 0);
    tg_shm_pool_stats st;
    tg_shm_pool_stats_get(p, &st);
    ASSERT_EQ(st.segments, 2);
    ASSERT_U64_EQ(st.created, 2);
    ASSERT_EQ(st.busy, 2);
    /* a reference to an earlier fill of a reused segment is stale */
    ASSERT_EQ(tg_shm_reader_claim(r, &a.m, &f, err, sizeof err), -ESTALE);
    ASSERT(strstr(err, a.name) != NULL);
    ASSERT_EQ(tg_shm_reader_claim(r, &c.m, &f, err, sizeof err), 0);
    ASSERT_MEM_EQ(f, c.m.len, "three", 5);
    tg_shm_reader_free(r); /* releases its claim */
    tg_shm_pool_stats_get(p, &st);
    ASSERT_EQ(st.busy, 1);
    tg_shm_pool_free(p);
    ASSERT_EQ(s_count_files(), 0); /* the writer removes its files */
    s_rmdir();
}

/* Building in place: reserve, write, publish; a reference that could not
 * be sent is taken back and published again later. */
static void test_reserve_publish(void)
{
    s_mkdir();
    tg_shm_pool *p = s_pool(2, 64, 0);
    tg_shm_reader *r = tg_shm_reader_new(s_dir, 8);
    char *data, *data2, err[256];
    size_t cap;
    const char *f;
    int a = tg_shm_pool_reserve(p, 1, &data, &cap);
    ASSERT(a >= 0);
    ASSERT_EQ(cap, 64);
    memcpy(data, "in place", 8);
    int b = tg_shm_pool_reserve(p, 1, &data2, &cap);
    ASSERT(b >= 0 && b != a); /* a reserved slot is not handed out twice */
    ASSERT_EQ(tg_shm_pool_reserve(p, 1, &data2, &cap), -EAGAIN);
    tg_shm_pool_cancel(p, b);
    tg_msg_shm m;
    ASSERT_EQ(tg_shm_pool_publish(p, a, 65, 1, &m), -E2BIG);
    ASSERT_EQ(tg_shm_pool_publish(p, a, 8, 1, &m), 0);
    s_ref first;
    s_keep(&first, &m);
    /* the shm frame could not be sent: the slot is ours again, bytes kept */
    tg_shm_pool_unpublish(p, a);
    ASSERT_EQ(tg_shm_reader_claim(r, &first.m, &f, err, sizeof err), -EBUSY);
    int c = tg_shm_pool_reserve(p, 1, &data2, &cap);
    ASSERT(c >= 0 && c != a);
    tg_shm_pool_cancel(p, c);
    ASSERT_EQ(tg_shm_pool_publish(p, a, 8, 2, &m), 0);
    s_ref second;
    s_keep(&second, &m);
    ASSERT(second.m.gen != first.m.gen);
    ASSERT_EQ(tg_shm_reader_claim(r, &first.m, &f, err, sizeof err), -ESTALE);
    ASSERT_EQ(tg_shm_reader_claim(r, &second.m, &f, err, sizeof err), 0);
    ASSERT_MEM_EQ(f, second.m.len, "in place", 8);
    /* unpublish after a reader claimed it changes nothing */
    tg_shm_pool_unpublish(p, a);
    tg_shm_pool_stats st;
    tg_shm_pool_stats_get(p, &st);
    ASSERT_EQ(st.busy, 1);
    tg_shm_reader_release(r);
    tg_shm_pool_stats_get(p, &st);
    ASSERT_EQ(st.busy, 0);
    tg_shm_reader_free(r);
    tg_shm_pool_free(p);
    s_rmdir();
}

static void test_exhaustion_and_unpublish(void)
{
    s_mkdir();
    tg_shm_pool *p = s_pool(2, 64, 0);
    tg_shm_reader *r = tg_shm_reader_new(s_dir, 8);
    s_ref a, b, c;
    char err[256];
    const char *f;
    int slot;
    ASSERT_EQ(s_put(p, "a", 1, &a), 0);
    ASSERT_EQ(s_put(p, "b", 1, &b), 0);
    ASSERT_EQ(s_put(p, "c", 1, &c), -EAGAIN);
    ASSERT_EQ(tg_shm_reader_claim(r, &a.m, &f, err, sizeof err), 0);
    ASSERT_EQ(s_put(p, "c", 1, &c), -EAGAIN); /* claimed is still busy */
    tg_shm_reader_release(r);
    ASSERT_EQ(s_put_slot(p, "c", 1, &c, &slot), 0);
    ASSERT_STR_EQ(c.name, a.name);
    /* the shm frame for c could not be sent, and its frame is dropped:
     * the segment is free again */
    tg_shm_pool_unpublish(p, slot);
    tg_shm_pool_cancel(p, slot);
    ASSERT_EQ(tg_shm_reader_claim(r, &c.m, &f, err, sizeof err), -EBUSY);
    ASSERT_EQ(s_put(p, "d", 1, &c), 0);
    tg_shm_pool_stats st;
    tg_shm_pool_stats_get(p, &st);
    ASSERT_U64_EQ(st.created, 2);
    tg_shm_reader_free(r);
    tg_shm_pool_free(p);
    s_rmdir();
}

static void test_one_claim_per_fill(void)
{
    s_mkdir();
    tg_shm_pool *p = s_pool(2, 64, 0);
    tg_shm_reader *r1 = tg_shm_reader_new(s_dir, 8), *r2 = tg_shm_reader_new(s_dir, 8);
    s_ref a;
    char err[256];
    const char *f;
    ASSERT_EQ(s_put(p, "only once", 1, &a), 0);
    ASSERT_EQ(tg_shm_reader_claim(r1, &a.m, &f, err, sizeof err), 0);
    ASSERT_EQ(tg_shm_reader_claim(r2, &a.m, &f, err, sizeof err), -EBUSY);
    ASSERT(strstr(err, "not waiting") != NULL);
    /* a reference with the wrong length is refused and changes nothing */
    tg_shm_reader_release(r1);
    ASSERT_EQ(s_put(p, "again", 1, &a), 0);
    tg_msg_shm bad = a.m;
    bad.len = 3;
    ASSERT_EQ(tg_shm_reader_claim(r2, &bad, &f, err, sizeof err), -ESTALE);
    ASSERT_EQ(tg_shm_reader_claim(r2, &a.m, &f, err, sizeof err), 0);
    ASSERT_MEM_EQ(f, a.m.len, "again", 5);
    tg_shm_reader_free(r1);
    tg_shm_reader_free(r2);
    tg_shm_pool_free(p);
    s_rmdir();
}

static void test_forged_refs_refused(void)
{
    s_mkdir();
    tg_shm_reader *r = tg_shm_reader_new(s_dir, 8);
    char err[256], path[512];
    const char *f;
    static const char *const names[] = {
        "../../etc/passwd", "trailguard-1", "trailguard-x-1", "trailguard--1",
        "trailguard-1-", "trailguard-1-1/x", "trailguard-99999999999-1",
        "trailguard-1-1111111111111111111111111111111111111", "",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        tg_msg_shm m = { tg_str_c(names[i]), 1, 1 };
        ASSERT_EQ(tg_shm_reader_claim(r, &m, &f, err, sizeof err), -EINVAL);
        ASSERT(strstr(err, "name refused") != NULL);
    }
    /* well-formed but absent */
    tg_msg_shm m = { tg_str_c("trailguard-1-7"), 1, 1 };
    ASSERT_EQ(tg_shm_reader_claim(r, &m, &f, err, sizeof err), -ENOENT);
    ASSERT(strstr(err, "trailguard-1-7") != NULL);
    /* a file that is not a segment */
    snprintf(path, sizeof path, "%s/trailguard-1-8", s_dir);
    FILE *fp = fopen(path, "w");
    ASSERT_NOT_NULL(fp);
    for (int i = 0; i < 200; i++)
        fputc('z', fp);
    fclose(fp);
    m.seg = tg_str_c("trailguard-1-8");
    ASSERT_EQ(tg_shm_reader_claim(r, &m, &f, err, sizeof err), -EINVAL);
    ASSERT(strstr(err, "bad header") != NULL);
    /* too short to hold a header */
    snprintf(path, sizeof path, "%s/trailguard-1-9", s_dir);
    fp = fopen(path, "w");
    fputs("tiny", fp);
    fclose(fp);
    m.seg = tg_str_c("trailguard-1-9");
    ASSERT_EQ(tg_shm_reader_claim(r, &m, &f, err, sizeof err), -EPERM);
    /* a symlink is not followed */
    snprintf(path, sizeof path, "%s/trailguard-1-10", s_dir);
    ASSERT_EQ(symlink("/etc/hostname", path), 0);
    m.seg = tg_str_c("trailguard-1-10");
    ASSERT_EQ(tg_shm_reader_claim(r, &m, &f, err, sizeof err), -ELOOP);
    tg_shm_reader_free(r);
    s_rmdir();
}

/* A reader that dies holding a segment does not take it from the pool. */
static void test_reclaim_from_dead_reader(void)
{
    s_mkdir();
    tg_shm_pool *p = s_pool(1, 64, 0);
    s_ref a;
    ASSERT_EQ(s_put(p, "held", 1, &a), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        tg_shm_reader *r = tg_shm_reader_new(s_dir, 8);
        char err[256];
        const char *f;
        _exit(tg_shm_reader_claim(r, &a.m, &f, err, sizeof err) == 0 ? 0 : 3);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    s_ref b;
    /* within the first second nobody asks whether the reader lives */
    ASSERT_EQ(s_put(p, "next", 500, &b), -EAGAIN);
    ASSERT_EQ(s_put(p, "next", 1500, &b), 0);
    ASSERT_STR_EQ(b.name, a.name);
    tg_shm_pool_stats st;
    tg_shm_pool_stats_get(p, &st);
    ASSERT_U64_EQ(st.reclaimed, 1);
    ASSERT_U64_EQ(st.created, 1);
    tg_shm_pool_free(p);
    s_rmdir();
}

/* Past the lease a busy segment is replaced, never rewritten: a reader
 * still holding it keeps reading the old bytes. */
static void test_lease_abandons_without_rewriting(void)
{
    s_mkdir();
    tg_shm_pool *p = s_pool(1, 64, 100);
    tg_shm_reader *r = tg_shm_reader_new(s_dir, 8);
    s_ref a, b;
    char err[256];
    const char *f;
    ASSERT_EQ(s_put(p, "slow reader", 1000, &a), 0);
    ASSERT_EQ(tg_shm_reader_claim(r, &a.m, &f, err, sizeof err), 0);
    ASSERT_EQ(s_put(p, "x", 1050, &b), -EAGAIN);
    ASSERT_EQ(s_put(p, "newer frame", 1200, &b), 0);
    ASSERT(strcmp(a.name, b.name) != 0);
    ASSERT_MEM_EQ(f, a.m.len, "slow reader", 11);
    tg_shm_pool_stats st;
    tg_shm_pool_stats_get(p, &st);
    ASSERT_U64_EQ(st.abandoned, 1);
    ASSERT_EQ(st.segments, 1);
    ASSERT_EQ(s_count_files(), 1); /* the abandoned file is gone */
    tg_shm_reader_release(r);
    /* an unclaimed fill is abandoned the same way; its reference then
     * names a file that no longer exists */
    s_ref c;
    ASSERT_EQ(s_put(p, "z", 1400, &c), 0);
    ASSERT_EQ(tg_shm_reader_claim(r, &b.m, &f, err, sizeof err), -ENOENT);
    ASSERT(strstr(err, b.name) != NULL);
    tg_shm_pool_stats_get(p, &st);
    ASSERT_U64_EQ(st.abandoned, 2);
    tg_shm_reader_free(r);
    tg_shm_pool_free(p);
    s_rmdir();
}

/* A clean-up that removes a free segment's file: the pool notices and
 * makes a new file, so readers can still open what it names. */
static void test_outside_unlink(void)
{
    s_mkdir();
    tg_shm_pool *p = s_pool(1, 64, 0);
    tg_shm_reader *r = tg_shm_reader_new(s_dir, 8);
    s_ref a, b;
    char err[256], path[512];
    const char *f;
    ASSERT_EQ(s_put(p, "one", 1, &a), 0);
    ASSERT_EQ(tg_shm_reader_claim(r, &a.m, &f, err, sizeof err), 0);
    tg_shm_reader_release(r);
    snprintf(path, sizeof path, "%s/%s", s_dir, a.name);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(s_put(p, "two", 2, &b), 0);
    ASSERT(strcmp(a.name, b.name) != 0);
    tg_shm_reader *r2 = tg_shm_reader_new(s_dir, 8); /* no cached mapping */
    ASSERT_EQ(tg_shm_reader_claim(r2, &b.m, &f, err, sizeof err), 0);
    ASSERT_MEM_EQ(f, b.m.len, "two", 3);
    tg_shm_reader_free(r2);
    tg_shm_reader_free(r);
    tg_shm_pool_free(p);
    s_rmdir();
}

/* Mappings of the file in this process (the pool's and the reader's). */
static int s_mapped(const char *name)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    ASSERT_NOT_NULL(fp);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, fp))
        if (strstr(line, name))
            n++;
    fclose(fp);
    return n;
}

static void test_reader_trims_idle_mappings(void)
{
    s_mkdir();
    tg_shm_pool *p = s_pool(1, 64, 0);
    tg_shm_reader *r = tg_shm_reader_new(s_dir, 8);
    s_ref a;
    char err[256];
    const char *f;
    ASSERT_EQ(s_put(p, "t", 1, &a), 0);
    ASSERT_EQ(tg_shm_reader_claim(r, &a.m, &f, err, sizeof err), 0);
    tg_shm_reader_release(r);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    ASSERT_EQ(s_mapped(a.name), 2);
    tg_shm_reader_trim(r, now + 1000);
    ASSERT_EQ(s_mapped(a.name), 2);
    tg_shm_reader_trim(r, now + 60000);
    ASSERT_EQ(s_mapped(a.name), 1);
    tg_shm_reader_free(r);
    tg_shm_pool_free(p);
    s_rmdir();
}

/* A new pool removes the files of writers that are gone, and only those. */
static void test_sweep_dead_writers(void)
{
    s_mkdir();
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0)
        _exit(0);
    ASSERT_EQ(waitpid(pid, NULL, 0), pid);
    char dead[512], alive[512], other[512];
    snprintf(dead, sizeof dead, "%s/trailguard-%d-1", s_dir, (int)pid);
    snprintf(alive, sizeof alive, "%s/trailguard-%d-99", s_dir, (int)getppid());
    snprintf(other, sizeof other, "%s/unrelated", s_dir);
    const char *files[] = { dead, alive, other };
    for (int i = 0; i < 3; i++) {
        FILE *fp = fopen(files[i], "w");
        ASSERT_NOT_NULL(fp);
        fclose(fp);
    }
    tg_shm_pool *p = s_pool(1, 64, 0);
    ASSERT(access(dead, F_OK) != 0);
    ASSERT_EQ(access(alive, F_OK), 0);
    ASSERT_EQ(access(other, F_OK), 0);
    tg_shm_pool_free(p);
    s_rmdir();
}

static void test_bad_dir(void)
{
    char err[256] = "";
    tg_shm_pool_opts o = { .dir = "/nonexistent/tg-shm", .segments = 1, .seg_bytes = 64 };
    ASSERT(tg_shm_pool_new(&o, err, sizeof err) == NULL);
    ASSERT(strstr(err, "/nonexistent/tg-shm") != NULL);
}

int main(void)
{
    tg_test_state st = { 0, 0 };
    TG_RUN(&st, test_roundtrip_and_reuse);
    TG_RUN(&st, test_reserve_publish);
    TG_RUN(&st, test_exhaustion_and_unpublish);
    TG_RUN(&st, test_one_claim_per_fill);
    TG_RUN(&st, test_forged_refs_refused);
    TG_RUN(&st, test_reclaim_from_dead_reader);
    TG_RUN(&st, test_lease_abandons_without_rewriting);
    TG_RUN(&st, test_outside_unlink);
    TG_RUN(&st, test_reader_trims_idle_mappings);
    TG_RUN(&st, test_sweep_dead_writers);
    TG_RUN(&st, test_bad_dir);
    TG_DONE(&st);
}
