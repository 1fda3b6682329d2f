/*
 * fuzz_sns.c - fuzz target for the SNS message module
 * (fetcher/aws/aws_sns_msg.h): arbitrary bytes are an SNS HTTP(S) delivery
 * body -> aws_sns_msg_parse -> aws_sns_string_to_sign -> SigningCertURL,
 * SubscribeURL and UnsubscribeURL checks -> aws_sns_verify against a test
 * certificate -> aws_sns_objects on the Message.  The raw bytes also go to
 * aws_sns_objects directly (the Message parser on its own).
 *
 * DESIGN
 * Nothing is fetched: aws_sns_verify() takes the certificate PEM as an
 * argument (that is the seam), so the target passes the throw-away
 * certificate testdata/signing-cert.pem whose key signed the seeds (see
 * make-seeds.py).  Mutations of the signed seeds therefore reach the RSA
 * verification with both valid and invalid signatures.
 *
 * Oracles (abort() on violation):
 *   - a parse failure always carries a reason;
 *   - an accepted SigningCertURL is https://, has no user info, its host
 *     (found here without libcurl, read the way libcurl reads it: extra
 *     slashes after "https://" skipped, %XX decoded, an empty or numeric
 *     port dropped) is sns.<...>.amazonaws.com[.cn] and its path ends in
 *     ".pem";
 *   - a signature the module accepts also verifies under an independent
 *     implementation of spec/aws-formats.md 3.4 (string to sign built from
 *     the JSON here, OpenSSL's base64 BIO, EVP verify with the same key);
 *   - every object named by a Message has a bucket and a non-empty key
 *     (an S3 key with %00 once decoded to an empty or cut key: a finding of
 *     this target, fixed; its inputs are now seeds).
 * Owner: fuzzing (tests/fuzz/sns/).  Linked with libFuzzer (-Dfuzz=true)
 * or with tests/fuzz/fuzz_replay.c.
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "aws_sns_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FZ_SNS_CERT
#error "FZ_SNS_CERT (path of testdata/signing-cert.pem) must be defined"
#endif

typedef struct fz_sns {
    bool strict;            /* check the fixed finding (always) */
    regex_t host_re;
    char *pem;
    size_t pem_len;
    EVP_PKEY *key;
} fz_sns;

static char *s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(65536);
    *len = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf)
        buf[*len] = '\0';
    return buf;
}

static fz_sns *s_state(void)
{
    static fz_sns *z;       /* process-wide fixture, built once */
    if (z)
        return z;
    z = calloc(1, sizeof *z);
    if (z)
        z->strict = true;
    if (!z || regcomp(&z->host_re, AWS_SNS_HOST_PATTERN, REG_EXTENDED | REG_NOSUB) != 0)
        abort();
    z->pem = s_read_file(FZ_SNS_CERT, &z->pem_len);
    if (!z->pem) {
        fprintf(stderr, "fuzz_sns: cannot read %s\n", FZ_SNS_CERT);
        abort();
    }
    BIO *bio = BIO_new_mem_buf(z->pem, (int)z->pem_len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    z->key = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    BIO_free(bio);
    if (!z->key)
        abort();
    return z;
}

/* ---- independent SigningCertURL check --------------------------------- */

static bool s_host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
}

static bool s_suffix(const char *s, size_t n, const char *suf)
{
    size_t l = strlen(suf);
    return n >= l && memcmp(s + n - l, suf, l) == 0;
}

static int s_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode the n bytes at s into out (at least n + 1 bytes); libcurl
 * decodes %XX in host names both when checking and when connecting. */
