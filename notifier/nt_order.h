/*
 * nt_order.h - per-job ordering of alerts frames in the notifier.
 *
 * DESIGN
 * The batches of one job (one log file) may reach the notifier out of
 * order: several evaluators work on them in parallel, and after a crash
 * (of the notifier, or of a stage before it) the fetcher redelivers the
 * whole job while later batches of it may already have been delivered.
 * To deliver the alerts of one job in record order, the notifier processes
 * the batches of a job in index order: for each job it remembers the next
 * batch index it expects (0 for a job it has not seen).  A frame with a
 * higher index is held (its bytes copied here) and not acknowledged; it is
 * released when the batch before it is done.  A frame with a lower index
 * (a redelivery) is processed at once: the dedup window drops what was
 * delivered already.  A held frame whose predecessor never comes here
 * (the notifier restarted after delivering it) stays unacknowledged until
 * the fetcher's ack timeout redelivers the job from batch 0.
 *
 * Bounds: at most max_held frames are held; when one more must be held,
 * or a held frame is older than hold_ms, the oldest is released out of
 * order (delivery beats ordering).  Beyond max_jobs the least recently
 * used job is forgotten (a complete job is kept so that a late copy of one
 * of its batches is recognised as a redelivery).
 * Single-threaded; the caller passes the time in.
 */
#ifndef NT_ORDER_H
#define NT_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nt_order nt_order;

/* Caller owns result; free with nt_order_free().  NULL on no memory. */
nt_order *nt_order_new(size_t max_jobs, size_t max_held, uint64_t hold_ms);
/* Frees held frames too.  NULL is a no-op. */
void nt_order_free(nt_order *o);

/* True when batch `index` of `job` may be processed now (it is the next
 * one, an earlier one again, or the header is invalid: count != 0 and
 * index >= count); false: hold it.  count 0 means "not the last batch of
 * the job" (tg_msg.h), so such batches are ordered too. */
bool nt_order_ready(nt_order *o, uint64_t job, uint32_t index, uint32_t count);

/* Hold a frame (bytes copied).  0, or -ENOMEM. */
int nt_order_hold(nt_order *o, uint64_t job, uint32_t index, const void *frame,
                  size_t len, uint64_t now_ms);

/* Batch `index` of `job` (of `count`) was processed and acknowledged. */
void nt_order_done(nt_order *o, uint64_t job, uint32_t index, uint32_t count);

/*
 * Take the next held frame to process now, if any: one that is next in
 * its job, a held copy of a batch already done (*stale = true: the caller
 * drops it), one older than hold_ms, or the oldest while more than
 * max_held are held (*late = true for these two).  Caller owns *frame;
 * free() it.  False when nothing is to be taken.
 */
bool nt_order_take(nt_order *o, uint64_t now_ms, void **frame, size_t *len,
                   bool *stale, bool *late);

/* Frames held now. */
size_t nt_order_held(const nt_order *o);

#endif /* NT_ORDER_H */
