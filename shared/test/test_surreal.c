
/* unit tests: cartbot_surreal (answers copied from SurrealDB 3.0.2) */

#include "cartbot_test.h"
#include "cartbot_surreal.h"


static void
test_surreal_bind(cartbot_mem_t *mem)
{
    cartbot_surreal_query_t  q;
    const char               evil[] = "'; DELETE product; --";

    cartbot_surreal_query_init(&q, mem, "CREATE note SET text = $text");
    cartbot_surreal_bind(&q, "text", evil, sizeof(evil) - 1);
    cartbot_surreal_bind_int(&q, "qty", -3);
    cartbot_surreal_bind(&q, "id", "product:x&y=$z", 14);

    CARTBOT_CHECK(!q.failed);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&q.sql), "CREATE note SET text = $text");
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&q.args),
                      "text=%27%3B%20DELETE%20product%3B%20--"
                      "&qty=-3&id=product%3Ax%26y%3D%24z");

    /* names are identifiers only: a name cannot smuggle a parameter */
    CARTBOT_CHECK(cartbot_surreal_bind(&q, "a&b", "1", 1) == -1);
    CARTBOT_CHECK(q.failed);

    cartbot_surreal_query_init(&q, mem, "RETURN 1");
    CARTBOT_CHECK(cartbot_surreal_bind(&q, "9x", "1", 1) == -1);
    cartbot_surreal_query_init(&q, mem, "RETURN 1");
    CARTBOT_CHECK(cartbot_surreal_bind(&q, "", "1", 1) == -1);
}


static void
test_surreal_quote(cartbot_mem_t *mem)
{
    cartbot_buf_t  b;

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_surreal_quote(&b, "it's a \\ test", 13) == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), "'it\\'s a \\\\ test'");

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_surreal_quote(&b, "a\0b", 3) == -1);
}


static void
test_surreal_parse_ok(cartbot_mem_t *mem)
{
    yajl_val                  last;
    cartbot_surreal_result_t  res;
    const char                body[] =
        "[{\"result\":null,\"status\":\"OK\",\"time\":\"1µs\",\"type\":null},"
        "{\"result\":[{\"id\":\"product:tee\",\"price\":12.5}],"
        "\"status\":\"OK\",\"time\":\"228.08µs\",\"type\":null}]";

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 200, body,
                                        sizeof(body) - 1)
                  == CARTBOT_SURREAL_OK);
    CARTBOT_CHECK(res.nstmts == 2);
    CARTBOT_CHECK(res.error == NULL);

    last = cartbot_surreal_last(&res);
    CARTBOT_CHECK(cartbot_json_array_len(last) == 1);
    CARTBOT_CHECK_STR(cartbot_json_get_string(
                          cartbot_json_array_at(last, 0), "id"),
                      "product:tee");

    cartbot_surreal_result_free(&res);
}


static void
test_surreal_parse_transaction_error(cartbot_mem_t *mem)
{
    cartbot_surreal_result_t  res;
    const char                body[] =
        "[{\"result\":null,\"status\":\"OK\",\"time\":\"1µs\",\"type\":null},"
        "{\"result\":\"The query was not executed due to a failed "
        "transaction\",\"status\":\"ERR\",\"kind\":\"Query\","
        "\"time\":\"1µs\",\"type\":null},"
        "{\"result\":\"Found -1 for field `stock_quantity`, with record "
        "`product:p2`, but field must conform to: $value >= 0\","
        "\"status\":\"ERR\",\"kind\":\"Internal\",\"time\":\"1µs\","
        "\"type\":null},"
        "{\"result\":\"The query was not executed due to a cancelled "
        "transaction\",\"status\":\"ERR\",\"kind\":\"Query\","
        "\"time\":\"1µs\",\"type\":null}]";

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 200, body,
                                        sizeof(body) - 1)
                  == CARTBOT_SURREAL_STATEMENT);
    CARTBOT_CHECK(res.error == &res.stmts[2]);
    CARTBOT_CHECK_STR(res.error->kind, "Internal");
    CARTBOT_CHECK(strstr(res.message, "stock_quantity") != NULL);

    cartbot_surreal_result_free(&res);
}


