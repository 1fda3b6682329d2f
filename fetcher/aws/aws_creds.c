/*
 * aws_creds.c - credentials, the static and environment providers, and the
 * caching/refreshing chain (see aws_creds.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * DESIGN (chain)
 * State: the cached credentials, the index of the provider that produced
 * them, a list of waiting callbacks and one uv_timer_t used as a "run soon"
 * kick so that callbacks never run inside aws_creds_chain_get().  A
 * refresh walks the providers from the remembered one (then from the
 * start if it fails); async providers resume the walk from their
 * callback.  A generation counter lets free() and a finished walk ignore
 * late callbacks.
 */
#include "aws_creds.h"

#include "aws_buf.h"

#include <stdlib.h>
#include <string.h>

/* ---- credentials -------------------------------------------------------- */

void aws_creds_fini(aws_creds *c)
{
    if (!c)
        return;
    aws_secret_free(c->access_key_id);
    aws_secret_free(c->secret_access_key);
    aws_secret_free(c->session_token);
    memset(c, 0, sizeof *c);
}

void aws_creds_copy(aws_creds *dst, const aws_creds *src)
{
    dst->access_key_id = aws_strdup(src->access_key_id);
    dst->secret_access_key = aws_strdup(src->secret_access_key);
    dst->session_token = aws_strdup(src->session_token);
    dst->expiration = src->expiration;
    dst->source = src->source;
}

void aws_creds_provider_free(aws_creds_provider *p)
{
    if (p)
        p->ops->free(p);
}

time_t aws_parse_iso8601(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s)
        return -1;
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e)
        return -1;
    if (*e == '.')
        for (e++; *e >= '0' && *e <= '9'; e++)
            ;
    if (*e != 'Z' && strcmp(e, "+00:00") != 0)
        return -1;
    return timegm(&tm);
}

/* ---- static / environment ----------------------------------------------- */

typedef struct s_static {
    aws_creds_provider base;
    aws_creds creds;
    int env;                     /* from env: ENOTFOUND when unset */
} s_static;

static int s_static_fetch(aws_creds_provider *p, aws_creds *out,
                          aws_creds_cb cb, void *data)
{
    (void)cb;
    (void)data;
    s_static *s = (s_static *)p;
    if (!s->creds.access_key_id || !s->creds.secret_access_key)
        return AWS_CREDS_ENOTFOUND;
    aws_creds_copy(out, &s->creds);
    return 0;
}

static void s_static_free(aws_creds_provider *p)
{
    s_static *s = (s_static *)p;
    aws_creds_fini(&s->creds);
    free(s);
}

static const aws_creds_provider_ops s_static_ops = {"static", s_static_fetch,
                                                    s_static_free, NULL};
static const aws_creds_provider_ops s_env_ops = {"env", s_static_fetch,
                                                 s_static_free, NULL};

aws_creds_provider *aws_creds_static_new(const char *akid, const char *secret,
                                         const char *token)
{
    s_static *s = aws_xcalloc(1, sizeof *s);
    s->base.ops = &s_static_ops;
    s->creds.access_key_id = aws_strdup(akid);
    s->creds.secret_access_key = aws_strdup(secret);
    s->creds.session_token = token && *token ? aws_strdup(token) : NULL;
    s->creds.source = "static";
    return &s->base;
}

aws_creds_provider *aws_creds_env_new(const aws_config *c)
{
    aws_creds_provider *p = aws_creds_static_new(c->access_key_id,
                                                 c->secret_access_key,
                                                 c->session_token);
    s_static *s = (s_static *)p;
    s->base.ops = &s_env_ops;
    s->creds.source = "env";
    s->env = 1;
    return p;
}

/* ---- chain --------------------------------------------------------------- */

typedef struct s_waiter {
    aws_creds_cb cb;
    void *data;
    struct s_waiter *next;
} s_waiter;

struct aws_creds_chain {
    aws_creds_provider as_provider;
    uv_loop_t *loop;
    uv_timer_t kick;
    aws_creds_provider **prov;
    size_t n;
    aws_creds cur;                /* cached; access_key_id NULL = none */
    size_t cur_idx;
    int have_idx;
    s_waiter *waiters;
    int refreshing;               /* a walk is running */
    size_t walk_idx;
    int walk_restarted;
    int last_err;
    unsigned gen;                 /* bumped by free/finish of a walk */
    int refresh_window;
    aws_clock_fn clock;
    void *clock_ud;
    int closing;
    void *pending_ctx;            /* s_async_ctx of the fetch in flight */
};

