/*
 * nt_test_peer.h - drive tests/notifier/peers/nt_peer.js from a test:
 * start it (through tests/aws/aws_test_peer.c), send control requests,
 * read its request log.
 *
 * Owner: notifier outputs (tests/notifier/).
 */
#ifndef NT_TEST_PEER_H
#define NT_TEST_PEER_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "aws_test_peer.h"

/* Start the peer; 0, 77 (node or modules missing) or -1. */
static inline int nt_peer_start(aws_test_peer *p)
{
    const char *argv[] = {"../notifier/peers/nt_peer.js", NULL};
    return aws_test_peer_start(p, argv, NULL, 15000);
}

/* POST /_ctl with a JSON body; the HTTP status or -1. */
static inline long nt_peer_ctl(int port, const char *json)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_ctl", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    long code = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    fclose(devnull);
    curl_easy_cleanup(c);
    return code;
}

/* GET /_log, parsed.  Caller owns result (json_decref). */
static inline json_t *nt_peer_log(int port)
{
    char *body = NULL;
    long code = aws_test_http_get(port, "/_log", &body);
    json_t *j = code == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}

/* Requests to `route` (and with op when not NULL) answered with status
 * (0 = any), in order.  Borrowed from log; caller decrefs the array. */
static inline json_t *nt_peer_requests(json_t *log, const char *route,
                                       const char *op, int status)
{
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(log, "requests"), i, r) {
        if (strcmp(json_string_value(json_object_get(r, "route")), route))
            continue;
        if (op && (!json_object_get(r, "op") ||
                   strcmp(json_string_value(json_object_get(r, "op")), op)))
            continue;
        if (status && json_integer_value(json_object_get(r, "status")) != status)
            continue;
        json_array_append(out, r);
    }
    return out;
}

/* Number of such requests. */
static inline size_t nt_peer_nreq(json_t *log, const char *route,
                                  const char *op, int status)
{
    json_t *a = nt_peer_requests(log, route, op, status);
    size_t n = json_array_size(a);
    json_decref(a);
    return n;
}

/* Print and count the peer's recorded violations. */
static inline size_t nt_peer_violations(json_t *log)
{
    json_t *v = json_object_get(log, "violations");
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
        fprintf(stderr, "peer violation: %s\n", json_string_value(s));
    }
    return json_array_size(v) + (size_t)json_integer_value(json_object_get(log, "sigfail"));
}

#endif /* NT_TEST_PEER_H */
