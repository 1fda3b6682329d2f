/*
 * ev_rectest.h - records for rule unit tests (`trailguard rules test`):
 * a YAML node that mirrors a CloudTrail record (a mapping), or a scalar
 * holding the record's JSON text, becomes the record's JSON text plus a
 * msgpack map mirroring it, i.e. what the parser would hand the evaluator.
 * Owner: rules loader.
 *
 * Plain YAML scalars true/false/null/~ and JSON-shaped numbers become JSON
 * literals; quoted scalars always stay strings.  Key order is kept.
 */
#ifndef EV_RECTEST_H
#define EV_RECTEST_H

#include <msgpack.h>

#include "ev_output.h"
#include "ev_yaml.h"

/*
 * Append the JSON text to json and the msgpack to mp.  Returns 0, or -1
 * with a message in err (a JSON string that does not parse, a non-mapping).
 */
int ev_rectest_record(const ev_ynode *n, ev_strbuf *json, msgpack_sbuffer *mp,
                      char *err, size_t errlen);

/* JSON text of one record -> msgpack appended to mp (jansson parse; key
 * order kept).  Returns 0 or -1 with a message in err. */
int ev_rectest_json(const char *json, size_t len, msgpack_sbuffer *mp, char *err, size_t errlen);

#endif /* EV_RECTEST_H */
