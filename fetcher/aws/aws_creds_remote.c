/*
 * aws_creds_remote.c - credential providers that ask an endpoint: STS
 * AssumeRoleWithWebIdentity, STS AssumeRole, the ECS container endpoint
 * and EC2 IMDSv2 (see aws_creds.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * One struct for the four kinds; each fetch is a small state machine of
 * aws_http requests (IMDS: token PUT, role-name GET, credentials GET).
 * Only one fetch runs at a time per provider.  The provider never touches
 * itself after invoking the callback (the callback may free it).  Tokens
 * and secrets are read fresh on every fetch (the web-identity token and
 * ECS authorization token files rotate) and wiped after use.
 */
#include "aws_creds.h"

#include "aws_buf.h"
#include "aws_client.h"
#include "aws_sigv4.h"
#include "aws_xml.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_TOKEN_FILE_MAX (64 * 1024)
#define S_RESP_MAX (64 * 1024)

typedef enum s_kind { S_WEBID, S_ASSUME, S_ECS, S_IMDS } s_kind;

typedef struct s_remote {
    aws_creds_provider base;
    s_kind kind;
    const aws_config *cfg;
    aws_http *http;
    aws_http_req *req;
    aws_creds_cb cb;
    void *data;
    int step;
    char *imds_token;       /* secret */
    /* AssumeRole */
    aws_creds_provider *src;
    int src_pending;
    char *role_arn, *external_id, *session_name;
} s_remote;

static void s_complete(s_remote *r, int rc, const aws_creds *c)
{
    aws_creds_cb cb = r->cb;
    void *data = r->data;
    r->cb = NULL;
    r->req = NULL;
    aws_secret_free(r->imds_token);
    r->imds_token = NULL;
    if (cb)
        cb(rc, c, data);   /* r may be gone after this */
}

static int s_status_rc(long status)
{
    return status == 401 || status == 403 ? AWS_CREDS_EDENIED : AWS_CREDS_EFETCH;
}

/* {"AccessKeyId","SecretAccessKey","Token","Expiration"} */
static int s_parse_json_creds(const char *body, size_t len, aws_creds *out,
                              const char *source)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    if (!j)
        return AWS_CREDS_EINVAL;
    const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
    const char *tk = json_string_value(json_object_get(j, "Token"));
    const char *ex = json_string_value(json_object_get(j, "Expiration"));
    int rc = AWS_CREDS_EINVAL;
    if (ak && sk && *ak && *sk) {
        out->access_key_id = aws_strdup(ak);
        out->secret_access_key = aws_strdup(sk);
        out->session_token = tk && *tk ? aws_strdup(tk) : NULL;
        out->expiration = ex ? aws_parse_iso8601(ex) : 0;
        if (out->expiration < 0)
            out->expiration = 0;
        out->source = source;
        rc = 0;
    }
    json_decref(j);
    return rc;
}

static int s_parse_sts_creds(const char *body, size_t len, aws_creds *out,
                             const char *source)
{
    char *ak = aws_xml_find(body, len, "Credentials/AccessKeyId");
    char *sk = aws_xml_find(body, len, "Credentials/SecretAccessKey");
    char *tk = aws_xml_find(body, len, "Credentials/SessionToken");
    char *ex = aws_xml_find(body, len, "Credentials/Expiration");
    int rc = AWS_CREDS_EINVAL;
    if (ak && sk && *ak && *sk) {
        out->access_key_id = ak;
        out->secret_access_key = sk;
        out->session_token = tk;
        out->expiration = ex ? aws_parse_iso8601(ex) : 0;
        if (out->expiration < 0)
            out->expiration = 0;
        out->source = source;
        ak = sk = tk = NULL;
        rc = 0;
    }
    aws_secret_free(ak);
    aws_secret_free(sk);
    aws_secret_free(tk);
    free(ex);
    return rc;
}

static char *s_read_small_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    aws_buf b;
    aws_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > S_TOKEN_FILE_MAX) {
            fclose(f);
            aws_buf_fini(&b);
            return NULL;
        }
        aws_buf_append(&b, chunk, n);
    }
    fclose(f);
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' ||
                     b.data[b.len - 1] == ' '))
        b.data[--b.len] = '\0';
    return aws_buf_steal(&b);
}

static void s_form_add(aws_buf *b, const char *k, const char *v)
{
    if (b->len)
        aws_buf_putc(b, '&');
    char *ev = aws_uri_encode(v, strlen(v), 0);
    aws_buf_printf(b, "%s=%s", k, ev);
    aws_secret_free(ev);
}

