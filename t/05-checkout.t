#!/usr/bin/perl

# Checkout: one transaction that produces an order, or changes nothing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use HTTP::Tiny;
use JSON::PP;
use POSIX qw/ _exit /;
use Test::More;

use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

$t->sql(q{
    CREATE product:tee SET name = 'Blue Cotton T-Shirt', price = 19.99,
        stock_quantity = 10;
    CREATE product:mug SET name = 'Ceramic Mug', price = 12.5,
        stock_quantity = 3;
    CREATE product:sock SET name = 'Wool Socks', price = 8,
        stock_quantity = 1000;
});

$t->write_conf(<<'CONF');
    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;

        cartbot_cart_user     $http_x_user;
        cartbot_session_user  $http_x_user;
        cartbot_cart_pricing  tax=8.25 shipping=5.99 free_shipping_over=75
                              currency=USD;

        location = /session/create { cartbot_session create; }
        location /session/         { cartbot_session get; }
        location = /cart/add       { cartbot_cart add; }
        location = /cart           { cartbot_cart view; }

        location = /internal/cart {
            internal;
            cartbot_cart view;
        }

        location = /checkout {
            cartbot_session_cart  /internal/cart;
            cartbot_session checkout;
        }
    }
CONF

$t->run;

my %alice = (headers => { 'X-User' => 'alice' });
my %bob = (headers => { 'X-User' => 'bob' });

sub session {
    my ($who) = @_;
    return $t->post('/session/create', %$who)->{json}{session_id};
}

sub add {
    my ($who, $sid, $pid, $qty) = @_;
    return $t->post('/cart/add', %$who, json => { session_id => $sid,
        product_id => $pid, quantity => $qty });
}

sub checkout {
    my ($who, $sid) = @_;
    return $t->post('/checkout', %$who, json => { session_id => $sid });
}

# everything checkout could change, as root sees it
sub state {
    my ($sid) = @_;
    return JSON::PP->new->canonical->encode($t->sql(q{
        RETURN {
            stock: (SELECT id, stock_quantity FROM product ORDER BY id),
            cart: (SELECT id, product_id, quantity FROM cart
                WHERE session_id = type::record($s) ORDER BY id),
            session: (SELECT VALUE status FROM ONLY type::record($s)),
            orders: count(SELECT id FROM purchase_order)
        }
    }, s => $sid));
}

# --- success ----------------------------------------------------------------

my $sid = session(\%alice);
add(\%alice, $sid, 'product:tee', 2);
my $cart = add(\%alice, $sid, 'product:mug', 1)->{json};

