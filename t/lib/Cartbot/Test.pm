package Cartbot::Test;

# The Cartbot test harness: real parts only.  It starts the dev SurrealDB
# server (the real engine) on a free port, migrates it and provisions the
# service accounts with cartbot-ctl, writes an nginx.conf that includes the
# shipped conf/cartbot/ snippets, starts the distribution's nginx binary
# with the built modules (daemon off, private prefix) and tears it all
# down.  finish() adds the checks every test file makes: no [alert] or
# [emerg] in error.log and no crashed worker (and, under CARTBOT_VALGRIND,
# no valgrind errors or definite leaks).
#
# Core Perl only: Test::More, HTTP::Tiny, JSON::PP, IO::Socket::INET.

use strict;
use warnings;

use Cwd qw/ abs_path /;
use File::Basename qw/ dirname /;
use File::Path qw/ make_path remove_tree /;
use File::Temp qw/ tempdir /;
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw/ :sys_wait_h /;
use Test::More;
use Time::HiRes qw/ sleep time /;

our $TOP = abs_path(dirname(__FILE__) . '/../../..');

my $json = JSON::PP->new->utf8->canonical;

sub new {
    my ($class, %opts) = @_;

    my $build = $ENV{CARTBOT_BUILD} || "$TOP/build";

    my $self = bless {
        build    => $build,
        nginx    => $ENV{NGINX_BIN} || '/usr/sbin/nginx',
        workers  => $opts{workers} // 2,
        pids     => {},
        valgrind => $ENV{CARTBOT_VALGRIND} ? 1 : 0,
        owner    => $$,
    }, $class;

    for my $m (qw/ gateway cart product session chat /) {
        my $so = "$build/modules/ngx_cartbot_${m}_module.so";
        die "missing $so: run make first\n" unless -f $so;
    }

    $self->{dir} = tempdir('cartbot-t-XXXXXX', TMPDIR => 1,
        CLEANUP => $ENV{CARTBOT_TEST_KEEP} ? 0 : 1);

    # workers run as an unprivileged user: they must reach temp/
    chmod 0755, $self->{dir};

    make_path(map { "$self->{dir}/$_" } qw/ logs temp conf /);

    symlink("$TOP/conf/cartbot", "$self->{dir}/conf/cartbot")
        or die "symlink: $!";
    symlink("$build/modules", "$self->{dir}/modules")
        or die "symlink: $!";

    $self->{port} = free_port();
    $self->{db_port} = free_port();
    $self->{db_pass} = join '', map { ('a'..'z', 0..9)[rand 36] } 1..24;

    return $self;
}

sub dir { $_[0]{dir} }
sub port { $_[0]{port} }
sub db_port { $_[0]{db_port} }

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
        LocalPort => 0, Proto => 'tcp', ReuseAddr => 1) or die "port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub wait_port {
    my ($port, $timeout) = @_;
    my $until = time + ($timeout || 10);

    while (time < $until) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $port, Proto => 'tcp');
        if ($s) { close $s; return 1; }
        sleep 0.05;
    }

    return 0;
}

sub spawn {
    my ($self, $name, $log, @cmd) = @_;

    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT;
        setpgrp(0, 0);
        exec @cmd or POSIX::_exit(127);
    }

    $self->{pids}{$name} = $pid;
    return $pid;
}

sub reap {
    my ($self, $name, $sig, $timeout) = @_;

    my $pid = delete $self->{pids}{$name} or return;

    kill $sig || 'TERM', $pid;

    my $until = time + ($timeout || 10);
    while (time < $until) {
        return $? if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }

    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return $?;
}

# --- the database ----------------------------------------------------------

sub start_db {
    my ($self) = @_;

    $self->spawn('db', "$self->{dir}/logs/db.log", 'node',
        "$TOP/tools/surreal-dev/server.mjs", 'start',
        '--bind', "127.0.0.1:$self->{db_port}",
        '--user', 'root', '--pass', $self->{db_pass}, 'memory');

    wait_port($self->{db_port}, 30) or die "dev database did not start; "
        . "see $self->{dir}/logs/db.log\n";

    return $self;
}

sub stop_db {
    my ($self) = @_;
    $self->reap('db', 'TERM');
    return $self;
}

sub ctl_env {
    my ($self) = @_;

    return (
        CARTBOT_DB_URL => "http://127.0.0.1:$self->{db_port}",
        CARTBOT_DB_USER => 'root',
        CARTBOT_DB_PASS => $self->{db_pass},
        CARTBOT_MIGRATIONS => "$TOP/db/migrations",
    );
}

sub ctl {
    my ($self, @args) = @_;

    local %ENV = (%ENV, $self->ctl_env);
    my $out = qx{"$self->{build}/bin/cartbot-ctl" @args 2>&1};
    return wantarray ? ($? >> 8, $out) : $out;
}

