/*
 * test_nt_order.c - per-job batch order (notifier/nt_order.c): what is
 * processed at once, what is held, and when held frames are released.
 * Expected values follow from the contract in nt_order.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "nt_order.h"
#include "tg_test.h"

static tg_test_state st;

/* Take one frame; returns its payload's first byte, or -1 when none. */
static int s_take(nt_order *o, uint64_t now, bool *stale, bool *late)
{
    void *f;
    size_t len;
    if (!nt_order_take(o, now, &f, &len, stale, late))
        return -1;
    int c = ((char *)f)[0];
    ASSERT_EQ(len, 1);
    free(f);
    return c;
}

static void test_in_order_goes_at_once(void)
{
    nt_order *o = nt_order_new(16, 8, 1000);
    ASSERT_NOT_NULL(o);
    ASSERT(nt_order_ready(o, 1, 0, 3));
    nt_order_done(o, 1, 0, 3);
    ASSERT(nt_order_ready(o, 1, 1, 3));
    nt_order_done(o, 1, 1, 3);
    ASSERT(nt_order_ready(o, 1, 2, 3));
    nt_order_done(o, 1, 2, 3);
    /* a redelivered copy of a done job is processed at once (dedup) */
    ASSERT(nt_order_ready(o, 1, 1, 3));
    ASSERT(nt_order_ready(o, 1, 0, 3));
    /* bad headers (count not above the index) are never held */
    ASSERT(nt_order_ready(o, 2, 5, 3));
    ASSERT(nt_order_ready(o, 2, 3, 3));
    nt_order_free(o);
}

static void test_held_until_predecessor_done(void)
{
    nt_order *o = nt_order_new(16, 8, 1000);
    bool stale, late;
    ASSERT(!nt_order_ready(o, 7, 2, 3));
    ASSERT_EQ(nt_order_hold(o, 7, 2, "c", 1, 0), 0);
    ASSERT(!nt_order_ready(o, 7, 1, 3));
    ASSERT_EQ(nt_order_hold(o, 7, 1, "b", 1, 0), 0);
    ASSERT_EQ(nt_order_held(o), 2);
    ASSERT_EQ(s_take(o, 10, &stale, &late), -1);   /* batch 0 not done */
    ASSERT(nt_order_ready(o, 7, 0, 3));
    nt_order_done(o, 7, 0, 3);
    ASSERT_EQ(s_take(o, 10, &stale, &late), 'b');
    ASSERT(!stale && !late);
    ASSERT_EQ(s_take(o, 10, &stale, &late), -1);   /* 'c' waits for 1 */
    nt_order_done(o, 7, 1, 3);
    ASSERT_EQ(s_take(o, 10, &stale, &late), 'c');
    ASSERT(!stale && !late);
    ASSERT_EQ(nt_order_held(o), 0);
    nt_order_free(o);
}

static void test_redelivered_copy_makes_held_stale(void)
{
    nt_order *o = nt_order_new(16, 8, 1000);
    bool stale, late;
    ASSERT_EQ(nt_order_hold(o, 9, 1, "x", 1, 0), 0);
    /* the job comes again from batch 0; its batch 1 is processed first */
    nt_order_done(o, 9, 0, 2);
    nt_order_done(o, 9, 1, 2);
    ASSERT_EQ(s_take(o, 5, &stale, &late), 'x');
    ASSERT(stale);
    ASSERT(!late);
    nt_order_free(o);
}

