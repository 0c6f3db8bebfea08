
/*
 * Cartbot core: built-in language understanding (no network).
 *
 * One pass over at most CARTBOT_NLU_MAX_INPUT bytes:
 *
 *   normalise   lowercase, invalid UTF-8 and controls to spaces, invisible
 *               characters dropped, fullwidth forms and typographic quotes
 *               and dashes folded to ASCII;
 *   tokenize    words, numbers ("12", "1.5", "-2", "x2", "2nd") and signs,
 *               each with a key (no apostrophes, "user's" -> "user"), key
 *               words misspelt by one transposition, insertion or deletion
 *               folded to their spelling ("remvoe" -> "remove");
 *   screen      instructions to the assistant, prices set by the shopper,
 *               other sessions or users: flagged, intent unknown;
 *   mark        prices ("under $100"), sizes ("size M"), references ("the
 *               second one", "it"), quantities ("half a dozen"), the cart
 *               as a place ("to my cart"): each token gets one role;
 *   cues        weighted phrases per intent (nlu_cues[]) add to scores and
 *               take their words out of product phrases;
 *   decide      the best score, with a few structural rules;
 *   items       the rest of the words, split into items at "and" or a
 *               comma before a new item, each with its quantity, product
 *               phrase, colour, size and reference, resolved against the
 *               context.
 *
 * Tables of words are sorted in byte order (binary search);
 * cartbot_nlu_check_tables() verifies that, and the unit tests call it.
 */

#include <stdint.h>
#include <string.h>

#include "cartbot_json.h"
#include "cartbot_nlu.h"


#define NLU_KEY_LEN      24
#define NLU_MAX_QTYS     32
#define NLU_MAX_REFS     16
#define NLU_GAP          4
#define NLU_HASH         256

#define NLU_TOK_WORD     0
#define NLU_TOK_NUM      1         /* "12" */
#define NLU_TOK_DEC      2         /* "1.5" */
#define NLU_TOK_MULT     3         /* "x2", "2x" */
#define NLU_TOK_ORD      4         /* "2nd" */
#define NLU_TOK_PUNCT    5

#define NLU_ROLE_NONE    0         /* a sign, or a word not yet looked at */
#define NLU_ROLE_FILLER  1
#define NLU_ROLE_CONTENT 2         /* product words */
#define NLU_ROLE_CUE     3
#define NLU_ROLE_QTY     4
#define NLU_ROLE_OLDQTY  5         /* "instead of 5" */
#define NLU_ROLE_REF     6
#define NLU_ROLE_PRICE   7
#define NLU_ROLE_SIZE    8
#define NLU_ROLE_DEST    9         /* "to my cart" */

/* cue flags */
#define NLU_CUE_START    0x01      /* only at the start of the message */
#define NLU_CUE_KEEP     0x02      /* its words stay product words */
#define NLU_CUE_QUESTION 0x04      /* only counts in a question */
#define NLU_CUE_ALL      0x08      /* "empty my cart": the item is all */

#define NLU_NINTENTS     CARTBOT_NLU_NINTENTS

#define NLU_ADD       CARTBOT_NLU_ADD_TO_CART
#define NLU_REMOVE    CARTBOT_NLU_REMOVE_FROM_CART
#define NLU_UPDATE    CARTBOT_NLU_UPDATE_QUANTITY
#define NLU_VIEW      CARTBOT_NLU_VIEW_CART
#define NLU_SEARCH    CARTBOT_NLU_SEARCH_PRODUCTS
#define NLU_QUESTION  CARTBOT_NLU_PRODUCT_QUESTION
#define NLU_RECOMMEND CARTBOT_NLU_GET_RECOMMENDATIONS
#define NLU_CHECKOUT  CARTBOT_NLU_CHECKOUT
#define NLU_GREETING  CARTBOT_NLU_GREETING
#define NLU_HELP      CARTBOT_NLU_HELP


typedef struct {
    const char                   *s;        /* in the normalised text */
    uint16_t                      len;
    uint8_t                       klen;
    uint8_t                       type;
    uint8_t                       role;
    int8_t                        qty;      /* index in st->qtys or -1 */
    int8_t                        ref;      /* index in st->refs or -1 */
    unsigned                      poss:1;   /* "user's" */
    unsigned                      neg:1;    /* "-2" */
    unsigned                      big:1;    /* number too large */
    unsigned                      sizeval:1;  /* the M of "size M" */
    long                          num;      /* NUM, DEC (whole part), ... */
    char                          key[NLU_KEY_LEN + 1];
} nlu_tok_t;


typedef struct {
    int                           start;
    int                           end;
    long                          value;
    unsigned                      invalid:1;  /* "1.5", "-2", "5000" */
    unsigned                      pair:1;     /* "a pair of": 1 or 2 */
    unsigned                      article:1;  /* "a", "an" */
    unsigned                      trailing:1; /* "x2", "qty 3", "to 4" */
    unsigned                      more:1;     /* "one more", "another" */
} nlu_qty_t;


typedef struct {
    int                           start;
    int                           end;
    cartbot_nlu_ref_e             kind;
    unsigned                      ordinal;
    int                           wstart;     /* REF_NAME: the words */
    int                           wend;
    unsigned                      pronoun:1;  /* "it", "them" */
} nlu_ref_t;


typedef struct {
    int                           qty;        /* indexes, -1: none */
    int                           qty2;       /* a later target quantity */
    int                           ref;
    int                           size;
    int                           pstart;     /* product words */
    int                           pend;
    unsigned                      article:1;
    unsigned                      closed:1;   /* the phrase has ended */
} nlu_seg_t;


typedef struct {
    const char                   *pat;
    uint8_t                       intent;
    uint8_t                       weight;
    uint8_t                       flags;
} nlu_cue_t;


typedef struct {
    cartbot_mem_t                *mem;
    const cartbot_nlu_context_t  *ctx;
    cartbot_nlu_result_t         *out;

    char                         *norm;
    size_t                        nlen;

    nlu_tok_t                    *t;
    int                           n;

    int16_t                       head[NLU_HASH];   /* tokens by key */
    int16_t                       next[CARTBOT_NLU_MAX_TOKENS];

    nlu_qty_t                     qtys[NLU_MAX_QTYS];
    int                           nqtys;
    nlu_ref_t                     refs[NLU_MAX_REFS];
    int                           nrefs;

    int                           score[NLU_NINTENTS];

    int                           size_tok;   /* first size, or -1 */
    int                           ncontent;
    int                           nretail;

    unsigned                      question:1;
    unsigned                      price:1;
    unsigned                      dest_add:1;
    unsigned                      dest_remove:1;
    unsigned                      cue_all:1;
    unsigned                      colour:1;
    unsigned                      cart:1;     /* "cart", "my basket" */
    int                           except;     /* "except the mug", or -1 */
} nlu_state_t;


static const char  *nlu_intent_names[NLU_NINTENTS] = {
    "unknown", "addToCart", "removeFromCart", "updateQuantity", "viewCart",
    "searchProducts", "productQuestion", "getRecommendations", "checkout",
    "greeting", "help"
};


/*
 * Words that never belong to a product phrase on their own: the words of
 * asking, pronouns, articles, prepositions, politeness.
 */
static const char  *nlu_fillers[] = {
    "a", "about", "actually", "again", "ah", "all", "already", "also", "am",
    "amount", "an", "and", "any", "anymore", "anything", "anyway", "are",
    "as", "assistant", "at", "awesome", "be", "been", "being", "bot", "both",
    "bro", "buddy", "but", "by", "came", "can", "cart", "carts", "chatbot",
    "come", "comes", "cool", "could", "curious", "currently", "dear", "did",
    "do", "does", "doing", "done", "dont", "down", "dude", "each", "either",
    "else", "even", "every", "everybody", "everyone", "everything",
    "excellent", "feel", "feels", "folks", "for", "friend", "from", "get",
    "gets", "getting", "go", "goes", "going", "gonna", "got", "gotta",
    "great", "guess", "guys", "had", "has", "have", "having", "he", "hello",
    "her", "here", "hey", "hi", "his", "hmm", "how", "i", "id", "if", "ill",
    "im", "in", "into", "is", "it", "item", "items", "its", "ive", "just",
    "kindly", "know", "let", "lets", "like", "lol", "look", "looks", "lovely",
    "mate", "may", "maybe", "me", "mean", "might", "mind", "mine", "more",
    "much", "must", "my", "myself", "need", "needs", "never", "nevermind",
    "nice", "no", "nope", "not", "now", "of", "off", "oh", "ok", "okay", "on",
    "one", "ones", "only", "onto", "or", "other", "others", "our", "out",
    "pal", "partner", "perfect", "perhaps", "please", "pls", "plz", "pretty",
    "product", "products", "qty", "quantity", "quite", "rather", "really",
    "right", "said", "same", "seem", "seems", "shall", "she", "should",
    "size", "so", "some", "somebody", "someone", "something", "soon", "still",
    "stuff", "such", "sup", "sure", "tell", "than", "thank", "thanks", "that",
    "thats", "the", "their", "them", "then", "there", "these", "they",
    "thing", "things", "think", "this", "those", "thx", "to", "too", "total",
    "trolley", "ty", "u", "uh", "um", "up", "us", "very", "wait", "wanna",
    "want", "wanted", "wants", "was", "we", "well", "were", "what", "whats",
    "when", "where", "whether", "which", "who", "why", "will", "with",
    "wonder", "wondering", "work", "works", "would", "ya", "yeah", "yep",
    "yes", "yet", "you", "your", "yours", "yup"
};


static const char  *nlu_colours[] = {
    "beige", "black", "blue", "bronze", "brown", "burgundy", "charcoal",
    "coral", "cream", "cyan", "gold", "golden", "gray", "green", "grey",
    "indigo", "ivory", "khaki", "lavender", "lilac", "magenta", "maroon",
    "mint", "multicolor", "multicolour", "mustard", "navy", "off-white",
    "olive", "orange", "peach", "pink", "purple", "red", "rose", "salmon",
    "silver", "tan", "teal", "turquoise", "violet", "white", "yellow"
};


/* "light blue", "hot pink" */
static const char  *nlu_shades[] = {
    "baby", "bright", "dark", "deep", "forest", "hot", "light", "lime",
    "neon", "pale", "royal", "sky"
};


/* sold in pairs: "a pair of socks" is one item, "a pair of mugs" two */
static const char  *nlu_paired[] = {
    "boot", "cleat", "earbud", "earring", "flip-flop", "glass", "glasses",
    "glove", "headphone", "heel", "jean", "legging", "loafer", "mitten",
    "pajama", "pant", "sandal", "scissor", "shoe", "short", "skate", "ski",
    "slipper", "sneaker", "sock", "sunglass", "sunglasses", "tight",
    "trainer", "trouser"
};


/* after a number, a measure rather than a count: "500 ml", "2 years" */
static const char  *nlu_units[] = {
    "cm", "day", "days", "feet", "foot", "ft", "g", "gb", "hour", "hours",
    "hr", "hrs", "hz", "inch", "inches", "k", "kg", "km", "lb", "lbs",
    "liter", "liters", "litre", "litres", "mah", "mb", "min", "mins",
    "minute", "minutes", "ml", "mm", "month", "months", "mp", "mph", "oclock",
    "oz", "percent", "pm", "sec", "seconds", "secs", "tb", "v", "volt",
    "volts", "w", "watt", "watts", "week", "weeks", "year", "years", "yr",
    "yrs"
};


/*
 * Common goods, singular: a bare phrase with one of them ("hiking boots
 * size 10") is a search; with none ("asdf qwerty") it is not understood.
 */
static const char  *nlu_retail[] = {
    "apple", "backpack", "bag", "ball", "bat", "battery", "bead", "bed",
    "belt", "bike", "blanket", "blazer", "blender", "block", "blouse",
    "board", "book", "boot", "bottle", "bowl", "bra", "bracelet", "bread",
    "brush", "bucket", "cable", "cake", "camera", "candle", "cap", "card",
    "case", "chair", "charger", "cheese", "chocolate", "clock", "coat",
    "coffee", "cologne", "cooker", "cookie", "cooler", "crayon", "cup",
    "cushion", "dress", "drill", "dumbbell", "duvet", "earbud", "earring",
    "egg", "flashlight", "flask", "fork", "frame", "game", "glass", "glove",
    "grinder", "hammer", "hammock", "hat", "headlamp", "headphone", "helmet",
    "hoodie", "jacket", "jar", "jean", "jersey", "jewelry", "juice", "kettle",
    "keyboard", "kite", "knife", "lamp", "laptop", "legging", "lego",
    "lipstick", "lotion", "makeup", "marker", "mat", "mattress", "microphone",
    "milk", "mirror", "monitor", "mouse", "mug", "necklace", "notebook",
    "organizer", "pajama", "pan", "pant", "paper", "pasta", "pen", "pencil",
    "perfume", "phone", "pillow", "planner", "plant", "plate", "poster",
    "pot", "purse", "puzzle", "racket", "razor", "ring", "rope", "rug",
    "sandal", "scarf", "shampoo", "sheet", "shelf", "shirt", "shoe", "short",
    "skillet", "skirt", "slipper", "snack", "sneaker", "soap", "sock", "sofa",
    "speaker", "spoon", "sticker", "stove", "suit", "sunglass", "sunglasses",
    "sunscreen", "sweater", "sweatshirt", "t-shirt", "table", "tablet", "tea",
    "teapot", "tee", "tent", "tie", "tile", "toaster", "toothbrush", "top",
    "towel", "toy", "tracker", "trainer", "tripod", "trouser", "tumbler",
    "umbrella", "vase", "vest", "vitamin", "wallet", "watch", "wine"
};


/* the words whose misspellings are worth folding (five letters or more) */
static const char  *nlu_fuzzy[] = {
    "actually", "afternoon", "another", "anymore", "anything", "basket",
    "cancel", "change", "checkout", "confirm", "contents", "decrease",
    "delete", "discount", "display", "evening", "greetings", "hello",
    "increase", "instead", "instructions", "looking", "morning", "options",
    "payment", "please", "popular", "previous", "purchase", "quantity",
    "recommend", "recommendation", "recommendations", "reduce", "remove",
    "search", "session", "sessions", "similar", "something", "suggest",
    "suggestion", "suggestions", "trending", "trolley", "update"
};


#define nlu_nelts(a)  (sizeof(a) / sizeof((a)[0]))


/*
 * Cue phrases.  Elements are separated by one space; "a|b" is either
 * word, "word*" any word starting so, "?x" an optional element, "*" one
 * to four tokens within a sentence, "@cart" a cart word, "@num" a marked
 * quantity.  Weights: 1 hints, 2 suggests, 3 says, 4 and 5 decide.  Each
 * cue counts once per message.
 */
