
/*
 * Cartbot: the SurrealDB client of every module.
 *
 * A query is a POST subrequest to the internal location named by
 * "cartbot_<module>_db", which proxy_passes to SurrealDB's /sql; the answer
 * is captured in memory.  The service-account token comes from a second
 * internal location (SurrealDB's /signin), is cached in a shared memory
 * zone for all workers, refreshed before it expires and after a 401.
 * Write conflicts are retried a bounded number of times.
 *
 *     cartbot_cart_db  /_cartbot/db/sql  signin=/_cartbot/db/signin
 *                      credentials=/etc/cartbot/secrets/cart.json
 *                      retries=5;
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"
#include "cartbot_jwt.h"


#define NGX_HTTP_CARTBOT_DB_SIGNIN     1
#define NGX_HTTP_CARTBOT_DB_SQL        2
#define NGX_HTTP_CARTBOT_DB_DONE       3

/* a token is not handed out when it expires sooner than this */
#define NGX_HTTP_CARTBOT_DB_MARGIN     30
/* one request at a time renews a token that is still valid */
#define NGX_HTTP_CARTBOT_DB_RENEWING   10
#define NGX_HTTP_CARTBOT_DB_MAX_CREDS  4096


typedef struct {
    uint32_t                       key;
    time_t                         expires;
    time_t                         renew_at;
    time_t                         renewing;
    size_t                         len;
    u_char                         token[NGX_HTTP_CARTBOT_DB_TOKEN_MAX];
} ngx_http_cartbot_db_slot_t;


typedef struct {
    ngx_http_cartbot_db_slot_t     slots[NGX_HTTP_CARTBOT_DB_SLOTS];
} ngx_http_cartbot_db_shctx_t;


typedef struct {
    ngx_http_cartbot_db_shctx_t   *sh;
    ngx_slab_pool_t               *shpool;
} ngx_http_cartbot_db_zone_t;


/* post_subrequest data: which query, and which of its subrequests */

typedef struct {
    ngx_http_cartbot_db_query_t   *query;
    ngx_uint_t                     seq;
} ngx_http_cartbot_db_sr_t;


typedef struct {
    ngx_http_cartbot_ctx_t         ctx;
    ngx_uint_t                     nqueries;
    ngx_http_cartbot_db_query_t  **queries;
} ngx_http_cartbot_db_query_ctx_t;


static ngx_int_t ngx_http_cartbot_db_issue(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q, ngx_uint_t state);
static ngx_int_t ngx_http_cartbot_db_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc);
static ngx_int_t ngx_http_cartbot_db_step(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q);
static ngx_int_t ngx_http_cartbot_db_signed_in(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q);
static ngx_int_t ngx_http_cartbot_db_answered(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q);
static void ngx_http_cartbot_db_finish(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q, ngx_uint_t status, const char *code,
    const char *message);
static void ngx_http_cartbot_db_transport_error(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q);
static ngx_int_t ngx_http_cartbot_db_retry_later(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q);
static ngx_int_t ngx_http_cartbot_db_defer(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q, ngx_msec_t delay);
static void ngx_http_cartbot_db_retry(ngx_event_t *ev);
static void ngx_http_cartbot_db_cancel_retry(void *data);

static ngx_int_t ngx_http_cartbot_db_token_get(ngx_http_cartbot_db_conf_t *conf,
    ngx_pool_t *pool, ngx_str_t *token);
static void ngx_http_cartbot_db_token_put(ngx_http_cartbot_db_conf_t *conf,
    ngx_str_t *token, time_t expires, time_t issued);
static void ngx_http_cartbot_db_token_drop(ngx_http_cartbot_db_conf_t *conf,
    ngx_str_t *token);
static ngx_http_cartbot_db_slot_t *ngx_http_cartbot_db_slot(
    ngx_http_cartbot_db_shctx_t *sh, uint32_t key, ngx_uint_t create);
static ngx_int_t ngx_http_cartbot_db_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static char *ngx_http_cartbot_db_read_credentials(ngx_conf_t *cf,
    ngx_http_cartbot_db_conf_t *conf, ngx_str_t *path);

static void ngx_http_cartbot_db_query_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);




