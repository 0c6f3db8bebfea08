
/* unit tests: cartbot_buf */

#include "cartbot_test.h"


static void
test_buf_grows(cartbot_mem_t *mem)
{
    int            i;
    cartbot_buf_t  b;

    cartbot_buf_init(&b, mem, 0);

    for (i = 0; i < 1000; i++) {
        cartbot_buf_add(&b, "abc", 3);
    }

    CARTBOT_CHECK(b.len == 3000);
    CARTBOT_CHECK(!b.failed);
    CARTBOT_CHECK(memcmp(b.data + 2997, "abc", 3) == 0);
}


static void
test_buf_printf(cartbot_mem_t *mem)
{
    cartbot_buf_t  b;

    cartbot_buf_init(&b, mem, 4);
    cartbot_buf_printf(&b, "%s=%d;", "qty", 42);
    cartbot_buf_printf(&b, "%05.1f", 2.5);

    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), "qty=42;002.5");
    CARTBOT_CHECK(b.len == 12);
}


static void *
test_failing_alloc(void *data, size_t size)
{
    (void) data;
    (void) size;

    return NULL;
}


static void
test_buf_failure_sticks(cartbot_mem_t *mem)
{
    cartbot_buf_t  b;
    cartbot_mem_t  none = { test_failing_alloc, NULL };

    (void) mem;

    cartbot_buf_init(&b, &none, 0);

    CARTBOT_CHECK(cartbot_buf_add(&b, "x", 1) == -1);
    CARTBOT_CHECK(b.failed);
    CARTBOT_CHECK(cartbot_buf_cstr(&b) == NULL);
}


const cartbot_test_t  cartbot_buf_tests[] = {
    { "buf: grows across many appends", test_buf_grows },
    { "buf: printf appends formatted text", test_buf_printf },
    { "buf: an allocation failure is remembered", test_buf_failure_sticks },
    { NULL, NULL }
};
