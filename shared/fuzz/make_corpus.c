
/*
 * Writes the seed corpus of fuzz_jwt: valid and near-valid tokens signed
 * with the TEST-ONLY keys, valid at CARTBOT_FUZZ_NOW.  Run by
 * "shared/fuzz/run.sh corpus"; the output is committed.
 */

#include <string.h>

#include "cartbot_base64.h"
#include "cartbot_jwt.h"
#include "fuzz_keys.h"


#define BASE  "\"sub\":\"shopper:1\",\"role\":\"shopper\",\"iat\":1700000000," \
              "\"exp\":4102444800,\"jti\":\"seed\"," \
              "\"iss\":\"https://cartbot.test\""
#define GOOD  BASE ",\"aud\":\"cartbot\""


static cartbot_arena_t       arena;
static cartbot_jwt_keyset_t  keys;


static void
put(const char *dir, const char *name, const char *data, size_t len)
{
    char   path[1024];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}


static void
puts_(const char *dir, const char *name, const char *text)
{
    put(dir, name, text, strlen(text));
}


/* a token from raw header and claims, signed with kid's key and alg */

static void
raw(const char *dir, const char *name, const char *kid, cartbot_jwt_alg_e alg,
    const char *header, const char *claims)
{
    cartbot_buf_t             b, sig;
    const cartbot_jwt_key_t  *key;

    cartbot_buf_init(&b, &arena.mem, 0);
    cartbot_base64_encode(&b, (const unsigned char *) header, strlen(header),
                          1);
    cartbot_buf_add_char(&b, '.');
    cartbot_base64_encode(&b, (const unsigned char *) claims, strlen(claims),
                          1);

    cartbot_buf_init(&sig, &arena.mem, 0);
    key = cartbot_jwt_keyset_find(&keys, kid, strlen(kid));

    if (key == NULL
        || cartbot_jwt_signature_create(key, alg,
                                        (const unsigned char *) b.data, b.len,
                                        &sig)
           != 0)
    {
        fprintf(stderr, "%s: cannot sign\n", name);
        exit(1);
    }

    cartbot_buf_add_char(&b, '.');
    cartbot_base64_encode(&b, (const unsigned char *) sig.data, sig.len, 1);

    put(dir, name, b.data, b.len);
}


/* a token signed by cartbot_jwt_sign(), checked to fail as expected */

static void
sign(const char *dir, const char *name, const cartbot_jwt_key_t *key,
    cartbot_jwt_alg_e alg, const char *claims, cartbot_jwt_reason_e want)
{
    char                  err[256];
    cartbot_buf_t         b;
    cartbot_jwt_result_t  r;

    cartbot_buf_init(&b, &arena.mem, 0);

    if (cartbot_jwt_sign(key, alg, claims, strlen(claims), &b, err,
                         sizeof(err))
        != 0)
    {
        fprintf(stderr, "%s: %s\n", name, err);
        exit(1);
    }

    if (cartbot_jwt_verify(&keys, &arena.mem, b.data, b.len, NULL,
                           CARTBOT_FUZZ_NOW, &r)
        != want)
    {
        fprintf(stderr, "%s: %s\n", name, r.detail);
        exit(1);
    }

    cartbot_jwt_result_free(&r);

    put(dir, name, b.data, b.len);
}


/* HS256 with a claim of pad bytes */

static void
big(const char *dir, const char *name, size_t pad, cartbot_jwt_reason_e want)
{
    cartbot_buf_t  b;

    cartbot_buf_init(&b, &arena.mem, 0);
    cartbot_buf_add_str(&b, "{\"exp\":4102444800,\"pad\":\"");

    while (pad--) {
        cartbot_buf_add_char(&b, 'p');
    }

    cartbot_buf_add_str(&b, "\"}");

    sign(dir, name, cartbot_jwt_keyset_find(&keys, "hs", 2), CARTBOT_JWT_HS256,
         cartbot_buf_cstr(&b), want);
}


