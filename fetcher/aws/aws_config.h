/*
 * aws_config.h - AWS settings taken from the environment, and endpoint
 * resolution (regions, partitions, AWS_ENDPOINT_URL*).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * aws_config_from_env() takes one snapshot of every variable the SDKs
 * honour, through a lookup function so that tests pass their own
 * environment (the daemon passes aws_config_getenv).  Nothing else in the
 * library reads the environment.  Values that are secrets are kept only
 * here and in aws_creds; they are never formatted into error messages.
 *
 * Endpoints: AWS_ENDPOINT_URL_<SERVICE> wins, then AWS_ENDPOINT_URL, then
 * the partition default https://<service>.<region>.<dns suffix> where the
 * partition follows the region: cn-* -> aws-cn (amazonaws.com.cn),
 * us-gov-* -> aws-us-gov, everything else -> aws (amazonaws.com).
 */
#ifndef AWS_CONFIG_H
#define AWS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef const char *(*aws_getenv_fn)(const char *name, void *ud);

/* Every string owned by the struct (aws_config_fini()); NULL = unset. */
typedef struct aws_config {
    char *region;                 /* AWS_REGION, else AWS_DEFAULT_REGION */
    char *profile;                /* AWS_PROFILE (else "default") */
    char *shared_credentials_file;/* AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials */
    char *config_file;            /* AWS_CONFIG_FILE or ~/.aws/config */
    char *access_key_id;          /* AWS_ACCESS_KEY_ID (secret-adjacent) */
    char *secret_access_key;      /* AWS_SECRET_ACCESS_KEY (secret) */
    char *session_token;          /* AWS_SESSION_TOKEN (secret) */
    char *web_identity_token_file;/* AWS_WEB_IDENTITY_TOKEN_FILE */
    char *role_arn;               /* AWS_ROLE_ARN */
    char *role_session_name;      /* AWS_ROLE_SESSION_NAME */
    char *container_relative_uri; /* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI */
    char *container_full_uri;     /* AWS_CONTAINER_CREDENTIALS_FULL_URI */
    char *container_auth_token;   /* AWS_CONTAINER_AUTHORIZATION_TOKEN (secret) */
    char *container_auth_token_file; /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE */
    char *imds_endpoint;          /* AWS_EC2_METADATA_SERVICE_ENDPOINT */
    bool imds_disabled;           /* AWS_EC2_METADATA_DISABLED=true */
    char *endpoint_url;           /* AWS_ENDPOINT_URL */
    char *endpoint_url_s3;        /* AWS_ENDPOINT_URL_S3 */
    char *endpoint_url_sqs;       /* AWS_ENDPOINT_URL_SQS */
    char *endpoint_url_sts;       /* AWS_ENDPOINT_URL_STS */
    /* Not from the environment: test seam for the ECS relative URI host
     * (default "http://169.254.170.2"). */
    char *container_host;
} aws_config;

/* Default lookup: getenv(3); ud unused. */
const char *aws_config_getenv(const char *name, void *ud);

/* Fill c from the environment.  0 or -1 (OOM is fatal anyway). */
int aws_config_from_env(aws_config *c, aws_getenv_fn get, void *ud);
void aws_config_fini(aws_config *c);

/* Replace *dst by a copy of src (NULL allowed). */
void aws_config_set(char **dst, const char *src);

/* Region of the selected profile in the config file.  0 with *region
 * (caller owns; free()) or AWS_CREDS_ENOTFOUND-like -2. */
int aws_config_profile_region(const aws_config *c, char **region);

/* "aws", "aws-cn" or "aws-us-gov" for a region. */
const char *aws_partition(const char *region);
/* "amazonaws.com" or "amazonaws.com.cn". */
const char *aws_dns_suffix(const char *region);

/*
 * Base URL (scheme://host[:port][/path], no trailing slash) for service
 * ("s3", "sqs", "sts", "logs", ...) in region.  Caller owns result;
 * free().  NULL when region is needed but unset.
 */
char *aws_endpoint(const aws_config *c, const char *service, const char *region);

#endif
