/*
 * ev_priv.h - internals shared by the compiler, operators, transformers
 * and output formats.  Not part of the engine's public API.
 * Owner: engine core.
 *
 * DESIGN
 * Values flow through "value expressions" (ev_vx): a field slot of the
 * field table, a constant, or a transformer applied to value expressions.
 * Evaluating one yields a borrowed array of ev_val (0 entries = missing);
 * slot values live in the slot's cache, transformer results in the event
 * arena.
 */
#ifndef EV_PRIV_H
#define EV_PRIV_H

#include <regex.h>
#include <stdint.h>
#include <string.h>

#include "ev_ast.h"
#include "ev_field.h"
#include "ev_filter.h"

/* One interned (field, arg) with its per-event cache. */
typedef struct ev_slot {
    const ev_fieldtab *tab;
    const ev_field_def *def;
    ev_field_arg arg;       /* arg.arg owned */
    char *name;             /* canonical "name" or "name[arg]" */
    const ev_event *evt;    /* cache key: event object and its generation */
    uint64_t gen;
    int n;                  /* cached number of values (0 = missing) */
    ev_vals vals;
} ev_slot;

struct ev_fieldtab {
    const ev_source *src;
    ev_slot **slots;
    size_t n, cap;
};

typedef enum ev_vx_kind {
    EV_VX_FIELD = 0,
    EV_VX_CONST,
    EV_VX_XFORM,
    EV_VX_TLIST,
} ev_vx_kind;

typedef enum ev_xf {
    EV_XF_TOLOWER = 0,
    EV_XF_TOUPPER,
    EV_XF_B64,
    EV_XF_BASENAME,
    EV_XF_LEN,
    EV_XF_JOIN,
    EV_XF_CONCAT,
    EV_XF_GETOPT,
    EV_XF_VAL,
} ev_xf;

typedef struct ev_vx ev_vx;
struct ev_vx {
    ev_vx_kind kind;
    ev_type type;       /* type of each value */
    bool list;          /* multi-valued */
    ev_slot *slot;      /* FIELD */
    ev_xf xf;           /* XFORM */
    ev_vx **args;       /* XFORM arguments / TLIST elements (owned) */
    size_t nargs;
    bool has_arg;       /* getopt [c] */
    char opt;
    ev_val cval;        /* CONST; cval.s owned */
    char *name;         /* canonical text (owned) */
};

/* Parse one transformer expression at the start of text (partial parse,
 * for output formats). *consumed gets the length used. (ev_parse.c) */
ev_ast *ev_parse_transformer_prefix(const char *text, size_t len,
                                    size_t *consumed, ev_parse_error *err);

/* Field table (ev_compile.c). */
ev_slot *ev_fieldtab_intern(ev_fieldtab *t, const ev_field_def *def,
                            const ev_field_arg *arg);
/* Extract a slot's values for evt into its cache (ev_compile.c). */
void ev_slot_fill(ev_slot *s, ev_event *evt);

/* Values of a slot for evt (cached). Returns the count, 0 = missing. */
static inline int ev_slot_get(ev_slot *s, ev_event *evt, const ev_val **out)
{
    if (s->evt != evt || s->gen != evt->gen)
        ev_slot_fill(s, evt);
    *out = s->vals.vals;
    return s->n;
}

/* Value expressions (ev_transform.c). */
/* Compile a FIELD / TRANSFORMER / VALUE node. NULL + message on error. */
ev_vx *ev_vx_compile(const ev_ast *n, ev_fieldtab *t, bool top, int *code,
                     char *err, size_t errlen);
void ev_vx_free(ev_vx *x);
/* Evaluate; returns the count, 0 or negative = missing (an empty transformer
 * list returns 0, a list with a missing element -1); *out is borrowed until
 * the event is reset. */
int ev_vx_eval(const ev_vx *x, ev_event *evt, const ev_val **out);
/* Append the names of plain fields used inside x (for output_fields). */
typedef void (*ev_vx_field_fn)(const ev_vx *field, void *ud);
void ev_vx_each_field(const ev_vx *x, ev_vx_field_fn fn, void *ud);

