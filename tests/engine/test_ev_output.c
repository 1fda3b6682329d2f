/*
 * test_ev_output.c - output formats, value rendering and JSON escaping
 * (spec 7.1, 7.3).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ev_output.h"
#include "ev_test_mock.h"
#include "tg_test.h"

static tm_state g_st;
static ev_source g_src;
static ev_fieldtab *g_tab;
static ev_event g_evt;

static void fresh(void)
{
    memset(&g_st, 0, sizeof(g_st));
    g_st.set[TM_STR] = true;
    g_st.str = "init";
    g_st.set[TM_STR2] = true;
    g_st.str2 = "/test/dir";
    g_st.set[TM_NUM] = true;
    g_st.num = 1;
    g_st.set[TM_BOOL] = true;
    g_st.set[TM_IP] = true;
    inet_pton(AF_INET, "10.1.2.3", g_st.ip);
    g_st.ip_len = 4;
    g_st.set[TM_LIST] = true;
    g_st.list[0] = "a";
    g_st.list[1] = "b";
    g_st.nlist = 2;
    g_st.set[TM_MAP] = true;
    ev_event_reset(&g_evt, NULL, 0, 1);
}

static char out[1024];
static char err[512];
static int code;

/* Render in Falco mode; returns 1, or 0 on a compile error (err set). */
static int render(const char *fmt, unsigned flags)
{
    ev_format *f = ev_format_compile(fmt, g_tab, &code, err, sizeof(err));
    if (!f)
        return 0;
    ev_strbuf b;
    ev_strbuf_init(&b);
    ev_format_render(f, &g_evt, &b, flags);
    snprintf(out, sizeof(out), "%s", b.p ? b.p : "");
    ev_strbuf_fini(&b);
    ev_format_free(f);
    return 1;
}

static void test_render(void)
{
    fresh();
    ASSERT(render("start %t.str end", 0));
    ASSERT_STR_EQ(out, "start init end");
    ASSERT(render("start%t.strand%t.numend", 0));
    ASSERT_STR_EQ(out, "startinitand1end");
    ASSERT(render("%t.str,%t.num", 0));
    ASSERT_STR_EQ(out, "init,1");
    ASSERT(render("%2t.str|%10t.str|", 0));
    ASSERT_STR_EQ(out, "in|init      |");
    ASSERT(render("%t.bool %t.ip %t.list %t.missing", 0));
    ASSERT_STR_EQ(out, "false 10.1.2.3 (a,b) <NA>");
    ASSERT(render("a %t.str %t.missing b", EV_FMT_STRICT));
    ASSERT_STR_EQ(out, "a init ");
    ASSERT(render("*a %t.missing b", EV_FMT_STRICT));
    ASSERT_STR_EQ(out, "a <NA> b");
    ASSERT(render("%toupper(t.str) %concat(t.str, t.str2) %t.map[/a/b]", 0));
    ASSERT_STR_EQ(out, "INIT init/test/dir /a/b");
    ASSERT(render("%t.stra", 0));   /* longest valid prefix, then text */
    ASSERT_STR_EQ(out, "inita");
    ASSERT(render("%t.list[1]", 0));
    ASSERT_STR_EQ(out, "(b)"); /* list-ness is a property of the field */
    ASSERT(render("no tokens", 0));
    ASSERT_STR_EQ(out, "no tokens");
}

static void test_errors(void)
{
    fresh();
    ASSERT_EQ(render("50%", 0), 0);
    ASSERT_STR_EQ(err, "invalid formatting syntax: formatting cannot end with a %");
    ASSERT_EQ(code, EV_ERR_COMPILE);
    ASSERT_EQ(render("% done", 0), 0);
    ASSERT(strncmp(err, "unknown filter: ", 16) == 0);
    ASSERT_EQ(code, EV_ERR_UNKNOWN_FIELD);
    ASSERT_EQ(render("x %some.field y", 0), 0);
    ASSERT_STR_EQ(err, "unknown filter: some.field");
    ASSERT_EQ(render("%toupper (t.str)", 0), 0);
    ASSERT_EQ(render("%val(t.str)", 0), 0);
    ASSERT_EQ(render("%toupper(t.num)", 0), 0);
    ASSERT_EQ(code, EV_ERR_COMPILE);
    ASSERT_EQ(render("%toupper(t.str", 0), 0);
    ASSERT_EQ(render("%toupper( t.str )", 0), 1);
}

static void test_json_fields(void)
{
    fresh();
    ev_format *f = ev_format_compile("%t.str %toupper(t.str2) %t.num %t.missing %t.list "
                                     "%t.str %t.map[/k]", g_tab, &code, err, sizeof(err));
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(ev_format_ntokens(f), 7);
    ASSERT_EQ(ev_format_nfields(f), 6);
    const char *want_names[] = {"t.str", "t.str2", "t.num", "t.missing", "t.list"};
    const char *want_vals[] = {"\"init\"", "\"/test/dir\"", "1", "null", "[\"a\",\"b\"]"};
    ev_strbuf b;
    ev_strbuf_init(&b);
    for (size_t i = 0; i < 5; i++) {
        ASSERT_STR_EQ(ev_format_field_name(f, i), want_names[i]);
        ev_strbuf_reset(&b);
        bool present = ev_format_field_json(f, i, &g_evt, &b);
        ASSERT_STR_EQ(b.p, want_vals[i]);
        ASSERT_EQ(present, i != 3);
    }
    ASSERT_STR_EQ(ev_format_token_name(f, 1), "toupper(t.str2)");
    ASSERT(ev_format_token_is_transformer(f, 1));
    ASSERT_STR_EQ(ev_format_token_name(f, 6), "t.map[/k]");
    ev_strbuf_reset(&b);
    ev_format_field_text(f, 4, &g_evt, &b);
    ASSERT_STR_EQ(b.p, "(a,b)");
    ev_strbuf_fini(&b);
    ev_format_free(f);
}

static void test_json_escape(void)
{
    ev_strbuf b;
    ev_strbuf_init(&b);
    ev_json_put_str(&b, "a\"b\\c\n\t\x01/", 9);
    ASSERT_STR_EQ(b.p, "\"a\\\"b\\\\c\\n\\t\\u0001/\"");
    ev_strbuf_reset(&b);
    ev_json_put_escaped(&b, "caf\xc3\xa9 \xff!", 8);
    ASSERT_STR_EQ(b.p, "caf\xc3\xa9 \xef\xbf\xbd!");
    ev_strbuf_reset(&b);
    ev_strbuf_printf(&b, "%d-%s", 7, "x");
    ASSERT_STR_EQ(b.p, "7-x");
    ev_strbuf_fini(&b);
}

int main(void)
{
    tg_test_state st = {0, 0};
    tm_source(&g_src, &g_st);
    g_tab = ev_fieldtab_new(&g_src);
    ev_event_init(&g_evt);
    TG_RUN(&st, test_render);
    TG_RUN(&st, test_errors);
    TG_RUN(&st, test_json_fields);
    TG_RUN(&st, test_json_escape);
    ev_event_fini(&g_evt);
    ev_fieldtab_free(g_tab);
    TG_DONE(&st);
}
