/*
 * tg_msg.h - the pipeline frame codec (fetcher -> parser -> evaluator ->
 * notifier -> fetcher).
 *
 * Every frame is one msgpack array [version, kind, body] where version is
 * TG_MSG_VERSION (1), kind is one of the strings "job", "batch", "alerts",
 * "ack", and body is a map with string keys.  Unknown keys are ignored so
 * that a newer peer can add fields; a known key with the wrong type is an
 * error.
 *
 *   job    {id:u64, ack:str, uri:str, identity:str, attempt:u32,
 *           arrival:u64 (ns), data:bin | path:str}
 *   batch  {job:u64, ack:str, uri:str, identity:str, index:u32, count:u32,
 *           first:u64, records:[[raw:bin, map], ...],
 *           errors:[[file:str, record:i64 (-1 = none), message:str], ...]}
 *   alerts {job, ack, uri, identity, index, count, first (as batch),
 *           nrecords:u32, ruleset:str,
 *           alerts:[{id:str, rule:str, priority:str, source:str, time:u64,
 *                    tags:[str], output:str, json:str, record:u64,
 *                    raw:bin}, ...],
 *           errors:[...as batch...]}
 *   ack    {job:u64, index:u32, count:u32, errors:u32, status:u32}
 *   shm    {seg:str, gen:u64, len:u64}
 *
 * A shm frame stands for a batch frame that the parser wrote into a shared
 * memory segment on the same host instead of sending it through the
 * socket (tg_shm.h): `seg` names the segment file, `gen` the fill it
 * refers to and `len` the batch frame's length.  The evaluator maps the
 * segment and decodes the batch frame there, as if it had been received.
 *
 * Batch count: the parser streams a job's frames while it decodes, so the
 * total is known only at the end.  Every frame but the last carries count
 * 0 ("more follow"); the last carries the total (= its index + 1).  Acks
 * echo the count of the batch they acknowledge; the fetcher considers a
 * job done once it knows the total and has acks for indexes 0..total-1.
 * A non-zero count must exceed the index.
 *
 * DESIGN
 * Decoding first walks the frame with a cheap validating scanner that
 * checks every length against the bytes that remain (so hostile counts
 * cannot make msgpack-c allocate gigabytes), then unpacks it with
 * msgpack_unpack() into a caller-supplied zone.  msgpack-c references
 * str/bin payloads in the input buffer, so decoded strings, raw records and
 * record maps point INTO THE RECEIVE BUFFER: they are valid while both the
 * buffer and the zone live.  Use one zone per frame and msgpack_zone_clear()
 * it before decoding the next one.  Every field's type is validated during
 * decode, so the accessors below cannot fail.
 *
 * A batch record's map is not unpacked: the scanner checks it like the rest
 * of the frame (every length, the nesting limit) and tg_msg_batch_record()
 * hands out its msgpack bytes, for the evaluator to read in place.
 *
 * Encoding appends to a msgpack_sbuffer.  Batches are built incrementally
 * (tg_msg_batch_builder) because the parser packs each record's map straight
 * from JSON into the frame; a record whose packing fails is rolled back.
 */
#ifndef TG_MSG_H
#define TG_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define TG_MSG_VERSION 1

/* Default target size of a batch frame.  1 MiB (about 450 CloudTrail
 * records) rather than 64 KiB: per-frame costs (wake-ups, syscalls, an
 * alerts frame and an ack per batch, a notifier sync per group) dominated at
 * 64 KiB; bench/run.sh measured 188k records/s at 64 KiB and 270k at 1 MiB.
 * The high-water marks count frames, so they are sized for this (see the
 * parser's sndhwm and the evaluator's rcvhwm). */
#define TG_MSG_BATCH_TARGET (1024u * 1024u)
/* Largest frame tg_msg_decode() accepts unless told otherwise. */
#define TG_MSG_MAX_FRAME_DEFAULT (512u * 1024u * 1024u)

