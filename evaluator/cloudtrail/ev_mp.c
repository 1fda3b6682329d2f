/*
 * ev_mp.c - read-only msgpack cursor; see ev_mp.h.  Owner: cloudtrail
 * fields.
 *
 * DESIGN
 * ev_mp_head() is the one place that knows the msgpack header bytes; skip,
 * lookup and the accessors are loops over it, with the two commonest bytes
 * of a CloudTrail record (fixstr: keys and most values; positive fixint)
 * handled inline in the loops.
 */
#include "ev_mp.h"

static uint64_t s_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* A length of nb bytes after the header byte; false if truncated. */
static bool s_len(const unsigned char *q, size_t left, int nb, uint64_t *n)
{
    if (left < (size_t)nb)
        return false;
    *n = s_be(q, nb);
    return true;
}

/* str/bin/ext: n payload bytes (plus the type byte for ext) from q. */
static bool s_payload(ev_mp_hdr *h, ev_mp_type t, const unsigned char *q, size_t left,
                      uint64_t n)
{
    uint64_t need = n + (t == EV_MP_EXT);
    if (need > left)
        return false;
    h->type = t;
    h->n = (uint32_t)n;
    h->body = q;
    h->next = q + need;
    return true;
}

/* array/map of n elements (pairs) starting at q: each needs a byte. */
static bool s_container(ev_mp_hdr *h, ev_mp_type t, const unsigned char *q,
                        size_t left, uint64_t n)
{
    uint64_t elems = t == EV_MP_MAP ? 2 * n : n;
    if (elems > left)
        return false;
    h->type = t;
    h->n = (uint32_t)n;
    h->body = q;
    h->next = q;
    return true;
}

/* Fixed-size scalars 0xc0..0xd8 (q: after the header byte). */
static bool s_fixed(ev_mp_hdr *h, unsigned c, const unsigned char *q, size_t left)
{
    static const signed char size[] = {
        /* c0 */ 0, -1, 0, 0, -1, -1, -1, -1, -1, -1, 4, 8, 1, 2, 4, 8,
        /* d0 */ 1, 2, 4, 8, 2, 3, 5, 9, 17,
    };
    int sz = size[c - 0xc0];
    if (sz < 0 || left < (size_t)sz)
        return false;
    h->next = q + sz;
    h->body = q;
    h->n = 0;
    uint64_t u = s_be(q, sz > 8 ? 0 : sz);
    if (c == 0xc0) {
        h->type = EV_MP_NIL;
    } else if (c == 0xc2 || c == 0xc3) {
        h->type = EV_MP_BOOL;
        h->v.b = c == 0xc3;
    } else if (c == 0xca) {
        uint32_t w = (uint32_t)u;
        float f;
        memcpy(&f, &w, sizeof f);
        h->type = EV_MP_FLOAT;
        h->v.f = (double)f;
    } else if (c == 0xcb) {
        h->type = EV_MP_FLOAT;
        memcpy(&h->v.f, &u, sizeof u);
    } else if (c <= 0xcf) {
        h->type = EV_MP_UINT;
        h->v.u = u;
    } else if (c <= 0xd3) {
        int shift = 64 - 8 * sz;
        int64_t v = (int64_t)(u << shift) >> shift; /* sign-extend */
        h->type = v >= 0 ? EV_MP_UINT : EV_MP_INT;
        h->v.i = v;
    } else { /* fixext 1..16: type byte + data */
        h->type = EV_MP_EXT;
        h->n = (uint32_t)(sz - 1);
    }
    return true;
}

