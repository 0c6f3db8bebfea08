#!/usr/bin/perl

# A chat turn on the built-in understanding ("add 2 blue t-shirts") through
# nginx next to a bare POST /cart/add of the same product, in one run, and
# the database round trips of a turn counted at the database's door.
#
#   perl bench/chat.pl [seconds] [connections...]     (default 10, 1 8)
#
# It starts the dev database and nginx (one worker) like the tests do,
# imports the sample catalog, raises the stock of tee_blue_cotton out of
# reach and serves the shipped routes (conf/cartbot/routes.conf) without
# their rate limits, on two ports:
#
# - the timed server talks to the database directly, as in production;
# - the counted server reaches it through a relay written here that
#   timestamps every HTTP request and answer it passes (keyed by the
#   X-Request-Id the modules send), so the round trips of a turn and their
#   overlap are seen from outside nginx, not from the module's own
#   Server-Timing header (which is compared with them).  Then the relay
#   holds every answer 100 ms: a turn takes 100 ms longer for each round
#   it waits for in a row, which no scheduling delay can fake.
#
# Shoppers: 64 guest tokens with 8 sessions each for the chat, as many for
# /cart/add.  wrk (bench/chat.lua) takes the pairs in turn and each run
# starts where the one before stopped, so every cart line stays far below
# its limit of 99.  Each concurrency runs add, chat, chat, add, half the
# seconds each, with the cpu time the worker and the database spent per
# request.  It prints p50/p99 of both, the ratio of the p50s (target
# <= 2.5), the round trips of a turn (target <= 2), and where a turn's time
# goes: each request of a turn through the relay, each statement replayed
# straight to the database alone and a round's statements together, the
# engine's own time per statement, and the search in its three modes.
#
# CARTBOT_BENCH_TOKENS (64), CARTBOT_BENCH_COUNTED (100 turns through the
# relay), CARTBOT_BENCH_PERF=1 (perf profiles of the worker and the
# database during the first run of each side).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use List::Util qw/ max min sum /;
use MIME::Base64 qw/ decode_base64 encode_base64 /;
use POSIX ();
use Time::HiRes qw/ sleep time /;

use Cartbot::Test;

my $seconds = shift // 10;
my @concurrency = @ARGV ? @ARGV : (1, 8);
my $tokens = $ENV{CARTBOT_BENCH_TOKENS} || 64;
my $per_token = 8;
my $counted_turns = $ENV{CARTBOT_BENCH_COUNTED} || 100;

my $t = Cartbot::Test->new(workers => 1);
my $dir = $t->dir;

chomp(my $load_start = `uptime`);

$t->start_db->migrate;

{
    local $ENV{CARTBOT_SECRETS_DIR} = "$dir/conf/secrets";
    my ($rc, $out) = $t->ctl('import',
        "$Cartbot::Test::TOP/conf/catalog/sample.json");
    die "import failed:\n$out" if $rc;
}

# the bench's own database: stock out of reach of every add of the run
$t->sql('UPDATE product:tee_blue_cotton SET stock_quantity = 100000000');

# --- the relay: a timestamp for every request and answer ---------------------

my $relay_log = "$dir/logs/relay.log";
my $delay_file = "$dir/relay.delay";   # seconds each answer is held
my $relay_port = start_relay($t->db_port, $relay_log);

# --- nginx: the shipped routes without their rate limits, twice --------------

