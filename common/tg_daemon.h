/*
 * tg_daemon.h - what the four daemons share: arguments, configuration,
 * signals, systemd notification and the "ready" line.
 *
 * Owner: common.
 *
 * DESIGN
 * A daemon's main.c:
 *
 *   static const tg_daemon_info info = {"parser", "split and decode ...",
 *                                       pa_config_table};
 *   tg_daemon_args args;
 *   int rc = tg_daemon_parse_args(&info, argc, argv, &args, err, sizeof err);
 *   if (rc > 0) return 0;                 // --help / --version printed
 *   if (rc < 0) { fprintf(stderr, "%s\n", err); return 2; }
 *   tg_daemon_common common; pa_config cfg; tg_conf_doc *doc;
 *   if (tg_daemon_load_config(&info, &args, &common, &cfg, &doc, err, ...))
 *       { fprintf(stderr, "%s\n", err); return 1; }
 *   tg_log_init("trailguard-parser", tg_log_level_parse(common.log_level), -1);
 *   uv_loop_init(&loop);
 *   tg_daemon *d = tg_daemon_new(&loop, &info, on_stop, on_reload, ctx);
 *   ... create the daemon's sockets ...
 *   tg_daemon_ready(d, "ipc:///run/trailguard/parser.sock", NULL);
 *   uv_run(&loop, UV_RUN_DEFAULT);
 *   ... free the daemon ... ; uv_run(&loop, UV_RUN_DEFAULT);  // close cbs
 *   uv_loop_close(&loop) == 0
 *
 * Signals: SIGTERM and SIGINT call on_stop, SIGHUP calls on_reload; all
 * three are watched with uv_signal (the callbacks run on the loop, not in
 * a signal handler).  The signal and watchdog handles are unreferenced, so
 * they do not keep uv_run alive: the loop ends when the daemon's own
 * handles are closed.  on_stop should call tg_daemon_stopping() and close
 * everything, including the tg_daemon (tg_daemon_close()).  Once the
 * signal handles are closed libuv restores the default dispositions, so a
 * second SIGTERM/SIGINT during a slow drain terminates the process (the
 * usual "press Ctrl-C twice").  tg_daemon_new() also ignores SIGPIPE.
 * Under `trailguard run` (TRAILGUARD_SUPERVISOR_PID set) a timer checks
 * twice a second that the supervisor is still the parent and calls
 * on_stop as for SIGTERM once it is gone.
 *
 * systemd: tg_daemon_ready() sends READY=1 (and logs the ready line),
 * tg_daemon_stopping() sends STOPPING=1, RELOADING=1/READY=1 around
 * on_reload; when WATCHDOG_USEC is set a timer sends WATCHDOG=1 every half
 * period.  Without NOTIFY_SOCKET all of this is a no-op.
 *
 * The ready line (always written, whatever the level) is
 *   <ts> trailguard-<name>[pid] info tg_daemon.c:<n>: ready endpoint=<ep>[ <extra>]
 * Tests wait for " ready endpoint=".
 */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <uv.h>

#include "tg_config.h"
#include "tg_curve.h"

/* Static description of a daemon. */
typedef struct tg_daemon_info {
    const char *name;               /* section name: "fetcher", "parser",
                                       "evaluator", "notifier", "run" */
    const char *summary;            /* one line for --help */
    const tg_conf_entry *table;     /* schema of the section (may be NULL) */
} tg_daemon_info;

/* Parsed command line.  Pointers borrowed from argv. */
typedef struct tg_daemon_args {
    const char *config_path;        /* --config FILE / -c FILE; NULL = none
                                       (TRAILGUARD_CONFIG is the fallback) */
    const char *overrides[32];      /* -e KEY=VALUE, NULL-terminated;
                                       KEY is "<section>.<key>" or a
                                       top-level key ("state_dir") */
    size_t noverrides;
    bool check_config;              /* --check-config: load, then exit */
} tg_daemon_args;

