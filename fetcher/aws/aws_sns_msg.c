/*
 * aws_sns_msg.c - SNS message parsing and signature checks (see
 * aws_sns_msg.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_sns_msg.h"

#include "aws_buf.h"
#include "aws_creds.h"   /* aws_parse_iso8601 */
#include "aws_sigv4.h"   /* aws_uri_decode */

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* Optional string field; -1 if present but not a string. */
static int s_field(json_t *o, const char *a, const char *b, char **out)
{
    json_t *v = json_object_get(o, a);
    if (!v && b)
        v = json_object_get(o, b);   /* Lambda spelling */
    if (!v)
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = aws_strndup(json_string_value(v), json_string_length(v));
    return 0;
}

int aws_sns_msg_parse(const char *body, size_t len, aws_sns_msg *m,
                      char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        s_err(err, errlen, "body is not a JSON object");
        return -1;
    }
    int bad = 0;
    bad |= s_field(j, "Type", NULL, &m->type_str);
    bad |= s_field(j, "MessageId", NULL, &m->message_id);
    bad |= s_field(j, "TopicArn", NULL, &m->topic_arn);
    bad |= s_field(j, "Subject", NULL, &m->subject);
    bad |= s_field(j, "Message", NULL, &m->message);
    bad |= s_field(j, "Timestamp", NULL, &m->timestamp);
    bad |= s_field(j, "SignatureVersion", NULL, &m->signature_version);
    bad |= s_field(j, "Signature", NULL, &m->signature);
    bad |= s_field(j, "SigningCertURL", "SigningCertUrl", &m->signing_cert_url);
    bad |= s_field(j, "SubscribeURL", "SubscribeUrl", &m->subscribe_url);
    bad |= s_field(j, "Token", NULL, &m->token);
    bad |= s_field(j, "UnsubscribeURL", "UnsubscribeUrl", &m->unsubscribe_url);
    json_decref(j);
    if (bad) {
        s_err(err, errlen, "a field is not a string");
        goto fail;
    }
    if (!m->type_str || !m->message_id || !m->topic_arn || !m->message ||
        !m->timestamp || !m->signature_version || !m->signature ||
        !m->signing_cert_url) {
        s_err(err, errlen, "missing field");
        goto fail;
    }
    if (!strcmp(m->type_str, "Notification"))
        m->type = AWS_SNS_NOTIFICATION;
    else if (!strcmp(m->type_str, "SubscriptionConfirmation"))
        m->type = AWS_SNS_SUBSCRIBE;
    else if (!strcmp(m->type_str, "UnsubscribeConfirmation"))
        m->type = AWS_SNS_UNSUBSCRIBE;
    else {
        s_err(err, errlen, "unknown Type");
        goto fail;
    }
    if (m->type != AWS_SNS_NOTIFICATION && (!m->subscribe_url || !m->token)) {
        s_err(err, errlen, "missing SubscribeURL or Token");
        goto fail;
    }
    m->ts = aws_parse_iso8601(m->timestamp);
    if (m->ts < 0) {
        s_err(err, errlen, "bad Timestamp");
        goto fail;
    }
    return 0;
fail:
    aws_sns_msg_fini(m);
    return -1;
}

void aws_sns_msg_fini(aws_sns_msg *m)
{
    char **f[] = {&m->type_str, &m->message_id, &m->topic_arn, &m->subject,
                  &m->message, &m->timestamp, &m->signature_version,
                  &m->signature, &m->signing_cert_url, &m->subscribe_url,
                  &m->token, &m->unsubscribe_url};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
}

static void s_kv(aws_buf *b, const char *k, const char *v)
{
    if (!v)
        return;
    aws_buf_printf(b, "%s\n", k);
    aws_buf_puts(b, v);
    aws_buf_putc(b, '\n');
}

char *aws_sns_string_to_sign(const aws_sns_msg *m)
{
    aws_buf b;
    aws_buf_init(&b);
    s_kv(&b, "Message", m->message);
    s_kv(&b, "MessageId", m->message_id);
    if (m->type == AWS_SNS_NOTIFICATION) {
        s_kv(&b, "Subject", m->subject);
        s_kv(&b, "Timestamp", m->timestamp);
    } else {
        s_kv(&b, "SubscribeURL", m->subscribe_url);
        s_kv(&b, "Timestamp", m->timestamp);
        s_kv(&b, "Token", m->token);
    }
    s_kv(&b, "TopicArn", m->topic_arn);
    s_kv(&b, "Type", m->type_str);
    return aws_buf_steal(&b);
}

static bool s_url_ok(const char *url, const regex_t *re, bool pem)
{
    if (!url || strncmp(url, "https://", 8))
        return false;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *user = NULL;
    bool ok = false;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        aws_buf auth;
        aws_buf_init(&auth);
        aws_buf_puts(&auth, host);
        if (port)
            aws_buf_printf(&auth, ":%s", port);
        size_t pl = strlen(path);
        ok = regexec(re, aws_buf_str(&auth), 0, NULL, 0) == 0 &&
             (!pem || (pl > 4 && !strcmp(path + pl - 4, ".pem")));
        aws_buf_fini(&auth);
    }
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(user);
    curl_url_cleanup(u);
    return ok;
}

bool aws_sns_cert_url_ok(const char *url, const regex_t *host_re)
{
    return s_url_ok(url, host_re, true);
}

