/*
 * pa_jsonfix.c - lenient rewrite of records simdjson rejects; see
 * pa_jsonfix.h.  Owner: record decoding.
 */
#include "pa_jsonfix.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_hex4(const char *s, const char *end, unsigned *v)
{
    if (end - s < 4)
        return -1;
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *v = x;
    return 0;
}

/* Length of a valid UTF-8 sequence at p, or 0. */
static size_t s_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* One escape; p at the backslash.  Returns input consumed. */
static size_t s_escape(const char *p, const char *end, char *o, size_t *on, size_t *nfix)
{
    if (end - p < 2) {
        memcpy(o + *on, "\\\\", 2);
        *on += 2;
        ++*nfix;
        return 1;
    }
    char c = p[1];
    if (strchr("\"\\/bfnrt", c) && c != '\0') {
        memcpy(o + *on, p, 2);
        *on += 2;
        return 2;
    }
    unsigned x, x1;
    if (c != 'u' || s_hex4(p + 2, end, &x) < 0) {
        memcpy(o + *on, "\\\\", 2); /* kept literally, as fastjson does */
        *on += 2;
        ++*nfix;
        return 1;
    }
    if (x < 0xD800 || x >= 0xE000) {
        memcpy(o + *on, p, 6);
        *on += 6;
        return 6;
    }
    const char *t = p + 6;
    if (end - t >= 6 && t[0] == '\\' && t[1] == 'u' && s_hex4(t + 2, end, &x1) == 0) {
        if (x < 0xDC00 && x1 >= 0xDC00 && x1 < 0xE000) {
            memcpy(o + *on, p, 12); /* a valid pair */
            *on += 12;
            return 12;
        }
        memcpy(o + *on, "\\ufffd", 6);
        *on += 6;
        ++*nfix;
        return 12;
    }
    memcpy(o + *on, "\\\\", 2); /* lone surrogate: literal text */
    memcpy(o + *on + 2, p + 1, 5);
    *on += 7;
    ++*nfix;
    return 6;
}

static bool s_numchar(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' ||
           c == 'E';
}

/* JSON number grammar; *is_int when it has no fraction or exponent. */
static bool s_num_ok(const char *s, size_t n, bool *is_int)
{
    size_t i = 0;
    *is_int = true;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return false;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return false;
    if (i < n && s[i] == '.') {
        *is_int = false;
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *is_int = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

static size_t s_number(const char *s, size_t n, char *o, size_t *nfix)
{
    bool is_int;
    char tmp[64];
    if (s_num_ok(s, n, &is_int)) {
        if (is_int) {
            /* fits int64 / uint64? (at most 20 digits and no overflow) */
            bool neg = s[0] == '-';
            const char *d = s + neg;
            size_t nd = n - neg;
            bool fits = nd < 19 ||
                        (nd == 19 && (!neg || strncmp(d, "9223372036854775808", 19) <= 0)) ||
                        (nd == 20 && !neg && strncmp(d, "18446744073709551615", 20) <= 0);
            memcpy(o, s, n);
            if (fits)
                return n;
            memcpy(o + n, ".0", 2);
            ++*nfix;
            return n + 2;
        }
        if (n < sizeof(tmp)) {
            memcpy(tmp, s, n);
            tmp[n] = '\0';
            errno = 0;
            double v = strtod(tmp, NULL);
            if (!isinf(v)) {
                memcpy(o, s, n);
                return n;
            }
        }
    }
    o[0] = '"'; /* unrepresentable: keep the literal as a string */
    memcpy(o + 1, s, n);
    o[n + 1] = '"';
    ++*nfix;
    return n + 2;
}

size_t pa_jsonfix(const char *in, size_t len, char *out, size_t *nfix)
{
    const char *p = in, *end = in + len;
    size_t on = 0;
    *nfix = 0;
    while (p < end) {
        char c = *p;
        if (c == '-' || (c >= '0' && c <= '9')) {
            const char *s = p;
            while (p < end && s_numchar(*p))
                p++;
            on += s_number(s, (size_t)(p - s), out + on, nfix);
            continue;
        }
        out[on++] = c;
        p++;
        if (c != '"')
            continue;
        while (p < end && *p != '"') {
            unsigned char b = (unsigned char)*p;
            if (b == '\\') {
                p += s_escape(p, end, out, &on, nfix);
            } else if (b < 0x20) {
                on += (size_t)snprintf(out + on, 7, "\\u%04x", b);
                ++*nfix;
                p++;
            } else if (b < 0x80) {
                out[on++] = (char)b;
                p++;
            } else {
                size_t k = s_utf8_len((const unsigned char *)p, (const unsigned char *)end);
                if (k) {
                    memcpy(out + on, p, k);
                    on += k;
                    p += k;
                } else {
                    memcpy(out + on, "\\ufffd", 6);
                    on += 6;
                    ++*nfix;
                    p++;
                }
            }
        }
        if (p < end)
            out[on++] = *p++; /* closing quote */
    }
    return on;
}
