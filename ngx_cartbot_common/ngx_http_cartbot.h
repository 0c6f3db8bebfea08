
/*
 * Cartbot: nginx glue shared by the five modules.
 *
 * Every module links its own copy of this code (symbols stay local to
 * each .so), so nothing here may assume a particular module: the module
 * identifies itself with an ngx_http_cartbot_glue_t.
 */

#ifndef _NGX_HTTP_CARTBOT_H_INCLUDED_
#define _NGX_HTTP_CARTBOT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "cartbot_buf.h"
#include "cartbot_json.h"
#include "cartbot_surreal.h"


/* token slots per module zone: one per distinct database credential */
#define NGX_HTTP_CARTBOT_DB_SLOTS      8
#define NGX_HTTP_CARTBOT_DB_TOKEN_MAX  4096
#define NGX_HTTP_CARTBOT_DB_ZONE_SIZE  (128 * 1024)


typedef struct ngx_http_cartbot_ctx_s       ngx_http_cartbot_ctx_t;
typedef struct ngx_http_cartbot_call_s      ngx_http_cartbot_call_t;
typedef struct ngx_http_cartbot_db_query_s  ngx_http_cartbot_db_query_t;

typedef void (*ngx_http_cartbot_resume_pt)(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);


/*
 * What a module tells the glue about itself, once, as static data:
 * the module (for r->ctx and the shared zone tag), its wake handler
 * (a one-line wrapper around ngx_http_cartbot_wake()), its content handler
 * for "cartbot_<module>_db_query" and the name of its token cache zone.
 */

typedef struct {
    ngx_module_t               *module;
    ngx_http_event_handler_pt   wake;
    ngx_http_handler_pt         query_handler;
    ngx_str_t                   zone_name;
} ngx_http_cartbot_glue_t;


/* counters in shared memory (ngx_http_cartbot_stats.c) */

#define NGX_HTTP_CARTBOT_STATS_SIZE      (256 * 1024)
#define NGX_HTTP_CARTBOT_STATS_NAME      64
#define NGX_HTTP_CARTBOT_STATS_ROUTES    64
#define NGX_HTTP_CARTBOT_STATS_DEPS      16
#define NGX_HTTP_CARTBOT_STATS_LIMITS    16
#define NGX_HTTP_CARTBOT_STATS_REASONS   16
#define NGX_HTTP_CARTBOT_STATS_BUCKETS   12     /* the last is +Inf */

#define NGX_HTTP_CARTBOT_STATS_AUTH      1
#define NGX_HTTP_CARTBOT_STATS_LIMIT     2
#define NGX_HTTP_CARTBOT_STATS_TOKENS    3

#define NGX_HTTP_CARTBOT_DEP_SURREALDB   0
#define NGX_HTTP_CARTBOT_DEP_GROQ        1

#define NGX_HTTP_CARTBOT_OUTCOME_OK           0
#define NGX_HTTP_CARTBOT_OUTCOME_ERROR        1
#define NGX_HTTP_CARTBOT_OUTCOME_TIMEOUT      2
#define NGX_HTTP_CARTBOT_OUTCOME_UNAVAILABLE  3
#define NGX_HTTP_CARTBOT_OUTCOME_REFUSED      4   /* the breaker was open */
#define NGX_HTTP_CARTBOT_OUTCOMES             5

#define NGX_HTTP_CARTBOT_BREAKER_CLOSED     0
#define NGX_HTTP_CARTBOT_BREAKER_OPEN       1
#define NGX_HTTP_CARTBOT_BREAKER_HALF_OPEN  2


typedef struct {
    u_char                             name[NGX_HTTP_CARTBOT_STATS_NAME];
    size_t                             len;
} ngx_http_cartbot_stats_name_t;


typedef struct {
    ngx_atomic_t                       buckets[NGX_HTTP_CARTBOT_STATS_BUCKETS];
    ngx_atomic_t                       sum_ms;
    ngx_atomic_t                       count;
} ngx_http_cartbot_stats_histogram_t;


typedef struct {
    ngx_http_cartbot_stats_name_t      name;
    ngx_atomic_t                       status[5];     /* 1xx .. 5xx */
    ngx_http_cartbot_stats_histogram_t duration;
} ngx_http_cartbot_stats_route_t;


