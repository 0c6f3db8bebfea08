#!/usr/bin/perl

# Catalog changes through the shipped routes (conf/cartbot/routes.conf):
# POST /products, PUT and DELETE /products/{id}, for role admin only;
# every validation rule with its code; 404 and 409; the embedding and
# content hash follow a change (search finds the new name); ETags agree
# with GET; a product in an active cart is not deleted; the import and the
# API refuse a row with the same words (one set of rules).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;

use Cartbot::JWT;
use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

$t->write_conf(<<'CONF');
    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;
        include  cartbot/routes.conf;
    }
CONF

$t->run;

my $MODEL = 'cartbot-hash-384-v1';

sub bearer { return (headers => { Authorization => "Bearer $_[0]" }) }

sub put { my ($path, %o) = @_; return $t->request('PUT', $path, %o) }
sub del { my ($path, %o) = @_; return $t->request('DELETE', $path, %o) }

sub stored {
    my ($key) = @_;
    return $t->sql('SELECT * FROM ONLY type::record("product", $k)',
        k => $key);
}

# --- tokens: an admin, a shopper, a guest, and forged ones -----------------

for my $u (qw/ boss shopper1 /) {
    my $r = $t->post('/auth/register',
        json => { username => $u, password => 'correct horse' });
    is($r->{status}, 201, "register $u");
}

$t->sql('UPDATE shopper SET role = "admin" WHERE username = "boss"');

my $admin = $t->post('/auth/login',
    json => { username => 'boss', password => 'correct horse' })
    ->{json}{token};
my $shopper = $t->post('/auth/login',
    json => { username => 'shopper1', password => 'correct horse' })
    ->{json}{token};
my $guest = $t->post('/auth/guest')->{json}{token};

ok($admin && $shopper && $guest, 'three tokens');

# role admin, but signed with another key: refused like any bad token
my $forged = Cartbot::JWT::sign('HS256', 'x' x 48, { sub => 'shopper:x',
    role => 'admin', iss => 'cartbot', iat => time, exp => time + 600 });

my %lamp = (
    id => 'lamp_quartz',
    name => 'Quartz Desk Lamp',
    description => 'A warm LED desk lamp on a polished quartz base',
    specs => '5 W LED, 2700 K',
    category => 'Home',
    sub_category => 'Lighting',
    price => 49.5,
    score => 4.2,
    stock_quantity => 7,
    image_url => 'https://example.com/lamp.png',
);

# --- who may ----------------------------------------------------------------

for my $who (['no token', {}], ['a forged admin token', { bearer($forged) }],
             ['a malformed token', { bearer('abc.def') }])
{
    my %h = %{ $who->[1] };
    my $r = $t->post('/products', json => \%lamp, %h);
    is($r->{status}, 401, "POST with $who->[0]: 401");
    ok($r->{json}{error}{code}, 'a JSON error');
    is(put('/products/lamp_quartz', json => \%lamp, %h)->{status}, 401,
        "PUT with $who->[0]: 401");
    is(del('/products/lamp_quartz', %h)->{status}, 401,
        "DELETE with $who->[0]: 401");
}

for my $who (['shopper', $shopper], ['guest', $guest]) {
    my $r = $t->post('/products', json => \%lamp, bearer($who->[1]));
    is($r->{status}, 403, "POST as $who->[0]: 403");
    ok($r->{json}{error}{code}, 'a JSON error');
    is(put('/products/lamp_quartz', json => \%lamp, bearer($who->[1]))
        ->{status}, 403, "PUT as $who->[0]: 403");
    is(del('/products/lamp_quartz', bearer($who->[1]))->{status}, 403,
        "DELETE as $who->[0]: 403");
}

is($t->sql('SELECT count() FROM product GROUP ALL')->[0]{count} // 0, 0,
    'nothing was written');

# --- create -----------------------------------------------------------------

my $r = $t->post('/products', json => \%lamp, bearer($admin));
is($r->{status}, 201, 'POST as admin: 201');
is($r->{json}{id}, 'product:lamp_quartz', 'the stored id');
is($r->{json}{rating}, 4.2, 'the score, as reads show it');
is($r->{json}{price}, 49.5, 'the price');
is($r->{json}{stock_quantity}, 7, 'the stock');
ok(!exists $r->{json}{embedding}, 'no embedding in the answer');
is($r->{headers}{location}, '/products/lamp_quartz', 'Location');
is($r->{headers}{'cache-control'}, 'no-store', 'a change is not cached');

my $created_etag = $r->{headers}{etag};
my $g = $t->get('/products/lamp_quartz');
is($g->{status}, 200, 'GET the new product (no token needed)');
is_deeply($g->{json}, $r->{json}, 'GET answers what POST answered');
is($g->{headers}{etag}, $created_etag, 'with the same ETag');

