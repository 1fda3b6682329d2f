/*
 * test_ev_mp.c - the read-only msgpack cursor (evaluator/cloudtrail/ev_mp):
 * every type and width, skip, lookups (first duplicate wins, string keys
 * only), deep nesting, truncated and hostile bytes, iteration and the key
 * index (walked, over 64 keys, and from a scanner's pair table).
 * Owner: cloudtrail fields.  Expected values come from the msgpack spec.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "ev_mp.h"
#include "tg_test.h"

/* Bytes of one value, written by hand (u: unsigned char literals). */
#define V(...) ((const unsigned char[]){__VA_ARGS__})
#define VLEN(...) sizeof((const unsigned char[]){__VA_ARGS__})
#define MP(...) ev_mp_of(V(__VA_ARGS__), VLEN(__VA_ARGS__))

/* The value is one complete object: skip lands exactly on its end. */
static void s_whole(ev_mp v)
{
    ASSERT(ev_mp_skip(v.p, v.end) == v.end);
}

static void test_scalars(void)
{
    uint64_t u = 0;
    int64_t i = 0;
    double d = 0;
    bool b = true;
    ASSERT_EQ(ev_mp_type_of(MP(0xc0)), EV_MP_NIL);
    ASSERT(ev_mp_bool(MP(0xc2), &b) && !b);
    ASSERT(ev_mp_bool(MP(0xc3), &b) && b);
    /* unsigned: fixint, uint8/16/32/64 */
    ASSERT(ev_mp_uint(MP(0x7f), &u) && u == 127);
    ASSERT(ev_mp_uint(MP(0xcc, 0xff), &u) && u == 255);
    ASSERT(ev_mp_uint(MP(0xcd, 0x01, 0x00), &u) && u == 256);
    ASSERT(ev_mp_uint(MP(0xce, 0x00, 0x01, 0x00, 0x00), &u) && u == 65536);
    ASSERT(ev_mp_uint(MP(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), &u));
    ASSERT_U64_EQ(u, UINT64_MAX);
    /* signed: negative fixint, int8/16/32/64 */
    ASSERT(ev_mp_int(MP(0xff), &i) && i == -1);
    ASSERT(ev_mp_int(MP(0xe0), &i) && i == -32);
    ASSERT(ev_mp_int(MP(0xd0, 0x80), &i) && i == -128);
    ASSERT(ev_mp_int(MP(0xd1, 0x80, 0x00), &i) && i == -32768);
    ASSERT(ev_mp_int(MP(0xd2, 0xff, 0xff, 0xff, 0xfe), &i) && i == -2);
    ASSERT(ev_mp_int(MP(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), &i) && i == INT64_MIN);
    /* a signed encoding of a non-negative number is unsigned (msgpack-c) */
    ASSERT_EQ(ev_mp_type_of(MP(0xd0, 0x05)), EV_MP_UINT);
    ASSERT(ev_mp_uint(MP(0xd1, 0x01, 0x00), &u) && u == 256);
    ASSERT(!ev_mp_int(MP(0xd0, 0x05), &i));
    ASSERT(!ev_mp_uint(MP(0xff), &u));
    /* floats */
    ASSERT(ev_mp_float(MP(0xca, 0x3f, 0xc0, 0x00, 0x00), &d) && d == 1.5);
    ASSERT(ev_mp_float(MP(0xcb, 0xc0, 0x02, 0, 0, 0, 0, 0, 0), &d) && d == -2.25);
    ASSERT(!ev_mp_uint(MP(0xca, 0x3f, 0xc0, 0x00, 0x00), &u));
    s_whole(MP(0xcf, 1, 2, 3, 4, 5, 6, 7, 8));
    s_whole(MP(0xd3, 1, 2, 3, 4, 5, 6, 7, 8));
    s_whole(MP(0xcb, 1, 2, 3, 4, 5, 6, 7, 8));
}

