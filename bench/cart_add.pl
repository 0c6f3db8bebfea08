#!/usr/bin/perl

# POST /cart/add through nginx versus the same statement sent straight to
# SurrealDB's /sql, at the same concurrency, in one run.
#
#   perl bench/cart_add.pl [seconds] [connections...]
#
# It starts the dev database and nginx (one worker) like the tests do,
# makes 64 sessions and 32 products, and lets wrk pick a random (session,
# product) per request so that lines stay short and same-session requests
# rarely overlap.  The direct side replays the exact statement and
# variables the cart module sent (captured from nginx's subrequest log)
# with the cart service account's token.  It prints p50/p99 for both, the
# ratio, and the database round trips per /cart/add counted from the log.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use HTTP::Tiny;
use JSON::PP;

use Cartbot::Test;

my $seconds = shift // 10;
my @concurrency = @ARGV ? @ARGV : (1, 16);

my $t = Cartbot::Test->new(workers => 1);

$t->start_db->migrate;

$t->sql(join '', map { "CREATE product:p$_ SET name = 'Product $_',"
    . " price = 9.99, stock_quantity = 100000000;" } 1 .. 32);

$t->write_conf(<<'CONF');
    log_format  dbq  escape=json '$uri\t$args\t$request_body';

    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;

        cartbot_cart_user     $http_x_user;
        cartbot_session_user  $http_x_user;
        cartbot_cart_max_quantity  1000000;

        access_log  off;

        location = /_cartbot/db/sql {
            include     cartbot/db_proxy.conf;
            proxy_pass  http://cartbot_surrealdb/sql;
            access_log  logs/db.log dbq;
            log_subrequest  on;
        }

        location = /_cartbot/db/signin {
            include     cartbot/db_proxy.conf;
            proxy_pass  http://cartbot_surrealdb/signin;
        }

        location = /session/create { cartbot_session create; }
        location = /cart/add       { cartbot_cart add; }
    }
CONF

$t->run;

my @sessions = map {
    $t->post('/session/create', headers => { 'X-User' => 'bench' })
        ->{json}{session_id}
} 1 .. 64;

# one add, to capture the statement the module sends

truncate($t->dir . '/logs/db.log', 0);
my $r = $t->post('/cart/add', headers => { 'X-User' => 'bench' },
    json => { session_id => $sessions[0], product_id => 'product:p1',
              quantity => 1 });
die "add failed: $r->{status} $r->{content}" unless $r->{status} == 200;

my @db = grep { /^\/_cartbot\/db\/sql\t/ } split /\n/,
    $t->read_file('logs/db.log');
my $round_trips = scalar @db;
my (undef, $args, $sql) = split /\t/, $db[-1], 3;
$sql = decode_json(qq{"$sql"});

# the cart service account's token, as the module gets it

my $creds = $t->read_file('conf/secrets/cart.json');
my $token = decode_json(HTTP::Tiny->new->request('POST',
    'http://127.0.0.1:' . $t->db_port . '/signin', {
        headers => { Accept => 'application/json' }, content => $creds,
    })->{content})->{token};

# wrk scripts: a random (session, product) per request

