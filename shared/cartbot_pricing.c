
/*
 * Cartbot core: cart pricing in whole cents.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cartbot_pricing.h"


void
cartbot_pricing_conf_init(cartbot_pricing_conf_t *conf)
{
    conf->tax_basis_points = 0;
    conf->shipping_cents = 0;
    conf->free_shipping_cents = -1;
    memcpy(conf->currency, "USD", 4);
}


/* "12", "12.5", "12.50": at most two decimals, no sign, no exponent */

int
cartbot_pricing_parse_money(const char *s, size_t len, long long *cents)
{
    size_t      i, decimals;
    long long   v;
    int         dot;

    v = 0;
    dot = 0;
    decimals = 0;

    if (len == 0) {
        return -1;
    }

    for (i = 0; i < len; i++) {

        if (s[i] == '.' && !dot && i > 0) {
            dot = 1;
            continue;
        }

        if (s[i] < '0' || s[i] > '9' || (dot && ++decimals > 2)) {
            return -1;
        }

        v = v * 10 + (s[i] - '0');

        if (v > CARTBOT_PRICING_MAX_CENTS) {
            return -1;
        }
    }

    if (s[len - 1] == '.') {
        return -1;
    }

    while (decimals++ < 2) {
        v *= 10;
    }

    *cents = v;

    return 0;
}


int
cartbot_pricing_cents(double price, long long *cents)
{
    double  c;

    if (!isfinite(price) || price < 0) {
        return -1;
    }

    c = floor(price * 100.0 + 0.5);

    if (c > (double) CARTBOT_PRICING_MAX_CENTS) {
        return -1;
    }

    *cents = (long long) c;

    return 0;
}


int
cartbot_pricing_add_line(cartbot_pricing_t *p, long long unit_cents,
    long long quantity)
{
    if (unit_cents < 0 || quantity < 0
        || unit_cents > CARTBOT_PRICING_MAX_CENTS
        || quantity > CARTBOT_PRICING_MAX_CENTS
        || (quantity && unit_cents > CARTBOT_PRICING_MAX_CENTS / quantity)
        || p->subtotal + unit_cents * quantity > CARTBOT_PRICING_MAX_CENTS)
    {
        return -1;
    }

    p->subtotal += unit_cents * quantity;
    p->items += quantity;

    return 0;
}


void
cartbot_pricing_finish(cartbot_pricing_t *p,
    const cartbot_pricing_conf_t *conf,
    const cartbot_pricing_discount_t *discount)
{
    long long  taxable;

    p->discount = 0;

    if (discount) {
        /* percent rounds half up, like the tax */
        p->discount = (p->subtotal * discount->percent + 50) / 100
                      + discount->amount_cents;
    }

    if (p->discount > p->subtotal) {
        p->discount = p->subtotal;
    }

    taxable = p->subtotal - p->discount;

    p->tax = (taxable * conf->tax_basis_points + 5000) / 10000;

    if (p->items == 0
        || (conf->free_shipping_cents >= 0
            && taxable >= conf->free_shipping_cents))
    {
        p->shipping = 0;

    } else {
        p->shipping = conf->shipping_cents;
    }

    p->total = taxable + p->tax + p->shipping;
}


int
cartbot_pricing_add_money(cartbot_buf_t *b, long long cents)
{
    return cartbot_buf_printf(b, "%s%lld.%02lld", cents < 0 ? "-" : "",
                              llabs(cents) / 100, llabs(cents) % 100);
}


int
cartbot_pricing_json(cartbot_buf_t *b, const cartbot_pricing_t *p,
    const cartbot_pricing_conf_t *conf)
{
    cartbot_buf_add_str(b, "{\"subtotal\":");
    cartbot_pricing_add_money(b, p->subtotal);
    cartbot_buf_add_str(b, ",\"discount\":");
    cartbot_pricing_add_money(b, p->discount);
    cartbot_buf_add_str(b, ",\"tax\":");
    cartbot_pricing_add_money(b, p->tax);
    cartbot_buf_add_str(b, ",\"shipping\":");
    cartbot_pricing_add_money(b, p->shipping);
    cartbot_buf_add_str(b, ",\"total\":");
    cartbot_pricing_add_money(b, p->total);
    cartbot_buf_printf(b, ",\"currency\":\"%s\"}", conf->currency);

    return b->failed ? -1 : 0;
}
