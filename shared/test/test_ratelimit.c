
/* unit tests: cartbot_ratelimit (sliding window counter) */

#include "cartbot_test.h"
#include "cartbot_ratelimit.h"


/* the start of a minute (and of a UTC day: 2023-11-15 00:00:00) */
#define TEST_RL_MIN  INT64_C(1700000040000)
#define TEST_RL_DAY  INT64_C(1700006400000)


static void
test_ratelimit_minute(cartbot_mem_t *mem)
{
    int                            i, ok;
    cartbot_ratelimit_state_t      s;
    cartbot_ratelimit_decision_t   d;

    (void) mem;

    memset(&s, 0, sizeof(cartbot_ratelimit_state_t));

    /* 30 requests spread from 10 s to 12.9 s into the minute */

    ok = 1;

    for (i = 0; i < 30; i++) {
        if (cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 10000
                                                    + i * 100, 1, &d)
            != 1
            || !d.allowed || d.remaining != (uint32_t) (29 - i)
            || d.retry_after != 0 || d.limit != 30 || d.window != 60)
        {
            ok = 0;
        }

        if (i == 0) {
            /*
             * one request weighs fully to the end of this minute, then
             * fades over the next: remaining is back to 30 in 110 s
             */
            CARTBOT_CHECK(d.reset == 110);
        }
    }

    CARTBOT_CHECK(ok);
    CARTBOT_CHECK(s.current == 30 && s.previous == 0
                  && s.start == TEST_RL_MIN && s.window == 60);

    /* the 31st, at 20 s: refused until 40 s (this minute) + 2 s (1/30) */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 20000,
                                          1, &d)
                  == 0);
    CARTBOT_CHECK(!d.allowed && d.remaining == 0);
    CARTBOT_CHECK(d.retry_after == 42 && d.reset == 42);
    CARTBOT_CHECK(s.current == 30);

    /* refused requests do not count: the same answer, a second later */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 21000,
                                          1, &d)
                  == 0 && d.retry_after == 41);

    /* and at the time given, it passes */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 61999,
                                          1, &d)
                  == 0);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 62000,
                                          1, &d)
                  == 1 && d.remaining == 0);

    /* a cost of 0 reports without counting */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 62000,
                                          0, &d)
                  == 1 && s.current == 1 && s.previous == 30);
}


static void
test_ratelimit_slides(cartbot_mem_t *mem)
{
    int                            i, n;
    cartbot_ratelimit_state_t      s;
    cartbot_ratelimit_decision_t   d;

    (void) mem;

    memset(&s, 0, sizeof(cartbot_ratelimit_state_t));

    for (i = 0; i < 30; i++) {
        CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0,
                                              TEST_RL_MIN + 50000, 1, &d)
                      == 1);
    }

    /* half a minute into the next window, about half of those 30 weigh */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 90000,
                                          0, &d)
                  == 1 && d.remaining == 15);

    n = 0;

    while (cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 90000, 1, &d)
           == 1)
    {
        n++;
    }

    CARTBOT_CHECK(n == 15);
    CARTBOT_CHECK(s.previous == 30 && s.current == 15);

    /* one more unit as the old window fades: 30 * 2 s / 60 s */

    CARTBOT_CHECK(d.retry_after == 2);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 91999,
                                          1, &d)
                  == 0);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 92000,
                                          1, &d)
                  == 1);

    /* three quarters in: a quarter of the old window still weighs */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 105000,
                                          0, &d)
                  == 1);
    CARTBOT_CHECK(d.remaining == 30 - 8 - 16);
}


static void
test_ratelimit_new_window(cartbot_mem_t *mem)
{
    int                            i;
    cartbot_ratelimit_state_t      s;
    cartbot_ratelimit_decision_t   d;

    (void) mem;

    memset(&s, 0, sizeof(cartbot_ratelimit_state_t));

    for (i = 0; i < 30; i++) {
        (void) cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 1000, 1,
                                       &d);
    }

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 1000,
                                          1, &d)
                  == 0);

    /* the next window: the old count becomes the previous one */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 60000,
                                          0, &d)
                  == 1 && s.previous == 30 && s.current == 0
                  && d.remaining == 0);

    /* two windows later: nothing weighs any more */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 120000,
                                          1, &d)
                  == 1 && s.previous == 0 && s.current == 1
                  && d.remaining == 29);

    /* long idle */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0,
                                          TEST_RL_MIN + 3600000 + 5, 1, &d)
                  == 1 && s.previous == 0 && s.current == 1
                  && s.start == TEST_RL_MIN + 3600000 && d.remaining == 29);

    /* the same state used with another window starts afresh */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 100, 3600, 0,
                                          TEST_RL_MIN + 3600000 + 5, 1, &d)
                  == 1 && s.window == 3600 && s.current == 1
                  && d.remaining == 99);

    /* windows out of range */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 0, 0, TEST_RL_MIN, 1, &d)
                  == -1 && !d.allowed);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 8 * 86400, 0, TEST_RL_MIN,
                                          1, &d)
                  == -1);
    CARTBOT_CHECK(cartbot_ratelimit_add(&s, 0, TEST_RL_MIN, 1) == -1);
}