sub migrate {
    my ($self) = @_;

    my ($rc, $out) = $self->ctl('migrate', '--secrets',
        "$self->{dir}/conf/secrets");
    die "cartbot-ctl migrate failed ($rc):\n$out" if $rc;

    # the gateway's token signing key, as "make run" makes it
    my $key = "$self->{dir}/conf/secrets/token.key";
    if (!-e $key) {
        system("openssl rand -out $key 48") == 0 or die "openssl rand";
        chmod 0600, $key;
    }

    return $self;
}

# root access for checks made behind the modules' back
sub sql {
    my ($self, $query, %vars) = @_;

    my $url = "http://127.0.0.1:$self->{db_port}/sql";
    my $params = HTTP::Tiny->www_form_urlencode(\%vars);
    $url .= "?$params" if length $params;

    my $r = HTTP::Tiny->new(timeout => 10)->request('POST', $url, {
        headers => {
            'Accept' => 'application/json',
            'surreal-ns' => 'production',
            'surreal-db' => 'chatbot',
            'Authorization' => 'Basic ' . _b64("root:$self->{db_pass}"),
        },
        content => $query,
    });

    die "sql: $r->{status} $r->{content}\n" unless $r->{status} == 200;

    my $res = $json->decode($r->{content});
    for my $st (@$res) {
        die "sql: $st->{result}\n" if $st->{status} ne 'OK';
    }

    return $res->[-1]{result};
}

sub _b64 {
    require MIME::Base64;
    return MIME::Base64::encode_base64($_[0], '');
}

# --- nginx -----------------------------------------------------------------

sub write_conf {
    my ($self, $http, %opts) = @_;

    my $workers = $self->{valgrind} ? 1 : $self->{workers};
    my $master = $self->{valgrind} ? 'off' : 'on';

    my $main = $opts{main} // '';
    my $events = $opts{events} // '';

    my $conf = <<"EOF";
include  cartbot/modules.conf;

daemon            off;
master_process    $master;
worker_processes  $workers;
pid               logs/nginx.pid;
error_log         logs/error.log info;
$main

events {
    worker_connections  1024;
    $events
}

http {
    default_type  application/json;
    access_log    logs/access.log;
    client_body_temp_path  temp/body;
    proxy_temp_path        temp/proxy;
    fastcgi_temp_path      temp/fastcgi;
    uwsgi_temp_path        temp/uwsgi;
    scgi_temp_path         temp/scgi;
    client_max_body_size     64k;
    client_body_buffer_size  64k;

    upstream cartbot_surrealdb {
        server     127.0.0.1:$self->{db_port} max_fails=0;
        keepalive  32;
    }

    include  cartbot/services.conf;

$http
}
EOF

    $conf =~ s/%%PORT%%/$self->{port}/g;
    $conf =~ s/%%DB_PORT%%/$self->{db_port}/g;
    $conf =~ s/%%DIR%%/$self->{dir}/g;

    open my $fh, '>', "$self->{dir}/conf/nginx.conf" or die $!;
    print $fh $conf;
    close $fh;

    return $self;
}

sub nginx_args {
    my ($self) = @_;
    return ('-p', "$self->{dir}/", '-c', 'conf/nginx.conf',
        '-e', 'logs/error.log');
}

sub nginx_test {
    my ($self) = @_;

    # its own log: a configuration refused on purpose is not an alert
    my @args = ('-p', "$self->{dir}/", '-c', 'conf/nginx.conf',
        '-e', 'logs/nginx-t.log');
    my $out = qx{$self->{nginx} -t @args 2>&1};
    return ($? >> 8, $out);
}

sub run {
    my ($self) = @_;

    my ($rc, $out) = $self->nginx_test;
    die "nginx -t failed:\n$out" if $rc;

    my @cmd = ($self->{nginx}, $self->nginx_args);

    if ($self->{valgrind}) {
        unshift @cmd, 'valgrind', '--leak-check=full',
            '--show-leak-kinds=definite', '--errors-for-leak-kinds=definite',
            '--error-exitcode=0', "--suppressions=$TOP/t/valgrind.supp",
            "--log-file=$self->{dir}/logs/valgrind.log";
    }

    $self->spawn('nginx', "$self->{dir}/logs/stderr.log", @cmd);

    wait_port($self->{port}, $self->{valgrind} ? 60 : 10)
        or die "nginx did not start:\n" . $self->read_file('logs/error.log');

    return $self;
}

sub reload {
    my ($self) = @_;
    my ($rc, $out) = $self->nginx_test;
    die "nginx -t failed:\n$out" if $rc;
    kill 'HUP', $self->{pids}{nginx};
    sleep 1;
    return $self;
}

