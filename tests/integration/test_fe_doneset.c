/*
 * test_fe_doneset.c - the fetcher's finished-job set: lookups, replacement,
 * growth, retention pruning and iteration.  Owner: pipeline (tests/).
 */
#include <stdint.h>

#include "fe_doneset.h"
#include "tg_test.h"

static void test_put_get(void)
{
    fe_doneset *s = fe_doneset_new();
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(fe_doneset_get(s, 42), FE_DONE_NONE);
    ASSERT_EQ(fe_doneset_put(s, 42, FE_DONE_OK, 100), 0);
    ASSERT_EQ(fe_doneset_put(s, 43, FE_DONE_FAILED, 100), 0);
    ASSERT_EQ(fe_doneset_get(s, 42), FE_DONE_OK);
    ASSERT_EQ(fe_doneset_get(s, 43), FE_DONE_FAILED);
    ASSERT_EQ(fe_doneset_get(s, 44), FE_DONE_NONE);
    /* a later finish of the same job replaces the entry */
    ASSERT_EQ(fe_doneset_put(s, 43, FE_DONE_OK, 200), 0);
    ASSERT_EQ(fe_doneset_get(s, 43), FE_DONE_OK);
    ASSERT_EQ(fe_doneset_size(s), 2);
    fe_doneset_free(s);
}

/* Keys that collide in the low bits, and far more keys than the first
 * table holds. */
static void test_growth(void)
{
    fe_doneset *s = fe_doneset_new();
    for (uint64_t i = 0; i < 50000; i++)
        ASSERT_EQ(fe_doneset_put(s, i << 32, (uint8_t)(1 + (i & 1)), i), 0);
    ASSERT_EQ(fe_doneset_size(s), 50000);
    for (uint64_t i = 0; i < 50000; i++)
        ASSERT_EQ(fe_doneset_get(s, i << 32), 1 + (i & 1));
    ASSERT_EQ(fe_doneset_get(s, 50000ull << 32), FE_DONE_NONE);
    fe_doneset_free(s);
}

static int count_cb(uint64_t key, uint8_t status, uint64_t when, void *ud)
{
    uint64_t *sum = ud;
    sum[0]++;
    sum[1] += key;
    sum[2] += when;
    (void)status;
    return 0;
}

static void test_prune(void)
{
    fe_doneset *s = fe_doneset_new();
    for (uint64_t i = 1; i <= 3000; i++)
        ASSERT_EQ(fe_doneset_put(s, i * 7919, FE_DONE_OK, i), 0);
    ASSERT_EQ(fe_doneset_prune(s, 1), 0);          /* nothing older than 1 */
    ASSERT_EQ(fe_doneset_prune(s, 2001), 2000);    /* 1..2000 go */
    ASSERT_EQ(fe_doneset_size(s), 1000);
    ASSERT_EQ(fe_doneset_get(s, 2000 * 7919), FE_DONE_NONE);
    ASSERT_EQ(fe_doneset_get(s, 2001 * 7919), FE_DONE_OK);
    ASSERT_EQ(fe_doneset_get(s, 3000 * 7919), FE_DONE_OK);
    uint64_t sum[3] = { 0, 0, 0 };
    ASSERT_EQ(fe_doneset_each(s, count_cb, sum), 0);
    ASSERT_EQ(sum[0], 1000);
    ASSERT_EQ(sum[2], (2001 + 3000) * 1000 / 2);
    ASSERT_EQ(sum[1], sum[2] * 7919);
    /* still usable after the rebuild */
    ASSERT_EQ(fe_doneset_put(s, 5, FE_DONE_FAILED, 5000), 0);
    ASSERT_EQ(fe_doneset_get(s, 5), FE_DONE_FAILED);
    ASSERT_EQ(fe_doneset_prune(s, 10000), 1001);
    ASSERT_EQ(fe_doneset_size(s), 0);
    ASSERT_EQ(fe_doneset_get(s, 5), FE_DONE_NONE);
    fe_doneset_free(s);
}

static int stop_cb(uint64_t key, uint8_t status, uint64_t when, void *ud)
{
    (void)key;
    (void)status;
    (void)when;
    return ++*(int *)ud == 2 ? 7 : 0;
}

static void test_each_stops(void)
{
    fe_doneset *s = fe_doneset_new();
    for (uint64_t i = 1; i <= 5; i++)
        ASSERT_EQ(fe_doneset_put(s, i, FE_DONE_OK, 1), 0);
    int calls = 0;
    ASSERT_EQ(fe_doneset_each(s, stop_cb, &calls), 7);
    ASSERT_EQ(calls, 2);
    fe_doneset_free(s);
    fe_doneset_free(NULL);
}

int main(void)
{
    tg_test_state st = { 0, 0 };
    TG_RUN(&st, test_put_get);
    TG_RUN(&st, test_growth);
    TG_RUN(&st, test_prune);
    TG_RUN(&st, test_each_stops);
    TG_DONE(&st);
}
