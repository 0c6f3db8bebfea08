
/* unit tests: cartbot_rank (reciprocal rank fusion) */

#include <math.h>

#include "cartbot_test.h"
#include "cartbot_rank.h"


#define test_rank_item(id, score)  { cartbot_str(id), score }


static int
test_rank_id(const cartbot_rank_hit_t *h, const char *id)
{
    return h->id.len == strlen(id) && memcmp(h->id.data, id, h->id.len) == 0;
}


static double
test_rank_abs(double x)
{
    return x < 0 ? -x : x;
}


/*
 * By hand, k = 60, weights 1:
 *   a: full text 1, vector 2   1/61 + 1/62 = 0.0325225...
 *   c: full text 3, vector 1   1/63 + 1/61 = 0.0322664...
 *   b: full text 2             1/62        = 0.0161290...
 *   d:              vector 3   1/63        = 0.0158730...
 */

static void
test_rank_rrf(cartbot_mem_t *mem)
{
    size_t                      n;
    cartbot_rank_hit_t         *h;
    cartbot_rank_list_t         lists[2];
    static const cartbot_rank_item_t  ft[] = {
        test_rank_item("a", 2.5), test_rank_item("b", 1.7),
        test_rank_item("c", 0.9)
    };
    static const cartbot_rank_item_t  vec[] = {
        test_rank_item("c", 0.91), test_rank_item("a", 0.85),
        test_rank_item("d", 0.80)
    };

    lists[0].name = "fulltext";
    lists[0].items = ft;
    lists[0].n = 3;
    lists[0].weight = 1.0;
    lists[1].name = "vector";
    lists[1].items = vec;
    lists[1].n = 3;
    lists[1].weight = 1.0;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0);
    CARTBOT_CHECK(n == 4);
    if (n != 4) {
        return;
    }

    CARTBOT_CHECK(test_rank_id(&h[0], "a"));
    CARTBOT_CHECK(test_rank_id(&h[1], "c"));
    CARTBOT_CHECK(test_rank_id(&h[2], "b"));
    CARTBOT_CHECK(test_rank_id(&h[3], "d"));

    CARTBOT_CHECK(test_rank_abs(h[0].score - 0.0325225) < 1e-7);
    CARTBOT_CHECK(test_rank_abs(h[1].score - 0.0322664) < 1e-7);
    CARTBOT_CHECK(test_rank_abs(h[2].score - 0.0161290) < 1e-7);
    CARTBOT_CHECK(test_rank_abs(h[3].score - 0.0158730) < 1e-7);
    CARTBOT_CHECK(h[0].score == 1.0 / 61 + 1.0 / 62);

    /* weights: the vector list counts double */
    lists[1].weight = 2.0;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0 && n == 4);
    CARTBOT_CHECK(test_rank_id(&h[0], "c"));      /* 1/63 + 2/61 */
    CARTBOT_CHECK(test_rank_id(&h[1], "a"));      /* 1/61 + 2/62 */
    CARTBOT_CHECK(test_rank_id(&h[2], "d"));      /* 2/63 */
    CARTBOT_CHECK(test_rank_id(&h[3], "b"));      /* 1/62 */
    CARTBOT_CHECK(h[0].score == 1.0 / 63 + 2.0 / 61);

    /* another k: k = 1 favours the head of each list */
    lists[1].weight = 1.0;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, 1.0, &h, &n) == 0
                  && n == 4);
    CARTBOT_CHECK(test_rank_id(&h[0], "a"));      /* 1/2 + 1/3 */
    CARTBOT_CHECK(test_rank_id(&h[1], "c"));      /* 1/4 + 1/2 */
    CARTBOT_CHECK(h[0].score == 0.5 + 1.0 / 3);
    CARTBOT_CHECK(h[1].score == 0.25 + 0.5);
}


