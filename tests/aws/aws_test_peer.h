/*
 * aws_test_peer.h - start and stop the loopback node peers of tests/aws.
 *
 * Owner: AWS ingestion (tests/aws/).
 *
 * A peer is a node script under tests/peers/ that prints "READY <port>" on
 * stdout once it listens on 127.0.0.1 and exits when its stdin closes.
 * aws_test_peer_start() waits for that line with a deadline (no sleeps);
 * it returns 77 when node or the npm modules are missing so the test can
 * skip, 0 on success, -1 on failure.
 */
#ifndef AWS_TEST_PEER_H
#define AWS_TEST_PEER_H

#include <sys/types.h>

typedef struct aws_test_peer {
    pid_t pid;
    int port;
    int stdin_fd;    /* closing it tells the peer to exit */
} aws_test_peer;

/* argv: script path relative to tests/peers, then its arguments, NULL-ended.
 * env: extra "NAME=value" strings (NULL-ended, may be NULL). */
int aws_test_peer_start(aws_test_peer *p, const char *const *argv,
                        const char *const *env, int timeout_ms);
void aws_test_peer_stop(aws_test_peer *p);

/* Returns 1 if node and tests/peers/node_modules are usable. */
int aws_test_peer_available(void);

/* Blocking helper: GET http://127.0.0.1:<port><path>; caller owns *body
 * (free()).  Returns the HTTP status or -1. */
long aws_test_http_get(int port, const char *path, char **body);

#endif
