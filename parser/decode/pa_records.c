/*
 * pa_records.c - record splitting; see pa_records.h.  Owner: record decoding.
 *
 * The scanner only tracks strings (memchr on '"' plus a backslash count) and
 * bracket depth; it never unescapes.  It mirrors the value skipper of
 * evaluator/cloudtrail/ev_ct_json.c, kept separate so that the parser does
 * not link the rule engine.
 */
#include "pa_records.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct s_ctx {
    const char *name;
    size_t max_record;
    pa_span_fn on_span;
    pa_record_error_fn on_error;
    void *data;
    pa_split_stats *st;
    size_t index;           /* next record index */
} s_ctx;

const char *pa_strerror(int code)
{
    switch (code) {
    case PA_OK: return "ok";
    case PA_DIGEST: return "CloudTrail digest file skipped";
    case PA_EEMPTY: return "empty file";
    case PA_ENOTCT: return "not a CloudTrail log";
    case PA_EJSON: return "invalid JSON document";
    case PA_EGZIP: return "gzip decoding failed";
    case PA_ETOOBIG: return "record too large";
    case PA_ERECORD: return "invalid record";
    case -ENOMEM: return "out of memory";
    default: return "unknown error";
    }
}

static inline bool s_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *s_ws(const char *p, const char *end)
{
    while (p < end && s_is_ws(*p))
        p++;
    return p;
}

static const char *s_str_end(const char *p, const char *end)
{
    const char *start = p + 1, *q = start;
    while (q < end) {
        const char *hit = memchr(q, '"', (size_t)(end - q));
        if (!hit)
            return NULL;
        size_t bs = 0;
        for (const char *b = hit; b > start && b[-1] == '\\'; b--)
            bs++;
        if ((bs & 1) == 0)
            return hit + 1;
        q = hit + 1;
    }
    return NULL;
}

