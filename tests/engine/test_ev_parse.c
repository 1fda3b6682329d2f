/*
 * test_ev_parse.c - condition parser, AST printer, escaping (spec 1-2).
 * Expected values come from the spec's rules and examples.
 */
#include <stdlib.h>
#include <string.h>

#include "ev_ast.h"
#include "tg_test.h"

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Parse and print; returns a static buffer ("ERR:<msg>@<index>" on error). */
static const char *pp(const char *cond)
{
    static char out[4096];
    ev_parse_error e;
    ev_ast *a = ev_parse(cond, strlen(cond), 0, &e);
    if (!a) {
        snprintf(out, sizeof(out), "ERR:%s@%zu", e.msg, e.index);
        return out;
    }
    char *s = ev_ast_to_string(a);
    snprintf(out, sizeof(out), "%s", s);
    free(s);
    ev_ast_free(a);
    return out;
}

static void test_precedence(void)
{
    ASSERT_STR_EQ(pp("a and b or c and d"), "((a and b) or (c and d))");
    ASSERT_STR_EQ(pp("a.b = x or a.b = y and a.b = z"), "(a.b = x or (a.b = y and a.b = z))");
    ASSERT_STR_EQ(pp("a or not b and c"), "(a or (not b and c))");
    ASSERT_STR_EQ(pp("not a and b"), "(not a and b)");
    ASSERT_STR_EQ(pp("((a))"), "a");
    ASSERT_STR_EQ(pp("a and b and c"), "(a and b and c)");
    ASSERT_STR_EQ(pp("a and (b and c)"), "(a and (b and c))");
    ASSERT_STR_EQ(pp("(a)and(b)and(c)"), "(a and b and c)");
    ASSERT_STR_EQ(pp("not(a)and(not(b))"), "(not a and not b)");
}

static void test_not_parity(void)
{
    ASSERT_STR_EQ(pp("not not a"), "a");
    ASSERT_STR_EQ(pp("not not not a"), "not a");
    ASSERT_STR_EQ(pp("not_macro"), "not_macro");
    ASSERT_STR_EQ(pp("a.b = not"), "a.b = not");
    ASSERT_STR_EQ(pp("a andb"), "ERR:expected blank or '(' after 'and'@5");
    ASSERT_STR_EQ(pp("a not b"), "ERR:unexpected token after 'a', expecting 'or', 'and'@2");
    ASSERT_STR_EQ(pp("a\fand b"), "ERR:unexpected token after 'a', expecting 'or', 'and'@1");
    ASSERT_STR_EQ(pp("a\band b"), "(a and b)");
}

static void test_operators(void)
{
    ASSERT_STR_EQ(pp("a.b=1"), "a.b = 1");
    ASSERT_STR_EQ(pp("a.b == x"), "a.b == x");
    ASSERT_STR_EQ(pp("ct.name inx"), "ct.name in x");
    ASSERT_STR_EQ(pp("ct.name pmatchfoo"), "ct.name pmatch foo");
    ASSERT_STR_EQ(pp("test.op existsand m"), "(test.op exists and m)");
    ASSERT(starts(pp("a.b containsvalue"), "ERR:expected a valid check operator"));
    ASSERT(starts(pp("a.b === x"), "ERR:expected a string value"));
    ASSERT(starts(pp("a.b ExIsTs"), "ERR:expected a valid check operator"));
    ASSERT_STR_EQ(pp("a.b in ()"), "a.b in ()");
    ASSERT_STR_EQ(pp("a.b intersects()"), "a.b intersects ()");
    ASSERT_STR_EQ(pp("a.b in ( x ,'y z' )"), "a.b in (x, \"y z\")");
    ASSERT_STR_EQ(pp("a.b in (a,)"), "ERR:expected a string value@10");
    ASSERT_STR_EQ(pp("a.b in (,)"), "ERR:expected a ')' token@8");
    ASSERT_STR_EQ(pp("a.b = <NA>"), "a.b = <NA>");
    ASSERT_STR_EQ(pp("a.b = b.c"), "a.b = b.c");
    ASSERT_STR_EQ(pp("a.b = val(b.c)"), "a.b = val(b.c)");
    ASSERT_STR_EQ(pp("my.macro"), "ERR:expected a valid check operator: one of 'exists', "
                  "'<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', "
                  "'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', "
                  "'regex', 'intersects', 'in', 'pmatch'@8");
}

