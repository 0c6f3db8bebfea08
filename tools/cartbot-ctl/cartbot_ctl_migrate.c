
/*
 * cartbot-ctl migrate: applies the *.surql files of the migrations
 * directory in name order, each file as one POST /sql, and records each
 * applied file in the "migration" table with its SHA-256.  A recorded file
 * is skipped; a recorded file that changed is refused before anything is
 * applied.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "cartbot_ctl.h"


/* SurrealDB's /sql body limit is 1 MiB by default */
#define CARTBOT_CTL_MAX_MIGRATION  (4 * 1024 * 1024)

#define CARTBOT_CTL_SHA256_HEX     (2 * 32)


typedef struct {
    const char             *name;         /* file name, the record key */
    const char             *path;
    cartbot_buf_t           text;
    char                    sha256[CARTBOT_CTL_SHA256_HEX + 1];
    const char             *recorded;     /* recorded checksum, or NULL */
    const char             *applied_at;
} cartbot_ctl_migration_t;


/*
 * PERMISSIONS NONE: record users (the services) can neither see nor touch
 * it; only system users, who bypass table permissions, can.
 */

static const char  cartbot_ctl_migration_bootstrap[] =
    "DEFINE TABLE OVERWRITE migration SCHEMAFULL PERMISSIONS NONE;\n"
    "DEFINE FIELD OVERWRITE name ON migration TYPE string;\n"
    "DEFINE FIELD OVERWRITE checksum ON migration TYPE string;\n"
    "DEFINE FIELD OVERWRITE applied_at ON migration TYPE datetime\n"
    "    DEFAULT time::now() READONLY;\n"
    "SELECT name, checksum, <string> applied_at AS applied_at\n"
    "    FROM migration ORDER BY name;\n";

static const char  cartbot_ctl_migration_record[] =
    "CREATE type::record('migration', $name)\n"
    "    SET name = $name, checksum = $checksum RETURN NONE;\n";


static int cartbot_ctl_migration_list(cartbot_ctl_t *ctl,
    cartbot_ctl_migration_t **list, size_t *n);
static int cartbot_ctl_migration_cmp(const void *a, const void *b);
static int cartbot_ctl_migration_load(cartbot_ctl_t *ctl,
    cartbot_ctl_migration_t *m);
static int cartbot_ctl_migration_recorded(cartbot_ctl_t *ctl,
    cartbot_ctl_migration_t *list, size_t n);
static int cartbot_ctl_migration_apply(cartbot_ctl_t *ctl,
    cartbot_ctl_migration_t *m);


int
cartbot_ctl_migrate(cartbot_ctl_t *ctl)
{
    size_t                    i, n, applied, skipped, changed;
    const char               *last;
    cartbot_ctl_migration_t  *list, *m;

    if (cartbot_ctl_migration_list(ctl, &list, &n) != 0) {
        fprintf(stderr, "cartbot-ctl: %s\n", ctl->err);
        return CARTBOT_CTL_FAILED;
    }

    for (i = 0; i < n; i++) {
        if (cartbot_ctl_migration_load(ctl, &list[i]) != 0) {
            fprintf(stderr, "cartbot-ctl: %s\n", ctl->err);
            return CARTBOT_CTL_FAILED;
        }
    }

    if (cartbot_ctl_migration_recorded(ctl, list, n) != 0) {
        fprintf(stderr, "cartbot-ctl: migrate: %s\n", ctl->err);
        return CARTBOT_CTL_FAILED;
    }

    printf("migrate: %s/%s at %s, %zu migration%s in %s\n", ctl->ns, ctl->db,
           ctl->url, n, n == 1 ? "" : "s", ctl->migrations);

    /* a changed migration is refused before anything else is applied */

    changed = 0;

    for (i = 0; i < n; i++) {
        m = &list[i];

        if (m->recorded && strcmp(m->recorded, m->sha256) != 0) {
            fprintf(stderr, "cartbot-ctl: migration %s changed after it was "
                    "applied (recorded sha256 %s, file sha256 %s): restore "
                    "it and put the change in a new migration\n",
                    m->name, m->recorded, m->sha256);
            changed++;
        }
    }

    if (changed) {
        fprintf(stderr, "cartbot-ctl: migrate refused: %zu applied "
                "migration%s changed, nothing applied\n",
                changed, changed == 1 ? "" : "s");
        return CARTBOT_CTL_FAILED;
    }

    /* the last applied one: new files sorting before it come late */

    last = NULL;

    for (i = n; i > 0; i--) {
        if (list[i - 1].recorded) {
            last = list[i - 1].name;
            break;
        }
    }

    applied = 0;
    skipped = 0;

    for (i = 0; i < n; i++) {
        m = &list[i];

        if (m->recorded) {
            printf("skipped  %s (applied %s)\n", m->name,
                   m->applied_at ? m->applied_at : "earlier");
            skipped++;
            continue;
        }

        if (last && strcmp(m->name, last) < 0) {
            fprintf(stderr, "cartbot-ctl: warning: %s is applied after %s, "
                    "which sorts after it\n", m->name, last);
        }

        if (cartbot_ctl_migration_apply(ctl, m) != 0) {
            fprintf(stderr, "cartbot-ctl: migration %s failed: %s\n",
                    m->name, ctl->err);
            printf("migrate: failed at %s after %zu applied, %zu skipped\n",
                   m->name, applied, skipped);
            return CARTBOT_CTL_FAILED;
        }

        applied++;
    }

    if (applied == 0) {
        printf("migrate: nothing to apply, %zu already applied\n", skipped);

    } else {
        printf("migrate: %zu applied, %zu skipped\n", applied, skipped);
    }

    fflush(stdout);

    return CARTBOT_CTL_OK;
}


