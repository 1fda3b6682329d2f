/*
 * pa_records.h - split a decoded CloudTrail log file into record spans.
 * Owner: record decoding (parser/decode/).
 *
 * DESIGN
 * A fast, string-aware bracket scanner finds each record's exact bytes
 * without parsing them (simdjson validates each record later, see
 * pa_decode.h).  Accepted layouts:
 *   - {"Records":[{...},...]} with the Records key anywhere among the
 *     top-level keys (several such documents may be concatenated);
 *   - a bare top-level array of records;
 *   - JSON lines: one record per line (a line holding a top-level object at
 *     column 0 marks the format); a single top-level object that looks like
 *     a record (eventVersion/eventTime/eventName/userIdentity) is one line.
 * CloudTrail digest files (a CloudTrail-Digest path segment in the name, or
 * a top-level object with digestPublicKeyFingerprint/logFiles and no
 * Records) give PA_DIGEST and no records.  Insights records are ordinary
 * records here (no eventType filter).
 *
 * Records are numbered from 0 in file order (Records index, array index or
 * non-blank line number).  A record larger than max_record, or an array
 * element that is not an object, is reported through on_error with its
 * index and skipped; the rest of the file goes on.  A document that breaks
 * off (truncated, trailing junk) ends the scan with PA_EJSON after the
 * complete records before the break were delivered.
 */
#ifndef PA_RECORDS_H
#define PA_RECORDS_H

#include <stddef.h>

#define PA_RECORD_MAX_DEFAULT ((size_t)1 << 20)

/* Result codes (negative errno values are used as well, e.g. -ENOMEM). */
enum pa_result {
    PA_OK = 0,
    PA_DIGEST = 1,          /* digest file: skipped, not an error */
    PA_EEMPTY = -1000,      /* empty or blank file: zero records */
    PA_ENOTCT = -1001,      /* JSON, but not a CloudTrail log (no Records) */
    PA_EJSON = -1002,       /* invalid or truncated JSON document */
    PA_EGZIP = -1003,       /* gzip decoding failed */
    PA_ETOOBIG = -1004,     /* a record over the size limit (per record) */
    PA_ERECORD = -1005,     /* a record that is not a valid JSON object */
};

/* Static text for a pa_result (or "unknown error"). Never NULL. */
const char *pa_strerror(int code);

typedef struct pa_split_stats {
    size_t spans;           /* records delivered to on_span */
    size_t oversized;       /* records rejected by max_record */
    size_t errors;          /* all per-record errors, oversized included */
} pa_split_stats;

/* One record span; return 0 to go on, negative to stop (returned as is). */
typedef int (*pa_span_fn)(void *data, const char *raw, size_t len, size_t index);
/* One per-record error; msg names the file and the index. */
typedef void (*pa_record_error_fn)(void *data, size_t index, int code, const char *msg);

/* 1 when name has a CloudTrail-Digest path segment (a digest file). */
int pa_records_digest_name(const char *name);

/*
 * Split buf[0..len) (already decompressed).  name is the file's name or
 * URI, used for digest detection and in messages (may be NULL).
 * max_record 0 = PA_RECORD_MAX_DEFAULT.  Returns PA_OK, PA_DIGEST, a
 * negative pa_result (err gets "file <name>: ..."), or what on_span
 * returned.  on_error may be NULL.  st may be NULL.
 */
int pa_records_split(const char *buf, size_t len, const char *name, size_t max_record,
                     pa_span_fn on_span, pa_record_error_fn on_error, void *data,
                     pa_split_stats *st, char *err, size_t errlen);

#endif /* PA_RECORDS_H */
