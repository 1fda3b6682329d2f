/*
 * nt_sink.h - one configured output (a "sink") and the set of them.
 *
 * Owner: notifier outputs.  The daemon reaches sinks through its own
 * nt_output interface (notifier/nt_output.h) via nt_sink_output.h; this
 * API is for that adapter, tests and tools.
 *
 * DESIGN
 * An nt_sink is one configured destination (stdout, file, webhook,
 * http, securityhub, cloudwatch, syslog).  Any number may be configured,
 * several of the same type.  Each runs on the notifier's libuv loop:
 *
 *   submit(alerts)  route + suppress, copy, queue          (never blocks)
 *   ...batch by size (batch_size) and time (flush_interval)...
 *   plugin flush    deliver a batch; per-alert result ok / retry / reject
 *   retry           exponential backoff with jitter, at least Retry-After,
 *                   rate limited (rate_limit / rate_burst)
 *   spool           after retry_attempts failed tries the output is
 *                   "down": what is queued, and everything submitted
 *                   until it recovers, goes to its on-disk spool
 *                   (nt_spool.h) and is replayed in order, oldest first.
 *
 * Completion: every submit() that returns 0 gets exactly one callback,
 * later (never from inside submit), with the worst status of its alerts:
 *   NT_OK         every alert routed here was delivered (or filtered out,
 *                 or suppressed as a repeat);
 *   NT_SPOOLED    some were durably written to the spool (fsync'd) and
 *                 will be delivered later: safe to ack;
 *   NT_REJECTED   the destination refused some alerts as invalid (a
 *                 permanent 4xx or a per-finding validation error):
 *                 retrying cannot help; counted as failed;
 *   NT_CANCELLED  the output was closed first: do NOT ack, the alerts
 *                 were neither delivered nor spooled.
 * Ordering: one batch in flight per output, FIFO, spool replayed before
 * new alerts, so each output sees alerts in submit order.
 *
 * nt_sinks is the set built from the configuration; its submit() fans
 * out to every output and calls back once with the worst status.
 *
 * Metrics (tg_metrics, labels output=<name>, type=<type>):
 *   trailguard_output_sent_total, _failed_total, _retried_total,
 *   _spooled_total, _dropped_total, _suppressed_total, _filtered_total,
 *   _requests_total, trailguard_output_spool_depth (gauge),
 *   trailguard_output_latency_seconds (submit → delivered histogram).
 *   _dropped_total counts alerts the spool discarded over spool_max_size;
 *   a replay batch already in flight when its segment goes is still
 *   delivered, so a few "dropped" alerts may arrive anyway.
 * Modules do not log: events worth a log line (spool drops, the output
 * going down / recovering, rejected alerts) go to env->log.
 */
#ifndef NT_SINK_H
#define NT_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "nt_alert.h"
#include "nt_conf.h"

typedef struct tg_metrics tg_metrics;

enum {
    NT_OK = 0,
    NT_SPOOLED = 1,
    NT_REJECTED = 2,
    NT_CANCELLED = 3,
};

/* "ok", "spooled", "rejected", "cancelled". Static. */
const char *nt_status_name(int status);

typedef void (*nt_done_cb)(int status, void *data);

/* Log levels given to env->log (same numbers as TG_LOG_*). */
enum { NT_LOG_ERROR = 0, NT_LOG_WARN = 1, NT_LOG_INFO = 2, NT_LOG_DEBUG = 3 };

typedef struct nt_sink_env {
    uv_loop_t *loop;          /* borrowed; must outlive the outputs */
    tg_metrics *metrics;      /* borrowed; NULL = no metrics */
    const char *state_dir;    /* spools default to <state_dir>/spool/<name>;
                                 NULL = no spool unless spool_dir is set */
    /* event sink for the daemon's log; NULL = silent.  `output` is the
     * output's name; msg is borrowed for the call. */
    void (*log)(void *data, int level, const char *output, const char *msg);
    void *log_data;
    /* AWS access for securityhub/cloudwatch (see nt_aws.h); NULL = the
     * outputs build their own from the default credential chain. */
    void *aws;
} nt_sink_env;

