
/*
 * ngx_cartbot_cart_module: the cart of Cartbot.
 *
 *     cartbot_cart_db    /_cartbot/db/sql  signin=/_cartbot/db/signin
 *                        credentials=secrets/cart.json;
 *     cartbot_cart_user  $jwt_claim_sub;          # who owns sessions
 *     cartbot_cart_max_quantity  99;              # per line
 *     cartbot_cart_pricing  tax=8.25 shipping=5.99 free_shipping_over=75
 *                           currency=USD;
 *
 *     location = /cart/add     { cartbot_cart add; }      # POST
 *     location = /cart/remove  { cartbot_cart remove; }   # POST
 *     location = /cart/update  { cartbot_cart update; }   # PUT
 *     location = /cart         { cartbot_cart view; }     # GET ?session_id=
 *     location = /cart/discount { cartbot_cart discount; } # POST
 *
 * Every change is one transaction in one database round trip: the session
 * must exist, belong to the caller and be active, the product must exist
 * and have the stock; the answer is the whole priced cart.  A line is the
 * sum of its entries (one row per add), so concurrent adds never lose an
 * increment.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"
#include "cartbot_pricing.h"


#define NGX_HTTP_CARTBOT_CART_VIEW     1
#define NGX_HTTP_CARTBOT_CART_ADD      2
#define NGX_HTTP_CARTBOT_CART_REMOVE   3
#define NGX_HTTP_CARTBOT_CART_UPDATE   4
#define NGX_HTTP_CARTBOT_CART_DISCOUNT 5

#define NGX_HTTP_CARTBOT_CART_CODE_MAX 32


typedef struct {
    ngx_http_cartbot_loc_conf_t    cartbot;
    ngx_uint_t                     op;
    ngx_int_t                      max_quantity;
    cartbot_pricing_conf_t         pricing;
    ngx_uint_t                     pricing_set;
} ngx_http_cartbot_cart_loc_conf_t;


typedef struct {
    ngx_http_cartbot_lanes_t       lanes;        /* per worker */
} ngx_http_cartbot_cart_main_conf_t;


typedef struct {
    ngx_http_cartbot_ctx_t         ctx;
    ngx_http_cartbot_db_query_t   *query;
    ngx_str_t                      session;      /* the record key */
    ngx_str_t                      product;   /* or the discount code */
    long long                      quantity;
    ngx_uint_t                     op;
    ngx_http_cartbot_lane_waiter_t lane;
} ngx_http_cartbot_cart_ctx_t;


static ngx_int_t ngx_http_cartbot_cart_handler(ngx_http_request_t *r);
static void ngx_http_cartbot_cart_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_cart_start(ngx_http_request_t *r,
    ngx_uint_t op, ngx_str_t *session, ngx_str_t *product,
    long long quantity);
static void ngx_http_cartbot_cart_go(ngx_http_request_t *r);
static void ngx_http_cartbot_cart_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_cart_answer(ngx_http_request_t *r,
    ngx_http_cartbot_cart_ctx_t *ctx, yajl_val cart);
static const char *ngx_http_cartbot_cart_discount(yajl_val cart,
    cartbot_pricing_t *p, cartbot_pricing_discount_t *discount);
static ngx_int_t ngx_http_cartbot_cart_code(ngx_http_request_t *r,
    yajl_val body, ngx_str_t *code);
