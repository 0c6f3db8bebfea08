
/*
 * ngx_cartbot_product_module: the catalog of Cartbot.
 *
 *     cartbot_product_db       /_cartbot/db/sql  signin=/_cartbot/db/signin
 *                              credentials=secrets/product.json;
 *     cartbot_product_max_age  60s;        # Cache-Control of reads
 *
 *     location /products/             { cartbot_product get
 *                                                        writes=@admin; }
 *     location = /products/search     { cartbot_product search; }
 *     location = /products            { ...; cartbot_product create; }
 *     location @admin                 { ...; cartbot_product write; }
 *     location = /internal/products/vector-search {
 *         internal;
 *         cartbot_product search mode=vector;
 *     }
 *     location = /internal/products/by-category {
 *         internal;
 *         cartbot_product by_category;
 *     }
 *     location = /recommend           { cartbot_product recommend; }
 *     cartbot_product_user  $jwt_claim_sub;   # whose cart recommends
 *
 * Reads carry an ETag and Cache-Control and answer 304 to a matching
 * If-None-Match, so a CDN or an nginx cache in front can serve them.
 *
 * Search is hybrid: BM25 full-text over name and description (an English
 * analyzer that folds case and accents and stems) and k-nearest
 * neighbours over the product embedding (shared/cartbot_embed.c, the
 * same code as at import), each ranked, then fused by reciprocal rank
 * fusion, score(d) = sum over lists of 1 / (60 + rank(d)).  Filters are
 * part of both queries.  Each hit says which list found it, at which
 * rank, with which raw score and, for full text, the highlighted name.
 *
 * Catalog changes (the locations decide who may: the shipped routes ask
 * for a token with role admin, see conf/cartbot/routes.conf):
 *
 *   get writes=@name   GET and HEAD are answered here; PUT and DELETE go
 *                      to the named location (nginx runs its access
 *                      checks), any other method is 405
 *   create             POST {product}: 201 with the stored product and a
 *                      Location; 409 when the id (given, or made from the
 *                      name) exists
 *   write              PUT .../{id} {product}: a full replace, 404 for an
 *                      unknown id; DELETE .../{id}: 200 with the product
 *                      as it was, 404 for an unknown id, 409 while the
 *                      product is in the cart of an active session
 *
 * A body is checked with the catalog's rules (shared/cartbot_product.c,
 * the same as cartbot-ctl import, plus description, category and
 * sub_category required): 422 {"error":{"code":"invalid_<field>",...}}.
 * PUT replaces every field: what the body leaves out is stored as absent
 * (stock_quantity 0), so a product always equals the last body sent for
 * it, and a GET answer (id and rating included) can be edited and sent
 * back.  Each write stores the embedding of the new text, its model's
 * name and the import's content hash, in one transaction; the answer has
 * the ETag a GET would give.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"
#include "cartbot_embed.h"
#include "cartbot_rank.h"
#include "cartbot_pricing.h"
#include "cartbot_product.h"


#define NGX_HTTP_CARTBOT_PRODUCT_GET          1
#define NGX_HTTP_CARTBOT_PRODUCT_SEARCH       2
#define NGX_HTTP_CARTBOT_PRODUCT_BY_CATEGORY  3
#define NGX_HTTP_CARTBOT_PRODUCT_RECOMMEND    4
#define NGX_HTTP_CARTBOT_PRODUCT_CREATE       5
#define NGX_HTTP_CARTBOT_PRODUCT_WRITE        6

#define NGX_HTTP_CARTBOT_SEARCH_HYBRID        0
#define NGX_HTTP_CARTBOT_SEARCH_FULLTEXT      1
#define NGX_HTTP_CARTBOT_SEARCH_VECTOR        2

/* candidates each list brings to the fusion */
#define NGX_HTTP_CARTBOT_SEARCH_CANDIDATES    50
#define NGX_HTTP_CARTBOT_SEARCH_MAX_QUERY     200
#define NGX_HTTP_CARTBOT_SEARCH_MAX_LIMIT     50

/*
 * Bound values travel in the URI of POST /sql: a product write keeps them
 * below what a request head may hold (16 KB in surreal-dev; the encoded
 * embedding takes about 5 KB of it).
 */
#define NGX_HTTP_CARTBOT_PRODUCT_MAX_ARGS     (14 * 1024)


typedef struct {
    ngx_http_cartbot_loc_conf_t    cartbot;
    ngx_uint_t                     op;
    ngx_uint_t                     mode;
    time_t                         max_age;
    ngx_str_t                      writes;    /* "@name" for PUT, DELETE */
} ngx_http_cartbot_product_loc_conf_t;


typedef struct {
    ngx_http_cartbot_ctx_t         ctx;
    ngx_http_cartbot_db_query_t   *query;
    ngx_uint_t                     limit;
    unsigned                       location:1;   /* created: Location */
} ngx_http_cartbot_product_ctx_t;


static ngx_int_t ngx_http_cartbot_product_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_product_get(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx);
static const char *ngx_http_cartbot_product_path_key(ngx_http_request_t *r,
    size_t *len);
