/*
 * tg_msg_decode.c - pipeline frame decoding; see tg_msg.h for the wire
 * format (tg_msg.c has the encoders).
 *
 * DESIGN
 * Decoding is one pass: s_obj() walks the raw msgpack and builds the same
 * object tree msgpack_unpack() would, in the caller's zone, checking every
 * header byte and every length against the bytes that remain before using
 * it.  Each element of a container needs at least one byte, so a count
 * larger than the bytes left is rejected before anything is allocated from
 * it; nesting is capped; exactly one object must fill the frame.  Then the
 * s_body_* functions check each field's type.
 *
 * Batch frames are decoded lazily below the records: a record's map (and
 * any container as deep) is only scanned, with the same checks in the same
 * order, so a hostile frame fails with the same code, and is kept as a span
 * of bytes (a private S_OBJECT_SPAN object) instead of an object tree: the
 * evaluator reads the few fields it needs straight from the bytes, and a
 * 1 MiB frame no longer unpacks into megabytes of objects.  The scan notes
 * where each top-level key and value of the map starts, so that the reader
 * can index the keys without walking the map again.
 */
#include "tg_msg.h"

#include <stdio.h>
#include <string.h>

#define S_MAX_DEPTH 30 /* msgpack-c's unpacker stack holds 32 levels */
/* Containers this deep in a batch frame (a record's map: root array, body
 * map, records array, record array, map) are kept as spans. */
#define S_LAZY_DEPTH 4
/* A container kept as its bytes: via.bin.ptr points at its s_span.  Outside msgpack-c's
 * type values; never leaves this file but as a batch record's map. */
#define S_OBJECT_SPAN ((msgpack_object_type)0x7f)

/* ---- scanner ---------------------------------------------------------- */

static uint64_t s_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

typedef struct s_dec {
    const unsigned char *buf;
    size_t len, off;
    msgpack_zone *zone;
    int lazy_depth;     /* containers this deep become spans; 0 = none */
} s_dec;

/* Payload sizes of the fixed-size types 0xc0..0xdf; -1 for 0xc1 (never
 * used), -2 for the types with a length field. */
static const signed char s_fixed_size[] = {
    /* c0 */ 0, -1, 0, 0, -2, -2, -2, -2, -2, -2, 4, 8, 1, 2, 4, 8,
    /* d0 */ 1, 2, 4, 8, 2, 3, 5, 9, 17, -2, -2, -2, -2, -2, -2, -2,
};

/* Length-field bytes and kind (0 str, 1 bin, 2 ext, 3 array, 4 map) of a
 * type with a length field (s_fixed_size -2). */
static void s_sized(unsigned c, int *lenbytes, int *kind)
{
    switch (c) {
    case 0xc4: *lenbytes = 1; *kind = 1; break;
    case 0xc5: *lenbytes = 2; *kind = 1; break;
    case 0xc6: *lenbytes = 4; *kind = 1; break;
    case 0xc7: *lenbytes = 1; *kind = 2; break;
    case 0xc8: *lenbytes = 2; *kind = 2; break;
    case 0xc9: *lenbytes = 4; *kind = 2; break;
    case 0xd9: *lenbytes = 1; *kind = 0; break;
    case 0xda: *lenbytes = 2; *kind = 0; break;
    case 0xdb: *lenbytes = 4; *kind = 0; break;
    case 0xdc: *lenbytes = 2; *kind = 3; break;
    case 0xdd: *lenbytes = 4; *kind = 3; break;
    case 0xde: *lenbytes = 2; *kind = 4; break;
    default: *lenbytes = 4; *kind = 4; break; /* 0xdf */
    }
}

/*
 * Pass the header at d->off as s_obj() would, without building anything:
 * a scalar, str, bin or ext is passed whole (returns 0); for an array or
 * map returns 1 with *elems its element count (2 per map pair), d->off on
 * the first element.  Same checks and codes as s_obj().
 */
