/*
 * aws_test_loop.h - run a uv loop until a condition holds or a deadline
 * passes (tests never sleep in place of waiting).
 *
 * Owner: AWS ingestion (tests/aws/).
 */
#ifndef AWS_TEST_LOOP_H
#define AWS_TEST_LOOP_H

#include <uv.h>

static void s_deadline_cb(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Before the loop blocks for I/O: stop it if the flag was set by a timer
 * callback in this iteration (otherwise UV_RUN_ONCE would sleep until
 * the next timer). */
static void s_prepare_cb(uv_prepare_t *p)
{
    if (*(const volatile int *)p->data)
        uv_stop(p->loop);
}

/* Returns 1 when *flag became non-zero, 0 on timeout. */
static inline int aws_test_run_until(uv_loop_t *loop, const volatile int *flag,
                                     unsigned ms)
{
    int expired = 0;
    uv_timer_t t;
    uv_prepare_t p;
    uv_timer_init(loop, &t);
    t.data = &expired;
    uv_timer_start(&t, s_deadline_cb, ms, 0);
    uv_prepare_init(loop, &p);
    p.data = (void *)flag;
    uv_prepare_start(&p, s_prepare_cb);
    while (!*flag && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_close((uv_handle_t *)&p, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *flag != 0;
}

/* Run until no handle is left (after *_free()), bounded. */
static inline void aws_test_drain(uv_loop_t *loop)
{
    for (int i = 0; i < 100 && uv_loop_alive(loop); i++)
        uv_run(loop, UV_RUN_NOWAIT);
}

#endif