static void ngx_http_cartbot_cart_wake(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_cart_query_handler(ngx_http_request_t *r);
static void *ngx_http_cartbot_cart_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_cartbot_cart_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cartbot_cart_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_cartbot_cart(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cartbot_cart_pricing(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


ngx_module_t  ngx_cartbot_cart_module;


static ngx_http_cartbot_glue_t  ngx_http_cartbot_cart_glue = {
    &ngx_cartbot_cart_module,
    ngx_http_cartbot_cart_wake,
    ngx_http_cartbot_cart_query_handler,
    ngx_string("cartbot_cart_db")
};


static ngx_conf_enum_t  ngx_http_cartbot_cart_ops[] = {
    { ngx_string("view"), NGX_HTTP_CARTBOT_CART_VIEW },
    { ngx_string("add"), NGX_HTTP_CARTBOT_CART_ADD },
    { ngx_string("remove"), NGX_HTTP_CARTBOT_CART_REMOVE },
    { ngx_string("update"), NGX_HTTP_CARTBOT_CART_UPDATE },
    { ngx_string("discount"), NGX_HTTP_CARTBOT_CART_DISCOUNT },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_cartbot_cart_commands[] = {

    ngx_http_cartbot_db_commands("cartbot_cart", ngx_http_cartbot_cart_glue),

    { ngx_string("cartbot_cart"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cartbot_cart,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_cart_loc_conf_t, op),
      &ngx_http_cartbot_cart_ops },

    { ngx_string("cartbot_cart_max_quantity"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_cart_loc_conf_t, max_quantity),
      NULL },

    { ngx_string("cartbot_cart_pricing"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_cart_pricing,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cartbot_cart_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_cartbot_cart_create_main_conf,
                                           /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cartbot_cart_create_loc_conf, /* create location configuration */
    ngx_http_cartbot_cart_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_cartbot_cart_module = {
    NGX_MODULE_V1,
    &ngx_http_cartbot_cart_module_ctx,     /* module context */
    ngx_http_cartbot_cart_commands,        /* module directives */
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


/*
 * The queries.  Values arrive as string variables: $sid and $pid are
 * record keys checked by the module, $qty an integer it checked, $user the
 * caller, $max the configured line maximum.
 */

#define NGX_HTTP_CARTBOT_CART_SESSION                                        \
    "LET $s = type::record('user_session', $sid);"                           \
    "LET $sess = $s.*;"                                                      \
    "IF $sess = NONE OR $sess.user_id != $user"                              \
    " { THROW 'session_not_found' };"

#define NGX_HTTP_CARTBOT_CART_ACTIVE                                         \
    "IF $sess.status != 'active'"                                            \
    " { THROW 'session_not_active: this session is ' + $sess.status };"

/*
 * Every change also writes the session: changes of one session, and a
 * checkout, conflict there and are serialized.  (Last in the transaction:
 * the engine's $value.exists() does not see a record updated earlier in
 * the same transaction.)
 */

#define NGX_HTTP_CARTBOT_CART_TOUCH                                          \
    "UPDATE $s SET last_active = time::now();"

#define NGX_HTTP_CARTBOT_CART_PRODUCT                                        \
    "LET $p = type::record('product', $pid);"                                \
    "LET $prod = $p.*;"                                                      \
    "IF $prod = NONE { THROW 'product_not_found' };"

/* the lines, and the discount code in force if the cart has one */

#define NGX_HTTP_CARTBOT_CART_SUMMARY                                        \
    "RETURN { status: $s.status, lines: (SELECT product_id,"                 \
    " product_id.name AS name, product_id.price AS unit_price, quantity"     \
    " FROM (SELECT product_id, <int> math::sum(quantity) AS quantity,"       \
    " time::min(added_at) AS added_at FROM cart WHERE session_id = $s"       \
    " GROUP BY product_id ORDER BY added_at)),"                              \
    " discount: (SELECT code, percent, amount, min_subtotal"                 \
    " FROM discount_code"                                                    \
    " WHERE code = type::record('cart_discount', $sid).code AND active"      \
    " AND (expires_at = NONE OR expires_at > time::now()))[0] };"


static const char  ngx_http_cartbot_cart_view_sql[] =
    NGX_HTTP_CARTBOT_CART_SESSION
    NGX_HTTP_CARTBOT_CART_SUMMARY;


static const char  ngx_http_cartbot_cart_add_sql[] =
    "BEGIN;"
    NGX_HTTP_CARTBOT_CART_SESSION
    NGX_HTTP_CARTBOT_CART_ACTIVE
    NGX_HTTP_CARTBOT_CART_PRODUCT
    "LET $n = <int>$qty;"
    "LET $have = math::sum((SELECT VALUE quantity FROM cart"
    " WHERE session_id = $s AND product_id = $p));"
    "IF $have + $n > <int>$max { THROW 'quantity_over_limit: at most '"
    " + $max + ' of one product' };"
    "IF $have + $n > $prod.stock_quantity { THROW 'out_of_stock: only '"
    " + <string> math::max([$prod.stock_quantity - $have, 0])"
    " + ' more available' };"
    "CREATE cart SET session_id = $s, product_id = $p, quantity = $n;"
    NGX_HTTP_CARTBOT_CART_TOUCH
    "COMMIT;"
    NGX_HTTP_CARTBOT_CART_SUMMARY;


static const char  ngx_http_cartbot_cart_remove_sql[] =
    "BEGIN;"
    NGX_HTTP_CARTBOT_CART_SESSION
    NGX_HTTP_CARTBOT_CART_ACTIVE
    "LET $p = type::record('product', $pid);"
    "LET $gone = (DELETE cart WHERE session_id = $s AND product_id = $p"
    " RETURN BEFORE);"
    "IF array::len($gone) = 0 { THROW 'not_in_cart' };"
    NGX_HTTP_CARTBOT_CART_TOUCH
    "COMMIT;"
    NGX_HTTP_CARTBOT_CART_SUMMARY;


static const char  ngx_http_cartbot_cart_update_sql[] =
    "BEGIN;"
    NGX_HTTP_CARTBOT_CART_SESSION
    NGX_HTTP_CARTBOT_CART_ACTIVE
    NGX_HTTP_CARTBOT_CART_PRODUCT
    "LET $n = <int>$qty;"
    "IF $n > <int>$max { THROW 'quantity_over_limit: at most '"
    " + $max + ' of one product' };"
    "IF $n > $prod.stock_quantity { THROW 'out_of_stock: only '"
    " + <string> $prod.stock_quantity + ' available' };"
    "LET $gone = (DELETE cart WHERE session_id = $s AND product_id = $p"
    " RETURN BEFORE);"
    "IF array::len($gone) = 0 { THROW 'not_in_cart' };"
    "CREATE cart SET session_id = $s, product_id = $p, quantity = $n,"
    " added_at = time::min($gone.added_at);"
    NGX_HTTP_CARTBOT_CART_TOUCH
    "COMMIT;"
    NGX_HTTP_CARTBOT_CART_SUMMARY;


static const char  ngx_http_cartbot_cart_discount_sql[] =
    "BEGIN;"
    NGX_HTTP_CARTBOT_CART_SESSION
    NGX_HTTP_CARTBOT_CART_ACTIVE
    "IF $code = '' { DELETE type::record('cart_discount', $sid) }"
    " ELSE {"
    " LET $dc = (SELECT id FROM discount_code WHERE code = $code AND active"
    " AND (expires_at = NONE OR expires_at > time::now()))[0];"
    " IF $dc = NONE { THROW 'invalid_discount_code' };"
    " UPSERT type::record('cart_discount', $sid) SET session_id = $s,"
    " code = $code;"
    "};"
    NGX_HTTP_CARTBOT_CART_TOUCH
    "COMMIT;"
    NGX_HTTP_CARTBOT_CART_SUMMARY;


static ngx_http_cartbot_db_thrown_t  ngx_http_cartbot_cart_errors[] = {
    { "invalid_discount_code", 422, "that discount code is not valid" },
    { "session_not_found", NGX_HTTP_NOT_FOUND, "no such session" },
    { "session_not_active", NGX_HTTP_CONFLICT, NULL },
    { "product_not_found", NGX_HTTP_NOT_FOUND, "no such product" },
    { "not_in_cart", NGX_HTTP_NOT_FOUND, "that product is not in the cart" },
    { "out_of_stock", NGX_HTTP_CONFLICT, NULL },
    { "quantity_over_limit", 422, NULL },
    { NULL, 0, NULL }
};


static ngx_int_t
ngx_http_cartbot_cart_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_str_t                          arg, session;
    ngx_uint_t                         method;
    ngx_http_cartbot_ctx_t            *ctx;
    ngx_http_cartbot_cart_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_cart_module);

    switch (clcf->op) {

    case NGX_HTTP_CARTBOT_CART_VIEW:
        method = NGX_HTTP_GET|NGX_HTTP_HEAD;
        break;

    case NGX_HTTP_CARTBOT_CART_UPDATE:
        method = NGX_HTTP_PUT|NGX_HTTP_PATCH;
        break;

    default:
        method = NGX_HTTP_POST;
    }

    if (!(r->method & method)) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed",
                                           "method not allowed here");
    }

    if (clcf->cartbot.db.sql_uri.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_cart: no \"cartbot_cart_db\" here");
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "no database configured");
    }

    ctx = ngx_http_cartbot_ctx_create(r, &ngx_http_cartbot_cart_glue,
                                      sizeof(ngx_http_cartbot_cart_ctx_t),
                                      ngx_http_cartbot_cart_resume);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (clcf->op != NGX_HTTP_CARTBOT_CART_VIEW) {
        rc = ngx_http_cartbot_read_json_body(r, ngx_http_cartbot_cart_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_arg(r, (u_char *) "session_id", 10, &arg) != NGX_OK) {
        return ngx_http_cartbot_send_error(r, 422, "invalid_session_id",
                                           "session_id is required");
    }

    if (ngx_http_cartbot_unescape_arg(r, &arg) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_cartbot_record_key(r, "user_session", (char *) arg.data,
                                  arg.len, &session);
    if (rc != NGX_OK) {
        return ngx_http_cartbot_send_error(r, 422, "invalid_session_id",
                                           "session_id is not a session id");
    }

    rc = ngx_http_cartbot_cart_start(r, NGX_HTTP_CARTBOT_CART_VIEW,
                                     &session, NULL, 0);
    if (rc != NGX_OK) {
        return ngx_http_cartbot_status_error(r, rc);
    }

    r->main->count++;

    return NGX_DONE;
}


/* the JSON body is in: check it field by field, then run the change */

static void
ngx_http_cartbot_cart_body(ngx_http_request_t *r)
{
    char                                err[128];
    yajl_val                            body, v;
    ngx_int_t                           rc;
    ngx_str_t                           session, product;
    long long                           quantity, min;
    const char                         *s;
    ngx_http_cartbot_cart_ctx_t        *ctx;
    ngx_http_cartbot_cart_loc_conf_t   *clcf;
    ngx_http_cartbot_cart_main_conf_t  *cmcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_cart_module);

    quantity = 0;

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
                                    &session)
           != NGX_OK)
    {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_session_id",
                                         "session_id must be a session id "
                                         "string");
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (clcf->op == NGX_HTTP_CARTBOT_CART_DISCOUNT) {
        if (ngx_http_cartbot_cart_code(r, body, &product) != NGX_OK) {
            rc = ngx_http_cartbot_send_error(r, 422, "invalid_discount_code",
                                             "code must be a discount code "
                                             "string, or null to remove it");
            ngx_http_finalize_request(r, rc);
            return;
        }

        goto lane;
    }

    s = cartbot_json_get_string(body, "product_id");

    if (s == NULL
        || ngx_http_cartbot_record_key(r, "product", s, ngx_strlen(s), &product)
           != NGX_OK)
    {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_product_id",
                                         "product_id must be a product id "
                                         "string");
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (clcf->op != NGX_HTTP_CARTBOT_CART_REMOVE) {
        v = cartbot_json_get(body, "quantity");
        min = (clcf->op == NGX_HTTP_CARTBOT_CART_UPDATE) ? 0 : 1;

        if (v == NULL && clcf->op == NGX_HTTP_CARTBOT_CART_ADD) {
            quantity = 1;

        } else if (!YAJL_IS_INTEGER(v)
                   || v->u.number.i < min
                   || v->u.number.i > clcf->max_quantity)
        {
            rc = ngx_http_cartbot_send_error(r, 422, "invalid_quantity",
                        min ? "quantity must be a whole number from 1 to "
                              "the line maximum"
                            : "quantity must be a whole number from 0 to "
                              "the line maximum");
            ngx_http_finalize_request(r, rc);
            return;

        } else {
            quantity = v->u.number.i;
        }
    }

lane:

    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_cart_module);
    cmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_cart_module);

    ctx->op = (clcf->op == NGX_HTTP_CARTBOT_CART_UPDATE && quantity == 0)
              ? NGX_HTTP_CARTBOT_CART_REMOVE : clcf->op;
    ctx->session = session;
    ctx->product = product;
    ctx->quantity = quantity;

    /* one change of a cart at a time in this worker */

    rc = ngx_http_cartbot_lane_enter(r, &cmcf->lanes, &session, &ctx->lane,
                                     ngx_http_cartbot_cart_go);

    if (rc == NGX_AGAIN) {
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_cartbot_cart_go(r);
}


