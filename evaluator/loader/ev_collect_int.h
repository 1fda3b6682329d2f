/*
 * ev_collect_int.h - helpers shared by the collector's two files
 * (ev_collect.c: documents, lists, macros, requirements; ev_collect_rule.c:
 * rules and exceptions).  Owner: rules loader.  Private.
 */
#ifndef EV_COLLECT_INT_H
#define EV_COLLECT_INT_H

#include "ev_loader_int.h"

#define E_YAML "LOAD_ERR_YAML_VALIDATE"
#define E_VAL "LOAD_ERR_VALIDATE"

typedef struct ld_item {
    ev_engine *e;
    const ev_ynode *n;
    const char *type;       /* "rule", "macro", ... */
    const char *name;       /* "" until decoded */
    ld_mark mark;
} ld_item;

#define S_ERR(it, code, ...) \
    (ld_diag((it)->e, true, code, (it)->type, (it)->name, &(it)->mark, __VA_ARGS__), -1)
#define S_WARN(it, code, ...) \
    ld_diag((it)->e, false, code, (it)->type, (it)->name, &(it)->mark, __VA_ARGS__)

typedef struct ld_ovr {
    const ev_ynode *map;    /* NULL when absent */
    bool any_append, any_replace;
    const char *first_append, *first_replace;
} ld_ovr;

int ld_req_str(ld_item *it, const ev_ynode *map, const char *key, const char **out);
int ld_opt_str(ld_item *it, const ev_ynode *map, const char *key, const char **out);
int ld_opt_bool(ld_item *it, const ev_ynode *map, const char *key, bool *out);
int ld_opt_u64(ld_item *it, const ev_ynode *map, const char *key, uint64_t *out);
int ld_seq(ld_item *it, const ev_ynode *v, ld_strv *out);
void ld_warn_unknown_keys(ld_item *it, const ev_ynode *map, const char *const *known);
int ld_ovr_check(ld_item *it, const ev_ynode *entry, ld_ovr *o,
                 const char *const *app, const char *const *rep);
const char *ld_ovr_op(const ld_ovr *o, const char *key);
int ld_append_flag(ld_item *it, const ev_ynode *entry, bool *append);
int ld_collect_rule(ld_item *it);

#endif /* EV_COLLECT_INT_H */
