/*
 * test_aws_s3.c - the S3 polling source against s3rver (npm
 * @20minutes/s3rver) behind the loopback SigV4 verifier: discovery of
 * account/region/org-trail prefixes, start window, digest/Insight
 * skipping, paging-free checkpoints, late files, backpressure (-EAGAIN
 * and resume), --once completion, bucket region discovery (301 +
 * x-amz-bucket-region), trails under a prefix and URIs inside the tree.
 * Plus the pure parts: key names, start specs, ListObjectsV2 pages.
 *
 * Owner: AWS ingestion (tests/aws/).
 */
#include "aws_client.h"
#include "aws_objq.h"
#include "aws_runtime.h"
#include "aws_s3.h"
#include "aws_s3_list.h"
#include "aws_test_loop.h"
#include "aws_test_peer.h"
#include "tg_test.h"

#include <curl/curl.h>
#include <errno.h>

#define TEST_KEY_ID "AKIDTGTEST"
#define TEST_SECRET "tgTestSecretKey/0123456789+abcdefghij"

static tg_test_state st;
static uv_loop_t loop;
static aws_test_peer peer;
static aws_http *http;
static aws_creds_chain *chain;
static aws_client *client;
static aws_config cfg;
static char peer_url[64];
static time_t now0;

/* ---- pure parts ---------------------------------------------------------- */

static void test_key_parse(void)
{
    aws_ct_key k;
    ASSERT_EQ(aws_ct_key_parse("AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/"
                               "111122223333_CloudTrail_us-east-2_20150801T0210Z_"
                               "Mu0KsOhtH1ar15ZZ.json.gz", &k), 0);
    ASSERT_EQ(k.kind, AWS_CT_LOG);
    ASSERT_STR_EQ(k.account, "111122223333");
    ASSERT_STR_EQ(k.region, "us-east-2");
    ASSERT_STR_EQ(k.org, "");
    ASSERT_EQ(k.delivered, 1438395000);   /* 2015-08-01T02:10:00Z */
    ASSERT_EQ(k.day, 1438387200);
    ASSERT_EQ(aws_ct_key_parse("p/q/AWSLogs/o-aa11bb22cc/111122223333/CloudTrail/"
                               "eu-west-1/2026/11/27/111122223333_CloudTrail_eu-west-1"
                               "_20261127T1805Z_x.json", &k), 0);
    ASSERT_STR_EQ(k.org, "o-aa11bb22cc");
    ASSERT_EQ(aws_ct_key_parse("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/"
                               "11/27/111122223333_CloudTrail-Digest_us-east-1_main_"
                               "us-east-1_20261127T180512Z.json.gz", &k), 0);
    ASSERT_EQ(k.kind, AWS_CT_DIGEST);
    ASSERT(k.delivered > 0);
    ASSERT_EQ(aws_ct_key_parse("AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/"
                               "11/27/f.json.gz", &k), 0);
    ASSERT_EQ(k.kind, AWS_CT_INSIGHT);
    ASSERT_EQ(k.delivered, -1);
    ASSERT_EQ(aws_ct_key_parse("AWSLogs/notanaccount/CloudTrail/r/2026/11/27/f", &k), -1);
    ASSERT_EQ(aws_ct_key_parse("AWSLogs/111122223333/CloudTrail/r/2026/11/f", &k), -1);
    ASSERT_EQ(aws_ct_key_parse("random/key.json.gz", &k), -1);
}

static void test_start_spec(void)
{
    ASSERT_EQ(aws_s3_parse_start("24h", 100000), 100000 - 86400);
    ASSERT_EQ(aws_s3_parse_start("90m", 100000), 100000 - 5400);
    ASSERT_EQ(aws_s3_parse_start("2d", 200000), 200000 - 172800);
    ASSERT_EQ(aws_s3_parse_start("0", 5), 5);
    ASSERT_EQ(aws_s3_parse_start("2015-08-01T02:10:00Z", 0), 1438395000);
    ASSERT_EQ(aws_s3_parse_start("yesterday", 0), -1);
    ASSERT_EQ(aws_s3_parse_start("5x", 0), -1);
}

