/*
 * test_loader.c - rules-file loader: lists, macros, append/override,
 * exceptions, enabled, priorities, sources, versions, diagnostics.
 * Expected values come from ../shared/spec/falco-rules-language.md (5, 6).
 */
#include <stdio.h>

#include "tg_test.h"
#include "tl_util.h"

static tg_test_state st;

static void test_list_override_append(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- list: sh\n  items: [ash, bash]\n"
              RULE("r", "evt.type=open and proc.name in (sh)")
              "- list: sh\n  items: [pwsh]\n  override:\n    items: append\n");
    ASSERT_STR_EQ(tl_cond(&t, "r"), "(evt.type = open and proc.name in (ash, bash, pwsh))");
    ASSERT(!tl_diag(&t, false, "LOAD_DEPRECATED_ITEM", NULL));
    tl_close(&t);
}

static void test_list_legacy_append_warns(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- list: sh\n  items: [ash]\n- list: sh\n  items: [zsh]\n  append: true\n"
              RULE("r", "proc.name in (sh)"));
    ASSERT_STR_EQ(tl_cond(&t, "r"), "proc.name in (ash, zsh)");
    TL_WARN(&t, "LOAD_DEPRECATED_ITEM", "'append' key is deprecated.");
    tl_close(&t);
}

static void test_list_append_missing(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_ERR(&t, "- list: sh\n  items: [zsh]\n  override:\n    items: append\n", "LOAD_ERR_VALIDATE",
           "List uses 'append' or 'override.items: append' but no list by that name already exists");
    tl_close(&t);
}

static void test_list_redefine_replaces(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- list: l\n  items: [a]\n- list: l\n  items: [b, c]\n" RULE("r", "proc.name in (l)"));
    ASSERT_STR_EQ(tl_cond(&t, "r"), "proc.name in (b, c)");
    tl_close(&t);
}

static void test_list_nested_one_level(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- list: a\n  items: [x]\n- list: b\n  items: [a, y]\n- list: c\n  items: [b]\n"
              RULE("r", "proc.name in (c)") RULE("r2", "proc.name in (b)"));
    /* c -> raw items of b ("a", "y"); "a" stays literal text (one level) */
    ASSERT_STR_EQ(tl_cond(&t, "r"), "proc.name in (a, y)");
    ASSERT_STR_EQ(tl_cond(&t, "r2"), "proc.name in (x, y)");
    tl_close(&t);
}

static void test_list_textual_rules(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- list: one\n  items: [cat]\n- list: sp\n  items: [\"a b\", c]\n"
              "- list: empty\n  items: []\n"
              RULE("bare", "proc.name=one")
              RULE("mid", "proc.name in (ls, one, ps)")
              RULE("quoted", "proc.cmdline in (sp)")
              RULE("glued", "proc.name = file_one or proc.name = one_x")
              RULE("empty", "proc.name in (empty)")
              RULE("emptycomma", "proc.name in (a, empty)")
              RULE("instr", "proc.cmdline = \"x one y\""));
    ASSERT_STR_EQ(tl_cond(&t, "bare"), "proc.name = cat");
    ASSERT_STR_EQ(tl_cond(&t, "mid"), "proc.name in (ls, cat, ps)");
    ASSERT_STR_EQ(tl_cond(&t, "quoted"), "proc.cmdline in (\"a b\", c)");
    ASSERT_STR_EQ(tl_cond(&t, "glued"), "(proc.name = file_one or proc.name = one_x)");
    ASSERT_STR_EQ(tl_cond(&t, "empty"), "proc.name in ()");
    ASSERT_STR_EQ(tl_cond(&t, "emptycomma"), "proc.name in (a)");
    /* textual: expanded even inside a quoted string when blank-delimited */
    ASSERT_STR_EQ(tl_cond(&t, "instr"), "proc.cmdline = \"x cat y\"");
    tl_close(&t);
}

