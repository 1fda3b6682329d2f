/*
 * ev_yaml.h - a small read-only YAML document tree built with libyaml.
 *
 * The rules loader (and the rule unit-test runner) need more than libyaml's
 * own document API gives: a hard nesting limit (bad input must never exhaust
 * the stack or memory), the original scalar style (plain scalars true/false/
 * null/numbers become JSON literals in rule tests, quoted ones stay strings),
 * and a line/column mark on every node for diagnostics.
 *
 * DESIGN
 * ev_yaml_load() parses a whole buffer with the libyaml event API into a
 * list of documents.  Every node lives in one arena owned by the ev_yaml
 * object, so freeing is one call and aliases simply point at the anchored
 * node (no copies, so "billion laughs" inputs cost nothing).  Mapping keys
 * must be scalars; a non-scalar key is reported as an error.
 */
#ifndef EV_YAML_H
#define EV_YAML_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ev_ynode_kind {
    EV_YNULL = 0,   /* empty document, or a plain null scalar (~, null, empty) */
    EV_YSCALAR,
    EV_YSEQ,
    EV_YMAP,
} ev_ynode_kind;

typedef struct ev_ynode ev_ynode;
struct ev_ynode {
    ev_ynode_kind kind;
    bool plain;             /* scalar written without quotes / block style */
    const char *str;        /* scalar text, NUL-terminated (also for null: "") */
    size_t len;
    size_t n;               /* sequence items or mapping pairs */
    ev_ynode **items;       /* seq: n nodes; map: n values */
    const char **keys;      /* map: n key strings */
    ev_ynode **keynodes;    /* map: n key nodes (for marks) */
    int line, col;          /* 1-based start mark */
};

typedef struct ev_yaml ev_yaml;

/* Maximum nesting depth accepted by ev_yaml_load(). */
#define EV_YAML_MAX_DEPTH 128

/*
 * Parse `len` bytes.  Returns NULL on a YAML syntax error or nesting limit
 * with a message in err ("error at line L, column C: ...", problem texts
 * worded like yaml-cpp's: "illegal map value", ...), and the
 * position in eline/ecol (may be NULL).
 * Caller owns the result; free with ev_yaml_free().
 */
ev_yaml *ev_yaml_load(const char *buf, size_t len, char *err, size_t errlen,
                      int *eline, int *ecol);
void ev_yaml_free(ev_yaml *y);

/* Number of documents and document i's root (EV_YNULL node when empty).
 * Borrowed; valid until ev_yaml_free(). */
size_t ev_yaml_ndocs(const ev_yaml *y);
const ev_ynode *ev_yaml_doc(const ev_yaml *y, size_t i);

/* Mapping lookup by key; NULL when absent or not a mapping. Borrowed. */
const ev_ynode *ev_ynode_get(const ev_ynode *map, const char *key);

/* YAML 1.1 boolean as yaml-cpp reads it (true/false, yes/no, on/off, y/n in
 * lower, Title or UPPER case).  Returns 0 and sets *out, or -1. */
int ev_ynode_bool(const ev_ynode *n, bool *out);

#endif /* EV_YAML_H */
