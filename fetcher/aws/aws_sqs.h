/*
 * aws_sqs.h - the SQS source: CloudTrail/S3 notifications from a queue.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * ReceiveMessage long polls (AWS JSON 1.0 protocol, X-Amz-Target
 * AmazonSQS.*, SigV4 service "sqs") with MessageSystemAttributeNames
 * ApproximateReceiveCount.  A body is an SNS envelope (Type Notification,
 * RawMessageDelivery=false) whose Message is a CloudTrail notification
 * {s3Bucket, s3ObjectKey[]}, an S3 event or an EventBridge S3 "Object
 * Created" event, or one of those directly (raw delivery; an EventBridge
 * rule targeting the queue).  Keys outside /CloudTrail/ are ignored unless enabled;
 * S3 test events and messages naming nothing are deleted at once.
 *
 * The objects of a message become jobs through aws_objq; the message is
 * deleted only after every one of its jobs was committed by the fetcher
 * (at-least-once: a crash means redelivery, and the fetcher's journal
 * skips what was already done).  While jobs run, the visibility of their
 * message is extended every visibility/3 seconds (checked each second).  A message that failed
 * (a job given up, an object that cannot be read, an unparseable body) is
 * left to become visible again; once its ApproximateReceiveCount exceeds
 * max_receives it is dead-lettered: sent to dlq_url when set, deleted,
 * and reported through sink->failed().  No new ReceiveMessage starts while
 * max_inflight messages are unfinished.
 */
#ifndef AWS_SQS_H
#define AWS_SQS_H

#include "aws_client.h"
#include "aws_config.h"
#include "fe_source.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct aws_sqs_opts {
    const char *queue_url;        /* required */
    const char *region;           /* NULL = from the queue URL, config, us-east-1 */
    unsigned max_messages;        /* per receive, 1..10; 0 = 10 */
    unsigned wait_s;              /* long poll 0..20; 0 = 20 (use 1 in tests) */
    unsigned visibility_s;        /* 0 = 300 */
    unsigned max_receives;        /* dead-letter after this many; 0 = 5 */
    const char *dlq_url;          /* optional dead-letter queue */
    unsigned max_inflight;        /* unfinished messages; 0 = 20 */
    bool include_digest, include_insight;
    unsigned concurrency;         /* GetObject in flight; 0 = 8 */
    size_t max_object;
    bool path_style;
    const char *bucket_region;    /* default bucket region; NULL = region */
    /* Drain: receive until the queue answers empty, submit, done().  Also
     * turned on by sink->once (--once).  Deletes still follow commits. */
    bool once;
} aws_sqs_opts;

typedef struct aws_sqs_stats {
    uint64_t receives, receive_errors, messages, deleted, delete_errors,
        ignored, unparseable, extended, dead_lettered, objects, objects_failed;
} aws_sqs_stats;

/* client and cfg borrowed.  Caller owns result; release with ops->free()
 * and run the loop once more.  NULL on bad options (detail in err). */
fe_source *aws_sqs_source_new(const aws_sqs_opts *o, aws_client *client,
                              const aws_config *cfg, char *err, size_t errlen);
const aws_sqs_stats *aws_sqs_source_stats(const fe_source *s);

#endif
