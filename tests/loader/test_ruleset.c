/*
 * test_ruleset.c - rule order, rule_matching all/first, selection by
 * wildcard and tag (spec 6.15), minimum priority, and the ct.name index:
 * indexed dispatch must report exactly what evaluating every rule reports.
 */
#include <stdio.h>

#include "tg_test.h"
#include "tl_util.h"

static tg_test_state st;

/* Count heap allocations (glibc, not under ASan which owns malloc). */
#if !defined(__SANITIZE_ADDRESS__) && defined(__GLIBC__)
#define TL_COUNT_MALLOC 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);
static int g_allocs;
static int g_counting;
void *malloc(size_t n)
{
    g_allocs += g_counting;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    g_allocs += g_counting;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    g_allocs += g_counting;
    return __libc_realloc(p, n);
}
#endif

typedef struct hits {
    char names[64][32];
    int n;
} hits;

static int on_match(const ev_rule *r, ev_event *evt, void *ud)
{
    (void)evt;
    hits *h = ud;
    if (h->n < 64)
        snprintf(h->names[h->n++], 32, "%s", r->name);
    return 0;
}

static const char *s_rules =
    "- macro: m\n  condition: ct.name in (D)\n"
    RULE("a", "ct.name = A")
    RULE("b", "ct.name in (A, B) and ct.user = u")
    RULE("c", "ct.name = A or ct.name = C")
    RULE("d", "not ct.name = A")
    RULE("e", "ct.user = u")
    RULE("f", "ct.name = A and ct.name = B")
    RULE("g", "ct.name = A or ct.user = u")
    RULE("h", "m and ct.user exists")
    RULE("i", "ct.name != A")
    RULE("j", "(ct.name = \"A\" and ct.user = u) or (ct.name in (B, E) and not ct.user = x)")
    RULE("k", "evt.num = 0");

static void test_index_equivalence(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, s_rules);
    static const char *names[] = {"A", "B", "C", "D", "E", "", NULL};
    static const char *users[] = {"u", "x", NULL};
    ev_event evt;
    ev_event_init(&evt);
    int checked = 0;
    for (int ni = 0; ni < 7; ni++) {
        for (int ui = 0; ui < 3; ui++) {
            tl_kv kv[3];
            int k = 0;
            if (names[ni])
                kv[k++] = (tl_kv){"ct.name", names[ni]};
            if (users[ui])
                kv[k++] = (tl_kv){"ct.user", users[ui]};
            kv[k] = (tl_kv){NULL, NULL};
            hits h1 = {0}, h2 = {0};
            ev_event_reset(&evt, kv, 1, 1);
            int n1 = ev_engine_match(t.e, &evt, on_match, &h1);
            ev_event_reset(&evt, kv, 1, 1);
            int n2 = ev_engine_match_unindexed(t.e, 0, &evt, on_match, &h2);
            ASSERT_EQ(n1, n2);
            ASSERT_EQ(h1.n, h2.n);
            for (int i = 0; i < h1.n; i++)
                ASSERT_STR_EQ(h1.names[i], h2.names[i]);
            checked++;
        }
    }
    ASSERT_EQ(checked, 21);
    /* spot checks from the spec semantics */
    tl_kv kv[] = {{"ct.name", "A"}, {"ct.user", "u"}, {NULL, NULL}};
    hits h = {0};
    ev_event_reset(&evt, kv, 1, 1);
    ev_engine_match(t.e, &evt, on_match, &h);
    /* a b c e g j, in rule order */
    ASSERT_EQ(h.n, 6);
    ASSERT_STR_EQ(h.names[0], "a");
    ASSERT_STR_EQ(h.names[1], "b");
    ASSERT_STR_EQ(h.names[2], "c");
    ASSERT_STR_EQ(h.names[3], "e");
    ASSERT_STR_EQ(h.names[4], "g");
    ASSERT_STR_EQ(h.names[5], "j");
    /* missing ct.name: `not ct.name = A` is true, `ct.name != A` is false */
    tl_kv kv2[] = {{"ct.user", "x"}, {NULL, NULL}};
    hits h2 = {0};
    ev_event_reset(&evt, kv2, 1, 1);
    ev_engine_match(t.e, &evt, on_match, &h2);
    ASSERT_EQ(h2.n, 1);
    ASSERT_STR_EQ(h2.names[0], "d");
    ev_event_fini(&evt);
    tl_close(&t);
}

/* Rules keyed on another field than ct.name (side keys), rules decided by
 * ct.name without an equality (startswith, !=, not in), and names that no
 * rule lists (entries made on first sight): indexed dispatch must report
 * what evaluating every rule reports, in the same order, for all and first
 * matching. */
static const char *s_side_rules =
    RULE("s1", "ct.user = u and proc.name = p")
    RULE("s2", "ct.name startswith A")
    RULE("s3", "ct.user in (u, x) and not ct.name = B")
    RULE("s4", "(ct.user = u and proc.name = p) or proc.name = q")
    RULE("s5", "ct.name = A")
    RULE("s6", "ct.name endswith X or ct.user = x")
    RULE("s7", "proc.name in (p, r) and ct.name != AX")
    RULE("s8", "not ct.name in (A, AX, B) and fd.name exists")
    RULE("s9", "ct.user = x and proc.name = p and ct.name = B")
    RULE("s10", "fd.name = f or ct.name startswith Z");

