#!/usr/bin/perl

# The SurrealDB client: service accounts enforced by the database,
# variables that look like SurrealQL stored as plain text, statement errors
# as JSON.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

# a relay that holds each database connection one second
my $slow = $t->start_slow_db(1);

$t->write_conf(<<"CONF" . <<'CONF');
    upstream slow_surrealdb {
        server  127.0.0.1:$slow;
    }
CONF
    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;

        location = /t/product/create {
            cartbot_product_db_query
                "CREATE product SET name = $name, price = 9.5 RETURN VALUE name"
                name=$http_x_name;
        }

        location = /t/product/by-name {
            cartbot_product_db_query
                "SELECT VALUE name FROM product WHERE name = $name"
                name=$http_x_name;
        }

        location = /t/product/count {
            cartbot_product_db_query "count(SELECT id FROM product)";
        }

        location = /t/product/throw {
            cartbot_product_db_query "THROW 'boom: ' + $what"
                what=$http_x_what;
        }

        location = /t/product/broken {
            cartbot_product_db_query "SELEKT * FROM product";
        }

        location = /_t/slow/sql {
            include  cartbot/db_proxy.conf;
            proxy_read_timeout  5s;
            proxy_pass  http://slow_surrealdb/sql;
        }

        location = /t/product/parallel {
            cartbot_product_db  /_t/slow/sql  signin=/_cartbot/db/signin
                                credentials=secrets/product.json;
            cartbot_product_db_query "RETURN 'first'";
            cartbot_product_db_query "RETURN 'second'";
            cartbot_product_db_query "RETURN $n" n=$arg_n;
        }

        location = /t/product/parallel-failing {
            cartbot_product_db_query "RETURN 'fine'";
            cartbot_product_db_query "THROW 'the second one failed'";
        }

        location = /t/cart/update-product {
            cartbot_cart_db_query
                "UPDATE product SET price = 0.01 RETURN AFTER";
        }

        location = /t/cart/create-product {
            cartbot_cart_db_query "CREATE product SET name = 'x', price = 1";
        }

        location = /t/chat/create-session {
            cartbot_chat_db_query "CREATE user_session SET user_id = 'u1'";
        }

        location = /t/session/create-session {
            cartbot_session_db_query
                "CREATE user_session SET user_id = 'u1' RETURN VALUE user_id";
        }
    }
CONF

$t->run;

# --- the owner writes its table ---------------------------------------------

my $r = $t->post('/t/product/create', headers => { 'X-Name' => 'Blue Tee' });
is($r->{status}, 200, 'product account creates a product');
is_deeply($r->{json}{result}, ['Blue Tee'], 'and gets it back');

$r = $t->post('/t/session/create-session');
is($r->{status}, 200, 'session account creates a session');

# --- another service's credential is refused by the database ----------------

my $before = $t->sql('SELECT VALUE price FROM product');

$r = $t->post('/t/cart/update-product');
is($r->{status}, 403, 'cart account updating product: 403');
is($r->{json}{error}{code}, 'permission_denied', 'a JSON error says so');
like($r->{json}{error}{message} // '',
    qr/service_account:cart may not write table product/,
    'the database named the refusal');
is_deeply($t->sql('SELECT VALUE price FROM product'), $before,
    'no price changed');

$r = $t->post('/t/cart/create-product');
is($r->{status}, 403, 'cart account creating a product: 403');
is($t->sql('count(SELECT id FROM product)'), 1, 'no product created');

$r = $t->post('/t/chat/create-session');
is($r->{status}, 403, 'chat account creating a session: 403');
like($r->{json}{error}{message} // '', qr/may not write table user_session/,
    'chat refused on user_session');
is($t->sql('count(SELECT id FROM user_session)'), 1,
    'no session created by chat');

# --- values that look like SurrealQL stay plain text ------------------------

my @evil = ("'; DELETE product; --", 'product:x', '$other',
    'x" } ; REMOVE TABLE product; {', '`product`:`x`');

for my $evil (@evil) {
    $r = $t->post('/t/product/create', headers => { 'X-Name' => $evil });
    is($r->{status}, 200, "stored: $evil");
    is_deeply($r->{json}{result}, [$evil], "returned as text: $evil");

    $r = $t->get('/t/product/by-name', headers => { 'X-Name' => $evil });
    is_deeply($r->{json}{result}, [$evil], "found by exact text: $evil");
}

is($t->get('/t/product/count')->{json}{result}, 1 + @evil,
    'every product is still there, one per create');

my $types = $t->sql('SELECT VALUE type::of(name) FROM product');
is_deeply([ sort @$types ], [ ('string') x (1 + @evil) ],
    'every name is a string');

# --- several queries of one request run in parallel ------------------------

$t->get('/t/product/count');     # the product token is cached now

$r = $t->get('/t/product/parallel?n=42');
is($r->{status}, 200, 'three queries in one request');
is_deeply($r->{json}{results}, ['first', 'second', '42'],
    'answers in configuration order');
cmp_ok($r->{elapsed}, '<', 1.9,
    'three queries held 1 s each overlapped');

$r = $t->get('/t/product/parallel-failing');
is($r->{status}, 422, 'one failing query fails the request');
is($r->{json}{error}{message}, 'the second one failed', 'and says which');

# --- statement errors -------------------------------------------------------

$r = $t->get('/t/product/throw', headers => { 'X-What' => 'out of stock' });
is($r->{status}, 422, 'THROW: 422');
is($r->{json}{error}{code}, 'query_failed', 'THROW: code');
is($r->{json}{error}{message}, 'boom: out of stock',
    'THROW: the thrown text, not the wrapper');

$r = $t->get('/t/product/broken');
is($r->{status}, 500, 'a broken query text: 500');
is($r->{json}{error}{code}, 'internal_error', 'broken query: JSON error');

$t->finish;

done_testing;