ngx_http_cartbot_db_query_t *
ngx_http_cartbot_db_query(ngx_http_request_t *r, ngx_http_cartbot_ctx_t *ctx,
    ngx_http_cartbot_db_conf_t *conf, cartbot_surreal_query_t *sq)
{
    ngx_uint_t                    state, probe;
    ngx_http_cartbot_db_query_t  *q;

    if (sq->failed || sq->sql.failed || sq->args.failed) {
        return NULL;
    }

    q = ngx_pcalloc(r->pool, sizeof(ngx_http_cartbot_db_query_t));
    if (q == NULL) {
        return NULL;
    }

    q->conf = conf;
    q->ctx = ctx;
    q->sql.data = (u_char *) sq->sql.data;
    q->sql.len = sq->sql.len;
    q->args.data = (u_char *) sq->args.data;
    q->args.len = sq->args.len;
    q->start = ngx_current_msec;

    q->dep = ngx_http_cartbot_stats_dep(conf->stats, &conf->sql_uri,
                                        NGX_HTTP_CARTBOT_DEP_SURREALDB);

    if (ngx_http_cartbot_breaker_allow(q->dep, &probe, &q->retry_after)
        == NGX_BUSY)
    {
        /* the circuit is open: fail fast, answered on the next turn */

        ngx_http_cartbot_stats_upstream(q->dep,
                                        NGX_HTTP_CARTBOT_OUTCOME_REFUSED, 0);

        q->state = NGX_HTTP_CARTBOT_DB_DONE;
        q->error = NGX_HTTP_SERVICE_UNAVAILABLE;
        q->error_code = "database_unavailable";
        q->error_message = "the database is failing; not trying for now";

        if (ngx_http_cartbot_db_defer(r, q, 0) != NGX_OK) {
            return NULL;
        }

        q->next = ctx->queries;
        ctx->queries = q;
        ctx->responded = 0;

        r->write_event_handler = ctx->glue->wake;
        r->read_event_handler = ngx_http_cartbot_check_broken_connection;

        return q;
    }

    q->probe = probe;

    state = NGX_HTTP_CARTBOT_DB_SQL;

    if (conf->credentials.len
        && ngx_http_cartbot_db_token_get(conf, r->pool, &q->token) != NGX_OK)
    {
        state = NGX_HTTP_CARTBOT_DB_SIGNIN;
    }

    if (ngx_http_cartbot_db_issue(r, q, state) != NGX_OK) {
        return NULL;
    }

    q->next = ctx->queries;
    ctx->queries = q;
    ctx->pending++;
    ctx->responded = 0;

    /* from now on the request is woken by its subrequests */

    r->write_event_handler = ctx->glue->wake;
    r->read_event_handler = ngx_http_cartbot_check_broken_connection;

    return q;
}


/*
 * Everything is allocated before ngx_http_subrequest(): a failure leaves
 * no half-built subrequest behind.
 */