static void test_numbers(void)
{
    ASSERT_STR_EQ(pp("a.b > 1e+5"), "a.b > 1e+5");
    ASSERT_STR_EQ(pp("a.b > 1e5"), "ERR:unexpected token after '1', expecting 'or', 'and'@7");
    ASSERT_STR_EQ(pp("a.b > 0x1F"), "a.b > 0x1F");
    ASSERT_STR_EQ(pp("a.b > -1.5"), "a.b > -1.5");
    ASSERT(starts(pp("a.b <= a"), "ERR:expected a number value"));
}

static void test_modifiers(void)
{
    ASSERT_STR_EQ(pp("p.n == oneof (a, b)"), "p.n == oneof (a, b)");
    ASSERT_STR_EQ(pp("p.n startswith anyof (a)"), "p.n startswith anyof (a)");
    ASSERT_STR_EQ(pp("p.n == allof mylist"), "p.n == allof mylist");
    ASSERT_STR_EQ(pp("p.n == anyof and x.y exists"), "(p.n == anyof and x.y exists)");
    ASSERT(starts(pp("p.n ==oneof (a)"), "ERR:unexpected token"));
    ASSERT(starts(pp("p.n == oneof(a)"), "ERR:unexpected token"));
    ASSERT(starts(pp("p.n > oneof (1)"), "ERR:expected a number value"));
}

static void test_transformers(void)
{
    ASSERT_STR_EQ(pp("getopt(proc.args, \"nt:\")[t] = value"), "getopt(proc.args,nt:)[t] = value");
    ASSERT_STR_EQ(pp("toupper( tolower(a.b) ) = X"), "toupper(tolower(a.b)) = X");
    ASSERT_STR_EQ(pp("join(\"-\", (a.b, 'x', 1)) = q"), "join(-,(a.b,x,1)) = q");
    ASSERT_STR_EQ(pp("some.field = b64 and(m)"), "(some.field = b64 and m)");
    ASSERT(starts(pp("b64 (x.y) exists"), "ERR:"));
    ASSERT_STR_EQ(pp("a.b = val(val(x.y))"), "ERR:expected a field within 'val' transformer@10");
    ASSERT_STR_EQ(pp("b64(x.y exists"), "ERR:expected a ')' token closing the transformer@8");
    ASSERT_STR_EQ(pp("join(\"-\", (,)) = x"), "ERR:expected transformer list argument: field, "
                  "transformer, quoted string, or number@11");
}

static void test_field_args(void)
{
    ASSERT_STR_EQ(pp("evt.arg[0] = v"), "evt.arg[0] = v");
    ASSERT_STR_EQ(pp("t.s[\"\"] = v"), "t.s[\"\"] = v");
    ASSERT_STR_EQ(pp("t.s[\"a b\"] = v"), "t.s[\"a b\"] = v");
    ASSERT_STR_EQ(pp("t.s[] = v"), "ERR:expected a valid field argument: a quoted string or a bare string@4");
    ASSERT_STR_EQ(pp("t.s[ x ] = v"), "ERR:expected a valid field argument: a quoted string or a bare string@4");
    ASSERT_STR_EQ(pp("t.s[x = v"), "ERR:expected a ']' token@5");
}

static void test_strings(void)
{
    ASSERT_STR_EQ(pp("a.b = 'x\\'y'"), "a.b = \"x'y\"");
    ASSERT_STR_EQ(pp("a.b = 'x\\\"y'"), "ERR:invalid \\\" escape in '-quoted string@12");
    ASSERT_STR_EQ(pp("a.b = \"x\\'y\""), "ERR:invalid \\' escape in \"-quoted string@12");
    ASSERT_STR_EQ(pp("a.b = \"\\q\""), "ERR:unsupported string escape sequence: \\q@10");
    ASSERT_STR_EQ(pp("a.b = \"\\x4\""), "ERR:truncated hex char escape sequence@11");
    ASSERT_STR_EQ(pp("a.b = \"\\x41\\t\""), "a.b = \"A\\t\"");
    ASSERT_STR_EQ(pp("a.b = \"back\\ slash\""), "a.b = \"back\\\\slash\"");
    /* a quoted string cannot end with an escaped backslash */
    ASSERT(starts(pp("a.b = \"abc\\\\\""), "ERR:"));
    size_t n;
    char err[128];
    char *v = ev_ast_unescape("a\\x00b", 6, '"', &n, err, sizeof(err));
    ASSERT_NOT_NULL(v);
    ASSERT_MEM_EQ(v, n, "a\0b", 3);
    free(v);
    ASSERT(ev_ast_unescape("\\xgg", 4, '"', &n, err, sizeof(err)) == NULL);
    ASSERT_STR_EQ(err, "invalid hex char escape sequence: gg");
    char *e = ev_ast_escape_str("", 0);
    ASSERT_STR_EQ(e, "");
    free(e);
    e = ev_ast_escape_str("c,d", 3);
    ASSERT_STR_EQ(e, "c,d");
    free(e);
    e = ev_ast_escape_str("a=b", 3);
    ASSERT_STR_EQ(e, "\"a=b\"");
    free(e);
}

