
/* unit tests: cartbot_embed, and search quality on the sample catalog */

#include <stdlib.h>
#include <time.h>

#include "cartbot_test.h"
#include "cartbot_embed.h"
#include "cartbot_json.h"


#define CARTBOT_TEST_CATALOG  "conf/catalog/sample.json"


static double
test_embed_abs(double x)
{
    return x < 0 ? -x : x;
}


/* |1 - |v|| < 1e-5 holds when |1 - |v|^2| < 2e-5 (no libm here) */

static int
test_embed_unit(const float *v)
{
    size_t  i;
    double  s;

    s = 0;

    for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
        s += (double) v[i] * v[i];
    }

    return s > 1.0 - 2e-5 && s < 1.0 + 2e-5;
}


static double
test_embed_sim(const char *a, const char *b)
{
    float  va[CARTBOT_EMBED_DIM], vb[CARTBOT_EMBED_DIM];

    cartbot_embed_text(a, strlen(a), va);
    cartbot_embed_text(b, strlen(b), vb);

    return cartbot_embed_cosine(va, vb, CARTBOT_EMBED_DIM);
}


static int
test_embed_same(const char *a, const char *b)
{
    float  va[CARTBOT_EMBED_DIM], vb[CARTBOT_EMBED_DIM];

    cartbot_embed_text(a, strlen(a), va);
    cartbot_embed_text(b, strlen(b), vb);

    return memcmp(va, vb, sizeof(va)) == 0;
}


static void
test_embed_model(cartbot_mem_t *mem)
{
    (void) mem;

    CARTBOT_CHECK_STR(cartbot_embed_model_name(), "cartbot-hash-384-v1");
    CARTBOT_CHECK(CARTBOT_EMBED_DIM == 384);
}


static void
test_embed_tables(cartbot_mem_t *mem)
{
    const char  *bad;

    (void) mem;

    bad = cartbot_embed_check_tables();

    if (bad) {
        fprintf(stderr, "    table entry \"%s\"\n", bad);
    }

    CARTBOT_CHECK(bad == NULL);
}


static void
test_embed_deterministic(cartbot_mem_t *mem)
{
    float                  a[CARTBOT_EMBED_DIM], b[CARTBOT_EMBED_DIM];
    cartbot_embed_field_t  f;
    const char            *t = "Insulated Travel Mug: keeps coffee hot";

    (void) mem;

    CARTBOT_CHECK(cartbot_embed_text(t, strlen(t), a) == 6);
    CARTBOT_CHECK(cartbot_embed_text(t, strlen(t), b) == 6);
    CARTBOT_CHECK(memcmp(a, b, sizeof(a)) == 0);

    /* one field of weight 1 is the text itself */
    f.data = t;
    f.len = strlen(t);
    f.weight = 1.0;
    cartbot_embed_fields(&f, 1, b);
    CARTBOT_CHECK(memcmp(a, b, sizeof(a)) == 0);

    /* and, but for rounding, so is any weight: each field is normalised */
    f.weight = 3.5;
    cartbot_embed_fields(&f, 1, b);
    CARTBOT_CHECK(cartbot_embed_cosine(a, b, CARTBOT_EMBED_DIM) > 0.999999);

    /* the length bounds the bytes read: "Insulated" alone */
    cartbot_embed_text(t, 9, a);
    cartbot_embed_text("insulated", 9, b);
    CARTBOT_CHECK(memcmp(a, b, sizeof(a)) == 0);
}


/*
 * The output is pinned: if this fails, the model changed, and
 * CARTBOT_EMBED_MODEL must get a new version so that stored product
 * vectors are recomputed.  The hash is over the bit patterns of the
 * floats, so it is the same on machines of either byte order.
 */