static ngx_int_t
ngx_http_cartbot_db_issue(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q, ngx_uint_t state)
{
    ngx_str_t                    *uri, *args, *body, value, id, empty;
    ngx_list_t                    headers;
    ngx_http_request_t           *sr;
    ngx_http_cartbot_db_sr_t     *srd;
    ngx_http_cartbot_db_conf_t   *conf;
    ngx_http_post_subrequest_t   *ps;

    conf = q->conf;

    ngx_str_null(&empty);

    if (state == NGX_HTTP_CARTBOT_DB_SIGNIN) {
        uri = &conf->signin_uri;
        args = &empty;
        body = &conf->credentials;

    } else {
        uri = &conf->sql_uri;
        args = &q->args;
        body = &q->sql;
    }

    if (ngx_list_init(&headers, r->pool, 8, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "application/json");

    if (ngx_http_cartbot_add_header(&headers, "Accept", &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (state == NGX_HTTP_CARTBOT_DB_SIGNIN) {
        ngx_str_set(&value, "application/json");

    } else {
        ngx_str_set(&value, "text/plain; charset=utf-8");
    }

    if (ngx_http_cartbot_add_header(&headers, "Content-Type", &value)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (state == NGX_HTTP_CARTBOT_DB_SQL && q->token.len) {
        value.len = sizeof("Bearer ") - 1 + q->token.len;
        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(value.data, "Bearer %V", &q->token);

        if (ngx_http_cartbot_add_header(&headers, "Authorization", &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (conf->ns.len
        && (ngx_http_cartbot_add_header(&headers, "surreal-ns", &conf->ns)
            != NGX_OK
            || ngx_http_cartbot_add_header(&headers, "surreal-db",
                                              &conf->db)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    ngx_http_cartbot_request_id(r, &id);

    if (id.len
        && ngx_http_cartbot_add_header(&headers, "X-Request-Id", &id)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    srd = ngx_palloc(r->pool, sizeof(ngx_http_cartbot_db_sr_t));
    if (srd == NULL) {
        return NGX_ERROR;
    }

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    srd->query = q;
    srd->seq = q->seq + 1;

    ps->handler = ngx_http_cartbot_db_done;
    ps->data = srd;

    if (ngx_http_cartbot_post(r, uri, args, &headers, body, ps, 0, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    q->seq++;
    q->state = state;
    q->sr_done = 0;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cartbot db: %s \"%V\" #%ui",
                   state == NGX_HTTP_CARTBOT_DB_SIGNIN ? "signin" : "sql",
                   uri, q->seq);

    return NGX_OK;
}


/*
 * post_subrequest: may run more than once for one subrequest, and for a
 * subrequest that a newer one has replaced; only the first call for the
 * current one counts.  Errors are recorded and NGX_OK returned, so nginx
 * neither renders an error page into the buffer nor ends the client
 * request; a client that went away still ends it.
 */

static ngx_int_t
ngx_http_cartbot_db_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_cartbot_db_sr_t  *srd = data;

    ngx_buf_t                    *b;
    ngx_http_cartbot_db_query_t  *q;

    q = srd->query;

    if (srd->seq != q->seq || q->sr_done
        || q->state == NGX_HTTP_CARTBOT_DB_DONE)
    {
        return NGX_OK;
    }

    if (rc == NGX_AGAIN) {
        return rc;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "cartbot db: subrequest #%ui done rc:%i status:%ui",
                   srd->seq, rc, sr->headers_out.status);

    q->sr_done = 1;
    q->sr_rc = rc;
    q->sr_status = sr->headers_out.status;

    ngx_str_null(&q->sr_body);

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || rc == NGX_HTTP_REQUEST_TIME_OUT
        || rc == NGX_HTTP_CLOSE
        || sr->connection->error)
    {
        return rc;
    }

    /* since 1.13.10 the in-memory answer is in sr->out, one buffer */

    if (sr->out && sr->out->buf) {
        b = sr->out->buf;
        q->sr_body.data = b->pos;
        q->sr_body.len = b->last - b->pos;
    }

    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return NGX_OK;
    }

    return rc;
}


ngx_int_t
ngx_http_cartbot_db_advance(ngx_http_request_t *r, ngx_http_cartbot_ctx_t *ctx)
{
    ngx_http_cartbot_db_query_t  *q;

    for (q = ctx->queries; q; q = q->next) {

        if (q->state == NGX_HTTP_CARTBOT_DB_DONE || !q->sr_done) {
            continue;
        }

        q->sr_done = 0;

        if (ngx_http_cartbot_db_step(r, q) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_db_step(ngx_http_request_t *r, ngx_http_cartbot_db_query_t *q)
{
    /* no answer at all: refused, reset, timed out */

    if (q->sr_rc == NGX_ERROR || q->sr_rc >= NGX_HTTP_SPECIAL_RESPONSE
        || q->sr_status == 0)
    {
        ngx_http_cartbot_db_transport_error(r, q);
        return NGX_OK;
    }

    if (q->state == NGX_HTTP_CARTBOT_DB_SIGNIN) {
        return ngx_http_cartbot_db_signed_in(r, q);
    }

    return ngx_http_cartbot_db_answered(r, q);
}


static ngx_int_t
ngx_http_cartbot_db_signed_in(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q)
{
    char            err[64];
    time_t          expires, issued;
    yajl_val        answer, claims;
    long long       n;
    const char     *token;
    cartbot_mem_t  *mem;

    if (q->sr_status == NGX_HTTP_UNAUTHORIZED
        || q->sr_status == NGX_HTTP_BAD_REQUEST
        || q->sr_status == NGX_HTTP_FORBIDDEN)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot db: signin at \"%V\" refused with %ui: "
                      "check the service credentials",
                      &q->conf->signin_uri, q->sr_status);

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_SERVICE_UNAVAILABLE,
                                   "database_auth_failed",
                                   "the database refused the service "
                                   "credentials");
        return NGX_OK;
    }

    answer = NULL;

    if (q->sr_status == NGX_HTTP_OK) {
        answer = cartbot_json_parse((const char *) q->sr_body.data,
                                    q->sr_body.len, err, sizeof(err));
        if (ngx_http_cartbot_json_cleanup(r->pool, answer) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    token = cartbot_surreal_signin_token(answer);

    if (token == NULL || ngx_strlen(token) >= NGX_HTTP_CARTBOT_DB_TOKEN_MAX) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot db: signin at \"%V\" answered %ui without "
                      "a usable token", &q->conf->signin_uri, q->sr_status);

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_BAD_GATEWAY,
                                   "database_protocol",
                                   "the database answered the sign-in "
                                   "in an unexpected way");
        return NGX_OK;
    }

    q->token.len = ngx_strlen(token);
    q->token.data = ngx_pnalloc(r->pool, q->token.len);
    if (q->token.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(q->token.data, token, q->token.len);

    /* SurrealDB's own token: its claims only tell us when to renew it */

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    claims = cartbot_jwt_peek_claims(mem, token, q->token.len);

    expires = ngx_time() + 300;
    issued = ngx_time();

    if (cartbot_json_get_int(claims, "exp", &n) == 0) {
        expires = (time_t) n;
    }

    if (cartbot_json_get_int(claims, "iat", &n) == 0) {
        issued = (time_t) n;
    }

    cartbot_json_free(claims);

    ngx_http_cartbot_db_token_put(q->conf, &q->token, expires, issued);

    return ngx_http_cartbot_db_issue(r, q, NGX_HTTP_CARTBOT_DB_SQL);
}


static ngx_int_t
ngx_http_cartbot_db_answered(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q)
{
    cartbot_mem_t              *mem;
    cartbot_surreal_outcome_e   outcome;

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    outcome = cartbot_surreal_parse(&q->result, mem, q->sr_status,
                                    (const char *) q->sr_body.data,
                                    q->sr_body.len);

    if (ngx_http_cartbot_json_cleanup(r->pool, q->result.root) != NGX_OK) {
        return NGX_ERROR;
    }

    switch (outcome) {

    case CARTBOT_SURREAL_OK:
    case CARTBOT_SURREAL_STATEMENT:
        ngx_http_cartbot_db_finish(r, q, 0, NULL, NULL);
        return NGX_OK;

    case CARTBOT_SURREAL_AUTH:

        if (q->conf->credentials.len && !q->resigned) {
            /* expired, revoked, or the access method was redefined */
            q->resigned = 1;
            ngx_http_cartbot_db_token_drop(q->conf, &q->token);
            return ngx_http_cartbot_db_issue(r, q, NGX_HTTP_CARTBOT_DB_SIGNIN);
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot db: \"%V\" answered 401", &q->conf->sql_uri);

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_SERVICE_UNAVAILABLE,
                                   "database_auth_failed",
                                   "the database refused the service "
                                   "credentials");
        return NGX_OK;

    case CARTBOT_SURREAL_CONFLICT:

        if (q->attempts < q->conf->retries) {
            q->attempts++;

            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "cartbot db: write conflict, retry %ui of %ui",
                          q->attempts, q->conf->retries);

            return ngx_http_cartbot_db_retry_later(r, q);
        }

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_CONFLICT, "conflict",
                                   "a concurrent change got in the way; "
                                   "please try again");
        return NGX_OK;

    case CARTBOT_SURREAL_BAD_REQUEST:

        /* our own query text is wrong: a bug, not the client's fault */

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot db: query refused: %s", q->result.message);

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "internal_error",
                                   "the query could not be run");
        return NGX_OK;

    case CARTBOT_SURREAL_UNAVAILABLE:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot db: \"%V\" answered %ui",
                      &q->conf->sql_uri, q->sr_status);

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_SERVICE_UNAVAILABLE,
                                   "database_unavailable",
                                   "the database is unavailable");
        return NGX_OK;

    default: /* FORBIDDEN, PROTOCOL */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot db: \"%V\" answered %ui: %s",
                      &q->conf->sql_uri, q->sr_status, q->result.message);

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_BAD_GATEWAY,
                                   "database_protocol",
                                   "the database answered in an "
                                   "unexpected way");
        return NGX_OK;
    }
}


