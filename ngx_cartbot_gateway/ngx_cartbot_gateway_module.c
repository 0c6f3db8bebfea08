
/*
 * ngx_cartbot_gateway_module: what stands in front of every public
 * Cartbot route.
 *
 *     cartbot_gateway_db  /_cartbot/db/sql  signin=/_cartbot/db/signin
 *                         credentials=secrets/gateway.json;
 *
 *     location = /internal/health {
 *         cartbot_health;            # {"status":"ok","surrealdb":{...}}
 *     }
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"


typedef struct {
    ngx_http_cartbot_loc_conf_t    cartbot;
} ngx_http_cartbot_gateway_loc_conf_t;


typedef struct {
    ngx_http_cartbot_ctx_t         ctx;
    ngx_http_cartbot_db_query_t   *probe;
} ngx_http_cartbot_health_ctx_t;


static void ngx_http_cartbot_gateway_wake(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_gateway_query_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_health_handler(ngx_http_request_t *r);
static void ngx_http_cartbot_health_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);
static void *ngx_http_cartbot_gateway_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cartbot_health(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


ngx_module_t  ngx_cartbot_gateway_module;


static ngx_http_cartbot_glue_t  ngx_http_cartbot_gateway_glue = {
    &ngx_cartbot_gateway_module,
    ngx_http_cartbot_gateway_wake,
    ngx_http_cartbot_gateway_query_handler,
    ngx_string("cartbot_gateway_db")
};


static ngx_command_t  ngx_http_cartbot_gateway_commands[] = {

    ngx_http_cartbot_db_commands("cartbot_gateway",
                                 ngx_http_cartbot_gateway_glue),

    { ngx_string("cartbot_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_cartbot_health,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cartbot_gateway_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cartbot_gateway_create_loc_conf,
                                           /* create location configuration */
    ngx_http_cartbot_merge_loc_conf        /* merge location configuration */
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
    ngx_int_t                             rc;
    cartbot_mem_t                        *mem;
    cartbot_surreal_query_t               sq;
    ngx_http_cartbot_health_ctx_t        *ctx;
    ngx_http_cartbot_gateway_loc_conf_t  *glcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed", "use GET");
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

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

    ctx = (ngx_http_cartbot_health_ctx_t *)
          ngx_http_cartbot_ctx_create(r, &ngx_http_cartbot_gateway_glue,
                                      sizeof(ngx_http_cartbot_health_ctx_t),
                                      ngx_http_cartbot_health_resume);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->probe = ngx_http_cartbot_db_query(r, &ctx->ctx, &glcf->cartbot.db,
                                           &sq);
    if (ctx->probe == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_cartbot_health_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_uint_t                    status;
    cartbot_buf_t                 b;
    cartbot_mem_t                *mem;
    ngx_table_elt_t              *h;
    ngx_http_cartbot_db_query_t  *q;

    q = ((ngx_http_cartbot_health_ctx_t *) ctx)->probe;

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    cartbot_buf_init(&b, mem, 256);

    if (q->error == 0 && q->result.outcome == CARTBOT_SURREAL_OK) {
        status = NGX_HTTP_OK;
        cartbot_buf_printf(&b, "{\"status\":\"ok\",\"surrealdb\":"
                           "{\"status\":\"ok\",\"latency_ms\":%lu}}",
                           (unsigned long) q->elapsed);

    } else {
        status = NGX_HTTP_SERVICE_UNAVAILABLE;
        cartbot_buf_printf(&b, "{\"status\":\"unavailable\",\"surrealdb\":"
                           "{\"status\":\"down\",\"error\":\"%s\","
                           "\"latency_ms\":%lu}}",
                           q->error_code ? q->error_code : "query_failed",
                           (unsigned long) q->elapsed);
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    rc = ngx_http_cartbot_send_buf(r, status, &b);

    ngx_http_finalize_request(r, rc);
}


static void *
ngx_http_cartbot_gateway_create_loc_conf(ngx_conf_t *cf)
{
    return ngx_http_cartbot_create_loc_conf(cf,
                               sizeof(ngx_http_cartbot_gateway_loc_conf_t));
}


static char *
ngx_http_cartbot_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_cartbot_health_handler;

    return NGX_CONF_OK;
}
