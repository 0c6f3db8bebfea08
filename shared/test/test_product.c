
/* unit tests: cartbot_product (the catalog's rules, keys, hash, embedding) */

#include <math.h>

#include "cartbot_test.h"
#include "cartbot_product.h"


/* checks one JSON text; returns the result, the reasons in err */

static int
test_product_check(cartbot_mem_t *mem, const char *json, unsigned flags,
    cartbot_product_t *p, cartbot_product_error_t *err)
{
    int             rc;
    char            jerr[128];
    yajl_val        v;
    cartbot_buf_t  *why;

    why = cartbot_alloc(mem, sizeof(cartbot_buf_t));
    if (why == NULL) {
        return -2;
    }

    cartbot_buf_init(why, mem, 0);
    err->why = why;

    v = cartbot_json_parse(json, strlen(json), jerr, sizeof(jerr));
    if (v == NULL) {
        return -2;
    }

    rc = cartbot_product_check(mem, v, flags, p, err);

    /* the strings point into v: keep copies of what the tests look at */

    if (p->text[CARTBOT_PRODUCT_NAME]) {
        p->text[CARTBOT_PRODUCT_NAME] =
            cartbot_strndup(mem, p->text[CARTBOT_PRODUCT_NAME],
                            strlen(p->text[CARTBOT_PRODUCT_NAME]));
    }

    if (err->field) {
        err->field = cartbot_strndup(mem, err->field, strlen(err->field));
    }

    cartbot_buf_cstr(why);
    cartbot_json_free(v);

    return rc;
}


static void
test_product_good(cartbot_mem_t *mem)
{
    cartbot_product_t        p;
    cartbot_product_error_t  err;

    CARTBOT_CHECK(test_product_check(mem,
        "{\"id\": \"product:tee_blue\", \"name\": \"Blue Tee\","
        " \"description\": \"Soft\", \"category\": \"Clothing\","
        " \"sub_category\": \"T-Shirts\", \"price\": 19.99,"
        " \"score\": 4.5, \"stock_quantity\": 3, \"specs\": null}",
        CARTBOT_PRODUCT_COMPLETE, &p, &err) == 0);
    CARTBOT_CHECK_STR(p.key, "tee_blue");
    CARTBOT_CHECK(!p.derived);
    CARTBOT_CHECK(p.price == 19.99);
    CARTBOT_CHECK(p.has_score && p.score == 4.5);
    CARTBOT_CHECK(p.stock == 3);
    CARTBOT_CHECK(p.text[CARTBOT_PRODUCT_SPECS] == NULL);

    /* the table needs only a name and a price; the key from the name */

    CARTBOT_CHECK(test_product_check(mem,
        "{\"name\": \"Caf\u00e9 Mug, 12 oz!\", \"price\": 8}", 0, &p, &err)
        == 0);
    CARTBOT_CHECK_STR(p.key, "caf_mug_12_oz");
    CARTBOT_CHECK(p.derived);
    CARTBOT_CHECK(p.stock == 0 && !p.has_score);

    /* "rating", as reads answer, is the score */

    CARTBOT_CHECK(test_product_check(mem,
        "{\"name\": \"A\", \"price\": 1, \"rating\": 0}", 0, &p, &err) == 0);
    CARTBOT_CHECK(p.has_score && p.score == 0);
}