static void
test_ratelimit_burst(cartbot_mem_t *mem)
{
    int                            i, ok;
    cartbot_ratelimit_state_t      s;
    cartbot_ratelimit_decision_t   d;

    (void) mem;

    memset(&s, 0, sizeof(cartbot_ratelimit_state_t));

    /* 10 per minute and a burst of 5: 15 pass, remaining stays 0 */

    ok = 1;

    for (i = 0; i < 15; i++) {
        if (cartbot_ratelimit_check(&s, 10, 60, 5, TEST_RL_MIN + 1000, 1, &d)
            != 1
            || d.remaining != (uint32_t) (i < 10 ? 9 - i : 0))
        {
            ok = 0;
        }
    }

    CARTBOT_CHECK(ok);

    /*
     * in the burst, t is when remaining grows again (count <= 9):
     * 59 s + 60 s * 6 / 15
     */

    CARTBOT_CHECK(d.reset == 59 + 24);

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 10, 60, 5, TEST_RL_MIN + 1000,
                                          1, &d)
                  == 0);
    CARTBOT_CHECK(d.remaining == 0 && s.current == 15);

    /* admitted again once the count is 14: 59 s + 60 s / 15 */

    CARTBOT_CHECK(d.retry_after == 63 && d.reset == 63);

    /* the burst units count: the next minute starts at 15, not 10 */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 10, 60, 5, TEST_RL_MIN + 60000,
                                          1, &d)
                  == 0);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 10, 60, 5, TEST_RL_MIN + 64000,
                                          1, &d)
                  == 1 && d.remaining == 0);
}


static void
test_ratelimit_day(cartbot_mem_t *mem)
{
    int                            i, ok;
    cartbot_ratelimit_state_t      s;
    cartbot_ratelimit_decision_t   d;

    (void) mem;

    memset(&s, 0, sizeof(cartbot_ratelimit_state_t));

    CARTBOT_CHECK(TEST_RL_DAY % 86400000 == 0);

    /* 1000 a day, all used at 10:00 UTC */

    ok = 1;

    for (i = 0; i < 1000; i++) {
        if (cartbot_ratelimit_check(&s, 1000, 86400, 0,
                                    TEST_RL_DAY + 10 * 3600000, 1, &d)
            != 1)
        {
            ok = 0;
        }
    }

    CARTBOT_CHECK(ok && d.remaining == 0);
    CARTBOT_CHECK(s.start == TEST_RL_DAY && s.window == 86400);

    /* at 23:00: one hour to midnight, then 86.4 s for one unit to fade */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 1000, 86400, 0,
                                          TEST_RL_DAY + 23 * 3600000, 1, &d)
                  == 0);
    CARTBOT_CHECK(d.retry_after == 3600 + 87);

    /* at 12:00 the next day about half the day weighs */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 1000, 86400, 0,
                                          TEST_RL_DAY + 36 * 3600000, 0, &d)
                  == 1 && d.remaining == 500);
}


static void
test_ratelimit_clock_backwards(cartbot_mem_t *mem)
{
    int                            i;
    cartbot_ratelimit_state_t      s, copy;
    cartbot_ratelimit_decision_t   d;

    (void) mem;

    memset(&s, 0, sizeof(cartbot_ratelimit_state_t));

    for (i = 0; i < 30; i++) {
        (void) cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 30000, 1,
                                       &d);
    }

    copy = s;

    /* five minutes back, a second back, before the epoch: still refused */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0,
                                          TEST_RL_MIN - 300000, 1, &d)
                  == 0 && d.retry_after == 62);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 29000,
                                          1, &d)
                  == 0);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, -5, 1, &d) == 0);
    CARTBOT_CHECK(memcmp(&s, &copy, sizeof(cartbot_ratelimit_state_t)) == 0);

    /* forward again, all as before */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 62000,
                                          1, &d)
                  == 1);

    /* a damaged state (a window start not on a boundary) starts afresh */

    s.start += 7;
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 30, 60, 0, TEST_RL_MIN + 62000,
                                          1, &d)
                  == 1 && d.remaining == 29);
}


