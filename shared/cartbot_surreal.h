
/*
 * Cartbot core: SurrealDB 3 HTTP requests and answers.
 *
 * A request is a constant SurrealQL text plus variables.  Variables travel
 * as URL query parameters, which SurrealDB 3 binds as string $variables;
 * the query casts them (<int>$qty, type::record('product', $id)).  User
 * text is never spliced into query text.
 */

#ifndef _CARTBOT_SURREAL_H_INCLUDED_
#define _CARTBOT_SURREAL_H_INCLUDED_


#include "cartbot_buf.h"
#include "cartbot_json.h"


/* longest variable value we send; beyond it URIs get risky */
#define CARTBOT_SURREAL_MAX_VALUE  (64 * 1024)


typedef struct {
    cartbot_buf_t           sql;
    cartbot_buf_t           args;      /* "a=1&b=x%20y", no leading '?' */
    unsigned                failed:1;  /* an invalid name or no memory */
} cartbot_surreal_query_t;


typedef enum {
    CARTBOT_SURREAL_OK = 0,
    CARTBOT_SURREAL_STATEMENT,     /* a statement answered ERR */
    CARTBOT_SURREAL_CONFLICT,      /* write conflict: retry the request */
    CARTBOT_SURREAL_AUTH,          /* 401: sign in again */
    CARTBOT_SURREAL_FORBIDDEN,     /* 403 for the whole request */
    CARTBOT_SURREAL_BAD_REQUEST,   /* 400: the query text itself is wrong */
    CARTBOT_SURREAL_UNAVAILABLE,   /* 5xx from the database */
    CARTBOT_SURREAL_PROTOCOL       /* an answer we cannot understand */
} cartbot_surreal_outcome_e;


typedef struct {
    unsigned                ok:1;
    const char             *kind;      /* ERR: "Thrown", "NotFound", ... */
    const char             *message;   /* ERR: the "result" text */
    yajl_val                result;    /* OK: the statement's value */
    yajl_val                details;   /* ERR: "details" when present */
} cartbot_surreal_stmt_t;


typedef struct {
    cartbot_surreal_outcome_e  outcome;
    yajl_val                   root;        /* free with _result_free() */
    size_t                     nstmts;
    cartbot_surreal_stmt_t    *stmts;
    const cartbot_surreal_stmt_t  *error;   /* the cause, not the echoes */
    const char                *message;     /* for logs and errors */
} cartbot_surreal_result_t;


int cartbot_surreal_query_init(cartbot_surreal_query_t *q, cartbot_mem_t *mem,
    const char *sql);
int cartbot_surreal_bind(cartbot_surreal_query_t *q, const char *name,
    const char *value, size_t len);
int cartbot_surreal_bind_int(cartbot_surreal_query_t *q, const char *name,
    long long value);
int cartbot_surreal_bind_double(cartbot_surreal_query_t *q, const char *name,
    double value);

/* RFC 3986: everything but unreserved characters is %XX-encoded */
int cartbot_url_encode(cartbot_buf_t *b, const char *s, size_t len);

/*
 * The one audited way to put trusted bulk data (catalog import) into query
 * text: a single-quoted SurrealQL string literal.  Refuses NUL bytes.
 */
int cartbot_surreal_quote(cartbot_buf_t *b, const char *s, size_t len);

/*
 * Classifies one HTTP answer of POST /sql.  Fills res (res->root must be
 * freed with cartbot_surreal_result_free()) and returns res->outcome.
 * Statement entries are checked one by one: any ERR makes the outcome
 * STATEMENT (or CONFLICT for "can be retried"), and res->error points at
 * the entry that caused it rather than at the "not executed due to a
 * failed transaction" echoes that follow it.
 */
cartbot_surreal_outcome_e cartbot_surreal_parse(cartbot_surreal_result_t *res,
    cartbot_mem_t *mem, unsigned http_status, const char *body, size_t len);
void cartbot_surreal_result_free(cartbot_surreal_result_t *res);

/* the value of the last statement that answered OK, or NULL */
yajl_val cartbot_surreal_last(const cartbot_surreal_result_t *res);

/* "An error occurred: boom" -> "boom" for THROWn errors, else the message */
const char *cartbot_surreal_thrown(const cartbot_surreal_stmt_t *stmt);

/*
 * The key of a record id given as "table:key" or "key" (clients may send
 * either): letters, digits and '_', 1 to 64 of them.  Returns the key or
 * NULL when the text is not such an id of that table.
 */
const char *cartbot_surreal_record_key(const char *table, const char *id,
    size_t len, size_t *keylen);

/* the text of "token" in a /signin answer, NULL when absent */
const char *cartbot_surreal_signin_token(yajl_val answer);

const char *cartbot_surreal_outcome_name(cartbot_surreal_outcome_e outcome);


#endif /* _CARTBOT_SURREAL_H_INCLUDED_ */
