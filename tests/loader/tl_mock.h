/*
 * tl_mock.h - a tiny syscall-style mock source for the loader tests: a
 * fixed catalogue of string fields (evt.type, proc.name, ...) whose values
 * come from a NULL-terminated key/value array passed as the event payload.
 * A key that is absent is a missing field.
 */
#ifndef TL_MOCK_H
#define TL_MOCK_H

#include "ev_field.h"

typedef struct tl_kv {
    const char *k, *v;
} tl_kv;

/* Caller owns result; free with tl_mock_free(). */
ev_source *tl_mock_new(const char *source_name);
void tl_mock_free(ev_source *s);

#endif
