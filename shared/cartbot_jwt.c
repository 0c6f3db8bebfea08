
/*
 * Cartbot core: JSON Web Tokens.
 */

#include <string.h>

#include "cartbot_base64.h"
#include "cartbot_jwt.h"


yajl_val
cartbot_jwt_peek_claims(cartbot_mem_t *mem, const char *token, size_t len)
{
    char           err[64];
    size_t         plen;
    const char    *dot1, *dot2, *end;
    unsigned char *payload;

    end = token + len;

    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return NULL;
    }

    dot2 = memchr(dot1 + 1, '.', (size_t) (end - dot1 - 1));
    if (dot2 == NULL) {
        return NULL;
    }

    payload = cartbot_alloc(mem, cartbot_base64_decoded_len(dot2 - dot1));
    if (payload == NULL) {
        return NULL;
    }

    if (cartbot_base64_decode(payload, &plen, dot1 + 1,
                              (size_t) (dot2 - dot1 - 1), 1)
        != 0)
    {
        return NULL;
    }

    return cartbot_json_parse((const char *) payload, plen, err, sizeof(err));
}
