/*
 * test_tg_msg.c - round trips and malformation codes of the frame codec
 * (common/tg_msg.c, owned by the pipeline part).
 */
#include "tg_msg.h"
#include "tg_test.h"

static tg_test_state st;

static int decode(msgpack_sbuffer *sb, msgpack_zone *z, tg_msg *m)
{
    char err[128];
    return tg_msg_decode(sb->data, sb->size, 0, z, m, err, sizeof err);
}

static void test_job_roundtrip(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tg_msg_job j = { .id = 42, .ack = tg_str_c("ipc:///x/acks"),
                     .uri = tg_str_c("file:///a.json"),
                     .identity = tg_str_c("/a.json:10:99"), .attempt = 2,
                     .arrival_ns = 7, .has_data = true,
                     .data = { "\x1f\x8b\x00", 3 } };
    tg_msg_encode_job(&sb, &j);
    msgpack_zone z;
    msgpack_zone_init(&z, 4096);
    tg_msg m;
    ASSERT_EQ(decode(&sb, &z, &m), 0);
    ASSERT_EQ(m.kind, TG_MSG_JOB);
    ASSERT_U64_EQ(m.u.job.id, 42);
    ASSERT_MEM_EQ(m.u.job.ack.p, m.u.job.ack.n, "ipc:///x/acks", 13);
    ASSERT_MEM_EQ(m.u.job.identity.p, m.u.job.identity.n, "/a.json:10:99", 13);
    ASSERT_EQ(m.u.job.attempt, 2);
    ASSERT(m.u.job.has_data);
    ASSERT_MEM_EQ(m.u.job.data.p, m.u.job.data.n, "\x1f\x8b\x00", 3);
    /* path form */
    sb.size = 0;
    j.has_data = false;
    j.path = tg_str_c("/tmp/a.json");
    tg_msg_encode_job(&sb, &j);
    msgpack_zone_clear(&z);
    ASSERT_EQ(decode(&sb, &z, &m), 0);
    ASSERT(!m.u.job.has_data);
    ASSERT_MEM_EQ(m.u.job.path.p, m.u.job.path.n, "/tmp/a.json", 11);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

static void test_batch_builder(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tg_msg_batch_builder b;
    tg_msg_batch_builder_init(&b, &sb);
    tg_msg_hdr h = { .job = 9, .ack = tg_str_c("ipc:///a"),
                     .uri = tg_str_c("file:///f"), .identity = tg_str_c("id"),
                     .index = 1, .count = 0, .first = 100 };
    h.count = 1; /* patched below */
    h.index = 0;
    tg_msg_batch_begin(&b, &h);
    msgpack_packer *pk = tg_msg_batch_record_begin(&b, "{\"a\":1}", 7);
    msgpack_pack_map(pk, 1);
    msgpack_pack_str(pk, 1);
    msgpack_pack_str_body(pk, "a", 1);
    msgpack_pack_int(pk, 1);
    tg_msg_batch_record_end(&b);
    /* an aborted record leaves no trace */
    pk = tg_msg_batch_record_begin(&b, "{\"b\":", 5);
    msgpack_pack_map(pk, 1);
    tg_msg_batch_record_abort(&b);
    tg_msg_batch_add_error(&b, tg_str_c("f"), 101, tg_str_c("bad json"));
    tg_msg_batch_end(&b);
    ASSERT_EQ(tg_msg_batch_patch_count(sb.data, sb.size, 3), 0);

    msgpack_zone z;
    msgpack_zone_init(&z, 4096);
    tg_msg m;
    ASSERT_EQ(decode(&sb, &z, &m), 0);
    ASSERT_EQ(m.kind, TG_MSG_BATCH);
    ASSERT_EQ(m.u.batch.hdr.count, 3);
    ASSERT_U64_EQ(m.u.batch.hdr.first, 100);
    ASSERT_EQ(m.u.batch.nrecords, 1);
    tg_str raw;
    tg_msg_map map;
    tg_msg_batch_record(&m.u.batch, 0, &raw, &map);
    ASSERT_MEM_EQ(raw.p, raw.n, "{\"a\":1}", 7);
    ASSERT_MEM_EQ(map.bytes.p, map.bytes.n, "\x81\xa1" "a\x01", 4); /* the map's bytes */
    ASSERT_EQ(map.npairs, 1u);
    ASSERT_EQ(map.pairs[0], 1u); /* the length of key "a" */
    ASSERT_EQ(map.pairs[1], 3u); /* where its value starts */
    ASSERT_EQ(m.u.batch.nerrors, 1);
    tg_msg_error e;
    tg_msg_error_get(m.u.batch.errors, 0, &e);
    ASSERT_EQ(e.record, 101);
    ASSERT_MEM_EQ(e.message.p, e.message.n, "bad json", 8);

    /* alerts answering that batch, carrying its errors */
    msgpack_sbuffer ab;
    msgpack_sbuffer_init(&ab);
    const char *tags[] = { "aws", "mitre" };
    tg_msg_alert a = { .id = tg_str_c("0123456789abcdef0123456789abcdef"),
                       .rule = tg_str_c("R"), .priority = tg_str_c("Warning"),
                       .source = tg_str_c("aws_cloudtrail"), .time_ns = 5,
                       .tag_list = tags, .ntags = 2,
                       .output = tg_str_c("out"), .json = tg_str_c("{}"),
                       .record = 100, .raw = raw };
    tg_msg_encode_alerts(&ab, &m.u.batch.hdr, 1, tg_str_c("hash"), &a, 1,
                         m.u.batch.errors, m.u.batch.nerrors);
    msgpack_zone z2;
    msgpack_zone_init(&z2, 4096);
    tg_msg m2;
    ASSERT_EQ(decode(&ab, &z2, &m2), 0);
    ASSERT_EQ(m2.kind, TG_MSG_ALERTS);
    ASSERT_EQ(m2.u.alerts.nalerts, 1);
    ASSERT_EQ(m2.u.alerts.nerrors, 1);
    ASSERT_EQ(m2.u.alerts.hdr.count, 3);
    tg_msg_alert got;
    tg_msg_alert_get(&m2.u.alerts, 0, &got);
    ASSERT_MEM_EQ(got.rule.p, got.rule.n, "R", 1);
    ASSERT_EQ(got.ntags, 2);
    ASSERT_U64_EQ(got.record, 100);
    ASSERT_MEM_EQ(got.raw.p, got.raw.n, "{\"a\":1}", 7);

    msgpack_zone_destroy(&z2);
    msgpack_sbuffer_destroy(&ab);
    msgpack_zone_destroy(&z);
    tg_msg_batch_builder_fini(&b);
    msgpack_sbuffer_destroy(&sb);
}

/* Decode a batch frame (built in sb, which *m then borrows) with one
 * record whose map is the given bytes. */
static int s_decode_record_map(const unsigned char *map, size_t n, tg_msg *m,
                               msgpack_zone *z, msgpack_sbuffer *sb)
{
    sb->size = 0;
    tg_msg_batch_builder b;
    tg_msg_batch_builder_init(&b, sb);
    tg_msg_hdr h = { .job = 1, .ack = tg_str_c("a"), .identity = tg_str_c("i"),
                     .index = 0, .count = 1 };
    tg_msg_batch_begin(&b, &h);
    tg_msg_batch_record_begin(&b, "{}", 2);
    msgpack_sbuffer_write(sb, (const char *)map, n);
    tg_msg_batch_record_end(&b);
    tg_msg_batch_end(&b);
    tg_msg_batch_builder_fini(&b);
    msgpack_zone_clear(z);
    return tg_msg_decode(sb->data, sb->size, 0, z, m, NULL, 0);
}

/* Record maps are scanned, not unpacked, with the checks and codes of the
 * rest of the frame; the pair table describes each top-level pair. */
static void test_batch_record_maps(void)
{
    msgpack_zone z;
    msgpack_zone_init(&z, 4096);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tg_msg m;
    /* {"ab": [1, {"c": true}], 7: nil, "d": "xyz"} */
    static const unsigned char ok[] = {
        0x83, 0xa2, 'a', 'b', 0x92, 0x01, 0x81, 0xa1, 'c', 0xc3,
        0x07, 0xc0, 0xa1, 'd', 0xa3, 'x', 'y', 'z',
    };
    ASSERT_EQ(s_decode_record_map(ok, sizeof ok, &m, &z, &sb), 0);
    tg_str raw;
    tg_msg_map map;
    tg_msg_batch_record(&m.u.batch, 0, &raw, &map);
    ASSERT_EQ(map.bytes.n, sizeof ok);
    ASSERT(memcmp(map.bytes.p, ok, sizeof ok) == 0);
    ASSERT_EQ(map.npairs, 3u);
    static const uint32_t want[] = { 2, 4, UINT32_MAX, 11, 1, 14 };
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(map.pairs[i], want[i]);
    /* 0xc1 deep inside a record map */
    static const unsigned char inv[] = { 0x81, 0xa1, 'a', 0x91, 0x91, 0xc1 };
    ASSERT_EQ(s_decode_record_map(inv, sizeof inv, &m, &z, &sb), TG_MSG_E_INVALID);
    /* nesting: a map at depth 4 holds 25 more levels, then 26 */
    unsigned char deep[64];
    for (int extra = 25; extra <= 26; extra++) {
        size_t n = 0;
        deep[n++] = 0x81;
        deep[n++] = 0xa1;
        deep[n++] = 'a';
        for (int i = 0; i < extra; i++)
            deep[n++] = 0x91;
        deep[n++] = 0x01;
        ASSERT_EQ(s_decode_record_map(deep, n, &m, &z, &sb), extra == 25 ? 0 : TG_MSG_E_DEPTH);
    }
    /* an array where the map should be */
    static const unsigned char arr[] = { 0x91, 0x01 };
    ASSERT_EQ(s_decode_record_map(arr, sizeof arr, &m, &z, &sb), TG_MSG_E_RECORD);
    /* a count larger than the bytes left */
    static const unsigned char big[] = { 0xdf, 0x00, 0x10, 0x00, 0x00 };
    ASSERT_EQ(s_decode_record_map(big, sizeof big, &m, &z, &sb), TG_MSG_E_TRUNCATED);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

/* The lazy scanner passes values with no length field in one step while
 * at least 32 bytes remain, and checks each header the slow way near the
 * end of the frame.  A map of every such kind (and str8, nested
 * containers), its first value padded so that its tail falls at every
 * distance from the end of the frame, decodes whole, and every strict
 * prefix of it is an error, never a read past the frame (ASan build). */
static void test_lazy_span_tail(void)
{
    msgpack_zone z;
    msgpack_zone_init(&z, 4096);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tg_msg m;
    static const unsigned char tail[] = {
        0xa1, 'f', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,            /* 1.5 */
        0xa1, 'e', 0xd6, 0x05, 1, 2, 3, 4,                        /* fixext 4 */
        0xa1, 'u', 0xcf, 0, 0, 0, 1, 0, 0, 0, 0,                  /* uint64 */
        0xa1, 'i', 0xd2, 0xff, 0xff, 0xff, 0x00,                  /* int32 */
        0xa1, 'n', 0xc0, 0xa1, 't', 0xc3,                         /* nil, true */
        0xa1, 'z', 0x93, 0x01, 0x81, 0xa1, 'k', 0xa1, 'v', 0x90,  /* [1,{k:v},[]] */
        0xa1, 's', 0xd9, 33, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k',
        'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z',
        '0', '1', '2', '3', '4', '5', '6',                          /* str8 */
    };
    unsigned char map[256];
    for (size_t pad = 0; pad <= 40; pad++) {
        size_t n = 0;
        map[n++] = 0x89;
        map[n++] = 0xa1;
        map[n++] = 'p';
        map[n++] = 0xd9;
        map[n++] = (unsigned char)pad;
        memset(map + n, 'x', pad);
        n += pad;
        memcpy(map + n, tail, sizeof tail);
        n += sizeof tail;
        ASSERT_EQ(s_decode_record_map(map, n, &m, &z, &sb), 0);
        tg_str raw;
        tg_msg_map mm;
        tg_msg_batch_record(&m.u.batch, 0, &raw, &mm);
        ASSERT_EQ(mm.npairs, 9u);
        ASSERT_EQ(mm.bytes.n, n);
        for (size_t k = 0; k < n; k++)
            ASSERT(s_decode_record_map(map, k, &m, &z, &sb) != 0);
    }
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

static void test_ack_and_errors(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tg_msg_ack a = { .job = 1, .index = 2, .count = 3, .errors = 4 };
    tg_msg_encode_ack(&sb, &a);
    msgpack_zone z;
    msgpack_zone_init(&z, 1024);
    tg_msg m;
    ASSERT_EQ(decode(&sb, &z, &m), 0);
    ASSERT_EQ(m.u.ack.errors, 4);
    /* every strict prefix is truncated */
    for (size_t n = 1; n < sb.size; n++) {
        msgpack_zone_clear(&z);
        int rc = tg_msg_decode(sb.data, n, 0, &z, &m, NULL, 0);
        ASSERT_EQ(rc, TG_MSG_E_TRUNCATED);
    }
    ASSERT_EQ(tg_msg_decode(sb.data, 0, 0, &z, &m, NULL, 0), TG_MSG_E_EMPTY);
    ASSERT_EQ(tg_msg_decode(sb.data, sb.size, 4, &z, &m, NULL, 0), TG_MSG_E_TOO_BIG);
    /* trailing byte */
    msgpack_sbuffer_write(&sb, "\x00", 1);
    ASSERT_EQ(tg_msg_decode(sb.data, sb.size, 0, &z, &m, NULL, 0), TG_MSG_E_TRAILING);
    /* huge array count with no bytes behind it */
    static const char huge[] = { (char)0x93, 1, (char)0xa3, 'a', 'c', 'k',
                                 (char)0xdf, 0x7f, (char)0xff, (char)0xff, (char)0xff };
    ASSERT_EQ(tg_msg_decode(huge, sizeof huge, 0, &z, &m, NULL, 0), TG_MSG_E_TRUNCATED);
    /* wrong version, kind, body */
    static const char v2[] = { (char)0x93, 2, (char)0xa3, 'a', 'c', 'k', (char)0x80 };
    ASSERT_EQ(tg_msg_decode(v2, sizeof v2, 0, &z, &m, NULL, 0), TG_MSG_E_VERSION);
    static const char k[] = { (char)0x93, 1, (char)0xa3, 'x', 'y', 'z', (char)0x80 };
    ASSERT_EQ(tg_msg_decode(k, sizeof k, 0, &z, &m, NULL, 0), TG_MSG_E_KIND);
    static const char body[] = { (char)0x93, 1, (char)0xa3, 'a', 'c', 'k', 1 };
    ASSERT_EQ(tg_msg_decode(body, sizeof body, 0, &z, &m, NULL, 0), TG_MSG_E_BODY);
    static const char miss[] = { (char)0x93, 1, (char)0xa3, 'a', 'c', 'k', (char)0x80 };
    char err[64];
    ASSERT_EQ(tg_msg_decode(miss, sizeof miss, 0, &z, &m, err, sizeof err), TG_MSG_E_MISSING);
    ASSERT_STR_EQ(err, "required field missing: job");
    static const char type[] = { (char)0x93, 1, (char)0xa3, 'a', 'c', 'k', (char)0x81,
                                 (char)0xa3, 'j', 'o', 'b', (char)0xa1, 'x' };
    ASSERT_EQ(tg_msg_decode(type, sizeof type, 0, &z, &m, NULL, 0), TG_MSG_E_TYPE);
    static const char bad[] = { (char)0x93, (char)0xc1, 1, 1 };
    ASSERT_EQ(tg_msg_decode(bad, sizeof bad, 0, &z, &m, NULL, 0), TG_MSG_E_INVALID);
    /* deep nesting */
    char deep[200];
    size_t n = 0;
    deep[n++] = (char)0x93;
    deep[n++] = 1;
    for (int i = 0; i < 100; i++)
        deep[n++] = (char)0x91;
    deep[n++] = 0;
    deep[n++] = (char)0x80;
    ASSERT_EQ(tg_msg_decode(deep, n, 0, &z, &m, NULL, 0), TG_MSG_E_DEPTH);
    ASSERT_STR_EQ(tg_msg_strerror(TG_MSG_E_DEPTH), "nesting too deep");
    /* count 0 = "more batches follow"; a non-zero count must exceed index */
    msgpack_sbuffer sb2;
    msgpack_sbuffer_init(&sb2);
    tg_msg_ack more = { .job = 1, .index = 5, .count = 0 };
    tg_msg_encode_ack(&sb2, &more);
    msgpack_zone_clear(&z);
    ASSERT_EQ(tg_msg_decode(sb2.data, sb2.size, 0, &z, &m, NULL, 0), 0);
    sb2.size = 0;
    tg_msg_ack past = { .job = 1, .index = 5, .count = 5 };
    tg_msg_encode_ack(&sb2, &past);
    ASSERT_EQ(tg_msg_decode(sb2.data, sb2.size, 0, &z, &m, NULL, 0), TG_MSG_E_RANGE);
    msgpack_sbuffer_destroy(&sb2);
    ASSERT_STR_EQ(tg_msg_strerror(-999), "unknown error");
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

static void test_shm_ref(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tg_msg_shm ref = { tg_str_c("trailguard-12-3"), 7, 1048576 };
    tg_msg_encode_shm(&sb, &ref);
    msgpack_zone z;
    msgpack_zone_init(&z, 1024);
    tg_msg m;
    ASSERT_EQ(decode(&sb, &z, &m), 0);
    ASSERT_EQ(m.kind, TG_MSG_SHM);
    ASSERT_STR_EQ(tg_msg_kind_name(m.kind), "shm");
    ASSERT_MEM_EQ(m.u.shm.seg.p, m.u.shm.seg.n, "trailguard-12-3", 15);
    ASSERT_U64_EQ(m.u.shm.gen, 7);
    ASSERT_U64_EQ(m.u.shm.len, 1048576);
    for (size_t n = 1; n < sb.size; n++) {
        msgpack_zone_clear(&z);
        ASSERT_EQ(tg_msg_decode(sb.data, n, 0, &z, &m, NULL, 0), TG_MSG_E_TRUNCATED);
    }
    /* an empty segment name is refused */
    sb.size = 0;
    ref.seg = tg_str_c("");
    tg_msg_encode_shm(&sb, &ref);
    msgpack_zone_clear(&z);
    ASSERT_EQ(tg_msg_decode(sb.data, sb.size, 0, &z, &m, NULL, 0), TG_MSG_E_RANGE);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    TG_RUN(&st, test_job_roundtrip);
    TG_RUN(&st, test_batch_builder);
    TG_RUN(&st, test_batch_record_maps);
    TG_RUN(&st, test_lazy_span_tail);
    TG_RUN(&st, test_ack_and_errors);
    TG_RUN(&st, test_shm_ref);
    TG_DONE(&st);
}
