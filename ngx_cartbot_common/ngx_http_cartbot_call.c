
/*
 * Cartbot: calls from one module to another's internal API, such as the
 * session module asking the cart module for the priced cart.
 *
 * A call is a subrequest to an internal location.  It cannot be an
 * in-memory subrequest: the handler it reaches makes in-memory
 * subrequests of its own (to SurrealDB), and nginx refuses to nest those.
 * So the answer goes through the output filters, where a filter of the
 * calling module keeps it: the header filter records the status, the body
 * filter copies the body into memory, and neither passes anything on.
 * A call is recognised by its post_subrequest handler: each module links
 * its own copy of this file, so each filter sees only its own calls.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"


/* the largest answer a call keeps */
#define NGX_HTTP_CARTBOT_CALL_MAX  (1024 * 1024)


static ngx_int_t ngx_http_cartbot_call_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_cartbot_call_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_call_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/* called from the postconfiguration of a module that makes calls */

ngx_int_t
ngx_http_cartbot_call_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_cartbot_call_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_cartbot_call_body_filter;

    return NGX_OK;
}


ngx_http_cartbot_call_t *
ngx_http_cartbot_call(ngx_http_request_t *r, ngx_http_cartbot_ctx_t *ctx,
    ngx_str_t *uri, ngx_str_t *args, ngx_uint_t method, ngx_str_t *body)
{
    ngx_http_request_t          *sr;
    ngx_http_cartbot_call_t     *call;
    ngx_http_request_body_t     *rb;
    ngx_http_post_subrequest_t  *ps;
    static ngx_str_t             get = ngx_string("GET");
    static ngx_str_t             post = ngx_string("POST");
    static ngx_str_t             put = ngx_string("PUT");

    call = ngx_pcalloc(r->pool, sizeof(ngx_http_cartbot_call_t));
    if (call == NULL) {
        return NULL;
    }

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NULL;
    }

    rb = ngx_http_cartbot_request_body(r, body);
    if (rb == NULL) {
        return NULL;
    }

    call->ctx = ctx;
    call->request = r;

    ps->handler = ngx_http_cartbot_call_done;
    ps->data = call;

    if (ngx_http_subrequest(r, uri, args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_WAITED)
        != NGX_OK)
    {
        return NULL;
    }

    if (method == NGX_HTTP_POST) {
        sr->method = NGX_HTTP_POST;
        sr->method_name = post;

    } else if (method == NGX_HTTP_PUT) {
        sr->method = NGX_HTTP_PUT;
        sr->method_name = put;

    } else {
        sr->method = NGX_HTTP_GET;
        sr->method_name = get;
    }

    sr->request_body = rb;
    sr->headers_in.content_length_n = body ? (off_t) body->len : 0;
    sr->headers_in.content_length = NULL;
    sr->headers_in.content_type = NULL;
    sr->headers_in.chunked = 0;
    sr->headers_in.transfer_encoding = NULL;

    /* the callee answers JSON; it is never cached or gzipped here */
    sr->header_only = 0;

    ctx->pending++;
    ctx->responded = 0;

    r->write_event_handler = ctx->glue->wake;
    r->read_event_handler = ngx_http_cartbot_check_broken_connection;

    return call;
}


static ngx_int_t
ngx_http_cartbot_call_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_http_cartbot_call_t *call = data;

    if (call->done) {
        return NGX_OK;
    }

    call->done = 1;
    call->ctx->pending--;

    /*
     * A call that is not the active request and still has subrequests of
     * its own would wake its parent only once they are flushed, which
     * waits for the parent's output: the parent is woken now.
     */

    if (ngx_http_post_request(sr->parent, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    if (call->status == 0) {
        call->status = (rc >= NGX_HTTP_SPECIAL_RESPONSE) ? (ngx_uint_t) rc
                       : sr->headers_out.status ? sr->headers_out.status
                       : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST || sr->connection->error) {
        return rc;
    }

    return NGX_OK;
}


static ngx_http_cartbot_call_t *
ngx_http_cartbot_call_of(ngx_http_request_t *r)
{
    if (r == r->main || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_cartbot_call_done)
    {
        return NULL;
    }

    return r->post_subrequest->data;
}


static ngx_int_t
ngx_http_cartbot_call_header_filter(ngx_http_request_t *r)
{
    ngx_http_cartbot_call_t  *call;

    call = ngx_http_cartbot_call_of(r);

    if (call == NULL) {
        return ngx_http_next_header_filter(r);
    }

    call->status = r->headers_out.status;

    /* the answer stays here: nothing reaches the client */

    r->header_sent = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_call_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                    n;
    u_char                   *p;
    ngx_buf_t                *b;
    ngx_chain_t              *cl;
    ngx_http_cartbot_call_t  *call;

    call = ngx_http_cartbot_call_of(r);

    if (call == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            n = b->last - b->pos;

            if (call->body.len + n > NGX_HTTP_CARTBOT_CALL_MAX) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "cartbot call: answer over %d bytes",
                              NGX_HTTP_CARTBOT_CALL_MAX);
                return NGX_ERROR;
            }

            if (n) {
                p = ngx_pnalloc(r->main->pool, call->body.len + n);
                if (p == NULL) {
                    return NGX_ERROR;
                }

                ngx_memcpy(p, call->body.data, call->body.len);
                ngx_memcpy(p + call->body.len, b->pos, n);

                call->body.data = p;
                call->body.len += n;
            }

        } else if (b->in_file) {
            /* internal APIs answer from memory; a file is not expected */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "cartbot call: answer in a file");
            return NGX_ERROR;
        }

        b->pos = b->last;

        if (b->in_file) {
            b->file_pos = b->file_last;
        }
    }

    /*
     * Nothing goes on, but the postpone filter must still see the call
     * when it is the active request: that is how the callee's own
     * subrequests, done while another call was active, are let finish.
     */

    return ngx_http_next_body_filter(r, NULL);
}
