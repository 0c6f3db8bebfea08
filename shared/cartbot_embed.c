
/*
 * Cartbot core: the built-in deterministic text embedding.
 * See cartbot_embed.h for what it computes and why.
 */

#include <stdint.h>
#include <string.h>

#include "cartbot_embed.h"


/*
 * Feature weights, in integer units.  Tuned on the sample catalog with 90
 * queries (20 in the unit test, 70 held out): across a wide range around
 * these values the results differ only by hash-collision noise.
 */
#define CARTBOT_EMBED_F_WORD       12   /* a word's stem */
#define CARTBOT_EMBED_F_PAIR       8    /* two adjacent stems, joined */
#define CARTBOT_EMBED_F_CONCEPT    14   /* a kind of product, a use */
#define CARTBOT_EMBED_F_ATTRIBUTE  7    /* a colour, material, quality */
#define CARTBOT_EMBED_F_GRAMS      12   /* all n-grams of one word */

/*
 * Fixed point: a field of weight w is scaled to the norm w * 2^26 (w in
 * units of 2^-16, times 2^10), so 16 fields of weight <= 8 sum below 2^34;
 * the sum is brought to a maximum component in [2^25, 2^26) before its
 * norm is taken, so that the squares of 384 components fit 64 bits.
 */
#define CARTBOT_EMBED_WEIGHT_ONE   65536.0
#define CARTBOT_EMBED_FIELD_SHIFT  10

#define CARTBOT_EMBED_PAIR_MAX     (2 * CARTBOT_EMBED_MAX_TOKEN)
#define CARTBOT_EMBED_MAX_MEMBERS  16

/* token flags */
#define CARTBOT_EMBED_BREAK        0x01 /* sentence punctuation before it */
#define CARTBOT_EMBED_NONALPHA     0x02 /* a digit or a non-Latin letter */

/* character classes */
#define CARTBOT_EMBED_SEP          0
#define CARTBOT_EMBED_WORD         1
#define CARTBOT_EMBED_STOP         2    /* sentence punctuation */
#define CARTBOT_EMBED_APOS         3


typedef struct {
    const unsigned char    *p;
    const unsigned char    *end;
} cartbot_embed_reader_t;


typedef struct {
    const char             *name;
    /* 1 or 2 words each, up to the first NULL */
    const char             *members[CARTBOT_EMBED_MAX_MEMBERS];
} cartbot_embed_concept_t;


/*
 * The members of both concept tables by first letter, built on the stack
 * for each call (about a microsecond): a lookup reads only the members
 * that begin with the key's letter.  An entry is table << 14 | concept
 * << 4 | member.
 */
#define CARTBOT_EMBED_MAX_ENTRIES  1024

typedef struct {
    uint16_t                start[27];
    uint16_t                entry[CARTBOT_EMBED_MAX_ENTRIES];
} cartbot_embed_index_t;


static size_t cartbot_embed_next_token(cartbot_embed_reader_t *r,
    unsigned char *tok, unsigned *flags);
static int cartbot_embed_char(cartbot_embed_reader_t *r, unsigned char *out,
    size_t *n);
static int cartbot_embed_stopword(const unsigned char *w, size_t n);
static int cartbot_embed_cmp(const char *s, const unsigned char *w,
    size_t n);
static size_t cartbot_embed_stem_word(unsigned char *w, size_t n);
static size_t cartbot_embed_normalize(const unsigned char *p, size_t len,
    unsigned char *out, size_t size);
static void cartbot_embed_index(cartbot_embed_index_t *ix);
static size_t cartbot_embed_accumulate(const cartbot_embed_index_t *ix,
    const unsigned char *p, size_t len, int32_t *acc);
static void cartbot_embed_concepts(const cartbot_embed_index_t *ix,
    const unsigned char *key, size_t n, int32_t *acc);
static const char *cartbot_embed_check_table(
    const cartbot_embed_concept_t *table);
static size_t cartbot_embed_member(const char *p, unsigned char *out);
static void cartbot_embed_grams(const unsigned char *w, size_t n,
    int32_t *acc);
static void cartbot_embed_feature(int32_t *acc, unsigned char ns,
    const unsigned char *s, size_t n, int32_t weight);
static size_t cartbot_embed_finish(int64_t *total, size_t ntokens,
    float *out);
static int64_t cartbot_embed_div(int64_t x, int64_t d);
static uint64_t cartbot_embed_isqrt(uint64_t x);
static double cartbot_embed_sqrt(double x);


/*
 * Letters U+00C0 to U+017F folded to ASCII, 16 to a line: '*' is a letter
 * that folds to two ("æ" -> "ae", "þ" -> "th", "ß" -> "ss", "ĳ" -> "ij",
 * "œ" -> "oe"), ' ' the two signs "×" and "÷".
 */
static const char  cartbot_embed_latin[] =
    "aaaaaa*ceeeeiiii"      /* U+00C0 */
    "dnooooo ouuuuy**"      /* U+00D0 */
    "aaaaaa*ceeeeiiii"      /* U+00E0 */
    "dnooooo ouuuuy*y"      /* U+00F0 */
    "aaaaaaccccccccdd"      /* U+0100 */
    "ddeeeeeeeeeegggg"      /* U+0110 */
    "gggghhhhiiiiiiii"      /* U+0120 */
    "ii**jjkkklllllll"      /* U+0130 */
    "lllnnnnnnnnnoooo"      /* U+0140 */
    "oo**rrrrrrssssss"      /* U+0150 */
    "ssttttttuuuuuuuu"      /* U+0160 */
    "uuuuwwyyyzzzzzzs";     /* U+0170 */

_Static_assert(sizeof(cartbot_embed_latin) == 0x180 - 0xc0 + 1,
               "one letter for each of U+00C0 to U+017F");


/*
 * Words that carry no meaning for product search, folded and unstemmed,
 * in byte order (binary search).  Queries are chat text ("I'm looking for
 * something to keep coffee hot"), so this includes the words of asking.
 */
