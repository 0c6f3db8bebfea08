
/*
 * ngx_cartbot_gateway_module: Prometheus metrics, aggregated across
 * workers from the shared counters every module writes
 * (ngx_http_cartbot_stats.c).
 *
 *     location = /internal/metrics {
 *         allow 127.0.0.1; deny all;
 *         cartbot_metrics;
 *     }
 *
 * Requests are counted in the log phase by location (its configured name,
 * so labels are bounded by the configuration) and status class, with a
 * duration histogram (cartbot_stats off leaves a location out); the database and Groq calls by outcome with theirs;
 * JWT refusals by reason; rate-limit decisions by zone and result; the
 * breakers' states and trips; LLM tokens by kind.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_cartbot_gateway.h"
#include "cartbot_jwt.h"


static ngx_int_t ngx_http_cartbot_metrics_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_cartbot_metrics_handler(ngx_http_request_t *r);
static void ngx_http_cartbot_metrics_histogram(cartbot_buf_t *b,
    const char *metric, const char *labels,
    ngx_http_cartbot_stats_histogram_t *h);
static void ngx_http_cartbot_metrics_label(cartbot_buf_t *b,
    ngx_http_cartbot_stats_name_t *name);


static const char  *ngx_http_cartbot_metrics_outcomes[] = {
    "ok", "error", "timeout", "unavailable", "refused"
};

static const char  *ngx_http_cartbot_metrics_deps[] = {
    "surrealdb", "groq"
};


ngx_int_t
ngx_http_cartbot_metrics_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                   *h;
    ngx_http_core_main_conf_t             *cmcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_cartbot_gateway_module);

    if (ngx_http_cartbot_stats_add(cf, &gmcf->stats) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_cartbot_metrics_log;

    return NGX_OK;
}


static ngx_int_t
ngx_http_cartbot_metrics_log(ngx_http_request_t *r)
{
    ngx_time_t                            *tp;
    ngx_msec_int_t                         ms;
    ngx_http_core_loc_conf_t              *clcf;
    ngx_http_cartbot_gateway_loc_conf_t   *glcf;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_cartbot_gateway_module);

    if (!glcf->stats) {
        return NGX_OK;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));

    ngx_http_cartbot_stats_request(gmcf->stats, &clcf->name,
                                   r->headers_out.status,
                                   (ngx_msec_t) ngx_max(ms, 0));

    return NGX_OK;
}


char *
ngx_http_cartbot_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_cartbot_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_cartbot_metrics_handler(ngx_http_request_t *r)
{
    ngx_int_t                              rc;
    ngx_uint_t                             i, j;
    cartbot_buf_t                          b, lb;
    cartbot_mem_t                         *mem;
    ngx_http_cartbot_stats_t              *st;
    ngx_http_cartbot_stats_dep_t          *dep;
    ngx_http_cartbot_stats_route_t        *rt;
    ngx_http_cartbot_gateway_main_conf_t  *gmcf;
    static const char                     *states[] = {
        "closed", "open", "half_open"
    };

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_cartbot_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                           "method_not_allowed", "use GET");
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_cartbot_gateway_module);
    st = ngx_http_cartbot_stats(gmcf->stats);
    mem = ngx_http_cartbot_mem(r->pool);

    if (st == NULL || mem == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cartbot_buf_init(&b, mem, 16384);

    /* requests */

    cartbot_buf_add_str(&b,
        "# HELP cartbot_http_requests_total Requests by location and "
        "status class.\n"
        "# TYPE cartbot_http_requests_total counter\n");

    for (i = 0; i <= NGX_HTTP_CARTBOT_STATS_ROUTES; i++) {
        rt = (i < NGX_HTTP_CARTBOT_STATS_ROUTES) ? &st->routes[i]
                                                 : &st->other_route;

        if (i < NGX_HTTP_CARTBOT_STATS_ROUTES && rt->name.len == 0) {
            continue;
        }

        for (j = 0; j < 5; j++) {
            if (rt->status[j] == 0) {
                continue;
            }

            cartbot_buf_add_str(&b, "cartbot_http_requests_total{route=");

            if (i < NGX_HTTP_CARTBOT_STATS_ROUTES) {
                ngx_http_cartbot_metrics_label(&b, &rt->name);

            } else {
                cartbot_buf_add_str(&b, "\"other\"");
            }

            cartbot_buf_printf(&b, ",status=\"%dxx\"} %lu\n", (int) j + 1,
                               (unsigned long) rt->status[j]);
        }
    }

    cartbot_buf_add_str(&b,
        "# HELP cartbot_http_request_duration_seconds Request duration by "
        "location.\n"
        "# TYPE cartbot_http_request_duration_seconds histogram\n");

    for (i = 0; i < NGX_HTTP_CARTBOT_STATS_ROUTES; i++) {
        rt = &st->routes[i];

        if (rt->name.len == 0) {
            break;
        }

        cartbot_buf_init(&lb, mem, 128);
        cartbot_buf_add_str(&lb, "route=");
        ngx_http_cartbot_metrics_label(&lb, &rt->name);

        ngx_http_cartbot_metrics_histogram(&b,
                                  "cartbot_http_request_duration_seconds",
                                  cartbot_buf_cstr(&lb), &rt->duration);
    }

    /* dependencies and breakers */

    cartbot_buf_add_str(&b,
        "# HELP cartbot_upstream_requests_total Calls to SurrealDB and Groq "
        "by outcome.\n"
        "# TYPE cartbot_upstream_requests_total counter\n");

    for (i = 0; i < NGX_HTTP_CARTBOT_STATS_DEPS; i++) {
        dep = &st->deps[i];

        if (dep->name.len == 0) {
            break;
        }

        for (j = 0; j < NGX_HTTP_CARTBOT_OUTCOMES; j++) {
            cartbot_buf_printf(&b, "cartbot_upstream_requests_total"
                               "{upstream=\"%s\",location=",
                               ngx_http_cartbot_metrics_deps[dep->kind & 1]);
            ngx_http_cartbot_metrics_label(&b, &dep->name);
            cartbot_buf_printf(&b, ",outcome=\"%s\"} %lu\n",
                               ngx_http_cartbot_metrics_outcomes[j],
                               (unsigned long) dep->outcomes[j]);
        }
    }

    cartbot_buf_add_str(&b,
        "# HELP cartbot_upstream_duration_seconds Duration of calls to "
        "SurrealDB and Groq.\n"
        "# TYPE cartbot_upstream_duration_seconds histogram\n");

    for (i = 0; i < NGX_HTTP_CARTBOT_STATS_DEPS; i++) {
        dep = &st->deps[i];

        if (dep->name.len == 0) {
            break;
        }

        cartbot_buf_init(&lb, mem, 128);
        cartbot_buf_printf(&lb, "upstream=\"%s\",location=",
                           ngx_http_cartbot_metrics_deps[dep->kind & 1]);
        ngx_http_cartbot_metrics_label(&lb, &dep->name);

        ngx_http_cartbot_metrics_histogram(&b,
                                  "cartbot_upstream_duration_seconds",
                                  cartbot_buf_cstr(&lb), &dep->duration);
    }

    cartbot_buf_add_str(&b,
        "# HELP cartbot_breaker_state Circuit breaker state: 0 closed, "
        "1 open, 2 half open.\n"
        "# TYPE cartbot_breaker_state gauge\n");

    for (i = 0; i < NGX_HTTP_CARTBOT_STATS_DEPS; i++) {
        dep = &st->deps[i];

        if (dep->name.len == 0) {
            break;
        }

        cartbot_buf_add_str(&b, "cartbot_breaker_state{location=");
        ngx_http_cartbot_metrics_label(&b, &dep->name);
        cartbot_buf_printf(&b, ",state=\"%s\"} %lu\n",
                           states[dep->state % 3],
                           (unsigned long) dep->state);
    }

    cartbot_buf_add_str(&b,
        "# HELP cartbot_breaker_trips_total Times a breaker opened.\n"
        "# TYPE cartbot_breaker_trips_total counter\n");

    for (i = 0; i < NGX_HTTP_CARTBOT_STATS_DEPS; i++) {
        dep = &st->deps[i];

        if (dep->name.len == 0) {
            break;
        }

        cartbot_buf_add_str(&b, "cartbot_breaker_trips_total{location=");
        ngx_http_cartbot_metrics_label(&b, &dep->name);
        cartbot_buf_printf(&b, "} %lu\n", (unsigned long) dep->trips);
    }

    /* auth, limits, tokens */

    cartbot_buf_add_str(&b,
        "# HELP cartbot_auth_failures_total Refused requests by reason.\n"
        "# TYPE cartbot_auth_failures_total counter\n");

    for (i = 0; i < CARTBOT_JWT_REASON_LAST
                && i < NGX_HTTP_CARTBOT_STATS_REASONS; i++)
    {
        cartbot_buf_printf(&b, "cartbot_auth_failures_total{reason=\"%s\"}"
                           " %lu\n",
                           i ? cartbot_jwt_reason_name(i) : "missing_token",
                           (unsigned long) st->auth_failures[i]);
    }

    cartbot_buf_add_str(&b,
        "# HELP cartbot_ratelimit_decisions_total Rate limit decisions by "
        "zone and result.\n"
        "# TYPE cartbot_ratelimit_decisions_total counter\n");

    for (i = 0; i < NGX_HTTP_CARTBOT_STATS_LIMITS; i++) {
        if (st->limits[i].name.len == 0) {
            break;
        }

        for (j = 0; j < 3; j++) {
            cartbot_buf_add_str(&b, "cartbot_ratelimit_decisions_total"
                                    "{zone=");
            ngx_http_cartbot_metrics_label(&b, &st->limits[i].name);
            cartbot_buf_printf(&b, ",result=\"%s\"} %lu\n",
                               j == 0 ? "passed" : j == 1 ? "rejected"
                                                          : "dry_run",
                               (unsigned long) st->limits[i].results[j]);
        }
    }

    cartbot_buf_printf(&b,
        "# HELP cartbot_llm_tokens_total LLM tokens by kind.\n"
        "# TYPE cartbot_llm_tokens_total counter\n"
        "cartbot_llm_tokens_total{kind=\"prompt\"} %lu\n"
        "cartbot_llm_tokens_total{kind=\"completion\"} %lu\n",
        (unsigned long) st->llm_tokens[0], (unsigned long) st->llm_tokens[1]);

    if (b.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b.len;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    {
        ngx_buf_t    *buf;
        ngx_chain_t   out;

        buf = ngx_calloc_buf(r->pool);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        buf->pos = (u_char *) b.data;
        buf->last = (u_char *) b.data + b.len;
        buf->memory = 1;
        buf->last_buf = 1;

        out.buf = buf;
        out.next = NULL;

        return ngx_http_output_filter(r, &out);
    }
}


