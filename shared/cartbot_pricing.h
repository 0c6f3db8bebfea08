
/*
 * Cartbot core: cart pricing in whole cents.
 *
 * Prices arrive as floats from the catalog and are turned into cents once;
 * every sum after that is exact integer arithmetic.  The discount applies
 * to the subtotal, tax to what remains, and shipping is free from a
 * threshold on (and for an empty cart).
 */

#ifndef _CARTBOT_PRICING_H_INCLUDED_
#define _CARTBOT_PRICING_H_INCLUDED_


#include "cartbot_buf.h"


/* 10^12 cents: far above any real cart, far below overflow */
#define CARTBOT_PRICING_MAX_CENTS  1000000000000LL


typedef struct {
    long long               tax_basis_points;     /* 825 = 8.25 % */
    long long               shipping_cents;
    long long               free_shipping_cents;  /* -1: never free */
    char                    currency[4];          /* ISO 4217 */
} cartbot_pricing_conf_t;


typedef struct {
    long long               percent;              /* 0..100 */
    long long               amount_cents;         /* fixed, after percent */
} cartbot_pricing_discount_t;


typedef struct {
    long long               subtotal;
    long long               discount;
    long long               tax;
    long long               shipping;
    long long               total;
    long long               items;                /* units in the cart */
} cartbot_pricing_t;


void cartbot_pricing_conf_init(cartbot_pricing_conf_t *conf);

/* "8.25%" or "0.0825"-style rates are parsed by the caller; money: */
int cartbot_pricing_parse_money(const char *s, size_t len, long long *cents);
int cartbot_pricing_cents(double price, long long *cents);

/* adds one line; -1 when the sum would leave the sane range */
int cartbot_pricing_add_line(cartbot_pricing_t *p, long long unit_cents,
    long long quantity);

/* discount, tax, shipping and total from the lines added so far */
void cartbot_pricing_finish(cartbot_pricing_t *p,
    const cartbot_pricing_conf_t *conf,
    const cartbot_pricing_discount_t *discount);

/* 1234 -> 12.34 as a JSON number */
int cartbot_pricing_add_money(cartbot_buf_t *b, long long cents);

/* {"subtotal":..,"discount":..,"tax":..,"shipping":..,"total":..,
 *  "currency":".."} */
int cartbot_pricing_json(cartbot_buf_t *b, const cartbot_pricing_t *p,
    const cartbot_pricing_conf_t *conf);


#endif /* _CARTBOT_PRICING_H_INCLUDED_ */
