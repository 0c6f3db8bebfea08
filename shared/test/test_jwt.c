
/*
 * unit tests: cartbot_jwt.  Published vectors: RFC 7515 appendix A.1-A.4,
 * RFC 8037 appendix A (Ed25519); the rest are tokens signed here.
 */

#include <openssl/bio.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cartbot_test.h"
#include "cartbot_base64.h"
#include "cartbot_jwt.h"


#define TEST_JWT_REASON(got, want)                                           \
    do {                                                                     \
        cartbot_jwt_reason_e  g_ = (got), w_ = (want);                       \
        if (g_ != w_) {                                                      \
            fprintf(stderr, "    %s:%d: got %s, want %s\n", __FILE__,        \
                    __LINE__, cartbot_jwt_reason_name(g_),                   \
                    cartbot_jwt_reason_name(w_));                            \
            cartbot_test_failures++;                                         \
        }                                                                    \
    } while (0)


#define TEST_JWT_NOW  1700000000


/* RFC 7515 A.1: its JWK, and the JWS (the payload has CRLF line breaks) */

static const char  test_jwt_a1_jwk[] =
    "{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T"
    "-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}";

static const char  test_jwt_a1[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

#define TEST_JWT_A_NOW  1300819000    /* before the vectors' exp */


/* RFC 7515 A.2: the public part of its RSA key */

static const char  test_jwt_a2_jwk[] =
    "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}";

static const char  test_jwt_a2[] =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
    "p0igcN_IoypGlUPQGe77Rw";


/* RFC 7515 A.3: P-256 (with d), ES256 */

static const char  test_jwt_a3_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";

static const char  test_jwt_a3[] =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmW"
    "QxfKTUJqPP3-Kg6NU1Q";


/* RFC 7515 A.4: P-521, ES512, over the payload "Payload" (not a JWT) */

static const char  test_jwt_a4_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-521\","
    "\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_"
    "NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk\","
    "\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDl"
    "y79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2\"}";

static const char  test_jwt_a4[] =
    "eyJhbGciOiJFUzUxMiJ9"
    ".UGF5bG9hZA"
    ".AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq"
    "wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp"
    "EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";


/* RFC 8037 A.1 (private), A.2 (public), A.4 (JWS over a sentence) */

static const char  test_jwt_ed_jwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";

static const char  test_jwt_ed_pub_jwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";

static const char  test_jwt_ed_input[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";

static const char  test_jwt_ed_sig[] =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5B"
    "hVsPt9g7sVvpAr_MuM0KAg";


static const char  test_jwt_secret[] = "cartbot-unit-test-hmac-secret-32b";


static cartbot_jwt_reason_e
test_jwt_check(const cartbot_jwt_keyset_t *ks, cartbot_mem_t *mem,
    const char *token, const cartbot_jwt_opts_t *opts, time_t now)
{
    cartbot_jwt_result_t  r;
    cartbot_jwt_reason_e  rc;

    rc = cartbot_jwt_verify(ks, mem, token, strlen(token), opts, now, &r);
    cartbot_jwt_result_free(&r);

    return rc;
}


/* a token from header and claims text, signed with key (NULL: unsigned) */

static const char *
test_jwt_make(cartbot_mem_t *mem, const cartbot_jwt_key_t *key,
    cartbot_jwt_alg_e alg, const char *header, const char *claims)
{
    cartbot_buf_t  b, sig;

    cartbot_buf_init(&b, mem, 0);
    cartbot_base64_encode(&b, (const unsigned char *) header, strlen(header),
                          1);
    cartbot_buf_add_char(&b, '.');
    cartbot_base64_encode(&b, (const unsigned char *) claims, strlen(claims),
                          1);

    cartbot_buf_init(&sig, mem, 0);

    if (key
        && cartbot_jwt_signature_create(key, alg,
                                        (const unsigned char *) b.data, b.len,
                                        &sig)
           != 0)
    {
        return NULL;
    }

    cartbot_buf_add_char(&b, '.');
    cartbot_base64_encode(&b, (const unsigned char *) sig.data, sig.len, 1);

    return cartbot_buf_cstr(&b);
}


/* a token with the claims, signed by cartbot_jwt_sign() */

static const char *
test_jwt_sign(cartbot_mem_t *mem, const cartbot_jwt_key_t *key,
    cartbot_jwt_alg_e alg, const char *claims)
{
    char           err[128];
    cartbot_buf_t  b;

    cartbot_buf_init(&b, mem, 0);

    if (cartbot_jwt_sign(key, alg, claims, strlen(claims), &b, err,
                         sizeof(err))
        != 0)
    {
        fprintf(stderr, "    sign: %s\n", err);
        return NULL;
    }

    return cartbot_buf_cstr(&b);
}


static const char *
test_jwt_pem(cartbot_mem_t *mem, EVP_PKEY *pkey, int private)
{
    BIO    *bio;
    char   *data, *pem;
    long    len;

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        return NULL;
    }

    if (private) {
        PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);

    } else {
        PEM_write_bio_PUBKEY(bio, pkey);
    }

    len = BIO_get_mem_data(bio, &data);
    pem = (len > 0) ? cartbot_strndup(mem, data, (size_t) len) : NULL;

    BIO_free(bio);

    return pem;
}


/* PEM text of a key in the given OpenSSL encoder structure */

static char *
test_jwt_encode(cartbot_mem_t *mem, EVP_PKEY *pkey, int selection,
    const char *structure)
{
    BIO               *bio;
    char              *data, *pem;
    long               len;
    OSSL_ENCODER_CTX  *ectx;

    pem = NULL;
    bio = BIO_new(BIO_s_mem());
    ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, "PEM", structure,
                                         NULL);

    if (bio && ectx && OSSL_ENCODER_to_bio(ectx, bio) == 1) {
        len = BIO_get_mem_data(bio, &data);
        pem = cartbot_strndup(mem, data, (size_t) len);
    }

    OSSL_ENCODER_CTX_free(ectx);
    BIO_free(bio);

    return pem;
}


static int
test_jwt_add(cartbot_jwt_keyset_t *ks, const char *jwks, unsigned rsa_algs)
{
    int   rc;
    char  err[256];

    rc = cartbot_jwt_keyset_add_jwks(ks, jwks, strlen(jwks), rsa_algs, err,
                                     sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "    JWKS: %s\n", err);
    }

    return rc;
}


