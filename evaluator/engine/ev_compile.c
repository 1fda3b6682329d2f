/*
 * ev_compile.c - field tables, filter compilation (spec section 3) and the
 * boolean evaluation of compiled filters.  Owner: engine core.
 *
 * DESIGN
 * The AST is turned into a tree of ev_node: and/or/not or a check.  Each
 * check has a left value expression, an operator (+ modifier) validated
 * against the left type, and either a right-hand value expression or
 * literals parsed once for the left type (ev_lit).  Literals of plain
 * in/intersects are sorted so evaluation is a binary search (string sets
 * also get a length filter and, above 8 literals, a hash table:
 * ev_check_prepare).  The tree is then flattened into an evaluation
 * program (s_emit).  Spec 3.6 warnings are appended to the caller's
 * ev_warnings.
 */
#include "ev_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- warnings ------------------------------------------------------------ */

void ev_warnings_init(ev_warnings *w) { memset(w, 0, sizeof(*w)); }

void ev_warnings_fini(ev_warnings *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    memset(w, 0, sizeof(*w));
}

int ev_warnings_add(ev_warnings *w, const char *msg)
{
    if (!w)
        return 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4;
        char **v = realloc(w->v, cap * sizeof(*v));
        if (!v)
            return EV_ERR_NOMEM;
        w->v = v;
        w->cap = cap;
    }
    if (!(w->v[w->n] = strdup(msg)))
        return EV_ERR_NOMEM;
    w->n++;
    return 0;
}

/* --- field table --------------------------------------------------------- */

ev_fieldtab *ev_fieldtab_new(const ev_source *src)
{
    ev_fieldtab *t = calloc(1, sizeof(*t));
    if (t)
        t->src = src;
    return t;
}

void ev_fieldtab_free(ev_fieldtab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free((char *)t->slots[i]->arg.arg);
        free(t->slots[i]->name);
        free(t->slots[i]);
    }
    free(t->slots);
    free(t);
}

const ev_source *ev_fieldtab_source(const ev_fieldtab *t) { return t->src; }
size_t ev_fieldtab_size(const ev_fieldtab *t) { return t->n; }

ev_slot *ev_fieldtab_intern(ev_fieldtab *t, const ev_field_def *def,
                            const ev_field_arg *arg)
{
    for (size_t i = 0; i < t->n; i++) {
        ev_slot *s = t->slots[i];
        if (s->def == def && s->arg.has_arg == arg->has_arg &&
            (!arg->has_arg || (s->arg.arg_len == arg->arg_len &&
                               memcmp(s->arg.arg, arg->arg, arg->arg_len) == 0)))
            return s;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        ev_slot **v = realloc(t->slots, cap * sizeof(*v));
        if (!v)
            return NULL;
        t->slots = v;
        t->cap = cap;
    }
    ev_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->tab = t;
    s->def = def;
    s->arg = *arg;
    if (arg->has_arg) {
        char *a = malloc(arg->arg_len + 1);
        if (!a) {
            free(s);
            return NULL;
        }
        memcpy(a, arg->arg, arg->arg_len);
        a[arg->arg_len] = '\0';
        s->arg.arg = a;
        ev_ast tmp = {.kind = EV_AST_FIELD, .str = (char *)def->name,
                      .len = strlen(def->name), .has_arg = true, .arg = a,
                      .arg_len = arg->arg_len};
        s->name = ev_ast_to_string(&tmp);
    } else {
        s->arg.arg = NULL;
        s->name = strdup(def->name);
    }
    if (!s->name) {
        free((char *)s->arg.arg);
        free(s);
        return NULL;
    }
    t->slots[t->n++] = s;
    return s;
}

ev_fieldref *ev_fieldtab_ref(ev_fieldtab *t, const ev_field_def *def)
{
    ev_field_arg arg = {0};
    return ev_fieldtab_intern(t, def, &arg);
}

int ev_fieldref_get(ev_fieldref *r, ev_event *evt, const ev_val **vals)
{
    return ev_slot_get(r, evt, vals);
}

