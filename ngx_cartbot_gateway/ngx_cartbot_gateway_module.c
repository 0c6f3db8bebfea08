
/*
 * ngx_cartbot_gateway_module: what stands in front of every public
 * Cartbot route.
 *
 *     cartbot_gateway_db  /_cartbot/db/sql  signin=/_cartbot/db/signin
 *                         credentials=secrets/gateway.json;
 *
 *     location = /internal/health/live  { cartbot_health live; }
 *     location = /internal/health {
 *         cartbot_health ready cache=2s;  # {"status":"ok","surrealdb":..}
 *     }
 *
 * JWT verification: ngx_cartbot_gateway_jwt.c; shopper tokens:
 * ngx_cartbot_gateway_auth.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_cartbot_gateway.h"


static void ngx_http_cartbot_gateway_wake(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_gateway_query_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_health_handler(ngx_http_request_t *r);
static void ngx_http_cartbot_health_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_health_send(ngx_http_request_t *r,
    ngx_http_cartbot_stats_t *st, ngx_uint_t cached);
static ngx_int_t ngx_http_cartbot_gateway_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_cartbot_request_id_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_request_id_filter(ngx_http_request_t *r);
static void *ngx_http_cartbot_gateway_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_cartbot_gateway_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cartbot_gateway_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_cartbot_health(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_http_cartbot_glue_t  ngx_http_cartbot_gateway_glue = {
    &ngx_cartbot_gateway_module,
    ngx_http_cartbot_gateway_wake,
    ngx_http_cartbot_gateway_query_handler,
    ngx_string("cartbot_gateway_db")
};


static ngx_conf_num_bounds_t  ngx_http_cartbot_limit_status_bounds = {
    ngx_conf_check_num_bounds, 400, 599
};


static ngx_conf_enum_t  ngx_http_cartbot_limit_headers_enum[] = {
    { ngx_string("off"), 0 },
    { ngx_string("draft"), 1 },
    { ngx_string("legacy"), 2 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_cartbot_gateway_commands[] = {

    ngx_http_cartbot_db_commands("cartbot_gateway",
                                 ngx_http_cartbot_gateway_glue),

    { ngx_string("cartbot_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE12,
      ngx_http_cartbot_health,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_jwt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_jwt,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_jwt_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_jwt_key_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, keys),
      NULL },

    { ngx_string("cartbot_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_jwt_strings,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, issuers),
      NULL },

    { ngx_string("cartbot_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_jwt_strings,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, audiences),
      NULL },

    { ngx_string("cartbot_jwt_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_jwt_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, leeway),
      NULL },

    { ngx_string("cartbot_jwt_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, max_size),
      NULL },

    { ngx_string("cartbot_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cartbot_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_stats"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, stats),
      NULL },

    { ngx_string("cartbot_request_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, request_id),
      NULL },

    { ngx_string("cartbot_limit_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_cartbot_limit_zone,
      0,
      0,
      NULL },

    { ngx_string("cartbot_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_cartbot_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_limit_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, limit_dry_run),
      NULL },

    { ngx_string("cartbot_limit_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, limit_status),
      &ngx_http_cartbot_limit_status_bounds },

    { ngx_string("cartbot_limit_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, limit_headers),
      &ngx_http_cartbot_limit_headers_enum },

    { ngx_string("cartbot_auth"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cartbot_auth,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_auth_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_jwt_key_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, signing),
      NULL },

    { ngx_string("cartbot_auth_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, token_ttl),
      NULL },

    { ngx_string("cartbot_auth_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_gateway_loc_conf_t, token_issuer),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cartbot_gateway_module_ctx = {
    ngx_http_cartbot_jwt_add_variables,    /* preconfiguration */
    ngx_http_cartbot_gateway_init,         /* postconfiguration */

    ngx_http_cartbot_gateway_create_main_conf,
                                           /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cartbot_gateway_create_loc_conf,
                                           /* create location configuration */
    ngx_http_cartbot_gateway_merge_loc_conf
                                           /* merge location configuration */
};