static void
test_surreal_parse_thrown(cartbot_mem_t *mem)
{
    cartbot_surreal_result_t  res;
    const char                body[] =
        "[{\"result\":\"An error occurred: permission denied: "
        "service_account:cart may not write table product\","
        "\"status\":\"ERR\",\"kind\":\"Thrown\",\"time\":\"1µs\","
        "\"type\":null}]";

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 200, body,
                                        sizeof(body) - 1)
                  == CARTBOT_SURREAL_STATEMENT);
    CARTBOT_CHECK_STR(res.error->kind, "Thrown");
    CARTBOT_CHECK_STR(cartbot_surreal_thrown(res.error),
                      "permission denied: service_account:cart may not "
                      "write table product");

    cartbot_surreal_result_free(&res);
}


static void
test_surreal_parse_conflict(cartbot_mem_t *mem)
{
    cartbot_surreal_result_t  res;
    const char                body[] =
        "[{\"result\":\"Transaction conflict: Write conflict, retry the "
        "transaction. This transaction can be retried\",\"status\":\"ERR\","
        "\"kind\":\"Internal\",\"time\":\"1µs\",\"type\":null}]";

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 200, body,
                                        sizeof(body) - 1)
                  == CARTBOT_SURREAL_CONFLICT);

    cartbot_surreal_result_free(&res);
}


static void
test_surreal_parse_http_errors(cartbot_mem_t *mem)
{
    cartbot_surreal_result_t  res;
    const char                parse[] =
        "{\"code\":400,\"details\":\"Request problems dectected\","
        "\"description\":\"There is a problem with your request.\","
        "\"information\":\"Parse error: Unexpected token\"}";
    const char                auth[] =
        "There was a problem with authentication";

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 400, parse,
                                        sizeof(parse) - 1)
                  == CARTBOT_SURREAL_BAD_REQUEST);
    CARTBOT_CHECK_STR(res.message, "Parse error: Unexpected token");
    cartbot_surreal_result_free(&res);

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 401, auth,
                                        sizeof(auth) - 1)
                  == CARTBOT_SURREAL_AUTH);
    cartbot_surreal_result_free(&res);

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 502, "", 0)
                  == CARTBOT_SURREAL_UNAVAILABLE);
    cartbot_surreal_result_free(&res);

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 200, "<html>", 6)
                  == CARTBOT_SURREAL_PROTOCOL);
    cartbot_surreal_result_free(&res);

    CARTBOT_CHECK(cartbot_surreal_parse(&res, mem, 200, "[{\"x\":1}]", 9)
                  == CARTBOT_SURREAL_PROTOCOL);
    cartbot_surreal_result_free(&res);
}


static void
test_surreal_signin_token(cartbot_mem_t *mem)
{
    char         err[64];
    yajl_val     v;
    const char   plain[] = "{\"code\":200,\"details\":\"Authentication "
                           "succeeded\",\"token\":\"eyJ.a.b\"}";
    const char   refresh[] = "{\"token\":{\"access\":\"A\",\"refresh\":\"R\"}}";

    (void) mem;

    v = cartbot_json_parse(plain, sizeof(plain) - 1, err, sizeof(err));
    CARTBOT_CHECK_STR(cartbot_surreal_signin_token(v), "eyJ.a.b");
    cartbot_json_free(v);

    v = cartbot_json_parse(refresh, sizeof(refresh) - 1, err, sizeof(err));
    CARTBOT_CHECK_STR(cartbot_surreal_signin_token(v), "A");
    cartbot_json_free(v);
}


const cartbot_test_t  cartbot_surreal_tests[] = {
    { "surreal: variables are URL-encoded, names checked", test_surreal_bind },
    { "surreal: the audited literal quoting", test_surreal_quote },
    { "surreal: OK statements and the last value", test_surreal_parse_ok },
    { "surreal: a failed transaction points at its cause",
      test_surreal_parse_transaction_error },
    { "surreal: THROWn permission errors", test_surreal_parse_thrown },
    { "surreal: write conflicts are retryable", test_surreal_parse_conflict },
    { "surreal: 400, 401, 5xx and garbage answers",
      test_surreal_parse_http_errors },
    { "surreal: signin token, plain and with refresh",
      test_surreal_signin_token },
    { NULL, NULL }
};
