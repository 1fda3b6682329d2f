/*
 * cl_keygen.c - `trailguard keygen [--out FILE]` (see cl_keygen.h).
 */
#include "cl_keygen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_curve.h"

static void s_usage(FILE *f)
{
    fprintf(f,
        "Usage: trailguard keygen [--out FILE]\n"
        "Make a CURVE keypair for curve.secret_key_file.\n\n"
        "  -o, --out FILE  write the keypair to FILE (mode 0600, must not\n"
        "                  exist) and the public key to FILE.pub; print the\n"
        "                  public key\n"
        "  -h, --help      this text\n"
        "Without --out the keypair file is written to stdout.\n");
}

static int s_write(const char *out)
{
    tg_curve_keypair kp;
    char err[512];
    if (tg_curve_keypair_generate(&kp) != 0) {
        fprintf(stderr, "trailguard keygen: zmq_curve_keypair failed "
                "(libzmq without CURVE?)\n");
        return 1;
    }
    int rc = 0;
    if (!out) {
        printf("# trailguard CURVE keypair (keep secret: mode 0600)\n"
               "public-key = %s\nsecret-key = %s\n", kp.public_key,
               kp.secret_key);
    } else {
        size_t n = strlen(out) + 5;
        char *pub = malloc(n);
        if (!pub) {
            fprintf(stderr, "trailguard keygen: out of memory\n");
            return 1;
        }
        snprintf(pub, n, "%s.pub", out);
        if (tg_curve_keypair_write(&kp, out, pub, err, sizeof err) != 0) {
            fprintf(stderr, "trailguard keygen: %s\n", err);
            rc = 1;
        } else {
            printf("public-key = %s\n", kp.public_key);
        }
        free(pub);
    }
    explicit_bzero(&kp, sizeof kp);
    return rc;
}

int cl_keygen_main(int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            s_usage(stdout);
            return 0;
        }
        if (!strncmp(a, "--out=", 6)) {
            out = a + 6;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, "trailguard keygen: unexpected argument '%s'\n", a);
            s_usage(stderr);
            return 2;
        }
    }
    if (out && !*out) {
        fprintf(stderr, "trailguard keygen: --out needs a file name\n");
        return 2;
    }
    return s_write(out);
}