static void
test_product_bad(cartbot_mem_t *mem)
{
    size_t                   i;
    cartbot_product_t        p;
    cartbot_product_error_t  err;

    static const struct {
        const char  *json;
        unsigned     flags;
        const char  *code;
        const char  *field;
        const char  *why;
    } cases[] = {
        { "[1]", 0, "invalid_product", NULL,
          "a product must be a JSON object, not an array" },
        { "{\"price\": 3}", 0, "invalid_name", "name", "name is required" },
        { "{\"name\": \" \\t\", \"price\": 3}", 0, "invalid_name", "name",
          "name is empty" },
        { "{\"name\": \"N\", \"price\": -3}", 0, "invalid_price", "price",
          "price must be greater than 0 (got -3)" },
        { "{\"name\": \"N\", \"price\": 0}", 0, "invalid_price", "price",
          "price must be greater than 0 (got 0)" },
        { "{\"name\": \"N\", \"price\": 1e10}", 0, "invalid_price", "price",
          "price must be at most 1000000000 (got 1e10)" },
        { "{\"name\": \"N\", \"price\": \"1\"}", 0, "invalid_price", "price",
          "price must be a number, not a string" },
        { "{\"name\": \"N\", \"price\": 1, \"score\": 5.01}", 0,
          "invalid_score", "score", "score must be from 0 to 5 (got 5.01)" },
        { "{\"name\": \"N\", \"price\": 1, \"rating\": -1}", 0,
          "invalid_score", "rating",
          "rating must be from 0 to 5 (got -1)" },
        { "{\"name\": \"N\", \"price\": 1, \"score\": 1, \"rating\": 1}", 0,
          "invalid_score", "score",
          "score and rating are the same field: give one of them" },
        { "{\"name\": \"N\", \"price\": 1, \"stock_quantity\": 2.5}", 0,
          "invalid_stock_quantity", "stock_quantity",
          "stock_quantity must be a whole number (got 2.5)" },
        { "{\"name\": \"N\", \"price\": 1, \"stock_quantity\": -1}", 0,
          "invalid_stock_quantity", "stock_quantity",
          "stock_quantity must not be negative (got -1)" },
        { "{\"name\": \"N\", \"price\": 1, \"colour\": \"red\"}", 0,
          "unknown_field", "colour", "unknown key \"colour\"" },
        { "{\"name\": \"N\", \"price\": 1, \"id\": \"bad id!\"}", 0,
          "invalid_id", "id",
          "id \"bad id!\" must be 1 to 64 letters, digits or '_'" },
        { "{\"name\": \"N\", \"price\": 1, \"id\": \"session:x\"}", 0,
          "invalid_id", "id",
          "id \"session:x\" must be 1 to 64 letters, digits or '_'" },
        { "{\"name\": \"N\", \"price\": 1, \"category\": 7}", 0,
          "invalid_category", "category",
          "category must be a string, not a number" },

        /* complete: description, category, sub_category, not empty */
        { "{\"name\": \"N\", \"price\": 1}", CARTBOT_PRODUCT_COMPLETE,
          "invalid_description", "description",
          "description is required; category is required; "
          "sub_category is required" },
        { "{\"name\": \"N\", \"price\": 1, \"description\": \"D\","
          " \"category\": \"\", \"sub_category\": \"S\"}",
          CARTBOT_PRODUCT_COMPLETE, "invalid_category", "category",
          "category is empty" },

        /* every reason, the first one's code */
        { "{\"id\": 42, \"name\": [\"x\"], \"price\": \"12.5\","
          " \"description\": 7, \"stock_quantity\": \"3\"}", 0,
          "invalid_name", "name",
          "name must be a string, not an array; description must be a "
          "string, not a number; price must be a number, not a string; "
          "stock_quantity must be a whole number, not a string; id must be "
          "a string, not a number" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CARTBOT_CHECK(test_product_check(mem, cases[i].json, cases[i].flags,
                                         &p, &err) == -1);
        CARTBOT_CHECK_STR(err.why->data, cases[i].why);
        CARTBOT_CHECK_STR(err.code, cases[i].code);

        if (cases[i].field) {
            CARTBOT_CHECK_STR(err.field, cases[i].field);

        } else {
            CARTBOT_CHECK(err.field == NULL);
        }
    }
}


static void
test_product_lengths(cartbot_mem_t *mem)
{
    char                     json[512];
    size_t                   i;
    cartbot_product_t        p;
    cartbot_product_error_t  err;

    /* 200 characters (two bytes each) are a name; 201 are not */

    strcpy(json, "{\"price\": 1, \"name\": \"");

    for (i = 0; i < 200; i++) {
        strcat(json, "\xc3\xa9");
    }

    strcat(json, "\"}");
    CARTBOT_CHECK(test_product_check(mem, json, 0, &p, &err) == 0);

    json[strlen(json) - 2] = '\0';
    strcat(json, "x\"}");
    CARTBOT_CHECK(test_product_check(mem, json, 0, &p, &err) == -1);
    CARTBOT_CHECK_STR(err.why->data,
                      "name is longer than 200 characters (201)");
    CARTBOT_CHECK_STR(err.code, "invalid_name");
}


static void
test_product_slug(cartbot_mem_t *mem)
{
    const char  *k;

    CARTBOT_CHECK_STR(cartbot_product_slug(mem, "Blue Cotton T-Shirt"),
                      "blue_cotton_t_shirt");
    CARTBOT_CHECK_STR(cartbot_product_slug(mem, "  --Hello--  "), "hello");

    /* nothing ASCII: a hash */

    k = cartbot_product_slug(mem, "\xe6\x97\xa5\xe6\x9c\xac");
    CARTBOT_CHECK(k && strlen(k) == 18 && strncmp(k, "p_", 2) == 0);
    CARTBOT_CHECK_STR(cartbot_product_slug(mem, "\xe6\x97\xa5\xe6\x9c\xac"),
                      k);

    /* at most 64, never ending in '_' */

    k = cartbot_product_slug(mem, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                  "aaaaaaaaaaaaaaaaaaaaaaa bcd");
    CARTBOT_CHECK(k && strlen(k) == 63 && k[62] == 'a');
}


static void
test_product_hash(cartbot_mem_t *mem)
{
    char                     h1[CARTBOT_PRODUCT_HASH_HEX + 1];
    char                     h2[CARTBOT_PRODUCT_HASH_HEX + 1];
    char                     h3[CARTBOT_PRODUCT_HASH_HEX + 1];
    cartbot_product_t        p;
    cartbot_product_error_t  err;

    CARTBOT_CHECK(test_product_check(mem,
        "{\"name\": \"Mug\", \"price\": 8, \"stock_quantity\": 2}", 0, &p,
        &err) == 0);
    CARTBOT_CHECK(cartbot_product_hash(&p, "m1", h1) == 0);
    CARTBOT_CHECK(strlen(h1) == CARTBOT_PRODUCT_HASH_HEX);

    /* the same values: the same hash (8 and 8.0 are one price) */

    CARTBOT_CHECK(test_product_check(mem,
        "{\"stock_quantity\": 2, \"price\": 8.0, \"name\": \"Mug\"}", 0, &p,
        &err) == 0);
    CARTBOT_CHECK(cartbot_product_hash(&p, "m1", h2) == 0);
    CARTBOT_CHECK_STR(h2, h1);

    /* another model or another value: another hash */

    CARTBOT_CHECK(cartbot_product_hash(&p, "m2", h3) == 0);
    CARTBOT_CHECK(strcmp(h3, h1) != 0);

    p.stock = 3;
    CARTBOT_CHECK(cartbot_product_hash(&p, "m1", h3) == 0);
    CARTBOT_CHECK(strcmp(h3, h1) != 0);
}


static void
test_product_number(cartbot_mem_t *mem)
{
    cartbot_buf_t  b;

    cartbot_buf_init(&b, mem, 0);
    cartbot_product_add_number(&b, 8);
    cartbot_buf_add_char(&b, ' ');
    cartbot_product_add_number(&b, 19.99);
    cartbot_buf_add_char(&b, ' ');
    cartbot_product_add_number(&b, 0.1 + 0.2);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), "8.0 19.99 0.30000000000000004");
}