/*
 * Conflicting writers that retry at once collide again: wait a random
 * time that doubles with each attempt (4 ms, 8 ms, ... up to 1 s).
 */

static ngx_int_t
ngx_http_cartbot_db_retry_later(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q)
{
    ngx_msec_t  cap;

    cap = (ngx_msec_t) 4 << ngx_min(q->attempts, 8);

    return ngx_http_cartbot_db_defer(r, q, 1 + (ngx_msec_t) ngx_random() % cap);
}


/*
 * Runs the query's next step from a timer: a retry of a conflicting
 * write, or (state done) just waking the request to see a query that
 * failed fast.  The timer dies with the request.
 */

static ngx_int_t
ngx_http_cartbot_db_defer(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q, ngx_msec_t delay)
{
    ngx_pool_cleanup_t  *cln;

    if (q->request == NULL) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_cartbot_db_cancel_retry;
        cln->data = q;

        q->request = r;
        q->backoff.handler = ngx_http_cartbot_db_retry;
        q->backoff.data = q;
        q->backoff.log = r->connection->log;
    }

    /* nothing is in flight for this query while it waits */
    q->sr_done = 0;

    ngx_add_timer(&q->backoff, delay);

    return NGX_OK;
}


static void
ngx_http_cartbot_db_retry(ngx_event_t *ev)
{
    ngx_http_cartbot_db_query_t *q = ev->data;

    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = q->request;
    c = r->connection;

    if (q->state == NGX_HTTP_CARTBOT_DB_DONE) {
        /* failed fast: let the request see it */
        ngx_http_post_request(r, NULL);

    } else if (ngx_http_cartbot_db_issue(r, q, NGX_HTTP_CARTBOT_DB_SQL)
               != NGX_OK)
    {
        q->ctx->responded = 1;
        ngx_http_finalize_request(r, NGX_ERROR);
    }

    /* a subrequest made outside the request's own events must be run */

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_cartbot_db_cancel_retry(void *data)
{
    ngx_http_cartbot_db_query_t *q = data;

    if (q->backoff.timer_set) {
        ngx_del_timer(&q->backoff);
    }
}


static void
ngx_http_cartbot_db_transport_error(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q)
{
    ngx_str_t  *uri;

    uri = (q->state == NGX_HTTP_CARTBOT_DB_SIGNIN) ? &q->conf->signin_uri
                                                   : &q->conf->sql_uri;

    if (q->sr_rc == NGX_HTTP_GATEWAY_TIME_OUT) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot db: \"%V\" timed out", uri);

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_GATEWAY_TIME_OUT,
                                   "database_timeout",
                                   "the database did not answer in time");
        return;
    }

    if (q->sr_rc == NGX_HTTP_NOT_FOUND) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot db: no location \"%V\"", uri);

        ngx_http_cartbot_db_finish(r, q, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "internal_error",
                                   "the database location is missing");
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "cartbot db: \"%V\" failed (rc:%i status:%ui)",
                  uri, q->sr_rc, q->sr_status);

    ngx_http_cartbot_db_finish(r, q, NGX_HTTP_SERVICE_UNAVAILABLE,
                               "database_unavailable",
                               "the database is unavailable");
}