static void
test_rank_provenance(cartbot_mem_t *mem)
{
    size_t                      n;
    cartbot_buf_t               b;
    cartbot_rank_hit_t         *h;
    cartbot_rank_list_t         lists[2];
    static const cartbot_rank_item_t  ft[] = {
        test_rank_item("product:tee_blue", 2.25),
        test_rank_item("product:tee_navy", 1.5)
    };
    static const cartbot_rank_item_t  vec[] = {
        test_rank_item("product:mug_travel", 0.8125),
        test_rank_item("product:tee_blue", 0.75)
    };

    lists[0].name = "fulltext";
    lists[0].items = ft;
    lists[0].n = 2;
    lists[0].weight = 1.0;
    lists[1].name = "vector";
    lists[1].items = vec;
    lists[1].n = 2;
    lists[1].weight = 1.0;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0);
    CARTBOT_CHECK(n == 3);
    if (n != 3) {
        return;
    }

    /* in both lists */
    CARTBOT_CHECK(test_rank_id(&h[0], "product:tee_blue"));
    CARTBOT_CHECK(h[0].lists == 3 && h[0].nlists == 2);
    CARTBOT_CHECK(h[0].rank[0] == 1 && h[0].raw[0] == 2.25);
    CARTBOT_CHECK(h[0].rank[1] == 2 && h[0].raw[1] == 0.75);

    /* only in the vector list, at the top of it: 1/61 beats 1/62 */
    CARTBOT_CHECK(test_rank_id(&h[1], "product:mug_travel"));
    CARTBOT_CHECK(h[1].lists == 2 && h[1].nlists == 1);
    CARTBOT_CHECK(h[1].rank[0] == 0 && h[1].rank[1] == 1);
    CARTBOT_CHECK(h[1].raw[1] == 0.8125);

    /* only in the full-text list */
    CARTBOT_CHECK(test_rank_id(&h[2], "product:tee_navy"));
    CARTBOT_CHECK(h[2].lists == 1 && h[2].rank[0] == 2 && h[2].rank[1] == 0);

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_rank_add_json(&b, &h[0], lists, 2) == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b),
                      "{\"fulltext\":{\"rank\":1,\"score\":2.25},"
                      "\"vector\":{\"rank\":2,\"score\":0.75}}");

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_rank_add_json(&b, &h[1], lists, 2) == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b),
                      "{\"vector\":{\"rank\":1,\"score\":0.8125}}");
}


static void
test_rank_ties(cartbot_mem_t *mem)
{
    size_t                      n;
    cartbot_rank_hit_t         *h;
    cartbot_rank_list_t         lists[2];
    cartbot_rank_item_t         one[62], two[1];
    static const cartbot_rank_item_t  ab[] = {
        test_rank_item("p", 1), test_rank_item("q", 1)
    };
    static const cartbot_rank_item_t  ba[] = {
        test_rank_item("q", 1), test_rank_item("p", 1)
    };
    static const cartbot_rank_item_t  x[] = { test_rank_item("x", 1) };
    static const cartbot_rank_item_t  y[] = { test_rank_item("y", 1) };

    /* p: 1/61 + 1/62, q: 1/62 + 1/61: the same sum, the same bits; the
     * better rank in the first list decides */
    lists[0].name = "fulltext";
    lists[0].items = ab;
    lists[0].n = 2;
    lists[0].weight = 1.0;
    lists[1].name = "vector";
    lists[1].items = ba;
    lists[1].n = 2;
    lists[1].weight = 1.0;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0 && n == 2);
    CARTBOT_CHECK(h[0].score == h[1].score);
    CARTBOT_CHECK(test_rank_id(&h[0], "p") && test_rank_id(&h[1], "q"));

    lists[0].items = ba;
    lists[1].items = ab;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0 && n == 2);
    CARTBOT_CHECK(test_rank_id(&h[0], "q") && test_rank_id(&h[1], "p"));

    /* each first in one list: 1/61 each; the first list wins, whichever
     * order the lists' items came in */
    lists[0].items = y;
    lists[0].n = 1;
    lists[1].items = x;
    lists[1].n = 1;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0 && n == 2);
    CARTBOT_CHECK(h[0].score == h[1].score);
    CARTBOT_CHECK(test_rank_id(&h[0], "y") && test_rank_id(&h[1], "x"));

    /* a tie across weights: 2/(60+62) == 1/(60+1); found in more lists
     * first, then the first list's rank */
    for (n = 0; n < 62; n++) {
        one[n].id.data = n == 61 ? "x" : "filler";
        one[n].id.len = n == 61 ? 1 : 6;
        one[n].score = 0;
    }

    one[0].id.data = "f0";
    one[0].id.len = 2;
    two[0].id.data = "y";
    two[0].id.len = 1;
    two[0].score = 0;

    lists[0].items = one;
    lists[0].n = 62;
    lists[0].weight = 2.0;
    lists[1].items = two;
    lists[1].n = 1;
    lists[1].weight = 1.0;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0);
    /* f0, filler (rank 2: repeats count at their best rank), x, y */
    CARTBOT_CHECK(n == 4);
    if (n == 4) {
        CARTBOT_CHECK(test_rank_id(&h[0], "f0"));
        CARTBOT_CHECK(test_rank_id(&h[1], "filler") && h[1].rank[0] == 2);
        CARTBOT_CHECK(h[2].score == h[3].score);
        CARTBOT_CHECK(test_rank_id(&h[2], "x") && h[2].rank[0] == 62);
        CARTBOT_CHECK(test_rank_id(&h[3], "y"));
    }
}