static const char  *cartbot_embed_stopwords[] = {
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "anything",
    "are", "around", "as", "at", "be", "been", "being", "best", "but", "buy",
    "by", "can", "could", "did", "do", "does", "dont", "each", "find", "for",
    "from", "get", "give", "good", "got", "great", "had", "has", "have",
    "having", "he", "her", "here", "him", "his", "how", "i", "id", "if", "im",
    "in", "into", "is", "it", "its", "ive", "just", "kind", "like", "look",
    "looking", "lot", "lots", "maybe", "me", "might", "more", "most", "much",
    "my", "need", "needs", "nice", "no", "not", "of", "on", "or", "our",
    "please", "really", "recommend", "search", "she", "should", "show", "so",
    "some", "someone", "something", "sort", "stuff", "such", "suggest", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "thing",
    "things", "this", "those", "to", "too", "up", "us", "very", "want", "was",
    "we", "were", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "without", "would", "you", "your", "yours",
};


/*
 * Shopping vocabulary: the words and two-word phrases of each concept
 * share that concept's feature.  Members are written in plain lowercase
 * as a shopper would type them; they are normalised and stemmed like any
 * text before they are compared, so "t-shirt", "t shirt", "tshirt" and
 * "t-shirts" are the same member.  A word may belong to several concepts.
 * Only synonyms and near-synonyms belong here: a concept shared by
 * unrelated products blurs search.
 */
static const cartbot_embed_concept_t  cartbot_embed_concepts_table[] = {

    /* apparel */
    { "tshirt", { "t-shirt", "tee", "tee shirt", "crewneck tee" } },
    { "top", { "t-shirt", "tee", "shirt", "polo", "blouse", "tank top",
               "henley" } },
    { "sweater", { "sweater", "jumper", "pullover", "cardigan", "knitwear",
                   "crewneck" } },
    { "hoodie", { "hoodie", "hoody", "hooded sweatshirt", "sweatshirt",
                  "hooded top" } },
    { "trousers", { "trousers", "pants", "jeans", "chinos", "slacks", "denim",
                    "leggings" } },
    { "coat", { "jacket", "coat", "raincoat", "parka", "anorak", "windbreaker",
                "puffer", "rain jacket", "shell jacket" } },
    { "sock", { "sock", "hosiery", "stocking" } },
    { "hat", { "hat", "cap", "beanie", "baseball cap", "headwear" } },
    { "dress", { "dress", "sundress", "frock", "gown" } },
    { "sportswear", { "athletic", "sport", "sports", "workout", "gym",
                      "exercise", "fitness", "activewear", "training" } },
    { "running", { "run", "running", "runner", "jog", "jogging",
                   "marathon" } },

    /* footwear */
    { "footwear", { "shoe", "footwear", "sneaker", "trainer", "boot", "sandal",
                    "slipper", "loafer", "kicks" } },
    { "sneaker", { "sneaker", "trainer", "kicks", "tennis shoe", "plimsoll",
                   "low-top", "high-top" } },
    { "boot", { "boot", "ankle boot", "chelsea boot", "hiking boot" } },
    { "sandal", { "sandal", "slide", "flip flop", "flip-flop", "flipflop" } },
    { "slipper", { "slipper", "house shoe", "moccasin" } },

    /* drink and kitchen */
    { "cup", { "mug", "cup", "tumbler", "beaker", "teacup" } },
    { "drinkware", { "mug", "cup", "tumbler", "bottle", "flask", "thermos",
                     "drinkware", "canteen" } },
    { "insulated", { "insulated", "insulation", "thermal", "thermos", "vacuum",
                     "double-wall", "double wall", "vacuum flask", "keep warm",
                     "keep hot", "keep cold" } },
    { "hot", { "hot", "warm", "heat", "warmth", "heated", "toasty",
               "steaming" } },
    { "cold", { "cold", "chilled", "iced", "ice", "chill", "frozen",
                "cool" } },
    { "coffee", { "coffee", "espresso", "latte", "cappuccino", "americano",
                  "brew", "barista", "caffeine", "coffee bean" } },
    { "tea", { "tea", "teapot", "infuser", "chai", "matcha", "herbal tea",
               "loose leaf" } },
    { "kettle", { "kettle", "boil", "boiler", "water heater" } },
    { "coffee_maker", { "french press", "cafetiere", "coffee maker",
                        "coffeemaker", "pour-over", "percolator",
                        "espresso machine" } },
    { "grinder", { "grinder", "grind", "mill", "burr" } },
    { "pan", { "pan", "skillet", "frying pan", "frypan", "wok", "saucepan",
               "cookware" } },
    { "cook", { "cook", "cooking", "cooker", "stove", "stovetop", "burner",
                "meal", "hob" } },
    { "knife", { "knife", "knives", "blade", "cutlery", "cleaver" } },
    { "chopping", { "cutting board", "chopping board", "chop", "chopping",
                    "slice", "dice" } },
    { "bottle", { "bottle", "water bottle", "flask", "canteen",
                  "hydration" } },
    { "lunch", { "lunch", "lunchbox", "lunch box", "bento", "food jar",
                 "food container", "soup" } },

    /* home */
    { "candle", { "candle", "tealight", "tea light", "votive", "pillar candle",
                  "wax" } },
    { "fragrance", { "scent", "scented", "fragrance", "fragrant", "aroma",
                     "perfume", "smell", "essential oil", "aromatherapy",
                     "cologne", "parfum", "diffuser" } },
    { "blanket", { "blanket", "throw", "quilt", "duvet", "comforter",
                   "bedspread" } },
    { "pillow", { "pillow", "cushion", "pillowcase", "pillow case",
                  "cushion cover" } },
    { "towel", { "towel", "bath towel", "washcloth", "bath sheet",
                 "flannel" } },
    { "sofa", { "sofa", "couch", "loveseat", "love seat", "settee",
                "two-seater", "divan", "chesterfield" } },
    { "seat", { "chair", "seat", "stool", "armchair", "seater" } },
    { "lamp", { "lamp", "lighting", "torch", "flashlight", "headlamp",
                "head torch", "lantern", "bulb" } },
    { "plant", { "plant", "planter", "flowerpot", "flower pot", "houseplant",
                 "herb", "garden" } },
    { "frame", { "frame", "picture frame", "photo frame" } },
    { "cozy", { "cosy", "cozy", "snug", "cuddly", "comfy" } },

    /* electronics */
    { "headphones", { "headphone", "headset", "earphone", "earbud", "over-ear",
                      "airpods" } },
    { "earbuds", { "earbud", "earphone", "airpods", "earpiece" } },
    { "audio", { "audio", "music", "sound", "speaker", "bass", "stereo",
                 "listen" } },
    { "wireless", { "wireless", "bluetooth", "cordless" } },
    { "charger", { "charger", "charging", "charge", "recharge", "rechargeable",
                   "power adapter", "wall plug" } },
    { "battery", { "battery", "power bank", "powerbank", "battery pack",
                   "portable charger", "mah" } },
    { "cable", { "cable", "cord", "wire", "lead" } },
    { "phone", { "phone", "smartphone", "iphone", "android", "mobile",
                 "cellphone", "cell phone" } },
    { "computer", { "laptop", "notebook", "macbook", "computer", "pc",
                    "chromebook", "desktop" } },
    { "mouse", { "mouse", "mice", "trackball", "trackpad" } },
    { "camera", { "webcam", "camera", "cam" } },
    { "watch", { "watch", "smartwatch", "fitness tracker", "tracker",
                 "wristband" } },
    { "ereader", { "e-reader", "ereader", "kindle", "ebook", "e-book",
                   "e-ink" } },
    { "screen", { "screen", "display", "monitor" } },

    /* outdoors and sport */
    { "tent", { "tent", "shelter", "tarp", "bivy" } },
    { "camping", { "camp", "camping", "campsite", "campground", "backpacking",
                   "outdoor", "outdoors", "wilderness", "festival" } },
    { "hiking", { "hike", "hiking", "hiker", "trek", "trekking", "trail",
                  "mountain", "mountaineering" } },
    { "backpack", { "backpack", "rucksack", "daypack", "knapsack" } },
    { "cooler", { "cooler", "cool box", "coolbox", "ice box", "icebox",
                  "esky" } },
    { "sleep", { "sleep", "sleeping", "sleeping bag", "bed", "bedroom",
                 "bedtime" } },
    { "yoga", { "yoga", "pilates", "stretching", "yoga mat",
                "exercise mat" } },
    { "weights", { "dumbbell", "weights", "kettlebell", "barbell",
                   "strength" } },
    { "racket", { "tennis", "racket", "racquet", "squash", "badminton" } },
    { "rope", { "jump rope", "skipping rope", "skip rope", "jumprope" } },
    { "beach", { "beach", "pool", "swim", "swimming", "seaside" } },

    /* beauty */
    { "lips", { "lip", "lips", "chapstick", "lip balm", "lipbalm" } },
    { "hair", { "hair", "shampoo", "conditioner", "scalp", "hairbrush",
                "comb" } },
    { "sunscreen", { "sunscreen", "sunblock", "sun cream", "suncream", "spf",
                     "sun lotion", "sun protection", "sunburn" } },
    { "moisturizer", { "moisturizer", "moisturiser", "moisturizing",
                       "moisturising", "lotion", "cream", "hydrating",
                       "hydrate", "dry skin" } },
    { "skin", { "skin", "skincare", "face", "facial", "complexion" } },
    { "soap", { "soap", "body wash", "cleanser", "handwash", "hand wash" } },
    { "shave", { "razor", "shave", "shaving", "shaver", "blade" } },

    /* toys */
    { "toy", { "toy", "plaything", "game", "plush", "puzzle", "kite", "blocks",
               "crayon" } },
    { "kids", { "kid", "child", "children", "toddler", "baby", "infant", "boy",
                "girl", "nursery" } },
    { "plush", { "plush", "stuffed animal", "stuffed toy", "soft toy",
                 "cuddly", "teddy", "plushie" } },
    { "puzzle", { "puzzle", "jigsaw" } },
    { "building", { "building blocks", "blocks", "lego", "bricks",
                    "construction", "magnetic tiles", "tiles", "stacking" } },
    { "remote_control", { "remote control", "remote-control", "rc",
                          "radio-controlled", "radio controlled" } },
    { "board_game", { "board game", "boardgame", "tabletop", "game" } },
    { "art", { "crayon", "marker", "colouring", "coloring", "drawing", "paint",
               "art", "craft", "arts crafts" } },

    { NULL, { NULL } }
};


