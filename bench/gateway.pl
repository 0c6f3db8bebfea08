#!/usr/bin/perl

# The gateway's cost on one nginx worker: the rps of a location answering
# 200 behind cartbot_jwt (HS256) -- and behind the rate limit and metrics
# when they exist -- against the same location without them, and against
# the same HS256 check written in njs (bench/gateway.js), in one run.
#
#   perl bench/gateway.pl [seconds-per-run]
#
# It starts the dev database (services.conf needs the service accounts'
# credentials) and nginx with one worker, the Cartbot modules and Debian's
# njs module, and serves one small static file from three locations:
#
#   /plain  no check
#   /ours   the fragment below: cartbot_jwt, HS256 key file
#   /njs    the same check in njs: js_set + "if" (rewrite phase)
#
# Each location sends the subject back in X-Sub, so the three answers are
# the same bytes, and wrk sends the same request with the same valid token
# to each (-t1 -c32).  With two cores or more the worker is pinned to the
# last one and wrk to the others.  Before measuring, a sanity check: ours
# and njs must answer 200 (and the subject) for the good token and 401
# for a bad signature, a tampered payload, an expired token, another
# issuer, alg none and no token.  Then a 2 s warm-up of each and five runs
# of each, interleaved (plain, ours, njs, plain, ...).  It prints every
# run with the worker's cpu time per request, the medians, and the ratios
# of the median rps with their targets (MISSED when one is not met).
# Exit status 1 when the sanity check fails, a measured run had a non-2xx
# answer or a socket error, or error.log has an alert or a crash; a missed
# target is not a failure.
#
# CARTBOT_BENCH_CALLGRIND=1 counts instead of timing: nginx runs as one
# process (master_process off) under valgrind's callgrind, and each side
# gets one wrk run (-t1 -c4) with the instructions nginx executed during
# it divided by the requests it answered.  Instruction counts barely move
# with other load on the machine, so they compare two builds where rps
# cannot; they leave out the kernel (sockets, sendfile), which every side
# pays alike.  The profiles stay in logs/callgrind.<side> of the test
# directory (CARTBOT_TEST_KEEP=1 keeps it) for callgrind_annotate.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use File::Path qw/ make_path /;
use File::Temp ();
use POSIX ();

use Cartbot::JWT;
use Cartbot::Test;

# --- what "ours" runs: edit here ---------------------------------------------
#
# /ours runs $JWT and $GATEWAY; $GATEWAY_HTTP goes into the http block
# (for zones; anything else there would apply to /plain too).
#
# The rate limit must be high enough that no request of a run is refused:
# a 429 costs less than a 200 and would flatter the ratio, so a run with
# any non-2xx answer fails the benchmark.  With a limit or metrics on, a
# fourth location, /jwt ($JWT alone), compares njs with the JWT check
# alone.  wrk sends one token: each worker's cache of verified tokens
# answers every request after the first (see bench/README).
# CARTBOT_BENCH_TOKENS=4096 makes wrk cycle through that many tokens of
# distinct subjects instead, far more than the cache's 256 slots, so that
# ours verifies (and the limit meets a new key) on every request.

my $JWT = <<'CONF';
            cartbot_jwt           bench;
            cartbot_jwt_key_file  keys/bench.secret alg=HS256;
CONF

# the rate limit is high enough that no request of a run is refused;
# request metrics are on by default ("cartbot_stats on"), and /plain and
# /jwt turn them off, so that only /ours pays for them

my $GATEWAY = <<'CONF';
            cartbot_limit    zone=bench rate=100000000r/s;
            cartbot_stats    on;
CONF

my $GATEWAY_HTTP = <<'CONF';
    cartbot_limit_zone  name=bench size=10m key=$jwt_claim_sub;
CONF

# -----------------------------------------------------------------------------

my $seconds = shift // 10;
my $warmup = $seconds < 2 ? $seconds : 2;
my $runs = 5;
my $wrk_opts = '-t1 -c32';

my $njs_so = $ENV{NJS_MODULE}
    || '/usr/lib/nginx/modules/ngx_http_js_module.so';
my $nginx = $ENV{NGINX_BIN} || '/usr/sbin/nginx';

die "no njs module at $njs_so: apt-get install libnginx-mod-http-js\n"
    unless -f $njs_so;
