/*
 * test_aws_sigv4.c - the SigV4 signer against AWS's published answers and
 * an independent verifier.
 *
 * Owner: AWS ingestion (tests/aws/).
 *
 * 1. Every case of ../shared/sigv4-test-suite is replayed: the .req is
 *    parsed, signed, and the canonical request, string to sign and
 *    Authorization header are compared with the .creq/.sts/.authz files.
 *    Skipped (not failed) when the suite is absent.
 * 2. The S3 examples of the AWS S3 API reference (GET Object with Range,
 *    ListObjects) pin the S3 rules (single encoding, x-amz-content-sha256).
 * 3. Requests of every shape we send (S3 keys with awkward characters,
 *    SQS JSON bodies, session tokens, UNSIGNED-PAYLOAD) are sent to the
 *    loopback peer, which verifies them with @smithy/signature-v4 and
 *    answers 403 to any bad signature.  Tampered requests must get 403.
 */
#include "aws_sigv4.h"
#include "aws_test_peer.h"
#include "tg_test.h"

#include <curl/curl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#define TEST_KEY_ID "AKIDTGTEST"
#define TEST_SECRET "tgTestSecretKey/0123456789+abcdefghij"

static tg_test_state st;

static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 256;
            buf = realloc(buf, cap);
        }
        buf[n++] = (char)c;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static time_t s_parse_amz_date(const char *s)
{
    struct tm tm = {0};
    if (!strptime(s, "%Y%m%dT%H%M%SZ", &tm))
        return (time_t)-1;
    return timegm(&tm);
}

typedef struct vec_req {
    char method[16];
    char *path;
    char *query;
    aws_sigv4_header hdr[32];
    size_t nhdr;
    char *host;
    char *token;
    time_t now;
    char *body;
    size_t body_len;
    char *store[64];   /* allocations to free */
    size_t nstore;
} vec_req;

static char *s_keep(vec_req *r, char *p)
{
    r->store[r->nstore++] = p;
    return p;
}

/* Parse an AWS test-suite .req file.  Continuation lines (obsolete line
 * folding, get-header-value-multiline) become further values of the same
 * header, which the canonical form joins with ",", as the suite expects. */
static int s_parse_req(const char *text, vec_req *r)
{
    memset(r, 0, sizeof *r);
    const char *eol = strchr(text, '\n');
    size_t l0 = eol ? (size_t)(eol - text) : strlen(text);
    const char *sp = memchr(text, ' ', l0);
    const char *http = NULL;
    for (const char *p = text; p + 5 < text + l0; p++)
        if (!strncmp(p, " HTTP/", 6))
            http = p;
    if (!sp || !http || (size_t)(sp - text) >= sizeof r->method)
        return -1;
    memcpy(r->method, text, (size_t)(sp - text));
    char *target = s_keep(r, strndup(sp + 1, (size_t)(http - sp - 1)));
    char *q = strchr(target, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    r->path = target;
    const char *p = eol ? eol + 1 : text + l0;
    const char *last_name = NULL;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0) {
            p = e ? e + 1 : p + l;
            r->body = s_keep(r, strdup(p));
            r->body_len = strlen(p);
            break;
        }
        char *line = s_keep(r, strndup(p, l));
        if ((line[0] == ' ' || line[0] == '\t') && last_name) {
            r->hdr[r->nhdr].name = last_name;
            r->hdr[r->nhdr++].value = line;
        } else {
            char *colon = strchr(line, ':');
            if (!colon)
                return -1;
            *colon = '\0';
            const char *v = colon + 1;
            if (!strcasecmp(line, "host"))
                r->host = (char *)v;
            else if (!strcasecmp(line, "x-amz-date"))
                r->now = s_parse_amz_date(v);
            else if (!strcasecmp(line, "x-amz-security-token"))
                r->token = (char *)v;
            else {
                r->hdr[r->nhdr].name = line;
                r->hdr[r->nhdr++].value = v;
                last_name = line;
                p = e ? e + 1 : p + l;
                continue;
            }
            last_name = NULL;
        }
        p = e ? e + 1 : p + l;
    }
    return r->host && r->now != (time_t)-1 ? 0 : -1;
}