my $routes = $t->read_file('conf/cartbot/routes.conf');
my $limits = ($routes =~ s/\bcartbot_limit\s[^;]*;//g);
die "routes.conf: no rate limit found to remove" unless $limits;

my $counted_port = Cartbot::Test::free_port();

$t->write_conf(<<"CONF");
    upstream cartbot_bench_relay {
        server     127.0.0.1:$relay_port max_fails=0;
        keepalive  32;
    }

    # timed: the database straight, as conf/cartbot/internal.conf has it
    server {
        listen  127.0.0.1:%%PORT%%;
        access_log  off;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;

$routes
    }

    # counted: the same through the relay
    server {
        listen  127.0.0.1:$counted_port;
        access_log  off;

        include  cartbot/errors.conf;

        location = /_cartbot/db/sql {
            include     cartbot/db_proxy.conf;
            proxy_pass  http://cartbot_bench_relay/sql;
        }

        location = /_cartbot/db/signin {
            include     cartbot/db_proxy.conf;
            proxy_pass  http://cartbot_bench_relay/signin;
        }

        # the chat's search (hybrid, routes.conf) and the other two modes
        location = /bench/search/hybrid   { cartbot_product search; }
        location = /bench/search/fulltext {
            cartbot_product  search mode=fulltext;
        }
        location = /bench/search/vector   {
            cartbot_product  search mode=vector;
        }

$routes
    }
CONF

$t->run;

# --- shoppers ------------------------------------------------------------------

# a new connection per request: POST /session/create leaves its body
# unread on a kept-alive connection (the next request there fails)
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
my $json = JSON::PP->new->utf8->canonical;

sub call {
    my ($port, $method, $path, $token, $body) = @_;
    my $r = $http->request($method, "http://127.0.0.1:$port$path", {
        headers => {
            'Content-Type' => 'application/json',
            ($token ? (Authorization => "Bearer $token") : ()),
        },
        (defined $body ? (content => $json->encode($body)) : ()),
    });
    $r->{json} = eval { $json->decode($r->{content}) };
    return $r;
}

sub shoppers {
    my ($file) = @_;
    my @pairs;
    for (1 .. $tokens) {
        my $r = call($t->port, 'POST', '/auth/guest', undef, {});
        die "guest: $r->{status} $r->{content}" unless $r->{status} == 200;
        my $token = $r->{json}{token};
        for (1 .. $per_token) {
            $r = call($t->port, 'POST', '/session/create', $token, {});
            die "session: $r->{status} $r->{content}"
                unless $r->{status} == 201;
            push @pairs, [ $token, $r->{json}{session_id} ];
        }
    }
    open my $fh, '>', $file or die "$file: $!";
    print $fh "$_->[0] $_->[1]\n" for @pairs;
    close $fh;
    return \@pairs;
}

my $chat_pairs = shoppers("$dir/chat.pairs");
my $add_pairs = shoppers("$dir/add.pairs");

# every answer must be what the turn is for, before anything is timed

{
    my ($token, $sid) = @{ $chat_pairs->[0] };
    my $r = call($t->port, 'POST', '/chat', $token,
        { session_id => $sid, message => 'add 2 blue t-shirts' });
    die "chat: $r->{status} $r->{content}"
        unless $r->{status} == 200 && $r->{json}{success}
            && $r->{json}{intent} eq 'addToCart'
            && $r->{json}{model} eq 'builtin'
            && $r->{json}{actions}[0]{product_id}
               eq 'product:tee_blue_cotton'
            && $r->{json}{cart}{items}[0]{quantity} == 2;

    ($token, $sid) = @{ $add_pairs->[0] };
    $r = call($t->port, 'POST', '/cart/add', $token,
        { session_id => $sid, product_id => 'product:tee_blue_cotton',
          quantity => 2 });
    die "add: $r->{status} $r->{content}"
        unless $r->{status} == 200 && $r->{json}{items}[0]{quantity} == 2;
}

my %offset = (chat => 1, add => 1);   # the pairs used once above

# --- counting: turns through the relay -----------------------------------------

# the first requests of a worker sign the modules in: not a turn's cost
for my $mode (qw/ chat add /) {
    for my $i (0 .. 3) {
        one($mode, $i);
    }
}
truncate($relay_log, 0);
truncate("$relay_log.raw", 0);

my (%header_rounds, %client_ms);

sub one {
    my ($mode, $i) = @_;
    my $pairs = $mode eq 'chat' ? $chat_pairs : $add_pairs;
    my ($token, $sid) = @{ $pairs->[($offset{$mode}++) % @$pairs] };
    my $t0 = time;
    my $r = $mode eq 'chat'
        ? call($counted_port, 'POST', '/chat', $token,
               { session_id => $sid, message => 'add 2 blue t-shirts' })
        : call($counted_port, 'POST', '/cart/add', $token,
               { session_id => $sid,
                 product_id => 'product:tee_blue_cotton', quantity => 2 });
    my $ms = (time - $t0) * 1000;
    die "$mode: $r->{status} $r->{content}" unless $r->{status} == 200;
    my $id = $r->{headers}{'x-request-id'} // die "no X-Request-Id";
    ($r->{headers}{'server-timing'} // '') =~ /round trips";dur=(\d+)/;
    return ($id, $1, $ms);
}

my %counted;   # request id => mode

for my $mode (qw/ chat add /) {
    for my $i (1 .. $counted_turns) {
        my ($id, $rounds, $ms) = one($mode, $i);
        $counted{$id} = $mode;
        $header_rounds{$id} = $rounds;
        $client_ms{$id} = $ms;
    }
}

# the chat's search on its own, in each mode (the chat's body)
my %search_top;
for my $mode (qw/ hybrid fulltext vector /) {
    for my $i (1 .. 20) {
        my $r = call($counted_port, 'POST', "/bench/search/$mode", undef,
            { query => 'blue t-shirts', limit => 8 });
        die "search $mode: $r->{status} $r->{content}"
            unless $r->{status} == 200;
        my $hits = $r->{json}{hits} || [];
        $counted{ $r->{headers}{'x-request-id'} } = "search $mode";
        $search_top{$mode} = join ' ', map { $_->{product}{id} }
            grep { defined } @$hits[0 .. 1];
    }
}

# Every answer held $hold seconds: each round of a turn that waits for the
# one before adds $hold to it, parallel requests wait together.  The turn's
# time over the median of the undelayed turns, divided by $hold, is the
# number of rounds on its critical path, whatever the scheduler does.
my $hold = 0.1;
my $held_turns = 20;
my %undelayed;
for my $id (keys %counted) {
    push @{ $undelayed{ $counted{$id} } }, $client_ms{$id};
}
my %held;      # mode => { rounds => n }
my %held_id;   # request id => mode
{
    open my $fh, '>', $delay_file or die $!;
    print $fh $hold;
    close $fh;
    for my $mode (qw/ chat add /) {
        for my $i (1 .. $held_turns) {
            my ($id, $rounds, $ms) = one($mode, $i);
            $held_id{$id} = $mode;
            my $n = sprintf '%.0f',
                ($ms - median($undelayed{$mode})) / ($hold * 1000);
            $held{$mode}{$n}++;
        }
    }
    unlink $delay_file;
}

sleep 0.5;
my $relayed = read_relay($relay_log);

# The critical path of a turn: the longest chain of its database requests
# in which each starts after the one before has answered (parallel requests
# overlap and count once).  Greedy by earliest end gives the longest chain.
sub depth {
    my ($reqs) = @_;
    my ($n, $end) = (0, -1);
    for my $q (sort { $a->{t2} <=> $b->{t2} } @$reqs) {
        next if $q->{t0} < $end;
        $n++;
        $end = $q->{t2};
    }
    return $n;
}

my %by_id;
push @{ $by_id{ $_->{id} } }, $_ for @$relayed;

my %held_chain;   # mode => { depth => n }, from the held turns' timestamps
for my $id (keys %held_id) {
    $held_chain{ $held_id{$id} }{ depth($by_id{$id} || []) }++;
}

my %count;     # mode => { depth => { n, requests, agree } }
my %steps;     # mode => step => [ ms ]

for my $id (keys %counted) {
    my $mode = $counted{$id};
    my $reqs = $by_id{$id} || [];
    my $d = depth($reqs);
    my $c = $count{$mode}{depth}{$d} //= { n => 0 };
    $c->{n}++;
    $count{$mode}{requests}{ scalar @$reqs }++;
    $count{$mode}{signins} += grep { $_->{path} ne '/sql' } @$reqs;
    if ($mode eq 'chat') {
        $count{$mode}{agree}++
            if defined $header_rounds{$id} && $header_rounds{$id} == $d;
    }
    profile($mode, $id, $reqs) if $mode eq 'chat' || $mode eq 'add';
}

# where a turn's time goes, from the relay's timestamps and the client's
sub profile {
    my ($mode, $id, $reqs) = @_;
    return unless @$reqs;
    my $s = $steps{$mode} //= {};
    my @q = sort { $a->{t0} <=> $b->{t0} } @$reqs;
    my $first = $q[0]{t0};
    my $last = max map { $_->{t2} } @q;

    for my $q (@q) {
        push @{ $s->{"db: $q->{what}"} }, ($q->{t2} - $q->{t0}) * 1000;
    }

    if ($mode eq 'chat') {
        my @r1 = grep { $_->{what} =~ /^(owner\+memory|search|cart read)$/ }
            @q;
        my @r2 = grep { $_->{what} =~ /^(cart add|record)$/ } @q;
        if (@r1 && @r2) {
            my $r1_end = max map { $_->{t2} } @r1;
            my $r2_start = min map { $_->{t0} } @r2;
            push @{ $s->{'round 1 (first sent to last answered)'} },
                ($r1_end - $first) * 1000;
            push @{ $s->{'between the rounds (in nginx)'} },
                ($r2_start - $r1_end) * 1000;
            push @{ $s->{'round 2 (first sent to last answered)'} },
                ($last - $r2_start) * 1000;
        }
    }

    push @{ $s->{'all database requests (first sent to last answered)'} },
        ($last - $first) * 1000;
    push @{ $s->{'client round trip (HTTP::Tiny, new connection)'} },
        $client_ms{$id};
}

my %search_ms;
for my $id (keys %counted) {
    next unless $counted{$id} =~ /^search (\w+)/;
    push @{ $search_ms{$1} }, map { ($_->{t2} - $_->{t0}) * 1000 }
        @{ $by_id{$id} || [] };
}

# --- timing: wrk on the direct server ------------------------------------------

# cpu seconds (user + system) of a process and of its threads
sub cpu {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh>;
    $stat =~ s/^.*\) //;
    my @f = split ' ', $stat;
    return ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}

my ($worker) = grep { (split ' ', `cat /proc/$_/stat 2>/dev/null`
                       =~ s/^.*\) //r)[1] == $t->{pids}{nginx} }
               map { m{/proc/(\d+)} ? $1 : () } glob '/proc/[0-9]*';
die "the nginx worker was not found" unless $worker;
my $db_pid = $t->{pids}{db};

# CARTBOT_BENCH_PERF=1: perf samples the worker and the database during
# the first run of each side (logs/perf.<side>.<worker|db>; keep them with
# CARTBOT_TEST_KEEP=1)
my %perf_done;

sub wrk {
    my ($mode, $conns, $secs) = @_;
    my @perf;
    if ($ENV{CARTBOT_BENCH_PERF} && !$perf_done{$mode}++) {
        for my $who ([ worker => $worker ], [ db => $db_pid ]) {
            my $pid = fork() // die "fork: $!";
            if ($pid == 0) {
                open STDOUT, '>', '/dev/null';
                open STDERR, '>', '/dev/null';
                exec 'perf', 'record', '-F', '999', '-g', '-p', $who->[1],
                    '-o', "$dir/logs/perf.$mode.$who->[0]", '--', 'sleep',
                    $secs or POSIX::_exit(127);
            }
            push @perf, $pid;
        }
    }
    my ($w0, $d0) = (cpu($worker), cpu($db_pid));
    my $pairs = $mode eq 'chat' ? "$dir/chat.pairs" : "$dir/add.pairs";
    my $out = qx{wrk -t1 -c$conns -d${secs}s --latency -s $FindBin::Bin/chat.lua http://127.0.0.1:@{[ $t->port ]} -- $mode $pairs $offset{$mode} 2>&1};
    my %p;
    for my $q (qw/ 50 99 /) {
        my ($v, $u) = $out =~ /^\s+$q(?:\.000)?%\s+([\d.]+)(us|ms|s)\b/m;
        die "wrk output not understood:\n$out" unless defined $v;
        $p{$q} = $v * ($u eq 'us' ? 0.001 : $u eq 's' ? 1000 : 1);
    }
    ($p{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($n) = $out =~ /(\d+) requests in/;
    $offset{$mode} += $n + $conns;     # those sent when the time ran out
    waitpid($_, 0) for @perf;
    $p{requests} = $n;
    $p{worker_ms} = (cpu($worker) - $w0) * 1000 / ($n || 1);
    $p{db_ms} = (cpu($db_pid) - $d0) * 1000 / ($n || 1);
    $p{ok} = 0;
    $p{ok} += $1 while $out =~ /^status 200 (\d+)/mg;
    ($p{failed}) = $out =~ /^not a success (\d+)/m;
    my %st;
    $st{$1} = $2 while $out =~ /^server-timing rounds (\d+) (\d+)/mg;
    $p{st} = \%st;
    warn "wrk $mode -c$conns: $p{failed} not a success\n$out"
        if $p{failed};
    return \%p;
}

my @timed;
my $half = int($seconds / 2) || 1;

for my $c (@concurrency) {
    my $a1 = wrk('add', $c, $half);
    my $c1 = wrk('chat', $c, $half);
    my $c2 = wrk('chat', $c, $half);
    my $a2 = wrk('add', $c, $half);
    push @timed, [ $c, $a1, $a2, $c1, $c2 ];
}

chomp(my $load_end = `uptime`);

# every 200 added 2 of the product: the carts must hold exactly that

my $added = 2 * sum(map { $_->{ok} } map { @$_[1 .. 4] } @timed);
# the checks, the counting and the held turns
$added += 2 * (2 + 8 + 2 * $counted_turns + 2 * $held_turns);

# a request still under way when a wrk run stops is done but not counted
my $in_flight = 2 * 4 * sum(map { $_->[0] } @timed);
my $in_carts = $t->sql('RETURN math::sum((SELECT VALUE quantity FROM cart'
    . ' WHERE product_id = product:tee_blue_cotton))');
my $lines_max = $t->sql('RETURN math::max((SELECT VALUE q FROM (SELECT'
    . ' session_id, math::sum(quantity) AS q FROM cart GROUP BY session_id)))');

# --- profile: the statements of a turn replayed straight to the database -----

# the raw requests of the counted turns, by kind
my %raw;
{
    open my $fh, '<', "$relay_log.raw" or die $!;
    while (<$fh>) {
        chomp;
        my ($id, $what, $req, $resp) = split /\t/;
        my $mode = $counted{$id} // next;
        next unless $mode eq 'chat' || $mode eq 'add';
        push @{ $raw{$mode}{$what} }, { id => $id, req => decode_base64($req),
            resp => decode_base64($resp) };
    }
}

# the engine's own time of each statement, as /sql reports it
my %engine;    # "mode what" => [ [ snippet, [ms...] ] ... ]
my %bytes;     # "mode what" => { sql, answer => [ bytes ] }
for my $mode (keys %raw) {
    for my $what (keys %{ $raw{$mode} }) {
        for my $x (@{ $raw{$mode}{$what} }) {
            my ($body) = $x->{resp} =~ /\r\n\r\n(.*)\z/s;
            my ($sql) = $x->{req} =~ /\r\n\r\n(.*)\z/s;
            push @{ $bytes{"$mode $what"}{sql} }, length $sql;
            push @{ $bytes{"$mode $what"}{answer} }, length $body;
            my $res = eval { $json->decode($body) } or next;
            next unless ref $res eq 'ARRAY';
            for my $i (0 .. $#$res) {
                my $e = $engine{"$mode $what"}[$i] //= [ '', [] ];
                push @{ $e->[1] }, engine_ms($res->[$i]{time});
            }
        }
    }
}

# one request on a new connection to the database: ms until its answer
sub send_raw {
    my (@reqs) = @_;
    my @s = map { IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->db_port, Proto => 'tcp') or die "db: $!" } @reqs;
    my $t0 = time;
    syswrite($s[$_], $reqs[$_]) for 0 .. $#reqs;
    my @ms;
    for my $s (@s) {
        my $buf = '';
        my ($resp) = read_message($s, \$buf, 1);
        die "no answer from the database" unless defined $resp;
        die "database: $resp" unless $resp =~ m{^HTTP/1.1 200};
        push @ms, (time - $t0) * 1000;
        close $s;
    }
    return max @ms;
}

# the same request with another statement
sub with_sql {
    my ($req, $sql) = @_;
    my ($head) = split /\r\n\r\n/, $req, 2;
    $head =~ s/^Content-Length:.*$/'Content-Length: ' . length($sql) . "\r"/mie;
    return "$head\r\n\r\n$sql";
}

my %alone;    # kind => [ ms ]
my %together; # round => [ ms ]
my $replays = min($counted_turns, 30);

for my $i (0 .. $replays - 1) {
    my %turn = map { $_ => $raw{chat}{$_}[$i]{req} }
        grep { $raw{chat}{$_}[$i] } keys %{ $raw{chat} };

    push @{ $alone{'RETURN 1 (the floor of a request)'} },
        send_raw(with_sql($turn{'owner+memory'}, 'RETURN 1;'));

    for my $what (sort keys %turn) {
        push @{ $alone{"chat: $what"} }, send_raw($turn{$what});
    }

    # the chat looks a phrase up by full text first (the hybrid search
    # only when nothing found fits): that search, and the hybrid one the
    # public route makes with its depth of 50, for comparison
    my ($sql) = $turn{search} =~ /\r\n\r\n(.*)\z/s;
    push @{ $alone{'search: the chat\'s (' . ($sql =~ /<\|/ ? 'hybrid'
        : 'full text') . ', depth 8)'} }, send_raw($turn{search});

    push @{ $alone{'/cart/add: cart add'} },
        send_raw($raw{add}{'cart add'}[$i]{req});

    # an add reads no cart since the chat's answer comes from the add's
    push @{ $together{'round 1: owner+memory, search (and a cart read'
        . ' if made)'} },
        send_raw(grep { defined } @turn{'owner+memory', 'search',
                                        'cart read'});
    push @{ $together{'round 2: cart add, record'} },
        send_raw(@turn{'cart add', 'record'});
}

# --- report --------------------------------------------------------------------

chomp(my $cpu = `grep -m1 'model name' /proc/cpuinfo | cut -d: -f2`);
chomp(my $cores = `nproc`);
chomp(my $rev = `git -C $FindBin::Bin/.. rev-parse --short HEAD`);

printf "machine:%s, %s cores; nginx 1 worker; dev database in memory;"
    . " commit %s\n", $cpu, $cores, $rev;
print "load at the start: $load_start\n";
print "load at the end:   $load_end\n";
printf "rate limits removed from routes.conf: %d; shoppers: %d tokens x"
    . " %d sessions per side\n", $limits, $tokens, $per_token;

print "\nround trips, counted at the database (relay), $counted_turns"
    . " requests one at a time:\n";
for my $mode (qw/ chat add /) {
    my $c = $count{$mode};
    my $label = $mode eq 'chat' ? 'chat turn ' : '/cart/add ';
    my $d = join ', ', map { "$_ in a row: $c->{depth}{$_}{n}" }
        sort { $a <=> $b } keys %{ $c->{depth} };
    my $r = join ', ', map { "$_: $c->{requests}{$_}" }
        sort { $a <=> $b } keys %{ $c->{requests} };
    printf "  %s  %s  (database requests per turn %s; signins %d)\n",
        $label, $d, $r, $c->{signins} // 0;
}
printf "  Server-Timing agrees with the relay on %d of %d turns\n",
    $count{chat}{agree} // 0, $counted_turns;
print "  (a request that reaches the relay late looks like it waited for one"
    . " that\n  answered meanwhile: the timestamps can only overcount)\n";
printf "every answer held %d ms by the relay, %d requests one at a time:\n",
    $hold * 1000, $held_turns;
for my $mode (qw/ chat add /) {
    printf "  %s  rounds from the time held: %s;  from the timestamps: %s\n",
        $mode eq 'chat' ? 'chat turn ' : '/cart/add ',
        join(', ', map { "$_ in a row: $held{$mode}{$_}" }
                   sort { $a <=> $b } keys %{ $held{$mode} }),
        join(', ', map { "$_ in a row: $held_chain{$mode}{$_}" }
                   sort { $a <=> $b } keys %{ $held_chain{$mode} });
}
my $chat_depth = max keys %{ $held{chat} };

print "\nwhere the time goes, one at a time through the relay"
    . " (median, p90 in ms):\n";
for my $mode (qw/ chat add /) {
    print "  $mode:\n";
    my $s = $steps{$mode};
    for my $k (sort { median($s->{$b}) <=> median($s->{$a}) } keys %$s) {
        printf "    %-55s %7.2f %7.2f  (n=%d)\n", $k, median($s->{$k}),
            pct($s->{$k}, 90), scalar @{ $s->{$k} };
    }
}

print "\nthe search for \"blue t-shirts\" (limit 8) on its own, database"
    . " time through the relay (median, p90 in ms; top two hits):\n";
for my $mode (qw/ hybrid fulltext vector /) {
    printf "  %-8s  %7.2f %7.2f  %s%s\n", $mode, median($search_ms{$mode}),
        pct($search_ms{$mode}, 90), $search_top{$mode},
        $mode eq 'hybrid' ? '  (the chat\'s)' : '';
}

print "\nthe statements of $replays turns replayed straight to the database,"
    . " each on a new\nconnection (median, p90 in ms):\n";
for my $k (sort { median($alone{$b}) <=> median($alone{$a}) } keys %alone) {
    printf "  alone     %-45s %7.2f %7.2f\n", $k, median($alone{$k}),
        pct($alone{$k}, 90);
}
for my $k (sort keys %together) {
    printf "  together  %-45s %7.2f %7.2f\n", $k, median($together{$k}),
        pct($together{$k}, 90);
}

print "\nthe engine's time of each statement (/sql \"time\"; median ms"
    . " over the counted turns):\n";
for my $k (sort keys %engine) {
    my @e = @{ $engine{$k} };
    printf "  %-20s %s  (sum %.2f; statement %d bytes, answer %d)\n", $k,
        join(' ', map { sprintf '%.2f', median($_->[1]) } @e),
        sum(map { median($_->[1]) } @e), median($bytes{$k}{sql}),
        median($bytes{$k}{answer});
}

print "\nlatency through nginx (wrk, direct server; means of two runs per"
    . " side, order add chat chat add, $half s each):\n";
my @ratios;
for my $row (@timed) {
    my ($c, $a1, $a2, $c1, $c2) = @$row;
    my $a = mean($a1, $a2);
    my $ch = mean($c1, $c2);
    printf "  concurrency %2d  /cart/add  p50 %7.2f ms  p99 %7.2f ms"
        . "  %6.1f rps  (%d of %d answered 200)\n", $c, $a->{50}, $a->{99},
        $a->{rps}, $a1->{ok} + $a2->{ok}, $a1->{requests} + $a2->{requests};
    printf "  concurrency %2d  chat turn  p50 %7.2f ms  p99 %7.2f ms"
        . "  %6.1f rps  (%d of %d answered 200, %d not a success)\n", $c,
        $ch->{50}, $ch->{99}, $ch->{rps}, $c1->{ok} + $c2->{ok},
        $c1->{requests} + $c2->{requests}, $c1->{failed} + $c2->{failed};
    printf "  concurrency %2d  cpu per request: /cart/add nginx worker %.2f"
        . " ms, database %.2f ms; chat turn nginx worker %.2f ms, database"
        . " %.2f ms\n", $c, $a->{worker_ms}, $a->{db_ms}, $ch->{worker_ms},
        $ch->{db_ms};
    my %st;
    for my $w ($c1, $c2) {
        $st{$_} += $w->{st}{$_} for keys %{ $w->{st} };
    }
    printf "  concurrency %2d  chat Server-Timing rounds: %s\n", $c,
        join ', ', map { "$_: $st{$_}" } sort keys %st;
    my $ratio = $ch->{50} / $a->{50};
    push @ratios, $ratio;
    printf "  concurrency %2d  ratio chat/add  p50 %.2f  p99 %.2f\n", $c,
        $ratio, $ch->{99} / $a->{99};
}

printf "\nproduct in the carts: %d, added by 200 answers: %d, by requests"
    . " wrk left under way: at most %d (%s); fullest cart %d of 99\n",
    $in_carts, $added, $in_flight, $in_carts >= $added
    && $in_carts <= $added + $in_flight ? 'consistent' : 'INCONSISTENT',
    $lines_max;

printf "target: round trips of a turn <= 2          %d  %s\n", $chat_depth,
    $chat_depth <= 2 ? 'PASS' : 'MISSED';
for my $i (0 .. $#timed) {
    printf "target: chat p50 <= 2.5 x /cart/add (c%-2d)   %.2f  %s\n",
        $timed[$i][0], $ratios[$i], $ratios[$i] <= 2.5 ? 'PASS' : 'MISSED';
}

if ($ENV{CARTBOT_BENCH_PERF}) {
    for my $f (sort glob "$dir/logs/perf.*") {
        my ($side, $who) = $f =~ /perf\.(\w+)\.(\w+)$/;
        print "\nperf, $side, $who: the 25 hottest symbols (self)\n";
        my @top = grep { /^\s+\d/ } split /\n/,
            `perf report -i $f --no-children --sort dso,symbol --stdio -g none 2>/dev/null`;
        for (@top[0 .. min(24, $#top)]) {
            my ($pct, $dso, $sym) = /^\s+([\d.]+%)\s+(\S+)\s+\[.\]\s+(\S+)/
                or next;
            printf "  %7s  %-34s %s\n", $pct, $dso, $sym;
        }
    }
}

print "kept: $dir\n" if $ENV{CARTBOT_TEST_KEEP};
$t->stop;

# --- helpers -------------------------------------------------------------------

sub mean {
    my ($a, $b) = @_;
    return { map { $_ => ($a->{$_} + $b->{$_}) / 2 }
             qw/ 50 99 rps worker_ms db_ms / };
}

sub median { pct($_[0], 50) }

# "1.2ms", "850.3µs", "2s" as ms
sub engine_ms {
    my ($v) = @_;
    return 0 unless defined $v && $v =~ /^([\d.]+)\s*(ns|\x{b5}s|us|ms|s)$/;
    my %f = (ns => 1e-6, "\x{b5}s" => 1e-3, us => 1e-3,
             ms => 1, s => 1000);
    return $1 * ($f{$2} // 1);
}

sub pct {
    my ($v, $p) = @_;
    my @s = sort { $a <=> $b } @$v;
    return 0 unless @s;
    return $s[ min($#s, int($p / 100 * @s)) ];
}

# The statements, told apart by what they touch (the modules' SQL text).
sub what {
    my ($path, $sql) = @_;
    return 'signin' if $path ne '/sql';
    return 'record' if $sql =~ /CREATE chat_message/;
    return 'owner+memory' if $sql =~ /chat_state/;
    return 'search' if $sql =~ /search::|<\|/;
    return q{cart add} if $sql =~ /<int>\$qty/;
    return 'cart read' if $sql =~ /FROM cart\b/;
    (my $s = substr($sql, 0, 40)) =~ s/\s+/ /g;
    return "other: $s";
}

sub read_relay {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    my @r;
    while (<$fh>) {
        chomp;
        my ($id, $path, $t0, $t1, $t2, $what) = split /\t/;
        push @r, { id => $id, path => $path, t0 => $t0, t1 => $t1,
                   t2 => $t2, what => $what };
    }
    return \@r;
}

# A relay process (one child per connection) that reads each HTTP/1.1
# request in full, passes it on, reads the answer in full and passes it
# back, and appends one line per exchange: X-Request-Id, path, when the
# request's first byte came, when it was passed on, when the answer was
# passed back, and what the statement was.
sub start_relay {
    my ($target, $log) = @_;

    my $port = Cartbot::Test::free_port();
    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        setpgrp(0, 0);
        my $l = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
            LocalPort => $port, Proto => 'tcp', ReuseAddr => 1)
            or POSIX::_exit(1);
        $SIG{CHLD} = 'IGNORE';

        while (1) {
            my $c = $l->accept or next;
            my $kid = fork() // next;
            if ($kid) { close $c; next; }
            close $l;
            my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                PeerPort => $target, Proto => 'tcp') or POSIX::_exit(0);
            open my $out, '>>', $log or POSIX::_exit(0);
            open my $raw, '>>', "$log.raw" or POSIX::_exit(0);
            my ($cbuf, $ubuf) = ('', '');
            while (1) {
                my ($req, $t0) = read_message($c, \$cbuf, 0);
                last unless defined $req;
                syswrite($u, $req) // last;
                my $t1 = time;
                my ($resp) = read_message($u, \$ubuf, 1);
                last unless defined $resp;
                my $delay = -s $delay_file ? do {
                    open my $d, '<', $delay_file; scalar <$d> } : 0;
                sleep $delay if $delay > 0;
                syswrite($c, $resp) // last;
                my $t2 = time;
                my ($head, $body) = split /\r\n\r\n/, $req, 2;
                my ($path) = $head =~ m{^\S+ (/[^?\s]*)};
                my ($id) = $head =~ /^X-Request-Id:\s*(\S+)/mi;
                my $what = what($path // '', $body // '');
                syswrite($out, join("\t", $id // '-', $path // '-',
                    sprintf('%.6f', $t0), sprintf('%.6f', $t1),
                    sprintf('%.6f', $t2), $what) . "\n");
                syswrite($raw, join("\t", $id // '-', $what,
                    encode_base64($req, ''), encode_base64($resp, ''))
                    . "\n");
            }
            POSIX::_exit(0);
        }
    }

    $t->{pids}{relay} = $pid;
    Cartbot::Test::wait_port($port, 5) or die "relay did not start";

    return $port;
}

# one whole HTTP/1.1 message (Content-Length or chunked) from $fh, and when
# its first byte came; undef at the end of the connection
sub read_message {
    my ($fh, $buf, $is_response) = @_;
    my $t0;

    my $fill = sub {
        my $n = sysread($fh, $$buf, 65536, length $$buf);
        $t0 //= time;
        return $n;
    };

    $t0 = time if length $$buf;

    while ($$buf !~ /\r\n\r\n/) {
        return undef unless $fill->();
    }

    my $hlen = index($$buf, "\r\n\r\n") + 4;
    my $head = substr($$buf, 0, $hlen);
    my $len;

    if ($head =~ /^Content-Length:\s*(\d+)/mi) {
        $len = $hlen + $1;
    } elsif ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
        my $pos = $hlen;
        while (1) {
            while (substr($$buf, $pos) !~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/) {
                return undef unless $fill->();
            }
            substr($$buf, $pos) =~ /^([0-9a-fA-F]+)[^\r\n]*\r\n/;
            my $size = hex $1;
            my $next = $pos + length($&) + $size + 2;
            while (length $$buf < $next) {
                return undef unless $fill->();
            }
            $pos = $next;
            if ($size == 0) {
                last;
            }
        }
        $len = $pos;
    } else {
        $len = $hlen;   # no body
    }

    while (length $$buf < $len) {
        return undef unless $fill->();
    }

    my $msg = substr($$buf, 0, $len, '');
    return ($msg, $t0);
}
