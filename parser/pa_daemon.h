/*
 * pa_daemon.h - the parser daemon: job frames in, ~64 KB batch frames out.
 *
 * DESIGN
 * A PULL socket connects to the fetcher(s); a PUSH socket is bound for the
 * evaluators.  One job is handled at a time: its bytes (inline in the
 * frame, or the referenced file, mmap'd) go through pa_decoder_run() from
 * parser/decode, whose callback packs each record straight into the batch
 * frame being built (tg_msg_batch_builder: [raw bin, map] per record, no
 * intermediate copy).  A frame is closed when it reaches batch_bytes.  Per
 * record errors and whole-file errors ride along in the frames (file,
 * record index, message), are logged once here and counted; a job always
 * yields at least one frame, so even an unreadable file is acknowledged
 * (with its errors) and the fetcher learns the outcome.
 *
 * Each frame is built in its own malloc'd buffer and handed to zmq
 * without a copy (tg_zsock_send_owned: zmq frees it once sent).
 *
 * Frames stream out while the file decodes: each frame is sent as soon as
 * the next one is closed (the newest is held back, because only the last
 * frame of a job carries the total count, patched in at the end).  The job
 * socket is paused while a job is in progress, which pushes back to the
 * fetcher; when more than max_queue bytes of frames wait for the
 * evaluators, decoding blocks on the batch socket (the decoder cannot be
 * suspended), so memory stays bounded by max_queue plus one decompressed
 * file.
 */
#ifndef PA_DAEMON_H
#define PA_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "tg_config.h"
#include "tg_daemon.h"

typedef struct pa_config {
    tg_strlist connect;     /* fetcher job endpoints */
    char *bind;             /* batch PUSH endpoint */
    uint64_t batch_bytes;   /* target frame size */
    uint64_t max_record;    /* larger records are errors */
    uint64_t max_file;      /* decompressed bytes per file */
    uint64_t max_queue;     /* unsent frame bytes before decoding waits */
    uint64_t sndhwm;
    uint64_t rcvhwm;
    uint64_t metrics_port;
    bool shm;               /* batches through shared memory (ipc:// only) */
    uint64_t shm_segments;  /* segments at most */
} pa_config;

extern const tg_conf_entry pa_config_table[];

typedef struct pa_daemon pa_daemon;

/* cfg/common borrowed for the call.  Caller owns result; free with
 * pa_daemon_free().  NULL with detail in err. */
pa_daemon *pa_daemon_new(uv_loop_t *loop, const pa_config *cfg,
                         const tg_daemon_common *common, char *err,
                         size_t errlen);

/* Graceful stop: stop taking jobs, finish sending the current one
 * (bounded), close. */
void pa_daemon_stop(pa_daemon *d);

int pa_daemon_metrics_port(const pa_daemon *d);
const char *pa_daemon_endpoint(const pa_daemon *d);

/* NULL is a no-op; run the loop once more afterwards. */
void pa_daemon_free(pa_daemon *d);

#endif /* PA_DAEMON_H */
