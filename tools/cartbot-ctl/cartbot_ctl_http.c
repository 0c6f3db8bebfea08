
/*
 * cartbot-ctl: HTTP exchanges with SurrealDB over libcurl.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cartbot_base64.h"
#include "cartbot_ctl.h"


/* the largest answer we keep: far above anything our queries return */
#define CARTBOT_CTL_MAX_ANSWER  (64 * 1024 * 1024)

/* how much of an unexpected answer goes into an error message */
#define CARTBOT_CTL_EXCERPT     300

/* SurrealDB's /signin body limit */
#define CARTBOT_CTL_MAX_SIGNIN  1024


static size_t cartbot_ctl_http_write(char *data, size_t size, size_t n,
    void *ctx);
static int cartbot_ctl_http_perform(cartbot_ctl_t *ctl, const char *path,
    const char *args, const char *body, size_t len,
    struct curl_slist *headers, cartbot_ctl_http_t *res);
static int cartbot_ctl_http_headers(cartbot_ctl_t *ctl, const char *auth);
static int cartbot_ctl_http_header(cartbot_ctl_t *ctl,
    struct curl_slist **list, const char *fmt, const char *value);
static void cartbot_ctl_sql_error(cartbot_ctl_t *ctl,
    cartbot_ctl_http_t *http, cartbot_surreal_result_t *res);


int
cartbot_ctl_http_init(cartbot_ctl_t *ctl)
{
    int            rc;
    cartbot_buf_t  cred, auth;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cartbot_ctl_error(ctl, "cannot initialize libcurl");
        return -1;
    }

    ctl->curl = curl_easy_init();
    if (ctl->curl == NULL) {
        cartbot_ctl_error(ctl, "cannot initialize libcurl");
        return -1;
    }

    if (ctl->pass == NULL) {
        /* import: cartbot_ctl_signin() sets a Bearer token later */
        return cartbot_ctl_http_headers(ctl, NULL);
    }

    /* Authorization: Basic base64(user:pass), for system users only */

    cartbot_buf_init(&cred, ctl->mem, 0);
    cartbot_buf_init(&auth, ctl->mem, 0);

    cartbot_buf_printf(&cred, "%s:%s", ctl->user, ctl->pass);
    cartbot_buf_add_str(&auth, "Authorization: Basic ");
    cartbot_base64_encode(&auth, (const unsigned char *) cred.data, cred.len,
                          0);

    if (cartbot_buf_cstr(&auth) == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_http_headers(ctl, auth.data);

    /* the password must not linger in a buffer longer than needed */

    memset(cred.data, 0, cred.len);
    memset(auth.data, 0, auth.len);

    return rc;
}


/* the /sql headers: auth (a whole "Authorization: ..." line, or NULL) */

