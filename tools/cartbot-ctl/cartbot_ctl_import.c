
/*
 * cartbot-ctl import FILE.json: loads a catalog, a JSON array of products
 * with the seed's fields, as the product service account.
 *
 *  1. The whole file is read, parsed and checked before anything is sent:
 *     each row against the schema's rules, with every reason kept by the
 *     line where the row's object starts.  A good row gets its record key
 *     (its "id", or a slug of its name) and a content hash: the SHA-256 of
 *     its fields in canonical form and the embedding model's name.
 *  2. It signs in with DIR/product.json (POST /signin, then Bearer): the
 *     product account owns the table, root is not used.
 *  3. --if-empty stops here when the product table has a row.
 *  4. Products stored with another embedding model are counted and
 *     reported.  Those the file holds are rewritten in step 5 (the model
 *     is part of the hash); the others are read back, re-embedded and
 *     written after it with their stored values.
 *  5. The good rows go in batches, --jobs of them at a time, each worker
 *     with a connection and a token of its own.  One SELECT reads the stored
 *     content_hash and embedding_model of a batch's keys; a row whose hash
 *     and model match is unchanged and not written (its updated_at stays).
 *     The others get their embedding and go in ONE statement,
 *     INSERT ... ON DUPLICATE KEY UPDATE (SurrealDB's bulk upsert), whose
 *     values are literals made only by cartbot_surreal_quote() and number
 *     formatting: the trusted bulk path of DESIGN §2 (a statement stays
 *     below the 1 MiB /sql limit, else it is split).  When the database
 *     refuses that statement, its rows are sent one by one so that each
 *     refused row is reported by its line and the others land.
 *
 * The workers share the counters, the rejects and the progress display
 * under one mutex; each batch is a disjoint slice of the rows.  The
 * embedding (cartbot_embed.h) has no global state.
 */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yajl/yajl_parse.h>

#include "cartbot_ctl.h"
#include "cartbot_embed.h"
#include "cartbot_product.h"


#define CARTBOT_CTL_MAX_CATALOG   (256 * 1024 * 1024)
#define CARTBOT_CTL_MAX_ACCOUNT   (64 * 1024)

/* a statement stays below SurrealDB's 1 MiB /sql body limit */
#define CARTBOT_CTL_MAX_SQL       (900 * 1024)

#define CARTBOT_CTL_BAR           30

/* the account the import signs in as */
#define CARTBOT_CTL_IMPORT_AS     "product"


typedef enum {
    CARTBOT_CTL_CREATE = 0,
    CARTBOT_CTL_UPDATE,
    CARTBOT_CTL_UNCHANGED
} cartbot_ctl_state_e;


typedef struct {
    cartbot_product_t       product;     /* its record key and fields */
    size_t                  line;        /* of the row; 0: a stored one */
    unsigned                other_model:1;   /* stored by another model */
    cartbot_ctl_state_e     state;
    char                    hash[CARTBOT_PRODUCT_HASH_HEX + 1];
} cartbot_ctl_product_t;


typedef struct {
    size_t                  line;
    const char             *key;         /* for stored products */
    const char             *reason;
} cartbot_ctl_reject_t;


typedef struct {
    const char             *key;
    size_t                  index;
} cartbot_ctl_ref_t;


typedef struct cartbot_ctl_import_s  cartbot_ctl_import_t;

/*
 * The import's state.  Each worker has a copy of it whose ctl is the
 * worker's own (connection, token, memory, error); what they share is
 * reached through "shared" (the original) under its lock.
 */

struct cartbot_ctl_import_s {
    cartbot_ctl_t          *ctl;
    cartbot_mem_t          *mem;         /* lives as long as the import */
    const char             *model;

    cartbot_ctl_import_t   *shared;
    pthread_mutex_t         lock;
    size_t                  next;        /* the next row to give out */
    unsigned                failed:1;

    cartbot_buf_t           account;     /* the /signin body */

    cartbot_ctl_product_t  *rows;        /* the good rows, in file order */
    size_t                  nrows;
    size_t                  total;       /* rows in the file */

    cartbot_ctl_reject_t   *rejects;
    size_t                  nrejects;
    size_t                  reject_cap;

    size_t                  created;
    size_t                  updated;
    size_t                  unchanged;
    size_t                  reembedded;  /* of the file's rows */
    size_t                  others;      /* stored products re-embedded */
    size_t                  old;         /* stored with another model */

    size_t                  done;
    int                     tty;
    int                     shown;       /* the last tenth printed */
    long                    start;
};


typedef struct {
    cartbot_ctl_import_t    imp;         /* the worker's copy */
    cartbot_ctl_t           ctl;
    cartbot_arena_t         arena;
    pthread_t               tid;
    unsigned                started:1;
} cartbot_ctl_worker_t;


static int cartbot_ctl_import_parse(cartbot_ctl_import_t *imp,
    cartbot_buf_t *text, yajl_val *root);
static size_t cartbot_ctl_import_offsets(cartbot_ctl_import_t *imp,
    const char *p, size_t len, size_t **offsets);
static size_t cartbot_ctl_import_syntax_line(const char *p, size_t len);
static void cartbot_ctl_import_dedupe(cartbot_ctl_import_t *imp);
static int cartbot_ctl_import_ref_cmp(const void *a, const void *b);
static int cartbot_ctl_import_hash(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t *p);
static int cartbot_ctl_import_reject(cartbot_ctl_import_t *imp, size_t line,
    const char *key, const char *reason);
static int cartbot_ctl_import_reject_locked(cartbot_ctl_import_t *s,
    size_t line, const char *key, const char *reason);
static int cartbot_ctl_import_signin(cartbot_ctl_import_t *imp);
static int cartbot_ctl_import_sql(cartbot_ctl_import_t *imp,
    cartbot_surreal_query_t *q, cartbot_surreal_result_t *res);
static int cartbot_ctl_import_has_rows(cartbot_ctl_import_t *imp);
static int cartbot_ctl_import_models(cartbot_ctl_import_t *imp);
static int cartbot_ctl_import_run(cartbot_ctl_import_t *imp);
static void *cartbot_ctl_import_worker(void *data);
static int cartbot_ctl_import_batch(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t *rows, size_t n);
static int cartbot_ctl_import_write(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t **list, size_t n);
static size_t cartbot_ctl_import_statement(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t **list, size_t n, cartbot_buf_t *sql);
static int cartbot_ctl_import_send(cartbot_ctl_import_t *imp,
    cartbot_buf_t *sql, cartbot_ctl_product_t **list, size_t n);
