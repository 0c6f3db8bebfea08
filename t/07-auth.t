#!/usr/bin/perl

# Shopper tokens and the shipped routes (conf/cartbot/routes.conf): register,
# login, guest, then a whole purchase with the token, and what another
# shopper's token may not do.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use MIME::Base64 qw/ decode_base64url /;
use Test::More;

use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

$t->sql(q{
    CREATE product:tee SET name = 'Blue Cotton T-Shirt', price = 19.99,
        stock_quantity = 10;
});

$t->write_conf(<<'CONF');
    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;
        include  cartbot/routes.conf;
    }
CONF

$t->run;

sub claims {
    my ($token) = @_;
    my (undef, $p) = split /\./, $token // '';
    return decode_json(decode_base64url($p // '') || '{}');
}

sub bearer { return (headers => { Authorization => "Bearer $_[0]" }) }

# --- register ---------------------------------------------------------------

my $r = $t->post('/auth/register',
    json => { username => 'Alice', password => 'correct horse' });
is($r->{status}, 201, 'register: 201');
is($r->{json}{token_type}, 'Bearer', 'a bearer token');
is($r->{json}{expires_in}, 3600, 'expires in an hour');

my $c = claims($r->{json}{token});
like($c->{sub}, qr/^shopper:\w+$/, 'sub is the shopper record');
is($c->{role}, 'shopper', 'role shopper');
is($c->{iss}, 'cartbot', 'issuer');
is($c->{exp} - $c->{iat}, 3600, 'exp = iat + ttl');
ok(length($c->{jti} // '') >= 16, 'a jti');

my $hash = $t->sql('SELECT VALUE password_hash FROM shopper')->[0];
like($hash, qr/^\$argon2id\$/, 'the password is stored as argon2');

$r = $t->post('/auth/register',
    json => { username => 'alice', password => 'another one' });
is($r->{status}, 409, 'the same name (any case) again: 409');
is($r->{json}{error}{code}, 'username_taken', 'username_taken');

for my $bad ([{ username => 'al', password => 'long enough' }, 'invalid_username'],
             [{ username => 'al ice', password => 'long enough' }, 'invalid_username'],
             [{ username => 'a' x 33, password => 'long enough' }, 'invalid_username'],
             [{ username => 'bob', password => 'short' }, 'invalid_password'],
             [{ username => 'bob', password => ' ' x 10 }, 'invalid_password'],
             [{ username => 'bob', password => 'x' x 129 }, 'invalid_password'],
             [{ username => 42, password => 'long enough' }, 'invalid_username'],
             [{ username => 'bob' }, 'invalid_password'])
{
    $r = $t->post('/auth/register', json => $bad->[0]);
    is($r->{status}, 422, "register rule: $bad->[1] ("
        . encode_json($bad->[0]) . ')');
    is($r->{json}{error}{code}, $bad->[1], "says $bad->[1]");
}

is($t->post('/auth/register', body => '{')->{status}, 400,
    'malformed JSON: 400');
is($t->get('/auth/register')->{status}, 405, 'GET: 405');

# --- login ------------------------------------------------------------------

$r = $t->post('/auth/login',
    json => { username => 'alice', password => 'correct horse' });
is($r->{status}, 200, 'login: 200');
my $alice = $r->{json}{token};
is(claims($alice)->{sub}, $c->{sub}, 'the same shopper');

my $wrong = $t->post('/auth/login',
    json => { username => 'alice', password => 'wrong horse!' });
my $unknown = $t->post('/auth/login',
    json => { username => 'nobody', password => 'correct horse' });

is($wrong->{status}, 401, 'wrong password: 401');
is($unknown->{status}, 401, 'unknown user: 401');
is_deeply($unknown->{json}{error}{code}, $wrong->{json}{error}{code},
    'the same error code');
is($unknown->{json}{error}{message}, $wrong->{json}{error}{message},
    'the same message');

# an unknown user pays the argon2 comparison too (about 50 ms here): it
# answers neither much faster nor much slower than a wrong password
my ($tw, $tu) = (0, 0);
for (1 .. 3) {
    $tw += $t->post('/auth/login', json => { username => 'alice',
        password => 'wrong horse!' })->{elapsed};
    $tu += $t->post('/auth/login', json => { username => 'nobody',
        password => 'wrong horse!' })->{elapsed};
}
cmp_ok($tu / $tw, '>', 0.5, sprintf('unknown user %.0f ms vs wrong '
    . 'password %.0f ms: not faster', $tu * 333, $tw * 333));
cmp_ok($tu / $tw, '<', 2, 'and not slower');

$t->sql('UPDATE shopper SET role = "admin" WHERE username = "alice"');
$r = $t->post('/auth/login',
    json => { username => 'alice', password => 'correct horse' });
is(claims($r->{json}{token})->{role}, 'admin', 'an admin account');

# --- guest ------------------------------------------------------------------

$r = $t->post('/auth/guest');
is($r->{status}, 200, 'guest: 200');
my $guest = $r->{json}{token};
like(claims($guest)->{sub}, qr/^guest:\w{16,}$/, 'a random guest subject');
is(claims($guest)->{role}, 'guest', 'role guest');
isnt(claims($t->post('/auth/guest')->{json}{token})->{sub},
    claims($guest)->{sub}, 'each guest is new');

# --- a purchase with the token ----------------------------------------------

is($t->post('/session/create')->{status}, 401, 'no token: 401');

$r = $t->post('/session/create', bearer($guest));
is($r->{status}, 201, 'session with a guest token');
my $sid = $r->{json}{session_id};
is($r->{json}{user_id}, claims($guest)->{sub}, 'owned by the token subject');

$r = $t->post('/cart/add', bearer($guest), json => { session_id => $sid,
    product_id => 'product:tee', quantity => 2 });
is($r->{status}, 200, 'add with the token');

$r = $t->post('/cart/add', bearer($alice), json => { session_id => $sid,
    product_id => 'product:tee', quantity => 1 });
is($r->{status}, 404, "another shopper's token: 404");

$r = $t->get("/cart?session_id=$sid", bearer($alice));
is($r->{status}, 404, "another shopper cannot read the cart");

$r = $t->post('/checkout', bearer($alice), json => { session_id => $sid });
is($r->{status}, 404, "another shopper cannot check out");

$r = $t->post('/checkout', bearer($guest), json => { session_id => $sid });
is($r->{status}, 201, 'checkout with the token');
is($r->{json}{items}[0]{quantity}, 2, 'the order');

is($t->get('/internal/cart')->{status}, 404, 'the internal API is hidden');

$t->finish;

done_testing;
