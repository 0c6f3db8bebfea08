
/*
 * Cartbot core: JSON Web Tokens.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cartbot_base64.h"
#include "cartbot_jwt.h"


#define CARTBOT_JWT_HMAC        1
#define CARTBOT_JWT_RSA         2
#define CARTBOT_JWT_PSS         3
#define CARTBOT_JWT_EC          4
#define CARTBOT_JWT_ED          5

#define CARTBOT_JWT_MAX_PEM     (1024 * 1024)
#define CARTBOT_JWT_MAX_LEEWAY  ((time_t) 366 * 86400)

/* a DER ECDSA-Sig-Value of P-521: 2 * (2 + 1 + 66) + 3 bytes, rounded up */
#define CARTBOT_JWT_ECDSA_DER   160


typedef struct {
    const char            *name;
    int                    kind;
    const EVP_MD        *(*md)(void);
    size_t                 size;       /* HMAC: hash bytes; EC: coordinate */
    const char            *crv;        /* EC: JWK curve name */
    const char            *group;      /* EC: OpenSSL group name */
} cartbot_jwt_alg_t;


static const cartbot_jwt_alg_t  cartbot_jwt_algs[CARTBOT_JWT_ALG_LAST] = {
    { NULL, 0, NULL, 0, NULL, NULL },
    { "HS256", CARTBOT_JWT_HMAC, EVP_sha256, 32, NULL, NULL },
    { "HS384", CARTBOT_JWT_HMAC, EVP_sha384, 48, NULL, NULL },
    { "HS512", CARTBOT_JWT_HMAC, EVP_sha512, 64, NULL, NULL },
    { "RS256", CARTBOT_JWT_RSA, EVP_sha256, 0, NULL, NULL },
    { "RS384", CARTBOT_JWT_RSA, EVP_sha384, 0, NULL, NULL },
    { "RS512", CARTBOT_JWT_RSA, EVP_sha512, 0, NULL, NULL },
    { "PS256", CARTBOT_JWT_PSS, EVP_sha256, 0, NULL, NULL },
    { "PS384", CARTBOT_JWT_PSS, EVP_sha384, 0, NULL, NULL },
    { "PS512", CARTBOT_JWT_PSS, EVP_sha512, 0, NULL, NULL },
    { "ES256", CARTBOT_JWT_EC, EVP_sha256, 32, "P-256", "prime256v1" },
    { "ES384", CARTBOT_JWT_EC, EVP_sha384, 48, "P-384", "secp384r1" },
    { "ES512", CARTBOT_JWT_EC, EVP_sha512, 66, "P-521", "secp521r1" },
    { "EdDSA", CARTBOT_JWT_ED, NULL, 0, NULL, NULL }
};


static const char  *cartbot_jwt_reasons[CARTBOT_JWT_REASON_LAST] = {
    "ok",
    "malformed",
    "too_large",
    "unsupported",
    "unknown_key",
    "alg_mismatch",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_audience",
    "missing_claim",
    "internal"
};


static const cartbot_jwt_opts_t  cartbot_jwt_default_opts;


static void cartbot_jwt_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int cartbot_jwt_b64_decode(cartbot_mem_t *mem, const char *in,
    size_t len, unsigned char **out, size_t *outlen);
static int cartbot_jwt_bind(cartbot_jwt_key_t *key, unsigned algs,
    char *err, size_t errlen);
static void cartbot_jwt_key_hmac(cartbot_jwt_key_t *key);
static void cartbot_jwt_key_hmac_free(cartbot_jwt_key_t *key);
static int cartbot_jwt_keyset_append(cartbot_jwt_keyset_t *ks,
    cartbot_jwt_key_t *key, const char *kid, size_t kid_len, char *err,
    size_t errlen);
static int cartbot_jwt_pem_label(const char *pem, size_t len,
    cartbot_str_t *label, size_t *start);
static int cartbot_jwt_add_jwk(cartbot_jwt_keyset_t *ks, yajl_val jwk,
    unsigned rsa_algs, size_t n, char *err, size_t errlen);
static int cartbot_jwt_jwk_bytes(cartbot_mem_t *mem, yajl_val jwk,
    const char *name, size_t want, unsigned char **out, size_t *outlen,
    size_t n, char *err, size_t errlen);
static EVP_PKEY *cartbot_jwt_jwk_rsa(cartbot_mem_t *mem, yajl_val jwk,
    size_t n, char *err, size_t errlen);
static EVP_PKEY *cartbot_jwt_jwk_ec(cartbot_mem_t *mem, yajl_val jwk,
    const cartbot_jwt_alg_t *a, int *private, size_t n, char *err,
    size_t errlen);
static EVP_PKEY *cartbot_jwt_jwk_okp(cartbot_mem_t *mem, yajl_val jwk,
    int type, size_t size, int *private, size_t n, char *err, size_t errlen);
static int cartbot_jwt_has(const cartbot_str_t *s, const char *sub);
static int cartbot_jwt_json_object(cartbot_mem_t *mem,
    const unsigned char *text, size_t len, yajl_val *tree);
static int cartbot_jwt_json_dups(cartbot_mem_t *mem, yajl_val v);
static yajl_val cartbot_jwt_json_get(yajl_val obj, const char *key,
    size_t len);
static int cartbot_jwt_str_in(const char *s, const cartbot_str_t *list,
    size_t n);
static size_t cartbot_jwt_candidates(const cartbot_jwt_keyset_t *ks,
    const cartbot_str_t *kid, cartbot_jwt_alg_e alg,
    const cartbot_jwt_key_t **cand, cartbot_jwt_result_t *result);
static cartbot_jwt_reason_e cartbot_jwt_check_claims(yajl_val claims,
    const cartbot_jwt_opts_t *opts, time_t now, const char **detail);
static int cartbot_jwt_numeric_date(yajl_val obj, const char *name,
    int64_t *value);
static cartbot_jwt_reason_e cartbot_jwt_fail(cartbot_jwt_result_t *result,
    cartbot_jwt_reason_e reason, const char *detail);
static EVP_MD_CTX *cartbot_jwt_md_ctx(const cartbot_jwt_key_t *key,
    const cartbot_jwt_alg_t *a, int sign);
static int cartbot_jwt_verify_digest(const cartbot_jwt_key_t *key,
    const cartbot_jwt_alg_t *a, const unsigned char *input, size_t len,
    const unsigned char *sig, size_t siglen);


/* algorithms */

cartbot_jwt_alg_e
cartbot_jwt_alg_from_name(const char *name, size_t len)
{
    int  i;

    for (i = 1; i < CARTBOT_JWT_ALG_LAST; i++) {
        if (strlen(cartbot_jwt_algs[i].name) == len
            && memcmp(cartbot_jwt_algs[i].name, name, len) == 0)
        {
            return (cartbot_jwt_alg_e) i;
        }
    }

    return CARTBOT_JWT_ALG_UNSET;
}


const char *
cartbot_jwt_alg_name(cartbot_jwt_alg_e alg)
{
    if (alg <= CARTBOT_JWT_ALG_UNSET || alg >= CARTBOT_JWT_ALG_LAST) {
        return "none";
    }

    return cartbot_jwt_algs[alg].name;
}


unsigned
cartbot_jwt_algs_from_name(const char *name, size_t len)
{
    cartbot_jwt_alg_e  alg;

    if (len == 3 && name[2] == '*') {
        if (memcmp(name, "HS", 2) == 0) {
            return CARTBOT_JWT_ALGS_HS;
        }

        if (memcmp(name, "RS", 2) == 0) {
            return CARTBOT_JWT_ALGS_RS;
        }

        if (memcmp(name, "PS", 2) == 0) {
            return CARTBOT_JWT_ALGS_PS;
        }

        return 0;
    }

    alg = cartbot_jwt_alg_from_name(name, len);

    return alg ? CARTBOT_JWT_ALG_BIT(alg) : 0;
}


const char *
cartbot_jwt_reason_name(cartbot_jwt_reason_e reason)
{
    if ((unsigned) reason >= CARTBOT_JWT_REASON_LAST) {
        return "internal";
    }

    return cartbot_jwt_reasons[reason];
}


static void
cartbot_jwt_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


/* strict base64url: no padding, alphabet only, canonical trailing bits */

static int
cartbot_jwt_b64_decode(cartbot_mem_t *mem, const char *in, size_t len,
    unsigned char **out, size_t *outlen)
{
    unsigned char  *p;

    if (memchr(in, '=', len) != NULL) {
        return -1;
    }

    p = cartbot_alloc(mem, cartbot_base64_decoded_len(len) + 1);
    if (p == NULL) {
        return -1;
    }

    if (cartbot_base64_decode(p, outlen, in, len, 1) != 0) {
        return -1;
    }

    p[*outlen] = '\0';
    *out = p;

    return 0;
}


/* key sets */