static void
ngx_http_cartbot_cart_go(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_cartbot_cart_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_cart_module);

    rc = ngx_http_cartbot_cart_start(r, ctx->op, &ctx->session,
                                     &ctx->product, ctx->quantity);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_cartbot_status_error(r, rc));
    }
}


static ngx_int_t
ngx_http_cartbot_cart_start(ngx_http_request_t *r, ngx_uint_t op,
    ngx_str_t *session, ngx_str_t *product, long long quantity)
{
    ngx_str_t                          user;
    const char                        *sql;
    cartbot_mem_t                     *mem;
    cartbot_surreal_query_t            sq;
    ngx_http_cartbot_cart_ctx_t       *ctx;
    ngx_http_cartbot_cart_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_cart_module);
    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_cart_module);

    if (ctx->session.data != session->data) {
        ctx->session = *session;
    }

    switch (ngx_http_cartbot_user(r, &clcf->cartbot, &user)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        return NGX_HTTP_UNAUTHORIZED;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (op) {
    case NGX_HTTP_CARTBOT_CART_ADD:
        sql = ngx_http_cartbot_cart_add_sql;
        break;
    case NGX_HTTP_CARTBOT_CART_REMOVE:
        sql = ngx_http_cartbot_cart_remove_sql;
        break;
    case NGX_HTTP_CARTBOT_CART_UPDATE:
        sql = ngx_http_cartbot_cart_update_sql;
        break;
    case NGX_HTTP_CARTBOT_CART_DISCOUNT:
        sql = ngx_http_cartbot_cart_discount_sql;
        break;
    default:
        sql = ngx_http_cartbot_cart_view_sql;
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cartbot_surreal_query_init(&sq, mem, sql);
    cartbot_surreal_bind(&sq, "sid", (char *) session->data, session->len);
    cartbot_surreal_bind(&sq, "user", (char *) user.data, user.len);

    if (op == NGX_HTTP_CARTBOT_CART_DISCOUNT) {
        cartbot_surreal_bind(&sq, "code", (char *) product->data,
                             product->len);

    } else if (product) {
        cartbot_surreal_bind(&sq, "pid", (char *) product->data,
                             product->len);
        cartbot_surreal_bind_int(&sq, "qty", quantity);
        cartbot_surreal_bind_int(&sq, "max", clcf->max_quantity);
    }

    if (sq.failed) {
        return NGX_HTTP_BAD_REQUEST;
    }

    ctx->query = ngx_http_cartbot_db_query(r, &ctx->ctx, &clcf->cartbot.db,
                                           &sq);
    if (ctx->query == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_cartbot_cart_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_http_cartbot_cart_ctx_t  *cctx;
    ngx_http_cartbot_db_query_t  *q;

    cctx = (ngx_http_cartbot_cart_ctx_t *) ctx;
    q = cctx->query;

    /* the change is over: the next one of this cart may go */

    ngx_http_cartbot_lane_leave(&cctx->lane);

    if (q->error || q->result.outcome != CARTBOT_SURREAL_OK) {
        rc = ngx_http_cartbot_db_send_thrown(r, q,
                                             ngx_http_cartbot_cart_errors);
        ngx_http_finalize_request(r, rc);
        return;
    }

    rc = ngx_http_cartbot_cart_answer(r, cctx,
                                      cartbot_surreal_last(&q->result));

    ngx_http_finalize_request(r, rc);
}


/*
 * {"session_id":..,"status":..,"items":[{"product_id","name","unit_price",
 *  "quantity","line_total"}],"item_count":..,"pricing":{...}}
 */

static ngx_int_t
ngx_http_cartbot_cart_answer(ngx_http_request_t *r,
    ngx_http_cartbot_cart_ctx_t *ctx, yajl_val cart)
{
    size_t                             i;
    double                             price;
    yajl_val                           lines, line;
    long long                          qty, cents;
    const char                        *name, *pid, *status, *code;
    cartbot_buf_t                      b;
    cartbot_mem_t                     *mem;
    cartbot_pricing_t                  p;
    cartbot_pricing_discount_t         discount;
    ngx_http_cartbot_cart_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_cart_module);

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    lines = cartbot_json_get(cart, "lines");
    status = cartbot_json_get_string(cart, "status");

    if (!YAJL_IS_ARRAY(lines) || status == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_cart: unexpected cart shape");
        return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                           "database_protocol",
                                           "unexpected database answer");
    }

    ngx_memzero(&p, sizeof(cartbot_pricing_t));

    cartbot_buf_init(&b, mem, 512 + lines->u.array.len * 160);
    cartbot_buf_printf(&b, "{\"session_id\":\"user_session:%.*s\"",
                       (int) ctx->session.len, ctx->session.data);
    cartbot_buf_add_str(&b, ",\"status\":");
    cartbot_json_add_string(&b, status, ngx_strlen(status));
    cartbot_buf_add_str(&b, ",\"items\":[");

    for (i = 0; i < lines->u.array.len; i++) {
        line = lines->u.array.values[i];

        pid = cartbot_json_get_string(line, "product_id");
        name = cartbot_json_get_string(line, "name");

        if (pid == NULL || name == NULL
            || cartbot_json_get_int(line, "quantity", &qty) != 0
            || cartbot_json_get_double(line, "unit_price", &price) != 0
            || cartbot_pricing_cents(price, &cents) != 0
            || cartbot_pricing_add_line(&p, cents, qty) != 0)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "cartbot_cart: unexpected cart line");
            return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                               "database_protocol",
                                               "unexpected database answer");
        }

        cartbot_buf_add_str(&b, i ? ",{\"product_id\":" : "{\"product_id\":");
        cartbot_json_add_string(&b, pid, ngx_strlen(pid));
        cartbot_buf_add_str(&b, ",\"name\":");
        cartbot_json_add_string(&b, name, ngx_strlen(name));
        cartbot_buf_add_str(&b, ",\"unit_price\":");
        cartbot_pricing_add_money(&b, cents);
        cartbot_buf_printf(&b, ",\"quantity\":%lld,\"line_total\":", qty);
        cartbot_pricing_add_money(&b, cents * qty);
        cartbot_buf_add_char(&b, '}');
    }

    code = ngx_http_cartbot_cart_discount(cart, &p, &discount);

    cartbot_pricing_finish(&p, &clcf->pricing, &discount);

    cartbot_buf_printf(&b, "],\"item_count\":%lld,\"discount_code\":",
                       p.items);

    if (code) {
        cartbot_json_add_string(&b, code, ngx_strlen(code));

    } else {
        cartbot_buf_add_str(&b, "null");
    }

    cartbot_buf_add_str(&b, ",\"pricing\":");
    cartbot_pricing_json(&b, &p, &clcf->pricing);
    cartbot_buf_add_char(&b, '}');

    return ngx_http_cartbot_send_buf(r, NGX_HTTP_OK, &b);
}


