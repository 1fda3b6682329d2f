/*
 * ev_literal.c - right-hand literals of checks: parsing for the left-hand
 * type (numbers, booleans, IP addresses/networks, hex byte strings, regexes
 * with RE2-style literal braces, pmatch path components) and the compile
 * warnings of spec 3.6.  Owner: engine core.
 */
#include "ev_priv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sscanf("%llu%c")-like: blanks, sign, decimal digits, nothing after. */
static bool s_parse_u64(const char *s, uint64_t *out, bool is_signed)
{
    while (isspace((unsigned char)*s))
        s++;
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!isdigit((unsigned char)*s))
        return false;
    uint64_t v = 0;
    while (isdigit((unsigned char)*s)) {
        uint64_t d = (uint64_t)(*s++ - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (*s)
        return false;
    (void)is_signed;
    *out = neg ? (uint64_t)(-(int64_t)v) : v;
    return true;
}

static int s_hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool s_parse_ip(const char *s, ev_lit *l, bool allow_net)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t al = slash ? (size_t)(slash - s) : strlen(s);
    if (al >= sizeof(addr) || (slash && !allow_net))
        return false;
    memcpy(addr, s, al);
    addr[al] = '\0';
    unsigned char buf[16];
    bool v4 = strchr(addr, '.') != NULL;
    if (inet_pton(v4 ? AF_INET : AF_INET6, addr, buf) != 1)
        return false;
    size_t n = v4 ? 4 : 16;
    uint64_t prefix = n * 8;
    if (slash) {
        char *end;
        errno = 0;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (!slash[1] || *end || errno || p > n * 8)
            return false;
        prefix = p;
        l->net = true;
    }
    char *b = malloc(n + 1);
    if (!b)
        return false;
    memcpy(b, buf, n);
    b[n] = '\0';
    l->v.s = b;
    l->v.len = n;
    l->v.u = prefix;
    return true;
}

static bool s_prep_pmatch(ev_lit *l)
{
    size_t n = l->v.len;
    l->compbuf = malloc(n + 1);
    l->comps = calloc(n / 2 + 2, sizeof(*l->comps));
    l->comp_lens = calloc(n / 2 + 2, sizeof(*l->comp_lens));
    if (!l->compbuf || !l->comps || !l->comp_lens)
        return false;
    memcpy(l->compbuf, l->v.s, n + 1);
    size_t i = 0;
    while (i < n) {
        while (i < n && l->compbuf[i] == '/')
            i++;
        if (i >= n)
            break;
        size_t st = i;
        while (i < n && l->compbuf[i] != '/')
            i++;
        l->compbuf[i] = '\0';
        l->comps[l->ncomps] = l->compbuf + st;
        l->comp_lens[l->ncomps++] = i - st;
        i++;
    }
    return true;
}

/* Warnings of spec 3.6 for one literal. */
static void s_warn_literal(ev_cctx *c, ev_op op, const char *v, size_t len)
{
    char m[600];
    if (op == EV_OP_REGEX) {
        size_t b = 0, e = len;
        if (b < e && v[b] == '^')
            b++;
        else if (e - b >= 2 && v[b] == '.' && strchr("*+?", v[b + 1]))
            b += 2;
        if (e > b && v[e - 1] == '$')
            e--;
        else if (e - b >= 2 && v[e - 2] == '.' && strchr("*+?", v[e - 1]))
            e -= 2;
        if (b < e && v[b] == '.' && e - b >= 2 && strchr("*+?", v[b + 1]))
            b += 2;
        if (e - b >= 2 && v[e - 2] == '.' && strchr("*+?", v[e - 1]))
            e -= 2;
        bool special = false;
        for (size_t i = b; i < e; i++)
            if (strchr(".+*?^$()[]{}|\\", v[i]))
                special = true;
        if (!special) {
            snprintf(m, sizeof(m), "regex check with '%.*s' may be optimized with "
                     "simpler operators such as '=', 'contains', 'startswith', "
                     "'endswith'", (int)len, v);
            ev_warnings_add(c->w, m);
        }
    }
    char nb[300];
    size_t k = 0;
    for (size_t i = 0; i < len && k < sizeof(nb) - 1; i++)
        if (!isspace((unsigned char)v[i]))
            nb[k++] = v[i];
    nb[k] = '\0';
    size_t fl = strcspn(nb, "[");
    if (k && ev_source_find(c->tab->src, nb, fl) &&
        (nb[fl] == '\0' || nb[k - 1] == ']')) {
        snprintf(m, sizeof(m), "'%.*s' may be a valid field misused as a const "
                 "string value", (int)len, v);
        ev_warnings_add(c->w, m);
    }
    static const char *const tn[] = {"tolower", "toupper", "b64", "basename", "len",
                                     "join", "concat", "getopt", "val", NULL};
    for (int i = 0; tn[i]; i++) {
        size_t tl = strlen(tn[i]);
        if (len > tl + 1 && memcmp(v, tn[i], tl) == 0 && v[tl] == '(' &&
            v[len - 1] == ')') {
            snprintf(m, sizeof(m), "'%.*s' may be a valid field transformer misused "
                     "as a const string value", (int)len, v);
            ev_warnings_add(c->w, m);
            break;
        }
    }
}

/*
 * Build "^(pattern)$" for regcomp, making braces that do not form a valid
 * repetition ({n}, {n,}, {n,m}) literal, as RE2 does ("x{2" matches "x{2").
 * Returns a heap string or NULL.
 */
