/*
 * test_aws_sns.c - the SNS HTTP endpoint source end to end on loopback.
 *
 * Owner: AWS ingestion (tests/aws/).
 *
 * openssl makes a TLS certificate for 127.0.0.1 (served by the node peer,
 * which also serves the SNS signing certificate and a SubscribeURL), a
 * signing key/certificate and a second "forged" key.  tests/peers/
 * sns_sender.js signs SNS messages (SignatureVersion 1 and 2, tampered,
 * forged, stale, foreign topic, untrusted cert URL, confirmations, S3
 * events, S3 test event, digest key) and asks npm sns-validator for its
 * verdict; `openssl dgst -verify` checks the good signatures too.  The
 * messages are POSTed to the source's tg_http listener; the objects they
 * name are served by s3rver behind the SigV4 verifier.  Checked: status
 * codes, jobs and their bytes, dedup, certificate cache, confirmation,
 * and the journal: an unfinished notification is fetched again after a
 * restart, a finished one is not.  The endpoint also serves TLS natively
 * (the same 127.0.0.1 certificate): signed messages POSTed over https
 * are accepted or refused as over http, plain http to the TLS port is a
 * counted handshake failure, and a key that does not match the
 * certificate fails start().
 */
#include "aws_client.h"
#include "aws_sns.h"
#include "aws_sns_msg.h"
#include "aws_test_loop.h"
#include "aws_test_peer.h"
#include "tg_test.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>

#define TEST_KEY_ID "AKIDTGTEST"
#define TEST_SECRET "tgTestSecretKey/0123456789+abcdefghij"
#define TOPIC "arn:aws:sns:us-east-1:111122223333:cloudtrail"
#define KEY1 "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/27/111122223333_CloudTrail_us-east-1_20261127T1800Z_one.json.gz"
#define KEY2 "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/27/111122223333_CloudTrail_us-east-1_20261127T1805Z_two space.json.gz"
#define KEY3 "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/27/111122223333_CloudTrail_us-east-1_20261127T1810Z_three.json.gz"

static tg_test_state st;
static uv_loop_t loop;
static aws_test_peer tls_peer, s3_peer;
static aws_http *http;
static aws_creds_chain *chain;
static aws_client *client;
static aws_config cfg;
static char dir[] = "/tmp/tg-aws-sns-XXXXXX";
static char path_buf[512];

static const char *P(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

static int s_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* ---- async helpers ---------------------------------------------------------- */

typedef struct hres {
    int done;
    long status;
} hres;

static void s_hcb(int rc, const aws_http_response *resp, void *data)
{
    hres *h = data;
    h->done = 1;
    h->status = rc == 0 ? resp->status : rc;
}

static void s_put(const char *key, const char *body)
{
    char *ek = aws_uri_encode(key, strlen(key), 1);
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/trail/%s", s3_peer.port, ek);
    free(ek);
    char hash[65];
    aws_sha256_hex(body, strlen(body), hash);
    aws_http_request rq = {.method = "PUT", .url = url, .body = body,
                           .body_len = strlen(body)};
    aws_creds c = {TEST_KEY_ID, TEST_SECRET, NULL, 0, "test"};
    hres h = {0, 0};
    ASSERT_EQ(aws_http_send_signed(http, &rq, &c, "us-east-1", "s3",
                                   AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256, hash,
                                   time(NULL), s_hcb, &h, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &h.done, 10000));
    ASSERT_EQ(h.status, 200);
}

static int sns_port;
static const char *sns_scheme = "http";

static long s_post(const char *name)
{
    char file[512];
    snprintf(file, sizeof file, "%s/msgs/%s.json", dir, name);
    FILE *f = fopen(file, "rb");
    ASSERT_NOT_NULL(f);
    char *body = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&body, &len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(f);
    fclose(m);
    aws_sns_msg msg;
    char type[64] = "Notification";
    if (aws_sns_msg_parse(body, len, &msg, NULL, 0) == 0) {
        snprintf(type, sizeof type, "%s", msg.type_str);
        aws_sns_msg_fini(&msg);
    }
    char url[128];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d/", sns_scheme, sns_port);
    aws_http_header h[] = {{"x-amz-sns-message-type", type},
                           {"Content-Type", "text/plain; charset=UTF-8"}};
    aws_http_request rq = {.method = "POST", .url = url, .headers = h,
                           .n_headers = 2, .body = body, .body_len = len};
    hres r = {0, 0};
    ASSERT_EQ(aws_http_send(http, &rq, s_hcb, &r, NULL), 0);
    ASSERT(aws_test_run_until(&loop, &r.done, 15000));
    free(body);
    return r.status;
}

/* ---- recording sink ------------------------------------------------------------ */

typedef struct sink_state {
    char *uri[32];
    char data[32][64];
    void *ref[32];
    int n, failed;
} sink_state;

static int s_submit(void *ud, fe_source *src, const fe_job_desc *j)
{
    (void)src;
    sink_state *s = ud;
    ASSERT(s->n < 32);
    s->uri[s->n] = strdup(j->uri);
    snprintf(s->data[s->n], sizeof s->data[0], "%.*s", (int)j->len,
             (const char *)j->data);
    s->ref[s->n++] = j->ref;
    return 0;
}

static void s_failed(void *ud, fe_source *src, const char *uri, const char *msg)
{
    (void)src;
    fprintf(stderr, "sink failed: %s %s\n", uri, msg);
    ((sink_state *)ud)->failed++;
}

static void s_done(void *ud, fe_source *src)
{
    (void)ud;
    (void)src;
}

static void s_sink_fini(sink_state *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->uri[i]);
    memset(s, 0, sizeof *s);
}

