
/*
 * ngx_cartbot_gateway_module: rate limits, in the preaccess phase, kept in
 * shared memory for all workers and across reloads.  Modelled on
 * ngx_http_limit_req_module (rbtree + LRU queue in a slab zone), with a
 * sliding-window counter (shared/cartbot_ratelimit.c) for minute, hour
 * and day windows, a burst allowance, tiers and the IETF RateLimit
 * headers.
 *
 *     cartbot_limit_zone  name=chat size=10m
 *                         key=$jwt_claim_sub key=$binary_remote_addr;
 *     cartbot_limit       zone=chat rate=30r/m [burst=5]
 *                         [by=$jwt_claim_role admin=300r/m guest=10r/m];
 *     cartbot_limit_dry_run  off;
 *     cartbot_limit_status   429;
 *     cartbot_limit_headers  draft;        # draft | legacy | off
 *
 * The key is the first of a zone's keys that is not empty.  A zone's keys
 * are recorded next to the logs (logs/cartbot_limit_<name>.key): a
 * configuration that changes them is refused by "nginx -t", before a
 * reload could throw the counters away; rename the zone to start anew.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_cartbot_gateway.h"
#include "cartbot_ratelimit.h"


#define NGX_HTTP_CARTBOT_LIMIT_PASSED    1
#define NGX_HTTP_CARTBOT_LIMIT_REJECTED  2
#define NGX_HTTP_CARTBOT_LIMIT_DRY_RUN   3

#define NGX_HTTP_CARTBOT_LIMIT_HEADERS_OFF     0
#define NGX_HTTP_CARTBOT_LIMIT_HEADERS_DRAFT   1
#define NGX_HTTP_CARTBOT_LIMIT_HEADERS_LEGACY  2


/* lives in shared memory after the rbtree node's key */

typedef struct {
    u_char                          color;
    u_char                          dummy;
    u_short                         len;
    ngx_queue_t                     queue;
    cartbot_ratelimit_state_t       state;
    u_char                          data[1];
} ngx_http_cartbot_limit_node_t;


typedef struct {
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     queue;
} ngx_http_cartbot_limit_shctx_t;


typedef struct {
    ngx_http_cartbot_limit_shctx_t *sh;
    ngx_slab_pool_t                *shpool;
    ngx_array_t                    *keys;       /* complex values */
    ngx_array_t                    *key_vars;   /* ngx_int_t, see below */
    ngx_str_t                       name;
    ngx_str_t                       key_text;   /* for reload checks */
} ngx_http_cartbot_limit_zone_t;


/* a rate and what a request under it needs, made at configuration time */

typedef struct {
    uint32_t                        limit;
    uint32_t                        window;
    uint32_t                        window_hash;  /* of the node's key */
    ngx_str_t                       policy;     /* RateLimit-Policy value */
} ngx_http_cartbot_limit_rate_t;


typedef struct {
    ngx_str_t                       value;
    ngx_http_cartbot_limit_rate_t   rate;
} ngx_http_cartbot_limit_tier_t;


typedef struct {
    ngx_shm_zone_t                 *zone;
    ngx_str_t                       name;       /* the zone, an sf-string */
    ngx_http_cartbot_limit_rate_t   rate;
    uint32_t                        burst;
    ngx_http_complex_value_t       *by;
    ngx_array_t                    *tiers;      /* ..._limit_tier_t */
} ngx_http_cartbot_limit_t;


static ngx_int_t ngx_http_cartbot_limit_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_limit_key(ngx_http_request_t *r,
    ngx_http_cartbot_limit_zone_t *zone, ngx_str_t *key);
static ngx_http_cartbot_limit_rate_t *ngx_http_cartbot_limit_rate(
    ngx_http_request_t *r, ngx_http_cartbot_limit_t *limit);
static ngx_int_t ngx_http_cartbot_limit_check(ngx_http_cartbot_limit_zone_t *z,
    ngx_str_t *key, ngx_http_cartbot_limit_rate_t *rate, uint32_t burst,
    ngx_uint_t commit, cartbot_ratelimit_decision_t *d, ngx_log_t *log);
