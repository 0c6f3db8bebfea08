
/*
 * Cartbot core: the built-in deterministic text embedding.
 *
 * The same code embeds products at import time (cartbot-ctl import) and
 * search queries at query time (the product and chat modules), so vector
 * search needs no external service.  The vector has CARTBOT_EMBED_DIM
 * dimensions and unit length; compare vectors by cosine similarity (for
 * unit vectors, the dot product).
 *
 * How a text becomes a vector:
 *
 *   1. Normalisation.  UTF-8 is decoded; ASCII is lowercased; letters of
 *      Latin-1 and Latin Extended-A are folded to ASCII ("é" -> "e",
 *      "ü" -> "u", "ß" -> "ss", "æ" -> "ae").  No locale is consulted.
 *
 *   2. Tokens.  Runs of letters and digits; apostrophes inside a word are
 *      dropped ("men's" -> "mens"); "10,000" and "2.5" stay whole.  Other
 *      characters separate tokens; "t-shirt" is the two tokens "t" and
 *      "shirt" (see pairs below).  English stop words ("the", "for", "some",
 *      "something", ...) are skipped.
 *
 *   3. Stemming.  A light English stemmer, designed so that inflected
 *      forms meet rather than to produce dictionary words: plural -s, -es,
 *      -ies, -ing, -ed, -ly, -ion, a final -e and a final -y ("shirts",
 *      "shirt" -> "shirt"; "running", "run" -> "run"; "candles", "candle"
 *      -> "candl"; "batteries", "battery" -> "batteri").
 *
 *   4. Features, each with an integer weight, hashed with a sign bit
 *      (FNV-1a 64 then a murmur3 finaliser: bits 0-31 modulo the
 *      dimension pick the index, bit 63 the sign):
 *        - the stem of each word;
 *        - each pair of adjacent stems, concatenated with no separator,
 *          in the same space as single stems: "t shirt", "t-shirt" and
 *          "tshirt" share the feature "tshirt", "tea pot" meets "teapot";
 *          pairs do not cross sentence punctuation;
 *        - character 3-grams and 4-grams of each stem padded with '#'
 *          ("#cofee#" and "#coffee#" share "#co", "cof", "fee", "ee#"),
 *          weighted so that every word carries the same n-gram mass;
 *        - concepts: a built-in table of shopping vocabulary maps words
 *          and two-word phrases to shared concept features ("tee",
 *          "t-shirt" -> tshirt; "couch", "sofa", "loveseat" -> sofa;
 *          "insulated", "thermos", "keep hot" -> insulated).  Phrases are
 *          also matched with one word between them, so "keep coffee hot"
 *          has the concept of "keep hot".
 *
 *   5. Fields.  A product embeds several fields; each field's feature sum
 *      is L2-normalised, multiplied by the field's weight, and the fields
 *      are summed and L2-normalised again.
 *
 * All arithmetic is on integers (an exact integer square root included)
 * except one IEEE-754 division per component at the very end, so the
 * output is bit-identical on every machine and compiler, with or without
 * FMA contraction, and needs no libm.
 *
 * Text with no usable token (empty, only punctuation, only stop words)
 * embeds as the first basis vector (1, 0, 0, ...), which has unit length
 * like every other result; the functions return 0 for it, and a query
 * caller should then skip vector search rather than use that vector.
 *
 * Work is bounded and linear in the input: a query is cut at
 * CARTBOT_EMBED_MAX_QUERY bytes, a product field at CARTBOT_EMBED_MAX_INPUT.
 * On a 2020s x86 core a short query takes about 10-20 us, a product of
 * the sample catalog about 60 us, and 1 KiB made only of words of the
 * concept table (the worst case) about 0.3 ms.  Nothing is allocated
 * (about 7 KB of stack) and there is no global mutable state: the
 * functions are safe in any number of threads or processes.
 *
 * Any change to what this code computes must change CARTBOT_EMBED_MODEL,
 * so that stored product vectors of the older model are detected and
 * recomputed.  A unit test pins a fingerprint of the output.
 */

