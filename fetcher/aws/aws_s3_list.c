/*
 * aws_s3_list.c - ListObjectsV2 pages and CloudTrail key names (see
 * aws_s3_list.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_s3_list.h"

#include "aws_buf.h"
#include "aws_xml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_pctx {
    aws_s3_page *page;
    size_t cap, pcap;
    aws_s3_entry cur;
} s_pctx;

static int s_page_cb(const char *path, const char *text, size_t n, void *ud)
{
    s_pctx *c = ud;
    aws_s3_page *p = c->page;
    if (!strcmp(path, "ListBucketResult/Contents/Key")) {
        free(c->cur.key);
        c->cur.key = aws_strndup(text, n);
    } else if (!strcmp(path, "ListBucketResult/Contents/ETag")) {
        free(c->cur.etag);
        if (n >= 2 && text[0] == '"' && text[n - 1] == '"')
            c->cur.etag = aws_strndup(text + 1, n - 2);
        else
            c->cur.etag = aws_strndup(text, n);
    } else if (!strcmp(path, "ListBucketResult/Contents/Size")) {
        c->cur.size = strtoull(text, NULL, 10);
    } else if (!strcmp(path, "ListBucketResult/Contents")) {
        if (c->cur.key) {
            if (p->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 64;
                aws_s3_entry *e = realloc(p->entries, c->cap * sizeof *e);
                if (!e)
                    abort();
                p->entries = e;
            }
            p->entries[p->n++] = c->cur;
        } else {
            free(c->cur.etag);
        }
        memset(&c->cur, 0, sizeof c->cur);
    } else if (!strcmp(path, "ListBucketResult/CommonPrefixes/Prefix")) {
        if (p->nprefixes == c->pcap) {
            c->pcap = c->pcap ? c->pcap * 2 : 16;
            char **v = realloc(p->prefixes, c->pcap * sizeof *v);
            if (!v)
                abort();
            p->prefixes = v;
        }
        p->prefixes[p->nprefixes++] = aws_strndup(text, n);
    } else if (!strcmp(path, "ListBucketResult/IsTruncated")) {
        p->truncated = n == 4 && !strncmp(text, "true", 4);
    } else if (!strcmp(path, "ListBucketResult/NextContinuationToken")) {
        free(p->next_token);
        p->next_token = aws_strndup(text, n);
    }
    return 0;
}

int aws_s3_page_parse(const char *xml, size_t len, aws_s3_page *page)
{
    memset(page, 0, sizeof *page);
    s_pctx c;
    memset(&c, 0, sizeof c);
    c.page = page;
    int rc = aws_xml_parse(xml, len, s_page_cb, &c, NULL, 0);
    free(c.cur.key);
    free(c.cur.etag);
    if (rc < 0) {
        aws_s3_page_fini(page);
        return -1;
    }
    if (page->truncated && !page->next_token)
        page->truncated = false;   /* cannot continue without a token */
    return 0;
}

void aws_s3_page_fini(aws_s3_page *page)
{
    for (size_t i = 0; i < page->n; i++) {
        free(page->entries[i].key);
        free(page->entries[i].etag);
    }
    free(page->entries);
    for (size_t i = 0; i < page->nprefixes; i++)
        free(page->prefixes[i]);
    free(page->prefixes);
    free(page->next_token);
    memset(page, 0, sizeof *page);
}

void aws_s3_error_parse(const char *xml, size_t len, char **code, char **region)
{
    if (code)
        *code = aws_xml_find(xml, len, "Error/Code");
    if (region)
        *region = aws_xml_find(xml, len, "Error/Region");
}

const char *aws_ct_kind_name(aws_ct_kind k)
{
    switch (k) {
    case AWS_CT_DIGEST: return "CloudTrail-Digest";
    case AWS_CT_INSIGHT: return "CloudTrail-Insight";
    default: return "CloudTrail";
    }
}

