/*
 * test_tg_curve.c - tg_curve: key file parsing (good file, comments,
 * wrong key length, bad characters, unknown entries, duplicates), keypair
 * files (missing secret, group/world-accessible mode refused with the
 * file named, public key derived and checked), public key files,
 * authorized keys (file, directory, secret keys refused, empty refused),
 * the ZAP allow/deny decision, configuration checks and the curve.*
 * keys through tg_daemon_load_config (file and environment), and the
 * real ZAP handler over ipc://: an authorized client's frames arrive, an
 * unknown key and a plain client get nothing through, and the rejection
 * is counted in trailguard_curve_rejected_total.  Owner: common.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "tg_curve.h"
#include "tg_daemon.h"
#include "tg_test.h"
#include "tgt_loop.h"

static char *s_dir;
static char s_pub[41], s_sec[41];       /* a valid keypair */

static const char *s_path(const char *name)
{
    static char buf[4][512];
    static int i;
    char *p = buf[i++ & 3];
    snprintf(p, 512, "%s/%s", s_dir, name);
    return p;
}

static void s_write(const char *path, mode_t mode, const char *text)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
    ASSERT_EQ(fchmod(fd, mode), 0);
    close(fd);
}

/* A keypair file for pub/sec at name, mode 0600. */
static const char *s_keyfile(const char *name, const char *pub,
                             const char *sec)
{
    char text[256];
    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\n", pub,
             sec);
    const char *p = s_path(name);
    s_write(p, 0600, text);
    return p;
}

static void test_parse_good(void)
{
    char text[512], err[256];
    snprintf(text, sizeof text,
             "# a comment\n\n   public-key=%s  \n\t# indented comment\n"
             "secret-key   =   %s\n", s_pub, s_sec);
    tg_curve_keypair kp;
    ASSERT_EQ(tg_curve_keyfile_parse(text, strlen(text), "k", &kp, err,
                                     sizeof err), 0);
    ASSERT_STR_EQ(kp.public_key, s_pub);
    ASSERT_STR_EQ(kp.secret_key, s_sec);
    /* no trailing newline, public key only */
    snprintf(text, sizeof text, "public-key = %s", s_pub);
    ASSERT_EQ(tg_curve_keyfile_parse(text, strlen(text), "k", &kp, err,
                                     sizeof err), 0);
    ASSERT_STR_EQ(kp.public_key, s_pub);
    ASSERT_STR_EQ(kp.secret_key, "");
}

static void test_parse_bad(void)
{
    char text[512], err[256];
    tg_curve_keypair kp;
    /* 39 characters */
    snprintf(text, sizeof text, "# c\npublic-key = %.39s\n", s_pub);
    ASSERT_EQ(tg_curve_keyfile_parse(text, strlen(text), "k.pub", &kp, err,
                                     sizeof err), -EINVAL);
    ASSERT(strstr(err, "k.pub:2: public-key must be 40 Z85 characters, "
                  "not 39") != NULL);
    /* 41 characters */
    snprintf(text, sizeof text, "secret-key = %sA\n", s_sec);
    ASSERT_EQ(tg_curve_keyfile_parse(text, strlen(text), "k", &kp, err,
                                     sizeof err), -EINVAL);
    ASSERT(strstr(err, "k:1: secret-key must be 40") != NULL);
    /* a character outside the Z85 alphabet (',' and '"' are not in it) */
    char bad[41];
    memcpy(bad, s_pub, 41);
    bad[7] = ',';
    snprintf(text, sizeof text, "public-key = %s\n", bad);
    ASSERT_EQ(tg_curve_keyfile_parse(text, strlen(text), "k", &kp, err,
                                     sizeof err), -EINVAL);
    ASSERT(strstr(err, "k:1: public-key is not valid Z85") != NULL);
    /* unknown entry, missing '=', duplicate */
    snprintf(text, sizeof text, "private-key = %s\n", s_sec);
    ASSERT_EQ(tg_curve_keyfile_parse(text, strlen(text), "k", &kp, err,
                                     sizeof err), -EINVAL);
    ASSERT(strstr(err, "k:1: unknown entry 'private-key'") != NULL);
    /* (a random key may contain '=', which is in the Z85 alphabet) */
    snprintf(text, sizeof text, "just-a-word\n");
    ASSERT_EQ(tg_curve_keyfile_parse(text, strlen(text), "k", &kp, err,
                                     sizeof err), -EINVAL);
    ASSERT(strstr(err, "k:1: expected 'public-key = KEY'") != NULL);
    snprintf(text, sizeof text, "public-key = %s\npublic-key = %s\n", s_pub,
             s_pub);
    ASSERT_EQ(tg_curve_keyfile_parse(text, strlen(text), "k", &kp, err,
                                     sizeof err), -EINVAL);
    ASSERT(strstr(err, "k:2: second public-key") != NULL);
}

