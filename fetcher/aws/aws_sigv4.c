/*
 * aws_sigv4.c - AWS Signature Version 4 (see aws_sigv4.h for the design).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * Each of the four tasks of the specification is one static function:
 * s_canonical_request(), s_string_to_sign(), s_signing_key() and the hex
 * HMAC in aws_sigv4_sign().  Secrets only ever live in stack buffers that
 * are cleansed before returning.
 */
#include "aws_sigv4.h"

#include "aws_buf.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_hdr {
    char *name;    /* lower-case */
    char *value;   /* trimmed, inner whitespace runs collapsed */
    size_t order;  /* original position, for a stable sort */
} s_hdr;

static void s_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void aws_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data ? data : "", n, md, &mdlen, EVP_sha256(), NULL);
    s_hex(md, 32, out);
}

void aws_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int s_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static void s_encode_into(aws_buf *b, const char *s, size_t n, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (s_unreserved(c) || (keep_slash && c == '/')) {
            aws_buf_putc(b, (char)c);
        } else {
            char esc[3] = {'%', digits[c >> 4], digits[c & 15]};
            aws_buf_append(b, esc, 3);
        }
    }
}

char *aws_uri_encode(const char *s, size_t n, int keep_slash)
{
    aws_buf b;
    aws_buf_init(&b);
    s_encode_into(&b, s, n, keep_slash);
    return aws_buf_steal(&b);
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *aws_uri_decode(const char *s, size_t n)
{
    char *out = aws_xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n &&
            (hi = s_hexval(s[i + 1])) >= 0 && (lo = s_hexval(s[i + 2])) >= 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* Canonical URI. */
static void s_canonical_path(aws_buf *b, const char *path, int s3)
{
    if (!path || !*path)
        path = "/";
    if (s3) {
        char *dec = aws_uri_decode(path, strlen(path));
        if (dec[0] != '/')
            aws_buf_putc(b, '/');
        s_encode_into(b, dec, strlen(dec), 1);
        free(dec);
        return;
    }
    /* Normalise: split into segments, drop "" and ".", pop on "..". */
    size_t plen = strlen(path);
    const char **seg = aws_xcalloc(plen + 1, sizeof *seg);
    size_t *seglen = aws_xcalloc(plen + 1, sizeof *seglen);
    size_t nseg = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t l = (size_t)(e - p);
        if (l == 0 || (l == 1 && p[0] == '.')) {
            /* skip */
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg)
                nseg--;
        } else {
            seg[nseg] = p;
            seglen[nseg++] = l;
        }
        p = e;
    }
    int trailing = plen > 1 && path[plen - 1] == '/';
    for (size_t i = 0; i < nseg; i++) {
        aws_buf_putc(b, '/');
        /* Double encoding: the wire form is encoded once more. */
        s_encode_into(b, seg[i], seglen[i], 0);
    }
    if (nseg == 0 || trailing)
        aws_buf_putc(b, '/');
    free(seg);
    free(seglen);
}

typedef struct s_qp {
    char *name;   /* encoded */
    char *value;  /* encoded */
} s_qp;

