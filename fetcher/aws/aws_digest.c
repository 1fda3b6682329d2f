/*
 * aws_digest.c - CloudTrail digest validation (see aws_digest.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_digest.h"

#include "aws_buf.h"
#include "aws_sigv4.h"   /* aws_sha256_hex */

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static const char *s_str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int aws_digest_parse(const void *inflated, size_t len, aws_digest *d)
{
    memset(d, 0, sizeof *d);
    json_t *j = json_loadb(inflated, len, 0, NULL);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return AWS_DIGEST_EFORMAT;
    }
    d->doc = j;
    d->end_time = s_str(j, "digestEndTime");
    d->bucket = s_str(j, "digestS3Bucket");
    d->object = s_str(j, "digestS3Object");
    d->fingerprint = s_str(j, "digestPublicKeyFingerprint");
    d->algorithm = s_str(j, "digestSignatureAlgorithm");
    d->prev_signature = s_str(j, "previousDigestSignature");
    d->prev_bucket = s_str(j, "previousDigestS3Bucket");
    d->prev_object = s_str(j, "previousDigestS3Object");
    if (!d->end_time || !d->bucket || !d->object || !d->fingerprint ||
        !json_is_array(json_object_get(j, "logFiles"))) {
        aws_digest_fini(d);
        return AWS_DIGEST_EFORMAT;
    }
    return 0;
}

void aws_digest_fini(aws_digest *d)
{
    json_decref(d->doc);
    memset(d, 0, sizeof *d);
}

char *aws_digest_string_to_sign(const aws_digest *d, const void *inflated,
                                size_t len)
{
    char hash[65];
    aws_sha256_hex(inflated, len, hash);
    aws_buf b;
    aws_buf_init(&b);
    aws_buf_printf(&b, "%s\n%s/%s\n%s\n%s", d->end_time, d->bucket, d->object,
                   hash, d->prev_signature ? d->prev_signature : "null");
    return aws_buf_steal(&b);
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int aws_digest_verify(const aws_digest *d, const void *inflated, size_t len,
                      const char *bucket, const char *key, const char *sig_hex,
                      const char *pubkey_b64)
{
    if (strcmp(d->bucket, bucket) || strcmp(d->object, key))
        return AWS_DIGEST_EMOVED;
    if (d->algorithm && strcasecmp(d->algorithm, "SHA256withRSA"))
        return AWS_DIGEST_ESIG;
    size_t hl = sig_hex ? strlen(sig_hex) : 0;
    if (hl == 0 || hl % 2 || hl > 8192)
        return AWS_DIGEST_ESIG;
    unsigned char *sig = aws_xmalloc(hl / 2);
    for (size_t i = 0; i < hl / 2; i++) {
        int hi = s_hexval(sig_hex[2 * i]), lo = s_hexval(sig_hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(sig);
            return AWS_DIGEST_ESIG;
        }
        sig[i] = (unsigned char)(hi * 16 + lo);
    }
    size_t bl = pubkey_b64 ? strlen(pubkey_b64) : 0;
    unsigned char *der = aws_xmalloc(bl + 4);
    int dl = bl && bl % 4 == 0
                 ? EVP_DecodeBlock(der, (const unsigned char *)pubkey_b64, (int)bl)
                 : -1;
    if (dl > 0 && pubkey_b64[bl - 1] == '=')
        dl--;
    if (dl > 0 && pubkey_b64[bl - 2] == '=')
        dl--;
    const unsigned char *p = der;
    EVP_PKEY *pk = dl > 0 ? d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, dl) : NULL;
    int rc = AWS_DIGEST_EKEY;
    if (pk) {
        char *sts = aws_digest_string_to_sign(d, inflated, len);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        rc = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
                     EVP_DigestVerify(ctx, sig, hl / 2, (const unsigned char *)sts,
                                      strlen(sts)) == 1
                 ? 0 : AWS_DIGEST_ESIG;
        EVP_MD_CTX_free(ctx);
        free(sts);
        EVP_PKEY_free(pk);
    }
    free(der);
    free(sig);
    return rc;
}

int aws_digest_check_log(const aws_digest *d, const char *bucket,
                         const char *key, const void *inflated, size_t len)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(d->doc, "logFiles"), i, f) {
        const char *b = s_str(f, "s3Bucket"), *k = s_str(f, "s3Object");
        if (!b || !k || strcmp(b, bucket) || strcmp(k, key))
            continue;
        const char *want = s_str(f, "hashValue");
        char got[65];
        aws_sha256_hex(inflated, len, got);
        return want && !strcasecmp(want, got) ? 0 : AWS_DIGEST_EHASH;
    }
    return AWS_DIGEST_ENOTLISTED;
}

int aws_gunzip(const void *in, size_t n, size_t max, char **out, size_t *outlen)
{
    const unsigned char *b = in;
    *out = NULL;
    *outlen = 0;
    if (n < 2 || b[0] != 0x1f || b[1] != 0x8b) {
        if (n > max)
            return AWS_DIGEST_EGZIP;
        *out = aws_strndup(in, n);
        *outlen = n;
        return 0;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return AWS_DIGEST_EGZIP;
    aws_buf o;
    aws_buf_init(&o);
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    unsigned char chunk[16384];
    int zr;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        zr = inflate(&z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END)
            break;
        aws_buf_append(&o, chunk, sizeof chunk - z.avail_out);
        if (o.len > max) {
            zr = Z_DATA_ERROR;
            break;
        }
        /* concatenated gzip members */
        if (zr == Z_STREAM_END && z.avail_in > 0) {
            inflateReset(&z);
            zr = Z_OK;
        }
    } while (zr == Z_OK && (z.avail_in > 0 || z.avail_out == 0));
    inflateEnd(&z);
    if (zr != Z_STREAM_END) {
        aws_buf_fini(&o);
        return AWS_DIGEST_EGZIP;
    }
    *outlen = o.len;
    *out = aws_buf_steal(&o);
    return 0;
}
