
/*
 * ngx_cartbot_gateway_module: shopper tokens.
 *
 *     cartbot_auth_key     secrets/token.key alg=HS256;   # or an Ed25519 PEM
 *     cartbot_auth_ttl     1h;
 *     cartbot_auth_issuer  cartbot;
 *
 *     location = /auth/register { cartbot_auth register; }  # POST
 *     location = /auth/login    { cartbot_auth login; }     # POST
 *     location = /auth/guest    { cartbot_auth guest; }     # POST
 *
 * Each answers {"token","token_type":"Bearer","expires_in"}: a JWT with
 * sub ("shopper:<id>" or "guest:<random>"), role (shopper, guest or
 * admin), iat, exp, jti and iss.  Passwords are stored as argon2 hashes in
 * the gateway's shopper table, through the gateway's own service account.
 * An unknown user costs the same argon2 comparison as a wrong password
 * and answers the same 401.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_cartbot_gateway.h"


#define NGX_HTTP_CARTBOT_AUTH_USER_MIN   3
#define NGX_HTTP_CARTBOT_AUTH_USER_MAX   32
#define NGX_HTTP_CARTBOT_AUTH_PASS_MIN   8
#define NGX_HTTP_CARTBOT_AUTH_PASS_MAX   128


static ngx_int_t ngx_http_cartbot_auth_handler(ngx_http_request_t *r);
static void ngx_http_cartbot_auth_body(ngx_http_request_t *r);
static void ngx_http_cartbot_auth_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_auth_issue(ngx_http_request_t *r,
    const char *sub, size_t sub_len, const char *role, ngx_uint_t status);
static const char *ngx_http_cartbot_auth_check(yajl_val body,
    ngx_str_t *username, ngx_str_t *password, const char **code);


static const char  ngx_http_cartbot_auth_register_sql[] =
    "CREATE ONLY shopper SET username = $u,"
    " password_hash = crypto::argon2::generate($p), role = 'shopper'"
    " RETURN <string> id AS sub, role;";


/*
 * The comparison always runs once: against the stored hash, or against a
 * hash of nothing anyone knows, so that an unknown user takes the time a
 * wrong password takes.
 */

static const char  ngx_http_cartbot_auth_login_sql[] =
    "LET $h = (SELECT id, password_hash, role FROM shopper"
    " WHERE username = $u)[0];"
    "LET $hash = IF $h != NONE { $h.password_hash } ELSE {"
    " '$argon2id$v=19$m=19456,t=2,p=1$vSVSsRPzB8kry0eytOVSSQ"
    "$2EsDnIXRGGrJog8lF0WcgIjM6/t751npuzhk+Ta37/g' };"
    "LET $ok = crypto::argon2::compare($hash, $p);"
    "RETURN IF $ok AND $h != NONE { { sub: <string> $h.id, role: $h.role } }"
    " ELSE { NONE };";


