/*
 * fe_daemon.h - the fetcher daemon: turns source inputs into job frames,
 * tracks every job until all of its batches are acknowledged, and keeps a
 * checkpoint journal of finished jobs.
 *
 * DESIGN
 * State lives in one fe_daemon; sources (fe_source.h) submit jobs into a
 * fixed table of max_inflight slots.  A job is sent on the job PUSH socket
 * (parsers connect to it) and stays in its slot until acks for batches
 * 0..count-1 have arrived on the ack PULL socket (the notifier sends them
 * once a batch's alerts are delivered).  Then "status identity" is
 * appended to the journal (fsync'd in batches: losing the newest entries in
 * a crash only means those jobs are redone, and the notifier's dedup window
 * drops their alerts), the source's commit hook runs and the slot frees.  A job with no progress for ack_timeout is sent again
 * (attempt + 1) up to max_attempts, then given up and counted as failed.
 * The job id is a hash of the identity, so acks from an earlier attempt or
 * from before a fetcher restart still count.  On start the journal is
 * replayed and jobs already done are skipped.
 */
#ifndef FE_DAEMON_H
#define FE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "fe_source.h"
#include "tg_config.h"
#include "tg_daemon.h"

typedef struct fe_config {
    char *bind;             /* job PUSH endpoint (bind) */
    char *ack_bind;         /* ack PULL endpoint (bind) */
    char *ack_endpoint;     /* how peers reach ack_bind; NULL = ack_bind */
    tg_strlist sources;     /* local files/dirs, "-" = stdin */
    bool inline_data;       /* send file bytes instead of paths */
    bool once;              /* sources take what is there now, then finish */
    uint64_t max_inflight;
    uint64_t ack_timeout;   /* ms */
    uint64_t max_attempts;
    uint64_t drain_timeout; /* ms */
    uint64_t sndhwm;
    uint64_t metrics_port;
    char *journal;          /* NULL = <state_dir>/fetcher/checkpoint.journal */
} fe_config;

extern const tg_conf_entry fe_config_table[];

typedef struct fe_daemon fe_daemon;

/* cfg and common are borrowed for the call.  Caller owns result; free with
 * fe_daemon_free().  NULL on error with detail in err. */
fe_daemon *fe_daemon_new(uv_loop_t *loop, const fe_config *cfg,
                         const tg_daemon_common *common, char *err,
                         size_t errlen);

/* Takes ownership of *src (set to NULL). 0 or -EBUSY once started. */
int fe_daemon_add_source(fe_daemon *d, fe_source **src);

/* Start every source.  0 or negative with detail in err. */
int fe_daemon_start(fe_daemon *d, char *err, size_t errlen);

/* Begin a graceful stop: sources stop, in-flight jobs get drain_timeout
 * to finish, then every handle closes and uv_run returns.  Idempotent. */
void fe_daemon_stop(fe_daemon *d);

/* True once a finite run is complete (the loop ends by itself). */
bool fe_daemon_finished(const fe_daemon *d);

/* 0 when every input was processed without errors, 1 otherwise. */
int fe_daemon_exit_code(const fe_daemon *d);

/* The bound metrics port, or -1. */
int fe_daemon_metrics_port(const fe_daemon *d);

/* The job endpoint (borrowed). */
const char *fe_daemon_endpoint(const fe_daemon *d);

/* Release; run the loop once more afterwards for close callbacks.
 * NULL is a no-op. */
void fe_daemon_free(fe_daemon *d);

#endif /* FE_DAEMON_H */
