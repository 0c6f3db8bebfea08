
/*
 * Cartbot: request plumbing shared by the modules: pool-backed memory for
 * the core, JSON bodies in and out, JSON errors, and the wake-up of a
 * request that waits for subrequests.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"


static void *ngx_http_cartbot_pool_alloc(void *data, size_t size);
static void ngx_http_cartbot_json_free(void *data);


static void *
ngx_http_cartbot_pool_alloc(void *data, size_t size)
{
    return ngx_palloc((ngx_pool_t *) data, size);
}


cartbot_mem_t *
ngx_http_cartbot_mem(ngx_pool_t *pool)
{
    cartbot_mem_t  *mem;

    mem = ngx_palloc(pool, sizeof(cartbot_mem_t));
    if (mem == NULL) {
        return NULL;
    }

    mem->alloc = ngx_http_cartbot_pool_alloc;
    mem->data = pool;

    return mem;
}


static void
ngx_http_cartbot_json_free(void *data)
{
    cartbot_json_free(data);
}


/* yajl allocates with malloc(): tie the document's life to the pool */

ngx_int_t
ngx_http_cartbot_json_cleanup(ngx_pool_t *pool, yajl_val v)
{
    ngx_pool_cleanup_t  *cln;

    if (v == NULL) {
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        cartbot_json_free(v);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_cartbot_json_free;
    cln->data = v;

    return NGX_OK;
}


/*
 * The client body as a JSON document owned by the request pool.  Bodies
 * are expected in memory (client_body_buffer_size equal to
 * client_max_body_size): reading a temp file would block the worker, so
 * such a body is refused like an oversized one.
 */

yajl_val
ngx_http_cartbot_parse_body(ngx_http_request_t *r, char *err, size_t errlen)
{
    size_t          len;
    u_char         *p;
    yajl_val        v;
    ngx_chain_t    *cl;

    len = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        ngx_cpystrn((u_char *) err, (u_char *) "empty request body", errlen);
        return NULL;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "cartbot: request body was buffered to a file; "
                          "set client_body_buffer_size to "
                          "client_max_body_size");
            ngx_cpystrn((u_char *) err, (u_char *) "request body too large",
                        errlen);
            return NULL;
        }

        len += ngx_buf_size(cl->buf);
    }

    if (r->request_body->bufs->next == NULL) {
        p = r->request_body->bufs->buf->pos;

    } else {
        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            ngx_cpystrn((u_char *) err, (u_char *) "out of memory", errlen);
            return NULL;
        }

        len = 0;

        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            ngx_memcpy(p + len, cl->buf->pos, cl->buf->last - cl->buf->pos);
            len += cl->buf->last - cl->buf->pos;
        }
    }

    v = cartbot_json_parse((const char *) p, len, err, errlen);

    if (ngx_http_cartbot_json_cleanup(r->pool, v) != NGX_OK) {
        return NULL;
    }

    return v;
}


/*
 * Starts reading a JSON body: a body of another media type is refused with
 * 415 before it is read.  Returns what ngx_http_read_client_request_body()
 * does, or the status already answered.
 */

ngx_int_t
ngx_http_cartbot_read_json_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler)
{
    ngx_str_t  *type;

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type && !(type->len >= 16
                  && ngx_strncasecmp(type->data,
                                     (u_char *) "application/json", 16) == 0
                  && (type->len == 16 || type->data[16] == ';'
                      || type->data[16] == ' ')))
    {
        return ngx_http_cartbot_send_error(r,
                                          NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                          "unsupported_media_type",
                                          "send application/json");
    }

    return ngx_http_read_client_request_body(r, handler);
}


/* an argument as the client meant it: %XX and '+' decoded, in the pool */

ngx_int_t
ngx_http_cartbot_unescape_arg(ngx_http_request_t *r, ngx_str_t *arg)
{
    u_char  *dst, *src, *p;

    p = ngx_pnalloc(r->pool, arg->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (src = arg->data, dst = p; src < arg->data + arg->len; src++) {
        *dst++ = (*src == '+') ? ' ' : *src;
    }

    src = p;
    dst = p;
    ngx_unescape_uri(&dst, &src, arg->len, 0);

    arg->len = dst - p;
    arg->data = p;

    return NGX_OK;
}


ngx_int_t
ngx_http_cartbot_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    static ngx_str_t  json = ngx_string("application/json");

    return ngx_http_cartbot_send_typed(r, status, &json, data, len);
}


