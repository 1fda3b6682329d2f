/*
 * pa_json.cpp - the simdjson adapter behind pa_json.h.  Owner: record
 * decoding.  Uses simdjson's error-code API only (no exceptions escape).
 */
#include "pa_json.h"
#include "pa_jsonfix.h"

#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include <simdjson.h>

using namespace simdjson;

struct pa_json {
    dom::parser parser;
    dom::element root;
    char *buf = nullptr;      /* input copy, cap + SIMDJSON_PADDING bytes */
    size_t cap = 0;
    int kind = PA_JSON_NONE;
    unsigned max_depth = PA_JSON_MAX_DEPTH;
    char *fix = nullptr;      /* rewritten copy for the lenient retry */
    size_t fixcap = 0;
    bool lenient = false;
};

extern "C" pa_json *pa_json_new(void)
{
    return new (std::nothrow) pa_json();
}

extern "C" void pa_json_free(pa_json *pj)
{
    if (!pj)
        return;
    std::free(pj->buf);
    std::free(pj->fix);
    delete pj;
}

static_assert(PA_JSON_PADDING >= SIMDJSON_PADDING, "PA_JSON_PADDING too small");

/* Parse text[0..len), readable up to len + SIMDJSON_PADDING (the original
 * bytes, for the lenient retry, are the same text). */
static int s_parse(pa_json *pj, const char *text, size_t len, char *err, size_t errlen)
{
    pj->kind = PA_JSON_NONE;
    pj->lenient = false;
    error_code ec = pj->parser.parse(text, len, false).get(pj->root);
    if (ec && ec != MEMALLOC && ec != CAPACITY && ec != DEPTH_ERROR) {
        /* Retry once with the constructs fastjson tolerates rewritten. */
        size_t need = PA_JSONFIX_BOUND(len);
        if (need > pj->fixcap) {
            char *nf = static_cast<char *>(std::realloc(pj->fix, need + SIMDJSON_PADDING));
            if (!nf) {
                if (err && errlen)
                    std::snprintf(err, errlen, "out of memory for a %zu-byte record", len);
                return -ENOMEM;
            }
            pj->fix = nf;
            pj->fixcap = need;
        }
        size_t nfix = 0;
        size_t n = pa_jsonfix(text, len, pj->fix, &nfix);
        if (nfix > 0) {
            std::memset(pj->fix + n, 0, SIMDJSON_PADDING);
            if (!pj->parser.parse(pj->fix, n, false).get(pj->root)) {
                ec = SUCCESS;
                pj->lenient = true;
            }
        }
    }
    if (ec) {
        if (err && errlen)
            std::snprintf(err, errlen, "invalid JSON: %s", error_message(ec));
        return ec == MEMALLOC ? -ENOMEM : -EINVAL;
    }
    switch (pj->root.type()) {
    case dom::element_type::OBJECT: pj->kind = PA_JSON_OBJECT; break;
    case dom::element_type::ARRAY: pj->kind = PA_JSON_ARRAY; break;
    default: pj->kind = PA_JSON_SCALAR; break;
    }
    return 0;
}

extern "C" int pa_json_parse(pa_json *pj, const char *data, size_t len, char *err,
                             size_t errlen)
{
    pj->kind = PA_JSON_NONE;
    if (len > pj->cap) {
        size_t ncap = pj->cap ? pj->cap : 4096;
        while (ncap < len)
            ncap *= 2;
        char *nb = static_cast<char *>(std::realloc(pj->buf, ncap + SIMDJSON_PADDING));
        if (!nb) {
            if (err && errlen)
                std::snprintf(err, errlen, "out of memory for a %zu-byte record", len);
            return -ENOMEM;
        }
        pj->buf = nb;
        pj->cap = ncap;
    }
    if (len)
        std::memcpy(pj->buf, data, len);
    std::memset(pj->buf + len, 0, SIMDJSON_PADDING);
    return s_parse(pj, pj->buf, len, err, errlen);
}

extern "C" int pa_json_parse_padded(pa_json *pj, const char *data, size_t len, char *err,
                                    size_t errlen)
{
    return s_parse(pj, data, len, err, errlen);
}

extern "C" void pa_json_set_max_depth(pa_json *pj, unsigned depth)
{
    pj->max_depth = depth ? depth : 1;
}

extern "C" int pa_json_lenient(const pa_json *pj)
{
    return pj->lenient;
}

extern "C" int pa_json_root_kind(const pa_json *pj)
{
    return pj->kind;
}

