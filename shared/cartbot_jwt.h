
/*
 * Cartbot core: JSON Web Tokens.
 */

#ifndef _CARTBOT_JWT_H_INCLUDED_
#define _CARTBOT_JWT_H_INCLUDED_


#include "cartbot_buf.h"
#include "cartbot_json.h"


/*
 * Decodes the claims of a token WITHOUT verifying it: only for tokens we
 * received from a trusted peer (SurrealDB's /signin answer), to learn when
 * they expire.  Returns a yajl document to free, or NULL.
 */
yajl_val cartbot_jwt_peek_claims(cartbot_mem_t *mem, const char *token,
    size_t len);


#endif /* _CARTBOT_JWT_H_INCLUDED_ */
