/*
 * tg_shm.h - batch frames handed from a parser to the evaluators on the same
 * host through shared memory, instead of through the socket.
 *
 * Sending a 1 MiB batch frame over an ipc:// socket costs two copies
 * through the kernel (the sender's write, the receiver's read) and socket
 * buffer management on both sides; on the 2-core benchmark machine that was
 * about a fifth of the pipeline's CPU.  With shared memory the parser copies
 * the finished frame once into a segment and sends a small "shm" frame
 * naming it (tg_msg.h); the evaluator decodes the batch where it lies.
 *
 * A segment is a file in a directory on tmpfs (default /dev/shm) named
 * "trailguard-<writer pid>-<seq>", created 0600 by the parser, its pages
 * reserved with posix_fallocate (a full tmpfs is an error at creation, not
 * a SIGBUS later), and mapped by both sides.  It starts with a 64-byte header:
 *
 *   magic[8] | writer pid u32 | state u32 | reader pid u32 | pad u32 |
 *   gen u64 | len u64 | cap u64 | pad
 *
 * and the frame follows at offset 64.  `state` is the handshake (atomic
 * loads and stores, acquire/release):
 *
 *   FREE --writer fills, gen++--> FILLED --reader claims (CAS)--> CLAIMED
 *   CLAIMED --reader done--> FREE
 *
 * Ownership and failure:
 *  - The writer (tg_shm_pool) owns its segment files and unlinks them when
 *    freed.  A reader's mapping stays valid after an unlink.
 *  - A segment whose reader died (its pid no longer exists; checked once
 *    the segment has been busy for a second) is reused.
 *  - A segment FILLED but never claimed for `lease_ms` (its shm frame was
 *    lost with a killed evaluator's queue) is abandoned: unlinked and
 *    replaced by a new file, never rewritten, so a late reader cannot see
 *    it change.  The batch itself is not lost: its job is not acknowledged
 *    and the fetcher delivers it again.
 *  - Files left by a killed parser are removed by the next pool created in
 *    the same directory (tg_shm_pool_new sweeps files whose writer pid is
 *    gone).
 *
 * Security: only processes of the same user can open the files (0600, and
 * the reader refuses files owned by another uid); the reader accepts only
 * names of the form above, refuses symlinks and checks every size before
 * use.  The frame itself is validated by tg_msg_decode() like any other.
 * A writer that rewrites a claimed segment could change bytes under the
 * reader; the writer here never does, and other processes of the same user
 * are trusted (as they can ptrace the daemons anyway).
 */
#ifndef TG_SHM_H
#define TG_SHM_H

#include <stddef.h>
#include <stdint.h>

#include "tg_msg.h"

#define TG_SHM_DIR_DEFAULT "/dev/shm"
#define TG_SHM_HDR 64
/* Longest segment name: "trailguard-" + 10-digit pid + "-" + 20-digit seq. */
#define TG_SHM_NAME_MAX 48

typedef struct tg_shm_pool tg_shm_pool;
typedef struct tg_shm_reader tg_shm_reader;

typedef struct tg_shm_pool_opts {
    const char *dir;        /* NULL: TG_SHM_DIR_DEFAULT */
    unsigned segments;      /* most segments at once (>= 1) */
    size_t seg_bytes;       /* frame capacity of a segment */
    uint64_t lease_ms;      /* FILLED and unclaimed this long: abandoned */
} tg_shm_pool_opts;

/* The writer's side.  Creates no file yet (segments are made on demand);
 * sweeps stale segment files of dead writers from the directory.  Returns
 * NULL and a message in err if the directory is unusable. */
tg_shm_pool *tg_shm_pool_new(const tg_shm_pool_opts *opts, char *err, size_t errlen);
/* Unmaps and unlinks every segment. NULL is a no-op. */
void tg_shm_pool_free(tg_shm_pool *p);

/*
 * Building a frame in place: reserve a free segment (made on demand) and
 * write up to *cap bytes at *data; the segment stays this process's until
 * published or cancelled.  now_ms: a monotonic clock, for leases.  Returns
 * the slot (>= 0); -EAGAIN when every segment is busy (try again once an
 * evaluator has finished one); another -errno when no segment can be made
 * (send inline).
 */
int tg_shm_pool_reserve(tg_shm_pool *p, uint64_t now_ms, char **data, size_t *cap);
/* Hand the first len bytes of a reserved slot to the readers and describe
 * them in *ref (ref->seg borrows the pool until the slot's next use).
 * Returns 0 or -E2BIG. */
int tg_shm_pool_publish(tg_shm_pool *p, int slot, size_t len, uint64_t now_ms,
                        tg_msg_shm *ref);
/* The shm frame for a published slot could not be sent: take the slot back
 * (reserved again; its bytes stay) unless a reader has claimed it. */
void tg_shm_pool_unpublish(tg_shm_pool *p, int slot);
/* Give up a reserved slot without publishing it. */
void tg_shm_pool_cancel(tg_shm_pool *p, int slot);

typedef struct tg_shm_pool_stats {
    unsigned segments;      /* files now */
    unsigned busy;          /* reserved, FILLED or CLAIMED */
    uint64_t created, reclaimed, abandoned;
} tg_shm_pool_stats;
void tg_shm_pool_stats_get(tg_shm_pool *p, tg_shm_pool_stats *out);

/* The reader's side: a cache of at most `max_maps` mappings (LRU). */
tg_shm_reader *tg_shm_reader_new(const char *dir, unsigned max_maps);
void tg_shm_reader_free(tg_shm_reader *r);

/*
 * Map ref's segment (or reuse the mapping), check it holds fill ref->gen
 * of ref->len bytes, and claim it.  On success *frame points at the batch
 * frame, valid until tg_shm_reader_release(); only one segment is claimed
 * at a time.  Returns 0 or -errno with a message naming the segment in err.
 */
int tg_shm_reader_claim(tg_shm_reader *r, const tg_msg_shm *ref, const char **frame,
                        char *err, size_t errlen);
/* Hand the claimed segment back to its writer.  No-op if none. */
void tg_shm_reader_release(tg_shm_reader *r);
/* Unmap segments not claimed for 10 s (their writer may be gone; the
 * mapping would keep the memory).  now_ms: CLOCK_MONOTONIC in ms. */
void tg_shm_reader_trim(tg_shm_reader *r, uint64_t now_ms);

#endif
