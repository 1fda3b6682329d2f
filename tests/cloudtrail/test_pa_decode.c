/*
 * test_pa_decode.c - parser/decode: record splitting (Records, bare array,
 * JSON lines), digest skip, oversized records, invalid JSON, empty and
 * non-CloudTrail files, gzip (libdeflate, multi-member via zlib, truncated,
 * corrupt, size limit) and a JSON -> msgpack round trip checked against
 * jansson's parse of the same text.  Owner: record decoding.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>

#include <jansson.h>
#include <msgpack.h>
#include <zlib.h>

#include "pa_decode.h"
#include "tg_test.h"

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif

/* Collector ------------------------------------------------------------------ */

typedef struct coll {
    int n;
    char raw[16][256];
    size_t idx[16];
    int nerr;
    size_t err_idx[16];
    int err_code[16];
    char err_msg[16][256];
    msgpack_sbuffer sb;     /* every record's map, packed back to back */
} coll;

static int c_rec(void *data, const pa_record *rec)
{
    coll *c = data;
    if (c->n < 16) {
        snprintf(c->raw[c->n], sizeof(c->raw[0]), "%.*s", (int)rec->len, rec->raw);
        c->idx[c->n] = rec->index;
    }
    c->n++;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->sb, msgpack_sbuffer_write);
    return pa_record_pack(rec, &pk);
}

static void c_err(void *data, size_t index, int code, const char *msg)
{
    coll *c = data;
    if (c->nerr < 16) {
        c->err_idx[c->nerr] = index;
        c->err_code[c->nerr] = code;
        snprintf(c->err_msg[c->nerr], sizeof(c->err_msg[0]), "%s", msg);
    }
    c->nerr++;
}

static coll g_c;
static char g_err[256];
static pa_decode_stats g_st;

static int run_opts(const char *data, size_t len, const char *name, const pa_decode_opts *o)
{
    msgpack_sbuffer_destroy(&g_c.sb);
    memset(&g_c, 0, sizeof(g_c));
    msgpack_sbuffer_init(&g_c.sb);
    g_err[0] = '\0';
    pa_decode_cb cb = {c_rec, c_err, &g_c};
    return pa_decode_buffer(data, len, name, o, &cb, &g_st, g_err, sizeof(g_err));
}

static int run(const char *text, const char *name)
{
    return run_opts(text, strlen(text), name, NULL);
}

/* Splitting ------------------------------------------------------------------ */

static void test_records_document(void)
{
    const char *doc = "{\"Other\":{\"Records\":[{\"x\":1}]},\n \"Records\" : [\n"
                      "  {\"eventName\":\"A\",\"s\":\"}{][\\\"\"},\n  {\"eventName\":\"B\"}\n],"
                      "\"tail\":[1,2]}";
    ASSERT_EQ(run(doc, "f.json"), PA_OK);
    ASSERT_EQ(g_c.n, 2);
    ASSERT_STR_EQ(g_c.raw[0], "{\"eventName\":\"A\",\"s\":\"}{][\\\"\"}");
    ASSERT_STR_EQ(g_c.raw[1], "{\"eventName\":\"B\"}");
    ASSERT_EQ(g_c.idx[0], 0);
    ASSERT_EQ(g_c.idx[1], 1);
    ASSERT_EQ(g_st.records, 2);
    ASSERT_EQ(g_st.errors, 0);
    ASSERT_EQ(run("{\"Records\":[]}", "e.json"), PA_OK);
    ASSERT_EQ(g_c.n, 0);
    /* Insights records are not filtered. */
    ASSERT_EQ(run("{\"Records\":[{\"eventType\":\"AwsCloudTrailInsight\"}]}", "i"), PA_OK);
    ASSERT_EQ(g_c.n, 1);
    /* Concatenated documents keep numbering. */
    ASSERT_EQ(run("{\"Records\":[{\"a\":1}]}\n{\"Records\":[{\"a\":2},{\"a\":3}]}", "c"), PA_OK);
    ASSERT_EQ(g_c.n, 3);
    ASSERT_EQ(g_c.idx[2], 2);
    /* BOM and blanks before the document. */
    ASSERT_EQ(run("\xef\xbb\xbf \n{\"Records\":[{\"a\":1}]}\n", "bom"), PA_OK);
    ASSERT_EQ(g_c.n, 1);
}

