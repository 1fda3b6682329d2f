/*
 * test_ev_filter.c - compiler and evaluator (spec sections 3 and 4) over
 * the mock source of ev_test_mock.h.  Expected values follow the spec.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ev_filter.h"
#include "ev_test_mock.h"
#include "tg_test.h"

static tm_state g_st;       /* test fixture state, reset by fresh() */
static ev_source g_src;
static ev_fieldtab *g_tab;
static ev_event g_evt;
static uint64_t g_num;

static void fresh(void)
{
    memset(&g_st, 0, sizeof(g_st));
    g_st.set[TM_STR] = true;
    g_st.str = "/usr/bin/Bash";
    g_st.set[TM_STR2] = true;
    g_st.str2 = "/usr/bin/Bash";
    g_st.set[TM_NUM] = true;
    g_st.num = 42;
    g_st.set[TM_INT] = true;
    g_st.i = -5;
    g_st.set[TM_BOOL] = true;
    g_st.b = true;
    g_st.set[TM_IP] = true;
    inet_pton(AF_INET, "10.1.2.3", g_st.ip);
    g_st.ip_len = 4;
    g_st.set[TM_NET] = true;
    inet_pton(AF_INET, "192.168.0.0", g_st.net);
    g_st.net_len = 4;
    g_st.net_prefix = 16;
    g_st.set[TM_BUF] = true;
    g_st.buf = "\x01\x02HTTP\x00z";
    g_st.buf_len = 8;
    g_st.set[TM_LIST] = true;
    g_st.list[0] = "a";
    g_st.list[1] = "b";
    g_st.nlist = 2;
    g_st.set[TM_MAP] = true;
    g_st.set[TM_DBL] = true;
    g_st.dbl = 3.0;
}

/* 1 true, 0 false, -1 compile error (message in last_err). */
static char last_err[512];
static int last_code;
static int ev(const char *cond)
{
    ev_warnings w;
    ev_warnings_init(&w);
    ev_filter *f = ev_filter_compile_text(cond, g_tab, 1000, &w, &last_code,
                                          last_err, sizeof(last_err));
    ev_warnings_fini(&w);
    if (!f)
        return -1;
    ev_event_reset(&g_evt, NULL, 0, ++g_num);
    int r = ev_filter_eval(f, &g_evt);
    ev_filter_free(f);
    return r;
}

static size_t nwarn(const char *cond, char *first, size_t fl)
{
    ev_warnings w;
    ev_warnings_init(&w);
    int code;
    ev_filter *f = ev_filter_compile_text(cond, g_tab, 0, &w, &code, last_err,
                                          sizeof(last_err));
    ASSERT_NOT_NULL(f);
    size_t n = w.n;
    if (first && fl)
        snprintf(first, fl, "%s", n ? w.v[0] : "");
    ev_warnings_fini(&w);
    ev_filter_free(f);
    return n;
}

