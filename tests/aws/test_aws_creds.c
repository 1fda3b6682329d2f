/*
 * test_aws_creds.c - the credential chain and its providers against the
 * loopback peer (STS, IMDSv2, ECS endpoints; SigV4 verified by
 * @smithy/signature-v4): environment, profiles (static and role_arn +
 * source_profile), web identity, ECS full/relative URI with token file,
 * IMDSv2, chain order, refresh before expiry with an injected clock,
 * AssumeRole on top of a chain, endpoint resolution, and signed calls
 * through aws_client.
 *
 * Owner: AWS ingestion (tests/aws/).
 */
#include "aws_client.h"
#include "aws_config.h"
#include "aws_creds.h"
#include "aws_test_loop.h"
#include "aws_test_peer.h"
#include "tg_test.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST_KEY_ID "AKIDTGTEST"
#define TEST_SECRET "tgTestSecretKey/0123456789+abcdefghij"

static tg_test_state st;
static uv_loop_t loop;
static aws_test_peer peer;
static aws_http *http;
static char tmpdir[] = "/tmp/tg-aws-creds-XXXXXX";
static char peer_url[64];

/* ---- fake environment -------------------------------------------------- */

static const char *s_env_get(const char *name, void *ud)
{
    const char *const *env = ud;
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (!strncmp(env[i], name, n) && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

static void s_write(const char *name, const char *text, char *path, size_t plen)
{
    snprintf(path, plen, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
}

/* ---- running a chain to completion ------------------------------------- */

typedef struct result {
    int done;
    int rc;
    aws_creds c;
} result;

static void s_creds_cb(int rc, const aws_creds *c, void *data)
{
    result *r = data;
    r->done = 1;
    r->rc = rc;
    if (c)
        aws_creds_copy(&r->c, c);
}

static void s_get(aws_creds_chain *ch, result *r)
{
    memset(r, 0, sizeof *r);
    ASSERT_EQ(aws_creds_chain_get(ch, s_creds_cb, r), 0);
    ASSERT_EQ(r->done, 0);
    ASSERT(aws_test_run_until(&loop, &r->done, 10000));
}

static aws_creds_chain *s_chain(aws_config *cfg, const char *const *env)
{
    ASSERT_EQ(aws_config_from_env(cfg, s_env_get, (void *)env), 0);
    return aws_creds_chain_default(&loop, cfg, http);
}

static void s_done_chain(aws_creds_chain *ch, aws_config *cfg)
{
    aws_creds_chain_free(ch);
    aws_test_drain(&loop);
    aws_config_fini(cfg);
}

static long s_stat(const char *field)
{
    char *body = NULL;
    ASSERT_EQ(aws_test_http_get(peer.port, "/__stats", &body), 200);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", field);
    const char *p = strstr(body, pat);
    long v = p ? strtol(p + strlen(pat), NULL, 10) : -1;
    free(body);
    return v;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_env(void)
{
    const char *env[] = {"AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=sekrit",
                         "AWS_SESSION_TOKEN=tok", "AWS_REGION=eu-west-1",
                         "AWS_EC2_METADATA_DISABLED=true", NULL};
    aws_config cfg;
    aws_creds_chain *ch = s_chain(&cfg, env);
    ASSERT_STR_EQ(cfg.region, "eu-west-1");
    ASSERT(aws_creds_chain_current(ch) == NULL);
    result r;
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_STR_EQ(r.c.access_key_id, "AKIDENV");
    ASSERT_STR_EQ(r.c.secret_access_key, "sekrit");
    ASSERT_STR_EQ(r.c.session_token, "tok");
    ASSERT_STR_EQ(aws_creds_chain_source(ch), "env");
    ASSERT_NOT_NULL(aws_creds_chain_current(ch));
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);
}

static void test_nothing_configured(void)
{
    const char *env[] = {"AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent",
                         NULL};
    aws_config cfg;
    aws_creds_chain *ch = s_chain(&cfg, env);
    result r;
    s_get(ch, &r);
    ASSERT_EQ(r.rc, AWS_CREDS_ENOTFOUND);
    ASSERT(aws_creds_chain_source(ch) == NULL);
    s_done_chain(ch, &cfg);
}

static void test_profiles(void)
{
    char credp[256], confp[256];
    s_write("credentials",
            "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n"
            "aws_secret_access_key = s1\n\n[dev]\n"
            "aws_access_key_id=AKIDDEV\naws_secret_access_key=s2\n"
            "aws_session_token=t2\n"
            "[base]\naws_access_key_id=" TEST_KEY_ID "\n"
            "aws_secret_access_key=" TEST_SECRET "\n",
            credp, sizeof credp);
    s_write("config",
            "[default]\nregion = us-east-2\n[profile dev]\nregion=ap-south-1\n"
            "[profile ops]\nrole_arn = arn:aws:iam::111122223333:role/tg\n"
            "source_profile = base\nregion = eu-west-3\n"
            "[profile proc]\ncredential_process = /bin/false\n",
            confp, sizeof confp);
    char e1[300], e2[300], e3[160];
    snprintf(e1, sizeof e1, "AWS_SHARED_CREDENTIALS_FILE=%s", credp);
    snprintf(e2, sizeof e2, "AWS_CONFIG_FILE=%s", confp);
    snprintf(e3, sizeof e3, "AWS_ENDPOINT_URL_STS=%s", peer_url);

    const char *env1[] = {e1, e2, "AWS_EC2_METADATA_DISABLED=true", NULL};
    aws_config cfg;
    aws_creds_chain *ch = s_chain(&cfg, env1);
    result r;
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_STR_EQ(r.c.access_key_id, "AKIDDEFAULT");
    ASSERT(r.c.session_token == NULL);
    ASSERT_STR_EQ(aws_creds_chain_source(ch), "profile");
    char *region = NULL;
    ASSERT_EQ(aws_config_profile_region(&cfg, &region), 0);
    ASSERT_STR_EQ(region, "us-east-2");
    free(region);
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);

    const char *env2[] = {e1, e2, "AWS_PROFILE=dev",
                          "AWS_EC2_METADATA_DISABLED=true", NULL};
    ch = s_chain(&cfg, env2);
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_STR_EQ(r.c.access_key_id, "AKIDDEV");
    ASSERT_STR_EQ(r.c.session_token, "t2");
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);

    /* role_arn + source_profile: signed sts:AssumeRole, verified by peer */
    long sts_before = s_stat("sts");
    const char *env3[] = {e1, e2, e3, "AWS_PROFILE=ops", "AWS_REGION=eu-west-3",
                          "AWS_EC2_METADATA_DISABLED=true", NULL};
    ch = s_chain(&cfg, env3);
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT(!strncmp(r.c.access_key_id, "ASIATGPEER", 10));
    ASSERT_NOT_NULL(r.c.session_token);
    ASSERT(r.c.expiration > time(NULL));
    ASSERT_STR_EQ(r.c.source, "assume-role");
    ASSERT_EQ(s_stat("sts"), sts_before + 1);
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);

    /* credential_process is reported, not silently skipped */
    const char *env4[] = {e1, e2, "AWS_PROFILE=proc",
                          "AWS_EC2_METADATA_DISABLED=true", NULL};
    ch = s_chain(&cfg, env4);
    s_get(ch, &r);
    ASSERT_EQ(r.rc, AWS_CREDS_EINVAL);
    s_done_chain(ch, &cfg);
}

