/*
 * nt_order.c - per-job batch order; see nt_order.h for the design.
 *
 * Both tables are small arrays scanned linearly: jobs in flight and held
 * frames number in the tens (the fetcher's max_inflight jobs, the
 * evaluators' queues), so a scan costs less than hashing would.
 */
#include "nt_order.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_job {
    uint64_t job;
    uint32_t next;          /* next batch index expected */
    uint64_t used;          /* LRU stamp */
} s_job;

typedef struct s_held {
    uint64_t job;
    uint32_t index;
    uint64_t since;         /* ms */
    void *frame;
    size_t len;
} s_held;

struct nt_order {
    s_job *jobs;
    size_t njobs, max_jobs;
    s_held *held;
    size_t nheld, max_held;
    uint64_t hold_ms;
    uint64_t clock;         /* LRU counter */
};

nt_order *nt_order_new(size_t max_jobs, size_t max_held, uint64_t hold_ms)
{
    nt_order *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->max_jobs = max_jobs ? max_jobs : 1;
    o->max_held = max_held;
    o->hold_ms = hold_ms;
    o->jobs = calloc(o->max_jobs, sizeof(*o->jobs));
    o->held = calloc(max_held + 1, sizeof(*o->held));
    if (!o->jobs || !o->held) {
        nt_order_free(o);
        return NULL;
    }
    return o;
}

void nt_order_free(nt_order *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nheld; i++)
        free(o->held[i].frame);
    free(o->held);
    free(o->jobs);
    free(o);
}

static s_job *s_find(nt_order *o, uint64_t job)
{
    for (size_t i = 0; i < o->njobs; i++)
        if (o->jobs[i].job == job) {
            o->jobs[i].used = ++o->clock;
            return &o->jobs[i];
        }
    return NULL;
}

static s_job *s_add(nt_order *o, uint64_t job)
{
    size_t at = o->njobs;
    if (at == o->max_jobs) { /* forget the least recently used */
        at = 0;
        for (size_t i = 1; i < o->njobs; i++)
            if (o->jobs[i].used < o->jobs[at].used)
                at = i;
    } else {
        o->njobs++;
    }
    o->jobs[at] = (s_job){ job, 0, ++o->clock };
    return &o->jobs[at];
}

static uint32_t s_next(nt_order *o, uint64_t job)
{
    s_job *j = s_find(o, job);
    return j ? j->next : 0;
}

bool nt_order_ready(nt_order *o, uint64_t job, uint32_t index, uint32_t count)
{
    /* count 0 is "not the last batch" (tg_msg.h: the parser streams and
     * only the last frame carries the total), not "unknown": such a batch
     * is ordered like any other.  Only a count that does not exceed the
     * index is invalid, and an invalid header is never held. */
    if (count != 0 && index >= count)
        return true;
    return index <= s_next(o, job);
}

int nt_order_hold(nt_order *o, uint64_t job, uint32_t index, const void *frame,
                  size_t len, uint64_t now_ms)
{
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, frame, len);
    if (!s_find(o, job))
        s_add(o, job);
    /* max_held + 1 slots: the overflow is released by the next take() */
    if (o->nheld > o->max_held) {
        free(copy);
        return -ENOMEM;
    }
    o->held[o->nheld++] = (s_held){ job, index, now_ms, copy, len };
    return 0;
}

void nt_order_done(nt_order *o, uint64_t job, uint32_t index, uint32_t count)
{
    s_job *j = s_find(o, job);
    if (!j)
        j = s_add(o, job);
    (void)count; /* a complete job stays known (LRU): a late redelivered
                    copy of one of its batches then goes at once */
    if (index + 1 > j->next)
        j->next = index + 1;
}

static void s_remove(nt_order *o, size_t i, void **frame, size_t *len)
{
    *frame = o->held[i].frame;
    *len = o->held[i].len;
    memmove(&o->held[i], &o->held[i + 1], (o->nheld - i - 1) * sizeof(s_held));
    o->nheld--;
}

bool nt_order_take(nt_order *o, uint64_t now_ms, void **frame, size_t *len,
                   bool *stale, bool *late)
{
    *stale = *late = false;
    for (size_t i = 0; i < o->nheld; i++) {
        uint32_t next = s_next(o, o->held[i].job);
        if (o->held[i].index <= next) {
            /* a held batch can be below next only when a redelivered copy
             * of it was processed meanwhile */
            *stale = o->held[i].index < next;
            s_remove(o, i, frame, len);
            return true;
        }
    }
    if (o->nheld == 0)
        return false;
    /* held[0] is the oldest */
    if (o->nheld > o->max_held || now_ms - o->held[0].since >= o->hold_ms) {
        *late = true;
        s_remove(o, 0, frame, len);
        return true;
    }
    return false;
}

size_t nt_order_held(const nt_order *o)
{
    return o->nheld;
}