static time_t s_now(aws_creds_chain *ch)
{
    return ch->clock ? ch->clock(ch->clock_ud) : time(NULL);
}

static int s_usable(aws_creds_chain *ch, int margin)
{
    if (!ch->cur.access_key_id)
        return 0;
    return ch->cur.expiration == 0 || ch->cur.expiration - margin > s_now(ch);
}

static void s_walk(aws_creds_chain *ch);

static void s_flush_waiters(aws_creds_chain *ch, int rc)
{
    /* Pop one at a time: a callback may cancel other waiters or free the
     * chain.  Waiters added by callbacks wait for the next round. */
    size_t n = 0;
    for (s_waiter *w = ch->waiters; w; w = w->next)
        n++;
    while (n-- && ch->waiters && !ch->closing) {
        s_waiter *w = ch->waiters;
        ch->waiters = w->next;
        aws_creds_cb cb = w->cb;
        void *data = w->data;
        free(w);
        cb(rc, rc == 0 ? &ch->cur : NULL, data);
    }
}

static int s_stale(aws_creds_chain *ch)
{
    return ch->cur.expiration &&
           ch->cur.expiration - ch->refresh_window <= s_now(ch);
}

static void s_on_kick(uv_timer_t *t)
{
    aws_creds_chain *ch = t->data;
    if (s_usable(ch, 60)) {
        s_flush_waiters(ch, 0);          /* may free the chain */
        if (!ch->closing && !ch->refreshing && s_stale(ch))
            s_walk(ch);                  /* background refresh */
        return;
    }
    if (!ch->refreshing)
        s_walk(ch);                      /* waiters answered at its end */
}

static void s_kick(aws_creds_chain *ch)
{
    if (!ch->closing)
        uv_timer_start(&ch->kick, s_on_kick, 0, 0);
}

static void s_walk_done(aws_creds_chain *ch, int rc)
{
    ch->refreshing = 0;
    ch->gen++;
    if (rc < 0 && s_usable(ch, 0))
        rc = 0;   /* refresh failed but the old credentials still work */
    s_flush_waiters(ch, rc);
}

static void s_got(aws_creds_chain *ch, size_t idx, const aws_creds *c)
{
    aws_creds_fini(&ch->cur);
    aws_creds_copy(&ch->cur, c);
    if (!ch->cur.source)
        ch->cur.source = ch->prov[idx]->ops->name;
    ch->cur_idx = idx;
    ch->have_idx = 1;
    s_walk_done(ch, 0);
}

typedef struct s_async_ctx {
    aws_creds_chain *ch;
    unsigned gen;
    size_t idx;
} s_async_ctx;

static void s_on_async(int rc, const aws_creds *c, void *data)
{
    s_async_ctx *ctx = data;
    aws_creds_chain *ch = ctx->ch;
    if (ch->pending_ctx == ctx)
        ch->pending_ctx = NULL;
    unsigned gen = ctx->gen;
    size_t idx = ctx->idx;
    free(ctx);
    if (gen != ch->gen || !ch->refreshing)
        return;
    if (rc == 0 && c && c->access_key_id && c->secret_access_key) {
        s_got(ch, idx, c);
        return;
    }
    if (rc != AWS_CREDS_ENOTFOUND)
        ch->last_err = rc < 0 ? rc : AWS_CREDS_EFETCH;
    ch->walk_idx = idx + 1;
    s_walk(ch);
}

static void s_walk(aws_creds_chain *ch)
{
    if (!ch->refreshing) {
        ch->refreshing = 1;
        ch->last_err = AWS_CREDS_ENOTFOUND;
        ch->walk_idx = ch->have_idx ? ch->cur_idx : 0;
        ch->walk_restarted = !ch->have_idx || ch->cur_idx == 0;
    }
    for (;;) {
        if (ch->walk_idx >= ch->n) {
            if (!ch->walk_restarted) {
                ch->walk_restarted = 1;
                ch->walk_idx = 0;
                continue;
            }
            s_walk_done(ch, ch->last_err);
            return;
        }
        size_t i = ch->walk_idx;
        aws_creds out;
        memset(&out, 0, sizeof out);
        s_async_ctx *ctx = aws_xcalloc(1, sizeof *ctx);
        ctx->ch = ch;
        ctx->gen = ch->gen;
        ctx->idx = i;
        int rc = ch->prov[i]->ops->fetch(ch->prov[i], &out, s_on_async, ctx);
        if (rc == AWS_CREDS_PENDING) {
            ch->pending_ctx = ctx;
            return;
        }
        free(ctx);
        if (rc == 0) {
            s_got(ch, i, &out);
            aws_creds_fini(&out);
            return;
        }
        if (rc != AWS_CREDS_ENOTFOUND)
            ch->last_err = rc;
        ch->walk_idx = i + 1;
    }
}