static void test_web_identity(void)
{
    char tokp[256];
    s_write("webtoken", "eyJ.web-identity-token.sig\n", tokp, sizeof tokp);
    char e1[300], e2[160];
    snprintf(e1, sizeof e1, "AWS_WEB_IDENTITY_TOKEN_FILE=%s", tokp);
    snprintf(e2, sizeof e2, "AWS_ENDPOINT_URL=%s", peer_url);
    const char *env[] = {e1, e2, "AWS_ROLE_ARN=arn:aws:iam::1:role/irsa",
                         "AWS_REGION=us-west-2", "HOME=/nonexistent",
                         "AWS_EC2_METADATA_DISABLED=true", NULL};
    aws_config cfg;
    aws_creds_chain *ch = s_chain(&cfg, env);
    result r;
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT(!strncmp(r.c.access_key_id, "ASIATGPEER", 10));
    ASSERT_STR_EQ(r.c.source, "web-identity");
    char *stats = NULL;
    aws_test_http_get(peer.port, "/__stats", &stats);
    ASSERT(strstr(stats, "\"eyJ.web-identity-token.sig\""));
    free(stats);
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);
}

static void test_ecs(void)
{
    char tokp[256];
    s_write("ecstoken", "Bearer-ecs-secret\n", tokp, sizeof tokp);
    char e1[300], e2[200];
    snprintf(e1, sizeof e1, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s", tokp);
    snprintf(e2, sizeof e2, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s/ecs/creds",
             peer_url);
    const char *env[] = {e1, e2, "HOME=/nonexistent",
                         "AWS_EC2_METADATA_DISABLED=true", NULL};
    aws_config cfg;
    aws_creds_chain *ch = s_chain(&cfg, env);
    long before = s_stat("ecs");
    result r;
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_STR_EQ(r.c.source, "ecs");
    ASSERT(r.c.expiration > time(NULL) + 3000);
    ASSERT_EQ(s_stat("ecs"), before + 1);
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);

    /* wrong token: denied */
    const char *env2[] = {e2, "AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong",
                          "HOME=/nonexistent", "AWS_EC2_METADATA_DISABLED=true",
                          NULL};
    ch = s_chain(&cfg, env2);
    s_get(ch, &r);
    ASSERT_EQ(r.rc, AWS_CREDS_EDENIED);
    s_done_chain(ch, &cfg);

    /* relative URI against the (test-overridden) container host */
    const char *env3[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/ecs/creds",
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN=Bearer-ecs-secret",
                          "HOME=/nonexistent", "AWS_EC2_METADATA_DISABLED=true",
                          NULL};
    ASSERT_EQ(aws_config_from_env(&cfg, s_env_get, (void *)env3), 0);
    aws_config_set(&cfg.container_host, peer_url);
    ch = aws_creds_chain_default(&loop, &cfg, http);
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_STR_EQ(r.c.source, "ecs");
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);

    /* a plain-http full URI that is not loopback/link-local is refused */
    const char *env4[] = {"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://evil.example/c",
                          "HOME=/nonexistent", "AWS_EC2_METADATA_DISABLED=true",
                          NULL};
    ch = s_chain(&cfg, env4);
    s_get(ch, &r);
    ASSERT_EQ(r.rc, AWS_CREDS_EINVAL);
    s_done_chain(ch, &cfg);
}

