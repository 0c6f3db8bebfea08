
/*
 * Cartbot core: a product as the catalog accepts it (see cartbot_product.h).
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cartbot_product.h"
#include "cartbot_surreal.h"


#define CARTBOT_PRODUCT_MAX_KEY  64


/* the text fields, in canonical order, their longest value and code */

static const struct {
    const char             *key;
    size_t                  max;      /* characters */
    const char             *code;
} cartbot_product_text[CARTBOT_PRODUCT_NTEXT] = {
    { "name", 200, "invalid_name" },
    { "description", 16384, "invalid_description" },
    { "specs", 16384, "invalid_specs" },
    { "category", 200, "invalid_category" },
    { "sub_category", 200, "invalid_sub_category" },
    { "image_url", 2048, "invalid_image_url" }
};


static const char  *cartbot_product_keys[] = {
    "id", "name", "description", "specs", "price", "category",
    "sub_category", "score", "rating", "stock_quantity", "image_url", NULL
};


static void cartbot_product_why(cartbot_product_error_t *err,
    const char *code, const char *field, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
static void cartbot_product_quoted(cartbot_buf_t *b, const char *s);
static const char *cartbot_product_type(yajl_val v);
static size_t cartbot_product_chars(const char *s);
static int cartbot_product_is_blank(const char *s);


const char *
cartbot_product_text_key(size_t i)
{
    return i < CARTBOT_PRODUCT_NTEXT ? cartbot_product_text[i].key : NULL;
}


int
cartbot_product_check(cartbot_mem_t *mem, yajl_val v, unsigned flags,
    cartbot_product_t *p, cartbot_product_error_t *err)
{
    size_t        i, j, len;
    yajl_val      f, rating;
    const char   *key, *id, *score_key;
    double        d;

    memset(p, 0, sizeof(cartbot_product_t));
    err->code = NULL;
    err->field = NULL;

    if (!YAJL_IS_OBJECT(v)) {
        cartbot_product_why(err, "invalid_product", NULL,
                            "a product must be a JSON object, not %s",
                            cartbot_product_type(v));
        return -1;
    }

    /* keys: known ones, each once */

    for (i = 0; i < v->u.object.len; i++) {
        key = v->u.object.keys[i];

        for (j = 0; cartbot_product_keys[j]; j++) {
            if (strcmp(key, cartbot_product_keys[j]) == 0) {
                break;
            }
        }

        if (cartbot_product_keys[j] == NULL) {
            cartbot_product_why(err, "unknown_field", key, "unknown key ");
            cartbot_product_quoted(err->why, key);
            continue;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(key, v->u.object.keys[j]) == 0) {
                break;
            }
        }

        if (j < i) {
            cartbot_product_why(err, "duplicate_field", key,
                                "key \"%s\" appears twice", key);
        }
    }

    /* text fields: strings, or absent (null is absent) */

    for (i = 0; i < CARTBOT_PRODUCT_NTEXT; i++) {
        key = cartbot_product_text[i].key;
        f = cartbot_json_get(v, key);

        if (f == NULL || YAJL_IS_NULL(f)) {
            if (i == CARTBOT_PRODUCT_NAME
                || ((flags & CARTBOT_PRODUCT_COMPLETE)
                    && (i == CARTBOT_PRODUCT_DESCRIPTION
                        || i == CARTBOT_PRODUCT_CATEGORY
                        || i == CARTBOT_PRODUCT_SUB_CATEGORY)))
            {
                cartbot_product_why(err, cartbot_product_text[i].code, key,
                                    "%s is required", key);
            }

            continue;
        }

        if (!YAJL_IS_STRING(f)) {
            cartbot_product_why(err, cartbot_product_text[i].code, key,
                                "%s must be a string, not %s", key,
                                cartbot_product_type(f));
            continue;
        }

        len = cartbot_product_chars(f->u.string);

        if (len > cartbot_product_text[i].max) {
            cartbot_product_why(err, cartbot_product_text[i].code, key,
                                "%s is longer than %zu characters (%zu)",
                                key, cartbot_product_text[i].max, len);
            continue;
        }

        if ((i == CARTBOT_PRODUCT_NAME
             || ((flags & CARTBOT_PRODUCT_COMPLETE)
                 && i != CARTBOT_PRODUCT_SPECS
                 && i != CARTBOT_PRODUCT_IMAGE_URL))
            && cartbot_product_is_blank(f->u.string))
        {
            cartbot_product_why(err, cartbot_product_text[i].code, key,
                                "%s is empty", key);
            continue;
        }

        p->text[i] = f->u.string;
    }

    /* price: a number > 0 */

    f = cartbot_json_get(v, "price");

    if (f == NULL || YAJL_IS_NULL(f)) {
        cartbot_product_why(err, "invalid_price", "price",
                            "price is required");

    } else if (!YAJL_IS_NUMBER(f)) {
        cartbot_product_why(err, "invalid_price", "price",
                            "price must be a number, not %s",
                            cartbot_product_type(f));

    } else {
        d = f->u.number.d;

        if (!YAJL_IS_DOUBLE(f) || !isfinite(d)
            || d > CARTBOT_PRODUCT_MAX_AMOUNT)
        {
            cartbot_product_why(err, "invalid_price", "price",
                                "price must be at most 1000000000 (got %s)",
                                f->u.number.r);

        } else if (!(d > 0)) {
            cartbot_product_why(err, "invalid_price", "price",
                                "price must be greater than 0 (got %s)",
                                f->u.number.r);

        } else {
            p->price = d;
        }
    }

    /* score (or rating): absent, or a number from 0 to 5 */

    f = cartbot_json_get(v, "score");
    rating = cartbot_json_get(v, "rating");
    score_key = "score";

    if (f && rating) {
        cartbot_product_why(err, "invalid_score", "score",
                            "score and rating are the same field: give one "
                            "of them");
        f = NULL;

    } else if (rating) {
        f = rating;
        score_key = "rating";
    }

    if (f && !YAJL_IS_NULL(f)) {
        d = YAJL_IS_NUMBER(f) ? f->u.number.d : 0;

        if (!YAJL_IS_NUMBER(f)) {
            cartbot_product_why(err, "invalid_score", score_key,
                                "%s must be a number, not %s", score_key,
                                cartbot_product_type(f));

        } else if (!YAJL_IS_DOUBLE(f) || !(d >= 0 && d <= 5)) {
            cartbot_product_why(err, "invalid_score", score_key,
                                "%s must be from 0 to 5 (got %s)",
                                score_key, f->u.number.r);

        } else {
            p->score = d;
            p->has_score = 1;
        }
    }

    /* stock_quantity: absent (0), or a whole number >= 0 */

    f = cartbot_json_get(v, "stock_quantity");

    if (f && !YAJL_IS_NULL(f)) {
        d = YAJL_IS_NUMBER(f) ? f->u.number.d : 0;

        if (!YAJL_IS_NUMBER(f)) {
            cartbot_product_why(err, "invalid_stock_quantity",
                                "stock_quantity", "stock_quantity must be a "
                                "whole number, not %s",
                                cartbot_product_type(f));

        } else if (!YAJL_IS_DOUBLE(f) || !isfinite(d)
                   || d > CARTBOT_PRODUCT_MAX_AMOUNT)
        {
            cartbot_product_why(err, "invalid_stock_quantity",
                                "stock_quantity", "stock_quantity must be at "
                                "most 1000000000 (got %s)", f->u.number.r);

        } else if (d != (double) (long long) d) {
            cartbot_product_why(err, "invalid_stock_quantity",
                                "stock_quantity", "stock_quantity must be a "
                                "whole number (got %s)", f->u.number.r);

        } else if (d < 0) {
            cartbot_product_why(err, "invalid_stock_quantity",
                                "stock_quantity", "stock_quantity must not "
                                "be negative (got %s)", f->u.number.r);

        } else {
            p->stock = (long long) d;
        }
    }

    /* id: a record key, with or without "product:"; else from the name */

    f = cartbot_json_get(v, "id");

    if (f && !YAJL_IS_NULL(f)) {
        if (!YAJL_IS_STRING(f)) {
            cartbot_product_why(err, "invalid_id", "id",
                                "id must be a string, not %s",
                                cartbot_product_type(f));

        } else {
            id = cartbot_surreal_record_key("product", f->u.string,
                                            strlen(f->u.string), &len);

            if (id == NULL) {
                cartbot_product_why(err, "invalid_id", "id", "id ");
                cartbot_product_quoted(err->why, f->u.string);
                cartbot_buf_add_str(err->why, " must be 1 to 64 letters, "
                                    "digits or '_'");

            } else {
                p->key = cartbot_strndup(mem, id, len);
            }
        }

    } else if (p->text[CARTBOT_PRODUCT_NAME]) {
        p->key = cartbot_product_slug(mem, p->text[CARTBOT_PRODUCT_NAME]);
        p->derived = 1;
    }

    if (err->why->len) {
        return -1;
    }

    if (p->key == NULL) {
        err->why->failed = 1;
        return -1;
    }

    return 0;
}