static void ngx_http_cartbot_product_write_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_product_delete(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_product_answer_product(
    ngx_http_request_t *r, yajl_val value, ngx_uint_t status);
static ngx_int_t ngx_http_cartbot_product_etag(ngx_http_request_t *r,
    cartbot_buf_t *b, const char *cache_control);
static ngx_int_t ngx_http_cartbot_product_by_category(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_product_recommend(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_product_answer_recommend(
    ngx_http_request_t *r, ngx_http_cartbot_product_ctx_t *ctx,
    yajl_val value);
static void ngx_http_cartbot_product_search_body(ngx_http_request_t *r);
static void ngx_http_cartbot_product_search_terms(cartbot_buf_t *terms,
    const char *q, size_t n);
static void ngx_http_cartbot_product_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_product_answer_read(ngx_http_request_t *r,
    yajl_val value);
static ngx_int_t ngx_http_cartbot_product_answer_search(
    ngx_http_request_t *r, ngx_http_cartbot_product_ctx_t *ctx,
    yajl_val fulltext, yajl_val vector);
static ngx_int_t ngx_http_cartbot_product_start(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx, cartbot_surreal_query_t *sq);
static ngx_int_t ngx_http_cartbot_product_arg(ngx_http_request_t *r,
    const char *name, ngx_str_t *value);
static void ngx_http_cartbot_product_wake(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_product_query_handler(
    ngx_http_request_t *r);
static void *ngx_http_cartbot_product_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cartbot_product_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_cartbot_product(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


ngx_module_t  ngx_cartbot_product_module;


static ngx_http_cartbot_glue_t  ngx_http_cartbot_product_glue = {
    &ngx_cartbot_product_module,
    ngx_http_cartbot_product_wake,
    ngx_http_cartbot_product_query_handler,
    ngx_string("cartbot_product_db")
};


static ngx_command_t  ngx_http_cartbot_product_commands[] = {

    ngx_http_cartbot_db_commands("cartbot_product",
                                 ngx_http_cartbot_product_glue),

    { ngx_string("cartbot_product"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_cartbot_product,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_product_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_product_loc_conf_t, max_age),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cartbot_product_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cartbot_product_create_loc_conf,
                                           /* create location configuration */
    ngx_http_cartbot_product_merge_loc_conf
                                           /* merge location configuration */
};


ngx_module_t  ngx_cartbot_product_module = {
    NGX_MODULE_V1,
    &ngx_http_cartbot_product_module_ctx,  /* module context */
    ngx_http_cartbot_product_commands,     /* module directives */
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


/* what the API shows of a product */

#define NGX_HTTP_CARTBOT_PRODUCT_FIELDS                                      \
    "id, name, description, specs, price, category, sub_category,"           \
    " score AS rating, stock_quantity, image_url"


static const char  ngx_http_cartbot_product_get_sql[] =
    "SELECT " NGX_HTTP_CARTBOT_PRODUCT_FIELDS
    " FROM ONLY type::record('product', $id);";


/*
 * The nearest neighbours of the cart's product number i (of the first
 * three): the KNN operator needs a variable (a field path such as
 * $parent.embedding makes it return every row).
 */

#define NGX_HTTP_CARTBOT_PRODUCT_NEAR(i)                                     \
    "LET $v" i " = $basis[" i "].embedding;"                                 \
    "LET $n" i " = IF $v" i " != NONE { (SELECT "                            \
    NGX_HTTP_CARTBOT_PRODUCT_FIELDS ", $basis[" i "].name AS because"        \
    " FROM product WHERE embedding <|10,64|> $v" i " AND id NOT IN $in"      \
    " AND stock_quantity > 0) } ELSE { [] };"


/*
 * Recommendations from the cart: products of the cart's categories in
 * other sub-categories (cross-sell), and each cart product's nearest
 * neighbours by embedding; never what is in the cart, never out of stock.
 * The best rated products too, for an empty cart.
 */

static const char  ngx_http_cartbot_product_recommend_sql[] =
    "LET $s = type::record('user_session', $sid);"
    "LET $sess = $s.*;"
    "IF $sess = NONE OR $sess.user_id != $user"
    " { THROW 'session_not_found' };"
    "LET $in = array::distinct((SELECT VALUE product_id FROM cart"
    " WHERE session_id = $s));"
    "LET $basis = (SELECT id, name, category, sub_category, embedding"
    " FROM $in);"
    "LET $cross = (SELECT " NGX_HTTP_CARTBOT_PRODUCT_FIELDS
    " FROM product WHERE category IN $basis.category"
    " AND sub_category NOT IN $basis.sub_category AND id NOT IN $in"
    " AND stock_quantity > 0 ORDER BY rating DESC LIMIT 20);"
    NGX_HTTP_CARTBOT_PRODUCT_NEAR("0")
    NGX_HTTP_CARTBOT_PRODUCT_NEAR("1")
    NGX_HTTP_CARTBOT_PRODUCT_NEAR("2")
    "LET $near = array::concat(array::concat($n0, $n1), $n2);"
    "LET $top = IF array::len($in) = 0 { (SELECT "
    NGX_HTTP_CARTBOT_PRODUCT_FIELDS " FROM product"
    " WHERE stock_quantity > 0 ORDER BY rating DESC LIMIT 20) }"
    " ELSE { [] };"
    "RETURN { basis: (SELECT id, name, category FROM $basis),"
    " cross: $cross, near: $near, top: $top };";


static ngx_http_cartbot_db_thrown_t  ngx_http_cartbot_product_errors[] = {
    { "session_not_found", NGX_HTTP_NOT_FOUND, "no such session" },
    { "product_not_found", NGX_HTTP_NOT_FOUND, "no such product" },
    { "product_exists", NGX_HTTP_CONFLICT, NULL },
    { "product_in_cart", NGX_HTTP_CONFLICT, NULL },
    { NULL, 0, NULL }
};


/*
 * ($p.* in an IF condition within a transaction fails with "Specify a
 * database to use" on SurrealDB 3.0.2: it goes through a LET first.)
 *
 * Every field of a product, each value a bound variable: an absent one is
 * unbound, hence NONE.  $vec is the embedding as "f,f,...", unbound when
 * the text had no word to embed.
 */

#define NGX_HTTP_CARTBOT_PRODUCT_SET                                         \
    " SET name = $name, description = $description, specs = $specs,"         \
    " price = <float> $price, category = $category,"                         \
    " sub_category = $sub_category,"                                         \
    " score = IF $score = NONE { NONE } ELSE { <float> $score },"            \
    " stock_quantity = <int> $stock, image_url = $image_url,"                \
    " embedding = IF $vec = NONE { NONE }"                                   \
    " ELSE { <array<float>> string::split($vec, ',') },"                     \
    " embedding_model = $model, content_hash = $hash"


static const char  ngx_http_cartbot_product_create_sql[] =
    "BEGIN;"
    "LET $p = type::record('product', $id);"
    "LET $cur = $p.*;"
    "IF $cur != NONE { THROW 'product_exists: product:' + $id"
    " + ' exists already' + IF $derived = '1'"
    " { ' (the id was made from the name: give an \"id\")' } ELSE { '' } };"
    "CREATE $p" NGX_HTTP_CARTBOT_PRODUCT_SET " RETURN NONE;"
    "COMMIT;"
    "SELECT " NGX_HTTP_CARTBOT_PRODUCT_FIELDS " FROM ONLY $p;";


static const char  ngx_http_cartbot_product_replace_sql[] =
    "BEGIN;"
    "LET $p = type::record('product', $id);"
    "LET $cur = $p.*;"
    "IF $cur = NONE { THROW 'product_not_found' };"
    "UPDATE $p" NGX_HTTP_CARTBOT_PRODUCT_SET " RETURN NONE;"
    "COMMIT;"
    "SELECT " NGX_HTTP_CARTBOT_PRODUCT_FIELDS " FROM ONLY $p;";


/*
 * A product in the cart of an active session stays: the product module
 * may not change carts (0004), and a cart line without its product could
 * be neither priced nor checked out.  Completed orders keep their own
 * copy of names and prices (purchase_order), so they do not hold it.
 */

static const char  ngx_http_cartbot_product_delete_sql[] =
    "BEGIN;"
    "LET $p = type::record('product', $id);"
    "LET $old = (SELECT " NGX_HTTP_CARTBOT_PRODUCT_FIELDS " FROM ONLY $p);"
    "IF $old = NONE { THROW 'product_not_found' };"
    "LET $carts = array::len(array::distinct((SELECT VALUE session_id"
    " FROM cart WHERE product_id = $p AND session_id.status = 'active')));"
    "IF $carts > 0 { THROW 'product_in_cart: product:' + $id + ' is in '"
    " + <string> $carts + ' active cart' + IF $carts > 1 { 's' } ELSE { '' }"
    " + '; set its stock_quantity to 0 to stop its sale' };"
    "DELETE $p;"
    "COMMIT;"
    "RETURN $old;";


static const char  ngx_http_cartbot_product_by_category_sql[] =
    "SELECT " NGX_HTTP_CARTBOT_PRODUCT_FIELDS
    " FROM product WHERE category = $category"
    " AND (sub_category = NONE OR sub_category != $exclude)"
    " AND stock_quantity > 0 ORDER BY rating DESC LIMIT <int> $limit;";


static ngx_int_t
ngx_http_cartbot_product_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_uint_t                            allowed;
    ngx_http_cartbot_product_ctx_t       *ctx;
    ngx_http_cartbot_product_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_product_module);

    switch (plcf->op) {

    case NGX_HTTP_CARTBOT_PRODUCT_SEARCH:
    case NGX_HTTP_CARTBOT_PRODUCT_CREATE:
        allowed = NGX_HTTP_POST;
        break;

    case NGX_HTTP_CARTBOT_PRODUCT_WRITE:
        allowed = NGX_HTTP_PUT|NGX_HTTP_DELETE;
        break;

    default:
        allowed = NGX_HTTP_GET|NGX_HTTP_HEAD;
    }

    /* changes of a product go where the configuration says who may */

    if (plcf->op == NGX_HTTP_CARTBOT_PRODUCT_GET && plcf->writes.len
        && (r->method & (NGX_HTTP_PUT|NGX_HTTP_DELETE)))
    {
        return ngx_http_named_location(r, &plcf->writes);
    }

    if (!(r->method & allowed)) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed",
                                           "method not allowed here");
    }

    if (plcf->cartbot.db.sql_uri.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_product: no \"cartbot_product_db\" here");
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "no database configured");
    }

    ctx = (ngx_http_cartbot_product_ctx_t *)
          ngx_http_cartbot_ctx_create(r, &ngx_http_cartbot_product_glue,
                                      sizeof(ngx_http_cartbot_product_ctx_t),
                                      ngx_http_cartbot_product_resume);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method & (NGX_HTTP_POST|NGX_HTTP_PUT)) {
        rc = ngx_http_cartbot_read_json_body(r,
                 plcf->op == NGX_HTTP_CARTBOT_PRODUCT_SEARCH
                 ? ngx_http_cartbot_product_search_body
                 : ngx_http_cartbot_product_write_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    switch (plcf->op) {

    case NGX_HTTP_CARTBOT_PRODUCT_GET:
        rc = ngx_http_cartbot_product_get(r, ctx);
        break;

    case NGX_HTTP_CARTBOT_PRODUCT_RECOMMEND:
        rc = ngx_http_cartbot_product_recommend(r, ctx);
        break;

    case NGX_HTTP_CARTBOT_PRODUCT_WRITE:
        rc = ngx_http_cartbot_product_delete(r, ctx);
        break;

    default:
        rc = ngx_http_cartbot_product_by_category(r, ctx);
    }

    /* no query started: the answer was sent, or rc is the failure */

    if (ctx->query == NULL) {
        return rc;
    }

    r->main->count++;

    return NGX_DONE;
}


/* GET .../{id}: the id is the last path segment */

static ngx_int_t
ngx_http_cartbot_product_get(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx)
{
    size_t                    n;
    const char               *key;
    cartbot_mem_t            *mem;
    cartbot_surreal_query_t   sq;

    key = ngx_http_cartbot_product_path_key(r, &n);

    if (key == NULL) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_FOUND,
                                           "product_not_found",
                                           "no such product");
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cartbot_surreal_query_init(&sq, mem, ngx_http_cartbot_product_get_sql);
    cartbot_surreal_bind(&sq, "id", key, n);

    return ngx_http_cartbot_product_start(r, ctx, &sq);
}


/* the record key of .../{id}: the last path segment; NULL if none */

static const char *
ngx_http_cartbot_product_path_key(ngx_http_request_t *r, size_t *len)
{
    u_char  *p, *last;

    last = r->uri.data + r->uri.len;

    for (p = last; p > r->uri.data && p[-1] != '/'; p--) {
        /* void */
    }

    return cartbot_surreal_record_key("product", (char *) p, last - p, len);
}


/*
 * POST {product} (create) and PUT .../{id} {product} (replace): checked
 * with the catalog's rules, embedded, written in one transaction.
 */

static void
ngx_http_cartbot_product_write_body(ngx_http_request_t *r)
{
    char                                  jerr[128];
    float                                 vec[CARTBOT_EMBED_DIM];
    size_t                                i, n;
    yajl_val                              body;
    ngx_int_t                             rc;
    const char                           *key, *model;
    cartbot_buf_t                         why, vector;
    cartbot_mem_t                        *mem;
    cartbot_product_t                     p;
    cartbot_surreal_query_t               sq;
    cartbot_product_error_t               err;
    ngx_http_cartbot_product_ctx_t       *ctx;
    ngx_http_cartbot_product_loc_conf_t  *plcf;
    char                                  hash[CARTBOT_PRODUCT_HASH_HEX + 1];

    plcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_product_module);
    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_product_module);

    key = NULL;
    n = 0;

    if (plcf->op == NGX_HTTP_CARTBOT_PRODUCT_WRITE) {
        key = ngx_http_cartbot_product_path_key(r, &n);

        if (key == NULL) {
            rc = ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_FOUND,
                                             "product_not_found",
                                             "no such product");
            goto done;
        }
    }

    body = ngx_http_cartbot_parse_body(r, jerr, sizeof(jerr));

    if (!YAJL_IS_OBJECT(body)) {
        rc = ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_json",
                                         body ? "a JSON object is expected"
                                              : jerr);
        goto done;
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    cartbot_buf_init(&why, mem, 0);
    err.why = &why;

    if (cartbot_product_check(mem, body, CARTBOT_PRODUCT_COMPLETE, &p, &err)
        != 0)
    {
        if (why.failed || err.code == NULL
            || cartbot_buf_cstr(&why) == NULL)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }

        rc = ngx_http_cartbot_send_error(r, 422, err.code, why.data);
        goto done;
    }

    /* PUT: the path names the product; an id in the body must agree */

    if (key) {
        if (!p.derived
            && (ngx_strlen(p.key) != n || ngx_strncmp(p.key, key, n) != 0))
        {
            rc = ngx_http_cartbot_send_error(r, 422, "invalid_id",
                                             "id in the body must be the "
                                             "product of the path, or be "
                                             "left out");
            goto done;
        }

        p.key = key;
        p.derived = 0;

    } else {
        n = ngx_strlen(p.key);
    }

    model = cartbot_embed_model_name();

    if (cartbot_product_hash(&p, model, hash) != 0) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    cartbot_surreal_query_init(&sq, mem,
                               key ? ngx_http_cartbot_product_replace_sql
                                   : ngx_http_cartbot_product_create_sql);

    cartbot_surreal_bind(&sq, "id", p.key, n);
    cartbot_surreal_bind(&sq, "derived", p.derived ? "1" : "0", 1);

    for (i = 0; i < CARTBOT_PRODUCT_NTEXT; i++) {
        if (p.text[i]) {
            cartbot_surreal_bind(&sq, cartbot_product_text_key(i), p.text[i],
                                 ngx_strlen(p.text[i]));
        }
    }

    cartbot_surreal_bind_double(&sq, "price", p.price);

    if (p.has_score) {
        cartbot_surreal_bind_double(&sq, "score", p.score);
    }

    cartbot_surreal_bind_int(&sq, "stock", p.stock);
    cartbot_surreal_bind(&sq, "model", model, ngx_strlen(model));
    cartbot_surreal_bind(&sq, "hash", hash, CARTBOT_PRODUCT_HASH_HEX);

    /* no word to embed: no vector, as the import does */

    if (cartbot_product_embed(&p, vec) != 0) {
        cartbot_buf_init(&vector, mem, CARTBOT_EMBED_DIM * 12);

        for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
            cartbot_buf_printf(&vector, i ? ",%.7g" : "%.7g",
                               (double) vec[i]);
        }

        if (vector.failed) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }

        cartbot_surreal_bind(&sq, "vec", vector.data, vector.len);
    }

    if (sq.args.len > NGX_HTTP_CARTBOT_PRODUCT_MAX_ARGS) {
        rc = ngx_http_cartbot_send_error(r,
                 NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "product_too_large",
                 "the product's text is too long to send to the database "
                 "in one write: shorten the description or the specs");
        goto done;
    }

    ctx->location = !key;

    rc = ngx_http_cartbot_product_start(r, ctx, &sq);

    if (rc == NGX_OK) {
        return;
    }