static void test_imds(void)
{
    char e1[200];
    snprintf(e1, sizeof e1, "AWS_EC2_METADATA_SERVICE_ENDPOINT=%s/", peer_url);
    const char *env[] = {e1, "HOME=/nonexistent", NULL};
    aws_config cfg;
    aws_creds_chain *ch = s_chain(&cfg, env);
    long before = s_stat("imds");
    result r;
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_STR_EQ(r.c.source, "imds");
    ASSERT_NOT_NULL(r.c.session_token);
    ASSERT_EQ(s_stat("imds"), before + 1);
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);
}

/* Env wins over everything else configured at the same time. */
static void test_order(void)
{
    char e1[200];
    snprintf(e1, sizeof e1, "AWS_EC2_METADATA_SERVICE_ENDPOINT=%s", peer_url);
    const char *env[] = {e1, "AWS_ACCESS_KEY_ID=AKIDFIRST",
                         "AWS_SECRET_ACCESS_KEY=x", "HOME=/nonexistent", NULL};
    aws_config cfg;
    aws_creds_chain *ch = s_chain(&cfg, env);
    long before = s_stat("imds");
    result r;
    s_get(ch, &r);
    ASSERT_STR_EQ(r.c.access_key_id, "AKIDFIRST");
    ASSERT_EQ(s_stat("imds"), before);
    aws_creds_fini(&r.c);
    s_done_chain(ch, &cfg);
}