static int s_find(sink_state *s, const char *needle)
{
    for (int i = 0; i < s->n; i++)
        if (strstr(s->uri[i], needle))
            return i;
    return -1;
}

static void s_wait_jobs(sink_state *s, int n)
{
    for (int i = 0; i < 2000 && s->n < n; i++)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(s->n, n);
}

static size_t g_compact_records;    /* aws_sns_opts.compact_records */

static fe_source *s_new_source_tls(const char *journal, const char *cert,
                                   const char *key)
{
    const char *topics[] = {TOPIC};
    char cbuf[512] = "", kbuf[512] = "";
    if (cert)
        snprintf(cbuf, sizeof cbuf, "%s", P(cert));
    if (key)
        snprintf(kbuf, sizeof kbuf, "%s", P(key));
    aws_sns_opts o = {.port = 0, .topics = topics, .ntopics = 1,
                      .host_pattern = "^127\\.0\\.0\\.1(:[0-9]+)?$",
                      .journal_path = P(journal), .confirm = true,
                      .compact_records = g_compact_records,
                      .region = "us-east-1",
                      .tls_cert_file = cert ? cbuf : NULL,
                      .tls_key_file = key ? kbuf : NULL};
    char err[256] = "";
    fe_source *src = aws_sns_source_new(&o, client, http, &cfg, err, sizeof err);
    if (!src)
        TG_FAIL_("aws_sns_source_new: %s", err);
    return src;
}

static fe_source *s_new_source(void)
{
    return s_new_source_tls("journal/sns.jrnl", NULL, NULL);
}

/* ---- tests ------------------------------------------------------------------------- */

static json_t *expect;

static void test_independent_checks(void)
{
    /* sns-validator's verdicts on the signatures */
    ASSERT(json_is_true(json_object_get(expect, "good2")));
    ASSERT(json_is_true(json_object_get(expect, "good1")));
    ASSERT(json_is_true(json_object_get(expect, "escaped")));
    ASSERT(json_is_true(json_object_get(expect, "subscribe")));
    ASSERT(json_is_false(json_object_get(expect, "tampered")));
    ASSERT(json_is_false(json_object_get(expect, "forged")));
    ASSERT(json_is_false(json_object_get(expect, "certurl")));
    /* openssl agrees with the good signatures */
    ASSERT_EQ(s_sh("openssl x509 -in %s/sign.crt -pubkey -noout > %s/sign.pub", dir, dir), 0);
    ASSERT_EQ(s_sh("openssl dgst -sha256 -verify %s/sign.pub -signature %s/msgs/good2.sig "
                   "%s/msgs/good2.sts >/dev/null", dir, dir, dir), 0);
    ASSERT_EQ(s_sh("openssl dgst -sha1 -verify %s/sign.pub -signature %s/msgs/good1.sig "
                   "%s/msgs/good1.sts >/dev/null", dir, dir, dir), 0);
    ASSERT(s_sh("openssl dgst -sha256 -verify %s/sign.pub -signature %s/msgs/forged.sig "
                "%s/msgs/forged.sts >/dev/null 2>&1", dir, dir, dir) != 0);
}

