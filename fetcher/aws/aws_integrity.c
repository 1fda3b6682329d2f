/*
 * aws_integrity.c - digest-based integrity checks (see aws_integrity.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * Two bounded maps (jansson objects used as string maps):
 *   seen:   "bucket/key" -> hex SHA-256 of fetched log files
 *   listed: "bucket/key" -> hex SHA-256 promised by a verified digest
 * A digest fetch is an s_job: GetObject, then (unless the fingerprint is
 * cached) ListPublicKeys, then verification.
 */
#include "aws_integrity.h"

#include "aws_buf.h"
#include "aws_digest.h"
#include "aws_s3_list.h"
#include "aws_objq.h"    /* aws_s3_bucket_url */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DIGEST_MAX (16u << 20)

typedef struct s_job {
    aws_integrity *v;
    char *bucket, *key, *region, *bucket_region;
    char *inflated, *sig;
    size_t len;
    aws_digest d;
    aws_call *call;
    struct s_job *prev, *next;
} s_job;

struct aws_integrity {
    aws_client *client;
    const aws_config *cfg;
    size_t max;
    json_t *seen, *listed, *keys;   /* keys: fingerprint -> base64 DER */
    aws_integrity_report_cb report;
    void (*progress)(void *ud);
    void *ud;
    s_job *jobs;
    aws_integrity_stats st;
};

static void s_report(aws_integrity *v, const char *bucket, const char *key,
                     const char *msg)
{
    char uri[2048];
    snprintf(uri, sizeof uri, "s3://%s/%s", bucket, key);
    if (v->report)
        v->report(uri, msg, v->ud);
}

static void s_put(aws_integrity *v, json_t *map, const char *k, const char *val)
{
    if (json_object_size(map) >= v->max)
        json_object_clear(map);   /* crude bound: start over */
    json_object_set_new(map, k, json_string(val));
}

aws_integrity *aws_integrity_new(aws_client *client, const aws_config *cfg,
                                 size_t max_entries,
                                 aws_integrity_report_cb report,
                                 void (*progress)(void *ud), void *ud)
{
    aws_integrity *v = aws_xcalloc(1, sizeof *v);
    v->client = client;
    v->cfg = cfg;
    v->max = max_entries ? max_entries : 100000;
    v->seen = json_object();
    v->listed = json_object();
    v->keys = json_object();
    v->report = report;
    v->progress = progress;
    v->ud = ud;
    return v;
}

static void s_job_free(s_job *j)
{
    aws_integrity *v = j->v;
    if (j->prev)
        j->prev->next = j->next;
    else
        v->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    aws_call_cancel(j->call);
    aws_digest_fini(&j->d);
    free(j->bucket);
    free(j->key);
    free(j->region);
    free(j->bucket_region);
    free(j->inflated);
    free(j->sig);
    free(j);
}

void aws_integrity_free(aws_integrity *v)
{
    if (!v)
        return;
    while (v->jobs)
        s_job_free(v->jobs);
    json_decref(v->seen);
    json_decref(v->listed);
    json_decref(v->keys);
    free(v);
}

static void s_check(aws_integrity *v, const char *bk, const char *want,
                    const char *got)
{
    const char *slash = strchr(bk, '/');
    char bucket[256];
    snprintf(bucket, sizeof bucket, "%.*s", (int)(slash ? slash - bk : 0), bk);
    if (!strcasecmp(want, got)) {
        v->st.logs_valid++;
    } else {
        v->st.logs_mismatch++;
        s_report(v, bucket, slash ? slash + 1 : bk,
                 "integrity: log file differs from the hash in its digest");
    }
}

void aws_integrity_log(aws_integrity *v, const char *bucket, const char *key,
                       const void *data, size_t len)
{
    char *inf = NULL;
    size_t il = 0;
    if (aws_gunzip(data, len, 1u << 30, &inf, &il) != 0)
        return;
    char hash[65];
    aws_sha256_hex(inf, il, hash);
    free(inf);
    aws_buf bk;
    aws_buf_init(&bk);
    aws_buf_printf(&bk, "%s/%s", bucket, key);
    const char *want = json_string_value(json_object_get(v->listed, aws_buf_str(&bk)));
    if (want) {
        s_check(v, aws_buf_str(&bk), want, hash);
        json_object_del(v->listed, aws_buf_str(&bk));
    } else {
        s_put(v, v->seen, aws_buf_str(&bk), hash);
    }
    aws_buf_fini(&bk);
}

/* The digest verified: reconcile its log files. */
static void s_reconcile(aws_integrity *v, s_job *j)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(j->d.doc, "logFiles"), i, f) {
        const char *b = json_string_value(json_object_get(f, "s3Bucket"));
        const char *k = json_string_value(json_object_get(f, "s3Object"));
        const char *h = json_string_value(json_object_get(f, "hashValue"));
        if (!b || !k || !h)
            continue;
        aws_buf bk;
        aws_buf_init(&bk);
        aws_buf_printf(&bk, "%s/%s", b, k);
        const char *got = json_string_value(json_object_get(v->seen, aws_buf_str(&bk)));
        if (got) {
            s_check(v, aws_buf_str(&bk), h, got);
            json_object_del(v->seen, aws_buf_str(&bk));
        } else {
            v->st.logs_unchecked++;
            s_put(v, v->listed, aws_buf_str(&bk), h);
        }
        aws_buf_fini(&bk);
    }
}

