
/*
 * Cartbot core: what the chat decides with what it found.
 */

#include <string.h>

#include "cartbot_chat.h"
#include "cartbot_json.h"


#define CARTBOT_CHAT_WORD_MAX  32

/* cartbot_chat_split() */
#define CARTBOT_CHAT_STOPWORDS  0x01   /* drop the stop words */
#define CARTBOT_CHAT_PARTS      0x02   /* "noise-cancelling": the halves
                                          too */


typedef struct {
    char                    w[CARTBOT_CHAT_MAX_WORDS][CARTBOT_CHAT_WORD_MAX];
    size_t                  n;
} cartbot_chat_words_t;


/* words that say nothing about which product */

static const char  *cartbot_chat_stopwords[] = {
    "a", "an", "and", "any", "for", "i", "in", "it", "me", "my", "of",
    "on", "one", "ones", "please", "some", "that", "the", "these", "this",
    "those", "to", "with", NULL
};


/* spellings of one thing: the first is what the others become */

static const char  *cartbot_chat_synonyms[][2] = {
    { "tshirt", "tee" },
    { "tshirt", "teeshirt" },
    { "grey", "gray" },
    { "sneaker", "trainer" },
    { NULL, NULL }
};


static int
cartbot_chat_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (c >= 'A' && c <= 'Z');
}


static int
cartbot_chat_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


/* plural to singular, and the synonyms */

static void
cartbot_chat_normalize(char *w)
{
    size_t  i, len;

    len = strlen(w);

    if (len > 4 && strcmp(w + len - 3, "ies") == 0) {
        strcpy(w + len - 3, "y");

    } else if (len > 4
               && (strcmp(w + len - 4, "ches") == 0
                   || strcmp(w + len - 4, "shes") == 0
                   || strcmp(w + len - 3, "xes") == 0))
    {
        w[len - 2] = '\0';

    } else if (len > 3 && w[len - 1] == 's' && w[len - 2] != 's') {
        w[len - 1] = '\0';
    }

    for (i = 0; cartbot_chat_synonyms[i][0]; i++) {
        if (strcmp(w, cartbot_chat_synonyms[i][1]) == 0) {
            strcpy(w, cartbot_chat_synonyms[i][0]);
            return;
        }
    }
}


