/*
 * ev_cli_rules.c - `trailguard rules validate|list|test`; see
 * ev_cli_rules.h.
 *
 * DESIGN
 * validate mimics `falco -V`: files load in order into one engine (later
 * files may append to earlier ones); each prints "FILE: Ok" or its
 * diagnostics as FILE:LINE:COL.  test loads the rules directory, enables
 * every rule (so disabled-by-default rules can be tested), and runs each
 * {rule, fires, does_not_fire} case of DIR/NAME.yaml through the real
 * CloudTrail source with rule_matching all.
 */
#include "ev_cli_rules.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ev_ct.h"
#include "ev_engine.h"
#include "ev_rectest.h"
#include "ev_yaml.h"

#ifndef TG_RULES_DATADIR
#define TG_RULES_DATADIR "/usr/local/share/trailguard/rules"
#endif

static bool s_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *s_default_rules_dir(void)
{
    const char *d = getenv("TRAILGUARD_RULES_DIR");
    if (d && *d)
        return d;
    if (s_is_dir(TG_RULES_DATADIR))
        return TG_RULES_DATADIR;
    return "rules";
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* *.yaml / *.yml files of a directory, sorted. Caller frees each + array. */
static char **s_yaml_files(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    *n = 0;
    if (!d)
        return NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' ||
            !((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
              (l > 4 && !strcmp(de->d_name + l - 4, ".yml"))))
            continue;
        char *p;
        if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
            abort();
        if (s_is_dir(p)) {
            free(p);
            continue;
        }
        v = realloc(v, (*n + 1) * sizeof(char *));
        if (!v)
            abort();
        v[(*n)++] = p;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof(char *), s_cmp);
    return v;
}

static bool s_is_unused_warning(const ev_diag *d)
{
    return !d->error && (!strcmp(d->code, "LOAD_UNUSED_MACRO") ||
                         !strcmp(d->code, "LOAD_UNUSED_LIST"));
}

/* Print diagnostics [from, to); with skip_unused, leave out the unused
 * macro/list warnings (validate judges those over the whole file set). */
static void s_print_range(const ev_engine *e, size_t from, size_t to, bool skip_unused,
                          FILE *out)
{
    ev_strbuf b;
    ev_strbuf_init(&b);
    for (size_t i = from; i < to; i++) {
        const ev_diag *d = ev_engine_diag(e, i);
        if (skip_unused && s_is_unused_warning(d))
            continue;
        ev_strbuf_reset(&b);
        ev_diag_format(d, &b);
        fprintf(out, "%s\n", b.p ? b.p : "");
    }
    ev_strbuf_fini(&b);
}

static void s_print_diags(const ev_engine *e, size_t from, FILE *out)
{
    s_print_range(e, from, ev_engine_ndiags(e), false, out);
}

static ev_engine *s_engine(void)
{
    const ev_source *src = ev_ct_source();
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    return ev_engine_new(&src, 1, &o);
}

/* Load FILE or every YAML file of DIR. Returns 0 or -1 (diags printed). */
static int s_load_path(ev_engine *e, const char *path, bool quiet)
{
    size_t n = 0;
    char **files;
    char *one[1];
    if (s_is_dir(path)) {
        files = s_yaml_files(path, &n);
    } else {
        one[0] = (char *)path;
        files = one;
        n = 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t from = ev_engine_ndiags(e);
        if (ev_engine_load_file(e, files[i]) < 0)
            rc = -1;
        if (!quiet || rc < 0)
            s_print_diags(e, from, stderr);
        if (rc < 0)
            break;
    }
    if (files != one) {
        for (size_t i = 0; i < n; i++)
            free(files[i]);
        free(files);
    }
    return rc;
}

/*
 * Every load recompiles all definitions so far, so a shared macros file
 * loaded first reports its macros unused until the files using them are
 * loaded.  Falco prints those per load; validate instead reports unused
 * macros and lists once, as judged after the last file (the whole set).
 */
