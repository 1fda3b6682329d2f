/*
 * nt_daemon.h - the notifier daemon: alerts frames in, alerts delivered to
 * outputs, duplicates dropped, batches acknowledged to the fetcher.
 *
 * DESIGN
 * One PULL socket (bound) receives alerts frames from every evaluator.
 * Group commit: the frames that are already there when the loop wakes up
 * (at most group_max, default 64, or 4 MiB) form a group.  The group's
 * alerts are checked against the durable dedup window (nt_dedup) and
 * against each other, and written to every output (nt_output.h) whose
 * minimum priority they meet, with ONE write per output (so a file output
 * writes and fdatasyncs once per group, not once per batch).  Only when
 * every output reported the whole group delivered (or durably spooled) are
 * the group's ids committed to the dedup journal (one append, synced per
 * dedup_sync) and then an ack [job, index, count, errors] pushed for each
 * of its batches, in the order received.  So an acked batch means what it
 * always meant: its alerts were delivered or durably spooled, and their
 * ids are in the journal.  Receiving pauses while a group is outstanding,
 * so evaluators feel the back-pressure.  If an output fails, the whole
 * group is retried every retry_interval; it is never acked undelivered.
 * Outputs never block the loop (the stream output writes on a threadpool
 * worker), so /metrics and /healthz answer while a batch waits.
 *
 * Per-job order (nt_order.h): the batches of one job are delivered in
 * index order; a frame that arrives before the batch ahead of it is held,
 * unacknowledged, until that batch is in a group (or order_wait passes).
 * A group is delivered whole and in order, so a batch counts as done for
 * ordering when it joins one, and the held batch after it can join too.
 *
 * Outputs come from notifier.output specs (json, text, file:PATH,
 * text-file:PATH, and webhook:URL, http:URL, syslog:ADDRESS,
 * securityhub[:REGION], cloudwatch:LOG_GROUP for the output modules) and
 * from the notifier.outputs list (notifier/outputs/nt_sink_output.h).
 *
 * Crash windows: an alert written to an output but not yet committed to the
 * journal is written again after a restart (at most the group in progress,
 * group_max batches); an alert committed is never written twice within the
 * window.
 */
#ifndef NT_DAEMON_H
#define NT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "tg_config.h"
#include "tg_daemon.h"

typedef struct nt_config {
    char *bind;                 /* alert PULL endpoint */
    tg_strlist output;          /* built-in output specs (nt_output.h) */
    const tg_conf_node *outputs;/* output modules (notifier/outputs) */
    char *min_priority;         /* applies to every built-in output */
    bool file_sync;             /* fdatasync files before acking */
    uint64_t dedup_window;      /* ids remembered */
    char *dedup_journal;        /* NULL = <state_dir>/notifier/dedup.journal */
    char *dedup_sync;           /* always | batch | never */
    uint64_t retry_interval;    /* ms */
    uint64_t order_wait;        /* ms; 0 = no per-job ordering */
    uint64_t group_max;         /* frames per group commit, 1..64 */
    uint64_t rcvhwm;
    uint64_t metrics_port;
} nt_config;

extern const tg_conf_entry nt_config_table[];

typedef struct nt_daemon nt_daemon;

/* cfg/common borrowed for the call.  Caller owns result; free with
 * nt_daemon_free().  NULL with detail in err. */
nt_daemon *nt_daemon_new(uv_loop_t *loop, const nt_config *cfg,
                         const tg_daemon_common *common, char *err,
                         size_t errlen);

/* SIGHUP: reopen output files. */
void nt_daemon_reopen(nt_daemon *d);

/* Graceful stop: finish the outstanding batch (bounded), flush, close. */
void nt_daemon_stop(nt_daemon *d);

int nt_daemon_metrics_port(const nt_daemon *d);
const char *nt_daemon_endpoint(const nt_daemon *d);

/* NULL is a no-op; run the loop once more afterwards. */
void nt_daemon_free(nt_daemon *d);

#endif /* NT_DAEMON_H */
