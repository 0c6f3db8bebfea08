
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
 *     location = /checkout {
 *         cartbot_session_cart  /internal/cart;    # the cart's priced view
 *         cartbot_session checkout;                            # POST
 *     }
 *
 * Checkout asks the cart module for the priced cart (its internal API),
 * then runs one transaction: the cart must still be exactly what was
 * priced, every product must have the stock, stock is decremented, the
 * order is written with each line's name and price of the moment, and the
 * session is completed.  All of it happens or none of it does.
 * A session belongs to the user who created it: anybody else is told it
 * does not exist.  A session idle longer than cartbot_session_idle is
 * marked abandoned when it is next looked at.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"
#include "cartbot_pricing.h"


#define NGX_HTTP_CARTBOT_SESSION_CREATE     1
#define NGX_HTTP_CARTBOT_SESSION_GET        2
#define NGX_HTTP_CARTBOT_SESSION_VALIDATE   3
#define NGX_HTTP_CARTBOT_SESSION_CHECKOUT   4

/* a cart that changed between pricing and ordering is priced again */
#define NGX_HTTP_CARTBOT_SESSION_REPRICE    3


typedef struct {
    ngx_http_cartbot_loc_conf_t    cartbot;
    ngx_uint_t                     op;
    time_t                         idle;
    ngx_str_t                      cart_uri;
} ngx_http_cartbot_session_loc_conf_t;


typedef struct {
    ngx_http_cartbot_ctx_t         ctx;
    ngx_http_cartbot_db_query_t   *query;
    ngx_http_cartbot_call_t       *call;
    ngx_str_t                      session;
    ngx_str_t                      user;
    ngx_uint_t                     attempts;
} ngx_http_cartbot_session_ctx_t;


static ngx_int_t ngx_http_cartbot_session_handler(ngx_http_request_t *r);
static void ngx_http_cartbot_session_create_body(ngx_http_request_t *r);
static void ngx_http_cartbot_session_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_session_start(ngx_http_request_t *r,
    ngx_str_t *session);