static int s_validate(int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "usage: trailguard rules validate FILE...\n");
        return 2;
    }
    ev_engine *e = s_engine();
    int rc = 0;
    size_t last_from = 0;
    for (int i = 0; i < argc; i++) {
        size_t from = ev_engine_ndiags(e);
        int r = ev_engine_load_file(e, argv[i]);
        bool err = r < 0;
        printf("%s: %s\n", argv[i], err ? "Invalid" : "Ok");
        s_print_range(e, from, ev_engine_ndiags(e), !err, stdout);
        last_from = from;
        if (err) {
            rc = 1;
            break;
        }
    }
    if (rc == 0) {
        size_t n = ev_engine_ndiags(e);
        for (size_t i = last_from; i < n; i++)
            if (s_is_unused_warning(ev_engine_diag(e, i)))
                s_print_range(e, i, i + 1, false, stdout);
    }
    ev_engine_free(e);
    return rc;
}

static int s_list(int argc, char **argv)
{
    const char *tag = NULL;
    ev_engine *e = s_engine();
    bool any = false;
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) {
            any = true;
            rc = s_load_path(e, argv[++i], true);
        } else if (!strcmp(argv[i], "--tag") && i + 1 < argc) {
            tag = argv[++i];
        } else {
            fprintf(stderr, "usage: trailguard rules list [-r FILE|DIR]... [--tag TAG]\n");
            ev_engine_free(e);
            return 2;
        }
    }
    if (rc == 0 && !any)
        rc = s_load_path(e, s_default_rules_dir(), true);
    if (rc < 0) {
        ev_engine_free(e);
        return 1;
    }
    for (size_t i = 0; i < ev_engine_nrules(e); i++) {
        const ev_rule *r = ev_engine_rule(e, i);
        bool has = !tag;
        for (size_t t = 0; t < r->ntags && !has; t++)
            has = strcmp(r->tags[t], tag) == 0;
        if (!has)
            continue;
        printf("%s\t%s\t%s\t", r->name, ev_priority_name(r->priority),
               r->enabled ? "enabled" : "disabled");
        for (size_t t = 0; t < r->ntags; t++)
            printf("%s%s", t ? "," : "", r->tags[t]);
        printf("\t%s\n", r->desc);
    }
    ev_engine_free(e);
    return 0;
}

/* rules test ------------------------------------------------------------------ */

typedef struct s_fired {
    const char *want;
    bool hit;
} s_fired;

static int s_on_match(const ev_rule *r, ev_event *evt, void *ud)
{
    (void)evt;
    s_fired *f = ud;
    if (strcmp(r->name, f->want) == 0)
        f->hit = true;
    return 0;
}

typedef struct s_counts {
    int passed, failed;
    ev_event evt;   /* one event reused for every record: its generation
                     * counter keeps the engine's per-event caches apart */
} s_counts;

static void s_case(ev_engine *e, const char *file, const char *rule, const ev_ynode *rec,
                   bool expect, s_counts *c)
{
    ev_strbuf js;
    msgpack_sbuffer sb;
    char err[256];
    ev_strbuf_init(&js);
    msgpack_sbuffer_init(&sb);
    if (ev_rectest_record(rec, &js, &sb, err, sizeof(err)) < 0) {
        printf("FAIL %s:%d: rule '%s': bad record: %s\n", file, rec->line, rule, err);
        c->failed++;
        goto out;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, sb.data, sb.size, &off) != MSGPACK_UNPACK_SUCCESS) {
        printf("FAIL %s:%d: rule '%s': record does not pack\n", file, rec->line, rule);
        c->failed++;
        msgpack_unpacked_destroy(&up);
        goto out;
    }
    ev_ct_record ct = {.map = sb.data, .map_len = off, .raw = js.p, .raw_len = js.len,
                       .hostname = NULL};
    uint64_t ts = 0;
    ev_ct_event_time(&ct, &ts);
    ev_event_reset(&c->evt, &ct, ts, 1);
    s_fired f = {rule, false};
    ev_engine_match(e, &c->evt, s_on_match, &f);
    if (f.hit == expect) {
        c->passed++;
    } else {
        printf("FAIL %s:%d: rule '%s' %s on event: %s\n", file, rec->line, rule,
               expect ? "did not fire" : "fired unexpectedly", js.p ? js.p : "");
        c->failed++;
    }
    msgpack_unpacked_destroy(&up);
out:
    ev_strbuf_fini(&js);
    msgpack_sbuffer_destroy(&sb);
}

