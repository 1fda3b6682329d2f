/*
 * tg_journal.h - a durable append-only journal of small records.
 *
 * Owner: common.
 *
 * DESIGN
 * A journal is one file: an 8-byte header ("TGJRNL1\n") followed by
 * records, each
 *
 *   u32 little-endian payload length | u32 little-endian CRC32C | payload
 *
 * where the CRC covers the 4 length bytes and the payload.  Opening the
 * file replays every record through a callback.  Replay stops at the
 * first record that is incomplete, longer than max_record, or fails its
 * CRC: that is a torn write from a crash, so the file is truncated there
 * (tg_journal_truncated() tells how many bytes went) and appends continue
 * after the last good record.  Bad input never crashes.
 *
 * Durability: TG_JOURNAL_SYNC_ALWAYS fdatasyncs after every append;
 * _BATCH after every batch_records appends or when batch_ms has passed
 * since the first unsynced append (checked on append and in
 * tg_journal_tick(), which the owner calls from a timer); _NEVER leaves it
 * to the kernel (tg_journal_sync() still works).
 *
 * Compaction rewrites the live records (the owner knows which, usually
 * from its in-memory state) to "<path>.compact", fsyncs it, renames it
 * over the journal and fsyncs the directory: a crash leaves either the old
 * or the new file, never a mix.  A stale "<path>.compact" is removed on
 * open.
 *
 * Files are created 0600; missing directories 0700.  Not thread-safe.
 */
#ifndef TG_JOURNAL_H
#define TG_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tg_journal tg_journal;

typedef enum tg_journal_sync_mode {
    TG_JOURNAL_SYNC_BATCH = 0,      /* default */
    TG_JOURNAL_SYNC_ALWAYS,
    TG_JOURNAL_SYNC_NEVER,
} tg_journal_sync_mode;

typedef struct tg_journal_opts {
    tg_journal_sync_mode sync;
    unsigned batch_records;         /* 0 = 64 */
    uint64_t batch_ms;              /* 0 = 1000 */
    size_t max_record;              /* 0 = 1 MiB; larger appends fail */
} tg_journal_opts;

/* Replay callback: `rec` is borrowed for the call.  Return 0 to go on;
 * a non-zero return aborts tg_journal_open() (which returns NULL with
 * "replay callback failed" in err). */
typedef int (*tg_journal_replay_cb)(const void *rec, size_t len, void *ud);

/*
 * Open (creating file and directories as needed) and replay.  A file that
 * exists but does not start with the header is refused (NULL, err says
 * so) rather than overwritten; an empty file gets the header.  replay may
 * be NULL.  opts may be NULL.  Caller owns result; free with
 * tg_journal_close().  NULL on error with detail in err.
 */
tg_journal *tg_journal_open(const char *path, const tg_journal_opts *opts,
                            tg_journal_replay_cb replay, void *ud,
                            char *err, size_t errlen);

/* Append one record (copied to the file; durable per the sync mode).
 * Empty records are allowed.  0, -EMSGSIZE (len > max_record), or
 * -errno from write/fsync; after a write error the journal truncates the
 * partial record if it can. */
int tg_journal_append(tg_journal *j, const void *rec, size_t len);

/* fdatasync now if anything is unsynced.  0 or -errno. */
int tg_journal_sync(tg_journal *j);

/* Sync if the batch deadline has passed (call from a timer every
 * batch_ms or so).  0 or -errno. */
int tg_journal_tick(tg_journal *j);

/* Compaction writer (valid only inside the compaction callback). */
typedef struct tg_journal_writer tg_journal_writer;
int tg_journal_writer_put(tg_journal_writer *w, const void *rec,
                          size_t len);

/* Called once; write every live record with tg_journal_writer_put() and
 * return 0 (non-zero aborts: the old file stays). */
typedef int (*tg_journal_compact_cb)(tg_journal_writer *w, void *ud);

/* Rewrite the journal with the records emitted by cb, crash-safely.
 * 0 or negative (-errno, or the cb's return); on failure the journal is
 * unchanged and still usable.  (One exception: if only the final
 * directory fsync fails, the new file is already in place and in use,
 * and the error is returned.) */
int tg_journal_compact(tg_journal *j, tg_journal_compact_cb cb, void *ud);

/* Records in the file (replayed + appended since open / compaction). */
uint64_t tg_journal_records(const tg_journal *j);
/* File size in bytes. */
uint64_t tg_journal_bytes(const tg_journal *j);
/* Bytes cut off at open because of a torn or corrupt tail. */
uint64_t tg_journal_truncated(const tg_journal *j);
/* The path (borrowed). */
const char *tg_journal_path(const tg_journal *j);

/* Sync (unless SYNC_NEVER) and close.  Returns the sync result.  NULL is
 * a no-op returning 0. */
int tg_journal_close(tg_journal *j);

/* mkdir -p with mode for each missing component.  0 or -errno. */
int tg_journal_mkdirs(const char *dir, unsigned mode);

#endif /* TG_JOURNAL_H */