int
main(int argc, char **argv)
{
    const char  *dir, *kdir;

    if (argc != 3) {
        fprintf(stderr, "usage: make_corpus KEYS-DIR CORPUS-DIR\n");
        return 2;
    }

    kdir = argv[1];
    dir = argv[2];

    cartbot_arena_init(&arena);
    cartbot_jwt_keyset_init(&keys, &arena.mem);
    fuzz_load_keys(&keys, kdir);

#define KEY(kid)  cartbot_jwt_keyset_find(&keys, kid, strlen(kid))

    /* valid */

    sign(dir, "valid-hs256", KEY("hs"), CARTBOT_JWT_HS256, "{" GOOD "}",
         CARTBOT_JWT_OK);
    sign(dir, "valid-rs256", KEY("rs"), CARTBOT_JWT_RS256, "{" GOOD "}",
         CARTBOT_JWT_OK);
    sign(dir, "valid-rs512", KEY("rs"), CARTBOT_JWT_RS512,
         "{\"sub\":\"a\",\"exp\":4102444800}", CARTBOT_JWT_OK);
    sign(dir, "valid-ps256", KEY("ps"), CARTBOT_JWT_PS256, "{" GOOD "}",
         CARTBOT_JWT_OK);
    sign(dir, "valid-es256", KEY("es"), CARTBOT_JWT_ES256,
         "{" BASE ",\"aud\":[\"x\",\"cartbot\"]}", CARTBOT_JWT_OK);
    sign(dir, "valid-eddsa", KEY("ed"), CARTBOT_JWT_EDDSA,
         "{" GOOD ",\"nbf\":1699999999.5,\"cart\":{\"items\":[1,2,3]}}",
         CARTBOT_JWT_OK);
    sign(dir, "valid-eddsa-nokid", &keys.keys[keys.nkeys - 1],
         CARTBOT_JWT_EDDSA, "{\"sub\":\"guest\",\"exp\":4102444800}",
         CARTBOT_JWT_OK);

    /* near-valid */

    sign(dir, "expired-hs256", KEY("hs"), CARTBOT_JWT_HS256,
         "{\"sub\":\"a\",\"exp\":1600000000}", CARTBOT_JWT_EXPIRED);
    sign(dir, "nbf-future-es256", KEY("es"), CARTBOT_JWT_ES256,
         "{\"sub\":\"a\",\"exp\":4102444800,\"nbf\":1800000000}",
         CARTBOT_JWT_NOT_YET_VALID);
    raw(dir, "alg-none", "hs", CARTBOT_JWT_HS256, "{\"alg\":\"none\"}",
        "{" GOOD "}");
    raw(dir, "hs256-with-rsa-kid", "hs", CARTBOT_JWT_HS256,
        "{\"alg\":\"HS256\",\"kid\":\"rs\"}", "{" GOOD "}");
    raw(dir, "unknown-kid", "hs", CARTBOT_JWT_HS256,
        "{\"alg\":\"HS256\",\"kid\":\"2026-01\"}", "{" GOOD "}");
    raw(dir, "crit", "hs", CARTBOT_JWT_HS256,
        "{\"alg\":\"HS256\",\"kid\":\"hs\",\"crit\":[\"b64\"],\"b64\":false}",
        "{" GOOD "}");
    raw(dir, "duplicate-sub", "ed", CARTBOT_JWT_EDDSA,
        "{\"alg\":\"EdDSA\",\"kid\":\"ed\"}",
        "{" GOOD ",\"sub\":\"admin\"}");
    raw(dir, "es256-wrong-kid", "es", CARTBOT_JWT_ES256,
        "{\"alg\":\"ES256\",\"kid\":\"ed\"}", "{" GOOD "}");
    puts_(dir, "jwe-parts",
          "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..AAAA.AAAA.AAAA");

    /* either side of the 8 KB limit */

    big(dir, "valid-8k-hs256", 6000, CARTBOT_JWT_OK);
    big(dir, "too-large-hs256", 6200, CARTBOT_JWT_TOO_LARGE);

    /* JSON inputs: the harness signs them */

    puts_(dir, "claims", "{" GOOD "}");
    puts_(dir, "header-and-claims",
          "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}\n"
          "{\"exp\":4102444800,\"aud\":[\"cartbot\",7],\"iat\":1.5e9}");

    cartbot_jwt_keyset_free(&keys);
    cartbot_arena_free(&arena);

    return 0;
}