static int s_head(s_dec *d, uint64_t *elems)
{
    const unsigned char *buf = d->buf;
    size_t len = d->len;
    uint64_t n;
    int kind;
    *elems = 0;
    if (d->off >= len)
        return TG_MSG_E_TRUNCATED;
    unsigned c = buf[d->off++];
    if (c <= 0x7f || c >= 0xe0)
        return 0;
    if (c >= 0xa0 && c <= 0xbf) {
        n = c & 0x1f;
        kind = 0;
    } else if (c >= 0x90 && c <= 0x9f) {
        n = c & 0x0f;
        kind = 3;
    } else if (c >= 0x80 && c <= 0x8f) {
        n = c & 0x0f;
        kind = 4;
    } else {
        int sz = s_fixed_size[c - 0xc0], lenbytes;
        if (sz == -1)
            return TG_MSG_E_INVALID;
        if (sz >= 0) {
            if (len - d->off < (size_t)sz)
                return TG_MSG_E_TRUNCATED;
            d->off += (size_t)sz;
            return 0;
        }
        s_sized(c, &lenbytes, &kind);
        if (len - d->off < (size_t)lenbytes)
            return TG_MSG_E_TRUNCATED;
        n = s_be(buf + d->off, lenbytes);
        d->off += (size_t)lenbytes;
    }
    if (kind <= 2) {
        uint64_t skip = n + (kind == 2);
        if (len - d->off < skip)
            return TG_MSG_E_TRUNCATED;
        d->off += (size_t)skip;
        return 0;
    }
    *elems = kind == 4 ? n * 2 : n;
    return 1;
}

/*
 * Bytes of a value without a length field (fixint, nil, bool, fixstr,
 * float, int/uint 8..64, fixext 1..16): its header byte and payload,
 * S_WHOLE_MAX at most; 0 for the others (containers, str/bin/ext with a
 * length field, 0xc1).  The scanners pass such a value in one step.
 */
#define S_WHOLE_MAX 32
static const unsigned char s_whole[256] = {
    /* 00 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 10 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 20 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 30 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 40 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 50 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 60 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 70 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 80 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 90 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* a0 */ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    /* b0 */ 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
    /* c0 */ 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 5, 9, 2, 3, 5, 9,
    /* d0 */ 2, 3, 5, 9, 3, 4, 6, 10, 18, 0, 0, 0, 0, 0, 0, 0,
    /* e0 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* f0 */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Where the scanners' fast paths stop in the bytes of d: from any byte
 * before it at least S_WHOLE_MAX bytes remain, so a value s_whole[] sizes,
 * or a str8 header, read there is in bounds. */
static inline const unsigned char *s_fast_end(const s_dec *d)
{
    return d->len >= S_WHOLE_MAX ? d->buf + d->len - (S_WHOLE_MAX - 1) : d->buf;
}

/* s_head() of the value at p; d->off is then past what it passed. */
static __attribute__((noinline)) int s_head_at(s_dec *d, const unsigned char *p,
                                              uint64_t *elems)
{
    d->off = (size_t)(p - d->buf);
    return s_head(d, elems);
}

/*
 * Check the `elems` values from d->off (at depth + 1), as s_obj() would
 * check them, building nothing.  stack[] keeps the count of the values
 * still to pass in each enclosing level, cur the current one's (including
 * the value being passed).  Runs of values that s_whole[] sizes are passed
 * by the inner loop; fixmap, fixarray and str8 headers are decoded inline,
 * and every other header, and every header near the end, by s_head() (the
 * same checks in the same order, so the same codes).
 */
static inline __attribute__((always_inline)) int s_scan(s_dec *d, uint64_t elems,
                                                       int depth)
{
    const unsigned char *p = d->buf + d->off, *end = d->buf + d->len;
    const unsigned char *fast = s_fast_end(d);
    uint64_t stack[S_MAX_DEPTH + 1];
    uint64_t cur = elems, n;
    int top = 0, rc = 0; /* the level being passed is depth + 1 + top */
    if (!cur)
        return 0;
    for (;;) {
        unsigned w, c;
        while (p < fast && (w = s_whole[*p]) != 0) {
            p += w;
            if (--cur == 0)
                goto level_done;
        }
        c = p < fast ? *p : 0xc1; /* 0xc1: let s_head() look */
        if ((c & 0xe0) == 0x80) { /* fixmap, fixarray */
            n = c < 0x90 ? 2 * (c & 0x0fu) : (c & 0x0fu);
            p++;
        } else if (c == 0xd9) { /* str8: its length byte is in bounds */
            if ((size_t)(end - p) - 2 < p[1]) {
                rc = TG_MSG_E_TRUNCATED;
                break;
            }
            p += 2 + (size_t)p[1];
            n = 0;
        } else {
            rc = s_head_at(d, p, &n);
            p = d->buf + d->off;
            if (rc < 0)
                break;
            rc = 0; /* n is 0 unless it was a container */
        }
        if (n) {
            if (n > (size_t)(end - p)) {
                rc = TG_MSG_E_TRUNCATED;
                break;
            }
            if (depth + 2 + top > S_MAX_DEPTH) {
                rc = TG_MSG_E_DEPTH;
                break;
            }
            stack[top++] = cur;
            cur = n;
            continue;
        }
        if (--cur)
            continue;
    level_done:
        while (top > 0 && --stack[top - 1] == 0)
            top--; /* that level's container was its last value */
        if (top == 0)
            break;
        cur = stack[--top];
    }
    d->off = (size_t)(p - d->buf);
    return rc;
}

/* s_scan() out of line, for the rare callers. */
static __attribute__((noinline)) int s_scan_cold(s_dec *d, uint64_t elems, int depth)
{
    return s_scan(d, elems, depth);
}

/* The length of the string at d->off, or UINT32_MAX when it is not a
 * complete string (a later check reports what is wrong with it). */
static uint32_t s_str_len(const s_dec *d)
{
    size_t off = d->off, left = d->len - off;
    unsigned c = left ? d->buf[off] : 0xc1;
    int nb = c == 0xd9 ? 1 : c == 0xda ? 2 : c == 0xdb ? 4 : (c & 0xe0) == 0xa0 ? 0 : -1;
    if (nb < 0 || left < (size_t)nb + 1)
        return UINT32_MAX;
    uint64_t n = nb ? s_be(d->buf + off + 1, nb) : (c & 0x1fu);
    if (left - 1 - (size_t)nb < n || n >= UINT32_MAX)
        return UINT32_MAX;
    return (uint32_t)n;
}

/*
 * s_scan() of the npairs pairs of a map (at depth + 1), noting for each
 * pair the length of its key (UINT32_MAX for a key that is not a string)
 * and where its value starts, as an offset from base: the key's bytes are
 * the klen bytes before the value.  Fixstr keys and values that s_whole[]
 * sizes are passed inline.
 */
static __attribute__((noinline)) int s_scan_map(s_dec *d, uint64_t npairs, int depth,
                                                uint32_t *pairs, size_t base)
{
    const unsigned char *b = d->buf + base, *fast = s_fast_end(d);
    const unsigned char *p = d->buf + d->off;
    uint32_t *pe = pairs + 2 * npairs;
    int rc;
    for (; pairs < pe; pairs += 2) {
        unsigned c = p < fast ? *p : 0;
        if ((c & 0xe0) == 0xa0) {
            pairs[0] = c & 0x1fu;
            p += 1 + (c & 0x1fu);
        } else {
            d->off = (size_t)(p - d->buf);
            pairs[0] = s_str_len(d);
            if ((rc = s_scan_cold(d, 1, depth)))
                return rc;
            p = d->buf + d->off;
        }
        pairs[1] = (uint32_t)(p - b);
        unsigned w = p < fast ? s_whole[*p] : 0;
        if (w) {
            p += w;
        } else {
            d->off = (size_t)(p - d->buf);
            if ((rc = s_scan(d, 1, depth)))
                return rc;
            p = d->buf + d->off;
        }
    }
    d->off = (size_t)(p - d->buf);
    return 0;
}

static double s_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
}