/*
 * The cart's discount, when its code is in force and the subtotal reaches
 * the code's minimum; returns the code, or NULL.
 */

static const char *
ngx_http_cartbot_cart_discount(yajl_val cart, cartbot_pricing_t *p,
    cartbot_pricing_discount_t *discount)
{
    double       amount, min;
    yajl_val     dc;
    long long    n, cents;
    const char  *code;

    discount->percent = 0;
    discount->amount_cents = 0;

    dc = cartbot_json_get(cart, "discount");
    code = cartbot_json_get_string(dc, "code");

    if (code == NULL) {
        return NULL;
    }

    if (cartbot_json_get_double(dc, "min_subtotal", &min) != 0) {
        min = cartbot_json_get_int(dc, "min_subtotal", &n) == 0 ? n : 0;
    }

    if (cartbot_pricing_cents(min, &cents) == 0 && p->subtotal < cents) {
        return code;
    }

    if (cartbot_json_get_int(dc, "percent", &n) == 0 && n >= 0 && n <= 100) {
        discount->percent = n;
    }

    if (cartbot_json_get_double(dc, "amount", &amount) != 0) {
        amount = cartbot_json_get_int(dc, "amount", &n) == 0 ? n : 0;
    }

    if (cartbot_pricing_cents(amount, &cents) == 0) {
        discount->amount_cents = cents;
    }

    return code;
}