static void test_bare_array(void)
{
    ASSERT_EQ(run(" [ {\"a\":1} , {\"b\":[{}]} ] ", "arr"), PA_OK);
    ASSERT_EQ(g_c.n, 2);
    ASSERT_STR_EQ(g_c.raw[1], "{\"b\":[{}]}");
    /* a non-object element is a per-record error; the rest goes on */
    ASSERT_EQ(run("[{\"a\":1}, 5, {\"c\":3}]", "arr2"), PA_OK);
    ASSERT_EQ(g_c.n, 2);
    ASSERT_EQ(g_c.idx[1], 2);
    ASSERT_EQ(g_c.nerr, 1);
    ASSERT_EQ(g_c.err_idx[0], 1);
    ASSERT(strstr(g_c.err_msg[0], "arr2"));
    ASSERT_EQ(run("[]", "empty-arr"), PA_OK);
    ASSERT_EQ(g_c.n, 0);
}

static void test_jsonl(void)
{
    const char *t = "{\"eventName\":\"A\"}\n\n{\"eventName\": \"B\"}\r\n{\"bad\": tru}\n"
                    "{\"eventName\":\"D\"}";
    ASSERT_EQ(run(t, "lines.jsonl"), PA_OK);
    ASSERT_EQ(g_c.n, 3);
    ASSERT_STR_EQ(g_c.raw[1], "{\"eventName\": \"B\"}");
    ASSERT_EQ(g_c.idx[2], 3);
    ASSERT_EQ(g_c.nerr, 1);
    ASSERT_EQ(g_c.err_idx[0], 2);
    ASSERT_EQ(g_c.err_code[0], PA_ERECORD);
    ASSERT(strstr(g_c.err_msg[0], "lines.jsonl"));
    ASSERT(strstr(g_c.err_msg[0], "record 2"));
    ASSERT_EQ(g_st.errors, 1);
    /* first line broken: still JSON lines */
    ASSERT_EQ(run("{\"eventName\":\n{\"eventName\":\"B\"}\n", "l2"), PA_OK);
    ASSERT_EQ(g_c.n, 1);
    ASSERT_EQ(g_c.nerr, 1);
    /* a single record object */
    ASSERT_EQ(run("{\"eventVersion\":\"1.08\",\"eventName\":\"X\"}\n", "one"), PA_OK);
    ASSERT_EQ(g_c.n, 1);
}

static void test_digest(void)
{
    const char *dg = "{\"awsAccountId\":\"1\",\"digestPublicKeyFingerprint\":\"ab\","
                     "\"logFiles\":[{\"s3Bucket\":\"b\"}]}";
    ASSERT_EQ(run(dg, "x.json"), PA_DIGEST);
    ASSERT_EQ(g_c.n, 0);
    ASSERT_EQ(run("{\"Records\":[{\"a\":1}]}",
                  "AWSLogs/1/CloudTrail-Digest/us-east-1/2023/1_CloudTrail-Digest_x.json.gz"),
              PA_DIGEST);
    ASSERT_EQ(g_c.n, 0);
    /* not a path segment: processed */
    ASSERT_EQ(run("{\"Records\":[{\"a\":1}]}", "AWSLogs/1/CloudTrail/NotCloudTrail-Digest.json"),
              PA_OK);
    ASSERT_EQ(g_c.n, 1);
}

static void test_oversized(void)
{
    char big[600];
    memset(big, 'x', sizeof(big));
    char doc[1024];
    snprintf(doc, sizeof(doc), "{\"Records\":[{\"a\":1},{\"pad\":\"%.*s\"},{\"c\":3}]}",
             500, big);
    pa_decode_opts o = {.max_record = 100};
    ASSERT_EQ(run_opts(doc, strlen(doc), "big.json", &o), PA_OK);
    ASSERT_EQ(g_c.n, 2);
    ASSERT_EQ(g_c.idx[1], 2);
    ASSERT_EQ(g_c.nerr, 1);
    ASSERT_EQ(g_c.err_idx[0], 1);
    ASSERT_EQ(g_c.err_code[0], PA_ETOOBIG);
    ASSERT(strstr(g_c.err_msg[0], "big.json"));
    ASSERT(strstr(g_c.err_msg[0], "record 1"));
    ASSERT_EQ(g_st.oversized, 1);
    ASSERT_EQ(g_st.errors, 1);
    /* default limit is 1 MiB */
    ASSERT_EQ(run_opts(doc, strlen(doc), "big.json", NULL), PA_OK);
    ASSERT_EQ(g_c.n, 3);
}