static void test_string_ops(void)
{
    fresh();
    ASSERT_EQ(ev("t.str = /usr/bin/Bash"), 1);
    ASSERT_EQ(ev("t.str == /usr/bin/bash"), 0);
    ASSERT_EQ(ev("t.str != /usr/bin/bash"), 1);
    /* < <= > >= take a number token (or a field) but compare strings */
    ASSERT_EQ(ev("t.str < 1"), 1);
    ASSERT_EQ(ev("t.str > 0"), 0);
    ASSERT_EQ(ev("t.str <= val(t.str2)"), 1);
    ASSERT_EQ(ev("t.str < val(t.str2)"), 0);
    ASSERT_EQ(ev("t.str >= val(t.str2)"), 1);
    ASSERT_EQ(ev("t.str contains bin/B"), 1);
    ASSERT_EQ(ev("t.str contains ''"), 1);
    ASSERT_EQ(ev("t.str icontains BIN/b"), 1);
    ASSERT_EQ(ev("t.str startswith /usr/"), 1);
    ASSERT_EQ(ev("t.str endswith Bash"), 1);
    ASSERT_EQ(ev("t.str endswith bash"), 0);
    ASSERT_EQ(ev("t.str glob '/usr/*'"), 1);
    ASSERT_EQ(ev("t.str glob '*/B?sh'"), 1);
    ASSERT_EQ(ev("t.str glob '*/b?sh'"), 0);
    ASSERT_EQ(ev("t.str iglob '*/b?SH'"), 1);
    ASSERT_EQ(ev("t.str glob '/usr/bin/[AB]ash'"), 1);
    ASSERT_EQ(ev("t.str regex '/usr/.*'"), 1);
    ASSERT_EQ(ev("t.str regex 'usr/.*'"), 0);   /* full match */
    ASSERT_EQ(ev("t.str regex '.*(Bash|zsh)'"), 1);
    ASSERT_EQ(ev("t.str regex '/usr/bin/B[a-z]{3}'"), 1);
    ASSERT_EQ(ev("t.str regex '/usr/bin/B[a-z]{2'"), 0);  /* RE2: literal brace */
    g_st.str = "x{2,}y";
    ASSERT_EQ(ev("t.str regex 'x{2,}y'"), 0);
    ASSERT_EQ(ev("t.str regex '.{2'"), 0);
    ASSERT_EQ(ev("t.str regex 'x[{]2,}y'"), 1);
    g_st.str = "caf\xc3\xa9";         /* '.' matches one character */
    ASSERT_EQ(ev("t.str regex 'caf.'"), 1);
    g_st.str = "/p\xff/q\xff";          /* invalid UTF-8 -> U+FFFD */
    ASSERT_EQ(ev("t.str regex '/p./q.'"), 1);
    ASSERT_EQ(ev("t.str regex '/p./q'"), 0);
    ASSERT_EQ(ev("t.str glob '/p?/q?'"), 1);
    g_st.str = "a{2";
    ASSERT_EQ(ev("t.str regex 'a{2'"), 1);
    ASSERT_EQ(ev("t.str regex '{2'"), 0);
    g_st.str = "/usr/bin/Bash";
    ASSERT_EQ(ev("t.str in (a, /usr/bin/Bash, z)"), 1);
    ASSERT_EQ(ev("t.str in (a, z)"), 0);
    ASSERT_EQ(ev("t.str in ()"), 0);
    ASSERT_EQ(ev("t.str intersects (/usr/bin/Bash)"), 1);
    ASSERT_EQ(ev("t.str pmatch (/usr/bin)"), 1);
    ASSERT_EQ(ev("t.str pmatch (/usr/bi)"), 0);
    ASSERT_EQ(ev("t.str pmatch (/opt, /usr/*/Bash)"), 1);
    /* embedded NUL ends the value */
    g_st.str = "ab\0cd";
    g_st.str_len = 5;
    ASSERT_EQ(ev("t.str = ab"), 1);
}

/* `contains` on short values (first-byte scan) and long ones (memmem):
 * matches at the start, the end, the whole value, after a false start. */
static void test_contains(void)
{
    static char big[600];
    fresh();
    g_st.str = "aaab";
    ASSERT_EQ(ev("t.str contains aab"), 1);     /* false start at 0 */
    ASSERT_EQ(ev("t.str contains aaab"), 1);    /* the whole value */
    ASSERT_EQ(ev("t.str contains aaaab"), 0);   /* longer than the value */
    ASSERT_EQ(ev("t.str contains b"), 1);       /* last byte */
    ASSERT_EQ(ev("t.str contains ba"), 0);
    ASSERT_EQ(ev("t.str contains a"), 1);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 2] = 'b';
    fresh();
    g_st.str = big;                             /* 599 bytes: memmem */
    ASSERT_EQ(ev("t.str contains aab"), 1);
    ASSERT_EQ(ev("t.str contains bb"), 0);
    big[300] = 'c';
    ASSERT_EQ(ev("t.str contains aca"), 1);
}