ngx_int_t
ngx_http_cartbot_send_typed(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = len ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_cartbot_send_buf(ngx_http_request_t *r, ngx_uint_t status,
    cartbot_buf_t *b)
{
    if (b->failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cartbot_buf_add_char(b, '\n');

    if (b->failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_cartbot_send_json(r, status, (u_char *) b->data, b->len);
}


/* $request_id of the main request; the gateway may have set it */

void
ngx_http_cartbot_request_id(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_http_variable_value_t  *vv;
    static ngx_str_t            name = ngx_string("request_id");

    ngx_str_null(id);

    vv = ngx_http_get_variable(r->main, &name,
                               ngx_hash_key(name.data, name.len));

    if (vv && !vv->not_found) {
        id->data = vv->data;
        id->len = vv->len;
    }
}


/*
 * {"error":{"code":"...","message":"...","request_id":"..."}}: the one
 * error shape of the public API.  Answers the request; the caller returns
 * or finalizes with what this returns.
 */

ngx_int_t
ngx_http_cartbot_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    ngx_str_t       id;
    cartbot_buf_t   b;
    cartbot_mem_t  *mem;

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    ngx_http_cartbot_request_id(r, &id);

    /* a refusal before the body was read: the body must not stay behind */

    if (r == r->main && r->request_body == NULL && !r->discard_body
        && ngx_http_discard_request_body(r) != NGX_OK)
    {
        r->keepalive = 0;
    }

    cartbot_buf_init(&b, mem, 256);
    cartbot_buf_add_str(&b, "{\"error\":{\"code\":");
    cartbot_json_add_string(&b, code, ngx_strlen(code));
    cartbot_buf_add_str(&b, ",\"message\":");
    cartbot_json_add_string(&b, message, ngx_strlen(message));
    cartbot_buf_add_str(&b, ",\"request_id\":");
    cartbot_json_add_string(&b, (const char *) id.data, id.len);
    cartbot_buf_add_str(&b, "}}");

    r->keepalive = r->keepalive && status < NGX_HTTP_INTERNAL_SERVER_ERROR;

    return ngx_http_cartbot_send_buf(r, status, &b);
}


/*
 * The JSON error for a status a handler stopped with before anything was
 * sent; NGX_ERROR stays NGX_ERROR.
 */

ngx_int_t
ngx_http_cartbot_status_error(ngx_http_request_t *r, ngx_int_t status)
{
    switch (status) {

    case NGX_ERROR:
        return NGX_ERROR;

    case NGX_HTTP_UNAUTHORIZED:
        return ngx_http_cartbot_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                           "authentication_required",
                                           "sign in first");

    case NGX_HTTP_BAD_REQUEST:
        return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_REQUEST,
                                           "invalid_request",
                                           "the request is not valid");

    default:
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "internal error");
    }
}


ngx_http_cartbot_ctx_t *
ngx_http_cartbot_ctx_create(ngx_http_request_t *r,
    ngx_http_cartbot_glue_t *glue, size_t size,
    ngx_http_cartbot_resume_pt resume)
{
    ngx_http_cartbot_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, size);
    if (ctx == NULL) {
        return NULL;
    }

    ctx->glue = glue;
    ctx->resume = resume;

    r->ctx[glue->module->ctx_index] = ctx;

    return ctx;
}


/*
 * The parent's write event handler while it waits: each finished
 * subrequest posts the parent here.  Finished queries are advanced (a
 * sign-in leads to the query, a conflict to a retry); when none is left
 * in flight the module resumes.
 */

void
ngx_http_cartbot_wake(ngx_http_request_t *r, ngx_module_t *module)
{
    ngx_http_cartbot_ctx_t  *ctx;

    ctx = r->ctx[module->ctx_index];

    if (ctx == NULL || ctx->responded) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "cartbot wake: pending:%ui", ctx->pending);

    if (ngx_http_cartbot_db_advance(r, ctx) != NGX_OK) {
        ctx->responded = 1;
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    if (ctx->pending) {
        return;
    }

    /*
     * resume either answers, after which r may be freed and must not be
     * touched here, or starts more queries, which clears "responded"
     */

    ctx->responded = 1;

    ctx->resume(r, ctx);
}


/*
 * Client events reach only the active request; while the parent waits
 * for a non-active subrequest nobody would notice a client that left.
 * A reduced ngx_http_test_reading().
 */

void
ngx_http_cartbot_check_broken_connection(ngx_http_request_t *r)
{
    int                n;
    char               buf[1];
    ngx_err_t          err;
    ngx_connection_t  *c;

    c = r->connection;

    /*
     * A body being discarded is read by nginx's own handler, which the
     * module's subrequests must not take the place of: the rest of the
     * body would be read as the connection's next request.
     */

    if (r->discard_body) {
        ngx_http_discarded_request_body_handler(r);
        return;
    }

#if (NGX_HTTP_V2)

    if (r->stream) {
        if (c->error) {
            ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        }

        return;
    }

#endif

    n = recv(c->fd, buf, 1, MSG_PEEK);

    err = (n == -1) ? ngx_socket_errno : 0;

    if (n > 0 || err == NGX_EAGAIN) {
        return;
    }

    c->read->eof = 1;
    c->error = 1;

    ngx_log_error(NGX_LOG_INFO, c->log, err,
                  "cartbot: client prematurely closed connection");

    ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
}