static double s_f64(uint64_t u)
{
    double f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A container kept as bytes: where it is and, for a map, its pairs as
 * tg_msg_map describes them.  Zone-allocated; an S_OBJECT_SPAN object's
 * via.bin.ptr points at it. */
typedef struct s_span {
    const char *p;
    uint32_t len;
    uint32_t npairs;
    uint32_t pairs[];
} s_span;

/* Scan the container at `start` whose header s_obj() has read (elems
 * elements follow) into a span object. */
static int s_lazy(s_dec *d, msgpack_object *o, size_t start, uint64_t elems,
                  bool map, int depth)
{
    uint64_t npairs = map ? elems / 2 : 0;
    s_span *sp = msgpack_zone_malloc(d->zone, sizeof(*sp) + 2 * npairs * sizeof(uint32_t));
    if (!sp)
        return TG_MSG_E_NOMEM;
    int rc = map ? s_scan_map(d, npairs, depth, sp->pairs, start)
                 : s_scan_cold(d, elems, depth);
    if (rc)
        return rc;
    sp->p = (const char *)d->buf + start;
    sp->len = (uint32_t)(d->off - start);
    sp->npairs = (uint32_t)npairs;
    o->type = S_OBJECT_SPAN;
    o->via.bin.ptr = (const char *)sp;
    o->via.bin.size = 0;
    return 0;
}

/*
 * Decode the object at d->off into *o, checking every length against the
 * bytes that remain before trusting it, so a hostile count cannot size an
 * allocation: each element of a container needs at least one byte.  The
 * same objects msgpack_unpack() builds (str/bin/ext point into the buffer,
 * containers come from the zone), in one pass.  `depth`: containers above
 * this one.
 */
static int s_obj(s_dec *d, msgpack_object *o, int depth);

/*
 * s_obj() for one element of a container, with the two commonest kinds of
 * a CloudTrail record (fixstr: keys and most values; positive fixint)
 * decoded inline; everything else, and every error, goes to s_obj(), so
 * the result is the same.
 */
static inline int s_elem(s_dec *d, msgpack_object *o, int depth)
{
    if (d->off < d->len) {
        unsigned c = d->buf[d->off];
        if (c >= 0xa0 && c <= 0xbf) {
            size_t n = c & 0x1f;
            if (d->len - d->off - 1 >= n) {
                o->type = MSGPACK_OBJECT_STR;
                o->via.str.ptr = (const char *)d->buf + d->off + 1;
                o->via.str.size = (uint32_t)n;
                d->off += 1 + n;
                return 0;
            }
        } else if (c <= 0x7f) {
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o->via.u64 = c;
            d->off++;
            return 0;
        }
    }
    return s_obj(d, o, depth);
}

static int s_obj(s_dec *d, msgpack_object *o, int depth)
{
    const unsigned char *buf = d->buf;
    size_t len = d->len;
    size_t start = d->off;
    if (d->off >= len)
        return TG_MSG_E_TRUNCATED;
    unsigned c = buf[d->off++];
    if (c <= 0x7f) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = c;
        return 0;
    }
    if (c >= 0xe0) {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = (int8_t)c;
        return 0;
    }
    uint64_t n = 0;
    int kind; /* 0 str, 1 bin, 2 ext, 3 array, 4 map */
    if (c >= 0xa0 && c <= 0xbf) {
        n = c & 0x1f;
        kind = 0;
    } else if (c >= 0x90 && c <= 0x9f) {
        n = c & 0x0f;
        kind = 3;
    } else if (c >= 0x80 && c <= 0x8f) {
        n = c & 0x0f;
        kind = 4;
    } else {
        int sz = s_fixed_size[c - 0xc0];
        if (sz == -1)
            return TG_MSG_E_INVALID; /* 0xc1 */
        if (sz >= 0) {
            if (len - d->off < (size_t)sz)
                return TG_MSG_E_TRUNCATED;
            const unsigned char *p = buf + d->off;
            d->off += (size_t)sz;
            switch (c) {
            case 0xc0: o->type = MSGPACK_OBJECT_NIL; return 0;
            case 0xc2: case 0xc3:
                o->type = MSGPACK_OBJECT_BOOLEAN;
                o->via.boolean = c == 0xc3;
                return 0;
            case 0xca:
                o->type = MSGPACK_OBJECT_FLOAT32;
                o->via.f64 = s_f32((uint32_t)s_be(p, 4));
                return 0;
            case 0xcb:
                o->type = MSGPACK_OBJECT_FLOAT64;
                o->via.f64 = s_f64(s_be(p, 8));
                return 0;
            case 0xcc: case 0xcd: case 0xce: case 0xcf:
                o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
                o->via.u64 = s_be(p, sz);
                return 0;
            case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
                uint64_t u = s_be(p, sz);
                int shift = 64 - 8 * sz;
                int64_t v = (int64_t)(u << shift) >> shift; /* sign-extend */
                if (v >= 0) {
                    o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
                    o->via.u64 = (uint64_t)v;
                } else {
                    o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
                    o->via.i64 = v;
                }
                return 0;
            }
            default: /* fixext 1..16: type byte + data */
                o->type = MSGPACK_OBJECT_EXT;
                o->via.ext.type = (int8_t)p[0];
                o->via.ext.ptr = (const char *)p + 1;
                o->via.ext.size = (uint32_t)(sz - 1);
                return 0;
            }
        }
        int lenbytes;
        s_sized(c, &lenbytes, &kind);
        if (len - d->off < (size_t)lenbytes)
            return TG_MSG_E_TRUNCATED;
        n = s_be(buf + d->off, lenbytes);
        d->off += (size_t)lenbytes;
    }
    if (kind <= 2) {
        uint64_t skip = n + (kind == 2); /* ext: type byte */
        if (len - d->off < skip)
            return TG_MSG_E_TRUNCATED;
        const char *p = (const char *)buf + d->off;
        d->off += (size_t)skip;
        if (kind == 0) {
            o->type = MSGPACK_OBJECT_STR;
            o->via.str.ptr = p;
            o->via.str.size = (uint32_t)n;
        } else if (kind == 1) {
            o->type = MSGPACK_OBJECT_BIN;
            o->via.bin.ptr = p;
            o->via.bin.size = (uint32_t)n;
        } else {
            o->type = MSGPACK_OBJECT_EXT;
            o->via.ext.type = (int8_t)p[0];
            o->via.ext.ptr = p + 1;
            o->via.ext.size = (uint32_t)n;
        }
        return 0;
    }
    uint64_t elems = kind == 4 ? n * 2 : n;
    if (elems) {
        if (elems > len - d->off)
            return TG_MSG_E_TRUNCATED;
        if (depth + 1 > S_MAX_DEPTH)
            return TG_MSG_E_DEPTH;
    }
    if (d->lazy_depth && depth >= d->lazy_depth)
        return s_lazy(d, o, start, elems, kind == 4, depth);
    if (kind == 3) {
        o->type = MSGPACK_OBJECT_ARRAY;
        o->via.array.size = (uint32_t)n;
        o->via.array.ptr = NULL;
        if (!n)
            return 0;
        msgpack_object *v = msgpack_zone_malloc(d->zone, (size_t)n * sizeof(*v));
        if (!v)
            return TG_MSG_E_NOMEM;
        o->via.array.ptr = v;
        for (uint64_t i = 0; i < n; i++) {
            int rc = s_elem(d, &v[i], depth + 1);
            if (rc)
                return rc;
        }
        return 0;
    }
    o->type = MSGPACK_OBJECT_MAP;
    o->via.map.size = (uint32_t)n;
    o->via.map.ptr = NULL;
    if (!n)
        return 0;
    msgpack_object_kv *kv = msgpack_zone_malloc(d->zone, (size_t)n * sizeof(*kv));
    if (!kv)
        return TG_MSG_E_NOMEM;
    o->via.map.ptr = kv;
    for (uint64_t i = 0; i < n; i++) {
        int rc = s_elem(d, &kv[i].key, depth + 1);
        if (!rc)
            rc = s_elem(d, &kv[i].val, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- field readers ----------------------------------------------------- */

typedef struct s_ctx {
    char *err;
    size_t errlen;
} s_ctx;

static int s_fail(s_ctx *c, int code, const char *field)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s%s%s", tg_msg_strerror(code),
                 field ? ": " : "", field ? field : "");
    return code;
}

