
/*
 * Cartbot core: JSON Web Tokens (RFC 7515 compact JWS, RFC 7519 claims).
 *
 * Verification, with the algorithm bound to the key and never taken from
 * the token alone:
 *
 *     cartbot_jwt_keyset_init(&ks, mem);
 *     cartbot_jwt_keyset_add_jwks(&ks, text, len, CARTBOT_JWT_ALGS_RS,
 *                                 err, sizeof(err));
 *     ...
 *     rc = cartbot_jwt_verify(&ks, mem, token, len, &opts, now, &res);
 *     ... res.claims, res.header, res.payload ...
 *     cartbot_jwt_result_free(&res);
 *     ...
 *     cartbot_jwt_keyset_free(&ks);
 *
 * Memory: key sets, key material copies and scratch space come from the
 * cartbot_mem_t; OpenSSL objects (EVP_PKEY) are freed by
 * cartbot_jwt_keyset_free(), yajl trees by cartbot_jwt_result_free().  The
 * nginx glue registers both as pool cleanups.  Nothing here keeps global
 * state, blocks or reads files: the glue reads key files at configuration
 * time and passes their text.
 *
 * Work per token is bounded: at most CARTBOT_JWT_MAX_TRIES signature
 * checks, JSON nested at most CARTBOT_JSON_MAX_DEPTH, tokens at most
 * max_len bytes (CARTBOT_JWT_MAX_LEN by default).
 */

#ifndef _CARTBOT_JWT_H_INCLUDED_
#define _CARTBOT_JWT_H_INCLUDED_


#include <time.h>
#include <openssl/types.h>

#include "cartbot_buf.h"
#include "cartbot_json.h"


#define CARTBOT_JWT_MAX_LEN      8192   /* default longest token, bytes */
#define CARTBOT_JWT_MAX_KEYS     256    /* keys in one key set */
#define CARTBOT_JWT_MAX_TRIES    4      /* signature checks per token */
#define CARTBOT_JWT_MIN_RSA_BITS 2048   /* RFC 7518 section 3.3 */


typedef enum {
    CARTBOT_JWT_ALG_UNSET = 0,
    CARTBOT_JWT_HS256,
    CARTBOT_JWT_HS384,
    CARTBOT_JWT_HS512,
    CARTBOT_JWT_RS256,
    CARTBOT_JWT_RS384,
    CARTBOT_JWT_RS512,
    CARTBOT_JWT_PS256,
    CARTBOT_JWT_PS384,
    CARTBOT_JWT_PS512,
    CARTBOT_JWT_ES256,
    CARTBOT_JWT_ES384,
    CARTBOT_JWT_ES512,
    CARTBOT_JWT_EDDSA,                  /* Ed25519 or Ed448 (RFC 8037) */
    CARTBOT_JWT_ALG_LAST
} cartbot_jwt_alg_e;


/*
 * A key is bound to a set of algorithms given as a bit mask.  The set is
 * one algorithm, or a subset of one family: the HMAC family, RSASSA-PKCS1
 * (RS*) or RSASSA-PSS (PS*), never both RSA families at once.  EC keys
 * are bound to the one ES algorithm of their curve; OKP keys to EdDSA.
 */

#define CARTBOT_JWT_ALG_BIT(alg)  (1u << (alg))

#define CARTBOT_JWT_ALGS_HS                                                  \
    (CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_HS256)                                  \
     | CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_HS384)                                \
     | CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_HS512))
#define CARTBOT_JWT_ALGS_RS                                                  \
    (CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_RS256)                                  \
     | CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_RS384)                                \
     | CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_RS512))
#define CARTBOT_JWT_ALGS_PS                                                  \
    (CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_PS256)                                  \
     | CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_PS384)                                \
     | CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_PS512))


/* why a token was refused: stable, usable as metric labels */

typedef enum {
    CARTBOT_JWT_OK = 0,
    CARTBOT_JWT_MALFORMED,       /* structure, base64url, JSON, claim types */
    CARTBOT_JWT_TOO_LARGE,       /* longer than max_len */
    CARTBOT_JWT_UNSUPPORTED,     /* alg "none" or unknown, crit, JWE */
    CARTBOT_JWT_UNKNOWN_KEY,     /* no key for its kid (or, without kid,
                                    none or too many candidates) */
    CARTBOT_JWT_ALG_MISMATCH,    /* the key is bound to other algorithms */
    CARTBOT_JWT_BAD_SIGNATURE,
    CARTBOT_JWT_EXPIRED,         /* exp (or iat + max_age) passed */
    CARTBOT_JWT_NOT_YET_VALID,   /* nbf in the future, or iat if checked */
    CARTBOT_JWT_WRONG_ISSUER,
    CARTBOT_JWT_WRONG_AUDIENCE,
    CARTBOT_JWT_MISSING_CLAIM,   /* exp, iss, aud, iat or a required one */
    CARTBOT_JWT_INTERNAL,        /* out of memory, OpenSSL failure */
    CARTBOT_JWT_REASON_LAST
} cartbot_jwt_reason_e;


