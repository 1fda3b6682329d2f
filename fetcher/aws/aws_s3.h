/*
 * aws_s3.h - the S3 polling source: CloudTrail files from s3://bucket/prefix.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * Every interval the source (1) discovers the trail prefixes under the
 * URI with delimiter listings - AWSLogs/<account>/CloudTrail/<region>/,
 * organization trails AWSLogs/<o-id>/<account>/..., trails at the bucket
 * root or under a prefix, or a URI that already points inside that tree -
 * then (2) lists each account/region prefix with ListObjectsV2 (paged)
 * from a checkpoint: StartAfter = the day folder of max(start time,
 * newest delivery seen - lookback).  Keys whose delivery time is older
 * than that are skipped, as are keys in a bounded set of seen keys, so a
 * file delivered late under an earlier name is still picked up while it
 * is inside the lookback window.  Digest and Insight files are skipped
 * unless enabled.  (3) Objects are fetched with GetObject, `concurrency`
 * at a time, and submitted as jobs through the fe_source sink with their
 * bytes (gzip or not: the parser sniffs the magic).  When the sink is full
 * (-EAGAIN) fetched objects wait, and no new GetObject starts, until
 * resume().  The identity of a job is "<bucket>/<key>/<etag>".
 *
 * The bucket's region is discovered from the x-amz-bucket-region header
 * or the <Region> of a 301/400 error and the request is retried there.
 * Endpoints follow aws_config (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL,
 * partitions aws, aws-cn, aws-us-gov).  Virtual-hosted URLs are used for
 * AWS endpoints unless path_style is set or the bucket name contains a
 * dot; custom endpoints use path style unless virtual_host is set.
 *
 * With once = true the source lists one pass, submits what it found,
 * and calls sink->done().  Module does not log; counters are exposed.
 */
#ifndef AWS_S3_H
#define AWS_S3_H

#include "aws_client.h"
#include "aws_config.h"
#include "fe_source.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct aws_s3_opts {
    const char *uri;            /* "s3://bucket[/prefix]" */
    const char *region;         /* first guess; NULL = config, else us-east-1 */
    bool path_style;            /* force https://s3.<region>.../bucket/key */
    bool virtual_host;          /* force bucket.host with custom endpoints */
    unsigned interval_s;        /* poll interval; 0 = 60 */
    const char *start;          /* "24h", "90m", "7d", RFC 3339; NULL = "24h" */
    unsigned lookback_s;        /* 0 = 3600 */
    size_t seen_max;            /* 0 = 200000 */
    unsigned concurrency;       /* GetObject in flight; 0 = 8 */
    size_t max_object;          /* bytes; 0 = 256 MiB */
    bool include_digest;
    bool include_insight;
    bool once;
    /* Log file integrity validation (aws_integrity): digests are fetched
     * and verified, fetched log files are checked against them, problems
     * are reported through sink->failed().  Needs cloudtrail:ListPublicKeys. */
    bool validate_digests;
} aws_s3_opts;

typedef struct aws_s3_stats {
    uint64_t polls, list_requests, list_errors;
    uint64_t roots;             /* account/region prefixes known */
    uint64_t listed, skipped_old, skipped_seen, skipped_kind;
    uint64_t fetched, fetch_errors, submitted, rejected, committed, failed_jobs;
    uint64_t region_redirects;
    uint64_t bytes;
    uint64_t skipped_done;      /* the fetcher's journal had it: not fetched */
} aws_s3_stats;

/*
 * Create the source.  opts strings are copied; client and cfg are borrowed
 * and must outlive the source.  Caller owns result; release with
 * ops->free() (then run the loop once more).  NULL on a bad URI or option
 * with detail in err.
 */
fe_source *aws_s3_source_new(const aws_s3_opts *opts, aws_client *client,
                             const aws_config *cfg, char *err, size_t errlen);

/* Counters of an S3 source (s must come from aws_s3_source_new()). */
const aws_s3_stats *aws_s3_source_stats(const fe_source *s);

/* Integrity counters, or NULL when validate_digests is off. */
struct aws_integrity_stats;
const struct aws_integrity_stats *aws_s3_source_integrity(const fe_source *s);

/* The bucket region currently used (borrowed). */
const char *aws_s3_source_region(const fe_source *s);

/* "24h" / "90m" / "7d" / "3600s" / RFC 3339 -> absolute time (relative
 * to now).  -1 on error. */
time_t aws_s3_parse_start(const char *spec, time_t now);

#endif