static void
test_embed_fingerprint(cartbot_mem_t *mem)
{
    size_t        i, t;
    float         v[CARTBOT_EMBED_DIM];
    uint32_t      bits;
    uint64_t      h;
    static const cartbot_embed_product_t  p = {
        cartbot_str("Insulated Travel Mug"),
        cartbot_str("Double-wall vacuum insulated stainless steel travel "
                    "mug with a leak-proof lid. Keeps coffee hot for 6 "
                    "hours and iced drinks cold for 12."),
        cartbot_str("18/8 stainless steel, 470 ml, BPA-free lid"),
        cartbot_str("kitchen"),
        cartbot_str("drinkware")
    };
    const char   *texts[] = {
        "Blue Cotton T-Shirt",
        "something to keep coffee hot",
        "Crème brûlée à la Straße, 10,000 mAh; running shoes!",
        ""
    };

    (void) mem;

    h = 0xcbf29ce484222325ULL;

    for (t = 0; t <= sizeof(texts) / sizeof(texts[0]); t++) {

        if (t < sizeof(texts) / sizeof(texts[0])) {
            cartbot_embed_text(texts[t], strlen(texts[t]), v);

        } else {
            cartbot_embed_product(&p, v);
        }

        for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
            memcpy(&bits, &v[i], 4);
            h = (h ^ bits) * 0x100000001b3ULL;
        }
    }

    if (h != 0x7ace824cbd5e0496ULL) {
        fprintf(stderr, "    fingerprint %016llx\n", (unsigned long long) h);
    }

    CARTBOT_CHECK(h == 0x7ace824cbd5e0496ULL);
}


static void
test_embed_unit_length(cartbot_mem_t *mem)
{
    size_t                   i, n;
    char                    *big;
    float                    v[CARTBOT_EMBED_DIM], w[CARTBOT_EMBED_DIM];
    cartbot_embed_field_t    f;
    cartbot_embed_product_t  p;
    const char              *texts[] = {
        "a", "mug", "Blue Cotton T-Shirt", "tshirt tshirt tshirt tshirt",
        "Double-wall vacuum insulated stainless steel travel mug with a "
        "leak-proof lid. Keeps coffee hot for 6 hours.",
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xd0\xbf\xd1\x80\xd0\xb8",
        "100% 2.5 10,000 #$%^&* x"
    };

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        cartbot_embed_text(texts[i], strlen(texts[i]), v);
        CARTBOT_CHECK(test_embed_unit(v));
    }

    /* a long text, beyond the bytes looked at */
    n = 3 * CARTBOT_EMBED_MAX_INPUT;
    big = cartbot_alloc(mem, n);
    CARTBOT_CHECK(big != NULL);
    if (big == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        big[i] = "lorem ipsum dolor sit amet, "[i % 28];
    }

    f.data = big;
    f.len = n;
    f.weight = 1.0;
    CARTBOT_CHECK(cartbot_embed_fields(&f, 1, v) > 2000);
    CARTBOT_CHECK(test_embed_unit(v));

    /* the bytes beyond the limit do not count */
    f.len = CARTBOT_EMBED_MAX_INPUT;
    cartbot_embed_fields(&f, 1, w);
    CARTBOT_CHECK(memcmp(v, w, sizeof(v)) == 0);

    /* a query is cut sooner */
    CARTBOT_CHECK(cartbot_embed_text(big, n, v) < 200);
    cartbot_embed_text(big, CARTBOT_EMBED_MAX_QUERY, w);
    CARTBOT_CHECK(memcmp(v, w, sizeof(v)) == 0);
    CARTBOT_CHECK(test_embed_unit(v));

    memset(&p, 0, sizeof(p));
    p.name.data = "Lavender Soy Candle";
    p.name.len = strlen(p.name.data);
    p.description.data = big;
    p.description.len = n;
    p.category.data = "home";
    p.category.len = 4;
    CARTBOT_CHECK(cartbot_embed_product(&p, v) > 1000);
    CARTBOT_CHECK(test_embed_unit(v));
}


static void
test_embed_empty(cartbot_mem_t *mem)
{
    size_t       i, j;
    float        v[CARTBOT_EMBED_DIM];
    const char  *texts[] = { "", "   ", "!!! ... ---", "the", "Is it for me?",
                             "\xff\xfe\xc3" };

    (void) mem;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        CARTBOT_CHECK(cartbot_embed_text(texts[i], strlen(texts[i]), v)
                      == 0);
        CARTBOT_CHECK(v[0] == 1.0f);

        for (j = 1; j < CARTBOT_EMBED_DIM; j++) {
            if (v[j] != 0.0f) {
                break;
            }
        }

        CARTBOT_CHECK(j == CARTBOT_EMBED_DIM);
    }

    CARTBOT_CHECK(cartbot_embed_text(NULL, 0, v) == 0);
    CARTBOT_CHECK(cartbot_embed_fields(NULL, 0, v) == 0 && v[0] == 1.0f);
}


