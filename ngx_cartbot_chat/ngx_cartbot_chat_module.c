
/*
 * ngx_cartbot_chat_module: the shopping assistant of Cartbot.
 *
 *     cartbot_chat_db    /_cartbot/db/sql  signin=/_cartbot/db/signin
 *                        credentials=secrets/chat.json;
 *     cartbot_chat_user  $jwt_claim_sub;          # who owns sessions
 *     cartbot_chat_api   search=/internal/products/search
 *                        fulltext=/internal/products/fulltext-search
 *                        cart=/internal/cart checkout=/internal/checkout
 *                        recommend=/internal/recommend;
 *     cartbot_chat_max_message  1000;             # bytes
 *     cartbot_chat_llm   /_cartbot/groq  key_file=secrets/groq.key
 *                        model=llama-3.1-8b-instant mode=hybrid
 *                        max_tokens=200;
 *     cartbot_chat_llm_budget  zone=llm_budget:1m tokens=20000;  # a day
 *
 *     location = /chat           { cartbot_chat message; }   # POST
 *     location /chat/history/    { cartbot_chat history; }   # GET /{id}
 *     location = /chat/mode      { cartbot_chat mode; }      # GET
 *
 * A turn: the message is understood (shared/cartbot_nlu.c), then round 1
 * runs in parallel what the turn needs to know: the session's owner and
 * the assistant's memory of it (chat account), the catalog search for
 * each product named, the cart.  The understanding is redone with the
 * memory ("make that 3"), the products are picked (shared/cartbot_chat.c)
 * and round 2 runs in parallel what the turn does: the cart or checkout
 * calls, each through the other module's internal API and its rules, and
 * one transaction that records both messages and the new memory.  The
 * reply recorded there is the one for success; when an action fails, the
 * record is corrected before the answer is sent, and a multi-item add
 * that failed in part is undone, so the turn is all or nothing.
 *
 * With an LLM (an OpenAI-compatible Chat Completions location, Groq by
 * default): mode=llm asks it to classify every message, mode=hybrid only
 * the messages the built-in understanding is not confident about; either
 * way the call runs in parallel with round 1, and product questions are
 * answered by the model from the catalog hits (shared/cartbot_llm.c).  A
 * model that fails, times out, is rate limited, answers nonsense, has its
 * circuit open or would go over the subject's daily token budget is not
 * waited for again: the built-in understanding answers, and the answer
 * says why ("fallback").
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"
#include "cartbot_nlu.h"
#include "cartbot_chat.h"
#include "cartbot_llm.h"


#define NGX_HTTP_CARTBOT_CHAT_MESSAGE      1
#define NGX_HTTP_CARTBOT_CHAT_HISTORY      2
#define NGX_HTTP_CARTBOT_CHAT_MODE         3

/* the steps of a turn */
#define NGX_HTTP_CARTBOT_CHAT_LOAD         1
#define NGX_HTTP_CARTBOT_CHAT_LOOKUP       2
#define NGX_HTTP_CARTBOT_CHAT_ACT          3
#define NGX_HTTP_CARTBOT_CHAT_REPAIR       4
#define NGX_HTTP_CARTBOT_CHAT_READ         5
#define NGX_HTTP_CARTBOT_CHAT_ANSWER       6

/* what a turn does */
#define NGX_HTTP_CARTBOT_CHAT_DO_NOTHING   0
#define NGX_HTTP_CARTBOT_CHAT_DO_ADD       1
#define NGX_HTTP_CARTBOT_CHAT_DO_REMOVE    2
#define NGX_HTTP_CARTBOT_CHAT_DO_UPDATE    3
#define NGX_HTTP_CARTBOT_CHAT_DO_CHECKOUT  4

#define NGX_HTTP_CARTBOT_CHAT_SEARCH_LIMIT 8
#define NGX_HTTP_CARTBOT_CHAT_SHOW         5     /* products listed */
#define NGX_HTTP_CARTBOT_CHAT_MEMORY       8     /* products remembered */
#define NGX_HTTP_CARTBOT_CHAT_HISTORY_MAX  100

#define NGX_HTTP_CARTBOT_CHAT_BUILTIN      0
#define NGX_HTTP_CARTBOT_CHAT_LLM          1
#define NGX_HTTP_CARTBOT_CHAT_HYBRID       2

/* below this the built-in understanding asks the model (hybrid) */
#define NGX_HTTP_CARTBOT_CHAT_CONFIDENT    0.5

#define NGX_HTTP_CARTBOT_CHAT_LLM_CLASSIFY 1
#define NGX_HTTP_CARTBOT_CHAT_LLM_ANSWER   2

/* the pending checkout's total in ..._remember(): as it was, or none */
#define NGX_HTTP_CARTBOT_CHAT_KEEP         -1
#define NGX_HTTP_CARTBOT_CHAT_CLEAR        -2


typedef struct {
    ngx_http_cartbot_loc_conf_t    cartbot;
    ngx_uint_t                     op;
    ngx_str_t                      search_uri;
    ngx_str_t                      fulltext_uri;
    ngx_str_t                      cart_uri;
    ngx_str_t                      checkout_uri;
    ngx_str_t                      recommend_uri;
    size_t                         max_message;

    /* the LLM */
    ngx_str_t                      llm_uri;
    ngx_str_t                      llm_model;
    ngx_str_t                      llm_auth;   /* "Bearer gsk_..." */
    ngx_uint_t                     llm_mode;
    ngx_uint_t                     llm_max_tokens;
    ngx_shm_zone_t                *stats;
    ngx_shm_zone_t                *budget_zone;
    ngx_uint_t                     budget;     /* tokens a subject a day */
} ngx_http_cartbot_chat_loc_conf_t;


/* the daily token budgets, in shared memory */

typedef struct {
    uint64_t                       key;        /* hash of the subject */
    ngx_uint_t                     day;
    ngx_atomic_int_t               used;
} ngx_http_cartbot_chat_budget_slot_t;


typedef struct {
    ngx_uint_t                     nslots;
    ngx_http_cartbot_chat_budget_slot_t  slots[1];
} ngx_http_cartbot_chat_budget_t;


/* a call of the LLM */

typedef struct {
    ngx_http_cartbot_ctx_t        *ctx;
    ngx_uint_t                     kind;
    ngx_msec_t                     start;
    long long                      reserved;
    ngx_http_cartbot_stats_dep_t  *dep;
    ngx_uint_t                     probe;
    ngx_int_t                      rc;
    ngx_uint_t                     status;
    ngx_str_t                      body;
    cartbot_llm_stream_t           stream;     /* a streamed answer */
    size_t                         sent;       /* bytes of deltas sent */
    unsigned                       streamed:1;
    unsigned                       done:1;
} ngx_http_cartbot_chat_llm_t;


/* a product as the turn knows it */

typedef struct {
    ngx_str_t                      id;         /* "product:key" */
    ngx_str_t                      name;
    double                         price;
    long long                      stock;      /* -1: not known */
    yajl_val                       json;       /* as the catalog gave it */
} ngx_http_cartbot_chat_product_t;


/* a catalog search made for a product phrase */

typedef struct {
    cartbot_str_t                  phrase;
    ngx_http_cartbot_call_t       *call;
    unsigned                       fulltext:1;
} ngx_http_cartbot_chat_search_t;


/* one item of a cart change */

typedef struct {
    ngx_http_cartbot_call_t       *search;
    ngx_http_cartbot_chat_product_t product;
    ngx_http_cartbot_chat_search_t *searched;
    long long                      quantity;
    long long                      before;     /* in the cart before */
    ngx_http_cartbot_call_t       *action;
    ngx_http_cartbot_call_t       *undo;
    unsigned                       chosen:1;
} ngx_http_cartbot_chat_item_t;


typedef struct {
    ngx_http_cartbot_ctx_t         ctx;
    ngx_uint_t                     step;
    ngx_uint_t                     rounds;     /* database rounds in line */
    ngx_msec_t                     start;

    ngx_str_t                      session;    /* the record key */
    ngx_str_t                      user;
    ngx_str_t                      said;
    cartbot_mem_t                 *mem;

    cartbot_nlu_result_t           nlu;
    cartbot_nlu_context_t          memory;
    cartbot_nlu_product_t          shown[NGX_HTTP_CARTBOT_CHAT_MEMORY];
    cartbot_nlu_product_t          last;
    double                         pending_total;

    ngx_http_cartbot_db_query_t   *load;
    ngx_http_cartbot_db_query_t   *write;
    ngx_http_cartbot_call_t       *cart;       /* the cart, read */
    ngx_http_cartbot_call_t       *search;     /* searchProducts, questions */
    ngx_http_cartbot_call_t       *recommend;
    ngx_http_cartbot_call_t       *checkout;

    ngx_http_cartbot_chat_search_t searches[2 * CARTBOT_NLU_MAX_ITEMS];
    ngx_uint_t                     nsearches;
    ngx_http_cartbot_chat_item_t   items[CARTBOT_NLU_MAX_ITEMS];
    ngx_uint_t                     nitems;
    ngx_uint_t                     action;

    /* the answer */
    cartbot_buf_t                  reply;
    cartbot_buf_t                  products;   /* a JSON array's members */
    cartbot_buf_t                  confirm;    /* a JSON object, or empty */
    cartbot_buf_t                  next_memory;
    yajl_val                       cart_json;
    yajl_val                       order_json;
    long long                      seq;        /* the assistant message */

    /* the LLM's part in the turn */
    ngx_http_cartbot_chat_llm_t   *llm;
    const char                    *model;      /* "builtin" or the LLM's */
    const char                    *fallback;   /* why the model was not
                                                  used, or NULL */
    long long                      prompt_tokens;
    long long                      completion_tokens;
    cartbot_buf_t                  llm_request;  /* a streamed ask */
    size_t                         deltas_sent;

    unsigned                       stream:1;   /* Server-Sent Events */
    unsigned                       success:1;
    unsigned                       keep_shown:1;
} ngx_http_cartbot_chat_ctx_t;


