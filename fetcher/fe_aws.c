/*
 * fe_aws.c - the fetcher's AWS sources; see fe_aws.h for the design.
 */
#include "fe_aws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_runtime.h"
#include "aws_s3.h"
#include "aws_sns.h"
#include "aws_sqs.h"
#include "tg_log.h"
#include "tg_metrics.h"

struct fe_aws {
    uv_loop_t *loop;
    fe_daemon *d;
    const fe_config *cfg;
    const tg_daemon_common *common;
    aws_runtime *rt;
    fe_source *sns;             /* borrowed: the daemon owns it */
    tg_metric *m_sns_sig, *m_sns_rej, *m_sns_tls;
};

bool fe_aws_is_uri(const char *uri)
{
    return strncmp(uri, "s3://", 5) == 0 || strncmp(uri, "sqs://", 6) == 0;
}

fe_aws *fe_aws_new(uv_loop_t *loop, fe_daemon *d, const fe_config *cfg,
                   const tg_daemon_common *common, char *err, size_t errlen)
{
    fe_aws *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->loop = loop;
    a->d = d;
    a->cfg = cfg;
    a->common = common;
    aws_runtime_opts o = {
        .ca_file = cfg->aws.ca_file,
        .assume_role_arn = cfg->aws.assume_role_arn,
        .external_id = cfg->aws.external_id,
    };
    a->rt = aws_runtime_new(loop, &o, err, errlen);
    if (!a->rt) {
        free(a);
        return NULL;
    }
    return a;
}

static unsigned s_secs(uint64_t ms, unsigned min)
{
    uint64_t s = (ms + 999) / 1000;
    return s < min ? min : s > 86400 * 7 ? 86400 * 7 : (unsigned)s;
}

static int s_add(fe_aws *a, fe_source *src, const char *what, char *err,
                 size_t errlen)
{
    if (fe_daemon_add_source(a->d, &src) != 0) {
        src->ops->free(src);
        snprintf(err, errlen, "%s: too many sources", what);
        return -EBUSY;
    }
    return 0;
}

int fe_aws_add_uri(fe_aws *a, const char *uri, bool once, char *err,
                   size_t errlen)
{
    const fe_aws_config *c = &a->cfg->aws;
    aws_client *client = aws_runtime_client(a->rt);
    const aws_config *ac = aws_runtime_config(a->rt);
    fe_source *src = NULL;
    if (strncmp(uri, "s3://", 5) == 0) {
        aws_s3_opts o = {
            .uri = uri, .once = once,
            .interval_s = s_secs(c->poll_interval, 1),
            .start = c->start,
            .lookback_s = s_secs(c->lookback, 1),
            .validate_digests = c->validate_digests,
        };
        src = aws_s3_source_new(&o, client, ac, err, errlen);
    } else if (strncmp(uri, "sqs://", 6) == 0) {
        unsigned wait = (unsigned)(c->sqs_wait / 1000);
        aws_sqs_opts o = {
            .queue_url = uri + 6, .once = once,
            .visibility_s = s_secs(c->sqs_visibility, 1),
            .wait_s = wait ? (wait > 20 ? 20 : wait) : 1,
            .max_receives = (unsigned)c->sqs_max_receives,
            .dlq_url = c->sqs_dlq_url,
        };
        src = aws_sqs_source_new(&o, client, ac, err, errlen);
    } else {
        snprintf(err, errlen, "not an s3:// or sqs:// URI");
        return -EINVAL;
    }
    if (!src)
        return -EINVAL;
    return s_add(a, src, uri, err, errlen);
}

/* Static reasons from aws_sns.c that mean "not signed by SNS". */
static bool s_is_signature_reason(const char *why)
{
    return strcmp(why, "bad signature") == 0 ||
           strcmp(why, "SigningCertURL not trusted") == 0 ||
           strcmp(why, "signing certificate unavailable") == 0;
}

static void s_on_reject(int status, const char *reason, const char *remote,
                        void *ud)
{
    fe_aws *a = ud;
    bool sig = s_is_signature_reason(reason);
    tg_metric_inc(sig ? a->m_sns_sig : a->m_sns_rej);
    tg_log_warn("sns message rejected status=%d reason=\"%s\" remote=%s", status,
                reason, remote ? remote : "?");
}

static void s_on_tls_failure(const char *remote, const char *reason, void *ud)
{
    fe_aws *a = ud;
    tg_metric_inc(a->m_sns_tls);
    tg_log_info("sns tls handshake failed reason=\"%s\" remote=%s", reason,
                remote && *remote ? remote : "?");
}

int fe_aws_add_sns(fe_aws *a, char *err, size_t errlen)
{
    const fe_aws_config *c = &a->cfg->aws;
    if (c->sns_topics.n == 0)
        return 0;
    tg_metrics *reg = fe_daemon_metrics(a->d);
#define S_ERR(kind) tg_metrics_counter(reg, "trailguard_errors_total", \
        "Errors by kind", (const char *[]){ "kind", kind, NULL })
    a->m_sns_sig = S_ERR("sns_signature");
    a->m_sns_rej = S_ERR("sns_rejected");
    a->m_sns_tls = S_ERR("sns_tls");
#undef S_ERR
    char journal[4096];
    if (c->sns_journal)
        snprintf(journal, sizeof journal, "%s", c->sns_journal);
    else
        snprintf(journal, sizeof journal, "%s/fetcher/sns.journal",
                 a->common->state_dir ? a->common->state_dir : ".");
    if (c->sns_port > 65535) {
        snprintf(err, errlen, "sns.port: %llu is not a port",
                 (unsigned long long)c->sns_port);
        return -EINVAL;
    }
    aws_sns_opts o = {
        .listen_addr = c->sns_listen,
        .port = (int)c->sns_port,
        .topics = (const char *const *)c->sns_topics.v,
        .ntopics = c->sns_topics.n,
        .host_pattern = c->sns_host_pattern,
        .max_age_s = s_secs(c->sns_max_age, 1),
        .journal_path = journal,
        .confirm = c->sns_confirm,
        /* fetcher.sns.tls_cert / sns.tls_key: native TLS when set */
        .tls_cert_file = c->sns_tls_cert,
        .tls_key_file = c->sns_tls_key,
        .on_reject = s_on_reject,
        .on_tls_failure = s_on_tls_failure,
        .ud = a,
    };
    fe_source *src = aws_sns_source_new(&o, aws_runtime_client(a->rt),
                                        aws_runtime_http(a->rt),
                                        aws_runtime_config(a->rt), err, errlen);
    if (!src)
        return -EINVAL;
    a->sns = src;
    return s_add(a, src, "sns", err, errlen);
}

static bool s_sns_tls(const fe_aws *a)
{
    return a->cfg->aws.sns_tls_cert != NULL;
}

void fe_aws_started(fe_aws *a)
{
    if (a && a->sns)
        tg_log_info("sns endpoint listening addr=%s port=%d tls=%s",
                    a->cfg->aws.sns_listen ? a->cfg->aws.sns_listen : "127.0.0.1",
                    aws_sns_source_port(a->sns), s_sns_tls(a) ? "on" : "off");
}

void fe_aws_free(fe_aws *a)
{
    if (!a)
        return;
    aws_runtime_free(a->rt);
    free(a);
}