static int cartbot_ctl_import_one_by_one(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t **list, size_t n);
static int cartbot_ctl_import_literal(cartbot_ctl_import_t *imp,
    cartbot_buf_t *sql, cartbot_ctl_product_t *p);
static int cartbot_ctl_import_others(cartbot_ctl_import_t *imp);
static int cartbot_ctl_import_stored(cartbot_ctl_import_t *imp, yajl_val v,
    cartbot_ctl_product_t *p);
static void cartbot_ctl_import_progress(cartbot_ctl_import_t *imp);
static int cartbot_ctl_import_report(cartbot_ctl_import_t *imp, int failed);
static int cartbot_ctl_import_reject_cmp(const void *a, const void *b);


/* the upsert: for an id already taken, $input is the row given for it */

static const char  cartbot_ctl_import_tail[] =
    "\n] ON DUPLICATE KEY UPDATE\n"
    "    name = $input.name, description = $input.description,\n"
    "    specs = $input.specs, price = $input.price,\n"
    "    category = $input.category, sub_category = $input.sub_category,\n"
    "    score = $input.score, stock_quantity = $input.stock_quantity,\n"
    "    image_url = $input.image_url, embedding = $input.embedding,\n"
    "    embedding_model = $input.embedding_model,\n"
    "    content_hash = $input.content_hash\n"
    "RETURN VALUE record::id(id);\n";


int
cartbot_ctl_import(cartbot_ctl_t *ctl)
{
    int                    rc;
    yajl_val               root;
    cartbot_buf_t          text;
    cartbot_ctl_import_t   imp;
    pthread_mutex_t        init = PTHREAD_MUTEX_INITIALIZER;

    memset(&imp, 0, sizeof(cartbot_ctl_import_t));

    imp.lock = init;

    imp.ctl = ctl;
    imp.mem = ctl->mem;
    imp.shared = &imp;
    imp.model = cartbot_embed_model_name();
    imp.tty = isatty(STDERR_FILENO);
    imp.shown = -1;

    cartbot_buf_init(&text, imp.mem, 0);

    if (cartbot_ctl_read_file(ctl, ctl->file, CARTBOT_CTL_MAX_CATALOG, &text)
        != 0)
    {
        fprintf(stderr, "cartbot-ctl: import: %s\n", ctl->err);
        return CARTBOT_CTL_USAGE;
    }

    rc = cartbot_ctl_import_parse(&imp, &text, &root);

    if (rc != CARTBOT_CTL_OK) {
        return rc;
    }

    /* the database: sign in, then the checks that need it */

    rc = cartbot_ctl_import_signin(&imp);

    if (rc != CARTBOT_CTL_OK) {
        cartbot_json_free(root);
        return rc;
    }

    printf("import: %s, %zu row%s, as the %s account on %s/%s at %s\n",
           ctl->file, imp.total, imp.total == 1 ? "" : "s",
           CARTBOT_CTL_IMPORT_AS, ctl->ns, ctl->db, ctl->url);

    if (ctl->if_empty) {
        rc = cartbot_ctl_import_has_rows(&imp);

        if (rc == 1) {
            printf("import: the product table already has products: "
                   "nothing imported (--if-empty)\n");
            fflush(stdout);
            cartbot_json_free(root);
            return CARTBOT_CTL_OK;
        }

        if (rc != 0) {
            fprintf(stderr, "cartbot-ctl: import: %s\n", ctl->err);
            cartbot_json_free(root);
            return CARTBOT_CTL_FAILED;
        }
    }

    if (cartbot_ctl_import_models(&imp) != 0) {
        fprintf(stderr, "cartbot-ctl: import: %s\n", ctl->err);
        cartbot_json_free(root);
        return CARTBOT_CTL_FAILED;
    }

    fflush(stdout);

    imp.start = cartbot_ctl_now_ms();

    rc = cartbot_ctl_import_run(&imp);

    if (rc == 0 && imp.old) {
        rc = cartbot_ctl_import_others(&imp);
    }

    if (rc != 0) {
        if (imp.tty && imp.shown >= 0 && imp.done < imp.nrows) {
            fputc('\n', stderr);
        }

        fprintf(stderr, "cartbot-ctl: import: %s\n", ctl->err);
    }

    rc = cartbot_ctl_import_report(&imp, rc != 0);

    cartbot_json_free(root);

    return rc;
}


/*
 * Parses the file and checks every row: the good ones go to imp->rows,
 * the others to imp->rejects.  root is freed by the caller (the rows point
 * into it).
 */

static int
cartbot_ctl_import_parse(cartbot_ctl_import_t *imp, cartbot_buf_t *text,
    yajl_val *root)
{
    char                   *nl;
    size_t                  i, n, line, pos, *offsets;
    yajl_val                v;
    const char             *p;
    cartbot_buf_t             why;
    cartbot_ctl_product_t    *row;
    cartbot_product_error_t   err;
    char                      jerr[256];

    p = text->data ? text->data : "";
    n = text->len;

    /* a UTF-8 byte order mark is not JSON, but editors write it */

    if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        memset(text->data, ' ', 3);
    }

    v = cartbot_json_parse(p, n, jerr, sizeof(jerr));

    if (v == NULL) {
        nl = strchr(jerr, '\n');
        if (nl) {
            *nl = '\0';
        }

        fprintf(stderr, "cartbot-ctl: import: %s line %zu: not valid JSON "
                "(%s)\n", imp->ctl->file,
                cartbot_ctl_import_syntax_line(p, n), jerr);
        return CARTBOT_CTL_FAILED;
    }

    if (!YAJL_IS_ARRAY(v)) {
        cartbot_json_free(v);
        fprintf(stderr, "cartbot-ctl: import: %s must hold a JSON array of "
                "products, [{\"name\": ..., \"price\": ...}, ...]\n",
                imp->ctl->file);
        return CARTBOT_CTL_FAILED;
    }

    *root = v;
    imp->total = v->u.array.len;

    /* where each row starts; when that fails, rows are named by number */

    if (cartbot_ctl_import_offsets(imp, p, n, &offsets) != imp->total) {
        offsets = NULL;
    }

    imp->rows = cartbot_alloc(imp->mem, (imp->total + 1)
                                        * sizeof(cartbot_ctl_product_t));
    if (imp->rows == NULL) {
        goto nomem;
    }

    line = 1;
    pos = 0;

    for (i = 0; i < imp->total; i++) {

        if (offsets) {
            for ( /* void */ ; pos < offsets[i]; pos++) {
                line += (p[pos] == '\n');
            }
        }

        row = &imp->rows[imp->nrows];
        memset(row, 0, sizeof(cartbot_ctl_product_t));
        row->line = offsets ? line : i + 1;

        cartbot_buf_init(&why, imp->mem, 0);
        err.why = &why;

        /* the table's rules, as the admin API checks them */

        if (cartbot_product_check(imp->mem, v->u.array.values[i], 0,
                                  &row->product, &err)
            == 0)
        {
            imp->nrows++;
            continue;
        }

        if (why.failed || cartbot_buf_cstr(&why) == NULL
            || cartbot_ctl_import_reject(imp, row->line, NULL, why.data)
               != 0)
        {
            goto nomem;
        }
    }

    cartbot_ctl_import_dedupe(imp);

    for (i = 0; i < imp->nrows; i++) {
        if (cartbot_ctl_import_hash(imp, &imp->rows[i]) != 0) {
            goto nomem;
        }
    }

    return CARTBOT_CTL_OK;