static void s_test_file(ev_engine *e, const char *path, s_counts *c)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    if (f) {
        fseek(f, 0, SEEK_END);
        long l = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc(l > 0 ? (size_t)l + 1 : 1);
        len = l > 0 ? fread(buf, 1, (size_t)l, f) : 0;
        fclose(f);
    }
    char err[512];
    ev_yaml *y = buf ? ev_yaml_load(buf, len, err, sizeof(err), NULL, NULL) : NULL;
    free(buf);
    if (!y) {
        printf("FAIL %s: %s\n", path, f ? err : "cannot read");
        c->failed++;
        return;
    }
    for (size_t d = 0; d < ev_yaml_ndocs(y); d++) {
        const ev_ynode *root = ev_yaml_doc(y, d);
        if (root->kind == EV_YNULL)
            continue;
        if (root->kind != EV_YSEQ) {
            printf("FAIL %s:%d: test file must be a sequence of {rule, fires, does_not_fire}\n",
                   path, root->line);
            c->failed++;
            continue;
        }
        for (size_t i = 0; i < root->n; i++) {
            const ev_ynode *t = root->items[i];
            const ev_ynode *rn = ev_ynode_get(t, "rule");
            if (!rn || rn->kind != EV_YSCALAR) {
                printf("FAIL %s:%d: test case without 'rule'\n", path, t->line);
                c->failed++;
                continue;
            }
            if (!ev_engine_find_rule(e, rn->str)) {
                printf("FAIL %s:%d: unknown rule '%s'\n", path, t->line, rn->str);
                c->failed++;
                continue;
            }
            static const char *const keys[] = {"fires", "does_not_fire"};
            for (int k = 0; k < 2; k++) {
                const ev_ynode *s = ev_ynode_get(t, keys[k]);
                if (!s || s->kind == EV_YNULL)
                    continue;
                if (s->kind != EV_YSEQ) {
                    printf("FAIL %s:%d: '%s' must be a sequence of records\n", path, s->line, keys[k]);
                    c->failed++;
                    continue;
                }
                for (size_t j = 0; j < s->n; j++)
                    s_case(e, path, rn->str, s->items[j], k == 0, c);
            }
        }
    }
    ev_yaml_free(y);
}

static int s_test(int argc, char **argv)
{
    const char *dir = NULL;
    ev_engine *e = s_engine();
    bool any = false;
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc) {
            any = true;
            rc = s_load_path(e, argv[++i], true);
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "usage: trailguard rules test [DIR] [-r FILE|DIR]...\n");
            ev_engine_free(e);
            return 2;
        }
    }
    char *deflt = NULL;
    if (!dir) {
        if (asprintf(&deflt, "%s/tests", s_default_rules_dir()) < 0)
            abort();
        dir = deflt;
    }
    if (rc == 0 && !any) {
        char *up;
        if (asprintf(&up, "%s/..", dir) < 0)
            abort();
        rc = s_load_path(e, up, true);
        free(up);
    }
    if (rc < 0) {
        printf("rules failed to load\n");
        ev_engine_free(e);
        free(deflt);
        return 1;
    }
    ev_selection all = {.enable = true, .by_tag = false, .pattern = "*"};
    ev_engine_select(e, &all);
    s_counts c = {0, 0, {0}};
    ev_event_init(&c.evt);
    size_t n = 0;
    char **files = s_yaml_files(dir, &n);
    if (!files && !s_is_dir(dir)) {
        printf("FAIL %s: not a directory\n", dir);
        c.failed++;
    }
    for (size_t i = 0; i < n; i++) {
        s_test_file(e, files[i], &c);
        free(files[i]);
    }
    free(files);
    ev_event_fini(&c.evt);
    printf("%d passed, %d failed\n", c.passed, c.failed);
    ev_engine_free(e);
    free(deflt);
    return c.failed ? 1 : 0;
}

int ev_cli_rules_main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: trailguard rules validate FILE... | list [-r PATH]... [--tag TAG]"
                        " | test [DIR] [-r PATH]...\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "validate"))
        return s_validate(argc - 2, argv + 2);
    if (!strcmp(cmd, "list"))
        return s_list(argc - 2, argv + 2);
    if (!strcmp(cmd, "test"))
        return s_test(argc - 2, argv + 2);
    fprintf(stderr, "trailguard rules: unknown subcommand '%s'\n", cmd);
    return 2;
}
