/*
 * nt_fdwrite.h - write a buffer to a descriptor from a worker thread,
 * giving up promptly when asked to.
 *
 * Owner: notifier outputs.  Used by the stdout/file output modules
 * (nt_out_file.c) and the daemon's built-in stream output
 * (notifier/nt_stream.c), which both write on a libuv threadpool worker so
 * a slow reader never blocks the notifier's loop.
 *
 * DESIGN
 * A regular file is written with plain write(2) calls (they do not wait on
 * a reader).  Anything else (pipe, FIFO, socket, terminal) is written in
 * PIPE_BUF pieces, each after poll() reports POLLOUT, so no write(2) waits
 * for long; poll wakes every 100 ms to look at *cancel.  A cancelled write
 * may have written part of the buffer.
 */
#ifndef NT_FDWRITE_H
#define NT_FDWRITE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* True when fd is a regular file. */
bool nt_fd_is_regular(int fd);

/* Write all n bytes.  0, -ECANCELED once *cancel is set, or -errno. */
int nt_fd_write_all(int fd, bool regular, const char *p, size_t n,
                    atomic_int *cancel);

#endif /* NT_FDWRITE_H */
