/*
 * nt_aws.c - signed AWS calls for the outputs (see nt_aws.h).
 *
 * Owner: notifier outputs.
 */
#include "nt_aws.h"

#include "aws_buf.h"
#include "aws_client.h"
#include "nt_plugin.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int nt_aws_init(nt_aws *a, uv_loop_t *loop, const char *service,
                const char *region, const char *endpoint, const char *ca_file,
                char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    a->loop = loop;
    a->service = aws_strdup(service);
    aws_config_from_env(&a->cfg, aws_config_getenv, NULL);
    a->region = aws_strdup(region && *region ? region : a->cfg.region);
    if (!a->region) {
        snprintf(err, errlen, "no AWS region: set 'region' or AWS_REGION");
        return -EINVAL;
    }
    a->endpoint = endpoint && *endpoint
                      ? aws_strdup(endpoint)
                      : aws_endpoint(&a->cfg, service, a->region);
    a->sts_endpoint = aws_endpoint(&a->cfg, "sts", a->region);
    if (!a->endpoint || !a->sts_endpoint) {
        snprintf(err, errlen, "cannot resolve the %s endpoint for region %s",
                 service, a->region);
        return -EINVAL;
    }
    size_t el = strlen(a->endpoint);
    while (el && a->endpoint[el - 1] == '/')
        a->endpoint[--el] = 0;
    aws_http_opts ho = {.ca_file = ca_file};
    a->http = aws_http_new(loop, &ho);
    if (!a->http) {
        snprintf(err, errlen, "cannot create HTTP client");
        return -ENOMEM;
    }
    a->chain = aws_creds_chain_default(loop, &a->cfg, a->http);
    if (a->chain)
        a->client = aws_client_new(a->http, a->chain);
    if (!a->chain || !a->client) {
        snprintf(err, errlen, "cannot create the AWS credential chain");
        return -ENOMEM;
    }
    return 0;
}

void nt_aws_fini(nt_aws *a)
{
    aws_client_free(a->client);
    aws_creds_chain_free(a->chain);
    aws_http_free(a->http);
    aws_config_fini(&a->cfg);
    free(a->service);
    free(a->region);
    free(a->endpoint);
    free(a->sts_endpoint);
    memset(a, 0, sizeof(*a));
}

int nt_aws_call(nt_aws *a, int sts, const char *path, const char *ctype,
                const char *target, const char *body, size_t len,
                nt_aws_cb cb, void *data)
{
    aws_http_header hh[2];
    size_t nh = 0;
    hh[nh++] = (aws_http_header){"Content-Type", ctype};
    if (target)
        hh[nh++] = (aws_http_header){"X-Amz-Target", target};
    aws_buf url;
    aws_buf_init(&url);
    aws_buf_printf(&url, "%s%s", sts ? a->sts_endpoint : a->endpoint, path);
    aws_http_request rq = {.method = "POST", .url = url.data, .headers = hh,
                           .n_headers = nh, .body = body, .body_len = len,
                           .timeout_ms = 30000, .max_response = 4 << 20};
    int rc = aws_client_send(a->client, &rq, a->region,
                             sts ? "sts" : a->service, 0, NULL, cb, data,
                             NULL);
    aws_buf_fini(&url);
    return rc;
}

void nt_aws_error(const aws_http_response *resp, char *buf, size_t len)
{
    buf[0] = 0;
    if (!resp)
        return;
    const char *t = aws_http_response_header(resp, "x-amzn-errortype");
    json_t *j = NULL;
    if (!t && resp->body_len) {
        j = json_loadb(resp->body, resp->body_len, 0, NULL);
        t = json_string_value(json_object_get(j, "__type"));
        if (!t)
            t = json_string_value(json_object_get(j, "code"));
        if (!t)
            t = json_string_value(json_object_get(j, "Code"));
    }
    if (t) {
        const char *h = strrchr(t, '#');
        snprintf(buf, len, "%s", h ? h + 1 : t);
        buf[strcspn(buf, ":")] = 0;
    }
    json_decref(j);
}

int nt_aws_parse_account(const char *body, char *buf, size_t len)
{
    const char *p = body ? strstr(body, "<Account>") : NULL;
    if (p) {
        p += 9;
        const char *e = strstr(p, "</Account>");
        if (!e || (size_t)(e - p) >= len)
            return -EINVAL;
        snprintf(buf, len, "%.*s", (int)(e - p), p);
        return 0;
    }
    p = body ? strstr(body, "\"Account\"") : NULL;
    if (!p || !(p = strchr(p + 9, '"')))
        return -EINVAL;
    p++;
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= len)
        return -EINVAL;
    snprintf(buf, len, "%.*s", (int)(e - p), p);
    return 0;
}

int nt_aws_classify(int rc, const aws_http_response *resp, char *type,
                    size_t len)
{
    type[0] = 0;
    if (rc < 0 || !resp)
        return NT_ITEM_RETRY;
    if (resp->status >= 200 && resp->status < 300)
        return NT_ITEM_OK;
    nt_aws_error(resp, type, len);
    static const char *const transient[] = {
        "Throttling", "Throttled", "LimitExceeded", "TooManyRequests",
        "RequestLimitExceeded", "ServiceUnavailable", "InternalException",
        "InternalFailure", "RequestTimeout", "ExpiredToken",
        "ResourceNotFoundException", "InvalidAccessException",
        "AccessDenied", "UnrecognizedClient", "InvalidSignature",
        "SignatureDoesNotMatch", "IncompleteSignature",
    };
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (strstr(type, transient[i]))
            return NT_ITEM_RETRY;
    /* credentials and permissions are fixed by an operator: keep the
     * alerts (retry, then spool) rather than drop them */
    if (resp->status == 401 || resp->status == 403 || resp->status == 408 ||
        resp->status == 429 || resp->status >= 500)
        return NT_ITEM_RETRY;
    return NT_ITEM_REJECT;
}
