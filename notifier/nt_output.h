/*
 * nt_output.h - the interface between the notifier daemon and an output
 * (stdout/file here; webhook, Security Hub, CloudWatch, syslog, ... in
 * notifier/outputs).
 *
 * DESIGN
 * An output is a struct whose first member is `nt_output` (ops table plus
 * the minimum priority it wants).  The daemon hands it one batch of alerts
 * at a time (every alert of one alerts frame that passed deduplication and
 * the priority filter) and acknowledges the batch upstream only after the
 * output said the batch is delivered or durably spooled:
 *
 *   write() returns 0            delivered (or spooled) already;
 *           NT_OUTPUT_PENDING    done(ud, status) will be called exactly
 *                                once later from the loop (0 = delivered);
 *           < 0                  failed now (done is not called); the
 *                                daemon retries the batch later.
 *
 * Alerts are nt_alert views (notifier/outputs/nt_alert.h) borrowed for the
 * duration of write(); an output that keeps an alert past write() must
 * pack it (nt_alert_pack).  One batch is outstanding at a time per daemon.
 */
#ifndef NT_OUTPUT_H
#define NT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "nt_alert.h"

#define NT_OUTPUT_PENDING 1

typedef struct nt_output nt_output;

typedef void (*nt_output_done_fn)(void *ud, int status);

typedef struct nt_output_ops {
    const char *kind;
    int (*write)(nt_output *o, const nt_alert *alerts, size_t n,
                 nt_output_done_fn done, void *ud, char *err, size_t errlen);
    /* Push buffered data out (shutdown).  0 or -errno. */
    int (*flush)(nt_output *o);
    /* Reopen files (SIGHUP, log rotation).  0 or -errno. */
    int (*reopen)(nt_output *o, char *err, size_t errlen);
    /* Shutdown: abandon the write in progress, if any, promptly; its done
     * is then never called and the batch is not acknowledged.  May be
     * NULL. */
    void (*cancel)(nt_output *o);
    /* Flush and release; o is invalid afterwards. */
    void (*free)(nt_output *o);
} nt_output_ops;

struct nt_output {
    const nt_output_ops *ops;
    int min_priority;       /* NT_PRIO_*: alerts less severe are skipped */
    char name[64];          /* for logs and metrics labels */
};

typedef enum nt_stream_format {
    NT_FORMAT_JSON = 0,     /* Falco JSON, one object per line */
    NT_FORMAT_TEXT,         /* Falco text line "<time>: <Priority> <msg>" */
} nt_stream_format;

/*
 * The stream output: JSON or text lines to stdout (path NULL) or appended
 * to a file.  Writes run on loop's threadpool and never block the loop;
 * write() returns NT_OUTPUT_PENDING and done follows once the lines are
 * written and, with sync true, the file fdatasync'd, so an acknowledged
 * alert survives a crash.  loop borrowed; must outlive the output.
 * Caller owns result; release with ops->free() and run the loop (a write
 * in progress is cancelled and the memory goes when it returns).  NULL
 * with detail in err.
 */
nt_output *nt_stream_new(uv_loop_t *loop, const char *path,
                         nt_stream_format fmt, bool sync, char *err,
                         size_t errlen);

/*
 * Parse a built-in output spec: "json" / "stdout" (JSON to stdout), "text"
 * (text to stdout), "file:PATH" (JSON lines), "text-file:PATH".  (Module
 * specs such as "webhook:URL" are handled by the daemon.)  Caller owns
 * result.  NULL with detail in err.
 */
nt_output *nt_output_from_spec(uv_loop_t *loop, const char *spec, bool sync,
                               char *err, size_t errlen);

#endif /* NT_OUTPUT_H */
