/*
 * aws_config.c - environment snapshot and endpoint resolution (see
 * aws_config.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_config.h"

#include "aws_buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *aws_config_getenv(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

void aws_config_set(char **dst, const char *src)
{
    aws_secret_free(*dst);
    *dst = src && *src ? aws_strdup(src) : NULL;
}

static void s_take(char **dst, aws_getenv_fn get, void *ud, const char *name)
{
    aws_config_set(dst, get(name, ud));
}

int aws_config_from_env(aws_config *c, aws_getenv_fn get, void *ud)
{
    memset(c, 0, sizeof *c);
    s_take(&c->region, get, ud, "AWS_REGION");
    if (!c->region)
        s_take(&c->region, get, ud, "AWS_DEFAULT_REGION");
    s_take(&c->profile, get, ud, "AWS_PROFILE");
    s_take(&c->shared_credentials_file, get, ud, "AWS_SHARED_CREDENTIALS_FILE");
    s_take(&c->config_file, get, ud, "AWS_CONFIG_FILE");
    const char *home = get("HOME", ud);
    char path[4096];
    if (!c->shared_credentials_file && home) {
        snprintf(path, sizeof path, "%s/.aws/credentials", home);
        c->shared_credentials_file = aws_strdup(path);
    }
    if (!c->config_file && home) {
        snprintf(path, sizeof path, "%s/.aws/config", home);
        c->config_file = aws_strdup(path);
    }
    s_take(&c->access_key_id, get, ud, "AWS_ACCESS_KEY_ID");
    s_take(&c->secret_access_key, get, ud, "AWS_SECRET_ACCESS_KEY");
    s_take(&c->session_token, get, ud, "AWS_SESSION_TOKEN");
    s_take(&c->web_identity_token_file, get, ud, "AWS_WEB_IDENTITY_TOKEN_FILE");
    s_take(&c->role_arn, get, ud, "AWS_ROLE_ARN");
    s_take(&c->role_session_name, get, ud, "AWS_ROLE_SESSION_NAME");
    s_take(&c->container_relative_uri, get, ud,
           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    s_take(&c->container_full_uri, get, ud, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    s_take(&c->container_auth_token, get, ud, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    s_take(&c->container_auth_token_file, get, ud,
           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    s_take(&c->imds_endpoint, get, ud, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *dis = get("AWS_EC2_METADATA_DISABLED", ud);
    c->imds_disabled = dis && !strcasecmp(dis, "true");
    s_take(&c->endpoint_url, get, ud, "AWS_ENDPOINT_URL");
    s_take(&c->endpoint_url_s3, get, ud, "AWS_ENDPOINT_URL_S3");
    s_take(&c->endpoint_url_sqs, get, ud, "AWS_ENDPOINT_URL_SQS");
    s_take(&c->endpoint_url_sts, get, ud, "AWS_ENDPOINT_URL_STS");
    return 0;
}

void aws_config_fini(aws_config *c)
{
    char **fields[] = {
        &c->region, &c->profile, &c->shared_credentials_file, &c->config_file,
        &c->access_key_id, &c->secret_access_key, &c->session_token,
        &c->web_identity_token_file, &c->role_arn, &c->role_session_name,
        &c->container_relative_uri, &c->container_full_uri,
        &c->container_auth_token, &c->container_auth_token_file,
        &c->imds_endpoint, &c->endpoint_url, &c->endpoint_url_s3,
        &c->endpoint_url_sqs, &c->endpoint_url_sts, &c->container_host,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        aws_secret_free(*fields[i]);
        *fields[i] = NULL;
    }
}

const char *aws_partition(const char *region)
{
    if (region && !strncmp(region, "cn-", 3))
        return "aws-cn";
    if (region && !strncmp(region, "us-gov-", 7))
        return "aws-us-gov";
    return "aws";
}

const char *aws_dns_suffix(const char *region)
{
    return !strcmp(aws_partition(region), "aws-cn") ? "amazonaws.com.cn"
                                                     : "amazonaws.com";
}

static int s_valid_region(const char *r)
{
    if (!r || !*r || strlen(r) > 32)
        return 0;
    for (; *r; r++)
        if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) && *r != '-')
            return 0;
    return 1;
}

char *aws_endpoint(const aws_config *c, const char *service, const char *region)
{
    const char *over = NULL;
    if (c) {
        if (!strcmp(service, "s3"))
            over = c->endpoint_url_s3;
        else if (!strcmp(service, "sqs"))
            over = c->endpoint_url_sqs;
        else if (!strcmp(service, "sts"))
            over = c->endpoint_url_sts;
        if (!over)
            over = c->endpoint_url;
    }
    if (over) {
        size_t n = strlen(over);
        while (n && over[n - 1] == '/')
            n--;
        return aws_strndup(over, n);
    }
    if (!s_valid_region(region))
        return NULL;
    aws_buf b;
    aws_buf_init(&b);
    aws_buf_printf(&b, "https://%s.%s.%s", service, region, aws_dns_suffix(region));
    return aws_buf_steal(&b);
}
