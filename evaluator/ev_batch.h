/*
 * ev_batch.h - the evaluator's per-batch work: every record of a decoded
 * batch frame matched against the rules, each match rendered as an alert,
 * and the answering alerts frame encoded.  Owner: pipeline.
 *
 * DESIGN
 * The daemon (ev_daemon.c) keeps the sockets, the rule loading and the
 * metrics registry; this module keeps what one batch needs and reuses it
 * from batch to batch, so that steady-state evaluation does not allocate:
 * one ev_event (its arena), the text/JSON buffers the alerts are rendered
 * into, the alert table, and the per-(account, region) newest eventTime
 * table behind trailguard_source_last_event_timestamp_seconds.  It has no
 * sockets and no loop, so bench/bench_evaluator.c runs it in-process over
 * real frames.
 *
 * Each record is wrapped as an ev_ct_record (borrowing the frame: the
 * map's bytes, never unpacked, with the decoder's table of its top-level
 * pairs as the key index), its eventTime parsed into ev_event.ts_ns, and
 * matched with ev_engine_match().
 * Each match is rendered as the Falco text line and the Falco JSON object,
 * with the ruleset hash inserted into output_fields under
 * "trailguard.ruleset", and gets a stable id: the first 32 hex chars of
 * sha256(identity "\n" record-index "\n" rule-name).
 */
#ifndef EV_BATCH_H
#define EV_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "ev_engine.h"
#include "tg_metrics.h"
#include "tg_msg.h"

typedef struct ev_batch ev_batch;

/* Optional metrics; NULL members (or a NULL opts) mean "not collected". */
typedef struct ev_batch_opts {
    const char *hostname;   /* evt.hostname; NULL = gethostname().  Borrowed;
                             * must outlive the ev_batch. */
    tg_metrics *reg;        /* registry for the per-source gauges; borrowed */
    tg_metric *lag;         /* histogram: wall clock minus eventTime (s) */
} ev_batch_opts;

/* What one ev_batch_run() did. */
typedef struct ev_batch_result {
    uint32_t nrecords;
    uint32_t nalerts;
} ev_batch_result;

/* opts is copied (its pointers borrowed).  Caller owns result; free with
 * ev_batch_free().  Aborts on out of memory like the rest of the
 * evaluator. */
ev_batch *ev_batch_new(const ev_batch_opts *opts);
/* Accepts NULL. */
void ev_batch_free(ev_batch *b);

/*
 * Evaluate every record of batch m with engine e and append the answering
 * alerts frame (ruleset hash `ruleset`, may be NULL) to out.  m and its
 * receive buffer are borrowed for the call; so is e.  Records are numbered
 * (evt.num) across calls.  Returns 0 (encoding cannot fail but for out of
 * memory, which aborts); res may be NULL.
 */
int ev_batch_run(ev_batch *b, ev_engine *e, const char *ruleset,
                 const tg_msg_batch *m, msgpack_sbuffer *out,
                 ev_batch_result *res);

#endif /* EV_BATCH_H */
