
/*
 * libFuzzer harness: cartbot_jwt_keyset_add_jwks() on arbitrary bytes (a
 * JWKS may come from an identity provider over the network), then a
 * token check against whatever was loaded.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cartbot_jwt.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char  fuzz_jwks_token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    n;
    char                   err[256];
    size_t                 i, before;
    cartbot_arena_t        arena;
    cartbot_jwt_result_t   r;
    cartbot_jwt_keyset_t   ks;

    cartbot_arena_init(&arena);
    cartbot_jwt_keyset_init(&ks, &arena.mem);

    n = cartbot_jwt_keyset_add_jwks(&ks, (const char *) data, size,
                                    (size & 1) ? CARTBOT_JWT_ALGS_PS
                                               : CARTBOT_JWT_ALGS_RS,
                                    err, sizeof(err));

    if (n < 0 ? (ks.nkeys != 0 || err[0] == '\0')
              : (n == 0 || (size_t) n != ks.nkeys))
    {
        abort();
    }

    for (i = 0; i < ks.nkeys; i++) {
        if (ks.keys[i].algs == 0
            || (ks.keys[i].pkey == NULL) == (ks.keys[i].secret == NULL))
        {
            abort();
        }
    }

    before = ks.nkeys;

    (void) cartbot_jwt_verify(&ks, &arena.mem, fuzz_jwks_token,
                              sizeof(fuzz_jwks_token) - 1, NULL, 1300819000,
                              &r);
    cartbot_jwt_result_free(&r);

    if (ks.nkeys != before) {
        abort();
    }

    cartbot_jwt_keyset_free(&ks);
    cartbot_arena_free(&arena);

    return 0;
}