static void test_list_unused_and_invalid_name(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- list: unused\n  items: [a]\n- list: \"bad name\"\n  items: [b]\n" RULE("r", "evt.type = x"));
    TL_WARN(&t, "LOAD_UNUSED_LIST", "List not referred to by any other rule/macro");
    TL_WARN(&t, "LOAD_INVALID_LIST_NAME", "List has an invalid name. List names should match a regular expression");
    tl_close(&t);
}

static void test_macro_subtree(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- macro: m\n  condition: proc.name = a or proc.name = b\n"
              RULE("r", "evt.type=open and m"));
    ASSERT_STR_EQ(tl_cond(&t, "r"), "(evt.type = open and (proc.name = a or proc.name = b))");
    ASSERT(tl_nwarn(&t) == 0);
    tl_close(&t);
}

static void test_macro_append_precedence(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- macro: m\n  condition: proc.name = a and proc.name = b\n"
              "- macro: m\n  condition: or proc.name = c\n  override:\n    condition: append\n"
              RULE("r", "evt.type=open and m"));
    ASSERT_STR_EQ(tl_cond(&t, "r"),
                  "(evt.type = open and ((proc.name = a and proc.name = b) or proc.name = c))");
    tl_close(&t);
}

static void test_macro_undefined(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_ERR(&t, RULE("some rule", "evt.type = open and bar"), "LOAD_ERR_VALIDATE",
           "Undefined macro 'bar' used in filter.");
    const ev_diag *d = tl_diag(&t, true, NULL, NULL);
    ASSERT_STR_EQ(d->item_type, "rule");
    ASSERT_STR_EQ(d->item_name, "some rule");
    ASSERT_STR_EQ(d->file, "test.yaml");
    ASSERT_EQ(d->line, 1);
    ASSERT_EQ(d->col, 3);
    tl_close(&t);
}

static void test_macro_visibility(void)
{
    tl_env t;
    tl_open(&t, NULL);
    /* a rule may use a macro defined later */
    TL_OK(&t, RULE("r", "later") "- macro: later\n  condition: evt.type = x\n");
    ASSERT_STR_EQ(tl_cond(&t, "r"), "evt.type = x");
    tl_close(&t);
    /* a macro may not use a macro defined later */
    tl_open(&t, NULL);
    TL_ERR(&t, "- macro: first\n  condition: second\n- macro: second\n  condition: evt.type = x\n"
               RULE("r", "first"), "LOAD_ERR_VALIDATE", "Undefined macro 'second' used in filter.");
    ASSERT_STR_EQ(tl_diag(&t, true, NULL, NULL)->item_name, "first");
    tl_close(&t);
}

static void test_macro_loop(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_ERR(&t, "- macro: m\n  condition: evt.type = x\n"
               "- macro: m\n  condition: or m\n  override:\n    condition: append\n" RULE("r", "m"),
           "LOAD_ERR_VALIDATE", "reference loop in macro 'm'");
    tl_close(&t);
}

static void test_macro_parse_error_and_unused(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_ERR(&t, "- macro: some_macro\n  condition: evt.type=execve foo\n", "LOAD_ERR_COMPILE_CONDITION",
           "unexpected token after 'execve', expecting 'or', 'and'");
    ASSERT_STR_EQ(tl_diag(&t, true, NULL, NULL)->item_type, "macro");
    TL_WARN(&t, "LOAD_UNUSED_MACRO", "Macro not referred to by any other rule/macro");
    tl_close(&t);
}

static void test_macro_invalid_name(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- macro: bad-name\n  condition: evt.type = x\n");
    TL_WARN(&t, "LOAD_INVALID_MACRO_NAME", "Macro has an invalid name. Macro names should match a regular expression");
    tl_close(&t);
}

static void test_rule_legacy_append(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("r", "evt.type=open") "- rule: r\n  condition: and proc.name = cat\n  output: ignored\n  append: true\n");
    const ev_rule *r = ev_engine_find_rule(t.e, "r");
    ASSERT_STR_EQ(r->condition, "evt.type=open and proc.name = cat");
    ASSERT_STR_EQ(r->output, "o %proc.name");
    TL_WARN(&t, "LOAD_DEPRECATED_ITEM", "'append' key is deprecated");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- rule: r\n  condition: and x\n  append: true\n", "LOAD_ERR_VALIDATE",
           "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, RULE("no condition rule", "evt.type=open") "- rule: no condition rule\n  append: true\n",
           "LOAD_ERR_VALIDATE", "Appended rule must have exceptions or condition property");
    tl_close(&t);
}