/* one more reason; the first one gives the code and the field */

static void
cartbot_product_why(cartbot_product_error_t *err, const char *code,
    const char *field, const char *fmt, ...)
{
    va_list  args;

    if (err->code == NULL) {
        err->code = code;
        err->field = field;
    }

    if (err->why->len) {
        cartbot_buf_add_str(err->why, "; ");
    }

    va_start(args, fmt);
    cartbot_buf_vprintf(err->why, fmt, args);
    va_end(args);
}


/* text from the input in a message: JSON-quoted, at most 64 bytes of it */

static void
cartbot_product_quoted(cartbot_buf_t *b, const char *s)
{
    size_t  len;

    len = strlen(s);

    if (len <= 64) {
        cartbot_json_add_string(b, s, len);
        return;
    }

    /* cut at a character boundary */

    len = 64;

    while (len && ((unsigned char) s[len] & 0xc0) == 0x80) {
        len--;
    }

    cartbot_json_add_string(b, s, len);
    cartbot_buf_add_str(b, "...");
}


static const char *
cartbot_product_type(yajl_val v)
{
    if (YAJL_IS_STRING(v)) {
        return "a string";
    }

    if (YAJL_IS_NUMBER(v)) {
        return "a number";
    }

    if (YAJL_IS_OBJECT(v)) {
        return "an object";
    }

    if (YAJL_IS_ARRAY(v)) {
        return "an array";
    }

    if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        return "a boolean";
    }

    return "null";
}