static void
test_embed_folding(cartbot_mem_t *mem)
{
    (void) mem;

    CARTBOT_CHECK(test_embed_same("Café Crème", "cafe creme"));
    CARTBOT_CHECK(test_embed_same("STRASSE", "Straße"));
    CARTBOT_CHECK(test_embed_same("naïve façade", "NAIVE FACADE"));
    CARTBOT_CHECK(test_embed_same("Ærøskøbing", "aeroskobing"));
    CARTBOT_CHECK(test_embed_same("Œuvre Łódź", "oeuvre lodz"));
    CARTBOT_CHECK(test_embed_same("Señor Müller", "senor muller"));
    CARTBOT_CHECK(test_embed_same("men's", "mens"));
    CARTBOT_CHECK(test_embed_same("men\xe2\x80\x99s", "mens"));
    CARTBOT_CHECK(test_embed_same("t-shirt", "T  SHIRT"));
    CARTBOT_CHECK(test_embed_same("t\xe2\x80\x90shirt", "t shirt"));
    CARTBOT_CHECK(test_embed_same("10,000 mAh", "10000 MAH"));
    CARTBOT_CHECK(!test_embed_same("2.5 kg", "25 kg"));
    CARTBOT_CHECK(!test_embed_same("café", "cafe latte"));

    /* other scripts are kept, not dropped */
    CARTBOT_CHECK(!test_embed_same("\xd1\x87\xd0\xb0\xd0\xb9", ""));
}


static void
test_embed_stemming(cartbot_mem_t *mem)
{
    size_t       i;
    char         a[64], b[64];
    const char  *same[][2] = {
        { "shirts", "shirt" }, { "mugs", "mug" }, { "candles", "candle" },
        { "running", "run" }, { "batteries", "battery" },
        { "boxes", "box" }, { "glasses", "glass" }, { "watches", "watch" },
        { "dishes", "dish" }, { "insulated", "insulate" },
        { "insulation", "insulated" }, { "hiking", "hike" },
        { "padded", "pad" }, { "scented", "scent" },
        { "shopping", "shop" }, { "friendly", "friend" },
        { "cookies", "cookie" }, { "hoodies", "hoodie" },
        { "toys", "toy" }, { "ties", "tie" }, { "shoes", "shoe" },
        { "sneakers", "sneaker" }, { "Cafés", "cafe" },
        { "T-Shirts", "tshirt" }, { "tees", "tee" }
    };
    const char  *differ[][2] = {
        { "dress", "dre" }, { "tennis", "tenni" }, { "string", "str" },
        { "speed", "spe" }, { "coffee", "coff" }, { "red", "r" },
        { "bus", "bu" }
    };

    (void) mem;

    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        cartbot_embed_stem(same[i][0], strlen(same[i][0]), a, sizeof(a));
        cartbot_embed_stem(same[i][1], strlen(same[i][1]), b, sizeof(b));

        if (strcmp(a, b) != 0) {
            fprintf(stderr, "    %s -> %s, %s -> %s\n", same[i][0], a,
                    same[i][1], b);
        }

        CARTBOT_CHECK(a[0] != '\0' && strcmp(a, b) == 0);
    }

    for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
        cartbot_embed_stem(differ[i][0], strlen(differ[i][0]), a, sizeof(a));
        cartbot_embed_stem(differ[i][1], strlen(differ[i][1]), b, sizeof(b));
        CARTBOT_CHECK(strcmp(a, b) != 0);
    }

    cartbot_embed_stem("Running", 7, a, sizeof(a));
    CARTBOT_CHECK_STR(a, "run");
    cartbot_embed_stem("the", 3, a, sizeof(a));
    CARTBOT_CHECK_STR(a, "");
    CARTBOT_CHECK(cartbot_embed_stem("candles", 7, a, 3) == 2);
    CARTBOT_CHECK_STR(a, "ca");

    /* the stemmer leaves words with digits alone */
    cartbot_embed_stem("12oz", 4, a, sizeof(a));
    CARTBOT_CHECK_STR(a, "12oz");
}