static void test_rule_override(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("r", "evt.type = close")
              "- rule: r\n  desc: new desc\n  condition: and proc.name = cat\n  priority: WARNING\n"
              "  tags: [b, a]\n"
              "  override:\n    desc: replace\n    condition: append\n    priority: replace\n    tags: append\n");
    const ev_rule *r = ev_engine_find_rule(t.e, "r");
    ASSERT_STR_EQ(r->condition, "evt.type = close and proc.name = cat");
    ASSERT_STR_EQ(r->desc, "new desc");
    ASSERT_EQ(r->priority, EV_PRIO_WARNING);
    ASSERT_EQ(r->ntags, 2);
    ASSERT_STR_EQ(r->tags[0], "a");
    tl_close(&t);
}

static void test_rule_override_errors(void)
{
    static const struct { const char *entry, *code, *msg; } cases[] = {
        {"- rule: r\n  priority: ERROR\n  override:\n    priority: append\n", "LOAD_ERR_YAML_VALIDATE",
         "Key 'priority' cannot be appended to, use 'replace' instead"},
        {"- rule: r\n  source: x\n  override:\n    source: replace\n", "LOAD_ERR_YAML_VALIDATE",
         "Key 'source' cannot be replaced"},
        {"- rule: r\n  desc: x\n  override:\n    desc: merge\n", "LOAD_ERR_YAML_VALIDATE",
         "Invalid override operation for key 'desc': 'merge'. Allowed values are: append replace "},
        {"- rule: r\n  desc: x\n  override:\n    condition: append\n    desc: replace\n", "LOAD_ERR_YAML_VALIDATE",
         "An append override for 'condition' was specified but 'condition' is not defined"},
        {"- rule: r\n  desc: x\n  condition: and y\n  priority: ERROR\n  override:\n    desc: replace\n    condition: append\n",
         "LOAD_ERR_YAML_VALIDATE", "Unexpected key 'priority': no corresponding entry under 'override' is defined."},
        {"- rule: r\n  desc: x\n  override:\n    desc: replace\n  append: true\n", "LOAD_ERR_YAML_VALIDATE",
         "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."},
        {"- rule: r\n  desc: x\n  source: other\n  override:\n    desc: replace\n", "LOAD_ERR_VALIDATE",
         "Rule has been re-defined with a different source"},
        {"- rule: q\n  desc: x\n  override:\n    desc: replace\n", "LOAD_ERR_VALIDATE",
         "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists"},
        {"- rule: q\n  desc: x\n  override:\n    desc: append\n", "LOAD_ERR_VALIDATE",
         "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists"},
        {"- rule: r\n  desc: x\n  condition: y\n  output: z\n  priority: INFO\n  source: k8s_audit\n",
         "LOAD_ERR_VALIDATE", "Rule has been re-defined with a different source"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tl_env t;
        tl_open(&t, NULL);
        char buf[2048];
        snprintf(buf, sizeof(buf), "%s%s", RULE("r", "evt.type = close"), cases[i].entry);
        TL_ERR(&t, buf, cases[i].code, cases[i].msg);
        tl_close(&t);
    }
}

static void test_enabled(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("r", "evt.type = close") "  enabled: false\n"
              "- rule: r\n  desc: x\n  enabled: true\n  override:\n    desc: replace\n    enabled: replace\n");
    ASSERT_EQ(ev_engine_nenabled(t.e), 1);
    ASSERT_EQ(tl_nwarn(&t), 0);
    tl_close(&t);
    tl_open(&t, NULL);
    TL_OK(&t, RULE("r", "evt.type = close") "- rule: r\n  enabled: false\n");
    ASSERT_EQ(ev_engine_nenabled(t.e), 0);
    TL_WARN(&t, "LOAD_DEPRECATED_ITEM", "The standalone 'enabled' key usage is deprecated.");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- rule: r\n  enabled: false\n", "LOAD_ERR_VALIDATE",
           "Rule has 'enabled' key but no rule by that name already exists");
    tl_close(&t);
    /* disabled rules are still compiled */
    tl_open(&t, NULL);
    TL_ERR(&t, RULE("r", "nosuch.field = 1") "  enabled: false\n", "LOAD_ERR_COMPILE_CONDITION",
           "nosuch.field");
    tl_close(&t);
}