static int s_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Copy component i (0-based) of the '/'-split path into out. */
static int s_component(const char *const *c, const size_t *cl, size_t nc,
                       size_t i, char *out, size_t outlen)
{
    if (i >= nc || cl[i] == 0 || cl[i] >= outlen)
        return -1;
    memcpy(out, c[i], cl[i]);
    out[cl[i]] = '\0';
    return 0;
}

int aws_ct_key_parse(const char *key, aws_ct_key *out)
{
    memset(out, 0, sizeof *out);
    out->delivered = -1;
    const char *c[64];
    size_t cl[64], nc = 0;
    const char *p = key;
    while (nc < 64) {
        const char *e = strchr(p, '/');
        c[nc] = p;
        cl[nc++] = e ? (size_t)(e - p) : strlen(p);
        if (!e)
            break;
        p = e + 1;
    }
    size_t i = 0;
    while (i < nc && !(cl[i] == 7 && !strncmp(c[i], "AWSLogs", 7)))
        i++;
    if (i >= nc)
        return -1;
    i++;
    if (i < nc && cl[i] > 2 && !strncmp(c[i], "o-", 2)) {
        if (s_component(c, cl, nc, i, out->org, sizeof out->org) < 0)
            return -1;
        i++;
    }
    if (s_component(c, cl, nc, i, out->account, sizeof out->account) < 0 ||
        !s_digits(out->account, strlen(out->account)))
        return -1;
    i++;
    char kind[32];
    if (s_component(c, cl, nc, i, kind, sizeof kind) < 0)
        return -1;
    if (!strcmp(kind, "CloudTrail"))
        out->kind = AWS_CT_LOG;
    else if (!strcmp(kind, "CloudTrail-Digest"))
        out->kind = AWS_CT_DIGEST;
    else if (!strcmp(kind, "CloudTrail-Insight"))
        out->kind = AWS_CT_INSIGHT;
    else
        return -1;
    i++;
    if (s_component(c, cl, nc, i, out->region, sizeof out->region) < 0)
        return -1;
    i++;
    if (i + 3 >= nc || cl[i] != 4 || cl[i + 1] != 2 || cl[i + 2] != 2 ||
        !s_digits(c[i], 4) || !s_digits(c[i + 1], 2) || !s_digits(c[i + 2], 2) ||
        cl[i + 3] == 0 || i + 4 != nc)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = atoi(c[i]) - 1900;
    tm.tm_mon = atoi(c[i + 1]) - 1;
    tm.tm_mday = atoi(c[i + 2]);
    out->day = timegm(&tm);
    /* delivery time from the file name: "_<kind>_<region>_" then a stamp */
    const char *file = c[i + 3];
    char marker[80];
    snprintf(marker, sizeof marker, "_%s_%s_", kind, out->region);
    const char *m = strstr(file, marker);
    const char *ts = NULL;
    if (m && out->kind != AWS_CT_DIGEST) {
        ts = m + strlen(marker);
    } else if (m) {
        /* digest: ..._<trail>_<region>_YYYYMMDDTHHmmssZ.json.gz */
        const char *z = strstr(file, "Z.json");
        if (z && z - file >= 15)
            ts = z - 15;
    }
    if (ts && strlen(ts) >= 13 && s_digits(ts, 8) && ts[8] == 'T' &&
        s_digits(ts + 9, 4)) {
        memset(&tm, 0, sizeof tm);
        char buf[5];
        memcpy(buf, ts, 4); buf[4] = 0; tm.tm_year = atoi(buf) - 1900;
        memcpy(buf, ts + 4, 2); buf[2] = 0; tm.tm_mon = atoi(buf) - 1;
        memcpy(buf, ts + 6, 2); tm.tm_mday = atoi(buf);
        memcpy(buf, ts + 9, 2); tm.tm_hour = atoi(buf);
        memcpy(buf, ts + 11, 2); tm.tm_min = atoi(buf);
        out->delivered = timegm(&tm);
    }
    return 0;
}