void
cartbot_jwt_keyset_init(cartbot_jwt_keyset_t *ks, cartbot_mem_t *mem)
{
    ks->keys = NULL;
    ks->nkeys = 0;
    ks->nalloc = 0;
    ks->mem = mem;
}


void
cartbot_jwt_keyset_free(cartbot_jwt_keyset_t *ks)
{
    size_t              i;
    cartbot_jwt_key_t  *key;

    for (i = 0; i < ks->nkeys; i++) {
        key = &ks->keys[i];

        EVP_PKEY_free(key->pkey);
        key->pkey = NULL;

        cartbot_jwt_key_hmac_free(key);

        if (key->secret) {
            OPENSSL_cleanse(key->secret, key->secret_len);
            key->secret = NULL;
        }
    }

    ks->nkeys = 0;
}


const cartbot_jwt_key_t *
cartbot_jwt_keyset_find(const cartbot_jwt_keyset_t *ks, const char *kid,
    size_t len)
{
    size_t  i;

    for (i = 0; i < ks->nkeys; i++) {
        if (kid == NULL) {
            return &ks->keys[i];
        }

        if (ks->keys[i].kid && ks->keys[i].kid_len == len
            && memcmp(ks->keys[i].kid, kid, len) == 0)
        {
            return &ks->keys[i];
        }
    }

    return NULL;
}


/*
 * Checks the binding asked for against what the key can do, and sets
 * key->algs.  Refuses an HMAC binding for a public key and the reverse:
 * the algorithm-confusion attacks cannot even be configured.
 */

static int
cartbot_jwt_bind(cartbot_jwt_key_t *key, unsigned algs, char *err,
    size_t errlen)
{
    int          i, type, bits;
    char         group[32];
    size_t       n;
    unsigned     can;
    const char  *what;

    can = 0;
    what = "HMAC secret";

    if (key->pkey == NULL) {
        if (key->secret_len > 65536) {
            cartbot_jwt_error(err, errlen, "HMAC secret longer than 64 KB");
            return -1;
        }

        for (i = CARTBOT_JWT_HS256; i <= CARTBOT_JWT_HS512; i++) {
            if (key->secret_len >= cartbot_jwt_algs[i].size) {
                can |= CARTBOT_JWT_ALG_BIT(i);
            }
        }

        if (can == 0) {
            cartbot_jwt_error(err, errlen, "HMAC secret of %zu bytes is "
                              "too short: at least 32 bytes for HS256",
                              key->secret_len);
            return -1;
        }

        if (algs == 0) {
            algs = can;
        }

        if (algs & ~can & CARTBOT_JWT_ALGS_HS) {
            cartbot_jwt_error(err, errlen, "HMAC secret of %zu bytes is "
                              "shorter than the hash of an algorithm it is "
                              "bound to", key->secret_len);
            return -1;
        }

        goto check;
    }

    type = EVP_PKEY_get_base_id(key->pkey);

    switch (type) {

    case EVP_PKEY_RSA:
        what = "RSA key";

        bits = EVP_PKEY_get_bits(key->pkey);
        if (bits < CARTBOT_JWT_MIN_RSA_BITS) {
            cartbot_jwt_error(err, errlen, "RSA key of %d bits is too "
                              "short: at least %d bits", bits,
                              CARTBOT_JWT_MIN_RSA_BITS);
            return -1;
        }

        if (algs == 0) {
            cartbot_jwt_error(err, errlen, "an RSA key needs its "
                              "algorithms named: RS256, RS*, PS256, PS*...");
            return -1;
        }

        if ((algs & CARTBOT_JWT_ALGS_RS) && (algs & CARTBOT_JWT_ALGS_PS)) {
            cartbot_jwt_error(err, errlen, "an RSA key is bound to RS* or "
                              "to PS*, not to both");
            return -1;
        }

        can = CARTBOT_JWT_ALGS_RS | CARTBOT_JWT_ALGS_PS;
        break;

    case EVP_PKEY_EC:
        what = "EC key";

        if (EVP_PKEY_get_group_name(key->pkey, group, sizeof(group), &n)
            != 1)
        {
            cartbot_jwt_error(err, errlen, "EC key without a named curve");
            return -1;
        }

        for (i = CARTBOT_JWT_ES256; i <= CARTBOT_JWT_ES512; i++) {
            if (strcmp(group, cartbot_jwt_algs[i].group) == 0) {
                can = CARTBOT_JWT_ALG_BIT(i);
            }
        }

        if (can == 0) {
            cartbot_jwt_error(err, errlen, "EC curve %s is not one of "
                              "P-256, P-384, P-521", group);
            return -1;
        }

        break;

    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448:
        what = "EdDSA key";
        can = CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_EDDSA);
        break;

    default:
        cartbot_jwt_error(err, errlen, "unsupported key type %s (RSA-PSS "
                          "keys: use an rsaEncryption key bound to PS*)",
                          OBJ_nid2sn(type));
        return -1;
    }

    if (algs == 0) {
        algs = can;
    }

check:

    if (algs & ~can) {
        for (i = 1; i < CARTBOT_JWT_ALG_LAST; i++) {
            if (algs & ~can & CARTBOT_JWT_ALG_BIT(i)) {
                break;
            }
        }

        cartbot_jwt_error(err, errlen, "%s cannot be used with %s", what,
                          cartbot_jwt_alg_name((cartbot_jwt_alg_e) i));
        return -1;
    }

    key->algs = algs;

    return 0;
}


static int
cartbot_jwt_keyset_append(cartbot_jwt_keyset_t *ks, cartbot_jwt_key_t *key,
    const char *kid, size_t kid_len, char *err, size_t errlen)
{
    size_t              nalloc;
    cartbot_jwt_key_t  *keys;

    if (ks->nkeys >= CARTBOT_JWT_MAX_KEYS) {
        cartbot_jwt_error(err, errlen, "more than %d keys",
                          CARTBOT_JWT_MAX_KEYS);
        return -1;
    }

    if (kid) {
        key->kid = cartbot_strndup(ks->mem, kid, kid_len);
        if (key->kid == NULL) {
            goto nomem;
        }

        key->kid_len = kid_len;
    }

    if (ks->nkeys == ks->nalloc) {
        nalloc = ks->nalloc ? ks->nalloc * 2 : 4;

        /* pools cannot realloc: the old array is left to its owner */

        keys = cartbot_alloc(ks->mem, nalloc * sizeof(cartbot_jwt_key_t));
        if (keys == NULL) {
            goto nomem;
        }

        if (ks->nkeys) {
            memcpy(keys, ks->keys, ks->nkeys * sizeof(cartbot_jwt_key_t));
        }

        ks->keys = keys;
        ks->nalloc = nalloc;
    }

    ks->keys[ks->nkeys++] = *key;

    if (key->secret) {
        cartbot_jwt_key_hmac(&ks->keys[ks->nkeys - 1]);
    }

    return 0;

nomem:

    cartbot_jwt_error(err, errlen, "out of memory");
    return -1;
}


/*
 * HMAC (RFC 2104) with its two digests keyed once per bound HS algorithm:
 * the inner one has absorbed K ^ ipad, the outer one K ^ opad.  A
 * verification copies them instead of hashing the key again, and copying
 * digest contexts costs less than duplicating an EVP_MAC context (about
 * 2.2 us against 3.2 us for HS256 over a 250 byte input; HMAC() takes
 * 5.6 us).  Contexts that cannot be made stay NULL and HMAC() is used
 * instead.
 */

static void
cartbot_jwt_key_hmac(cartbot_jwt_key_t *key)
{
    int                        i, j, ok;
    size_t                     n, block;
    EVP_MD_CTX                *ctx[2];
    const EVP_MD              *md;
    unsigned int               klen;
    unsigned char              k[EVP_MAX_MD_SIZE], pad[2][256];
    const unsigned char       *kp;
    const cartbot_jwt_alg_t   *a;

    for (i = 0; i < 3; i++) {
        if (!(key->algs & CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_HS256 + i))) {
            continue;
        }

        a = &cartbot_jwt_algs[CARTBOT_JWT_HS256 + i];
        md = a->md();
        block = (size_t) EVP_MD_get_block_size(md);

        if (block == 0 || block > sizeof(pad[0])) {
            continue;
        }

        /* a key longer than the block is hashed first */

        kp = key->secret;
        n = key->secret_len;

        if (n > block) {
            if (EVP_Digest(kp, n, k, &klen, md, NULL) != 1) {
                ERR_clear_error();
                continue;
            }

            kp = k;
            n = klen;
        }

        memset(pad, 0, sizeof(pad));
        memcpy(pad[0], kp, n);
        memcpy(pad[1], kp, n);

        for (j = 0; j < (int) block; j++) {
            pad[0][j] ^= 0x36;
            pad[1][j] ^= 0x5c;
        }

        ctx[0] = EVP_MD_CTX_new();
        ctx[1] = EVP_MD_CTX_new();

        ok = ctx[0] != NULL && ctx[1] != NULL;

        for (j = 0; ok && j < 2; j++) {
            ok = EVP_DigestInit_ex(ctx[j], md, NULL) == 1
                 && EVP_DigestUpdate(ctx[j], pad[j], block) == 1;
        }

        OPENSSL_cleanse(pad, sizeof(pad));
        OPENSSL_cleanse(k, sizeof(k));

        if (!ok) {
            EVP_MD_CTX_free(ctx[0]);
            EVP_MD_CTX_free(ctx[1]);
            ERR_clear_error();
            continue;
        }

        key->hmac[i][0] = ctx[0];
        key->hmac[i][1] = ctx[1];
    }
}


