/*
 * nt_test_util.h - helpers for the notifier output tests: build alerts,
 * run the loop until a condition or a deadline, collect completions.
 *
 * Owner: notifier outputs (tests/notifier/).
 */
#ifndef NT_TEST_UTIL_H
#define NT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "nt_sink.h"

/* An alert with owned storage. */
typedef struct nt_test_alert {
    nt_alert a;
    char id[40], rule[128], json[1024], out[512], rec[1024];
    nt_str tags[4];
} nt_test_alert;

static inline uint64_t nt_test_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Alert number i: id "a<i>", rule, priority, time now + i µs. */
static inline void nt_test_alert_make(nt_test_alert *t, int i,
                                      const char *rule, int prio)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%032x", (unsigned)i);
    snprintf(t->rule, sizeof(t->rule), "%s", rule);
    snprintf(t->out, sizeof(t->out), "alert %d: %s (user=alice)", i, rule);
    snprintf(t->json, sizeof(t->json),
             "{\"hostname\":\"h\",\"output\":\"alert %d\",\"priority\":\"%s\","
             "\"rule\":\"%s\",\"source\":\"aws_cloudtrail\",\"tags\":[\"aws\"],"
             "\"time\":\"2026-01-01T00:00:00.000000000Z\",\"output_fields\":"
             "{\"ct.name\":\"DeleteBucket\",\"seq\":%d}}",
             i, nt_prio_name(prio), rule, i);
    snprintf(t->rec, sizeof(t->rec),
             "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\","
             "\"arn\":\"arn:aws:iam::444455556666:user/alice\",\"accountId\":"
             "\"444455556666\"},\"eventTime\":\"2026-01-01T00:00:00Z\","
             "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"DeleteBucket\","
             "\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"203.0.113.7\","
             "\"requestParameters\":{\"bucketName\":\"my-bucket\"},"
             "\"eventID\":\"ev-%d\",\"recipientAccountId\":\"444455556666\"}", i);
    t->tags[0] = nt_str_c("aws");
    t->tags[1] = nt_str_c("mitre_defense_evasion");
    t->tags[2] = nt_str_c("CIS_AWS_3.1");
    t->a.id = nt_str_c(t->id);
    t->a.rule = nt_str_c(t->rule);
    t->a.priority = prio;
    t->a.time_ns = nt_test_now_ns() + (uint64_t)i * 1000ull;
    t->a.source = nt_str_c("aws_cloudtrail");
    t->a.tags = t->tags;
    t->a.ntags = 3;
    t->a.output = nt_str_c(t->out);
    t->a.json = nt_str_c(t->json);
    t->a.record = nt_str_c(t->rec);
    t->a.hostname = nt_str_c("h");
}

/* Completion counters for submit callbacks. */
typedef struct nt_test_done {
    int calls;
    int by_status[4];
    int last;
} nt_test_done;

static inline void nt_test_done_cb(int status, void *data)
{
    nt_test_done *d = data;
    d->calls++;
    if (status >= 0 && status < 4)
        d->by_status[status]++;
    d->last = status;
}

static void nt_test_deadline_cb(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

typedef int (*nt_test_cond)(void *arg);

typedef struct nt_test_wait {
    nt_test_cond cond;
    void *arg;
} nt_test_wait;

/* Before the loop would block: stop it when the condition holds, so a
 * condition met in a callback never waits for the next timer. */
static void nt_test_prepare_cb(uv_prepare_t *p)
{
    nt_test_wait *w = p->data;
    if (w->cond(w->arg))
        uv_stop(p->loop);
}

/* Run the loop until cond(arg) holds; 1 if it did, 0 on timeout. */
static inline int nt_test_run_until(uv_loop_t *loop, nt_test_cond cond,
                                    void *arg, unsigned ms)
{
    int expired = 0;
    nt_test_wait w = {cond, arg};
    uv_timer_t t;
    uv_prepare_t p;
    uv_timer_init(loop, &t);
    uv_prepare_init(loop, &p);
    t.data = &expired;
    p.data = &w;
    uv_timer_start(&t, nt_test_deadline_cb, ms, 0);
    uv_prepare_start(&p, nt_test_prepare_cb);
    while (!cond(arg) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_close((uv_handle_t *)&p, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static inline int nt_test_flag(void *arg)
{
    return *(int *)arg != 0;
}

typedef struct nt_test_calls {
    nt_test_done *d;
    int want;
} nt_test_calls;

static inline int nt_test_calls_reached(void *arg)
{
    nt_test_calls *c = arg;
    return c->d->calls >= c->want;
}

/* Wait until d has seen `want` completions. */
static inline int nt_test_wait_done(uv_loop_t *loop, nt_test_done *d,
                                    int want, unsigned ms)
{
    nt_test_calls c = {d, want};
    return nt_test_run_until(loop, nt_test_calls_reached, &c, ms);
}

static void nt_test_closed_cb(void *data)
{
    *(int *)data = 1;
}

/* Close an output and run the loop until it is gone. */
static inline void nt_test_close(uv_loop_t *loop, nt_sink *o)
{
    int closed = 0;
    nt_sink_close(o, nt_test_closed_cb, &closed);
    nt_test_run_until(loop, nt_test_flag, &closed, 5000);
    for (int i = 0; i < 100 && uv_loop_alive(loop); i++)
        uv_run(loop, UV_RUN_NOWAIT);
}

#define NT_KV(k, v) {(k), (v), NULL}

#endif /* NT_TEST_UTIL_H */