/* Headers with a length field: bin, ext, str, array, map 8/16/32. */
static bool s_sized(ev_mp_hdr *h, unsigned c, const unsigned char *q, size_t left)
{
    static const struct { unsigned char nb, type; } t[] = {
        {1, EV_MP_BIN}, {2, EV_MP_BIN}, {4, EV_MP_BIN},
        {1, EV_MP_EXT}, {2, EV_MP_EXT}, {4, EV_MP_EXT},
    };
    static const struct { unsigned char nb, type; } u[] = {
        {1, EV_MP_STR}, {2, EV_MP_STR}, {4, EV_MP_STR},
        {2, EV_MP_ARRAY}, {4, EV_MP_ARRAY}, {2, EV_MP_MAP}, {4, EV_MP_MAP},
    };
    int nb;
    ev_mp_type type;
    if (c >= 0xc4 && c <= 0xc9) {
        nb = t[c - 0xc4].nb;
        type = (ev_mp_type)t[c - 0xc4].type;
    } else {
        nb = u[c - 0xd9].nb;
        type = (ev_mp_type)u[c - 0xd9].type;
    }
    uint64_t n;
    if (!s_len(q, left, nb, &n))
        return false;
    q += nb;
    left -= (size_t)nb;
    if (type == EV_MP_ARRAY || type == EV_MP_MAP)
        return s_container(h, type, q, left, n);
    return s_payload(h, type, q, left, n);
}

bool ev_mp_head_slow(const unsigned char *p, const unsigned char *end, ev_mp_hdr *h)
{
    h->type = EV_MP_NONE;
    if (!p || p >= end)
        return false;
    unsigned c = *p;
    const unsigned char *q = p + 1;
    size_t left = (size_t)(end - q);
    bool ok;
    if (c <= 0x7f) {
        h->type = EV_MP_UINT;
        h->v.u = c;
        h->n = 0;
        h->body = h->next = q;
        return true;
    }
    if (c >= 0xe0) {
        h->type = EV_MP_INT;
        h->v.i = (int8_t)c;
        h->n = 0;
        h->body = h->next = q;
        return true;
    }
    if (c >= 0xa0 && c <= 0xbf)
        ok = s_payload(h, EV_MP_STR, q, left, c & 0x1f);
    else if (c >= 0x90 && c <= 0x9f)
        ok = s_container(h, EV_MP_ARRAY, q, left, c & 0x0f);
    else if (c <= 0x8f)
        ok = s_container(h, EV_MP_MAP, q, left, c & 0x0f);
    else if ((c >= 0xc4 && c <= 0xc9) || c >= 0xd9)
        ok = s_sized(h, c, q, left);
    else
        ok = s_fixed(h, c, q, left);
    if (!ok)
        h->type = EV_MP_NONE;
    return ok;
}

const unsigned char *ev_mp_skip(const unsigned char *p, const unsigned char *end)
{
    uint64_t pending = 1; /* values still to pass */
    ev_mp_hdr h;
    while (pending) {
        if (!p || p >= end)
            return NULL;
        unsigned c = *p;
        pending--;
        if (c <= 0x7f || c >= 0xe0) { /* fixint */
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xa0) { /* fixstr */
            size_t n = c & 0x1f;
            if (n >= (size_t)(end - p))
                return NULL;
            p += 1 + n;
            continue;
        }
        if (c == 0xd9 && end - p >= 2 && (size_t)(end - p) - 2 >= p[1]) { /* str8 */
            p += 2 + (size_t)p[1];
            continue;
        }
        if (c <= 0x9f) { /* fixmap, fixarray */
            pending += c < 0x90 ? 2 * (c & 0x0fu) : (c & 0x0fu);
            p++;
        } else {
            if (!ev_mp_head_slow(p, end, &h))
                return NULL;
            if (h.type == EV_MP_ARRAY)
                pending += h.n;
            else if (h.type == EV_MP_MAP)
                pending += 2 * (uint64_t)h.n;
            p = h.next;
        }
        if (pending > (uint64_t)(end - p))
            return NULL; /* each value needs a byte */
    }
    return p;
}

bool ev_mp_bool(ev_mp v, bool *b)
{
    ev_mp_hdr h;
    if (!ev_mp_head(v.p, v.end, &h) || h.type != EV_MP_BOOL)
        return false;
    *b = h.v.b;
    return true;
}

