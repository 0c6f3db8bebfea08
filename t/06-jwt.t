#!/usr/bin/perl

# JWT verification in the gateway: every algorithm, the refusals, the
# RFC 6750 answers, claim requirements and the $jwt_* variables.  Tokens
# are made with Digest::SHA and the openssl command line, not with
# Cartbot's own code.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Path qw/ make_path /;
use MIME::Base64 qw/ encode_base64url /;
use Test::More;

use Cartbot::JWT;
use Cartbot::Test;

my $t = Cartbot::Test->new;
my $keys = $t->dir . '/conf/keys';
make_path($keys);

my $now = time;
my %claims = (sub => 'shopper:alice', role => 'shopper', iss => 'cartbot',
    aud => 'shop', iat => $now, exp => $now + 600);

# a JWKS with two HMAC keys, chosen by kid
{
    my %k = (a => 'A' x 32, b => 'B' x 32);
    open my $fh, '>', "$keys/set.jwks" or die $!;
    print $fh '{"keys":[' . join(',', map { '{"kty":"oct","kid":"' . $_
        . '","alg":"HS256","k":"' . encode_base64url($k{$_}) . '"}' }
        sort keys %k) . ']}';
    close $fh;
}

# one location per algorithm, each with its own key

my %secret = (HS256 => 'k' x 32, HS384 => 'l' x 48, HS512 => 'm' x 64);

# "return" would answer in the rewrite phase, before the access phase:
# locations serve a file, and name the subject in a header
open my $okf, '>', $t->dir . '/ok.txt' or die $!;
print $okf "ok\n";
close $okf;
my $ok = 'add_header X-Sub $jwt_claim_sub always; alias ' . $t->dir
    . '/ok.txt;';
my %private;
my $locations = '';

for my $alg (sort keys %secret) {
    open my $fh, '>', "$keys/$alg.secret" or die $!;
    print $fh $secret{$alg};
    close $fh;
    $locations .= "location = /t/$alg { cartbot_jwt shop; "
        . "cartbot_jwt_key_file keys/$alg.secret alg=$alg; $ok }\n";
}

for my $alg (Cartbot::JWT::asymmetric()) {
    my ($key, $pub) = Cartbot::JWT::make_key($keys, $alg);
    $private{$alg} = $key;
    my $bind = $alg =~ /^(RS|PS)/ ? " alg=$alg" : '';
    $locations .= "location = /t/$alg { cartbot_jwt shop; "
        . "cartbot_jwt_key_file keys/$alg.pub$bind; $ok }\n";
}

$t->write_conf(<<"CONF");
    map \$jwt_claim_role \$is_admin {
        admin    1;
        default  0;
    }

    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;

        cartbot_jwt_issuer    cartbot;
        cartbot_jwt_audience  shop;
        cartbot_jwt_leeway    30s;
        cartbot_jwt_max_size  4k;

        $locations

        location = /t/short-leeway {
            cartbot_jwt shop;
            cartbot_jwt_key_file keys/HS256.secret alg=HS256;
            cartbot_jwt_leeway 0;
            $ok
        }

        location = /t/jwks {
            cartbot_jwt shop;
            cartbot_jwt_key_file keys/set.jwks;
            $ok
        }

        location = /t/claims {
            cartbot_jwt shop;
            cartbot_jwt_key_file keys/HS256.secret alg=HS256;
            add_header X-Claims '\$jwt_claim_sub|\$jwt_claim_role|\$jwt_claim_n|\$jwt_claim_obj|\$jwt_header_alg|\$jwt_payload';
            alias %%DIR%%/ok.txt;
        }

        location = /t/admin {
            cartbot_jwt shop;
            cartbot_jwt_key_file keys/HS256.secret alg=HS256;
            cartbot_jwt_require \$jwt_claim_sub;
            cartbot_jwt_require \$is_admin error=403;
            $ok
        }

        location = /t/cookie {
            cartbot_jwt shop token=\$cookie_auth;
            cartbot_jwt_key_file keys/HS256.secret alg=HS256;
            $ok
        }

        location = /t/rsa-as-hmac {
            cartbot_jwt shop;
            cartbot_jwt_key_file keys/RS256.pub alg=RS256;
            $ok
        }

        location = /t/open {
            $ok
        }
    }
CONF

$t->start_db->migrate->run;

sub get_with {
    my ($path, $token, %h) = @_;
    return $t->get($path, headers => { %h,
        defined $token ? (Authorization => "Bearer $token") : () });
}

# --- every algorithm: a valid token passes, a tampered one does not ---------

for my $alg ((sort keys %secret), Cartbot::JWT::asymmetric()) {
    my $key = $secret{$alg} // $private{$alg};
    my $token = Cartbot::JWT::sign($alg, $key, \%claims);

    my $r = get_with("/t/$alg", $token);
    is($r->{status}, 200, "$alg: valid token passes");
    is($r->{headers}{'x-sub'}, 'shopper:alice', "$alg: \$jwt_claim_sub");

    $r = get_with("/t/$alg", Cartbot::JWT::tamper_signature($token));
    is($r->{status}, 401, "$alg: tampered signature refused");

    $r = get_with("/t/$alg", Cartbot::JWT::tamper_payload($token,
        { %claims, role => 'admin' }));
    is($r->{status}, 401, "$alg: tampered payload refused");
}

# --- a worker remembers a verified token, until it expires --------------------

