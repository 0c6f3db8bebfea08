
/*
 * Cartbot core: SurrealDB 3 HTTP requests and answers.
 */

#include <stdio.h>
#include <string.h>

#include "cartbot_surreal.h"


#define CARTBOT_SURREAL_THROWN_PREFIX  "An error occurred: "


static int cartbot_surreal_valid_name(const char *name);
static int cartbot_surreal_echo(const cartbot_surreal_stmt_t *stmt);
static int cartbot_surreal_retryable(const cartbot_surreal_stmt_t *stmt);


int
cartbot_surreal_query_init(cartbot_surreal_query_t *q, cartbot_mem_t *mem,
    const char *sql)
{
    q->failed = 0;

    cartbot_buf_init(&q->sql, mem, 0);
    cartbot_buf_init(&q->args, mem, 0);

    if (cartbot_buf_add_str(&q->sql, sql) != 0) {
        q->failed = 1;
        return -1;
    }

    return 0;
}


int
cartbot_surreal_bind(cartbot_surreal_query_t *q, const char *name,
    const char *value, size_t len)
{
    if (!cartbot_surreal_valid_name(name) || len > CARTBOT_SURREAL_MAX_VALUE) {
        q->failed = 1;
        return -1;
    }

    if (q->args.len) {
        cartbot_buf_add_char(&q->args, '&');
    }

    cartbot_buf_add_str(&q->args, name);
    cartbot_buf_add_char(&q->args, '=');

    if (cartbot_url_encode(&q->args, value, len) != 0) {
        q->failed = 1;
        return -1;
    }

    return 0;
}


int
cartbot_surreal_bind_int(cartbot_surreal_query_t *q, const char *name,
    long long value)
{
    char  num[32];
    int   n;

    n = snprintf(num, sizeof(num), "%lld", value);

    return cartbot_surreal_bind(q, name, num, (size_t) n);
}


int
cartbot_surreal_bind_double(cartbot_surreal_query_t *q, const char *name,
    double value)
{
    char  num[64];
    int   n;

    /* %.17g round-trips every double; SurrealDB parses it with <float> */
    n = snprintf(num, sizeof(num), "%.17g", value);

    return cartbot_surreal_bind(q, name, num, (size_t) n);
}


static int
cartbot_surreal_valid_name(const char *name)
{
    const char  *p;

    if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z')
          || *name == '_'))
    {
        return 0;
    }

    for (p = name + 1; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_'))
        {
            return 0;
        }
    }

    return (p - name) <= 64;
}


int
cartbot_url_encode(cartbot_buf_t *b, const char *s, size_t len)
{
    char                 esc[3];
    size_t               i;
    unsigned char        c;
    static const char    hex[] = "0123456789ABCDEF";

    if (cartbot_buf_reserve(b, len) != 0) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            cartbot_buf_add_char(b, (char) c);
            continue;
        }

        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 0xf];
        cartbot_buf_add(b, esc, 3);
    }

    return b->failed ? -1 : 0;
}


int
cartbot_surreal_quote(cartbot_buf_t *b, const char *s, size_t len)
{
    size_t  i;

    if (memchr(s, '\0', len) != NULL) {
        return -1;
    }

    cartbot_buf_add_char(b, '\'');

    /* inside '...' only the quote and the backslash are special */

    for (i = 0; i < len; i++) {
        if (s[i] == '\'' || s[i] == '\\') {
            cartbot_buf_add_char(b, '\\');
        }

        cartbot_buf_add_char(b, s[i]);
    }

    return cartbot_buf_add_char(b, '\'');
}