/*
 * Attributes: qualities, colours, materials.  They weigh less than the
 * kinds of product above, so that "green jumper" finds a green sweater
 * before a green sofa.
 */
static const cartbot_embed_concept_t  cartbot_embed_attributes_table[] = {

    /* qualities */
    { "small", { "small", "compact", "mini", "little", "tiny", "petite" } },
    { "large", { "large", "big", "oversized", "huge", "giant" } },
    { "lightweight", { "lightweight", "ultralight", "packable",
                       "light-weight" } },
    { "portable", { "portable", "travel", "carry" } },
    { "waterproof", { "waterproof", "water-resistant", "water resistant",
                      "rainproof", "water-repellent", "rain" } },
    { "soft", { "soft", "plush", "cushioned", "padded", "brushed" } },
    { "gift", { "gift", "present", "birthday" } },

    /* colours */
    { "blue", { "blue", "navy", "indigo", "azure", "cobalt", "denim",
                "teal" } },
    { "red", { "red", "crimson", "burgundy", "maroon", "scarlet" } },
    { "green", { "green", "olive", "sage", "emerald", "forest green" } },
    { "white", { "white", "ivory", "off-white", "ecru" } },
    { "black", { "black", "jet black", "onyx" } },
    { "grey", { "grey", "gray", "charcoal", "heather", "silver" } },
    { "brown", { "brown", "tan", "chocolate", "camel", "cognac", "suede" } },
    { "yellow", { "yellow", "mustard", "lemon" } },
    { "pink", { "pink", "rose", "blush" } },
    { "purple", { "purple", "violet", "lilac", "plum" } },

    /* materials */
    { "cotton", { "cotton", "organic cotton", "jersey", "twill", "canvas" } },
    { "wool", { "wool", "merino", "cashmere", "lambswool", "fleece",
                "felt" } },
    { "leather", { "leather", "suede", "nubuck" } },
    { "metal", { "steel", "stainless", "aluminium", "aluminum", "metal",
                 "iron", "titanium" } },
    { "wood", { "wood", "wooden", "bamboo", "oak", "beech", "walnut",
                "timber" } },
    { "ceramic", { "ceramic", "stoneware", "porcelain", "earthenware",
                   "terracotta", "clay" } },

    { NULL, { NULL } }
};