static void test_priorities(void)
{
    tl_env t;
    ev_priority p;
    ASSERT_EQ(ev_priority_parse("info", &p), 0);
    ASSERT_EQ(p, EV_PRIO_INFORMATIONAL);
    ASSERT_EQ(ev_priority_parse("CrItIcAl", &p), 0);
    ASSERT_EQ(p, EV_PRIO_CRITICAL);
    ASSERT(ev_priority_parse("severe", &p) < 0);
    ASSERT_STR_EQ(ev_priority_name(EV_PRIO_INFORMATIONAL), "Informational");
    tl_open(&t, NULL);
    TL_ERR(&t, "- rule: r\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: severe\n",
           "LOAD_ERR_YAML_VALIDATE", "Invalid priority");
    tl_close(&t);
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.min_priority = EV_PRIO_WARNING;
    tl_open(&t, &o);
    TL_OK(&t, "- rule: a\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: Error\n"
              "- rule: b\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: notice\n");
    ASSERT_EQ(ev_engine_nenabled(t.e), 1);
    ASSERT(ev_engine_find_rule(t.e, "a")->enabled);
    /* enabling by selection does not bring back a rule below the minimum */
    ev_selection s = {true, false, "*"};
    ev_engine_select(t.e, &s);
    ASSERT_EQ(ev_engine_nenabled(t.e), 1);
    tl_close(&t);
}

static void test_tags_sorted_set(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("r", "evt.type = x") "  tags: [zeta, alpha, zeta, mid]\n");
    const ev_rule *r = ev_engine_find_rule(t.e, "r");
    ASSERT_EQ(r->ntags, 3);
    ASSERT_STR_EQ(r->tags[0], "alpha");
    ASSERT_STR_EQ(r->tags[1], "mid");
    ASSERT_STR_EQ(r->tags[2], "zeta");
    tl_close(&t);
}

static void test_unknown_source(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("Rule1", "evt.type = x") "  source: mysource\n"
              "- rule: Rule1\n  condition: and whatever\n  append: true\n");
    TL_WARN(&t, "LOAD_UNKNOWN_SOURCE", "Unknown source mysource, skipping");
    ASSERT_EQ(ev_engine_nrules(t.e), 0);
    tl_close(&t);
}

static void test_engine_version(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- required_engine_version: 10\n- required_engine_version: 0.26.0\n");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- required_engine_version: 9999999\n", "LOAD_ERR_VALIDATE",
           "Rules require engine version 0.9999999.0, but engine version is 0.63.0");
    ASSERT_STR_EQ(tl_diag(&t, true, NULL, NULL)->item_type, "required_engine_version");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- required_engine_version: not-a-number\n", "LOAD_ERR_YAML_VALIDATE",
           "Unable to parse engine version 'not-a-number' as a semver string. Expected \"x.y.z\" semver format.");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- required_engine_version: 1.0.0\n", "LOAD_ERR_VALIDATE", "Rules require engine version 1.0.0");
    tl_close(&t);
}