/* Operators (ev_ops.c). */
typedef enum ev_op {
    EV_OP_EQ = 0, EV_OP_NE, EV_OP_LT, EV_OP_LE, EV_OP_GT, EV_OP_GE,
    EV_OP_CONTAINS, EV_OP_ICONTAINS, EV_OP_BCONTAINS, EV_OP_STARTSWITH,
    EV_OP_BSTARTSWITH, EV_OP_ENDSWITH, EV_OP_GLOB, EV_OP_IGLOB, EV_OP_REGEX,
    EV_OP_IN, EV_OP_INTERSECTS, EV_OP_PMATCH, EV_OP_EXISTS, EV_OP__COUNT
} ev_op;

typedef enum ev_mod { EV_MOD_NONE = 0, EV_MOD_ONEOF, EV_MOD_ANYOF, EV_MOD_ALLOF } ev_mod;

/* Pre-parsed literal of a check. */
typedef struct ev_lit {
    ev_val v;           /* v.s owned (NUL-terminated copy) */
    bool net;           /* IP literal written as addr/prefix */
    regex_t *re;        /* REGEX */
    const char **comps; /* PMATCH: path components (point into v.s copy) */
    size_t *comp_lens;
    size_t ncomps;
    char *compbuf;
} ev_lit;

/* Shapes of checks that evaluation handles inline (chosen at compile time);
 * EV_FAST_NONE goes through the general ev_check_eval(). */
typedef enum ev_fast {
    EV_FAST_NONE = 0,
    EV_FAST_EXISTS,     /* field exists */
    EV_FAST_STR_EQ,     /* single-valued string field = one literal */
    EV_FAST_STR_NE,     /* single-valued string field != one literal */
    EV_FAST_STR_IN,     /* single-valued string field in/intersects literals */
    EV_FAST_STR_PREFIX, /* single-valued string field startswith one literal */
    EV_FAST_STR_SUFFIX, /* ... endswith one literal */
    EV_FAST_STR_CONTAINS, /* ... contains one literal */
} ev_fast;

typedef struct ev_check {
    ev_fast fast;
    ev_op op;
    ev_mod mod;
    ev_vx *lhs;
    ev_vx *rhs;         /* right-hand field, or NULL */
    ev_lit *lits;       /* literals (sorted for IN/INTERSECTS without modifier) */
    size_t nlits;
    bool sorted;
    /* String sets (sorted string/bytes literals): a length filter (bit
     * len & 63 set for every literal length) and, for larger sets, an
     * open-addressing hash table of literal index + 1 (0 = empty). */
    uint64_t lenmask;
    uint32_t *hset;
    size_t hmask;
} ev_check;

/* Compile context shared by ev_compile.c and ev_literal.c. */
typedef struct ev_cctx {
    ev_fieldtab *tab;
    ev_warnings *w;
    int *code;
    char *err;
    size_t errlen;
} ev_cctx;

/* Record a compile error (code and message). */
void ev_cctx_err(ev_cctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse one literal for chk's left type and operator; adds warnings. */
bool ev_literal_parse(ev_cctx *c, const ev_check *chk, const ev_ast *val, ev_lit *l);
void ev_lit_fini(ev_lit *l);

/* Map an op string ("==", "in", ...) to ev_op; -1 if unknown. */
int ev_op_from_str(const char *s, size_t len);
const char *ev_op_name(ev_op op);
/* Evaluate one check on an event. */
bool ev_check_eval(const ev_check *c, ev_event *evt);
/* Evaluate a literal check (no right-hand field) on given left values
 * (n > 0), as ev_check_eval() does once it has them. */
bool ev_check_eval_vals(const ev_check *c, const ev_val *v, int n, ev_event *evt);
/* Prepare the fast shape and string set of a compiled check.  Returns false
 * on OOM. (ev_ops.c) */
bool ev_check_prepare(ev_check *c);

/* Hash of a byte string (sets and indexes). */
static inline uint64_t ev_hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)(unsigned char)s[i] << (8 * i);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    return h;
}

/* Is the string s (n bytes) one of the check's literals?  Needs c->lenmask
 * (any string set); uses the hash table when there is one. */
static inline bool ev_strset_has(const ev_check *c, const char *s, size_t n)
{
    if (!((c->lenmask >> (n & 63)) & 1))
        return false;
    if (c->hset) {
        for (size_t i = (size_t)ev_hash_bytes(s, n) & c->hmask;; i = (i + 1) & c->hmask) {
            uint32_t k = c->hset[i];
            if (!k)
                return false;
            const ev_val *l = &c->lits[k - 1].v;
            if (l->len == n && (n == 0 || memcmp(l->s, s, n) == 0))
                return true;
        }
    }
    for (size_t i = 0; i < c->nlits; i++) {
        const ev_val *l = &c->lits[i].v;
        if (l->len == n && (n == 0 || (l->s[0] == s[0] && memcmp(l->s, s, n) == 0)))
            return true;
    }
    return false;
}