system('wrk -v >/dev/null 2>&1');
die "wrk is not installed: apt-get install wrk\n"
    if $? == -1 || $? >> 8 == 127;

# with two cores or more, the worker gets the last one and wrk the
# others, so that they do not take turns on one core (CARTBOT_BENCH_PIN=0
# leaves both to the scheduler)

chomp(my $cores = `nproc`);
my ($affinity, $taskset) = ('', '');
if ($cores >= 2 && ($ENV{CARTBOT_BENCH_PIN} // 1)
    && system('taskset -c 0 true >/dev/null 2>&1') == 0)
{
    $affinity = 'worker_cpu_affinity  1' . ('0' x ($cores - 1)) . ';';
    $taskset = 'taskset -c 0' . ($cores > 2 ? '-' . ($cores - 2) : '') . ' ';
}

my %on;
for my $f (qw/ limit metrics /) {
    $on{$f} = grep { /^\s*cartbot_$f/ } split /\n/, $GATEWAY . $GATEWAY_HTTP;
    $on{metrics} ||= grep { /^\s*cartbot_stats\s+on/ } split /\n/, $GATEWAY;
}

# plain, ours, [jwt,] njs: the order of each round
my @sides = ('plain', 'ours', ($on{limit} || $on{metrics} ? 'jwt' : ()),
    'njs');
my $versus = $sides[2] eq 'jwt' ? 'jwt' : 'ours';

# under callgrind: nginx through a wrapper, instrumentation off until a
# side is measured

my $callgrind = $ENV{CARTBOT_BENCH_CALLGRIND};
my $cg_wrapper;

if ($callgrind) {
    system('valgrind --version >/dev/null 2>&1');
    die "valgrind is not installed: apt-get install valgrind\n" if $?;

    $cg_wrapper = File::Temp->new(SUFFIX => '.sh');
    print $cg_wrapper "#!/bin/sh\nexec valgrind --tool=callgrind",
        " --instr-atstart=no --callgrind-out-file=\"\$CARTBOT_BENCH_CG\"",
        " $nginx \"\$@\"\n";
    close $cg_wrapper;
    chmod 0755, $cg_wrapper->filename;
    $ENV{NGINX_BIN} = $cg_wrapper->filename;
}

my $t = Cartbot::Test->new(workers => 1);
$ENV{CARTBOT_BENCH_CG} = $t->dir . '/logs/callgrind.out' if $callgrind;

# the key, shared by both checks: ours names it in the fragment, njs reads
# it at configuration time from the file named in its environment

my $secret = join '', map { chr(33 + int rand 94) } 1 .. 48;
make_path($t->dir . '/conf/keys');
my $keyfile = $t->dir . '/conf/keys/bench.secret';
open my $fh, '>', $keyfile or die "$keyfile: $!";
print $fh $secret;
close $fh;
$ENV{CARTBOT_BENCH_JWT_KEY} = $keyfile;

open $fh, '>', $t->dir . '/ok.txt' or die $!;
print $fh "ok\n";
close $fh;

$t->write_conf(<<"CONF", main => "load_module  $njs_so;\n$affinity");
$GATEWAY_HTTP
    js_import  gateway from $FindBin::Bin/gateway.js;
    js_set     \$njs_jwt_ok   gateway.verify;
    js_var     \$njs_jwt_sub;
    js_set     \$njs_version  gateway.version;

    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;

        access_log  off;

        location = /plain {
            cartbot_stats  off;
            add_header  X-Sub  shopper:bench;
            alias       %%DIR%%/ok.txt;
        }

        location = /ours {
$JWT
$GATEWAY
            add_header  X-Sub  \$jwt_claim_sub;
            alias       %%DIR%%/ok.txt;
        }

        location = /jwt {
$JWT
            cartbot_stats  off;
            add_header  X-Sub  \$jwt_claim_sub;
            alias       %%DIR%%/ok.txt;
        }

        location = /njs {
            cartbot_stats  off;
            if (\$njs_jwt_ok != 1) {
                return  401;
            }

            add_header  X-Sub  \$njs_jwt_sub;
            alias       %%DIR%%/ok.txt;
        }

        location = /njs-version {
            return  200 \$njs_version;
        }
    }
CONF

if ($callgrind) {
    my $file = $t->dir . '/conf/nginx.conf';
    my $conf = $t->read_file('conf/nginx.conf');
    $conf =~ s/^master_process\s+on;/master_process    off;/m
        or die "no master_process in $file\n";
    open my $fh, '>', $file or die "$file: $!";
    print $fh $conf;
    close $fh;
}

