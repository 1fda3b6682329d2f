/*
 * pa_jsonfix.h - rewrite a record that simdjson rejects for reasons Falco's
 * Go parser (fastjson) tolerates, so that such records are not silently
 * lost (a lone surrogate in a user agent must not hide an event from the
 * rules).  Owner: record decoding.  Internal to parser/decode.
 *
 * DESIGN
 * One pass over the text; structure is left alone (a structurally broken
 * record stays broken).  Inside strings, constructs are rewritten so that
 * simdjson decodes them to what fastjson's best-effort unescaping yields:
 *   - unknown escapes (\x), short or non-hex \u escapes, and a lone
 *     surrogate escape are kept literally: the backslash is doubled;
 *   - a surrogate escape followed by a \u escape that does not complete
 *     the pair becomes U+FFFD (Go's utf16.DecodeRune);
 *   - raw control bytes become \u00XX (same decoded byte);
 *   - bytes that are not valid UTF-8 become U+FFFD (fastjson would keep the
 *     raw byte; msgpack consumers see the replacement character instead).
 * Outside strings, number tokens simdjson cannot represent are rewritten:
 * an integer beyond int64/uint64 gets ".0" appended (parsed as a double, as
 * fastjson's Float64 would), and anything else it rejects (bad syntax,
 * overflowing exponent) becomes a JSON string holding the literal.
 */
#ifndef PA_JSONFIX_H
#define PA_JSONFIX_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Output bound for an input of len bytes. */
#define PA_JSONFIX_BOUND(len) ((len) * 6 + 16)

/*
 * Rewrite in[0..len) into out (at least PA_JSONFIX_BOUND(len) bytes).
 * Returns the output length; *nfix gets the number of rewrites (0 means
 * the text needed none, so retrying is pointless).
 */
size_t pa_jsonfix(const char *in, size_t len, char *out, size_t *nfix);

#ifdef __cplusplus
}
#endif

#endif /* PA_JSONFIX_H */
