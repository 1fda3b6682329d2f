/*
 * ev_test_mock.h - a tiny mock source for the engine unit tests.
 * Owner: engine core.
 *
 * Fields (all single-threaded test state lives in one tm_state the test
 * owns and passes as the source's ud):
 *   t.str (string), t.str2 (string), t.num (uint64), t.int (int64),
 *   t.bool (bool), t.ip (ipaddr), t.net (ipnet), t.buf (bytes),
 *   t.list (list of strings, optional index arg), t.map (string, required
 *   key arg), t.missing (string, never present), t.dbl (double)
 * A value is missing when its "set" flag is false.  extract_calls counts
 * extractions so tests can check the per-event cache.
 */
#ifndef EV_TEST_MOCK_H
#define EV_TEST_MOCK_H

#include <string.h>

#include "ev_field.h"

enum { TM_STR, TM_STR2, TM_NUM, TM_INT, TM_BOOL, TM_IP, TM_NET, TM_BUF, TM_LIST,
       TM_MAP, TM_MISSING, TM_DBL, TM__N };

typedef struct tm_state {
    bool set[TM__N];
    const char *str, *str2;
    size_t str_len;         /* 0 = strlen(str) */
    uint64_t num;
    int64_t i;
    bool b;
    unsigned char ip[16];
    size_t ip_len;
    unsigned char net[16];
    size_t net_len;
    unsigned net_prefix;
    const char *buf;
    size_t buf_len;
    const char *list[8];
    size_t nlist;
    double dbl;
    int extract_calls;
} tm_state;

static const ev_field_def tm_fields[] = {
    {"t.str", EV_TYPE_STRING, 0, TM_STR, "a string"},
    {"t.str2", EV_TYPE_STRING, 0, TM_STR2, "another string"},
    {"t.num", EV_TYPE_UINT64, 0, TM_NUM, "a number"},
    {"t.int", EV_TYPE_INT64, 0, TM_INT, "a signed number"},
    {"t.bool", EV_TYPE_BOOL, 0, TM_BOOL, "a bool"},
    {"t.ip", EV_TYPE_IPADDR, 0, TM_IP, "an address"},
    {"t.net", EV_TYPE_IPNET, 0, TM_NET, "a network"},
    {"t.buf", EV_TYPE_BYTES, 0, TM_BUF, "a buffer"},
    {"t.list", EV_TYPE_STRING, EV_FIELD_LIST | EV_FIELD_ARG_OPT | EV_FIELD_ARG_INDEX,
     TM_LIST, "a list"},
    {"t.map", EV_TYPE_STRING, EV_FIELD_ARG_REQ | EV_FIELD_ARG_KEY, TM_MAP, "keyed"},
    {"t.missing", EV_TYPE_STRING, 0, TM_MISSING, "never present"},
    {"t.dbl", EV_TYPE_DOUBLE, 0, TM_DBL, "a double"},
};

static int tm_extract(void *ud, ev_event *evt, const ev_field_def *def,
                      const ev_field_arg *arg, ev_vals *out)
{
    tm_state *st = ud;
    (void)evt;
    st->extract_calls++;
    if (!st->set[def->id])
        return 0;
    ev_val *v = &out->vals[0];
    memset(v, 0, sizeof(*v));
    switch (def->id) {
    case TM_STR:
        v->s = st->str;
        v->len = st->str_len ? st->str_len : strlen(st->str);
        return 1;
    case TM_STR2:
        v->s = st->str2;
        v->len = strlen(st->str2);
        return 1;
    case TM_NUM: v->u = st->num; return 1;
    case TM_INT: v->u = (uint64_t)st->i; return 1;
    case TM_BOOL: v->u = st->b; return 1;
    case TM_DBL: v->d = st->dbl; return 1;
    case TM_IP:
        v->s = (const char *)st->ip;
        v->len = st->ip_len;
        return 1;
    case TM_NET:
        v->s = (const char *)st->net;
        v->len = st->net_len;
        v->u = st->net_prefix;
        return 1;
    case TM_BUF:
        v->s = st->buf;
        v->len = st->buf_len;
        return 1;
    case TM_LIST:
        if (arg->has_arg) {
            if (arg->index >= st->nlist)
                return 0;
            v->s = st->list[arg->index];
            v->len = strlen(v->s);
            return 1;
        }
        for (size_t i = 0; i < st->nlist; i++) {
            memset(&out->vals[i], 0, sizeof(ev_val));
            out->vals[i].s = st->list[i];
            out->vals[i].len = strlen(st->list[i]);
        }
        out->n = st->nlist;
        return (int)st->nlist;
    case TM_MAP:
        v->s = arg->arg;
        v->len = arg->arg_len;
        return 1;
    default:
        return 0;
    }
}

static void tm_source(ev_source *src, tm_state *st)
{
    src->name = "test";
    src->fields = tm_fields;
    src->nfields = sizeof(tm_fields) / sizeof(tm_fields[0]);
    src->extract = tm_extract;
    src->ud = st;
}

#endif /* EV_TEST_MOCK_H */