typedef enum tg_msg_kind {
    TG_MSG_NONE = 0,
    TG_MSG_JOB,
    TG_MSG_BATCH,
    TG_MSG_ALERTS,
    TG_MSG_ACK,
    TG_MSG_SHM,
} tg_msg_kind;

/* Decode errors: one negative code per malformation. */
enum {
    TG_MSG_OK = 0,
    TG_MSG_E_EMPTY = -1,        /* zero-length frame */
    TG_MSG_E_TOO_BIG = -2,      /* frame exceeds the size limit */
    TG_MSG_E_TRUNCATED = -3,    /* msgpack ends before the object does */
    TG_MSG_E_TRAILING = -4,     /* bytes after the frame object */
    TG_MSG_E_INVALID = -5,      /* reserved/invalid msgpack byte */
    TG_MSG_E_NOMEM = -6,        /* out of memory while unpacking */
    TG_MSG_E_NOT_ARRAY = -7,    /* frame is not an array of 3 */
    TG_MSG_E_VERSION = -8,      /* unsupported version */
    TG_MSG_E_KIND = -9,         /* kind is not a known string */
    TG_MSG_E_BODY = -10,        /* body is not a map */
    TG_MSG_E_KEY = -11,         /* body map key is not a string */
    TG_MSG_E_MISSING = -12,     /* a required field is missing */
    TG_MSG_E_TYPE = -13,        /* a field has the wrong type */
    TG_MSG_E_RANGE = -14,       /* a number is out of range */
    TG_MSG_E_RECORD = -15,      /* a batch record is not [bin, map] */
    TG_MSG_E_ERROR_ENTRY = -16, /* an error entry is not [str, int, str] */
    TG_MSG_E_ALERT = -17,       /* an alert entry is malformed */
    TG_MSG_E_DEPTH = -18,       /* nesting too deep */
    TG_MSG_E_UNEXPECTED = -19,  /* decoded kind differs from the expected */
    TG_MSG_E__LAST = -20,
};

/* Static description of a TG_MSG_E_* code (or "ok"). Never NULL. */
const char *tg_msg_strerror(int code);
/* "job", "batch", "alerts", "ack" or "none". Never NULL. */
const char *tg_msg_kind_name(tg_msg_kind kind);

/* A borrowed byte string; not NUL-terminated. */
typedef struct tg_str {
    const char *p;
    size_t n;
} tg_str;

static inline tg_str tg_str_c(const char *s)
{
    tg_str r = { s, s ? __builtin_strlen(s) : 0 };
    return r;
}

typedef struct tg_msg_job {
    uint64_t id;
    tg_str ack;             /* fetcher's ack endpoint */
    tg_str uri;             /* source URI (file:///..., s3://..., stdin:) */
    tg_str identity;        /* stable source identity */
    uint32_t attempt;       /* 1 for the first delivery */
    uint64_t arrival_ns;
    bool has_data;
    tg_str data;            /* file bytes (possibly gzip) if has_data */
    tg_str path;            /* local path to read if !has_data */
} tg_msg_job;

/* Header shared by batch and alerts frames. */
typedef struct tg_msg_hdr {
    uint64_t job;
    tg_str ack;
    tg_str uri;
    tg_str identity;
    uint32_t index;         /* 0-based batch index in the job */
    uint32_t count;         /* batches in the job; 0 = not the last batch */
    uint64_t first;         /* index in the file of the first record */
} tg_msg_hdr;

typedef struct tg_msg_error {
    tg_str file;
    int64_t record;         /* -1: not about one record */
    tg_str message;
} tg_msg_error;

typedef struct tg_msg_batch {
    tg_msg_hdr hdr;
    uint32_t nrecords;
    const msgpack_object *records;  /* validated [bin, map] arrays; the
                                     * maps are kept as bytes: read them
                                     * with tg_msg_batch_record() only */
    uint32_t nerrors;
    const msgpack_object *errors;   /* validated [str, int, str] arrays */
} tg_msg_batch;