static int
cartbot_ctl_http_headers(cartbot_ctl_t *ctl, const char *auth)
{
    struct curl_slist  *list;

    list = NULL;

    if ((auth && cartbot_ctl_http_header(ctl, &list, "%s", auth) != 0)
        || cartbot_ctl_http_header(ctl, &list, "surreal-ns: %s", ctl->ns) != 0
        || cartbot_ctl_http_header(ctl, &list, "surreal-db: %s", ctl->db) != 0
        || cartbot_ctl_http_header(ctl, &list, "%s",
                                   "Accept: application/json") != 0
        || cartbot_ctl_http_header(ctl, &list, "%s",
                                   "Content-Type: text/plain; charset=utf-8")
           != 0
        || cartbot_ctl_http_header(ctl, &list, "%s", "Expect:") != 0)
    {
        if (list) {
            curl_slist_free_all(list);
        }

        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    if (ctl->sql_headers) {
        curl_slist_free_all(ctl->sql_headers);
    }

    ctl->sql_headers = list;

    return 0;
}


static int
cartbot_ctl_http_header(cartbot_ctl_t *ctl, struct curl_slist **list,
    const char *fmt, const char *value)
{
    cartbot_buf_t       line;
    struct curl_slist  *l;

    cartbot_buf_init(&line, ctl->mem, 0);
    cartbot_buf_printf(&line, fmt, value);

    if (cartbot_buf_cstr(&line) == NULL) {
        return -1;
    }

    l = curl_slist_append(*list, line.data);

    memset(line.data, 0, line.len);

    if (l == NULL) {
        return -1;
    }

    *list = l;

    return 0;
}


/*
 * POST /signin with body, the JSON a service account file holds; the /sql
 * requests that follow carry the token it answers (Bearer).  Called again
 * when a token expires.
 */

int
cartbot_ctl_signin(cartbot_ctl_t *ctl, const char *account, const char *body,
    size_t len)
{
    int                  rc;
    size_t               i;
    yajl_val             root;
    const char          *token;
    cartbot_buf_t        auth;
    cartbot_ctl_http_t   http;
    struct curl_slist   *headers;
    char                 jerr[128];

    if (len > CARTBOT_CTL_MAX_SIGNIN) {
        cartbot_ctl_error(ctl, "the %s account's /signin body is larger "
                          "than %d bytes", account, CARTBOT_CTL_MAX_SIGNIN);
        return -1;
    }

    headers = curl_slist_append(NULL, "Accept: application/json");

    if (headers) {
        headers = curl_slist_append(headers,
                                    "Content-Type: application/json");
    }

    if (headers == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_http_perform(ctl, "/signin", NULL, body, len, headers,
                                  &http);

    curl_slist_free_all(headers);

    if (rc != 0) {
        return -1;
    }

    root = cartbot_json_parse(http.body.data, http.body.len, jerr,
                              sizeof(jerr));

    token = (http.status == 200) ? cartbot_surreal_signin_token(root) : NULL;

    if (token == NULL) {
        i = http.body.len > CARTBOT_CTL_EXCERPT ? CARTBOT_CTL_EXCERPT
                                                : http.body.len;

        cartbot_ctl_error(ctl, "the %s account cannot sign in at %s/signin "
                          "(HTTP %ld): %.*s", account, ctl->url, http.status,
                          (int) i, http.body.data);
        cartbot_json_free(root);
        return -1;
    }

    for (i = 0; token[i]; i++) {
        if ((unsigned char) token[i] <= 0x20 || token[i] == 0x7f) {
            cartbot_json_free(root);
            cartbot_ctl_error(ctl, "/signin answered an unusable token");
            return -1;
        }
    }

    cartbot_buf_init(&auth, ctl->mem, 0);
    cartbot_buf_printf(&auth, "Authorization: Bearer %s", token);

    memset(http.body.data, 0, http.body.len);
    cartbot_json_free(root);

    if (cartbot_buf_cstr(&auth) == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_http_headers(ctl, auth.data);

    memset(auth.data, 0, auth.len);

    if (rc == 0) {
        ctl->account = account;
    }

    return rc;
}


void
cartbot_ctl_http_done(cartbot_ctl_t *ctl)
{
    if (ctl->sql_headers) {
        curl_slist_free_all(ctl->sql_headers);
        ctl->sql_headers = NULL;
    }

    if (ctl->curl) {
        curl_easy_cleanup(ctl->curl);
        ctl->curl = NULL;
        curl_global_cleanup();
    }
}


long
cartbot_ctl_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/*
 * One exchange: GET path when body is NULL, else POST path with the /sql
 * headers (authentication, namespace, database).  Returns -1 only when no
 * HTTP answer came back; any status is the caller's to judge.
 */

int
cartbot_ctl_http(cartbot_ctl_t *ctl, const char *path, const char *args,
    const char *body, size_t len, cartbot_ctl_http_t *res)
{
    return cartbot_ctl_http_perform(ctl, path, args, body, len,
                                    ctl->sql_headers, res);
}


static int
cartbot_ctl_http_perform(cartbot_ctl_t *ctl, const char *path,
    const char *args, const char *body, size_t len,
    struct curl_slist *headers, cartbot_ctl_http_t *res)
{
    CURL           *c;
    long            start;
    CURLcode        rc;
    cartbot_buf_t   url;
    char            cerr[CURL_ERROR_SIZE];

    c = ctl->curl;

    res->status = 0;
    res->ms = 0;
    cartbot_buf_init(&res->body, ctl->mem, 0);

    cartbot_buf_init(&url, ctl->mem, 0);
    cartbot_buf_add_str(&url, ctl->url);
    cartbot_buf_add_str(&url, path);

    if (args && args[0]) {
        cartbot_buf_add_char(&url, '?');
        cartbot_buf_add_str(&url, args);
    }

    if (cartbot_buf_cstr(&url) == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    cerr[0] = '\0';

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, ctl->timeout);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "cartbot-ctl");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cartbot_ctl_http_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &res->body);

    if (body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    }

    start = cartbot_ctl_now_ms();

    rc = curl_easy_perform(c);

    res->ms = cartbot_ctl_now_ms() - start;

    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);

    if (res->body.failed) {
        cartbot_ctl_error(ctl, "the answer of %s%s is too large", ctl->url,
                          path);
        return -1;
    }

    if (rc != CURLE_OK) {
        cartbot_ctl_error(ctl, "cannot reach SurrealDB at %s: %s", ctl->url,
                          cerr[0] ? cerr : curl_easy_strerror(rc));
        return -1;
    }

    /* answers are text for the caller: never NULL, NUL-terminated */

    if (cartbot_buf_cstr(&res->body) == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);

    return 0;
}