static void test_strings(void)
{
    static const unsigned char fix[] = {0xa3, 'a', 'b', 'c'}, empty[] = {0xa0},
        s8[] = {0xd9, 2, 'h', 'i'}, s16[] = {0xda, 0, 2, 'h', 'i'},
        s32[] = {0xdb, 0, 0, 0, 2, 'h', 'i'};
    const char *s;
    size_t n;
    ASSERT(ev_mp_str(ev_mp_of(fix, sizeof fix), &s, &n));
    ASSERT_MEM_EQ(s, n, "abc", 3);
    ASSERT(ev_mp_str(ev_mp_of(empty, sizeof empty), &s, &n) && n == 0);
    ASSERT(ev_mp_str(ev_mp_of(s8, sizeof s8), &s, &n));
    ASSERT_MEM_EQ(s, n, "hi", 2);
    ASSERT(ev_mp_str(ev_mp_of(s16, sizeof s16), &s, &n));
    ASSERT_MEM_EQ(s, n, "hi", 2);
    ASSERT(ev_mp_str(ev_mp_of(s32, sizeof s32), &s, &n));
    ASSERT_MEM_EQ(s, n, "hi", 2);
    /* bin and ext are not strings */
    ASSERT(!ev_mp_str(MP(0xc4, 2, 'h', 'i'), &s, &n));
    ASSERT_EQ(ev_mp_type_of(MP(0xc4, 2, 'h', 'i')), EV_MP_BIN);
    ASSERT_EQ(ev_mp_type_of(MP(0xc5, 0, 1, 'x')), EV_MP_BIN);
    ASSERT_EQ(ev_mp_type_of(MP(0xc6, 0, 0, 0, 1, 'x')), EV_MP_BIN);
    ASSERT_EQ(ev_mp_type_of(MP(0xd4, 7, 'x')), EV_MP_EXT);
    ASSERT_EQ(ev_mp_type_of(MP(0xd8, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)),
              EV_MP_EXT);
    ASSERT_EQ(ev_mp_type_of(MP(0xc7, 1, 7, 'x')), EV_MP_EXT);
    ASSERT_EQ(ev_mp_type_of(MP(0xc8, 0, 1, 7, 'x')), EV_MP_EXT);
    ASSERT_EQ(ev_mp_type_of(MP(0xc9, 0, 0, 0, 1, 7, 'x')), EV_MP_EXT);
    s_whole(MP(0xdb, 0, 0, 0, 2, 'h', 'i'));
    s_whole(MP(0xc6, 0, 0, 0, 1, 'x'));
    s_whole(MP(0xc9, 0, 0, 0, 1, 7, 'x'));
    s_whole(MP(0xd6, 7, 1, 2, 3, 4));
}

static void test_containers(void)
{
    /* every width of array and map, each with one element */
    ev_mp a1 = MP(0x91, 0x01), a2 = MP(0xdc, 0, 1, 0x01), a4 = MP(0xdd, 0, 0, 0, 1, 0x01);
    ev_mp m1 = MP(0x81, 0xa1, 'k', 0x02), m2 = MP(0xde, 0, 1, 0xa1, 'k', 0x02),
          m4 = MP(0xdf, 0, 0, 0, 1, 0xa1, 'k', 0x02);
    ev_mp arrs[] = {a1, a2, a4}, maps[] = {m1, m2, m4};
    for (int i = 0; i < 3; i++) {
        uint64_t u = 0;
        ASSERT_EQ(ev_mp_type_of(arrs[i]), EV_MP_ARRAY);
        ASSERT_EQ(ev_mp_count(arrs[i]), 1u);
        ASSERT(ev_mp_uint(ev_mp_array_at(arrs[i], 0), &u) && u == 1);
        ASSERT(!ev_mp_present(ev_mp_array_at(arrs[i], 1)));
        s_whole(arrs[i]);
        ASSERT_EQ(ev_mp_type_of(maps[i]), EV_MP_MAP);
        ASSERT_EQ(ev_mp_count(maps[i]), 1u);
        ASSERT(ev_mp_uint(ev_mp_map_get(maps[i], "k"), &u) && u == 2);
        ASSERT(!ev_mp_present(ev_mp_map_get(maps[i], "K")));
        ASSERT(!ev_mp_present(ev_mp_map_get(arrs[i], "k"))); /* not a map */
        s_whole(maps[i]);
    }
    ASSERT_EQ(ev_mp_count(MP(0x80)), 0u);
    ASSERT_EQ(ev_mp_count(MP(0xa1, 'x')), 0u);
    /* iteration: [1, "a", [2], {}] */
    ev_mp arr = MP(0x94, 0x01, 0xa1, 'a', 0x91, 0x02, 0x80);
    ev_mp_iter it;
    ev_mp el;
    ev_mp_type want[] = {EV_MP_UINT, EV_MP_STR, EV_MP_ARRAY, EV_MP_MAP};
    int n = 0;
    ASSERT(ev_mp_iter_init(&it, arr));
    while (ev_mp_iter_next(&it, &el))
        ASSERT_EQ(ev_mp_type_of(el), want[n++]);
    ASSERT_EQ(n, 4);
    ev_mp empty = MP(0x80);
    ASSERT(!ev_mp_iter_init(&it, empty));
    ASSERT(!ev_mp_iter_next(&it, &el));
}

