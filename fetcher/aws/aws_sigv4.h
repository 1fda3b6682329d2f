/*
 * aws_sigv4.h - AWS Signature Version 4 request signer.
 *
 * Owner: AWS ingestion (fetcher/aws/).  Used for every AWS call in
 * trailguard (S3, SQS, STS here; Security Hub and CloudWatch Logs in
 * notifier/outputs/).  Do not use CURLOPT_AWS_SIGV4: Debian 12's libcurl
 * 7.88 signs S3 queries, streamed bodies and session tokens wrongly
 * (spec/aws-formats.md section 8.1).
 *
 * DESIGN
 * The signer is a pure function of its inputs: the clock is a parameter,
 * nothing is read from the environment, nothing is logged.  It follows the
 * four tasks of the AWS specification:
 *   1. canonical request  (method, canonical URI, canonical query,
 *      canonical headers, signed header list, payload hash);
 *   2. string to sign     ("AWS4-HMAC-SHA256", date, scope, hash of 1);
 *   3. signing key        (HMAC chain over date, region, service,
 *      "aws4_request", seeded with "AWS4" + secret);
 *   4. signature          (hex HMAC of 2 with 3).
 * Result: the headers the caller must add to the request (X-Amz-Date,
 * X-Amz-Security-Token, X-Amz-Content-Sha256, Authorization).  All the
 * intermediate strings are kept in the result for tests and debugging;
 * they contain no secret (the session token appears in the canonical
 * request just as it does on the wire).
 *
 * Paths and query strings are taken as they appear on the wire: %XX
 * escapes are decoded and everything is re-encoded with AWS's UriEncode
 * (unreserved characters A-Z a-z 0-9 - . _ ~ kept, everything else %XX in
 * upper case).  Non-S3 services get path normalisation ("." and ".."
 * segments and duplicate slashes removed) and double encoding; S3
 * (AWS_SIGV4_S3) gets neither, as AWS requires.
 */
#ifndef AWS_SIGV4_H
#define AWS_SIGV4_H

#include <stddef.h>
#include <string.h>
#include <time.h>

#define AWS_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define AWS_SIGV4_EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Flags for aws_sigv4_params.flags. */
enum {
    /* S3 rules: no path normalisation, single encoding. */
    AWS_SIGV4_S3 = 1u << 0,
    /* Add and sign x-amz-content-sha256 (required by S3). */
    AWS_SIGV4_CONTENT_SHA256 = 1u << 1,
    /* Add X-Amz-Security-Token after signing instead of signing it
     * (a few old services want this; AWS's post-sts-header-after case). */
    AWS_SIGV4_TOKEN_UNSIGNED = 1u << 2,
};

/* Error codes (negative). */
enum {
    AWS_SIGV4_EINVAL = -22,
};

typedef struct aws_sigv4_header {
    const char *name;    /* any case; duplicates allowed (joined by ",") */
    const char *value;
} aws_sigv4_header;

/* Credentials used to sign; all borrowed for the duration of the call. */
typedef struct aws_sigv4_key {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;   /* NULL when not temporary credentials */
} aws_sigv4_key;

typedef struct aws_sigv4_params {
    const char *method;          /* "GET", "POST", ... */
    const char *host;            /* Host header value (with :port if any) */
    const char *path;            /* wire path, "/" if empty; no query */
    const char *query;           /* wire query without '?', or NULL */
    const aws_sigv4_header *headers; /* extra headers to sign, may be NULL */
    size_t n_headers;
    const void *body;            /* payload, may be NULL */
    size_t body_len;
    /* Payload hash override: AWS_SIGV4_UNSIGNED_PAYLOAD or 64 lower-case
     * hex digits; NULL = SHA-256 of body. */
    const char *payload_hash;
    const char *region;
    const char *service;
    time_t now;                  /* signing time (UTC seconds) */
    unsigned flags;              /* AWS_SIGV4_* */
} aws_sigv4_params;

#define AWS_SIGV4_MAX_OUT 4

typedef struct aws_sigv4_result {
    /* Headers to add to the request, in this order; names and values are
     * owned by the result. */
    aws_sigv4_header out[AWS_SIGV4_MAX_OUT];
    size_t n_out;
    char *canonical_request;     /* owned; task 1 */
    char *string_to_sign;        /* owned; task 2 */
    char *authorization;         /* owned; also in out[] */
    char *signed_headers;        /* owned; "host;x-amz-date" */
    char amz_date[17];           /* "20150830T123600Z" */
} aws_sigv4_result;

/*
 * Sign a request.  On success fills *res (release with
 * aws_sigv4_result_fini()) and returns 0; on bad input returns
 * AWS_SIGV4_EINVAL, writes a reason into err and leaves *res empty.
 */
int aws_sigv4_sign(const aws_sigv4_params *p, const aws_sigv4_key *key,
                   aws_sigv4_result *res, char *err, size_t errlen);

/* Release what aws_sigv4_sign() stored; safe on a zeroed result. */
void aws_sigv4_result_fini(aws_sigv4_result *res);

/*
 * UriEncode as AWS defines it: every byte except A-Z a-z 0-9 - . _ ~ (and
 * '/' when keep_slash) becomes %XX.  Caller owns result; free with free().
 */
char *aws_uri_encode(const char *s, size_t n, int keep_slash);

/* Percent-decode (no '+' handling).  Caller owns result; free(). */
char *aws_uri_decode(const char *s, size_t n);
#define aws_uri_decode_str(s) aws_uri_decode((s), strlen(s))

/* Hex SHA-256 of data into out (65 bytes incl. NUL). */
void aws_sha256_hex(const void *data, size_t n, char out[65]);

/* Format t as ISO-8601 basic "YYYYMMDDTHHMMSSZ" (17 bytes incl. NUL). */
void aws_amz_date(time_t t, char out[17]);

#endif /* AWS_SIGV4_H */
