
/*
 * Cartbot core: base64 and base64url (RFC 4648).
 */

#include <string.h>

#include "cartbot_base64.h"


static const char  cartbot_base64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char  cartbot_base64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
cartbot_base64_encode(cartbot_buf_t *b, const unsigned char *data, size_t len,
    int url)
{
    char         out[4];
    size_t       i;
    uint32_t     n;
    const char  *alphabet;

    alphabet = url ? cartbot_base64_url : cartbot_base64_std;

    if (cartbot_buf_reserve(b, (len + 2) / 3 * 4) != 0) {
        return -1;
    }

    for (i = 0; i + 2 < len; i += 3) {
        n = (uint32_t) data[i] << 16 | (uint32_t) data[i + 1] << 8
            | data[i + 2];

        out[0] = alphabet[n >> 18];
        out[1] = alphabet[(n >> 12) & 63];
        out[2] = alphabet[(n >> 6) & 63];
        out[3] = alphabet[n & 63];

        cartbot_buf_add(b, out, 4);
    }

    if (i < len) {
        n = (uint32_t) data[i] << 16;

        if (i + 1 < len) {
            n |= (uint32_t) data[i + 1] << 8;
        }

        out[0] = alphabet[n >> 18];
        out[1] = alphabet[(n >> 12) & 63];
        out[2] = (i + 1 < len) ? alphabet[(n >> 6) & 63] : '=';
        out[3] = '=';

        if (url) {
            cartbot_buf_add(b, out, (i + 1 < len) ? 3 : 2);

        } else {
            cartbot_buf_add(b, out, 4);
        }
    }

    return b->failed ? -1 : 0;
}


/* the value of one character, or -1: arithmetic, not a search */

static int
cartbot_base64_value(unsigned char c, int url)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == (url ? '-' : '+')) {
        return 62;
    }

    if (c == (url ? '_' : '/')) {
        return 63;
    }

    return -1;
}


int
cartbot_base64_decode(unsigned char *out, size_t *outlen, const char *in,
    size_t len, int url)
{
    int           v;
    size_t        i, o, bits;
    uint32_t      acc;

    while (len && in[len - 1] == '=') {
        len--;
    }

    if (len % 4 == 1) {
        return -1;
    }

    acc = 0;
    bits = 0;
    o = 0;

    for (i = 0; i < len; i++) {
        v = cartbot_base64_value((unsigned char) in[i], url);

        if (v < 0) {
            return -1;
        }

        acc = (acc << 6) | (uint32_t) v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    /* leftover bits must be zero: one encoding per value */

    if (acc != 0) {
        return -1;
    }

    *outlen = o;

    return 0;
}