static const cartbot_embed_concept_t  *cartbot_embed_tables[] = {
    cartbot_embed_concepts_table,
    cartbot_embed_attributes_table
};

static const int32_t  cartbot_embed_table_weight[] = {
    CARTBOT_EMBED_F_CONCEPT,
    CARTBOT_EMBED_F_ATTRIBUTE
};


const char *
cartbot_embed_model_name(void)
{
    return CARTBOT_EMBED_MODEL;
}


size_t
cartbot_embed_text(const char *text, size_t len,
    float out[CARTBOT_EMBED_DIM])
{
    cartbot_embed_field_t  f;

    f.data = text;
    f.len = len < CARTBOT_EMBED_MAX_QUERY ? len : CARTBOT_EMBED_MAX_QUERY;
    f.weight = 1.0;

    return cartbot_embed_fields(&f, 1, out);
}


size_t
cartbot_embed_product(const cartbot_embed_product_t *p,
    float out[CARTBOT_EMBED_DIM])
{
    cartbot_embed_field_t  f[5];

    f[0].data = p->name.data;
    f[0].len = p->name.len;
    f[0].weight = CARTBOT_EMBED_W_NAME;
    f[1].data = p->description.data;
    f[1].len = p->description.len;
    f[1].weight = CARTBOT_EMBED_W_DESCRIPTION;
    f[2].data = p->sub_category.data;
    f[2].len = p->sub_category.len;
    f[2].weight = CARTBOT_EMBED_W_SUB_CATEGORY;
    f[3].data = p->category.data;
    f[3].len = p->category.len;
    f[3].weight = CARTBOT_EMBED_W_CATEGORY;
    f[4].data = p->specs.data;
    f[4].len = p->specs.len;
    f[4].weight = CARTBOT_EMBED_W_SPECS;

    return cartbot_embed_fields(f, 5, out);
}


size_t
cartbot_embed_fields(const cartbot_embed_field_t *fields, size_t n,
    float out[CARTBOT_EMBED_DIM])
{
    size_t                 i, f, ntokens;
    double                 w;
    int32_t                acc[CARTBOT_EMBED_DIM];
    int64_t                total[CARTBOT_EMBED_DIM], wq, r, scale;
    uint64_t               sumsq;
    unsigned               m, indexed;
    cartbot_embed_index_t  ix;

    memset(total, 0, sizeof(total));
    ntokens = 0;
    indexed = 0;

    if (n > CARTBOT_EMBED_MAX_FIELDS) {
        n = CARTBOT_EMBED_MAX_FIELDS;
    }

    for (f = 0; f < n; f++) {
        w = fields[f].weight;

        if (fields[f].data == NULL || fields[f].len == 0 || !(w > 0.0)) {
            continue;
        }

        if (w > CARTBOT_EMBED_MAX_WEIGHT) {
            w = CARTBOT_EMBED_MAX_WEIGHT;
        }

        /* exact: a product by a power of two, one rounding */
        wq = (int64_t) (w * CARTBOT_EMBED_WEIGHT_ONE + 0.5);

        if (!indexed) {
            cartbot_embed_index(&ix);
            indexed = 1;
        }

        memset(acc, 0, sizeof(acc));

        ntokens += cartbot_embed_accumulate(&ix,
                       (const unsigned char *) fields[f].data,
                       fields[f].len, acc);

        sumsq = 0;
        for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
            sumsq += (uint64_t) ((int64_t) acc[i] * acc[i]);
        }

        if (sumsq == 0 || wq == 0) {
            continue;
        }

        /* r = |acc| * 2^m with 30 bits or more: every acc[i] * 2^m <= r */
        for (m = 0; sumsq < (1ULL << 60); m++) {
            sumsq <<= 2;
        }

        r = (int64_t) cartbot_embed_isqrt(sumsq);
        scale = ((int64_t) 1 << m) * wq * (1 << CARTBOT_EMBED_FIELD_SHIFT);

        /* |acc[i] * 2^m| < 2^31, wq <= 2^19: the product fits 2^60 */
        for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
            total[i] += cartbot_embed_div(acc[i] * scale, r);
        }
    }

    return cartbot_embed_finish(total, ntokens, out);
}


static size_t
cartbot_embed_finish(int64_t *total, size_t ntokens, float *out)
{
    size_t    i;
    int64_t   max, t;
    uint64_t  sumsq, r;

    max = 0;

    for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
        t = total[i] < 0 ? -total[i] : total[i];
        if (t > max) {
            max = t;
        }
    }

    if (max == 0) {
        memset(out, 0, CARTBOT_EMBED_DIM * sizeof(float));
        out[0] = 1.0f;
        return 0;
    }

    /* the largest component into [2^25, 2^26]: exact doublings, or
     * halvings rounded to nearest */

    while (max < (1LL << 25)) {
        for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
            total[i] *= 2;
        }

        max *= 2;
    }

    while (max > (1LL << 26)) {
        for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
            total[i] = cartbot_embed_div(total[i], 2);
        }

        max = cartbot_embed_div(max, 2);
    }

    sumsq = 0;
    for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
        sumsq += (uint64_t) (total[i] * total[i]);
    }

    /* sumsq < 384 * 2^52 < 2^61: r = 2 |total|, to within 1 in 2^26 */
    r = cartbot_embed_isqrt(sumsq << 2);

    for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
        /* both exact in a double; one correctly rounded division */
        out[i] = (float) ((double) (total[i] * 2) / (double) r);
    }

    return ntokens;
}


/* x / d rounded to nearest, halves away from zero; d > 0 */

static int64_t
cartbot_embed_div(int64_t x, int64_t d)
{
    return x >= 0 ? (x + d / 2) / d : -((-x + d / 2) / d);
}


