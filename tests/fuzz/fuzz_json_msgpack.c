/*
 * fuzz_json_msgpack.c - fuzz target for record decoding and field
 * extraction: arbitrary bytes -> pa_decoder (gzip detection, splitting,
 * simdjson, msgpack packing) -> unpack -> every aws_cloudtrail field on
 * every record (raw-text scanner, JSON pointers, indenting).  Every input
 * is decoded twice more, by the one-pass path and by the reference path
 * (pa_decode_opts.reference), with two record-size limits: any difference
 * in return value, message, stats, records (index, raw bytes, msgpack
 * bytes) or errors aborts.
 * Owner: record decoding (tests/fuzz/).  Linked either with libFuzzer
 * (-Dfuzz=true, clang) or with fuzz_replay.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "ev_ct.h"
#include "ev_ct_json.h"
#include "pa_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz {
    msgpack_sbuffer sb;
    msgpack_sbuffer tape;   /* pa_record_pack_sbuffer() output */
    msgpack_sbuffer dom;    /* pa_json_pack_sbuffer_dom() output */
    msgpack_unpacked up;
    ev_event evt;
    uint64_t num;
} fz;

/* One decoding, recorded: every callback in order, then rc, err, stats. */
typedef struct fz_trace {
    msgpack_sbuffer t;
    msgpack_sbuffer sb;
} fz_trace;

static void s_put(fz_trace *tr, const void *p, size_t n)
{
    if (msgpack_sbuffer_write(&tr->t, p, n) != 0)
        abort();
}

static int s_trace_record(void *data, const pa_record *rec)
{
    fz_trace *tr = data;
    msgpack_sbuffer_clear(&tr->sb);
    if (pa_record_pack_sbuffer(rec, &tr->sb) != 0)
        abort();
    s_put(tr, "R", 1);
    s_put(tr, &rec->index, sizeof rec->index);
    s_put(tr, &rec->len, sizeof rec->len);
    s_put(tr, rec->raw, rec->len);
    s_put(tr, &tr->sb.size, sizeof tr->sb.size);
    s_put(tr, tr->sb.data, tr->sb.size);
    return 0;
}

static void s_trace_error(void *data, size_t index, int code, const char *msg)
{
    fz_trace *tr = data;
    size_t n = strlen(msg);
    s_put(tr, "E", 1);
    s_put(tr, &index, sizeof index);
    s_put(tr, &code, sizeof code);
    s_put(tr, &n, sizeof n);
    s_put(tr, msg, n);
}

static void s_trace_run(pa_decoder *dec, fz_trace *tr, const uint8_t *data, size_t size)
{
    pa_decode_cb cb = {s_trace_record, s_trace_error, tr};
    pa_decode_stats st;
    char err[256] = "";
    msgpack_sbuffer_clear(&tr->t);
    int rc = pa_decoder_run(dec, data, size, "fuzz.json", &cb, &st, err, sizeof(err));
    s_put(tr, &rc, sizeof rc);
    s_put(tr, err, strlen(err));
    s_put(tr, &st, sizeof st);
}

/* The one-pass path and the reference path must agree exactly. */
static void s_differential(const uint8_t *data, size_t size)
{
    static pa_decoder *dec[2][2];       /* [reference][small limit] */
    static fz_trace tr[2];
    if (!dec[0][0]) {
        for (int r = 0; r < 2; r++) {
            for (int l = 0; l < 2; l++) {
                pa_decode_opts o = {.max_record = l ? 48 : 1 << 16, .max_file = 1 << 24,
                                    .reference = r};
                if (!(dec[r][l] = pa_decoder_new(&o)))
                    abort();
            }
            msgpack_sbuffer_init(&tr[r].t);
            msgpack_sbuffer_init(&tr[r].sb);
        }
    }
    for (int l = 0; l < 2; l++) {
        s_trace_run(dec[0][l], &tr[0], data, size);
        s_trace_run(dec[1][l], &tr[1], data, size);
        if (tr[0].t.size != tr[1].t.size ||
            memcmp(tr[0].t.data, tr[1].t.data, tr[0].t.size) != 0)
            abort(); /* the two paths differ */
    }
}

static const char *const s_ptrs[] = {"/eventName", "/userIdentity/type",
                                     "/responseElements/instancesSet/items/0/instanceId",
                                     "/a~1b/~0", "/0", "/", "x/1/2"};

