/*
 * nt_aws.h - signed AWS JSON calls for the securityhub and cloudwatch
 * outputs, on fetcher/aws (aws_http, aws_creds chain, aws_sigv4).
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * Each AWS output owns one nt_aws: an HTTP client, the default
 * credential chain (environment, web identity, profile, ECS, IMDSv2;
 * cross-account roles through AWS_ROLE_ARN / profiles), the region and the service endpoint
 * (`endpoint` setting, else AWS_ENDPOINT_URL[_<SVC>], else the partition
 * default).  nt_aws_call() sends through aws_client (credentials, SigV4
 * at the current time, aws_http); the callback gets the raw response.  nt_aws_fini() drops everything in flight: no callback runs
 * after it.
 *
 * nt_aws_error() reads the AWS error type from a JSON error body
 * ("__type" / "code", with any "prefix#" removed) or the
 * x-amzn-errortype header.
 */
#ifndef NT_AWS_H
#define NT_AWS_H

#include <stddef.h>
#include <uv.h>

#include "aws_config.h"
#include "aws_creds.h"
#include "aws_http.h"

typedef struct nt_aws {
    uv_loop_t *loop;
    aws_config cfg;
    aws_http *http;
    aws_creds_chain *chain;
    struct aws_client *client;
    char *service;              /* signing name: "securityhub", "logs" */
    char *region;
    char *endpoint;             /* base URL, no trailing slash */
    char *sts_endpoint;
} nt_aws;

/* rc < 0: transport or credential failure (resp NULL). */
typedef void (*nt_aws_cb)(int rc, const aws_http_response *resp,
                          void *data);

/*
 * Set up for `service`.  region/endpoint/ca_file may be NULL (defaults
 * from the environment).  0 or -EINVAL with err; call nt_aws_fini()
 * either way.
 */
int nt_aws_init(nt_aws *a, uv_loop_t *loop, const char *service,
                const char *region, const char *endpoint, const char *ca_file,
                char *err, size_t errlen);

/* Release; in-flight calls are dropped (no callback). */
void nt_aws_fini(nt_aws *a);

/*
 * POST `body` to <endpoint><path> (sts: true = the STS endpoint, service
 * "sts"), with Content-Type ctype and X-Amz-Target target (NULL = none).
 * 0 (cb runs once, later) or negative (cb never runs).
 */
int nt_aws_call(nt_aws *a, int sts, const char *path, const char *ctype,
                const char *target, const char *body, size_t len,
                nt_aws_cb cb, void *data);

/* Error type of a failed response into buf ("" when unknown). */
void nt_aws_error(const aws_http_response *resp, char *buf, size_t len);

/*
 * What an answer means for delivery (NT_ITEM_*): 2xx ok; transport
 * errors, 5xx, 429, throttling, expired/invalid credentials, missing
 * permissions and a missing log group/stream retry (the alerts are kept
 * and spooled while an operator fixes it); other 4xx reject.  The error
 * type goes to type.
 */
int nt_aws_classify(int rc, const aws_http_response *resp, char *type,
                    size_t len);

/* The account id in an STS GetCallerIdentity answer (XML or JSON) into
 * buf; 0 or -EINVAL. */
int nt_aws_parse_account(const char *body, char *buf, size_t len);

#endif /* NT_AWS_H */
