/*
 * aws_creds.h - AWS credentials and the provider chain.
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN
 * A provider is a struct whose first member points to its ops (a small
 * vtable, like fe_source).  fetch() either answers at once (0, *out
 * filled: env, static, profile files) or starts an HTTP exchange and
 * returns AWS_CREDS_PENDING; its callback then runs once from the loop
 * (web identity via STS, ECS container endpoint, EC2 IMDSv2, AssumeRole).
 * AWS_CREDS_ENOTFOUND means "not configured here, try the next one".
 *
 * The chain (itself a provider) tries, in the SDKs' order: environment,
 * web identity, shared config/credentials files, ECS container, EC2
 * IMDSv2; it remembers which one answered, caches the credentials and
 * refreshes temporary ones before they expire (default window 5 min;
 * while refreshing, credentials that are still valid keep being served).
 * aws_creds_assume_role_new() wraps any provider with sts:AssumeRole.
 *
 * Secrets never appear in error strings; aws_creds_fini() wipes them.
 */
#ifndef AWS_CREDS_H
#define AWS_CREDS_H

#include "aws_config.h"
#include "aws_http.h"

#include <time.h>
#include <uv.h>

enum {
    AWS_CREDS_PENDING = 1,        /* async: the callback will run */
    AWS_CREDS_ENOTFOUND = -2,     /* provider not configured */
    AWS_CREDS_EINVAL = -22,       /* malformed config or response */
    AWS_CREDS_EFETCH = -5,        /* remote endpoint failed */
    AWS_CREDS_EDENIED = -13,      /* remote endpoint said no (401/403) */
};

typedef struct aws_creds {
    char *access_key_id;          /* owned */
    char *secret_access_key;      /* owned, secret */
    char *session_token;          /* owned, secret; NULL for long-term keys */
    time_t expiration;            /* 0 = does not expire */
    const char *source;           /* static string: "env", "profile", ... */
} aws_creds;

void aws_creds_fini(aws_creds *c);            /* wipes; zeroed is fine */
void aws_creds_copy(aws_creds *dst, const aws_creds *src);

/* creds borrowed for the call; NULL when rc < 0. */
typedef void (*aws_creds_cb)(int rc, const aws_creds *creds, void *data);

typedef struct aws_creds_provider aws_creds_provider;
typedef struct aws_creds_provider_ops {
    const char *name;
    /* 0 with *out filled (caller owns; aws_creds_fini), AWS_CREDS_PENDING
     * (cb runs later, once), or a negative code (cb never runs). */
    int (*fetch)(aws_creds_provider *p, aws_creds *out, aws_creds_cb cb,
                 void *data);
    /* Release; a pending fetch is dropped (its cb never runs). */
    void (*free)(aws_creds_provider *p);
    /* Drop a pending fetch started with (cb, data); its cb never runs.
     * NULL for providers that never pend. */
    void (*cancel)(aws_creds_provider *p, aws_creds_cb cb, void *data);
} aws_creds_provider_ops;

struct aws_creds_provider {
    const aws_creds_provider_ops *ops;
};

/* Free any provider; NULL is a no-op. */
void aws_creds_provider_free(aws_creds_provider *p);

/* Constructors: caller owns result; free with aws_creds_provider_free().
 * config and http are borrowed and must outlive the provider. */
aws_creds_provider *aws_creds_static_new(const char *akid, const char *secret,
                                         const char *token);
aws_creds_provider *aws_creds_env_new(const aws_config *c);
aws_creds_provider *aws_creds_profile_new(const aws_config *c, aws_http *http);
aws_creds_provider *aws_creds_web_identity_new(const aws_config *c,
                                               aws_http *http);
aws_creds_provider *aws_creds_ecs_new(const aws_config *c, aws_http *http);
aws_creds_provider *aws_creds_imds_new(const aws_config *c, aws_http *http);
/* sts:AssumeRole signed with the credentials of *base (takes ownership of
 * *base and sets it to NULL).  external_id and session_name may be NULL. */
aws_creds_provider *aws_creds_assume_role_new(aws_creds_provider **base,
                                              const aws_config *c,
                                              aws_http *http,
                                              const char *role_arn,
                                              const char *external_id,
                                              const char *session_name);

/* ---- the chain --------------------------------------------------------- */

typedef struct aws_creds_chain aws_creds_chain;
typedef time_t (*aws_clock_fn)(void *ud);

/* Takes ownership of the n providers in order (the array is copied).
 * Caller owns result; free with aws_creds_chain_free().  NULL on failure. */
aws_creds_chain *aws_creds_chain_new(uv_loop_t *loop,
                                     aws_creds_provider **providers, size_t n);
/* env, web identity, profile files, ECS, IMDS. */
aws_creds_chain *aws_creds_chain_default(uv_loop_t *loop, const aws_config *c,
                                         aws_http *http);

/* Pending gets are dropped (their callbacks never run); the chain's uv
 * handle closes asynchronously: run the loop once more.  NULL is a no-op. */
void aws_creds_chain_free(aws_creds_chain *ch);

/* The chain as a provider (borrowed; e.g. as the base of AssumeRole,
 * which then must not free it: wrap with aws_creds_chain_as_provider()
 * only for borrowing providers).  fetch always answers asynchronously. */
aws_creds_provider *aws_creds_chain_as_provider(aws_creds_chain *ch);

/*
 * Credentials valid for at least another minute, or NULL.  Starts a
 * background refresh when they enter the refresh window.  Borrowed: valid
 * until control returns to the loop.
 */
const aws_creds *aws_creds_chain_current(aws_creds_chain *ch);

/* Get credentials; cb always runs later from the loop (never inside this
 * call).  0, or negative (cb never runs). */
int aws_creds_chain_get(aws_creds_chain *ch, aws_creds_cb cb, void *data);

/* Drop pending gets registered with exactly (cb, data); they never run. */
void aws_creds_chain_cancel(aws_creds_chain *ch, aws_creds_cb cb, void *data);

/* Seconds before expiration at which to refresh (default 300). */
void aws_creds_chain_set_refresh_window(aws_creds_chain *ch, int seconds);
/* Test seam: the clock (default time(NULL)). */
void aws_creds_chain_set_clock(aws_creds_chain *ch, aws_clock_fn fn, void *ud);
/* Name of the provider that answered last ("env", ...), or NULL. */
const char *aws_creds_chain_source(const aws_creds_chain *ch);

/* Parse "2016-02-25T06:03:31Z" (fractions allowed).  -1 on error. */
time_t aws_parse_iso8601(const char *s);

#endif
