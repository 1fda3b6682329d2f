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
    int mismatch;           /* records the three packers disagree on */
    msgpack_sbuffer trace;  /* every callback in order: index, raw, map, errors */
    int nfast;              /* records that came by the one-pass path */
} coll;

/* Appends one callback to the trace: kind, index, code, then two blobs. */
static void c_trace(coll *c, char kind, size_t index, int code, const char *a, size_t alen,
                    const char *b, size_t blen)
{
    msgpack_sbuffer_write(&c->trace, &kind, 1);
    msgpack_sbuffer_write(&c->trace, (const char *)&index, sizeof index);
    msgpack_sbuffer_write(&c->trace, (const char *)&code, sizeof code);
    msgpack_sbuffer_write(&c->trace, (const char *)&alen, sizeof alen);
    msgpack_sbuffer_write(&c->trace, a, alen);
    msgpack_sbuffer_write(&c->trace, (const char *)&blen, sizeof blen);
    msgpack_sbuffer_write(&c->trace, b, blen);
}

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
    size_t start = c->sb.size;
    int rc = pa_record_pack(rec, &pk);
    if (rc != 0)
        return rc;
    /* The frame path (tape walk) and the DOM walk must give the very bytes
     * of the generic packer. */
    msgpack_sbuffer tape, dom;
    msgpack_sbuffer_init(&tape);
    msgpack_sbuffer_init(&dom);
    /* a record of the one-pass path comes packed (json is NULL) */
    c->nfast += rec->packed != NULL;
    if ((rec->json == NULL) == (rec->packed == NULL) || pa_record_pack_sbuffer(rec, &tape) != 0 ||
        (rec->json && pa_json_pack_sbuffer_dom(rec->json, &dom) != 0) ||
        tape.size != c->sb.size - start || (rec->json && dom.size != tape.size) ||
        memcmp(tape.data, c->sb.data + start, tape.size) != 0 ||
        (rec->json && memcmp(dom.data, tape.data, tape.size) != 0))
        c->mismatch++;
    c_trace(c, 'R', rec->index, 0, rec->raw, rec->len, c->sb.data + start, c->sb.size - start);
    msgpack_sbuffer_destroy(&tape);
    msgpack_sbuffer_destroy(&dom);
    return 0;
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
    c_trace(c, 'E', index, code, msg, strlen(msg), "", 0);
}

static coll g_c;
static char g_err[256];
static pa_decode_stats g_st;
static size_t g_runs_fast;  /* differential runs where the one-pass path delivered */

static void c_reset(coll *c)
{
    msgpack_sbuffer_destroy(&c->sb);
    msgpack_sbuffer_destroy(&c->trace);
    memset(c, 0, sizeof(*c));
    msgpack_sbuffer_init(&c->sb);
    msgpack_sbuffer_init(&c->trace);
}

static int run_once(const char *data, size_t len, const char *name, const pa_decode_opts *o,
                    coll *c, pa_decode_stats *st, char *err, size_t errlen)
{
    c_reset(c);
    err[0] = '\0';
    pa_decode_cb cb = {c_rec, c_err, c};
    int rc = pa_decode_buffer(data, len, name, o, &cb, st, err, errlen);
    ASSERT_EQ(c->mismatch, 0);
    return rc;
}

/*
 * Differential: the reference path (opts.reference) and the default path
 * (one-pass when it applies) must give the same return value, message,
 * stats and callbacks (record indexes, raw bytes, msgpack bytes, errors),
 * in the same order.  g_c/g_err/g_st keep the default path's results.
 */