/* {"a":1, "a":2, 1:"x", <bin "b">:3, "b":4, "p":{"q":{"r":"deep"}}} */
static const unsigned char s_dup[] = {
    0x86, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02, 0x01, 0xa1, 'x',
    0xc4, 0x01, 'b', 0x03, 0xa1, 'b', 0x04,
    0xa1, 'p', 0x81, 0xa1, 'q', 0x81, 0xa1, 'r', 0xa4, 'd', 'e', 'e', 'p',
};

static void s_check_dup(ev_mp m, ev_mp_index *ix)
{
    uint64_t u = 0;
#define GET(k) (ix ? ev_mp_index_get(ix, m, k, strlen(k)) : ev_mp_map_get(m, k))
    ASSERT(ev_mp_uint(GET("a"), &u) && u == 1);     /* first duplicate wins */
    ASSERT(ev_mp_uint(GET("b"), &u) && u == 4);     /* the bin key does not match */
    ASSERT(!ev_mp_present(GET("x")));               /* nor is a value a key */
    ASSERT(!ev_mp_present(GET("")));
    static const char *const path[] = {"q", "r"};
    const char *s;
    size_t n;
    ASSERT(ev_mp_str(ev_mp_path(GET("p"), path, 2), &s, &n));
    ASSERT_MEM_EQ(s, n, "deep", 4);
#undef GET
}

static void test_lookup(void)
{
    ev_mp m = ev_mp_of(s_dup, sizeof s_dup);
    ev_mp_index ix;
    ev_mp_index_reset(&ix);
    s_check_dup(m, NULL);
    s_check_dup(m, &ix); /* built by walking */
    s_check_dup(m, &ix); /* reused */
    /* the pair table a scanner gives: key length (UINT32_MAX: not a
     * string) and value offset, per pair */
    static const uint32_t pairs[] = {1, 3, 1, 6, UINT32_MAX, 8, UINT32_MAX, 13, 1, 16, 1, 19};
    ev_mp_index_pairs(&ix, m, pairs, 6);
    s_check_dup(m, &ix);
    /* another map through the same index rebuilds it */
    ev_mp other = MP(0x81, 0xa1, 'a', 0x09);
    uint64_t u = 0;
    ASSERT(ev_mp_uint(ev_mp_index_get(&ix, other, "a", 1), &u) && u == 9);
    /* no map */
    ASSERT(!ev_mp_present(ev_mp_map_get(ev_mp_of(NULL, 0), "a")));
    ASSERT(!ev_mp_present(ev_mp_index_get(&ix, ev_mp_of(NULL, 0), "a", 1)));
    /* a pair table entry that does not fit the map is ignored */
    static const uint32_t bad[] = {1, 3, 1, 999};
    ev_mp_index_pairs(&ix, m, bad, 2);
    ASSERT(ev_mp_uint(ev_mp_index_get(&ix, m, "a", 1), &u) && u == 1);
    ASSERT(!ev_mp_present(ev_mp_index_get(&ix, m, "b", 1)));
}

/* More keys than the index holds: k0..k99 = i, then k5 again. */
static void test_index_overflow(void)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 102);
    for (int i = 0; i < 100; i++) {
        char k[8];
        int n = snprintf(k, sizeof k, "k%d", i);
        msgpack_pack_str(&pk, (size_t)n);
        msgpack_pack_str_body(&pk, k, (size_t)n);
        msgpack_pack_int(&pk, i);
    }
    msgpack_pack_str(&pk, 2);
    msgpack_pack_str_body(&pk, "k5", 2);
    msgpack_pack_int(&pk, 500);
    msgpack_pack_str(&pk, 3);
    msgpack_pack_str_body(&pk, "k70", 3);
    msgpack_pack_int(&pk, 700);
    ev_mp m = ev_mp_of(sb.data, sb.size);
    ev_mp_index ix;
    ev_mp_index_reset(&ix);
    for (int i = 0; i < 100; i++) {
        char k[8];
        int n = snprintf(k, sizeof k, "k%d", i);
        uint64_t a = 0, b = 0;
        ASSERT(ev_mp_uint(ev_mp_map_getn(m, k, (size_t)n), &a));
        ASSERT(ev_mp_uint(ev_mp_index_get(&ix, m, k, (size_t)n), &b));
        ASSERT_EQ(a, i);
        ASSERT_EQ(b, i);
    }
    ASSERT(!ev_mp_present(ev_mp_index_get(&ix, m, "k100", 4)));
    msgpack_sbuffer_destroy(&sb);
}

