
/*
 * cartbot-ctl health: GET /health, GET /version and RETURN true over /sql
 * as the configured user.  One JSON line on stdout:
 *   {"status":"ok","version":"surrealdb-3.0.2","latency_ms":N}
 *   {"status":"down","error":"..."}
 * latency_ms is the wall time of the three exchanges together.
 */

#include <stdio.h>
#include <string.h>

#include "cartbot_ctl.h"


#define CARTBOT_CTL_MAX_VERSION  128


static int cartbot_ctl_health_check(cartbot_ctl_t *ctl, cartbot_buf_t *version);
static int cartbot_ctl_health_print(cartbot_ctl_t *ctl, cartbot_buf_t *version,
    long ms);


int
cartbot_ctl_health(cartbot_ctl_t *ctl)
{
    long           start;
    cartbot_buf_t  version;

    start = cartbot_ctl_now_ms();

    cartbot_buf_init(&version, ctl->mem, 0);

    if (cartbot_ctl_health_check(ctl, &version) != 0) {
        return cartbot_ctl_health_print(ctl, NULL, 0);
    }

    return cartbot_ctl_health_print(ctl, &version,
                                    cartbot_ctl_now_ms() - start);
}


static int
cartbot_ctl_health_check(cartbot_ctl_t *ctl, cartbot_buf_t *version)
{
    int                        rc;
    size_t                     len;
    yajl_val                   v;
    const char                *p;
    cartbot_ctl_http_t         http;
    cartbot_surreal_query_t    q;
    cartbot_surreal_result_t   res;

    if (cartbot_ctl_http(ctl, "/health", NULL, NULL, 0, &http) != 0) {
        return -1;
    }

    if (http.status != 200) {
        cartbot_ctl_error(ctl, "GET /health answered HTTP %ld", http.status);
        return -1;
    }

    if (cartbot_ctl_http(ctl, "/version", NULL, NULL, 0, &http) != 0) {
        return -1;
    }

    if (http.status != 200) {
        cartbot_ctl_error(ctl, "GET /version answered HTTP %ld",
                          http.status);
        return -1;
    }

    /* "surrealdb-3.0.2", perhaps with a line end */

    p = http.body.data;
    len = http.body.len;

    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'
                   || p[len - 1] == ' '))
    {
        len--;
    }

    if (len == 0 || len > CARTBOT_CTL_MAX_VERSION) {
        cartbot_ctl_error(ctl, "GET /version answered no version");
        return -1;
    }

    cartbot_buf_add(version, p, len);

    if (cartbot_surreal_query_init(&q, ctl->mem, "RETURN true;") != 0) {
        cartbot_ctl_error(ctl, "out of memory");
        return -1;
    }

    rc = cartbot_ctl_sql(ctl, &q, &res);

    if (rc == 0) {
        v = cartbot_surreal_last(&res);

        if (!YAJL_IS_TRUE(v)) {
            cartbot_ctl_error(ctl, "RETURN true did not return true");
            rc = -1;
        }
    }

    cartbot_surreal_result_free(&res);

    return rc;
}


static int
cartbot_ctl_health_print(cartbot_ctl_t *ctl, cartbot_buf_t *version, long ms)
{
    cartbot_buf_t  out;

    cartbot_buf_init(&out, ctl->mem, 0);

    if (version) {
        cartbot_buf_add_str(&out, "{\"status\":\"ok\",\"version\":");
        cartbot_json_add_string(&out, version->data, version->len);
        cartbot_buf_printf(&out, ",\"latency_ms\":%ld}\n", ms);

    } else {
        cartbot_buf_add_str(&out, "{\"status\":\"down\",\"error\":");
        cartbot_json_add_string(&out, ctl->err, strlen(ctl->err));
        cartbot_buf_add_str(&out, "}\n");
    }

    if (out.failed) {
        fputs("{\"status\":\"down\",\"error\":\"out of memory\"}\n", stdout);
        return CARTBOT_CTL_FAILED;
    }

    fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);

    return version ? CARTBOT_CTL_OK : CARTBOT_CTL_FAILED;
}
