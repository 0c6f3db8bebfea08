
/*
 * Cartbot core: JSON over yajl.
 *
 * Reading: yajl_tree documents (malloc()ed by yajl: the caller frees them
 * with cartbot_json_free(), the nginx glue through a pool cleanup).
 * Writing: JSON text appended to a cartbot_buf_t.
 */

#ifndef _CARTBOT_JSON_H_INCLUDED_
#define _CARTBOT_JSON_H_INCLUDED_


#include <yajl/yajl_tree.h>

#include "cartbot_buf.h"


/* deepest nesting accepted from outside: bounds yajl's recursion */
#define CARTBOT_JSON_MAX_DEPTH  32


/*
 * Parses len bytes (need not be NUL-terminated).  Returns NULL with a
 * short reason in err on malformed input, or input nested deeper than
 * CARTBOT_JSON_MAX_DEPTH.
 */
yajl_val cartbot_json_parse(const char *text, size_t len, char *err,
    size_t errlen);
void cartbot_json_free(yajl_val v);

/* members of an object by key; NULL when absent or of another type */
yajl_val cartbot_json_get(yajl_val obj, const char *key);
const char *cartbot_json_get_string(yajl_val obj, const char *key);
int cartbot_json_get_int(yajl_val obj, const char *key, long long *value);
int cartbot_json_get_double(yajl_val obj, const char *key, double *value);

size_t cartbot_json_array_len(yajl_val v);
yajl_val cartbot_json_array_at(yajl_val v, size_t i);

/* appends "..." with JSON escaping (control characters, quote, backslash) */
int cartbot_json_add_string(cartbot_buf_t *b, const char *s, size_t len);

/* appends the value re-serialized as compact JSON text */
int cartbot_json_add_value(cartbot_buf_t *b, yajl_val v);


#endif /* _CARTBOT_JSON_H_INCLUDED_ */
