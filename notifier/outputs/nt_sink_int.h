/*
 * nt_sink_int.h - private state of an output, shared by nt_sink.c
 * (delivery engine) and nt_sinks.c (construction, the set).
 *
 * Owner: notifier outputs.  Not for use outside notifier/outputs/.
 */
#ifndef NT_SINK_INT_H
#define NT_SINK_INT_H

#include "nt_sink.h"
#include "nt_plugin.h"
#include "nt_route.h"
#include "nt_spool.h"
#include "nt_suppress.h"

typedef struct tg_metric tg_metric;

/* Settings every output has (table in nt_sinks.c). */
typedef struct nt_common_conf {
    char *type;
    char *name;
    nt_route route;
    int64_t batch_size;       /* 0 = plugin default */
    int64_t flush_ms;         /* 0 = plugin default */
    int64_t retry_initial;    /* ms */
    int64_t retry_max;        /* ms */
    int64_t retry_attempts;   /* tries before spooling */
    int spool_on;
    char *spool_dir;
    int64_t spool_max;
    int64_t spool_seg;
    int64_t rate_limit;       /* requests/s, 0 = unlimited */
    int64_t rate_burst;
    int64_t suppress_ms;      /* 0 = off */
    int64_t queue_max;        /* alerts held in memory before -EAGAIN */
} nt_common_conf;

typedef struct nt_ticket {
    nt_done_cb cb;
    void *data;
    size_t remaining;
    int status;
    struct nt_ticket *next;
} nt_ticket;

typedef struct nt_item {
    struct nt_item *next;
    uint8_t *buf;             /* packed alert, owned */
    size_t len;
    nt_alert_unpacked u;      /* view into buf */
    nt_ticket *t;             /* NULL for spool replays */
    uint64_t enq_ms;
    int done;
} nt_item;

struct nt_sink {
    nt_sink_env env;
    char *name;
    const nt_plugin *plugin;
    void *ctx;
    int plugin_ready;
    nt_plugin_env penv;
    nt_common_conf c;
    nt_suppress *supp;
    nt_spool *spool;

    nt_item *qhead, *qtail;
    size_t qlen;
    nt_item **batch;          /* batch_size slots */
    size_t bn;
    const nt_alert **views;   /* what the plugin sees */
    size_t *bidx;
    uint8_t *results;
    nt_spool_rec *peek;
    nt_spool_pos spool_end;
    nt_batch nb;
    int inflight;
    int down;
    int attempts;
    int64_t retry_after_ms;
    char last_err[256];
    uint64_t sent_ms;
    double tokens;
    uint64_t tok_ms;
    uint64_t rng;

    uv_timer_t t_flush, t_retry, t_defer;
    nt_ticket *done_list;
    int closing;
    int open_handles;
    void (*closed_cb)(void *);
    void *closed_data;

    nt_sink_stats st;
    struct {
        tg_metric *sent, *failed, *retried, *spooled, *dropped;
        tg_metric *suppressed, *filtered, *requests, *spool_depth, *latency;
    } m;
};

void nt_out_log(nt_sink *o, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void nt_out_pump(nt_sink *o, int force);
void nt_out_on_defer(uv_timer_t *t);
void nt_out_on_flush(uv_timer_t *t);
void nt_out_on_retry(uv_timer_t *t);
/* Free everything (handles must be closed or never initialised). */
void nt_out_free(nt_sink *o);

#endif /* NT_SINK_INT_H */
