/*
 * aws_objq.h - fetch S3 objects and hand them to the fetcher as jobs.
 *
 * Owner: AWS ingestion (fetcher/aws/).  Shared by the S3 polling source,
 * the SNS endpoint and the SQS source.
 *
 * DESIGN
 * Objects are added as (bucket, key, etag, tag).  The queue runs up to
 * `concurrency` GetObject requests (SigV4 via aws_client, UNSIGNED-PAYLOAD)
 * and submits each body through the fe_source sink of its owner source,
 * in arrival order.  Backpressure: when submit() says -EAGAIN the fetched
 * body waits, no further GetObject starts, and aws_objq_resume() (called
 * from the owner's resume()) continues.  Transient failures (timeouts,
 * 5xx, 429) are retried up to 3 times; a 301/307/400 naming another
 * region switches that bucket's region (x-amz-bucket-region or <Region>)
 * and retries.  The owner hears about every object exactly once through
 * on_result: after commit (status from the fetcher), or when the object
 * could not be fetched or was rejected (status < 0, with a message).
 *
 * Bucket URLs: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (path style unless
 * virtual_host) or https://<bucket>.s3.<region>.<suffix> (path style
 * when path_style is set or the bucket name has a dot).
 */
#ifndef AWS_OBJQ_H
#define AWS_OBJQ_H

#include "aws_client.h"
#include "aws_config.h"
#include "fe_source.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct aws_objq aws_objq;

typedef struct aws_objq_opts {
    unsigned concurrency;      /* 0 = 8 */
    size_t max_object;         /* 0 = 256 MiB */
    bool path_style;
    bool virtual_host;
    const char *region;        /* default bucket region; NULL = us-east-1 */
    /* Ask sink->is_done() before fetching an object whose ETag is known;
     * a done object gets its result (committed, the journal's status)
     * at once, without a GetObject. */
    bool skip_done;
} aws_objq_opts;

typedef struct aws_objq_stats {
    uint64_t fetched, fetch_errors, submitted, rejected, committed,
        failed_jobs, region_redirects, bytes, skipped_done;
} aws_objq_stats;

typedef struct aws_objq_cbs {
    /* Once per object.  committed: status is the fetcher's commit status
     * (0 ok, > 0 delivered with input errors, < 0 given up).  Otherwise
     * the object never became a job: status < 0 (-ENOENT for a missing
     * object) and msg (borrowed) says why. */
    void (*result)(void *tag, int status, bool committed, const char *msg,
                   void *ud);
    /* An object's bytes arrived (before submission); may be NULL. */
    void (*fetched)(void *tag, const char *bucket, const char *key,
                    const void *data, size_t len, void *ud);
    /* Something was submitted or dropped (check aws_objq_idle()). */
    void (*progress)(void *ud);
    /* Release the tag of an object dropped by aws_objq_stop()/free()
     * (no result for those); may be NULL. */
    void (*free_tag)(void *tag, void *ud);
    void *ud;
} aws_objq_cbs;

/* owner is the fe_source whose sink receives the jobs.  client and cfg
 * are borrowed; cbs is copied.  Caller owns result; free with
 * aws_objq_free(). */
aws_objq *aws_objq_new(aws_client *client, const aws_config *cfg,
                       fe_source *owner, const aws_objq_opts *o,
                       const aws_objq_cbs *cbs);
/* Drops everything, also objects submitted but never committed (no more
 * results; free_tag for each).  NULL is a no-op. */
void aws_objq_free(aws_objq *q);

void aws_objq_set_sink(aws_objq *q, const fe_source_sink *sink);
/* Queue an object (strings copied; etag may be NULL). */
void aws_objq_add(aws_objq *q, const char *bucket, const char *key,
                  const char *etag, void *tag);
void aws_objq_resume(aws_objq *q);
/* From the owner's commit(): ref is the job's ref. */
void aws_objq_commit(aws_objq *q, void *ref, int status);
/* Stop fetching and drop queued objects (free_tag, no results); submitted
 * objects still take their commit. */
void aws_objq_stop(aws_objq *q);
/* True when nothing is queued, fetching or waiting for the sink. */
bool aws_objq_idle(const aws_objq *q);
const aws_objq_stats *aws_objq_stats_get(const aws_objq *q);

/* Region known for a bucket (borrowed), or the default. */
const char *aws_objq_region(aws_objq *q, const char *bucket);
void aws_objq_set_region(aws_objq *q, const char *bucket, const char *region);

/* If resp says the bucket lives in another region, store it and return
 * true (at most once per call). */
bool aws_objq_redirect(aws_objq *q, const char *bucket,
                       const aws_http_response *resp);

/* Bucket base URL without trailing slash.  Caller owns result; free(). */
char *aws_s3_bucket_url(const aws_config *cfg, const char *bucket,
                        const char *region, bool path_style, bool virtual_host);

#endif