static void test_page_parse(void)
{
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix></Prefix><KeyCount>2</KeyCount>"
        "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>"
        "<Contents><Key>a &amp; b.json</Key><ETag>&quot;e1&quot;</ETag><Size>12</Size></Contents>"
        "<Contents><Key>c</Key><ETag>\"e2\"</ETag><Size>3</Size></Contents>"
        "<CommonPrefixes><Prefix>AWSLogs/</Prefix></CommonPrefixes>"
        "</ListBucketResult>";
    aws_s3_page p;
    ASSERT_EQ(aws_s3_page_parse(xml, strlen(xml), &p), 0);
    ASSERT_EQ(p.n, 2);
    ASSERT_STR_EQ(p.entries[0].key, "a & b.json");
    ASSERT_STR_EQ(p.entries[0].etag, "e1");
    ASSERT_EQ(p.entries[0].size, 12);
    ASSERT_STR_EQ(p.entries[1].etag, "e2");
    ASSERT_EQ(p.nprefixes, 1);
    ASSERT_STR_EQ(p.prefixes[0], "AWSLogs/");
    ASSERT(p.truncated);
    ASSERT_STR_EQ(p.next_token, "tok/+=");
    aws_s3_page_fini(&p);
    const char *bomb = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
    ASSERT_EQ(aws_s3_page_parse(bomb, strlen(bomb), &p), -1);
    ASSERT_EQ(aws_s3_page_parse("<a><b>", 6, &p), -1);
}

static void test_bucket_urls(void)
{
    char *u = aws_s3_bucket_url(NULL, "trail", "eu-west-1", false, false);
    ASSERT_STR_EQ(u, "https://trail.s3.eu-west-1.amazonaws.com");
    free(u);
    u = aws_s3_bucket_url(NULL, "trail", "cn-north-1", false, false);
    ASSERT_STR_EQ(u, "https://trail.s3.cn-north-1.amazonaws.com.cn");
    free(u);
    u = aws_s3_bucket_url(NULL, "trail", "us-gov-west-1", true, false);
    ASSERT_STR_EQ(u, "https://s3.us-gov-west-1.amazonaws.com/trail");
    free(u);
    u = aws_s3_bucket_url(NULL, "my.dotted.bucket", "us-east-1", false, false);
    ASSERT_STR_EQ(u, "https://s3.us-east-1.amazonaws.com/my.dotted.bucket");
    free(u);
    aws_config c;
    memset(&c, 0, sizeof c);
    aws_config_set(&c.endpoint_url_s3, "http://localhost:4566/");
    u = aws_s3_bucket_url(&c, "trail", "us-east-1", false, false);
    ASSERT_STR_EQ(u, "http://localhost:4566/trail");
    free(u);
    u = aws_s3_bucket_url(&c, "trail", "us-east-1", false, true);
    ASSERT_STR_EQ(u, "http://trail.localhost:4566");
    free(u);
    aws_config_fini(&c);
}

/* ---- seeding s3rver -------------------------------------------------------- */

static int put_done;
static long put_status;
static void s_put_cb(int rc, const aws_http_response *resp, void *data)
{
    (void)data;
    put_done = 1;
    put_status = rc == 0 ? resp->status : rc;
}

static void s_put(const char *bucket, const char *region, const char *key,
                  const char *body, size_t len)
{
    char *ek = aws_uri_encode(key, strlen(key), 1);
    char url[2048];
    snprintf(url, sizeof url, "%s/%s/%s", peer_url, bucket, ek);
    free(ek);
    char hash[65];
    aws_sha256_hex(body, len, hash);
    aws_http_request rq = {.method = "PUT", .url = url, .body = body,
                           .body_len = len};
    aws_creds c = {TEST_KEY_ID, TEST_SECRET, NULL, 0, "test"};
    put_done = 0;
    ASSERT_EQ(aws_http_send_signed(http, &rq, &c, region, "s3",
                                   AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256, hash,
                                   time(NULL), s_put_cb, NULL, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &put_done, 10000));
    ASSERT_EQ(put_status, 200);
}

