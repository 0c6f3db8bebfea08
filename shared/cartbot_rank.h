
/*
 * Cartbot core: hybrid ranking by reciprocal rank fusion (RRF).
 *
 * Product search runs two queries, a full-text one (BM25 over name and
 * description) and a vector one (cosine similarity of embeddings), and
 * fuses their ranked lists.  Their raw scores are not comparable (BM25 is
 * unbounded and depends on the corpus, cosine lies in [-1, 1]), so RRF
 * uses only the ranks:
 *
 *                   n
 *     score(d)  =  sum  w_i / (k + rank_i(d))
 *                  i=1
 *
 *   rank_i(d)   1 for the first hit of list i, 2 for the second, ...; a
 *               list in which d is absent adds nothing
 *   w_i         the weight of list i (1.0 each by default)
 *   k           damps the head of the lists (60 by default, as in
 *               Cormack, Clarke and Buettcher, SIGIR 2009): with k = 60 the
 *               first hit of a list scores 1/61, the tenth 1/70, so a
 *               document found by both lists beats one found at the top
 *               of only one
 *
 * Example, k = 60, weights 1: "tee_blue" is 1st in full text and 3rd in
 * vectors: 1/61 + 1/63 = 0.032266; "tee_navy" is 2nd in vectors only:
 * 1/62 = 0.016129.
 *
 * Ties of the fused score are broken, in order, by: more lists matched;
 * the better rank in list 0, then in list 1, ... (absent counts as worse
 * than any rank); the id, bytewise.  The result is therefore independent
 * of the order in which equal scores arrive.
 *
 * Each hit keeps its provenance: in which lists it was found, at which
 * rank and with which raw score, so the API can say why it matched.
 *
 * Ids are compared bytewise: give both lists the same form ("product:x"
 * or "x").  An id repeated within one list counts at its best rank; an
 * empty id is skipped (the ranks after it stay as they are).
 */

#ifndef _CARTBOT_RANK_H_INCLUDED_
#define _CARTBOT_RANK_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "cartbot_buf.h"


#define CARTBOT_RANK_K            60.0
#define CARTBOT_RANK_MAX_LISTS    4
/* longer lists are cut: bounds the work of one fusion */
#define CARTBOT_RANK_MAX_ITEMS    1000


/* one hit of one input list */

typedef struct {
    cartbot_str_t           id;
    double                  score;     /* raw: BM25, cosine, ... */
} cartbot_rank_item_t;


/* one ranked input list, best first */

typedef struct {
    const char             *name;      /* "fulltext", "vector": for JSON */
    const cartbot_rank_item_t  *items;
    size_t                  n;
    double                  weight;    /* w_i; 1.0 by default */
} cartbot_rank_list_t;


/* one fused hit */

typedef struct {
    cartbot_str_t           id;        /* points into the input items */
    double                  score;     /* the fused RRF score */
    unsigned                lists;     /* bit i: found in list i */
    unsigned                nlists;    /* how many lists found it */
    uint32_t                rank[CARTBOT_RANK_MAX_LISTS];  /* 0: absent */
    double                  raw[CARTBOT_RANK_MAX_LISTS];   /* raw scores */
} cartbot_rank_hit_t;


/*
 * Fuses nlists (at most CARTBOT_RANK_MAX_LISTS) ranked lists with damping
 * k (use CARTBOT_RANK_K; k must be > 0).  Allocates the hits from mem,
 * best first, into *hits and their number into *nhits.  Lists with
 * weight <= 0 still give provenance but add nothing to the score.
 * Returns 0, or -1 for no memory or bad arguments.
 */
int cartbot_rank_fuse(cartbot_mem_t *mem, const cartbot_rank_list_t *lists,
    size_t nlists, double k, cartbot_rank_hit_t **hits, size_t *nhits);

/*
 * Appends why a hit matched, as a JSON object keyed by list name:
 *   {"fulltext":{"rank":1,"score":2.31},"vector":{"rank":3,"score":0.82}}
 * Lists that did not find the hit are left out.
 */
int cartbot_rank_add_json(cartbot_buf_t *b, const cartbot_rank_hit_t *hit,
    const cartbot_rank_list_t *lists, size_t nlists);


#endif /* _CARTBOT_RANK_H_INCLUDED_ */