/* Top-level keys shared by every daemon (tg_daemon_common_table). */
typedef struct tg_daemon_common {
    char *state_dir;                /* default /var/lib/trailguard */
    char *log_level;                /* default "info" */
    char *metrics_bind;             /* metrics.bind, default 127.0.0.1 */
    char *metrics_token;            /* metrics.token, default NULL */
    char *shm_dir;                  /* default /dev/shm (tg_shm.h) */
    tg_curve_config curve;          /* curve.*: CURVE between stages */
} tg_daemon_common;

extern const tg_conf_entry tg_daemon_common_table[];

/* The section names allowed at the top level next to the common keys. */
extern const char *const tg_daemon_sections[];

/*
 * Parse argv: --config/-c FILE, -e KEY=VALUE (repeatable), --check-config,
 * --help/-h (prints usage and the generated key list to stdout),
 * --version/-V (prints "trailguard-<name> <TG_VERSION>").
 * Returns 0 to continue, 1 when help/version was printed (exit 0), or
 * -EINVAL with a usage message in err.
 */
int tg_daemon_parse_args(const tg_daemon_info *info, int argc, char **argv,
                         tg_daemon_args *args, char *err, size_t errlen);

/* Print --help text to out. */
void tg_daemon_usage(const tg_daemon_info *info, FILE *out);

/*
 * Load args->config_path (none: defaults + environment), apply
 * tg_daemon_common_table to the root (environment TRAILGUARD_<KEY>) and
 * info->table to the section `info->name` (TRAILGUARD_<NAME>_<KEY>), then
 * the -e overrides.  With curve.enabled the key files are loaded once
 * to check them (tg_curve_config_check()).  On success *doc holds the parsed document (caller
 * owns; free with tg_conf_doc_free() after the last use of any
 * TG_CONF_NODE field of cfg).  Strings in *common and *cfg: release with
 * tg_daemon_common_release() and tg_conf_release(info->table, cfg), also
 * after a failure.  0, or negative with "file:line:col: ..." in err.
 */
int tg_daemon_load_config(const tg_daemon_info *info,
                          const tg_daemon_args *args,
                          tg_daemon_common *common, void *cfg,
                          tg_conf_doc **doc, char *err, size_t errlen);

void tg_daemon_common_release(tg_daemon_common *common);

/* ---- runtime ------------------------------------------------------- */

typedef struct tg_daemon tg_daemon;

/* signum is SIGTERM, SIGINT or SIGHUP. */
typedef void (*tg_daemon_signal_cb)(tg_daemon *d, int signum, void *ud);

/*
 * Install the signal watchers and, under systemd with WATCHDOG_USEC, the
 * watchdog timer.  info is borrowed (static).  Callbacks may be NULL
 * (then SIGTERM/SIGINT stop the loop with uv_stop()).  Caller owns
 * result; release with tg_daemon_close().  NULL on failure.
 */
tg_daemon *tg_daemon_new(uv_loop_t *loop, const tg_daemon_info *info,
                         tg_daemon_signal_cb on_stop,
                         tg_daemon_signal_cb on_reload, void *ud);

/* sd_notify READY=1 and log "ready endpoint=<endpoint> <extra>" (extra is
 * free-form key=value text, may be NULL). */
void tg_daemon_ready(tg_daemon *d, const char *endpoint, const char *extra);

/* sd_notify STOPPING=1 (once). */
void tg_daemon_stopping(tg_daemon *d);

/* sd_notify a free-form status line ("STATUS=..."). */
void tg_daemon_status(tg_daemon *d, const char *status);

/* True once a stop signal arrived. */
bool tg_daemon_stop_requested(const tg_daemon *d);

/*
 * Close the signal and timer handles.  Memory is freed by the close
 * callbacks: run the loop once more before uv_loop_close().  NULL is a
 * no-op.  Safe from inside on_stop.
 */
void tg_daemon_close(tg_daemon *d);

/* Log the process's CPU time and peak RSS (one "exit ..." line). */
void tg_daemon_log_usage(void);

#endif /* TG_DAEMON_H */
