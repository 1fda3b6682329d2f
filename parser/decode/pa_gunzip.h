/*
 * pa_gunzip.h - gzip detection and decompression of fetched files.
 * Owner: record decoding (parser/decode/).
 *
 * DESIGN
 * gzip is detected by its magic bytes (1f 8b), never by the file name.  A
 * single-member file whose ISIZE trailer (size mod 2^32) is plausible is
 * decompressed in one call by libdeflate into a buffer of that size; when
 * libdeflate reports insufficient space the buffer doubles and it retries.
 * Multi-member files (concatenated gzip streams), outputs above 4 GiB and
 * implausible trailers go through zlib's streaming inflate, member after
 * member.  Bytes after the last member that do not start a new member are
 * ignored, as gzip(1) does.  A truncated or corrupt stream is an error with
 * a message; so is an output larger than the caller's limit (gzip bombs).
 */
#ifndef PA_GUNZIP_H
#define PA_GUNZIP_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer; embed it, pa_buf_init()/pa_buf_fini(). */
typedef struct pa_buf {
    unsigned char *data;    /* owned; NULL until first use */
    size_t len;
    size_t cap;
} pa_buf;

void pa_buf_init(pa_buf *b);
void pa_buf_fini(pa_buf *b);
/* Make room for cap bytes (keeps contents). 0 or -ENOMEM. */
int pa_buf_reserve(pa_buf *b, size_t cap);

/* True when data starts with the gzip magic 1f 8b. */
bool pa_is_gzip(const void *data, size_t len);

typedef struct pa_gunzip pa_gunzip;

/* Caller owns result (a reusable libdeflate decompressor); free with
 * pa_gunzip_free().  NULL on out of memory. */
pa_gunzip *pa_gunzip_new(void);
/* Accepts NULL. */
void pa_gunzip_free(pa_gunzip *gz);

/*
 * Decompress the gzip file in[0..inlen) into out (replacing its contents;
 * out->len is set).  max_out bounds the output (0 = 4 GiB).  gz may be NULL
 * (a temporary decompressor is used).
 * Returns 0; -EINVAL for a non-gzip, corrupt or truncated input, -EFBIG
 * when the output exceeds max_out, -ENOMEM; err gets a one-line reason.
 */
int pa_gunzip_run(pa_gunzip *gz, const void *in, size_t inlen, pa_buf *out,
                  size_t max_out, char *err, size_t errlen);

#endif /* PA_GUNZIP_H */