static void s_free_req(vec_req *r)
{
    for (size_t i = 0; i < r->nstore; i++)
        free(r->store[i]);
}

static void s_chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static int vectors_run, vectors_creq_errata;

static void s_run_case(const char *dir, const char *name)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s.req", dir, name);
    char *req = s_slurp(path, NULL);
    if (!req)
        return;
    snprintf(path, sizeof path, "%s/%s.creq", dir, name);
    char *creq = s_slurp(path, NULL);
    snprintf(path, sizeof path, "%s/%s.sts", dir, name);
    char *sts = s_slurp(path, NULL);
    snprintf(path, sizeof path, "%s/%s.authz", dir, name);
    char *authz = s_slurp(path, NULL);
    ASSERT_NOT_NULL(creq);
    ASSERT_NOT_NULL(sts);
    ASSERT_NOT_NULL(authz);
    s_chomp(authz);

    vec_req r;
    if (s_parse_req(req, &r) != 0)
        TG_FAIL_("%s: cannot parse .req", name);
    /* The suite's form-parameters case puts the form body in the query
     * and hashes an empty payload (its .creq says so); follow it. */
    int form = 0;
    for (size_t i = 0; i < r.nhdr; i++)
        if (!strcasecmp(r.hdr[i].name, "content-type") &&
            strstr(r.hdr[i].value, "x-www-form-urlencoded"))
            form = 1;
    if (form && r.body_len && !r.query) {
        r.query = r.body;
        r.body = NULL;
        r.body_len = 0;
    }
    aws_sigv4_params p = {
        .method = r.method, .host = r.host, .path = r.path, .query = r.query,
        .headers = r.hdr, .n_headers = r.nhdr, .body = r.body,
        .body_len = r.body_len, .region = "us-east-1", .service = "service",
        .now = r.now,
    };
    aws_sigv4_key key = {"AKIDEXAMPLE",
                         "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", r.token};
    aws_sigv4_result res;
    char err[128];
    int rc = aws_sigv4_sign(&p, &key, &res, err, sizeof err);
    if (rc != 0)
        TG_FAIL_("%s: sign failed: %s", name, err);
    /* A .creq whose hash is not the one in its own .sts is an erratum of
     * the published suite (post-x-www-form-urlencoded lists content-type
     * among the headers but not in SignedHeaders); check .sts/.authz only. */
    char h[65];
    aws_sha256_hex(creq, strlen(creq), h);
    if (strstr(sts, h)) {
        if (strcmp(res.canonical_request, creq) != 0)
            TG_FAIL_("%s: canonical request\n--- got\n%s\n--- want\n%s", name,
                     res.canonical_request, creq);
    } else {
        vectors_creq_errata++;
        fprintf(stderr, "note: %s: .creq inconsistent with .sts (suite "
                "erratum); comparing .sts and .authz only\n", name);
    }
    if (strcmp(res.string_to_sign, sts) != 0)
        TG_FAIL_("%s: string to sign\n--- got\n%s\n--- want\n%s", name,
                 res.string_to_sign, sts);
    ASSERT_STR_EQ(res.authorization, authz);
    vectors_run++;
    aws_sigv4_result_fini(&res);
    s_free_req(&r);
    free(req);
    free(creq);
    free(sts);
    free(authz);
}

static void s_walk(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[1536];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            s_run_case(sub, de->d_name);
            s_walk(sub);
        }
    }
    closedir(d);
}

static void test_aws_vectors(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/sigv4-test-suite", SHARED_DIR);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        fprintf(stderr, "note: %s absent; vector replay skipped\n", dir);
        return;
    }
    s_walk(dir);
    fprintf(stderr, "note: %d vectors replayed (%d with .creq erratum)\n",
            vectors_run, vectors_creq_errata);
    ASSERT(vectors_run >= 30);
}

/* AWS S3 API reference, "Signature Calculations for the Authorization
 * Header", example GET Object (Range: bytes=0-9). */