/*
 * Two writers behind one s_pack<W>() walk.  s_sbuf appends straight into a
 * msgpack_sbuffer (the common case: the batch frame being built) with
 * inlined bounds checks, so a record costs no call per token; s_generic
 * goes through msgpack_pack_*() for any other packer.  Both produce the
 * same bytes: msgpack-c's smallest encoding of every value.
 */
struct s_generic {
    msgpack_packer *pk;
    bool map(size_t n) { return msgpack_pack_map(pk, n) == 0; }
    bool array(size_t n) { return msgpack_pack_array(pk, n) == 0; }
    bool str(std::string_view s)
    {
        return msgpack_pack_str(pk, s.size()) == 0 &&
               msgpack_pack_str_body(pk, s.data(), s.size()) == 0;
    }
    bool i64(int64_t v) { return msgpack_pack_int64(pk, v) == 0; }
    bool u64(uint64_t v) { return msgpack_pack_uint64(pk, v) == 0; }
    bool f64(double v) { return msgpack_pack_double(pk, v) == 0; }
    bool boolean(bool v) { return (v ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) == 0; }
    bool nil() { return msgpack_pack_nil(pk) == 0; }
};

struct s_sbuf {
    msgpack_sbuffer *sb;

    bool grow(size_t n)
    {
        size_t cap = sb->alloc ? sb->alloc : MSGPACK_SBUFFER_INIT_SIZE;
        while (cap - sb->size < n)
            cap *= 2;
        char *d = static_cast<char *>(std::realloc(sb->data, cap));
        if (!d)
            return false;
        sb->data = d;
        sb->alloc = cap;
        return true;
    }
    /* room for n more bytes; returns the write position or NULL */
    inline unsigned char *room(size_t n)
    {
        if (__builtin_expect(sb->alloc - sb->size < n, 0) && !grow(n))
            return nullptr;
        return reinterpret_cast<unsigned char *>(sb->data + sb->size);
    }
    static inline void be16(unsigned char *p, uint32_t v)
    {
        p[0] = (unsigned char)(v >> 8);
        p[1] = (unsigned char)v;
    }
    static inline void be32(unsigned char *p, uint32_t v)
    {
        p[0] = (unsigned char)(v >> 24);
        p[1] = (unsigned char)(v >> 16);
        p[2] = (unsigned char)(v >> 8);
        p[3] = (unsigned char)v;
    }
    static inline void be64(unsigned char *p, uint64_t v)
    {
        be32(p, (uint32_t)(v >> 32));
        be32(p + 4, (uint32_t)v);
    }
    inline bool hdr(size_t n, unsigned fix, unsigned fixmax, unsigned c8, unsigned c16,
                    unsigned c32)
    {
        unsigned char *p = room(5);
        if (!p)
            return false;
        if (n <= fixmax) {
            p[0] = (unsigned char)(fix | n);
            sb->size += 1;
        } else if (c8 && n < 256) {
            p[0] = (unsigned char)c8;
            p[1] = (unsigned char)n;
            sb->size += 2;
        } else if (n < 65536) {
            p[0] = (unsigned char)c16;
            be16(p + 1, (uint32_t)n);
            sb->size += 3;
        } else {
            p[0] = (unsigned char)c32;
            be32(p + 1, (uint32_t)n);
            sb->size += 5;
        }
        return true;
    }
    inline bool map(size_t n) { return hdr(n, 0x80, 15, 0, 0xde, 0xdf); }
    inline bool array(size_t n) { return hdr(n, 0x90, 15, 0, 0xdc, 0xdd); }
    inline bool str(std::string_view s)
    {
        if (!hdr(s.size(), 0xa0, 31, 0xd9, 0xda, 0xdb))
            return false;
        unsigned char *p = room(s.size());
        if (!p)
            return false;
        std::memcpy(p, s.data(), s.size());
        sb->size += s.size();
        return true;
    }
    inline bool u64(uint64_t v)
    {
        unsigned char *p = room(9);
        if (!p)
            return false;
        if (v < 128) {
            p[0] = (unsigned char)v;
            sb->size += 1;
        } else if (v < 256) {
            p[0] = 0xcc;
            p[1] = (unsigned char)v;
            sb->size += 2;
        } else if (v < 65536) {
            p[0] = 0xcd;
            be16(p + 1, (uint32_t)v);
            sb->size += 3;
        } else if (v < (1ull << 32)) {
            p[0] = 0xce;
            be32(p + 1, (uint32_t)v);
            sb->size += 5;
        } else {
            p[0] = 0xcf;
            be64(p + 1, v);
            sb->size += 9;
        }
        return true;
    }
    inline bool i64(int64_t v)
    {
        if (v >= 0)
            return u64((uint64_t)v);
        unsigned char *p = room(9);
        if (!p)
            return false;
        if (v >= -32) {
            p[0] = (unsigned char)(int8_t)v;
            sb->size += 1;
        } else if (v >= -128) {
            p[0] = 0xd0;
            p[1] = (unsigned char)(int8_t)v;
            sb->size += 2;
        } else if (v >= -32768) {
            p[0] = 0xd1;
            be16(p + 1, (uint32_t)(uint16_t)(int16_t)v);
            sb->size += 3;
        } else if (v >= INT32_MIN) {
            p[0] = 0xd2;
            be32(p + 1, (uint32_t)(int32_t)v);
            sb->size += 5;
        } else {
            p[0] = 0xd3;
            be64(p + 1, (uint64_t)v);
            sb->size += 9;
        }
        return true;
    }
    inline bool f64(double v)
    {
        unsigned char *p = room(9);
        if (!p)
            return false;
        uint64_t u;
        std::memcpy(&u, &v, sizeof u);
        p[0] = 0xcb;
        be64(p + 1, u);
        sb->size += 9;
        return true;
    }
    inline bool one(unsigned char c)
    {
        unsigned char *p = room(1);
        if (!p)
            return false;
        p[0] = c;
        sb->size += 1;
        return true;
    }
    inline bool boolean(bool v) { return one(v ? 0xc3 : 0xc2); }
    inline bool nil() { return one(0xc0); }
};

