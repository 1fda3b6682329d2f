/*
 * fe_aws.h - the fetcher's AWS sources: s3:// and sqs:// URIs and the SNS
 * endpoint, built from the fetcher.aws.*, fetcher.sqs.* and fetcher.sns.*
 * keys on top of fetcher/aws (aws_runtime).  Compiled only when the fetcher
 * is built with fetcher/aws (TG_HAVE_AWS).
 *
 * DESIGN
 * One fe_aws per fetcher holds the aws_runtime (environment snapshot,
 * HTTP client, credential chain, optional AssumeRole) that every AWS
 * source borrows, and the metrics of the SNS endpoint.  Sources go
 * straight into the fe_daemon.  SNS rejections are logged here (the
 * daemon layer) with the remote address and counted as
 * trailguard_errors_total{kind="sns_signature"} (bad or forged signature,
 * untrusted or unavailable signing certificate) or {kind="sns_rejected"}
 * (anything else: malformed, stale, foreign topic, too large).
 */
#ifndef FE_AWS_H
#define FE_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "fe_daemon.h"

typedef struct fe_aws fe_aws;

/* True for URIs an fe_aws source serves (s3://, sqs://). */
bool fe_aws_is_uri(const char *uri);

/* cfg, common and d are borrowed and must outlive the result.  Caller
 * owns result; free with fe_aws_free() after fe_daemon_free().  NULL with
 * detail in err. */
fe_aws *fe_aws_new(uv_loop_t *loop, fe_daemon *d, const fe_config *cfg,
                   const tg_daemon_common *common, char *err, size_t errlen);

/* Add an s3:// or sqs:// source to the daemon.  0 or negative with detail
 * in err. */
int fe_aws_add_uri(fe_aws *a, const char *uri, bool once, char *err,
                   size_t errlen);

/* Add the SNS endpoint when fetcher.sns.topics is set (else nothing).
 * 0 or negative with detail in err. */
int fe_aws_add_sns(fe_aws *a, char *err, size_t errlen);

/* After fe_daemon_start(): log where the SNS endpoint listens. */
void fe_aws_started(fe_aws *a);

/* NULL is a no-op.  Run the loop once more afterwards. */
void fe_aws_free(fe_aws *a);

#endif /* FE_AWS_H */
