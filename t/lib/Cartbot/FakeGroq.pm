package Cartbot::FakeGroq;

# The fake Groq server of t/fake-groq/server.js, driven from a test: start
# it on a free port, script its answers, read back what it was sent.
#
#   my $groq = Cartbot::FakeGroq->new(key => 'gsk_test_key')->start;
#   $groq->enqueue({ content => { intent => 'add_to_cart' } },
#                  { error => 'rate_limit', retry_after => 3 });
#   ... run the request under test ...
#   my @calls = $groq->completions;      # what reached the fake, in order
#   $groq->reset;
#
# Core Perl only: HTTP::Tiny, JSON::PP.

use strict;
use warnings;

use Cwd qw/ abs_path /;
use File::Basename qw/ dirname /;
use File::Temp qw/ tempfile /;
use HTTP::Tiny;
use JSON::PP;
use POSIX qw/ :sys_wait_h /;
use Time::HiRes qw/ sleep time /;

my $SERVER = abs_path(dirname(__FILE__) . '/../../fake-groq/server.js');

my $json = JSON::PP->new->utf8->canonical->allow_nonref;

my %running;

sub new {
    my ($class, %opts) = @_;

    return bless {
        key      => exists $opts{key} ? $opts{key} : 'gsk_fake_test_key',
        max_body => $opts{max_body},
        tpm      => $opts{tpm},
        node     => $ENV{NODE_BIN} || 'node',
        owner    => $$,
    }, $class;
}

sub start {
    my ($self) = @_;

    my ($log_fh, $log) = tempfile('fake-groq-XXXXXX', TMPDIR => 1,
        UNLINK => 1);
    close $log_fh;
    $self->{log} = $log;

    my @cmd = ($self->{node}, $SERVER, '--port', 0);
    push @cmd, '--key', $self->{key} if defined $self->{key};
    push @cmd, '--max-body', $self->{max_body} if defined $self->{max_body};
    push @cmd, '--tpm', $self->{tpm} if defined $self->{tpm};

    my $pid = fork() // die "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT;
        setpgrp(0, 0);
        exec @cmd or POSIX::_exit(127);
    }

    $self->{pid} = $pid;
    $running{"$self"} = $self;

    # port 0: the server picks a free port and says which
    my $until = time + 15;
    while (time < $until) {
        if ($self->server_log =~ /^listening (\d+)$/m) {
            $self->{port} = $1;
            last;
        }
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pid};
            die "fake Groq server exited:\n" . $self->server_log;
        }
        sleep 0.02;
    }

    die "fake Groq server did not start:\n" . $self->server_log
        unless $self->{port};

    $self->{http} = HTTP::Tiny->new(timeout => 10, keep_alive => 0);

    return $self;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;
    delete $running{"$self"};

    kill 'TERM', $pid;

    my $until = time + 5;
    while (time < $until) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.02;
    }

    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    # a forked helper inherits the object: only its creator stops it
    $self->stop if $$ == $self->{owner};
}

END {
    local $?;
    for my $self (values %running) {
        $self->stop if $$ == $self->{owner};
    }
}

sub port { $_[0]{port} }
sub key { $_[0]{key} }
# what the server printed: its port, and any crash
sub server_log {
    my ($self) = @_;
    open my $fh, '<', $self->{log} or return '';
    local $/;
    return <$fh>;
}

# http://127.0.0.1:PORT, and the OpenAI-compatible base under it
sub url { "http://127.0.0.1:$_[0]{port}" }
sub base_url { $_[0]->url . '/openai/v1' }

# an upstream block for nginx.conf pointing at this server
sub upstream_conf {
    my ($self, $name) = @_;
    $name //= 'fake_groq';
    return "upstream $name {\n"
        . "        server     127.0.0.1:$self->{port} max_fails=0;\n"
        . "        keepalive  8;\n"
        . "    }\n";
}

sub _control {
    my ($self, $method, $path, $body) = @_;

    my $r = $self->{http}->request($method, $self->url . $path, {
        headers => { 'Content-Type' => 'application/json' },
        (defined $body ? (content => $json->encode($body)) : ()),
    });

    die "fake Groq $method $path: $r->{status} $r->{content}\n"
        unless $r->{status} == 200;

    return $json->decode($r->{content});
}

# scripted answers, consumed in order by valid chat completion requests
sub enqueue {
    my ($self, @answers) = @_;
    return $self->_control('POST', '/_fake/enqueue', \@answers)->{queued};
}

sub queue { @{ $_[0]->_control('GET', '/_fake/queue') } }

# every request received (not the control API), oldest first
sub requests { @{ $_[0]->_control('GET', '/_fake/requests') } }

# only the chat completion requests
sub completions {
    my ($self) = @_;
    return grep { $_->{path} eq '/openai/v1/chat/completions' }
        $self->requests;
}

sub reset { $_[0]->_control('POST', '/_fake/reset', {}); $_[0] }

# change key, max_body, tpm, rpd or region until the next reset
sub config {
    my ($self, %config) = @_;
    return $self->_control('POST', '/_fake/config', \%config);
}

1;
