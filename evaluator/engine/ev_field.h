/*
 * ev_field.h - the contract between the rule engine and the sources of
 * field values.
 *
 * A *source* (an event source in Falco's sense, e.g. "aws_cloudtrail") is a
 * catalogue of field definitions plus one extraction function.  The engine
 * compiles conditions and output formats against a source; at run time it
 * asks the source for the values of a field on one event.  The engine never
 * looks inside an event: only the source's extract function does.
 *
 * Two sources exist in the tree:
 *   - evaluator/cloudtrail: the 73 cloudtrail plugin fields, json.* and evt.*
 *     over a record (msgpack map + raw JSON bytes);
 *   - tests/conformance: a typed registry of mock fields whose values come
 *     from the conformance vectors.
 *
 * DESIGN
 * An event is a small struct the caller owns.  It carries an opaque payload
 * pointer for the source, the timestamp and number every source has, a
 * generation counter that the engine uses to invalidate its per-event value
 * cache, and an arena for values that the source synthesises (ct.info,
 * s3.uri, compact JSON text, ...).  Values handed back by extract point
 * either into the payload or into that arena; they stay valid until the
 * event is reset.  Nothing is allocated per event once the arena has grown
 * to its working size.
 */
#ifndef EV_FIELD_H
#define EV_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev_arena.h"

/* Value types a field (or a transformer result) can have. */
typedef enum ev_type {
    EV_TYPE_STRING = 0, /* byte string (CHARBUF); compared as C strings */
    EV_TYPE_UINT64,
    EV_TYPE_INT64,
    EV_TYPE_BOOL,
    EV_TYPE_DOUBLE,
    EV_TYPE_RELTIME,    /* ns, uint64 */
    EV_TYPE_ABSTIME,    /* ns since epoch, uint64 */
    EV_TYPE_IPADDR,     /* s/len hold the 4 or 16 address bytes */
    EV_TYPE_IPNET,      /* s/len hold address bytes, u holds the prefix length */
    EV_TYPE_BYTES,      /* byte buffer */
    EV_TYPE__COUNT
} ev_type;

/* Name used in error messages ("string", "uint64", ...). Never NULL. */
const char *ev_type_name(ev_type t);

/*
 * One extracted value.  Which members are meaningful depends on the type:
 * STRING/BYTES/IPADDR/IPNET use s+len (s need not be NUL-terminated and is
 * borrowed from the payload or the event arena); numeric types use u (int64
 * is stored two's-complement in u, bool is 0/1); DOUBLE uses d.
 */
typedef struct ev_val {
    const char *s;
    size_t len;
    uint64_t u;
    double d;
} ev_val;

/* Field definition flags. */
#define EV_FIELD_LIST       0x01u /* the field extracts a list of values */
#define EV_FIELD_ARG_REQ    0x02u /* an [arg] is required */
#define EV_FIELD_ARG_OPT    0x04u /* an [arg] is accepted but optional */
#define EV_FIELD_ARG_INDEX  0x08u /* the arg must be a decimal index (no leading 0) */
#define EV_FIELD_ARG_KEY    0x10u /* the arg is free text (e.g. a JSON pointer) */
#define EV_FIELD_HIDDEN     0x20u /* display hint only */

typedef struct ev_field_def {
    const char *name;   /* e.g. "ct.user"; exact, case-sensitive */
    ev_type type;
    unsigned flags;     /* EV_FIELD_* */
    int id;             /* private to the source's extract function */
    const char *desc;   /* one-line description, may be NULL */
} ev_field_def;

/* Events --------------------------------------------------------------- */

typedef struct ev_event {
    void *payload;      /* source-specific, borrowed; e.g. ev_ct_record * */
    uint64_t ts_ns;     /* event time, ns since the epoch (UTC) */
    uint64_t num;       /* evt.num: 1-based event number */
    uint64_t gen;       /* unique per ev_event_reset() across the process; never 0 */
    ev_arena arena;     /* scratch for synthesised values */
} ev_event;

/* Prepare an event for reuse. Cannot fail. */
void ev_event_init(ev_event *evt);
/* Start a new event: bumps gen, empties the arena, sets payload/ts/num. */
void ev_event_reset(ev_event *evt, void *payload, uint64_t ts_ns, uint64_t num);
/* Release the arena. Accepts an initialised event only. */
void ev_event_fini(ev_event *evt);

/* Extraction ----------------------------------------------------------- */

/*
 * Where extract writes its result.  A single-valued field writes vals[0] and
 * returns 1.  A list field may write up to EV_VALS_INLINE values inline; for
 * more it points `vals` at an array allocated from the event arena.
 */
#define EV_VALS_INLINE 8
typedef struct ev_vals {
    ev_val *vals;               /* == inline_vals unless the source moved it */
    size_t n;
    ev_val inline_vals[EV_VALS_INLINE];
} ev_vals;

/*
 * Field argument as written in the condition: has_arg is false for `f`,
 * true for `f[x]` (and for `f[""]`, with arg_len 0).  For ARG_INDEX fields
 * index holds the parsed number.
 */
typedef struct ev_field_arg {
    bool has_arg;
    const char *arg;    /* NUL-terminated, owned by the compiled filter */
    size_t arg_len;
    uint64_t index;
} ev_field_arg;

/*
 * Extract the values of `def` (with `arg`) from `evt`.
 * Returns the number of values written to out (0 means: missing), or a
 * negative number on an extraction error, which the engine treats as
 * missing.  out->vals is set to out->inline_vals by the caller beforehand.
 */
typedef int (*ev_extract_fn)(void *ud, ev_event *evt, const ev_field_def *def,
                             const ev_field_arg *arg, ev_vals *out);

typedef struct ev_source {
    const char *name;               /* "aws_cloudtrail" */
    const ev_field_def *fields;     /* catalogue, nfields entries */
    size_t nfields;
    ev_extract_fn extract;
    void *ud;                       /* passed to extract */
} ev_source;

/* Look up a field by its exact name. Borrowed result; NULL if unknown. */
const ev_field_def *ev_source_find(const ev_source *src, const char *name, size_t len);

#endif /* EV_FIELD_H */
