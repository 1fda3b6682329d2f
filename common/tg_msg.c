/*
 * tg_msg.c - pipeline frame codec, the encoding half and the error names;
 * see tg_msg.h for the wire format and tg_msg_decode.c for decoding.
 */
#include "tg_msg.h"

#include <stdio.h>
#include <string.h>

static const char *const s_errors[] = {
    "ok",
    "empty frame",
    "frame too big",
    "truncated msgpack",
    "trailing bytes after frame",
    "invalid msgpack byte",
    "out of memory",
    "frame is not an array [version, kind, body]",
    "unsupported frame version",
    "unknown frame kind",
    "frame body is not a map",
    "body key is not a string",
    "required field missing",
    "field has the wrong type",
    "number out of range",
    "batch record is not [bin, map]",
    "error entry is not [str, int, str]",
    "malformed alert",
    "nesting too deep",
    "unexpected frame kind",
};

const char *tg_msg_strerror(int code)
{
    if (code > 0 || code <= TG_MSG_E__LAST)
        return "unknown error";
    return s_errors[-code];
}

const char *tg_msg_kind_name(tg_msg_kind kind)
{
    switch (kind) {
    case TG_MSG_JOB: return "job";
    case TG_MSG_BATCH: return "batch";
    case TG_MSG_ALERTS: return "alerts";
    case TG_MSG_ACK: return "ack";
    case TG_MSG_SHM: return "shm";
    default: return "none";
    }
}

/* ---- encoders ------------------------------------------------------------ */

static void s_pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void s_key(msgpack_packer *pk, const char *k)
{
    s_pack_str(pk, k, strlen(k));
}

static void s_kv_str(msgpack_packer *pk, const char *k, tg_str v)
{
    s_key(pk, k);
    s_pack_str(pk, v.p ? v.p : "", v.p ? v.n : 0);
}

static void s_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
    s_key(pk, k);
    msgpack_pack_uint64(pk, v);
}

static void s_frame(msgpack_packer *pk, const char *kind, size_t nkeys)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint8(pk, TG_MSG_VERSION);
    s_key(pk, kind);
    msgpack_pack_map(pk, nkeys);
}

int tg_msg_encode_job(msgpack_sbuffer *sbuf, const tg_msg_job *j)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    s_frame(&pk, "job", 7);
    s_kv_u64(&pk, "id", j->id);
    s_kv_str(&pk, "ack", j->ack);
    s_kv_str(&pk, "uri", j->uri);
    s_kv_str(&pk, "identity", j->identity);
    s_kv_u64(&pk, "attempt", j->attempt);
    s_kv_u64(&pk, "arrival", j->arrival_ns);
    if (j->has_data) {
        s_key(&pk, "data");
        msgpack_pack_bin(&pk, j->data.n);
        msgpack_pack_bin_body(&pk, j->data.p, j->data.n);
    } else {
        s_kv_str(&pk, "path", j->path);
    }
    return 0;
}

int tg_msg_encode_ack(msgpack_sbuffer *sbuf, const tg_msg_ack *a)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    s_frame(&pk, "ack", 5);
    s_kv_u64(&pk, "job", a->job);
    s_kv_u64(&pk, "index", a->index);
    s_kv_u64(&pk, "count", a->count);
    s_kv_u64(&pk, "errors", a->errors);
    s_kv_u64(&pk, "status", a->status);
    return 0;
}

int tg_msg_encode_shm(msgpack_sbuffer *sbuf, const tg_msg_shm *m)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    s_frame(&pk, "shm", 3);
    s_kv_str(&pk, "seg", m->seg);
    s_kv_u64(&pk, "gen", m->gen);
    s_kv_u64(&pk, "len", m->len);
    return 0;
}

static void s_hdr_pack(msgpack_packer *pk, const tg_msg_hdr *h)
{
    s_kv_u64(pk, "job", h->job);
    s_kv_str(pk, "ack", h->ack);
    s_kv_str(pk, "uri", h->uri);
    s_kv_str(pk, "identity", h->identity);
    s_kv_u64(pk, "index", h->index);
    s_kv_u64(pk, "first", h->first);
}

static void s_alert_pack(msgpack_packer *pk, const tg_msg_alert *a)
{
    msgpack_pack_map(pk, 10);
    s_kv_str(pk, "id", a->id);
    s_kv_str(pk, "rule", a->rule);
    s_kv_str(pk, "priority", a->priority);
    s_kv_str(pk, "source", a->source);
    s_kv_u64(pk, "time", a->time_ns);
    s_key(pk, "tags");
    if (a->tag_list) {
        msgpack_pack_array(pk, a->ntags);
        for (size_t i = 0; i < a->ntags; i++)
            s_pack_str(pk, a->tag_list[i], strlen(a->tag_list[i]));
    } else if (a->tags) {
        msgpack_pack_object(pk, *a->tags);
    } else {
        msgpack_pack_array(pk, 0);
    }
    s_kv_str(pk, "output", a->output);
    s_kv_str(pk, "json", a->json);
    s_kv_u64(pk, "record", a->record);
    s_key(pk, "raw");
    msgpack_pack_bin(pk, a->raw.n);
    msgpack_pack_bin_body(pk, a->raw.p ? a->raw.p : "", a->raw.n);
}