static bool s_key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

static const msgpack_object *s_get(const msgpack_object *map, const char *name)
{
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_key_is(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    return NULL;
}

static int s_str(s_ctx *c, const msgpack_object *m, const char *name,
                 bool required, tg_str *out)
{
    const msgpack_object *v = s_get(m, name);
    out->p = "";
    out->n = 0;
    if (!v)
        return required ? s_fail(c, TG_MSG_E_MISSING, name) : 0;
    if (v->type != MSGPACK_OBJECT_STR)
        return s_fail(c, TG_MSG_E_TYPE, name);
    out->p = v->via.str.ptr;
    out->n = v->via.str.size;
    return 0;
}

static int s_u64(s_ctx *c, const msgpack_object *m, const char *name,
                 bool required, uint64_t max, uint64_t *out)
{
    const msgpack_object *v = s_get(m, name);
    *out = 0;
    if (!v)
        return required ? s_fail(c, TG_MSG_E_MISSING, name) : 0;
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_fail(c, v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER
                             ? TG_MSG_E_RANGE : TG_MSG_E_TYPE, name);
    if (v->via.u64 > max)
        return s_fail(c, TG_MSG_E_RANGE, name);
    *out = v->via.u64;
    return 0;
}

static int s_u32(s_ctx *c, const msgpack_object *m, const char *name,
                 bool required, uint32_t *out)
{
    uint64_t v;
    int rc = s_u64(c, m, name, required, UINT32_MAX, &v);
    *out = (uint32_t)v;
    return rc;
}

static int s_array(s_ctx *c, const msgpack_object *m, const char *name,
                   uint32_t *n, const msgpack_object **items)
{
    const msgpack_object *v = s_get(m, name);
    *n = 0;
    *items = NULL;
    if (!v)
        return 0; /* empty lists may be omitted */
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return s_fail(c, TG_MSG_E_TYPE, name);
    *n = v->via.array.size;
    *items = v->via.array.ptr;
    return 0;
}

static int s_hdr(s_ctx *c, const msgpack_object *m, tg_msg_hdr *h)
{
    int rc;
    if ((rc = s_u64(c, m, "job", true, UINT64_MAX, &h->job)) ||
        (rc = s_str(c, m, "ack", true, &h->ack)) ||
        (rc = s_str(c, m, "uri", false, &h->uri)) ||
        (rc = s_str(c, m, "identity", true, &h->identity)) ||
        (rc = s_u32(c, m, "index", true, &h->index)) ||
        (rc = s_u32(c, m, "count", true, &h->count)) ||
        (rc = s_u64(c, m, "first", false, UINT64_MAX, &h->first)))
        return rc;
    if (h->count != 0 && h->index >= h->count)
        return s_fail(c, TG_MSG_E_RANGE, "index/count");
    return 0;
}

static int s_errors_list(s_ctx *c, const msgpack_object *m, uint32_t *n,
                         const msgpack_object **items)
{
    int rc = s_array(c, m, "errors", n, items);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < *n; i++) {
        const msgpack_object *e = &(*items)[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 3 ||
            e->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
            (e->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
             e->via.array.ptr[1].type != MSGPACK_OBJECT_NEGATIVE_INTEGER) ||
            e->via.array.ptr[2].type != MSGPACK_OBJECT_STR)
            return s_fail(c, TG_MSG_E_ERROR_ENTRY, "errors");
        if (e->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            e->via.array.ptr[1].via.u64 > INT64_MAX)
            return s_fail(c, TG_MSG_E_RANGE, "errors");
    }
    return 0;
}