void ev_slot_fill(ev_slot *s, ev_event *evt)
{
    const ev_source *src = s->tab->src;
    s->evt = evt;
    s->gen = evt->gen;
    s->vals.vals = s->vals.inline_vals;
    s->vals.n = 0;
    int r = src->extract(src->ud, evt, s->def, &s->arg, &s->vals);
    s->n = r > 0 ? r : 0;
    if (s->def->type == EV_TYPE_STRING) {
        /* C-string semantics: a value ends at its first NUL.  Done once
         * here so that comparisons can use (ptr, len) directly. */
        for (int i = 0; i < s->n; i++) {
            ev_val *v = &s->vals.vals[i];
            const char *z = v->s ? memchr(v->s, '\0', v->len) : NULL;
            if (z)
                v->len = (size_t)(z - v->s);
        }
    }
}

/* --- compiled tree ------------------------------------------------------- */

typedef enum { S_AND, S_OR, S_NOT, S_CHECK } s_kind;

typedef struct s_node s_node;
struct s_node {
    s_kind kind;
    s_node **kids;
    size_t n;
    ev_check chk;       /* S_CHECK: embedded to save a pointer chase */
};

/*
 * Evaluation program: the tree flattened into checks with jump targets
 * (the usual short-circuit translation).  Step i evaluates prog[i].chk and
 * continues at prog[i].t when it is true, prog[i].f when false; S_TRUE and
 * S_FALSE end the evaluation.  and/or/not become targets, so the checks run
 * in exactly the order and under exactly the conditions of a left-to-right
 * short-circuit evaluation of the tree, without recursion.
 */
#define S_TRUE (-1)
#define S_FALSE (-2)

typedef struct s_step {
    const ev_check *chk;
    int t, f;
} s_step;

struct ev_filter {
    s_node *root;
    s_step *prog;
    size_t nprog;
    int entry;          /* first step, or S_TRUE / S_FALSE */
};

static size_t s_count_checks(const s_node *n)
{
    if (n->kind == S_CHECK)
        return 1;
    size_t c = 0;
    for (size_t i = 0; i < n->n; i++)
        c += s_count_checks(n->kids[i]);
    return c;
}

/* Emit n so that it continues at t when true, f when false; returns its
 * entry.  Operands are emitted last to first, since an operand's targets
 * are the entry of the next one. */
static int s_emit(const s_node *n, int t, int f, s_step *prog, size_t *used)
{
    switch (n->kind) {
    case S_AND:
    case S_OR: {
        if (n->n == 0)
            return n->kind == S_AND ? t : f;
        int next = -3;
        for (size_t i = n->n; i-- > 0;) {
            if (i == n->n - 1)
                next = s_emit(n->kids[i], t, f, prog, used);
            else if (n->kind == S_AND)
                next = s_emit(n->kids[i], next, f, prog, used);
            else
                next = s_emit(n->kids[i], t, next, prog, used);
        }
        return next;
    }
    case S_NOT:
        return s_emit(n->kids[0], f, t, prog, used);
    default: {
        int i = (int)(*used)++;
        prog[i].chk = &n->chk;
        prog[i].t = t;
        prog[i].f = f;
        return i;
    }
    }
}

typedef ev_cctx s_ctx;

void ev_cctx_err(ev_cctx *c, int code, const char *fmt, ...)
{
    if (c->code)
        *c->code = code;
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
}

void ev_lit_fini(ev_lit *l)
{
    free((char *)l->v.s);
    if (l->re) {
        regfree(l->re);
        free(l->re);
    }
    free(l->comps);
    free(l->comp_lens);
    free(l->compbuf);
}

static void s_check_fini(ev_check *c)
{
    ev_vx_free(c->lhs);
    ev_vx_free(c->rhs);
    for (size_t i = 0; i < c->nlits; i++)
        ev_lit_fini(&c->lits[i]);
    free(c->lits);
    free(c->hset);
}

static void s_check_free(ev_check *c)
{
    if (!c)
        return;
    s_check_fini(c);
    free(c);
}

static void s_node_free(s_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        s_node_free(n->kids[i]);
    free(n->kids);
    if (n->kind == S_CHECK)
        s_check_fini(&n->chk);
    free(n);
}

void ev_filter_free(ev_filter *f)
{
    if (!f)
        return;
    s_node_free(f->root);
    free(f->prog);
    free(f);
}

