/*
 * ev_filter.h - compiling parsed conditions into evaluable filters, and
 * evaluating them on events (spec sections 3 and 4).  Owner: engine core.
 *
 * DESIGN
 * A field table (ev_fieldtab) belongs to one source and interns every
 * distinct (field, argument) pair used by the filters and output formats
 * compiled against it.  Each interned pair is a slot with a per-event value
 * cache keyed by ev_event.gen: a field used by 100 rules is extracted once
 * per event.  Compile hundreds of filters against one table; evaluate them
 * on one thread at a time (the cache is mutable state of the table).
 *
 * A compiled filter is a tree of typed nodes: and/or/not, and checks whose
 * literals are pre-parsed for the left-hand type (numbers, booleans, IP
 * addresses, hex bytes, compiled regexes, sorted sets for `in`, hashed for
 * strings).  For evaluation the tree is also flattened into a list of checks
 * with true/false jump targets, which runs the checks in the same order as a
 * left-to-right short-circuit walk of the tree, without recursion; common
 * check shapes (string =, !=, startswith, endswith, contains, in, exists on
 * a field) are evaluated inline.  Evaluation allocates nothing from the
 * heap; transformer results are written into the event arena.
 *
 * Regular expressions use POSIX regcomp(REG_EXTENDED | REG_NOSUB) on the
 * pattern wrapped as ^(...)$ (full match, egrep syntax), matched with
 * REG_STARTEND so values need no NUL; braces that do not form a valid
 * repetition are made literal as RE2 does ("x{2").  RE2-only syntax
 * (\d, (?i), ...) is not supported.  Note: glibc's regexec() allocates
 * internally, so a `regex` check is the one place evaluation may touch the
 * heap (all other operators and transformers use the event arena only).
 *
 * String values follow C-string semantics: a value ends at its first NUL
 * (normalised once when a field is extracted).
 */
#ifndef EV_FILTER_H
#define EV_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "ev_ast.h"
#include "ev_field.h"

/* Error codes (negative) returned through *errcode by the compile calls. */
#define EV_ERR_PARSE          (-1)  /* condition/format text does not parse */
#define EV_ERR_UNKNOWN_FIELD  (-2)  /* "filter_check called with nonexistent field ..."
                                     * or an unknown output token: the case
                                     * skip-if-unknown-filter ignores */
#define EV_ERR_COMPILE        (-3)  /* any other compile error */
#define EV_ERR_NOMEM          (-4)
#define EV_ERR_UNDEFINED_MACRO (-5) /* an identifier reached the compiler */

/* Warnings collected at compile time (spec 3.6), plain strings. */
typedef struct ev_warnings {
    char **v;       /* owned strings */
    size_t n, cap;
} ev_warnings;

void ev_warnings_init(ev_warnings *w);
void ev_warnings_fini(ev_warnings *w);
/* Copies msg. Returns 0 or EV_ERR_NOMEM. */
int ev_warnings_add(ev_warnings *w, const char *msg);

/* Field table ------------------------------------------------------------ */

typedef struct ev_fieldtab ev_fieldtab;

/* src is borrowed and must outlive the table.  Caller owns result; free with
 * ev_fieldtab_free() after every filter/format compiled against it. */
ev_fieldtab *ev_fieldtab_new(const ev_source *src);
void ev_fieldtab_free(ev_fieldtab *t);
/* Borrowed. */
const ev_source *ev_fieldtab_source(const ev_fieldtab *t);
/* Number of interned (field, arg) slots (for statistics and tests). */
size_t ev_fieldtab_size(const ev_fieldtab *t);

/*
 * A plain field (no argument) interned in the table, for callers that need
 * its value outside a filter (the ruleset's dispatch index): the value is
 * the one every filter sees, extracted at most once per event and shared.
 * Returns NULL on OOM.  Borrowed; valid until ev_fieldtab_free().
 */
typedef struct ev_slot ev_fieldref;
ev_fieldref *ev_fieldtab_ref(ev_fieldtab *t, const ev_field_def *def);
/* Values of the field for evt (cached per event): the count (0 = missing)
 * and *vals, borrowed until the event is reset. */
int ev_fieldref_get(ev_fieldref *r, ev_event *evt, const ev_val **vals);

/* Filters ---------------------------------------------------------------- */

typedef struct ev_filter ev_filter;

/*
 * Compile `ast` against the table's source.  Warnings (may be NULL) get the
 * spec 3.6 messages appended.  Returns NULL on error with the spec message in
 * err and a code (EV_ERR_*) in *errcode (errcode may be NULL).  The AST is
 * not retained.  Caller owns result; free with ev_filter_free().
 */
ev_filter *ev_filter_compile(const ev_ast *ast, ev_fieldtab *tab,
                             ev_warnings *w, int *errcode,
                             char *err, size_t errlen);
void ev_filter_free(ev_filter *f);

/* Parse + compile in one call (max_depth as for ev_parse). Parse errors come
 * back as EV_ERR_PARSE with the parser message. */
ev_filter *ev_filter_compile_text(const char *cond, ev_fieldtab *tab,
                                  unsigned max_depth, ev_warnings *w,
                                  int *errcode, char *err, size_t errlen);

/* Evaluate on one event (prepared with ev_event_reset). No heap allocation. */
bool ev_filter_eval(const ev_filter *f, ev_event *evt);

/*
 * Three-valued evaluation when only one field is known: `field` has the n
 * values v (n == 0: missing; values as ev_fieldref_get() gives them).
 * EV_TRI_FALSE means the filter is false on every event where the field has
 * these values, EV_TRI_TRUE true on every such event, EV_TRI_UNKNOWN that
 * it depends on other fields.  Only checks of the plain field against
 * literals are decided; and/or/not combine as in Kleene logic.  evt is used
 * for scratch memory only (its arena).  For dispatch indexes.
 */
#define EV_TRI_FALSE   0
#define EV_TRI_TRUE    1
#define EV_TRI_UNKNOWN 2
int ev_filter_eval_given(const ev_filter *f, const ev_fieldref *field,
                         const ev_val *v, int n, ev_event *evt);

/*
 * Is `text` a valid left-hand expression for the table's source (a field
 * with optional [arg], or a transformer expression)?  Used for exception
 * `fields`.  Returns 0, or a negative EV_ERR_* with a message in err.
 */
int ev_lhs_check(const char *text, ev_fieldtab *tab, char *err, size_t errlen);

#endif /* EV_FILTER_H */
