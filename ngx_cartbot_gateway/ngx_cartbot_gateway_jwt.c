
/*
 * ngx_cartbot_gateway_module: JWT verification, modelled on NGINX Plus
 * auth_jwt where the two overlap.
 *
 *     cartbot_jwt           "shop" [token=$cookie_auth];  # or off
 *     cartbot_jwt_key_file  keys/shop.jwks;               # JWKS, by kid
 *     cartbot_jwt_key_file  keys/partner.pem alg=RS256 kid=partner;
 *     cartbot_jwt_key_file  keys/hmac.key alg=HS256;      # raw secret
 *     cartbot_jwt_issuer    cartbot;                      # iss, any of
 *     cartbot_jwt_audience  shop-api;                     # aud, any of
 *     cartbot_jwt_leeway    30s;
 *     cartbot_jwt_max_size  8k;
 *     cartbot_jwt_require   $jwt_claim_sub $is_admin error=403;
 *
 * A key is bound to its algorithm at load time: a token choosing another
 * algorithm ("none", HMAC with a public key) is refused.  The token is
 * verified once per request, in the access phase or earlier when a
 * $jwt_* variable is needed first (for example by a rate limit keyed by
 * $jwt_claim_sub).  Subrequests are not verified again.  Refusals answer
 * 401 (403 for a failed requirement) with an RFC 6750 WWW-Authenticate
 * header; the body comes from the error page, which can use
 * $cartbot_error_code and $cartbot_error_message.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_cartbot_gateway.h"


#define NGX_HTTP_CARTBOT_JWT_MAX_KEY_FILE  (1024 * 1024)


static ngx_int_t ngx_http_cartbot_jwt_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_jwt_verify(ngx_http_request_t *r,
    ngx_http_cartbot_gateway_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_jwt_token(ngx_http_request_t *r,
    ngx_http_cartbot_gateway_loc_conf_t *glcf, ngx_str_t *token);
static ngx_int_t ngx_http_cartbot_jwt_refuse(ngx_http_request_t *r,
    ngx_http_cartbot_gateway_ctx_t *ctx, ngx_uint_t status,
    const char *error, const char *code, const char *message);
static ngx_int_t ngx_http_cartbot_jwt_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_cartbot_jwt_header_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_cartbot_jwt_value(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, ngx_str_t *name, size_t prefix,
    ngx_uint_t header);
static ngx_int_t ngx_http_cartbot_jwt_payload_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_cartbot_error_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static void ngx_http_cartbot_jwt_keyset_cleanup(void *data);
static void ngx_http_cartbot_jwt_result_cleanup(void *data);
static ngx_http_cartbot_jwt_cached_t **ngx_http_cartbot_jwt_slot(
    ngx_http_request_t *r, void *conf, ngx_str_t *token, ngx_uint_t *hit);
static void ngx_http_cartbot_jwt_keep(ngx_http_request_t *r,
    ngx_http_cartbot_jwt_cached_t **slot, ngx_http_cartbot_gateway_ctx_t *ctx,
    void *conf, ngx_str_t *token, time_t leeway, ngx_pool_cleanup_t *cln);
static void ngx_http_cartbot_jwt_release(void *data);
static void ngx_http_cartbot_jwt_free_cached(
    ngx_http_cartbot_jwt_cached_t *e);


static ngx_http_variable_t  ngx_http_cartbot_jwt_vars[] = {

    { ngx_string("jwt_claim_"), NULL, ngx_http_cartbot_jwt_claim_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

    { ngx_string("jwt_header_"), NULL, ngx_http_cartbot_jwt_header_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

    { ngx_string("jwt_payload"), NULL, ngx_http_cartbot_jwt_payload_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* cacheable: set on refusal, they outlive the error page redirect */

    { ngx_string("cartbot_error_code"), NULL,
      ngx_http_cartbot_error_variable, 0, 0, 0 },

    { ngx_string("cartbot_error_message"), NULL,
      ngx_http_cartbot_error_variable, 1, 0, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_cartbot_jwt_init(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t                    *cln;
    ngx_http_handler_pt                   *h;
    ngx_http_core_main_conf_t             *cmcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;
    static ngx_str_t  code = ngx_string("cartbot_error_code");
    static ngx_str_t  message = ngx_string("cartbot_error_message");

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_cartbot_gateway_module);

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_cartbot_jwt_cache_cleanup;
    cln->data = gmcf;

    gmcf->error_code_index = ngx_http_get_variable_index(cf, &code);
    gmcf->error_message_index = ngx_http_get_variable_index(cf, &message);

    if (gmcf->error_code_index == NGX_ERROR
        || gmcf->error_message_index == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_cartbot_jwt_handler;

    return NGX_OK;
}


ngx_int_t
ngx_http_cartbot_jwt_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_cartbot_jwt_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_jwt_handler(ngx_http_request_t *r)
{
    ngx_uint_t                             i, j;
    ngx_str_t                              value;
    ngx_http_complex_value_t              *cv;
    ngx_http_cartbot_gateway_ctx_t        *ctx;
    ngx_http_cartbot_jwt_require_t        *req;
    ngx_http_cartbot_gateway_loc_conf_t   *glcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    if (glcf->jwt != 1) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_cartbot_gateway_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_cartbot_jwt_verify(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);

    if (ctx->jwt.reason != CARTBOT_JWT_OK) {
        /* index 0, the "ok" slot, counts requests that brought no token */
        ngx_http_cartbot_stats_count(gmcf->stats, NGX_HTTP_CARTBOT_STATS_AUTH,
                                     ctx->jwt_missing ? 0 : ctx->jwt.reason,
                                     NULL, 1);
    }

    if (ctx->jwt_missing) {
        /* RFC 6750 3.1: no error code when no token was sent */
        return ngx_http_cartbot_jwt_refuse(r, ctx, NGX_HTTP_UNAUTHORIZED,
                                           NULL, "authentication_required",
                                           "a bearer token is required");
    }

    if (ctx->jwt.reason != CARTBOT_JWT_OK) {
        return ngx_http_cartbot_jwt_refuse(r, ctx, NGX_HTTP_UNAUTHORIZED,
                                           "invalid_token", "invalid_token",
                                           ctx->jwt.detail
                                           ? ctx->jwt.detail
                                           : "the token is not valid");
    }

    if (glcf->requires == NULL) {
        return NGX_OK;
    }

    req = glcf->requires->elts;

    for (i = 0; i < glcf->requires->nelts; i++) {
        cv = req[i].values->elts;

        for (j = 0; j < req[i].values->nelts; j++) {
            if (ngx_http_complex_value(r, &cv[j], &value) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (value.len == 0 || (value.len == 1 && value.data[0] == '0')) {
                return ngx_http_cartbot_jwt_refuse(r, ctx, req[i].status,
                           req[i].status == NGX_HTTP_FORBIDDEN
                           ? "insufficient_scope" : "invalid_token",
                           req[i].status == NGX_HTTP_FORBIDDEN
                           ? "forbidden" : "invalid_token",
                           req[i].status == NGX_HTTP_FORBIDDEN
                           ? "the token does not allow this"
                           : "the token lacks a required claim");
            }
        }
    }

    return NGX_OK;
}


/* once per request; the outcome stays in the context */

static ngx_int_t
ngx_http_cartbot_jwt_verify(ngx_http_request_t *r,
    ngx_http_cartbot_gateway_ctx_t *ctx)
{
    ngx_str_t                             token;
    cartbot_mem_t                        *mem;
    ngx_pool_cleanup_t                   *cln;
    cartbot_jwt_opts_t                    opts;
    ngx_uint_t                            hit;
    ngx_http_cartbot_jwt_cached_t        *e, **slot;
    ngx_http_cartbot_gateway_loc_conf_t  *glcf;

    if (ctx->jwt_state) {
        return NGX_OK;
    }

    ctx->jwt_state = 1;
    ctx->jwt.reason = CARTBOT_JWT_UNKNOWN_KEY;

    glcf = ngx_http_get_module_loc_conf(r->main, ngx_cartbot_gateway_module);

    if (ngx_http_cartbot_jwt_token(r->main, glcf, &token) != NGX_OK) {
        return NGX_ERROR;
    }

    if (token.len == 0) {
        ctx->jwt_missing = 1;
        ctx->jwt.reason = CARTBOT_JWT_MALFORMED;
        return NGX_OK;
    }

    if (glcf->keys == NULL) {
        ctx->jwt.detail = "no key configured";
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    /* verified before by this worker, for this location, and not expired */

    slot = ngx_http_cartbot_jwt_slot(r, glcf, &token, &hit);
    e = *slot;

    if (hit && (e->exp == 0 || ngx_time() <= e->exp + glcf->leeway)) {
        ctx->jwt = e->result;
        e->refs++;

        cln->handler = ngx_http_cartbot_jwt_release;
        cln->data = e;

        return NGX_OK;
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&opts, sizeof(cartbot_jwt_opts_t));

    opts.max_len = glcf->max_size;
    opts.leeway = glcf->leeway;

    if (glcf->issuers) {
        opts.issuers = glcf->issuers->elts;
        opts.nissuers = glcf->issuers->nelts;
    }

    if (glcf->audiences) {
        opts.audiences = glcf->audiences->elts;
        opts.naudiences = glcf->audiences->nelts;
    }

    (void) cartbot_jwt_verify(glcf->keys, mem, (char *) token.data,
                              token.len, &opts, ngx_time(), &ctx->jwt);

    /* the header and claims are yajl trees: freed with the request */

    cln->handler = ngx_http_cartbot_jwt_result_cleanup;
    cln->data = &ctx->jwt;

    if (ctx->jwt.reason == CARTBOT_JWT_OK) {
        ngx_http_cartbot_jwt_keep(r, slot, ctx, glcf, &token, glcf->leeway,
                                  cln);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cartbot jwt: %s", cartbot_jwt_reason_name(ctx->jwt.reason));

    return NGX_OK;
}


/*
 * The cache slot of a token (direct mapped); *hit if it holds the token.
 * Only the token's last bytes are hashed: they are its signature, which
 * differs from token to token, and a whole token costs a crc32 of some
 * hundred bytes on every request.  Tokens sharing a tail only share a
 * slot: the whole token is compared.
 */

#define NGX_HTTP_CARTBOT_JWT_HASHED  32

static ngx_http_cartbot_jwt_cached_t **
ngx_http_cartbot_jwt_slot(ngx_http_request_t *r, void *conf,
    ngx_str_t *token, ngx_uint_t *hit)
{
    size_t                                 len;
    uint32_t                               hash;
    ngx_http_cartbot_jwt_cached_t        **slot, *e;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);

    len = ngx_min(token->len, NGX_HTTP_CARTBOT_JWT_HASHED);

    hash = ngx_murmur_hash2(token->data + token->len - len, len)
           ^ (uint32_t) (uintptr_t) conf;
    slot = &gmcf->jwt_cache[hash % NGX_HTTP_CARTBOT_JWT_CACHE];
    e = *slot;

    *hit = (e && e->conf == conf && e->len == token->len
            && ngx_memcmp(e->token, token->data, token->len) == 0);

    return slot;
}


/* frees the cache when the cycle's pool goes */

void
ngx_http_cartbot_jwt_cache_cleanup(void *data)
{
    ngx_http_cartbot_gateway_main_conf_t *gmcf = data;

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_CARTBOT_JWT_CACHE; i++) {
        if (gmcf->jwt_cache[i] && gmcf->jwt_cache[i]->refs == 0) {
            ngx_http_cartbot_jwt_free_cached(gmcf->jwt_cache[i]);
        }

        gmcf->jwt_cache[i] = NULL;
    }
}


/*
 * Keeps a verified token in its slot: the entry takes over the request's
 * header and claims trees (the request then releases instead of freeing).
 * An entry still used by a request is only marked dead.
 */

static void
ngx_http_cartbot_jwt_keep(ngx_http_request_t *r,
    ngx_http_cartbot_jwt_cached_t **slot, ngx_http_cartbot_gateway_ctx_t *ctx,
    void *conf, ngx_str_t *token, time_t leeway, ngx_pool_cleanup_t *cln)
{
    long long                       exp;
    ngx_http_cartbot_jwt_cached_t  *e, *old;

    (void) leeway;

    e = ngx_calloc(sizeof(ngx_http_cartbot_jwt_cached_t)
                   + token->len + ctx->jwt.payload.len + 1,
                   r->connection->log);
    if (e == NULL) {
        return;
    }

    e->token = (u_char *) (e + 1);
    e->len = token->len;
    ngx_memcpy(e->token, token->data, token->len);

    e->result = ctx->jwt;

    /* payload and kid were allocated from the request pool */

    e->result.payload.data = (char *) e->token + token->len;
    ngx_memcpy((u_char *) e->result.payload.data, ctx->jwt.payload.data,
               ctx->jwt.payload.len);
    ((u_char *) e->result.payload.data)[ctx->jwt.payload.len] = '\0';
    e->result.kid.data = NULL;
    e->result.kid.len = 0;

    e->conf = conf;
    e->exp = (cartbot_json_get_int(ctx->jwt.claims, "exp", &exp) == 0)
             ? (time_t) exp : 0;
    e->refs = 1;

    old = *slot;

    if (old) {
        if (old->refs) {
            old->dead = 1;

        } else {
            ngx_http_cartbot_jwt_free_cached(old);
        }
    }

    *slot = e;

    ctx->jwt.payload = e->result.payload;

    cln->handler = ngx_http_cartbot_jwt_release;
    cln->data = e;
}


static void
ngx_http_cartbot_jwt_release(void *data)
{
    ngx_http_cartbot_jwt_cached_t *e = data;

    if (--e->refs == 0 && e->dead) {
        ngx_http_cartbot_jwt_free_cached(e);
    }
}


static void
ngx_http_cartbot_jwt_free_cached(ngx_http_cartbot_jwt_cached_t *e)
{
    cartbot_jwt_result_free(&e->result);
    ngx_free(e);
}


/* token=... when configured, else "Authorization: Bearer <token>" */

static ngx_int_t
ngx_http_cartbot_jwt_token(ngx_http_request_t *r,
    ngx_http_cartbot_gateway_loc_conf_t *glcf, ngx_str_t *token)
{
    u_char           *p, *end;
    ngx_table_elt_t  *h;

    ngx_str_null(token);

    if (glcf->token) {
        return ngx_http_complex_value(r, glcf->token, token);
    }

    h = r->headers_in.authorization;

    if (h == NULL || h->value.len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) != 0)
    {
        return NGX_OK;
    }

    p = h->value.data + 7;
    end = h->value.data + h->value.len;

    while (p < end && *p == ' ') {
        p++;
    }

    while (end > p && end[-1] == ' ') {
        end--;
    }

    token->data = p;
    token->len = end - p;

    return NGX_OK;
}


/*
 * WWW-Authenticate: Bearer realm="...", error="...", error_description="..."
 * and the status; the error page renders the JSON body.
 */

static ngx_int_t
ngx_http_cartbot_jwt_refuse(ngx_http_request_t *r,
    ngx_http_cartbot_gateway_ctx_t *ctx, ngx_uint_t status,
    const char *error, const char *code, const char *message)
{
    u_char                               *p;
    size_t                                len;
    ngx_table_elt_t                      *h;
    ngx_http_cartbot_gateway_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    ngx_http_cartbot_gateway_error(r, code, message);

    len = sizeof("Bearer realm=\"\", error=\"\", error_description=\"\"") - 1
          + glcf->realm.len + (error ? ngx_strlen(error) : 0)
          + ngx_strlen(message);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value.data = p;

    if (error) {
        p = ngx_sprintf(p, "Bearer realm=\"%V\", error=\"%s\", "
                        "error_description=\"%s\"",
                        &glcf->realm, error, message);

    } else {
        p = ngx_sprintf(p, "Bearer realm=\"%V\"", &glcf->realm);
    }

    h->value.len = p - h->value.data;

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    r->headers_out.www_authenticate = h;

    return status;
}


/*
 * $jwt_claim_<name>, $jwt_header_<name>: strings as they are, numbers as
 * written, true/false, objects and arrays as JSON text.  For prefix
 * variables nginx passes the variable's whole name as data.
 */

static ngx_int_t
ngx_http_cartbot_jwt_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    return ngx_http_cartbot_jwt_value(r, v, (ngx_str_t *) data,
                                      sizeof("jwt_claim_") - 1, 0);
}


