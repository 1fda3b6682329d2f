/*
 * cf.h - plumbing of the conformance runner (build/tests/trailguard-conformance).
 *
 * The runner reads ../shared/conformance/falco-vectors.jsonl (one JSON
 * object per line: id, category, input, expect), dispatches each vector to
 * the handler of its category, prints one line per category and ends with
 * "N passed, M failed, K skipped".
 *
 * Handlers live in two files: cf_core.c (condition language: parse, eval,
 * compile, compile_type, compile_warning, string_escape, ast_print_escape,
 * output_format, condition_warning) and cf_loader.c (rules files: loader,
 * loader_e2e, loader_runtime, alert, plugin_requirements,
 * rule_selection_wildcard).  cf_mock.c builds typed mock sources.
 */
#ifndef CF_H
#define CF_H

#include <jansson.h>
#include <stddef.h>

#include "ev_field.h"

typedef enum cf_result { CF_PASS = 0, CF_FAIL, CF_SKIP } cf_result;

/* Judge one vector.  On CF_FAIL or CF_SKIP write the reason into why. */
typedef cf_result (*cf_handler_fn)(const json_t *vec, char *why, size_t whylen);

typedef struct cf_category {
    const char *name;       /* the vector's "category" */
    cf_handler_fn run;
} cf_category;

/* NULL-terminated tables exported by cf_core.c and cf_loader.c. */
extern const cf_category cf_core_categories[];
extern const cf_category cf_loader_categories[];

/*
 * A typed registry of mock fields.  With `fields` (a vector's "fields"
 * object) the catalogue holds those names, typed from the JSON values or
 * type strings, and extraction returns those values.  With fields == NULL it
 * holds the catalogue of syscall-style names the loader vectors use
 * (evt.type, proc.name, fd.name, proc.cmdline, user.name, ...), all present.
 * Caller owns the result; free with cf_mock_free().
 */
typedef struct cf_mock cf_mock;
cf_mock *cf_mock_new(const json_t *fields, const char *source_name);
/* Borrowed; valid until cf_mock_free(). */
const ev_source *cf_mock_source(const cf_mock *m);
/* Payload to pass in ev_event_reset() so extraction sees the mock values. */
void *cf_mock_payload(cf_mock *m);
void cf_mock_free(cf_mock *m);

#endif /* CF_H */