static void
test_jwt_rfc7515_hs256(cartbot_mem_t *mem)
{
    size_t                 n;
    const char            *dot;
    unsigned char          sig[64];
    cartbot_buf_t          b;
    cartbot_jwt_result_t   r;
    cartbot_jwt_keyset_t   ks;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_a1_jwk, 0) == 1);
    CARTBOT_CHECK(ks.nkeys == 1 && ks.keys[0].algs == CARTBOT_JWT_ALGS_HS);

    TEST_JWT_REASON(cartbot_jwt_verify(&ks, mem, test_jwt_a1,
                                       strlen(test_jwt_a1), NULL,
                                       TEST_JWT_A_NOW, &r),
                    CARTBOT_JWT_OK);

    CARTBOT_CHECK_STR(cartbot_json_get_string(r.claims, "iss"), "joe");
    CARTBOT_CHECK(YAJL_IS_TRUE(cartbot_json_get(r.claims,
                                            "http://example.com/is_root")));
    CARTBOT_CHECK_STR(cartbot_json_get_string(r.header, "typ"), "JWT");
    CARTBOT_CHECK(r.alg == CARTBOT_JWT_HS256 && r.key == &ks.keys[0]);
    CARTBOT_CHECK(r.payload.len == 70
                  && memcmp(r.payload.data, "{\"iss\":\"joe\",\r\n", 15) == 0);

    cartbot_jwt_result_free(&r);
    CARTBOT_CHECK(r.claims == NULL && r.header == NULL);

    /* valid only before exp (RFC 7519 section 4.1.4) */

    TEST_JWT_REASON(test_jwt_check(&ks, mem, test_jwt_a1, NULL, 1300819379),
                    CARTBOT_JWT_OK);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, test_jwt_a1, NULL, 1300819380),
                    CARTBOT_JWT_EXPIRED);

    /* HMAC is deterministic: the same signature comes out */

    dot = strrchr(test_jwt_a1, '.');
    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_jwt_signature_create(&ks.keys[0], CARTBOT_JWT_HS256,
                                               (const unsigned char *)
                                               test_jwt_a1,
                                               (size_t) (dot - test_jwt_a1),
                                               &b)
                  == 0);
    CARTBOT_CHECK(cartbot_base64_decode(sig, &n, dot + 1, strlen(dot + 1), 1)
                  == 0);
    CARTBOT_CHECK(b.len == 32 && n == 32 && memcmp(b.data, sig, 32) == 0);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_rfc7515_rs256(cartbot_mem_t *mem)
{
    cartbot_jwt_result_t   r;
    cartbot_jwt_keyset_t   ks;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_a2_jwk, CARTBOT_JWT_ALGS_RS)
                  == 1);
    CARTBOT_CHECK(ks.nkeys == 1 && !ks.keys[0].private);

    TEST_JWT_REASON(cartbot_jwt_verify(&ks, mem, test_jwt_a2,
                                       strlen(test_jwt_a2), NULL,
                                       TEST_JWT_A_NOW, &r),
                    CARTBOT_JWT_OK);
    CARTBOT_CHECK_STR(cartbot_json_get_string(r.claims, "iss"), "joe");
    cartbot_jwt_result_free(&r);

    cartbot_jwt_keyset_free(&ks);

    /* the same key bound to PS*: the RS256 token is refused */

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_a2_jwk, CARTBOT_JWT_ALGS_PS)
                  == 1);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, test_jwt_a2, NULL,
                                   TEST_JWT_A_NOW),
                    CARTBOT_JWT_ALG_MISMATCH);
    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_rfc7515_es256(cartbot_mem_t *mem)
{
    const char            *token;
    cartbot_jwt_keyset_t   ks;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_a3_jwk, 0) == 1);
    CARTBOT_CHECK(ks.nkeys == 1 && ks.keys[0].private
                  && ks.keys[0].algs == CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_ES256));

    TEST_JWT_REASON(test_jwt_check(&ks, mem, test_jwt_a3, NULL,
                                   TEST_JWT_A_NOW),
                    CARTBOT_JWT_OK);

    /* ECDSA is randomized: sign with the RFC's key, then verify */

    token = test_jwt_sign(mem, &ks.keys[0], CARTBOT_JWT_ALG_UNSET,
                          "{\"sub\":\"es\",\"exp\":1700000100}");
    CARTBOT_CHECK(token != NULL
                  && strncmp(token, "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.",
                             37) == 0);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, token, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_rfc7515_es512(cartbot_mem_t *mem)
{
    size_t                 n;
    const char            *dot;
    unsigned char          sig[132];
    cartbot_jwt_keyset_t   ks;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_a4_jwk, 0) == 1);
    CARTBOT_CHECK(ks.nkeys == 1
                  && ks.keys[0].algs == CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_ES512));

    dot = strrchr(test_jwt_a4, '.');
    CARTBOT_CHECK(cartbot_base64_decode(sig, &n, dot + 1, strlen(dot + 1), 1)
                  == 0 && n == 132);

    TEST_JWT_REASON(cartbot_jwt_signature_verify(&ks.keys[0],
                        CARTBOT_JWT_ES512, (const unsigned char *) test_jwt_a4,
                        (size_t) (dot - test_jwt_a4), sig, n),
                    CARTBOT_JWT_OK);

    /* one byte off, one byte short, another alg */

    sig[40] ^= 1;
    TEST_JWT_REASON(cartbot_jwt_signature_verify(&ks.keys[0],
                        CARTBOT_JWT_ES512, (const unsigned char *) test_jwt_a4,
                        (size_t) (dot - test_jwt_a4), sig, n),
                    CARTBOT_JWT_BAD_SIGNATURE);
    sig[40] ^= 1;

    TEST_JWT_REASON(cartbot_jwt_signature_verify(&ks.keys[0],
                        CARTBOT_JWT_ES512, (const unsigned char *) test_jwt_a4,
                        (size_t) (dot - test_jwt_a4), sig, n - 1),
                    CARTBOT_JWT_BAD_SIGNATURE);

    TEST_JWT_REASON(cartbot_jwt_signature_verify(&ks.keys[0],
                        CARTBOT_JWT_ES256, (const unsigned char *) test_jwt_a4,
                        (size_t) (dot - test_jwt_a4), sig, n),
                    CARTBOT_JWT_ALG_MISMATCH);

    /* a valid JWS, but "Payload" is not a claims set */

    TEST_JWT_REASON(test_jwt_check(&ks, mem, test_jwt_a4, NULL,
                                   TEST_JWT_A_NOW),
                    CARTBOT_JWT_MALFORMED);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_rfc8037_ed25519(cartbot_mem_t *mem)
{
    size_t                 n;
    unsigned char          sig[64];
    const char            *token;
    cartbot_buf_t          b;
    cartbot_jwt_keyset_t   ks, pub;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_ed_jwk, 0) == 1);
    CARTBOT_CHECK(ks.nkeys == 1 && ks.keys[0].private
                  && ks.keys[0].algs == CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_EDDSA));

    /* Ed25519 is deterministic: A.4's signature comes out again */

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_jwt_signature_create(&ks.keys[0], CARTBOT_JWT_EDDSA,
                      (const unsigned char *) test_jwt_ed_input,
                      strlen(test_jwt_ed_input), &b)
                  == 0);
    CARTBOT_CHECK(cartbot_base64_decode(sig, &n, test_jwt_ed_sig,
                                        strlen(test_jwt_ed_sig), 1)
                  == 0 && n == 64);
    CARTBOT_CHECK(b.len == 64 && memcmp(b.data, sig, 64) == 0);

    /* A.5: verified with the public key of A.2 */

    cartbot_jwt_keyset_init(&pub, mem);
    CARTBOT_CHECK(test_jwt_add(&pub, test_jwt_ed_pub_jwk, 0) == 1);
    CARTBOT_CHECK(!pub.keys[0].private);

    TEST_JWT_REASON(cartbot_jwt_signature_verify(&pub.keys[0],
                        CARTBOT_JWT_EDDSA,
                        (const unsigned char *) test_jwt_ed_input,
                        strlen(test_jwt_ed_input), sig, 64),
                    CARTBOT_JWT_OK);

    sig[0] ^= 0x80;
    TEST_JWT_REASON(cartbot_jwt_signature_verify(&pub.keys[0],
                        CARTBOT_JWT_EDDSA,
                        (const unsigned char *) test_jwt_ed_input,
                        strlen(test_jwt_ed_input), sig, 64),
                    CARTBOT_JWT_BAD_SIGNATURE);

    /* the compact JWS: good signature, but not a JWT */

    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_printf(&b, "%s.%s", test_jwt_ed_input, test_jwt_ed_sig);
    TEST_JWT_REASON(test_jwt_check(&pub, mem, cartbot_buf_cstr(&b), NULL,
                                   TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    /* a JWT signed with the RFC's key */

    token = test_jwt_sign(mem, &ks.keys[0], CARTBOT_JWT_EDDSA,
                          "{\"sub\":\"ed\",\"exp\":1700000100}");
    CARTBOT_CHECK(token != NULL);
    TEST_JWT_REASON(test_jwt_check(&pub, mem, token, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    cartbot_jwt_keyset_free(&pub);
    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_tampered(cartbot_mem_t *mem)
{
    char                  *t;
    size_t                 len, dot1, dot2;
    const char            *token;
    cartbot_buf_t          b;
    cartbot_jwt_keyset_t   ks;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_a1_jwk, 0) == 1);

    len = strlen(test_jwt_a1);
    dot1 = (size_t) (strchr(test_jwt_a1, '.') - test_jwt_a1);
    dot2 = (size_t) (strrchr(test_jwt_a1, '.') - test_jwt_a1);

    /* payload: "joe" becomes "jof" */

    t = cartbot_strndup(mem, test_jwt_a1, len);
    CARTBOT_CHECK(memcmp(t + dot1 + 1, "eyJpc3MiOiJqb2Ui", 16) == 0);
    memcpy(t + dot1 + 1, "eyJpc3MiOiJqb2Yi", 16);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_A_NOW),
                    CARTBOT_JWT_BAD_SIGNATURE);

    /* signature: one character in the middle */

    t = cartbot_strndup(mem, test_jwt_a1, len);
    t[dot2 + 10] = (t[dot2 + 10] == 'A') ? 'B' : 'A';
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_A_NOW),
                    CARTBOT_JWT_BAD_SIGNATURE);

    /* signature: truncated, and extended */

    t = cartbot_strndup(mem, test_jwt_a1, len - 3);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_A_NOW),
                    CARTBOT_JWT_BAD_SIGNATURE);

    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_printf(&b, "%sAAAA", test_jwt_a1);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, cartbot_buf_cstr(&b), NULL,
                                   TEST_JWT_A_NOW),
                    CARTBOT_JWT_BAD_SIGNATURE);

    /* header: the same parameters written differently */

    token = test_jwt_make(mem, NULL, 0, "{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
                          "{}");
    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_add(&b, token, (size_t) (strchr(token, '.') - token));
    cartbot_buf_add(&b, test_jwt_a1 + dot1, len - dot1);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, cartbot_buf_cstr(&b), NULL,
                                   TEST_JWT_A_NOW),
                    CARTBOT_JWT_BAD_SIGNATURE);

    /* header: HS256 made HS512 */

    token = test_jwt_make(mem, NULL, 0, "{\"typ\":\"JWT\",\r\n \"alg\":"
                          "\"HS512\"}", "{}");
    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_add(&b, token, (size_t) (strchr(token, '.') - token));
    cartbot_buf_add(&b, test_jwt_a1 + dot1, len - dot1);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, cartbot_buf_cstr(&b), NULL,
                                   TEST_JWT_A_NOW),
                    CARTBOT_JWT_BAD_SIGNATURE);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_alg_none(cartbot_mem_t *mem)
{
    const char            *token;
    cartbot_jwt_result_t   r;
    cartbot_jwt_keyset_t   ks;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_a1_jwk, 0) == 1);

    /* RFC 7519 section 6.1's unsecured JWT, with A.1's claims */

    token = "eyJhbGciOiJub25lIn0"
            ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9l"
            "eGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

    TEST_JWT_REASON(cartbot_jwt_verify(&ks, mem, token, strlen(token), NULL,
                                       TEST_JWT_A_NOW, &r),
                    CARTBOT_JWT_UNSUPPORTED);
    CARTBOT_CHECK(r.claims == NULL && r.header == NULL && r.key == NULL);
    CARTBOT_CHECK(r.detail != NULL && strstr(r.detail, "none") != NULL);
    cartbot_jwt_result_free(&r);

    token = test_jwt_make(mem, NULL, 0, "{\"alg\":\"None\"}",
                          "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, token, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_UNSUPPORTED);

    /* with an HMAC "signature" made anyway */

    token = test_jwt_make(mem, &ks.keys[0], CARTBOT_JWT_HS256,
                          "{\"alg\":\"none\"}", "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, token, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_UNSUPPORTED);

    /* alg missing, or not a string */

    token = test_jwt_make(mem, &ks.keys[0], CARTBOT_JWT_HS256,
                          "{\"typ\":\"JWT\"}", "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, token, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    token = test_jwt_make(mem, &ks.keys[0], CARTBOT_JWT_HS256,
                          "{\"alg\":[\"HS256\"]}", "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, token, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    cartbot_jwt_keyset_free(&ks);
}


/*
 * The classic confusion: an HS256 token whose HMAC key is the text of the
 * server's RSA public key.  Refused: that key is bound to RS*.
 */

static void
test_jwt_alg_confusion(cartbot_mem_t *mem)
{
    char                   err[256];
    const char            *pem, *token;
    cartbot_jwt_key_t      fake;
    cartbot_jwt_result_t   r;
    cartbot_jwt_keyset_t   ks, pemks;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(test_jwt_add(&ks, test_jwt_a2_jwk, CARTBOT_JWT_ALGS_RS)
                  == 1);

    pem = test_jwt_pem(mem, ks.keys[0].pkey, 0);
    CARTBOT_CHECK(pem != NULL && strncmp(pem, "-----BEGIN PUBLIC KEY", 21)
                                 == 0);

    cartbot_jwt_keyset_init(&pemks, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&pemks, pem, strlen(pem),
                                             CARTBOT_JWT_ALGS_RS, "rsa", err,
                                             sizeof(err))
                  == 0);

    memset(&fake, 0, sizeof(cartbot_jwt_key_t));
    fake.secret = (unsigned char *) pem;
    fake.secret_len = strlen(pem);
    fake.algs = CARTBOT_JWT_ALGS_HS;
    fake.private = 1;

    token = test_jwt_make(mem, &fake, CARTBOT_JWT_HS256,
                          "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                          "{\"sub\":\"admin\",\"exp\":1700000100}");
    TEST_JWT_REASON(cartbot_jwt_verify(&pemks, mem, token, strlen(token),
                                       NULL, TEST_JWT_NOW, &r),
                    CARTBOT_JWT_ALG_MISMATCH);
    CARTBOT_CHECK(r.claims == NULL);
    cartbot_jwt_result_free(&r);

    TEST_JWT_REASON(test_jwt_check(&ks, mem, token, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_ALG_MISMATCH);

    token = test_jwt_make(mem, &fake, CARTBOT_JWT_HS256,
                          "{\"alg\":\"HS256\",\"kid\":\"rsa\"}",
                          "{\"sub\":\"admin\",\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&pemks, mem, token, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_ALG_MISMATCH);

    /* nor can such a binding be configured */

    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&pemks, pem, strlen(pem),
                      CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_HS256), NULL, err,
                      sizeof(err))
                  == -1);
    CARTBOT_CHECK(strstr(err, "RSA key cannot be used with HS256") != NULL);
    CARTBOT_CHECK(cartbot_jwt_signature_verify(&ks.keys[0], CARTBOT_JWT_HS256,
                      (const unsigned char *) "x", 1,
                      (const unsigned char *) "y", 1)
                  == CARTBOT_JWT_ALG_MISMATCH);

    cartbot_jwt_keyset_free(&pemks);
    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_time_claims(cartbot_mem_t *mem)
{
    const char               *t;
    cartbot_jwt_opts_t        o;
    cartbot_jwt_keyset_t      ks;
    const cartbot_jwt_key_t  *k;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&ks,
                      (const unsigned char *) test_jwt_secret,
                      strlen(test_jwt_secret), 0, NULL, NULL, 0)
                  == 0);
    CARTBOT_CHECK(ks.keys[0].algs == CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_HS256));
    k = &ks.keys[0];
    memset(&o, 0, sizeof(cartbot_jwt_opts_t));

    /* expired 100 s ago: refused, unless the leeway covers it */

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1699999900}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_EXPIRED);
    o.leeway = 60;
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_EXPIRED);
    o.leeway = 101;
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    o.leeway = 0;

    /* a fraction of a second, and a huge exp */

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000000.5}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_EXPIRED);
    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000001.5}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    t = test_jwt_sign(mem, k, 0, "{\"exp\":99999999999999999999999}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    t = test_jwt_sign(mem, k, 0, "{\"exp\":-9223372036854775808}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_EXPIRED);

    /* exp required by default; of the right type */

    t = test_jwt_sign(mem, k, 0, "{\"sub\":\"x\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MISSING_CLAIM);
    o.exp_optional = 1;
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    o.exp_optional = 0;

    t = test_jwt_sign(mem, k, 0, "{\"exp\":\"1700000100\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);
    t = test_jwt_sign(mem, k, 0, "{\"exp\":null}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    /* nbf 100 s ahead */

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000500,\"nbf\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_NOT_YET_VALID);
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW + 100),
                    CARTBOT_JWT_OK);
    o.leeway = 100;
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    o.leeway = 0;

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000500,\"nbf\":true}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    /* iat: ignored unless asked; in the future; too old */

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000500,\"iat\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    o.check_iat = 1;
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_NOT_YET_VALID);
    o.check_iat = 0;

    o.max_age = 3600;
    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000500,\"iat\":1699990000}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_EXPIRED);
    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000500,\"iat\":1699999000}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000500}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_MISSING_CLAIM);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_iss_aud(cartbot_mem_t *mem)
{
    const char               *t;
    cartbot_jwt_opts_t        o;
    cartbot_jwt_keyset_t      ks;
    const cartbot_jwt_key_t  *k;
    static const cartbot_str_t  iss[] = {
        cartbot_str("https://idp.example"), cartbot_str("cartbot")
    };
    static const cartbot_str_t  aud[] = {
        cartbot_str("cartbot-api"), cartbot_str("cartbot-chat")
    };
    static const cartbot_str_t  req[] = {
        cartbot_str("sub"), cartbot_str("role")
    };

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&ks,
                      (const unsigned char *) test_jwt_secret,
                      strlen(test_jwt_secret), 0, NULL, NULL, 0)
                  == 0);
    k = &ks.keys[0];

    memset(&o, 0, sizeof(cartbot_jwt_opts_t));
    o.issuers = iss;
    o.nissuers = 2;
    o.audiences = aud;
    o.naudiences = 2;

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"cartbot\","
                      "\"aud\":\"cartbot-chat\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"evil\","
                      "\"aud\":\"cartbot-chat\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_WRONG_ISSUER);

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"cartbo\","
                      "\"aud\":\"cartbot-chat\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_WRONG_ISSUER);

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":[\"cartbot\"],"
                      "\"aud\":\"cartbot-chat\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_WRONG_ISSUER);

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,"
                      "\"aud\":\"cartbot-chat\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_MISSING_CLAIM);

    /* aud: a string, or an array where any one matches */

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"cartbot\","
                      "\"aud\":[\"other\",1,\"cartbot-api\"]}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"cartbot\","
                      "\"aud\":[\"other\",\"cartbot-apix\"]}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_WRONG_AUDIENCE);

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"cartbot\","
                      "\"aud\":\"other\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_WRONG_AUDIENCE);

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"cartbot\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_MISSING_CLAIM);

    /* required claims */

    o.required = req;
    o.nrequired = 2;

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"cartbot\","
                      "\"aud\":\"cartbot-api\",\"sub\":\"u1\","
                      "\"role\":\"shopper\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    t = test_jwt_sign(mem, k, 0, "{\"exp\":1700000100,\"iss\":\"cartbot\","
                      "\"aud\":\"cartbot-api\",\"sub\":\"u1\","
                      "\"roles\":\"shopper\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_MISSING_CLAIM);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_malformed(cartbot_mem_t *mem)
{
    size_t                    i;
    const char               *t;
    cartbot_buf_t             b;
    cartbot_jwt_keyset_t      ks;
    const cartbot_jwt_key_t  *k;

    static const struct {
        const char            *token;
        cartbot_jwt_reason_e   reason;
    }  raw[] = {
        { "", CARTBOT_JWT_MALFORMED },
        { "abc", CARTBOT_JWT_MALFORMED },
        { "eyJhbGciOiJIUzI1NiJ9.e30", CARTBOT_JWT_MALFORMED },
        { "eyJhbGciOiJIUzI1NiJ9.e30.AA.AA", CARTBOT_JWT_MALFORMED },
        { "eyJhbGciOiJIUzI1NiJ9..AA", CARTBOT_JWT_MALFORMED },
        { ".e30.AA", CARTBOT_JWT_MALFORMED },
        { "a.b.c.d.e", CARTBOT_JWT_UNSUPPORTED },

        /* padding, the standard alphabet, spaces, non-canonical bits */
        { "eyJhbGciOiJIUzI1NiJ9.e30=.AA", CARTBOT_JWT_MALFORMED },
        { "eyJhbGciOiJIUzI1NiJ9.e30.AA==", CARTBOT_JWT_MALFORMED },
        { "eyJhbGciOiJIUzI1NiJ9.e30.A+/A", CARTBOT_JWT_MALFORMED },
        { "eyJhbGciOiJIUzI1NiJ9.e30 .AA", CARTBOT_JWT_MALFORMED },
        { "eyJhbGciOiJIUzI1NiJ9.e31.AA", CARTBOT_JWT_MALFORMED },
        { "eyJhbGciOiJIUzI1NiJ9.e30.A", CARTBOT_JWT_MALFORMED },

        /* the header: not JSON, not an object */
        { "bm90IGpzb24.e30.AA", CARTBOT_JWT_MALFORMED },
        { "WyJIUzI1NiJd.e30.AA", CARTBOT_JWT_MALFORMED },

        { NULL, 0 }
    };

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&ks,
                      (const unsigned char *) test_jwt_secret,
                      strlen(test_jwt_secret), 0, "k1", NULL, 0)
                  == 0);
    k = &ks.keys[0];

    for (i = 0; raw[i].token; i++) {
        if (test_jwt_check(&ks, mem, raw[i].token, NULL, TEST_JWT_NOW)
            != raw[i].reason)
        {
            fprintf(stderr, "    token %zu \"%s\"\n", i, raw[i].token);
            cartbot_test_failures++;
        }
    }

    /* correctly signed, but the payload is no claims set */

    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "[1700000100]");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100,\"sub\":\"\xff\xfe\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    /* duplicate names: the issuer and we could read different values */

    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100,\"sub\":\"a\",\"sub\":\"admin\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100,\"a\":{\"b\":1,\"b\":2}}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    /* many names (the hashed check), one repeated far apart */

    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_add_str(&b, "{\"exp\":1700000100");

    for (i = 0; i < 40; i++) {
        cartbot_buf_printf(&b, ",\"c%zu\":%zu", i, i);
    }

    cartbot_buf_add_str(&b, "}");
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      cartbot_buf_cstr(&b));
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    b.len--;
    cartbot_buf_add_str(&b, ",\"c3\":0}");
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      cartbot_buf_cstr(&b));
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    /* "\u0000" would cut the value short for whoever reads it after us */

    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100,\"sub\":\"admin\\u0000x\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100,\"sub\":\"a\\\\u0000\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    /* nesting beyond CARTBOT_JSON_MAX_DEPTH */

    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_add_str(&b, "{\"exp\":1700000100,\"a\":");

    for (i = 0; i < 40; i++) {
        cartbot_buf_add_char(&b, '[');
    }

    for (i = 0; i < 40; i++) {
        cartbot_buf_add_char(&b, ']');
    }

    cartbot_buf_add_char(&b, '}');
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      cartbot_buf_cstr(&b));
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);

    /* header parameters: crit, kid and typ of the wrong type, unknown alg */

    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_UNSUPPORTED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_UNSUPPORTED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"kid\":7}", "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"typ\":{}}", "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_MALFORMED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"HS1\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_UNSUPPORTED);
    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256, "{\"alg\":\"hs256\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_UNSUPPORTED);

    /* an embedded key in the header is never used */

    t = test_jwt_make(mem, k, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"kid\":\"k1\",\"jwk\":{\"kty\":"
                      "\"oct\",\"k\":\"AAAA\"},\"jku\":\"http://x/\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_too_large(cartbot_mem_t *mem)
{
    size_t                    i;
    const char               *t;
    cartbot_buf_t             b;
    cartbot_jwt_opts_t        o;
    cartbot_jwt_result_t      r;
    cartbot_jwt_keyset_t      ks;

    cartbot_jwt_keyset_init(&ks, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&ks,
                      (const unsigned char *) test_jwt_secret,
                      strlen(test_jwt_secret), 0, NULL, NULL, 0)
                  == 0);

    /* claims that make a token of 8 KB and a little more */

    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_add_str(&b, "{\"exp\":1700000100,\"pad\":\"");

    for (i = 0; i < 6100; i++) {
        cartbot_buf_add_char(&b, 'x');
    }

    cartbot_buf_add_str(&b, "\"}");

    t = test_jwt_sign(mem, &ks.keys[0], 0, cartbot_buf_cstr(&b));
    CARTBOT_CHECK(t != NULL && strlen(t) > CARTBOT_JWT_MAX_LEN);

    TEST_JWT_REASON(cartbot_jwt_verify(&ks, mem, t, strlen(t), NULL,
                                       TEST_JWT_NOW, &r),
                    CARTBOT_JWT_TOO_LARGE);
    CARTBOT_CHECK_STR(cartbot_jwt_reason_name(r.reason), "too_large");
    cartbot_jwt_result_free(&r);

    memset(&o, 0, sizeof(cartbot_jwt_opts_t));
    o.max_len = 16384;
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    o.max_len = 100;
    t = test_jwt_sign(mem, &ks.keys[0], 0, "{\"exp\":1700000100,\"s\":"
                      "\"0123456789012345678901234567890123456789\"}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, &o, TEST_JWT_NOW),
                    CARTBOT_JWT_TOO_LARGE);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_kid_selection(cartbot_mem_t *mem)
{
    int                       rc;
    char                      err[256];
    const char               *t;
    cartbot_jwt_result_t      r;
    cartbot_jwt_keyset_t      ks, many;
    const cartbot_jwt_key_t  *a, *b, *c;

    static const char  jwks[] =
        "{\"keys\":["
        "{\"kty\":\"oct\",\"kid\":\"a\",\"alg\":\"HS256\","
        "\"k\":\"YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE\"},"
        "{\"kty\":\"oct\",\"kid\":\"b\",\"alg\":\"HS256\",\"use\":\"sig\","
        "\"k\":\"YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI\"},"
        "{\"kty\":\"oct\",\"kid\":\"c\",\"alg\":\"HS384\","
        "\"k\":\"Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
        "Y2NjY2Nj\"},"
        "{\"kty\":\"oct\",\"kid\":\"e\",\"use\":\"enc\",\"alg\":\"A128KW\","
        "\"k\":\"GawgguFyGrWKav7AX4VKUg\"},"
        "{\"kty\":\"RSA\",\"kid\":\"r\",\"alg\":\"RSA-OAEP\",\"n\":\"AQAB\","
        "\"e\":\"AQAB\"},"
        "{\"kty\":\"EC\",\"kid\":\"k\",\"crv\":\"secp256k1\",\"x\":\"AA\","
        "\"y\":\"AA\"},"
        "{\"kty\":\"OKP\",\"kid\":\"x\",\"crv\":\"X25519\",\"x\":\"AA\"},"
        "{\"kty\":\"future\",\"kid\":\"f\"},"
        "{\"kty\":\"oct\",\"kid\":\"v\",\"key_ops\":[\"encrypt\"],"
        "\"k\":\"AA\"},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
        "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
        "]}";

    cartbot_jwt_keyset_init(&ks, mem);
    rc = test_jwt_add(&ks, jwks, 0);
    CARTBOT_CHECK(rc == 4 && ks.nkeys == 4);

    a = cartbot_jwt_keyset_find(&ks, "a", 1);
    b = cartbot_jwt_keyset_find(&ks, "b", 1);
    c = cartbot_jwt_keyset_find(&ks, "c", 1);
    CARTBOT_CHECK(a && b && c && cartbot_jwt_keyset_find(&ks, "e", 1) == NULL);
    CARTBOT_CHECK(cartbot_jwt_keyset_find(&ks, "ed", 2) == &ks.keys[3]);

    /* by kid: the right key among several of the same alg */

    t = test_jwt_sign(mem, b, 0, "{\"exp\":1700000100}");
    TEST_JWT_REASON(cartbot_jwt_verify(&ks, mem, t, strlen(t), NULL,
                                       TEST_JWT_NOW, &r),
                    CARTBOT_JWT_OK);
    CARTBOT_CHECK(r.key == b);
    CARTBOT_CHECK_STR(r.kid.data, "b");
    CARTBOT_CHECK_STR(cartbot_json_get_string(r.header, "kid"), "b");
    cartbot_jwt_result_free(&r);

    /* b's signature under a's kid */

    t = test_jwt_make(mem, b, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"kid\":\"a\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_BAD_SIGNATURE);

    /* a kid nobody has: reported, for a JWKS refresh */

    t = test_jwt_make(mem, b, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"kid\":\"zz\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(cartbot_jwt_verify(&ks, mem, t, strlen(t), NULL,
                                       TEST_JWT_NOW, &r),
                    CARTBOT_JWT_UNKNOWN_KEY);
    CARTBOT_CHECK_STR(r.kid.data, "zz");
    CARTBOT_CHECK(r.header == NULL && r.claims == NULL);
    cartbot_jwt_result_free(&r);

    /* the kid of an HS384 key with HS256 */

    t = test_jwt_make(mem, b, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"kid\":\"c\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_ALG_MISMATCH);

    /* no kid: the keys of its alg are tried (a and b) */

    t = test_jwt_make(mem, b, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(cartbot_jwt_verify(&ks, mem, t, strlen(t), NULL,
                                       TEST_JWT_NOW, &r),
                    CARTBOT_JWT_OK);
    CARTBOT_CHECK(r.key == b && r.kid.len == 0);
    cartbot_jwt_result_free(&r);

    t = test_jwt_make(mem, c, CARTBOT_JWT_HS384, "{\"alg\":\"HS384\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    t = test_jwt_make(mem, c, CARTBOT_JWT_HS384, "{\"alg\":\"ES256\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_ALG_MISMATCH);

    /* more keys of one alg than CARTBOT_JWT_MAX_TRIES: a kid is needed */

    cartbot_jwt_keyset_init(&many, mem);
    CARTBOT_CHECK(test_jwt_add(&many, jwks, 0) == 4);
    CARTBOT_CHECK(test_jwt_add(&many, jwks, 0) == 4);
    CARTBOT_CHECK(test_jwt_add(&many, jwks, 0) == 4);

    t = test_jwt_make(mem, b, CARTBOT_JWT_HS256, "{\"alg\":\"HS256\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&many, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_UNKNOWN_KEY);

    t = test_jwt_make(mem, b, CARTBOT_JWT_HS256,
                      "{\"alg\":\"HS256\",\"kid\":\"b\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&many, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    cartbot_jwt_keyset_free(&many);

    /* a key without kid accepts any kid; an empty set knows no key */

    cartbot_jwt_keyset_init(&many, mem);
    TEST_JWT_REASON(test_jwt_check(&many, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_UNKNOWN_KEY);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&many, b->secret,
                                                b->secret_len, 0, NULL, err,
                                                sizeof(err))
                  == 0);
    TEST_JWT_REASON(test_jwt_check(&many, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    cartbot_jwt_keyset_free(&many);

    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_roundtrip(cartbot_mem_t *mem)
{
    char                   err[256];
    size_t                 len;
    const char            *t, *priv, *pub;
    unsigned char          raw[57];
    EVP_PKEY              *pkey;
    cartbot_buf_t          b;
    cartbot_jwt_result_t   r;
    cartbot_jwt_keyset_t   signer, verifier;

    static const char  claims[] =
        "{\"sub\":\"shopper:42\",\"role\":\"shopper\",\"iat\":1700000000,"
        "\"exp\":1700003600,\"jti\":\"x1\"}";

    /* HS256, as the gateway signs shopper tokens */

    cartbot_jwt_keyset_init(&signer, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&signer,
                      (const unsigned char *) test_jwt_secret,
                      strlen(test_jwt_secret),
                      CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_HS256), "gw1", err,
                      sizeof(err))
                  == 0);

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_jwt_sign(&signer.keys[0], CARTBOT_JWT_ALG_UNSET,
                                   claims, strlen(claims), &b, err,
                                   sizeof(err))
                  == 0);
    t = cartbot_buf_cstr(&b);

    TEST_JWT_REASON(cartbot_jwt_verify(&signer, mem, t, strlen(t), NULL,
                                       TEST_JWT_NOW, &r),
                    CARTBOT_JWT_OK);
    CARTBOT_CHECK_STR(cartbot_json_get_string(r.claims, "role"), "shopper");
    CARTBOT_CHECK_STR(cartbot_json_get_string(r.header, "kid"), "gw1");
    CARTBOT_CHECK_STR(cartbot_json_get_string(r.header, "typ"), "JWT");
    CARTBOT_CHECK(r.payload.len == strlen(claims)
                  && memcmp(r.payload.data, claims, r.payload.len) == 0);
    cartbot_jwt_result_free(&r);

    /* the key refuses other algorithms and non-object claims */

    CARTBOT_CHECK(cartbot_jwt_sign(&signer.keys[0], CARTBOT_JWT_HS512, claims,
                                   strlen(claims), &b, err, sizeof(err))
                  == -1);
    CARTBOT_CHECK(cartbot_jwt_sign(&signer.keys[0], 0, "[1]", 3, &b, err,
                                   sizeof(err))
                  == -1);

    cartbot_jwt_keyset_free(&signer);

    /* EdDSA with a key generated here: private PEM signs, public verifies */

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    CARTBOT_CHECK(pkey != NULL);
    priv = test_jwt_pem(mem, pkey, 1);
    pub = test_jwt_pem(mem, pkey, 0);
    EVP_PKEY_free(pkey);

    cartbot_jwt_keyset_init(&signer, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&signer, priv, strlen(priv), 0,
                                             "ed-2026", err, sizeof(err))
                  == 0);
    CARTBOT_CHECK(signer.keys[0].private);

    cartbot_jwt_keyset_init(&verifier, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&verifier, pub, strlen(pub), 0,
                                             "ed-2026", err, sizeof(err))
                  == 0);
    CARTBOT_CHECK(!verifier.keys[0].private);

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_jwt_sign(&signer.keys[0], CARTBOT_JWT_EDDSA, claims,
                                   strlen(claims), &b, err, sizeof(err))
                  == 0);
    t = cartbot_buf_cstr(&b);
    CARTBOT_CHECK(strncmp(t, "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Im"
                          "VkLTIwMjYifQ.", 59)
                  == 0);

    TEST_JWT_REASON(cartbot_jwt_verify(&verifier, mem, t, strlen(t), NULL,
                                       TEST_JWT_NOW, &r),
                    CARTBOT_JWT_OK);
    CARTBOT_CHECK_STR(cartbot_json_get_string(r.claims, "sub"),
                      "shopper:42");
    CARTBOT_CHECK(r.alg == CARTBOT_JWT_EDDSA);
    cartbot_jwt_result_free(&r);

    /* a public key cannot sign */

    CARTBOT_CHECK(cartbot_jwt_sign(&verifier.keys[0], 0, claims,
                                   strlen(claims), &b, err, sizeof(err))
                  == -1);
    CARTBOT_CHECK(strstr(err, "public key") != NULL);

    cartbot_jwt_keyset_free(&verifier);
    cartbot_jwt_keyset_free(&signer);

    /* Ed448: a private PEM signs, a JWK of its public key verifies */

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    CARTBOT_CHECK(pkey != NULL);
    priv = test_jwt_pem(mem, pkey, 1);
    len = sizeof(raw);
    CARTBOT_CHECK(EVP_PKEY_get_raw_public_key(pkey, raw, &len) == 1
                  && len == 57);
    EVP_PKEY_free(pkey);

    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_add_str(&b, "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"");
    cartbot_base64_encode(&b, raw, len, 1);
    cartbot_buf_add_str(&b, "\"}");

    cartbot_jwt_keyset_init(&signer, mem);
    cartbot_jwt_keyset_init(&verifier, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&signer, priv, strlen(priv), 0,
                                             NULL, err, sizeof(err))
                  == 0);
    CARTBOT_CHECK(test_jwt_add(&verifier, cartbot_buf_cstr(&b), 0) == 1);

    t = test_jwt_sign(mem, &signer.keys[0], 0, claims);
    TEST_JWT_REASON(test_jwt_check(&verifier, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    cartbot_jwt_keyset_free(&verifier);
    cartbot_jwt_keyset_free(&signer);

    /* jti */

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_jwt_jti(&b) == 0 && b.len == 22);
}


static void
test_jwt_ps256(cartbot_mem_t *mem)
{
    char                   err[256];
    const char            *t, *priv, *pub;
    EVP_PKEY              *pkey;
    cartbot_jwt_result_t   r;
    cartbot_jwt_keyset_t   signer, verifier, rs;

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    CARTBOT_CHECK(pkey != NULL);
    priv = test_jwt_pem(mem, pkey, 1);
    pub = test_jwt_pem(mem, pkey, 0);
    EVP_PKEY_free(pkey);

    cartbot_jwt_keyset_init(&signer, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&signer, priv, strlen(priv),
                                             CARTBOT_JWT_ALGS_PS, NULL, err,
                                             sizeof(err))
                  == 0);

    cartbot_jwt_keyset_init(&verifier, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&verifier, pub, strlen(pub),
                                             CARTBOT_JWT_ALGS_PS, NULL, err,
                                             sizeof(err))
                  == 0);

    cartbot_jwt_keyset_init(&rs, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&rs, pub, strlen(pub),
                      CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_RS256), NULL, err,
                      sizeof(err))
                  == 0);

    t = test_jwt_sign(mem, &signer.keys[0], CARTBOT_JWT_PS256,
                      "{\"sub\":\"ps\",\"exp\":1700000100}");
    CARTBOT_CHECK(t != NULL
                  && strncmp(t, "eyJhbGciOiJQUzI1NiIs", 20) == 0);

    TEST_JWT_REASON(cartbot_jwt_verify(&verifier, mem, t, strlen(t), NULL,
                                       TEST_JWT_NOW, &r),
                    CARTBOT_JWT_OK);
    CARTBOT_CHECK(r.alg == CARTBOT_JWT_PS256);
    CARTBOT_CHECK_STR(cartbot_json_get_string(r.claims, "sub"), "ps");
    cartbot_jwt_result_free(&r);

    /* the same key bound to RS256 refuses PS256 */

    TEST_JWT_REASON(test_jwt_check(&rs, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_ALG_MISMATCH);

    /* PS512 with the same key, and RS256 through the RS-bound one */

    t = test_jwt_sign(mem, &signer.keys[0], CARTBOT_JWT_PS512,
                      "{\"sub\":\"ps\",\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&verifier, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    cartbot_jwt_keyset_free(&signer);

    cartbot_jwt_keyset_init(&signer, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&signer, priv, strlen(priv),
                                             CARTBOT_JWT_ALGS_RS, NULL, err,
                                             sizeof(err))
                  == 0);
    t = test_jwt_sign(mem, &signer.keys[0], CARTBOT_JWT_RS256,
                      "{\"sub\":\"rs\",\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&rs, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    TEST_JWT_REASON(test_jwt_check(&verifier, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_ALG_MISMATCH);

    cartbot_jwt_keyset_free(&signer);
    cartbot_jwt_keyset_free(&rs);
    cartbot_jwt_keyset_free(&verifier);
}


static void
test_jwt_pem_forms(cartbot_mem_t *mem)
{
    BIO                   *bio;
    char                   err[256], *data;
    long                   len;
    X509                  *x509;
    EVP_PKEY              *ec;
    const char            *t, *pem;
    cartbot_buf_t          b;
    cartbot_jwt_keyset_t   ks, rsa;

    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CARTBOT_CHECK(ec != NULL);

    cartbot_jwt_keyset_init(&ks, mem);

    /* "openssl ecparam -genkey": EC PARAMETERS, then EC PRIVATE KEY */

    cartbot_buf_init(&b, mem, 0);
    cartbot_buf_add_str(&b, "TEST-ONLY\n");
    cartbot_buf_add_str(&b, test_jwt_encode(mem, ec,
                                            EVP_PKEY_KEY_PARAMETERS,
                                            "type-specific"));
    cartbot_buf_add_str(&b, test_jwt_encode(mem, ec, EVP_PKEY_KEYPAIR,
                                            "type-specific"));
    pem = cartbot_buf_cstr(&b);
    CARTBOT_CHECK(strstr(pem, "-----BEGIN EC PARAMETERS-----") != NULL
                  && strstr(pem, "-----BEGIN EC PRIVATE KEY-----") != NULL);

    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&ks, pem, strlen(pem), 0, "sec1",
                                             err, sizeof(err))
                  == 0);
    CARTBOT_CHECK(ks.nkeys == 1 && ks.keys[0].private
                  && ks.keys[0].algs == CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_ES256));

    /* SubjectPublicKeyInfo */

    pem = test_jwt_encode(mem, ec, EVP_PKEY_PUBLIC_KEY,
                          "SubjectPublicKeyInfo");
    CARTBOT_CHECK(pem != NULL
                  && cartbot_jwt_keyset_add_pem(&ks, pem, strlen(pem), 0,
                                                "spki", err, sizeof(err))
                     == 0);
    CARTBOT_CHECK(ks.nkeys == 2 && !ks.keys[1].private);

    /* a certificate: its public key */

    x509 = X509_new();
    CARTBOT_CHECK(x509 != NULL
                  && X509_set_version(x509, 2) == 1
                  && ASN1_INTEGER_set(X509_get_serialNumber(x509), 1) == 1
                  && X509_gmtime_adj(X509_getm_notBefore(x509), 0) != NULL
                  && X509_gmtime_adj(X509_getm_notAfter(x509), 3600) != NULL
                  && X509_set_pubkey(x509, ec) == 1
                  && X509_sign(x509, ec, EVP_sha256()) > 0);

    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x509);
    len = BIO_get_mem_data(bio, &data);
    pem = cartbot_strndup(mem, data, (size_t) len);
    BIO_free(bio);
    X509_free(x509);

    CARTBOT_CHECK(strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) == 0
                  && cartbot_jwt_keyset_add_pem(&ks, pem, strlen(pem), 0,
                                                "x509", err, sizeof(err))
                     == 0);
    CARTBOT_CHECK(ks.nkeys == 3 && !ks.keys[2].private
                  && ks.keys[2].algs == CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_ES256));

    /* a token signed by the first verifies with the other two */

    t = test_jwt_make(mem, &ks.keys[0], CARTBOT_JWT_ES256,
                      "{\"alg\":\"ES256\",\"kid\":\"spki\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);
    t = test_jwt_make(mem, &ks.keys[0], CARTBOT_JWT_ES256,
                      "{\"alg\":\"ES256\",\"kid\":\"x509\"}",
                      "{\"exp\":1700000100}");
    TEST_JWT_REASON(test_jwt_check(&ks, mem, t, NULL, TEST_JWT_NOW),
                    CARTBOT_JWT_OK);

    /* an encrypted private key is refused, never prompted for */

    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PKCS8PrivateKey(bio, ec, EVP_aes_256_cbc(), "pass", 4,
                                  NULL, NULL);
    len = BIO_get_mem_data(bio, &data);
    pem = cartbot_strndup(mem, data, (size_t) len);
    BIO_free(bio);

    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&ks, pem, strlen(pem), 0, NULL,
                                             err, sizeof(err))
                  == -1 && strstr(err, "encrypted") != NULL);

    /* PKCS #1 "RSA PUBLIC KEY" */

    cartbot_jwt_keyset_init(&rsa, mem);
    CARTBOT_CHECK(test_jwt_add(&rsa, test_jwt_a2_jwk, CARTBOT_JWT_ALGS_RS)
                  == 1);
    pem = test_jwt_encode(mem, rsa.keys[0].pkey, EVP_PKEY_PUBLIC_KEY,
                          "type-specific");
    CARTBOT_CHECK(pem != NULL
                  && strncmp(pem, "-----BEGIN RSA PUBLIC KEY-----", 30) == 0);
    cartbot_jwt_keyset_free(&rsa);

    cartbot_jwt_keyset_init(&rsa, mem);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&rsa, pem, strlen(pem),
                      CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_RS256), NULL, err,
                      sizeof(err))
                  == 0);
    TEST_JWT_REASON(test_jwt_check(&rsa, mem, test_jwt_a2, NULL,
                                   TEST_JWT_A_NOW),
                    CARTBOT_JWT_OK);
    cartbot_jwt_keyset_free(&rsa);

    EVP_PKEY_free(ec);
    cartbot_jwt_keyset_free(&ks);
}