done:

    ngx_http_finalize_request(r, rc);
}


/* DELETE .../{id} */

static ngx_int_t
ngx_http_cartbot_product_delete(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx)
{
    size_t                    n;
    const char               *key;
    cartbot_mem_t            *mem;
    cartbot_surreal_query_t   sq;

    key = ngx_http_cartbot_product_path_key(r, &n);

    if (key == NULL) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_FOUND,
                                           "product_not_found",
                                           "no such product");
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cartbot_surreal_query_init(&sq, mem,
                               ngx_http_cartbot_product_delete_sql);
    cartbot_surreal_bind(&sq, "id", key, n);

    return ngx_http_cartbot_product_start(r, ctx, &sq);
}


/* GET ...?category=&exclude_sub_category=&limit= */

static ngx_int_t
ngx_http_cartbot_product_by_category(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx)
{
    ngx_int_t                 limit;
    ngx_str_t                 category, exclude, arg;
    cartbot_mem_t            *mem;
    cartbot_surreal_query_t   sq;

    if (ngx_http_cartbot_product_arg(r, "category", &category) != NGX_OK
        || category.len == 0)
    {
        return ngx_http_cartbot_send_error(r, 422, "invalid_category",
                                           "category is required");
    }

    if (ngx_http_cartbot_product_arg(r, "exclude_sub_category", &exclude)
        != NGX_OK)
    {
        ngx_str_null(&exclude);
    }

    limit = 10;

    if (ngx_http_cartbot_product_arg(r, "limit", &arg) == NGX_OK) {
        limit = ngx_atoi(arg.data, arg.len);

        if (limit < 1 || limit > NGX_HTTP_CARTBOT_SEARCH_MAX_LIMIT) {
            return ngx_http_cartbot_send_error(r, 422, "invalid_limit",
                                               "limit must be 1 to 50");
        }
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cartbot_surreal_query_init(&sq, mem,
                               ngx_http_cartbot_product_by_category_sql);
    cartbot_surreal_bind(&sq, "category", (char *) category.data,
                         category.len);
    cartbot_surreal_bind(&sq, "exclude", (char *) exclude.data, exclude.len);
    cartbot_surreal_bind_int(&sq, "limit", limit);

    return ngx_http_cartbot_product_start(r, ctx, &sq);
}


/* GET ...?session_id=&limit= */

static ngx_int_t
ngx_http_cartbot_product_recommend(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx)
{
    ngx_int_t                             limit;
    ngx_str_t                             arg, session, user;
    cartbot_mem_t                        *mem;
    cartbot_surreal_query_t               sq;
    ngx_http_cartbot_product_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_product_module);

    switch (ngx_http_cartbot_user(r, &plcf->cartbot, &user)) {

    case NGX_OK:
        break;

    case NGX_DECLINED:
        return ngx_http_cartbot_status_error(r, NGX_HTTP_UNAUTHORIZED);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_cartbot_product_arg(r, "session_id", &arg) != NGX_OK
        || ngx_http_cartbot_record_key(r, "user_session", (char *) arg.data,
                                       arg.len, &session)
           != NGX_OK)
    {
        return ngx_http_cartbot_send_error(r, 422, "invalid_session_id",
                                           "session_id must be a session "
                                           "id");
    }

    limit = 5;

    if (ngx_http_cartbot_product_arg(r, "limit", &arg) == NGX_OK) {
        limit = ngx_atoi(arg.data, arg.len);

        if (limit < 1 || limit > 20) {
            return ngx_http_cartbot_send_error(r, 422, "invalid_limit",
                                               "limit must be 1 to 20");
        }
    }

    ctx->limit = limit;

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cartbot_surreal_query_init(&sq, mem,
                               ngx_http_cartbot_product_recommend_sql);
    cartbot_surreal_bind(&sq, "sid", (char *) session.data, session.len);
    cartbot_surreal_bind(&sq, "user", (char *) user.data, user.len);

    return ngx_http_cartbot_product_start(r, ctx, &sq);
}