static char *s_regex_wrap(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(2 * n + 8);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = '^';
    out[o++] = '(';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            out[o++] = c;
            out[o++] = s[++i];
        } else if (c == '[') {
            size_t j = i + 1;
            if (j < n && s[j] == '^')
                j++;
            if (j < n && s[j] == ']')
                j++;
            while (j < n && s[j] != ']')
                j++;
            if (j >= n) { /* unterminated: let regcomp report it */
                out[o++] = c;
                continue;
            }
            memcpy(out + o, s + i, j - i + 1);
            o += j - i + 1;
            i = j;
        } else if (c == '{') {
            size_t j = i + 1, d1 = 0, d2 = 0;
            while (j < n && isdigit((unsigned char)s[j]))
                j++, d1++;
            if (j < n && s[j] == ',') {
                j++;
                while (j < n && isdigit((unsigned char)s[j]))
                    j++, d2++;
            }
            if (d1 && j < n && s[j] == '}' && o > 2) {
                memcpy(out + o, s + i, j - i + 1);
                o += j - i + 1;
                i = j;
            } else {
                out[o++] = '\\';
                out[o++] = '{';
            }
            (void)d2;
        } else if (c == '}') {
            out[o++] = '\\';
            out[o++] = '}';
        } else {
            out[o++] = c;
        }
    }
    out[o++] = ')';
    out[o++] = '$';
    out[o] = '\0';
    return out;
}

/* Parse one literal for the left type. */
bool ev_literal_parse(ev_cctx *c, const ev_check *chk, const ev_ast *val, ev_lit *l)
{
    ev_type t = chk->lhs->type;
    const char *s = val->str;
    size_t len = val->len;
    if (len > 255) {
        ev_cctx_err(c, EV_ERR_COMPILE, "filter parameter too long: %zu bytes (max 255)", len);
        return false;
    }
    bool hex = chk->op == EV_OP_BCONTAINS || chk->op == EV_OP_BSTARTSWITH;
    if (t != EV_TYPE_BYTES && memchr(s, '\0', len)) {
        ev_cctx_err(c, EV_ERR_COMPILE, "filter error: filter value cannot contain a NUL byte (\\x00)");
        return false;
    }
    s_warn_literal(c, chk->op, s, len);
    switch (t) {
    case EV_TYPE_STRING:
    case EV_TYPE_BYTES:
        if (hex) {
            bool ok = len % 2 == 0;
            for (size_t i = 0; ok && i < len; i++)
                ok = s_hexv(s[i]) >= 0;
            if (!ok) {
                ev_cctx_err(c, EV_ERR_COMPILE, "filter error: bcontains and bstartswith "
                      "operator support hex strings only");
                return false;
            }
            char *b = malloc(len / 2 + 1);
            if (!b)
                return false;
            for (size_t i = 0; i < len / 2; i++)
                b[i] = (char)(s_hexv(s[2 * i]) * 16 + s_hexv(s[2 * i + 1]));
            b[len / 2] = '\0';
            l->v.s = b;
            l->v.len = len / 2;
            return true;
        }
        l->v.s = malloc(len + 1);
        if (!l->v.s)
            return false;
        memcpy((char *)l->v.s, s, len + 1);
        l->v.len = len;
        if (chk->op == EV_OP_PMATCH && !s_prep_pmatch(l))
            return false;
        if (chk->op == EV_OP_REGEX) {
            char *pat = s_regex_wrap(s);
            l->re = calloc(1, sizeof(*l->re));
            if (!pat || !l->re) {
                free(pat);
                return false;
            }
            /* Compile in a UTF-8 locale so that '.' and classes match whole
             * characters, as RE2 does; values are made valid UTF-8 at match
             * time (ev_ops.c). */
            locale_t u8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
            locale_t old = u8 ? uselocale(u8) : (locale_t)0;
            int rc = regcomp(l->re, pat, REG_EXTENDED | REG_NOSUB);
            if (u8) {
                uselocale(old);
                freelocale(u8);
            }
            free(pat);
            if (rc != 0) {
                char e[256];
                regerror(rc, l->re, e, sizeof(e));
                free(l->re);
                l->re = NULL;
                ev_cctx_err(c, EV_ERR_COMPILE, "invalid regex pattern: %s", e);
                return false;
            }
        }
        return true;
    case EV_TYPE_BOOL:
        if (len == 4 && memcmp(s, "true", 4) == 0)
            l->v.u = 1;
        else if (len == 5 && memcmp(s, "false", 5) == 0)
            l->v.u = 0;
        else {
            ev_cctx_err(c, EV_ERR_COMPILE, "filter error: unrecognized boolean value %s", s);
            return false;
        }
        return true;
    case EV_TYPE_IPADDR:
    case EV_TYPE_IPNET:
        if (!s_parse_ip(s, l, true)) {
            ev_cctx_err(c, EV_ERR_COMPILE, "filter error: %s is not a valid IP %s", s,
                  t == EV_TYPE_IPNET ? "network" : "address");
            return false;
        }
        return true;
    default:
        if (!s_parse_u64(s, &l->v.u, t == EV_TYPE_INT64)) {
            ev_cctx_err(c, EV_ERR_COMPILE, "%s is not a valid number", s);
            return false;
        }
        if (t == EV_TYPE_DOUBLE)
            l->v.d = (double)(int64_t)l->v.u;
        return true;
    }
}

