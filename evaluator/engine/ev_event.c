/*
 * ev_event.c - event lifecycle and source lookups; see ev_field.h.
 */
#include "ev_field.h"

#include <string.h>

/*
 * Generations are unique across the process, not per event: the engine's
 * value cache is keyed by (event address, generation), and a new event that
 * happens to reuse the address of an old one must not see its values.  The
 * counter is the one piece of process-wide state here; it only ever hands
 * out fresh numbers, so it is safe from any thread.
 */
static uint64_t s_next_gen(void)
{
    static _Atomic uint64_t counter;
    return ++counter;
}

void ev_event_init(ev_event *evt)
{
    memset(evt, 0, sizeof(*evt));
    ev_arena_init(&evt->arena);
}

void ev_event_reset(ev_event *evt, void *payload, uint64_t ts_ns, uint64_t num)
{
    evt->payload = payload;
    evt->ts_ns = ts_ns;
    evt->num = num;
    evt->gen = s_next_gen();
    ev_arena_reset(&evt->arena);
}

void ev_event_fini(ev_event *evt)
{
    ev_arena_fini(&evt->arena);
}

const char *ev_type_name(ev_type t)
{
    static const char *const names[EV_TYPE__COUNT] = {
        [EV_TYPE_STRING] = "string",   [EV_TYPE_UINT64] = "uint64",
        [EV_TYPE_INT64] = "int64",     [EV_TYPE_BOOL] = "bool",
        [EV_TYPE_DOUBLE] = "double",   [EV_TYPE_RELTIME] = "reltime",
        [EV_TYPE_ABSTIME] = "abstime", [EV_TYPE_IPADDR] = "ipaddr",
        [EV_TYPE_IPNET] = "ipnet",     [EV_TYPE_BYTES] = "bytebuf",
    };
    if ((unsigned)t >= EV_TYPE__COUNT)
        return "unknown";
    return names[t];
}

const ev_field_def *ev_source_find(const ev_source *src, const char *name, size_t len)
{
    for (size_t i = 0; i < src->nfields; i++) {
        const char *n = src->fields[i].name;
        if (strncmp(n, name, len) == 0 && n[len] == '\0')
            return &src->fields[i];
    }
    return NULL;
}
