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
 * The same bytes as pa_json_pack(), appended straight to sb (no call per
 * token: the fast path for building frames).  Returns 0, -EINVAL if
 * nothing is parsed, or -ENOMEM (sb is left as it was).
 */
int pa_json_pack_sbuffer(pa_json *pj, msgpack_sbuffer *sb);

/* pa_json_parse() then pa_json_pack(). */
int pa_json_to_msgpack(pa_json *pj, const char *data, size_t len,
                       msgpack_packer *pk, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* PA_JSON_H */