nomem:

    cartbot_json_free(v);
    fprintf(stderr, "cartbot-ctl: import: out of memory\n");

    return CARTBOT_CTL_FAILED;
}


/*
 * The byte offsets where the elements of the top-level array start, for
 * valid JSON with yajl's comments.  Returns how many it found.
 */

static size_t
cartbot_ctl_import_offsets(cartbot_ctl_import_t *imp, const char *p,
    size_t len, size_t **offsets)
{
    int      depth, expect;
    char     c;
    size_t   i, n, cap, *off, *o;

    depth = 0;
    expect = 0;
    n = 0;
    cap = 0;
    off = NULL;
    *offsets = NULL;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        }

        if (c == '/' && i + 1 < len && p[i + 1] == '/') {
            while (i < len && p[i] != '\n') {
                i++;
            }

            continue;
        }

        if (c == '/' && i + 1 < len && p[i + 1] == '*') {
            for (i += 2; i + 1 < len; i++) {
                if (p[i] == '*' && p[i + 1] == '/') {
                    break;
                }
            }

            i++;
            continue;
        }

        if (depth == 1 && expect && c != ']') {
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;

                o = cartbot_alloc(imp->mem, cap * sizeof(size_t));
                if (o == NULL) {
                    return (size_t) -1;
                }

                if (n) {
                    memcpy(o, off, n * sizeof(size_t));
                }

                off = o;
            }

            off[n++] = i;
            expect = 0;
        }

        switch (c) {

        case '"':
            for (i++; i < len && p[i] != '"'; i++) {
                if (p[i] == '\\') {
                    i++;
                }
            }

            break;

        case '[':
        case '{':
            if (++depth == 1) {
                expect = 1;
            }

            break;

        case ']':
        case '}':
            depth--;
            break;

        case ',':
            expect = (depth == 1);
            break;
        }
    }

    *offsets = off;

    return n;
}


/* the line of a syntax error, as yajl (with comments, like yajl_tree) */

