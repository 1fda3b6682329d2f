/*
 * nt_suppress.h - drop repeats of the same (rule, principal) in a window.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * Off by default.  The key is the rule name plus the principal of the
 * CloudTrail record (userIdentity.arn, else principalId, else
 * sourceIPAddress; the rule alone when the record has none).  The first
 * alert for a key passes and opens a window of window_ms; repeats inside
 * it are suppressed (the caller counts them).  Entries are kept in an
 * open hash table and pruned lazily; the table is capped (max_keys) and
 * cleared wholesale when full, which only ever lets an extra alert pass.
 */
#ifndef NT_SUPPRESS_H
#define NT_SUPPRESS_H

#include <stdint.h>

#include "nt_alert.h"

typedef struct nt_suppress nt_suppress;

/* Caller owns result; free with nt_suppress_free().  NULL on ENOMEM. */
nt_suppress *nt_suppress_new(uint64_t window_ms, size_t max_keys);
void nt_suppress_free(nt_suppress *s);

/* 1 if the alert repeats a key seen less than window_ms before now_ms
 * (suppress it), else 0 (and the key's window starts now). */
int nt_suppress_check(nt_suppress *s, const nt_alert *a, uint64_t now_ms);

/* The principal used in the key, into buf ("" when none). */
void nt_suppress_principal(const nt_alert *a, char *buf, size_t len);

#endif /* NT_SUPPRESS_H */
