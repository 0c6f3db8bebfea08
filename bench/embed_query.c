
/*
 * bench/embed_query: the query side of bench/search.pl's recall check.
 *
 *     cc -O2 -Ishared -o embed_query bench/embed_query.c build/libcartbot.a \
 *         -lyajl -lcrypto -lm
 *
 *     embed_query < queries.txt
 *         For each line of stdin: the number of tokens the embedding used,
 *         a tab and the vector as the product module writes it into its
 *         query (cartbot_embed_text(), then cartbot_embed_add_json()).
 *         0 tokens means the module skips the vector search for that text.
 *
 *     embed_query --exact K PAGE.json... < queries.txt
 *         The exact K nearest products of each query by cosine similarity,
 *         brute force over every stored product vector.  Each PAGE.json is
 *         a SurrealDB /sql answer whose last statement returned
 *         [{"id": ..., "embedding": [...]}, ...].  The query vector is the
 *         module's, to the digit: embedded as above, printed with "%.7g"
 *         and read back.  For each line of stdin it prints the tokens, a
 *         tab, then "id similarity" pairs separated by tabs, best first,
 *         then every further product tied with the K-th (|difference| <
 *         1e-6), so that ties cannot count against the index.
 *
 * Similarities are computed in double from the stored numbers.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cartbot_buf.h"
#include "cartbot_embed.h"
#include "cartbot_json.h"


#define EMBED_QUERY_TIE  1e-6


typedef struct {
    char    *id;
    double  *v;
} embed_query_product_t;


typedef struct {
    size_t   index;
    double   sim;
} embed_query_hit_t;


static embed_query_product_t  *products;
static size_t                  nproducts, cproducts;


static int
embed_query_vector(const char *line, size_t len, cartbot_buf_t *b,
    cartbot_arena_t *arena, size_t *tokens)
{
    float  vec[CARTBOT_EMBED_DIM];

    *tokens = cartbot_embed_text(line, len, vec);

    cartbot_arena_init(arena);
    cartbot_buf_init(b, &arena->mem, CARTBOT_EMBED_DIM * 12);

    if (cartbot_embed_add_json(b, vec, CARTBOT_EMBED_DIM) != 0
        || cartbot_buf_cstr(b) == NULL)
    {
        fprintf(stderr, "embed_query: out of memory\n");
        return -1;
    }

    return 0;
}


static int
embed_query_load(const char *path)
{
    char        err[256];
    long        size;
    char       *text;
    size_t      i, j, n;
    FILE       *f;
    yajl_val    root, rows, row, vec, id;

    f = fopen(path, "rb");

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        perror(path);
        return -1;
    }

    text = malloc(size + 1);

    if (text == NULL || fread(text, 1, size, f) != (size_t) size) {
        fprintf(stderr, "embed_query: cannot read %s\n", path);
        return -1;
    }

    fclose(f);
    text[size] = '\0';

    root = cartbot_json_parse(text, size, err, sizeof(err));
    free(text);

    n = cartbot_json_array_len(root);
    rows = n ? cartbot_json_get(cartbot_json_array_at(root, n - 1), "result")
             : NULL;

    if (root == NULL || !YAJL_IS_ARRAY(rows)) {
        fprintf(stderr, "embed_query: %s: no result array (%s)\n", path,
                root ? "unexpected shape" : err);
        return -1;
    }

    for (i = 0; i < cartbot_json_array_len(rows); i++) {
        row = cartbot_json_array_at(rows, i);
        id = cartbot_json_get(row, "id");
        vec = cartbot_json_get(row, "embedding");

        if (!YAJL_IS_STRING(id) || !YAJL_IS_ARRAY(vec)
            || vec->u.array.len != CARTBOT_EMBED_DIM)
        {
            fprintf(stderr, "embed_query: %s: row %zu has no id or no %d "
                    "numbers\n", path, i, CARTBOT_EMBED_DIM);
            return -1;
        }

        if (nproducts == cproducts) {
            cproducts = cproducts ? 2 * cproducts : 1024;
            products = realloc(products, cproducts * sizeof(*products));
            if (products == NULL) {
                return -1;
            }
        }

        products[nproducts].id = strdup(id->u.string);
        products[nproducts].v = malloc(CARTBOT_EMBED_DIM * sizeof(double));

        if (products[nproducts].id == NULL || products[nproducts].v == NULL)
        {
            return -1;
        }

        for (j = 0; j < CARTBOT_EMBED_DIM; j++) {
            yajl_val  x = vec->u.array.values[j];

            if (!YAJL_IS_NUMBER(x)) {
                fprintf(stderr, "embed_query: %s: row %zu: not a number\n",
                        path, i);
                return -1;
            }

            products[nproducts].v[j] = YAJL_GET_DOUBLE(x);
        }

        nproducts++;
    }

    cartbot_json_free(root);

    return 0;
}


static int
embed_query_by_sim(const void *a, const void *b)
{
    const embed_query_hit_t  *x = a, *y = b;

    return x->sim < y->sim ? 1 : x->sim > y->sim ? -1 : 0;
}


static int
embed_query_exact(size_t k, const char *line, size_t len,
    embed_query_hit_t *hits)
{
    char              err[128];
    double            q[CARTBOT_EMBED_DIM], dot, qq, pp;
    size_t            i, j, tokens;
    yajl_val          v;
    cartbot_buf_t     b;
    cartbot_arena_t   arena;

    if (embed_query_vector(line, len, &b, &arena, &tokens) != 0) {
        return -1;
    }

    /* the numbers the module sends, read back as the database reads them */

    v = cartbot_json_parse(b.data, b.len, err, sizeof(err));

    if (!YAJL_IS_ARRAY(v) || v->u.array.len != CARTBOT_EMBED_DIM) {
        fprintf(stderr, "embed_query: cannot read back the vector: %s\n",
                err);
        return -1;
    }

    for (j = 0; j < CARTBOT_EMBED_DIM; j++) {
        q[j] = YAJL_GET_DOUBLE(v->u.array.values[j]);
    }

    cartbot_json_free(v);
    cartbot_arena_free(&arena);

    for (j = 0, qq = 0; j < CARTBOT_EMBED_DIM; j++) {
        qq += q[j] * q[j];
    }

    for (i = 0; i < nproducts; i++) {
        for (j = 0, dot = 0, pp = 0; j < CARTBOT_EMBED_DIM; j++) {
            dot += q[j] * products[i].v[j];
            pp += products[i].v[j] * products[i].v[j];
        }

        hits[i].index = i;
        hits[i].sim = (qq > 0 && pp > 0) ? dot / sqrt(qq * pp) : 0;
    }

    qsort(hits, nproducts, sizeof(*hits), embed_query_by_sim);

    printf("%zu", tokens);

    for (i = 0; i < nproducts; i++) {
        if (i >= k && hits[k - 1].sim - hits[i].sim >= EMBED_QUERY_TIE) {
            break;
        }

        printf("\t%s %.9f", products[hits[i].index].id, hits[i].sim);
    }

    printf("\n");

    return 0;
}


