/*
 * nt_sink_output.h - the output modules as the notifier daemon's
 * nt_output (notifier/nt_output.h, owned by the pipeline part).
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * Each configured sink is wrapped in an nt_output whose write() submits
 * the batch (nt_sink_submit), sends it at once (nt_sink_flush: the daemon
 * hands over the next batch only after this one, so there is nothing to
 * wait for) and returns NT_OUTPUT_PENDING; done(ud,
 * status) follows once, from the loop, with
 *     0            every alert delivered, durably spooled, filtered,
 *                  suppressed, or permanently rejected by the
 *                  destination (rejections are counted in
 *                  trailguard_output_failed_total and logged: retrying
 *                  them can never succeed, so the batch may be acked);
 *     -ECANCELED   the sink was closed before delivery: do not ack.
 * min_priority of the wrapper is NT_PRIO_DEBUG: each sink routes by its
 * own min_priority / rules / tags.  free() starts the sink's close; the
 * memory goes once its handles are closed (run the loop), and pending
 * writes are completed with -ECANCELED from inside free().
 *
 * Configuration: notifier.outputs is a YAML sequence of mappings, each
 * with `type` (stdout, file, webhook, http, syslog, securityhub,
 * cloudwatch), an optional `name`, and that type's settings (see
 * docs/outputs.md).  Nested mappings become dotted keys (headers.X-Key),
 * sequences of scalars comma-separated lists; errors name file:line:col.
 */
#ifndef NT_SINK_OUTPUT_H
#define NT_SINK_OUTPUT_H

#include <stddef.h>

#include "nt_output.h"
#include "nt_sink.h"
#include "tg_config.h"

/* One sink as an nt_output.  Caller owns result; release with
 * o->ops->free(o).  NULL with detail in err. */
nt_output *nt_sink_output_new(const nt_sink_env *env, const char *type,
                              const char *name, const nt_kv *props,
                              size_t nprops, char *err, size_t errlen);

/*
 * Create every output listed in `list` (a sequence; NULL or null = none)
 * into out[*n...max-1], advancing *n.  0, or -EINVAL with
 * "file:line:col: ..." in err (outputs created before the error stay in
 * out[] for the caller to free).
 */
int nt_sink_outputs_from_conf(const nt_sink_env *env, const tg_conf_node *list,
                              nt_output **out, size_t max, size_t *n,
                              char *err, size_t errlen);

/* The sink inside a wrapper made here (for stats), or NULL. */
nt_sink *nt_sink_output_sink(nt_output *o);

#endif /* NT_SINK_OUTPUT_H */
