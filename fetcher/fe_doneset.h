/*
 * fe_doneset.h - the fetcher's set of finished jobs, with a retention.
 * Owner: pipeline (fetcher/).
 *
 * DESIGN
 * A job is known by the 64-bit hash of its source identity (S3
 * bucket/key/ETag, or path/size/mtime).  The set answers "was this job
 * finished, and how" so that a re-listed or re-announced input is skipped.
 * Each entry remembers when it was finished (Unix seconds).  Inputs older
 * than the sources' look-back windows are never offered again, so entries
 * older than a retention can go: fe_doneset_prune() drops them, which keeps
 * a long-running fetcher's memory bounded by (files per second x
 * retention) instead of growing for ever.  Open addressing, load <= 1/2;
 * pruning rebuilds the table.
 *
 * Not thread-safe.  No global state.
 */
#ifndef FE_DONESET_H
#define FE_DONESET_H

#include <stddef.h>
#include <stdint.h>

/* Status values stored per job. */
enum { FE_DONE_NONE = 0, FE_DONE_OK = 1, FE_DONE_FAILED = 2 };

typedef struct fe_doneset fe_doneset;

/* Caller owns result; free with fe_doneset_free().  NULL on out of memory. */
fe_doneset *fe_doneset_new(void);
/* Accepts NULL. */
void fe_doneset_free(fe_doneset *s);

/* Remember job `key` as finished with `status` (FE_DONE_OK or
 * FE_DONE_FAILED) at `when` (Unix seconds); replaces an earlier entry.
 * 0, or -ENOMEM (the set is unchanged). */
int fe_doneset_put(fe_doneset *s, uint64_t key, uint8_t status, uint64_t when);

/* FE_DONE_NONE, FE_DONE_OK or FE_DONE_FAILED. */
uint8_t fe_doneset_get(const fe_doneset *s, uint64_t key);

/* Entries held. */
size_t fe_doneset_size(const fe_doneset *s);

/* Drop every entry finished before `before` (Unix seconds).  Returns how
 * many went, or -ENOMEM (nothing dropped). */
long fe_doneset_prune(fe_doneset *s, uint64_t before);

/* Calls cb for every entry, in no particular order; stops at and returns
 * the first non-zero value cb returns. */
typedef int (*fe_doneset_cb)(uint64_t key, uint8_t status, uint64_t when, void *ud);
int fe_doneset_each(const fe_doneset *s, fe_doneset_cb cb, void *ud);

#endif /* FE_DONESET_H */