static void
test_embed_similar(cartbot_mem_t *mem)
{
    size_t       i;
    double       near, far;
    const char  *travel_mug = "Insulated Travel Mug. Double-wall vacuum "
                              "insulated stainless steel travel mug with a "
                              "leak-proof lid. Keeps coffee hot for 6 hours.";
    const char  *tee = "Blue Cotton T-Shirt. Classic crew-neck t-shirt in "
                       "soft combed cotton.";
    /* each: a text, one that should be closer, one that should be farther */
    const char  *triples[][3] = {
        { "blue t-shirt", "blue tshirts", "coffee mug" },
        { "blue t-shirt", "Blue Cotton Tee", "Blue Cotton Baseball Cap" },
        { "something to keep coffee hot", travel_mug, tee },
        { "cofee mug", "White Ceramic Coffee Mug", "Wool Felt Slippers" },
        { "candles", "Lavender Soy Candle", "Linen Cushion Cover" },
        { "running shoes", "Road Running Shoes", "Cast Iron Skillet" },
        { "small couch", "Green Velvet Loveseat", "Oak Picture Frame" },
        { "sneakers", "White Leather Trainers", "Stainless Steel Razor" },
        { "wireless earphones", "True Wireless Earbuds", "USB-C Cable" },
        { "laptop stand", "Aluminium notebook stand", "Bamboo Cutting Board" },
        { "sun cream", "Mineral Sunscreen SPF 50", "Argan Oil Shampoo" },
        { "frying pan", "Cast Iron Skillet", "Cork Yoga Mat" },
        { "teddy", "Plush Teddy Bear", "Remote Control Off-Road Truck" },
        { "green jumper", "Green Merino Wool Sweater", "Green Velvet Sofa" }
    };

    (void) mem;

    for (i = 0; i < sizeof(triples) / sizeof(triples[0]); i++) {
        near = test_embed_sim(triples[i][0], triples[i][1]);
        far = test_embed_sim(triples[i][0], triples[i][2]);

        if (!(near > far + 0.05)) {
            fprintf(stderr, "    \"%s\": %.3f near, %.3f far\n",
                    triples[i][0], near, far);
        }

        CARTBOT_CHECK(near > far + 0.05);
    }

    CARTBOT_CHECK(test_embed_sim("blue t-shirt", "blue t-shirt") > 0.9999);
}


static void
test_embed_cosine(cartbot_mem_t *mem)
{
    float  a[4] = { 1, 0, 0, 0 }, b[4] = { 0, 2, 0, 0 },
           c[4] = { 3, 0, 0, 0 }, z[4] = { 0, 0, 0, 0 },
           d[4] = { -1, 0, 0, 0 };

    (void) mem;

    CARTBOT_CHECK(cartbot_embed_cosine(a, b, 4) == 0.0);
    CARTBOT_CHECK(test_embed_abs(cartbot_embed_cosine(a, c, 4) - 1.0) < 1e-12);
    CARTBOT_CHECK(test_embed_abs(cartbot_embed_cosine(a, d, 4) + 1.0) < 1e-12);
    CARTBOT_CHECK(cartbot_embed_cosine(a, z, 4) == 0.0);
}


