/*
 * tg_badframes.c - test helper: push hostile frames straight into a
 * daemon's PULL socket.
 *
 *   tg_badframes [bind:]ENDPOINT [OVERSIZE_BYTES]
 *   tg_badframes [bind:]ENDPOINT --job PATH URI_BYTES ACK_ENDPOINT
 *
 * Connects a PUSH socket to ENDPOINT (or binds it, with "bind:", for the
 * daemons whose PULL socket connects) and sends, in order: random garbage,
 * an empty frame, a truncated frame, a frame with a huge array count, a
 * frame of the wrong version, of an unknown kind, with a body of the wrong
 * type, a valid ack/job/batch/alerts of the wrong kind for most daemons, a
 * multi-part message, and one oversized frame (OVERSIZE_BYTES, default
 * 70 MB, above every daemon's limit).  Prints the number of frames sent
 * and exits 0 once zmq has handed them over (linger 10 s).
 *
 * With --job it sends one valid job frame instead: the local file PATH,
 * acknowledged to ACK_ENDPOINT, with a URI of URI_BYTES bytes (a parser
 * copies the URI into every batch header, so a long one tests how it
 * sizes frame buffers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tg_msg.h"

static int s_send(void *sock, const void *p, size_t n, int flags)
{
    if (zmq_send(sock, p, n, flags) < 0) {
        fprintf(stderr, "zmq_send: %s\n", zmq_strerror(zmq_errno()));
        return 0;
    }
    return 1;
}

/* The --job mode: one job frame with a long URI. */
static int s_send_job(void *s, char **argv)
{
    size_t n = strtoull(argv[1], NULL, 10);
    char *uri = malloc(n + 8);
    if (!uri)
        return 0;
    memcpy(uri, "file://", 7);
    memset(uri + 7, 'u', n > 7 ? n - 7 : 0);
    uri[n > 7 ? n : 7] = '\0';
    tg_msg_job j = { .id = 7, .ack = tg_str_c(argv[2]), .uri = tg_str_c(uri),
                     .identity = tg_str_c("long-uri-job"), .attempt = 1,
                     .path = tg_str_c(argv[0]) };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tg_msg_encode_job(&sb, &j);
    int sent = s_send(s, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    free(uri);
    return sent;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tg_badframes [bind:]ENDPOINT [OVERSIZE_BYTES]\n");
        return 2;
    }
    size_t oversize = argc == 3 ? strtoull(argv[2], NULL, 10) : 70u << 20;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    int linger = 10000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    const char *ep = argv[1];
    int rc = strncmp(ep, "bind:", 5) == 0 ? zmq_bind(s, ep + 5) : zmq_connect(s, ep);
    if (rc != 0) {
        fprintf(stderr, "connect %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    if (argc == 6 && strcmp(argv[2], "--job") == 0) {
        int sent = s_send_job(s, argv + 3);
        zmq_close(s);
        zmq_ctx_term(ctx);
        printf("%d\n", sent);
        return sent == 1 ? 0 : 1;
    }
    int sent = 0;
    unsigned char garbage[512];
    unsigned seed = 12345;
    for (size_t i = 0; i < sizeof garbage; i++) {
        seed = seed * 1103515245u + 12345u;
        garbage[i] = (unsigned char)(seed >> 16);
    }
    sent += s_send(s, garbage, sizeof garbage, 0);
    sent += s_send(s, "", 0, 0);
    /* a valid ack, truncated */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    tg_msg_ack ack = { .job = 1, .index = 0, .count = 1 };
    tg_msg_encode_ack(&sb, &ack);
    sent += s_send(s, sb.data, sb.size - 3, 0);
    static const unsigned char huge[] = { 0x93, 0x01, 0xa5, 'b', 'a', 't', 'c', 'h',
                                          0xdf, 0x7f, 0xff, 0xff, 0xff };
    sent += s_send(s, huge, sizeof huge, 0);
    static const unsigned char v9[] = { 0x93, 0x09, 0xa3, 'a', 'c', 'k', 0x80 };
    sent += s_send(s, v9, sizeof v9, 0);
    static const unsigned char kind[] = { 0x93, 0x01, 0xa4, 'n', 'o', 'p', 'e', 0x80 };
    sent += s_send(s, kind, sizeof kind, 0);
    static const unsigned char body[] = { 0x93, 0x01, 0xa5, 'b', 'a', 't', 'c', 'h', 0x2a };
    sent += s_send(s, body, sizeof body, 0);
    /* wrong field types: a batch whose job id is a string */
    static const unsigned char types[] = { 0x93, 0x01, 0xa5, 'b', 'a', 't', 'c', 'h', 0x81,
                                           0xa3, 'j', 'o', 'b', 0xa1, 'x' };
    sent += s_send(s, types, sizeof types, 0);
    /* a well-formed frame of a kind no PULL socket but the fetcher's takes */
    sent += s_send(s, sb.data, sb.size, 0);
    /* shm references to a path outside the segment directory and to a
     * segment that does not exist (the evaluator counts both as shm
     * errors; every other daemon takes them for the wrong kind) */
    static const char *const segs[] = { "../../etc/passwd", "trailguard-4294967295-1" };
    for (int i = 0; i < 2; i++) {
        sb.size = 0;
        tg_msg_shm ref = { tg_str_c(segs[i]), 1, 100 };
        tg_msg_encode_shm(&sb, &ref);
        sent += s_send(s, sb.data, sb.size, 0);
    }
    /* multi-part */
    sent += s_send(s, "part1", 5, ZMQ_SNDMORE);
    sent += s_send(s, "part2", 5, 0);
    /* oversized */
    if (oversize) {
        char *big = malloc(oversize);
        if (big) {
            memset(big, 0x90, oversize);
            big[0] = (char)0x93;
            sent += s_send(s, big, oversize, 0);
            free(big);
        }
    }
    msgpack_sbuffer_destroy(&sb);
    zmq_close(s);
    zmq_ctx_term(ctx);
    printf("%d\n", sent);
    return 0;
}
