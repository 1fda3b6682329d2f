/*
 * ev_mp.h - a read-only cursor over msgpack bytes, so that the cloudtrail
 * source reads a record's fields straight from the batch frame instead of
 * from an unpacked object tree.  Owner: cloudtrail fields.
 *
 * DESIGN
 * A value (ev_mp) is a pointer to its first byte plus the end of the buffer
 * that holds it.  Every read is checked against that end, so truncated or
 * hostile bytes read as "no value", never out of bounds.  Nothing is
 * allocated and nothing is unpacked ahead of use: a map lookup walks the
 * keys and skips the values it passes; a skip is a loop over header bytes
 * that counts the values still to pass, so it needs no recursion and no
 * depth limit.  Types are those of msgpack-c's unpacker: a signed encoding
 * of a non-negative number is EV_MP_UINT, float32 and float64 are
 * EV_MP_FLOAT.
 *
 * A lookup finds the first occurrence of a duplicate key, and only string
 * keys match.  A value is "present" when its key matched and its header
 * decodes; pairs after the first malformed pair of a map are not seen.
 *
 * ev_mp_index caches one map's keys (a record's top level, read dozens of
 * times per event), so that a lookup compares keys without skipping the
 * values between them; it answers exactly as ev_mp_map_getn().  In the
 * evaluator it borrows the pair table that the frame decoder made while it
 * checked the map (tg_msg_map), so a record is never walked twice.
 * Measured (bench-evaluator, 200k records): building the index by walking
 * each record cost about as many instructions as the old full unpack; the
 * decoder's table costs a store per top-level key.
 *
 * Every pointer here borrows the caller's bytes; nothing is owned.
 */
#ifndef EV_MP_H
#define EV_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * a[0..n) == b[0..n), with word loads instead of a memcmp call: keys of the
 * same length differ in their first or last 8 bytes almost always
 * ("eventTime"/"eventName"/"eventType").  Reads only inside both spans.
 */