static void test_invalid_and_empty(void)
{
    ASSERT_EQ(run("", "empty.json"), PA_EEMPTY);
    ASSERT(strstr(g_err, "empty.json"));
    ASSERT_EQ(run(" \n\t ", "blank.json"), PA_EEMPTY);
    ASSERT_EQ(g_c.n, 0);
    /* truncated document: the complete records before the break are kept */
    ASSERT_EQ(run("{\"Records\":[{\"a\":1},{\"b\":", "trunc.json"), PA_EJSON);
    ASSERT(strstr(g_err, "trunc.json"));
    ASSERT_EQ(g_c.n, 1);
    /* broken inside the first record, records at column 0: not JSON lines */
    ASSERT_EQ(run("{\"Records\":[\n{\"a\":1,\n{\"b\":2}]}", "t2.json"), PA_EJSON);
    ASSERT_EQ(g_c.n, 0);
    ASSERT_EQ(run("{\"Records\":[{\"a\":1}]} junk", "junk.json"), PA_EJSON);
    ASSERT_EQ(run("[{\"a\":1}", "a.json"), PA_EJSON);
    ASSERT_EQ(run("nonsense", "n.json"), PA_ENOTCT);
    /* a record that scans but is not JSON: per-record error */
    ASSERT_EQ(run("{\"Records\":[{\"a\":tru},{\"b\":2}]}", "bad.json"), PA_OK);
    ASSERT_EQ(g_c.n, 1);
    ASSERT_EQ(g_c.nerr, 1);
    ASSERT_EQ(g_c.err_idx[0], 0);
    /* not CloudTrail */
    ASSERT_EQ(run("{\"foo\":1,\"bar\":[1,2]}", "other.json"), PA_ENOTCT);
    ASSERT(strstr(g_err, "other.json"));
    ASSERT(strstr(g_err, "Records"));
    ASSERT_EQ(run("{\"Records\":{\"a\":1}}", "rec-obj.json"), PA_ENOTCT);
}

/* gzip ------------------------------------------------------------------------ */

static size_t gz_member(const char *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    ASSERT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    return n;
}

static void test_gzip(void)
{
    const char *doc = "{\"Records\":[{\"eventName\":\"A\"},{\"eventName\":\"B\"}]}";
    unsigned char gz[4096];
    size_t n = gz_member(doc, strlen(doc), gz, sizeof(gz));
    ASSERT(pa_is_gzip(gz, n));
    ASSERT(!pa_is_gzip(doc, strlen(doc)));
    /* the name says .json, the content is gzip: detected by magic */
    ASSERT_EQ(run_opts((const char *)gz, n, "plain-name.json", NULL), PA_OK);
    ASSERT_EQ(g_c.n, 2);
    ASSERT_EQ(g_st.gzip, 1);
    ASSERT_EQ(g_st.bytes_decoded, strlen(doc));
    /* truncated */
    for (size_t cut = 1; cut < n; cut += 7) {
        int rc = run_opts((const char *)gz, n - cut, "t.json.gz", NULL);
        if (rc != PA_EGZIP)
            TG_FAIL_("cut %zu: rc %d", cut, rc);
        ASSERT(strstr(g_err, "t.json.gz"));
    }
    ASSERT_EQ(run_opts((const char *)gz, n - 1, "t.json.gz", NULL), PA_EGZIP);
    ASSERT(strstr(g_err, "truncated") || strstr(g_err, "corrupt"));
    /* corrupt body */
    unsigned char bad[4096];
    memcpy(bad, gz, n);
    for (size_t i = 12; i < n - 8; i++)
        bad[i] ^= 0x55;
    ASSERT_EQ(run_opts((const char *)bad, n, "c.json.gz", NULL), PA_EGZIP);
    /* multi-member: zlib path, both halves */
    const char *p1 = "{\"Records\":[{\"eventName\":\"A\"},";
    const char *p2 = "{\"eventName\":\"B\"}]}";
    unsigned char mm[4096];
    size_t m1 = gz_member(p1, strlen(p1), mm, sizeof(mm));
    size_t m2 = gz_member(p2, strlen(p2), mm + m1, sizeof(mm) - m1);
    ASSERT_EQ(run_opts((const char *)mm, m1 + m2, "mm.json.gz", NULL), PA_OK);
    ASSERT_EQ(g_c.n, 2);
    /* trailing zero padding after the member is ignored */
    unsigned char pad[4096];
    memcpy(pad, gz, n);
    memset(pad + n, 0, 64);
    ASSERT_EQ(run_opts((const char *)pad, n + 64, "pad.json.gz", NULL), PA_OK);
    ASSERT_EQ(g_c.n, 2);
}