typedef struct {
    ngx_http_cartbot_stats_name_t      name;          /* the location */
    ngx_uint_t                         kind;          /* ..._DEP_* */
    ngx_atomic_t                       outcomes[NGX_HTTP_CARTBOT_OUTCOMES];
    ngx_http_cartbot_stats_histogram_t duration;

    /* the circuit breaker */
    ngx_atomic_t                       state;
    ngx_atomic_t                       failures;      /* in a row */
    ngx_atomic_t                       trips;
    ngx_atomic_t                       probing;
    ngx_msec_t                         opened_at;
    ngx_msec_t                         open_for;
} ngx_http_cartbot_stats_dep_t;


typedef struct {
    ngx_http_cartbot_stats_name_t      name;          /* the limit zone */
    ngx_atomic_t                       results[3];    /* passed, rejected,
                                                         dry run */
} ngx_http_cartbot_stats_limit_t;


typedef struct {
    ngx_atomic_t                       lock;
    ngx_http_cartbot_stats_route_t     routes[NGX_HTTP_CARTBOT_STATS_ROUTES];
    ngx_http_cartbot_stats_route_t     other_route;
    ngx_http_cartbot_stats_dep_t       deps[NGX_HTTP_CARTBOT_STATS_DEPS];
    ngx_http_cartbot_stats_limit_t     limits[NGX_HTTP_CARTBOT_STATS_LIMITS];
    ngx_atomic_t                       auth_failures[
                                           NGX_HTTP_CARTBOT_STATS_REASONS];
    ngx_atomic_t                       llm_tokens[2]; /* prompt, completion */

    /* the last readiness probe, shared so that probes do not stampede */
    ngx_msec_t                         health_at;
    ngx_atomic_t                       health_probing;
    ngx_atomic_t                       health_ok;
    ngx_msec_t                         health_latency;
    u_char                             health_error[32];
} ngx_http_cartbot_stats_t;


extern ngx_msec_t  ngx_http_cartbot_stats_buckets[];


/* "cartbot_<module>_db": where and how a module reaches SurrealDB */

typedef struct {
    ngx_str_t                   sql_uri;
    ngx_str_t                   signin_uri;
    ngx_str_t                   credentials;    /* the /signin JSON body */
    ngx_str_t                   ns;
    ngx_str_t                   db;
    ngx_uint_t                  retries;
    uint32_t                    key;            /* token slot key */
    ngx_shm_zone_t             *zone;
    ngx_http_cartbot_glue_t    *glue;

    /* metrics and the circuit breaker of sql_uri */
    ngx_shm_zone_t             *stats;
    ngx_uint_t                  breaker_failures;
    ngx_msec_t                  breaker_open;
    ngx_msec_t                  breaker_max;
} ngx_http_cartbot_db_conf_t;


/* "cartbot_<module>_db_query": one query configured in nginx.conf */

typedef struct {
    ngx_str_t                   name;
    ngx_http_complex_value_t    value;
} ngx_http_cartbot_db_var_t;


typedef struct {
    ngx_str_t                   sql;
    ngx_array_t                *vars;           /* ngx_http_cartbot_db_var_t */
} ngx_http_cartbot_db_query_conf_t;


/* a module's location configuration starts with this */

typedef struct {
    ngx_http_cartbot_db_conf_t         db;
    ngx_array_t                       *queries;  /* ..._db_query_conf_t */
    ngx_http_complex_value_t          *user;     /* who is asking */
} ngx_http_cartbot_loc_conf_t;


/*
 * The directives every module has: "<prefix>_db", "<prefix>_db_query" and
 * "<prefix>_user" (the caller's identity, e.g. $jwt_claim_sub).
 */

#define ngx_http_cartbot_db_commands(prefix, glue)                           \
    { ngx_string(prefix "_db"),                                              \
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE, \
      ngx_http_cartbot_db_set,                                               \
      NGX_HTTP_LOC_CONF_OFFSET,                                              \
      offsetof(ngx_http_cartbot_loc_conf_t, db),                             \
      &glue },                                                               \
                                                                             \
    { ngx_string(prefix "_db_query"),                                        \
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,                                      \
      ngx_http_cartbot_db_query_set,                                         \
      NGX_HTTP_LOC_CONF_OFFSET,                                              \
      offsetof(ngx_http_cartbot_loc_conf_t, queries),                        \
      &glue },                                                               \
                                                                             \
    { ngx_string(prefix "_user"),                                            \
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1, \
      ngx_http_set_complex_value_slot,                                       \
      NGX_HTTP_LOC_CONF_OFFSET,                                              \
      offsetof(ngx_http_cartbot_loc_conf_t, user),                           \
      NULL }


