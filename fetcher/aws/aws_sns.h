/*
 * aws_sns.h - the SNS HTTP(S) endpoint source: SNS pushes notifications,
 * every message's signature is verified, CloudTrail and S3-event
 * notifications become GetObject jobs.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * Runs on the common HTTP server (tg_http, its own listener, or a shared
 * one through aws_sns_handle()).  The own listener serves TLS natively
 * when tls_cert_file is set, else plain HTTP for a TLS proxy in front.  For each POST:
 *   parse (400) -> TopicArn allow-list (403) -> Timestamp within max_age
 *   (400, stale or from the future) -> SigningCertURL https + host pattern
 *   + .pem (403) -> fetch the certificate over verified TLS (cached by URL)
 *   -> verify SignatureVersion 1/2 over the exact string to sign (403)
 *   -> MessageId dedup (200, nothing done) -> by type:
 *      Notification: the objects are journalled durably (tg_journal,
 *      fdatasync) and queued, then 200; SubscriptionConfirmation: GET the
 *      SubscribeURL (same host rules) when confirm is on, then 200 (502 if
 *      that fails, so SNS retries); UnsubscribeConfirmation: 200.
 * The answer is deferred (tg_http_resp_defer) while certificates or
 * confirmations are fetched.  A notification is marked done in the
 * journal when all its objects are committed (or failed for good); on
 * start the journal is replayed and unfinished notifications are queued
 * again, then compacted.  Keys outside /CloudTrail/ (digests, Insights,
 * anything else) are ignored unless enabled.  Rejections are counted and
 * reported through on_reject (the daemon logs); nothing is logged here.
 */
#ifndef AWS_SNS_H
#define AWS_SNS_H

#include "aws_client.h"
#include "aws_config.h"
#include "fe_source.h"
#include "tg_http.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct aws_sns_opts {
    const char *listen_addr;      /* NULL = "127.0.0.1" */
    int port;                     /* 0 = ephemeral; < 0 = no own listener */
    /* Own listener speaks TLS 1.2+ with this PEM certificate (chain
     * allowed) and key (NULL = in the certificate file); NULL = plain
     * HTTP (TLS terminated by a proxy or load balancer in front).  Copied;
     * the files are read in start(), which fails on a bad pair. */
    const char *tls_cert_file, *tls_key_file;
    const char *const *topics;    /* allowed TopicArns (required) */
    size_t ntopics;
    const char *host_pattern;     /* POSIX ERE; NULL = AWS_SNS_HOST_PATTERN */
    unsigned max_age_s;           /* 0 = 3600 */
    size_t max_body;              /* 0 = 256 KiB */
    const char *journal_path;     /* required */
    /* Rewrite the journal (empty) once every notification is done and it
     * holds at least this many records; 0 = 4096.  Without it the journal
     * would only shrink at the next start. */
    size_t compact_records;
    size_t dedup_max;             /* 0 = 100000 */
    bool confirm;                 /* confirm subscriptions of allowed topics */
    bool include_digest, include_insight;
    unsigned concurrency;         /* GetObject in flight; 0 = 8 */
    size_t max_object;            /* 0 = 256 MiB */
    bool path_style;
    const char *region;           /* default bucket region */
    /* Called for every rejected request (reason is static text). */
    void (*on_reject)(int status, const char *reason, const char *remote,
                      void *ud);
    /* Optional: a TLS handshake on the own listener failed or timed out
     * (reason is static text). */
    void (*on_tls_failure)(const char *remote, const char *reason, void *ud);
    void *ud;
} aws_sns_opts;

typedef struct aws_sns_stats {
    uint64_t requests, accepted, duplicates, ignored, confirmed,
        unsubscribed, objects, objects_done, objects_failed;
    uint64_t rej_malformed, rej_topic, rej_stale, rej_cert_url, rej_cert,
        rej_signature, rej_size, rej_method, rej_journal;
    uint64_t cert_fetches, replayed;
    uint64_t compactions;         /* journal rewrites while running */
    uint64_t tls_failures;        /* own TLS listener: failed handshakes */
} aws_sns_stats;

/*
 * client (S3 GetObject) and http (certificates, confirmations) and cfg
 * are borrowed.  The listener starts in start().  Caller owns result;
 * release with ops->free() and run the loop once more.  NULL on bad
 * options with detail in err.
 */
fe_source *aws_sns_source_new(const aws_sns_opts *o, aws_client *client,
                              aws_http *http, const aws_config *cfg,
                              char *err, size_t errlen);

/* The bound port after start() (own listener), else -1. */
int aws_sns_source_port(const fe_source *s);
const aws_sns_stats *aws_sns_source_stats(const fe_source *s);

/* Serve one request on a shared tg_http server (after start()). */
void aws_sns_handle(fe_source *s, const tg_http_req *req, tg_http_resp *resp);

#endif