static void test_keypair_load(void)
{
    char err[512];
    tg_curve_keypair kp;
    const char *good = s_keyfile("good.key", s_pub, s_sec);
    ASSERT_EQ(tg_curve_keypair_load(good, &kp, err, sizeof err), 0);
    ASSERT_STR_EQ(kp.public_key, s_pub);
    ASSERT_STR_EQ(kp.secret_key, s_sec);

    /* secret only: the public key is derived */
    char text[256];
    snprintf(text, sizeof text, "secret-key = %s\n", s_sec);
    const char *sonly = s_path("sonly.key");
    s_write(sonly, 0600, text);
    ASSERT_EQ(tg_curve_keypair_load(sonly, &kp, err, sizeof err), 0);
    ASSERT_STR_EQ(kp.public_key, s_pub);

    /* missing secret */
    snprintf(text, sizeof text, "public-key = %s\n", s_pub);
    const char *pubonly = s_path("pubonly.key");
    s_write(pubonly, 0600, text);
    ASSERT(tg_curve_keypair_load(pubonly, &kp, err, sizeof err) < 0);
    ASSERT(strstr(err, "pubonly.key: no secret-key") != NULL);

    /* permissive mode bits: refused, naming the file and the mode */
    const mode_t modes[] = {0644, 0640, 0604, 0620, 0602};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const char *loose = s_keyfile("loose.key", s_pub, s_sec);
        ASSERT_EQ(chmod(loose, modes[i]), 0);
        ASSERT_EQ(tg_curve_keypair_load(loose, &kp, err, sizeof err),
                  -EPERM);
        ASSERT(strstr(err, "secret key file ") != NULL);
        ASSERT(strstr(err, "loose.key is accessible by group or others") !=
               NULL);
        char m[16];
        snprintf(m, sizeof m, "mode %04o", (unsigned)modes[i]);
        ASSERT(strstr(err, m) != NULL);
        ASSERT_STR_EQ(kp.secret_key, "");   /* nothing left behind */
    }
    /* a systemd credential: group bits come from its ACL mask */
    const char *cred = s_keyfile("cred.key", s_pub, s_sec);
    ASSERT_EQ(chmod(cred, 0640), 0);
    setenv("CREDENTIALS_DIRECTORY", s_dir, 1);
    ASSERT_EQ(tg_curve_keypair_load(cred, &kp, err, sizeof err), 0);
    ASSERT_EQ(chmod(cred, 0644), 0);
    ASSERT_EQ(tg_curve_keypair_load(cred, &kp, err, sizeof err), -EPERM);
    unsetenv("CREDENTIALS_DIRECTORY");
    ASSERT_EQ(chmod(cred, 0640), 0);
    ASSERT_EQ(tg_curve_keypair_load(cred, &kp, err, sizeof err), -EPERM);
    /* 0400 is fine */
    const char *ro = s_keyfile("ro.key", s_pub, s_sec);
    ASSERT_EQ(chmod(ro, 0400), 0);
    ASSERT_EQ(tg_curve_keypair_load(ro, &kp, err, sizeof err), 0);

    /* a public key that is not the secret's */
    char opub[41], osec[41];
    ASSERT_EQ(zmq_curve_keypair(opub, osec), 0);
    const char *mix = s_keyfile("mix.key", opub, s_sec);
    ASSERT(tg_curve_keypair_load(mix, &kp, err, sizeof err) < 0);
    ASSERT(strstr(err, "public-key does not belong to secret-key") != NULL);

    /* missing file, directory */
    ASSERT_EQ(tg_curve_keypair_load(s_path("nope.key"), &kp, err, sizeof err),
              -ENOENT);
    ASSERT(strstr(err, "nope.key: No such file") != NULL);
    ASSERT(tg_curve_keypair_load(s_dir, &kp, err, sizeof err) < 0);
}

