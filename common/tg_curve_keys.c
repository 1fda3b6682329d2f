/*
 * tg_curve_keys.c - CURVE key files, the authorized key set and the ZAP
 * decision.  Part of the tg_curve module (see tg_curve.h); the runtime
 * (ZAP handler, socket options) is in tg_curve.c.
 *
 * Owner: common.
 *
 * DESIGN
 * Key files are small (64 KiB at most) and read whole.  The parser is
 * line based: "name = value", names public-key / secret-key; anything
 * else is an error with the line number, so a typo never silently drops
 * a key.  The authorized set is an array of binary keys searched
 * linearly: a deployment has a handful of clients and lookups happen
 * once per connection.
 */
#include "tg_curve.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_MAX_FILE (64 * 1024)

struct tg_curve_authset {
    uint8_t (*keys)[TG_CURVE_KEY_BIN];
    size_t n, cap;
};

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int tg_curve_key_decode(const char *z85, uint8_t bin[TG_CURVE_KEY_BIN])
{
    uint8_t tmp[TG_CURVE_KEY_BIN];
    if (!z85 || strlen(z85) != TG_CURVE_KEY_Z85)
        return -EINVAL;
    if (!zmq_z85_decode(bin ? bin : tmp, z85))
        return -EINVAL;
    return 0;
}

/* ---- parsing ------------------------------------------------------------ */

/* Trim [*a, *b) of blanks. */
static void s_trim(const char **a, const char **b)
{
    while (*a < *b && isspace((unsigned char)**a))
        (*a)++;
    while (*b > *a && isspace((unsigned char)(*b)[-1]))
        (*b)--;
}

/* One "name = value" line into kp. */
static int s_parse_line(const char *a, const char *b, const char *name,
                        int lineno, tg_curve_keypair *kp, char *err,
                        size_t errlen)
{
    const char *eq = memchr(a, '=', (size_t)(b - a));
    if (!eq) {
        s_fmt(err, errlen, "%s:%d: expected 'public-key = KEY' or "
              "'secret-key = KEY'", name, lineno);
        return -EINVAL;
    }
    const char *ka = a, *kb = eq, *va = eq + 1, *vb = b;
    s_trim(&ka, &kb);
    s_trim(&va, &vb);
    char *slot;
    size_t klen = (size_t)(kb - ka);
    if (klen == 10 && !memcmp(ka, "public-key", 10)) {
        slot = kp->public_key;
    } else if (klen == 10 && !memcmp(ka, "secret-key", 10)) {
        slot = kp->secret_key;
    } else {
        s_fmt(err, errlen, "%s:%d: unknown entry '%.*s' (public-key or "
              "secret-key)", name, lineno, (int)(klen > 40 ? 40 : klen), ka);
        return -EINVAL;
    }
    if (*slot) {
        s_fmt(err, errlen, "%s:%d: second %.10s", name, lineno, ka);
        return -EINVAL;
    }
    size_t vlen = (size_t)(vb - va);
    char key[TG_CURVE_KEY_Z85 + 1];
    if (vlen != TG_CURVE_KEY_Z85) {
        s_fmt(err, errlen, "%s:%d: %.10s must be %d Z85 characters, not %zu",
              name, lineno, ka, TG_CURVE_KEY_Z85, vlen);
        return -EINVAL;
    }
    memcpy(key, va, vlen);
    key[vlen] = '\0';
    if (tg_curve_key_decode(key, NULL) != 0) {
        s_fmt(err, errlen, "%s:%d: %.10s is not valid Z85", name, lineno, ka);
        return -EINVAL;
    }
    memcpy(slot, key, sizeof key);
    return 0;
}