static ngx_int_t ngx_http_cartbot_chat_handler(ngx_http_request_t *r);
static void ngx_http_cartbot_chat_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_chat_history(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_chat_mode(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_chat_load(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_chat_lookup(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_uint_t *issued);
static void ngx_http_cartbot_chat_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *base);
static ngx_int_t ngx_http_cartbot_chat_understood(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_chat_decide(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_chat_act(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_chat_acted(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_chat_answer(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx);
static ngx_int_t ngx_http_cartbot_chat_end_events(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, cartbot_buf_t *result);
static ngx_int_t ngx_http_cartbot_chat_answer_history(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx);
static ngx_http_cartbot_call_t *ngx_http_cartbot_chat_call(
    ngx_http_request_t *r, ngx_http_cartbot_chat_ctx_t *ctx, ngx_str_t *uri,
    const char *suffix, ngx_uint_t method, cartbot_buf_t *body);
static yajl_val ngx_http_cartbot_chat_call_json(ngx_http_request_t *r,
    ngx_http_cartbot_call_t *call);
static const char *ngx_http_cartbot_chat_call_error(ngx_http_request_t *r,
    ngx_http_cartbot_call_t *call);
static void ngx_http_cartbot_chat_product(yajl_val v,
    ngx_http_cartbot_chat_product_t *p);
static void ngx_http_cartbot_chat_money(cartbot_buf_t *b, double amount);
static void ngx_http_cartbot_chat_show(ngx_http_cartbot_chat_ctx_t *ctx,
    ngx_http_cartbot_chat_product_t *p, size_t n);
static void ngx_http_cartbot_chat_remember(ngx_http_cartbot_chat_ctx_t *ctx,
    ngx_http_cartbot_chat_product_t *shown, size_t nshown,
    ngx_http_cartbot_chat_product_t *last, double pending_total);
static ngx_int_t ngx_http_cartbot_chat_recall(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, const char *text);
static ngx_int_t ngx_http_cartbot_chat_ask(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_http_cartbot_chat_product_t *prods,
    size_t n);
static ngx_int_t ngx_http_cartbot_chat_llm_call(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_uint_t kind, cartbot_buf_t *body,
    ngx_uint_t streamed);
static ngx_int_t ngx_http_cartbot_chat_start_events(ngx_http_request_t *r);
static void ngx_http_cartbot_chat_drain(ngx_http_request_t *r);
static ngx_http_cartbot_chat_llm_t *ngx_http_cartbot_chat_streamed(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_chat_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_chat_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_cartbot_chat_llm_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_cartbot_chat_llm_result(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, cartbot_llm_completion_t *c);
static ngx_int_t ngx_http_cartbot_chat_budget(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_atomic_int_t n);
static ngx_int_t ngx_http_cartbot_chat_budget_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_cartbot_chat_wake(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_chat_query_handler(ngx_http_request_t *r);
static char *ngx_http_cartbot_chat_llm(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cartbot_chat_llm_budget(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_cartbot_chat_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_cartbot_chat_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_cartbot_chat(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_cartbot_chat_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_cartbot_chat_init(ngx_conf_t *cf);


ngx_module_t  ngx_cartbot_chat_module;


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static ngx_http_cartbot_glue_t  ngx_http_cartbot_chat_glue = {
    &ngx_cartbot_chat_module,
    ngx_http_cartbot_chat_wake,
    ngx_http_cartbot_chat_query_handler,
    ngx_string("cartbot_chat_db")
};


static ngx_conf_enum_t  ngx_http_cartbot_chat_ops[] = {
    { ngx_string("message"), NGX_HTTP_CARTBOT_CHAT_MESSAGE },
    { ngx_string("history"), NGX_HTTP_CARTBOT_CHAT_HISTORY },
    { ngx_string("mode"), NGX_HTTP_CARTBOT_CHAT_MODE },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_cartbot_chat_commands[] = {

    ngx_http_cartbot_db_commands("cartbot_chat", ngx_http_cartbot_chat_glue),

    { ngx_string("cartbot_chat"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_cartbot_chat,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_chat_loc_conf_t, op),
      &ngx_http_cartbot_chat_ops },

    { ngx_string("cartbot_chat_api"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_chat_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_chat_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_cartbot_chat_loc_conf_t, max_message),
      NULL },

    { ngx_string("cartbot_chat_llm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_cartbot_chat_llm,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("cartbot_chat_llm_budget"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_cartbot_chat_llm_budget,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_cartbot_chat_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_cartbot_chat_init,            /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_cartbot_chat_create_loc_conf, /* create location configuration */
    ngx_http_cartbot_chat_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_cartbot_chat_module = {
    NGX_MODULE_V1,
    &ngx_http_cartbot_chat_module_ctx,     /* module context */
    ngx_http_cartbot_chat_commands,        /* module directives */
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
 * The queries.  $sid is a session key the module checked, $user the
 * caller; everything else is a string variable the query casts.
 */

#define NGX_HTTP_CARTBOT_CHAT_OWNER                                          \
    "LET $s = type::record('user_session', $sid);"                           \
    "LET $sess = $s.*;"                                                      \
    "IF $sess = NONE OR $sess.user_id != $user"                              \
    " { THROW 'session_not_found' };"


static const char  ngx_http_cartbot_chat_load_sql[] =
    NGX_HTTP_CARTBOT_CHAT_OWNER
    "RETURN { status: $sess.status,"
    " memory: type::record('chat_state', $sid).memory ?? '{}' };";


/*
 * Both messages and the memory in one transaction; the sequence number
 * lives in chat_state, so two turns of one session conflict there and
 * one of them is retried.
 */

static const char  ngx_http_cartbot_chat_write_sql[] =
    "BEGIN;"
    NGX_HTTP_CARTBOT_CHAT_OWNER
    "LET $st = type::record('chat_state', $sid);"
    "LET $n = $st.seq ?? 0;"
    "UPSERT $st SET session_id = $s, seq = $n + 2, memory = $memory"
    " RETURN NONE;"
    "CREATE chat_message SET session_id = $s, seq = $n + 1, role = 'user',"
    " content = $said, intent = $intent, entities = $entities RETURN NONE;"
    "CREATE chat_message SET session_id = $s, seq = $n + 2,"
    " role = 'assistant', content = $reply, intent = $intent,"
    " model = $model, processing_ms = <int> $ms,"
    " prompt_tokens = <int> $pt, completion_tokens = <int> $ct RETURN NONE;"
    "COMMIT;"
    "RETURN $n + 2;";


static const char  ngx_http_cartbot_chat_repair_sql[] =
    "UPDATE chat_message SET content = $reply"
    " WHERE session_id = type::record('user_session', $sid)"
    " AND seq = <int> $seq AND role = 'assistant';";


static const char  ngx_http_cartbot_chat_history_sql[] =
    NGX_HTTP_CARTBOT_CHAT_OWNER
    "RETURN SELECT seq AS id, role, content, timestamp, intent, model,"
    " processing_ms, prompt_tokens, completion_tokens FROM chat_message"
    " WHERE session_id = $s AND seq < <int> $before"
    " ORDER BY seq DESC LIMIT <int> $limit;";


static ngx_http_cartbot_db_thrown_t  ngx_http_cartbot_chat_errors[] = {
    { "session_not_found", NGX_HTTP_NOT_FOUND, "no such session" },
    { NULL, 0, NULL }
};


static ngx_int_t
ngx_http_cartbot_chat_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_str_t                          arg, key;
    ngx_http_cartbot_chat_ctx_t       *ctx;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    if (clcf->op == NGX_HTTP_CARTBOT_CHAT_MODE) {
        return ngx_http_cartbot_chat_mode(r);
    }

    if (!(r->method & (clcf->op == NGX_HTTP_CARTBOT_CHAT_MESSAGE
                       ? NGX_HTTP_POST : NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed",
                                           "method not allowed here");
    }

    if (clcf->cartbot.db.sql_uri.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_chat: no \"cartbot_chat_db\" here");
        return ngx_http_cartbot_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                           "internal_error",
                                           "no database configured");
    }

    ctx = (ngx_http_cartbot_chat_ctx_t *) ngx_http_cartbot_ctx_create(r,
                                     &ngx_http_cartbot_chat_glue,
                                     sizeof(ngx_http_cartbot_chat_ctx_t),
                                     ngx_http_cartbot_chat_resume);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->start = ngx_current_msec;

    ctx->mem = ngx_http_cartbot_mem(r->pool);
    if (ctx->mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_cartbot_user(r, &clcf->cartbot, &ctx->user);

    if (rc == NGX_DECLINED) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                           "unauthorized",
                                           "who is asking is not known");
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (clcf->op == NGX_HTTP_CARTBOT_CHAT_MESSAGE) {
        rc = ngx_http_cartbot_read_json_body(r, ngx_http_cartbot_chat_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    /* GET /chat/history/{session_id} */

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    arg.data = r->uri.data + r->uri.len;

    while (arg.data > r->uri.data && arg.data[-1] != '/') {
        arg.data--;
    }

    arg.len = r->uri.data + r->uri.len - arg.data;

    if (ngx_http_cartbot_record_key(r, "user_session", (char *) arg.data,
                                    arg.len, &key)
        != NGX_OK)
    {
        return ngx_http_cartbot_send_error(r, 422, "invalid_session_id",
                                           "the path does not end with a "
                                           "session id");
    }

    ctx->session = key;

    rc = ngx_http_cartbot_chat_history(r, ctx);

    if (rc != NGX_DONE) {
        /* refused, and answered already */
        return rc;
    }

    r->main->count++;

    return NGX_DONE;
}


/* Accept: text/event-stream */

static ngx_uint_t
ngx_http_cartbot_chat_wants_events(ngx_http_request_t *r)
{
    ngx_str_t         *accept;
    ngx_table_elt_t   *h;
    ngx_list_part_t   *part;
    ngx_uint_t         i;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 6
            && ngx_strncasecmp(h[i].key.data, (u_char *) "accept", 6) == 0)
        {
            accept = &h[i].value;

            if (ngx_strlcasestrn(accept->data, accept->data + accept->len,
                                 (u_char *) "text/event-stream", 17 - 1)
                != NULL)
            {
                return 1;
            }
        }
    }
}


static void
ngx_http_cartbot_chat_body(ngx_http_request_t *r)
{
    char                               err[128];
    yajl_val                           body, v;
    ngx_int_t                          rc;
    ngx_str_t                          key;
    const char                        *sid, *said;
    cartbot_buf_t                      b;
    ngx_http_cartbot_chat_ctx_t       *ctx;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);
    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_chat_module);

    body = ngx_http_cartbot_parse_body(r, err, sizeof(err));

    if (!YAJL_IS_OBJECT(body)) {
        rc = ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_REQUEST,
                                         "invalid_json",
                                         body ? "the body must be a JSON "
                                                "object" : err);
        ngx_http_finalize_request(r, rc);
        return;
    }

    sid = cartbot_json_get_string(body, "session_id");

    if (sid == NULL
        || ngx_http_cartbot_record_key(r, "user_session", sid,
                                       ngx_strlen(sid), &key)
           != NGX_OK)
    {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_session_id",
                                         "session_id must be a session id");
        ngx_http_finalize_request(r, rc);
        return;
    }

    v = cartbot_json_get(body, "message");
    said = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;

    if (said == NULL) {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_message",
                                         "message must be a string");
        ngx_http_finalize_request(r, rc);
        return;
    }

    v = cartbot_json_get(body, "stream");

    if (v && !YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_stream",
                                         "stream must be true or false");
        ngx_http_finalize_request(r, rc);
        return;
    }

    ctx->stream = (v && YAJL_IS_TRUE(v))
                  || ngx_http_cartbot_chat_wants_events(r);

    ctx->said.data = (u_char *) said;
    ctx->said.len = ngx_strlen(said);

    if (ctx->said.len > clcf->max_message) {
        rc = ngx_http_cartbot_send_error(r,
                                       NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       "message_too_long",
                                       "the message is too long; please "
                                       "say it in fewer words");
        ngx_http_finalize_request(r, rc);
        return;
    }

    while (ctx->said.len && (ctx->said.data[ctx->said.len - 1] == ' '
                             || ctx->said.data[ctx->said.len - 1] == '\n'))
    {
        ctx->said.len--;
    }

    if (ctx->said.len == 0) {
        rc = ngx_http_cartbot_send_error(r, 422, "invalid_message",
                                         "the message is empty");
        ngx_http_finalize_request(r, rc);
        return;
    }

    ctx->session = key;

    /* a first understanding, without memory: what round 1 must fetch */

    if (cartbot_nlu_parse(ctx->mem, (char *) ctx->said.data, ctx->said.len,
                          NULL, &ctx->nlu)
        != 0)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_cartbot_chat_load(r, ctx);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_cartbot_status_error(r, rc));
        return;
    }

    /*
     * The model classifies in parallel with round 1: always (llm), or when
     * the built-in understanding is not confident (hybrid).  What it must
     * refuse, and plain yes or no, never go to the model.
     */

    if (clcf->llm_mode == NGX_HTTP_CARTBOT_CHAT_BUILTIN
        || ctx->nlu.injection_suspected || ctx->nlu.names_other_session
        || ctx->nlu.confirmation != CARTBOT_NLU_CONFIRM_NONE
        || (clcf->llm_mode == NGX_HTTP_CARTBOT_CHAT_HYBRID
            && ctx->nlu.intent != CARTBOT_NLU_UNKNOWN
            && ctx->nlu.confidence >= NGX_HTTP_CARTBOT_CHAT_CONFIDENT))
    {
        return;
    }

    cartbot_buf_init(&b, ctx->mem, 2048 + ctx->said.len);

    if (cartbot_llm_classify_request(&b, (char *) clcf->llm_model.data,
                                     (char *) ctx->said.data, ctx->said.len,
                                     NULL, clcf->llm_max_tokens)
        != 0
        || ngx_http_cartbot_chat_llm_call(r, ctx,
                                          NGX_HTTP_CARTBOT_CHAT_LLM_CLASSIFY,
                                          &b, 0)
           == NGX_ERROR)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_chat: the model could not be asked");
    }
}


/* the JSON of a body made of a few members */

static cartbot_buf_t *
ngx_http_cartbot_chat_body_of(ngx_http_cartbot_chat_ctx_t *ctx,
    const char *product_id, size_t len, long long quantity)
{
    cartbot_buf_t  *b;

    b = cartbot_alloc(ctx->mem, sizeof(cartbot_buf_t));
    if (b == NULL) {
        return NULL;
    }

    cartbot_buf_init(b, ctx->mem, 128);
    cartbot_buf_printf(b, "{\"session_id\":\"%.*s\"",
                       (int) ctx->session.len, ctx->session.data);

    if (product_id) {
        cartbot_buf_add_str(b, ",\"product_id\":");
        cartbot_json_add_string(b, product_id, len);
    }

    if (quantity >= 0) {
        cartbot_buf_printf(b, ",\"quantity\":%lld", quantity);
    }

    cartbot_buf_add_char(b, '}');

    return b->failed ? NULL : b;
}


/* round 1: the memory, and what the first understanding will need */

static ngx_int_t
ngx_http_cartbot_chat_load(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    ngx_uint_t                         issued;
    cartbot_surreal_query_t            sq;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    cartbot_surreal_query_init(&sq, ctx->mem,
                               ngx_http_cartbot_chat_load_sql);
    cartbot_surreal_bind(&sq, "sid", (char *) ctx->session.data,
                         ctx->session.len);
    cartbot_surreal_bind(&sq, "user", (char *) ctx->user.data,
                         ctx->user.len);

    ctx->step = NGX_HTTP_CARTBOT_CHAT_LOAD;
    ctx->rounds = 1;

    if (ngx_http_cartbot_chat_lookup(r, ctx, &issued) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->load = ngx_http_cartbot_db_query(r, &ctx->ctx, &clcf->cartbot.db,
                                          &sq);
    if (ctx->load == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * What the understanding resolved from memory, when it is to be trusted:
 * "the second one", "it", or a name among the products last shown.  A
 * product phrase that only matched the last product ("add a t-shirt"
 * after a t-shirt) is searched for in the catalog instead.
 */

static const cartbot_nlu_product_t *
ngx_http_cartbot_chat_resolved(ngx_http_cartbot_chat_ctx_t *ctx,
    const cartbot_nlu_item_t *it)
{
    size_t  i;

    if (it->resolved == NULL || it->ref != CARTBOT_NLU_REF_NAME) {
        return it->resolved;
    }

    for (i = 0; i < ctx->memory.nlast_shown; i++) {
        if (it->resolved == &ctx->memory.last_shown[i]) {
            return it->resolved;
        }
    }

    return NULL;
}


/*
 * The catalog and cart reads the current understanding needs and that
 * were not made yet; *issued counts the new ones.
 */

static ngx_int_t
ngx_http_cartbot_chat_lookup(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_uint_t *issued)
{
    size_t                             i, j;
    ngx_uint_t                         fulltext;
    cartbot_buf_t                      b;
    cartbot_nlu_item_t                *it;
    cartbot_nlu_result_t              *nlu;
    ngx_http_cartbot_chat_item_t      *item;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);
    nlu = &ctx->nlu;
    *issued = 0;

    switch (nlu->intent) {

    case CARTBOT_NLU_ADD_TO_CART:
    case CARTBOT_NLU_REMOVE_FROM_CART:
    case CARTBOT_NLU_UPDATE_QUANTITY:
    case CARTBOT_NLU_VIEW_CART:
    case CARTBOT_NLU_CHECKOUT:
        break;

    case CARTBOT_NLU_SEARCH_PRODUCTS:
    case CARTBOT_NLU_PRODUCT_QUESTION:

        if (ctx->search || nlu->query.data == NULL || nlu->query.len == 0) {
            return NGX_OK;
        }

        cartbot_buf_init(&b, ctx->mem, 256);
        cartbot_buf_add_str(&b, "{\"query\":");
        cartbot_json_add_string(&b, nlu->query.data, nlu->query.len);
        cartbot_buf_printf(&b, ",\"limit\":%d",
                           NGX_HTTP_CARTBOT_CHAT_SHOW);

        if (nlu->price_min >= 0) {
            cartbot_buf_printf(&b, ",\"min_price\":%.2f", nlu->price_min);
        }

        if (nlu->price_max >= 0) {
            cartbot_buf_printf(&b, ",\"max_price\":%.2f", nlu->price_max);
        }

        cartbot_buf_add_char(&b, '}');

        ctx->search = ngx_http_cartbot_chat_call(r, ctx, &clcf->search_uri,
                                                 "", NGX_HTTP_POST, &b);
        if (ctx->search == NULL) {
            return NGX_ERROR;
        }

        (*issued)++;
        return NGX_OK;

    case CARTBOT_NLU_GET_RECOMMENDATIONS:

        if (ctx->recommend) {
            return NGX_OK;
        }

        ctx->recommend = ngx_http_cartbot_chat_call(r, ctx,
                                                    &clcf->recommend_uri,
                                                    NULL, NGX_HTTP_GET,
                                                    NULL);
        if (ctx->recommend == NULL) {
            return NGX_ERROR;
        }

        (*issued)++;
        return NGX_OK;

    default:

        /* "yes" to a checkout: the cart is compared with what was shown */

        if (nlu->confirmation == CARTBOT_NLU_CONFIRM_NONE) {
            return NGX_OK;
        }
    }

    /*
     * An add needs no cart read: the cart module checks everything and
     * answers with the whole cart, which says what to put back if a
     * multi-item add fails in part.
     */

    if (ctx->cart == NULL && nlu->intent != CARTBOT_NLU_ADD_TO_CART) {
        ctx->cart = ngx_http_cartbot_chat_call(r, ctx, &clcf->cart_uri, NULL,
                                               NGX_HTTP_GET, NULL);
        if (ctx->cart == NULL) {
            return NGX_ERROR;
        }

        (*issued)++;
    }

    if (nlu->intent != CARTBOT_NLU_ADD_TO_CART) {
        return NGX_OK;
    }

    /* each product named and not remembered is searched for, once */

    for (i = 0; i < nlu->nitems && i < CARTBOT_NLU_MAX_ITEMS; i++) {
        it = &nlu->items[i];
        item = &ctx->items[i];
        item->search = NULL;

        if (ngx_http_cartbot_chat_resolved(ctx, it)
            || it->product.data == NULL || it->product.len == 0)
        {
            continue;
        }

        item->searched = NULL;

        for (j = 0; j < ctx->nsearches; j++) {
            if (ctx->searches[j].phrase.len == it->product.len
                && ngx_strncmp(ctx->searches[j].phrase.data,
                               it->product.data, it->product.len) == 0)
            {
                item->search = ctx->searches[j].call;
                item->searched = &ctx->searches[j];
                break;
            }
        }

        if (item->search || j == 2 * CARTBOT_NLU_MAX_ITEMS) {
            continue;
        }

        cartbot_buf_init(&b, ctx->mem, 256);
        cartbot_buf_add_str(&b, "{\"query\":");
        cartbot_json_add_string(&b, it->product.data, it->product.len);
        cartbot_buf_printf(&b, ",\"limit\":%d,\"depth\":%d}",
                           NGX_HTTP_CARTBOT_CHAT_SEARCH_LIMIT,
                           NGX_HTTP_CARTBOT_CHAT_SEARCH_LIMIT);

        /* full text first when there is a location for it: see _widen() */

        fulltext = clcf->fulltext_uri.len != 0;

        item->search = ngx_http_cartbot_chat_call(r, ctx,
                                                  fulltext ? &clcf->fulltext_uri
                                                           : &clcf->search_uri,
                                                  "", NGX_HTTP_POST, &b);
        if (item->search == NULL) {
            return NGX_ERROR;
        }

        item->searched = &ctx->searches[ctx->nsearches];
        ctx->searches[ctx->nsearches].phrase = it->product;
        ctx->searches[ctx->nsearches].call = item->search;
        ctx->searches[ctx->nsearches].fulltext = fulltext;
        ctx->nsearches++;

        (*issued)++;
    }

    ctx->nitems = ngx_min(nlu->nitems, CARTBOT_NLU_MAX_ITEMS);

    return NGX_OK;
}


static void
ngx_http_cartbot_chat_resume(ngx_http_request_t *r,
    ngx_http_cartbot_ctx_t *base)
{
    ngx_int_t                     rc;
    cartbot_llm_completion_t      c;
    ngx_http_cartbot_chat_ctx_t  *ctx;

    ctx = (ngx_http_cartbot_chat_ctx_t *) base;

    switch (ctx->step) {

    case NGX_HTTP_CARTBOT_CHAT_LOAD:

        if (ctx->load->error
            || ctx->load->result.outcome != CARTBOT_SURREAL_OK)
        {
            rc = ngx_http_cartbot_db_send_thrown(r, ctx->load,
                                              ngx_http_cartbot_chat_errors);
            break;
        }

        rc = ngx_http_cartbot_chat_understood(r, ctx);
        break;

    case NGX_HTTP_CARTBOT_CHAT_LOOKUP:
        rc = ngx_http_cartbot_chat_decide(r, ctx);
        break;

    case NGX_HTTP_CARTBOT_CHAT_ACT:
        rc = ngx_http_cartbot_chat_acted(r, ctx);
        break;

    case NGX_HTTP_CARTBOT_CHAT_ANSWER:

        if (ctx->llm && ctx->llm->streamed) {
            ctx->deltas_sent = ctx->llm->sent;
        }

        if (ngx_http_cartbot_chat_llm_result(r, ctx, &c) == NGX_OK
            && c.content.len)
        {
            ctx->reply.len = 0;
            cartbot_buf_add(&ctx->reply, c.content.data,
                            ngx_min(c.content.len, CARTBOT_LLM_MAX_ANSWER));
        }

        ctx->llm = NULL;
        rc = ngx_http_cartbot_chat_act(r, ctx);
        break;

    case NGX_HTTP_CARTBOT_CHAT_REPAIR:

        if (ctx->write && (ctx->write->error
                           || ctx->write->result.outcome
                              != CARTBOT_SURREAL_OK))
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "cartbot_chat: the reply of message %L could not "
                          "be corrected in the history", ctx->seq);
        }

        rc = ngx_http_cartbot_chat_answer(r, ctx);
        break;

    default: /* NGX_HTTP_CARTBOT_CHAT_READ */

        if (ctx->load->error
            || ctx->load->result.outcome != CARTBOT_SURREAL_OK)
        {
            rc = ngx_http_cartbot_db_send_thrown(r, ctx->load,
                                              ngx_http_cartbot_chat_errors);
            break;
        }

        rc = ngx_http_cartbot_chat_answer_history(r, ctx);
    }

    if (rc == NGX_AGAIN) {
        /* more subrequests are in flight */
        return;
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * Round 1 is back: the understanding is redone with the memory, and what
 * it needs beyond round 1 is looked up (rarely: "the second one" needs
 * nothing, a new phrase does).
 */

static ngx_int_t
ngx_http_cartbot_chat_understood(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    yajl_val                   value;
    ngx_uint_t                 issued;
    const char                *memory, *status;
    cartbot_nlu_result_t       nlu;
    cartbot_llm_completion_t   c;

    value = cartbot_surreal_last(&ctx->load->result);
    memory = cartbot_json_get_string(value, "memory");
    status = cartbot_json_get_string(value, "status");

    if (ngx_http_cartbot_chat_recall(r, ctx, memory ? memory : "{}")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (cartbot_nlu_parse(ctx->mem, (char *) ctx->said.data, ctx->said.len,
                          &ctx->memory, &ctx->nlu)
        != 0)
    {
        return NGX_ERROR;
    }

    if (ctx->llm && ctx->llm->kind == NGX_HTTP_CARTBOT_CHAT_LLM_CLASSIFY) {

        if (ngx_http_cartbot_chat_llm_result(r, ctx, &c) == NGX_OK) {

            if (cartbot_llm_classify_parse(ctx->mem, c.content.data,
                                           c.content.len, &ctx->nlu, &nlu)
                == 0)
            {
                ctx->nlu = nlu;

            } else {
                ctx->fallback = "llm_malformed";
                ctx->model = NULL;
            }
        }

        ctx->llm = NULL;
    }

    ctx->step = NGX_HTTP_CARTBOT_CHAT_LOOKUP;

    if (status && ngx_strcmp(status, "active") != 0) {
        ctx->nlu.intent = CARTBOT_NLU_UNKNOWN;
        ctx->nlu.nitems = 0;

        cartbot_buf_init(&ctx->reply, ctx->mem, 128);
        cartbot_buf_printf(&ctx->reply, "This session is %s, so I can't "
                           "change anything in it. Please start a new "
                           "session.", status);

        return ngx_http_cartbot_chat_decide(r, ctx);
    }

    if (ngx_http_cartbot_chat_lookup(r, ctx, &issued) != NGX_OK) {
        return NGX_ERROR;
    }

    if (issued) {
        return NGX_AGAIN;
    }

    return ngx_http_cartbot_chat_decide(r, ctx);
}


/* a product of a search hit, the cart or a recommendation */

static void
ngx_http_cartbot_chat_product(yajl_val v, ngx_http_cartbot_chat_product_t *p)
{
    const char  *s;
    long long    n;

    ngx_memzero(p, sizeof(ngx_http_cartbot_chat_product_t));

    p->json = v;
    p->stock = -1;

    s = cartbot_json_get_string(v, "id");

    if (s == NULL) {
        s = cartbot_json_get_string(v, "product_id");
    }

    if (s) {
        p->id.data = (u_char *) s;
        p->id.len = ngx_strlen(s);
    }

    s = cartbot_json_get_string(v, "name");

    if (s) {
        p->name.data = (u_char *) s;
        p->name.len = ngx_strlen(s);
    }

    if (cartbot_json_get_double(v, "price", &p->price) != 0
        && cartbot_json_get_double(v, "unit_price", &p->price) != 0)
    {
        p->price = -1;
    }

    if (cartbot_json_get_int(v, "stock_quantity", &n) == 0) {
        p->stock = n;
    }
}


static void
ngx_http_cartbot_chat_money(cartbot_buf_t *b, double amount)
{
    cartbot_buf_printf(b, "$%.2f", amount);
}


/* "A ($1.00), B ($2.00) or C ($3.00)" */

static void
ngx_http_cartbot_chat_list(cartbot_buf_t *b,
    ngx_http_cartbot_chat_product_t *p, size_t n, const char *last)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (i) {
            cartbot_buf_add_str(b, i + 1 == n ? last : ", ");
        }

        cartbot_buf_add(b, p[i].name.data, p[i].name.len);

        if (p[i].price >= 0) {
            cartbot_buf_add_str(b, " (");
            ngx_http_cartbot_chat_money(b, p[i].price);
            cartbot_buf_add_char(b, ')');
        }
    }
}


/* the products shown with the answer, and remembered as shown */

static void
ngx_http_cartbot_chat_show(ngx_http_cartbot_chat_ctx_t *ctx,
    ngx_http_cartbot_chat_product_t *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (ctx->products.len) {
            cartbot_buf_add_char(&ctx->products, ',');
        }

        if (p[i].json) {
            cartbot_json_add_value(&ctx->products, p[i].json);

        } else {
            cartbot_buf_add_str(&ctx->products, "{\"id\":");
            cartbot_json_add_string(&ctx->products, (char *) p[i].id.data,
                                    p[i].id.len);
            cartbot_buf_add_str(&ctx->products, ",\"name\":");
            cartbot_json_add_string(&ctx->products, (char *) p[i].name.data,
                                    p[i].name.len);
            cartbot_buf_printf(&ctx->products, ",\"price\":%.2f}",
                               p[i].price);
        }
    }
}


/* the memory the next turn starts from */

static void
ngx_http_cartbot_chat_remember(ngx_http_cartbot_chat_ctx_t *ctx,
    ngx_http_cartbot_chat_product_t *shown, size_t nshown,
    ngx_http_cartbot_chat_product_t *last, double pending_total)
{
    size_t          i;
    cartbot_buf_t  *b;

    b = &ctx->next_memory;
    cartbot_buf_init(b, ctx->mem, 512);
    cartbot_buf_add_str(b, "{\"shown\":[");

    if (shown) {
        for (i = 0; i < nshown && i < NGX_HTTP_CARTBOT_CHAT_MEMORY; i++) {
            cartbot_buf_add_str(b, i ? ",{\"id\":" : "{\"id\":");
            cartbot_json_add_string(b, (char *) shown[i].id.data,
                                    shown[i].id.len);
            cartbot_buf_add_str(b, ",\"name\":");
            cartbot_json_add_string(b, (char *) shown[i].name.data,
                                    shown[i].name.len);
            cartbot_buf_printf(b, ",\"price\":%.2f}", shown[i].price);
        }

    } else {
        for (i = 0; i < ctx->memory.nlast_shown; i++) {
            cartbot_buf_add_str(b, i ? ",{\"id\":" : "{\"id\":");
            cartbot_json_add_string(b, ctx->shown[i].id.data,
                                    ctx->shown[i].id.len);
            cartbot_buf_add_str(b, ",\"name\":");
            cartbot_json_add_string(b, ctx->shown[i].name.data,
                                    ctx->shown[i].name.len);
            cartbot_buf_printf(b, ",\"price\":%.2f}", ctx->shown[i].price);
        }
    }

    cartbot_buf_add_str(b, "],\"last\":");

    if (last) {
        cartbot_buf_add_str(b, "{\"id\":");
        cartbot_json_add_string(b, (char *) last->id.data, last->id.len);
        cartbot_buf_add_str(b, ",\"name\":");
        cartbot_json_add_string(b, (char *) last->name.data, last->name.len);
        cartbot_buf_printf(b, ",\"price\":%.2f}", last->price);

    } else if (ctx->memory.last_product) {
        cartbot_buf_add_str(b, "{\"id\":");
        cartbot_json_add_string(b, ctx->last.id.data, ctx->last.id.len);
        cartbot_buf_add_str(b, ",\"name\":");
        cartbot_json_add_string(b, ctx->last.name.data, ctx->last.name.len);
        cartbot_buf_printf(b, ",\"price\":%.2f}", ctx->last.price);

    } else {
        cartbot_buf_add_str(b, "null");
    }

    /* a checkout waits for its yes or no across other turns */

    if (pending_total == NGX_HTTP_CARTBOT_CHAT_KEEP) {
        pending_total = ctx->pending_total;
    }

    if (pending_total >= 0) {
        cartbot_buf_printf(b, ",\"checkout\":%.2f", pending_total);
    }

    cartbot_buf_add_char(b, '}');
}


/* the memory a turn starts from: what ..._remember() wrote */

static ngx_int_t
ngx_http_cartbot_chat_recall(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, const char *text)
{
    char         err[64];
    size_t       i, n;
    yajl_val     doc, shown, v;
    const char  *s;

    ctx->pending_total = -1;

    doc = cartbot_json_parse(text, ngx_strlen(text), err, sizeof(err));
    if (ngx_http_cartbot_json_cleanup(r->pool, doc) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!YAJL_IS_OBJECT(doc)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "cartbot_chat: the memory of session \"%V\" is not "
                      "JSON; starting afresh", &ctx->session);
        return NGX_OK;
    }

    shown = cartbot_json_get(doc, "shown");
    n = 0;

    for (i = 0; i < cartbot_json_array_len(shown)
                && n < NGX_HTTP_CARTBOT_CHAT_MEMORY; i++)
    {
        v = cartbot_json_array_at(shown, i);
        s = cartbot_json_get_string(v, "id");

        if (s == NULL) {
            continue;
        }

        ctx->shown[n].id.data = s;
        ctx->shown[n].id.len = ngx_strlen(s);
        s = cartbot_json_get_string(v, "name");
        ctx->shown[n].name.data = s ? s : "";
        ctx->shown[n].name.len = s ? ngx_strlen(s) : 0;

        if (cartbot_json_get_double(v, "price", &ctx->shown[n].price) != 0) {
            ctx->shown[n].price = -1;
        }

        n++;
    }

    ctx->memory.last_shown = ctx->shown;
    ctx->memory.nlast_shown = n;

    v = cartbot_json_get(doc, "last");
    s = cartbot_json_get_string(v, "id");

    if (s) {
        ctx->last.id.data = s;
        ctx->last.id.len = ngx_strlen(s);
        s = cartbot_json_get_string(v, "name");
        ctx->last.name.data = s ? s : "";
        ctx->last.name.len = s ? ngx_strlen(s) : 0;

        if (cartbot_json_get_double(v, "price", &ctx->last.price) != 0) {
            ctx->last.price = -1;
        }

        ctx->memory.last_product = &ctx->last;
    }

    if (cartbot_json_get_double(doc, "checkout", &ctx->pending_total) == 0) {
        ctx->memory.pending_checkout = 1;

    } else {
        ctx->pending_total = -1;
    }

    return NGX_OK;
}


/* a product the memory holds, as a turn product */

static void
ngx_http_cartbot_chat_from_memory(const cartbot_nlu_product_t *m,
    ngx_http_cartbot_chat_product_t *p)
{
    ngx_memzero(p, sizeof(ngx_http_cartbot_chat_product_t));

    p->id.data = (u_char *) m->id.data;
    p->id.len = m->id.len;
    p->name.data = (u_char *) m->name.data;
    p->name.len = m->name.len;
    p->price = m->price;
    p->stock = -1;
}


/* at most 32 hits (search hits or cart lines) as candidates of a pick */

static size_t
ngx_http_cartbot_chat_candidates(yajl_val list, const char *inner,
    ngx_http_cartbot_chat_product_t *prods, cartbot_chat_candidate_t *cand)
{
    size_t       i, n;
    yajl_val     v;
    const char  *s;

    n = ngx_min(cartbot_json_array_len(list), 32);

    for (i = 0; i < n; i++) {
        v = cartbot_json_array_at(list, i);

        if (inner) {
            v = cartbot_json_get(v, inner);
        }

        ngx_http_cartbot_chat_product(v, &prods[i]);

        cand[i].name.data = (char *) prods[i].name.data;
        cand[i].name.len = prods[i].name.len;
        s = cartbot_json_get_string(v, "sub_category");
        cand[i].sub_category.data = s;
        cand[i].sub_category.len = s ? ngx_strlen(s) : 0;
        cand[i].fulltext = 1;
    }

    return n;
}


/*
 * A phrase is first looked up by full text alone (the cheaper search);
 * when nothing it found fits the phrase by name (a misspelling, other
 * words), the hybrid search with the embedding is asked in one more
 * round.  NGX_AGAIN when such searches were started.
 */

static ngx_int_t
ngx_http_cartbot_chat_widen(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    size_t                             i, n, chosen, ntied, tied[32];
    yajl_val                           v;
    ngx_uint_t                         issued;
    cartbot_buf_t                      b;
    cartbot_nlu_item_t                *it;
    cartbot_chat_candidate_t           cand[32];
    ngx_http_cartbot_chat_item_t      *item;
    ngx_http_cartbot_chat_search_t    *se;
    ngx_http_cartbot_chat_product_t    prods[32];
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);
    issued = 0;

    for (i = 0; i < ctx->nlu.nitems && i < CARTBOT_NLU_MAX_ITEMS; i++) {
        it = &ctx->nlu.items[i];
        item = &ctx->items[i];
        se = item->searched;

        if (se == NULL || !se->fulltext) {
            continue;
        }

        if (se->call != item->search) {
            /* widened already for an item with the same phrase */
            item->search = se->call;
            continue;
        }

        v = ngx_http_cartbot_chat_call_json(r, item->search);
        n = ngx_http_cartbot_chat_candidates(cartbot_json_get(v, "hits"),
                                             "product", prods, cand);

        if (v && cartbot_chat_pick(it->product.data, it->colour.data, cand,
                                   n, &chosen, tied, &ntied)
                 != CARTBOT_CHAT_PICK_NONE)
        {
            continue;
        }

        cartbot_buf_init(&b, ctx->mem, 256);
        cartbot_buf_add_str(&b, "{\"query\":");
        cartbot_json_add_string(&b, it->product.data, it->product.len);
        cartbot_buf_printf(&b, ",\"limit\":%d,\"depth\":%d}",
                           NGX_HTTP_CARTBOT_CHAT_SEARCH_LIMIT,
                           NGX_HTTP_CARTBOT_CHAT_SEARCH_LIMIT);

        item->search = ngx_http_cartbot_chat_call(r, ctx, &clcf->search_uri,
                                                  "", NGX_HTTP_POST, &b);
        if (item->search == NULL) {
            return NGX_ERROR;
        }

        se->call = item->search;
        se->fulltext = 0;
        issued++;
    }

    return issued ? NGX_AGAIN : NGX_OK;
}


/*
 * Picks the product of an item from hits (search hits or cart lines):
 * NGX_OK with item->product, NGX_DECLINED with the reply said.
 */

static ngx_int_t
ngx_http_cartbot_chat_pick(ngx_http_cartbot_chat_ctx_t *ctx,
    ngx_http_cartbot_chat_item_t *item, const cartbot_nlu_item_t *it,
    yajl_val list, const char *inner, const char *where)
{
    size_t                            i, n, chosen, ntied, tied[32];
    cartbot_chat_pick_e               rc;
    cartbot_chat_candidate_t          cand[32];
    ngx_http_cartbot_chat_product_t   prods[32], shown[32];

    n = ngx_http_cartbot_chat_candidates(list, inner, prods, cand);

    rc = cartbot_chat_pick(it->product.data, it->colour.data, cand, n,
                           &chosen, tied, &ntied);

    if (rc == CARTBOT_CHAT_PICK_ONE) {
        item->product = prods[chosen];
        item->chosen = 1;
        return NGX_OK;
    }

    for (i = 0; i < ntied && i < NGX_HTTP_CARTBOT_CHAT_SHOW; i++) {
        shown[i] = prods[tied[i]];
    }

    ntied = i;

    if (rc == CARTBOT_CHAT_PICK_AMBIGUOUS) {
        cartbot_buf_add_str(&ctx->reply, "Which one do you mean: ");
        ngx_http_cartbot_chat_list(&ctx->reply, shown, ntied, " or ");
        cartbot_buf_add_str(&ctx->reply, "? I haven't changed your cart.");

    } else {
        cartbot_buf_printf(&ctx->reply, "I couldn't find \"%.*s\" %s.",
                           (int) it->product.len,
                           it->product.data ? it->product.data : "",
                           where);

        if (ntied) {
            cartbot_buf_add_str(&ctx->reply, " Closest: ");
            ngx_http_cartbot_chat_list(&ctx->reply, shown, ntied, " and ");
            cartbot_buf_add_char(&ctx->reply, '.');
        }
    }

    ngx_http_cartbot_chat_show(ctx, shown, ntied);
    ngx_http_cartbot_chat_remember(ctx, shown, ntied, NULL,
                                   NGX_HTTP_CARTBOT_CHAT_KEEP);

    return NGX_DECLINED;
}


/* the quantity of a product in the cart read in round 1 */

static long long
ngx_http_cartbot_chat_in_cart(yajl_val cart, ngx_str_t *id)
{
    size_t       i;
    yajl_val     items, v;
    long long    q;
    const char  *s;

    items = cartbot_json_get(cart, "items");

    for (i = 0; i < cartbot_json_array_len(items); i++) {
        v = cartbot_json_array_at(items, i);
        s = cartbot_json_get_string(v, "product_id");

        if (s && ngx_strlen(s) == id->len
            && ngx_strncmp(s, id->data, id->len) == 0
            && cartbot_json_get_int(v, "quantity", &q) == 0)
        {
            return q;
        }
    }

    return 0;
}


/* "Your cart has ...": the lines and the total */

static void
ngx_http_cartbot_chat_say_cart(cartbot_buf_t *b, yajl_val cart)
{
    size_t       i, n;
    double       d;
    yajl_val     items, v, pricing;
    long long    q;
    const char  *name;

    items = cartbot_json_get(cart, "items");
    n = cartbot_json_array_len(items);

    if (n == 0) {
        cartbot_buf_add_str(b, "Your cart is empty.");
        return;
    }

    cartbot_buf_add_str(b, "Your cart has ");

    for (i = 0; i < n; i++) {
        v = cartbot_json_array_at(items, i);
        name = cartbot_json_get_string(v, "name");

        if (cartbot_json_get_int(v, "quantity", &q) != 0) {
            q = 0;
        }

        if (i) {
            cartbot_buf_add_str(b, i + 1 == n ? " and " : ", ");
        }

        cartbot_buf_printf(b, "%lld \xc3\x97 %s", q, name ? name : "?");
    }

    pricing = cartbot_json_get(cart, "pricing");

    if (cartbot_json_get_double(pricing, "total", &d) == 0) {
        cartbot_buf_add_str(b, ". Total with tax and shipping: ");
        ngx_http_cartbot_chat_money(b, d);
    }

    cartbot_buf_add_char(b, '.');
}


/*
 * Everything is known: what to answer, what to do.  Cart changes and the
 * checkout are made in round 2 with the record of the turn; anything else
 * is answered once the record is written.
 */

static ngx_int_t
ngx_http_cartbot_chat_decide(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    size_t                            i, n;
    double                            d, total;
    yajl_val                          v, list, pricing;
    ngx_int_t                         rc;
    const char                       *s;
    size_t                            nc, chosen, ntied, tied[32];
    cartbot_nlu_item_t               *it;
    cartbot_nlu_result_t             *nlu;
    cartbot_chat_candidate_t          cand[32];
    ngx_http_cartbot_chat_item_t     *item;
    ngx_http_cartbot_chat_product_t   prods[NGX_HTTP_CARTBOT_CHAT_SHOW];
    ngx_http_cartbot_chat_product_t   more[32];

    nlu = &ctx->nlu;

    if (ctx->reply.mem == NULL) {
        cartbot_buf_init(&ctx->reply, ctx->mem, 256);
    }

    cartbot_buf_init(&ctx->products, ctx->mem, 256);
    cartbot_buf_init(&ctx->confirm, ctx->mem, 64);
    ngx_http_cartbot_chat_remember(ctx, NULL, 0, NULL,
                                   NGX_HTTP_CARTBOT_CHAT_KEEP);

    ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_NOTHING;
    ctx->success = 1;

    if (ctx->reply.len) {
        /* decided already (an inactive session) */
        ctx->success = 0;
        return ngx_http_cartbot_chat_act(r, ctx);
    }

    if (ctx->cart) {
        ctx->cart_json = ngx_http_cartbot_chat_call_json(r, ctx->cart);
    }

    /* the understanding flags what must be refused */

    if (nlu->injection_suspected || nlu->names_other_session) {
        ctx->success = 0;
        cartbot_buf_add_str(&ctx->reply, "Sorry, I can't do that. I can "
                            "help you find products and manage the cart of "
                            "this session, at the catalog's prices.");
        return ngx_http_cartbot_chat_act(r, ctx);
    }

    if (nlu->invalid_quantity) {
        ctx->success = 0;
        cartbot_buf_add_str(&ctx->reply, "Please give a whole number of "
                            "items, from 1 up.");
        return ngx_http_cartbot_chat_act(r, ctx);
    }

    switch (nlu->intent) {

    case CARTBOT_NLU_ADD_TO_CART:
    case CARTBOT_NLU_REMOVE_FROM_CART:
    case CARTBOT_NLU_UPDATE_QUANTITY:

        if (ctx->cart_json == NULL && nlu->intent != CARTBOT_NLU_ADD_TO_CART) {
            goto unavailable;
        }

        if (nlu->intent == CARTBOT_NLU_ADD_TO_CART) {
            rc = ngx_http_cartbot_chat_widen(r, ctx);

            if (rc != NGX_OK) {
                /* NGX_AGAIN: decided again when the searches are back */
                return rc;
            }
        }

        n = 0;

        for (i = 0; i < nlu->nitems && i < CARTBOT_NLU_MAX_ITEMS; i++) {
            it = &nlu->items[i];
            item = &ctx->items[i];
            item->quantity = it->quantity;

            if (it->ref == CARTBOT_NLU_REF_ALL
                && nlu->intent == CARTBOT_NLU_REMOVE_FROM_CART)
            {
                /* "empty my cart": every line */

                list = cartbot_json_get(ctx->cart_json, "items");

                for (n = 0; n < cartbot_json_array_len(list)
                            && n < CARTBOT_NLU_MAX_ITEMS; n++)
                {
                    ngx_http_cartbot_chat_product(
                                cartbot_json_array_at(list, n),
                                &ctx->items[n].product);
                    ctx->items[n].chosen = 1;
                }

                break;
            }

            if (nlu->intent == CARTBOT_NLU_ADD_TO_CART
                ? ngx_http_cartbot_chat_resolved(ctx, it) != NULL
                : it->resolved != NULL)
            {
                ngx_http_cartbot_chat_from_memory(it->resolved,
                                                  &item->product);
                item->chosen = 1;

            } else if (it->ref != CARTBOT_NLU_REF_NONE
                       && it->product.len == 0)
            {
                ctx->success = 0;
                cartbot_buf_add_str(&ctx->reply, "Which product do you "
                                    "mean? Tell me its name, or search "
                                    "first and pick one of the results.");
                return ngx_http_cartbot_chat_act(r, ctx);

            } else if (nlu->intent == CARTBOT_NLU_ADD_TO_CART) {
                list = ngx_http_cartbot_chat_call_json(r, item->search);

                if (list == NULL) {
                    goto unavailable;
                }

                rc = ngx_http_cartbot_chat_pick(ctx, item, it,
                                               cartbot_json_get(list, "hits"),
                                               "product", "in the catalog");
                if (rc != NGX_OK) {
                    ctx->success = 0;
                    return ngx_http_cartbot_chat_act(r, ctx);
                }

            } else {
                rc = ngx_http_cartbot_chat_pick(ctx, item, it,
                               cartbot_json_get(ctx->cart_json, "items"),
                               NULL, "in your cart");
                if (rc != NGX_OK) {
                    ctx->success = 0;
                    return ngx_http_cartbot_chat_act(r, ctx);
                }
            }

            n = i + 1;
        }

        ctx->nitems = n;

        if (n == 0) {
            ctx->success = 0;
            cartbot_buf_add_str(&ctx->reply,
                                nlu->intent == CARTBOT_NLU_REMOVE_FROM_CART
                                && nlu->items && nlu->nitems
                                && nlu->items[0].ref == CARTBOT_NLU_REF_ALL
                                ? "Your cart is already empty."
                                : "Which product do you mean?");
            return ngx_http_cartbot_chat_act(r, ctx);
        }

        for (i = 0; i < n; i++) {
            item = &ctx->items[i];
            item->before = ngx_http_cartbot_chat_in_cart(ctx->cart_json,
                                                         &item->product.id);
        }

        if (nlu->intent == CARTBOT_NLU_ADD_TO_CART) {
            ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_ADD;

            for (i = 0; i < n; i++) {
                item = &ctx->items[i];

                if (item->product.stock == 0) {
                    ctx->success = 0;
                    ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_NOTHING;
                    cartbot_buf_printf(&ctx->reply, "Sorry, %.*s is sold "
                                       "out. I haven't changed your cart.",
                                       (int) item->product.name.len,
                                       item->product.name.data);
                    return ngx_http_cartbot_chat_act(r, ctx);
                }
            }

            cartbot_buf_add_str(&ctx->reply, "Done! I've added ");

            for (i = 0; i < n; i++) {
                item = &ctx->items[i];

                if (i) {
                    cartbot_buf_add_str(&ctx->reply,
                                        i + 1 == n ? " and " : ", ");
                }

                cartbot_buf_printf(&ctx->reply, "%lld \xc3\x97 %.*s",
                                   item->quantity,
                                   (int) item->product.name.len,
                                   item->product.name.data);
            }

            cartbot_buf_add_str(&ctx->reply, " to your cart.");

        } else if (nlu->intent == CARTBOT_NLU_REMOVE_FROM_CART) {
            ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_REMOVE;

            for (i = 0; i < n; i++) {
                if (ctx->items[i].before == 0) {
                    ctx->success = 0;
                    ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_NOTHING;
                    cartbot_buf_printf(&ctx->reply, "%.*s isn't in your "
                                       "cart.",
                                       (int) ctx->items[i].product.name.len,
                                       ctx->items[i].product.name.data);
                    return ngx_http_cartbot_chat_act(r, ctx);
                }
            }

            /* "remove one of the mugs" with three in the cart: two stay */

            item = &ctx->items[0];

            if (n == 1 && nlu->nitems == 1 && nlu->items[0].quantity_explicit
                && item->quantity > 0 && item->quantity < item->before)
            {
                ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_UPDATE;
                item->quantity = item->before - item->quantity;

                cartbot_buf_printf(&ctx->reply, "Done! I've removed %lld "
                                   "\xc3\x97 %.*s; %lld left in your cart.",
                                   item->before - item->quantity,
                                   (int) item->product.name.len,
                                   item->product.name.data, item->quantity);

                ngx_http_cartbot_chat_remember(ctx, NULL, 0, &item->product,
                                               NGX_HTTP_CARTBOT_CHAT_KEEP);

                return ngx_http_cartbot_chat_act(r, ctx);
            }

            cartbot_buf_add_str(&ctx->reply, "I've removed ");

            for (i = 0; i < n; i++) {
                if (i) {
                    cartbot_buf_add_str(&ctx->reply,
                                        i + 1 == n ? " and " : ", ");
                }

                cartbot_buf_add(&ctx->reply, ctx->items[i].product.name.data,
                                ctx->items[i].product.name.len);
            }

            cartbot_buf_add_str(&ctx->reply, " from your cart.");

        } else {
            ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_UPDATE;
            item = &ctx->items[0];
            ctx->nitems = 1;

            if (item->before == 0) {
                /* "make that 3" of something not in the cart: add it */
                ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_ADD;
            }

            if (item->quantity == 0) {
                ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_REMOVE;
                cartbot_buf_printf(&ctx->reply, "I've removed %.*s from "
                                   "your cart.",
                                   (int) item->product.name.len,
                                   item->product.name.data);

            } else {
                cartbot_buf_printf(&ctx->reply, "Done! You now have %lld "
                                   "\xc3\x97 %.*s in your cart.",
                                   item->quantity,
                                   (int) item->product.name.len,
                                   item->product.name.data);
            }
        }

        ngx_http_cartbot_chat_remember(ctx, NULL, 0,
                                       &ctx->items[n - 1].product,
                                       NGX_HTTP_CARTBOT_CHAT_KEEP);

        return ngx_http_cartbot_chat_act(r, ctx);

    case CARTBOT_NLU_VIEW_CART:

        if (ctx->cart_json == NULL) {
            goto unavailable;
        }

        ngx_http_cartbot_chat_say_cart(&ctx->reply, ctx->cart_json);
        return ngx_http_cartbot_chat_act(r, ctx);

    case CARTBOT_NLU_CHECKOUT:

        if (ctx->cart_json == NULL) {
            goto unavailable;
        }

        list = cartbot_json_get(ctx->cart_json, "items");
        pricing = cartbot_json_get(ctx->cart_json, "pricing");

        if (cartbot_json_get_double(pricing, "total", &total) != 0) {
            total = 0;
        }

        if (cartbot_json_array_len(list) == 0) {
            ctx->success = 0;
            cartbot_buf_add_str(&ctx->reply, "Your cart is empty, so there "
                                "is nothing to check out yet.");
            return ngx_http_cartbot_chat_act(r, ctx);
        }

        if (nlu->confirmation == CARTBOT_NLU_CONFIRM_NO) {
            cartbot_buf_add_str(&ctx->reply, "All right, I haven't placed "
                                "the order. Your cart is still there.");
            ngx_http_cartbot_chat_remember(ctx, NULL, 0, NULL,
                                           NGX_HTTP_CARTBOT_CHAT_CLEAR);
            return ngx_http_cartbot_chat_act(r, ctx);
        }

        if (nlu->confirmation == CARTBOT_NLU_CONFIRM_YES
            && ctx->pending_total >= 0)
        {
            if (ctx->pending_total == total) {
                ctx->action = NGX_HTTP_CARTBOT_CHAT_DO_CHECKOUT;
                ngx_http_cartbot_chat_remember(ctx, NULL, 0, NULL,
                                               NGX_HTTP_CARTBOT_CHAT_CLEAR);
                cartbot_buf_add_str(&ctx->reply, "Your order is placed. "
                                    "Thank you for shopping with us!");
                return ngx_http_cartbot_chat_act(r, ctx);
            }

            cartbot_buf_add_str(&ctx->reply, "Your cart changed since I "
                                "showed you the total. ");
        }

        /* the summary, and a question */

        ngx_http_cartbot_chat_say_cart(&ctx->reply, ctx->cart_json);
        cartbot_buf_add_str(&ctx->reply, " Shall I place the order? "
                            "(yes or no)");

        cartbot_buf_add_str(&ctx->confirm, "{\"action\":\"checkout\","
                            "\"summary\":");
        cartbot_json_add_value(&ctx->confirm, pricing);
        cartbot_buf_add_char(&ctx->confirm, '}');

        ngx_http_cartbot_chat_remember(ctx, NULL, 0, NULL, total);

        return ngx_http_cartbot_chat_act(r, ctx);

    case CARTBOT_NLU_SEARCH_PRODUCTS:
    case CARTBOT_NLU_PRODUCT_QUESTION:

        if (ctx->search == NULL) {
            cartbot_buf_add_str(&ctx->reply, "What are you looking for?");
            return ngx_http_cartbot_chat_act(r, ctx);
        }

        v = ngx_http_cartbot_chat_call_json(r, ctx->search);

        if (v == NULL) {
            goto unavailable;
        }

        list = cartbot_json_get(v, "hits");
        n = ngx_min(cartbot_json_array_len(list),
                    NGX_HTTP_CARTBOT_CHAT_SHOW);

        for (i = 0; i < n; i++) {
            ngx_http_cartbot_chat_product(
                   cartbot_json_get(cartbot_json_array_at(list, i), "product"),
                   &prods[i]);
        }

        if (n == 0) {
            ctx->success = 0;
            cartbot_buf_printf(&ctx->reply, "I couldn't find anything for "
                               "\"%.*s\".", (int) nlu->query.len,
                               nlu->query.data);
            return ngx_http_cartbot_chat_act(r, ctx);
        }

        if (nlu->intent == CARTBOT_NLU_PRODUCT_QUESTION) {

            /*
             * facts of the best match, from the catalog only: the hit
             * whose name fits the question's product words, else the first
             */

            nc = ngx_http_cartbot_chat_candidates(list, "product", more,
                                                  cand);

            if (cartbot_chat_pick(nlu->query.data, nlu->colour.data, cand,
                                  nc, &chosen, tied, &ntied)
                == CARTBOT_CHAT_PICK_ONE
                && chosen > 0 && chosen < n)
            {
                more[0] = prods[0];
                prods[0] = prods[chosen];
                prods[chosen] = more[0];
            }

            cartbot_buf_printf(&ctx->reply, "%.*s costs ",
                               (int) prods[0].name.len, prods[0].name.data);
            ngx_http_cartbot_chat_money(&ctx->reply, prods[0].price);

            if (prods[0].stock == 0) {
                cartbot_buf_add_str(&ctx->reply, " and is sold out");

            } else if (prods[0].stock > 0) {
                cartbot_buf_printf(&ctx->reply, " and %lld are in stock",
                                   prods[0].stock);
            }

            cartbot_buf_add_str(&ctx->reply, ".");

            s = cartbot_json_get_string(prods[0].json, "description");

            if (s) {
                cartbot_buf_printf(&ctx->reply, " %s", s);
            }

            if (cartbot_json_get_double(prods[0].json, "score", &d) == 0) {
                cartbot_buf_printf(&ctx->reply, " Rated %.1f of 5.", d);
            }

            ngx_http_cartbot_chat_show(ctx, prods, 1);
            ngx_http_cartbot_chat_remember(ctx, prods, 1, &prods[0],
                                   NGX_HTTP_CARTBOT_CHAT_KEEP);

            /* with a model, it answers from these facts (RAG) */

            if (ngx_http_cartbot_chat_ask(r, ctx, prods, n) == NGX_OK) {
                return NGX_AGAIN;
            }

            return ngx_http_cartbot_chat_act(r, ctx);
        }

        cartbot_buf_add_str(&ctx->reply, "Here's what I found: ");
        ngx_http_cartbot_chat_list(&ctx->reply, prods, n, " and ");
        cartbot_buf_add_str(&ctx->reply, ".");

        ngx_http_cartbot_chat_show(ctx, prods, n);
        ngx_http_cartbot_chat_remember(ctx, prods, n, n == 1 ? prods : NULL,
                                       NGX_HTTP_CARTBOT_CHAT_KEEP);

        return ngx_http_cartbot_chat_act(r, ctx);

    case CARTBOT_NLU_GET_RECOMMENDATIONS:

        v = ngx_http_cartbot_chat_call_json(r, ctx->recommend);

        if (v == NULL) {
            goto unavailable;
        }

        list = cartbot_json_get(v, "recommendations");
        n = ngx_min(cartbot_json_array_len(list),
                    NGX_HTTP_CARTBOT_CHAT_SHOW);

        if (n == 0) {
            cartbot_buf_add_str(&ctx->reply, "I have nothing to recommend "
                                "right now.");
            return ngx_http_cartbot_chat_act(r, ctx);
        }

        cartbot_buf_add_str(&ctx->reply, "You might like ");

        for (i = 0; i < n; i++) {
            v = cartbot_json_array_at(list, i);
            ngx_http_cartbot_chat_product(cartbot_json_get(v, "product"),
                                          &prods[i]);

            if (i) {
                cartbot_buf_add_str(&ctx->reply, i + 1 == n ? " and " : ", ");
            }

            cartbot_buf_add(&ctx->reply, prods[i].name.data,
                            prods[i].name.len);
            s = cartbot_json_get_string(v, "why");

            if (s) {
                cartbot_buf_printf(&ctx->reply, " (%s)", s);
            }
        }

        cartbot_buf_add_char(&ctx->reply, '.');

        ngx_http_cartbot_chat_show(ctx, prods, n);
        ngx_http_cartbot_chat_remember(ctx, prods, n, NULL,
                                   NGX_HTTP_CARTBOT_CHAT_KEEP);

        return ngx_http_cartbot_chat_act(r, ctx);

    case CARTBOT_NLU_GREETING:
        cartbot_buf_add_str(&ctx->reply, "Hi! I can find products, "
                            "answer questions about them, manage your cart "
                            "and check you out. Try \"Add 2 blue t-shirts "
                            "to my cart\".");
        return ngx_http_cartbot_chat_act(r, ctx);

    case CARTBOT_NLU_HELP:
        cartbot_buf_add_str(&ctx->reply, "You can say things like: \"find "
                            "running shoes under $150\", \"add 2 blue "
                            "t-shirts\", \"make that 3\", \"remove it\", "
                            "\"what's in my cart?\", \"recommend something\" "
                            "or \"checkout\".");
        return ngx_http_cartbot_chat_act(r, ctx);

    default:

        ctx->success = 0;

        if (nlu->confirmation != CARTBOT_NLU_CONFIRM_NONE) {
            cartbot_buf_add_str(&ctx->reply, "There's nothing waiting for "
                                "a yes or no. What would you like to do?");

        } else {
            cartbot_buf_add_str(&ctx->reply, "Sorry, I didn't understand "
                                "that. I can find products, manage your "
                                "cart and check you out; say \"help\" for "
                                "examples.");
        }

        return ngx_http_cartbot_chat_act(r, ctx);
    }

unavailable:

    return ngx_http_cartbot_send_error(r, NGX_HTTP_BAD_GATEWAY,
                                       "service_unavailable",
                                       "the catalog or the cart did not "
                                       "answer; nothing was changed");
}


/* round 2: the actions and the record of the turn, in parallel */

static ngx_int_t
ngx_http_cartbot_chat_act(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    size_t                             i;
    ngx_msec_t                         ms;
    cartbot_buf_t                      entities, *body;
    const char                        *suffix, *model;
    ngx_uint_t                         method;
    cartbot_surreal_query_t            sq;
    ngx_http_cartbot_chat_item_t      *item;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    cartbot_buf_init(&entities, ctx->mem, 256);

    if (cartbot_nlu_result_json(&ctx->nlu, &entities) != 0) {
        return NGX_ERROR;
    }

    ms = ngx_current_msec - ctx->start;

    cartbot_surreal_query_init(&sq, ctx->mem,
                               ngx_http_cartbot_chat_write_sql);
    cartbot_surreal_bind(&sq, "sid", (char *) ctx->session.data,
                         ctx->session.len);
    cartbot_surreal_bind(&sq, "user", (char *) ctx->user.data,
                         ctx->user.len);
    cartbot_surreal_bind(&sq, "memory", ctx->next_memory.data,
                         ctx->next_memory.len);
    cartbot_surreal_bind(&sq, "said", (char *) ctx->said.data,
                         ctx->said.len);
    cartbot_surreal_bind(&sq, "intent", ctx->nlu.intent_name,
                         ngx_strlen(ctx->nlu.intent_name));
    cartbot_surreal_bind(&sq, "entities", entities.data, entities.len);
    cartbot_surreal_bind(&sq, "reply", ctx->reply.data, ctx->reply.len);
    model = ctx->model ? ctx->model : "builtin";

    cartbot_surreal_bind(&sq, "model", model, ngx_strlen(model));
    cartbot_surreal_bind_int(&sq, "ms", (long long) ms);
    cartbot_surreal_bind_int(&sq, "pt", ctx->prompt_tokens);
    cartbot_surreal_bind_int(&sq, "ct", ctx->completion_tokens);

    ctx->step = NGX_HTTP_CARTBOT_CHAT_ACT;
    ctx->rounds++;

    ctx->write = ngx_http_cartbot_db_query(r, &ctx->ctx, &clcf->cartbot.db,
                                           &sq);
    if (ctx->write == NULL) {
        return NGX_ERROR;
    }

    switch (ctx->action) {

    case NGX_HTTP_CARTBOT_CHAT_DO_ADD:
        suffix = "/add";
        method = NGX_HTTP_POST;
        break;

    case NGX_HTTP_CARTBOT_CHAT_DO_REMOVE:
        suffix = "/remove";
        method = NGX_HTTP_POST;
        break;

    case NGX_HTTP_CARTBOT_CHAT_DO_UPDATE:
        suffix = "/update";
        method = NGX_HTTP_PUT;
        break;

    case NGX_HTTP_CARTBOT_CHAT_DO_CHECKOUT:
        body = ngx_http_cartbot_chat_body_of(ctx, NULL, 0, -1);
        if (body == NULL) {
            return NGX_ERROR;
        }

        ctx->checkout = ngx_http_cartbot_chat_call(r, ctx,
                                                   &clcf->checkout_uri, "",
                                                   NGX_HTTP_POST, body);
        return ctx->checkout ? NGX_AGAIN : NGX_ERROR;

    default:
        return NGX_AGAIN;
    }

    for (i = 0; i < ctx->nitems; i++) {
        item = &ctx->items[i];

        body = ngx_http_cartbot_chat_body_of(ctx,
                                    (char *) item->product.id.data,
                                    item->product.id.len,
                                    ctx->action
                                    == NGX_HTTP_CARTBOT_CHAT_DO_REMOVE
                                    ? -1 : item->quantity);
        if (body == NULL) {
            return NGX_ERROR;
        }

        item->action = ngx_http_cartbot_chat_call(r, ctx, &clcf->cart_uri,
                                                  suffix, method, body);
        if (item->action == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_AGAIN;
}


/*
 * Round 2 is back.  All actions done: the answer.  Some failed: the
 * others are undone, the recorded reply is corrected, then the answer.
 */

static ngx_int_t
ngx_http_cartbot_chat_acted(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    size_t                             i, failed;
    yajl_val                           v, last;
    const char                        *why;
    cartbot_buf_t                     *body;
    cartbot_surreal_query_t            sq;
    ngx_http_cartbot_chat_item_t      *item;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    if (ctx->write->error || ctx->write->result.outcome != CARTBOT_SURREAL_OK)
    {
        if (ctx->action == NGX_HTTP_CARTBOT_CHAT_DO_NOTHING) {
            return ngx_http_cartbot_db_send_thrown(r, ctx->write,
                                              ngx_http_cartbot_chat_errors);
        }

        /* the cart changed anyway: the shopper is told what happened */

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_chat: the turn was not recorded: %s",
                      ctx->write->error_message ? ctx->write->error_message
                      : ctx->write->result.message);

    } else {
        v = cartbot_surreal_last(&ctx->write->result);

        if (v && YAJL_IS_INTEGER(v)) {
            ctx->seq = YAJL_GET_INTEGER(v);
        }
    }

    if (ctx->action == NGX_HTTP_CARTBOT_CHAT_DO_CHECKOUT) {
        if (ctx->checkout->status / 100 == 2) {
            ctx->order_json = ngx_http_cartbot_chat_call_json(r,
                                                              ctx->checkout);
            return ngx_http_cartbot_chat_answer(r, ctx);
        }

        why = ngx_http_cartbot_chat_call_error(r, ctx->checkout);
        ctx->success = 0;
        ctx->reply.len = 0;
        cartbot_buf_printf(&ctx->reply, "Sorry, I couldn't place the order: "
                           "%s.", why);
        goto repair;
    }

    if (ctx->action == NGX_HTTP_CARTBOT_CHAT_DO_NOTHING) {
        return ngx_http_cartbot_chat_answer(r, ctx);
    }

    failed = 0;
    last = NULL;
    why = NULL;

    for (i = 0; i < ctx->nitems; i++) {
        item = &ctx->items[i];

        if (item->action->status / 100 == 2) {
            v = ngx_http_cartbot_chat_call_json(r, item->action);

            if (v) {
                last = v;

                /* what the line held before this add, should it be undone */

                if (ctx->action == NGX_HTTP_CARTBOT_CHAT_DO_ADD) {
                    item->before = ngx_max(0,
                                     ngx_http_cartbot_chat_in_cart(v,
                                                 &item->product.id)
                                     - item->quantity);
                }
            }

            continue;
        }

        if (failed++ == 0) {
            why = ngx_http_cartbot_chat_call_error(r, item->action);
            ctx->reply.len = 0;
            cartbot_buf_printf(&ctx->reply, "Sorry, I couldn't change %.*s "
                               "in your cart: %s.",
                               (int) item->product.name.len,
                               item->product.name.data, why);
        }
    }

    ctx->cart_json = last ? last : ctx->cart_json;

    if (failed == 0) {
        return ngx_http_cartbot_chat_answer(r, ctx);
    }

    ctx->success = 0;

    /* all or nothing: what was changed is put back */

    if (failed < ctx->nitems) {
        cartbot_buf_add_str(&ctx->reply, " I haven't changed anything else "
                            "either.");

        for (i = 0; i < ctx->nitems; i++) {
            item = &ctx->items[i];

            if (item->action->status / 100 != 2) {
                continue;
            }

            body = ngx_http_cartbot_chat_body_of(ctx,
                                      (char *) item->product.id.data,
                                      item->product.id.len,
                                      item->before ? item->before : -1);
            if (body == NULL) {
                return NGX_ERROR;
            }

            item->undo = ngx_http_cartbot_chat_call(r, ctx, &clcf->cart_uri,
                                      item->before ? "/update" : "/remove",
                                      item->before ? NGX_HTTP_PUT
                                                   : NGX_HTTP_POST,
                                      body);
            if (item->undo == NULL) {
                return NGX_ERROR;
            }
        }

        ctx->cart_json = NULL;
    }

repair:

    ctx->step = NGX_HTTP_CARTBOT_CHAT_REPAIR;

    if (ctx->seq == 0) {
        ctx->write = NULL;
        return ctx->ctx.pending ? NGX_AGAIN
                                : ngx_http_cartbot_chat_answer(r, ctx);
    }

    cartbot_surreal_query_init(&sq, ctx->mem,
                               ngx_http_cartbot_chat_repair_sql);
    cartbot_surreal_bind(&sq, "sid", (char *) ctx->session.data,
                         ctx->session.len);
    cartbot_surreal_bind(&sq, "reply", ctx->reply.data, ctx->reply.len);
    cartbot_surreal_bind_int(&sq, "seq", ctx->seq);

    ctx->rounds++;

    ctx->write = ngx_http_cartbot_db_query(r, &ctx->ctx, &clcf->cartbot.db,
                                           &sq);
    if (ctx->write == NULL) {
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_cartbot_chat_answer(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    char              err[64];
    yajl_val          doc, entities;
    cartbot_buf_t     b, nlu;
    ngx_table_elt_t  *h, dummy;

    cartbot_buf_init(&nlu, ctx->mem, 256);

    if (cartbot_nlu_result_json(&ctx->nlu, &nlu) != 0) {
        return NGX_ERROR;
    }

    doc = cartbot_json_parse(nlu.data, nlu.len, err, sizeof(err));
    if (ngx_http_cartbot_json_cleanup(r->pool, doc) != NGX_OK) {
        return NGX_ERROR;
    }

    entities = cartbot_json_get(doc, "entities");

    cartbot_buf_init(&b, ctx->mem, 1024 + ctx->products.len);
    cartbot_buf_add_str(&b, "{\"response\":");
    cartbot_json_add_string(&b, ctx->reply.data, ctx->reply.len);
    cartbot_buf_add_str(&b, ",\"intent\":");
    cartbot_json_add_string(&b, ctx->nlu.intent_name,
                            ngx_strlen(ctx->nlu.intent_name));
    cartbot_buf_add_str(&b, ",\"entities\":");

    if (entities) {
        cartbot_json_add_value(&b, entities);

    } else {
        cartbot_buf_add_str(&b, "{}");
    }

    cartbot_buf_printf(&b, ",\"confidence\":%.2f,\"success\":%s,"
                       "\"model\":", ctx->nlu.confidence,
                       ctx->success ? "true" : "false");

    if (ctx->model) {
        cartbot_json_add_string(&b, ctx->model, ngx_strlen(ctx->model));
        cartbot_buf_printf(&b, ",\"tokens\":{\"prompt\":%lld,"
                           "\"completion\":%lld}", ctx->prompt_tokens,
                           ctx->completion_tokens);

    } else {
        cartbot_buf_add_str(&b, "\"builtin\"");
    }

    if (ctx->fallback) {
        cartbot_buf_printf(&b, ",\"fallback\":\"%s\"", ctx->fallback);
    }

    cartbot_buf_add_str(&b, ",\"actions\":[");

    if (ctx->success && ctx->action != NGX_HTTP_CARTBOT_CHAT_DO_NOTHING) {
        size_t       i;
        const char  *type;

        type = ctx->action == NGX_HTTP_CARTBOT_CHAT_DO_ADD ? "cart.add"
               : ctx->action == NGX_HTTP_CARTBOT_CHAT_DO_REMOVE
                 ? "cart.remove"
               : ctx->action == NGX_HTTP_CARTBOT_CHAT_DO_UPDATE
                 ? "cart.update" : "checkout";

        if (ctx->action == NGX_HTTP_CARTBOT_CHAT_DO_CHECKOUT) {
            cartbot_buf_printf(&b, "{\"type\":\"%s\"}", type);
        }

        for (i = 0; ctx->action != NGX_HTTP_CARTBOT_CHAT_DO_CHECKOUT
                    && i < ctx->nitems; i++)
        {
            cartbot_buf_printf(&b, "%s{\"type\":\"%s\",\"product_id\":",
                               i ? "," : "", type);
            cartbot_json_add_string(&b, (char *) ctx->items[i].product.id.data,
                                    ctx->items[i].product.id.len);
            cartbot_buf_add_str(&b, ",\"name\":");
            cartbot_json_add_string(&b,
                                    (char *) ctx->items[i].product.name.data,
                                    ctx->items[i].product.name.len);

            if (ctx->action != NGX_HTTP_CARTBOT_CHAT_DO_REMOVE) {
                cartbot_buf_printf(&b, ",\"quantity\":%lld",
                                   ctx->items[i].quantity);
            }

            cartbot_buf_add_char(&b, '}');
        }
    }

    cartbot_buf_add_str(&b, "],\"products\":[");
    cartbot_buf_add(&b, ctx->products.data, ctx->products.len);
    cartbot_buf_add_char(&b, ']');

    if (ctx->cart_json && ctx->nlu.intent != CARTBOT_NLU_GET_RECOMMENDATIONS
        && ctx->nlu.intent != CARTBOT_NLU_SEARCH_PRODUCTS
        && ctx->nlu.intent != CARTBOT_NLU_PRODUCT_QUESTION)
    {
        cartbot_buf_add_str(&b, ",\"cart\":");
        cartbot_json_add_value(&b, ctx->cart_json);
    }

    if (ctx->confirm.len) {
        cartbot_buf_add_str(&b, ",\"confirm\":");
        cartbot_buf_add(&b, ctx->confirm.data, ctx->confirm.len);
    }

    if (ctx->order_json) {
        cartbot_buf_add_str(&b, ",\"order\":");
        cartbot_json_add_value(&b, ctx->order_json);
    }

    if (ctx->seq) {
        cartbot_buf_printf(&b, ",\"message_id\":%lld", ctx->seq);
    }

    cartbot_buf_add_char(&b, '}');

    /* how many database round trips the turn waited for, in a row */

    h = r->header_sent ? &dummy : ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Server-Timing");
    h->value.data = ngx_pnalloc(r->pool, 64);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->value.len = ngx_sprintf(h->value.data,
                               "db;desc=\"round trips\";dur=%ui, "
                               "total;dur=%M", ctx->rounds,
                               ngx_current_msec - ctx->start)
                   - h->value.data;

    if (!ctx->stream) {
        return ngx_http_cartbot_send_buf(r, NGX_HTTP_OK, &b);
    }

    /*
     * Server-Sent Events: the reply in pieces (unless the model's deltas
     * went out already), then the whole result
     */

    if (!r->header_sent && ngx_http_cartbot_chat_start_events(r) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_cartbot_chat_end_events(r, ctx, &b);
}


/* the headers of an answer of events whose end comes later */

static ngx_int_t
ngx_http_cartbot_chat_start_events(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-cache");

    /* an nginx in front passes the events on as they come */

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Accel-Buffering");
    ngx_str_set(&h->value, "no");

    rc = ngx_http_send_header(r);

    return (rc == NGX_ERROR || rc > NGX_OK) ? NGX_ERROR : NGX_OK;
}


/*
 * Lets the finished subrequests of round 1 go, one by one (each posts the
 * request again), then starts the model's streamed answer, which is then
 * the active subrequest and whose deltas reach the client at once.
 */

static void
ngx_http_cartbot_chat_drain(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_cartbot_chat_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_cartbot_chat_module);

    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    if (r->postponed || r->connection->data != r) {
        /* the one made active last posts this request when it is done */
        return;
    }

    rc = ngx_http_cartbot_chat_llm_call(r, ctx,
                                        NGX_HTTP_CARTBOT_CHAT_LLM_ANSWER,
                                        &ctx->llm_request, 1);
    if (rc == NGX_OK) {
        return;
    }

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    /* not asked (budget, circuit): the built-in reply */

    ctx->ctx.responded = 1;

    rc = ngx_http_cartbot_chat_act(r, ctx);

    if (rc != NGX_AGAIN) {
        ngx_http_finalize_request(r, rc);
    }
}


/* the end of an answer of events: the reply if not streamed, the result */

static ngx_int_t
ngx_http_cartbot_chat_end_events(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, cartbot_buf_t *result)
{
    ngx_buf_t      *b;
    ngx_chain_t     out;
    cartbot_buf_t   sse;

    cartbot_buf_init(&sse, ctx->mem, result->len + 2 * ctx->reply.len + 256);

    if ((ctx->deltas_sent == 0
         && cartbot_chat_sse_text(&sse, ctx->reply.data, ctx->reply.len, 24)
            != 0)
        || cartbot_chat_sse(&sse, "result", result->data, result->len) != 0)
    {
        return NGX_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = (u_char *) sse.data;
    b->last = b->pos + sse.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* the model's streamed answer, if r is its subrequest */

static ngx_http_cartbot_chat_llm_t *
ngx_http_cartbot_chat_streamed(ngx_http_request_t *r)
{
    ngx_http_cartbot_chat_llm_t  *llm;

    if (r == r->main || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_cartbot_chat_llm_done)
    {
        return NULL;
    }

    llm = r->post_subrequest->data;

    return llm->streamed ? llm : NULL;
}


static ngx_int_t
ngx_http_cartbot_chat_header_filter(ngx_http_request_t *r)
{
    ngx_http_cartbot_chat_llm_t  *llm;

    llm = ngx_http_cartbot_chat_streamed(r);

    if (llm == NULL) {
        return ngx_http_next_header_filter(r);
    }

    /* the client has its headers already: the model's stay here */

    llm->status = r->headers_out.status;
    r->header_sent = 1;

    return NGX_OK;
}


/*
 * The model's events become ours as they come ("delta" with the text);
 * anything else it sends (an error) is kept out of the answer.
 */

static ngx_int_t
ngx_http_cartbot_chat_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl, out;
    cartbot_buf_t                 deltas;
    ngx_http_cartbot_chat_llm_t  *llm;

    llm = ngx_http_cartbot_chat_streamed(r);

    if (llm == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    cartbot_buf_init(&deltas, llm->stream.content.mem, 512);

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b) && llm->status == NGX_HTTP_OK
            && cartbot_llm_stream_feed(&llm->stream, (char *) b->pos,
                                       b->last - b->pos, &deltas)
               != 0)
        {
            return NGX_ERROR;
        }

        b->pos = b->last;
    }

    if (deltas.len == 0) {
        return ngx_http_next_body_filter(r, NULL);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = (u_char *) deltas.data;
    b->last = b->pos + deltas.len;
    b->memory = 1;
    b->flush = 1;

    out.buf = b;
    out.next = NULL;

    llm->sent += deltas.len;

    return ngx_http_next_body_filter(r, &out);
}


/*
 * GET /chat/history/{session_id}?limit=&before=: NGX_DONE when the query
 * is on its way, else the answer to a refusal, sent.
 */

static ngx_int_t
ngx_http_cartbot_chat_history(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    ngx_str_t                          arg;
    ngx_int_t                          limit, before;
    cartbot_surreal_query_t            sq;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    limit = 50;
    before = NGX_MAX_INT_T_VALUE;

    if (ngx_http_arg(r, (u_char *) "limit", 5, &arg) == NGX_OK) {
        limit = ngx_atoi(arg.data, arg.len);

        if (limit < 1 || limit > NGX_HTTP_CARTBOT_CHAT_HISTORY_MAX) {
            return ngx_http_cartbot_send_error(r, 422, "invalid_limit",
                                               "limit must be 1 to 100");
        }
    }

    if (ngx_http_arg(r, (u_char *) "before", 6, &arg) == NGX_OK) {
        before = ngx_atoi(arg.data, arg.len);

        if (before < 1) {
            return ngx_http_cartbot_send_error(r, 422, "invalid_before",
                                               "before must be a message "
                                               "id");
        }
    }

    cartbot_surreal_query_init(&sq, ctx->mem,
                               ngx_http_cartbot_chat_history_sql);
    cartbot_surreal_bind(&sq, "sid", (char *) ctx->session.data,
                         ctx->session.len);
    cartbot_surreal_bind(&sq, "user", (char *) ctx->user.data,
                         ctx->user.len);
    cartbot_surreal_bind_int(&sq, "before", before);
    cartbot_surreal_bind_int(&sq, "limit", limit + 1);

    ctx->step = NGX_HTTP_CARTBOT_CHAT_READ;
    ctx->nitems = limit;

    ctx->load = ngx_http_cartbot_db_query(r, &ctx->ctx, &clcf->cartbot.db,
                                          &sq);

    return ctx->load ? NGX_DONE : NGX_ERROR;
}


static ngx_int_t
ngx_http_cartbot_chat_answer_history(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx)
{
    size_t          i, n, total;
    yajl_val        rows;
    cartbot_buf_t   b;

    rows = cartbot_surreal_last(&ctx->load->result);
    total = cartbot_json_array_len(rows);
    n = ngx_min(total, ctx->nitems);

    cartbot_buf_init(&b, ctx->mem, 1024);
    cartbot_buf_printf(&b, "{\"session_id\":\"user_session:%.*s\","
                       "\"messages\":[", (int) ctx->session.len,
                       ctx->session.data);

    /* newest first from the database; oldest first in the answer */

    for (i = n; i > 0; i--) {
        if (i != n) {
            cartbot_buf_add_char(&b, ',');
        }

        cartbot_json_add_value(&b, cartbot_json_array_at(rows, i - 1));
    }

    cartbot_buf_printf(&b, "],\"has_more\":%s}",
                       total > n ? "true" : "false");

    return ngx_http_cartbot_send_buf(r, NGX_HTTP_OK, &b);
}


static ngx_int_t
ngx_http_cartbot_chat_mode(ngx_http_request_t *r)
{
    u_char                            *p;
    ngx_int_t                          rc;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;
    static const char                 *modes[] = { "builtin", "llm",
                                                   "hybrid" };

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed",
                                           "method not allowed here");
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    p = ngx_pnalloc(r->pool, 128 + clcf->llm_model.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (clcf->llm_mode == NGX_HTTP_CARTBOT_CHAT_BUILTIN) {
        rc = ngx_sprintf(p, "{\"mode\":\"builtin\",\"llm\":false,"
                         "\"model\":\"builtin\"}") - p;

    } else {
        rc = ngx_sprintf(p, "{\"mode\":\"%s\",\"llm\":true,"
                         "\"model\":\"%V\"}", modes[clcf->llm_mode],
                         &clcf->llm_model) - p;
    }

    return ngx_http_cartbot_send_json(r, NGX_HTTP_OK, p, rc);
}


/* a product question answered by the model from the hits: NGX_OK if asked */

static ngx_int_t
ngx_http_cartbot_chat_ask(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_http_cartbot_chat_product_t *prods,
    size_t n)
{
    size_t                             i;
    yajl_val                           facts[NGX_HTTP_CARTBOT_CHAT_SHOW];
    cartbot_buf_t                     *b;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    if (clcf->llm_mode == NGX_HTTP_CARTBOT_CHAT_BUILTIN) {
        return NGX_DECLINED;
    }

    n = ngx_min(n, 3);

    for (i = 0; i < n; i++) {
        facts[i] = prods[i].json;
    }

    b = &ctx->llm_request;
    cartbot_buf_init(b, ctx->mem, 4096);

    if (cartbot_llm_answer_request(b, (char *) clcf->llm_model.data,
                                   (char *) ctx->said.data, ctx->said.len,
                                   facts, n, clcf->llm_max_tokens,
                                   ctx->stream)
        != 0)
    {
        return NGX_DECLINED;
    }

    ctx->step = NGX_HTTP_CARTBOT_CHAT_ANSWER;

    if (!ctx->stream) {
        return ngx_http_cartbot_chat_llm_call(r, ctx,
                                             NGX_HTTP_CARTBOT_CHAT_LLM_ANSWER,
                                             b, 0) == NGX_OK
               ? NGX_OK : NGX_DECLINED;
    }

    /*
     * Streamed: the events start now, and the model's deltas are passed
     * on as they come, as the output of its subrequest.  That subrequest
     * must be the connection's active one, so the finished subrequests of
     * round 1 are let go first.
     */

    if (ngx_http_cartbot_chat_start_events(r) != NGX_OK) {
        return NGX_DECLINED;
    }

    r->write_event_handler = ngx_http_cartbot_chat_drain;
    ctx->ctx.responded = 0;

    ngx_http_cartbot_chat_drain(r);

    return NGX_OK;
}


/*
 * A call of the model: an in-memory POST to the LLM location with the key,
 * guarded by its circuit breaker and the subject's token budget.
 * NGX_DECLINED (ctx->fallback says why) when it is not to be called.
 */

static ngx_int_t
ngx_http_cartbot_chat_llm_call(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_uint_t kind, cartbot_buf_t *body,
    ngx_uint_t streamed)
{
    time_t                             retry_after;
    ngx_str_t                          value, data, id;
    ngx_uint_t                         probe;
    ngx_list_t                         headers;
    long long                          estimate;
    ngx_http_request_t                *sr;
    ngx_http_post_subrequest_t        *ps;
    ngx_http_cartbot_chat_llm_t       *llm;
    ngx_http_cartbot_stats_dep_t      *dep;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    if (body->failed) {
        return NGX_ERROR;
    }

    dep = ngx_http_cartbot_stats_dep(clcf->stats, &clcf->llm_uri,
                                     NGX_HTTP_CARTBOT_DEP_GROQ);

    if (ngx_http_cartbot_breaker_allow(dep, &probe, &retry_after) != NGX_OK)
    {
        ngx_http_cartbot_stats_upstream(dep,
                                        NGX_HTTP_CARTBOT_OUTCOME_REFUSED, 0);
        ctx->fallback = "llm_circuit_open";
        return NGX_DECLINED;
    }

    estimate = cartbot_llm_estimate_tokens(body->len, clcf->llm_max_tokens);

    if (ngx_http_cartbot_chat_budget(r, ctx, estimate) != NGX_OK) {
        if (probe) {
            /* the probe is not made: the next request makes it */
            dep->probing = 0;
        }

        ctx->fallback = "llm_budget_exhausted";
        return NGX_DECLINED;
    }

    if (ngx_list_init(&headers, r->pool, 5, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "application/json");

    if (ngx_http_cartbot_add_header(&headers, "Content-Type", &value)
        != NGX_OK
        || ngx_http_cartbot_add_header(&headers, "Accept", &value) != NGX_OK
        || (clcf->llm_auth.len
            && ngx_http_cartbot_add_header(&headers, "Authorization",
                                           &clcf->llm_auth)
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

    llm = ngx_pcalloc(r->pool, sizeof(ngx_http_cartbot_chat_llm_t));
    if (llm == NULL) {
        return NGX_ERROR;
    }

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    llm->ctx = &ctx->ctx;
    llm->kind = kind;
    llm->start = ngx_current_msec;
    llm->reserved = estimate;
    llm->dep = dep;
    llm->probe = probe;
    llm->streamed = streamed;

    if (streamed) {
        cartbot_llm_stream_init(&llm->stream, ctx->mem);
    }

    ps->handler = ngx_http_cartbot_chat_llm_done;
    ps->data = llm;

    data.data = (u_char *) body->data;
    data.len = body->len;

    if (ngx_http_cartbot_post(r, &clcf->llm_uri, NULL, &headers, &data, ps,
                              streamed, &sr)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->llm = llm;
    ctx->ctx.pending++;
    ctx->ctx.responded = 0;

    r->write_event_handler = ngx_http_cartbot_chat_wake;
    r->read_event_handler = ngx_http_cartbot_check_broken_connection;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_chat_llm_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_cartbot_chat_llm_t *llm = data;

    if (llm->done || rc == NGX_AGAIN) {
        return (rc == NGX_AGAIN) ? rc : NGX_OK;
    }

    llm->done = 1;
    llm->rc = rc;

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE || llm->status == 0) {
        llm->status = (rc >= NGX_HTTP_SPECIAL_RESPONSE) ? (ngx_uint_t) rc
                      : sr->headers_out.status;
    }

    if (!llm->streamed && sr->out && sr->out->buf) {
        llm->body.data = sr->out->buf->pos;
        llm->body.len = sr->out->buf->last - sr->out->buf->pos;
    }

    llm->ctx->pending--;

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST || sr->connection->error) {
        return rc;
    }

    /* an error answer stays ours: no error page, the client goes on */

    return NGX_OK;
}


/*
 * What the model answered: NGX_OK with the completion, or NGX_DECLINED
 * with ctx->fallback set.  The metrics, the breaker and the budget learn
 * the outcome here.
 */

static ngx_int_t
ngx_http_cartbot_chat_llm_result(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, cartbot_llm_completion_t *c)
{
    yajl_val                           root;
    ngx_uint_t                         outcome, failed;
    long long                          used;
    ngx_http_cartbot_chat_llm_t       *llm;
    ngx_http_cartbot_chat_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);
    llm = ctx->llm;

    if (llm == NULL) {
        return NGX_DECLINED;
    }

    used = 0;
    failed = 1;
    outcome = NGX_HTTP_CARTBOT_OUTCOME_ERROR;

    if (llm->status == NGX_HTTP_OK && llm->streamed) {
        failed = 0;
        outcome = NGX_HTTP_CARTBOT_OUTCOME_OK;

        ngx_memzero(c, sizeof(cartbot_llm_completion_t));
        c->content.data = llm->stream.content.data;
        c->content.len = llm->stream.content.len;
        c->prompt_tokens = llm->stream.prompt_tokens;
        c->completion_tokens = llm->stream.completion_tokens;
        used = c->prompt_tokens + c->completion_tokens;

        if (llm->stream.failed || !llm->stream.done || c->content.len == 0)
        {
            ctx->fallback = "llm_malformed";
        }

    } else if (llm->status == NGX_HTTP_OK) {
        failed = 0;
        outcome = NGX_HTTP_CARTBOT_OUTCOME_OK;

        if (cartbot_llm_parse_completion((char *) llm->body.data,
                                         llm->body.len, &root, c)
            == 0)
        {
            used = c->prompt_tokens + c->completion_tokens;

        } else {
            ctx->fallback = "llm_malformed";
        }

        if (ngx_http_cartbot_json_cleanup(r->pool, root) != NGX_OK) {
            return NGX_DECLINED;
        }

    } else if (llm->status == NGX_HTTP_TOO_MANY_REQUESTS) {
        ctx->fallback = "llm_rate_limited";

    } else if (llm->status == NGX_HTTP_GATEWAY_TIME_OUT) {
        outcome = NGX_HTTP_CARTBOT_OUTCOME_TIMEOUT;
        ctx->fallback = "llm_timeout";

    } else if (llm->status == NGX_HTTP_UNAUTHORIZED
               || llm->status == NGX_HTTP_FORBIDDEN)
    {
        ctx->fallback = "llm_auth_failed";

    } else if (llm->status >= 500 || llm->status == 0) {
        outcome = NGX_HTTP_CARTBOT_OUTCOME_UNAVAILABLE;
        ctx->fallback = "llm_unavailable";

    } else {
        ctx->fallback = "llm_refused";
    }

    if (failed || ctx->fallback) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "cartbot_chat: the model answered %ui; %s",
                      llm->status, ctx->fallback ? ctx->fallback : "");
    }

    ngx_http_cartbot_stats_upstream(llm->dep, outcome,
                                    ngx_current_msec - llm->start);
    ngx_http_cartbot_breaker_report(llm->dep, llm->probe, failed,
                                    clcf->cartbot.db.breaker_failures,
                                    clcf->cartbot.db.breaker_open,
                                    clcf->cartbot.db.breaker_max);

    /* the reservation is settled with what the model counted */

    (void) ngx_http_cartbot_chat_budget(r, ctx, used - llm->reserved);

    if (used) {
        ctx->prompt_tokens += c->prompt_tokens;
        ctx->completion_tokens += c->completion_tokens;

        ngx_http_cartbot_stats_count(clcf->stats,
                                     NGX_HTTP_CARTBOT_STATS_TOKENS, 0, NULL,
                                     c->prompt_tokens);
        ngx_http_cartbot_stats_count(clcf->stats,
                                     NGX_HTTP_CARTBOT_STATS_TOKENS, 1, NULL,
                                     c->completion_tokens);
    }

    if (failed || ctx->fallback) {
        return NGX_DECLINED;
    }

    ctx->model = (char *) clcf->llm_model.data;
    ctx->fallback = NULL;

    return NGX_OK;
}


/*
 * The subject's tokens of the day: n > 0 is reserved (NGX_DECLINED when it
 * would go over the budget), n < 0 given back.  Slots are found by a hash
 * of the subject and are free again the next day; when none is free the
 * model is not asked.
 */

static ngx_int_t
ngx_http_cartbot_chat_budget(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_atomic_int_t n)
{
    uint64_t                               key;
    ngx_int_t                              rc;
    ngx_uint_t                             i, day, h;
    ngx_slab_pool_t                       *shpool;
    ngx_http_cartbot_chat_budget_t        *table;
    ngx_http_cartbot_chat_budget_slot_t   *slot, *free;
    ngx_http_cartbot_chat_loc_conf_t      *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_chat_module);

    if (clcf->budget_zone == NULL || n == 0) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) clcf->budget_zone->shm.addr;
    table = clcf->budget_zone->data;

    key = ((uint64_t) ngx_crc32_long(ctx->user.data, ctx->user.len) << 32)
          | ngx_murmur_hash2(ctx->user.data, ctx->user.len) | 1;
    day = ngx_time() / 86400;
    h = (ngx_uint_t) (key % table->nslots);
    free = NULL;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&shpool->mutex);

    for (i = 0; i < 16; i++) {
        slot = &table->slots[(h + i) % table->nslots];

        if (slot->key == key) {
            free = slot;
            break;
        }

        if (free == NULL && (slot->key == 0 || slot->day != day)) {
            free = slot;
        }
    }

    if (free == NULL) {
        goto done;
    }

    if (free->key != key || free->day != day) {
        if (n < 0) {
            goto done;
        }

        free->key = key;
        free->day = day;
        free->used = 0;
    }

    if (n > 0 && free->used + n > (ngx_atomic_int_t) clcf->budget) {
        goto done;
    }

    free->used += n;

    if (free->used < 0) {
        free->used = 0;
    }

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


static ngx_int_t
ngx_http_cartbot_chat_budget_init(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                           size;
    ngx_uint_t                       n;
    ngx_slab_pool_t                 *shpool;
    ngx_http_cartbot_chat_budget_t  *table, *old = data;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (old) {
        shm_zone->data = old;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    /* half the zone for the slots: the slab allocator keeps the rest */

    n = (shm_zone->shm.size / 2)
        / sizeof(ngx_http_cartbot_chat_budget_slot_t);

    size = sizeof(ngx_http_cartbot_chat_budget_t)
           + n * sizeof(ngx_http_cartbot_chat_budget_slot_t);

    table = ngx_slab_calloc(shpool, size);
    if (table == NULL) {
        return NGX_ERROR;
    }

    table->nslots = n;

    shpool->data = table;
    shm_zone->data = table;

    return NGX_OK;
}


/*
 * A call of another module's internal API: uri + suffix, and the session
 * id as the argument of GET calls.
 */

static ngx_http_cartbot_call_t *
ngx_http_cartbot_chat_call(ngx_http_request_t *r,
    ngx_http_cartbot_chat_ctx_t *ctx, ngx_str_t *uri, const char *suffix,
    ngx_uint_t method, cartbot_buf_t *body)
{
    size_t      len;
    ngx_str_t   full, args, data, *argp;

    if (uri->len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cartbot_chat: \"cartbot_chat_api\" does not name "
                      "every service this turn needs");
        return NULL;
    }

    full = *uri;

    if (suffix && *suffix) {
        len = ngx_strlen(suffix);
        full.data = ngx_pnalloc(r->pool, uri->len + len);
        if (full.data == NULL) {
            return NULL;
        }

        ngx_memcpy(ngx_cpymem(full.data, uri->data, uri->len), suffix, len);
        full.len = uri->len + len;
    }

    argp = NULL;

    if (method == NGX_HTTP_GET) {
        args.len = sizeof("session_id=") - 1 + ctx->session.len;
        args.data = ngx_pnalloc(r->pool, args.len);
        if (args.data == NULL) {
            return NULL;
        }

        ngx_sprintf(args.data, "session_id=%V", &ctx->session);
        argp = &args;
    }

    if (body) {
        data.data = (u_char *) body->data;
        data.len = body->len;
    }

    return ngx_http_cartbot_call(r, &ctx->ctx, &full, argp, method,
                                 body ? &data : NULL);
}


/* the JSON of a call's 200 answer, or NULL */

static yajl_val
ngx_http_cartbot_chat_call_json(ngx_http_request_t *r,
    ngx_http_cartbot_call_t *call)
{
    char      err[64];
    yajl_val  v;

    if (call == NULL || call->status / 100 != 2) {
        if (call) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "cartbot_chat: a service answered %ui",
                          call->status);
        }

        return NULL;
    }

    v = cartbot_json_parse((char *) call->body.data, call->body.len, err,
                           sizeof(err));
    if (ngx_http_cartbot_json_cleanup(r->pool, v) != NGX_OK) {
        return NULL;
    }

    return YAJL_IS_OBJECT(v) ? v : NULL;
}


/* the message of a call's JSON error, in words for the shopper */

static const char *
ngx_http_cartbot_chat_call_error(ngx_http_request_t *r,
    ngx_http_cartbot_call_t *call)
{
    char         err[64];
    yajl_val     v;
    const char  *message;

    v = cartbot_json_parse((char *) call->body.data, call->body.len, err,
                           sizeof(err));
    if (ngx_http_cartbot_json_cleanup(r->pool, v) != NGX_OK) {
        return "something went wrong";
    }

    message = cartbot_json_get_string(cartbot_json_get(v, "error"),
                                      "message");

    return message ? message : "the service is not available right now";
}


static void
ngx_http_cartbot_chat_wake(ngx_http_request_t *r)
{
    ngx_http_cartbot_wake(r, &ngx_cartbot_chat_module);
}


static ngx_int_t
ngx_http_cartbot_chat_query_handler(ngx_http_request_t *r)
{
    return ngx_http_cartbot_db_query_handler(r, &ngx_cartbot_chat_module);
}


static void *
ngx_http_cartbot_chat_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_cartbot_chat_loc_conf_t  *conf;

    conf = ngx_http_cartbot_create_loc_conf(cf,
                                 sizeof(ngx_http_cartbot_chat_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->op = 0;
     *     conf->search_uri = { 0, NULL };
     *     ...
     */

    conf->max_message = NGX_CONF_UNSET_SIZE;
    conf->llm_mode = NGX_CONF_UNSET_UINT;
    conf->llm_max_tokens = NGX_CONF_UNSET_UINT;
    conf->budget = NGX_CONF_UNSET_UINT;
    conf->budget_zone = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_cartbot_chat_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_cartbot_chat_loc_conf_t *prev = parent;
    ngx_http_cartbot_chat_loc_conf_t *conf = child;

    ngx_conf_merge_str_value(conf->search_uri, prev->search_uri, "");
    ngx_conf_merge_str_value(conf->fulltext_uri, prev->fulltext_uri, "");
    ngx_conf_merge_str_value(conf->cart_uri, prev->cart_uri, "");
    ngx_conf_merge_str_value(conf->checkout_uri, prev->checkout_uri, "");
    ngx_conf_merge_str_value(conf->recommend_uri, prev->recommend_uri, "");
    ngx_conf_merge_size_value(conf->max_message, prev->max_message, 1000);

    if (conf->llm_uri.len == 0) {
        conf->llm_uri = prev->llm_uri;
        conf->llm_model = prev->llm_model;
        conf->llm_auth = prev->llm_auth;
        conf->stats = prev->stats;
    }

    ngx_conf_merge_uint_value(conf->llm_mode, prev->llm_mode,
                              conf->llm_uri.len
                              ? NGX_HTTP_CARTBOT_CHAT_HYBRID
                              : NGX_HTTP_CARTBOT_CHAT_BUILTIN);
    ngx_conf_merge_uint_value(conf->llm_max_tokens, prev->llm_max_tokens,
                              200);
    ngx_conf_merge_uint_value(conf->budget, prev->budget, 0);
    ngx_conf_merge_ptr_value(conf->budget_zone, prev->budget_zone, NULL);

    if (conf->llm_uri.len == 0) {
        conf->llm_mode = NGX_HTTP_CARTBOT_CHAT_BUILTIN;
    }

    if (conf->max_message > CARTBOT_NLU_MAX_INPUT) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"cartbot_chat_max_message\" may be at most %d",
                           CARTBOT_NLU_MAX_INPUT);
        return NGX_CONF_ERROR;
    }

    return ngx_http_cartbot_merge_loc_conf(cf, parent, child);
}