static void
test_product_embed(cartbot_mem_t *mem)
{
    float                    a[CARTBOT_EMBED_DIM], b[CARTBOT_EMBED_DIM];
    cartbot_product_t        p;
    cartbot_product_error_t  err;

    CARTBOT_CHECK(test_product_check(mem,
        "{\"name\": \"Blue Cotton T-Shirt\", \"price\": 1,"
        " \"description\": \"Soft cotton tee\", \"image_url\": \"x\"}", 0,
        &p, &err) == 0);
    CARTBOT_CHECK(cartbot_product_embed(&p, a) > 0);

    /* the image url is not text to embed; the name is */

    p.text[CARTBOT_PRODUCT_IMAGE_URL] = "http://example.com/other.png";
    CARTBOT_CHECK(cartbot_product_embed(&p, b) > 0);
    CARTBOT_CHECK(fabs(cartbot_embed_cosine(a, b, CARTBOT_EMBED_DIM) - 1)
                  < 1e-6);

    p.text[CARTBOT_PRODUCT_NAME] = "Stainless Steel Travel Mug";
    cartbot_product_embed(&p, b);
    CARTBOT_CHECK(cartbot_embed_cosine(a, b, CARTBOT_EMBED_DIM) < 0.9);

    /* nothing to embed: 0 tokens */

    CARTBOT_CHECK(test_product_check(mem, "{\"name\": \"!!!\", \"price\": 1}",
                                     0, &p, &err) == 0);
    CARTBOT_CHECK(cartbot_product_embed(&p, a) == 0);
}


const cartbot_test_t  cartbot_product_tests[] = {
    { "product: good products", test_product_good },
    { "product: every rule, its code and field", test_product_bad },
    { "product: lengths in characters", test_product_lengths },
    { "product: keys from names", test_product_slug },
    { "product: content hash", test_product_hash },
    { "product: numbers for SurrealQL", test_product_number },
    { "product: embedding of the text fields", test_product_embed },
    { NULL, NULL }
};