static void ngx_http_cartbot_session_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_session_price(ngx_http_request_t *r,
    ngx_http_cartbot_session_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_session_order(ngx_http_request_t *r,
    ngx_http_cartbot_session_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_session_receipt(ngx_http_request_t *r,
    ngx_http_cartbot_session_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_session_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_cartbot_session_init(ngx_conf_t *cf);
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
    { ngx_string("checkout"), NGX_HTTP_CARTBOT_SESSION_CHECKOUT },
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

    { ngx_string("cartbot_session_cart"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_session_loc_conf_t, cart_uri),
      NULL },

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
    ngx_http_cartbot_session_init,         /* postconfiguration */

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


/*
 * Checkout.  $expect is the priced cart as "product:id=qty@cents" items,
 * sorted and joined with ','; the totals are the priced cart's, in cents.
 */

static const char  ngx_http_cartbot_session_checkout_sql[] =
    "LET $s = type::record('user_session', $sid);"
    "BEGIN;"
    "LET $sess = $s.*;"
    "IF $sess = NONE OR $sess.user_id != $user"
    " { THROW 'session_not_found' };"
    "IF $sess.status = 'completed' { THROW 'already_checked_out' };"
    "IF $sess.status != 'active'"
    " { THROW 'session_not_active: this session is ' + $sess.status };"
    "LET $lines = (SELECT product_id, <int> math::sum(quantity) AS quantity,"
    " time::min(added_at) AS added_at FROM cart WHERE session_id = $s"
    " GROUP BY product_id ORDER BY added_at);"
    "IF array::len($lines) = 0 { THROW 'cart_empty' };"
    "LET $now = array::join(array::sort((SELECT VALUE <string> product_id"
    " + '=' + <string> quantity + '@'"
    " + <string> <int> math::round(product_id.price * 100) FROM $lines)),"
    " ',');"
    "IF $now != $expect { THROW 'cart_changed' };"
    "FOR $l IN $lines {"
    " LET $prod = $l.product_id.*;"
    " IF $prod.stock_quantity < $l.quantity { THROW 'out_of_stock: '"
    " + $prod.name + ' has only ' + <string> $prod.stock_quantity"
    " + ' left' };"
    " UPDATE $l.product_id SET stock_quantity -= $l.quantity;"
    "};"
    "LET $order = CREATE ONLY purchase_order SET session_id = $s,"
    " user_id = $user, status = 'placed',"
    " items = (SELECT product_id, product_id.name AS name,"
    " product_id.price AS unit_price, quantity,"
    " math::round(product_id.price * quantity * 100) / 100 AS line_total"
    " FROM $lines),"
    " subtotal = <int> $subtotal / 100.0, discount = <int> $discount / 100.0,"
    " tax = <int> $tax / 100.0, shipping = <int> $shipping / 100.0,"
    " total = <int> $total / 100.0, currency = $currency;"
    "UPDATE $s SET status = 'completed';"
    "COMMIT;"
    "RETURN $order;";


static ngx_http_cartbot_db_thrown_t  ngx_http_cartbot_session_errors[] = {
    { "session_not_found", NGX_HTTP_NOT_FOUND, "no such session" },
    { "already_checked_out", NGX_HTTP_CONFLICT,
      "this session was checked out already" },
    { "session_not_active", NGX_HTTP_CONFLICT, NULL },
    { "cart_empty", 422, "the cart is empty" },
    { "cart_changed", NGX_HTTP_CONFLICT,
      "the cart kept changing during checkout; please try again" },
    { "out_of_stock", NGX_HTTP_CONFLICT, NULL },
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

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_VALIDATE
        || slcf->op == NGX_HTTP_CARTBOT_SESSION_CHECKOUT)
    {
        rc = ngx_http_cartbot_read_json_body(r,
                                             ngx_http_cartbot_session_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_CREATE) {

        /*
         * The body ({} or nothing) is read, not discarded: a discard still
         * going on when the database subrequest starts could leave part of
         * it behind as the connection's next request.
         */

        rc = ngx_http_read_client_request_body(r,
                                      ngx_http_cartbot_session_create_body);
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


/* validate and checkout: {"session_id": ...} */

static void
ngx_http_cartbot_session_body(ngx_http_request_t *r)
{
    char                                  err[128];
    yajl_val                              body;
    ngx_int_t                             rc;
    ngx_str_t                             id;
    const char                           *s;
    ngx_http_cartbot_session_ctx_t       *ctx;
    ngx_http_cartbot_session_loc_conf_t  *slcf;

    body = ngx_http_cartbot_parse_body(r, err, sizeof(err));

    if (!YAJL_IS_OBJECT(body)) {
        rc = ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_json",
                                         body ? "a JSON object is expected"
                                              : err);
        ngx_http_finalize_request(r, rc);
        return;
    }

    s = cartbot_json_get_string(body, "session_id");

    if (s == NULL
        || ngx_http_cartbot_record_key(r, "user_session", s, ngx_strlen(s),
                                       &id)
           != NGX_OK)
    {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_session_id",
                                         "session_id must be a session id "
                                         "string");
        ngx_http_finalize_request(r, rc);
        return;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_session_module);

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_CHECKOUT) {
        ctx = ngx_http_get_module_ctx(r, ngx_cartbot_session_module);
        ctx->session = id;

        rc = ngx_http_cartbot_user(r, &slcf->cartbot, &ctx->user);

        if (rc == NGX_OK) {
            rc = ngx_http_cartbot_session_price(r, ctx);

        } else if (rc == NGX_DECLINED) {
            rc = NGX_HTTP_UNAUTHORIZED;
        }

    } else {
        rc = ngx_http_cartbot_session_start(r, &id);
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_cartbot_status_error(r, rc));
    }
}


/* checkout, step 1: the priced cart from the cart module */


static void
ngx_http_cartbot_session_create_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_cartbot_session_start(r, NULL);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_cartbot_status_error(r, rc));
    }
}

