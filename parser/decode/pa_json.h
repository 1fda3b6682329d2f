/*
 * pa_json.h - JSON text -> msgpack, over simdjson.  The only C++ in the tree
 * (pa_json.cpp); this header is plain C.  Owner: record decoding
 * (parser/decode/).
 *
 * DESIGN
 * One pa_json holds a simdjson DOM parser and a padded input buffer, both
 * reused across calls, so converting a record allocates nothing once they
 * have grown to the largest record seen.  The msgpack produced mirrors the
 * JSON exactly: objects become maps with every key in its original order
 * (duplicate keys kept), arrays become arrays, strings (unescaped) become
 * str, integers int64/uint64, other numbers float64, true/false bool, null
 * nil.  The record's original text is not kept here: callers carry the raw
 * bytes alongside.
 *
 * Depth limit: msgpack-c's unpacker cannot read more than 32 nested
 * containers (MSGPACK_EMBED_STACK_SIZE), and the batch frame adds its own
 * levels above each record.  So containers nested more than max_depth
 * levels below the root (default PA_JSON_MAX_DEPTH = 16) are packed as an
 * empty map/array.  No msgpack-based field looks deeper than 6 levels; the
 * fields that render JSON text (and json.value) read the raw bytes, which
 * keep everything.
 *
 * Records simdjson rejects for reasons fastjson (Falco) tolerates are
 * rewritten once (pa_jsonfix.h) and parsed again, so they are not dropped.
 *
 * Not thread-safe: use one pa_json per thread.
 */
#ifndef PA_JSON_H
#define PA_JSON_H

#include <stddef.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pa_json pa_json;

#define PA_JSON_MAX_DEPTH 16

/* Root kinds of the last parsed document. */
enum pa_json_kind {
    PA_JSON_NONE = 0, PA_JSON_OBJECT, PA_JSON_ARRAY, PA_JSON_SCALAR
};

/* Caller owns result; free with pa_json_free().  NULL on out of memory. */
pa_json *pa_json_new(void);
/* Accepts NULL. */
void pa_json_free(pa_json *pj);

/*
 * Parse one JSON text (data is copied into the padded buffer; the caller's
 * buffer need not be padded).  Returns 0, or -EINVAL with the reason in err
 * ("simdjson: ..."), -ENOMEM when the buffer cannot grow.  The document is
 * kept until the next parse.
 */
int pa_json_parse(pa_json *pj, const char *data, size_t len, char *err, size_t errlen);

/* Bytes pa_json_parse_padded() may read past the end of its text. */
#define PA_JSON_PADDING 64

/*
 * As pa_json_parse() but without the copy: data[0..len + PA_JSON_PADDING)
 * must be readable (what follows len is not interpreted, so a record can
 * be parsed in place inside a larger buffer).  data must stay valid and
 * unchanged until the next parse: the document may point into it.
 */
int pa_json_parse_padded(pa_json *pj, const char *data, size_t len, char *err,
                         size_t errlen);

/* Containers allowed below the root before truncation (>= 1). */
void pa_json_set_max_depth(pa_json *pj, unsigned depth);

/*
 * 1 when the last parse succeeded only after the lenient rewrite of
 * pa_jsonfix.h (lone surrogates, invalid UTF-8, raw control characters,
 * out-of-range numbers: input fastjson accepts and simdjson rejects).
 */
int pa_json_lenient(const pa_json *pj);

/* Kind of the last successfully parsed root (PA_JSON_NONE if none). */
int pa_json_root_kind(const pa_json *pj);

/*
 * Pack the last parsed document into pk.  Returns 0, -EINVAL if nothing is
 * parsed, or -EIO if the packer's writer failed.
 */
int pa_json_pack(pa_json *pj, msgpack_packer *pk);

/*
 * The same bytes as pa_json_pack(), appended straight to sb by one linear
 * walk over simdjson's tape (the fast path for building frames).  Returns 0, -EINVAL if
 * nothing is parsed, or -ENOMEM (sb is left as it was).
 */
int pa_json_pack_sbuffer(pa_json *pj, msgpack_sbuffer *sb);

/* The same bytes again, by the reference walk over simdjson's DOM API
 * instead of the tape walk: for tests that check the two agree. */
int pa_json_pack_sbuffer_dom(pa_json *pj, msgpack_sbuffer *sb);

/*
 * The one-pass path over a whole CloudTrail document (see pa_decode.h).
 * fn gets each record's raw span and its msgpack map (the bytes
 * pa_json_pack_sbuffer() gives after parsing that span).  Both are
 * borrowed, valid only during the call.  fn returns 0 to go on, or a
 * negative value that stops the walk.
 */
typedef int (*pa_json_record_fn)(void *data, const char *raw, size_t len,
                                 const char *packed, size_t packed_len);

#define PA_JSON_FAST_BAIL 1

/*
 * Walk text[0..len) (readable up to len + PA_JSON_PADDING, unchanged
 * until the next call) as {"Records":[{...},...]}, with Records the first
 * key: one simdjson parse of the whole text, then the tape walk of
 * pa_json_pack_sbuffer() over each record.  The parser's memory grows to
 * about 14 bytes per byte of the largest text seen.  *done gets
 * the number of records given to fn.  Returns 0 when the Records array
 * was walked to its end and only "}" and blanks follow;
 * PA_JSON_FAST_BAIL at the first thing this path does not take (invalid
 * JSON anywhere in the file, a record that is not an object or is over
 * max_record bytes, another layout, out of memory): records *done and
 * later were not given to fn, and the caller takes the reference path
 * from there; or what fn returned when it stopped the walk.
 */
int pa_json_records(pa_json *pj, const char *text, size_t len, size_t max_record,
                    pa_json_record_fn fn, void *data, size_t *done);

/* pa_json_parse() then pa_json_pack(). */
int pa_json_to_msgpack(pa_json *pj, const char *data, size_t len,
                       msgpack_packer *pk, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* PA_JSON_H */