static void
ngx_http_cartbot_db_finish(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q, ngx_uint_t status, const char *code,
    const char *message)
{
    ngx_uint_t  outcome;

    q->state = NGX_HTTP_CARTBOT_DB_DONE;
    q->error = status;
    q->error_code = code;
    q->error_message = message;
    q->elapsed = ngx_current_msec - q->start;

    q->ctx->pending--;

    /*
     * Only the database failing counts against the breaker: a timeout, no
     * answer, a 5xx or garbage.  Refused credentials, statement errors and
     * conflicts are answers.
     */

    outcome = (status == 0 || status == NGX_HTTP_CONFLICT
               || status == NGX_HTTP_INTERNAL_SERVER_ERROR)
              ? NGX_HTTP_CARTBOT_OUTCOME_OK
              : (status == NGX_HTTP_GATEWAY_TIME_OUT)
              ? NGX_HTTP_CARTBOT_OUTCOME_TIMEOUT
              : (code && ngx_strcmp(code, "database_unavailable") == 0)
              ? NGX_HTTP_CARTBOT_OUTCOME_UNAVAILABLE
              : NGX_HTTP_CARTBOT_OUTCOME_ERROR;

    ngx_http_cartbot_stats_upstream(q->dep, outcome, q->elapsed);

    ngx_http_cartbot_breaker_report(q->dep, q->probe,
                              outcome == NGX_HTTP_CARTBOT_OUTCOME_TIMEOUT
                              || outcome == NGX_HTTP_CARTBOT_OUTCOME_UNAVAILABLE
                              || (code
                                  && ngx_strcmp(code, "database_protocol")
                                     == 0),
                              q->conf->breaker_failures,
                              q->conf->breaker_open, q->conf->breaker_max);
}


/*
 * The JSON error for a query that failed: dependency trouble as the
 * client's 5xx, a statement error by its nature.
 */

ngx_int_t
ngx_http_cartbot_db_send_error(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q)
{
    u_char                        *p;
    const char                    *message;
    ngx_table_elt_t               *h;
    const cartbot_surreal_stmt_t  *stmt;

    if (q->error) {
        if (q->retry_after) {
            h = ngx_list_push(&r->headers_out.headers);
            p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
            if (h == NULL || p == NULL) {
                return NGX_ERROR;
            }

            h->hash = 1;
            ngx_str_set(&h->key, "Retry-After");
            h->value.data = p;
            h->value.len = ngx_sprintf(p, "%T", q->retry_after) - p;
#if (nginx_version >= 1023000)
            h->next = NULL;
#endif
        }

        return ngx_http_cartbot_send_error(r, q->error, q->error_code,
                                           q->error_message);
    }

    stmt = q->result.error;

    if (stmt == NULL) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "unexpected query result");
    }

    message = cartbot_surreal_thrown(stmt);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "cartbot db: statement failed: [%s] %s",
                  stmt->kind ? stmt->kind : "-", stmt->message);

    if (ngx_strstr(message, "permission denied") != NULL
        || (stmt->kind && ngx_strcmp(stmt->kind, "NotAllowed") == 0))
    {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_FORBIDDEN,
                                           "permission_denied", message);
    }

    if (stmt->kind && ngx_strcmp(stmt->kind, "AlreadyExists") == 0) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_CONFLICT,
                                           "already_exists", message);
    }

    return ngx_http_cartbot_send_error(r, 422, "query_failed", message);
}


/*
 * A module's queries THROW "code" or "code: detail"; the module's map
 * turns known codes into statuses.  Anything else is answered as
 * ngx_http_cartbot_db_send_error() would.
 */

ngx_int_t
ngx_http_cartbot_db_send_thrown(ngx_http_request_t *r,
    ngx_http_cartbot_db_query_t *q, ngx_http_cartbot_db_thrown_t *map)
{
    size_t         n;
    const char    *text, *detail;

    if (q->error || q->result.error == NULL
        || q->result.error->kind == NULL
        || ngx_strcmp(q->result.error->kind, "Thrown") != 0)
    {
        return ngx_http_cartbot_db_send_error(r, q);
    }

    text = cartbot_surreal_thrown(q->result.error);

    for ( /* void */ ; map->code; map++) {
        n = ngx_strlen(map->code);

        if (ngx_strncmp(text, map->code, n) != 0
            || (text[n] != '\0' && text[n] != ':'))
        {
            continue;
        }

        detail = text + n;

        while (*detail == ':' || *detail == ' ') {
            detail++;
        }

        return ngx_http_cartbot_send_error(r, map->status, map->code,
                                           map->message ? map->message
                                                        : detail);
    }

    return ngx_http_cartbot_db_send_error(r, q);
}


/* the token cache */

