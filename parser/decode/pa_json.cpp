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
    msgpack_sbuffer scratch{};  /* pa_json_records(): one record's map */
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
    msgpack_sbuffer_destroy(&pj->scratch);
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
    /* header and body with one bounds check (the hottest writer) */
    inline __attribute__((always_inline)) bool str(std::string_view s)
    {
        size_t n = s.size(), h;
        unsigned char *p = room(n + 5);
        if (!p)
            return false;
        if (n <= 31) {
            p[0] = (unsigned char)(0xa0 | n);
            h = 1;
        } else if (n < 256) {
            p[0] = 0xd9;
            p[1] = (unsigned char)n;
            h = 2;
        } else if (n < 65536) {
            p[0] = 0xda;
            be16(p + 1, (uint32_t)n);
            h = 3;
        } else {
            p[0] = 0xdb;
            be32(p + 1, (uint32_t)n);
            h = 5;
        }
        s_copy(p + h, s.data(), n);
        sb->size += h + n;
        return true;
    }
    /* Most CloudTrail strings are short: two overlapping fixed-size copies
     * (reading and writing only [0, n)) instead of a call. */
    static inline void s_copy(unsigned char *d, const char *s, size_t n)
    {
        if (n >= 8 && n <= 16) {
            std::memcpy(d, s, 8);
            std::memcpy(d + n - 8, s + n - 8, 8);
        } else if (n > 16 && n <= 32) {
            std::memcpy(d, s, 16);
            std::memcpy(d + n - 16, s + n - 16, 16);
        } else if (n >= 4 && n < 8) {
            std::memcpy(d, s, 4);
            std::memcpy(d + n - 4, s + n - 4, 4);
        } else if (n < 4) {
            for (size_t i = 0; i < n; i++)
                d[i] = (unsigned char)s[i];
        } else {
            std::memcpy(d, s, n);
        }
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

/*
 * The fast path: one linear walk over simdjson's tape (the layout its
 * doc/tape.md documents: a 64-bit word per value, the type in the top
 * byte; '{' and '[' carry the index just past their closing word and, in
 * bits 32-55, their element count, saturated at 0xFFFFFF; strings point
 * into string_buf at a 32-bit length followed by the bytes; 'l', 'u' and
 * 'd' keep their value in the next word).  No recursion and no dom::element
 * per value: this loop was about 3 times cheaper than s_pack() over the DOM
 * API on CloudTrail records.  It produces the same bytes as s_pack();
 * tests/cloudtrail/test_pa_decode.c and the json fuzz target compare them.
 */
static inline uint64_t s_tape_payload(uint64_t word)
{
    return word & internal::JSON_VALUE_MASK;
}

/* Elements of the container at tape[i], counted when the tape saturated. */
static size_t s_tape_count(const uint64_t *tape, size_t i)
{
    size_t n = (size_t)((tape[i] >> 32) & internal::JSON_COUNT_MASK);
    if (n < internal::JSON_COUNT_MASK)
        return n;
    bool obj = (tape[i] >> 56) == '{';
    size_t end = (size_t)(uint32_t)tape[i] - 1, k = i + 1;
    n = 0;
    while (k < end) {
        uint64_t w = tape[k];
        unsigned char t = (unsigned char)(w >> 56);
        if (t == '{' || t == '[')
            k = (size_t)(uint32_t)w;
        else if (t == 'l' || t == 'u' || t == 'd')
            k += 2;
        else
            k += 1;
        n++;
    }
    return obj ? n / 2 : n;
}

/* A writer that writes nothing: counting what s_pack_tape() walks. */
struct s_nowrite {
    bool map(size_t) { return true; }
    bool array(size_t) { return true; }
    bool str(std::string_view) { return true; }
    bool i64(int64_t) { return true; }
    bool u64(uint64_t) { return true; }
    bool f64(double) { return true; }
    bool boolean(bool) { return true; }
    bool nil() { return true; }
};

/* JSON structural characters of a container of n elements besides its
 * brackets: the ',' between elements and, in an object, one ':' each. */
static inline size_t s_separators(bool obj, size_t n)
{
    return (n ? n - 1 : 0) + (obj ? n : 0);
}

/*
 * Pack tape[i..end) (whole values).  With COUNT, *nstruct is increased by
 * the number of structural characters (simdjson's stage-1 index: brackets,
 * ',', ':', and the first byte of each scalar) those values span in the
 * text, so that a caller holding the structural index finds their bytes.
 */
template <bool COUNT, class W>
static bool s_pack_tape(W &w, const dom::document &doc, size_t i, size_t end,
                        unsigned max_depth, size_t *nstruct)
{
    const uint64_t *tape = doc.tape.get();
    const uint8_t *strings = doc.string_buf.get();
    unsigned depth = 0;                 /* open containers */
    size_t ns = 0;
    while (i < end) {
        uint64_t word = tape[i];
        switch ((unsigned char)(word >> 56)) {
        case '{':
        case '[': {
            bool obj = (word >> 56) == '{';
            if (depth >= max_depth) { /* cut: packed empty */
                if (!(obj ? w.map(0) : w.array(0)))
                    return false;
                size_t next = (size_t)(uint32_t)word;
                if (COUNT) {
                    s_nowrite nw;
                    s_pack_tape<true>(nw, doc, i, next, UINT32_MAX, &ns);
                }
                i = next;
                continue;
            }
            size_t n = s_tape_count(tape, i);
            if (!(obj ? w.map(n) : w.array(n)))
                return false;
            if (COUNT)
                ns += 1 + s_separators(obj, n);
            depth++;
            i++;
            continue;
        }
        case '}':
        case ']':
            depth--;
            ns += COUNT;
            i++;
            continue;
        case '"': {
            const uint8_t *p = strings + s_tape_payload(word);
            uint32_t len;
            std::memcpy(&len, p, sizeof len);
            if (!w.str(std::string_view(reinterpret_cast<const char *>(p + 4), len)))
                return false;
            ns += COUNT;
            i++;
            continue;
        }
        case 'l':
            if (!w.i64((int64_t)tape[i + 1]))
                return false;
            ns += COUNT;
            i += 2;
            continue;
        case 'u':
            if (!w.u64(tape[i + 1]))
                return false;
            ns += COUNT;
            i += 2;
            continue;
        case 'd': {
            double v;
            std::memcpy(&v, &tape[i + 1], sizeof v);
            if (!w.f64(v))
                return false;
            ns += COUNT;
            i += 2;
            continue;
        }
        case 't':
        case 'f':
            if (!w.boolean((word >> 56) == 't'))
                return false;
            ns += COUNT;
            i++;
            continue;
        case 'n':
            if (!w.nil())
                return false;
            ns += COUNT;
            i++;
            continue;
        default:
            return false;               /* not a tape we know */
        }
    }
    if (COUNT)
        *nstruct += ns;
    return true;
}

extern "C" int pa_json_pack_sbuffer(pa_json *pj, msgpack_sbuffer *sb)
{
    if (pj->kind == PA_JSON_NONE)
        return -EINVAL;
    size_t start = sb->size;
    s_sbuf w{sb};
    /* tape[0] points one past the closing root word */
    size_t end = (size_t)s_tape_payload(pj->parser.doc.tape[0]) - 1;
    if (s_pack_tape<false>(w, pj->parser.doc, 1, end, pj->max_depth, nullptr))
        return 0;
    sb->size = start;
    return -ENOMEM;
}

extern "C" int pa_json_pack_sbuffer_dom(pa_json *pj, msgpack_sbuffer *sb)
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

/*
 * The one-pass path: ONE DOM parse of the whole document (the same
 * runtime-dispatched parser and so the same validation as a record parsed
 * alone: a document that parses has records that parse), then the tape
 * walk above over each element of Records.  The raw span of a record is
 * read off simdjson's stage-1 structural index, which the parser keeps
 * after parsing (its document_stream reads it the same way): the walk
 * counts the structural characters of each record, so record r+1 starts
 * that many (plus its ',') after record r.
 */
static inline unsigned char s_tag(uint64_t word)
{
    return (unsigned char)(word >> 56);
}

extern "C" int pa_json_records(pa_json *pj, const char *text, size_t len, size_t max_record,
                               pa_json_record_fn fn, void *data, size_t *done)
{
    *done = 0;
    pj->kind = PA_JSON_NONE;            /* the parser no longer holds a record */
    dom::element root;
    if (pj->parser.parse(text, len, false).get(root))
        return PA_JSON_FAST_BAIL;
    const dom::document &doc = pj->parser.doc;
    const uint64_t *tape = doc.tape.get();
    const uint32_t *si = pj->parser.implementation->structural_indexes.get();
    size_t nsi = pj->parser.implementation->n_structural_indexes;
    /* {"Records":[ : tape root, '{', key, '['; structurals { " : [ */
    if (s_tag(tape[1]) != '{' || s_tag(tape[2]) != '"' || s_tag(tape[3]) != '[' ||
        nsi < 5 || std::memcmp(text + si[1], "\"Records\"", 9) != 0)
        return PA_JSON_FAST_BAIL;
    size_t i = 4, k = 4, aend = (size_t)(uint32_t)tape[3] - 1;
    while (i < aend) {
        size_t next = (size_t)(uint32_t)tape[i], ns = 0;
        if (s_tag(tape[i]) != '{')
            return PA_JSON_FAST_BAIL;   /* not an object: the reference says so */
        pj->scratch.size = 0;
        s_sbuf w{&pj->scratch};
        if (!s_pack_tape<true>(w, doc, i, next, pj->max_depth, &ns) || k + ns > nsi)
            return PA_JSON_FAST_BAIL;
        const char *raw = text + si[k], *last = text + si[k + ns - 1];
        if (*raw != '{' || *last != '}' || last < raw ||
            (size_t)(last - raw) + 1 > max_record)
            return PA_JSON_FAST_BAIL;
        size_t rlen = (size_t)(last - raw) + 1;
        int rc = fn(data, raw, rlen, pj->scratch.data, pj->scratch.size);
        if (rc != 0)
            return rc;
        ++*done;
        i = next;
        k += ns + 1;
    }
    return 0;
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
