/*
 * test_ev_robust.c - bad input never crashes: deterministic mutations of
 * valid conditions and formats go through parse, print, clone, compile,
 * evaluate and render.  Meant to run under ASan/UBSan (make test).
 */
#include <stdlib.h>
#include <string.h>

#include "ev_filter.h"
#include "ev_output.h"
#include "ev_test_mock.h"
#include "tg_test.h"

static const char *const seeds[] = {
    "t.str = /usr/bin/x and not t.num > 3",
    "t.str in (a, 'b c', \"d\") or t.list intersects (a)",
    "toupper(t.str) == oneof (X, Y) and t.str glob '*x'",
    "join(',', (t.str, t.str2, 'q')) = 'a,b,q' or concat(t.str, t.str2) exists",
    "getopt(('-n', '-t', 'v'), 'nt:')[t] = v",
    "t.str regex '^a{2}(b|c)+$' and t.str pmatch (/usr, /opt/*)",
    "t.ip = 10.0.0.0/8 or t.net = 192.168.1.1 or t.bool != true",
    "t.buf bcontains 0a0b and len(t.buf) > 1 and b64(t.str) = x",
    "not not (t.map[\"k\"] = k and t.list[0] in (a)) and m",
    "t.str = val(t.str2) and basename(t.str) endswith x",
    "start %t.str %2t.num %toupper(t.str2) %t.map[/a/b] end",
    "*%t.list %t.missing %concat(t.str, '-')",
};

static const char *const frags[] = {
    "t.str", "t.num", "t.list", "t.ip", "t.buf", " and ", " or ", "not ", "(",
    ")", " in ", " = ", "toupper(", "val(", ",", "'", "\"", "\\", "[", "]",
    " oneof ", " glob ", " regex ", "{2", "0x", "1e+5", " exists", "b64(",
    "getopt(", "join(", "%", "%5", "\\x", "*",
};

static uint64_t s_next(uint64_t *st)
{
    uint64_t x = *st;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *st = x;
}

static void s_mutate(char *buf, size_t cap, uint64_t *rng)
{
    int m = (int)(s_next(rng) % 4) + 1;
    for (int k = 0; k < m; k++) {
        size_t l = strlen(buf);
        size_t p = l ? s_next(rng) % l : 0;
        int op = (int)(s_next(rng) % 3);
        if (op == 0 && l) {
            buf[p] = (char)(s_next(rng) % 255 + 1);
        } else if (op == 1 && l) {
            memmove(buf + p, buf + p + 1, l - p);
        } else {
            const char *fr = frags[s_next(rng) % (sizeof(frags) / sizeof(frags[0]))];
            size_t fl = strlen(fr);
            if (l + fl < cap - 1) {
                memmove(buf + p + fl, buf + p, l - p + 1);
                memcpy(buf + p, fr, fl);
            }
        }
    }
}

static void test_mutations(void)
{
    tm_state st;
    memset(&st, 0, sizeof(st));
    for (int i = 0; i < TM__N; i++)
        st.set[i] = i != TM_MISSING;
    st.str = "/usr/bin/x";
    st.str2 = "abc";
    st.ip_len = 4;
    st.net_len = 4;
    st.buf = "\x0a\x0b";
    st.buf_len = 2;
    st.list[0] = "a";
    st.nlist = 1;
    ev_source src;
    tm_source(&src, &st);
    ev_fieldtab *t = ev_fieldtab_new(&src);
    ev_event evt;
    ev_event_init(&evt);
    ev_strbuf b;
    ev_strbuf_init(&b);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    long parsed = 0, compiled = 0, formats = 0;
    size_t nseeds = sizeof(seeds) / sizeof(seeds[0]);
    for (long it = 0; it < 30000; it++) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", seeds[s_next(&rng) % nseeds]);
        s_mutate(buf, sizeof(buf), &rng);
        ev_parse_error pe;
        ev_ast *a = ev_parse(buf, strlen(buf), 1000, &pe);
        if (a) {
            parsed++;
            free(ev_ast_to_string(a));
            ev_ast_free(ev_ast_clone(a));
            ev_warnings w;
            ev_warnings_init(&w);
            int code;
            char err[256];
            ev_filter *f = ev_filter_compile(a, t, &w, &code, err, sizeof(err));
            if (f) {
                compiled++;
                ev_event_reset(&evt, NULL, 0, (uint64_t)it + 1);
                (void)ev_filter_eval(f, &evt);
                ev_filter_free(f);
            } else {
                ASSERT(code < 0 && err[0]);
            }
            ev_warnings_fini(&w);
            ev_ast_free(a);
        } else {
            ASSERT(pe.msg[0] != '\0');
        }
        char err[256];
        ev_format *fm = ev_format_compile(buf, t, NULL, err, sizeof(err));
        if (fm) {
            formats++;
            ev_event_reset(&evt, NULL, 0, (uint64_t)it + 1);
            ev_strbuf_reset(&b);
            ev_format_render(fm, &evt, &b, 0);
            for (size_t i = 0; i < ev_format_nfields(fm); i++)
                ev_format_field_json(fm, i, &evt, &b);
            ev_format_free(fm);
        }
    }
    fprintf(stderr, "   parsed %ld, compiled %ld, formats %ld\n", parsed, compiled, formats);
    ASSERT(parsed > 1000 && compiled > 100 && formats > 100);
    ev_strbuf_fini(&b);
    ev_event_fini(&evt);
    ev_fieldtab_free(t);
}

int main(void)
{
    tg_test_state st = {0, 0};
    TG_RUN(&st, test_mutations);
    TG_DONE(&st);
}