cartbot_surreal_outcome_e
cartbot_surreal_parse(cartbot_surreal_result_t *res, cartbot_mem_t *mem,
    unsigned http_status, const char *body, size_t len)
{
    char                     err[128];
    size_t                   i, n;
    yajl_val                 root, entry, v;
    const char              *status;
    cartbot_surreal_stmt_t  *stmt;

    memset(res, 0, sizeof(cartbot_surreal_result_t));

    if (http_status == 401) {
        /* the auth middleware answers plain text, not JSON */
        res->outcome = CARTBOT_SURREAL_AUTH;
        res->message = "database authentication failed";
        return res->outcome;
    }

    if (http_status >= 500) {
        res->outcome = CARTBOT_SURREAL_UNAVAILABLE;
        res->message = "database error";
        return res->outcome;
    }

    root = cartbot_json_parse(body, len, err, sizeof(err));
    res->root = root;

    if (http_status != 200) {
        res->outcome = (http_status == 403) ? CARTBOT_SURREAL_FORBIDDEN
                       : (http_status == 400) ? CARTBOT_SURREAL_BAD_REQUEST
                       : CARTBOT_SURREAL_PROTOCOL;

        /* 400 {"code":400,"details":...,"information":"Parse error: ..."} */

        res->message = cartbot_json_get_string(root, "information");
        if (res->message == NULL) {
            res->message = cartbot_json_get_string(root, "details");
        }

        if (res->message == NULL) {
            res->message = "unexpected database answer";
        }

        return res->outcome;
    }

    if (!YAJL_IS_ARRAY(root)) {
        res->outcome = CARTBOT_SURREAL_PROTOCOL;
        res->message = "database answer is not a statement list";
        return res->outcome;
    }

    n = root->u.array.len;

    res->stmts = cartbot_alloc(mem, (n ? n : 1)
                                    * sizeof(cartbot_surreal_stmt_t));
    if (res->stmts == NULL) {
        res->outcome = CARTBOT_SURREAL_PROTOCOL;
        res->message = "out of memory";
        return res->outcome;
    }

    res->nstmts = n;
    res->outcome = CARTBOT_SURREAL_OK;

    for (i = 0; i < n; i++) {
        entry = root->u.array.values[i];
        stmt = &res->stmts[i];

        memset(stmt, 0, sizeof(cartbot_surreal_stmt_t));

        status = cartbot_json_get_string(entry, "status");

        if (status == NULL) {
            res->outcome = CARTBOT_SURREAL_PROTOCOL;
            res->message = "statement entry without status";
            return res->outcome;
        }

        if (strcmp(status, "OK") == 0) {
            stmt->ok = 1;
            stmt->result = cartbot_json_get(entry, "result");
            continue;
        }

        stmt->kind = cartbot_json_get_string(entry, "kind");
        stmt->details = cartbot_json_get(entry, "details");

        v = cartbot_json_get(entry, "result");
        stmt->message = YAJL_IS_STRING(v) ? v->u.string : "statement failed";

        if (res->error == NULL
            || (cartbot_surreal_echo(res->error)
                && !cartbot_surreal_echo(stmt)))
        {
            res->error = stmt;
        }
    }

    if (res->error) {
        res->outcome = CARTBOT_SURREAL_STATEMENT;

        for (i = 0; i < n; i++) {
            if (!res->stmts[i].ok
                && cartbot_surreal_retryable(&res->stmts[i]))
            {
                res->outcome = CARTBOT_SURREAL_CONFLICT;
                res->error = &res->stmts[i];
                break;
            }
        }

        res->message = res->error->message;
    }

    return res->outcome;
}


/*
 * "The query was not executed due to a failed transaction" and
 * "... cancelled transaction": consequences, never the cause.
 */

static int
cartbot_surreal_echo(const cartbot_surreal_stmt_t *stmt)
{
    return strstr(stmt->message, "was not executed due to a") != NULL;
}


static int
cartbot_surreal_retryable(const cartbot_surreal_stmt_t *stmt)
{
    return strstr(stmt->message, "can be retried") != NULL;
}


void
cartbot_surreal_result_free(cartbot_surreal_result_t *res)
{
    cartbot_json_free(res->root);
    res->root = NULL;
}


yajl_val
cartbot_surreal_last(const cartbot_surreal_result_t *res)
{
    size_t  i;

    for (i = res->nstmts; i > 0; i--) {
        if (res->stmts[i - 1].ok && res->stmts[i - 1].result
            && !YAJL_IS_NULL(res->stmts[i - 1].result))
        {
            return res->stmts[i - 1].result;
        }
    }

    return NULL;
}


const char *
cartbot_surreal_thrown(const cartbot_surreal_stmt_t *stmt)
{
    size_t  n;

    n = sizeof(CARTBOT_SURREAL_THROWN_PREFIX) - 1;

    if (stmt->message
        && strncmp(stmt->message, CARTBOT_SURREAL_THROWN_PREFIX, n) == 0)
    {
        return stmt->message + n;
    }

    return stmt->message;
}


const char *
cartbot_surreal_record_key(const char *table, const char *id, size_t len,
    size_t *keylen)
{
    size_t  i, tlen;

    tlen = strlen(table);

    if (len > tlen && id[tlen] == ':' && memcmp(id, table, tlen) == 0) {
        id += tlen + 1;
        len -= tlen + 1;
    }

    if (len == 0 || len > 64) {
        return NULL;
    }

    for (i = 0; i < len; i++) {
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')
              || (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
        {
            return NULL;
        }
    }

    *keylen = len;

    return id;
}


const char *
cartbot_surreal_signin_token(yajl_val answer)
{
    yajl_val  token;

    token = cartbot_json_get(answer, "token");

    if (YAJL_IS_STRING(token)) {
        return token->u.string;
    }

    /* access methods WITH REFRESH answer {"access": ..., "refresh": ...} */

    return cartbot_json_get_string(token, "access");
}


const char *
cartbot_surreal_outcome_name(cartbot_surreal_outcome_e outcome)
{
    static const char  *names[] = {
        "ok", "statement", "conflict", "auth", "forbidden", "bad_request",
        "unavailable", "protocol"
    };

    if ((size_t) outcome >= sizeof(names) / sizeof(names[0])) {
        return "unknown";
    }

    return names[outcome];
}
