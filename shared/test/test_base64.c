
/* unit tests: cartbot_base64 (RFC 4648 section 10 vectors) */

#include "cartbot_test.h"
#include "cartbot_base64.h"


static void
test_base64_vectors(cartbot_mem_t *mem)
{
    size_t          i, n;
    unsigned char   out[16];
    cartbot_buf_t   b;
    static const char  *plain[] = { "", "f", "fo", "foo", "foob", "fooba",
                                    "foobar" };
    static const char  *std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
                                  "Zm9vYmE=", "Zm9vYmFy" };

    for (i = 0; i < 7; i++) {
        cartbot_buf_init(&b, mem, 0);
        cartbot_base64_encode(&b, (const unsigned char *) plain[i],
                              strlen(plain[i]), 0);
        CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), std[i]);

        CARTBOT_CHECK(cartbot_base64_decode(out, &n, std[i], strlen(std[i]),
                                            0) == 0);
        CARTBOT_CHECK(n == strlen(plain[i])
                      && memcmp(out, plain[i], n) == 0);
    }
}


static void
test_base64url(cartbot_mem_t *mem)
{
    size_t          n;
    unsigned char   out[8];
    cartbot_buf_t   b;
    unsigned char   raw[] = { 0xfb, 0xff, 0xbf };

    cartbot_buf_init(&b, mem, 0);
    cartbot_base64_encode(&b, raw, 3, 1);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), "-_-_");

    cartbot_buf_init(&b, mem, 0);
    cartbot_base64_encode(&b, raw, 2, 1);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), "-_8");

    CARTBOT_CHECK(cartbot_base64_decode(out, &n, "-_8", 3, 1) == 0 && n == 2);
    CARTBOT_CHECK(cartbot_base64_decode(out, &n, "+/8", 3, 1) == -1);
    CARTBOT_CHECK(cartbot_base64_decode(out, &n, "-_9", 3, 1) == -1);
    CARTBOT_CHECK(cartbot_base64_decode(out, &n, "-_8", 3, 0) == -1);
    CARTBOT_CHECK(cartbot_base64_decode(out, &n, "ab\0c", 4, 1) == -1);
    CARTBOT_CHECK(cartbot_base64_decode(out, &n, "ab.c", 4, 1) == -1);
    CARTBOT_CHECK(cartbot_base64_decode(out, &n, "A", 1, 1) == -1);
}


const cartbot_test_t  cartbot_base64_tests[] = {
    { "base64: RFC 4648 test vectors", test_base64_vectors },
    { "base64url: alphabet, no padding, canonical only", test_base64url },
    { NULL, NULL }
};
