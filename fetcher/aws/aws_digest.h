/*
 * aws_digest.h - CloudTrail log file integrity validation: digest files.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * Pure functions over bytes already fetched (no I/O): the caller gets the
 * digest object and its x-amz-meta-signature header from S3, and the
 * region's public keys from CloudTrail ListPublicKeys (base64 DER PKCS#1,
 * matched by digestPublicKeyFingerprint).  A digest is valid when it
 * still sits where CloudTrail put it (digestS3Bucket/digestS3Object) and
 * its SHA256withRSA signature verifies over
 *     digestEndTime "\n" bucket "/" object "\n" hex(SHA-256(inflated
 *     digest)) "\n" (previousDigestSignature, or "null" for the first)
 * A log file is valid when the SHA-256 of its inflated content equals the
 * hashValue listed for it.  Chains: a digest's previousDigestSignature
 * must equal the signature of the digest at previousDigestS3Object.
 */
#ifndef AWS_DIGEST_H
#define AWS_DIGEST_H

#include <stddef.h>

enum {
    AWS_DIGEST_EFORMAT = -1,     /* not a digest document */
    AWS_DIGEST_EMOVED = -2,      /* not at its original location */
    AWS_DIGEST_EKEY = -3,        /* public key unusable */
    AWS_DIGEST_ESIG = -4,        /* signature does not verify */
    AWS_DIGEST_EHASH = -5,       /* log file hash differs */
    AWS_DIGEST_ENOTLISTED = -6,  /* log file not in this digest */
    AWS_DIGEST_EGZIP = -7,       /* bad gzip / too large */
};

typedef struct aws_digest {
    void *doc;                   /* json_t *, owned */
    const char *end_time, *bucket, *object, *fingerprint, *algorithm,
        *prev_signature, *prev_bucket, *prev_object;  /* borrowed from doc */
} aws_digest;

/* Parse an inflated digest.  0 or AWS_DIGEST_EFORMAT. */
int aws_digest_parse(const void *inflated, size_t len, aws_digest *d);
void aws_digest_fini(aws_digest *d);

/* The data signing string.  Caller owns result; free(). */
char *aws_digest_string_to_sign(const aws_digest *d, const void *inflated,
                                size_t len);

/* Check location and signature (sig_hex from x-amz-meta-signature,
 * pubkey_b64 from ListPublicKeys).  0 or AWS_DIGEST_E*. */
int aws_digest_verify(const aws_digest *d, const void *inflated, size_t len,
                      const char *bucket, const char *key, const char *sig_hex,
                      const char *pubkey_b64);

/* Check one log file's inflated bytes against the digest.  0 or
 * AWS_DIGEST_EHASH / AWS_DIGEST_ENOTLISTED. */
int aws_digest_check_log(const aws_digest *d, const char *bucket,
                         const char *key, const void *inflated, size_t len);

/* Inflate gzip data (or copy when it is not gzip: magic sniffed), at most
 * max bytes.  0 with *out (caller owns; free()) or AWS_DIGEST_EGZIP. */
int aws_gunzip(const void *in, size_t n, size_t max, char **out, size_t *outlen);

#endif