static const nlu_cue_t  nlu_cues[] = {

    /* addToCart */
    { "add|ad|addd|adding", NLU_ADD, 3, 0 },
    { "put|putting", NLU_ADD, 2, 0 },
    { "throw|toss|chuck", NLU_ADD, 2, 0 },
    { "throw|toss|chuck|pop|stick|slip ?* in|into|on", NLU_ADD, 3, 0 },
    { "buy|purchase|grab|include|reserve", NLU_ADD, 2, 0 },
    { "order", NLU_ADD, 1, 0 },
    { "get|give|bring|fetch|grab me", NLU_ADD, 2, 0 },
    { "gimme|lemme", NLU_ADD, 2, 0 },
    { "can|could|may|might i|we ?please get|have|grab|take|order",
      NLU_ADD, 2, 0 },
    { "ill|well take|have|get|grab", NLU_ADD, 3, 0 },
    { "i|we will take|have|get|grab", NLU_ADD, 3, 0 },
    { "id|wed ?also|really like|love", NLU_ADD, 1, 0 },
    { "i|we would ?also|really like|love", NLU_ADD, 1, 0 },
    { "i|we ?also|really|just want|need|wanna|require", NLU_ADD, 1, 0 },
    { "another|more", NLU_ADD, 1, NLU_CUE_KEEP },

    /* removeFromCart */
    { "remove|delete|discard|erase|ditch|scrap|nix|eliminate|deselect"
      "|unselect|removing|deleting|removed", NLU_REMOVE, 3, 0 },
    { "drop|dump", NLU_REMOVE, 2, 0 },
    { "take|took ?* out|off|away", NLU_REMOVE, 3, 0 },
    { "get rid of", NLU_REMOVE, 4, 0 },
    { "throw|toss|pull ?* out|away", NLU_REMOVE, 3, 0 },
    { "cancel", NLU_REMOVE, 2, 0 },
    { "dont|didnt ?really|even|actually want|need", NLU_REMOVE, 3, 0 },
    { "do|did not ?really|even|actually want|need", NLU_REMOVE, 3, 0 },
    { "no longer ?really want|need", NLU_REMOVE, 3, 0 },
    { "changed|change my mind ?about|on", NLU_REMOVE, 4, 0 },
    { "less|fewer", NLU_REMOVE, 2, 0 },
    { "anymore", NLU_REMOVE, 1, 0 },
    { "empty|clear|reset|wipe|clean ?out ?my|the|your ?shopping @cart",
      NLU_REMOVE, 5, NLU_CUE_ALL },

    /* updateQuantity */
    { "change|update|modify|adjust|edit|alter|correct|changing|updating",
      NLU_UPDATE, 2, 0 },
    { "set", NLU_UPDATE, 2, 0 },
    { "make", NLU_UPDATE, 1, 0 },
    { "increase|decrease|reduce|lower|raise|bump|boost|double",
      NLU_UPDATE, 2, 0 },
    { "instead", NLU_UPDATE, 3, 0 },
    { "rather", NLU_UPDATE, 1, 0 },
    { "actually", NLU_UPDATE, 2, 0 },
    { "only want|need|like", NLU_UPDATE, 2, 0 },
    { "only @num", NLU_UPDATE, 2, NLU_CUE_KEEP },
    { "quantity|qty|amount", NLU_UPDATE, 1, NLU_CUE_KEEP },
    { "to @num", NLU_UPDATE, 1, NLU_CUE_KEEP },

    /* viewCart */
    { "show|view|see|display|list|open|check|review|print|pull ?up ?me ?my"
      "|the|your ?shopping @cart|items|order", NLU_VIEW, 4, 0 },
    { "what|whats|anything ?* in|inside ?my|the|your ?shopping @cart",
      NLU_VIEW, 5, 0 },
    { "show|view|see|display|list|open|check|review|tell ?me everything|all"
      "|whats|what ?is in|inside ?my|the|your ?shopping @cart",
      NLU_VIEW, 5, 0 },
    { "items|things|stuff|products in|inside ?my|the|your ?shopping @cart",
      NLU_VIEW, 4, 0 },
    { "what|whats have|did|do i ?already|just add|added|put|got|ordered"
      "|selected|picked|chosen|bought|have", NLU_VIEW, 5, 0 },
    { "how many items|things|products|pieces", NLU_VIEW, 4, 0 },
    { "how much do|will|would i owe", NLU_VIEW, 3, 0 },
    { "total|subtotal", NLU_VIEW, 2, NLU_CUE_KEEP },
    { "my|the|your ?shopping @cart", NLU_VIEW, 1, NLU_CUE_KEEP },
    { "contents|content", NLU_VIEW, 2, 0 },
    { "what am|im ?i buying|getting|ordering|purchasing", NLU_VIEW, 4, 0 },
    { "remind me", NLU_VIEW, 1, 0 },

    /* searchProducts */
    { "search*|browse|browsing", NLU_SEARCH, 3, 0 },
    { "find|finding", NLU_SEARCH, 3, 0 },
    { "look|looking|hunting|shopping|shop ?around for", NLU_SEARCH, 3, 0 },
    { "show|showing", NLU_SEARCH, 2, 0 },
    { "list ?all|every", NLU_SEARCH, 2, 0 },
    { "do|does|did you|u|ya ?guys ?still|even have|sell|carry|stock|offer"
      "|got", NLU_SEARCH, 3, 0 },
    { "have you|u got", NLU_SEARCH, 3, 0 },
    { "you|u ?guys have|sell|carry|stock|got|offer", NLU_SEARCH, 1, 0 },
    { "got any", NLU_SEARCH, 2, 0 },
    { "are|is there any|anything|a|an|some", NLU_SEARCH, 3, 0 },
    { "any", NLU_SEARCH, 1, NLU_CUE_START | NLU_CUE_KEEP },
    { "what kind|kinds|type|types|sort|sorts of", NLU_SEARCH, 2, 0 },
    { "where can|do|could i find|buy|get", NLU_SEARCH, 3, 0 },
    { "gift|gifts|present|presents", NLU_SEARCH, 2, NLU_CUE_KEEP },
    { "cheap|affordable|inexpensive|budget", NLU_SEARCH, 1, NLU_CUE_KEEP },
    { "to see", NLU_SEARCH, 1, 0 },
    { "need|want something|anything ?* for", NLU_SEARCH, 3, NLU_CUE_KEEP },
    { "need|want ?* for a|an|my|his|her|our|their|him|kids|men|women"
      "|someone|somebody", NLU_SEARCH, 2, NLU_CUE_KEEP },

    /* productQuestion */
    { "tell me ?more|something|everything about", NLU_QUESTION, 4, 0 },
    { "tell me more", NLU_QUESTION, 4, 0 },
    { "more|any info|information|details|specs|specifications",
      NLU_QUESTION, 3, 0 },
    { "info|information|details|specs|specifications|description"
      " about|on|for|of", NLU_QUESTION, 3, 0 },
    { "describe", NLU_QUESTION, 3, 0 },
    { "is|are|does|do|did|can|will|would|has|have|was|could the|it|this"
      "|that|these|those|they", NLU_QUESTION, 2, NLU_CUE_START },
    { "how much is|are|does|do|for|was|would|will", NLU_QUESTION, 2, 0 },
    { "what|whats ?is the price|cost", NLU_QUESTION, 3, 0 },
    { "price|prices|cost|costs|priced|pricing", NLU_QUESTION, 2, 0 },
    { "what|which colors|colours|color|colour|sizes|size|materials"
      "|material|fabric|fabrics", NLU_QUESTION, 3, 0 },
    { "made of|from|out|with|in", NLU_QUESTION, 3, 0 },
    { "come|comes|available in", NLU_QUESTION, 2, 0 },
    { "in stock", NLU_QUESTION, 3, 0 },
    { "return|returns|refund|refunds|exchange|exchanges|shipping|delivery"
      " policy|policies|time|times|cost|costs|options", NLU_QUESTION, 3, 0 },
    { "policy|policies", NLU_QUESTION, 2, 0 },
    { "have|got|carry|stock|sell this|it|that|these|those|them in",
      NLU_QUESTION, 4, 0 },
    { "available|availability|stock", NLU_QUESTION, 2, 0 },
    { "how big|long|large|heavy|tall|wide|small|durable|warm|many|thick"
      "|strong|old|fast|good", NLU_QUESTION, 2, 0 },
    { "difference|differences between", NLU_QUESTION, 3, 0 },
    { "compare|comparison|vs|versus", NLU_QUESTION, 3, 0 },
    { "which one|ones|is|of", NLU_QUESTION, 2, 0 },
    { "which ?* cheaper|cheapest|better|best|bigger|biggest|smaller|lighter"
      "|heavier|larger|warmer|stronger|expensive|nicer|softer",
      NLU_QUESTION, 2, 0 },
    { "waterproof|water-resistant|dishwasher|microwave|washable|dimensions"
      "|weight|weigh|warranty|guarantee|reviews|rating|ratings|ingredients"
      "|capacity|fit|fits|durable|battery|burn|compatible|safe|ounces|oz"
      "|vegan|organic|soy|sleeve|quality|hold|wash|based|breathable",
      NLU_QUESTION, 1, NLU_CUE_KEEP | NLU_CUE_QUESTION },

    /* getRecommendations */
    { "recommend*|recomend*|reccomend*|suggest*|sugest*", NLU_RECOMMEND, 4, 0 },
    { "similar|alike|comparable", NLU_RECOMMEND, 3, 0 },
    { "go|goes|going|pair|pairs|pairing|match|matches ?well|nicely with",
      NLU_RECOMMEND, 3, 0 },
    { "popular|trending|bestseller|bestsellers|best-seller|best-sellers"
      "|favorites|favourites", NLU_RECOMMEND, 3, 0 },
    { "best|top seller|sellers|selling|rated|picks", NLU_RECOMMEND, 3, 0 },
    { "also bought|buy|purchased|got|get", NLU_RECOMMEND, 3, 0 },
    { "usually|often|frequently|typically|commonly buy|bought|get|purchase",
      NLU_RECOMMEND, 3, 0 },
    { "people|customers|others|everyone|everybody buy|buying|bought|get"
      "|getting|order|ordering|love|like", NLU_RECOMMEND, 3, 0 },
    { "whats|what is hot|new|popular|trending", NLU_RECOMMEND, 3, 0 },
    { "hot right now", NLU_RECOMMEND, 3, 0 },
    { "more|something|anything|stuff|items|products|ones like this|that"
      "|these|those|it|them", NLU_RECOMMEND, 3, 0 },
    { "what else", NLU_RECOMMEND, 3, 0 },
    { "idea|ideas|inspiration|inspire", NLU_RECOMMEND, 3, 0 },
    { "what should i get|buy|add|try|order|pick", NLU_RECOMMEND, 3, 0 },
    { "what to get|buy|order|pick|choose", NLU_RECOMMEND, 3, 0 },
    { "what|which would|do|should you pick|choose|get|buy", NLU_RECOMMEND, 3,
      0 },
    { "would|might i like", NLU_RECOMMEND, 2, 0 },
    { "complement*", NLU_RECOMMEND, 3, 0 },
    { "surprise me", NLU_RECOMMEND, 3, 0 },

    /* checkout */
    { "checkout|check-out|checkouts", NLU_CHECKOUT, 4, 0 },
    { "check|checking ?me|us out", NLU_CHECKOUT, 4, 0 },
    { "buy|purchase|order whats|what ?is in|inside ?my|the|your ?shopping"
      " @cart", NLU_CHECKOUT, 6, 0 },
    { "pay|paying|payment|payments", NLU_CHECKOUT, 3, 0 },
    { "place|submit|complete|finish|finalize|finalise|confirm|process"
      " ?my|the|this|an|our order|purchase|purchases", NLU_CHECKOUT, 4, 0 },
    { "done|finished shopping", NLU_CHECKOUT, 4, 0 },
    { "im|were done", NLU_CHECKOUT, 3, 0 },
    { "buy|purchase|order everything", NLU_CHECKOUT, 4, 0 },
    { "buy|purchase|order it|them all", NLU_CHECKOUT, 4, 0 },
    { "buy|order|purchase|pay now", NLU_CHECKOUT, 4, 0 },
    { "ready to order|buy|purchase|go", NLU_CHECKOUT, 2, 0 },

    /* greeting */
    { "hi|hello|hey|hiya|howdy|yo|sup|hola|heya|hallo|helo|hii|hiii|heyy"
      "|heyyy|hellooo|greetings|morning|evening|afternoon|ahoy|wassup"
      "|whatsup|hai", NLU_GREETING, 2, NLU_CUE_START },
    { "good morning|afternoon|evening|day", NLU_GREETING, 2, 0 },
    { "how are|r you|u", NLU_GREETING, 2, 0 },
    { "hows|how is it going", NLU_GREETING, 2, 0 },
    { "whats up", NLU_GREETING, 2, 0 },
    { "nice|pleased|good|great to meet|see you", NLU_GREETING, 2, 0 },
    { "anyone|anybody|someone there", NLU_GREETING, 2, 0 },
    { "thanks|thank|thx|ty|cheers|bye|goodbye|cya|later|ciao", NLU_GREETING, 2,
      NLU_CUE_START },

    /* help */
    { "help|helping|assist|assistance", NLU_HELP, 3, 0 },
    { "what can|do you do", NLU_HELP, 4, 0 },
    { "what you can|could do", NLU_HELP, 4, 0 },
    { "what are|r you able|capable", NLU_HELP, 4, 0 },
    { "what can|could|should i ask|say|do|type|tell", NLU_HELP, 4, 0 },
    { "what do i ask|say|type|tell", NLU_HELP, 4, 0 },
    { "explain", NLU_HELP, 2, 0 },
    { "how this|it works|work", NLU_HELP, 4, 0 },
    { "i|we can ask|say|type", NLU_HELP, 3, 0 },
    { "what are my options|choices", NLU_HELP, 4, 0 },
    { "options|commands|command|features", NLU_HELP, 2, 0 },
    { "how does|do ?this|it|that|the|you ?* work|works", NLU_HELP, 5, 0 },
    { "how do|can|should|would i|we", NLU_HELP, 5, 0 },
    { "how to", NLU_HELP, 4, 0 },
    { "confused|lost|stuck|confusing", NLU_HELP, 3, 0 },

    { "dont|didnt understand", NLU_HELP, 3, 0 },
    { "do not understand", NLU_HELP, 3, 0 },
    { "dont|didnt know how|what", NLU_HELP, 4, 0 },
    { "who|what are you", NLU_HELP, 3, 0 },
    { "what is this", NLU_HELP, 2, 0 },

    /* not ours, help explains: refunds, returns, orders already placed */
    { "refund|refunds|complaint|complain", NLU_HELP, 3, 0 },
    { "return|returning|exchange", NLU_HELP, 2, 0 },
    { "return|exchange|track|cancel|where ?is my|an|the|this|that order"
      "|orders|purchase|package|parcel|delivery", NLU_HELP, 4, 0 }
};


static int nlu_list_find(const char *const *list, size_t n, const char *key,
    size_t klen);
static size_t nlu_utf8(const unsigned char *p, size_t len, uint32_t *cp);
static size_t nlu_normalise(const unsigned char *in, size_t len,
    unsigned char *out);
static int nlu_symbol(uint32_t cp);
static void nlu_tokenize(nlu_state_t *st);
static void nlu_token_key(nlu_tok_t *t);
static void nlu_classify_number(nlu_tok_t *t);
static int nlu_near(const char *a, size_t an, const char *b, size_t bn);
static int nlu_is(const nlu_tok_t *t, const char *word);
static int nlu_in(const nlu_tok_t *t, const char *alts);
static int nlu_is_word(const nlu_state_t *st, int i, const char *alts);
static int nlu_is_filler(const nlu_tok_t *t);
static int nlu_is_content_word(const nlu_state_t *st, int i);
static int nlu_is_colour(const nlu_tok_t *t);
static int nlu_stem(const char *w, size_t n, char *out);
static long nlu_word_number(const nlu_tok_t *t);
static int nlu_elem_match(const nlu_state_t *st, const nlu_tok_t *t,
    const char *e, size_t elen);
static int nlu_match(const nlu_state_t *st, const char *p, int i, int *end,
    uint8_t *mark);
static int nlu_match_at(const nlu_state_t *st, const char *pat, int i,
    int *end);
static unsigned nlu_hash(const char *key, size_t len);
static void nlu_index(nlu_state_t *st);
static int nlu_candidates(const nlu_state_t *st, const char *pat,
    uint64_t *bits);
static int nlu_next_candidate(const uint64_t *bits, int from);
static void nlu_screen(nlu_state_t *st);
static cartbot_nlu_confirm_e nlu_confirmation(nlu_state_t *st, int *only);
static void nlu_mark_prices(nlu_state_t *st);
static int nlu_price_value(nlu_state_t *st, int i, double *v, int *cur);
static void nlu_mark_sizes(nlu_state_t *st);
static void nlu_mark_refs(nlu_state_t *st);
static void nlu_mark_qtys(nlu_state_t *st);
static int nlu_qty_at(nlu_state_t *st, int i, nlu_qty_t *q);
static int nlu_number_at(nlu_state_t *st, int i, long *v, int *invalid);
static void nlu_mark_dest(nlu_state_t *st);
static void nlu_set_role(nlu_state_t *st, int from, int to, int role);
static void nlu_apply_cues(nlu_state_t *st);
static void nlu_classify_rest(nlu_state_t *st);
static cartbot_nlu_intent_e nlu_decide(nlu_state_t *st, int *best,
    int *margin);
static int nlu_build_items(nlu_state_t *st);
static void nlu_seg_init(nlu_seg_t *seg);
static int nlu_starts_item(nlu_state_t *st, int i);
static int nlu_paired_noun(nlu_state_t *st, int last);
static int nlu_item_text(nlu_state_t *st, int from, int to,
    cartbot_str_t *s);
static int nlu_item_colour(nlu_state_t *st, int from, int to,
    cartbot_str_t *s);
static int nlu_size_text(nlu_state_t *st, int i, cartbot_str_t *s);
static void nlu_resolve(nlu_state_t *st, cartbot_nlu_item_t *item,
    const nlu_ref_t *ref, int wstart, int wend);
static int nlu_name_match(nlu_state_t *st, const cartbot_nlu_product_t *p,
    int wstart, int wend);
static int nlu_query(nlu_state_t *st);
static int nlu_dup(nlu_state_t *st, const char *s, size_t len,
    cartbot_str_t *out);
static int nlu_find(const char *s, size_t n, const char *needle);
static int nlu_ordinal(const nlu_tok_t *t);
static const char *nlu_name_word(const char *p, const char *end, char *w,
    size_t *n);
static void nlu_fold_typos(nlu_state_t *st);
static double nlu_confidence(nlu_state_t *st, int best, int margin);
static void nlu_json_key(cartbot_buf_t *b, int *first, const char *key);
static void nlu_json_str(cartbot_buf_t *b, int *first, const char *key,
    const cartbot_str_t *s);
static int nlu_sorted(const char *const *list, size_t n);


/* binary search in a table sorted in byte order; 1 when found */

