/*
 * aws_runtime.c - daemon wiring (see aws_runtime.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_runtime.h"

#include "aws_buf.h"
#include "aws_s3.h"
#include "aws_sqs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aws_runtime {
    aws_config cfg;
    aws_http *http;
    aws_creds_chain *base;        /* default chain */
    aws_creds_chain *chain;       /* what signs: base or AssumeRole on it */
    aws_client *client;
};

aws_runtime *aws_runtime_new(uv_loop_t *loop, const aws_runtime_opts *o,
                             char *err, size_t errlen)
{
    aws_runtime *rt = aws_xcalloc(1, sizeof *rt);
    aws_config_from_env(&rt->cfg, o && o->getenv_fn ? o->getenv_fn : aws_config_getenv,
                        o ? o->getenv_ud : NULL);
    if (!rt->cfg.region) {
        char *r = NULL;
        if (aws_config_profile_region(&rt->cfg, &r) == 0)
            rt->cfg.region = r;
    }
    aws_http_opts ho = {.ca_file = o ? o->ca_file : NULL};
    rt->http = aws_http_new(loop, &ho);
    if (!rt->http) {
        snprintf(err, errlen, "aws: cannot create the HTTP client");
        aws_config_fini(&rt->cfg);
        free(rt);
        return NULL;
    }
    rt->base = aws_creds_chain_default(loop, &rt->cfg, rt->http);
    rt->chain = rt->base;
    if (o && o->assume_role_arn && *o->assume_role_arn) {
        aws_creds_provider *bp = aws_creds_chain_as_provider(rt->base);
        aws_creds_provider *ar = aws_creds_assume_role_new(
            &bp, &rt->cfg, rt->http, o->assume_role_arn, o->external_id,
            o->session_name);
        rt->chain = aws_creds_chain_new(loop, &ar, 1);
    }
    rt->client = aws_client_new(rt->http, rt->chain);
    return rt;
}

void aws_runtime_free(aws_runtime *rt)
{
    if (!rt)
        return;
    aws_client_free(rt->client);
    if (rt->chain != rt->base)
        aws_creds_chain_free(rt->chain);
    aws_creds_chain_free(rt->base);
    aws_http_free(rt->http);
    aws_config_fini(&rt->cfg);
    free(rt);
}

aws_client *aws_runtime_client(aws_runtime *rt)
{
    return rt->client;
}

aws_http *aws_runtime_http(aws_runtime *rt)
{
    return rt->http;
}

aws_creds_chain *aws_runtime_creds(aws_runtime *rt)
{
    return rt->chain;
}

const aws_config *aws_runtime_config(const aws_runtime *rt)
{
    return &rt->cfg;
}

fe_source *aws_source_from_uri(aws_runtime *rt, const char *uri, bool once,
                               char *err, size_t errlen)
{
    if (!rt || !uri) {
        snprintf(err, errlen, "aws: no URI");
        return NULL;
    }
    if (!strncmp(uri, "s3://", 5)) {
        aws_s3_opts o = {.uri = uri, .once = once};
        return aws_s3_source_new(&o, rt->client, &rt->cfg, err, errlen);
    }
    if (!strncmp(uri, "sqs://", 6)) {
        aws_sqs_opts o = {.queue_url = uri + 6, .once = once};
        return aws_sqs_source_new(&o, rt->client, &rt->cfg, err, errlen);
    }
    snprintf(err, errlen, "aws: unsupported source URI (want s3://... or sqs://https://...)");
    return NULL;
}