static char *s_sts_url(const s_remote *r, const char **region)
{
    *region = r->cfg->region ? r->cfg->region : "us-east-1";
    char *u = aws_endpoint(r->cfg, "sts", r->cfg->region);
    if (!u)
        u = aws_strdup("https://sts.amazonaws.com");
    aws_buf b;
    aws_buf_init(&b);
    aws_buf_printf(&b, "%s/", u);
    free(u);
    return aws_buf_steal(&b);
}

/* ---- STS (web identity and AssumeRole) ----------------------------------- */

static void s_on_sts(int rc, const aws_http_response *resp, void *data)
{
    s_remote *r = data;
    r->req = NULL;
    aws_creds c;
    memset(&c, 0, sizeof c);
    const char *src = r->kind == S_WEBID ? "web-identity" : "assume-role";
    if (rc < 0)
        rc = AWS_CREDS_EFETCH;
    else if (resp->status != 200)
        rc = s_status_rc(resp->status);
    else
        rc = s_parse_sts_creds(resp->body, resp->body_len, &c, src);
    s_complete(r, rc, rc == 0 ? &c : NULL);
    aws_creds_fini(&c);
}

static int s_webid_start(s_remote *r)
{
    const aws_config *c = r->cfg;
    if (!c->web_identity_token_file || !c->role_arn)
        return AWS_CREDS_ENOTFOUND;
    char *tok = s_read_small_file(c->web_identity_token_file);
    if (!tok || !*tok) {
        aws_secret_free(tok);
        return AWS_CREDS_EINVAL;
    }
    aws_buf form;
    aws_buf_init(&form);
    s_form_add(&form, "Action", "AssumeRoleWithWebIdentity");
    s_form_add(&form, "Version", "2011-06-15");
    s_form_add(&form, "RoleArn", c->role_arn);
    s_form_add(&form, "RoleSessionName",
               c->role_session_name ? c->role_session_name : "trailguard");
    s_form_add(&form, "WebIdentityToken", tok);
    aws_secret_free(tok);
    const char *region;
    char *url = s_sts_url(r, &region);
    aws_http_header h[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
        {"Accept", "application/xml"}};
    aws_http_request rq = {.method = "POST", .url = url, .headers = h,
                           .n_headers = 2, .body = form.data,
                           .body_len = form.len, .timeout_ms = 10000,
                           .max_response = S_RESP_MAX};
    int rc = aws_http_send(r->http, &rq, s_on_sts, r, &r->req);
    free(url);
    if (form.data)
        aws_secret_free(aws_buf_steal(&form));
    return rc == 0 ? AWS_CREDS_PENDING : AWS_CREDS_EFETCH;
}