int tg_curve_keyfile_parse(const char *text, size_t len, const char *name,
                           tg_curve_keypair *kp, char *err, size_t errlen)
{
    memset(kp, 0, sizeof *kp);
    const char *p = text, *end = text + len;
    int lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = nl ? nl : end;
        p = nl ? nl + 1 : end;
        lineno++;
        s_trim(&a, &b);
        if (a == b || *a == '#')
            continue;
        if (memchr(a, '\0', (size_t)(b - a))) {
            s_fmt(err, errlen, "%s:%d: NUL byte", name, lineno);
            return -EINVAL;
        }
        int rc = s_parse_line(a, b, name, lineno, kp, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Read a whole (small, regular) file; *mode gets st_mode.  Caller frees
 * *out (NUL-terminated). */
static int s_read_file(const char *path, char **out, size_t *len,
                       mode_t *mode, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        s_fmt(err, errlen, "%s: %s", path, strerror(e));
        if (fd >= 0)
            close(fd);
        return -e;
    }
    int rc = -EINVAL;
    char *buf = NULL;
    if (!S_ISREG(st.st_mode)) {
        s_fmt(err, errlen, "%s: not a regular file", path);
    } else if (st.st_size > S_MAX_FILE) {
        s_fmt(err, errlen, "%s: larger than %d bytes", path, S_MAX_FILE);
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        s_fmt(err, errlen, "%s: out of memory", path);
        rc = -ENOMEM;
    } else {
        ssize_t n = read(fd, buf, (size_t)st.st_size);
        if (n < 0) {
            rc = -errno;
            s_fmt(err, errlen, "%s: %s", path, strerror(errno));
        } else {
            buf[n] = '\0';
            *out = buf;
            *len = (size_t)n;
            *mode = st.st_mode;
            buf = NULL;
            rc = 0;
        }
    }
    free(buf);
    close(fd);
    return rc;
}

static void s_wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

/* The mode bits a secret key file must not have.  A systemd credential
 * (LoadCredential=, under $CREDENTIALS_DIRECTORY) is readable by the
 * service's user only, but systemd grants that with an ACL entry, whose
 * mask shows up as group bits: group bits are not held against it. */
static mode_t s_forbidden_bits(const char *path)
{
    const char *cd = getenv("CREDENTIALS_DIRECTORY");
    size_t n = cd ? strlen(cd) : 0;
    if (n && !strncmp(path, cd, n) && path[n] == '/' && !strstr(path, "/../"))
        return S_IROTH | S_IWOTH;
    return S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH;
}

int tg_curve_keypair_load(const char *path, tg_curve_keypair *kp, char *err,
                          size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    mode_t mode = 0;
    memset(kp, 0, sizeof *kp);
    int rc = s_read_file(path, &text, &len, &mode, err, errlen);
    if (rc != 0)
        return rc;
    if (mode & s_forbidden_bits(path)) {
        s_fmt(err, errlen, "secret key file %s is accessible by group or "
              "others (mode %04o); refusing it: chmod 600 %s", path,
              (unsigned)(mode & 07777), path);
        rc = -EPERM;
    } else {
        rc = tg_curve_keyfile_parse(text, len, path, kp, err, errlen);
    }
    s_wipe(text, len);
    free(text);
    if (rc != 0)
        goto fail;
    char derived[TG_CURVE_KEY_Z85 + 1];
    rc = -EINVAL;
    if (!kp->secret_key[0]) {
        s_fmt(err, errlen, "%s: no secret-key (is this a public key file?)",
              path);
    } else if (zmq_curve_public(derived, kp->secret_key) != 0) {
        s_fmt(err, errlen, "%s: cannot derive the public key: %s", path,
              zmq_strerror(errno));
    } else if (kp->public_key[0] && strcmp(derived, kp->public_key) != 0) {
        s_fmt(err, errlen, "%s: public-key does not belong to secret-key",
              path);
    } else {
        memcpy(kp->public_key, derived, sizeof derived);
        return 0;
    }
fail:
    s_wipe(kp, sizeof *kp);
    return rc;
}

/* Parse a public-only key file into kp (public_key may be ""). */
static int s_public_file(const char *path, tg_curve_keypair *kp, char *err,
                         size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    mode_t mode = 0;
    int rc = s_read_file(path, &text, &len, &mode, err, errlen);
    if (rc != 0)
        return rc;
    rc = tg_curve_keyfile_parse(text, len, path, kp, err, errlen);
    s_wipe(text, len);
    free(text);
    if (rc == 0 && kp->secret_key[0]) {
        s_wipe(kp, sizeof *kp);
        s_fmt(err, errlen, "%s: holds a secret-key; give the public key "
              "file (keygen writes it as FILE.pub)", path);
        rc = -EINVAL;
    }
    return rc;
}

int tg_curve_public_load(const char *path, char out[TG_CURVE_KEY_Z85 + 1],
                         char *err, size_t errlen)
{
    tg_curve_keypair kp;
    int rc = s_public_file(path, &kp, err, errlen);
    if (rc != 0)
        return rc;
    if (!kp.public_key[0]) {
        s_fmt(err, errlen, "%s: no public-key", path);
        return -EINVAL;
    }
    memcpy(out, kp.public_key, sizeof kp.public_key);
    return 0;
}

/* ---- generating ----------------------------------------------------- */

int tg_curve_keypair_generate(tg_curve_keypair *kp)
{
    memset(kp, 0, sizeof *kp);
    if (zmq_curve_keypair(kp->public_key, kp->secret_key) != 0)
        return -errno;
    return 0;
}

static int s_write_new(const char *path, mode_t mode, const char *text,
                       char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        s_fmt(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int e = 0;
    if (n != (ssize_t)len)
        e = n < 0 ? errno : EIO;
    else if (fchmod(fd, mode) != 0 || fsync(fd) != 0)
        e = errno;      /* fchmod: the umask must not widen nor narrow it */
    if (close(fd) != 0 && !e)
        e = errno;
    if (e) {
        s_fmt(err, errlen, "%s: %s", path, strerror(e));
        unlink(path);
        return -e;
    }
    return 0;
}

int tg_curve_keypair_write(const tg_curve_keypair *kp, const char *path,
                           const char *pub_path, char *err, size_t errlen)
{
    char text[256];
    snprintf(text, sizeof text,
             "# trailguard CURVE keypair (keep secret: mode 0600)\n"
             "public-key = %s\nsecret-key = %s\n",
             kp->public_key, kp->secret_key);
    int rc = s_write_new(path, 0600, text, err, errlen);
    s_wipe(text, sizeof text);
    if (rc != 0 || !pub_path)
        return rc;
    snprintf(text, sizeof text, "# trailguard CURVE public key\n"
             "public-key = %s\n", kp->public_key);
    rc = s_write_new(pub_path, 0644, text, err, errlen);
    if (rc != 0)
        unlink(path);
    return rc;
}

/* ---- authorized keys ------------------------------------------------ */

tg_curve_authset *tg_curve_authset_new(void)
{
    return calloc(1, sizeof(tg_curve_authset));
}

void tg_curve_authset_free(tg_curve_authset *set)
{
    if (!set)
        return;
    free(set->keys);
    free(set);
}

static int s_add_bin(tg_curve_authset *set, const uint8_t *bin)
{
    if (tg_curve_authset_has(set, bin))
        return 0;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        void *k = realloc(set->keys, cap * sizeof *set->keys);
        if (!k)
            return -ENOMEM;
        set->keys = k;
        set->cap = cap;
    }
    memcpy(set->keys[set->n++], bin, TG_CURVE_KEY_BIN);
    return 0;
}

int tg_curve_authset_add(tg_curve_authset *set, const char *z85)
{
    uint8_t bin[TG_CURVE_KEY_BIN];
    if (tg_curve_key_decode(z85, bin) != 0)
        return -EINVAL;
    return s_add_bin(set, bin);
}

size_t tg_curve_authset_size(const tg_curve_authset *set)
{
    return set ? set->n : 0;
}

bool tg_curve_authset_has(const tg_curve_authset *set,
                          const uint8_t key[TG_CURVE_KEY_BIN])
{
    for (size_t i = 0; set && i < set->n; i++)
        if (!memcmp(set->keys[i], key, TG_CURVE_KEY_BIN))
            return true;
    return false;
}

/* Every public-key line of one file (a file may list several). */
static int s_authset_file(tg_curve_authset *set, const char *path, char *err,
                          size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    mode_t mode = 0;
    int rc = s_read_file(path, &text, &len, &mode, err, errlen);
    if (rc != 0)
        return rc;
    /* parse one line at a time so that a file may hold many keys */
    const char *p = text, *end = text + len;
    int lineno = 0;
    while (rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = nl ? nl : end;
        p = nl ? nl + 1 : end;
        lineno++;
        s_trim(&a, &b);
        if (a == b || *a == '#')
            continue;
        tg_curve_keypair kp = {{0}, {0}};
        rc = s_parse_line(a, b, path, lineno, &kp, err, errlen);
        if (rc == 0 && kp.secret_key[0]) {
            s_fmt(err, errlen, "%s:%d: a secret-key in an authorized keys "
                  "file; list public keys only (FILE.pub)", path, lineno);
            rc = -EINVAL;
        } else if (rc == 0) {
            rc = tg_curve_authset_add(set, kp.public_key);
        }
        s_wipe(&kp, sizeof kp);
    }
    s_wipe(text, len);
    free(text);
    return rc;
}

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of a directory, in name order (errors name the
 * first bad file whatever readdir's order). */
static int s_authset_dir(tg_curve_authset *set, const char *path, char *err,
                         size_t errlen)
{
    DIR *d = opendir(path);
    if (!d) {
        int e = errno;
        s_fmt(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(names, cap * sizeof *v);
            if (!v) {
                rc = -ENOMEM;
                break;
            }
            names = v;
        }
        if (!(names[n] = strdup(de->d_name)))
            rc = -ENOMEM;
        else
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, s_name_cmp);
    if (rc == -ENOMEM)
        s_fmt(err, errlen, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        char file[4096];
        struct stat st;
        snprintf(file, sizeof file, "%s/%s", path, names[i]);
        if (rc == 0 && stat(file, &st) == 0 && S_ISREG(st.st_mode))
            rc = s_authset_file(set, file, err, errlen);
        free(names[i]);
    }
    free(names);
    return rc;
}

tg_curve_authset *tg_curve_authset_load(const char *path, char *err,
                                        size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        s_fmt(err, errlen, "authorized keys %s: %s", path, strerror(errno));
        return NULL;
    }
    tg_curve_authset *set = tg_curve_authset_new();
    if (!set) {
        s_fmt(err, errlen, "out of memory");
        return NULL;
    }
    int rc = S_ISDIR(st.st_mode) ? s_authset_dir(set, path, err, errlen)
                                 : s_authset_file(set, path, err, errlen);
    if (rc == 0 && set->n == 0) {
        s_fmt(err, errlen, "authorized keys %s: no public-key found (no "
              "client could connect)", path);
        rc = -EINVAL;
    }
    if (rc != 0) {
        tg_curve_authset_free(set);
        return NULL;
    }
    return set;
}

int tg_curve_zap_decide(const tg_curve_authset *set, const char *mechanism,
                        size_t mechlen, const void *cred, size_t credlen)
{
    if (mechlen != 5 || memcmp(mechanism, "CURVE", 5) != 0)
        return 400;
    if (!cred || credlen != TG_CURVE_KEY_BIN)
        return 500;
    if (!set)
        return 200;
    return tg_curve_authset_has(set, cred) ? 200 : 400;
}