static ngx_int_t
ngx_http_cartbot_session_price(ngx_http_request_t *r,
    ngx_http_cartbot_session_ctx_t *ctx)
{
    ngx_str_t                             args;
    ngx_http_cartbot_session_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_session_module);

    if (slcf->cart_uri.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_session: checkout needs "
                      "\"cartbot_session_cart\"");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    args.len = sizeof("session_id=") - 1 + ctx->session.len;
    args.data = ngx_pnalloc(r->pool, args.len);
    if (args.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(args.data, "session_id=%V", &ctx->session);

    ctx->query = NULL;
    ctx->call = ngx_http_cartbot_call(r, &ctx->ctx, &slcf->cart_uri, &args,
                                      NGX_HTTP_GET, NULL);
    if (ctx->call == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * checkout, step 2: the one transaction, against what was priced.  Either
 * ctx->query is started, or the answer is sent and the status returned.
 */

static ngx_int_t
ngx_http_cartbot_session_order(ngx_http_request_t *r,
    ngx_http_cartbot_session_ctx_t *ctx)
{
    char                                  err[128];
    size_t                                i, n;
    double                                d;
    yajl_val                              cart, items, item, pricing;
    long long                             qty, cents;
    const char                           *pid, *status, *currency;
    cartbot_buf_t                         expect;
    cartbot_mem_t                        *mem;
    const char                          **lines;
    cartbot_surreal_query_t               sq;
    ngx_http_cartbot_session_loc_conf_t  *slcf;
    static const char                    *totals[] = {
        "subtotal", "discount", "tax", "shipping", "total"
    };

    slcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_session_module);

    /* the cart module's errors (404 for another's session) are final */

    if (ctx->call->status != NGX_HTTP_OK) {
        if (ctx->call->body.len && ctx->call->status < 500) {
            return ngx_http_cartbot_send_json(r, ctx->call->status,
                                              ctx->call->body.data,
                                              ctx->call->body.len);
        }

        return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                           "cart_unavailable",
                                           "the cart could not be read");
    }

    cart = cartbot_json_parse((char *) ctx->call->body.data,
                              ctx->call->body.len, err, sizeof(err));
    if (ngx_http_cartbot_json_cleanup(r->pool, cart) != NGX_OK) {
        return NGX_ERROR;
    }

    items = cartbot_json_get(cart, "items");
    pricing = cartbot_json_get(cart, "pricing");
    status = cartbot_json_get_string(cart, "status");
    currency = cartbot_json_get_string(pricing, "currency");

    if (!YAJL_IS_ARRAY(items) || status == NULL || currency == NULL) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                           "cart_unavailable",
                                           "the cart answered in an "
                                           "unexpected way");
    }

    if (ngx_strcmp(status, "completed") == 0) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_CONFLICT,
                                           "already_checked_out",
                                           "this session was checked out "
                                           "already");
    }

    n = items->u.array.len;

    if (n == 0) {
        return ngx_http_cartbot_send_error(r, 422, "cart_empty",
                                           "the cart is empty");
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    lines = ngx_palloc(r->pool, n * sizeof(char *));
    if (lines == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        item = items->u.array.values[i];
        pid = cartbot_json_get_string(item, "product_id");

        if (pid == NULL
            || cartbot_json_get_int(item, "quantity", &qty) != 0
            || (cartbot_json_get_double(item, "unit_price", &d) != 0
                && cartbot_json_get_int(item, "unit_price", &cents) != 0))
        {
            return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                               "cart_unavailable",
                                               "unexpected cart line");
        }

        if (cartbot_json_get_double(item, "unit_price", &d) != 0) {
            d = (double) cents;
        }

        if (cartbot_pricing_cents(d, &cents) != 0) {
            return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                               "cart_unavailable",
                                               "unexpected cart price");
        }

        cartbot_buf_init(&expect, mem, 64);
        cartbot_buf_printf(&expect, "%s=%lld@%lld", pid, qty, cents);

        lines[i] = cartbot_buf_cstr(&expect);
        if (lines[i] == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_sort(lines, n, sizeof(char *), ngx_http_cartbot_session_cmp);

    cartbot_buf_init(&expect, mem, 64 * n);

    for (i = 0; i < n; i++) {
        if (i) {
            cartbot_buf_add_char(&expect, ',');
        }

        cartbot_buf_add_str(&expect, lines[i]);
    }

    cartbot_surreal_query_init(&sq, mem,
                               ngx_http_cartbot_session_checkout_sql);
    cartbot_surreal_bind(&sq, "sid", (char *) ctx->session.data,
                         ctx->session.len);
    cartbot_surreal_bind(&sq, "user", (char *) ctx->user.data,
                         ctx->user.len);
    cartbot_surreal_bind(&sq, "expect", expect.data, expect.len);
    cartbot_surreal_bind(&sq, "currency", currency, ngx_strlen(currency));

    for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
        if ((cartbot_json_get_double(pricing, totals[i], &d) != 0
             && cartbot_json_get_int(pricing, totals[i], &cents) != 0))
        {
            return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                               "cart_unavailable",
                                               "unexpected cart pricing");
        }

        if (cartbot_json_get_double(pricing, totals[i], &d) == 0
            && cartbot_pricing_cents(d, &cents) != 0)
        {
            return NGX_ERROR;
        }

        cartbot_surreal_bind_int(&sq, totals[i], cents);
    }

    if (sq.failed) {
        return ngx_http_cartbot_status_error(r, NGX_HTTP_BAD_REQUEST);
    }

    ctx->query = ngx_http_cartbot_db_query(r, &ctx->ctx, &slcf->cartbot.db,
                                           &sq);
    if (ctx->query == NULL) {
        return ngx_http_cartbot_status_error(r,
                                             NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    ctx->call = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_session_cmp(const void *one, const void *two)
{
    return ngx_strcmp(*(const char **) one, *(const char **) two);
}


/*
 * {"order_id":..,"session_id":..,"status":"placed","items":[...],
 *  "pricing":{...},"created_at":..}
 */

static ngx_int_t
ngx_http_cartbot_session_receipt(ngx_http_request_t *r,
    ngx_http_cartbot_session_ctx_t *ctx)
{
    size_t          i;
    double          d;
    yajl_val        order, items, item, v;
    long long       cents;
    cartbot_buf_t   b;
    cartbot_mem_t  *mem;
    static const char  *totals[] = {
        "subtotal", "discount", "tax", "shipping", "total"
    };

    order = cartbot_surreal_last(&ctx->query->result);
    items = cartbot_json_get(order, "items");

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL || !YAJL_IS_ARRAY(items)) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                           "database_protocol",
                                           "unexpected order");
    }

    cartbot_buf_init(&b, mem, 1024);

    cartbot_buf_add_str(&b, "{\"order_id\":");
    cartbot_json_add_value(&b, cartbot_json_get(order, "id"));
    cartbot_buf_add_str(&b, ",\"session_id\":");
    cartbot_json_add_value(&b, cartbot_json_get(order, "session_id"));
    cartbot_buf_add_str(&b, ",\"status\":");
    cartbot_json_add_value(&b, cartbot_json_get(order, "status"));
    cartbot_buf_add_str(&b, ",\"items\":[");

    for (i = 0; i < items->u.array.len; i++) {
        item = items->u.array.values[i];

        cartbot_buf_add_str(&b, i ? ",{\"product_id\":" : "{\"product_id\":");
        cartbot_json_add_value(&b, cartbot_json_get(item, "product_id"));
        cartbot_buf_add_str(&b, ",\"name\":");
        cartbot_json_add_value(&b, cartbot_json_get(item, "name"));
        cartbot_buf_add_str(&b, ",\"unit_price\":");
        v = cartbot_json_get(item, "unit_price");
        d = YAJL_IS_NUMBER(v) ? v->u.number.d : 0;
        (void) cartbot_pricing_cents(d, &cents);
        cartbot_pricing_add_money(&b, cents);
        cartbot_buf_add_str(&b, ",\"quantity\":");
        cartbot_json_add_value(&b, cartbot_json_get(item, "quantity"));
        cartbot_buf_add_str(&b, ",\"line_total\":");
        v = cartbot_json_get(item, "line_total");
        d = YAJL_IS_NUMBER(v) ? v->u.number.d : 0;
        (void) cartbot_pricing_cents(d, &cents);
        cartbot_pricing_add_money(&b, cents);
        cartbot_buf_add_char(&b, '}');
    }

    cartbot_buf_add_str(&b, "],\"pricing\":{");

    for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
        v = cartbot_json_get(order, totals[i]);
        d = YAJL_IS_NUMBER(v) ? v->u.number.d : 0;
        (void) cartbot_pricing_cents(d, &cents);
        cartbot_buf_printf(&b, "%s\"%s\":", i ? "," : "", totals[i]);
        cartbot_pricing_add_money(&b, cents);
    }

    cartbot_buf_add_str(&b, ",\"currency\":");
    cartbot_json_add_value(&b, cartbot_json_get(order, "currency"));
    cartbot_buf_add_str(&b, "},\"created_at\":");
    cartbot_json_add_value(&b, cartbot_json_get(order, "created_at"));
    cartbot_buf_add_char(&b, '}');

    return ngx_http_cartbot_send_buf(r, NGX_HTTP_CREATED, &b);
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
    ngx_http_cartbot_session_ctx_t       *sctx;
    ngx_http_cartbot_session_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_session_module);
    sctx = (ngx_http_cartbot_session_ctx_t *) ctx;
    q = sctx->query;

    if (slcf->op == NGX_HTTP_CARTBOT_SESSION_CHECKOUT) {

        if (sctx->call) {
            /* either the transaction starts, or the answer was sent */

            rc = ngx_http_cartbot_session_order(r, sctx);

            if (sctx->query == NULL) {
                ngx_http_finalize_request(r, rc);
            }

            return;
        }

        if (q->error == 0 && q->result.outcome == CARTBOT_SURREAL_STATEMENT
            && sctx->attempts < NGX_HTTP_CARTBOT_SESSION_REPRICE
            && ngx_strcmp(cartbot_surreal_thrown(q->result.error),
                          "cart_changed") == 0)
        {
            sctx->attempts++;

            rc = ngx_http_cartbot_session_price(r, sctx);
            if (rc != NGX_OK) {
                ngx_http_finalize_request(r,
                                    ngx_http_cartbot_status_error(r, rc));
            }

            return;
        }

        if (q->error || q->result.outcome != CARTBOT_SURREAL_OK) {
            rc = ngx_http_cartbot_db_send_thrown(r, q,
                                             ngx_http_cartbot_session_errors);
        } else {
            rc = ngx_http_cartbot_session_receipt(r, sctx);
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

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


static ngx_int_t
ngx_http_cartbot_session_init(ngx_conf_t *cf)
{
    /* checkout calls the cart module */
    return ngx_http_cartbot_call_init(cf);
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
    ngx_conf_merge_str_value(conf->cart_uri, prev->cart_uri, "");

    return ngx_http_cartbot_merge_loc_conf(cf, &prev->cartbot,
                                           &conf->cartbot);
}


static char *
ngx_http_cartbot_session(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_cartbot_set_op(cf, cmd, conf,
                                   ngx_http_cartbot_session_handler);
}