typedef struct nt_sink_stats {
    uint64_t sent, failed, retried, spooled, dropped, suppressed, filtered;
    uint64_t requests;        /* plugin flush calls (one per batch try) */
    uint64_t queued;          /* alerts in memory now */
    uint64_t spool_depth;     /* alerts in the spool now */
    int down;                 /* 1 while delivering from the spool */
} nt_sink_stats;

typedef struct nt_sink nt_sink;

/*
 * Create an output of `type` from flat properties (see nt_conf.h; "type"
 * and "name" may be among them and are then ignored here).  env is
 * copied (its pointers stay borrowed).  Caller owns result; release with
 * nt_sink_close().  NULL with detail in err on a bad configuration.
 */
nt_sink *nt_sink_new(const nt_sink_env *env, const char *type,
                     const char *name, const nt_kv *props, size_t nprops,
                     char *err, size_t errlen);

/*
 * Hand over alerts (copied: the caller may free them on return).  cb is
 * called exactly once, later.  Returns 0, or -ENOMEM, -ESHUTDOWN (after
 * close) or -EAGAIN (queue_max alerts already wait in memory: submit
 * again later), in which case cb is never called.
 */
int nt_sink_submit(nt_sink *o, const nt_alert *alerts, size_t n,
                   nt_done_cb cb, void *data);

/* Send what is batched now instead of waiting for flush_interval. */
void nt_sink_flush(nt_sink *o);

/* Reopen files / reconnect sockets (SIGHUP, logrotate).  0 or -errno. */
int nt_sink_reopen(nt_sink *o);

/* Current counters. */
void nt_sink_stats_get(const nt_sink *o, nt_sink_stats *st);

const char *nt_sink_name(const nt_sink *o);
const char *nt_sink_type(const nt_sink *o);

/*
 * Stop: cancel what is in flight, call every pending submit's callback
 * with NT_CANCELLED, close the spool, then call closed(data) once every
 * handle is closed (run the loop until then).  NULL is a no-op; closed
 * may be NULL.
 */
void nt_sink_close(nt_sink *o, void (*closed)(void *data), void *data);

/* Names of the output types and their config tables (for --help). */
size_t nt_sink_types(const char *const **names);
/* Write the documentation of one type's settings (common + own). */
size_t nt_sink_describe(const char *type, char *buf, size_t len);

/* ---- the set of configured outputs ---------------------------------- */

typedef struct nt_sinks nt_sinks;

/* One output's configuration: type, name and its properties. */
typedef struct nt_sink_conf {
    const char *type;
    const char *name;         /* NULL = type, made unique with "-2", ... */
    const nt_kv *props;
    size_t nprops;
} nt_sink_conf;

/* Caller owns result; free with nt_sinks_close().  NULL with detail. */
nt_sinks *nt_sinks_new(const nt_sink_env *env,
                       const nt_sink_conf *confs, size_t n,
                       char *err, size_t errlen);

/* Fan out; cb once with the worst status over all outputs.  Same
 * contract as nt_sink_submit(). */
int nt_sinks_submit(nt_sinks *s, const nt_alert *alerts, size_t n,
                    nt_done_cb cb, void *data);

void nt_sinks_flush(nt_sinks *s);
/* Reopen every output; returns the first error (others still reopen). */
int nt_sinks_reopen(nt_sinks *s);
size_t nt_sinks_count(const nt_sinks *s);
/* Borrowed; valid until nt_sinks_close(). */
nt_sink *nt_sinks_get(nt_sinks *s, size_t i);
/* Close all (as nt_sink_close), then closed(data).  NULL is a no-op. */
void nt_sinks_close(nt_sinks *s, void (*closed)(void *data), void *data);

#endif /* NT_SINK_H */
