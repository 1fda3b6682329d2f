/*
 * nt_plugin.h - the interface one output module implements.
 *
 * Owner: notifier outputs.
 *
 * DESIGN (fluent-bit shape)
 * A module is a context struct, a config table and callbacks:
 *
 *   init   context already zeroed and filled from config_map; check and
 *          prepare (open files, parse templates).  0, or <0 with err.
 *   flush  deliver one batch.  Write NT_ITEM_OK / NT_ITEM_RETRY /
 *          NT_ITEM_REJECT into b->result[i] (all start as RETRY), set
 *          b->retry_after_ms when the peer asked for a delay, a reason in
 *          b->err, then call nt_batch_done(b) exactly once, now or later.
 *          A negative return means "nothing was attempted" (all retry);
 *          nt_batch_done() must then not be called.
 *   reopen SIGHUP: reopen files, reconnect (may be NULL).
 *   exit   stop: cancel in-flight work (never call nt_batch_done after
 *          this), release everything, then call done(arg) once, now or
 *          after handles are closed.
 *
 * The engine (nt_sink.c) owns queueing, batching, retries, spooling,
 * routing, suppression and metrics; modules only talk to their peer.
 * The alerts in a batch are borrowed until nt_batch_done().
 */
#ifndef NT_PLUGIN_H
#define NT_PLUGIN_H

#include <stdint.h>

#include "nt_sink.h"

enum {
    NT_ITEM_RETRY = 0,
    NT_ITEM_OK = 1,
    NT_ITEM_REJECT = 2,
};

typedef struct nt_batch {
    const nt_alert *const *alerts;
    size_t n;
    uint8_t *result;          /* n entries, NT_ITEM_* */
    int64_t retry_after_ms;   /* -1 = none */
    char err[256];
    void *priv;               /* engine's */
} nt_batch;

/* Report the batch's results (see flush above). */
void nt_batch_done(nt_batch *b);

/* What a module gets at init; borrowed for the output's lifetime. */
typedef struct nt_plugin_env {
    uv_loop_t *loop;
    const char *name;         /* the output's name */
    const nt_sink_env *env;
} nt_plugin_env;

typedef struct nt_plugin {
    const char *name;                 /* type, e.g. "webhook" */
    const char *desc;
    const nt_conf_entry *config_map;  /* ends with {0, NULL, ...} */
    size_t ctx_size;
    int default_batch_size;           /* when batch_size is not set */
    int64_t default_flush_ms;         /* when flush_interval is not set */
    int64_t default_rate_limit;       /* requests/s when rate_limit is not
                                         set (0 = unlimited) */
    int64_t default_rate_burst;
    int (*init)(void *ctx, const nt_plugin_env *env, char *err,
                size_t errlen);
    int (*flush)(void *ctx, nt_batch *b);
    int (*reopen)(void *ctx);
    void (*exit)(void *ctx, void (*done)(void *arg), void *arg);
} nt_plugin;

/* The modules (each in its nt_out_<type>.c). */
extern const nt_plugin nt_plugin_stdout;
extern const nt_plugin nt_plugin_file;
extern const nt_plugin nt_plugin_webhook;
extern const nt_plugin nt_plugin_http;
extern const nt_plugin nt_plugin_syslog;
extern const nt_plugin nt_plugin_securityhub;
extern const nt_plugin nt_plugin_cloudwatch;

#endif /* NT_PLUGIN_H */