static void s_extract_all(fz *z, const pa_record *rec)
{
    const ev_source *src = ev_ct_source();
    ev_ct_record r = {z->sb.data, z->sb.size, rec->raw, rec->len, "fuzz", NULL};
    uint64_t ts = 0;
    (void)ev_ct_event_time(&r, &ts);
    ev_event_reset(&z->evt, &r, ts, ++z->num);
    for (size_t i = 0; i < src->nfields; i++) {
        const ev_field_def *def = &src->fields[i];
        size_t nargs = (def->flags & EV_FIELD_ARG_KEY) ? sizeof(s_ptrs) / sizeof(s_ptrs[0])
                       : (def->flags & EV_FIELD_ARG_INDEX) ? 4 : 1;
        for (size_t a = 0; a < nargs; a++) {
            ev_field_arg arg = {0};
            if (def->flags & EV_FIELD_ARG_KEY) {
                arg.has_arg = true;
                arg.arg = s_ptrs[a];
                arg.arg_len = strlen(s_ptrs[a]);
            } else if ((def->flags & EV_FIELD_ARG_INDEX) && a > 0) {
                arg.has_arg = true;
                arg.arg = "0";
                arg.arg_len = 1;
                arg.index = a - 1;
            }
            ev_vals out;
            memset(&out, 0, sizeof(out));
            out.vals = out.inline_vals;
            int n = src->extract(src->ud, &z->evt, def, &arg, &out);
            /* Touch every byte so ASan sees bad spans. */
            volatile unsigned sum = 0;
            for (int k = 0; k < n; k++)
                if (def->type == EV_TYPE_STRING)
                    for (size_t b = 0; b < out.vals[k].len; b++)
                        sum += (unsigned char)out.vals[k].s[b];
            (void)sum;
        }
    }
}

static int s_on_record(void *data, const pa_record *rec)
{
    fz *z = data;
    msgpack_packer pk;
    msgpack_sbuffer_clear(&z->sb);
    msgpack_packer_init(&pk, &z->sb, msgpack_sbuffer_write);
    if (pa_record_pack(rec, &pk) != 0)
        abort();
    size_t off = 0;
    if (msgpack_unpack_next(&z->up, z->sb.data, z->sb.size, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != z->sb.size || z->up.data.type != MSGPACK_OBJECT_MAP)
        abort(); /* the packer must produce exactly one map */
    /* the frame path (tape walk) and the DOM walk give the same bytes */
    msgpack_sbuffer_clear(&z->tape);
    msgpack_sbuffer_clear(&z->dom);
    if ((rec->json == NULL) == (rec->packed == NULL) ||
        pa_record_pack_sbuffer(rec, &z->tape) != 0 || z->tape.size != z->sb.size ||
        memcmp(z->tape.data, z->sb.data, z->sb.size) != 0)
        abort();
    if (rec->json && (pa_json_pack_sbuffer_dom(rec->json, &z->dom) != 0 ||
                      z->dom.size != z->sb.size ||
                      memcmp(z->dom.data, z->sb.data, z->sb.size) != 0))
        abort();
    s_extract_all(z, rec);
    return 0;
}

static void s_on_error(void *data, size_t index, int code, const char *msg)
{
    (void)data;
    (void)index;
    (void)code;
    if (!msg || !*msg)
        abort();
}

/* The raw-text scanner on arbitrary (unvalidated) bytes: must stay in bounds. */
static void s_scanner(const char *p, size_t n)
{
    const char *vp;
    size_t vl;
    static const char *const keys[] = {"Records", "requestParameters", "x"};
    for (size_t i = 0; i < sizeof(s_ptrs) / sizeof(s_ptrs[0]); i++)
        (void)ev_ct_json_pointer(p, n, s_ptrs[i], strlen(s_ptrs[i]), &vp, &vl);
    for (size_t k = 1; k <= 3; k++)
        (void)ev_ct_json_path(p, n, keys, k, &vp, &vl);
    (void)ev_ct_json_skip(p, p + n);
    (void)ev_ct_json_arr_get(p, p + n, 3);
    char *buf = malloc(n + 1);
    (void)ev_ct_json_compact(p, n, buf);
    (void)ev_ct_json_unescape(p, n, buf);
    (void)ev_ct_json_key_eq(p, n, "Records", 7);
    free(buf);
    size_t il = ev_ct_json_indent(p, n, NULL, 0);
    char *ib = malloc(il + 1);
    if (ev_ct_json_indent(p, n, ib, il) != il)
        abort();
    free(ib);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_scanner((const char *)data, size);
    static fz z;
    static pa_decoder *dec;
    if (!dec) {
        pa_decode_opts o = {.max_record = 1 << 16, .max_file = 1 << 24};
        dec = pa_decoder_new(&o);
        msgpack_sbuffer_init(&z.sb);
        msgpack_sbuffer_init(&z.tape);
        msgpack_sbuffer_init(&z.dom);
        msgpack_unpacked_init(&z.up);
        ev_event_init(&z.evt);
    }
    pa_decode_cb cb = {s_on_record, s_on_error, &z};
    char err[256];
    (void)pa_decoder_run(dec, data, size, "fuzz.json", &cb, NULL, err, sizeof(err));
    s_differential(data, size);
    return 0;
}
