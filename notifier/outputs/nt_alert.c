/*
 * nt_alert.c - priority names and the packed alert format.
 *
 * Owner: notifier outputs.
 *
 * Packed layout (little-endian, no padding):
 *   "NTA1" | i32 priority | u64 time_ns | u32 ntags
 *   then strings: id, rule, source, output, json, fields_json, record,
 *   hostname, tag[0..ntags-1]; each as u32 length (0xffffffff = NULL)
 *   followed by the bytes and one NUL.
 * The NUL makes every unpacked string usable as a C string in place.
 */
#include "nt_alert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NT_PACK_NULL 0xffffffffu

static const char *const s_prio_names[] = {
    "Emergency", "Alert", "Critical", "Error",
    "Warning", "Notice", "Informational", "Debug",
};

int nt_prio_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < 8; i++)
        if (strcasecmp(name, s_prio_names[i]) == 0)
            return i;
    if (strcasecmp(name, "info") == 0)
        return NT_PRIO_INFORMATIONAL;
    return -1;
}

const char *nt_prio_name(int prio)
{
    return (prio >= 0 && prio < 8) ? s_prio_names[prio] : "Unknown";
}

int nt_alert_has_tag(const nt_alert *a, const char *t)
{
    size_t tl = strlen(t);
    for (size_t i = 0; i < a->ntags; i++)
        if (a->tags[i].p && a->tags[i].n == tl &&
            memcmp(a->tags[i].p, t, tl) == 0)
            return 1;
    return 0;
}

static size_t s_str_size(nt_str s)
{
    return 4 + (s.p ? s.n + 1 : 0);
}

static uint8_t *s_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *s_put_str(uint8_t *p, nt_str s)
{
    if (!s.p)
        return s_put_u32(p, NT_PACK_NULL);
    p = s_put_u32(p, (uint32_t)s.n);
    memcpy(p, s.p, s.n);
    p[s.n] = 0;
    return p + s.n + 1;
}

int nt_alert_pack(const nt_alert *a, uint8_t **buf, size_t *len)
{
    const nt_str s[8] = {a->id, a->rule, a->source, a->output, a->json,
                         a->fields_json, a->record, a->hostname};
    size_t total = 4 + 4 + 8 + 4;
    for (int i = 0; i < 8; i++) {
        if (s[i].p && s[i].n >= NT_PACK_NULL)
            return -EINVAL;
        total += s_str_size(s[i]);
    }
    for (size_t i = 0; i < a->ntags; i++)
        total += s_str_size(a->tags[i]);
    uint8_t *b = malloc(total);
    if (!b)
        return -ENOMEM;
    uint8_t *p = b;
    memcpy(p, "NTA1", 4);
    p += 4;
    p = s_put_u32(p, (uint32_t)a->priority);
    p = s_put_u32(p, (uint32_t)a->time_ns);
    p = s_put_u32(p, (uint32_t)(a->time_ns >> 32));
    p = s_put_u32(p, (uint32_t)a->ntags);
    for (int i = 0; i < 8; i++)
        p = s_put_str(p, s[i]);
    for (size_t i = 0; i < a->ntags; i++)
        p = s_put_str(p, a->tags[i]);
    *buf = b;
    *len = total;
    return 0;
}

static int s_get_u32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    if (end - *p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++)
        *v |= (uint32_t)(*p)[i] << (8 * i);
    *p += 4;
    return 0;
}

static int s_get_str(const uint8_t **p, const uint8_t *end, nt_str *s)
{
    uint32_t n;
    if (s_get_u32(p, end, &n) < 0)
        return -1;
    if (n == NT_PACK_NULL) {
        s->p = NULL;
        s->n = 0;
        return 0;
    }
    if ((size_t)(end - *p) < (size_t)n + 1 || (*p)[n] != 0)
        return -1;
    s->p = (const char *)*p;
    s->n = n;
    *p += (size_t)n + 1;
    return 0;
}

int nt_alert_unpack(const uint8_t *buf, size_t len, nt_alert_unpacked *out)
{
    const uint8_t *p = buf, *end = buf + len;
    uint32_t prio, tlo, thi, ntags;
    memset(out, 0, sizeof(*out));
    if (len < 4 || memcmp(buf, "NTA1", 4) != 0)
        return -EINVAL;
    p += 4;
    if (s_get_u32(&p, end, &prio) || s_get_u32(&p, end, &tlo) ||
        s_get_u32(&p, end, &thi) || s_get_u32(&p, end, &ntags))
        return -EINVAL;
    if (ntags > len / 4)
        return -EINVAL;
    nt_alert *a = &out->a;
    a->priority = (int)prio;
    a->time_ns = ((uint64_t)thi << 32) | tlo;
    nt_str *dst[8] = {&a->id, &a->rule, &a->source, &a->output,
                      &a->json, &a->fields_json, &a->record, &a->hostname};
    for (int i = 0; i < 8; i++)
        if (s_get_str(&p, end, dst[i]) < 0)
            return -EINVAL;
    if (ntags) {
        out->tagv = calloc(ntags, sizeof(nt_str));
        if (!out->tagv)
            return -ENOMEM;
        for (uint32_t i = 0; i < ntags; i++) {
            if (s_get_str(&p, end, &out->tagv[i]) < 0) {
                nt_alert_unpacked_fini(out);
                return -EINVAL;
            }
        }
    }
    a->tags = out->tagv;
    a->ntags = ntags;
    if (p != end) {
        nt_alert_unpacked_fini(out);
        return -EINVAL;
    }
    return 0;
}

void nt_alert_unpacked_fini(nt_alert_unpacked *u)
{
    if (!u)
        return;
    free(u->tagv);
    u->tagv = NULL;
    u->a.tags = NULL;
    u->a.ntags = 0;
}
