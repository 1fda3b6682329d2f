/*
 * ev_ct_json.h - a small scanner over raw JSON text.
 * Owner: cloudtrail fields (evaluator/cloudtrail/).
 *
 * The fields that render JSON text (ct.request, ct.response,
 * ct.additionaleventdata, ct.resources, json.value on non-strings, json.obj)
 * must reproduce the record's original text the way Falco's fastjson does:
 * original key order, duplicate keys, number literals and string bytes.  The
 * msgpack map cannot give that back, so these helpers locate a value's span
 * inside the raw record bytes and rewrite it (compact or indented).
 *
 * DESIGN
 * The input has already been validated by the parser (simdjson), so the
 * scanner does not validate; it only has to be bounds-safe: on malformed
 * input every function fails (NULL / negative) and never reads outside
 * [p, end).  Lookups follow fastjson: exact-case keys, the first occurrence
 * of a duplicate key wins, keys with escapes are compared after decoding.
 * Nothing here allocates: output buffers are passed in.
 */
#ifndef EV_CT_JSON_H
#define EV_CT_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Skip JSON blanks (space, tab, CR, LF). Never reads past end. */
const char *ev_ct_json_ws(const char *p, const char *end);

/*
 * End of the JSON value starting at p (blanks before it are skipped).
 * Returns the pointer just past the value, or NULL if it is malformed or
 * runs past end.  Objects/arrays are matched string-aware.
 */
const char *ev_ct_json_skip(const char *p, const char *end);

/*
 * Start of the value of key (klen bytes, raw, no escapes) in the object
 * starting at p.  NULL if p is not an object or the key is absent.  The
 * first occurrence of a duplicate key wins.
 */
const char *ev_ct_json_obj_get(const char *p, const char *end,
                               const char *key, size_t klen);

/* Start of element idx of the array at p; NULL if not an array / out of range. */
const char *ev_ct_json_arr_get(const char *p, const char *end, size_t idx);

/*
 * Walk a key path from the root value in [raw, raw+len).
 * Returns 1 and sets *vp and *vlen to the value's span when found, 0 when not
 * found (including walking through a non-object).
 */
int ev_ct_json_path(const char *raw, size_t len, const char *const *keys,
                    size_t nkeys, const char **vp, size_t *vlen);

/*
 * Walk a JSON pointer as the json plugin does: one leading '/' dropped,
 * segments split on '/', "~1" -> '/', "~0" -> '~'; object segments are
 * exact keys, array segments decimal indexes in range.  Returns 1 with the
 * value's span, 0 when not found, -1 when the document does not start with
 * '{' or '['.
 */
int ev_ct_json_pointer(const char *raw, size_t len, const char *ptr,
                       size_t plen, const char **vp, size_t *vlen);

/*
 * Copy the value [p, p+len) without blanks outside strings (compact form;
 * strings, numbers and literals byte-for-byte).  out must hold len bytes;
 * returns the number of bytes written.
 */
size_t ev_ct_json_compact(const char *p, size_t len, char *out);

/*
 * Decode the body of a string literal (between the quotes) the way fastjson
 * does (invalid escapes kept as written, bad surrogate pairs become U+FFFD).
 * out must hold len bytes (the result is never longer); returns its length.
 */
size_t ev_ct_json_unescape(const char *p, size_t len, char *out);

/*
 * Pretty-print [p, p+len) like Go's json.Indent(dst, src, "", "  ").
 * With out == NULL only counts.  Returns the output length; writes at most
 * cap bytes.
 */
size_t ev_ct_json_indent(const char *p, size_t len, char *out, size_t cap);

/* True when the key literal body k (raw, may hold escapes) decodes to t. */
bool ev_ct_json_key_eq(const char *k, size_t klen, const char *t, size_t tlen);

#endif /* EV_CT_JSON_H */
