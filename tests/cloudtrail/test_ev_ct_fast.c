/*
 * test_ev_ct_fast.c - the fast paths of the aws_cloudtrail source: json.value
 * answered from the msgpack map, and the inline msgpack key lookup.
 *
 * json.value has two implementations: the msgpack walk (for pointers made of
 * plain object keys) and the raw-JSON walk (everything else).  The spec
 * defines the result on the JSON text, so every case here is checked twice:
 * against the value the spec gives (reasoned, not pasted), and against the
 * raw path alone (the same record with its map hidden, which makes the
 * source fall back).  Records go through the real decoder (simdjson plus its
 * lenient rewrite), so odd escapes, invalid UTF-8 and depth-truncated maps
 * arrive exactly as the evaluator sees them.
 * Owner: cloudtrail fields.
 */
#include <stdlib.h>

#include "ct_fixture.h"
#include "ev_ct_int.h"

/* json.value[ptr] with the map (fast path) and without it (raw path); both
 * must agree in presence and bytes.  Returns the fast path's rc and leaves
 * its value in g_fx.vals. */
static int s_both(const char *ptr)
{
    ev_vals raw;
    int rc_raw;
    const char *map = g_fx.rec.map;

    g_fx.rec.map = NULL;
    rc_raw = ct_get("json.value", ptr);
    raw = g_fx.vals;
    if (raw.n > 0) { /* keep the bytes: the arena lives until the next load */
        raw.vals = raw.inline_vals;
    }
    g_fx.rec.map = map;
    int rc = ct_get("json.value", ptr);
    if ((rc > 0) != (rc_raw > 0) || (rc < 0) != (rc_raw < 0))
        TG_FAIL_("%s: fast rc %d, raw rc %d", ptr, rc, rc_raw);
    if (rc > 0)
        ASSERT_MEM_EQ(g_fx.vals.vals[0].s, g_fx.vals.vals[0].len, raw.vals[0].s,
                      raw.vals[0].len);
    return rc;
}

#define BOTH_STR(ptr, expect)                                                   \
    do {                                                                        \
        if (s_both(ptr) != 1)                                                   \
            TG_FAIL_("%s: expected \"%s\", absent", ptr, expect);               \
        ASSERT_MEM_EQ(g_fx.vals.vals[0].s, g_fx.vals.vals[0].len, expect,       \
                      sizeof(expect) - 1);                                      \
    } while (0)
#define BOTH_ABSENT(ptr)                                                        \
    do {                                                                        \
        if (s_both(ptr) > 0)                                                    \
            TG_FAIL_("%s: expected absent", ptr);                               \
    } while (0)

/* The value borrows from the msgpack buffer (no copy): the fast path ran. */
static bool s_borrowed(void)
{
    const char *s = g_fx.vals.vals[0].s;
    return s >= g_fx.sb.data && s < g_fx.sb.data + g_fx.sb.size;
}

static void test_plain_keys(void)
{
    ct_load("{\"eventName\":\"RunInstances\",\"requestParameters\":{\"instanceType\":"
            "\"p4d.24xlarge\",\"roleName\":\"\",\"tags\":[{\"k\":\"v\"}]},"
            "\"userIdentity\":{\"type\":\"IAMUser\",\"sessionContext\":{\"attributes\":"
            "{\"mfaAuthenticated\":\"true\"}}}}");
    BOTH_STR("/requestParameters/instanceType", "p4d.24xlarge");
    ASSERT(s_borrowed());
    BOTH_STR("/userIdentity/sessionContext/attributes/mfaAuthenticated", "true");
    ASSERT(s_borrowed());
    BOTH_STR("/requestParameters/roleName", "");
    BOTH_STR("eventName", "RunInstances"); /* no leading slash */
    BOTH_ABSENT("/requestParameters/missing");
    BOTH_ABSENT("/missing/instanceType");
    BOTH_ABSENT("/eventName/x");              /* a string on the way */
    BOTH_ABSENT("/requestParameters/instanceType/x");
    BOTH_ABSENT("/requestParameters/");       /* empty key, not present */
    BOTH_ABSENT("/RequestParameters/instanceType"); /* exact case */
}

static void test_duplicates(void)
{
    ct_load("{\"k\":\"first\",\"k\":\"second\",\"o\":{\"x\":1},\"o\":{\"x\":2,\"y\":\"o2\"},"
            "\"n\":{\"a\":\"1\",\"a\":\"2\"}}");
    BOTH_STR("/k", "first");
    BOTH_STR("/n/a", "1");
    BOTH_STR("/o/x", "1");
    BOTH_ABSENT("/o/y"); /* only the first "o" is searched */
}

