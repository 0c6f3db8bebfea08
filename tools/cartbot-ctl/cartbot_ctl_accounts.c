
/*
 * cartbot-ctl migrate --secrets DIR: provisions the service accounts.
 *
 * For each service, DIR/<name>.json holds exactly the body of its
 * POST /signin, {"ns":...,"db":...,"ac":"service","user":...,"pass":...};
 * the nginx modules read it (credentials=).  A missing file is created
 * with a random password; then service_account:<name> gets the argon2 hash
 * of that password, unless the stored hash already matches it.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cartbot_base64.h"
#include "cartbot_ctl.h"


#define CARTBOT_CTL_SECRET_BYTES  32
#define CARTBOT_CTL_MAX_SECRET    (64 * 1024)


typedef struct {
    const char             *name;
    const char             *path;
    const char             *pass;
    unsigned                created:1;
} cartbot_ctl_account_t;


static const char  *cartbot_ctl_services[] = {
    "gateway", "cart", "product", "session", "chat", NULL
};


/*
 * $pass is a literal made by cartbot_surreal_quote(), so the secret stays
 * out of URLs (and access logs); $name is a URL variable.  The argon2 hash
 * is recomputed only when the record is missing or does not match.
 */

static const char  cartbot_ctl_account_sql[] =
    "LET $rec = type::record('service_account', $name);\n"
    "LET $old = (SELECT VALUE secret FROM ONLY $rec);\n"
    "LET $state = IF $old = NONE { 'created' }\n"
    "    ELSE IF crypto::argon2::compare($old, $pass) { 'unchanged' }\n"
    "    ELSE { 'updated' };\n"
    "IF $state != 'unchanged' {\n"
    "    UPSERT $rec CONTENT {\n"
    "        name: $name, secret: crypto::argon2::generate($pass)\n"
    "    } RETURN NONE;\n"
    "};\n"
    "RETURN $state;\n";


static int cartbot_ctl_secrets_dir(cartbot_ctl_t *ctl);
static int cartbot_ctl_account_file(cartbot_ctl_t *ctl,
    cartbot_ctl_account_t *a);
static int cartbot_ctl_account_read(cartbot_ctl_t *ctl,
    cartbot_ctl_account_t *a);
static int cartbot_ctl_account_write(cartbot_ctl_t *ctl,
    cartbot_ctl_account_t *a);
static int cartbot_ctl_account_db(cartbot_ctl_t *ctl,
    cartbot_ctl_account_t *a, const char **state);


int
cartbot_ctl_accounts(cartbot_ctl_t *ctl)
{
    size_t                  i, files, changed;
    const char             *state;
    cartbot_buf_t           path;
    cartbot_ctl_account_t   a;

    if (cartbot_ctl_secrets_dir(ctl) != 0) {
        fprintf(stderr, "cartbot-ctl: %s\n", ctl->err);
        return CARTBOT_CTL_FAILED;
    }

    files = 0;
    changed = 0;

    for (i = 0; cartbot_ctl_services[i]; i++) {
        memset(&a, 0, sizeof(cartbot_ctl_account_t));

        a.name = cartbot_ctl_services[i];

        cartbot_buf_init(&path, ctl->mem, 0);
        cartbot_buf_printf(&path, "%s/%s.json", ctl->secrets, a.name);
        a.path = cartbot_buf_cstr(&path);

        if (a.path == NULL) {
            fprintf(stderr, "cartbot-ctl: out of memory\n");
            return CARTBOT_CTL_FAILED;
        }

        if (cartbot_ctl_account_file(ctl, &a) != 0
            || cartbot_ctl_account_db(ctl, &a, &state) != 0)
        {
            fprintf(stderr, "cartbot-ctl: account %s: %s\n", a.name,
                    ctl->err);
            return CARTBOT_CTL_FAILED;
        }

        files += a.created;
        changed += (strcmp(state, "unchanged") != 0);

        printf("account  %-8s file %s, database record %s\n", a.name,
               a.created ? "created" : "kept", state);
    }

    printf("accounts: %zu ready in %s (%zu file%s created, %zu record%s "
           "written)\n", i, ctl->secrets, files, files == 1 ? "" : "s",
           changed, changed == 1 ? "" : "s");
    fflush(stdout);

    return CARTBOT_CTL_OK;
}