/* Operator families allowed per left type (spec 3.2). */
static bool s_op_allowed(ev_type t, bool list, ev_op op, const char **family)
{
    if (op == EV_OP_EXISTS)
        return true;
    if (list) {
        *family = "list";
        return op == EV_OP_IN || op == EV_OP_INTERSECTS;
    }
    switch (t) {
    case EV_TYPE_STRING:
        *family = "string";
        return op != EV_OP_BCONTAINS && op != EV_OP_BSTARTSWITH;
    case EV_TYPE_BOOL:
        *family = "numeric";
        return op == EV_OP_EQ || op == EV_OP_NE || op == EV_OP_IN ||
               op == EV_OP_INTERSECTS;
    case EV_TYPE_IPADDR:
    case EV_TYPE_IPNET:
        *family = "ip address and network";
        return op == EV_OP_EQ || op == EV_OP_NE || op == EV_OP_IN ||
               op == EV_OP_INTERSECTS;
    case EV_TYPE_BYTES:
        *family = "buffer";
        return op == EV_OP_EQ || op == EV_OP_NE || op == EV_OP_CONTAINS ||
               op == EV_OP_STARTSWITH || op == EV_OP_ENDSWITH ||
               op == EV_OP_BCONTAINS || op == EV_OP_BSTARTSWITH ||
               op == EV_OP_IN || op == EV_OP_INTERSECTS;
    default:
        *family = "numeric";
        return op <= EV_OP_GE || op == EV_OP_IN || op == EV_OP_INTERSECTS;
    }
}

static int s_lit_cmp(const void *a, const void *b, void *ud)
{
    return ev_val_cmp(*(const ev_type *)ud, &((const ev_lit *)a)->v,
                      &((const ev_lit *)b)->v);
}

static const char *s_vx_label(const ev_vx *x)
{
    if (x->kind == EV_VX_XFORM && x->xf == EV_XF_VAL)
        return x->args[0]->name;
    return x->name;
}

