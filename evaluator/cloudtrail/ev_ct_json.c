/*
 * ev_ct_json.c - raw JSON scanner used for text-fidelity fields; see
 * ev_ct_json.h.  Owner: cloudtrail fields.
 *
 * Strings are skipped with memchr on '"' and a count of the backslashes in
 * front of it, which keeps large string values (policies, user agents) fast.
 */
#include "ev_ct_json.h"

#include <stdint.h>
#include <string.h>

static inline bool s_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *ev_ct_json_ws(const char *p, const char *end)
{
    while (p < end && s_is_ws(*p))
        p++;
    return p;
}

/* p at the opening quote; returns the pointer past the closing quote. */
static const char *s_str_end(const char *p, const char *end)
{
    const char *start = p + 1;
    const char *q = start;
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

const char *ev_ct_json_skip(const char *p, const char *end)
{
    p = ev_ct_json_ws(p, end);
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
                p = s_str_end(p, end);
                if (!p)
                    return NULL;
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0)
                    return NULL;
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return NULL;
    }
    if (c == '}' || c == ']' || c == ',' || c == ':')
        return NULL;
    const char *s = p;
    while (p < end && !s_is_ws(*p) && *p != ',' && *p != '}' && *p != ']' &&
           *p != ':' && *p != '"' && *p != '{' && *p != '[')
        p++;
    return p > s ? p : NULL;
}

