
/*
 * Cartbot: lanes.  Writes that the database serializes anyway (the
 * changes of one cart conflict on its session record) are queued here,
 * one at a time per key within a worker, instead of racing into the
 * database, failing on a write conflict and backing off.  Across workers
 * the database still decides; the lanes only keep a worker from competing
 * with itself.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_cartbot.h"


typedef struct {
    ngx_rbtree_node_t              node;       /* key: crc32 of the key */
    ngx_queue_t                    waiters;
    ngx_http_cartbot_lanes_t      *lanes;
    size_t                         len;
    u_char                         key[1];
} ngx_http_cartbot_lane_t;


static void ngx_http_cartbot_lane_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_cartbot_lane_t *ngx_http_cartbot_lane_find(
    ngx_http_cartbot_lanes_t *lanes, ngx_str_t *key, uint32_t hash);
static void ngx_http_cartbot_lane_cleanup(void *data);


void
ngx_http_cartbot_lanes_init(ngx_http_cartbot_lanes_t *lanes)
{
    ngx_rbtree_init(&lanes->rbtree, &lanes->sentinel,
                    ngx_http_cartbot_lane_insert);
}


/*
 * NGX_OK: the request holds the lane and goes on now.  NGX_AGAIN: it
 * waits; "go" runs when its turn comes.  The lane is left when the
 * request ends (pool cleanup), answered or aborted.
 */

ngx_int_t
ngx_http_cartbot_lane_enter(ngx_http_request_t *r,
    ngx_http_cartbot_lanes_t *lanes, ngx_str_t *key,
    ngx_http_cartbot_lane_waiter_t *w, ngx_http_event_handler_pt go)
{
    uint32_t                  hash;
    ngx_pool_cleanup_t       *cln;
    ngx_http_cartbot_lane_t  *lane;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    hash = ngx_crc32_short(key->data, key->len);

    lane = ngx_http_cartbot_lane_find(lanes, key, hash);

    w->request = r;
    w->go = go;
    w->holding = 0;

    cln->handler = ngx_http_cartbot_lane_cleanup;
    cln->data = w;

    if (lane == NULL) {
        lane = ngx_alloc(sizeof(ngx_http_cartbot_lane_t) + key->len,
                         r->connection->log);
        if (lane == NULL) {
            cln->handler = NULL;
            return NGX_ERROR;
        }

        lane->node.key = hash;
        lane->lanes = lanes;
        lane->len = key->len;
        ngx_memcpy(lane->key, key->data, key->len);
        ngx_queue_init(&lane->waiters);

        ngx_rbtree_insert(&lanes->rbtree, &lane->node);

        w->lane = lane;
        w->holding = 1;

        return NGX_OK;
    }

    /* busy: wait behind the others */

    w->lane = lane;
    ngx_queue_insert_tail(&lane->waiters, &w->queue);

    r->write_event_handler = ngx_http_request_empty_handler;
    r->read_event_handler = ngx_http_cartbot_check_broken_connection;

    return NGX_AGAIN;
}


static void
ngx_http_cartbot_lane_cleanup(void *data)
{
    ngx_http_cartbot_lane_leave(data);
}


/*
 * Leaves the lane, or the queue, once; a waiting request is woken.  A
 * subrequest's pool is its main request's, so a write made for another
 * module leaves when it is done, not when the main request ends.
 */

void
ngx_http_cartbot_lane_leave(ngx_http_cartbot_lane_waiter_t *w)
{
    ngx_queue_t                     *q;
    ngx_connection_t                *c;
    ngx_http_request_t              *r;
    ngx_http_cartbot_lane_t         *lane;
    ngx_http_cartbot_lane_waiter_t  *next;

    lane = w->lane;

    if (lane == NULL) {
        return;
    }

    w->lane = NULL;

    if (!w->holding) {
        /* gone while waiting */
        ngx_queue_remove(&w->queue);
        return;
    }

    w->holding = 0;

    if (ngx_queue_empty(&lane->waiters)) {
        ngx_rbtree_delete(&lane->lanes->rbtree, &lane->node);
        ngx_free(lane);
        return;
    }

    /* hand the lane to the next request and wake it on its connection */

    q = ngx_queue_head(&lane->waiters);
    ngx_queue_remove(q);

    next = ngx_queue_data(q, ngx_http_cartbot_lane_waiter_t, queue);
    next->holding = 1;

    r = next->request;
    c = r->connection;
    r->write_event_handler = next->go;

    /* a subrequest runs from the posted requests of its connection */

    if (r != r->main && ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "cartbot lane: a waiting subrequest was not woken");
    }

    ngx_post_event(c->write, &ngx_posted_events);
}


static ngx_http_cartbot_lane_t *
ngx_http_cartbot_lane_find(ngx_http_cartbot_lanes_t *lanes, ngx_str_t *key,
    uint32_t hash)
{
    ngx_int_t                 rc;
    ngx_rbtree_node_t        *node, *sentinel;
    ngx_http_cartbot_lane_t  *lane;

    node = lanes->rbtree.root;
    sentinel = lanes->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        lane = (ngx_http_cartbot_lane_t *) node;

        rc = ngx_memn2cmp(key->data, lane->key, key->len, lane->len);

        if (rc == 0) {
            return lane;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_cartbot_lane_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t        **p;
    ngx_http_cartbot_lane_t   *a, *b;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_http_cartbot_lane_t *) node;
            b = (ngx_http_cartbot_lane_t *) temp;

            p = (ngx_memn2cmp(a->key, b->key, a->len, b->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