/* A CloudTrail key for account/region delivered at t. */
static char *s_key(const char *pre, const char *acct, const char *kind,
                   const char *region, time_t t, const char *uniq)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[16], stamp[32];
    strftime(day, sizeof day, "%Y/%m/%d", &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%MZ", &tm);
    char *k = NULL;
    if (asprintf(&k, "%sAWSLogs/%s/%s/%s/%s/%s_%s_%s_%s_%s", pre, acct, kind,
                 region, day, strrchr(acct, '/') ? strrchr(acct, '/') + 1 : acct,
                 kind, region, stamp, uniq) < 0)
        abort();
    return k;
}

static const char gz_body[] = "\x1f\x8b\x08\x00gzip-ish-bytes";

static void s_seed(void)
{
    char *k;
#define PUT(key, body) do { k = key; s_put("trail", "us-east-1", k, body, sizeof body - 1); free(k); } while (0)
    PUT(s_key("", "111122223333", "CloudTrail", "us-east-1", now0 - 1800, "aaaa.json.gz"), gz_body);
    PUT(s_key("", "111122223333", "CloudTrail", "eu-west-1", now0 - 7200, "bbbb.json.gz"), gz_body);
    PUT(s_key("", "o-abc123def4/444455556666", "CloudTrail", "us-west-2", now0 - 1800,
              "cccc.json.gz"), gz_body);
    PUT(s_key("", "111122223333", "CloudTrail", "us-east-1", now0 - 1700, "plain.json"),
        "{\"Records\":[]}");
    /* too old for the 24 h start window */
    PUT(s_key("", "111122223333", "CloudTrail", "us-east-1", now0 - 3 * 86400,
              "old0.json.gz"), gz_body);
    /* digest and Insight: skipped unless enabled */
    PUT(s_key("", "111122223333", "CloudTrail-Digest", "us-east-1", now0 - 1800,
              "trail_us-east-1.json.gz"), gz_body);
    PUT(s_key("", "111122223333", "CloudTrail-Insight", "us-east-1", now0 - 1800,
              "iiii.json.gz"), gz_body);
    /* a trail under a prefix, not seen from the bucket root */
    PUT(s_key("sub/dir/", "777788889999", "CloudTrail", "ap-south-1", now0 - 600,
              "dddd.json.gz"), gz_body);
#undef PUT
}

/* ---- a sink that records jobs ------------------------------------------------ */

typedef struct job {
    char *uri, *identity;
    size_t len;
    unsigned char first;
    void *ref;
} job;

typedef struct sink_state {
    job jobs[64];
    int njobs;
    int done;
    int failed;
    int eagain_left;      /* answer -EAGAIN this many times */
    int want_jobs;        /* set reached when njobs >= want_jobs */
    int reached;
    fe_source *src;
} sink_state;

static int s_submit(void *ud, fe_source *src, const fe_job_desc *j)
{
    sink_state *s = ud;
    (void)src;
    if (s->eagain_left > 0) {
        s->eagain_left--;
        return -EAGAIN;
    }
    ASSERT(s->njobs < 64);
    job *jb = &s->jobs[s->njobs++];
    jb->uri = strdup(j->uri);
    jb->identity = strdup(j->identity);
    jb->len = j->len;
    jb->first = j->len ? ((const unsigned char *)j->data)[0] : 0;
    jb->ref = j->ref;
    ASSERT(j->path == NULL);
    if (s->want_jobs && s->njobs >= s->want_jobs)
        s->reached = 1;
    return 0;
}

static void s_failed_cb(void *ud, fe_source *src, const char *uri, const char *msg)
{
    sink_state *s = ud;
    (void)src;
    fprintf(stderr, "sink failed: %s: %s\n", uri, msg);
    s->failed++;
}

static void s_done_cb(void *ud, fe_source *src)
{
    sink_state *s = ud;
    (void)src;
    s->done = 1;
}

