
/*
 * ngx_cartbot_session_module: shopping sessions and checkout.
 *
 *     cartbot_session_db    /_cartbot/db/sql  signin=/_cartbot/db/signin
 *                           credentials=secrets/session.json;
 *     cartbot_session_user  $jwt_claim_sub;     # who owns sessions
 *     cartbot_session_idle  30m;                # then "abandoned"
 *
 *     location = /session/create { cartbot_session create; }   # POST
 *     location /session/         { cartbot_session get; }      # GET /{id}
 *     location = /internal/session/validate {
 *         internal;
 *         cartbot_session validate;                            # POST
 *     }
 *
 * A session belongs to the user who created it: anybody else is told it
 * does not exist.  A session idle longer than cartbot_session_idle is
 * marked abandoned when it is next looked at.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"


#define NGX_HTTP_CARTBOT_SESSION_CREATE     1
#define NGX_HTTP_CARTBOT_SESSION_GET        2
#define NGX_HTTP_CARTBOT_SESSION_VALIDATE   3


typedef struct {
    ngx_http_cartbot_loc_conf_t    cartbot;
    ngx_uint_t                     op;
    time_t                         idle;
} ngx_http_cartbot_session_loc_conf_t;


typedef struct {
    ngx_http_cartbot_ctx_t         ctx;
    ngx_http_cartbot_db_query_t   *query;
} ngx_http_cartbot_session_ctx_t;


static ngx_int_t ngx_http_cartbot_session_handler(ngx_http_request_t *r);
static void ngx_http_cartbot_session_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_session_start(ngx_http_request_t *r,
    ngx_str_t *session);
static void ngx_http_cartbot_session_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);
static void ngx_http_cartbot_session_wake(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_session_query_handler(
    ngx_http_request_t *r);
static void *ngx_http_cartbot_session_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cartbot_session_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_cartbot_session(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


ngx_module_t  ngx_cartbot_session_module;


static ngx_http_cartbot_glue_t  ngx_http_cartbot_session_glue = {
    &ngx_cartbot_session_module,
    ngx_http_cartbot_session_wake,
    ngx_http_cartbot_session_query_handler,
    ngx_string("cartbot_session_db")
};


static ngx_conf_enum_t  ngx_http_cartbot_session_ops[] = {
    { ngx_string("create"), NGX_HTTP_CARTBOT_SESSION_CREATE },
    { ngx_string("get"), NGX_HTTP_CARTBOT_SESSION_GET },
    { ngx_string("validate"), NGX_HTTP_CARTBOT_SESSION_VALIDATE },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_cartbot_session_commands[] = {

    ngx_http_cartbot_db_commands("cartbot_session",
                                 ngx_http_cartbot_session_glue),

    { ngx_string("cartbot_session"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cartbot_session,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_session_loc_conf_t, op),
      &ngx_http_cartbot_session_ops },

    { ngx_string("cartbot_session_idle"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_session_loc_conf_t, idle),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cartbot_session_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cartbot_session_create_loc_conf,
                                           /* create location configuration */
    ngx_http_cartbot_session_merge_loc_conf
                                           /* merge location configuration */
};


