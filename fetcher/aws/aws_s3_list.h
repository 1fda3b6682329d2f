/*
 * aws_s3_list.h - S3 ListObjectsV2 responses and CloudTrail key names.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * Pure functions, no I/O: parse a ListObjectsV2 XML page into entries and
 * common prefixes, parse an S3 error document, and take a CloudTrail object
 * key apart (layout in spec/aws-formats.md section 1):
 *   [prefix/]AWSLogs/[o-xxxxxxxxxx/]<account>/<kind>/<region>/YYYY/MM/DD/<file>
 * where kind is CloudTrail, CloudTrail-Digest or CloudTrail-Insight and
 * the file name carries the delivery time (_YYYYMMDDTHHmmZ_ or, for
 * digests, _YYYYMMDDTHHmmssZ).
 */
#ifndef AWS_S3_LIST_H
#define AWS_S3_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct aws_s3_entry {
    char *key;        /* owned */
    char *etag;       /* owned; quotes stripped */
    uint64_t size;
} aws_s3_entry;

typedef struct aws_s3_page {
    aws_s3_entry *entries;
    size_t n;
    char **prefixes;  /* CommonPrefixes */
    size_t nprefixes;
    bool truncated;
    char *next_token; /* NextContinuationToken */
} aws_s3_page;

/* 0 on success (release with aws_s3_page_fini()), -1 on malformed XML. */
int aws_s3_page_parse(const char *xml, size_t len, aws_s3_page *page);
void aws_s3_page_fini(aws_s3_page *page);

/* <Error><Code>..</Code><Region>..</Region></Error>; each out may be NULL.
 * Caller owns results (free()). */
void aws_s3_error_parse(const char *xml, size_t len, char **code, char **region);

typedef enum aws_ct_kind {
    AWS_CT_LOG = 0,
    AWS_CT_DIGEST = 1,
    AWS_CT_INSIGHT = 2,
} aws_ct_kind;

typedef struct aws_ct_key {
    aws_ct_kind kind;
    char org[32];         /* "o-abc..." or "" */
    char account[16];
    char region[32];
    time_t day;           /* from YYYY/MM/DD */
    time_t delivered;     /* from the file name; -1 if absent */
} aws_ct_key;

/* 0 when key follows the CloudTrail layout, -1 otherwise. */
int aws_ct_key_parse(const char *key, aws_ct_key *out);

/* "CloudTrail", "CloudTrail-Digest", "CloudTrail-Insight". */
const char *aws_ct_kind_name(aws_ct_kind k);

#endif