static void test_missing(void)
{
    fresh();
    const char *checks[] = {
        "t.missing = x", "t.missing != x", "t.missing < 1", "t.missing contains ''",
        "t.missing in (x)", "t.missing exists", "t.missing == oneof (x)",
        "t.missing != allof (x)", "t.missing glob *", "t.missing pmatch (/)",
        "tolower(t.missing) = x", "t.str = val(t.missing)", "t.missing = val(t.str)",
        NULL,
    };
    for (int i = 0; checks[i]; i++) {
        if (ev(checks[i]) != 0)
            TG_FAIL_("'%s' should be false on a missing field", checks[i]);
    }
    ASSERT_EQ(ev("not t.missing = x"), 1);
    ASSERT_EQ(ev("not t.missing exists"), 1);
    ASSERT_EQ(ev("t.str exists"), 1);
    g_st.set[TM_NUM] = false;
    ASSERT_EQ(ev("t.num != 1"), 0);
    ASSERT_EQ(ev("t.str = '<NA>'"), 0);
}

static void test_numeric_bool_ip(void)
{
    fresh();
    ASSERT_EQ(ev("t.num = 42"), 1);
    ASSERT_EQ(ev("t.num != 42"), 0);
    ASSERT_EQ(ev("t.num > 41 and t.num >= 42 and t.num < 43 and t.num <= 42"), 1);
    ASSERT_EQ(ev("t.num in (1, 42)"), 1);
    ASSERT_EQ(ev("t.num intersects (1, 2)"), 0);
    ASSERT_EQ(ev("t.num = +42"), 1);
    ASSERT_EQ(ev("t.int < 0"), 1);
    ASSERT_EQ(ev("t.int = -5"), 1);
    g_st.num = UINT64_MAX;
    ASSERT_EQ(ev("t.num = -1"), 1);   /* wraps */
    ASSERT_EQ(ev("t.num = 0x1F"), -1);
    ASSERT_STR_EQ(last_err, "0x1F is not a valid number");
    ASSERT_EQ(ev("t.num = 1.5"), -1);
    ASSERT_EQ(ev("t.num > 1e+5"), -1);
    ASSERT_EQ(ev("t.dbl = 3"), 1);
    ASSERT_EQ(ev("t.bool = true"), 1);
    ASSERT_EQ(ev("t.bool != false"), 1);
    ASSERT_EQ(ev("t.bool = True"), -1);
    ASSERT_STR_EQ(last_err, "filter error: unrecognized boolean value True");
    ASSERT_EQ(ev("t.bool in (false)"), 0);
    ASSERT_EQ(ev("t.ip = 10.1.2.3"), 1);
    ASSERT_EQ(ev("t.ip = 10.0.0.0/8"), 1);
    ASSERT_EQ(ev("t.ip in (192.168.0.0/16, 10.1.2.3)"), 1);
    ASSERT_EQ(ev("t.ip != 10.1.2.4"), 1);
    ASSERT_EQ(ev("t.ip = ::1"), 0);
    ASSERT_EQ(ev("t.ip = nope"), -1);
    ASSERT_EQ(ev("t.net = 192.168.0.0/16"), 1);
    ASSERT_EQ(ev("t.net = 192.168.3.4"), 1);
    ASSERT_EQ(ev("t.net = 10.0.0.1"), 0);
}

