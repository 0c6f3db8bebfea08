
/*
 * A small unit-test runner for the Cartbot core.  Each test is a function
 * listed in cartbot_tests[] (test_main.c); CARTBOT_CHECK records failures
 * with file and line and lets the test go on.  The runner's last line is
 * "N passed, N failed".
 */

#ifndef _CARTBOT_TEST_H_INCLUDED_
#define _CARTBOT_TEST_H_INCLUDED_


#include <stdio.h>
#include <string.h>

#include "cartbot_buf.h"


extern int  cartbot_test_failures;


#define CARTBOT_CHECK(cond)                                                  \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "    %s:%d: check failed: %s\n",                 \
                    __FILE__, __LINE__, #cond);                              \
            cartbot_test_failures++;                                         \
        }                                                                    \
    } while (0)

#define CARTBOT_CHECK_STR(got, want)                                         \
    do {                                                                     \
        const char *g_ = (got), *w_ = (want);                                \
        if (g_ == NULL || strcmp(g_, w_) != 0) {                             \
            fprintf(stderr, "    %s:%d: got \"%s\", want \"%s\"\n",          \
                    __FILE__, __LINE__, g_ ? g_ : "(null)", w_);             \
            cartbot_test_failures++;                                         \
        }                                                                    \
    } while (0)


typedef struct {
    const char  *name;
    void       (*run)(cartbot_mem_t *mem);
} cartbot_test_t;


#endif /* _CARTBOT_TEST_H_INCLUDED_ */