static void s_side_equivalence(ev_rule_matching m, bool index)
{
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.matching = m;
    o.index = index;
    tl_env t;
    tl_open(&t, &o);
    TL_OK(&t, s_side_rules);
    static const char *names[] = {"A", "AX", "B", "BX", "Zed", "", "Q", NULL};
    static const char *users[] = {"u", "x", "y", NULL};
    static const char *procs[] = {"p", "q", "r", NULL};
    static const char *fds[] = {"f", "g", NULL};
    ev_event evt;
    ev_event_init(&evt);
    int checked = 0, matched = 0;
    for (int pass = 0; pass < 2; pass++)
    for (int ni = 0; ni < 8; ni++)
    for (int ui = 0; ui < 4; ui++)
    for (int pi = 0; pi < 4; pi++)
    for (int fi = 0; fi < 3; fi++) {
        tl_kv kv[5];
        int k = 0;
        if (names[ni])
            kv[k++] = (tl_kv){"ct.name", names[ni]};
        if (users[ui])
            kv[k++] = (tl_kv){"ct.user", users[ui]};
        if (procs[pi])
            kv[k++] = (tl_kv){"proc.name", procs[pi]};
        if (fds[fi])
            kv[k++] = (tl_kv){"fd.name", fds[fi]};
        kv[k] = (tl_kv){NULL, NULL};
        hits h1 = {0}, h2 = {0};
        ev_event_reset(&evt, kv, 1, 1);
        int n1 = ev_engine_match(t.e, &evt, on_match, &h1);
        ev_event_reset(&evt, kv, 1, 1);
        int n2 = ev_engine_match_unindexed(t.e, 0, &evt, on_match, &h2);
        ASSERT_EQ(n1, n2);
        ASSERT_EQ(h1.n, h2.n);
        for (int i = 0; i < h1.n && i < h2.n; i++)
            ASSERT_STR_EQ(h1.names[i], h2.names[i]);
        checked++;
        matched += n1;
    }
    ASSERT_EQ(checked, 2 * 8 * 4 * 4 * 3);
    ASSERT(matched > 0);
    /* spot check: name A, user u, proc p, fd f -> s1 s2 s3 s4 s5 s7 s10 */
    tl_kv kv[] = {{"ct.name", "A"}, {"ct.user", "u"}, {"proc.name", "p"},
                  {"fd.name", "f"}, {NULL, NULL}};
    hits h = {0};
    ev_event_reset(&evt, kv, 1, 1);
    ev_engine_match(t.e, &evt, on_match, &h);
    if (m == EV_MATCH_ALL) {
        static const char *want[] = {"s1", "s2", "s3", "s4", "s5", "s7", "s10"};
        ASSERT_EQ(h.n, 7);
        for (int i = 0; i < h.n && i < 7; i++)
            ASSERT_STR_EQ(h.names[i], want[i]);
    } else {
        ASSERT_EQ(h.n, 1);
        ASSERT_STR_EQ(h.names[0], "s1");
    }
    ev_event_fini(&evt);
    tl_close(&t);
}

static void test_index_side_keys(void)
{
    s_side_equivalence(EV_MATCH_ALL, true);
    s_side_equivalence(EV_MATCH_FIRST, true);
    s_side_equivalence(EV_MATCH_ALL, false);   /* index off: every rule runs */
}

static void test_match_first(void)
{
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.matching = EV_MATCH_FIRST;
    tl_env t;
    tl_open(&t, &o);
    TL_OK(&t, s_rules);
    ev_event evt;
    ev_event_init(&evt);
    tl_kv kv[] = {{"ct.name", "A"}, {"ct.user", "u"}, {NULL, NULL}};
    hits h = {0};
    ev_event_reset(&evt, kv, 1, 1);
    ASSERT_EQ(ev_engine_match(t.e, &evt, on_match, &h), 1);
    ASSERT_STR_EQ(h.names[0], "a");
    ev_event_fini(&evt);
    tl_close(&t);
}

static void test_rule_order_first_definition(void)
{
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, RULE("x", "ct.user = u") RULE("y", "ct.user = u") RULE("x", "ct.user exists"));
    ASSERT_STR_EQ(ev_engine_rule(t.e, 0)->name, "x");
    ASSERT_STR_EQ(ev_engine_rule(t.e, 0)->condition, "ct.user exists");
    ASSERT_STR_EQ(ev_engine_rule(t.e, 1)->name, "y");
    tl_close(&t);
}

static void test_wildcard(void)
{
    ASSERT(ev_wildcard_match("*", "anything"));
    ASSERT(ev_wildcard_match("*", ""));
    ASSERT(ev_wildcard_match("", ""));
    ASSERT(!ev_wildcard_match("", "x"));
    ASSERT(ev_wildcard_match("hello*world", "hello new world"));
    ASSERT(!ev_wildcard_match("hello*world", "hello new world yes"));
    ASSERT(ev_wildcard_match("*hello*****world", "come on hello this world"));
    ASSERT(!ev_wildcard_match("*hello*world", "come on hello this world yes"));
    ASSERT(ev_wildcard_match("hello*world*", "hello new world yes"));
    /* greedy first occurrence: the last segment is found once, not searched again */
    ASSERT(!ev_wildcard_match("a*b", "abb"));
}

