/*
 * nt_out_securityhub.c - the `securityhub` output: BatchImportFindings.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * Each alert becomes one ASFF finding (nt_asff.h).  A batch (≤ 100
 * alerts, the default and the maximum) is sent as POST /findings/import
 * {"Findings":[...]}, split further only if it would pass 6 MB.  A 200
 * answer can still list FailedFindings: those with a transient error
 * code (throttling, internal) are retried, the others are rejected and
 * counted; everything else in the request was imported.  Whole-request
 * errors follow nt_aws_classify (429 / 5xx / credentials → retry).
 * The account the default ProductArn and AwsAccountId need is
 * `account_id`, or the caller's own from STS GetCallerIdentity, asked
 * once before the first import.  Throttle: 10 requests/s, burst 30
 * (Security Hub's documented quota), through the engine's rate limit.
 */
#include "nt_plugin.h"

#include "aws_buf.h"
#include "nt_asff.h"
#include "nt_aws.h"
#include "nt_http.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MAX_FINDINGS 100
#define S_MAX_REQUEST (6u * 1000u * 1000u)

typedef struct nt_out_sh {
    char *region;
    char *endpoint;
    char *ca_file;
    char *account_id;
    char *product_arn;
    int64_t max_finding;
    /* state */
    uv_loop_t *loop;
    nt_aws aws;
    char account[32];
    nt_batch *b;
    char **fj;                /* finding JSON per batch item */
    size_t first, end;        /* items in the request in flight */
} nt_out_sh;

#define H(f) offsetof(nt_out_sh, f)
static const nt_conf_entry s_map[] = {
    {NT_CONF_STR, "region", NULL, H(region), "AWS region (default AWS_REGION)"},
    {NT_CONF_STR, "endpoint", NULL, H(endpoint),
     "endpoint URL (default https://securityhub.<region>.amazonaws.com)"},
    {NT_CONF_STR, "ca_file", NULL, H(ca_file), "CA bundle for the endpoint"},
    {NT_CONF_STR, "account_id", NULL, H(account_id),
     "AwsAccountId of the findings (default: the caller's, from STS)"},
    {NT_CONF_STR, "product_arn", NULL, H(product_arn),
     "ProductArn (default arn:aws:securityhub:<region>:<account>:product/<account>/default)"},
    {NT_CONF_SIZE, "max_finding_size", "240000", H(max_finding),
     "findings are truncated (with a note) to this size"},
    {0, NULL, NULL, 0, NULL},
};
#undef H

static int s_init(void *ctx, const nt_plugin_env *env, char *err,
                  size_t errlen)
{
    nt_out_sh *s = ctx;
    s->loop = env->loop;
    if (s->account_id)
        snprintf(s->account, sizeof(s->account), "%s", s->account_id);
    int rc = nt_aws_init(&s->aws, env->loop, "securityhub", s->region,
                         s->endpoint, s->ca_file, err, errlen);
    if (rc < 0)
        nt_aws_fini(&s->aws);
    return rc;
}

static void s_free_findings(nt_out_sh *s)
{
    if (s->fj && s->b)
        for (size_t i = 0; i < s->b->n; i++)
            free(s->fj[i]);
    free(s->fj);
    s->fj = NULL;
}

static void s_finish(nt_out_sh *s)
{
    nt_batch *b = s->b;
    s_free_findings(s);
    s->b = NULL;
    nt_batch_done(b);
}

static int s_transient_code(const char *code)
{
    return code && (strstr(code, "Throttl") || strstr(code, "Internal") ||
                    strstr(code, "LimitExceeded") ||
                    strstr(code, "ServiceUnavailable"));
}

static void s_send(nt_out_sh *s);

static void s_apply_failed(nt_out_sh *s, const aws_http_response *resp)
{
    nt_batch *b = s->b;
    for (size_t i = s->first; i < s->end; i++)
        b->result[i] = NT_ITEM_OK;
    json_t *j = json_loadb(resp->body, resp->body_len, 0, NULL);
    json_t *failed = json_object_get(j, "FailedFindings");
    size_t k;
    json_t *ff;
    json_array_foreach(failed, k, ff) {
        const char *id = json_string_value(json_object_get(ff, "Id"));
        const char *code = json_string_value(json_object_get(ff, "ErrorCode"));
        const char *msg = json_string_value(json_object_get(ff, "ErrorMessage"));
        for (size_t i = s->first; id && i < s->end; i++) {
            const nt_str *aid = &b->alerts[i]->id;
            if (aid->p && strlen(id) == aid->n && !memcmp(id, aid->p, aid->n)) {
                b->result[i] = s_transient_code(code) ? NT_ITEM_RETRY
                                                      : NT_ITEM_REJECT;
                snprintf(b->err, sizeof(b->err), "finding %s: %s: %s", id,
                         code ? code : "?", msg ? msg : "");
                break;
            }
        }
    }
    json_decref(j);
}