sub stop {
    my ($self) = @_;

    # QUIT: graceful; valgrind needs the time to write its report
    $self->reap('nginx', 'QUIT', $self->{valgrind} ? 60 : 10);
    $self->reap('db', 'TERM');

    for my $name (keys %{ $self->{pids} }) {
        $self->reap($name, 'TERM');
    }
}

sub read_file {
    my ($self, $name) = @_;
    open my $fh, '<', "$self->{dir}/$name" or return '';
    local $/;
    return <$fh>;
}

# the checks every test file ends with
sub finish {
    my ($self) = @_;

    $self->stop;

    my $log = $self->read_file('logs/error.log');

    my @alerts = grep { /\[(alert|emerg|crit)\]/ } split /\n/, $log;
    is(scalar @alerts, 0, 'no alerts in error.log')
        or diag(join "\n", @alerts);

    my @crashes = grep { /exited on signal|segmentation|core dumped/i }
        split /\n/, $log;
    is(scalar @crashes, 0, 'no crashed worker') or diag(join "\n", @crashes);

    if ($self->{valgrind}) {
        my $vg = $self->read_file('logs/valgrind.log');
        my ($errors) = $vg =~ /ERROR SUMMARY: (\d+) errors/;
        my ($lost) = $vg =~ /definitely lost: ([\d,]+) bytes/;
        $lost //= 0;
        $lost =~ s/,//g;
        ok(defined $errors && $errors == 0, 'valgrind: no errors')
            or diag($vg);
        is($lost, 0, 'valgrind: no definite leaks') or diag($vg);
    }

    if ($ENV{CARTBOT_TEST_CATLOG}) {
        diag($log);
    }
}

sub DESTROY {
    my ($self) = @_;
    local $?;

    # forked helpers inherit the object: only its creator cleans up
    return if $$ != $self->{owner};

    $self->stop if %{ $self->{pids} || {} };
}

# --- HTTP ------------------------------------------------------------------

sub request {
    my ($self, $method, $path, %opts) = @_;

    my $body = $opts{json} ? $json->encode($opts{json}) : $opts{body};
    my %headers = %{ $opts{headers} || {} };
    $headers{'Content-Type'} //= 'application/json' if defined $body;

    my $t0 = time;
    my $r = HTTP::Tiny->new(timeout => $opts{timeout} || 30,
        keep_alive => 0)->request($method,
        "http://127.0.0.1:$self->{port}$path",
        { headers => \%headers, (defined $body ? (content => $body) : ()) });

    $r->{elapsed} = time - $t0;
    $r->{json} = eval { $json->decode($r->{content}) }
        if ($r->{headers}{'content-type'} // '') =~ m{application/json};

    return $r;
}

sub get { my ($self, $path, %o) = @_; return $self->request('GET', $path, %o) }
sub post { my ($self, $path, %o) = @_; return $self->request('POST', $path, %o) }

# sends a request on a raw socket and returns the socket without reading
sub send_raw {
    my ($self, $method, $path) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $self->{port}, Proto => 'tcp') or die "connect: $!";
    print $s "$method $path HTTP/1.0\r\nHost: localhost\r\n\r\n";

    return $s;
}

sub read_raw {
    my ($s, $timeout) = @_;

    my $sel = IO::Select->new($s);
    my $buf = '';
    my $until = time + ($timeout || 30);

    while (time < $until) {
        last unless $sel->can_read($until - time);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }

    close $s;

    my ($status) = $buf =~ m{^HTTP/1\.\d (\d+)};
    my ($body) = $buf =~ /\r\n\r\n(.*)\z/s;

    return { status => $status // 0, content => $body // '',
             json => eval { $json->decode($body // '') } };
}

# --- a database that answers late ---------------------------------------------

# a TCP relay to the database that holds each connection $delay seconds
# before relaying it: "a database slower than the configured timeout"
sub start_slow_db {
    my ($self, $delay) = @_;

    my $port = free_port();
    my $target = $self->{db_port};

    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        setpgrp(0, 0);
        my $l = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
            LocalPort => $port, Proto => 'tcp', ReuseAddr => 1)
            or POSIX::_exit(1);
        $SIG{CHLD} = 'IGNORE';

        while (my $c = $l->accept) {
            my $kid = fork() // next;
            if ($kid) { close $c; next; }
            close $l;
            sleep $delay;
            my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                PeerPort => $target, Proto => 'tcp') or POSIX::_exit(0);
            relay($c, $u);
            POSIX::_exit(0);
        }
        POSIX::_exit(0);
    }

    $self->{pids}{slowdb} = $pid;
    wait_port($port, 5) or die "slow relay did not start";

    return $port;
}

sub relay {
    my ($a, $b) = @_;
    my $sel = IO::Select->new($a, $b);

    while (my @ready = $sel->can_read(60)) {
        for my $fh (@ready) {
            my $n = sysread($fh, my $buf, 65536);
            return unless $n;
            syswrite($fh == $a ? $b : $a, $buf);
        }
    }
}

1;