static void
ngx_http_cartbot_metrics_histogram(cartbot_buf_t *b, const char *metric,
    const char *labels, ngx_http_cartbot_stats_histogram_t *h)
{
    ngx_uint_t    i;
    ngx_atomic_t  cumulative;

    cumulative = 0;

    for (i = 0; i < NGX_HTTP_CARTBOT_STATS_BUCKETS; i++) {
        cumulative += h->buckets[i];

        if (i < NGX_HTTP_CARTBOT_STATS_BUCKETS - 1) {
            cartbot_buf_printf(b, "%s_bucket{%s,le=\"%.3f\"} %lu\n", metric,
                               labels,
                               ngx_http_cartbot_stats_buckets[i] / 1000.0,
                               (unsigned long) cumulative);

        } else {
            cartbot_buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %lu\n", metric,
                               labels, (unsigned long) cumulative);
        }
    }

    cartbot_buf_printf(b, "%s_sum{%s} %.3f\n%s_count{%s} %lu\n",
                       metric, labels, h->sum_ms / 1000.0, metric, labels,
                       (unsigned long) cumulative);
}


/* a label value: "..." with \, " and newlines escaped */

static void
ngx_http_cartbot_metrics_label(cartbot_buf_t *b,
    ngx_http_cartbot_stats_name_t *name)
{
    size_t  i;

    cartbot_buf_add_char(b, '"');

    for (i = 0; i < name->len && i < NGX_HTTP_CARTBOT_STATS_NAME; i++) {
        switch (name->name[i]) {
        case '\\': cartbot_buf_add_str(b, "\\\\"); break;
        case '"':  cartbot_buf_add_str(b, "\\\""); break;
        case '\n': cartbot_buf_add_str(b, "\\n"); break;
        default:   cartbot_buf_add_char(b, (char) name->name[i]);
        }
    }

    cartbot_buf_add_char(b, '"');
}