static void test_plugin_versions(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- required_plugin_versions:\n  - name: cloudtrail\n    version: 0.10.0\n"
              "  - name: json\n    version: 0.7.0\n");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- required_plugin_versions:\n  - name: cloudtrail\n    version: 0.18.0\n",
           "LOAD_ERR_VALIDATE", "Plugin 'cloudtrail' version '0.17.1' is not compatible with required plugin version '0.18.0'");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0\n    alternatives:\n"
               "      - name: okta\n        version: 0.1.0\n",
           "LOAD_ERR_VALIDATE", "Plugin requirement not satisfied, must load one of: k8saudit (>= 0.1.0), okta (>= 0.1.0)");
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- required_plugin_versions:\n  - name: json\n    version: bad\n",
           "LOAD_ERR_YAML_VALIDATE", "Invalid required version 'bad' for plugin 'json'");
    tl_close(&t);
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    ev_plugin_version pl[] = {{"k8saudit", "0.2.0"}};
    o.plugins = pl;
    o.nplugins = 1;
    tl_open(&t, &o);
    TL_OK(&t, "- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0\n");
    tl_close(&t);
}

static void test_skip_if_unknown_filter(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("a", "proc.nobody = x") "  skip-if-unknown-filter: true\n"
              "- rule: b\n  desc: d\n  condition: evt.type = x\n  output: \"%proc.nobody\"\n  priority: INFO\n"
              "  skip-if-unknown-filter: true\n");
    TL_WARN(&t, "LOAD_UNKNOWN_FILTER", "proc.nobody");
    ASSERT_EQ(ev_engine_nrules(t.e), 0);
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, RULE("a", "proc.nobody = x"), "LOAD_ERR_COMPILE_CONDITION",
           "filter_check called with nonexistent field proc.nobody");
    ASSERT_EQ(ev_engine_nerrors(t.e), 1);
    tl_close(&t);
}

static void test_documents_and_loads(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "---\n- list: l\n  items: [a]\n---\n---\n" RULE("r", "proc.name in (l)"));
    ASSERT_STR_EQ(tl_cond(&t, "r"), "proc.name in (a)");
    /* a second load overrides the first: definition order kept */
    TL_OK(&t, RULE("s", "evt.type = y") "- list: l\n  items: [b]\n" RULE("r", "evt.type = z"));
    ASSERT_EQ(ev_engine_nrules(t.e), 2);
    ASSERT_STR_EQ(ev_engine_rule(t.e, 0)->name, "r");
    ASSERT_STR_EQ(tl_cond(&t, "r"), "evt.type = z");
    tl_close(&t);
}

static void test_yaml_structure_errors(void)
{
    static const struct { const char *yaml, *code, *type, *msg; } cases[] = {
        {"foo: bar", "LOAD_ERR_YAML_VALIDATE", "rules content", "Rules content is not yaml array of objects"},
        {"just a string", "LOAD_ERR_YAML_VALIDATE", "rules content", "Rules content is not yaml"},
        {"- [a, b]\n", "LOAD_ERR_YAML_VALIDATE", "rules content item",
         "Unexpected element type. Each element should be a yaml associative array."},
        {"- rule: x\n  foo: : bar\n  - [\n", "LOAD_ERR_YAML_PARSE", "rules content", ""},
        {"- list:\n  items: [a]\n", "LOAD_ERR_YAML_VALIDATE", "list", "Mapping for key 'list' is empty"},
        {"- list: bad_list\n", "LOAD_ERR_YAML_VALIDATE", "list", "Item has no mapping for key 'items'"},
        {"- macro: bad_macro\n", "LOAD_ERR_YAML_VALIDATE", "macro", "Item has no mapping for key 'condition'"},
        {"- rule: no output rule\n  desc: d\n  condition: evt.type = x\n  priority: INFO\n",
         "LOAD_ERR_YAML_VALIDATE", "rule", "Item has no mapping for key 'output'"},
        {"- rule: \"\"\n", "LOAD_ERR_YAML_VALIDATE", "rule", "Value must be non-empty"},
        {"- rule: [a]\n", "LOAD_ERR_YAML_VALIDATE", "rule", "Value is not a scalar value"},
        {RULE("r", "evt.type = x") "  tags: a\n", "LOAD_ERR_YAML_VALIDATE", "rule", "Value is not a sequence"},
        {"- rule: r\n  desc: d\n  condition: evt.type = x\n  output: \"50%\"\n  priority: INFO\n",
         "LOAD_ERR_COMPILE_OUTPUT", "rule", "formatting cannot end with a %"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tl_env t;
        tl_open(&t, NULL);
        TL_ERR(&t, cases[i].yaml, cases[i].code, cases[i].msg);
        ASSERT_STR_EQ(tl_diag(&t, true, NULL, NULL)->item_type, cases[i].type);
        tl_close(&t);
    }
}

static void test_unknown_keys_and_items(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("r", "evt.type = x") "  typo_field: v\n- something: else\n"
              "- list: l\n  items: [a]\n  priority: INFO\n- macro: m\n  condition: proc.name in (l)\n  foo: 1\n");
    TL_WARN(&t, "LOAD_UNKNOWN_KEY", "Unknown key 'typo_field'. The key will be ignored.");
    TL_WARN(&t, "LOAD_UNKNOWN_KEY", "Unknown key 'priority'");
    TL_WARN(&t, "LOAD_UNKNOWN_KEY", "Unknown key 'foo'");
    TL_WARN(&t, "LOAD_UNKNOWN_ITEM", "Unknown top level item");
    TL_WARN(&t, "LOAD_UNUSED_MACRO", "Macro not referred to");
    ASSERT(!tl_diag(&t, false, "LOAD_UNUSED_LIST", NULL));
    tl_close(&t);
}