static ngx_int_t
ngx_http_cartbot_db_token_get(ngx_http_cartbot_db_conf_t *conf,
    ngx_pool_t *pool, ngx_str_t *token)
{
    time_t                       now;
    ngx_int_t                    rc;
    ngx_http_cartbot_db_zone_t  *zone;
    ngx_http_cartbot_db_slot_t  *slot;

    zone = conf->zone->data;
    now = ngx_time();
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&zone->shpool->mutex);

    slot = ngx_http_cartbot_db_slot(zone->sh, conf->key, 0);

    if (slot && slot->len && now + NGX_HTTP_CARTBOT_DB_MARGIN < slot->expires)
    {
        if (now >= slot->renew_at && now >= slot->renewing) {
            /* this request renews it; the others keep using it */
            slot->renewing = now + NGX_HTTP_CARTBOT_DB_RENEWING;

        } else {
            token->data = ngx_pnalloc(pool, slot->len);

            if (token->data) {
                token->len = slot->len;
                ngx_memcpy(token->data, slot->token, slot->len);
                rc = NGX_OK;
            }
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


static void
ngx_http_cartbot_db_token_put(ngx_http_cartbot_db_conf_t *conf,
    ngx_str_t *token, time_t expires, time_t issued)
{
    time_t                       lifetime;
    ngx_http_cartbot_db_zone_t  *zone;
    ngx_http_cartbot_db_slot_t  *slot;

    zone = conf->zone->data;

    /* renew when three quarters of the lifetime have passed */

    lifetime = expires - issued;
    if (lifetime < 0) {
        lifetime = 0;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    slot = ngx_http_cartbot_db_slot(zone->sh, conf->key, 1);

    if (slot && token->len <= NGX_HTTP_CARTBOT_DB_TOKEN_MAX) {
        slot->key = conf->key;
        slot->expires = expires;
        slot->renew_at = issued + lifetime * 3 / 4;
        slot->renewing = 0;
        slot->len = token->len;
        ngx_memcpy(slot->token, token->data, token->len);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


static void
ngx_http_cartbot_db_token_drop(ngx_http_cartbot_db_conf_t *conf,
    ngx_str_t *token)
{
    ngx_http_cartbot_db_zone_t  *zone;
    ngx_http_cartbot_db_slot_t  *slot;

    zone = conf->zone->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    slot = ngx_http_cartbot_db_slot(zone->sh, conf->key, 0);

    /* only the token that failed: another worker may have a newer one */

    if (slot && slot->len == token->len
        && ngx_memcmp(slot->token, token->data, token->len) == 0)
    {
        slot->len = 0;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


static ngx_http_cartbot_db_slot_t *
ngx_http_cartbot_db_slot(ngx_http_cartbot_db_shctx_t *sh, uint32_t key,
    ngx_uint_t create)
{
    ngx_uint_t                   i;
    ngx_http_cartbot_db_slot_t  *oldest;

    oldest = &sh->slots[0];

    for (i = 0; i < NGX_HTTP_CARTBOT_DB_SLOTS; i++) {
        if (sh->slots[i].key == key && sh->slots[i].expires) {
            return &sh->slots[i];
        }

        if (sh->slots[i].expires < oldest->expires) {
            oldest = &sh->slots[i];
        }
    }

    return create ? oldest : NULL;
}


static ngx_int_t
ngx_http_cartbot_db_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_cartbot_db_zone_t  *ozone = data;

    ngx_http_cartbot_db_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    zone->sh = ngx_slab_calloc(zone->shpool,
                               sizeof(ngx_http_cartbot_db_shctx_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    return NGX_OK;
}


/* cartbot_<module>_db uri [signin=uri credentials=file] [retries=n] */

char *
ngx_http_cartbot_db_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_db_conf_t  *dbcf;

    char                        *rv;
    u_char                      *p;
    ngx_int_t                    n;
    ngx_str_t                   *value, path, key;
    ngx_uint_t                   i;
    ngx_http_cartbot_glue_t     *glue;
    ngx_http_cartbot_db_zone_t  *zone;

    dbcf = (ngx_http_cartbot_db_conf_t *) ((char *) conf + cmd->offset);
    glue = cmd->post;

    if (dbcf->sql_uri.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs a location starting with \"/\"",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    dbcf->sql_uri = value[1];
    dbcf->retries = 8;
    dbcf->glue = glue;
    dbcf->breaker_failures = 5;
    dbcf->breaker_open = 5000;
    dbcf->breaker_max = 60000;

    if (ngx_http_cartbot_stats_add(cf, &dbcf->stats) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_str_null(&path);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "signin=/", 8) == 0) {
            dbcf->signin_uri.data = value[i].data + 7;
            dbcf->signin_uri.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "credentials=", 12) == 0) {
            path.data = value[i].data + 12;
            path.len = value[i].len - 12;
            continue;
        }

        if (ngx_strncmp(value[i].data, "breaker=", 8) == 0) {
            n = ngx_atoi(value[i].data + 8, value[i].len - 8);

            if (n == NGX_ERROR || n < 1 || n > 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            dbcf->breaker_failures = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "open=", 5) == 0
            || ngx_strncmp(value[i].data, "max_open=", 9) == 0)
        {
            ngx_str_t   t;
            ngx_msec_t  ms;

            t.data = (u_char *) ngx_strchr(value[i].data, '=') + 1;
            t.len = value[i].data + value[i].len - t.data;

            ms = ngx_parse_time(&t, 0);

            if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (value[i].data[0] == 'o') {
                dbcf->breaker_open = ms;

            } else {
                dbcf->breaker_max = ms;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "retries=", 8) == 0) {
            n = ngx_atoi(value[i].data + 8, value[i].len - 8);

            if (n == NGX_ERROR || n > 100) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            dbcf->retries = n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if ((dbcf->signin_uri.len == 0) != (path.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"signin=\" and \"credentials=\" "
                           "go together", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (path.len == 0) {
        return NGX_CONF_OK;
    }

    rv = ngx_http_cartbot_db_read_credentials(cf, dbcf, &path);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    /* the slot key: one token per (signin location, credentials) */

    key.len = dbcf->signin_uri.len + dbcf->credentials.len;
    key.data = ngx_pnalloc(cf->pool, key.len);
    if (key.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(key.data, dbcf->signin_uri.data, dbcf->signin_uri.len);
    ngx_memcpy(p, dbcf->credentials.data, dbcf->credentials.len);

    dbcf->key = ngx_crc32_long(key.data, key.len);

    dbcf->zone = ngx_shared_memory_add(cf, &glue->zone_name,
                                       NGX_HTTP_CARTBOT_DB_ZONE_SIZE,
                                       glue->module);
    if (dbcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (dbcf->zone->data == NULL) {
        zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_cartbot_db_zone_t));
        if (zone == NULL) {
            return NGX_CONF_ERROR;
        }

        dbcf->zone->init = ngx_http_cartbot_db_init_zone;
        dbcf->zone->data = zone;
    }

    return NGX_CONF_OK;
}


/*
 * The credentials file holds the /signin body, for example
 * {"ns":"cartbot","db":"main","ac":"service","user":"cart","pass":"..."}.
 * It is read once, by the master, at configuration time: it may be
 * readable by root only.
 */

static char *
ngx_http_cartbot_db_read_credentials(ngx_conf_t *cf,
    ngx_http_cartbot_db_conf_t *conf, ngx_str_t *path)
{
    char             err[128];
    u_char          *buf;
    ssize_t          n;
    yajl_val         root;
    ngx_fd_t         fd;
    ngx_file_t       file;
    const char      *ns, *db;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", path->data);
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = *path;
    file.log = cf->log;

    buf = NULL;
    n = NGX_ERROR;

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) <= NGX_HTTP_CARTBOT_DB_MAX_CREDS)
    {
        buf = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);

        if (buf) {
            n = ngx_read_file(&file, buf, ngx_file_size(&fi), 0);
        }
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%s\" failed", path->data);
    }

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot read credentials \"%s\" (at most %d "
                           "bytes)", path->data, NGX_HTTP_CARTBOT_DB_MAX_CREDS);
        return NGX_CONF_ERROR;
    }

    root = cartbot_json_parse((const char *) buf, n, err, sizeof(err));

    ns = cartbot_json_get_string(root, "ns");
    db = cartbot_json_get_string(root, "db");

    if (ns == NULL || db == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "credentials \"%s\": a JSON object with \"ns\", "
                           "\"db\" and the signin fields is expected%s%s",
                           path->data, root ? "" : ": ", root ? "" : err);
        cartbot_json_free(root);
        return NGX_CONF_ERROR;
    }

    conf->ns.len = ngx_strlen(ns);
    conf->ns.data = ngx_pnalloc(cf->pool, conf->ns.len);
    conf->db.len = ngx_strlen(db);
    conf->db.data = ngx_pnalloc(cf->pool, conf->db.len);

    if (conf->ns.data == NULL || conf->db.data == NULL) {
        cartbot_json_free(root);
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(conf->ns.data, ns, conf->ns.len);
    ngx_memcpy(conf->db.data, db, conf->db.len);

    cartbot_json_free(root);

    conf->credentials.data = buf;
    conf->credentials.len = n;

    return NGX_CONF_OK;
}


void *
ngx_http_cartbot_create_loc_conf(ngx_conf_t *cf, size_t size)
{
    /*
     * set by ngx_pcalloc():
     *
     *     conf->db = { NULL uris: no database };
     *     conf->query = { NULL sql: no query };
     */

    return ngx_pcalloc(cf->pool, size);
}


char *
ngx_http_cartbot_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_cartbot_loc_conf_t  *prev = parent;
    ngx_http_cartbot_loc_conf_t  *conf = child;

    if (conf->db.sql_uri.data == NULL) {
        conf->db = prev->db;
    }

    if (conf->user == NULL) {
        conf->user = prev->user;
    }

    return NGX_CONF_OK;
}


/*
 * cartbot_<module>_db_query "SurrealQL" [name=value ...];
 *
 * Answers {"result": <value of the last statement>}.  Values are nginx
 * complex values ($arg_text, $jwt_claim_sub, ...) bound as $name.  Given
 * several times in a location, the queries run in parallel and the answer
 * is {"results": [...]} in configuration order.
 */

char *
ngx_http_cartbot_db_query_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_array_t                      **queries;

    u_char                            *eq;
    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_cartbot_glue_t           *glue;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_cartbot_db_var_t         *var;
    ngx_http_cartbot_db_query_conf_t  *qcf;
    ngx_http_compile_complex_value_t   ccv;

    queries = (ngx_array_t **) ((char *) conf + cmd->offset);
    glue = cmd->post;

    if (*queries == NULL) {
        *queries = ngx_array_create(cf->pool, 2,
                                    sizeof(ngx_http_cartbot_db_query_conf_t));
        if (*queries == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    qcf = ngx_array_push(*queries);
    if (qcf == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    qcf->sql = value[1];

    qcf->vars = ngx_array_create(cf->pool, 4,
                                 sizeof(ngx_http_cartbot_db_var_t));
    if (qcf->vars == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        eq = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

        if (eq == NULL || eq == value[i].data) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid variable binding \"%V\", "
                               "name=value expected", &value[i]);
            return NGX_CONF_ERROR;
        }

        var = ngx_array_push(qcf->vars);
        if (var == NULL) {
            return NGX_CONF_ERROR;
        }

        var->name.data = value[i].data;
        var->name.len = eq - value[i].data;

        /* NUL-terminated for cartbot_surreal_bind() */
        *eq = '\0';

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &var->value.value;
        ccv.value->data = eq + 1;
        ccv.value->len = value[i].data + value[i].len - eq - 1;
        ccv.complex_value = &var->value;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = glue->query_handler;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_cartbot_db_query_handler(ngx_http_request_t *r, ngx_module_t *module)
{
    ngx_int_t                          rc;
    ngx_str_t                          val;
    ngx_uint_t                         i, n;
    cartbot_mem_t                     *mem;
    cartbot_surreal_query_t            sq;
    ngx_http_cartbot_db_var_t         *var;
    ngx_http_cartbot_loc_conf_t       *lcf;
    ngx_http_cartbot_db_conf_t        *dbcf;
    ngx_http_cartbot_db_query_ctx_t   *ctx;
    ngx_http_cartbot_db_query_conf_t  *qcf;

    lcf = r->loc_conf[module->ctx_index];
    dbcf = &lcf->db;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed",
                                           "use GET or POST");
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (dbcf->sql_uri.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot: no database configured for this location");

        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "no database configured");
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = (ngx_http_cartbot_db_query_ctx_t *)
          ngx_http_cartbot_ctx_create(r, dbcf->glue,
                                      sizeof(ngx_http_cartbot_db_query_ctx_t),
                                      ngx_http_cartbot_db_query_resume);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->nqueries = lcf->queries->nelts;
    ctx->queries = ngx_pcalloc(r->pool,
                        ctx->nqueries * sizeof(ngx_http_cartbot_db_query_t *));
    if (ctx->queries == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    qcf = lcf->queries->elts;

    for (n = 0; n < ctx->nqueries; n++) {

        cartbot_surreal_query_init(&sq, mem, (const char *) qcf[n].sql.data);

        var = qcf[n].vars->elts;

        for (i = 0; i < qcf[n].vars->nelts; i++) {
            if (ngx_http_complex_value(r, &var[i].value, &val) != NGX_OK) {
                goto failed;
            }

            if (cartbot_surreal_bind(&sq, (const char *) var[i].name.data,
                                     (const char *) val.data, val.len)
                != 0)
            {
                if (n == 0) {
                    return ngx_http_cartbot_send_error(r,
                                                   NGX_HTTP_BAD_REQUEST,
                                                   "invalid_request",
                                                   "a value is too long");
                }

                goto failed;
            }
        }

        ctx->queries[n] = ngx_http_cartbot_db_query(r, &ctx->ctx, dbcf, &sq);

        if (ctx->queries[n] == NULL) {
            goto failed;
        }
    }

    /* the subrequests hold the request; this reference is dropped */

    r->main->count++;

    return NGX_DONE;

failed:

    if (n == 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a subrequest is already queued: end the request, do not answer */

    ctx->ctx.responded = 1;
    r->main->count++;
    ngx_http_finalize_request(r, NGX_ERROR);

    return NGX_DONE;
}


static void
ngx_http_cartbot_db_query_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx)
{
    ngx_int_t                         rc;
    ngx_uint_t                        n;
    cartbot_buf_t                     b;
    cartbot_mem_t                    *mem;
    ngx_http_cartbot_db_query_t      *q;
    ngx_http_cartbot_db_query_ctx_t  *qctx;

    qctx = (ngx_http_cartbot_db_query_ctx_t *) ctx;

    for (n = 0; n < qctx->nqueries; n++) {
        q = qctx->queries[n];

        if (q->error || q->result.outcome != CARTBOT_SURREAL_OK) {
            rc = ngx_http_cartbot_db_send_error(r, q);
            ngx_http_finalize_request(r, rc);
            return;
        }
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    cartbot_buf_init(&b, mem, 1024);
    cartbot_buf_add_str(&b, qctx->nqueries == 1 ? "{\"result\":"
                                                : "{\"results\":[");

    for (n = 0; n < qctx->nqueries; n++) {
        q = qctx->queries[n];

        if (n) {
            cartbot_buf_add_char(&b, ',');
        }

        cartbot_json_add_value(&b, q->result.nstmts
                               ? q->result.stmts[q->result.nstmts - 1].result
                               : NULL);
    }

    cartbot_buf_add_str(&b, qctx->nqueries == 1 ? "}" : "]}");

    rc = ngx_http_cartbot_send_buf(r, NGX_HTTP_OK, &b);

    ngx_http_finalize_request(r, rc);
}