/* 1000 nested arrays: skip needs no recursion; a path walks 20 maps. */
static void test_deep(void)
{
    static unsigned char b[1100];
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        b[n++] = 0x91;
    b[n++] = 0xc0;
    ASSERT(ev_mp_skip(b, b + n) == b + n);
    ASSERT(ev_mp_skip(b, b + n - 1) == NULL);
    n = 0;
    const char *keys[20];
    for (int i = 0; i < 20; i++) {
        b[n++] = 0x81;
        b[n++] = 0xa1;
        b[n++] = 'k';
        keys[i] = "k";
    }
    b[n++] = 0x2a;
    uint64_t u = 0;
    ASSERT(ev_mp_uint(ev_mp_path(ev_mp_of(b, n), keys, 20), &u) && u == 42);
}

/* Every prefix of a record is rejected or read within bounds (ASan checks
 * the bounds), and 0xc1 and impossible counts are no value. */
static void test_hostile(void)
{
    for (size_t n = 0; n < sizeof s_dup; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, s_dup, n);
        ev_mp m = ev_mp_of(cut, n);
        ev_mp_index ix;
        ev_mp_index_reset(&ix);
        ASSERT(ev_mp_skip(m.p, m.end) == NULL);
        const char *keys[] = {"a", "b", "p", "x", "zz"};
        for (int k = 0; k < 5; k++) {
            ev_mp v = ev_mp_map_get(m, keys[k]);
            ev_mp w = ev_mp_index_get(&ix, m, keys[k], strlen(keys[k]));
            ASSERT(v.p == w.p);
            if (v.p)
                ASSERT(v.p >= cut && v.p < cut + n);
            (void)ev_mp_type_of(v);
            (void)ev_mp_count(v);
        }
        free(cut);
    }
    ASSERT_EQ(ev_mp_type_of(MP(0xc1)), EV_MP_NONE);
    ev_mp inv = MP(0xc1);
    ASSERT(ev_mp_skip(inv.p, inv.end) == NULL);
    ASSERT_EQ(ev_mp_type_of(MP(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01)), EV_MP_NONE);
    ASSERT_EQ(ev_mp_type_of(MP(0xdf, 0x80, 0, 0, 0)), EV_MP_NONE);
    ASSERT_EQ(ev_mp_type_of(MP(0xdb, 0xff, 0xff, 0xff, 0xff, 'x')), EV_MP_NONE);
    ASSERT_EQ(ev_mp_type_of(MP(0xcf, 1, 2)), EV_MP_NONE);
    ASSERT_EQ(ev_mp_type_of(MP(0xd9)), EV_MP_NONE);
    /* a map whose second key is 0xc1: the first is found, later ones not */
    ev_mp m = MP(0x82, 0xa1, 'a', 0x01, 0xc1, 0x02);
    ASSERT(ev_mp_present(ev_mp_map_get(m, "a")));
    ASSERT(!ev_mp_present(ev_mp_map_get(m, "b")));
    /* a matched key whose value is invalid is no value */
    ASSERT(!ev_mp_present(ev_mp_map_get(MP(0x81, 0xa1, 'a', 0xc1), "a")));
    ev_mp_iter it;
    ev_mp el;
    ev_mp bad_el = MP(0x92, 0x01, 0xc1);
    ASSERT(ev_mp_iter_init(&it, bad_el));
    ASSERT(ev_mp_iter_next(&it, &el));
    ASSERT(!ev_mp_iter_next(&it, &el));
}

int main(void)
{
    tg_test_state st = {0, 0};
    TG_RUN(&st, test_scalars);
    TG_RUN(&st, test_strings);
    TG_RUN(&st, test_containers);
    TG_RUN(&st, test_lookup);
    TG_RUN(&st, test_index_overflow);
    TG_RUN(&st, test_deep);
    TG_RUN(&st, test_hostile);
    TG_DONE(&st);
}