static void
test_embed_json(cartbot_mem_t *mem)
{
    char           err[64];
    size_t         i, bad;
    float          v[CARTBOT_EMBED_DIM];
    double         d;
    yajl_val       arr, x;
    cartbot_buf_t  b;

    cartbot_embed_text("Blue Cotton T-Shirt", 19, v);

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_embed_add_json(&b, v, CARTBOT_EMBED_DIM) == 0);
    CARTBOT_CHECK(!b.failed && b.len < 6000);

    arr = cartbot_json_parse(b.data, b.len, err, sizeof(err));
    CARTBOT_CHECK(arr != NULL);
    if (arr == NULL) {
        return;
    }

    CARTBOT_CHECK(cartbot_json_array_len(arr) == CARTBOT_EMBED_DIM);

    bad = 0;

    for (i = 0; i < CARTBOT_EMBED_DIM; i++) {
        x = cartbot_json_array_at(arr, i);
        d = YAJL_IS_NUMBER(x) ? YAJL_GET_DOUBLE(x) : 1e9;

        if (test_embed_abs(d - v[i]) > 1e-6) {
            bad++;
        }
    }

    CARTBOT_CHECK(bad == 0);

    cartbot_json_free(arr);
}


/* --- search quality on the sample catalog ------------------------------ */


typedef struct {
    const char  *query;
    const char  *expect;
} test_embed_query_t;


/*
 * Paraphrases, plurals, misspellings and descriptions, as a shopper types
 * them.  Written against the catalog's products, not against the
 * embedding.
 */
static const test_embed_query_t  test_embed_queries[] = {
    { "blue t-shirt", "tee_blue_cotton" },
    { "white tshirt", "tee_white_organic" },
    { "t-shirts for running", "tee_red_performance" },
    { "something to keep coffee hot", "mug_travel_insulated" },
    { "cofee mug", "mug_ceramic_white" },
    { "candles that smell like lavender", "candle_soy_lavender" },
    { "noise canceling headphones", "headphones_wireless_anc" },
    { "bluetooth earphones", "earbuds_true_wireless" },
    { "white trainers", "sneaker_white_leather" },
    { "boots for hiking in the rain", "boot_hiking_waterproof" },
    { "small couch", "sofa_loveseat_velvet" },
    { "something to charge my laptop", "charger_usbc_65w" },
    { "portable battery for my phone", "powerbank_10000" },
    { "tent for two people", "tent_backpacking_2p" },
    { "a stove for cooking at the campsite", "stove_camping_compact" },
    { "jigsaw puzzels", "puzzle_jigsaw_1000" },
    { "stuffed animal for a baby", "plush_teddy_bear" },
    { "sun cream", "sunscreen_mineral_spf50" },
    { "warm wool socks", "socks_merino_hiking" },
    { "green jumper", "sweater_merino_green" },
    { NULL, NULL }
};


/*
 * More of the same kind, held out while the weights were tuned on the 20
 * above: a broader check that later changes to the features or the
 * concept table do not only fit the first list.
 */