/* what a THROWn "code: detail" from a module's query answers */

typedef struct {
    const char                        *code;
    ngx_uint_t                         status;
    const char                        *message;  /* NULL: the detail */
} ngx_http_cartbot_db_thrown_t;


/* lanes: one write at a time per key within a worker */

typedef struct {
    ngx_rbtree_t                       rbtree;
    ngx_rbtree_node_t                  sentinel;
} ngx_http_cartbot_lanes_t;


typedef struct {
    ngx_queue_t                        queue;
    ngx_http_request_t                *request;
    ngx_http_event_handler_pt          go;
    void                              *lane;
    unsigned                           holding:1;
} ngx_http_cartbot_lane_waiter_t;


/* a call of another module's internal API (ngx_http_cartbot_call.c) */

struct ngx_http_cartbot_call_s {
    ngx_http_cartbot_ctx_t            *ctx;
    ngx_http_request_t                *request;
    ngx_uint_t                         status;
    ngx_str_t                          body;
    unsigned                           done:1;
};


/* a module's request context starts with this */

struct ngx_http_cartbot_ctx_s {
    ngx_http_cartbot_glue_t      *glue;
    ngx_http_cartbot_resume_pt    resume;
    ngx_uint_t                    pending;
    ngx_http_cartbot_db_query_t  *queries;
    void                         *data;
    unsigned                      responded:1;
};


struct ngx_http_cartbot_db_query_s {
    ngx_http_cartbot_db_query_t  *next;
    ngx_http_cartbot_db_conf_t   *conf;
    ngx_http_cartbot_ctx_t       *ctx;

    ngx_str_t                     sql;
    ngx_str_t                     args;

    ngx_uint_t                    state;
    ngx_uint_t                    attempts;
    ngx_uint_t                    seq;
    ngx_str_t                     token;
    ngx_msec_t                    start;
    unsigned                      resigned:1;

    /* the answer of the subrequest in flight */
    ngx_int_t                     sr_rc;
    ngx_uint_t                    sr_status;
    ngx_str_t                     sr_body;
    unsigned                      sr_done:1;

    /* the outcome, once state is done */
    cartbot_surreal_result_t      result;
    ngx_uint_t                    error;        /* HTTP status, or 0 */
    const char                   *error_code;
    const char                   *error_message;
    ngx_msec_t                    elapsed;

    /* metrics and breaker of the location; the breaker's one probe */
    ngx_http_cartbot_stats_dep_t *dep;
    unsigned                      probe:1;
    time_t                        retry_after;   /* breaker open: wait */

    /* a conflicting write waits here before it is tried again */
    ngx_event_t                   backoff;
    ngx_http_request_t           *request;
};


/* memory and JSON */
cartbot_mem_t *ngx_http_cartbot_mem(ngx_pool_t *pool);
ngx_int_t ngx_http_cartbot_json_cleanup(ngx_pool_t *pool, yajl_val v);
yajl_val ngx_http_cartbot_parse_body(ngx_http_request_t *r, char *err,
    size_t errlen);
ngx_int_t ngx_http_cartbot_read_json_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler);
ngx_int_t ngx_http_cartbot_unescape_arg(ngx_http_request_t *r,
    ngx_str_t *arg);

