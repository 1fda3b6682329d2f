/*
 * aws_sns_msg.h - SNS HTTP(S) delivery messages: parsing, the exact string
 * to sign, signature verification (SignatureVersion 1 = SHA1withRSA,
 * 2 = SHA256withRSA), SigningCertURL checks, and the S3 objects a
 * Notification refers to (CloudTrail {s3Bucket, s3ObjectKey[]}, S3 event
 * notifications, EventBridge S3 "Object Created" events).  Pure
 * functions; no I/O.
 *
 * Owner: AWS ingestion (fetcher/aws/).  Format: spec/aws-formats.md s3.
 */
#ifndef AWS_SNS_MSG_H
#define AWS_SNS_MSG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef enum aws_sns_type {
    AWS_SNS_NOTIFICATION = 1,
    AWS_SNS_SUBSCRIBE = 2,     /* SubscriptionConfirmation */
    AWS_SNS_UNSUBSCRIBE = 3,   /* UnsubscribeConfirmation */
} aws_sns_type;

/* Every string owned (aws_sns_msg_fini()); NULL when absent. */
typedef struct aws_sns_msg {
    aws_sns_type type;
    char *type_str, *message_id, *topic_arn, *subject, *message, *timestamp,
        *signature_version, *signature, *signing_cert_url, *subscribe_url,
        *token, *unsubscribe_url;
    time_t ts;
} aws_sns_msg;

/* 0 or -1 (not JSON, not an SNS message, missing or non-string field,
 * unknown Type); err gets a short reason. */
int aws_sns_msg_parse(const char *body, size_t len, aws_sns_msg *m,
                      char *err, size_t errlen);
void aws_sns_msg_fini(aws_sns_msg *m);

/* The string to sign for m's type.  Caller owns result; free(). */
char *aws_sns_string_to_sign(const aws_sns_msg *m);

/* Default host pattern of both AWS validators. */
#define AWS_SNS_HOST_PATTERN "^sns\\.[a-zA-Z0-9\\-]{3,}\\.amazonaws\\.com(\\.cn)?$"

/* https, authority ("host[:port]") matching the compiled pattern, path
 * ending in ".pem", no user info.  true when acceptable. */
bool aws_sns_cert_url_ok(const char *url, const regex_t *host_re);
/* Same checks except the .pem suffix (SubscribeURL). */
bool aws_sns_https_url_ok(const char *url, const regex_t *host_re);

/* Verify m's Signature with the certificate (PEM).  0 valid, -1 invalid
 * or unusable (bad base64, bad PEM, unknown SignatureVersion). */
int aws_sns_verify(const aws_sns_msg *m, const char *cert_pem, size_t pem_len);

typedef struct aws_sns_obj {
    char *bucket, *key, *etag;   /* owned; etag may be NULL */
} aws_sns_obj;

/* Objects named by a Notification's Message (or an SQS body): a
 * CloudTrail notification {s3Bucket, s3ObjectKey[]}, an S3 event
 * notification {Records[]} (ObjectCreated:* only), or an EventBridge event
 * {detail-type "Object Created", source "aws.s3", detail{bucket, object}}.
 * Returns the count (objs is malloc'd, free with aws_sns_objs_free()), 0
 * for messages that name none (S3 test events, other events, unrelated
 * JSON), -1 when the Message is not JSON.  S3 event notification keys
 * are URL-decoded ('+' is a space); CloudTrail and EventBridge keys are
 * plain and taken as they are. */
int aws_sns_objects(const char *message, aws_sns_obj **objs);
void aws_sns_objs_free(aws_sns_obj *objs, int n);

#endif