/*
 * POST search {query, limit, category, min_price, max_price, in_stock,
 * depth}.
 * The query text is embedded here; the vector (numbers we computed, no
 * user text) goes into the query text, every user value is bound.
 */

static void
ngx_http_cartbot_product_search_body(ngx_http_request_t *r)
{
    char                                  err[128];
    float                                 vec[CARTBOT_EMBED_DIM];
    size_t                                i, n, words;
    double                                lo, hi;
    yajl_val                              body, v;
    ngx_int_t                             rc;
    int                                   depth;
    ngx_uint_t                            embedded;
    long long                             limit;
    const char                           *q, *category;
    cartbot_buf_t                         sql, filters, vector, terms;
    cartbot_mem_t                        *mem;
    cartbot_surreal_query_t               sq;
    ngx_http_cartbot_product_ctx_t       *ctx;
    ngx_http_cartbot_product_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_product_module);
    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_product_module);

    body = ngx_http_cartbot_parse_body(r, err, sizeof(err));

    if (!YAJL_IS_OBJECT(body)) {
        rc = ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_json",
                                         body ? "a JSON object is expected"
                                              : err);
        goto done;
    }

    q = cartbot_json_get_string(body, "query");
    n = q ? ngx_strlen(q) : 0;

    for (i = 0, words = 0; i < n; i++) {
        if (isalnum((u_char) q[i]) || (u_char) q[i] >= 0x80) {
            words++;
        }
    }

    if (q == NULL || words == 0 || n > NGX_HTTP_CARTBOT_SEARCH_MAX_QUERY) {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_query",
                                         "query must be a string of 1 to "
                                         "200 characters with letters or "
                                         "digits");
        goto done;
    }

    limit = 10;
    v = cartbot_json_get(body, "limit");

    if (v && (!YAJL_IS_INTEGER(v) || v->u.number.i < 1
              || v->u.number.i > NGX_HTTP_CARTBOT_SEARCH_MAX_LIMIT))
    {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_limit",
                                         "limit must be a whole number from "
                                         "1 to 50");
        goto done;
    }

    if (v) {
        limit = v->u.number.i;
    }

    ctx->limit = (ngx_uint_t) limit;

    /*
     * How deep each list goes before the fusion: deeper finds more, a
     * caller that only wants the best few (the chat) asks for less work
     */

    depth = NGX_HTTP_CARTBOT_SEARCH_CANDIDATES;
    v = cartbot_json_get(body, "depth");

    if (v && (!YAJL_IS_INTEGER(v) || v->u.number.i < limit
              || v->u.number.i > NGX_HTTP_CARTBOT_SEARCH_CANDIDATES))
    {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_depth",
                                         "depth must be a whole number from "
                                         "limit to 50");
        goto done;
    }

    if (v) {
        depth = v->u.number.i;
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    cartbot_buf_init(&filters, mem, 128);
    cartbot_surreal_query_init(&sq, mem, "");

    v = cartbot_json_get(body, "category");
    category = YAJL_IS_STRING(v) ? v->u.string : NULL;

    if (v && !YAJL_IS_NULL(v)) {
        if (category == NULL || *category == '\0'
            || ngx_strlen(category) > 100)
        {
            rc = ngx_http_cartbot_send_error(r, 422, "invalid_category",
                                             "category must be a string");
            goto done;
        }

        cartbot_buf_add_str(&filters, " AND category = $category");
        cartbot_surreal_bind(&sq, "category", category, ngx_strlen(category));
    }

    lo = -1;
    hi = -1;

    v = cartbot_json_get(body, "min_price");

    if (v && !YAJL_IS_NULL(v)) {
        if (!YAJL_IS_NUMBER(v) || v->u.number.d < 0) {
            rc = ngx_http_cartbot_send_error(r, 422, "invalid_price",
                                             "min_price must be a number "
                                             ">= 0");
            goto done;
        }

        lo = v->u.number.d;
        cartbot_buf_add_str(&filters, " AND price >= <float> $min_price");
        cartbot_surreal_bind_double(&sq, "min_price", lo);
    }

    v = cartbot_json_get(body, "max_price");

    if (v && !YAJL_IS_NULL(v)) {
        if (!YAJL_IS_NUMBER(v) || v->u.number.d < 0
            || (lo >= 0 && v->u.number.d < lo))
        {
            rc = ngx_http_cartbot_send_error(r, 422, "invalid_price",
                                             "max_price must be a number "
                                             ">= 0 and >= min_price");
            goto done;
        }

        hi = v->u.number.d;
        cartbot_buf_add_str(&filters, " AND price <= <float> $max_price");
        cartbot_surreal_bind_double(&sq, "max_price", hi);
    }

    v = cartbot_json_get(body, "in_stock");

    if (v && !YAJL_IS_NULL(v)) {
        if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
            rc = ngx_http_cartbot_send_error(r, 422, "invalid_in_stock",
                                             "in_stock must be true or "
                                             "false");
            goto done;
        }

        if (YAJL_IS_TRUE(v)) {
            cartbot_buf_add_str(&filters, " AND stock_quantity > 0");
        }
    }

    /* the full-text terms: the query's words without the stop words */

    cartbot_buf_init(&terms, mem, n + 1);
    ngx_http_cartbot_product_search_terms(&terms, q, n);

    if (terms.failed) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (terms.len) {
        cartbot_surreal_bind(&sq, "q", terms.data, terms.len);

    } else {
        cartbot_surreal_bind(&sq, "q", q, n);
    }

    /*
     * Both lists as one request, the fusion in C: the last two statements
     * are the full-text and the vector list.  Each is a top-level SELECT:
     * inside LET $x = (SELECT ...) the engine answers the KNN operator
     * about ten times slower (bench/README, "Product search").
     */

    cartbot_buf_init(&sql, mem, 8192);

    embedded = plcf->mode != NGX_HTTP_CARTBOT_SEARCH_FULLTEXT
               && cartbot_embed_text(q, n, vec) != 0;

    if (embedded) {
        cartbot_buf_init(&vector, mem, CARTBOT_EMBED_DIM * 12);
        cartbot_embed_add_json(&vector, vec, CARTBOT_EMBED_DIM);

        cartbot_buf_printf(&sql, "LET $vq = %.*s;",
                           (int) vector.len, vector.data);
    }

    if (plcf->mode != NGX_HTTP_CARTBOT_SEARCH_VECTOR) {
        cartbot_buf_printf(&sql,
            "SELECT " NGX_HTTP_CARTBOT_PRODUCT_FIELDS ","
            " search::score(1) + search::score(2) AS relevance,"
            " search::highlight('<b>', '</b>', 1) AS highlight"
            " FROM product WHERE (name @1,OR@ $q OR description @2,OR@ $q)"
            "%.*s ORDER BY relevance DESC LIMIT %d;",
            (int) filters.len, filters.data ? filters.data : "", depth);

    } else {
        cartbot_buf_add_str(&sql, "RETURN [];");
    }

    if (embedded) {
        cartbot_buf_printf(&sql,
            "SELECT " NGX_HTTP_CARTBOT_PRODUCT_FIELDS ","
            " vector::similarity::cosine(embedding, $vq) AS relevance"
            " FROM product WHERE embedding <|%d,64|> $vq%.*s"
            " ORDER BY relevance DESC;",
            depth, (int) filters.len, filters.data ? filters.data : "");

    } else {
        cartbot_buf_add_str(&sql, "RETURN [];");
    }

    if (sql.failed || cartbot_buf_cstr(&sql) == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    sq.sql = sql;

    rc = ngx_http_cartbot_product_start(r, ctx, &sq);

    if (rc == NGX_OK) {
        return;
    }

done:

    ngx_http_finalize_request(r, rc);
}