static void test_selection(void)
{
    ev_selection sel[] = {
        {false, false, "*"},        /* disable everything */
        {true, true, "t1"},         /* enable tag t1 */
        {false, false, "Rule B*"},  /* disable by pattern */
        {true, false, "Off*"},      /* re-enable a disabled rule */
    };
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.selection = sel;
    o.nselection = 4;
    tl_env t;
    tl_open(&t, &o);
    TL_OK(&t, RULE("Rule A", "ct.user = u") "  tags: [t1]\n"
              RULE("Rule B", "ct.user = u") "  tags: [t1]\n"
              RULE("Rule C", "ct.user = u") "  tags: [t2]\n"
              RULE("Off rule", "ct.user = u") "  enabled: false\n");
    ASSERT(ev_engine_find_rule(t.e, "Rule A")->enabled);
    ASSERT(!ev_engine_find_rule(t.e, "Rule B")->enabled);
    ASSERT(!ev_engine_find_rule(t.e, "Rule C")->enabled);
    ASSERT(ev_engine_find_rule(t.e, "Off rule")->enabled);
    ASSERT_EQ(ev_engine_nenabled(t.e), 2);
    /* only enabled rules are evaluated */
    ev_event evt;
    ev_event_init(&evt);
    tl_kv kv[] = {{"ct.user", "u"}, {NULL, NULL}};
    hits h = {0};
    ev_event_reset(&evt, kv, 1, 1);
    ASSERT_EQ(ev_engine_match(t.e, &evt, on_match, &h), 2);
    ev_selection more = {false, true, "t1"};
    ev_engine_select(t.e, &more);
    ASSERT_EQ(ev_engine_nenabled(t.e), 1);
    ev_event_fini(&evt);
    tl_close(&t);
}

static void test_hash(void)
{
    tl_env a, b, c;
    tl_open(&a, NULL);
    tl_open(&b, NULL);
    tl_open(&c, NULL);
    TL_OK(&a, RULE("x", "ct.user = u"));
    TL_OK(&b, RULE("x", "ct.user = u"));
    TL_OK(&c, RULE("x", "ct.user = v"));
    ASSERT_EQ(strlen(ev_engine_ruleset_hash(a.e)), 64);
    ASSERT_STR_EQ(ev_engine_ruleset_hash(a.e), ev_engine_ruleset_hash(b.e));
    ASSERT(strcmp(ev_engine_ruleset_hash(a.e), ev_engine_ruleset_hash(c.e)) != 0);
    tl_close(&a);
    tl_close(&b);
    tl_close(&c);
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.min_priority = EV_PRIO_ERROR;
    tl_open(&a, &o);
    TL_OK(&a, RULE("x", "ct.user = u"));
    tl_open(&b, NULL);
    TL_OK(&b, RULE("x", "ct.user = u"));
    ASSERT(strcmp(ev_engine_ruleset_hash(a.e), ev_engine_ruleset_hash(b.e)) != 0);
    tl_close(&a);
    tl_close(&b);
}

/* Steady state: matching and rendering allocate nothing (spec: no
 * per-event allocation in the ruleset). */
static void test_no_per_event_allocation(void)
{
#ifdef TL_COUNT_MALLOC
    tl_env t;
    tl_open(&t, NULL);
    TL_OK(&t, s_rules);
    ev_event evt;
    ev_event_init(&evt);
    ev_strbuf b;
    ev_strbuf_init(&b);
    static const char *names[] = {"A", "B", "C", "D", "E"};
    tl_kv kv[3] = {{"ct.name", "A"}, {"ct.user", "u"}, {NULL, NULL}};
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            g_counting = 1;
        for (int i = 0; i < 100; i++) {
            kv[0].v = names[i % 5];
            ev_event_reset(&evt, kv, (uint64_t)i, (uint64_t)i + 1);
            hits h = {0};
            ev_engine_match(t.e, &evt, on_match, &h);
            ev_strbuf_reset(&b);
            ev_alert_json(t.e, ev_engine_rule(t.e, 0), &evt, &b);
            ev_alert_text(t.e, ev_engine_rule(t.e, 0), &evt, &b);
        }
    }
    g_counting = 0;
    ASSERT_EQ(g_allocs, 0);
    ev_strbuf_fini(&b);
    ev_event_fini(&evt);
    tl_close(&t);
#endif
}

int main(void)
{
    TG_RUN(&st, test_no_per_event_allocation);
    TG_RUN(&st, test_index_equivalence);
    TG_RUN(&st, test_index_side_keys);
    TG_RUN(&st, test_match_first);
    TG_RUN(&st, test_rule_order_first_definition);
    TG_RUN(&st, test_wildcard);
    TG_RUN(&st, test_selection);
    TG_RUN(&st, test_hash);
    TG_DONE(&st);
}