ngx_module_t  ngx_cartbot_gateway_module = {
    NGX_MODULE_V1,
    &ngx_http_cartbot_gateway_module_ctx,  /* module context */
    ngx_http_cartbot_gateway_commands,     /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void
ngx_http_cartbot_gateway_wake(ngx_http_request_t *r)
{
    ngx_http_cartbot_wake(r, &ngx_cartbot_gateway_module);
}


static ngx_int_t
ngx_http_cartbot_gateway_query_handler(ngx_http_request_t *r)
{
    return ngx_http_cartbot_db_query_handler(r, &ngx_cartbot_gateway_module);
}


/*
 * Readiness: one authenticated round trip to SurrealDB through the
 * gateway's own service account.  503 with the same shape when the
 * database is down, slow or refuses the credentials.
 */

static ngx_int_t
ngx_http_cartbot_health_handler(ngx_http_request_t *r)
{
    ngx_int_t                              rc;
    ngx_msec_t                             now;
    ngx_atomic_uint_t                      probing;
    cartbot_mem_t                         *mem;
    cartbot_surreal_query_t                sq;
    ngx_http_cartbot_stats_t              *st;
    ngx_http_cartbot_gateway_ctx_t        *ctx;
    ngx_http_cartbot_gateway_loc_conf_t   *glcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed", "use GET");
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    if (glcf->health == 1) {
        /* liveness: this worker answers; nothing else is asked */
        return ngx_http_cartbot_health_send(r, NULL, 0);
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);
    st = ngx_http_cartbot_stats(gmcf->stats);

    /*
     * A fresh enough answer is shared by every worker; when it is stale,
     * one request probes (health_probing holds when it began: a probe
     * that never came back is taken over after 10 s) and the others
     * answer with the stale one.
     */

    if (st && st->health_at) {
        probing = st->health_probing;
        now = ngx_current_msec | 1;

        if (ngx_current_msec - st->health_at < glcf->health_cache
            || (probing && now - probing < 10000)
            || !ngx_atomic_cmp_set(&st->health_probing, probing, now))
        {
            return ngx_http_cartbot_health_send(r, st, 1);
        }
    }

    if (glcf->cartbot.db.sql_uri.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_health: no \"cartbot_gateway_db\" here");

        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "no database configured");
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (cartbot_surreal_query_init(&sq, mem, "RETURN true;") != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_cartbot_gateway_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->base.resume = ngx_http_cartbot_health_resume;

    ctx->query = ngx_http_cartbot_db_query(r, &ctx->base, &glcf->cartbot.db,
                                           &sq);
    if (ctx->query == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_cartbot_health_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx)
{
    ngx_http_cartbot_stats_t              *st, local;
    ngx_http_cartbot_db_query_t           *q;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    q = ((ngx_http_cartbot_gateway_ctx_t *) ctx)->query;

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);
    st = ngx_http_cartbot_stats(gmcf->stats);

    if (st == NULL) {
        ngx_memzero(&local, sizeof(ngx_http_cartbot_stats_t));
        st = &local;
    }

    st->health_ok = (q->error == 0
                     && q->result.outcome == CARTBOT_SURREAL_OK);
    st->health_latency = q->elapsed;
    ngx_cpystrn(st->health_error,
                (u_char *) (q->error_code ? q->error_code : "query_failed"),
                sizeof(st->health_error));
    ngx_memory_barrier();
    st->health_at = ngx_current_msec ? ngx_current_msec : 1;
    st->health_probing = 0;

    ngx_http_finalize_request(r, ngx_http_cartbot_health_send(r, st, 0));
}


/*
 * {"status":"ok"} (liveness), or readiness:
 * {"status":"ok"|"unavailable","surrealdb":{"status":"ok"|"down",
 *  ["error":..,]"latency_ms":N,"breaker":"closed"},"cached":false}
 */

static ngx_int_t
ngx_http_cartbot_health_send(ngx_http_request_t *r,
    ngx_http_cartbot_stats_t *st, ngx_uint_t cached)
{
    ngx_uint_t                             status, breaker;
    cartbot_buf_t                          b;
    cartbot_mem_t                         *mem;
    ngx_table_elt_t                       *h;
    ngx_http_cartbot_stats_dep_t          *dep;
    ngx_http_cartbot_gateway_loc_conf_t   *glcf;
    static const char                     *states[] = {
        "closed", "open", "half_open"
    };

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    cartbot_buf_init(&b, mem, 256);
    status = NGX_HTTP_OK;

    if (st == NULL) {
        cartbot_buf_add_str(&b, "{\"status\":\"ok\"}");

    } else {
        glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

        dep = ngx_http_cartbot_stats_dep(glcf->cartbot.db.stats,
                                         &glcf->cartbot.db.sql_uri,
                                         NGX_HTTP_CARTBOT_DEP_SURREALDB);
        breaker = dep ? dep->state % 3 : 0;

        if (st->health_ok) {
            cartbot_buf_printf(&b, "{\"status\":\"ok\",\"surrealdb\":"
                               "{\"status\":\"ok\",\"latency_ms\":%lu,",
                               (unsigned long) st->health_latency);

        } else {
            status = NGX_HTTP_SERVICE_UNAVAILABLE;
            cartbot_buf_printf(&b, "{\"status\":\"unavailable\","
                               "\"surrealdb\":{\"status\":\"down\","
                               "\"error\":\"%s\",\"latency_ms\":%lu,",
                               st->health_error,
                               (unsigned long) st->health_latency);
        }

        cartbot_buf_printf(&b, "\"breaker\":\"%s\"},\"cached\":%s}",
                           states[breaker], cached ? "true" : "false");
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    return ngx_http_cartbot_send_buf(r, status, &b);
}


/*
 * The request's gateway context: made once, shared by the JWT check, the
 * variables and the content handlers (which set base.resume).
 */

ngx_http_cartbot_gateway_ctx_t *
ngx_http_cartbot_gateway_ctx(ngx_http_request_t *r)
{
    ngx_http_cartbot_gateway_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_gateway_module);

    if (ctx) {
        return ctx;
    }

    return (ngx_http_cartbot_gateway_ctx_t *)
           ngx_http_cartbot_ctx_create(r, &ngx_http_cartbot_gateway_glue,
                                       sizeof(ngx_http_cartbot_gateway_ctx_t),
                                       NULL);
}


static void *
ngx_http_cartbot_gateway_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cartbot_gateway_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    gmcf->error_code_index = NGX_ERROR;
    gmcf->error_message_index = NGX_ERROR;
    gmcf->request_id_index = NGX_ERROR;

    return gmcf;
}


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static ngx_int_t
ngx_http_cartbot_gateway_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                   *h;
    ngx_http_core_main_conf_t             *cmcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;
    static ngx_str_t  request_id = ngx_string("request_id");

    if (ngx_http_cartbot_limit_init(cf) != NGX_OK
        || ngx_http_cartbot_metrics_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_cartbot_gateway_module);

    gmcf->request_id_index = ngx_http_get_variable_index(cf, &request_id);
    if (gmcf->request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_cartbot_request_id_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_cartbot_request_id_filter;

    return ngx_http_cartbot_jwt_init(cf);
}


