#!/usr/bin/perl

# Nothing lost under concurrency: 500 concurrent "add 1" on one cart line
# from 50 connections; the line's final quantity equals the number of 200
# answers exactly, in 10 repeated runs.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use HTTP::Tiny;
use JSON::PP;
use POSIX qw/ _exit /;
use Test::More;
use Time::HiRes qw/ time /;

use Cartbot::Test;

my $RUNS = $ENV{CARTBOT_CONCURRENCY_RUNS} || 10;
my $CONNECTIONS = 50;
my $PER_CONNECTION = 10;

my $t = Cartbot::Test->new;

$t->start_db->migrate;

$t->sql('CREATE product:tee SET name = "Tee", price = 10,
    stock_quantity = 1000000');

$t->write_conf(<<'CONF');
    server {
        listen  127.0.0.1:%%PORT%%;

        include  cartbot/errors.conf;
        include  cartbot/internal.conf;

        cartbot_cart_user     $http_x_user;
        cartbot_session_user  $http_x_user;
        cartbot_cart_max_quantity  1000000;
        cartbot_cart_db  /_cartbot/db/sql  signin=/_cartbot/db/signin
                         credentials=secrets/cart.json  retries=15;

        location = /session/create { cartbot_session create; }
        location = /cart/add       { cartbot_cart add; }
    }
CONF

$t->run;

my $port = $t->port;

for my $run (1 .. $RUNS) {
    my $sid = $t->post('/session/create',
        headers => { 'X-User' => 'racer' })->{json}{session_id};

    my $body = encode_json({ session_id => $sid, product_id => 'product:tee',
        quantity => 1 });

    # 50 processes, each one keep-alive connection, 10 adds each
    my @pipes;
    my $t0 = time;

    for (1 .. $CONNECTIONS) {
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork() // die "fork: $!";

        if ($pid == 0) {
            close $rd;
            my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 60);
            my @status;
            for (1 .. $PER_CONNECTION) {
                my $r = $http->request('POST',
                    "http://127.0.0.1:$port/cart/add", {
                        headers => { 'X-User' => 'racer',
                                     'Content-Type' => 'application/json' },
                        content => $body });
                push @status, $r->{status};
            }
            print $wr join(' ', @status), "\n";
            close $wr;
            _exit(0);
        }

        close $wr;
        push @pipes, [$pid, $rd];
    }

    my %status;

    for my $p (@pipes) {
        my $fh = $p->[1];
        my $line = <$fh> // '';
        $status{$_}++ for split ' ', $line;
        waitpid($p->[0], 0);
    }

    my $took = time - $t0;
    my $ok = $status{200} // 0;
    my $total = 0;
    $total += $_ for values %status;

    my $qty = $t->sql('math::sum((SELECT VALUE quantity FROM cart
        WHERE session_id = type::record($s)))', s => $sid);

    is($total, $CONNECTIONS * $PER_CONNECTION, "run $run: every request "
        . "answered (" . join(', ', map { "$_: $status{$_}" }
        sort keys %status) . sprintf(', %.1f s)', $took));
    is($qty, $ok, "run $run: final quantity $qty = $ok answers of 200");
}

$t->finish;

done_testing;