static ngx_http_cartbot_limit_node_t *ngx_http_cartbot_limit_lookup(
    ngx_http_cartbot_limit_zone_t *z, ngx_str_t *key, uint32_t hash,
    ngx_uint_t create, ngx_log_t *log);
static void ngx_http_cartbot_limit_expire(ngx_http_cartbot_limit_zone_t *z,
    ngx_uint_t force);
static ngx_int_t ngx_http_cartbot_limit_headers(ngx_http_request_t *r,
    ngx_http_cartbot_limit_t *limit, ngx_http_cartbot_limit_rate_t *rate,
    cartbot_ratelimit_decision_t *d);
static void ngx_http_cartbot_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_cartbot_limit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_cartbot_limit_parse_rate(ngx_str_t *s,
    ngx_http_cartbot_limit_rate_t *rate);
static ngx_int_t ngx_http_cartbot_limit_prepare(ngx_conf_t *cf,
    ngx_http_cartbot_limit_t *limit, ngx_http_cartbot_limit_rate_t *rate);
static u_char *ngx_http_cartbot_limit_number(u_char *p, uint32_t n);
static ngx_int_t ngx_http_cartbot_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_cartbot_limit_results[] = {
    ngx_null_string,
    ngx_string("PASSED"),
    ngx_string("REJECTED"),
    ngx_string("REJECTED_DRY_RUN")
};