static int
nlu_list_find(const char *const *list, size_t n, const char *key,
    size_t klen)
{
    int     c;
    size_t  lo, hi, mid, l;

    lo = 0;
    hi = n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        l = strlen(list[mid]);

        c = memcmp(list[mid], key, l < klen ? l : klen);
        if (c == 0) {
            c = (l > klen) - (l < klen);
        }

        if (c == 0) {
            return 1;
        }

        if (c < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return 0;
}


/* one well-formed UTF-8 sequence: its length, or 0 */

static size_t
nlu_utf8(const unsigned char *p, size_t len, uint32_t *cp)
{
    size_t    n, i;
    uint32_t  c, min;

    c = p[0];

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return n;
}


/*
 * Lowercase ASCII and Latin-1 letters; controls and bytes that are not
 * UTF-8 become spaces; invisible characters go; fullwidth forms, curly
 * quotes, dashes and the multiplication sign become ASCII.  The output is
 * valid UTF-8 and never longer than the input.
 */

static size_t
nlu_normalise(const unsigned char *in, size_t len, unsigned char *out)
{
    size_t          i, n, k;
    uint32_t        cp;
    unsigned char   c;

    n = 0;
    i = 0;

    while (i < len) {
        c = in[i];

        if (c < 0x80) {
            if (c >= 'A' && c <= 'Z') {
                c |= 0x20;

            } else if (c < 0x20 || c == 0x7f) {
                c = ' ';
            }

            out[n++] = c;
            i++;
            continue;
        }

        k = nlu_utf8(in + i, len - i, &cp);

        if (k == 0) {
            out[n++] = ' ';
            i++;
            continue;
        }

        i += k;

        if (cp >= 0xff01 && cp <= 0xff5e) {
            c = (unsigned char) (cp - 0xfee0);
            out[n++] = (c >= 'A' && c <= 'Z') ? (c | 0x20) : c;
            continue;
        }

        switch (cp) {

        case 0x2018: case 0x2019: case 0x201b: case 0x2032: case 0x00b4:
            out[n++] = '\'';
            continue;

        case 0x201c: case 0x201d: case 0x201e: case 0x00ab: case 0x00bb:
            out[n++] = '"';
            continue;

        case 0x00a0: case 0x1680: case 0x2028: case 0x2029: case 0x202f:
        case 0x205f: case 0x3000:
            out[n++] = ' ';
            continue;

        case 0x00ad: case 0x200b: case 0x200c: case 0x200d: case 0x2060:
        case 0xfeff:
            continue;

        case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014:
        case 0x2015: case 0x2212:
            out[n++] = '-';
            continue;

        case 0x00d7:
            out[n++] = 'x';
            continue;

        case 0x2026:
            out[n++] = '.';
            continue;
        }

        if (cp >= 0x2000 && cp <= 0x200a) {
            out[n++] = ' ';
            continue;
        }

        if (cp >= 0xc0 && cp <= 0xde) {
            cp |= 0x20;
        }

        if (cp < 0x800) {
            out[n++] = (unsigned char) (0xc0 | (cp >> 6));
            out[n++] = (unsigned char) (0x80 | (cp & 0x3f));

        } else {
            memcpy(out + n, in + i - k, k);
            n += k;
        }
    }

    return n;
}


/* code points that are signs rather than letters */

static int
nlu_symbol(uint32_t cp)
{
    return (cp >= 0xa1 && cp <= 0xbf) || cp == 0xd7 || cp == 0xf7
           || (cp >= 0x2000 && cp <= 0x2bff)
           || (cp >= 0x3000 && cp <= 0x303f)
           || (cp >= 0xe000 && cp <= 0xf8ff)
           || (cp >= 0xfe00 && cp <= 0xfe0f)
           || cp >= 0x1f000;
}


#define nlu_alnum(c)                                                         \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= '0' && (c) <= '9'))
#define nlu_digit(c)  ((c) >= '0' && (c) <= '9')


static void
nlu_tokenize(nlu_state_t *st)
{
    int             letter, digits;
    size_t          i, j, k, len;
    uint32_t        cp;
    nlu_tok_t      *t;
    unsigned char   c, *s;

    s = (unsigned char *) st->norm;
    len = st->nlen;
    i = 0;

    while (i < len) {
        c = s[i];

        if (c == ' ') {
            i++;
            continue;
        }

        if (st->n == CARTBOT_NLU_MAX_TOKENS) {
            st->out->truncated = 1;
            return;
        }

        t = &st->t[st->n];
        memset(t, 0, sizeof(nlu_tok_t));
        t->qty = -1;
        t->ref = -1;
        t->s = (char *) s + i;

        /* a word or a number: letters, digits, other scripts */

        k = 0;
        letter = nlu_alnum(c);

        if (c >= 0x80) {
            k = nlu_utf8(s + i, len - i, &cp);
            letter = (k && !nlu_symbol(cp));
        }

        if (letter) {
            j = i;
            digits = 1;

            while (j < len) {
                c = s[j];

                if (nlu_alnum(c)) {
                    digits = digits && nlu_digit(c);
                    j++;
                    continue;
                }

                if (c >= 0x80) {
                    k = nlu_utf8(s + j, len - j, &cp);
                    if (k && !nlu_symbol(cp)) {
                        digits = 0;
                        j += k;
                        continue;
                    }

                    break;
                }

                if (j + 1 < len && (c == '\'' || c == '-')
                    && (nlu_alnum(s[j + 1]) || s[j + 1] >= 0x80)
                    && !(c == '-' && nlu_digit(s[j + 1]) && digits))
                {
                    digits = 0;
                    j++;
                    continue;
                }

                /* "1.5", "1,000" */

                if (digits && j + 1 < len && nlu_digit(s[j + 1])
                    && (c == '.'
                        || (c == ',' && j + 3 < len && nlu_digit(s[j + 2])
                            && nlu_digit(s[j + 3])
                            && (j + 4 == len || !nlu_digit(s[j + 4])))))
                {
                    j++;
                    continue;
                }

                break;
            }

            t->len = (uint16_t) (j - i);
            t->type = NLU_TOK_WORD;
            nlu_token_key(t);
            nlu_classify_number(t);

            st->n++;
            i = j;
            continue;
        }

        /* "-2": a minus sign not after a word or a number */

        if (c == '-' && i + 1 < len && nlu_digit(s[i + 1])
            && (st->n == 0 || t[-1].type == NLU_TOK_PUNCT
                || t[-1].s + t[-1].len < t->s))
        {
            j = i + 1;

            while (j < len && (nlu_digit(s[j])
                               || (s[j] == '.' && j + 1 < len
                                   && nlu_digit(s[j + 1]))))
            {
                j++;
            }

            t->s++;
            t->len = (uint16_t) (j - i - 1);
            nlu_token_key(t);
            nlu_classify_number(t);
            t->s--;
            t->len++;
            t->neg = 1;

            st->n++;
            i = j;
            continue;
        }

        /* a sign: ASCII, or one code point ("€", "£", an emoji) */

        t->type = NLU_TOK_PUNCT;

        if (c < 0x80) {
            t->len = 1;
            t->key[0] = (char) c;
            t->klen = 1;

        } else {
            k = nlu_utf8(s + i, len - i, &cp);
            if (k == 0) {
                k = 1;
            }

            t->len = (uint16_t) k;

            if (cp == 0xa3 || cp == 0x20ac || cp == 0xa5 || cp == 0xa2) {
                memcpy(t->key, s + i, k);
                t->klen = (uint8_t) k;

            } else {
                t->key[0] = '~';
                t->klen = 1;
            }
        }

        st->n++;
        i += t->len;
    }
}


/* words whose "'s" is "is": "what's" */
static const char  *nlu_contractions[] = {
    "he", "here", "how", "it", "let", "nothing", "she", "something", "that",
    "there", "what", "when", "where", "who", "why"
};


/* the key: the word without apostrophes and a possessive "'s" */

static void
nlu_token_key(nlu_tok_t *t)
{
    size_t       i, n;
    const char  *s;

    s = t->s;
    n = t->len;

    if (n > 2 && s[n - 2] == '\'' && s[n - 1] == 's') {
        t->poss = 1;
        n -= 2;
    }

    t->klen = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '\'') {
            continue;
        }

        if (t->klen == NLU_KEY_LEN) {
            /* too long to equal any word of the tables */
            t->key[0] = '\0';
            t->klen = 0;
            t->poss = 0;
            return;
        }

        t->key[t->klen++] = s[i];
    }

    t->key[t->klen] = '\0';

    if (t->poss
        && nlu_list_find(nlu_contractions, nlu_nelts(nlu_contractions), t->key,
                         t->klen))
    {
        /* "what's": "whats" */
        t->poss = 0;

        if (t->klen + 1 < NLU_KEY_LEN) {
            t->key[t->klen++] = 's';
            t->key[t->klen] = '\0';
        }
    }
}


static void
nlu_classify_number(nlu_tok_t *t)
{
    long         v;
    size_t       i, n, d;
    const char  *k;

    k = t->key;
    n = t->klen;

    if (n == 0) {
        return;
    }

    /* leading digits */

    v = 0;

    for (d = 0; d < n && (nlu_digit(k[d]) || (k[d] == ',' && d > 0)); d++) {
        if (k[d] == ',') {
            continue;
        }

        if (v > 99999999) {
            t->big = 1;

        } else {
            v = v * 10 + (k[d] - '0');
        }
    }

    if (d == n) {
        t->type = NLU_TOK_NUM;
        t->num = v;
        return;
    }

    if (d > 0 && k[d] == '.') {
        t->type = NLU_TOK_DEC;
        t->num = v;

        for (i = d + 1; i < n; i++) {
            if (k[i] != '0') {
                return;
            }
        }

        /* "2.0" */
        t->type = NLU_TOK_NUM;
        return;
    }

    if (d > 0 && d < 4 && d + 1 == n && k[d] == 'x') {
        t->type = NLU_TOK_MULT;
        t->num = v;
        return;
    }

    if (d > 0 && d < 4 && d + 2 == n
        && (memcmp(k + d, "st", 2) == 0 || memcmp(k + d, "nd", 2) == 0
            || memcmp(k + d, "rd", 2) == 0 || memcmp(k + d, "th", 2) == 0))
    {
        t->type = NLU_TOK_ORD;
        t->num = v;
        return;
    }

    if (d == 0 && k[0] == 'x' && n > 1 && n < 5) {
        v = 0;

        for (i = 1; i < n; i++) {
            if (!nlu_digit(k[i])) {
                return;
            }

            v = v * 10 + (k[i] - '0');
        }

        t->type = NLU_TOK_MULT;
        t->num = v;
    }
}


/* one transposition, insertion or deletion apart (not a substitution) */

static int
nlu_near(const char *a, size_t an, const char *b, size_t bn)
{
    size_t  i;

    if (an > bn) {
        return nlu_near(b, bn, a, an);
    }

    for (i = 0; i < an && a[i] == b[i]; i++) {
        /* void */
    }

    if (an == bn) {
        return i + 1 < an && a[i] == b[i + 1] && a[i + 1] == b[i]
               && memcmp(a + i + 2, b + i + 2, an - i - 2) == 0;
    }

    if (an + 1 == bn) {
        return memcmp(a + i, b + i + 1, an - i) == 0;
    }

    return 0;
}


static int
nlu_is(const nlu_tok_t *t, const char *word)
{
    size_t  n;

    n = strlen(word);

    return t->klen == n && memcmp(t->key, word, n) == 0;
}


/* the key is one of "a|b|c" */

static int
nlu_in(const nlu_tok_t *t, const char *alts)
{
    size_t       k;
    const char  *p;

    p = alts;

    for ( ;; ) {
        for (k = 0; k < t->klen && p[k] == t->key[k]; k++) {
            /* void */
        }

        if (k == t->klen && (p[k] == '|' || p[k] == '\0')) {
            return 1;
        }

        p += k;

        while (*p != '|' && *p != '\0') {
            p++;
        }

        if (*p == '\0') {
            return 0;
        }

        p++;
    }
}


static int
nlu_is_word(const nlu_state_t *st, int i, const char *alts)
{
    return i >= 0 && i < st->n && st->t[i].type != NLU_TOK_PUNCT
           && nlu_in(&st->t[i], alts);
}


static int
nlu_is_filler(const nlu_tok_t *t)
{
    return nlu_list_find(nlu_fillers, nlu_nelts(nlu_fillers), t->key,
                         t->klen);
}


/* a word that may name a product: not a filler, not marked */

static int
nlu_is_content_word(const nlu_state_t *st, int i)
{
    const nlu_tok_t  *t;

    if (i < 0 || i >= st->n) {
        return 0;
    }

    t = &st->t[i];

    if (t->role == NLU_ROLE_CONTENT) {
        return 1;
    }

    return t->role == NLU_ROLE_NONE && t->type == NLU_TOK_WORD
           && t->klen > 0 && !nlu_is_filler(t)
           && nlu_word_number(t) < 0;
}


static int
nlu_is_colour(const nlu_tok_t *t)
{
    return nlu_list_find(nlu_colours, nlu_nelts(nlu_colours), t->key,
                         t->klen);
}


/* singular of a lowercase word: "batteries", "glasses", "shoes" */

static int
nlu_stem(const char *w, size_t n, char *out)
{
    if (n >= NLU_KEY_LEN) {
        n = NLU_KEY_LEN - 1;
    }

    memcpy(out, w, n);

    if (n > 4 && memcmp(w + n - 3, "ies", 3) == 0) {
        out[n - 3] = 'y';
        n -= 2;

    } else if (n > 4 && (memcmp(w + n - 4, "ches", 4) == 0
                         || memcmp(w + n - 4, "shes", 4) == 0
                         || memcmp(w + n - 4, "sses", 4) == 0
                         || memcmp(w + n - 3, "xes", 3) == 0))
    {
        n -= 2;

    } else if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's'
               && w[n - 2] != 'u' && w[n - 2] != '\'')
    {
        n -= 1;
    }

    out[n] = '\0';

    return (int) n;
}


/* "two" -> 2; -1 for any other word */

static long
nlu_word_number(const nlu_tok_t *t)
{
    size_t  i;

    static const char  *units[] = {
        "zero", "one", "two", "three", "four", "five", "six", "seven",
        "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
        "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"
    };

    static const char  *tens[] = {
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
        "ninety"
    };

    if (t->type != NLU_TOK_WORD || t->klen < 3
        || strchr("zotfsenh", t->key[0]) == NULL)
    {
        return -1;
    }

    for (i = 0; i < nlu_nelts(units); i++) {
        if (nlu_is(t, units[i])) {
            return (long) i;
        }
    }

    for (i = 0; i < nlu_nelts(tens); i++) {
        if (nlu_is(t, tens[i])) {
            return (long) (i + 2) * 10;
        }
    }

    /* "twenty-five" */

    if (t->klen > 6 && memchr(t->key, '-', t->klen) != NULL) {
        nlu_tok_t    a, b;
        const char  *dash;
        long         x, y;

        dash = memchr(t->key, '-', t->klen);

        memset(&a, 0, sizeof(nlu_tok_t));
        memset(&b, 0, sizeof(nlu_tok_t));
        a.klen = (uint8_t) (dash - t->key);
        memcpy(a.key, t->key, a.klen);
        b.klen = (uint8_t) (t->klen - a.klen - 1);
        memcpy(b.key, dash + 1, b.klen);

        x = nlu_word_number(&a);
        y = nlu_word_number(&b);

        if (x >= 20 && x % 10 == 0 && y >= 1 && y <= 9) {
            return x + y;
        }
    }

    if (nlu_is(t, "hundred")) {
        return 100;
    }

    return -1;
}


/* one element of a cue pattern against one token */

static int
nlu_elem_match(const nlu_state_t *st, const nlu_tok_t *t, const char *e,
    size_t elen)
{
    size_t       n;
    const char  *p, *end, *a;

    if (t->role == NLU_ROLE_PRICE || t->role == NLU_ROLE_SIZE
        || t->role == NLU_ROLE_OLDQTY)
    {
        return 0;
    }

    (void) st;

    p = e;
    end = e + elen;

    while (p < end) {

        if (*p == '@') {
            a = memchr(p, '|', end - p);
            n = (a ? a : end) - p;

            if (n == 4 && memcmp(p, "@num", 4) == 0) {
                if (t->role == NLU_ROLE_QTY) {
                    return 1;
                }

            } else if (n == 5 && memcmp(p, "@cart", 5) == 0) {
                if (t->type == NLU_TOK_WORD
                    && nlu_in(t, "cart|carts|basket|trolley|bag"))
                {
                    return 1;
                }
            }

            p += n + 1;
            continue;
        }

        for (n = 0; n < t->klen && p + n < end && p[n] == t->key[n]; n++) {
            /* void */
        }

        if (n == t->klen && (p + n == end || p[n] == '|')) {
            return 1;
        }

        /* "recommend*": a prefix */

        if (p + n < end && p[n] == '*' && n > 0
            && (p + n + 1 == end || p[n + 1] == '|'))
        {
            return 1;
        }

        p += n;

        while (p < end && *p != '|') {
            p++;
        }

        p++;
    }

    return 0;
}


/*
 * Matches the elements of p from token i; on success sets *end past the
 * last token and, when mark is given, marks the tokens that matched words
 * (not those skipped by "*").
 */

