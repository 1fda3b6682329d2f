/*
 * ev_ct.h - the "aws_cloudtrail" event source: Falco's cloudtrail plugin
 * fields (73), the json plugin fields and the generic evt.* fields over one
 * CloudTrail record.  Owner: cloudtrail fields (evaluator/cloudtrail/).
 *
 * DESIGN
 * The payload of an ev_event is an ev_ct_record: the bytes of the record's
 * msgpack map (as produced by parser/decode, mirroring the JSON; in the
 * evaluator they point into the batch frame) plus the record's original
 * JSON bytes.  The map is never unpacked: fields are read straight from its
 * bytes with the ev_mp cursor, through an optional per-record index of the
 * top-level keys (ev_mp_index) that the caller provides.  Simple string
 * fields (Falco's "Rule S") are read by walking the map: first occurrence
 * of a duplicate key wins, a non-string value is present with "".  Fields that render JSON text locate
 * the value in the raw bytes (ev_ct_json.h) and compact it into the event
 * arena, which reproduces fastjson's output (key order, duplicate keys,
 * number literals, string bytes).  Values borrow from the payload or live in
 * evt->arena; both stay valid until ev_event_reset().
 *
 * json.value is defined on the JSON text but is usually answered from the
 * map: for a pointer of plain ASCII object keys ending on a string, the
 * decoder's string (simdjson, plus its lenient rewrite of what simdjson
 * rejects, parser/decode/pa_jsonfix.h) has exactly the bytes our fastjson-
 * style unescaping gives, escapes and lone surrogates included.  The one
 * exception is invalid UTF-8, which the decoder turns into U+FFFD; strings
 * holding a 0xEF byte therefore go to the raw text, as do arrays on the way,
 * empty maps (possibly cut by the decoder's depth limit), floats, zero,
 * objects and arrays.  tests/cloudtrail/test_ev_ct_fast.c checks both paths
 * against each other.
 *
 * Known, deliberate differences from the Go plugin (see the spec's
 * "inference" notes):
 *   - raw JSON fields copy strings and keys byte-for-byte.  fastjson does so
 *     only for strings it has not decoded yet; a string decoded by an earlier
 *     lookup on the same event is re-quoted with strconv.Quote, so Falco's
 *     text depends on evaluation order.  We give the order-independent form.
 *   - evt.plugininfo for an AWSService identity without invokedBy glues
 *     "<NA>" (as for Root/IAMUser), and for a non-string userIdentity.type
 *     "<unknown user type>".
 *   - evt.time/evt.datetime use the zone offset in force at the event's
 *     time (libsinsp uses the offset in force now).
 *
 * Semantics follow ../shared/spec/cloudtrail-fields.md (plugin 0.17.1),
 * quirks included (ct.request.documentname is always absent, s3.cnt.* are
 * absent rather than 0, ...).
 *
 * Time fields: evt.time, evt.time.s, evt.datetime and evt.datetime.s are
 * rendered in the process's local time zone (localtime_r, i.e. the TZ
 * environment variable; the daemons run with TZ unset or TZ=UTC, which gives
 * UTC).  evt.time.iso8601 is always UTC ("...+0000").
 */
#ifndef EV_CT_H
#define EV_CT_H

#include <stddef.h>
#include <stdint.h>

#include "ev_field.h"
#include "ev_mp.h"

/* The payload of a CloudTrail event.  Every pointer is borrowed by the
 * source for the life of the event. */
typedef struct ev_ct_record {
    const char *map;            /* the record's msgpack map bytes; NULL = no
                                 * simple fields */
    size_t map_len;
    const char *raw;            /* the record's exact JSON bytes (may be NULL) */
    size_t raw_len;
    const char *hostname;       /* evt.hostname; NULL = gethostname() */
    ev_mp_index *index;         /* optional key index of map, owned by the
                                 * caller (NULL: plain lookups).  Reset it
                                 * (ev_mp_index_reset) for every record: a
                                 * record at the address of an earlier one
                                 * would otherwise read the old keys. */
} ev_ct_record;

/*
 * Per-source state, owned by the caller.  base_ts_ns is the origin of
 * evt.reltime*: 0 means "set it from the first event extracted".  Not
 * thread-safe; use one per evaluator thread.
 */
typedef struct ev_ct_ctx {
    uint64_t base_ts_ns;
} ev_ct_ctx;

/*
 * The static "aws_cloudtrail" source (ud == NULL: evt.reltime* is then
 * measured from the epoch, i.e. equals evt.rawtime*).  Borrowed; never NULL.
 */
const ev_source *ev_ct_source(void);

/* Fill *src with the catalogue and extract function bound to ctx
 * (borrowed, must outlive src).  Cannot fail. */
void ev_ct_source_init(ev_source *src, ev_ct_ctx *ctx);

/*
 * Parse an RFC 3339 time ("2014-03-06T21:22:54Z", optional fractional
 * seconds, "Z" or a numeric offset "+hh:mm") into ns since the epoch.
 * Returns 0, or -EINVAL for malformed/out-of-range/pre-1970 text.
 */
int ev_ct_parse_time(const char *s, size_t len, uint64_t *ns);

/* eventTime of a record -> ns (for ev_event.ts_ns).  -ENOENT when the key
 * is missing or not a string, -EINVAL when it does not parse. */
int ev_ct_event_time(const ev_ct_record *r, uint64_t *ns);

/* eventName of a record (for rule indexing).  Returns 0 and a borrowed span
 * into the map, or -ENOENT when missing or not a string. */
int ev_ct_event_name(const ev_ct_record *r, const char **s, size_t *len);

/* A top-level string of a record (first occurrence of the key, klen
 * bytes): 0 and a borrowed span into the map, or -ENOENT when missing or
 * not a string. */
int ev_ct_record_str(const ev_ct_record *r, const char *key, size_t klen,
                     const char **s, size_t *len);

#endif /* EV_CT_H */
