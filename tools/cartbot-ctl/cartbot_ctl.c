
/*
 * cartbot-ctl: command line, configuration and common helpers.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cartbot_ctl.h"


#define CARTBOT_CTL_MAX_PASS  4096


static const char  cartbot_ctl_usage_text[] =
    "usage: cartbot-ctl [options] <command>\n"
    "\n"
    "commands:\n"
    "  migrate        apply the new *.surql files of the migrations\n"
    "                 directory in name order, each recorded in the\n"
    "                 \"migration\" table; with --secrets, then provision the\n"
    "                 service accounts gateway, cart, product, session, chat\n"
    "  import [--if-empty] [--batch N] [--jobs N] FILE.json\n"
    "                 load products (a JSON array) as the product service\n"
    "                 account (--secrets DIR: DIR/product.json), with their\n"
    "                 embeddings; rows already stored unchanged are skipped;\n"
    "                 bad rows are reported by line and the others land\n"
    "                 (exit 1 when any row was rejected)\n"
    "  health         check /health, /version and a query; print one JSON\n"
    "                 line: {\"status\":\"ok\",...} (exit 0) or\n"
    "                 {\"status\":\"down\",\"error\":...} (exit 1)\n"
    "  help           this text\n"
    "\n"
    "options (environment variable, default):\n"
    "  --url URL          CARTBOT_DB_URL, http://127.0.0.1:8000\n"
    "  --ns NAME          CARTBOT_DB_NS, production\n"
    "  --db NAME          CARTBOT_DB_DB, chatbot\n"
    "  --user NAME        CARTBOT_DB_USER, root (a root-level system user)\n"
    "  --pass-file FILE   CARTBOT_DB_PASS_FILE; or the password itself in\n"
    "                     CARTBOT_DB_PASS (one of them is required)\n"
    "  --migrations DIR   CARTBOT_MIGRATIONS, db/migrations\n"
    "  --secrets DIR      CARTBOT_SECRETS_DIR: where migrate writes the\n"
    "                     service accounts' /signin bodies, DIR/<name>.json,\n"
    "                     and import reads DIR/product.json\n"
    "  --timeout SECONDS  CARTBOT_DB_TIMEOUT, 60 (per HTTP request)\n"
    "  --if-empty         import: do nothing when products already exist\n"
    "  --batch N          import: rows per request, 1-1000 (default 100)\n"
    "  --jobs N           import: requests in flight, 1-16 (default 2)\n"
    "  -h, --help         this text\n"
    "\n"
    "import needs no root password: it signs in as the product account.\n"
    "\n"
    "exit status: 0 success, 1 failure (database, network, migration,\n"
    "rejected import rows), 2 usage or configuration error\n";


static const struct option  cartbot_ctl_options[] = {
    { "url",        required_argument, NULL, 'u' },
    { "ns",         required_argument, NULL, 'n' },
    { "db",         required_argument, NULL, 'd' },
    { "user",       required_argument, NULL, 'U' },
    { "pass-file",  required_argument, NULL, 'p' },
    { "migrations", required_argument, NULL, 'm' },
    { "secrets",    required_argument, NULL, 's' },
    { "timeout",    required_argument, NULL, 't' },
    { "if-empty",   no_argument,       NULL, 'E' },
    { "batch",      required_argument, NULL, 'b' },
    { "jobs",       required_argument, NULL, 'j' },
    { "help",       no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 }
};


static int cartbot_ctl_usage_error(const char *fmt, const char *arg);
static const char *cartbot_ctl_env(const char *name, const char *dflt);
static int cartbot_ctl_configure(cartbot_ctl_t *ctl, const char *pass_file,
    const char *timeout, int need_pass);
static int cartbot_ctl_header_safe(const char *s);


int
main(int argc, char **argv)
{
    int             c, rc;
    char           *end;
    const char     *cmd, *pass_file, *timeout, *batch, *jobs;
    cartbot_ctl_t   ctl;

    memset(&ctl, 0, sizeof(cartbot_ctl_t));

    cartbot_arena_init(&ctl.arena);
    ctl.mem = &ctl.arena.mem;

    ctl.url = cartbot_ctl_env("CARTBOT_DB_URL", "http://127.0.0.1:8000");
    ctl.ns = cartbot_ctl_env("CARTBOT_DB_NS", "production");
    ctl.db = cartbot_ctl_env("CARTBOT_DB_DB", "chatbot");
    ctl.user = cartbot_ctl_env("CARTBOT_DB_USER", "root");
    ctl.migrations = cartbot_ctl_env("CARTBOT_MIGRATIONS", "db/migrations");
    ctl.secrets = cartbot_ctl_env("CARTBOT_SECRETS_DIR", NULL);
    pass_file = cartbot_ctl_env("CARTBOT_DB_PASS_FILE", NULL);
    timeout = cartbot_ctl_env("CARTBOT_DB_TIMEOUT", "60");
    batch = NULL;
    jobs = NULL;

    opterr = 0;

    while ((c = getopt_long(argc, argv, ":h", cartbot_ctl_options, NULL))
           != -1)
    {
        switch (c) {
        case 'u': ctl.url = optarg; break;
        case 'n': ctl.ns = optarg; break;
        case 'd': ctl.db = optarg; break;
        case 'U': ctl.user = optarg; break;
        case 'p': pass_file = optarg; break;
        case 'm': ctl.migrations = optarg; break;
        case 's': ctl.secrets = optarg; break;
        case 't': timeout = optarg; break;
        case 'E': ctl.if_empty = 1; break;
        case 'b': batch = optarg; break;
        case 'j': jobs = optarg; break;

        case 'h':
            fputs(cartbot_ctl_usage_text, stdout);
            return CARTBOT_CTL_OK;

        case ':':
            return cartbot_ctl_usage_error("option %s needs a value",
                                           argv[optind - 1]);

        default:
            return cartbot_ctl_usage_error("unknown option %s",
                                           argv[optind - 1]);
        }
    }

    if (optind >= argc) {
        return cartbot_ctl_usage_error("no command given%s", "");
    }

    cmd = argv[optind++];

    if (strcmp(cmd, "help") == 0) {
        fputs(cartbot_ctl_usage_text, stdout);
        return CARTBOT_CTL_OK;
    }

    if (strcmp(cmd, "migrate") != 0 && strcmp(cmd, "health") != 0
        && strcmp(cmd, "import") != 0)
    {
        return cartbot_ctl_usage_error("unknown command \"%s\"", cmd);
    }

    if (cmd[0] == 'i') {
        if (optind >= argc) {
            return cartbot_ctl_usage_error("import needs a FILE.json%s", "");
        }

        ctl.file = argv[optind++];

        ctl.batch = CARTBOT_CTL_BATCH;

        if (batch) {
            errno = 0;
            ctl.batch = strtol(batch, &end, 10);

            if (errno || *end || end == batch || ctl.batch < 1
                || ctl.batch > CARTBOT_CTL_MAX_BATCH)
            {
                return cartbot_ctl_usage_error("invalid --batch \"%s\" "
                                               "(rows per request, 1-1000)",
                                               batch);
            }
        }

        ctl.jobs = CARTBOT_CTL_JOBS;

        if (jobs) {
            errno = 0;
            ctl.jobs = strtol(jobs, &end, 10);

            if (errno || *end || end == jobs || ctl.jobs < 1
                || ctl.jobs > CARTBOT_CTL_MAX_JOBS)
            {
                return cartbot_ctl_usage_error("invalid --jobs \"%s\" "
                                               "(requests in flight, 1-16)",
                                               jobs);
            }
        }

        if (ctl.secrets == NULL) {
            return cartbot_ctl_usage_error("import signs in as the product "
                                           "account: give --secrets DIR or "
                                           "set CARTBOT_SECRETS_DIR%s", "");
        }

    } else if (ctl.if_empty || batch || jobs) {
        return cartbot_ctl_usage_error("--if-empty, --batch and --jobs are "
                                       "options of import, not of %s", cmd);
    }

    if (optind < argc) {
        return cartbot_ctl_usage_error("unexpected argument \"%s\"",
                                       argv[optind]);
    }

    if (cartbot_ctl_configure(&ctl, pass_file, timeout, cmd[0] != 'i') != 0)
    {
        fprintf(stderr, "cartbot-ctl: %s\n", ctl.err);
        cartbot_arena_free(&ctl.arena);
        return CARTBOT_CTL_USAGE;
    }

    if (cartbot_ctl_http_init(&ctl) != 0) {
        fprintf(stderr, "cartbot-ctl: %s\n", ctl.err);
        rc = CARTBOT_CTL_FAILED;

    } else if (cmd[0] == 'm') {
        rc = cartbot_ctl_migrate(&ctl);

        if (rc == CARTBOT_CTL_OK && ctl.secrets) {
            rc = cartbot_ctl_accounts(&ctl);
        }

    } else if (cmd[0] == 'i') {
        rc = cartbot_ctl_import(&ctl);

    } else {
        rc = cartbot_ctl_health(&ctl);
    }

    cartbot_ctl_http_done(&ctl);
    cartbot_arena_free(&ctl.arena);

    return rc;
}


static int
cartbot_ctl_usage_error(const char *fmt, const char *arg)
{
    fputs("cartbot-ctl: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n\n", stderr);
    fputs(cartbot_ctl_usage_text, stderr);

    return CARTBOT_CTL_USAGE;
}


/* an unset or empty variable gives the default */

