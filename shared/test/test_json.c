
/* unit tests: cartbot_json */

#include "cartbot_test.h"
#include "cartbot_json.h"


static void
test_json_parse_and_get(cartbot_mem_t *mem)
{
    char         err[64];
    double       d;
    yajl_val     v;
    long long    n;
    const char   text[] = "{\"a\":\"x\",\"n\":3,\"f\":2.5,\"arr\":[1,2]}";

    (void) mem;

    /* not NUL-terminated: only the first len bytes count */
    v = cartbot_json_parse(text, sizeof(text) - 1, err, sizeof(err));

    CARTBOT_CHECK(v != NULL);
    CARTBOT_CHECK_STR(cartbot_json_get_string(v, "a"), "x");
    CARTBOT_CHECK(cartbot_json_get_string(v, "n") == NULL);
    CARTBOT_CHECK(cartbot_json_get_int(v, "n", &n) == 0 && n == 3);
    CARTBOT_CHECK(cartbot_json_get_int(v, "f", &n) == -1);
    CARTBOT_CHECK(cartbot_json_get_double(v, "f", &d) == 0 && d == 2.5);
    CARTBOT_CHECK(cartbot_json_array_len(cartbot_json_get(v, "arr")) == 2);
    CARTBOT_CHECK(cartbot_json_get(v, "missing") == NULL);

    cartbot_json_free(v);
}


static void
test_json_rejects_bad_input(cartbot_mem_t *mem)
{
    int       i;
    char      err[64], deep[200];
    yajl_val  v;

    (void) mem;

    v = cartbot_json_parse("{\"a\":", 5, err, sizeof(err));
    CARTBOT_CHECK(v == NULL && err[0] != '\0');

    v = cartbot_json_parse("{\"a\":1}\0x", 9, err, sizeof(err));
    CARTBOT_CHECK(v == NULL);

    v = cartbot_json_parse("\"\xff\xfe\"", 4, err, sizeof(err));
    CARTBOT_CHECK(v == NULL);

    for (i = 0; i < 100; i++) {
        deep[i] = '[';
        deep[100 + i] = ']';
    }

    v = cartbot_json_parse(deep, 200, err, sizeof(err));
    CARTBOT_CHECK(v == NULL);
    CARTBOT_CHECK(strstr(err, "deep") != NULL);

    /* brackets inside strings do not count as nesting */
    v = cartbot_json_parse("\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"", 41,
                           err, sizeof(err));
    CARTBOT_CHECK(v != NULL);
    cartbot_json_free(v);
}


static void
test_json_escape(cartbot_mem_t *mem)
{
    cartbot_buf_t  b;

    cartbot_buf_init(&b, mem, 0);
    cartbot_json_add_string(&b, "a\"b\\c\n\x01\xc3\xa9", 9);

    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b),
                      "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
}


static void
test_json_roundtrip(cartbot_mem_t *mem)
{
    char           err[64];
    yajl_val       v;
    cartbot_buf_t  b;
    const char     text[] = "{\"k\":[1,2.50,true,false,null,\"s\\\"\"],"
                            "\"o\":{}}";

    v = cartbot_json_parse(text, sizeof(text) - 1, err, sizeof(err));
    CARTBOT_CHECK(v != NULL);

    cartbot_buf_init(&b, mem, 0);
    cartbot_json_add_value(&b, v);

    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), text);

    cartbot_json_free(v);
}


const cartbot_test_t  cartbot_json_tests[] = {
    { "json: parse a document and read typed members",
      test_json_parse_and_get },
    { "json: malformed, NUL, invalid UTF-8 and deep input are refused",
      test_json_rejects_bad_input },
    { "json: strings are escaped", test_json_escape },
    { "json: values serialize back to the same text", test_json_roundtrip },
    { NULL, NULL }
};