static inline bool ev_mp_bytes_eq(const void *pa, const void *pb, size_t n)
{
    const char *a = pa, *b = pb;
    if (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        if (x != y)
            return false;
        for (size_t i = 8; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return false;
        }
        return true;
    }
    if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        if (x != y)
            return false;
        memcpy(&x, a + n - 4, 4);
        memcpy(&y, b + n - 4, 4);
        return x == y;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

typedef enum ev_mp_type {
    EV_MP_NONE = 0, /* no value: missing, truncated or invalid bytes */
    EV_MP_NIL,
    EV_MP_BOOL,
    EV_MP_UINT,     /* a non-negative integer (any encoding) */
    EV_MP_INT,      /* a negative integer */
    EV_MP_FLOAT,    /* float32 or float64 */
    EV_MP_STR,
    EV_MP_BIN,
    EV_MP_ARRAY,
    EV_MP_MAP,
    EV_MP_EXT,
} ev_mp_type;

/* A value: p is its first byte (NULL: no value), end bounds every read. */
typedef struct ev_mp {
    const unsigned char *p;
    const unsigned char *end;
} ev_mp;

/* The decoded header of one value. */
typedef struct ev_mp_hdr {
    ev_mp_type type;
    uint32_t n;                 /* str/bin/ext bytes, array elements, map pairs */
    const unsigned char *body;  /* str/bin/ext payload (ext: its type byte) */
    const unsigned char *next;  /* past the value; first element of a container */
    union {
        uint64_t u;             /* EV_MP_UINT */
        int64_t i;              /* EV_MP_INT */
        double f;               /* EV_MP_FLOAT */
        bool b;                 /* EV_MP_BOOL */
    } v;
} ev_mp_hdr;

/* The value over bytes [p, p + len): no value when p is NULL. */
static inline ev_mp ev_mp_of(const void *p, size_t len)
{
    ev_mp v = { p, p ? (const unsigned char *)p + len : NULL };
    return v;
}

static inline bool ev_mp_present(ev_mp v)
{
    return v.p != NULL;
}

/*
 * Decode the header of the value at p (bounded by end) into *h.  False (and
 * h->type EV_MP_NONE) when p is NULL or at end, the byte is 0xc1, or the
 * header, a scalar or a str/bin/ext payload runs past end, or a container
 * counts more elements than bytes remain.  A container's elements are not
 * looked at.  ev_mp_head() decodes the commonest headers inline and leaves
 * the rest to ev_mp_head_slow(), which decodes them all.
 */
bool ev_mp_head_slow(const unsigned char *p, const unsigned char *end, ev_mp_hdr *h);

static inline __attribute__((always_inline)) bool
ev_mp_head(const unsigned char *p, const unsigned char *end, ev_mp_hdr *h)
{
    if (p && p < end) {
        unsigned c = *p;
        size_t left = (size_t)(end - p) - 1; /* bytes after the header byte */
        if ((c & 0xe0) == 0xa0) { /* fixstr */
            if ((c & 0x1fu) <= left) {
                h->type = EV_MP_STR;
                h->n = c & 0x1f;
                h->body = p + 1;
                h->next = p + 1 + h->n;
                return true;
            }
        } else if (c == 0xd9) { /* str8 */
            if (left >= 1 && p[1] <= left - 1) {
                h->type = EV_MP_STR;
                h->n = p[1];
                h->body = p + 2;
                h->next = p + 2 + h->n;
                return true;
            }
        } else if (c == 0xde || c == 0xdc) { /* map16, array16 */
            bool map = c == 0xde;
            uint32_t n = left >= 2 ? (uint32_t)p[1] << 8 | p[2] : UINT32_MAX;
            if (left >= 2 && (map ? 2 * n : n) <= left - 2) {
                h->type = map ? EV_MP_MAP : EV_MP_ARRAY;
                h->n = n;
                h->body = h->next = p + 3;
                return true;
            }
        } else if ((c & 0xe0) == 0x80) { /* fixmap, fixarray */
            bool map = c < 0x90;
            uint32_t n = c & 0x0f;
            if ((map ? 2 * n : n) <= left) {
                h->type = map ? EV_MP_MAP : EV_MP_ARRAY;
                h->n = n;
                h->body = h->next = p + 1;
                return true;
            }
        } else if (c <= 0x7f || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            if (c <= 0x7f) {
                h->type = EV_MP_UINT;
                h->v.u = c;
            } else {
                h->type = c == 0xc0 ? EV_MP_NIL : EV_MP_BOOL;
                h->v.b = c == 0xc3;
            }
            h->n = 0;
            h->body = h->next = p + 1;
            return true;
        }
    }
    return ev_mp_head_slow(p, end, h);
}

/* Past the value at p (containers with everything in them), or NULL when
 * the bytes are truncated or invalid. */
const unsigned char *ev_mp_skip(const unsigned char *p, const unsigned char *end);

/* Type of v; EV_MP_NONE for no value. */
static inline ev_mp_type ev_mp_type_of(ev_mp v)
{
    ev_mp_hdr h;
    ev_mp_head(v.p, v.end, &h);
    return h.type;
}

/* Scalars: true and the value when v has that type, else false (outputs
 * untouched).  Strings borrow v's bytes and are not NUL-terminated. */
static inline __attribute__((always_inline)) bool
ev_mp_str(ev_mp v, const char **s, size_t *n)
{
    ev_mp_hdr h;
    if (!ev_mp_head(v.p, v.end, &h) || h.type != EV_MP_STR)
        return false;
    *s = (const char *)h.body;
    *n = h.n;
    return true;
}

bool ev_mp_bool(ev_mp v, bool *b);
bool ev_mp_uint(ev_mp v, uint64_t *u);
bool ev_mp_int(ev_mp v, int64_t *i);   /* EV_MP_INT only (negative) */
bool ev_mp_float(ev_mp v, double *d);

/* Pairs of a map, elements of an array, 0 for anything else. */
static inline uint32_t ev_mp_count(ev_mp v)
{
    ev_mp_hdr h;
    if (!ev_mp_head(v.p, v.end, &h) || (h.type != EV_MP_ARRAY && h.type != EV_MP_MAP))
        return 0;
    return h.n;
}

/* First value of the string key (klen bytes) in map m; no value when m is
 * not a map or has no such key.  Borrows m's bytes. */
ev_mp ev_mp_map_getn(ev_mp m, const char *key, size_t klen);

static inline ev_mp ev_mp_map_get(ev_mp m, const char *key)
{
    return ev_mp_map_getn(m, key, strlen(key));
}

/* Walk n keys from v; no value if a step is missing or not a map. */
ev_mp ev_mp_path(ev_mp v, const char *const *keys, size_t n);

/* Iteration over an array:
 *   ev_mp_iter it; ev_mp el;
 *   ev_mp_iter_init(&it, arr);
 *   while (ev_mp_iter_next(&it, &el)) ...
 * Stops early on malformed bytes. */
typedef struct ev_mp_iter {
    const unsigned char *p;
    const unsigned char *end;
    uint32_t left;
} ev_mp_iter;

/* Returns false (and an empty iteration) when arr is not an array. */
bool ev_mp_iter_init(ev_mp_iter *it, ev_mp arr);
bool ev_mp_iter_next(ev_mp_iter *it, ev_mp *el);

/* Element i of an array; no value when out of range or not an array. */
ev_mp ev_mp_array_at(ev_mp arr, uint64_t i);

/*
 * Key index of one map.  Embed it (about 1.6 KiB) and zero it or call
 * ev_mp_index_reset(); ev_mp_index_get() builds it on first use for a map
 * and rebuilds it when asked about another one (other p or end).  Reset it
 * when the bytes of the indexed map may have changed in place.  Keys past
 * EV_MP_INDEX_MAX are searched the plain way.  ev_mp_index_pairs() instead
 * borrows a table of the map's pairs that a scanner made while it checked
 * the map, so nothing is built.
 */
#define EV_MP_INDEX_MAX 64

typedef struct ev_mp_index_ent {
    const unsigned char *key;
    const unsigned char *val;   /* NULL: its header does not decode */
    uint32_t klen;
} ev_mp_index_ent;

typedef struct ev_mp_index {
    const unsigned char *map;   /* the map indexed; NULL = not built */
    const unsigned char *end;
    const uint32_t *pairs;      /* borrowed pair table, or NULL */
    uint32_t npairs;
    const unsigned char *rest;  /* first pair not in ent[] */
    uint32_t nrest;             /* pairs from rest on */
    uint32_t n;
    ev_mp_index_ent ent[EV_MP_INDEX_MAX];
} ev_mp_index;

void ev_mp_index_reset(ev_mp_index *ix);

/*
 * Index map m with the pair table of a scanner that checked it (tg_msg_map:
 * for pair k, pairs[2k] is the length of its key, UINT32_MAX when the key
 * is not a string, and pairs[2k + 1] the offset from m.p of its value,
 * which follows the key's bytes).  O(1): the table is borrowed and must
 * outlive the index's use.  Values are trusted to be well formed; reads
 * stay bounded by m.end regardless.
 */
void ev_mp_index_pairs(ev_mp_index *ix, ev_mp m, const uint32_t *pairs,
                       uint32_t npairs);

/* ev_mp_index_get() for the cases it does not inline: builds the index
 * when it is not m's, and searches keys past EV_MP_INDEX_MAX. */
ev_mp ev_mp_index_get_slow(ev_mp_index *ix, ev_mp m, const char *key, size_t klen);

/* Lookup in a pair table (see ev_mp_index_pairs()). */
static inline ev_mp ev_mp_index_get_pairs(const ev_mp_index *ix, const char *key,
                                          size_t klen)
{
    ev_mp v = { NULL, ix->end };
    size_t len = (size_t)(ix->end - ix->map);
    const uint32_t *pr = ix->pairs;
    const uint32_t *pe = pr + 2 * (size_t)ix->npairs;
    for (; pr < pe; pr += 2) {
        if (pr[0] != klen)
            continue;
        uint32_t vo = pr[1];
        if (vo < klen || vo >= len)
            continue; /* not this map's table */
        if (ev_mp_bytes_eq(ix->map + vo - klen, key, klen)) {
            v.p = ix->map + vo;
            break;
        }
    }
    return v;
}

/* ev_mp_map_getn(m, key, klen), through the index ix (built here if it is
 * not m's). */
static inline ev_mp ev_mp_index_get(ev_mp_index *ix, ev_mp m, const char *key,
                                    size_t klen)
{
    if (!m.p || ix->map != m.p || ix->end != m.end || ix->rest)
        return ev_mp_index_get_slow(ix, m, key, klen);
    if (ix->pairs)
        return ev_mp_index_get_pairs(ix, key, klen);
    ev_mp v = { NULL, m.end };
    for (uint32_t i = 0; i < ix->n; i++) {
        const ev_mp_index_ent *e = &ix->ent[i];
        if (e->klen == klen && ev_mp_bytes_eq(e->key, key, klen)) {
            v.p = e->val;
            break;
        }
    }
    return v;
}

#endif /* EV_MP_H */