/* floor(sqrt(x)), exactly */

static uint64_t
cartbot_embed_isqrt(uint64_t x)
{
    uint64_t  r, bit;

    r = 0;
    bit = 1ULL << 62;

    while (bit > x) {
        bit >>= 2;
    }

    while (bit) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;

        } else {
            r >>= 1;
        }

        bit >>= 2;
    }

    return r;
}


/* for cosine only (the core does not link libm): Newton from [1, 4) */

static double
cartbot_embed_sqrt(double x)
{
    int     i;
    double  s, y;

    if (!(x > 0.0) || x > 1e300) {
        return x > 0.0 ? x : 0.0;
    }

    s = 1.0;

    while (x >= 4.0) {
        x /= 4.0;
        s *= 2.0;
    }

    while (x < 1.0) {
        x *= 4.0;
        s /= 2.0;
    }

    y = 1.5;

    for (i = 0; i < 6; i++) {
        y = 0.5 * (y + x / y);
    }

    return y * s;
}


double
cartbot_embed_cosine(const float *a, const float *b, size_t dim)
{
    size_t  i;
    double  ab, aa, bb;

    ab = 0;
    aa = 0;
    bb = 0;

    for (i = 0; i < dim; i++) {
        ab += (double) a[i] * b[i];
        aa += (double) a[i] * a[i];
        bb += (double) b[i] * b[i];
    }

    if (aa == 0 || bb == 0) {
        return 0;
    }

    ab /= cartbot_embed_sqrt(aa) * cartbot_embed_sqrt(bb);

    return ab > 1.0 ? 1.0 : (ab < -1.0 ? -1.0 : ab);
}


int
cartbot_embed_add_json(cartbot_buf_t *b, const float *v, size_t dim)
{
    size_t  i;

    if (cartbot_buf_add_char(b, '[') != 0) {
        return -1;
    }

    for (i = 0; i < dim; i++) {
        if (cartbot_buf_printf(b, i ? ",%.7g" : "%.7g", (double) v[i])
            != 0)
        {
            return -1;
        }
    }

    return cartbot_buf_add_char(b, ']');
}


size_t
cartbot_embed_stem(const char *word, size_t len, char *out, size_t size)
{
    size_t         n;
    unsigned char  key[CARTBOT_EMBED_PAIR_MAX];

    if (size == 0) {
        return 0;
    }

    n = cartbot_embed_normalize((const unsigned char *) word, len, key,
                                sizeof(key));
    if (n >= size) {
        n = size - 1;
    }

    memcpy(out, key, n);
    out[n] = '\0';

    return n;
}


const char *
cartbot_embed_check_tables(void)
{
    size_t                          i, k, n;
    const char                     *s;
    const cartbot_embed_concept_t  *c;

    n = sizeof(cartbot_embed_stopwords) / sizeof(cartbot_embed_stopwords[0]);

    for (i = 1; i < n; i++) {
        s = cartbot_embed_stopwords[i];

        if (cartbot_embed_cmp(s, (const unsigned char *)
                              cartbot_embed_stopwords[i - 1],
                              strlen(cartbot_embed_stopwords[i - 1]))
            <= 0)
        {
            return s;
        }
    }

    s = cartbot_embed_check_table(cartbot_embed_concepts_table);
    if (s) {
        return s;
    }

    s = cartbot_embed_check_table(cartbot_embed_attributes_table);
    if (s) {
        return s;
    }

    /* the index has room for every member, and concept numbers 10 bits */

    n = 0;

    for (i = 0; i < 2; i++) {
        for (c = cartbot_embed_tables[i]; c->name; c++) {
            if (c - cartbot_embed_tables[i] >= 1024) {
                return c->name;
            }

            for (k = 0; k < CARTBOT_EMBED_MAX_MEMBERS && c->members[k]; k++) {
                n++;
            }
        }
    }

    return n <= CARTBOT_EMBED_MAX_ENTRIES ? NULL : "too many members";
}


static const char *
cartbot_embed_check_table(const cartbot_embed_concept_t *table)
{
    size_t                          i, m;
    const char                     *p, *s;
    unsigned char                   norm[CARTBOT_EMBED_PAIR_MAX];
    unsigned char                   fast[CARTBOT_EMBED_PAIR_MAX];
    const cartbot_embed_concept_t  *c;

    for (c = table; c->name; c++) {
        for (i = 0; i < CARTBOT_EMBED_MAX_MEMBERS && c->members[i]; i++) {
            p = c->members[i];

            if (p[0] < 'a' || p[0] > 'z') {
                return p;
            }

            for (s = p; *s; s++) {
                if ((*s < 'a' || *s > 'z') && *s != ' ' && *s != '-') {
                    return p;
                }
            }

            if (strlen(p) > CARTBOT_EMBED_MAX_TOKEN) {
                return p;
            }

            m = cartbot_embed_normalize((const unsigned char *) p,
                                        strlen(p), norm, sizeof(norm));

            if (m != cartbot_embed_member(p, fast)
                || memcmp(norm, fast, m) != 0)
            {
                return p;
            }

            if (m == 0 || m > strlen(p) || norm[0] != (unsigned char) p[0]
                || (p[1] >= 'a' && p[1] <= 'z'
                    && (m < 2 || norm[1] != (unsigned char) p[1])))
            {
                return p;
            }
        }
    }

    return NULL;
}


/* the features of one field, added to acc; returns the tokens used */