/* "code": letters, digits, '-' and '_', folded to upper case; null: "" */

static ngx_int_t
ngx_http_cartbot_cart_code(ngx_http_request_t *r, yajl_val body,
    ngx_str_t *code)
{
    size_t       i, len;
    yajl_val     v;
    const char  *s;

    v = cartbot_json_get(body, "code");

    if (v == NULL || YAJL_IS_NULL(v)) {
        ngx_str_set(code, "");
        return NGX_OK;
    }

    if (!YAJL_IS_STRING(v)) {
        return NGX_DECLINED;
    }

    s = v->u.string;
    len = ngx_strlen(s);

    if (len > NGX_HTTP_CARTBOT_CART_CODE_MAX) {
        return NGX_DECLINED;
    }

    code->data = ngx_pnalloc(r->pool, len ? len : 1);
    if (code->data == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!isalnum((unsigned char) s[i]) && s[i] != '-' && s[i] != '_') {
            return NGX_DECLINED;
        }

        code->data[i] = ngx_toupper(s[i]);
    }

    code->len = len;

    return NGX_OK;
}


static void
ngx_http_cartbot_cart_wake(ngx_http_request_t *r)
{
    ngx_http_cartbot_wake(r, &ngx_cartbot_cart_module);
}


static ngx_int_t
ngx_http_cartbot_cart_query_handler(ngx_http_request_t *r)
{
    return ngx_http_cartbot_db_query_handler(r, &ngx_cartbot_cart_module);
}