/* End of the value at p (no leading blanks), or NULL if broken. */
static const char *s_skip(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    char c = *p;
    if (c == '"')
        return s_str_end(p, end);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (p < end) {
            c = *p;
            if (c == '"') {
                if (!(p = s_str_end(p, end)))
                    return NULL;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if ((c == '}' || c == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    const char *s = p;
    while (p < end && !s_is_ws(*p) && *p != ',' && *p != '}' && *p != ']' && *p != ':' &&
           *p != '"' && *p != '{' && *p != '[')
        p++;
    return p > s ? p : NULL;
}

static int s_fail(s_ctx *c, char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "file %s: ", c->name);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

static void s_rec_error(s_ctx *c, size_t index, int code, const char *what)
{
    char msg[256];
    c->st->errors++;
    if (code == PA_ETOOBIG)
        c->st->oversized++;
    if (!c->on_error)
        return;
    snprintf(msg, sizeof(msg), "file %s: record %zu: %s", c->name, index, what);
    c->on_error(c->data, index, code, msg);
}

/* Deliver one record span (checks object-ness and size). */
static int s_emit(s_ctx *c, const char *p, size_t len)
{
    size_t idx = c->index++;
    if (len > c->max_record) {
        char what[96];
        snprintf(what, sizeof(what), "size %zu exceeds the limit of %zu bytes", len,
                 c->max_record);
        s_rec_error(c, idx, PA_ETOOBIG, what);
        return 0;
    }
    if (len == 0 || p[0] != '{') {
        s_rec_error(c, idx, PA_ERECORD, "not a JSON object");
        return 0;
    }
    c->st->spans++;
    return c->on_span(c->data, p, len, idx);
}

/* Elements of the array at p; *pend gets the end. 0, PA_EJSON or cb rc. */
static int s_array(s_ctx *c, const char *p, const char *end, const char **pend)
{
    p = s_ws(p + 1, end);
    if (p < end && *p == ']') {
        *pend = p + 1;
        return 0;
    }
    for (;;) {
        const char *e = s_skip(p, end);
        if (!e)
            return PA_EJSON;
        int rc = s_emit(c, p, (size_t)(e - p));
        if (rc != 0)
            return rc;
        p = s_ws(e, end);
        if (p < end && *p == ',') {
            p = s_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == ']') {
            *pend = p + 1;
            return 0;
        }
        return PA_EJSON;
    }
}

enum { K_RECORDS = 1, K_DIGEST = 2, K_RECORDLIKE = 4 };

static unsigned s_key_kind(const char *k, size_t n)
{
#define KEQ(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, n) == 0)
    if (KEQ("Records"))
        return K_RECORDS;
    if (KEQ("digestPublicKeyFingerprint") || KEQ("logFiles"))
        return K_DIGEST;
    if (KEQ("eventVersion") || KEQ("eventTime") || KEQ("eventName") || KEQ("userIdentity"))
        return K_RECORDLIKE;
    return 0;
#undef KEQ
}

/*
 * Walk the top-level object at p, delivering the elements of its first
 * Records array.  *kinds collects K_* flags; *pend the object's end.
 * Returns 0, PA_EJSON (broken) or a callback rc.
 */
static int s_document(s_ctx *c, const char *p, const char *end, unsigned *kinds,
                      const char **pend)
{
    *kinds = 0;
    p = s_ws(p + 1, end);
    if (p < end && *p == '}') {
        *pend = p + 1;
        return 0;
    }
    for (;;) {
        if (p >= end || *p != '"')
            return PA_EJSON;
        const char *ke = s_str_end(p, end);
        if (!ke)
            return PA_EJSON;
        unsigned kind = s_key_kind(p + 1, (size_t)(ke - p - 2));
        p = s_ws(ke, end);
        if (p >= end || *p != ':')
            return PA_EJSON;
        p = s_ws(p + 1, end);
        const char *ve;
        if (kind == K_RECORDS && !(*kinds & K_RECORDS) && p < end && *p == '[') {
            *kinds |= K_RECORDS; /* even if the array breaks off below */
            int rc = s_array(c, p, end, &ve);
            if (rc != 0)
                return rc;
        } else {
            if (kind == K_RECORDS)
                kind = 0; /* a later duplicate or a non-array: not the records */
            if (!(ve = s_skip(p, end)))
                return PA_EJSON;
        }
        *kinds |= kind;
        p = s_ws(ve, end);
        if (p < end && *p == ',') {
            p = s_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            *pend = p + 1;
            return 0;
        }
        return PA_EJSON;
    }
}

/* JSON lines from p: each non-blank line is one record. */
static int s_lines(s_ctx *c, const char *p, const char *end)
{
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = s_ws(p, le), *e = le;
        while (e > s && s_is_ws(e[-1]))
            e--;
        if (e > s) {
            int rc = s_emit(c, s, (size_t)(e - s));
            if (rc != 0)
                return rc;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static bool s_digest_name(const char *name)
{
    static const char seg[] = "CloudTrail-Digest";
    for (const char *h = name; (h = strstr(h, seg)) != NULL; h++) {
        char after = h[sizeof(seg) - 1];
        if ((h == name || h[-1] == '/') && (after == '/' || after == '\0'))
            return true;
    }
    return false;
}

int pa_records_digest_name(const char *name)
{
    return name && s_digest_name(name);
}

/* Column-0 '{' after a newline: the JSON lines format. */
static bool s_looks_jsonl(const char *p, const char *end)
{
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        if (q + 1 < end && q[1] == '{')
            return true;
    return false;
}

int pa_records_split(const char *buf, size_t len, const char *name, size_t max_record,
                     pa_span_fn on_span, pa_record_error_fn on_error, void *data,
                     pa_split_stats *st, char *err, size_t errlen)
{
    pa_split_stats dummy;
    s_ctx c = {name ? name : "(unnamed)", max_record ? max_record : PA_RECORD_MAX_DEFAULT,
               on_span, on_error, data, st ? st : &dummy, 0};
    memset(c.st, 0, sizeof(*c.st));
    if (name && s_digest_name(name))
        return PA_DIGEST;
    const char *end = buf + len, *p = buf;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    p = s_ws(p, end);
    if (p >= end)
        return s_fail(&c, err, errlen, PA_EEMPTY, "empty file, no records");
    if (*p == '[') {
        const char *ae;
        int rc = s_array(&c, p, end, &ae);
        if (rc == PA_EJSON || (rc == 0 && s_ws(ae, end) != end))
            return s_fail(&c, err, errlen, PA_EJSON, "invalid JSON document (array)");
        return rc;
    }
    if (*p != '{')
        return s_fail(&c, err, errlen, PA_ENOTCT, "not a CloudTrail log (no JSON object)");

    const char *start = p;
    bool any_records = false;
    for (;;) {
        unsigned kinds;
        const char *oe;
        size_t before = c.index;
        int rc = s_document(&c, p, end, &kinds, &oe);
        if (rc != 0 && rc != PA_EJSON)
            return rc;
        any_records |= (kinds & K_RECORDS) || c.index > before;
        if (rc == PA_EJSON) {
            if (!any_records && s_looks_jsonl(start, end))
                return s_lines(&c, start, end);
            return s_fail(&c, err, errlen, PA_EJSON,
                          "invalid or truncated JSON document at byte %zu",
                          (size_t)(p - buf));
        }
        const char *next = s_ws(oe, end);
        if (!any_records) {
            if (next != end || (kinds & K_RECORDLIKE))
                return s_lines(&c, start, end);
            if (kinds & K_DIGEST)
                return PA_DIGEST;
            return s_fail(&c, err, errlen, PA_ENOTCT,
                          "not a CloudTrail log (JSON object without a Records array)");
        }
        if (next == end)
            return 0;
        if (*next != '{')
            return s_fail(&c, err, errlen, PA_EJSON, "trailing data after the document");
        p = next; /* concatenated documents */
    }
}