/*
 * cartbot_request_id on: a well-formed inbound X-Request-Id (8 to 128 of
 * letters, digits, '-', '_', '.', ':') becomes $request_id, which the
 * access log, every JSON error and every subrequest to SurrealDB and Groq
 * carry; anything else is replaced by nginx's own random id.
 */

static ngx_int_t
ngx_http_cartbot_request_id_handler(ngx_http_request_t *r)
{
    u_char                                *p, *last;
    ngx_list_part_t                       *part;
    ngx_table_elt_t                       *h, *id;
    ngx_uint_t                             i;
    ngx_http_variable_value_t             *vv;
    ngx_http_cartbot_gateway_loc_conf_t   *glcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    if (!glcf->request_id) {
        return NGX_DECLINED;
    }

    id = NULL;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("X-Request-Id") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-Request-Id",
                               h[i].key.len) == 0)
        {
            id = &h[i];
            break;
        }
    }

    if (id == NULL || id->value.len < 8 || id->value.len > 128) {
        return NGX_DECLINED;
    }

    last = id->value.data + id->value.len;

    for (p = id->value.data; p < last; p++) {
        if (!(isalnum(*p) || *p == '-' || *p == '_' || *p == '.'
              || *p == ':'))
        {
            return NGX_DECLINED;
        }
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);

    /* $request_id is cacheable: a value set here is the one read later */

    vv = &r->variables[gmcf->request_id_index];
    vv->data = id->value.data;
    vv->len = id->value.len;
    vv->valid = 1;
    vv->no_cacheable = 0;
    vv->not_found = 0;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_cartbot_request_id_filter(ngx_http_request_t *r)
{
    ngx_table_elt_t                       *h;
    ngx_http_variable_value_t             *vv;
    ngx_http_cartbot_gateway_loc_conf_t   *glcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    if (!glcf->request_id) {
        return ngx_http_next_header_filter(r);
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);

    vv = ngx_http_get_indexed_variable(r, gmcf->request_id_index);

    if (vv && !vv->not_found && vv->len) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "X-Request-Id");
        h->value.data = vv->data;
        h->value.len = vv->len;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif
    }

    return ngx_http_next_header_filter(r);
}


