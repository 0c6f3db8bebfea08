
/*
 * cartbot-ctl: the administration command line of Cartbot.
 *
 * It talks to SurrealDB's HTTP API with libcurl, as root (Basic
 * authentication) for migrate and health, and as the product service
 * account (Bearer token from /signin) for import; it builds and classifies
 * its requests with the shared core (cartbot_surreal.h).  It is never
 * linked into an nginx worker.
 */

#ifndef _CARTBOT_CTL_H_INCLUDED_
#define _CARTBOT_CTL_H_INCLUDED_


#include <stddef.h>

#include <curl/curl.h>

#include "cartbot_buf.h"
#include "cartbot_json.h"
#include "cartbot_surreal.h"


/* exit statuses */
#define CARTBOT_CTL_OK           0
#define CARTBOT_CTL_FAILED       1     /* database, network, migration */
#define CARTBOT_CTL_USAGE        2     /* command line or configuration */

#define CARTBOT_CTL_ERRLEN       4096

/* a write conflict ("can be retried") is retried this many times */
#define CARTBOT_CTL_SQL_TRIES    3

/* import: rows per request */
#define CARTBOT_CTL_BATCH        100
#define CARTBOT_CTL_MAX_BATCH    1000

/* import: batches in flight at once */
#define CARTBOT_CTL_JOBS         2
#define CARTBOT_CTL_MAX_JOBS     16


typedef struct {
    const char             *url;          /* no trailing '/' */
    const char             *ns;
    const char             *db;
    const char             *user;
    const char             *pass;
    const char             *migrations;
    const char             *secrets;      /* NULL: no account provisioning */
    long                    timeout;      /* seconds, per HTTP request */

    const char             *file;         /* import */
    long                    batch;
    long                    jobs;
    unsigned                if_empty:1;

    const char             *account;      /* signed in as; NULL: Basic */

    CURL                   *curl;
    struct curl_slist      *sql_headers;  /* Basic or Bearer, ns, db, ... */

    cartbot_arena_t         arena;
    cartbot_mem_t          *mem;

    char                    err[CARTBOT_CTL_ERRLEN];
} cartbot_ctl_t;


typedef struct {
    long                    status;       /* HTTP status */
    cartbot_buf_t           body;
    long                    ms;           /* wall time of the exchange */
} cartbot_ctl_http_t;


/* cartbot_ctl_http.c */
int cartbot_ctl_http_init(cartbot_ctl_t *ctl);
void cartbot_ctl_http_done(cartbot_ctl_t *ctl);
int cartbot_ctl_http(cartbot_ctl_t *ctl, const char *path, const char *args,
    const char *body, size_t len, cartbot_ctl_http_t *res);
int cartbot_ctl_sql(cartbot_ctl_t *ctl, cartbot_surreal_query_t *q,
    cartbot_surreal_result_t *res);
int cartbot_ctl_signin(cartbot_ctl_t *ctl, const char *account,
    const char *body, size_t len);
long cartbot_ctl_now_ms(void);

/* cartbot_ctl_migrate.c */
int cartbot_ctl_migrate(cartbot_ctl_t *ctl);

/* cartbot_ctl_accounts.c */
int cartbot_ctl_accounts(cartbot_ctl_t *ctl);

/* cartbot_ctl_import.c */
int cartbot_ctl_import(cartbot_ctl_t *ctl);

/* cartbot_ctl_health.c */
int cartbot_ctl_health(cartbot_ctl_t *ctl);

/* cartbot_ctl.c */
void cartbot_ctl_error(cartbot_ctl_t *ctl, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
int cartbot_ctl_read_file(cartbot_ctl_t *ctl, const char *path,
    size_t max, cartbot_buf_t *out);


#endif /* _CARTBOT_CTL_H_INCLUDED_ */