static size_t
cartbot_embed_accumulate(const cartbot_embed_index_t *ix,
    const unsigned char *p, size_t len, int32_t *acc)
{
    size_t                  n, prev_len, prev2_len, ntokens;
    unsigned                flags;
    unsigned char           tok[CARTBOT_EMBED_MAX_TOKEN];
    unsigned char           prev[CARTBOT_EMBED_MAX_TOKEN];
    unsigned char           prev2[CARTBOT_EMBED_MAX_TOKEN];
    unsigned char           pair[CARTBOT_EMBED_PAIR_MAX];
    cartbot_embed_reader_t  r;

    if (len > CARTBOT_EMBED_MAX_INPUT) {
        len = CARTBOT_EMBED_MAX_INPUT;
    }

    r.p = p;
    r.end = p + len;
    prev_len = 0;
    prev2_len = 0;
    ntokens = 0;

    while ((n = cartbot_embed_next_token(&r, tok, &flags)) != 0) {

        if (flags & CARTBOT_EMBED_BREAK) {
            prev_len = 0;
            prev2_len = 0;
        }

        if (cartbot_embed_stopword(tok, n)) {
            continue;
        }

        if (!(flags & CARTBOT_EMBED_NONALPHA)) {
            n = cartbot_embed_stem_word(tok, n);
        }

        ntokens++;

        /* a lone letter or digit ("t" of "t-shirt") only joins pairs */
        if (n > 1) {
            cartbot_embed_feature(acc, 'w', tok, n, CARTBOT_EMBED_F_WORD);
            cartbot_embed_concepts(ix, tok, n, acc);

            if (!(flags & CARTBOT_EMBED_NONALPHA)) {
                cartbot_embed_grams(tok, n, acc);
            }
        }

        if (prev_len) {
            memcpy(pair, prev, prev_len);
            memcpy(pair + prev_len, tok, n);
            cartbot_embed_feature(acc, 'w', pair, prev_len + n,
                                  CARTBOT_EMBED_F_PAIR);
            cartbot_embed_concepts(ix, pair, prev_len + n, acc);
        }

        if (prev2_len) {
            /* concepts only: "keep coffee hot" has "keep hot" */
            memcpy(pair, prev2, prev2_len);
            memcpy(pair + prev2_len, tok, n);
            cartbot_embed_concepts(ix, pair, prev2_len + n, acc);
        }

        memcpy(prev2, prev, prev_len);
        prev2_len = prev_len;
        memcpy(prev, tok, n);
        prev_len = n;
    }

    return ntokens;
}


/*
 * The next token, folded, at most CARTBOT_EMBED_MAX_TOKEN bytes; 0 at the
 * end of the text.
 */

static size_t
cartbot_embed_next_token(cartbot_embed_reader_t *r, unsigned char *tok,
    unsigned *flags)
{
    int            cls;
    size_t         n, k;
    unsigned char  c[4];

    n = 0;
    *flags = 0;

    while (r->p < r->end) {

        /* a '.' or ',' between digits: "2.5" stays, "10,000" -> "10000" */
        if ((*r->p == '.' || *r->p == ',') && n > 0
            && tok[n - 1] >= '0' && tok[n - 1] <= '9'
            && r->p + 1 < r->end && r->p[1] >= '0' && r->p[1] <= '9')
        {
            if (*r->p == '.' && n < CARTBOT_EMBED_MAX_TOKEN) {
                tok[n++] = '.';
            }

            r->p++;
            continue;
        }

        cls = cartbot_embed_char(r, c, &k);

        if (cls == CARTBOT_EMBED_WORD) {
            if (n + k <= CARTBOT_EMBED_MAX_TOKEN) {
                memcpy(tok + n, c, k);
                n += k;
            }

            /* folded Latin letters are 'a'-'z'; digits and other
             * scripts are not stemmed */
            if (c[0] < 'a' || c[0] > 'z') {
                *flags |= CARTBOT_EMBED_NONALPHA;
            }

            continue;
        }

        if (cls == CARTBOT_EMBED_APOS) {
            continue;
        }

        if (n > 0) {
            if (cls == CARTBOT_EMBED_STOP) {
                /* seen again by the next call as the next token's break */
                r->p -= k;
            }

            return n;
        }

        if (cls == CARTBOT_EMBED_STOP) {
            *flags |= CARTBOT_EMBED_BREAK;
        }
    }

    return n;
}


/*
 * Reads one character at r->p: its class, and for a word character its
 * folded bytes in out[0..*n).  For other classes *n is the number of input
 * bytes read, so a caller may step back over it.
 */

static int
cartbot_embed_char(cartbot_embed_reader_t *r, unsigned char *out, size_t *n)
{
    size_t               len, i;
    uint32_t             u;
    unsigned char        c;
    const unsigned char  *p;

    p = r->p;
    c = *p;

    if (c < 0x80) {
        r->p++;
        *n = 1;

        if (c >= 'A' && c <= 'Z') {
            out[0] = c + ('a' - 'A');
            return CARTBOT_EMBED_WORD;
        }

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            out[0] = c;
            return CARTBOT_EMBED_WORD;
        }

        switch (c) {
        case '\'':
            return CARTBOT_EMBED_APOS;
        case '.': case ',': case ';': case ':': case '!': case '?':
        case '(': case ')': case '[': case ']': case '{': case '}':
        case '"': case '|': case '\n':
            return CARTBOT_EMBED_STOP;
        default:
            return CARTBOT_EMBED_SEP;
        }
    }

    /* UTF-8; anything malformed is one separating byte */

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        u = c & 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        u = c & 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        u = c & 0x07;

    } else {
        r->p++;
        *n = 1;
        return CARTBOT_EMBED_SEP;
    }

    if ((size_t) (r->end - p) < len) {
        r->p = r->end;
        *n = r->end - p;
        return CARTBOT_EMBED_SEP;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            r->p++;
            *n = 1;
            return CARTBOT_EMBED_SEP;
        }

        u = (u << 6) | (p[i] & 0x3f);
    }

    if ((len == 3 && u < 0x800) || (len == 4 && u < 0x10000)
        || (u >= 0xd800 && u <= 0xdfff) || u > 0x10ffff)
    {
        r->p++;
        *n = 1;
        return CARTBOT_EMBED_SEP;
    }

    r->p += len;
    *n = len;

    if (u >= 0xc0 && u <= 0x17f) {
        c = cartbot_embed_latin[u - 0xc0];

        if (c == ' ') {
            return CARTBOT_EMBED_SEP;
        }

        if (c != '*') {
            out[0] = c;
            *n = 1;
            return CARTBOT_EMBED_WORD;
        }

        switch (u) {
        case 0xc6: case 0xe6: memcpy(out, "ae", 2); break;
        case 0xde: case 0xfe: memcpy(out, "th", 2); break;
        case 0xdf:            memcpy(out, "ss", 2); break;
        case 0x132: case 0x133: memcpy(out, "ij", 2); break;
        default:              memcpy(out, "oe", 2); break;
        }

        *n = 2;
        return CARTBOT_EMBED_WORD;
    }

    if (u == 0x2019 || u == 0x2018 || u == 0x2bc) {
        return CARTBOT_EMBED_APOS;
    }

    if (u == 0x2026 || u == 0x201c || u == 0x201d || u == 0x3002) {
        return CARTBOT_EMBED_STOP;
    }

    if (u < 0xc0                                  /* Latin-1 signs */
        || (u >= 0x2000 && u <= 0x2bff)           /* punctuation, symbols */
        || (u >= 0x3000 && u <= 0x303f)           /* CJK punctuation */
        || (u >= 0xfe00 && u <= 0xfe0f)           /* variation selectors */
        || (u >= 0xff00 && u <= 0xff0f)           /* fullwidth signs */
        || u >= 0x1f000)                          /* emoji */
    {
        return CARTBOT_EMBED_SEP;
    }

    /* a letter of another script: kept as it is, not folded */
    memcpy(out, p, len);

    return CARTBOT_EMBED_WORD;
}