int
main(int argc, char **argv)
{
    char                line[4096];
    size_t              n, k, tokens;
    cartbot_buf_t       b;
    cartbot_arena_t     arena;
    embed_query_hit_t  *hits;
    int                 i, exact;

    exact = argc >= 2 && strcmp(argv[1], "--exact") == 0;
    k = 0;
    hits = NULL;

    if (exact) {
        if (argc < 4 || (k = strtoul(argv[2], NULL, 10)) == 0) {
            fprintf(stderr, "usage: embed_query [--exact K PAGE.json...]\n");
            return 2;
        }

        for (i = 3; i < argc; i++) {
            if (embed_query_load(argv[i]) != 0) {
                return 1;
            }
        }

        if (nproducts < k) {
            fprintf(stderr, "embed_query: %zu products, fewer than %zu\n",
                    nproducts, k);
            return 1;
        }

        hits = malloc(nproducts * sizeof(*hits));
        if (hits == NULL) {
            return 1;
        }
    }

    while (fgets(line, sizeof(line), stdin) != NULL) {
        n = strcspn(line, "\r\n");
        line[n] = '\0';

        if (exact) {
            if (embed_query_exact(k, line, n, hits) != 0) {
                return 1;
            }

            continue;
        }

        if (embed_query_vector(line, n, &b, &arena, &tokens) != 0) {
            return 1;
        }

        printf("%zu\t%s\n", tokens, b.data);
        cartbot_arena_free(&arena);
    }

    return ferror(stdin) || fflush(stdout) != 0;
}
