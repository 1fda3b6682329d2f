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
 * replayed and jobs already done are skipped; sources that know a job's
 * identity before downloading it (S3 listings) ask sink->is_done() first
 * and do not fetch it at all.
 */
#ifndef FE_DAEMON_H
#define FE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "fe_source.h"
#include "tg_config.h"
#include "tg_daemon.h"
#include "tg_metrics.h"

/* fetcher.aws.*, fetcher.sqs.*, fetcher.sns.*: read by fe_aws.c when the
 * fetcher is built with fetcher/aws. */
typedef struct fe_aws_config {
    char *assume_role_arn, *external_id, *ca_file;
    bool validate_digests;
    uint64_t poll_interval;     /* ms */
    char *start;
    uint64_t lookback;          /* ms */
    uint64_t sqs_visibility, sqs_wait; /* ms */
    uint64_t sqs_max_receives;
    char *sqs_dlq_url;
    tg_strlist sns_topics;      /* non-empty = run the SNS endpoint */
    char *sns_listen;
    uint64_t sns_port;
    char *sns_journal;          /* NULL = <state_dir>/fetcher/sns.journal */
    bool sns_confirm;
    uint64_t sns_max_age;       /* ms */
    char *sns_host_pattern;
    char *sns_tls_cert;         /* NULL = plain HTTP (TLS in a proxy) */
    char *sns_tls_key;          /* NULL = in sns_tls_cert */
} fe_aws_config;

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
    uint64_t done_retention; /* ms; 0 = finished jobs are kept for ever */
    uint64_t sndhwm;
    uint64_t metrics_port;
    char *journal;          /* NULL = <state_dir>/fetcher/checkpoint.journal */
    fe_aws_config aws;
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

/* The metrics registry (borrowed; lives as long as d), for sources'
 * counters. */
tg_metrics *fe_daemon_metrics(fe_daemon *d);

/* The bound metrics port, or -1. */
int fe_daemon_metrics_port(const fe_daemon *d);

/* The job endpoint (borrowed). */
const char *fe_daemon_endpoint(const fe_daemon *d);

/* Release; run the loop once more afterwards for close callbacks.
 * NULL is a no-op. */
void fe_daemon_free(fe_daemon *d);

#endif /* FE_DAEMON_H */