int tg_msg_encode_alerts(msgpack_sbuffer *sbuf, const tg_msg_hdr *hdr,
                         uint32_t nrecords, tg_str ruleset,
                         const tg_msg_alert *alerts, size_t nalerts,
                         const msgpack_object *errors, uint32_t nerrors)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    s_frame(&pk, "alerts", 11);
    s_kv_u64(&pk, "count", hdr->count);
    s_hdr_pack(&pk, hdr);
    s_kv_u64(&pk, "nrecords", nrecords);
    s_kv_str(&pk, "ruleset", ruleset);
    s_key(&pk, "alerts");
    msgpack_pack_array(&pk, nalerts);
    for (size_t i = 0; i < nalerts; i++)
        s_alert_pack(&pk, &alerts[i]);
    s_key(&pk, "errors");
    msgpack_pack_array(&pk, errors ? nerrors : 0);
    for (uint32_t i = 0; errors && i < nerrors; i++)
        msgpack_pack_object(&pk, errors[i]);
    return 0;
}

/* ---- batch builder -------------------------------------------------------- */

/* Fixed prefix of a batch frame: [1, "batch", {"count": uint32 ... */
static const unsigned char s_batch_prefix[] = {
    0x93, 0x01, 0xa5, 'b', 'a', 't', 'c', 'h', 0x89,
    0xa5, 'c', 'o', 'u', 'n', 't', 0xce,
};

static void s_put_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

void tg_msg_batch_builder_init(tg_msg_batch_builder *b, msgpack_sbuffer *sbuf)
{
    memset(b, 0, sizeof(*b));
    b->sbuf = sbuf;
    msgpack_packer_init(&b->pk, sbuf, msgpack_sbuffer_write);
    msgpack_sbuffer_init(&b->errs);
    msgpack_packer_init(&b->epk, &b->errs, msgpack_sbuffer_write);
}

void tg_msg_batch_builder_fini(tg_msg_batch_builder *b)
{
    if (!b)
        return;
    msgpack_sbuffer_destroy(&b->errs);
}

void tg_msg_batch_begin(tg_msg_batch_builder *b, const tg_msg_hdr *hdr)
{
    char be[4];
    b->frame_start = b->sbuf->size;
    msgpack_sbuffer_write(b->sbuf, (const char *)s_batch_prefix,
                          sizeof(s_batch_prefix));
    b->count_off = b->sbuf->size;
    s_put_be32(be, hdr->count);
    msgpack_sbuffer_write(b->sbuf, be, 4);
    s_hdr_pack(&b->pk, hdr);
    s_key(&b->pk, "records");
    static const char arr32[5] = { (char)0xdd, 0, 0, 0, 0 };
    msgpack_sbuffer_write(b->sbuf, arr32, 5);
    b->records_off = b->sbuf->size - 4;
    b->nrecords = 0;
    b->nerrors = 0;
    b->errs.size = 0;
    b->open = true;
}

msgpack_packer *tg_msg_batch_record_begin(tg_msg_batch_builder *b,
                                          const char *raw, size_t raw_len)
{
    b->record_start = b->sbuf->size;
    msgpack_pack_array(&b->pk, 2);
    msgpack_pack_bin(&b->pk, raw_len);
    msgpack_pack_bin_body(&b->pk, raw, raw_len);
    return &b->pk;
}

void tg_msg_batch_record_end(tg_msg_batch_builder *b)
{
    b->nrecords++;
}

void tg_msg_batch_record_abort(tg_msg_batch_builder *b)
{
    b->sbuf->size = b->record_start;
}

void tg_msg_batch_add_error(tg_msg_batch_builder *b, tg_str file,
                            int64_t record, tg_str message)
{
    msgpack_pack_array(&b->epk, 3);
    s_pack_str(&b->epk, file.p ? file.p : "", file.p ? file.n : 0);
    msgpack_pack_int64(&b->epk, record);
    s_pack_str(&b->epk, message.p ? message.p : "", message.p ? message.n : 0);
    b->nerrors++;
}

size_t tg_msg_batch_size(const tg_msg_batch_builder *b)
{
    return b->sbuf->size - b->frame_start + b->errs.size;
}

void tg_msg_batch_end(tg_msg_batch_builder *b)
{
    s_put_be32(b->sbuf->data + b->records_off, b->nrecords);
    s_key(&b->pk, "errors");
    msgpack_pack_array(&b->pk, b->nerrors);
    if (b->errs.size)
        msgpack_sbuffer_write(b->sbuf, b->errs.data, b->errs.size);
    b->errs.size = 0;
    b->open = false;
}

int tg_msg_batch_patch_count(char *frame, size_t len, uint32_t count)
{
    if (len < sizeof(s_batch_prefix) + 4 ||
        memcmp(frame, s_batch_prefix, sizeof(s_batch_prefix)) != 0)
        return TG_MSG_E_INVALID;
    s_put_be32(frame + sizeof(s_batch_prefix), count);
    return 0;
}