static void test_public_load_and_write(void)
{
    char err[512], out[41];
    const char *kp_path = s_path("gen.key"), *pub_path = s_path("gen.key.pub");
    tg_curve_keypair kp, back;
    ASSERT_EQ(tg_curve_keypair_generate(&kp), 0);
    ASSERT_EQ(tg_curve_keypair_write(&kp, kp_path, pub_path, err, sizeof err),
              0);
    struct stat st;
    ASSERT_EQ(stat(kp_path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);
    ASSERT_EQ(tg_curve_keypair_load(kp_path, &back, err, sizeof err), 0);
    ASSERT_STR_EQ(back.public_key, kp.public_key);
    ASSERT_STR_EQ(back.secret_key, kp.secret_key);
    ASSERT_EQ(tg_curve_public_load(pub_path, out, err, sizeof err), 0);
    ASSERT_STR_EQ(out, kp.public_key);
    /* never overwrites */
    ASSERT_EQ(tg_curve_keypair_write(&kp, kp_path, NULL, err, sizeof err),
              -EEXIST);
    /* a keypair file is not a public key file */
    ASSERT(tg_curve_public_load(kp_path, out, err, sizeof err) < 0);
    ASSERT(strstr(err, "holds a secret-key") != NULL);
    const char *empty = s_path("empty.pub");
    s_write(empty, 0644, "# nothing\n");
    ASSERT(tg_curve_public_load(empty, out, err, sizeof err) < 0);
    ASSERT(strstr(err, "empty.pub: no public-key") != NULL);
}

static void test_authset(void)
{
    char err[512], k1[41], s1[41], k2[41], s2[41], k3[41], s3[41];
    ASSERT_EQ(zmq_curve_keypair(k1, s1), 0);
    ASSERT_EQ(zmq_curve_keypair(k2, s2), 0);
    ASSERT_EQ(zmq_curve_keypair(k3, s3), 0);
    uint8_t b1[32], b2[32], b3[32];
    ASSERT_EQ(tg_curve_key_decode(k1, b1), 0);
    ASSERT_EQ(tg_curve_key_decode(k2, b2), 0);
    ASSERT_EQ(tg_curve_key_decode(k3, b3), 0);

    /* one file, several keys */
    char text[512];
    snprintf(text, sizeof text, "# clients\npublic-key = %s\n"
             "public-key = %s\n", k1, k2);
    const char *f = s_path("clients.keys");
    s_write(f, 0644, text);
    tg_curve_authset *set = tg_curve_authset_load(f, err, sizeof err);
    ASSERT_NOT_NULL(set);
    ASSERT_EQ(tg_curve_authset_size(set), 2);
    ASSERT(tg_curve_authset_has(set, b1));
    ASSERT(tg_curve_authset_has(set, b2));
    ASSERT(!tg_curve_authset_has(set, b3));

    /* the decision */
    ASSERT_EQ(tg_curve_zap_decide(set, "CURVE", 5, b1, 32), 200);
    ASSERT_EQ(tg_curve_zap_decide(set, "CURVE", 5, b3, 32), 400);
    ASSERT_EQ(tg_curve_zap_decide(NULL, "CURVE", 5, b3, 32), 200);
    ASSERT_EQ(tg_curve_zap_decide(set, "NULL", 4, "", 0), 400);
    ASSERT_EQ(tg_curve_zap_decide(NULL, "PLAIN", 5, "x", 1), 400);
    ASSERT_EQ(tg_curve_zap_decide(set, "CURVE", 5, b1, 31), 500);
    tg_curve_authset_free(set);

    /* a directory: every regular file, dot files skipped */
    char d[512];
    snprintf(d, sizeof d, "%s/authorized.d", s_dir);
    ASSERT_EQ(mkdir(d, 0755), 0);
    char p[600];
    snprintf(text, sizeof text, "public-key = %s\n", k1);
    snprintf(p, sizeof p, "%s/parser.pub", d);
    s_write(p, 0644, text);
    snprintf(text, sizeof text, "public-key = %s\n", k3);
    snprintf(p, sizeof p, "%s/evaluator.pub", d);
    s_write(p, 0644, text);
    snprintf(p, sizeof p, "%s/.hidden", d);
    s_write(p, 0644, "garbage\n");
    set = tg_curve_authset_load(d, err, sizeof err);
    ASSERT_NOT_NULL(set);
    ASSERT_EQ(tg_curve_authset_size(set), 2);
    ASSERT(tg_curve_authset_has(set, b1) && tg_curve_authset_has(set, b3));
    ASSERT(!tg_curve_authset_has(set, b2));
    tg_curve_authset_free(set);

    /* a secret key in an authorized file is refused */
    snprintf(text, sizeof text, "public-key = %s\nsecret-key = %s\n", k2, s2);
    snprintf(p, sizeof p, "%s/oops.key", d);
    s_write(p, 0600, text);
    ASSERT(tg_curve_authset_load(d, err, sizeof err) == NULL);
    ASSERT(strstr(err, "oops.key:2: a secret-key in an authorized keys "
                  "file") != NULL);
    /* empty and missing */
    const char *e = s_path("none.keys");
    s_write(e, 0644, "# nobody\n");
    ASSERT(tg_curve_authset_load(e, err, sizeof err) == NULL);
    ASSERT(strstr(err, "no public-key found") != NULL);
    ASSERT(tg_curve_authset_load(s_path("missing"), err, sizeof err) == NULL);
    ASSERT(strstr(err, "missing: No such file") != NULL);
}

static void test_config_check(void)
{
    char err[512];
    tg_curve_config c = {0};
    ASSERT_EQ(tg_curve_config_check(&c, err, sizeof err), 0);  /* disabled */
    c.enabled = true;
    ASSERT(tg_curve_config_check(&c, err, sizeof err) < 0);
    ASSERT(strstr(err, "curve.secret_key_file is not set") != NULL);
    c.secret_key_file = (char *)s_keyfile("cfg.key", s_pub, s_sec);
    ASSERT_EQ(tg_curve_config_check(&c, err, sizeof err), 0);
    c.server_public_key = s_pub;
    c.server_public_key_file = (char *)s_path("gen.key.pub");
    ASSERT(tg_curve_config_check(&c, err, sizeof err) < 0);
    ASSERT(strstr(err, "not both") != NULL);
    c.server_public_key_file = NULL;
    c.server_public_key = "short";
    ASSERT(tg_curve_config_check(&c, err, sizeof err) < 0);
    ASSERT(strstr(err, "curve.server_public_key: not a 40-character") != NULL);
    c.server_public_key = s_pub;
    char spec[128], *v[2] = {spec, NULL};
    snprintf(spec, sizeof spec, "tcp://10.0.0.1:7001 %s", s_pub);
    c.server_keys = (tg_strlist){v, 1};
    ASSERT(tg_curve_config_check(&c, err, sizeof err) < 0);
    ASSERT(strstr(err, "is not ENDPOINT=<40-character Z85 key>") != NULL);
    snprintf(spec, sizeof spec, "tcp://10.0.0.1:7001=%s", s_pub);
    ASSERT_EQ(tg_curve_config_check(&c, err, sizeof err), 0);
    c.authorized_keys = (char *)s_path("none.keys");
    ASSERT(tg_curve_config_check(&c, err, sizeof err) < 0);
    ASSERT(strstr(err, "curve.authorized_keys: ") != NULL);
}

/* Per-endpoint server keys and the missing-key error. */
static void test_client_opts(void)
{
    char err[512], okey[41], osec[41], spec[128], *v[2] = {spec, NULL};
    ASSERT_EQ(zmq_curve_keypair(okey, osec), 0);
    snprintf(spec, sizeof spec, "tcp://10.0.0.9:7003=%s", okey);
    uv_loop_t loop;
    uv_loop_init(&loop);
    void *ctx = zmq_ctx_new();
    tg_curve_config c = {.enabled = true,
                         .secret_key_file = (char *)s_keyfile("co.key", s_pub,
                                                              s_sec),
                         .server_keys = {v, 1}};
    tg_curve *cv = tg_curve_new(&loop, ctx, &c, NULL, err, sizeof err);
    ASSERT_NOT_NULL(cv);
    ASSERT_STR_EQ(tg_curve_public_key(cv), s_pub);
    tg_zsock_opts o = {0};
    ASSERT_EQ(tg_curve_client_opts(cv, &o, "tcp://10.0.0.9:7003", err,
                                   sizeof err), 0);
    ASSERT_STR_EQ(o.curve_serverkey, okey);
    ASSERT_STR_EQ(o.curve_public, s_pub);
    ASSERT(!o.curve_server);
    ASSERT_EQ(tg_curve_client_opts(cv, &o, "tcp://10.0.0.8:7003", err,
                                   sizeof err), -ENOKEY);
    ASSERT(strstr(err, "no server key for tcp://10.0.0.8:7003") != NULL);
    tg_zsock_opts so = {0};
    tg_curve_server_opts(cv, &so);
    ASSERT(so.curve_server);
    ASSERT_STR_EQ(so.curve_secret, s_sec);
    tg_curve_close(cv);

    /* disabled: nothing set, no error */
    tg_curve_config off = {0};
    cv = tg_curve_new(&loop, ctx, &off, NULL, err, sizeof err);
    ASSERT_NOT_NULL(cv);
    tg_zsock_opts none = {0};
    ASSERT_EQ(tg_curve_client_opts(cv, &none, "tcp://x:1", err, sizeof err), 0);
    tg_curve_server_opts(cv, &none);
    ASSERT(!none.curve_server && !none.curve_serverkey);
    ASSERT(tg_curve_public_key(cv) == NULL);
    tg_curve_close(cv);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
    zmq_ctx_term(ctx);
}

static const tg_daemon_info s_info = {"parser", "test", NULL};

/* The curve.* keys from the file and the environment. */
static void test_daemon_config(void)
{
    char err[512], text[1024];
    const char *key = s_keyfile("d.key", s_pub, s_sec);
    const char *cfgp = s_path("trailguard.yaml");
    snprintf(text, sizeof text,
             "curve:\n  enabled: true\n  secret_key_file: %s\n"
             "  server_public_key: '%s'\n"
             "  server_keys: ['tcp://10.0.0.1:7001=%s']\n", key, s_pub, s_pub);
    s_write(cfgp, 0644, text);
    tg_daemon_args a = {.config_path = cfgp};
    tg_daemon_common common;
    tg_conf_doc *doc = NULL;
    setenv("TRAILGUARD_CURVE_AUTHORIZED_KEYS", s_path("clients.keys"), 1);
    ASSERT_EQ(tg_daemon_load_config(&s_info, &a, &common, NULL, &doc, err,
                                    sizeof err), 0);
    ASSERT(common.curve.enabled);
    ASSERT_STR_EQ(common.curve.secret_key_file, key);
    ASSERT_STR_EQ(common.curve.server_public_key, s_pub);
    ASSERT_EQ(common.curve.server_keys.n, 1);
    ASSERT_STR_EQ(common.curve.authorized_keys, s_path("clients.keys"));
    tg_daemon_common_release(&common);
    tg_conf_doc_free(doc);
    /* a bad key file fails the configuration load (--check-config) */
    setenv("TRAILGUARD_CURVE_SECRET_KEY_FILE", s_path("nope.key"), 1);
    ASSERT(tg_daemon_load_config(&s_info, &a, &common, NULL, &doc, err,
                                 sizeof err) < 0);
    ASSERT(strstr(err, "curve.secret_key_file: ") != NULL);
    ASSERT(strstr(err, "nope.key") != NULL);
    tg_daemon_common_release(&common);
    /* disabled from the environment: no key is read */
    setenv("TRAILGUARD_CURVE_ENABLED", "false", 1);
    ASSERT_EQ(tg_daemon_load_config(&s_info, &a, &common, NULL, &doc, err,
                                    sizeof err), 0);
    ASSERT(!common.curve.enabled);
    tg_daemon_common_release(&common);
    tg_conf_doc_free(doc);
    unsetenv("TRAILGUARD_CURVE_ENABLED");
    unsetenv("TRAILGUARD_CURVE_SECRET_KEY_FILE");
    unsetenv("TRAILGUARD_CURVE_AUTHORIZED_KEYS");
}

/* ---- the ZAP handler, for real --------------------------------------- */

typedef struct s_rx {
    int from_good, from_bad, from_plain, from_other;
} s_rx;

static void s_on_recv(tg_zsock *s, const void *data, size_t len, void *ud)
{
    (void)s;
    s_rx *rx = ud;
    if (len == 4 && !memcmp(data, "good", 4))
        rx->from_good++;
    else if (len == 3 && !memcmp(data, "bad", 3))
        rx->from_bad++;
    else if (len == 5 && !memcmp(data, "plain", 5))
        rx->from_plain++;
    else
        rx->from_other++;
}

typedef struct s_wait {
    const tg_curve *cv;
    s_rx *rx;
    int good;
    uint64_t rejected;
} s_wait;

static bool s_waited(void *ud)
{
    s_wait *w = ud;
    return w->rx->from_good >= w->good &&
           tg_curve_rejected(w->cv) >= w->rejected;
}

/* A client process: its own context and tg_curve with its own keys. */
static tg_curve *s_client(uv_loop_t *loop, void *ctx, const char *name,
                          const char *pub, const char *sec)
{
    char err[512];
    tg_curve_config c = {.enabled = true,
                         .secret_key_file = (char *)s_keyfile(name, pub, sec),
                         .server_public_key = s_pub};
    tg_curve *cv = tg_curve_new(loop, ctx, &c, NULL, err, sizeof err);
    if (!cv)
        fprintf(stderr, "%s\n", err);
    ASSERT_NOT_NULL(cv);
    return cv;
}

static void test_zap_handler(void)
{
    char err[512], gpub[41], gsec[41], bpub[41], bsec[41], ep[300], text[128];
    ASSERT_EQ(zmq_curve_keypair(gpub, gsec), 0);
    ASSERT_EQ(zmq_curve_keypair(bpub, bsec), 0);
    snprintf(text, sizeof text, "public-key = %s\n", gpub);
    const char *auth = s_path("zap.keys");
    s_write(auth, 0644, text);
    snprintf(ep, sizeof ep, "ipc://%s/zap.sock", s_dir);

    uv_loop_t loop;
    uv_loop_init(&loop);
    void *sctx = zmq_ctx_new(), *gctx = zmq_ctx_new(), *bctx = zmq_ctx_new(),
         *pctx = zmq_ctx_new();
    tg_metrics *reg = tg_metrics_new();
    tg_curve_config sc = {.enabled = true,
                          .secret_key_file = (char *)s_keyfile("srv.key",
                                                               s_pub, s_sec),
                          .authorized_keys = (char *)auth};
    tg_curve *srv = tg_curve_new(&loop, sctx, &sc, reg, err, sizeof err);
    ASSERT_NOT_NULL(srv);
    tg_zsock_opts so = {0};
    tg_curve_server_opts(srv, &so);
    tg_zsock *pull = tg_zsock_new(&loop, sctx, ZMQ_PULL, ep, true, &so, err,
                                  sizeof err);
    ASSERT_NOT_NULL(pull);
    s_rx rx = {0};
    tg_zsock_on_recv(pull, s_on_recv, &rx);

    /* unknown key first, and a client without CURVE */
    tg_curve *bad = s_client(&loop, bctx, "bad.key", bpub, bsec);
    tg_zsock *bpush = tg_zsock_new(&loop, bctx, ZMQ_PUSH, NULL, false, NULL,
                                   err, sizeof err);
    ASSERT_NOT_NULL(bpush);
    ASSERT_EQ(tg_curve_connect(bad, bpush, ep), 0);
    ASSERT_EQ(tg_zsock_send(bpush, "bad", 3), 0);
    tg_zsock *ppush = tg_zsock_new(&loop, pctx, ZMQ_PUSH, ep, false, NULL,
                                   err, sizeof err);
    ASSERT_NOT_NULL(ppush);
    ASSERT_EQ(tg_zsock_send(ppush, "plain", 5), 0);
    s_wait w = {.cv = srv, .rx = &rx, .good = 0, .rejected = 1};
    ASSERT(tgt_run_until(&loop, s_waited, &w, 10000));

    /* the authorized client */
    tg_curve *good = s_client(&loop, gctx, "goodc.key", gpub, gsec);
    tg_zsock_opts co = {0};
    ASSERT_EQ(tg_curve_client_opts(good, &co, ep, err, sizeof err), 0);
    tg_zsock *gpush = tg_zsock_new(&loop, gctx, ZMQ_PUSH, ep, false, &co,
                                   err, sizeof err);
    ASSERT_NOT_NULL(gpush);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ(tg_zsock_send(gpush, "good", 4), 0);
    w.good = 3;
    w.rejected = 1;
    ASSERT(tgt_run_until(&loop, s_waited, &w, 10000));
    ASSERT_EQ(rx.from_good, 3);
    ASSERT_EQ(rx.from_bad, 0);
    ASSERT_EQ(rx.from_plain, 0);
    ASSERT_EQ(rx.from_other, 0);
    ASSERT(tg_curve_accepted(srv) >= 1);
    tg_metric *m = tg_metrics_counter(reg, "trailguard_curve_rejected_total",
                                      "x", NULL);
    ASSERT_U64_EQ((uint64_t)tg_metric_value(m), tg_curve_rejected(srv));
    char *page = NULL;
    size_t plen = 0;
    ASSERT_EQ(tg_metrics_render(reg, &page, &plen), 0);
    ASSERT(strstr(page, "trailguard_curve_rejected_total ") != NULL);
    free(page);

    tg_zsock_close(bpush);
    tg_zsock_close(ppush);
    tg_zsock_close(gpush);
    tg_zsock_close(pull);
    tg_curve_close(bad);
    tg_curve_close(good);
    tg_curve_close(srv);
    ASSERT_EQ(tgt_loop_fini(&loop), 0);
    zmq_ctx_term(sctx);
    zmq_ctx_term(gctx);
    zmq_ctx_term(bctx);
    zmq_ctx_term(pctx);
    tg_metrics_free(reg);
}

int main(void)
{
    tg_test_state st = {0};
    if (!zmq_has("curve"))
        TG_SKIP("libzmq built without CURVE");
    ASSERT_EQ(zmq_curve_keypair(s_pub, s_sec), 0);
    s_dir = tgt_tmpdir("curve");
    TG_RUN(&st, test_parse_good);
    TG_RUN(&st, test_parse_bad);
    TG_RUN(&st, test_keypair_load);
    TG_RUN(&st, test_public_load_and_write);
    TG_RUN(&st, test_authset);
    TG_RUN(&st, test_config_check);
    TG_RUN(&st, test_client_opts);
    TG_RUN(&st, test_daemon_config);
    TG_RUN(&st, test_zap_handler);
    tgt_rm_rf(s_dir);
    free(s_dir);
    TG_DONE(&st);
}