typedef struct {
    char                  *kid;        /* NUL-terminated; NULL: none */
    size_t                 kid_len;
    unsigned               algs;       /* CARTBOT_JWT_ALG_BIT()s */
    EVP_PKEY              *pkey;       /* RSA, EC, Ed25519, Ed448 */
    unsigned char         *secret;     /* HMAC */
    size_t                 secret_len;
    EVP_MD_CTX            *hmac[3][2]; /* HS256/384/512: keyed once, the
                                            inner and outer digests */
    unsigned               private:1;  /* can sign */
} cartbot_jwt_key_t;


typedef struct {
    cartbot_jwt_key_t     *keys;
    size_t                 nkeys;
    size_t                 nalloc;
    cartbot_mem_t         *mem;
} cartbot_jwt_keyset_t;


/*
 * Verification options.  A zeroed structure (or NULL) means: tokens of at
 * most CARTBOT_JWT_MAX_LEN bytes, exp required, nbf checked when present,
 * no leeway, any issuer and audience.
 *
 * An "aud" claim is checked only when audiences are configured (as NGINX
 * Plus does); configure them whenever the issuer serves several audiences.
 */

typedef struct {
    size_t                 max_len;      /* 0: CARTBOT_JWT_MAX_LEN */
    time_t                 leeway;       /* seconds, for exp, nbf, iat;
                                            0 to 366 days */
    time_t                 max_age;      /* > 0: iat required, and
                                            now - iat <= max_age */

    const cartbot_str_t   *issuers;      /* iss must be one of these */
    size_t                 nissuers;
    const cartbot_str_t   *audiences;    /* aud (string or array) must
                                            hold one of these */
    size_t                 naudiences;
    const cartbot_str_t   *required;     /* claims that must be present */
    size_t                 nrequired;

    unsigned               exp_optional:1;  /* tokens without exp pass */
    unsigned               check_iat:1;     /* refuse iat in the future */
} cartbot_jwt_opts_t;


/*
 * The outcome of cartbot_jwt_verify().  header and claims are set only
 * for a verified token; kid is set whenever the header could be read, so
 * that the caller may refresh a JWKS on CARTBOT_JWT_UNKNOWN_KEY.
 */

typedef struct {
    cartbot_jwt_reason_e      reason;
    const char               *detail;    /* static text, RFC 6750-safe */
    cartbot_jwt_alg_e         alg;       /* from the header, if known */
    const cartbot_jwt_key_t  *key;       /* the key that verified it */
    yajl_val                  header;    /* free: cartbot_jwt_result_free */
    yajl_val                  claims;
    cartbot_str_t             payload;   /* raw claims JSON text ($jwt_
                                            payload), NUL-terminated */
    cartbot_str_t             kid;       /* NUL-terminated; len 0: none */
} cartbot_jwt_result_t;


/* algorithm names as in JWA ("HS256", ..., "EdDSA") */
cartbot_jwt_alg_e cartbot_jwt_alg_from_name(const char *name, size_t len);
const char *cartbot_jwt_alg_name(cartbot_jwt_alg_e alg);

/*
 * An algorithm name or a family for configuration: "HS256" ... "EdDSA",
 * and "HS*", "RS*", "PS*".  Returns the mask, 0 if unknown.
 */
unsigned cartbot_jwt_algs_from_name(const char *name, size_t len);

/* "malformed", "expired", ...: metric labels */
const char *cartbot_jwt_reason_name(cartbot_jwt_reason_e reason);


void cartbot_jwt_keyset_init(cartbot_jwt_keyset_t *ks, cartbot_mem_t *mem);

/* frees every EVP_PKEY and wipes HMAC secrets; the set is then empty */
void cartbot_jwt_keyset_free(cartbot_jwt_keyset_t *ks);

/*
 * Adds a PEM key: "PUBLIC KEY", "RSA PUBLIC KEY", "PRIVATE KEY",
 * "RSA PRIVATE KEY", "EC PRIVATE KEY" or "CERTIFICATE" (its public key).
 * algs: the binding (a mask, see above); 0 takes it from the key where
 * that is unambiguous (EC curve, Ed25519/Ed448) and is refused for RSA,
 * which needs CARTBOT_JWT_ALGS_RS, CARTBOT_JWT_ALGS_PS or one of their
 * algorithms.  kid may be NULL.  Returns 0, or -1 with a reason in err.
 */
int cartbot_jwt_keyset_add_pem(cartbot_jwt_keyset_t *ks, const char *pem,
    size_t len, unsigned algs, const char *kid, char *err, size_t errlen);

/*
 * Adds an HMAC secret (raw bytes).  algs: a subset of CARTBOT_JWT_ALGS_HS;
 * 0 means every HS algorithm whose hash is no longer than the secret.  A
 * secret shorter than the hash of an algorithm it is bound to is refused
 * (RFC 7518 section 3.2): at least 32 bytes for HS256.
 */
int cartbot_jwt_keyset_add_secret(cartbot_jwt_keyset_t *ks,
    const unsigned char *secret, size_t len, unsigned algs, const char *kid,
    char *err, size_t errlen);

