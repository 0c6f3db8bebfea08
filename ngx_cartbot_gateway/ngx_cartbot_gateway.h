
/*
 * ngx_cartbot_gateway_module: the parts' shared declarations.
 */

#ifndef _NGX_CARTBOT_GATEWAY_H_INCLUDED_
#define _NGX_CARTBOT_GATEWAY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"
#include "cartbot_jwt.h"


#define NGX_HTTP_CARTBOT_AUTH_REGISTER  1
#define NGX_HTTP_CARTBOT_AUTH_LOGIN     2
#define NGX_HTTP_CARTBOT_AUTH_GUEST     3


/*
 * A token verified by this worker for a location's configuration: the
 * same bearer token comes back with every request of a shopper for as
 * long as it lives, and need not be verified again until it expires.
 */

#define NGX_HTTP_CARTBOT_JWT_CACHE  256

typedef struct {
    u_char                        *token;
    size_t                         len;
    void                          *conf;       /* the location's settings */
    time_t                         exp;        /* 0: no exp claim */
    cartbot_jwt_result_t           result;     /* owns header and claims */
    ngx_uint_t                     refs;       /* requests using it */
    unsigned                       dead:1;     /* evicted, freed at 0 refs */
} ngx_http_cartbot_jwt_cached_t;


typedef struct {
    ngx_int_t                      error_code_index;
    ngx_int_t                      error_message_index;
    ngx_int_t                      request_id_index;
    ngx_shm_zone_t                *stats;

    /* per worker: process memory, filled after the fork */
    ngx_http_cartbot_jwt_cached_t *jwt_cache[NGX_HTTP_CARTBOT_JWT_CACHE];
} ngx_http_cartbot_gateway_main_conf_t;


typedef struct {
    ngx_array_t                   *values;     /* ngx_http_complex_value_t */
    ngx_uint_t                     status;     /* 401 or 403 */
} ngx_http_cartbot_jwt_require_t;


typedef struct {
    ngx_http_cartbot_loc_conf_t    cartbot;

    /* cartbot_jwt: verification */
    ngx_str_t                      realm;      /* NULL data: unset */
    ngx_uint_t                     jwt;        /* 1 on, 0 off, unset */
    ngx_http_complex_value_t      *token;
    cartbot_jwt_keyset_t          *keys;
    ngx_array_t                   *issuers;    /* cartbot_str_t */
    ngx_array_t                   *audiences;  /* cartbot_str_t */
    ngx_array_t                   *requires;   /* ..._jwt_require_t */
    time_t                         leeway;
    size_t                         max_size;

    /* cartbot_limit: rate limits */
    ngx_array_t                   *limits;     /* ..._limit_t */
    ngx_flag_t                     limit_dry_run;
    ngx_uint_t                     limit_status;
    ngx_uint_t                     limit_headers;

    /* cartbot_health: 1 live (no I/O), 2 ready (cached probe) */
    ngx_uint_t                     health;
    ngx_msec_t                     health_cache;

    /* cartbot_stats: count this location's requests in the metrics */
    ngx_flag_t                     stats;

    /* cartbot_request_id: accept X-Request-Id, answer with it */
    ngx_flag_t                     request_id;

    /* cartbot_auth: shopper tokens */
    ngx_uint_t                     auth;
    cartbot_jwt_keyset_t          *signing;
    time_t                         token_ttl;
    ngx_str_t                      token_issuer;
} ngx_http_cartbot_gateway_loc_conf_t;


/* one per request: what the handlers and variables share */

typedef struct {
    ngx_http_cartbot_ctx_t         base;
    ngx_http_cartbot_db_query_t   *query;

    /* the token, verified once per request, on first need */
    cartbot_jwt_result_t           jwt;
    ngx_uint_t                     jwt_state;  /* 0 not yet, 1 done */
    ngx_uint_t                     jwt_missing;

    ngx_uint_t                     limit_status;   /* $cartbot_limit_status */

    /* shopper tokens */
    ngx_str_t                      username;
    ngx_str_t                      password;
} ngx_http_cartbot_gateway_ctx_t;


extern ngx_module_t  ngx_cartbot_gateway_module;


ngx_http_cartbot_gateway_ctx_t *ngx_http_cartbot_gateway_ctx(
    ngx_http_request_t *r);

/* why the gateway refused: $cartbot_error_code, $cartbot_error_message */
void ngx_http_cartbot_gateway_error(ngx_http_request_t *r, const char *code,
    const char *message);

/* ngx_cartbot_gateway_jwt.c */
void ngx_http_cartbot_jwt_cache_cleanup(void *data);
ngx_int_t ngx_http_cartbot_jwt_init(ngx_conf_t *cf);
ngx_int_t ngx_http_cartbot_jwt_add_variables(ngx_conf_t *cf);
char *ngx_http_cartbot_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_cartbot_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_cartbot_jwt_strings(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_cartbot_jwt_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void ngx_http_cartbot_jwt_merge(ngx_http_cartbot_gateway_loc_conf_t *prev,
    ngx_http_cartbot_gateway_loc_conf_t *conf);

/* ngx_cartbot_gateway_metrics.c */
ngx_int_t ngx_http_cartbot_metrics_init(ngx_conf_t *cf);
char *ngx_http_cartbot_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_cartbot_gateway_limit.c */
ngx_int_t ngx_http_cartbot_limit_init(ngx_conf_t *cf);
char *ngx_http_cartbot_limit_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_cartbot_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_cartbot_limit_merge(ngx_http_cartbot_gateway_loc_conf_t *prev,
    ngx_http_cartbot_gateway_loc_conf_t *conf);

/* ngx_cartbot_gateway_auth.c */
char *ngx_http_cartbot_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_cartbot_auth_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
cartbot_jwt_keyset_t *ngx_http_cartbot_gateway_load_key(ngx_conf_t *cf,
    cartbot_jwt_keyset_t *ks, ngx_str_t *value, ngx_uint_t n);


#endif /* _NGX_CARTBOT_GATEWAY_H_INCLUDED_ */