static int s_chain_fetch(aws_creds_provider *p, aws_creds *out,
                         aws_creds_cb cb, void *data)
{
    (void)out;
    aws_creds_chain *ch = (aws_creds_chain *)p;
    int rc = aws_creds_chain_get(ch, cb, data);
    return rc == 0 ? AWS_CREDS_PENDING : rc;
}

static void s_chain_borrowed_free(aws_creds_provider *p)
{
    (void)p;   /* the chain is owned elsewhere */
}

static void s_chain_cancel(aws_creds_provider *p, aws_creds_cb cb, void *data)
{
    aws_creds_chain_cancel((aws_creds_chain *)p, cb, data);
}

static const aws_creds_provider_ops s_chain_ops = {"chain", s_chain_fetch,
                                                   s_chain_borrowed_free,
                                                   s_chain_cancel};

aws_creds_chain *aws_creds_chain_new(uv_loop_t *loop,
                                     aws_creds_provider **providers, size_t n)
{
    aws_creds_chain *ch = aws_xcalloc(1, sizeof *ch);
    ch->as_provider.ops = &s_chain_ops;
    ch->loop = loop;
    ch->prov = aws_xcalloc(n ? n : 1, sizeof *ch->prov);
    for (size_t i = 0; i < n; i++)
        ch->prov[i] = providers[i];
    ch->n = n;
    ch->refresh_window = 300;
    uv_timer_init(loop, &ch->kick);
    ch->kick.data = ch;
    return ch;
}

aws_creds_chain *aws_creds_chain_default(uv_loop_t *loop, const aws_config *c,
                                         aws_http *http)
{
    aws_creds_provider *p[] = {
        aws_creds_env_new(c),
        aws_creds_web_identity_new(c, http),
        aws_creds_profile_new(c, http),
        aws_creds_ecs_new(c, http),
        aws_creds_imds_new(c, http),
    };
    return aws_creds_chain_new(loop, p, sizeof p / sizeof p[0]);
}

static void s_chain_closed(uv_handle_t *h)
{
    free(h->data);
}

void aws_creds_chain_free(aws_creds_chain *ch)
{
    if (!ch)
        return;
    ch->closing = 1;
    ch->gen++;
    for (size_t i = 0; i < ch->n; i++)
        aws_creds_provider_free(ch->prov[i]);
    free(ch->prov);
    free(ch->pending_ctx);
    ch->pending_ctx = NULL;
    s_waiter *w = ch->waiters;
    while (w) {
        s_waiter *next = w->next;
        free(w);
        w = next;
    }
    ch->waiters = NULL;
    aws_creds_fini(&ch->cur);
    uv_timer_stop(&ch->kick);
    uv_close((uv_handle_t *)&ch->kick, s_chain_closed);
}

aws_creds_provider *aws_creds_chain_as_provider(aws_creds_chain *ch)
{
    return &ch->as_provider;
}

const aws_creds *aws_creds_chain_current(aws_creds_chain *ch)
{
    if (!s_usable(ch, 60))
        return NULL;
    if (!ch->refreshing && s_stale(ch))
        s_kick(ch);   /* background refresh; old creds remain valid */
    return s_usable(ch, 60) ? &ch->cur : NULL;
}

int aws_creds_chain_get(aws_creds_chain *ch, aws_creds_cb cb, void *data)
{
    if (!ch || !cb || ch->closing)
        return AWS_CREDS_EINVAL;
    s_waiter *w = aws_xcalloc(1, sizeof *w);
    w->cb = cb;
    w->data = data;
    s_waiter **pp = &ch->waiters;
    while (*pp)
        pp = &(*pp)->next;
    *pp = w;
    s_kick(ch);
    return 0;
}

void aws_creds_chain_cancel(aws_creds_chain *ch, aws_creds_cb cb, void *data)
{
    s_waiter **pp = &ch->waiters;
    while (*pp) {
        s_waiter *w = *pp;
        if (w->cb == cb && w->data == data) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
}

void aws_creds_chain_set_refresh_window(aws_creds_chain *ch, int seconds)
{
    ch->refresh_window = seconds;
}

void aws_creds_chain_set_clock(aws_creds_chain *ch, aws_clock_fn fn, void *ud)
{
    ch->clock = fn;
    ch->clock_ud = ud;
}

const char *aws_creds_chain_source(const aws_creds_chain *ch)
{
    return ch && ch->cur.access_key_id ? ch->cur.source : NULL;
}
