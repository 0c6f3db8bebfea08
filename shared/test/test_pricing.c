
/* unit tests: cartbot_pricing and record keys */

#include "cartbot_test.h"
#include "cartbot_pricing.h"
#include "cartbot_surreal.h"


static void
test_pricing_money(cartbot_mem_t *mem)
{
    long long      c;
    cartbot_buf_t  b;

    CARTBOT_CHECK(cartbot_pricing_parse_money("12.5", 4, &c) == 0
                  && c == 1250);
    CARTBOT_CHECK(cartbot_pricing_parse_money("75", 2, &c) == 0 && c == 7500);
    CARTBOT_CHECK(cartbot_pricing_parse_money("0.05", 4, &c) == 0 && c == 5);
    CARTBOT_CHECK(cartbot_pricing_parse_money("1.234", 5, &c) == -1);
    CARTBOT_CHECK(cartbot_pricing_parse_money("-1", 2, &c) == -1);
    CARTBOT_CHECK(cartbot_pricing_parse_money("1.", 2, &c) == -1);
    CARTBOT_CHECK(cartbot_pricing_parse_money(".5", 2, &c) == -1);

    /* 19.99 is 19.989999... in binary: still 1999 cents */
    CARTBOT_CHECK(cartbot_pricing_cents(19.99, &c) == 0 && c == 1999);
    CARTBOT_CHECK(cartbot_pricing_cents(-0.01, &c) == -1);
    CARTBOT_CHECK(cartbot_pricing_cents(1e300, &c) == -1);

    cartbot_buf_init(&b, mem, 0);
    cartbot_pricing_add_money(&b, 5);
    cartbot_buf_add_char(&b, ' ');
    cartbot_pricing_add_money(&b, 123456);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), "0.05 1234.56");
}


static void
test_pricing_totals(cartbot_mem_t *mem)
{
    cartbot_buf_t               b;
    cartbot_pricing_t           p;
    cartbot_pricing_conf_t      conf;
    cartbot_pricing_discount_t  d;

    cartbot_pricing_conf_init(&conf);
    conf.tax_basis_points = 825;
    conf.shipping_cents = 599;
    conf.free_shipping_cents = 7500;

    memset(&p, 0, sizeof(p));
    cartbot_pricing_add_line(&p, 1999, 2);
    cartbot_pricing_add_line(&p, 1250, 1);
    cartbot_pricing_finish(&p, &conf, NULL);

    /* 39.98 + 12.50 = 52.48; tax 8.25 % = 4.3296 -> 4.33; + 5.99 */
    CARTBOT_CHECK(p.subtotal == 5248);
    CARTBOT_CHECK(p.tax == 433);
    CARTBOT_CHECK(p.shipping == 599);
    CARTBOT_CHECK(p.total == 5248 + 433 + 599);
    CARTBOT_CHECK(p.items == 3);

    cartbot_buf_init(&b, mem, 0);
    cartbot_pricing_json(&b, &p, &conf);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b),
                      "{\"subtotal\":52.48,\"discount\":0.00,\"tax\":4.33,"
                      "\"shipping\":5.99,\"total\":62.80,"
                      "\"currency\":\"USD\"}");

    /* 10 % off 80.00 leaves 72.00: under the free-shipping threshold */
    memset(&p, 0, sizeof(p));
    cartbot_pricing_add_line(&p, 8000, 1);
    d.percent = 10;
    d.amount_cents = 0;
    cartbot_pricing_finish(&p, &conf, &d);
    CARTBOT_CHECK(p.discount == 800);
    CARTBOT_CHECK(p.shipping == 599);

    memset(&p, 0, sizeof(p));
    cartbot_pricing_add_line(&p, 8000, 1);
    cartbot_pricing_finish(&p, &conf, NULL);
    CARTBOT_CHECK(p.shipping == 0);

    /* a discount never makes the total negative */
    memset(&p, 0, sizeof(p));
    cartbot_pricing_add_line(&p, 500, 1);
    d.percent = 0;
    d.amount_cents = 10000;
    cartbot_pricing_finish(&p, &conf, &d);
    CARTBOT_CHECK(p.discount == 500 && p.tax == 0 && p.total == 599);

    /* an empty cart costs nothing, not even shipping */
    memset(&p, 0, sizeof(p));
    cartbot_pricing_finish(&p, &conf, NULL);
    CARTBOT_CHECK(p.total == 0);

    memset(&p, 0, sizeof(p));
    CARTBOT_CHECK(cartbot_pricing_add_line(&p, CARTBOT_PRICING_MAX_CENTS,
                                           2) == -1);
}


static void
test_record_key(cartbot_mem_t *mem)
{
    size_t       n;
    const char  *k;

    (void) mem;

    k = cartbot_surreal_record_key("product", "product:tee_blue", 16, &n);
    CARTBOT_CHECK(k && n == 8 && memcmp(k, "tee_blue", 8) == 0);

    k = cartbot_surreal_record_key("product", "tee_blue", 8, &n);
    CARTBOT_CHECK(k && n == 8);

    CARTBOT_CHECK(cartbot_surreal_record_key("product", "cart:x", 6, &n)
                  == NULL);
    CARTBOT_CHECK(cartbot_surreal_record_key("product", "product:", 8, &n)
                  == NULL);
    CARTBOT_CHECK(cartbot_surreal_record_key("product", "a b", 3, &n)
                  == NULL);
    CARTBOT_CHECK(cartbot_surreal_record_key("product", "`x`", 3, &n)
                  == NULL);
}


const cartbot_test_t  cartbot_pricing_tests[] = {
    { "pricing: money parsing and formatting", test_pricing_money },
    { "pricing: subtotal, discount, tax, shipping, total",
      test_pricing_totals },
    { "surreal: record keys with or without the table", test_record_key },
    { NULL, NULL }
};