static int s_qp_cmp(const void *a, const void *b)
{
    const s_qp *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static void s_canonical_query(aws_buf *b, const char *q)
{
    if (!q || !*q)
        return;
    size_t n = 1;
    for (const char *p = q; *p; p++)
        n += *p == '&';
    s_qp *qp = aws_xcalloc(n, sizeof *qp);
    size_t k = 0;
    const char *p = q;
    while (*p) {
        const char *e = strchr(p, '&');
        if (!e)
            e = p + strlen(p);
        if (e > p) {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            const char *ne = eq ? eq : e;
            char *dn = aws_uri_decode(p, (size_t)(ne - p));
            char *dv = eq ? aws_uri_decode(eq + 1, (size_t)(e - eq - 1))
                          : aws_strdup("");
            qp[k].name = aws_uri_encode(dn, strlen(dn), 0);
            qp[k].value = aws_uri_encode(dv, strlen(dv), 0);
            free(dn);
            free(dv);
            k++;
        }
        p = *e ? e + 1 : e;
    }
    qsort(qp, k, sizeof *qp, s_qp_cmp);
    for (size_t i = 0; i < k; i++) {
        if (i)
            aws_buf_putc(b, '&');
        aws_buf_printf(b, "%s=%s", qp[i].name, qp[i].value);
        free(qp[i].name);
        free(qp[i].value);
    }
    free(qp);
}

static int s_hdr_cmp(const void *a, const void *b)
{
    const s_hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Lower-case name, trimmed value with whitespace runs collapsed. */
static int s_hdr_add(s_hdr *h, size_t *n, const char *name, const char *value)
{
    if (!name || !*name || !value)
        return -1;
    for (const char *c = name; *c; c++)
        if (*c <= ' ' || *c == ':' || (unsigned char)*c >= 127)
            return -1;
    for (const char *c = value; *c; c++)
        if (*c == '\r' || *c == '\n')
            return -1;
    char *ln = aws_strdup(name);
    for (char *c = ln; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    aws_buf v;
    aws_buf_init(&v);
    const char *c = value;
    while (*c == ' ' || *c == '\t')
        c++;
    int space = 0;
    for (; *c; c++) {
        if (*c == ' ' || *c == '\t') {
            space = 1;
            continue;
        }
        if (space && v.len)
            aws_buf_putc(&v, ' ');
        space = 0;
        aws_buf_putc(&v, *c);
    }
    h[*n].name = ln;
    h[*n].value = aws_buf_steal(&v);
    h[*n].order = *n;
    (*n)++;
    return 0;
}

static int s_reserved_name(const char *name)
{
    return !strcasecmp(name, "host") || !strcasecmp(name, "x-amz-date") ||
           !strcasecmp(name, "authorization") ||
           !strcasecmp(name, "x-amz-security-token") ||
           !strcasecmp(name, "x-amz-content-sha256");
}

static void s_set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* Task 1.  Fills creq and signed (signed header list). */
static int s_canonical_request(const aws_sigv4_params *p, const char *amz_date,
                               const char *token, const char *payload_hash,
                               aws_buf *creq, aws_buf *signed_hdrs,
                               char *err, size_t errlen)
{
    size_t cap = p->n_headers + 4;
    s_hdr *h = aws_xcalloc(cap, sizeof *h);
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < p->n_headers; i++) {
        if (!p->headers[i].name || s_reserved_name(p->headers[i].name)) {
            s_set_err(err, errlen, "reserved or missing header name");
            rc = AWS_SIGV4_EINVAL;
            goto out;
        }
        if (s_hdr_add(h, &n, p->headers[i].name, p->headers[i].value) < 0) {
            s_set_err(err, errlen, "invalid header");
            rc = AWS_SIGV4_EINVAL;
            goto out;
        }
    }
    s_hdr_add(h, &n, "host", p->host);
    s_hdr_add(h, &n, "x-amz-date", amz_date);
    if (token && !(p->flags & AWS_SIGV4_TOKEN_UNSIGNED) &&
        s_hdr_add(h, &n, "x-amz-security-token", token) < 0) {
        s_set_err(err, errlen, "invalid session token");
        rc = AWS_SIGV4_EINVAL;
        goto out;
    }
    if (p->flags & AWS_SIGV4_CONTENT_SHA256)
        s_hdr_add(h, &n, "x-amz-content-sha256", payload_hash);
    qsort(h, n, sizeof *h, s_hdr_cmp);

    aws_buf_puts(creq, p->method);
    aws_buf_putc(creq, '\n');
    s_canonical_path(creq, p->path, (p->flags & AWS_SIGV4_S3) != 0);
    aws_buf_putc(creq, '\n');
    s_canonical_query(creq, p->query);
    aws_buf_putc(creq, '\n');
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(h[i].name, h[i - 1].name)) {
            aws_buf_printf(creq, ",%s", h[i].value);
            continue;
        }
        if (i) {
            aws_buf_putc(creq, '\n');
            aws_buf_putc(signed_hdrs, ';');
        }
        aws_buf_printf(creq, "%s:%s", h[i].name, h[i].value);
        aws_buf_puts(signed_hdrs, h[i].name);
    }
    aws_buf_printf(creq, "\n\n%s\n%s", aws_buf_str(signed_hdrs), payload_hash);
out:
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return rc;
}

/* Task 2. */
static void s_string_to_sign(aws_buf *sts, const char *amz_date,
                             const char *scope, const char *creq)
{
    char hash[65];
    aws_sha256_hex(creq, strlen(creq), hash);
    aws_buf_printf(sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash);
}

static void s_hmac(const void *key, size_t klen, const char *msg,
                   unsigned char out[32])
{
    unsigned int olen = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg),
         out, &olen);
}

/* Task 3. */
static void s_signing_key(const char *secret, const char *date8,
                          const char *region, const char *service,
                          unsigned char key[32])
{
    size_t slen = strlen(secret);
    char *seed = aws_xmalloc(slen + 5);
    memcpy(seed, "AWS4", 4);
    memcpy(seed + 4, secret, slen + 1);
    unsigned char k1[32], k2[32], k3[32];
    s_hmac(seed, slen + 4, date8, k1);
    s_hmac(k1, 32, region, k2);
    s_hmac(k2, 32, service, k3);
    s_hmac(k3, 32, "aws4_request", key);
    OPENSSL_cleanse(seed, slen + 4);
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    OPENSSL_cleanse(k3, sizeof k3);
    free(seed);
}

