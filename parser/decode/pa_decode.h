/*
 * pa_decode.h - one fetched file in, validated records out: gunzip (by
 * magic), then one simdjson parse of the whole file, or split
 * (pa_records.h) and simdjson per record (pa_json.h).
 * Owner: record decoding (parser/decode/).
 *
 * DESIGN
 * The parser daemon packs records straight into its batch frame: for each
 * record the callback gets the raw JSON span and the record's map (parsed,
 * or already packed), and calls pa_record_pack_sbuffer(rec, its_sbuf) to
 * append the msgpack map where it wants it.  A pa_decoder owns the
 * reusable state (gunzip buffer, libdeflate decompressor, simdjson parser),
 * so steady-state decoding allocates nothing.  Not thread-safe: one
 * decoder per thread.
 *
 * Two paths, same results.  The fast path (default) takes the usual
 * CloudTrail layout, {"Records":[...]} with Records the first key, with ONE
 * simdjson parse of the whole decompressed file (no splitting, no parse
 * per record): each record's map is packed from the document into a
 * scratch buffer handed over with the record (pa_record.packed, copied
 * by pa_record_pack*()), its raw span read off simdjson's structural
 * index.  The reference path splits (pa_records.h) and parses each record alone (pa_json.h, with
 * the lenient retry of pa_jsonfix.h).  At the first thing the fast path
 * does not take (invalid JSON or UTF-8 anywhere, a record that is not an
 * object or is oversized, another layout, trailing data, a file over
 * PA_DECODE_FAST_MAX bytes) the reference path goes on from the first
 * record not yet delivered, so records, raw bytes, msgpack bytes, errors
 * and return values are those of the reference path alone
 * (tests/cloudtrail/test_pa_decode.c and the json fuzz target compare
 * them).  pa_decode_opts.reference turns the fast path off.
 *
 * Errors: per-record problems (oversized, invalid JSON, not an object) go
 * to on_error with the record index and a message naming the file, are
 * counted, and decoding goes on.  Whole-file problems (gzip, empty, not
 * CloudTrail, broken document) are the return value with err filled.
 */
#ifndef PA_DECODE_H
#define PA_DECODE_H

#include <stddef.h>

#include <msgpack.h>

#include "pa_gunzip.h"
#include "pa_json.h"
#include "pa_records.h"

typedef struct pa_decode_opts {
    size_t max_record;      /* bytes; 0 = PA_RECORD_MAX_DEFAULT (1 MiB) */
    size_t max_file;        /* decompressed bytes; 0 = 4 GiB */
    int reference;          /* 1: reference path only (no one-pass path) */
} pa_decode_opts;

/* Larger decompressed files take the reference path: a whole-file parse
 * needs about 14 bytes of parser memory per byte of text (kept for the
 * next file), the reference path that much per record only.  4 MiB keeps
 * the parser under ~60 MB (the RSS budget of issue 8 is 300 MB for the
 * whole pipeline) and covers typical CloudTrail files (the bench corpus's
 * are about 1.5 MB). */
#define PA_DECODE_FAST_MAX ((size_t)4 << 20)

/* One validated record.  Borrowed; valid only during the callback. */
typedef struct pa_record {
    const char *raw;        /* exact bytes of the record in the file */
    size_t len;
    size_t index;           /* 0-based index in the file */
    pa_json *json;          /* the parsed record (a JSON object), or NULL
                             * when packed is set (fast path) */
    const char *packed;     /* fast path: the msgpack map, already packed */
    size_t packed_len;
} pa_record;

/* Append the record's msgpack map to pk (the same bytes on either path).
 * 0, or -EIO if pk's writer failed. */
int pa_record_pack(const pa_record *rec, msgpack_packer *pk);
/* The same bytes appended straight to sb (faster).  0, or -ENOMEM with sb
 * unchanged. */
int pa_record_pack_sbuffer(const pa_record *rec, msgpack_sbuffer *sb);

typedef struct pa_decode_cb {
    /* Return 0 to go on; a negative value stops decoding and is returned. */
    int (*on_record)(void *data, const pa_record *rec);
    /* Optional.  msg: "file <name>: record <i>: <reason>". */
    void (*on_error)(void *data, size_t index, int code, const char *msg);
    void *data;
} pa_decode_cb;

typedef struct pa_decode_stats {
    size_t records;         /* delivered to on_record */
    size_t errors;          /* per-record errors (oversized included) */
    size_t oversized;
    size_t lenient;         /* records parsed only after pa_jsonfix */
    size_t bytes_in;        /* file bytes as given */
    size_t bytes_decoded;   /* after gunzip */
    int gzip;               /* 1 if the input was gzip */
} pa_decode_stats;

typedef struct pa_decoder pa_decoder;

/* Caller owns result; free with pa_decoder_free().  opts may be NULL.
 * NULL on out of memory. */
pa_decoder *pa_decoder_new(const pa_decode_opts *opts);
/* Accepts NULL. */
void pa_decoder_free(pa_decoder *d);

/*
 * Decode one file.  data/len: the file's bytes (gzip or not); name: its
 * name/URI for digest detection and messages.  Returns PA_OK, PA_DIGEST,
 * or a negative pa_result / -errno with err filled ("file <name>: ...").
 * st may be NULL.
 */
int pa_decoder_run(pa_decoder *d, const void *data, size_t len, const char *name,
                   const pa_decode_cb *cb, pa_decode_stats *st, char *err,
                   size_t errlen);

/* One-shot convenience: a temporary decoder around pa_decoder_run(). */
int pa_decode_buffer(const void *data, size_t len, const char *name,
                     const pa_decode_opts *opts, const pa_decode_cb *cb,
                     pa_decode_stats *st, char *err, size_t errlen);

#endif /* PA_DECODE_H */