static void test_endpoint(void)
{
    fe_source *src = s_new_source();
    sink_state s = {0};
    fe_source_sink k = {.submit = s_submit, .failed = s_failed, .done = s_done, .ud = &s};
    char err[256] = "";
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    sns_port = aws_sns_source_port(src);
    ASSERT(sns_port > 0);

    ASSERT_EQ(s_post("good2"), 200);
    s_wait_jobs(&s, 1);
    ASSERT(s_find(&s, "_one.json.gz") >= 0);
    ASSERT_STR_EQ(s.data[0], "body-one");
    ASSERT_EQ(s_post("good2"), 200);          /* SNS retry: same MessageId */
    ASSERT_EQ(s_post("good1"), 200);          /* v1, S3 event, '+' = space */
    s_wait_jobs(&s, 2);
    ASSERT(s_find(&s, "_two space.json.gz") >= 0);
    ASSERT_EQ(s_post("escaped"), 200);
    s_wait_jobs(&s, 3);
    ASSERT(s_find(&s, "_three.json.gz") >= 0);
    ASSERT_EQ(s_post("tampered"), 403);
    ASSERT_EQ(s_post("forged"), 403);
    ASSERT_EQ(s_post("stale"), 400);
    ASSERT_EQ(s_post("topic"), 403);
    ASSERT_EQ(s_post("certurl"), 403);
    ASSERT_EQ(s_post("subscribe"), 200);
    ASSERT_EQ(s_post("unsubscribe"), 200);
    ASSERT_EQ(s_post("testevent"), 200);
    ASSERT_EQ(s_post("digest"), 200);
    ASSERT_EQ(s_post("oversized"), 413);
    ASSERT_EQ(s_post("malformed"), 400);
    /* nothing else became a job */
    int spin = 0;
    aws_test_run_until(&loop, &spin, 200);
    ASSERT_EQ(s.n, 3);
    ASSERT_EQ(s.failed, 0);
    const aws_sns_stats *t = aws_sns_source_stats(src);
    ASSERT_EQ(t->accepted, 3);
    ASSERT_EQ(t->duplicates, 1);
    ASSERT_EQ(t->confirmed, 1);
    ASSERT_EQ(t->rej_signature, 2);
    ASSERT_EQ(t->rej_stale, 1);
    ASSERT_EQ(t->rej_topic, 1);
    ASSERT_EQ(t->rej_cert_url, 1);
    ASSERT_EQ(t->cert_fetches, 1);            /* cached by URL */
    char *stats = NULL;
    ASSERT_EQ(aws_test_http_get(s3_peer.port, "/__stats", &stats), 200);
    ASSERT(strstr(stats, "\"rejected\":0,"));
    free(stats);

    /* finish two of the three jobs, then "crash" */
    src->ops->commit(src, s.ref[s_find(&s, "_two")], 0);
    src->ops->commit(src, s.ref[s_find(&s, "_three")], 0);
    void *pending = s.ref[s_find(&s, "_one")];
    (void)pending;   /* never committed: the restart must fetch it again */
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
    s_sink_fini(&s);

    src = s_new_source();
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    s_wait_jobs(&s, 1);
    ASSERT(s_find(&s, "_one.json.gz") >= 0);
    ASSERT_EQ(aws_sns_source_stats(src)->replayed, 1);
    /* and SNS redelivering it after the restart is still a duplicate */
    sns_port = aws_sns_source_port(src);
    ASSERT_EQ(s_post("good2"), 200);
    ASSERT_EQ(aws_sns_source_stats(src)->duplicates, 1);
    src->ops->commit(src, s.ref[0], 0);
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
    s_sink_fini(&s);

    src = s_new_source();
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    aws_test_run_until(&loop, &spin, 200);
    ASSERT_EQ(s.n, 0);
    ASSERT_EQ(aws_sns_source_stats(src)->replayed, 0);
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
}