static char *
ngx_http_cartbot_chat(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_cartbot_set_op(cf, cmd, conf,
                                   ngx_http_cartbot_chat_handler);
}


/*
 * cartbot_chat_api search=URI [fulltext=URI] cart=URI checkout=URI
 *     recommend=URI
 */

static char *
ngx_http_cartbot_chat_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_chat_loc_conf_t *clcf = conf;

    ngx_str_t   *value, *uri;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "search=", 7) == 0) {
            uri = &clcf->search_uri;
            value[i].data += 7;
            value[i].len -= 7;

        } else if (ngx_strncmp(value[i].data, "fulltext=", 9) == 0) {
            uri = &clcf->fulltext_uri;
            value[i].data += 9;
            value[i].len -= 9;

        } else if (ngx_strncmp(value[i].data, "cart=", 5) == 0) {
            uri = &clcf->cart_uri;
            value[i].data += 5;
            value[i].len -= 5;

        } else if (ngx_strncmp(value[i].data, "checkout=", 9) == 0) {
            uri = &clcf->checkout_uri;
            value[i].data += 9;
            value[i].len -= 9;

        } else if (ngx_strncmp(value[i].data, "recommend=", 10) == 0) {
            uri = &clcf->recommend_uri;
            value[i].data += 10;
            value[i].len -= 10;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (value[i].len == 0 || value[i].data[0] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" is not a location URI", &value[i]);
            return NGX_CONF_ERROR;
        }

        *uri = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * cartbot_chat_llm URI key_file=PATH model=NAME [mode=hybrid|llm|builtin]
 *     [max_tokens=N]
 */