static const char *
cartbot_ctl_env(const char *name, const char *dflt)
{
    const char  *v;

    v = getenv(name);

    return (v && v[0]) ? v : dflt;
}


/* import signs in with the product account's file: no root password */

static int
cartbot_ctl_configure(cartbot_ctl_t *ctl, const char *pass_file,
    const char *timeout, int need_pass)
{
    char           *end, *url;
    size_t          len;
    cartbot_buf_t   pass;

    if (strncmp(ctl->url, "http://", 7) != 0
        && strncmp(ctl->url, "https://", 8) != 0)
    {
        cartbot_ctl_error(ctl, "the database URL \"%s\" must start with "
                          "http:// or https://", ctl->url);
        return -1;
    }

    len = strlen(ctl->url);

    while (len && ctl->url[len - 1] == '/') {
        len--;
    }

    url = cartbot_strndup(ctl->mem, ctl->url, len);
    if (url == NULL) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    ctl->url = url;

    if (!cartbot_ctl_header_safe(ctl->ns) || !cartbot_ctl_header_safe(ctl->db)
        || !cartbot_ctl_header_safe(ctl->user) || strchr(ctl->user, ':'))
    {
        cartbot_ctl_error(ctl, "the namespace, database and user must be "
                          "non-empty, printable, and the user without ':'");
        return -1;
    }

    errno = 0;
    ctl->timeout = strtol(timeout, &end, 10);

    if (errno || *end || ctl->timeout < 1 || ctl->timeout > 86400) {
        cartbot_ctl_error(ctl, "invalid timeout \"%s\" (seconds, 1-86400)",
                          timeout);
        return -1;
    }

    if (!need_pass) {
        ctl->pass = NULL;

    } else if (pass_file) {
        cartbot_buf_init(&pass, ctl->mem, 0);

        if (cartbot_ctl_read_file(ctl, pass_file, CARTBOT_CTL_MAX_PASS, &pass)
            != 0)
        {
            return -1;
        }

        /* the file's last line end is not part of the password */

        while (pass.len
               && (pass.data[pass.len - 1] == '\n'
                   || pass.data[pass.len - 1] == '\r'))
        {
            pass.len--;
        }

        if (pass.len == 0 || memchr(pass.data, '\0', pass.len)) {
            cartbot_ctl_error(ctl, "the password file %s is empty or "
                              "binary", pass_file);
            return -1;
        }

        ctl->pass = cartbot_buf_cstr(&pass);

    } else {
        ctl->pass = cartbot_ctl_env("CARTBOT_DB_PASS", NULL);
    }

    if (need_pass && ctl->pass == NULL) {
        cartbot_ctl_error(ctl, "no database password: give --pass-file FILE, "
                          "or set CARTBOT_DB_PASS_FILE or CARTBOT_DB_PASS");
        return -1;
    }

    return 0;
}