static void s_done(aws_integrity *v, s_job *j)
{
    s_job_free(j);
    if (v->progress)
        v->progress(v->ud);
}

static void s_finish_verify(aws_integrity *v, s_job *j, const char *pub)
{
    int rc = aws_digest_verify(&j->d, j->inflated, j->len, j->bucket, j->key,
                               j->sig, pub);
    if (rc == 0) {
        v->st.digests_valid++;
        s_reconcile(v, j);
    } else {
        v->st.digests_invalid++;
        s_report(v, j->bucket, j->key,
                 rc == AWS_DIGEST_EMOVED ? "integrity: digest moved from its original location"
                 : rc == AWS_DIGEST_EKEY ? "integrity: digest public key unusable"
                                         : "integrity: digest signature does not verify");
    }
    s_done(v, j);
}

static void s_fail(aws_integrity *v, s_job *j, const char *msg)
{
    v->st.digests_failed++;
    s_report(v, j->bucket, j->key, msg);
    s_done(v, j);
}

static void s_on_keys(int rc, const aws_http_response *resp, void *data)
{
    s_job *j = data;
    aws_integrity *v = j->v;
    j->call = NULL;
    json_t *r = rc == 0 && resp->status == 200
                    ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r, "PublicKeyList"), i, k) {
        const char *fp = json_string_value(json_object_get(k, "Fingerprint"));
        const char *val = json_string_value(json_object_get(k, "Value"));
        if (fp && val)
            json_object_set_new(v->keys, fp, json_string(val));
    }
    json_decref(r);
    const char *pub = json_string_value(json_object_get(v->keys, j->d.fingerprint));
    if (!pub) {
        s_fail(v, j, "integrity: no CloudTrail public key for the digest fingerprint");
        return;
    }
    s_finish_verify(v, j, pub);
}

static void s_on_digest(int rc, const aws_http_response *resp, void *data)
{
    s_job *j = data;
    aws_integrity *v = j->v;
    j->call = NULL;
    const char *sig = rc == 0 ? aws_http_response_header(resp, "x-amz-meta-signature")
                              : NULL;
    if (rc != 0 || resp->status != 200 || !sig) {
        s_fail(v, j, "integrity: cannot fetch the digest or its signature");
        return;
    }
    j->sig = aws_strdup(sig);
    if (aws_gunzip(resp->body, resp->body_len, S_DIGEST_MAX, &j->inflated, &j->len) != 0 ||
        aws_digest_parse(j->inflated, j->len, &j->d) != 0) {
        v->st.digests_invalid++;
        s_report(v, j->bucket, j->key, "integrity: digest is not a valid digest file");
        s_done(v, j);
        return;
    }
    const char *pub = json_string_value(json_object_get(v->keys, j->d.fingerprint));
    if (pub) {
        s_finish_verify(v, j, pub);
        return;
    }
    char *ep = aws_endpoint(v->cfg, "cloudtrail", j->region);
    if (!ep) {
        s_fail(v, j, "integrity: no CloudTrail endpoint");
        return;
    }
    aws_buf url;
    aws_buf_init(&url);
    aws_buf_printf(&url, "%s/", ep);
    free(ep);
    aws_http_header h[] = {
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys"}};
    aws_http_request rq = {.method = "POST", .url = aws_buf_str(&url), .headers = h,
                           .n_headers = 2, .body = "{}", .body_len = 2,
                           .timeout_ms = 30000, .max_response = 1u << 20};
    if (aws_client_send(v->client, &rq, j->region, "cloudtrail", 0, NULL, s_on_keys,
                        j, &j->call) != 0) {
        aws_buf_fini(&url);
        s_fail(v, j, "integrity: cannot call ListPublicKeys");
        return;
    }
    aws_buf_fini(&url);
}

void aws_integrity_digest(aws_integrity *v, const char *bucket, const char *key,
                          const char *bucket_region)
{
    aws_ct_key k;
    if (aws_ct_key_parse(key, &k) != 0 || k.kind != AWS_CT_DIGEST)
        return;
    s_job *j = aws_xcalloc(1, sizeof *j);
    j->v = v;
    j->bucket = aws_strdup(bucket);
    j->key = aws_strdup(key);
    j->region = aws_strdup(k.region);
    j->bucket_region = aws_strdup(bucket_region);
    j->next = v->jobs;
    if (v->jobs)
        v->jobs->prev = j;
    v->jobs = j;
    char *base = aws_s3_bucket_url(v->cfg, bucket, bucket_region, false, false);
    char *ek = aws_uri_encode(key, strlen(key), 1);
    aws_buf u;
    aws_buf_init(&u);
    aws_buf_printf(&u, "%s/%s", base, ek);
    free(base);
    free(ek);
    aws_http_request rq = {.method = "GET", .url = aws_buf_str(&u),
                           .timeout_ms = 60000, .max_response = S_DIGEST_MAX};
    int rc = aws_client_send(v->client, &rq, bucket_region, "s3",
                             AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256,
                             AWS_SIGV4_UNSIGNED_PAYLOAD, s_on_digest, j, &j->call);
    aws_buf_fini(&u);
    if (rc != 0)
        s_fail(v, j, "integrity: cannot fetch the digest");
}

int aws_integrity_idle(const aws_integrity *v)
{
    return v->jobs == NULL;
}

const aws_integrity_stats *aws_integrity_stats_get(const aws_integrity *v)
{
    return &v->st;
}