bool ev_mp_uint(ev_mp v, uint64_t *u)
{
    ev_mp_hdr h;
    if (!ev_mp_head(v.p, v.end, &h) || h.type != EV_MP_UINT)
        return false;
    *u = h.v.u;
    return true;
}

bool ev_mp_int(ev_mp v, int64_t *i)
{
    ev_mp_hdr h;
    if (!ev_mp_head(v.p, v.end, &h) || h.type != EV_MP_INT)
        return false;
    *i = h.v.i;
    return true;
}

bool ev_mp_float(ev_mp v, double *d)
{
    ev_mp_hdr h;
    if (!ev_mp_head(v.p, v.end, &h) || h.type != EV_MP_FLOAT)
        return false;
    *d = h.v.f;
    return true;
}

/* ---- lookup --------------------------------------------------------------- */

/* The key at p: returns the byte past it (NULL when malformed); kp, kn
 * are its bytes when it is a string, else *kp is NULL. */
static inline __attribute__((always_inline)) const unsigned char *
s_key(const unsigned char *p, const unsigned char *end, const unsigned char **kp,
      size_t *kn)
{
    if (p < end && (*p & 0xe0) == 0xa0) {
        size_t n = *p & 0x1f;
        if (n >= (size_t)(end - p))
            return NULL;
        *kp = p + 1;
        *kn = n;
        return p + 1 + n;
    }
    ev_mp_hdr h;
    if (!ev_mp_head(p, end, &h))
        return NULL;
    if (h.type == EV_MP_STR) {
        *kp = h.body;
        *kn = h.n;
        return h.next;
    }
    *kp = NULL;
    *kn = 0;
    return ev_mp_skip(p, end);
}

/* ev_mp_skip() with the commonest values (fixstr, str8, fixint, nil,
 * bool) passed inline. */
static inline __attribute__((always_inline)) const unsigned char *
s_skip(const unsigned char *p, const unsigned char *end)
{
    if (p < end) {
        unsigned c = *p;
        size_t left = (size_t)(end - p) - 1;
        if ((c & 0xe0) == 0xa0)
            return (c & 0x1fu) <= left ? p + 1 + (c & 0x1f) : NULL;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
            return p + 1;
        if (c == 0xd9 && left >= 1 && p[1] <= left - 1)
            return p + 2 + p[1];
    }
    return ev_mp_skip(p, end);
}

/* The value at p when its header decodes. */
static inline __attribute__((always_inline)) ev_mp
s_val(const unsigned char *p, const unsigned char *end)
{
    ev_mp_hdr h;
    ev_mp v = { NULL, end };
    if (ev_mp_head(p, end, &h))
        v.p = p;
    return v;
}

/* Search npairs key/value pairs from p. */
static ev_mp s_find(const unsigned char *p, const unsigned char *end, uint32_t npairs,
                    const char *key, size_t klen)
{
    ev_mp none = { NULL, end };
    for (uint32_t i = 0; i < npairs; i++) {
        const unsigned char *kp;
        size_t kn;
        if (!(p = s_key(p, end, &kp, &kn)))
            return none;
        if (kp && kn == klen && ev_mp_bytes_eq(kp, key, klen))
            return s_val(p, end);
        if (!(p = s_skip(p, end)))
            return none;
    }
    return none;
}

ev_mp ev_mp_map_getn(ev_mp m, const char *key, size_t klen)
{
    ev_mp_hdr h;
    if (!ev_mp_head(m.p, m.end, &h) || h.type != EV_MP_MAP) {
        ev_mp none = { NULL, m.end };
        return none;
    }
    return s_find(h.next, m.end, h.n, key, klen);
}

ev_mp ev_mp_path(ev_mp v, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n && v.p; i++)
        v = ev_mp_map_get(v, keys[i]);
    return v;
}

