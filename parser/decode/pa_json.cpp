/*
 * pa_json.cpp - the simdjson adapter behind pa_json.h.  Owner: record
 * decoding.  Uses simdjson's error-code API only (no exceptions escape).
 */
#include "pa_json.h"
#include "pa_jsonfix.h"

#include <cerrno>
#include <cstdio>
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
    pj->lenient = false;
    error_code ec = pj->parser.parse(pj->buf, len, false).get(pj->root);
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
        size_t n = pa_jsonfix(data, len, pj->fix, &nfix);
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

static int s_str(msgpack_packer *pk, std::string_view s)
{
    if (msgpack_pack_str(pk, s.size()) != 0)
        return -1;
    return msgpack_pack_str_body(pk, s.data(), s.size());
}

/* depth: containers still allowed below this one (0 = pack it empty). */
static int s_pack(msgpack_packer *pk, dom::element e, unsigned depth)
{
    switch (e.type()) {
    case dom::element_type::OBJECT: {
        dom::object o;
        if (e.get(o))
            return -1;
        if (depth == 0)
            return msgpack_pack_map(pk, 0);
        if (msgpack_pack_map(pk, o.size()) != 0)
            return -1;
        for (dom::key_value_pair kv : o)
            if (s_str(pk, kv.key) != 0 || s_pack(pk, kv.value, depth - 1) != 0)
                return -1;
        return 0;
    }
    case dom::element_type::ARRAY: {
        dom::array a;
        if (e.get(a))
            return -1;
        if (depth == 0)
            return msgpack_pack_array(pk, 0);
        if (msgpack_pack_array(pk, a.size()) != 0)
            return -1;
        for (dom::element x : a)
            if (s_pack(pk, x, depth - 1) != 0)
                return -1;
        return 0;
    }
    case dom::element_type::STRING: {
        std::string_view s;
        if (e.get(s))
            return -1;
        return s_str(pk, s);
    }
    case dom::element_type::INT64: {
        int64_t v;
        if (e.get(v))
            return -1;
        return msgpack_pack_int64(pk, v);
    }
    case dom::element_type::UINT64: {
        uint64_t v;
        if (e.get(v))
            return -1;
        return msgpack_pack_uint64(pk, v);
    }
    case dom::element_type::DOUBLE: {
        double v;
        if (e.get(v))
            return -1;
        return msgpack_pack_double(pk, v);
    }
    case dom::element_type::BOOL: {
        bool v;
        if (e.get(v))
            return -1;
        return v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    }
    case dom::element_type::NULL_VALUE:
        return msgpack_pack_nil(pk);
    }
    return -1;
}

extern "C" int pa_json_pack(pa_json *pj, msgpack_packer *pk)
{
    if (pj->kind == PA_JSON_NONE)
        return -EINVAL;
    return s_pack(pk, pj->root, pj->max_depth) == 0 ? 0 : -EIO;
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