/* characters of valid UTF-8 (yajl checked it) */

static size_t
cartbot_product_chars(const char *s)
{
    size_t  n;

    for (n = 0; *s; s++) {
        n += (((unsigned char) *s & 0xc0) != 0x80);
    }

    return n;
}


static int
cartbot_product_is_blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}


const char *
cartbot_product_slug(cartbot_mem_t *mem, const char *name)
{
    int            gap;
    char           key[CARTBOT_PRODUCT_MAX_KEY + 1], c;
    size_t         n, i;
    unsigned int   mdlen;
    const char    *s;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    n = 0;
    gap = 0;

    for (s = name; *s && n < CARTBOT_PRODUCT_MAX_KEY; s++) {
        c = *s;

        if (c >= 'A' && c <= 'Z') {
            c = (char) (c - 'A' + 'a');
        }

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            gap = 1;
            continue;
        }

        if (gap && n) {
            if (n + 2 > CARTBOT_PRODUCT_MAX_KEY) {
                break;
            }

            key[n++] = '_';
        }

        gap = 0;
        key[n++] = c;
    }

    if (n == 0) {
        if (EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL)
            != 1)
        {
            return NULL;
        }

        key[n++] = 'p';
        key[n++] = '_';

        for (i = 0; i < 8; i++) {
            key[n++] = hex[md[i] >> 4];
            key[n++] = hex[md[i] & 0xf];
        }
    }

    return cartbot_strndup(mem, key, n);
}


int
cartbot_product_hash(const cartbot_product_t *p, const char *model,
    char out[CARTBOT_PRODUCT_HASH_HEX + 1])
{
    int              rc;
    size_t           i;
    unsigned int     mdlen;
    cartbot_buf_t    c;
    cartbot_arena_t  arena;
    unsigned char    md[EVP_MAX_MD_SIZE];

    static const char  hex[] = "0123456789abcdef";

    /* an arena of its own: the text is needed only here */

    cartbot_arena_init(&arena);
    cartbot_buf_init(&c, &arena.mem, 1024);
    cartbot_buf_add_char(&c, '{');

    for (i = 0; i < CARTBOT_PRODUCT_NTEXT; i++) {
        if (p->text[i] == NULL) {
            continue;
        }

        cartbot_buf_printf(&c, "%s\"%s\":", c.len > 1 ? "," : "",
                           cartbot_product_text[i].key);
        cartbot_json_add_string(&c, p->text[i], strlen(p->text[i]));
    }

    cartbot_buf_add_str(&c, ",\"price\":");
    cartbot_product_add_number(&c, p->price);

    if (p->has_score) {
        cartbot_buf_add_str(&c, ",\"score\":");
        cartbot_product_add_number(&c, p->score);
    }

    cartbot_buf_printf(&c, ",\"stock_quantity\":%lld}\n%s", p->stock,
                       model);

    rc = (c.failed
          || EVP_Digest(c.data, c.len, md, &mdlen, EVP_sha256(), NULL) != 1)
         ? -1 : 0;

    cartbot_arena_free(&arena);

    if (rc != 0) {
        return -1;
    }

    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }

    out[CARTBOT_PRODUCT_HASH_HEX] = '\0';

    return 0;
}


int
cartbot_product_add_number(cartbot_buf_t *b, double d)
{
    int   prec;
    char  num[40];

    for (prec = 15; prec < 17; prec++) {
        snprintf(num, sizeof(num), "%.*g", prec, d);

        if (strtod(num, NULL) == d) {
            break;
        }
    }

    if (prec == 17) {
        snprintf(num, sizeof(num), "%.17g", d);
    }

    if (strpbrk(num, ".e") == NULL) {
        strcat(num, ".0");
    }

    return cartbot_buf_add_str(b, num);
}


size_t
cartbot_product_embed(const cartbot_product_t *p,
    float out[CARTBOT_EMBED_DIM])
{
    size_t                   i;
    cartbot_str_t           *f;
    cartbot_embed_product_t  ep;

    memset(&ep, 0, sizeof(cartbot_embed_product_t));

    for (i = 0; i < CARTBOT_PRODUCT_NTEXT; i++) {
        switch (i) {
        case CARTBOT_PRODUCT_NAME: f = &ep.name; break;
        case CARTBOT_PRODUCT_DESCRIPTION: f = &ep.description; break;
        case CARTBOT_PRODUCT_SPECS: f = &ep.specs; break;
        case CARTBOT_PRODUCT_CATEGORY: f = &ep.category; break;
        case CARTBOT_PRODUCT_SUB_CATEGORY: f = &ep.sub_category; break;
        default: f = NULL;
        }

        if (f && p->text[i]) {
            f->data = p->text[i];
            f->len = strlen(p->text[i]);
        }
    }

    return cartbot_embed_product(&ep, out);
}