static void test_s3_doc_get_object(void)
{
    aws_sigv4_header h[] = {{"Range", "bytes=0-9"}};
    aws_sigv4_params p = {
        .method = "GET", .host = "examplebucket.s3.amazonaws.com",
        .path = "/test.txt", .headers = h, .n_headers = 1,
        .region = "us-east-1", .service = "s3",
        .now = s_parse_amz_date("20130524T000000Z"),
        .flags = AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256,
    };
    aws_sigv4_key key = {"AKIAIOSFODNN7EXAMPLE",
                         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    aws_sigv4_result res;
    ASSERT_EQ(aws_sigv4_sign(&p, &key, &res, NULL, 0), 0);
    ASSERT_STR_EQ(res.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
    ASSERT(strstr(res.authorization,
                  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
    ASSERT_EQ(res.n_out, 3);
    ASSERT_STR_EQ(res.out[1].name, "X-Amz-Content-Sha256");
    ASSERT_STR_EQ(res.out[1].value, AWS_SIGV4_EMPTY_SHA256);
    aws_sigv4_result_fini(&res);
}

/* Same page, example GET Bucket (List Objects) ?max-keys=2&prefix=J. */
static void test_s3_doc_list_objects(void)
{
    aws_sigv4_params p = {
        .method = "GET", .host = "examplebucket.s3.amazonaws.com",
        .path = "/", .query = "max-keys=2&prefix=J",
        .region = "us-east-1", .service = "s3",
        .now = s_parse_amz_date("20130524T000000Z"),
        .flags = AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256,
    };
    aws_sigv4_key key = {"AKIAIOSFODNN7EXAMPLE",
                         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    aws_sigv4_result res;
    ASSERT_EQ(aws_sigv4_sign(&p, &key, &res, NULL, 0), 0);
    ASSERT(strstr(res.authorization,
                  "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    aws_sigv4_result_fini(&res);
}

static void test_encoding_rules(void)
{
    char *e = aws_uri_encode("a b/c~d+e=f%", 12, 1);
    ASSERT_STR_EQ(e, "a%20b/c~d%2Be%3Df%25");
    free(e);
    e = aws_uri_encode("a/b", 3, 0);
    ASSERT_STR_EQ(e, "a%2Fb");
    free(e);
    char *d = aws_uri_decode("a%2fb%ZZ%4", 10);
    ASSERT_STR_EQ(d, "a/b%ZZ%4");
    free(d);
    /* S3: no normalisation, wire escapes decoded once then re-encoded. */
    aws_sigv4_params p = {
        .method = "GET", .host = "h", .path = "/b//x/../k%20y+z",
        .query = "prefix=AWSLogs%2F&list-type=2&start-after=a b",
        .region = "us-east-1", .service = "s3", .now = 0,
        .flags = AWS_SIGV4_S3,
    };
    aws_sigv4_key key = {"AK", "SK", NULL};
    aws_sigv4_result res;
    ASSERT_EQ(aws_sigv4_sign(&p, &key, &res, NULL, 0), 0);
    ASSERT(!strncmp(res.canonical_request,
                    "GET\n/b//x/../k%20y%2Bz\n"
                    "list-type=2&prefix=AWSLogs%2F&start-after=a%20b\n", 71));
    aws_sigv4_result_fini(&res);
}

static void test_bad_input(void)
{
    aws_sigv4_key key = {"AK", "SK", NULL};
    aws_sigv4_result res;
    char err[64] = "";
    aws_sigv4_header bad[] = {{"X-Evil", "a\r\nInjected: 1"}};
    aws_sigv4_params p = {.method = "GET", .host = "h", .path = "/",
                          .headers = bad, .n_headers = 1,
                          .region = "r", .service = "s"};
    ASSERT_EQ(aws_sigv4_sign(&p, &key, &res, err, sizeof err), AWS_SIGV4_EINVAL);
    ASSERT(err[0]);
    aws_sigv4_header dup[] = {{"Host", "other"}};
    p.headers = dup;
    ASSERT_EQ(aws_sigv4_sign(&p, &key, &res, NULL, 0), AWS_SIGV4_EINVAL);
    p.n_headers = 0;
    p.payload_hash = "NOT-A-HASH";
    ASSERT_EQ(aws_sigv4_sign(&p, &key, &res, NULL, 0), AWS_SIGV4_EINVAL);
    p.payload_hash = NULL;
    aws_sigv4_key nokey = {"", "SK", NULL};
    ASSERT_EQ(aws_sigv4_sign(&p, &nokey, &res, NULL, 0), AWS_SIGV4_EINVAL);
    ASSERT(res.authorization == NULL);
    aws_sigv4_result_fini(&res);
    aws_sigv4_result_fini(NULL);
}

/* post-sts-header-after, via the flag instead of the vector. */
static void test_token_unsigned_flag(void)
{
    aws_sigv4_params p = {.method = "POST", .host = "example.amazonaws.com",
                          .path = "/", .region = "us-east-1",
                          .service = "service",
                          .now = s_parse_amz_date("20150830T123600Z"),
                          .flags = AWS_SIGV4_TOKEN_UNSIGNED};
    aws_sigv4_key key = {"AKIDEXAMPLE",
                         "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN"};
    aws_sigv4_result res;
    ASSERT_EQ(aws_sigv4_sign(&p, &key, &res, NULL, 0), 0);
    ASSERT(strstr(res.authorization, "SignedHeaders=host;x-amz-date, Signature="
                  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
    ASSERT_STR_EQ(res.out[1].name, "X-Amz-Security-Token");
    aws_sigv4_result_fini(&res);
}

/* ---- independent verifier ---------------------------------------------- */

static aws_test_peer peer;

static size_t s_sink(char *p, size_t sz, size_t n, void *d)
{
    (void)p;
    (void)d;
    return sz * n;
}

/* Sign and send one request to the verifier; returns the HTTP status. */
static long s_send(const char *method, const char *path, const char *query,
                   aws_sigv4_header *h, size_t nh, const char *body,
                   const char *service, unsigned flags, const char *payload_hash,
                   const char *secret, const char *token, int tamper)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", peer.port);
    aws_sigv4_params p = {
        .method = method, .host = host, .path = path, .query = query,
        .headers = h, .n_headers = nh, .body = body,
        .body_len = body ? strlen(body) : 0, .payload_hash = payload_hash,
        .region = "eu-west-3", .service = service, .now = time(NULL),
        .flags = flags,
    };
    aws_sigv4_key key = {TEST_KEY_ID, secret, token};
    aws_sigv4_result res;
    ASSERT_EQ(aws_sigv4_sign(&p, &key, &res, NULL, 0), 0);
    /* The wire URL carries the path exactly as encoded for S3. */
    char url[2048];
    char *enc_path = (flags & AWS_SIGV4_S3) ? aws_uri_encode(path, strlen(path), 1)
                                            : strdup(path);
    char *qs = NULL;
    if (query) {
        /* encode the query the same way the signer canonicalises it */
        size_t ql = strlen(query);
        qs = calloc(1, ql * 3 + 1);
        for (size_t i = 0, j = 0; i < ql; i++) {
            unsigned char c = (unsigned char)query[i];
            if (c == ' ')
                j += (size_t)sprintf(qs + j, "%%20");
            else
                qs[j++] = (char)c;
        }
    }
    snprintf(url, sizeof url, "http://%s%s%s%s", host, enc_path, qs ? "?" : "",
             qs ? qs : "");
    free(enc_path);
    free(qs);
    struct curl_slist *hl = NULL;
    char line[4096];
    for (size_t i = 0; i < nh; i++) {
        snprintf(line, sizeof line, "%s: %s", h[i].name, h[i].value);
        hl = curl_slist_append(hl, line);
    }
    for (size_t i = 0; i < res.n_out; i++) {
        snprintf(line, sizeof line, "%s: %s", res.out[i].name, res.out[i].value);
        if (tamper && !strcmp(res.out[i].name, "Authorization"))
            line[strlen(line) - 1] = line[strlen(line) - 1] == '0' ? '1' : '0';
        hl = curl_slist_append(hl, line);
    }
    hl = curl_slist_append(hl, "Expect:");
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, tamper == 2 ? "tampered" : body);
    }
    long code = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    aws_sigv4_result_fini(&res);
    return code;
}

static void test_verifier_accepts(void)
{
    /* S3 GetObject with awkward key characters, UNSIGNED-PAYLOAD. */
    long code = s_send("GET", "/trail-bucket/AWSLogs/o-abc/1111/CloudTrail/eu-west-3/"
                       "2026/11/27/k e+y=(1)*!'@$&;,ü%.json.gz",
                       NULL, NULL, 0, NULL, "s3",
                       AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256,
                       AWS_SIGV4_UNSIGNED_PAYLOAD, TEST_SECRET, NULL, 0);
    ASSERT(code != 403 && code > 0);
    /* S3 ListObjectsV2 query with session token. */
    code = s_send("GET", "/trail-bucket", "list-type=2&prefix=AWSLogs/&start-after=AWSLogs/x y&max-keys=1000",
                  NULL, 0, NULL, "s3", AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256,
                  NULL, TEST_SECRET, "FwoGZXIvYXdzE//token+/=", 0);
    ASSERT(code != 403 && code > 0);
    /* SQS JSON protocol POST, hashed body. */
    aws_sigv4_header h[] = {{"Content-Type", "application/x-amz-json-1.0"},
                            {"X-Amz-Target", "AmazonSQS.ReceiveMessage"}};
    code = s_send("POST", "/", NULL, h, 2,
                  "{\"QueueUrl\":\"http://q/1/q\",\"MaxNumberOfMessages\":10}",
                  "sqs", 0, NULL, TEST_SECRET, NULL, 0);
    ASSERT(code != 403 && code > 0);
    /* STS form POST with path needing normalisation rules of non-S3. */
    aws_sigv4_header f[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
    code = s_send("POST", "/", NULL, f, 1,
                  "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=tg",
                  "sts", 0, NULL, TEST_SECRET, "tok", 0);
    ASSERT(code != 403 && code > 0);
}

static void test_verifier_rejects(void)
{
    /* wrong secret */
    ASSERT_EQ(s_send("GET", "/b/k", NULL, NULL, 0, NULL, "s3",
                     AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256, NULL,
                     "wrong-secret", NULL, 0), 403);
    /* altered signature */
    ASSERT_EQ(s_send("GET", "/b/k", NULL, NULL, 0, NULL, "s3",
                     AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256, NULL, TEST_SECRET,
                     NULL, 1), 403);
    /* body changed after signing */
    aws_sigv4_header h[] = {{"Content-Type", "application/x-amz-json-1.0"}};
    ASSERT_EQ(s_send("POST", "/", NULL, h, 1, "{\"a\":1}", "sqs", 0, NULL,
                     TEST_SECRET, NULL, 2), 403);
    char *stats = NULL;
    ASSERT_EQ(aws_test_http_get(peer.port, "/__stats", &stats), 200);
    ASSERT(strstr(stats, "\"rejected\":3"));
    free(stats);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TG_RUN(&st, test_encoding_rules);
    TG_RUN(&st, test_bad_input);
    TG_RUN(&st, test_token_unsigned_flag);
    TG_RUN(&st, test_s3_doc_get_object);
    TG_RUN(&st, test_s3_doc_list_objects);
    TG_RUN(&st, test_aws_vectors);
    const char *argv[] = {"aws_peer.js", NULL};
    int rc = aws_test_peer_start(&peer, argv, NULL, 15000);
    if (rc == 77) {
        fprintf(stderr, "note: node or tests/peers/node_modules absent; "
                "independent verifier skipped (run npm ci --prefix tests/peers)\n");
    } else {
        ASSERT_EQ(rc, 0);
        TG_RUN(&st, test_verifier_accepts);
        TG_RUN(&st, test_verifier_rejects);
        aws_test_peer_stop(&peer);
    }
    curl_global_cleanup();
    TG_DONE(&st);
}