/*
 * Adds the keys of a JWKS ({"keys":[...]}) or of a single JWK: kty "oct",
 * "RSA" (n, e), "EC" (crv P-256/P-384/P-521, x, y), "OKP" (crv Ed25519 or
 * Ed448, x); "d" makes EC and OKP keys able to sign.  A key's "alg" binds
 * it; without "alg", oct keys get the HS family (as the secret's length
 * allows), EC and OKP keys the algorithm of their curve, and RSA keys
 * rsa_algs (CARTBOT_JWT_ALGS_RS or _PS; 0 refuses RSA keys without alg).
 * Keys with "use" other than "sig", with "key_ops" lacking "verify" and
 * "sign", with an unknown kty or with an alg that is not a JWS algorithm
 * we know (encryption keys) are skipped, as RFC 7517 section 5 says.  A
 * malformed key of a known kty is an error, and so is a set with no usable
 * key.  Returns the number of keys added, or -1 with a reason in err.
 */
int cartbot_jwt_keyset_add_jwks(cartbot_jwt_keyset_t *ks, const char *json,
    size_t len, unsigned rsa_algs, char *err, size_t errlen);

/* the first key with this kid (kid NULL: the first key); NULL if none */
const cartbot_jwt_key_t *cartbot_jwt_keyset_find(
    const cartbot_jwt_keyset_t *ks, const char *kid, size_t len);


/*
 * Verifies a compact JWS and its claims at time now (seconds since the
 * epoch).  Steps: length; three dot-separated parts in strict base64url
 * (no padding, no other bytes, canonical trailing bits); the header is a
 * JSON object with a known alg (never "none"), no "crit", and no duplicate
 * member names (nor has the payload); the key: the ones whose kid equals
 * the header's, else keys without kid, else (no kid in the header) every
 * key, then only those bound to the header's alg, at most
 * CARTBOT_JWT_MAX_TRIES of them; the signature (ECDSA in the JOSE r || s
 * form of the curve's exact length; HMAC compared in constant time); the
 * claims: a JSON object, exp/nbf/iat NumericDates, then opts.
 * "jwk", "jku", "x5u" and "x5c" header parameters are ignored: keys come
 * only from the key set.
 *
 * mem provides scratch space and result->payload, result->kid.  Returns
 * result->reason (CARTBOT_JWT_OK is 0).  Call cartbot_jwt_result_free()
 * whatever the outcome.
 */
cartbot_jwt_reason_e cartbot_jwt_verify(const cartbot_jwt_keyset_t *ks,
    cartbot_mem_t *mem, const char *token, size_t len,
    const cartbot_jwt_opts_t *opts, time_t now, cartbot_jwt_result_t *result);

void cartbot_jwt_result_free(cartbot_jwt_result_t *result);


/*
 * Signs claims (JSON object text) as a compact JWS appended to out, with
 * the header {"alg":"...","typ":"JWT"} and the key's kid if it has one.
 * alg CARTBOT_JWT_ALG_UNSET means the first algorithm the key is bound
 * to.  The key must be private (an HMAC secret, or a PEM/JWK private key):
 * HS*, RS*, PS*, ES* and EdDSA.  Returns 0, or -1 with a reason in err.
 */
int cartbot_jwt_sign(const cartbot_jwt_key_t *key, cartbot_jwt_alg_e alg,
    const char *claims, size_t len, cartbot_buf_t *out, char *err,
    size_t errlen);

/* appends a random jti: 128 bits from OpenSSL's RNG, base64url */
int cartbot_jwt_jti(cartbot_buf_t *out);


/*
 * The signature primitives under cartbot_jwt_verify() and
 * cartbot_jwt_sign(), over any signing input (RFC 7515 section 5): for
 * JWS that are not JWTs, and for tests with the published vectors.  sig
 * is the raw JWS signature (ECDSA: r || s).  verify returns CARTBOT_JWT_OK,
 * CARTBOT_JWT_ALG_MISMATCH, CARTBOT_JWT_BAD_SIGNATURE or
 * CARTBOT_JWT_INTERNAL.  sign appends the raw signature to out.
 */
cartbot_jwt_reason_e cartbot_jwt_signature_verify(const cartbot_jwt_key_t *key,
    cartbot_jwt_alg_e alg, const unsigned char *input, size_t len,
    const unsigned char *sig, size_t siglen);
int cartbot_jwt_signature_create(const cartbot_jwt_key_t *key,
    cartbot_jwt_alg_e alg, const unsigned char *input, size_t len,
    cartbot_buf_t *out);


/*
 * Decodes the claims of a token WITHOUT verifying it: only for tokens we
 * received from a trusted peer (SurrealDB's /signin answer), to learn when
 * they expire.  Returns a yajl document to free, or NULL.
 */
yajl_val cartbot_jwt_peek_claims(cartbot_mem_t *mem, const char *token,
    size_t len);


#endif /* _CARTBOT_JWT_H_INCLUDED_ */
