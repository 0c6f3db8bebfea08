
/*
 * Cartbot core: the chat's requests to an OpenAI-compatible Chat
 * Completions API (Groq) and what is accepted of its answers.
 *
 * Two requests: "classify" asks for the intent and entities as one JSON
 * object (JSON mode); "answer" asks for a reply to a product question from
 * the catalog facts given, fenced as data that carries no instructions.
 * The static part of each prompt comes first and never changes, so that
 * the provider's prefix cache applies.
 *
 * The model only proposes: its JSON is checked against the closed list of
 * intents and the entity types, quantities are bounded, and everything
 * that is not a product phrase, a quantity or a known flag is dropped.
 * References ("it", "the second one") are resolved by the server from the
 * session's memory, never by the model.
 */

#ifndef _CARTBOT_LLM_H_INCLUDED_
#define _CARTBOT_LLM_H_INCLUDED_


#include "cartbot_buf.h"
#include "cartbot_json.h"
#include "cartbot_nlu.h"


#define CARTBOT_LLM_MAX_ANSWER   2000     /* bytes of a reply kept */


typedef struct {
    cartbot_str_t           content;       /* choices[0].message.content */
    const char             *finish_reason;
    long long               prompt_tokens;
    long long               completion_tokens;
    const char             *model;
} cartbot_llm_completion_t;


int cartbot_llm_classify_request(cartbot_buf_t *b, const char *model,
    const char *text, size_t len, const cartbot_nlu_context_t *ctx,
    unsigned max_tokens);

/* products: n catalog objects (name, price, ...) */
int cartbot_llm_answer_request(cartbot_buf_t *b, const char *model,
    const char *question, size_t len, const yajl_val *products, size_t n,
    unsigned max_tokens, int stream);

/* a rough count of the tokens of a request, for reservations */
long long cartbot_llm_estimate_tokens(size_t request_bytes,
    unsigned max_tokens);

/*
 * A 200 answer of /chat/completions: 0, or -1 when it is not one (the
 * shape is wrong or there is no content).
 */
int cartbot_llm_parse_completion(const char *body, size_t len,
    yajl_val *root, cartbot_llm_completion_t *out);

/*
 * The model's classification, checked, as an understanding.  builtin is
 * the built-in understanding of the same message with the session's
 * memory: references and the safety flags come from it.  Returns 0, or -1
 * when the model's JSON is not acceptable.
 */
int cartbot_llm_classify_parse(cartbot_mem_t *mem, const char *content,
    size_t len, const cartbot_nlu_result_t *builtin,
    cartbot_nlu_result_t *out);


/*
 * A streamed completion (Server-Sent Events), fed as it arrives in pieces
 * of any size: each content delta is appended to "content" and, as our own
 * "event: delta" with {"text": ...}, to the out buffer given to _feed().
 */

typedef struct {
    cartbot_buf_t           line;      /* an event not yet complete */
    cartbot_buf_t           content;
    long long               prompt_tokens;
    long long               completion_tokens;
    unsigned                done:1;    /* data: [DONE] */
    unsigned                failed:1;  /* an error event, or nonsense */
} cartbot_llm_stream_t;


void cartbot_llm_stream_init(cartbot_llm_stream_t *st, cartbot_mem_t *mem);
int cartbot_llm_stream_feed(cartbot_llm_stream_t *st, const char *data,
    size_t len, cartbot_buf_t *out);


#endif /* _CARTBOT_LLM_H_INCLUDED_ */