my $lua_common = 'local sessions = {' . join(',', map { qq{"$_"} }
    map { (my $k = $_) =~ s/^user_session://; $k } @sessions) . "}\n"
    . "math.randomseed(os.time())\n";

my $via_nginx = $t->dir . '/nginx.lua';
open my $fh, '>', $via_nginx or die $!;
print $fh $lua_common, <<'LUA';
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-User"] = "bench"
request = function()
    local s = sessions[math.random(#sessions)]
    local p = "product:p" .. math.random(32)
    return wrk.format(nil, "/cart/add", nil,
        '{"session_id":"' .. s .. '","product_id":"' .. p .. '","quantity":1}')
end
LUA
close $fh;

# the captured args hold one session and product: swap in random ones

(my $args_tpl = $args) =~ s/sid=[^&]*/sid=SID/;
$args_tpl =~ s/pid=[^&]*/pid=PID/;

my $direct = $t->dir . '/direct.lua';
open $fh, '>', $direct or die $!;
my $sql_lua = $sql;
$sql_lua =~ s/\\/\\\\/g;
$sql_lua =~ s/"/\\"/g;
print $fh $lua_common, <<"LUA";
wrk.method = "POST"
wrk.headers["Accept"] = "application/json"
wrk.headers["Content-Type"] = "text/plain; charset=utf-8"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = "$sql_lua"
request = function()
    local s = sessions[math.random(#sessions)]
    local a = string.gsub("$args_tpl", "SID", s)
    a = string.gsub(a, "PID", "p" .. math.random(32))
    return wrk.format(nil, "/sql?" .. a)
end
LUA
close $fh;

sub wrk {
    my ($script, $url, $conns) = @_;
    my $out = qx{wrk -t1 -c$conns -d${seconds}s --latency -s $script $url 2>&1};
    my %p;
    for my $q (qw/ 50 99 /) {
        my ($v, $u) = $out =~ /^\s+$q(?:\.000)?%\s+([\d.]+)(us|ms|s)\b/m;
        die "wrk output not understood:\n$out" unless defined $v;
        $p{$q} = $v * ($u eq 'us' ? 0.001 : $u eq 's' ? 1000 : 1);
    }
    ($p{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    ($p{non2xx}) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    $p{non2xx} //= 0;
    return \%p;
}

chomp(my $cpu = `grep -m1 'model name' /proc/cpuinfo | cut -d: -f2`);
chomp(my $cores = `nproc`);
printf "machine:%s, %s cores; nginx 1 worker; %d s per side\n",
    $cpu, $cores, $seconds;
print "latencies are the means of two wrk runs per side (ABBA order)\n";
printf "database round trips per POST /cart/add: %d\n", $round_trips;

# the direct statement must really succeed, not answer ERR entries

my $check = HTTP::Tiny->new->request('POST', 'http://127.0.0.1:'
    . $t->db_port . "/sql?$args", { content => $sql, headers => {
        Accept => 'application/json', Authorization => "Bearer $token" } });
die "direct statement failed: $check->{content}"
    if $check->{status} != 200 || $check->{content} =~ /"status":"ERR"/;

# each side runs twice, in the order nginx, direct, direct, nginx, so
# that the database growing during the run favours neither

sub mean {
    my ($a, $b) = @_;
    return { map { $_ => ($a->{$_} + $b->{$_}) / 2 } qw/ 50 99 rps non2xx / };
}

$seconds = int($seconds / 2) || 1;

for my $c (@concurrency) {
    my $n1 = wrk($via_nginx, 'http://127.0.0.1:' . $t->port, $c);
    my $d1 = wrk($direct, 'http://127.0.0.1:' . $t->db_port, $c);
    my $d2 = wrk($direct, 'http://127.0.0.1:' . $t->db_port, $c);
    my $n2 = wrk($via_nginx, 'http://127.0.0.1:' . $t->port, $c);
    my $n = mean($n1, $n2);
    my $d = mean($d1, $d2);

    printf "concurrency %2d  nginx  p50 %7.2f ms  p99 %7.2f ms  %7.0f rps"
        . "  (non-2xx %d)\n", $c, $n->{50}, $n->{99}, $n->{rps},
        $n->{non2xx};
    printf "concurrency %2d  direct p50 %7.2f ms  p99 %7.2f ms  %7.0f rps"
        . "  (non-2xx %d)\n", $c, $d->{50}, $d->{99}, $d->{rps},
        $d->{non2xx};
    printf "concurrency %2d  ratio nginx/direct  p50 %.2f  p99 %.2f\n",
        $c, $n->{50} / $d->{50}, $n->{99} / $d->{99};
}

print "kept: ", $t->dir, "\n" if $ENV{CARTBOT_TEST_KEEP};
$t->stop;