ngx_module_t  ngx_cartbot_session_module = {
    NGX_MODULE_V1,
    &ngx_http_cartbot_session_module_ctx,  /* module context */
    ngx_http_cartbot_session_commands,     /* module directives */
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


#define NGX_HTTP_CARTBOT_SESSION_FIELDS                                      \
    "id AS session_id, user_id, status, started_at, last_active,"            \
    " completed_at"


static const char  ngx_http_cartbot_session_create_sql[] =
    "CREATE ONLY user_session SET user_id = $user, status = 'active',"
    " metadata = { user_agent: $ua, client: $ip }"
    " RETURN " NGX_HTTP_CARTBOT_SESSION_FIELDS ";";


/* looking at a session is when idleness is noticed */

static const char  ngx_http_cartbot_session_get_sql[] =
    "LET $s = type::record('user_session', $sid);"
    "LET $sess = $s.*;"
    "IF $sess = NONE OR $sess.user_id != $user"
    " { THROW 'session_not_found' };"
    "IF $sess.status = 'active'"
    " AND $sess.last_active < time::now() - <duration> $idle"
    " { UPDATE $s SET status = 'abandoned' };"
    "SELECT " NGX_HTTP_CARTBOT_SESSION_FIELDS " FROM ONLY $s;";


static ngx_http_cartbot_db_thrown_t  ngx_http_cartbot_session_errors[] = {
    { "session_not_found", NGX_HTTP_NOT_FOUND, "no such session" },
    { NULL, 0, NULL }
};


static ngx_int_t
ngx_http_cartbot_session_handler(ngx_http_request_t *r)
{
    size_t                                n;
    u_char                               *p;
    ngx_int_t                             rc;
    ngx_str_t                             id;
    const char                           *key;
    ngx_http_cartbot_ctx_t               *ctx;
    ngx_http_cartbot_session_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_session_module);

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_GET
        ? !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        : !(r->method & NGX_HTTP_POST))
    {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed",
                                           "method not allowed here");
    }

    if (slcf->cartbot.db.sql_uri.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_session: no \"cartbot_session_db\" here");
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "no database configured");
    }

    ctx = ngx_http_cartbot_ctx_create(r, &ngx_http_cartbot_session_glue,
                                      sizeof(ngx_http_cartbot_session_ctx_t),
                                      ngx_http_cartbot_session_resume);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_VALIDATE) {
        rc = ngx_http_cartbot_read_json_body(r,
                                             ngx_http_cartbot_session_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_str_null(&id);

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_GET) {

        /* the last path segment: /session/{id} */

        p = r->uri.data + r->uri.len;

        while (p > r->uri.data && p[-1] != '/') {
            p--;
        }

        key = cartbot_surreal_record_key("user_session", (char *) p,
                                         r->uri.data + r->uri.len - p, &n);
        if (key == NULL) {
            return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_FOUND,
                                               "session_not_found",
                                               "no such session");
        }

        id.data = (u_char *) key;
        id.len = n;
    }

    rc = ngx_http_cartbot_session_start(r, id.len ? &id : NULL);

    if (rc != NGX_OK) {
        return ngx_http_cartbot_status_error(r, rc);
    }

    r->main->count++;

    return NGX_DONE;
}


/* validate: {"session_id": ...} for the caller of the subrequest */

static void
ngx_http_cartbot_session_body(ngx_http_request_t *r)
{
    char         err[128];
    size_t       n;
    yajl_val     body;
    ngx_int_t    rc;
    ngx_str_t    id;
    const char  *s, *key;

    body = ngx_http_cartbot_parse_body(r, err, sizeof(err));

    s = cartbot_json_get_string(body, "session_id");
    key = s ? cartbot_surreal_record_key("user_session", s, ngx_strlen(s),
                                         &n)
            : NULL;

    if (key == NULL) {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_session_id",
                                         "session_id must be a session id "
                                         "string");
        ngx_http_finalize_request(r, rc);
        return;
    }

    id.data = ngx_pnalloc(r->pool, n);
    if (id.data == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_memcpy(id.data, key, n);
    id.len = n;

    rc = ngx_http_cartbot_session_start(r, &id);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_cartbot_status_error(r, rc));
    }
}


