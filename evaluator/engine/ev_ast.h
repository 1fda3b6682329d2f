/*
 * ev_ast.h - abstract syntax tree of a Falco condition, its parser entry
 * point, canonical printer and helpers.  Owner: engine core.
 *
 * DESIGN
 * The tree is a plain public struct so that other parts (the rules loader)
 * can walk it: substitute macros (replace IDENT nodes by clones of macro
 * ASTs through ev_ast_walk_idents), look for `ct.name = X` / `ct.name in
 * (...)` requirements, and print it.  Every node is one heap allocation
 * owned by its parent; strings are NUL-terminated heap copies that may also
 * contain NUL bytes (use `len`).
 *
 * Node shapes (kids[] are owned children, in source order):
 *   EV_AST_AND / EV_AST_OR   kids = operands (n >= 2, n-ary, flattened chains)
 *   EV_AST_NOT               kids[0] = operand
 *   EV_AST_IDENT             str = name (macro reference)
 *   EV_AST_UNARY             str = op ("exists"), kids[0] = left (FIELD/TRANSFORMER)
 *   EV_AST_BINARY            str = op as written ("==", "=", "in", "== oneof",
 *                            "startswith anyof", ...), kids[0] = left,
 *                            kids[1] = right (VALUE, LIST, FIELD via val(),
 *                            or TRANSFORMER)
 *   EV_AST_VALUE             str/len = unescaped literal
 *   EV_AST_LIST              kids = VALUE items (possibly none)
 *   EV_AST_FIELD             str = field name; has_arg/arg/arg_len = [arg]
 *                            (has_arg true with arg_len 0 for `[""]`)
 *   EV_AST_TRANSFORMER       str = name ("tolower", ..., "val");
 *                            kids = arguments (FIELD, TRANSFORMER, VALUE, TLIST);
 *                            has_arg/arg = optional trailing [arg]
 *   EV_AST_TLIST             kids = elements of a transformer argument list
 *
 * A right-hand `val(f)` is represented as a TRANSFORMER named "val" with
 * one FIELD kid; it prints as `val(f)`.
 */
#ifndef EV_AST_H
#define EV_AST_H

#include <stdbool.h>
#include <stddef.h>

typedef enum ev_ast_kind {
    EV_AST_AND = 0,
    EV_AST_OR,
    EV_AST_NOT,
    EV_AST_IDENT,
    EV_AST_UNARY,
    EV_AST_BINARY,
    EV_AST_VALUE,
    EV_AST_LIST,
    EV_AST_FIELD,
    EV_AST_TRANSFORMER,
    EV_AST_TLIST,
} ev_ast_kind;

typedef struct ev_ast ev_ast;
struct ev_ast {
    ev_ast_kind kind;
    char *str;          /* see node shapes above; NULL where unused */
    size_t len;         /* length of str (VALUE may contain NUL bytes) */
    bool has_arg;       /* FIELD / TRANSFORMER: an [arg] was written */
    char *arg;          /* NUL-terminated; NULL when !has_arg */
    size_t arg_len;
    ev_ast **kids;      /* owned children */
    size_t nkids;
    size_t pos;         /* byte index of the node's first character */
};

/* Default recursion limit of the parser (Falco uses 1000 for rules). */
#define EV_PARSE_DEFAULT_DEPTH 100u

typedef struct ev_parse_error {
    char msg[512];      /* exact spec text, e.g. "filter input string is empty" */
    size_t index;       /* byte index of the error */
    unsigned line;      /* 1-based */
    unsigned column;    /* 1-based */
} ev_parse_error;

/*
 * Parse a condition (spec section 2).  max_depth 0 means the default.
 * Caller owns result; free with ev_ast_free().  NULL on error, with *err
 * filled (err may be NULL).
 */
ev_ast *ev_parse(const char *text, size_t len, unsigned max_depth,
                 ev_parse_error *err);

/* Canonical printing (spec 2.5). Caller owns result; free(). NULL on OOM. */
char *ev_ast_to_string(const ev_ast *ast);

/* Escaping of one value per spec 2.5. Caller owns result; free(). */
char *ev_ast_escape_str(const char *s, size_t len);
/* Same, reporting the result length (the result may contain NUL bytes). */
char *ev_ast_escape_strn(const char *s, size_t len, size_t *outlen);

/*
 * Unescape the body of a quoted string (spec 1.3).  `quote` is '"' or '\''
 * and selects which quote escape is legal.  body/len exclude the quotes.
 * Returns a heap copy (NUL-terminated, *outlen set; caller frees) or NULL
 * with the spec message in err.
 */
char *ev_ast_unescape(const char *body, size_t len, char quote,
                      size_t *outlen, char *err, size_t errlen);

/* Deep copy. Caller owns result; free with ev_ast_free(). NULL on OOM. */
ev_ast *ev_ast_clone(const ev_ast *ast);

/* Free a tree. ev_ast_free(NULL) is a no-op. */
void ev_ast_free(ev_ast *ast);

/*
 * Visit every IDENT slot in source order.  The callback may replace *slot
 * (freeing the old node with ev_ast_free and storing a new owned tree, e.g.
 * ev_ast_clone of a macro); the walk does not descend into the replacement.
 * A non-zero return stops the walk and is returned; 0 when all visited.
 */
typedef int (*ev_ast_ident_fn)(ev_ast **slot, void *ud);
int ev_ast_walk_idents(ev_ast **root, ev_ast_ident_fn fn, void *ud);

/* Node constructors (used by the parser; handy for tests and the loader).
 * Caller owns results; NULL on OOM.  ev_ast_add_kid takes ownership of kid
 * (freed on failure) and returns 0 or -1. */
ev_ast *ev_ast_new(ev_ast_kind kind, const char *str, size_t len, size_t pos);
int ev_ast_add_kid(ev_ast *parent, ev_ast *kid);
int ev_ast_set_arg(ev_ast *node, const char *arg, size_t len);

#endif /* EV_AST_H */
