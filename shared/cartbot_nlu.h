
/*
 * Cartbot core: built-in language understanding (no network).
 *
 * Turns one chat message into the seed's intent and entities: "Add 2 blue
 * t-shirts to my cart" gives addToCart with the item {product_name:
 * "blue t-shirts", quantity: 2, colour: "blue"}.  It is the chat's answer
 * when no LLM is configured and its fallback whenever the LLM fails; its
 * confidence tells a hybrid setup when an LLM is worth asking.
 *
 * Rules, not a model: a tokenizer that survives any bytes, cue phrases
 * with weights per intent, and extractors for quantities ("two", "a
 * couple of", "half a dozen", "x2", "qty 3"), price constraints ("under
 * $100"), colours, sizes and references to what the session remembers
 * ("make that 3", "the second one", "the cheaper one", "remove it").
 *
 * Bounded work: at most CARTBOT_NLU_MAX_INPUT bytes and
 * CARTBOT_NLU_MAX_TOKENS tokens are looked at; no global mutable state;
 * every allocation goes through the cartbot_mem_t (about 10 KB a message,
 * under 20 KB at most); some 30 us for a chat message.
 *
 * Safety: messages that try to change the assistant's instructions or
 * prices, or name another session or user, are flagged and get the
 * intent unknown with no items: the caller answers with a refusal.  The
 * NLU never chooses a session; quantities and product ids it proposes
 * are to be checked by the server like any other input.
 */

#ifndef _CARTBOT_NLU_H_INCLUDED_
#define _CARTBOT_NLU_H_INCLUDED_


#include "cartbot_buf.h"


#define CARTBOT_NLU_MAX_INPUT     2048
#define CARTBOT_NLU_MAX_TOKENS    128
#define CARTBOT_NLU_MAX_ITEMS     8
#define CARTBOT_NLU_MAX_QUANTITY  999


typedef enum {
    CARTBOT_NLU_UNKNOWN = 0,
    CARTBOT_NLU_ADD_TO_CART,
    CARTBOT_NLU_REMOVE_FROM_CART,
    CARTBOT_NLU_UPDATE_QUANTITY,
    CARTBOT_NLU_VIEW_CART,
    CARTBOT_NLU_SEARCH_PRODUCTS,
    CARTBOT_NLU_PRODUCT_QUESTION,
    CARTBOT_NLU_GET_RECOMMENDATIONS,
    CARTBOT_NLU_CHECKOUT,
    CARTBOT_NLU_GREETING,
    CARTBOT_NLU_HELP,
    CARTBOT_NLU_NINTENTS
} cartbot_nlu_intent_e;


typedef enum {
    CARTBOT_NLU_REF_NONE = 0,
    CARTBOT_NLU_REF_LAST,             /* "it", "that", "those", "another one" */
    CARTBOT_NLU_REF_ORDINAL,          /* "the second one", "#3", "the last
                                         one" */
    CARTBOT_NLU_REF_CHEAPEST,         /* "the cheaper one", "the cheapest" */
    CARTBOT_NLU_REF_MOST_EXPENSIVE,   /* "the more expensive one" */
    CARTBOT_NLU_REF_ALL,              /* "everything", "empty my cart" */
    CARTBOT_NLU_REF_NAME              /* a phrase or "the blue one" matched
                                         against the last shown products */
} cartbot_nlu_ref_e;


typedef enum {
    CARTBOT_NLU_CONFIRM_NONE = 0,
    CARTBOT_NLU_CONFIRM_YES,
    CARTBOT_NLU_CONFIRM_NO
} cartbot_nlu_confirm_e;


/* a product the session remembers; price < 0 when unknown */

typedef struct {
    cartbot_str_t                 id;
    cartbot_str_t                 name;
    double                        price;
} cartbot_nlu_product_t;


/* what the session remembers; every member may be empty */

typedef struct {
    const cartbot_nlu_product_t  *last_shown;     /* in the order shown */
    size_t                        nlast_shown;
    const cartbot_nlu_product_t  *last_product;   /* last referenced */
    long                          last_quantity;  /* 0: none; not used
                                                     yet */
    unsigned                      pending_checkout:1;
} cartbot_nlu_context_t;


