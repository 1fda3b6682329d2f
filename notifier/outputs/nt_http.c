/*
 * nt_http.c - shared HTTP delivery helpers (see nt_http.h).
 *
 * Owner: notifier outputs.
 */
#include "nt_http.h"

#include "nt_plugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int nt_http_classify(int rc, const aws_http_response *resp)
{
    if (rc < 0 || !resp)
        return NT_ITEM_RETRY;
    long s = resp->status;
    if (s >= 200 && s < 300)
        return NT_ITEM_OK;
    if (s == 408 || s == 425 || s == 429 || s >= 500 || s < 200)
        return NT_ITEM_RETRY;
    return NT_ITEM_REJECT;
}

int64_t nt_http_retry_after(const aws_http_response *resp, int64_t now_s)
{
    const char *v = resp ? aws_http_response_header(resp, "retry-after")
                         : NULL;
    if (!v)
        return -1;
    char *end;
    long long secs = strtoll(v, &end, 10);
    if (end != v && *end == 0)
        return secs < 0 ? -1 : (secs > 3600 ? 3600 : secs) * 1000;
    struct tm tm = {0};
    if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
        int64_t t = (int64_t)timegm(&tm);
        return t > now_s ? (t - now_s > 3600 ? 3600 : t - now_s) * 1000 : 0;
    }
    return -1;
}

int nt_http_secret(const char *value, const char *env, const char *file,
                   char **out)
{
    *out = NULL;
    if (value && *value) {
        *out = strdup(value);
        return *out ? 0 : -ENOMEM;
    }
    if (env && *env) {
        const char *v = getenv(env);
        if (!v || !*v)
            return -ENOENT;
        *out = strdup(v);
        return *out ? 0 : -ENOMEM;
    }
    if (file && *file) {
        FILE *f = fopen(file, "r");
        if (!f)
            return -errno;
        char buf[8192];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        buf[strcspn(buf, "\r\n")] = 0;
        if (!buf[0])
            return -ENODATA;
        *out = strdup(buf);
        return *out ? 0 : -ENOMEM;
    }
    return 0;
}

int nt_http_headers_build(nt_http_headers *hs, const char *content_type,
                          const nt_strmap *custom, const char *token)
{
    memset(hs, 0, sizeof(*hs));
    size_t max = 3 + (custom ? custom->n : 0);
    hs->h = calloc(max, sizeof(*hs->h));
    if (!hs->h)
        return -ENOMEM;
    hs->h[hs->n++] = (aws_http_header){"Content-Type", content_type};
    hs->h[hs->n++] = (aws_http_header){"User-Agent", "trailguard"};
    for (size_t i = 0; custom && i < custom->n; i++)
        hs->h[hs->n++] = (aws_http_header){custom->keys[i], custom->vals[i]};
    if (token) {
        size_t l = strlen(token) + 8;
        hs->auth = malloc(l);
        if (!hs->auth)
            return -ENOMEM;
        snprintf(hs->auth, l, "Bearer %s", token);
        hs->h[hs->n++] = (aws_http_header){"Authorization", hs->auth};
    }
    return 0;
}

void nt_http_headers_fini(nt_http_headers *hs)
{
    free(hs->h);
    free(hs->auth);
    memset(hs, 0, sizeof(*hs));
}

void nt_time_iso(uint64_t time_ns, int ns_digits, char *buf, size_t len)
{
    time_t s = (time_t)(time_ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (ns_digits)
        snprintf(buf, len, "%s.%09lluZ", base,
                 (unsigned long long)(time_ns % 1000000000ull));
    else
        snprintf(buf, len, "%s.%03lluZ", base,
                 (unsigned long long)(time_ns % 1000000000ull / 1000000ull));
}