static void *
ngx_http_cartbot_cart_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_cartbot_cart_main_conf_t  *cmcf;

    cmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_cartbot_cart_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    ngx_http_cartbot_lanes_init(&cmcf->lanes);

    return cmcf;
}


static void *
ngx_http_cartbot_cart_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cartbot_cart_loc_conf_t  *conf;

    conf = ngx_http_cartbot_create_loc_conf(cf,
                                    sizeof(ngx_http_cartbot_cart_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->op = 0;
     *     conf->pricing_set = 0;
     */

    conf->max_quantity = NGX_CONF_UNSET;
    cartbot_pricing_conf_init(&conf->pricing);

    return conf;
}


static char *
ngx_http_cartbot_cart_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_cartbot_cart_loc_conf_t *prev = parent;
    ngx_http_cartbot_cart_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->max_quantity, prev->max_quantity, 99);

    if (conf->max_quantity < 1 || conf->max_quantity > 1000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cartbot_cart_max_quantity must be 1 to 1000000");
        return NGX_CONF_ERROR;
    }

    if (!conf->pricing_set) {
        conf->pricing = prev->pricing;
        conf->pricing_set = prev->pricing_set;
    }

    return ngx_http_cartbot_merge_loc_conf(cf, &prev->cartbot,
                                           &conf->cartbot);
}


