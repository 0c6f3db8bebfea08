#!/usr/bin/perl

# The catalog: reads with ETag and 304, hybrid search with its filters and
# refusals, and a search-quality check on the sample catalog with queries
# written here (not the ones the embedding was tuned on).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

{
    local $ENV{CARTBOT_SECRETS_DIR} = $t->dir . '/conf/secrets';
    my ($rc, $out) = $t->ctl('import',
        "$Cartbot::Test::TOP/conf/catalog/sample.json");
    is($rc, 0, 'the sample catalog imports') or diag($out);
}

$t->write_conf(<<'CONF');
    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;

        cartbot_product_max_age  120s;

        location /products/           { cartbot_product get; }
        location = /products/search   { cartbot_product search; }
        location = /t/fulltext        { cartbot_product search mode=fulltext; }
        location = /t/vector          { cartbot_product search mode=vector; }
        location = /t/by-category     { cartbot_product by_category; }
        location = /recommend         { cartbot_product_user $http_x_user;
                                        cartbot_product recommend; }
    }
CONF

$t->run;

sub search {
    my (%body) = @_;
    my $path = delete $body{path} // '/products/search';
    return $t->post($path, json => \%body);
}

sub ids { [ map { $_->{product}{id} } @{ $_[0]{json}{hits} || [] } ] }

# --- reads ------------------------------------------------------------------