static int
cartbot_ctl_secrets_dir(cartbot_ctl_t *ctl)
{
    struct stat  st;

    if (mkdir(ctl->secrets, 0700) == 0) {
        return 0;
    }

    if (errno != EEXIST) {
        cartbot_ctl_error(ctl, "cannot create the secrets directory %s: %s",
                          ctl->secrets, strerror(errno));
        return -1;
    }

    if (stat(ctl->secrets, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cartbot_ctl_error(ctl, "%s is not a directory", ctl->secrets);
        return -1;
    }

    if (st.st_mode & 077) {
        fprintf(stderr, "cartbot-ctl: warning: the secrets directory %s is "
                "open to other users (mode %04o)\n", ctl->secrets,
                (unsigned) (st.st_mode & 07777));
    }

    return 0;
}


static int
cartbot_ctl_account_file(cartbot_ctl_t *ctl, cartbot_ctl_account_t *a)
{
    int  rc;

    if (access(a->path, F_OK) == 0) {
        return cartbot_ctl_account_read(ctl, a);
    }

    if (errno != ENOENT) {
        cartbot_ctl_error(ctl, "cannot access %s: %s", a->path,
                          strerror(errno));
        return -1;
    }

    rc = cartbot_ctl_account_write(ctl, a);

    if (rc == 1) {
        /* another cartbot-ctl created it meanwhile: use theirs */
        return cartbot_ctl_account_read(ctl, a);
    }

    return rc;
}


static int
cartbot_ctl_account_read(cartbot_ctl_t *ctl, cartbot_ctl_account_t *a)
{
    size_t          i;
    yajl_val        root;
    const char     *v;
    struct stat     st;
    cartbot_buf_t   text;
    char            jerr[128];

    struct {
        const char  *key;
        const char  *want;
    } checks[] = {
        { "ns", ctl->ns },
        { "db", ctl->db },
        { "ac", "service" },
        { "user", a->name }
    };

    cartbot_buf_init(&text, ctl->mem, 0);

    if (cartbot_ctl_read_file(ctl, a->path, CARTBOT_CTL_MAX_SECRET, &text)
        != 0)
    {
        return -1;
    }

    if (stat(a->path, &st) == 0 && (st.st_mode & 077)) {
        fprintf(stderr, "cartbot-ctl: warning: %s is readable by other "
                "users (mode %04o): chmod 600 it\n", a->path,
                (unsigned) (st.st_mode & 07777));
    }

    root = cartbot_json_parse(text.data, text.len, jerr, sizeof(jerr));
    if (!YAJL_IS_OBJECT(root)) {
        cartbot_json_free(root);
        cartbot_ctl_error(ctl, "%s is not a JSON object (%s): remove it to "
                          "generate a new password", a->path,
                          root ? "not an object" : jerr);
        return -1;
    }

    for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        v = cartbot_json_get_string(root, checks[i].key);

        if (v == NULL || strcmp(v, checks[i].want) != 0) {
            cartbot_ctl_error(ctl, "%s has \"%s\": \"%s\" where \"%s\" is "
                              "expected: fix or remove it", a->path,
                              checks[i].key, v ? v : "(none)",
                              checks[i].want);
            cartbot_json_free(root);
            return -1;
        }
    }

    v = cartbot_json_get_string(root, "pass");

    if (v == NULL || v[0] == '\0') {
        cartbot_json_free(root);
        cartbot_ctl_error(ctl, "%s has no \"pass\": fix or remove it",
                          a->path);
        return -1;
    }

    a->pass = cartbot_strndup(ctl->mem, v, strlen(v));

    cartbot_json_free(root);

    if (a->pass == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    return 0;
}


/*
 * Writes a new file: a mode 0600 temporary in the same directory, then
 * link() so that an existing file is never replaced.  Returns 1 when the
 * file appeared meanwhile.
 */

static int
cartbot_ctl_account_write(cartbot_ctl_t *ctl, cartbot_ctl_account_t *a)
{
    int             fd, rc;
    size_t          off;
    ssize_t         n;
    cartbot_buf_t   pass, body, tmp;
    unsigned char   raw[CARTBOT_CTL_SECRET_BYTES];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        cartbot_ctl_error(ctl, "RAND_bytes() failed");
        return -1;
    }

    cartbot_buf_init(&pass, ctl->mem, 0);
    cartbot_base64_encode(&pass, raw, sizeof(raw), 1);
    memset(raw, 0, sizeof(raw));

    a->pass = cartbot_buf_cstr(&pass);

    cartbot_buf_init(&body, ctl->mem, 0);
    cartbot_buf_add_str(&body, "{\"ns\":");
    cartbot_json_add_string(&body, ctl->ns, strlen(ctl->ns));
    cartbot_buf_add_str(&body, ",\"db\":");
    cartbot_json_add_string(&body, ctl->db, strlen(ctl->db));
    cartbot_buf_add_str(&body, ",\"ac\":\"service\",\"user\":");
    cartbot_json_add_string(&body, a->name, strlen(a->name));
    cartbot_buf_add_str(&body, ",\"pass\":");
    cartbot_json_add_string(&body, pass.data, pass.len);
    cartbot_buf_add_char(&body, '}');

    cartbot_buf_init(&tmp, ctl->mem, 0);
    cartbot_buf_printf(&tmp, "%s/.%s.json.XXXXXX", ctl->secrets, a->name);

    if (a->pass == NULL || body.failed || cartbot_buf_cstr(&tmp) == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    fd = mkstemp(tmp.data);
    if (fd == -1) {
        cartbot_ctl_error(ctl, "cannot create a file in %s: %s",
                          ctl->secrets, strerror(errno));
        return -1;
    }

    (void) fchmod(fd, 0600);

    for (off = 0; off < body.len; off += (size_t) n) {
        n = write(fd, body.data + off, body.len - off);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n == -1) {
            cartbot_ctl_error(ctl, "cannot write %s: %s", tmp.data,
                              strerror(errno));
            close(fd);
            unlink(tmp.data);
            return -1;
        }
    }

    if (fsync(fd) != 0 || close(fd) != 0) {
        cartbot_ctl_error(ctl, "cannot write %s: %s", tmp.data,
                          strerror(errno));
        unlink(tmp.data);
        return -1;
    }

    rc = link(tmp.data, a->path);

    if (rc != 0 && errno == EEXIST) {
        unlink(tmp.data);
        return 1;
    }

    if (rc != 0) {
        /* file systems without hard links */
        rc = rename(tmp.data, a->path);

    } else {
        unlink(tmp.data);
    }

    if (rc != 0) {
        cartbot_ctl_error(ctl, "cannot create %s: %s", a->path,
                          strerror(errno));
        unlink(tmp.data);
        return -1;
    }

    a->created = 1;

    return 0;
}