static int
cartbot_ctl_migration_list(cartbot_ctl_t *ctl, cartbot_ctl_migration_t **list,
    size_t *n)
{
    DIR                      *dir;
    size_t                    len, cap, count;
    struct stat               st;
    cartbot_buf_t             path;
    struct dirent            *de;
    cartbot_ctl_migration_t  *l, *nl;

    dir = opendir(ctl->migrations);
    if (dir == NULL) {
        cartbot_ctl_error(ctl, "cannot open the migrations directory %s: %s",
                          ctl->migrations, strerror(errno));
        return -1;
    }

    l = NULL;
    count = 0;
    cap = 0;

    while ((de = readdir(dir)) != NULL) {
        len = strlen(de->d_name);

        /* NNNN_name.surql; hidden files (editors' temporaries) are not */

        if (de->d_name[0] == '.' || len <= 6
            || strcmp(de->d_name + len - 6, ".surql") != 0)
        {
            continue;
        }

        cartbot_buf_init(&path, ctl->mem, 0);
        cartbot_buf_printf(&path, "%s/%s", ctl->migrations, de->d_name);

        if (cartbot_buf_cstr(&path) == NULL) {
            goto nomem;
        }

        if (stat(path.data, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }

        if (count == cap) {
            cap = cap ? cap * 2 : 16;

            nl = cartbot_alloc(ctl->mem,
                               cap * sizeof(cartbot_ctl_migration_t));
            if (nl == NULL) {
                goto nomem;
            }

            if (count) {
                memcpy(nl, l, count * sizeof(cartbot_ctl_migration_t));
            }

            l = nl;
        }

        memset(&l[count], 0, sizeof(cartbot_ctl_migration_t));

        l[count].name = cartbot_strndup(ctl->mem, de->d_name, len);
        l[count].path = path.data;

        if (l[count].name == NULL) {
            goto nomem;
        }

        count++;
    }

    closedir(dir);

    if (count) {
        qsort(l, count, sizeof(cartbot_ctl_migration_t),
              cartbot_ctl_migration_cmp);
    }

    *list = l;
    *n = count;

    return 0;

nomem:

    closedir(dir);
    cartbot_ctl_error(ctl, "out of memory");

    return -1;
}


static int
cartbot_ctl_migration_cmp(const void *a, const void *b)
{
    const cartbot_ctl_migration_t  *ma = a, *mb = b;

    return strcmp(ma->name, mb->name);
}


static int
cartbot_ctl_migration_load(cartbot_ctl_t *ctl, cartbot_ctl_migration_t *m)
{
    size_t         i;
    unsigned int   mdlen;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    cartbot_buf_init(&m->text, ctl->mem, 0);

    if (cartbot_ctl_read_file(ctl, m->path, CARTBOT_CTL_MAX_MIGRATION,
                              &m->text)
        != 0)
    {
        return -1;
    }

    if (cartbot_buf_cstr(&m->text) == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    if (memchr(m->text.data, '\0', m->text.len) != NULL) {
        cartbot_ctl_error(ctl, "%s contains a NUL byte", m->path);
        return -1;
    }

    if (EVP_Digest(m->text.data, m->text.len, md, &mdlen, EVP_sha256(), NULL)
        != 1)
    {
        cartbot_ctl_error(ctl, "cannot compute the SHA-256 of %s", m->path);
        return -1;
    }

    for (i = 0; i < mdlen && i < 32; i++) {
        m->sha256[2 * i] = hex[md[i] >> 4];
        m->sha256[2 * i + 1] = hex[md[i] & 0xf];
    }

    m->sha256[2 * i] = '\0';

    return 0;
}


/*
 * Defines the "migration" table if needed and reads what it records.  A
 * recorded migration without a file is reported, not fatal: the file may
 * have been renamed after it was applied.
 */

static int
cartbot_ctl_migration_recorded(cartbot_ctl_t *ctl,
    cartbot_ctl_migration_t *list, size_t n)
{
    int                        rc;
    size_t                     i, j, rows;
    yajl_val                   row;
    const char                *name;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;

    if (cartbot_surreal_query_init(&q, ctl->mem,
                                   cartbot_ctl_migration_bootstrap)
        != 0)
    {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_sql(ctl, &q, &res);

    if (rc == 0 && res.nstmts == 0) {
        cartbot_ctl_error(ctl, "the database answered no statement");
        rc = -1;
    }

    if (rc != 0) {
        cartbot_surreal_result_free(&res);
        return -1;
    }

    /* the SELECT is the last statement */

    rows = cartbot_json_array_len(res.stmts[res.nstmts - 1].result);

    for (j = 0; j < rows; j++) {
        row = cartbot_json_array_at(res.stmts[res.nstmts - 1].result, j);

        name = cartbot_json_get_string(row, "name");
        if (name == NULL) {
            continue;
        }

        for (i = 0; i < n; i++) {
            if (strcmp(list[i].name, name) == 0) {
                break;
            }
        }

        if (i == n) {
            fprintf(stderr, "cartbot-ctl: warning: migration %s is recorded "
                    "as applied but has no file in %s\n", name,
                    ctl->migrations);
            continue;
        }

        name = cartbot_json_get_string(row, "checksum");
        list[i].recorded = cartbot_strndup(ctl->mem, name ? name : "",
                                           name ? strlen(name) : 0);

        name = cartbot_json_get_string(row, "applied_at");
        if (name) {
            list[i].applied_at = cartbot_strndup(ctl->mem, name,
                                                 strlen(name));
        }

        if (list[i].recorded == NULL) {
            cartbot_surreal_result_free(&res);
            cartbot_ctl_error(ctl, "out of memory");
            return -1;
        }
    }

    cartbot_surreal_result_free(&res);

    return 0;
}


static int
cartbot_ctl_migration_apply(cartbot_ctl_t *ctl, cartbot_ctl_migration_t *m)
{
    int                        rc;
    long                       start;
    size_t                     nstmts;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;
    char                       err[CARTBOT_CTL_ERRLEN / 2];

    start = cartbot_ctl_now_ms();

    /* the file as it is, without variables */

    if (cartbot_surreal_query_init(&q, ctl->mem, m->text.data) != 0) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_sql(ctl, &q, &res);
    nstmts = res.nstmts;
    cartbot_surreal_result_free(&res);

    if (rc != 0) {
        return -1;
    }

    /* recorded only once every statement of the file answered OK */

    if (cartbot_surreal_query_init(&q, ctl->mem,
                                   cartbot_ctl_migration_record) != 0
        || cartbot_surreal_bind(&q, "name", m->name, strlen(m->name)) != 0
        || cartbot_surreal_bind(&q, "checksum", m->sha256,
                                strlen(m->sha256)) != 0)
    {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_sql(ctl, &q, &res);
    cartbot_surreal_result_free(&res);

    if (rc != 0) {
        memcpy(err, ctl->err, sizeof(err) - 1);
        err[sizeof(err) - 1] = '\0';

        cartbot_ctl_error(ctl, "applied, but could not be recorded: %s",
                          err);
        return -1;
    }

    printf("applied  %s (%zu statement%s, %ld ms)\n", m->name, nstmts,
           nstmts == 1 ? "" : "s", cartbot_ctl_now_ms() - start);
    fflush(stdout);

    return 0;
}