bool aws_sns_https_url_ok(const char *url, const regex_t *host_re)
{
    return s_url_ok(url, host_re, false);
}

int aws_sns_verify(const aws_sns_msg *m, const char *cert_pem, size_t pem_len)
{
    const EVP_MD *md = NULL;
    if (!strcmp(m->signature_version, "1"))
        md = EVP_sha1();
    else if (!strcmp(m->signature_version, "2"))
        md = EVP_sha256();
    else
        return -1;
    size_t sl = strlen(m->signature);
    if (sl == 0 || sl % 4 || sl > 4096)
        return -1;
    unsigned char *sig = aws_xmalloc(sl);
    int n = EVP_DecodeBlock(sig, (const unsigned char *)m->signature, (int)sl);
    if (n < 0) {
        free(sig);
        return -1;
    }
    if (m->signature[sl - 1] == '=')
        n--;
    if (m->signature[sl - 2] == '=')
        n--;
    BIO *bio = BIO_new_mem_buf(cert_pem, (int)pem_len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = x ? X509_get_pubkey(x) : NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;
    char *sts = aws_sns_string_to_sign(m);
    if (key && ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
        EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)sts,
                         strlen(sts)) == 1)
        rc = 0;
    free(sts);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    X509_free(x);
    BIO_free(bio);
    free(sig);
    return rc;
}

/* S3 event keys: %XX decoded and '+' is a space. */
static char *s_s3_key_decode(const char *s)
{
    aws_buf b;
    aws_buf_init(&b);
    for (; *s; s++)
        aws_buf_putc(&b, *s == '+' ? ' ' : *s);
    char *plus = aws_buf_steal(&b);
    char *out = aws_uri_decode_str(plus);
    free(plus);
    return out;
}

static void s_add(aws_sns_obj **v, int *n, int *cap, const char *b,
                  const char *k, const char *etag)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        aws_sns_obj *nv = realloc(*v, (size_t)*cap * sizeof *nv);
        if (!nv)
            abort();
        *v = nv;
    }
    (*v)[*n].bucket = aws_strdup(b);
    (*v)[*n].key = aws_strdup(k);
    (*v)[(*n)++].etag = aws_strdup(etag);
}

/* EventBridge "Object Created" from aws.s3: the key is given as it is
 * (not URL-encoded, unlike S3 event notifications), so it is taken
 * verbatim.  Other detail-types and sources name nothing. */
static void s_eventbridge(json_t *j, aws_sns_obj **objs, int *n, int *cap)
{
    const char *dt = json_string_value(json_object_get(j, "detail-type"));
    const char *src = json_string_value(json_object_get(j, "source"));
    json_t *d = json_object_get(j, "detail");
    const char *b = json_string_value(
        json_object_get(json_object_get(d, "bucket"), "name"));
    json_t *o = json_object_get(d, "object");
    const char *k = json_string_value(json_object_get(o, "key"));
    const char *et = json_string_value(json_object_get(o, "etag"));
    if (!dt || strcmp(dt, "Object Created") || !src || strcmp(src, "aws.s3") ||
        !b || !*b || !k || !*k)
        return;
    s_add(objs, n, cap, b, k, et);
}

int aws_sns_objects(const char *message, aws_sns_obj **objs)
{
    *objs = NULL;
    json_t *j = json_loads(message, 0, NULL);
    if (!j)
        return -1;
    int n = 0, cap = 0;
    const char *bucket = json_string_value(json_object_get(j, "s3Bucket"));
    json_t *keys = json_object_get(j, "s3ObjectKey");
    json_t *recs = json_object_get(j, "Records");
    if (bucket && json_is_array(keys)) {
        size_t i;
        json_t *k;
        json_array_foreach(keys, i, k)
            if (json_is_string(k) && *bucket && json_string_length(k))
                s_add(objs, &n, &cap, bucket, json_string_value(k), NULL);
    } else if (json_is_array(recs)) {
        size_t i;
        json_t *r;
        json_array_foreach(recs, i, r) {
            const char *ev = json_string_value(json_object_get(r, "eventName"));
            json_t *s3 = json_object_get(r, "s3");
            const char *b = json_string_value(
                json_object_get(json_object_get(s3, "bucket"), "name"));
            json_t *o = json_object_get(s3, "object");
            const char *k = json_string_value(json_object_get(o, "key"));
            const char *et = json_string_value(json_object_get(o, "eTag"));
            if (!ev || strncmp(ev, "ObjectCreated:", 14) || !b || !k || !*k)
                continue;
            /* A %00 would cut the decoded key short and name another
             * object: S3 keys cannot contain NUL, so skip such an event. */
            if (strstr(k, "%00"))
                continue;
            char *dk = s_s3_key_decode(k);
            if (dk && *dk)
                s_add(objs, &n, &cap, b, dk, et);
            free(dk);
        }
    } else if (json_is_object(json_object_get(j, "detail"))) {
        s_eventbridge(j, objs, &n, &cap);
    }
    json_decref(j);
    return n;
}

void aws_sns_objs_free(aws_sns_obj *objs, int n)
{
    for (int i = 0; i < n; i++) {
        free(objs[i].bucket);
        free(objs[i].key);
        free(objs[i].etag);
    }
    free(objs);
}