/* ---- arrays --------------------------------------------------------------- */

bool ev_mp_iter_init(ev_mp_iter *it, ev_mp arr)
{
    ev_mp_hdr h;
    it->p = NULL;
    it->end = arr.end;
    it->left = 0;
    if (!ev_mp_head(arr.p, arr.end, &h) || h.type != EV_MP_ARRAY)
        return false;
    it->p = h.next;
    it->left = h.n;
    return true;
}

bool ev_mp_iter_next(ev_mp_iter *it, ev_mp *el)
{
    if (!it->left)
        return false;
    const unsigned char *nx = ev_mp_skip(it->p, it->end);
    if (!nx) {
        it->left = 0;
        return false;
    }
    el->p = it->p;
    el->end = it->end;
    it->p = nx;
    it->left--;
    return true;
}

ev_mp ev_mp_array_at(ev_mp arr, uint64_t i)
{
    ev_mp_iter it;
    ev_mp el = { NULL, arr.end };
    ev_mp_iter_init(&it, arr);
    if (i >= it.left)
        return el;
    for (uint64_t k = 0; k <= i; k++)
        if (!ev_mp_iter_next(&it, &el))
            return (ev_mp){ NULL, arr.end };
    return el;
}

/* ---- key index ------------------------------------------------------------ */

void ev_mp_index_reset(ev_mp_index *ix)
{
    ix->map = NULL;
    ix->end = NULL;
    ix->pairs = NULL;
    ix->npairs = 0;
    ix->rest = NULL;
    ix->nrest = 0;
    ix->n = 0;
}

/* Record the string keys of map m up to EV_MP_INDEX_MAX, and where the
 * others start; stop at the first malformed pair (as s_find() does).  A
 * value whose header does not decode is kept as no value (val NULL). */
static void s_index_build(ev_mp_index *ix, ev_mp m)
{
    ev_mp_hdr h;
    ev_mp_index_reset(ix);
    ix->map = m.p;
    ix->end = m.end;
    if (!ev_mp_head(m.p, m.end, &h) || h.type != EV_MP_MAP)
        return;
    const unsigned char *p = h.next;
    for (uint32_t i = 0; i < h.n; i++) {
        if (ix->n == EV_MP_INDEX_MAX) {
            ix->rest = p;
            ix->nrest = h.n - i;
            return;
        }
        const unsigned char *kp;
        size_t kn;
        if (!(p = s_key(p, m.end, &kp, &kn)))
            return;
        if (kp) {
            ev_mp_index_ent *e = &ix->ent[ix->n++];
            e->key = kp;
            e->klen = (uint32_t)kn;
            e->val = s_val(p, m.end).p;
        }
        if (!(p = ev_mp_skip(p, m.end)))
            return;
    }
}

void ev_mp_index_pairs(ev_mp_index *ix, ev_mp m, const uint32_t *pairs, uint32_t npairs)
{
    ev_mp_index_reset(ix);
    ix->map = m.p;
    ix->end = m.end;
    ix->pairs = pairs;
    ix->npairs = npairs;
}

ev_mp ev_mp_index_get_slow(ev_mp_index *ix, ev_mp m, const char *key, size_t klen)
{
    ev_mp none = { NULL, m.end };
    if (!m.p)
        return none;
    if (ix->map != m.p || ix->end != m.end)
        s_index_build(ix, m);
    if (ix->pairs)
        return ev_mp_index_get_pairs(ix, key, klen);
    for (uint32_t i = 0; i < ix->n; i++) {
        const ev_mp_index_ent *e = &ix->ent[i];
        if (e->klen == klen && ev_mp_bytes_eq(e->key, key, klen)) {
            ev_mp v = { e->val, m.end };
            return v;
        }
    }
    if (ix->rest)
        return s_find(ix->rest, m.end, ix->nrest, key, klen);
    return none;
}