static void
test_rank_edges(cartbot_mem_t *mem)
{
    size_t                      n;
    cartbot_buf_t               b;
    cartbot_rank_hit_t         *h;
    cartbot_rank_list_t         lists[CARTBOT_RANK_MAX_LISTS + 1];
    static const cartbot_rank_item_t  a[] = {
        test_rank_item("a", 3), test_rank_item("", 2),
        test_rank_item("b", 1)
    };

    memset(lists, 0, sizeof(lists));

    /* nothing at all */
    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 0, CARTBOT_RANK_K, &h, &n)
                  == 0 && n == 0 && h == NULL);
    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0 && n == 0);

    /* bad arguments */
    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, CARTBOT_RANK_MAX_LISTS + 1,
                                    CARTBOT_RANK_K, &h, &n) == -1);
    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, 0.0, &h, &n) == -1);
    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, -1.0, &h, &n) == -1);
    lists[0].n = 1;
    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == -1);

    /* an empty id is skipped but keeps its place in the ranks; a list of
     * weight 0 gives provenance and no score */
    lists[0].name = "fulltext";
    lists[0].items = a;
    lists[0].n = 3;
    lists[0].weight = 1.0;
    lists[1].name = "vector";
    lists[1].items = a;
    lists[1].n = 1;
    lists[1].weight = 0.0;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 2, CARTBOT_RANK_K, &h, &n)
                  == 0 && n == 2);
    if (n == 2) {
        CARTBOT_CHECK(test_rank_id(&h[0], "a") && h[0].lists == 3);
        CARTBOT_CHECK(h[0].score == 1.0 / 61);
        CARTBOT_CHECK(test_rank_id(&h[1], "b") && h[1].rank[0] == 3);
    }

    /* a list without a name, a raw score that is not a number */
    lists[0].name = NULL;
    lists[0].n = 1;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, lists, 1, CARTBOT_RANK_K, &h, &n)
                  == 0 && n == 1);
    if (n != 1) {
        return;
    }

    h[0].raw[0] = NAN;

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_rank_add_json(&b, &h[0], lists, 1) == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b),
                      "{\"list\":{\"rank\":1,\"score\":null}}");
}


/* the work is bounded: a list longer than CARTBOT_RANK_MAX_ITEMS is cut */

static void
test_rank_bounded(cartbot_mem_t *mem)
{
    size_t                n, i;
    char                 *ids;
    cartbot_rank_hit_t   *h;
    cartbot_rank_item_t  *items;
    cartbot_rank_list_t   list;

    n = CARTBOT_RANK_MAX_ITEMS + 500;

    items = cartbot_alloc(mem, n * sizeof(cartbot_rank_item_t));
    ids = cartbot_alloc(mem, n * 8);
    CARTBOT_CHECK(items != NULL && ids != NULL);
    if (items == NULL || ids == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        snprintf(ids + i * 8, 8, "p%zu", i);
        items[i].id.data = ids + i * 8;
        items[i].id.len = strlen(ids + i * 8);
        items[i].score = (double) (n - i);
    }

    list.name = "vector";
    list.items = items;
    list.n = n;
    list.weight = 1.0;

    CARTBOT_CHECK(cartbot_rank_fuse(mem, &list, 1, CARTBOT_RANK_K, &h, &i)
                  == 0);
    CARTBOT_CHECK(i == CARTBOT_RANK_MAX_ITEMS);
    CARTBOT_CHECK(i > 0 && test_rank_id(&h[0], "p0") && h[0].rank[0] == 1);
    CARTBOT_CHECK(i > 0 && h[i - 1].rank[0] == CARTBOT_RANK_MAX_ITEMS);
}


const cartbot_test_t  cartbot_rank_tests[] = {
    { "rank: RRF by hand, weights, k", test_rank_rrf },
    { "rank: provenance, ids in one list only, JSON", test_rank_provenance },
    { "rank: ties broken deterministically", test_rank_ties },
    { "rank: empty lists, bad arguments, weight 0", test_rank_edges },
    { "rank: long lists are cut", test_rank_bounded },
    { NULL, NULL }
};