static int s_body_job(s_ctx *c, const msgpack_object *m, tg_msg_job *j)
{
    int rc;
    uint64_t att;
    if ((rc = s_u64(c, m, "id", true, UINT64_MAX, &j->id)) ||
        (rc = s_str(c, m, "ack", true, &j->ack)) ||
        (rc = s_str(c, m, "uri", true, &j->uri)) ||
        (rc = s_str(c, m, "identity", true, &j->identity)) ||
        (rc = s_u64(c, m, "attempt", false, UINT32_MAX, &att)) ||
        (rc = s_u64(c, m, "arrival", false, UINT64_MAX, &j->arrival_ns)) ||
        (rc = s_str(c, m, "path", false, &j->path)))
        return rc;
    j->attempt = (uint32_t)att;
    const msgpack_object *d = s_get(m, "data");
    if (d) {
        if (d->type != MSGPACK_OBJECT_BIN)
            return s_fail(c, TG_MSG_E_TYPE, "data");
        j->has_data = true;
        j->data.p = d->via.bin.ptr;
        j->data.n = d->via.bin.size;
    } else {
        j->data.p = "";
        if (j->path.n == 0)
            return s_fail(c, TG_MSG_E_MISSING, "data/path");
    }
    return 0;
}

/* A map kept as a span (S_OBJECT_SPAN: at least its header byte). */
static bool s_is_map_span(const msgpack_object *o)
{
    if (o->type != S_OBJECT_SPAN)
        return false;
    const s_span *sp = (const s_span *)(const void *)o->via.bin.ptr;
    unsigned c = (unsigned char)sp->p[0];
    return (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf;
}

static int s_body_batch(s_ctx *c, const msgpack_object *m, tg_msg_batch *b)
{
    int rc;
    if ((rc = s_hdr(c, m, &b->hdr)) ||
        (rc = s_array(c, m, "records", &b->nrecords, &b->records)) ||
        (rc = s_errors_list(c, m, &b->nerrors, &b->errors)))
        return rc;
    for (uint32_t i = 0; i < b->nrecords; i++) {
        const msgpack_object *r = &b->records[i];
        if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 2 ||
            r->via.array.ptr[0].type != MSGPACK_OBJECT_BIN ||
            !s_is_map_span(&r->via.array.ptr[1]))
            return s_fail(c, TG_MSG_E_RECORD, "records");
    }
    return 0;
}

