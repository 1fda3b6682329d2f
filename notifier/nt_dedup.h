/*
 * nt_dedup.h - a durable window of recently delivered alert ids.
 *
 * DESIGN
 * Alert ids are stable (the evaluator derives them from the source
 * identity, the record index and the rule), so an alert produced again by a
 * redelivered job has the id of the first one.  The window remembers the
 * last `window` ids delivered: a FIFO ring plus a linear-probing hash set
 * over it (backward-shift deletion when the oldest id leaves).  Ids are
 * kept as 16 bytes: the 32 hex digits decoded, or two 64-bit hashes of any
 * other id text.
 *
 * Durability: nt_dedup_commit() appends one journal record per delivered
 * batch (the batch's ids, 16 bytes each) and syncs it per the journal's
 * mode before returning, so a notifier restarted after a crash replays the
 * journal and still drops redelivered alerts.  When the file grows past
 * about three windows it is compacted to the ids in the ring.
 */
#ifndef NT_DEDUP_H
#define NT_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_journal.h"

typedef struct nt_dedup nt_dedup;

/* path NULL = memory only.  Caller owns result; free with
 * nt_dedup_close().  NULL with detail in err. */
nt_dedup *nt_dedup_open(const char *path, size_t window,
                        tg_journal_sync_mode sync, char *err, size_t errlen);

/* True when the id was delivered within the window. */
bool nt_dedup_seen(const nt_dedup *d, const char *id, size_t len);

/* Remember ids (n of them) as delivered: journal first (durable per the
 * sync mode), then the window.  0 or -errno (the window is updated even if
 * the journal write failed; the caller logs). */
int nt_dedup_commit(nt_dedup *d, const char *const *ids, const size_t *lens,
                    size_t n);

/* Ids currently in the window. */
size_t nt_dedup_size(const nt_dedup *d);

/* Journal tick (batch sync mode); call from a timer. */
void nt_dedup_tick(nt_dedup *d);

/* NULL is a no-op. */
void nt_dedup_close(nt_dedup *d);

#endif /* NT_DEDUP_H */