static int
nlu_match(const nlu_state_t *st, const char *p, int i, int *end,
    uint8_t *mark)
{
    int          k, opt;
    const char  *e;

    while (*p == ' ') {
        p++;
    }

    if (*p == '\0') {
        *end = i;
        return 1;
    }

    e = p;
    while (*e != '\0' && *e != ' ') {
        e++;
    }

    opt = (*p == '?');
    if (opt) {
        p++;
    }

    if (e - p == 1 && *p == '*') {

        for (k = 1; k <= NLU_GAP && i + k <= st->n; k++) {
            if (st->t[i + k - 1].type == NLU_TOK_PUNCT
                && strchr(".?!;", st->t[i + k - 1].key[0]) != NULL)
            {
                break;
            }

            if (nlu_match(st, e, i + k, end, mark)) {
                return 1;
            }
        }

        return opt ? nlu_match(st, e, i, end, mark) : 0;
    }

    if (i < st->n && nlu_elem_match(st, &st->t[i], p, e - p)
        && nlu_match(st, e, i + 1, end, mark))
    {
        if (mark) {
            mark[i] = 1;
        }

        return 1;
    }

    return opt ? nlu_match(st, e, i, end, mark) : 0;
}


static int
nlu_match_at(const nlu_state_t *st, const char *pat, int i, int *end)
{
    return nlu_match(st, pat, i, end, NULL);
}


static unsigned
nlu_hash(const char *key, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) key[i]) * 16777619u;
    }

    return (h ^ (h >> 16)) & (NLU_HASH - 1);
}


/* the tokens by key, once the keys are final */

static void
nlu_index(nlu_state_t *st)
{
    int       i;
    unsigned  h;

    memset(st->head, 0xff, sizeof(st->head));

    for (i = st->n - 1; i >= 0; i--) {
        h = nlu_hash(st->t[i].key, st->t[i].klen);
        st->next[i] = st->head[h];
        st->head[h] = (int16_t) i;
    }
}


/*
 * The positions where a pattern may start: those of the words of its
 * first element.  Returns 0 when the first element is optional, a gap or
 * a class, and every position must be tried.
 */

static int
nlu_candidates(const nlu_state_t *st, const char *pat, uint64_t *bits)
{
    int          i;
    size_t       n;
    const char  *p, *e, *a;

    p = pat;
    e = p + strcspn(p, " ");

    if (*p == '?' || *p == '*' || memchr(p, '@', e - p) != NULL) {
        return 0;
    }

    bits[0] = 0;
    bits[1] = 0;

    while (p < e) {
        a = memchr(p, '|', e - p);
        if (a == NULL) {
            a = e;
        }

        n = a - p;

        if (n > 1 && p[n - 1] == '*') {
            for (i = 0; i < st->n; i++) {
                if (st->t[i].klen >= n - 1
                    && memcmp(st->t[i].key, p, n - 1) == 0)
                {
                    bits[i >> 6] |= (uint64_t) 1 << (i & 63);
                }
            }

        } else {
            for (i = st->head[nlu_hash(p, n)]; i >= 0; i = st->next[i]) {
                if (st->t[i].klen == n && memcmp(st->t[i].key, p, n) == 0) {
                    bits[i >> 6] |= (uint64_t) 1 << (i & 63);
                }
            }
        }

        p = a + 1;
    }

    return 1;
}


/* the first candidate at or after from, or -1 */

static int
nlu_next_candidate(const uint64_t *bits, int from)
{
    int       w;
    uint64_t  b;

    for (w = from >> 6; w < 2; w++) {
        b = bits[w];

        if (w == from >> 6) {
            b &= ~(uint64_t) 0 << (from & 63);
        }

        if (b) {
            return w * 64 + __builtin_ctzll(b);
        }
    }

    return -1;
}


/*
 * Messages that address the assistant's instructions or set prices, and
 * messages about another session or user.  Benign look-alikes: "ignore
 * the red one", "100% cotton", "set quantity to 0", "free shipping",
 * "you are now my favourite store", "other customers also bought".
 */

static const char  *nlu_injection[] = {
    "ignore|disregard|forget|bypass|override|skip ?* instruction*|rule"
    "|rules|prompt*|guideline*|directive*|programming|polic*|guardrail*"
    "|restriction*|system",
    "system prompt*|message|instruction*",
    "your|hidden|initial|original|previous|prior|above|earlier"
    " instruction*|prompt*",
    "developer|admin|god|dan|debug|maintenance|unrestricted|sudo|jailbreak"
    " mode",
    "jailbreak*|jailbroken|sudo",
    "admin|administrator|root|superuser access|privileges|rights|panel",
    "act|acting|pretend|roleplay ?* as|to|like ?* admin*|developer|system"
    "|owner|manager|dan|root|employee|staff",
    "set|change|make|update|reduce|drop|override|edit|modify|adjust|put"
    "|mark|cut|slash ?* price|prices|pricing|cost|costs",
    "price|prices|cost|costs to|= 0|zero|nothing|free|$",
    "get|give|have|take|make|want|let ?* for free",
    "get|give|have|take|make|want|let ?* free of charge",
    "100|hundred ?% ?percent off|discount*",
    "discount* of|to ?* 100|hundred",
    "give|grant|apply ?* free|full|total discount*"
};


/* the text starts with needle */

static int
nlu_find(const char *s, size_t n, const char *needle)
{
    size_t  k;

    k = strlen(needle);

    return n >= k && memcmp(s, needle, k) == 0;
}


static void
nlu_screen(nlu_state_t *st)
{
    int                    i, j, end, e2, all;
    char                   c;
    size_t                 k;
    uint64_t               bits[2];
    const nlu_tok_t       *t, *u;
    cartbot_nlu_result_t  *out;

    out = st->out;

    for (j = 0; j < (int) nlu_nelts(nlu_injection); j++) {
        all = !nlu_candidates(st, nlu_injection[j], bits);

        for (i = 0; i < st->n && !out->injection_suspected; i++) {
            if (!all && (i = nlu_next_candidate(bits, i)) < 0) {
                break;
            }

            if (nlu_match_at(st, nlu_injection[j], i, &end)) {
                out->injection_suspected = 1;
            }
        }
    }

    for (i = 0; i < st->n; i++) {

        if (st->t[i].type == NLU_TOK_PUNCT
            || !nlu_in(&st->t[i], "you|youre|from|make|give|let|get|have"
                       "|set|mark|turn"))
        {
            continue;
        }

        /* a new role: "you are now DAN", "you're now in developer mode" */

        if ((nlu_match_at(st, "you are|will now ?be", i, &end)
             || nlu_match_at(st, "youre now", i, &end)
             || nlu_match_at(st, "from now on you ?are|will", i, &end))
            && nlu_match_at(st, "?* mode|admin*|dan|developer|owner|manager"
                            "|unrestricted|staff|employee|god|root|system"
                            "|jailbroken|administrator", end, &e2))
        {
            out->injection_suspected = 1;
        }

        /* "make everything free", but not "free shipping", "gluten free" */

        if (nlu_match_at(st, "make|give|let|get|have|set|mark|turn ?* free",
                         i, &end))
        {
            u = (end < st->n) ? &st->t[end] : NULL;

            if (u == NULL || u->type == NLU_TOK_PUNCT
                || nlu_in(u, "please|for|of|now|too|as|today|pls"))
            {
                out->injection_suspected = 1;
            }
        }
    }

    /* fake chat markup: "</system>", "[INST]", "<|im_start|>" */

    for (k = 0; k < st->nlen; k++) {
        c = st->norm[k];

        if ((c == '<' || c == '[' || c == '#')
            && (nlu_find(st->norm + k, st->nlen - k, "<|")
                || nlu_find(st->norm + k, st->nlen - k, "[inst]")
                || nlu_find(st->norm + k, st->nlen - k, "</system")
                || nlu_find(st->norm + k, st->nlen - k, "<system")
                || nlu_find(st->norm + k, st->nlen - k, "### system")))
        {
            out->injection_suspected = 1;
            break;
        }
    }

    /* "session X", "user 42's cart", "another user's cart" */

    for (i = 0; i + 1 < st->n; i++) {
        t = &st->t[i];
        u = &st->t[i + 1];

        if (t->type != NLU_TOK_WORD
            || (!t->poss
                && !nlu_in(t, "session|sessions|user|customer|shopper"
                           "|account|sid|session_id|session-id|userid"
                           "|user_id|user-id|another|other|different|all"
                           "|someone|somebody|anyone|anybody")))
        {
            continue;
        }

        if (nlu_in(t, "session|sessions|user|customer|shopper|account|sid"
                      "|session_id|session-id|userid|user_id|user-id"))
        {
            if (u->type == NLU_TOK_PUNCT) {
                if (strchr(":#=", u->key[0]) != NULL && i + 2 < st->n
                    && st->t[i + 2].type != NLU_TOK_PUNCT)
                {
                    out->names_other_session = 1;
                }

                continue;
            }

            if (u->type != NLU_TOK_WORD || u->poss
                || (u->klen == 1 && !nlu_in(u, "a|i"))
                || strpbrk(u->key, "0123456789") != NULL
                || nlu_in(u, "id|number|named|called"))
            {
                out->names_other_session = 1;
            }

            continue;
        }

        if (nlu_in(t, "another|other|different|all|someone|somebody"
                      "|anyone|anybody")
            && nlu_match_at(st, "?else|elses user*|customer*|shopper*|people"
                            "|person*|session*|account*|member*", i + 1,
                            &end)
            && (st->t[end - 1].poss
                || nlu_in(&st->t[end - 1], "session|sessions|account"
                          "|accounts")
                || nlu_is_word(st, end, "cart|carts|basket|baskets|session"
                               "|account|order|orders")))
        {
            out->names_other_session = 1;
            continue;
        }

        if (nlu_in(t, "someone|somebody|anyone|anybody")
            && (u->poss || nlu_is(u, "elses")))
        {
            out->names_other_session = 1;
            continue;
        }

        /* "to bob's cart", but not "add a kid's basket" */

        if (t->poss && i > 0
            && nlu_is_word(st, i - 1, "to|from|in|into|of|on|at|for|empty"
                           "|clear|view|show|see|check")
            && nlu_is_word(st, i + 1, "cart|carts|basket|trolley|session"
                           "|account|order|orders"))
        {
            out->names_other_session = 1;
        }
    }
}


/*
 * Yes or no, and whether the message says nothing else ("sounds good,
 * place it", "wait, not yet").
 */

static const char  *nlu_yes_words[] = {
    "absolutely", "affirmative", "agreed", "ahead", "alright", "certainly",
    "confirm", "confirmed", "cool", "correct", "deal", "definitely", "fine",
    "good", "great", "k", "kk", "ok", "okay", "perfect", "proceed", "sure",
    "y", "ya", "yeah", "yep", "yes", "yup"
};


static const char  *nlu_no_words[] = {
    "abort", "cancel", "dont", "hold", "n", "nah", "negative", "nevermind",
    "no", "nope", "not", "stop", "wait"
};


static const char  *nlu_confirm_fillers[] = {
    "all", "and", "buy", "checkout", "course", "do", "for", "go", "i", "im",
    "is", "it", "just", "lets", "looks", "me", "mind", "my", "never", "now",
    "of", "on", "order", "pay", "place", "please", "pls", "purchase", "ready",
    "right", "so", "sounds", "thank", "thanks", "that", "thats", "the",
    "then", "thing", "this", "with", "yet", "you"
};


static cartbot_nlu_confirm_e
nlu_confirmation(nlu_state_t *st, int *only)
{
    int               i, yes, no, other;
    const nlu_tok_t  *t;

    yes = 0;
    no = 0;
    other = 0;

    for (i = 0; i < st->n; i++) {
        t = &st->t[i];

        if (t->type == NLU_TOK_PUNCT) {
            continue;
        }

        if (nlu_list_find(nlu_no_words, nlu_nelts(nlu_no_words), t->key,
                          t->klen))
        {
            no++;

        } else if (nlu_list_find(nlu_yes_words,
                                 nlu_nelts(nlu_yes_words), t->key, t->klen))
        {
            yes++;

        } else if (!nlu_list_find(nlu_confirm_fillers,
                                  nlu_nelts(nlu_confirm_fillers), t->key,
                                  t->klen))
        {
            other++;
        }
    }

    *only = (other == 0 && yes + no > 0);

    if (no) {
        return CARTBOT_NLU_CONFIRM_NO;
    }

    return yes ? CARTBOT_NLU_CONFIRM_YES : CARTBOT_NLU_CONFIRM_NONE;
}


/* prices: "under $100", "between 20 and 50", "less than 25 euros" */

static const char  *nlu_price_max[] = {
    "under|below|beneath|underneath",
    "less|lower|cheaper than|then",
    "no|not more than|then",
    "at most",
    "budget ?of|is|around",
    "<",
    "< ="
};


static const char  *nlu_price_min[] = {
    "over|above|beyond",
    "more|greater|higher|pricier than|then",
    "at least",
    ">",
    "> ="
};


/* these need a currency: "up to 8" may be a quantity */

static const char  *nlu_price_max_cur[] = {
    "max|maximum|upto|within",
    "up to"
};


static const char  *nlu_price_min_cur[] = {
    "min|minimum|from",
    "starting ?at|from"
};


static void
nlu_mark_prices(nlu_state_t *st)
{
    int                    i, j, k, e, end, cur, cur2, kind, found, cmp;
    double                 v, v2;
    const nlu_tok_t       *u;
    cartbot_nlu_result_t  *out;

    static const char  *currencies[] = { NULL, "USD", "EUR", "GBP" };

    out = st->out;

    for (i = 0; i < st->n; i++) {

        if (st->t[i].role != NLU_ROLE_NONE) {
            continue;
        }

        cmp = (st->t[i].type == NLU_TOK_PUNCT)
              ? (st->t[i].key[0] == '<' || st->t[i].key[0] == '>')
              : nlu_in(&st->t[i], "under|below|beneath|underneath|less"
                       "|lower|cheaper|no|not|at|budget|over|above|beyond"
                       "|more|greater|higher|pricier|max|maximum|upto"
                       "|within|up|min|minimum|from|starting|between");

        if (!cmp && st->t[i].type == NLU_TOK_WORD
            && nlu_word_number(&st->t[i]) < 0)
        {
            continue;
        }

        /* "between A and B", "from A to B" */

        if (nlu_is_word(st, i, "between|from")
            && (e = nlu_price_value(st, i + 1, &v, &cur)) > 0
            && nlu_is_word(st, e, "and|to|-")
            && (k = nlu_price_value(st, e + 1, &v2, &cur2)) > 0
            && (nlu_is(&st->t[i], "between") || cur || cur2))
        {
            out->price_min = v < v2 ? v : v2;
            out->price_max = v < v2 ? v2 : v;
            cur = cur ? cur : cur2;
            nlu_set_role(st, i, k, NLU_ROLE_PRICE);
            end = k;
            goto found;
        }

        if (st->t[i].type == NLU_TOK_PUNCT && st->t[i].key[0] == '-') {
            /* not a range on its own */
            continue;
        }

        /* "$20-$50", "20 to 50 dollars" */

        if ((e = nlu_price_value(st, i, &v, &cur)) > 0
            && e < st->n
            && (nlu_is(&st->t[e], "to") || st->t[e].key[0] == '-')
            && (k = nlu_price_value(st, e + 1, &v2, &cur2)) > 0
            && (cur || cur2))
        {
            out->price_min = v < v2 ? v : v2;
            out->price_max = v < v2 ? v2 : v;
            cur = cur ? cur : cur2;
            nlu_set_role(st, i, k, NLU_ROLE_PRICE);
            end = k;
            goto found;
        }

        if (!cmp) {
            goto plain;
        }

        kind = 0;
        found = 0;
        end = i;

        for (j = 0; !found && j < (int) nlu_nelts(nlu_price_max); j++) {
            found = nlu_match_at(st, nlu_price_max[j], i, &end);
            kind = 1;
        }

        for (j = 0; !found && j < (int) nlu_nelts(nlu_price_min); j++) {
            found = nlu_match_at(st, nlu_price_min[j], i, &end);
            kind = 2;
        }

        if (found && (e = nlu_price_value(st, end, &v, &cur)) > 0) {
            u = (e < st->n) ? &st->t[e] : NULL;

            /* "more than 3 mugs" is not a price */

            if (cur == 0 && u != NULL && u->type == NLU_TOK_WORD
                && !nlu_is_filler(u))
            {
                continue;
            }

            if (kind == 1) {
                out->price_max = v;

            } else {
                out->price_min = v;
            }

            nlu_set_role(st, i, e, NLU_ROLE_PRICE);
            end = e;
            goto found;
        }

        found = 0;

        for (j = 0; !found && j < (int) nlu_nelts(nlu_price_max_cur); j++) {
            found = nlu_match_at(st, nlu_price_max_cur[j], i, &end);
            kind = 1;
        }

        for (j = 0; !found && j < (int) nlu_nelts(nlu_price_min_cur); j++) {
            found = nlu_match_at(st, nlu_price_min_cur[j], i, &end);
            kind = 2;
        }

        if (found && (e = nlu_price_value(st, end, &v, &cur)) > 0 && cur) {

            if (kind == 1) {
                out->price_max = v;

            } else {
                out->price_min = v;
            }

            nlu_set_role(st, i, e, NLU_ROLE_PRICE);
            end = e;
            goto found;
        }

    plain:

        /* "$50", "30 dollars": a price, not a quantity */

        if ((e = nlu_price_value(st, i, &v, &cur)) > 0 && cur) {
            nlu_set_role(st, i, e, NLU_ROLE_PRICE);
            end = e;
            goto found;
        }

        continue;

    found:

        st->price = 1;

        if (cur && out->currency == NULL) {
            out->currency = currencies[cur];
        }

        i = end - 1;
    }
}