static void test_output_and_na_warnings(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, "- rule: r\n  desc: d\n  condition: ka.user.name = <NA> and evt.dir = <\n"
              "  output: \"  %container.info x=%proc.name %evt.dir  \"\n  priority: INFO\n");
    TL_WARN(&t, "LOAD_UNSAFE_NA_CHECK", "");
    TL_WARN(&t, "LOAD_DEPRECATED_ITEM", "%container.info is deprecated");
    TL_WARN(&t, "LOAD_DEPRECATED_ITEM", "usage of deprecated field 'evt.dir' has been detected in the rule output");
    TL_WARN(&t, "LOAD_DEPRECATED_ITEM", "usage of deprecated field 'evt.dir' has been detected in the rule condition");
    /* the output is trimmed on definition */
    ASSERT_STR_EQ(ev_engine_find_rule(t.e, "r")->output, "%container.info x=%proc.name %evt.dir");
    tl_close(&t);
}

static void test_override_replace_keys(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("r", "evt.type = open") "  tags: [a, b]\n  exceptions:\n"
              "    - name: e1\n      fields: [proc.name]\n      values: [[cat]]\n"
              "- rule: r\n  tags: [z]\n  output: new %proc.name\n  capture: true\n  capture_duration: 15000\n"
              "  exceptions:\n    - name: e2\n      fields: proc.name\n      values: [ls]\n"
              "  override:\n    tags: replace\n    output: replace\n    capture: replace\n"
              "    capture_duration: replace\n    exceptions: replace\n");
    const ev_rule *r = ev_engine_find_rule(t.e, "r");
    ASSERT_EQ(r->ntags, 1);
    ASSERT_STR_EQ(r->tags[0], "z");
    ASSERT_STR_EQ(r->output, "new %proc.name");
    ASSERT(r->capture);
    ASSERT_U64_EQ(r->capture_duration, 15000);
    ASSERT_STR_EQ(tl_cond(&t, "r"), "(evt.type = open and not proc.name in (ls))");
    tl_close(&t);
}

static void test_diag_format_and_file_errors(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_ERR(&t, "\n\n- rule: bad\n  desc: d\n  condition: evt.type = x\n  output: o\n  priority: nope\n",
           "LOAD_ERR_YAML_VALIDATE", "Invalid priority");
    ev_strbuf b;
    ev_strbuf_init(&b);
    ev_diag_format(tl_diag(&t, true, NULL, NULL), &b);
    ASSERT_STR_EQ(b.p, "test.yaml:3:3: error LOAD_ERR_YAML_VALIDATE (rule 'bad'): Invalid priority");
    ev_strbuf_fini(&b);
    ASSERT(!ev_engine_ok(t.e));
    ASSERT_EQ(ev_engine_nrules(t.e), 0);
    tl_close(&t);
    tl_open(&t, NULL);
    ASSERT(ev_engine_load_file(t.e, "/nonexistent/rules.yaml") < 0);
    ASSERT_NOT_NULL(tl_diag(&t, true, "LOAD_ERR_FILE_READ", "/nonexistent/rules.yaml"));
    tl_close(&t);
    tl_open(&t, NULL);
    TL_ERR(&t, "- required_plugin_versions: x\n", "LOAD_ERR_YAML_VALIDATE",
           "Value of required_plugin_versions must be a sequence");
    tl_close(&t);
}