static const test_embed_query_t  test_embed_more_queries[] = {
    { "frying pan", "skillet_cast_iron" },
    { "grind coffee beans", "grinder_burr_coffee" },
    { "keep drinks cold at a picnic", "cooler_soft_sided" },
    { "raincoat", "jacket_rain_yellow" },
    { "yoga mat", "yoga_mat_cork" },
    { "vanilla candle", "candle_vanilla_jar" },
    { "hair brush", "brush_hair_bamboo" },
    { "lip balm for chapped lips", "lip_balm_beeswax" },
    { "ergonomic mouse", "mouse_wireless_ergonomic" },
    { "kettle for pour over coffee", "kettle_gooseneck_electric" },
    { "puffer coat", "jacket_down_black" },
    { "hoody", "hoodie_grey_fleece" },
    { "chef knife", "knife_chef_8in" },
    { "speaker for the beach", "speaker_bluetooth_portable" },
    { "crayons for kids", "crayons_washable_24" },
    { "remote control car", "rc_car_offroad" },
    { "sleeping bag for winter camping", "sleeping_bag_down" },
    { "head torch", "headlamp_rechargeable" },
    { "flip flops", "sandal_slide_black" },
    { "ebook reader", "ereader_backlit" },
    { "face cream for dry skin", "moisturizer_face_hydrating" },
    { "shaving razor", "razor_safety_steel" },
    { "board game for family night", "game_board_strategy" },
    { "water bottle that keeps water cold", "bottle_water_steel" },
    { "cushion", "cushion_linen_cover" },
    { "dumbells", "dumbbells_adjustable" },
    { "skipping rope", "jump_rope_speed" },
    { "blue jeans", "jeans_slim_indigo" },
    { "teapot", "teapot_cast_iron" },
    { "picture frame", "frame_oak_photo" },
    { "mug for espresso", "cup_espresso_set" },
    { "cast iron pan", "skillet_cast_iron" },
    { "usb c cable", "cable_usbc_braided" },
    { "something to read books in bed", "ereader_backlit" },
    { "black tee with a print", "tee_black_graphic" },
    { "light blue polo", "polo_light_blue" },
    { "smart shirt for work", "shirt_oxford_white" },
    { "slim jeans", "jeans_slim_indigo" },
    { "summer dress", "dress_linen_summer" },
    { "hat for sun", "cap_baseball_blue" },
    { "leather sneakers", "sneaker_white_leather" },
    { "house slippers", "slipper_wool_felt" },
    { "ankle boots", "boot_chelsea_brown" },
    { "chopping board", "board_cutting_bamboo" },
    { "lunch box for soup", "food_jar_insulated" },
    { "essential oil diffuser", "diffuser_aroma_ultrasonic" },
    { "cozy blanket for the sofa", "blanket_chunky_knit" },
    { "bath towels", "towel_set_turkish" },
    { "flower pot", "planter_ceramic_terracotta" },
    { "desk light", "lamp_desk_led" },
    { "gaming keyboard", "keyboard_mechanical_tkl" },
    { "camera for video calls", "webcam_1080p" },
    { "fitness watch with gps", "watch_fitness_tracker" },
    { "backpack for day hikes", "backpack_daypack_25l" },
    { "camping chair", "chair_camp_folding" },
    { "tennis balls", "tennis_balls_can" },
    { "shampoo for dry hair", "shampoo_argan_oil" },
    { "soap for sensitive skin", "soap_oatmeal_bar" },
    { "perfume", "perfume_cedar_citrus" },
    { "wooden blocks for toddlers", "blocks_wooden_building" },
    { "magnet tiles", "tiles_magnetic_60" },
    { "grey hoodie", "hoodie_grey_fleece" },
    { "waterproof jacket", "jacket_rain_yellow" },
    { "winter jacket", "jacket_down_black" },
    { "coffee grinder", "grinder_burr_coffee" },
    { "tea infuser", "teapot_cast_iron" },
    { "electric kettle", "kettle_gooseneck_electric" },
    { "wireless charger for phone", "charger_usbc_65w" },
    { "iced coffee tumbler", "mug_travel_insulated" },
    { "toy truck", "rc_car_offroad" },
    { NULL, NULL }
};


static cartbot_str_t
test_embed_field(yajl_val p, const char *key)
{
    const char     *s;
    cartbot_str_t   str;

    s = cartbot_json_get_string(p, key);

    str.data = s;
    str.len = s ? strlen(s) : 0;

    return str;
}


/*
 * Pure vector search: every product of the sample catalog embedded as
 * import does, every query as search does, ranked by cosine.  Returns how
 * many queries find their product in the top 3 (-1 if the catalog cannot
 * be read), and prints the others and the counts.
 */