static int s_hex4(const char *s, const char *end, unsigned *out)
{
    if (end - s < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t s_utf8(uint32_t r, char *o)
{
    if (r < 0x80) {
        o[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        o[0] = (char)(0xC0 | (r >> 6));
        o[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r >= 0xD800 && r < 0xE000)
        r = 0xFFFD; /* Go's string(rune) for a lone surrogate */
    if (r < 0x10000) {
        o[0] = (char)(0xE0 | (r >> 12));
        o[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        o[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (r >> 18));
    o[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    o[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

/*
 * Decode one escape; s points just after the backslash.  Writes up to 6
 * bytes to o, returns their count and sets *used to the input consumed
 * after the backslash.  Mirrors fastjson's unescapeStringBestEffort.
 */
static size_t s_escape(const char *s, const char *end, char *o, size_t *used)
{
    if (s >= end) {
        o[0] = '\\';
        *used = 0;
        return 1;
    }
    char c = *s;
    *used = 1;
    switch (c) {
    case '"': o[0] = '"'; return 1;
    case '\\': o[0] = '\\'; return 1;
    case '/': o[0] = '/'; return 1;
    case 'b': o[0] = '\b'; return 1;
    case 'f': o[0] = '\f'; return 1;
    case 'n': o[0] = '\n'; return 1;
    case 'r': o[0] = '\r'; return 1;
    case 't': o[0] = '\t'; return 1;
    case 'u': break;
    default:
        o[0] = '\\';
        o[1] = c;
        return 2;
    }
    unsigned x, x1;
    if (s_hex4(s + 1, end, &x) < 0) {
        o[0] = '\\';
        o[1] = 'u';
        return 2;
    }
    *used = 5;
    if (x < 0xD800 || x >= 0xE000)
        return s_utf8(x, o);
    const char *t = s + 5;
    if (end - t < 6 || t[0] != '\\' || t[1] != 'u' || s_hex4(t + 2, end, &x1) < 0) {
        o[0] = '\\';
        o[1] = 'u';
        memcpy(o + 2, s + 1, 4);
        return 6;
    }
    *used = 11;
    uint32_t r = 0xFFFD;
    if (x < 0xDC00 && x1 >= 0xDC00 && x1 < 0xE000)
        r = 0x10000 + ((x - 0xD800) << 10) + (x1 - 0xDC00);
    return s_utf8(r, o);
}

size_t ev_ct_json_unescape(const char *p, size_t len, char *out)
{
    const char *end = p + len;
    size_t n = 0;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = bs ? (size_t)(bs - p) : (size_t)(end - p);
        memcpy(out + n, p, run);
        n += run;
        if (!bs)
            break;
        size_t used;
        char tmp[8];
        size_t k = s_escape(bs + 1, end, tmp, &used);
        memcpy(out + n, tmp, k);
        n += k;
        p = bs + 1 + used;
    }
    return n;
}

bool ev_ct_json_key_eq(const char *k, size_t klen, const char *t, size_t tlen)
{
    if (!memchr(k, '\\', klen))
        return klen == tlen && memcmp(k, t, klen) == 0;
    const char *end = k + klen;
    size_t ti = 0;
    while (k < end) {
        if (*k != '\\') {
            if (ti >= tlen || t[ti] != *k)
                return false;
            ti++;
            k++;
            continue;
        }
        size_t used;
        char tmp[8];
        size_t n = s_escape(k + 1, end, tmp, &used);
        if (ti + n > tlen || memcmp(t + ti, tmp, n) != 0)
            return false;
        ti += n;
        k += 1 + used;
    }
    return ti == tlen;
}

const char *ev_ct_json_obj_get(const char *p, const char *end,
                               const char *key, size_t klen)
{
    p = ev_ct_json_ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p = ev_ct_json_ws(p + 1, end);
    if (p < end && *p == '}')
        return NULL;
    for (;;) {
        if (p >= end || *p != '"')
            return NULL;
        const char *ke = s_str_end(p, end);
        if (!ke)
            return NULL;
        bool match = ev_ct_json_key_eq(p + 1, (size_t)(ke - 1 - (p + 1)), key, klen);
        p = ev_ct_json_ws(ke, end);
        if (p >= end || *p != ':')
            return NULL;
        p = ev_ct_json_ws(p + 1, end);
        if (match)
            return p < end ? p : NULL;
        p = ev_ct_json_skip(p, end);
        if (!p)
            return NULL;
        p = ev_ct_json_ws(p, end);
        if (p >= end || *p != ',')
            return NULL;
        p = ev_ct_json_ws(p + 1, end);
    }
}

const char *ev_ct_json_arr_get(const char *p, const char *end, size_t idx)
{
    p = ev_ct_json_ws(p, end);
    if (p >= end || *p != '[')
        return NULL;
    p = ev_ct_json_ws(p + 1, end);
    if (p < end && *p == ']')
        return NULL;
    for (size_t i = 0;; i++) {
        if (p >= end)
            return NULL;
        if (i == idx)
            return p;
        p = ev_ct_json_skip(p, end);
        if (!p)
            return NULL;
        p = ev_ct_json_ws(p, end);
        if (p >= end || *p != ',')
            return NULL;
        p = ev_ct_json_ws(p + 1, end);
    }
}

static int s_span(const char *v, const char *end, const char **vp, size_t *vlen)
{
    const char *ve = ev_ct_json_skip(v, end);
    if (!ve)
        return 0;
    *vp = v;
    *vlen = (size_t)(ve - v);
    return 1;
}

int ev_ct_json_path(const char *raw, size_t len, const char *const *keys,
                    size_t nkeys, const char **vp, size_t *vlen)
{
    if (!raw)
        return 0;
    const char *end = raw + len;
    const char *v = ev_ct_json_ws(raw, end);
    for (size_t i = 0; i < nkeys && v; i++)
        v = ev_ct_json_obj_get(v, end, keys[i], strlen(keys[i]));
    if (!v)
        return 0;
    return s_span(v, end, vp, vlen);
}

/* Decode one pointer segment ("~1" -> '/', "~0" -> '~') into buf. */
static size_t s_segment(const char *s, size_t n, char *buf)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && i + 1 < n && (s[i + 1] == '1' || s[i + 1] == '0')) {
            buf[o++] = s[i + 1] == '1' ? '/' : '~';
            i++;
        } else {
            buf[o++] = s[i];
        }
    }
    return o;
}

/* Go strconv.Atoi-like parse; returns -1 when not a non-negative number. */
static long long s_atoi(const char *s, size_t n)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return -1;
    long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (1LL << 50))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return neg && v != 0 ? -1 : v;
}

int ev_ct_json_pointer(const char *raw, size_t len, const char *ptr,
                       size_t plen, const char **vp, size_t *vlen)
{
    if (!raw || len == 0 || (raw[0] != '{' && raw[0] != '['))
        return -1;
    const char *end = raw + len;
    const char *v = raw;
    if (plen > 0 && ptr[0] == '/') {
        ptr++;
        plen--;
    }
    char buf[4096]; /* longer segments cannot name a CloudTrail key */
    const char *pe = ptr + plen;
    for (const char *s = ptr;;) {
        const char *slash = memchr(s, '/', (size_t)(pe - s));
        size_t n = slash ? (size_t)(slash - s) : (size_t)(pe - s);
        if (n > sizeof(buf))
            return 0;
        size_t k = s_segment(s, n, buf);
        v = ev_ct_json_ws(v, end);
        if (v >= end)
            return 0;
        if (*v == '{') {
            v = ev_ct_json_obj_get(v, end, buf, k);
        } else if (*v == '[') {
            long long idx = s_atoi(buf, k);
            v = idx < 0 ? NULL : ev_ct_json_arr_get(v, end, (size_t)idx);
        } else {
            v = NULL;
        }
        if (!v)
            return 0;
        if (!slash)
            break;
        s = slash + 1;
    }
    return s_span(v, end, vp, vlen);
}

size_t ev_ct_json_compact(const char *p, size_t len, char *out)
{
    const char *end = p + len;
    size_t n = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            const char *se = s_str_end(p, end);
            if (!se)
                se = end;
            memcpy(out + n, p, (size_t)(se - p));
            n += (size_t)(se - p);
            p = se;
            continue;
        }
        if (!s_is_ws(c))
            out[n++] = c;
        p++;
    }
    return n;
}

static size_t s_put(char *out, size_t cap, size_t n, const char *s, size_t k)
{
    if (out && n < cap)
        memcpy(out + n, s, n + k <= cap ? k : cap - n);
    return n + k;
}

static size_t s_newline(char *out, size_t cap, size_t n, size_t depth)
{
    n = s_put(out, cap, n, "\n", 1);
    for (size_t i = 0; i < depth; i++)
        n = s_put(out, cap, n, "  ", 2);
    return n;
}

size_t ev_ct_json_indent(const char *p, size_t len, char *out, size_t cap)
{
    const char *end = p + len;
    size_t n = 0, depth = 0;
    bool need = false;
    while (p < end) {
        char c = *p;
        if (s_is_ws(c)) {
            p++;
            continue;
        }
        if (need && c != '}' && c != ']') {
            need = false;
            depth++;
            n = s_newline(out, cap, n, depth);
        }
        if (c == '"') {
            const char *se = s_str_end(p, end);
            if (!se)
                se = end;
            n = s_put(out, cap, n, p, (size_t)(se - p));
            p = se;
            continue;
        }
        switch (c) {
        case '{':
        case '[':
            need = true;
            n = s_put(out, cap, n, p, 1);
            break;
        case ',':
            n = s_put(out, cap, n, p, 1);
            n = s_newline(out, cap, n, depth);
            break;
        case ':':
            n = s_put(out, cap, n, ": ", 2);
            break;
        case '}':
        case ']':
            if (need) {
                need = false;
            } else {
                if (depth > 0)
                    depth--;
                n = s_newline(out, cap, n, depth);
            }
            n = s_put(out, cap, n, p, 1);
            break;
        default:
            n = s_put(out, cap, n, p, 1);
            break;
        }
        p++;
    }
    return n;
}
