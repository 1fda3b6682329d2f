/*
 * aws_creds_profile.c - the shared config/credentials files provider
 * (~/.aws/credentials, ~/.aws/config; AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE,
 * AWS_CONFIG_FILE), see aws_creds.h.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * Both files are re-read on every fetch (they are small and may be
 * rotated).  In the credentials file a section is "[name]"; in the config
 * file "[profile name]" (and "[default]").  Keys: aws_access_key_id,
 * aws_secret_access_key, aws_session_token; a profile with role_arn +
 * source_profile assumes that role with the source profile's static keys
 * (STS AssumeRole, signed).  credential_process and SSO profiles are
 * reported as unsupported (AWS_CREDS_EINVAL).  Values are never copied
 * into error messages.
 */
#include "aws_creds.h"

#include "aws_buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_KEYS 32
#define S_MAX_LINE 4096

typedef struct s_kv {
    char *key[S_MAX_KEYS];
    char *val[S_MAX_KEYS];
    size_t n;
    int found;          /* the section exists */
} s_kv;

static void s_kv_fini(s_kv *kv)
{
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->key[i]);
        aws_secret_free(kv->val[i]);
    }
    memset(kv, 0, sizeof *kv);
}

static const char *s_kv_get(const s_kv *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++)
        if (!strcmp(kv->key[i], key))
            return kv->val[i];
    return NULL;
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Does "[...]" header text name the wanted profile? */
static int s_section_matches(const char *sec, const char *profile, int config)
{
    if (!config)
        return !strcmp(sec, profile);
    if (!strcmp(profile, "default") && !strcmp(sec, "default"))
        return 1;
    if (!strncmp(sec, "profile", 7) && isspace((unsigned char)sec[7])) {
        const char *n = sec + 8;
        while (isspace((unsigned char)*n))
            n++;
        return !strcmp(n, profile);
    }
    return 0;
}

static void s_load(const char *path, const char *profile, int config, s_kv *kv)
{
    if (!path)
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[S_MAX_LINE];
    int in = 0;
    while (fgets(line, sizeof line, f)) {
        char *s = s_trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e) {
                in = 0;
                continue;
            }
            *e = '\0';
            in = s_section_matches(s_trim(s + 1), profile, config);
            if (in)
                kv->found = 1;
            continue;
        }
        if (!in || kv->n >= S_MAX_KEYS)
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *k = s_trim(s), *v = s_trim(eq + 1);
        for (char *c = k; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (s_kv_get(kv, k))
            continue;   /* first occurrence wins */
        kv->key[kv->n] = aws_strdup(k);
        kv->val[kv->n++] = aws_strdup(v);
    }
    fclose(f);
}

/* Static keys of a profile: credentials file first, then config file. */
static int s_static_keys(const aws_config *c, const char *profile, aws_creds *out)
{
    s_kv a = {0}, b = {0};
    s_load(c->shared_credentials_file, profile, 0, &a);
    s_load(c->config_file, profile, 1, &b);
    const s_kv *src = s_kv_get(&a, "aws_access_key_id") ? &a : &b;
    const char *ak = s_kv_get(src, "aws_access_key_id");
    const char *sk = s_kv_get(src, "aws_secret_access_key");
    const char *tk = s_kv_get(src, "aws_session_token");
    int rc = AWS_CREDS_ENOTFOUND;
    if (ak && sk && *ak && *sk) {
        out->access_key_id = aws_strdup(ak);
        out->secret_access_key = aws_strdup(sk);
        out->session_token = tk && *tk ? aws_strdup(tk) : NULL;
        out->expiration = 0;
        out->source = "profile";
        rc = 0;
    } else if (ak || sk) {
        rc = AWS_CREDS_EINVAL;
    }
    s_kv_fini(&a);
    s_kv_fini(&b);
    return rc;
}

typedef struct s_profile {
    aws_creds_provider base;
    const aws_config *cfg;
    aws_http *http;
    aws_creds_provider *assume;   /* built per fetch for role_arn profiles */
    aws_creds_cb cb;
    void *data;
} s_profile;

static void s_on_assume(int rc, const aws_creds *c, void *data)
{
    s_profile *p = data;
    aws_creds_cb cb = p->cb;
    void *ud = p->data;
    p->cb = NULL;
    cb(rc, c, ud);
}

static int s_fetch(aws_creds_provider *base, aws_creds *out, aws_creds_cb cb,
                   void *data)
{
    s_profile *p = (s_profile *)base;
    const aws_config *c = p->cfg;
    const char *profile = c->profile ? c->profile : "default";
    if (p->cb)
        return AWS_CREDS_EINVAL;
    s_kv conf = {0};
    s_load(c->config_file, profile, 1, &conf);
    const char *role = s_kv_get(&conf, "role_arn");
    const char *srcp = s_kv_get(&conf, "source_profile");
    int rc;
    if (role && srcp) {
        aws_creds src;
        memset(&src, 0, sizeof src);
        rc = strcmp(srcp, profile) ? s_static_keys(c, srcp, &src)
                                   : AWS_CREDS_EINVAL;
        if (rc == 0) {
            aws_creds_provider *st = aws_creds_static_new(
                src.access_key_id, src.secret_access_key, src.session_token);
            aws_creds_fini(&src);
            aws_creds_provider_free(p->assume);
            p->assume = aws_creds_assume_role_new(
                &st, c, p->http, role, s_kv_get(&conf, "external_id"),
                s_kv_get(&conf, "role_session_name"));
            p->cb = cb;
            p->data = data;
            rc = p->assume->ops->fetch(p->assume, out, s_on_assume, p);
            if (rc != AWS_CREDS_PENDING)
                p->cb = NULL;
        } else if (rc == AWS_CREDS_ENOTFOUND) {
            rc = AWS_CREDS_EINVAL;   /* role profile with unusable source */
        }
    } else {
        rc = s_static_keys(c, profile, out);
        if (rc == AWS_CREDS_ENOTFOUND &&
            (s_kv_get(&conf, "credential_process") ||
             s_kv_get(&conf, "sso_start_url") || s_kv_get(&conf, "sso_session") ||
             role))
            rc = AWS_CREDS_EINVAL;   /* configured but unsupported here */
    }
    s_kv_fini(&conf);
    return rc;
}

static void s_cancel(aws_creds_provider *base, aws_creds_cb cb, void *data)
{
    s_profile *p = (s_profile *)base;
    if (p->cb != cb || p->data != data)
        return;
    if (p->assume)
        p->assume->ops->cancel(p->assume, s_on_assume, p);
    p->cb = NULL;
}

static void s_free(aws_creds_provider *base)
{
    s_profile *p = (s_profile *)base;
    aws_creds_provider_free(p->assume);
    free(p);
}

static const aws_creds_provider_ops s_profile_ops = {"profile", s_fetch, s_free,
                                                     s_cancel};

aws_creds_provider *aws_creds_profile_new(const aws_config *c, aws_http *http)
{
    s_profile *p = aws_xcalloc(1, sizeof *p);
    p->base.ops = &s_profile_ops;
    p->cfg = c;
    p->http = http;
    return &p->base;
}

int aws_config_profile_region(const aws_config *c, char **region)
{
    s_kv conf = {0};
    s_load(c->config_file, c->profile ? c->profile : "default", 1, &conf);
    const char *r = s_kv_get(&conf, "region");
    *region = r && *r ? aws_strdup(r) : NULL;
    s_kv_fini(&conf);
    return *region ? 0 : AWS_CREDS_ENOTFOUND;
}