/* Once every notification is done, a long enough journal is rewritten
 * empty while running (not only at the next start). */
static void test_journal_compaction(void)
{
    g_compact_records = 4;
    fe_source *src = s_new_source_tls("sns-compact.jrnl", NULL, NULL);
    g_compact_records = 0;
    sink_state s = {0};
    fe_source_sink k = {.submit = s_submit, .failed = s_failed, .done = s_done, .ud = &s};
    char err[256] = "";
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    sns_port = aws_sns_source_port(src);
    ASSERT_EQ(s_post("good2"), 200);
    ASSERT_EQ(s_post("good1"), 200);
    ASSERT_EQ(s_post("escaped"), 200);
    s_wait_jobs(&s, 3);
    struct stat st;
    ASSERT_EQ(stat(P("sns-compact.jrnl"), &st), 0);
    ASSERT(st.st_size > 8);                     /* three "a" records */
    src->ops->commit(src, s.ref[0], 0);
    src->ops->commit(src, s.ref[1], 0);
    ASSERT_EQ(aws_sns_source_stats(src)->compactions, 0);  /* one pending */
    src->ops->commit(src, s.ref[2], 0);
    ASSERT_EQ(aws_sns_source_stats(src)->compactions, 1);
    ASSERT_EQ(stat(P("sns-compact.jrnl"), &st), 0);
    ASSERT_EQ(st.st_size, 8);                   /* the header alone */
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
    s_sink_fini(&s);
    /* a restart finds nothing to redo */
    src = s_new_source_tls("sns-compact.jrnl", NULL, NULL);
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    int spin = 0;
    aws_test_run_until(&loop, &spin, 200);
    ASSERT_EQ(s.n, 0);
    ASSERT_EQ(aws_sns_source_stats(src)->replayed, 0);
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
}

