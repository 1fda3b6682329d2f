/*
 * tl_util.h - helpers shared by the loader tests: build an engine over the
 * mock source, load YAML text, look for diagnostics, print conditions.
 */
#ifndef TL_UTIL_H
#define TL_UTIL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ev_engine.h"
#include "tl_mock.h"

typedef struct tl_env {
    ev_source *src;
    ev_engine *e;
    int rc;
} tl_env;

static inline void tl_open(tl_env *t, const ev_engine_opts *o)
{
    t->src = tl_mock_new("syscall");
    const ev_source *s = t->src;
    t->e = ev_engine_new(&s, 1, o);
    t->rc = 0;
}

static inline void tl_close(tl_env *t)
{
    ev_engine_free(t->e);
    tl_mock_free(t->src);
}

static inline int tl_load(tl_env *t, const char *yaml)
{
    t->rc = ev_engine_load_string(t->e, "test.yaml", yaml, strlen(yaml));
    return t->rc;
}

/* Diagnostic whose message contains `msg` (and code if non-NULL). */
static inline const ev_diag *tl_diag(const tl_env *t, bool error, const char *code, const char *msg)
{
    for (size_t i = 0; i < ev_engine_ndiags(t->e); i++) {
        const ev_diag *d = ev_engine_diag(t->e, i);
        if (d->error == error && (!code || !strcmp(d->code, code)) &&
            (!msg || strstr(d->message, msg)))
            return d;
    }
    return NULL;
}

static inline size_t tl_nwarn(const tl_env *t)
{
    size_t n = 0;
    for (size_t i = 0; i < ev_engine_ndiags(t->e); i++)
        n += !ev_engine_diag(t->e, i)->error;
    return n;
}

static inline void tl_dump(const tl_env *t)
{
    ev_strbuf b;
    ev_strbuf_init(&b);
    for (size_t i = 0; i < ev_engine_ndiags(t->e); i++) {
        ev_strbuf_reset(&b);
        ev_diag_format(ev_engine_diag(t->e, i), &b);
        fprintf(stderr, "  diag: %s\n", b.p);
    }
    ev_strbuf_fini(&b);
}

/* Canonical compiled condition of a rule; static buffer. */
static inline const char *tl_cond(const tl_env *t, const char *rule)
{
    static char buf[8192];
    const ev_rule *r = ev_engine_find_rule(t->e, rule);
    char *s = r ? ev_engine_rule_condition_ast(t->e, r) : NULL;
    snprintf(buf, sizeof(buf), "%s", s ? s : "(none)");
    free(s);
    return buf;
}

#define TL_OK(t, yaml)                                                      \
    do {                                                                    \
        if (tl_load((t), (yaml)) != 0) {                                    \
            tl_dump(t);                                                     \
            TG_FAIL_("load failed");                                        \
        }                                                                   \
    } while (0)

#define TL_ERR(t, yaml, code, msg)                                          \
    do {                                                                    \
        if (tl_load((t), (yaml)) == 0 || !tl_diag((t), true, (code), (msg))) { \
            tl_dump(t);                                                     \
            TG_FAIL_("expected error %s: %s", (code), (msg));               \
        }                                                                   \
    } while (0)

#define TL_WARN(t, code, msg)                                               \
    do {                                                                    \
        if (!tl_diag((t), false, (code), (msg))) {                          \
            tl_dump(t);                                                     \
            TG_FAIL_("expected warning %s: %s", (code), (msg));             \
        }                                                                   \
    } while (0)

#define RULE(name, cond) \
    "- rule: " name "\n  desc: d\n  condition: " cond "\n  output: o %proc.name\n  priority: INFO\n"

#endif