static ngx_int_t
ngx_http_cartbot_jwt_header_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    return ngx_http_cartbot_jwt_value(r, v, (ngx_str_t *) data,
                                      sizeof("jwt_header_") - 1, 1);
}


static ngx_int_t
ngx_http_cartbot_jwt_value(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, ngx_str_t *name, size_t prefix,
    ngx_uint_t header)
{
    size_t                            len;
    u_char                           *key;
    yajl_val                          doc, value;
    ngx_uint_t                        i;
    cartbot_buf_t                     b;
    cartbot_mem_t                    *mem;
    ngx_http_cartbot_gateway_ctx_t   *ctx;

    v->not_found = 1;

    ctx = ngx_http_cartbot_gateway_ctx(r->main);
    if (ctx == NULL || ngx_http_cartbot_jwt_verify(r->main, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->jwt.reason != CARTBOT_JWT_OK || name->len <= prefix) {
        return NGX_OK;
    }

    key = name->data + prefix;
    len = name->len - prefix;

    doc = header ? ctx->jwt.header : ctx->jwt.claims;
    value = NULL;

    /* strncmp() stops at a shorter name's NUL; then its length is len */

    if (YAJL_IS_OBJECT(doc)) {
        for (i = 0; i < doc->u.object.len; i++) {
            if (doc->u.object.keys[i][0] == (char) key[0]
                && ngx_strncmp(doc->u.object.keys[i], key, len) == 0
                && doc->u.object.keys[i][len] == '\0')
            {
                value = doc->u.object.values[i];
                break;
            }
        }
    }

    if (value == NULL) {
        return NGX_OK;
    }

    if (YAJL_IS_STRING(value)) {
        v->data = (u_char *) value->u.string;
        v->len = ngx_strlen(value->u.string);

    } else {
        mem = ngx_http_cartbot_mem(r->pool);
        if (mem == NULL) {
            return NGX_ERROR;
        }

        cartbot_buf_init(&b, mem, 64);

        if (cartbot_json_add_value(&b, value) != 0) {
            return NGX_ERROR;
        }

        v->data = (u_char *) b.data;
        v->len = b.len;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_jwt_payload_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_cartbot_gateway_ctx_t  *ctx;

    v->not_found = 1;

    ctx = ngx_http_cartbot_gateway_ctx(r->main);
    if (ctx == NULL || ngx_http_cartbot_jwt_verify(r->main, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->jwt.reason != CARTBOT_JWT_OK) {
        return NGX_OK;
    }

    v->data = (u_char *) ctx->jwt.payload.data;
    v->len = ctx->jwt.payload.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * $cartbot_error_code, $cartbot_error_message: what the gateway refused a
 * request for, for the JSON error pages; by status when it said nothing.
 */

static ngx_int_t
ngx_http_cartbot_error_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char  *text;

    switch (r->headers_out.status) {

    case NGX_HTTP_UNAUTHORIZED:
        text = data ? "authentication required" : "authentication_required";
        break;

    case NGX_HTTP_FORBIDDEN:
        text = data ? "not allowed" : "forbidden";
        break;

    case NGX_HTTP_TOO_MANY_REQUESTS:
        text = data ? "too many requests; please wait" : "rate_limited";
        break;

    default:
        text = data ? "the request failed" : "error";
    }

    v->data = (u_char *) text;
    v->len = ngx_strlen(text);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * Sets $cartbot_error_code and $cartbot_error_message in the request's
 * variable cache: module contexts are cleared by the error page's
 * internal redirect, cached variables are not.
 */

void
ngx_http_cartbot_gateway_error(ngx_http_request_t *r, const char *code,
    const char *message)
{
    ngx_http_variable_value_t             *vv;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);

    if (gmcf->error_code_index == NGX_ERROR) {
        return;
    }

    vv = &r->main->variables[gmcf->error_code_index];
    vv->data = (u_char *) code;
    vv->len = ngx_strlen(code);
    vv->valid = 1;
    vv->no_cacheable = 0;
    vv->not_found = 0;

    vv = &r->main->variables[gmcf->error_message_index];
    vv->data = (u_char *) message;
    vv->len = ngx_strlen(message);
    vv->valid = 1;
    vv->no_cacheable = 0;
    vv->not_found = 0;
}


/* configuration */

char *
ngx_http_cartbot_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_gateway_loc_conf_t *glcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_compile_complex_value_t   ccv;

    if (glcf->jwt != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        glcf->jwt = 0;
        return NGX_CONF_OK;
    }

    glcf->jwt = 1;
    glcf->realm = value[1];

    for (i = 0; i < glcf->realm.len; i++) {
        if (glcf->realm.data[i] == '"' || glcf->realm.data[i] == '\\'
            || glcf->realm.data[i] < 0x20)
        {
            return "realm must not hold quotes, backslashes or controls";
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "token=", 6) == 0) {
            glcf->token = ngx_palloc(cf->pool,
                                     sizeof(ngx_http_complex_value_t));
            if (glcf->token == NULL) {
                return NGX_CONF_ERROR;
            }

            ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

            ccv.cf = cf;
            ccv.value = &value[i];
            ccv.value->data += 6;
            ccv.value->len -= 6;
            ccv.complex_value = glcf->token;

            if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* cartbot_jwt_key_file path [alg=...] [kid=...] */

char *
ngx_http_cartbot_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_gateway_loc_conf_t *glcf = conf;

    cartbot_jwt_keyset_t  **ks;

    ks = (cmd->offset == offsetof(ngx_http_cartbot_gateway_loc_conf_t,
                                  signing))
         ? &glcf->signing : &glcf->keys;

    *ks = ngx_http_cartbot_gateway_load_key(cf, *ks, cf->args->elts,
                                            cf->args->nelts);

    return *ks ? NGX_CONF_OK : NGX_CONF_ERROR;
}


cartbot_jwt_keyset_t *
ngx_http_cartbot_gateway_load_key(ngx_conf_t *cf, cartbot_jwt_keyset_t *ks,
    ngx_str_t *value, ngx_uint_t n)
{
    char                 err[256];
    u_char              *buf;
    size_t               len;
    ssize_t              got;
    unsigned             algs;
    ngx_fd_t             fd;
    ngx_str_t            path, kid;
    ngx_uint_t           i;
    ngx_file_t           file;
    cartbot_mem_t       *mem;
    ngx_file_info_t      fi;
    ngx_pool_cleanup_t  *cln;

    path = value[1];
    algs = 0;
    ngx_str_null(&kid);

    for (i = 2; i < n; i++) {

        if (ngx_strncmp(value[i].data, "alg=", 4) == 0) {
            u_char  *p, *last, *comma;

            p = value[i].data + 4;
            last = value[i].data + value[i].len;

            while (p < last) {
                comma = ngx_strlchr(p, last, ',');
                if (comma == NULL) {
                    comma = last;
                }

                if (cartbot_jwt_algs_from_name((char *) p, comma - p) == 0) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "unknown algorithm in \"%V\"",
                                       &value[i]);
                    return NULL;
                }

                algs |= cartbot_jwt_algs_from_name((char *) p, comma - p);
                p = comma + 1;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "kid=", 4) == 0) {
            kid.data = value[i].data + 4;
            kid.len = value[i].len - 4;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[i]);
        return NULL;
    }

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NULL;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", path.data);
        return NULL;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = path;
    file.log = cf->log;

    buf = NULL;
    got = NGX_ERROR;
    len = 0;

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) <= NGX_HTTP_CARTBOT_JWT_MAX_KEY_FILE)
    {
        len = ngx_file_size(&fi);
        buf = ngx_pnalloc(cf->pool, len + 1);

        if (buf) {
            got = ngx_read_file(&file, buf, len, 0);
        }
    }

    ngx_close_file(fd);

    if (got != (ssize_t) len || buf == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot read key file \"%s\"", path.data);
        return NULL;
    }

    buf[len] = '\0';

    if (ks == NULL) {
        ks = ngx_pcalloc(cf->pool, sizeof(cartbot_jwt_keyset_t));
        mem = ngx_http_cartbot_mem(cf->pool);
        cln = ngx_pool_cleanup_add(cf->pool, 0);

        if (ks == NULL || mem == NULL || cln == NULL) {
            return NULL;
        }

        cartbot_jwt_keyset_init(ks, mem);

        cln->handler = ngx_http_cartbot_jwt_keyset_cleanup;
        cln->data = ks;
    }

    if (kid.len) {
        kid.data = (u_char *) cartbot_strndup(ks->mem, (char *) kid.data,
                                              kid.len);
        if (kid.data == NULL) {
            return NULL;
        }
    }

    if (algs && (algs & ~CARTBOT_JWT_ALGS_HS) == 0) {

        /* an HMAC secret: the file's bytes, less a final line break */

        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
            len--;
        }

        if (cartbot_jwt_keyset_add_secret(ks, buf, len, algs,
                                          (char *) kid.data, err, sizeof(err))
            != 0)
        {
            goto failed;
        }

    } else if (len && buf[0] == '{') {
        if (cartbot_jwt_keyset_add_jwks(ks, (char *) buf, len,
                                        algs ? algs : CARTBOT_JWT_ALGS_RS,
                                        err, sizeof(err))
            < 0)
        {
            goto failed;
        }

    } else if (cartbot_jwt_keyset_add_pem(ks, (char *) buf, len, algs,
                                          (char *) kid.data, err, sizeof(err))
               != 0)
    {
        goto failed;
    }

    /* secrets do not linger in the configuration pool */
    ngx_explicit_memzero(buf, len);

    return ks;