/*
 * The words of a query joined by spaces, without English stop words (the
 * embedding's list) and punctuation: with @OR@, "for", "the" or the "-"
 * of "t-shirt" each match most of the catalog, and every match is read,
 * scored and sorted (ten times the time of the other words; bench/README,
 * "Product search").  A query of stop words only keeps all its words.
 */

static void
ngx_http_cartbot_product_search_terms(cartbot_buf_t *terms, const char *q,
    size_t n)
{
    char           stem[64];
    size_t         i, start;
    u_char         c;

    for (i = 0; i < n; /* void */) {
        c = (u_char) q[i];

        if (!isalnum(c) && c < 0x80) {
            i++;
            continue;
        }

        for (start = i; i < n; i++) {
            c = (u_char) q[i];

            if (!isalnum(c) && c < 0x80) {
                break;
            }
        }

        if (cartbot_embed_stem(q + start, i - start, stem, sizeof(stem))
            == 0)
        {
            continue;
        }

        if (terms->len) {
            cartbot_buf_add_char(terms, ' ');
        }

        cartbot_buf_add(terms, q + start, i - start);
    }
}


static ngx_int_t
ngx_http_cartbot_product_start(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx, cartbot_surreal_query_t *sq)
{
    ngx_http_cartbot_product_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_product_module);

    if (sq->failed) {
        return ngx_http_cartbot_status_error(r, NGX_HTTP_BAD_REQUEST);
    }

    ctx->query = ngx_http_cartbot_db_query(r, &ctx->ctx, &plcf->cartbot.db,
                                           sq);
    if (ctx->query == NULL) {
        return ngx_http_cartbot_status_error(r,
                                             NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    return NGX_OK;
}


static void
ngx_http_cartbot_product_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *ctx)
{
    ngx_int_t                             rc;
    yajl_val                              value;
    ngx_http_cartbot_db_query_t          *q;
    ngx_http_cartbot_product_ctx_t       *pctx;
    ngx_http_cartbot_product_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_product_module);
    pctx = (ngx_http_cartbot_product_ctx_t *) ctx;
    q = pctx->query;

    if (q->error || q->result.outcome != CARTBOT_SURREAL_OK) {
        ngx_http_finalize_request(r, ngx_http_cartbot_db_send_thrown(r, q,
                                            ngx_http_cartbot_product_errors));
        return;
    }

    value = q->result.nstmts ? q->result.stmts[q->result.nstmts - 1].result
                             : NULL;

    switch (plcf->op) {

    case NGX_HTTP_CARTBOT_PRODUCT_GET:
        rc = (value == NULL || YAJL_IS_NULL(value))
             ? ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_FOUND,
                                           "product_not_found",
                                           "no such product")
             : ngx_http_cartbot_product_answer_read(r, value);
        break;

    case NGX_HTTP_CARTBOT_PRODUCT_SEARCH:
        rc = ngx_http_cartbot_product_answer_search(r, pctx,
                 q->result.nstmts >= 2
                 ? q->result.stmts[q->result.nstmts - 2].result : NULL,
                 value);
        break;

    case NGX_HTTP_CARTBOT_PRODUCT_RECOMMEND:
        rc = ngx_http_cartbot_product_answer_recommend(r, pctx, value);
        break;

    case NGX_HTTP_CARTBOT_PRODUCT_CREATE:
    case NGX_HTTP_CARTBOT_PRODUCT_WRITE:
        rc = ngx_http_cartbot_product_answer_product(r, value,
                 pctx->location ? NGX_HTTP_CREATED : NGX_HTTP_OK);
        break;

    default:
        rc = ngx_http_cartbot_product_answer_read(r, value);
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * A read: the JSON with an ETag (of the body) and Cache-Control; 304 when
 * the client already has it.
 */

