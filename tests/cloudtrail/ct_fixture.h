/*
 * ct_fixture.h - test helper: turn a JSON record into an ev_ct_record (via
 * the real decoder, pa_json) and extract fields by name.
 * Owner: cloudtrail fields (tests/cloudtrail/).
 */
#ifndef CT_FIXTURE_H
#define CT_FIXTURE_H

#include <string.h>

#include <msgpack.h>

#include "ev_ct.h"
#include "pa_json.h"
#include "tg_test.h"

typedef struct ct_fx {
    pa_json *pj;
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    ev_ct_record rec;
    ev_mp_index index;      /* rec's key index, as the evaluator has one */
    ev_event evt;
    ev_vals vals;
    const ev_source *src;
    uint64_t num;
} ct_fx;

static ct_fx g_fx;

static void ct_fx_init(void)
{
    g_fx.pj = pa_json_new();
    ASSERT_NOT_NULL(g_fx.pj);
    msgpack_sbuffer_init(&g_fx.sb);
    msgpack_unpacked_init(&g_fx.up);
    ev_event_init(&g_fx.evt);
    g_fx.src = ev_ct_source();
}

static void ct_fx_fini(void)
{
    pa_json_free(g_fx.pj);
    msgpack_sbuffer_destroy(&g_fx.sb);
    msgpack_unpacked_destroy(&g_fx.up);
    ev_event_fini(&g_fx.evt);
}

/* Load a record (the text must outlive the checks that follow). */
static void ct_load_ts(const char *json, uint64_t ts)
{
    char err[200];
    msgpack_packer pk;
    msgpack_sbuffer_clear(&g_fx.sb);
    msgpack_packer_init(&pk, &g_fx.sb, msgpack_sbuffer_write);
    int rc = pa_json_to_msgpack(g_fx.pj, json, strlen(json), &pk, err, sizeof(err));
    if (rc != 0)
        TG_FAIL_("bad test JSON: %s", err);
    ASSERT_EQ(msgpack_unpack_next(&g_fx.up, g_fx.sb.data, g_fx.sb.size, NULL),
              MSGPACK_UNPACK_SUCCESS);
    g_fx.rec.map = g_fx.sb.data;
    g_fx.rec.map_len = g_fx.sb.size;
    g_fx.rec.index = &g_fx.index;
    ev_mp_index_reset(&g_fx.index);
    g_fx.rec.raw = json;
    g_fx.rec.raw_len = strlen(json);
    g_fx.rec.hostname = "test-host";
    ev_event_reset(&g_fx.evt, &g_fx.rec, ts, ++g_fx.num);
}

static void ct_load(const char *json)
{
    ct_load_ts(json, 0);
}

/* Extract field[arg]; returns extract's result. */
static int ct_get(const char *field, const char *arg)
{
    const ev_field_def *def = ev_source_find(g_fx.src, field, strlen(field));
    if (!def)
        TG_FAIL_("unknown field %s", field);
    ev_field_arg a = {0};
    if (arg) {
        a.has_arg = true;
        a.arg = arg;
        a.arg_len = strlen(arg);
        a.index = strtoull(arg, NULL, 10);
    }
    memset(&g_fx.vals, 0, sizeof(g_fx.vals));
    g_fx.vals.vals = g_fx.vals.inline_vals;
    return g_fx.src->extract(g_fx.src->ud, &g_fx.evt, def, &a, &g_fx.vals);
}

#define CT_STR_ARG(field, arg, expect)                                          \
    do {                                                                        \
        int rc_ = ct_get(field, arg);                                           \
        if (rc_ != 1)                                                           \
            TG_FAIL_("%s: expected \"%s\", got rc %d", field, expect, rc_);     \
        ASSERT_MEM_EQ(g_fx.vals.vals[0].s, g_fx.vals.vals[0].len, expect,       \
                      strlen(expect));                                          \
    } while (0)
#define CT_STR(field, expect) CT_STR_ARG(field, NULL, expect)

#define CT_ABSENT_ARG(field, arg)                                               \
    do {                                                                        \
        int rc_ = ct_get(field, arg);                                           \
        if (rc_ > 0)                                                            \
            TG_FAIL_("%s: expected absent, got \"%.*s\"", field,                \
                     (int)g_fx.vals.vals[0].len,                                \
                     g_fx.vals.vals[0].s ? g_fx.vals.vals[0].s : "");           \
    } while (0)
#define CT_ABSENT(field) CT_ABSENT_ARG(field, NULL)

#define CT_U64(field, expect)                                                   \
    do {                                                                        \
        int rc_ = ct_get(field, NULL);                                          \
        if (rc_ != 1)                                                           \
            TG_FAIL_("%s: expected %llu, got rc %d", field,                     \
                     (unsigned long long)(expect), rc_);                        \
        ASSERT_U64_EQ(g_fx.vals.vals[0].u, expect);                             \
    } while (0)

#endif /* CT_FIXTURE_H */
