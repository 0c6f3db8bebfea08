#!/usr/bin/perl

# Request ids: a well-formed inbound X-Request-Id is kept, returned on
# every response, put in JSON errors and passed to the database.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use Cartbot::Test;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

$t->write_conf(<<'CONF');
    log_format  sub  '$uri $http_x_request_id';

    server {
        listen  127.0.0.1:%%PORT%%;

        cartbot_request_id  on;

        include  cartbot/errors.conf;

        location = /_cartbot/db/sql {
            include     cartbot/db_proxy.conf;
            proxy_pass  http://cartbot_surrealdb/sql;
            log_subrequest  on;
            access_log  logs/sub.log sub;
        }

        location = /_cartbot/db/signin {
            include     cartbot/db_proxy.conf;
            proxy_pass  http://cartbot_surrealdb/signin;
        }

        location = /internal/health { cartbot_health ready cache=0; }
    }
CONF

$t->run;

my $r = $t->get('/internal/health',
    headers => { 'X-Request-Id' => 'client-1234:abc' });
is($r->{status}, 200, 'health');
is($r->{headers}{'x-request-id'}, 'client-1234:abc',
    'a well-formed id comes back');
like($t->read_file('logs/sub.log'),
    qr{^/_cartbot/db/sql client-1234:abc$}m,
    'and reaches the database with the query');

$r = $t->get('/nowhere', headers => { 'X-Request-Id' => 'client-5678:xyz' });
is($r->{status}, 404, 'an unknown route');
is($r->{json}{error}{request_id}, 'client-5678:xyz', 'the JSON error has it');
is($r->{headers}{'x-request-id'}, 'client-5678:xyz', 'so does the header');

for my $bad ('short', 'x' x 129, 'has space in it', 'quote"inside"it',
    "semi;colon;here")
{
    $r = $t->get('/nowhere', headers => { 'X-Request-Id' => $bad });
    like($r->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/,
        "ill-formed id replaced: $bad");
    is($r->{json}{error}{request_id}, $r->{headers}{'x-request-id'},
        'the error and the header agree');
}

$r = $t->get('/nowhere');
like($r->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/,
    'no inbound id: one is made');

$t->finish;

done_testing;