typedef struct tg_msg_alert {
    tg_str id;              /* stable alert id (32 hex chars) */
    tg_str rule;
    tg_str priority;
    tg_str source;          /* "aws_cloudtrail" */
    uint64_t time_ns;
    const msgpack_object *tags; /* decoded: array of str (may be NULL); encode: unused */
    const char *const *tag_list; /* encode only: tags as C strings */
    size_t ntags;
    tg_str output;          /* rendered output line (Falco text) */
    tg_str json;            /* Falco JSON object text */
    uint64_t record;        /* record index in the file */
    tg_str raw;             /* raw record JSON (may be empty) */
} tg_msg_alert;

typedef struct tg_msg_alerts {
    tg_msg_hdr hdr;
    uint32_t nrecords;      /* records evaluated in this batch */
    tg_str ruleset;         /* ruleset hash */
    uint32_t nalerts;
    const msgpack_object *alerts;   /* validated maps */
    uint32_t nerrors;
    const msgpack_object *errors;
} tg_msg_alerts;

typedef struct tg_msg_ack {
    uint64_t job;
    uint32_t index;
    uint32_t count;         /* as in the batch acknowledged (0 or total) */
    uint32_t errors;        /* decode errors seen in this batch */
    uint32_t status;        /* 0 = delivered; non-zero = failed */
} tg_msg_ack;

typedef struct tg_msg_shm {
    tg_str seg;             /* segment file name (not a path) */
    uint64_t gen;           /* the segment's fill number */
    uint64_t len;           /* bytes of the batch frame in the segment */
} tg_msg_shm;

/* A decoded frame.  All pointers are borrowed from the receive buffer and
 * the zone given to tg_msg_decode(); valid until either is released. */
typedef struct tg_msg {
    tg_msg_kind kind;
    union {
        tg_msg_job job;
        tg_msg_batch batch;
        tg_msg_alerts alerts;
        tg_msg_ack ack;
        tg_msg_shm shm;
    } u;
} tg_msg;

/*
 * Decode one frame of `len` bytes at `buf` (at most `max_len` bytes, 0 for
 * TG_MSG_MAX_FRAME_DEFAULT; batch frames over 4 GiB are TG_MSG_E_TOO_BIG
 * whatever the limit).  Objects are allocated from `zone`.  Returns 0
 * or a TG_MSG_E_* code; on error *out is zeroed, and if `err` is non-NULL a
 * one-line detail (e.g. the field name) is written to it.  Never aborts on
 * hostile input.
 */
int tg_msg_decode(const char *buf, size_t len, size_t max_len,
                  msgpack_zone *zone, tg_msg *out, char *err, size_t errlen);

/* A batch record's map, not unpacked. */
typedef struct tg_msg_map {
    tg_str bytes;           /* one complete, validated msgpack map object */
    uint32_t npairs;        /* its top-level key/value pairs */
    const uint32_t *pairs;  /* 2 * npairs numbers: for pair k, [2k] is
                             * the length of its key (UINT32_MAX if the key
                             * is not a string) and [2k + 1] the offset in
                             * bytes where its value starts; the key's
                             * bytes are the [2k] bytes before the value */
} tg_msg_map;

/* Accessors over a decoded frame; indexes must be < the counts. */
/* Record i: its raw JSON bytes and its map.  bytes borrow the receive
 * buffer, pairs the zone. */
void tg_msg_batch_record(const tg_msg_batch *b, uint32_t i, tg_str *raw,
                         tg_msg_map *map);
void tg_msg_error_get(const msgpack_object *errors, uint32_t i,
                      tg_msg_error *out);
/* Fills every field but tag_list/ntags (tags stays a msgpack array). */
void tg_msg_alert_get(const tg_msg_alerts *a, uint32_t i, tg_msg_alert *out);

/* Encoders: append one frame to sbuf. Return 0 (msgpack sbuffer writes abort
 * only on out of memory, which the daemons treat as fatal). */