/* responses */
ngx_int_t ngx_http_cartbot_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);
ngx_int_t ngx_http_cartbot_send_typed(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, u_char *data, size_t len);
ngx_int_t ngx_http_cartbot_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    cartbot_buf_t *b);
ngx_int_t ngx_http_cartbot_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
void ngx_http_cartbot_request_id(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_http_cartbot_status_error(ngx_http_request_t *r,
    ngx_int_t status);

/* a POST subrequest with headers of our own, in memory or streamed */
ngx_http_request_body_t *ngx_http_cartbot_request_body(ngx_http_request_t *r,
    ngx_str_t *body);
ngx_int_t ngx_http_cartbot_post(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_str_t *args, ngx_list_t *headers, ngx_str_t *body,
    ngx_http_post_subrequest_t *ps, ngx_uint_t streamed,
    ngx_http_request_t **psr);
ngx_int_t ngx_http_cartbot_add_header(ngx_list_t *headers, const char *key,
    ngx_str_t *value);

/* request life cycle around subrequests */
ngx_http_cartbot_ctx_t *ngx_http_cartbot_ctx_create(ngx_http_request_t *r,
    ngx_http_cartbot_glue_t *glue, size_t size,
    ngx_http_cartbot_resume_pt resume);
void ngx_http_cartbot_wake(ngx_http_request_t *r, ngx_module_t *module);
void ngx_http_cartbot_check_broken_connection(ngx_http_request_t *r);

/* the SurrealDB client */
char *ngx_http_cartbot_db_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_cartbot_db_advance(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);
ngx_http_cartbot_db_query_t *ngx_http_cartbot_db_query(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx, ngx_http_cartbot_db_conf_t *conf,
    cartbot_surreal_query_t *q);
ngx_int_t ngx_http_cartbot_db_send_error(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q);
ngx_int_t ngx_http_cartbot_db_send_thrown(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q, ngx_http_cartbot_db_thrown_t *map);

/* "cartbot_<module>_db_query" */
char *ngx_http_cartbot_db_query_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_cartbot_db_query_handler(ngx_http_request_t *r,
    ngx_module_t *module);

/* the caller's identity; NGX_DECLINED when there is none */
ngx_int_t ngx_http_cartbot_user(ngx_http_request_t *r,
    ngx_http_cartbot_loc_conf_t *lcf, ngx_str_t *user);

/* calls of other modules */
ngx_int_t ngx_http_cartbot_call_init(ngx_conf_t *cf);
ngx_http_cartbot_call_t *ngx_http_cartbot_call(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx, ngx_str_t *uri, ngx_str_t *args,
    ngx_uint_t method, ngx_str_t *body);

/* lanes */
void ngx_http_cartbot_lanes_init(ngx_http_cartbot_lanes_t *lanes);
ngx_int_t ngx_http_cartbot_lane_enter(ngx_http_request_t *r,
    ngx_http_cartbot_lanes_t *lanes, ngx_str_t *key,
    ngx_http_cartbot_lane_waiter_t *w, ngx_http_event_handler_pt go);
void ngx_http_cartbot_lane_leave(ngx_http_cartbot_lane_waiter_t *w);

/* counters and breakers */
ngx_int_t ngx_http_cartbot_stats_add(ngx_conf_t *cf, ngx_shm_zone_t **zone);
ngx_http_cartbot_stats_t *ngx_http_cartbot_stats(ngx_shm_zone_t *zone);
void ngx_http_cartbot_stats_request(ngx_shm_zone_t *zone, ngx_str_t *route,
    ngx_uint_t status, ngx_msec_t ms);
ngx_http_cartbot_stats_dep_t *ngx_http_cartbot_stats_dep(
    ngx_shm_zone_t *zone, ngx_str_t *location, ngx_uint_t kind);
void ngx_http_cartbot_stats_upstream(ngx_http_cartbot_stats_dep_t *dep,
    ngx_uint_t outcome, ngx_msec_t ms);
void ngx_http_cartbot_stats_count(ngx_shm_zone_t *zone, ngx_uint_t what,
    ngx_uint_t index, ngx_str_t *name, ngx_atomic_int_t n);
ngx_int_t ngx_http_cartbot_breaker_allow(ngx_http_cartbot_stats_dep_t *dep,
    ngx_uint_t *probe, time_t *retry_after);
void ngx_http_cartbot_breaker_report(ngx_http_cartbot_stats_dep_t *dep,
    ngx_uint_t probe, ngx_uint_t failed, ngx_uint_t threshold,
    ngx_msec_t base, ngx_msec_t ceiling);

/* "table:key" or "key" -> key, copied into the pool; NGX_DECLINED if not */
ngx_int_t ngx_http_cartbot_record_key(ngx_http_request_t *r,
    const char *table, const char *text, size_t len, ngx_str_t *key);

/* a directive choosing what a location does: an enum and its handler */
char *ngx_http_cartbot_set_op(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf, ngx_http_handler_pt handler);

/* configuration of the common part */
void *ngx_http_cartbot_create_loc_conf(ngx_conf_t *cf, size_t size);
char *ngx_http_cartbot_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


#endif /* _NGX_HTTP_CARTBOT_H_INCLUDED_ */