static size_t
cartbot_ctl_import_syntax_line(const char *p, size_t len)
{
    size_t         i, at, line;
    yajl_handle    h;
    yajl_status    st;

    h = yajl_alloc(NULL, NULL, NULL);
    if (h == NULL) {
        return 0;
    }

    yajl_config(h, yajl_allow_comments, 1);

    st = yajl_parse(h, (const unsigned char *) p, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    at = (st == yajl_status_ok) ? len : yajl_get_bytes_consumed(h);

    yajl_free(h);

    line = 1;

    for (i = 0; i < at && i < len; i++) {
        line += (p[i] == '\n');
    }

    return line;
}


/*
 * A key given twice: the first row (by line) keeps it, the later ones are
 * rejected.  Sorting references keeps this O(n log n) for big files.
 */

static void
cartbot_ctl_import_dedupe(cartbot_ctl_import_t *imp)
{
    size_t                  i, j, first;
    cartbot_buf_t           why;
    cartbot_ctl_ref_t      *refs;
    cartbot_ctl_product_t  *p;

    if (imp->nrows < 2) {
        return;
    }

    refs = cartbot_alloc(imp->mem, imp->nrows * sizeof(cartbot_ctl_ref_t));
    if (refs == NULL) {
        return;
    }

    for (i = 0; i < imp->nrows; i++) {
        refs[i].key = imp->rows[i].product.key;
        refs[i].index = i;
    }

    qsort(refs, imp->nrows, sizeof(cartbot_ctl_ref_t),
          cartbot_ctl_import_ref_cmp);

    first = 0;

    for (i = 1; i < imp->nrows; i++) {
        if (strcmp(refs[i].key, refs[first].key) != 0) {
            first = i;
            continue;
        }

        p = &imp->rows[refs[i].index];

        cartbot_buf_init(&why, imp->mem, 0);
        cartbot_buf_printf(&why, "duplicate id \"%s\"%s (already at line "
                           "%zu)", p->product.key,
                           p->product.derived
                           ? ", made from the name: give an \"id\"" : "",
                           imp->rows[refs[first].index].line);

        if (cartbot_buf_cstr(&why) != NULL) {
            cartbot_ctl_import_reject(imp, p->line, NULL, why.data);
        }

        p->product.key = NULL;
    }

    /* the remaining rows, still in file order */

    for (i = 0, j = 0; i < imp->nrows; i++) {
        if (imp->rows[i].product.key) {
            imp->rows[j++] = imp->rows[i];
        }
    }

    imp->nrows = j;
}


static int
cartbot_ctl_import_ref_cmp(const void *a, const void *b)
{
    int                       rc;
    const cartbot_ctl_ref_t  *ra = a, *rb = b;

    rc = strcmp(ra->key, rb->key);

    if (rc) {
        return rc;
    }

    return (ra->index > rb->index) - (ra->index < rb->index);
}


/* content_hash: of the row's fields and the model (cartbot_product.h) */

static int
cartbot_ctl_import_hash(cartbot_ctl_import_t *imp, cartbot_ctl_product_t *p)
{
    return cartbot_product_hash(&p->product, imp->model, p->hash);
}


static int
cartbot_ctl_import_reject(cartbot_ctl_import_t *imp, size_t line,
    const char *key, const char *reason)
{
    int  rc;

    pthread_mutex_lock(&imp->shared->lock);
    rc = cartbot_ctl_import_reject_locked(imp->shared, line, key, reason);
    pthread_mutex_unlock(&imp->shared->lock);

    return rc;
}


/* imp is the shared state, locked by the caller */

static int
cartbot_ctl_import_reject_locked(cartbot_ctl_import_t *imp, size_t line,
    const char *key, const char *reason)
{
    cartbot_ctl_reject_t  *r;

    if (imp->nrejects == imp->reject_cap) {
        imp->reject_cap = imp->reject_cap ? 2 * imp->reject_cap : 64;

        r = cartbot_alloc(imp->mem,
                          imp->reject_cap * sizeof(cartbot_ctl_reject_t));
        if (r == NULL) {
            return -1;
        }

        if (imp->nrejects) {
            memcpy(r, imp->rejects,
                   imp->nrejects * sizeof(cartbot_ctl_reject_t));
        }

        imp->rejects = r;
    }

    r = &imp->rejects[imp->nrejects];

    r->line = line;
    r->key = key ? cartbot_strndup(imp->mem, key, strlen(key)) : NULL;
    r->reason = cartbot_strndup(imp->mem, reason, strlen(reason));

    if (r->reason == NULL || (key && r->key == NULL)) {
        return -1;
    }

    imp->nrejects++;

    return 0;
}


/*
 * Reads DIR/product.json, written by `cartbot-ctl migrate --secrets DIR`,
 * and signs in with it.  The file must be for this namespace and
 * database: the token's win over the headers.
 */

static int
cartbot_ctl_import_signin(cartbot_ctl_import_t *imp)
{
    size_t          i;
    yajl_val        root;
    const char     *v;
    struct stat     st;
    cartbot_buf_t   path;
    cartbot_ctl_t  *ctl;
    char            jerr[128];

    struct {
        const char  *key;
        const char  *want;
    } checks[] = {
        { "ns", imp->ctl->ns },
        { "db", imp->ctl->db },
        { "user", CARTBOT_CTL_IMPORT_AS }
    };

    ctl = imp->ctl;

    cartbot_buf_init(&path, imp->mem, 0);
    cartbot_buf_printf(&path, "%s/%s.json", ctl->secrets,
                       CARTBOT_CTL_IMPORT_AS);

    if (cartbot_buf_cstr(&path) == NULL) {
        fprintf(stderr, "cartbot-ctl: import: out of memory\n");
        return CARTBOT_CTL_FAILED;
    }

    cartbot_buf_init(&imp->account, imp->mem, 0);

    if (cartbot_ctl_read_file(ctl, path.data, CARTBOT_CTL_MAX_ACCOUNT,
                              &imp->account)
        != 0)
    {
        fprintf(stderr, "cartbot-ctl: import: %s (the product account's "
                "file, made by `cartbot-ctl migrate --secrets %s`)\n",
                ctl->err, ctl->secrets);
        return CARTBOT_CTL_USAGE;
    }

    if (stat(path.data, &st) == 0 && (st.st_mode & 077)) {
        fprintf(stderr, "cartbot-ctl: warning: %s is readable by other "
                "users (mode %04o): chmod 600 it\n", path.data,
                (unsigned) (st.st_mode & 07777));
    }

    root = cartbot_json_parse(imp->account.data, imp->account.len, jerr,
                              sizeof(jerr));

    if (!YAJL_IS_OBJECT(root)) {
        cartbot_json_free(root);
        fprintf(stderr, "cartbot-ctl: import: %s is not a JSON object\n",
                path.data);
        return CARTBOT_CTL_USAGE;
    }

    for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        v = cartbot_json_get_string(root, checks[i].key);

        if (v == NULL || strcmp(v, checks[i].want) != 0) {
            fprintf(stderr, "cartbot-ctl: import: %s has \"%s\": \"%s\" "
                    "where \"%s\" is expected\n", path.data, checks[i].key,
                    v ? v : "(none)", checks[i].want);
            cartbot_json_free(root);
            return CARTBOT_CTL_USAGE;
        }
    }

    cartbot_json_free(root);

    if (cartbot_ctl_signin(ctl, CARTBOT_CTL_IMPORT_AS, imp->account.data,
                           imp->account.len)
        != 0)
    {
        fprintf(stderr, "cartbot-ctl: import: %s\n", ctl->err);
        return CARTBOT_CTL_FAILED;
    }

    return CARTBOT_CTL_OK;
}


/* cartbot_ctl_sql(), signing in again once when the token expired */

static int
cartbot_ctl_import_sql(cartbot_ctl_import_t *imp, cartbot_surreal_query_t *q,
    cartbot_surreal_result_t *res)
{
    int  rc;

    rc = cartbot_ctl_sql(imp->ctl, q, res);

    if (rc == 0 || res->outcome != CARTBOT_SURREAL_AUTH) {
        return rc;
    }

    cartbot_surreal_result_free(res);

    if (cartbot_ctl_signin(imp->ctl, CARTBOT_CTL_IMPORT_AS,
                           imp->account.data, imp->account.len)
        != 0)
    {
        return -1;
    }

    return cartbot_ctl_sql(imp->ctl, q, res);
}


/* 1: the product table has a row, 0: it has none, -1: error */