static void
cartbot_jwt_key_hmac_free(cartbot_jwt_key_t *key)
{
    int  i;

    for (i = 0; i < 3; i++) {
        EVP_MD_CTX_free(key->hmac[i][0]);
        EVP_MD_CTX_free(key->hmac[i][1]);
        key->hmac[i][0] = NULL;
        key->hmac[i][1] = NULL;
    }
}


/* the HMAC of input with the key's digests for alg, or with HMAC() */

static int
cartbot_jwt_hmac(const cartbot_jwt_key_t *key, const cartbot_jwt_alg_t *a,
    cartbot_jwt_alg_e alg, const unsigned char *input, size_t len,
    unsigned char *mac, unsigned int *maclen)
{
    int             ok;
    EVP_MD_CTX     *ctx, *const *keyed;
    unsigned int    n;
    unsigned char   inner[EVP_MAX_MD_SIZE];

    keyed = key->hmac[alg - CARTBOT_JWT_HS256];

    if (keyed[0] == NULL) {
        return HMAC(a->md(), key->secret, (int) key->secret_len, input, len,
                    mac, maclen)
               != NULL;
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return 0;
    }

    n = 0;

    ok = EVP_MD_CTX_copy_ex(ctx, keyed[0]) == 1
         && EVP_DigestUpdate(ctx, input, len) == 1
         && EVP_DigestFinal_ex(ctx, inner, &n) == 1
         && EVP_MD_CTX_copy_ex(ctx, keyed[1]) == 1
         && EVP_DigestUpdate(ctx, inner, n) == 1
         && EVP_DigestFinal_ex(ctx, mac, maclen) == 1;

    EVP_MD_CTX_free(ctx);

    return ok;
}


int
cartbot_jwt_keyset_add_secret(cartbot_jwt_keyset_t *ks,
    const unsigned char *secret, size_t len, unsigned algs, const char *kid,
    char *err, size_t errlen)
{
    cartbot_jwt_key_t  key;

    memset(&key, 0, sizeof(cartbot_jwt_key_t));

    if (algs & ~CARTBOT_JWT_ALGS_HS) {
        cartbot_jwt_error(err, errlen, "an HMAC secret is bound to HS "
                          "algorithms only");
        return -1;
    }

    key.secret_len = len;
    key.private = 1;

    if (cartbot_jwt_bind(&key, algs, err, errlen) != 0) {
        return -1;
    }

    key.secret = cartbot_alloc(ks->mem, len);
    if (key.secret == NULL) {
        cartbot_jwt_error(err, errlen, "out of memory");
        return -1;
    }

    memcpy(key.secret, secret, len);

    if (cartbot_jwt_keyset_append(ks, &key, kid, kid ? strlen(kid) : 0, err,
                                  errlen)
        != 0)
    {
        OPENSSL_cleanse(key.secret, len);
        return -1;
    }

    return 0;
}


/*
 * The label of the first "-----BEGIN <label>-----" line, and where that
 * line starts; "EC PARAMETERS" blocks ("openssl ecparam -genkey" writes
 * one before the key) are skipped.
 */

static int
cartbot_jwt_pem_label(const char *pem, size_t len, cartbot_str_t *label,
    size_t *start)
{
    size_t              i, j;
    static const char   begin[] = "-----BEGIN ";

    for (i = 0; i + sizeof(begin) - 1 <= len; i++) {
        if (memcmp(pem + i, begin, sizeof(begin) - 1) != 0) {
            continue;
        }

        *start = i;
        i += sizeof(begin) - 1;

        for (j = i; j + 5 <= len && j - i < 64; j++) {
            if (memcmp(pem + j, "-----", 5) == 0) {
                break;
            }
        }

        if (j + 5 > len || j - i >= 64) {
            return -1;
        }

        label->data = pem + i;
        label->len = j - i;

        if (!cartbot_str_eq(label, "EC PARAMETERS")) {
            return 0;
        }
    }

    return -1;
}


static int
cartbot_jwt_has(const cartbot_str_t *s, const char *sub)
{
    size_t  i, n;

    n = strlen(sub);

    for (i = 0; i + n <= s->len; i++) {
        if (memcmp(s->data + i, sub, n) == 0) {
            return 1;
        }
    }

    return 0;
}


int
cartbot_jwt_keyset_add_pem(cartbot_jwt_keyset_t *ks, const char *pem,
    size_t len, unsigned algs, const char *kid, char *err, size_t errlen)
{
    BIO                *bio;
    X509               *x509;
    size_t              start;
    EVP_PKEY           *pkey;
    cartbot_str_t       label;
    cartbot_jwt_key_t   key;
    OSSL_DECODER_CTX   *dctx;

    memset(&key, 0, sizeof(cartbot_jwt_key_t));

    if (len > CARTBOT_JWT_MAX_PEM) {
        cartbot_jwt_error(err, errlen, "PEM text is too large");
        return -1;
    }

    if (cartbot_jwt_pem_label(pem, len, &label, &start) != 0) {
        cartbot_jwt_error(err, errlen, "no \"-----BEGIN\" line: not PEM");
        return -1;
    }

    /* an encrypted key would need a passphrase: refused, never prompted */

    if (cartbot_jwt_has(&label, "ENCRYPTED")) {
        cartbot_jwt_error(err, errlen, "encrypted private keys are not "
                          "supported");
        return -1;
    }

    bio = BIO_new_mem_buf(pem + start, (int) (len - start));
    if (bio == NULL) {
        cartbot_jwt_error(err, errlen, "out of memory");
        return -1;
    }

    pkey = NULL;

    if (cartbot_str_eq(&label, "CERTIFICATE")) {
        x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);

        if (x509) {
            pkey = X509_get_pubkey(x509);
            X509_free(x509);
        }

    } else {
        dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, 0,
                                             NULL, NULL);
        if (dctx) {
            (void) OSSL_DECODER_from_bio(dctx, bio);
            OSSL_DECODER_CTX_free(dctx);
        }

        key.private = (label.len >= 11
                       && memcmp(label.data + label.len - 11, "PRIVATE KEY",
                                 11) == 0);
    }

    BIO_free(bio);
    ERR_clear_error();

    if (pkey == NULL) {
        cartbot_jwt_error(err, errlen, "cannot read the PEM \"%.*s\"",
                          (int) label.len, label.data);
        return -1;
    }

    key.pkey = pkey;

    if (cartbot_jwt_bind(&key, algs, err, errlen) != 0
        || cartbot_jwt_keyset_append(ks, &key, kid, kid ? strlen(kid) : 0,
                                     err, errlen)
           != 0)
    {
        EVP_PKEY_free(pkey);
        return -1;
    }

    return 0;
}


int
cartbot_jwt_keyset_add_jwks(cartbot_jwt_keyset_t *ks, const char *json,
    size_t len, unsigned rsa_algs, char *err, size_t errlen)
{
    int                 rc, added;
    char                msg[256];
    size_t              i, start;
    yajl_val            doc, keys;
    cartbot_jwt_key_t  *key;

    if ((rsa_algs & ~(CARTBOT_JWT_ALGS_RS | CARTBOT_JWT_ALGS_PS))
        || ((rsa_algs & CARTBOT_JWT_ALGS_RS)
            && (rsa_algs & CARTBOT_JWT_ALGS_PS)))
    {
        cartbot_jwt_error(err, errlen, "the default for RSA keys must be "
                          "RS algorithms or PS algorithms");
        return -1;
    }

    doc = cartbot_json_parse(json, len, msg, sizeof(msg));
    if (doc == NULL) {
        cartbot_jwt_error(err, errlen, "JWKS is not JSON: %s", msg);
        return -1;
    }

    start = ks->nkeys;
    added = 0;
    msg[0] = '\0';

    keys = cartbot_json_get(doc, "keys");

    if (YAJL_IS_ARRAY(keys)) {
        for (i = 0; i < keys->u.array.len; i++) {
            rc = cartbot_jwt_add_jwk(ks, keys->u.array.values[i], rsa_algs,
                                     i, msg, sizeof(msg));
            if (rc < 0) {
                goto failed;
            }

            added += rc;
        }

    } else if (keys == NULL && cartbot_json_get(doc, "kty") != NULL) {
        rc = cartbot_jwt_add_jwk(ks, doc, rsa_algs, 0, msg, sizeof(msg));
        if (rc < 0) {
            goto failed;
        }

        added = rc;

    } else {
        snprintf(msg, sizeof(msg), "not a JWKS: no \"keys\" array");
        goto failed;
    }

    if (added == 0) {
        snprintf(msg, sizeof(msg), "JWKS has no usable signing key");
        goto failed;
    }

    cartbot_json_free(doc);

    return added;

failed:

    /* all or nothing: the keys of this set added so far are removed */

    for (i = start; i < ks->nkeys; i++) {
        key = &ks->keys[i];

        EVP_PKEY_free(key->pkey);
        cartbot_jwt_key_hmac_free(key);

        if (key->secret) {
            OPENSSL_cleanse(key->secret, key->secret_len);
        }
    }

    ks->nkeys = start;

    cartbot_json_free(doc);
    ERR_clear_error();

    cartbot_jwt_error(err, errlen, "%s", msg);

    return -1;
}