#ifndef _CARTBOT_EMBED_H_INCLUDED_
#define _CARTBOT_EMBED_H_INCLUDED_


#include <stddef.h>

#include "cartbot_buf.h"


#define CARTBOT_EMBED_DIM        384
#define CARTBOT_EMBED_MODEL      "cartbot-hash-384-v1"

/* bytes of a query, and of one product field, that are looked at */
#define CARTBOT_EMBED_MAX_QUERY  1024
#define CARTBOT_EMBED_MAX_INPUT  (16 * 1024)

/* fields of one cartbot_embed_fields() call; more are ignored */
#define CARTBOT_EMBED_MAX_FIELDS 16

/* longer tokens are cut at a character boundary */
#define CARTBOT_EMBED_MAX_TOKEN  48

/* the largest weight a field may carry; larger ones are clamped */
#define CARTBOT_EMBED_MAX_WEIGHT 8.0


typedef struct {
    const char             *data;
    size_t                  len;
    double                  weight;    /* 0 to CARTBOT_EMBED_MAX_WEIGHT */
} cartbot_embed_field_t;


/* the text fields of a product, as in the product table */

typedef struct {
    cartbot_str_t           name;
    cartbot_str_t           description;
    cartbot_str_t           specs;
    cartbot_str_t           category;
    cartbot_str_t           sub_category;
} cartbot_embed_product_t;


/* the field weights cartbot_embed_product() uses */
#define CARTBOT_EMBED_W_NAME            1.0
#define CARTBOT_EMBED_W_DESCRIPTION     1.0
#define CARTBOT_EMBED_W_SUB_CATEGORY    0.35
#define CARTBOT_EMBED_W_CATEGORY        0.25
#define CARTBOT_EMBED_W_SPECS           0.25


/* the versioned model name, to be stored with every product vector */
const char *cartbot_embed_model_name(void);

/*
 * Embeds one text (a search query), of which the first
 * CARTBOT_EMBED_MAX_QUERY bytes count.  Returns the number of tokens
 * used; 0 means the text had nothing to embed, and out is the fallback
 * vector described above.
 */
size_t cartbot_embed_text(const char *text, size_t len,
    float out[CARTBOT_EMBED_DIM]);

/*
 * Embeds up to CARTBOT_EMBED_MAX_FIELDS weighted fields, of which the
 * first CARTBOT_EMBED_MAX_INPUT bytes count (a field with no data or
 * weight 0 is skipped).  Returns the number of tokens used in all fields,
 * 0 as for a text.
 */
size_t cartbot_embed_fields(const cartbot_embed_field_t *fields, size_t n,
    float out[CARTBOT_EMBED_DIM]);

/* embeds a product with the CARTBOT_EMBED_W_* field weights */
size_t cartbot_embed_product(const cartbot_embed_product_t *p,
    float out[CARTBOT_EMBED_DIM]);

/*
 * Cosine similarity of two vectors of dim floats, in [-1, 1]; 0 when
 * either vector is zero.
 */
double cartbot_embed_cosine(const float *a, const float *b, size_t dim);

/*
 * Appends the vector as a JSON array of numbers ("%.7g", enough for
 * similarity, about 4 KB for 384 dimensions).
 */
int cartbot_embed_add_json(cartbot_buf_t *b, const float *v, size_t dim);

/*
 * For tests and diagnostics: one or two words as the embedding sees them,
 * stop words dropped, each word folded and stemmed, the stems joined
 * ("Candles" -> "candl", "Café" -> "caf", "T-Shirts" -> "tshirt").
 * Writes at most size - 1 bytes and a NUL; returns the length: 0 for
 * stop words only, no token, or more than two words.
 */
size_t cartbot_embed_stem(const char *word, size_t len, char *out,
    size_t size);

/*
 * For the unit tests: checks the built-in tables (stop words in byte
 * order; each concept member plain lowercase ASCII that normalises to one
 * or two words and keeps its first two letters, as the lookup assumes).
 * Returns NULL, or the first word that breaks a rule.
 */
const char *cartbot_embed_check_tables(void);


#endif /* _CARTBOT_EMBED_H_INCLUDED_ */