my $row = stored('lamp_quartz');
is(scalar @{ $row->{embedding} || [] }, 384, 'a 384-float embedding');
is($row->{embedding_model}, $MODEL, 'with the model name');
like($row->{content_hash} // '', qr/^[0-9a-f]{64}$/, 'and a content hash');

$r = $t->post('/products', json => \%lamp, bearer($admin));
is($r->{status}, 409, 'POST of an existing id: 409');
is($r->{json}{error}{code}, 'product_exists', 'product_exists');

# no id: the key is made from the name, as the import makes it
my %mug = (name => 'Enamel Camp Mug', description => 'A speckled enamel mug',
    category => 'Kitchen', sub_category => 'Mugs', price => 12);
$r = $t->post('/products', json => \%mug, bearer($admin));
is($r->{status}, 201, 'POST without an id: 201');
is($r->{json}{id}, 'product:enamel_camp_mug', 'the id from the name');
is($r->{json}{stock_quantity}, 0, 'no stock given: 0');
ok(!defined $r->{json}{rating}, 'no score given: none');

$r = $t->post('/products', json => \%mug, bearer($admin));
is($r->{status}, 409, 'the same name again: 409');
like($r->{json}{error}{message}, qr/made from the name: give an "id"/,
    'says to give an id');

# --- validation: each rule, 422 naming the field ------------------------------

sub without { my ($k) = @_; my %p = %lamp; delete $p{$k}; return \%p }
sub with { my %p = (%lamp, @_); return \%p }

my @bad = (
    [without('name'), 'invalid_name', qr/^name is required$/],
    [without('description'), 'invalid_description',
        qr/^description is required$/],
    [without('price'), 'invalid_price', qr/^price is required$/],
    [without('category'), 'invalid_category', qr/^category is required$/],
    [without('sub_category'), 'invalid_sub_category',
        qr/^sub_category is required$/],
    [with(name => '   '), 'invalid_name', qr/^name is empty$/],
    [with(category => ''), 'invalid_category', qr/^category is empty$/],
    [with(price => 0), 'invalid_price', qr/greater than 0 \(got 0\)/],
    [with(price => -3), 'invalid_price', qr/greater than 0 \(got -3\)/],
    [with(price => '12'), 'invalid_price', qr/must be a number, not a string/],
    [with(price => 2e9), 'invalid_price', qr/at most 1000000000/],
    [with(score => 5.5), 'invalid_score', qr/from 0 to 5 \(got 5.5\)/],
    [with(score => -1), 'invalid_score', qr/from 0 to 5 \(got -1\)/],
    [with(stock_quantity => -1), 'invalid_stock_quantity',
        qr/must not be negative/],
    [with(stock_quantity => 2.5), 'invalid_stock_quantity',
        qr/whole number \(got 2.5\)/],
    [with(stock_quantity => '3'), 'invalid_stock_quantity',
        qr/whole number, not a string/],
    [with(colour => 'red'), 'unknown_field', qr/^unknown key "colour"$/],
    [with(embedding => [0.1]), 'unknown_field', qr/unknown key "embedding"/],
    [with(name => 'x' x 201), 'invalid_name',
        qr/longer than 200 characters \(201\)/],
    [with(description => 'd' x 16385), 'invalid_description',
        qr/longer than 16384 characters/],
    [with(image_url => 'u' x 2049), 'invalid_image_url',
        qr/longer than 2048 characters/],
    [with(specs => 5), 'invalid_specs', qr/specs must be a string/],
    [with(id => 'bad id!'), 'invalid_id', qr/must be 1 to 64 letters/],
    [with(score => 1, rating => 1), 'invalid_score', qr/give one of them/],
);

for my $b (@bad) {
    my ($body, $code, $msg) = @$b;
    (my $id = $body->{id} // 'x') =~ s/\W/_/g;
    $body = { %$body, id => "new_$id" } if ($body->{id} // '') ne 'bad id!';

    $r = $t->post('/products', json => $body, bearer($admin));
    is($r->{status}, 422, "POST: $code (" . substr(encode_json(
        { map { $_ => $body->{$_} } grep { !exists $lamp{$_}
            || ($lamp{$_} // '') ne ($body->{$_} // '') } keys %$body }),
        0, 60) . ')');
    is($r->{json}{error}{code}, $code, "says $code");
    like($r->{json}{error}{message}, $msg, 'names the field');

    delete $body->{id} if $code ne 'invalid_id';
    $r = put('/products/lamp_quartz', json => $body, bearer($admin));
    is($r->{status}, 422, "PUT: $code");
    is($r->{json}{error}{code}, $code, "PUT says $code");
}

is($t->sql('SELECT count() FROM product GROUP ALL')->[0]{count}, 2,
    'no refused body was written');

# every reason at once, the first one's code
$r = $t->post('/products', json => { name => 7, price => -1, colour => 1 },
    bearer($admin));
is($r->{json}{error}{code}, 'unknown_field', 'several faults: the first');
like($r->{json}{error}{message},
    qr/unknown key "colour"; name must be a string.*price must be greater/,
    'all of them in the message');

$r = $t->post('/products', body => '{"name": ', bearer($admin));
is($r->{status}, 400, 'malformed JSON: 400');
is($r->{json}{error}{code}, 'invalid_json', 'invalid_json');

$r = $t->post('/products', body => '[1, 2]', bearer($admin));
is($r->{status}, 400, 'not an object: 400');

$r = $t->post('/products', body => 'name=x', bearer($admin),
    headers => { Authorization => "Bearer $admin",
                 'Content-Type' => 'application/x-www-form-urlencoded' });
is($r->{status}, 415, 'not JSON: 415');

$r = put('/products/lamp_quartz', json => with(id => 'other'),
    bearer($admin));
is($r->{status}, 422, 'PUT with another id in the body: 422');
is($r->{json}{error}{code}, 'invalid_id', 'invalid_id');

# long texts are stored whole, up to what one write can carry (values
# travel in the URI of the database request)
$r = put('/products/enamel_camp_mug', bearer($admin), json => { %mug,
    name => 'M' x 200, description => 'enamel' x 1000 });
is($r->{status}, 200, 'PUT with a 6000-character description: 200');
is(length($r->{json}{description} // ''), 6000, 'stored whole');
is(length($r->{json}{name} // ''), 200, 'and a 200-character name');

$r = put('/products/enamel_camp_mug', bearer($admin), json => { %mug,
    description => 'enamel ' x 2340 });
is($r->{status}, 413, 'a description too long for one write: 413');
is($r->{json}{error}{code}, 'product_too_large', 'product_too_large');
is(length(stored('enamel_camp_mug')->{description}), 6000,
    'and nothing was written');

# --- methods and ids ----------------------------------------------------------

is($t->post('/products/lamp_quartz', json => \%lamp, bearer($admin))
    ->{status}, 405, 'POST to /products/{id}: 405');
is(put('/products', json => \%lamp, bearer($admin))->{status}, 405,
    'PUT to /products: 405');
is($t->request('PATCH', '/products/lamp_quartz', json => { price => 1 },
    bearer($admin))->{status}, 405, 'PATCH: 405');

$r = put('/products/nope', json => without('id'), bearer($admin));
is($r->{status}, 404, 'PUT of an unknown id: 404');
is($r->{json}{error}{code}, 'product_not_found', 'product_not_found');
ok(!defined stored('nope'), 'and nothing was created');
is(put('/products/bad%20id', json => \%lamp, bearer($admin))->{status}, 404,
    'PUT of a malformed id: 404');
is(del('/products/nope', bearer($admin))->{status}, 404,
    'DELETE of an unknown id: 404');

# --- replace: every field, a new embedding, a new ETag ----------------------

my $before = stored('lamp_quartz');
my $etag1 = $t->get('/products/lamp_quartz')->{headers}{etag};

# search for the new name finds nothing by text before the change
my $s = $t->post('/products/search', json => { query => 'aurora globe' });
ok(!grep({ $_->{product}{id} eq 'product:lamp_quartz'
           && $_->{match}{fulltext} } @{ $s->{json}{hits} || [] }),
    'before: "aurora globe" does not match the lamp by text');

my %globe = (name => 'Aurora Globe Lantern',
    description => 'A frosted globe lantern that glows like the northern '
        . 'lights', category => 'Outdoor', sub_category => 'Lanterns',
    price => 64, stock_quantity => 3);

$r = put('/products/product:lamp_quartz', json => \%globe, bearer($admin));
is($r->{status}, 200, 'PUT as admin (id with its table): 200');
is($r->{json}{name}, 'Aurora Globe Lantern', 'the new name');
is($r->{json}{price}, 64, 'the new price');
ok(!defined $r->{json}{specs}, 'a field the body left out is gone (specs)');
ok(!defined $r->{json}{rating}, 'and the score');
ok(!defined $r->{json}{image_url}, 'and the image');
is($r->{json}{stock_quantity}, 3, 'the new stock');

my $after = stored('lamp_quartz');
is(scalar @{ $after->{embedding} || [] }, 384, 'still 384 floats');
ok(encode_json($after->{embedding}) ne encode_json($before->{embedding}),
    'the embedding was recomputed');
isnt($after->{content_hash}, $before->{content_hash}, 'a new content hash');
is($after->{embedding_model}, $MODEL, 'the model name');
is($after->{created_at}, $before->{created_at}, 'created_at is kept');

$g = $t->get('/products/lamp_quartz');
isnt($g->{headers}{etag}, $etag1, 'GET after PUT: a new ETag');
is($g->{headers}{etag}, $r->{headers}{etag}, 'the one PUT answered');
is($t->get('/products/lamp_quartz', headers => { 'If-None-Match' => $etag1 })
    ->{status}, 200, 'the old ETag no longer gives 304');

$s = $t->post('/products/search', json => { query => 'aurora globe' });
is($s->{json}{hits}[0]{product}{id}, 'product:lamp_quartz',
    'search finds the product by its new name');
is($s->{json}{hits}[0]{match}{fulltext}{rank}, 1, 'first by full text');
is($s->{json}{hits}[0]{match}{vector}{rank}, 1, 'and first by vector');

# a GET answer sent back unchanged (id, rating) changes nothing
my $same = $g->{json};
$r = put('/products/lamp_quartz', json => $same, bearer($admin));
is($r->{status}, 200, 'PUT of the GET answer: 200');
is($r->{headers}{etag}, $g->{headers}{etag}, 'the same ETag');
is(stored('lamp_quartz')->{content_hash}, $after->{content_hash},
    'the same content hash');

# the API's hash is the import's: importing the same product is "unchanged"
{
    my $file = $t->dir . '/one.json';
    open my $fh, '>', $file or die $!;
    print $fh encode_json([{ id => 'lamp_quartz', %globe }]);
    close $fh;

    local $ENV{CARTBOT_SECRETS_DIR} = $t->dir . '/conf/secrets';
    my ($rc, $out) = $t->ctl('import', $file);
    is($rc, 0, 'the import of the stored product runs');
    like($out, qr/^import: 0 created, 0 updated, 1 unchanged, 0 rejected$/m,
        'and finds it unchanged (same content hash)');

    # one set of rules: the import refuses a row with the API's words
    open $fh, '>', $file or die $!;
    print $fh encode_json([{ name => 'Bad', price => -3, score => 9 }]);
    close $fh;

    ($rc, $out) = $t->ctl('import', $file);
    my ($why) = $out =~ /^line 1: (.*)$/m;
    $r = $t->post('/products', bearer($admin), json => { name => 'Bad',
        price => -3, score => 9, description => 'd', category => 'c',
        sub_category => 's' });
    is($r->{json}{error}{message}, $why,
        "import and API refuse with the same reason ($why)");
}

# --- delete -------------------------------------------------------------------

# in an active cart: kept, 409
my $sid = $t->post('/session/create', bearer($shopper))->{json}{session_id};
$r = $t->post('/cart/add', bearer($shopper), json => { session_id => $sid,
    product_id => 'product:lamp_quartz', quantity => 1 });
is($r->{status}, 200, 'a shopper puts the product in a cart');

$r = del('/products/lamp_quartz', bearer($admin));
is($r->{status}, 409, 'DELETE of a product in an active cart: 409');
is($r->{json}{error}{code}, 'product_in_cart', 'product_in_cart');
like($r->{json}{error}{message}, qr/1 active cart; set its stock_quantity/,
    'says how many carts and what to do');
is($t->get('/products/lamp_quartz')->{status}, 200, 'the product stays');

# once that cart is checked out, the order has its own copy: deletable
$r = $t->post('/checkout', bearer($shopper), json => { session_id => $sid });
is($r->{status}, 201, 'the cart is checked out');

my $etag2 = $t->get('/products/lamp_quartz')->{headers}{etag};
$r = del('/products/lamp_quartz', bearer($admin));
is($r->{status}, 200, 'DELETE as admin: 200');
is($r->{json}{name}, 'Aurora Globe Lantern', 'answers the product as it was');
is($r->{json}{stock_quantity}, 2, 'with the stock checkout left');
ok(!exists $r->{headers}{etag}, 'no ETag for what is gone');

$g = $t->get('/products/lamp_quartz');
is($g->{status}, 404, 'GET after DELETE: 404');
is($g->{json}{error}{code}, 'product_not_found', 'product_not_found');
is($t->get('/products/lamp_quartz', headers => { 'If-None-Match' => $etag2 })
    ->{status}, 404, 'an old ETag gets 404, not 304');
is(del('/products/lamp_quartz', bearer($admin))->{status}, 404,
    'DELETE again: 404');
ok(!defined stored('lamp_quartz'), 'the row is gone');

$s = $t->post('/products/search', json => { query => 'aurora globe' });
ok(!grep({ $_->{product}{id} eq 'product:lamp_quartz' }
         @{ $s->{json}{hits} || [] }), 'search no longer finds it');

my $order = $t->sql('SELECT VALUE items FROM purchase_order')->[0];
is($order->[0]{name}, 'Aurora Globe Lantern', 'the order keeps its copy');

# the id is free again
is($t->post('/products', json => \%lamp, bearer($admin))->{status}, 201,
    'POST of the deleted id: 201');

$t->finish;

done_testing;