static void
test_jwt_key_errors(cartbot_mem_t *mem)
{
    char                   err[256];
    const char            *pem, *garbage;
    EVP_PKEY              *pkey;
    cartbot_jwt_keyset_t   ks;

    static const char  bad_d[] =
        "{\"kty\":\"EC\",\"crv\":\"P-256\","
        "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
        "\"d\":\"jpsQnnGQmL-YBIffH1136cLnT8EgfH3cTzP9kGkoFtM\"}";
    static const char  off_curve[] =
        "{\"kty\":\"EC\",\"crv\":\"P-256\","
        "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1\"}";
    static const char  short_x[] =
        "{\"kty\":\"EC\",\"crv\":\"P-256\","
        "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvR\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
    static const char  two_keys_one_bad[] =
        "{\"keys\":[{\"kty\":\"oct\",\"k\":\"YWFhYWFhYWFhYWFhYWFhYWFhYWFh"
        "YWFhYWFhYWFhYWE\"},{\"kty\":\"RSA\",\"n\":\"AQAB\"}]}";


    cartbot_jwt_keyset_init(&ks, mem);

    /* RSA needs its family named, HMAC secrets a length */

    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, test_jwt_a2_jwk,
                      strlen(test_jwt_a2_jwk), 0, err, sizeof(err))
                  == -1 && strstr(err, "RSA key needs") != NULL);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, test_jwt_a2_jwk,
                      strlen(test_jwt_a2_jwk),
                      CARTBOT_JWT_ALGS_RS | CARTBOT_JWT_ALGS_PS, err,
                      sizeof(err))
                  == -1);

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
    pem = test_jwt_pem(mem, pkey, 0);
    EVP_PKEY_free(pkey);
    CARTBOT_CHECK(pem != NULL
                  && cartbot_jwt_keyset_add_pem(&ks, pem, strlen(pem),
                                                CARTBOT_JWT_ALGS_RS, NULL,
                                                err, sizeof(err))
                     == -1
                  && strstr(err, "1024 bits is too short") != NULL);

    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&ks,
                      (const unsigned char *) "short", 5, 0, NULL, err,
                      sizeof(err))
                  == -1 && strstr(err, "too short") != NULL);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&ks,
                      (const unsigned char *) test_jwt_secret,
                      strlen(test_jwt_secret), CARTBOT_JWT_ALGS_HS, NULL, err,
                      sizeof(err))
                  == -1);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_secret(&ks,
                      (const unsigned char *) test_jwt_secret,
                      strlen(test_jwt_secret), CARTBOT_JWT_ALGS_RS, NULL, err,
                      sizeof(err))
                  == -1);

    /* EC: d not matching, a point off the curve, a short coordinate */

    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, bad_d, strlen(bad_d), 0,
                                              err, sizeof(err))
                  == -1);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, off_curve,
                                              strlen(off_curve), 0, err,
                                              sizeof(err))
                  == -1);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, short_x, strlen(short_x),
                                              0, err, sizeof(err))
                  == -1 && strstr(err, "wrong length") != NULL);

    /* all or nothing */

    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, two_keys_one_bad,
                      strlen(two_keys_one_bad), CARTBOT_JWT_ALGS_RS, err,
                      sizeof(err))
                  == -1 && strstr(err, "JWKS key 1") != NULL);

    /* not a JWKS, nothing usable, not PEM */

    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, "{\"keys\":", 8, 0, err,
                                              sizeof(err))
                  == -1 && strstr(err, "not JSON") != NULL);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, "{\"a\":1}", 7, 0, err,
                                              sizeof(err))
                  == -1);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_jwks(&ks, "{\"keys\":[]}", 11, 0,
                                              err, sizeof(err))
                  == -1 && strstr(err, "no usable") != NULL);
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&ks, "hello", 5,
                                             CARTBOT_JWT_ALGS_RS, NULL, err,
                                             sizeof(err))
                  == -1 && strstr(err, "not PEM") != NULL);

    garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    CARTBOT_CHECK(cartbot_jwt_keyset_add_pem(&ks, garbage, strlen(garbage),
                                             CARTBOT_JWT_ALGS_RS, NULL, err,
                                             sizeof(err))
                  == -1 && strstr(err, "cannot read") != NULL);

    CARTBOT_CHECK(ks.nkeys == 0);

    /* names */

    CARTBOT_CHECK(cartbot_jwt_algs_from_name("PS*", 3) == CARTBOT_JWT_ALGS_PS);
    CARTBOT_CHECK(cartbot_jwt_algs_from_name("EdDSA", 5)
                  == CARTBOT_JWT_ALG_BIT(CARTBOT_JWT_EDDSA));
    CARTBOT_CHECK(cartbot_jwt_algs_from_name("ES*", 3) == 0);
    CARTBOT_CHECK(cartbot_jwt_algs_from_name("none", 4) == 0);
    CARTBOT_CHECK_STR(cartbot_jwt_alg_name(CARTBOT_JWT_ES384), "ES384");
    CARTBOT_CHECK_STR(cartbot_jwt_reason_name(CARTBOT_JWT_BAD_SIGNATURE),
                      "bad_signature");
    CARTBOT_CHECK_STR(cartbot_jwt_reason_name(CARTBOT_JWT_REASON_LAST),
                      "internal");

    cartbot_jwt_keyset_free(&ks);
}