static void test_gunzip_direct(void)
{
    /* 1 MiB of repetitive text: ISIZE hint path, then size limit. */
    size_t len = 1 << 20;
    char *src = malloc(len);
    for (size_t i = 0; i < len; i++)
        src[i] = "abcdefgh\n"[i % 9];
    unsigned char *gz = malloc(len);
    size_t n = gz_member(src, len, gz, len);
    pa_gunzip *g = pa_gunzip_new();
    pa_buf out;
    pa_buf_init(&out);
    char err[128];
    ASSERT_EQ(pa_gunzip_run(g, gz, n, &out, 0, err, sizeof(err)), 0);
    ASSERT_EQ(out.len, len);
    ASSERT(memcmp(out.data, src, len) == 0);
    ASSERT_EQ(pa_gunzip_run(g, gz, n, &out, 4096, err, sizeof(err)), -EFBIG);
    /* lying ISIZE trailer (too small): grows and still succeeds */
    gz[n - 4] = 0x10;
    gz[n - 3] = 0x00;
    gz[n - 2] = 0x00;
    gz[n - 1] = 0x00;
    int rc = pa_gunzip_run(NULL, gz, n, &out, 0, err, sizeof(err));
    /* zlib checks ISIZE; libdeflate too: a wrong trailer is corruption */
    ASSERT_EQ(rc, -EINVAL);
    ASSERT_EQ(pa_gunzip_run(g, "\x1f\x8b", 2, &out, 0, err, sizeof(err)), -EINVAL);
    ASSERT_EQ(pa_gunzip_run(g, "plain", 5, &out, 0, err, sizeof(err)), -EINVAL);
    ASSERT(strstr(err, "magic"));
    pa_buf_fini(&out);
    pa_gunzip_free(g);
    free(gz);
    free(src);
}

/* Round trip against jansson ---------------------------------------------- */

static int mp_eq_json(const msgpack_object *o, const json_t *j, char *why, size_t wl)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != json_object_size(j)) {
            snprintf(why, wl, "map size");
            return 0;
        }
        uint32_t i = 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i++];
            if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size != strlen(k) ||
                memcmp(kv->key.via.str.ptr, k, strlen(k)) != 0) {
                snprintf(why, wl, "key %s", k);
                return 0;
            }
            if (!mp_eq_json(&kv->val, v, why, wl))
                return 0;
        }
        return 1;
    }
    case JSON_ARRAY:
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != json_array_size(j)) {
            snprintf(why, wl, "array size");
            return 0;
        }
        for (size_t i = 0; i < json_array_size(j); i++)
            if (!mp_eq_json(&o->via.array.ptr[i], json_array_get(j, i), why, wl))
                return 0;
        return 1;
    case JSON_STRING:
        if (o->type != MSGPACK_OBJECT_STR || o->via.str.size != json_string_length(j) ||
            memcmp(o->via.str.ptr, json_string_value(j), o->via.str.size) != 0) {
            snprintf(why, wl, "string %s", json_string_value(j));
            return 0;
        }
        return 1;
    case JSON_INTEGER: {
        long long v = json_integer_value(j);
        if (v >= 0 ? (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 != (uint64_t)v)
                   : (o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER || o->via.i64 != v)) {
            snprintf(why, wl, "integer %lld", v);
            return 0;
        }
        return 1;
    }
    case JSON_REAL:
        if (o->type != MSGPACK_OBJECT_FLOAT64 || o->via.f64 != json_real_value(j)) {
            snprintf(why, wl, "real %.17g", json_real_value(j));
            return 0;
        }
        return 1;
    case JSON_TRUE:
    case JSON_FALSE:
        return o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean == json_is_true(j);
    case JSON_NULL:
        return o->type == MSGPACK_OBJECT_NIL;
    }
    return 0;
}

