#!/usr/bin/perl

# Prometheus metrics move as requests are made, and the circuit breaker
# opens when the database is stopped, answers 503 fast, and closes after
# it returns.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;
use Time::HiRes qw/ sleep /;

use Cartbot::JWT;
use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

open my $fh, '>', $t->dir . '/conf/secrets/token.key' or die $!;
print $fh 's' x 32;
close $fh;

open my $ok, '>', $t->dir . '/ok.txt' or die $!;
print $ok "ok\n";
close $ok;

$t->write_conf(<<'CONF');
    cartbot_limit_zone  name=t_api size=1m key=$binary_remote_addr;

    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;

        cartbot_gateway_db  /_cartbot/db/sql  signin=/_cartbot/db/signin
                            credentials=secrets/gateway.json
                            breaker=3 open=1s max_open=4s;

        location = /internal/health  { cartbot_health ready cache=0; }
        location = /internal/metrics { cartbot_metrics; }
        location = /live { cartbot_health live; }
        location = /ready { cartbot_health ready cache=30s; }
        location = /t/query { cartbot_gateway_db_query "RETURN 1"; }

        location = /private {
            cartbot_jwt  shop;
            alias  %%DIR%%/ok.txt;
        }

        location = /limited {
            cartbot_limit  zone=t_api rate=2r/m;
            alias  %%DIR%%/ok.txt;
        }
    }
CONF

$t->run;

sub metrics {
    my $r = $t->get('/internal/metrics');
    my %m;
    for (split /\n/, $r->{content}) {
        next if /^# (HELP|TYPE) \w+ /;
        /^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)$/ or return undef;
        $m{$1} = $3;
    }
    return \%m;
}

my $r;
my $m0 = metrics();
ok($m0, 'every line parses as Prometheus text');
like($t->get('/internal/metrics')->{headers}{'content-type'},
    qr{^text/plain; version=0\.0\.4}, 'Prometheus content type');

$t->get('/internal/health') for 1 .. 3;
$t->get('/private', headers => { Authorization => 'Bearer x.y.z' });
$t->get('/private', headers => { Authorization => 'Bearer '
    . Cartbot::JWT::sign('HS256', 's' x 32, { exp => time - 3600 }) });
$t->get('/private');
$t->get('/limited') for 1 .. 3;

my $m = metrics();

my $route = 'cartbot_http_requests_total{route="/internal/health",status="2xx"}';
is($m->{$route} - ($m0->{$route} // 0), 3, 'requests by location and class');
is($m->{'cartbot_http_request_duration_seconds_count{route="/internal/health"}'},
    $m->{$route}, 'the duration histogram counts them');
cmp_ok($m->{'cartbot_upstream_requests_total{upstream="surrealdb",'
    . 'location="/_cartbot/db/sql",outcome="ok"}'}, '>=', 3,
    'database calls by outcome');
is($m->{'cartbot_auth_failures_total{reason="malformed"}'}, 1,
    'auth failure: malformed');
is($m->{'cartbot_auth_failures_total{reason="expired"}'}, 1,
    'auth failure: expired');
is($m->{'cartbot_auth_failures_total{reason="missing_token"}'}, 1,
    'auth failure: no token');
is($m->{'cartbot_ratelimit_decisions_total{zone="t_api",result="passed"}'}, 2,
    'rate limit: passed');
is($m->{'cartbot_ratelimit_decisions_total{zone="t_api",result="rejected"}'},
    1, 'rate limit: rejected');
is($m->{'cartbot_breaker_state{location="/_cartbot/db/sql",state="closed"}'},
    0, 'breaker closed');

# --- liveness and a cached readiness ---------------------------------------

my $calls = sub {
    my $mm = metrics();
    return $mm->{'cartbot_upstream_requests_total{upstream="surrealdb",'
        . 'location="/_cartbot/db/sql",outcome="ok"}'};
};

my $before = $calls->();
my $live = $t->get('/live');
is($live->{status}, 200, 'liveness: 200');
is_deeply($live->{json}, { status => 'ok' }, 'liveness: no dependency');
is($calls->(), $before, 'liveness asks the database nothing');

$r = $t->get('/ready');
is($r->{status}, 200, 'readiness: 200');
is($r->{json}{surrealdb}{breaker}, 'closed', 'with the breaker state');
my $after = $calls->();
$t->get('/ready') for 1 .. 5;
is($calls->(), $after, 'five more readiness checks: no database call');
is($t->get('/ready')->{json}{cached}, JSON::PP::true(), 'they say cached');

# --- the breaker ------------------------------------------------------------

$t->stop_db;

my @codes = map { $t->get('/internal/health')->{json}{surrealdb}{error} }
    1 .. 3;
is_deeply(\@codes, [('database_unavailable') x 3],
    'three failures while the database is down');

$r = $t->get('/internal/health');
is($r->{status}, 503, 'then the breaker answers 503');
cmp_ok($r->{elapsed}, '<', 0.2, 'fast');

$m = metrics();
is($m->{'cartbot_breaker_state{location="/_cartbot/db/sql",state="open"}'},
    1, 'metrics: breaker open');
is($m->{'cartbot_breaker_trips_total{location="/_cartbot/db/sql"}'}, 1,
    'metrics: one trip');
cmp_ok($m->{'cartbot_upstream_requests_total{upstream="surrealdb",'
    . 'location="/_cartbot/db/sql",outcome="refused"}'}, '>=', 1,
    'metrics: refused calls');

$r = $t->get('/t/query');
is($r->{status}, 503, 'a query while open: 503');
is($r->{json}{error}{code}, 'database_unavailable', 'JSON error');
like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/, 'Retry-After');

$t->start_db->migrate;

sleep 1.2;

$r = $t->get('/internal/health');
is($r->{status}, 200, 'after the open time one probe passes: 200');

$m = metrics();
is($m->{'cartbot_breaker_state{location="/_cartbot/db/sql",state="closed"}'},
    0, 'and the breaker is closed again');

$t->finish;

done_testing;
