/*
 * ev_daemon.h - the evaluator daemon: batch frames in, rules applied to
 * every record, one alerts frame out per batch.
 *
 * DESIGN
 * One PULL socket connects to every parser endpoint (zmq fair-queues
 * between them); one PUSH socket connects to the notifier.  Each batch is
 * decoded with tg_msg (records stay in the receive buffer), every record is
 * wrapped as an ev_ct_record in one reused ev_event and matched with
 * ev_engine_match().  For each match an alert is rendered (Falco text line
 * and Falco JSON) with a stable id: the first 32 hex chars of
 * sha256(identity "\n" record-index "\n" rule-name), so a redelivered batch
 * yields the same ids and the notifier can drop duplicates.  An alerts
 * frame is sent for every batch, even without alerts: it is the notifier's
 * batch-done marker and carries the parser's decode errors and the ruleset
 * hash.
 *
 * Back-pressure: when the notifier socket refuses a frame (HWM), the frame
 * is kept, receiving pauses, and both resume on writable.
 *
 * SIGHUP (ev_daemon_reload) builds a new engine from the rule files; it
 * replaces the running one only if it loaded without errors, between two
 * batches (the loop is single-threaded, so every callback boundary is a
 * batch boundary).
 */
#ifndef EV_DAEMON_H
#define EV_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "tg_config.h"
#include "tg_daemon.h"

typedef struct ev_config {
    tg_strlist connect;     /* parser batch endpoints */
    char *notifier;         /* notifier alert endpoint */
    tg_strlist rules;       /* rules files or directories */
    char *rule_matching;    /* "all" | "first" */
    char *min_priority;     /* Falco priority name */
    char *hostname;         /* evt.hostname; NULL = gethostname() */
    uint64_t rcvhwm;
    uint64_t sndhwm;
    uint64_t metrics_port;
} ev_config;

extern const tg_conf_entry ev_config_table[];

typedef struct ev_daemon ev_daemon;

/* Loads the rules; cfg/common are borrowed for the call.  Caller owns
 * result; free with ev_daemon_free().  NULL with detail in err (rule load
 * errors are logged one per line before). */
ev_daemon *ev_daemon_new(uv_loop_t *loop, const ev_config *cfg,
                         const tg_daemon_common *common, char *err,
                         size_t errlen);

/* Reload the rules (SIGHUP).  0 when the new set replaced the old one,
 * negative when it was rejected (errors logged; old set keeps running). */
int ev_daemon_reload(ev_daemon *d);

/* Graceful stop: stop receiving, send the pending frame, close. */
void ev_daemon_stop(ev_daemon *d);

int ev_daemon_metrics_port(const ev_daemon *d);
/* Ruleset hash of the running engine (borrowed). */
const char *ev_daemon_ruleset(const ev_daemon *d);

/* NULL is a no-op; run the loop once more afterwards. */
void ev_daemon_free(ev_daemon *d);

#endif /* EV_DAEMON_H */