/* Decode text, then compare each record's msgpack with jansson's parse. */
static size_t check_roundtrip(const char *text, size_t len, const char *name)
{
    ASSERT_EQ(run_opts(text, len, name, NULL), PA_OK);
    ASSERT_EQ(g_c.nerr, 0);
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    if (!doc)
        TG_FAIL_("jansson: %s: %s", name, je.text);
    json_t *recs = json_object_get(doc, "Records");
    ASSERT_NOT_NULL(recs);
    ASSERT_EQ(json_array_size(recs), (size_t)g_c.n);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    char why[160];
    for (size_t i = 0; i < json_array_size(recs); i++) {
        ASSERT_EQ(msgpack_unpack_next(&up, g_c.sb.data, g_c.sb.size, &off),
                  MSGPACK_UNPACK_SUCCESS);
        if (!mp_eq_json(&up.data, json_array_get(recs, i), why, sizeof(why)))
            TG_FAIL_("%s record %zu differs: %s", name, i, why);
    }
    ASSERT_EQ(off, g_c.sb.size);
    msgpack_unpacked_destroy(&up);
    size_t nrec = json_array_size(recs);
    json_decref(doc);
    return nrec;
}

static void test_roundtrip_builtin(void)
{
    const char *t = "{\"Records\":[{\"s\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\","
                    "\"i\":-42,\"u\":9223372036854775807,\"z\":0,\"d\":33.0,\"e\":1.5e-7,"
                    "\"b\":[true,false,null],\"o\":{\"nested\":{\"k\":[]}},\"empty\":\"\"}]}";
    ASSERT_EQ(check_roundtrip(t, strlen(t), "builtin"), 1);
    /* duplicate keys are all kept, in order (jansson keeps only one) */
    ASSERT_EQ(run("{\"Records\":[{\"k\":1,\"k\":2}]}", "dup"), PA_OK);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ASSERT_EQ(msgpack_unpack_next(&up, g_c.sb.data, g_c.sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    ASSERT_EQ(up.data.type, MSGPACK_OBJECT_MAP);
    ASSERT_EQ(up.data.via.map.size, 2);
    ASSERT_EQ(up.data.via.map.ptr[0].val.via.u64, 1);
    ASSERT_EQ(up.data.via.map.ptr[1].val.via.u64, 2);
    msgpack_unpacked_destroy(&up);
}

static const msgpack_object *mp_key(const msgpack_object *m, const char *k)
{
    for (uint32_t i = 0; i < m->via.map.size; i++)
        if (m->via.map.ptr[i].key.via.str.size == strlen(k) &&
            memcmp(m->via.map.ptr[i].key.via.str.ptr, k, strlen(k)) == 0)
            return &m->via.map.ptr[i].val;
    TG_FAIL_("key %s missing", k);
}

#define MP_STR_EQ(o, lit)                                                       \
    do {                                                                        \
        ASSERT_EQ((o)->type, MSGPACK_OBJECT_STR);                               \
        ASSERT_MEM_EQ((o)->via.str.ptr, (o)->via.str.size, lit, sizeof(lit) - 1); \
    } while (0)

/* Input fastjson accepts and simdjson rejects: rewritten, not dropped. */
static void test_lenient(void)
{
    const char *doc =
        "{\"Records\":[{\"ua\":\"a\\ud800b\",\"n\":18446744073709551616,"
        "\"m\":-9223372036854775809,\"x\":1e400,\"c\":\"a\tb\",\"u\":\"\xff\","
        "\"e\":\"\\x\",\"p\":\"\\ud800\\u0041\",\"ok\":\"\\ud83d\\ude00\",\"i\":7},"
        "{\"broken\":tru}]}";
    ASSERT_EQ(run(doc, "lenient.json"), PA_OK);
    ASSERT_EQ(g_c.n, 1);
    ASSERT_EQ(g_c.nerr, 1);
    ASSERT_EQ(g_c.err_idx[0], 1);
    ASSERT_EQ(g_st.lenient, 1);
    /* the raw bytes are the original ones */
    ASSERT(strstr(g_c.raw[0], "\"a\\ud800b\"") != NULL);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ASSERT_EQ(msgpack_unpack_next(&up, g_c.sb.data, g_c.sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *m = &up.data;
    MP_STR_EQ(mp_key(m, "ua"), "a\\ud800b");           /* lone surrogate kept as text */
    ASSERT_EQ(mp_key(m, "n")->type, MSGPACK_OBJECT_FLOAT64);
    ASSERT(mp_key(m, "n")->via.f64 == 18446744073709551616.0);
    ASSERT_EQ(mp_key(m, "m")->type, MSGPACK_OBJECT_FLOAT64);
    ASSERT(mp_key(m, "m")->via.f64 == -9223372036854775809.0);
    MP_STR_EQ(mp_key(m, "x"), "1e400");                  /* unrepresentable number */
    MP_STR_EQ(mp_key(m, "c"), "a\tb");                   /* raw control byte */
    MP_STR_EQ(mp_key(m, "u"), "\xef\xbf\xbd");          /* invalid UTF-8 */
    MP_STR_EQ(mp_key(m, "e"), "\\x");                   /* unknown escape kept */
    MP_STR_EQ(mp_key(m, "p"), "\xef\xbf\xbd");          /* bad surrogate pair */
    MP_STR_EQ(mp_key(m, "ok"), "\xf0\x9f\x98\x80");
    ASSERT_EQ(mp_key(m, "i")->via.u64, 7);
    msgpack_unpacked_destroy(&up);
}

/* Deep nesting is cut so msgpack-c (32 levels) can still unpack it. */
static void test_depth_limit(void)
{
    char doc[512];
    int k = snprintf(doc, sizeof(doc), "{\"Records\":[{\"a\":1,\"deep\":");
    for (int i = 0; i < 40; i++)
        doc[k++] = '[';
    for (int i = 0; i < 40; i++)
        doc[k++] = ']';
    k += snprintf(doc + k, sizeof(doc) - (size_t)k, ",\"z\":\"end\"}]}");
    ASSERT_EQ(run(doc, "deep"), PA_OK);
    ASSERT_EQ(g_c.n, 1);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ASSERT_EQ(msgpack_unpack_next(&up, g_c.sb.data, g_c.sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    ASSERT_EQ(off, g_c.sb.size);
    ASSERT_EQ(up.data.via.map.size, 3);
    /* root map = level 0; 16 levels of arrays below it, the 16th is empty */
    const msgpack_object *o = &up.data.via.map.ptr[1].val;
    int levels = 1;
    while (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 1) {
        o = &o->via.array.ptr[0];
        levels++;
    }
    ASSERT_EQ(o->type, MSGPACK_OBJECT_ARRAY);
    ASSERT_EQ(o->via.array.size, 0);
    ASSERT_EQ(levels, PA_JSON_MAX_DEPTH);
    ASSERT_EQ(up.data.via.map.ptr[2].val.type, MSGPACK_OBJECT_STR);
    msgpack_unpacked_destroy(&up);
}

static void test_roundtrip_corpus(void)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/corpora/invictus", SHARED_DIR);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "   (no corpus at %s, skipped)\n", dir);
        return;
    }
    struct dirent *de;
    size_t files = 0, recs = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        ASSERT_NOT_NULL(f);
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc((size_t)sz + 1);
        ASSERT_EQ(fread(buf, 1, (size_t)sz, f), (size_t)sz);
        fclose(f);
        recs += check_roundtrip(buf, (size_t)sz, de->d_name);
        files++;
        free(buf);
    }
    closedir(d);
    fprintf(stderr, "   %zu files, %zu records\n", files, recs);
    ASSERT(files > 0);
}

int main(void)
{
    tg_test_state st = {0, 0};
    msgpack_sbuffer_init(&g_c.sb);
    TG_RUN(&st, test_records_document);
    TG_RUN(&st, test_bare_array);
    TG_RUN(&st, test_jsonl);
    TG_RUN(&st, test_digest);
    TG_RUN(&st, test_oversized);
    TG_RUN(&st, test_invalid_and_empty);
    TG_RUN(&st, test_gzip);
    TG_RUN(&st, test_gunzip_direct);
    TG_RUN(&st, test_roundtrip_builtin);
    TG_RUN(&st, test_depth_limit);
    TG_RUN(&st, test_lenient);
    TG_RUN(&st, test_roundtrip_corpus);
    msgpack_sbuffer_destroy(&g_c.sb);
    TG_DONE(&st);
}
