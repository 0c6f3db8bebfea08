
/*
 * Cartbot core: base64 and base64url (RFC 4648), as JWTs and Basic
 * authentication use them.
 */

#ifndef _CARTBOT_BASE64_H_INCLUDED_
#define _CARTBOT_BASE64_H_INCLUDED_


#include "cartbot_buf.h"


#define cartbot_base64_decoded_len(len)  (((len) + 3) / 4 * 3)


/* url = 1: the URL alphabet without padding (JWT); url = 0: standard */
int cartbot_base64_encode(cartbot_buf_t *b, const unsigned char *data,
    size_t len, int url);

/*
 * Decodes into out (cartbot_base64_decoded_len(len) bytes).  Padding is
 * optional; any other byte outside the alphabet is an error (-1).
 */
int cartbot_base64_decode(unsigned char *out, size_t *outlen,
    const char *in, size_t len, int url);


#endif /* _CARTBOT_BASE64_H_INCLUDED_ */