static void test_wait_and_bound(void)
{
    nt_order *o = nt_order_new(16, 2, 100);
    bool stale, late;
    ASSERT_EQ(nt_order_hold(o, 3, 1, "a", 1, 0), 0);
    ASSERT_EQ(s_take(o, 99, &stale, &late), -1);
    ASSERT_EQ(s_take(o, 100, &stale, &late), 'a');   /* waited hold_ms */
    ASSERT(late && !stale);
    /* later batches of job 3 follow the late one in order */
    nt_order_done(o, 3, 1, 4);
    ASSERT(nt_order_ready(o, 3, 2, 4));
    /* more than max_held: the oldest goes, late */
    ASSERT_EQ(nt_order_hold(o, 4, 1, "p", 1, 200), 0);
    ASSERT_EQ(nt_order_hold(o, 5, 1, "q", 1, 201), 0);
    ASSERT_EQ(s_take(o, 202, &stale, &late), -1);
    ASSERT_EQ(nt_order_hold(o, 6, 1, "r", 1, 202), 0);
    ASSERT_EQ(s_take(o, 202, &stale, &late), 'p');
    ASSERT(late);
    ASSERT_EQ(nt_order_held(o), 2);
    ASSERT_EQ(nt_order_hold(o, 7, 1, "s", 1, 203), 0);
    ASSERT(nt_order_hold(o, 8, 1, "t", 1, 203) == -ENOMEM); /* bound + 1 */
    nt_order_free(o);   /* frees what is still held (ASan checks) */
}

static void test_lru_jobs(void)
{
    nt_order *o = nt_order_new(2, 4, 1000);
    nt_order_done(o, 1, 0, 5);
    nt_order_done(o, 2, 0, 5);
    ASSERT(nt_order_ready(o, 1, 1, 5));   /* touches job 1 */
    nt_order_done(o, 3, 0, 5);            /* job 2 is forgotten */
    ASSERT(nt_order_ready(o, 1, 1, 5));
    ASSERT(nt_order_ready(o, 3, 1, 5));
    ASSERT(!nt_order_ready(o, 2, 1, 5));
    nt_order_free(o);
    nt_order_free(NULL);
}

/* The parser streams a job: every frame but the last carries count 0
 * ("more follow", tg_msg.h).  Those batches are ordered like the last:
 * after a notifier restart lost batch 0 of a job, batches 1 and 2 (count 0)
 * and 3 (count 4) wait for the redelivered batch 0. */
static void test_streamed_count_zero_is_ordered(void)
{
    nt_order *o = nt_order_new(16, 8, 1000);
    bool stale, late;
    ASSERT(nt_order_ready(o, 9, 0, 0));            /* the first is next */
    ASSERT(!nt_order_ready(o, 9, 1, 0));
    ASSERT_EQ(nt_order_hold(o, 9, 1, "b", 1, 0), 0);
    ASSERT(!nt_order_ready(o, 9, 2, 0));
    ASSERT_EQ(nt_order_hold(o, 9, 2, "c", 1, 0), 0);
    ASSERT(!nt_order_ready(o, 9, 3, 4));
    ASSERT_EQ(nt_order_hold(o, 9, 3, "d", 1, 0), 0);
    ASSERT_EQ(s_take(o, 10, &stale, &late), -1);   /* batch 0 not done */
    nt_order_done(o, 9, 0, 0);                      /* redelivered batch 0 */
    ASSERT_EQ(s_take(o, 10, &stale, &late), 'b');
    ASSERT(!stale && !late);
    ASSERT_EQ(s_take(o, 10, &stale, &late), -1);   /* 'c' waits for 1 */
    nt_order_done(o, 9, 1, 0);
    ASSERT_EQ(s_take(o, 10, &stale, &late), 'c');
    nt_order_done(o, 9, 2, 0);
    ASSERT_EQ(s_take(o, 10, &stale, &late), 'd');
    nt_order_done(o, 9, 3, 4);
    ASSERT_EQ(nt_order_held(o), 0);
    nt_order_free(o);
}

int main(void)
{
    TG_RUN(&st, test_in_order_goes_at_once);
    TG_RUN(&st, test_held_until_predecessor_done);
    TG_RUN(&st, test_redelivered_copy_makes_held_stale);
    TG_RUN(&st, test_wait_and_bound);
    TG_RUN(&st, test_lru_jobs);
    TG_RUN(&st, test_streamed_count_zero_is_ordered);
    TG_DONE(&st);
}