static int s_valid_hash(const char *h)
{
    if (!strcmp(h, AWS_SIGV4_UNSIGNED_PAYLOAD))
        return 1;
    if (strlen(h) != 64)
        return 0;
    for (; *h; h++)
        if (!isxdigit((unsigned char)*h) || isupper((unsigned char)*h))
            return 0;
    return 1;
}

int aws_sigv4_sign(const aws_sigv4_params *p, const aws_sigv4_key *key,
                   aws_sigv4_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (!p || !key || !p->method || !*p->method || !p->host || !*p->host ||
        !p->region || !*p->region || !p->service || !*p->service ||
        !key->access_key_id || !*key->access_key_id ||
        !key->secret_access_key || !*key->secret_access_key) {
        s_set_err(err, errlen, "missing method, host, region, service or key");
        return AWS_SIGV4_EINVAL;
    }
    if (strchr(p->region, '/') || strchr(p->service, '/') ||
        strpbrk(p->host, "\r\n") || strpbrk(p->method, "\r\n ")) {
        s_set_err(err, errlen, "invalid region, service, host or method");
        return AWS_SIGV4_EINVAL;
    }
    char hash[65];
    const char *payload_hash = p->payload_hash;
    if (payload_hash) {
        if (!s_valid_hash(payload_hash)) {
            s_set_err(err, errlen, "invalid payload hash");
            return AWS_SIGV4_EINVAL;
        }
    } else {
        aws_sha256_hex(p->body, p->body ? p->body_len : 0, hash);
        payload_hash = hash;
    }
    const char *token = key->session_token && *key->session_token
                            ? key->session_token : NULL;
    aws_amz_date(p->now, res->amz_date);
    char date8[9];
    memcpy(date8, res->amz_date, 8);
    date8[8] = '\0';

    aws_buf creq, signed_hdrs, sts, scope, authz;
    aws_buf_init(&creq);
    aws_buf_init(&signed_hdrs);
    aws_buf_init(&sts);
    aws_buf_init(&scope);
    aws_buf_init(&authz);
    int rc = s_canonical_request(p, res->amz_date, token, payload_hash, &creq,
                                 &signed_hdrs, err, errlen);
    if (rc < 0) {
        aws_buf_fini(&creq);
        aws_buf_fini(&signed_hdrs);
        return rc;
    }
    aws_buf_printf(&scope, "%s/%s/%s/aws4_request", date8, p->region,
                   p->service);
    s_string_to_sign(&sts, res->amz_date, aws_buf_str(&scope),
                     aws_buf_str(&creq));

    unsigned char skey[32], sig[32];
    char sighex[65];
    s_signing_key(key->secret_access_key, date8, p->region, p->service, skey);
    s_hmac(skey, 32, aws_buf_str(&sts), sig);
    OPENSSL_cleanse(skey, sizeof skey);
    s_hex(sig, 32, sighex);   /* Task 4 */

    aws_buf_printf(&authz,
                   "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                   "Signature=%s",
                   key->access_key_id, aws_buf_str(&scope),
                   aws_buf_str(&signed_hdrs), sighex);
    aws_buf_fini(&scope);

    res->canonical_request = aws_buf_steal(&creq);
    res->string_to_sign = aws_buf_steal(&sts);
    res->signed_headers = aws_buf_steal(&signed_hdrs);
    res->authorization = aws_buf_steal(&authz);
    size_t k = 0;
    res->out[k].name = aws_strdup("X-Amz-Date");
    res->out[k++].value = aws_strdup(res->amz_date);
    if (token) {
        res->out[k].name = aws_strdup("X-Amz-Security-Token");
        res->out[k++].value = aws_strdup(token);
    }
    if (p->flags & AWS_SIGV4_CONTENT_SHA256) {
        res->out[k].name = aws_strdup("X-Amz-Content-Sha256");
        res->out[k++].value = aws_strdup(payload_hash);
    }
    res->out[k].name = aws_strdup("Authorization");
    res->out[k++].value = aws_strdup(res->authorization);
    res->n_out = k;
    return 0;
}

void aws_sigv4_result_fini(aws_sigv4_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_out && i < AWS_SIGV4_MAX_OUT; i++) {
        free((char *)res->out[i].name);
        aws_secret_free((char *)res->out[i].value);
    }
    free(res->canonical_request);
    free(res->string_to_sign);
    free(res->authorization);
    free(res->signed_headers);
    memset(res, 0, sizeof *res);
}