ngx_int_t
ngx_http_cartbot_limit_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_variable_t        *var;
    ngx_http_core_main_conf_t  *cmcf;
    static ngx_str_t            name = ngx_string("cartbot_limit_status");

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_cartbot_limit_handler;

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_cartbot_limit_status_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_limit_handler(ngx_http_request_t *r)
{
    u_char                               *p;
    ngx_str_t                             key;
    ngx_int_t                             rc;
    ngx_uint_t                            i, tightest, rejected, commit;
    ngx_table_elt_t                      *h;
    ngx_http_cartbot_limit_t             *limit;
    ngx_http_cartbot_limit_rate_t        *rate, *best_rate;
    ngx_http_cartbot_gateway_ctx_t       *ctx;
    ngx_http_cartbot_limit_zone_t        *zone;
    cartbot_ratelimit_decision_t           d, best;
    ngx_http_cartbot_gateway_loc_conf_t   *glcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    /* subrequests run preaccess too: count the client's request once */

    if (r != r->main) {
        return NGX_DECLINED;
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    if (glcf->limits == NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_cartbot_gateway_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->limit_status) {
        return NGX_DECLINED;
    }

    limit = glcf->limits->elts;
    rejected = 0;
    tightest = 0;
    best_rate = NULL;
    ngx_memzero(&best, sizeof(cartbot_ratelimit_decision_t));
    best.remaining = (uint32_t) -1;

    /*
     * First ask every limit, without counting; then count in every zone.
     * A single limit is asked and counted at once: a refused request is
     * not counted anyway.
     */

    commit = (glcf->limits->nelts == 1);

    for (i = 0; i < glcf->limits->nelts; i++) {
        zone = limit[i].zone->data;

        rc = ngx_http_cartbot_limit_key(r, zone, &key);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            continue;
        }

        rate = ngx_http_cartbot_limit_rate(r, &limit[i]);

        if (ngx_http_cartbot_limit_check(zone, &key, rate, limit[i].burst,
                                         commit, &d, r->connection->log)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (!d.allowed) {
            if (!rejected || d.retry_after > best.retry_after) {
                best = d;
                best_rate = rate;
                tightest = i;
            }

            rejected = 1;

        } else if (!rejected && d.remaining < best.remaining) {
            best = d;
            best_rate = rate;
            tightest = i;
        }
    }

    if (best.limit == 0) {
        /* no limit applied: no key anywhere */
        return NGX_DECLINED;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);

    ngx_http_cartbot_stats_count(gmcf->stats, NGX_HTTP_CARTBOT_STATS_LIMIT,
                                 !rejected ? 0 : glcf->limit_dry_run ? 2 : 1,
                                 &limit[tightest].zone->shm.name, 1);

    if (rejected && !glcf->limit_dry_run) {
        ctx->limit_status = NGX_HTTP_CARTBOT_LIMIT_REJECTED;

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "cartbot limit: rejected by zone \"%V\", retry in %uD s",
                      &((ngx_http_cartbot_limit_zone_t *)
                        limit[tightest].zone->data)->name, best.retry_after);

        if (ngx_http_cartbot_limit_headers(r, &limit[tightest], best_rate,
                                           &best)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h = ngx_list_push(&r->headers_out.headers);
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (h == NULL || p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        h->value.data = p;
        h->value.len = ngx_sprintf(p, "%uD", best.retry_after
                                             ? best.retry_after : 1) - p;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif

        ngx_http_cartbot_gateway_error(r, "rate_limited",
                                       "too many requests; please wait "
                                       "for the time in Retry-After");

        return glcf->limit_status;
    }

    /* then count, in every zone */

    for (i = 0; !commit && i < glcf->limits->nelts; i++) {
        zone = limit[i].zone->data;

        rc = ngx_http_cartbot_limit_key(r, zone, &key);

        if (rc != NGX_OK) {
            continue;
        }

        rate = ngx_http_cartbot_limit_rate(r, &limit[i]);

        (void) ngx_http_cartbot_limit_check(zone, &key, rate, limit[i].burst,
                                            1, &d, r->connection->log);
    }

    if (rejected) {
        ctx->limit_status = NGX_HTTP_CARTBOT_LIMIT_DRY_RUN;

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "cartbot limit: would reject (dry run)");

    } else {
        ctx->limit_status = NGX_HTTP_CARTBOT_LIMIT_PASSED;
    }

    if (ngx_http_cartbot_limit_headers(r, &limit[tightest], best_rate, &best)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* other preaccess handlers (limit_conn, limit_req) still run */

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_cartbot_limit_key(ngx_http_request_t *r,
    ngx_http_cartbot_limit_zone_t *zone, ngx_str_t *key)
{
    ngx_int_t                 *index;
    ngx_uint_t                 i;
    ngx_http_variable_value_t *vv;
    ngx_http_complex_value_t  *cv;

    cv = zone->keys->elts;
    index = zone->key_vars->elts;

    for (i = 0; i < zone->keys->nelts; i++) {

        if (index[i] != NGX_ERROR) {
            /* a lone variable: its value, as the complex value would copy */

            vv = ngx_http_get_flushed_variable(r, index[i]);

            if (vv == NULL || vv->not_found) {
                key->len = 0;

            } else {
                key->data = vv->data;
                key->len = vv->len;
            }

        } else if (ngx_http_complex_value(r, &cv[i], key) != NGX_OK) {
            return NGX_ERROR;
        }

        if (key->len > 65535) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "cartbot limit: key over 65535 bytes");
            return NGX_DECLINED;
        }

        if (key->len) {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* the rate of the caller's tier, else the limit's own */

static ngx_http_cartbot_limit_rate_t *
ngx_http_cartbot_limit_rate(ngx_http_request_t *r,
    ngx_http_cartbot_limit_t *limit)
{
    ngx_str_t                       value;
    ngx_uint_t                      i;
    ngx_http_cartbot_limit_tier_t  *tier;

    if (limit->by == NULL
        || ngx_http_complex_value(r, limit->by, &value) != NGX_OK
        || value.len == 0)
    {
        return &limit->rate;
    }

    tier = limit->tiers->elts;

    for (i = 0; i < limit->tiers->nelts; i++) {
        if (tier[i].value.len == value.len
            && ngx_strncmp(tier[i].value.data, value.data, value.len) == 0)
        {
            return &tier[i].rate;
        }
    }

    return &limit->rate;
}


/*
 * One limit in one zone.  commit 0: the decision on a copy of the state;
 * commit 1: the same arithmetic on the state itself (counted).  The node
 * is keyed by the key and the window, so a zone can hold minute and day
 * limits of the same caller side by side.
 */

static ngx_int_t
ngx_http_cartbot_limit_check(ngx_http_cartbot_limit_zone_t *z, ngx_str_t *key,
    ngx_http_cartbot_limit_rate_t *rate, uint32_t burst, ngx_uint_t commit,
    cartbot_ratelimit_decision_t *d, ngx_log_t *log)
{
    uint32_t                        hash, n, window;
    ngx_str_t                       k;
    ngx_time_t                     *tp;
    ngx_http_cartbot_limit_node_t  *lr;
    cartbot_ratelimit_state_t       state;

    n = rate->limit;
    window = rate->window;

    hash = ngx_crc32_short(key->data, key->len) ^ rate->window_hash;

    k = *key;

    tp = ngx_timeofday();

    ngx_shmtx_lock(&z->shpool->mutex);

    lr = ngx_http_cartbot_limit_lookup(z, &k, hash, commit, log);

    if (lr && lr->state.window != 0 && lr->state.window != window) {
        /* a hash collision of (key, window): start afresh */
        ngx_memzero(&lr->state, sizeof(cartbot_ratelimit_state_t));
    }

    if (lr == NULL) {
        ngx_memzero(&state, sizeof(cartbot_ratelimit_state_t));

    } else {
        state = lr->state;
    }

    (void) cartbot_ratelimit_check(&state, n, window, burst,
                                   (int64_t) tp->sec * 1000 + tp->msec, 1, d);

    if (commit && lr) {
        lr->state = state;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (commit && lr == NULL) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "cartbot limit: zone \"%V\" is full", &z->name);
    }

    return NGX_OK;
}


/* under the zone's mutex */

static ngx_http_cartbot_limit_node_t *
ngx_http_cartbot_limit_lookup(ngx_http_cartbot_limit_zone_t *z,
    ngx_str_t *key, uint32_t hash, ngx_uint_t create, ngx_log_t *log)
{
    size_t                          size;
    ngx_int_t                       rc;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_cartbot_limit_node_t  *lr;

    node = z->sh->rbtree.root;
    sentinel = z->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        lr = (ngx_http_cartbot_limit_node_t *) &node->color;

        rc = ngx_memn2cmp(key->data, lr->data, key->len, (size_t) lr->len);

        if (rc == 0) {
            ngx_queue_remove(&lr->queue);
            ngx_queue_insert_head(&z->sh->queue, &lr->queue);
            return lr;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    if (!create) {
        return NULL;
    }

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_cartbot_limit_node_t, data)
           + key->len;

    /* make room: one or two idle keys, or, when full, the oldest */

    ngx_http_cartbot_limit_expire(z, 0);

    node = ngx_slab_alloc_locked(z->shpool, size);

    if (node == NULL) {
        ngx_http_cartbot_limit_expire(z, 1);

        node = ngx_slab_alloc_locked(z->shpool, size);
        if (node == NULL) {
            return NULL;
        }
    }

    node->key = hash;

    lr = (ngx_http_cartbot_limit_node_t *) &node->color;

    lr->len = (u_short) key->len;
    ngx_memzero(&lr->state, sizeof(cartbot_ratelimit_state_t));
    ngx_memcpy(lr->data, key->data, key->len);

    ngx_rbtree_insert(&z->sh->rbtree, node);
    ngx_queue_insert_head(&z->sh->queue, &lr->queue);

    (void) log;

    return lr;
}


/*
 * Frees least recently used keys: those idle for two windows (nothing of
 * their count is left), at most two; with force, the oldest one anyway.
 */

static void
ngx_http_cartbot_limit_expire(ngx_http_cartbot_limit_zone_t *z,
    ngx_uint_t force)
{
    ngx_uint_t                      n;
    ngx_time_t                     *tp;
    ngx_queue_t                    *q;
    ngx_rbtree_node_t              *node;
    ngx_http_cartbot_limit_node_t  *lr;

    tp = ngx_timeofday();

    for (n = 0; n < 3; n++) {

        if (ngx_queue_empty(&z->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&z->sh->queue);
        lr = ngx_queue_data(q, ngx_http_cartbot_limit_node_t, queue);

        if (!force && n < 2
            && (int64_t) tp->sec * 1000 + (int64_t) tp->msec
               < lr->state.start + 2000 * (int64_t) lr->state.window)
        {
            return;
        }

        if (!force && n >= 2) {
            return;
        }

        force = 0;

        ngx_queue_remove(q);

        node = (ngx_rbtree_node_t *)
                   ((u_char *) lr - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&z->sh->rbtree, node);
        ngx_slab_free_locked(z->shpool, node);
    }
}


/*
 * RateLimit-Policy: "chat";q=30;w=60   RateLimit: "chat";r=12;t=42
 * (draft-ietf-httpapi-ratelimit-headers), and with "legacy" also
 * X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset.
 */

static ngx_int_t
ngx_http_cartbot_limit_headers(ngx_http_request_t *r,
    ngx_http_cartbot_limit_t *limit, ngx_http_cartbot_limit_rate_t *rate,
    cartbot_ratelimit_decision_t *d)
{
    u_char                               *p;
    ngx_uint_t                            i;
    ngx_table_elt_t                      *h;
    ngx_http_cartbot_gateway_loc_conf_t  *glcf;
    static const char                    *legacy[] = {
        "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"
    };

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    if (glcf->limit_headers == NGX_HTTP_CARTBOT_LIMIT_HEADERS_OFF) {
        return NGX_OK;
    }

    /* an empty name: the zone's name cannot be sent (see "prepare") */

    if (limit->name.len == 0) {
        return NGX_ERROR;
    }

    /* the policy was written at configuration time */

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "RateLimit-Policy");
    h->value = rate->policy;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    h = ngx_list_push(&r->headers_out.headers);
    p = ngx_pnalloc(r->pool, limit->name.len + sizeof(";r=;t=") - 1
                             + 2 * NGX_INT32_LEN);
    if (h == NULL || p == NULL) {
        return NGX_ERROR;
    }

    /* "chat";r=12;t=42, without ngx_sprintf(): it is on every request */

    h->hash = 1;
    ngx_str_set(&h->key, "RateLimit");
    h->value.data = p;

    p = ngx_cpymem(p, limit->name.data, limit->name.len);
    p = ngx_cpymem(p, ";r=", sizeof(";r=") - 1);
    p = ngx_http_cartbot_limit_number(p, d->remaining);
    p = ngx_cpymem(p, ";t=", sizeof(";t=") - 1);
    p = ngx_http_cartbot_limit_number(p, d->reset);

    h->value.len = p - h->value.data;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    if (glcf->limit_headers != NGX_HTTP_CARTBOT_LIMIT_HEADERS_LEGACY) {
        return NGX_OK;
    }

    for (i = 0; i < 3; i++) {
        h = ngx_list_push(&r->headers_out.headers);
        p = ngx_pnalloc(r->pool, NGX_INT32_LEN);
        if (h == NULL || p == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key.data = (u_char *) legacy[i];
        h->key.len = ngx_strlen(legacy[i]);
        h->value.data = p;
        h->value.len = ngx_sprintf(p, "%uD", i == 0 ? d->limit
                                             : i == 1 ? d->remaining
                                             : d->reset) - p;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
    }

    return NGX_OK;
}


static u_char *
ngx_http_cartbot_limit_number(u_char *p, uint32_t n)
{
    u_char   digits[NGX_INT32_LEN], *d;

    d = digits + NGX_INT32_LEN;

    do {
        *--d = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return ngx_cpymem(p, d, digits + NGX_INT32_LEN - d);
}


static ngx_int_t
ngx_http_cartbot_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_cartbot_gateway_ctx_t  *ctx;

    ctx = r->main->ctx[ngx_cartbot_gateway_module.ctx_index];

    if (ctx == NULL || ctx->limit_status == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ngx_http_cartbot_limit_results[ctx->limit_status].data;
    v->len = ngx_http_cartbot_limit_results[ctx->limit_status].len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static void
ngx_http_cartbot_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_cartbot_limit_node_t   *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_http_cartbot_limit_node_t *) &node->color;
            b = (ngx_http_cartbot_limit_node_t *) &temp->color;

            p = (ngx_memn2cmp(a->data, b->data, a->len, b->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_int_t
ngx_http_cartbot_limit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_cartbot_limit_zone_t  *ozone = data;

    size_t                          len;
    ngx_http_cartbot_limit_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        if (zone->key_text.len != ozone->key_text.len
            || ngx_strncmp(zone->key_text.data, ozone->key_text.data,
                           zone->key_text.len) != 0)
        {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "cartbot_limit_zone \"%V\" uses the keys \"%V\" "
                          "while previously it used \"%V\"",
                          &shm_zone->shm.name, &zone->key_text,
                          &ozone->key_text);
            return NGX_ERROR;
        }

        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;

        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    zone->sh = ngx_slab_alloc(zone->shpool,
                              sizeof(ngx_http_cartbot_limit_shctx_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                    ngx_http_cartbot_limit_rbtree_insert);

    ngx_queue_init(&zone->sh->queue);

    len = sizeof(" in cartbot_limit_zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in cartbot_limit_zone \"%V\"%Z",
                &shm_zone->shm.name);

    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * The keys a zone was last run with, in logs/cartbot_limit_<name>.key:
 * refuses a configuration (nginx -t included) that changes them, and
 * records them when the zone is created for real.
 */

static char *
ngx_http_cartbot_limit_keys_file(ngx_conf_t *cf,
    ngx_http_cartbot_limit_zone_t *zone)
{
    u_char           *p, buf[4096];
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         path;
    ngx_file_t        file;

    path.len = sizeof("logs/cartbot_limit_.key") - 1 + zone->name.len;
    path.data = ngx_pnalloc(cf->pool, path.len + 1);
    if (path.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_sprintf(path.data, "logs/cartbot_limit_%V.key", &zone->name);
    *p = '\0';

    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd != NGX_INVALID_FILE) {
        ngx_memzero(&file, sizeof(ngx_file_t));
        file.fd = fd;
        file.name = path;
        file.log = cf->log;

        n = ngx_read_file(&file, buf, sizeof(buf), 0);
        ngx_close_file(fd);

        if (n >= 0
            && ((size_t) n != zone->key_text.len
                || ngx_strncmp(buf, zone->key_text.data, n) != 0))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "cartbot_limit_zone \"%V\" changes its keys "
                               "from \"%*s\" to \"%V\": a reload would lose "
                               "its counters; give the zone another name "
                               "(or remove %s)", &zone->name, (size_t) n,
                               buf, &zone->key_text, path.data);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_test_config) {
        return NGX_CONF_OK;
    }

    fd = ngx_open_file(path.data, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, ngx_errno,
                           "cannot record the keys of cartbot_limit_zone "
                           "\"%V\" in %s", &zone->name, path.data);
        return NGX_CONF_OK;
    }

    if (ngx_write_fd(fd, zone->key_text.data, zone->key_text.len)
        != (ssize_t) zone->key_text.len)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, ngx_errno,
                           "cannot write %s", path.data);
    }

    ngx_close_file(fd);

    return NGX_CONF_OK;
}


/* cartbot_limit_zone name=chat size=10m key=$a [key=$b ...] */

char *
ngx_http_cartbot_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                            *p;
    ssize_t                            size;
    ngx_str_t                         *value, name, var;
    ngx_int_t                         *index;
    ngx_uint_t                         i;
    ngx_shm_zone_t                    *shm_zone;
    ngx_http_complex_value_t          *cv;
    ngx_http_cartbot_limit_zone_t     *zone;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_cartbot_limit_zone_t));
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    zone->keys = ngx_array_create(cf->pool, 2,
                                  sizeof(ngx_http_complex_value_t));
    zone->key_vars = ngx_array_create(cf->pool, 2, sizeof(ngx_int_t));
    if (zone->keys == NULL || zone->key_vars == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&name);
    size = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "name=", 5) == 0) {
            name.data = value[i].data + 5;
            name.len = value[i].len - 5;

            for (p = name.data; p < name.data + name.len; p++) {
                if (!(isalnum(*p) || *p == '_' || *p == '-')) {
                    return "zone names hold letters, digits, '_' and '-'";
                }
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            ngx_str_t  s;

            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is too small", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "key=", 4) == 0) {
            cv = ngx_array_push(zone->keys);
            if (cv == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

            ccv.cf = cf;
            ccv.value = &value[i];
            ccv.value->data += 4;
            ccv.value->len -= 4;
            ccv.complex_value = cv;

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            /*
             * A key that is one variable ("$jwt_claim_sub") is read
             * without the complex value's script and copy: its index,
             * else NGX_ERROR ("${a}b", "$1", text).
             */

            index = ngx_array_push(zone->key_vars);
            if (index == NULL) {
                return NGX_CONF_ERROR;
            }

            *index = NGX_ERROR;

            var.data = cv->value.data + 1;
            var.len = cv->value.len - 1;

            /* not "$1": a regex capture, no variable */

            if (cv->value.len > 1 && cv->value.data[0] == '$'
                && !isdigit(var.data[0]))
            {
                for (p = var.data; p < var.data + var.len; p++) {
                    if (!(isalnum(*p) || *p == '_')) {
                        break;
                    }
                }

                if (p == var.data + var.len) {
                    *index = ngx_http_get_variable_index(cf, &var);
                    if (*index == NGX_ERROR) {
                        return NGX_CONF_ERROR;
                    }
                }
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0 || size == 0 || zone->keys->nelts == 0) {
        return "needs name=, size= and at least one key=";
    }

    /* the keys' text, for the reload check */

    zone->key_text.len = 0;
    cv = zone->keys->elts;

    for (i = 0; i < zone->keys->nelts; i++) {
        zone->key_text.len += cv[i].value.len + 1;
    }

    zone->key_text.data = ngx_pnalloc(cf->pool, zone->key_text.len);
    if (zone->key_text.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = zone->key_text.data;

    for (i = 0; i < zone->keys->nelts; i++) {
        p = ngx_cpymem(p, cv[i].value.data, cv[i].value.len);
        *p++ = ' ';
    }

    zone->key_text.len--;
    zone->name = name;

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_cartbot_gateway_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_cartbot_limit_init_zone;
    shm_zone->data = zone;

    return ngx_http_cartbot_limit_keys_file(cf, zone);
}


/* cartbot_limit zone=z rate=30r/m [burst=n] [by=$v value=rate ...] */

char *
ngx_http_cartbot_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_gateway_loc_conf_t *glcf = conf;

    u_char                            *eq;
    ngx_str_t                         *value, s;
    ngx_uint_t                         i;
    ngx_http_cartbot_limit_t          *limit;
    ngx_http_cartbot_limit_tier_t     *tier;
    ngx_http_compile_complex_value_t   ccv;

    if (glcf->limits == NULL) {
        glcf->limits = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_cartbot_limit_t));
        if (glcf->limits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    limit = ngx_array_push(glcf->limits);
    if (limit == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(limit, sizeof(ngx_http_cartbot_limit_t));

    limit->tiers = ngx_array_create(cf->pool, 2,
                                    sizeof(ngx_http_cartbot_limit_tier_t));
    if (limit->tiers == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            limit->zone = ngx_shared_memory_add(cf, &s, 0,
                                                &ngx_cartbot_gateway_module);
            if (limit->zone == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "rate=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (ngx_http_cartbot_limit_parse_rate(&s, &limit->rate) != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            ngx_int_t  n;

            n = ngx_atoi(value[i].data + 6, value[i].len - 6);
            if (n == NGX_ERROR || n > 1000000) {
                goto invalid;
            }

            limit->burst = (uint32_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "by=", 3) == 0) {
            limit->by = ngx_palloc(cf->pool,
                                   sizeof(ngx_http_complex_value_t));
            if (limit->by == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

            ccv.cf = cf;
            ccv.value = &value[i];
            ccv.value->data += 3;
            ccv.value->len -= 3;
            ccv.complex_value = limit->by;

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        /* a tier: value=rate */

        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL || eq == value[i].data) {
            goto invalid;
        }

        tier = ngx_array_push(limit->tiers);
        if (tier == NULL) {
            return NGX_CONF_ERROR;
        }

        tier->value.data = value[i].data;
        tier->value.len = eq - value[i].data;

        s.data = eq + 1;
        s.len = value[i].data + value[i].len - eq - 1;

        if (ngx_http_cartbot_limit_parse_rate(&s, &tier->rate) != NGX_OK)
        {
            goto invalid;
        }
    }

    if (limit->zone == NULL || limit->rate.limit == 0) {
        return "needs zone= and rate=";
    }

    if (limit->tiers->nelts && limit->by == NULL) {
        return "has tiers but no by=";
    }

    if (ngx_http_cartbot_limit_prepare(cf, limit, &limit->rate) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    tier = limit->tiers->elts;

    for (i = 0; i < limit->tiers->nelts; i++) {
        if (ngx_http_cartbot_limit_prepare(cf, limit, &tier[i].rate)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/* "30r/m": 30 per minute; r/s, r/m, r/h, r/d */

static ngx_int_t
ngx_http_cartbot_limit_parse_rate(ngx_str_t *s,
    ngx_http_cartbot_limit_rate_t *rate)
{
    ngx_int_t  v;

    if (s->len < 4 || s->data[s->len - 3] != 'r'
        || s->data[s->len - 2] != '/')
    {
        return NGX_ERROR;
    }

    v = ngx_atoi(s->data, s->len - 3);
    if (v <= 0 || v > 100000000) {
        return NGX_ERROR;
    }

    switch (s->data[s->len - 1]) {
    case 's': rate->window = 1; break;
    case 'm': rate->window = 60; break;
    case 'h': rate->window = 3600; break;
    case 'd': rate->window = 86400; break;
    default: return NGX_ERROR;
    }

    rate->limit = (uint32_t) v;

    return NGX_OK;
}


/*
 * What every request under a rate needs, once: the zone's name as an
 * sf-string (RateLimit: "chat";r=12;t=42), the whole RateLimit-Policy
 * value ("chat";q=30;w=60), and the window's part of a node's hash.
 * A name that cannot be an sf-string is left empty: the request fails
 * when it sends the headers, as it did when they were written per
 * request.
 */

static ngx_int_t
ngx_http_cartbot_limit_prepare(ngx_conf_t *cf, ngx_http_cartbot_limit_t *limit,
    ngx_http_cartbot_limit_rate_t *rate)
{
    u_char          buf[NGX_INT32_LEN + 3];
    cartbot_buf_t   b;
    cartbot_mem_t  *mem;

    rate->window_hash = ngx_crc32_short(buf,
                                        ngx_sprintf(buf, "%uD", rate->window)
                                        - buf);

    mem = ngx_http_cartbot_mem(cf->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    cartbot_buf_init(&b, mem, 64);

    if (cartbot_ratelimit_policy_item(&b, (char *) limit->zone->shm.name.data,
                                      rate->limit, rate->window)
        != 0)
    {
        ngx_str_null(&limit->name);
        ngx_str_null(&rate->policy);
        return NGX_OK;
    }

    rate->policy.data = (u_char *) b.data;
    rate->policy.len = b.len;

    /* the name is the policy without its ";q=...;w=..." */

    limit->name.data = rate->policy.data;
    limit->name.len = rate->policy.len
                      - (ngx_sprintf(buf, ";q=%uD", rate->limit) - buf)
                      - (ngx_sprintf(buf, ";w=%uD", rate->window) - buf);

    return NGX_OK;
}


void
ngx_http_cartbot_limit_merge(ngx_http_cartbot_gateway_loc_conf_t *prev,
    ngx_http_cartbot_gateway_loc_conf_t *conf)
{
    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    ngx_conf_merge_value(conf->limit_dry_run, prev->limit_dry_run, 0);
    ngx_conf_merge_uint_value(conf->limit_status, prev->limit_status,
                              NGX_HTTP_TOO_MANY_REQUESTS);
    ngx_conf_merge_uint_value(conf->limit_headers, prev->limit_headers,
                              NGX_HTTP_CARTBOT_LIMIT_HEADERS_DRAFT);
}
