
/*
 * Cartbot core: hybrid ranking by reciprocal rank fusion.
 * See cartbot_rank.h for the formula and the order of ties.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cartbot_rank.h"
#include "cartbot_json.h"


typedef struct {
    const cartbot_rank_item_t  *item;
    uint32_t                list;
    uint32_t                rank;
} cartbot_rank_entry_t;


static int cartbot_rank_cmp_id(const cartbot_str_t *a,
    const cartbot_str_t *b);
static int cartbot_rank_cmp_entry(const void *one, const void *two);
static int cartbot_rank_cmp_hit(const void *one, const void *two);


int
cartbot_rank_fuse(cartbot_mem_t *mem, const cartbot_rank_list_t *lists,
    size_t nlists, double k, cartbot_rank_hit_t **hits, size_t *nhits)
{
    size_t                 i, j, n, total, nh;
    uint32_t               l;
    cartbot_rank_hit_t    *h, *out;
    cartbot_rank_entry_t  *e, *entries;

    if (hits == NULL || nhits == NULL) {
        return -1;
    }

    *hits = NULL;
    *nhits = 0;

    if (nlists > CARTBOT_RANK_MAX_LISTS || !(k > 0.0) || isinf(k)
        || (nlists && lists == NULL))
    {
        return -1;
    }

    total = 0;

    for (i = 0; i < nlists; i++) {
        if (lists[i].n && lists[i].items == NULL) {
            return -1;
        }

        total += lists[i].n < CARTBOT_RANK_MAX_ITEMS
                 ? lists[i].n : CARTBOT_RANK_MAX_ITEMS;
    }

    if (total == 0) {
        return 0;
    }

    entries = cartbot_alloc(mem, total * sizeof(cartbot_rank_entry_t));
    out = cartbot_alloc(mem, total * sizeof(cartbot_rank_hit_t));

    if (entries == NULL || out == NULL) {
        return -1;
    }

    n = 0;

    for (i = 0; i < nlists; i++) {
        for (j = 0; j < lists[i].n && j < CARTBOT_RANK_MAX_ITEMS; j++) {

            if (lists[i].items[j].id.len == 0) {
                continue;
            }

            entries[n].item = &lists[i].items[j];
            entries[n].list = (uint32_t) i;
            entries[n].rank = (uint32_t) j + 1;
            n++;
        }
    }

    /* group the entries of each id, each list's best rank first */

    qsort(entries, n, sizeof(cartbot_rank_entry_t), cartbot_rank_cmp_entry);

    nh = 0;
    h = NULL;

    for (i = 0; i < n; i++) {
        e = &entries[i];

        if (h == NULL || cartbot_rank_cmp_id(&h->id, &e->item->id) != 0) {
            h = &out[nh++];
            memset(h, 0, sizeof(cartbot_rank_hit_t));
            h->id = e->item->id;
        }

        l = e->list;

        if (h->rank[l] == 0) {
            h->rank[l] = e->rank;
            h->raw[l] = e->item->score;
            h->lists |= 1u << l;
            h->nlists++;
        }
    }

    /* the sum always runs in list order: equal inputs, equal bits */

    for (i = 0; i < nh; i++) {
        h = &out[i];

        for (l = 0; l < nlists; l++) {
            if (h->rank[l] && lists[l].weight > 0.0) {
                h->score += lists[l].weight / (k + (double) h->rank[l]);
            }
        }
    }

    qsort(out, nh, sizeof(cartbot_rank_hit_t), cartbot_rank_cmp_hit);

    *hits = out;
    *nhits = nh;

    return 0;
}


int
cartbot_rank_add_json(cartbot_buf_t *b, const cartbot_rank_hit_t *hit,
    const cartbot_rank_list_t *lists, size_t nlists)
{
    size_t       i, first;
    double       raw;
    const char  *name;

    if (cartbot_buf_add_char(b, '{') != 0) {
        return -1;
    }

    first = 1;

    for (i = 0; i < nlists && i < CARTBOT_RANK_MAX_LISTS; i++) {

        if (hit->rank[i] == 0) {
            continue;
        }

        name = lists[i].name ? lists[i].name : "list";

        if ((!first && cartbot_buf_add_char(b, ',') != 0)
            || cartbot_json_add_string(b, name, strlen(name)) != 0
            || cartbot_buf_printf(b, ":{\"rank\":%u,\"score\":",
                                  (unsigned) hit->rank[i]) != 0)
        {
            return -1;
        }

        raw = hit->raw[i];

        if (isfinite(raw)) {
            if (cartbot_buf_printf(b, "%.6g}", raw) != 0) {
                return -1;
            }

        } else if (cartbot_buf_add_str(b, "null}") != 0) {
            return -1;
        }

        first = 0;
    }

    return cartbot_buf_add_char(b, '}');
}


static int
cartbot_rank_cmp_id(const cartbot_str_t *a, const cartbot_str_t *b)
{
    int     rc;
    size_t  n;

    n = a->len < b->len ? a->len : b->len;

    rc = memcmp(a->data, b->data, n);
    if (rc != 0) {
        return rc;
    }

    return (a->len > b->len) - (a->len < b->len);
}


static int
cartbot_rank_cmp_entry(const void *one, const void *two)
{
    int                          rc;
    const cartbot_rank_entry_t  *a, *b;

    a = one;
    b = two;

    rc = cartbot_rank_cmp_id(&a->item->id, &b->item->id);
    if (rc != 0) {
        return rc;
    }

    if (a->list != b->list) {
        return a->list < b->list ? -1 : 1;
    }

    return (a->rank > b->rank) - (a->rank < b->rank);
}


/* best first: a negative result puts a before b */

static int
cartbot_rank_cmp_hit(const void *one, const void *two)
{
    size_t                     i;
    uint32_t                   ra, rb;
    const cartbot_rank_hit_t  *a, *b;

    a = one;
    b = two;

    if (a->score != b->score) {
        return a->score > b->score ? -1 : 1;
    }

    if (a->nlists != b->nlists) {
        return a->nlists > b->nlists ? -1 : 1;
    }

    for (i = 0; i < CARTBOT_RANK_MAX_LISTS; i++) {
        /* absent (0) is worse than any rank */
        ra = a->rank[i] ? a->rank[i] : UINT32_MAX;
        rb = b->rank[i] ? b->rank[i] : UINT32_MAX;

        if (ra != rb) {
            return ra < rb ? -1 : 1;
        }
    }

    return cartbot_rank_cmp_id(&a->id, &b->id);
}
