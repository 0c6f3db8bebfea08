
/* unit tests: cartbot_chat */

#include "cartbot_test.h"
#include "cartbot_chat.h"


#define T_CAND(name, sub)  { cartbot_str(name), cartbot_str(sub), 1 }


static const cartbot_chat_candidate_t  t_shirts[] = {
    T_CAND("Blue Cotton T-Shirt", "t-shirts"),
    T_CAND("Navy V-Neck Tee", "t-shirts"),
    T_CAND("Light Blue Pique Polo Shirt", "shirts"),
    T_CAND("Blue Cotton Baseball Cap", "accessories"),
    T_CAND("Black Mountain Graphic Tee", "t-shirts")
};

static const cartbot_chat_candidate_t  t_mugs[] = {
    T_CAND("White Ceramic Coffee Mug", "mugs"),
    T_CAND("Insulated Travel Mug", "drinkware"),
    T_CAND("Speckled Stoneware Mug Set of 4", "mugs"),
    T_CAND("Glass French Press Coffee Maker", "coffee")
};


static void
test_chat_fit(cartbot_mem_t *mem)
{
    (void) mem;

    CARTBOT_CHECK(cartbot_chat_fit("blue t-shirts", 13,
                                   "Blue Cotton T-Shirt", 19) == 1.0);
    CARTBOT_CHECK(cartbot_chat_fit("blue t shirt", 12,
                                   "Blue Cotton T-Shirt", 19) == 1.0);
    CARTBOT_CHECK(cartbot_chat_fit("tshirts", 7, "Navy V-Neck Tee", 15)
                  == 1.0);
    CARTBOT_CHECK(cartbot_chat_fit("the hodie", 9,
                                   "Grey Fleece Pullover Hoodie", 27) == 1.0);
    CARTBOT_CHECK(cartbot_chat_fit("candles", 7,
                                   "Lavender Soy Candle", 19) == 1.0);
    CARTBOT_CHECK(cartbot_chat_fit("hoodies", 7,
                                   "Grey Fleece Pullover Hoodie", 27) == 1.0);

    /* the halves of a hyphenated name, said apart or together */

    CARTBOT_CHECK(cartbot_chat_fit("noise cancelling headphones", 27,
                        "Wireless Noise-Cancelling Headphones", 36) == 1.0);
    CARTBOT_CHECK(cartbot_chat_fit("noise-cancelling headphones", 27,
                        "Wireless Noise-Cancelling Headphones", 36) == 1.0);
    CARTBOT_CHECK(cartbot_chat_fit("1000 piece puzzle", 17,
                        "1000-Piece Jigsaw Puzzle, Alpine Lake", 37) == 1.0);

    /* but a T-shirt is no shirt */

    CARTBOT_CHECK(cartbot_chat_fit("shirt", 5, "Blue Cotton T-Shirt", 19)
                  == 0);
    CARTBOT_CHECK(cartbot_chat_fit("red mug", 7,
                                   "White Ceramic Coffee Mug", 24) == 0.5);
    CARTBOT_CHECK(cartbot_chat_fit("", 0, "White Ceramic Coffee Mug", 24)
                  == 0);
    CARTBOT_CHECK(cartbot_chat_fit("\xff\xfe-'- t", 8, "T", 1) == 1.0);
}


static void
test_chat_pick(cartbot_mem_t *mem)
{
    size_t               chosen, tied[8], ntied;
    cartbot_chat_pick_e  rc;

    (void) mem;

    chosen = 99;
    rc = cartbot_chat_pick("blue t-shirts", "blue", t_shirts, 5, &chosen,
                           tied, &ntied);
    CARTBOT_CHECK(rc == CARTBOT_CHAT_PICK_ONE && chosen == 0);

    rc = cartbot_chat_pick("t-shirt", NULL, t_shirts, 5, &chosen, tied,
                           &ntied);
    CARTBOT_CHECK(rc == CARTBOT_CHAT_PICK_AMBIGUOUS && ntied == 3);
    CARTBOT_CHECK(tied[0] == 0 && tied[1] == 1 && tied[2] == 4);

    rc = cartbot_chat_pick("tee", "navy", t_shirts, 5, &chosen, tied,
                           &ntied);
    CARTBOT_CHECK(rc == CARTBOT_CHAT_PICK_ONE && chosen == 1);

    rc = cartbot_chat_pick("mug", NULL, t_mugs, 4, &chosen, tied, &ntied);
    CARTBOT_CHECK(rc == CARTBOT_CHAT_PICK_AMBIGUOUS && ntied == 3);

    rc = cartbot_chat_pick("travel mug", NULL, t_mugs, 4, &chosen, tied,
                           &ntied);
    CARTBOT_CHECK(rc == CARTBOT_CHAT_PICK_ONE && chosen == 1);

    rc = cartbot_chat_pick("unicorn saddle", NULL, t_mugs, 4, &chosen,
                           tied, &ntied);
    CARTBOT_CHECK(rc == CARTBOT_CHAT_PICK_NONE && ntied == 3);

    rc = cartbot_chat_pick("mug", NULL, t_mugs, 0, &chosen, tied, &ntied);
    CARTBOT_CHECK(rc == CARTBOT_CHAT_PICK_NONE && ntied == 0);
}


static void
test_chat_sse(cartbot_mem_t *mem)
{
    cartbot_buf_t  b;

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_chat_sse_text(&b, "Done! I've added 2 \xc3\x97 "
                                        "tea", 25, 8) == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b),
                      "event: delta\ndata: {\"text\":\"Done! I've \"}\n\n"
                      "event: delta\ndata: {\"text\":\"added 2 \"}\n\n"
                      "event: delta\ndata: {\"text\":\"\xc3\x97 tea\"}\n\n");

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_chat_sse_text(&b, "", 0, 8) == 0);
    CARTBOT_CHECK(b.len == 0);

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_chat_sse(&b, "result", "{\"a\":1}", 7) == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b),
                      "event: result\ndata: {\"a\":1}\n\n");
}


const cartbot_test_t  cartbot_chat_tests[] = {
    { "chat: how well a phrase fits a name", test_chat_fit },
    { "chat: picking the product meant", test_chat_pick },
    { "chat: server-sent events", test_chat_sse },
    { NULL, NULL }
};