/* 1: added, 0: skipped (not a signing key we know), -1: error */

static int
cartbot_jwt_add_jwk(cartbot_jwt_keyset_t *ks, yajl_val jwk,
    unsigned rsa_algs, size_t n, char *err, size_t errlen)
{
    int                        private, type;
    size_t                     i, size;
    unsigned                   algs;
    yajl_val                   v;
    EVP_PKEY                  *pkey;
    const char                *kty, *kid, *crv;
    cartbot_jwt_alg_e          alg;
    cartbot_jwt_key_t          key;
    const cartbot_jwt_alg_t   *a;

    memset(&key, 0, sizeof(cartbot_jwt_key_t));

    if (!YAJL_IS_OBJECT(jwk)) {
        cartbot_jwt_error(err, errlen, "JWKS key %zu is not an object", n);
        return -1;
    }

    kty = cartbot_json_get_string(jwk, "kty");
    if (kty == NULL) {
        cartbot_jwt_error(err, errlen, "JWKS key %zu has no \"kty\"", n);
        return -1;
    }

    v = cartbot_json_get(jwk, "kid");
    if (v != NULL && !YAJL_IS_STRING(v)) {
        cartbot_jwt_error(err, errlen, "JWKS key %zu: \"kid\" is not a "
                          "string", n);
        return -1;
    }

    kid = v ? v->u.string : NULL;

    v = cartbot_json_get(jwk, "use");
    if (v != NULL) {
        if (!YAJL_IS_STRING(v)) {
            cartbot_jwt_error(err, errlen, "JWKS key %zu: \"use\" is not a "
                              "string", n);
            return -1;
        }

        if (strcmp(v->u.string, "sig") != 0) {
            return 0;
        }
    }

    v = cartbot_json_get(jwk, "key_ops");
    if (v != NULL) {
        if (!YAJL_IS_ARRAY(v)) {
            cartbot_jwt_error(err, errlen, "JWKS key %zu: \"key_ops\" is "
                              "not an array", n);
            return -1;
        }

        for (i = 0; i < v->u.array.len; i++) {
            if (YAJL_IS_STRING(v->u.array.values[i])
                && (strcmp(v->u.array.values[i]->u.string, "verify") == 0
                    || strcmp(v->u.array.values[i]->u.string, "sign") == 0))
            {
                break;
            }
        }

        if (i == v->u.array.len) {
            return 0;
        }
    }

    algs = 0;

    v = cartbot_json_get(jwk, "alg");
    if (v != NULL) {
        if (!YAJL_IS_STRING(v)) {
            cartbot_jwt_error(err, errlen, "JWKS key %zu: \"alg\" is not a "
                              "string", n);
            return -1;
        }

        alg = cartbot_jwt_alg_from_name(v->u.string, strlen(v->u.string));

        if (alg == CARTBOT_JWT_ALG_UNSET) {
            /* an encryption key, or a signature algorithm we lack */
            return 0;
        }

        algs = CARTBOT_JWT_ALG_BIT(alg);
    }

    private = 0;

    if (strcmp(kty, "oct") == 0) {
        if (cartbot_jwt_jwk_bytes(ks->mem, jwk, "k", 0, &key.secret,
                                  &key.secret_len, n, err, errlen)
            != 0)
        {
            return -1;
        }

        key.private = 1;

        if (cartbot_jwt_bind(&key, algs, err, errlen) != 0) {
            goto failed;
        }

        if (cartbot_jwt_keyset_append(ks, &key, kid, kid ? strlen(kid) : 0,
                                      err, errlen)
            != 0)
        {
            goto failed;
        }

        return 1;
    }

    if (strcmp(kty, "RSA") == 0) {
        if (algs == 0) {
            algs = rsa_algs;
        }

        pkey = cartbot_jwt_jwk_rsa(ks->mem, jwk, n, err, errlen);

    } else if (strcmp(kty, "EC") == 0) {
        crv = cartbot_json_get_string(jwk, "crv");
        if (crv == NULL) {
            cartbot_jwt_error(err, errlen, "JWKS key %zu has no \"crv\"", n);
            return -1;
        }

        a = NULL;

        for (i = CARTBOT_JWT_ES256; i <= CARTBOT_JWT_ES512; i++) {
            if (strcmp(crv, cartbot_jwt_algs[i].crv) == 0) {
                a = &cartbot_jwt_algs[i];
            }
        }

        if (a == NULL) {
            return 0;
        }

        pkey = cartbot_jwt_jwk_ec(ks->mem, jwk, a, &private, n, err, errlen);

    } else if (strcmp(kty, "OKP") == 0) {
        crv = cartbot_json_get_string(jwk, "crv");
        if (crv == NULL) {
            cartbot_jwt_error(err, errlen, "JWKS key %zu has no \"crv\"", n);
            return -1;
        }

        if (strcmp(crv, "Ed25519") == 0) {
            type = EVP_PKEY_ED25519;
            size = 32;

        } else if (strcmp(crv, "Ed448") == 0) {
            type = EVP_PKEY_ED448;
            size = 57;

        } else {
            /* X25519, X448: key agreement, not signatures */
            return 0;
        }

        pkey = cartbot_jwt_jwk_okp(ks->mem, jwk, type, size, &private, n,
                                   err, errlen);

    } else {
        return 0;
    }

    if (pkey == NULL) {
        return -1;
    }

    key.pkey = pkey;
    key.private = private;

    if (cartbot_jwt_bind(&key, algs, err, errlen) != 0
        || cartbot_jwt_keyset_append(ks, &key, kid, kid ? strlen(kid) : 0,
                                     err, errlen)
           != 0)
    {
        goto failed;
    }

    return 1;

failed:

    if (key.secret) {
        OPENSSL_cleanse(key.secret, key.secret_len);
    }

    EVP_PKEY_free(key.pkey);

    return -1;
}


/* a base64url member of a JWK; want 0: any length but empty */

static int
cartbot_jwt_jwk_bytes(cartbot_mem_t *mem, yajl_val jwk, const char *name,
    size_t want, unsigned char **out, size_t *outlen, size_t n, char *err,
    size_t errlen)
{
    const char  *s;

    s = cartbot_json_get_string(jwk, name);
    if (s == NULL) {
        cartbot_jwt_error(err, errlen, "JWKS key %zu has no \"%s\"", n, name);
        return -1;
    }

    if (cartbot_jwt_b64_decode(mem, s, strlen(s), out, outlen) != 0) {
        cartbot_jwt_error(err, errlen, "JWKS key %zu: \"%s\" is not "
                          "base64url", n, name);
        return -1;
    }

    if (*outlen == 0 || (want && *outlen != want)) {
        cartbot_jwt_error(err, errlen, "JWKS key %zu: \"%s\" has a wrong "
                          "length", n, name);
        return -1;
    }

    return 0;
}


