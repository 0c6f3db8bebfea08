
/*
 * Cartbot core: a product as the catalog accepts it.
 *
 * The one place that knows the product table's rules (db/migrations 0002,
 * 0009, 0011): which fields exist, their types and bounds, how a record
 * key is made from a name, the content hash the import compares and the
 * text the embedding is computed from.  Used by cartbot-ctl import and by
 * the product module's admin API, so a row the one accepts the other
 * accepts too.
 */

#ifndef _CARTBOT_PRODUCT_H_INCLUDED_
#define _CARTBOT_PRODUCT_H_INCLUDED_


#include "cartbot_buf.h"
#include "cartbot_json.h"
#include "cartbot_embed.h"


/* prices and stock: sane upper bounds, far above any real catalog */
#define CARTBOT_PRODUCT_MAX_AMOUNT  1e9

#define CARTBOT_PRODUCT_HASH_HEX    (2 * 32)


/* the text fields, in the table's (and the hash's) order */

enum {
    CARTBOT_PRODUCT_NAME = 0,
    CARTBOT_PRODUCT_DESCRIPTION,
    CARTBOT_PRODUCT_SPECS,
    CARTBOT_PRODUCT_CATEGORY,
    CARTBOT_PRODUCT_SUB_CATEGORY,
    CARTBOT_PRODUCT_IMAGE_URL,
    CARTBOT_PRODUCT_NTEXT
};


/*
 * cartbot_product_check() flags.  The table (and so the import) needs only
 * a name and a price; COMPLETE also requires what the seed's schema has
 * as plain strings, description, category and sub_category, not empty:
 * the admin API asks for them on every new or replaced product.
 */
#define CARTBOT_PRODUCT_COMPLETE    0x01


typedef struct {
    const char             *key;         /* record key; NULL: none given */
    const char             *text[CARTBOT_PRODUCT_NTEXT];   /* NULL: absent */
    double                  price;
    double                  score;
    long long               stock;
    unsigned                has_score:1;
    unsigned                derived:1;   /* key made from the name */
} cartbot_product_t;


/* what was wrong with a product, as cartbot_product_check() found it */

typedef struct {
    cartbot_buf_t          *why;         /* every reason, "; " between */
    const char             *code;        /* the first: "invalid_price", ... */
    const char             *field;       /* its field, or the unknown key */
} cartbot_product_error_t;


/* "name", "description", ... for CARTBOT_PRODUCT_NAME, ... */
const char *cartbot_product_text_key(size_t i);

/*
 * Checks a JSON product against the rules and fills p (its strings point
 * into v).  Fields: id, name, description, specs, price, category,
 * sub_category, score (also as "rating", the name reads answer with),
 * stock_quantity, image_url; any other key is refused, null means absent.
 * The key comes from "id" ("product:" prefix optional) or, without one,
 * from the name (cartbot_product_slug(), p->derived set).  Returns 0, or
 * -1 with every reason in err->why and the first one's code and field.
 */
int cartbot_product_check(cartbot_mem_t *mem, yajl_val v, unsigned flags,
    cartbot_product_t *p, cartbot_product_error_t *err);

/*
 * A record key from a name: lowercase ASCII letters and digits, each run
 * of anything else one '_' ("Blue Cotton T-Shirt" -> "blue_cotton_t_shirt"),
 * at most 64; a name with no such character gets "p_" and 16 hex digits
 * of its SHA-256.
 */
const char *cartbot_product_slug(cartbot_mem_t *mem, const char *name);

/*
 * content_hash: SHA-256 (hex, NUL-terminated) of the product as canonical
 * JSON (fields in table order, absent ones left out, stock_quantity always
 * there, numbers as cartbot_product_add_number() writes them) followed by
 * a line end and the embedding model's name.
 */
int cartbot_product_hash(const cartbot_product_t *p, const char *model,
    char out[CARTBOT_PRODUCT_HASH_HEX + 1]);

/*
 * The shortest text that reads back as the same double, always with a
 * '.' or an exponent so that SurrealQL takes it as a float.
 */
int cartbot_product_add_number(cartbot_buf_t *b, double d);

/*
 * The product's embedding (name, description, specs, category and
 * sub_category with the CARTBOT_EMBED_W_* weights).  Returns the tokens
 * used: 0 means nothing to embed, and the vector must not be stored.
 */
size_t cartbot_product_embed(const cartbot_product_t *p,
    float out[CARTBOT_EMBED_DIM]);


#endif /* _CARTBOT_PRODUCT_H_INCLUDED_ */