$t->start_db->migrate->run;

my $now = time;
my %claims = (sub => 'shopper:bench', role => 'shopper', iss => 'cartbot',
    aud => 'shop', iat => $now, exp => $now + 86400);
my $token = Cartbot::JWT::sign('HS256', $secret, \%claims);

my $ntokens = $ENV{CARTBOT_BENCH_TOKENS} // 1;
die "CARTBOT_BENCH_TOKENS must be a positive number\n"
    unless $ntokens =~ /^\d+$/ && $ntokens >= 1;
# CARTBOT_BENCH_PIPELINE=N: each connection sends N requests at a time
# (HTTP/1.1 pipelining), so that the client spends a system call on N
# answers.  With two cores, one wrk thread on its own core answers about
# 19000 rps at most, while the worker is half idle: plain, ours and jwt
# then all measure wrk, and only njs measures nginx.  Pipelined, the
# worker is the bottleneck and rps follows its cpu per request.

my $pipeline = $ENV{CARTBOT_BENCH_PIPELINE} // 1;
die "CARTBOT_BENCH_PIPELINE must be a positive number\n"
    unless $pipeline =~ /^\d+$/ && $pipeline >= 1;

my $script = '';
if ($ntokens > 1 || $pipeline > 1) {
    my @lines = ('"' . $token . '"');
    if ($ntokens > 1) {
        @lines = ();
        for my $i (1 .. $ntokens) {
            push @lines, '"' . Cartbot::JWT::sign('HS256', $secret,
                { %claims, sub => "shopper:bench-$i" }) . '"';
        }
    }
    my $lua = $t->dir . '/tokens.lua';
    open my $fh, '>', $lua or die "$lua: $!";
    print $fh "local tokens = {\n", join(",\n", @lines), "\n}\n",
        "local i = 0\n",
        "local function one()\n",
        "    i = i % #tokens + 1\n",
        "    return wrk.format(nil, nil,\n",
        "        { [\"Authorization\"] = \"Bearer \" .. tokens[i] })\n",
        "end\n",
        "local fixed = nil\n",
        "request = function()\n",
        "    if fixed then return fixed end\n",
        "    local r = {}\n",
        "    for n = 1, $pipeline do r[n] = one() end\n",
        "    local req = table.concat(r)\n",
        "    if #tokens == 1 then fixed = req end\n",
        "    return req\n",
        "end\n";
    close $fh;
    $script = " -s $lua";
}

# --- the machine -------------------------------------------------------------

chomp(my $cpu = `grep -m1 'model name' /proc/cpuinfo | cut -d: -f2`);
$cpu =~ s/^\s+//;
my ($nginx_version) = `$nginx -v 2>&1` =~ m{(nginx/\S+)};
my $njs_version = $t->get('/njs-version')->{content};
my ($wrk_version) = `wrk -v 2>&1` =~ /^(wrk \S+)/;

my ($load) = `cat /proc/loadavg` =~ /^(\S+ \S+ \S+)/;

printf "machine: %s, %s cores, load average %s at start\n", $cpu, $cores,
    $load // '?';
printf "%s, njs %s, %s\n", $nginx_version // 'nginx ?', $njs_version // '?',
    $wrk_version // 'wrk';
if ($callgrind) {
    printf "nginx as one process under callgrind; wrk -t1 -c4, one run of"
        . " %d s per side\n", $seconds;
} else {
    printf "nginx 1 worker%s; wrk %s%s, %d s per run, %d runs per side,"
        . " interleaved\n", $affinity ? ' on cpu ' . ($cores - 1) : '',
        $wrk_opts, $taskset ? ' on the other cpus' : '', $seconds, $runs;
}
printf "ours: cartbot_jwt HS256, rate limit %s, metrics %s\n",
    $on{limit} ? 'on' : 'off (TODO)', $on{metrics} ? 'on' : 'off (TODO)';
printf "pipelining: %d requests at a time per connection\n", $pipeline
    if $pipeline > 1;
printf "tokens: %s\n", $ntokens > 1
    ? "$ntokens distinct, cycled (a verification on every request)"
    : 'one (after the first request, hits in the cache of verified tokens)';

# --- sanity: both checks really check ----------------------------------------