static EVP_PKEY *
cartbot_jwt_jwk_rsa(cartbot_mem_t *mem, yajl_val jwk, size_t n, char *err,
    size_t errlen)
{
    size_t           nlen, elen;
    BIGNUM          *bn, *be;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *ctx;
    unsigned char   *nb, *eb;
    OSSL_PARAM_BLD  *bld;

    if (cartbot_jwt_jwk_bytes(mem, jwk, "n", 0, &nb, &nlen, n, err, errlen)
        != 0
        || cartbot_jwt_jwk_bytes(mem, jwk, "e", 0, &eb, &elen, n, err,
                                 errlen)
           != 0)
    {
        return NULL;
    }

    pkey = NULL;
    params = NULL;
    ctx = NULL;

    bn = BN_bin2bn(nb, (int) nlen, NULL);
    be = BN_bin2bn(eb, (int) elen, NULL);
    bld = OSSL_PARAM_BLD_new();

    if (bn == NULL || be == NULL || bld == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
    {
        goto failed;
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        goto failed;
    }

    EVP_PKEY_CTX_free(ctx);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    if (ctx == NULL || EVP_PKEY_public_check(ctx) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

failed:

    if (pkey == NULL) {
        cartbot_jwt_error(err, errlen, "JWKS key %zu is not a valid RSA "
                          "public key", n);
    }

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    ERR_clear_error();

    return pkey;
}


static EVP_PKEY *
cartbot_jwt_jwk_ec(cartbot_mem_t *mem, yajl_val jwk,
    const cartbot_jwt_alg_t *a, int *private, size_t n, char *err,
    size_t errlen)
{
    size_t           len, dlen;
    BIGNUM          *bd;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *ctx;
    unsigned char   *x, *y, *d, *pub;
    OSSL_PARAM_BLD  *bld;

    if (cartbot_jwt_jwk_bytes(mem, jwk, "x", a->size, &x, &len, n, err,
                              errlen)
        != 0
        || cartbot_jwt_jwk_bytes(mem, jwk, "y", a->size, &y, &len, n, err,
                                 errlen)
           != 0)
    {
        return NULL;
    }

    d = NULL;
    dlen = 0;

    if (cartbot_json_get(jwk, "d") != NULL
        && cartbot_jwt_jwk_bytes(mem, jwk, "d", a->size, &d, &dlen, n, err,
                                 errlen)
           != 0)
    {
        return NULL;
    }

    pub = cartbot_alloc(mem, 1 + 2 * a->size);
    if (pub == NULL) {
        cartbot_jwt_error(err, errlen, "out of memory");
        return NULL;
    }

    /* SEC 1 uncompressed point: 04 || x || y */

    pub[0] = 0x04;
    memcpy(pub + 1, x, a->size);
    memcpy(pub + 1 + a->size, y, a->size);

    pkey = NULL;
    params = NULL;
    ctx = NULL;
    bd = NULL;

    bld = OSSL_PARAM_BLD_new();

    if (bld == NULL
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                            a->group, 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                             pub, 1 + 2 * a->size))
    {
        goto failed;
    }

    if (d) {
        bd = BN_secure_new();

        if (bd == NULL || BN_bin2bn(d, (int) dlen, bd) == NULL
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd))
        {
            goto failed;
        }
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

    if (params == NULL || ctx == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey,
                             d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                             params)
           != 1)
    {
        goto failed;
    }

    EVP_PKEY_CTX_free(ctx);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    /* the point is on the curve; with d, d matches it */

    if (ctx == NULL
        || (d ? EVP_PKEY_pairwise_check(ctx) : EVP_PKEY_public_check(ctx))
           != 1)
    {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }

failed:

    if (pkey == NULL) {
        cartbot_jwt_error(err, errlen, "JWKS key %zu is not a valid %s key",
                          n, a->crv);
    }

    *private = (d != NULL);

    if (d) {
        OPENSSL_cleanse(d, dlen);
    }

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bd);
    ERR_clear_error();

    return pkey;
}


static EVP_PKEY *
cartbot_jwt_jwk_okp(cartbot_mem_t *mem, yajl_val jwk, int type, size_t size,
    int *private, size_t n, char *err, size_t errlen)
{
    size_t          len, dlen;
    EVP_PKEY       *pkey;
    unsigned char  *x, *d, pub[57];

    if (cartbot_jwt_jwk_bytes(mem, jwk, "x", size, &x, &len, n, err, errlen)
        != 0)
    {
        return NULL;
    }

    *private = 0;

    if (cartbot_json_get(jwk, "d") == NULL) {
        pkey = EVP_PKEY_new_raw_public_key(type, NULL, x, size);
        goto done;
    }

    if (cartbot_jwt_jwk_bytes(mem, jwk, "d", size, &d, &dlen, n, err, errlen)
        != 0)
    {
        return NULL;
    }

    pkey = EVP_PKEY_new_raw_private_key(type, NULL, d, size);

    OPENSSL_cleanse(d, dlen);

    len = sizeof(pub);

    if (pkey != NULL
        && (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1
            || len != size || memcmp(pub, x, size) != 0))
    {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        cartbot_jwt_error(err, errlen, "JWKS key %zu: \"d\" does not match "
                          "\"x\"", n);
        return NULL;
    }

    *private = 1;

done:

    if (pkey == NULL) {
        ERR_clear_error();
        cartbot_jwt_error(err, errlen, "JWKS key %zu is not a valid OKP key",
                          n);
    }

    return pkey;
}


/* JSON */

/*
 * Parses JSON text that must be an object without duplicate member names
 * at any depth (RFC 7515 section 5.2, RFC 7519 section 4) and without
 * "\u0000", which would cut a yajl string short: what we check and what
 * the issuer signed must not differ.  Returns 0, -1: not a JSON object,
 * -2: no memory, -3: a duplicate name or "\u0000".
 */

static int
cartbot_jwt_json_object(cartbot_mem_t *mem, const unsigned char *text,
    size_t len, yajl_val *tree)
{
    int          rc;
    char         err[64];
    size_t       i;
    yajl_val     v;
    const char  *s;

    s = (const char *) text;

    for (i = 0; i + 1 < len; i++) {
        if (s[i] != '\\') {
            continue;
        }

        if (s[i + 1] == 'u' && i + 6 <= len
            && memcmp(s + i + 2, "0000", 4) == 0)
        {
            return -3;
        }

        i++;
    }

    v = cartbot_json_parse(s, len, err, sizeof(err));

    if (!YAJL_IS_OBJECT(v)) {
        cartbot_json_free(v);
        return -1;
    }

    rc = cartbot_jwt_json_dups(mem, v);
    if (rc != 0) {
        cartbot_json_free(v);
        return (rc > 0) ? -3 : -2;
    }

    *tree = v;

    return 0;
}


/*
 * 1: an object has a member name twice, 0: none has, -1: no memory.
 * Small objects are checked pair by pair, larger ones through an open
 * addressing table; depth is bounded by CARTBOT_JSON_MAX_DEPTH.
 */

