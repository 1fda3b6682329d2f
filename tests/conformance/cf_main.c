/*
 * cf_main.c - the conformance runner: reads the JSONL vectors, dispatches
 * each to its category handler (cf_core.c, cf_loader.c), prints a line per
 * category, the failures and skips with their reasons, and a total.
 * Owner: engine core.
 *
 * Usage: trailguard-conformance FILE.jsonl [CATEGORY] [-v]
 * (-v also lists skips of categories without a handler).
 * Exit: 0 all passed, 1 some failed, 77 vectors file missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"

#define CF_MAX_CATS 64
#define CF_MAX_REPORT 300

typedef struct cf_count {
    const char *name;
    int pass, fail, skip;
} cf_count;

static const cf_category *s_find(const char *name)
{
    for (const cf_category *c = cf_core_categories; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    for (const cf_category *c = cf_loader_categories; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

static cf_count *s_count(cf_count *cs, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(cs[i].name, name))
            return &cs[i];
    if (*n >= CF_MAX_CATS)
        return &cs[CF_MAX_CATS - 1];
    cs[*n].name = strdup(name);
    return &cs[(*n)++];
}

int main(int argc, char **argv)
{
    const char *path = NULL, *only = NULL;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!path)
            path = argv[i];
        else
            only = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: %s FILE.jsonl [CATEGORY] [-v]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("skip: vectors file %s not found\n", path);
        return 77;
    }
    cf_count cs[CF_MAX_CATS + 1];
    memset(cs, 0, sizeof(cs));
    int ncs = 0, reported = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    char **reports = calloc(CF_MAX_REPORT, sizeof(*reports));
    char **skips = calloc(CF_MAX_REPORT, sizeof(*skips));
    int nrep = 0, nskip = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t je;
        json_t *v = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &je);
        if (!v)
            continue;
        const char *cat = json_string_value(json_object_get(v, "category"));
        const char *id = json_string_value(json_object_get(v, "id"));
        if (!cat || (only && strcmp(only, cat))) {
            json_decref(v);
            continue;
        }
        cf_count *c = s_count(cs, &ncs, cat);
        const cf_category *h = s_find(cat);
        char why[1024] = "";
        cf_result r = CF_SKIP;
        if (h)
            r = h->run(v, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "no handler for category '%s'", cat);
        if (r == CF_PASS)
            c->pass++;
        else if (r == CF_FAIL)
            c->fail++;
        else
            c->skip++;
        if (r != CF_PASS && (r == CF_FAIL || verbose || h)) {
            char buf[1200];
            snprintf(buf, sizeof(buf), "%s %s [%s]: %s",
                     r == CF_FAIL ? "FAIL" : "SKIP", id ? id : "?", cat, why);
            if (r == CF_FAIL && nrep < CF_MAX_REPORT)
                reports[nrep++] = strdup(buf);
            else if (r == CF_SKIP && nskip < CF_MAX_REPORT)
                skips[nskip++] = strdup(buf);
            else
                reported++;
        }
        json_decref(v);
    }
    free(line);
    fclose(f);
    int tp = 0, tf = 0, ts = 0;
    for (int i = 0; i < ncs; i++) {
        printf("%s: %d passed, %d failed, %d skipped\n", cs[i].name, cs[i].pass,
               cs[i].fail, cs[i].skip);
        tp += cs[i].pass;
        tf += cs[i].fail;
        ts += cs[i].skip;
    }
    for (int i = 0; i < nrep; i++) {
        printf("%s\n", reports[i]);
        free(reports[i]);
    }
    for (int i = 0; i < nskip; i++) {
        printf("%s\n", skips[i]);
        free(skips[i]);
    }
    if (reported)
        printf("... %d more failures/skips not shown\n", reported);
    free(reports);
    free(skips);
    for (int i = 0; i < ncs; i++)
        free((char *)cs[i].name);
    printf("%d passed, %d failed, %d skipped\n", tp, tf, ts);
    return tf ? 1 : 0;
}