static int
cartbot_ctl_account_db(cartbot_ctl_t *ctl, cartbot_ctl_account_t *a,
    const char **state)
{
    int                        rc;
    yajl_val                   v;
    cartbot_buf_t              sql;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;

    cartbot_buf_init(&sql, ctl->mem, 0);
    cartbot_buf_add_str(&sql, "LET $pass = ");

    if (cartbot_surreal_quote(&sql, a->pass, strlen(a->pass)) != 0) {
        cartbot_ctl_error(ctl, "the password cannot be quoted");
        return -1;
    }

    cartbot_buf_add_str(&sql, ";\n");
    cartbot_buf_add_str(&sql, cartbot_ctl_account_sql);

    if (cartbot_buf_cstr(&sql) == NULL
        || cartbot_surreal_query_init(&q, ctl->mem, sql.data) != 0
        || cartbot_surreal_bind(&q, "name", a->name, strlen(a->name)) != 0)
    {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    memset(sql.data, 0, sql.len);

    rc = cartbot_ctl_sql(ctl, &q, &res);

    memset(q.sql.data, 0, q.sql.len);

    if (rc != 0) {
        cartbot_surreal_result_free(&res);
        return -1;
    }

    v = cartbot_surreal_last(&res);

    *state = YAJL_IS_STRING(v) ? v->u.string : NULL;

    if (*state == NULL) {
        cartbot_surreal_result_free(&res);
        cartbot_ctl_error(ctl, "unexpected answer to the provisioning query");
        return -1;
    }

    *state = cartbot_strndup(ctl->mem, *state, strlen(*state));

    cartbot_surreal_result_free(&res);

    if (*state == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    return 0;
}