static int s_assume_with(s_remote *r, const aws_creds *base)
{
    aws_buf form;
    aws_buf_init(&form);
    s_form_add(&form, "Action", "AssumeRole");
    s_form_add(&form, "Version", "2011-06-15");
    s_form_add(&form, "RoleArn", r->role_arn);
    s_form_add(&form, "RoleSessionName",
               r->session_name ? r->session_name : "trailguard");
    if (r->external_id)
        s_form_add(&form, "ExternalId", r->external_id);
    const char *region;
    char *url = s_sts_url(r, &region);
    aws_http_header h[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    aws_http_request rq = {.method = "POST", .url = url, .headers = h,
                           .n_headers = 1, .body = form.data,
                           .body_len = form.len, .timeout_ms = 10000,
                           .max_response = S_RESP_MAX};
    int rc = aws_http_send_signed(r->http, &rq, base, region, "sts", 0, NULL,
                                  time(NULL), s_on_sts, r, &r->req);
    free(url);
    aws_buf_fini(&form);
    return rc == 0 ? AWS_CREDS_PENDING : AWS_CREDS_EFETCH;
}

static void s_on_src(int rc, const aws_creds *c, void *data)
{
    s_remote *r = data;
    r->src_pending = 0;
    if (rc == 0)
        rc = s_assume_with(r, c);
    if (rc != AWS_CREDS_PENDING)
        s_complete(r, rc < 0 ? rc : AWS_CREDS_EFETCH, NULL);
}

static int s_assume_start(s_remote *r)
{
    aws_creds base;
    memset(&base, 0, sizeof base);
    int rc = r->src->ops->fetch(r->src, &base, s_on_src, r);
    if (rc == AWS_CREDS_PENDING) {
        r->src_pending = 1;
        return AWS_CREDS_PENDING;
    }
    if (rc < 0)
        return rc;
    rc = s_assume_with(r, &base);
    aws_creds_fini(&base);
    return rc;
}

/* ---- ECS container endpoint ---------------------------------------------- */

static int s_full_uri_allowed(const char *u)
{
    if (!strncmp(u, "https://", 8))
        return 1;
    static const char *const ok[] = {
        "http://127.", "http://localhost:", "http://localhost/",
        "http://[::1]", "http://169.254.170.2:", "http://169.254.170.2/",
        "http://169.254.170.23:", "http://169.254.170.23/", "http://[fd00:ec2::23]",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strncmp(u, ok[i], strlen(ok[i])))
            return 1;
    return 0;
}

static void s_on_json_creds(int rc, const aws_http_response *resp, void *data)
{
    s_remote *r = data;
    r->req = NULL;
    aws_creds c;
    memset(&c, 0, sizeof c);
    if (rc < 0)
        rc = AWS_CREDS_EFETCH;
    else if (resp->status != 200)
        rc = s_status_rc(resp->status);
    else
        rc = s_parse_json_creds(resp->body, resp->body_len, &c,
                                r->kind == S_ECS ? "ecs" : "imds");
    s_complete(r, rc, rc == 0 ? &c : NULL);
    aws_creds_fini(&c);
}

static int s_ecs_start(s_remote *r)
{
    const aws_config *c = r->cfg;
    aws_buf url;
    aws_buf_init(&url);
    if (c->container_relative_uri) {
        aws_buf_printf(&url, "%s%s",
                       c->container_host ? c->container_host
                                         : "http://169.254.170.2",
                       c->container_relative_uri);
    } else if (c->container_full_uri) {
        if (!s_full_uri_allowed(c->container_full_uri))
            return AWS_CREDS_EINVAL;
        aws_buf_puts(&url, c->container_full_uri);
    } else {
        return AWS_CREDS_ENOTFOUND;
    }
    char *tok = NULL;
    if (c->container_auth_token_file)
        tok = s_read_small_file(c->container_auth_token_file);
    else if (c->container_auth_token)
        tok = aws_strdup(c->container_auth_token);
    aws_http_header h[1] = {{"Authorization", tok}};
    aws_http_request rq = {.url = aws_buf_str(&url), .headers = h,
                           .n_headers = tok ? 1 : 0, .timeout_ms = 5000,
                           .max_response = S_RESP_MAX};
    int rc = aws_http_send(r->http, &rq, s_on_json_creds, r, &r->req);
    aws_secret_free(tok);
    aws_buf_fini(&url);
    return rc == 0 ? AWS_CREDS_PENDING : AWS_CREDS_EFETCH;
}

/* ---- EC2 IMDSv2 ------------------------------------------------------------ */

static const char *s_imds_base(const s_remote *r)
{
    return r->cfg->imds_endpoint ? r->cfg->imds_endpoint : "http://169.254.169.254";
}

static void s_on_imds(int rc, const aws_http_response *resp, void *data);

static int s_imds_get(s_remote *r, const char *path)
{
    aws_buf url;
    aws_buf_init(&url);
    const char *base = s_imds_base(r);
    size_t bl = strlen(base);
    aws_buf_append(&url, base, bl && base[bl - 1] == '/' ? bl - 1 : bl);
    aws_buf_puts(&url, path);
    aws_http_header tokh[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    aws_http_header geth[] = {{"X-aws-ec2-metadata-token", r->imds_token}};
    aws_http_request rq = {.url = aws_buf_str(&url), .timeout_ms = 2000,
                           .max_response = S_RESP_MAX};
    if (r->step == 0) {
        rq.method = "PUT";
        rq.headers = tokh;
        rq.n_headers = 1;
    } else {
        rq.headers = geth;
        rq.n_headers = 1;
    }
    int rc = aws_http_send(r->http, &rq, s_on_imds, r, &r->req);
    aws_buf_fini(&url);
    return rc == 0 ? AWS_CREDS_PENDING : AWS_CREDS_EFETCH;
}

static void s_on_imds(int rc, const aws_http_response *resp, void *data)
{
    s_remote *r = data;
    r->req = NULL;
    if (rc < 0) {
        /* not on EC2 (or IMDS unreachable): let the chain say "none" */
        s_complete(r, rc == AWS_HTTP_ECONNECT || rc == AWS_HTTP_ETIMEDOUT
                          ? AWS_CREDS_ENOTFOUND : AWS_CREDS_EFETCH, NULL);
        return;
    }
    if (resp->status != 200) {
        s_complete(r, s_status_rc(resp->status), NULL);
        return;
    }
    if (r->step == 2) {
        s_on_json_creds(rc, resp, data);
        return;
    }
    if (r->step == 0) {
        r->imds_token = aws_strndup(resp->body, resp->body_len);
        r->step = 1;
        rc = s_imds_get(r, "/latest/meta-data/iam/security-credentials/");
    } else {
        size_t n = strcspn(resp->body, "\r\n");
        if (n == 0 || n > 128 || memchr(resp->body, '/', n)) {
            s_complete(r, AWS_CREDS_EINVAL, NULL);
            return;
        }
        aws_buf p;
        aws_buf_init(&p);
        aws_buf_puts(&p, "/latest/meta-data/iam/security-credentials/");
        char *enc = aws_uri_encode(resp->body, n, 0);
        aws_buf_puts(&p, enc);
        free(enc);
        r->step = 2;
        rc = s_imds_get(r, aws_buf_str(&p));
        aws_buf_fini(&p);
    }
    if (rc != AWS_CREDS_PENDING)
        s_complete(r, rc, NULL);
}

static int s_imds_start(s_remote *r)
{
    if (r->cfg->imds_disabled)
        return AWS_CREDS_ENOTFOUND;
    r->step = 0;
    return s_imds_get(r, "/latest/api/token");
}

/* ---- ops ------------------------------------------------------------------- */

static int s_fetch(aws_creds_provider *p, aws_creds *out, aws_creds_cb cb,
                   void *data)
{
    (void)out;
    s_remote *r = (s_remote *)p;
    if (r->cb)
        return AWS_CREDS_EINVAL;   /* one fetch at a time */
    r->cb = cb;
    r->data = data;
    int rc;
    switch (r->kind) {
    case S_WEBID: rc = s_webid_start(r); break;
    case S_ASSUME: rc = s_assume_start(r); break;
    case S_ECS: rc = s_ecs_start(r); break;
    default: rc = s_imds_start(r); break;
    }
    if (rc != AWS_CREDS_PENDING) {
        r->cb = NULL;
        aws_secret_free(r->imds_token);
        r->imds_token = NULL;
    }
    return rc;
}

static void s_cancel(aws_creds_provider *p, aws_creds_cb cb, void *data)
{
    s_remote *r = (s_remote *)p;
    if (!r->cb || r->cb != cb || r->data != data)
        return;
    if (r->req)
        aws_http_cancel(r->req);
    r->req = NULL;
    if (r->src_pending && r->src->ops->cancel)
        r->src->ops->cancel(r->src, s_on_src, r);
    r->src_pending = 0;
    r->cb = NULL;
    aws_secret_free(r->imds_token);
    r->imds_token = NULL;
}

static void s_free(aws_creds_provider *p)
{
    s_remote *r = (s_remote *)p;
    if (r->cb)
        s_cancel(p, r->cb, r->data);
    aws_creds_provider_free(r->src);
    free(r->role_arn);
    free(r->external_id);
    free(r->session_name);
    free(r);
}

static const aws_creds_provider_ops s_ops[] = {
    [S_WEBID] = {"web-identity", s_fetch, s_free, s_cancel},
    [S_ASSUME] = {"assume-role", s_fetch, s_free, s_cancel},
    [S_ECS] = {"ecs", s_fetch, s_free, s_cancel},
    [S_IMDS] = {"imds", s_fetch, s_free, s_cancel},
};

static s_remote *s_new(s_kind kind, const aws_config *c, aws_http *http)
{
    s_remote *r = aws_xcalloc(1, sizeof *r);
    r->base.ops = &s_ops[kind];
    r->kind = kind;
    r->cfg = c;
    r->http = http;
    return r;
}

aws_creds_provider *aws_creds_web_identity_new(const aws_config *c,
                                               aws_http *http)
{
    return &s_new(S_WEBID, c, http)->base;
}

aws_creds_provider *aws_creds_ecs_new(const aws_config *c, aws_http *http)
{
    return &s_new(S_ECS, c, http)->base;
}

aws_creds_provider *aws_creds_imds_new(const aws_config *c, aws_http *http)
{
    return &s_new(S_IMDS, c, http)->base;
}

aws_creds_provider *aws_creds_assume_role_new(aws_creds_provider **base,
                                              const aws_config *c,
                                              aws_http *http,
                                              const char *role_arn,
                                              const char *external_id,
                                              const char *session_name)
{
    if (!base || !*base || !role_arn || !*role_arn)
        return NULL;
    s_remote *r = s_new(S_ASSUME, c, http);
    r->src = *base;
    *base = NULL;
    r->role_arn = aws_strdup(role_arn);
    r->external_id = aws_strdup(external_id);
    r->session_name = aws_strdup(session_name);
    return &r->base;
}
