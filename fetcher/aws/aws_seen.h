/*
 * aws_seen.h - a bounded set of strings with oldest-first eviction (the
 * S3 source's "seen keys", the SNS endpoint's MessageId dedup).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#ifndef AWS_SEEN_H
#define AWS_SEEN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct aws_seen aws_seen;

/* max entries (>= 1).  Caller owns result; free with aws_seen_free(). */
aws_seen *aws_seen_new(size_t max);
void aws_seen_free(aws_seen *s);
bool aws_seen_has(const aws_seen *s, const char *key);
/* Insert (copied); evicts the oldest entry when full.  Returns false if
 * the key was already present. */
bool aws_seen_add(aws_seen *s, const char *key);
void aws_seen_remove(aws_seen *s, const char *key);
size_t aws_seen_count(const aws_seen *s);

#endif