static int
cartbot_ctl_import_has_rows(cartbot_ctl_import_t *imp)
{
    int                        rc;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;

    if (cartbot_surreal_query_init(&q, imp->ctl->mem,
                                   "SELECT VALUE id FROM product LIMIT 1;")
        != 0)
    {
        cartbot_ctl_error(imp->ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_import_sql(imp, &q, &res);

    if (rc == 0) {
        rc = cartbot_json_array_len(cartbot_surreal_last(&res)) ? 1 : 0;
    }

    cartbot_surreal_result_free(&res);

    return rc;
}


/* products stored with another embedding model: say so, count them */

static int
cartbot_ctl_import_models(cartbot_ctl_import_t *imp)
{
    size_t                     i, n;
    yajl_val                   list, row;
    long long                  count;
    const char                *model;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;

    if (cartbot_surreal_query_init(&q, imp->ctl->mem,
            "SELECT embedding_model AS model, count() AS n FROM product\n"
            "    WHERE embedding_model != NONE AND embedding_model != $model\n"
            "    GROUP BY embedding_model;")
        != 0
        || cartbot_surreal_bind(&q, "model", imp->model, strlen(imp->model))
           != 0)
    {
        cartbot_ctl_error(imp->ctl, "out of memory");
        return -1;
    }

    if (cartbot_ctl_import_sql(imp, &q, &res) != 0) {
        cartbot_surreal_result_free(&res);
        return -1;
    }

    list = cartbot_surreal_last(&res);
    n = cartbot_json_array_len(list);

    for (i = 0; i < n; i++) {
        row = cartbot_json_array_at(list, i);
        model = cartbot_json_get_string(row, "model");

        if (model == NULL || cartbot_json_get_int(row, "n", &count) != 0) {
            continue;
        }

        printf("import: %lld product%s embedded with model \"%s\", not "
               "\"%s\": re-embedding %s\n", count, count == 1 ? " was" :
               "s were", model, imp->model, count == 1 ? "it" : "them");

        imp->old += (size_t) count;
    }

    cartbot_surreal_result_free(&res);

    return 0;
}


/*
 * The file's good rows, by --jobs workers.  Returns -1 when one of them
 * met an error that stops the import (the reason in imp->ctl->err).
 */

static int
cartbot_ctl_import_run(cartbot_ctl_import_t *imp)
{
    int                    rc;
    long                   i, jobs;
    cartbot_ctl_worker_t  *workers, *w;

    jobs = imp->ctl->jobs;

    /* no more workers than batches */

    if ((size_t) jobs > (imp->nrows + imp->ctl->batch - 1) / imp->ctl->batch)
    {
        jobs = (long) ((imp->nrows + imp->ctl->batch - 1) / imp->ctl->batch);
    }

    if (jobs == 0) {
        cartbot_ctl_import_progress(imp);
        return 0;
    }

    workers = cartbot_alloc(imp->mem, jobs * sizeof(cartbot_ctl_worker_t));
    if (workers == NULL) {
        cartbot_ctl_error(imp->ctl, "out of memory");
        return -1;
    }

    memset(workers, 0, jobs * sizeof(cartbot_ctl_worker_t));

    rc = 0;

    for (i = 0; i < jobs; i++) {
        w = &workers[i];

        w->imp = *imp;
        w->imp.ctl = &w->ctl;
        w->imp.shared = imp;

        w->ctl = *imp->ctl;
        w->ctl.curl = NULL;
        w->ctl.sql_headers = NULL;
        w->ctl.err[0] = '\0';

        cartbot_arena_init(&w->arena);
        w->ctl.mem = &w->arena.mem;

        if (pthread_create(&w->tid, NULL, cartbot_ctl_import_worker, w)
            != 0)
        {
            pthread_mutex_lock(&imp->lock);
            imp->failed = 1;
            cartbot_ctl_error(imp->ctl, "cannot start a worker thread");
            pthread_mutex_unlock(&imp->lock);
            rc = -1;
            break;
        }

        w->started = 1;
    }

    for (i = 0; i < jobs; i++) {
        w = &workers[i];

        if (w->started) {
            pthread_join(w->tid, NULL);
        }

        cartbot_arena_free(&w->arena);
    }

    if (imp->failed) {
        rc = -1;
    }

    return rc;
}


static void *
cartbot_ctl_import_worker(void *data)
{
    cartbot_ctl_worker_t  *w = data;

    int                    rc;
    size_t                 first, n;
    cartbot_ctl_t         *ctl;
    cartbot_ctl_import_t  *s;

    s = w->imp.shared;
    ctl = &w->ctl;

    rc = 0;
    ctl->curl = curl_easy_init();

    if (ctl->curl == NULL) {
        cartbot_ctl_error(ctl, "cannot initialize libcurl");
        rc = -1;

    } else {
        rc = cartbot_ctl_signin(ctl, CARTBOT_CTL_IMPORT_AS,
                                s->account.data, s->account.len);
    }

    while (rc == 0) {
        pthread_mutex_lock(&s->lock);

        if (s->failed || s->next >= s->nrows) {
            pthread_mutex_unlock(&s->lock);
            break;
        }

        first = s->next;
        n = s->nrows - first;

        if (n > (size_t) ctl->batch) {
            n = (size_t) ctl->batch;
        }

        s->next += n;

        pthread_mutex_unlock(&s->lock);

        rc = cartbot_ctl_import_batch(&w->imp, &s->rows[first], n);

        if (rc == 0) {
            pthread_mutex_lock(&s->lock);
            s->done += n;
            cartbot_ctl_import_progress(s);
            pthread_mutex_unlock(&s->lock);
        }
    }

    if (rc != 0) {
        pthread_mutex_lock(&s->lock);

        if (!s->failed) {
            s->failed = 1;
            memcpy(s->ctl->err, ctl->err, sizeof(ctl->err));
        }

        pthread_mutex_unlock(&s->lock);
    }

    if (ctl->sql_headers) {
        curl_slist_free_all(ctl->sql_headers);
    }

    if (ctl->curl) {
        curl_easy_cleanup(ctl->curl);
    }

    return NULL;
}


/*
 * One batch of the file's good rows: what is stored of them, then one
 * statement for those that are new or changed.  Its memory (the SQL, the
 * answers) is an arena of its own, freed at the end.
 */

static int
cartbot_ctl_import_batch(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t *rows, size_t n)
{
    int                        rc;
    size_t                     i, j, m, nstored;
    yajl_val                   stored, s;
    const char                *key, *hash, *model;
    cartbot_buf_t              sql;
    cartbot_mem_t             *saved;
    cartbot_arena_t            arena;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;
    cartbot_ctl_product_t    **list;

    cartbot_arena_init(&arena);
    saved = imp->ctl->mem;
    imp->ctl->mem = &arena.mem;

    rc = -1;

    /* the stored hash and model of each key; absent records are skipped */

    cartbot_buf_init(&sql, &arena.mem, 64 * n + 256);
    cartbot_buf_add_str(&sql, "SELECT record::id(id) AS k, content_hash,"
                        " embedding_model\n    FROM [");

    for (i = 0; i < n; i++) {
        cartbot_buf_add_str(&sql, i ? ", type::record('product', "
                                    : "type::record('product', ");
        cartbot_surreal_quote(&sql, rows[i].product.key,
                              strlen(rows[i].product.key));
        cartbot_buf_add_char(&sql, ')');
    }

    cartbot_buf_add_str(&sql, "]\n    WHERE id != NONE;");

    list = cartbot_alloc(&arena.mem, n * sizeof(cartbot_ctl_product_t *));

    if (list == NULL || sql.failed || cartbot_buf_cstr(&sql) == NULL
        || cartbot_surreal_query_init(&q, &arena.mem, sql.data) != 0)
    {
        cartbot_ctl_error(imp->ctl, "out of memory");
        goto done;
    }

    if (cartbot_ctl_import_sql(imp, &q, &res) != 0) {
        cartbot_surreal_result_free(&res);
        goto done;
    }

    for (i = 0; i < n; i++) {
        rows[i].state = CARTBOT_CTL_CREATE;
        rows[i].other_model = 0;
    }

    stored = cartbot_surreal_last(&res);
    nstored = cartbot_json_array_len(stored);

    for (j = 0; j < nstored; j++) {
        s = cartbot_json_array_at(stored, j);

        key = cartbot_json_get_string(s, "k");
        hash = cartbot_json_get_string(s, "content_hash");
        model = cartbot_json_get_string(s, "embedding_model");

        if (key == NULL) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (strcmp(rows[i].product.key, key) == 0) {
                break;
            }
        }

        if (i == n) {
            continue;
        }

        rows[i].other_model = (model && strcmp(model, imp->model) != 0);

        if (hash && model && strcmp(hash, rows[i].hash) == 0
            && strcmp(model, imp->model) == 0)
        {
            rows[i].state = CARTBOT_CTL_UNCHANGED;

        } else {
            rows[i].state = CARTBOT_CTL_UPDATE;
        }
    }

    cartbot_surreal_result_free(&res);

    m = 0;

    for (i = 0; i < n; i++) {
        if (rows[i].state != CARTBOT_CTL_UNCHANGED) {
            list[m++] = &rows[i];
        }
    }

    pthread_mutex_lock(&imp->shared->lock);
    imp->shared->unchanged += n - m;
    pthread_mutex_unlock(&imp->shared->lock);

    rc = cartbot_ctl_import_write(imp, list, m);

done:

    imp->ctl->mem = saved;
    cartbot_arena_free(&arena);

    return rc;
}


/*
 * Writes rows, as many per statement as fit below CARTBOT_CTL_MAX_SQL, and
 * counts them.  A statement the database refuses is tried again row by
 * row.  Returns -1 on an error that stops the import (network,
 * authentication, the database refusing every row alike).
 */

static int
cartbot_ctl_import_write(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t **list, size_t n)
{
    int            rc;
    size_t         i, used;
    cartbot_buf_t  sql;

    for (i = 0; i < n; i += used) {
        used = cartbot_ctl_import_statement(imp, &list[i], n - i, &sql);

        if (used == 0) {
            cartbot_ctl_error(imp->ctl, "out of memory");
            return -1;
        }

        rc = cartbot_ctl_import_send(imp, &sql, &list[i], used);

        if (rc == 1) {
            rc = cartbot_ctl_import_one_by_one(imp, &list[i], used);
        }

        if (rc != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * The INSERT of the first rows of list that fit below CARTBOT_CTL_MAX_SQL
 * (at least one); returns how many, 0 when out of memory.
 */

static size_t
cartbot_ctl_import_statement(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t **list, size_t n, cartbot_buf_t *sql)
{
    size_t  i, mark;

    cartbot_buf_init(sql, imp->ctl->mem, n > 1 ? 128 * 1024 : 8192);
    cartbot_buf_add_str(sql, "INSERT INTO product [\n");

    for (i = 0; i < n; i++) {
        mark = sql->len;

        if (i) {
            cartbot_buf_add_str(sql, ",\n");
        }

        if (cartbot_ctl_import_literal(imp, sql, list[i]) != 0) {
            return 0;
        }

        if (i && sql->len + sizeof(cartbot_ctl_import_tail)
                 > CARTBOT_CTL_MAX_SQL)
        {
            sql->len = mark;
            break;
        }
    }

    cartbot_buf_add_str(sql, cartbot_ctl_import_tail);

    if (sql->failed || cartbot_buf_cstr(sql) == NULL) {
        return 0;
    }

    return i;
}


/*
 * Sends one INSERT of n rows and counts them.  Returns 0; 1 when the
 * database refused the statement (a row's value: the reason is in
 * ctl->err); -1 on other errors.
 */

static int
cartbot_ctl_import_send(cartbot_ctl_import_t *imp, cartbot_buf_t *sql,
    cartbot_ctl_product_t **list, size_t n)
{
    int                        rc;
    size_t                     i, got;
    const char                *why;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;

    if (cartbot_surreal_query_init(&q, imp->ctl->mem, sql->data) != 0) {
        cartbot_ctl_error(imp->ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_import_sql(imp, &q, &res);

    if (rc != 0) {
        rc = -1;

        if (res.outcome == CARTBOT_SURREAL_STATEMENT && res.error) {
            why = cartbot_surreal_thrown(res.error);
            cartbot_ctl_error(imp->ctl, "%s", why ? why : "refused");
            rc = 1;
        }

        cartbot_surreal_result_free(&res);

        return rc;
    }

    /* every row comes back: a write refused in silence would not */

    got = cartbot_json_array_len(cartbot_surreal_last(&res));

    cartbot_surreal_result_free(&res);

    if (got != n) {
        cartbot_ctl_error(imp->ctl, "the database wrote %zu of %zu rows "
                          "without an error", got, n);
        return -1;
    }

    pthread_mutex_lock(&imp->shared->lock);

    for (i = 0; i < n; i++) {
        if (list[i]->line == 0) {
            imp->shared->others++;

        } else if (list[i]->state == CARTBOT_CTL_CREATE) {
            imp->shared->created++;

        } else {
            imp->shared->updated++;
            imp->shared->reembedded += list[i]->other_model;
        }
    }

    pthread_mutex_unlock(&imp->shared->lock);

    return 0;
}


/*
 * After a refused statement: each row alone, so that the refused ones are
 * reported (by line) and the others land.  When the database refuses
 * every row for the same reason, the reason is not the rows' (a missing
 * migration, say): that stops the import, and they are not reported.
 */

static int
cartbot_ctl_import_one_by_one(cartbot_ctl_import_t *imp,
    cartbot_ctl_product_t **list, size_t n)
{
    int                     rc, alike;
    size_t                  i, refused;
    const char            **why;
    cartbot_buf_t           sql, b;
    cartbot_ctl_import_t   *s;

    refused = 0;
    alike = 1;

    why = cartbot_alloc(imp->ctl->mem, n * sizeof(const char *));
    if (why == NULL) {
        cartbot_ctl_error(imp->ctl, "out of memory");
        return -1;
    }

    for (i = 0; i < n; i++) {
        why[i] = NULL;

        if (cartbot_ctl_import_statement(imp, &list[i], 1, &sql) != 1) {
            cartbot_ctl_error(imp->ctl, "out of memory");
            return -1;
        }

        rc = cartbot_ctl_import_send(imp, &sql, &list[i], 1);

        if (rc == -1) {
            return -1;
        }

        if (rc == 0) {
            continue;
        }

        cartbot_buf_init(&b, imp->ctl->mem, 0);
        cartbot_buf_add_str(&b, imp->ctl->err);

        why[i] = cartbot_buf_cstr(&b);

        if (why[i] == NULL) {
            cartbot_ctl_error(imp->ctl, "out of memory");
            return -1;
        }

        if (refused++ && alike) {
            alike = (strcmp(why[i], why[0]) == 0);
        }
    }

    if (n > 1 && refused == n && alike) {
        cartbot_ctl_error(imp->ctl, "the database refused every row of a "
                          "batch with: %s (are the migrations applied?)",
                          why[0]);
        return -1;
    }

    s = imp->shared;
    rc = 0;

    pthread_mutex_lock(&s->lock);

    for (i = 0; i < n && rc == 0; i++) {
        if (why[i] == NULL) {
            continue;
        }

        cartbot_buf_init(&b, imp->ctl->mem, 0);
        cartbot_buf_printf(&b, "the database refused it: %s", why[i]);

        rc = (cartbot_buf_cstr(&b) == NULL) ? -1
             : cartbot_ctl_import_reject_locked(s, list[i]->line,
                                         list[i]->line ? NULL
                                                       : list[i]->product.key,
                                         b.data);
    }

    pthread_mutex_unlock(&s->lock);

    if (rc != 0) {
        cartbot_ctl_error(imp->ctl, "out of memory");
    }

    return rc;
}


/*
 * One row as a SurrealQL object literal: strings only through
 * cartbot_surreal_quote(), numbers only through number formatting, the
 * key checked to be [A-Za-z0-9_]{1,64} and quoted all the same.
 */

static int
cartbot_ctl_import_literal(cartbot_ctl_import_t *imp, cartbot_buf_t *sql,
    cartbot_ctl_product_t *p)
{
    size_t                   i, tokens;
    cartbot_product_t       *pr;
    float                    vec[CARTBOT_EMBED_DIM];

    pr = &p->product;
    tokens = cartbot_product_embed(pr, vec);

    cartbot_buf_add_str(sql, "{id: type::record('product', ");

    if (cartbot_surreal_quote(sql, pr->key, strlen(pr->key)) != 0) {
        return -1;
    }

    cartbot_buf_add_str(sql, ")");

    for (i = 0; i < CARTBOT_PRODUCT_NTEXT; i++) {
        if (pr->text[i] == NULL) {
            continue;
        }

        cartbot_buf_printf(sql, ", %s: ", cartbot_product_text_key(i));

        if (cartbot_surreal_quote(sql, pr->text[i], strlen(pr->text[i])) != 0)
        {
            return -1;
        }
    }

    cartbot_buf_add_str(sql, ", price: ");
    cartbot_product_add_number(sql, pr->price);

    if (pr->has_score) {
        cartbot_buf_add_str(sql, ", score: ");
        cartbot_product_add_number(sql, pr->score);
    }

    cartbot_buf_printf(sql, ", stock_quantity: %lld", pr->stock);

    /* no usable word: no vector (the fallback vector would mislead) */

    if (tokens) {
        cartbot_buf_add_str(sql, ",\n  embedding: ");
        cartbot_embed_add_json(sql, vec, CARTBOT_EMBED_DIM);
    }

    cartbot_buf_add_str(sql, ",\n  embedding_model: ");
    cartbot_surreal_quote(sql, imp->model, strlen(imp->model));
    cartbot_buf_add_str(sql, ", content_hash: ");
    cartbot_surreal_quote(sql, p->hash, strlen(p->hash));
    cartbot_buf_add_char(sql, '}');

    return sql->failed ? -1 : 0;
}


/*
 * Products of another embedding model that the file did not rewrite:
 * read back a batch at a time, re-embedded and written with their own
 * values.  Each round removes what it wrote from the next one's SELECT;
 * a round that cannot write everything ends the loop.
 */

static int
cartbot_ctl_import_others(cartbot_ctl_import_t *imp)
{
    int                        rc;
    size_t                     round, rounds, i, n, m, rejects;
    yajl_val                   list;
    cartbot_buf_t              sql;
    cartbot_mem_t             *saved;
    cartbot_arena_t            arena;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;
    cartbot_ctl_product_t     *rows, **refs;

    rounds = imp->old / (size_t) imp->ctl->batch + 2;
    rc = 0;

    for (round = 0; round < rounds; round++) {
        cartbot_arena_init(&arena);
        saved = imp->ctl->mem;
        imp->ctl->mem = &arena.mem;

        cartbot_buf_init(&sql, &arena.mem, 0);
        cartbot_buf_printf(&sql,
            "SELECT record::id(id) AS k, name, description, specs, price,\n"
            "    category, sub_category, score, stock_quantity, image_url\n"
            "    FROM product\n"
            "    WHERE embedding_model != NONE AND embedding_model != $model\n"
            "    LIMIT %ld;", imp->ctl->batch);

        if (cartbot_buf_cstr(&sql) == NULL
            || cartbot_surreal_query_init(&q, &arena.mem, sql.data) != 0
            || cartbot_surreal_bind(&q, "model", imp->model,
                                    strlen(imp->model)) != 0)
        {
            cartbot_ctl_error(imp->ctl, "out of memory");
            rc = -1;
            goto next;
        }

        if (cartbot_ctl_import_sql(imp, &q, &res) != 0) {
            cartbot_surreal_result_free(&res);
            rc = -1;
            goto next;
        }

        list = cartbot_surreal_last(&res);
        n = cartbot_json_array_len(list);

        rows = cartbot_alloc(&arena.mem,
                             (n + 1) * sizeof(cartbot_ctl_product_t));
        refs = cartbot_alloc(&arena.mem,
                             (n + 1) * sizeof(cartbot_ctl_product_t *));

        if (rows == NULL || refs == NULL) {
            cartbot_surreal_result_free(&res);
            cartbot_ctl_error(imp->ctl, "out of memory");
            rc = -1;
            goto next;
        }

        rejects = imp->nrejects;
        m = 0;

        for (i = 0; i < n; i++) {
            if (cartbot_ctl_import_stored(imp, cartbot_json_array_at(list, i),
                                          &rows[m])
                == 0)
            {
                refs[m] = &rows[m];
                m++;
            }
        }

        if (m) {
            rc = cartbot_ctl_import_write(imp, refs, m);
        }

        cartbot_surreal_result_free(&res);

        if (rc == 0 && (n == 0 || m < n || imp->nrejects > rejects)) {
            /* all done, or what is left would come back */
            round = rounds;
        }

    next:

        imp->ctl->mem = saved;
        cartbot_arena_free(&arena);

        if (rc != 0) {
            return -1;
        }
    }

    return 0;
}


/* a stored product, as a row to re-embed; -1 (reported) if unreadable */

static int
cartbot_ctl_import_stored(cartbot_ctl_import_t *imp, yajl_val v,
    cartbot_ctl_product_t *p)
{
    size_t       i;
    yajl_val     f;
    const char  *key;

    memset(p, 0, sizeof(cartbot_ctl_product_t));

    key = cartbot_json_get_string(v, "k");

    if (key == NULL) {
        return -1;
    }

    p->product.key = key;
    p->state = CARTBOT_CTL_UPDATE;
    p->other_model = 1;

    for (i = 0; i < CARTBOT_PRODUCT_NTEXT; i++) {
        p->product.text[i] = cartbot_json_get_string(v,
                                                 cartbot_product_text_key(i));
    }

    f = cartbot_json_get(v, "price");

    if (p->product.text[CARTBOT_PRODUCT_NAME] == NULL || !YAJL_IS_DOUBLE(f)) {
        cartbot_ctl_import_reject(imp, 0, key, "cannot be re-embedded: "
                                  "no name or no price");
        return -1;
    }

    p->product.price = f->u.number.d;

    f = cartbot_json_get(v, "score");

    if (YAJL_IS_DOUBLE(f)) {
        p->product.score = f->u.number.d;
        p->product.has_score = 1;
    }

    f = cartbot_json_get(v, "stock_quantity");

    if (YAJL_IS_INTEGER(f)) {
        p->product.stock = f->u.number.i;
    }

    if (cartbot_ctl_import_hash(imp, p) != 0) {
        cartbot_ctl_import_reject(imp, 0, key, "out of memory");
        return -1;
    }

    return 0;
}


/* a bar on a terminal, else a line at each tenth */

static void
cartbot_ctl_import_progress(cartbot_ctl_import_t *imp)
{
    int          pct, fill;
    long         ms;
    size_t       total, done;
    static char  bar[] = "##############################"
                         "------------------------------";

    total = imp->nrows;
    done = imp->done;
    pct = total ? (int) (done * 100 / total) : 100;
    ms = cartbot_ctl_now_ms() - imp->start;

    if (imp->tty) {
        fill = total ? (int) (done * CARTBOT_CTL_BAR / total)
                     : CARTBOT_CTL_BAR;

        fprintf(stderr, "\rimport [%.*s] %zu/%zu %3d%% %6.0f rows/s",
                CARTBOT_CTL_BAR, bar + CARTBOT_CTL_BAR - fill, done, total,
                pct, ms > 0 ? (double) done * 1000 / ms : 0.0);

        if (done == total) {
            fputc('\n', stderr);
        }

        imp->shown = pct;

    } else if (pct / 10 > imp->shown) {
        fprintf(stderr, "import: %zu/%zu rows (%d%%)\n", done, total, pct);
        imp->shown = pct / 10;
    }

    fflush(stderr);
}


static int
cartbot_ctl_import_report(cartbot_ctl_import_t *imp, int failed)
{
    long     ms;
    size_t   i, rejected;
    double   s;

    ms = cartbot_ctl_now_ms() - imp->start;
    s = (double) ms / 1000;

    if (imp->nrejects) {
        qsort(imp->rejects, imp->nrejects, sizeof(cartbot_ctl_reject_t),
              cartbot_ctl_import_reject_cmp);
    }

    rejected = 0;

    for (i = 0; i < imp->nrejects; i++) {
        if (imp->rejects[i].line) {
            printf("line %zu: %s\n", imp->rejects[i].line,
                   imp->rejects[i].reason);
            rejected++;

        } else {
            printf("product:%s: %s\n", imp->rejects[i].key,
                   imp->rejects[i].reason);
        }
    }

    printf("import: %zu of %zu good rows done in %.2f s (%.0f rows/s), "
           "%zu written\n", imp->done, imp->nrows, s,
           ms > 0 ? (double) imp->done * 1000 / ms : 0.0,
           imp->created + imp->updated);

    if (imp->old) {
        printf("import: re-embedded with model \"%s\": %zu of the file's "
               "rows, %zu other stored products\n", imp->model,
               imp->reembedded, imp->others);
    }

    if (failed) {
        printf("import: stopped by an error (see above)\n");
    }

    printf("import: %zu created, %zu updated, %zu unchanged, %zu rejected\n",
           imp->created, imp->updated, imp->unchanged, rejected);
    fflush(stdout);

    return (failed || imp->nrejects) ? CARTBOT_CTL_FAILED : CARTBOT_CTL_OK;
}


/* by line; stored products (line 0) after the file's rows */

static int
cartbot_ctl_import_reject_cmp(const void *a, const void *b)
{
    size_t                       la, lb;
    const cartbot_ctl_reject_t  *ra = a, *rb = b;

    la = ra->line ? ra->line : (size_t) -1;
    lb = rb->line ? rb->line : (size_t) -1;

    return (la > lb) - (la < lb);
}
