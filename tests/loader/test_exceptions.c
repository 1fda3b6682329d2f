/*
 * test_exceptions.c - exceptions compiled into condition text (spec 6.13):
 * list form, single form, quoting, list names and transformers as values,
 * append/replace merging and every validation message.
 */
#include <stdio.h>

#include "tg_test.h"
#include "tl_util.h"

static tg_test_state st;

#define XRULE(cond, excs) \
    "- rule: r\n  desc: d\n  condition: " cond "\n  output: o\n  priority: INFO\n  exceptions:\n" excs

static void test_list_form(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, XRULE("evt.type = open",
                    "    - name: e1\n      fields: [proc.name]\n      comps: [=]\n      values: [[proc.pname]]\n"));
    /* upstream example: the value is a string, not a field */
    ASSERT_STR_EQ(tl_cond(&t, "r"), "(evt.type = open and not proc.name = proc.pname)");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_OK(&t, XRULE("evt.type = open",
                    "    - name: e1\n      fields: [proc.name, fd.name]\n      comps: [=, startswith]\n"
                    "      values:\n        - [cat, /etc]\n        - [\"my cat\", /tmp]\n"
                    "    - name: e2\n      fields: [user.name]\n      values: [[root]]\n"));
    ASSERT_STR_EQ(tl_cond(&t, "r"),
                  "(evt.type = open and not ((proc.name = cat and fd.name startswith /etc) or "
                  "(proc.name = \"my cat\" and fd.name startswith /tmp)) and not user.name = root)");
    tl_close(&t);
}

static void test_list_form_in_comps(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- list: cat_cmdlines\n  items: [a, b]\n"
              XRULE("evt.type = open",
                    "    - name: e1\n      fields: [proc.name, proc.cmdline]\n      comps: [in, in]\n"
                    "      values:\n        - [[cat, dog], cat_cmdlines]\n"));
    ASSERT_STR_EQ(tl_cond(&t, "r"),
                  "(evt.type = open and not (proc.name in (cat, dog) and proc.cmdline in (a, b)))");
    tl_close(&t);
}

static void test_single_form(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, XRULE("evt.type = open",
                    "    - name: e1\n      fields: proc.name\n      values: [cat, \"a b\"]\n"
                    "    - name: e2\n      fields: fd.name\n      comps: pmatch\n      values: [/tmp]\n"));
    ASSERT_STR_EQ(tl_cond(&t, "r"),
                  "(evt.type = open and not proc.name in (cat, \"a b\") and not fd.name pmatch (/tmp))");
    tl_close(&t);
}

static void test_no_values_no_clause(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, XRULE("evt.type = open", "    - name: e1\n      fields: [proc.name]\n"));
    ASSERT_STR_EQ(tl_cond(&t, "r"), "evt.type = open");
    tl_close(&t);
}

static void test_append_values(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, XRULE("evt.type = open", "    - name: e1\n      fields: proc.name\n      values: [cat]\n")
              "- rule: r\n  exceptions:\n    - name: e1\n      values: [echo]\n"
              "    - name: e2\n      fields: [fd.name]\n      values: [[/x]]\n"
              "  override:\n    exceptions: append\n");
    ASSERT_STR_EQ(tl_cond(&t, "r"),
                  "(evt.type = open and not proc.name in (cat, echo) and not fd.name = /x)");
    ASSERT_EQ(tl_nwarn(&t), 0);
    tl_close(&t);
}

static void test_append_no_values_warns(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, XRULE("proc.cmdline contains curl",
                    "    - name: e1\n      fields: [proc.cmdline]\n      comps: [contains]\n      values:\n        - [curl 127.0.0.1]\n")
              "- rule: r\n  exceptions:\n    - name: e1\n  append: true\n");
    TL_WARN(&t, "LOAD_APPEND_NO_VALUES", "Overriding/appending exception with no values");
    tl_close(&t);
}

static void test_duplicate_names_warn(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, XRULE("evt.type = open", "    - name: e1\n      fields: [proc.name]\n      values: [[a]]\n"
                                       "    - name: e1\n      fields: [fd.name]\n      values: [[b]]\n"));
    TL_WARN(&t, "LOAD_EXCEPTION_NAME_NOT_UNIQUE", "Multiple definitions of exception 'e1' in the same rule");
    tl_close(&t);
}