static void test_bytes(void)
{
    fresh();
    ASSERT_EQ(ev("t.buf bcontains 48545450"), 1);
    ASSERT_EQ(ev("t.buf bstartswith 0102"), 1);
    ASSERT_EQ(ev("t.buf bstartswith 0103"), 0);
    ASSERT_EQ(ev("t.buf bcontains 4g"), -1);
    ASSERT_STR_EQ(last_err, "filter error: bcontains and bstartswith operator support hex strings only");
    ASSERT_EQ(ev("t.buf contains HTTP"), 1);
    ASSERT_EQ(ev("t.buf = \"\\x00\""), 0);
    ASSERT_EQ(ev("len(t.buf) = 8"), 1);
    ASSERT_EQ(ev("t.str bcontains 41"), -1);
    ASSERT_STR_EQ(last_err, "filter error: 'bcontains' operator not supported for string filters");
}

static void test_lists(void)
{
    fresh();
    ASSERT_EQ(ev("t.list in (a, b, c)"), 1);      /* subset */
    ASSERT_EQ(ev("t.list in (a, c)"), 0);
    ASSERT_EQ(ev("t.list intersects (c, b)"), 1); /* overlap */
    ASSERT_EQ(ev("t.list intersects (c)"), 0);
    ASSERT_EQ(ev("t.list exists"), 1);
    ASSERT_EQ(ev("t.list = a"), -1);
    ASSERT_STR_EQ(last_err, "filter error: '=' operator not supported list filters");
    ASSERT_EQ(ev("t.list[1] in (b)"), 1);
    ASSERT_EQ(ev("t.list[5] in (b)"), 0);
    ASSERT_EQ(ev("t.list[01] in (b)"), -1);
    ASSERT_EQ(ev("len(t.list) = 2"), 1);
    ASSERT_EQ(ev("toupper(t.list) intersects (B)"), 1);
    ASSERT_EQ(ev("join(',', t.list) = 'a,b'"), 1);
    g_st.nlist = 0;
    ASSERT_EQ(ev("t.list in (a)"), 0);
}

/* `in` over strings: small sets are scanned, sets of more than 8 literals
 * are hashed; both must mean exact byte equality with some literal. */
static void test_string_sets(void)
{
    fresh();
    static const char *big = "t.str in (a, bb, ccc, /usr/bin/bash, /usr/bin/Bas, "
                             "/usr/bin/Bashh, x, y, z, w, /usr/bin/Bash, q)";
    ASSERT_EQ(ev(big), 1);
    ASSERT_EQ(ev("t.str in (a, bb, /usr/bin/Bash)"), 1);
    ASSERT_EQ(ev("t.str in (a, bb, /usr/bin/bash)"), 0);
    ASSERT_EQ(ev("t.str in (a, b, c, d, e, f, g, h, i, j, k, /usr/bin/BasH)"), 0);
    ASSERT_EQ(ev("t.str intersects (a, b, c, d, e, f, g, h, i, j, /usr/bin/Bash)"), 1);
    ASSERT_EQ(ev("not t.str in (a, b, c, d, e, f, g, h, i, j, k, l)"), 1);
    ASSERT_EQ(ev("t.str in ()"), 0);
    g_st.str = "";
    ASSERT_EQ(ev("t.str in (a, b, c, d, e, f, g, h, i, j, k, '')"), 1);
    ASSERT_EQ(ev("t.str in (a, b, c, d, e, f, g, h, i, j, k, l)"), 0);
    ASSERT_EQ(ev("t.str in (a, '')"), 1);
    ASSERT_EQ(ev("t.str in ()"), 0);
    g_st.set[TM_STR] = false;   /* missing: false, even for `not in` inside */
    ASSERT_EQ(ev("t.str in (a, b, c, d, e, f, g, h, i, j, k, '')"), 0);
    ASSERT_EQ(ev("not t.str in (a, b, c, d, e, f, g, h, i, j, k, '')"), 1);
    /* list fields use the same sets */
    fresh();
    ASSERT_EQ(ev("t.list in (a, b, c, d, e, f, g, h, i, j, k)"), 1);
    ASSERT_EQ(ev("t.list in (a, c, d, e, f, g, h, i, j, k)"), 0);
    ASSERT_EQ(ev("t.list intersects (b, c, d, e, f, g, h, i, j, k)"), 1);
}

