/*
 * fz_record.h - one fixed CloudTrail record for the rules fuzz targets,
 * decoded once with parser/decode exactly as the parser daemon does (JSON
 * -> msgpack map) and wrapped as the payload of an ev_event.
 * Owner: fuzzing (tests/fuzz/rules/).
 */
#ifndef FZ_RECORD_H
#define FZ_RECORD_H

#include <stdint.h>

#include <msgpack.h>

#include "ev_ct.h"

typedef struct fz_record {
    msgpack_sbuffer sb;     /* packed map */
    msgpack_unpacked up;    /* unpacked view of sb */
    char *raw;              /* copy of the record's JSON bytes */
    ev_ct_record rec;       /* borrows sb/raw */
    uint64_t ts_ns;
} fz_record;

/* Decode the built-in record into *r.  Returns 0, or -1 when decoding
 * failed (a bug in the decoder: the literal is valid). */
int fz_record_init(fz_record *r);
void fz_record_fini(fz_record *r);

#endif /* FZ_RECORD_H */
