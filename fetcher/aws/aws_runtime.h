/*
 * aws_runtime.h - one-call wiring of the AWS library for a daemon: the
 * environment snapshot, the HTTP client, the default credential chain
 * (optionally with sts:AssumeRole on top) and the signing client, plus
 * source construction from a URI.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * Typical fetcher use:
 *     aws_runtime *rt = aws_runtime_new(loop, NULL, err, sizeof err);
 *     fe_source *s = aws_source_from_uri(rt, "s3://trail-bucket/prefix",
 *                                        once, err, sizeof err);
 *     fe_daemon_add_source(d, &s);
 *     ...
 *     aws_runtime_free(rt);   // after the sources; then run the loop once
 */
#ifndef AWS_RUNTIME_H
#define AWS_RUNTIME_H

#include "aws_client.h"
#include "aws_config.h"
#include "aws_creds.h"
#include "aws_http.h"
#include "fe_source.h"

#include <stdbool.h>
#include <uv.h>

typedef struct aws_runtime aws_runtime;

typedef struct aws_runtime_opts {
    const char *ca_file;          /* NULL = system CA bundle */
    const char *assume_role_arn;  /* optional sts:AssumeRole on top of the chain */
    const char *external_id;
    const char *session_name;     /* default "trailguard" */
    aws_getenv_fn getenv_fn;      /* NULL = getenv(3) */
    void *getenv_ud;
} aws_runtime_opts;

/* Caller owns result; free with aws_runtime_free().  NULL on failure. */
aws_runtime *aws_runtime_new(uv_loop_t *loop, const aws_runtime_opts *o,
                             char *err, size_t errlen);
/* Free after every source built on it; run the loop once more. */
void aws_runtime_free(aws_runtime *rt);

aws_client *aws_runtime_client(aws_runtime *rt);
aws_http *aws_runtime_http(aws_runtime *rt);
aws_creds_chain *aws_runtime_creds(aws_runtime *rt);
const aws_config *aws_runtime_config(const aws_runtime *rt);

/*
 * Build a source from a URI with default options:
 *   s3://bucket[/prefix]                      S3 polling (once = --once)
 *   sqs://https://sqs.<region>.amazonaws.com/<acct>/<queue>  (or any
 *   http[s] queue URL after "sqs://")          SQS source (once = drain)
 * SNS needs topics and a journal: use aws_sns_source_new().  Caller owns
 * result (ops->free()).  NULL with detail in err.
 */
fe_source *aws_source_from_uri(aws_runtime *rt, const char *uri, bool once,
                               char *err, size_t errlen);

#endif