static ngx_int_t
ngx_http_cartbot_session_start(ngx_http_request_t *r, ngx_str_t *session)
{
    u_char                               *p;
    ngx_str_t                             user, ua, ip;
    cartbot_mem_t                        *mem;
    cartbot_surreal_query_t               sq;
    ngx_http_cartbot_session_ctx_t       *ctx;
    ngx_http_cartbot_session_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_session_module);
    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_session_module);

    switch (ngx_http_cartbot_user(r, &slcf->cartbot, &user)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        return NGX_HTTP_UNAUTHORIZED;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_CREATE) {
        cartbot_surreal_query_init(&sq, mem,
                                   ngx_http_cartbot_session_create_sql);

        ngx_str_null(&ua);

        if (r->headers_in.user_agent) {
            ua = r->headers_in.user_agent->value;
            ua.len = ngx_min(ua.len, 256);
        }

        ip = r->connection->addr_text;

        cartbot_surreal_bind(&sq, "ua", (char *) ua.data, ua.len);
        cartbot_surreal_bind(&sq, "ip", (char *) ip.data, ip.len);

    } else {
        cartbot_surreal_query_init(&sq, mem,
                                   ngx_http_cartbot_session_get_sql);

        cartbot_surreal_bind(&sq, "sid", (char *) session->data,
                             session->len);

        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cartbot_surreal_bind(&sq, "idle", (char *) p,
                             ngx_sprintf(p, "%Ts", slcf->idle) - p);
    }

    cartbot_surreal_bind(&sq, "user", (char *) user.data, user.len);

    if (sq.failed) {
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx->query = ngx_http_cartbot_db_query(r, &ctx->ctx, &slcf->cartbot.db,
                                           &sq);
    if (ctx->query == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_cartbot_session_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx)
{
    ngx_int_t                             rc;
    yajl_val                              session;
    const char                           *status;
    cartbot_buf_t                         b;
    cartbot_mem_t                        *mem;
    ngx_http_cartbot_db_query_t          *q;
    ngx_http_cartbot_session_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_session_module);
    q = ((ngx_http_cartbot_session_ctx_t *) ctx)->query;

    if (q->error || q->result.outcome != CARTBOT_SURREAL_OK) {
        rc = ngx_http_cartbot_db_send_thrown(r, q,
                                             ngx_http_cartbot_session_errors);
        ngx_http_finalize_request(r, rc);
        return;
    }

    session = cartbot_surreal_last(&q->result);
    status = cartbot_json_get_string(session, "status");

    mem = ngx_http_cartbot_mem(r->pool);

    if (mem == NULL || status == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cartbot_buf_init(&b, mem, 512);

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_VALIDATE) {
        cartbot_buf_printf(&b, "{\"valid\":%s,\"session\":",
                           ngx_strcmp(status, "active") == 0 ? "true"
                                                              : "false");
        cartbot_json_add_value(&b, session);
        cartbot_buf_add_char(&b, '}');

    } else {
        cartbot_json_add_value(&b, session);
    }

    rc = ngx_http_cartbot_send_buf(r, slcf->op
                                      == NGX_HTTP_CARTBOT_SESSION_CREATE
                                      ? NGX_HTTP_CREATED : NGX_HTTP_OK,
                                   &b);

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_cartbot_session_wake(ngx_http_request_t *r)
{
    ngx_http_cartbot_wake(r, &ngx_cartbot_session_module);
}


static ngx_int_t
ngx_http_cartbot_session_query_handler(ngx_http_request_t *r)
{
    return ngx_http_cartbot_db_query_handler(r, &ngx_cartbot_session_module);
}


static void *
ngx_http_cartbot_session_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cartbot_session_loc_conf_t  *conf;

    conf = ngx_http_cartbot_create_loc_conf(cf,
                                sizeof(ngx_http_cartbot_session_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->idle = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_cartbot_session_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_cartbot_session_loc_conf_t *prev = parent;
    ngx_http_cartbot_session_loc_conf_t *conf = child;

    ngx_conf_merge_sec_value(conf->idle, prev->idle, 1800);

    return ngx_http_cartbot_merge_loc_conf(cf, &prev->cartbot,
                                           &conf->cartbot);
}


static char *
ngx_http_cartbot_session(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_session_loc_conf_t *slcf = conf;

    char                      *rv;
    ngx_http_core_loc_conf_t  *core;

    if (slcf->op) {
        return "is duplicate";
    }

    slcf->op = NGX_CONF_UNSET_UINT;

    rv = ngx_conf_set_enum_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    core = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    core->handler = ngx_http_cartbot_session_handler;

    return NGX_CONF_OK;
}
