/*
 * nt_alert.h - the alert as the output modules see it, and its packed form.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * An nt_alert is a read-only *view*: every pointer is borrowed from whoever
 * built it (the notifier's decoded `alerts` frame, or a packed buffer).  The
 * output layer never keeps a view past the call that handed it over: when it
 * must hold an alert (queued for batching, retried, spooled) it packs the
 * alert into one self-contained buffer with nt_alert_pack() and later views
 * it again with nt_alert_unpack().  The packed form is also the spool's
 * record format, so it is versioned and length-checked: a torn or corrupt
 * record is rejected, never trusted.
 *
 * Priorities use Falco's order, which is also syslog's severity order:
 * emergency = 0 ... debug = 7.  "More severe" means numerically smaller.
 */
#ifndef NT_ALERT_H
#define NT_ALERT_H

#include <stddef.h>
#include <stdint.h>

enum {
    NT_PRIO_EMERGENCY = 0,
    NT_PRIO_ALERT = 1,
    NT_PRIO_CRITICAL = 2,
    NT_PRIO_ERROR = 3,
    NT_PRIO_WARNING = 4,
    NT_PRIO_NOTICE = 5,
    NT_PRIO_INFORMATIONAL = 6,
    NT_PRIO_DEBUG = 7,
};

/* A borrowed byte string (same layout as tg_str).  p == NULL: absent.
 * Not NUL-terminated in general; in a view made by nt_alert_unpack() every
 * present string is followed by a NUL, so .p can be used as a C string. */
typedef struct nt_str {
    const char *p;
    size_t n;
} nt_str;

typedef struct nt_alert {
    nt_str id;               /* stable alert id (hex) */
    nt_str rule;             /* rule name */
    int priority;            /* NT_PRIO_* */
    uint64_t time_ns;        /* event time, ns since the epoch */
    nt_str source;           /* "aws_cloudtrail" */
    const nt_str *tags;      /* ntags tags */
    size_t ntags;
    nt_str output;           /* rendered output text */
    nt_str json;             /* Falco's JSON line (no trailing newline) */
    nt_str fields_json;      /* output_fields as a JSON object; may be absent
                                (then taken from json's "output_fields") */
    nt_str record;           /* raw CloudTrail record JSON; may be absent */
    nt_str hostname;         /* may be absent */
} nt_alert;

/* nt_str from a C string (NULL stays absent). */
static inline nt_str nt_str_c(const char *s)
{
    nt_str r = {s, s ? __builtin_strlen(s) : 0};
    return r;
}

/* "emergency" ... "debug" (case-insensitive; "info" accepted) → NT_PRIO_*,
 * or -1 when unknown or NULL. */
int nt_prio_parse(const char *name);

/* Falco's spelling: "Emergency", "Alert", ..., "Debug"; "Unknown" when out
 * of range.  Static string. */
const char *nt_prio_name(int prio);

/*
 * Pack an alert into one heap buffer (NULL string fields stay NULL).
 * Caller owns *buf; free with free().  Returns 0, or -ENOMEM.
 */
int nt_alert_pack(const nt_alert *a, uint8_t **buf, size_t *len);

/*
 * A view of a packed alert.  `a` points into `buf` and into `tags`; both
 * stay owned by the caller/unpacked struct.  Free the tag array with
 * nt_alert_unpacked_fini().
 */
typedef struct nt_alert_unpacked {
    nt_alert a;
    nt_str *tagv;
} nt_alert_unpacked;

/* Returns 0, or -EINVAL when buf is not a well-formed packed alert.
 * The view borrows buf: valid while buf lives. */
int nt_alert_unpack(const uint8_t *buf, size_t len, nt_alert_unpacked *out);

/* Frees the tag array; u may be a zeroed struct. */
void nt_alert_unpacked_fini(nt_alert_unpacked *u);

/* True when the alert carries tag `t` (exact). */
int nt_alert_has_tag(const nt_alert *a, const char *t);

#endif /* NT_ALERT_H */