/*
 * A price at token i: "$100", "100 dollars", "19.99", "fifty bucks".
 * Returns the index after it or 0; *cur is 0 (none), 1 USD, 2 EUR, 3 GBP.
 */

static int
nlu_price_value(nlu_state_t *st, int i, double *v, int *cur)
{
    int               c, j;
    long              w;
    double            f, scale;
    const char       *p;
    const nlu_tok_t  *t;

    c = 0;
    j = i;

    if (j < st->n && st->t[j].type == NLU_TOK_PUNCT) {
        t = &st->t[j];

        if (t->key[0] == '$') {
            c = 1;

        } else if (nlu_is(t, "\xe2\x82\xac")) {
            c = 2;

        } else if (nlu_is(t, "\xc2\xa3")) {
            c = 3;

        } else {
            return 0;
        }

        j++;
    }

    if (j >= st->n || st->t[j].role != NLU_ROLE_NONE) {
        return 0;
    }

    t = &st->t[j];

    if ((t->type == NLU_TOK_NUM || t->type == NLU_TOK_DEC) && !t->neg
        && !t->big)
    {
        *v = (double) t->num;

        if (t->type == NLU_TOK_DEC) {
            p = memchr(t->key, '.', t->klen);
            f = 0;
            scale = 0.1;

            for (p++; p < t->key + t->klen && scale > 1e-7; p++) {
                f += (*p - '0') * scale;
                scale /= 10;
            }

            *v += f;
        }

    } else if ((w = nlu_word_number(t)) > 0 && c == 0) {
        *v = (double) w;

    } else {
        return 0;
    }

    j++;

    if (j < st->n) {
        t = &st->t[j];

        if (t->type == NLU_TOK_PUNCT && c == 0) {
            if (t->key[0] == '$') {
                c = 1;
                j++;

            } else if (nlu_is(t, "\xe2\x82\xac")) {
                c = 2;
                j++;

            } else if (nlu_is(t, "\xc2\xa3")) {
                c = 3;
                j++;
            }

        } else if (nlu_in(t, "dollars|dollar|usd|bucks|buck")) {
            c = 1;
            j++;

        } else if (nlu_in(t, "euros|euro|eur")) {
            c = 2;
            j++;

        } else if (nlu_in(t, "pounds|pound|gbp|quid")) {
            c = 3;
            j++;
        }
    }

    *cur = c;

    return j;
}


/* sizes: "size M", "in size 10", "in XL", "extra large" */

static const char  *nlu_size_words =
    "xxs|xs|s|m|l|xl|xxl|xxxl|2xl|3xl|4xl|5xl|small|medium|large|x-large"
    "|xx-large|x-small|extra-large|extra-small|extra|petite|tall|regular";

static const char  *nlu_size_alone =
    "xxs|xs|xl|xxl|xxxl|2xl|3xl|4xl|5xl|x-large|xx-large|x-small"
    "|extra-large|extra-small";


static void
nlu_mark_sizes(nlu_state_t *st)
{
    int         i, v, end;
    nlu_tok_t  *t;

    for (i = 0; i < st->n; i++) {
        t = &st->t[i];

        if (t->role != NLU_ROLE_NONE || t->type == NLU_TOK_PUNCT
            || !nlu_in(t, "size|sz|sized|in|small|medium|large|xxs|xs|xl"
                       "|xxl|xxxl|2xl|3xl|4xl|5xl|x-large|xx-large|x-small"
                       "|extra-large|extra-small"))
        {
            continue;
        }

        v = -1;
        end = i;

        if (nlu_in(t, "size|sz|sized")) {
            v = i + 1;

            if (v < st->n && st->t[v].type == NLU_TOK_PUNCT
                && st->t[v].key[0] == ':')
            {
                v++;
            }

            if (v < st->n && st->t[v].role == NLU_ROLE_NONE
                && ((st->t[v].type == NLU_TOK_NUM && st->t[v].num < 100)
                    || st->t[v].type == NLU_TOK_DEC
                    || nlu_in(&st->t[v], nlu_size_words)))
            {
                end = v + 1;

            } else {
                v = -1;
            }

        } else if (nlu_in(t, "in") && nlu_is_word(st, i + 1, "a|an")
                   && nlu_is_word(st, i + 2, "small|medium|large|xs|xl|xxl"
                                  "|extra"))
        {
            v = i + 2;
            end = i + 3;

        } else if (nlu_in(t, "in")
                   && nlu_is_word(st, i + 1, "small|medium|large|extra"))
        {
            v = i + 1;
            end = i + 2;

        } else if (nlu_in(t, nlu_size_alone)) {
            v = i;
            end = i + 1;

        } else if (nlu_in(t, "small|medium|large")
                   && nlu_is_word(st, i + 1, "size"))
        {
            v = i;
            end = i + 2;
        }

        if (v < 0) {
            continue;
        }

        if (nlu_is(&st->t[v], "extra")) {
            if (!nlu_is_word(st, v + 1, "large|small")) {
                continue;
            }

            if (end == v + 1) {
                end++;
            }
        }

        nlu_set_role(st, i, end, NLU_ROLE_SIZE);
        st->t[v].sizeval = 1;

        if (st->size_tok < 0) {
            st->size_tok = v;
        }

        i = end - 1;
    }
}


static int
nlu_ordinal(const nlu_tok_t *t)
{
    size_t  i;

    static const char  *words[] = {
        "last", "first", "second", "third", "fourth", "fifth", "sixth",
        "seventh", "eighth", "ninth", "tenth"
    };

    if (t->type == NLU_TOK_ORD) {
        return (t->num > 0 && t->num < 100) ? (int) t->num : -1;
    }

    if (t->type != NLU_TOK_WORD) {
        return -1;
    }

    for (i = 0; i < nlu_nelts(words); i++) {
        if (nlu_is(t, words[i])) {
            return (int) i;
        }
    }

    if (nlu_in(t, "final|latter|lastest|latest")) {
        return 0;
    }

    if (nlu_is(t, "former")) {
        return 1;
    }

    return -1;
}


/* references: "the second one", "#3", "the cheaper one", "it", "all" */

static void
nlu_mark_refs(nlu_state_t *st)
{
    int          i, j, o, det, end;
    nlu_ref_t   *r, ref;
    const char  *one;

    for (i = 0; i < st->n && st->nrefs < NLU_MAX_REFS; i++) {

        if (st->t[i].role != NLU_ROLE_NONE) {
            continue;
        }

        o = nlu_ordinal(&st->t[i]);

        if (o < 0
            && (st->t[i].type == NLU_TOK_PUNCT ? st->t[i].key[0] != '#'
                : !nlu_in(&st->t[i], "number|option|result|choice|pick|item"
                          "|cheaper|cheapest|inexpensive|less|least|more"
                          "|most|pricier|priciest|dearer|dearest|fancier"
                          "|the|that|this|those|these|it|them|another"
                          "|same|everything|all")))
        {
            continue;
        }

        memset(&ref, 0, sizeof(nlu_ref_t));
        ref.start = i;
        ref.wstart = -1;
        ref.wend = -1;

        det = nlu_is_word(st, i - 1, "the|that|this")
              && st->t[i - 1].role == NLU_ROLE_NONE;
        one = "one|ones|item|items|option|options|product|result|choice|pick";

        if (o >= 0) {
            j = nlu_is_word(st, i + 1, one) ? i + 2 : i + 1;

            if ((det
                 || (nlu_is_word(st, i - 1, "and|or|&")
                     && st->nrefs > 0
                     && st->refs[st->nrefs - 1].kind
                        == CARTBOT_NLU_REF_ORDINAL)
                 || (j == i + 2 && o > 0))
                && (j == i + 2 || i + 1 >= st->n
                    || !nlu_is_content_word(st, i + 1)))
            {
                ref.kind = CARTBOT_NLU_REF_ORDINAL;
                ref.ordinal = (unsigned) o;
                ref.start = det ? i - 1 : i;
                ref.end = j;
            }

        } else if (((st->t[i].type == NLU_TOK_PUNCT && st->t[i].key[0] == '#')
                    || nlu_is_word(st, i, "number|option|result|choice"
                                   "|pick|item"))
                   && i + 1 < st->n && st->t[i + 1].type == NLU_TOK_NUM
                   && st->t[i + 1].num > 0 && st->t[i + 1].num < 100
                   && !(i + 2 < st->n && st->t[i + 2].type == NLU_TOK_PUNCT
                        && st->t[i + 2].key[0] == '%'))
        {
            ref.kind = CARTBOT_NLU_REF_ORDINAL;
            ref.ordinal = (unsigned) st->t[i + 1].num;
            ref.start = det ? i - 1 : i;
            ref.end = i + 2;

        } else if (nlu_match_at(st, "cheaper|cheapest|inexpensive|less|least"
                                " ?expensive|priced|pricey", i, &end)
                   && (nlu_is_word(st, i, "cheaper|cheapest|inexpensive")
                       || end == i + 2)
                   && (det || nlu_is_word(st, end, one)))
        {
            ref.kind = CARTBOT_NLU_REF_CHEAPEST;
            ref.start = det ? i - 1 : i;
            ref.end = nlu_is_word(st, end, one) ? end + 1 : end;

        } else if ((nlu_match_at(st, "more|most expensive|pricey", i, &end)
                    || nlu_match_at(st, "pricier|priciest|dearer|dearest"
                                    "|fancier", i, &end))
                   && (det || nlu_is_word(st, end, one)))
        {
            ref.kind = CARTBOT_NLU_REF_MOST_EXPENSIVE;
            ref.start = det ? i - 1 : i;
            ref.end = nlu_is_word(st, end, one) ? end + 1 : end;

        } else if (nlu_is_word(st, i, "the|that|this|those|these")) {

            /* "the blue one", "the ceramic ones" */

            for (j = i + 1; j < st->n && j <= i + 3; j++) {
                if (!nlu_is_content_word(st, j)
                    || nlu_ordinal(&st->t[j]) >= 0
                    || nlu_is_word(st, j, "cheaper|cheapest|more|most|less"
                                   "|least|pricier|priciest|dearer|same"
                                   "|whole|entire|other|inexpensive"))
                {
                    break;
                }
            }

            if (j > i + 1 && nlu_is_word(st, j, "one|ones")) {
                ref.kind = CARTBOT_NLU_REF_NAME;
                ref.wstart = i + 1;
                ref.wend = j;
                ref.end = j + 1;

            } else if (nlu_is_word(st, i, "that|this|those|these")
                       && !nlu_is_content_word(st, i + 1)
                       && !nlu_is_word(st, i + 1, "is|was|are|s|one|ones"))
            {
                ref.kind = CARTBOT_NLU_REF_LAST;
                ref.pronoun = 1;
                ref.end = i + 1;

            } else if (nlu_is_word(st, i, "that|this|these|those")
                       && nlu_is_word(st, i + 1, "one|ones"))
            {
                ref.kind = CARTBOT_NLU_REF_LAST;
                ref.end = i + 2;

            } else if (nlu_is_word(st, i, "that|this")
                       && nlu_is_word(st, i + 1, "is|was"))
            {
                ref.kind = CARTBOT_NLU_REF_LAST;
                ref.pronoun = 1;
                ref.end = i + 1;

            } else if (nlu_match_at(st, "the whole|entire cart|basket|order"
                                    "|lot|thing|trolley|bag", i, &end))
            {
                ref.kind = CARTBOT_NLU_REF_ALL;
                ref.end = end;

            } else if (nlu_match_at(st, "the same ?one|thing|again", i, &end))
            {
                ref.kind = CARTBOT_NLU_REF_LAST;
                ref.end = end;
            }

        } else if (nlu_is_word(st, i, "it|them")) {
            ref.kind = CARTBOT_NLU_REF_LAST;
            ref.pronoun = 1;
            ref.end = i + 1;

        } else if (nlu_match_at(st, "another|same one|again", i, &end)) {
            ref.kind = CARTBOT_NLU_REF_LAST;
            ref.end = end;

        } else if (nlu_is_word(st, i, "everything")
                   || nlu_match_at(st, "all of it|them|these|those", i, &end)
                   || nlu_match_at(st, "all ?the|my|of|these|those"
                                   " items|products|things|stuff", i, &end)
                   || (nlu_is_word(st, i, "all")
                       && (i + 1 >= st->n
                           || st->t[i + 1].type == NLU_TOK_PUNCT
                           || nlu_is_word(st, i + 1, "from|in|out|please"
                                          "|off"))))
        {
            ref.kind = CARTBOT_NLU_REF_ALL;

            if (nlu_is_word(st, i, "everything")) {
                end = i + 1;

            } else if (!nlu_match_at(st, "all of it|them|these|those", i,
                                     &end)
                       && !nlu_match_at(st, "all ?the|my|of|these|those"
                                        " items|products|things|stuff", i,
                                        &end))
            {
                end = i + 1;
            }

            ref.end = end;
        }

        if (ref.kind == CARTBOT_NLU_REF_NONE) {
            continue;
        }

        r = &st->refs[st->nrefs];
        *r = ref;
        nlu_set_role(st, r->start, r->end, NLU_ROLE_REF);

        for (j = r->start; j < r->end; j++) {
            st->t[j].ref = (int8_t) st->nrefs;
        }

        st->nrefs++;
        i = r->end - 1;
    }
}


/* "2", "two", "twenty five", "one hundred"; "1.5", "-2" are invalid */

static int
nlu_number_at(nlu_state_t *st, int i, long *v, int *invalid)
{
    long              w, x;
    const nlu_tok_t  *t;

    if (i < 0 || i >= st->n || st->t[i].role != NLU_ROLE_NONE) {
        return 0;
    }

    t = &st->t[i];
    *invalid = 0;

    if (t->type == NLU_TOK_NUM) {
        *v = t->num;
        *invalid = t->neg || t->big;
        return i + 1;
    }

    if (t->type == NLU_TOK_DEC) {
        *v = t->num;
        *invalid = 1;
        return i + 1;
    }

    w = nlu_word_number(t);
    if (w < 0) {
        return 0;
    }

    i++;

    if (w >= 20 && w < 100 && w % 10 == 0 && i < st->n
        && st->t[i].role == NLU_ROLE_NONE)
    {
        x = nlu_word_number(&st->t[i]);

        if (x >= 1 && x <= 9) {
            w += x;
            i++;
        }
    }

    if (w >= 1 && w <= 9 && nlu_is_word(st, i, "hundred")) {
        w *= 100;
        i++;

        if (nlu_is_word(st, i, "and")
            && i + 1 < st->n && nlu_word_number(&st->t[i + 1]) > 0)
        {
            i++;
        }

        if (i < st->n && st->t[i].role == NLU_ROLE_NONE
            && (x = nlu_word_number(&st->t[i])) >= 1 && x < 100)
        {
            w += x;
            i++;
        }
    }

    *v = w;

    return i;
}


