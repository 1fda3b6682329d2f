/*
 * nt_spool.h - bounded, crash-safe, ordered on-disk spool for one output.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * When an output stays down, its alerts go here so the notifier can ack
 * them; they are replayed in order when the output comes back.
 *
 * The spool is a directory of segments, each a tg_journal file
 * ("seg-<16 hex id>.jrnl": length + CRC32C framed records, torn tails
 * truncated on open), plus a "cursor" file naming the oldest segment still
 * in use and how many of its records were already delivered.  Appends go
 * to the newest segment; when it passes seg_bytes a new one starts.
 * Replay reads the oldest *sealed* segment into memory (the writer rolls
 * first if it is the oldest) and hands out its records in order; the
 * caller confirms delivery with nt_spool_consume(), which rewrites the
 * cursor (write temp + fsync + rename) and unlinks a segment once all its
 * records are consumed.  A crash can therefore repeat at most the records
 * of one in-flight replay batch, never lose an acknowledged one.
 *
 * Bound: when the spool passes max_bytes, whole oldest segments are
 * dropped (never the one being written) and the number of records lost
 * is returned to the caller, which counts and logs it.
 *
 * Durability: appends are written at once and made durable by
 * nt_spool_sync() (the caller syncs before it reports "spooled").
 * Single-threaded; blocking file I/O (segments are small).
 */
#ifndef NT_SPOOL_H
#define NT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct nt_spool nt_spool;

typedef struct nt_spool_opts {
    uint64_t max_bytes;      /* 0 = 256 MiB */
    uint64_t seg_bytes;      /* 0 = 4 MiB */
    size_t max_record;       /* 0 = 8 MiB */
} nt_spool_opts;

/* A record handed out by nt_spool_peek(): data borrowed, valid until the
 * next call on the spool other than nt_spool_depth()/nt_spool_bytes(). */
typedef struct nt_spool_rec {
    const void *data;
    size_t len;
} nt_spool_rec;

/* Position after a peeked run; pass back to nt_spool_consume(). */
typedef struct nt_spool_pos {
    uint64_t seg;
    uint64_t index;
} nt_spool_pos;

/*
 * Open (creating dir) and scan existing segments.  opts may be NULL.
 * Caller owns result; free with nt_spool_close().  NULL on error with
 * detail in err.
 */
nt_spool *nt_spool_open(const char *dir, const nt_spool_opts *opts,
                        char *err, size_t errlen);

/* Sync and close.  NULL is a no-op. */
void nt_spool_close(nt_spool *s);

/*
 * Append one record (copied).  *dropped (may be NULL) receives how many
 * old records were discarded to stay under max_bytes.  0 or -errno /
 * -EMSGSIZE.
 */
int nt_spool_append(nt_spool *s, const void *rec, size_t len,
                    uint64_t *dropped);

/* Make every append so far durable.  0 or -errno. */
int nt_spool_sync(nt_spool *s);

/*
 * Up to max records from the head, in order, without consuming them.
 * Records come from one segment at a time, so *n may be less than max
 * while more remain.  *end is the position after the last record given.
 * 0 (with *n == 0 when empty) or -errno.
 */
int nt_spool_peek(nt_spool *s, size_t max, nt_spool_rec *recs, size_t *n,
                  nt_spool_pos *end);

/* Mark everything before `end` consumed.  A position in a segment that
 * was dropped meanwhile is ignored.  0 or -errno. */
int nt_spool_consume(nt_spool *s, nt_spool_pos end);

/* Records not yet consumed. */
uint64_t nt_spool_depth(const nt_spool *s);
/* Bytes on disk (all segments). */
uint64_t nt_spool_bytes(const nt_spool *s);

#endif /* NT_SPOOL_H */
