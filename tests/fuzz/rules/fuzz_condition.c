/*
 * fuzz_condition.c - fuzz target for the Falco condition language:
 * arbitrary bytes -> ev_parse -> canonical print (of the tree, of a clone,
 * and of the printed text parsed again) -> macro substitution of every identifier ->
 * ev_filter_compile against the aws_cloudtrail source -> evaluation on one
 * fixed CloudTrail record (twice, the second run hits the value cache).
 * The same bytes also go through the escaping helpers and ev_lhs_check.
 * Owner: fuzzing (tests/fuzz/rules/).  Linked with libFuzzer (-Dfuzz=true)
 * or with tests/fuzz/fuzz_replay.c.
 *
 * Invariants checked with abort(): a deep copy of a tree prints like the
 * tree; a parse or compile failure always says why; evaluating twice on
 * the same event (second time from the value cache) gives one answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev_ast.h"
#include "ev_ct.h"
#include "ev_filter.h"
#include "fz_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-parse limit for printed text: printing may add parentheses. */
#define FZ_REPARSE_DEPTH 1000u

typedef struct fz_cond {
    fz_record rec;
    ev_event evt;
    ev_ast *macro;          /* what every identifier expands to */
    uint64_t num;
} fz_cond;

static fz_cond *s_state(void)
{
    static fz_cond *z;      /* process-wide fixture, built once */
    if (z)
        return z;
    z = calloc(1, sizeof *z);
    if (!z || fz_record_init(&z->rec) != 0)
        abort();
    ev_event_init(&z->evt);
    static const char m[] = "ct.name in (PutBucketPolicy, x) and not ct.error exists";
    z->macro = ev_parse(m, sizeof m - 1, 0, NULL);
    if (!z->macro)
        abort();
    return z;
}

/*
 * Print the tree and a deep copy of it: both texts must be equal.  The
 * printed form is not always re-parseable (spec 2.5: commas, parentheses
 * and "" are printed bare; `not (not a)` prints as `not not a`), so the
 * text is only parsed again, not compared.
 */
static void s_check_print(const ev_ast *ast)
{
    char *s1 = ev_ast_to_string(ast);
    ev_ast *copy = ev_ast_clone(ast);
    char *s2 = copy ? ev_ast_to_string(copy) : NULL;
    if (!s1 || !s2 || strcmp(s1, s2) != 0) {
        fprintf(stderr, "clone prints differently:\n  1: %s\n  2: %s\n",
                s1 ? s1 : "(null)", s2 ? s2 : "(null)");
        abort();
    }
    ev_ast *again = ev_parse(s1, strlen(s1), FZ_REPARSE_DEPTH, NULL);
    if (again) {
        free(s2);
        s2 = ev_ast_to_string(again);
    }
    free(s2);
    free(s1);
    ev_ast_free(again);
    ev_ast_free(copy);
}

static int s_expand(ev_ast **slot, void *ud)
{
    const fz_cond *z = ud;
    ev_ast *copy = ev_ast_clone(z->macro);
    if (!copy)
        return -1;
    ev_ast_free(*slot);
    *slot = copy;
    return 0;
}

static void s_compile_eval(fz_cond *z, ev_ast **ast)
{
    ev_fieldtab *tab = ev_fieldtab_new(ev_ct_source());
    if (!tab)
        abort();
    if (ev_ast_walk_idents(ast, s_expand, z) != 0)
        abort();
    ev_warnings w;
    ev_warnings_init(&w);
    char err[512] = "";
    int code = 0;
    ev_filter *f = ev_filter_compile(*ast, tab, &w, &code, err, sizeof err);
    if (!f && (code >= 0 || err[0] == '\0'))
        abort();        /* a failure must carry a code and a message */
    if (f) {
        ev_event_reset(&z->evt, &z->rec.rec, z->rec.ts_ns, ++z->num);
        bool a = ev_filter_eval(f, &z->evt);
        bool b = ev_filter_eval(f, &z->evt);
        if (a != b)
            abort();    /* cached values must give the same answer */
        ev_filter_free(f);
    }
    ev_warnings_fini(&w);
    ev_fieldtab_free(tab);
}

/* The escaping helpers and the left-hand-side checker on the raw bytes. */
static void s_helpers(const char *text, size_t len)
{
    size_t n = 0;
    char err[256];
    free(ev_ast_escape_strn(text, len, &n));
    free(ev_ast_unescape(text, len, '"', &n, err, sizeof err));
    free(ev_ast_unescape(text, len, '\'', &n, err, sizeof err));
    ev_fieldtab *tab = ev_fieldtab_new(ev_ct_source());
    if (!tab)
        abort();
    (void)ev_lhs_check(text, tab, err, sizeof err);
    ev_fieldtab_free(tab);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_cond *z = s_state();
    /* NUL-terminated copy: ev_lhs_check takes a C string. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    s_helpers(text, size);
    ev_parse_error perr;
    ev_ast *ast = ev_parse(text, size, 0, &perr);
    if (ast) {
        s_check_print(ast);
        s_compile_eval(z, &ast);
        ev_ast_free(ast);
    } else if (perr.msg[0] == '\0' || perr.index > size) {
        abort();        /* errors are described and point into the input */
    }
    free(text);
    return 0;
}
