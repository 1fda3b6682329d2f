/*
 * nt_http.h - helpers the HTTP-speaking outputs share (webhook, http,
 * securityhub, cloudwatch) on top of fetcher/aws/aws_http.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * One place decides what an HTTP answer means for delivery:
 *   2xx                          → delivered
 *   408, 425, 429, 5xx, transport → retry (honouring Retry-After)
 *   other 4xx                    → rejected (retrying cannot help)
 * and where a bearer token comes from (literal, environment variable or
 * file, re-read on reopen).
 */
#ifndef NT_HTTP_H
#define NT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "aws_http.h"
#include "nt_conf.h"

/* NT_ITEM_* for a transport rc and response (resp may be NULL). */
int nt_http_classify(int rc, const aws_http_response *resp);

/* Delay asked by Retry-After (delta-seconds or HTTP-date) in ms, or -1. */
int64_t nt_http_retry_after(const aws_http_response *resp, int64_t now_s);

/*
 * Resolve a secret: literal `value` if set, else the environment variable
 * named `env`, else the first line of `file`.  Caller owns *out (free());
 * *out is NULL when none is configured.  0, or -errno when env/file is
 * configured but unreadable/empty.
 */
int nt_http_secret(const char *value, const char *env, const char *file,
                   char **out);

/*
 * Headers for a request: Content-Type and User-Agent, then the map's
 * custom headers, then "Authorization: Bearer <token>" when token is set.
 * Strings are kept in *store (caller frees with nt_http_headers_fini()).
 */
typedef struct nt_http_headers {
    aws_http_header *h;
    size_t n;
    char *auth;
} nt_http_headers;

int nt_http_headers_build(nt_http_headers *hs, const char *content_type,
                          const nt_strmap *custom, const char *token);
void nt_http_headers_fini(nt_http_headers *hs);

/* "2024-05-01T10:00:00.123Z" (ms) or with ns digits when ns_digits. */
void nt_time_iso(uint64_t time_ns, int ns_digits, char *buf, size_t len);

#endif /* NT_HTTP_H */
