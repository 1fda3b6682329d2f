/*
 * aws_test_peer.c - spawn the node peers (see aws_test_peer.h).
 *
 * Owner: AWS ingestion (tests/aws/).
 */
#include "aws_test_peer.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TEST_PEERS_DIR
#error "TEST_PEERS_DIR must be defined"
#endif

static long s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int aws_test_peer_available(void)
{
    if (access(TEST_PEERS_DIR "/node_modules/@smithy/signature-v4", R_OK) != 0)
        return 0;
    return system("node --version >/dev/null 2>&1") == 0;
}

int aws_test_peer_start(aws_test_peer *p, const char *const *argv,
                        const char *const *env, int timeout_ms)
{
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->stdin_fd = -1;
    if (!aws_test_peer_available())
        return 77;
    int in[2], out[2];
    if (pipe(in) < 0 || pipe(out) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        if (chdir(TEST_PEERS_DIR) != 0)
            _exit(126);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        const char *av[32];
        size_t n = 0;
        av[n++] = "node";
        for (size_t i = 0; argv[i] && n < 31; i++)
            av[n++] = argv[i];
        av[n] = NULL;
        execvp("node", (char *const *)av);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->pid = pid;
    p->stdin_fd = in[1];
    char line[256];
    size_t len = 0;
    long deadline = s_now_ms() + timeout_ms;
    while (s_now_ms() < deadline && len < sizeof line - 1) {
        struct pollfd pfd = {.fd = out[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline - s_now_ms()));
        if (r <= 0)
            continue;
        ssize_t k = read(out[0], line + len, 1);
        if (k <= 0)
            break;
        if (line[len] == '\n') {
            line[len] = '\0';
            if (sscanf(line, "READY %d", &p->port) == 1) {
                /* Keep draining stdout in the child's favour: the peer
                 * writes nothing else to stdout, so just close it. */
                close(out[0]);
                return 0;
            }
            len = 0;
            continue;
        }
        len++;
    }
    close(out[0]);
    aws_test_peer_stop(p);
    return -1;
}

void aws_test_peer_stop(aws_test_peer *p)
{
    if (p->stdin_fd >= 0)
        close(p->stdin_fd);
    p->stdin_fd = -1;
    if (p->pid > 0) {
        long deadline = s_now_ms() + 3000;
        int st;
        while (waitpid(p->pid, &st, WNOHANG) == 0) {
            if (s_now_ms() > deadline) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &st, 0);
                break;
            }
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);   /* polling the exit, not a fixed wait */
        }
    }
    p->pid = -1;
}

static size_t s_collect(char *ptr, size_t sz, size_t n, void *data)
{
    FILE *f = data;
    return fwrite(ptr, sz, n, f);
}

long aws_test_http_get(int port, const char *path, char **body)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    long code = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    fclose(f);
    if (body)
        *body = buf;
    else
        free(buf);
    return code;
}
