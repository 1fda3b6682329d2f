/*
 * tg_curve.h - CURVE encryption and client authentication between stages.
 *
 * Owner: common.
 *
 * DESIGN
 * With `curve.enabled` every socket that binds is a CURVE server and
 * every socket that connects is a CURVE client (ZMTP CURVE: Curve25519
 * key exchange, then every frame encrypted and authenticated).  Each
 * process has one keypair (curve.secret_key_file), used as its server
 * key on the sockets it binds and as its client key on the sockets it
 * connects.  A client must know the server's public key
 * (curve.server_public_key / _file, one for the deployment, or one per
 * endpoint in curve.server_keys); a client that names the wrong server
 * key fails the handshake.
 *
 * Client authentication is ZAP (ZeroMQ RFC 27): the servers of a context
 * ask whoever is bound to inproc://zeromq.zap.01 in that context.  A
 * tg_curve binds a ZMQ_REP socket there and answers each request: 200
 * when the client's public key is in curve.authorized_keys (a file, or a
 * directory of files, of "public-key = <z85>" lines), 400 otherwise.
 * Without authorized_keys every client that knows the server key is
 * accepted (the traffic is still encrypted).  Rejections are logged as a
 * warning naming the peer address and key (rate-limited: a rejected
 * client reconnects every 100 ms) and counted in
 * trailguard_curve_rejected_total; accepted clients are logged at info.
 *
 * The ZAP socket is serviced from the daemon's libuv loop, like
 * tg_zsock: a uv_poll on its ZMQ_FD, draining requests while ZMQ_EVENTS
 * says POLLIN (the fd is edge-triggered).  No thread: the decision,
 * the log line and the metric all run on the loop thread, so nothing is
 * shared and nothing needs a lock; handshakes are rare, and one waits
 * only while the loop is busy with a callback (well under libzmq's 30 s
 * handshake timeout).  The poll handle is unreferenced: it never keeps
 * the loop alive.
 *
 * Key files are text, '#' comments and blank lines allowed:
 *   public-key = <40 Z85 characters>
 *   secret-key = <40 Z85 characters>
 * A keypair file needs the secret key (the public one is derived, and
 * checked when present) and must not be readable or writable by group
 * or others (under $CREDENTIALS_DIRECTORY, where systemd grants the
 * service's user access with an ACL that shows as group bits: others).  A public key file (server_public_key_file, authorized
 * keys) must not hold a secret key.
 *
 * Modules do not log, with one exception here: the ZAP handler logs its
 * own decisions (it is the only place that has the peer and the key).
 */
#ifndef TG_CURVE_H
#define TG_CURVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "tg_config.h"
#include "tg_metrics.h"
#include "tg_zsock.h"

#define TG_CURVE_KEY_Z85 40     /* characters of a Z85 key */
#define TG_CURVE_KEY_BIN 32     /* bytes of a binary key */

/* The top-level `curve:` section (part of tg_daemon_common; the schema
 * entries are in tg_daemon_common_table).  Strings owned by the struct
 * holding it (tg_conf_release). */
typedef struct tg_curve_config {
    bool enabled;
    char *secret_key_file;          /* this process's keypair */
    char *server_public_key;        /* Z85 key of the servers we connect to */
    char *server_public_key_file;   /* ... or a file holding it */
    tg_strlist server_keys;         /* "ENDPOINT=Z85KEY": per endpoint */
    char *authorized_keys;          /* file or directory; NULL: any client */
} tg_curve_config;

/* ---- key files --------------------------------------------------------- */

typedef struct tg_curve_keypair {
    char public_key[TG_CURVE_KEY_Z85 + 1];  /* "" when absent */
    char secret_key[TG_CURVE_KEY_Z85 + 1];  /* "" when absent */
} tg_curve_keypair;

/* 0 when `z85` is a NUL-terminated 40-character Z85 key, else -EINVAL.
 * bin (may be NULL) receives the 32 decoded bytes. */
int tg_curve_key_decode(const char *z85, uint8_t bin[TG_CURVE_KEY_BIN]);

/*
 * Parse key file text (len bytes; `name` is used in errors).  Fills the
 * keys found; at most one of each.  0, or -EINVAL with "name:line: ..."
 * in err (unknown entry, duplicate, bad key length or characters).
 */
int tg_curve_keyfile_parse(const char *text, size_t len, const char *name,
                           tg_curve_keypair *kp, char *err, size_t errlen);

/*
 * Load a keypair file: regular file, mode without group/other read or
 * write bits, secret key present; the public key is derived from the
 * secret and must match the file's when the file has one.  0 or negative
 * with detail (naming the file) in err.
 */
int tg_curve_keypair_load(const char *path, tg_curve_keypair *kp, char *err,
                          size_t errlen);

/* Load a public key file (exactly one public key, no secret key) into
 * out.  0 or negative with detail in err. */
