/*
 * pa_decode.c - the decoding pipeline of one file; see pa_decode.h.
 * Owner: record decoding.
 */
#include "pa_decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pa_decoder {
    pa_decode_opts opts;
    pa_gunzip *gz;
    pa_json *json;
    pa_buf buf;
};

typedef struct s_run {
    pa_decoder *d;
    const pa_decode_cb *cb;
    pa_decode_stats *st;
    const char *name;
    const char *end;        /* readable up to here (text + padding) */
    size_t skip;            /* records before this one came by the fast path */
} s_run;

int pa_record_pack(const pa_record *rec, msgpack_packer *pk)
{
    if (rec->packed)
        return pk->callback(pk->data, rec->packed, rec->packed_len) == 0 ? 0 : -EIO;
    return pa_json_pack(rec->json, pk);
}

int pa_record_pack_sbuffer(const pa_record *rec, msgpack_sbuffer *sb)
{
    if (rec->packed)
        return msgpack_sbuffer_write(sb, rec->packed, rec->packed_len) == 0 ? 0 : -ENOMEM;
    return pa_json_pack_sbuffer(rec->json, sb);
}

pa_decoder *pa_decoder_new(const pa_decode_opts *opts)
{
    pa_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    if (opts)
        d->opts = *opts;
    pa_buf_init(&d->buf);
    d->gz = pa_gunzip_new();
    d->json = pa_json_new();
    if (!d->gz || !d->json) {
        pa_decoder_free(d);
        return NULL;
    }
    return d;
}

void pa_decoder_free(pa_decoder *d)
{
    if (!d)
        return;
    pa_gunzip_free(d->gz);
    pa_json_free(d->json);
    pa_buf_fini(&d->buf);
    free(d);
}

static void s_error(void *data, size_t index, int code, const char *msg)
{
    s_run *r = data;
    if (r->cb->on_error && index >= r->skip)
        r->cb->on_error(r->cb->data, index, code, msg);
}

static int s_span(void *data, const char *raw, size_t len, size_t index)
{
    s_run *r = data;
    char jerr[160], msg[256];
    if (index < r->skip)
        return 0; /* delivered by the fast path */
    /* in place when the text goes on for the padding simdjson may read */
    int rc = raw + len + PA_JSON_PADDING <= r->end
                 ? pa_json_parse_padded(r->d->json, raw, len, jerr, sizeof(jerr))
                 : pa_json_parse(r->d->json, raw, len, jerr, sizeof(jerr));
    if (rc == -ENOMEM)
        return rc;
    if (rc == 0 && pa_json_root_kind(r->d->json) != PA_JSON_OBJECT) {
        rc = PA_ERECORD;
        snprintf(jerr, sizeof(jerr), "not a JSON object");
    }
    if (rc != 0) {
        r->st->errors++;
        snprintf(msg, sizeof(msg), "file %s: record %zu: %s", r->name, index, jerr);
        s_error(r, index, PA_ERECORD, msg);
        return 0;
    }
    pa_record rec = {raw, len, index, r->d->json, NULL, 0};
    r->st->records++;
    r->st->lenient += (size_t)pa_json_lenient(r->d->json);
    return r->cb->on_record(r->cb->data, &rec);
}

static int s_fast_record(void *data, const char *raw, size_t len, const char *packed,
                         size_t packed_len)
{
    s_run *r = data;
    pa_record rec = {raw, len, r->skip, NULL, packed, packed_len};
    r->skip++;
    r->st->records++;
    return r->cb->on_record(r->cb->data, &rec);
}

/*
 * The one-pass path over text[0..len) (readable + PA_JSON_PADDING when
 * padded, else copied into d->buf).  r->skip gets the records delivered.
 * Returns 0 (whole file done), PA_JSON_FAST_BAIL (go on with the
 * reference path) or a callback's rc.
 */
static int s_fast(s_run *r, const char *text, size_t len, int padded)
{
    pa_decoder *d = r->d;
    if (d->opts.reference || len > PA_DECODE_FAST_MAX || pa_records_digest_name(r->name))
        return PA_JSON_FAST_BAIL;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (!padded) {
        if (pa_buf_reserve(&d->buf, len + PA_JSON_PADDING) != 0)
            return PA_JSON_FAST_BAIL;
        memcpy(d->buf.data, text, len);
        memset(d->buf.data + len, 0, PA_JSON_PADDING);
        text = (const char *)d->buf.data;
    }
    size_t max_record = d->opts.max_record ? d->opts.max_record : PA_RECORD_MAX_DEFAULT;
    size_t done;
    return pa_json_records(d->json, text, len, max_record, s_fast_record, r, &done);
}

int pa_decoder_run(pa_decoder *d, const void *data, size_t len, const char *name,
                   const pa_decode_cb *cb, pa_decode_stats *st, char *err,
                   size_t errlen)
{
    pa_decode_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof(*st));
    if (!name)
        name = "(unnamed)";
    st->bytes_in = len;
    const char *text = data;
    size_t tlen = len, readable = len;
    if (pa_is_gzip(data, len)) {
        char gerr[160];
        st->gzip = 1;
        int rc = pa_gunzip_run(d->gz, data, len, &d->buf, d->opts.max_file, gerr,
                               sizeof(gerr));
        if (rc != 0) {
            if (err && errlen)
                snprintf(err, errlen, "file %s: %s", name, gerr);
            return rc == -ENOMEM ? rc : PA_EGZIP;
        }
        /* room after the text so that records parse in place */
        if (pa_buf_reserve(&d->buf, d->buf.len + PA_JSON_PADDING) != 0) {
            if (err && errlen)
                snprintf(err, errlen, "file %s: out of memory", name);
            return -ENOMEM;
        }
        memset(d->buf.data + d->buf.len, 0, PA_JSON_PADDING);
        text = (const char *)d->buf.data;
        tlen = d->buf.len;
        readable = tlen + PA_JSON_PADDING;
    }
    st->bytes_decoded = tlen;
    s_run r = {d, cb, st, name, text + readable, 0};
    int frc = s_fast(&r, text, tlen, readable > tlen);
    if (frc != PA_JSON_FAST_BAIL)
        return frc;
    pa_split_stats ss;
    int rc = pa_records_split(text, tlen, name, d->opts.max_record, s_span, s_error, &r,
                              &ss, err, errlen);
    st->errors += ss.errors;
    st->oversized = ss.oversized;
    return rc;
}

int pa_decode_buffer(const void *data, size_t len, const char *name,
                     const pa_decode_opts *opts, const pa_decode_cb *cb,
                     pa_decode_stats *st, char *err, size_t errlen)
{
    pa_decoder *d = pa_decoder_new(opts);
    if (!d) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = pa_decoder_run(d, data, len, name, cb, st, err, errlen);
    pa_decoder_free(d);
    return rc;
}