static void *
ngx_http_cartbot_gateway_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cartbot_gateway_loc_conf_t  *conf;

    conf = ngx_http_cartbot_create_loc_conf(cf,
                               sizeof(ngx_http_cartbot_gateway_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->realm = { 0, NULL };
     *     conf->token = NULL;
     *     conf->keys = NULL;
     *     conf->issuers = NULL;
     *     conf->audiences = NULL;
     *     conf->requires = NULL;
     *     conf->auth = 0;
     *     conf->signing = NULL;
     *     conf->token_issuer = { 0, NULL };
     */

    conf->jwt = NGX_CONF_UNSET_UINT;
    conf->health_cache = NGX_CONF_UNSET_MSEC;
    conf->request_id = NGX_CONF_UNSET;
    conf->stats = NGX_CONF_UNSET;
    conf->limit_dry_run = NGX_CONF_UNSET;
    conf->limit_status = NGX_CONF_UNSET_UINT;
    conf->limit_headers = NGX_CONF_UNSET_UINT;
    conf->leeway = NGX_CONF_UNSET;
    conf->max_size = NGX_CONF_UNSET_SIZE;
    conf->token_ttl = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_cartbot_gateway_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_cartbot_gateway_loc_conf_t *prev = parent;
    ngx_http_cartbot_gateway_loc_conf_t *conf = child;

    ngx_http_cartbot_jwt_merge(prev, conf);
    ngx_http_cartbot_limit_merge(prev, conf);
    ngx_conf_merge_value(conf->request_id, prev->request_id, 0);
    ngx_conf_merge_value(conf->stats, prev->stats, 1);
    ngx_conf_merge_msec_value(conf->health_cache, prev->health_cache, 1000);

    if (conf->signing == NULL) {
        conf->signing = prev->signing;
    }

    ngx_conf_merge_sec_value(conf->token_ttl, prev->token_ttl, 3600);
    ngx_conf_merge_str_value(conf->token_issuer, prev->token_issuer,
                             "cartbot");

    return ngx_http_cartbot_merge_loc_conf(cf, &prev->cartbot,
                                           &conf->cartbot);
}


/* cartbot_health [live | ready] [cache=1s] */

static char *
ngx_http_cartbot_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_gateway_loc_conf_t *glcf = conf;

    ngx_str_t                 *value, t;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    value = cf->args->elts;
    glcf->health = 2;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "live") == 0) {
            glcf->health = 1;

        } else if (ngx_strcmp(value[i].data, "ready") == 0) {
            glcf->health = 2;

        } else if (ngx_strncmp(value[i].data, "cache=", 6) == 0) {
            t.data = value[i].data + 6;
            t.len = value[i].len - 6;

            glcf->health_cache = ngx_parse_time(&t, 0);

            if (glcf->health_cache == (ngx_msec_t) NGX_ERROR) {
                return "has an invalid cache= time";
            }

        } else {
            return "takes live or ready, and cache=";
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_cartbot_health_handler;

    return NGX_CONF_OK;
}