static size_t s_pct_decode(const char *s, size_t n, char *out)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n &&
            s_hex(s[i + 1]) >= 0 && s_hex(s[i + 2]) >= 0) {
            out[j++] = (char)(s_hex(s[i + 1]) * 16 + s_hex(s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return j;
}

/* https://sns.<label>.amazonaws.com[.cn]/...pem with nothing odd. */
static bool s_cert_url_plausible(const char *url)
{
    if (strncmp(url, "https://", 8) != 0)
        return false;
    const char *auth = url + 8;
    while (*auth == '/')        /* libcurl reads https:///host as https://host */
        auth++;
    size_t an = strcspn(auth, "/?#");
    if (memchr(auth, '@', an))
        return false;
    /* libcurl reads "host:" and "host:NNN" as a port (the module then
     * matches "host:NNN" against the pattern, which fails) */
    const char *colon = memchr(auth, ':', an);
    if (colon && strspn(colon + 1, "0123456789") == (size_t)(auth + an - colon - 1))
        an = (size_t)(colon - auth);
    char *host = malloc(an + 1);
    if (!host)
        return false;
    size_t n = s_pct_decode(auth, an, host);
    bool ok = n >= 4 && memcmp(host, "sns.", 4) == 0 &&
              (s_suffix(host, n, ".amazonaws.com") || s_suffix(host, n, ".amazonaws.com.cn"));
    for (size_t i = 0; ok && i < n; i++)
        ok = s_host_char(host[i]);
    free(host);
    const char *path = auth + an;
    size_t pl = strcspn(path, "?#");
    return ok && s_suffix(path, pl, ".pem");
}

/* ---- independent signature check (spec/aws-formats.md 3.4) ------------ */

static void s_put_kv(BIO *out, json_t *j, const char *key, const char *alt)
{
    json_t *v = json_object_get(j, key);
    if (!v && alt)
        v = json_object_get(j, alt);
    if (!json_is_string(v))
        return;
    BIO_printf(out, "%s\n", key);
    BIO_write(out, json_string_value(v), (int)json_string_length(v));
    BIO_write(out, "\n", 1);
}

static long s_b64_decode(const char *s, unsigned char **out)
{
    size_t n = strlen(s);
    BIO *b64 = BIO_new(BIO_f_base64());
    BIO *mem = BIO_new_mem_buf(s, (int)n);
    BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
    BIO_push(b64, mem);
    *out = malloc(n + 1);
    long len = *out ? BIO_read(b64, *out, (int)n + 1) : -1;
    BIO_free_all(b64);
    return len;
}

static bool s_independent_verify(const fz_sns *z, const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "Type"));
    const char *ver = json_string_value(json_object_get(j, "SignatureVersion"));
    const char *sig = json_string_value(json_object_get(j, "Signature"));
    bool ok = false;
    if (type && ver && sig && (!strcmp(ver, "1") || !strcmp(ver, "2"))) {
        static const char *const notif[] = {"Message", "MessageId", "Subject",
                                            "Timestamp", "TopicArn", "Type", NULL};
        static const char *const sub[] = {"Message", "MessageId", "SubscribeURL",
                                          "Timestamp", "Token", "TopicArn", "Type", NULL};
        const char *const *keys = !strcmp(type, "Notification") ? notif : sub;
        BIO *sts = BIO_new(BIO_s_mem());
        for (size_t i = 0; keys[i]; i++)
            s_put_kv(sts, j, keys[i], !strcmp(keys[i], "SubscribeURL") ? "SubscribeUrl" : NULL);
        char *p = NULL;
        long pl = BIO_get_mem_data(sts, &p);
        unsigned char *raw = NULL;
        long rl = s_b64_decode(sig, &raw);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        const EVP_MD *md = ver[0] == '1' ? EVP_sha1() : EVP_sha256();
        ok = rl > 0 && ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, z->key) == 1 &&
             EVP_DigestVerify(ctx, raw, (size_t)rl, (unsigned char *)p, (size_t)pl) == 1;
        EVP_MD_CTX_free(ctx);
        free(raw);
        BIO_free(sts);
    }
    json_decref(j);
    return ok;
}

/* ---- the target ------------------------------------------------------ */

static void s_objects(const fz_sns *z, const char *message)
{
    aws_sns_obj *objs = NULL;
    int n = aws_sns_objects(message, &objs);
    for (int i = 0; i < n; i++) {
        if (!objs[i].bucket || !objs[i].key)
            abort();
        if (z->strict && !objs[i].key[0]) {
            /* see crashers/README.md */
            fprintf(stderr, "object with an empty key in bucket %s\n", objs[i].bucket);
            abort();
        }
    }
    if (n > 0)
        aws_sns_objs_free(objs, n);
    else if (objs)
        abort();    /* *objs is NULL when nothing was found */
}

static void s_check_urls(const fz_sns *z, const aws_sns_msg *m)
{
    if (aws_sns_cert_url_ok(m->signing_cert_url, &z->host_re) &&
        !s_cert_url_plausible(m->signing_cert_url)) {
        fprintf(stderr, "SigningCertURL accepted: %s\n", m->signing_cert_url);
        abort();
    }
    (void)aws_sns_https_url_ok(m->subscribe_url, &z->host_re);
    (void)aws_sns_https_url_ok(m->unsubscribe_url, &z->host_re);
}

static void s_parsed(const fz_sns *z, aws_sns_msg *m, const uint8_t *data, size_t size)
{
    char *sts = aws_sns_string_to_sign(m);
    if (!sts)
        abort();
    free(sts);
    s_check_urls(z, m);
    if (aws_sns_verify(m, z->pem, z->pem_len) == 0 &&
        !s_independent_verify(z, data, size)) {
        fprintf(stderr, "signature accepted that the spec's string to sign rejects\n");
        abort();
    }
    s_objects(z, m->message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_sns *z = s_state();
    aws_sns_msg m;
    char err[256] = "";
    if (aws_sns_msg_parse((const char *)data, size, &m, err, sizeof err) == 0) {
        s_parsed(z, &m, data, size);
        aws_sns_msg_fini(&m);
    } else if (err[0] == '\0') {
        abort();
    }
    aws_sns_msg_fini(&m);   /* idempotent: fields are NULL now */
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        s_objects(z, text);
        free(text);
    }
    return 0;
}