static int
cartbot_jwt_json_dups(cartbot_mem_t *mem, yajl_val v)
{
    int                    rc;
    size_t                 i, j, n, size, h;
    const char           **slots, *k;
    const unsigned char   *p;

    if (YAJL_IS_ARRAY(v)) {
        for (i = 0; i < v->u.array.len; i++) {
            rc = cartbot_jwt_json_dups(mem, v->u.array.values[i]);
            if (rc != 0) {
                return rc;
            }
        }

        return 0;
    }

    if (!YAJL_IS_OBJECT(v)) {
        return 0;
    }

    n = v->u.object.len;

    if (n <= 8) {
        for (i = 1; i < n; i++) {
            for (j = 0; j < i; j++) {
                if (strcmp(v->u.object.keys[i], v->u.object.keys[j]) == 0) {
                    return 1;
                }
            }
        }

    } else {
        size = 16;

        while (size < 2 * n) {
            size *= 2;
        }

        slots = cartbot_alloc(mem, size * sizeof(const char *));
        if (slots == NULL) {
            return -1;
        }

        memset(slots, 0, size * sizeof(const char *));

        for (i = 0; i < n; i++) {
            k = v->u.object.keys[i];

            /* FNV-1a */

            h = 2166136261u;

            for (p = (const unsigned char *) k; *p; p++) {
                h = (h ^ *p) * 16777619u;
            }

            for (j = h & (size - 1); slots[j]; j = (j + 1) & (size - 1)) {
                if (strcmp(slots[j], k) == 0) {
                    return 1;
                }
            }

            slots[j] = k;
        }
    }

    for (i = 0; i < n; i++) {
        rc = cartbot_jwt_json_dups(mem, v->u.object.values[i]);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


static yajl_val
cartbot_jwt_json_get(yajl_val obj, const char *key, size_t len)
{
    size_t       i;
    const char  *k;

    for (i = 0; i < obj->u.object.len; i++) {
        k = obj->u.object.keys[i];

        if (strlen(k) == len && memcmp(k, key, len) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


static int
cartbot_jwt_str_in(const char *s, const cartbot_str_t *list, size_t n)
{
    size_t  i, len;

    len = strlen(s);

    for (i = 0; i < n; i++) {
        if (list[i].len == len && memcmp(list[i].data, s, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* verification */

static cartbot_jwt_reason_e
cartbot_jwt_fail(cartbot_jwt_result_t *result, cartbot_jwt_reason_e reason,
    const char *detail)
{
    /* a failed check may leave errors that nginx would log later */

    ERR_clear_error();

    result->reason = reason;
    result->detail = detail;
    result->key = NULL;

    return reason;
}


cartbot_jwt_reason_e
cartbot_jwt_verify(const cartbot_jwt_keyset_t *ks, cartbot_mem_t *mem,
    const char *token, size_t len, const cartbot_jwt_opts_t *opts, time_t now,
    cartbot_jwt_result_t *result)
{
    int                        rc;
    size_t                     i, n, dots, max, hlen, plen, slen;
    yajl_val                   header, claims, v;
    const char                *dot1, *dot2, *detail;
    unsigned char             *htext, *ptext, *sig;
    cartbot_jwt_alg_e          alg;
    cartbot_jwt_reason_e       reason;
    const cartbot_jwt_key_t   *cand[CARTBOT_JWT_MAX_TRIES];

    memset(result, 0, sizeof(cartbot_jwt_result_t));
    result->kid.data = "";

    if (opts == NULL) {
        opts = &cartbot_jwt_default_opts;
    }

    max = opts->max_len ? opts->max_len : CARTBOT_JWT_MAX_LEN;

    if (len > max) {
        return cartbot_jwt_fail(result, CARTBOT_JWT_TOO_LARGE,
                                "the token is too large");
    }

    if (len == 0) {
        return cartbot_jwt_fail(result, CARTBOT_JWT_MALFORMED,
                                "the token is empty");
    }

    dots = 0;
    dot1 = NULL;
    dot2 = NULL;

    for (i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (dots == 0) {
                dot1 = token + i;

            } else if (dots == 1) {
                dot2 = token + i;
            }

            dots++;
        }
    }

    if (dots == 4) {
        return cartbot_jwt_fail(result, CARTBOT_JWT_UNSUPPORTED,
                                "encrypted tokens (JWE) are not supported");
    }

    if (dots != 2) {
        return cartbot_jwt_fail(result, CARTBOT_JWT_MALFORMED,
                                "a token has three parts separated by dots");
    }

    if (dot1 == token || dot2 == dot1 + 1) {
        return cartbot_jwt_fail(result, CARTBOT_JWT_MALFORMED,
                                "the header or the payload is empty");
    }

    if (cartbot_jwt_b64_decode(mem, token, (size_t) (dot1 - token), &htext,
                               &hlen)
        != 0)
    {
        return cartbot_jwt_fail(result, CARTBOT_JWT_MALFORMED,
                                "the header is not base64url");
    }

    if (cartbot_jwt_b64_decode(mem, dot1 + 1, (size_t) (dot2 - dot1 - 1),
                               &ptext, &plen)
        != 0)
    {
        return cartbot_jwt_fail(result, CARTBOT_JWT_MALFORMED,
                                "the payload is not base64url");
    }

    if (cartbot_jwt_b64_decode(mem, dot2 + 1,
                               (size_t) (token + len - dot2 - 1), &sig, &slen)
        != 0)
    {
        return cartbot_jwt_fail(result, CARTBOT_JWT_MALFORMED,
                                "the signature is not base64url");
    }

    rc = cartbot_jwt_json_object(mem, htext, hlen, &header);

    if (rc == -2) {
        return cartbot_jwt_fail(result, CARTBOT_JWT_INTERNAL,
                                "out of memory");
    }

    if (rc != 0) {
        return cartbot_jwt_fail(result, CARTBOT_JWT_MALFORMED,
                                (rc == -1)
                                ? "the header is not a JSON object"
                                : "the header repeats a name or holds NUL");
    }

    v = cartbot_json_get(header, "kid");

    if (v != NULL) {
        if (!YAJL_IS_STRING(v)) {
            reason = CARTBOT_JWT_MALFORMED;
            detail = "the kid is not a string";
            goto failed;
        }

        result->kid.len = strlen(v->u.string);
        result->kid.data = cartbot_strndup(mem, v->u.string, result->kid.len);

        if (result->kid.data == NULL) {
            result->kid.data = "";
            result->kid.len = 0;
            reason = CARTBOT_JWT_INTERNAL;
            detail = "out of memory";
            goto failed;
        }
    }

    v = cartbot_json_get(header, "alg");

    if (!YAJL_IS_STRING(v)) {
        reason = CARTBOT_JWT_MALFORMED;
        detail = "the header has no alg";
        goto failed;
    }

    alg = cartbot_jwt_alg_from_name(v->u.string, strlen(v->u.string));

    if (alg == CARTBOT_JWT_ALG_UNSET) {
        reason = CARTBOT_JWT_UNSUPPORTED;
        detail = (strcasecmp(v->u.string, "none") == 0)
                 ? "unsigned tokens (alg none) are never accepted"
                 : "the alg is not supported";
        goto failed;
    }

    result->alg = alg;

    /* we understand no extension, so any critical one is refused */

    if (cartbot_json_get(header, "crit") != NULL) {
        reason = CARTBOT_JWT_UNSUPPORTED;
        detail = "critical header extensions are not supported";
        goto failed;
    }

    v = cartbot_json_get(header, "typ");

    if (v != NULL && !YAJL_IS_STRING(v)) {
        reason = CARTBOT_JWT_MALFORMED;
        detail = "the typ is not a string";
        goto failed;
    }

    n = cartbot_jwt_candidates(ks, cartbot_json_get(header, "kid")
                                   ? &result->kid : NULL,
                               alg, cand, result);
    if (n == 0) {
        reason = result->reason;
        detail = result->detail;
        goto failed;
    }

    reason = CARTBOT_JWT_BAD_SIGNATURE;

    for (i = 0; i < n; i++) {
        switch (cartbot_jwt_signature_verify(cand[i], alg,
                                             (const unsigned char *) token,
                                             (size_t) (dot2 - token), sig,
                                             slen))
        {
        case CARTBOT_JWT_OK:
            result->key = cand[i];
            break;

        case CARTBOT_JWT_INTERNAL:
            reason = CARTBOT_JWT_INTERNAL;
            continue;

        default:
            continue;
        }

        break;
    }

    if (result->key == NULL) {
        detail = (reason == CARTBOT_JWT_INTERNAL)
                 ? "the signature could not be checked"
                 : "the signature is not valid";
        goto failed;
    }

    rc = cartbot_jwt_json_object(mem, ptext, plen, &claims);

    if (rc != 0) {
        reason = (rc == -2) ? CARTBOT_JWT_INTERNAL : CARTBOT_JWT_MALFORMED;
        detail = (rc == -2) ? "out of memory"
                 : (rc == -1) ? "the payload is not a JSON object"
                 : "the payload repeats a name or holds NUL";
        goto failed;
    }

    reason = cartbot_jwt_check_claims(claims, opts, now, &detail);

    if (reason != CARTBOT_JWT_OK) {
        cartbot_json_free(claims);
        goto failed;
    }

    result->reason = CARTBOT_JWT_OK;
    result->detail = "the token is valid";
    result->header = header;
    result->claims = claims;
    result->payload.data = (const char *) ptext;
    result->payload.len = plen;

    return CARTBOT_JWT_OK;

failed:

    cartbot_json_free(header);

    return cartbot_jwt_fail(result, reason, detail);
}


void
cartbot_jwt_result_free(cartbot_jwt_result_t *result)
{
    cartbot_json_free(result->header);
    cartbot_json_free(result->claims);

    result->header = NULL;
    result->claims = NULL;
}


/*
 * The keys that may verify a token: those with its kid, else those without
 * a kid (a key configured without kid accepts any), or every key when the
 * token names none; then those bound to its alg.  Sets the reason when
 * there are none, or too many to try.
 */

static size_t
cartbot_jwt_candidates(const cartbot_jwt_keyset_t *ks,
    const cartbot_str_t *kid, cartbot_jwt_alg_e alg,
    const cartbot_jwt_key_t **cand, cartbot_jwt_result_t *result)
{
    int                       pass;
    size_t                    i, n, known;
    unsigned                  bit;
    const cartbot_jwt_key_t  *key;

    bit = CARTBOT_JWT_ALG_BIT(alg);
    n = 0;
    known = 0;

    for (pass = 0; pass < 2 && known == 0; pass++) {

        for (i = 0; i < ks->nkeys; i++) {
            key = &ks->keys[i];

            if (kid != NULL) {
                if (pass == 0
                    && (key->kid == NULL || key->kid_len != kid->len
                        || memcmp(key->kid, kid->data, kid->len) != 0))
                {
                    continue;
                }

                if (pass == 1 && key->kid != NULL) {
                    continue;
                }
            }

            known++;

            if (key->algs & bit) {
                if (n < CARTBOT_JWT_MAX_TRIES) {
                    cand[n] = key;
                }

                n++;
            }
        }

        if (kid == NULL) {
            break;
        }
    }

    if (known == 0) {
        cartbot_jwt_fail(result, CARTBOT_JWT_UNKNOWN_KEY,
                         kid ? "no key has the kid of the token"
                             : "no key is configured");
        return 0;
    }

    if (n == 0) {
        cartbot_jwt_fail(result, CARTBOT_JWT_ALG_MISMATCH,
                         "the key is not for the alg of the token");
        return 0;
    }

    if (n > CARTBOT_JWT_MAX_TRIES) {
        cartbot_jwt_fail(result, CARTBOT_JWT_UNKNOWN_KEY,
                         "too many keys could verify the token: it needs "
                         "a kid");
        return 0;
    }

    return n;
}


/* 1: a NumericDate, 0: absent, -1: present but not a number */

static int
cartbot_jwt_numeric_date(yajl_val obj, const char *name, int64_t *value)
{
    double    d;
    yajl_val  v;

    v = cartbot_json_get(obj, name);

    if (v == NULL) {
        return 0;
    }

    if (!YAJL_IS_NUMBER(v)) {
        return -1;
    }

    if (v->u.number.flags & YAJL_NUMBER_INT_VALID) {
        *value = v->u.number.i;
        return 1;
    }

    if (!(v->u.number.flags & YAJL_NUMBER_DOUBLE_VALID)) {
        return -1;
    }

    /* a fraction of a second is allowed; saturate, then round down */

    d = v->u.number.d;

    if (d >= 9.0e18) {
        *value = INT64_MAX;

    } else if (d <= -9.0e18) {
        *value = INT64_MIN;

    } else {
        *value = (int64_t) d;

        if ((double) *value > d) {
            (*value)--;
        }
    }

    return 1;
}


static cartbot_jwt_reason_e
cartbot_jwt_check_claims(yajl_val claims, const cartbot_jwt_opts_t *opts,
    time_t now, const char **detail)
{
    int       rc;
    size_t    i;
    int64_t   t, exp, nbf, iat, leeway, max_age;
    yajl_val  v, a;

    t = (int64_t) now;

    leeway = opts->leeway;
    if (leeway < 0) {
        leeway = 0;

    } else if (leeway > CARTBOT_JWT_MAX_LEEWAY) {
        leeway = CARTBOT_JWT_MAX_LEEWAY;
    }

    max_age = opts->max_age;
    if (max_age > (int64_t) 100 * 366 * 86400) {
        max_age = (int64_t) 100 * 366 * 86400;
    }

    rc = cartbot_jwt_numeric_date(claims, "exp", &exp);

    if (rc < 0) {
        *detail = "the exp is not a NumericDate";
        return CARTBOT_JWT_MALFORMED;
    }

    if (rc == 0 && !opts->exp_optional) {
        *detail = "the token has no exp";
        return CARTBOT_JWT_MISSING_CLAIM;
    }

    /* RFC 7519 section 4.1.4: valid only before exp */

    if (rc == 1 && t - leeway >= exp) {
        *detail = "the token expired";
        return CARTBOT_JWT_EXPIRED;
    }

    rc = cartbot_jwt_numeric_date(claims, "nbf", &nbf);

    if (rc < 0) {
        *detail = "the nbf is not a NumericDate";
        return CARTBOT_JWT_MALFORMED;
    }

    if (rc == 1 && nbf > t + leeway) {
        *detail = "the token is not valid yet";
        return CARTBOT_JWT_NOT_YET_VALID;
    }

    rc = cartbot_jwt_numeric_date(claims, "iat", &iat);

    if (rc < 0) {
        *detail = "the iat is not a NumericDate";
        return CARTBOT_JWT_MALFORMED;
    }

    if (rc == 0 && max_age > 0) {
        *detail = "the token has no iat";
        return CARTBOT_JWT_MISSING_CLAIM;
    }

    if (rc == 1) {
        if (opts->check_iat && iat > t + leeway) {
            *detail = "the token was issued in the future";
            return CARTBOT_JWT_NOT_YET_VALID;
        }

        if (max_age > 0 && t - leeway - max_age > iat) {
            *detail = "the token is older than the maximum age";
            return CARTBOT_JWT_EXPIRED;
        }
    }

    if (opts->nissuers) {
        v = cartbot_json_get(claims, "iss");

        if (v == NULL) {
            *detail = "the token has no iss";
            return CARTBOT_JWT_MISSING_CLAIM;
        }

        if (!YAJL_IS_STRING(v)
            || !cartbot_jwt_str_in(v->u.string, opts->issuers,
                                   opts->nissuers))
        {
            *detail = "the token is from another issuer";
            return CARTBOT_JWT_WRONG_ISSUER;
        }
    }

    if (opts->naudiences) {
        v = cartbot_json_get(claims, "aud");

        if (v == NULL) {
            *detail = "the token has no aud";
            return CARTBOT_JWT_MISSING_CLAIM;
        }

        if (YAJL_IS_STRING(v)) {
            if (cartbot_jwt_str_in(v->u.string, opts->audiences,
                                   opts->naudiences))
            {
                goto aud_ok;
            }

        } else if (YAJL_IS_ARRAY(v)) {
            for (i = 0; i < v->u.array.len; i++) {
                a = v->u.array.values[i];

                if (YAJL_IS_STRING(a)
                    && cartbot_jwt_str_in(a->u.string, opts->audiences,
                                          opts->naudiences))
                {
                    goto aud_ok;
                }
            }
        }

        *detail = "the token is for another audience";
        return CARTBOT_JWT_WRONG_AUDIENCE;
    }

aud_ok:

    for (i = 0; i < opts->nrequired; i++) {
        if (cartbot_jwt_json_get(claims, opts->required[i].data,
                                 opts->required[i].len)
            == NULL)
        {
            *detail = "the token lacks a required claim";
            return CARTBOT_JWT_MISSING_CLAIM;
        }
    }

    *detail = NULL;

    return CARTBOT_JWT_OK;
}


/* signatures */

static EVP_MD_CTX *
cartbot_jwt_md_ctx(const cartbot_jwt_key_t *key, const cartbot_jwt_alg_t *a,
    int sign)
{
    int            rc;
    EVP_MD_CTX    *ctx;
    EVP_PKEY_CTX  *pctx;
    const EVP_MD  *md;

    md = a->md ? a->md() : NULL;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return NULL;
    }

    pctx = NULL;

    if (sign) {
        rc = EVP_DigestSignInit(ctx, &pctx, md, NULL, key->pkey);

    } else {
        rc = EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key->pkey);
    }

    if (rc != 1) {
        goto failed;
    }

    if (a->kind == CARTBOT_JWT_RSA
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
    {
        goto failed;
    }

    /* RFC 7518 section 3.5: MGF1 with the same hash, salt of hash size */

    if (a->kind == CARTBOT_JWT_PSS
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
            || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
               <= 0))
    {
        goto failed;
    }

    return ctx;

failed:

    EVP_MD_CTX_free(ctx);

    return NULL;
}


/*
 * RSA and ECDSA: the hash, then a check of the signature over it.  In
 * OpenSSL 3.0 this costs about half of EVP_DigestVerifyInit() and
 * EVP_DigestVerify() for a 2048-bit RSA key.  1: valid, 0: not, -1: error.
 */

static int
cartbot_jwt_verify_digest(const cartbot_jwt_key_t *key,
    const cartbot_jwt_alg_t *a, const unsigned char *input, size_t len,
    const unsigned char *sig, size_t siglen)
{
    int             rc;
    unsigned int    dlen;
    EVP_PKEY_CTX   *pctx;
    const EVP_MD   *md;
    unsigned char   digest[EVP_MAX_MD_SIZE];

    md = a->md();

    if (EVP_Digest(input, len, digest, &dlen, md, NULL) != 1) {
        return -1;
    }

    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);

    if (pctx == NULL
        || EVP_PKEY_verify_init(pctx) != 1
        || EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0)
    {
        EVP_PKEY_CTX_free(pctx);
        return -1;
    }

    if (a->kind == CARTBOT_JWT_RSA
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
    {
        EVP_PKEY_CTX_free(pctx);
        return -1;
    }

    /* RFC 7518 section 3.5: MGF1 with the same hash, salt of hash size */

    if (a->kind == CARTBOT_JWT_PSS
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
            || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
               <= 0))
    {
        EVP_PKEY_CTX_free(pctx);
        return -1;
    }

    rc = EVP_PKEY_verify(pctx, sig, siglen, digest, dlen);

    EVP_PKEY_CTX_free(pctx);

    return (rc == 1) ? 1 : 0;
}


cartbot_jwt_reason_e
cartbot_jwt_signature_verify(const cartbot_jwt_key_t *key,
    cartbot_jwt_alg_e alg, const unsigned char *input, size_t len,
    const unsigned char *sig, size_t siglen)
{
    int                        rc, n;
    BIGNUM                    *r, *s;
    ECDSA_SIG                 *es;
    EVP_MD_CTX                *ctx;
    unsigned int               maclen;
    unsigned char              mac[EVP_MAX_MD_SIZE], *p;
    unsigned char              der[CARTBOT_JWT_ECDSA_DER];
    const cartbot_jwt_alg_t   *a;

    if (alg <= CARTBOT_JWT_ALG_UNSET || alg >= CARTBOT_JWT_ALG_LAST
        || !(key->algs & CARTBOT_JWT_ALG_BIT(alg)))
    {
        return CARTBOT_JWT_ALG_MISMATCH;
    }

    a = &cartbot_jwt_algs[alg];

    if (a->kind == CARTBOT_JWT_HMAC) {
        if (key->secret == NULL) {
            return CARTBOT_JWT_ALG_MISMATCH;
        }

        if (!cartbot_jwt_hmac(key, a, alg, input, len, mac, &maclen)) {
            return CARTBOT_JWT_INTERNAL;
        }

        if (siglen != maclen || CRYPTO_memcmp(mac, sig, maclen) != 0) {
            return CARTBOT_JWT_BAD_SIGNATURE;
        }

        return CARTBOT_JWT_OK;
    }

    if (key->pkey == NULL) {
        return CARTBOT_JWT_ALG_MISMATCH;
    }

    if (a->kind == CARTBOT_JWT_EC) {

        /* JOSE sends r || s, each as long as the curve; OpenSSL wants DER */

        if (siglen != 2 * a->size) {
            return CARTBOT_JWT_BAD_SIGNATURE;
        }

        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig, (int) a->size, NULL);
        s = BN_bin2bn(sig + a->size, (int) a->size, NULL);

        if (es == NULL || r == NULL || s == NULL
            || ECDSA_SIG_set0(es, r, s) != 1)
        {
            ECDSA_SIG_free(es);
            BN_free(r);
            BN_free(s);
            return CARTBOT_JWT_INTERNAL;
        }

        n = i2d_ECDSA_SIG(es, NULL);

        if (n <= 0 || (size_t) n > sizeof(der)) {
            ECDSA_SIG_free(es);
            return CARTBOT_JWT_INTERNAL;
        }

        p = der;
        n = i2d_ECDSA_SIG(es, &p);

        ECDSA_SIG_free(es);

        sig = der;
        siglen = (size_t) n;

    } else if (a->kind == CARTBOT_JWT_RSA || a->kind == CARTBOT_JWT_PSS) {

        /* RFC 8017: exactly as long as the modulus */

        if (siglen != (size_t) EVP_PKEY_get_size(key->pkey)) {
            return CARTBOT_JWT_BAD_SIGNATURE;
        }
    }

    if (a->kind == CARTBOT_JWT_ED) {
        ctx = cartbot_jwt_md_ctx(key, a, 0);
        if (ctx == NULL) {
            ERR_clear_error();
            return CARTBOT_JWT_INTERNAL;
        }

        rc = EVP_DigestVerify(ctx, sig, siglen, input, len);

        EVP_MD_CTX_free(ctx);

    } else {
        rc = cartbot_jwt_verify_digest(key, a, input, len, sig, siglen);

        if (rc < 0) {
            ERR_clear_error();
            return CARTBOT_JWT_INTERNAL;
        }
    }

    if (rc != 1) {
        /* another key may still verify: leave no stale errors behind */
        ERR_clear_error();
        return CARTBOT_JWT_BAD_SIGNATURE;
    }

    return CARTBOT_JWT_OK;
}


int
cartbot_jwt_signature_create(const cartbot_jwt_key_t *key,
    cartbot_jwt_alg_e alg, const unsigned char *input, size_t len,
    cartbot_buf_t *out)
{
    int                        rc;
    size_t                     siglen;
    ECDSA_SIG                 *es;
    EVP_MD_CTX                *ctx;
    const BIGNUM              *r, *s;
    unsigned int               maclen;
    unsigned char              mac[EVP_MAX_MD_SIZE];
    unsigned char              der[CARTBOT_JWT_ECDSA_DER];
    const unsigned char       *p;
    const cartbot_jwt_alg_t   *a;

    if (alg <= CARTBOT_JWT_ALG_UNSET || alg >= CARTBOT_JWT_ALG_LAST
        || !(key->algs & CARTBOT_JWT_ALG_BIT(alg)) || !key->private)
    {
        return -1;
    }

    a = &cartbot_jwt_algs[alg];

    if (a->kind == CARTBOT_JWT_HMAC) {
        if (key->secret == NULL
            || HMAC(a->md(), key->secret, (int) key->secret_len, input, len,
                    mac, &maclen)
               == NULL)
        {
            ERR_clear_error();
            return -1;
        }

        return cartbot_buf_add(out, mac, maclen);
    }

    if (key->pkey == NULL) {
        return -1;
    }

    ctx = cartbot_jwt_md_ctx(key, a, 1);
    if (ctx == NULL) {
        ERR_clear_error();
        return -1;
    }

    siglen = (size_t) EVP_PKEY_get_size(key->pkey);
    rc = -1;

    if (a->kind == CARTBOT_JWT_EC) {
        if (siglen > sizeof(der)
            || EVP_DigestSign(ctx, der, &siglen, input, len) != 1)
        {
            goto done;
        }

        p = der;
        es = d2i_ECDSA_SIG(NULL, &p, (long) siglen);
        if (es == NULL) {
            goto done;
        }

        ECDSA_SIG_get0(es, &r, &s);

        if (cartbot_buf_reserve(out, 2 * a->size) == 0
            && BN_bn2binpad(r, (unsigned char *) out->data + out->len,
                            (int) a->size)
               == (int) a->size
            && BN_bn2binpad(s, (unsigned char *) out->data + out->len
                               + a->size, (int) a->size)
               == (int) a->size)
        {
            out->len += 2 * a->size;
            rc = 0;
        }

        ECDSA_SIG_free(es);
        goto done;
    }

    if (cartbot_buf_reserve(out, siglen) == 0
        && EVP_DigestSign(ctx, (unsigned char *) out->data + out->len,
                          &siglen, input, len)
           == 1)
    {
        out->len += siglen;
        rc = 0;
    }

done:

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return rc;
}


int
cartbot_jwt_sign(const cartbot_jwt_key_t *key, cartbot_jwt_alg_e alg,
    const char *claims, size_t len, cartbot_buf_t *out, char *err,
    size_t errlen)
{
    int            i;
    char           jerr[64];
    size_t         start;
    yajl_val       v;
    cartbot_buf_t  header, sig;

    if (alg == CARTBOT_JWT_ALG_UNSET) {
        for (i = 1; i < CARTBOT_JWT_ALG_LAST; i++) {
            if (key->algs & CARTBOT_JWT_ALG_BIT(i)) {
                alg = (cartbot_jwt_alg_e) i;
                break;
            }
        }
    }

    if (alg <= CARTBOT_JWT_ALG_UNSET || alg >= CARTBOT_JWT_ALG_LAST
        || !(key->algs & CARTBOT_JWT_ALG_BIT(alg)))
    {
        cartbot_jwt_error(err, errlen, "the key is not for %s",
                          cartbot_jwt_alg_name(alg));
        return -1;
    }

    if (!key->private) {
        cartbot_jwt_error(err, errlen, "a public key cannot sign");
        return -1;
    }

    v = cartbot_json_parse(claims, len, jerr, sizeof(jerr));

    if (!YAJL_IS_OBJECT(v)) {
        cartbot_json_free(v);
        cartbot_jwt_error(err, errlen, "the claims are not a JSON object");
        return -1;
    }

    cartbot_json_free(v);

    cartbot_buf_init(&header, out->mem, 128);
    cartbot_buf_printf(&header, "{\"alg\":\"%s\",\"typ\":\"JWT\"",
                       cartbot_jwt_alg_name(alg));

    if (key->kid) {
        cartbot_buf_add_str(&header, ",\"kid\":");
        cartbot_json_add_string(&header, key->kid, key->kid_len);
    }

    cartbot_buf_add_char(&header, '}');

    start = out->len;

    cartbot_base64_encode(out, (const unsigned char *) header.data,
                          header.len, 1);
    cartbot_buf_add_char(out, '.');
    cartbot_base64_encode(out, (const unsigned char *) claims, len, 1);

    if (header.failed || out->failed) {
        cartbot_jwt_error(err, errlen, "out of memory");
        return -1;
    }

    cartbot_buf_init(&sig, out->mem, 0);

    if (cartbot_jwt_signature_create(key, alg,
                                     (const unsigned char *) out->data
                                     + start,
                                     out->len - start, &sig)
        != 0)
    {
        out->len = start;
        cartbot_jwt_error(err, errlen, "signing with %s failed",
                          cartbot_jwt_alg_name(alg));
        return -1;
    }

    cartbot_buf_add_char(out, '.');

    if (cartbot_base64_encode(out, (const unsigned char *) sig.data,
                              sig.len, 1)
        != 0)
    {
        cartbot_jwt_error(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


int
cartbot_jwt_jti(cartbot_buf_t *out)
{
    unsigned char  raw[16];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        ERR_clear_error();
        return -1;
    }

    return cartbot_base64_encode(out, raw, sizeof(raw), 1);
}


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
