/*
 * nt_fdwrite.c - cancellable writes from a worker thread; see
 * nt_fdwrite.h.
 *
 * Owner: notifier outputs.
 */
#include "nt_fdwrite.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_POLL_MS 100

bool nt_fd_is_regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

int nt_fd_write_all(int fd, bool regular, const char *p, size_t n,
                    atomic_int *cancel)
{
    while (n) {
        if (cancel && atomic_load(cancel))
            return -ECANCELED;
        size_t chunk = n;
        if (!regular) {
            struct pollfd pf = { .fd = fd, .events = POLLOUT };
            int r = poll(&pf, 1, S_POLL_MS);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -errno;
            if (r == 0)
                continue;
            /* POLLOUT leaves room for PIPE_BUF bytes on a pipe */
            if (chunk > PIPE_BUF)
                chunk = PIPE_BUF;
        }
        ssize_t w = write(fd, p, chunk);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
