/*
 * aws_integrity.h - CloudTrail log file integrity validation while polling.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * The S3 source (option validate_digests) hands every fetched log file to
 * aws_integrity_log(), which remembers the SHA-256 of its inflated bytes,
 * and every listed CloudTrail-Digest key to aws_integrity_digest(), which
 * fetches it (GetObject, signature from x-amz-meta-signature), gets the
 * region's public keys from CloudTrail ListPublicKeys (cached by
 * fingerprint), and verifies it with aws_digest.  Each log file the digest
 * lists is then compared with the remembered hash (or checked when it
 * arrives later).  Mismatches, invalid digests and digests that cannot be
 * checked are reported through the callback (the daemon logs/alerts) and
 * counted.  Log files listed by a digest but never fetched by this run
 * (outside its window) are counted as unchecked, not reported.
 * Maps are bounded (max_entries, oldest dropped).
 */
#ifndef AWS_INTEGRITY_H
#define AWS_INTEGRITY_H

#include "aws_client.h"
#include "aws_config.h"

#include <stdint.h>

typedef struct aws_integrity aws_integrity;

typedef struct aws_integrity_stats {
    uint64_t digests_valid, digests_invalid, digests_failed;
    uint64_t logs_valid, logs_mismatch, logs_unchecked;
} aws_integrity_stats;

/* uri: "s3://bucket/key"; msg: static text or short detail (borrowed). */
typedef void (*aws_integrity_report_cb)(const char *uri, const char *msg,
                                        void *ud);

/* client and cfg borrowed.  Caller owns result; aws_integrity_free(). */
/* progress (may be NULL) runs after each digest check finishes. */
aws_integrity *aws_integrity_new(aws_client *client, const aws_config *cfg,
                                 size_t max_entries,
                                 aws_integrity_report_cb report,
                                 void (*progress)(void *ud), void *ud);
/* Cancels requests in flight (no more reports).  NULL is a no-op. */
void aws_integrity_free(aws_integrity *v);

void aws_integrity_log(aws_integrity *v, const char *bucket, const char *key,
                       const void *data, size_t len);
void aws_integrity_digest(aws_integrity *v, const char *bucket, const char *key,
                          const char *bucket_region);
/* True when no digest fetch or key lookup is in flight. */
int aws_integrity_idle(const aws_integrity *v);
const aws_integrity_stats *aws_integrity_stats_get(const aws_integrity *v);

#endif
