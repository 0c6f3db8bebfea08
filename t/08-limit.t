#!/usr/bin/perl

# Rate limits: per subject, several per location, tiers, dry run, the
# RateLimit headers, state kept across a reload, and a key change refused
# by nginx -t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Cartbot::JWT;
use Cartbot::Test;

my $t = Cartbot::Test->new(workers => 2);

$t->start_db->migrate;

open my $ok, '>', $t->dir . '/ok.txt' or die $!;
print $ok "ok\n";
close $ok;

my $conf = <<'CONF';
    cartbot_limit_zone  name=t_chat size=1m
                        key=$jwt_claim_sub key=$binary_remote_addr;
    cartbot_limit_zone  name=t_api size=1m key=$jwt_claim_sub;
    cartbot_limit_zone  name=tiny size=32k key=$http_x_key;

    log_format  limits  '$request_uri $status $cartbot_limit_status';

    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;

        access_log  logs/limits.log limits;

        location = /chat {
            cartbot_limit  zone=t_chat rate=30r/m
                           by=$jwt_claim_role admin=300r/m guest=5r/m;
            cartbot_limit  zone=t_api rate=100r/h;
            alias  %%DIR%%/ok.txt;
        }

        location = /dry {
            cartbot_limit  zone=t_chat rate=2r/m;
            cartbot_limit_dry_run  on;
            alias  %%DIR%%/ok.txt;
        }

        location = /legacy {
            cartbot_limit  zone=t_api rate=3r/d burst=2;
            cartbot_limit_headers  legacy;
            alias  %%DIR%%/ok.txt;
        }

        location = /tiny {
            cartbot_limit  zone=tiny rate=10r/m;
            alias  %%DIR%%/ok.txt;
        }
    }
CONF

my $secret = 's' x 32;
open my $fh, '>', $t->dir . '/conf/secrets/token.key' or die $!;
print $fh $secret;
close $fh;

$t->write_conf($conf);
$t->run;


sub token {
    my (%claims) = @_;
    return Cartbot::JWT::sign('HS256', $secret, { iss => 'cartbot',
        exp => time + 600, iat => time, %claims });
}

sub hit {
    my ($path, $token, %h) = @_;
    return $t->get($path, headers => { %h,
        $token ? (Authorization => "Bearer $token") : () });
}

my $alice = token(sub => 'shopper:alice', role => 'shopper');
my $bob = token(sub => 'shopper:bob', role => 'shopper');

# --- the 31st request in a minute -------------------------------------------

my %status;
my $r;
for (1 .. 30) {
    $r = hit('/chat', $alice);
    $status{ $r->{status} }++;
}

is_deeply(\%status, { 200 => 30 }, '30 requests in a minute: all pass');
like($r->{headers}{'ratelimit-policy'} // '', qr/^"t_chat";q=30;w=60$/,
    'RateLimit-Policy names the tightest limit');
like($r->{headers}{ratelimit} // '', qr/^"t_chat";r=0;t=\d+$/,
    'RateLimit: none remaining');

$r = hit('/chat', $alice);
is($r->{status}, 429, 'the 31st: 429');
is($r->{json}{error}{code}, 'rate_limited', 'JSON error');
like($r->{headers}{'retry-after'} // '', qr/^\d+$/, 'Retry-After');
cmp_ok($r->{headers}{'retry-after'}, '>', 0, 'Retry-After > 0');
cmp_ok($r->{headers}{'retry-after'}, '<=', 60, 'Retry-After <= 60');
like($r->{headers}{ratelimit} // '', qr/^"t_chat";r=0;t=\d+$/,
    'RateLimit on the refusal');

$r = hit('/chat', $bob);
is($r->{status}, 200, 'another subject passes');

# --- tiers: the rate by role ------------------------------------------------

my $admin = token(sub => 'shopper:root', role => 'admin');
%status = ();
$status{ hit('/chat', $admin)->{status} }++ for 1 .. 40;
is_deeply(\%status, { 200 => 40 }, 'admin tier: 40 pass (300/min)');

my $guest = token(sub => 'guest:g1', role => 'guest');
%status = ();
$status{ hit('/chat', $guest)->{status} }++ for 1 .. 7;
is_deeply(\%status, { 200 => 5, 429 => 2 }, 'guest tier: 5 pass, then 429');

# --- without a token: the client address ------------------------------------

%status = ();
$status{ hit('/chat')->{status} }++ for 1 .. 31;
is_deeply(\%status, { 200 => 30, 429 => 1 },
    'no token: limited by address');

# --- dry run ------------------------------------------------------------------

my $carol = token(sub => 'shopper:carol');
%status = ();
$status{ hit('/dry', $carol)->{status} }++ for 1 .. 5;
is_deeply(\%status, { 200 => 5 }, 'dry run: everything passes');

my @log = grep { m{^/dry } } split /\n/, $t->read_file('logs/limits.log');
is_deeply([ map { (split ' ')[2] } @log ],
    [qw/ PASSED PASSED REJECTED_DRY_RUN REJECTED_DRY_RUN REJECTED_DRY_RUN /],
    'and counts: $cartbot_limit_status');

# --- burst and the legacy headers ---------------------------------------------

my $dave = token(sub => 'shopper:dave');
%status = ();
$status{ hit('/legacy', $dave)->{status} }++ for 1 .. 6;
is_deeply(\%status, { 200 => 5, 429 => 1 },
    '3 a day with a burst of 2: 5 pass');
$r = hit('/legacy', $dave);
is($r->{headers}{'x-ratelimit-limit'}, 3, 'X-RateLimit-Limit');
is($r->{headers}{'x-ratelimit-remaining'}, 0, 'X-RateLimit-Remaining');

# --- a full zone forgets its oldest keys --------------------------------------

%status = ();
$status{ hit('/tiny', undef, 'X-Key' => "k$_")->{status} }++ for 1 .. 2000;
is_deeply(\%status, { 200 => 2000 }, '2000 keys through a 32k zone');
unlike($t->read_file('logs/error.log'), qr/\[crit\]|\[alert\]/,
    'no allocation failure logged');

# --- limits survive a reload ------------------------------------------------

is(hit('/chat', $alice)->{status}, 429, 'before the reload: limited');

SKIP: {
    # a reload is the master's work; valgrind runs nginx without one
    skip 'no reload without a master process', 2 if $ENV{CARTBOT_VALGRIND};

    $t->reload;
    is(hit('/chat', $alice)->{status}, 429, 'after the reload: still limited');
    is(hit('/chat', $bob)->{status}, 200, 'and bob still passes');
}

# --- changing a zone's key is refused before the reload ----------------------

(my $changed = $conf) =~ s/key=\$jwt_claim_sub key=\$binary_remote_addr/key=\$binary_remote_addr/;
$t->write_conf($changed);
my ($rc, $out) = $t->nginx_test;
isnt($rc, 0, 'nginx -t refuses a changed key');
like($out, qr/cartbot_limit_zone "t_chat" changes its keys/,
    'and says which zone');

$t->write_conf($conf);
($rc, $out) = $t->nginx_test;
is($rc, 0, 'the same keys pass nginx -t') or diag($out);

$t->finish;

done_testing;