static int s_alert_check(s_ctx *c, const msgpack_object *a)
{
    tg_str s;
    uint64_t u;
    if (a->type != MSGPACK_OBJECT_MAP)
        return s_fail(c, TG_MSG_E_ALERT, "alerts");
    for (uint32_t i = 0; i < a->via.map.size; i++)
        if (a->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
            return s_fail(c, TG_MSG_E_ALERT, "alert key");
    static const char *const req[] = { "id", "rule", "priority", NULL };
    static const char *const opt[] = { "source", "output", "json", NULL };
    for (int i = 0; req[i]; i++)
        if (s_str(c, a, req[i], true, &s))
            return s_fail(c, TG_MSG_E_ALERT, req[i]);
    for (int i = 0; opt[i]; i++)
        if (s_str(c, a, opt[i], false, &s))
            return s_fail(c, TG_MSG_E_ALERT, opt[i]);
    if (s_u64(c, a, "time", false, UINT64_MAX, &u) ||
        s_u64(c, a, "record", false, UINT64_MAX, &u))
        return s_fail(c, TG_MSG_E_ALERT, "time/record");
    const msgpack_object *raw = s_get(a, "raw");
    if (raw && raw->type != MSGPACK_OBJECT_BIN)
        return s_fail(c, TG_MSG_E_ALERT, "raw");
    const msgpack_object *tags = s_get(a, "tags");
    if (tags) {
        if (tags->type != MSGPACK_OBJECT_ARRAY)
            return s_fail(c, TG_MSG_E_ALERT, "tags");
        for (uint32_t i = 0; i < tags->via.array.size; i++)
            if (tags->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
                return s_fail(c, TG_MSG_E_ALERT, "tags");
    }
    return 0;
}

static int s_body_alerts(s_ctx *c, const msgpack_object *m, tg_msg_alerts *a)
{
    int rc;
    if ((rc = s_hdr(c, m, &a->hdr)) ||
        (rc = s_u32(c, m, "nrecords", false, &a->nrecords)) ||
        (rc = s_str(c, m, "ruleset", false, &a->ruleset)) ||
        (rc = s_array(c, m, "alerts", &a->nalerts, &a->alerts)) ||
        (rc = s_errors_list(c, m, &a->nerrors, &a->errors)))
        return rc;
    for (uint32_t i = 0; i < a->nalerts; i++)
        if ((rc = s_alert_check(c, &a->alerts[i])))
            return rc;
    return 0;
}

static int s_body_ack(s_ctx *c, const msgpack_object *m, tg_msg_ack *a)
{
    int rc;
    if ((rc = s_u64(c, m, "job", true, UINT64_MAX, &a->job)) ||
        (rc = s_u32(c, m, "index", true, &a->index)) ||
        (rc = s_u32(c, m, "count", true, &a->count)) ||
        (rc = s_u32(c, m, "errors", false, &a->errors)) ||
        (rc = s_u32(c, m, "status", false, &a->status)))
        return rc;
    if (a->count != 0 && a->index >= a->count)
        return s_fail(c, TG_MSG_E_RANGE, "index/count");
    return 0;
}

static int s_body_shm(s_ctx *c, const msgpack_object *m, tg_msg_shm *s)
{
    int rc;
    if ((rc = s_str(c, m, "seg", true, &s->seg)) ||
        (rc = s_u64(c, m, "gen", true, UINT64_MAX, &s->gen)) ||
        (rc = s_u64(c, m, "len", true, UINT64_MAX, &s->len)))
        return rc;
    if (s->seg.n == 0)
        return s_fail(c, TG_MSG_E_RANGE, "seg");
    return 0;
}

static tg_msg_kind s_kind(const msgpack_object *k)
{
    if (k->type != MSGPACK_OBJECT_STR)
        return TG_MSG_NONE;
    if (s_key_is(k, "job")) return TG_MSG_JOB;
    if (s_key_is(k, "batch")) return TG_MSG_BATCH;
    if (s_key_is(k, "alerts")) return TG_MSG_ALERTS;
    if (s_key_is(k, "ack")) return TG_MSG_ACK;
    if (s_key_is(k, "shm")) return TG_MSG_SHM;
    return TG_MSG_NONE;
}

/*
 * The three elements of the frame's root array (its header byte 0x93 at
 * d->off - 1 is checked by the caller), as s_obj() would decode the array;
 * the body of a batch frame with its record maps kept as spans.
 */
static int s_root(s_dec *d, msgpack_object el[3])
{
    if (3 > d->len - d->off)
        return TG_MSG_E_TRUNCATED;
    for (int i = 0; i < 3; i++) {
        if (i == 2 && s_kind(&el[1]) == TG_MSG_BATCH) {
            if (d->len > UINT32_MAX)
                return TG_MSG_E_TOO_BIG; /* spans have 32-bit sizes */
            d->lazy_depth = S_LAZY_DEPTH;
        }
        int rc = s_elem(d, &el[i], 1);
        if (rc)
            return rc;
    }
    return d->off == d->len ? 0 : TG_MSG_E_TRAILING;
}

int tg_msg_decode(const char *buf, size_t len, size_t max_len,
                  msgpack_zone *zone, tg_msg *out, char *err, size_t errlen)
{
    s_ctx c = { err, errlen };
    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = '\0';
    if (!max_len)
        max_len = TG_MSG_MAX_FRAME_DEFAULT;
    if (!buf || len == 0)
        return s_fail(&c, TG_MSG_E_EMPTY, NULL);
    if (len > max_len)
        return s_fail(&c, TG_MSG_E_TOO_BIG, NULL);
    /* Cheap shape check before anything else: fixarray of 3, version 1. */
    if ((unsigned char)buf[0] != 0x93)
        return s_fail(&c, TG_MSG_E_NOT_ARRAY, NULL);
    msgpack_object root[3];
    s_dec dec = { (const unsigned char *)buf, len, 1, zone, 0 };
    int rc = s_root(&dec, root);
    if (rc)
        return s_fail(&c, rc, NULL);
    const msgpack_object *v = &root[0];
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != TG_MSG_VERSION)
        return s_fail(&c, TG_MSG_E_VERSION, NULL);
    tg_msg_kind kind = s_kind(&root[1]);
    if (kind == TG_MSG_NONE)
        return s_fail(&c, TG_MSG_E_KIND, NULL);
    const msgpack_object *body = &root[2];
    if (body->type != MSGPACK_OBJECT_MAP)
        return s_fail(&c, TG_MSG_E_BODY, NULL);
    for (uint32_t i = 0; i < body->via.map.size; i++)
        if (body->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
            return s_fail(&c, TG_MSG_E_KEY, NULL);
    switch (kind) {
    case TG_MSG_JOB: rc = s_body_job(&c, body, &out->u.job); break;
    case TG_MSG_BATCH: rc = s_body_batch(&c, body, &out->u.batch); break;
    case TG_MSG_ALERTS: rc = s_body_alerts(&c, body, &out->u.alerts); break;
    case TG_MSG_SHM: rc = s_body_shm(&c, body, &out->u.shm); break;
    default: rc = s_body_ack(&c, body, &out->u.ack); break;
    }
    if (rc) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    out->kind = kind;
    return 0;
}

/* ---- accessors ---------------------------------------------------------- */

void tg_msg_batch_record(const tg_msg_batch *b, uint32_t i, tg_str *raw,
                         tg_msg_map *map)
{
    const msgpack_object *r = b->records[i].via.array.ptr;
    const s_span *sp = (const s_span *)(const void *)r[1].via.bin.ptr;
    raw->p = r[0].via.bin.ptr;
    raw->n = r[0].via.bin.size;
    map->bytes.p = sp->p;
    map->bytes.n = sp->len;
    map->npairs = sp->npairs;
    map->pairs = sp->pairs;
}

void tg_msg_error_get(const msgpack_object *errors, uint32_t i, tg_msg_error *out)
{
    const msgpack_object *e = errors[i].via.array.ptr;
    out->file.p = e[0].via.str.ptr;
    out->file.n = e[0].via.str.size;
    out->record = e[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER
                      ? (int64_t)e[1].via.u64 : e[1].via.i64;
    out->message.p = e[2].via.str.ptr;
    out->message.n = e[2].via.str.size;
}

void tg_msg_alert_get(const tg_msg_alerts *a, uint32_t i, tg_msg_alert *out)
{
    s_ctx c = { NULL, 0 };
    const msgpack_object *m = &a->alerts[i];
    memset(out, 0, sizeof(*out));
    s_str(&c, m, "id", false, &out->id);
    s_str(&c, m, "rule", false, &out->rule);
    s_str(&c, m, "priority", false, &out->priority);
    s_str(&c, m, "source", false, &out->source);
    s_str(&c, m, "output", false, &out->output);
    s_str(&c, m, "json", false, &out->json);
    s_u64(&c, m, "time", false, UINT64_MAX, &out->time_ns);
    s_u64(&c, m, "record", false, UINT64_MAX, &out->record);
    const msgpack_object *raw = s_get(m, "raw");
    out->raw.p = raw ? raw->via.bin.ptr : "";
    out->raw.n = raw ? raw->via.bin.size : 0;
    out->tags = s_get(m, "tags");
    out->ntags = out->tags ? out->tags->via.array.size : 0;
}