static ev_check *s_compile_check(s_ctx *c, const ev_ast *n)
{
    ev_check *chk = calloc(1, sizeof(*chk));
    if (!chk) {
        ev_cctx_err(c, EV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    const char *sp = memchr(n->str, ' ', n->len);
    size_t oplen = sp ? (size_t)(sp - n->str) : n->len;
    int op = ev_op_from_str(n->str, oplen);
    if (op < 0) {
        ev_cctx_err(c, EV_ERR_COMPILE, "filter error: unknown operator '%s'", n->str);
        goto fail;
    }
    chk->op = (ev_op)op;
    if (sp) {
        const char *m = sp + 1;
        chk->mod = !strcmp(m, "oneof") ? EV_MOD_ONEOF : !strcmp(m, "anyof") ?
                   EV_MOD_ANYOF : !strcmp(m, "allof") ? EV_MOD_ALLOF : EV_MOD_NONE;
        if (chk->mod == EV_MOD_NONE) {
            ev_cctx_err(c, EV_ERR_COMPILE, "filter error: unknown operator '%s'", n->str);
            goto fail;
        }
    }
    chk->lhs = ev_vx_compile(n->kids[0], c->tab, true, c->code, c->err, c->errlen);
    if (!chk->lhs)
        goto fail;
    const char *family = "";
    if (!s_op_allowed(chk->lhs->type, chk->lhs->list, chk->op, &family) ||
        (chk->mod && (chk->lhs->type == EV_TYPE_IPADDR || chk->lhs->type == EV_TYPE_IPNET) &&
         chk->op != EV_OP_EQ && chk->op != EV_OP_NE)) {
        if (!strcmp(family, "list"))
            ev_cctx_err(c, EV_ERR_COMPILE, "filter error: '%s' operator not supported list filters",
                  ev_op_name(chk->op));
        else
            ev_cctx_err(c, EV_ERR_COMPILE, "filter error: '%s' operator not supported for %s filters",
                  n->str, family);
        goto fail;
    }
    if (chk->op == EV_OP_EXISTS)
        goto done;
    const ev_ast *r = n->kids[1];
    if (r->kind == EV_AST_TRANSFORMER || r->kind == EV_AST_FIELD) {
        if (chk->op == EV_OP_PMATCH || chk->op == EV_OP_REGEX || chk->mod ||
            chk->lhs->type == EV_TYPE_IPNET) {
            ev_cctx_err(c, EV_ERR_COMPILE, "filter error: '%s' operator does not support "
                  "a field on the right-hand side", n->str);
            goto fail;
        }
        chk->rhs = ev_vx_compile(r, c->tab, true, c->code, c->err, c->errlen);
        if (!chk->rhs)
            goto fail;
        if (chk->rhs->type != chk->lhs->type || chk->rhs->list != chk->lhs->list) {
            ev_cctx_err(c, EV_ERR_COMPILE, "field '%s' has type '%s%s' while the right-hand "
                  "side field '%s' has incompatible type '%s%s'", s_vx_label(chk->lhs),
                  ev_type_name(chk->lhs->type), chk->lhs->list ? " (list)" : "",
                  s_vx_label(chk->rhs), ev_type_name(chk->rhs->type),
                  chk->rhs->list ? " (list)" : "");
            goto fail;
        }
        goto done;
    }
    const ev_ast *const *items = (const ev_ast *const *)&r;
    size_t nitems = 1;
    if (r->kind == EV_AST_LIST) {
        items = (const ev_ast *const *)r->kids;
        nitems = r->nkids;
    } else if (r->kind != EV_AST_VALUE) {
        ev_cctx_err(c, EV_ERR_COMPILE, "filter error: unexpected right-hand side");
        goto fail;
    }
    chk->lits = calloc(nitems ? nitems : 1, sizeof(*chk->lits));
    if (!chk->lits) {
        ev_cctx_err(c, EV_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nitems; i++) {
        chk->nlits = i + 1;
        if (!ev_literal_parse(c, chk, items[i], &chk->lits[i]))
            goto fail;
    }
    ev_type t = chk->lhs->type;
    if (!chk->mod && (chk->op == EV_OP_IN || chk->op == EV_OP_INTERSECTS) &&
        t != EV_TYPE_IPADDR && t != EV_TYPE_IPNET) {
        qsort_r(chk->lits, chk->nlits, sizeof(*chk->lits), s_lit_cmp, &t);
        chk->sorted = true;
    }
done:
    if (!ev_check_prepare(chk)) {
        ev_cctx_err(c, EV_ERR_NOMEM, "out of memory");
        goto fail;
    }
    return chk;
fail:
    s_check_free(chk);
    return NULL;
}

static s_node *s_compile(s_ctx *c, const ev_ast *a)
{
    s_node *n = calloc(1, sizeof(*n));
    if (!n) {
        ev_cctx_err(c, EV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    switch (a->kind) {
    case EV_AST_AND:
    case EV_AST_OR:
    case EV_AST_NOT:
        n->kind = a->kind == EV_AST_AND ? S_AND : a->kind == EV_AST_OR ? S_OR : S_NOT;
        n->kids = calloc(a->nkids ? a->nkids : 1, sizeof(*n->kids));
        if (!n->kids) {
            ev_cctx_err(c, EV_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < a->nkids; i++) {
            if (!(n->kids[i] = s_compile(c, a->kids[i])))
                goto fail;
            n->n = i + 1;
        }
        return n;
    case EV_AST_UNARY:
    case EV_AST_BINARY:
    {
        ev_check *chk = s_compile_check(c, a);
        if (!chk)
            goto fail;
        n->kind = S_CHECK;
        n->chk = *chk;
        free(chk);
        return n;
    }
    case EV_AST_IDENT:
        ev_cctx_err(c, EV_ERR_UNDEFINED_MACRO, "Undefined macro '%s' used in filter.", a->str);
        goto fail;
    default:
        ev_cctx_err(c, EV_ERR_COMPILE, "filter error: unexpected expression");
        goto fail;
    }
fail:
    s_node_free(n);
    return NULL;
}

ev_filter *ev_filter_compile(const ev_ast *ast, ev_fieldtab *tab,
                             ev_warnings *w, int *errcode,
                             char *err, size_t errlen)
{
    s_ctx c = {.tab = tab, .w = w, .code = errcode, .err = err, .errlen = errlen};
    if (errcode)
        *errcode = 0;
    if (!ast) {
        ev_cctx_err(&c, EV_ERR_COMPILE, "filter error: empty condition");
        return NULL;
    }
    ev_filter *f = calloc(1, sizeof(*f));
    if (!f) {
        ev_cctx_err(&c, EV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (!(f->root = s_compile(&c, ast))) {
        free(f);
        return NULL;
    }
    size_t nchk = s_count_checks(f->root);
    f->prog = calloc(nchk ? nchk : 1, sizeof(*f->prog));
    if (!f->prog) {
        ev_filter_free(f);
        ev_cctx_err(&c, EV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    f->nprog = nchk;
    size_t used = 0;
    f->entry = s_emit(f->root, S_TRUE, S_FALSE, f->prog, &used);
    return f;
}

ev_filter *ev_filter_compile_text(const char *cond, ev_fieldtab *tab,
                                  unsigned max_depth, ev_warnings *w,
                                  int *errcode, char *err, size_t errlen)
{
    ev_parse_error pe;
    ev_ast *ast = ev_parse(cond, strlen(cond), max_depth, &pe);
    if (!ast) {
        if (errcode)
            *errcode = EV_ERR_PARSE;
        if (err && errlen)
            snprintf(err, errlen, "%s", pe.msg);
        return NULL;
    }
    ev_filter *f = ev_filter_compile(ast, tab, w, errcode, err, errlen);
    ev_ast_free(ast);
    return f;
}

bool ev_filter_eval(const ev_filter *f, ev_event *evt)
{
    if (!f)
        return false;
    int i = f->entry;
    while (i >= 0) {
        const s_step *st = &f->prog[i];
        i = ev_check_eval_inl(st->chk, evt) ? st->t : st->f;
    }
    return i == S_TRUE;
}

static int s_given(const s_node *n, const ev_slot *field, const ev_val *v, int nv,
                   ev_event *evt)
{
    switch (n->kind) {
    case S_AND:
    case S_OR: {
        /* the absorbing value decides; else unknown if any operand is */
        int absorb = n->kind == S_AND ? EV_TRI_FALSE : EV_TRI_TRUE;
        int r = n->kind == S_AND ? EV_TRI_TRUE : EV_TRI_FALSE;
        for (size_t i = 0; i < n->n; i++) {
            int k = s_given(n->kids[i], field, v, nv, evt);
            if (k == absorb)
                return absorb;
            if (k == EV_TRI_UNKNOWN)
                r = EV_TRI_UNKNOWN;
        }
        return r;
    }
    case S_NOT: {
        int k = s_given(n->kids[0], field, v, nv, evt);
        return k == EV_TRI_UNKNOWN ? k : k == EV_TRI_TRUE ? EV_TRI_FALSE : EV_TRI_TRUE;
    }
    default: {
        const ev_check *c = &n->chk;
        if (c->lhs->kind != EV_VX_FIELD || c->lhs->slot != field)
            return EV_TRI_UNKNOWN;
        if (nv <= 0)
            return EV_TRI_FALSE;     /* every check on a missing value is false */
        if (c->rhs)
            return EV_TRI_UNKNOWN;
        return ev_check_eval_vals(c, v, nv, evt) ? EV_TRI_TRUE : EV_TRI_FALSE;
    }
    }
}

int ev_filter_eval_given(const ev_filter *f, const ev_fieldref *field,
                         const ev_val *v, int n, ev_event *evt)
{
    if (!f || !field)
        return EV_TRI_UNKNOWN;
    return s_given(f->root, field, v, n, evt);
}

int ev_lhs_check(const char *text, ev_fieldtab *tab, char *err, size_t errlen)
{
    size_t len = strlen(text);
    char *cond = malloc(len + 8);
    if (!cond)
        return EV_ERR_NOMEM;
    memcpy(cond, text, len);
    memcpy(cond + len, " exists", 8);
    ev_parse_error pe;
    ev_ast *ast = ev_parse(cond, len + 7, 0, &pe);
    free(cond);
    if (!ast || ast->kind != EV_AST_UNARY) {
        if (err && errlen)
            snprintf(err, errlen, "%s", ast ? "not a field expression" : pe.msg);
        ev_ast_free(ast);
        return EV_ERR_PARSE;
    }
    int code = 0;
    ev_vx *x = ev_vx_compile(ast->kids[0], tab, true, &code, err, errlen);
    ev_ast_free(ast);
    if (!x)
        return code ? code : EV_ERR_COMPILE;
    ev_vx_free(x);
    return 0;
}