my $r = $t->get('/products/product:tee_blue_cotton');
is($r->{status}, 200, 'get a product');
is($r->{json}{name}, 'Blue Cotton T-Shirt', 'its name');
is($r->{json}{price}, 19.99, 'its price');
ok(!exists $r->{json}{embedding}, 'no embedding in the answer');
like($r->{headers}{etag} // '', qr/^"[0-9a-f]{8}-\d+"$/, 'an ETag');
is($r->{headers}{'cache-control'}, 'public, max-age=120', 'Cache-Control');

my $etag = $r->{headers}{etag};
$r = $t->get('/products/tee_blue_cotton',
    headers => { 'If-None-Match' => $etag });
is($r->{status}, 304, 'If-None-Match: 304');
is($r->{content} // '', '', 'with no body');

$r = $t->get('/products/tee_blue_cotton',
    headers => { 'If-None-Match' => '"00000000-1"' });
is($r->{status}, 200, 'another ETag: 200');

is($t->get('/products/product:nope')->{status}, 404, 'unknown: 404');
is($t->get('/products/bad%20id')->{json}{error}{code}, 'product_not_found',
    'a malformed id: 404 JSON');

$r = $t->get('/t/by-category?category=footwear&exclude_sub_category=boots'
    . '&limit=20');
is($r->{status}, 200, 'by category');
my @subs = map { $_->{sub_category} } @{ $r->{json} };
ok(@subs && !grep({ $_ eq 'boots' } @subs), 'without the excluded '
    . 'sub-category, ' . scalar(@subs) . ' products');
ok(!grep({ $_->{stock_quantity} == 0 } @{ $r->{json} }), 'all in stock');

# --- search -----------------------------------------------------------------

$r = search(query => 'blue t-shirts', limit => 3);
is($r->{status}, 200, 'search');
is($r->{json}{hits}[0]{product}{id}, 'product:tee_blue_cotton',
    '"blue t-shirts" finds the Blue Cotton T-Shirt first');
ok(exists $r->{json}{hits}[0]{match}{fulltext}, 'found by full text');
ok(exists $r->{json}{hits}[0]{match}{vector}, 'and by vector');
like($r->{json}{hits}[0]{highlight} // '', qr/<b>/, 'with a highlight');
cmp_ok($r->{json}{hits}[0]{score}, '>', 0, 'a fused score');
ok(@{ $r->{json}{hits} } <= 3, 'limit respected');

$r = search(query => 'tshirt', path => '/t/fulltext');
is_deeply(ids($r), [], 'full text alone does not know "tshirt"');
$r = search(query => 'tshirt', path => '/t/vector', limit => 3);
like($r->{json}{hits}[0]{product}{id}, qr/tee|shirt/,
    'the vector search does');

# filters are part of the query

$r = search(query => 'shirt', category => 'apparel', max_price => 25,
    limit => 50);
ok(@{ ids($r) }, 'category and max_price: hits');
ok(!grep({ $_->{product}{price} > 25 || $_->{product}{category} ne
    'apparel' } @{ $r->{json}{hits} }), 'every hit within the filters');

$r = search(query => 'jacket', in_stock => JSON::PP::true(), limit => 50);
ok(!grep({ $_->{product}{stock_quantity} == 0 } @{ $r->{json}{hits} }),
    'in_stock: no sold-out product');
$r = search(query => 'black puffer jacket', limit => 50);
ok(grep({ $_->{product}{id} eq 'product:jacket_down_black' }
    @{ $r->{json}{hits} }), 'without in_stock the sold-out one is found');

$r = search(query => 'mug', min_price => 30, max_price => 40, limit => 50);
ok(!grep({ $_->{product}{price} < 30 || $_->{product}{price} > 40 }
    @{ $r->{json}{hits} }), 'a price range');

# refusals

for my $bad ([{ query => '' }, 'invalid_query'],
             [{ query => '!!! ???' }, 'invalid_query'],
             [{ query => 'x' x 201 }, 'invalid_query'],
             [{ query => 42 }, 'invalid_query'],
             [{}, 'invalid_query'],
             [{ query => 'mug', limit => 0 }, 'invalid_limit'],
             [{ query => 'mug', limit => 51 }, 'invalid_limit'],
             [{ query => 'mug', limit => 2.5 }, 'invalid_limit'],
             [{ query => 'mug', min_price => -1 }, 'invalid_price'],
             [{ query => 'mug', min_price => 50, max_price => 10 },
              'invalid_price'],
             [{ query => 'mug', category => 7 }, 'invalid_category'],
             [{ query => 'mug', in_stock => 'yes' }, 'invalid_in_stock'])
{
    $r = $t->post('/products/search', json => $bad->[0]);
    is($r->{status}, 422, "422: " . JSON::PP->new->canonical
        ->encode($bad->[0]));
    is($r->{json}{error}{code}, $bad->[1], "says $bad->[1]");
}

is($t->post('/products/search', body => '{')->{status}, 400,
    'malformed JSON: 400');
is($t->get('/products/search')->{status}, 405, 'GET search: 405');

# --- recommendations --------------------------------------------------------

my $sid = $t->sql(q{
    LET $s = CREATE ONLY user_session SET user_id = 'alice';
    CREATE cart SET session_id = $s.id, product_id = product:tee_blue_cotton,
        quantity = 1;
    RETURN <string> $s.id;
});

note("session: $sid");
$r = $t->get("/recommend?session_id=$sid&limit=10",
    headers => { 'X-User' => 'alice' });
is($r->{status}, 200, "recommendations") or diag($r->{content});
is_deeply([ map { $_->{product_id} } @{ $r->{json}{based_on} } ],
    ['product:tee_blue_cotton'], 'based on the cart');
my @recs = @{ $r->{json}{recommendations} };
is(scalar @recs, 10, "ten of them");
ok(!grep({ $_->{product}{id} eq 'product:tee_blue_cotton' } @recs),
    'never what is in the cart');
ok(!grep({ $_->{product}{stock_quantity} == 0 } @recs),
    'never out of stock');
ok(grep({ ($_->{why} // '') eq 'goes with your Blue Cotton T-Shirt' }
    @recs), 'cross-sell says why');
ok(grep({ ($_->{why} // '') eq 'similar to your Blue Cotton T-Shirt' }
    @recs), 'neighbours say why');
ok(grep({ $_->{product}{category} eq 'apparel'
    && $_->{product}{sub_category} ne 't-shirts' } @recs),
    'same category, other sub-categories');

my $empty = $t->sql(q{RETURN <string> (CREATE ONLY user_session
    SET user_id = 'alice').id});
$r = $t->get("/recommend?session_id=$empty", headers => { 'X-User' => 'alice' });
is($r->{json}{recommendations}[0]{why}, 'one of our best rated',
    'an empty cart: the best rated');
cmp_ok($r->{json}{recommendations}[0]{product}{rating}, '>=',
    $r->{json}{recommendations}[-1]{product}{rating}, 'best first');

is($t->get("/recommend?session_id=$sid", headers => { 'X-User' => 'bob' })
    ->{status}, 404, "another shopper's session: 404");
is($t->get("/recommend?session_id=$sid")->{status}, 401, 'no caller: 401');
is($t->get("/recommend?session_id=x%20y", headers => { 'X-User' => 'alice' })
    ->{status}, 422, 'a bad session id: 422');

# --- search quality on the sample catalog -----------------------------------
#
# Written for this test: paraphrases, plurals, misspellings, descriptions.

my @quality = (
    ['blue tees', 'tee_blue_cotton'],
    ['tshirt in white', 'tee_white_organic'],
    ['something to keep my coffee warm on the train', 'mug_travel_insulated'],
    ['coffe grinder', 'grinder_burr_coffee'],
    ['lavendar scented candle', 'candle_soy_lavender'],
    ['headphones that block out noise', 'headphones_wireless_anc'],
    ['wireless earbuds', 'earbuds_true_wireless'],
    ['shoes for jogging on the road', 'shoe_running_road'],
    ['waterproof boots for walking in the mountains',
     'boot_hiking_waterproof'],
    ['jacket for rainy weather', 'jacket_rain_yellow'],
    ['charger for a usb-c laptop', 'charger_usbc_65w'],
    ['spare battery pack for my phone', 'powerbank_10000'],
    ['a tent for camping with a friend', 'tent_backpacking_2p'],
    ['sleeping bags', 'sleeping_bag_down'],
    ['puzzles with 1000 pieces', 'puzzle_jigsaw_1000'],
    ['teddy bears', 'plush_teddy_bear'],
    ['sunscreen for sensitive skin', 'sunscreen_mineral_spf50'],
    ['thick socks for hiking', 'socks_merino_hiking'],
    ['a pan to fry eggs', 'skillet_cast_iron'],
    ['mat for yoga', 'yoga_mat_cork'],
);

my $top3 = 0;
for my $q (@quality) {
    my ($text, $want) = @$q;
    my $got = ids(search(query => $text, limit => 3));
    my $hit = grep { $_ eq "product:$want" } @$got;
    $top3++ if $hit;
    note(sprintf '%-4s %-50s -> %s', $hit ? 'ok' : 'MISS', $text,
        join(', ', @$got));
}

cmp_ok($top3, '>=', 18, "search quality: the expected product in the top 3 "
    . "for $top3 of " . scalar(@quality) . ' queries');

$t->finish;

done_testing;
