/*
 * fuzz_msg.c - fuzz target for the frame decoder (common/tg_msg.c).
 *
 * Decodes the input as a frame; when it decodes, walks everything the
 * accessors expose (records, errors, alerts, tags) and re-encodes an alerts
 * or ack frame from it, which must decode again.  Built as a libFuzzer
 * target with -Dfuzz=true; otherwise linked with the replay main below,
 * which runs every file of the directories (or files) given as arguments,
 * so the checked-in corpus (tests/fuzz/corpus/msg) runs as a test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_msg.h"

static void s_check_reencode(msgpack_sbuffer *sb)
{
    msgpack_zone z;
    tg_msg m;
    msgpack_zone_init(&z, 1024);
    if (tg_msg_decode(sb->data, sb->size, 0, &z, &m, NULL, 0) != 0)
        abort(); /* our own encoding must decode */
    msgpack_zone_destroy(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_zone z;
    tg_msg m;
    char err[128];
    msgpack_zone_init(&z, 4096);
    int rc = tg_msg_decode((const char *)data, size, 1u << 24, &z, &m, err, sizeof err);
    if (rc == 0) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        size_t sum = 0;
        if (m.kind == TG_MSG_BATCH) {
            for (uint32_t i = 0; i < m.u.batch.nrecords; i++) {
                tg_str raw;
                tg_msg_map map;
                tg_msg_batch_record(&m.u.batch, i, &raw, &map);
                sum += raw.n + map.bytes.n + (unsigned char)map.bytes.p[0] +
                       (unsigned char)map.bytes.p[map.bytes.n - 1];
                for (uint32_t k = 0; k < map.npairs; k++) {
                    uint32_t klen = map.pairs[2 * k], voff = map.pairs[2 * k + 1];
                    if (voff >= map.bytes.n)
                        abort(); /* values start inside the map */
                    if (klen != UINT32_MAX && klen >= voff)
                        abort(); /* a string key's bytes (after its header)
                                  * lie before its value */
                }
            }
            for (uint32_t i = 0; i < m.u.batch.nerrors; i++) {
                tg_msg_error e;
                tg_msg_error_get(m.u.batch.errors, i, &e);
                sum += e.file.n + e.message.n;
            }
            tg_msg_encode_alerts(&sb, &m.u.batch.hdr, m.u.batch.nrecords, tg_str_c("h"),
                                 NULL, 0, m.u.batch.errors, m.u.batch.nerrors);
            s_check_reencode(&sb);
        } else if (m.kind == TG_MSG_ALERTS) {
            tg_msg_alert a[1];
            for (uint32_t i = 0; i < m.u.alerts.nalerts; i++) {
                tg_msg_alert_get(&m.u.alerts, i, &a[0]);
                sum += a[0].id.n + a[0].ntags + a[0].raw.n;
                sb.size = 0;
                tg_msg_encode_alerts(&sb, &m.u.alerts.hdr, 1, m.u.alerts.ruleset, a, 1,
                                     m.u.alerts.errors, m.u.alerts.nerrors);
                s_check_reencode(&sb);
            }
        } else if (m.kind == TG_MSG_ACK) {
            tg_msg_encode_ack(&sb, &m.u.ack);
            s_check_reencode(&sb);
        } else if (m.kind == TG_MSG_JOB) {
            tg_msg_encode_job(&sb, &m.u.job);
            s_check_reencode(&sb);
        }
        msgpack_sbuffer_destroy(&sb);
        (void)sum;
    } else if (tg_msg_strerror(rc)[0] == '\0') {
        abort(); /* every code has a description */
    }
    msgpack_zone_destroy(&z);
    return 0;
}

#ifndef TG_LIBFUZZER
static int s_run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    if (!buf)
        return 1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            bad += s_run_file(argv[i]);
            files++;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], de->d_name);
            bad += s_run_file(p);
            files++;
        }
        closedir(d);
    }
    printf("%d inputs replayed\n", files);
    return bad ? 1 : (files ? 0 : 77);
}
#endif