static ngx_int_t
ngx_http_cartbot_product_answer_read(ngx_http_request_t *r, yajl_val value)
{
    u_char                               *p;
    cartbot_buf_t                         b;
    cartbot_mem_t                        *mem;
    ngx_str_t                            *inm;
    ngx_table_elt_t                      *etag;
    ngx_http_cartbot_product_loc_conf_t  *plcf;
    char                                  cc[sizeof("public, max-age=")
                                             + NGX_TIME_T_LEN];

    plcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_product_module);

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    cartbot_buf_init(&b, mem, 1024);
    cartbot_json_add_value(&b, value);
    cartbot_buf_add_char(&b, '\n');

    p = ngx_sprintf((u_char *) cc, "public, max-age=%T", plcf->max_age);
    *p = '\0';

    if (ngx_http_cartbot_product_etag(r, &b, cc) != NGX_OK) {
        return NGX_ERROR;
    }

    /* If-None-Match: our ETag, or "*" */

    etag = r->headers_out.etag;

    if (r->headers_in.if_none_match) {
        inm = &r->headers_in.if_none_match->value;

        if ((inm->len == 1 && inm->data[0] == '*')
            || ngx_strlcasestrn(inm->data, inm->data + inm->len,
                                etag->value.data, etag->value.len - 1)
               != NULL)
        {
            r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
            r->headers_out.content_length_n = -1;
            r->header_only = 1;

            return ngx_http_send_header(r);
        }
    }

    return ngx_http_cartbot_send_json(r, NGX_HTTP_OK, (u_char *) b.data,
                                      b.len);
}


/*
 * A change: the product as stored (as it was, for DELETE), with the ETag
 * a GET of it would give (none after DELETE), never cached; a created one
 * with its Location.
 */

static ngx_int_t
ngx_http_cartbot_product_answer_product(ngx_http_request_t *r,
    yajl_val value, ngx_uint_t status)
{
    const char       *id;
    cartbot_buf_t     b;
    cartbot_mem_t    *mem;
    ngx_table_elt_t  *loc;

    if (!YAJL_IS_OBJECT(value)) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_FOUND,
                                           "product_not_found",
                                           "no such product");
    }

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    cartbot_buf_init(&b, mem, 1024);
    cartbot_json_add_value(&b, value);
    cartbot_buf_add_char(&b, '\n');

    if (ngx_http_cartbot_product_etag(r, &b, "no-store") != NGX_OK) {
        return NGX_ERROR;
    }

    if (r->method & NGX_HTTP_DELETE) {
        r->headers_out.etag->hash = 0;
        r->headers_out.etag = NULL;
    }

    id = cartbot_json_get_string(value, "id");

    if (status == NGX_HTTP_CREATED && id
        && ngx_strncmp(id, "product:", 8) == 0)
    {
        loc = ngx_list_push(&r->headers_out.headers);
        if (loc == NULL) {
            return NGX_ERROR;
        }

        /* .../products + /{key} */

        loc->hash = 1;
        ngx_str_set(&loc->key, "Location");
        loc->value.len = r->uri.len + 1 + ngx_strlen(id + 8);
        loc->value.data = ngx_pnalloc(r->pool, loc->value.len);

        if (loc->value.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(loc->value.data, "%V/%s", &r->uri, id + 8);

#if (nginx_version >= 1023000)
        loc->next = NULL;
#endif
    }

    return ngx_http_cartbot_send_json(r, status, (u_char *) b.data, b.len);
}


/* ETag (of the answer's bytes) and Cache-Control headers */

static ngx_int_t
ngx_http_cartbot_product_etag(ngx_http_request_t *r, cartbot_buf_t *b,
    const char *cache_control)
{
    u_char           *p;
    uint32_t          crc;
    ngx_table_elt_t  *etag, *cc;

    if (b->failed) {
        return NGX_ERROR;
    }

    crc = ngx_crc32_long((u_char *) b->data, b->len);

    etag = ngx_list_push(&r->headers_out.headers);
    cc = ngx_list_push(&r->headers_out.headers);
    p = ngx_pnalloc(r->pool, sizeof("\"-\"") + 2 * NGX_INT32_LEN);

    if (etag == NULL || cc == NULL || p == NULL) {
        return NGX_ERROR;
    }

    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value.data = p;
    p = ngx_sprintf(p, "\"%08xD-%uz\"", crc, b->len);
    etag->value.len = p - etag->value.data;
    r->headers_out.etag = etag;

    cc->hash = 1;
    ngx_str_set(&cc->key, "Cache-Control");
    cc->value.data = (u_char *) ngx_pstrdup(r->pool,
                        &(ngx_str_t) { ngx_strlen(cache_control),
                                       (u_char *) cache_control });
    cc->value.len = ngx_strlen(cache_control);

    if (cc->value.data == NULL) {
        return NGX_ERROR;
    }

#if (nginx_version >= 1023000)
    etag->next = NULL;
    cc->next = NULL;
#endif

    return NGX_OK;
}