static int
nlu_qty_at(nlu_state_t *st, int i, nlu_qty_t *q)
{
    int               e, invalid;
    long              v;
    const nlu_tok_t  *t, *u;

    memset(q, 0, sizeof(nlu_qty_t));
    q->start = i;
    q->value = 1;
    t = &st->t[i];

    if (t->type == NLU_TOK_PUNCT) {
        return 0;
    }

    if (t->type != NLU_TOK_WORD || !nlu_in(t, "half|a|an|one|couple")) {
        goto number;
    }

    if (nlu_match_at(st, "half ?a|an dozen", i, &e)) {
        q->value = 6;
        goto done;
    }

    if (nlu_match_at(st, "half a|an", i, &e)
        && !nlu_is_word(st, e, "price|off|hour|minute|size"))
    {
        q->invalid = 1;
        q->value = 0;
        goto done;
    }

    if (nlu_match_at(st, "a|an|one dozen", i, &e)) {
        q->value = 12;
        goto done;
    }

    if (nlu_match_at(st, "?a couple ?of", i, &e)
        && nlu_is_word(st, i, "a|couple"))
    {
        q->value = 2;
        goto done;
    }

    if (nlu_match_at(st, "a few ?more", i, &e)) {
        q->value = 3;
        q->more = nlu_is_word(st, e - 1, "more");
        goto done;
    }

    if (nlu_match_at(st, "a|one pair of", i, &e)) {
        q->value = 2;
        q->pair = 1;
        goto done;
    }

    if (nlu_match_at(st, "a single", i, &e)) {
        goto done;
    }

number:

    if (nlu_is(t, "another") && !nlu_is_word(st, i + 1, "one")) {
        q->more = 1;
        e = i + 1;
        goto done;
    }

    if (nlu_is(t, "dozen")) {
        q->value = 12;
        e = i + 1;
        goto done;
    }

    if (nlu_in(t, "qty|quantity|qnty|amount|quantities")) {
        e = i + 1;

        while (e < st->n && (nlu_is_word(st, e, "of|to|at|is|be")
                             || (st->t[e].type == NLU_TOK_PUNCT
                                 && strchr(":=", st->t[e].key[0]) != NULL)))
        {
            e++;
        }

        e = nlu_number_at(st, e, &v, &invalid);
        if (e == 0) {
            return 0;
        }

        q->value = v;
        q->invalid = invalid;
        q->trailing = 1;
        goto done;
    }

    if (nlu_is(t, "minus") && nlu_number_at(st, i + 1, &v, &invalid)) {
        e = nlu_number_at(st, i + 1, &v, &invalid);
        q->invalid = 1;
        goto done;
    }

    if (t->type == NLU_TOK_MULT) {
        q->value = t->num;
        q->trailing = (t->key[0] == 'x');
        e = i + 1;
        goto done;
    }

    if (nlu_is(t, "x") && i > 0
        && (e = nlu_number_at(st, i + 1, &v, &invalid)) > 0)
    {
        q->value = v;
        q->invalid = invalid;
        q->trailing = 1;
        goto done;
    }

    e = nlu_number_at(st, i, &v, &invalid);
    if (e == 0) {
        return 0;
    }

    /* "100%", "500 ml", "2+2", "10:30", "model 3" */

    u = (e < st->n) ? &st->t[e] : NULL;

    if (u != NULL && ((u->type == NLU_TOK_PUNCT
                       && (strchr("%+*/=^", u->key[0]) != NULL
                           || (u->key[0] == ':' && e + 1 < st->n
                               && st->t[e + 1].type == NLU_TOK_NUM)))
                      || (u->type == NLU_TOK_WORD
                          && nlu_list_find(nlu_units, nlu_nelts(nlu_units),
                                           u->key, u->klen))))
    {
        return 0;
    }

    if (i > 0 && ((st->t[i - 1].type == NLU_TOK_PUNCT
                   && (strchr("+*/=^$", st->t[i - 1].key[0]) != NULL
                       || (st->t[i - 1].key[0] == ':' && i > 1
                           && st->t[i - 2].type == NLU_TOK_NUM)))
                  || nlu_is_word(st, i - 1, "model|version|gen|generation"
                                 "|series|season|vol|volume|chapter|page"
                                 "|room|step|level|iphone|galaxy|pixel"
                                 "|ps|xbox|windows|ios|android")))
    {
        return 0;
    }

    /* "a 1000 piece puzzle", "an 8 inch knife": the article counts */

    if (t->type == NLU_TOK_NUM && nlu_is_word(st, i - 1, "a|an")
        && e < st->n && st->t[e].type == NLU_TOK_WORD
        && !nlu_is_word(st, e, "of|more|x"))
    {
        return 0;
    }

    /* "one" as a pronoun: "which one", "each one" */

    if (nlu_is(t, "one")
        && nlu_is_word(st, i - 1, "which|each|every|any|no|some|the|this"
                       "|that|no|another|other"))
    {
        return 0;
    }

    q->value = v;
    q->invalid = invalid;
    q->trailing = nlu_is_word(st, i - 1, "to");

    if (nlu_is_word(st, e, "dozen")) {
        q->value *= 12;
        e++;

    } else if (nlu_match_at(st, "pairs|pair|packs|pack|sets|set|boxes|box"
                            " of", e, &e))
    {
        /* counted as written: "three pairs of socks" */

    } else if (nlu_is_word(st, e, "x")
               && !(e + 1 < st->n && st->t[e + 1].type == NLU_TOK_NUM))
    {
        e++;

    } else if (nlu_is_word(st, e, "pcs|pieces|units|unit|pc|count")) {
        e++;
    }

    if (nlu_is_word(st, e, "more")) {
        q->more = 1;
        e++;
    }

done:

    if (!q->invalid && (q->value > CARTBOT_NLU_MAX_QUANTITY || q->value < 0))
    {
        q->invalid = 1;
    }

    q->end = e;

    return e;
}


static void
nlu_mark_qtys(nlu_state_t *st)
{
    int         i, e, invalid;
    long        v;
    nlu_qty_t  *q;

    /* "instead of 5", "from 2 to 3": the old quantity */

    for (i = 0; i + 2 < st->n; i++) {
        if (nlu_is_word(st, i, "instead") && nlu_is_word(st, i + 1, "of")
            && (e = nlu_number_at(st, i + 2, &v, &invalid)) > 0)
        {
            nlu_set_role(st, i + 2, e, NLU_ROLE_OLDQTY);

        } else if (nlu_is_word(st, i, "of")
                   && nlu_is_word(st, i + 1, "the|my|those|these|your")
                   && i > 0 && st->t[i - 1].role == NLU_ROLE_NONE
                   && nlu_number_at(st, i - 1, &v, &invalid) == i
                   && (e = nlu_number_at(st, i + 2, &v, &invalid)) > 0)
        {
            nlu_set_role(st, i + 2, e, NLU_ROLE_OLDQTY);

        } else if (nlu_is_word(st, i, "from")
                   && (e = nlu_number_at(st, i + 1, &v, &invalid)) > 0
                   && nlu_is_word(st, e, "to")
                   && nlu_number_at(st, e + 1, &v, &invalid) > 0)
        {
            nlu_set_role(st, i + 1, e, NLU_ROLE_OLDQTY);
        }
    }

    for (i = 0; i < st->n && st->nqtys < NLU_MAX_QTYS; i++) {

        if (st->t[i].role != NLU_ROLE_NONE) {
            continue;
        }

        q = &st->qtys[st->nqtys];

        if (nlu_qty_at(st, i, q) == 0) {
            continue;
        }

        for (e = q->start; e < q->end; e++) {
            st->t[e].role = NLU_ROLE_QTY;
            st->t[e].qty = (int8_t) st->nqtys;
        }

        st->nqtys++;
        i = q->end - 1;
    }
}


/* the cart as a place: "to my cart", "from the basket", "out of my bag" */

static void
nlu_mark_dest(nlu_state_t *st)
{
    int  i, e, end;

    for (i = 0; i < st->n; i++) {

        if (st->t[i].role != NLU_ROLE_NONE) {
            continue;
        }

        if (!nlu_in(&st->t[i], "to|into|in|onto|inside|from|off|out")) {
            continue;
        }

        e = 0;

        if (nlu_match_at(st, "to|into|in|onto|inside", i, &end)) {
            e = 1;

        } else if (nlu_match_at(st, "from|off|out ?of", i, &end)) {
            e = 2;
        }

        if (e == 0) {
            continue;
        }

        if (nlu_match_at(st, "?my|the|your|our|this ?shopping cart|carts"
                         "|trolley", end, &end)
            || nlu_match_at(st, "my|the|your|our|this ?shopping basket|bag",
                            end, &end)
            || nlu_match_at(st, "shopping basket|bag", end, &end))
        {
            nlu_set_role(st, i, end, NLU_ROLE_DEST);

            if (e == 1) {
                st->dest_add = 1;

            } else {
                st->dest_remove = 1;
            }

            i = end - 1;
        }
    }
}


static void
nlu_set_role(nlu_state_t *st, int from, int to, int role)
{
    int  i;

    for (i = from; i < to && i < st->n; i++) {
        st->t[i].role = (uint8_t) role;
    }
}


static void
nlu_apply_cues(nlu_state_t *st)
{
    int               i, k, c, end, first, last, all;
    uint8_t           mark[CARTBOT_NLU_MAX_TOKENS];
    uint64_t          bits[2];
    const nlu_cue_t  *cue;

    memset(mark, 0, sizeof(mark));

    /* where the message starts: after "ok", "so", "um" and signs */

    for (first = 0; first < st->n; first++) {
        if (st->t[first].type != NLU_TOK_PUNCT
            && !nlu_in(&st->t[first], "ok|okay|so|well|um|uh|oh|and|also"
                       "|but|hmm|quick|question|btw|ah|alright|great|cool"
                       "|perfect|nice|awesome"))
        {
            break;
        }
    }

    for (c = 0; c < (int) nlu_nelts(nlu_cues); c++) {
        cue = &nlu_cues[c];

        if ((cue->flags & NLU_CUE_QUESTION) && !st->question) {
            continue;
        }

        last = (cue->flags & NLU_CUE_START) ? first : st->n - 1;
        all = !nlu_candidates(st, cue->pat, bits);

        for (i = (cue->flags & NLU_CUE_START) ? first : 0; i <= last; i++) {

            if (!all) {
                i = nlu_next_candidate(bits, i);

                if (i < 0 || i > last) {
                    break;
                }
            }

            if (!nlu_match(st, cue->pat, i, &end, mark)) {
                continue;
            }

            st->score[cue->intent] += cue->weight;

            if (cue->flags & NLU_CUE_ALL) {
                st->cue_all = 1;
            }

            for (k = i; k < end; k++) {
                if (mark[k] && !(cue->flags & NLU_CUE_KEEP)
                    && (st->t[k].role == NLU_ROLE_NONE
                        || st->t[k].role == NLU_ROLE_FILLER))
                {
                    st->t[k].role = NLU_ROLE_CUE;
                }

                mark[k] = 0;
            }

            break;
        }
    }
}


/* what is left: fillers and product words */

static void
nlu_classify_rest(nlu_state_t *st)
{
    int         i, n;
    char        stem[NLU_KEY_LEN];
    nlu_tok_t  *t;

    for (i = 0; i < st->n; i++) {
        t = &st->t[i];

        if (t->role == NLU_ROLE_REF && t->type == NLU_TOK_WORD
            && nlu_is_colour(t))
        {
            st->colour = 1;
        }

        if (t->role != NLU_ROLE_NONE || t->type == NLU_TOK_PUNCT) {
            continue;
        }

        if (st->except < 0 && t->type == NLU_TOK_WORD
            && (nlu_in(t, "except|excluding|besides")
                || (nlu_in(t, "apart|other") && nlu_is_word(st, i + 1, "from"
                                                             "|than"))
                || (nlu_is(t, "but") && nlu_is_word(st, i + 1, "not|keep"))))
        {
            st->except = i;
        }

        if (nlu_in(t, "cart|carts|trolley")
            || (nlu_in(t, "basket|bag")
                && nlu_is_word(st, i - 1, "my|the|your|our|shopping")))
        {
            st->cart = 1;
        }

        if (t->type == NLU_TOK_WORD
            && (t->klen == 0 || nlu_is_filler(t)
                || nlu_in(t, "quantity|qty|amount|shopping|basket|bag|size"
                          "|sizes|price|prices|cost|x")))
        {
            /* "basket" and "bag" name a product unless they are the cart */

            if (nlu_in(t, "basket|bag")
                && !nlu_is_word(st, i - 1, "my|the|your|our|shopping"))
            {
                t->role = NLU_ROLE_CONTENT;
                st->ncontent++;
                continue;
            }

            t->role = NLU_ROLE_FILLER;
            continue;
        }

        t->role = NLU_ROLE_CONTENT;
        st->ncontent++;

        if (t->type != NLU_TOK_WORD) {
            continue;
        }

        if (nlu_is_colour(t)) {
            st->colour = 1;
        }

        n = nlu_stem(t->key, t->klen, stem);

        if (nlu_list_find(nlu_retail, nlu_nelts(nlu_retail), stem,
                          (size_t) n)
            || nlu_list_find(nlu_retail, nlu_nelts(nlu_retail), t->key,
                             t->klen))
        {
            st->nretail++;
        }
    }
}


/*
 * The intent: the best score after a few structural rules; ties go to the
 * earlier intent of nlu_order[].
 */

static const cartbot_nlu_intent_e  nlu_order[] = {
    NLU_REMOVE, NLU_UPDATE, NLU_CHECKOUT, NLU_ADD, NLU_VIEW, NLU_RECOMMEND,
    NLU_QUESTION, NLU_SEARCH, NLU_HELP, NLU_GREETING
};


static cartbot_nlu_intent_e
nlu_decide(nlu_state_t *st, int *best, int *margin)
{
    int                   i, k, sc[NLU_NINTENTS], hi, second, nqty, other;
    cartbot_nlu_intent_e  intent;

    memcpy(sc, st->score, sizeof(sc));

    nqty = st->nqtys;

    if (st->dest_add) {
        sc[NLU_ADD] += 1;
    }

    if (st->dest_remove) {
        sc[NLU_REMOVE] += 2;
    }

    if (st->price) {
        sc[NLU_SEARCH] += 2;
    }

    if (nqty == 0) {
        sc[NLU_UPDATE] /= 3;

    } else if (sc[NLU_ADD] > 0) {
        /* "I need 2 mugs for the office" */
        sc[NLU_ADD] += 1;
    }

    other = 0;

    for (i = NLU_ADD; i <= NLU_RECOMMEND; i++) {
        if (i != NLU_VIEW && sc[i] > other) {
            other = sc[i];
        }
    }

    /* "can you help me find a jacket" */

    if (st->ncontent > 0 && other >= 2) {
        sc[NLU_HELP] -= 2;
    }

    /*
     * a greeting is only a greeting when nothing else is said; hints do
     * not count ("good to see you")
     */

    if (other > 1 || sc[NLU_VIEW] > 0 || sc[NLU_CHECKOUT] > 0
        || sc[NLU_HELP] > 0 || st->ncontent > 0 || nqty > 0)
    {
        sc[NLU_GREETING] = 0;
    }

    intent = CARTBOT_NLU_UNKNOWN;
    hi = 0;

    for (k = 0; k < (int) nlu_nelts(nlu_order); k++) {
        i = nlu_order[k];

        if (sc[i] > hi) {
            hi = sc[i];
            intent = (cartbot_nlu_intent_e) i;
        }
    }

    second = 0;

    for (i = 1; i < NLU_NINTENTS; i++) {
        if (i != (int) intent && sc[i] > second) {
            second = sc[i];
        }
    }

    *best = hi;
    *margin = hi - second;

    /* "how tall is mount everest": a question, but not about a product */

    if (intent == NLU_QUESTION && hi <= 2 && st->nrefs == 0
        && st->nretail == 0)
    {
        *best = 0;
        *margin = 0;
        return CARTBOT_NLU_UNKNOWN;
    }

    /* "how many pieces are in the jigsaw puzzle": not the cart's */

    if (intent == NLU_VIEW && !st->cart && st->nretail > 0
        && sc[NLU_QUESTION] > 0)
    {
        *best = sc[NLU_QUESTION];
        *margin = 1;
        return NLU_QUESTION;
    }

    /* "cart", "my cart" */

    if (hi < 2 && st->cart && st->ncontent == 0) {
        *best = 2;
        *margin = 2;
        return NLU_VIEW;
    }

    if (hi > 0) {
        return intent;
    }

    /* no cue: "two dozen cupcake liners", "hiking boots size 10" */

    *best = 0;
    *margin = 0;

    if (st->ncontent == 0 || nlu_is_word(st, 0, "who|when|why|whom|whose")) {
        return CARTBOT_NLU_UNKNOWN;
    }

    if (nqty > 0 && !(st->question && st->t[0].type == NLU_TOK_WORD
                      && nlu_in(&st->t[0], "what|whats|how|which")))
    {
        *best = 2;
        return NLU_ADD;
    }

    if (st->price || st->colour || st->size_tok >= 0 || st->nretail > 0) {
        if (nlu_is_word(st, 0, "what|whats|how|hows|where")) {
            return CARTBOT_NLU_UNKNOWN;
        }

        *best = 2;
        return NLU_SEARCH;
    }

    return CARTBOT_NLU_UNKNOWN;
}


static void
nlu_seg_init(nlu_seg_t *seg)
{
    seg->qty = -1;
    seg->qty2 = -1;
    seg->ref = -1;
    seg->size = -1;
    seg->pstart = -1;
    seg->pend = -1;
    seg->article = 0;
    seg->closed = 0;
}


#define NLU_MAX_SEGS  16

typedef struct {
    nlu_seg_t  segs[NLU_MAX_SEGS];
    int        n;
} nlu_segs_t;


static void
nlu_push(nlu_segs_t *ss, nlu_seg_t *seg)
{
    if ((seg->pstart >= 0 || seg->ref >= 0 || seg->qty >= 0)
        && ss->n < NLU_MAX_SEGS)
    {
        ss->segs[ss->n++] = *seg;
    }

    nlu_seg_init(seg);
}


/* a new item starts at token i: "and two candles", "and the mug" */

static int
nlu_starts_item(nlu_state_t *st, int i)
{
    const nlu_tok_t  *t;

    while (nlu_is_word(st, i, "also|then|and|maybe|perhaps|please")) {
        i++;
    }

    if (i >= st->n) {
        return 0;
    }

    t = &st->t[i];

    if (t->role == NLU_ROLE_QTY || t->role == NLU_ROLE_REF) {
        return 1;
    }

    if (t->role == NLU_ROLE_CONTENT) {
        return 2;
    }

    return t->type == NLU_TOK_WORD
           && nlu_in(t, "a|an|the|some|another|my|those|these|this|that");
}