static void test_hostile_input(void)
{
    tl_env t;
    /* deep YAML nesting */
    size_t n = 100000;
    char *deep = malloc(2 * n + 16);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    tl_open(&t, NULL);
    TL_ERR(&t, deep, "LOAD_ERR_YAML_PARSE", "nesting");
    tl_close(&t);
    /* deep condition nesting */
    size_t m = 5000;
    char *cond = malloc(2 * m + 64);
    memset(cond, '(', m);
    strcpy(cond + m, "evt.type = x");
    memset(cond + m + 12, ')', m);
    cond[2 * m + 12] = '\0';
    char *y = malloc(4 * m + 256);
    sprintf(y, "- rule: r\n  desc: d\n  condition: \"%s\"\n  output: o\n  priority: INFO\n", cond);
    tl_open(&t, NULL);
    TL_ERR(&t, y, "LOAD_ERR_COMPILE_CONDITION", "exceeded max depth limit of 1000");
    tl_close(&t);
    /* 1 MB condition: long chain of ors */
    size_t big = 1 << 20;
    char *bc = malloc(big + 256);
    size_t len = 0;
    len += (size_t)sprintf(bc, "- rule: r\n  desc: d\n  output: o\n  priority: INFO\n  condition: evt.type = a");
    while (len < big)
        len += (size_t)sprintf(bc + len, " or evt.type = a");
    bc[len++] = '\n';
    bc[len] = '\0';
    tl_open(&t, NULL);
    int rc = tl_load(&t, bc);
    ASSERT(rc == 0 || tl_diag(&t, true, NULL, NULL) != NULL);
    tl_close(&t);
    free(deep);
    free(cond);
    free(y);
    free(bc);
}

int main(void)
{
    TG_RUN(&st, test_list_override_append);
    TG_RUN(&st, test_list_legacy_append_warns);
    TG_RUN(&st, test_list_append_missing);
    TG_RUN(&st, test_list_redefine_replaces);
    TG_RUN(&st, test_list_nested_one_level);
    TG_RUN(&st, test_list_textual_rules);
    TG_RUN(&st, test_list_unused_and_invalid_name);
    TG_RUN(&st, test_macro_subtree);
    TG_RUN(&st, test_macro_append_precedence);
    TG_RUN(&st, test_macro_undefined);
    TG_RUN(&st, test_macro_visibility);
    TG_RUN(&st, test_macro_loop);
    TG_RUN(&st, test_macro_parse_error_and_unused);
    TG_RUN(&st, test_macro_invalid_name);
    TG_RUN(&st, test_rule_legacy_append);
    TG_RUN(&st, test_rule_override);
    TG_RUN(&st, test_rule_override_errors);
    TG_RUN(&st, test_enabled);
    TG_RUN(&st, test_priorities);
    TG_RUN(&st, test_tags_sorted_set);
    TG_RUN(&st, test_unknown_source);
    TG_RUN(&st, test_engine_version);
    TG_RUN(&st, test_plugin_versions);
    TG_RUN(&st, test_skip_if_unknown_filter);
    TG_RUN(&st, test_documents_and_loads);
    TG_RUN(&st, test_yaml_structure_errors);
    TG_RUN(&st, test_unknown_keys_and_items);
    TG_RUN(&st, test_output_and_na_warnings);
    TG_RUN(&st, test_override_replace_keys);
    TG_RUN(&st, test_diag_format_and_file_errors);
    TG_RUN(&st, test_hostile_input);
    TG_DONE(&st);
}