const cartbot_test_t  cartbot_jwt_tests[] = {
    { "jwt: RFC 7515 A.1 HS256 vector", test_jwt_rfc7515_hs256 },
    { "jwt: RFC 7515 A.2 RS256 vector", test_jwt_rfc7515_rs256 },
    { "jwt: RFC 7515 A.3 ES256 vector, sign and verify",
      test_jwt_rfc7515_es256 },
    { "jwt: RFC 7515 A.4 ES512 vector", test_jwt_rfc7515_es512 },
    { "jwt: RFC 8037 A.1/A.4/A.5 Ed25519 vector", test_jwt_rfc8037_ed25519 },
    { "jwt: tampered payload, signature, header refused", test_jwt_tampered },
    { "jwt: alg none refused", test_jwt_alg_none },
    { "jwt: HS256 keyed with the RSA public key PEM refused",
      test_jwt_alg_confusion },
    { "jwt: exp, nbf, iat, leeway", test_jwt_time_claims },
    { "jwt: iss, aud, required claims", test_jwt_iss_aud },
    { "jwt: malformed base64url, JSON, header refused", test_jwt_malformed },
    { "jwt: oversized token refused", test_jwt_too_large },
    { "jwt: kid selection in a JWKS with several keys",
      test_jwt_kid_selection },
    { "jwt: sign then verify, HS256, Ed25519, Ed448", test_jwt_roundtrip },
    { "jwt: PS256 with a generated RSA key", test_jwt_ps256 },
    { "jwt: PEM forms: SEC1, SPKI, PKCS #1, certificate, encrypted",
      test_jwt_pem_forms },
    { "jwt: key loading errors", test_jwt_key_errors },
    { NULL, NULL }
};