static time_t fake_now;
static time_t s_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static void test_refresh_before_expiry(void)
{
    char e1[200];
    snprintf(e1, sizeof e1, "AWS_EC2_METADATA_SERVICE_ENDPOINT=%s", peer_url);
    const char *env[] = {e1, "HOME=/nonexistent", NULL};
    aws_config cfg;
    aws_creds_chain *ch = s_chain(&cfg, env);
    fake_now = time(NULL);
    aws_creds_chain_set_clock(ch, s_clock, NULL);
    result r;
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    char *first = strdup(r.c.access_key_id);
    time_t exp = r.c.expiration;
    aws_creds_fini(&r.c);
    /* well before the window: cached, no new fetch */
    long before = s_stat("imds");
    fake_now = exp - 1000;
    s_get(ch, &r);
    ASSERT_STR_EQ(r.c.access_key_id, first);
    aws_creds_fini(&r.c);
    ASSERT_EQ(s_stat("imds"), before);
    /* inside the 300 s window: still served, refreshed in the background */
    fake_now = exp - 200;
    const aws_creds *cur = aws_creds_chain_current(ch);
    ASSERT_NOT_NULL(cur);
    ASSERT_STR_EQ(cur->access_key_id, first);
    for (int i = 0; i < 500 && s_stat("imds") == before; i++)
        uv_run(&loop, UV_RUN_ONCE);
    ASSERT_EQ(s_stat("imds"), before + 1);
    for (int i = 0; i < 500; i++) {
        cur = aws_creds_chain_current(ch);
        if (cur && strcmp(cur->access_key_id, first))
            break;
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    ASSERT(cur && strcmp(cur->access_key_id, first) != 0);
    free(first);
    first = strdup(cur->access_key_id);
    /* past (new expiry - 60 s): current() refuses, get() fetches anew */
    fake_now = cur->expiration - 30;
    ASSERT(aws_creds_chain_current(ch) == NULL);
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT(strcmp(r.c.access_key_id, first) != 0);
    aws_creds_fini(&r.c);
    free(first);
    s_done_chain(ch, &cfg);
}

static void test_assume_role_on_chain(void)
{
    char e1[200];
    snprintf(e1, sizeof e1, "AWS_ENDPOINT_URL_STS=%s", peer_url);
    const char *env[] = {e1, "AWS_ACCESS_KEY_ID=" TEST_KEY_ID,
                         "AWS_SECRET_ACCESS_KEY=" TEST_SECRET, "AWS_REGION=us-east-1",
                         "HOME=/nonexistent", "AWS_EC2_METADATA_DISABLED=true", NULL};
    aws_config cfg;
    aws_creds_chain *base = s_chain(&cfg, env);
    aws_creds_provider *bp = aws_creds_chain_as_provider(base);
    aws_creds_provider *ar = aws_creds_assume_role_new(
        &bp, &cfg, http, "arn:aws:iam::222233334444:role/reader", "ext-1", NULL);
    ASSERT_NOT_NULL(ar);
    ASSERT(bp == NULL);
    aws_creds_chain *ch = aws_creds_chain_new(&loop, &ar, 1);
    result r;
    s_get(ch, &r);
    ASSERT_EQ(r.rc, 0);
    ASSERT_STR_EQ(r.c.source, "assume-role");
    aws_creds_fini(&r.c);

    /* A signed call with the assumed credentials through aws_client. */
    aws_client *cl = aws_client_new(http, ch);
    char url[128];
    snprintf(url, sizeof url, "%s/echo?x=a%%20b&y=%%2F", peer_url);
    aws_http_header h[] = {{"X-Amz-Target", "Test.Op"}};
    aws_http_request rq = {.method = "POST", .url = url, .headers = h,
                           .n_headers = 1, .body = "{}", .body_len = 2};
    struct { int done; long status; char *body; } g = {0, 0, NULL};
    void s_echo_cb(int rc, const aws_http_response *resp, void *data);
    ASSERT_EQ(aws_client_send(cl, &rq, "us-east-1", "test", 0, NULL, s_echo_cb, &g,
                              NULL), 0);
    ASSERT(aws_test_run_until(&loop, &g.done, 10000));
    ASSERT_EQ(g.status, 200);
    ASSERT(strstr(g.body, "\"signed\":true"));
    free(g.body);
    aws_client_free(cl);
    aws_creds_chain_free(ch);
    s_done_chain(base, &cfg);
}

void s_echo_cb(int rc, const aws_http_response *resp, void *data)
{
    struct { int done; long status; char *body; } *g = data;
    g->done = 1;
    if (rc == 0) {
        g->status = resp->status;
        g->body = strndup(resp->body, resp->body_len);
    }
}

static void test_endpoints(void)
{
    aws_config cfg;
    const char *env[] = {"AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000/",
                         "AWS_ENDPOINT_URL=http://localhost:4566", NULL};
    aws_config_from_env(&cfg, s_env_get, (void *)env);
    char *u = aws_endpoint(&cfg, "s3", "eu-west-1");
    ASSERT_STR_EQ(u, "http://127.0.0.1:9000");
    free(u);
    u = aws_endpoint(&cfg, "sqs", "eu-west-1");
    ASSERT_STR_EQ(u, "http://localhost:4566");
    free(u);
    aws_config_fini(&cfg);
    u = aws_endpoint(NULL, "sqs", "cn-north-1");
    ASSERT_STR_EQ(u, "https://sqs.cn-north-1.amazonaws.com.cn");
    free(u);
    u = aws_endpoint(NULL, "s3", "us-gov-west-1");
    ASSERT_STR_EQ(u, "https://s3.us-gov-west-1.amazonaws.com");
    free(u);
    ASSERT_STR_EQ(aws_partition("us-gov-east-1"), "aws-us-gov");
    ASSERT(aws_endpoint(NULL, "s3", "evil.com/x") == NULL);
    ASSERT_EQ(aws_parse_iso8601("2016-02-25T06:03:31Z"), 1456380211);
    ASSERT_EQ(aws_parse_iso8601("2016-02-25T06:03:31.123Z"), 1456380211);
    ASSERT_EQ(aws_parse_iso8601("garbage"), -1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TG_RUN(&st, test_endpoints);
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
    const char *argv[] = {"aws_peer.js", NULL};
    const char *penv[] = {"TG_PEER_ECS_TOKEN=Bearer-ecs-secret",
                          "TG_PEER_WEB_TOKEN=eyJ.web-identity-token.sig", NULL};
    int rc = aws_test_peer_start(&peer, argv, penv, 15000);
    if (rc == 77)
        TG_SKIP("node or tests/peers/node_modules absent (npm ci --prefix tests/peers)");
    ASSERT_EQ(rc, 0);
    snprintf(peer_url, sizeof peer_url, "http://127.0.0.1:%d", peer.port);
    uv_loop_init(&loop);
    http = aws_http_new(&loop, NULL);
    TG_RUN(&st, test_env);
    TG_RUN(&st, test_nothing_configured);
    TG_RUN(&st, test_profiles);
    TG_RUN(&st, test_web_identity);
    TG_RUN(&st, test_ecs);
    TG_RUN(&st, test_imds);
    TG_RUN(&st, test_order);
    TG_RUN(&st, test_refresh_before_expiry);
    TG_RUN(&st, test_assume_role_on_chain);
    aws_http_free(http);
    aws_test_drain(&loop);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    aws_test_peer_stop(&peer);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ASSERT_EQ(system(cmd), 0);
    curl_global_cleanup();
    TG_DONE(&st);
}
