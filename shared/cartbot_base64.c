
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


/*
 * The value of each character, 0x80 for those outside the alphabet: a
 * table lookup per character, and one test per four characters.  Built
 * at compile time from the alphabets' order.
 */

#define X  0x80

static const unsigned char  cartbot_base64_std_values[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
    X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
    X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
};

static const unsigned char  cartbot_base64_url_values[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, 62, X, X,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
    X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, 63,
    X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
};

#undef X


int
cartbot_base64_decode(unsigned char *out, size_t *outlen, const char *in,
    size_t len, int url)
{
    size_t                i, o;
    unsigned              a, b, c, d;
    const unsigned char  *s, *values;

    while (len && in[len - 1] == '=') {
        len--;
    }

    if (len % 4 == 1) {
        return -1;
    }

    values = url ? cartbot_base64_url_values : cartbot_base64_std_values;
    s = (const unsigned char *) in;
    o = 0;

    for (i = 0; i + 4 <= len; i += 4) {
        a = values[s[i]];
        b = values[s[i + 1]];
        c = values[s[i + 2]];
        d = values[s[i + 3]];

        if ((a | b | c | d) & 0x80) {
            return -1;
        }

        out[o++] = (unsigned char) (a << 2 | b >> 4);
        out[o++] = (unsigned char) (b << 4 | c >> 2);
        out[o++] = (unsigned char) (c << 6 | d);
    }

    /*
     * Two or three characters left: one or two bytes, and the bits left
     * over must be zero: one encoding per value.
     */

    if (i < len) {
        a = values[s[i]];
        b = values[s[i + 1]];
        c = (i + 2 < len) ? values[s[i + 2]] : 0;

        if ((a | b | c) & 0x80) {
            return -1;
        }

        out[o++] = (unsigned char) (a << 2 | b >> 4);

        if (i + 2 < len) {
            out[o++] = (unsigned char) (b << 4 | c >> 2);

            if (c & 3) {
                return -1;
            }

        } else if (b & 15) {
            return -1;
        }
    }

    *outlen = o;

    return 0;
}
