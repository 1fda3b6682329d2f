/*
 * fe_source.h - the interface between the fetcher daemon and the places
 * jobs come from (local files and directories, stdin; S3/SQS/SNS in
 * fetcher/aws).
 *
 * DESIGN
 * A source is a struct whose first member is `fe_source` (a pointer to its
 * ops table), created by the source's own constructor.  The daemon calls
 * start() once with a sink; the source then submits jobs through the sink
 * whenever it has some, from loop callbacks of its own or from inside
 * start()/resume().  Submission is flow-controlled: submit() returns
 * -EAGAIN when the fetcher has no free in-flight slot, and the source must
 * wait for its resume() callback before trying again.
 *
 * Every submitted job carries `ref`, an opaque handle of the source.  When
 * every batch of the job has been acknowledged downstream (or the fetcher
 * gave up on it) the daemon calls commit(ref, status): that is where an SQS
 * source deletes its message.  commit() is called exactly once per
 * accepted submission, also for jobs skipped because the checkpoint
 * journal says they were done before.
 *
 * A finite source (files, directories, stdin, --once) calls sink->done()
 * after its last submission; the fetcher exits when every finite source is
 * done and no job is in flight.  Infinite sources never call done().
 */
#ifndef FE_SOURCE_H
#define FE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct fe_source fe_source;

/* One job as submitted; every pointer is borrowed for the submit() call
 * (the fetcher copies what it keeps). */
typedef struct fe_job_desc {
    const char *uri;        /* "file:///var/log/x.json.gz", "s3://b/k", "stdin:" */
    const char *identity;   /* stable: path:size:mtime, bucket/key/etag, ... */
    const char *path;       /* local file for the parser to read, or NULL */
    const void *data;       /* the bytes (gzip or plain) when path is NULL */
    size_t len;
    void *ref;              /* handed back to commit() */
    uint64_t arrival_ns;    /* when the input arrived (S3 LastModified, file
                               mtime), ns since the epoch; 0 = now */
} fe_job_desc;

typedef struct fe_source_sink {
    /* 0 = accepted (commit will follow), -EAGAIN = full (wait for
     * resume), other negative = rejected (commit will not follow). */
    int (*submit)(void *ud, fe_source *src, const fe_job_desc *job);
    /* An input that could not become a job (unreadable file, listing
     * failure); counted and makes a finite run exit non-zero. */
    void (*failed)(void *ud, fe_source *src, const char *uri, const char *msg);
    /* A finite source submitted its last job. */
    void (*done)(void *ud, fe_source *src);
    void *ud;
    /* --once: a source that can (an S3 listing, an SQS queue) takes what is
     * there now, submits it and calls done(), i.e. behaves as finite. */
    bool once;
    /* Optional (may be NULL): true when the job with this identity is
     * already done according to the checkpoint journal, with its commit
     * status in *status (0 ok, 1 input errors).  Lets a source skip the
     * download of an object it can name before fetching it (S3 listings
     * carry the ETag); such an object is not submitted, and no commit
     * follows. */
    bool (*is_done)(void *ud, const char *identity, int *status);
} fe_source_sink;

typedef struct fe_source_ops {
    const char *kind;       /* "file", "s3", "sqs", ... */
    /* Begin producing.  0 or negative with detail in err. */
    int (*start)(fe_source *s, uv_loop_t *loop, const fe_source_sink *sink,
                 char *err, size_t errlen);
    bool (*is_finite)(const fe_source *s);
    /* The fetcher has room again after a -EAGAIN. */
    void (*resume)(fe_source *s);
    /* A job is finished: status 0 = every batch delivered, < 0 = given
     * up (too many attempts), > 0 = delivered with input errors. */
    void (*commit)(fe_source *s, void *ref, int status);
    /* Stop producing (shutdown).  No submit() after this. */
    void (*stop)(fe_source *s);
    /* Release; s is invalid afterwards.  May need one more loop run when
     * the source owns uv handles. */
    void (*free)(fe_source *s);
} fe_source_ops;

struct fe_source {
    const fe_source_ops *ops;
};

/*
 * The local source: `paths` are files, directories (walked recursively;
 * hidden entries skipped) or "-" for stdin.  Files are referenced by path
 * (the parser reads them) unless inline_data is true; stdin is read to the
 * end and sent as bytes.  Always finite.  Caller owns result; release with
 * ops->free().  NULL on out of memory.
 */
fe_source *fe_local_new(const char *const *paths, size_t npaths,
                        bool inline_data);

#endif /* FE_SOURCE_H */
