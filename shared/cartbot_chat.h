
/*
 * Cartbot core: what the chat decides with what it found.
 *
 * The language understanding (cartbot_nlu.h) says "add 2 blue t-shirts";
 * the catalog search answers with hits in its own order.  Which hit the
 * shopper meant, or whether several fit equally well and the assistant
 * must ask, is decided here, on names: a hit fits a phrase by the share
 * of the phrase's words its name (or sub-category) has, after folding
 * case, plurals, "t-shirt"/"tee" spellings and one-letter typos.
 */

#ifndef _CARTBOT_CHAT_H_INCLUDED_
#define _CARTBOT_CHAT_H_INCLUDED_


#include "cartbot_buf.h"


#define CARTBOT_CHAT_MAX_WORDS  16


typedef struct {
    cartbot_str_t           name;
    cartbot_str_t           sub_category;
    unsigned                fulltext:1;    /* the full-text list found it */
} cartbot_chat_candidate_t;


typedef enum {
    CARTBOT_CHAT_PICK_NONE = 0,     /* nothing fits: say so */
    CARTBOT_CHAT_PICK_ONE,          /* *chosen */
    CARTBOT_CHAT_PICK_AMBIGUOUS     /* ask; tied[0 .. *ntied - 1] */
} cartbot_chat_pick_e;


/*
 * Picks among n candidates (in search order) the one the phrase names.
 * colour, when not NULL, must be among the name's words as well.  tied
 * must have room for n indexes.
 */
cartbot_chat_pick_e cartbot_chat_pick(const char *phrase, const char *colour,
    const cartbot_chat_candidate_t *c, size_t n, size_t *chosen,
    size_t *tied, size_t *ntied);

/*
 * Server-Sent Events: "event: NAME\ndata: JSON\n\n".  The JSON must be on
 * one line (cartbot_json output is).
 */
int cartbot_chat_sse(cartbot_buf_t *b, const char *event, const char *json,
    size_t len);

/*
 * The text as "delta" events of {"text": ...}, cut after a space once a
 * piece has at least piece bytes, so that words (and UTF-8) stay whole
 * and the pieces joined are the text.
 */
int cartbot_chat_sse_text(cartbot_buf_t *b, const char *text, size_t len,
    size_t piece);

/* how much of the phrase the text has, 0..1 (exposed for tests) */
double cartbot_chat_fit(const char *phrase, size_t plen, const char *text,
    size_t tlen);


#endif /* _CARTBOT_CHAT_H_INCLUDED_ */
