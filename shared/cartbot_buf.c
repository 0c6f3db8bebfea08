
/*
 * Cartbot core: memory and growable byte buffers.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cartbot_buf.h"


struct cartbot_arena_block_s {
    cartbot_arena_block_t  *next;
    /* payload follows, aligned like malloc() */
    max_align_t             data[];
};


static void *cartbot_arena_alloc(void *data, size_t size);


void *
cartbot_alloc(cartbot_mem_t *mem, size_t size)
{
    return mem->alloc(mem->data, size ? size : 1);
}


char *
cartbot_strndup(cartbot_mem_t *mem, const char *s, size_t len)
{
    char  *p;

    p = cartbot_alloc(mem, len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);
    p[len] = '\0';

    return p;
}


void
cartbot_arena_init(cartbot_arena_t *arena)
{
    arena->mem.alloc = cartbot_arena_alloc;
    arena->mem.data = arena;
    arena->blocks = NULL;
}


void
cartbot_arena_free(cartbot_arena_t *arena)
{
    cartbot_arena_block_t  *b, *next;

    for (b = arena->blocks; b; b = next) {
        next = b->next;
        free(b);
    }

    arena->blocks = NULL;
}


static void *
cartbot_arena_alloc(void *data, size_t size)
{
    cartbot_arena_t  *arena = data;

    cartbot_arena_block_t  *b;

    b = malloc(sizeof(cartbot_arena_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = arena->blocks;
    arena->blocks = b;

    return b->data;
}


void
cartbot_buf_init(cartbot_buf_t *b, cartbot_mem_t *mem, size_t size)
{
    b->mem = mem;
    b->len = 0;
    b->cap = 0;
    b->data = NULL;
    b->failed = 0;

    if (size) {
        (void) cartbot_buf_reserve(b, size);
    }
}


int
cartbot_buf_reserve(cartbot_buf_t *b, size_t more)
{
    char    *p;
    size_t   cap;

    if (b->failed) {
        return -1;
    }

    if (b->cap - b->len > more) {
        return 0;
    }

    cap = b->cap ? b->cap * 2 : 256;

    while (cap - b->len <= more) {
        cap *= 2;
    }

    /* pools cannot realloc: the old block is left to its owner */

    p = cartbot_alloc(b->mem, cap);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }

    if (b->len) {
        memcpy(p, b->data, b->len);
    }

    b->data = p;
    b->cap = cap;

    return 0;
}


int
cartbot_buf_add(cartbot_buf_t *b, const void *data, size_t len)
{
    if (cartbot_buf_reserve(b, len) != 0) {
        return -1;
    }

    if (len) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
    }

    return 0;
}


int
cartbot_buf_add_str(cartbot_buf_t *b, const char *s)
{
    return cartbot_buf_add(b, s, strlen(s));
}


int
cartbot_buf_add_char(cartbot_buf_t *b, char c)
{
    return cartbot_buf_add(b, &c, 1);
}


int
cartbot_buf_printf(cartbot_buf_t *b, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = cartbot_buf_vprintf(b, fmt, args);
    va_end(args);

    return rc;
}


int
cartbot_buf_vprintf(cartbot_buf_t *b, const char *fmt, va_list args)
{
    int      n;
    va_list  copy;

    va_copy(copy, args);
    n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);

    if (n < 0 || cartbot_buf_reserve(b, (size_t) n + 1) != 0) {
        b->failed = 1;
        return -1;
    }

    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, args);
    b->len += (size_t) n;

    return 0;
}


const char *
cartbot_buf_cstr(cartbot_buf_t *b)
{
    if (cartbot_buf_reserve(b, 1) != 0) {
        return NULL;
    }

    b->data[b->len] = '\0';

    return b->data;
}
