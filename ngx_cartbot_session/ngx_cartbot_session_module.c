
/*
 * ngx_cartbot_session_module: the session service of Cartbot.
 *
 *     cartbot_session_db  /_cartbot/db/sql  signin=/_cartbot/db/signin
 *                    credentials=secrets/session.json;
 *     cartbot_session_db_query  "SurrealQL" [name=value ...];
 *
 * The database is reached through subrequests only (ngx_http_cartbot.h),
 * signed in as the session service account, which may write only the
 * session service's own tables.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"


typedef struct {
    ngx_http_cartbot_loc_conf_t   cartbot;
} ngx_http_cartbot_session_loc_conf_t;


static void ngx_http_cartbot_session_wake(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_session_query_handler(ngx_http_request_t *r);
static void *ngx_http_cartbot_session_create_loc_conf(ngx_conf_t *cf);


ngx_module_t  ngx_cartbot_session_module;


static ngx_http_cartbot_glue_t  ngx_http_cartbot_session_glue = {
    &ngx_cartbot_session_module,
    ngx_http_cartbot_session_wake,
    ngx_http_cartbot_session_query_handler,
    ngx_string("cartbot_session_db")
};


static ngx_command_t  ngx_http_cartbot_session_commands[] = {

    ngx_http_cartbot_db_commands("cartbot_session",
                                 ngx_http_cartbot_session_glue),

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
    ngx_http_cartbot_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_cartbot_session_module = {
    NGX_MODULE_V1,
    &ngx_http_cartbot_session_module_ctx,     /* module context */
    ngx_http_cartbot_session_commands,        /* module directives */
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
    return ngx_http_cartbot_create_loc_conf(cf,
                                 sizeof(ngx_http_cartbot_session_loc_conf_t));
}
