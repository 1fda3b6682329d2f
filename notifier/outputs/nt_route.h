/*
 * nt_route.h - per-output routing: which alerts an output receives.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * An alert passes when all of these hold:
 *   - its priority is at least min_priority (Falco order; "warning" lets
 *     warning, error, critical, alert and emergency through);
 *   - rules is empty, or its rule matches an entry of rules;
 *   - its rule matches no entry of rules_exclude;
 *   - tags is empty, or one of its tags matches an entry of tags;
 *   - none of its tags matches an entry of tags_exclude.
 * An entry matches exactly, or, when it ends with '*', as a prefix
 * ("CIS_AWS_*").  Matching is case-sensitive, like Falco names.
 */
#ifndef NT_ROUTE_H
#define NT_ROUTE_H

#include "nt_alert.h"
#include "nt_conf.h"

typedef struct nt_route {
    int min_priority;          /* NT_PRIO_*; NT_PRIO_DEBUG = everything */
    nt_strlist rules;
    nt_strlist rules_exclude;
    nt_strlist tags;
    nt_strlist tags_exclude;
} nt_route;

/* True when pattern p (exact, or prefix when it ends with '*') matches
 * the n bytes at s. */
int nt_route_match(const char *p, const char *s, size_t n);

/* True when the alert should go to the output. */
int nt_route_pass(const nt_route *r, const nt_alert *a);

#endif /* NT_ROUTE_H */
