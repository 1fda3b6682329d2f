/*
 * tg_hash.c - SHA-256 over OpenSSL EVP, a 64-bit table hash, CRC32C
 * (see tg_hash.h).
 *
 * Owner: common.
 *
 * CRC32C is computed a nibble at a time from a 16-entry constant table,
 * which is fast enough for journal records and needs no initialisation.
 */
#include "tg_hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct tg_sha256 {
    EVP_MD_CTX *ctx;
    EVP_MD *md;             /* fetched once: an implicit fetch per init
                               costs more than hashing a short id */
};

static void s_hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

tg_sha256 *tg_sha256_new(void)
{
    tg_sha256 *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!h->ctx || !h->md || tg_sha256_reset(h) != 0) {
        tg_sha256_free(h);
        return NULL;
    }
    return h;
}

int tg_sha256_reset(tg_sha256 *h)
{
    return EVP_DigestInit_ex2(h->ctx, h->md, NULL) == 1 ? 0 : -EIO;
}

int tg_sha256_update(tg_sha256 *h, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -EIO;
}

int tg_sha256_final_hex(tg_sha256 *h, char out[TG_SHA256_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32) {
        out[0] = '\0';
        return -EIO;
    }
    s_hex(md, n, out);
    return 0;
}

void tg_sha256_free(tg_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}

int tg_sha256_hex(const void *data, size_t len,
                  char out[TG_SHA256_HEX_LEN + 1])
{
    tg_sha256 *h = tg_sha256_new();
    if (!h) {
        out[0] = '\0';
        return -ENOMEM;
    }
    int rc = tg_sha256_update(h, data, len);
    if (rc == 0)
        rc = tg_sha256_final_hex(h, out);
    tg_sha256_free(h);
    return rc;
}

/* ---- 64-bit hash ------------------------------------------------------ */

static inline uint64_t s_mix(uint64_t h)
{
    /* murmur3 fmix64 finaliser */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t tg_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    const uint64_t prime = 0x100000001b3ULL;
    uint64_t h = 0xcbf29ce484222325ULL ^ s_mix(seed + len);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * prime;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < len; i++)
        tail |= (uint64_t)p[i] << (8 * i);
    h = (h ^ tail) * prime;
    return s_mix(h);
}

uint64_t tg_hash64_str(const char *s, uint64_t seed)
{
    return tg_hash64(s, strlen(s), seed);
}

/* ---- CRC32C ------------------------------------------------------------ */

/* Reflected polynomial 0x82F63B78, one nibble at a time: a 16-entry table
 * is small enough to write out. */
static const uint32_t s_crc32c_nibble[16] = {
    0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1,
    0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
    0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
    0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

uint32_t tg_crc32c(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ s_crc32c_nibble[crc & 15];
        crc = (crc >> 4) ^ s_crc32c_nibble[crc & 15];
    }
    return ~crc;
}
