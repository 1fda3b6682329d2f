/*
 * pa_gunzip.c - gzip decompression with libdeflate, zlib as the streaming
 * fallback; see pa_gunzip.h.  Owner: record decoding.
 */
#include "pa_gunzip.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#define PA_GZ_4G ((size_t)1 << 32)

struct pa_gunzip {
    struct libdeflate_decompressor *d;
};

void pa_buf_init(pa_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void pa_buf_fini(pa_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int pa_buf_reserve(pa_buf *b, size_t cap)
{
    if (cap <= b->cap)
        return 0;
    unsigned char *n = realloc(b->data, cap);
    if (!n)
        return -ENOMEM;
    b->data = n;
    b->cap = cap;
    return 0;
}

bool pa_is_gzip(const void *data, size_t len)
{
    const unsigned char *p = data;
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

pa_gunzip *pa_gunzip_new(void)
{
    pa_gunzip *gz = calloc(1, sizeof(*gz));
    if (!gz)
        return NULL;
    gz->d = libdeflate_alloc_decompressor();
    if (!gz->d) {
        free(gz);
        return NULL;
    }
    return gz;
}

void pa_gunzip_free(pa_gunzip *gz)
{
    if (!gz)
        return;
    libdeflate_free_decompressor(gz->d);
    free(gz);
}

static int s_err(char *err, size_t errlen, int rc, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return rc;
}

/* zlib streaming inflate over every member.  out->len = bytes produced. */
static int s_zlib(const unsigned char *in, size_t inlen, pa_buf *out, size_t max_out,
                  char *err, size_t errlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return s_err(err, errlen, -ENOMEM, "gzip: zlib init failed");
    size_t pos = 0;
    int rc = 0;
    bool ended = false;
    out->len = 0;
    while (pos < inlen) {
        size_t room = (out->cap < max_out ? out->cap : max_out) - out->len;
        if (room == 0) {
            if (out->len >= max_out) {
                rc = s_err(err, errlen, -EFBIG, "gzip: output exceeds the size limit");
                break;
            }
            size_t ncap = out->cap ? out->cap * 2 : 1 << 16;
            if (ncap > max_out)
                ncap = max_out;
            if (pa_buf_reserve(out, ncap) != 0) {
                rc = s_err(err, errlen, -ENOMEM, "gzip: out of memory");
                break;
            }
        }
        size_t in_chunk = inlen - pos > UINT32_MAX ? UINT32_MAX : inlen - pos;
        room = (out->cap < max_out ? out->cap : max_out) - out->len;
        size_t out_chunk = room > UINT32_MAX ? UINT32_MAX : room;
        zs.next_in = (Bytef *)(in + pos);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)out_chunk;
        int zr = inflate(&zs, Z_NO_FLUSH);
        pos += in_chunk - zs.avail_in;
        out->len += out_chunk - zs.avail_out;
        ended = zr == Z_STREAM_END;
        if (zr == Z_STREAM_END) {
            /* Another member follows only if the magic does; else trailing junk. */
            if (!pa_is_gzip(in + pos, inlen - pos))
                break;
            inflateReset(&zs);
            ended = false;
            continue;
        }
        if (zr == Z_BUF_ERROR && zs.avail_out == 0)
            continue; /* needs more output space */
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR)
            rc = s_err(err, errlen, -EINVAL, "gzip: truncated input");
        else if (zr == Z_MEM_ERROR)
            rc = s_err(err, errlen, -ENOMEM, "gzip: out of memory");
        else {
            char m[160];
            snprintf(m, sizeof(m), "gzip: corrupt input (%s)", zs.msg ? zs.msg : "data error");
            rc = s_err(err, errlen, -EINVAL, m);
        }
        break;
    }
    if (rc == 0 && !ended)
        rc = s_err(err, errlen, -EINVAL, "gzip: truncated input");
    inflateEnd(&zs);
    return rc;
}

int pa_gunzip_run(pa_gunzip *gz, const void *in, size_t inlen, pa_buf *out,
                  size_t max_out, char *err, size_t errlen)
{
    const unsigned char *p = in;
    out->len = 0;
    if (max_out == 0)
        max_out = PA_GZ_4G;
    if (!pa_is_gzip(in, inlen))
        return s_err(err, errlen, -EINVAL, "gzip: not a gzip stream (bad magic)");
    if (inlen < 18)
        return s_err(err, errlen, -EINVAL, "gzip: truncated input");
    size_t isize = (size_t)p[inlen - 4] | (size_t)p[inlen - 3] << 8 |
                   (size_t)p[inlen - 2] << 16 | (size_t)p[inlen - 1] << 24;
    /* Deflate expands at most ~1032:1; an ISIZE below inlen/1100 means the
     * real size wrapped past 4 GiB or the trailer is not ours. */
    bool plausible = isize <= max_out && isize >= inlen / 1100;
    pa_gunzip *tmp = NULL;
    if (plausible && !gz) {
        gz = tmp = pa_gunzip_new();
        if (!gz)
            return s_err(err, errlen, -ENOMEM, "gzip: out of memory");
    }
    if (plausible) {
        size_t cap = isize ? isize : 64;
        for (;;) {
            if (pa_buf_reserve(out, cap) != 0) {
                pa_gunzip_free(tmp);
                return s_err(err, errlen, -ENOMEM, "gzip: out of memory");
            }
            size_t used_in = 0, got = 0;
            enum libdeflate_result r = libdeflate_gzip_decompress_ex(
                gz->d, in, inlen, out->data, cap, &used_in, &got);
            if (r == LIBDEFLATE_SUCCESS) {
                if (used_in < inlen && pa_is_gzip(p + used_in, inlen - used_in))
                    break; /* multi-member: stream it with zlib */
                out->len = got;
                pa_gunzip_free(tmp);
                return 0;
            }
            if (r == LIBDEFLATE_INSUFFICIENT_SPACE && cap < max_out && cap < PA_GZ_4G) {
                cap = cap * 2 > max_out ? max_out : cap * 2;
                continue;
            }
            if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
                break; /* big: let zlib say how big */
            break; /* bad data: zlib tells truncated from corrupt */
        }
    }
    pa_gunzip_free(tmp);
    return s_zlib(p, inlen, out, max_out, err, errlen);
}
