/*
 * tg_hash.h - hashes: SHA-256 (hex) over OpenSSL EVP for stable ids and
 * ruleset hashes, a fast 64-bit hash for hash tables, and CRC32C.
 *
 * Owner: common.
 *
 * tg_hash64 is FNV-1a style mixing over 8-byte words with a final
 * avalanche (not cryptographic; do not use on attacker-chosen keys
 * without a random seed).
 */
#ifndef TG_HASH_H
#define TG_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TG_SHA256_HEX_LEN 64    /* plus NUL: char buf[TG_SHA256_HEX_LEN + 1] */

/* SHA-256 of data as 64 lower-case hex digits + NUL in out.  0 or
 * -ENOMEM / -EIO (OpenSSL failure). */
int tg_sha256_hex(const void *data, size_t len,
                  char out[TG_SHA256_HEX_LEN + 1]);

/* Incremental SHA-256. */
typedef struct tg_sha256 tg_sha256;
/* Caller owns result; free with tg_sha256_free().  NULL on failure. */
tg_sha256 *tg_sha256_new(void);
int tg_sha256_update(tg_sha256 *h, const void *data, size_t len);
/* Finish.  The object can then be freed, or reset for another hash.
 * 0 or -EIO. */
int tg_sha256_final_hex(tg_sha256 *h, char out[TG_SHA256_HEX_LEN + 1]);
/* Start a new hash on the same object (cheaper than a new object: no
 * allocation, no algorithm fetch).  0 or -EIO. */
int tg_sha256_reset(tg_sha256 *h);
/* NULL is a no-op. */
void tg_sha256_free(tg_sha256 *h);

/* 64-bit non-cryptographic hash of data with a seed. */
uint64_t tg_hash64(const void *data, size_t len, uint64_t seed);
/* Same for a NUL-terminated string. */
uint64_t tg_hash64_str(const char *s, uint64_t seed);

/* CRC32C (Castagnoli).  Start with crc = 0; chain by passing the previous
 * result.  tg_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t tg_crc32c(uint32_t crc, const void *data, size_t len);

#endif /* TG_HASH_H */