static void test_escapes(void)
{
    /* Values: JSON escapes are decoded; a key with escapes matches its
     * decoded form. */
    ct_load("{\"s\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\","
            "\"a\\u0062\":\"key-escape\",\"nul\":\"a\\u0000b\"}");
    BOTH_STR("/s", "q\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    BOTH_STR("/ab", "key-escape");
    BOTH_STR("/nul", "a\0b");
    /* Escapes fastjson keeps as written (the decoder's lenient path). */
    ct_load("{\"lone\":\"x\\ud800y\",\"low\":\"x\\udc00y\",\"pair\":\"\\ud800\\u0041z\","
            "\"unk\":\"a\\qb\",\"short\":\"\\u12\",\"k\\ud800\":\"lone-key\"}");
    BOTH_STR("/lone", "x\\ud800y");
    BOTH_STR("/low", "x\\udc00y");
    BOTH_STR("/pair", "\xef\xbf\xbdz"); /* bad pair: U+FFFD, both escapes eaten */
    BOTH_STR("/unk", "a\\qb");
    BOTH_STR("/short", "\\u12");
    BOTH_STR("/k\\ud800", "lone-key");
    /* Raw control bytes are kept. */
    ct_load("{\"tab\":\"a\tb\"}");
    BOTH_STR("/tab", "a\tb");
}

static void test_utf8(void)
{
    /* Invalid UTF-8: the decoder maps it to U+FFFD, fastjson (and the raw
     * path) keeps the byte; json.value must give the byte. */
    ct_load("{\"bad\":\"a\xff" "b\",\"trunc\":\"\xe2\x82\",\"ok\":\"\xc3\xa9\","
            "\"fffd\":\"\xef\xbf\xbd\",\"pua\":\"\xef\x80\x80\"}");
    BOTH_STR("/bad", "a\xff" "b");
    BOTH_STR("/trunc", "\xe2\x82");
    BOTH_STR("/ok", "\xc3\xa9");
    BOTH_STR("/fffd", "\xef\xbf\xbd");
    BOTH_STR("/pua", "\xef\x80\x80");
    /* A non-ASCII pointer segment is left to the raw path. */
    ct_load("{\"\xc3\xa9t\xc3\xa9\":\"summer\",\"b\xff\":\"raw-key\"}");
    BOTH_STR("/\xc3\xa9t\xc3\xa9", "summer");
    BOTH_STR("/b\xff", "raw-key");
    /* The same keys deeper down, so the odd bytes sit in whole words of the
     * pointer rather than in its tail. */
    ct_load("{\"requestParameters\":{\"\xc3\xa9t\xc3\xa9\":\"summer\",\"b\xff" "padded-key\":\"raw-key\","
            "\"b\xef\xbf\xbd\":\"fffd-key\",\"longer/key/with/slashes\":\"slashes\"}}");
    BOTH_STR("/requestParameters/\xc3\xa9t\xc3\xa9", "summer");
    BOTH_STR("/requestParameters/b\xff" "padded-key", "raw-key");
    BOTH_STR("/requestParameters/b\xef\xbf\xbd", "fffd-key");
    BOTH_STR("/requestParameters/longer~1key~1with~1slashes", "slashes");
}

static void test_pointer_escapes(void)
{
    ct_load("{\"a/b\":\"slash\",\"m~n\":\"tilde\",\"~1\":\"lit\",\"x~\":\"trail\"}");
    BOTH_STR("/a~1b", "slash");
    BOTH_STR("/m~0n", "tilde");
    BOTH_STR("/~01", "lit");
    BOTH_STR("/x~", "trail");
    BOTH_ABSENT("/a/b");
}

static void test_non_strings(void)
{
    ct_load("{\"t\":true,\"f\":false,\"n\":null,\"i\":443,\"neg\":-22,\"zero\":0,"
            "\"mzero\":-0,\"fl\":33.0,\"e\":1e2,\"u\":18446744073709551615,"
            "\"imin\":-9223372036854775808,\"big\":123456789012345678901234,"
            "\"o\":{ \"k\" : [ 1 , \"two\" ] },\"emptyo\":{},\"a\":[ 1, {\"x\":\"y\"} ],"
            "\"huge\":1e999}");
    BOTH_STR("/t", "true");
    BOTH_STR("/f", "false");
    BOTH_STR("/n", "null");
    BOTH_STR("/i", "443");
    BOTH_STR("/neg", "-22");
    BOTH_STR("/zero", "0");
    BOTH_STR("/mzero", "-0");
    BOTH_STR("/fl", "33.0");
    BOTH_STR("/e", "1e2");
    BOTH_STR("/u", "18446744073709551615");
    BOTH_STR("/imin", "-9223372036854775808");
    BOTH_STR("/big", "123456789012345678901234");
    BOTH_STR("/huge", "1e999");
    BOTH_STR("/o", "{\"k\":[1,\"two\"]}");
    BOTH_STR("/emptyo", "{}");
    BOTH_ABSENT("/emptyo/x");
    /* Arrays go to the raw path. */
    BOTH_STR("/a", "[1,{\"x\":\"y\"}]");
    BOTH_STR("/a/0", "1");
    BOTH_STR("/a/1/x", "y");
    BOTH_ABSENT("/a/2");
    BOTH_ABSENT("/a/x");
}

static void test_document_shape(void)
{
    /* Not an object or array: an extraction error on both paths. */
    ct_load("{\"a\":\"b\"}");
    g_fx.rec.raw = " {\"a\":\"b\"}";
    g_fx.rec.raw_len = strlen(g_fx.rec.raw);
    ASSERT(s_both("/a") < 0);
}

static void test_depth_limit(void)
{
    /* Containers beyond the decoder's depth limit are packed empty; the
     * raw text still has them and decides. */
    pa_json *pj = pa_json_new();
    ASSERT_NOT_NULL(pj);
    pa_json_set_max_depth(pj, 2);
    static const char j[] = "{\"a\":{\"b\":{\"c\":\"deep\"},\"s\":\"shallow\"}}";
    char err[200];
    msgpack_packer pk;
    msgpack_sbuffer_clear(&g_fx.sb);
    msgpack_packer_init(&pk, &g_fx.sb, msgpack_sbuffer_write);
    ASSERT_EQ(pa_json_to_msgpack(pj, j, strlen(j), &pk, err, sizeof(err)), 0);
    ASSERT_EQ(msgpack_unpack_next(&g_fx.up, g_fx.sb.data, g_fx.sb.size, NULL),
              MSGPACK_UNPACK_SUCCESS);
    g_fx.rec.map = g_fx.sb.data;
    g_fx.rec.map_len = g_fx.sb.size;
    ev_mp_index_reset(&g_fx.index);
    g_fx.rec.raw = j;
    g_fx.rec.raw_len = strlen(j);
    ev_event_reset(&g_fx.evt, &g_fx.rec, 0, ++g_fx.num);
    ev_mp b = ev_mp_map_get(ev_mp_map_get(ev_mp_of(g_fx.rec.map, g_fx.rec.map_len), "a"),
                            "b");
    ASSERT(ev_mp_present(b));
    ASSERT_EQ(ev_mp_type_of(b), EV_MP_MAP);
    ASSERT_EQ(ev_mp_count(b), 0u); /* the premise of this test */
    BOTH_STR("/a/b/c", "deep");
    BOTH_STR("/a/s", "shallow");
    pa_json_free(pj);
}

/* Map keys whose lengths straddle the word sizes of ev_mp_bytes_eq, equal
 * except for one byte at every position; through ev_mp_map_getn() and
 * through a key index. */
static void test_mp_getn(void)
{
    char keys[40][40];
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (size_t n = 0; n <= 33; n++) {
        /* map: every variant of "abc..." of length n with one byte changed,
         * then the key itself with value n */
        msgpack_pack_map(&pk, n + 1);
        for (size_t i = 0; i < n; i++) {
            char k[40];
            for (size_t j = 0; j < n; j++)
                k[j] = (char)('a' + j % 26);
            k[i] = '#';
            msgpack_pack_str(&pk, n);
            msgpack_pack_str_body(&pk, k, n);
            msgpack_pack_uint64(&pk, 1000 + i);
        }
        for (size_t j = 0; j < n; j++)
            keys[n][j] = (char)('a' + j % 26);
        keys[n][n] = '\0';
        msgpack_pack_str(&pk, n);
        msgpack_pack_str_body(&pk, keys[n], n);
        msgpack_pack_uint64(&pk, n);
    }
    const unsigned char *p = (const unsigned char *)sb.data;
    const unsigned char *end = p + sb.size;
    ev_mp_index ix;
    ev_mp_index_reset(&ix);
    for (size_t n = 0; n <= 33; n++) {
        const unsigned char *next = ev_mp_skip(p, end);
        ASSERT_NOT_NULL(next);
        ev_mp m = { p, next };
        for (int use_ix = 0; use_ix < 2; use_ix++) {
#define GETN(k, kn) (use_ix ? ev_mp_index_get(&ix, m, k, kn) : ev_mp_map_getn(m, k, kn))
            uint64_t u = 0;
            ev_mp v = GETN(keys[n], n);
            ASSERT(ev_mp_uint(v, &u));
            ASSERT_U64_EQ(u, n);
            ASSERT(ev_mp_map_get(m, keys[n]).p == v.p);
            /* one byte longer or shorter never matches */
            char longer[41];
            memcpy(longer, keys[n], n);
            longer[n] = 'z';
            ASSERT(!ev_mp_present(GETN(longer, n + 1)));
            if (n > 0) /* nor does a prefix */
                ASSERT(!ev_mp_present(GETN(keys[n], n - 1)));
            for (size_t i = 0; i < n; i++) {
                char k[40];
                memcpy(k, keys[n], n);
                k[i] = '#';
                ASSERT(ev_mp_uint(GETN(k, n), &u));
                ASSERT_U64_EQ(u, 1000 + i);
            }
#undef GETN
        }
        p = next;
    }
    ASSERT(!ev_mp_present(ev_mp_map_getn(ev_mp_of(NULL, 0), "a", 1)));
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    tg_test_state st = {0, 0};
    ct_fx_init();
    TG_RUN(&st, test_plain_keys);
    TG_RUN(&st, test_duplicates);
    TG_RUN(&st, test_escapes);
    TG_RUN(&st, test_utf8);
    TG_RUN(&st, test_pointer_escapes);
    TG_RUN(&st, test_non_strings);
    TG_RUN(&st, test_document_shape);
    TG_RUN(&st, test_depth_limit);
    TG_RUN(&st, test_mp_getn);
    ct_fx_fini();
    TG_DONE(&st);
}
