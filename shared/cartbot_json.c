
/*
 * Cartbot core: JSON over yajl.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cartbot_json.h"


static int cartbot_json_too_deep(const char *text, size_t len);


yajl_val
cartbot_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    char      *copy;
    yajl_val   v;

    if (errlen) {
        err[0] = '\0';
    }

    if (cartbot_json_too_deep(text, len)) {
        snprintf(err, errlen, "JSON nested too deeply");
        return NULL;
    }

    /* yajl_tree_parse() wants a C string; a NUL inside is invalid JSON */

    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "NUL byte in JSON text");
        return NULL;
    }

    copy = malloc(len + 1);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    memcpy(copy, text, len);
    copy[len] = '\0';

    v = yajl_tree_parse(copy, err, errlen);

    free(copy);

    if (v == NULL && errlen && err[0] == '\0') {
        snprintf(err, errlen, "invalid JSON");
    }

    return v;
}


void
cartbot_json_free(yajl_val v)
{
    if (v) {
        yajl_tree_free(v);
    }
}


/* counts brackets outside strings: cheap and conservative */

static int
cartbot_json_too_deep(const char *text, size_t len)
{
    int      depth, in_string;
    size_t   i;

    depth = 0;
    in_string = 0;

    for (i = 0; i < len; i++) {

        if (in_string) {
            if (text[i] == '\\') {
                i++;

            } else if (text[i] == '"') {
                in_string = 0;
            }

            continue;
        }

        switch (text[i]) {

        case '"':
            in_string = 1;
            break;

        case '[':
        case '{':
            if (++depth > CARTBOT_JSON_MAX_DEPTH) {
                return 1;
            }
            break;

        case ']':
        case '}':
            depth--;
            break;
        }
    }

    return 0;
}


yajl_val
cartbot_json_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }

    return NULL;
}


const char *
cartbot_json_get_string(yajl_val obj, const char *key)
{
    yajl_val  v;

    v = cartbot_json_get(obj, key);

    /* YAJL_GET_STRING() may be NULL; callers get a checked pointer */

    if (!YAJL_IS_STRING(v)) {
        return NULL;
    }

    return v->u.string;
}


int
cartbot_json_get_int(yajl_val obj, const char *key, long long *value)
{
    yajl_val  v;

    v = cartbot_json_get(obj, key);

    if (!YAJL_IS_INTEGER(v)) {
        return -1;
    }

    *value = v->u.number.i;

    return 0;
}


int
cartbot_json_get_double(yajl_val obj, const char *key, double *value)
{
    yajl_val  v;

    v = cartbot_json_get(obj, key);

    if (!YAJL_IS_DOUBLE(v)) {
        return -1;
    }

    *value = v->u.number.d;

    return 0;
}


size_t
cartbot_json_array_len(yajl_val v)
{
    return YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
}


yajl_val
cartbot_json_array_at(yajl_val v, size_t i)
{
    if (!YAJL_IS_ARRAY(v) || i >= v->u.array.len) {
        return NULL;
    }

    return v->u.array.values[i];
}


int
cartbot_json_add_string(cartbot_buf_t *b, const char *s, size_t len)
{
    char                 esc[8];
    size_t               i, start;
    unsigned char        c;
    static const char    hex[] = "0123456789abcdef";

    if (cartbot_buf_reserve(b, len + 2) != 0) {
        return -1;
    }

    cartbot_buf_add_char(b, '"');

    start = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }

        cartbot_buf_add(b, s + start, i - start);
        start = i + 1;

        switch (c) {
        case '"':  cartbot_buf_add(b, "\\\"", 2); break;
        case '\\': cartbot_buf_add(b, "\\\\", 2); break;
        case '\n': cartbot_buf_add(b, "\\n", 2); break;
        case '\r': cartbot_buf_add(b, "\\r", 2); break;
        case '\t': cartbot_buf_add(b, "\\t", 2); break;
        case '\b': cartbot_buf_add(b, "\\b", 2); break;
        case '\f': cartbot_buf_add(b, "\\f", 2); break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            cartbot_buf_add(b, esc, 6);
        }
    }

    cartbot_buf_add(b, s + start, len - start);

    return cartbot_buf_add_char(b, '"');
}


int
cartbot_json_add_value(cartbot_buf_t *b, yajl_val v)
{
    size_t  i;

    if (v == NULL) {
        return cartbot_buf_add_str(b, "null");
    }

    switch (v->type) {

    case yajl_t_string:
        return cartbot_json_add_string(b, v->u.string, strlen(v->u.string));

    case yajl_t_number:
        /* the original text keeps precision and integer form */
        return cartbot_buf_add_str(b, v->u.number.r);

    case yajl_t_true:
        return cartbot_buf_add_str(b, "true");

    case yajl_t_false:
        return cartbot_buf_add_str(b, "false");

    case yajl_t_object:
        cartbot_buf_add_char(b, '{');

        for (i = 0; i < v->u.object.len; i++) {
            if (i) {
                cartbot_buf_add_char(b, ',');
            }

            cartbot_json_add_string(b, v->u.object.keys[i],
                                    strlen(v->u.object.keys[i]));
            cartbot_buf_add_char(b, ':');
            cartbot_json_add_value(b, v->u.object.values[i]);
        }

        return cartbot_buf_add_char(b, '}');

    case yajl_t_array:
        cartbot_buf_add_char(b, '[');

        for (i = 0; i < v->u.array.len; i++) {
            if (i) {
                cartbot_buf_add_char(b, ',');
            }

            cartbot_json_add_value(b, v->u.array.values[i]);
        }

        return cartbot_buf_add_char(b, ']');

    default:
        return cartbot_buf_add_str(b, "null");
    }
}