my $failed = 0;

my @cases = (
    ['good token',         $token, 200],
    ['bad signature',      Cartbot::JWT::tamper_signature($token), 401],
    ['tampered payload',   Cartbot::JWT::tamper_payload($token,
                               { %claims, role => 'admin' }), 401],
    ['expired',            Cartbot::JWT::sign('HS256', $secret,
                               { %claims, exp => $now - 3600 }), 401],
    ['other issuer',       Cartbot::JWT::sign('HS256', $secret,
                               { %claims, iss => 'evil' }), 401],
    ['alg none',           Cartbot::JWT::encode({ alg => 'none',
                               typ => 'JWT' }, \%claims) . '.', 401],
    ['no token',           undef, 401],
);

for my $side (@sides) {
    my @got;

    for my $c ($side eq 'plain' ? ($cases[0]) : @cases) {
        my ($name, $tok, $want) = @$c;
        my $r = $t->get("/$side", headers => { defined $tok
            ? (Authorization => "Bearer $tok") : () });
        my $ok = $r->{status} == $want;
        $ok &&= ($r->{headers}{'x-sub'} // '') eq $claims{sub}
            if $want == 200;
        $failed++ unless $ok;
        push @got, "$name $r->{status}" . ($ok ? '' : " (FAILED: want $want"
            . ($want == 200 ? " and X-Sub $claims{sub}" : '') . ')');
    }

    printf "sanity %-5s  %s\n", $side, join ', ', @got;
}

if ($failed) {
    print "sanity check FAILED: not measuring\n";
    $t->stop;
    exit 1;
}

# --- measure -----------------------------------------------------------------

# The worker's cpu time (user + system, from /proc) over each run, per
# request: a cross-check that other load on a shared machine disturbs
# less than rps, and the worker's utilisation shows whether nginx or the
# client was the bottleneck.

my $tck = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;

chomp(my $master = $t->read_file('logs/nginx.pid'));
my ($worker) = $callgrind ? ($master) : `pgrep -P $master` =~ /(\d+)/;
die "no nginx worker found\n" unless $worker;

sub wrk_cmd {
    my ($side, $secs, $opts) = @_;
    my $url = 'http://127.0.0.1:' . $t->port . "/$side";
    return "${taskset}wrk $opts -d${secs}s --latency"
        . ($script ? $script : " -H 'Authorization: Bearer $token'")
        . " $url";
}

# instructions per request of one side, from a callgrind dump

sub callgrind_side {
    my ($side, $secs) = @_;

    my $cgc = sub {
        system("callgrind_control @_ $worker >/dev/null 2>&1") == 0
            or die "callgrind_control @_ failed\n";
    };

    $cgc->('-i on');
    $cgc->('-z');
    my $out = qx{@{[ wrk_cmd($side, $secs, '-t1 -c4') ]} 2>&1};
    sleep 1;
    unlink glob($t->dir . '/logs/callgrind.out.*');
    $cgc->("-d $side");
    $cgc->('-i off');

    my ($dump) = glob($t->dir . '/logs/callgrind.out.*');
    die "no callgrind dump\n" unless $dump;
    rename $dump, $t->dir . "/logs/callgrind.$side";
    my ($ir) = $t->read_file("logs/callgrind.$side")
        =~ /^(?:summary|totals):\s+(\d+)/m;
    my ($n) = $out =~ /(\d+) requests in/;
    die "wrk output not understood:\n$out" unless $n && $ir;
    $failed++ if $out =~ /Non-2xx or 3xx responses: (\d+)/;

    return ($ir / $n, $n);
}

if ($callgrind) {
    my %ir;

    for my $side (@sides) {
        my ($ir, $n) = callgrind_side($side, $seconds);
        $ir{$side} = $ir;
        printf "callgrind %-5s  %6.0f instructions per request"
            . "  (%d requests)\n", $side, $ir, $n;
    }

    printf "instructions ours - plain  %6.0f per request (jwt + %s)\n",
        $ir{ours} - $ir{plain}, join ' + ', grep { $on{$_} }
        qw/ limit metrics /;
    printf "instructions ratio plain/ours %.3f, njs/%s %.2f\n",
        $ir{plain} / $ir{ours}, $versus, $ir{njs} / $ir{$versus};

    finish();
}

sub worker_cpu {
    open my $fh, '<', "/proc/$worker/stat" or die "worker $worker: $!";
    my $stat = <$fh>;
    $stat =~ s/^.*\) //s;                     # past "pid (comm) "
    my @f = split ' ', $stat;
    return ($f[11] + $f[12]) / $tck;          # utime + stime
}

