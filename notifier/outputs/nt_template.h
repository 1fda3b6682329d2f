/*
 * nt_template.h - render an alert into a JSON body from a template.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * A template is JSON text with {{name}} placeholders.  String values are
 * inserted JSON-escaped *without* quotes, so they go inside quotes in the
 * template ("name":"{{rule}}"); JSON values are inserted as they are:
 *
 *   strings: id rule priority source output hostname time (RFC 3339, ns)
 *   JSON:    tags (array) json (Falco's alert object) output_fields
 *            (object, {} when none) record (CloudTrail record, null when
 *            none) time_ns severity (0 emergency .. 7 debug)
 *
 * Unknown placeholders are an error at parse time, never at render time.
 */
#ifndef NT_TEMPLATE_H
#define NT_TEMPLATE_H

#include <stddef.h>

#include "aws_buf.h"
#include "nt_alert.h"

/* Check a template; 0 or -EINVAL with the bad placeholder in err. */
int nt_template_check(const char *tmpl, char *err, size_t errlen);

/* Append the rendering of a checked template to out. */
void nt_template_render(const char *tmpl, const nt_alert *a, aws_buf *out);

/* Append s JSON-escaped (no quotes). */
void nt_json_escape(aws_buf *out, const char *s, size_t n);

/* Append the alert's output_fields object ("{}" when none). */
void nt_alert_fields(const nt_alert *a, aws_buf *out);

#endif /* NT_TEMPLATE_H */