{
    my $soon = Cartbot::JWT::sign('HS256', $secret{HS256},
        { %claims, exp => time + 2 });
    is(get_with('/t/short-leeway', $soon)->{status}, 200, 'a token: 200');
    is(get_with('/t/short-leeway', $soon)->{status}, 200,
        'again (remembered): 200');
    is(get_with('/t/short-leeway', Cartbot::JWT::tamper_signature($soon))
        ->{status}, 401, 'a tampered copy is still refused');
    sleep 3;
    is(get_with('/t/short-leeway', $soon)->{status}, 401,
        'once expired, the remembered token is refused');
}

# --- a JWKS: the key by kid ------------------------------------------------

for my $kid (qw/ a b /) {
    my $r = get_with('/t/jwks', Cartbot::JWT::sign('HS256', uc($kid) x 32,
        \%claims, kid => $kid));
    is($r->{status}, 200, "JWKS: key $kid by its kid");
}

is(get_with('/t/jwks', Cartbot::JWT::sign('HS256', 'A' x 32, \%claims,
    kid => 'b'))->{status}, 401, 'JWKS: signed with a, labelled b: 401');
is(get_with('/t/jwks', Cartbot::JWT::sign('HS256', 'C' x 32, \%claims,
    kid => 'c'))->{status}, 401, 'JWKS: unknown kid: 401');

# --- refusals -----------------------------------------------------------------

my $hs = $secret{HS256};

sub refused {
    my ($name, $token, $path) = @_;
    my $r = get_with($path // '/t/HS256', $token);
    is($r->{status}, 401, "$name: 401");
    is($r->{json}{error}{code}, 'invalid_token', "$name: JSON error");
    like($r->{headers}{'www-authenticate'} // '',
        qr/^Bearer realm="shop", error="invalid_token", error_description="[^"]+"$/,
        "$name: RFC 6750 header");
    return $r;
}

refused('alg none', Cartbot::JWT::encode({ alg => 'none', typ => 'JWT' },
    \%claims) . '.');

{
    # HS256 keyed with the RSA public key's PEM text
    open my $fh, '<', "$keys/RS256.pub" or die $!;
    local $/;
    my $pem = <$fh>;
    refused('HS256 signed with the RSA public key',
        Cartbot::JWT::sign('HS256', $pem, \%claims), '/t/rsa-as-hmac');
}

refused('expired beyond leeway', Cartbot::JWT::sign('HS256', $hs,
    { %claims, exp => $now - 60 }));

my $r = get_with('/t/HS256', Cartbot::JWT::sign('HS256', $hs,
    { %claims, exp => time - 10 }));
is($r->{status}, 200, 'expired within the 30 s leeway: passes');

refused('not yet valid', Cartbot::JWT::sign('HS256', $hs,
    { %claims, nbf => $now + 120 }));
refused('wrong issuer', Cartbot::JWT::sign('HS256', $hs,
    { %claims, iss => 'evil' }));
refused('wrong audience', Cartbot::JWT::sign('HS256', $hs,
    { %claims, aud => 'other' }));
refused('no exp', Cartbot::JWT::sign('HS256', $hs,
    { map { $_ => $claims{$_} } grep { $_ ne 'exp' } keys %claims }));
refused('malformed base64', 'eyJ!!!.eyJ.abc');
refused('padded base64', Cartbot::JWT::sign('HS256', $hs, \%claims) . '=');
refused('malformed JSON', encode_base64url('{"alg":"HS256"')
    . '.' . encode_base64url('{}') . '.' . encode_base64url('x'));
refused('oversized token', Cartbot::JWT::sign('HS256', $hs,
    { %claims, pad => 'x' x 5000 }));
refused('garbage', 'not-a-token');

$r = get_with('/t/HS256', undef);
is($r->{status}, 401, 'no token: 401');
is($r->{headers}{'www-authenticate'}, 'Bearer realm="shop"',
    'no token: no error attribute (RFC 6750 3.1)');
is($r->{json}{error}{code}, 'authentication_required', 'no token: JSON');

# --- requirements -------------------------------------------------------------

$r = get_with('/t/admin', Cartbot::JWT::sign('HS256', $hs, \%claims));
is($r->{status}, 403, 'a claim rule not met: 403');
is($r->{json}{error}{code}, 'forbidden', '403 JSON');
like($r->{headers}{'www-authenticate'}, qr/error="insufficient_scope"/,
    '403 says insufficient_scope');

$r = get_with('/t/admin', Cartbot::JWT::sign('HS256', $hs,
    { %claims, role => 'admin' }));
is($r->{status}, 200, 'the rule met: 200');

$r = get_with('/t/admin', Cartbot::JWT::sign('HS256', $hs,
    { map { $_ => $claims{$_} } grep { $_ ne 'sub' } keys %claims }));
is($r->{status}, 401, 'a missing required claim: 401');

# --- variables and token sources ---------------------------------------------

$r = get_with('/t/claims', Cartbot::JWT::sign('HS256', $hs,
    { %claims, n => 42, obj => { a => [1, 2] } }));
my ($sub, $role, $n, $obj, $alg, $payload) = split /\|/,
    $r->{headers}{'x-claims'} // '', 6;
is($sub, 'shopper:alice', '$jwt_claim_sub');
is($role, 'shopper', '$jwt_claim_role');
is($n, '42', 'a number claim');
is($obj, '{"a":[1,2]}', 'an object claim as JSON');
is($alg, 'HS256', '$jwt_header_alg');
like($payload, qr/"sub":"shopper:alice"/, '$jwt_payload');

$r = $t->get('/t/cookie', headers => { Cookie => 'auth='
    . Cartbot::JWT::sign('HS256', $hs, \%claims) });
is($r->{status}, 200, 'token from a cookie');

is($t->get('/t/open')->{status}, 200, 'locations without cartbot_jwt: open');

$t->finish;

done_testing;