/* depth: containers still allowed below this one (0 = pack it empty). */
template <class W>
static bool s_pack(W &w, dom::element e, unsigned depth)
{
    switch (e.type()) {
    case dom::element_type::OBJECT: {
        dom::object o;
        if (e.get(o))
            return false;
        if (depth == 0)
            return w.map(0);
        if (!w.map(o.size()))
            return false;
        for (dom::key_value_pair kv : o)
            if (!w.str(kv.key) || !s_pack(w, kv.value, depth - 1))
                return false;
        return true;
    }
    case dom::element_type::ARRAY: {
        dom::array a;
        if (e.get(a))
            return false;
        if (depth == 0)
            return w.array(0);
        if (!w.array(a.size()))
            return false;
        for (dom::element x : a)
            if (!s_pack(w, x, depth - 1))
                return false;
        return true;
    }
    case dom::element_type::STRING: {
        std::string_view s;
        if (e.get(s))
            return false;
        return w.str(s);
    }
    case dom::element_type::INT64: {
        int64_t v;
        if (e.get(v))
            return false;
        return w.i64(v);
    }
    case dom::element_type::UINT64: {
        uint64_t v;
        if (e.get(v))
            return false;
        return w.u64(v);
    }
    case dom::element_type::DOUBLE: {
        double v;
        if (e.get(v))
            return false;
        return w.f64(v);
    }
    case dom::element_type::BOOL: {
        bool v;
        if (e.get(v))
            return false;
        return w.boolean(v);
    }
    case dom::element_type::NULL_VALUE:
        return w.nil();
    }
    return false;
}

extern "C" int pa_json_pack(pa_json *pj, msgpack_packer *pk)
{
    if (pj->kind == PA_JSON_NONE)
        return -EINVAL;
    s_generic w{pk};
    return s_pack(w, pj->root, pj->max_depth) ? 0 : -EIO;
}

extern "C" int pa_json_pack_sbuffer(pa_json *pj, msgpack_sbuffer *sb)
{
    if (pj->kind == PA_JSON_NONE)
        return -EINVAL;
    size_t start = sb->size;
    s_sbuf w{sb};
    if (s_pack(w, pj->root, pj->max_depth))
        return 0;
    sb->size = start;
    return -ENOMEM;
}

extern "C" int pa_json_to_msgpack(pa_json *pj, const char *data, size_t len,
                                  msgpack_packer *pk, char *err, size_t errlen)
{
    int rc = pa_json_parse(pj, data, len, err, errlen);
    if (rc != 0)
        return rc;
    rc = pa_json_pack(pj, pk);
    if (rc != 0 && err && errlen)
        std::snprintf(err, errlen, "msgpack writer failed");
    return rc;
}