static void test_errors_and_limits(void)
{
    ASSERT_STR_EQ(pp(""), "ERR:filter input string is empty@0");
    ASSERT_STR_EQ(pp("#a"), "ERR:expected a '(' token, a field check, or an identifier@0");
    ev_parse_error e;
    ASSERT(ev_parse("a\nand\n b c", 10, 0, &e) == NULL);
    ASSERT_EQ(e.line, 3);
    ASSERT_EQ(e.column, 4);
    /* deep nesting: clean error at the limit, success below it */
    size_t n = 100000;
    char *deep = malloc(2 * n + 2);
    memset(deep, '(', n);
    deep[n] = 'a';
    memset(deep + n + 1, ')', n);
    deep[2 * n + 1] = '\0';
    ASSERT(ev_parse(deep, 2 * n + 1, 0, &e) == NULL);
    ASSERT_STR_EQ(e.msg, "exceeded max depth limit of 100");
    ASSERT(ev_parse(deep, 2 * n + 1, 1000, &e) == NULL);
    ASSERT_STR_EQ(e.msg, "exceeded max depth limit of 1000");
    free(deep);
    const char *ten = "((((((((((a))))))))))";
    ev_ast *a = ev_parse(ten, strlen(ten), 0, &e);
    ASSERT_NOT_NULL(a);
    ev_ast_free(a);
    /* a 1 MB flat condition parses */
    size_t big = 1 << 20;
    char *flat = malloc(big + 16);
    size_t o = 0;
    while (o + 16 < big)
        o += (size_t)sprintf(flat + o, "%sx.y = v%zu", o ? " or " : "", o % 97);
    a = ev_parse(flat, o, 1000, &e);
    ASSERT_NOT_NULL(a);
    ASSERT(a->kind == EV_AST_OR && a->nkids > 50000);
    ev_ast_free(a);
    free(flat);
}

static int s_subst(ev_ast **slot, void *ud)
{
    int *count = ud;
    (*count)++;
    if (strcmp((*slot)->str, "m") == 0) {
        ev_parse_error e;
        ev_ast *r = ev_parse("a.b = 1 or a.b = 2", 18, 0, &e);
        ev_ast_free(*slot);
        *slot = r;
    }
    return strcmp((*slot)->str ? (*slot)->str : "", "stop") == 0 ? 7 : 0;
}

static void test_walk_clone(void)
{
    ev_parse_error e;
    const char *c = "x.y exists and m and not n";
    ev_ast *a = ev_parse(c, strlen(c), 0, &e);
    int count = 0;
    ASSERT_EQ(ev_ast_walk_idents(&a, s_subst, &count), 0);
    ASSERT_EQ(count, 2);
    char *s = ev_ast_to_string(a);
    ASSERT_STR_EQ(s, "(x.y exists and (a.b = 1 or a.b = 2) and not n)");
    ev_ast *b = ev_ast_clone(a);
    char *s2 = ev_ast_to_string(b);
    ASSERT_STR_EQ(s, s2);
    free(s);
    free(s2);
    ev_ast_free(a);
    ev_ast_free(b);
    c = "p and stop and q";
    a = ev_parse(c, strlen(c), 0, &e);
    count = 0;
    ASSERT_EQ(ev_ast_walk_idents(&a, s_subst, &count), 7);
    ASSERT_EQ(count, 2);
    ev_ast_free(a);
}

int main(void)
{
    tg_test_state st = {0, 0};
    TG_RUN(&st, test_precedence);
    TG_RUN(&st, test_not_parity);
    TG_RUN(&st, test_operators);
    TG_RUN(&st, test_numbers);
    TG_RUN(&st, test_modifiers);
    TG_RUN(&st, test_transformers);
    TG_RUN(&st, test_field_args);
    TG_RUN(&st, test_strings);
    TG_RUN(&st, test_errors_and_limits);
    TG_RUN(&st, test_walk_clone);
    TG_DONE(&st);
}