static char *
ngx_http_cartbot_chat_llm(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_cartbot_chat_loc_conf_t *clcf = conf;

    u_char      *p, *last;
    ssize_t      n;
    ngx_int_t    max;
    ngx_str_t   *value, path, key;
    ngx_uint_t   i;
    ngx_file_t   file;
    u_char       buf[512];

    if (clcf->llm_uri.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is not a location URI", &value[1]);
        return NGX_CONF_ERROR;
    }

    clcf->llm_uri = value[1];
    ngx_str_null(&path);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "key_file=", 9) == 0) {
            path.data = value[i].data + 9;
            path.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "model=", 6) == 0
            && value[i].len > 6)
        {
            clcf->llm_model.data = value[i].data + 6;
            clcf->llm_model.len = value[i].len - 6;
            continue;
        }

        if (ngx_strncmp(value[i].data, "mode=", 5) == 0) {
            if (ngx_strcmp(value[i].data + 5, "builtin") == 0) {
                clcf->llm_mode = NGX_HTTP_CARTBOT_CHAT_BUILTIN;

            } else if (ngx_strcmp(value[i].data + 5, "llm") == 0) {
                clcf->llm_mode = NGX_HTTP_CARTBOT_CHAT_LLM;

            } else if (ngx_strcmp(value[i].data + 5, "hybrid") == 0) {
                clcf->llm_mode = NGX_HTTP_CARTBOT_CHAT_HYBRID;

            } else {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_tokens=", 11) == 0) {
            max = ngx_atoi(value[i].data + 11, value[i].len - 11);

            if (max < 16 || max > 4096) {
                goto invalid;
            }

            clcf->llm_max_tokens = max;
            continue;
        }

        goto invalid;
    }

    if (clcf->llm_model.len == 0) {
        return "needs model=";
    }

    /* the key is read by the master, once: it may be root's only */

    if (path.len) {
        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&file, sizeof(ngx_file_t));
        file.name = path;
        file.log = cf->log;

        file.fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

        if (file.fd == NGX_INVALID_FILE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               ngx_open_file_n " \"%V\" failed", &path);
            return NGX_CONF_ERROR;
        }

        n = ngx_read_file(&file, buf, sizeof(buf), 0);

        ngx_close_file(file.fd);

        if (n <= 0 || n == (ssize_t) sizeof(buf)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" does not hold one API key", &path);
            return NGX_CONF_ERROR;
        }

        p = buf;
        last = buf + n;

        while (p < last && (*p == ' ' || *p == '\n' || *p == '\r')) {
            p++;
        }

        while (last > p && (last[-1] == ' ' || last[-1] == '\n'
                            || last[-1] == '\r'))
        {
            last--;
        }

        key.data = p;
        key.len = last - p;

        if (key.len == 0 || ngx_strlchr(key.data, last, ' ')) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" does not hold one API key", &path);
            return NGX_CONF_ERROR;
        }

        clcf->llm_auth.len = sizeof("Bearer ") - 1 + key.len;
        clcf->llm_auth.data = ngx_pnalloc(cf->pool, clcf->llm_auth.len);
        if (clcf->llm_auth.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(clcf->llm_auth.data, "Bearer %V", &key);
        ngx_explicit_memzero(buf, sizeof(buf));
    }

    if (ngx_http_cartbot_stats_add(cf, &clcf->stats) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* cartbot_chat_llm_budget zone=NAME:SIZE tokens=N */

static char *
ngx_http_cartbot_chat_llm_budget(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_cartbot_chat_loc_conf_t *clcf = conf;

    u_char      *p;
    ssize_t      size;
    ngx_int_t    tokens;
    ngx_str_t   *value, name, s;
    ngx_uint_t   i;

    if (clcf->budget_zone != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    ngx_str_null(&name);
    size = 0;
    tokens = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL) {
                goto invalid;
            }

            name.len = p - name.data;
            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;
            size = ngx_parse_size(&s);

            if (name.len == 0 || size < (ssize_t) (8 * ngx_pagesize)) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "tokens=", 7) == 0) {
            tokens = ngx_atoi(value[i].data + 7, value[i].len - 7);

            if (tokens <= 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (name.len == 0 || tokens == 0) {
        return "needs zone= and tokens=";
    }

    clcf->budget = tokens;
    clcf->budget_zone = ngx_shared_memory_add(cf, &name, size,
                                              &ngx_cartbot_chat_module);
    if (clcf->budget_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    clcf->budget_zone->init = ngx_http_cartbot_chat_budget_init;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_cartbot_chat_init(ngx_conf_t *cf)
{
    if (ngx_http_cartbot_call_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_cartbot_chat_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_cartbot_chat_body_filter;

    return NGX_OK;
}