static void
nlu_segments(nlu_state_t *st, nlu_segs_t *ss)
{
    int               i, k, post, intent;
    nlu_seg_t         seg;
    const nlu_tok_t  *t;
    const nlu_qty_t  *q;

    intent = st->out->intent;
    ss->n = 0;
    nlu_seg_init(&seg);

    for (i = 0; i < st->n; i++) {
        t = &st->t[i];

        if (i == st->except) {
            /* "everything except the mug": what follows is not an item */
            break;
        }

        switch (t->role) {

        case NLU_ROLE_CUE:
            nlu_push(ss, &seg);
            break;

        case NLU_ROLE_DEST:
        case NLU_ROLE_PRICE:
        case NLU_ROLE_OLDQTY:
            if (seg.pstart >= 0) {
                seg.closed = 1;
            }

            break;

        case NLU_ROLE_SIZE:
            if (!t->sizeval) {
                break;
            }

            if (seg.pstart < 0 && seg.ref < 0 && ss->n > 0
                && ss->segs[ss->n - 1].size < 0)
            {
                ss->segs[ss->n - 1].size = i;

            } else if (seg.size < 0) {
                seg.size = i;
            }

            break;

        case NLU_ROLE_QTY:
            q = &st->qtys[t->qty];

            if (i != q->start) {
                break;
            }

            /* "mugs 2": the quantity in an update, else "iphone 15" */

            post = i > 0 && st->t[i - 1].role == NLU_ROLE_CONTENT
                   && st->t[i].type == NLU_TOK_NUM;

            if (post && intent != NLU_UPDATE
                && !nlu_is_word(st, q->end, "instead"))
            {
                if (seg.pstart >= 0 && !seg.closed) {
                    seg.pend = q->end;
                }

                i = q->end - 1;
                break;
            }

            if (seg.qty >= 0) {
                if (q->trailing || post) {
                    seg.qty2 = t->qty;

                } else {
                    nlu_push(ss, &seg);
                    seg.qty = t->qty;
                }

            } else {
                seg.qty = t->qty;
            }

            if (seg.pstart >= 0) {
                seg.closed = 1;
            }

            i = q->end - 1;
            break;

        case NLU_ROLE_REF:
            k = t->ref;

            if (i != st->refs[k].start) {
                break;
            }

            if (seg.ref >= 0 || seg.pstart >= 0) {
                nlu_push(ss, &seg);
            }

            seg.ref = k;
            i = st->refs[k].end - 1;
            break;

        case NLU_ROLE_CONTENT:
            if (seg.pstart < 0) {
                seg.pstart = i;
                seg.pend = i + 1;

            } else if (!seg.closed) {
                seg.pend = i + 1;
            }

            break;

        default:

            /* "and", ",": a new item if one starts there */

            if ((nlu_is_word(st, i, "and|plus|also|&|n")
                 || (t->type == NLU_TOK_PUNCT && strchr(",;&+/", t->key[0])))
                && (k = nlu_starts_item(st, i + 1)) != 0
                && (seg.pstart >= 0 || seg.ref >= 0 || seg.qty >= 0))
            {
                /* but not "black and white t-shirt" */

                if (k == 2 && seg.pstart >= 0 && !seg.closed
                    && nlu_is_colour(&st->t[i - 1]))
                {
                    break;
                }

                if (k == 2 && seg.pstart < 0) {
                    break;
                }

                nlu_push(ss, &seg);
                break;
            }

            if (nlu_is_word(st, i, "a|an") && seg.pstart < 0 && seg.qty < 0
                && seg.ref < 0)
            {
                seg.article = 1;
                break;
            }

            if (seg.pstart < 0 || seg.closed) {
                break;
            }

            /* inside a phrase: "100% cotton", "bag of chips", "t - shirt" */

            if ((t->type == NLU_TOK_PUNCT && strchr("-%&/+'.", t->key[0]))
                || (nlu_is_word(st, i, "of|n|&")
                    && i + 1 < st->n
                    && st->t[i + 1].role == NLU_ROLE_CONTENT))
            {
                break;
            }

            seg.closed = 1;
        }
    }

    nlu_push(ss, &seg);
}


static int
nlu_paired_noun(nlu_state_t *st, int last)
{
    int   n;
    char  stem[NLU_KEY_LEN];

    if (last < 0) {
        return 0;
    }

    n = nlu_stem(st->t[last].key, st->t[last].klen, stem);

    return nlu_list_find(nlu_paired, nlu_nelts(nlu_paired), stem, (size_t) n)
           || nlu_list_find(nlu_paired, nlu_nelts(nlu_paired),
                            st->t[last].key, st->t[last].klen);
}


static int
nlu_build_items(nlu_state_t *st)
{
    int                    i, k, qi, intent, nitems;
    nlu_seg_t             *seg, *prev;
    nlu_segs_t             ss;
    const nlu_qty_t       *q;
    const nlu_ref_t       *ref;
    cartbot_nlu_item_t    *item;
    cartbot_nlu_result_t  *out;

    out = st->out;
    intent = out->intent;

    nlu_segments(st, &ss);

    /* a quantity alone belongs to a neighbour without one */

    for (i = 0; i < ss.n; i++) {
        seg = &ss.segs[i];

        if (seg->pstart >= 0 || seg->ref >= 0) {
            continue;
        }

        for (k = i - 1; k <= i + 1; k += 2) {
            if (k < 0 || k >= ss.n) {
                continue;
            }

            prev = &ss.segs[k];

            if ((prev->pstart >= 0 || prev->ref >= 0) && prev->qty < 0) {
                prev->qty = seg->qty;
                seg->qty = -1;
                break;
            }
        }
    }

    /* "the shampoo, two bottles please": how many of the product before */

    for (i = 1; i < ss.n; i++) {
        seg = &ss.segs[i];
        prev = &ss.segs[i - 1];

        if (seg->qty >= 0 && seg->ref < 0 && seg->pstart >= 0
            && seg->pend == seg->pstart + 1
            && nlu_is_word(st, seg->pstart, "bottles|boxes|cans|jars|packs"
                           "|pairs|sets|tubes|bars|units|pieces")
            && prev->pstart >= 0 && prev->ref < 0
            && (prev->qty < 0 || st->qtys[prev->qty].article)
            && !nlu_is_word(st, st->qtys[seg->qty].start - 1,
                            "and|plus|also|with|then"))
        {
            prev->qty = seg->qty;
            seg->qty = -1;
            seg->pstart = -1;
        }
    }

    /* "the sneakers, take them out": "them" is the sneakers */

    for (i = 1; i < ss.n; i++) {
        seg = &ss.segs[i];
        prev = &ss.segs[i - 1];

        if (seg->ref >= 0 && st->refs[seg->ref].pronoun && seg->pstart < 0
            && (prev->pstart >= 0
                || (prev->ref >= 0
                    && st->refs[prev->ref].kind != CARTBOT_NLU_REF_LAST)))
        {
            if (prev->qty < 0) {
                prev->qty = seg->qty;
            }

            seg->ref = -1;
            seg->qty = -1;
        }
    }

    k = 0;

    for (i = 0; i < ss.n; i++) {
        seg = &ss.segs[i];

        if (seg->pstart >= 0 || seg->ref >= 0
            || (seg->qty >= 0 && intent != NLU_QUESTION
                && intent != NLU_RECOMMEND))
        {
            ss.segs[k++] = *seg;
        }
    }

    ss.n = k;

    /* questions and recommendations: about a product, if one is named */

    if (intent == NLU_QUESTION || intent == NLU_RECOMMEND) {
        k = 0;

        for (i = 0; i < ss.n && k == 0; i++) {
            if (ss.segs[i].ref >= 0 || ss.segs[i].pstart >= 0) {
                ss.segs[k++] = ss.segs[i];
            }
        }

        ss.n = k;
    }

    /* "empty my cart", "add it", "make it 3" */

    if (ss.n == 0
        && (intent == NLU_ADD || intent == NLU_REMOVE || intent == NLU_UPDATE))
    {
        nlu_seg_init(&ss.segs[0]);
        ss.n = 1;

        for (i = 0; i < st->nqtys; i++) {
            ss.segs[0].qty = i;
        }
    }

    nitems = ss.n < CARTBOT_NLU_MAX_ITEMS ? ss.n : CARTBOT_NLU_MAX_ITEMS;

    if (nitems == 0) {
        return 0;
    }

    out->items = cartbot_alloc(st->mem, nitems * sizeof(cartbot_nlu_item_t));
    if (out->items == NULL) {
        return -1;
    }

    memset(out->items, 0, nitems * sizeof(cartbot_nlu_item_t));

    for (i = 0; i < nitems; i++) {
        seg = &ss.segs[i];
        item = &out->items[i];
        item->quantity = 1;

        /* the quantity: in an update the last one said */

        qi = (intent == NLU_UPDATE && seg->qty2 >= 0) ? seg->qty2 : seg->qty;

        if (qi >= 0) {
            q = &st->qtys[qi];
            item->quantity_explicit = 1;

            if (q->invalid) {
                item->quantity_invalid = 1;
                item->quantity = 0;
                out->invalid_quantity = 1;

            } else if (q->pair) {
                item->quantity = nlu_paired_noun(st, seg->pend - 1) ? 1 : 2;

            } else {
                item->quantity = q->value;
            }

        } else if (seg->article) {
            item->quantity_explicit = 1;
        }

        if (seg->pstart >= 0 && seg->ref >= 0) {
            /* "add it in blue": a colour, not a product */

            for (k = seg->pstart; k < seg->pend; k++) {
                if (st->t[k].role == NLU_ROLE_CONTENT
                    && !nlu_is_colour(&st->t[k])
                    && !nlu_list_find(nlu_shades, nlu_nelts(nlu_shades),
                                      st->t[k].key, st->t[k].klen))
                {
                    break;
                }
            }

            if (k == seg->pend) {
                if (nlu_item_colour(st, seg->pstart, seg->pend,
                                    &item->colour)
                    != 0)
                {
                    return -1;
                }

                seg->pstart = -1;
            }
        }

        if (seg->pstart >= 0) {
            if (nlu_item_text(st, seg->pstart, seg->pend, &item->product)
                != 0
                || nlu_item_colour(st, seg->pstart, seg->pend, &item->colour)
                   != 0)
            {
                return -1;
            }
        }

        if (seg->size >= 0 || (nitems == 1 && st->size_tok >= 0)) {
            if (nlu_size_text(st, seg->size >= 0 ? seg->size : st->size_tok,
                              &item->size)
                != 0)
            {
                return -1;
            }
        }

        ref = (seg->ref >= 0) ? &st->refs[seg->ref] : NULL;

        if (ref == NULL && seg->pstart < 0) {

            if (st->cue_all && intent == NLU_REMOVE) {
                item->ref = CARTBOT_NLU_REF_ALL;

            } else {
                /* "make it 3" said as "change to 3", "one more" */
                item->ref = CARTBOT_NLU_REF_LAST;
                nlu_resolve(st, item, NULL, -1, -1);
            }

            continue;
        }

        if (ref != NULL && ref->kind == CARTBOT_NLU_REF_NAME
            && item->colour.data == NULL)
        {
            if (nlu_item_colour(st, ref->wstart, ref->wend, &item->colour)
                != 0)
            {
                return -1;
            }
        }

        nlu_resolve(st, item, ref, seg->pstart, seg->pend);
    }

    out->nitems = nitems;

    return 0;
}


/* the words from..to as written, spaces collapsed */

static int
nlu_item_text(nlu_state_t *st, int from, int to, cartbot_str_t *s)
{
    size_t       i, n, len;
    char        *p;
    const char  *a;

    a = st->t[from].s;
    len = (size_t) (st->t[to - 1].s + st->t[to - 1].len - a);

    p = cartbot_alloc(st->mem, len + 1);
    if (p == NULL) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (a[i] == ' ' && (n == 0 || p[n - 1] == ' ')) {
            continue;
        }

        p[n++] = a[i];
    }

    while (n > 0 && p[n - 1] == ' ') {
        n--;
    }

    p[n] = '\0';
    s->data = p;
    s->len = n;

    return 0;
}


static int
nlu_dup(nlu_state_t *st, const char *s, size_t len, cartbot_str_t *out)
{
    char  *p;

    p = cartbot_strndup(st->mem, s, len);
    if (p == NULL) {
        return -1;
    }

    out->data = p;
    out->len = len;

    return 0;
}


/* the first colour among tokens from..to: "blue", "light blue" */

static int
nlu_item_colour(nlu_state_t *st, int from, int to, cartbot_str_t *s)
{
    int               i, k;
    const nlu_tok_t  *t;

    for (i = from; i < to; i++) {
        t = &st->t[i];

        if (t->type != NLU_TOK_WORD || !nlu_is_colour(t)) {
            continue;
        }

        k = i;

        if (i > from
            && nlu_list_find(nlu_shades, nlu_nelts(nlu_shades),
                             st->t[i - 1].key, st->t[i - 1].klen))
        {
            k = i - 1;
        }

        return nlu_dup(st, st->t[k].s, (size_t) (t->s + t->len - st->t[k].s),
                       s);
    }

    return 0;
}


/* "size m" -> "M", "in a large" -> "L", "size 9.5" -> "9.5" */

static int
nlu_size_text(nlu_state_t *st, int i, cartbot_str_t *s)
{
    size_t            k;
    char              up[NLU_KEY_LEN + 1];
    const nlu_tok_t  *t;

    t = &st->t[i];

    if (nlu_in(t, "small|x-small|extra-small")
        || (nlu_is(t, "extra") && nlu_is_word(st, i + 1, "small")))
    {
        return nlu_dup(st, nlu_is(t, "small") ? "S" : "XS",
                       nlu_is(t, "small") ? 1 : 2, s);
    }

    if (nlu_in(t, "large|x-large|extra-large")
        || (nlu_is(t, "extra") && nlu_is_word(st, i + 1, "large")))
    {
        return nlu_dup(st, nlu_is(t, "large") ? "L" : "XL",
                       nlu_is(t, "large") ? 1 : 2, s);
    }

    if (nlu_is(t, "medium")) {
        return nlu_dup(st, "M", 1, s);
    }

    if (nlu_is(t, "xx-large")) {
        return nlu_dup(st, "XXL", 3, s);
    }

    if (t->type != NLU_TOK_WORD || t->klen > 5
        || nlu_in(t, "petite|tall|regular"))
    {
        return nlu_dup(st, t->key, t->klen, s);
    }

    for (k = 0; k < t->klen; k++) {
        up[k] = (t->key[k] >= 'a' && t->key[k] <= 'z')
                ? (char) (t->key[k] - 0x20) : t->key[k];
    }

    return nlu_dup(st, up, t->klen, s);
}


/* a word of a product name, lowercase ASCII: its end, or NULL at the end */

static const char *
nlu_name_word(const char *p, const char *end, char *w, size_t *n)
{
    unsigned char  c;

    while (p < end) {
        c = (unsigned char) *p;

        if (nlu_alnum(c | 0x20) || c >= 0x80) {
            break;
        }

        p++;
    }

    if (p == end) {
        return NULL;
    }

    *n = 0;

    while (p < end) {
        c = (unsigned char) *p;

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (!(nlu_alnum(c) || c >= 0x80
              || ((c == '-' || c == '\'') && *n > 0)))
        {
            break;
        }

        if (c != '\'' && *n < NLU_KEY_LEN - 1) {
            w[(*n)++] = (char) c;
        }

        p++;
    }

    w[*n] = '\0';

    return p;
}


/*
 * How many of the words wstart..wend ("blue", "travel mug") the product's
 * name has, singular or plural; -1 unless it has them all.
 */

static int
nlu_name_match(nlu_state_t *st, const cartbot_nlu_product_t *p, int wstart,
    int wend)
{
    int          i, found, matched, n, m;
    char         w[NLU_KEY_LEN], ws[NLU_KEY_LEN], ts[NLU_KEY_LEN];
    size_t       wn;
    const char  *s, *end;

    if (p == NULL || p->name.data == NULL) {
        return -1;
    }

    matched = 0;

    for (i = wstart; i < wend; i++) {
        if (st->t[i].type != NLU_TOK_WORD || st->t[i].klen == 0
            || (st->t[i].role != NLU_ROLE_CONTENT
                && st->t[i].role != NLU_ROLE_REF)
            || nlu_is_filler(&st->t[i]))
        {
            continue;
        }

        n = nlu_stem(st->t[i].key, st->t[i].klen, ts);
        found = 0;
        s = p->name.data;
        end = s + p->name.len;

        while (!found && (s = nlu_name_word(s, end, w, &wn)) != NULL) {
            m = nlu_stem(w, wn, ws);
            found = (m == n && memcmp(ws, ts, (size_t) n) == 0);
        }

        if (!found) {
            return -1;
        }

        matched++;
    }

    return matched;
}


