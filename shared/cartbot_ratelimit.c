
/*
 * Cartbot core: rate limiting with a sliding window counter.
 *
 * Counts are scaled by W (the window in milliseconds) so that the weighted
 * count is exact in integers: count * W = previous * (W - e) + current * W.
 * With counts below 2^32 and W below 2^30, every product fits in 64 bits.
 */

#include <string.h>

#include "cartbot_ratelimit.h"


static int cartbot_ratelimit_roll(cartbot_ratelimit_state_t *state,
    uint32_t window, int64_t now_ms, uint64_t *elapsed);
static uint64_t cartbot_ratelimit_wait(uint64_t prev, uint64_t cur,
    uint64_t w, uint64_t e, uint64_t target);
static uint32_t cartbot_ratelimit_seconds(uint64_t ms);
static int cartbot_ratelimit_name(cartbot_buf_t *b, const char *name);


/*
 * Moves the state to the window holding now_ms and sets the milliseconds
 * elapsed in it.  -1 for a bad window.
 */

static int
cartbot_ratelimit_roll(cartbot_ratelimit_state_t *state, uint32_t window,
    int64_t now_ms, uint64_t *elapsed)
{
    int64_t  w, start;

    if (window == 0 || window > CARTBOT_RATELIMIT_MAX_WINDOW) {
        return -1;
    }

    w = (int64_t) window * 1000;

    if (now_ms < 0) {
        now_ms = 0;
    }

    start = now_ms - now_ms % w;

    /* fresh, reconfigured, or damaged: start afresh */

    if (state->window != window || state->start < 0
        || state->start % w != 0)
    {
        memset(state, 0, sizeof(cartbot_ratelimit_state_t));
        state->window = window;
        state->start = start;
    }

    if (start > state->start) {
        state->previous = (start - state->start == w) ? state->current : 0;
        state->current = 0;
        state->start = start;
    }

    /* the clock went back: hold the window, read now as its start */

    if (now_ms < state->start) {
        now_ms = state->start;
    }

    *elapsed = (uint64_t) (now_ms - state->start);

    return 0;
}


/*
 * Milliseconds from e until the count falls to target or below, with no
 * new request: first the previous window fades out over the rest of this
 * one, then the current one fades out over the next.  At most 2 W.
 */

static uint64_t
cartbot_ratelimit_wait(uint64_t prev, uint64_t cur, uint64_t w, uint64_t e,
    uint64_t target)
{
    uint64_t  at;

    if (prev * (w - e) + cur * w <= target * w) {
        return 0;
    }

    if (cur <= target) {
        /* prev > 0 here: prev * (w - at) <= (target - cur) * w */
        at = w - (target - cur) * w / prev;
        return at - e;
    }

    /* in the next window: cur * (w - at) <= target * w */

    at = w - target * w / cur;

    return (w - e) + at;
}


static uint32_t
cartbot_ratelimit_seconds(uint64_t ms)
{
    return (uint32_t) ((ms + 999) / 1000);
}


int
cartbot_ratelimit_check(cartbot_ratelimit_state_t *state, uint32_t limit,
    uint32_t window, uint32_t burst, int64_t now_ms, uint32_t cost,
    cartbot_ratelimit_decision_t *d)
{
    uint64_t  w, e, prev, cur, cap, scaled, count, used, target;

    memset(d, 0, sizeof(cartbot_ratelimit_decision_t));
    d->limit = limit;
    d->window = window;

    if (cartbot_ratelimit_roll(state, window, now_ms, &e) != 0) {
        return -1;
    }

    w = (uint64_t) window * 1000;
    prev = state->previous;
    cur = state->current;
    cap = (uint64_t) limit + burst;

    /* counts stay within their 32 bits */

    if (cap > UINT32_MAX) {
        cap = UINT32_MAX;
    }

    scaled = prev * (w - e) + cur * w;

    if (scaled + (uint64_t) cost * w <= cap * w) {
        d->allowed = 1;

        cur += cost;
        state->current = (uint32_t) cur;

        scaled += (uint64_t) cost * w;
    }

    /* what the client has used, rounded up: remaining never overstates */

    count = (scaled + w - 1) / w;
    d->remaining = (count >= limit) ? 0 : (uint32_t) (limit - count);

    if (d->allowed) {
        if (count == 0 || limit == 0) {
            d->reset = 0;

        } else {
            used = (count > limit) ? limit : count;
            d->reset = cartbot_ratelimit_seconds(
                           cartbot_ratelimit_wait(prev, cur, w, e, used - 1));
        }

        return 1;
    }

    if (cost > cap) {
        d->retry_after = 0;
        d->reset = 0;
        return 0;
    }

    target = cap - cost;

    d->retry_after = cartbot_ratelimit_seconds(
                         cartbot_ratelimit_wait(prev, cur, w, e, target));

    if (d->retry_after == 0) {
        d->retry_after = 1;
    }

    d->reset = d->retry_after;

    return 0;
}


int
cartbot_ratelimit_add(cartbot_ratelimit_state_t *state, uint32_t window,
    int64_t now_ms, int64_t delta)
{
    int64_t   cur;
    uint64_t  e;

    if (cartbot_ratelimit_roll(state, window, now_ms, &e) != 0) {
        return -1;
    }

    if (delta > (int64_t) UINT32_MAX) {
        delta = UINT32_MAX;

    } else if (delta < -(int64_t) UINT32_MAX) {
        delta = -(int64_t) UINT32_MAX;
    }

    cur = (int64_t) state->current + delta;

    if (cur < 0) {
        cur = 0;

    } else if (cur > (int64_t) UINT32_MAX) {
        cur = UINT32_MAX;
    }

    state->current = (uint32_t) cur;

    return 0;
}


/* an sf-string (RFC 9651 section 3.3.3) */

static int
cartbot_ratelimit_name(cartbot_buf_t *b, const char *name)
{
    const unsigned char  *p;

    for (p = (const unsigned char *) name; *p; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            return -1;
        }
    }

    cartbot_buf_add_char(b, '"');

    for (p = (const unsigned char *) name; *p; p++) {
        if (*p == '"' || *p == '\\') {
            cartbot_buf_add_char(b, '\\');
        }

        cartbot_buf_add_char(b, (char) *p);
    }

    return cartbot_buf_add_char(b, '"');
}


int
cartbot_ratelimit_policy_item(cartbot_buf_t *b, const char *name,
    uint32_t limit, uint32_t window)
{
    if (cartbot_ratelimit_name(b, name) != 0) {
        return -1;
    }

    return cartbot_buf_printf(b, ";q=%u;w=%u", (unsigned) limit,
                              (unsigned) window);
}


int
cartbot_ratelimit_item(cartbot_buf_t *b, const char *name,
    const cartbot_ratelimit_decision_t *d)
{
    if (cartbot_ratelimit_name(b, name) != 0) {
        return -1;
    }

    return cartbot_buf_printf(b, ";r=%u;t=%u", (unsigned) d->remaining,
                              (unsigned) d->reset);
}