failed:

    ngx_explicit_memzero(buf, len);

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "key file \"%s\": %s",
                       path.data, err);
    return NULL;
}


static void
ngx_http_cartbot_jwt_keyset_cleanup(void *data)
{
    cartbot_jwt_keyset_free(data);
}


static void
ngx_http_cartbot_jwt_result_cleanup(void *data)
{
    cartbot_jwt_result_free(data);
}


/* cartbot_jwt_issuer / cartbot_jwt_audience value ... */

char *
ngx_http_cartbot_jwt_strings(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_array_t    **a;
    ngx_str_t       *value;
    ngx_uint_t       i;
    cartbot_str_t   *s;

    a = (ngx_array_t **) ((char *) conf + cmd->offset);

    if (*a) {
        return "is duplicate";
    }

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1,
                          sizeof(cartbot_str_t));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        s->data = (char *) value[i].data;
        s->len = value[i].len;
    }

    return NGX_CONF_OK;
}


/* cartbot_jwt_require $value ... [error=401|403] */

char *
ngx_http_cartbot_jwt_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_gateway_loc_conf_t *glcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t          *cv;
    ngx_http_cartbot_jwt_require_t    *req;
    ngx_http_compile_complex_value_t   ccv;

    if (glcf->requires == NULL) {
        glcf->requires = ngx_array_create(cf->pool, 2,
                                     sizeof(ngx_http_cartbot_jwt_require_t));
        if (glcf->requires == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    req = ngx_array_push(glcf->requires);
    if (req == NULL) {
        return NGX_CONF_ERROR;
    }

    req->status = NGX_HTTP_UNAUTHORIZED;
    req->values = ngx_array_create(cf->pool, 2,
                                   sizeof(ngx_http_complex_value_t));
    if (req->values == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "error=401") == 0) {
            req->status = NGX_HTTP_UNAUTHORIZED;
            continue;
        }

        if (ngx_strcmp(value[i].data, "error=403") == 0) {
            req->status = NGX_HTTP_FORBIDDEN;
            continue;
        }

        cv = ngx_array_push(req->values);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = cv;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (req->values->nelts == 0) {
        return "needs at least one value";
    }

    return NGX_CONF_OK;
}


void
ngx_http_cartbot_jwt_merge(ngx_http_cartbot_gateway_loc_conf_t *prev,
    ngx_http_cartbot_gateway_loc_conf_t *conf)
{
    if (conf->jwt == NGX_CONF_UNSET_UINT) {
        conf->jwt = (prev->jwt == NGX_CONF_UNSET_UINT) ? 0 : prev->jwt;
        conf->realm = prev->realm;
        conf->token = prev->token;
    }

    if (conf->keys == NULL) {
        conf->keys = prev->keys;
    }

    if (conf->issuers == NULL) {
        conf->issuers = prev->issuers;
    }

    if (conf->audiences == NULL) {
        conf->audiences = prev->audiences;
    }

    if (conf->requires == NULL) {
        conf->requires = prev->requires;
    }

    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 0);
    ngx_conf_merge_size_value(conf->max_size, prev->max_size, 8192);
}
