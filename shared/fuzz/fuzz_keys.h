
/*
 * The fixed key set of the Cartbot JWT fuzz harness and of make_corpus:
 * the TEST-ONLY keys in shared/fuzz/keys/.
 *
 *     kid "hs"   HMAC secret (HS256)
 *     kid "rs"   RSA 2048 bound to RS*
 *     kid "ps"   the same RSA key bound to PS*
 *     kid "es"   EC P-256 (ES256)
 *     kid "ed"   Ed25519 (EdDSA)
 *     no kid     the same Ed25519 key
 */

#ifndef _CARTBOT_FUZZ_KEYS_H_INCLUDED_
#define _CARTBOT_FUZZ_KEYS_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>

#include "cartbot_jwt.h"


#ifndef CARTBOT_FUZZ_KEYS
#define CARTBOT_FUZZ_KEYS  "shared/fuzz/keys"
#endif

#define CARTBOT_FUZZ_NOW   1700000000


static char *
fuzz_read_file(const char *dir, const char *name, size_t *len)
{
    char    path[1024];
    char   *text;
    long    size;
    FILE   *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);

    text = malloc((size_t) size + 1);
    if (text == NULL || fread(text, 1, (size_t) size, f) != (size_t) size) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }

    fclose(f);

    text[size] = '\0';
    *len = (size_t) size;

    return text;
}


static void
fuzz_load_keys(cartbot_jwt_keyset_t *ks, const char *dir)
{
    char         err[256], *text;
    size_t       i, len;
    static const struct {
        const char  *file;
        unsigned     algs;
        const char  *kid;
    }  pems[] = {
        { "rsa2048.pem", CARTBOT_JWT_ALGS_RS, "rs" },
        { "rsa2048.pem", CARTBOT_JWT_ALGS_PS, "ps" },
        { "ec-p256.pem", 0, "es" },
        { "ed25519.pem", 0, "ed" },
        { "ed25519.pem", 0, NULL }
    };

    text = fuzz_read_file(dir, "hs256.key", &len);

    if (cartbot_jwt_keyset_add_secret(ks, (unsigned char *) text, len, 0,
                                      "hs", err, sizeof(err))
        != 0)
    {
        fprintf(stderr, "hs256.key: %s\n", err);
        exit(2);
    }

    free(text);

    for (i = 0; i < sizeof(pems) / sizeof(pems[0]); i++) {
        text = fuzz_read_file(dir, pems[i].file, &len);

        if (cartbot_jwt_keyset_add_pem(ks, text, len, pems[i].algs,
                                       pems[i].kid, err, sizeof(err))
            != 0)
        {
            fprintf(stderr, "%s: %s\n", pems[i].file, err);
            exit(2);
        }

        free(text);
    }
}


#endif /* _CARTBOT_FUZZ_KEYS_H_INCLUDED_ */