char *
ngx_http_cartbot_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_gateway_loc_conf_t *glcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (glcf->auth) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "register") == 0) {
        glcf->auth = NGX_HTTP_CARTBOT_AUTH_REGISTER;

    } else if (ngx_strcmp(value[1].data, "login") == 0) {
        glcf->auth = NGX_HTTP_CARTBOT_AUTH_LOGIN;

    } else if (ngx_strcmp(value[1].data, "guest") == 0) {
        glcf->auth = NGX_HTTP_CARTBOT_AUTH_GUEST;

    } else {
        return "must be register, login or guest";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_cartbot_auth_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cartbot_auth_handler(ngx_http_request_t *r)
{
    u_char                               *p;
    ngx_int_t                             rc;
    cartbot_buf_t                         sub;
    cartbot_mem_t                        *mem;
    ngx_http_cartbot_gateway_ctx_t       *ctx;
    ngx_http_cartbot_gateway_loc_conf_t  *glcf;

    if (!(r->method & NGX_HTTP_POST)) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed", "use POST");
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    if (glcf->signing == NULL || glcf->signing->nkeys == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_auth: no \"cartbot_auth_key\" here");
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "no signing key configured");
    }

    if (glcf->auth == NGX_HTTP_CARTBOT_AUTH_GUEST) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        mem = ngx_http_cartbot_mem(r->pool);
        if (mem == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cartbot_buf_init(&sub, mem, 64);
        cartbot_buf_add_str(&sub, "guest:");

        if (cartbot_jwt_jti(&sub) != 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* base64url may hold '-': keep ids to letters, digits and '_' */

        for (p = (u_char *) sub.data + 6;
             p < (u_char *) sub.data + sub.len;
             p++)
        {
            if (*p == '-') {
                *p = '_';
            }
        }

        return ngx_http_cartbot_auth_issue(r, sub.data, sub.len, "guest",
                                           NGX_HTTP_OK);
    }

    if (glcf->cartbot.db.sql_uri.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_auth: no \"cartbot_gateway_db\" here");
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "no database configured");
    }

    ctx = ngx_http_cartbot_gateway_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->base.resume = ngx_http_cartbot_auth_resume;

    rc = ngx_http_cartbot_read_json_body(r, ngx_http_cartbot_auth_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_cartbot_auth_body(ngx_http_request_t *r)
{
    char                                  err[128];
    yajl_val                              body;
    ngx_int_t                             rc;
    const char                           *problem, *code;
    cartbot_mem_t                        *mem;
    cartbot_surreal_query_t               sq;
    ngx_http_cartbot_gateway_ctx_t       *ctx;
    ngx_http_cartbot_gateway_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);
    ctx = ngx_http_cartbot_gateway_ctx(r);

    body = ngx_http_cartbot_parse_body(r, err, sizeof(err));

    if (!YAJL_IS_OBJECT(body)) {
        rc = ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_json",
                                         body ? "a JSON object is expected"
                                              : err);
        ngx_http_finalize_request(r, rc);
        return;
    }

    problem = ngx_http_cartbot_auth_check(body, &ctx->username,
                                          &ctx->password, &code);

    /* a login is judged by the database only: it says nothing about rules */

    if (problem && glcf->auth == NGX_HTTP_CARTBOT_AUTH_REGISTER) {
        rc = ngx_http_cartbot_send_error(r, 422, code, problem);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (problem && ctx->username.data == NULL) {
        rc = ngx_http_cartbot_send_error(r, 422, code, problem);
        ngx_http_finalize_request(r, rc);
        return;
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cartbot_surreal_query_init(&sq, mem,
                               glcf->auth == NGX_HTTP_CARTBOT_AUTH_REGISTER
                               ? ngx_http_cartbot_auth_register_sql
                               : ngx_http_cartbot_auth_login_sql);
    cartbot_surreal_bind(&sq, "u", (char *) ctx->username.data,
                         ctx->username.len);
    cartbot_surreal_bind(&sq, "p", (char *) ctx->password.data,
                         ctx->password.len);

    ctx->query = ngx_http_cartbot_db_query(r, &ctx->base,
                                           &glcf->cartbot.db, &sq);
    if (ctx->query == NULL) {
        ngx_http_finalize_request(r,
            ngx_http_cartbot_status_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR));
    }
}


/*
 * username: 3 to 32 of a-z, 0-9, '.', '_', '-' (folded to lower case);
 * password: 8 to 128 bytes, not only spaces.  NULL when fine, else the
 * message, with the error code in *code.
 */

static const char *
ngx_http_cartbot_auth_check(yajl_val body, ngx_str_t *username,
    ngx_str_t *password, const char **code)
{
    size_t       i, len;
    u_char      *u;
    const char  *s;

    ngx_str_null(username);
    ngx_str_null(password);

    *code = "invalid_username";

    s = cartbot_json_get_string(body, "username");
    if (s == NULL) {
        return "username must be a string";
    }

    len = ngx_strlen(s);

    if (len < NGX_HTTP_CARTBOT_AUTH_USER_MIN
        || len > NGX_HTTP_CARTBOT_AUTH_USER_MAX)
    {
        return "username must be 3 to 32 characters";
    }

    u = (u_char *) s;

    for (i = 0; i < len; i++) {
        u[i] = ngx_tolower(u[i]);

        if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= '0' && u[i] <= '9')
              || u[i] == '.' || u[i] == '_' || u[i] == '-'))
        {
            return "username may hold only letters, digits, '.', '_' "
                   "and '-'";
        }
    }

    username->data = u;
    username->len = len;

    *code = "invalid_password";

    s = cartbot_json_get_string(body, "password");
    if (s == NULL) {
        return "password must be a string";
    }

    len = ngx_strlen(s);

    password->data = (u_char *) s;
    password->len = len;

    if (len < NGX_HTTP_CARTBOT_AUTH_PASS_MIN
        || len > NGX_HTTP_CARTBOT_AUTH_PASS_MAX)
    {
        return "password must be 8 to 128 characters";
    }

    for (i = 0; i < len; i++) {
        if (s[i] != ' ') {
            return NULL;
        }
    }

    return "password must not be only spaces";
}