/*
 * `contains`: true when needle n (nl >= 1 bytes) occurs in h.  Field values
 * are mostly short (names, ARNs, user agents), where glibc's memmem spends
 * more on preparing the needle than on searching; a memchr for the first
 * byte then a memcmp is cheaper there.  Its worst case is hl x nl, so long
 * values (attacker-chosen request text) go to memmem, which is linear.
 */
static inline bool ev_str_contains(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl > hl)
        return false;
    if (hl > 256)
        return memmem(h, hl, n, nl) != NULL;
    const char *end = h + (hl - nl) + 1;    /* one past the last start */
    for (const char *p = h; p < end; p++) {
        p = memchr(p, (unsigned char)n[0], (size_t)(end - p));
        if (!p)
            return false;
        if (memcmp(p + 1, n + 1, nl - 1) == 0)
            return true;
    }
    return false;
}

/* Evaluate a check, with the common shapes inline. */
static inline bool ev_check_eval_inl(const ev_check *c, ev_event *evt)
{
    const ev_val *v;
    int n;
    switch (c->fast) {
    case EV_FAST_EXISTS:
        return ev_slot_get(c->lhs->slot, evt, &v) > 0;
    case EV_FAST_STR_EQ:
    case EV_FAST_STR_NE: {
        if (ev_slot_get(c->lhs->slot, evt, &v) <= 0)
            return false;
        size_t vl = v->s ? v->len : 0;
        const ev_val *r = &c->lits[0].v;
        bool eq = vl == r->len && (vl == 0 || (v->s[0] == r->s[0] && memcmp(v->s, r->s, vl) == 0));
        return c->fast == EV_FAST_STR_EQ ? eq : !eq;
    }
    case EV_FAST_STR_PREFIX:
    case EV_FAST_STR_SUFFIX:
    case EV_FAST_STR_CONTAINS: {
        if (ev_slot_get(c->lhs->slot, evt, &v) <= 0)
            return false;
        const char *vs = v->s ? v->s : "";
        size_t vl = v->s ? v->len : 0;
        const ev_val *r = &c->lits[0].v;
        if (vl < r->len)
            return false;
        if (r->len == 0)
            return true;
        if (c->fast == EV_FAST_STR_PREFIX)
            return vs[0] == r->s[0] && memcmp(vs, r->s, r->len) == 0;
        if (c->fast == EV_FAST_STR_SUFFIX)
            return vs[vl - r->len] == r->s[0] &&
                   memcmp(vs + vl - r->len, r->s, r->len) == 0;
        return ev_str_contains(vs, vl, r->s, r->len);
    }
    case EV_FAST_STR_IN:
        if ((n = ev_slot_get(c->lhs->slot, evt, &v)) <= 0)
            return false;
        if (n != 1)
            return ev_check_eval_vals(c, v, n, evt);
        return ev_strset_has(c, v->s ? v->s : "", v->s ? v->len : 0);
    default:
        return ev_check_eval(c, evt);
    }
}
/* Compare two values of type t with op (scalar semantics; lit may carry a
 * compiled regex / pmatch components). */
bool ev_op_apply(ev_op op, ev_type t, const ev_val *v, const ev_val *r,
                 const ev_lit *lit, ev_event *evt);
/* Order of values for sorted sets: <0, 0, >0. */
int ev_val_cmp(ev_type t, const ev_val *a, const ev_val *b);
/* Length of a string value.  String values are normalised to end at their
 * first NUL where they enter the engine (ev_slot_get, constants, b64), so
 * this is just len. */
static inline size_t ev_cstrlen(const ev_val *v)
{
    return v->s ? v->len : 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left); 0 if invalid
 * (ev_output.c). */
size_t ev_utf8_len(const unsigned char *s, size_t n);

/* Text rendering of one value (ev_output.c). */
struct ev_strbuf;
void ev_val_render(struct ev_strbuf *b, ev_type t, const ev_val *v);

#endif /* EV_PRIV_H */
