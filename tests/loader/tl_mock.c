/* tl_mock.c - see tl_mock.h. */
#include "tl_mock.h"

#include <stdlib.h>
#include <string.h>

static const ev_field_def s_fields[] = {
    {"evt.type", EV_TYPE_STRING, 0, 0, NULL},
    {"evt.dir", EV_TYPE_STRING, 0, 0, NULL},
    {"proc.name", EV_TYPE_STRING, 0, 0, NULL},
    {"proc.pname", EV_TYPE_STRING, 0, 0, NULL},
    {"proc.cmdline", EV_TYPE_STRING, 0, 0, NULL},
    {"proc.aname", EV_TYPE_STRING, 0, 0, NULL},
    {"fd.name", EV_TYPE_STRING, 0, 0, NULL},
    {"user.name", EV_TYPE_STRING, 0, 0, NULL},
    {"ct.name", EV_TYPE_STRING, 0, 0, NULL},
    {"ct.user", EV_TYPE_STRING, 0, 0, NULL},
    {"ka.user.name", EV_TYPE_STRING, 0, 0, NULL},
    {"evt.num", EV_TYPE_UINT64, 0, 1, NULL},
};

static int s_extract(void *ud, ev_event *evt, const ev_field_def *def,
                     const ev_field_arg *arg, ev_vals *out)
{
    (void)ud;
    (void)arg;
    if (def->id == 1) {
        out->vals[0].u = evt->num;
        return 1;
    }
    const tl_kv *kv = evt->payload;
    for (; kv && kv->k; kv++)
        if (strcmp(kv->k, def->name) == 0) {
            out->vals[0].s = kv->v;
            out->vals[0].len = strlen(kv->v);
            return 1;
        }
    return 0;
}

ev_source *tl_mock_new(const char *name)
{
    ev_source *s = calloc(1, sizeof(*s));
    s->name = strdup(name);
    s->fields = s_fields;
    s->nfields = sizeof(s_fields) / sizeof(s_fields[0]);
    s->extract = s_extract;
    return s;
}

void tl_mock_free(ev_source *s)
{
    if (!s)
        return;
    free((char *)s->name);
    free(s);
}
