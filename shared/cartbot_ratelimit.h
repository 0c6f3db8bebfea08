
/*
 * Cartbot core: rate limiting with a sliding window counter.
 *
 * The arithmetic only: the nginx glue keeps one cartbot_ratelimit_state_t
 * per key and limit in shared memory, holds the zone's mutex around
 * cartbot_ratelimit_check(), and turns decisions into a 429, Retry-After
 * and the RateLimit-Policy / RateLimit fields of
 * draft-ietf-httpapi-ratelimit-headers-10.
 *
 * The algorithm (Cloudflare's, and Kong's "sliding" window): time is cut
 * into fixed windows of W seconds aligned on the epoch (day windows start
 * at 00:00 UTC).  A state counts the units admitted in the current window
 * and in the one before.  At a time e milliseconds into the current
 * window, the sliding count over the last W seconds is estimated as
 *
 *     count = previous * (W - e) / W + current
 *
 * that is, the previous window's units are taken as spread evenly, and
 * only the part of that window still inside [now - W, now) counts.
 *
 * A request of cost c (1 for a request; tokens, bytes...) is admitted
 * when count + c <= limit + burst, and then counted.  Refused requests
 * are not counted, so a client that keeps knocking still gets in when its
 * rate falls back.
 *
 * Burst.  limit is the quota advertised to clients (RateLimit-Policy
 * q=limit) and remaining counts down to 0 against it.  burst B is a
 * tolerance on top of it: up to B units more are admitted within any
 * sliding window, while remaining stays 0.  A client that paces itself by
 * the headers never touches the burst; one that overshoots briefly (a page
 * opening many requests at once, retries) gets B more before it is
 * refused, and those units count, so it waits longer afterwards.  The
 * hard ceiling is therefore limit + B units per sliding window (at most
 * 2^32 - 1).
 *
 * Several limits on one request (say 300/min and 5000/day): check each on
 * a copy of its state and store the copies back only if every check
 * admitted the request; the same for a dry run (check a copy, store
 * nothing).
 *
 * Clock: now_ms may go backwards (NTP steps): the state is never rolled
 * back, and a time before the current window counts as its first
 * millisecond, the most conservative reading.  Nothing here reads the
 * clock, keeps global state, or loops: each call is O(1).
 */

#ifndef _CARTBOT_RATELIMIT_H_INCLUDED_
#define _CARTBOT_RATELIMIT_H_INCLUDED_


#include <stdint.h>

#include "cartbot_buf.h"


/* a week: keeps every product of the arithmetic within 64 bits */
#define CARTBOT_RATELIMIT_MAX_WINDOW  (7 * 86400)


/*
 * Lives in shared memory: plain data, no pointers, 24 bytes.  A zeroed
 * state is a fresh one; a state last used with another window (the
 * configuration changed across a reload) starts afresh.
 */

typedef struct {
    int64_t    start;      /* ms since the epoch: the current window */
    uint32_t   current;    /* units admitted in the current window */
    uint32_t   previous;   /* units admitted in the window before */
    uint32_t   window;     /* seconds: the window these counts are for */
    uint32_t   reserved;
} cartbot_ratelimit_state_t;


typedef struct {
    unsigned   allowed;    /* 1: admitted (and counted), 0: refused */
    uint32_t   limit;      /* RateLimit-Policy q */
    uint32_t   window;     /* RateLimit-Policy w, seconds */
    uint32_t   remaining;  /* RateLimit r: limit - ceil(count), >= 0 */

    /*
     * RateLimit t, seconds: when admitted, until remaining grows by one
     * (0 when nothing is counted); when refused, the same as retry_after.
     */
    uint32_t   reset;

    /*
     * Refused only: the seconds (>= 1) until the same request would be
     * admitted if no other came.  0 when the cost exceeds limit + burst
     * and can never be admitted: answer that it is too large, not 429.
     */
    uint32_t   retry_after;
} cartbot_ratelimit_decision_t;


/*
 * Checks and counts a request of cost units at now_ms (milliseconds since
 * the epoch) against limit units per window seconds plus burst.  Fills d.
 * Returns 1 when admitted, 0 when refused, -1 when window is 0 or longer
 * than CARTBOT_RATELIMIT_MAX_WINDOW (d is then a refusal).  A cost of 0
 * only reports.
 */
int cartbot_ratelimit_check(cartbot_ratelimit_state_t *state, uint32_t limit,
    uint32_t window, uint32_t burst, int64_t now_ms, uint32_t cost,
    cartbot_ratelimit_decision_t *d);

/*
 * Adds delta units to the current window, or takes -delta off it (never
 * below 0): to settle a reservation once the real cost is known (LLM
 * tokens).  Returns -1 for a bad window, like cartbot_ratelimit_check().
 */
int cartbot_ratelimit_add(cartbot_ratelimit_state_t *state, uint32_t window,
    int64_t now_ms, int64_t delta);

/*
 * Appends one item of a RateLimit-Policy field, "name";q=<limit>;w=<window>,
 * or of a RateLimit field, "name";r=<remaining>;t=<reset>.  Several items
 * are joined by the caller with ", ".  name is sent as a structured-field
 * string: printable ASCII only (-1 otherwise), '"' and '\' escaped.
 */
int cartbot_ratelimit_policy_item(cartbot_buf_t *b, const char *name,
    uint32_t limit, uint32_t window);
int cartbot_ratelimit_item(cartbot_buf_t *b, const char *name,
    const cartbot_ratelimit_decision_t *d);


#endif /* _CARTBOT_RATELIMIT_H_INCLUDED_ */