/*
 * {"query": ..., "hits": [{"product": {...}, "score": fused,
 *  "match": {"fulltext": {"rank", "score"}, "vector": {...}},
 *  "highlight": "..."}], "count": n}
 */

static ngx_int_t
ngx_http_cartbot_product_answer_search(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx, yajl_val fulltext, yajl_val vector)
{
    size_t                i, j, nhits;
    yajl_val              lists[2], item, product, hl;
    const char           *id;
    cartbot_buf_t         b;
    cartbot_mem_t        *mem;
    cartbot_rank_hit_t   *hits;
    cartbot_rank_item_t  *items[2];
    cartbot_rank_list_t   rl[2];

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    lists[0] = fulltext;
    lists[1] = vector;

    for (i = 0; i < 2; i++) {
        rl[i].name = i ? "vector" : "fulltext";
        rl[i].weight = 1.0;
        rl[i].n = 0;

        items[i] = ngx_palloc(r->pool, (cartbot_json_array_len(lists[i]) + 1)
                                       * sizeof(cartbot_rank_item_t));
        if (items[i] == NULL) {
            return NGX_ERROR;
        }

        for (j = 0; j < cartbot_json_array_len(lists[i]); j++) {
            item = cartbot_json_array_at(lists[i], j);
            id = cartbot_json_get_string(item, "id");

            if (id == NULL) {
                continue;
            }

            items[i][rl[i].n].id.data = id;
            items[i][rl[i].n].id.len = ngx_strlen(id);

            if (cartbot_json_get_double(item, "relevance",
                                        &items[i][rl[i].n].score)
                != 0)
            {
                long long  n;

                items[i][rl[i].n].score =
                    cartbot_json_get_int(item, "relevance", &n) == 0 ? n : 0;
            }

            rl[i].n++;
        }

        rl[i].items = items[i];
    }

    if (cartbot_rank_fuse(mem, rl, 2, CARTBOT_RANK_K, &hits, &nhits) != 0) {
        return NGX_ERROR;
    }

    nhits = ngx_min(nhits, ctx->limit);

    cartbot_buf_init(&b, mem, 1024 + nhits * 1024);
    cartbot_buf_add_str(&b, "{\"hits\":[");

    for (i = 0; i < nhits; i++) {

        /* the product's fields, from whichever list has it */

        product = NULL;
        hl = NULL;

        for (j = 0; j < 2 && product == NULL; j++) {
            size_t  k;

            for (k = 0; k < cartbot_json_array_len(lists[j]); k++) {
                item = cartbot_json_array_at(lists[j], k);
                id = cartbot_json_get_string(item, "id");

                if (id && ngx_strlen(id) == hits[i].id.len
                    && ngx_strncmp(id, hits[i].id.data, hits[i].id.len) == 0)
                {
                    product = item;
                    break;
                }
            }
        }

        for (j = 0; j < cartbot_json_array_len(lists[0]); j++) {
            item = cartbot_json_array_at(lists[0], j);
            id = cartbot_json_get_string(item, "id");

            if (id && ngx_strlen(id) == hits[i].id.len
                && ngx_strncmp(id, hits[i].id.data, hits[i].id.len) == 0)
            {
                hl = cartbot_json_get(item, "highlight");
                break;
            }
        }

        cartbot_buf_add_str(&b, i ? ",{\"product\":{" : "{\"product\":{");

        for (j = 0; YAJL_IS_OBJECT(product) && j < product->u.object.len;
             j++)
        {
            const char  *key = product->u.object.keys[j];

            if (ngx_strcmp(key, "relevance") == 0
                || ngx_strcmp(key, "highlight") == 0)
            {
                continue;
            }

            if (b.len && b.data[b.len - 1] != '{') {
                cartbot_buf_add_char(&b, ',');
            }

            cartbot_json_add_string(&b, key, ngx_strlen(key));
            cartbot_buf_add_char(&b, ':');
            cartbot_json_add_value(&b, product->u.object.values[j]);
        }

        cartbot_buf_printf(&b, "},\"score\":%.6f,\"match\":",
                           hits[i].score);
        cartbot_rank_add_json(&b, &hits[i], rl, 2);

        if (YAJL_IS_STRING(hl)) {
            cartbot_buf_add_str(&b, ",\"highlight\":");
            cartbot_json_add_value(&b, hl);
        }

        cartbot_buf_add_char(&b, '}');
    }

    cartbot_buf_printf(&b, "],\"count\":%zu}", nhits);

    return ngx_http_cartbot_send_buf(r, NGX_HTTP_OK, &b);
}


/*
 * The cross-sell and neighbour lists, fused (reciprocal rank), each
 * recommendation with its reason:
 * {"based_on":[{"product_id","name"}],"recommendations":[{"product":{..},
 *  "score":..,"why":"goes with your Blue Cotton T-Shirt"}]}
 */