static int
cartbot_embed_stopword(const unsigned char *w, size_t n)
{
    int          rc;
    size_t       lo, hi, mid;

    lo = 0;
    hi = sizeof(cartbot_embed_stopwords) / sizeof(cartbot_embed_stopwords[0]);

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = cartbot_embed_cmp(cartbot_embed_stopwords[mid], w, n);

        if (rc == 0) {
            return 1;
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return 0;
}


/* a C string against n bytes, in byte order */

static int
cartbot_embed_cmp(const char *s, const unsigned char *w, size_t n)
{
    size_t  k;

    for (k = 0; k < n; k++) {
        if ((unsigned char) s[k] != w[k]) {
            /* the end of s, a NUL, sorts first */
            return (unsigned char) s[k] < w[k] ? -1 : 1;
        }
    }

    return s[n] == '\0' ? 0 : 1;
}


static int
cartbot_embed_vowel(unsigned char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}


static int
cartbot_embed_has_vowel(const unsigned char *w, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (cartbot_embed_vowel(w[i]) || (i > 0 && w[i] == 'y')) {
            return 1;
        }
    }

    return 0;
}


static int
cartbot_embed_ends(const unsigned char *w, size_t n, const char *suffix)
{
    size_t  k;

    k = strlen(suffix);

    return n >= k && memcmp(w + n - k, suffix, k) == 0;
}


/*
 * A light English stemmer for ASCII lowercase words, made so that the
 * forms of a word meet; its stems need not be words.  Words of 3 letters
 * or fewer are left alone.
 */

static size_t
cartbot_embed_stem_word(unsigned char *w, size_t n)
{
    unsigned char  c;

    if (n <= 3) {
        return n;
    }

    /* plurals: glasses, batteries, boxes, watches, dishes, shirts */

    if (cartbot_embed_ends(w, n, "sses")) {
        n -= 2;

    } else if (cartbot_embed_ends(w, n, "ies")) {
        if (n > 4) {
            n -= 2;
            w[n - 1] = 'y';

        } else {
            n--;
        }

    } else if (n > 4
               && (cartbot_embed_ends(w, n, "xes")
                   || cartbot_embed_ends(w, n, "ches")
                   || cartbot_embed_ends(w, n, "shes")))
    {
        n -= 2;

    } else if (w[n - 1] == 's' && w[n - 2] != 's' && w[n - 2] != 'u'
               && w[n - 2] != 'i')
    {
        n--;
    }

    /* -ing, -ed: running -> run, padded -> pad, scented -> scent */

    if (n > 5 && cartbot_embed_ends(w, n, "ing")
        && cartbot_embed_has_vowel(w, n - 3))
    {
        n -= 3;
        goto undouble;
    }

    if (n > 4 && cartbot_embed_ends(w, n, "ed") && w[n - 3] != 'e'
        && cartbot_embed_has_vowel(w, n - 2))
    {
        n -= 2;
        goto undouble;
    }

    /* -ly: friendly -> friend; -ion: insulation -> insulat */

    if (n > 5 && cartbot_embed_ends(w, n, "ly") && w[n - 3] != 'l'
        && w[n - 3] != 'p' && w[n - 3] != 'b')
    {
        n -= 2;

    } else if (n > 6 && cartbot_embed_ends(w, n, "ion")
               && (w[n - 4] == 't' || w[n - 4] == 's'))
    {
        n -= 3;
    }

    goto final;

undouble:

    c = w[n - 1];

    if (n > 3 && c == w[n - 2] && !cartbot_embed_vowel(c)
        && c != 'l' && c != 's' && c != 'z' && c != 'f')
    {
        n--;
    }

final:

    /* battery, batteries -> batteri; cookie -> cooki; candle -> candl */

    if (n > 3) {
        if (w[n - 1] == 'y' && !cartbot_embed_vowel(w[n - 2])) {
            w[n - 1] = 'i';

        } else if (cartbot_embed_ends(w, n, "ie")) {
            n--;

        } else if (w[n - 1] == 'e' && w[n - 2] != 'e') {
            n--;
        }
    }

    return n;
}


/*
 * The stems of a short text (a concept member) without stop words,
 * concatenated like a pair: "T-Shirts" -> "tshirt".  0 when it has no
 * token, more than two, or does not fit.
 */

static size_t
cartbot_embed_normalize(const unsigned char *p, size_t len,
    unsigned char *out, size_t size)
{
    size_t                  n, total, count;
    unsigned                flags;
    unsigned char           tok[CARTBOT_EMBED_MAX_TOKEN];
    cartbot_embed_reader_t  r;

    r.p = p;
    r.end = p + len;
    total = 0;
    count = 0;

    while ((n = cartbot_embed_next_token(&r, tok, &flags)) != 0) {

        if (cartbot_embed_stopword(tok, n)) {
            continue;
        }

        if (!(flags & CARTBOT_EMBED_NONALPHA)) {
            n = cartbot_embed_stem_word(tok, n);
        }

        if (++count > 2 || total + n > size) {
            return 0;
        }

        memcpy(out + total, tok, n);
        total += n;
    }

    return total;
}