static void
ngx_http_cartbot_auth_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *base)
{
    ngx_int_t                             rc;
    yajl_val                              who;
    const char                           *sub, *role;
    ngx_http_cartbot_db_query_t          *q;
    ngx_http_cartbot_gateway_ctx_t       *ctx;
    ngx_http_cartbot_gateway_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);
    ctx = (ngx_http_cartbot_gateway_ctx_t *) base;
    q = ctx->query;

    if (q->error || q->result.outcome != CARTBOT_SURREAL_OK) {

        if (q->error == 0 && q->result.error
            && ngx_strstr(q->result.error->message, "already contains"))
        {
            rc = ngx_http_cartbot_send_error(r, NGX_HTTP_CONFLICT,
                                             "username_taken",
                                             "that username is taken");
        } else {
            rc = ngx_http_cartbot_db_send_error(r, q);
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

    who = cartbot_surreal_last(&q->result);
    sub = cartbot_json_get_string(who, "sub");
    role = cartbot_json_get_string(who, "role");

    if (sub == NULL || role == NULL) {
        rc = ngx_http_cartbot_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                         "invalid_credentials",
                                         "wrong username or password");
        ngx_http_finalize_request(r, rc);
        return;
    }

    rc = ngx_http_cartbot_auth_issue(r, sub, ngx_strlen(sub), role,
                                     glcf->auth
                                     == NGX_HTTP_CARTBOT_AUTH_REGISTER
                                     ? NGX_HTTP_CREATED : NGX_HTTP_OK);

    ngx_http_finalize_request(r, rc);
}


/* {"token":"...","token_type":"Bearer","expires_in":3600} */

static ngx_int_t
ngx_http_cartbot_auth_issue(ngx_http_request_t *r, const char *sub,
    size_t sub_len, const char *role, ngx_uint_t status)
{
    char                                  err[128];
    time_t                                now;
    cartbot_buf_t                         claims, out;
    cartbot_mem_t                        *mem;
    ngx_http_cartbot_gateway_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    now = ngx_time();

    cartbot_buf_init(&claims, mem, 256);
    cartbot_buf_add_str(&claims, "{\"iss\":");
    cartbot_json_add_string(&claims, (char *) glcf->token_issuer.data,
                            glcf->token_issuer.len);
    cartbot_buf_add_str(&claims, ",\"sub\":");
    cartbot_json_add_string(&claims, sub, sub_len);
    cartbot_buf_add_str(&claims, ",\"role\":");
    cartbot_json_add_string(&claims, role, ngx_strlen(role));
    cartbot_buf_printf(&claims, ",\"iat\":%lld,\"exp\":%lld,\"jti\":\"",
                       (long long) now, (long long) (now + glcf->token_ttl));
    cartbot_jwt_jti(&claims);
    cartbot_buf_add_str(&claims, "\"}");

    if (claims.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cartbot_buf_init(&out, mem, 512);
    cartbot_buf_add_str(&out, "{\"token\":\"");

    if (cartbot_jwt_sign(&glcf->signing->keys[0], CARTBOT_JWT_ALG_UNSET,
                         claims.data, claims.len, &out, err, sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_auth: signing failed: %s", err);
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "the token could not be signed");
    }

    cartbot_buf_printf(&out, "\",\"token_type\":\"Bearer\","
                       "\"expires_in\":%lld}", (long long) glcf->token_ttl);

    return ngx_http_cartbot_send_buf(r, status, &out);
}