sub wrk {
    my ($side, $secs) = @_;
    my $cmd = wrk_cmd($side, $secs, $wrk_opts);
    my $cpu0 = worker_cpu();
    my $out = qx{$cmd 2>&1};
    my $cpu = worker_cpu() - $cpu0;
    my %p;
    for my $q (qw/ 50 99 /) {
        my ($v, $u) = $out =~ /^\s+$q(?:\.000)?%\s+([\d.]+)(us|ms|s)\b/m;
        die "wrk output not understood:\n$out" unless defined $v;
        $p{$q} = $v * ($u eq 'us' ? 0.001 : $u eq 's' ? 1000 : 1);
    }
    ($p{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($n, $took) = $out =~ /(\d+) requests in ([\d.]+)(?:s|ms|m)\b/;
    die "wrk output not understood:\n$out" unless $p{rps} && $n;
    $p{cpu_us} = $cpu * 1e6 / $n;
    $p{busy} = 100 * $cpu / $secs;
    ($p{non2xx}) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    $p{non2xx} //= 0;
    $p{errors} = 0;
    if ($out =~ /Socket errors: connect (\d+), read (\d+), write (\d+),
                 \s+timeout (\d+)/x)
    {
        $p{errors} = $1 + $2 + $3 + $4;
    }
    return \%p;
}

my (%rps, %cpu);

wrk($_, $warmup) for @sides;

for my $run (1 .. $runs) {
    for my $side (@sides) {
        my $p = wrk($side, $seconds);
        push @{ $rps{$side} }, $p->{rps};
        push @{ $cpu{$side} }, $p->{cpu_us};

        my $bad = '';
        if ($p->{non2xx} || $p->{errors}) {
            $bad = sprintf '  INVALID: %d non-2xx, %d socket errors',
                $p->{non2xx}, $p->{errors};
            $failed++;
        }

        printf "run %d  %-5s  %6.0f rps  p50 %5.2f ms  p99 %6.2f ms"
            . "  worker %3.0f%% cpu, %5.1f us/req%s\n", $run, $side,
            $p->{rps}, $p->{50}, $p->{99}, $p->{busy}, $p->{cpu_us}, $bad;
    }
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

my (%med, %cmed);
for my $side (@sides) {
    my @v = sort { $a <=> $b } @{ $rps{$side} };
    $med{$side} = median(@v);
    $cmed{$side} = median(@{ $cpu{$side} });
    printf "median %-5s  %6.0f rps  (min %.0f, max %.0f)  worker %5.1f"
        . " us/req\n", $side, $med{$side}, $v[0], $v[-1], $cmed{$side};
}

my $what = join ' + ', 'jwt', grep { $on{$_} } qw/ limit metrics /;
my $r1 = $med{ours} / $med{plain};
my $r2 = $med{$versus} / $med{njs};

printf "ratio %-10s  %.2f  (%s; target >= 0.90)%s\n", 'ours/plain', $r1,
    $what, $r1 >= 0.90 ? '' : '  MISSED';
printf "ratio %-10s  %.2f  (jwt; target >= 2)%s\n", "$versus/njs", $r2,
    $r2 >= 2 ? '' : '  MISSED';
printf "the same from the worker's cpu per request: ours/plain %.2f,"
    . " %s/njs %.2f\n", $cmed{plain} / $cmed{ours}, $versus,
    $cmed{njs} / $cmed{$versus};

finish();

# a crashed worker or an alert would make the numbers meaningless

sub finish {
    ($load) = `cat /proc/loadavg` =~ /^(\S+ \S+ \S+)/;
    printf "load average %s at end\n", $load // '?';

    $t->stop;

    my @bad = grep { /\[(alert|emerg|crit)\]|exited on signal/ }
        split /\n/, $t->read_file('logs/error.log');
    if (@bad) {
        print "error.log:\n", map { "    $_\n" } @bad;
        $failed++;
    }

    print "kept: ", $t->dir, "\n" if $ENV{CARTBOT_TEST_KEEP};

    if ($failed) {
        print "FAILED: the numbers above are not valid\n";
        exit 1;
    }

    exit 0;
}