static fe_source_sink sink_of(sink_state *s)
{
    fe_source_sink k = {.submit = s_submit, .failed = s_failed_cb, .done = s_done_cb, .ud = s};
    return k;
}

static void s_commit_all(sink_state *s)
{
    for (int i = 0; i < s->njobs; i++) {
        if (s->jobs[i].ref)
            s->src->ops->commit(s->src, s->jobs[i].ref, 0);
        s->jobs[i].ref = NULL;
    }
}

static void s_sink_fini(sink_state *s)
{
    for (int i = 0; i < s->njobs; i++) {
        free(s->jobs[i].uri);
        free(s->jobs[i].identity);
    }
    memset(s, 0, sizeof *s);
}

static int s_has_job(sink_state *s, const char *needle)
{
    int n = 0;
    for (int i = 0; i < s->njobs; i++)
        if (strstr(s->jobs[i].uri, needle))
            n++;
    return n;
}

static fe_source *s_new_source(aws_s3_opts *o)
{
    char err[256] = "";
    fe_source *src = aws_s3_source_new(o, client, &cfg, err, sizeof err);
    if (!src)
        TG_FAIL_("aws_s3_source_new: %s", err);
    return src;
}

static void s_finish_source(fe_source *src, sink_state *s)
{
    s_commit_all(s);
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
    s_sink_fini(s);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_once_discovery(void)
{
    aws_s3_opts o = {.uri = "s3://trail", .once = true, .concurrency = 3};
    fe_source *src = s_new_source(&o);
    sink_state s = {0};
    s.src = src;
    fe_source_sink k = sink_of(&s);
    char err[128];
    ASSERT(src->ops->is_finite(src));
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    if (!aws_test_run_until(&loop, &s.done, 20000)) {
        const aws_s3_stats *d = aws_s3_source_stats(src);
        TG_FAIL_("not done: lists=%lu roots=%lu listed=%lu fetched=%lu submitted=%lu jobs=%d",
                 (unsigned long)d->list_requests, (unsigned long)d->roots,
                 (unsigned long)d->listed, (unsigned long)d->fetched,
                 (unsigned long)d->submitted, s.njobs);
    }
    ASSERT_EQ(s.failed, 0);
    ASSERT_EQ(s.njobs, 4);
    ASSERT_EQ(s_has_job(&s, "_aaaa.json.gz"), 1);
    ASSERT_EQ(s_has_job(&s, "_bbbb.json.gz"), 1);
    ASSERT_EQ(s_has_job(&s, "AWSLogs/o-abc123def4/444455556666/CloudTrail/us-west-2/"), 1);
    ASSERT_EQ(s_has_job(&s, "_plain.json"), 1);
    ASSERT_EQ(s_has_job(&s, "old0"), 0);
    ASSERT_EQ(s_has_job(&s, "Digest"), 0);
    ASSERT_EQ(s_has_job(&s, "Insight"), 0);
    ASSERT_EQ(s_has_job(&s, "sub/dir"), 0);
    for (int i = 0; i < s.njobs; i++) {
        ASSERT(!strncmp(s.jobs[i].uri, "s3://trail/AWSLogs/", 19));
        ASSERT(!strncmp(s.jobs[i].identity, "trail/AWSLogs/", 14));
        /* identity ends with the ETag (s3rver: MD5 hex of the body) */
        const char *slash = strrchr(s.jobs[i].identity, '/');
        ASSERT_EQ(strlen(slash + 1), 32);
        if (strstr(s.jobs[i].uri, "plain"))
            ASSERT_EQ(s.jobs[i].first, '{');
        else
            ASSERT_EQ(s.jobs[i].first, 0x1f);
    }
    const aws_s3_stats *stt = aws_s3_source_stats(src);
    ASSERT_EQ(stt->roots, 3);
    /* the 3-day-old file sorts before the StartAfter day folder: never listed */
    ASSERT_EQ(stt->listed, 4);
    ASSERT_EQ(stt->fetched, 4);
    s_finish_source(src, &s);
}

static void test_backpressure(void)
{
    aws_s3_opts o = {.uri = "s3://trail/", .once = true, .concurrency = 2};
    fe_source *src = s_new_source(&o);
    sink_state s = {0};
    s.src = src;
    s.eagain_left = 1;
    s.want_jobs = 99;
    fe_source_sink k = sink_of(&s);
    char err[128];
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    /* the first submit is refused: nothing more is submitted until resume */
    for (int i = 0; i < 200 && s.eagain_left; i++)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(s.eagain_left, 0);
    ASSERT_EQ(s.njobs, 0);
    /* let in-flight GETs finish: still nothing submitted, not done */
    int idle = 0;
    aws_test_run_until(&loop, &idle, 300);
    ASSERT_EQ(s.njobs, 0);
    ASSERT_EQ(s.done, 0);
    src->ops->resume(src);
    ASSERT(s.njobs >= 1);
    ASSERT(aws_test_run_until(&loop, &s.done, 20000));
    ASSERT_EQ(s.njobs, 4);
    s_finish_source(src, &s);
}

static void test_continuous_late_file(void)
{
    aws_s3_opts o = {.uri = "s3://trail", .interval_s = 1};
    fe_source *src = s_new_source(&o);
    ASSERT(!src->ops->is_finite(src));
    sink_state s = {0};
    s.src = src;
    s.want_jobs = 4;
    fe_source_sink k = sink_of(&s);
    char err[128];
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    ASSERT(aws_test_run_until(&loop, &s.reached, 20000));
    ASSERT_EQ(s.njobs, 4);
    /* a file delivered late under an earlier name, inside the lookback */
    char *late = s_key("", "111122223333", "CloudTrail", "us-east-1", now0 - 2400,
                       "late.json.gz");
    s_put("trail", "us-east-1", late, gz_body, sizeof gz_body - 1);
    free(late);
    s.reached = 0;
    s.want_jobs = 5;
    ASSERT(aws_test_run_until(&loop, &s.reached, 20000));
    /* one more poll: nothing new, nothing twice */
    uint64_t polls = aws_s3_source_stats(src)->polls;
    for (int i = 0; i < 400 && aws_s3_source_stats(src)->polls < polls + 2; i++)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT(aws_s3_source_stats(src)->polls >= polls + 2);
    ASSERT_EQ(s.njobs, 5);
    ASSERT_EQ(s_has_job(&s, "_late.json.gz"), 1);
    ASSERT(aws_s3_source_stats(src)->skipped_seen >= 4);
    s_finish_source(src, &s);
}

static void test_prefix_and_inner_uri(void)
{
    aws_s3_opts o = {.uri = "s3://trail/sub/dir", .once = true};
    fe_source *src = s_new_source(&o);
    sink_state s = {0};
    s.src = src;
    fe_source_sink k = sink_of(&s);
    char err[128];
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    ASSERT(aws_test_run_until(&loop, &s.done, 20000));
    ASSERT_EQ(s.njobs, 1);
    ASSERT_EQ(s_has_job(&s, "s3://trail/sub/dir/AWSLogs/777788889999/"), 1);
    s_finish_source(src, &s);

    aws_s3_opts o2 = {.uri = "s3://trail/AWSLogs/111122223333/CloudTrail/us-east-1/",
                      .once = true, .include_digest = true};
    src = s_new_source(&o2);
    s.src = src;
    k = sink_of(&s);
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    ASSERT(aws_test_run_until(&loop, &s.done, 20000));
    ASSERT_EQ(s.njobs, 2);   /* aaaa + plain; old0 too old */
    s_finish_source(src, &s);

    /* digests and Insights when asked for */
    aws_s3_opts o3 = {.uri = "s3://trail", .once = true, .include_digest = true,
                      .include_insight = true};
    src = s_new_source(&o3);
    s.src = src;
    k = sink_of(&s);
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    ASSERT(aws_test_run_until(&loop, &s.done, 20000));
    ASSERT_EQ(s_has_job(&s, "CloudTrail-Digest"), 1);
    ASSERT_EQ(s_has_job(&s, "CloudTrail-Insight"), 1);
    s_finish_source(src, &s);
}

static void test_region_discovery(void)
{
    char *k = s_key("", "111122223333", "CloudTrail", "eu-central-1", now0 - 600,
                    "euuu.json.gz");
    s_put("trail-eu", "eu-central-1", k, gz_body, sizeof gz_body - 1);
    free(k);
    aws_s3_opts o = {.uri = "s3://trail-eu", .once = true, .region = "us-east-1"};
    fe_source *src = s_new_source(&o);
    sink_state s = {0};
    s.src = src;
    fe_source_sink sk = sink_of(&s);
    char err[128];
    ASSERT_EQ(src->ops->start(src, &loop, &sk, err, sizeof err), 0);
    ASSERT(aws_test_run_until(&loop, &s.done, 20000));
    ASSERT_EQ(s.failed, 0);
    ASSERT_EQ(s.njobs, 1);
    ASSERT_STR_EQ(aws_s3_source_region(src), "eu-central-1");
    ASSERT_EQ(aws_s3_source_stats(src)->region_redirects, 1);
    s_finish_source(src, &s);
}

static void test_errors(void)
{
    char err[128];
    aws_s3_opts bad = {.uri = "http://x"};
    ASSERT(aws_s3_source_new(&bad, client, &cfg, err, sizeof err) == NULL);
    bad.uri = "s3://UPPER";
    ASSERT(aws_s3_source_new(&bad, client, &cfg, err, sizeof err) == NULL);
    bad.uri = "s3://ok-bucket";
    bad.start = "whenever";
    ASSERT(aws_s3_source_new(&bad, client, &cfg, err, sizeof err) == NULL);
    /* a missing bucket is reported through failed(), and --once still ends */
    aws_s3_opts o = {.uri = "s3://no-such-bucket", .once = true};
    fe_source *src = s_new_source(&o);
    sink_state s = {0};
    s.src = src;
    fe_source_sink sk = sink_of(&s);
    ASSERT_EQ(src->ops->start(src, &loop, &sk, err, sizeof err), 0);
    ASSERT(aws_test_run_until(&loop, &s.done, 20000));
    ASSERT_EQ(s.failed, 1);
    ASSERT_EQ(s.njobs, 0);
    s_finish_source(src, &s);
}

static const char *s_env_get(const char *name, void *ud)
{
    const char *const *env = ud;
    size_t n = strlen(name);
    for (size_t i = 0; env[i]; i++)
        if (!strncmp(env[i], name, n) && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

/* The daemon's one-call wiring: environment -> chain -> client -> source. */
static void test_runtime_from_uri(void)
{
    char ep[96];
    snprintf(ep, sizeof ep, "AWS_ENDPOINT_URL_S3=%s", peer_url);
    const char *env[] = {ep, "AWS_ACCESS_KEY_ID=" TEST_KEY_ID,
                         "AWS_SECRET_ACCESS_KEY=" TEST_SECRET, "AWS_REGION=us-east-1",
                         "AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent", NULL};
    aws_runtime_opts ro = {.getenv_fn = s_env_get, .getenv_ud = (void *)env};
    char err[256] = "";
    aws_runtime *rt = aws_runtime_new(&loop, &ro, err, sizeof err);
    ASSERT_NOT_NULL(rt);
    ASSERT(aws_source_from_uri(rt, "ftp://x", true, err, sizeof err) == NULL);
    fe_source *src = aws_source_from_uri(rt, "s3://trail", true, err, sizeof err);
    ASSERT_NOT_NULL(src);
    sink_state s = {0};
    s.src = src;
    fe_source_sink k = sink_of(&s);
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    ASSERT(aws_test_run_until(&loop, &s.done, 20000));
    ASSERT_EQ(s.njobs, 4);
    ASSERT_STR_EQ(aws_creds_chain_source(aws_runtime_creds(rt)), "env");
    s_finish_source(src, &s);
    aws_runtime_free(rt);
    aws_test_drain(&loop);
}

/* Objects the fetcher's journal already has (sink->is_done) are not
 * downloaded again: no GetObject, no job, and the pass still completes. */
static bool s_is_done(void *ud, const char *identity, int *status)
{
    (void)ud;
    *status = 0;
    return strstr(identity, "_aaaa.json.gz/") || strstr(identity, "_bbbb.json.gz/");
}

static void test_once_skips_done(void)
{
    aws_s3_opts o = {.uri = "s3://trail", .once = true};
    fe_source *src = s_new_source(&o);
    sink_state s = {0};
    s.src = src;
    fe_source_sink k = sink_of(&s);
    k.is_done = s_is_done;
    char err[128];
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    ASSERT(aws_test_run_until(&loop, &s.done, 20000));
    ASSERT_EQ(s.failed, 0);
    ASSERT_EQ(s.njobs, 2);
    ASSERT_EQ(s_has_job(&s, "_aaaa.json.gz"), 0);
    ASSERT_EQ(s_has_job(&s, "_bbbb.json.gz"), 0);
    ASSERT_EQ(s_has_job(&s, "_plain.json"), 1);
    const aws_s3_stats *stt = aws_s3_source_stats(src);
    ASSERT_EQ(stt->listed, 4);
    ASSERT_EQ(stt->fetched, 2);
    ASSERT_EQ(stt->skipped_done, 2);
    ASSERT_EQ(stt->committed, 2);     /* the skipped two count as done */
    s_finish_source(src, &s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TG_RUN(&st, test_key_parse);
    TG_RUN(&st, test_start_spec);
    TG_RUN(&st, test_page_parse);
    TG_RUN(&st, test_bucket_urls);
    const char *argv[] = {"aws_peer.js", "--s3rver", "--verify-all", NULL};
    const char *penv[] = {"TG_PEER_BUCKETS=trail,trail-eu",
                          "TG_PEER_BUCKET_REGIONS=trail-eu:eu-central-1", NULL};
    int rc = aws_test_peer_start(&peer, argv, penv, 20000);
    if (rc == 77)
        TG_SKIP("node or tests/peers/node_modules absent (npm ci --prefix tests/peers)");
    ASSERT_EQ(rc, 0);
    snprintf(peer_url, sizeof peer_url, "http://127.0.0.1:%d", peer.port);
    uv_loop_init(&loop);
    http = aws_http_new(&loop, NULL);
    memset(&cfg, 0, sizeof cfg);
    aws_config_set(&cfg.endpoint_url_s3, peer_url);
    aws_config_set(&cfg.region, "us-east-1");
    aws_creds_provider *p = aws_creds_static_new(TEST_KEY_ID, TEST_SECRET, NULL);
    chain = aws_creds_chain_new(&loop, &p, 1);
    client = aws_client_new(http, chain);
    now0 = time(NULL);
    s_seed();
    TG_RUN(&st, test_once_discovery);
    TG_RUN(&st, test_once_skips_done);
    TG_RUN(&st, test_backpressure);
    TG_RUN(&st, test_prefix_and_inner_uri);
    TG_RUN(&st, test_region_discovery);
    TG_RUN(&st, test_errors);
    TG_RUN(&st, test_runtime_from_uri);
    TG_RUN(&st, test_continuous_late_file);
    char *stats = NULL;
    ASSERT_EQ(aws_test_http_get(peer.port, "/__stats", &stats), 200);
    ASSERT(strstr(stats, "\"rejected\":0,"));   /* every request was signed right */
    ASSERT(strstr(stats, "\"unsigned\":0,"));
    free(stats);
    aws_client_free(client);
    aws_creds_chain_free(chain);
    aws_http_free(http);
    aws_test_drain(&loop);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    aws_config_fini(&cfg);
    aws_test_peer_stop(&peer);
    curl_global_cleanup();
    TG_DONE(&st);
}