my $r = checkout(\%alice, $sid);
is($r->{status}, 201, 'checkout: 201');
like($r->{json}{order_id} // '', qr/^purchase_order:\w+$/, 'an order id');
is($r->{json}{session_id}, $sid, 'for the session');
is($r->{json}{status}, 'placed', 'placed');
is_deeply([ map { "$_->{product_id} $_->{name} $_->{unit_price} "
    . "$_->{quantity} $_->{line_total}" } @{ $r->{json}{items} } ],
    ['product:tee Blue Cotton T-Shirt 19.99 2 39.98',
     'product:mug Ceramic Mug 12.5 1 12.5'],
    'lines with the name and price of the moment');
is_deeply($r->{json}{pricing}, $cart->{pricing},
    'the totals are what the cart showed');

is_deeply($t->sql('SELECT VALUE stock_quantity FROM [product:tee, '
    . 'product:mug]'), [8, 2], 'stock decremented');
is($t->get("/session/$sid", %alice)->{json}{status}, 'completed',
    'session completed');

my $order = $t->sql('SELECT * FROM purchase_order');
is(scalar @$order, 1, 'one order stored');
is($order->[0]{items}[0]{name}, 'Blue Cotton T-Shirt', 'with names cached');

$r = $t->get("/cart?session_id=$sid", %alice);
is($r->{json}{status}, 'completed', 'the cart is archived');
is($r->{json}{item_count}, 3, 'with what was bought');

is(add(\%alice, $sid, 'product:tee', 1)->{status}, 409,
    'a completed cart cannot change');

# --- a discount code in force is part of the order --------------------------

my $dsid = session(\%alice);
$cart = add(\%alice, $dsid, 'product:sock', 10)->{json};
$t->sql(q{
    CREATE discount_code SET code = 'SAVE10', percent = 10;
    CREATE type::record('cart_discount', record::id(type::record($s)))
        SET session_id = type::record($s), code = 'SAVE10';
}, s => $dsid);

$r = checkout(\%alice, $dsid);
is($r->{status}, 201, 'checkout with a discount code');
is_deeply($r->{json}{pricing}, { subtotal => 80, discount => 8, tax => 5.94,
    shipping => 5.99, total => 83.93, currency => 'USD' },
    'the order carries the discount, tax and shipping');

# --- twice ------------------------------------------------------------------

my $before = state($sid);
$r = checkout(\%alice, $sid);
is($r->{status}, 409, 'checkout twice: 409');
is($r->{json}{error}{code}, 'already_checked_out', 'already_checked_out');
is(state($sid), $before, 'nothing changed');

# --- empty ------------------------------------------------------------------

my $empty = session(\%alice);
$before = state($empty);
$r = checkout(\%alice, $empty);
is($r->{status}, 422, 'empty cart: 422');
is($r->{json}{error}{code}, 'cart_empty', 'cart_empty');
is(state($empty), $before, 'nothing changed');

# --- one line short of stock: nothing at all changes ------------------------

my $short = session(\%alice);
add(\%alice, $short, 'product:sock', 4);
add(\%alice, $short, 'product:tee', 3);
$t->sql('UPDATE product:tee SET stock_quantity = 2');   # sold elsewhere

$before = state($short);
$r = checkout(\%alice, $short);
is($r->{status}, 409, 'a line short of stock: 409');
is($r->{json}{error}{code}, 'out_of_stock', 'out_of_stock');
like($r->{json}{error}{message}, qr/Blue Cotton T-Shirt has only 2 left/,
    'says which and how many');
is(state($short), $before, 'stock, cart, session and orders identical');

# --- another shopper --------------------------------------------------------

$t->sql('UPDATE product:tee SET stock_quantity = 100');
$before = state($short);
$r = checkout(\%bob, $short);
is($r->{status}, 404, "bob checks out alice's session: 404");
is($r->{json}{error}{code}, 'session_not_found', 'session_not_found');
is(state($short), $before, 'nothing changed');

# --- bad input --------------------------------------------------------------

is($t->post('/checkout', %alice, body => '{')->{status}, 400,
    'malformed JSON: 400');
is($t->post('/checkout', %alice, json => {})->{status}, 422,
    'no session_id: 422');
is($t->post('/checkout', %alice, json => { session_id => [] })->{status},
    422, 'session_id an array: 422');
is(checkout({}, $short)->{status}, 401, 'no caller: 401');
is($t->get('/checkout', %alice)->{status}, 405, 'GET: 405');

# --- checkout racing adds ---------------------------------------------------

my $port = $t->port;

for my $round (1 .. 5) {
    my $race = session(\%alice);
    add(\%alice, $race, 'product:sock', 1);

    my $body = sub { encode_json({ session_id => $race,
        product_id => 'product:sock', quantity => 1 }) };

    my @kids;
    for my $i (0 .. 8) {
        pipe(my $rd, my $wr) or die $!;
        my $pid = fork() // die $!;
        if ($pid == 0) {
            close $rd;
            my $path = $i == 4 ? '/checkout' : '/cart/add';
            my $content = $i == 4 ? encode_json({ session_id => $race })
                                  : $body->();
            my $res = HTTP::Tiny->new(timeout => 30)->request('POST',
                "http://127.0.0.1:$port$path", { content => $content,
                headers => { 'X-User' => 'alice',
                             'Content-Type' => 'application/json' } });
            print $wr "$path $res->{status}\n";
            close $wr;
            _exit(0);
        }
        close $wr;
        push @kids, [$pid, $rd];
    }

    my ($added, $checkout) = (0, '');
    for my $k (@kids) {
        my $fh = $k->[1];
        my $line = <$fh> // '';
        waitpid($k->[0], 0);
        $added++ if $line =~ m{^/cart/add 200};
        ($checkout) = $line =~ m{^/checkout (\d+)} if $line =~ /checkout/;
    }

    my $in_cart = $t->sql('math::sum((SELECT VALUE quantity FROM cart
        WHERE session_id = type::record($s)))', s => $race);
    my $ordered = $t->sql('math::sum((SELECT VALUE items[0].quantity
        FROM purchase_order WHERE session_id = type::record($s)))',
        s => $race);

    is($in_cart, 1 + $added, "race $round: every 200 add is in the cart");

    if ($checkout == 201) {
        is($ordered, $in_cart, "race $round: the order holds the whole "
            . "cart ($in_cart), nothing added after it");
    } else {
        is($ordered, 0, "race $round: checkout answered $checkout, "
            . "no order");
    }
}

$t->finish;

done_testing;