static void s_on_import(int rc, const aws_http_response *resp, void *data)
{
    nt_out_sh *s = data;
    nt_batch *b = s->b;
    char type[128];
    int r = nt_aws_classify(rc, resp, type, sizeof(type));
    if (r == NT_ITEM_OK) {
        s_apply_failed(s, resp);
        if (s->end < b->n) {
            s->first = s->end;
            s_send(s);
            return;
        }
    } else {
        for (size_t i = s->first; i < s->end; i++)
            b->result[i] = (uint8_t)r;
        if (rc < 0)
            snprintf(b->err, sizeof(b->err), "BatchImportFindings: %s",
                     aws_http_strerror(rc));
        else
            snprintf(b->err, sizeof(b->err), "BatchImportFindings: HTTP %ld %s",
                     resp->status, type);
        b->retry_after_ms = nt_http_retry_after(resp, (int64_t)time(NULL));
        /* an import of the next part after a rejected one keeps order */
        if (r == NT_ITEM_REJECT && s->end < b->n) {
            s->first = s->end;
            s_send(s);
            return;
        }
    }
    s_finish(s);
}

static void s_send(nt_out_sh *s)
{
    nt_batch *b = s->b;
    aws_buf body;
    aws_buf_init(&body);
    aws_buf_puts(&body, "{\"Findings\":[");
    size_t i = s->first;
    while (i < b->n && i - s->first < S_MAX_FINDINGS) {
        size_t l = strlen(s->fj[i]);
        if (i > s->first && body.len + l + 3 > S_MAX_REQUEST)
            break;
        if (i > s->first)
            aws_buf_putc(&body, ',');
        aws_buf_append(&body, s->fj[i], l);
        i++;
    }
    aws_buf_puts(&body, "]}");
    s->end = i;
    int rc = nt_aws_call(&s->aws, 0, "/findings/import", "application/json",
                         NULL, body.data, body.len, s_on_import, s);
    aws_buf_fini(&body);
    if (rc < 0)
        s_on_import(rc, NULL, s);
}

static void s_build_and_send(nt_out_sh *s)
{
    nt_batch *b = s->b;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    nt_asff_opts o = {
        .region = s->aws.region,
        .account_id = s->account,
        .product_arn = s->product_arn,
        .now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
        .max_bytes = (size_t)s->max_finding,
    };
    s->fj = calloc(b->n, sizeof(char *));
    if (!s->fj) {
        s_finish(s);
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        aws_buf f;
        aws_buf_init(&f);
        nt_asff_build(&o, b->alerts[i], &f);
        s->fj[i] = aws_buf_steal(&f);
    }
    s->first = 0;
    s_send(s);
}

static void s_on_identity(int rc, const aws_http_response *resp, void *data)
{
    nt_out_sh *s = data;
    char type[128];
    if (nt_aws_classify(rc, resp, type, sizeof(type)) == NT_ITEM_OK &&
        nt_aws_parse_account(resp->body, s->account, sizeof(s->account)) == 0) {
        s_build_and_send(s);
        return;
    }
    snprintf(s->b->err, sizeof(s->b->err),
             "sts:GetCallerIdentity failed (%s%s); set account_id",
             rc < 0 ? aws_http_strerror(rc) : "HTTP ", rc < 0 ? "" : type);
    s_finish(s);
}

static int s_flush(void *ctx, nt_batch *b)
{
    nt_out_sh *s = ctx;
    s->b = b;
    if (s->account[0]) {
        s_build_and_send(s);
        return 0;
    }
    static const char q[] = "Action=GetCallerIdentity&Version=2011-06-15";
    int rc = nt_aws_call(&s->aws, 1, "/",
                         "application/x-www-form-urlencoded; charset=utf-8",
                         NULL, q, sizeof(q) - 1, s_on_identity, s);
    if (rc < 0) {
        s->b = NULL;
        return rc;
    }
    return 0;
}

static void s_exit(void *ctx, void (*done)(void *), void *arg)
{
    nt_out_sh *s = ctx;
    s_free_findings(s);
    s->b = NULL;
    nt_aws_fini(&s->aws);
    done(arg);
}

const nt_plugin nt_plugin_securityhub = {
    .name = "securityhub",
    .desc = "AWS Security Hub BatchImportFindings (ASFF)",
    .config_map = s_map,
    .ctx_size = sizeof(nt_out_sh),
    .default_batch_size = S_MAX_FINDINGS,
    .default_flush_ms = 1000,
    .default_rate_limit = 10,
    .default_rate_burst = 30,
    .init = s_init,
    .flush = s_flush,
    .exit = s_exit,
};