static size_t
cartbot_ctl_http_write(char *data, size_t size, size_t n, void *ctx)
{
    cartbot_buf_t  *b = ctx;

    if (b->len + size * n > CARTBOT_CTL_MAX_ANSWER) {
        b->failed = 1;
        return 0;
    }

    if (cartbot_buf_add(b, data, size * n) != 0) {
        return 0;
    }

    return size * n;
}


/*
 * POST /sql: every statement entry is checked (errors come as HTTP 200
 * with "status":"ERR").  Returns 0 when all of them answered OK; else -1
 * with the reason in ctl->err.  res must be freed with
 * cartbot_surreal_result_free() either way.
 */

int
cartbot_ctl_sql(cartbot_ctl_t *ctl, cartbot_surreal_query_t *q,
    cartbot_surreal_result_t *res)
{
    int                         try;
    const char                 *args;
    cartbot_ctl_http_t          http;
    cartbot_surreal_outcome_e   outcome;

    memset(res, 0, sizeof(cartbot_surreal_result_t));

    args = cartbot_buf_cstr(&q->args);

    if (q->failed || args == NULL) {
        cartbot_ctl_error(ctl, "cannot build the query (a variable is "
                          "invalid or too long)");
        return -1;
    }

    for (try = 1; /* void */; try++) {

        if (cartbot_ctl_http(ctl, "/sql", args, q->sql.data, q->sql.len,
                             &http)
            != 0)
        {
            return -1;
        }

        outcome = cartbot_surreal_parse(res, ctl->mem,
                                        (unsigned) http.status,
                                        http.body.data, http.body.len);

        if (outcome == CARTBOT_SURREAL_OK) {
            return 0;
        }

        if (outcome != CARTBOT_SURREAL_CONFLICT
            || try == CARTBOT_CTL_SQL_TRIES)
        {
            break;
        }

        cartbot_surreal_result_free(res);
        usleep(100000 * try);
    }

    cartbot_ctl_sql_error(ctl, &http, res);

    return -1;
}


static void
cartbot_ctl_sql_error(cartbot_ctl_t *ctl, cartbot_ctl_http_t *http,
    cartbot_surreal_result_t *res)
{
    int          n;
    size_t       i;
    const char  *kind;

    n = http->body.len > CARTBOT_CTL_EXCERPT ? CARTBOT_CTL_EXCERPT
                                             : (int) http->body.len;

    switch (res->outcome) {

    case CARTBOT_SURREAL_STATEMENT:
    case CARTBOT_SURREAL_CONFLICT:
        i = (size_t) (res->error - res->stmts);
        kind = res->error->kind;

        cartbot_ctl_error(ctl, "statement %zu of %zu failed: %s%s%s%s",
                          i + 1, res->nstmts,
                          kind ? "[" : "", kind ? kind : "", kind ? "] " : "",
                          res->error->message);
        break;

    case CARTBOT_SURREAL_AUTH:
        if (ctl->account) {
            cartbot_ctl_error(ctl, "authentication failed: %s refused the "
                              "%s account's token (HTTP 401)", ctl->url,
                              ctl->account);
            break;
        }

        cartbot_ctl_error(ctl, "authentication failed as user \"%s\" at %s "
                          "(HTTP 401): check the user and password",
                          ctl->user, ctl->url);
        break;

    case CARTBOT_SURREAL_FORBIDDEN:
    case CARTBOT_SURREAL_BAD_REQUEST:
        cartbot_ctl_error(ctl, "query refused (HTTP %ld): %s", http->status,
                          res->message);
        break;

    default:
        cartbot_ctl_error(ctl, "unexpected answer from %s/sql (HTTP %ld, "
                          "%s): %.*s", ctl->url, http->status,
                          res->message ? res->message : "?", n,
                          http->body.data ? http->body.data : "");
    }
}
