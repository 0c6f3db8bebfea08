
/*
 * Cartbot: counters for the metrics and the circuit breakers, in one
 * shared memory zone that every module of every worker writes.
 *
 * Each module is its own .so, so the zone cannot be tagged with one
 * module's address: it is tagged with ngx_http_core_module's, which every
 * module sees at the same address, and each module adds it with the same
 * name and size (nginx then hands them one zone).  The layout is fixed
 * and small; names (routes, dependency locations, limit zones) take slots
 * on first use, so every label set is bounded.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"


static ngx_int_t ngx_http_cartbot_stats_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void *ngx_http_cartbot_stats_slot(ngx_http_cartbot_stats_t *st,
    void *table, size_t size, ngx_uint_t n, ngx_str_t *name);


/* upper bounds of the duration histograms, in milliseconds */

ngx_msec_t  ngx_http_cartbot_stats_buckets[NGX_HTTP_CARTBOT_STATS_BUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};


ngx_int_t
ngx_http_cartbot_stats_add(ngx_conf_t *cf, ngx_shm_zone_t **zone)
{
    ngx_shm_zone_t              *shm_zone;
    ngx_http_cartbot_stats_t   **data;
    static ngx_str_t             name = ngx_string("cartbot_stats");

    shm_zone = ngx_shared_memory_add(cf, &name, NGX_HTTP_CARTBOT_STATS_SIZE,
                                     &ngx_http_core_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    if (shm_zone->data == NULL) {
        data = ngx_pcalloc(cf->pool, sizeof(ngx_http_cartbot_stats_t *));
        if (data == NULL) {
            return NGX_ERROR;
        }

        shm_zone->init = ngx_http_cartbot_stats_init_zone;
        shm_zone->data = data;
    }

    *zone = shm_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_stats_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_cartbot_stats_t  **odata = data;

    ngx_slab_pool_t            *shpool;
    ngx_http_cartbot_stats_t  **st;

    st = shm_zone->data;

    if (odata) {
        *st = *odata;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        *st = shpool->data;
        return NGX_OK;
    }

    *st = ngx_slab_calloc(shpool, sizeof(ngx_http_cartbot_stats_t));
    if (*st == NULL) {
        return NGX_ERROR;
    }

    shpool->data = *st;

    return NGX_OK;
}


ngx_http_cartbot_stats_t *
ngx_http_cartbot_stats(ngx_shm_zone_t *zone)
{
    if (zone == NULL || zone->data == NULL) {
        return NULL;
    }

    return *(ngx_http_cartbot_stats_t **) zone->data;
}


/*
 * The counters of a name: found, or given the next free slot (names are
 * written once, under the zone's mutex, and never change).  NULL when
 * the table is full.
 */

static void *
ngx_http_cartbot_stats_slot(ngx_http_cartbot_stats_t *st, void *table,
    size_t size, ngx_uint_t n, ngx_str_t *name)
{
    size_t                          len;
    ngx_uint_t                      i;
    ngx_http_cartbot_stats_name_t  *e;

    len = ngx_min(name->len, NGX_HTTP_CARTBOT_STATS_NAME - 1);

    for (i = 0; i < n; i++) {
        e = (ngx_http_cartbot_stats_name_t *) ((u_char *) table + i * size);

        if (e->len == 0) {
            break;
        }

        if (e->len == len && ngx_strncmp(e->name, name->data, len) == 0) {
            return e;
        }
    }

    if (i == n) {
        return NULL;
    }

    ngx_spinlock(&st->lock, 1, 2048);

    /* another worker may have taken it meanwhile */

    for ( /* void */ ; i < n; i++) {
        e = (ngx_http_cartbot_stats_name_t *) ((u_char *) table + i * size);

        if (e->len == 0) {
            ngx_memcpy(e->name, name->data, len);
            ngx_memory_barrier();
            e->len = len;
            break;
        }

        if (e->len == len && ngx_strncmp(e->name, name->data, len) == 0) {
            break;
        }
    }

    ngx_unlock(&st->lock);

    return (i == n) ? NULL : e;
}


static void
ngx_http_cartbot_stats_observe(ngx_http_cartbot_stats_histogram_t *h,
    ngx_msec_t ms)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_CARTBOT_STATS_BUCKETS - 1; i++) {
        if (ms <= ngx_http_cartbot_stats_buckets[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&h->buckets[i], 1);
    (void) ngx_atomic_fetch_add(&h->sum_ms, ms);
    (void) ngx_atomic_fetch_add(&h->count, 1);
}


void
ngx_http_cartbot_stats_request(ngx_shm_zone_t *zone, ngx_str_t *route,
    ngx_uint_t status, ngx_msec_t ms)
{
    ngx_http_cartbot_stats_t        *st;
    ngx_http_cartbot_stats_route_t  *rt;

    st = ngx_http_cartbot_stats(zone);
    if (st == NULL) {
        return;
    }

    rt = ngx_http_cartbot_stats_slot(st, st->routes,
                                     sizeof(ngx_http_cartbot_stats_route_t),
                                     NGX_HTTP_CARTBOT_STATS_ROUTES, route);
    if (rt == NULL) {
        rt = &st->other_route;
    }

    status = (status >= 100 && status < 600) ? status / 100 - 1 : 4;

    (void) ngx_atomic_fetch_add(&rt->status[status], 1);
    ngx_http_cartbot_stats_observe(&rt->duration, ms);
}


ngx_http_cartbot_stats_dep_t *
ngx_http_cartbot_stats_dep(ngx_shm_zone_t *zone, ngx_str_t *location,
    ngx_uint_t kind)
{
    ngx_http_cartbot_stats_t      *st;
    ngx_http_cartbot_stats_dep_t  *dep;

    st = ngx_http_cartbot_stats(zone);
    if (st == NULL) {
        return NULL;
    }

    dep = ngx_http_cartbot_stats_slot(st, st->deps,
                                      sizeof(ngx_http_cartbot_stats_dep_t),
                                      NGX_HTTP_CARTBOT_STATS_DEPS, location);
    if (dep) {
        dep->kind = kind;
    }

    return dep;
}


void
ngx_http_cartbot_stats_upstream(ngx_http_cartbot_stats_dep_t *dep,
    ngx_uint_t outcome, ngx_msec_t ms)
{
    if (dep == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&dep->outcomes[outcome], 1);
    ngx_http_cartbot_stats_observe(&dep->duration, ms);
}


void
ngx_http_cartbot_stats_count(ngx_shm_zone_t *zone, ngx_uint_t what,
    ngx_uint_t index, ngx_str_t *name, ngx_atomic_int_t n)
{
    ngx_http_cartbot_stats_t        *st;
    ngx_http_cartbot_stats_limit_t  *lz;

    st = ngx_http_cartbot_stats(zone);
    if (st == NULL) {
        return;
    }

    switch (what) {

    case NGX_HTTP_CARTBOT_STATS_AUTH:
        if (index < NGX_HTTP_CARTBOT_STATS_REASONS) {
            (void) ngx_atomic_fetch_add(&st->auth_failures[index], n);
        }
        break;

    case NGX_HTTP_CARTBOT_STATS_LIMIT:
        lz = ngx_http_cartbot_stats_slot(st, st->limits,
                                       sizeof(ngx_http_cartbot_stats_limit_t),
                                       NGX_HTTP_CARTBOT_STATS_LIMITS, name);
        if (lz && index < 3) {
            (void) ngx_atomic_fetch_add(&lz->results[index], n);
        }
        break;

    case NGX_HTTP_CARTBOT_STATS_TOKENS:
        if (index < 2) {
            (void) ngx_atomic_fetch_add(&st->llm_tokens[index], n);
        }
        break;
    }
}


/*
 * The circuit breaker of a dependency location: closed, open (fail fast)
 * for a time that doubles with each trip up to a ceiling, then half-open,
 * when one probe goes through and decides.  NGX_OK: go; NGX_BUSY: refuse,
 * with the seconds to wait in *retry_after.
 */

ngx_int_t
ngx_http_cartbot_breaker_allow(ngx_http_cartbot_stats_dep_t *dep,
    ngx_uint_t *probe, time_t *retry_after)
{
    ngx_msec_t  now, until;

    *probe = 0;

    if (dep == NULL || dep->state == NGX_HTTP_CARTBOT_BREAKER_CLOSED) {
        return NGX_OK;
    }

    now = ngx_current_msec;
    until = dep->opened_at + dep->open_for;

    if (dep->state == NGX_HTTP_CARTBOT_BREAKER_OPEN
        && (ngx_msec_int_t) (until - now) > 0)
    {
        *retry_after = (until - now + 999) / 1000;
        return NGX_BUSY;
    }

    /* time is up: one request probes, the others keep waiting */

    if (ngx_atomic_cmp_set(&dep->probing, 0, 1)) {
        dep->state = NGX_HTTP_CARTBOT_BREAKER_HALF_OPEN;
        *probe = 1;
        return NGX_OK;
    }

    *retry_after = 1;

    return NGX_BUSY;
}


void
ngx_http_cartbot_breaker_report(ngx_http_cartbot_stats_dep_t *dep,
    ngx_uint_t probe, ngx_uint_t failed, ngx_uint_t threshold,
    ngx_msec_t base, ngx_msec_t ceiling)
{
    ngx_msec_t  open_for;

    if (dep == NULL) {
        return;
    }

    if (!failed) {
        dep->failures = 0;

        if (probe || dep->state != NGX_HTTP_CARTBOT_BREAKER_CLOSED) {
            dep->state = NGX_HTTP_CARTBOT_BREAKER_CLOSED;
            dep->open_for = 0;
        }

        if (probe) {
            dep->probing = 0;
        }

        return;
    }

    (void) ngx_atomic_fetch_add(&dep->failures, 1);

    if (!probe && (dep->state != NGX_HTTP_CARTBOT_BREAKER_CLOSED
                   || dep->failures < threshold))
    {
        return;
    }

    /* trip: open, for twice as long as last time when a probe failed */

    open_for = (probe && dep->open_for) ? dep->open_for * 2 : base;

    dep->open_for = ngx_min(open_for, ceiling);
    dep->opened_at = ngx_current_msec;
    dep->state = NGX_HTTP_CARTBOT_BREAKER_OPEN;
    (void) ngx_atomic_fetch_add(&dep->trips, 1);

    if (probe) {
        dep->probing = 0;
    }
}