int tg_msg_encode_job(msgpack_sbuffer *sbuf, const tg_msg_job *job);
int tg_msg_encode_ack(msgpack_sbuffer *sbuf, const tg_msg_ack *ack);
int tg_msg_encode_shm(msgpack_sbuffer *sbuf, const tg_msg_shm *shm);
/* `errors` is the borrowed errors array of the batch being answered (may be
 * NULL); it is copied into the frame. */
int tg_msg_encode_alerts(msgpack_sbuffer *sbuf, const tg_msg_hdr *hdr,
                         uint32_t nrecords, tg_str ruleset,
                         const tg_msg_alert *alerts, size_t nalerts,
                         const msgpack_object *errors, uint32_t nerrors);

/*
 * Batch builder.  Usage:
 *   tg_msg_batch_builder_init(&b, &sbuf);
 *   tg_msg_batch_begin(&b, &hdr);       (count may be patched later)
 *   pk = tg_msg_batch_record_begin(&b, raw, raw_len);
 *   ... pack exactly one map into pk ...
 *   tg_msg_batch_record_end(&b);   or   tg_msg_batch_record_abort(&b);
 *   tg_msg_batch_add_error(&b, ...);
 *   tg_msg_batch_end(&b);
 * The builder borrows sbuf; it owns a small buffer for the errors list,
 * freed by tg_msg_batch_builder_fini().
 */
typedef struct tg_msg_batch_builder {
    msgpack_sbuffer *sbuf;
    msgpack_packer pk;
    msgpack_sbuffer errs;
    msgpack_packer epk;
    size_t frame_start;
    size_t count_off;       /* offset of the uint32 count payload */
    size_t records_off;     /* offset of the array32 count payload */
    size_t record_start;
    uint32_t nrecords;
    uint32_t nerrors;
    bool open;
} tg_msg_batch_builder;

void tg_msg_batch_builder_init(tg_msg_batch_builder *b, msgpack_sbuffer *sbuf);
void tg_msg_batch_builder_fini(tg_msg_batch_builder *b);
/* Start a frame at the end of sbuf. */
void tg_msg_batch_begin(tg_msg_batch_builder *b, const tg_msg_hdr *hdr);
/* Packer to write this record's map into. Borrowed; valid until _end/_abort. */
msgpack_packer *tg_msg_batch_record_begin(tg_msg_batch_builder *b,
                                          const char *raw, size_t raw_len);
void tg_msg_batch_record_end(tg_msg_batch_builder *b);
void tg_msg_batch_record_abort(tg_msg_batch_builder *b);
void tg_msg_batch_add_error(tg_msg_batch_builder *b, tg_str file,
                            int64_t record, tg_str message);
/* Bytes of the frame so far (records + pending errors). */
size_t tg_msg_batch_size(const tg_msg_batch_builder *b);
/* Close the frame: appends the errors list. */
void tg_msg_batch_end(tg_msg_batch_builder *b);
/* Rewrite the count field of a finished batch frame at `frame` (as produced
 * by the builder). Returns 0, or TG_MSG_E_INVALID if it is not one. */
int tg_msg_batch_patch_count(char *frame, size_t len, uint32_t count);

/*
 * Log budget for malformed frames, so that a peer flooding a socket with
 * garbage cannot flood the log: tg_msg_log_ok() is true for the first
 * `per_sec` calls in each second (now_ms: the loop's clock); r->suppressed
 * counts the others since the last allowed line, for the caller to report
 * and reset.  Zero-initialise the struct.
 */
typedef struct tg_msg_logbudget {
    uint64_t sec;
    unsigned n;
    unsigned suppressed;
} tg_msg_logbudget;

static inline bool tg_msg_log_ok(tg_msg_logbudget *r, uint64_t now_ms,
                                 unsigned per_sec)
{
    if (now_ms / 1000 != r->sec) {
        r->sec = now_ms / 1000;
        r->n = 0;
    }
    if (r->n < per_sec) {
        r->n++;
        return true;
    }
    r->suppressed++;
    return false;
}

#endif /* TG_MSG_H */