int tg_curve_public_load(const char *path, char out[TG_CURVE_KEY_Z85 + 1],
                         char *err, size_t errlen);

/* Write a new keypair to `path` (created mode 0600; fails when it
 * exists) and, when pub_path is not NULL, the public key alone to
 * pub_path (0644).  kp receives the keys.  0 or negative with detail. */
int tg_curve_keypair_generate(tg_curve_keypair *kp);
int tg_curve_keypair_write(const tg_curve_keypair *kp, const char *path,
                           const char *pub_path, char *err, size_t errlen);

/* ---- authorized keys ------------------------------------------------- */

typedef struct tg_curve_authset tg_curve_authset;

/*
 * Load the public keys of a file, or of every regular file of a
 * directory (names starting with '.' skipped), each file in the key file
 * format with public keys only.  Caller owns result; free with
 * tg_curve_authset_free().  NULL with detail in err.
 */
tg_curve_authset *tg_curve_authset_load(const char *path, char *err,
                                        size_t errlen);

/* An empty set; keys added with tg_curve_authset_add (Z85).  Caller owns
 * result.  NULL when out of memory. */
tg_curve_authset *tg_curve_authset_new(void);
int tg_curve_authset_add(tg_curve_authset *set, const char *z85);

size_t tg_curve_authset_size(const tg_curve_authset *set);
bool tg_curve_authset_has(const tg_curve_authset *set,
                          const uint8_t key[TG_CURVE_KEY_BIN]);

/* NULL is a no-op. */
void tg_curve_authset_free(tg_curve_authset *set);

/*
 * The ZAP decision for one request: 200 when mechanism is "CURVE" and
 * the 32-byte credential is in `set` (or set is NULL: any client),
 * 400 for an unknown key or another mechanism, 500 for a malformed
 * request (credential not 32 bytes).  Pure; no I/O.
 */
int tg_curve_zap_decide(const tg_curve_authset *set, const char *mechanism,
                        size_t mechlen, const void *cred, size_t credlen);

/* ---- runtime ------------------------------------------------------------ */

typedef struct tg_curve tg_curve;

/*
 * Load the keys of `cfg` (borrowed for the call) and, when enabled, bind
 * the ZAP handler in zmq_ctx (borrowed; must outlive the tg_curve) and
 * register trailguard_curve_rejected_total in reg (borrowed; may be NULL;
 * must outlive the tg_curve).  Call before binding any socket of the
 * context.  With cfg->enabled false the result does nothing.  Caller owns
 * result; release with tg_curve_close() before zmq_ctx_term().  NULL on
 * error with detail in err.
 */
tg_curve *tg_curve_new(uv_loop_t *loop, void *zmq_ctx,
                       const tg_curve_config *cfg, tg_metrics *reg,
                       char *err, size_t errlen);

/* Load and check every key named by cfg without starting anything
 * (--check-config).  0, or negative with detail in err. */
int tg_curve_config_check(const tg_curve_config *cfg, char *err,
                          size_t errlen);

bool tg_curve_enabled(const tg_curve *c);

/* Make a socket to be bound a CURVE server: sets the curve fields of *o
 * (pointing into c: valid until tg_curve_close()).  No-op when disabled
 * or c is NULL. */
void tg_curve_server_opts(const tg_curve *c, tg_zsock_opts *o);

/*
 * Make a socket that connects to `endpoint` (NULL: the deployment-wide
 * server key) a CURVE client; *o as for tg_curve_server_opts.  Returns 0
 * (also when disabled or c is NULL), or -ENOKEY with detail in err when
 * no server key is configured for the endpoint.
 */
int tg_curve_client_opts(const tg_curve *c, tg_zsock_opts *o,
                         const char *endpoint, char *err, size_t errlen);

/*
 * tg_zsock_connect() with this process's client keys and the server key
 * of `endpoint` set first (zmq takes the options at connect time, so one
 * socket may connect to servers with different keys).  Plain
 * tg_zsock_connect() when disabled or c is NULL.  0, -ENOKEY when no
 * server key is known for the endpoint, or another -errno.
 */
int tg_curve_connect(const tg_curve *c, tg_zsock *s, const char *endpoint);

/* This process's public key (Z85), or NULL when disabled.  Borrowed. */
const char *tg_curve_public_key(const tg_curve *c);

/* Clients rejected and accepted by the ZAP handler since creation. */
uint64_t tg_curve_rejected(const tg_curve *c);
uint64_t tg_curve_accepted(const tg_curve *c);

/*
 * Close the ZAP socket now and wipe the secret key.  Memory is freed by
 * the poll handle's close callback when the handler ran, so run the loop
 * once more before uv_loop_close().  NULL is a no-op.
 */
void tg_curve_close(tg_curve *c);

#endif /* TG_CURVE_H */
