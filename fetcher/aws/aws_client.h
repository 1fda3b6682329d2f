/*
 * aws_client.h - signed AWS requests: SigV4 + credentials + aws_http.
 *
 * Owner: AWS ingestion (fetcher/aws/).  Also for notifier/outputs/
 * (Security Hub, CloudWatch Logs).
 *
 * DESIGN
 * aws_http_send_signed() signs one request with given credentials and
 * sends it: the URL is split with curl's URL parser, the exact Host value
 * that is signed is also sent, and the signer's headers are appended.
 * aws_client wraps that with a credential chain: aws_client_send() copies
 * the request, waits for credentials if the chain has none (or must
 * refresh), then signs with the current time and sends.  The callback
 * contract is aws_http's (exactly once from the loop unless cancelled or
 * the call fails).
 */
#ifndef AWS_CLIENT_H
#define AWS_CLIENT_H

#include "aws_creds.h"
#include "aws_http.h"
#include "aws_sigv4.h"

#include <time.h>

/* Sign with creds at time now and send.  0 or negative (cb never runs). */
int aws_http_send_signed(aws_http *h, const aws_http_request *req,
                         const aws_creds *creds, const char *region,
                         const char *service, unsigned sigv4_flags,
                         const char *payload_hash, time_t now, aws_http_cb cb,
                         void *data, aws_http_req **handle);

typedef struct aws_client aws_client;
typedef struct aws_call aws_call;

/* http and chain are borrowed and must outlive the client.
 * Caller owns result; free with aws_client_free(). */
aws_client *aws_client_new(aws_http *http, aws_creds_chain *chain);
/* Cancels every call in flight (callbacks never run).  NULL is a no-op. */
void aws_client_free(aws_client *c);

/*
 * Signed request.  region/service as for SigV4; sigv4_flags AWS_SIGV4_*;
 * payload_hash NULL = hash of the body.  On credential failure the
 * callback gets the AWS_CREDS_* code and resp NULL.  If handle is not
 * NULL it receives a borrowed handle valid until the callback runs.
 */
int aws_client_send(aws_client *c, const aws_http_request *req,
                    const char *region, const char *service,
                    unsigned sigv4_flags, const char *payload_hash,
                    aws_http_cb cb, void *data, aws_call **handle);
void aws_call_cancel(aws_call *call);

aws_http *aws_client_http(aws_client *c);

#endif