/*
 * Strings in results are NUL-terminated, allocated from the cartbot_mem_t
 * and have data == NULL when absent.  Phrases are lowercase and valid
 * UTF-8 whatever the input was.
 *
 * Items come with addToCart, removeFromCart and updateQuantity (at least
 * one: "add to cart" alone refers to the last product), and with
 * productQuestion and getRecommendations when a product is named or
 * referred to (at most one).  An item has a product phrase, a reference,
 * or both ("remove the grey hoodie" names a product shown before).
 */

typedef struct {
    cartbot_str_t                 product;    /* "blue t-shirts" */
    long                          quantity;   /* 1 when not given, 0 when
                                                 invalid; updateQuantity:
                                                 the new quantity */
    cartbot_str_t                 colour;     /* "blue" */
    cartbot_str_t                 size;       /* "XL", "M", "10" */
    cartbot_nlu_ref_e             ref;
    unsigned                      ordinal;    /* REF_ORDINAL: 1-based;
                                                 0 means "the last one" */
    const cartbot_nlu_product_t  *resolved;   /* from the context or NULL */

    unsigned                      quantity_explicit:1;  /* "2", "a" */
    unsigned                      quantity_invalid:1;   /* "1.5", "-2",
                                                          over the max */
    unsigned                      ambiguous:1;  /* several matched by name */
} cartbot_nlu_item_t;


typedef struct {
    cartbot_nlu_intent_e          intent;
    const char                   *intent_name;   /* the seed's name */
    double                        confidence;    /* 0..1; below 0.5
                                                    a model should look */

    cartbot_nlu_item_t           *items;
    size_t                        nitems;

    double                        price_min;     /* < 0: none */
    double                        price_max;     /* < 0: none */
    const char                   *currency;      /* "USD", "EUR", "GBP" or
                                                    NULL */
    cartbot_str_t                 query;      /* product words: search,
                                                 question, recommendation */
    cartbot_str_t                 question;   /* productQuestion: the text */
    cartbot_str_t                 colour;     /* message-wide, for search */
    cartbot_str_t                 size;

    /*
     * Set when the whole message is an answer ("yes", "go ahead", "not
     * yet", "cancel"); the intent is checkout when ctx->pending_checkout,
     * else unknown.
     */
    cartbot_nlu_confirm_e         confirmation;

    unsigned                      injection_suspected:1;
    unsigned                      names_other_session:1;
    unsigned                      invalid_quantity:1;
    unsigned                      truncated:1;   /* input was cut */
} cartbot_nlu_result_t;


/*
 * Parses len bytes of text (any bytes; need not be NUL-terminated).  ctx
 * may be NULL.  Returns 0, or -1 when an allocation failed.  Results point
 * into memory from mem and into ctx (item->resolved).
 */
int cartbot_nlu_parse(cartbot_mem_t *mem, const char *text, size_t len,
    const cartbot_nlu_context_t *ctx, cartbot_nlu_result_t *out);

/*
 * Appends {"intent":"addToCart","confidence":0.9,"entities":{"items":[
 * {"product_name":"blue t-shirts","quantity":2,"colour":"blue"}],...}}
 * with snake_case keys.  Items: "product_name", "quantity" (when said, and
 * always for addToCart and updateQuantity) or "quantity_invalid":true,
 * "colour", "size", "reference" (cartbot_nlu_ref_name()), "ordinal",
 * "product_id" (resolved), "ambiguous".  Entities: "items" always, then
 * "query", "question", "colour", "size", "price_min", "price_max",
 * "currency", "confirmation" ("yes", "no") when present.  "flags":
 * ["injection_suspected", "names_other_session", "invalid_quantity",
 * "truncated"] only when one is set.  Returns 0 or -1.
 */
int cartbot_nlu_result_json(const cartbot_nlu_result_t *r, cartbot_buf_t *b);

/* "addToCart" for CARTBOT_NLU_ADD_TO_CART; "unknown" for anything else */
const char *cartbot_nlu_intent_name(cartbot_nlu_intent_e intent);

/* the seed's name (exact, e.g. from an LLM's answer) to the enum; -1 */
int cartbot_nlu_intent_by_name(const char *name, size_t len);

const char *cartbot_nlu_ref_name(cartbot_nlu_ref_e ref);

/* NULL, or the name of a word table out of byte order or a bad cue */
const char *cartbot_nlu_check_tables(void);


#endif /* _CARTBOT_NLU_H_INCLUDED_ */