static void test_errors(void)
{
    static const struct { const char *yaml, *code, *msg; } cases[] = {
        {XRULE("evt.type = open", "    - name: ex1\n      values: [[a]]\n"), "LOAD_ERR_YAML_VALIDATE",
         "Item has no mapping for key 'fields'"},
        {XRULE("evt.type = open", "    - fields: [proc.name]\n"), "LOAD_ERR_YAML_VALIDATE",
         "Item has no mapping for key 'name'"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: []\n"), "LOAD_ERR_VALIDATE",
         "Rule exception item must have fields property with a list of fields"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [not.exist]\n      values: [[a]]\n"),
         "LOAD_ERR_VALIDATE", "'not.exist' is not a supported filter field"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name, fd.name]\n      values: [[a]]\n"),
         "LOAD_ERR_VALIDATE", "Fields and values lists must have equal length"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name, fd.name]\n      comps: [=]\n      values: [[a, b]]\n"),
         "LOAD_ERR_VALIDATE", "Fields and comps lists must have equal length"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name]\n      comps: [no-comp]\n      values: [[a]]\n"),
         "LOAD_ERR_VALIDATE", "'no-comp' is not a supported comparison operator"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name]\n      comps: [frobulate oneof]\n      values: [[a]]\n"),
         "LOAD_ERR_VALIDATE", "'frobulate oneof' is not a supported comparison operator"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: proc.name\n      comps: =\n      values: [a]\n"),
         "LOAD_ERR_VALIDATE", "comps must be one of (in, pmatch, intersects) or a modifier operator"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: proc.name\n      comps: [in]\n      values: [a]\n"),
         "LOAD_ERR_VALIDATE", "Fields and comps must both be strings"},
        {"- rule: r\n  desc: d\n  condition: c\n  output: o\n  priority: INFO\n  exceptions: x\n",
         "LOAD_ERR_YAML_VALIDATE", "Rule exceptions must be a sequence"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name]\n      values: a\n"),
         "LOAD_ERR_YAML_VALIDATE", "Rule exception values must be a sequence"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name]\n      values: [[a]]\n")
         "- rule: r\n  exceptions:\n    - name: ex2\n      values: [[b]]\n  append: true\n",
         "LOAD_ERR_VALIDATE", "Rule exception must have fields property with a list of fields"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name]\n      values: [[a]]\n")
         "- rule: r\n  exceptions:\n    - name: ex2\n      fields: [fd.name]\n  append: true\n",
         "LOAD_ERR_VALIDATE", "Rule exception must have values property with a list of values"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name]\n      values: [[a]]\n")
         "- rule: r\n  exceptions:\n    - name: ex1\n      fields: [fd.name]\n      values: [[b]]\n  append: true\n",
         "LOAD_ERR_VALIDATE", "Can not append exception fields to existing exception, only values"},
        {XRULE("evt.type = open", "    - name: ex1\n      fields: [proc.name]\n      values: [[a]]\n")
         "- rule: r\n  exceptions:\n    - name: ex1\n      values: [[b]]\n  override:\n    exceptions: replace\n",
         "LOAD_ERR_YAML_VALIDATE", "Item has no mapping for key 'fields'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tl_env t;
        tl_open(&t, NULL);
        TL_ERR(&t, cases[i].yaml, cases[i].code, cases[i].msg);
        fprintf(stderr, "   case %zu\n", i);
        ASSERT_STR_EQ(tl_diag(&t, true, NULL, NULL)->item_type,
                      strstr(cases[i].msg, "must be a sequence") && strstr(cases[i].msg, "exceptions")
                          ? "rule" : "exception");
        tl_close(&t);
    }
}

int main(void)
{
    TG_RUN(&st, test_list_form);
    TG_RUN(&st, test_list_form_in_comps);
    TG_RUN(&st, test_single_form);
    TG_RUN(&st, test_no_values_no_clause);
    TG_RUN(&st, test_append_values);
    TG_RUN(&st, test_append_no_values_warns);
    TG_RUN(&st, test_duplicate_names_warn);
    TG_RUN(&st, test_errors);
    TG_DONE(&st);
}