static int run_opts(const char *data, size_t len, const char *name, const pa_decode_opts *o)
{
    static coll ref;
    char rerr[256];
    pa_decode_stats rst;
    pa_decode_opts ro = o ? *o : (pa_decode_opts){0};
    ro.reference = 1;
    int rrc = run_once(data, len, name, &ro, &ref, &rst, rerr, sizeof(rerr));
    ASSERT_EQ(ref.nfast, 0);
    ro.reference = 0;
    int rc = run_once(data, len, name, &ro, &g_c, &g_st, g_err, sizeof(g_err));
    ASSERT_EQ(rc, rrc);
    ASSERT_STR_EQ(g_err, rerr);
    ASSERT_EQ(g_c.n, ref.n);
    ASSERT_EQ(g_c.nerr, ref.nerr);
    ASSERT_EQ(g_c.trace.size, ref.trace.size);
    if (ref.trace.size) /* empty traces have no buffer */
        ASSERT_MEM_EQ(g_c.trace.data, g_c.trace.size, ref.trace.data, ref.trace.size);
    ASSERT_MEM_EQ(&g_st, sizeof(g_st), &rst, sizeof(rst));
    g_runs_fast += g_c.nfast > 0;
    return rc;
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

/* Every msgpack header width: maps and arrays past 15 and 65535 entries,
 * strings past 31, 255 and 65535 bytes, integers of every size and sign. */
static void test_roundtrip_wide(void)
{
    size_t cap = 1u << 20, k = 0;
    char *t = malloc(cap);
    ASSERT_NOT_NULL(t);
    k += (size_t)snprintf(t + k, cap - k, "{\"Records\":[{");
    for (int i = 0; i < 20; i++)
        k += (size_t)snprintf(t + k, cap - k, "\"k%d\":%d,", i, i);
    static const char *const ints[] = {"0", "127", "128", "255", "256", "65535", "65536",
                                       "4294967295", "4294967296", "9223372036854775807",
                                       "-1", "-32", "-33", "-128", "-129", "-32768",
                                       "-32769", "-2147483648", "-2147483649",
                                       "-9223372036854775808"};
    k += (size_t)snprintf(t + k, cap - k, "\"ints\":[");
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        k += (size_t)snprintf(t + k, cap - k, "%s%s", i ? "," : "", ints[i]);
    k += (size_t)snprintf(t + k, cap - k, "],\"many\":[");
    for (int i = 0; i < 70000; i++)
        k += (size_t)snprintf(t + k, cap - k, "%s%d", i ? "," : "", i % 3);
    k += (size_t)snprintf(t + k, cap - k, "]");
    static const size_t lens[] = {31, 32, 255, 256, 65535, 65536};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        k += (size_t)snprintf(t + k, cap - k, ",\"s%zu\":\"", lens[i]);
        memset(t + k, 'x', lens[i]);
        k += lens[i];
        t[k++] = '"';
    }
    k += (size_t)snprintf(t + k, cap - k, "}]}");
    pa_decode_opts o = {.max_record = cap};
    ASSERT_EQ(run_opts(t, k, "wide", &o), PA_OK);
    ASSERT_EQ(g_c.n, 1);
    ASSERT_EQ(check_roundtrip(t, k, "wide"), 1);
    free(t);
    /* uint64 (beyond jansson): the packers still agree (run_opts checks) */
    ASSERT_EQ(run("{\"Records\":[{\"u\":18446744073709551615,\"v\":[9223372036854775808]}]}",
                  "u64"), PA_OK);
    ASSERT_EQ(g_c.n, 1);
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

/* One-pass path vs reference path ------------------------------------------ */

/* Text and its gzip, both through run_opts() (which compares the paths). */
static int run_both(const char *text, size_t len, const char *name, const pa_decode_opts *o)
{
    size_t cap = len + len / 2 + 256;
    unsigned char *gz = malloc(cap);
    ASSERT_NOT_NULL(gz);
    size_t gl = gz_member(text, len, gz, cap);
    int grc = run_opts((const char *)gz, gl, name, o);
    free(gz);
    int rc = run_opts(text, len, name, o);
    ASSERT_EQ(grc, rc);
    return rc;
}

static int run_both_s(const char *text, const char *name)
{
    return run_both(text, strlen(text), name, NULL);
}

static int s_stop_at;   /* c_stop: stop decoding at this record */

static int c_stop(void *data, const pa_record *rec)
{
    int rc = c_rec(data, rec);
    return rc != 0 ? rc : rec->index == (size_t)s_stop_at ? -4242 : 0;
}

static void test_fast_hard_cases(void)
{
    static const char *const docs[] = {
        /* standard, escapes, valid surrogate pair, keys with escapes */
        "{\"Records\":[{\"a\":\"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\\u0000\\u00e9\\ud83d\\ude00\","
        "\"k\\u0041\":1,\"\":\"\"}]}",
        /* lone surrogate in record 1: lenient retry on the reference path */
        "{\"Records\":[{\"a\":1},{\"ua\":\"a\\ud800b\"},{\"c\":3}]}",
        /* invalid UTF-8 in one record */
        "{\"Records\":[{\"a\":1},{\"u\":\"\xff\xfe\"},{\"c\":\"\xc3\xa9\"}]}",
        /* raw control characters */
        "{\"Records\":[{\"a\":1},{\"c\":\"a\tb\x01\"},{\"c\":3}]}",
        /* numbers at and beyond int64/uint64, 1e400, -0, floats */
        "{\"Records\":[{\"n\":[9223372036854775807,9223372036854775808,-9223372036854775808,"
        "18446744073709551615,0,-0,-0.0,1.0,1E5,1e-5,2.5e+3,1.7976931348623157e308,5e-324]}]}",
        "{\"Records\":[{\"a\":1},{\"n\":18446744073709551616},{\"m\":-9223372036854775809}]}",
        "{\"Records\":[{\"a\":1},{\"x\":1e400},{\"y\":-1e400}]}",
        "{\"Records\":[{\"a\":01},{\"b\":1.},{\"c\":.5},{\"d\":+1},{\"e\":1e},{\"f\":2}]}",
        /* duplicate keys */
        "{\"Records\":[{\"k\":1,\"k\":2,\"k\":{\"k\":[1,1]}}]}",
        /* empty Records, whitespace and newlines between records */
        "{\"Records\":[]}",
        " \r\n\t{ \"Records\" :\n[\n]\n}\n\n",
        "{\"Records\" : [ {\"a\":1} ,\n\n\t{\"b\":2}\r\n,{}\n ] }\n",
        /* a record that is not an object */
        "{\"Records\":[{\"a\":1},5,\"s\",[1],null,{\"b\":2}]}",
        "{\"Records\":[7]}",
        /* truncated document, trailing garbage */
        "{\"Records\":[{\"a\":1},{\"b\":2}",
        "{\"Records\":[{\"a\":1},{\"b\":2}]",
        "{\"Records\":[{\"a\":1},{\"b\":",
        "{\"Records\":[{\"a\":1},{\"b\":2}]}junk",
        "{\"Records\":[{\"a\":1},{\"b\":2}]} {\"x\":1}",
        "{\"Records\":[{\"a\":1},{\"b\":2}]}\n{\"Records\":[{\"c\":3}]}",
        "{\"Records\":[{\"a\":1} {\"b\":2}]}",
        "{\"Records\":[{\"a\":1},,{\"b\":2}]}",
        "{\"Records\":[{\"a\":1},{\"b\":2},]}",
        "{\"Records\":[{\"a\":1},{\"b\":tru},{\"c\":3}]}",
        "{\"Records\":[{\"a\":1},{\"b\":2}}]}",
        /* Records not first, nested Records, escaped Records key */
        "{\"x\":1,\"Records\":[{\"a\":1}]}",
        "{\"Records\":[{\"Records\":[{\"a\":1}],\"b\":{\"Records\":2}}]}",
        "{\"Rec\\u006frds\":[{\"a\":1}]}",
        "{\"Records\":[{\"a\":1}],\"Records\":[{\"b\":2}]}",
        "{\"Records\":[{\"a\":1}],\"tail\":{\"x\":[1,2]}}",
        "{\"Records\":{\"a\":1}}",
        "{\"Records\":5}",
        /* byte order mark, JSON lines, bare array, digest-like */
        "\xef\xbb\xbf{\"Records\":[{\"a\":1}]}",
        "{\"eventVersion\":\"1\"}\n{\"eventVersion\":\"2\"}\n",
        "[{\"a\":1},{\"b\":2}]",
        "{\"digestPublicKeyFingerprint\":\"x\",\"logFiles\":[]}",
        /* structural characters inside strings */
        "{\"Records\":[{\"s\":\"}]},{\\\"\"},{\"t\":\"[{\\\\\"}]}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "hard%zu.json", i);
        (void)run_both_s(docs[i], name);
    }
    /* the ordinary ones went the one-pass way */
    size_t before = g_runs_fast;
    ASSERT_EQ(run_both_s(docs[0], "h0"), PA_OK);
    ASSERT_EQ(g_runs_fast, before + 2);
    /* the fast path's records, then the reference path from the bad one */
    ASSERT_EQ(run_opts(docs[6], strlen(docs[6]), "h6", NULL), PA_OK);
    ASSERT_EQ(g_c.n, 3);
    ASSERT_EQ(g_st.lenient, 2);

    /* deep nesting beyond the cut, with an error below the cut */
    char deep[4096];
    for (int bad = 0; bad < 2; bad++) {
        int k = snprintf(deep, sizeof(deep), "{\"Records\":[{\"a\":1},{\"d\":");
        for (int j = 0; j < 40; j++)
            k += snprintf(deep + k, sizeof(deep) - (size_t)k, "{\"k\":[");
        k += snprintf(deep + k, sizeof(deep) - (size_t)k, "%s", bad ? "tru" : "1,\"x\",2.5");
        for (int j = 0; j < 40; j++)
            k += snprintf(deep + k, sizeof(deep) - (size_t)k, "]}");
        k += snprintf(deep + k, sizeof(deep) - (size_t)k, "},{\"z\":2}]}");
        ASSERT_EQ(run_both(deep, (size_t)k, "deep", NULL), PA_OK);
        ASSERT_EQ(g_c.n, bad ? 2 : 3);
    }
    /* nesting past simdjson's own depth limit (1024) */
    size_t cap = 8192, k = 0;
    char *dd = malloc(cap);
    ASSERT_NOT_NULL(dd);
    k += (size_t)snprintf(dd, cap, "{\"Records\":[{\"a\":1},{\"d\":");
    for (int j = 0; j < 1100; j++)
        dd[k++] = '[';
    for (int j = 0; j < 1100; j++)
        dd[k++] = ']';
    k += (size_t)snprintf(dd + k, cap - k, "},{\"z\":2}]}");
    (void)run_both(dd, k, "deeper", NULL);
    free(dd);

    /* an oversized record in the middle; limits at a record's exact size */
    const char *ov =
        "{\"Records\":[{\"a\":1},{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},{\"c\":3}]}";
    for (size_t lim = 36; lim <= 46; lim++) {
        pa_decode_opts o = {.max_record = lim};
        (void)run_both(ov, strlen(ov), "ov", &o);
    }
    pa_decode_opts o3 = {.max_record = 3};
    ASSERT_EQ(run_both(ov, strlen(ov), "ov3", &o3), PA_OK);
    ASSERT_EQ(g_c.n, 0);
    ASSERT_EQ(g_st.oversized, 3);

    /* a callback that stops: the same rc, the same records delivered */
    const char *stop = "{\"Records\":[{\"a\":0},{\"a\":1},{\"a\":2},{\"a\":3}]}";
    for (int ref = 0; ref < 2; ref++) {
        coll c;
        memset(&c, 0, sizeof(c));
        c_reset(&c);
        pa_decode_opts o = {.reference = ref};
        pa_decode_cb cb = {c_stop, c_err, &c};
        s_stop_at = 2;
        char err[128];
        ASSERT_EQ(pa_decode_buffer(stop, strlen(stop), "stop", &o, &cb, NULL, err, sizeof(err)),
                  -4242);
        ASSERT_EQ(c.n, 3);
        ASSERT_EQ(c.nfast, ref ? 0 : 3);
        msgpack_sbuffer_destroy(&c.sb);
        msgpack_sbuffer_destroy(&c.trace);
    }
}

/* Generated CloudTrail-like files (the shapes of bench/gen), some with one
 * fault injected into one record. */
static uint64_t s_rng(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

static void gen_value(char *t, size_t cap, size_t *k, uint64_t *rng, int depth)
{
    static const char *const scalars[] = {
        "\"s3.amazonaws.com\"", "\"arn:aws:iam::123456789012:user/al\\u00efce\"", "true",
        "false", "null", "0", "-1", "42", "3.25", "1e-3", "9223372036854775808",
        "\"Mozilla/5.0 (X11; Linux) \\\"q\\\" \\\\ \\ud83d\\ude00\"", "\"\"",
        "\"caf\xc3\xa9 \xe2\x82\xac\"", "-0", "123456789012345678"};
    unsigned r = (unsigned)(s_rng(rng) % 10);
    if (depth > 22 || r < 6) {
        *k += (size_t)snprintf(t + *k, cap - *k, "%s",
                               scalars[s_rng(rng) % (sizeof(scalars) / sizeof(scalars[0]))]);
        return;
    }
    bool obj = r < 8;
    unsigned n = (unsigned)(s_rng(rng) % (depth < 2 ? 20 : 5));
    t[(*k)++] = obj ? '{' : '[';
    for (unsigned i = 0; i < n && *k < cap - 4096; i++) {
        if (i)
            *k += (size_t)snprintf(t + *k, cap - *k, "%s", s_rng(rng) % 4 ? "," : " ,\n ");
        if (obj)
            *k += (size_t)snprintf(t + *k, cap - *k, "\"k%u\":", (unsigned)(s_rng(rng) % 30));
        gen_value(t, cap, k, rng, depth + 1);
    }
    t[(*k)++] = obj ? '}' : ']';
}

static void test_fast_generated(void)
{
    static const char *const faults[] = {"\"\xff\"", "\"a\x02\"", "1e400", "18446744073709551616",
                                         "tru", "\"\\ud800\"", "\"\\q\"", "[1,]", "01"};
    size_t cap = 1u << 20;
    char *t = malloc(cap);
    ASSERT_NOT_NULL(t);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    size_t runs_fast = g_runs_fast;
    for (int f = 0; f < 120; f++) {
        size_t k = (size_t)snprintf(t, cap, "{\"Records\":[");
        unsigned nrec = (unsigned)(s_rng(&rng) % 12);
        int fault = f % 3 == 0 ? (int)(s_rng(&rng) % 9) : -1;
        unsigned fault_rec = nrec ? (unsigned)(s_rng(&rng) % nrec) : 0;
        for (unsigned r = 0; r < nrec && k < cap / 2; r++) {
            k += (size_t)snprintf(t + k, cap - k,
                                  "%s{\"eventVersion\":\"1.08\","
                                  "\"eventTime\":\"2023-0%u-01T00:00:00Z\","
                                  "\"n\":%u,\"requestParameters\":",
                                  r ? (s_rng(&rng) % 2 ? "," : ",\n") : "", r % 9 + 1, r);
            gen_value(t, cap, &k, &rng, 1);
            if (fault >= 0 && r == fault_rec)
                k += (size_t)snprintf(t + k, cap - k, ",\"bad\":%s", faults[fault]);
            t[k++] = '}';
        }
        k += (size_t)snprintf(t + k, cap - k, "]}\n");
        char name[32];
        snprintf(name, sizeof(name), "gen%d.json", f);
        pa_decode_opts o = {.max_record = f % 5 == 0 ? 600 : 0};
        (void)run_both(t, k, name, &o);
    }
    free(t);
    fprintf(stderr, "   %zu of 240 runs took the one-pass path\n", g_runs_fast - runs_fast);
    ASSERT(g_runs_fast - runs_fast > 100);
}

/* Every file under ../shared/corpora, as it is (gzip or not). */
static void s_corpora_walk(const char *dir, size_t *files, size_t *recs)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            s_corpora_walk(path, files, recs);
            continue;
        }
        if (!S_ISREG(sb.st_mode) || sb.st_size > (64 << 20))
            continue;
        FILE *f = fopen(path, "rb");
        ASSERT_NOT_NULL(f);
        char *buf = malloc((size_t)sb.st_size + 1);
        ASSERT_NOT_NULL(buf);
        ASSERT_EQ(fread(buf, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
        fclose(f);
        (void)run_opts(buf, (size_t)sb.st_size, path, NULL);
        *recs += (size_t)g_c.n;
        (*files)++;
        free(buf);
    }
    closedir(d);
}

static void test_fast_shared_corpora(void)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/corpora", SHARED_DIR);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        fprintf(stderr, "   (no corpora at %s, skipped)\n", dir);
        return;
    }
    size_t files = 0, recs = 0, before = g_runs_fast;
    s_corpora_walk(dir, &files, &recs);
    fprintf(stderr, "   %zu files, %zu records, %zu by the one-pass path\n", files, recs,
            g_runs_fast - before);
    ASSERT(files > 0);
}

int main(void)
{
    tg_test_state st = {0, 0};
    c_reset(&g_c);
    TG_RUN(&st, test_records_document);
    TG_RUN(&st, test_bare_array);
    TG_RUN(&st, test_jsonl);
    TG_RUN(&st, test_digest);
    TG_RUN(&st, test_oversized);
    TG_RUN(&st, test_invalid_and_empty);
    TG_RUN(&st, test_gzip);
    TG_RUN(&st, test_gunzip_direct);
    TG_RUN(&st, test_roundtrip_builtin);
    TG_RUN(&st, test_roundtrip_wide);
    TG_RUN(&st, test_depth_limit);
    TG_RUN(&st, test_lenient);
    TG_RUN(&st, test_roundtrip_corpus);
    TG_RUN(&st, test_fast_hard_cases);
    TG_RUN(&st, test_fast_generated);
    TG_RUN(&st, test_fast_shared_corpora);
    msgpack_sbuffer_destroy(&g_c.sb);
    msgpack_sbuffer_destroy(&g_c.trace);
    TG_DONE(&st);
}
