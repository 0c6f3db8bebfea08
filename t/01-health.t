#!/usr/bin/perl

# The spine: /internal/health through a real subrequest to the real
# database engine; down, wrong credentials, a slow database, concurrency,
# and signing in again after the database lost its keys.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw/ time sleep /;

use Cartbot::Test;

my $t = Cartbot::Test->new(workers => 1);

$t->start_db->migrate;

my $slow = $t->start_slow_db(3);

open my $fh, '>', $t->dir . '/conf/secrets/wrong.json' or die $!;
print $fh '{"ns":"production","db":"chatbot","ac":"service",'
    . '"user":"gateway","pass":"not-the-password"}';
close $fh;

$t->write_conf(<<"CONF");
    upstream slow_surrealdb {
        server  127.0.0.1:$slow;
    }

    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;

        location = /_t/slow/sql {
            include  cartbot/db_proxy.conf;
            proxy_read_timeout  1s;
            proxy_pass  http://slow_surrealdb/sql;
        }

        location = /internal/health {
            cartbot_health ready cache=0;
        }

        location = /t/wrong-credentials {
            cartbot_gateway_db  /_cartbot/db/sql  signin=/_cartbot/db/signin
                                credentials=secrets/wrong.json;
            cartbot_health ready cache=0;
        }

        location = /t/slow {
            cartbot_gateway_db  /_t/slow/sql  signin=/_cartbot/db/signin
                                credentials=secrets/gateway.json;
            cartbot_gateway_db_query  "RETURN true";
        }
    }
CONF

$t->run;

# --- ok ---------------------------------------------------------------------

my $r = $t->get('/internal/health');
is($r->{status}, 200, 'health: 200');
is($r->{json}{status}, 'ok', 'health: status ok');
is($r->{json}{surrealdb}{status}, 'ok', 'health: surrealdb ok');
like($r->{json}{surrealdb}{latency_ms} // '', qr/^\d+$/,
    'health: latency_ms is a whole number');
is($r->{headers}{'cache-control'}, 'no-store', 'health: not cached');

$r = $t->get('/_cartbot/db/sql');
is($r->{status}, 404, 'internal database location: 404 to clients');
is($r->{json}{error}{code}, 'not_found', 'internal location: JSON error');

$r = $t->post('/internal/health', body => '{}');
is($r->{status}, 405, 'health: POST refused');
is($r->{json}{error}{code}, 'method_not_allowed', 'health: 405 is JSON');

# --- wrong credentials ------------------------------------------------------

$r = $t->get('/t/wrong-credentials');
is($r->{status}, 503, 'wrong credentials: 503');
is($r->{json}{status}, 'unavailable', 'wrong credentials: same shape');
is($r->{json}{surrealdb}{status}, 'down', 'wrong credentials: db down');
is($r->{json}{surrealdb}{error}, 'database_auth_failed',
    'wrong credentials: says why');

# --- a database slower than proxy_read_timeout ------------------------------

my $s = $t->send_raw('GET', '/t/slow');
my $t0 = time;

sleep 0.2;

$r = $t->get('/internal/health');
is($r->{status}, 200, 'while a slow query waits, the worker answers');
cmp_ok($r->{elapsed}, '<', 0.5, 'and answers fast');

my $slow_r = Cartbot::Test::read_raw($s, 10);
my $took = time - $t0;

is($slow_r->{status}, 504, 'slow database: 504');
is($slow_r->{json}{error}{code}, 'database_timeout',
    'slow database: JSON error');
like($slow_r->{json}{error}{request_id} // '', qr/^[0-9a-f]{32}$/,
    'slow database: the error carries the request id');
cmp_ok($took, '<', 2.5, 'slow database: answered at the timeout');

# --- 200 concurrent requests ------------------------------------------------

my @socks = map { $t->send_raw('GET', '/internal/health') } 1 .. 200;
my %status;
$status{ Cartbot::Test::read_raw($_, 30)->{status} }++ for @socks;

is_deeply(\%status, { 200 => 200 }, '200 concurrent health checks: all ok')
    or diag(explain(\%status));

# --- database down ----------------------------------------------------------

$t->stop_db;

$r = $t->get('/internal/health');
is($r->{status}, 503, 'database down: 503');
is($r->{json}{status}, 'unavailable', 'database down: status');
is($r->{json}{surrealdb}{status}, 'down', 'database down: surrealdb down');
is($r->{json}{surrealdb}{error}, 'database_unavailable',
    'database down: says why');
cmp_ok($r->{elapsed}, '<', 1, 'database down: fails fast');

# --- back with new keys: the cached token is refused, sign in again ---------

$t->start_db->migrate;

$r = $t->get('/internal/health');
is($r->{status}, 200, 'database back: health ok again');
is($r->{json}{surrealdb}{status}, 'ok', 'database back: signed in anew');

$t->finish;

done_testing;