static int
cartbot_ctl_header_safe(const char *s)
{
    const unsigned char  *p;

    if (s[0] == '\0') {
        return 0;
    }

    for (p = (const unsigned char *) s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return 0;
        }
    }

    return 1;
}


void
cartbot_ctl_error(cartbot_ctl_t *ctl, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(ctl->err, sizeof(ctl->err), fmt, args);
    va_end(args);
}


/* reads a whole file of at most max bytes into out */

int
cartbot_ctl_read_file(cartbot_ctl_t *ctl, const char *path, size_t max,
    cartbot_buf_t *out)
{
    int          fd;
    ssize_t      n;
    struct stat  st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        cartbot_ctl_error(ctl, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        cartbot_ctl_error(ctl, "%s is not a regular file", path);
        close(fd);
        return -1;
    }

    if ((size_t) st.st_size > max) {
        cartbot_ctl_error(ctl, "%s is larger than %zu bytes", path, max);
        close(fd);
        return -1;
    }

    for ( ;; ) {
        if (out->len > max) {
            cartbot_ctl_error(ctl, "%s is larger than %zu bytes", path, max);
            close(fd);
            return -1;
        }

        if (cartbot_buf_reserve(out, 4096) != 0) {
            cartbot_ctl_error(ctl, "out of memory");
            close(fd);
            return -1;
        }

        n = read(fd, out->data + out->len, out->cap - out->len - 1);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1) {
            cartbot_ctl_error(ctl, "cannot read %s: %s", path,
                              strerror(errno));
            close(fd);
            return -1;
        }

        if (n == 0) {
            break;
        }

        out->len += (size_t) n;
    }

    close(fd);

    return 0;
}
