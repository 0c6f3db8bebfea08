#!/usr/bin/perl

# Sessions and the cart: every endpoint's success path and each rule,
# checked against what the database holds afterwards.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;

use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

$t->sql(q{
    CREATE product:tee SET name = 'Blue Cotton T-Shirt', price = 19.99,
        stock_quantity = 10;
    CREATE product:mug SET name = 'Ceramic Mug', price = 12.5,
        stock_quantity = 3;
    CREATE product:gone SET name = 'Sold Out Lamp', price = 40,
        stock_quantity = 0;
});

$t->write_conf(<<'CONF');
    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;

        # tests name the caller in a header; production uses the JWT
        cartbot_cart_user     $http_x_user;
        cartbot_session_user  $http_x_user;

        cartbot_cart_max_quantity  20;
        cartbot_cart_pricing  tax=8.25 shipping=5.99 free_shipping_over=75
                              currency=USD;

        location = /session/create { cartbot_session create; }
        location /session/         { cartbot_session get; }
        location = /cart/add       { cartbot_cart add; }
        location = /cart/remove    { cartbot_cart remove; }
        location = /cart/update    { cartbot_cart update; }
        location = /cart           { cartbot_cart view; }
        location = /cart/discount  { cartbot_cart discount; }

        location /internal/session/ {
            cartbot_session get;
        }

        location = /internal/session/validate {
            cartbot_session validate;
        }

        location /t/idle/session/ {
            cartbot_session_idle  1s;
            cartbot_session get;
        }
    }
CONF

$t->run;

my %alice = (headers => { 'X-User' => 'alice' });
my %bob = (headers => { 'X-User' => 'bob' });

sub add { my ($who, $json) = @_; $t->post('/cart/add', %$who, json => $json) }

sub line_qty {
    my ($sid, $pid) = @_;
    return $t->sql('math::sum((SELECT VALUE quantity FROM cart
        WHERE session_id = type::record($s) AND product_id =
        type::record($p)))', s => $sid, p => $pid);
}

# --- sessions ---------------------------------------------------------------

my $r = $t->post('/session/create', %alice);
is($r->{status}, 201, 'session created');
my $sid = $r->{json}{session_id} // '';
like($sid, qr/^user_session:\w+$/, 'session id in SurrealDB form');
is($r->{json}{status}, 'active', 'new session is active');
is($r->{json}{user_id}, 'alice', 'owned by the caller');

$r = $t->get("/session/$sid", %alice);
is($r->{status}, 200, 'owner reads the session');
is($r->{json}{session_id}, $sid, 'the same session');

(my $key = $sid) =~ s/^user_session://;
is($t->get("/session/$key", %alice)->{status}, 200,
    'id accepted without the table prefix');

$r = $t->get("/session/$sid", %bob);
is($r->{status}, 404, "another shopper's session: 404");
is($r->{json}{error}{code}, 'session_not_found', 'and no data');

is($t->post('/session/create')->{status}, 401, 'no caller: 401');

# the internal API other modules use

$r = $t->post('/internal/session/validate', %alice,
    json => { session_id => $sid });
is($r->{status}, 200, 'validate');
is($r->{json}{valid}, JSON::PP::true, 'an active session of the caller');
is($r->{json}{session}{session_id}, $sid, 'with the session');

is($t->post('/internal/session/validate', %bob,
    json => { session_id => $sid })->{status}, 404,
    "validate another's session: 404");
is($t->post('/internal/session/validate', %alice,
    json => { session_id => 'x y' })->{status}, 422,
    'validate a bad id: 422');
is($t->get("/internal/session/$sid", %alice)->{json}{status}, 'active',
    'internal get');

# idle sessions are abandoned when next looked at

my $idle = $t->post('/session/create', %alice)->{json}{session_id};
sleep 2;
$r = $t->get("/t/idle/session/$idle", %alice);
is($r->{json}{status}, 'abandoned', 'idle longer than 1 s: abandoned');
is($t->sql('SELECT VALUE status FROM ONLY type::record($s)', s => $idle),
    'abandoned', 'and stored so');
is($t->post('/cart/add', %alice, json => { session_id => $idle,
    product_id => 'product:tee' })->{status}, 409,
    'an abandoned cart cannot change');


# --- add --------------------------------------------------------------------

$r = add(\%alice, { session_id => $sid, product_id => 'product:tee',
    quantity => 2 });
is($r->{status}, 200, 'add 2 tees');
is($r->{json}{items}[0]{product_id}, 'product:tee', 'line product');
is($r->{json}{items}[0]{name}, 'Blue Cotton T-Shirt', 'line name');
is($r->{json}{items}[0]{unit_price}, 19.99, 'unit price');
is($r->{json}{items}[0]{quantity}, 2, 'quantity');
is($r->{json}{items}[0]{line_total}, 39.98, 'line total');
is_deeply($r->{json}{pricing}, { subtotal => 39.98, discount => 0,
    tax => 3.30, shipping => 5.99, total => 49.27, currency => 'USD' },
    'pricing: tax 8.25 %, shipping under the threshold');