static void
test_ratelimit_costs(cartbot_mem_t *mem)
{
    int                            i;
    cartbot_ratelimit_state_t      s;
    cartbot_ratelimit_decision_t   d;

    (void) mem;

    memset(&s, 0, sizeof(cartbot_ratelimit_state_t));

    /* 100 tokens a minute, requests of 30 */

    for (i = 0; i < 3; i++) {
        CARTBOT_CHECK(cartbot_ratelimit_check(&s, 100, 60, 0,
                                              TEST_RL_MIN + 1000, 30, &d)
                      == 1);
    }

    CARTBOT_CHECK(d.remaining == 10);

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 100, 60, 0, TEST_RL_MIN + 1000,
                                          30, &d)
                  == 0 && d.remaining == 10);

    /* 59 s to the next window, then 20/90 of it */

    CARTBOT_CHECK(d.retry_after == 59 + 14);

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 100, 60, 0, TEST_RL_MIN + 1000,
                                          10, &d)
                  == 1 && d.remaining == 0);

    /* never: more than limit + burst */

    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 100, 60, 5, TEST_RL_MIN + 1000,
                                          106, &d)
                  == 0 && d.retry_after == 0);

    /* settling a reservation: 100 reserved, 40 used */

    CARTBOT_CHECK(cartbot_ratelimit_add(&s, 60, TEST_RL_MIN + 2000, -60) == 0);
    CARTBOT_CHECK(s.current == 40);
    CARTBOT_CHECK(cartbot_ratelimit_add(&s, 60, TEST_RL_MIN + 2000, -500)
                  == 0 && s.current == 0);
    CARTBOT_CHECK(cartbot_ratelimit_add(&s, 60, TEST_RL_MIN + 2000, 70) == 0);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, 100, 60, 0, TEST_RL_MIN + 2000,
                                          31, &d)
                  == 0);

    /* the largest values do not overflow */

    memset(&s, 0, sizeof(cartbot_ratelimit_state_t));
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, UINT32_MAX, 7 * 86400,
                                          UINT32_MAX, TEST_RL_MIN,
                                          UINT32_MAX, &d)
                  == 1 && d.remaining == 0 && s.current == UINT32_MAX);
    CARTBOT_CHECK(cartbot_ratelimit_check(&s, UINT32_MAX, 7 * 86400,
                                          UINT32_MAX, TEST_RL_MIN + 1000,
                                          1, &d)
                  == 0 && d.retry_after > 0 && s.current == UINT32_MAX);
}


static void
test_ratelimit_headers(cartbot_mem_t *mem)
{
    cartbot_buf_t                  b;
    cartbot_ratelimit_decision_t   d;

    memset(&d, 0, sizeof(cartbot_ratelimit_decision_t));
    d.remaining = 0;
    d.reset = 42;

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_ratelimit_policy_item(&b, "per-minute", 30, 60)
                  == 0);
    cartbot_buf_add_str(&b, ", ");
    CARTBOT_CHECK(cartbot_ratelimit_policy_item(&b, "daily", 5000, 86400)
                  == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b),
                      "\"per-minute\";q=30;w=60, \"daily\";q=5000;w=86400");

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_ratelimit_item(&b, "per-minute", &d) == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), "\"per-minute\";r=0;t=42");

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_ratelimit_item(&b, "a\"b\\c", &d) == 0);
    CARTBOT_CHECK_STR(cartbot_buf_cstr(&b), "\"a\\\"b\\\\c\";r=0;t=42");

    cartbot_buf_init(&b, mem, 0);
    CARTBOT_CHECK(cartbot_ratelimit_item(&b, "a\nb", &d) == -1);
    CARTBOT_CHECK(cartbot_ratelimit_policy_item(&b, "\xc3\xa9", 1, 1) == -1);
    CARTBOT_CHECK(b.len == 0);
}


const cartbot_test_t  cartbot_ratelimit_tests[] = {
    { "ratelimit: 31st request at 30/min refused, Retry-After",
      test_ratelimit_minute },
    { "ratelimit: the window slides", test_ratelimit_slides },
    { "ratelimit: a new window resets", test_ratelimit_new_window },
    { "ratelimit: burst lets B more through, then refuses",
      test_ratelimit_burst },
    { "ratelimit: day windows", test_ratelimit_day },
    { "ratelimit: clock going backwards is harmless",
      test_ratelimit_clock_backwards },
    { "ratelimit: costs above 1, settling reservations",
      test_ratelimit_costs },
    { "ratelimit: RateLimit-Policy and RateLimit items",
      test_ratelimit_headers },
    { NULL, NULL }
};
