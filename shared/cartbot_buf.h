
/*
 * Cartbot core: memory and growable byte buffers.
 *
 * The core never calls malloc() behind the caller's back: every allocation
 * goes through a cartbot_mem_t, which the nginx glue points at a request
 * pool and the command-line tool and unit tests point at an arena.  Blocks
 * are never freed one by one; their owner frees them all at once.
 */

#ifndef _CARTBOT_BUF_H_INCLUDED_
#define _CARTBOT_BUF_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>


typedef struct {
    void                  *(*alloc)(void *data, size_t size);
    void                   *data;
} cartbot_mem_t;


typedef struct {
    size_t                  len;
    const char             *data;
} cartbot_str_t;


typedef struct {
    char                   *data;
    size_t                  len;
    size_t                  cap;
    cartbot_mem_t          *mem;
    unsigned                failed:1;
} cartbot_buf_t;


/* a malloc()-backed arena: for the CLI and the unit tests */

typedef struct cartbot_arena_block_s  cartbot_arena_block_t;

typedef struct {
    cartbot_mem_t           mem;
    cartbot_arena_block_t  *blocks;
} cartbot_arena_t;


#define cartbot_str(s)      { sizeof(s) - 1, (s) }
#define cartbot_str_eq(s, lit)                                               \
    ((s)->len == sizeof(lit) - 1 && memcmp((s)->data, lit, (s)->len) == 0)


void *cartbot_alloc(cartbot_mem_t *mem, size_t size);
char *cartbot_strndup(cartbot_mem_t *mem, const char *s, size_t len);

void cartbot_arena_init(cartbot_arena_t *arena);
void cartbot_arena_free(cartbot_arena_t *arena);

void cartbot_buf_init(cartbot_buf_t *b, cartbot_mem_t *mem, size_t size);
int cartbot_buf_reserve(cartbot_buf_t *b, size_t more);
int cartbot_buf_add(cartbot_buf_t *b, const void *data, size_t len);
int cartbot_buf_add_str(cartbot_buf_t *b, const char *s);
int cartbot_buf_add_char(cartbot_buf_t *b, char c);
int cartbot_buf_printf(cartbot_buf_t *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
int cartbot_buf_vprintf(cartbot_buf_t *b, const char *fmt, va_list args);

/* NUL-terminates without counting the NUL in len; NULL on failure */
const char *cartbot_buf_cstr(cartbot_buf_t *b);


#endif /* _CARTBOT_BUF_H_INCLUDED_ */