static int
test_embed_search(cartbot_mem_t *mem, const test_embed_query_t *queries,
    const char *what)
{
    char                       err[128];
    long                       size;
    FILE                      *f;
    char                      *text;
    float                     *vecs, q[CARTBOT_EMBED_DIM];
    size_t                     n, i, first, rank, top1, top3, total;
    double                     sim, best, high;
    yajl_val                   root, p;
    const char                *path, *id;
    cartbot_embed_product_t    prod;
    const test_embed_query_t  *t;

    path = getenv("CARTBOT_SAMPLE_CATALOG");
    if (path == NULL) {
        path = CARTBOT_TEST_CATALOG;
    }

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "    cannot open %s (run from the top directory "
                "or set CARTBOT_SAMPLE_CATALOG)\n", path);
        return -1;
    }

    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);

    text = size > 0 ? cartbot_alloc(mem, size) : NULL;

    if (text == NULL || fread(text, 1, size, f) != (size_t) size) {
        fclose(f);
        return -1;
    }

    fclose(f);

    root = cartbot_json_parse(text, size, err, sizeof(err));
    if (root == NULL || !YAJL_IS_ARRAY(root)) {
        fprintf(stderr, "    %s: %s\n", path, root ? "not an array" : err);
        cartbot_json_free(root);
        return -1;
    }

    n = cartbot_json_array_len(root);
    CARTBOT_CHECK(n >= 64);

    vecs = cartbot_alloc(mem, n * CARTBOT_EMBED_DIM * sizeof(float));
    if (vecs == NULL) {
        cartbot_json_free(root);
        return -1;
    }

    for (i = 0; i < n; i++) {
        p = cartbot_json_array_at(root, i);

        prod.name = test_embed_field(p, "name");
        prod.description = test_embed_field(p, "description");
        prod.specs = test_embed_field(p, "specs");
        prod.category = test_embed_field(p, "category");
        prod.sub_category = test_embed_field(p, "sub_category");

        CARTBOT_CHECK(cartbot_embed_product(&prod,
                                            vecs + i * CARTBOT_EMBED_DIM)
                      > 0);
    }

    top1 = 0;
    top3 = 0;
    total = 0;

    for (t = queries; t->query; t++) {
        cartbot_embed_text(t->query, strlen(t->query), q);
        total++;

        /* the expected product's cosine, then how many beat it */

        best = -2;

        for (i = 0; i < n; i++) {
            id = cartbot_json_get_string(cartbot_json_array_at(root, i),
                                         "id");
            if (id && strcmp(id, t->expect) == 0) {
                best = cartbot_embed_cosine(q, vecs + i * CARTBOT_EMBED_DIM,
                                            CARTBOT_EMBED_DIM);
                break;
            }
        }

        CARTBOT_CHECK(i < n);

        rank = 1;
        first = 0;
        high = -2;

        for (i = 0; i < n; i++) {
            sim = cartbot_embed_cosine(q, vecs + i * CARTBOT_EMBED_DIM,
                                       CARTBOT_EMBED_DIM);
            rank += sim > best;

            if (sim > high) {
                high = sim;
                first = i;
            }
        }

        top1 += rank == 1;
        top3 += rank <= 3;

        if (rank > 1) {
            printf("# \"%s\": %s at rank %zu (%.3f), first %s (%.3f)\n",
                   t->query, t->expect, rank, best,
                   cartbot_json_get_string(cartbot_json_array_at(root,
                                                                 first),
                                           "id"),
                   high);
        }
    }

    printf("# %s, vector search on %zu products: top 1 %zu/%zu, "
           "top 3 %zu/%zu\n", what, n, top1, total, top3, total);

    cartbot_json_free(root);

    return (int) top3;
}


/*
 * The product module adds BM25 full text and fuses both; vectors alone
 * must already find the expected product in the top 3 for 18 of these 20
 * queries.
 */

static void
test_embed_search_quality(cartbot_mem_t *mem)
{
    CARTBOT_CHECK(test_embed_search(mem, test_embed_queries, "20 queries")
                  >= 18);
}


/* 70 more: at least 90% in the top 3 */

static void
test_embed_search_more(cartbot_mem_t *mem)
{
    CARTBOT_CHECK(test_embed_search(mem, test_embed_more_queries,
                                    "70 more queries") >= 63);
}


const cartbot_test_t  cartbot_embed_tests[] = {
    { "embed: model name and dimension", test_embed_model },
    { "embed: stop words and concept table", test_embed_tables },
    { "embed: deterministic, fields, length", test_embed_deterministic },
    { "embed: fingerprint of the model", test_embed_fingerprint },
    { "embed: unit length, bounded input", test_embed_unit_length },
    { "embed: empty text is e0", test_embed_empty },
    { "embed: case and accent folding", test_embed_folding },
    { "embed: stemming", test_embed_stemming },
    { "embed: similar texts closer than unrelated", test_embed_similar },
    { "embed: cosine", test_embed_cosine },
    { "embed: JSON array", test_embed_json },
    { "embed: search quality on the sample catalog",
      test_embed_search_quality },
    { "embed: search quality, 70 more queries", test_embed_search_more },
    { NULL, NULL }
};