static ngx_int_t
ngx_http_cartbot_product_answer_recommend(ngx_http_request_t *r,
    ngx_http_cartbot_product_ctx_t *ctx, yajl_val value)
{
    size_t                i, j, k, nhits, shown;
    yajl_val              basis, lists[3], item, product, b0;
    const char           *id, *name, *cat, *because;
    cartbot_buf_t         b;
    cartbot_mem_t        *mem;
    cartbot_rank_hit_t   *hits;
    cartbot_rank_item_t  *items[3];
    cartbot_rank_list_t   rl[3];

    mem = ngx_http_cartbot_mem(r->pool);
    if (mem == NULL) {
        return NGX_ERROR;
    }

    basis = cartbot_json_get(value, "basis");
    lists[0] = cartbot_json_get(value, "cross");
    lists[1] = cartbot_json_get(value, "near");
    lists[2] = cartbot_json_get(value, "top");

    for (i = 0; i < 3; i++) {
        rl[i].name = i == 0 ? "cross_sell" : i == 1 ? "similar" : "top_rated";
        rl[i].weight = 1.0;
        rl[i].n = 0;

        items[i] = ngx_palloc(r->pool, (cartbot_json_array_len(lists[i]) + 1)
                                       * sizeof(cartbot_rank_item_t));
        if (items[i] == NULL) {
            return NGX_ERROR;
        }

        for (j = 0; j < cartbot_json_array_len(lists[i]); j++) {
            item = cartbot_json_array_at(lists[i], j);
            id = cartbot_json_get_string(item, "id");

            if (id == NULL) {
                continue;
            }

            items[i][rl[i].n].id.data = id;
            items[i][rl[i].n].id.len = ngx_strlen(id);
            items[i][rl[i].n].score = (double) (j + 1);
            rl[i].n++;
        }

        rl[i].items = items[i];
    }

    if (cartbot_rank_fuse(mem, rl, 3, CARTBOT_RANK_K, &hits, &nhits) != 0) {
        return NGX_ERROR;
    }

    nhits = ngx_min(nhits, ctx->limit);

    cartbot_buf_init(&b, mem, 1024 + nhits * 1024);
    cartbot_buf_add_str(&b, "{\"based_on\":[");

    for (i = 0; i < cartbot_json_array_len(basis); i++) {
        item = cartbot_json_array_at(basis, i);

        cartbot_buf_add_str(&b, i ? ",{\"product_id\":" : "{\"product_id\":");
        cartbot_json_add_value(&b, cartbot_json_get(item, "id"));
        cartbot_buf_add_str(&b, ",\"name\":");
        cartbot_json_add_value(&b, cartbot_json_get(item, "name"));
        cartbot_buf_add_char(&b, '}');
    }

    cartbot_buf_add_str(&b, "],\"recommendations\":[");

    for (i = 0, shown = 0; i < nhits; i++) {

        /* the first list that has it gives the product and the reason */

        product = NULL;
        because = NULL;

        for (j = 0; j < 3 && product == NULL; j++) {
            if (!(hits[i].lists & (1u << j))) {
                continue;
            }

            for (k = 0; k < cartbot_json_array_len(lists[j]); k++) {
                item = cartbot_json_array_at(lists[j], k);
                id = cartbot_json_get_string(item, "id");

                if (id && ngx_strlen(id) == hits[i].id.len
                    && ngx_strncmp(id, hits[i].id.data, hits[i].id.len) == 0)
                {
                    product = item;
                    break;
                }
            }
        }

        if (product == NULL) {
            continue;
        }

        cartbot_buf_add_str(&b, shown++ ? ",{\"product\":{"
                                        : "{\"product\":{");

        for (k = 0; YAJL_IS_OBJECT(product) && k < product->u.object.len;
             k++)
        {
            const char  *key = product->u.object.keys[k];

            if (ngx_strcmp(key, "similarity") == 0
                || ngx_strcmp(key, "because") == 0)
            {
                continue;
            }

            if (b.data[b.len - 1] != '{') {
                cartbot_buf_add_char(&b, ',');
            }

            cartbot_json_add_string(&b, key, ngx_strlen(key));
            cartbot_buf_add_char(&b, ':');
            cartbot_json_add_value(&b, product->u.object.values[k]);
        }

        cartbot_buf_printf(&b, "},\"score\":%.6f,\"why\":", hits[i].score);

        if (hits[i].lists & 1) {
            /* the cart product of the same category */

            cat = cartbot_json_get_string(product, "category");
            name = NULL;

            for (k = 0; k < cartbot_json_array_len(basis); k++) {
                b0 = cartbot_json_array_at(basis, k);

                if (cat && cartbot_json_get_string(b0, "category")
                    && ngx_strcmp(cat, cartbot_json_get_string(b0,
                                                           "category")) == 0)
                {
                    name = cartbot_json_get_string(b0, "name");
                    break;
                }
            }

            cartbot_buf_add_str(&b, "\"goes with your ");
            cartbot_buf_add_str(&b, name ? name : "cart");
            cartbot_buf_add_char(&b, '"');

        } else if (hits[i].lists & 2) {
            because = cartbot_json_get_string(product, "because");
            cartbot_buf_add_str(&b, "\"similar to your ");
            cartbot_buf_add_str(&b, because ? because : "cart");
            cartbot_buf_add_char(&b, '"');

        } else {
            cartbot_buf_add_str(&b, "\"one of our best rated\"");
        }

        cartbot_buf_add_char(&b, '}');
    }

    cartbot_buf_add_str(&b, "]}");

    return ngx_http_cartbot_send_buf(r, NGX_HTTP_OK, &b);
}


static ngx_int_t
ngx_http_cartbot_product_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), value) != NGX_OK) {
        return NGX_DECLINED;
    }

    return ngx_http_cartbot_unescape_arg(r, value);
}


static void
ngx_http_cartbot_product_wake(ngx_http_request_t *r)
{
    ngx_http_cartbot_wake(r, &ngx_cartbot_product_module);
}


static ngx_int_t
ngx_http_cartbot_product_query_handler(ngx_http_request_t *r)
{
    return ngx_http_cartbot_db_query_handler(r, &ngx_cartbot_product_module);
}


static void *
ngx_http_cartbot_product_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cartbot_product_loc_conf_t  *conf;

    conf = ngx_http_cartbot_create_loc_conf(cf,
                                sizeof(ngx_http_cartbot_product_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->max_age = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_cartbot_product_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_cartbot_product_loc_conf_t *prev = parent;
    ngx_http_cartbot_product_loc_conf_t *conf = child;

    ngx_conf_merge_sec_value(conf->max_age, prev->max_age, 60);

    return ngx_http_cartbot_merge_loc_conf(cf, &prev->cartbot,
                                           &conf->cartbot);
}


/*
 * cartbot_product get [writes=@name] | search [mode=hybrid|fulltext|vector]
 *                 | by_category | recommend | create | write
 */

static char *
ngx_http_cartbot_product(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_product_loc_conf_t *plcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (plcf->op) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "get") == 0) {
        plcf->op = NGX_HTTP_CARTBOT_PRODUCT_GET;

    } else if (ngx_strcmp(value[1].data, "search") == 0) {
        plcf->op = NGX_HTTP_CARTBOT_PRODUCT_SEARCH;

    } else if (ngx_strcmp(value[1].data, "by_category") == 0) {
        plcf->op = NGX_HTTP_CARTBOT_PRODUCT_BY_CATEGORY;

    } else if (ngx_strcmp(value[1].data, "recommend") == 0) {
        plcf->op = NGX_HTTP_CARTBOT_PRODUCT_RECOMMEND;

    } else if (ngx_strcmp(value[1].data, "create") == 0) {
        plcf->op = NGX_HTTP_CARTBOT_PRODUCT_CREATE;

    } else if (ngx_strcmp(value[1].data, "write") == 0) {
        plcf->op = NGX_HTTP_CARTBOT_PRODUCT_WRITE;

    } else {
        return "must be get, search, by_category, recommend, create or "
               "write";
    }

    if (cf->args->nelts == 3 && plcf->op == NGX_HTTP_CARTBOT_PRODUCT_GET) {
        if (ngx_strncmp(value[2].data, "writes=@", 8) != 0
            || value[2].len == 8)
        {
            return "takes writes=@name, a named location";
        }

        plcf->writes.data = value[2].data + 7;
        plcf->writes.len = value[2].len - 7;

    } else if (cf->args->nelts == 3) {
        if (plcf->op != NGX_HTTP_CARTBOT_PRODUCT_SEARCH) {
            return "takes a mode only for search and writes= only for get";
        }

        if (ngx_strcmp(value[2].data, "mode=hybrid") == 0) {
            plcf->mode = NGX_HTTP_CARTBOT_SEARCH_HYBRID;

        } else if (ngx_strcmp(value[2].data, "mode=fulltext") == 0) {
            plcf->mode = NGX_HTTP_CARTBOT_SEARCH_FULLTEXT;

        } else if (ngx_strcmp(value[2].data, "mode=vector") == 0) {
            plcf->mode = NGX_HTTP_CARTBOT_SEARCH_VECTOR;

        } else {
            return "mode must be hybrid, fulltext or vector";
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_cartbot_product_handler;

    return NGX_CONF_OK;
}