/* Three-valued evaluation with one known field (used by the dispatch
 * index): decided only when the other fields cannot change the result. */
static void test_eval_given(void)
{
    fresh();
    const ev_field_def *d = ev_source_find(&g_src, "t.str", 5);
    ASSERT_NOT_NULL(d);
    ev_fieldref *ref = ev_fieldtab_ref(g_tab, d);
    ASSERT_NOT_NULL(ref);
    ev_val v = {.s = "AddPermission2015", .len = 17};
    static const struct {
        const char *cond;
        int known, missing;
    } cases[] = {
        {"t.str startswith AddPermission", EV_TRI_TRUE, EV_TRI_FALSE},
        {"t.str startswith Update", EV_TRI_FALSE, EV_TRI_FALSE},
        {"t.str = X and t.num = 42", EV_TRI_FALSE, EV_TRI_FALSE},
        {"t.str startswith Add and t.num = 42", EV_TRI_UNKNOWN, EV_TRI_FALSE},
        {"t.str = X or t.num = 42", EV_TRI_UNKNOWN, EV_TRI_UNKNOWN},
        {"t.str startswith Add or t.num = 42", EV_TRI_TRUE, EV_TRI_UNKNOWN},
        {"not t.str in (a, b)", EV_TRI_TRUE, EV_TRI_TRUE},
        {"not t.str exists and t.num = 1", EV_TRI_FALSE, EV_TRI_UNKNOWN},
        {"t.str != X", EV_TRI_TRUE, EV_TRI_FALSE},
        {"t.str = val(t.str2)", EV_TRI_UNKNOWN, EV_TRI_FALSE},
        {"toupper(t.str) = X", EV_TRI_UNKNOWN, EV_TRI_UNKNOWN},
        {"t.num = 42", EV_TRI_UNKNOWN, EV_TRI_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int code;
        ev_filter *f = ev_filter_compile_text(cases[i].cond, g_tab, 100, NULL, &code,
                                              last_err, sizeof(last_err));
        ASSERT_NOT_NULL(f);
        ev_event_reset(&g_evt, NULL, 0, ++g_num);
        ASSERT_EQ(ev_filter_eval_given(f, ref, &v, 1, &g_evt), cases[i].known);
        ASSERT_EQ(ev_filter_eval_given(f, ref, NULL, 0, &g_evt), cases[i].missing);
        ev_filter_free(f);
    }
    /* the reference shares the filters' cached value */
    const ev_val *got;
    ev_event_reset(&g_evt, NULL, 0, ++g_num);
    ASSERT_EQ(ev_fieldref_get(ref, &g_evt, &got), 1);
    ASSERT_EQ(got->len, strlen("/usr/bin/Bash"));
    ASSERT_EQ(memcmp(got->s, "/usr/bin/Bash", got->len), 0);
}

static void test_modifiers(void)
{
    fresh();
    g_st.str = "myexe";
    ASSERT_EQ(ev("t.str == oneof (myexe, bash)"), 1);
    ASSERT_EQ(ev("t.str == oneof (myexe, myexe)"), 0);
    ASSERT_EQ(ev("t.str == allof (myexe, myexe)"), 1);
    ASSERT_EQ(ev("t.str glob oneof (my*, *exe)"), 0);
    ASSERT_EQ(ev("t.str glob anyof (my*, *exe)"), 1);
    ASSERT_EQ(ev("t.str != allof (a, b)"), 1);
    ASSERT_EQ(ev("t.str != allof ()"), 0);
    ASSERT_EQ(ev("t.str startswith anyof (x, my)"), 1);
    ASSERT_EQ(ev("t.ip == anyof (10.1.2.3)"), 1);
    ASSERT_EQ(ev("t.ip contains oneof (a)"), -1);
}

static void test_transformers(void)
{
    fresh();
    g_st.str = "/tmp/Dir/File.TXT";
    ASSERT_EQ(ev("tolower(t.str) = /tmp/dir/file.txt"), 1);
    ASSERT_EQ(ev("toupper(t.str) = /TMP/DIR/FILE.TXT"), 1);
    ASSERT_EQ(ev("basename(t.str) = File.TXT"), 1);
    ASSERT_EQ(ev("len(t.str) = 17"), 1);
    ASSERT_EQ(ev("len(t.str) > 16"), 1);
    ASSERT_EQ(ev("concat(t.str, '-', t.str2) = '/tmp/Dir/File.TXT-/usr/bin/Bash'"), 1);
    ASSERT_EQ(ev("join('->', ('a', t.num)) = 'a->42'"), 1);
    ASSERT_EQ(ev("join(',', ()) = ''"), 1);
    ASSERT_EQ(ev("join(',', (t.str, t.missing)) exists"), 0);
    ASSERT_EQ(ev("concat(t.str, t.missing) exists"), 0);
    ASSERT_EQ(ev("concat('aaa', 'bbb') = aaabbb"), 1);
    ASSERT_EQ(ev("b64(concat('YWFh', 'YmJi')) = aaabbb"), 1);
    g_st.str = "YWFhLWJiYg";
    ASSERT_EQ(ev("b64(t.str) = aaa-bbb"), 1);
    g_st.str = "not base64!";
    ASSERT_EQ(ev("b64(t.str) exists"), 0);
    g_st.str = "/a/b/";
    ASSERT_EQ(ev("basename(t.str) = ''"), 1);
    ASSERT_EQ(ev("getopt(('-n', '-t', 'hello'), 'nt:')[t] = hello"), 1);
    ASSERT_EQ(ev("getopt(('-x', '-n'), 'n') intersects ('?')"), 1);
    ASSERT_EQ(ev("getopt(('arg', '-n'), 'n') intersects ('n')"), 0);
    ASSERT_EQ(ev("t.str = val(t.str)"), 1);
    g_st.str = "/usr/bin/Bash";
    ASSERT_EQ(ev("t.str = val(t.str2)"), 1);
    ASSERT_EQ(ev("toupper(t.str) = toupper(t.str2)"), 1);
    /* compile errors */
    ASSERT_EQ(ev("toupper(t.num) = 1"), -1);
    ASSERT_STR_EQ(last_err, "can't add field transformer: type 'uint64' is not supported by 'toupper' transformer");
    ASSERT_EQ(ev("toupper(t.str)[x] = X"), -1);
    ASSERT_STR_EQ(last_err, "filter error: transformer 'toupper' does not support field arguments");
    ASSERT_EQ(ev("t.str = val(t.num)"), -1);
    ASSERT_STR_EQ(last_err, "field 't.str' has type 'string' while the right-hand side field 't.num' has incompatible type 'uint64'");
    ASSERT_EQ(ev("t.str regex val(t.str2)"), -1);
    ASSERT_EQ(ev("concat('a') = a"), -1);
    ASSERT_EQ(ev("join('a', 'b') = a"), -1);
}

static void test_compile_errors(void)
{
    fresh();
    ASSERT_EQ(ev("t.nope = 1"), -1);
    ASSERT_STR_EQ(last_err, "filter_check called with nonexistent field t.nope");
    ASSERT_EQ(last_code, EV_ERR_UNKNOWN_FIELD);
    ASSERT_EQ(ev("t.st = 1"), -1);   /* no prefix match */
    ASSERT_EQ(last_code, EV_ERR_UNKNOWN_FIELD);
    ASSERT_EQ(ev("t.str[x] = 1"), -1);
    ASSERT_EQ(last_code, EV_ERR_COMPILE);
    ASSERT_EQ(ev("t.map = 1"), -1);
    ASSERT_EQ(ev("t.map[k] = k"), 1);
    ASSERT_EQ(ev("t.map[\"\"] = ''"), 1);
    ASSERT_EQ(ev("some_macro"), -1);
    ASSERT_STR_EQ(last_err, "Undefined macro 'some_macro' used in filter.");
    ASSERT_EQ(last_code, EV_ERR_UNDEFINED_MACRO);
    ASSERT_EQ(ev("t.str = "), -1);
    ASSERT_EQ(last_code, EV_ERR_PARSE);
    ASSERT_EQ(ev("t.str = \"a\\x00\""), -1);
    ASSERT_STR_EQ(last_err, "filter error: filter value cannot contain a NUL byte (\\x00)");
    ASSERT_EQ(ev("t.str regex 'a('"), -1);
    ASSERT(strncmp(last_err, "invalid regex pattern: ", 23) == 0);
    ASSERT_EQ(ev("t.num contains 1"), -1);
    ASSERT_STR_EQ(last_err, "filter error: 'contains' operator not supported for numeric filters");
    ASSERT_EQ(ev("t.bool < 1"), -1);
    ASSERT_EQ(ev("t.ip startswith 1"), -1);
    char lit[300];
    memset(lit, 'a', 256);
    strcpy(lit + 256, "");
    char cond[400];
    snprintf(cond, sizeof(cond), "t.str = %s", lit);
    ASSERT_EQ(ev(cond), -1);
    ASSERT(strncmp(last_err, "filter parameter too long", 25) == 0);
    lit[255] = '\0';
    snprintf(cond, sizeof(cond), "t.str = %s", lit);
    ASSERT_EQ(ev(cond), 0);
}

static void test_warnings(void)
{
    fresh();
    char w[600];
    ASSERT_EQ(nwarn("t.str regex syscall", w, sizeof(w)), 1);
    ASSERT_STR_EQ(w, "regex check with 'syscall' may be optimized with simpler operators "
                  "such as '=', 'contains', 'startswith', 'endswith'");
    ASSERT_EQ(nwarn("t.str regex '^sys.*$'", NULL, 0), 1);
    ASSERT_EQ(nwarn("t.str regex '^s[a-z]+$'", NULL, 0), 0);
    ASSERT_EQ(nwarn("t.str regex '.*sys.*'", NULL, 0), 1);
    ASSERT_EQ(nwarn("t.str regex 's.*l'", NULL, 0), 0);
    ASSERT_EQ(nwarn("t.str = t.str2", w, sizeof(w)), 1);
    ASSERT_STR_EQ(w, "'t.str2' may be a valid field misused as a const string value");
    ASSERT_EQ(nwarn("t.str = unknown.field", NULL, 0), 0);
    ASSERT_EQ(nwarn("t.str = 'tolower(t.str)'", w, sizeof(w)), 1);
    ASSERT_STR_EQ(w, "'tolower(t.str)' may be a valid field transformer misused as a const string value");
    ASSERT_EQ(nwarn("t.str = tolower(t.str2)", NULL, 0), 0);
}

static void test_cache_and_lhs(void)
{
    fresh();
    int code;
    char err[256];
    ev_filter *f[3];
    f[0] = ev_filter_compile_text("t.str = a or t.num = 1", g_tab, 0, NULL, &code, err, sizeof(err));
    f[1] = ev_filter_compile_text("t.str contains b or t.num > 3", g_tab, 0, NULL, &code, err, sizeof(err));
    f[2] = ev_filter_compile_text("tolower(t.str) = c", g_tab, 0, NULL, &code, err, sizeof(err));
    ASSERT(f[0] && f[1] && f[2]);
    ev_event_reset(&g_evt, NULL, 0, ++g_num);
    g_st.extract_calls = 0;
    for (int i = 0; i < 3; i++)
        ev_filter_eval(f[i], &g_evt);
    ASSERT_EQ(g_st.extract_calls, 2);     /* t.str and t.num once each */
    ev_event_reset(&g_evt, NULL, 0, ++g_num);
    ev_filter_eval(f[2], &g_evt);
    ASSERT_EQ(g_st.extract_calls, 3);     /* new event: extracted again */
    for (int i = 0; i < 3; i++)
        ev_filter_free(f[i]);
    ASSERT_EQ(ev_lhs_check("t.str", g_tab, err, sizeof(err)), 0);
    ASSERT_EQ(ev_lhs_check("toupper(t.str)", g_tab, err, sizeof(err)), 0);
    ASSERT_EQ(ev_lhs_check("t.list[0]", g_tab, err, sizeof(err)), 0);
    ASSERT_EQ(ev_lhs_check("t.nope", g_tab, err, sizeof(err)), EV_ERR_UNKNOWN_FIELD);
    ASSERT(ev_lhs_check("t.str = x", g_tab, err, sizeof(err)) < 0);
    ASSERT(ev_lhs_check("toupper(t.num)", g_tab, err, sizeof(err)) < 0);
}

static void test_huge_condition(void)
{
    fresh();
    /* 1 MB: a long or-chain of checks compiles and evaluates */
    size_t big = 1 << 20, o = 0;
    char *c = malloc(big + 64);
    while (o + 40 < big)
        o += (size_t)sprintf(c + o, "%st.str = v%zu", o ? " or " : "", o);
    strcpy(c + o, " or t.num = 42");
    ASSERT_EQ(ev(c), 1);
    /* 1 MB of nesting: a clean error, no crash */
    memset(c, '(', big);
    c[big] = '\0';
    ASSERT_EQ(ev(c), -1);
    ASSERT_STR_EQ(last_err, "exceeded max depth limit of 1000");
    /* 1 MB literal: parses, then fails the 255-byte limit */
    memcpy(c, "t.str = ", 8);
    memset(c + 8, 'x', big - 8);
    ASSERT_EQ(ev(c), -1);
    ASSERT(strncmp(last_err, "filter parameter too long", 25) == 0);
    free(c);
}

static void test_speed(void)
{
    fresh();
    int code;
    char err[256];
    const char *cond = "t.str in (a, b, c, d, e, f, g, /usr/bin/Bash) and not "
                       "(t.num > 100 or t.str2 startswith /opt) and t.str contains bin";
    ev_filter *f = ev_filter_compile_text(cond, g_tab, 0, NULL, &code, err, sizeof(err));
    ASSERT_NOT_NULL(f);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int hits = 0, n = 200000;
    for (int i = 0; i < n; i++) {
        ev_event_reset(&g_evt, NULL, 0, ++g_num);
        hits += ev_filter_eval(f, &g_evt);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
    fprintf(stderr, "   %.1f ns per evaluation\n", ns);
    ASSERT_EQ(hits, n);
    ASSERT(ns < 5000);   /* generous: shared CI machines */
    ev_filter_free(f);
}

int main(void)
{
    tg_test_state st = {0, 0};
    tm_source(&g_src, &g_st);
    g_tab = ev_fieldtab_new(&g_src);
    ev_event_init(&g_evt);
    TG_RUN(&st, test_string_ops);
    TG_RUN(&st, test_contains);
    TG_RUN(&st, test_missing);
    TG_RUN(&st, test_numeric_bool_ip);
    TG_RUN(&st, test_bytes);
    TG_RUN(&st, test_lists);
    TG_RUN(&st, test_string_sets);
    TG_RUN(&st, test_eval_given);
    TG_RUN(&st, test_modifiers);
    TG_RUN(&st, test_transformers);
    TG_RUN(&st, test_compile_errors);
    TG_RUN(&st, test_warnings);
    TG_RUN(&st, test_cache_and_lhs);
    TG_RUN(&st, test_huge_condition);
    TG_RUN(&st, test_speed);
    ev_event_fini(&g_evt);
    ev_fieldtab_free(g_tab);
    TG_DONE(&st);
}