static int
cartbot_chat_stopword(const char *w)
{
    size_t  i;

    for (i = 0; cartbot_chat_stopwords[i]; i++) {
        if (strcmp(w, cartbot_chat_stopwords[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the halves of a hyphenated word, when each has two letters or more */

static void
cartbot_chat_add_parts(cartbot_chat_words_t *out, const char *w,
    const size_t *cut, size_t ncuts)
{
    size_t  j, from, to;

    for (j = 0; j <= ncuts; j++) {
        from = j ? cut[j - 1] : 0;
        to = j < ncuts ? cut[j] : strlen(w);

        if (to - from < 2) {
            return;
        }
    }

    for (j = 0; j <= ncuts && out->n < CARTBOT_CHAT_MAX_WORDS; j++) {
        from = j ? cut[j - 1] : 0;
        to = j < ncuts ? cut[j] : strlen(w);

        memcpy(out->w[out->n], w + from, to - from);
        out->w[out->n][to - from] = '\0';
        cartbot_chat_normalize(out->w[out->n]);
        out->n++;
    }
}


/*
 * Lowercase alphanumeric words; "t-shirt", "chef's" and "t shirt" are one
 * word each.  flags: CARTBOT_CHAT_STOPWORDS, CARTBOT_CHAT_PARTS.
 */

static void
cartbot_chat_split(const char *s, size_t len, cartbot_chat_words_t *out,
    int flags)
{
    char    *w, whole[CARTBOT_CHAT_WORD_MAX];
    size_t   i, k, ncuts, cut[4];

    out->n = 0;
    i = 0;

    while (i < len && out->n < CARTBOT_CHAT_MAX_WORDS) {

        while (i < len && !cartbot_chat_alnum((unsigned char) s[i])) {
            i++;
        }

        if (i == len) {
            break;
        }

        w = out->w[out->n];
        k = 0;
        ncuts = 0;

        for ( ;; ) {
            while (i < len && cartbot_chat_alnum((unsigned char) s[i])) {
                if (k < CARTBOT_CHAT_WORD_MAX - 1) {
                    w[k++] = (char) cartbot_chat_lower((unsigned char) s[i]);
                }
                i++;
            }

            /* "t-shirt", "chef's": the two halves make one word */

            if (i + 1 < len && (s[i] == '-' || s[i] == '\'')
                && cartbot_chat_alnum((unsigned char) s[i + 1]))
            {
                if (s[i] == '-' && ncuts < 4) {
                    cut[ncuts++] = k;
                }

                i++;
                continue;
            }

            break;
        }

        w[k] = '\0';

        /* "t shirt" */

        if (out->n && strcmp(out->w[out->n - 1], "t") == 0
            && strncmp(w, "shirt", 5) == 0 && k + 1 < CARTBOT_CHAT_WORD_MAX)
        {
            memmove(w + 1, w, k + 1);
            w[0] = 't';
            ncuts = 0;
            out->n--;
            memcpy(out->w[out->n], w, CARTBOT_CHAT_WORD_MAX);
            w = out->w[out->n];
        }

        memcpy(whole, w, CARTBOT_CHAT_WORD_MAX);
        cartbot_chat_normalize(w);

        if (w[0] == '\0'
            || ((flags & CARTBOT_CHAT_STOPWORDS) && cartbot_chat_stopword(w)))
        {
            continue;
        }

        out->n++;

        if ((flags & CARTBOT_CHAT_PARTS) && ncuts
            && k < CARTBOT_CHAT_WORD_MAX - 1)
        {
            cartbot_chat_add_parts(out, whole, cut, ncuts);
        }
    }
}


/* equal, or one typo apart (a letter changed, added, lost or swapped) */

static int
cartbot_chat_close(const char *a, const char *b)
{
    size_t  la, lb, i, j;

    if (strcmp(a, b) == 0) {
        return 1;
    }

    la = strlen(a);
    lb = strlen(b);

    /* short words and first letters are seldom mistyped */

    if (la < 5 || lb < 5 || a[0] != b[0]) {
        return 0;
    }

    /* "hoodies" made "hoody" by cartbot_chat_normalize(), and "hoodie" */

    if (la + 1 == lb && a[la - 1] == 'y' && strcmp(b + la - 1, "ie") == 0
        && strncmp(a, b, la - 1) == 0)
    {
        return 1;
    }

    if (lb + 1 == la && b[lb - 1] == 'y' && strcmp(a + lb - 1, "ie") == 0
        && strncmp(a, b, lb - 1) == 0)
    {
        return 1;
    }

    if (la == lb) {
        for (i = 0; i < la && a[i] == b[i]; i++) { /* void */ }

        if (strcmp(a + i + 1, b + i + 1) == 0) {
            return 1;
        }

        return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i]
               && strcmp(a + i + 2, b + i + 2) == 0;
    }

    if (la + 1 == lb || lb + 1 == la) {
        if (la > lb) {
            const char *t = a; a = b; b = t;
            la = lb;
        }

        for (i = 0; i < la && a[i] == b[i]; i++) { /* void */ }

        for (j = i; j < la; j++) {
            if (a[j] != b[j + 1]) {
                return 0;
            }
        }

        return 1;
    }

    return 0;
}


static double
cartbot_chat_fit_words(const cartbot_chat_words_t *p,
    const cartbot_chat_words_t *t)
{
    size_t  i, j, hit;

    if (p->n == 0) {
        return 0;
    }

    hit = 0;

    for (i = 0; i < p->n; i++) {
        for (j = 0; j < t->n; j++) {
            if (cartbot_chat_close(p->w[i], t->w[j])) {
                hit++;
                break;
            }
        }
    }

    return (double) hit / p->n;
}


double
cartbot_chat_fit(const char *phrase, size_t plen, const char *text,
    size_t tlen)
{
    cartbot_chat_words_t  p, t;

    cartbot_chat_split(phrase, plen, &p, CARTBOT_CHAT_STOPWORDS);
    cartbot_chat_split(text, tlen, &t, CARTBOT_CHAT_PARTS);

    return cartbot_chat_fit_words(&p, &t);
}


cartbot_chat_pick_e
cartbot_chat_pick(const char *phrase, const char *colour,
    const cartbot_chat_candidate_t *c, size_t n, size_t *chosen,
    size_t *tied, size_t *ntied)
{
    size_t                i, j, have;
    double                fit, best, fits[64];
    cartbot_chat_words_t  p, t, extra;

    *ntied = 0;

    if (n == 0) {
        return CARTBOT_CHAT_PICK_NONE;
    }

    if (n > 64) {
        n = 64;
    }

    cartbot_chat_split(phrase ? phrase : "", phrase ? strlen(phrase) : 0,
                       &p, CARTBOT_CHAT_STOPWORDS);

    /* a colour said apart from the phrase must fit as well */

    if (colour) {
        cartbot_chat_split(colour, strlen(colour), &extra,
                           CARTBOT_CHAT_STOPWORDS);

        for (i = 0; i < extra.n && p.n < CARTBOT_CHAT_MAX_WORDS; i++) {
            for (j = 0, have = 0; j < p.n; j++) {
                have |= (strcmp(p.w[j], extra.w[i]) == 0);
            }

            if (!have) {
                memcpy(p.w[p.n++], extra.w[i], CARTBOT_CHAT_WORD_MAX);
            }
        }
    }

    best = 0;

    for (i = 0; i < n; i++) {
        cartbot_chat_split(c[i].name.data, c[i].name.len, &t,
                           CARTBOT_CHAT_PARTS);

        if (c[i].sub_category.len && t.n < CARTBOT_CHAT_MAX_WORDS) {
            cartbot_chat_words_t  sub;

            cartbot_chat_split(c[i].sub_category.data, c[i].sub_category.len,
                               &sub, 0);

            for (j = 0; j < sub.n && t.n < CARTBOT_CHAT_MAX_WORDS; j++) {
                memcpy(t.w[t.n++], sub.w[j], CARTBOT_CHAT_WORD_MAX);
            }
        }

        fit = cartbot_chat_fit_words(&p, &t);
        fits[i] = fit;

        if (fit > best) {
            best = fit;
        }
    }

    /* nothing fits by name: the closest few are suggestions only */

    if (best < 0.5) {
        for (i = 0; i < n && i < 3; i++) {
            tied[(*ntied)++] = i;
        }

        return CARTBOT_CHAT_PICK_NONE;
    }

    for (i = 0; i < n; i++) {
        if (fits[i] >= best - 1e-9) {
            tied[(*ntied)++] = i;
        }
    }

    if (*ntied == 1) {
        *chosen = tied[0];
        return CARTBOT_CHAT_PICK_ONE;
    }

    return CARTBOT_CHAT_PICK_AMBIGUOUS;
}


int
cartbot_chat_sse(cartbot_buf_t *b, const char *event, const char *json,
    size_t len)
{
    cartbot_buf_printf(b, "event: %s\ndata: ", event);
    cartbot_buf_add(b, json, len);
    cartbot_buf_add_str(b, "\n\n");

    return b->failed ? -1 : 0;
}


int
cartbot_chat_sse_text(cartbot_buf_t *b, const char *text, size_t len,
    size_t piece)
{
    size_t  start, i;

    start = 0;

    for (i = 0; i < len; i++) {
        if (i + 1 < len && (text[i] != ' ' || i + 1 - start < piece)) {
            continue;
        }

        cartbot_buf_add_str(b, "event: delta\ndata: {\"text\":");
        cartbot_json_add_string(b, text + start, i + 1 - start);
        cartbot_buf_add_str(b, "}\n\n");

        start = i + 1;
    }

    return b->failed ? -1 : 0;
}
