
/*
 * Runs every unit test of the Cartbot core; a test may be chosen by name
 * with an argument (substring match).
 */

#include <stdlib.h>

#include "cartbot_test.h"


extern const cartbot_test_t  cartbot_buf_tests[];
extern const cartbot_test_t  cartbot_json_tests[];
extern const cartbot_test_t  cartbot_base64_tests[];
extern const cartbot_test_t  cartbot_surreal_tests[];
extern const cartbot_test_t  cartbot_jwt_tests[];
extern const cartbot_test_t  cartbot_ratelimit_tests[];
extern const cartbot_test_t  cartbot_pricing_tests[];
extern const cartbot_test_t  cartbot_embed_tests[];
extern const cartbot_test_t  cartbot_rank_tests[];
extern const cartbot_test_t  cartbot_nlu_tests[];
extern const cartbot_test_t  cartbot_chat_tests[];
extern const cartbot_test_t  cartbot_llm_tests[];
extern const cartbot_test_t  cartbot_product_tests[];

static const cartbot_test_t  *cartbot_test_groups[] = {
    cartbot_buf_tests,
    cartbot_json_tests,
    cartbot_base64_tests,
    cartbot_surreal_tests,
    cartbot_jwt_tests,
    cartbot_ratelimit_tests,
    cartbot_pricing_tests,
    cartbot_embed_tests,
    cartbot_rank_tests,
    cartbot_nlu_tests,
    cartbot_chat_tests,
    cartbot_llm_tests,
    cartbot_product_tests,
    NULL
};


int  cartbot_test_failures;


int
main(int argc, char **argv)
{
    int                    passed, failed, before;
    size_t                 g;
    cartbot_arena_t        arena;
    const cartbot_test_t  *t;

    passed = 0;
    failed = 0;

    for (g = 0; cartbot_test_groups[g]; g++) {
        for (t = cartbot_test_groups[g]; t->name; t++) {

            if (argc > 1 && strstr(t->name, argv[1]) == NULL) {
                continue;
            }

            cartbot_arena_init(&arena);

            before = cartbot_test_failures;
            t->run(&arena.mem);

            cartbot_arena_free(&arena);

            if (cartbot_test_failures == before) {
                printf("ok - %s\n", t->name);
                passed++;

            } else {
                printf("not ok - %s\n", t->name);
                failed++;
            }
        }
    }

    printf("%d passed, %d failed\n", passed, failed);

    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