static void
nlu_resolve(nlu_state_t *st, cartbot_nlu_item_t *item, const nlu_ref_t *ref,
    int wstart, int wend)
{
    int                           m, best, nbest;
    size_t                        i, n;
    const cartbot_nlu_product_t  *p, *found;
    const cartbot_nlu_context_t  *ctx;

    if (ref != NULL) {
        item->ref = ref->kind;
        item->ordinal = ref->ordinal;
    }

    ctx = st->ctx;

    if (ctx == NULL) {
        return;
    }

    n = ctx->last_shown ? ctx->nlast_shown : 0;

    switch (item->ref) {

    case CARTBOT_NLU_REF_LAST:
        if (ctx->last_product) {
            item->resolved = ctx->last_product;

        } else if (n == 1) {
            item->resolved = &ctx->last_shown[0];
        }

        return;

    case CARTBOT_NLU_REF_ORDINAL:
        if (item->ordinal == 0 && n > 0) {
            item->resolved = &ctx->last_shown[n - 1];

        } else if (item->ordinal > 0 && item->ordinal <= n) {
            item->resolved = &ctx->last_shown[item->ordinal - 1];
        }

        return;

    case CARTBOT_NLU_REF_CHEAPEST:
    case CARTBOT_NLU_REF_MOST_EXPENSIVE:
        found = NULL;

        for (i = 0; i < n; i++) {
            p = &ctx->last_shown[i];

            if (p->price < 0) {
                continue;
            }

            if (found == NULL
                || (item->ref == CARTBOT_NLU_REF_CHEAPEST
                    ? p->price < found->price : p->price > found->price))
            {
                found = p;
            }
        }

        item->resolved = found;
        return;

    case CARTBOT_NLU_REF_ALL:
        return;

    case CARTBOT_NLU_REF_NAME:
        if (ref != NULL) {
            wstart = ref->wstart;
            wend = ref->wend;
        }

        break;

    default:
        if (wstart < 0) {
            return;
        }
    }

    /* by name among the products shown, then the last one referenced */

    best = 0;
    nbest = 0;
    found = NULL;

    for (i = 0; i <= n; i++) {
        p = (i < n) ? &ctx->last_shown[i] : ctx->last_product;

        if (p == NULL || (i == n && found == p)) {
            continue;
        }

        m = nlu_name_match(st, p, wstart, wend);

        if (m <= 0 || m < best) {
            continue;
        }

        if (m > best) {
            best = m;
            nbest = 0;
        }

        if (found != p) {
            nbest++;
        }

        found = p;
    }

    if (nbest == 1) {
        item->ref = CARTBOT_NLU_REF_NAME;
        item->resolved = found;

    } else if (nbest > 1 && item->ref == CARTBOT_NLU_REF_NAME) {
        item->ambiguous = 1;
    }
}


/* the product words of a search or a question: "running shoes" */

static int
nlu_query(nlu_state_t *st)
{
    int               i;
    char             *p;
    size_t            n;
    const nlu_tok_t  *t;

    p = cartbot_alloc(st->mem, st->nlen + 1);
    if (p == NULL) {
        return -1;
    }

    n = 0;

    for (i = 0; i < st->n; i++) {
        t = &st->t[i];

        if (t->role != NLU_ROLE_CONTENT
            && !(t->role == NLU_ROLE_REF && t->type == NLU_TOK_WORD
                 && st->refs[t->ref].kind == CARTBOT_NLU_REF_NAME
                 && i >= st->refs[t->ref].wstart
                 && i < st->refs[t->ref].wend))
        {
            continue;
        }

        if (nlu_in(t, "something|anything|stuff|ones|thing|things|items"
                   "|products|everything"))
        {
            continue;
        }

        if (n > 0) {
            p[n++] = ' ';
        }

        memcpy(p + n, t->s, t->len);
        n += t->len;
    }

    p[n] = '\0';

    if (n > 0) {
        st->out->query.data = p;
        st->out->query.len = n;
    }

    return 0;
}


/* key words misspelt: "remvoe", "recomend", "quantitiy" */

static void
nlu_fold_typos(nlu_state_t *st)
{
    int          i;
    size_t       k, n;
    nlu_tok_t   *t;
    const char  *w;

    for (i = 0; i < st->n; i++) {
        t = &st->t[i];

        if (t->type != NLU_TOK_WORD || t->klen < 4 || nlu_is_filler(t)
            || nlu_is_colour(t)
            || nlu_list_find(nlu_fuzzy, nlu_nelts(nlu_fuzzy), t->key,
                             t->klen)
            || nlu_list_find(nlu_retail, nlu_nelts(nlu_retail), t->key,
                             t->klen))
        {
            continue;
        }

        for (k = 0; k < nlu_nelts(nlu_fuzzy); k++) {
            w = nlu_fuzzy[k];
            n = strlen(w);

            if (nlu_near(t->key, t->klen, w, n)) {
                memcpy(t->key, w, n + 1);
                t->klen = (uint8_t) n;
                break;
            }
        }
    }
}


static double
nlu_confidence(nlu_state_t *st, int best, int margin)
{
    size_t                     i;
    double                     c;
    const cartbot_nlu_item_t  *it;
    cartbot_nlu_result_t      *out;

    out = st->out;

    if (out->intent == CARTBOT_NLU_UNKNOWN) {
        return st->ncontent ? 0.3 : 0.4;
    }

    if (best == 0) {
        /* understood by shape alone */
        c = 0.55;

    } else {
        c = 0.3 + 0.1 * (best < 5 ? best : 5)
            + 0.06 * (margin < 4 ? margin : 4);
    }

    for (i = 0; i < out->nitems; i++) {
        it = &out->items[i];

        if (it->ambiguous) {
            c -= 0.2;

        } else if (it->product.data == NULL && it->resolved == NULL
                   && it->ref != CARTBOT_NLU_REF_ALL)
        {
            c -= 0.15;
        }
    }

    if (st->except >= 0 && c > 0.35) {
        /* exceptions are not represented: a model should look */
        c = 0.35;
    }

    if (c > 0.97) {
        c = 0.97;
    }

    if (c < 0.05) {
        c = 0.05;
    }

    return c;
}


int
cartbot_nlu_parse(cartbot_mem_t *mem, const char *text, size_t len,
    const cartbot_nlu_context_t *ctx, cartbot_nlu_result_t *out)
{
    int                     i, best, margin, only;
    nlu_state_t            *st;
    cartbot_nlu_intent_e    intent;
    cartbot_nlu_confirm_e   confirm;

    memset(out, 0, sizeof(cartbot_nlu_result_t));
    out->intent = CARTBOT_NLU_UNKNOWN;
    out->intent_name = nlu_intent_names[0];
    out->price_min = -1;
    out->price_max = -1;
    out->confidence = 0.9;

    if (text == NULL) {
        len = 0;
    }

    if (len > CARTBOT_NLU_MAX_INPUT) {
        len = CARTBOT_NLU_MAX_INPUT;
        out->truncated = 1;
    }

    st = cartbot_alloc(mem, sizeof(nlu_state_t));
    if (st == NULL) {
        return -1;
    }

    memset(st, 0, sizeof(nlu_state_t));
    st->mem = mem;
    st->ctx = ctx;
    st->out = out;
    st->size_tok = -1;
    st->except = -1;

    st->norm = cartbot_alloc(mem, len + 1);
    st->t = cartbot_alloc(mem, CARTBOT_NLU_MAX_TOKENS * sizeof(nlu_tok_t));

    if (st->norm == NULL || st->t == NULL) {
        return -1;
    }

    if (len) {
        st->nlen = nlu_normalise((const unsigned char *) text, len,
                                 (unsigned char *) st->norm);
    }

    st->norm[st->nlen] = '\0';

    nlu_tokenize(st);

    if (st->n == 0) {
        /* nothing to understand, and no model would do better */
        return 0;
    }

    nlu_fold_typos(st);
    nlu_index(st);

    st->question = nlu_is_word(st, 0, "what|whats|which|how|hows|is|are"
                               "|does|do|can|could|will|would|who|where"
                               "|when|why|did|has|have|was|were|should"
                               "|any|whos|wheres|hows");

    for (i = 0; i < st->n; i++) {
        if (st->t[i].type == NLU_TOK_PUNCT && st->t[i].key[0] == '?') {
            st->question = 1;
        }
    }

    nlu_screen(st);

    if (out->injection_suspected || out->names_other_session) {
        out->confidence = 0.95;
        return 0;
    }

    /* "yes", "go ahead", "not yet" */

    confirm = nlu_confirmation(st, &only);

    if (only) {
        out->confirmation = confirm;

        if (ctx != NULL && ctx->pending_checkout) {
            out->intent = NLU_CHECKOUT;
            out->intent_name = nlu_intent_names[NLU_CHECKOUT];
            out->confidence = 0.95;

        } else {
            out->confidence = 0.6;
        }

        return 0;
    }

    nlu_mark_prices(st);
    nlu_mark_sizes(st);
    nlu_mark_refs(st);
    nlu_mark_qtys(st);
    nlu_mark_dest(st);
    nlu_apply_cues(st);
    nlu_classify_rest(st);

    intent = nlu_decide(st, &best, &margin);

    out->intent = intent;
    out->intent_name = nlu_intent_names[intent];

    if (intent == NLU_ADD || intent == NLU_REMOVE || intent == NLU_UPDATE
        || intent == NLU_QUESTION || intent == NLU_RECOMMEND)
    {
        if (nlu_build_items(st) != 0) {
            return -1;
        }
    }

    if (intent == NLU_SEARCH || intent == NLU_QUESTION
        || intent == NLU_RECOMMEND)
    {
        if (nlu_query(st) != 0) {
            return -1;
        }

        for (i = 0; i < st->n; i++) {
            if ((st->t[i].role == NLU_ROLE_CONTENT
                 || st->t[i].role == NLU_ROLE_REF)
                && st->t[i].type == NLU_TOK_WORD && nlu_is_colour(&st->t[i]))
            {
                if (nlu_item_colour(st, i > 0 ? i - 1 : i, i + 1,
                                    &out->colour)
                    != 0)
                {
                    return -1;
                }

                break;
            }
        }

        if (st->size_tok >= 0
            && nlu_size_text(st, st->size_tok, &out->size) != 0)
        {
            return -1;
        }
    }

    if (intent == NLU_QUESTION
        && nlu_item_text(st, 0, st->n, &out->question) != 0)
    {
        return -1;
    }

    out->confidence = nlu_confidence(st, best, margin);

    return 0;
}


/* JSON */

static void
nlu_json_key(cartbot_buf_t *b, int *first, const char *key)
{
    if (!*first) {
        cartbot_buf_add_char(b, ',');
    }

    *first = 0;
    cartbot_buf_add_char(b, '"');
    cartbot_buf_add_str(b, key);
    cartbot_buf_add_str(b, "\":");
}


static void
nlu_json_str(cartbot_buf_t *b, int *first, const char *key,
    const cartbot_str_t *s)
{
    if (s->data == NULL) {
        return;
    }

    nlu_json_key(b, first, key);
    cartbot_json_add_string(b, s->data, s->len);
}


int
cartbot_nlu_result_json(const cartbot_nlu_result_t *r, cartbot_buf_t *b)
{
    int                        first, ifirst;
    size_t                     i;
    const char                *name;
    const cartbot_nlu_item_t  *it;

    static const char  *confirmations[] = { NULL, "yes", "no" };

    name = cartbot_nlu_intent_name(r->intent);

    cartbot_buf_add_str(b, "{\"intent\":");
    cartbot_json_add_string(b, name, strlen(name));
    cartbot_buf_printf(b, ",\"confidence\":%.2g,\"entities\":{",
                       r->confidence);

    first = 1;
    nlu_json_key(b, &first, "items");
    cartbot_buf_add_char(b, '[');

    for (i = 0; i < r->nitems; i++) {
        it = &r->items[i];

        if (i > 0) {
            cartbot_buf_add_char(b, ',');
        }

        cartbot_buf_add_char(b, '{');
        ifirst = 1;

        nlu_json_str(b, &ifirst, "product_name", &it->product);

        if (it->quantity_invalid) {
            nlu_json_key(b, &ifirst, "quantity_invalid");
            cartbot_buf_add_str(b, "true");

        } else if (it->quantity_explicit || r->intent == NLU_ADD
                   || r->intent == NLU_UPDATE)
        {
            nlu_json_key(b, &ifirst, "quantity");
            cartbot_buf_printf(b, "%ld", it->quantity);
        }

        nlu_json_str(b, &ifirst, "colour", &it->colour);
        nlu_json_str(b, &ifirst, "size", &it->size);

        if (it->ref != CARTBOT_NLU_REF_NONE) {
            nlu_json_key(b, &ifirst, "reference");
            name = cartbot_nlu_ref_name(it->ref);
            cartbot_json_add_string(b, name, strlen(name));

            if (it->ref == CARTBOT_NLU_REF_ORDINAL) {
                nlu_json_key(b, &ifirst, "ordinal");
                cartbot_buf_printf(b, "%u", it->ordinal);
            }
        }

        if (it->resolved != NULL) {
            nlu_json_str(b, &ifirst, "product_id", &it->resolved->id);
        }

        if (it->ambiguous) {
            nlu_json_key(b, &ifirst, "ambiguous");
            cartbot_buf_add_str(b, "true");
        }

        cartbot_buf_add_char(b, '}');
    }

    cartbot_buf_add_char(b, ']');

    nlu_json_str(b, &first, "query", &r->query);
    nlu_json_str(b, &first, "question", &r->question);
    nlu_json_str(b, &first, "colour", &r->colour);
    nlu_json_str(b, &first, "size", &r->size);

    if (r->price_min >= 0) {
        nlu_json_key(b, &first, "price_min");
        cartbot_buf_printf(b, "%.15g", r->price_min);
    }

    if (r->price_max >= 0) {
        nlu_json_key(b, &first, "price_max");
        cartbot_buf_printf(b, "%.15g", r->price_max);
    }

    if (r->currency != NULL) {
        nlu_json_key(b, &first, "currency");
        cartbot_json_add_string(b, r->currency, strlen(r->currency));
    }

    if (r->confirmation != CARTBOT_NLU_CONFIRM_NONE) {
        nlu_json_key(b, &first, "confirmation");
        name = confirmations[r->confirmation];
        cartbot_json_add_string(b, name, strlen(name));
    }

    cartbot_buf_add_char(b, '}');

    if (r->injection_suspected || r->names_other_session
        || r->invalid_quantity || r->truncated)
    {
        cartbot_buf_add_str(b, ",\"flags\":[");
        first = 1;

        if (r->injection_suspected) {
            cartbot_buf_add_str(b, "\"injection_suspected\"");
            first = 0;
        }

        if (r->names_other_session) {
            cartbot_buf_add_str(b, first ? "" : ",");
            cartbot_buf_add_str(b, "\"names_other_session\"");
            first = 0;
        }

        if (r->invalid_quantity) {
            cartbot_buf_add_str(b, first ? "" : ",");
            cartbot_buf_add_str(b, "\"invalid_quantity\"");
            first = 0;
        }

        if (r->truncated) {
            cartbot_buf_add_str(b, first ? "" : ",");
            cartbot_buf_add_str(b, "\"truncated\"");
        }

        cartbot_buf_add_char(b, ']');
    }

    cartbot_buf_add_char(b, '}');

    return b->failed ? -1 : 0;
}


const char *
cartbot_nlu_intent_name(cartbot_nlu_intent_e intent)
{
    if ((int) intent < 0 || intent >= CARTBOT_NLU_NINTENTS) {
        return nlu_intent_names[0];
    }

    return nlu_intent_names[intent];
}


int
cartbot_nlu_intent_by_name(const char *name, size_t len)
{
    int  i;

    if (name == NULL) {
        return -1;
    }

    for (i = 0; i < CARTBOT_NLU_NINTENTS; i++) {
        if (strlen(nlu_intent_names[i]) == len
            && memcmp(nlu_intent_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


const char *
cartbot_nlu_ref_name(cartbot_nlu_ref_e ref)
{
    static const char  *names[] = {
        "none", "last", "ordinal", "cheapest", "most_expensive", "all", "name"
    };

    if ((int) ref < 0 || ref > CARTBOT_NLU_REF_NAME) {
        return names[0];
    }

    return names[ref];
}


/* tables in byte order, cue patterns well formed */

static int
nlu_sorted(const char *const *list, size_t n)
{
    size_t  i;

    for (i = 1; i < n; i++) {
        if (strcmp(list[i - 1], list[i]) >= 0) {
            return 0;
        }
    }

    return 1;
}


const char *
cartbot_nlu_check_tables(void)
{
    size_t       i;
    const char  *p;

#define nlu_check(list)                                                      \
    if (!nlu_sorted(list, nlu_nelts(list))) {                                \
        return #list;                                                        \
    }

    nlu_check(nlu_fillers);
    nlu_check(nlu_colours);
    nlu_check(nlu_shades);
    nlu_check(nlu_paired);
    nlu_check(nlu_units);
    nlu_check(nlu_retail);
    nlu_check(nlu_fuzzy);
    nlu_check(nlu_yes_words);
    nlu_check(nlu_no_words);
    nlu_check(nlu_confirm_fillers);
    nlu_check(nlu_contractions);

#undef nlu_check

    for (i = 0; i < nlu_nelts(nlu_fuzzy); i++) {
        if (strlen(nlu_fuzzy[i]) < 5) {
            return "nlu_fuzzy";
        }
    }

    for (i = 0; i < nlu_nelts(nlu_cues); i++) {
        p = nlu_cues[i].pat;

        if (p[0] == ' ' || p[0] == '\0' || p[strlen(p) - 1] == ' '
            || strstr(p, "  ") != NULL || strstr(p, "||") != NULL
            || strchr(p, '\'') != NULL || strchr(p, '"') != NULL
            || strchr(p, 'A') != NULL || nlu_cues[i].weight == 0
            || nlu_cues[i].intent == CARTBOT_NLU_UNKNOWN
            || nlu_cues[i].intent >= CARTBOT_NLU_NINTENTS)
        {
            return nlu_cues[i].pat;
        }
    }

    return NULL;
}