/* The endpoint's own TLS listener: SNS POSTs over https. */
static void test_endpoint_tls(void)
{
    fe_source *src = s_new_source_tls("sns-tls.jrnl", "tls.crt", "tls.key");
    sink_state s = {0};
    fe_source_sink k = {.submit = s_submit, .failed = s_failed, .done = s_done, .ud = &s};
    char err[256] = "";
    ASSERT_EQ(src->ops->start(src, &loop, &k, err, sizeof err), 0);
    sns_port = aws_sns_source_port(src);
    ASSERT(sns_port > 0);
    sns_scheme = "https";           /* verified against tls.crt (aws_http) */
    ASSERT_EQ(s_post("good2"), 200);
    s_wait_jobs(&s, 1);
    ASSERT(s_find(&s, "_one.json.gz") >= 0);
    ASSERT_STR_EQ(s.data[0], "body-one");
    ASSERT_EQ(s_post("good1"), 200);
    s_wait_jobs(&s, 2);
    ASSERT_EQ(s_post("forged"), 403);
    ASSERT_EQ(s_post("oversized"), 413);
    ASSERT_EQ(aws_sns_source_stats(src)->tls_failures, 0);
    /* plain http to the TLS port: no HTTP answer, a counted failure */
    sns_scheme = "http";
    long st_plain = s_post("good2");
    ASSERT(st_plain < 100 || st_plain > 599);
    ASSERT_EQ(aws_sns_source_stats(src)->tls_failures, 1);
    sns_scheme = "https";
    ASSERT_EQ(s_post("good2"), 200);          /* still serving; duplicate */
    ASSERT_EQ(aws_sns_source_stats(src)->duplicates, 1);
    ASSERT_EQ(aws_sns_source_stats(src)->accepted, 2);
    for (int i = 0; i < s.n; i++)
        src->ops->commit(src, s.ref[i], 0);
    src->ops->stop(src);
    src->ops->free(src);
    aws_test_drain(&loop);
    s_sink_fini(&s);
    sns_scheme = "http";
    /* a key that is not the certificate's: start() fails, with a reason */
    src = s_new_source_tls("sns-tls2.jrnl", "tls.crt", "sign.key");
    err[0] = '\0';
    ASSERT(src->ops->start(src, &loop, &k, err, sizeof err) != 0);
    ASSERT(strstr(err, "tls") != NULL);
    src->ops->free(src);
    aws_test_drain(&loop);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!aws_test_peer_available())
        TG_SKIP("node or tests/peers/node_modules absent (npm ci --prefix tests/peers)");
    if (system("openssl version >/dev/null 2>&1") != 0)
        TG_SKIP("openssl CLI absent");
    ASSERT_NOT_NULL(mkdtemp(dir));
    ASSERT_EQ(s_sh("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key "
                   "-out tls.crt -days 1 -subj /CN=127.0.0.1 -addext "
                   "subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 && "
                   "openssl req -x509 -newkey rsa:2048 -nodes -keyout sign.key "
                   "-out sign.crt -days 1 -subj /CN=sns.amazonaws.com >/dev/null 2>&1 && "
                   "openssl genrsa -out forged.key 2048 >/dev/null 2>&1", dir), 0);
    char tlscrt[300], tlskey[300], statics[400];
    snprintf(tlscrt, sizeof tlscrt, "%s/tls.crt", dir);
    snprintf(tlskey, sizeof tlskey, "%s/tls.key", dir);
    snprintf(statics, sizeof statics,
             "TG_PEER_STATIC=/SimpleNotificationService-test.pem=%s/sign.crt", dir);
    const char *targv[] = {"aws_peer.js", "--tls-cert", tlscrt, "--tls-key", tlskey, NULL};
    const char *tenv[] = {statics, NULL};
    ASSERT_EQ(aws_test_peer_start(&tls_peer, targv, tenv, 15000), 0);
    const char *sargv[] = {"aws_peer.js", "--s3rver", "--verify-all", NULL};
    const char *senv[] = {"TG_PEER_BUCKETS=trail", NULL};
    ASSERT_EQ(aws_test_peer_start(&s3_peer, sargv, senv, 20000), 0);

    ASSERT_EQ(s_sh("cd %s && NODE_EXTRA_CA_CERTS=%s node sns_sender.js --out %s/msgs "
                   "--key %s/sign.key --forged-key %s/forged.key "
                   "--cert-url https://127.0.0.1:%d/SimpleNotificationService-test.pem "
                   "--topic %s --other-topic %s-other "
                   "--confirm-url https://127.0.0.1:%d/confirm --bucket trail "
                   "--key1 '%s' --key2 '%s' --key3 '%s' "
                   "--host-re '^127\\.0\\.0\\.1(:[0-9]+)?$' >/dev/null",
                   TEST_PEERS_DIR, tlscrt, dir, dir, dir, tls_peer.port, TOPIC,
                   TOPIC, tls_peer.port, KEY1, KEY2, KEY3), 0);
    expect = json_load_file(P("msgs/expect.json"), 0, NULL);
    ASSERT_NOT_NULL(expect);

    uv_loop_init(&loop);
    aws_http_opts ho = {.ca_file = tlscrt};
    http = aws_http_new(&loop, &ho);
    memset(&cfg, 0, sizeof cfg);
    char s3url[64];
    snprintf(s3url, sizeof s3url, "http://127.0.0.1:%d", s3_peer.port);
    aws_config_set(&cfg.endpoint_url_s3, s3url);
    aws_config_set(&cfg.region, "us-east-1");
    aws_creds_provider *p = aws_creds_static_new(TEST_KEY_ID, TEST_SECRET, NULL);
    chain = aws_creds_chain_new(&loop, &p, 1);
    client = aws_client_new(http, chain);
    s_put(KEY1, "body-one");
    s_put(KEY2, "body-two");
    s_put(KEY3, "body-three");

    TG_RUN(&st, test_independent_checks);
    TG_RUN(&st, test_endpoint);
    TG_RUN(&st, test_journal_compaction);
    TG_RUN(&st, test_endpoint_tls);

    char *stats = NULL;
    ASSERT_EQ(aws_test_http_get(tls_peer.port, "/__stats", &stats), -1); /* https */
    free(stats);
    json_decref(expect);
    aws_client_free(client);
    aws_creds_chain_free(chain);
    aws_http_free(http);
    aws_test_drain(&loop);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    aws_config_fini(&cfg);
    aws_test_peer_stop(&tls_peer);
    aws_test_peer_stop(&s3_peer);
    ASSERT_EQ(s_sh("rm -rf %s", dir), 0);
    curl_global_cleanup();
    TG_DONE(&st);
}