/* adds the features of every concept that has key (a stem or a pair) */

static void
cartbot_embed_index(cartbot_embed_index_t *ix)
{
    size_t                          t, i, k, pos;
    unsigned char                   c0;
    const cartbot_embed_concept_t  *c;

    memset(ix->start, 0, sizeof(ix->start));

    /* count by first letter, then place: a counting sort that keeps the
     * order of the tables */

    for (t = 0; t < 2; t++) {
        for (c = cartbot_embed_tables[t]; c->name; c++) {
            for (i = 0; i < CARTBOT_EMBED_MAX_MEMBERS && c->members[i]; i++) {
                c0 = c->members[i][0];

                if (c0 >= 'a' && c0 <= 'z') {
                    ix->start[c0 - 'a' + 1]++;
                }
            }
        }
    }

    for (k = 1; k < 27; k++) {
        ix->start[k] += ix->start[k - 1];
    }

    for (t = 0; t < 2; t++) {
        for (c = cartbot_embed_tables[t]; c->name; c++) {
            for (i = 0; i < CARTBOT_EMBED_MAX_MEMBERS && c->members[i]; i++) {
                c0 = c->members[i][0];

                if (c0 < 'a' || c0 > 'z') {
                    continue;
                }

                /* start[] of the next letter is the free slot meanwhile */
                pos = ix->start[c0 - 'a']++;

                if (pos < CARTBOT_EMBED_MAX_ENTRIES) {
                    ix->entry[pos] = (uint16_t) (t << 14
                                     | (c - cartbot_embed_tables[t]) << 4
                                     | i);
                }
            }
        }
    }

    /* the placing moved each start to the next letter's: move back */
    for (k = 26; k > 0; k--) {
        ix->start[k] = ix->start[k - 1];
    }

    ix->start[0] = 0;
}


/* adds the features of every concept that has key (a stem or a pair) */

static void
cartbot_embed_concepts(const cartbot_embed_index_t *ix,
    const unsigned char *key, size_t n, int32_t *acc)
{
    size_t                          k, end, m;
    uint16_t                        e, last;
    const char                     *p;
    unsigned char                   norm[CARTBOT_EMBED_PAIR_MAX];
    const cartbot_embed_concept_t  *c;

    if (key[0] < 'a' || key[0] > 'z') {
        return;
    }

    end = ix->start[key[0] - 'a' + 1];
    if (end > CARTBOT_EMBED_MAX_ENTRIES) {
        end = CARTBOT_EMBED_MAX_ENTRIES;
    }

    last = UINT16_MAX;

    for (k = ix->start[key[0] - 'a']; k < end; k++) {
        e = ix->entry[k];

        /* a concept counts once per key; its members are adjacent */
        if ((e >> 4) == last) {
            continue;
        }

        c = &cartbot_embed_tables[e >> 14][(e >> 4) & 0x3ff];
        p = c->members[e & 0xf];

        /*
         * Normalising keeps the first two letters of the first word (the
         * stemmer changes nothing before the third), so most members are
         * passed over without normalising.
         */
        if (p[1] >= 'a' && p[1] <= 'z'
            && (n < 2 || (unsigned char) p[1] != key[1]))
        {
            continue;
        }

        m = cartbot_embed_member(p, norm);

        if (m == n && memcmp(norm, key, n) == 0) {
            cartbot_embed_feature(acc, 'c', (const unsigned char *) c->name,
                                  strlen(c->name),
                                  cartbot_embed_table_weight[e >> 14]);
            last = e >> 4;
        }
    }
}


/*
 * The fast normalisation of a member: the table holds lowercase ASCII
 * words separated by ' ' or '-', at most CARTBOT_EMBED_MAX_TOKEN letters
 * each and no stop words (cartbot_embed_check_tables() makes sure that
 * this gives what cartbot_embed_normalize() gives).
 */

static size_t
cartbot_embed_member(const char *p, unsigned char *out)
{
    size_t  n, total;

    total = 0;

    for ( ;; ) {
        n = 0;

        while (*p >= 'a' && *p <= 'z' && n < CARTBOT_EMBED_MAX_TOKEN) {
            out[total + n++] = *p++;
        }

        total += cartbot_embed_stem_word(out + total, n);

        if (*p == '\0') {
            return total;
        }

        p++;
    }
}


/*
 * Character 3-grams and 4-grams of "#word#".  Their weights are scaled so
 * that a word's n-grams have the same total mass whatever its length.
 */

static void
cartbot_embed_grams(const unsigned char *w, size_t n, int32_t *acc)
{
    size_t         i, count;
    int32_t        weight;
    unsigned char  pad[CARTBOT_EMBED_MAX_TOKEN + 2];

    /* round(F / sqrt(count)): the largest weight with
     * (2 weight - 1)^2 * count <= 4 F^2 */

    pad[0] = '#';
    memcpy(pad + 1, w, n);
    pad[n + 1] = '#';

    count = n + (n - 1);
    for (weight = 1;
         (2 * weight + 1) * (2 * weight + 1) * (int32_t) count
         <= 4 * CARTBOT_EMBED_F_GRAMS * CARTBOT_EMBED_F_GRAMS;
         weight++)
    {
        /* void */
    }

    for (i = 0; i + 3 <= n + 2; i++) {
        cartbot_embed_feature(acc, 'g', pad + i, 3, weight);
    }

    for (i = 0; i + 4 <= n + 2; i++) {
        cartbot_embed_feature(acc, 'g', pad + i, 4, weight);
    }
}


/*
 * Signed feature hashing: FNV-1a 64 over the namespace byte and the
 * feature, then the murmur3 finaliser so that every bit depends on every
 * input byte.
 */

static void
cartbot_embed_feature(int32_t *acc, unsigned char ns, const unsigned char *s,
    size_t n, int32_t weight)
{
    size_t    i;
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;
    h ^= ns;
    h *= 0x100000001b3ULL;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    i = (uint32_t) h % CARTBOT_EMBED_DIM;

    acc[i] += (h >> 63) ? -weight : weight;
}