ngx_int_t
ngx_http_cartbot_user(ngx_http_request_t *r, ngx_http_cartbot_loc_conf_t *lcf,
    ngx_str_t *user)
{
    ngx_str_null(user);

    if (lcf->user
        && ngx_http_complex_value(r, lcf->user, user) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (user->len == 0) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_cartbot_record_key(ngx_http_request_t *r, const char *table,
    const char *text, size_t len, ngx_str_t *key)
{
    size_t       n;
    const char  *k;

    k = cartbot_surreal_record_key(table, text, len, &n);
    if (k == NULL) {
        return NGX_DECLINED;
    }

    key->data = ngx_pnalloc(r->pool, n);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(key->data, k, n);
    key->len = n;

    return NGX_OK;
}


/*
 * An ngx_conf_enum_t directive (cmd->post) at cmd->offset, once per
 * location, that also makes handler the location's content handler.
 */

char *
ngx_http_cartbot_set_op(ngx_conf_t *cf, ngx_command_t *cmd, void *conf,
    ngx_http_handler_pt handler)
{
    char                      *rv;
    ngx_uint_t                *op;
    ngx_http_core_loc_conf_t  *clcf;

    op = (ngx_uint_t *) ((char *) conf + cmd->offset);

    if (*op) {
        return "is duplicate";
    }

    *op = NGX_CONF_UNSET_UINT;

    rv = ngx_conf_set_enum_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = handler;

    return NGX_CONF_OK;
}


/* a subrequest's body of our own, even an empty one: never the client's */

ngx_http_request_body_t *
ngx_http_cartbot_request_body(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_buf_t                *b;
    ngx_http_request_body_t  *rb;

    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NULL;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NULL;
    }

    if (body && body->len) {
        b->temporary = 1;
        b->start = body->data;
        b->pos = body->data;
        b->last = body->data + body->len;
        b->end = b->last;
    }

    b->last_buf = 1;

    rb->bufs = ngx_alloc_chain_link(r->pool);
    if (rb->bufs == NULL) {
        return NULL;
    }

    rb->bufs->buf = b;
    rb->bufs->next = NULL;
    rb->buf = b;

    return rb;
}


/*
 * A POST subrequest to uri with exactly these headers and this body:
 * nothing of the client's request (Authorization, Cookie, body) reaches
 * the service behind uri.  In memory, or (streamed) through the output
 * filters, where the caller's filter takes it.
 */

ngx_int_t
ngx_http_cartbot_post(ngx_http_request_t *r, ngx_str_t *uri, ngx_str_t *args,
    ngx_list_t *headers, ngx_str_t *body, ngx_http_post_subrequest_t *ps,
    ngx_uint_t streamed, ngx_http_request_t **psr)
{
    ngx_http_request_t       *sr;
    ngx_http_request_body_t  *rb;
    static ngx_str_t          post = ngx_string("POST");

    rb = ngx_http_cartbot_request_body(r, body);
    if (rb == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_subrequest(r, uri, args, &sr, ps,
                            (streamed ? 0 : NGX_HTTP_SUBREQUEST_IN_MEMORY)
                            |NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->method = NGX_HTTP_POST;
    sr->method_name = post;
    sr->request_body = rb;

    /*
     * headers_in is a struct copy of the client's: replace the header list
     * so that the proxy sends exactly these headers.  The list header was
     * copied by value: its "last" must point into the copy.
     */

    sr->headers_in.headers = *headers;
    sr->headers_in.headers.last = &sr->headers_in.headers.part;

    sr->headers_in.content_length_n = body->len;
    sr->headers_in.content_length = NULL;
    sr->headers_in.content_type = NULL;
    sr->headers_in.chunked = 0;
    sr->headers_in.transfer_encoding = NULL;
    sr->headers_in.authorization = NULL;

    *psr = sr;

    return NGX_OK;
}


ngx_int_t
ngx_http_cartbot_add_header(ngx_list_t *headers, const char *key,
    ngx_str_t *value)
{
    size_t            len;
    ngx_table_elt_t  *h;

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(key);

    h->hash = 1;
    h->key.len = len;
    h->key.data = (u_char *) key;
    h->value = *value;

    h->lowcase_key = ngx_pnalloc(headers->pool, len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(h->lowcase_key, (u_char *) key, len);

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}
