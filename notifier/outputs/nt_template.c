/*
 * nt_template.c - {{placeholder}} JSON templates (see nt_template.h).
 *
 * Owner: notifier outputs.
 */
#include "nt_template.h"

#include "nt_http.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const s_names[] = {
    "id", "rule", "priority", "source", "output", "hostname", "time",
    "tags", "json", "output_fields", "record", "time_ns", "severity", NULL,
};

static int s_lookup(const char *p, size_t n)
{
    for (int i = 0; s_names[i]; i++)
        if (strlen(s_names[i]) == n && memcmp(s_names[i], p, n) == 0)
            return i;
    return -1;
}

int nt_template_check(const char *t, char *err, size_t errlen)
{
    const char *p = t;
    while ((p = strstr(p, "{{"))) {
        const char *e = strstr(p + 2, "}}");
        if (!e) {
            snprintf(err, errlen, "unterminated '{{' in template");
            return -EINVAL;
        }
        if (s_lookup(p + 2, (size_t)(e - p - 2)) < 0) {
            snprintf(err, errlen, "unknown template placeholder '%.*s'",
                     (int)(e - p - 2), p + 2);
            return -EINVAL;
        }
        p = e + 2;
    }
    return 0;
}

void nt_json_escape(aws_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        aws_buf_append(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': aws_buf_puts(out, "\\\""); break;
        case '\\': aws_buf_puts(out, "\\\\"); break;
        case '\n': aws_buf_puts(out, "\\n"); break;
        case '\r': aws_buf_puts(out, "\\r"); break;
        case '\t': aws_buf_puts(out, "\\t"); break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            aws_buf_puts(out, u);
        }
        }
    }
    aws_buf_append(out, s + run, n - run);
}

void nt_alert_fields(const nt_alert *a, aws_buf *out)
{
    if (a->fields_json.p && a->fields_json.n) {
        aws_buf_append(out, a->fields_json.p, a->fields_json.n);
        return;
    }
    json_t *j = a->json.p ? json_loadb(a->json.p, a->json.n, 0, NULL) : NULL;
    json_t *f = json_object_get(j, "output_fields");
    char *s = f ? json_dumps(f, JSON_COMPACT) : NULL;
    aws_buf_puts(out, s ? s : "{}");
    free(s);
    json_decref(j);
}

static void s_str(aws_buf *out, nt_str s)
{
    if (s.p)
        nt_json_escape(out, s.p, s.n);
}

static void s_value(int k, const nt_alert *a, aws_buf *out)
{
    char buf[64];
    switch (k) {
    case 0: s_str(out, a->id); break;
    case 1: s_str(out, a->rule); break;
    case 2: aws_buf_puts(out, nt_prio_name(a->priority)); break;
    case 3: s_str(out, a->source); break;
    case 4: s_str(out, a->output); break;
    case 5: s_str(out, a->hostname); break;
    case 6:
        nt_time_iso(a->time_ns, 1, buf, sizeof(buf));
        aws_buf_puts(out, buf);
        break;
    case 7:
        aws_buf_putc(out, '[');
        for (size_t i = 0; i < a->ntags; i++) {
            aws_buf_puts(out, i ? ",\"" : "\"");
            s_str(out, a->tags[i]);
            aws_buf_putc(out, '"');
        }
        aws_buf_putc(out, ']');
        break;
    case 8:
        if (a->json.p)
            aws_buf_append(out, a->json.p, a->json.n);
        else
            aws_buf_puts(out, "null");
        break;
    case 9: nt_alert_fields(a, out); break;
    case 10:
        if (a->record.p && a->record.n)
            aws_buf_append(out, a->record.p, a->record.n);
        else
            aws_buf_puts(out, "null");
        break;
    case 11: aws_buf_printf(out, "%" PRIu64, a->time_ns); break;
    case 12: aws_buf_printf(out, "%d", a->priority); break;
    }
}

void nt_template_render(const char *t, const nt_alert *a, aws_buf *out)
{
    const char *p = t, *q;
    while ((q = strstr(p, "{{"))) {
        const char *e = strstr(q + 2, "}}");
        if (!e)
            break;
        aws_buf_append(out, p, (size_t)(q - p));
        int k = s_lookup(q + 2, (size_t)(e - q - 2));
        if (k >= 0)
            s_value(k, a, out);
        p = e + 2;
    }
    aws_buf_puts(out, p);
}