$r = add(\%alice, { session_id => $key, product_id => 'tee' });
is($r->{status}, 200, 'add without quantity adds one');
is($r->{json}{items}[0]{quantity}, 3, 'adds increment the line');
is(line_qty($sid, 'product:tee'), 3, 'the database agrees');

$r = add(\%alice, { session_id => $sid, product_id => 'product:mug',
    quantity => 3 });
is($r->{status}, 200, 'add the last 3 mugs');
is(scalar @{ $r->{json}{items} }, 2, 'two lines');
is($r->{json}{item_count}, 6, 'six items');

$r = add(\%alice, { session_id => $sid, product_id => 'product:mug',
    quantity => 1 });
is($r->{status}, 409, 'a 4th mug: 409');
is($r->{json}{error}{code}, 'out_of_stock', 'out of stock');
like($r->{json}{error}{message}, qr/only 0 more/, 'says how many are left');
is(line_qty($sid, 'product:mug'), 3, 'mug line unchanged');

$r = add(\%alice, { session_id => $sid, product_id => 'product:gone' });
is($r->{status}, 409, 'sold out product: 409');

$r = add(\%alice, { session_id => $sid, product_id => 'product:nope' });
is($r->{status}, 404, 'unknown product: 404');
is($r->{json}{error}{code}, 'product_not_found', 'product_not_found');

$r = add(\%alice, { session_id => $sid, product_id => 'product:tee',
    quantity => 18 });
is($r->{status}, 422, 'over the line maximum: 422');
is($r->{json}{error}{code}, 'quantity_over_limit', 'quantity_over_limit');

# --- bad input --------------------------------------------------------------

for my $q (0, -1, 1.5, '2', 1e12, undef, [], {}) {
    my %body = (session_id => $sid, product_id => 'product:tee');
    my $label = defined $q ? (ref $q || $q) : 'null';
    $body{quantity} = $q;
    $r = add(\%alice, \%body);
    is($r->{status}, 422, "quantity $label: 422");
    is($r->{json}{error}{code}, 'invalid_quantity', "quantity $label: code");
}

$r = $t->post('/cart/add', %alice, body => '{"session_id":');
is($r->{status}, 400, 'malformed JSON: 400');
is($r->{json}{error}{code}, 'invalid_json', 'invalid_json');

$r = $t->post('/cart/add', %alice, body => '[1,2]');
is($r->{status}, 400, 'a JSON array: 400');

$r = $t->post('/cart/add', headers => { 'X-User' => 'alice',
    'Content-Type' => 'text/plain' }, body => 'add a tee');
is($r->{status}, 415, 'not JSON: 415');

$r = add(\%alice, { session_id => 42, product_id => 'product:tee' });
is($r->{status}, 422, 'session_id a number: 422');

$r = add(\%alice, { session_id => $sid, product_id => 'cart:tee' });
is($r->{status}, 422, 'product id of another table: 422');

$r = add(\%alice, { session_id => $sid,
    product_id => "tee'; DELETE product; --" });
is($r->{status}, 422, 'SurrealQL in an id: 422');

is($t->get('/cart/add', %alice)->{status}, 405, 'GET /cart/add: 405');
is(add({}, { session_id => $sid, product_id => 'tee' })->{status}, 401,
    'no caller: 401');

# --- another shopper --------------------------------------------------------

$r = $t->get("/cart?session_id=$sid", %bob);
is($r->{status}, 404, "bob reads alice's cart: 404");
ok(!exists $r->{json}{items}, 'no items leak');

$r = add(\%bob, { session_id => $sid, product_id => 'product:tee',
    quantity => 5 });
is($r->{status}, 404, "bob adds to alice's cart: 404");
is(line_qty($sid, 'product:tee'), 3, "alice's cart unchanged");

$r = $t->request('PUT', '/cart/update', %bob, json => { session_id => $sid,
    product_id => 'product:tee', quantity => 1 });
is($r->{status}, 404, "bob updates alice's line: 404");

$r = $t->post('/cart/remove', %bob, json => { session_id => $sid,
    product_id => 'product:tee' });
is($r->{status}, 404, "bob removes alice's line: 404");
is(line_qty($sid, 'product:tee'), 3, 'still unchanged');

# --- view, update, remove ---------------------------------------------------

$r = $t->get("/cart?session_id=$sid", %alice);
is($r->{status}, 200, 'view');
is_deeply([ map { "$_->{product_id}=$_->{quantity}" }
    @{ $r->{json}{items} } ], ['product:tee=3', 'product:mug=3'],
    'lines in the order they were first added');