static char *
ngx_http_cartbot_cart(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_cartbot_set_op(cf, cmd, conf,
                                   ngx_http_cartbot_cart_handler);
}


/*
 * cartbot_cart_pricing tax=8.25 shipping=5.99 free_shipping_over=75
 *                      currency=USD;
 * tax is a percentage with at most two decimals; money has at most two.
 */

static char *
ngx_http_cartbot_cart_pricing(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_cart_loc_conf_t *clcf = conf;

    long long    v;
    ngx_str_t   *value, arg;
    ngx_uint_t   i;

    if (clcf->pricing_set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        arg = value[i];

        if (ngx_strncmp(arg.data, "tax=", 4) == 0) {
            if (cartbot_pricing_parse_money((char *) arg.data + 4,
                                            arg.len - 4, &v) != 0
                || v > 10000)
            {
                goto invalid;
            }

            clcf->pricing.tax_basis_points = v;
            continue;
        }

        if (ngx_strncmp(arg.data, "shipping=", 9) == 0) {
            if (cartbot_pricing_parse_money((char *) arg.data + 9,
                                            arg.len - 9, &v) != 0)
            {
                goto invalid;
            }

            clcf->pricing.shipping_cents = v;
            continue;
        }

        if (ngx_strncmp(arg.data, "free_shipping_over=", 19) == 0) {
            if (cartbot_pricing_parse_money((char *) arg.data + 19,
                                            arg.len - 19, &v) != 0)
            {
                goto invalid;
            }

            clcf->pricing.free_shipping_cents = v;
            continue;
        }

        if (ngx_strncmp(arg.data, "currency=", 9) == 0 && arg.len == 12) {
            ngx_memcpy(clcf->pricing.currency, arg.data + 9, 3);
            clcf->pricing.currency[3] = '\0';
            continue;
        }

        goto invalid;
    }

    clcf->pricing_set = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}
