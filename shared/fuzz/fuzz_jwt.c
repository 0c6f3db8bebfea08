
/*
 * libFuzzer harness: cartbot_jwt_verify() on arbitrary bytes, with a
 * fixed key set holding an HMAC, an RSA (RS* and PS*), an EC and an
 * Ed25519 key (fuzz_keys.h).
 *
 * Input starting with '{' is JSON, not a token: the harness signs it and
 * verifies the result, so that the fuzzer reaches the header and claims
 * checks behind a valid signature.
 *
 *     {claims}              signed by cartbot_jwt_sign() with the key
 *                           chosen by the input length: whatever else
 *                           happens, the signature must be accepted
 *     {header}\n{claims}    that header, base64url-encoded as it is, and
 *                           the claims, signed with the chosen key
 *
 * Odd-length inputs are verified with strict options (issuer, audience,
 * required claims, leeway, iat checks), even-length ones with defaults.
 */

#include <stdint.h>
#include <string.h>

#include "cartbot_base64.h"
#include "cartbot_jwt.h"
#include "fuzz_keys.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static cartbot_arena_t       fuzz_arena;
static cartbot_jwt_keyset_t  fuzz_keys;

static const cartbot_str_t   fuzz_iss[] = {
    cartbot_str("https://cartbot.test"), cartbot_str("cartbot")
};
static const cartbot_str_t   fuzz_aud[] = { cartbot_str("cartbot") };
static const cartbot_str_t   fuzz_req[] = { cartbot_str("sub") };


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    cartbot_arena_init(&fuzz_arena);
    cartbot_jwt_keyset_init(&fuzz_keys, &fuzz_arena.mem);
    fuzz_load_keys(&fuzz_keys, CARTBOT_FUZZ_KEYS);

    return 0;
}


static void
fuzz_check_result(cartbot_jwt_reason_e rc, const cartbot_jwt_result_t *r)
{
    const char  *p;

    /* RFC 6750 error_description: %x20-21 / %x23-5B / %x5D-7E */

    for (p = r->detail; p && *p; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\') {
            abort();
        }
    }

    if (rc != r->reason || (unsigned) rc >= CARTBOT_JWT_REASON_LAST
        || r->detail == NULL || r->kid.data == NULL
        || r->kid.data[r->kid.len] != '\0')
    {
        abort();
    }

    if (rc == CARTBOT_JWT_OK) {
        if (r->header == NULL || r->claims == NULL || r->key == NULL
            || !YAJL_IS_OBJECT(r->claims) || r->payload.data == NULL
            || r->payload.data[r->payload.len] != '\0')
        {
            abort();
        }

    } else if (r->header != NULL || r->claims != NULL || r->key != NULL) {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                        signed_here;
    char                       err[256];
    const char                *nl;
    cartbot_buf_t              b, sig;
    cartbot_arena_t            arena;
    cartbot_jwt_opts_t         opts;
    cartbot_jwt_result_t       r;
    cartbot_jwt_reason_e       rc;
    const cartbot_jwt_key_t   *key;

    cartbot_arena_init(&arena);

    memset(&opts, 0, sizeof(cartbot_jwt_opts_t));

    if (size & 1) {
        opts.issuers = fuzz_iss;
        opts.nissuers = 2;
        opts.audiences = fuzz_aud;
        opts.naudiences = 1;
        opts.required = fuzz_req;
        opts.nrequired = 1;
        opts.leeway = 30;
        opts.max_age = 86400;
        opts.check_iat = 1;
    }

    signed_here = 0;
    cartbot_buf_init(&b, &arena.mem, 0);

    if (size > 0 && data[0] == '{') {
        key = &fuzz_keys.keys[size % fuzz_keys.nkeys];
        nl = memchr(data, '\n', size);

        if (nl == NULL) {
            if (cartbot_jwt_sign(key, CARTBOT_JWT_ALG_UNSET,
                                 (const char *) data, size, &b, err,
                                 sizeof(err))
                != 0)
            {
                goto done;
            }

            signed_here = 1;

        } else {
            cartbot_base64_encode(&b, data, (size_t) ((const uint8_t *) nl
                                                      - data), 1);
            cartbot_buf_add_char(&b, '.');
            cartbot_base64_encode(&b, (const uint8_t *) nl + 1,
                                  size - (size_t) ((const uint8_t *) nl
                                                   - data) - 1, 1);

            cartbot_buf_init(&sig, &arena.mem, 0);

            if (cartbot_jwt_signature_create(key,
                    (cartbot_jwt_alg_e) __builtin_ctz(key->algs),
                    (const unsigned char *) b.data, b.len, &sig)
                != 0)
            {
                abort();
            }

            cartbot_buf_add_char(&b, '.');
            cartbot_base64_encode(&b, (const unsigned char *) sig.data,
                                  sig.len, 1);
        }

        if (b.failed) {
            abort();
        }

        data = (const uint8_t *) b.data;
        size = b.len;
    }

    rc = cartbot_jwt_verify(&fuzz_keys, &arena.mem, (const char *) data, size,
                            &opts, CARTBOT_FUZZ_NOW, &r);

    fuzz_check_result(rc, &r);

    /* a token we signed ourselves always passes the signature check */

    if (signed_here
        && (rc == CARTBOT_JWT_BAD_SIGNATURE || rc == CARTBOT_JWT_UNKNOWN_KEY
            || rc == CARTBOT_JWT_ALG_MISMATCH || rc == CARTBOT_JWT_UNSUPPORTED
            || rc == CARTBOT_JWT_INTERNAL))
    {
        fprintf(stderr, "self-signed token refused: %s (%s)\n",
                cartbot_jwt_reason_name(rc), r.detail);
        abort();
    }

    cartbot_jwt_result_free(&r);

done:

    cartbot_arena_free(&arena);

    return 0;
}