is($t->get('/cart', %alice)->{status}, 422, 'view without session_id: 422');
is($t->get('/cart?session_id=%27%3B', %alice)->{status}, 422,
    'view with a bad id: 422');

$r = $t->request('PUT', '/cart/update', %alice, json => { session_id => $sid,
    product_id => 'product:tee', quantity => 5 });
is($r->{status}, 200, 'update to 5');
is($r->{json}{items}[0]{quantity}, 5, 'line is 5');
is(line_qty($sid, 'product:tee'), 5, 'the database agrees');

$r = $t->request('PUT', '/cart/update', %alice, json => { session_id => $sid,
    product_id => 'product:mug', quantity => 4 });
is($r->{status}, 409, 'update beyond stock: 409');

$r = $t->request('PUT', '/cart/update', %alice, json => { session_id => $sid,
    product_id => 'product:gone', quantity => 0 });
is($r->{status}, 404, 'update a line that is not there: 404');

$r = $t->request('PUT', '/cart/update', %alice, json => { session_id => $sid,
    product_id => 'product:tee', quantity => 0 });
is($r->{status}, 200, 'update to 0');
is_deeply([ map { $_->{product_id} } @{ $r->{json}{items} } ],
    ['product:mug'], 'removes the line');

$r = $t->post('/cart/remove', %alice, json => { session_id => $sid,
    product_id => 'product:mug' });
is($r->{status}, 200, 'remove');
is_deeply($r->{json}{items}, [], 'cart is empty');
is($r->{json}{pricing}{total}, 0, 'an empty cart costs nothing');

$r = $t->post('/cart/remove', %alice, json => { session_id => $sid,
    product_id => 'product:mug' });
is($r->{status}, 404, 'remove again: 404');
is($r->{json}{error}{code}, 'not_in_cart', 'not_in_cart');

# --- discount codes ---------------------------------------------------------

$t->sql(q{
    CREATE discount_code SET code = 'SAVE10', percent = 10;
    CREATE discount_code SET code = 'FIVEOFF', amount = 5,
        min_subtotal = 30;
    CREATE discount_code SET code = 'OLD', percent = 50,
        expires_at = time::now() - 1d;
    CREATE discount_code SET code = 'PAUSED', percent = 50, active = false;
});

my $dsid = $t->post('/session/create', %alice)->{json}{session_id};
add(\%alice, { session_id => $dsid, product_id => 'product:tee' });

sub discount {
    my ($who, $code) = @_;
    return $t->post('/cart/discount', %$who,
        json => { session_id => $dsid, code => $code });
}

$r = discount(\%alice, 'save10');
is($r->{status}, 200, 'apply a discount code');
is($r->{json}{discount_code}, 'SAVE10', 'codes are not case sensitive');
is($r->{json}{pricing}{discount}, 2.00, '10 % of 19.99 is 2.00');
is($r->{json}{pricing}{tax}, 1.48, 'tax on the discounted subtotal');

for my $bad ('NOPE', 'OLD', 'PAUSED') {
    $r = discount(\%alice, $bad);
    is($r->{status}, 422, "code $bad: 422");
    is($r->{json}{error}{code}, 'invalid_discount_code', "code $bad: says so");
}

is($t->get("/cart?session_id=$dsid", %alice)->{json}{discount_code},
    'SAVE10', 'a refused code leaves the one in force');

is(discount(\%alice, 42)->{status}, 422, 'a number as code: 422');
is(discount(\%alice, "X'; --")->{status}, 422, 'SurrealQL as code: 422');
is(discount(\%bob, 'SAVE10')->{status}, 404, "bob on alice's cart: 404");

$r = discount(\%alice, 'FIVEOFF');
is($r->{json}{discount_code}, 'FIVEOFF', 'a code with a minimum');
is($r->{json}{pricing}{discount}, 0, 'under the minimum: no discount yet');

$r = add(\%alice, { session_id => $dsid, product_id => 'product:tee' });
is($r->{json}{pricing}{discount}, 5, 'over the minimum: 5 off');

$r = discount(\%alice, undef);
is($r->{status}, 200, 'null removes the code');
is($r->{json}{discount_code}, undef, 'no code');
is($r->{json}{pricing}{discount}, 0, 'no discount');

# --- a completed session's cart cannot change -------------------------------

add(\%alice, { session_id => $sid, product_id => 'product:tee' });
$t->sql('UPDATE type::record($s) SET status = "completed"', s => $sid);

$r = add(\%alice, { session_id => $sid, product_id => 'product:tee' });
is($r->{status}, 409, 'add to a completed session: 409');
is($r->{json}{error}{code}, 'session_not_active', 'session_not_active');
is(line_qty($sid, 'product:tee'), 1, 'nothing added');

$r = $t->get("/cart?session_id=$sid", %alice);
is($r->{status}, 200, 'a completed cart can still be read');
is($r->{json}{status}, 'completed', 'and says so');

$t->finish;

done_testing;
